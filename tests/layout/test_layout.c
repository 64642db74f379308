/* Tests for the public layout API (src/layout/): mv_layout, the shape of a
 * view held by value.
 *
 * Expected results come from the test itself: item addresses are written
 * out as base + index * stride (and, for indirect layouts, as the address
 * the test's own row pointers lead to), item values are what the test
 * stored with memcpy / put_uint, slices follow slice.indices() written out
 * longhand in a small NumPy-indexing model (model_apply below), contiguity
 * follows CPython's memoryview rules written out (model_contig), and every
 * slice is also checked against mv_view_subscript on a view of the same
 * memory, which must give the same buf / shape / strides and the same
 * errors.  Making, selecting and reading a layout must never allocate: the
 * allocation countdown (support/failalloc.c) is armed at zero around the
 * calls that the header promises allocate nothing. */
#include <memview.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failalloc.h"
#include "testviews.h"

#define MSG_NULL        "layout: NULL argument"
#define MSG_NDIM64      "memoryview: number of dimensions must not exceed 64"
#define MSG_INDIRECT    "layout: an indirect layout or view cannot be checked"
#define MSG_READONLY    "cannot modify read-only memory"
#define MSG_STEP0       "slice step cannot be zero"
#define MSG_ELLIPSIS    "an index can only have a single ellipsis ('...')"
#define MSG_KEYS        "memoryview: invalid key array"
#define MSG_INDEX_ARRAY "memoryview: invalid index array"
#define MSG_VALUES      "memoryview: values must not be NULL"
#define MSG_SUBVIEWS    "sub-views are not implemented"
#define MSG_STRUCTURE   "memoryview assignment: lvalue and rvalue have different structures"

static rng gen = {0x2545f4914f6cdd1du};

/* ------------------------------------------------------------------------ */
/* Helpers                                                                    */
/* ------------------------------------------------------------------------ */

static mv_key ki(ptrdiff_t i)
{
    return (mv_key){.kind = MV_KEY_INDEX, .index = i};
}

/* A slice; mask bit 1: start given, 2: stop given, 4: step given. */
static mv_key ks(int mask, ptrdiff_t start, ptrdiff_t stop, ptrdiff_t step)
{
    return (mv_key){.kind = MV_KEY_SLICE,
                    .start = start,
                    .stop = stop,
                    .step = step,
                    .has_start = (mask & 1) != 0,
                    .has_stop = (mask & 2) != 0,
                    .has_step = (mask & 4) != 0};
}

#define KALL ks(0, 0, 0, 0)
#define KE   ((mv_key){.kind = MV_KEY_ELLIPSIS})
#define KN   ((mv_key){.kind = MV_KEY_NEWAXIS})

#define LAYOUT_POISON 0xA7

static void poison(mv_layout *s)
{
    memset(s, LAYOUT_POISON, sizeof *s);
}

/* *s still holds the poison pattern byte for byte. */
static void assert_poisoned(const mv_layout *s)
{
    mv_layout p;
    poison(&p);
    assert_memory_equal(s, &p, sizeof p);
}

/* The allocation countdown armed at zero: any allocation fails and is
 * counted.  Read the count (and disarm) before asserting anything. */
static void noalloc_begin(void)
{
    mv_test_fail_after(0);
}

static long noalloc_end(void)
{
    long n = mv_test_failed_allocations();
    mv_test_fail_after(-1);
    return n;
}

/* Contiguity as CPython's memoryview computes it (init_flags), written
 * out: none with suboffsets; 0-dim both; 1-D both when the one extent is 1
 * or the stride is the itemsize; else PyBuffer_IsContiguous (no items:
 * both; each extent above 1 must have the running product as its stride). */
static unsigned char model_contig(const mv_layout *l)
{
    const unsigned char both = MV_CONTIG_C | MV_CONTIG_F;
    if (l->indirect)
        return 0;
    if (l->ndim == 0)
        return both;
    if (l->ndim == 1)
        return l->shape[0] == 1 || l->strides[0] == l->itemsize ? both : 0;
    if (l->len == 0)
        return both;
    unsigned char flags = 0;
    bool c = true, f = true;
    ptrdiff_t sd = l->itemsize;
    for (int d = l->ndim - 1; d >= 0; d--) {
        if (l->shape[d] > 1 && l->strides[d] != sd)
            c = false;
        sd *= l->shape[d];
    }
    sd = l->itemsize;
    for (int d = 0; d < l->ndim; d++) {
        if (l->shape[d] > 1 && l->strides[d] != sd)
            f = false;
        sd *= l->shape[d];
    }
    if (c)
        flags |= MV_CONTIG_C;
    if (f)
        flags |= MV_CONTIG_F;
    return flags;
}

/* l->contig is the model's, and mv_layout_is_contiguous reads it. */
static void check_contig(const mv_layout *l)
{
    unsigned char want = model_contig(l);
    if (l->contig != want)
        fail_msg("contig %d, expected %d (ndim %d, indirect %d)", l->contig, want, l->ndim,
                 l->indirect);
    assert_int_equal(mv_layout_is_contiguous(l, 'C'), (want & MV_CONTIG_C) != 0);
    assert_int_equal(mv_layout_is_contiguous(l, 'F'), (want & MV_CONTIG_F) != 0);
    assert_int_equal(mv_layout_is_contiguous(l, 'A'), want != 0);
    assert_int_equal(mv_layout_is_contiguous(l, 'X'), 0);
}

/* Field by field (the arrays only up to ndim: the rest is unspecified). */
static void assert_layout_equal(const mv_layout *a, const mv_layout *b)
{
    assert_ptr_equal(a->buf, b->buf);
    assert_int_equal(a->len, b->len);
    assert_int_equal(a->itemsize, b->itemsize);
    assert_non_null(a->format);
    assert_non_null(b->format);
    assert_string_equal(a->format, b->format);
    assert_int_equal(a->ndim, b->ndim);
    assert_int_equal(a->readonly, b->readonly);
    assert_int_equal(a->indirect, b->indirect);
    assert_int_equal(a->contig, b->contig);
    for (int d = 0; d < a->ndim; d++) {
        assert_int_equal(a->shape[d], b->shape[d]);
        assert_int_equal(a->strides[d], b->strides[d]);
        if (a->indirect)
            assert_int_equal(a->suboffsets[d], b->suboffsets[d]);
    }
}

/* A layout describes what the view's descriptor does. */
static void assert_layout_is_view(const mv_layout *s, mv_view *v)
{
    mv_error err;
    const mv_buffer *b = mv_view_buffer(v, &err);
    assert_non_null(b);
    assert_ptr_equal(s->buf, b->buf);
    assert_int_equal(s->len, b->len);
    assert_int_equal(s->itemsize, b->itemsize);
    assert_string_equal(s->format, b->format);
    assert_int_equal(s->ndim, b->ndim);
    assert_int_equal(s->readonly, b->readonly != 0);
    assert_int_equal(s->indirect, b->suboffsets != NULL);
    for (int d = 0; d < s->ndim; d++) {
        assert_int_equal(s->shape[d], b->shape[d]);
        assert_int_equal(s->strides[d], b->strides[d]);
        if (s->indirect)
            assert_int_equal(s->suboffsets[d], b->suboffsets[d]);
    }
    check_contig(s);
}

/* The layout's fields written out (a direct layout). */
static void expect_layout(const mv_layout *s, const void *buf, ptrdiff_t itemsize, int ndim,
                          const ptrdiff_t *shape, const ptrdiff_t *strides)
{
    assert_ptr_equal(s->buf, buf);
    assert_int_equal(s->itemsize, itemsize);
    assert_int_equal(s->ndim, ndim);
    assert_false(s->indirect);
    ptrdiff_t n = itemsize;
    for (int d = 0; d < ndim; d++) {
        assert_int_equal(s->shape[d], shape[d]);
        assert_int_equal(s->strides[d], strides[d]);
        n *= shape[d];
    }
    assert_int_equal(s->len, n);
    check_contig(s);
}

static mv_buffer desc(void *buf, const char *format, ptrdiff_t itemsize, int ndim, ptrdiff_t *shape,
                      ptrdiff_t *strides, int readonly)
{
    mv_buffer b;
    memset(&b, 0, sizeof b);
    b.buf = buf;
    b.itemsize = itemsize;
    b.format = format;
    b.ndim = ndim;
    b.shape = shape;
    b.strides = strides;
    b.readonly = readonly;
    /* Wrapping: hostile shapes are set up here on purpose. */
    size_t len = (size_t)itemsize;
    for (int d = 0; d < ndim && shape; d++)
        len *= (size_t)shape[d];
    b.len = (ptrdiff_t)len;
    return b;
}

static mv_layout layout_of(const mv_buffer *b)
{
    mv_layout s;
    mv_error err;
    poison(&s);
    int rc = mv_layout_from_buffer(&s, b, &err);
    if (rc != 0)
        fail_msg("mv_layout_from_buffer: %s", err.message);
    return s;
}

static int32_t read_i32(const void *p)
{
    int32_t x;
    memcpy(&x, p, sizeof x);
    return x;
}

/* ------------------------------------------------------------------------ */
/* Creation                                                                   */
/* ------------------------------------------------------------------------ */

static void from_bytearray(void **state)
{
    (void)state;
    unsigned char init[10];
    for (int i = 0; i < 10; i++)
        init[i] = (unsigned char)(3 * i + 1);
    mv_error err;
    mv_object *ba = mv_bytearray_new(init, 10, &err);
    assert_non_null(ba);
    size_t dlen = 0;
    unsigned char *data = mv_object_data(ba, &dlen);
    assert_int_equal(dlen, 10);

    const int requests[] = {MV_BUF_FULL_RO, MV_BUF_SIMPLE, MV_BUF_FULL, MV_BUF_RECORDS_RO};
    for (int r = 0; r < 4; r++) {
        mv_buffer b;
        assert_int_equal(mv_object_getbuffer(ba, &b, requests[r], &err), 0);
        if (requests[r] == MV_BUF_SIMPLE) {
            assert_null(b.shape);
            assert_null(b.strides);
            assert_null(b.format);
        }
        size_t refs = mv_object_refcount(ba), exports = mv_object_exports(ba);
        mv_layout s;
        poison(&s);
        noalloc_begin();
        int rc = mv_layout_from_buffer(&s, &b, &err);
        long failed = noalloc_end();
        assert_int_equal(rc, 0);
        assert_int_equal(failed, 0);
        /* Layouts hold nothing: no count changes. */
        assert_int_equal(mv_object_refcount(ba), refs);
        assert_int_equal(mv_object_exports(ba), exports);

        ptrdiff_t shape[] = {10}, strides[] = {1};
        expect_layout(&s, data, 1, 1, shape, strides);
        assert_string_equal(s.format, "B");
        assert_false(s.readonly);
        for (ptrdiff_t i = -10; i < 10; i++) {
            ptrdiff_t j = i < 0 ? i + 10 : i;
            assert_ptr_equal(mv_layout_at1(&s, i), data + j);
            assert_ptr_equal(mv_layout_at(&s, &i), data + j);
            mv_value v;
            assert_int_equal(mv_layout_get_item(&s, &i, 1, &v, 1, &err), 0);
            assert_int_equal(v.kind, MV_VALUE_UNSIGNED);
            assert_int_equal(v.v.u, data[j]);
        }
        assert_null(mv_layout_at1(&s, 10));
        assert_null(mv_layout_at1(&s, -11));
        ptrdiff_t i7 = 7;
        mv_value w = {.kind = MV_VALUE_UNSIGNED, .v.u = 200 + (unsigned)r};
        assert_int_equal(mv_layout_set_item(&s, &i7, 1, &w, 1, &err), 0);
        assert_int_equal(data[7], 200 + r);

        /* Slicing keeps the exporter's counts too. */
        mv_key k = ks(7, 8, 1, -3);
        mv_layout t;
        noalloc_begin();
        rc = mv_layout_select(&t, &s, &k, 1, &err);
        failed = noalloc_end();
        assert_int_equal(rc, 0);
        assert_int_equal(failed, 0);
        ptrdiff_t tshape[] = {3}, tstrides[] = {-3};
        expect_layout(&t, data + 8, 1, 1, tshape, tstrides);
        assert_int_equal(mv_object_exports(ba), exports);
        mv_buffer_release(&b);
    }
    assert_int_equal(mv_object_exports(ba), 0);
    mv_decref(ba);
}

static void from_buffer_layouts(void **state)
{
    (void)state;
    int32_t m[24];
    for (int k = 0; k < 24; k++)
        m[k] = 1000 + k;
    char *base = (char *)m;

    /* 2-D C-contiguous, strides left out. */
    ptrdiff_t sh34[] = {3, 4};
    mv_buffer b = desc(m, "i", 4, 2, sh34, NULL, 0);
    mv_layout s = layout_of(&b);
    ptrdiff_t st34[] = {16, 4};
    expect_layout(&s, m, 4, 2, sh34, st34);
    assert_ptr_equal(s.format, b.format);

    /* 2-D with negative strides: the logical start is the last item. */
    ptrdiff_t nst[] = {-16, -4};
    b = desc(&m[11], "@i", 4, 2, sh34, nst, 1);
    s = layout_of(&b);
    expect_layout(&s, &m[11], 4, 2, sh34, nst);
    assert_true(s.readonly);
    for (ptrdiff_t i = -3; i < 3; i++)
        for (ptrdiff_t j = -4; j < 4; j++) {
            ptrdiff_t ii = i < 0 ? i + 3 : i, jj = j < 0 ? j + 4 : j;
            ptrdiff_t idx[] = {i, j};
            assert_ptr_equal(mv_layout_at(&s, idx), base + 44 - 16 * ii - 4 * jj);
            mv_value v;
            mv_error err;
            assert_int_equal(mv_layout_get_item(&s, idx, 2, &v, 1, &err), 0);
            assert_int_equal(v.kind, MV_VALUE_SIGNED);
            assert_int_equal(v.v.i, 1000 + 11 - 4 * ii - jj);
        }

    /* 3-D, Fortran order. */
    ptrdiff_t sh234[] = {2, 3, 4}, fst[] = {4, 8, 24};
    b = desc(m, "i", 4, 3, sh234, fst, 0);
    s = layout_of(&b);
    expect_layout(&s, m, 4, 3, sh234, fst);
    for (ptrdiff_t i = -2; i < 2; i++)
        for (ptrdiff_t j = -3; j < 3; j++)
            for (ptrdiff_t k = -4; k < 4; k++) {
                ptrdiff_t idx[] = {i, j, k};
                ptrdiff_t ii = (i + 2) % 2, jj = (j + 3) % 3, kk = (k + 4) % 4;
                assert_ptr_equal(mv_layout_at(&s, idx), base + 4 * ii + 8 * jj + 24 * kk);
            }

    /* 0-dim: one item, no shape. */
    double x = 2.75;
    b = desc(&x, "d", 8, 0, NULL, NULL, 1);
    s = layout_of(&b);
    assert_int_equal(s.ndim, 0);
    assert_int_equal(s.len, 8);
    check_contig(&s);
    assert_ptr_equal(mv_layout_at(&s, NULL), &x);
    ptrdiff_t ignored = 99;
    assert_ptr_equal(mv_layout_at(&s, &ignored), &x);
    assert_null(mv_layout_at1(&s, 0));
    mv_value v;
    mv_error err;
    assert_int_equal(mv_layout_get_item(&s, NULL, 0, &v, 1, &err), 0);
    assert_int_equal(v.kind, MV_VALUE_DOUBLE);
    assert_true(v.v.d == 2.75);

    /* Zero-length: buf NULL is fine, no item is reachable. */
    ptrdiff_t z0[] = {0};
    b = desc(NULL, "i", 4, 1, z0, NULL, 0);
    s = layout_of(&b);
    assert_null(s.buf);
    assert_int_equal(s.len, 0);
    assert_int_equal(s.shape[0], 0);
    assert_null(mv_layout_at1(&s, 0));
    assert_null(mv_layout_at1(&s, -1));
    ptrdiff_t i0 = 0;
    expect_error(mv_layout_get_item(&s, &i0, 1, &v, 1, &err), &err, MV_EINDEX,
                 "index out of bounds on dimension 1");
    ptrdiff_t z30[] = {3, 0}, zst[] = {123456, -77};
    b = desc(NULL, "d", 8, 2, z30, zst, 0);
    s = layout_of(&b);
    expect_layout(&s, NULL, 8, 2, z30, zst);
    ptrdiff_t i00[] = {0, 0};
    assert_null(mv_layout_at(&s, i00));
    b = desc(m, "B", 1, 1, z0, NULL, 0);
    b.len = 0;
    s = layout_of(&b);
    assert_int_equal(s.len, 0);
    assert_ptr_equal(s.buf, m);

    /* 1-D, shape and strides left out: len / itemsize items. */
    b = desc(m, "q", 8, 1, NULL, NULL, 0);
    b.len = 24;
    s = layout_of(&b);
    ptrdiff_t sh3[] = {3}, st8[] = {8};
    expect_layout(&s, m, 8, 1, sh3, st8);

    /* Eight dimensions (once the most a span had: layouts take 64). */
    unsigned char cube[256];
    for (int k = 0; k < 256; k++)
        cube[k] = (unsigned char)k;
    ptrdiff_t sh8[8], st8d[8];
    for (int d = 0; d < 8; d++) {
        sh8[d] = 2;
        st8d[d] = (ptrdiff_t)1 << (7 - d);
    }
    b = desc(cube, "B", 1, 8, sh8, NULL, 0);
    s = layout_of(&b);
    expect_layout(&s, cube, 1, 8, sh8, st8d);
    ptrdiff_t idx8[] = {1, 0, -1, 0, 1, -2, 1, -1};
    assert_ptr_equal(mv_layout_at(&s, idx8), cube + 128 + 32 + 8 + 2 + 1);
    assert_int_equal(mv_layout_get_item(&s, idx8, 8, &v, 1, &err), 0);
    assert_int_equal(v.v.u, 171);

    /* Suboffsets that are all negative: kept (the layout is indirect, and
     * so contiguous in no order, as CPython's memoryview says of any
     * buffer with suboffsets), but no pointer is followed: every item is
     * where the strides alone put it. */
    ptrdiff_t subs[] = {-1, -1};
    b = desc(m, "i", 4, 2, sh34, NULL, 0);
    b.suboffsets = subs;
    s = layout_of(&b);
    assert_ptr_equal(s.buf, m);
    assert_int_equal(s.ndim, 2);
    assert_int_equal(s.len, 48);
    assert_true(s.indirect);
    assert_int_equal(s.contig, 0);
    check_contig(&s);
    for (int d = 0; d < 2; d++) {
        assert_int_equal(s.shape[d], sh34[d]);
        assert_int_equal(s.strides[d], st34[d]);
        assert_int_equal(s.suboffsets[d], -1);
    }
    for (ptrdiff_t i = 0; i < 3; i++)
        for (ptrdiff_t j = 0; j < 4; j++) {
            ptrdiff_t idx[] = {i, j};
            assert_ptr_equal(mv_layout_at(&s, idx), &m[4 * i + j]);
            assert_int_equal(mv_layout_get_item(&s, idx, 2, &v, 1, &err), 0);
            assert_int_equal(v.v.i, 1000 + 4 * i + j);
        }
}

/* Through an external exporter with a full layout, as a user would. */
static void from_external_layout(void **state)
{
    (void)state;
    int16_t m[30];
    for (int k = 0; k < 30; k++)
        m[k] = (int16_t)(k * 7 - 50);
    /* Every other row, columns reversed: buf at row 0, column 4. */
    ptrdiff_t shape[] = {3, 5}, strides[] = {20, -2};
    mv_buffer lay = desc(&m[4], "h", 2, 2, shape, strides, 0);
    mv_error err;
    mv_object *x = mv_external_new_layout(&lay, NULL, NULL, &err);
    assert_non_null(x);
    mv_buffer b;
    assert_int_equal(mv_object_getbuffer(x, &b, MV_BUF_FULL_RO, &err), 0);
    size_t exports = mv_object_exports(x);
    mv_layout s = layout_of(&b);
    assert_int_equal(mv_object_exports(x), exports);
    expect_layout(&s, &m[4], 2, 2, shape, strides);
    for (ptrdiff_t i = 0; i < 3; i++)
        for (ptrdiff_t j = 0; j < 5; j++) {
            ptrdiff_t idx[] = {i, j};
            mv_value v;
            assert_int_equal(mv_layout_get_item(&s, idx, 2, &v, 1, &err), 0);
            assert_int_equal(v.v.i, m[10 * i + 4 - j]);
            assert_ptr_equal(mv_layout_at(&s, idx), (char *)m + 8 + 20 * i - 2 * j);
        }
    /* The same through a view of the exporter. */
    mv_view *v = mv_view_new(x, &err);
    assert_non_null(v);
    mv_layout sv;
    poison(&sv);
    assert_int_equal(mv_view_layout(&sv, v, &err), 0);
    assert_layout_equal(&sv, &s);
    assert_layout_is_view(&sv, v);
    mv_decref(mv_view_object(v));
    mv_buffer_release(&b);
    mv_decref(x);
}

typedef struct format_case {
    const char *format;
    ptrdiff_t itemsize;
    char native; /* mv_format.native */
} format_case;

static uint64_t get_uint(const unsigned char *p, int size, bool little)
{
    uint64_t x = 0;
    for (int k = 0; k < size; k++)
        x |= (uint64_t)p[little ? k : size - 1 - k] << (8 * k);
    return x;
}

/* The values of the item at p in `format`, decoded by the test (memcpy
 * into the C type, or the bytes assembled in the stated order); returns
 * how many. */
static int decode_item(const char *format, const unsigned char *p, mv_value *out)
{
    const char *f = format[0] == '@' ? format + 1 : format;
    if (!strcmp(f, "B")) {
        out[0] = v_uint(p[0]);
        return 1;
    }
    if (!strcmp(f, "b")) {
        out[0] = v_int((signed char)p[0]);
        return 1;
    }
    if (!strcmp(f, "i") || !strcmp(f, "T{i:a:}")) {
        int x;
        memcpy(&x, p, sizeof x);
        out[0] = v_int(x);
        return 1;
    }
    if (!strcmp(f, "ii")) {
        int x[2];
        memcpy(x, p, sizeof x);
        out[0] = v_int(x[0]);
        out[1] = v_int(x[1]);
        return 2;
    }
    if (!strcmp(f, "d")) {
        double x;
        memcpy(&x, p, sizeof x);
        out[0] = v_dbl(x);
        return 1;
    }
    if (!strcmp(f, "f")) {
        float x;
        memcpy(&x, p, sizeof x);
        out[0] = v_dbl(x);
        return 1;
    }
    if (!strcmp(f, "q")) {
        long long x;
        memcpy(&x, p, sizeof x);
        out[0] = v_int(x);
        return 1;
    }
    if (!strcmp(f, "n")) {
        ptrdiff_t x;
        memcpy(&x, p, sizeof x);
        out[0] = v_int(x);
        return 1;
    }
    if (!strcmp(f, "?")) {
        out[0] = v_bool(p[0] != 0);
        return 1;
    }
    if (!strcmp(f, "c") || !strcmp(f, "4s")) {
        out[0] = v_bytes(p, f[0] == 'c' ? 1 : 4);
        return 1;
    }
    if (!strcmp(f, "<i")) {
        out[0] = v_int((int32_t)(uint32_t)get_uint(p, 4, true));
        return 1;
    }
    if (!strcmp(f, ">d")) {
        uint64_t bits = get_uint(p, 8, false);
        double x;
        memcpy(&x, &bits, sizeof x);
        out[0] = v_dbl(x);
        return 1;
    }
    if (!strcmp(f, "=h") || !strcmp(f, "2h")) {
        int16_t x[2];
        memcpy(x, p, f[0] == '2' ? 4 : 2);
        out[0] = v_int(x[0]);
        out[1] = v_int(x[1]);
        return f[0] == '2' ? 2 : 1;
    }
    if (!strcmp(f, "!I")) {
        out[0] = v_uint(get_uint(p, 4, false));
        return 1;
    }
    if (!strcmp(f, "x"))
        return 0;
    if (!strcmp(f, "Zf")) {
        float x[2];
        memcpy(x, p, sizeof x);
        out[0] = v_cplx(x[0], x[1]);
        return 1;
    }
    if (!strcmp(f, "Zd")) {
        double x[2];
        memcpy(x, p, sizeof x);
        out[0] = v_cplx(x[0], x[1]);
        return 1;
    }
    fail_msg("decode_item: no model for '%s'", format);
    return -1;
}

/* One item read through a layout: the test's decoding of its bytes. */
static void expect_item(const mv_layout *l, const ptrdiff_t *idx, int nidx, const char *format,
                        const unsigned char *p)
{
    mv_value want[2], got[2];
    mv_error err;
    int n = decode_item(format, p, want);
    int rc = mv_layout_get_item(l, idx, nidx, got, 2, &err);
    if (rc != 0)
        fail_msg("'%s': %s", format, err.message);
    for (int k = 0; k < n; k++)
        if (!same_value(&got[k], &want[k]))
            fail_msg("'%s': value %d differs from the bytes' (kind %d, expected kind %d)", format,
                     k, got[k].kind, want[k].kind);
}

/* Items of native single characters and of every other kind of format,
 * read through a 1-D layout (the quick check), a 2-D one (the full check)
 * and a view's layout: each the test's decoding of the bytes. */
static void items_by_format(void **state)
{
    (void)state;
    static const format_case cases[] = {
        {"B", 1, 'B'},
        {"@B", 1, 'B'},
        {"b", 1, 'b'},
        {"@i", (ptrdiff_t)sizeof(int), 'i'},
        {"i", (ptrdiff_t)sizeof(int), 'i'},
        {"d", 8, 'd'},
        {"f", 4, 'f'},
        {"q", 8, 'q'},
        {"n", (ptrdiff_t)sizeof(ptrdiff_t), 'n'},
        {"?", (ptrdiff_t)sizeof(_Bool), '?'},
        {"c", 1, 'c'},
        {"<i", 4, 0},
        {">d", 8, 0},
        {"=h", 2, 0},
        {"!I", 4, 0},
        {"T{i:a:}", (ptrdiff_t)sizeof(int), 0},
        {"2h", 4, 0},
        {"ii", 2 * (ptrdiff_t)sizeof(int), 0},
        {"4s", 4, 0},
        {"x", 1, 0},
        {"Zf", 8, 'F'},
        {"Zd", 16, 'D'},
    };
    static _Alignas(16) unsigned char mem[64];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const format_case *fc = &cases[c];
        for (int k = 0; k < 64; k++)
            mem[k] = fc->format[0] == '?' ? (unsigned char)(k % 3 == 1)
                                          : (unsigned char)(29 * k + 7 + 3 * (int)c);
        ptrdiff_t n1[] = {2}, n2[] = {2, 1};
        mv_buffer b1 = desc(mem, fc->format, fc->itemsize, 1, n1, NULL, 0);
        mv_buffer b2 = desc(mem, fc->format, fc->itemsize, 2, n2, NULL, 0);
        mv_layout s1 = layout_of(&b1), s2 = layout_of(&b2);
        assert_ptr_equal(s1.format, fc->format);
        assert_ptr_equal(s2.format, fc->format);
        mv_view *v = view_layout(mem, fc->format, fc->itemsize, 1, n1, NULL, NULL, 1);
        mv_layout sv;
        mv_error err;
        assert_int_equal(mv_view_layout(&sv, v, &err), 0);
        assert_string_equal(sv.format, fc->format);
        /* The format's native code, as mv_format.native says. */
        const mv_format *fmt = mv_view_format(v, &err);
        assert_non_null(fmt);
        assert_int_equal(fmt->native, fc->native);
        for (ptrdiff_t i = 0; i < 2; i++) {
            const unsigned char *p = mem + i * fc->itemsize;
            ptrdiff_t i2[] = {i, 0};
            expect_item(&s1, &i, 1, fc->format, p);
            expect_item(&s2, i2, 2, fc->format, p);
            expect_item(&sv, &i, 1, fc->format, p);
            assert_ptr_equal(mv_layout_at1(&s1, i), p);
            assert_ptr_equal(mv_layout_at(&s2, i2), p);
        }
        mv_decref(mv_view_object(v));
    }
    /* No format means "B". */
    for (int k = 0; k < 64; k++)
        mem[k] = (unsigned char)(255 - k);
    ptrdiff_t n4[] = {4};
    mv_buffer b = desc(mem, NULL, 1, 1, n4, NULL, 0);
    mv_layout s = layout_of(&b);
    assert_string_equal(s.format, "B");
    for (ptrdiff_t i = 0; i < 4; i++)
        expect_item(&s, &i, 1, "B", mem + i);
    ptrdiff_t n22[] = {2, 2};
    b = desc(mem, NULL, 1, 2, n22, NULL, 0);
    s = layout_of(&b);
    assert_string_equal(s.format, "B");
    ptrdiff_t i11[] = {1, 1};
    expect_item(&s, i11, 2, "B", mem + 3);
}

/* ------------------------------------------------------------------------ */
/* Creation errors                                                            */
/* ------------------------------------------------------------------------ */

/* from_buffer fails with code and message (msg NULL: any message;
 * contains: a substring) and leaves the poisoned layout alone. */
#define expect_from_buffer_error(b, code, msg, contains)                                           \
    expect_from_buffer_error_at(__LINE__, b, code, msg, contains)

static void expect_from_buffer_error_at(int line, const mv_buffer *b, int code, const char *msg,
                                        const char *contains)
{
    mv_layout s;
    poison(&s);
    mv_error err;
    mv_error_clear(&err);
    int rc = mv_layout_from_buffer(&s, b, &err);
    if (rc != code)
        fail_msg("line %d: expected %d, got %d (%s)", line, code, rc, err.message);
    expect_error(rc, &err, code, msg);
    if (contains && !strstr(err.message, contains))
        fail_msg("'%s' does not contain '%s'", err.message, contains);
    assert_poisoned(&s);
}

