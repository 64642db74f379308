/* Text out of views: hex() as CPython's Python/pystrhex.c writes it, the
 * C-order traversal behind tolist(), tolist as Python-literal text, and
 * Python's repr of floats (the shortest digits that read back exactly). */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ *
 * hex
 * ------------------------------------------------------------------------ */

/* The separator spacing pystrhex uses: 0 when no separator is written. */
static ptrdiff_t hex_group(ptrdiff_t nbytes, char sep, int bytes_per_sep)
{
    if (sep == 0 || bytes_per_sep == 0 || nbytes == 0)
        return 0;
    long long g = bytes_per_sep < 0 ? -(long long)bytes_per_sep : (long long)bytes_per_sep;
    if (g >= nbytes)
        return 0;
    return (ptrdiff_t)g;
}

static int hex_check_sep(char sep, mv_error *err)
{
    if ((unsigned char)sep > 0x7f)
        return mv_error_set(err, MV_EVALUE, "sep must be ASCII.");
    return 0;
}

static int hex_length(ptrdiff_t nbytes, char sep, int bytes_per_sep, ptrdiff_t *out, mv_error *err)
{
    ptrdiff_t g = hex_group(nbytes, sep, bytes_per_sep);
    ptrdiff_t nsep = g ? (nbytes - 1) / g : 0;
    ptrdiff_t twice;
    if (mv_mul_overflow(nbytes, 2, &twice) || mv_add_overflow(twice, nsep, out))
        return mv_error_set(err, MV_ENOMEM, "memoryview.hex(): result too large");
    return 0;
}

/* Kernels: `plain` writes the 2n digits of n bytes; `sep1` writes the 3n - 1
 * characters of n >= 1 bytes with sep between every two (no trailing sep).
 * Both return the end of what they wrote and never write past it. */
typedef char *(*hex_plain_fn)(char *o, const unsigned char *p, ptrdiff_t n);
typedef char *(*hex_sep1_fn)(char *o, const unsigned char *p, ptrdiff_t n, char sep);

static const char hex_digits[] = "0123456789abcdef";

/* The two digits of every byte value: one 2-byte copy per input byte. */
#define HEX_ROW(h)                                                                                \
    h, '0', h, '1', h, '2', h, '3', h, '4', h, '5', h, '6', h, '7', h, '8', h, '9', h, 'a', h,    \
        'b', h, 'c', h, 'd', h, 'e', h, 'f'
static const char hex_pairs[512] = {
    HEX_ROW('0'), HEX_ROW('1'), HEX_ROW('2'), HEX_ROW('3'), HEX_ROW('4'), HEX_ROW('5'),
    HEX_ROW('6'), HEX_ROW('7'), HEX_ROW('8'), HEX_ROW('9'), HEX_ROW('a'), HEX_ROW('b'),
    HEX_ROW('c'), HEX_ROW('d'), HEX_ROW('e'), HEX_ROW('f')};

static char *hex_plain_portable(char *o, const unsigned char *p, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++)
        memcpy(o + 2 * i, hex_pairs + 2 * p[i], 2);
    return o + 2 * n;
}

static char *hex_sep1_portable(char *o, const unsigned char *p, ptrdiff_t n, char sep)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        if (i > 0)
            *o++ = sep;
        memcpy(o, hex_pairs + 2 * p[i], 2);
        o += 2;
    }
    return o;
}

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define HEX_X86 1
#include <immintrin.h>

/* Digits by pshufb: each nibble indexes a 16-byte table of "0123456789abcdef". */
#define HEX_LUT '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'

__attribute__((target("ssse3"))) static void hex16_ssse3(char *o, const unsigned char *p)
{
    const __m128i lut = _mm_setr_epi8(HEX_LUT), low = _mm_set1_epi8(15);
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i hi = _mm_shuffle_epi8(lut, _mm_and_si128(_mm_srli_epi16(x, 4), low));
    __m128i lo = _mm_shuffle_epi8(lut, _mm_and_si128(x, low));
    _mm_storeu_si128((__m128i *)(void *)o, _mm_unpacklo_epi8(hi, lo));
    _mm_storeu_si128((__m128i *)(void *)(o + 16), _mm_unpackhi_epi8(hi, lo));
}

/* The last partial block is redone as the 16 bytes ending at n (they
 * overlap what is already written, with the same digits), so short tails
 * cost one block rather than a scalar loop. */
static char *hex_tail_ssse3(char *o, const unsigned char *p, ptrdiff_t i, ptrdiff_t n)
{
    for (; i + 16 <= n; i += 16)
        hex16_ssse3(o + 2 * i, p + i);
    if (i < n) {
        if (n >= 16)
            hex16_ssse3(o + 2 * (n - 16), p + n - 16);
        else
            hex_plain_portable(o + 2 * i, p + i, n - i);
    }
    return o + 2 * n;
}

