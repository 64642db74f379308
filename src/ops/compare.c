/* Format-aware equality (CPython's memory_richcompare), hashing, and the
 * count / index lookups that are built on value equality.
 *
 * Equality never compares whole memory blindly: padding, '?' items and
 * floats (NaN != NaN, -0.0 == 0.0) make equal values differ in their bytes.
 * Items are therefore compared by value, with shortcuts chosen once per
 * comparison: identical integer / byte layouts compare raw bytes (memcmp on
 * contiguous runs, masked vectors when both share a stride dividing 16,
 * typed loops on other strided ones); integers of one size in either byte
 * order or signedness compare as bits after a byte swap (pshufb on those
 * runs too); 'd' / 'f' in any byte order compare as C floats
 * (ordered-equal vector compares on contiguous runs); single-value numeric
 * formats load their value directly.  Everything else goes through
 * mv_format_unpack, item by item.  The vector kernels are picked at run
 * time by mv_isa(). */
#include "ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ *
 * Small helpers
 * ------------------------------------------------------------------------ */

static bool host_is_little(void)
{
    const uint16_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    return first == 1;
}

/* ------------------------------------------------------------------------ *
 * Value equality
 * ------------------------------------------------------------------------ */

typedef struct wide_int {
    bool neg;
    uint64_t mag;
} wide_int;

static bool value_as_int(const mv_value *v, wide_int *w)
{
    switch (v->kind) {
    case MV_VALUE_BOOL:
        w->neg = false;
        w->mag = v->v.b ? 1 : 0;
        return true;
    case MV_VALUE_SIGNED:
        w->neg = v->v.i < 0;
        w->mag = w->neg ? (uint64_t)0 - (uint64_t)v->v.i : (uint64_t)v->v.i;
        return true;
    case MV_VALUE_UNSIGNED:
        w->neg = false;
        w->mag = v->v.u;
        return true;
    default:
        return false;
    }
}

/* Exact comparison of an integer with a double: no rounding of the integer
 * (2**63 + 1 != 2.0**63 although (double)(2**63 + 1) == 2.0**63). */
static int int_equals_double(wide_int w, double d)
{
    if (!isfinite(d) || d != floor(d))
        return 0;
    if (d == 0)
        return w.mag == 0;
    if ((d < 0) != w.neg)
        return 0;
    double a = fabs(d);
    if (a >= 18446744073709551616.0)
        return 0;
    return (uint64_t)a == w.mag;
}

/* A real number compared with `re` (the real part of something else). */
static int real_equals_double(const mv_value *v, double re)
{
    wide_int w;
    if (v->kind == MV_VALUE_DOUBLE)
        return v->v.d == re;
    if (value_as_int(v, &w))
        return int_equals_double(w, re);
    return 0;
}

static bool is_number(mv_value_kind k)
{
    return k == MV_VALUE_BOOL || k == MV_VALUE_SIGNED || k == MV_VALUE_UNSIGNED ||
           k == MV_VALUE_DOUBLE || k == MV_VALUE_COMPLEX;
}