static void from_buffer_errors(void **state)
{
    (void)state;
    static int32_t m[16];
    char msg[MV_ERROR_MESSAGE_MAX];

    /* NULL arguments. */
    ptrdiff_t n4[] = {4};
    mv_buffer good = desc(m, "i", 4, 1, n4, NULL, 0);
    mv_error err;
    expect_error(mv_layout_from_buffer(NULL, &good, &err), &err, MV_EVALUE, MSG_NULL);
    expect_from_buffer_error(NULL, MV_EVALUE, MSG_NULL, NULL);
    assert_int_equal(mv_layout_from_buffer(NULL, NULL, NULL), MV_EVALUE);

    /* ndim outside [0, 64]: mv_buffer_validate's message. */
    mv_buffer b = good;
    b.ndim = -1;
    expect_from_buffer_error(&b, MV_EVALUE, "buffer ndim must be in [0, 64], not -1", NULL);
    ptrdiff_t ones[64], ones_st[64];
    for (int d = 0; d < 64; d++) {
        ones[d] = 1;
        ones_st[d] = 4;
    }
    /* Nine dimensions (once refused: spans had at most eight), strides
     * left out: C strides, each 4 over extents of 1. */
    b = desc(m, "i", 4, 9, ones, NULL, 0);
    mv_layout s = layout_of(&b);
    expect_layout(&s, m, 4, 9, ones, ones_st);
    /* A 64-dim descriptor, the most a view takes. */
    b = desc(m, "i", 4, 64, ones, ones_st, 0);
    assert_int_equal(mv_buffer_validate(&b, &err), 0);
    s = layout_of(&b);
    expect_layout(&s, m, 4, 64, ones, ones_st);
    b.ndim = 65;
    expect_from_buffer_error(&b, MV_EVALUE, "buffer ndim must be in [0, 64], not 65", NULL);
    b.ndim = INT_MIN;
    snprintf(msg, sizeof msg, "buffer ndim must be in [0, 64], not %d", INT_MIN);
    expect_from_buffer_error(&b, MV_EVALUE, msg, NULL);
    b.ndim = INT_MAX;
    snprintf(msg, sizeof msg, "buffer ndim must be in [0, 64], not %d", INT_MAX);
    expect_from_buffer_error(&b, MV_EVALUE, msg, NULL);

    /* Suboffsets with an indirect dimension (once refused): kept, the
     * layout indirect.  Nothing is followed when the layout is made. */
    ptrdiff_t sh23[] = {2, 3}, subs0[] = {0}, subs2[] = {-1, 5};
    b = desc(m, "B", 1, 1, n4, NULL, 0);
    b.suboffsets = subs0;
    s = layout_of(&b);
    assert_ptr_equal(s.buf, m);
    assert_int_equal(s.ndim, 1);
    assert_int_equal(s.len, 4);
    assert_true(s.indirect);
    assert_int_equal(s.shape[0], 4);
    assert_int_equal(s.strides[0], 1);
    assert_int_equal(s.suboffsets[0], 0);
    check_contig(&s);
    b = desc(m, "i", 4, 2, sh23, NULL, 0);
    b.suboffsets = subs2;
    s = layout_of(&b);
    assert_true(s.indirect);
    assert_int_equal(s.len, 24);
    assert_int_equal(s.shape[0], 2);
    assert_int_equal(s.shape[1], 3);
    assert_int_equal(s.strides[0], 12);
    assert_int_equal(s.strides[1], 4);
    assert_int_equal(s.suboffsets[0], -1);
    assert_int_equal(s.suboffsets[1], 5);
    check_contig(&s);

    /* itemsize 0 with a format of another size (a NULL format is "B"),
     * and negative itemsizes: mv_buffer_validate's messages. */
    b = desc(m, "B", 0, 1, n4, NULL, 0);
    b.len = 0;
    expect_from_buffer_error(&b, MV_EVALUE, "buffer itemsize 0 does not match format 'B' (size 1)",
                             NULL);
    b.format = NULL;
    expect_from_buffer_error(&b, MV_EVALUE, NULL, "buffer itemsize 0 does not match format");
    b = desc(m, NULL, -4, 1, NULL, NULL, 0);
    b.len = 16;
    expect_from_buffer_error(&b, MV_EVALUE, "buffer itemsize -4 is invalid for len 16", NULL);
    b = desc(m, "i", -4, 2, sh23, NULL, 0);
    expect_from_buffer_error(&b, MV_EVALUE, "buffer len -24 is negative", NULL);
    /* itemsize 0 where mv_buffer_validate takes it (once refused): items
     * of no bytes, all at buf (C strides of 0). */
    const char *zero_formats[] = {"T{}", "0B"};
    for (int f = 0; f < 2; f++) {
        b = desc(m, zero_formats[f], 0, 1, n4, NULL, 0);
        assert_int_equal(b.len, 0);
        s = layout_of(&b);
        expect_layout(&s, m, 0, 1, n4, (ptrdiff_t[]){0});
        assert_ptr_equal(s.format, zero_formats[f]);
        for (ptrdiff_t i = -4; i < 4; i++)
            assert_ptr_equal(mv_layout_at1(&s, i), m);
        assert_null(mv_layout_at1(&s, 4));
        b = desc(m, zero_formats[f], 0, 2, sh23, NULL, 1);
        s = layout_of(&b);
        expect_layout(&s, m, 0, 2, sh23, (ptrdiff_t[]){0, 0});
        assert_true(s.readonly);
        ptrdiff_t i12[] = {1, 2};
        assert_ptr_equal(mv_layout_at(&s, i12), m);
        /* ... unless the one dimension has no shape to count them by. */
        b = desc(m, zero_formats[f], 0, 1, NULL, NULL, 0);
        assert_int_equal(b.len, 0);
        assert_int_equal(mv_buffer_validate(&b, &err), 0);
        expect_from_buffer_error(&b, MV_EVALUE, "buffer has itemsize 0", NULL);
    }

    /* len inconsistent with shape / itemsize. */
    b = desc(m, "i", 4, 1, n4, NULL, 0);
    b.len = 12;
    expect_from_buffer_error(&b, MV_EVALUE, "buffer len 12 != product(shape) * itemsize = 16",
                             NULL);
    b = desc(m, "i", 4, 2, sh23, NULL, 0);
    b.len = 28;
    expect_from_buffer_error(&b, MV_EVALUE, "buffer len 28 != product(shape) * itemsize = 24",
                             NULL);
    b = desc(m, "i", 4, 1, NULL, NULL, 0);
    b.len = 7;
    expect_from_buffer_error(&b, MV_EVALUE, "buffer len 7 is not a multiple of itemsize 4", NULL);
    b = desc(m, "i", 4, 0, NULL, NULL, 0);
    b.len = 8;
    expect_from_buffer_error(&b, MV_EVALUE, "buffer len 8 != itemsize 4 for ndim 0", NULL);
    b = desc(m, "i", 4, 1, n4, NULL, 0);
    b.len = -16;
    expect_from_buffer_error(&b, MV_EVALUE, "buffer len -16 is negative", NULL);
    ptrdiff_t negshape[] = {-1};
    b = desc(m, "B", 1, 1, negshape, NULL, 0);
    b.len = 0;
    expect_from_buffer_error(&b, MV_EVALUE, "shape[0] = -1 is negative", NULL);
    b = desc(m, "i", 4, 2, NULL, NULL, 0);
    expect_from_buffer_error(&b, MV_EVALUE, "buffer shape is NULL but ndim is 2", NULL);
    ptrdiff_t st2[] = {4, 4};
    b = desc(m, "i", 4, 2, NULL, st2, 0);
    b.len = 16;
    expect_from_buffer_error(&b, MV_EVALUE, "buffer has strides or suboffsets but no shape", NULL);

    /* product(shape) * itemsize overflows. */
    ptrdiff_t huge[] = {PTRDIFF_MAX / 2, 3};
    b = desc(m, "B", 1, 2, huge, NULL, 0);
    b.len = 0;
    snprintf(msg, sizeof msg, "product(shape) * itemsize overflows at shape[1] = 3");
    expect_from_buffer_error(&b, MV_EOVERFLOW, msg, NULL);
    ptrdiff_t huge1[] = {PTRDIFF_MAX / 4 + 1};
    b = desc(m, "i", 4, 1, huge1, NULL, 0);
    b.len = 0;
    snprintf(msg, sizeof msg, "product(shape) * itemsize overflows at shape[0] = %td",
             PTRDIFF_MAX / 4 + 1);
    expect_from_buffer_error(&b, MV_EOVERFLOW, msg, NULL);

    /* Strides reaching outside the address space (nothing is read). */
    ptrdiff_t n10[] = {10}, s16[] = {16}, sm16[] = {-16};
    b = desc((void *)(uintptr_t)(UINTPTR_MAX - 100), "B", 1, 1, n10, s16, 1);
    expect_from_buffer_error(&b, MV_EOVERFLOW, "buffer strides reach outside the address space",
                             NULL);
    b = desc((void *)(uintptr_t)64, "B", 1, 1, n10, sm16, 1);
    expect_from_buffer_error(&b, MV_EOVERFLOW, "buffer strides reach outside the address space",
                             NULL);
    ptrdiff_t s1[] = {1};
    b = desc((void *)(uintptr_t)(UINTPTR_MAX - 5), "B", 1, 1, n10, s1, 1);
    expect_from_buffer_error(&b, MV_EOVERFLOW, "buffer strides reach outside the address space",
                             NULL);
    b = desc((void *)(uintptr_t)(UINTPTR_MAX - 5), "B", 1, 1, n10, NULL, 1);
    expect_from_buffer_error(&b, MV_EOVERFLOW, "buffer len reaches outside the address space",
                             NULL);
    ptrdiff_t sh2x2[] = {2, 2}, stbig[] = {-(PTRDIFF_MAX / 2 + 1), 1};
    b = desc((void *)(uintptr_t)4096, "B", 1, 2, sh2x2, stbig, 1);
    expect_from_buffer_error(&b, MV_EOVERFLOW, "buffer strides reach outside the address space",
                             NULL);
    ptrdiff_t sh3[] = {3}, stmax[] = {PTRDIFF_MAX};
    b = desc(m, "B", 1, 1, sh3, stmax, 1);
    snprintf(msg, sizeof msg, "strides[0] = %td times shape[0] - 1 = 2 overflows", PTRDIFF_MAX);
    expect_from_buffer_error(&b, MV_EOVERFLOW, msg, NULL);
    ptrdiff_t stdim[] = {PTRDIFF_MAX - 1, PTRDIFF_MAX - 1};
    b = desc(m, "B", 1, 2, sh2x2, stdim, 1);
    expect_from_buffer_error(&b, MV_EOVERFLOW, "memory extent overflows at dimension 1", NULL);
    ptrdiff_t sh2[] = {2};
    b = desc(m, "B", 1, 1, sh2, stmax, 1);
    expect_from_buffer_error(&b, MV_EOVERFLOW, "buffer extent overflows", NULL);

    /* buf NULL with items. */
    b = desc(NULL, "i", 4, 1, n4, NULL, 0);
    expect_from_buffer_error(&b, MV_EVALUE, "buffer buf is NULL but len is 16", NULL);
    b = desc(NULL, "i", 4, 2, sh23, NULL, 0);
    expect_from_buffer_error(&b, MV_EVALUE, "buffer buf is NULL but len is 24", NULL);

    /* Formats: one that does not parse, one whose size is not itemsize. */
    const char *bad[] = {"Y", "T{i", "Q{", "<<", "3"};
    for (int k = 0; k < 5; k++) {
        b = desc(m, bad[k], 4, 1, n4, NULL, 0);
        expect_from_buffer_error(&b, MV_EVALUE, NULL, "invalid format string");
        b = desc(m, bad[k], 4, 2, sh2x2, NULL, 0);
        expect_from_buffer_error(&b, MV_EVALUE, NULL, "invalid format string");
    }
    b = desc(m, "i", 8, 1, n4, NULL, 0);
    expect_from_buffer_error(&b, MV_EVALUE, "buffer itemsize 8 does not match format 'i' (size 4)",
                             NULL);
    b = desc(m, "d", 4, 2, sh2x2, NULL, 0);
    expect_from_buffer_error(&b, MV_EVALUE, "buffer itemsize 4 does not match format 'd' (size 8)",
                             NULL);
    b = desc(m, "<i", 2, 1, n4, NULL, 0);
    expect_from_buffer_error(&b, MV_EVALUE, "buffer itemsize 2 does not match format '<i' (size 4)",
                             NULL);
    /* A contiguous 1-D native layout whose stride is not the itemsize. */
    ptrdiff_t s8[] = {8};
    b = desc(m, "i", 4, 1, n4, s8, 0);
    s = layout_of(&b);
    assert_int_equal(s.strides[0], 8);
    check_contig(&s);
}

