/* Equality (CPython's memoryview ==), hashing, count / index.
 *
 * Expected results come from hand-worked cases, from tables produced by
 * Python 3.11 (pasted below as literals), and from a naive model that
 * stores plain doubles and compares them pairwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failalloc.h"
#include "memview.h"

#define RELEASED_MSG "operation forbidden on released memoryview object"

/* ---- helpers ------------------------------------------------------------ */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

static ptrdiff_t rng_below(rng *r, ptrdiff_t n)
{
    return (ptrdiff_t)(rng_next(r) % (uint64_t)n);
}

static bool host_little(void)
{
    uint16_t one = 1;
    unsigned char c;
    memcpy(&c, &one, 1);
    return c == 1;
}

static void put_uint(void *dst, int size, bool little, uint64_t v)
{
    unsigned char *p = dst;
    for (int i = 0; i < size; i++) {
        unsigned char byte = (unsigned char)(v >> (8 * i));
        p[little ? i : size - 1 - i] = byte;
    }
}

static void put_double(void *dst, bool little, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    put_uint(dst, 8, little, u);
}

static void put_float(void *dst, bool little, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    put_uint(dst, 4, little, u);
}

static ptrdiff_t product(int ndim, const ptrdiff_t *shape)
{
    ptrdiff_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= shape[i];
    return n;
}

/* A view of caller memory with a full layout; buf is the logical start. */
static mv_view *view_layout(void *buf, const char *format, ptrdiff_t itemsize, int ndim,
                            const ptrdiff_t *shape, const ptrdiff_t *strides,
                            const ptrdiff_t *suboffsets, int readonly)
{
    mv_buffer lay;
    memset(&lay, 0, sizeof lay);
    lay.buf = buf;
    lay.len = product(ndim, shape) * itemsize;
    lay.itemsize = itemsize;
    lay.readonly = readonly;
    lay.ndim = ndim;
    lay.format = format;
    lay.shape = (ptrdiff_t *)shape;
    lay.strides = (ptrdiff_t *)strides;
    lay.suboffsets = (ptrdiff_t *)suboffsets;
    mv_error err;
    mv_error_clear(&err);
    mv_object *x = mv_external_new_layout(&lay, NULL, NULL, &err);
    if (!x)
        fail_msg("external layout '%s': %s", format, err.message);
    mv_view *v = mv_view_new(x, &err);
    mv_decref(x);
    if (!v)
        fail_msg("view '%s': %s", format, err.message);
    return v;
}

static mv_view *view_1d(void *mem, const char *format, ptrdiff_t itemsize, ptrdiff_t n,
                        int readonly)
{
    return view_layout(mem, format, itemsize, 1, &n, NULL, NULL, readonly);
}

static mv_view *view_0d(void *mem, const char *format, ptrdiff_t itemsize)
{
    return view_layout(mem, format, itemsize, 0, NULL, NULL, NULL, 1);
}

/* An exporter that hands out its descriptor unchecked, so views with
 * formats no parser accepts can be made. */
typedef struct raw_exporter {
    mv_object ob;
    mv_buffer desc;
} raw_exporter;

static int raw_getbuffer(mv_object *self, mv_buffer *view, int flags, mv_error *err)
{
    (void)flags;
    (void)err;
    raw_exporter *r = (raw_exporter *)self;
    *view = r->desc;
    view->obj = self;
    mv_incref(self);
    return 0;
}

static void raw_destroy(mv_object *self)
{
    free(self);
}

static const mv_type raw_type = {"raw", raw_getbuffer, NULL, raw_destroy};

static ptrdiff_t raw_shape_1 = 1;
static ptrdiff_t raw_stride_1 = 1;

/* A 1-D view of n bytes of mem (n <= 1 keeps the shape array constant)
 * whose format is `format`, whatever it says. */
static mv_view *view_raw_format(void *mem, const char *format)
{
    raw_exporter *r = calloc(1, sizeof *r);
    assert_non_null(r);
    mv_object_init(&r->ob, &raw_type);
    r->desc.buf = mem;
    r->desc.len = 1;
    r->desc.itemsize = 1;
    r->desc.readonly = 1;
    r->desc.ndim = 1;
    r->desc.format = format;
    r->desc.shape = &raw_shape_1;
    r->desc.strides = &raw_stride_1;
    mv_error err;
    mv_error_clear(&err);
    mv_view *v = mv_view_new(&r->ob, &err);
    mv_decref(&r->ob);
    if (!v)
        fail_msg("raw view: %s", err.message);
    return v;
}

static int equal(const mv_view *a, const mv_view *b)
{
    mv_error err;
    mv_error_clear(&err);
    int rc = mv_view_equal(a, b, &err);
    if (rc < 0)
        fail_msg("mv_view_equal failed: %s", err.message);
    assert_int_equal(err.code, MV_OK);
    /* == is symmetric and mv_buffer_equal agrees when both are live. */
    assert_int_equal(mv_view_equal(b, a, NULL), rc);
    if (!mv_view_is_released(a) && !mv_view_is_released(b))
        assert_int_equal(mv_buffer_equal(mv_view_buffer(a, NULL), mv_view_buffer(b, NULL), NULL),
                         rc);
    return rc;
}

static mv_view *released_view(void)
{
    static unsigned char mem[4] = {1, 2, 3, 4};
    mv_view *v = view_1d(mem, "B", 1, 4, 1);
    assert_int_equal(mv_view_release(v, NULL), 0);
    return v;
}

static void expect_error(int rc, const mv_error *err, int code, const char *msg)
{
    assert_int_equal(rc, code);
    assert_int_equal(err->code, code);
    if (msg)
        assert_string_equal(err->message, msg);
}

/* Generated by Python 3.11: the values, and for each pair (a == b). */
static const mv_value py_values[] = {
    {.kind = MV_VALUE_SIGNED, .v.i = INT64_C(0)},                       /* 0 */
    {.kind = MV_VALUE_SIGNED, .v.i = INT64_C(1)},                       /* 1 */
    {.kind = MV_VALUE_SIGNED, .v.i = INT64_C(-1)},                      /* -1 */
    {.kind = MV_VALUE_SIGNED, .v.i = INT64_C(9223372036854775807)},     /* 9223372036854775807 */
    {.kind = MV_VALUE_SIGNED, .v.i = INT64_MIN},                        /* -9223372036854775808 */
    {.kind = MV_VALUE_SIGNED, .v.i = INT64_C(9007199254740993)},        /* 9007199254740993 */
    {.kind = MV_VALUE_SIGNED, .v.i = INT64_C(97)},                      /* 97 */
    {.kind = MV_VALUE_UNSIGNED, .v.u = UINT64_C(0)},                    /* 0 */
    {.kind = MV_VALUE_UNSIGNED, .v.u = UINT64_C(1)},                    /* 1 */
    {.kind = MV_VALUE_UNSIGNED, .v.u = UINT64_C(9223372036854775808)},  /* 9223372036854775808 */
    {.kind = MV_VALUE_UNSIGNED, .v.u = UINT64_C(18446744073709551615)}, /* 18446744073709551615 */
    {.kind = MV_VALUE_UNSIGNED, .v.u = UINT64_C(9007199254740993)},     /* 9007199254740993 */
    {.kind = MV_VALUE_UNSIGNED, .v.u = UINT64_C(9223372036854775807)},  /* 9223372036854775807 */
    {.kind = MV_VALUE_BOOL, .v.b = false},                              /* False */
    {.kind = MV_VALUE_BOOL, .v.b = true},                               /* True */
    {.kind = MV_VALUE_DOUBLE, .v.d = 0.0},                              /* 0.0 */
    {.kind = MV_VALUE_DOUBLE, .v.d = -0.0},                             /* -0.0 */
    {.kind = MV_VALUE_DOUBLE, .v.d = 0x1.0000000000000p+0},             /* 1.0 */
    {.kind = MV_VALUE_DOUBLE, .v.d = -0x1.0000000000000p+0},            /* -1.0 */
    {.kind = MV_VALUE_DOUBLE, .v.d = 0x1.0000000000000p-1},             /* 0.5 */
    {.kind = MV_VALUE_DOUBLE, .v.d = 0x1.0000000000000p+63},            /* 9.223372036854776e+18 */
    {.kind = MV_VALUE_DOUBLE, .v.d = -0x1.0000000000000p+63},           /* -9.223372036854776e+18 */
    {.kind = MV_VALUE_DOUBLE, .v.d = 0x1.0000000000000p+64},            /* 1.8446744073709552e+19 */
    {.kind = MV_VALUE_DOUBLE, .v.d = 0x1.0000000000000p+53},            /* 9007199254740992.0 */
    {.kind = MV_VALUE_DOUBLE, .v.d = INFINITY},                         /* inf */
    {.kind = MV_VALUE_DOUBLE, .v.d = -INFINITY},                        /* -inf */
    {.kind = MV_VALUE_DOUBLE, .v.d = NAN},                              /* nan */
    {.kind = MV_VALUE_DOUBLE, .v.d = 0x1.8000000000000p+0},             /* 1.5 */
    {.kind = MV_VALUE_DOUBLE, .v.d = 0x1.8400000000000p+6},             /* 97.0 */
    {.kind = MV_VALUE_COMPLEX, .v.c = {0x1.0000000000000p+0, 0.0}},     /* (1+0j) */
    {.kind = MV_VALUE_COMPLEX, .v.c = {0.0, 0.0}},                      /* 0j */
    {.kind = MV_VALUE_COMPLEX, .v.c = {-0.0, -0.0}},                    /* (-0-0j) */
    {.kind = MV_VALUE_COMPLEX, .v.c = {0x1.0000000000000p+0, 0x1.0000000000000p+0}}, /* (1+1j) */
    {.kind = MV_VALUE_COMPLEX, .v.c = {0.0, 0x1.0000000000000p+0}},                  /* 1j */
    {.kind = MV_VALUE_COMPLEX, .v.c = {NAN, 0.0}},                                   /* (nan+0j) */
    {.kind = MV_VALUE_COMPLEX,
     .v.c = {0x1.0000000000000p+63, 0.0}},              /* (9.223372036854776e+18+0j) */
    {.kind = MV_VALUE_COMPLEX, .v.c = {INFINITY, 0.0}}, /* (inf+0j) */
    {.kind = MV_VALUE_COMPLEX, .v.c = {0x1.0000000000000p+0, -0.0}},             /* (1-0j) */
    {.kind = MV_VALUE_BYTES, .v.bytes = {(const unsigned char *)"", 0}},         /* b'' */
    {.kind = MV_VALUE_BYTES, .v.bytes = {(const unsigned char *)"\x61", 1}},     /* b'a' */
    {.kind = MV_VALUE_BYTES, .v.bytes = {(const unsigned char *)"\x61\x62", 2}}, /* b'ab' */
    {.kind = MV_VALUE_BYTES, .v.bytes = {(const unsigned char *)"\x00", 1}},     /* b'\x00' */
    {.kind = MV_VALUE_BYTES, .v.bytes = {(const unsigned char *)"\x01", 1}},     /* b'\x01' */
    {.kind = MV_VALUE_NONE},                                                     /* None */
};
static const char *const py_equal[] = {
    "10000001000001011000000000000011000000000000", "01000000100000100100000000000100000001000000",
    "00100000000000000010000000000000000000000000", "00010000000010000000000000000000000000000000",
    "00001000000000000000010000000000000000000000", "00000100000100000000000000000000000000000000",
    "00000010000000000000000000001000000000000000", "10000001000001011000000000000011000000000000",
    "01000000100000100100000000000100000001000000", "00000000010000000000100000000000000100000000",
    "00000000001000000000000000000000000000000000", "00000100000100000000000000000000000000000000",
    "00010000000010000000000000000000000000000000", "10000001000001011000000000000011000000000000",
    "01000000100000100100000000000100000001000000", "10000001000001011000000000000011000000000000",
    "10000001000001011000000000000011000000000000", "01000000100000100100000000000100000001000000",
    "00100000000000000010000000000000000000000000", "00000000000000000001000000000000000000000000",
    "00000000010000000000100000000000000100000000", "00001000000000000000010000000000000000000000",
    "00000000000000000000001000000000000000000000", "00000000000000000000000100000000000000000000",
    "00000000000000000000000010000000000010000000", "00000000000000000000000001000000000000000000",
    "00000000000000000000000000000000000000000000", "00000000000000000000000000010000000000000000",
    "00000010000000000000000000001000000000000000", "01000000100000100100000000000100000001000000",
    "10000001000001011000000000000011000000000000", "10000001000001011000000000000011000000000000",
    "00000000000000000000000000000000100000000000", "00000000000000000000000000000000010000000000",
    "00000000000000000000000000000000000000000000", "00000000010000000000100000000000000100000000",
    "00000000000000000000000010000000000010000000", "01000000100000100100000000000100000001000000",
    "00000000000000000000000000000000000000100000", "00000000000000000000000000000000000000010000",
    "00000000000000000000000000000000000000001000", "00000000000000000000000000000000000000000100",
    "00000000000000000000000000000000000000000010", "00000000000000000000000000000000000000000001",
};
/* SipHash-1-3, key "memview-" "hash-key" (as two little-endian words),
 * of bytes 0, 1, ..., n-1 for n = 0..64 (Python model checked against
 * CPython hash() with PYTHONHASHSEED=0 and a zero key). */
