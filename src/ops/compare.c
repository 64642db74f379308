/* Format-aware equality (CPython's memory_richcompare).
 *
 * Equality never compares whole memory blindly: padding, '?' items and
 * floats (NaN != NaN, -0.0 == 0.0) make equal values differ in their bytes.
 * Items are therefore compared by value, with shortcuts chosen once per
 * comparison: identical integer / byte layouts compare raw bytes (memcmp on
 * contiguous runs, masked vectors when both share a stride dividing 16,
 * typed loops on other strided ones); integers of one size in either byte
 * order or signedness compare as bits after a byte swap (pshufb on those
 * runs too); 'd' / 'f' in any byte order compare as C floats
 * (ordered-equal vector compares on contiguous runs).  Everything else
 * reads each item's values with the codec's item reader (single-element
 * formats loaded directly) and compares them with mv_value_equal (codec.c).
 * The vector kernels are picked at run time by mv_isa().  Hashing is in
 * hash.c, count / index in search.c. */
#include "ops.h"

#include <string.h>

/* ------------------------------------------------------------------------ *
 * Buffer equality
 * ------------------------------------------------------------------------ */

/* The item sizes the typed loops and the vector kernels handle. */
static bool size_ok(ptrdiff_t s)
{
    return s == 1 || s == 2 || s == 4 || s == 8;
}

/* CMP_INT: one integer field of 1, 2, 4 or 8 bytes on each side (or raw
 * items of that size), compared as bits after bringing b into a's byte
 * order; signed against unsigned is equal only while the sign bit is clear.
 * CMP_REAL: one 'd' or 'f' field on each side, compared as C floats after
 * bringing each into native order (NaN != NaN, -0.0 == 0.0). */
enum cmp_mode { CMP_RAW, CMP_INT, CMP_REAL, CMP_VALUES };

typedef struct cmp_ctx {
    enum cmp_mode mode;
    ptrdiff_t itemsize; /* CMP_RAW: bytes per item; CMP_INT / CMP_REAL: field size */
    bool swap;          /* CMP_INT: b's bytes in the other order than a's */
    bool swap_a;        /* CMP_REAL: a / b not in native order */
    bool swap_b;
    bool signmix; /* CMP_INT: one side signed, the other unsigned */
    int isa;
    /* CMP_INT's vector patterns, for items `period` bytes apart (the item
     * size, or a stride dividing 16), repeated over 16 bytes: a's sign bit
     * (all zero unless signed meets unsigned), pshufb indices bringing b's
     * items into a's byte order, and 0xff over the item bytes (0 over the
     * gaps between strided items, whose bytes carry no value). */
    ptrdiff_t period;
    ptrdiff_t top; /* the byte of an item holding a's sign bit */
    unsigned char sign[16];
    unsigned char shuf_b[16];
    unsigned char mask[16];
    unsigned char shuf_r[16]; /* pshufb: byte-reverse each item (CMP_REAL) */
    mv_item_reader ra, rb;
    mv_error *err;
} cmp_ctx;

#define CMP_ID(x) (x)

/* Item-by-item loops, one per item size: bits equal after the swap, and
 * no sign bit when the signedness differs. */
#define CMP_INT_LOOP(T, SWAP)                                                                      \
    do {                                                                                           \
        T m;                                                                                       \
        memcpy(&m, c->sign, sizeof m);                                                             \
        for (ptrdiff_t i = 0; i < n; i++) {                                                        \
            T x, y;                                                                                \
            memcpy(&x, pa + i * sa, sizeof x);                                                     \
            memcpy(&y, pb + i * sb, sizeof y);                                                     \
            if ((T)(x ^ SWAP(y)) | (T)(x & m))                                                     \
                return 0;                                                                          \
        }                                                                                          \
        return 1;                                                                                  \
    } while (0)