static void from_view_cases(void **state)
{
    (void)state;
    int32_t m[12];
    for (int k = 0; k < 12; k++)
        m[k] = k * k;
    ptrdiff_t shape[] = {3, 4}, strides[] = {-16, 4};
    mv_view *v = view_layout(&m[8], "i", 4, 2, shape, strides, NULL, 0);
    size_t refs = mv_object_refcount(mv_view_object(v));
    size_t exports = mv_object_exports(mv_view_object(v));
    mv_layout s;
    poison(&s);
    mv_error err;
    noalloc_begin();
    int rc = mv_view_layout(&s, v, &err);
    long failed = noalloc_end();
    assert_int_equal(rc, 0);
    assert_int_equal(failed, 0);
    assert_int_equal(mv_object_refcount(mv_view_object(v)), refs);
    assert_int_equal(mv_object_exports(mv_view_object(v)), exports);
    expect_layout(&s, &m[8], 4, 2, shape, strides);
    assert_false(s.readonly);
    assert_layout_is_view(&s, v);
    /* The same descriptor through from_buffer gives the same layout. */
    mv_buffer b = desc(&m[8], "i", 4, 2, shape, strides, 0);
    mv_layout sb = layout_of(&b);
    assert_layout_equal(&sb, &s);

    /* A read-only view gives a read-only layout. */
    mv_view *ro = mv_view_toreadonly(v, &err);
    assert_non_null(ro);
    mv_layout sr;
    assert_int_equal(mv_view_layout(&sr, ro, &err), 0);
    assert_true(sr.readonly);
    ptrdiff_t i12[] = {1, 2};
    mv_value val = {.kind = MV_VALUE_SIGNED, .v.i = 5};
    expect_error(mv_layout_set_item(&sr, i12, 2, &val, 1, &err), &err, MV_ETYPE, MSG_READONLY);
    assert_int_equal(m[6], 36);
    mv_decref(mv_view_object(ro));

    /* A sliced view: the layout follows the view's. */
    mv_key k[] = {ks(5, 2, 0, -2), ki(-1)};
    mv_view *sub = mv_view_subscript(v, k, 2, &err);
    assert_non_null(sub);
    mv_layout ss;
    assert_int_equal(mv_view_layout(&ss, sub, &err), 0);
    ptrdiff_t ssh[] = {2}, sst[] = {32};
    expect_layout(&ss, &m[3], 4, 1, ssh, sst);
    assert_int_equal(read_i32(mv_layout_at1(&ss, 1)), m[11]);
    mv_decref(mv_view_object(sub));

    /* Memory views too. */
    mv_view *fm = mv_view_from_memory(m, 48, MV_BUF_READ, &err);
    assert_non_null(fm);
    assert_int_equal(mv_view_layout(&s, fm, &err), 0);
    ptrdiff_t fsh[] = {48}, fst[] = {1};
    expect_layout(&s, m, 1, 1, fsh, fst);
    assert_true(s.readonly);
    assert_string_equal(s.format, "B");
    mv_decref(mv_view_object(fm));

    /* Errors, each leaving the layout alone. */
    poison(&s);
    expect_error(mv_view_layout(&s, NULL, &err), &err, MV_EVALUE, MSG_NULL);
    assert_poisoned(&s);
    expect_error(mv_view_layout(NULL, v, &err), &err, MV_EVALUE, MSG_NULL);
    assert_int_equal(mv_view_layout(NULL, NULL, NULL), MV_EVALUE);

    mv_view *rel = released_view();
    expect_error(mv_view_layout(&s, rel, &err), &err, MV_EVALUE, RELEASED_MSG);
    assert_poisoned(&s);
    mv_decref(mv_view_object(rel));
    mv_view *v2 = view_layout(m, "i", 4, 2, shape, NULL, NULL, 0);
    assert_int_equal(mv_view_release(v2, &err), 0);
    expect_error(mv_view_layout(&s, v2, &err), &err, MV_EVALUE, RELEASED_MSG);
    assert_poisoned(&s);
    mv_decref(mv_view_object(v2));

    /* Nine dimensions (once refused: spans had at most eight), and eight. */
    ptrdiff_t ones[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    mv_view *v9 = view_layout(m, "B", 1, 9, ones, NULL, NULL, 1);
    assert_int_equal(mv_view_layout(&s, v9, &err), 0);
    expect_layout(&s, m, 1, 9, ones, ones);
    assert_true(s.readonly);
    assert_layout_is_view(&s, v9);
    ptrdiff_t zeros9[9] = {0}, minus9[9] = {-1, -1, -1, -1, -1, -1, -1, -1, -1};
    assert_ptr_equal(mv_layout_at(&s, zeros9), m);
    assert_ptr_equal(mv_layout_at(&s, minus9), m);
    mv_key k0 = ki(0);
    mv_view *v8 = mv_view_subscript(v9, &k0, 1, &err);
    assert_non_null(v8);
    assert_int_equal(mv_view_layout(&s, v8, &err), 0);
    assert_int_equal(s.ndim, 8);
    assert_ptr_equal(s.buf, m);
    mv_decref(mv_view_object(v8));
    mv_decref(mv_view_object(v9));
    /* 64, the most a view has. */
    ptrdiff_t ones64[64];
    for (int d = 0; d < 64; d++)
        ones64[d] = 1;
    mv_view *v64 = view_layout(&m[5], "i", 4, 64, ones64, NULL, NULL, 0);
    poison(&s);
    noalloc_begin();
    rc = mv_view_layout(&s, v64, &err);
    failed = noalloc_end();
    assert_int_equal(rc, 0);
    assert_int_equal(failed, 0);
    ptrdiff_t fours64[64];
    for (int d = 0; d < 64; d++)
        fours64[d] = 4;
    expect_layout(&s, &m[5], 4, 64, ones64, fours64);
    assert_layout_is_view(&s, v64);
    ptrdiff_t zeros64[64] = {0};
    mv_value x;
    assert_int_equal(mv_layout_get_item(&s, zeros64, 64, &x, 1, &err), 0);
    assert_int_equal(x.v.i, 25);
    mv_decref(mv_view_object(v64));
    poison(&s);

    /* Indirect (PIL-style) views (once refused): the layout keeps the
     * suboffsets, and its items are where the row pointers lead. */
    unsigned char rows[2][3] = {{1, 2, 3}, {4, 5, 6}};
    unsigned char *ptrs[2] = {rows[1], rows[0]};
    ptrdiff_t psh[] = {2, 3}, pst[] = {(ptrdiff_t)sizeof(unsigned char *), 1}, psub[] = {0, -1};
    mv_view *pil = view_layout(ptrs, "B", 1, 2, psh, pst, psub, 1);
    assert_int_equal(mv_view_layout(&s, pil, &err), 0);
    assert_ptr_equal(s.buf, ptrs);
    assert_int_equal(s.ndim, 2);
    assert_int_equal(s.len, 6);
    assert_int_equal(s.itemsize, 1);
    assert_true(s.readonly);
    assert_true(s.indirect);
    assert_int_equal(s.contig, 0);
    for (int d = 0; d < 2; d++) {
        assert_int_equal(s.shape[d], psh[d]);
        assert_int_equal(s.strides[d], pst[d]);
        assert_int_equal(s.suboffsets[d], psub[d]);
    }
    assert_layout_is_view(&s, pil);
    for (ptrdiff_t i = 0; i < 2; i++)
        for (ptrdiff_t j = 0; j < 3; j++) {
            ptrdiff_t idx[] = {i, j};
            assert_ptr_equal(mv_layout_at(&s, idx), &rows[1 - i][j]);
            assert_int_equal(mv_layout_get_item(&s, idx, 2, &x, 1, &err), 0);
            assert_int_equal(x.v.u, 3 * (1 - i) + j + 1);
        }
    /* Once an integer index has followed the pointer, the row is direct. */
    mv_key k1 = ki(1);
    mv_view *row = mv_view_subscript(pil, &k1, 1, &err);
    assert_non_null(row);
    assert_int_equal(mv_view_layout(&s, row, &err), 0);
    ptrdiff_t rsh[] = {3}, rst[] = {1};
    expect_layout(&s, rows[0], 1, 1, rsh, rst);
    mv_decref(mv_view_object(row));
    mv_decref(mv_view_object(pil));

    mv_decref(mv_view_object(v));
}

/* A view whose format does not parse: it has a layout all the same, and
 * get_item reports what the view's get_item reports. */
static void from_view_unparseable_format(void **state)
{
    (void)state;
    unsigned char mem[1] = {42};
    const char *formats[] = {"Y", "T{>q:x:", "3"};
    for (int f = 0; f < 3; f++) {
        mv_view *v = view_raw_format(mem, formats[f]);
        mv_layout s;
        mv_error err, verr;
        assert_int_equal(mv_view_layout(&s, v, &err), 0);
        assert_string_equal(s.format, formats[f]);
        assert_ptr_equal(mv_layout_at1(&s, 0), mem);
        ptrdiff_t i = 0;
        mv_value val;
        int rc = mv_layout_get_item(&s, &i, 1, &val, 1, &err);
        int vrc = mv_view_get_item(v, &i, 1, &val, 1, &verr);
        assert_int_equal(rc, MV_EVALUE);
        assert_int_equal(vrc, rc);
        assert_string_equal(err.message, verr.message);
        assert_non_null(strstr(err.message, "invalid format string"));
        mv_decref(mv_view_object(v));
    }
}

/* ------------------------------------------------------------------------ */
/* Items                                                                      */
/* ------------------------------------------------------------------------ */

/* Items of a native format read and written through a 1-D layout (whole
 * and reversed with a step) and a 2-D layout with a negative stride,
 * against the typed C array. */
#define NATIVE_ITEMS(T, CODE, KIND, MEMBER)                                                        \
    do {                                                                                           \
        T src[24];                                                                                 \
        for (int k = 0; k < 24; k++) {                                                             \
            uint64_t bits = rng_next(&gen);                                                        \
            memcpy(&src[k], &bits, sizeof src[k]);                                                 \
            if (KIND == MV_VALUE_DOUBLE)                                                           \
                src[k] = (T)((double)(int32_t)bits / 8.0);                                         \
        }                                                                                          \
        ptrdiff_t n24[] = {24};                                                                    \
        mv_buffer b = desc(src, CODE, sizeof(T), 1, n24, NULL, 0);                                 \
        mv_layout s = layout_of(&b);                                                               \
        mv_key key = ks(5, 22, 0, -3);                                                             \
        mv_layout rev;                                                                             \
        assert_int_equal(mv_layout_select(&rev, &s, &key, 1, &err), 0);                            \
        assert_int_equal(rev.shape[0], 8);                                                         \
        for (ptrdiff_t i = -24; i < 24; i++) {                                                     \
            mv_value val;                                                                          \
            ptrdiff_t j = i < 0 ? i + 24 : i;                                                      \
            assert_int_equal(mv_layout_get_item(&s, &i, 1, &val, 1, &err), 0);                     \
            assert_int_equal(val.kind, KIND);                                                      \
            assert_true(val.v.MEMBER == src[j]);                                                   \
            assert_ptr_equal(mv_layout_at1(&s, i), (char *)src + j * (ptrdiff_t)sizeof(T));        \
            if (i >= -8 && i < 8) {                                                                \
                ptrdiff_t r = i < 0 ? i + 8 : i;                                                   \
                assert_int_equal(mv_layout_get_item(&rev, &i, 1, &val, 1, &err), 0);               \
                assert_true(val.v.MEMBER == src[22 - 3 * r]);                                      \
                assert_ptr_equal(mv_layout_at1(&rev, i), (char *)&src[22 - 3 * r]);                \
            }                                                                                      \
        }                                                                                          \
        ptrdiff_t out[] = {24, -25, PTRDIFF_MAX, PTRDIFF_MIN};                                     \
        for (int k = 0; k < 4; k++) {                                                              \
            mv_value val;                                                                          \
            expect_error(mv_layout_get_item(&s, &out[k], 1, &val, 1, &err), &err, MV_EINDEX,       \
                         "index out of bounds on dimension 1");                                    \
            assert_null(mv_layout_at1(&s, out[k]));                                                \
            assert_null(mv_layout_at(&s, &out[k]));                                                \
        }                                                                                          \
        /* Write through the reversed layout: src[22 - 3 * 2] = src[16]. */                        \
        T want = src[0];                                                                           \
        mv_value w;                                                                                \
        w.kind = KIND;                                                                             \
        w.v.MEMBER = want;                                                                         \
        ptrdiff_t i2 = 2;                                                                          \
        assert_int_equal(mv_layout_set_item(&rev, &i2, 1, &w, 1, &err), 0);                        \
        assert_true(src[16] == want);                                                              \
        /* 2-D: rows of 6 taken bottom-up. */                                                      \
        ptrdiff_t sh[] = {4, 6}, st[] = {-6 * (ptrdiff_t)sizeof(T), (ptrdiff_t)sizeof(T)};         \
        b = desc(&src[18], CODE, sizeof(T), 2, sh, st, 0);                                         \
        s = layout_of(&b);                                                                         \
        for (ptrdiff_t i = 0; i < 4; i++)                                                          \
            for (ptrdiff_t j = 0; j < 6; j++) {                                                    \
                ptrdiff_t idx[] = {i - 4, j};                                                      \
                mv_value val;                                                                      \
                assert_int_equal(mv_layout_get_item(&s, idx, 2, &val, 1, &err), 0);                \
                assert_true(val.v.MEMBER == src[18 - 6 * i + j]);                                  \
            }                                                                                      \
        ptrdiff_t bad[] = {0, 6};                                                                  \
        mv_value val;                                                                              \
        expect_error(mv_layout_get_item(&s, bad, 2, &val, 1, &err), &err, MV_EINDEX,               \
                     "index out of bounds on dimension 2");                                        \
        expect_error(mv_layout_set_item(&s, bad, 2, &w, 1, &err), &err, MV_EINDEX,                 \
                     "index out of bounds on dimension 2");                                        \
        assert_null(mv_layout_at(&s, bad));                                                        \
        ptrdiff_t ok[] = {3, 5};                                                                   \
        w.v.MEMBER = src[1];                                                                       \
        assert_int_equal(mv_layout_set_item(&s, ok, 2, &w, 1, &err), 0);                           \
        assert_true(src[5] == src[1]);                                                             \
    } while (0)

static void items_native(void **state)
{
    (void)state;
    mv_error err;
    NATIVE_ITEMS(unsigned char, "B", MV_VALUE_UNSIGNED, u);
    NATIVE_ITEMS(signed char, "b", MV_VALUE_SIGNED, i);
    NATIVE_ITEMS(unsigned short, "H", MV_VALUE_UNSIGNED, u);
    NATIVE_ITEMS(short, "@h", MV_VALUE_SIGNED, i);
    NATIVE_ITEMS(unsigned int, "I", MV_VALUE_UNSIGNED, u);
    NATIVE_ITEMS(int, "@i", MV_VALUE_SIGNED, i);
    NATIVE_ITEMS(unsigned long, "L", MV_VALUE_UNSIGNED, u);
    NATIVE_ITEMS(long, "l", MV_VALUE_SIGNED, i);
    NATIVE_ITEMS(unsigned long long, "Q", MV_VALUE_UNSIGNED, u);
    NATIVE_ITEMS(long long, "q", MV_VALUE_SIGNED, i);
    NATIVE_ITEMS(size_t, "N", MV_VALUE_UNSIGNED, u);
    NATIVE_ITEMS(ptrdiff_t, "n", MV_VALUE_SIGNED, i);
    NATIVE_ITEMS(float, "f", MV_VALUE_DOUBLE, d);
    NATIVE_ITEMS(double, "d", MV_VALUE_DOUBLE, d);
}

/* Formats that are parsed per call: standard byte orders, '?', records. */
static void items_nonnative(void **state)
{
    (void)state;
    mv_error err;
    mv_value v[3];

    /* "<H": little-endian bytes the test writes. */
    unsigned char le[10];
    for (int k = 0; k < 5; k++)
        put_uint(le + 2 * k, 2, true, 0xA000u + 0x111u * (unsigned)k);
    ptrdiff_t n5[] = {5};
    mv_buffer b = desc(le, "<H", 2, 1, n5, NULL, 0);
    mv_layout s = layout_of(&b);
    for (ptrdiff_t i = 0; i < 5; i++) {
        assert_int_equal(mv_layout_get_item(&s, &i, 1, v, 1, &err), 0);
        assert_int_equal(v[0].kind, MV_VALUE_UNSIGNED);
        assert_int_equal(v[0].v.u, 0xA000u + 0x111u * (unsigned)i);
    }
    ptrdiff_t i3 = -2;
    v[0] = (mv_value){.kind = MV_VALUE_UNSIGNED, .v.u = 0xBEEF};
    assert_int_equal(mv_layout_set_item(&s, &i3, 1, v, 1, &err), 0);
    assert_int_equal(le[6], 0xEF);
    assert_int_equal(le[7], 0xBE);
    v[0].v.u = 0x10000;
    expect_error(mv_layout_set_item(&s, &i3, 1, v, 1, &err), &err, MV_EVALUE,
                 "memoryview: invalid value for format '<H'");
    assert_int_equal(le[6], 0xEF);

    /* ">i", 2-D, big-endian. */
    unsigned char be[24];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            put_uint(be + 4 * (3 * i + j), 4, false, (uint64_t)(uint32_t)(-(i * 10 + j + 1)));
    ptrdiff_t sh23[] = {2, 3};
    b = desc(be, ">i", 4, 2, sh23, NULL, 0);
    s = layout_of(&b);
    for (ptrdiff_t i = 0; i < 2; i++)
        for (ptrdiff_t j = 0; j < 3; j++) {
            ptrdiff_t idx[] = {i, j};
            assert_int_equal(mv_layout_get_item(&s, idx, 2, v, 1, &err), 0);
            assert_int_equal(v[0].kind, MV_VALUE_SIGNED);
            assert_int_equal(v[0].v.i, -(i * 10 + j + 1));
        }
    ptrdiff_t i12[] = {1, 2};
    v[0] = (mv_value){.kind = MV_VALUE_SIGNED, .v.i = -123456}; /* 0xFFFE1DC0 */
    assert_int_equal(mv_layout_set_item(&s, i12, 2, v, 1, &err), 0);
    const unsigned char want_be[] = {0xFF, 0xFE, 0x1D, 0xC0};
    assert_memory_equal(be + 20, want_be, 4);

    /* A record of two standard-size fields: 6 bytes, no padding. */
    unsigned char rec[18];
    for (int k = 0; k < 3; k++) {
        put_uint(rec + 6 * k, 2, true, (uint64_t)(uint16_t)(-100 - k));
        put_uint(rec + 6 * k + 2, 4, true, (uint64_t)(70000 + k));
    }
    ptrdiff_t n3[] = {3}, stm6[] = {-6};
    b = desc(rec + 12, "T{<h:a:<i:b:}", 6, 1, n3, stm6, 0);
    s = layout_of(&b);
    for (ptrdiff_t i = 0; i < 3; i++) {
        assert_int_equal(mv_layout_get_item(&s, &i, 1, v, 3, &err), 0);
        assert_int_equal(v[0].kind, MV_VALUE_SIGNED);
        assert_int_equal(v[0].v.i, -100 - (2 - i));
        assert_int_equal(v[1].kind, MV_VALUE_SIGNED);
        assert_int_equal(v[1].v.i, 70000 + (2 - i));
    }
    ptrdiff_t i0 = 0;
    assert_int_equal(mv_layout_get_item(&s, &i0, 1, v, 1, &err), MV_EVALUE);
    ptrdiff_t i1 = 1;
    v[0] = (mv_value){.kind = MV_VALUE_SIGNED, .v.i = -2};
    v[1] = (mv_value){.kind = MV_VALUE_SIGNED, .v.i = 0x01020304};
    assert_int_equal(mv_layout_set_item(&s, &i1, 1, v, 2, &err), 0);
    const unsigned char want_rec[] = {0xFE, 0xFF, 0x04, 0x03, 0x02, 0x01};
    assert_memory_equal(rec + 6, want_rec, 6);
    assert_int_equal(mv_layout_set_item(&s, &i1, 1, v, 1, &err), MV_EVALUE);

    /* '?' is native but not a number: parsed, as a view would. */
    _Bool flags[3] = {0, 1, 0};
    b = desc(flags, "?", sizeof(_Bool), 1, n3, NULL, 0);
    s = layout_of(&b);
    for (ptrdiff_t i = 0; i < 3; i++) {
        assert_int_equal(mv_layout_get_item(&s, &i, 1, v, 1, &err), 0);
        assert_int_equal(v[0].kind, MV_VALUE_BOOL);
        assert_int_equal(v[0].v.b, i == 1);
    }
    v[0] = (mv_value){.kind = MV_VALUE_SIGNED, .v.i = 7};
    assert_int_equal(mv_layout_set_item(&s, &i0, 1, v, 1, &err), 0);
    assert_true(flags[0]);
}

/* get/set argument and index errors, with mv_view_get_item's codes and
 * messages on the same memory. */
static void item_errors(void **state)
{
    (void)state;
    int32_t m[12] = {0};
    ptrdiff_t sh[] = {3, 4};
    mv_buffer b = desc(m, "i", 4, 2, sh, NULL, 0);
    mv_layout s = layout_of(&b);
    mv_view *v = view_layout(m, "i", 4, 2, sh, NULL, NULL, 0);
    mv_error err, verr;
    mv_value val[2] = {{.kind = MV_VALUE_SIGNED, .v.i = 9}, {.kind = MV_VALUE_SIGNED}};

    typedef struct {
        ptrdiff_t idx[3];
        int nindex;
        bool null_index;
        int code;
        const char *msg;
    } item_case;
    const item_case cases[] = {
        {{0, 0, 0}, 1, false, MV_ENOTIMPL, MSG_SUBVIEWS},
        {{0, 0, 0}, 0, false, MV_ENOTIMPL, MSG_SUBVIEWS},
        {{0, 0, 0}, 3, false, MV_ETYPE, "cannot index 2-dimension view with 3-element tuple"},
        {{0, 0, 0}, -1, false, MV_EVALUE, MSG_INDEX_ARRAY},
        {{0, 0, 0}, 2, true, MV_EVALUE, MSG_INDEX_ARRAY},
        {{3, 0, 0}, 2, false, MV_EINDEX, "index out of bounds on dimension 1"},
        {{-4, 0, 0}, 2, false, MV_EINDEX, "index out of bounds on dimension 1"},
        {{0, 4, 0}, 2, false, MV_EINDEX, "index out of bounds on dimension 2"},
        {{0, -5, 0}, 2, false, MV_EINDEX, "index out of bounds on dimension 2"},
        {{PTRDIFF_MIN, 0, 0}, 2, false, MV_EINDEX, "index out of bounds on dimension 1"},
        {{0, PTRDIFF_MAX, 0}, 2, false, MV_EINDEX, "index out of bounds on dimension 2"},
        {{PTRDIFF_MAX, PTRDIFF_MIN, 0}, 2, false, MV_EINDEX, "index out of bounds on dimension 1"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const item_case *ic = &cases[c];
        const ptrdiff_t *idx = ic->null_index ? NULL : ic->idx;
        mv_error_clear(&err);
        expect_error(mv_layout_get_item(&s, idx, ic->nindex, val, 1, &err), &err, ic->code,
                     ic->msg);
        expect_error(mv_view_get_item(v, idx, ic->nindex, val, 1, &verr), &verr, ic->code, ic->msg);
        expect_error(mv_layout_set_item(&s, idx, ic->nindex, val, 1, &err), &err, ic->code,
                     ic->msg);
        expect_error(mv_view_set_item(v, idx, ic->nindex, val, 1, &verr), &verr, ic->code, ic->msg);
        if (ic->nindex == 2 && !ic->null_index)
            assert_null(mv_layout_at(&s, idx));
    }
    for (int k = 0; k < 12; k++)
        assert_int_equal(m[k], 0);

    /* values NULL, nvalues too small, wrong value kinds. */
    ptrdiff_t i12[] = {1, 2};
    expect_error(mv_layout_get_item(&s, i12, 2, NULL, 1, &err), &err, MV_EVALUE, MSG_VALUES);
    expect_error(mv_layout_set_item(&s, i12, 2, NULL, 1, &err), &err, MV_EVALUE, MSG_VALUES);
    int rc = mv_layout_get_item(&s, i12, 2, val, 0, &err);
    int vrc = mv_view_get_item(v, i12, 2, val, 0, &verr);
    assert_int_equal(rc, MV_EVALUE);
    assert_int_equal(vrc, rc);
    assert_string_equal(err.message, verr.message);
    rc = mv_layout_set_item(&s, i12, 2, val, 2, &err);
    vrc = mv_view_set_item(v, i12, 2, val, 2, &verr);
    assert_int_equal(rc, MV_EVALUE);
    assert_int_equal(vrc, rc);
    assert_string_equal(err.message, verr.message);
    mv_value dbl = {.kind = MV_VALUE_DOUBLE, .v.d = 1.5};
    expect_error(mv_layout_set_item(&s, i12, 2, &dbl, 1, &err), &err, MV_ETYPE,
                 "memoryview: invalid type for format 'i'");
    mv_value big = {.kind = MV_VALUE_SIGNED, .v.i = (int64_t)INT32_MAX + 1};
    expect_error(mv_layout_set_item(&s, i12, 2, &big, 1, &err), &err, MV_EVALUE,
                 "memoryview: invalid value for format 'i'");
    assert_int_equal(m[6], 0);

    /* NULL layout. */
    expect_error(mv_layout_get_item(NULL, i12, 2, val, 1, &err), &err, MV_EVALUE, MSG_NULL);
    expect_error(mv_layout_set_item(NULL, i12, 2, val, 1, &err), &err, MV_EVALUE, MSG_NULL);
    assert_int_equal(mv_layout_get_item(NULL, NULL, 0, NULL, 0, NULL), MV_EVALUE);
    assert_null(mv_layout_at(NULL, i12));
    assert_null(mv_layout_at1(NULL, 0));
    /* at with no index array on an N-D layout; at1 on a 2-D layout. */
    assert_null(mv_layout_at(&s, NULL));
    assert_null(mv_layout_at1(&s, 0));

    /* Read-only layouts refuse writes and keep the memory. */
    b.readonly = 1;
    s = layout_of(&b);
    assert_true(s.readonly);
    val[0].v.i = 77;
    expect_error(mv_layout_set_item(&s, i12, 2, val, 1, &err), &err, MV_ETYPE, MSG_READONLY);
    ptrdiff_t i00[] = {0, 0};
    expect_error(mv_layout_set_item(&s, i00, 2, val, 1, &err), &err, MV_ETYPE, MSG_READONLY);
    assert_int_equal(m[6], 0);
    assert_int_equal(m[0], 0);
    /* ... and reads still work. */
    m[6] = 66;
    assert_int_equal(mv_layout_get_item(&s, i12, 2, val, 1, &err), 0);
    assert_int_equal(val[0].v.i, 66);
    /* Read-only survives slicing. */
    mv_key k = ki(1);
    mv_layout row;
    assert_int_equal(mv_layout_select(&row, &s, &k, 1, &err), 0);
    assert_true(row.readonly);
    ptrdiff_t i2 = 2;
    expect_error(mv_layout_set_item(&row, &i2, 1, val, 1, &err), &err, MV_ETYPE, MSG_READONLY);
    assert_int_equal(m[6], 66);

    mv_decref(mv_view_object(v));
}

/* Hand-made layouts outside the contract (ndim outside [0, 64]; the
 * functions trust a layout to be as they left it, so only these are
 * defined): at / at1 give NULL, and passing the layout through
 * mv_layout_buffer + mv_layout_from_buffer, as the header advises, finds
 * the ndim with mv_buffer_validate's message. */
static void hand_made_bad_ndim(void **state)
{
    (void)state;
    unsigned char mem[4] = {1, 2, 3, 4};
    ptrdiff_t n4[] = {4};
    mv_buffer b = desc(mem, "B", 1, 1, n4, NULL, 0);
    mv_layout s = layout_of(&b);
    const int bad[] = {-1, 65, INT_MAX, INT_MIN};
    for (int k = 0; k < 4; k++) {
        mv_layout h = s;
        h.ndim = bad[k];
        char msg[MV_ERROR_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "buffer ndim must be in [0, 64], not %d", bad[k]);
        ptrdiff_t idx[MV_MAX_NDIM] = {0};
        assert_null(mv_layout_at(&h, idx));
        assert_null(mv_layout_at1(&h, 0));
        mv_buffer hb;
        mv_layout_buffer(&h, &hb);
        assert_int_equal(hb.ndim, bad[k]);
        expect_from_buffer_error(&hb, MV_EVALUE, msg, NULL);
    }
    /* 9 and 64 are in range: the same round trip takes them. */
    const int good[] = {9, 64};
    for (int k = 0; k < 2; k++) {
        mv_layout h = s;
        h.ndim = good[k];
        for (int d = 1; d < good[k]; d++) {
            h.shape[d] = 1;
            h.strides[d] = 1;
        }
        h.shape[0] = 4;
        mv_buffer hb;
        mv_layout_buffer(&h, &hb);
        mv_layout t = layout_of(&hb);
        assert_int_equal(t.ndim, good[k]);
        assert_int_equal(t.len, 4);
        ptrdiff_t idx[MV_MAX_NDIM] = {3};
        assert_ptr_equal(mv_layout_at(&t, idx), mem + 3);
    }
}

/* ------------------------------------------------------------------------ */
/* Slicing by hand                                                            */
/* ------------------------------------------------------------------------ */

#define NC PTRDIFF_MIN

typedef struct slice_case {
    int nkeys;
    mv_key keys[8];
    ptrdiff_t offset; /* bytes from the source's buf; NC: empty, not checked */
    int ndim;
    ptrdiff_t shape[8];
    ptrdiff_t strides[8];
} slice_case;

/* Select from src with each case into a fresh layout, into src itself (a
 * copy), and through a view of the same descriptor. */
static void run_slice_cases(const mv_buffer *b, const slice_case *cases, size_t n)
{
    mv_layout src = layout_of(b);
    mv_view *v = view_layout(b->buf, b->format, b->itemsize, b->ndim, b->shape, b->strides, NULL,
                             b->readonly);
    for (size_t c = 0; c < n; c++) {
        const slice_case *sc = &cases[c];
        const mv_key *keys = sc->nkeys ? sc->keys : NULL;
        mv_layout out;
        mv_error err;
        poison(&out);
        noalloc_begin();
        int rc = mv_layout_select(&out, &src, keys, sc->nkeys, &err);
        long failed = noalloc_end();
        if (rc != 0)
            fail_msg("case %zu: %s", c, err.message);
        assert_int_equal(failed, 0);
        if (out.ndim != sc->ndim)
            fail_msg("case %zu: ndim %d, expected %d", c, out.ndim, sc->ndim);
        ptrdiff_t count = 1;
        for (int d = 0; d < sc->ndim; d++) {
            if (out.shape[d] != sc->shape[d] ||
                (sc->shape[d] > 1 && out.strides[d] != sc->strides[d]))
                fail_msg(
                    "case %zu (ndim %d), dimension %d: shape %td stride %td, expected %td / %td", c,
                    b->ndim, d, out.shape[d], out.strides[d], sc->shape[d], sc->strides[d]);
            count *= sc->shape[d];
        }
        assert_int_equal(out.len, count * b->itemsize);
        if (sc->offset != NC)
            assert_ptr_equal(out.buf, (char *)b->buf + sc->offset);
        assert_ptr_equal(out.format, src.format);
        assert_int_equal(out.itemsize, src.itemsize);
        assert_int_equal(out.readonly, src.readonly);
        assert_false(out.indirect);
        check_contig(&out);
        /* The view agrees exactly. */
        mv_view *sub = mv_view_subscript(v, keys, sc->nkeys, &err);
        assert_non_null(sub);
        assert_layout_is_view(&out, sub);
        mv_decref(mv_view_object(sub));
        /* out may be the input. */
        mv_layout self = src;
        assert_int_equal(mv_layout_select(&self, &self, keys, sc->nkeys, &err), 0);
        assert_layout_equal(&self, &out);
    }
    mv_decref(mv_view_object(v));
}

static void slice_by_hand(void **state)
{
    (void)state;
    int32_t m[24];
    for (int k = 0; k < 24; k++)
        m[k] = k;

    /* 1-D of 10 ints. */
    ptrdiff_t n10[] = {10};
    mv_buffer b1 = desc(m, "i", 4, 1, n10, NULL, 0);
    const slice_case c1[] = {
        {1, {ks(7, 2, 8, 2)}, 8, 1, {3}, {8}},
        {1, {ks(4, 0, 0, -1)}, 36, 1, {10}, {-4}},
        {1, {ks(7, 8, 2, -3)}, 32, 1, {2}, {-12}},
        {1, {ks(1, -3, 0, 0)}, 28, 1, {3}, {4}},
        {1, {ks(3, -100, 3, 0)}, 0, 1, {3}, {4}},
        {1, {ks(1, 100, 0, 0)}, NC, 1, {0}, {4}},
        {1, {ks(3, 5, 5, 0)}, NC, 1, {0}, {4}},
        {1, {ks(7, 2, 8, -1)}, NC, 1, {0}, {-4}},
        {1, {ks(3, PTRDIFF_MIN, PTRDIFF_MAX, 0)}, 0, 1, {10}, {4}},
        {1, {ks(7, PTRDIFF_MAX, PTRDIFF_MIN, -1)}, 36, 1, {10}, {-4}},
        {1, {ks(4, 0, 0, PTRDIFF_MAX)}, 0, 1, {1}, {0}},
        {1, {ks(4, 0, 0, PTRDIFF_MIN)}, 36, 1, {1}, {0}},
        {1, {ks(7, -1, -11, -4)}, 36, 1, {3}, {-16}},
        {1, {ki(-1)}, 36, 0, {0}, {0}},
        {1, {ki(0)}, 0, 0, {0}, {0}},
        {2, {KN, ks(4, 0, 0, 2)}, 0, 2, {1, 5}, {0, 8}},
        {2, {ks(4, 0, 0, 3), KN}, 0, 2, {4, 1}, {12, 0}},
        {1, {KE}, 0, 1, {10}, {4}},
        {2, {KE, ki(4)}, 16, 0, {0}, {0}},
        {2, {ki(4), KE}, 16, 0, {0}, {0}},
        {3, {KN, KE, KN}, 0, 3, {1, 10, 1}, {0, 4, 0}},
        {0, {KALL}, 0, 1, {10}, {4}},
        {8, {KN, KN, KN, KN, KN, KN, KN, ki(3)}, 12, 7, {1, 1, 1, 1, 1, 1, 1}, {0}},
    };
    run_slice_cases(&b1, c1, sizeof c1 / sizeof c1[0]);

    /* 1-D, every other int (non-contiguous). */
    ptrdiff_t n5[] = {5}, s8[] = {8};
    mv_buffer bs = desc(m, "i", 4, 1, n5, s8, 1);
    const slice_case cs[] = {
        {1, {ks(1, 1, 0, 0)}, 8, 1, {4}, {8}},
        {1, {ks(5, 1, 0, 2)}, 8, 1, {2}, {16}},
        {1, {ks(4, 0, 0, -2)}, 32, 1, {3}, {-16}},
        {1, {ki(-2)}, 24, 0, {0}, {0}},
    };
    run_slice_cases(&bs, cs, sizeof cs / sizeof cs[0]);

    /* 2-D 3 x 4, C order. */
    ptrdiff_t sh34[] = {3, 4};
    mv_buffer b2 = desc(m, "i", 4, 2, sh34, NULL, 0);
    const slice_case c2[] = {
        {1, {ki(1)}, 16, 1, {4}, {4}},
        {2, {KALL, ki(2)}, 8, 1, {3}, {16}},
        {2, {ks(4, 0, 0, -1), ks(4, 0, 0, -2)}, 44, 2, {3, 2}, {-16, -8}},
        {2, {KE, ki(1)}, 4, 1, {3}, {16}},
        {2, {ki(-1), KE}, 32, 1, {4}, {4}},
        {3, {KN, KE, KN}, 0, 4, {1, 3, 4, 1}, {0, 16, 4, 0}},
        {2, {ks(1, 1, 0, 0), ks(3, 1, 3, 0)}, 20, 2, {2, 2}, {16, 4}},
        {2, {ki(-3), ki(-4)}, 0, 0, {0}, {0}},
        {1, {ks(3, 1, 2, 0)}, 16, 2, {1, 4}, {16, 4}},
        {2, {ks(3, 1, 1, 0), ki(0)}, NC, 1, {0}, {16}},
        {2, {KALL, ks(3, 3, 1, 0)}, NC, 2, {3, 0}, {16, 4}},
        {3, {ki(2), KN, ks(7, -1, 0, -2)}, 44, 2, {1, 2}, {0, -8}},
        {1, {ks(7, 2, PTRDIFF_MIN, PTRDIFF_MIN)}, 32, 2, {1, 4}, {0, 4}},
    };
    run_slice_cases(&b2, c2, sizeof c2 / sizeof c2[0]);

    /* The same memory reversed in both dimensions (negative strides). */
    ptrdiff_t nst[] = {-16, -4};
    mv_buffer bn = desc(&m[11], "i", 4, 2, sh34, nst, 0);
    const slice_case cn[] = {
        {1, {ki(0)}, 0, 1, {4}, {-4}},
        {2, {KALL, ks(5, 1, 0, 2)}, -4, 2, {3, 2}, {-16, -8}},
        {2, {ks(4, 0, 0, -1), ks(4, 0, 0, -1)}, -44, 2, {3, 4}, {16, 4}},
        {2, {KE, ki(-1)}, -12, 1, {3}, {-16}},
    };
    run_slice_cases(&bn, cn, sizeof cn / sizeof cn[0]);

    /* 3-D 2 x 3 x 4. */
    ptrdiff_t sh234[] = {2, 3, 4};
    mv_buffer b3 = desc(m, "i", 4, 3, sh234, NULL, 0);
    const slice_case c3[] = {
        {2, {KE, ki(0)}, 0, 2, {2, 3}, {48, 16}},
        {3, {ki(1), ks(4, 0, 0, -1), ks(5, 1, 0, 2)}, 48 + 32 + 4, 2, {3, 2}, {-16, 8}},
        {4, {KALL, KN, ki(2), KE}, 32, 3, {2, 1, 4}, {48, 0, 4}},
        {3, {ki(-1), ki(-1), ki(-1)}, 92, 0, {0}, {0}},
        {2, {ks(4, 0, 0, -1), KE}, 48, 3, {2, 3, 4}, {-48, 16, 4}},
        {3, {KE, KN, ks(3, 1, 3, 0)}, 4, 4, {2, 3, 1, 2}, {48, 16, 0, 4}},
        {6, {KN, KN, KN, KN, KN, KE}, 0, 8, {1, 1, 1, 1, 1, 2, 3, 4}, {0, 0, 0, 0, 0, 48, 16, 4}},
    };
    run_slice_cases(&b3, c3, sizeof c3 / sizeof c3[0]);

    /* 0-dim: only ellipses and new axes apply. */
    mv_buffer b0 = desc(&m[5], "i", 4, 0, NULL, NULL, 0);
    const slice_case c0[] = {
        {0, {KALL}, 0, 0, {0}, {0}},
        {1, {KE}, 0, 0, {0}, {0}},
        {2, {KN, KE}, 0, 1, {1}, {0}},
        {8, {KN, KN, KN, KN, KN, KN, KN, KN}, 0, 8, {1, 1, 1, 1, 1, 1, 1, 1}, {0}},
    };
    run_slice_cases(&b0, c0, sizeof c0 / sizeof c0[0]);

    /* Zero-length source: C strides of shape {3, 0} are {0, 4}. */
    ptrdiff_t sh30[] = {3, 0};
    mv_buffer bz = desc(NULL, "i", 4, 2, sh30, NULL, 0);
    const slice_case cz[] = {
        {1, {ki(2)}, NC, 1, {0}, {4}},
        {1, {ks(4, 0, 0, -1)}, NC, 2, {3, 0}, {0, 4}},
        {2, {KN, ks(1, 1, 0, 0)}, NC, 3, {1, 2, 0}, {0, 0, 4}},
    };
    /* The same extents with strides given. */
    ptrdiff_t stz[] = {16, 4};
    mv_buffer bz2 = desc(NULL, "i", 4, 2, sh30, stz, 0);
    const slice_case cz2[] = {
        {1, {ks(4, 0, 0, -1)}, NC, 2, {3, 0}, {-16, 4}},
        {2, {KN, ks(1, 1, 0, 0)}, NC, 3, {1, 2, 0}, {0, 16, 4}},
    };
    run_slice_cases(&bz2, cz2, sizeof cz2 / sizeof cz2[0]);
    run_slice_cases(&bz, cz, sizeof cz / sizeof cz[0]);

    /* Slices of slices: s[1:][::-1][0] is m[9]. */
    mv_layout s = layout_of(&b1);
    mv_key k1 = ks(1, 1, 0, 0), k2 = ks(4, 0, 0, -1), k3 = ki(0);
    mv_error err;
    assert_int_equal(mv_layout_select(&s, &s, &k1, 1, &err), 0);
    assert_int_equal(mv_layout_select(&s, &s, &k2, 1, &err), 0);
    assert_int_equal(mv_layout_select(&s, &s, &k3, 1, &err), 0);
    assert_int_equal(s.ndim, 0);
    assert_ptr_equal(s.buf, &m[9]);
    assert_ptr_equal(mv_layout_at(&s, NULL), &m[9]);
}

/* ------------------------------------------------------------------------ */
/* Slicing errors                                                             */
/* ------------------------------------------------------------------------ */

/* The layout error, out (fresh and aliased) unchanged, and the view's
 * same code and message. */
static void expect_slice_error(const mv_buffer *b, const mv_key *keys, int nkeys, int code,
                               const char *msg)
{
    mv_layout src = layout_of(b);
    mv_layout out;
    mv_error err;
    poison(&out);
    mv_error_clear(&err);
    noalloc_begin();
    int rc = mv_layout_select(&out, &src, keys, nkeys, &err);
    long failed = noalloc_end();
    assert_int_equal(failed, 0);
    if (rc != code)
        fail_msg("expected %d '%s', got %d '%s'", code, msg ? msg : "", rc, err.message);
    expect_error(rc, &err, code, msg);
    assert_poisoned(&out);
    mv_layout self = src, copy = src;
    expect_error(mv_layout_select(&self, &self, keys, nkeys, &err), &err, code, msg);
    assert_memory_equal(&self, &copy, sizeof self);
    mv_view *v = view_layout(b->buf, b->format, b->itemsize, b->ndim, b->shape, b->strides, NULL,
                             b->readonly);
    mv_error verr;
    assert_null(mv_view_subscript(v, keys, nkeys, &verr));
    assert_int_equal(verr.code, code);
    assert_string_equal(verr.message, err.message);
    mv_decref(mv_view_object(v));
}

/* Select from b's layout by keys: no allocation, the expected ndim and
 * shape, strides (NULL: not checked; a stride only matters with an extent
 * above 1), buf at b->buf + offset, the view's own subscript exactly,
 * and the same in place. */
static void expect_select(const mv_buffer *b, const mv_key *keys, int nkeys, ptrdiff_t offset,
                          int ndim, const ptrdiff_t *shape, const ptrdiff_t *strides)
{
    mv_layout src = layout_of(b);
    mv_layout out;
    mv_error err;
    poison(&out);
    noalloc_begin();
    int rc = mv_layout_select(&out, &src, keys, nkeys, &err);
    long failed = noalloc_end();
    if (rc != 0)
        fail_msg("%d keys: %s", nkeys, err.message);
    assert_int_equal(failed, 0);
    assert_int_equal(out.ndim, ndim);
    ptrdiff_t count = 1;
    for (int d = 0; d < ndim; d++) {
        if (out.shape[d] != shape[d] || (strides && shape[d] > 1 && out.strides[d] != strides[d]))
            fail_msg("dimension %d: shape %td stride %td, expected %td / %td", d, out.shape[d],
                     out.strides[d], shape[d], strides ? strides[d] : 0);
        count *= shape[d];
    }
    assert_int_equal(out.len, count * b->itemsize);
    assert_ptr_equal(out.buf, (char *)b->buf + offset);
    assert_false(out.indirect);
    check_contig(&out);
    mv_view *v = view_layout(b->buf, b->format, b->itemsize, b->ndim, b->shape, b->strides, NULL,
                             b->readonly);
    mv_view *sub = mv_view_subscript(v, keys, nkeys, &err);
    if (!sub)
        fail_msg("the view's subscript: %s", err.message);
    assert_layout_is_view(&out, sub);
    mv_decref(mv_view_object(sub));
    mv_decref(mv_view_object(v));
    mv_layout self = src;
    assert_int_equal(mv_layout_select(&self, &self, keys, nkeys, &err), 0);
    assert_layout_equal(&self, &out);
}

static void slice_errors(void **state)
{
    (void)state;
    int32_t m[24] = {0};
    ptrdiff_t n10[] = {10}, sh34[] = {3, 4}, sh234[] = {2, 3, 4};
    mv_buffer b1 = desc(m, "i", 4, 1, n10, NULL, 0);
    mv_buffer b2 = desc(m, "i", 4, 2, sh34, NULL, 0);
    mv_buffer b3 = desc(m, "i", 4, 3, sh234, NULL, 0);
    mv_buffer b0 = desc(m, "i", 4, 0, NULL, NULL, 0);

    /* Step zero, on the quick path (one slice) and the general one. */
    mv_key z = ks(4, 0, 0, 0);
    expect_slice_error(&b1, &z, 1, MV_EVALUE, MSG_STEP0);
    expect_slice_error(&b2, &z, 1, MV_EVALUE, MSG_STEP0);
    mv_key z2[] = {KALL, ks(7, 1, 2, 0)};
    expect_slice_error(&b2, z2, 2, MV_EVALUE, MSG_STEP0);
    mv_key z3[] = {KN, ks(7, 1, 2, 0)};
    expect_slice_error(&b1, z3, 2, MV_EVALUE, MSG_STEP0);

    /* Too many indices. */
    mv_key t2[] = {ki(0), ki(0)};
    expect_slice_error(&b1, t2, 2, MV_EINDEX,
                       "too many indices for memoryview: memoryview is 1-dimensional, but 2 were "
                       "indexed");
    mv_key t3[] = {ki(0), KALL, KN, ki(1)};
    expect_slice_error(&b2, t3, 4, MV_EINDEX,
                       "too many indices for memoryview: memoryview is 2-dimensional, but 3 were "
                       "indexed");
    mv_key t1 = ki(0);
    expect_slice_error(&b0, &t1, 1, MV_EINDEX,
                       "too many indices for memoryview: memoryview is 0-dimensional, but 1 were "
                       "indexed");
    mv_key ts = KALL;
    expect_slice_error(&b0, &ts, 1, MV_EINDEX,
                       "too many indices for memoryview: memoryview is 0-dimensional, but 1 were "
                       "indexed");

    /* Two ellipses. */
    mv_key e2[] = {KE, KE};
    expect_slice_error(&b2, e2, 2, MV_EINDEX, MSG_ELLIPSIS);
    mv_key e3[] = {KE, ki(0), KE};
    expect_slice_error(&b3, e3, 3, MV_EINDEX, MSG_ELLIPSIS);
    expect_slice_error(&b0, e2, 2, MV_EINDEX, MSG_ELLIPSIS);

    /* Indices out of range. */
    const ptrdiff_t out[] = {3, -4, PTRDIFF_MAX, PTRDIFF_MIN};
    for (int k = 0; k < 4; k++) {
        mv_key i1[] = {ki(out[k])};
        expect_slice_error(&b2, i1, 1, MV_EINDEX, "index out of bounds on dimension 1");
        mv_key i2[] = {ki(0), KN, ki(out[k] == 3 ? 4 : out[k] == -4 ? -5 : out[k])};
        expect_slice_error(&b2, i2, 3, MV_EINDEX, "index out of bounds on dimension 2");
        mv_key i3[] = {KE, ki(out[k] == 3 ? 4 : out[k] == -4 ? -5 : out[k])};
        expect_slice_error(&b3, i3, 2, MV_EINDEX, "index out of bounds on dimension 3");
    }
    mv_key i10 = ki(10);
    expect_slice_error(&b1, &i10, 1, MV_EINDEX, "index out of bounds on dimension 1");
    /* Indices of a zero-extent dimension. */
    ptrdiff_t sh30[] = {3, 0};
    mv_buffer bz = desc(NULL, "i", 4, 2, sh30, NULL, 0);
    mv_key iz[] = {KALL, ki(0)};
    expect_slice_error(&bz, iz, 2, MV_EINDEX, "index out of bounds on dimension 2");

    /* Bad key arrays. */
    expect_slice_error(&b1, NULL, 1, MV_EVALUE, MSG_KEYS);
    mv_key one = KALL;
    expect_slice_error(&b1, &one, -1, MV_EVALUE, MSG_KEYS);
    expect_slice_error(&b2, NULL, 2, MV_EVALUE, MSG_KEYS);
    mv_key odd[] = {KALL};
    odd[0].kind = (mv_key_kind)99;
    expect_slice_error(&b2, odd, 1, MV_EVALUE, "memoryview: invalid key kind 99");

    /* New axes past eight dimensions (once refused: spans had at most
     * eight): layouts take them as views do. */
    mv_key n9[9] = {KN, KN, KN, KN, KN, KN, KN, KN, KN};
    ptrdiff_t ones64[64];
    for (int d = 0; d < 64; d++)
        ones64[d] = 1;
    expect_select(&b0, n9, 9, 0, 9, ones64, NULL);
    expect_select(&b2, n9, 7, 0, 9, (ptrdiff_t[]){1, 1, 1, 1, 1, 1, 1, 3, 4},
                  (ptrdiff_t[]){0, 0, 0, 0, 0, 0, 0, 16, 4});
    expect_select(&b3, n9, 6, 0, 9, (ptrdiff_t[]){1, 1, 1, 1, 1, 1, 2, 3, 4},
                  (ptrdiff_t[]){0, 0, 0, 0, 0, 0, 48, 16, 4});
    mv_key n9e[] = {KN, KN, KN, KN, KN, KE, KN, KN, KN};
    expect_select(&b3, n9e, 9, 0, 11, (ptrdiff_t[]){1, 1, 1, 1, 1, 2, 3, 4, 1, 1, 1},
                  (ptrdiff_t[]){0, 0, 0, 0, 0, 48, 16, 4, 0, 0, 0});
    /* ... integer indices bring the count back down. */
    mv_key n8[] = {KN, KN, KN, KN, KN, KN, ki(1), KE};
    expect_select(&b3, n8, 8, 48, 8, (ptrdiff_t[]){1, 1, 1, 1, 1, 1, 3, 4},
                  (ptrdiff_t[]){0, 0, 0, 0, 0, 0, 16, 4});
    mv_key n9i[] = {KN, KN, KN, KN, KN, KN, KN, ki(1), KE};
    expect_select(&b3, n9i, 9, 48, 9, (ptrdiff_t[]){1, 1, 1, 1, 1, 1, 1, 3, 4},
                  (ptrdiff_t[]){0, 0, 0, 0, 0, 0, 0, 16, 4});
    ptrdiff_t ones8[] = {1, 1, 1, 1, 1, 1, 1, 1};
    mv_buffer b8 = desc(m, "i", 4, 8, ones8, NULL, 0);
    mv_key n1 = KN;
    expect_select(&b8, &n1, 1, 0, 9, ones64, NULL);
    mv_key n1i[] = {KN, ki(0)};
    expect_select(&b8, n1i, 2, 0, 8, ones64, NULL);
    /* Up to 64 dimensions; one more is the view's error, and the layout
     * is left alone. */
    mv_key many[70];
    for (int k = 0; k < 70; k++)
        many[k] = KN;
    expect_select(&b0, many, 64, 0, 64, ones64, NULL);
    expect_slice_error(&b0, many, 65, MV_EVALUE, MSG_NDIM64);
    expect_slice_error(&b0, many, 70, MV_EVALUE, MSG_NDIM64);
    expect_slice_error(&b3, many, 62, MV_EVALUE, MSG_NDIM64);
    /* b3[61 new axes]: {1 x 61, 2, 3, 4}. */
    ptrdiff_t sh64[64], st64[64];
    for (int d = 0; d < 64; d++) {
        sh64[d] = 1;
        st64[d] = 0;
    }
    sh64[61] = 2;
    sh64[62] = 3;
    sh64[63] = 4;
    st64[61] = 48;
    st64[62] = 16;
    st64[63] = 4;
    expect_select(&b3, many, 61, 0, 64, sh64, st64);
    /* 62 new axes and an integer index (row 1): {1 x 62, 3, 4} at m[12]. */
    many[10] = ki(-1);
    sh64[61] = 1;
    sh64[62] = 3;
    sh64[63] = 4;
    st64[62] = 16;
    st64[63] = 4;
    expect_select(&b3, many, 63, 48, 64, sh64, st64);
    many[10] = KN;
    mv_layout src, o;
    mv_error err;

    /* NULL layouts. */
    src = layout_of(&b1);
    poison(&o);
    expect_error(mv_layout_select(&o, NULL, &one, 1, &err), &err, MV_EVALUE, MSG_NULL);
    assert_poisoned(&o);
    expect_error(mv_layout_select(NULL, &src, &one, 1, &err), &err, MV_EVALUE, MSG_NULL);
    assert_int_equal(mv_layout_select(NULL, NULL, NULL, 0, NULL), MV_EVALUE);
    /* err NULL is fine on any error. */
    assert_int_equal(mv_layout_select(&o, &src, &z, 1, NULL), MV_EVALUE);
    assert_poisoned(&o);
}

/* ------------------------------------------------------------------------ */
/* Random slicing against a model and against views                          */
/* ------------------------------------------------------------------------ */

#define MODEL_MAX 16

typedef struct model_layout {
    char *buf;
    int ndim;
    ptrdiff_t shape[MODEL_MAX];
    ptrdiff_t strides[MODEL_MAX];
} model_layout;

typedef struct model {
    int code;
    char msg[MV_ERROR_MESSAGE_MAX];
    bool empty;
    model_layout out;
    int src_of[MODEL_MAX];      /* per output dimension: source dimension or -1 */
    ptrdiff_t start[MODEL_MAX]; /* per output dimension */
    ptrdiff_t step[MODEL_MAX];
    ptrdiff_t base[MODEL_MAX]; /* per source dimension: index of output item 0 */
} model;

/* Python's slice.indices(n) written out; returns the item count. */
static ptrdiff_t py_slice(const mv_key *k, ptrdiff_t n, ptrdiff_t *start, ptrdiff_t *step)
{
    ptrdiff_t st = k->has_step ? k->step : 1;
    ptrdiff_t a, e;
    if (k->has_start) {
        a = k->start;
        if (a < 0) {
            a += n;
            if (a < 0)
                a = st < 0 ? -1 : 0;
        } else if (a >= n) {
            a = st < 0 ? n - 1 : n;
        }
    } else {
        a = st < 0 ? n - 1 : 0;
    }
    if (k->has_stop) {
        e = k->stop;
        if (e < 0) {
            e += n;
            if (e < 0)
                e = st < 0 ? -1 : 0;
        } else if (e >= n) {
            e = st < 0 ? n - 1 : n;
        }
    } else {
        e = st < 0 ? -1 : n;
    }
    ptrdiff_t count;
    if (st > 0) {
        count = a < e ? (e - a - 1) / st + 1 : 0;
    } else {
        /* |st| may not be representable; the numerator is small. */
        ptrdiff_t mag = st == PTRDIFF_MIN ? PTRDIFF_MAX : -st;
        count = e < a ? (a - e - 1) / mag + 1 : 0;
    }
    *start = a;
    *step = st;
    return count;
}

static void model_apply(const model_layout *src, const mv_key *keys, int nkeys, model *m)
{
    memset(m, 0, sizeof *m);
    int nidx = 0, nell = 0;
    for (int k = 0; k < nkeys; k++) {
        if (keys[k].kind == MV_KEY_ELLIPSIS && nell++) {
            m->code = MV_EINDEX;
            snprintf(m->msg, sizeof m->msg, "%s", MSG_ELLIPSIS);
            return;
        }
        if (keys[k].kind == MV_KEY_INDEX || keys[k].kind == MV_KEY_SLICE)
            nidx++;
    }
    if (nidx > src->ndim) {
        m->code = MV_EINDEX;
        snprintf(m->msg, sizeof m->msg,
                 "too many indices for memoryview: memoryview is %d-dimensional, but %d were "
                 "indexed",
                 src->ndim, nidx);
        return;
    }
    int d = 0, o = 0;
    for (int k = 0; k <= nkeys; k++) {
        bool fill = k == nkeys || keys[k].kind == MV_KEY_ELLIPSIS;
        if (fill) {
            int nfull = k == nkeys ? src->ndim - d : src->ndim - nidx;
            for (int f = 0; f < nfull; f++, d++, o++) {
                m->src_of[o] = d;
                m->start[o] = 0;
                m->step[o] = 1;
                m->base[d] = 0;
                m->out.shape[o] = src->shape[d];
                m->out.strides[o] = src->strides[d];
            }
            continue;
        }
        const mv_key *key = &keys[k];
        if (key->kind == MV_KEY_NEWAXIS) {
            m->src_of[o] = -1;
            m->out.shape[o] = 1;
            m->out.strides[o] = 0;
            o++;
        } else if (key->kind == MV_KEY_INDEX) {
            ptrdiff_t i = key->index < 0 ? key->index + src->shape[d] : key->index;
            if (i < 0 || i >= src->shape[d]) {
                m->code = MV_EINDEX;
                snprintf(m->msg, sizeof m->msg, "index out of bounds on dimension %d", d + 1);
                return;
            }
            m->base[d++] = i;
        } else {
            if (key->has_step && key->step == 0) {
                m->code = MV_EVALUE;
                snprintf(m->msg, sizeof m->msg, "%s", MSG_STEP0);
                return;
            }
            ptrdiff_t start, step;
            ptrdiff_t n = py_slice(key, src->shape[d], &start, &step);
            m->src_of[o] = d;
            m->start[o] = start;
            m->step[o] = step;
            m->base[d] = start;
            m->out.shape[o] = n;
            /* The stride only matters with two items or more, where the
             * product stays inside the source layout. */
            m->out.strides[o] = n > 1 ? src->strides[d] * step : 0;
            d++;
            o++;
        }
    }
    m->out.ndim = o;
    ptrdiff_t count = 1;
    for (int i = 0; i < o; i++)
        count *= m->out.shape[i];
    m->empty = count == 0;
    uintptr_t p = (uintptr_t)src->buf;
    for (int i = 0; i < src->ndim && !m->empty; i++)
        p += (uintptr_t)(m->base[i] * src->strides[i]);
    m->out.buf = (char *)p;
}

/* Address of output item idx by the model: each source index written out. */
static char *model_address(const model_layout *src, const model *m, const ptrdiff_t *idx)
{
    ptrdiff_t sidx[MODEL_MAX];
    for (int d = 0; d < src->ndim; d++)
        sidx[d] = m->base[d];
    for (int o = 0; o < m->out.ndim; o++)
        if (m->src_of[o] >= 0)
            sidx[m->src_of[o]] = m->start[o] + idx[o] * m->step[o];
    uintptr_t p = (uintptr_t)src->buf;
    for (int d = 0; d < src->ndim; d++)
        p += (uintptr_t)(sidx[d] * src->strides[d]);
    return (char *)p;
}

static model_layout model_layout_of(const mv_layout *s)
{
    model_layout l;
    memset(&l, 0, sizeof l);
    l.buf = s->buf;
    l.ndim = s->ndim;
    for (int d = 0; d < s->ndim; d++) {
        l.shape[d] = s->shape[d];
        l.strides[d] = s->strides[d];
    }
    return l;
}

static ptrdiff_t extreme(void)
{
    static const ptrdiff_t v[] = {PTRDIFF_MIN, PTRDIFF_MIN + 1, -1000,
                                  1000,        PTRDIFF_MAX - 1, PTRDIFF_MAX};
    return v[rng_below(&gen, 6)];
}

static ptrdiff_t random_bound(void)
{
    return rng_below(&gen, 100) < 6 ? extreme() : rng_between(&gen, -7, 7);
}

/* Up to maxkeys keys for an ndim-dimensional source: mostly no more
 * indices than dimensions (one key list in ten may have too many). */
static void random_keys(mv_key *keys, int *nkeys, int maxkeys, int ndim)
{
    int n = (int)rng_below(&gen, maxkeys + 1);
    int nidx = 0;
    bool excess = rng_below(&gen, 10) == 0;
    for (int k = 0; k < n; k++) {
        ptrdiff_t r = rng_below(&gen, 100);
        if (r < 70 && nidx >= ndim && !excess)
            r = 70 + rng_below(&gen, 30);
        if (r < 25) {
            keys[k] = ki(rng_below(&gen, 100) < 4 ? extreme() : rng_between(&gen, -6, 6));
            nidx++;
        } else if (r < 70) {
            int mask = (int)rng_below(&gen, 8);
            ptrdiff_t step;
            ptrdiff_t q = rng_below(&gen, 100);
            if (q < 3)
                step = 0;
            else if (q < 7)
                step = extreme();
            else
                step = (ptrdiff_t[]){-3, -2, -1, 1, 2, 3}[rng_below(&gen, 6)];
            keys[k] = ks(mask, random_bound(), random_bound(), step);
            nidx++;
        } else if (r < 80) {
            keys[k] = KE;
        } else {
            keys[k] = KN;
        }
    }
    *nkeys = n;
}

static int32_t arena[8192];

/* Results of more than eight dimensions (once refused: spans had at most
 * eight) that check_random_slice took. */
static long deep_ok;

/* Select from `l` and subscript `view` by the same random keys; check both
 * against the model over `src` (the layout's own), every item's address
 * and value, and recurse once. */
static void check_random_slice(const mv_layout *l, mv_view *view, int depth, long *ok, long *errors)
{
    model_layout src = model_layout_of(l);
    mv_key keys[8];
    int nkeys;
    random_keys(keys, &nkeys, depth == 0 ? 5 : 7, src.ndim);
    if (depth == 1 && src.ndim > 0 && rng_below(&gen, 4) == 0) {
        /* Enough new axes to pass eight dimensions, and perhaps a slice. */
        nkeys = 9 - src.ndim;
        for (int k = 0; k < nkeys; k++)
            keys[k] = KN;
        if (nkeys < 8 && rng_below(&gen, 2)) {
            int at = (int)rng_below(&gen, nkeys + 1);
            memmove(&keys[at + 1], &keys[at], (size_t)(nkeys - at) * sizeof keys[0]);
            keys[at] = ks((int)rng_below(&gen, 8), random_bound(), random_bound(),
                          rng_below(&gen, 2) ? -1 : 2);
            nkeys++;
        }
    }
    model m;
    model_apply(&src, keys, nkeys, &m);

    mv_layout out;
    mv_error err, verr;
    poison(&out);
    mv_error_clear(&err);
    noalloc_begin();
    int rc = mv_layout_select(&out, l, nkeys ? keys : NULL, nkeys, &err);
    long failed = noalloc_end();
    assert_int_equal(failed, 0);
    mv_view *sub = mv_view_subscript(view, nkeys ? keys : NULL, nkeys, &verr);

    if (m.code != 0) {
        (*errors)++;
        if (rc != m.code || strcmp(err.message, m.msg) != 0)
            fail_msg("model says %d '%s', layout %d '%s'", m.code, m.msg, rc, err.message);
        assert_int_equal(err.code, rc);
        assert_poisoned(&out);
        assert_null(sub);
        assert_int_equal(verr.code, m.code);
        assert_string_equal(verr.message, m.msg);
        return;
    }
    assert_non_null(sub);
    const mv_buffer *vb = mv_view_buffer(sub, &verr);
    assert_int_equal(vb->ndim, m.out.ndim);
    (*ok)++;
    if (m.out.ndim > 8)
        deep_ok++;
    if (rc != 0)
        fail_msg("layout refused what the model takes: %s", err.message);
    /* Exactly the view's layout. */
    assert_layout_is_view(&out, sub);
    assert_ptr_equal(out.format, l->format);
    assert_int_equal(out.readonly, l->readonly);
    assert_false(out.indirect);
    /* The model's. */
    assert_int_equal(out.ndim, m.out.ndim);
    ptrdiff_t count = 1;
    for (int o = 0; o < out.ndim; o++) {
        assert_int_equal(out.shape[o], m.out.shape[o]);
        if (m.out.shape[o] > 1)
            assert_int_equal(out.strides[o], m.out.strides[o]);
        count *= out.shape[o];
    }
    assert_int_equal(out.len, count * l->itemsize);
    if (!m.empty)
        assert_ptr_equal(out.buf, m.out.buf);

    /* Every item: address (positive and negative indices) and value. */
    ptrdiff_t idx[MODEL_MAX] = {0}, neg[MODEL_MAX];
    for (ptrdiff_t c = 0; c < count; c++) {
        char *want = model_address(&src, &m, idx);
        for (int o = 0; o < out.ndim; o++)
            neg[o] = idx[o] - out.shape[o];
        noalloc_begin();
        char *p = mv_layout_at(&out, idx);
        char *pn = mv_layout_at(&out, neg);
        char *p1 = out.ndim == 1 ? mv_layout_at1(&out, idx[0]) : NULL;
        mv_value val;
        int grc = mv_layout_get_item(&out, idx, out.ndim, &val, 1, &err);
        failed = noalloc_end();
        assert_int_equal(failed, 0);
        assert_ptr_equal(p, want);
        assert_ptr_equal(pn, want);
        if (out.ndim == 1)
            assert_ptr_equal(p1, want);
        assert_int_equal(grc, 0);
        assert_int_equal(val.kind, MV_VALUE_SIGNED);
        assert_int_equal(val.v.i, read_i32(want));
        /* The test stored each item's own arena index there. */
        assert_int_equal(read_i32(want), (int32_t)((want - (char *)arena) / 4));
        for (int o = out.ndim - 1; o >= 0; o--) {
            if (++idx[o] < out.shape[o])
                break;
            idx[o] = 0;
        }
    }
    /* One write through the layout, then undo it. */
    if (count > 0 && !out.readonly) {
        for (int o = 0; o < out.ndim; o++)
            idx[o] = rng_below(&gen, out.shape[o]);
        char *want = model_address(&src, &m, idx);
        mv_value w = {.kind = MV_VALUE_SIGNED, .v.i = -5};
        assert_int_equal(mv_layout_set_item(&out, idx, out.ndim, &w, 1, &err), 0);
        assert_int_equal(read_i32(want), -5);
        int32_t back = (int32_t)((want - (char *)arena) / 4);
        memcpy(want, &back, 4);
    }
    /* Out of range on each dimension. */
    for (int o = 0; o < out.ndim; o++) {
        for (int q = 0; q < out.ndim; q++)
            idx[q] = 0;
        idx[o] = rng_below(&gen, 2) ? out.shape[o] : -out.shape[o] - 1;
        assert_null(mv_layout_at(&out, idx));
        mv_value val;
        char msg[64];
        snprintf(msg, sizeof msg, "index out of bounds on dimension %d", o + 1);
        bool inrange = true;
        for (int q = 0; q < o; q++)
            inrange &= out.shape[q] > 0;
        if (inrange)
            expect_error(mv_layout_get_item(&out, idx, out.ndim, &val, 1, &err), &err, MV_EINDEX,
                         msg);
    }
    if (depth == 0)
        check_random_slice(&out, sub, 1, ok, errors);
    mv_decref(mv_view_object(sub));
}

static void slice_random(void **state)
{
    (void)state;
    long ok = 0, errors = 0;
    for (int round = 0; round < 3000; round++) {
        for (int k = 0; k < 8192; k++)
            arena[k] = k;
        int ndim = (int)rng_below(&gen, 5);
        ptrdiff_t shape[4], strides[4];
        int order[4] = {0, 1, 2, 3};
        for (int d = ndim - 1; d > 0; d--) {
            int j = (int)rng_below(&gen, d + 1);
            int t = order[d];
            order[d] = order[j];
            order[j] = t;
        }
        for (int d = 0; d < ndim; d++)
            shape[d] = rng_below(&gen, 100) < 3 ? 0 : rng_between(&gen, 1, ndim == 4 ? 4 : 5);
        /* Innermost first in `order`, with gaps, any sign. */
        ptrdiff_t run = 4, lo = 0;
        for (int r = ndim - 1; r >= 0; r--) {
            int d = order[r];
            ptrdiff_t st = run * rng_between(&gen, 1, 2);
            run = st * (shape[d] > 0 ? shape[d] : 1);
            strides[d] = rng_below(&gen, 2) ? -st : st;
        }
        for (int d = 0; d < ndim; d++)
            if (shape[d] > 0 && strides[d] < 0)
                lo += strides[d] * (shape[d] - 1);
        char *buf = (char *)arena - lo;
        int readonly = (int)rng_below(&gen, 4) == 0;
        mv_view *v = view_layout(buf, "i", 4, ndim, shape, strides, NULL, readonly);
        mv_layout s;
        mv_error err;
        assert_int_equal(mv_view_layout(&s, v, &err), 0);
        mv_buffer b = desc(buf, "i", 4, ndim, shape, strides, readonly);
        mv_layout sb = layout_of(&b);
        assert_layout_equal(&sb, &s);
        check_random_slice(&s, v, 0, &ok, &errors);
        mv_decref(mv_view_object(v));
    }
    /* Both outcomes were exercised in numbers, and results of more than
     * eight dimensions among the successes. */
    assert_true(ok > 2000);
    assert_true(errors > 500);
    assert_true(deep_ok > 250);
}

/* ------------------------------------------------------------------------ */
/* mv_layout_buffer                                                           */
/* ------------------------------------------------------------------------ */

static void check_round_trip(const mv_layout *s)
{
    mv_buffer b;
    memset(&b, 0x5c, sizeof b);
    noalloc_begin();
    mv_layout_buffer(s, &b);
    long failed = noalloc_end();
    assert_int_equal(failed, 0);
    assert_ptr_equal(b.buf, s->buf);
    assert_null(b.obj);
    assert_int_equal(b.len, s->len);
    assert_int_equal(b.itemsize, s->itemsize);
    assert_int_equal(b.readonly != 0, s->readonly);
    assert_int_equal(b.ndim, s->ndim);
    assert_ptr_equal(b.format, s->format);
    if (s->ndim > 0) {
        assert_ptr_equal(b.shape, s->shape);
        assert_ptr_equal(b.strides, s->strides);
    } else {
        assert_null(b.shape);
        assert_null(b.strides);
    }
    if (s->indirect)
        assert_ptr_equal(b.suboffsets, s->suboffsets);
    else
        assert_null(b.suboffsets);
    assert_null(b.internal);
    mv_error err;
    assert_int_equal(mv_buffer_validate(&b, &err), 0);
    mv_layout t;
    poison(&t);
    assert_int_equal(mv_layout_from_buffer(&t, &b, &err), 0);
    assert_layout_equal(&t, s);
    /* Item addresses agree with mv_buffer_get_pointer (no wrapping there). */
    ptrdiff_t count = 1;
    for (int d = 0; d < s->ndim; d++)
        count *= s->shape[d];
    ptrdiff_t idx[MV_MAX_NDIM] = {0};
    for (ptrdiff_t c = 0; c < count; c++) {
        assert_ptr_equal(mv_buffer_get_pointer(&b, idx, &err), mv_layout_at(s, idx));
        for (int o = s->ndim - 1; o >= 0; o--) {
            if (++idx[o] < s->shape[o])
                break;
            idx[o] = 0;
        }
    }
    /* An exporter of that layout makes a view with the same descriptor. */
    mv_object *x = mv_external_new_layout(&b, NULL, NULL, &err);
    assert_non_null(x);
    mv_view *v = mv_view_new(x, &err);
    assert_non_null(v);
    assert_layout_is_view(s, v);
    mv_decref(mv_view_object(v));
    mv_decref(x);
}

static void layout_buffer_round_trip(void **state)
{
    (void)state;
    double m[24];
    for (int k = 0; k < 24; k++)
        m[k] = k * 0.5;
    ptrdiff_t sh234[] = {2, 3, 4};
    mv_buffer b3 = desc(m, "d", 8, 3, sh234, NULL, 1);
    mv_layout s = layout_of(&b3);
    check_round_trip(&s);
    mv_error err;
    mv_key k1[] = {ks(4, 0, 0, -1), KN, ki(1), ks(5, 1, 0, 2)};
    mv_layout t;
    assert_int_equal(mv_layout_select(&t, &s, k1, 4, &err), 0);
    assert_int_equal(t.ndim, 3);
    check_round_trip(&t); /* negative and zero strides */
    mv_key k0[] = {ki(1), ki(2), ki(3)};
    assert_int_equal(mv_layout_select(&t, &s, k0, 3, &err), 0);
    assert_int_equal(t.ndim, 0);
    assert_ptr_equal(t.buf, &m[23]);
    check_round_trip(&t); /* 0-dim */
    mv_key ke = ks(3, 2, 2, 0);
    assert_int_equal(mv_layout_select(&t, &s, &ke, 1, &err), 0);
    check_round_trip(&t); /* empty */
    ptrdiff_t n0[] = {0};
    mv_buffer bz = desc(NULL, "d", 8, 1, n0, NULL, 0);
    t = layout_of(&bz);
    check_round_trip(&t);

    /* From a bytearray's simple buffer (no format, shape or strides). */
    mv_object *ba = mv_bytearray_new("layout", 6, &err);
    assert_non_null(ba);
    mv_buffer bb;
    assert_int_equal(mv_object_getbuffer(ba, &bb, MV_BUF_SIMPLE, &err), 0);
    t = layout_of(&bb);
    check_round_trip(&t);
    mv_buffer_release(&bb);
    mv_decref(ba);

    /* NULL arguments are ignored. */
    mv_buffer keep;
    memset(&keep, 0x5c, sizeof keep);
    mv_buffer copy = keep;
    mv_layout_buffer(NULL, &keep);
    assert_memory_equal(&keep, &copy, sizeof keep);
    mv_layout_buffer(&s, NULL);
    mv_layout_buffer(NULL, NULL);

    /* Contiguity as mv_buffer sees it. */
    mv_buffer out;
    mv_layout_buffer(&s, &out);
    assert_int_equal(mv_buffer_is_contiguous(&out, 'C'), 1);
    assert_int_equal(mv_buffer_is_contiguous(&out, 'F'), 0);
    mv_key rev = ks(4, 0, 0, -1);
    assert_int_equal(mv_layout_select(&t, &s, &rev, 1, &err), 0);
    mv_layout_buffer(&t, &out);
    assert_int_equal(mv_buffer_is_contiguous(&out, 'A'), 0);
    double back[24];
    assert_int_equal(mv_buffer_to_contiguous(back, &out, (ptrdiff_t)sizeof back, 'C', &err), 0);
    for (int k = 0; k < 24; k++)
        assert_true(back[k] == m[k < 12 ? k + 12 : k - 12]);
}

/* A layout as the source of slice assignment. */
static void assign_from_layout(void **state)
{
    (void)state;
    int32_t src[12], dst[12];
    for (int k = 0; k < 12; k++) {
        src[k] = 100 + k;
        dst[k] = -1;
    }
    ptrdiff_t sh34[] = {3, 4};
    mv_buffer b = desc(src, "i", 4, 2, sh34, NULL, 1);
    mv_layout s = layout_of(&b);
    mv_key sk[] = {ks(4, 0, 0, -1), ks(5, 1, 0, 2)};
    mv_layout sel;
    mv_error err;
    assert_int_equal(mv_layout_select(&sel, &s, sk, 2, &err), 0);
    ptrdiff_t selshape[] = {3, 2}, selstrides[] = {-16, 8};
    expect_layout(&sel, &src[9], 4, 2, selshape, selstrides);
    mv_buffer from;
    mv_layout_buffer(&sel, &from);

    mv_view *v = view_layout(dst, "i", 4, 2, sh34, NULL, NULL, 0);
    mv_key dk[] = {KALL, ks(4, 0, 0, 2)};
    assert_int_equal(mv_view_assign(v, dk, 2, &from, &err), 0);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++) {
            int32_t want = j % 2 == 0 ? 100 + (2 - i) * 4 + 1 + 2 * (j / 2) : -1;
            assert_int_equal(dst[4 * i + j], want);
        }
    /* Whole layout into the whole view; an "@i" view takes an "i" layout. */
    mv_layout_buffer(&s, &from);
    mv_view *w = view_layout(dst, "@i", 4, 2, sh34, NULL, NULL, 0);
    assert_int_equal(mv_view_assign(w, NULL, 0, &from, &err), 0);
    assert_memory_equal(dst, src, sizeof dst);
    /* The layout's own memory, reversed, into itself through a view. */
    mv_view *sv = view_layout(src, "i", 4, 2, sh34, NULL, NULL, 0);
    mv_key r[] = {ks(4, 0, 0, -1), ks(4, 0, 0, -1)};
    mv_layout rs;
    assert_int_equal(mv_layout_select(&rs, &s, r, 2, &err), 0);
    mv_layout_buffer(&rs, &from);
    assert_int_equal(mv_view_assign(sv, NULL, 0, &from, &err), 0);
    for (int k = 0; k < 12; k++)
        assert_int_equal(src[k], 111 - k);
    /* Shapes that differ. */
    mv_layout_buffer(&s, &from);
    expect_error(mv_view_assign(v, dk, 2, &from, &err), &err, MV_EVALUE, MSG_STRUCTURE);
    mv_key one = ki(0);
    mv_layout row;
    assert_int_equal(mv_layout_select(&row, &s, &one, 1, &err), 0);
    mv_layout_buffer(&row, &from);
    mv_key vr = ki(2);
    assert_int_equal(mv_view_assign(v, &vr, 1, &from, &err), 0);
    for (int j = 0; j < 4; j++)
        assert_int_equal(dst[8 + j], 111 - j);
    mv_decref(mv_view_object(sv));
    mv_decref(mv_view_object(w));
    mv_decref(mv_view_object(v));
}

/* ------------------------------------------------------------------------ */
/* Allocation                                                                 */
/* ------------------------------------------------------------------------ */

/* Making (1-D native descriptors, views), slicing and reading native items
 * allocate nothing. */
static void no_allocations(void **state)
{
    (void)state;
    int32_t m[12];
    for (int k = 0; k < 12; k++)
        m[k] = 7 * k;
    ptrdiff_t n12[] = {12}, s4[] = {4}, sh34[] = {3, 4};
    mv_buffer b1 = desc(m, "i", 4, 1, n12, s4, 0);
    mv_buffer bnull = desc(m, NULL, 1, 1, NULL, NULL, 0);
    bnull.len = 48;
    mv_view *v = view_layout(m, "i", 4, 2, sh34, NULL, NULL, 0);
    mv_layout s1, sn, s2, t, u;
    mv_error err;
    mv_key k1 = ks(7, 10, 1, -2);
    mv_key k2[] = {KN, ks(4, 0, 0, -1), ki(2)};
    ptrdiff_t idx[] = {0, -1};
    mv_value val[3];
    mv_buffer out;
    noalloc_begin();
    int rc1 = mv_layout_from_buffer(&s1, &b1, &err);
    int rcn = mv_layout_from_buffer(&sn, &bnull, &err);
    int rc2 = mv_view_layout(&s2, v, &err);
    int rc3 = mv_layout_select(&t, &s1, &k1, 1, &err);
    int rc4 = mv_layout_select(&u, &s2, k2, 3, &err);
    int rc5 = mv_layout_get_item(&u, idx, 2, &val[0], 1, &err);
    int rc6 = mv_layout_get_item(&t, &idx[1], 1, &val[1], 1, &err);
    int rc7 = mv_layout_get_item(&sn, &idx[1], 1, &val[2], 1, &err);
    void *p1 = mv_layout_at(&u, idx);
    void *p2 = mv_layout_at1(&t, -1);
    mv_layout_buffer(&u, &out);
    long failed = noalloc_end();
    assert_int_equal(failed, 0);
    assert_int_equal(rc1, 0);
    assert_int_equal(rcn, 0);
    assert_int_equal(rc2, 0);
    assert_int_equal(rc3, 0);
    assert_int_equal(rc4, 0);
    assert_int_equal(rc5, 0);
    assert_int_equal(rc6, 0);
    assert_int_equal(rc7, 0);
    /* u = m2d[newaxis, ::-1, 2]: u[0, -1] = m2d[0][2] = m[2]. */
    assert_int_equal(val[0].v.i, m[2]);
    assert_ptr_equal(p1, &m[2]);
    /* t = m[10:1:-2] = m[10], m[8], ..., m[2]: t[-1] = m[2]. */
    assert_int_equal(val[1].v.i, m[2]);
    assert_ptr_equal(p2, &m[2]);
    assert_int_equal(val[2].v.u, ((unsigned char *)m)[47]);
    assert_int_equal(out.ndim, 2);
    mv_decref(mv_view_object(v));
}

/* The header: "Making, slicing and reading one allocates nothing".  An N-D
 * (or strided 1-D) native descriptor goes through the full check. */
static void no_allocations_nd_from_buffer(void **state)
{
    (void)state;
    double m[6] = {0};
    ptrdiff_t sh23[] = {2, 3}, n3[] = {3}, sm16[] = {-16};
    mv_buffer descs[] = {
        desc(m, "d", 8, 2, sh23, NULL, 0),
        desc(&m[4], "d", 8, 1, n3, sm16, 0),
        desc(m, "d", 8, 0, NULL, NULL, 0),
    };
    for (int k = 0; k < 3; k++) {
        mv_layout s;
        mv_error err;
        mv_error_clear(&err);
        noalloc_begin();
        int rc = mv_layout_from_buffer(&s, &descs[k], &err);
        long failed = noalloc_end();
        if (rc != 0 || failed != 0)
            fail_msg("descriptor %d (ndim %d): rc %d '%s', %ld allocation(s) tried", k,
                     descs[k].ndim, rc, err.message, failed);
    }
}

/* ------------------------------------------------------------------------ */
/* What from_buffer accepts is a layout from_buffer accepts again           */
/* ------------------------------------------------------------------------ */

/* No format means "B" (itemsize 1); with itemsize 4 the descriptor is one
 * mv_view_new refuses.  The header: "a NULL format means "B" and must
 * match itemsize like any other", so from_buffer refuses it too (and
 * whatever it made of it would have to survive the round trip the header
 * recommends for checking a layout). */
static void format_null_wide_items(void **state)
{
    (void)state;
    int32_t m[4] = {0x01020304, 5, 6, 7};
    mv_buffer b = desc(m, NULL, 4, 1, NULL, NULL, 0);
    b.len = 16;
    expect_from_buffer_error(&b, MV_EVALUE, NULL, "buffer itemsize 4 does not match format");
    ptrdiff_t n4[] = {4};
    b = desc(m, NULL, 4, 1, n4, NULL, 0);
    expect_from_buffer_error(&b, MV_EVALUE, NULL, "buffer itemsize 4 does not match format");
    /* With itemsize 1 it is "B", and the round trip gives "B" back. */
    b = desc(m, NULL, 1, 1, NULL, NULL, 0);
    b.len = 16;
    mv_layout s = layout_of(&b);
    mv_buffer rb;
    mv_layout_buffer(&s, &rb);
    assert_string_equal(rb.format, "B");
    mv_layout t = layout_of(&rb);
    assert_layout_equal(&t, &s);
}

/* The header: "b is checked as mv_buffer_validate does". */
static void strides_without_shape(void **state)
{
    (void)state;
    int32_t m[4] = {0};
    ptrdiff_t st[] = {4};
    mv_buffer b = desc(m, "i", 4, 1, NULL, st, 0);
    b.len = 16;
    mv_error err;
    expect_error(mv_buffer_validate(&b, &err), &err, MV_EVALUE,
                 "buffer has strides or suboffsets but no shape");
    expect_from_buffer_error(&b, MV_EVALUE, "buffer has strides or suboffsets but no shape", NULL);
}

/* The header: "b is checked as mv_buffer_validate does, so a descriptor
 * from any source is safe to pass"; mv_buffer_validate promises "no extent
 * overflowing the address space".  With a shape the check is made (see
 * from_buffer_errors); without one it must be too. */
static void address_space_without_shape(void **state)
{
    (void)state;
    const char *formats[] = {NULL, "B", "<h"};
    const ptrdiff_t itemsizes[] = {1, 1, 2};
    for (int f = 0; f < 3; f++) {
        mv_buffer b =
            desc((void *)(uintptr_t)(UINTPTR_MAX - 5), formats[f], itemsizes[f], 1, NULL, NULL, 1);
        b.len = 10;
        mv_layout s;
        poison(&s);
        mv_error err, verr;
        mv_error_clear(&err);
        int rc = mv_layout_from_buffer(&s, &b, &err);
        int vrc = mv_buffer_validate(&b, &verr);
        if (rc != MV_EOVERFLOW)
            fail_msg("format %s: buf UINTPTR_MAX - 5, len 10, no shape: layout rc %d '%s' "
                     "(mv_buffer_validate: %d)",
                     formats[f] ? formats[f] : "NULL", rc, rc ? err.message : "", vrc);
        assert_string_equal(err.message, "buffer len reaches outside the address space");
        assert_poisoned(&s);
    }
}

/* ------------------------------------------------------------------------ */
/* mv_layout_cast                                                             */
/* ------------------------------------------------------------------------ */

#define MSG_NOT_MULTIPLE "memoryview: length is not a multiple of itemsize"
#define MSG_PRODUCT      "memoryview: product(shape) * itemsize != buffer size"
#define MSG_SHAPE_ITEMS  "memoryview.cast(): elements of shape must be integers > 0"
#define MSG_CAST_C_OR_F                                                                            \
    "memoryview: casts are restricted to C-contiguous or Fortran-contiguous views"
#define MSG_CAST_C "memoryview: casts are restricted to C-contiguous views"
#define MSG_DEST_NATIVE                                                                            \
    "memoryview: destination format must be a native single character format prefixed with an "    \
    "optional '@'"
#define MSG_NON_BYTE       "memoryview: cannot cast between two non-byte formats"
#define MSG_1D_ND          "memoryview: cast must be 1D -> ND or ND -> 1D"
#define MSG_OUTSIDE        "layout: the layout reaches outside the view's memory"
#define MSG_FORMAT_NULL    "layout: format must not be NULL"
#define MSG_WRITABLE_OF_RO "layout: a writable layout of a read-only view"

/* A bytearray of n bytes 7k + 3 (mod 256), and a view of it; *data is the
 * bytearray's memory. */
static mv_view *bytearray_view(size_t n, mv_object **ba, unsigned char **data)
{
    unsigned char init[64];
    assert_true(n <= sizeof init);
    for (size_t k = 0; k < n; k++)
        init[k] = (unsigned char)(7 * k + 3);
    mv_error err;
    *ba = mv_bytearray_new(init, n, &err);
    assert_non_null(*ba);
    size_t len = 0;
    *data = mv_object_data(*ba, &len);
    assert_int_equal(len, n);
    mv_view *v = mv_view_new(*ba, &err);
    assert_non_null(v);
    return v;
}

static mv_view *cast_view(mv_view *v, const char *format, const ptrdiff_t *shape, int ndim,
                          int flags)
{
    mv_error err;
    mv_view *c = mv_view_cast(v, format, shape, ndim, flags, &err);
    if (!c)
        fail_msg("mv_view_cast '%s': %s", format, err.message);
    return c;
}

static mv_view *sub_view(mv_view *v, const mv_key *keys, int nkeys)
{
    mv_error err;
    mv_view *s = mv_view_subscript(v, keys, nkeys, &err);
    if (!s)
        fail_msg("mv_view_subscript: %s", err.message);
    return s;
}

static mv_layout layout_of_view(const mv_view *v)
{
    mv_layout s;
    mv_error err;
    poison(&s); /* every byte defined: layouts are compared with memcmp */
    if (mv_view_layout(&s, v, &err) != 0)
        fail_msg("mv_view_layout: %s", err.message);
    return s;
}

/* The first field in which layout a and descriptor b differ (format as
 * text), or NULL. */
static const char *layout_buffer_diff(const mv_layout *a, const mv_buffer *b)
{
    if (a->buf != b->buf)
        return "buf";
    if (a->len != b->len)
        return "len";
    if (a->itemsize != b->itemsize)
        return "itemsize";
    if (a->ndim != b->ndim)
        return "ndim";
    if (a->readonly != (b->readonly != 0))
        return "readonly";
    if (!a->format || !b->format || strcmp(a->format, b->format) != 0)
        return "format";
    if (a->indirect != (b->suboffsets != NULL))
        return "indirect";
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d] || a->strides[d] != b->strides[d])
            return "shape / strides";
    for (int d = 0; a->indirect && d < a->ndim; d++)
        if (a->suboffsets[d] != b->suboffsets[d])
            return "suboffsets";
    return NULL;
}