static char *hex_plain_ssse3(char *o, const unsigned char *p, ptrdiff_t n)
{
    return hex_tail_ssse3(o, p, 0, n);
}

/* The vector loops write whole blocks only, with ordinary or streaming
 * stores (stream is a constant at each call: two loops from one body). */
__attribute__((target("avx2"), always_inline)) static inline ptrdiff_t
hex_blocks_avx2(char *o, const unsigned char *p, ptrdiff_t n, bool stream)
{
    const __m256i lut = _mm256_setr_epi8(HEX_LUT, HEX_LUT), low = _mm256_set1_epi8(15);
    ptrdiff_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
        /* Unpacking works within 128-bit lanes: put input quadwords 0 and 2
         * in the low lane and 1 and 3 in the high one so that the unpacked
         * halves come out in order. */
        x = _mm256_permute4x64_epi64(x, 0xd8);
        __m256i hi = _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(x, 4), low));
        __m256i lo = _mm256_shuffle_epi8(lut, _mm256_and_si256(x, low));
        __m256i *d = (__m256i *)(void *)(o + 2 * i);
        if (stream) {
            _mm256_stream_si256(d, _mm256_unpacklo_epi8(hi, lo));
            _mm256_stream_si256(d + 1, _mm256_unpackhi_epi8(hi, lo));
        } else {
            _mm256_storeu_si256(d, _mm256_unpacklo_epi8(hi, lo));
            _mm256_storeu_si256(d + 1, _mm256_unpackhi_epi8(hi, lo));
        }
    }
    return i;
}

__attribute__((target("avx512f,avx512bw"), always_inline)) static inline ptrdiff_t
hex_blocks_avx512(char *o, const unsigned char *p, ptrdiff_t n, bool stream)
{
    const __m512i lut = _mm512_broadcast_i32x4(_mm_setr_epi8(HEX_LUT));
    const __m512i low = _mm512_set1_epi8(15);
    /* As in the AVX2 kernel: lane k takes input quadwords k and k + 4. */
    const __m512i order = _mm512_setr_epi64(0, 4, 1, 5, 2, 6, 3, 7);
    ptrdiff_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512i x = _mm512_permutexvar_epi64(order, _mm512_loadu_si512(p + i));
        __m512i hi = _mm512_shuffle_epi8(lut, _mm512_and_si512(_mm512_srli_epi16(x, 4), low));
        __m512i lo = _mm512_shuffle_epi8(lut, _mm512_and_si512(x, low));
        if (stream) {
            _mm512_stream_si512((void *)(o + 2 * i), _mm512_unpacklo_epi8(hi, lo));
            _mm512_stream_si512((void *)(o + 2 * i + 64), _mm512_unpackhi_epi8(hi, lo));
        } else {
            _mm512_storeu_si512(o + 2 * i, _mm512_unpacklo_epi8(hi, lo));
            _mm512_storeu_si512(o + 2 * i + 64, _mm512_unpackhi_epi8(hi, lo));
        }
    }
    return i;
}

/* The same with streaming stores (hex_writer.plain when the text is large;
 * see MEMVIEW_STREAM_MIN): the output up to its first `align`-byte
 * boundary with ordinary stores, the blocks from there streamed.  Output at
 * an odd address never reaches alignment two bytes at a time. */
static ptrdiff_t hex_stream_head(const char *o, ptrdiff_t n, unsigned align)
{
    if ((uintptr_t)o & 1)
        return -1;
    ptrdiff_t head = (ptrdiff_t)((align - ((uintptr_t)o & (align - 1))) & (align - 1)) / 2;
    return head < n ? head : -1;
}

/* hex_plain_<isa> and hex_stream_<isa> around hex_blocks_<isa>.  The tails
 * are legacy-SSE code: leaving the upper halves dirty would make their
 * every instruction pay a state transition (gcc omits the vzeroupper on a
 * sibling call). */
#define HEX_KERNELS(isa, targets, align)                                                           \
    __attribute__((target(targets))) static char *hex_plain_##isa(char *o, const unsigned char *p, \
                                                                  ptrdiff_t n)                     \
    {                                                                                              \
        ptrdiff_t i = hex_blocks_##isa(o, p, n, false);                                            \
        _mm256_zeroupper();                                                                        \
        return hex_tail_ssse3(o, p, i, n);                                                         \
    }                                                                                              \
    __attribute__((target(targets))) static char *hex_stream_##isa(char *o,                        \
                                                                   const unsigned char *p,         \
                                                                   ptrdiff_t n)                    \
    {                                                                                              \
        ptrdiff_t h = hex_stream_head(o, n, align);                                                \
        if (h < 0)                                                                                 \
            return hex_plain_##isa(o, p, n);                                                       \
        hex_tail_ssse3(o, p, 0, h);                                                                \
        ptrdiff_t i = h + hex_blocks_##isa(o + 2 * h, p + h, n - h, true);                         \
        _mm_sfence();                                                                              \
        _mm256_zeroupper();                                                                        \
        return hex_tail_ssse3(o, p, i, n);                                                         \
    }
