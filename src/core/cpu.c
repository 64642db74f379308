/* Which SIMD kernels may run: what CPUID reports, capped by MEMVIEW_ISA.
 * Decided at run time, never by the build machine's -march, so one binary
 * runs anywhere and every path can be forced in tests (and kept within
 * what valgrind can execute). */
#include "core.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

static pthread_once_t isa_once = PTHREAD_ONCE_INIT;
/* Both written once, under isa_once. */
static int isa_level = MV_ISA_PORTABLE;
static ptrdiff_t stream_min = MV_STREAM_MIN_DEFAULT;

static int isa_detect(void)
{
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    /* The AVX-512 kernels use byte permutes (vpermb: VBMI) on top of BW. */
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vbmi"))
        return MV_ISA_AVX512;
    if (__builtin_cpu_supports("avx2"))
        return MV_ISA_AVX2;
    if (__builtin_cpu_supports("ssse3"))
        return MV_ISA_SSSE3;
#endif
    return MV_ISA_PORTABLE;
}

static void isa_init(void)
{
    static const char *const names[] = {"portable", "ssse3", "avx2", "avx512"};
    const char *min = getenv("MEMVIEW_STREAM_MIN");
    if (min && *min) {
        char *end;
        errno = 0;
        long long v = strtoll(min, &end, 10);
        /* Anything but a whole non-negative number keeps the default. */
        if (errno == 0 && *end == '\0' && v >= 0 && v <= PTRDIFF_MAX)
            stream_min = (ptrdiff_t)v;
    }
    int best = isa_detect();
    isa_level = best;
    const char *cap = getenv("MEMVIEW_ISA");
    if (!cap || !*cap)
        return;
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (strcmp(cap, names[i]) == 0)
            isa_level = i < best ? i : best;
    /* An unknown name leaves the best available in place. */
}

int mv_isa(void)
{
    pthread_once(&isa_once, isa_init);
    return isa_level;
}

ptrdiff_t mv_stream_min(void)
{
    pthread_once(&isa_once, isa_init);
    return stream_min;
}