/* mv_layout_cast of v's layout and mv_view_cast of v with the same
 * arguments agree: the same error (code and text, *out untouched, also
 * when out is the layout itself), or the same layout.  Returns 1 when the
 * cast succeeded. */
static int check_cast_pair(mv_view *v, const char *format, const ptrdiff_t *shape, int ndim,
                           int flags, const char *what)
{
    mv_layout s = layout_of_view(v);
    mv_layout out, self;
    poison(&out);
    memcpy(&self, &s, sizeof self);
    mv_error err, serr, verr;
    mv_error_clear(&err);
    mv_error_clear(&verr);
    int rc = mv_layout_cast(&out, &s, format, shape, ndim, flags, &err);
    int src = mv_layout_cast(&self, &self, format, shape, ndim, flags, &serr);
    mv_view *c = mv_view_cast(v, format, shape, ndim, flags, &verr);
    if (src != rc)
        fail_msg("%s: in place rc %d, out of place %d", what, src, rc);
    const mv_buffer *b = c ? mv_view_buffer(c, NULL) : NULL;
    if (!c) {
        if (rc != verr.code || err.code != verr.code || strcmp(err.message, verr.message) != 0)
            fail_msg("%s: layout rc %d '%s', view %d '%s'", what, rc, rc ? err.message : "",
                     verr.code, verr.message);
        assert_string_equal(serr.message, err.message);
        assert_poisoned(&out);
        assert_memory_equal(&self, &s, sizeof s);
        return 0;
    }
    if (rc != 0)
        fail_msg("%s: layout rc %d '%s', the view cast succeeded", what, rc, err.message);
    const char *diff = layout_buffer_diff(&out, b);
    if (diff)
        fail_msg("%s: %s differs from the view cast's", what, diff);
    assert_ptr_equal(out.format, format);
    assert_false(out.indirect);
    check_contig(&out);
    assert_layout_equal(&self, &out);
    assert_ptr_equal(self.format, format);
    mv_decref(mv_view_object(c));
    return 1;
}