HEX_KERNELS(avx2, "avx2", 32)
HEX_KERNELS(avx512, "avx512f,avx512bw", 64)

/* 16 bytes -> 48 characters "hh:" x 16: output byte j is the high digit
 * of input byte j / 3 when j % 3 == 0, the low digit when 1, sep when 2.
 * -128 (bit 7) makes pshufb write 0, to be ORed with the other parts. */
static const signed char sep1_hi[3][16] = {
    {0, -128, -128, 1, -128, -128, 2, -128, -128, 3, -128, -128, 4, -128, -128, 5},
    {-128, -128, 6, -128, -128, 7, -128, -128, 8, -128, -128, 9, -128, -128, 10, -128},
    {-128, 11, -128, -128, 12, -128, -128, 13, -128, -128, 14, -128, -128, 15, -128, -128}};
static const signed char sep1_lo[3][16] = {
    {-128, 0, -128, -128, 1, -128, -128, 2, -128, -128, 3, -128, -128, 4, -128, -128},
    {5, -128, -128, 6, -128, -128, 7, -128, -128, 8, -128, -128, 9, -128, -128, 10},
    {-128, -128, 11, -128, -128, 12, -128, -128, 13, -128, -128, 14, -128, -128, 15, -128}};
static const signed char sep1_at[3][16] = {
    {0, 0, -1, 0, 0, -1, 0, 0, -1, 0, 0, -1, 0, 0, -1, 0},
    {0, -1, 0, 0, -1, 0, 0, -1, 0, 0, -1, 0, 0, -1, 0, 0},
    {-1, 0, 0, -1, 0, 0, -1, 0, 0, -1, 0, 0, -1, 0, 0, -1}};

/* Blocks are written with their trailing sep, so only while another byte
 * follows (i + 16 < n); the rest is scalar. */
__attribute__((target("ssse3"))) static char *hex_sep1_ssse3(char *o, const unsigned char *p,
                                                             ptrdiff_t n, char sep)
{
    const __m128i lut = _mm_setr_epi8(HEX_LUT), low = _mm_set1_epi8(15);
    const __m128i sepv = _mm_set1_epi8(sep);
    ptrdiff_t i = 0;
    for (; i + 16 < n; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        __m128i hi = _mm_shuffle_epi8(lut, _mm_and_si128(_mm_srli_epi16(x, 4), low));
        __m128i lo = _mm_shuffle_epi8(lut, _mm_and_si128(x, low));
        for (int k = 0; k < 3; k++) {
            __m128i mh = _mm_loadu_si128((const __m128i *)(const void *)sep1_hi[k]);
            __m128i ml = _mm_loadu_si128((const __m128i *)(const void *)sep1_lo[k]);
            __m128i ms = _mm_loadu_si128((const __m128i *)(const void *)sep1_at[k]);
            __m128i v = _mm_or_si128(_mm_shuffle_epi8(hi, mh), _mm_shuffle_epi8(lo, ml));
            v = _mm_or_si128(v, _mm_and_si128(ms, sepv));
            _mm_storeu_si128((__m128i *)(void *)(o + 16 * k), v);
        }
        o += 48;
    }
    return hex_sep1_portable(o, p + i, n - i, sep);
}
#endif

typedef struct hex_writer {
    char *out;
    ptrdiff_t total;     /* bytes of input in all */
    ptrdiff_t done;      /* bytes of input written so far */
    ptrdiff_t until_sep; /* input bytes left before the next separator */
    ptrdiff_t group;     /* 0: no separators */
    char sep;
    hex_plain_fn plain;
    hex_sep1_fn sep1;
} hex_writer;

/* stream: the text may take streaming stores (one run into memory that is
 * not new). */
