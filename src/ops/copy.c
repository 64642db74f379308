/* Layout-changing copies: the kernel behind tobytes, to/from contiguous,
 * buffer-to-buffer copies and slice assignment.
 *
 * A copy is planned once: both sides are normalised (implied shapes and C
 * strides filled in), dimensions of extent 1 are dropped and dimensions
 * that are contiguous with their inner neighbour on both sides are merged.
 * What is left is walked in C order with an index vector; the innermost
 * dimension is one memcpy when it is contiguous on both sides, else a
 * per-item loop specialised by itemsize.  Overlap is resolved up front: a
 * translation of a dense block is one memmove; anything else that may
 * overlap goes through a temporary contiguous copy of the source. */
#include "ops.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

/* A copy: the destination (side D) and the source (side S) walked in
 * step (mv_walk_plan, with the dimensions merged). */
enum { D = 0, S = 1 };

typedef struct copy_plan {
    ptrdiff_t itemsize;
    ptrdiff_t nbytes; /* product(shape) * itemsize */
    bool fresh;       /* d is new memory: never stream (plan_run) */
    char *buf[2];
    mv_walk w;
} copy_plan;

enum { PLAN_EMPTY = 1 };

/* The shape a descriptor implies: its own, or len/itemsize items when a
 * 1-D buffer came without one. */
static int implied_shape(const mv_buffer *b, ptrdiff_t *shape, mv_error *err)
{
    if (b->ndim < 0 || b->ndim > MV_MAX_NDIM)
        return mv_error_set(err, MV_EVALUE, "memoryview: number of dimensions must not exceed 64");
    if (b->shape) {
        for (int i = 0; i < b->ndim; i++) {
            if (b->shape[i] < 0)
                return mv_error_set(err, MV_EVALUE, "shape[%d] = %td is negative", i,
                                    b->shape[i]);
            shape[i] = b->shape[i];
        }
        return 0;
    }
    if (b->ndim > 1)
        return mv_error_set(err, MV_EVALUE, "%d-dimensional buffer without shape", b->ndim);
    if (b->ndim == 1) {
        if (b->itemsize <= 0 || b->len < 0)
            return mv_error_set(err, MV_EVALUE, "invalid buffer: itemsize %td, len %td",
                                b->itemsize, b->len);
        shape[0] = b->len / b->itemsize;
    }
    return 0;
}

/* CPython's equiv_shape: equal extents up to and including the first 0. */
static bool same_shape(int ndim, const ptrdiff_t *a, const ptrdiff_t *b)
{
    for (int i = 0; i < ndim; i++) {
        if (a[i] != b[i])
            return false;
        if (a[i] == 0)
            break;
    }
    return true;
}

/* A side's strides: its own, or C-contiguous ones for NULL. */
static const ptrdiff_t *side_strides(const mv_buffer *b, int ndim, const ptrdiff_t *shape,
                                     ptrdiff_t itemsize, ptrdiff_t *room)
{
    if (b->strides)
        return b->strides;
    /* The caller checked product(shape) * itemsize fits. */
    ptrdiff_t sd = itemsize;
    for (int i = ndim - 1; i >= 0; i--) {
        room[i] = sd;
        sd *= shape[i];
    }
    return room;
}

/* Whether side k has a suboffset left after planning. */
static bool side_indirect(const copy_plan *p, int k)
{
    for (int i = 0; i < p->w.ndim; i++)
        if (p->w.sub[k][i] >= 0)
            return true;
    return false;
}

/* Fill *p from two descriptors.  Returns 0, PLAN_EMPTY when there is
 * nothing to copy, or an error. */
static int plan_init(copy_plan *p, const mv_buffer *dst, const mv_buffer *src, mv_error *err)
{
    if (!dst || !src)
        return mv_error_set(err, MV_EVALUE, "copy: buffer must not be NULL");
    if (dst->ndim != src->ndim || dst->itemsize != src->itemsize)
        return mv_error_set(err, MV_EVALUE, MV_MSG_STRUCTURE);
    ptrdiff_t shape[MV_MAX_NDIM], sshape[MV_MAX_NDIM];
    int rc = implied_shape(dst, shape, err);
    if (rc == 0)
        rc = implied_shape(src, sshape, err);
    if (rc < 0)
        return rc;
    int ndim = dst->ndim;
    if (!same_shape(ndim, shape, sshape))
        return mv_error_set(err, MV_EVALUE, MV_MSG_STRUCTURE);
    for (int i = 0; i < ndim; i++)
        if (shape[i] == 0)
            return PLAN_EMPTY;
    if (dst->itemsize <= 0)
        return mv_error_set(err, MV_EVALUE, "copy: itemsize must be > 0, not %td", dst->itemsize);
    p->itemsize = dst->itemsize;
    ptrdiff_t n = p->itemsize;
    for (int i = 0; i < ndim; i++)
        if (mv_mul_overflow(n, shape[i], &n))
            return mv_error_set(err, MV_EOVERFLOW, "copy: product(shape) * itemsize overflows");
    p->nbytes = n;
    if (!dst->buf || !src->buf)
        return mv_error_set(err, MV_EVALUE, "copy: buffer memory must not be NULL");
    p->buf[D] = dst->buf;
    p->buf[S] = src->buf;
    ptrdiff_t room[2][MV_MAX_NDIM];
    const ptrdiff_t *const strides[2] = {side_strides(dst, ndim, shape, p->itemsize, room[D]),
                                         side_strides(src, ndim, shape, p->itemsize, room[S])};
    const ptrdiff_t *const subs[2] = {dst->suboffsets, src->suboffsets};
    mv_walk_plan(&p->w, ndim, shape, strides, subs);
    return 0;
}