static int int_run(const cmp_ctx *c, const char *pa, ptrdiff_t sa, const char *pb, ptrdiff_t sb,
                   ptrdiff_t n)
{
    switch (c->itemsize * 2 + c->swap) {
    case 2:
        CMP_INT_LOOP(uint8_t, CMP_ID);
    case 4:
        CMP_INT_LOOP(uint16_t, CMP_ID);
    case 5:
        CMP_INT_LOOP(uint16_t, __builtin_bswap16);
    case 8:
        CMP_INT_LOOP(uint32_t, CMP_ID);
    case 9:
        CMP_INT_LOOP(uint32_t, __builtin_bswap32);
    case 16:
        CMP_INT_LOOP(uint64_t, CMP_ID);
    default:
        CMP_INT_LOOP(uint64_t, __builtin_bswap64);
    }
}

/* Item-by-item float loops: each side brought into native order, then an
 * ordered-equal compare (NaN != NaN, -0.0 == 0.0). */
#define CMP_REAL_LOOP(U, F, SWAP)                                                                  \
    do {                                                                                           \
        for (ptrdiff_t i = 0; i < n; i++) {                                                        \
            U x, y;                                                                                \
            F fx, fy;                                                                              \
            memcpy(&x, pa + i * sa, sizeof x);                                                     \
            memcpy(&y, pb + i * sb, sizeof y);                                                     \
            x = c->swap_a ? SWAP(x) : x;                                                           \
            y = c->swap_b ? SWAP(y) : y;                                                           \
            memcpy(&fx, &x, sizeof fx);                                                            \
            memcpy(&fy, &y, sizeof fy);                                                            \
            if (!(fx == fy))                                                                       \
                return 0;                                                                          \
        }                                                                                          \
        return 1;                                                                                  \
    } while (0)

static int real_run(const cmp_ctx *c, const char *pa, ptrdiff_t sa, const char *pb, ptrdiff_t sb,
                    ptrdiff_t n)
{
    if (c->itemsize == 8)
        CMP_REAL_LOOP(uint64_t, double, __builtin_bswap64);
    CMP_REAL_LOOP(uint32_t, float, __builtin_bswap32);
}

/* Vector kernels for runs where both sides are contiguous (or, CMP_INT, both
 * have the stride the patterns were built for): each returns the number of
 * leading bytes found equal (whole vectors), or -1 at the first difference;
 * the caller finishes the tail with the item loops. */
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define CMP_X86 1
#include <immintrin.h>

#define LOAD128(p) _mm_loadu_si128((const __m128i *)(const void *)(p))

__attribute__((target("ssse3"))) static ptrdiff_t int_eq_ssse3(const cmp_ctx *c, const char *a,
                                                               const char *b, ptrdiff_t nbytes)
{
    const __m128i shuf = LOAD128(c->shuf_b), sign = LOAD128(c->sign), mask = LOAD128(c->mask);
    const __m128i zero = _mm_setzero_si128();
    ptrdiff_t i = 0;
    for (; i + 16 <= nbytes; i += 16) {
        __m128i x = LOAD128(a + i), y = _mm_shuffle_epi8(LOAD128(b + i), shuf);
        __m128i d = _mm_or_si128(_mm_and_si128(_mm_xor_si128(x, y), mask), _mm_and_si128(x, sign));
        if (_mm_movemask_epi8(_mm_cmpeq_epi8(d, zero)) != 0xffff)
            return -1;
    }
    return i;
}