static const uint64_t sip_vectors[65] = {
    UINT64_C(0x1258564cc2ba8c5f), UINT64_C(0x80614655b6fb4d4c), UINT64_C(0x82709180594daaf1),
    UINT64_C(0x72ecd3060a416bb9), UINT64_C(0xa515c05b5e06f59e), UINT64_C(0xcc6f741e29536efb),
    UINT64_C(0x728747906c51233f), UINT64_C(0x301570bcbaa87c73), UINT64_C(0xf26c515fe5aa65bf),
    UINT64_C(0x136331cb3bccba86), UINT64_C(0x79b650443a23abd3), UINT64_C(0x87bf5b7a29c7c12f),
    UINT64_C(0x9f9c1fca2ab8ca4b), UINT64_C(0x987d8491e7544a0e), UINT64_C(0x22ba3ded408c4de9),
    UINT64_C(0x43197a2925afcace), UINT64_C(0xa80d05f535e63a6c), UINT64_C(0x09972260dad2b343),
    UINT64_C(0xfbb701b4ffd50e4a), UINT64_C(0xb7b9ac2e0a92169f), UINT64_C(0x30e8f730ad8c9256),
    UINT64_C(0x01f47f517b1884a6), UINT64_C(0x1ae77ca86a42433e), UINT64_C(0x4f6f3bdd62d23104),
    UINT64_C(0xc9f1a09884016a1e), UINT64_C(0x847397104a075491), UINT64_C(0xfed5ca76b02b707f),
    UINT64_C(0x9b256750741ca532), UINT64_C(0x8138f4b11d295349), UINT64_C(0x4f39de155a3cf7dd),
    UINT64_C(0xf5c8b04f8e728008), UINT64_C(0xf98f42afde844f95), UINT64_C(0x80a6d329b6b2fe29),
    UINT64_C(0x7baa13a85b48797c), UINT64_C(0x89c668af938310bd), UINT64_C(0xc39000faadb221bc),
    UINT64_C(0x2ad4c5b5137e229e), UINT64_C(0xabf14bc9673f6f6d), UINT64_C(0x1c966b9b269e2581),
    UINT64_C(0xc46bd9409c0049a9), UINT64_C(0x8d7fd98714897428), UINT64_C(0xbcb77995ffc6fde4),
    UINT64_C(0x0dd3951820cfcef7), UINT64_C(0xb30b4be6d7194762), UINT64_C(0x92bc53b730e884ff),
    UINT64_C(0x665a3f6369094446), UINT64_C(0x79982cbc12517bbb), UINT64_C(0x1256b8b46d329921),
    UINT64_C(0xd28af221f12c165c), UINT64_C(0x4d8c1b7739588038), UINT64_C(0xa1bd3e1ec700b7dd),
    UINT64_C(0x9d0f89b5a76b8568), UINT64_C(0xc303bded928339cb), UINT64_C(0x5602fb88862acbeb),
    UINT64_C(0x8b04b9973d49b4e5), UINT64_C(0x083fb1cb634e8f37), UINT64_C(0xf83eab1b1ad2266a),
    UINT64_C(0x22f2ace40c288be0), UINT64_C(0x9beee6be9728250a), UINT64_C(0x87bf0baddde412ed),
    UINT64_C(0x85efe642e2557cd9), UINT64_C(0x763c1ab4265550e9), UINT64_C(0xde1af1dc17a9eed2),
    UINT64_C(0xfa391f967d71bd96), UINT64_C(0x0999b792a3335580),
};

/* ---- mv_value_equal ----------------------------------------------------- */

static void test_value_equal_python_table(void **state)
{
    (void)state;
    size_t n = sizeof py_values / sizeof py_values[0];
    assert_int_equal(n, sizeof py_equal / sizeof py_equal[0]);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(strlen(py_equal[i]), n);
        for (size_t j = 0; j < n; j++) {
            int want = py_equal[i][j] == '1';
            int got = mv_value_equal(&py_values[i], &py_values[j]);
            if (got != want)
                fail_msg("mv_value_equal(values[%zu], values[%zu]) = %d, Python says %d", i, j, got,
                         want);
        }
    }
}

static void test_value_equal_by_hand(void **state)
{
    (void)state;
    mv_value one_i = {.kind = MV_VALUE_SIGNED, .v.i = 1};
    mv_value one_d = {.kind = MV_VALUE_DOUBLE, .v.d = 1.0};
    mv_value true_b = {.kind = MV_VALUE_BOOL, .v.b = true};
    mv_value max_i = {.kind = MV_VALUE_SIGNED, .v.i = INT64_MAX};
    mv_value two63_d = {.kind = MV_VALUE_DOUBLE, .v.d = 9223372036854775808.0};
    mv_value two63_u = {.kind = MV_VALUE_UNSIGNED, .v.u = UINT64_C(1) << 63};
    mv_value minus1 = {.kind = MV_VALUE_SIGNED, .v.i = -1};
    mv_value umax = {.kind = MV_VALUE_UNSIGNED, .v.u = UINT64_MAX};
    mv_value nan_d = {.kind = MV_VALUE_DOUBLE, .v.d = NAN};
    mv_value a = {.kind = MV_VALUE_BYTES, .v.bytes = {(const unsigned char *)"a", 1}};
    mv_value n97 = {.kind = MV_VALUE_UNSIGNED, .v.u = 97};

    assert_true(mv_value_equal(&one_i, &one_d));
    assert_true(mv_value_equal(&true_b, &one_d));
    /* (double)INT64_MAX rounds to 2**63: an exact comparison says no. */
    assert_false(mv_value_equal(&max_i, &two63_d));
    assert_true(mv_value_equal(&two63_u, &two63_d));
    assert_false(mv_value_equal(&minus1, &umax));
    assert_false(mv_value_equal(&nan_d, &nan_d));
    assert_false(mv_value_equal(&a, &n97));
    assert_false(mv_value_equal(NULL, &a));
    assert_false(mv_value_equal(&a, NULL));
    mv_value bad = {.kind = (mv_value_kind)99};
    assert_false(mv_value_equal(&bad, &one_i));
    assert_false(mv_value_equal(&bad, &bad));
}