static inline char *follow(char *ptr, ptrdiff_t sub)
{
    if (sub >= 0) {
        char *q;
        memcpy(&q, ptr, sizeof q);
        ptr = q + sub;
    }
    return ptr;
}

/* ---- Gathering a strided run into contiguous memory with byte shuffles.
 *
 * For itemsize `size` and byte stride ss = +-k * size (k <= GATHER_MAXK),
 * one output vector of W bytes holds m = W / size items, which lie in k
 * consecutive W-byte input vectors; output byte t comes from input vector
 * sel(t) at lane idx(t) (pshufb within 16-byte lanes, vpermb across 64).
 * An item never straddles two input vectors (size divides W and every item
 * offset), and the window is placed so that it reads only bytes between
 * the chunk's first item and the next chunk's first item: a kernel runs a
 * chunk only while at least one more item follows it, which keeps every
 * load inside the run (no reads past the view, no page faults). */
enum { GATHER_MAXK = 8 };

typedef struct gather {
    int isa;       /* MV_ISA_PORTABLE: no SIMD kernel for this run */
    bool scatter;  /* the mirror: contiguous items into the strided run */
    int k;         /* input vectors per output vector */
    ptrdiff_t size, stride;
    ptrdiff_t per; /* items per output vector (per 16-byte lane below AVX-512) */
    ptrdiff_t lo;  /* offset of input vector 0 from the chunk's first item */
    bool stream;   /* store with non-temporal (streaming) stores */
    unsigned char idx[GATHER_MAXK][64];
    uint64_t sel[GATHER_MAXK];
} gather;

/* Scattering is the mirror image: one dense input vector spreads over k
 * W-byte windows of the strided run, idx[j] / sel[j] now giving window j's
 * bytes and which of them are items.  Each window is written with a
 * byte-masked store, which writes the items' bytes and no others: the
 * bytes between them may belong to another thread (two views of
 * interleaved channels filled at once), so a load-blend-store, which
 * writes them back, would lose that thread's stores.  Only AVX-512BW
 * stores take a byte mask: below it scattering stays scalar. */
static void gather_plan(gather *g, int isa, ptrdiff_t size, ptrdiff_t ss, bool scatter)
{
    g->isa = MV_ISA_PORTABLE;
    g->scatter = scatter;
    g->stream = false;
#if defined(__x86_64__) || defined(__i386__)
    /* Eight-byte items gain nothing from 16-byte shuffles: two per vector. */
    bool sized = size == 1 || size == 2 || size == 4 || (size == 8 && isa >= MV_ISA_AVX512);
    if (isa < (scatter ? MV_ISA_AVX512 : MV_ISA_SSSE3) || !sized || ss % size != 0)
        return;
    ptrdiff_t k = (ss < 0 ? -ss : ss) / size;
    /* k == 1 forward is memcpy; k == 1 backward is a reversal. */
    if (k > GATHER_MAXK || (k == 1 && ss > 0) || k == 0)
        return;
    /* Each masked store costs about what a whole line of scalar stores
     * does (1.7 ns against 1.1 ns for one 8-byte store per line, 256 KiB
     * in L2, windows not 64-byte aligned): only windows holding 10 or
     * more items gain, 'B'[::2] 20 -> 7 us, 'H'[::3] 8.2 -> 7.0 us. */
    if (scatter && k * size > 6)
        return;
    ptrdiff_t w = isa >= MV_ISA_AVX512 ? 64 : 16;
    g->isa = isa;
    g->k = (int)k;
    g->size = size;
    g->stride = ss;
    g->per = w / size;
    /* Forward the slack (k - 1) * size lies above the last item, backward
     * below it: either way short of the next chunk's first item. */
    g->lo = ss > 0 ? 0 : (g->per - 1) * ss - (k - 1) * size;
    memset(g->idx, 0x80, sizeof g->idx);
    memset(g->sel, 0, sizeof g->sel);
    for (ptrdiff_t i = 0; i < g->per; i++) {
        for (ptrdiff_t b = 0; b < size; b++) {
            ptrdiff_t r = i * ss + b - g->lo, t = i * size + b;
            if (scatter) {
                g->idx[r / w][r % w] = (unsigned char)t;
                g->sel[r / w] |= (uint64_t)1 << (r % w);
            } else {
                g->idx[r / w][t] = (unsigned char)(r % w);
                g->sel[r / w] |= (uint64_t)1 << t;
            }
        }
    }
#else
    (void)isa;
    (void)size;
    (void)ss;
#endif
}

#if defined(__x86_64__) || defined(__i386__)
/* The loops below are instantiated per k (a constant, so the j loops
 * unroll and the index vectors stay in registers); everything read from g
 * is copied to locals first, as the char stores to d may alias *g. */
#define GATHER_BY_K(NAME)                                                            \
    static ptrdiff_t NAME(char *d, const char *s, ptrdiff_t n, const gather *g, bool nt) \
    {                                                                                \
        switch (g->k) {                                                              \
        case 1: return NAME##_k(d, s, n, g, nt, 1);                                  \
        case 2: return NAME##_k(d, s, n, g, nt, 2);                                  \
        case 3: return NAME##_k(d, s, n, g, nt, 3);                                  \
        case 4: return NAME##_k(d, s, n, g, nt, 4);                                  \
        case 5: return NAME##_k(d, s, n, g, nt, 5);                                  \
        case 6: return NAME##_k(d, s, n, g, nt, 6);                                  \
        case 7: return NAME##_k(d, s, n, g, nt, 7);                                  \
        default: return NAME##_k(d, s, n, g, nt, 8);                                 \
        }                                                                            \
    }

