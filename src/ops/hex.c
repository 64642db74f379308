/* hex() of a view as CPython's Python/pystrhex.c writes it, with SIMD
 * kernels for the plain and one-byte-separator forms. */
#include "ops.h"

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
    bool from_right;     /* groups counted from the end (bytes_per_sep > 0) */
    char sep;
    hex_plain_fn plain;
    hex_sep1_fn sep1;
    ptrdiff_t itemsize; /* hex_row's items */
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
    w->from_right = bps > 0;
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

/* Move a fresh writer to byte `pos` of the whole text's input: the
 * separators before it belong to the bytes before it. */
static void hex_writer_seek(hex_writer *w, ptrdiff_t pos)
{
    w->done = pos;
    if (w->group == 0 || pos == 0)
        return;
    /* Bytes from pos to the next group boundary, as hex_writer_init counts
     * them from 0: from the right, boundaries sit where (total - b) % group
     * is 0; from the left, where b % group is. */
    ptrdiff_t r = w->from_right ? (w->total - pos) % w->group : w->group - pos % w->group;
    w->until_sep = r == 0 ? w->group : r;
}

/* Whole groups of 2 to 16 bytes from a group boundary: their digits in one
 * kernel call, then spread out with fixed-size copies and the separator
 * after each group but the last of the text (digits group by group cost
 * more than they saved: hex(':', 2) ran at 1.2x CPython where plain hex
 * runs at 16x).  Returns the input bytes taken (at least one group; n >=
 * 2 * group).  Out of line: other groupings keep hex_write's loop lean. */