int mv_value_equal(const mv_value *a, const mv_value *b)
{
    if (!a || !b)
        return 0;
    if (a->kind == MV_VALUE_NONE || b->kind == MV_VALUE_NONE)
        return a->kind == b->kind;
    if (a->kind == MV_VALUE_BYTES || b->kind == MV_VALUE_BYTES) {
        if (a->kind != b->kind || a->v.bytes.len != b->v.bytes.len)
            return 0;
        return a->v.bytes.len == 0 || memcmp(a->v.bytes.ptr, b->v.bytes.ptr, a->v.bytes.len) == 0;
    }
    if (a->kind == MV_VALUE_CHAR || b->kind == MV_VALUE_CHAR)
        return a->kind == b->kind && a->v.u == b->v.u;
    if (!is_number(a->kind) || !is_number(b->kind))
        return 0;
    if (a->kind == MV_VALUE_COMPLEX && b->kind == MV_VALUE_COMPLEX)
        return a->v.c.re == b->v.c.re && a->v.c.im == b->v.c.im;
    if (a->kind == MV_VALUE_COMPLEX)
        return a->v.c.im == 0 && real_equals_double(b, a->v.c.re);
    if (b->kind == MV_VALUE_COMPLEX)
        return b->v.c.im == 0 && real_equals_double(a, b->v.c.re);
    if (a->kind == MV_VALUE_DOUBLE && b->kind == MV_VALUE_DOUBLE)
        return a->v.d == b->v.d;
    if (a->kind == MV_VALUE_DOUBLE)
        return real_equals_double(b, a->v.d);
    if (b->kind == MV_VALUE_DOUBLE)
        return real_equals_double(a, b->v.d);
    wide_int wa, wb;
    value_as_int(a, &wa);
    value_as_int(b, &wb);
    if (wa.mag == 0 && wb.mag == 0)
        return 1;
    return wa.neg == wb.neg && wa.mag == wb.mag;
}

/* ------------------------------------------------------------------------ *
 * Item readers: the values of one item, loaded directly for single numeric
 * fields and through mv_format_unpack for everything else.
 * ------------------------------------------------------------------------ */

enum { SMALL_VALUES = 8 };

typedef struct item_reader {
    const mv_format *fmt;
    bool direct; /* one numeric field with count 1: load_scalar */
    char code;
    bool little; /* byte order of the direct field */
    ptrdiff_t size;
    ptrdiff_t offset;
    ptrdiff_t nvalues;
    mv_value *values;
    mv_value small[SMALL_VALUES];
} item_reader;

static bool is_signed_code(char c)
{
    return c == 'b' || c == 'h' || c == 'i' || c == 'l' || c == 'q' || c == 'n';
}

static bool is_unsigned_code(char c)
{
    return c == 'B' || c == 'H' || c == 'I' || c == 'L' || c == 'Q' || c == 'N' || c == 'P';
}

static bool field_is_little(const mv_field *f)
{
    if (f->byteorder == '<')
        return true;
    if (f->byteorder == '>' || f->byteorder == '!')
        return false;
    return host_is_little();
}

static bool size_ok(ptrdiff_t s)
{
    return s == 1 || s == 2 || s == 4 || s == 8;
}

/* Whether load_scalar understands the field. */
static bool field_is_direct(const mv_field *f)
{
    if (f->count != 1)
        return false;
    if (is_signed_code(f->code) || is_unsigned_code(f->code))
        return size_ok(f->size);
    switch (f->code) {
    case '?':
        return f->size >= 1 && f->size <= 8;
    case 'e':
        return f->size == 2;
    case 'f':
        return f->size == 4;
    case 'd':
        return f->size == 8;
    case 'F':
        return f->size == 8;
    case 'D':
        return f->size == 16;
    default:
        return false;
    }
}

static uint64_t load_uint(const unsigned char *p, ptrdiff_t size, bool little)
{
    uint64_t v = 0;
    if (little) {
        for (ptrdiff_t i = size - 1; i >= 0; i--)
            v = (v << 8) | p[i];
    } else {
        for (ptrdiff_t i = 0; i < size; i++)
            v = (v << 8) | p[i];
    }
    return v;
}

static double half_to_double(uint16_t h)
{
    int sign = h >> 15;
    int exp = (h >> 10) & 0x1f;
    int frac = h & 0x3ff;
    double v;
    if (exp == 0)
        v = ldexp((double)frac, -24);
    else if (exp == 31)
        v = frac ? NAN : INFINITY;
    else
        v = ldexp((double)(frac | 0x400), exp - 25);
    return sign ? -v : v;
}