#define SSSE3_ATTR __attribute__((target("ssse3")))
static inline __attribute__((always_inline)) SSSE3_ATTR ptrdiff_t
gather_ssse3_k(char *d, const char *s, ptrdiff_t n, const gather *g, bool nt, int k)
{
    __m128i idx[GATHER_MAXK];
    for (int j = 0; j < k; j++)
        idx[j] = _mm_loadu_si128((const __m128i *)g->idx[j]);
    const ptrdiff_t m = g->per, size = g->size, stride = g->stride, lo = g->lo;
    ptrdiff_t done = 0;
    for (; n - done > m; done += m) {
        const char *p = s + (done * stride + lo);
        __m128i acc = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)p), idx[0]);
        for (int j = 1; j < k; j++)
            acc = _mm_or_si128(
                acc, _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * j)), idx[j]));
        if (nt)
            _mm_stream_si128((__m128i *)(void *)(d + done * size), acc);
        else
            _mm_storeu_si128((__m128i *)(d + done * size), acc);
    }
    return done;
}
SSSE3_ATTR GATHER_BY_K(gather_ssse3)

/* Two 16-byte chunks per iteration, one per lane (vpshufb stays in its
 * lane); what is left goes through the SSSE3 loop. */
#define AVX2_ATTR __attribute__((target("avx2")))
static inline __attribute__((always_inline)) AVX2_ATTR ptrdiff_t
gather_avx2_k(char *d, const char *s, ptrdiff_t n, const gather *g, bool nt, int k)
{
    __m256i idx[GATHER_MAXK];
    for (int j = 0; j < k; j++)
        idx[j] = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)g->idx[j]));
    const ptrdiff_t m = g->per, size = g->size, stride = g->stride, lo = g->lo;
    ptrdiff_t done = 0;
    for (; n - done > 2 * m; done += 2 * m) {
        const char *p = s + (done * stride + lo);
        const char *q = s + ((done + m) * stride + lo);
        __m256i acc = _mm256_setzero_si256();
        for (int j = 0; j < k; j++) {
            __m256i v = _mm256_inserti128_si256(
                _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(p + 16 * j))),
                _mm_loadu_si128((const __m128i *)(q + 16 * j)), 1);
            acc = _mm256_or_si256(acc, _mm256_shuffle_epi8(v, idx[j]));
        }
        if (nt)
            _mm256_stream_si256((__m256i *)(void *)(d + done * size), acc);
        else
            _mm256_storeu_si256((__m256i *)(d + done * size), acc);
    }
    return done + gather_ssse3(d + done * size, s + done * stride, n - done, g, nt);
}
AVX2_ATTR GATHER_BY_K(gather_avx2)

/* vpermb picks any byte of a 64-byte vector: gathering, the mask sel[j]
 * merges the bytes input vector j supplies; scattering, it is the byte
 * mask of window j's store.  Masked stores neither write nor fault on the
 * bytes outside the mask, so a scattered chunk may end at the run's last
 * item. */
#define AVX512_ATTR __attribute__((target("avx512f,avx512bw,avx512vbmi")))
static inline __attribute__((always_inline)) AVX512_ATTR ptrdiff_t
shuffle_avx512_k(char *d, const char *s, ptrdiff_t n, const gather *g, bool nt, int k)
{
    __m512i idx[GATHER_MAXK];
    __mmask64 sel[GATHER_MAXK];
    for (int j = 0; j < k; j++) {
        idx[j] = _mm512_loadu_si512(g->idx[j]);
        sel[j] = g->sel[j];
    }
    const ptrdiff_t m = g->per, size = g->size, stride = g->stride, lo = g->lo;
    ptrdiff_t done = 0;
    if (g->scatter) {
        for (; n - done >= m; done += m) {
            char *p = d + (done * stride + lo);
            __m512i v = _mm512_loadu_si512(s + done * size);
            for (int j = 0; j < k; j++)
                _mm512_mask_storeu_epi8(p + 64 * j, sel[j], _mm512_permutexvar_epi8(idx[j], v));
        }
        return done;
    }
    for (; n - done > m; done += m) {
        const char *p = s + (done * stride + lo);
        __m512i acc = _mm512_maskz_permutexvar_epi8(sel[0], idx[0], _mm512_loadu_si512(p));
        for (int j = 1; j < k; j++)
            acc = _mm512_mask_permutexvar_epi8(acc, sel[j], idx[j],
                                               _mm512_loadu_si512(p + 64 * j));
        if (nt)
            _mm512_stream_si512((void *)(d + done * size), acc);
        else
            _mm512_storeu_si512(d + done * size, acc);
    }
    return done;
}
AVX512_ATTR GATHER_BY_K(shuffle_avx512)
#endif

/* Items the SIMD kernel chosen by gather_plan copied from the front of a
 * run into contiguous d (scattered from contiguous s when g->scatter);
 * the caller copies the rest.  Streaming stores
 * need d aligned to the vector: the items before that point are copied
 * one by one (when no whole number of items reaches it, the run is stored
 * the ordinary way). */
static ptrdiff_t gather_run(char *d, const char *s, ptrdiff_t n, const gather *g)
{
#if defined(__x86_64__) || defined(__i386__)
    ptrdiff_t head = 0;
    bool nt = false;
    if (g->stream) {
        uintptr_t w = g->isa >= MV_ISA_AVX512 ? 64 : g->isa >= MV_ISA_AVX2 ? 32 : 16;
        ptrdiff_t pad = (ptrdiff_t)(-(uintptr_t)d & (w - 1));
        if (pad % g->size == 0 && pad / g->size < n) {
            head = pad / g->size;
            for (ptrdiff_t j = 0; j < head; j++)
                memcpy(d + j * g->size, s + j * g->stride, (size_t)g->size);
            d += pad;
            s += head * g->stride;
            n -= head;
            nt = true;
        }
    }
    ptrdiff_t done = 0;
    if (g->scatter)
        return g->isa == MV_ISA_AVX512 ? shuffle_avx512(d, s, n, g, false) : 0;
    switch (g->isa) {
    case MV_ISA_SSSE3:
        done = gather_ssse3(d, s, n, g, nt);
        break;
    case MV_ISA_AVX2:
        done = gather_avx2(d, s, n, g, nt);
        break;
    case MV_ISA_AVX512:
        done = shuffle_avx512(d, s, n, g, nt);
        break;
    default:
        break;
    }
    /* Streaming stores are weakly ordered: fence them before anything
     * else (another thread told the copy is done) may read d. */
    if (nt)
        _mm_sfence();
    return head + done;
#else
    (void)d;
    (void)s;
    (void)n;
    (void)g;
#endif
    return 0;
}