__attribute__((target("avx2"))) static ptrdiff_t int_eq_avx2(const cmp_ctx *c, const char *a,
                                                             const char *b, ptrdiff_t nbytes)
{
    const __m256i shuf = _mm256_broadcastsi128_si256(LOAD128(c->shuf_b));
    const __m256i sign = _mm256_broadcastsi128_si256(LOAD128(c->sign));
    const __m256i mask = _mm256_broadcastsi128_si256(LOAD128(c->mask));
    ptrdiff_t i = 0;
    for (; i + 32 <= nbytes; i += 32) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(a + i));
        __m256i y = _mm256_loadu_si256((const __m256i *)(const void *)(b + i));
        y = _mm256_shuffle_epi8(y, shuf);
        __m256i d = _mm256_or_si256(_mm256_and_si256(_mm256_xor_si256(x, y), mask),
                                    _mm256_and_si256(x, sign));
        if (!_mm256_testz_si256(d, d))
            return -1;
    }
    return i;
}

__attribute__((target("avx512f,avx512bw"))) static ptrdiff_t
int_eq_avx512(const cmp_ctx *c, const char *a, const char *b, ptrdiff_t nbytes)
{
    const __m512i shuf = _mm512_broadcast_i32x4(LOAD128(c->shuf_b));
    const __m512i sign = _mm512_broadcast_i32x4(LOAD128(c->sign));
    const __m512i mask = _mm512_broadcast_i32x4(LOAD128(c->mask));
    ptrdiff_t i = 0;
    for (; i + 64 <= nbytes; i += 64) {
        __m512i x = _mm512_loadu_si512(a + i);
        __m512i y = _mm512_shuffle_epi8(_mm512_loadu_si512(b + i), shuf);
        __m512i d = _mm512_or_si512(_mm512_and_si512(_mm512_xor_si512(x, y), mask),
                                    _mm512_and_si512(x, sign));
        if (_mm512_test_epi64_mask(d, d))
            return -1;
    }
    return i;
}

/* Ordered-equal compares: false for NaN, true for -0.0 against 0.0. */
__attribute__((target("ssse3"))) static ptrdiff_t real_eq_ssse3(const cmp_ctx *c, const char *a,
                                                                const char *b, ptrdiff_t nbytes)
{
    const __m128i shuf = LOAD128(c->shuf_r);
    ptrdiff_t i = 0;
    for (; i + 16 <= nbytes; i += 16) {
        __m128i x = LOAD128(a + i), y = LOAD128(b + i);
        x = c->swap_a ? _mm_shuffle_epi8(x, shuf) : x;
        y = c->swap_b ? _mm_shuffle_epi8(y, shuf) : y;
        int eq =
            c->itemsize == 8
                ? _mm_movemask_pd(_mm_cmpeq_pd(_mm_castsi128_pd(x), _mm_castsi128_pd(y))) == 3
                : _mm_movemask_ps(_mm_cmpeq_ps(_mm_castsi128_ps(x), _mm_castsi128_ps(y))) == 15;
        if (!eq)
            return -1;
    }
    return i;
}

__attribute__((target("avx2"))) static ptrdiff_t real_eq_avx2(const cmp_ctx *c, const char *a,
                                                              const char *b, ptrdiff_t nbytes)
{
    const __m256i shuf = _mm256_broadcastsi128_si256(LOAD128(c->shuf_r));
    ptrdiff_t i = 0;
    for (; i + 32 <= nbytes; i += 32) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(a + i));
        __m256i y = _mm256_loadu_si256((const __m256i *)(const void *)(b + i));
        x = c->swap_a ? _mm256_shuffle_epi8(x, shuf) : x;
        y = c->swap_b ? _mm256_shuffle_epi8(y, shuf) : y;
        int eq = c->itemsize == 8
                     ? _mm256_movemask_pd(_mm256_cmp_pd(_mm256_castsi256_pd(x),
                                                        _mm256_castsi256_pd(y), _CMP_EQ_OQ)) == 15
                     : _mm256_movemask_ps(_mm256_cmp_ps(_mm256_castsi256_ps(x),
                                                        _mm256_castsi256_ps(y), _CMP_EQ_OQ)) == 255;
        if (!eq)
            return -1;
    }
    return i;
}