/* ---- view equality: hand-worked cases ----------------------------------- */

static void test_equal_byte_formats(void **state)
{
    (void)state;
    unsigned char u[3] = {1, 2, 200}, s[3] = {1, 2, 200}, t[3] = {1, 2, 100}, w[3] = {1, 2, 100};
    mv_view *vu = view_1d(u, "B", 1, 3, 1);
    mv_view *vs = view_1d(s, "b", 1, 3, 1);
    mv_view *vt = view_1d(t, "B", 1, 3, 1);
    mv_view *vw = view_1d(w, "@b", 1, 3, 1);
    assert_int_equal(equal(vu, vs), 0); /* 200 != -56 */
    assert_int_equal(equal(vt, vw), 1); /* 100 == 100 */
    assert_int_equal(equal(vu, vu), 1);

    unsigned char ab[2] = {'a', 'b'}, ab2[2] = {'a', 'b'}, ac[2] = {'a', 'c'};
    mv_view *vb = view_1d(ab, "B", 1, 2, 1);
    mv_view *vc = view_1d(ab2, "c", 1, 2, 1);
    mv_view *vc2 = view_1d(ab, "c", 1, 2, 1);
    mv_view *vc3 = view_1d(ac, "c", 1, 2, 1);
    assert_int_equal(equal(vb, vc), 0); /* 97 != b'a' */
    assert_int_equal(equal(vc, vc2), 1);
    assert_int_equal(equal(vc, vc3), 0);
    mv_decref(vu);
    mv_decref(vs);
    mv_decref(vt);
    mv_decref(vw);
    mv_decref(vb);
    mv_decref(vc);
    mv_decref(vc2);
    mv_decref(vc3);
}

static void test_equal_byte_order(void **state)
{
    (void)state;
    const int32_t vals[4] = {1, -2, 0x01020304, INT32_MIN};
    unsigned char le[16], be[16], ne[16], q[32];
    for (int i = 0; i < 4; i++) {
        put_uint(le + 4 * i, 4, true, (uint32_t)vals[i]);
        put_uint(be + 4 * i, 4, false, (uint32_t)vals[i]);
        put_uint(ne + 4 * i, 4, host_little(), (uint32_t)vals[i]);
        put_uint(q + 8 * i, 8, true, (uint64_t)(int64_t)vals[i]);
    }
    mv_view *vl = view_1d(le, "<i", 4, 4, 1);
    mv_view *vb = view_1d(be, ">i", 4, 4, 1);
    mv_view *vbang = view_1d(be, "!i", 4, 4, 1);
    mv_view *vn = view_1d(ne, "i", 4, 4, 1);
    mv_view *vq = view_1d(q, "<q", 8, 4, 1);
    mv_view *vbl = view_1d(be, "<i", 4, 4, 1); /* the same bytes read the other way */
    assert_int_equal(equal(vl, vb), 1);
    assert_int_equal(equal(vl, vbang), 1);
    assert_int_equal(equal(vb, vn), 1);
    assert_int_equal(equal(vn, vq), 1);
    assert_int_equal(equal(vbl, vb), 0);
    assert_int_equal(equal(vbl, vl), 0);

    /* Unsigned vs signed of the same bytes: equal while no value is negative. */
    unsigned char h[4], hs[4];
    put_uint(h, 2, false, 7);
    put_uint(h + 2, 2, false, 40000);
    put_uint(hs, 2, true, 7);
    put_uint(hs + 2, 2, true, (uint16_t)(int16_t)-25536);
    mv_view *vh = view_1d(h, ">H", 2, 2, 1);
    mv_view *vhs = view_1d(hs, "<h", 2, 2, 1);
    assert_int_equal(equal(vh, vhs), 0); /* 40000 != -25536 */
    put_uint(h + 2, 2, false, 300);
    put_uint(hs + 2, 2, true, 300);
    assert_int_equal(equal(vh, vhs), 1);

    unsigned char dl[16], db[16];
    put_double(dl, true, 0.1);
    put_double(dl + 8, true, -3.5);
    put_double(db, false, 0.1);
    put_double(db + 8, false, -3.5);
    mv_view *vdl = view_1d(dl, "<d", 8, 2, 1);
    mv_view *vdb = view_1d(db, ">d", 8, 2, 1);
    assert_int_equal(equal(vdl, vdb), 1);
    mv_view *all[] = {vl, vb, vbang, vn, vq, vbl, vh, vhs, vdl, vdb};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        mv_decref(all[i]);
}

static void test_equal_floats(void **state)
{
    (void)state;
    double dn[2] = {1.0, NAN}, dz[1] = {-0.0}, pz[1] = {0.0};
    mv_view *vnan = view_1d(dn, "d", 8, 2, 1);
    mv_view *vz = view_1d(dz, "d", 8, 1, 1);
    mv_view *vpz = view_1d(pz, "d", 8, 1, 1);
    assert_int_equal(equal(vnan, vnan), 0); /* NaN != NaN even for m == m */
    assert_int_equal(equal(vz, vpz), 1);    /* -0.0 == 0.0, bytes differ */

    double d12[2] = {1.0, 2.0};
    int32_t i12[2] = {1, 2};
    mv_view *vd = view_1d(d12, "d", 8, 2, 1);
    mv_view *vi = view_1d(i12, "i", 4, 2, 1);
    assert_int_equal(equal(vd, vi), 1);

    float f01 = 0.1f, f05 = 0.5f;
    double d01 = 0.1, d05 = 0.5;
    mv_view *vf01 = view_1d(&f01, "f", 4, 1, 1);
    mv_view *vd01 = view_1d(&d01, "d", 8, 1, 1);
    mv_view *vf05 = view_1d(&f05, "f", 4, 1, 1);
    mv_view *vd05 = view_1d(&d05, "d", 8, 1, 1);
    assert_int_equal(equal(vf01, vd01), 0); /* (double)0.1f != 0.1 */
    assert_int_equal(equal(vf05, vd05), 1);
    float fnan = NAN, fmz = -0.0f, fpz = 0.0f;
    mv_view *vfnan = view_1d(&fnan, "f", 4, 1, 1);
    mv_view *vfmz = view_1d(&fmz, "f", 4, 1, 1);
    mv_view *vfpz = view_1d(&fpz, "f", 4, 1, 1);
    assert_int_equal(equal(vfnan, vfnan), 0);
    assert_int_equal(equal(vfmz, vfpz), 1);

    /* Half floats: 0x3c00 is 1.0, 0x7e00 a NaN, 0x8000 -0.0. */
    unsigned char half[6];
    put_uint(half, 2, true, 0x3c00);
    put_uint(half + 2, 2, true, 0x7e00);
    put_uint(half + 4, 2, true, 0x8000);
    mv_view *vh1 = view_1d(half, "<e", 2, 1, 1);
    mv_view *vhn = view_1d(half + 2, "<e", 2, 1, 1);
    mv_view *vhz = view_1d(half + 4, "<e", 2, 1, 1);
    double one = 1.0;
    mv_view *vone = view_1d(&one, "d", 8, 1, 1);
    assert_int_equal(equal(vh1, vone), 1);
    assert_int_equal(equal(vhn, vhn), 0);
    assert_int_equal(equal(vhz, vpz), 1);

    /* Complex: equal to a real when the imaginary part is zero. */
    double c10[2] = {1.0, 0.0}, c11[2] = {1.0, 1.0}, cnz[2] = {1.0, -0.0};
    mv_view *vc10 = view_1d(c10, "Zd", 16, 1, 1);
    mv_view *vc11 = view_1d(c11, "Zd", 16, 1, 1);
    mv_view *vcnz = view_1d(cnz, "Zd", 16, 1, 1);
    assert_int_equal(equal(vc10, vone), 1);
    assert_int_equal(equal(vc11, vone), 0);
    assert_int_equal(equal(vc10, vcnz), 1);
    float cf[2] = {1.0f, 0.0f};
    mv_view *vcf = view_1d(cf, "Zf", 8, 1, 1);
    assert_int_equal(equal(vcf, vc10), 1);
    int32_t one_i = 1;
    mv_view *vone_i = view_1d(&one_i, "i", 4, 1, 1);
    assert_int_equal(equal(vcf, vone_i), 1);

    /* Integers above 2**53 compare exactly with doubles. */
    uint64_t two63 = UINT64_C(1) << 63;
    int64_t imax = INT64_MAX;
    double d63 = 9223372036854775808.0;
    mv_view *vu63 = view_1d(&two63, "Q", 8, 1, 1);
    mv_view *vimax = view_1d(&imax, "q", 8, 1, 1);
    mv_view *vd63 = view_1d(&d63, "d", 8, 1, 1);
    assert_int_equal(equal(vu63, vd63), 1);
    assert_int_equal(equal(vimax, vd63), 0);
    int64_t big = (INT64_C(1) << 53) + 1;
    double dbig = 9007199254740992.0;
    mv_view *vbig = view_1d(&big, "q", 8, 1, 1);
    mv_view *vdbig = view_1d(&dbig, "d", 8, 1, 1);
    assert_int_equal(equal(vbig, vdbig), 0);

    mv_view *all[] = {vnan,  vz,   vpz,    vd,   vi,    vf01, vd01, vf05, vd05,
                      vfnan, vfmz, vfpz,   vh1,  vhn,   vhz,  vone, vc10, vc11,
                      vcnz,  vcf,  vone_i, vu63, vimax, vd63, vbig, vdbig};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        mv_decref(all[i]);
}