#if defined(__x86_64__) || defined(__i386__)
/* Dense bytes with streaming stores into d (aligned to W), two vectors an
 * iteration; returns how many bytes it copied (a multiple of 2 * W). */
#define STREAM_BYTES(NAME, ATTR, W, VEC, LOADU, STREAM)                                  \
    ATTR static ptrdiff_t NAME(char *d, const char *s, ptrdiff_t n)                       \
    {                                                                                     \
        ptrdiff_t i = 0;                                                                  \
        for (; n - i >= 2 * (W); i += 2 * (W)) {                                          \
            VEC a = LOADU((const void *)(s + i)), b = LOADU((const void *)(s + i + (W))); \
            STREAM((void *)(d + i), a);                                                   \
            STREAM((void *)(d + i + (W)), b);                                             \
        }                                                                                 \
        return i;                                                                         \
    }
STREAM_BYTES(stream_sse2, __attribute__((target("sse2"))), 16, __m128i, _mm_loadu_si128,
             _mm_stream_si128)
STREAM_BYTES(stream_avx2, AVX2_ATTR, 32, __m256i, _mm256_loadu_si256, _mm256_stream_si256)
STREAM_BYTES(stream_avx512, __attribute__((target("avx512f"))), 64, __m512i, _mm512_loadu_si512,
             _mm512_stream_si512)
#endif

/* n bytes from s to d, both dense (a memmove, overlapping or not).  Large
 * copies between places that do not overlap stream their stores, as the
 * gather kernels do: 64 MiB 9.7 -> 7.2 ms, 32 MiB 3.0 -> 2.5 ms against
 * glibc's memcpy (which streams only from 181 MiB here); 16-20 MiB 5%
 * slower, hence MEMVIEW_STREAM_MIN of source plus output (48 MiB). */
static void dense_copy(char *d, const char *s, ptrdiff_t n, bool fresh)
{
#if defined(__x86_64__) || defined(__i386__)
    int isa = mv_isa();
    if (!fresh && isa != MV_ISA_PORTABLE && (n > PTRDIFF_MAX / 2 || 2 * n >= mv_stream_min()) &&
        ((uintptr_t)d + (uintptr_t)n <= (uintptr_t)s ||
         (uintptr_t)s + (uintptr_t)n <= (uintptr_t)d)) {
        uintptr_t w = isa >= MV_ISA_AVX512 ? 64 : isa >= MV_ISA_AVX2 ? 32 : 16;
        ptrdiff_t head = (ptrdiff_t)(-(uintptr_t)d & (w - 1));
        if (head > n)
            head = n;
        memcpy(d, s, (size_t)head);
        ptrdiff_t done = head + (isa >= MV_ISA_AVX512 ? stream_avx512
                                 : isa >= MV_ISA_AVX2 ? stream_avx2
                                                      : stream_sse2)(d + head, s + head, n - head);
        memcpy(d + done, s + done, (size_t)(n - done));
        _mm_sfence(); /* see gather_run */
        return;
    }
#else
    (void)fresh;
#endif
    memmove(d, s, (size_t)n);
}

/* The per-item loop, unrolled by four so that the loads of independent
 * items overlap; SIZE, DS and SS are constants where the caller knows
 * them.  Addresses are formed as base + j * stride for j < n only:
 * stepping a pointer past the last item could leave the address space for
 * huge strides (UB). */
#define COPY_ITEMS(SIZE, DS, SS)                                                    \
    do {                                                                            \
        ptrdiff_t j = 0;                                                            \
        for (; n - j >= 4; j += 4) {                                                \
            memcpy(d + j * (DS), s + j * (SS), SIZE);                               \
            memcpy(d + (j + 1) * (DS), s + (j + 1) * (SS), SIZE);                   \
            memcpy(d + (j + 2) * (DS), s + (j + 2) * (SS), SIZE);                   \
            memcpy(d + (j + 3) * (DS), s + (j + 3) * (SS), SIZE);                   \
        }                                                                           \
        for (; j < n; j++)                                                          \
            memcpy(d + j * (DS), s + j * (SS), SIZE);                               \
    } while (0)

/* Gather into contiguous, scatter from contiguous, or strided on both
 * sides, for one fixed item size. */
#define COPY_SIZED(SIZE)                                                            \
    do {                                                                            \
        if (ds == (SIZE))                                                           \
            COPY_ITEMS(SIZE, SIZE, ss);                                             \
        else if (ss == (SIZE))                                                      \
            COPY_ITEMS(SIZE, ds, SIZE);                                             \
        else                                                                        \
            COPY_ITEMS(SIZE, ds, ss);                                               \
    } while (0)

/* One innermost run of n items; the sides do not overlap.  g: the SIMD
 * gather planned for this run's source stride (used when d is dense). */
