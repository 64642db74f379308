/*
 * Struct / PEP 3118 item formats: parsing into a flat field list, and
 * unpacking / packing one item.
 *
 * The parser follows the struct module where the two agree and PEP 3118
 * where struct stops (byte order changes mid-format, T{...} records,
 * sub-array shapes, :name: annotations, Zf / Zd).  Records are flattened:
 * each repetition of a record appends copies of its members' fields with
 * shifted offsets, so consumers only ever walk one list.  Numeric fields
 * with a repeat count of 0 are left out of the list (they hold no bytes and
 * no values; their alignment still applies, as in struct); 's' and 'p'
 * fields are always listed because "0s" still unpacks to b''.  The empty
 * format and a lone byte order character ("<", "@") are, as in struct, a
 * zero-size item of no values, like "0B".
 */
#include "core.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

_Static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE 754 binary32/binary64 expected");
_Static_assert(FLT_MANT_DIG == 24 && DBL_MANT_DIG == 53, "IEEE 754 binary32/binary64 expected");

/* Nesting and size limits keep hostile formats from exhausting the stack or
 * memory: record repetition multiplies fields, so "99999999T{i}" would
 * otherwise ask for gigabytes. */
#define FORMAT_MAX_DEPTH  64
#define FORMAT_MAX_FIELDS ((ptrdiff_t)1 << 20)
/* Longest format text quoted whole in a message (the buffer is 256 bytes). */
#define FORMAT_SHOWN 64

/* ------------------------------------------------------------------------ */
/* Parsing                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct parser {
    const char *text; /* whole format, for messages */
    const char *p;    /* cursor */
    mv_error *err;
    mv_field *fields;
    ptrdiff_t nfields;
    ptrdiff_t cap;
} parser;

typedef struct layout {
    ptrdiff_t size;
    ptrdiff_t align;
    ptrdiff_t nvalues;
} layout;

static int parse_fail(parser *ps, const char *why)
{
    size_t n = strlen(ps->text);
    if (n > FORMAT_SHOWN)
        return mv_error_set(ps->err, MV_EVALUE, "invalid format string '%.*s...': %s",
                            FORMAT_SHOWN - 3, ps->text, why);
    return mv_error_set(ps->err, MV_EVALUE, "invalid format string '%s': %s", ps->text, why);
}