static void test_equal_bool_padding_strings(void **state)
{
    (void)state;
    /* '?': any non-zero byte is True, so different bytes can be equal. */
    unsigned char b2[2] = {2, 0}, b1[2] = {1, 0}, u1[1] = {1}, u2[1] = {2};
    mv_view *vb2 = view_1d(b2, "?", 1, 2, 1);
    mv_view *vb1 = view_1d(b1, "?", 1, 2, 1);
    mv_view *vb2one = view_1d(b2, "?", 1, 1, 1);
    mv_view *vu1 = view_1d(u1, "B", 1, 1, 1);
    mv_view *vu2 = view_1d(u2, "B", 1, 1, 1);
    assert_int_equal(equal(vb2, vb1), 1);
    assert_int_equal(equal(vb2one, vu1), 1); /* True == 1 */
    assert_int_equal(equal(vb2one, vu2), 0); /* True != 2 */

    /* Padding bytes carry no value. */
    unsigned char p1[4] = {5, 0xaa, 6, 0xbb}, p2[4] = {5, 0x11, 6, 0x22}, plain[2] = {5, 6};
    mv_view *vp1 = view_1d(p1, "bx", 2, 2, 1);
    mv_view *vp2 = view_1d(p2, "bx", 2, 2, 1);
    mv_view *vplain = view_1d(plain, "b", 1, 2, 1);
    assert_int_equal(equal(vp1, vp2), 1);
    assert_int_equal(equal(vp1, vplain), 1);
    p2[2] = 7;
    assert_int_equal(equal(vp1, vp2), 0);

    /* Alignment padding: native "bi" puts 3 pad bytes after the 'b'. */
    struct {
        int8_t b;
        int32_t i;
    } a1[2], a2[2];
    assert_int_equal(sizeof a1[0], 8);
    memset(a1, 0x55, sizeof a1);
    memset(a2, 0x66, sizeof a2);
    for (int k = 0; k < 2; k++) {
        a1[k].b = a2[k].b = (int8_t)(k - 5);
        a1[k].i = a2[k].i = 1000 * k - 7;
    }
    mv_view *va1 = view_1d(a1, "bi", 8, 2, 1);
    mv_view *va2 = view_1d(a2, "bi", 8, 2, 1);
    assert_int_equal(equal(va1, va2), 1);
    a2[1].i = 0;
    assert_int_equal(equal(va1, va2), 0);
    mv_decref(va1);
    mv_decref(va2);

    /* 's' compares all its bytes; 'p' only the counted ones. */
    unsigned char s1[6] = "abcabd", s2[6] = "abcabc";
    mv_view *vs1 = view_1d(s1, "3s", 3, 2, 1);
    mv_view *vs2 = view_1d(s2, "3s", 3, 2, 1);
    assert_int_equal(equal(vs1, vs2), 0);
    s1[5] = 'c';
    assert_int_equal(equal(vs1, vs2), 1);
    unsigned char q1[4] = {2, 'a', 'b', 'X'}, q2[4] = {2, 'a', 'b', 'Y'},
                  q3[4] = {3, 'a', 'b', 'Y'};
    mv_view *vq1 = view_1d(q1, "4p", 4, 1, 1);
    mv_view *vq2 = view_1d(q2, "4p", 4, 1, 1);
    mv_view *vq3 = view_1d(q3, "4p", 4, 1, 1);
    assert_int_equal(equal(vq1, vq2), 1);
    assert_int_equal(equal(vq2, vq3), 0);

    mv_view *all[] = {vb2, vb1, vb2one, vu1, vu2, vp1, vp2, vplain, vs1, vs2, vq1, vq2, vq3};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        mv_decref(all[i]);
}

static void test_equal_records(void **state)
{
    (void)state;
    /* Standard sizes, no alignment: i at 0, d at 4, 12 bytes. */
    unsigned char r[24], s[24], q[32];
    put_uint(r, 4, true, 7);
    put_double(r + 4, true, 2.0);
    put_uint(r + 12, 4, true, (uint32_t)-1);
    put_double(r + 16, true, 4.0);
    memcpy(s, r, sizeof s);
    /* "<i4x<q": i at 0, q at 8, 16 bytes; the pad bytes are garbage. */
    memset(q, 0xee, sizeof q);
    put_uint(q, 4, true, 7);
    put_uint(q + 8, 8, true, 2);
    put_uint(q + 16, 4, true, (uint32_t)-1);
    put_uint(q + 24, 8, true, 4);
    mv_view *vr = view_1d(r, "T{<i:a:<d:b:}", 12, 2, 1);
    mv_view *vs = view_1d(s, "<id", 12, 2, 1);
    mv_view *vq = view_1d(q, "<I4x<q", 16, 2, 1);
    mv_view *vq2 = view_1d(q, "<i4x<q", 16, 2, 1);
    assert_int_equal(equal(vr, vs), 1);
    assert_int_equal(equal(vr, vq), 0); /* second item: -1 vs 4294967295 ('I') */
    assert_int_equal(equal(vr, vq2), 1);
    put_double(s + 16, true, 4.5);
    assert_int_equal(equal(vr, vs), 0);
    put_double(r + 16, true, 4.5);
    assert_int_equal(equal(vr, vs), 1);
    assert_int_equal(equal(vr, vq2), 0);

    /* Different numbers of values per item never compare equal. */
    int32_t two[2] = {1, 2};
    int64_t one[1] = {1};
    mv_view *v2i = view_1d(two, "2i", 8, 1, 1);
    mv_view *vq1 = view_1d(one, "q", 8, 1, 1);
    assert_int_equal(equal(v2i, vq1), 0);
    mv_view *vii = view_1d(two, "ii", 8, 1, 1);
    assert_int_equal(equal(v2i, vii), 1);

    mv_view *all[] = {vr, vs, vq, vq2, v2i, vq1, vii};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        mv_decref(all[i]);
}

static void test_equal_unparseable_format(void **state)
{
    (void)state;
    unsigned char mem[1] = {1}, other[1] = {1};
    mv_view *bad = view_raw_format(mem, "Y");
    mv_view *bad2 = view_raw_format(other, "T{>q:x:");
    mv_view *good = view_1d(other, "B", 1, 1, 1);
    assert_int_equal(equal(bad, bad), 0); /* as CPython: even a == a */
    assert_int_equal(equal(bad, good), 0);
    assert_int_equal(equal(bad, bad2), 0);
    mv_decref(bad);
    mv_decref(bad2);
    mv_decref(good);
}

static void test_equal_shapes(void **state)
{
    (void)state;
    unsigned char m[6] = {0, 1, 2, 3, 4, 5};
    ptrdiff_t s23[2] = {2, 3}, s32[2] = {3, 2}, s6[1] = {6};
    mv_view *v23 = view_layout(m, "B", 1, 2, s23, NULL, NULL, 1);
    mv_view *v32 = view_layout(m, "B", 1, 2, s32, NULL, NULL, 1);
    mv_view *v6 = view_layout(m, "B", 1, 1, s6, NULL, NULL, 1);
    assert_int_equal(equal(v23, v32), 0);
    assert_int_equal(equal(v23, v6), 0);
    assert_int_equal(equal(v23, v23), 1);

    /* Zero extents: equal once the extents up to the first 0 match. */
    ptrdiff_t s03[2] = {0, 3}, s05[2] = {0, 5}, s20[2] = {2, 0}, s30[2] = {3, 0};
    ptrdiff_t s203[3] = {2, 0, 3}, s204[3] = {2, 0, 4}, s0[1] = {0};
    mv_view *v03 = view_layout(m, "B", 1, 2, s03, NULL, NULL, 1);
    mv_view *v05 = view_layout(m, "d", 8, 2, s05, NULL, NULL, 1);
    mv_view *v20 = view_layout(m, "B", 1, 2, s20, NULL, NULL, 1);
    mv_view *v30 = view_layout(m, "B", 1, 2, s30, NULL, NULL, 1);
    mv_view *v203 = view_layout(m, "B", 1, 3, s203, NULL, NULL, 1);
    mv_view *v204 = view_layout(m, "i", 4, 3, s204, NULL, NULL, 1);
    mv_view *v0 = view_layout(m, "B", 1, 1, s0, NULL, NULL, 1);
    mv_view *v0c = view_layout(m, "2q", 16, 1, s0, NULL, NULL, 1);
    assert_int_equal(equal(v03, v05), 1);
    assert_int_equal(equal(v20, v30), 0);
    assert_int_equal(equal(v20, v20), 1);
    assert_int_equal(equal(v203, v204), 1);
    assert_int_equal(equal(v0, v0c), 1); /* no items to differ */
    assert_int_equal(equal(v0, v03), 0); /* ndim differs */

    /* 0-dim views: one item each. */
    int32_t five = 5, six = 6;
    double fived = 5.0;
    mv_view *z5 = view_0d(&five, "i", 4);
    mv_view *z6 = view_0d(&six, "i", 4);
    mv_view *z5d = view_0d(&fived, "d", 8);
    mv_view *one5 = view_1d(&five, "i", 4, 1, 1);
    assert_int_equal(equal(z5, z5d), 1);
    assert_int_equal(equal(z5, z6), 0);
    assert_int_equal(equal(z5, one5), 0);

    mv_view *all[] = {v23, v32, v6, v03, v05, v20, v30, v203, v204, v0, v0c, z5, z6, z5d, one5};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        mv_decref(all[i]);
}

/* ---- view equality against a naive model -------------------------------- */

typedef struct kind_info {
    const char *format;
    int size;
    char type;  /* 'i' signed, 'u' unsigned, 'f' float, 'd' double, '?' bool */
    char order; /* '<', '>', or '=' native */
} kind_info;

static const kind_info kinds[] = {
    {"b", 1, 'i', '='},  {"B", 1, 'u', '='},  {"h", 2, 'i', '='},  {"<i", 4, 'i', '<'},
    {">i", 4, 'i', '>'}, {"i", 4, 'i', '='},  {">Q", 8, 'u', '>'}, {"d", 8, 'd', '='},
    {">d", 8, 'd', '>'}, {"<f", 4, 'f', '<'}, {"f", 4, 'f', '='},  {"?", 1, '?', '='},
};