static void copy_run(char *d, const char *s, ptrdiff_t n, ptrdiff_t ds, ptrdiff_t ss, ptrdiff_t dsub,
                     ptrdiff_t ssub, ptrdiff_t size, const gather *g)
{
    if (dsub >= 0 || ssub >= 0) {
        for (ptrdiff_t j = 0; j < n; j++)
            memcpy(follow(d + j * ds, dsub), follow((char *)s + j * ss, ssub), (size_t)size);
        return;
    }
    if (ds == size && ss == size) {
        memcpy(d, s, (size_t)(n * size));
        return;
    }
    if (g->isa != MV_ISA_PORTABLE &&
        (g->scatter ? ss == size && ds == g->stride : ds == size && ss == g->stride)) {
        ptrdiff_t done = gather_run(d, s, n, g);
        if (done == n)
            return;
        d += done * ds;
        s += done * ss;
        n -= done;
    }
    switch (size) {
    case 1:
        COPY_SIZED(1);
        break;
    case 2:
        COPY_SIZED(2);
        break;
    case 4:
        COPY_SIZED(4);
        break;
    case 8:
        COPY_SIZED(8);
        break;
    case 16:
        COPY_SIZED(16);
        break;
    default:
        for (ptrdiff_t j = 0; j < n; j++)
            memcpy(d + j * ds, s + j * ss, (size_t)size);
        break;
    }
}

/* Rows of at most this many bytes count as short. */
enum { SHORT_ROW = 256 };

/* A 2-D copy whose rows are dense on both sides and short (a column band
 * of an image): one tight loop over the rows, each copied in 16-byte
 * pieces, the last one overlapping.  Through plan_run's general walk and a
 * memcpy call a 64-byte row costs twice as long; and memcpy of a size gcc
 * knows to be small is inlined as `rep movsq`, slower still. */
static void short_rows(char *d, const char *s, ptrdiff_t rows, ptrdiff_t row, ptrdiff_t ds,
                       ptrdiff_t ss)
{
    for (ptrdiff_t i = 0; i < rows; i++) {
        char *dr = d + i * ds;
        const char *sr = s + i * ss;
        if (row < 16) {
            for (ptrdiff_t k = 0; k < row; k++)
                dr[k] = sr[k];
            continue;
        }
        for (ptrdiff_t k = 0; k + 16 < row; k += 16)
            memcpy(dr + k, sr + k, 16);
        memcpy(dr + row - 16, sr + row - 16, 16);
    }
}

/* copy_run as a walk's row (side 0 the destination). */
typedef struct copy_rows {
    ptrdiff_t itemsize;
    const gather *g;
} copy_rows;

static int copy_row(void *ctx, const char *d, ptrdiff_t ds, ptrdiff_t dsub, const char *s,
                    ptrdiff_t ss, ptrdiff_t ssub, ptrdiff_t n)
{
    const copy_rows *c = ctx;
    copy_run((char *)d, s, n, ds, ss, dsub, ssub, c->itemsize, c->g);
    return 0;
}

/* Run a plan in C order; the sides do not overlap. */
static void plan_run(const copy_plan *p)
{
    const mv_walk *w = &p->w;
    int inner = w->ndim - 1;
    const ptrdiff_t *ds = w->stride[D], *ss = w->stride[S], *dsub = w->sub[D], *ssub = w->sub[S];
    if (inner == 1 && ds[1] == p->itemsize && ss[1] == p->itemsize && dsub[0] < 0 &&
        dsub[1] < 0 && ssub[0] < 0 && ssub[1] < 0 && w->shape[1] * p->itemsize <= SHORT_ROW) {
        short_rows(p->buf[D], p->buf[S], w->shape[0], w->shape[1] * p->itemsize, ds[0], ss[0]);
        return;
    }
    gather g;
    g.isa = MV_ISA_PORTABLE;
    g.scatter = false;
    /* Runs shorter than one vector never reach a kernel: skip the setup. */
    bool vec = dsub[inner] < 0 && ssub[inner] < 0 && w->shape[inner] * p->itemsize > 16;
    if (vec && ds[inner] != p->itemsize && ss[inner] == p->itemsize)
        gather_plan(&g, mv_isa(), p->itemsize, ds[inner], true);
    if (vec && ds[inner] == p->itemsize) {
        gather_plan(&g, mv_isa(), p->itemsize, ss[inner], false);
        /* Streaming stores skip reading each output line before writing
         * it and leave the source in cache, which pays once the copy's
         * traffic (source span + output, k + 1 times the output) outgrows
         * the caches; below that they cost, as the output is then not in
         * cache for whoever reads it next.  (glibc's memcpy threshold,
         * from CPUID, is 181 MiB on the project's VM, which reports the
         * host socket's 480 MiB L3; the default was measured there.)
         * Not into new memory: the kernel zeroes each page as the first
         * store faults it in, through the cache, and streaming over those
         * cached lines was 1.5x slower than storing into them. */
        g.stream = g.isa != MV_ISA_PORTABLE && !p->fresh &&
                   p->nbytes >= mv_stream_min() / (g.k + 1);
    }
    copy_rows c = {p->itemsize, &g};
    mv_walk_run(w, p->buf[D], p->buf[S], copy_row, &c);
}

/* [lo, hi) of the bytes side k touches (it has no suboffsets). */
static int side_span(const copy_plan *p, int k, uintptr_t *lo, uintptr_t *hi, mv_error *err)
{
    const mv_walk *w = &p->w;
    ptrdiff_t neg = 0, pos = p->itemsize;
    for (int i = 0; i < w->ndim; i++) {
        ptrdiff_t span;
        bool o = mv_mul_overflow(w->stride[k][i], w->shape[i] - 1, &span);
        if (!o)
            o = span < 0 ? mv_add_overflow(neg, span, &neg) : mv_add_overflow(pos, span, &pos);
        if (o)
            return mv_error_set(err, MV_EOVERFLOW, "copy: strides overflow on dimension %d",
                                i + 1);
    }
    *lo = (uintptr_t)p->buf[k] - (uintptr_t)(-(neg + 1)) - 1;
    *hi = (uintptr_t)p->buf[k] + (uintptr_t)pos;
    return 0;
}