static double load_real(const unsigned char *p, ptrdiff_t size, bool little)
{
    uint64_t bits = load_uint(p, size, little);
    if (size == 2)
        return half_to_double((uint16_t)bits);
    if (size == 4) {
        uint32_t b32 = (uint32_t)bits;
        float f;
        memcpy(&f, &b32, sizeof f);
        return f;
    }
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static void load_scalar(const item_reader *r, const char *item, mv_value *out)
{
    const unsigned char *p = (const unsigned char *)item + r->offset;
    char c = r->code;
    if (is_signed_code(c)) {
        uint64_t u = load_uint(p, r->size, r->little);
        unsigned bits = (unsigned)r->size * 8;
        if (bits < 64 && (u >> (bits - 1)) & 1)
            u |= ~(uint64_t)0 << bits;
        out->kind = MV_VALUE_SIGNED;
        memcpy(&out->v.i, &u, sizeof u);
    } else if (is_unsigned_code(c)) {
        out->kind = MV_VALUE_UNSIGNED;
        out->v.u = load_uint(p, r->size, r->little);
    } else if (c == '?') {
        bool any = false;
        for (ptrdiff_t i = 0; i < r->size; i++)
            any |= p[i] != 0;
        out->kind = MV_VALUE_BOOL;
        out->v.b = any;
    } else if (c == 'F' || c == 'D') {
        ptrdiff_t half = r->size / 2;
        out->kind = MV_VALUE_COMPLEX;
        out->v.c.re = load_real(p, half, r->little);
        out->v.c.im = load_real(p + half, half, r->little);
    } else {
        out->kind = MV_VALUE_DOUBLE;
        out->v.d = load_real(p, r->size, r->little);
    }
}

static int reader_init(item_reader *r, const mv_format *fmt, mv_error *err)
{
    memset(r, 0, sizeof *r);
    r->fmt = fmt;
    r->nvalues = fmt->nvalues;
    if (fmt->nfields == 1 && fmt->nvalues == 1 && field_is_direct(&fmt->fields[0])) {
        const mv_field *f = &fmt->fields[0];
        r->direct = true;
        r->code = f->code;
        r->size = f->size;
        r->offset = f->offset;
        r->little = field_is_little(f);
    }
    if (r->nvalues <= SMALL_VALUES) {
        r->values = r->small;
        return 0;
    }
    if ((size_t)r->nvalues > SIZE_MAX / sizeof(mv_value))
        return mv_error_set(err, MV_ENOMEM, "out of memory");
    r->values = malloc((size_t)r->nvalues * sizeof(mv_value));
    if (!r->values)
        return mv_error_set(err, MV_ENOMEM, "out of memory");
    return 0;
}

static void reader_clear(item_reader *r)
{
    if (r->values && r->values != r->small)
        free(r->values);
    r->values = NULL;
}

static int reader_read(item_reader *r, const char *item, mv_error *err)
{
    if (r->direct) {
        load_scalar(r, item, &r->values[0]);
        return 0;
    }
    return mv_format_unpack(r->fmt, item, r->values, r->nvalues, err);
}

/* ------------------------------------------------------------------------ *
 * Buffer equality
 * ------------------------------------------------------------------------ */

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
    item_reader ra, rb;
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
            int rc = reader_read(&c->ra, mv_layout_item(pa, i, sa, suba), c->err);
            if (rc < 0)
                return rc;
            rc = reader_read(&c->rb, mv_layout_item(pb, i, sb, subb), c->err);
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
    return is_signed_code(f->code) || is_unsigned_code(f->code) || f->code == 'c' || f->code == 's';
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
    if (is_signed_code(a->code) != is_signed_code(b->code))
        return false;
    return a->size == 1 || field_is_little(a) == field_is_little(b);
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
    return is_signed_code(code) || is_unsigned_code(code);
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
        c->swap = size > 1 && field_is_little(x) != field_is_little(y);
        c->signmix = is_signed_code(x->code) != is_signed_code(y->code);
        /* The sign bit is bit 7 of a's most significant byte. */
        c->top = field_is_little(x) ? size - 1 : 0;
        int_patterns(c, size);
        return true;
    }
    if (x->code == y->code && ((x->code == 'd' && size == 8) || (x->code == 'f' && size == 4))) {
        c->mode = CMP_REAL;
        c->itemsize = size;
        c->swap_a = field_is_little(x) != host_is_little();
        c->swap_b = field_is_little(y) != host_is_little();
        swap_pattern(c->shuf_r, size, true);
        return true;
    }
    return false;
}