__attribute__((target("avx512f,avx512bw"))) static ptrdiff_t
real_eq_avx512(const cmp_ctx *c, const char *a, const char *b, ptrdiff_t nbytes)
{
    const __m512i shuf = _mm512_broadcast_i32x4(LOAD128(c->shuf_r));
    ptrdiff_t i = 0;
    for (; i + 64 <= nbytes; i += 64) {
        __m512i x = _mm512_loadu_si512(a + i), y = _mm512_loadu_si512(b + i);
        x = c->swap_a ? _mm512_shuffle_epi8(x, shuf) : x;
        y = c->swap_b ? _mm512_shuffle_epi8(y, shuf) : y;
        int eq = c->itemsize == 8
                     ? _mm512_cmp_pd_mask(_mm512_castsi512_pd(x), _mm512_castsi512_pd(y),
                                          _CMP_EQ_OQ) == 0xff
                     : _mm512_cmp_ps_mask(_mm512_castsi512_ps(x), _mm512_castsi512_ps(y),
                                          _CMP_EQ_OQ) == 0xffff;
        if (!eq)
            return -1;
    }
    return i;
}
#endif

/* The leading bytes of two runs of nbytes the vector kernel found equal,
 * or -1 when it found a difference. */
static ptrdiff_t vector_prefix(const cmp_ctx *c, const char *pa, const char *pb, ptrdiff_t nbytes)
{
#ifdef CMP_X86
    bool real = c->mode == CMP_REAL;
    if (c->isa >= MV_ISA_AVX512)
        return real ? real_eq_avx512(c, pa, pb, nbytes) : int_eq_avx512(c, pa, pb, nbytes);
    if (c->isa >= MV_ISA_AVX2)
        return real ? real_eq_avx2(c, pa, pb, nbytes) : int_eq_avx2(c, pa, pb, nbytes);
    if (c->isa >= MV_ISA_SSSE3)
        return real ? real_eq_ssse3(c, pa, pb, nbytes) : int_eq_ssse3(c, pa, pb, nbytes);
#else
    (void)c;
    (void)pa;
    (void)pb;
    (void)nbytes;
#endif
    return 0;
}

/* CMP_INT's patterns for items `period` bytes apart (see cmp_ctx). */
static void int_patterns(cmp_ctx *c, ptrdiff_t period)
{
    ptrdiff_t size = c->itemsize;
    for (ptrdiff_t j = 0; j < 16; j++) {
        ptrdiff_t start = j / period * period, o = j % period;
        bool in = o < size;
        c->shuf_b[j] = (unsigned char)(in && c->swap ? start + size - 1 - o : j);
        c->sign[j] = in && c->signmix && o == c->top ? 0x80 : 0;
        c->mask[j] = in ? 0xff : 0;
    }
    c->period = period;
}

/* One row of n items: contiguous runs (and integer runs sharing a stride
 * that divides 16) go to memcmp or the vector kernels, other strided ones
 * to the typed item loops, indirect ones item by item. */
static int cmp_typed(cmp_ctx *c, const char *pa, ptrdiff_t sa, ptrdiff_t suba, const char *pb,
                     ptrdiff_t sb, ptrdiff_t subb, ptrdiff_t n)
{
    int (*run)(const cmp_ctx *, const char *, ptrdiff_t, const char *, ptrdiff_t, ptrdiff_t) =
        c->mode == CMP_REAL ? real_run : int_run;
    if (suba >= 0 || subb >= 0) {
        for (ptrdiff_t i = 0; i < n; i++)
            if (!run(c, mv_layout_item(pa, i, sa, suba), 0, mv_layout_item(pb, i, sb, subb), 0, 1))
                return 0;
        return 1;
    }
    if (sa == c->itemsize && sb == c->itemsize && c->mode == CMP_INT && !c->swap && !c->signmix)
        return memcmp(pa, pb, (size_t)(n * c->itemsize)) == 0;
    /* Integers sharing a short stride compare as whole vectors too: the
     * mask drops the gap bytes, so every cache line is read once. */
    bool dense = sa == c->itemsize && sb == c->itemsize;
    bool masked = c->mode == CMP_INT && sa == sb && sa > c->itemsize && 16 % sa == 0;
    if (n > 1 && (dense || masked)) {
        if (c->mode == CMP_INT && c->period != sa)
            int_patterns(c, sa);
        ptrdiff_t done = vector_prefix(c, pa, pb, (n - 1) * sa + c->itemsize);
        if (done < 0)
            return 0;
        pa += done;
        pb += done;
        n -= done / sa;
    }
    return run(c, pa, sa, pb, sb, n);
}