static const double pool[] = {0, 1, 2, -1, 100, 0.5, -0.0, NAN, 255, 127, -128, 3};

static bool representable(const kind_info *k, double v)
{
    if (k->type == 'd' || k->type == 'f')
        return true;
    if (isnan(v) || v != floor(v))
        return false;
    if (k->type == '?')
        return v == 0 || v == 1;
    if (k->type == 'u')
        return v >= 0 && v < ldexp(1, 8 * k->size);
    return v >= -ldexp(1, 8 * k->size - 1) && v < ldexp(1, 8 * k->size - 1);
}

static void store(const kind_info *k, unsigned char *p, double v, rng *r)
{
    bool little = k->order == '<' || (k->order == '=' && host_little());
    switch (k->type) {
    case 'd':
        put_double(p, little, v);
        break;
    case 'f':
        put_float(p, little, (float)v);
        break;
    case '?':
        /* Any non-zero byte is True. */
        p[0] = v != 0 ? (unsigned char)(1 + rng_below(r, 255)) : 0;
        break;
    case 'u':
        put_uint(p, k->size, little, (uint64_t)v);
        break;
    default:
        put_uint(p, k->size, little, (uint64_t)(int64_t)v);
        break;
    }
}

/* A random strided layout of `shape`: padded, possibly reversed strides, in
 * a block of *memlen bytes; *offset is where the logical start lies. */
static void random_layout(rng *r, int ndim, const ptrdiff_t *shape, ptrdiff_t itemsize,
                          ptrdiff_t *strides, ptrdiff_t *offset, ptrdiff_t *memlen)
{
    ptrdiff_t acc = itemsize * (1 + rng_below(r, 2));
    *offset = 0;
    for (int d = ndim - 1; d >= 0; d--) {
        ptrdiff_t ext = shape[d] > 0 ? shape[d] : 1;
        bool neg = rng_below(r, 3) == 0;
        strides[d] = neg ? -acc : acc;
        if (neg)
            *offset += acc * (ext - 1);
        acc *= ext * (1 + rng_below(r, 2));
    }
    *memlen = acc + itemsize;
}

static ptrdiff_t model_offset(int ndim, const ptrdiff_t *strides, const ptrdiff_t *idx)
{
    ptrdiff_t off = 0;
    for (int d = 0; d < ndim; d++)
        off += idx[d] * strides[d];
    return off;
}

static bool next_index(int ndim, const ptrdiff_t *shape, ptrdiff_t *idx)
{
    for (int d = ndim - 1; d >= 0; d--) {
        if (++idx[d] < shape[d])
            return true;
        idx[d] = 0;
    }
    return false;
}

static void test_equal_random_model(void **state)
{
    (void)state;
    rng r = {0x9e3779b97f4a7c15u};
    int nequal = 0, trials = 3000;
    for (int t = 0; t < trials; t++) {
        const kind_info *ka = &kinds[rng_below(&r, sizeof kinds / sizeof kinds[0])];
        const kind_info *kb =
            rng_below(&r, 2) ? ka : &kinds[rng_below(&r, sizeof kinds / sizeof kinds[0])];
        int ndim = (int)rng_below(&r, 4);
        ptrdiff_t shape[3] = {0, 0, 0}, shape_b[3];
        for (int d = 0; d < ndim; d++)
            shape[d] = rng_below(&r, 10) == 0 ? 0 : 1 + rng_below(&r, 4);
        memcpy(shape_b, shape, sizeof shape);
        bool reshaped = ndim > 0 && rng_below(&r, 10) == 0;
        if (reshaped)
            shape_b[rng_below(&r, ndim)] += 1;

        ptrdiff_t sa[3], sb[3], oa, ob, la, lb;
        random_layout(&r, ndim, shape, ka->size, sa, &oa, &la);
        random_layout(&r, ndim, shape_b, kb->size, sb, &ob, &lb);
        unsigned char *ma = malloc((size_t)la), *mb = malloc((size_t)lb);
        assert_non_null(ma);
        assert_non_null(mb);
        for (ptrdiff_t i = 0; i < la; i++)
            ma[i] = (unsigned char)rng_next(&r);
        for (ptrdiff_t i = 0; i < lb; i++)
            mb[i] = (unsigned char)rng_next(&r);

        /* Fill both with the same values, then perhaps change one in b. */
        bool model_equal = true;
        bool has_zero = false;
        for (int d = 0; d < ndim; d++)
            has_zero |= shape[d] == 0 || shape_b[d] == 0;
        if (reshaped) {
            /* equiv_shape: a differing extent before any zero decides. */
            for (int d = 0; d < ndim; d++) {
                if (shape[d] != shape_b[d]) {
                    model_equal = false;
                    break;
                }
                if (shape[d] == 0)
                    break;
            }
        }
        ptrdiff_t idx[3] = {0, 0, 0};
        ptrdiff_t nitems = product(ndim, shape);
        ptrdiff_t change = rng_below(&r, 2) && nitems > 0 ? rng_below(&r, nitems) : -1;
        for (ptrdiff_t item = 0; !reshaped && !has_zero && item < nitems; item++) {
            double va, vb;
            do {
                va = pool[rng_below(&r, sizeof pool / sizeof pool[0])];
            } while (!representable(ka, va) || !representable(kb, va));
            vb = va;
            if (item == change) {
                do {
                    vb = pool[rng_below(&r, sizeof pool / sizeof pool[0])];
                } while (!representable(kb, vb));
            }
            store(ka, ma + oa + model_offset(ndim, sa, idx), va, &r);
            store(kb, mb + ob + model_offset(ndim, sb, idx), vb, &r);
            if (!(va == vb))
                model_equal = false;
            next_index(ndim, shape, idx);
        }
        if (has_zero && !reshaped)
            model_equal = true;

        mv_view *a = view_layout(ma + oa, ka->format, ka->size, ndim, shape, sa, NULL, 1);
        mv_view *b = view_layout(mb + ob, kb->format, kb->size, ndim, shape_b, sb, NULL, 1);
        int got = equal(a, b);
        if (got != (int)model_equal)
            fail_msg("trial %d: '%s' vs '%s' ndim %d: got %d, model %d", t, ka->format, kb->format,
                     ndim, got, model_equal);
        nequal += got;
        mv_decref(a);
        mv_decref(b);
        free(ma);
        free(mb);
    }
    /* Both outcomes must be well represented for the test to mean much. */
    assert_true(nequal > trials / 5);
    assert_true(nequal < trials * 4 / 5);
}

/* ---- suboffsets --------------------------------------------------------- */

static void test_equal_suboffsets(void **state)
{
    (void)state;
    /* PIL style: a 3x4 array of doubles reached through row pointers, the
     * pointer array walked backwards, each row starting one double in. */
    double rows[3][5];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 5; j++)
            rows[i][j] = i * 10 + j + 0.25;
    char *ptrs[3] = {(char *)rows[2], (char *)rows[0], (char *)rows[1]};
    ptrdiff_t shape[2] = {3, 4};
    ptrdiff_t strides[2] = {-(ptrdiff_t)sizeof(char *), sizeof(double)};
    ptrdiff_t subs[2] = {sizeof(double), -1};
    /* The naive model: logical row i is ptrs[2 - i], item j sits at
     * suboffset + j * stride. */
    double expect[12];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++)
            memcpy(&expect[i * 4 + j], ptrs[2 - i] + sizeof(double) + j * sizeof(double),
                   sizeof(double));
    assert_true(expect[0] == 11.25 && expect[4] == 1.25 && expect[11] == 24.25);
    mv_view *pil = view_layout(&ptrs[2], "d", 8, 2, shape, strides, subs, 1);
    mv_view *ex = view_layout(expect, "d", 8, 2, shape, NULL, NULL, 1);
    int32_t ints[12];
    for (int k = 0; k < 12; k++)
        ints[k] = (int32_t)expect[k];
    mv_view *vi = view_layout(ints, "i", 4, 2, shape, NULL, NULL, 1);
    assert_int_equal(equal(pil, ex), 1);
    assert_int_equal(equal(pil, vi), 0); /* 11.25 != 11 */
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 5; j++)
            rows[i][j] = i * 10 + j;
    for (int k = 0; k < 12; k++)
        expect[k] = floor(expect[k]);
    assert_int_equal(equal(pil, ex), 1);
    assert_int_equal(equal(pil, vi), 1);
    expect[5] += 1;
    assert_int_equal(equal(pil, ex), 0);

    /* Raw comparison through pointers: the same as bytes. */
    unsigned char brow[2][3] = {{1, 2, 3}, {4, 5, 6}}, bflat[6] = {4, 5, 6, 1, 2, 3};
    char *bptrs[2] = {(char *)brow[1], (char *)brow[0]};
    ptrdiff_t bshape[2] = {2, 3}, bstrides[2] = {sizeof(char *), 1}, bsubs[2] = {0, -1};
    mv_view *bp = view_layout(bptrs, "B", 1, 2, bshape, bstrides, bsubs, 1);
    mv_view *bf = view_layout(bflat, "B", 1, 2, bshape, NULL, NULL, 1);
    assert_int_equal(equal(bp, bf), 1);
    bflat[4] = 0;
    assert_int_equal(equal(bp, bf), 0);
    mv_decref(pil);
    mv_decref(ex);
    mv_decref(vi);
    mv_decref(bp);
    mv_decref(bf);
}