typedef struct cast_shape {
    int ndim;
    const ptrdiff_t *shape;
} cast_shape;

/* Every source x format x shape x flags: layout cast and view cast agree. */
static void cast_matches_view_cast(void **state)
{
    (void)state;
    mv_object *ba;
    unsigned char *data;
    mv_view *base = bytearray_view(48, &ba, &data);
    static const ptrdiff_t sh68[] = {6, 8}, sh34[] = {3, 4}, sh46[] = {4, 6},
                           sh2342[] = {2, 3, 4, 2};
    mv_key k_step2 = ks(4, 0, 0, 2), k_rev = ks(4, 0, 0, -1), k_empty = ks(3, 0, 0, 0);
    mv_key k_8 = ks(3, 0, 8, 0), k_1byte = ks(3, 5, 6, 0), k_one = ks(3, 3, 4, 0);
    mv_key k_cols2[] = {KALL, ks(4, 0, 0, 2)}, k_norows[] = {ks(3, 0, 0, 0), KALL};
    mv_key k_row = ki(1), k_newaxis[] = {KN, KALL};
    static unsigned char raw[1] = {42};
    /* Indirect sources of 48 bytes: rows of 12 through pointers, and 48
     * bytes with a suboffset of -1 (no pointer, but suboffsets all the
     * same): neither is contiguous, as a view of them is not. */
    static unsigned char pil_rows[4][12], flat[48];
    static unsigned char *pil_ptrs[4];
    for (int r = 0; r < 4; r++)
        pil_ptrs[r] = pil_rows[3 - r];
    ptrdiff_t pil_shape[] = {4, 12}, pil_strides[] = {(ptrdiff_t)sizeof(unsigned char *), 1};
    ptrdiff_t pil_subs[] = {0, -1}, flat_shape[] = {48}, flat_subs[] = {-1};

    mv_view *c68 = cast_view(base, "B", sh68, 2, 0);
    mv_view *slice8 = sub_view(base, &k_8, 1);
    mv_view *byte1 = sub_view(base, &k_1byte, 1);
    mv_view *every2 = sub_view(base, &k_step2, 1);
    mv_view *src[] = {
        base,
        mv_view_toreadonly(base, NULL),
        cast_view(base, "b", NULL, -1, 0),
        cast_view(base, "c", NULL, -1, 0),
        cast_view(base, "h", NULL, -1, 0),
        cast_view(base, "i", NULL, -1, 0),
        cast_view(base, "d", NULL, -1, 0),
        cast_view(base, "Q", NULL, -1, 0),
        cast_view(base, "<i", NULL, -1, 0),
        cast_view(base, "2h", NULL, -1, 0),
        c68,
        cast_view(base, "i", sh34, 2, 0),
        cast_view(base, "B", sh2342, 4, 0),
        cast_view(base, "B", sh68, 2, MV_CAST_FORTRAN), /* F only */
        cast_view(base, "h", sh46, 2, MV_CAST_FORTRAN),
        every2, /* not contiguous */
        sub_view(base, &k_rev, 1),
        sub_view(c68, k_cols2, 2),
        sub_view(c68, &k_row, 1),           /* a C-contiguous row */
        sub_view(every2, &k_one, 1),        /* one item, stride 2: contiguous */
        sub_view(c68, k_newaxis, 2),        /* {1, 6, 8}, stride 0 first */
        sub_view(base, &k_empty, 1),        /* zero length */
        sub_view(c68, k_norows, 2),         /* {0, 8} */
        cast_view(slice8, "d", NULL, 0, 0), /* 0-dim */
        cast_view(byte1, "B", NULL, 0, 0),  /* 0-dim, 1 byte */
        byte1,
        view_raw_format(raw, "Y"), /* the source's format does not parse */
        view_layout(pil_ptrs, "B", 1, 2, pil_shape, pil_strides, pil_subs, 0),
        view_layout(flat, "B", 1, 1, flat_shape, NULL, flat_subs, 0),
    };
    const size_t nsrc = sizeof src / sizeof src[0];
    assert_non_null(src[1]);

    static const char *const formats[] = {
        "B",           "b",  "c",  "@B", "h",  "i",  "@i",
        "d",           "Q",  "q",  "?",  "e",  "f",  "P",
        "Zd",          "<i", ">h", "=q", "2h", "3s", "T{<i:a:<h:b:}",
        "T{i:a:h:b:}", "x",  "0i", "Y",  "",   "1i", "@@i",
        "ii",          "i@", NULL,
    };
    static const ptrdiff_t ones65[65] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                         1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                         1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                         1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    const cast_shape shapes[] = {
        {-1, NULL},
        {-5, NULL},
        {0, NULL},
        {1, (const ptrdiff_t[]){48}},
        {1, (const ptrdiff_t[]){24}},
        {1, (const ptrdiff_t[]){12}},
        {1, (const ptrdiff_t[]){6}},
        {1, (const ptrdiff_t[]){1}},
        {1, (const ptrdiff_t[]){0}},
        {1, (const ptrdiff_t[]){-2}},
        {2, sh68},
        {2, sh34},
        {2, (const ptrdiff_t[]){2, 3}},
        {3, (const ptrdiff_t[]){2, 3, 4}},
        {2, (const ptrdiff_t[]){PTRDIFF_MAX, 2}},
        {2, NULL},
        {8, ones65},
        {9, ones65},
        {64, ones65},
        {65, ones65},
    };
    const int flag_sets[] = {0, MV_CAST_STRICT, MV_CAST_FORTRAN, MV_CAST_STRICT | MV_CAST_FORTRAN,
                             4};

    long ok = 0, errors = 0;
    char what[160];
    for (size_t i = 0; i < nsrc; i++)
        for (size_t f = 0; f < sizeof formats / sizeof formats[0]; f++)
            for (size_t h = 0; h < sizeof shapes / sizeof shapes[0]; h++)
                for (size_t g = 0; g < sizeof flag_sets / sizeof flag_sets[0]; g++) {
                    snprintf(what, sizeof what, "source %zu, format %s, ndim %d, flags %d", i,
                             formats[f] ? formats[f] : "NULL", shapes[h].ndim, flag_sets[g]);
                    if (check_cast_pair(src[i], formats[f], shapes[h].shape, shapes[h].ndim,
                                        flag_sets[g], what))
                        ok++;
                    else
                        errors++;
                }
    /* Both outcomes in numbers (strict and wide, N-D and 0-dim among them). */
    assert_true(ok > 4000);
    assert_true(errors > 50000);
    for (size_t i = 1; i < nsrc; i++)
        mv_decref(mv_view_object(src[i]));
    mv_decref(mv_view_object(slice8));
    mv_decref(mv_view_object(base));
    assert_int_equal(mv_object_exports(ba), 0);
    mv_decref(ba);
}

/* Cast s into a fresh layout (fails the test on error). */
static mv_layout cast_layout(const mv_layout *s, const char *format, const ptrdiff_t *shape,
                             int ndim, int flags)
{
    mv_layout out;
    mv_error err;
    poison(&out);
    if (mv_layout_cast(&out, s, format, shape, ndim, flags, &err) != 0)
        fail_msg("mv_layout_cast '%s': %s", format, err.message);
    assert_ptr_equal(out.format, format);
    return out;
}

static mv_value item_at(const mv_layout *s, const ptrdiff_t *idx, int n)
{
    mv_value v[2];
    mv_error err;
    if (mv_layout_get_item(s, idx, n, v, 2, &err) != 0)
        fail_msg("mv_layout_get_item: %s", err.message);
    return v[0];
}