static int parse_fail_char(parser *ps, const char *what, char c)
{
    char why[48];
    unsigned char u = (unsigned char)c;
    if (u > 0x20 && u < 0x7f)
        snprintf(why, sizeof why, "%s '%c'", what, c);
    else
        snprintf(why, sizeof why, "%s 0x%02x", what, u);
    return parse_fail(ps, why);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_byteorder(char c)
{
    return c == '@' || c == '=' || c == '<' || c == '>' || c == '!';
}

/* Size and alignment of one element of `code` ('F' / 'D' for Zf / Zd) in
 * byte order `order`.  Returns 0, 1 for an unknown code, 2 for a code that
 * exists only in native mode. */
static int code_layout(char code, char order, ptrdiff_t *size, ptrdiff_t *align)
{
    bool native = order == '@';
    ptrdiff_t s, a;

    switch (code) {
    case 'x':
    case 'c':
    case 'b':
    case 'B':
    case 's':
    case 'p':
        s = a = 1;
        break;
    case '?':
        s = native ? (ptrdiff_t)sizeof(_Bool) : 1;
        a = (ptrdiff_t) _Alignof(_Bool);
        break;
    case 'h':
    case 'H':
        s = native ? (ptrdiff_t)sizeof(short) : 2;
        a = (ptrdiff_t) _Alignof(short);
        break;
    case 'i':
    case 'I':
        s = native ? (ptrdiff_t)sizeof(int) : 4;
        a = (ptrdiff_t) _Alignof(int);
        break;
    case 'l':
    case 'L':
        s = native ? (ptrdiff_t)sizeof(long) : 4;
        a = (ptrdiff_t) _Alignof(long);
        break;
    case 'q':
    case 'Q':
        s = native ? (ptrdiff_t)sizeof(long long) : 8;
        a = (ptrdiff_t) _Alignof(long long);
        break;
    case 'n':
    case 'N':
        if (!native)
            return 2;
        s = (ptrdiff_t)sizeof(size_t);
        a = (ptrdiff_t) _Alignof(size_t);
        break;
    case 'P':
        if (!native)
            return 2;
        s = (ptrdiff_t)sizeof(void *);
        a = (ptrdiff_t) _Alignof(void *);
        break;
    case 'e':
        s = a = 2;
        break;
    case 'w':
        /* A UCS-4 character (Py_UCS4: array('u') on Linux, NumPy 'U'). */
        s = a = 4;
        break;
    case 'f':
        s = 4;
        a = (ptrdiff_t) _Alignof(float);
        break;
    case 'd':
        s = 8;
        a = (ptrdiff_t) _Alignof(double);
        break;
    case 'F':
        s = 8;
        a = (ptrdiff_t) _Alignof(float);
        break;
    case 'D':
        s = 16;
        a = (ptrdiff_t) _Alignof(double);
        break;
    default:
        return 1;
    }
    *size = s;
    *align = native ? a : 1;
    return 0;
}

/* Round off up to a multiple of align (a power of two); false on overflow. */
static bool align_up(ptrdiff_t off, ptrdiff_t align, ptrdiff_t *out)
{
    ptrdiff_t r = off % align;
    if (r == 0) {
        *out = off;
        return true;
    }
    return !mv_add_overflow(off, align - r, out);
}

static int fields_reserve(parser *ps, ptrdiff_t extra)
{
    ptrdiff_t need;
    if (mv_add_overflow(ps->nfields, extra, &need) || need > FORMAT_MAX_FIELDS)
        return parse_fail(ps, "too many fields");
    if (need <= ps->cap)
        return 0;
    ptrdiff_t cap = ps->cap ? ps->cap : 8;
    while (cap < need)
        cap *= 2;
    mv_field *grown = realloc(ps->fields, (size_t)cap * sizeof *grown);
    if (!grown)
        return mv_error_set(ps->err, MV_ENOMEM, "out of memory");
    ps->fields = grown;
    ps->cap = cap;
    return 0;
}

/* A decimal repeat count or a "(d0, d1, ...)" sub-array shape, multiplied
 * out.  *has is false when neither is present. */
static int parse_count(parser *ps, ptrdiff_t *count, bool *has)
{
    *has = false;
    *count = 1;
    if (is_digit(*ps->p)) {
        ptrdiff_t n = 0;
        while (is_digit(*ps->p)) {
            if (mv_mul_overflow(n, 10, &n) || mv_add_overflow(n, *ps->p - '0', &n))
                return parse_fail(ps, "repeat count too large");
            ps->p++;
        }
        *count = n;
        *has = true;
        return 0;
    }
    if (*ps->p != '(')
        return 0;
    ps->p++;
    ptrdiff_t product = 1;
    for (;;) {
        while (is_space(*ps->p))
            ps->p++;
        if (!is_digit(*ps->p))
            return parse_fail(ps, "bad sub-array shape");
        ptrdiff_t n = 0;
        while (is_digit(*ps->p)) {
            if (mv_mul_overflow(n, 10, &n) || mv_add_overflow(n, *ps->p - '0', &n))
                return parse_fail(ps, "repeat count too large");
            ps->p++;
        }
        if (mv_mul_overflow(product, n, &product))
            return parse_fail(ps, "repeat count too large");
        while (is_space(*ps->p))
            ps->p++;
        if (*ps->p == ',') {
            ps->p++;
            continue;
        }
        if (*ps->p == ')') {
            ps->p++;
            break;
        }
        return parse_fail(ps, "bad sub-array shape");
    }
    *count = product;
    *has = true;
    return 0;
}

static int parse_seq(parser *ps, char *order, int depth, bool in_record, layout *out);

/* The body of T{...} (cursor just past '{'), repeated count times, placed at
 * the first offset >= *size aligned to the record's alignment. */
static int parse_record(parser *ps, char order, int depth, ptrdiff_t count, layout *lay)
{
    ptrdiff_t first = ps->nfields;
    char inner = order;
    layout body;
    int rc;

    if (depth >= FORMAT_MAX_DEPTH)
        return parse_fail(ps, "records nested too deeply");
    rc = parse_seq(ps, &inner, depth + 1, true, &body);
    if (rc < 0)
        return rc;

    ptrdiff_t start, stride, extent, end, nvalues, nbody = ps->nfields - first;
    if (!align_up(lay->size, body.align, &start) || !align_up(body.size, body.align, &stride))
        return parse_fail(ps, "item size too large");
    if (count == 0) {
        ps->nfields = first;
        extent = 0;
        nvalues = 0;
    } else {
        if (mv_mul_overflow(count - 1, stride, &extent) ||
            mv_add_overflow(extent, body.size, &extent))
            return parse_fail(ps, "item size too large");
        if (mv_mul_overflow(body.nvalues, count, &nvalues))
            return parse_fail(ps, "too many values");
        if (nbody > 0) {
            ptrdiff_t extra;
            if (mv_mul_overflow(nbody, count - 1, &extra))
                return parse_fail(ps, "too many fields");
            rc = fields_reserve(ps, extra);
            if (rc < 0)
                return rc;
            /* Body offsets are relative to the record start; the start is a
             * multiple of every member's alignment, so shifting keeps them
             * aligned.  All offsets are < start + extent, checked above. */
            for (ptrdiff_t i = first; i < first + nbody; i++)
                ps->fields[i].offset += start;
            for (ptrdiff_t k = 1; k < count; k++) {
                for (ptrdiff_t i = 0; i < nbody; i++) {
                    mv_field f = ps->fields[first + i];
                    f.offset += k * stride;
                    ps->fields[ps->nfields++] = f;
                }
            }
        }
    }
    if (mv_add_overflow(start, extent, &end) || mv_add_overflow(lay->nvalues, nvalues, &nvalues))
        return parse_fail(ps, "item size too large");
    lay->size = end;
    lay->nvalues = nvalues;
    if (body.align > lay->align)
        lay->align = body.align;
    return 0;
}

/* One code (cursor on it) with its count, appended at the end of *lay. */
static int parse_code(parser *ps, char order, ptrdiff_t count, layout *lay)
{
    char code = *ps->p;
    ptrdiff_t esize, ealign, start, fsize, end, nvalues;
    int rc;

    if (code == 'Z') {
        char next = ps->p[1];
        if (next != 'f' && next != 'd')
            return parse_fail(ps, "'Z' must be followed by 'f' or 'd'");
        code = next == 'f' ? 'F' : 'D';
        ps->p++;
    }
    rc = code_layout(code, order, &esize, &ealign);
    if (rc == 1)
        return parse_fail_char(ps, "bad char", code);
    if (rc == 2) {
        char why[48];
        snprintf(why, sizeof why, "'%c' requires native mode ('@')", code);
        return parse_fail(ps, why);
    }
    ps->p++;

    if (!align_up(lay->size, ealign, &start))
        return parse_fail(ps, "item size too large");
    if (code == 's' || code == 'p') {
        fsize = count;
        nvalues = 1;
    } else {
        if (mv_mul_overflow(count, esize, &fsize))
            return parse_fail(ps, "item size too large");
        nvalues = code == 'x' ? 0 : count;
    }
    if (mv_add_overflow(start, fsize, &end))
        return parse_fail(ps, "item size too large");
    if (mv_add_overflow(lay->nvalues, nvalues, &nvalues))
        return parse_fail(ps, "too many values");

    if (count > 0 || code == 's' || code == 'p') {
        rc = fields_reserve(ps, 1);
        if (rc < 0)
            return rc;
        mv_field *f = &ps->fields[ps->nfields++];
        f->code = code;
        f->byteorder = order;
        f->count = count;
        f->offset = start;
        f->size = (code == 's' || code == 'p') ? count : esize;
    }
    lay->size = end;
    lay->nvalues = nvalues;
    if (ealign > lay->align)
        lay->align = ealign;
    return 0;
}

/* A sequence of items up to the end of the text (top level) or up to and
 * including the closing '}' (in_record).  Offsets are relative to the start
 * of the sequence; *order is the byte order in effect and is updated. */
static int parse_seq(parser *ps, char *order, int depth, bool in_record, layout *out)
{
    layout lay = {0, 1, 0};
    bool after_member = false; /* a :name: may follow */
    int rc;

    for (;;) {
        while (is_space(*ps->p))
            ps->p++;
        char c = *ps->p;

        if (c == '\0') {
            if (in_record)
                return parse_fail(ps, "unbalanced '{'");
            break;
        }
        if (c == '}') {
            if (!in_record)
                return parse_fail(ps, "unbalanced '}'");
            ps->p++;
            break;
        }
        if (is_byteorder(c)) {
            /* Alone it is a whole format ("<": no values, as in struct). */
            bool alone = ps->p == ps->text;
            *order = c == '!' ? '>' : c;
            ps->p++;
            while (is_space(*ps->p))
                ps->p++;
            if (*ps->p == ':' || (!alone && (*ps->p == '\0' || *ps->p == '}')))
                return parse_fail(ps, "byte order character without a code");
            after_member = false;
            continue;
        }
        if (c == ':') {
            if (!in_record)
                return parse_fail(ps, "field names are only allowed inside T{...}");
            if (!after_member)
                return parse_fail(ps, "field name without a field");
            const char *close = strchr(ps->p + 1, ':');
            if (!close)
                return parse_fail(ps, "unterminated field name");
            ps->p = close + 1;
            after_member = false;
            continue;
        }

        ptrdiff_t count;
        bool has_count, shaped = c == '(';
        rc = parse_count(ps, &count, &has_count);
        if (rc < 0)
            return rc;
        /* ctypes writes a sub-array's byte order after its shape:
         * "T{(3)<H:a:}". */
        if (shaped && is_byteorder(*ps->p)) {
            *order = *ps->p == '!' ? '>' : *ps->p;
            ps->p++;
        }
        c = *ps->p;
        if (has_count && !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '?'))
            return parse_fail(ps, "repeat count given without format specifier");

        if (c == 'T') {
            if (ps->p[1] != '{')
                return parse_fail(ps, "'T' must be followed by '{'");
            ps->p += 2;
            rc = parse_record(ps, *order, depth, count, &lay);
        } else {
            rc = parse_code(ps, *order, count, &lay);
        }
        if (rc < 0)
            return rc;
        after_member = true;
    }
    *out = lay;
    return 0;
}