static int cmp_rec(cmp_ctx *c, const mv_layout *a, const mv_layout *b, int dim, const char *pa,
                   const char *pb)
{
    ptrdiff_t n = a->shape[dim];
    if (dim == a->ndim - 1)
        return cmp_row(c, pa, a->strides[dim], mv_layout_sub(a, dim), pb, b->strides[dim],
                       mv_layout_sub(b, dim), n);
    for (ptrdiff_t i = 0; i < n; i++) {
        int rc =
            cmp_rec(c, a, b, dim + 1, mv_layout_item(pa, i, a->strides[dim], mv_layout_sub(a, dim)),
                    mv_layout_item(pb, i, b->strides[dim], mv_layout_sub(b, dim)));
        if (rc != 1)
            return rc;
    }
    return 1;
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
        return mv_error_format_size(err, a->buffer->format, fa->itemsize, a->itemsize);
    if (b->itemsize != fb->itemsize)
        return mv_error_format_size(err, b->buffer->format, fb->itemsize, b->itemsize);
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
        int rc = reader_init(&c.ra, fa, err);
        if (rc < 0)
            return rc;
        rc = reader_init(&c.rb, fb, err);
        if (rc < 0) {
            reader_clear(&c.ra);
            return rc;
        }
    }

    int rc;
    if (a->ndim == 0) {
        rc = cmp_row(&c, a->buf, 0, -1, b->buf, 0, -1, 1);
    } else if (mv_buffer_is_contiguous(a->buffer, 'C') && mv_buffer_is_contiguous(b->buffer, 'C')) {
        /* Both C-contiguous: one flat run, whatever the shape (validated:
         * the item count fits, zero-size items included). */
        ptrdiff_t total = 1;
        for (int i = 0; i < a->ndim; i++)
            total *= a->shape[i];
        rc = cmp_row(&c, a->buf, a->itemsize, -1, b->buf, b->itemsize, -1, total);
    } else {
        rc = cmp_rec(&c, a, b, 0, a->buf, b->buf);
    }
    reader_clear(&c.ra);
    reader_clear(&c.rb);
    return rc;
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
    int rc = mv_layout_from_view(&la, a, err);
    if (rc == 0)
        rc = mv_layout_from_view(&lb, b, err);
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

/* ------------------------------------------------------------------------ *
 * Hashing: SipHash-1-3 with a fixed key, usable incrementally so strided
 * views hash without a copy.
 * ------------------------------------------------------------------------ */

typedef struct sip_state {
    uint64_t v0, v1, v2, v3;
    uint64_t tail;
    unsigned ntail;
    uint64_t total;
} sip_state;

#define SIP_K0 UINT64_C(0x6d656d766965772d) /* "memview-" */
#define SIP_K1 UINT64_C(0x686173682d6b6579) /* "hash-key" */