/* True when dimension order `f` (Fortran) or C order packs side k densely
 * with positive steps.  On a planned walk C-dense is one dimension. */
static bool side_dense(const copy_plan *p, int k, bool fortran)
{
    const mv_walk *w = &p->w;
    ptrdiff_t sd = p->itemsize;
    for (int j = 0; j < w->ndim; j++) {
        int i = fortran ? j : w->ndim - 1 - j;
        if (w->sub[k][i] >= 0 || w->stride[k][i] != sd)
            return false;
        sd *= w->shape[i];
    }
    return true;
}

static int copy_items(const mv_buffer *dst, const mv_buffer *src, bool fresh, mv_error *err)
{
    copy_plan p;
    int rc = plan_init(&p, dst, src, err);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    p.fresh = fresh;
    mv_walk *w = &p.w;

    if (!side_indirect(&p, D) && !side_indirect(&p, S)) {
        /* The same items in the same order at both places: a memmove of
         * the block, overlapping or not. */
        bool samestrides =
            memcmp(w->stride[D], w->stride[S], (size_t)w->ndim * sizeof(ptrdiff_t)) == 0;
        if (samestrides && (side_dense(&p, D, false) || side_dense(&p, D, true))) {
            if (p.buf[D] != p.buf[S])
                dense_copy(p.buf[D], p.buf[S], p.nbytes, fresh);
            return 0;
        }
        if (samestrides && p.buf[D] == p.buf[S])
            return 0;
        uintptr_t dlo = 0, dhi = 0, slo = 0, shi = 0;
        rc = side_span(&p, D, &dlo, &dhi, err);
        if (rc == 0)
            rc = side_span(&p, S, &slo, &shi, err);
        if (rc < 0)
            return rc;
        if (dhi <= slo || shi <= dlo) {
            plan_run(&p);
            return 0;
        }
    }

    /* May overlap: take the source out of the way first, into a
     * C-contiguous copy, then copy that into place. */
    char *tmp = malloc((size_t)p.nbytes);
    if (!tmp)
        return mv_error_set(err, MV_ENOMEM, "copy: cannot allocate %td bytes", p.nbytes);
    ptrdiff_t dense[MV_MAX_NDIM];
    ptrdiff_t sd = p.itemsize;
    for (int i = w->ndim - 1; i >= 0; i--) {
        dense[i] = sd;
        sd *= w->shape[i];
    }
    for (int k = 0; k < 2; k++) {
        /* k = D: the source into tmp; k = S: tmp into the destination. */
        copy_plan step = p;
        step.buf[k] = tmp;
        for (int i = 0; i < w->ndim; i++) {
            step.w.stride[k][i] = dense[i];
            step.w.sub[k][i] = -1;
        }
        plan_run(&step);
    }
    free(tmp);
    return 0;
}

int mv_copy_items(const mv_buffer *dst, const mv_buffer *src, mv_error *err)
{
    return copy_items(dst, src, false, err);
}

/* Shape (implied when absent) of a descriptor whose len must be
 * product(shape) * itemsize; PLAN_EMPTY when there are no bytes. */
static int checked_shape(const mv_buffer *b, ptrdiff_t *shape, mv_error *err)
{
    int rc = implied_shape(b, shape, err);
    if (rc < 0)
        return rc;
    /* Zero-size items (ctypes' empty structures: 'T{}', '0B') hold no
     * bytes, as mv_buffer_validate allows with len 0. */
    if (b->itemsize < 0 || (b->itemsize == 0 && b->len != 0))
        return mv_error_set(err, MV_EVALUE, "buffer itemsize %td is invalid for len %td",
                            b->itemsize, b->len);
    ptrdiff_t n = b->itemsize;
    for (int i = 0; i < b->ndim; i++)
        if (mv_mul_overflow(n, shape[i], &n))
            return mv_error_set(err, MV_EOVERFLOW, "buffer product(shape) * itemsize overflows");
    if (n != b->len)
        return mv_error_set(err, MV_EVALUE, "buffer len %td != product(shape) * itemsize = %td",
                            b->len, n);
    return n == 0 ? PLAN_EMPTY : 0;
}

static bool valid_order(char order)
{
    return order == 'C' || order == 'F' || order == 'A';
}

/* New memory's first writes fault, and at 4 KiB a page the faults, not
 * the copy, cost most of a large tobytes (64 MiB 'B'[::2] into a new
 * 32 MiB block: 16-17 ms against 6 ms into a reused one).  Only whole
 * pages inside [p, p + n) are advised; a refusal changes nothing. */
void mv_advise_huge(void *p, ptrdiff_t n)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (n < MV_HUGE_MIN)
        return;
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t mask = page > 0 ? (uintptr_t)page - 1 : 4095;
    uintptr_t lo = ((uintptr_t)p + mask) & ~mask;
    uintptr_t hi = ((uintptr_t)p + (uintptr_t)n) & ~mask;
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
    (void)p;
    (void)n;
#endif
}