/* memoryview's "native single character format": an optional '@' and one
 * code of the native set (Zf / Zd reported as 'F' / 'D'). */
static char native_code(const char *text)
{
    if (text[0] == '@')
        text++;
    if (text[0] != '\0' && text[1] == '\0' && strchr("cbBhHiIlLqQnNfd?Pe", text[0]))
        return text[0];
    if (text[0] == 'Z' && (text[1] == 'f' || text[1] == 'd') && text[2] == '\0')
        return text[1] == 'f' ? 'F' : 'D';
    return 0;
}

/* As mv_format.native sets them: not x, s, p, nor the complex 'F' and 'D'. */
const unsigned char mv_single_size[128] = {
    ['c'] = 1, ['b'] = 1, ['B'] = 1, ['?'] = sizeof(_Bool),
    ['h'] = sizeof(short), ['H'] = sizeof(short), ['i'] = sizeof(int), ['I'] = sizeof(int),
    ['l'] = sizeof(long), ['L'] = sizeof(long), ['q'] = sizeof(long long),
    ['Q'] = sizeof(long long), ['n'] = sizeof(size_t), ['N'] = sizeof(size_t),
    ['P'] = sizeof(void *), ['e'] = 2, ['f'] = 4, ['d'] = 8,
};

char mv_format_native_long(const char *text, ptrdiff_t *size)
{
    ptrdiff_t align;
    char code = native_code(text);
    if (!code || code_layout(code, '@', size, &align) != 0)
        return 0;
    return code;
}