static int cmp_row(cmp_ctx *c, const char *pa, ptrdiff_t sa, ptrdiff_t suba, const char *pb,
                   ptrdiff_t sb, ptrdiff_t subb, ptrdiff_t n)
{
    switch (c->mode) {
    case CMP_INT:
    case CMP_REAL:
        return cmp_typed(c, pa, sa, suba, pb, sb, subb, n);
    case CMP_RAW:
        if (sa == c->itemsize && sb == c->itemsize && suba < 0 && subb < 0)
            return memcmp(pa, pb, (size_t)(n * c->itemsize)) == 0;
        for (ptrdiff_t i = 0; i < n; i++)
            if (memcmp(mv_layout_item(pa, i, sa, suba), mv_layout_item(pb, i, sb, subb),
                       (size_t)c->itemsize))
                return 0;
        return 1;
    case CMP_VALUES:
        for (ptrdiff_t i = 0; i < n; i++) {
            int rc = mv_reader_read(&c->ra, mv_layout_item(pa, i, sa, suba), c->err);
            if (rc < 0)
                return rc;
            rc = mv_reader_read(&c->rb, mv_layout_item(pb, i, sb, subb), c->err);
            if (rc < 0)
                return rc;
            for (ptrdiff_t k = 0; k < c->ra.nvalues; k++)
                if (!mv_value_equal(&c->ra.values[k], &c->rb.values[k]))
                    return 0;
        }
        return 1;
    }
    return 0;
}

/* Integer and byte fields whose bytes determine their value one to one. */
static bool field_is_raw(const mv_field *f)
{
    return mv_code_is_signed(f->code) || mv_code_is_unsigned(f->code) || f->code == 'c' ||
           f->code == 's';
}

static ptrdiff_t field_span(const mv_field *f)
{
    if (f->code == 's' || f->code == 'p')
        return f->size;
    return f->count * f->size;
}

static bool fields_same_raw(const mv_field *a, const mv_field *b)
{
    if (!field_is_raw(a) || !field_is_raw(b))
        return false;
    if (a->offset != b->offset || a->count != b->count || a->size != b->size)
        return false;
    if (a->code == 'c' || a->code == 's' || b->code == 'c' || b->code == 's')
        return a->code == b->code;
    if (mv_code_is_signed(a->code) != mv_code_is_signed(b->code))
        return false;
    return a->size == 1 || mv_order_little(a->byteorder) == mv_order_little(b->byteorder);
}

/* Two formats whose items are equal exactly when their bytes are. */
static bool formats_raw_equal(const mv_format *a, const mv_format *b)
{
    if (a->itemsize != b->itemsize || a->nfields != b->nfields || a->nvalues != b->nvalues)
        return false;
    ptrdiff_t covered = 0;
    for (int i = 0; i < a->nfields; i++) {
        if (!fields_same_raw(&a->fields[i], &b->fields[i]))
            return false;
        covered += field_span(&a->fields[i]);
    }
    /* Padding bytes carry no value, so any gap rules the shortcut out. */
    return covered == a->itemsize;
}

/* The one field of a format holding a single value at offset 0, or NULL. */
static const mv_field *single_field(const mv_format *f)
{
    if (f->nfields != 1 || f->nvalues != 1)
        return NULL;
    const mv_field *x = &f->fields[0];
    return x->count == 1 && x->offset == 0 ? x : NULL;
}