static void test_equal_suboffsets_last_dim(void **state)
{
    (void)state;
    /* 1-D, every item reached through its own pointer. */
    int32_t a = 3, b = -4, c = 5;
    char *ptrs[3] = {(char *)&c, (char *)&a, (char *)&b};
    ptrdiff_t shape[1] = {3}, strides[1] = {sizeof(char *)}, subs[1] = {0};
    int32_t plain[3] = {5, 3, -4};
    int64_t wide[3] = {5, 3, -4};
    mv_view *pv = view_layout(ptrs, "i", 4, 1, shape, strides, subs, 1);
    mv_view *vp = view_1d(plain, "i", 4, 3, 1);
    mv_view *vw = view_1d(wide, "q", 8, 3, 1);
    assert_int_equal(equal(pv, vp), 1);
    assert_int_equal(equal(pv, vw), 1);
    b = 4;
    assert_int_equal(equal(pv, vp), 0);
    assert_int_equal(equal(pv, vw), 0);
    mv_decref(pv);
    mv_decref(vp);
    mv_decref(vw);

    /* Pointers as wide as the items: stride == itemsize yet indirect. */
    int64_t x = 10, y = 20, z = 30;
    int64_t *qptrs[3] = {&z, &x, &y};
    int64_t qplain[3] = {30, 10, 20};
    ptrdiff_t qstrides[1] = {sizeof(int64_t *)};
    assert_int_equal(qstrides[0], 8);
    mv_view *qv = view_layout(qptrs, "q", 8, 1, shape, qstrides, subs, 1);
    mv_view *qp = view_1d(qplain, "q", 8, 3, 1);
    assert_int_equal(equal(qv, qp), 1);
    y = 21;
    assert_int_equal(equal(qv, qp), 0);
    mv_decref(qv);
    mv_decref(qp);
}

/* ---- released, hostile -------------------------------------------------- */

static void test_equal_released(void **state)
{
    (void)state;
    mv_view *rel = released_view();
    mv_view *rel2 = released_view();
    unsigned char mem[4] = {1, 2, 3, 4};
    mv_view *live = view_1d(mem, "B", 1, 4, 1);
    mv_error err;
    mv_error_clear(&err);
    assert_int_equal(mv_view_equal(rel, rel, &err), 1);
    assert_int_equal(mv_view_equal(rel, live, &err), 0);
    assert_int_equal(mv_view_equal(live, rel, &err), 0);
    assert_int_equal(mv_view_equal(rel, rel2, &err), 0);
    assert_int_equal(err.code, MV_OK);
    mv_decref(rel);
    mv_decref(rel2);
    mv_decref(live);
}

static void test_equal_hostile(void **state)
{
    (void)state;
    unsigned char mem[8] = {0};
    mv_view *v = view_1d(mem, "B", 1, 8, 1);
    mv_error err;
    mv_error_clear(&err);
    assert_true(mv_view_equal(NULL, v, &err) < 0);
    assert_int_equal(err.code, MV_EVALUE);
    assert_true(mv_view_equal(v, NULL, NULL) < 0);
    assert_true(mv_buffer_equal(NULL, mv_view_buffer(v, NULL), &err) < 0);

    /* Simple buffers without shape, strides or format are 1-D bytes. */
    mv_buffer a, b;
    assert_int_equal(mv_buffer_fill_info(&a, NULL, mem, 8, 1, MV_BUF_SIMPLE, NULL), 0);
    assert_int_equal(mv_buffer_fill_info(&b, NULL, mem, 8, 1, MV_BUF_SIMPLE, NULL), 0);
    assert_null(a.shape);
    assert_int_equal(mv_buffer_equal(&a, &b, &err), 1);
    assert_int_equal(mv_buffer_equal(&a, mv_view_buffer(v, NULL), &err), 1);

    mv_buffer bad = a;
    bad.ndim = MV_MAX_NDIM + 1;
    mv_error_clear(&err);
    assert_true(mv_buffer_equal(&bad, &b, &err) < 0);
    assert_int_equal(err.code, MV_EVALUE);
    bad = a;
    bad.len = -1;
    assert_true(mv_buffer_equal(&a, &bad, &err) < 0);
    ptrdiff_t negshape = -1;
    bad = a;
    bad.shape = &negshape;
    assert_true(mv_buffer_equal(&a, &bad, &err) < 0);
    /* A format whose items are bigger than itemsize says. */
    bad = a;
    bad.format = "i";
    mv_error_clear(&err);
    assert_true(mv_buffer_equal(&bad, &b, &err) < 0);
    assert_int_equal(err.code, MV_EVALUE);
    /* An unparseable format is not an error: just unequal. */
    bad = a;
    bad.format = "Y";
    assert_int_equal(mv_buffer_equal(&bad, &b, &err), 0);
    /* An overflowing shape. */
    ptrdiff_t huge[2] = {PTRDIFF_MAX / 2, 4};
    bad = a;
    bad.ndim = 2;
    bad.shape = huge;
    mv_error_clear(&err);
    assert_true(mv_buffer_equal(&bad, &b, &err) < 0);
    mv_decref(v);
}

static void test_equal_alloc_sweep(void **state)
{
    (void)state;
    int32_t m32[40];
    int64_t m64[40];
    for (int i = 0; i < 40; i++) {
        m32[i] = i - 7;
        m64[i] = i - 7;
    }
    mv_view *a = view_1d(m32, "20i", 80, 2, 1);
    mv_view *b = view_1d(m64, "20q", 160, 2, 1);
    int rc = -1;
    for (long n = 0; n < 100; n++) {
        mv_error err;
        mv_error_clear(&err);
        mv_test_fail_after(n);
        rc = mv_view_equal(a, b, &err);
        long failed = mv_test_failed_allocations();
        mv_test_fail_after(-1);
        if (rc >= 0)
            break;
        assert_int_equal(rc, MV_ENOMEM);
        assert_int_equal(err.code, MV_ENOMEM);
        assert_true(failed > 0);
    }
    assert_int_equal(rc, 1);

    const mv_buffer *ba = mv_view_buffer(a, NULL), *bb = mv_view_buffer(b, NULL);
    rc = -1;
    for (long n = 0; n < 100; n++) {
        mv_error err;
        mv_error_clear(&err);
        mv_test_fail_after(n);
        rc = mv_buffer_equal(ba, bb, &err);
        mv_test_fail_after(-1);
        if (rc >= 0)
            break;
        assert_int_equal(rc, MV_ENOMEM);
        assert_int_equal(err.code, MV_ENOMEM);
    }
    assert_int_equal(rc, 1);
    mv_decref(a);
    mv_decref(b);
}

/* ---- hashing ------------------------------------------------------------ */

static void test_hash_bytes_vectors(void **state)
{
    (void)state;
    unsigned char data[64];
    for (int i = 0; i < 64; i++)
        data[i] = (unsigned char)i;
    for (int n = 0; n <= 64; n++)
        assert_true(mv_hash_bytes(data, (size_t)n) == sip_vectors[n]);
    assert_true(mv_hash_bytes(NULL, 0) == sip_vectors[0]);
}

static uint64_t hash_of(const mv_view *v)
{
    uint64_t h = 0;
    mv_error err;
    mv_error_clear(&err);
    if (mv_view_hash(v, &h, &err) < 0)
        fail_msg("mv_view_hash: %s", err.message);
    return h;
}

static void test_hash_byte_views(void **state)
{
    (void)state;
    unsigned char mem[60];
    for (int i = 0; i < 60; i++)
        mem[i] = (unsigned char)(i * 7 + 3);

    /* Every shape below is checked against the bytes gathered naively. */
    struct {
        int ndim;
        ptrdiff_t shape[2];
        ptrdiff_t strides[2];
        ptrdiff_t offset;
    } cases[] = {
        {1, {60, 0}, {1, 0}, 0}, {1, {20, 0}, {3, 0}, 0}, {1, {30, 0}, {-2, 0}, 59},
        {2, {5, 6}, {6, 1}, 0},  {2, {5, 6}, {1, 5}, 0},  {2, {3, 4}, {-20, 2}, 41},
        {1, {0, 0}, {1, 0}, 0},  {2, {4, 0}, {1, 1}, 0},  {1, {7, 0}, {0, 0}, 5},
        {2, {6, 9}, {9, 1}, 3},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        unsigned char gathered[64];
        ptrdiff_t n = 0;
        ptrdiff_t idx[2] = {0, 0};
        ptrdiff_t total = product(cases[c].ndim, cases[c].shape);
        for (ptrdiff_t k = 0; k < total; k++) {
            gathered[n++] =
                mem[cases[c].offset + model_offset(cases[c].ndim, cases[c].strides, idx)];
            next_index(cases[c].ndim, cases[c].shape, idx);
        }
        uint64_t want = mv_hash_bytes(gathered, (size_t)n);
        const char *fmts[] = {"B", "b", "c", "@B"};
        for (int f = 0; f < 4; f++) {
            mv_view *v = view_layout(mem + cases[c].offset, fmts[f], 1, cases[c].ndim,
                                     cases[c].shape, cases[c].strides, NULL, 1);
            if (hash_of(v) != want)
                fail_msg("case %zu format %s: hash differs from hash of gathered bytes", c,
                         fmts[f]);
            mv_decref(v);
        }
    }

    /* 0-dim and indirect byte views. */
    mv_view *z = view_0d(mem + 9, "B", 1);
    assert_true(hash_of(z) == mv_hash_bytes(mem + 9, 1));
    mv_decref(z);
    unsigned char *ptrs[3] = {mem + 10, mem + 20, mem + 30};
    ptrdiff_t shape[1] = {3}, strides[1] = {sizeof(char *)}, subs[1] = {2};
    unsigned char want3[3] = {mem[12], mem[22], mem[32]};
    mv_view *ind = view_layout(ptrs, "B", 1, 1, shape, strides, subs, 1);
    assert_true(hash_of(ind) == mv_hash_bytes(want3, 3));
    mv_decref(ind);
}