/* Casts of a 24-byte layout with every expectation written out. */
static void cast_by_hand(void **state)
{
    (void)state;
    _Alignas(8) unsigned char mem[24];
    ptrdiff_t n24[] = {24};
    mv_buffer b = desc(mem, "B", 1, 1, n24, NULL, 0);
    mv_layout s = layout_of(&b);
    mv_error err;

    /* 'i': 6 items of 4 bytes. */
    const int32_t ints[6] = {-5, 70000, INT32_MAX, INT32_MIN, 12, -1};
    memcpy(mem, ints, sizeof ints);
    mv_layout t = cast_layout(&s, "i", NULL, -1, MV_CAST_STRICT);
    ptrdiff_t sh6[] = {6}, st4[] = {4};
    expect_layout(&t, mem, 4, 1, sh6, st4);
    assert_false(t.readonly);
    for (ptrdiff_t i = 0; i < 6; i++) {
        assert_int_equal(item_at(&t, &i, 1).v.i, ints[i]);
        assert_ptr_equal(mv_layout_at1(&t, i), mem + 4 * i);
    }
    /* ... and written through. */
    ptrdiff_t i4 = 4;
    mv_value w = {.kind = MV_VALUE_SIGNED, .v.i = -123456};
    assert_int_equal(mv_layout_set_item(&t, &i4, 1, &w, 1, &err), 0);
    assert_int_equal(read_i32(mem + 16), -123456);
    /* Back to bytes, 1-D -> 1-D strict. */
    mv_layout back = cast_layout(&t, "B", NULL, -1, MV_CAST_STRICT);
    expect_layout(&back, mem, 1, 1, n24, (ptrdiff_t[]){1});

    /* 'd' with a shape. */
    const double dbl[3] = {1.5, -2.25, 1e300};
    memcpy(mem, dbl, sizeof dbl);
    t = cast_layout(&s, "@d", (ptrdiff_t[]){3}, 1, MV_CAST_STRICT);
    expect_layout(&t, mem, 8, 1, (ptrdiff_t[]){3}, (ptrdiff_t[]){8});
    for (ptrdiff_t i = 0; i < 3; i++)
        assert_true(item_at(&t, &i, 1).v.d == dbl[i]);

    /* 'B' {2, 3, 4}: C order, then Fortran order. */
    for (int k = 0; k < 24; k++)
        mem[k] = (unsigned char)(11 * k + 1);
    ptrdiff_t sh234[] = {2, 3, 4};
    mv_layout c3 = cast_layout(&s, "B", sh234, 3, MV_CAST_STRICT);
    expect_layout(&c3, mem, 1, 3, sh234, (ptrdiff_t[]){12, 4, 1});
    mv_layout f3 = cast_layout(&s, "B", sh234, 3, MV_CAST_FORTRAN);
    expect_layout(&f3, mem, 1, 3, sh234, (ptrdiff_t[]){1, 2, 6});
    for (ptrdiff_t i = 0; i < 2; i++)
        for (ptrdiff_t j = 0; j < 3; j++)
            for (ptrdiff_t k = 0; k < 4; k++) {
                ptrdiff_t idx[] = {i, j, k};
                assert_int_equal(item_at(&c3, idx, 3).v.u, mem[12 * i + 4 * j + k]);
                assert_int_equal(item_at(&f3, idx, 3).v.u, mem[i + 2 * j + 6 * k]);
            }
    /* N-D -> 1-D: strict from C order; F order only without strict. */
    t = cast_layout(&c3, "h", NULL, -1, MV_CAST_STRICT);
    expect_layout(&t, mem, 2, 1, (ptrdiff_t[]){12}, (ptrdiff_t[]){2});
    t = cast_layout(&f3, "h", NULL, -1, 0);
    expect_layout(&t, mem, 2, 1, (ptrdiff_t[]){12}, (ptrdiff_t[]){2});
    for (ptrdiff_t i = 0; i < 12; i++) {
        uint16_t h;
        memcpy(&h, mem + 2 * i, 2);
        assert_int_equal(item_at(&t, &i, 1).v.i, (int16_t)h);
    }
    /* N-D -> N-D is wide only. */
    t = cast_layout(&c3, "h", (ptrdiff_t[]){3, 4}, 2, 0);
    expect_layout(&t, mem, 2, 2, (ptrdiff_t[]){3, 4}, (ptrdiff_t[]){8, 2});
    t = cast_layout(&c3, "i", (ptrdiff_t[]){2, 3}, 2, MV_CAST_FORTRAN);
    expect_layout(&t, mem, 4, 2, (ptrdiff_t[]){2, 3}, (ptrdiff_t[]){4, 8});
    /* Eight dimensions of 1 over one byte (once the most a span had). */
    mv_layout one;
    mv_key first = ks(3, 0, 1, 0);
    assert_int_equal(mv_layout_select(&one, &s, &first, 1, &err), 0);
    ptrdiff_t ones8[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    t = cast_layout(&one, "B", ones8, 8, MV_CAST_STRICT);
    assert_int_equal(t.ndim, 8);
    assert_int_equal(t.len, 1);
    for (int d = 0; d < 8; d++) {
        assert_int_equal(t.shape[d], 1);
        assert_int_equal(t.strides[d], 1);
    }
    /* Nine dimensions over the 24 bytes, in C and in Fortran order: item
     * by item, the byte at the offset the strides written out give. */
    for (int k = 0; k < 24; k++)
        mem[k] = (unsigned char)(5 * k + 2);
    ptrdiff_t sh9[] = {2, 1, 3, 1, 2, 1, 2, 1, 1};
    ptrdiff_t cst9[] = {12, 12, 4, 4, 2, 2, 1, 1, 1}, fst9[] = {1, 2, 2, 6, 6, 12, 12, 24, 24};
    mv_layout c9 = cast_layout(&s, "B", sh9, 9, MV_CAST_STRICT);
    expect_layout(&c9, mem, 1, 9, sh9, cst9);
    mv_layout f9 = cast_layout(&s, "B", sh9, 9, MV_CAST_FORTRAN);
    expect_layout(&f9, mem, 1, 9, sh9, fst9);
    ptrdiff_t idx9[9] = {0};
    for (ptrdiff_t c = 0; c < 24; c++) {
        ptrdiff_t coff = 0, foff = 0;
        for (int d = 0; d < 9; d++) {
            coff += idx9[d] * cst9[d];
            foff += idx9[d] * fst9[d];
        }
        assert_int_equal(coff, c); /* C order is memory order */
        assert_ptr_equal(mv_layout_at(&c9, idx9), mem + coff);
        assert_ptr_equal(mv_layout_at(&f9, idx9), mem + foff);
        assert_int_equal(item_at(&c9, idx9, 9).v.u, mem[coff]);
        assert_int_equal(item_at(&f9, idx9, 9).v.u, mem[foff]);
        for (int d = 8; d >= 0; d--) {
            if (++idx9[d] < sh9[d])
                break;
            idx9[d] = 0;
        }
    }
    /* 64 dimensions, the most: extents 2, 3, 4 at dimensions 5, 30 and 63,
     * 1 elsewhere, as 'B' in C order: each stride the product of the
     * extents after it (24 before dimension 5, 12 up to 29, 4 up to 62). */
    ptrdiff_t sh64[64], st64[64];
    for (int d = 0; d < 64; d++)
        sh64[d] = 1;
    sh64[5] = 2;
    sh64[30] = 3;
    sh64[63] = 4;
    for (int d = 0; d < 64; d++)
        st64[d] = d < 5 ? 24 : d < 30 ? 12 : d < 63 ? 4 : 1;
    mv_layout c64 = cast_layout(&s, "B", sh64, 64, MV_CAST_STRICT);
    expect_layout(&c64, mem, 1, 64, sh64, st64);
    for (ptrdiff_t c = 0; c < 24; c++) {
        ptrdiff_t idx[64] = {0}, neg[64];
        idx[5] = c / 12;
        idx[30] = c / 4 % 3;
        idx[63] = c % 4;
        for (int d = 0; d < 64; d++)
            neg[d] = idx[d] - sh64[d];
        assert_ptr_equal(mv_layout_at(&c64, idx), mem + c);
        assert_ptr_equal(mv_layout_at(&c64, neg), mem + c);
        assert_int_equal(item_at(&c64, idx, 64).v.u, mem[c]);
    }
    /* ... and back to one dimension. */
    t = cast_layout(&c64, "i", NULL, -1, MV_CAST_STRICT);
    expect_layout(&t, mem, 4, 1, (ptrdiff_t[]){6}, st4);

    /* 0-dim from the first 8 bytes. */
    memcpy(mem, &dbl[1], 8);
    mv_key first8 = ks(3, 0, 8, 0);
    mv_layout s8;
    assert_int_equal(mv_layout_select(&s8, &s, &first8, 1, &err), 0);
    t = cast_layout(&s8, "d", NULL, 0, MV_CAST_STRICT);
    assert_int_equal(t.ndim, 0);
    assert_int_equal(t.len, 8);
    assert_int_equal(t.itemsize, 8);
    assert_ptr_equal(t.buf, mem);
    assert_true(item_at(&t, NULL, 0).v.d == -2.25);

    /* Wide casts: standard byte orders, repeat counts, records, strings. */
    for (int k = 0; k < 6; k++)
        put_uint(mem + 4 * k, 4, true, (0x01020304u * (uint32_t)(k + 1)) ^ 0x80000000u);
    t = cast_layout(&s, "<i", NULL, -1, 0);
    expect_layout(&t, mem, 4, 1, sh6, st4);
    for (ptrdiff_t i = 0; i < 6; i++)
        assert_int_equal(item_at(&t, &i, 1).v.i,
                         (int32_t)((0x01020304u * (uint32_t)(i + 1)) ^ 0x80000000u));
    for (int k = 0; k < 12; k++)
        put_uint(mem + 2 * k, 2, false, 0xF000u + (unsigned)k);
    t = cast_layout(&s, ">h", NULL, -1, 0);
    expect_layout(&t, mem, 2, 1, (ptrdiff_t[]){12}, (ptrdiff_t[]){2});
    for (ptrdiff_t i = 0; i < 12; i++)
        assert_int_equal(item_at(&t, &i, 1).v.i, (int16_t)(0xF000 + i));
    t = cast_layout(&s, "2h", (ptrdiff_t[]){2, 3}, 2, 0);
    expect_layout(&t, mem, 4, 2, (ptrdiff_t[]){2, 3}, (ptrdiff_t[]){12, 4});
    ptrdiff_t i12[] = {1, 2};
    mv_value two[2];
    assert_int_equal(mv_layout_get_item(&t, i12, 2, two, 2, &err), 0);
    int16_t h2[2];
    memcpy(h2, mem + 20, 4);
    assert_int_equal(two[0].v.i, h2[0]);
    assert_int_equal(two[1].v.i, h2[1]);
    for (int k = 0; k < 4; k++) {
        put_uint(mem + 6 * k, 4, true, (uint64_t)(uint32_t)(-70000 * (k + 1)));
        put_uint(mem + 6 * k + 4, 2, true, (uint64_t)(300 + k));
    }
    t = cast_layout(&s, "T{<i:a:<h:b:}", NULL, -1, 0);
    expect_layout(&t, mem, 6, 1, (ptrdiff_t[]){4}, (ptrdiff_t[]){6});
    for (ptrdiff_t i = 0; i < 4; i++) {
        assert_int_equal(mv_layout_get_item(&t, &i, 1, two, 2, &err), 0);
        assert_int_equal(two[0].v.i, -70000 * (i + 1));
        assert_int_equal(two[1].v.i, 300 + i);
    }
    memcpy(mem, "abcdefghijklmnopqrstuvwx", 24);
    t = cast_layout(&s, "3s", (ptrdiff_t[]){2, 4}, 2, 0);
    expect_layout(&t, mem, 3, 2, (ptrdiff_t[]){2, 4}, (ptrdiff_t[]){12, 3});
    mv_value sv = item_at(&t, i12, 2);
    assert_int_equal(sv.kind, MV_VALUE_BYTES);
    assert_int_equal(sv.v.bytes.len, 3);
    assert_memory_equal(sv.v.bytes.ptr, "stu", 3);

    /* Read-only stays read-only. */
    mv_buffer rb = desc(mem, "B", 1, 1, n24, NULL, 1);
    mv_layout rs = layout_of(&rb);
    t = cast_layout(&rs, "i", (ptrdiff_t[]){2, 3}, 2, MV_CAST_STRICT);
    assert_true(t.readonly);
    expect_error(mv_layout_set_item(&t, i12, 2, &w, 1, &err), &err, MV_ETYPE, MSG_READONLY);

    /* out may be the layout itself. */
    mv_layout inplace = s;
    assert_int_equal(mv_layout_cast(&inplace, &inplace, "i", (ptrdiff_t[]){3, 2}, 2, 0, &err), 0);
    expect_layout(&inplace, mem, 4, 2, (ptrdiff_t[]){3, 2}, (ptrdiff_t[]){8, 4});
}

typedef struct cast_error_case {
    int source; /* index into the test's layouts */
    const char *format;
    int ndim;
    const ptrdiff_t *shape;
    int flags;
    int code;
    const char *msg;
} cast_error_case;

static void cast_errors(void **state)
{
    (void)state;
    static unsigned char mem[24];
    static const ptrdiff_t ones65[65] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                         1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                         1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                         1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    ptrdiff_t n24[] = {24}, n10[] = {10}, n1[] = {1}, n0[] = {0}, n12[] = {12}, s2[] = {2};
    ptrdiff_t sh23[] = {2, 3}, fst23[] = {4, 8}, n6[] = {6};
    /* Two rows of 12 bytes through pointers, the second row first. */
    static unsigned char pil_rows[2][12];
    unsigned char *pil_ptrs[2] = {pil_rows[1], pil_rows[0]};
    ptrdiff_t n2x12[] = {2, 12}, pil_strides[] = {(ptrdiff_t)sizeof(unsigned char *), 1};
    ptrdiff_t pil_subs[] = {0, -1}, flat_subs[] = {-1};
    mv_buffer descs[] = {
        desc(mem, "B", 1, 1, n24, NULL, 0),               /* 0: 24 bytes */
        desc(mem, "B", 1, 1, n10, NULL, 0),               /* 1: 10 bytes */
        desc(mem, "B", 1, 1, n12, s2, 0),                 /* 2: every other byte */
        desc(mem, "i", 4, 2, sh23, fst23, 0),             /* 3: F-contiguous only */
        desc(mem, "B", 1, 1, n1, NULL, 1),                /* 4: one byte */
        desc(mem, "i", 4, 1, n6, NULL, 0),                /* 5: 'i' */
        desc(mem, "i", 4, 2, sh23, NULL, 0),              /* 6: 'i' 2-D */
        desc(mem, "B", 1, 1, n0, NULL, 0),                /* 7: empty */
        desc(pil_ptrs, "B", 1, 2, n2x12, pil_strides, 0), /* 8: indirect rows */
        desc(mem, "B", 1, 1, n24, NULL, 0),               /* 9: suboffset -1 */
    };
    descs[8].suboffsets = pil_subs;
    descs[9].suboffsets = flat_subs;
    mv_layout srcs[10];
    for (int k = 0; k < 10; k++)
        srcs[k] = layout_of(&descs[k]);
    assert_true(srcs[8].indirect);
    assert_true(srcs[9].indirect);
    const ptrdiff_t big2[] = {PTRDIFF_MAX, 2}, big1[] = {PTRDIFF_MAX}, neg[] = {-4, -6};
    const ptrdiff_t z[] = {0}, n25[] = {25}, sh46[] = {4, 6};
    const cast_error_case cases[] = {
        {0, NULL, -1, NULL, 0, MV_EVALUE, "memoryview.cast(): format must not be NULL"},
        {0, "B", -1, NULL, 4, MV_EVALUE, "memoryview.cast(): invalid flags 0x4"},
        {0, "B", -1, NULL, -1, MV_EVALUE, "memoryview.cast(): invalid flags 0xffffffff"},
        {0, "B", 2, NULL, 0, MV_EVALUE, "memoryview.cast(): shape must not be NULL"},
        {0, "B", 1, z, 0, MV_EVALUE, MSG_SHAPE_ITEMS},
        {0, "B", 2, neg, MV_CAST_STRICT, MV_EVALUE, MSG_SHAPE_ITEMS},
        {0, "B", 2, big2, 0, MV_EVALUE, "memoryview.cast(): product(shape) > SSIZE_MAX"},
        {0, "i", 1, big1, 0, MV_EVALUE, "memoryview.cast(): product(shape) > SSIZE_MAX"},
        {0, "B", 1, n25, 0, MV_ETYPE, MSG_PRODUCT},
        {0, "i", 1, n1, MV_CAST_STRICT, MV_ETYPE, MSG_PRODUCT},
        {1, "i", -1, NULL, 0, MV_ETYPE, MSG_NOT_MULTIPLE},
        {1, "d", 1, n1, MV_CAST_STRICT, MV_ETYPE, MSG_NOT_MULTIPLE},
        {1, "T{<i:a:<h:b:}", -1, NULL, 0, MV_ETYPE, MSG_NOT_MULTIPLE},
        {2, "B", -1, NULL, 0, MV_ETYPE, MSG_CAST_C_OR_F},
        {2, "B", -1, NULL, MV_CAST_STRICT, MV_ETYPE, MSG_CAST_C},
        {3, "B", -1, NULL, MV_CAST_STRICT, MV_ETYPE, MSG_CAST_C},
        {4, "B", 65, ones65, 0, MV_EVALUE, MSG_NDIM64},
        {4, "B", 65, ones65, MV_CAST_STRICT, MV_EVALUE, MSG_NDIM64},
        /* Indirect sources are contiguous in no order (a view of them is
         * refused the same way). */
        {8, "B", -1, NULL, 0, MV_ETYPE, MSG_CAST_C_OR_F},
        {8, "B", -1, NULL, MV_CAST_STRICT, MV_ETYPE, MSG_CAST_C},
        {8, "i", 2, sh23, MV_CAST_FORTRAN, MV_ETYPE, MSG_CAST_C_OR_F},
        {8, "B", 1, n24, 0, MV_ETYPE, MSG_CAST_C_OR_F},
        {9, "B", -1, NULL, 0, MV_ETYPE, MSG_CAST_C_OR_F},
        {9, "i", -1, NULL, MV_CAST_STRICT, MV_ETYPE, MSG_CAST_C},
        {0, "<i", -1, NULL, MV_CAST_STRICT, MV_EVALUE, MSG_DEST_NATIVE},
        {0, "2h", -1, NULL, MV_CAST_STRICT, MV_EVALUE, MSG_DEST_NATIVE},
        {0, "Y", -1, NULL, MV_CAST_STRICT, MV_EVALUE, MSG_DEST_NATIVE},
        {0, "Y", -1, NULL, 0, MV_EVALUE, "invalid format string 'Y': bad char 'Y'"},
        {0, "", -1, NULL, 0, MV_EVALUE, "memoryview.cast(): format '' has itemsize 0"},
        {5, "h", -1, NULL, MV_CAST_STRICT, MV_ETYPE, MSG_NON_BYTE},
        {5, "@d", -1, NULL, MV_CAST_STRICT, MV_ETYPE, MSG_NON_BYTE},
        {6, "B", 2, sh46, MV_CAST_STRICT, MV_ETYPE, MSG_1D_ND},
        {7, "B", 1, n1, MV_CAST_STRICT, MV_ETYPE,
         "memoryview: cannot cast view with zeros in shape or strides"},
        {7, "B", 1, n1, 0, MV_ETYPE, MSG_PRODUCT},
        {0, "0i", -1, NULL, 0, MV_EVALUE, "memoryview.cast(): format '0i' has itemsize 0"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const cast_error_case *k = &cases[c];
        const mv_layout *src = &srcs[k->source];
        mv_layout out, self;
        mv_error err;
        poison(&out);
        mv_error_clear(&err);
        int rc = mv_layout_cast(&out, src, k->format, k->shape, k->ndim, k->flags, &err);
        if (rc != k->code || strcmp(err.message, k->msg) != 0)
            fail_msg("case %zu: rc %d '%s', expected %d '%s'", c, rc, err.message, k->code, k->msg);
        assert_int_equal(err.code, k->code);
        assert_poisoned(&out);
        /* In place: the layout stays as it was. */
        memcpy(&self, src, sizeof self);
        expect_error(mv_layout_cast(&self, &self, k->format, k->shape, k->ndim, k->flags, &err),
                     &err, k->code, k->msg);
        assert_memory_equal(&self, src, sizeof self);
        /* err may be NULL. */
        assert_int_equal(mv_layout_cast(&out, src, k->format, k->shape, k->ndim, k->flags, NULL),
                         k->code);
        assert_poisoned(&out);
    }
    /* The indirect sources as views: the view's cast says the same. */
    for (int k = 8; k < 10; k++) {
        mv_view *v = view_layout(descs[k].buf, "B", 1, descs[k].ndim, descs[k].shape,
                                 descs[k].strides, descs[k].suboffsets, 0);
        mv_error verr, lerr;
        assert_null(mv_view_cast(v, "B", NULL, -1, 0, &verr));
        mv_layout out;
        poison(&out);
        assert_int_equal(mv_layout_cast(&out, &srcs[k], "B", NULL, -1, 0, &lerr), verr.code);
        assert_string_equal(lerr.message, verr.message);
        assert_poisoned(&out);
        mv_decref(mv_view_object(v));
    }
    /* Nine dimensions and 64 (once refused: spans had at most eight). */
    const int wide[] = {9, 64};
    for (int w = 0; w < 2; w++) {
        mv_layout t = cast_layout(&srcs[4], "B", ones65, wide[w], 0);
        expect_layout(&t, mem, 1, wide[w], ones65, ones65);
        assert_true(t.readonly);
        t = cast_layout(&srcs[4], "B", ones65, wide[w], MV_CAST_STRICT);
        assert_int_equal(t.ndim, wide[w]);
        t = cast_layout(&srcs[4], "c", ones65, wide[w], MV_CAST_FORTRAN);
        expect_layout(&t, mem, 1, wide[w], ones65, ones65);
        ptrdiff_t idx[64] = {0};
        assert_ptr_equal(mv_layout_at(&t, idx), mem);
    }
    /* NULL out or layout. */
    mv_layout out;
    mv_error err;
    poison(&out);
    expect_error(mv_layout_cast(NULL, &srcs[0], "B", NULL, -1, 0, &err), &err, MV_EVALUE, MSG_NULL);
    expect_error(mv_layout_cast(&out, NULL, "B", NULL, -1, 0, &err), &err, MV_EVALUE, MSG_NULL);
    assert_poisoned(&out);
    assert_int_equal(mv_layout_cast(NULL, NULL, NULL, NULL, 0, 0, NULL), MV_EVALUE);
    /* The F-contiguous source is fine without strict. */
    mv_layout t = cast_layout(&srcs[3], "B", NULL, -1, 0);
    expect_layout(&t, mem, 1, 1, n24, (ptrdiff_t[]){1});
}

/* ------------------------------------------------------------------------ */
/* mv_view_from_layout                                                        */
/* ------------------------------------------------------------------------ */

/* mv_view_from_layout(base, t): a view with t's layout on base's exporter
 * (no count of the exporter or of base changes), whose items are t's. */
static mv_view *view_of_layout(mv_view *base, const mv_layout *t)
{
    mv_object *exporter = mv_view_exporter(base);
    size_t exports = mv_object_exports(exporter), refs = mv_object_refcount(exporter);
    size_t base_refs = mv_object_refcount(mv_view_object(base));
    mv_error err;
    mv_view *v = mv_view_from_layout(base, t, &err);
    if (!v)
        fail_msg("mv_view_from_layout: %s", err.message);
    assert_int_equal(mv_object_exports(exporter), exports);
    assert_int_equal(mv_object_refcount(exporter), refs);
    assert_int_equal(mv_object_refcount(mv_view_object(base)), base_refs);
    assert_int_equal(mv_object_refcount(mv_view_object(v)), 1);
    assert_ptr_equal(mv_view_exporter(v), exporter);

    const mv_buffer *b = mv_view_buffer(v, &err);
    assert_non_null(b);
    const char *diff = layout_buffer_diff(t, b);
    if (diff)
        fail_msg("the view's %s differs from the layout's", diff);
    assert_null(b->suboffsets);
    const mv_format *fmt = mv_view_format(v, &err);
    assert_non_null(fmt);
    /* The view's own layout is t again (its format a copy of t's; its
     * contiguity computed afresh: t may have been edited by hand). */
    mv_layout vl, want = *t;
    want.contig = model_contig(t);
    poison(&vl);
    assert_int_equal(mv_view_layout(&vl, v, &err), 0);
    assert_layout_equal(&vl, &want);

    ptrdiff_t idx[MV_MAX_NDIM] = {0};
    for (ptrdiff_t c = 0; c < product(t->ndim, t->shape); c++) {
        assert_ptr_equal(mv_buffer_get_pointer(b, idx, &err), mv_layout_at(t, idx));
        mv_value a[4], e[4];
        assert_int_equal(mv_view_get_item(v, idx, t->ndim, a, 4, &err), 0);
        assert_int_equal(mv_layout_get_item(t, idx, t->ndim, e, 4, &err), 0);
        for (ptrdiff_t k = 0; k < fmt->nvalues; k++) {
            assert_int_equal(a[k].kind, e[k].kind);
            assert_true(mv_value_equal(&a[k], &e[k]));
        }
        for (int o = t->ndim - 1; o >= 0; o--) {
            if (++idx[o] < t->shape[o])
                break;
            idx[o] = 0;
        }
    }
    return v;
}

/* Layouts selected and cast from a bytearray's view, made views again. */
static void view_from_layout_round_trip(void **state)
{
    (void)state;
    mv_object *ba;
    unsigned char *data;
    mv_view *base = bytearray_view(48, &ba, &data);
    assert_int_equal(mv_object_exports(ba), 1);
    mv_layout s = layout_of_view(base);
    mv_error err;
    mv_value w = {.kind = MV_VALUE_UNSIGNED, .v.u = 0xEE};

    /* The whole layout. */
    mv_view *v = view_of_layout(base, &s);
    ptrdiff_t i47 = 47;
    assert_int_equal(mv_view_set_item(v, &i47, 1, &w, 1, &err), 0);
    assert_int_equal(data[47], 0xEE);
    assert_int_equal(mv_view_is_contiguous(v, 'C', &err), 1);
    mv_decref(mv_view_object(v));

    /* data[40:4:-3]: 12 items from data + 40 down. */
    mv_layout t;
    mv_key k1 = ks(7, 40, 4, -3);
    assert_int_equal(mv_layout_select(&t, &s, &k1, 1, &err), 0);
    expect_layout(&t, data + 40, 1, 1, (ptrdiff_t[]){12}, (ptrdiff_t[]){-3});
    v = view_of_layout(base, &t);
    assert_int_equal(mv_view_is_contiguous(v, 'A', &err), 0);
    for (ptrdiff_t i = 0; i < 12; i++) {
        mv_value x;
        assert_int_equal(mv_view_get_item(v, &i, 1, &x, 1, &err), 0);
        assert_int_equal(x.v.u, (unsigned char)(7 * (40 - 3 * i) + 3));
    }
    ptrdiff_t i5 = 5;
    w.v.u = 0xA5;
    assert_int_equal(mv_view_set_item(v, &i5, 1, &w, 1, &err), 0);
    assert_int_equal(data[25], 0xA5);
    mv_decref(mv_view_object(v));

    /* {6, 8} then [::-2, 1::3]: rows 5, 3, 1, columns 1, 4, 7. */
    mv_layout c68 = cast_layout(&s, "B", (ptrdiff_t[]){6, 8}, 2, 0);
    mv_key k2[] = {ks(4, 0, 0, -2), ks(5, 1, 0, 3)};
    assert_int_equal(mv_layout_select(&t, &c68, k2, 2, &err), 0);
    expect_layout(&t, data + 41, 1, 2, (ptrdiff_t[]){3, 3}, (ptrdiff_t[]){-16, 3});
    v = view_of_layout(base, &t);
    ptrdiff_t i21[] = {2, 1};
    w.v.u = 0x5A;
    assert_int_equal(mv_view_set_item(v, i21, 2, &w, 1, &err), 0);
    assert_int_equal(data[8 + 4], 0x5A);
    mv_decref(mv_view_object(v));

    /* Casts: 'i' {3, 4}, 'h' {4, 6} in Fortran order. */
    t = cast_layout(&s, "i", (ptrdiff_t[]){3, 4}, 2, MV_CAST_STRICT);
    v = view_of_layout(base, &t);
    ptrdiff_t i23[] = {2, 3};
    mv_value wi = {.kind = MV_VALUE_SIGNED, .v.i = -2000000000};
    assert_int_equal(mv_view_set_item(v, i23, 2, &wi, 1, &err), 0);
    assert_int_equal(read_i32(data + 44), -2000000000);
    assert_int_equal(mv_view_is_contiguous(v, 'C', &err), 1);
    mv_decref(mv_view_object(v));
    t = cast_layout(&s, "h", (ptrdiff_t[]){4, 6}, 2, MV_CAST_FORTRAN);
    expect_layout(&t, data, 2, 2, (ptrdiff_t[]){4, 6}, (ptrdiff_t[]){2, 8});
    v = view_of_layout(base, &t);
    assert_int_equal(mv_view_is_contiguous(v, 'F', &err), 1);
    assert_int_equal(mv_view_is_contiguous(v, 'C', &err), 0);
    mv_decref(mv_view_object(v));

    /* 0-dim: {6, 8}[2, 5]. */
    mv_key k3[] = {ki(2), ki(5)};
    assert_int_equal(mv_layout_select(&t, &c68, k3, 2, &err), 0);
    assert_int_equal(t.ndim, 0);
    assert_ptr_equal(t.buf, data + 21);
    v = view_of_layout(base, &t);
    mv_decref(mv_view_object(v));

    /* A new axis (stride 0) over data[10:14]. */
    mv_key k4[] = {KN, ks(3, 10, 14, 0)};
    assert_int_equal(mv_layout_select(&t, &s, k4, 2, &err), 0);
    expect_layout(&t, data + 10, 1, 2, (ptrdiff_t[]){1, 4}, (ptrdiff_t[]){0, 1});
    v = view_of_layout(base, &t);
    mv_decref(mv_view_object(v));

    /* Formats that are not native single characters. */
    t = cast_layout(&s, "<i", NULL, -1, 0);
    v = view_of_layout(base, &t);
    mv_decref(mv_view_object(v));
    t = cast_layout(&s, "T{<i:a:<h:b:}", (ptrdiff_t[]){2, 4}, 2, MV_CAST_FORTRAN);
    expect_layout(&t, data, 6, 2, (ptrdiff_t[]){2, 4}, (ptrdiff_t[]){6, 12});
    v = view_of_layout(base, &t);
    mv_decref(mv_view_object(v));

    /* The format text is copied: the caller's buffer may change after. */
    char text[] = "<h";
    t = cast_layout(&s, text, NULL, -1, 0);
    v = view_of_layout(base, &t);
    text[1] = 'q';
    assert_string_equal(mv_view_buffer(v, &err)->format, "<h");
    assert_int_equal(mv_view_format(v, &err)->itemsize, 2);
    mv_decref(mv_view_object(v));

    /* A read-only layout of a writable base gives a read-only view. */
    t = s;
    t.readonly = true;
    v = view_of_layout(base, &t);
    expect_error(mv_view_set_item(v, &i5, 1, &w, 1, &err), &err, MV_ETYPE, MSG_READONLY);
    mv_decref(mv_view_object(v));

    /* Empty: data[5:5] (and anywhere at all). */
    mv_key k5 = ks(3, 5, 5, 0);
    assert_int_equal(mv_layout_select(&t, &s, &k5, 1, &err), 0);
    assert_int_equal(t.shape[0], 0);
    assert_int_equal(t.len, 0);
    v = view_of_layout(base, &t);
    mv_decref(mv_view_object(v));
    t.buf = (char *)(uintptr_t)0x10;
    v = view_of_layout(base, &t);
    mv_decref(mv_view_object(v));
    t = cast_layout(&c68, "B", (ptrdiff_t[]){6, 8}, 2, 0);
    t.shape[0] = 0;
    t.len = 0;
    t.buf = NULL;
    v = view_of_layout(base, &t);
    mv_decref(mv_view_object(v));

    /* Eight dimensions (once the most a span had): {2, 1, 3, 1, 2, 1, 2, 1}. */
    ptrdiff_t sh8[] = {2, 1, 3, 1, 2, 1, 2, 1};
    t = cast_layout(&s, "h", sh8, 8, MV_CAST_FORTRAN);
    expect_layout(&t, data, 2, 8, sh8, (ptrdiff_t[]){2, 4, 4, 12, 12, 24, 24, 48});
    v = view_of_layout(base, &t);
    mv_decref(mv_view_object(v));
    /* Nine: the same with a new axis in front, reversed in dimension 2. */
    mv_key k9[] = {KN, KALL, KALL, ks(4, 0, 0, -1)};
    mv_layout t9;
    assert_int_equal(mv_layout_select(&t9, &t, k9, 4, &err), 0);
    ptrdiff_t sh9[] = {1, 2, 1, 3, 1, 2, 1, 2, 1};
    expect_layout(&t9, data + 8, 2, 9, sh9, (ptrdiff_t[]){0, 2, 4, -4, 12, 12, 24, 24, 48});
    v = view_of_layout(base, &t9);
    ptrdiff_t i9[] = {0, 1, 0, 0, 0, 1, 0, 1, 0}; /* data + 8 + 2 + 12 + 24 */
    mv_value x9;
    assert_int_equal(mv_view_get_item(v, i9, 9, &x9, 1, &err), 0);
    int16_t h9;
    memcpy(&h9, data + 46, 2);
    assert_int_equal(x9.v.i, h9);
    mv_decref(mv_view_object(v));
    /* 64: the 48 bytes as 'B' of extents 4, 3 and 4 at dimensions 0, 31
     * and 63. */
    ptrdiff_t sh64[64];
    for (int d = 0; d < 64; d++)
        sh64[d] = d == 0 ? 4 : d == 31 ? 3 : d == 63 ? 4 : 1;
    mv_layout t64 = cast_layout(&s, "B", sh64, 64, 0);
    assert_int_equal(t64.ndim, 64);
    v = view_of_layout(base, &t64);
    assert_int_equal(mv_view_buffer(v, &err)->ndim, 64);
    /* ... and one item of it, by a key per dimension. */
    mv_key k64[64];
    for (int d = 0; d < 64; d++)
        k64[d] = ki(d == 0 ? 3 : d == 31 ? -1 : d == 63 ? 1 : 0);
    mv_layout one64;
    assert_int_equal(mv_layout_select(&one64, &t64, k64, 64, &err), 0);
    assert_int_equal(one64.ndim, 0);
    assert_ptr_equal(one64.buf, data + 36 + 8 + 1);
    mv_decref(mv_view_object(v));

    /* A view of a view made from a layout, and a layout of a sub-view. */
    mv_key k6 = ks(3, 8, 24, 0);
    mv_view *sub = sub_view(base, &k6, 1);
    mv_layout ss = layout_of_view(sub);
    mv_key k7 = ks(4, 0, 0, -1);
    assert_int_equal(mv_layout_select(&t, &ss, &k7, 1, &err), 0);
    v = view_of_layout(sub, &t);
    mv_layout vs = layout_of_view(v);
    mv_view *v2 = view_of_layout(v, &vs);
    mv_decref(mv_view_object(v));
    mv_decref(mv_view_object(sub));
    assert_int_equal(mv_object_exports(ba), 1);
    mv_decref(mv_view_object(v2));

    mv_decref(mv_view_object(base));
    assert_int_equal(mv_object_exports(ba), 0);
    mv_decref(ba);
}

static void count_release(void *ctx, void *mem)
{
    ++*(int *)ctx;
    free(mem);
}

/* The new view holds the managed buffer: the base may go first. */
static void view_from_layout_outlives_base(void **state)
{
    (void)state;
    /* Heap memory freed by the exporter's release: a read after it is a
     * use after free for ASan and valgrind. */
    int released = 0;
    unsigned char *mem = malloc(32);
    assert_non_null(mem);
    for (int k = 0; k < 32; k++)
        mem[k] = (unsigned char)(255 - k);
    mv_error err;
    mv_object *x = mv_external_new(mem, 32, 0, count_release, &released, &err);
    assert_non_null(x);
    mv_view *base = mv_view_new(x, &err);
    assert_non_null(base);
    mv_decref(x); /* the view's buffer holds it */
    mv_layout s = layout_of_view(base);
    mv_layout t;
    mv_key k = ks(7, 30, 0, -4); /* 30, 26, ..., 2 */
    assert_int_equal(mv_layout_select(&t, &s, &k, 1, &err), 0);
    mv_view *v = mv_view_from_layout(base, &t, &err);
    assert_non_null(v);
    assert_int_equal(mv_view_release(base, &err), 0);
    mv_decref(mv_view_object(base));
    assert_int_equal(released, 0);
    ptrdiff_t i3 = 3;
    mv_value w = {.kind = MV_VALUE_UNSIGNED, .v.u = 7};
    assert_int_equal(mv_view_set_item(v, &i3, 1, &w, 1, &err), 0);
    for (ptrdiff_t i = 0; i < 8; i++) {
        mv_value x8;
        assert_int_equal(mv_view_get_item(v, &i, 1, &x8, 1, &err), 0);
        assert_int_equal(x8.v.u, i == 3 ? 7 : 255 - (30 - 4 * i));
    }
    /* A view of it, made from its own layout, keeps it in turn. */
    mv_layout vs = layout_of_view(v);
    mv_view *v2 = mv_view_from_layout(v, &vs, &err);
    assert_non_null(v2);
    mv_decref(mv_view_object(v));
    assert_int_equal(released, 0);
    size_t len = 0;
    unsigned char *bytes = mv_view_tobytes(v2, 'C', &len, &err);
    assert_non_null(bytes);
    assert_int_equal(len, 8);
    for (int i = 0; i < 8; i++)
        assert_int_equal(bytes[i], i == 3 ? 7 : 255 - (30 - 4 * i));
    free(bytes);
    mv_decref(mv_view_object(v2));
    assert_int_equal(released, 1);

    /* A view of plain memory (no exporter) as the base. */
    unsigned char plain[12];
    for (int i = 0; i < 12; i++)
        plain[i] = (unsigned char)(i * i);
    base = mv_view_from_memory(plain, 12, MV_BUF_READ, &err);
    assert_non_null(base);
    s = layout_of_view(base);
    t = cast_layout(&s, "B", (ptrdiff_t[]){3, 4}, 2, MV_CAST_FORTRAN);
    v = view_of_layout(base, &t);
    assert_null(mv_view_exporter(v));
    mv_decref(mv_view_object(base));
    ptrdiff_t i21[] = {2, 1};
    assert_int_equal(mv_view_get_item(v, i21, 2, &w, 1, &err), 0);
    assert_int_equal(w.v.u, 25); /* plain[2 + 3 * 1] */
    mv_decref(mv_view_object(v));

    /* A bytearray: one export while any view lives, the resize lock with
     * it, none after. */
    mv_object *ba;
    unsigned char *data;
    base = bytearray_view(16, &ba, &data);
    s = layout_of_view(base);
    v = mv_view_from_layout(base, &s, &err);
    assert_non_null(v);
    assert_int_equal(mv_object_exports(ba), 1);
    assert_int_equal(mv_view_release(base, &err), 0);
    mv_decref(mv_view_object(base));
    assert_int_equal(mv_object_exports(ba), 1);
    expect_error(mv_bytearray_resize(ba, 4, &err), &err, MV_EBUFFER, NULL);
    assert_int_equal(mv_view_release(v, &err), 0);
    assert_int_equal(mv_object_exports(ba), 0);
    assert_int_equal(mv_bytearray_resize(ba, 4, &err), 0);
    expect_error(mv_view_get_item(v, &i3, 1, &w, 1, &err), &err, MV_EVALUE, RELEASED_MSG);
    mv_decref(mv_view_object(v));
    mv_decref(ba);
}

/* mv_view_from_layout fails with code and message, and no count changes. */
#define expect_from_layout_error(base, l, code, msg)                                               \
    expect_from_layout_error_at(__LINE__, base, l, code, msg)

static void expect_from_layout_error_at(int line, mv_view *base, const mv_layout *l, int code,
                                        const char *msg)
{
    mv_object *x = mv_view_exporter(base);
    size_t exports = x ? mv_object_exports(x) : 0;
    mv_error err;
    mv_error_clear(&err);
    mv_view *v = mv_view_from_layout(base, l, &err);
    if (v)
        fail_msg("line %d: a view, expected %d '%s'", line, code, msg);
    if (err.code != code || strcmp(err.message, msg) != 0)
        fail_msg("line %d: %d '%s', expected %d '%s'", line, err.code, err.message, code, msg);
    assert_null(mv_view_from_layout(base, l, NULL));
    if (x)
        assert_int_equal(mv_object_exports(x), exports);
}

static void view_from_layout_errors(void **state)
{
    (void)state;
    mv_object *ba;
    unsigned char *data;
    mv_view *base = bytearray_view(48, &ba, &data);
    mv_layout s = layout_of_view(base), t;
    mv_error err;
    char msg[MV_ERROR_MESSAGE_MAX];

    /* Arguments. */
    expect_from_layout_error(NULL, &s, MV_EVALUE, "memoryview: view must not be NULL");
    mv_view *rel = released_view();
    expect_from_layout_error(rel, &s, MV_EVALUE, RELEASED_MSG);
    mv_decref(mv_view_object(rel));
    expect_from_layout_error(base, NULL, MV_EVALUE, MSG_NULL);
    t = s;
    t.ndim = -1;
    expect_from_layout_error(base, &t, MV_EVALUE, "buffer ndim must be in [0, 64], not -1");
    t.ndim = 65;
    expect_from_layout_error(base, &t, MV_EVALUE, "buffer ndim must be in [0, 64], not 65");
    t.ndim = INT_MIN;
    snprintf(msg, sizeof msg, "buffer ndim must be in [0, %d], not %d", 64, INT_MIN);
    expect_from_layout_error(base, &t, MV_EVALUE, msg);

    /* Outside the base's memory: a byte before, a byte after, past the
     * end, a negative stride running off the front. */
    t = s;
    t.buf = (char *)data - 1;
    expect_from_layout_error(base, &t, MV_EVALUE, MSG_OUTSIDE);
    t.buf = (char *)data + 1;
    expect_from_layout_error(base, &t, MV_EVALUE, MSG_OUTSIDE);
    t.buf = (char *)data + 48;
    t.shape[0] = 1;
    t.len = 1;
    expect_from_layout_error(base, &t, MV_EVALUE, MSG_OUTSIDE);
    t.buf = (char *)data + 47; /* the last byte: inside */
    mv_view *v = mv_view_from_layout(base, &t, &err);
    assert_non_null(v);
    mv_decref(mv_view_object(v));
    t = s;
    t.buf = (char *)data + 10;
    t.shape[0] = 12;
    t.strides[0] = -1;
    t.len = 12;
    expect_from_layout_error(base, &t, MV_EVALUE, MSG_OUTSIDE);
    t.shape[0] = 11; /* data[10] down to data[0] */
    t.len = 11;
    v = mv_view_from_layout(base, &t, &err);
    assert_non_null(v);
    mv_decref(mv_view_object(v));
    t = cast_layout(&s, "i", (ptrdiff_t[]){3, 4}, 2, 0);
    t.strides[0] = 20; /* the last item at 40 + 12 = 52 */
    expect_from_layout_error(base, &t, MV_EVALUE, MSG_OUTSIDE);
    t.strides[0] = 16;
    t.strides[1] = -4;
    t.buf = (char *)data + 12; /* items at 12 + 16 i - 4 j: 0 to 44 */
    v = mv_view_from_layout(base, &t, &err);
    assert_non_null(v);
    mv_decref(mv_view_object(v));

    /* Inside the exporter's memory but outside base's: base = data[8:24]. */
    mv_key k = ks(3, 8, 24, 0);
    mv_view *sub = sub_view(base, &k, 1);
    expect_from_layout_error(sub, &s, MV_EVALUE, MSG_OUTSIDE);
    mv_key in = ks(3, 8, 24, 0), early = ks(3, 7, 24, 0), late = ks(3, 8, 25, 0);
    assert_int_equal(mv_layout_select(&t, &s, &early, 1, &err), 0);
    expect_from_layout_error(sub, &t, MV_EVALUE, MSG_OUTSIDE);
    assert_int_equal(mv_layout_select(&t, &s, &late, 1, &err), 0);
    expect_from_layout_error(sub, &t, MV_EVALUE, MSG_OUTSIDE);
    assert_int_equal(mv_layout_select(&t, &s, &in, 1, &err), 0);
    v = view_of_layout(sub, &t);
    mv_decref(mv_view_object(v));
    /* An empty base holds no memory: only empty layouts fit. */
    mv_key none = ks(3, 4, 4, 0);
    mv_view *empty = sub_view(base, &none, 1);
    mv_key one = ks(3, 4, 5, 0);
    assert_int_equal(mv_layout_select(&t, &s, &one, 1, &err), 0);
    expect_from_layout_error(empty, &t, MV_EVALUE, MSG_OUTSIDE);
    assert_int_equal(mv_layout_select(&t, &s, &none, 1, &err), 0);
    v = view_of_layout(empty, &t);
    mv_decref(mv_view_object(v));
    mv_decref(mv_view_object(empty));
    mv_decref(mv_view_object(sub));

    /* A writable layout of a read-only view. */
    mv_view *ro = mv_view_toreadonly(base, &err);
    assert_non_null(ro);
    t = s;
    expect_from_layout_error(ro, &t, MV_EBUFFER, MSG_WRITABLE_OF_RO);
    t.readonly = true;
    v = view_of_layout(ro, &t);
    mv_decref(mv_view_object(v));
    mv_decref(mv_view_object(ro));

    /* Format and itemsize. */
    t = s;
    t.format = "i";
    expect_from_layout_error(base, &t, MV_EVALUE,
                             "layout: itemsize 1 does not match format 'i' (size 4)");
    t = cast_layout(&s, "<q", NULL, -1, 0);
    t.format = "T{<i:a:<h:b:}";
    expect_from_layout_error(base, &t, MV_EVALUE,
                             "layout: itemsize 8 does not match format 'T{<i:a:<h:b:}' (size 6)");
    t = s;
    t.format = NULL;
    expect_from_layout_error(base, &t, MV_EVALUE, MSG_FORMAT_NULL);
    /* itemsize 0 (once refused outright): only for a format of size 0. */
    t = s;
    t.shape[0] = 0;
    t.len = 0;
    t.itemsize = 0;
    expect_from_layout_error(base, &t, MV_EVALUE,
                             "layout: itemsize 0 does not match format 'B' (size 1)");
    t.format = "T{}";
    t.strides[0] = 0;
    v = view_of_layout(base, &t);
    mv_decref(mv_view_object(v));
    ptrdiff_t n5[] = {5};
    mv_buffer zb = desc(data, "T{}", 0, 1, n5, NULL, 0);
    t = layout_of(&zb);
    expect_layout(&t, data, 0, 1, n5, (ptrdiff_t[]){0});
    v = view_of_layout(base, &t);
    const mv_buffer *vb = mv_view_buffer(v, &err);
    assert_int_equal(vb->itemsize, 0);
    assert_int_equal(vb->shape[0], 5);
    assert_string_equal(vb->format, "T{}");
    mv_decref(mv_view_object(v));
    t = s;
    t.itemsize = 0;
    expect_from_layout_error(base, &t, MV_EVALUE, "buffer itemsize 0 is invalid for len 48");
    t = s;
    t.itemsize = -1;
    expect_from_layout_error(base, &t, MV_EVALUE, "buffer itemsize -1 is invalid for len 48");

    /* Layouts mv_buffer_validate refuses. */
    t = s;
    t.len = 47;
    expect_from_layout_error(base, &t, MV_EVALUE,
                             "buffer len 47 != product(shape) * itemsize = 48");
    t.len = -48;
    expect_from_layout_error(base, &t, MV_EVALUE, "buffer len -48 is negative");
    t = s;
    t.shape[0] = -1;
    t.len = 0;
    expect_from_layout_error(base, &t, MV_EVALUE, "shape[0] = -1 is negative");
    t = s;
    t.buf = NULL;
    expect_from_layout_error(base, &t, MV_EVALUE, "buffer buf is NULL but len is 48");
    t = s;
    t.strides[0] = PTRDIFF_MAX;
    snprintf(msg, sizeof msg, "strides[0] = %td times shape[0] - 1 = 47 overflows", PTRDIFF_MAX);
    expect_from_layout_error(base, &t, MV_EOVERFLOW, msg);
    t = s;
    t.ndim = 0;
    expect_from_layout_error(base, &t, MV_EVALUE, "buffer len 48 != itemsize 1 for ndim 0");

    /* A base with suboffsets: where its memory lies depends on the
     * pointers, so no layout with items can be checked against it (not
     * even its own), only an empty one fits. */
    unsigned char rows[2][3] = {{1, 2, 3}, {4, 5, 6}};
    unsigned char *ptrs[2] = {rows[1], rows[0]};
    ptrdiff_t psh[] = {2, 3}, pst[] = {(ptrdiff_t)sizeof(unsigned char *), 1}, psub[] = {0, -1};
    mv_view *pil = view_layout(ptrs, "B", 1, 2, psh, pst, psub, 1);
    ptrdiff_t nptrs[] = {(ptrdiff_t)sizeof ptrs};
    mv_buffer pb = desc(ptrs, "B", 1, 1, nptrs, NULL, 1);
    t = layout_of(&pb);
    expect_from_layout_error(pil, &t, MV_EVALUE, MSG_INDIRECT);
    /* The first pointer's bytes lie within base's own layout (ptrs to
     * ptrs + 8 + 2), still not memory a layout of it may reach. */
    mv_buffer p0 = desc(ptrs, "B", 1, 1, (ptrdiff_t[]){(ptrdiff_t)sizeof ptrs[0]}, NULL, 1);
    t = layout_of(&p0);
    expect_from_layout_error(pil, &t, MV_EVALUE, MSG_INDIRECT);
    mv_buffer rb = desc(rows[0], "B", 1, 1, (ptrdiff_t[]){3}, NULL, 1);
    t = layout_of(&rb);
    expect_from_layout_error(pil, &t, MV_EVALUE, MSG_INDIRECT);
    mv_layout pl = layout_of_view(pil);
    assert_true(pl.indirect);
    expect_from_layout_error(pil, &pl, MV_EVALUE, MSG_INDIRECT);
    t.shape[0] = 0;
    t.len = 0;
    v = mv_view_from_layout(pil, &t, &err);
    assert_non_null(v);
    assert_int_equal(mv_view_buffer(v, &err)->len, 0);
    mv_decref(mv_view_object(v));
    /* ... and on a direct base, an indirect layout with items (rows of the
     * bytearray through pointers) cannot be checked either. */
    unsigned char *bptrs[2] = {data + 24, data};
    mv_buffer ib = desc(bptrs, "B", 1, 2, psh, pst, 0);
    ib.suboffsets = psub;
    mv_layout il = layout_of(&ib);
    assert_true(il.indirect);
    expect_from_layout_error(base, &il, MV_EVALUE, MSG_INDIRECT);
    expect_from_layout_error(base, &pl, MV_EVALUE, MSG_INDIRECT);
    /* Suboffsets that are all negative: indirect all the same. */
    ptrdiff_t neg1[] = {-1};
    mv_buffer nb = desc(data, "B", 1, 1, (ptrdiff_t[]){48}, NULL, 0);
    nb.suboffsets = neg1;
    mv_layout nl = layout_of(&nb);
    assert_true(nl.indirect);
    expect_from_layout_error(base, &nl, MV_EVALUE, MSG_INDIRECT);
    /* Without items nothing is followed or checked. */
    il.shape[1] = 0;
    il.len = 0;
    v = mv_view_from_layout(base, &il, &err);
    assert_non_null(v);
    assert_int_equal(mv_view_buffer(v, &err)->len, 0);
    mv_decref(mv_view_object(v));
    mv_decref(mv_view_object(pil));

    /* Checks run in the header's order: ndim, layout, format NULL,
     * writable, indirect or outside, then the format's size. */
    t = s;
    t.ndim = 65;
    t.format = NULL;
    t.len = 3;
    expect_from_layout_error(base, &t, MV_EVALUE, "buffer ndim must be in [0, 64], not 65");
    t.ndim = 1;
    expect_from_layout_error(base, &t, MV_EVALUE, "buffer len 3 != product(shape) * itemsize = 48");
    t.len = 48;
    t.buf = (char *)data + 1;
    expect_from_layout_error(base, &t, MV_EVALUE, MSG_FORMAT_NULL);
    t.format = "i";
    ro = mv_view_toreadonly(base, &err);
    assert_non_null(ro);
    expect_from_layout_error(ro, &t, MV_EBUFFER, MSG_WRITABLE_OF_RO);
    t.readonly = true;
    expect_from_layout_error(ro, &t, MV_EVALUE, MSG_OUTSIDE);
    nl.format = "i";
    nl.readonly = true;
    expect_from_layout_error(ro, &nl, MV_EVALUE, MSG_INDIRECT);
    nl.readonly = false;
    expect_from_layout_error(ro, &nl, MV_EBUFFER, MSG_WRITABLE_OF_RO);
    mv_decref(mv_view_object(ro));
    t.buf = (char *)data;
    expect_from_layout_error(base, &t, MV_EVALUE,
                             "layout: itemsize 1 does not match format 'i' (size 4)");

    assert_int_equal(mv_object_exports(ba), 1);
    mv_decref(mv_view_object(base));
    mv_decref(ba);
}

/* A view whose format does not parse: the layout of it makes a view
 * again, which reports the parse error as the original does. */
static void view_from_layout_unparseable(void **state)
{
    (void)state;
    unsigned char mem[1] = {42};
    mv_view *base = view_raw_format(mem, "Y");
    mv_layout s = layout_of_view(base);
    mv_error err, verr;
    mv_view *v = mv_view_from_layout(base, &s, &err);
    assert_non_null(v);
    assert_string_equal(mv_view_buffer(v, &err)->format, "Y");
    ptrdiff_t i0 = 0;
    mv_value x;
    int rc = mv_view_get_item(v, &i0, 1, &x, 1, &err);
    expect_error(mv_view_get_item(base, &i0, 1, &x, 1, &verr), &verr, MV_EVALUE, NULL);
    expect_error(rc, &err, MV_EVALUE, verr.message);
    /* Cast to bytes, it reads. */
    mv_layout b = cast_layout(&s, "B", NULL, -1, 0);
    mv_view *vb = view_of_layout(base, &b);
    assert_int_equal(mv_view_get_item(vb, &i0, 1, &x, 1, &err), 0);
    assert_int_equal(x.v.u, 42);
    mv_decref(mv_view_object(vb));
    mv_decref(mv_view_object(v));
    mv_decref(mv_view_object(base));
}

/* ------------------------------------------------------------------------ */
/* Allocation failures                                                        */
/* ------------------------------------------------------------------------ */

/* mv_layout_cast allocates only to parse a format other than a native single
 * character: every other cast, and every error before the parse, is free. */
static void cast_no_allocations(void **state)
{
    (void)state;
    static unsigned char mem[24];
    mv_buffer b = desc(mem, "B", 1, 1, (ptrdiff_t[]){24}, NULL, 0);
    mv_layout s = layout_of(&b);
    static ptrdiff_t ones[65];
    for (int d = 0; d < 65; d++)
        ones[d] = 1;
    const struct {
        const char *format;
        int ndim;
        const ptrdiff_t *shape;
        int flags;
        int rc;
    } cases[] = {
        {"i", -1, NULL, MV_CAST_STRICT, 0},
        {"@d", 1, (const ptrdiff_t[]){3}, 0, 0},
        {"B", 3, (const ptrdiff_t[]){2, 3, 4}, MV_CAST_FORTRAN, 0},
        {"Q", 0, NULL, 0, MV_ETYPE},
        {"d", 2, (const ptrdiff_t[]){0, 3}, 0, MV_EVALUE},
        {"B", 2, NULL, 0, MV_EVALUE},
        {NULL, -1, NULL, 0, MV_EVALUE},
        {"B", -1, NULL, 8, MV_EVALUE},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        mv_layout out;
        mv_error err;
        noalloc_begin();
        int rc = mv_layout_cast(&out, &s, cases[c].format, cases[c].shape, cases[c].ndim,
                                cases[c].flags, &err);
        long failed = noalloc_end();
        if (rc != cases[c].rc || failed != 0)
            fail_msg("case %zu: rc %d, %ld allocation(s) tried", c, rc, failed);
    }
    mv_layout one;
    mv_key k = ks(3, 0, 1, 0);
    mv_error err;
    assert_int_equal(mv_layout_select(&one, &s, &k, 1, &err), 0);
    /* Nine dimensions and 64 (once the span's ndim error) cost nothing;
     * nor does the refusal of 65. */
    mv_layout nine, all;
    noalloc_begin();
    int rc9 = mv_layout_cast(&nine, &one, "B", ones, 9, 0, &err);
    int rc64 = mv_layout_cast(&all, &one, "B", ones, 64, MV_CAST_STRICT, &err);
    int rc65 = mv_layout_cast(&one, &one, "B", ones, 65, 0, &err);
    long failed = noalloc_end();
    assert_int_equal(failed, 0);
    assert_int_equal(rc9, 0);
    assert_int_equal(rc64, 0);
    expect_error(rc65, &err, MV_EVALUE, MSG_NDIM64);
    assert_int_equal(nine.ndim, 9);
    assert_int_equal(all.ndim, 64);
    assert_ptr_equal(all.buf, mem);
}

static void cast_alloc_sweep(void **state)
{
    (void)state;
    _Alignas(8) unsigned char mem[24];
    for (int k = 0; k < 24; k++)
        mem[k] = (unsigned char)(k + 1);
    mv_buffer b = desc(mem, "B", 1, 1, (ptrdiff_t[]){24}, NULL, 0);
    mv_layout s = layout_of(&b);
    const struct {
        const char *format;
        int flags;
        int rc; /* once allocations succeed */
        ptrdiff_t itemsize;
    } cases[] = {
        {"<i", 0, 0, 4},
        {"T{<i:a:<h:b:}", 0, 0, 6},
        {"2h", MV_CAST_FORTRAN, 0, 4},
        {">d", 0, 0, 8},
        {"<i", MV_CAST_STRICT, MV_EVALUE, 0},
        {"Y", MV_CAST_STRICT, MV_EVALUE, 0},
        {"Y", 0, MV_EVALUE, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        mv_layout out;
        int rc = 0;
        long n;
        for (n = 0; n < 100; n++) {
            mv_error err;
            poison(&out);
            sweep_arm(n, &err);
            rc = mv_layout_cast(&out, &s, cases[c].format, NULL, -1, cases[c].flags, &err);
            long failed = mv_test_failed_allocations();
            mv_test_fail_after(-1);
            if (rc == MV_ENOMEM) {
                assert_true(failed > 0);
                assert_int_equal(err.code, MV_ENOMEM);
                assert_poisoned(&out);
                continue;
            }
            break;
        }
        if (rc != cases[c].rc)
            fail_msg("'%s' flags %d: rc %d after %ld allocation(s) allowed", cases[c].format,
                     cases[c].flags, rc, n);
        if (rc == 0) {
            expect_layout(&out, mem, cases[c].itemsize, 1, (ptrdiff_t[]){24 / cases[c].itemsize},
                          (ptrdiff_t[]){cases[c].itemsize});
            assert_ptr_equal(out.format, cases[c].format);
        } else {
            assert_poisoned(&out);
        }
    }
}

static void view_from_layout_alloc_sweep(void **state)
{
    (void)state;
    mv_object *ba;
    unsigned char *data;
    mv_view *base = bytearray_view(48, &ba, &data);
    mv_layout s = layout_of_view(base);
    mv_layout layouts[] = {
        s,
        cast_layout(&s, "<i", (ptrdiff_t[]){3, 4}, 2, 0),
        cast_layout(&s, "T{<i:a:<h:b:}", NULL, -1, 0),
        cast_layout(&s, "h", (ptrdiff_t[]){2, 3, 4}, 3, MV_CAST_FORTRAN),
    };
    for (size_t c = 0; c < sizeof layouts / sizeof layouts[0]; c++) {
        mv_view *v;
        SWEEP_PTR(v, mv_view_from_layout(base, &layouts[c], sweep_err),
                  assert_int_equal(mv_object_exports(ba), 1));
        const mv_buffer *b = mv_view_buffer(v, NULL);
        assert_non_null(b);
        assert_null(layout_buffer_diff(&layouts[c], b));
        mv_decref(mv_view_object(v));
        /* base is intact after the failures. */
        mv_layout again = layout_of_view(base);
        assert_layout_equal(&again, &s);
    }
    mv_decref(mv_view_object(base));
    assert_int_equal(mv_object_exports(ba), 0);
    mv_decref(ba);
}

/* ------------------------------------------------------------------------ */
/* mv_layout_acquire                                                            */
/* ------------------------------------------------------------------------ */

/* Every request mv_object_getbuffer accepts that a plain 1-D byte exporter
 * can answer. */
static const int acquire_requests[] = {
    MV_BUF_SIMPLE,         MV_BUF_WRITABLE,      MV_BUF_FORMAT,        MV_BUF_ND,
    MV_BUF_STRIDES,        MV_BUF_C_CONTIGUOUS,  MV_BUF_F_CONTIGUOUS,  MV_BUF_ANY_CONTIGUOUS,
    MV_BUF_INDIRECT,       MV_BUF_CONTIG,        MV_BUF_CONTIG_RO,     MV_BUF_STRIDED,
    MV_BUF_STRIDED_RO,     MV_BUF_RECORDS,       MV_BUF_RECORDS_RO,    MV_BUF_FULL,
    MV_BUF_FULL_RO,        MV_BUF_ND | MV_BUF_FORMAT};

/* *h is all zero bytes. */
static void assert_zeroed(const mv_buffer *h)
{
    mv_buffer z;
    memset(&z, 0, sizeof z);
    assert_memory_equal(h, &z, sizeof z);
}

/* A bytes or bytearray of n bytes 0, 5, 10, ... (mod 256), local or not:
 * mv_layout_acquire for every request, against the values written out and
 * against mv_object_getbuffer's descriptor for the same request. */
static void acquire_plain_one(bool is_bytes, ptrdiff_t n, bool local)
{
    unsigned char init[64];
    for (ptrdiff_t i = 0; i < n; i++)
        init[i] = (unsigned char)(5 * i);
    mv_error err;
    mv_object *x =
        is_bytes ? mv_bytes_new(init, (size_t)n, &err) : mv_bytearray_new(init, (size_t)n, &err);
    assert_non_null(x);
    if (local)
        mv_object_set_local(x);
    size_t dlen = 99;
    unsigned char *data = mv_object_data(x, &dlen);
    assert_int_equal(dlen, n);
    for (size_t r = 0; r < sizeof acquire_requests / sizeof *acquire_requests; r++) {
        int flags = acquire_requests[r];
        mv_buffer want;
        int want_rc = mv_object_getbuffer(x, &want, flags, &err);
        mv_buffer_release(&want);
        mv_layout s;
        mv_buffer h;
        poison(&s);
        memset(&h, LAYOUT_POISON, sizeof h);
        int rc = mv_layout_acquire(&s, &h, x, flags, &err);
        if (is_bytes && (flags & MV_BUF_WRITABLE)) {
            assert_int_equal(want_rc, MV_EBUFFER);
            expect_error(rc, &err, MV_EBUFFER, "Object is not writable.");
            assert_poisoned(&s);
            assert_zeroed(&h);
            assert_int_equal(mv_object_refcount(x), 1);
            assert_int_equal(mv_object_exports(x), 0);
            continue;
        }
        assert_int_equal(want_rc, 0);
        assert_int_equal(rc, 0);
        assert_int_equal(mv_object_refcount(x), 2);
        assert_int_equal(mv_object_exports(x), 1);
        /* The layout: the bytes, 1-D, unsigned bytes. */
        ptrdiff_t shape[] = {n}, strides[] = {1};
        expect_layout(&s, data, 1, 1, shape, strides);
        assert_int_equal(s.len, n);
        assert_string_equal(s.format, "B");
        assert_int_equal(s.readonly, is_bytes);
        for (ptrdiff_t i = 0; i < n; i++)
            assert_int_equal(*(unsigned char *)mv_layout_at1(&s, i), (unsigned char)(5 * i));
        /* The buffer: what getbuffer hands out, its arrays in itself. */
        assert_ptr_equal(h.buf, data);
        assert_ptr_equal(h.obj, x);
        assert_int_equal(h.len, n);
        assert_int_equal(h.itemsize, 1);
        assert_int_equal(h.readonly, is_bytes);
        assert_int_equal(h.ndim, 1);
        if (flags & MV_BUF_FORMAT)
            assert_string_equal(h.format, "B");
        else
            assert_null(h.format);
        assert_ptr_equal(h.shape, (flags & MV_BUF_ND) ? &h.len : NULL);
        assert_ptr_equal(h.strides,
                         (flags & MV_BUF_STRIDES) == MV_BUF_STRIDES ? &h.itemsize : NULL);
        assert_null(h.suboffsets);
        assert_null(h.internal);
        assert_int_equal(!h.format, !want.format);
        assert_int_equal(!h.shape, !want.shape);
        assert_int_equal(!h.strides, !want.strides);
        /* The export holds: no resize until it is released. */
        if (!is_bytes)
            expect_error(mv_bytearray_resize(x, 3, &err), &err, MV_EBUFFER,
                         "Existing exports of data: object cannot be re-sized");
        mv_buffer_release(&h);
        assert_int_equal(mv_object_refcount(x), 1);
        assert_int_equal(mv_object_exports(x), 0);
    }
    if (!is_bytes) {
        assert_int_equal(mv_bytearray_resize(x, 3, &err), 0);
        assert_int_equal(mv_object_data(x, &dlen) != NULL, 1);
        assert_int_equal(dlen, 3);
    }
    mv_decref(x);
}

static void acquire_plain(void **state)
{
    (void)state;
    const ptrdiff_t lens[] = {0, 1, 17, 64};
    for (int b = 0; b < 2; b++)
        for (int l = 0; l < 4; l++)
            for (int local = 0; local < 2; local++)
                acquire_plain_one(b == 1, lens[l], local == 1);
}

/* An exporter whose getbuffer hands out a fixed descriptor (or fails) and
 * whose releasebuffer counts its calls. */
typedef struct probe {
    mv_object ob;
    mv_buffer layout;
    int fail;
    int releases;
} probe;

static int probe_getbuffer(mv_object *self, mv_buffer *view, int flags, mv_error *err)
{
    probe *p = (probe *)self;
    (void)flags;
    if (p->fail)
        return mv_error_set(err, MV_EBUFFER, "probe: refused");
    *view = p->layout;
    mv_incref(self);
    view->obj = self;
    return 0;
}

static void probe_release(mv_object *self, mv_buffer *view)
{
    (void)view;
    ((probe *)self)->releases++;
}

static const mv_type probe_type = {
    .name = "probe",
    .getbuffer = probe_getbuffer,
    .releasebuffer = probe_release,
    .destroy = NULL,
};

static void acquire_other_exporters(void **state)
{
    (void)state;
    mv_error err;
    int16_t m[30];
    for (int k = 0; k < 30; k++)
        m[k] = (int16_t)(k * 7 - 50);

    /* A 2-D external layout: rows two apart, columns reversed. */
    ptrdiff_t shape[] = {3, 5}, strides[] = {20, -2};
    mv_buffer lay = desc(&m[4], "h", 2, 2, shape, strides, 0);
    mv_object *x = mv_external_new_layout(&lay, NULL, NULL, &err);
    assert_non_null(x);
    mv_layout s;
    mv_buffer h;
    poison(&s);
    assert_int_equal(mv_layout_acquire(&s, &h, x, MV_BUF_FULL_RO, &err), 0);
    assert_int_equal(mv_object_exports(x), 1);
    assert_ptr_equal(h.obj, x);
    expect_layout(&s, &m[4], 2, 2, shape, strides);
    for (ptrdiff_t i = 0; i < 3; i++)
        for (ptrdiff_t j = 0; j < 5; j++) {
            ptrdiff_t idx[] = {i, j};
            int16_t got;
            memcpy(&got, mv_layout_at(&s, idx), 2);
            assert_int_equal(got, m[10 * i + 4 - j]);
        }
    mv_buffer_release(&h);
    assert_int_equal(mv_object_exports(x), 0);
    /* The exporter refuses a contiguous request for it: getbuffer's error. */
    memset(&h, LAYOUT_POISON, sizeof h);
    expect_error(mv_layout_acquire(&s, &h, x, MV_BUF_C_CONTIGUOUS, &err), &err, MV_EBUFFER,
                 "memoryview: underlying buffer is not C-contiguous");
    assert_zeroed(&h);
    assert_int_equal(mv_object_exports(x), 0);
    assert_int_equal(mv_object_refcount(x), 1);

    /* A typed array and a view as exporters. */
    mv_object *a = mv_array_new("<i", 6, &err);
    assert_non_null(a);
    assert_int_equal(mv_layout_acquire(&s, &h, a, MV_BUF_FULL, &err), 0);
    size_t alen = 0;
    void *adata = mv_object_data(a, &alen);
    ptrdiff_t ash[] = {6}, ast[] = {4};
    expect_layout(&s, adata, 4, 1, ash, ast);
    assert_string_equal(s.format, "<i");
    assert_int_equal(mv_object_exports(a), 1);
    mv_view *v = mv_view_new(a, &err);
    assert_non_null(v);
    assert_int_equal(mv_object_exports(a), 2);
    mv_layout sv;
    mv_buffer hv;
    poison(&sv);
    assert_int_equal(mv_layout_acquire(&sv, &hv, mv_view_object(v), MV_BUF_FULL_RO, &err), 0);
    assert_layout_equal(&sv, &s);
    mv_buffer_release(&hv);
    mv_buffer_release(&h);
    mv_decref(mv_view_object(v));
    assert_int_equal(mv_object_exports(a), 0);
    mv_decref(a);

    /* Descriptors spans refused (nine dimensions, suboffsets): layouts
     * take them, and the buffer holds them until released. */
    probe p;
    memset(&p, 0, sizeof p);
    mv_object_init(&p.ob, &probe_type);
    ptrdiff_t ones[65];
    for (int d = 0; d < 65; d++)
        ones[d] = 1;
    p.layout = desc(m, "h", 2, 9, ones, NULL, 0);
    poison(&s);
    assert_int_equal(mv_layout_acquire(&s, &h, &p.ob, MV_BUF_FULL_RO, &err), 0);
    expect_layout(&s, m, 2, 9, ones, (ptrdiff_t[]){2, 2, 2, 2, 2, 2, 2, 2, 2});
    assert_int_equal(mv_object_exports(&p.ob), 1);
    mv_buffer_release(&h);
    assert_int_equal(p.releases, 1);
    assert_int_equal(mv_object_refcount(&p.ob), 1);
    assert_int_equal(mv_object_exports(&p.ob), 0);
    /* One dimension of four items through row pointers (suboffset 0). */
    ptrdiff_t n4[] = {4}, subs[] = {0}, pst[] = {(ptrdiff_t)sizeof(int16_t *)};
    int16_t *rows[4] = {&m[3], &m[0], &m[7], &m[1]};
    p.layout = desc(rows, "h", 2, 1, n4, pst, 0);
    p.layout.suboffsets = subs;
    poison(&s);
    assert_int_equal(mv_layout_acquire(&s, &h, &p.ob, MV_BUF_FULL_RO, &err), 0);
    assert_true(s.indirect);
    assert_ptr_equal(s.buf, rows);
    assert_int_equal(s.shape[0], 4);
    assert_int_equal(s.strides[0], (ptrdiff_t)sizeof(int16_t *));
    assert_int_equal(s.suboffsets[0], 0);
    for (ptrdiff_t i = 0; i < 4; i++) {
        assert_ptr_equal(mv_layout_at1(&s, i), rows[i]);
        mv_value v16;
        assert_int_equal(mv_layout_get_item(&s, &i, 1, &v16, 1, &err), 0);
        assert_int_equal(v16.v.i, *rows[i]);
    }
    mv_buffer_release(&h);
    assert_int_equal(p.releases, 2);
    assert_int_equal(mv_object_exports(&p.ob), 0);
    /* A descriptor a view does not take either (65 dimensions): the
     * buffer is given back (releasebuffer runs once, counts as before),
     * *l unchanged. */
    p.layout = desc(m, "h", 2, 65, ones, NULL, 0);
    poison(&s);
    memset(&h, LAYOUT_POISON, sizeof h);
    expect_error(mv_layout_acquire(&s, &h, &p.ob, MV_BUF_FULL_RO, &err), &err, MV_EVALUE,
                 "buffer ndim must be in [0, 64], not 65");
    assert_poisoned(&s);
    assert_zeroed(&h);
    assert_int_equal(p.releases, 3);
    assert_int_equal(mv_object_refcount(&p.ob), 1);
    assert_int_equal(mv_object_exports(&p.ob), 0);
    /* A refusal by the exporter itself. */
    p.fail = 1;
    expect_error(mv_layout_acquire(&s, &h, &p.ob, MV_BUF_FULL_RO, &err), &err, MV_EBUFFER,
                 "probe: refused");
    assert_zeroed(&h);
    assert_int_equal(p.releases, 3);
    assert_int_equal(mv_object_refcount(&p.ob), 1);
    /* A good descriptor: released through the type once. */
    p.fail = 0;
    p.layout = desc(m, "h", 2, 1, n4, NULL, 1);
    assert_int_equal(mv_layout_acquire(&s, &h, &p.ob, MV_BUF_FULL_RO, &err), 0);
    assert_true(s.readonly);
    assert_int_equal(s.shape[0], 4);
    assert_int_equal(mv_object_exports(&p.ob), 1);
    mv_buffer_release(&h);
    assert_int_equal(p.releases, 4);
    assert_int_equal(mv_object_exports(&p.ob), 0);
    assert_int_equal(mv_object_refcount(&p.ob), 1);
    mv_decref(x);
}

static void acquire_errors(void **state)
{
    (void)state;
    mv_error err;
    mv_object *ba = mv_bytearray_new("abc", 3, &err);
    mv_object *by = mv_bytes_new("abc", 3, &err);
    assert_non_null(ba);
    assert_non_null(by);
    mv_object *objs[] = {ba, by};
    char msg[MV_ERROR_MESSAGE_MAX];
    for (int o = 0; o < 2; o++) {
        mv_object *x = objs[o];
        mv_layout s;
        mv_buffer h;
        poison(&s);
        expect_error(mv_layout_acquire(NULL, &h, x, MV_BUF_FULL_RO, &err), &err, MV_EVALUE,
                     MSG_NULL);
        assert_int_equal(mv_layout_acquire(NULL, NULL, NULL, 0, NULL), MV_EVALUE);
        expect_error(mv_layout_acquire(&s, NULL, x, MV_BUF_FULL_RO, &err), &err, MV_EVALUE,
                     "getbuffer: view must not be NULL");
        memset(&h, LAYOUT_POISON, sizeof h);
        expect_error(mv_layout_acquire(&s, &h, NULL, MV_BUF_FULL_RO, &err), &err, MV_EVALUE,
                     "getbuffer: exporter must not be NULL");
        assert_zeroed(&h);
        /* Flags outside the request set, the bits the fast path tests among
         * them. */
        const int bad[] = {0x2, 0x200, 0x400, 0x1000, MV_BUF_FULL | 0x2, -1, INT_MIN};
        for (int b = 0; b < 7; b++) {
            memset(&h, LAYOUT_POISON, sizeof h);
            snprintf(msg, sizeof msg, "invalid buffer request flags 0x%x", (unsigned)bad[b]);
            expect_error(mv_layout_acquire(&s, &h, x, bad[b], &err), &err, MV_EVALUE, msg);
            assert_zeroed(&h);
        }
        assert_poisoned(&s);
        assert_int_equal(mv_object_refcount(x), 1);
        assert_int_equal(mv_object_exports(x), 0);
    }
    /* An object with no buffer. */
    mv_object plain;
    static const mv_type nobuf = {.name = "nobuf"};
    mv_object_init(&plain, &nobuf);
    mv_layout s;
    mv_buffer h;
    expect_error(mv_layout_acquire(&s, &h, &plain, MV_BUF_SIMPLE, &err), &err, MV_ETYPE,
                 "a bytes-like object is required, not 'nobuf'");
    assert_zeroed(&h);
    mv_decref(ba);
    mv_decref(by);
}

/* bytes and bytearray layouts come without an allocation. */
static void acquire_no_allocations(void **state)
{
    (void)state;
    mv_error err;
    mv_object *ba = mv_bytearray_new("abcd", 4, &err);
    mv_object *by = mv_bytes_new("abcd", 4, &err);
    assert_non_null(ba);
    assert_non_null(by);
    mv_layout s1, s2;
    mv_buffer h1, h2;
    noalloc_begin();
    int rc1 = mv_layout_acquire(&s1, &h1, ba, MV_BUF_FULL, &err);
    int rc2 = mv_layout_acquire(&s2, &h2, by, MV_BUF_FULL_RO, &err);
    long failed = noalloc_end();
    assert_int_equal(rc1, 0);
    assert_int_equal(rc2, 0);
    assert_int_equal(failed, 0);
    assert_int_equal(s1.len, 4);
    assert_int_equal(s2.len, 4);
    mv_buffer_release(&h1);
    mv_buffer_release(&h2);
    mv_decref(ba);
    mv_decref(by);
}

/* ------------------------------------------------------------------------ */
/* Many dimensions: 9 to 64 (spans had at most 8)                           */
/* ------------------------------------------------------------------------ */


/* sum(idx[d] * strides[d]), written out. */
static ptrdiff_t offset_of(int ndim, const ptrdiff_t *idx, const ptrdiff_t *strides)
{
    ptrdiff_t off = 0;
    for (int d = 0; d < ndim; d++)
        off += idx[d] * strides[d];
    return off;
}

/* Every item of l (direct, 'i') against base + offset_of(idx, strides):
 * its address with positive and negative indices, its value. */
static void expect_items_i32(const mv_layout *l, const char *base, const ptrdiff_t *strides)
{
    ptrdiff_t idx[MV_MAX_NDIM] = {0}, neg[MV_MAX_NDIM];
    ptrdiff_t count = 0;
    do {
        const char *want = base + offset_of(l->ndim, idx, strides);
        for (int d = 0; d < l->ndim; d++)
            neg[d] = idx[d] - l->shape[d];
        assert_ptr_equal(mv_layout_at(l, idx), want);
        assert_ptr_equal(mv_layout_at(l, neg), want);
        mv_value v;
        mv_error err;
        assert_int_equal(mv_layout_get_item(l, idx, l->ndim, &v, 1, &err), 0);
        assert_int_equal(v.kind, MV_VALUE_SIGNED);
        assert_int_equal(v.v.i, read_i32(want));
        count++;
    } while (l->ndim > 0 && next_index(l->ndim, l->shape, idx));
    assert_int_equal(count * 4, l->len);
}

static void many_dimensions(void **state)
{
    (void)state;
    static int32_t arr[64];
    for (int k = 0; k < 64; k++)
        arr[k] = 1000 + k;
    mv_error err;

    /* Nine dimensions {2, 1, 2, 1, 2, 1, 2, 1, 2} of 'i', dimensions 0 and
     * 4 reversed: buf is the item the reversed dimensions start from. */
    ptrdiff_t sh9[] = {2, 1, 2, 1, 2, 1, 2, 1, 2};
    ptrdiff_t st9[] = {-64, 64, 32, 32, -16, 16, 8, 8, 4};
    char *buf9 = (char *)arr + 64 + 16;
    mv_buffer b9 = desc(buf9, "i", 4, 9, sh9, st9, 0);
    mv_layout l9;
    poison(&l9);
    noalloc_begin();
    int rc = mv_layout_from_buffer(&l9, &b9, &err);
    long failed = noalloc_end();
    assert_int_equal(rc, 0);
    assert_int_equal(failed, 0);
    expect_layout(&l9, buf9, 4, 9, sh9, st9);
    assert_int_equal(l9.contig, 0);
    expect_items_i32(&l9, buf9, st9);
    /* A write lands where the strides say: [1, 0, 1, 0, 0, 0, 1, 0, 1]. */
    ptrdiff_t w9[] = {1, 0, 1, 0, 0, 0, 1, 0, 1};
    mv_value w = v_int(-99);
    assert_int_equal(mv_layout_set_item(&l9, w9, 9, &w, 1, &err), 0);
    assert_int_equal(arr[(64 + 16 - 64 + 32 + 8 + 4) / 4], -99);
    arr[(64 + 16 - 64 + 32 + 8 + 4) / 4] = 1000 + (64 + 16 - 64 + 32 + 8 + 4) / 4;
    /* Too few or too many indices: the view's messages. */
    expect_error(mv_layout_get_item(&l9, w9, 8, &w, 1, &err), &err, MV_ENOTIMPL, MSG_SUBVIEWS);
    ptrdiff_t i10[10] = {0};
    expect_error(mv_layout_get_item(&l9, i10, 10, &w, 1, &err), &err, MV_ETYPE,
                 "cannot index 9-dimension view with 10-element tuple");
    w9[8] = 2;
    expect_error(mv_layout_get_item(&l9, w9, 9, &w, 1, &err), &err, MV_EINDEX,
                 "index out of bounds on dimension 9");
    assert_null(mv_layout_at(&l9, w9));
    w9[8] = 1;

    /* l9[1, ..., ::-1]: eight dimensions, dimension 0 fixed at 1 and the
     * last reversed. */
    mv_key k1[] = {ki(1), KE, ks(4, 0, 0, -1)};
    mv_layout s1;
    poison(&s1);
    noalloc_begin();
    rc = mv_layout_select(&s1, &l9, k1, 3, &err);
    failed = noalloc_end();
    assert_int_equal(rc, 0);
    assert_int_equal(failed, 0);
    ptrdiff_t sh8[] = {1, 2, 1, 2, 1, 2, 1, 2}, st8[] = {64, 32, 32, -16, 16, 8, 8, -4};
    expect_layout(&s1, buf9 - 64 + 4, 4, 8, sh8, st8);
    expect_items_i32(&s1, buf9 - 64 + 4, st8);
    /* ... and in place. */
    mv_layout self = l9;
    assert_int_equal(mv_layout_select(&self, &self, k1, 3, &err), 0);
    assert_layout_equal(&self, &s1);

    /* New axes up to 64 dimensions: 55 new and the nine; one more is
     * refused with the view's message, the layout unchanged. */
    mv_key many[64];
    for (int k = 0; k < 64; k++)
        many[k] = KN;
    many[0] = KE;
    mv_layout s64;
    poison(&s64);
    assert_int_equal(mv_layout_select(&s64, &l9, many, 56, &err), 0);
    assert_int_equal(s64.ndim, 64);
    ptrdiff_t sh64n[64], st64n[64];
    for (int d = 0; d < 64; d++) {
        sh64n[d] = d < 9 ? sh9[d] : 1;
        st64n[d] = d < 9 ? st9[d] : 0;
    }
    expect_layout(&s64, buf9, 4, 64, sh64n, st64n);
    expect_items_i32(&s64, buf9, st64n);
    mv_layout keep = l9;
    poison(&s64);
    expect_error(mv_layout_select(&s64, &l9, many, 57, &err), &err, MV_EVALUE, MSG_NDIM64);
    assert_poisoned(&s64);
    expect_error(mv_layout_select(&keep, &keep, many, 57, &err), &err, MV_EVALUE, MSG_NDIM64);
    assert_memory_equal(&keep, &l9, sizeof keep);

    /* 64 dimensions of 'i' in Fortran order: extent 2 at dimensions 0, 13,
     * 27, 40, 51 and 63, extent 1 elsewhere with strides that no address
     * uses (any value fits an extent of 1). */
    const int twos[] = {0, 13, 27, 40, 51, 63};
    ptrdiff_t sh64[64], st64[64];
    for (int d = 0; d < 64; d++) {
        sh64[d] = 1;
        st64[d] = 4000 * (d + 1);
    }
    for (int t = 0; t < 6; t++) {
        sh64[twos[t]] = 2;
        st64[twos[t]] = (ptrdiff_t)4 << t;
    }
    mv_buffer b64 = desc(arr, "i", 4, 64, sh64, st64, 0);
    mv_layout l64;
    poison(&l64);
    noalloc_begin();
    rc = mv_layout_from_buffer(&l64, &b64, &err);
    failed = noalloc_end();
    assert_int_equal(rc, 0);
    assert_int_equal(failed, 0);
    expect_layout(&l64, arr, 4, 64, sh64, st64);
    assert_int_equal(l64.contig, MV_CONTIG_F); /* the extents of 1 aside */
    expect_items_i32(&l64, (char *)arr, st64);
    /* Each item's value tells its index: arr[k] with k's bits the indices
     * at twos[0..5]. */
    ptrdiff_t idx[64] = {0};
    for (int k = 0; k < 64; k++) {
        for (int t = 0; t < 6; t++)
            idx[twos[t]] = (k >> t) & 1;
        mv_value v;
        assert_int_equal(mv_layout_get_item(&l64, idx, 64, &v, 1, &err), 0);
        assert_int_equal(v.v.i, 1000 + k);
    }
    for (int t = 0; t < 6; t++)
        idx[twos[t]] = (t + 1) % 2; /* k = 0b010101 = 21 */
    w = v_int(-64);
    assert_int_equal(mv_layout_set_item(&l64, idx, 64, &w, 1, &err), 0);
    assert_int_equal(arr[21], -64);
    arr[21] = 1021;
    assert_null(mv_layout_at(&l64, NULL));
    assert_null(mv_layout_at1(&l64, 0));

    /* l64[..., -1]: 63 dimensions, the last fixed at 1 (arr + 128). */
    mv_key k2[] = {KE, ki(-1)};
    mv_layout s2;
    assert_int_equal(mv_layout_select(&s2, &l64, k2, 2, &err), 0);
    expect_layout(&s2, arr + 32, 4, 63, sh64, st64);
    expect_items_i32(&s2, (char *)(arr + 32), st64);
    /* l64[::-1, ...]: dimension 0 reversed. */
    mv_key k3[] = {ks(4, 0, 0, -1), KE};
    assert_int_equal(mv_layout_select(&s2, &l64, k3, 2, &err), 0);
    ptrdiff_t st64r[64];
    memcpy(st64r, st64, sizeof st64r);
    st64r[0] = -4;
    expect_layout(&s2, arr + 1, 4, 64, sh64, st64r);
    expect_items_i32(&s2, (char *)(arr + 1), st64r);
    /* A new axis is one too many; with an index it fits. */
    mv_key k4[] = {KN, ki(1)};
    expect_error(mv_layout_select(&s2, &l64, k4, 1, &err), &err, MV_EVALUE, MSG_NDIM64);
    assert_int_equal(mv_layout_select(&s2, &l64, k4, 2, &err), 0);
    assert_int_equal(s2.ndim, 64);
    assert_ptr_equal(s2.buf, arr + 1);
    assert_int_equal(s2.shape[0], 1);

    /* As views: the layouts over a view of arr become views again. */
    mv_view *base = view_1d(arr, "B", 1, 256, 0);
    mv_view *v9 = view_of_layout(base, &l9);
    mv_view *v64 = view_of_layout(base, &l64);
    assert_int_equal(mv_view_buffer(v9, &err)->ndim, 9);
    assert_int_equal(mv_view_buffer(v64, &err)->ndim, 64);
    mv_decref(mv_view_object(v9));
    mv_decref(mv_view_object(v64));
    mv_decref(mv_view_object(base));
}

/* ------------------------------------------------------------------------ */
/* Indirect layouts (suboffsets; spans refused them)                        */
/* ------------------------------------------------------------------------ */

/* A PIL-style array as CPython's test_buffer builds them: a table of row
 * pointers (dimension 0, stride sizeof(char *), suboffset into each row),
 * the rows themselves elsewhere and in another order.  Here 4 rows of 5
 * int16 items, row i being data[perm[i]] from its item 1 on (suboffset 2
 * bytes): item (i, j) is data[perm[i]][1 + j], which holds
 * 100 * perm[i] + 1 + j. */
typedef struct pil {
    int16_t data[4][8];
    char *rows[4];
    ptrdiff_t shape[2], strides[2], suboffsets[2];
} pil;

static const int pil_perm[4] = {2, 0, 3, 1};

static void pil_init(pil *p)
{
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 8; c++)
            p->data[r][c] = (int16_t)(100 * r + c);
    for (int i = 0; i < 4; i++)
        p->rows[i] = (char *)p->data[pil_perm[i]];
    p->shape[0] = 4;
    p->shape[1] = 5;
    p->strides[0] = (ptrdiff_t)sizeof(char *);
    p->strides[1] = 2;
    p->suboffsets[0] = 2;
    p->suboffsets[1] = -1;
}

static mv_buffer pil_desc(pil *p, int readonly)
{
    mv_buffer b = desc(p->rows, "h", 2, 2, p->shape, p->strides, readonly);
    b.suboffsets = p->suboffsets;
    return b;
}

/* Item (i, j) of the array, i and j in range: the test's own address. */
static int16_t *pil_item(pil *p, ptrdiff_t i, ptrdiff_t j)
{
    return &p->data[pil_perm[i]][1 + j];
}

/* Every item of out (ndim <= 2) against want(i, j) given as source row and
 * column (row_of / col_of: maps from the output index), through
 * mv_layout_at, mv_layout_at1 (1-D), get_item, and mv_buffer_get_pointer
 * on mv_layout_buffer's descriptor. */
typedef struct pil_map {
    ptrdiff_t row0, row_step; /* source row of output index (r, ...) */
    ptrdiff_t col0, col_step; /* source column of the last output index */
    int row_dim, col_dim;     /* output dimension of each, or -1: fixed */
} pil_map;

static void expect_pil_items(pil *p, const mv_layout *out, const pil_map *m)
{
    ptrdiff_t idx[MV_MAX_NDIM] = {0}, neg[MV_MAX_NDIM];
    mv_buffer b;
    mv_layout_buffer(out, &b);
    ptrdiff_t count = 0;
    if (out->len == 0)
        return;
    do {
        ptrdiff_t r = m->row0 + (m->row_dim >= 0 ? idx[m->row_dim] * m->row_step : 0);
        ptrdiff_t c = m->col0 + (m->col_dim >= 0 ? idx[m->col_dim] * m->col_step : 0);
        int16_t *want = pil_item(p, r, c);
        for (int d = 0; d < out->ndim; d++)
            neg[d] = idx[d] - out->shape[d];
        mv_error err;
        assert_ptr_equal(mv_layout_at(out, idx), want);
        assert_ptr_equal(mv_layout_at(out, neg), want);
        if (out->ndim == 1) {
            assert_ptr_equal(mv_layout_at1(out, idx[0]), want);
            assert_ptr_equal(mv_layout_at1(out, neg[0]), want);
        }
        assert_ptr_equal(mv_buffer_get_pointer(&b, idx, &err), want);
        mv_value v;
        assert_int_equal(mv_layout_get_item(out, idx, out->ndim, &v, 1, &err), 0);
        assert_int_equal(v.kind, MV_VALUE_SIGNED);
        assert_int_equal(v.v.i, 100 * pil_perm[r] + 1 + c);
        count++;
    } while (out->ndim > 0 && next_index(out->ndim, out->shape, idx));
    assert_int_equal(count * 2, out->len);
}

/* sel = l[keys] (no allocation, also in place), the same as the PIL
 * view's subscript, with the items m says. */
static mv_layout pil_select(pil *p, const mv_layout *l, mv_view *view, const mv_key *keys,
                            int nkeys, const pil_map *m)
{
    mv_layout out;
    mv_error err;
    poison(&out);
    noalloc_begin();
    int rc = mv_layout_select(&out, l, keys, nkeys, &err);
    long failed = noalloc_end();
    if (rc != 0)
        fail_msg("select: %s", err.message);
    assert_int_equal(failed, 0);
    check_contig(&out);
    expect_pil_items(p, &out, m);
    mv_layout self = *l;
    assert_int_equal(mv_layout_select(&self, &self, keys, nkeys, &err), 0);
    assert_layout_equal(&self, &out);
    mv_view *sub = mv_view_subscript(view, keys, nkeys, &err);
    if (!sub)
        fail_msg("the view's subscript: %s", err.message);
    assert_layout_is_view(&out, sub);
    mv_decref(mv_view_object(sub));
    return out;
}

static void indirect_layouts(void **state)
{
    (void)state;
    static pil p;
    pil_init(&p);
    mv_buffer b = pil_desc(&p, 0);
    mv_error err;

    /* from_buffer keeps the suboffsets: indirect, contiguous in no order. */
    mv_layout l;
    poison(&l);
    noalloc_begin();
    int rc = mv_layout_from_buffer(&l, &b, &err);
    long failed = noalloc_end();
    assert_int_equal(rc, 0);
    assert_int_equal(failed, 0);
    assert_ptr_equal(l.buf, p.rows);
    assert_int_equal(l.ndim, 2);
    assert_int_equal(l.itemsize, 2);
    assert_int_equal(l.len, 40);
    assert_string_equal(l.format, "h");
    assert_false(l.readonly);
    assert_true(l.indirect);
    for (int d = 0; d < 2; d++) {
        assert_int_equal(l.shape[d], p.shape[d]);
        assert_int_equal(l.strides[d], p.strides[d]);
        assert_int_equal(l.suboffsets[d], p.suboffsets[d]);
    }
    assert_int_equal(l.contig, 0);
    assert_int_equal(mv_layout_is_contiguous(&l, 'C'), 0);
    assert_int_equal(mv_layout_is_contiguous(&l, 'F'), 0);
    assert_int_equal(mv_layout_is_contiguous(&l, 'A'), 0);
    check_contig(&l);

    /* Every item through the row pointers. */
    const pil_map whole = {0, 1, 0, 1, 0, 1};
    expect_pil_items(&p, &l, &whole);
    ptrdiff_t bad[] = {4, 0}, bad2[] = {0, -6};
    mv_value v;
    expect_error(mv_layout_get_item(&l, bad, 2, &v, 1, &err), &err, MV_EINDEX,
                 "index out of bounds on dimension 1");
    expect_error(mv_layout_get_item(&l, bad2, 2, &v, 1, &err), &err, MV_EINDEX,
                 "index out of bounds on dimension 2");
    assert_null(mv_layout_at(&l, bad));
    assert_null(mv_layout_at(&l, bad2));
    assert_null(mv_layout_at1(&l, 0));
    /* A write lands in the row the pointer leads to. */
    ptrdiff_t i23[] = {2, 3};
    mv_value w = v_int(-7);
    assert_int_equal(mv_layout_set_item(&l, i23, 2, &w, 1, &err), 0);
    assert_int_equal(p.data[3][4], -7);
    p.data[3][4] = 304;
    /* Read-only: refused, nothing written. */
    mv_buffer rb = pil_desc(&p, 1);
    mv_layout lr = layout_of(&rb);
    assert_true(lr.readonly);
    assert_true(lr.indirect);
    expect_error(mv_layout_set_item(&lr, i23, 2, &w, 1, &err), &err, MV_ETYPE, MSG_READONLY);
    assert_int_equal(p.data[3][4], 304);

    /* A view of the same descriptor: its layout is this one. */
    mv_view *view = view_layout(p.rows, "h", 2, 2, p.shape, p.strides, p.suboffsets, 0);
    mv_layout lv;
    poison(&lv);
    assert_int_equal(mv_view_layout(&lv, view, &err), 0);
    assert_layout_equal(&lv, &l);
    assert_layout_is_view(&l, view);

    /* mv_layout_buffer hands out the suboffsets; from_buffer takes them
     * back. */
    mv_buffer lb;
    mv_layout_buffer(&l, &lb);
    assert_ptr_equal(lb.suboffsets, l.suboffsets);
    assert_int_equal(mv_buffer_is_contiguous(&lb, 'A'), 0);
    mv_layout back = layout_of(&lb);
    assert_layout_equal(&back, &l);

    /* Selection.  l[::-1]: the rows reversed (a negative step on the
     * indirect dimension): the table walked backwards from its last
     * entry, the suboffset as it was. */
    mv_key k_rev = ks(4, 0, 0, -1);
    const pil_map rev = {3, -1, 0, 1, 0, 1};
    mv_layout s = pil_select(&p, &l, view, &k_rev, 1, &rev);
    assert_true(s.indirect);
    assert_ptr_equal(s.buf, &p.rows[3]);
    assert_int_equal(s.shape[0], 4);
    assert_int_equal(s.strides[0], -(ptrdiff_t)sizeof(char *));
    assert_int_equal(s.suboffsets[0], 2);
    assert_int_equal(s.shape[1], 5);
    assert_int_equal(s.strides[1], 2);
    /* l[3::-2]: rows 3 and 1. */
    mv_key k_rev2 = ks(5, 3, 0, -2);
    const pil_map rev2 = {3, -2, 0, 1, 0, 1};
    s = pil_select(&p, &l, view, &k_rev2, 1, &rev2);
    assert_true(s.indirect);
    assert_ptr_equal(s.buf, &p.rows[3]);
    assert_int_equal(s.shape[0], 2);
    assert_int_equal(s.strides[0], -2 * (ptrdiff_t)sizeof(char *));
    /* l[:, 4::-2]: columns 4, 2, 0 of every row (the offset goes after the
     * pointer). */
    mv_key k_cols[] = {KALL, ks(5, 4, 0, -2)};
    const pil_map cols = {0, 1, 4, -2, 0, 1};
    s = pil_select(&p, &l, view, k_cols, 2, &cols);
    assert_true(s.indirect);
    assert_int_equal(s.shape[0], 4);
    assert_int_equal(s.shape[1], 3);
    assert_int_equal(s.strides[1], -4);
    /* ... and a write through it: (1, 1) is row 1's column 2. */
    ptrdiff_t i11[] = {1, 1};
    assert_int_equal(mv_layout_set_item(&s, i11, 2, &w, 1, &err), 0);
    assert_int_equal(*pil_item(&p, 1, 2), -7);
    *pil_item(&p, 1, 2) = (int16_t)(100 * pil_perm[1] + 3);
    /* l[::-1, ::-1]: both reversed. */
    mv_key k_both[] = {ks(4, 0, 0, -1), ks(4, 0, 0, -1)};
    const pil_map both = {3, -1, 4, -1, 0, 1};
    s = pil_select(&p, &l, view, k_both, 2, &both);
    assert_true(s.indirect);
    /* ... then selected again: s[1:3, 3] is rows 2, 1 at column 1. */
    mv_key k_again[] = {ks(3, 1, 3, 0), ki(3)};
    const pil_map again = {2, -1, 1, 0, 0, -1};
    mv_layout s2;
    assert_int_equal(mv_layout_select(&s2, &s, k_again, 2, &err), 0);
    assert_int_equal(s2.ndim, 1);
    assert_int_equal(s2.shape[0], 2);
    expect_pil_items(&p, &s2, &again);
    /* l[2]: row 2 through its pointer (direct from there): data[3][1:6]. */
    mv_key k_row = ki(2);
    const pil_map row = {2, 0, 0, 1, -1, 0};
    s = pil_select(&p, &l, view, &k_row, 1, &row);
    assert_int_equal(s.ndim, 1);
    assert_ptr_equal(s.buf, &p.data[3][1]);
    assert_int_equal(s.shape[0], 5);
    assert_int_equal(s.strides[0], 2);
    /* l[-1, 4::-2]: row 3's (data[1]) columns 4, 2, 0. */
    mv_key k_rowcols[] = {ki(-1), ks(5, 4, 0, -2)};
    const pil_map rowcols = {3, 0, 4, -2, -1, 0};
    s = pil_select(&p, &l, view, k_rowcols, 2, &rowcols);
    assert_ptr_equal(s.buf, &p.data[1][5]);
    /* l[:, 3]: column 3 of every row, still through the pointers. */
    mv_key k_col[] = {KALL, ki(3)};
    const pil_map col = {0, 1, 3, 0, 0, -1};
    s = pil_select(&p, &l, view, k_col, 2, &col);
    assert_true(s.indirect);
    assert_int_equal(s.ndim, 1);
    assert_int_equal(s.shape[0], 4);
    assert_int_equal(s.strides[0], (ptrdiff_t)sizeof(char *));
    /* l[newaxis, 1::2, ...]: rows 1 and 3 under a new axis. */
    mv_key k_new[] = {KN, ks(5, 1, 0, 2), KE};
    const pil_map newaxis = {1, 2, 0, 1, 1, 2};
    s = pil_select(&p, &l, view, k_new, 3, &newaxis);
    assert_true(s.indirect);
    assert_int_equal(s.ndim, 3);
    assert_int_equal(s.shape[0], 1);
    /* l[2:2]: no items (nothing is followed). */
    mv_key k_empty = ks(3, 2, 2, 0);
    const pil_map none = {0, 1, 0, 1, 0, 1};
    s = pil_select(&p, &l, view, &k_empty, 1, &none);
    assert_int_equal(s.shape[0], 0);
    assert_int_equal(s.len, 0);
    ptrdiff_t i00[] = {0, 0};
    assert_null(mv_layout_at(&s, i00));
    /* Errors leave out alone. */
    mv_key k_out = ki(4);
    mv_layout o;
    poison(&o);
    expect_error(mv_layout_select(&o, &l, &k_out, 1, &err), &err, MV_EINDEX,
                 "index out of bounds on dimension 1");
    assert_poisoned(&o);

    /* Casts refuse it as the view's cast does: not contiguous. */
    const int flags[] = {0, MV_CAST_STRICT, MV_CAST_FORTRAN};
    const char *msgs[] = {MSG_CAST_C_OR_F, MSG_CAST_C, MSG_CAST_C_OR_F};
    for (int f = 0; f < 3; f++) {
        poison(&o);
        expect_error(mv_layout_cast(&o, &l, "B", NULL, -1, flags[f], &err), &err, MV_ETYPE,
                     msgs[f]);
        assert_poisoned(&o);
        mv_error verr;
        assert_null(mv_view_cast(view, "B", NULL, -1, flags[f], &verr));
        assert_int_equal(verr.code, err.code);
        assert_string_equal(verr.message, err.message);
        mv_layout self = l;
        expect_error(mv_layout_cast(&self, &self, "h", NULL, -1, flags[f], &err), &err, MV_ETYPE,
                     msgs[f]);
        assert_memory_equal(&self, &l, sizeof self);
    }
    /* ... also once reversed. */
    s = pil_select(&p, &l, view, &k_rev, 1, &rev);
    poison(&o);
    expect_error(mv_layout_cast(&o, &s, "B", NULL, -1, 0, &err), &err, MV_ETYPE, MSG_CAST_C_OR_F);
    assert_poisoned(&o);

    /* No view can be made of it: where it lies depends on the pointers. */
    mv_object *ba;
    unsigned char *bdata;
    mv_view *base = bytearray_view(64, &ba, &bdata);
    expect_from_layout_error(base, &l, MV_EVALUE, MSG_INDIRECT);
    expect_from_layout_error(view, &l, MV_EVALUE, MSG_INDIRECT);
    expect_from_layout_error(view, &lr, MV_EVALUE, MSG_INDIRECT);
    mv_decref(mv_view_object(base));
    mv_decref(ba);
    mv_decref(mv_view_object(view));
}

/* One dimension of int32 cells through pointers with a suboffset of 4:
 * item i is cells[perm[i]][1]; mv_layout_at1 follows the pointer. */
static void indirect_one_dimension(void **state)
{
    (void)state;
    static int32_t cells[6][2];
    static const int perm[6] = {4, 1, 5, 0, 3, 2};
    char *ptrs[6];
    for (int k = 0; k < 6; k++) {
        cells[k][0] = -1;
        cells[k][1] = 10 * k + 7;
    }
    for (int i = 0; i < 6; i++)
        ptrs[i] = (char *)cells[perm[i]];
    ptrdiff_t shape[] = {6}, strides[] = {(ptrdiff_t)sizeof(char *)}, subs[] = {4};
    mv_buffer b = desc(ptrs, "i", 4, 1, shape, strides, 0);
    b.suboffsets = subs;
    mv_layout l = layout_of(&b);
    assert_true(l.indirect);
    assert_int_equal(l.suboffsets[0], 4);
    assert_int_equal(l.contig, 0);
    check_contig(&l);
    mv_error err;
    for (ptrdiff_t i = -6; i < 6; i++) {
        ptrdiff_t j = i < 0 ? i + 6 : i;
        assert_ptr_equal(mv_layout_at1(&l, i), &cells[perm[j]][1]);
        assert_ptr_equal(mv_layout_at(&l, &i), &cells[perm[j]][1]);
        mv_value v;
        assert_int_equal(mv_layout_get_item(&l, &i, 1, &v, 1, &err), 0);
        assert_int_equal(v.v.i, 10 * perm[j] + 7);
    }
    assert_null(mv_layout_at1(&l, 6));
    assert_null(mv_layout_at1(&l, -7));
    ptrdiff_t i2 = 2;
    mv_value w = v_int(-5);
    assert_int_equal(mv_layout_set_item(&l, &i2, 1, &w, 1, &err), 0);
    assert_int_equal(cells[perm[2]][1], -5);
    assert_int_equal(cells[perm[2]][0], -1);
    cells[perm[2]][1] = 10 * perm[2] + 7;
    /* l[4::-2]: items 4, 2, 0. */
    mv_key k = ks(5, 4, 0, -2);
    mv_layout s;
    assert_int_equal(mv_layout_select(&s, &l, &k, 1, &err), 0);
    assert_true(s.indirect);
    assert_int_equal(s.shape[0], 3);
    assert_int_equal(s.strides[0], -2 * (ptrdiff_t)sizeof(char *));
    assert_ptr_equal(s.buf, &ptrs[4]);
    for (ptrdiff_t i = 0; i < 3; i++) {
        assert_ptr_equal(mv_layout_at1(&s, i), &cells[perm[4 - 2 * i]][1]);
        mv_value v;
        assert_int_equal(mv_layout_get_item(&s, &i, 1, &v, 1, &err), 0);
        assert_int_equal(v.v.i, 10 * perm[4 - 2 * i] + 7);
    }
    /* l[3]: 0-dim, the pointer followed. */
    mv_key k3 = ki(3);
    assert_int_equal(mv_layout_select(&s, &l, &k3, 1, &err), 0);
    assert_int_equal(s.ndim, 0);
    assert_ptr_equal(s.buf, &cells[perm[3]][1]);
    assert_ptr_equal(mv_layout_at(&s, NULL), &cells[perm[3]][1]);
    /* Casts and views refuse it. */
    mv_layout o;
    poison(&o);
    expect_error(mv_layout_cast(&o, &l, "B", NULL, -1, MV_CAST_STRICT, &err), &err, MV_ETYPE,
                 MSG_CAST_C);
    assert_poisoned(&o);
    mv_view *v = view_layout(ptrs, "i", 4, 1, shape, strides, subs, 0);
    expect_from_layout_error(v, &l, MV_EVALUE, MSG_INDIRECT);
    mv_layout vl;
    assert_int_equal(mv_view_layout(&vl, v, &err), 0);
    assert_layout_equal(&vl, &l);
    mv_decref(mv_view_object(v));
}

/* Random keys on a 3-D PIL-style layout (dimension 0 through row
 * pointers, rows of 3 x 4 int32 laid out in any order and direction)
 * against the slicing model: the same shape, strides and errors, and every
 * item where the test's own pointer table leads (the offsets of the later
 * dimensions go after the pointer, whatever their sign). */
static void select_indirect_random(void **state)
{
    (void)state;
    static int32_t blocks[5][12];
    long ok = 0, errors = 0, kept = 0;
    for (int round = 0; round < 2000; round++) {
        for (int k = 0; k < 5; k++)
            for (int q = 0; q < 12; q++)
                blocks[k][q] = 1000 * k + q;
        ptrdiff_t shape[3];
        shape[0] = rng_below(&gen, 100) < 3 ? 0 : rng_between(&gen, 1, 5);
        shape[1] = rng_below(&gen, 100) < 3 ? 0 : rng_between(&gen, 1, 3);
        shape[2] = rng_below(&gen, 100) < 3 ? 0 : rng_between(&gen, 1, 4);
        /* Within a row: C or Fortran order over 3 x 4 ints, either sign. */
        bool fortran = rng_below(&gen, 2) != 0;
        ptrdiff_t strides[3] = {(ptrdiff_t)sizeof(char *), fortran ? 4 : 16, fortran ? 12 : 4};
        ptrdiff_t sub0 = 0;
        for (int d = 1; d < 3; d++)
            if (rng_below(&gen, 2)) {
                strides[d] = -strides[d];
                sub0 += -strides[d] * (shape[d] > 0 ? shape[d] - 1 : 0);
            }
        int perm[5] = {0, 1, 2, 3, 4};
        for (int r = 4; r > 0; r--) {
            int j = (int)rng_below(&gen, r + 1);
            int t = perm[r];
            perm[r] = perm[j];
            perm[j] = t;
        }
        char *rows[5];
        for (int r = 0; r < 5; r++)
            rows[r] = (char *)blocks[perm[r]];
        ptrdiff_t subs[3] = {sub0, -1, -1};
        int readonly = rng_below(&gen, 4) == 0;
        mv_buffer b = desc(rows, "i", 4, 3, shape, strides, readonly);
        b.suboffsets = subs;
        mv_layout l = layout_of(&b);
        assert_true(l.indirect);
        mv_view *view = view_layout(rows, "i", 4, 3, shape, strides, subs, readonly);

        model_layout src;
        memset(&src, 0, sizeof src);
        src.ndim = 3;
        for (int d = 0; d < 3; d++) {
            src.shape[d] = shape[d];
            src.strides[d] = strides[d];
        }
        mv_key keys[8];
        int nkeys;
        random_keys(keys, &nkeys, 6, 3);
        model m;
        model_apply(&src, keys, nkeys, &m);

        mv_layout out;
        mv_error err, verr;
        poison(&out);
        mv_error_clear(&err);
        noalloc_begin();
        int rc = mv_layout_select(&out, &l, nkeys ? keys : NULL, nkeys, &err);
        long failed = noalloc_end();
        assert_int_equal(failed, 0);
        mv_view *sub = mv_view_subscript(view, nkeys ? keys : NULL, nkeys, &verr);
        if (m.code != 0) {
            errors++;
            if (rc != m.code || strcmp(err.message, m.msg) != 0)
                fail_msg("model says %d '%s', layout %d '%s'", m.code, m.msg, rc, err.message);
            assert_poisoned(&out);
            assert_null(sub);
            assert_string_equal(verr.message, m.msg);
            mv_decref(mv_view_object(view));
            continue;
        }
        if (rc != 0)
            fail_msg("layout refused what the model takes: %s", err.message);
        ok++;
        assert_non_null(sub);
        assert_layout_is_view(&out, sub);
        mv_decref(mv_view_object(sub));
        assert_int_equal(out.ndim, m.out.ndim);
        assert_int_equal(out.readonly, readonly != 0);
        bool keeps_rows = false;
        for (int o = 0; o < out.ndim; o++) {
            assert_int_equal(out.shape[o], m.out.shape[o]);
            if (m.out.shape[o] > 1)
                assert_int_equal(out.strides[o], m.out.strides[o]);
            keeps_rows |= m.src_of[o] == 0;
        }
        if (keeps_rows) {
            kept++;
            assert_true(out.indirect);
        }
        check_contig(&out);
        /* Every item: where the pointer table leads. */
        ptrdiff_t count = product(out.ndim, out.shape);
        ptrdiff_t idx[MODEL_MAX] = {0}, neg[MODEL_MAX];
        for (ptrdiff_t c = 0; c < count; c++) {
            ptrdiff_t sidx[3];
            for (int d = 0; d < 3; d++)
                sidx[d] = m.base[d];
            for (int o = 0; o < out.ndim; o++)
                if (m.src_of[o] >= 0)
                    sidx[m.src_of[o]] = m.start[o] + idx[o] * m.step[o];
            char *want = rows[sidx[0]] + sub0 + sidx[1] * strides[1] + sidx[2] * strides[2];
            for (int o = 0; o < out.ndim; o++)
                neg[o] = idx[o] - out.shape[o];
            assert_ptr_equal(mv_layout_at(&out, idx), want);
            assert_ptr_equal(mv_layout_at(&out, neg), want);
            if (out.ndim == 1)
                assert_ptr_equal(mv_layout_at1(&out, idx[0]), want);
            mv_value v;
            assert_int_equal(mv_layout_get_item(&out, idx, out.ndim, &v, 1, &err), 0);
            assert_int_equal(v.v.i, 1000 * perm[sidx[0]] + (want - rows[sidx[0]]) / 4);
            for (int o = out.ndim - 1; o >= 0; o--) {
                if (++idx[o] < out.shape[o])
                    break;
                idx[o] = 0;
            }
        }
        /* One write through the layout lands there too. */
        if (count > 0 && !readonly) {
            for (int o = 0; o < out.ndim; o++)
                idx[o] = rng_below(&gen, out.shape[o]);
            int32_t *p = mv_layout_at(&out, idx);
            mv_value w = v_int(-1);
            assert_int_equal(mv_layout_set_item(&out, idx, out.ndim, &w, 1, &err), 0);
            assert_int_equal(*p, -1);
            int written = 0;
            for (int k = 0; k < 5; k++)
                for (int q = 0; q < 12; q++)
                    written += blocks[k][q] == -1;
            assert_int_equal(written, 1);
        }
        /* Indirect results are never castable; direct ones as the view
         * says (checked with every other cast elsewhere). */
        if (out.indirect) {
            mv_layout o;
            poison(&o);
            assert_int_equal(mv_layout_cast(&o, &out, "B", NULL, -1, 0, &err), MV_ETYPE);
            assert_poisoned(&o);
        }
        mv_decref(mv_view_object(view));
    }
    assert_true(ok > 1000);
    assert_true(errors > 100);
    assert_true(kept > 500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(from_bytearray),
        cmocka_unit_test(from_buffer_layouts),
        cmocka_unit_test(from_external_layout),
        cmocka_unit_test(items_by_format),
        cmocka_unit_test(from_buffer_errors),
        cmocka_unit_test(acquire_plain),
        cmocka_unit_test(acquire_other_exporters),
        cmocka_unit_test(acquire_errors),
        cmocka_unit_test(acquire_no_allocations),
        cmocka_unit_test(from_view_cases),
        cmocka_unit_test(from_view_unparseable_format),
        cmocka_unit_test(items_native),
        cmocka_unit_test(items_nonnative),
        cmocka_unit_test(item_errors),
        cmocka_unit_test(hand_made_bad_ndim),
        cmocka_unit_test(slice_by_hand),
        cmocka_unit_test(slice_errors),
        cmocka_unit_test(slice_random),
        cmocka_unit_test(layout_buffer_round_trip),
        cmocka_unit_test(assign_from_layout),
        cmocka_unit_test(no_allocations),
        cmocka_unit_test(no_allocations_nd_from_buffer),
        cmocka_unit_test(format_null_wide_items),
        cmocka_unit_test(strides_without_shape),
        cmocka_unit_test(address_space_without_shape),
        cmocka_unit_test(cast_matches_view_cast),
        cmocka_unit_test(cast_by_hand),
        cmocka_unit_test(cast_errors),
        cmocka_unit_test(view_from_layout_round_trip),
        cmocka_unit_test(view_from_layout_outlives_base),
        cmocka_unit_test(view_from_layout_errors),
        cmocka_unit_test(view_from_layout_unparseable),
        cmocka_unit_test(cast_no_allocations),
        cmocka_unit_test(cast_alloc_sweep),
        cmocka_unit_test(view_from_layout_alloc_sweep),
        cmocka_unit_test(many_dimensions),
        cmocka_unit_test(indirect_layouts),
        cmocka_unit_test(indirect_one_dimension),
        cmocka_unit_test(select_indirect_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