/* pshufb indices that reverse each `size`-byte item of 16 bytes (swap), or
 * leave them as they are. */
static void swap_pattern(unsigned char out[16], ptrdiff_t size, bool swap)
{
    for (int j = 0; j < 16; j++)
        out[j] = (unsigned char)(swap ? j / size * size + size - 1 - j % size : j);
}

static bool is_int_code(char code)
{
    return mv_code_is_signed(code) || mv_code_is_unsigned(code);
}

/* Choose CMP_INT or CMP_REAL when the formats allow it (false: they don't). */
static bool plan_typed(cmp_ctx *c, const mv_format *fa, const mv_format *fb)
{
    if (formats_raw_equal(fa, fb)) {
        if (!size_ok(fa->itemsize))
            return false;
        c->mode = CMP_INT;
        c->itemsize = fa->itemsize;
        int_patterns(c, c->itemsize);
        return true;
    }
    const mv_field *x = single_field(fa), *y = single_field(fb);
    if (!x || !y || x->size != y->size)
        return false;
    ptrdiff_t size = x->size;
    if (is_int_code(x->code) && is_int_code(y->code) && size_ok(size)) {
        c->mode = CMP_INT;
        c->itemsize = size;
        c->swap = size > 1 && mv_order_little(x->byteorder) != mv_order_little(y->byteorder);
        c->signmix = mv_code_is_signed(x->code) != mv_code_is_signed(y->code);
        /* The sign bit is bit 7 of a's most significant byte. */
        c->top = mv_order_little(x->byteorder) ? size - 1 : 0;
        int_patterns(c, size);
        return true;
    }
    if (x->code == y->code && ((x->code == 'd' && size == 8) || (x->code == 'f' && size == 4))) {
        c->mode = CMP_REAL;
        c->itemsize = size;
        c->swap_a = mv_order_little(x->byteorder) != mv_host_little();
        c->swap_b = mv_order_little(y->byteorder) != mv_host_little();
        swap_pattern(c->shuf_r, size, true);
        return true;
    }
    return false;
}

/* cmp_row as a walk's row: 0 while the items are equal, 1 at the first
 * difference, or an error code. */
static int cmp_step(void *ctx, const char *pa, ptrdiff_t sa, ptrdiff_t suba, const char *pb,
                    ptrdiff_t sb, ptrdiff_t subb, ptrdiff_t n)
{
    int rc = cmp_row(ctx, pa, sa, suba, pb, sb, subb, n);
    return rc < 0 ? rc : !rc;
}

/* CPython's equiv_shape: extents equal up to and including the first 0. */
static bool shapes_equivalent(const mv_layout *a, const mv_layout *b)
{
    if (a->ndim != b->ndim)
        return false;
    for (int i = 0; i < a->ndim; i++) {
        if (a->shape[i] != b->shape[i])
            return false;
        if (a->shape[i] == 0)
            break;
    }
    return true;
}