static void hex_writer_init(hex_writer *w, char *out, ptrdiff_t total, char sep, int bps,
                            bool stream)
{
    w->out = out;
    w->total = total;
    w->done = 0;
    w->sep = sep;
    w->group = hex_group(total, sep, bps);
    if (w->group == 0)
        w->until_sep = PTRDIFF_MAX;
    else if (bps > 0)
        /* Groups count from the right: the first one takes the remainder. */
        w->until_sep = (total - 1) % w->group + 1;
    else
        w->until_sep = w->group;
    w->plain = hex_plain_portable;
    w->sep1 = hex_sep1_portable;
#ifdef HEX_X86
    int isa = mv_isa();
    if (isa >= MV_ISA_SSSE3) {
        w->plain = isa >= MV_ISA_AVX512 ? hex_plain_avx512
                   : isa >= MV_ISA_AVX2 ? hex_plain_avx2
                                        : hex_plain_ssse3;
        w->sep1 = hex_sep1_ssse3;
    }
    /* Streamed, the output is not read before it is written and the input
     * stays in cache: 64 MiB into a reused buffer 16.8 -> 9.8 ms, 16 MiB
     * 3.6 -> 1.9 ms, 8 MiB no faster.  Only a contiguous view's text without
     * separators (one kernel call for all of it: rows or groups would
     * stream partial lines); never into new memory, whose pages fault in
     * through the cache anyway. */
    if (stream && w->group == 0 && isa >= MV_ISA_AVX2 && total <= PTRDIFF_MAX / 3 &&
        3 * total >= mv_stream_min())
        w->plain = isa >= MV_ISA_AVX512 ? hex_stream_avx512 : hex_stream_avx2;
#else
    (void)stream;
#endif
}

static void hex_write(hex_writer *w, const unsigned char *p, ptrdiff_t n)
{
    char *o = w->out;
    if (w->group == 1 && n > 0) {
        /* A separator after every byte but the last of all. */
        o = w->sep1(o, p, n, w->sep);
        w->done += n;
        if (w->done < w->total)
            *o++ = w->sep;
        w->out = o;
        return;
    }
    while (n > 0) {
        ptrdiff_t take = n < w->until_sep ? n : w->until_sep;
        /* Short groups stay inline: a kernel call costs more than it saves. */
        o = take >= 16 ? w->plain(o, p, take) : hex_plain_portable(o, p, take);
        p += take;
        n -= take;
        w->done += take;
        w->until_sep -= take;
        if (w->until_sep == 0) {
            if (w->done < w->total)
                *o++ = w->sep;
            w->until_sep = w->group;
        }
    }
    w->out = o;
}

static void hex_rec(hex_writer *w, const mv_layout *l, int dim, const char *p)
{
    ptrdiff_t n = l->shape[dim], stride = l->strides[dim], sub = mv_layout_sub(l, dim);
    if (dim < l->ndim - 1) {
        for (ptrdiff_t i = 0; i < n; i++)
            hex_rec(w, l, dim + 1, mv_layout_item(p, i, stride, sub));
        return;
    }
    if (stride == l->itemsize && sub < 0) {
        hex_write(w, (const unsigned char *)p, n * l->itemsize);
        return;
    }
    for (ptrdiff_t i = 0; i < n; i++)
        hex_write(w, (const unsigned char *)mv_layout_item(p, i, stride, sub), l->itemsize);
}

/* The view's layout and the length of its hex text, after the checks that
 * mv_view_hex_length and mv_view_hex_into share. */
static int hex_plan(mv_layout *l, const mv_view *view, char sep, int bytes_per_sep, ptrdiff_t *need,
                    mv_error *err)
{
    int rc = mv_layout_from_view(l, view, err);
    if (rc == 0)
        rc = hex_check_sep(sep, err);
    if (rc == 0)
        rc = hex_length(l->len, sep, bytes_per_sep, need, err);
    return rc;
}

ptrdiff_t mv_view_hex_length(const mv_view *view, char sep, int bytes_per_sep, mv_error *err)
{
    mv_layout l;
    ptrdiff_t n = 0;
    return hex_plan(&l, view, sep, bytes_per_sep, &n, err) < 0 ? -1 : n;
}

/* mv_view_hex_into; fresh: dst is new memory (never streamed). */
static int hex_into(const mv_view *view, char *dst, ptrdiff_t dstlen, char sep, int bytes_per_sep,
                    bool fresh, mv_error *err)
{
    mv_layout l;
    ptrdiff_t need = 0;
    int rc = hex_plan(&l, view, sep, bytes_per_sep, &need, err);
    if (rc < 0)
        return rc;
    if (dstlen < need)
        return mv_error_set(err, MV_EVALUE, "memoryview.hex: destination too small (%td < %td)",
                            dstlen, need);
    if (need == 0)
        return 0;
    if (!dst)
        return mv_error_set(err, MV_EVALUE, "memoryview.hex: NULL destination");
    hex_writer w;
    bool contiguous = l.ndim == 0 || mv_buffer_is_contiguous(l.buffer, 'C');
    hex_writer_init(&w, dst, l.len, sep, bytes_per_sep, !fresh && contiguous);
    if (contiguous)
        hex_write(&w, (const unsigned char *)l.buf, l.len);
    else if (!mv_layout_has_zero(&l))
        hex_rec(&w, &l, 0, l.buf);
    return 0;
}

int mv_view_hex_into(const mv_view *view, char *dst, ptrdiff_t dstlen, char sep, int bytes_per_sep,
                     mv_error *err)
{
    return hex_into(view, dst, dstlen, sep, bytes_per_sep, false, err);
}