MV_API int mv_format_parse(mv_format *fmt, const char *text, mv_error *err)
{
    if (!fmt)
        return mv_error_set(err, MV_EVALUE, "mv_format_parse: fmt must not be NULL");
    memset(fmt, 0, sizeof *fmt);
    if (!text)
        return mv_error_set(err, MV_EVALUE, "invalid format string (null)");

    parser ps = {text, text, err, NULL, 0, 0};
    char order = '@';
    layout lay;
    int rc = parse_seq(&ps, &order, 0, false, &lay);
    if (rc == 0 && ps.nfields > INT_MAX)
        rc = parse_fail(&ps, "too many fields");
    if (rc < 0) {
        free(ps.fields);
        return rc;
    }
    fmt->itemsize = lay.size;
    fmt->alignment = lay.align;
    fmt->nvalues = lay.nvalues;
    fmt->nfields = (int)ps.nfields;
    fmt->fields = ps.fields;
    fmt->native = native_code(text);
    return 0;
}

MV_API void mv_format_clear(mv_format *fmt)
{
    if (!fmt)
        return;
    free(fmt->fields);
    memset(fmt, 0, sizeof *fmt);
}

/* ------------------------------------------------------------------------ */
/* Element encoding                                                          */
/* ------------------------------------------------------------------------ */

