/*
 * The item codec: one element, and one item, of every format in every byte
 * order, loaded into mv_value and stored from it; the item reader the
 * per-item loops of comparison, hashing and count / index use; and value
 * equality, the meaning of "equal" for the values the codec produces.
 *
 * Loading is one routine, mv_load_element (inline in core.h: every hot
 * loop runs through it), behind mv_format_unpack, the reader's direct path
 * and mv_load_native, so a value reads the same whichever path reads it
 * (a half-float NaN keeps its payload on every one).  Storing has only one
 * caller, mv_format_pack, and stays here.  The parser (format.c) turns
 * text into the mv_format fields this file works from.
 */
#include "core.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE 754 binary32/binary64 expected");
_Static_assert(FLT_MANT_DIG == 24 && DBL_MANT_DIG == 53, "IEEE 754 binary32/binary64 expected");

/* ------------------------------------------------------------------------ */
/* Loading                                                                   */
/* ------------------------------------------------------------------------ */

double mv_half_to_double(uint16_t h)
{
    unsigned sign = h >> 15, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    double x;
    if (exp == 31) {
        if (mant == 0)
            x = INFINITY;
        else /* keep the payload in the top mantissa bits, as widening does */
            x = mv_double_from_bits(((uint64_t)0x7ff << 52) | ((uint64_t)mant << 42));
    } else if (exp == 0) {
        x = ldexp((double)mant, -24);
    } else {
        x = ldexp((double)(mant | 0x400), (int)exp - 25);
    }
    return sign ? -x : x;
}

/* Every numeric element goes through mv_load_element; 's', 'p' and 'c'
 * values point into the item. */
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
            bool little = mv_order_little(f->byteorder);
            for (ptrdiff_t j = 0; j < f->count; j++, k++)
                mv_load_element(f->code, f->size, little, p + j * f->size, &values[k]);
            break;
        }
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Storing                                                                   */
/* ------------------------------------------------------------------------ */

/* The low size bytes of v at p, little-endian or not (mv_load_uint's
 * inverse; sizes other than 1, 2, 4, 8 are written byte by byte). */
static void store_uint(unsigned char *p, ptrdiff_t size, bool little, uint64_t v)
{
    bool swap = little != mv_host_little();
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

static uint64_t double_to_bits(double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return bits;
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
    if (mv_code_is_signed(code)) {
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

/* Encode one element of `code` (the codes of mv_load_element) from v into
 * p when p is not NULL (size bytes, little-endian or not); with p NULL,
 * only check that v can be stored.  Returns 0, MV_ETYPE or MV_EVALUE and
 * writes nothing on error. */
static int store_element(char code, ptrdiff_t size, bool little, const mv_value *v,
                         unsigned char *p)
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
    } else if (mv_code_is_signed(code) || mv_code_is_unsigned(code)) {
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
        bool little = mv_order_little(f->byteorder);
        for (ptrdiff_t j = 0; j < f->count; j++) {
            int rc = store_element(f->code, f->size, little, &v[j], p ? p + j * f->size : NULL);
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
    int rc;
    const mv_field *f = fmt->nfields == 1 ? &fmt->fields[0] : NULL;
    if (f && f->count == 1 && !strchr("spcx", f->code)) {
        /* One element, not bytes: store_element checks the value before it
         * writes, so one pass does (most items are one number). */
        rc = store_element(f->code, f->size, mv_order_little(f->byteorder), values,
                           (unsigned char *)item + f->offset);
    } else {
        rc = pack_fields(fmt, NULL, values, item, &overlap);
        if (rc == 0 && !overlap)
            pack_fields(fmt, item, values, item, &overlap);
    }
    if (rc == MV_ETYPE)
        return mv_error_set(err, MV_ETYPE, "memoryview: invalid type for format '%s'", shown);
    if (rc < 0)
        return mv_error_set(err, MV_EVALUE, "memoryview: invalid value for format '%s'", shown);

    if (!overlap)
        return 0;
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

/* ------------------------------------------------------------------------ */
/* Item readers                                                              */
/* ------------------------------------------------------------------------ */

/* The field of fmt's one element when its items are one element
 * mv_load_element can read on its own (one value, not a byte string;
 * padding 'x' fields around it are fine), else NULL. */
static const mv_field *direct_field(const mv_format *fmt)
{
    if (fmt->nvalues != 1)
        return NULL;
    const mv_field *one = NULL;
    for (int i = 0; i < fmt->nfields; i++)
        if (fmt->fields[i].code != 'x')
            one = &fmt->fields[i]; /* nvalues == 1: the only one */
    if (!one || one->count != 1 || one->code == 'c' || one->code == 's' || one->code == 'p')
        return NULL;
    return one;
}

int mv_reader_init(mv_item_reader *r, const mv_format *fmt, mv_error *err)
{
    memset(r, 0, sizeof *r);
    r->fmt = fmt;
    r->nvalues = fmt->nvalues;
    const mv_field *f = direct_field(fmt);
    if (f) {
        r->direct = true;
        r->code = f->code;
        r->size = f->size;
        r->offset = f->offset;
        r->little = mv_order_little(f->byteorder);
    }
    if (r->nvalues <= MV_READER_SMALL) {
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

void mv_reader_clear(mv_item_reader *r)
{
    if (r->values && r->values != r->small)
        free(r->values);
    r->values = NULL;
}

/* ------------------------------------------------------------------------ */
/* Value equality                                                            */
/* ------------------------------------------------------------------------ */

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