char *mv_view_hex_alloc(const mv_view *view, char sep, int bytes_per_sep,
                        void *(*alloc)(void *ctx, ptrdiff_t nbytes), void *ctx, mv_error *err)
{
    ptrdiff_t n = mv_view_hex_length(view, sep, bytes_per_sep, err);
    if (n < 0)
        return NULL;
    if (!alloc) {
        mv_error_set(err, MV_EVALUE, "memoryview.hex: alloc must not be NULL");
        return NULL;
    }
    char *out = alloc(ctx, n);
    if (!out) {
        mv_error_set(err, MV_ENOMEM, "memoryview.hex: cannot allocate %td bytes", n);
        return NULL;
    }
    mv_advise_huge(out, n);
    if (hex_into(view, out, n, sep, bytes_per_sep, true, err) < 0)
        return NULL;
    return out;
}

char *mv_view_hex(const mv_view *view, char sep, int bytes_per_sep, size_t *len, mv_error *err)
{
    mv_malloc_out o = {NULL, 0};
    if (!mv_view_hex_alloc(view, sep, bytes_per_sep, mv_malloc_out_alloc, &o, err)) {
        free(o.p); /* allocated, then the write failed */
        return NULL;
    }
    ((char *)o.p)[o.n] = '\0';
    if (len)
        *len = (size_t)o.n;
    return o.p;
}

/* ------------------------------------------------------------------------ *
 * Python's float repr
 * ------------------------------------------------------------------------ */

/* A positive finite double as 0.d1d2...dn * 10**decpt, n minimal. */
typedef struct decimal {
    char digits[24];
    int ndigits;
    int decpt;
} decimal;

/* strtod of digits * 10**(decpt - ndigits).  Written without a decimal
 * point so the locale's LC_NUMERIC cannot change how it reads. */
static double decimal_value(const decimal *d)
{
    char text[48];
    int n = d->ndigits;
    memcpy(text, d->digits, (size_t)n);
    snprintf(text + n, sizeof text - (size_t)n, "e%d", d->decpt - n);
    return strtod(text, NULL);
}

/* The p-digit decimal nearest to x, from printf (exact in glibc). */
static void decimal_nearest(double x, int p, decimal *d)
{
    char text[64];
    snprintf(text, sizeof text, "%.*e", p - 1, x);
    int n = 0;
    const char *s = text;
    for (; *s && *s != 'e' && *s != 'E'; s++)
        if (*s >= '0' && *s <= '9' && n < (int)sizeof d->digits)
            d->digits[n++] = *s;
    d->ndigits = n;
    d->decpt = (*s ? atoi(s + 1) : 0) + 1;
}

/* The neighbouring p-digit decimal one unit in the last place up or down. */
static void decimal_step(decimal *d, bool up)
{
    int n = d->ndigits;
    if (up) {
        int i = n - 1;
        while (i >= 0 && d->digits[i] == '9')
            d->digits[i--] = '0';
        if (i >= 0) {
            d->digits[i]++;
        } else {
            d->digits[0] = '1';
            d->decpt++;
        }
        return;
    }
    int i = n - 1;
    while (i >= 0 && d->digits[i] == '0')
        d->digits[i--] = '9';
    if (i < 0)
        return; /* all zeros: x == 0 never gets here */
    d->digits[i]--;
    if (d->digits[0] == '0') {
        /* 1000 - 1 in the last place is 9999 one decade lower. */
        for (int k = 0; k < n; k++)
            d->digits[k] = '9';
        d->decpt--;
    }
}

/* A p-digit decimal that reads back as x, if there is one: the nearest, or
 * -- near a power of two, where the interval that rounds to x is lopsided
 * -- the neighbour on x's other side. */
static bool decimal_try(double x, int p, decimal *d)
{
    decimal_nearest(x, p, d);
    double back = decimal_value(d);
    if (back == x)
        return true;
    decimal alt = *d;
    decimal_step(&alt, back < x);
    if (decimal_value(&alt) == x) {
        *d = alt;
        return true;
    }
    return false;
}

/* The shortest digits that read back as x (x > 0, finite), the nearer
 * candidate first, like David Gay's dtoa mode 0 that CPython uses.  If some
 * k-digit decimal reads back as x, so does a p-digit one for every p >= k
 * (append zeros), so the shortest length can be found by bisection; 17
 * digits always suffice. */
static void decimal_shortest(double x, decimal *d)
{
    int lo = 1, hi = 17;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (decimal_try(x, mid, d))
            hi = mid;
        else
            lo = mid + 1;
    }
    if (!decimal_try(x, lo, d))
        decimal_nearest(x, 17, d);
    while (d->ndigits > 1 && d->digits[d->ndigits - 1] == '0')
        d->ndigits--;
}