static void test_hash_values(void **state)
{
    (void)state;
    double d1[3] = {1.0, -0.0, 2.5}, d2[3] = {1.0, 0.0, 2.5};
    mv_view *v1 = view_1d(d1, "d", 8, 3, 1);
    mv_view *v2 = view_1d(d2, "d", 8, 3, 1);
    assert_int_equal(equal(v1, v2), 1);
    assert_true(hash_of(v1) == hash_of(v2));

    int32_t i3[3] = {7, 0, -3};
    double di3[3] = {7.0, -0.0, -3.0};
    unsigned char be[12];
    for (int i = 0; i < 3; i++)
        put_uint(be + 4 * i, 4, false, (uint32_t)i3[i]);
    mv_view *vi = view_1d(i3, "i", 4, 3, 1);
    mv_view *vdi = view_1d(di3, "d", 8, 3, 1);
    mv_view *vbe = view_1d(be, ">i", 4, 3, 1);
    assert_true(hash_of(vi) == hash_of(vdi));
    assert_true(hash_of(vi) == hash_of(vbe));
    i3[2] = 3;
    assert_true(hash_of(vi) != hash_of(vbe));

    uint64_t u63 = UINT64_C(1) << 63;
    int64_t imax = INT64_MAX;
    double d63 = 9223372036854775808.0;
    mv_view *vu = view_1d(&u63, "Q", 8, 1, 1);
    mv_view *vm = view_1d(&imax, "q", 8, 1, 1);
    mv_view *vd = view_1d(&d63, "d", 8, 1, 1);
    assert_true(hash_of(vu) == hash_of(vd));
    assert_true(hash_of(vm) != hash_of(vd));

    double cz1[2] = {-0.0, 1.5}, cz2[2] = {0.0, 1.5};
    mv_view *vcz1 = view_1d(cz1, "Zd", 16, 1, 1);
    mv_view *vcz2 = view_1d(cz2, "Zd", 16, 1, 1);
    assert_int_equal(equal(vcz1, vcz2), 1);
    assert_true(hash_of(vcz1) == hash_of(vcz2));
    mv_decref(vcz1);
    mv_decref(vcz2);

    double c[2] = {4.0, 0.0};
    int16_t four = 4;
    mv_view *vc = view_1d(c, "Zd", 16, 1, 1);
    mv_view *v4 = view_1d(&four, "h", 2, 1, 1);
    assert_true(hash_of(vc) == hash_of(v4));

    /* Strided and 0-dim views hash by their logical items. */
    double spaced[6] = {1.0, 99.0, -0.0, 99.0, 2.5, 99.0};
    ptrdiff_t s3[1] = {3}, st[1] = {16};
    mv_view *vs = view_layout(spaced, "d", 8, 1, s3, st, NULL, 1);
    assert_true(hash_of(vs) == hash_of(v1));
    mv_view *z = view_0d(&d63, "d", 8);
    mv_view *z2 = view_0d(&u63, "Q", 8);
    assert_true(hash_of(z) == hash_of(z2));

    /* Records hash field by field. */
    unsigned char r1[12], r2[16];
    put_uint(r1, 4, true, 5);
    put_double(r1 + 4, true, 6.0);
    put_uint(r2, 4, true, 5);
    put_uint(r2 + 8, 8, true, 6);
    mv_view *vr1 = view_1d(r1, "<id", 12, 1, 1);
    mv_view *vr2 = view_1d(r2, "<i4x<q", 16, 1, 1);
    assert_int_equal(equal(vr1, vr2), 1);
    assert_true(hash_of(vr1) == hash_of(vr2));

    mv_view *all[] = {v1, v2, vi, vdi, vbe, vu, vm, vd, vc, v4, vs, z, z2, vr1, vr2};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        mv_decref(all[i]);
}

static void test_hash_equal_views_property(void **state)
{
    (void)state;
    /* Views that compare equal (non-byte formats) hash alike. */
    rng r = {12345};
    const kind_info *num[] = {&kinds[2], &kinds[3], &kinds[4], &kinds[6],
                              &kinds[7], &kinds[8], &kinds[9], &kinds[11]};
    int pairs = 0;
    for (int t = 0; t < 2000; t++) {
        const kind_info *ka = num[rng_below(&r, 8)], *kb = num[rng_below(&r, 8)];
        unsigned char ma[64], mb[64];
        ptrdiff_t n = 1 + rng_below(&r, 6);
        for (ptrdiff_t i = 0; i < n; i++) {
            double v;
            do {
                v = pool[rng_below(&r, 4)];
            } while (!representable(ka, v) || !representable(kb, v));
            store(ka, ma + i * ka->size, v, &r);
            store(kb, mb + i * kb->size, v, &r);
        }
        mv_view *a = view_1d(ma, ka->format, ka->size, n, 1);
        mv_view *b = view_1d(mb, kb->format, kb->size, n, 1);
        if (equal(a, b)) {
            pairs++;
            if (hash_of(a) != hash_of(b))
                fail_msg("'%s' and '%s' compare equal but hash differently", ka->format,
                         kb->format);
        }
        mv_decref(a);
        mv_decref(b);
    }
    assert_true(pairs > 1000);
}