/* The comparison proper, on parsed formats (both non-NULL). */
static int layouts_equal(const mv_layout *a, const mv_format *fa, const mv_layout *b,
                         const mv_format *fb, mv_error *err)
{
    if (!shapes_equivalent(a, b))
        return 0;
    if (mv_layout_has_zero(a))
        return 1;
    /* The walkers read fmt->itemsize bytes per item; a descriptor claiming
     * smaller items would make them read past the memory. */
    if (a->itemsize != fa->itemsize)
        return mv_error_format_size(err, a->format, fa->itemsize, a->itemsize);
    if (b->itemsize != fb->itemsize)
        return mv_error_format_size(err, b->format, fb->itemsize, b->itemsize);
    if (fa->nvalues != fb->nvalues)
        return 0; /* tuples of different lengths never compare equal */

    cmp_ctx c;
    memset(&c, 0, sizeof c);
    c.err = err;
    if (plan_typed(&c, fa, fb)) {
        c.isa = mv_isa();
    } else if (formats_raw_equal(fa, fb)) {
        c.mode = CMP_RAW;
        c.itemsize = fa->itemsize;
    } else {
        c.mode = CMP_VALUES;
        int rc = mv_reader_init(&c.ra, fa, err);
        if (rc < 0)
            return rc;
        rc = mv_reader_init(&c.rb, fb, err);
        if (rc < 0) {
            mv_reader_clear(&c.ra);
            return rc;
        }
    }

    /* Two C-contiguous layouts are one row, whatever their shape. */
    int rc = mv_walk_rows(a, b, cmp_step, &c);
    mv_reader_clear(&c.ra);
    mv_reader_clear(&c.rb);
    return rc < 0 ? rc : !rc;
}

/* Parse a format for comparison: 1 parsed, 0 does not parse (the views are
 * then unequal, as in CPython), negative on allocation failure. */
static int parse_for_compare(mv_format *fmt, const char *text, mv_error *err)
{
    mv_error local;
    mv_error_clear(&local);
    int rc = mv_format_parse(fmt, text ? text : "B", &local);
    if (rc == 0)
        return 1;
    if (rc == MV_ENOMEM)
        return mv_error_pass(err, &local);
    return 0;
}

int mv_buffer_equal(const mv_buffer *a, const mv_buffer *b, mv_error *err)
{
    if (!a || !b)
        return mv_error_set(err, MV_EVALUE, "mv_buffer_equal: NULL buffer");
    /* The format is left out of validation: one that does not parse makes
     * the buffers unequal rather than failing the comparison. */
    mv_buffer shape_a = *a, shape_b = *b;
    shape_a.format = NULL;
    shape_b.format = NULL;
    int rc = mv_buffer_validate(&shape_a, err);
    if (rc < 0)
        return rc;
    rc = mv_buffer_validate(&shape_b, err);
    if (rc < 0)
        return rc;
    mv_layout la, lb;
    rc = mv_layout_init(&la, a, err);
    if (rc == 0)
        rc = mv_layout_init(&lb, b, err);
    if (rc < 0)
        return rc;
    if (!shapes_equivalent(&la, &lb))
        return 0;

    mv_format fa, fb;
    rc = parse_for_compare(&fa, a->format, err);
    if (rc <= 0)
        return rc;
    rc = parse_for_compare(&fb, b->format, err);
    if (rc <= 0) {
        mv_format_clear(&fa);
        return rc;
    }
    rc = layouts_equal(&la, &fa, &lb, &fb, err);
    mv_format_clear(&fa);
    mv_format_clear(&fb);
    return rc;
}

int mv_view_equal(const mv_view *a, const mv_view *b, mv_error *err)
{
    if (!a || !b)
        return mv_error_set(err, MV_EVALUE, "mv_view_equal: NULL view");
    if (mv_view_is_released(a) || mv_view_is_released(b))
        return a == b;

    mv_layout la, lb;
    int rc = mv_view_layout(&la, a, err);
    if (rc == 0)
        rc = mv_view_layout(&lb, b, err);
    if (rc < 0)
        return rc;
    if (!shapes_equivalent(&la, &lb))
        return 0;

    /* A view keeps its parsed format; NULL means it does not parse (unequal)
     * unless the failure was memory. */
    mv_error local;
    mv_error_clear(&local);
    const mv_format *fa = mv_view_format(a, &local);
    if (!fa)
        return local.code == MV_ENOMEM ? mv_error_pass(err, &local) : 0;
    const mv_format *fb = mv_view_format(b, &local);
    if (!fb)
        return local.code == MV_ENOMEM ? mv_error_pass(err, &local) : 0;
    return layouts_equal(&la, fa, &lb, fb, err);
}