enum { REPR_ADD_DOT_0 = 1, REPR_SIGN = 2 };

/* PyOS_double_to_string(x, 'r', 0, flags): out needs 32 bytes. */
static int format_repr(double x, int flags, char *out)
{
    char *o = out;
    if (isnan(x)) {
        /* CPython ignores the sign of a NaN. */
        if (flags & REPR_SIGN)
            *o++ = '+';
        memcpy(o, "nan", 4);
        return (int)(o - out) + 3;
    }
    if (signbit(x))
        *o++ = '-';
    else if (flags & REPR_SIGN)
        *o++ = '+';
    if (isinf(x)) {
        memcpy(o, "inf", 4);
        return (int)(o - out) + 3;
    }
    decimal d;
    if (x == 0) {
        d.digits[0] = '0';
        d.ndigits = 1;
        d.decpt = 1;
    } else {
        decimal_shortest(fabs(x), &d);
    }
    if (d.decpt <= -4 || d.decpt > 16) {
        int e = d.decpt - 1;
        *o++ = d.digits[0];
        if (d.ndigits > 1) {
            *o++ = '.';
            memcpy(o, d.digits + 1, (size_t)(d.ndigits - 1));
            o += d.ndigits - 1;
        }
        o += sprintf(o, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    } else if (d.decpt <= 0) {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -d.decpt; i++)
            *o++ = '0';
        memcpy(o, d.digits, (size_t)d.ndigits);
        o += d.ndigits;
    } else if (d.decpt >= d.ndigits) {
        memcpy(o, d.digits, (size_t)d.ndigits);
        o += d.ndigits;
        for (int i = d.ndigits; i < d.decpt; i++)
            *o++ = '0';
        if (flags & REPR_ADD_DOT_0) {
            *o++ = '.';
            *o++ = '0';
        }
    } else {
        memcpy(o, d.digits, (size_t)d.decpt);
        o += d.decpt;
        *o++ = '.';
        memcpy(o, d.digits + d.decpt, (size_t)(d.ndigits - d.decpt));
        o += d.ndigits - d.decpt;
    }
    *o = '\0';
    return (int)(o - out);
}

/* Python's repr of chr(c) into out (16 bytes are enough): quoted, with
 * the escapes Python writes for backslash, quotes, ASCII and Latin-1
 * controls, the soft hyphen, line and paragraph separators and surrogates;
 * other characters as UTF-8. */