static bool host_little(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* Whether a field stored in `order` is little-endian. */
static bool order_little(char order)
{
    if (order == '<')
        return true;
    if (order == '>')
        return false;
    return host_little();
}

/* The size-byte unsigned integer at p (size is 1, 2, 4 or 8). */
static uint64_t load_uint(const unsigned char *p, ptrdiff_t size, bool little)
{
    bool swap = little != host_little();
    switch (size) {
    case 1:
        return p[0];
    case 2: {
        uint16_t v;
        memcpy(&v, p, 2);
        return swap ? __builtin_bswap16(v) : v;
    }
    case 4: {
        uint32_t v;
        memcpy(&v, p, 4);
        return swap ? __builtin_bswap32(v) : v;
    }
    case 8: {
        uint64_t v;
        memcpy(&v, p, 8);
        return swap ? __builtin_bswap64(v) : v;
    }
    default: {
        uint64_t v = 0;
        for (ptrdiff_t k = 0; k < size && k < 8; k++)
            v = (v << 8) | p[little ? size - 1 - k : k];
        return v;
    }
    }
}

static void store_uint(unsigned char *p, ptrdiff_t size, bool little, uint64_t v)
{
    bool swap = little != host_little();
    switch (size) {
    case 1:
        p[0] = (unsigned char)v;
        return;
    case 2: {
        uint16_t w = (uint16_t)v;
        w = swap ? __builtin_bswap16(w) : w;
        memcpy(p, &w, 2);
        return;
    }
    case 4: {
        uint32_t w = (uint32_t)v;
        w = swap ? __builtin_bswap32(w) : w;
        memcpy(p, &w, 4);
        return;
    }
    case 8:
        v = swap ? __builtin_bswap64(v) : v;
        memcpy(p, &v, 8);
        return;
    default:
        for (ptrdiff_t k = 0; k < size; k++) {
            p[little ? k : size - 1 - k] = (unsigned char)v;
            v = k < 7 ? v >> 8 : 0;
        }
        return;
    }
}

static double bits_to_double(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static uint64_t double_to_bits(double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return bits;
}

static double bits_to_float(uint64_t bits)
{
    uint32_t b = (uint32_t)bits;
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

/* IEEE binary32 bits of x rounded to nearest.  Finite values too large for
 * a float become +-inf exactly where the hardware conversion would put
 * them, without relying on the out-of-range conversion (undefined in C). */
static uint64_t float_to_bits(double x)
{
    float f;
    if (isfinite(x) && fabs(x) > FLT_MAX) {
        /* FLT_MAX plus half an ulp: from here on rounding reaches 2**128. */
        const double limit = 0x1.ffffffp+127;
        if (fabs(x) >= limit)
            f = x < 0 ? -INFINITY : INFINITY;
        else
            f = x < 0 ? -FLT_MAX : FLT_MAX;
    } else {
        f = (float)x;
    }
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

/* IEEE binary16 -> double; exact (every half is a double). */
static double half_to_double(uint16_t h)
{
    unsigned sign = h >> 15, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    double x;
    if (exp == 31) {
        if (mant == 0)
            x = INFINITY;
        else /* keep the payload in the top mantissa bits, as widening does */
            x = bits_to_double(((uint64_t)0x7ff << 52) | ((uint64_t)mant << 42));
    } else if (exp == 0) {
        x = ldexp((double)mant, -24);
    } else {
        x = ldexp((double)(mant | 0x400), (int)exp - 25);
    }
    return sign ? -x : x;
}

/* double -> IEEE binary16, round half to even (PyFloat_Pack2's algorithm).
 * Returns false when a finite x is too large. */
static bool double_to_half(double x, uint16_t *out)
{
    uint16_t sign = signbit(x) ? 0x8000 : 0;
    if (isnan(x)) {
        uint16_t mant = (uint16_t)((double_to_bits(x) >> 42) & 0x3ff);
        *out = sign | 0x7c00 | (mant ? mant : 0x200);
        return true;
    }
    x = fabs(x);
    if (isinf(x)) {
        *out = sign | 0x7c00;
        return true;
    }
    if (x == 0.0) {
        *out = sign;
        return true;
    }
    int e;
    double f = frexp(x, &e); /* x = f * 2**e, 0.5 <= f < 1 */
    f *= 2.0;
    e--;
    if (e >= 16)
        return false;
    if (e < -25) {
        f = 0.0;
        e = 0;
    } else if (e < -14) {
        f = ldexp(f, 14 + e);
        e = 0;
    } else {
        e += 15;
        f -= 1.0;
    }
    f *= 1024.0;
    unsigned bits = (unsigned)f; /* f < 1024: truncation is exact */
    double rest = f - bits;
    if (rest > 0.5 || (rest == 0.5 && (bits & 1))) {
        if (++bits == 1024) {
            bits = 0;
            if (++e == 31)
                return false;
        }
    }
    *out = (uint16_t)(sign | ((unsigned)e << 10) | bits);
    return true;
}

static bool code_is_signed(char code)
{
    return code == 'b' || code == 'h' || code == 'i' || code == 'l' || code == 'q' || code == 'n';
}

static bool code_is_unsigned(char code)
{
    return code == 'B' || code == 'H' || code == 'I' || code == 'L' || code == 'Q' || code == 'N';
}

/* One numeric element ('?', integers, floats, complex) at p. */
static void unpack_element(char code, ptrdiff_t size, bool little, const unsigned char *p,
                           mv_value *v)
{
    if (code == '?') {
        bool any = false;
        for (ptrdiff_t k = 0; k < size; k++)
            any |= p[k] != 0;
        v->kind = MV_VALUE_BOOL;
        v->v.b = any;
    } else if (code_is_signed(code)) {
        uint64_t u = load_uint(p, size, little);
        if (size < 8 && (u >> (8 * size - 1)) & 1)
            u |= ~(uint64_t)0 << (8 * size);
        v->kind = MV_VALUE_SIGNED;
        v->v.i = (int64_t)u; /* two's complement: gcc and clang define it */
    } else if (code_is_unsigned(code) || code == 'P') {
        v->kind = MV_VALUE_UNSIGNED;
        v->v.u = load_uint(p, size, little);
    } else if (code == 'w') {
        v->kind = MV_VALUE_CHAR;
        v->v.u = load_uint(p, 4, little);
    } else if (code == 'e') {
        v->kind = MV_VALUE_DOUBLE;
        v->v.d = half_to_double((uint16_t)load_uint(p, 2, little));
    } else if (code == 'f') {
        v->kind = MV_VALUE_DOUBLE;
        v->v.d = bits_to_float(load_uint(p, 4, little));
    } else if (code == 'd') {
        v->kind = MV_VALUE_DOUBLE;
        v->v.d = bits_to_double(load_uint(p, 8, little));
    } else if (code == 'F') {
        v->kind = MV_VALUE_COMPLEX;
        v->v.c.re = bits_to_float(load_uint(p, 4, little));
        v->v.c.im = bits_to_float(load_uint(p + 4, 4, little));
    } else if (code == 'D') {
        v->kind = MV_VALUE_COMPLEX;
        v->v.c.re = bits_to_double(load_uint(p, 8, little));
        v->v.c.im = bits_to_double(load_uint(p + 8, 8, little));
    } else {
        v->kind = MV_VALUE_NONE;
    }
}

MV_API int mv_format_unpack(const mv_format *fmt, const void *item, mv_value *values,
                            ptrdiff_t nvalues, mv_error *err)
{
    if (!fmt)
        return mv_error_set(err, MV_EVALUE, "mv_format_unpack: fmt must not be NULL");
    if (nvalues < fmt->nvalues)
        return mv_error_set(err, MV_EVALUE,
                            "mv_format_unpack: room for %td values, the format has %td", nvalues,
                            fmt->nvalues);
    if ((!item && fmt->itemsize > 0) || (!values && fmt->nvalues > 0))
        return mv_error_set(err, MV_EVALUE, "mv_format_unpack: item and values must not be NULL");

    const unsigned char *base = item;
    ptrdiff_t k = 0;
    for (int i = 0; i < fmt->nfields; i++) {
        const mv_field *f = &fmt->fields[i];
        const unsigned char *p = base ? base + f->offset : NULL;
        switch (f->code) {
        case 'x':
            break;
        case 's':
            values[k].kind = MV_VALUE_BYTES;
            values[k].v.bytes.ptr = p;
            values[k].v.bytes.len = (size_t)f->count;
            k++;
            break;
        case 'p': {
            size_t n = 0;
            if (f->count > 0) {
                n = p[0];
                if (n > (size_t)(f->count - 1))
                    n = (size_t)(f->count - 1);
            }
            values[k].kind = MV_VALUE_BYTES;
            values[k].v.bytes.ptr = f->count > 0 ? p + 1 : p;
            values[k].v.bytes.len = n;
            k++;
            break;
        }
        case 'c':
            for (ptrdiff_t j = 0; j < f->count; j++, k++) {
                values[k].kind = MV_VALUE_BYTES;
                values[k].v.bytes.ptr = p + j;
                values[k].v.bytes.len = 1;
            }
            break;
        default: {
            bool little = order_little(f->byteorder);
            for (ptrdiff_t j = 0; j < f->count; j++, k++)
                unpack_element(f->code, f->size, little, p + j * f->size, &values[k]);
            break;
        }
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Packing                                                                   */
/* ------------------------------------------------------------------------ */

/* Integer value of v for an integer code of `size` bytes, as the bits to
 * store.  MV_ETYPE for non-integers, MV_EVALUE when out of range. */
static int encode_integer(char code, ptrdiff_t size, const mv_value *v, uint64_t *bits)
{
    bool neg;
    uint64_t mag;
    switch (v->kind) {
    case MV_VALUE_SIGNED:
        neg = v->v.i < 0;
        mag = neg ? 0 - (uint64_t)v->v.i : (uint64_t)v->v.i;
        break;
    case MV_VALUE_UNSIGNED:
        neg = false;
        mag = v->v.u;
        break;
    case MV_VALUE_BOOL:
        neg = false;
        mag = v->v.b ? 1 : 0;
        break;
    default:
        return MV_ETYPE;
    }
    unsigned width = (unsigned)size * 8;
    uint64_t umax = width >= 64 ? UINT64_MAX : ((uint64_t)1 << width) - 1;
    uint64_t half = (uint64_t)1 << (width - 1); /* |min| of the signed type */
    if (code_is_signed(code)) {
        if (neg ? mag > half : mag > half - 1)
            return MV_EVALUE;
    } else if (code == 'P') {
        /* PyLong_AsVoidPtr: negatives through the signed type. */
        if (neg ? mag > half : mag > umax)
            return MV_EVALUE;
    } else {
        if (neg || mag > umax)
            return MV_EVALUE;
    }
    *bits = neg ? 0 - mag : mag;
    return 0;
}

static int value_as_double(const mv_value *v, double *out)
{
    switch (v->kind) {
    case MV_VALUE_SIGNED:
        *out = (double)v->v.i;
        return 0;
    case MV_VALUE_UNSIGNED:
        *out = (double)v->v.u;
        return 0;
    case MV_VALUE_BOOL:
        *out = v->v.b ? 1.0 : 0.0;
        return 0;
    case MV_VALUE_DOUBLE:
        *out = v->v.d;
        return 0;
    default:
        return MV_ETYPE;
    }
}

static bool value_truth(const mv_value *v)
{
    switch (v->kind) {
    case MV_VALUE_BOOL:
        return v->v.b;
    case MV_VALUE_SIGNED:
        return v->v.i != 0;
    case MV_VALUE_UNSIGNED:
        return v->v.u != 0;
    case MV_VALUE_DOUBLE:
        return v->v.d != 0.0; /* NaN is true, as in Python */
    case MV_VALUE_COMPLEX:
        return v->v.c.re != 0.0 || v->v.c.im != 0.0;
    case MV_VALUE_BYTES:
        return v->v.bytes.len > 0;
    case MV_VALUE_CHAR:
        return true; /* a one-character str */
    default:
        return false;
    }
}

/* Encode one numeric element of `code` from v into p (when p is not NULL).
 * Returns 0, MV_ETYPE or MV_EVALUE and writes nothing on error. */
static int pack_element(char code, ptrdiff_t size, bool little, const mv_value *v, unsigned char *p)
{
    uint64_t bits = 0, bits_im = 0;
    double d, im = 0.0;
    int rc;

    if (code == '?') {
        if ((unsigned)v->kind > MV_VALUE_CHAR)
            return MV_ETYPE;
        bits = value_truth(v) ? 1 : 0;
    } else if (code == 'w') {
        if (v->kind != MV_VALUE_CHAR)
            return MV_ETYPE;
        if (v->v.u > 0x10FFFF)
            return MV_EVALUE;
        bits = v->v.u;
    } else if (code_is_signed(code) || code_is_unsigned(code) || code == 'P') {
        rc = encode_integer(code, size, v, &bits);
        if (rc < 0)
            return rc;
    } else if (code == 'F' || code == 'D') {
        if (v->kind == MV_VALUE_COMPLEX) {
            d = v->v.c.re;
            im = v->v.c.im;
        } else if (value_as_double(v, &d) < 0) {
            return MV_ETYPE;
        }
        if (code == 'F') {
            bits = float_to_bits(d);
            bits_im = float_to_bits(im);
        } else {
            bits = double_to_bits(d);
            bits_im = double_to_bits(im);
        }
    } else {
        if (value_as_double(v, &d) < 0)
            return MV_ETYPE;
        if (code == 'e') {
            uint16_t h;
            if (!double_to_half(d, &h))
                return MV_EVALUE;
            bits = h;
        } else if (code == 'f') {
            bits = float_to_bits(d);
        } else {
            bits = double_to_bits(d);
        }
    }
    if (!p)
        return 0;
    if (code == 'F' || code == 'D') {
        store_uint(p, size / 2, little, bits);
        store_uint(p + size / 2, size / 2, little, bits_im);
    } else {
        store_uint(p, size, little, bits);
    }
    return 0;
}

/* Check (item == NULL) or write (item != NULL) every field.  On the check
 * pass *overlap reports whether a bytes value points into [item, item +
 * itemsize) of `target`, the item that will be written. */
static int pack_fields(const mv_format *fmt, unsigned char *item, const mv_value *values,
                       const unsigned char *target, bool *overlap)
{
    ptrdiff_t k = 0;
    for (int i = 0; i < fmt->nfields; i++) {
        const mv_field *f = &fmt->fields[i];
        unsigned char *p = item ? item + f->offset : NULL;

        if (f->code == 'x')
            continue;
        /* Not NULL: a field other than 'x' has values, so nvalues > 0. */
        const mv_value *v = values + k;
        if (f->code == 's' || f->code == 'p' || f->code == 'c') {
            ptrdiff_t n = f->code == 'c' ? f->count : 1;
            for (ptrdiff_t j = 0; j < n; j++) {
                if (v[j].kind != MV_VALUE_BYTES)
                    return MV_ETYPE;
                if (!v[j].v.bytes.ptr && v[j].v.bytes.len > 0)
                    return MV_EVALUE;
                if (f->code == 'c' && v[j].v.bytes.len != 1)
                    return MV_EVALUE;
                if (!item && v[j].v.bytes.len > 0) {
                    uintptr_t lo = (uintptr_t)v[j].v.bytes.ptr;
                    uintptr_t t = (uintptr_t)target;
                    if (lo < t + (uintptr_t)fmt->itemsize && t < lo + v[j].v.bytes.len)
                        *overlap = true;
                }
            }
            k += n;
            if (!item)
                continue;
            if (f->code == 'c') {
                for (ptrdiff_t j = 0; j < n; j++)
                    p[j] = v[j].v.bytes.ptr[0];
            } else if (f->code == 's') {
                size_t room = (size_t)f->count;
                size_t len = v->v.bytes.len < room ? v->v.bytes.len : room;
                if (len > 0)
                    memmove(p, v->v.bytes.ptr, len);
                memset(p + len, 0, room - len);
            } else if (f->count > 0) {
                /* struct's 'p': the data is cut to count - 1 bytes, the
                 * length byte saturates at 255. */
                size_t room = (size_t)f->count - 1;
                size_t len = v->v.bytes.len < room ? v->v.bytes.len : room;
                if (len > 0)
                    memmove(p + 1, v->v.bytes.ptr, len);
                memset(p + 1 + len, 0, room - len);
                p[0] = (unsigned char)(len > 255 ? 255 : len);
            }
            continue;
        }
        bool little = order_little(f->byteorder);
        for (ptrdiff_t j = 0; j < f->count; j++) {
            int rc = pack_element(f->code, f->size, little, &v[j], p ? p + j * f->size : NULL);
            if (rc < 0)
                return rc;
        }
        k += f->count;
    }
    return 0;
}

MV_API int mv_format_pack(const mv_format *fmt, const char *text, void *item,
                          const mv_value *values, ptrdiff_t nvalues, mv_error *err)
{
    const char *shown = text ? text : "";
    if (!fmt)
        return mv_error_set(err, MV_EVALUE, "mv_format_pack: fmt must not be NULL");
    if (!item && fmt->itemsize > 0)
        return mv_error_set(err, MV_EVALUE, "mv_format_pack: item must not be NULL");
    if (nvalues != fmt->nvalues || (!values && nvalues > 0))
        return mv_error_set(err, MV_EVALUE, "memoryview: invalid value for format '%s'", shown);

    bool overlap = false;
    int rc = pack_fields(fmt, NULL, values, item, &overlap);
    if (rc == MV_ETYPE)
        return mv_error_set(err, MV_ETYPE, "memoryview: invalid type for format '%s'", shown);
    if (rc < 0)
        return mv_error_set(err, MV_EVALUE, "memoryview: invalid value for format '%s'", shown);

    if (!overlap) {
        pack_fields(fmt, item, values, item, &overlap);
        return 0;
    }
    /* A bytes value reads from the item being written (e.g. fields of one
     * item swapped): build the new item aside so no source is clobbered
     * before it is read.  The copy starts from the old bytes so padding is
     * kept. */
    unsigned char *tmp = malloc((size_t)fmt->itemsize);
    if (!tmp)
        return mv_error_set(err, MV_ENOMEM, "out of memory");
    memcpy(tmp, item, (size_t)fmt->itemsize);
    pack_fields(fmt, tmp, values, item, &overlap);
    memcpy(item, tmp, (size_t)fmt->itemsize);
    free(tmp);
    return 0;
}

bool mv_format_is_byte(const char *f)
{
    if (!f)
        return true;
    if (f[0] == '@')
        f++;
    return (f[0] == 'B' || f[0] == 'b' || f[0] == 'c') && f[1] == '\0';
}

ptrdiff_t mv_size_from_format(const char *format, mv_error *err)
{
    /* NULL means "B", as everywhere in a buffer descriptor. */
    if (!format)
        return 1;
    mv_format fmt;
    if (mv_format_parse(&fmt, format, err) < 0)
        return -1;
    ptrdiff_t size = fmt.itemsize;
    mv_format_clear(&fmt);
    return size;
}