/* mv_buffer_to_contiguous; fresh: dst is new memory (copy_plan.fresh). */
static int to_contiguous(void *dst, const mv_buffer *src, ptrdiff_t len, char order, bool fresh,
                         mv_error *err)
{
    if (!src)
        return mv_error_set(err, MV_EVALUE, "PyBuffer_ToContiguous: view must not be NULL");
    if (!valid_order(order))
        return mv_error_set(err, MV_EVALUE, "order must be 'C', 'F' or 'A'");
    if (len != src->len)
        return mv_error_set(err, MV_EVALUE, "PyBuffer_ToContiguous: len != view->len");
    ptrdiff_t shape[MV_MAX_NDIM];
    int rc = checked_shape(src, shape, err);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    if (!dst)
        return mv_error_set(err, MV_EVALUE, "PyBuffer_ToContiguous: buf must not be NULL");
    if (!src->buf)
        return mv_error_set(err, MV_EVALUE, "PyBuffer_ToContiguous: view->buf is NULL");
    if (fresh)
        mv_advise_huge(dst, len);
    if (mv_buffer_is_contiguous(src, order)) {
        dense_copy(dst, src->buf, len, fresh);
        return 0;
    }
    ptrdiff_t strides[MV_MAX_NDIM];
    mv_fill_contiguous_strides(src->ndim, shape, strides, src->itemsize, order == 'F' ? 'F' : 'C');
    mv_buffer d = {.buf = dst,
                   .len = len,
                   .itemsize = src->itemsize,
                   .ndim = src->ndim,
                   .shape = shape,
                   .strides = strides};
    return copy_items(&d, src, fresh, err);
}

int mv_buffer_to_contiguous(void *dst, const mv_buffer *src, ptrdiff_t len, char order,
                            mv_error *err)
{
    return to_contiguous(dst, src, len, order, false, err);
}

int mv_buffer_from_contiguous(const mv_buffer *view, const void *src, ptrdiff_t len, char order,
                              mv_error *err)
{
    if (!view)
        return mv_error_set(err, MV_EVALUE, "PyBuffer_FromContiguous: view must not be NULL");
    if (view->readonly)
        return mv_error_set(err, MV_ETYPE, MV_MSG_READONLY);
    if (!valid_order(order))
        return mv_error_set(err, MV_EVALUE, "order must be 'C', 'F' or 'A'");
    if (len != view->len)
        return mv_error_set(err, MV_EVALUE, "PyBuffer_FromContiguous: len != view->len");
    ptrdiff_t shape[MV_MAX_NDIM];
    int rc = checked_shape(view, shape, err);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    if (!src)
        return mv_error_set(err, MV_EVALUE, "PyBuffer_FromContiguous: buf must not be NULL");
    /* 'A' undoes mv_buffer_to_contiguous: memory order when the buffer is
     * contiguous, which is Fortran order only for a buffer that is
     * F- but not C-contiguous. */
    char layout = 'C';
    if (order == 'F' || (order == 'A' && !mv_buffer_is_contiguous(view, 'C') &&
                         mv_buffer_is_contiguous(view, 'F')))
        layout = 'F';
    ptrdiff_t strides[MV_MAX_NDIM];
    mv_fill_contiguous_strides(view->ndim, shape, strides, view->itemsize, layout);
    mv_buffer s = {.buf = (void *)src,
                   .len = len,
                   .itemsize = view->itemsize,
                   .readonly = 1,
                   .ndim = view->ndim,
                   .shape = shape,
                   .strides = strides};
    return mv_copy_items(view, &s, err);
}

static const char *plain_format(const char *f)
{
    if (!f)
        return "B";
    return f[0] == '@' ? f + 1 : f;
}

int mv_buffer_copy(const mv_buffer *dst, const mv_buffer *src, mv_error *err)
{
    if (!dst || !src)
        return mv_error_set(err, MV_EVALUE, "copy: buffer must not be NULL");
    if (dst->readonly)
        return mv_error_set(err, MV_ETYPE, MV_MSG_READONLY);
    if (dst->ndim != src->ndim || dst->itemsize != src->itemsize ||
        strcmp(plain_format(dst->format), plain_format(src->format)) != 0)
        return mv_error_set(err, MV_EVALUE, MV_MSG_STRUCTURE);
    return mv_copy_items(dst, src, err);
}

/* Slice assignment: select, check the structures as CPython's
 * equiv_structure does, copy. */
int mv_view_assign(mv_view *view, const mv_key *keys, int nkeys, const mv_buffer *src,
                   mv_error *err)
{
    mv_error local;
    mv_error_clear(&local);
    const mv_buffer *b = mv_view_buffer(view, &local);
    if (!b)
        return mv_error_pass(err, &local);
    int rc;
    if (b->readonly)
        return mv_error_set(err, MV_ETYPE, MV_MSG_READONLY);
    if (!src)
        return mv_error_set(err, MV_EVALUE, "memoryview assignment: source must not be NULL");
    mv_layout l;
    if ((rc = mv_select(b, keys, nkeys, &l, err)) < 0)
        return rc;
    mv_buffer dst = mv_layout_as_buffer(&l);
    dst.format = b->format;

    /* equiv_structure: format and itemsize, then shapes up to the first 0. */
    mv_buffer s = *src;
    ptrdiff_t shape1;
    if (strcmp(plain_format(dst.format), plain_format(s.format)) != 0 ||
        dst.itemsize != s.itemsize || dst.ndim != s.ndim)
        return mv_error_set(err, MV_EVALUE, MV_MSG_STRUCTURE);
    if (!s.shape && s.ndim == 1) {
        shape1 = s.itemsize > 0 ? s.len / s.itemsize : 0;
        s.shape = &shape1;
    }
    if (!s.shape && s.ndim > 1)
        return mv_error_set(err, MV_EVALUE,
                            "memoryview assignment: source has no shape for %d dimensions", s.ndim);
    for (int i = 0; i < dst.ndim; i++) {
        if (dst.shape[i] != s.shape[i])
            return mv_error_set(err, MV_EVALUE, MV_MSG_STRUCTURE);
        if (dst.shape[i] == 0)
            break;
    }
    /* Formats were compared as text; the rest of src must hold together. */
    s.format = NULL;
    if ((rc = mv_buffer_validate(&s, err)) < 0)
        return rc;
    s.format = src->format;
    if (dst.len == 0)
        return 0;
    return mv_copy_items(&dst, &s, err);
}