static void test_hash_errors(void **state)
{
    (void)state;
    unsigned char mem[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    mv_view *w = view_1d(mem, "B", 1, 8, 0);
    mv_view *wi = view_1d(mem, "i", 4, 2, 0);
    uint64_t h = 42;
    mv_error err;
    mv_error_clear(&err);
    expect_error(mv_view_hash(w, &h, &err), &err, MV_EVALUE,
                 "cannot hash writable memoryview object");
    expect_error(mv_view_hash(wi, &h, &err), &err, MV_EVALUE,
                 "cannot hash writable memoryview object");
    assert_true(h == 42);
    mv_view *rel = released_view();
    expect_error(mv_view_hash(rel, &h, &err), &err, MV_EVALUE, RELEASED_MSG);
    assert_true(mv_view_hash(NULL, &h, &err) < 0);
    mv_view *ro = view_1d(mem, "B", 1, 8, 1);
    assert_true(mv_view_hash(ro, NULL, &err) < 0);
    assert_true(mv_view_hash(ro, &h, NULL) == 0);
    /* A non-byte format that does not parse cannot be hashed by value. */
    mv_view *bad = view_raw_format(mem, "Y");
    mv_error_clear(&err);
    assert_true(mv_view_hash(bad, &h, &err) < 0);
    assert_int_equal(err.code, MV_EVALUE);
    mv_decref(w);
    mv_decref(wi);
    mv_decref(rel);
    mv_decref(ro);
    mv_decref(bad);
}

static void test_hash_alloc_sweep(void **state)
{
    (void)state;
    int32_t m[40];
    for (int i = 0; i < 40; i++)
        m[i] = i * i;
    mv_view *v = view_1d(m, "20i", 80, 2, 1);
    uint64_t want = hash_of(v), h = 0;
    int rc = -1;
    for (long n = 0; n < 100; n++) {
        mv_error err;
        mv_error_clear(&err);
        mv_test_fail_after(n);
        rc = mv_view_hash(v, &h, &err);
        mv_test_fail_after(-1);
        if (rc >= 0)
            break;
        assert_int_equal(rc, MV_ENOMEM);
        assert_int_equal(err.code, MV_ENOMEM);
    }
    assert_int_equal(rc, 0);
    assert_true(h == want);
    mv_decref(v);
}

/* ---- count / index ------------------------------------------------------ */

static void model_bounds(ptrdiff_t n, ptrdiff_t *start, ptrdiff_t *stop)
{
    /* list.index: negative bounds count from the end, then clip to [0, n]. */
    if (*start < 0)
        *start = *start + n < 0 ? 0 : *start + n;
    if (*stop < 0)
        *stop = *stop + n < 0 ? 0 : *stop + n;
    if (*stop > n)
        *stop = n;
}

static void test_count_index_model(void **state)
{
    (void)state;
    rng r = {777};
    for (int t = 0; t < 2000; t++) {
        ptrdiff_t n = rng_below(&r, 12);
        ptrdiff_t step = 1 + rng_below(&r, 3);
        bool reversed = rng_below(&r, 3) == 0;
        int32_t mem[40];
        double model[12];
        for (int i = 0; i < 40; i++)
            mem[i] = (int32_t)rng_below(&r, 4) - 1;
        ptrdiff_t first = reversed ? (n > 0 ? (n - 1) * step : 0) : 0;
        for (ptrdiff_t i = 0; i < n; i++)
            model[i] = mem[first + (reversed ? -i : i) * step];
        ptrdiff_t stride = (reversed ? -step : step) * 4;
        mv_view *v = view_layout(mem + first, "i", 4, 1, &n, &stride, NULL, 1);

        mv_value val;
        double want = (double)(rng_below(&r, 4) - 1);
        switch (rng_below(&r, 4)) {
        case 0:
            val = (mv_value){.kind = MV_VALUE_SIGNED, .v.i = (int64_t)want};
            break;
        case 1:
            val = (mv_value){.kind = MV_VALUE_DOUBLE, .v.d = want};
            break;
        case 2:
            if (want < 0)
                want = 0;
            val = (mv_value){.kind = MV_VALUE_UNSIGNED, .v.u = (uint64_t)want};
            break;
        default:
            want = want != 0; /* True is 1 */
            val = (mv_value){.kind = MV_VALUE_BOOL, .v.b = want != 0};
            break;
        }
        ptrdiff_t mcount = 0;
        for (ptrdiff_t i = 0; i < n; i++)
            mcount += model[i] == want;
        ptrdiff_t count = -1;
        assert_int_equal(mv_view_count(v, &val, &count, NULL), 0);
        if (count != mcount)
            fail_msg("trial %d: n %td step %td rev %d kind %d want %g: count %td, model %td", t, n,
                     step, reversed, (int)val.kind, want, count, mcount);

        ptrdiff_t start = rng_below(&r, 30) - 15, stop = rng_below(&r, 30) - 15;
        if (rng_below(&r, 5) == 0)
            stop = PTRDIFF_MAX;
        if (rng_below(&r, 9) == 0)
            start = PTRDIFF_MIN;
        ptrdiff_t ms = start, me = stop, mpos = -1;
        model_bounds(n, &ms, &me);
        for (ptrdiff_t i = ms; i < me; i++)
            if (model[i] == want) {
                mpos = i;
                break;
            }
        ptrdiff_t pos = -7;
        mv_error err;
        mv_error_clear(&err);
        int rc = mv_view_index(v, &val, start, stop, &pos, &err);
        if (mpos < 0) {
            expect_error(rc, &err, MV_EVALUE, "memoryview.index(x): x not found");
            assert_int_equal(pos, -7);
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(pos, mpos);
        }
        mv_decref(v);
    }
}

static void test_count_index_kinds(void **state)
{
    (void)state;
    unsigned char text[6] = "abcabc";
    mv_value a = {.kind = MV_VALUE_BYTES, .v.bytes = {(const unsigned char *)"a", 1}};
    mv_value c97 = {.kind = MV_VALUE_SIGNED, .v.i = 97};
    mv_view *vc = view_1d(text, "c", 1, 6, 1);
    mv_view *vb = view_1d(text, "B", 1, 6, 1);
    ptrdiff_t count = -1, pos = -1;
    assert_int_equal(mv_view_count(vc, &a, &count, NULL), 0);
    assert_int_equal(count, 2);
    assert_int_equal(mv_view_count(vc, &c97, &count, NULL), 0);
    assert_int_equal(count, 0);
    assert_int_equal(mv_view_count(vb, &a, &count, NULL), 0);
    assert_int_equal(count, 0);
    assert_int_equal(mv_view_count(vb, &c97, &count, NULL), 0);
    assert_int_equal(count, 2);
    assert_int_equal(mv_view_index(vc, &a, 1, PTRDIFF_MAX, &pos, NULL), 0);
    assert_int_equal(pos, 3);
    assert_int_equal(mv_view_index(vb, &c97, -3, 6, &pos, NULL), 0);
    assert_int_equal(pos, 3);

    double dn[3] = {NAN, 1.0, NAN};
    mv_value nan = {.kind = MV_VALUE_DOUBLE, .v.d = NAN};
    mv_value one = {.kind = MV_VALUE_COMPLEX, .v.c = {1.0, 0.0}};
    mv_view *vd = view_1d(dn, "d", 8, 3, 1);
    assert_int_equal(mv_view_count(vd, &nan, &count, NULL), 0);
    assert_int_equal(count, 0);
    assert_int_equal(mv_view_index(vd, &one, 0, 3, &pos, NULL), 0);
    assert_int_equal(pos, 1);

    /* Items of two values are tuples: never equal to one value. */
    int32_t pairs[4] = {1, 1, 1, 1};
    mv_value one_i = {.kind = MV_VALUE_SIGNED, .v.i = 1};
    mv_view *v2 = view_1d(pairs, "2i", 8, 2, 1);
    assert_int_equal(mv_view_count(v2, &one_i, &count, NULL), 0);
    assert_int_equal(count, 0);

    /* Indirect items. */
    int32_t x = 1, y = 2;
    char *ptrs[3] = {(char *)&y, (char *)&x, (char *)&y};
    ptrdiff_t shape[1] = {3}, strides[1] = {sizeof(char *)}, subs[1] = {0};
    mv_view *vp = view_layout(ptrs, "i", 4, 1, shape, strides, subs, 1);
    mv_value two = {.kind = MV_VALUE_SIGNED, .v.i = 2};
    assert_int_equal(mv_view_count(vp, &two, &count, NULL), 0);
    assert_int_equal(count, 2);
    assert_int_equal(mv_view_index(vp, &one_i, 0, 3, &pos, NULL), 0);
    assert_int_equal(pos, 1);

    mv_view *all[] = {vc, vb, vd, v2, vp};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        mv_decref(all[i]);
}

static void test_count_index_errors(void **state)
{
    (void)state;
    int32_t mem[6] = {1, 2, 3, 4, 5, 6};
    mv_value one = {.kind = MV_VALUE_SIGNED, .v.i = 1};
    mv_error err;
    ptrdiff_t count = -1, pos = -1;
    ptrdiff_t shape[2] = {2, 3};
    mv_view *z = view_0d(mem, "i", 4);
    mv_view *m2 = view_layout(mem, "i", 4, 2, shape, NULL, NULL, 1);
    mv_view *rel = released_view();
    mv_view *v = view_1d(mem, "i", 4, 6, 1);

    mv_error_clear(&err);
    expect_error(mv_view_count(z, &one, &count, &err), &err, MV_ETYPE,
                 "invalid lookup on 0-dim memory");
    expect_error(mv_view_index(z, &one, 0, 1, &pos, &err), &err, MV_ETYPE,
                 "invalid lookup on 0-dim memory");
    expect_error(mv_view_count(m2, &one, &count, &err), &err, MV_ENOTIMPL,
                 "multi-dimensional lookup is not implemented");
    expect_error(mv_view_index(m2, &one, 0, 1, &pos, &err), &err, MV_ENOTIMPL,
                 "multi-dimensional lookup is not implemented");
    expect_error(mv_view_count(rel, &one, &count, &err), &err, MV_EVALUE, RELEASED_MSG);
    expect_error(mv_view_index(rel, &one, 0, 1, &pos, &err), &err, MV_EVALUE, RELEASED_MSG);
    expect_error(mv_view_index(v, &one, 1, 6, &pos, &err), &err, MV_EVALUE,
                 "memoryview.index(x): x not found");
    expect_error(mv_view_index(v, &one, 0, 0, &pos, &err), &err, MV_EVALUE,
                 "memoryview.index(x): x not found");
    expect_error(mv_view_index(v, &one, 7, -100, &pos, &err), &err, MV_EVALUE,
                 "memoryview.index(x): x not found");
    assert_int_equal(count, -1);
    assert_int_equal(pos, -1);
    assert_true(mv_view_count(NULL, &one, &count, &err) < 0);
    assert_true(mv_view_count(v, NULL, &count, &err) < 0);
    assert_true(mv_view_count(v, &one, NULL, &err) < 0);
    assert_true(mv_view_index(NULL, &one, 0, 1, &pos, &err) < 0);
    assert_true(mv_view_index(v, NULL, 0, 1, &pos, &err) < 0);
    assert_true(mv_view_index(v, &one, 0, 1, NULL, &err) < 0);
    assert_true(mv_view_count(z, &one, &count, NULL) == MV_ETYPE);

    mv_view *bad = view_raw_format(mem, "Y");
    mv_error_clear(&err);
    assert_true(mv_view_count(bad, &one, &count, &err) < 0);
    assert_int_equal(err.code, MV_EVALUE);

    mv_decref(z);
    mv_decref(m2);
    mv_decref(rel);
    mv_decref(v);
    mv_decref(bad);
}

static void test_count_index_alloc_sweep(void **state)
{
    (void)state;
    int32_t m[1] = {3};
    mv_view *v = view_1d(m, "i", 4, 1, 1);
    int32_t big[40] = {0};
    mv_view *vb = view_1d(big, "20i", 80, 2, 1);
    mv_value three = {.kind = MV_VALUE_SIGNED, .v.i = 3};
    for (int which = 0; which < 3; which++) {
        int rc = -1;
        ptrdiff_t out = -1;
        for (long n = 0; n < 100; n++) {
            mv_error err;
            mv_error_clear(&err);
            mv_test_fail_after(n);
            if (which == 0)
                rc = mv_view_count(vb, &three, &out, &err);
            else if (which == 1)
                rc = mv_view_count(v, &three, &out, &err);
            else
                rc = mv_view_index(v, &three, 0, 1, &out, &err);
            mv_test_fail_after(-1);
            if (rc >= 0)
                break;
            assert_int_equal(rc, MV_ENOMEM);
            assert_int_equal(err.code, MV_ENOMEM);
        }
        assert_int_equal(rc, 0);
        assert_int_equal(out, which == 0 ? 0 : which == 1 ? 1 : 0);
    }
    mv_decref(v);
    mv_decref(vb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_equal_python_table),
        cmocka_unit_test(test_value_equal_by_hand),
        cmocka_unit_test(test_equal_byte_formats),
        cmocka_unit_test(test_equal_byte_order),
        cmocka_unit_test(test_equal_floats),
        cmocka_unit_test(test_equal_bool_padding_strings),
        cmocka_unit_test(test_equal_records),
        cmocka_unit_test(test_equal_unparseable_format),
        cmocka_unit_test(test_equal_shapes),
        cmocka_unit_test(test_equal_random_model),
        cmocka_unit_test(test_equal_suboffsets),
        cmocka_unit_test(test_equal_suboffsets_last_dim),
        cmocka_unit_test(test_equal_released),
        cmocka_unit_test(test_equal_hostile),
        cmocka_unit_test(test_equal_alloc_sweep),
        cmocka_unit_test(test_hash_bytes_vectors),
        cmocka_unit_test(test_hash_byte_views),
        cmocka_unit_test(test_hash_values),
        cmocka_unit_test(test_hash_equal_views_property),
        cmocka_unit_test(test_hash_errors),
        cmocka_unit_test(test_hash_alloc_sweep),
        cmocka_unit_test(test_count_index_model),
        cmocka_unit_test(test_count_index_kinds),
        cmocka_unit_test(test_count_index_errors),
        cmocka_unit_test(test_count_index_alloc_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