static int char_repr(uint32_t c, char *out)
{
    static const char hex[] = "0123456789abcdef";
    char *o = out;
    char quote = c == '\'' ? '"' : '\'';
    *o++ = quote;
    if (c == '\\' || c == (uint32_t)quote) {
        *o++ = '\\';
        *o++ = (char)c;
    } else if (c == '\t' || c == '\n' || c == '\r') {
        *o++ = '\\';
        *o++ = c == '\t' ? 't' : c == '\n' ? 'n' : 'r';
    } else if (c < 0x20 || (c >= 0x7f && c <= 0xa0) || c == 0xad) {
        o += sprintf(o, "\\x%c%c", hex[c >> 4], hex[c & 15]);
    } else if (c < 0x80) {
        *o++ = (char)c;
    } else if ((c >= 0xd800 && c <= 0xdfff) || c == 0x2028 || c == 0x2029) {
        o += sprintf(o, "\\u%04x", (unsigned)c);
    } else if (c > 0x10ffff) {
        o += sprintf(o, "\\U%08lx", (unsigned long)c);
    } else if (c < 0x800) {
        *o++ = (char)(0xc0 | (c >> 6));
        *o++ = (char)(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
        *o++ = (char)(0xe0 | (c >> 12));
        *o++ = (char)(0x80 | ((c >> 6) & 0x3f));
        *o++ = (char)(0x80 | (c & 0x3f));
    } else {
        *o++ = (char)(0xf0 | (c >> 18));
        *o++ = (char)(0x80 | ((c >> 12) & 0x3f));
        *o++ = (char)(0x80 | ((c >> 6) & 0x3f));
        *o++ = (char)(0x80 | (c & 0x3f));
    }
    *o++ = quote;
    *o = '\0';
    return (int)(o - out);
}

int mv_char_repr(uint32_t c, char *dst, size_t dstlen)
{
    char text[16];
    int n = char_repr(c, text);
    if (dst && dstlen > 0) {
        size_t k = (size_t)n < dstlen - 1 ? (size_t)n : dstlen - 1;
        memcpy(dst, text, k);
        dst[k] = '\0';
    }
    return n;
}

int mv_double_repr(double x, char *dst, size_t dstlen)
{
    char text[40];
    int n = format_repr(x, REPR_ADD_DOT_0, text);
    if (dst && dstlen > 0) {
        size_t k = (size_t)n < dstlen - 1 ? (size_t)n : dstlen - 1;
        memcpy(dst, text, k);
        dst[k] = '\0';
    }
    return n;
}

/* ------------------------------------------------------------------------ *
 * Traversal
 * ------------------------------------------------------------------------ */

enum { SMALL_VALUES = 16 };

typedef struct walk {
    const mv_visitor *v;
    const mv_format *fmt;
    const mv_layout *l;
    mv_value *values;
    mv_error *err;
    /* No items: the lists are walked, but no address is followed (an
     * empty view's addresses are not kept: see mv_select). */
    bool empty;
} walk;

static int walk_item(walk *w, const char *p)
{
    int rc = mv_format_unpack(w->fmt, p, w->values, w->fmt->nvalues, w->err);
    if (rc < 0)
        return rc;
    return w->v->item ? w->v->item(w->v->ctx, w->values, w->fmt->nvalues) : 0;
}

static int walk_rec(walk *w, int dim, const char *p)
{
    const mv_layout *l = w->l;
    int rc;
    if (w->v->begin && (rc = w->v->begin(w->v->ctx, dim)) != 0)
        return rc;
    ptrdiff_t stride = l->strides[dim], sub = mv_layout_sub(l, dim);
    for (ptrdiff_t i = 0; i < l->shape[dim]; i++) {
        const char *q = w->empty ? p : mv_layout_item(p, i, stride, sub);
        rc = dim == l->ndim - 1 ? walk_item(w, q) : walk_rec(w, dim + 1, q);
        if (rc != 0)
            return rc;
    }
    return w->v->end ? w->v->end(w->v->ctx, dim) : 0;
}

int mv_view_traverse(const mv_view *view, const mv_visitor *visitor, mv_error *err)
{
    if (!visitor)
        return mv_error_set(err, MV_EVALUE, "mv_view_traverse: NULL visitor");
    mv_layout l;
    int rc = mv_layout_from_view(&l, view, err);
    if (rc < 0)
        return rc;
    mv_error local;
    mv_error_clear(&local);
    const mv_format *fmt = mv_view_format(view, &local);
    if (!fmt)
        return mv_error_pass(err, &local);
    if (fmt->itemsize != l.itemsize)
        return mv_error_format_size(err, l.buffer->format, fmt->itemsize, l.itemsize);

    mv_value small[SMALL_VALUES];
    mv_value *values = small;
    if (fmt->nvalues > SMALL_VALUES) {
        if ((size_t)fmt->nvalues > SIZE_MAX / sizeof(mv_value))
            return mv_error_set(err, MV_ENOMEM, "out of memory");
        values = malloc((size_t)fmt->nvalues * sizeof(mv_value));
        if (!values)
            return mv_error_set(err, MV_ENOMEM, "out of memory");
    }
    walk w = {visitor, fmt, &l, values, err, mv_layout_has_zero(&l)};
    rc = l.ndim == 0 ? walk_item(&w, l.buf) : walk_rec(&w, 0, l.buf);
    if (values != small)
        free(values);
    return rc;
}

/* ------------------------------------------------------------------------ *
 * tolist as text
 * ------------------------------------------------------------------------ */

typedef struct text_out {
    char *p;
    size_t len, cap;
    bool need_comma;
    bool tuple; /* items print as tuples (records, several values) */
    mv_error *err;
} text_out;

static int text_reserve(text_out *t, size_t extra)
{
    if (t->cap - t->len > extra)
        return 0;
    if (extra > SIZE_MAX / 2 - t->len)
        return mv_error_set(t->err, MV_ENOMEM, "out of memory");
    size_t cap = t->cap ? t->cap : 64;
    while (cap - t->len <= extra)
        cap *= 2;
    char *p = realloc(t->p, cap);
    if (!p)
        return mv_error_set(t->err, MV_ENOMEM, "out of memory");
    t->p = p;
    t->cap = cap;
    return 0;
}

static int text_put(text_out *t, const char *s, size_t n)
{
    int rc = text_reserve(t, n);
    if (rc < 0)
        return rc;
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
    return 0;
}

static int text_puts(text_out *t, const char *s)
{
    return text_put(t, s, strlen(s));
}

/* Python's repr of bytes: single quotes unless the bytes hold a ' and no ". */
static int text_bytes(text_out *t, const unsigned char *b, size_t n)
{
    bool squote = n > 0 && memchr(b, '\'', n) != NULL;
    bool dquote = n > 0 && memchr(b, '"', n) != NULL;
    char quote = squote && !dquote ? '"' : '\'';
    if (n > (SIZE_MAX - 3) / 4)
        return mv_error_set(t->err, MV_ENOMEM, "out of memory");
    int rc = text_reserve(t, 4 * n + 3);
    if (rc < 0)
        return rc;
    char *o = t->p + t->len;
    *o++ = 'b';
    *o++ = quote;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = b[i];
        if (c == (unsigned char)quote || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c == '\t') {
            *o++ = '\\';
            *o++ = 't';
        } else if (c == '\n') {
            *o++ = '\\';
            *o++ = 'n';
        } else if (c == '\r') {
            *o++ = '\\';
            *o++ = 'r';
        } else if (c < ' ' || c >= 0x7f) {
            *o++ = '\\';
            *o++ = 'x';
            *o++ = hex_digits[c >> 4];
            *o++ = hex_digits[c & 15];
        } else {
            *o++ = (char)c;
        }
    }
    *o++ = quote;
    *o = '\0';
    t->len = (size_t)(o - t->p);
    return 0;
}