/* The buffer tobytes reads, after the checks both forms share; NULL with
 * err set when a check fails. */
static const mv_buffer *tobytes_source(const mv_view *view, char order, mv_error *err)
{
    if (!view) {
        mv_error_set(err, MV_EVALUE, "tobytes: view must not be NULL");
        return NULL;
    }
    mv_error local;
    mv_error *e = err ? err : &local;
    mv_error_clear(e);
    const mv_buffer *b = mv_view_buffer(view, e);
    if (!b) {
        if (e->code == MV_OK)
            mv_error_set(err, MV_EVALUE, MV_MSG_RELEASED);
        return NULL;
    }
    if (!valid_order(order)) {
        mv_error_set(err, MV_EVALUE, "order must be 'C', 'F' or 'A'");
        return NULL;
    }
    return b;
}

int mv_view_tobytes_into(const mv_view *view, void *dst, ptrdiff_t dstlen, char order,
                         mv_error *err)
{
    mv_error local;
    mv_error *e = err ? err : &local;
    const mv_buffer *b = tobytes_source(view, order, e);
    if (!b)
        return e->code;
    if (dstlen < b->len)
        return mv_error_set(err, MV_EVALUE, "tobytes: destination holds %td bytes, need %td",
                            dstlen, b->len);
    return mv_buffer_to_contiguous(dst, b, b->len, order, err);
}

void *mv_view_tobytes_alloc(const mv_view *view, char order,
                            void *(*alloc)(void *ctx, ptrdiff_t nbytes), void *ctx,
                            mv_error *err)
{
    const mv_buffer *b = tobytes_source(view, order, err);
    if (!b)
        return NULL;
    if (!alloc) {
        mv_error_set(err, MV_EVALUE, "tobytes: alloc must not be NULL");
        return NULL;
    }
    if (b->len < 0) {
        mv_error_set(err, MV_EVALUE, "tobytes: negative len %td", b->len);
        return NULL;
    }
    void *out = alloc(ctx, b->len);
    if (!out) {
        mv_error_set(err, MV_ENOMEM, "tobytes: cannot allocate %td bytes", b->len);
        return NULL;
    }
    if (to_contiguous(out, b, b->len, order, true, err) < 0)
        return NULL;
    return out;
}

void *mv_malloc_out_alloc(void *ctx, ptrdiff_t nbytes)
{
    mv_malloc_out *o = ctx;
    if (nbytes < 0 || nbytes == PTRDIFF_MAX)
        return NULL;
    o->n = nbytes;
    o->p = malloc((size_t)nbytes + 1);
    return o->p;
}

void *mv_view_tobytes(const mv_view *view, char order, size_t *len, mv_error *err)
{
    mv_malloc_out o = {NULL, 0};
    if (len)
        *len = 0;
    if (!mv_view_tobytes_alloc(view, order, mv_malloc_out_alloc, &o, err)) {
        free(o.p); /* allocated, then the copy failed */
        return NULL;
    }
    if (len)
        *len = (size_t)o.n;
    return o.p;
}

/* ---- ranges ------------------------------------------------------------ */

int mv_range_layout(mv_layout *l, const mv_view *view, ptrdiff_t start, ptrdiff_t count,
                    mv_error *err)
{
    ptrdiff_t n = 0, end = 0;
    int rc = mv_view_layout(l, view, err);
    if (rc == 0)
        rc = mv_layout_count(l, &n, err);
    if (rc < 0)
        return rc;
    if (start < 0 || count < 0 || mv_add_overflow(start, count, &end) || end > n)
        return mv_error_set(err, MV_EVALUE,
                            "memoryview: %td items from item %td are outside the view's %td items",
                            count, start, n);
    return 0;
}

typedef struct range_out {
    char *dst;
    mv_error *err;
} range_out;

/* One block of the range into the next bytes of dst, C-contiguous. */
static int range_copy_block(void *ctx, const mv_layout *block)
{
    range_out *o = ctx;
    mv_buffer src = mv_layout_as_buffer(block);
    mv_buffer dst = src;
    dst.buf = o->dst;
    dst.strides = NULL;
    dst.suboffsets = NULL;
    o->dst += block->len;
    return block->len > 0 ? mv_copy_items(&dst, &src, o->err) : 0;
}

int mv_copy_range(const mv_layout *l, ptrdiff_t start, ptrdiff_t count, void *dst, mv_error *err)
{
    if (l->ndim == 0 || (l->contig & MV_CONTIG_C)) {
        if (count > 0)
            memcpy(dst, l->buf + start * l->itemsize, (size_t)(count * l->itemsize));
        return 0;
    }
    range_out o = {.dst = dst, .err = err};
    return mv_layout_range(l, start, count, range_copy_block, &o);
}

int mv_view_tobytes_range(const mv_view *view, ptrdiff_t start, ptrdiff_t count, void *dst,
                          ptrdiff_t dstlen, mv_error *err)
{
    mv_layout l;
    int rc = mv_range_layout(&l, view, start, count, err);
    if (rc < 0)
        return rc;
    ptrdiff_t need = count * l.itemsize; /* inside the view's len */
    if (dstlen < need)
        return mv_error_set(err, MV_EVALUE, "tobytes: destination too small (%td < %td)", dstlen,
                            need);
    if (need == 0)
        return 0;
    if (!dst)
        return mv_error_set(err, MV_EVALUE, "tobytes: NULL destination");
    return mv_copy_range(&l, start, count, dst, err);
}