static __attribute__((noinline)) ptrdiff_t hex_groups(hex_writer *w, const unsigned char *p,
                                                      ptrdiff_t n)
{
    char digits[512];
    ptrdiff_t g = w->group, k = n / g, room = (ptrdiff_t)sizeof digits / (2 * g);
    if (k > room)
        k = room;
    w->plain(digits, p, k * g);
    ptrdiff_t nsep = w->done + k * g == w->total ? k - 1 : k;
    char *o = w->out;
    const char *d = digits;
    for (ptrdiff_t j = 0; j < k; j++, d += 2 * g) {
        /* 2g digits as two fixed-size copies that overlap as needed. */
        size_t len = (size_t)(2 * g);
        if (len <= 8) {
            memcpy(o, d, 4);
            memcpy(o + len - 4, d + len - 4, 4);
        } else if (len <= 16) {
            memcpy(o, d, 8);
            memcpy(o + len - 8, d + len - 8, 8);
        } else {
            memcpy(o, d, 16);
            memcpy(o + len - 16, d + len - 16, 16);
        }
        o += len;
        if (j < nsep)
            *o++ = w->sep;
    }
    w->out = o;
    w->done += k * g;
    return k * g;
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
    /* Input long enough for hex_groups, or never (other groupings). */
    ptrdiff_t g = w->group, blocks_from = g >= 2 && g <= 16 ? 2 * g : PTRDIFF_MAX;
    while (n > 0) {
        if (n >= blocks_from && w->until_sep == g) {
            w->out = o;
            ptrdiff_t t = hex_groups(w, p, n);
            o = w->out;
            p += t;
            n -= t;
            continue;
        }
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

/* One row of a walk through the writer. */
static int hex_row(void *ctx, const char *p, ptrdiff_t stride, ptrdiff_t sub, const char *pb,
                   ptrdiff_t sb, ptrdiff_t subb, ptrdiff_t n)
{
    hex_writer *w = ctx;
    (void)pb;
    (void)sb;
    (void)subb;
    if (stride == w->itemsize && sub < 0) {
        hex_write(w, (const unsigned char *)p, n * w->itemsize);
        return 0;
    }
    for (ptrdiff_t i = 0; i < n; i++)
        hex_write(w, (const unsigned char *)mv_layout_item(p, i, stride, sub), w->itemsize);
    return 0;
}

/* One block of a C-order walk (mv_layout_range) through the writer. */
static int hex_block(void *ctx, const mv_layout *block)
{
    ((hex_writer *)ctx)->itemsize = block->itemsize;
    return mv_walk_rows(block, NULL, hex_row, ctx);
}

/* Bytes gathered per step when the layout is not contiguous. */
enum { HEX_GATHER = 16384 };

/* Items [start, start + count) of a layout that is not C-contiguous
 * through the writer: gathered by the copy engine (SIMD gathers for strided
 * items) HEX_GATHER bytes at a time, then converted as contiguous bytes;
 * items larger than that are each contiguous already, and go item by item. */
static int hex_gathered(hex_writer *w, const mv_layout *l, ptrdiff_t start, ptrdiff_t count,
                        mv_error *err)
{
    if (l->itemsize > HEX_GATHER) {
        for (ptrdiff_t k = start; k < start + count; k++) {
            int rc = mv_layout_range(l, k, 1, hex_block, w);
            if (rc < 0)
                return rc;
        }
        return 0;
    }
    unsigned char chunk[HEX_GATHER];
    ptrdiff_t per = HEX_GATHER / (l->itemsize > 0 ? l->itemsize : 1);
    for (ptrdiff_t k = start; k < start + count; k += per) {
        ptrdiff_t n = start + count - k < per ? start + count - k : per;
        int rc = mv_copy_range(l, k, n, chunk, err);
        if (rc < 0)
            return rc;
        hex_write(w, chunk, n * l->itemsize);
    }
    return 0;
}

/* The view's layout and the length of its hex text, after the checks that
 * mv_view_hex_length and mv_view_hex_into share. */
static int hex_plan(mv_layout *l, const mv_view *view, char sep, int bytes_per_sep, ptrdiff_t *need,
                    mv_error *err)
{
    int rc = mv_view_layout(l, view, err);
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

/* The text of items [start, start + count) of l (need characters, from
 * the plan) into dst, after the destination's checks; stream: the text of
 * the whole of a contiguous view into memory that is not new may take
 * streaming stores. */
static int hex_write_range(const mv_layout *l, ptrdiff_t start, ptrdiff_t count, char *dst,
                           ptrdiff_t dstlen, ptrdiff_t need, char sep, int bytes_per_sep,
                           bool stream, mv_error *err)
{
    if (dstlen < need)
        return mv_error_set(err, MV_EVALUE, "memoryview.hex: destination too small (%td < %td)",
                            dstlen, need);
    if (need == 0)
        return 0;
    if (!dst)
        return mv_error_set(err, MV_EVALUE, "memoryview.hex: NULL destination");
    hex_writer w;
    bool contiguous = l->ndim == 0 || (l->contig & MV_CONTIG_C);
    hex_writer_init(&w, dst, l->len, sep, bytes_per_sep, stream && contiguous);
    hex_writer_seek(&w, start * l->itemsize);
    if (contiguous) {
        hex_write(&w, (const unsigned char *)l->buf + start * l->itemsize, count * l->itemsize);
        return 0;
    }
    return hex_gathered(&w, l, start, count, err);
}

/* The whole text of the planned layout l (need characters) into dst;
 * fresh: dst is new memory (never streamed). */
static int hex_write_all(const mv_layout *l, char *dst, ptrdiff_t dstlen, ptrdiff_t need,
                         char sep, int bytes_per_sep, bool fresh, mv_error *err)
{
    ptrdiff_t n = 0;
    int rc = mv_layout_count(l, &n, err);
    return rc < 0 ? rc
                  : hex_write_range(l, 0, n, dst, dstlen, need, sep, bytes_per_sep, !fresh, err);
}

int mv_view_hex_into(const mv_view *view, char *dst, ptrdiff_t dstlen, char sep, int bytes_per_sep,
                     mv_error *err)
{
    mv_layout l;
    ptrdiff_t need = 0;
    int rc = hex_plan(&l, view, sep, bytes_per_sep, &need, err);
    return rc < 0 ? rc : hex_write_all(&l, dst, dstlen, need, sep, bytes_per_sep, false, err);
}

char *mv_view_hex_alloc(const mv_view *view, char sep, int bytes_per_sep,
                        void *(*alloc)(void *ctx, ptrdiff_t nbytes), void *ctx, mv_error *err)
{
    mv_layout l;
    ptrdiff_t n = 0;
    if (hex_plan(&l, view, sep, bytes_per_sep, &n, err) < 0)
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
    if (hex_write_all(&l, out, n, n, sep, bytes_per_sep, true, err) < 0)
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

/* ---- ranges ------------------------------------------------------------ */

/* The separators the whole text of `total` bytes puts after the bytes
 * [pos, end) (group g > 0): boundaries b with pos < b <= end, b < total. */
static ptrdiff_t hex_range_seps(ptrdiff_t total, ptrdiff_t g, bool from_right, ptrdiff_t pos,
                                ptrdiff_t end)
{
    if (end <= pos)
        return 0;
    /* Boundaries are the b in (0, total) with b % g == c. */
    ptrdiff_t c = from_right ? total % g : 0, first = c > 0 ? c : g;
    ptrdiff_t hi = end < total ? end : total - 1;
    ptrdiff_t upto_hi = hi >= first ? (hi - first) / g + 1 : 0;
    ptrdiff_t upto_pos = pos >= first ? (pos - first) / g + 1 : 0;
    return upto_hi - upto_pos;
}

/* The checks and the text length of a range: the range's layout in *l,
 * its first byte and byte count in *pos and *nbytes. */
static int hex_range_plan(mv_layout *l, const mv_view *view, ptrdiff_t start, ptrdiff_t count,
                          char sep, int bytes_per_sep, ptrdiff_t *need, mv_error *err)
{
    int rc = mv_range_layout(l, view, start, count, err);
    if (rc == 0)
        rc = hex_check_sep(sep, err);
    ptrdiff_t whole = 0;
    if (rc == 0)
        rc = hex_length(l->len, sep, bytes_per_sep, &whole, err);
    if (rc < 0)
        return rc;
    /* Inside the whole text, whose length fits. */
    ptrdiff_t pos = start * l->itemsize, n = count * l->itemsize;
    ptrdiff_t g = hex_group(l->len, sep, bytes_per_sep);
    *need = 2 * n + (g ? hex_range_seps(l->len, g, bytes_per_sep > 0, pos, pos + n) : 0);
    return 0;
}

ptrdiff_t mv_view_hex_range_length(const mv_view *view, ptrdiff_t start, ptrdiff_t count,
                                   char sep, int bytes_per_sep, mv_error *err)
{
    mv_layout l;
    ptrdiff_t need = 0;
    return hex_range_plan(&l, view, start, count, sep, bytes_per_sep, &need, err) < 0 ? -1
                                                                                        : need;
}

int mv_view_hex_range_into(const mv_view *view, ptrdiff_t start, ptrdiff_t count, char *dst,
                           ptrdiff_t dstlen, char sep, int bytes_per_sep, mv_error *err)
{
    mv_layout l;
    ptrdiff_t need = 0;
    int rc = hex_range_plan(&l, view, start, count, sep, bytes_per_sep, &need, err);
    return rc < 0 ? rc
                  : hex_write_range(&l, start, count, dst, dstlen, need, sep, bytes_per_sep, false,
                                    err);
}