/* Python's complex repr: "2j" when the real part is +0.0, else "(re+imj)",
 * with the parts as float repr without an added ".0". */
static int text_complex(text_out *t, double re, double im)
{
    char a[40], b[40];
    if (re == 0 && !signbit(re)) {
        format_repr(im, 0, b);
        int rc = text_puts(t, b);
        return rc < 0 ? rc : text_put(t, "j", 1);
    }
    format_repr(re, 0, a);
    format_repr(im, REPR_SIGN, b);
    int rc = text_put(t, "(", 1);
    if (rc == 0)
        rc = text_puts(t, a);
    if (rc == 0)
        rc = text_puts(t, b);
    if (rc == 0)
        rc = text_put(t, "j)", 2);
    return rc;
}

static int text_value(text_out *t, const mv_value *v)
{
    char num[48];
    switch (v->kind) {
    case MV_VALUE_BOOL:
        return text_puts(t, v->v.b ? "True" : "False");
    case MV_VALUE_SIGNED:
        snprintf(num, sizeof num, "%lld", (long long)v->v.i);
        return text_puts(t, num);
    case MV_VALUE_UNSIGNED:
        snprintf(num, sizeof num, "%llu", (unsigned long long)v->v.u);
        return text_puts(t, num);
    case MV_VALUE_DOUBLE:
        format_repr(v->v.d, REPR_ADD_DOT_0, num);
        return text_puts(t, num);
    case MV_VALUE_COMPLEX:
        return text_complex(t, v->v.c.re, v->v.c.im);
    case MV_VALUE_BYTES:
        return text_bytes(t, v->v.bytes.ptr, v->v.bytes.len);
    case MV_VALUE_CHAR:
        char_repr((uint32_t)v->v.u, num);
        return text_puts(t, num);
    default:
        return text_puts(t, "None");
    }
}

static int text_comma(text_out *t)
{
    if (!t->need_comma)
        return 0;
    t->need_comma = false;
    return text_put(t, ", ", 2);
}

static int text_begin(void *ctx, int depth)
{
    text_out *t = ctx;
    (void)depth;
    int rc = text_comma(t);
    return rc < 0 ? rc : text_put(t, "[", 1);
}

static int text_end(void *ctx, int depth)
{
    text_out *t = ctx;
    (void)depth;
    t->need_comma = true;
    return text_put(t, "]", 1);
}

static int text_item(void *ctx, const mv_value *values, ptrdiff_t nvalues)
{
    text_out *t = ctx;
    int rc = text_comma(t);
    if (rc < 0)
        return rc;
    if (!t->tuple) {
        rc = text_value(t, &values[0]);
    } else {
        rc = text_put(t, "(", 1);
        for (ptrdiff_t i = 0; rc == 0 && i < nvalues; i++) {
            if (i > 0)
                rc = text_put(t, ", ", 2);
            if (rc == 0)
                rc = text_value(t, &values[i]);
        }
        if (rc == 0 && nvalues == 1)
            rc = text_put(t, ",", 1);
        if (rc == 0)
            rc = text_put(t, ")", 1);
    }
    t->need_comma = true;
    return rc;
}

char *mv_view_tolist_text(const mv_view *view, size_t *len, mv_error *err)
{
    mv_layout l;
    if (mv_layout_from_view(&l, view, err) < 0)
        return NULL;
    mv_error local;
    mv_error_clear(&local);
    const mv_format *fmt = mv_view_format(view, &local);
    if (!fmt) {
        mv_error_pass(err, &local);
        return NULL;
    }
    text_out t = {NULL, 0, 0, false, false, err};
    /* A record prints as a tuple even with one value, like struct.unpack. */
    t.tuple = fmt->nvalues != 1 || (l.buffer->format && strchr(l.buffer->format, '{'));
    if (text_reserve(&t, 1) < 0)
        return NULL;
    t.p[0] = '\0';
    mv_visitor v = {text_begin, text_item, text_end, &t};
    if (mv_view_traverse(view, &v, err) < 0) {
        free(t.p);
        return NULL;
    }
    if (len)
        *len = t.len;
    return t.p;
}