static inline uint64_t rotl64(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static inline void sip_round(sip_state *s)
{
    s->v0 += s->v1;
    s->v1 = rotl64(s->v1, 13);
    s->v1 ^= s->v0;
    s->v0 = rotl64(s->v0, 32);
    s->v2 += s->v3;
    s->v3 = rotl64(s->v3, 16);
    s->v3 ^= s->v2;
    s->v0 += s->v3;
    s->v3 = rotl64(s->v3, 21);
    s->v3 ^= s->v0;
    s->v2 += s->v1;
    s->v1 = rotl64(s->v1, 17);
    s->v1 ^= s->v2;
    s->v2 = rotl64(s->v2, 32);
}

static void sip_init(sip_state *s)
{
    s->v0 = SIP_K0 ^ UINT64_C(0x736f6d6570736575);
    s->v1 = SIP_K1 ^ UINT64_C(0x646f72616e646f6d);
    s->v2 = SIP_K0 ^ UINT64_C(0x6c7967656e657261);
    s->v3 = SIP_K1 ^ UINT64_C(0x7465646279746573);
    s->tail = 0;
    s->ntail = 0;
    s->total = 0;
}

static inline void sip_word(sip_state *s, uint64_t m)
{
    s->v3 ^= m;
    sip_round(s);
    s->v0 ^= m;
}

static void sip_update(sip_state *s, const void *data, size_t len)
{
    const unsigned char *p = data;
    s->total += len;
    while (len > 0 && s->ntail > 0) {
        s->tail |= (uint64_t)*p++ << (8 * s->ntail);
        len--;
        if (++s->ntail == 8) {
            sip_word(s, s->tail);
            s->tail = 0;
            s->ntail = 0;
        }
    }
    while (len >= 8) {
        sip_word(s, load_uint(p, 8, true));
        p += 8;
        len -= 8;
    }
    while (len > 0) {
        s->tail |= (uint64_t)*p++ << (8 * s->ntail);
        s->ntail++;
        len--;
    }
}

static uint64_t sip_final(sip_state *s)
{
    uint64_t b = (s->total << 56) | s->tail;
    sip_word(s, b);
    s->v2 ^= 0xff;
    sip_round(s);
    sip_round(s);
    sip_round(s);
    return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

uint64_t mv_hash_bytes(const void *data, size_t len)
{
    sip_state s;
    sip_init(&s);
    if (data)
        sip_update(&s, data, len);
    return sip_final(&s);
}

static void hash_u64(sip_state *s, unsigned char tag, uint64_t x)
{
    unsigned char rec[9];
    rec[0] = tag;
    for (int i = 0; i < 8; i++)
        rec[1 + i] = (unsigned char)(x >> (8 * i));
    sip_update(s, rec, sizeof rec);
}

static uint64_t double_bits(double d)
{
    uint64_t u;
    if (isnan(d))
        d = NAN;
    if (d == 0)
        d = 0.0; /* -0.0 == 0.0 */
    memcpy(&u, &d, sizeof u);
    return u;
}

enum { TAG_NONE = 0, TAG_INT = 1, TAG_BIG = 2, TAG_REAL = 3, TAG_COMPLEX = 4, TAG_BYTES = 5,
       TAG_CHAR = 6 };

/* Numbers that compare equal hash alike: an integral double hashes as the
 * integer it equals, a complex with zero imaginary part as its real part. */
static void hash_real(sip_state *s, double d)
{
    if (isfinite(d) && d == floor(d)) {
        if (d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
            int64_t i = (int64_t)d;
            hash_u64(s, TAG_INT, (uint64_t)i);
            return;
        }
        if (d > 0 && d < 18446744073709551616.0) {
            hash_u64(s, TAG_BIG, (uint64_t)d);
            return;
        }
    }
    hash_u64(s, TAG_REAL, double_bits(d));
}

static void hash_value(sip_state *s, const mv_value *v)
{
    switch (v->kind) {
    case MV_VALUE_BOOL:
        hash_u64(s, TAG_INT, v->v.b ? 1 : 0);
        break;
    case MV_VALUE_SIGNED:
        hash_u64(s, TAG_INT, (uint64_t)v->v.i);
        break;
    case MV_VALUE_UNSIGNED:
        hash_u64(s, v->v.u > (uint64_t)INT64_MAX ? TAG_BIG : TAG_INT, v->v.u);
        break;
    case MV_VALUE_DOUBLE:
        hash_real(s, v->v.d);
        break;
    case MV_VALUE_COMPLEX:
        if (v->v.c.im == 0) {
            hash_real(s, v->v.c.re);
        } else {
            hash_u64(s, TAG_COMPLEX, double_bits(v->v.c.re));
            hash_u64(s, TAG_COMPLEX, double_bits(v->v.c.im));
        }
        break;
    case MV_VALUE_CHAR:
        hash_u64(s, TAG_CHAR, v->v.u);
        break;
    case MV_VALUE_BYTES:
        hash_u64(s, TAG_BYTES, (uint64_t)v->v.bytes.len);
        if (v->v.bytes.len)
            sip_update(s, v->v.bytes.ptr, v->v.bytes.len);
        break;
    default:
        hash_u64(s, TAG_NONE, 0);
        break;
    }
}

/* The byte a byte view holding a value equal to v has (v mod 256), or -1
 * when no 'B', 'b' or 'c' item can equal v.  So a view whose values all
 * map to bytes hashes as those bytes, as an equal byte view does. */
static int byte_of_value(const mv_value *v)
{
    double d;
    switch (v->kind) {
    case MV_VALUE_BOOL:
        return v->v.b ? 1 : 0;
    case MV_VALUE_SIGNED:
        return v->v.i >= -128 && v->v.i <= 255 ? (int)((uint64_t)v->v.i & 0xff) : -1;
    case MV_VALUE_UNSIGNED:
        return v->v.u <= 255 ? (int)v->v.u : -1;
    case MV_VALUE_DOUBLE:
        d = v->v.d;
        break;
    case MV_VALUE_COMPLEX:
        if (v->v.c.im != 0)
            return -1;
        d = v->v.c.re;
        break;
    case MV_VALUE_BYTES:
        return v->v.bytes.len == 1 ? (unsigned char)v->v.bytes.ptr[0] : -1;
    default:
        return -1;
    }
    if (!(d >= -128 && d <= 255) || d != floor(d))
        return -1;
    return (int)((unsigned)(int)d & 0xffu);
}

/* One walk over a view's items in C order, three ways: RAW feeds the bytes
 * of each item (byte formats), BYTES each value as byte_of_value (stopping
 * with 1 at the first that has none), VALUES each value's hash_value. */
enum { WALK_RAW, WALK_BYTES, WALK_VALUES };

typedef struct hash_ctx {
    sip_state s;
    int mode;
    unsigned char *out; /* BYTES: where the bytes go, or NULL to hash them */
    ptrdiff_t itemsize;
    item_reader r;
    mv_error *err;
} hash_ctx;

static int hash_row(hash_ctx *h, const char *p, ptrdiff_t stride, ptrdiff_t sub, ptrdiff_t n)
{
    if (h->mode == WALK_RAW) {
        if (stride == h->itemsize && sub < 0) {
            sip_update(&h->s, p, (size_t)(n * h->itemsize));
            return 0;
        }
        for (ptrdiff_t i = 0; i < n; i++)
            sip_update(&h->s, mv_layout_item(p, i, stride, sub), (size_t)h->itemsize);
        return 0;
    }
    for (ptrdiff_t i = 0; i < n; i++) {
        int rc = reader_read(&h->r, mv_layout_item(p, i, stride, sub), h->err);
        if (rc < 0)
            return rc;
        if (h->mode == WALK_VALUES) {
            for (ptrdiff_t k = 0; k < h->r.nvalues; k++)
                hash_value(&h->s, &h->r.values[k]);
            continue;
        }
        /* An item of several values is a tuple: no byte equals it. */
        int byte = h->r.nvalues == 1 ? byte_of_value(&h->r.values[0]) : -1;
        if (byte < 0)
            return 1;
        unsigned char c = (unsigned char)byte;
        if (h->out)
            *h->out++ = c;
        else
            sip_update(&h->s, &c, 1);
    }
    return 0;
}

static int hash_rec(hash_ctx *h, const mv_layout *l, int dim, const char *p)
{
    if (dim == l->ndim - 1)
        return hash_row(h, p, l->strides[dim], mv_layout_sub(l, dim), l->shape[dim]);
    for (ptrdiff_t i = 0; i < l->shape[dim]; i++) {
        int rc =
            hash_rec(h, l, dim + 1, mv_layout_item(p, i, l->strides[dim], mv_layout_sub(l, dim)));
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int hash_walk(hash_ctx *h, const mv_layout *l, int mode, unsigned char *out)
{
    sip_init(&h->s);
    h->mode = mode;
    h->out = out;
    if (l->ndim == 0)
        return hash_row(h, l->buf, 0, -1, 1);
    return mv_layout_has_zero(l) ? 0 : hash_rec(h, l, 0, l->buf);
}

/* Shared set-up of mv_view_hash and mv_view_byte_values: the layout, and
 * the reader unless the format is a byte format (*raw). */
static int hash_setup(hash_ctx *h, mv_layout *l, const mv_view *view, bool *raw, mv_error *err)
{
    memset(h, 0, sizeof *h);
    h->err = err;
    int rc = mv_layout_from_view(l, view, err);
    if (rc < 0)
        return rc;
    h->itemsize = l->itemsize;
    *raw = mv_format_is_byte(l->buffer->format) && l->itemsize == 1;
    if (*raw)
        return 0;
    mv_error local;
    mv_error_clear(&local);
    const mv_format *f = mv_view_format(view, &local);
    if (!f)
        return mv_error_pass(err, &local);
    if (l->itemsize != f->itemsize)
        return mv_error_format_size(err, l->buffer->format, f->itemsize, l->itemsize);
    return reader_init(&h->r, f, err);
}

int mv_view_byte_values(const mv_view *view, void *dst, size_t dstlen, mv_error *err)
{
    if (!view || (!dst && dstlen))
        return mv_error_set(err, MV_EVALUE, "mv_view_byte_values: NULL argument");
    hash_ctx h;
    mv_layout l;
    bool raw;
    int rc = hash_setup(&h, &l, view, &raw, err);
    if (rc < 0)
        return rc;
    ptrdiff_t n = 1;
    for (int i = 0; i < l.ndim; i++)
        n *= l.shape[i]; /* the item count fits: the layout was validated */
    if (dstlen < (size_t)n)
        rc = mv_error_set(err, MV_EVALUE, "mv_view_byte_values: %td bytes needed, %zu given", n,
                          dstlen);
    else if (raw)
        rc = mv_view_tobytes_into(view, dst, n, 'C', err);
    else
        rc = hash_walk(&h, &l, WALK_BYTES, dst);
    if (rc >= 0)
        rc = raw || rc == 0; /* 1: every value was a byte */
    reader_clear(&h.r);
    return rc;
}

int mv_view_hash(const mv_view *view, uint64_t *hash, mv_error *err)
{
    if (!view || !hash)
        return mv_error_set(err, MV_EVALUE, "mv_view_hash: NULL argument");
    /* Writability first, as CPython, and before anything is allocated. */
    mv_error mine;
    mv_error *e = err ? err : &mine;
    const mv_buffer *b = mv_view_buffer(view, e);
    if (!b)
        return e->code;
    if (!b->readonly)
        return mv_error_set(err, MV_EVALUE, "cannot hash writable memoryview object");
    hash_ctx h;
    mv_layout l;
    bool raw;
    int rc = hash_setup(&h, &l, view, &raw, err);
    if (rc == 0) {
        /* Values that all map to bytes hash as those bytes (what an equal
         * byte view hashes); the first value that does not restarts the
         * walk over the values themselves. */
        rc = hash_walk(&h, &l, raw ? WALK_RAW : WALK_BYTES, NULL);
        if (rc == 1)
            rc = hash_walk(&h, &l, WALK_VALUES, NULL);
    }
    reader_clear(&h.r);
    if (rc < 0)
        return rc;
    *hash = sip_final(&h.s);
    return 0;
}

/* ------------------------------------------------------------------------ *
 * count / index
 * ------------------------------------------------------------------------ */

typedef struct lookup {
    mv_layout l;
    item_reader r;
} lookup;

/* count iterates the view (CPython 3.14), so it refuses 0-dim and N-D views
 * as iteration does; index has lookup messages of its own. */
static int lookup_begin(lookup *lk, const mv_view *view, const mv_value *value, bool iterate,
                        mv_error *err)
{
    if (!view || !value)
        return mv_error_set(err, MV_EVALUE, "memoryview lookup: NULL argument");
    int rc = mv_layout_from_view(&lk->l, view, err);
    if (rc < 0)
        return rc;
    if (lk->l.ndim == 0)
        return mv_error_set(err, MV_ETYPE,
                            iterate ? "invalid indexing of 0-dim memory"
                                    : "invalid lookup on 0-dim memory");
    if (lk->l.ndim > 1)
        return mv_error_set(err, MV_ENOTIMPL,
                            iterate ? "multi-dimensional sub-views are not implemented"
                                    : "multi-dimensional lookup is not implemented");
    mv_error local;
    mv_error_clear(&local);
    const mv_format *f = mv_view_format(view, &local);
    if (!f)
        return mv_error_pass(err, &local);
    if (f->itemsize != lk->l.itemsize)
        return mv_error_format_size(err, lk->l.buffer->format, f->itemsize, lk->l.itemsize);
    return reader_init(&lk->r, f, err);
}

/* 1 when the item at p equals value, 0 when not, negative on error.  An item
 * of several values is a tuple, which never equals a single value. */
static int lookup_match(lookup *lk, const char *p, const mv_value *value, mv_error *err)
{
    if (lk->r.nvalues != 1)
        return 0;
    int rc = reader_read(&lk->r, p, err);
    if (rc < 0)
        return rc;
    return mv_value_equal(&lk->r.values[0], value);
}

int mv_view_count(const mv_view *view, const mv_value *value, ptrdiff_t *count, mv_error *err)
{
    if (!count)
        return mv_error_set(err, MV_EVALUE, "memoryview.count: NULL argument");
    lookup lk;
    memset(&lk, 0, sizeof lk);
    int rc = lookup_begin(&lk, view, value, true, err);
    if (rc < 0)
        return rc;
    const mv_layout *l = &lk.l;
    ptrdiff_t stride = l->strides[0], sub = mv_layout_sub(l, 0), found = 0;
    for (ptrdiff_t i = 0; i < l->shape[0]; i++) {
        rc = lookup_match(&lk, mv_layout_item(l->buf, i, stride, sub), value, err);
        if (rc < 0)
            break;
        found += rc;
    }
    reader_clear(&lk.r);
    if (rc < 0)
        return rc;
    *count = found;
    return 0;
}

int mv_view_index(const mv_view *view, const mv_value *value, ptrdiff_t start, ptrdiff_t stop,
                  ptrdiff_t *pos, mv_error *err)
{
    if (!pos)
        return mv_error_set(err, MV_EVALUE, "memoryview.index: NULL argument");
    lookup lk;
    memset(&lk, 0, sizeof lk);
    int rc = lookup_begin(&lk, view, value, false, err);
    if (rc < 0)
        return rc;
    const mv_layout *l = &lk.l;
    ptrdiff_t stride = l->strides[0], sub = mv_layout_sub(l, 0);
    mv_slice_adjust(l->shape[0], &start, &stop, 1);
    rc = 0;
    ptrdiff_t i;
    for (i = start; i < stop; i++) {
        rc = lookup_match(&lk, mv_layout_item(l->buf, i, stride, sub), value, err);
        if (rc != 0)
            break;
    }
    reader_clear(&lk.r);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return mv_error_set(err, MV_EVALUE, "memoryview.index(x): x not found");
    *pos = i;
    return 0;
}
