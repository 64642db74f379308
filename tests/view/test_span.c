/* Tests for src/span.c: spans, views held by value.
 *
 * Expected results come from the test itself: item addresses are written
 * out as base + index * stride, item values are what the test stored with
 * memcpy / put_uint, slices follow slice.indices() written out longhand in
 * a small NumPy-indexing model (model_apply below), and every slice is also
 * checked against mv_view_subscript on a view of the same memory, which
 * must give the same buf / shape / strides and the same errors.  Spans
 * must never allocate: the allocation countdown (support/failalloc.c) is
 * armed at zero around the calls that the header promises allocate
 * nothing. */
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

#define MSG_NULL        "span: NULL argument"
#define MSG_SUBOFFSETS  "span: indirect buffers (suboffsets) cannot be spans"
#define MSG_ITEMSIZE    "span: itemsize must be > 0"
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

#define SPAN_POISON 0xA7

static void poison(mv_span *s)
{
    memset(s, SPAN_POISON, sizeof *s);
}

/* *s still holds the poison pattern byte for byte. */
static void assert_poisoned(const mv_span *s)
{
    mv_span p;
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

/* Field by field (the arrays only up to ndim: the rest is unspecified). */
static void assert_span_equal(const mv_span *a, const mv_span *b)
{
    assert_ptr_equal(a->buf, b->buf);
    assert_int_equal(a->len, b->len);
    assert_int_equal(a->itemsize, b->itemsize);
    assert_non_null(a->format);
    assert_non_null(b->format);
    assert_string_equal(a->format, b->format);
    assert_int_equal(a->ndim, b->ndim);
    assert_int_equal(a->readonly, b->readonly);
    assert_int_equal(a->native, b->native);
    for (int d = 0; d < a->ndim; d++) {
        assert_int_equal(a->shape[d], b->shape[d]);
        assert_int_equal(a->strides[d], b->strides[d]);
    }
}

/* A span describes what the view's descriptor does. */
static void assert_span_is_view(const mv_span *s, mv_view *v)
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
    assert_null(b->suboffsets);
    for (int d = 0; d < s->ndim; d++) {
        assert_int_equal(s->shape[d], b->shape[d]);
        assert_int_equal(s->strides[d], b->strides[d]);
    }
}

/* The span's fields written out. */
static void expect_span(const mv_span *s, const void *buf, ptrdiff_t itemsize, int ndim,
                        const ptrdiff_t *shape, const ptrdiff_t *strides)
{
    assert_ptr_equal(s->buf, buf);
    assert_int_equal(s->itemsize, itemsize);
    assert_int_equal(s->ndim, ndim);
    ptrdiff_t n = itemsize;
    for (int d = 0; d < ndim; d++) {
        assert_int_equal(s->shape[d], shape[d]);
        assert_int_equal(s->strides[d], strides[d]);
        n *= shape[d];
    }
    assert_int_equal(s->len, n);
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

static mv_span span_of(const mv_buffer *b)
{
    mv_span s;
    mv_error err;
    poison(&s);
    int rc = mv_span_from_buffer(&s, b, &err);
    if (rc != 0)
        fail_msg("mv_span_from_buffer: %s", err.message);
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
        mv_span s;
        poison(&s);
        noalloc_begin();
        int rc = mv_span_from_buffer(&s, &b, &err);
        long failed = noalloc_end();
        assert_int_equal(rc, 0);
        assert_int_equal(failed, 0);
        /* Spans hold nothing: no count changes. */
        assert_int_equal(mv_object_refcount(ba), refs);
        assert_int_equal(mv_object_exports(ba), exports);

        ptrdiff_t shape[] = {10}, strides[] = {1};
        expect_span(&s, data, 1, 1, shape, strides);
        assert_string_equal(s.format, "B");
        assert_int_equal(s.native, 'B');
        assert_false(s.readonly);
        for (ptrdiff_t i = -10; i < 10; i++) {
            ptrdiff_t j = i < 0 ? i + 10 : i;
            assert_ptr_equal(mv_span_at1(&s, i), data + j);
            assert_ptr_equal(mv_span_at(&s, &i), data + j);
            mv_value v;
            assert_int_equal(mv_span_get_item(&s, &i, 1, &v, 1, &err), 0);
            assert_int_equal(v.kind, MV_VALUE_UNSIGNED);
            assert_int_equal(v.v.u, data[j]);
        }
        assert_null(mv_span_at1(&s, 10));
        assert_null(mv_span_at1(&s, -11));
        ptrdiff_t i7 = 7;
        mv_value w = {.kind = MV_VALUE_UNSIGNED, .v.u = 200 + (unsigned)r};
        assert_int_equal(mv_span_set_item(&s, &i7, 1, &w, 1, &err), 0);
        assert_int_equal(data[7], 200 + r);

        /* Slicing keeps the exporter's counts too. */
        mv_key k = ks(7, 8, 1, -3);
        mv_span t;
        noalloc_begin();
        rc = mv_span_slice(&t, &s, &k, 1, &err);
        failed = noalloc_end();
        assert_int_equal(rc, 0);
        assert_int_equal(failed, 0);
        ptrdiff_t tshape[] = {3}, tstrides[] = {-3};
        expect_span(&t, data + 8, 1, 1, tshape, tstrides);
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
    mv_span s = span_of(&b);
    ptrdiff_t st34[] = {16, 4};
    expect_span(&s, m, 4, 2, sh34, st34);
    assert_int_equal(s.native, 'i');
    assert_ptr_equal(s.format, b.format);

    /* 2-D with negative strides: the logical start is the last item. */
    ptrdiff_t nst[] = {-16, -4};
    b = desc(&m[11], "@i", 4, 2, sh34, nst, 1);
    s = span_of(&b);
    expect_span(&s, &m[11], 4, 2, sh34, nst);
    assert_true(s.readonly);
    assert_int_equal(s.native, 'i');
    for (ptrdiff_t i = -3; i < 3; i++)
        for (ptrdiff_t j = -4; j < 4; j++) {
            ptrdiff_t ii = i < 0 ? i + 3 : i, jj = j < 0 ? j + 4 : j;
            ptrdiff_t idx[] = {i, j};
            assert_ptr_equal(mv_span_at(&s, idx), base + 44 - 16 * ii - 4 * jj);
            mv_value v;
            mv_error err;
            assert_int_equal(mv_span_get_item(&s, idx, 2, &v, 1, &err), 0);
            assert_int_equal(v.kind, MV_VALUE_SIGNED);
            assert_int_equal(v.v.i, 1000 + 11 - 4 * ii - jj);
        }

    /* 3-D, Fortran order. */
    ptrdiff_t sh234[] = {2, 3, 4}, fst[] = {4, 8, 24};
    b = desc(m, "i", 4, 3, sh234, fst, 0);
    s = span_of(&b);
    expect_span(&s, m, 4, 3, sh234, fst);
    for (ptrdiff_t i = -2; i < 2; i++)
        for (ptrdiff_t j = -3; j < 3; j++)
            for (ptrdiff_t k = -4; k < 4; k++) {
                ptrdiff_t idx[] = {i, j, k};
                ptrdiff_t ii = (i + 2) % 2, jj = (j + 3) % 3, kk = (k + 4) % 4;
                assert_ptr_equal(mv_span_at(&s, idx), base + 4 * ii + 8 * jj + 24 * kk);
            }

    /* 0-dim: one item, no shape. */
    double x = 2.75;
    b = desc(&x, "d", 8, 0, NULL, NULL, 1);
    s = span_of(&b);
    assert_int_equal(s.ndim, 0);
    assert_int_equal(s.len, 8);
    assert_int_equal(s.native, 'd');
    assert_ptr_equal(mv_span_at(&s, NULL), &x);
    ptrdiff_t ignored = 99;
    assert_ptr_equal(mv_span_at(&s, &ignored), &x);
    assert_null(mv_span_at1(&s, 0));
    mv_value v;
    mv_error err;
    assert_int_equal(mv_span_get_item(&s, NULL, 0, &v, 1, &err), 0);
    assert_int_equal(v.kind, MV_VALUE_DOUBLE);
    assert_true(v.v.d == 2.75);

    /* Zero-length: buf NULL is fine, no item is reachable. */
    ptrdiff_t z0[] = {0};
    b = desc(NULL, "i", 4, 1, z0, NULL, 0);
    s = span_of(&b);
    assert_null(s.buf);
    assert_int_equal(s.len, 0);
    assert_int_equal(s.shape[0], 0);
    assert_null(mv_span_at1(&s, 0));
    assert_null(mv_span_at1(&s, -1));
    ptrdiff_t i0 = 0;
    expect_error(mv_span_get_item(&s, &i0, 1, &v, 1, &err), &err, MV_EINDEX,
                 "index out of bounds on dimension 1");
    ptrdiff_t z30[] = {3, 0}, zst[] = {123456, -77};
    b = desc(NULL, "d", 8, 2, z30, zst, 0);
    s = span_of(&b);
    expect_span(&s, NULL, 8, 2, z30, zst);
    ptrdiff_t i00[] = {0, 0};
    assert_null(mv_span_at(&s, i00));
    b = desc(m, "B", 1, 1, z0, NULL, 0);
    b.len = 0;
    s = span_of(&b);
    assert_int_equal(s.len, 0);
    assert_ptr_equal(s.buf, m);

    /* 1-D, shape and strides left out: len / itemsize items. */
    b = desc(m, "q", 8, 1, NULL, NULL, 0);
    b.len = 24;
    s = span_of(&b);
    ptrdiff_t sh3[] = {3}, st8[] = {8};
    expect_span(&s, m, 8, 1, sh3, st8);
    assert_int_equal(s.native, 'q');

    /* Eight dimensions, the most a span has. */
    unsigned char cube[256];
    for (int k = 0; k < 256; k++)
        cube[k] = (unsigned char)k;
    ptrdiff_t sh8[8], st8d[8];
    for (int d = 0; d < 8; d++) {
        sh8[d] = 2;
        st8d[d] = (ptrdiff_t)1 << (7 - d);
    }
    b = desc(cube, "B", 1, 8, sh8, NULL, 0);
    s = span_of(&b);
    expect_span(&s, cube, 1, 8, sh8, st8d);
    ptrdiff_t idx8[] = {1, 0, -1, 0, 1, -2, 1, -1};
    assert_ptr_equal(mv_span_at(&s, idx8), cube + 128 + 32 + 8 + 2 + 1);
    assert_int_equal(mv_span_get_item(&s, idx8, 8, &v, 1, &err), 0);
    assert_int_equal(v.v.u, 171);

    /* Suboffsets that are all negative mean "direct". */
    ptrdiff_t subs[] = {-1, -1};
    b = desc(m, "i", 4, 2, sh34, NULL, 0);
    b.suboffsets = subs;
    s = span_of(&b);
    expect_span(&s, m, 4, 2, sh34, st34);
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
    mv_span s = span_of(&b);
    assert_int_equal(mv_object_exports(x), exports);
    expect_span(&s, &m[4], 2, 2, shape, strides);
    assert_int_equal(s.native, 'h');
    for (ptrdiff_t i = 0; i < 3; i++)
        for (ptrdiff_t j = 0; j < 5; j++) {
            ptrdiff_t idx[] = {i, j};
            mv_value v;
            assert_int_equal(mv_span_get_item(&s, idx, 2, &v, 1, &err), 0);
            assert_int_equal(v.v.i, m[10 * i + 4 - j]);
            assert_ptr_equal(mv_span_at(&s, idx), (char *)m + 8 + 20 * i - 2 * j);
        }
    /* The same through a view of the exporter. */
    mv_view *v = mv_view_new(x, &err);
    assert_non_null(v);
    mv_span sv;
    poison(&sv);
    assert_int_equal(mv_span_from_view(&sv, v, &err), 0);
    assert_span_equal(&sv, &s);
    assert_span_is_view(&sv, v);
    mv_decref(mv_view_object(v));
    mv_buffer_release(&b);
    mv_decref(x);
}

typedef struct native_case {
    const char *format;
    ptrdiff_t itemsize;
    char native;
} native_case;

static void native_codes(void **state)
{
    (void)state;
    static const native_case cases[] = {
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
        const native_case *nc = &cases[c];
        /* 1-D (the quick check), 2-D (the full check) and a view agree. */
        ptrdiff_t n1[] = {2}, n2[] = {2, 1};
        mv_buffer b1 = desc(mem, nc->format, nc->itemsize, 1, n1, NULL, 0);
        mv_buffer b2 = desc(mem, nc->format, nc->itemsize, 2, n2, NULL, 0);
        mv_span s1 = span_of(&b1), s2 = span_of(&b2);
        if (s1.native != nc->native || s2.native != nc->native)
            fail_msg("'%s': native %d / %d, expected %d", nc->format, s1.native, s2.native,
                     nc->native);
        mv_view *v = view_layout(mem, nc->format, nc->itemsize, 1, n1, NULL, NULL, 1);
        mv_span sv;
        mv_error err;
        assert_int_equal(mv_span_from_view(&sv, v, &err), 0);
        assert_int_equal(sv.native, nc->native);
        /* As mv_format.native says. */
        const mv_format *fmt = mv_view_format(v, &err);
        assert_non_null(fmt);
        assert_int_equal(fmt->native, nc->native);
        mv_decref(mv_view_object(v));
    }
    /* No format means "B". */
    ptrdiff_t n4[] = {4};
    mv_buffer b = desc(mem, NULL, 1, 1, n4, NULL, 0);
    mv_span s = span_of(&b);
    assert_string_equal(s.format, "B");
    assert_int_equal(s.native, 'B');
    ptrdiff_t n22[] = {2, 2};
    b = desc(mem, NULL, 1, 2, n22, NULL, 0);
    s = span_of(&b);
    assert_string_equal(s.format, "B");
    assert_int_equal(s.native, 'B');
}

/* ------------------------------------------------------------------------ */
/* Creation errors                                                            */
/* ------------------------------------------------------------------------ */

/* from_buffer fails with code and message (msg NULL: any message;
 * contains: a substring) and leaves the poisoned span alone. */
#define expect_from_buffer_error(b, code, msg, contains)                                           \
    expect_from_buffer_error_at(__LINE__, b, code, msg, contains)

static void expect_from_buffer_error_at(int line, const mv_buffer *b, int code, const char *msg,
                                        const char *contains)
{
    mv_span s;
    poison(&s);
    mv_error err;
    mv_error_clear(&err);
    int rc = mv_span_from_buffer(&s, b, &err);
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
    expect_error(mv_span_from_buffer(NULL, &good, &err), &err, MV_EVALUE, MSG_NULL);
    expect_from_buffer_error(NULL, MV_EVALUE, MSG_NULL, NULL);
    assert_int_equal(mv_span_from_buffer(NULL, NULL, NULL), MV_EVALUE);

    /* ndim outside [0, 8]. */
    mv_buffer b = good;
    b.ndim = -1;
    expect_from_buffer_error(&b, MV_EVALUE, "span: ndim must be in [0, 8], not -1", NULL);
    ptrdiff_t ones[64], ones_st[64];
    for (int d = 0; d < 64; d++) {
        ones[d] = 1;
        ones_st[d] = 4;
    }
    b = desc(m, "i", 4, 9, ones, NULL, 0);
    expect_from_buffer_error(&b, MV_EVALUE, "span: ndim must be in [0, 8], not 9", NULL);
    /* A 64-dim descriptor that is otherwise valid (views take it). */
    b = desc(m, "i", 4, 64, ones, ones_st, 0);
    assert_int_equal(mv_buffer_validate(&b, &err), 0);
    expect_from_buffer_error(&b, MV_EVALUE, "span: ndim must be in [0, 8], not 64", NULL);
    b.ndim = 65;
    expect_from_buffer_error(&b, MV_EVALUE, "span: ndim must be in [0, 8], not 65", NULL);
    b.ndim = INT_MIN;
    snprintf(msg, sizeof msg, "span: ndim must be in [0, 8], not %d", INT_MIN);
    expect_from_buffer_error(&b, MV_EVALUE, msg, NULL);

    /* Suboffsets with an indirect dimension. */
    ptrdiff_t sh23[] = {2, 3}, subs0[] = {0}, subs2[] = {-1, 5};
    b = desc(m, "B", 1, 1, n4, NULL, 0);
    b.suboffsets = subs0;
    expect_from_buffer_error(&b, MV_EVALUE, MSG_SUBOFFSETS, NULL);
    b = desc(m, "i", 4, 2, sh23, NULL, 0);
    b.suboffsets = subs2;
    expect_from_buffer_error(&b, MV_EVALUE, MSG_SUBOFFSETS, NULL);

    /* itemsize 0 and negative (len 0: mv_buffer_validate alone allows 0). */
    b = desc(m, "B", 0, 1, n4, NULL, 0);
    b.len = 0;
    expect_from_buffer_error(&b, MV_EVALUE, MSG_ITEMSIZE, NULL);
    b.format = NULL;
    expect_from_buffer_error(&b, MV_EVALUE, MSG_ITEMSIZE, NULL);
    b = desc(m, NULL, -4, 1, NULL, NULL, 0);
    b.len = 16;
    expect_from_buffer_error(&b, MV_EVALUE, MSG_ITEMSIZE, NULL);
    b = desc(m, "i", -4, 2, sh23, NULL, 0);
    expect_from_buffer_error(&b, MV_EVALUE, MSG_ITEMSIZE, NULL);

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
    mv_span s = span_of(&b);
    assert_int_equal(s.strides[0], 8);
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
    mv_span s;
    poison(&s);
    mv_error err;
    noalloc_begin();
    int rc = mv_span_from_view(&s, v, &err);
    long failed = noalloc_end();
    assert_int_equal(rc, 0);
    assert_int_equal(failed, 0);
    assert_int_equal(mv_object_refcount(mv_view_object(v)), refs);
    assert_int_equal(mv_object_exports(mv_view_object(v)), exports);
    expect_span(&s, &m[8], 4, 2, shape, strides);
    assert_int_equal(s.native, 'i');
    assert_false(s.readonly);
    assert_span_is_view(&s, v);
    /* The same descriptor through from_buffer gives the same span. */
    mv_buffer b = desc(&m[8], "i", 4, 2, shape, strides, 0);
    mv_span sb = span_of(&b);
    assert_span_equal(&sb, &s);

    /* A read-only view gives a read-only span. */
    mv_view *ro = mv_view_toreadonly(v, &err);
    assert_non_null(ro);
    mv_span sr;
    assert_int_equal(mv_span_from_view(&sr, ro, &err), 0);
    assert_true(sr.readonly);
    ptrdiff_t i12[] = {1, 2};
    mv_value val = {.kind = MV_VALUE_SIGNED, .v.i = 5};
    expect_error(mv_span_set_item(&sr, i12, 2, &val, 1, &err), &err, MV_ETYPE, MSG_READONLY);
    assert_int_equal(m[6], 36);
    mv_decref(mv_view_object(ro));

    /* A sliced view: the span follows the view's layout. */
    mv_key k[] = {ks(5, 2, 0, -2), ki(-1)};
    mv_view *sub = mv_view_subscript(v, k, 2, &err);
    assert_non_null(sub);
    mv_span ss;
    assert_int_equal(mv_span_from_view(&ss, sub, &err), 0);
    ptrdiff_t ssh[] = {2}, sst[] = {32};
    expect_span(&ss, &m[3], 4, 1, ssh, sst);
    assert_int_equal(read_i32(mv_span_at1(&ss, 1)), m[11]);
    mv_decref(mv_view_object(sub));

    /* Memory views too. */
    mv_view *fm = mv_view_from_memory(m, 48, MV_BUF_READ, &err);
    assert_non_null(fm);
    assert_int_equal(mv_span_from_view(&s, fm, &err), 0);
    ptrdiff_t fsh[] = {48}, fst[] = {1};
    expect_span(&s, m, 1, 1, fsh, fst);
    assert_true(s.readonly);
    assert_string_equal(s.format, "B");
    mv_decref(mv_view_object(fm));

    /* Errors, each leaving the span alone. */
    poison(&s);
    expect_error(mv_span_from_view(&s, NULL, &err), &err, MV_EVALUE, MSG_NULL);
    assert_poisoned(&s);
    expect_error(mv_span_from_view(NULL, v, &err), &err, MV_EVALUE, MSG_NULL);
    assert_int_equal(mv_span_from_view(NULL, NULL, NULL), MV_EVALUE);

    mv_view *rel = released_view();
    expect_error(mv_span_from_view(&s, rel, &err), &err, MV_EVALUE, RELEASED_MSG);
    assert_poisoned(&s);
    mv_decref(mv_view_object(rel));
    mv_view *v2 = view_layout(m, "i", 4, 2, shape, NULL, NULL, 0);
    assert_int_equal(mv_view_release(v2, &err), 0);
    expect_error(mv_span_from_view(&s, v2, &err), &err, MV_EVALUE, RELEASED_MSG);
    assert_poisoned(&s);
    mv_decref(mv_view_object(v2));

    ptrdiff_t ones[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    mv_view *v9 = view_layout(m, "B", 1, 9, ones, NULL, NULL, 1);
    expect_error(mv_span_from_view(&s, v9, &err), &err, MV_EVALUE,
                 "span: ndim must be in [0, 8], not 9");
    assert_poisoned(&s);
    /* ... while eight are fine. */
    mv_key k0 = ki(0);
    mv_view *v8 = mv_view_subscript(v9, &k0, 1, &err);
    assert_non_null(v8);
    assert_int_equal(mv_span_from_view(&s, v8, &err), 0);
    assert_int_equal(s.ndim, 8);
    assert_ptr_equal(s.buf, m);
    mv_decref(mv_view_object(v8));
    mv_decref(mv_view_object(v9));
    poison(&s);

    /* Indirect (PIL-style) views. */
    unsigned char rows[2][3] = {{1, 2, 3}, {4, 5, 6}};
    unsigned char *ptrs[2] = {rows[1], rows[0]};
    ptrdiff_t psh[] = {2, 3}, pst[] = {(ptrdiff_t)sizeof(unsigned char *), 1}, psub[] = {0, -1};
    mv_view *pil = view_layout(ptrs, "B", 1, 2, psh, pst, psub, 1);
    expect_error(mv_span_from_view(&s, pil, &err), &err, MV_EVALUE, MSG_SUBOFFSETS);
    assert_poisoned(&s);
    /* Once an integer index has followed the pointer, the row is direct. */
    mv_key k1 = ki(1);
    mv_view *row = mv_view_subscript(pil, &k1, 1, &err);
    assert_non_null(row);
    assert_int_equal(mv_span_from_view(&s, row, &err), 0);
    ptrdiff_t rsh[] = {3}, rst[] = {1};
    expect_span(&s, rows[0], 1, 1, rsh, rst);
    mv_decref(mv_view_object(row));
    mv_decref(mv_view_object(pil));

    mv_decref(mv_view_object(v));
}

/* A view whose format does not parse: the span has native 0 and get_item
 * reports what the view's get_item reports. */
static void from_view_unparseable_format(void **state)
{
    (void)state;
    unsigned char mem[1] = {42};
    const char *formats[] = {"Y", "T{>q:x:", "3"};
    for (int f = 0; f < 3; f++) {
        mv_view *v = view_raw_format(mem, formats[f]);
        mv_span s;
        mv_error err, verr;
        assert_int_equal(mv_span_from_view(&s, v, &err), 0);
        assert_int_equal(s.native, 0);
        assert_string_equal(s.format, formats[f]);
        assert_ptr_equal(mv_span_at1(&s, 0), mem);
        ptrdiff_t i = 0;
        mv_value val;
        int rc = mv_span_get_item(&s, &i, 1, &val, 1, &err);
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

/* Items of a native format read and written through a 1-D span (whole and
 * reversed with a step) and a 2-D span with a negative stride, against the
 * typed C array. */
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
        mv_span s = span_of(&b);                                                                   \
        assert_int_equal(s.native, (CODE)[strlen(CODE) - 1]);                                      \
        mv_key key = ks(5, 22, 0, -3);                                                             \
        mv_span rev;                                                                               \
        assert_int_equal(mv_span_slice(&rev, &s, &key, 1, &err), 0);                               \
        assert_int_equal(rev.shape[0], 8);                                                         \
        for (ptrdiff_t i = -24; i < 24; i++) {                                                     \
            mv_value val;                                                                          \
            ptrdiff_t j = i < 0 ? i + 24 : i;                                                      \
            assert_int_equal(mv_span_get_item(&s, &i, 1, &val, 1, &err), 0);                       \
            assert_int_equal(val.kind, KIND);                                                      \
            assert_true(val.v.MEMBER == src[j]);                                                   \
            assert_ptr_equal(mv_span_at1(&s, i), (char *)src + j * (ptrdiff_t)sizeof(T));          \
            if (i >= -8 && i < 8) {                                                                \
                ptrdiff_t r = i < 0 ? i + 8 : i;                                                   \
                assert_int_equal(mv_span_get_item(&rev, &i, 1, &val, 1, &err), 0);                 \
                assert_true(val.v.MEMBER == src[22 - 3 * r]);                                      \
                assert_ptr_equal(mv_span_at1(&rev, i), (char *)&src[22 - 3 * r]);                  \
            }                                                                                      \
        }                                                                                          \
        ptrdiff_t out[] = {24, -25, PTRDIFF_MAX, PTRDIFF_MIN};                                     \
        for (int k = 0; k < 4; k++) {                                                              \
            mv_value val;                                                                          \
            expect_error(mv_span_get_item(&s, &out[k], 1, &val, 1, &err), &err, MV_EINDEX,         \
                         "index out of bounds on dimension 1");                                    \
            assert_null(mv_span_at1(&s, out[k]));                                                  \
            assert_null(mv_span_at(&s, &out[k]));                                                  \
        }                                                                                          \
        /* Write through the reversed span: src[22 - 3 * 2] = src[16]. */                          \
        T want = src[0];                                                                           \
        mv_value w;                                                                                \
        w.kind = KIND;                                                                             \
        w.v.MEMBER = want;                                                                         \
        ptrdiff_t i2 = 2;                                                                          \
        assert_int_equal(mv_span_set_item(&rev, &i2, 1, &w, 1, &err), 0);                          \
        assert_true(src[16] == want);                                                              \
        /* 2-D: rows of 6 taken bottom-up. */                                                      \
        ptrdiff_t sh[] = {4, 6}, st[] = {-6 * (ptrdiff_t)sizeof(T), (ptrdiff_t)sizeof(T)};         \
        b = desc(&src[18], CODE, sizeof(T), 2, sh, st, 0);                                         \
        s = span_of(&b);                                                                           \
        for (ptrdiff_t i = 0; i < 4; i++)                                                          \
            for (ptrdiff_t j = 0; j < 6; j++) {                                                    \
                ptrdiff_t idx[] = {i - 4, j};                                                      \
                mv_value val;                                                                      \
                assert_int_equal(mv_span_get_item(&s, idx, 2, &val, 1, &err), 0);                  \
                assert_true(val.v.MEMBER == src[18 - 6 * i + j]);                                  \
            }                                                                                      \
        ptrdiff_t bad[] = {0, 6};                                                                  \
        mv_value val;                                                                              \
        expect_error(mv_span_get_item(&s, bad, 2, &val, 1, &err), &err, MV_EINDEX,                 \
                     "index out of bounds on dimension 2");                                        \
        expect_error(mv_span_set_item(&s, bad, 2, &w, 1, &err), &err, MV_EINDEX,                   \
                     "index out of bounds on dimension 2");                                        \
        assert_null(mv_span_at(&s, bad));                                                          \
        ptrdiff_t ok[] = {3, 5};                                                                   \
        w.v.MEMBER = src[1];                                                                       \
        assert_int_equal(mv_span_set_item(&s, ok, 2, &w, 1, &err), 0);                             \
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
    mv_span s = span_of(&b);
    assert_int_equal(s.native, 0);
    for (ptrdiff_t i = 0; i < 5; i++) {
        assert_int_equal(mv_span_get_item(&s, &i, 1, v, 1, &err), 0);
        assert_int_equal(v[0].kind, MV_VALUE_UNSIGNED);
        assert_int_equal(v[0].v.u, 0xA000u + 0x111u * (unsigned)i);
    }
    ptrdiff_t i3 = -2;
    v[0] = (mv_value){.kind = MV_VALUE_UNSIGNED, .v.u = 0xBEEF};
    assert_int_equal(mv_span_set_item(&s, &i3, 1, v, 1, &err), 0);
    assert_int_equal(le[6], 0xEF);
    assert_int_equal(le[7], 0xBE);
    v[0].v.u = 0x10000;
    expect_error(mv_span_set_item(&s, &i3, 1, v, 1, &err), &err, MV_EVALUE,
                 "memoryview: invalid value for format '<H'");
    assert_int_equal(le[6], 0xEF);

    /* ">i", 2-D, big-endian. */
    unsigned char be[24];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            put_uint(be + 4 * (3 * i + j), 4, false, (uint64_t)(uint32_t)(-(i * 10 + j + 1)));
    ptrdiff_t sh23[] = {2, 3};
    b = desc(be, ">i", 4, 2, sh23, NULL, 0);
    s = span_of(&b);
    assert_int_equal(s.native, 0);
    for (ptrdiff_t i = 0; i < 2; i++)
        for (ptrdiff_t j = 0; j < 3; j++) {
            ptrdiff_t idx[] = {i, j};
            assert_int_equal(mv_span_get_item(&s, idx, 2, v, 1, &err), 0);
            assert_int_equal(v[0].kind, MV_VALUE_SIGNED);
            assert_int_equal(v[0].v.i, -(i * 10 + j + 1));
        }
    ptrdiff_t i12[] = {1, 2};
    v[0] = (mv_value){.kind = MV_VALUE_SIGNED, .v.i = -123456}; /* 0xFFFE1DC0 */
    assert_int_equal(mv_span_set_item(&s, i12, 2, v, 1, &err), 0);
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
    s = span_of(&b);
    assert_int_equal(s.native, 0);
    for (ptrdiff_t i = 0; i < 3; i++) {
        assert_int_equal(mv_span_get_item(&s, &i, 1, v, 3, &err), 0);
        assert_int_equal(v[0].kind, MV_VALUE_SIGNED);
        assert_int_equal(v[0].v.i, -100 - (2 - i));
        assert_int_equal(v[1].kind, MV_VALUE_SIGNED);
        assert_int_equal(v[1].v.i, 70000 + (2 - i));
    }
    ptrdiff_t i0 = 0;
    assert_int_equal(mv_span_get_item(&s, &i0, 1, v, 1, &err), MV_EVALUE);
    ptrdiff_t i1 = 1;
    v[0] = (mv_value){.kind = MV_VALUE_SIGNED, .v.i = -2};
    v[1] = (mv_value){.kind = MV_VALUE_SIGNED, .v.i = 0x01020304};
    assert_int_equal(mv_span_set_item(&s, &i1, 1, v, 2, &err), 0);
    const unsigned char want_rec[] = {0xFE, 0xFF, 0x04, 0x03, 0x02, 0x01};
    assert_memory_equal(rec + 6, want_rec, 6);
    assert_int_equal(mv_span_set_item(&s, &i1, 1, v, 1, &err), MV_EVALUE);

    /* '?' is native but not a number: parsed, as a view would. */
    _Bool flags[3] = {0, 1, 0};
    b = desc(flags, "?", sizeof(_Bool), 1, n3, NULL, 0);
    s = span_of(&b);
    assert_int_equal(s.native, '?');
    for (ptrdiff_t i = 0; i < 3; i++) {
        assert_int_equal(mv_span_get_item(&s, &i, 1, v, 1, &err), 0);
        assert_int_equal(v[0].kind, MV_VALUE_BOOL);
        assert_int_equal(v[0].v.b, i == 1);
    }
    v[0] = (mv_value){.kind = MV_VALUE_SIGNED, .v.i = 7};
    assert_int_equal(mv_span_set_item(&s, &i0, 1, v, 1, &err), 0);
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
    mv_span s = span_of(&b);
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
        expect_error(mv_span_get_item(&s, idx, ic->nindex, val, 1, &err), &err, ic->code, ic->msg);
        expect_error(mv_view_get_item(v, idx, ic->nindex, val, 1, &verr), &verr, ic->code, ic->msg);
        expect_error(mv_span_set_item(&s, idx, ic->nindex, val, 1, &err), &err, ic->code, ic->msg);
        expect_error(mv_view_set_item(v, idx, ic->nindex, val, 1, &verr), &verr, ic->code, ic->msg);
        if (ic->nindex == 2 && !ic->null_index)
            assert_null(mv_span_at(&s, idx));
    }
    for (int k = 0; k < 12; k++)
        assert_int_equal(m[k], 0);

    /* values NULL, nvalues too small, wrong value kinds. */
    ptrdiff_t i12[] = {1, 2};
    expect_error(mv_span_get_item(&s, i12, 2, NULL, 1, &err), &err, MV_EVALUE, MSG_VALUES);
    expect_error(mv_span_set_item(&s, i12, 2, NULL, 1, &err), &err, MV_EVALUE, MSG_VALUES);
    int rc = mv_span_get_item(&s, i12, 2, val, 0, &err);
    int vrc = mv_view_get_item(v, i12, 2, val, 0, &verr);
    assert_int_equal(rc, MV_EVALUE);
    assert_int_equal(vrc, rc);
    assert_string_equal(err.message, verr.message);
    rc = mv_span_set_item(&s, i12, 2, val, 2, &err);
    vrc = mv_view_set_item(v, i12, 2, val, 2, &verr);
    assert_int_equal(rc, MV_EVALUE);
    assert_int_equal(vrc, rc);
    assert_string_equal(err.message, verr.message);
    mv_value dbl = {.kind = MV_VALUE_DOUBLE, .v.d = 1.5};
    expect_error(mv_span_set_item(&s, i12, 2, &dbl, 1, &err), &err, MV_ETYPE,
                 "memoryview: invalid type for format 'i'");
    mv_value big = {.kind = MV_VALUE_SIGNED, .v.i = (int64_t)INT32_MAX + 1};
    expect_error(mv_span_set_item(&s, i12, 2, &big, 1, &err), &err, MV_EVALUE,
                 "memoryview: invalid value for format 'i'");
    assert_int_equal(m[6], 0);

    /* NULL span. */
    expect_error(mv_span_get_item(NULL, i12, 2, val, 1, &err), &err, MV_EVALUE, MSG_NULL);
    expect_error(mv_span_set_item(NULL, i12, 2, val, 1, &err), &err, MV_EVALUE, MSG_NULL);
    assert_int_equal(mv_span_get_item(NULL, NULL, 0, NULL, 0, NULL), MV_EVALUE);
    assert_null(mv_span_at(NULL, i12));
    assert_null(mv_span_at1(NULL, 0));
    /* at with no index array on an N-D span; at1 on a 2-D span. */
    assert_null(mv_span_at(&s, NULL));
    assert_null(mv_span_at1(&s, 0));

    /* Read-only spans refuse writes and keep the memory. */
    b.readonly = 1;
    s = span_of(&b);
    assert_true(s.readonly);
    val[0].v.i = 77;
    expect_error(mv_span_set_item(&s, i12, 2, val, 1, &err), &err, MV_ETYPE, MSG_READONLY);
    ptrdiff_t i00[] = {0, 0};
    expect_error(mv_span_set_item(&s, i00, 2, val, 1, &err), &err, MV_ETYPE, MSG_READONLY);
    assert_int_equal(m[6], 0);
    assert_int_equal(m[0], 0);
    /* ... and reads still work. */
    m[6] = 66;
    assert_int_equal(mv_span_get_item(&s, i12, 2, val, 1, &err), 0);
    assert_int_equal(val[0].v.i, 66);
    /* Read-only survives slicing. */
    mv_key k = ki(1);
    mv_span row;
    assert_int_equal(mv_span_slice(&row, &s, &k, 1, &err), 0);
    assert_true(row.readonly);
    ptrdiff_t i2 = 2;
    expect_error(mv_span_set_item(&row, &i2, 1, val, 1, &err), &err, MV_ETYPE, MSG_READONLY);
    assert_int_equal(m[6], 66);

    mv_decref(mv_view_object(v));
}

/* Hand-made spans outside the contract: the functions that check ndim say
 * so, and at / at1 give NULL. */
static void hand_made_bad_ndim(void **state)
{
    (void)state;
    unsigned char mem[4] = {1, 2, 3, 4};
    ptrdiff_t n4[] = {4};
    mv_buffer b = desc(mem, "B", 1, 1, n4, NULL, 0);
    mv_span s = span_of(&b);
    const int bad[] = {-1, 9, 64, INT_MAX, INT_MIN};
    for (int k = 0; k < 5; k++) {
        mv_span h = s;
        h.ndim = bad[k];
        char msg[MV_ERROR_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "span: ndim must be in [0, 8], not %d", bad[k]);
        mv_span out;
        mv_error err;
        poison(&out);
        expect_error(mv_span_slice(&out, &h, NULL, 0, &err), &err, MV_EVALUE, msg);
        assert_poisoned(&out);
        mv_key key = KALL;
        expect_error(mv_span_slice(&out, &h, &key, 1, &err), &err, MV_EVALUE, msg);
        assert_poisoned(&out);
        mv_span copy = h;
        expect_error(mv_span_slice(&h, &h, &key, 1, &err), &err, MV_EVALUE, msg);
        assert_memory_equal(&h, &copy, sizeof h);
        ptrdiff_t idx[8] = {0};
        assert_null(mv_span_at(&h, idx));
        assert_null(mv_span_at1(&h, 0));
        poison(&out);
        expect_error(mv_span_cast(&out, &h, "B", NULL, -1, 0, &err), &err, MV_EVALUE, msg);
        assert_poisoned(&out);
        /* Passing it through mv_span_buffer + mv_span_from_buffer checks
         * it, as the header advises. */
        if (bad[k] == -1 || bad[k] == 9) {
            mv_buffer hb;
            mv_span_buffer(&h, &hb);
            expect_from_buffer_error(&hb, MV_EVALUE, msg, NULL);
        }
    }
    /* A negative ndim is no index count get_item can match. */
    mv_span h = s;
    h.ndim = -1;
    mv_value v;
    mv_error err;
    assert_true(mv_span_get_item(&h, NULL, 0, &v, 1, &err) < 0);
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

/* Slice src with each case into a fresh span, into src itself (a copy),
 * and through a view of the same descriptor. */
static void run_slice_cases(const mv_buffer *b, const slice_case *cases, size_t n)
{
    mv_span src = span_of(b);
    mv_view *v = view_layout(b->buf, b->format, b->itemsize, b->ndim, b->shape, b->strides, NULL,
                             b->readonly);
    for (size_t c = 0; c < n; c++) {
        const slice_case *sc = &cases[c];
        const mv_key *keys = sc->nkeys ? sc->keys : NULL;
        mv_span out;
        mv_error err;
        poison(&out);
        noalloc_begin();
        int rc = mv_span_slice(&out, &src, keys, sc->nkeys, &err);
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
        assert_int_equal(out.native, src.native);
        assert_int_equal(out.readonly, src.readonly);
        /* The view agrees exactly. */
        mv_view *sub = mv_view_subscript(v, keys, sc->nkeys, &err);
        assert_non_null(sub);
        assert_span_is_view(&out, sub);
        mv_decref(mv_view_object(sub));
        /* out may be the input. */
        mv_span self = src;
        assert_int_equal(mv_span_slice(&self, &self, keys, sc->nkeys, &err), 0);
        assert_span_equal(&self, &out);
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
    mv_span s = span_of(&b1);
    mv_key k1 = ks(1, 1, 0, 0), k2 = ks(4, 0, 0, -1), k3 = ki(0);
    mv_error err;
    assert_int_equal(mv_span_slice(&s, &s, &k1, 1, &err), 0);
    assert_int_equal(mv_span_slice(&s, &s, &k2, 1, &err), 0);
    assert_int_equal(mv_span_slice(&s, &s, &k3, 1, &err), 0);
    assert_int_equal(s.ndim, 0);
    assert_ptr_equal(s.buf, &m[9]);
    assert_ptr_equal(mv_span_at(&s, NULL), &m[9]);
}

/* ------------------------------------------------------------------------ */
/* Slicing errors                                                             */
/* ------------------------------------------------------------------------ */

/* The span error, out (fresh and aliased) unchanged, and - unless
 * span_only - the view's same code and message. */
static void expect_slice_error(const mv_buffer *b, const mv_key *keys, int nkeys, int code,
                               const char *msg, bool span_only)
{
    mv_span src = span_of(b);
    mv_span out;
    mv_error err;
    poison(&out);
    mv_error_clear(&err);
    noalloc_begin();
    int rc = mv_span_slice(&out, &src, keys, nkeys, &err);
    long failed = noalloc_end();
    assert_int_equal(failed, 0);
    if (rc != code)
        fail_msg("expected %d '%s', got %d '%s'", code, msg ? msg : "", rc, err.message);
    expect_error(rc, &err, code, msg);
    assert_poisoned(&out);
    mv_span self = src, copy = src;
    expect_error(mv_span_slice(&self, &self, keys, nkeys, &err), &err, code, msg);
    assert_memory_equal(&self, &copy, sizeof self);
    if (span_only)
        return;
    mv_view *v = view_layout(b->buf, b->format, b->itemsize, b->ndim, b->shape, b->strides, NULL,
                             b->readonly);
    mv_error verr;
    assert_null(mv_view_subscript(v, keys, nkeys, &verr));
    assert_int_equal(verr.code, code);
    assert_string_equal(verr.message, err.message);
    mv_decref(mv_view_object(v));
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
    expect_slice_error(&b1, &z, 1, MV_EVALUE, MSG_STEP0, false);
    expect_slice_error(&b2, &z, 1, MV_EVALUE, MSG_STEP0, false);
    mv_key z2[] = {KALL, ks(7, 1, 2, 0)};
    expect_slice_error(&b2, z2, 2, MV_EVALUE, MSG_STEP0, false);
    mv_key z3[] = {KN, ks(7, 1, 2, 0)};
    expect_slice_error(&b1, z3, 2, MV_EVALUE, MSG_STEP0, false);

    /* Too many indices. */
    mv_key t2[] = {ki(0), ki(0)};
    expect_slice_error(&b1, t2, 2, MV_EINDEX,
                       "too many indices for memoryview: memoryview is 1-dimensional, but 2 were "
                       "indexed",
                       false);
    mv_key t3[] = {ki(0), KALL, KN, ki(1)};
    expect_slice_error(&b2, t3, 4, MV_EINDEX,
                       "too many indices for memoryview: memoryview is 2-dimensional, but 3 were "
                       "indexed",
                       false);
    mv_key t1 = ki(0);
    expect_slice_error(&b0, &t1, 1, MV_EINDEX,
                       "too many indices for memoryview: memoryview is 0-dimensional, but 1 were "
                       "indexed",
                       false);
    mv_key ts = KALL;
    expect_slice_error(&b0, &ts, 1, MV_EINDEX,
                       "too many indices for memoryview: memoryview is 0-dimensional, but 1 were "
                       "indexed",
                       false);

    /* Two ellipses. */
    mv_key e2[] = {KE, KE};
    expect_slice_error(&b2, e2, 2, MV_EINDEX, MSG_ELLIPSIS, false);
    mv_key e3[] = {KE, ki(0), KE};
    expect_slice_error(&b3, e3, 3, MV_EINDEX, MSG_ELLIPSIS, false);
    expect_slice_error(&b0, e2, 2, MV_EINDEX, MSG_ELLIPSIS, false);

    /* Indices out of range. */
    const ptrdiff_t out[] = {3, -4, PTRDIFF_MAX, PTRDIFF_MIN};
    for (int k = 0; k < 4; k++) {
        mv_key i1[] = {ki(out[k])};
        expect_slice_error(&b2, i1, 1, MV_EINDEX, "index out of bounds on dimension 1", false);
        mv_key i2[] = {ki(0), KN, ki(out[k] == 3 ? 4 : out[k] == -4 ? -5 : out[k])};
        expect_slice_error(&b2, i2, 3, MV_EINDEX, "index out of bounds on dimension 2", false);
        mv_key i3[] = {KE, ki(out[k] == 3 ? 4 : out[k] == -4 ? -5 : out[k])};
        expect_slice_error(&b3, i3, 2, MV_EINDEX, "index out of bounds on dimension 3", false);
    }
    mv_key i10 = ki(10);
    expect_slice_error(&b1, &i10, 1, MV_EINDEX, "index out of bounds on dimension 1", false);
    /* Indices of a zero-extent dimension. */
    ptrdiff_t sh30[] = {3, 0};
    mv_buffer bz = desc(NULL, "i", 4, 2, sh30, NULL, 0);
    mv_key iz[] = {KALL, ki(0)};
    expect_slice_error(&bz, iz, 2, MV_EINDEX, "index out of bounds on dimension 2", false);

    /* Bad key arrays. */
    expect_slice_error(&b1, NULL, 1, MV_EVALUE, MSG_KEYS, false);
    mv_key one = KALL;
    expect_slice_error(&b1, &one, -1, MV_EVALUE, MSG_KEYS, false);
    expect_slice_error(&b2, NULL, 2, MV_EVALUE, MSG_KEYS, false);
    mv_key odd[] = {KALL};
    odd[0].kind = (mv_key_kind)99;
    expect_slice_error(&b2, odd, 1, MV_EVALUE, "memoryview: invalid key kind 99", false);

    /* New axes past eight dimensions: views take them, spans do not. */
    mv_key n9[9] = {KN, KN, KN, KN, KN, KN, KN, KN, KN};
    expect_slice_error(&b0, n9, 9, MV_EVALUE, "span: ndim must be in [0, 8], not 9", true);
    expect_slice_error(&b2, n9, 7, MV_EVALUE, "span: ndim must be in [0, 8], not 9", true);
    expect_slice_error(&b3, n9, 6, MV_EVALUE, "span: ndim must be in [0, 8], not 9", true);
    mv_key n9e[] = {KN, KN, KN, KN, KN, KE, KN, KN, KN};
    expect_slice_error(&b3, n9e, 9, MV_EVALUE, "span: ndim must be in [0, 8], not 11", true);
    /* ... integer indices bring the count back down. */
    mv_key n8[] = {KN, KN, KN, KN, KN, KN, ki(0), KE};
    mv_span src = span_of(&b3), o;
    mv_error err;
    assert_int_equal(mv_span_slice(&o, &src, n8, 8, &err), 0);
    assert_int_equal(o.ndim, 8); /* 6 new + 2 left */
    mv_key n9i[] = {KN, KN, KN, KN, KN, KN, KN, ki(0), KE};
    expect_slice_error(&b3, n9i, 9, MV_EVALUE, "span: ndim must be in [0, 8], not 9", true);
    ptrdiff_t ones8[] = {1, 1, 1, 1, 1, 1, 1, 1};
    mv_buffer b8 = desc(m, "i", 4, 8, ones8, NULL, 0);
    mv_key n1 = KN;
    expect_slice_error(&b8, &n1, 1, MV_EVALUE, "span: ndim must be in [0, 8], not 9", true);
    mv_key n1i[] = {KN, ki(0)};
    src = span_of(&b8);
    assert_int_equal(mv_span_slice(&o, &src, n1i, 2, &err), 0);
    assert_int_equal(o.ndim, 8);
    /* Past 64 the view's own limit is reached first; either way the span
     * is refused with MV_EVALUE and left alone. */
    mv_key many[70];
    for (int k = 0; k < 70; k++)
        many[k] = KN;
    src = span_of(&b0);
    poison(&o);
    assert_int_equal(mv_span_slice(&o, &src, many, 70, &err), MV_EVALUE);
    assert_int_equal(err.code, MV_EVALUE);
    assert_poisoned(&o);

    /* NULL spans. */
    src = span_of(&b1);
    poison(&o);
    expect_error(mv_span_slice(&o, NULL, &one, 1, &err), &err, MV_EVALUE, MSG_NULL);
    assert_poisoned(&o);
    expect_error(mv_span_slice(NULL, &src, &one, 1, &err), &err, MV_EVALUE, MSG_NULL);
    assert_int_equal(mv_span_slice(NULL, NULL, NULL, 0, NULL), MV_EVALUE);
    /* err NULL is fine on any error. */
    assert_int_equal(mv_span_slice(&o, &src, &z, 1, NULL), MV_EVALUE);
    assert_poisoned(&o);
}

/* ------------------------------------------------------------------------ */
/* Random slicing against a model and against views                          */
/* ------------------------------------------------------------------------ */

#define MODEL_MAX 16

typedef struct layout {
    char *buf;
    int ndim;
    ptrdiff_t shape[MODEL_MAX];
    ptrdiff_t strides[MODEL_MAX];
} layout;

typedef struct model {
    int code;
    char msg[MV_ERROR_MESSAGE_MAX];
    bool too_deep; /* fine for a view, more than 8 dimensions for a span */
    bool empty;
    layout out;
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

static void model_apply(const layout *src, const mv_key *keys, int nkeys, model *m)
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
    m->too_deep = o > MV_SPAN_MAX_NDIM;
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
static char *model_address(const layout *src, const model *m, const ptrdiff_t *idx)
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

static layout layout_of_span(const mv_span *s)
{
    layout l;
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

/* Slice `span` and `view` by the same random keys; check both against the
 * model over `src` (the span's own layout), the items against
 * item_value (NULL: only addresses), and recurse once. */
static void check_random_slice(const mv_span *span, mv_view *view, int depth, long *ok,
                               long *errors)
{
    layout src = layout_of_span(span);
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

    mv_span out;
    mv_error err, verr;
    poison(&out);
    mv_error_clear(&err);
    noalloc_begin();
    int rc = mv_span_slice(&out, span, nkeys ? keys : NULL, nkeys, &err);
    long failed = noalloc_end();
    assert_int_equal(failed, 0);
    mv_view *sub = mv_view_subscript(view, nkeys ? keys : NULL, nkeys, &verr);

    if (m.code != 0) {
        (*errors)++;
        if (rc != m.code || strcmp(err.message, m.msg) != 0)
            fail_msg("model says %d '%s', span %d '%s'", m.code, m.msg, rc, err.message);
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
    if (m.too_deep) {
        (*errors)++;
        char msg[MV_ERROR_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "span: ndim must be in [0, 8], not %d", m.out.ndim);
        expect_error(rc, &err, MV_EVALUE, msg);
        assert_poisoned(&out);
        mv_decref(mv_view_object(sub));
        return;
    }
    (*ok)++;
    if (rc != 0)
        fail_msg("span refused what the model takes: %s", err.message);
    /* Exactly the view's layout. */
    assert_span_is_view(&out, sub);
    assert_ptr_equal(out.format, span->format);
    assert_int_equal(out.native, span->native);
    assert_int_equal(out.readonly, span->readonly);
    /* The model's. */
    assert_int_equal(out.ndim, m.out.ndim);
    ptrdiff_t count = 1;
    for (int o = 0; o < out.ndim; o++) {
        assert_int_equal(out.shape[o], m.out.shape[o]);
        if (m.out.shape[o] > 1)
            assert_int_equal(out.strides[o], m.out.strides[o]);
        count *= out.shape[o];
    }
    assert_int_equal(out.len, count * span->itemsize);
    if (!m.empty)
        assert_ptr_equal(out.buf, m.out.buf);

    /* Every item: address (positive and negative indices) and value. */
    ptrdiff_t idx[MODEL_MAX] = {0}, neg[MODEL_MAX];
    for (ptrdiff_t c = 0; c < count; c++) {
        char *want = model_address(&src, &m, idx);
        for (int o = 0; o < out.ndim; o++)
            neg[o] = idx[o] - out.shape[o];
        noalloc_begin();
        char *p = mv_span_at(&out, idx);
        char *pn = mv_span_at(&out, neg);
        char *p1 = out.ndim == 1 ? mv_span_at1(&out, idx[0]) : NULL;
        mv_value val;
        int grc = mv_span_get_item(&out, idx, out.ndim, &val, 1, &err);
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
    /* One write through the span, then undo it. */
    if (count > 0 && !out.readonly) {
        for (int o = 0; o < out.ndim; o++)
            idx[o] = rng_below(&gen, out.shape[o]);
        char *want = model_address(&src, &m, idx);
        mv_value w = {.kind = MV_VALUE_SIGNED, .v.i = -5};
        assert_int_equal(mv_span_set_item(&out, idx, out.ndim, &w, 1, &err), 0);
        assert_int_equal(read_i32(want), -5);
        int32_t back = (int32_t)((want - (char *)arena) / 4);
        memcpy(want, &back, 4);
    }
    /* Out of range on each dimension. */
    for (int o = 0; o < out.ndim; o++) {
        for (int q = 0; q < out.ndim; q++)
            idx[q] = 0;
        idx[o] = rng_below(&gen, 2) ? out.shape[o] : -out.shape[o] - 1;
        assert_null(mv_span_at(&out, idx));
        mv_value val;
        char msg[64];
        snprintf(msg, sizeof msg, "index out of bounds on dimension %d", o + 1);
        bool inrange = true;
        for (int q = 0; q < o; q++)
            inrange &= out.shape[q] > 0;
        if (inrange)
            expect_error(mv_span_get_item(&out, idx, out.ndim, &val, 1, &err), &err, MV_EINDEX,
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
        mv_span s;
        mv_error err;
        assert_int_equal(mv_span_from_view(&s, v, &err), 0);
        mv_buffer b = desc(buf, "i", 4, ndim, shape, strides, readonly);
        mv_span sb = span_of(&b);
        assert_span_equal(&sb, &s);
        check_random_slice(&s, v, 0, &ok, &errors);
        mv_decref(mv_view_object(v));
    }
    /* Both outcomes were exercised in numbers. */
    assert_true(ok > 2000);
    assert_true(errors > 500);
}

/* ------------------------------------------------------------------------ */
/* mv_span_buffer                                                             */
/* ------------------------------------------------------------------------ */

static void check_round_trip(const mv_span *s)
{
    mv_buffer b;
    memset(&b, 0x5c, sizeof b);
    noalloc_begin();
    mv_span_buffer(s, &b);
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
    assert_null(b.suboffsets);
    assert_null(b.internal);
    mv_error err;
    assert_int_equal(mv_buffer_validate(&b, &err), 0);
    mv_span t;
    poison(&t);
    assert_int_equal(mv_span_from_buffer(&t, &b, &err), 0);
    assert_span_equal(&t, s);
    /* Item addresses agree with mv_buffer_get_pointer (no wrapping there). */
    ptrdiff_t count = 1;
    for (int d = 0; d < s->ndim; d++)
        count *= s->shape[d];
    ptrdiff_t idx[8] = {0};
    for (ptrdiff_t c = 0; c < count; c++) {
        assert_ptr_equal(mv_buffer_get_pointer(&b, idx, &err), mv_span_at(s, idx));
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
    assert_span_is_view(s, v);
    mv_decref(mv_view_object(v));
    mv_decref(x);
}

static void span_buffer_round_trip(void **state)
{
    (void)state;
    double m[24];
    for (int k = 0; k < 24; k++)
        m[k] = k * 0.5;
    ptrdiff_t sh234[] = {2, 3, 4};
    mv_buffer b3 = desc(m, "d", 8, 3, sh234, NULL, 1);
    mv_span s = span_of(&b3);
    check_round_trip(&s);
    mv_error err;
    mv_key k1[] = {ks(4, 0, 0, -1), KN, ki(1), ks(5, 1, 0, 2)};
    mv_span t;
    assert_int_equal(mv_span_slice(&t, &s, k1, 4, &err), 0);
    assert_int_equal(t.ndim, 3);
    check_round_trip(&t); /* negative and zero strides */
    mv_key k0[] = {ki(1), ki(2), ki(3)};
    assert_int_equal(mv_span_slice(&t, &s, k0, 3, &err), 0);
    assert_int_equal(t.ndim, 0);
    assert_ptr_equal(t.buf, &m[23]);
    check_round_trip(&t); /* 0-dim */
    mv_key ke = ks(3, 2, 2, 0);
    assert_int_equal(mv_span_slice(&t, &s, &ke, 1, &err), 0);
    check_round_trip(&t); /* empty */
    ptrdiff_t n0[] = {0};
    mv_buffer bz = desc(NULL, "d", 8, 1, n0, NULL, 0);
    t = span_of(&bz);
    check_round_trip(&t);

    /* From a bytearray's simple buffer (no format, shape or strides). */
    mv_object *ba = mv_bytearray_new("spans!", 6, &err);
    assert_non_null(ba);
    mv_buffer bb;
    assert_int_equal(mv_object_getbuffer(ba, &bb, MV_BUF_SIMPLE, &err), 0);
    t = span_of(&bb);
    check_round_trip(&t);
    mv_buffer_release(&bb);
    mv_decref(ba);

    /* NULL arguments are ignored. */
    mv_buffer keep;
    memset(&keep, 0x5c, sizeof keep);
    mv_buffer copy = keep;
    mv_span_buffer(NULL, &keep);
    assert_memory_equal(&keep, &copy, sizeof keep);
    mv_span_buffer(&s, NULL);
    mv_span_buffer(NULL, NULL);

    /* Contiguity as mv_buffer sees it. */
    mv_buffer out;
    mv_span_buffer(&s, &out);
    assert_int_equal(mv_buffer_is_contiguous(&out, 'C'), 1);
    assert_int_equal(mv_buffer_is_contiguous(&out, 'F'), 0);
    mv_key rev = ks(4, 0, 0, -1);
    assert_int_equal(mv_span_slice(&t, &s, &rev, 1, &err), 0);
    mv_span_buffer(&t, &out);
    assert_int_equal(mv_buffer_is_contiguous(&out, 'A'), 0);
    double back[24];
    assert_int_equal(mv_buffer_to_contiguous(back, &out, (ptrdiff_t)sizeof back, 'C', &err), 0);
    for (int k = 0; k < 24; k++)
        assert_true(back[k] == m[k < 12 ? k + 12 : k - 12]);
}

/* A span as the source of slice assignment. */
static void assign_from_span(void **state)
{
    (void)state;
    int32_t src[12], dst[12];
    for (int k = 0; k < 12; k++) {
        src[k] = 100 + k;
        dst[k] = -1;
    }
    ptrdiff_t sh34[] = {3, 4};
    mv_buffer b = desc(src, "i", 4, 2, sh34, NULL, 1);
    mv_span s = span_of(&b);
    mv_key sk[] = {ks(4, 0, 0, -1), ks(5, 1, 0, 2)};
    mv_span sel;
    mv_error err;
    assert_int_equal(mv_span_slice(&sel, &s, sk, 2, &err), 0);
    ptrdiff_t selshape[] = {3, 2}, selstrides[] = {-16, 8};
    expect_span(&sel, &src[9], 4, 2, selshape, selstrides);
    mv_buffer from;
    mv_span_buffer(&sel, &from);

    mv_view *v = view_layout(dst, "i", 4, 2, sh34, NULL, NULL, 0);
    mv_key dk[] = {KALL, ks(4, 0, 0, 2)};
    assert_int_equal(mv_view_assign(v, dk, 2, &from, &err), 0);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++) {
            int32_t want = j % 2 == 0 ? 100 + (2 - i) * 4 + 1 + 2 * (j / 2) : -1;
            assert_int_equal(dst[4 * i + j], want);
        }
    /* Whole span into the whole view; an "@i" view takes an "i" span. */
    mv_span_buffer(&s, &from);
    mv_view *w = view_layout(dst, "@i", 4, 2, sh34, NULL, NULL, 0);
    assert_int_equal(mv_view_assign(w, NULL, 0, &from, &err), 0);
    assert_memory_equal(dst, src, sizeof dst);
    /* The span's own memory, reversed, into itself through a view. */
    mv_view *sv = view_layout(src, "i", 4, 2, sh34, NULL, NULL, 0);
    mv_key r[] = {ks(4, 0, 0, -1), ks(4, 0, 0, -1)};
    mv_span rs;
    assert_int_equal(mv_span_slice(&rs, &s, r, 2, &err), 0);
    mv_span_buffer(&rs, &from);
    assert_int_equal(mv_view_assign(sv, NULL, 0, &from, &err), 0);
    for (int k = 0; k < 12; k++)
        assert_int_equal(src[k], 111 - k);
    /* Shapes that differ. */
    mv_span_buffer(&s, &from);
    expect_error(mv_view_assign(v, dk, 2, &from, &err), &err, MV_EVALUE, MSG_STRUCTURE);
    mv_key one = ki(0);
    mv_span row;
    assert_int_equal(mv_span_slice(&row, &s, &one, 1, &err), 0);
    mv_span_buffer(&row, &from);
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
    mv_span s1, sn, s2, t, u;
    mv_error err;
    mv_key k1 = ks(7, 10, 1, -2);
    mv_key k2[] = {KN, ks(4, 0, 0, -1), ki(2)};
    ptrdiff_t idx[] = {0, -1};
    mv_value val[3];
    mv_buffer out;
    noalloc_begin();
    int rc1 = mv_span_from_buffer(&s1, &b1, &err);
    int rcn = mv_span_from_buffer(&sn, &bnull, &err);
    int rc2 = mv_span_from_view(&s2, v, &err);
    int rc3 = mv_span_slice(&t, &s1, &k1, 1, &err);
    int rc4 = mv_span_slice(&u, &s2, k2, 3, &err);
    int rc5 = mv_span_get_item(&u, idx, 2, &val[0], 1, &err);
    int rc6 = mv_span_get_item(&t, &idx[1], 1, &val[1], 1, &err);
    int rc7 = mv_span_get_item(&sn, &idx[1], 1, &val[2], 1, &err);
    void *p1 = mv_span_at(&u, idx);
    void *p2 = mv_span_at1(&t, -1);
    mv_span_buffer(&u, &out);
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
        mv_span s;
        mv_error err;
        mv_error_clear(&err);
        noalloc_begin();
        int rc = mv_span_from_buffer(&s, &descs[k], &err);
        long failed = noalloc_end();
        if (rc != 0 || failed != 0)
            fail_msg("descriptor %d (ndim %d): rc %d '%s', %ld allocation(s) tried", k,
                     descs[k].ndim, rc, err.message, failed);
    }
}

/* The header: "Native integer and float formats are read and written
 * directly". */
/* ------------------------------------------------------------------------ */
/* What from_buffer accepts is a span from_buffer accepts again             */
/* ------------------------------------------------------------------------ */

/* No format means "B" (itemsize 1); with itemsize 4 the descriptor is one
 * mv_view_new refuses.  Whatever from_buffer makes of it must survive the
 * round trip the header recommends for checking a span. */
static void format_null_wide_items(void **state)
{
    (void)state;
    int32_t m[4] = {0x01020304, 5, 6, 7};
    mv_buffer b = desc(m, NULL, 4, 1, NULL, NULL, 0);
    b.len = 16;
    mv_span s;
    mv_error err;
    mv_error_clear(&err);
    int rc = mv_span_from_buffer(&s, &b, &err);
    if (rc < 0)
        return; /* refused: consistent */
    mv_buffer rb;
    mv_span_buffer(&s, &rb);
    mv_span t;
    mv_error_clear(&err);
    rc = mv_span_from_buffer(&t, &rb, &err);
    if (rc != 0)
        fail_msg("span {format '%s', itemsize %td, native '%c'} fails its own check: %s", s.format,
                 s.itemsize, s.native, err.message);
    assert_span_equal(&t, &s);
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
        mv_span s;
        poison(&s);
        mv_error err, verr;
        mv_error_clear(&err);
        int rc = mv_span_from_buffer(&s, &b, &err);
        int vrc = mv_buffer_validate(&b, &verr);
        if (rc != MV_EOVERFLOW)
            fail_msg("format %s: buf UINTPTR_MAX - 5, len 10, no shape: span rc %d '%s' "
                     "(mv_buffer_validate: %d)",
                     formats[f] ? formats[f] : "NULL", rc, rc ? err.message : "", vrc);
        assert_string_equal(err.message, "buffer len reaches outside the address space");
        assert_poisoned(&s);
    }
}

/* ------------------------------------------------------------------------ */
/* mv_span_cast                                                               */
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
#define MSG_NON_BYTE   "memoryview: cannot cast between two non-byte formats"
#define MSG_1D_ND      "memoryview: cast must be 1D -> ND or ND -> 1D"
#define MSG_SPAN_NDIM9 "span: ndim must be in [0, 8], not 9"
#define MSG_OUTSIDE    "span: the span reaches outside the view's memory"
#define MSG_BAD_SPAN   "span: itemsize must be > 0 and format not NULL"

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

static mv_span span_of_view(const mv_view *v)
{
    mv_span s;
    mv_error err;
    poison(&s); /* every byte defined: spans are compared with memcmp */
    if (mv_span_from_view(&s, v, &err) != 0)
        fail_msg("mv_span_from_view: %s", err.message);
    return s;
}

/* The first field in which span a and descriptor b differ (format as text),
 * or NULL. */
static const char *span_buffer_diff(const mv_span *a, const mv_buffer *b)
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
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d] || a->strides[d] != b->strides[d])
            return "shape / strides";
    return NULL;
}

/* mv_format_parse's native code of text (the test's model of out->native). */
static char parsed_native(const char *text)
{
    mv_format f;
    if (mv_format_parse(&f, text, NULL) != 0)
        fail_msg("'%s' does not parse", text);
    char c = f.native;
    mv_format_clear(&f);
    return c;
}

/* mv_span_cast of v's span and mv_view_cast of v with the same arguments
 * agree: the same error (code and text, *out untouched, also when out is
 * the span itself), or the same layout.  A view cast to more than
 * MV_SPAN_MAX_NDIM dimensions is the span's ndim error.  Returns 1 when
 * the cast succeeded. */
static int check_cast_pair(mv_view *v, const char *format, const ptrdiff_t *shape, int ndim,
                           int flags, const char *what)
{
    mv_span s = span_of_view(v);
    mv_span out, self;
    poison(&out);
    memcpy(&self, &s, sizeof self);
    mv_error err, serr, verr;
    mv_error_clear(&err);
    mv_error_clear(&verr);
    int rc = mv_span_cast(&out, &s, format, shape, ndim, flags, &err);
    int src = mv_span_cast(&self, &self, format, shape, ndim, flags, &serr);
    mv_view *c = mv_view_cast(v, format, shape, ndim, flags, &verr);
    if (src != rc)
        fail_msg("%s: in place rc %d, out of place %d", what, src, rc);
    const mv_buffer *b = c ? mv_view_buffer(c, NULL) : NULL;
    if (b && b->ndim > MV_SPAN_MAX_NDIM) {
        char msg[MV_ERROR_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "span: ndim must be in [0, 8], not %d", b->ndim);
        mv_decref(mv_view_object(c));
        c = NULL;
        verr.code = MV_EVALUE;
        snprintf(verr.message, sizeof verr.message, "%s", msg);
    }
    if (!c) {
        if (rc != verr.code || err.code != verr.code || strcmp(err.message, verr.message) != 0)
            fail_msg("%s: span rc %d '%s', view %d '%s'", what, rc, rc ? err.message : "",
                     verr.code, verr.message);
        assert_string_equal(serr.message, err.message);
        assert_poisoned(&out);
        assert_memory_equal(&self, &s, sizeof s);
        return 0;
    }
    if (rc != 0)
        fail_msg("%s: span rc %d '%s', the view cast succeeded", what, rc, err.message);
    const char *diff = span_buffer_diff(&out, b);
    if (diff)
        fail_msg("%s: %s differs from the view cast's", what, diff);
    assert_ptr_equal(out.format, format);
    if (out.native != parsed_native(format))
        fail_msg("%s: native %d, the format's %d", what, out.native, parsed_native(format));
    assert_span_equal(&self, &out);
    assert_ptr_equal(self.format, format);
    mv_decref(mv_view_object(c));
    return 1;
}

typedef struct cast_shape {
    int ndim;
    const ptrdiff_t *shape;
} cast_shape;

/* Every source x format x shape x flags: span cast and view cast agree. */
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

/* Cast s into a fresh span (fails the test on error). */
static mv_span cast_span(const mv_span *s, const char *format, const ptrdiff_t *shape, int ndim,
                         int flags)
{
    mv_span out;
    mv_error err;
    poison(&out);
    if (mv_span_cast(&out, s, format, shape, ndim, flags, &err) != 0)
        fail_msg("mv_span_cast '%s': %s", format, err.message);
    assert_ptr_equal(out.format, format);
    return out;
}

static mv_value item_at(const mv_span *s, const ptrdiff_t *idx, int n)
{
    mv_value v[2];
    mv_error err;
    if (mv_span_get_item(s, idx, n, v, 2, &err) != 0)
        fail_msg("mv_span_get_item: %s", err.message);
    return v[0];
}

/* Casts of a 24-byte span with every expectation written out. */
static void cast_by_hand(void **state)
{
    (void)state;
    _Alignas(8) unsigned char mem[24];
    ptrdiff_t n24[] = {24};
    mv_buffer b = desc(mem, "B", 1, 1, n24, NULL, 0);
    mv_span s = span_of(&b);
    mv_error err;

    /* 'i': 6 items of 4 bytes. */
    const int32_t ints[6] = {-5, 70000, INT32_MAX, INT32_MIN, 12, -1};
    memcpy(mem, ints, sizeof ints);
    mv_span t = cast_span(&s, "i", NULL, -1, MV_CAST_STRICT);
    ptrdiff_t sh6[] = {6}, st4[] = {4};
    expect_span(&t, mem, 4, 1, sh6, st4);
    assert_int_equal(t.native, 'i');
    assert_false(t.readonly);
    for (ptrdiff_t i = 0; i < 6; i++) {
        assert_int_equal(item_at(&t, &i, 1).v.i, ints[i]);
        assert_ptr_equal(mv_span_at1(&t, i), mem + 4 * i);
    }
    /* ... and written through. */
    ptrdiff_t i4 = 4;
    mv_value w = {.kind = MV_VALUE_SIGNED, .v.i = -123456};
    assert_int_equal(mv_span_set_item(&t, &i4, 1, &w, 1, &err), 0);
    assert_int_equal(read_i32(mem + 16), -123456);
    /* Back to bytes, 1-D -> 1-D strict. */
    mv_span back = cast_span(&t, "B", NULL, -1, MV_CAST_STRICT);
    expect_span(&back, mem, 1, 1, n24, (ptrdiff_t[]){1});
    assert_int_equal(back.native, 'B');

    /* 'd' with a shape. */
    const double dbl[3] = {1.5, -2.25, 1e300};
    memcpy(mem, dbl, sizeof dbl);
    t = cast_span(&s, "@d", (ptrdiff_t[]){3}, 1, MV_CAST_STRICT);
    expect_span(&t, mem, 8, 1, (ptrdiff_t[]){3}, (ptrdiff_t[]){8});
    assert_int_equal(t.native, 'd');
    for (ptrdiff_t i = 0; i < 3; i++)
        assert_true(item_at(&t, &i, 1).v.d == dbl[i]);

    /* 'B' {2, 3, 4}: C order, then Fortran order. */
    for (int k = 0; k < 24; k++)
        mem[k] = (unsigned char)(11 * k + 1);
    ptrdiff_t sh234[] = {2, 3, 4};
    mv_span c3 = cast_span(&s, "B", sh234, 3, MV_CAST_STRICT);
    expect_span(&c3, mem, 1, 3, sh234, (ptrdiff_t[]){12, 4, 1});
    mv_span f3 = cast_span(&s, "B", sh234, 3, MV_CAST_FORTRAN);
    expect_span(&f3, mem, 1, 3, sh234, (ptrdiff_t[]){1, 2, 6});
    for (ptrdiff_t i = 0; i < 2; i++)
        for (ptrdiff_t j = 0; j < 3; j++)
            for (ptrdiff_t k = 0; k < 4; k++) {
                ptrdiff_t idx[] = {i, j, k};
                assert_int_equal(item_at(&c3, idx, 3).v.u, mem[12 * i + 4 * j + k]);
                assert_int_equal(item_at(&f3, idx, 3).v.u, mem[i + 2 * j + 6 * k]);
            }
    /* N-D -> 1-D: strict from C order; F order only without strict. */
    t = cast_span(&c3, "h", NULL, -1, MV_CAST_STRICT);
    expect_span(&t, mem, 2, 1, (ptrdiff_t[]){12}, (ptrdiff_t[]){2});
    t = cast_span(&f3, "h", NULL, -1, 0);
    expect_span(&t, mem, 2, 1, (ptrdiff_t[]){12}, (ptrdiff_t[]){2});
    for (ptrdiff_t i = 0; i < 12; i++) {
        uint16_t h;
        memcpy(&h, mem + 2 * i, 2);
        assert_int_equal(item_at(&t, &i, 1).v.i, (int16_t)h);
    }
    /* N-D -> N-D is wide only. */
    t = cast_span(&c3, "h", (ptrdiff_t[]){3, 4}, 2, 0);
    expect_span(&t, mem, 2, 2, (ptrdiff_t[]){3, 4}, (ptrdiff_t[]){8, 2});
    t = cast_span(&c3, "i", (ptrdiff_t[]){2, 3}, 2, MV_CAST_FORTRAN);
    expect_span(&t, mem, 4, 2, (ptrdiff_t[]){2, 3}, (ptrdiff_t[]){4, 8});
    /* Eight dimensions of 1 over one byte: the span limit, reached. */
    mv_span one;
    mv_key first = ks(3, 0, 1, 0);
    assert_int_equal(mv_span_slice(&one, &s, &first, 1, &err), 0);
    ptrdiff_t ones8[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    t = cast_span(&one, "B", ones8, 8, MV_CAST_STRICT);
    assert_int_equal(t.ndim, 8);
    assert_int_equal(t.len, 1);
    for (int d = 0; d < 8; d++) {
        assert_int_equal(t.shape[d], 1);
        assert_int_equal(t.strides[d], 1);
    }

    /* 0-dim from the first 8 bytes. */
    memcpy(mem, &dbl[1], 8);
    mv_key first8 = ks(3, 0, 8, 0);
    mv_span s8;
    assert_int_equal(mv_span_slice(&s8, &s, &first8, 1, &err), 0);
    t = cast_span(&s8, "d", NULL, 0, MV_CAST_STRICT);
    assert_int_equal(t.ndim, 0);
    assert_int_equal(t.len, 8);
    assert_int_equal(t.itemsize, 8);
    assert_ptr_equal(t.buf, mem);
    assert_true(item_at(&t, NULL, 0).v.d == -2.25);

    /* Wide casts: standard byte orders, repeat counts, records, strings. */
    for (int k = 0; k < 6; k++)
        put_uint(mem + 4 * k, 4, true, (0x01020304u * (uint32_t)(k + 1)) ^ 0x80000000u);
    t = cast_span(&s, "<i", NULL, -1, 0);
    expect_span(&t, mem, 4, 1, sh6, st4);
    assert_int_equal(t.native, 0);
    for (ptrdiff_t i = 0; i < 6; i++)
        assert_int_equal(item_at(&t, &i, 1).v.i,
                         (int32_t)((0x01020304u * (uint32_t)(i + 1)) ^ 0x80000000u));
    for (int k = 0; k < 12; k++)
        put_uint(mem + 2 * k, 2, false, 0xF000u + (unsigned)k);
    t = cast_span(&s, ">h", NULL, -1, 0);
    expect_span(&t, mem, 2, 1, (ptrdiff_t[]){12}, (ptrdiff_t[]){2});
    for (ptrdiff_t i = 0; i < 12; i++)
        assert_int_equal(item_at(&t, &i, 1).v.i, (int16_t)(0xF000 + i));
    t = cast_span(&s, "2h", (ptrdiff_t[]){2, 3}, 2, 0);
    expect_span(&t, mem, 4, 2, (ptrdiff_t[]){2, 3}, (ptrdiff_t[]){12, 4});
    assert_int_equal(t.native, 0);
    ptrdiff_t i12[] = {1, 2};
    mv_value two[2];
    assert_int_equal(mv_span_get_item(&t, i12, 2, two, 2, &err), 0);
    int16_t h2[2];
    memcpy(h2, mem + 20, 4);
    assert_int_equal(two[0].v.i, h2[0]);
    assert_int_equal(two[1].v.i, h2[1]);
    for (int k = 0; k < 4; k++) {
        put_uint(mem + 6 * k, 4, true, (uint64_t)(uint32_t)(-70000 * (k + 1)));
        put_uint(mem + 6 * k + 4, 2, true, (uint64_t)(300 + k));
    }
    t = cast_span(&s, "T{<i:a:<h:b:}", NULL, -1, 0);
    expect_span(&t, mem, 6, 1, (ptrdiff_t[]){4}, (ptrdiff_t[]){6});
    assert_int_equal(t.native, 0);
    for (ptrdiff_t i = 0; i < 4; i++) {
        assert_int_equal(mv_span_get_item(&t, &i, 1, two, 2, &err), 0);
        assert_int_equal(two[0].v.i, -70000 * (i + 1));
        assert_int_equal(two[1].v.i, 300 + i);
    }
    memcpy(mem, "abcdefghijklmnopqrstuvwx", 24);
    t = cast_span(&s, "3s", (ptrdiff_t[]){2, 4}, 2, 0);
    expect_span(&t, mem, 3, 2, (ptrdiff_t[]){2, 4}, (ptrdiff_t[]){12, 3});
    mv_value sv = item_at(&t, i12, 2);
    assert_int_equal(sv.kind, MV_VALUE_BYTES);
    assert_int_equal(sv.v.bytes.len, 3);
    assert_memory_equal(sv.v.bytes.ptr, "stu", 3);

    /* Read-only stays read-only. */
    mv_buffer rb = desc(mem, "B", 1, 1, n24, NULL, 1);
    mv_span rs = span_of(&rb);
    t = cast_span(&rs, "i", (ptrdiff_t[]){2, 3}, 2, MV_CAST_STRICT);
    assert_true(t.readonly);
    expect_error(mv_span_set_item(&t, i12, 2, &w, 1, &err), &err, MV_ETYPE, MSG_READONLY);

    /* out may be the span itself. */
    mv_span inplace = s;
    assert_int_equal(mv_span_cast(&inplace, &inplace, "i", (ptrdiff_t[]){3, 2}, 2, 0, &err), 0);
    expect_span(&inplace, mem, 4, 2, (ptrdiff_t[]){3, 2}, (ptrdiff_t[]){8, 4});
    assert_int_equal(inplace.native, 'i');
}

typedef struct cast_error_case {
    int source; /* index into the test's spans */
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
    mv_buffer descs[] = {
        desc(mem, "B", 1, 1, n24, NULL, 0),   /* 0: 24 bytes */
        desc(mem, "B", 1, 1, n10, NULL, 0),   /* 1: 10 bytes */
        desc(mem, "B", 1, 1, n12, s2, 0),     /* 2: every other byte */
        desc(mem, "i", 4, 2, sh23, fst23, 0), /* 3: F-contiguous only */
        desc(mem, "B", 1, 1, n1, NULL, 1),    /* 4: one byte */
        desc(mem, "i", 4, 1, n6, NULL, 0),    /* 5: 'i' */
        desc(mem, "i", 4, 2, sh23, NULL, 0),  /* 6: 'i' 2-D */
        desc(mem, "B", 1, 1, n0, NULL, 0),    /* 7: empty */
    };
    mv_span spans[8];
    for (int k = 0; k < 8; k++)
        spans[k] = span_of(&descs[k]);
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
        {4, "B", 9, ones65, 0, MV_EVALUE, MSG_SPAN_NDIM9},
        {4, "B", 9, ones65, MV_CAST_STRICT, MV_EVALUE, MSG_SPAN_NDIM9},
        {4, "c", 9, ones65, MV_CAST_FORTRAN, MV_EVALUE, MSG_SPAN_NDIM9},
        {4, "B", 65, ones65, 0, MV_EVALUE, "memoryview: number of dimensions must not exceed 64"},
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
        const mv_span *src = &spans[k->source];
        mv_span out, self;
        mv_error err;
        poison(&out);
        mv_error_clear(&err);
        int rc = mv_span_cast(&out, src, k->format, k->shape, k->ndim, k->flags, &err);
        if (rc != k->code || strcmp(err.message, k->msg) != 0)
            fail_msg("case %zu: rc %d '%s', expected %d '%s'", c, rc, err.message, k->code, k->msg);
        assert_int_equal(err.code, k->code);
        assert_poisoned(&out);
        /* In place: the span stays as it was. */
        memcpy(&self, src, sizeof self);
        expect_error(mv_span_cast(&self, &self, k->format, k->shape, k->ndim, k->flags, &err), &err,
                     k->code, k->msg);
        assert_memory_equal(&self, src, sizeof self);
        /* err may be NULL. */
        assert_int_equal(mv_span_cast(&out, src, k->format, k->shape, k->ndim, k->flags, NULL),
                         k->code);
        assert_poisoned(&out);
    }
    /* NULL out or span. */
    mv_span out;
    mv_error err;
    poison(&out);
    expect_error(mv_span_cast(NULL, &spans[0], "B", NULL, -1, 0, &err), &err, MV_EVALUE, MSG_NULL);
    expect_error(mv_span_cast(&out, NULL, "B", NULL, -1, 0, &err), &err, MV_EVALUE, MSG_NULL);
    assert_poisoned(&out);
    assert_int_equal(mv_span_cast(NULL, NULL, NULL, NULL, 0, 0, NULL), MV_EVALUE);
    /* The F-contiguous source is fine without strict. */
    mv_span t = cast_span(&spans[3], "B", NULL, -1, 0);
    expect_span(&t, mem, 1, 1, n24, (ptrdiff_t[]){1});
}

/* ------------------------------------------------------------------------ */
/* mv_view_from_span                                                          */
/* ------------------------------------------------------------------------ */

/* mv_view_from_span(base, t): a view with t's layout on base's exporter
 * (no count of the exporter or of base changes), whose items are t's. */
static mv_view *view_of_span(mv_view *base, const mv_span *t)
{
    mv_object *exporter = mv_view_exporter(base);
    size_t exports = mv_object_exports(exporter), refs = mv_object_refcount(exporter);
    size_t base_refs = mv_object_refcount(mv_view_object(base));
    mv_error err;
    mv_view *v = mv_view_from_span(base, t, &err);
    if (!v)
        fail_msg("mv_view_from_span: %s", err.message);
    assert_int_equal(mv_object_exports(exporter), exports);
    assert_int_equal(mv_object_refcount(exporter), refs);
    assert_int_equal(mv_object_refcount(mv_view_object(base)), base_refs);
    assert_int_equal(mv_object_refcount(mv_view_object(v)), 1);
    assert_ptr_equal(mv_view_exporter(v), exporter);

    const mv_buffer *b = mv_view_buffer(v, &err);
    assert_non_null(b);
    const char *diff = span_buffer_diff(t, b);
    if (diff)
        fail_msg("the view's %s differs from the span's", diff);
    assert_null(b->suboffsets);
    const mv_format *fmt = mv_view_format(v, &err);
    assert_non_null(fmt);
    assert_int_equal(fmt->native, t->native);

    ptrdiff_t idx[MV_SPAN_MAX_NDIM] = {0};
    for (ptrdiff_t c = 0; c < product(t->ndim, t->shape); c++) {
        assert_ptr_equal(mv_buffer_get_pointer(b, idx, &err), mv_span_at(t, idx));
        mv_value a[4], e[4];
        assert_int_equal(mv_view_get_item(v, idx, t->ndim, a, 4, &err), 0);
        assert_int_equal(mv_span_get_item(t, idx, t->ndim, e, 4, &err), 0);
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

/* Spans sliced and cast from a bytearray's view, made views again. */
static void view_from_span_round_trip(void **state)
{
    (void)state;
    mv_object *ba;
    unsigned char *data;
    mv_view *base = bytearray_view(48, &ba, &data);
    assert_int_equal(mv_object_exports(ba), 1);
    mv_span s = span_of_view(base);
    mv_error err;
    mv_value w = {.kind = MV_VALUE_UNSIGNED, .v.u = 0xEE};

    /* The whole span. */
    mv_view *v = view_of_span(base, &s);
    ptrdiff_t i47 = 47;
    assert_int_equal(mv_view_set_item(v, &i47, 1, &w, 1, &err), 0);
    assert_int_equal(data[47], 0xEE);
    assert_int_equal(mv_view_is_contiguous(v, 'C', &err), 1);
    mv_decref(mv_view_object(v));

    /* data[40:4:-3]: 12 items from data + 40 down. */
    mv_span t;
    mv_key k1 = ks(7, 40, 4, -3);
    assert_int_equal(mv_span_slice(&t, &s, &k1, 1, &err), 0);
    expect_span(&t, data + 40, 1, 1, (ptrdiff_t[]){12}, (ptrdiff_t[]){-3});
    v = view_of_span(base, &t);
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
    mv_span c68 = cast_span(&s, "B", (ptrdiff_t[]){6, 8}, 2, 0);
    mv_key k2[] = {ks(4, 0, 0, -2), ks(5, 1, 0, 3)};
    assert_int_equal(mv_span_slice(&t, &c68, k2, 2, &err), 0);
    expect_span(&t, data + 41, 1, 2, (ptrdiff_t[]){3, 3}, (ptrdiff_t[]){-16, 3});
    v = view_of_span(base, &t);
    ptrdiff_t i21[] = {2, 1};
    w.v.u = 0x5A;
    assert_int_equal(mv_view_set_item(v, i21, 2, &w, 1, &err), 0);
    assert_int_equal(data[8 + 4], 0x5A);
    mv_decref(mv_view_object(v));

    /* Casts: 'i' {3, 4}, 'h' {4, 6} in Fortran order. */
    t = cast_span(&s, "i", (ptrdiff_t[]){3, 4}, 2, MV_CAST_STRICT);
    v = view_of_span(base, &t);
    ptrdiff_t i23[] = {2, 3};
    mv_value wi = {.kind = MV_VALUE_SIGNED, .v.i = -2000000000};
    assert_int_equal(mv_view_set_item(v, i23, 2, &wi, 1, &err), 0);
    assert_int_equal(read_i32(data + 44), -2000000000);
    assert_int_equal(mv_view_is_contiguous(v, 'C', &err), 1);
    mv_decref(mv_view_object(v));
    t = cast_span(&s, "h", (ptrdiff_t[]){4, 6}, 2, MV_CAST_FORTRAN);
    expect_span(&t, data, 2, 2, (ptrdiff_t[]){4, 6}, (ptrdiff_t[]){2, 8});
    v = view_of_span(base, &t);
    assert_int_equal(mv_view_is_contiguous(v, 'F', &err), 1);
    assert_int_equal(mv_view_is_contiguous(v, 'C', &err), 0);
    mv_decref(mv_view_object(v));

    /* 0-dim: {6, 8}[2, 5]. */
    mv_key k3[] = {ki(2), ki(5)};
    assert_int_equal(mv_span_slice(&t, &c68, k3, 2, &err), 0);
    assert_int_equal(t.ndim, 0);
    assert_ptr_equal(t.buf, data + 21);
    v = view_of_span(base, &t);
    mv_decref(mv_view_object(v));

    /* A new axis (stride 0) over data[10:14]. */
    mv_key k4[] = {KN, ks(3, 10, 14, 0)};
    assert_int_equal(mv_span_slice(&t, &s, k4, 2, &err), 0);
    expect_span(&t, data + 10, 1, 2, (ptrdiff_t[]){1, 4}, (ptrdiff_t[]){0, 1});
    v = view_of_span(base, &t);
    mv_decref(mv_view_object(v));

    /* Formats that are not native single characters. */
    t = cast_span(&s, "<i", NULL, -1, 0);
    v = view_of_span(base, &t);
    mv_decref(mv_view_object(v));
    t = cast_span(&s, "T{<i:a:<h:b:}", (ptrdiff_t[]){2, 4}, 2, MV_CAST_FORTRAN);
    expect_span(&t, data, 6, 2, (ptrdiff_t[]){2, 4}, (ptrdiff_t[]){6, 12});
    v = view_of_span(base, &t);
    mv_decref(mv_view_object(v));

    /* The format text is copied: the caller's buffer may change after. */
    char text[] = "<h";
    t = cast_span(&s, text, NULL, -1, 0);
    v = view_of_span(base, &t);
    text[1] = 'q';
    assert_string_equal(mv_view_buffer(v, &err)->format, "<h");
    assert_int_equal(mv_view_format(v, &err)->itemsize, 2);
    mv_decref(mv_view_object(v));

    /* A read-only span of a writable base gives a read-only view. */
    t = s;
    t.readonly = true;
    v = view_of_span(base, &t);
    expect_error(mv_view_set_item(v, &i5, 1, &w, 1, &err), &err, MV_ETYPE, MSG_READONLY);
    mv_decref(mv_view_object(v));

    /* Empty: data[5:5] (and anywhere at all). */
    mv_key k5 = ks(3, 5, 5, 0);
    assert_int_equal(mv_span_slice(&t, &s, &k5, 1, &err), 0);
    assert_int_equal(t.shape[0], 0);
    assert_int_equal(t.len, 0);
    v = view_of_span(base, &t);
    mv_decref(mv_view_object(v));
    t.buf = (char *)(uintptr_t)0x10;
    v = view_of_span(base, &t);
    mv_decref(mv_view_object(v));
    t = cast_span(&c68, "B", (ptrdiff_t[]){6, 8}, 2, 0);
    t.shape[0] = 0;
    t.len = 0;
    t.buf = NULL;
    v = view_of_span(base, &t);
    mv_decref(mv_view_object(v));

    /* Eight dimensions, the most a span has: {2, 1, 3, 1, 2, 1, 2, 1}. */
    ptrdiff_t sh8[] = {2, 1, 3, 1, 2, 1, 2, 1};
    t = cast_span(&s, "h", sh8, 8, MV_CAST_FORTRAN);
    expect_span(&t, data, 2, 8, sh8, (ptrdiff_t[]){2, 4, 4, 12, 12, 24, 24, 48});
    v = view_of_span(base, &t);
    mv_decref(mv_view_object(v));

    /* A view of a view made from a span, and a span of a sub-view. */
    mv_key k6 = ks(3, 8, 24, 0);
    mv_view *sub = sub_view(base, &k6, 1);
    mv_span ss = span_of_view(sub);
    mv_key k7 = ks(4, 0, 0, -1);
    assert_int_equal(mv_span_slice(&t, &ss, &k7, 1, &err), 0);
    v = view_of_span(sub, &t);
    mv_span vs = span_of_view(v);
    mv_view *v2 = view_of_span(v, &vs);
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
static void view_from_span_outlives_base(void **state)
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
    mv_span s = span_of_view(base);
    mv_span t;
    mv_key k = ks(7, 30, 0, -4); /* 30, 26, ..., 2 */
    assert_int_equal(mv_span_slice(&t, &s, &k, 1, &err), 0);
    mv_view *v = mv_view_from_span(base, &t, &err);
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
    /* A view of it, made from its own span, keeps it in turn. */
    mv_span vs = span_of_view(v);
    mv_view *v2 = mv_view_from_span(v, &vs, &err);
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
    s = span_of_view(base);
    t = cast_span(&s, "B", (ptrdiff_t[]){3, 4}, 2, MV_CAST_FORTRAN);
    v = view_of_span(base, &t);
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
    s = span_of_view(base);
    v = mv_view_from_span(base, &s, &err);
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

/* mv_view_from_span fails with code and message, and no count changes. */
#define expect_from_span_error(base, span, code, msg)                                              \
    expect_from_span_error_at(__LINE__, base, span, code, msg)

static void expect_from_span_error_at(int line, mv_view *base, const mv_span *span, int code,
                                      const char *msg)
{
    mv_object *x = mv_view_exporter(base);
    size_t exports = x ? mv_object_exports(x) : 0;
    mv_error err;
    mv_error_clear(&err);
    mv_view *v = mv_view_from_span(base, span, &err);
    if (v)
        fail_msg("line %d: a view, expected %d '%s'", line, code, msg);
    if (err.code != code || strcmp(err.message, msg) != 0)
        fail_msg("line %d: %d '%s', expected %d '%s'", line, err.code, err.message, code, msg);
    assert_null(mv_view_from_span(base, span, NULL));
    if (x)
        assert_int_equal(mv_object_exports(x), exports);
}

static void view_from_span_errors(void **state)
{
    (void)state;
    mv_object *ba;
    unsigned char *data;
    mv_view *base = bytearray_view(48, &ba, &data);
    mv_span s = span_of_view(base), t;
    mv_error err;
    char msg[MV_ERROR_MESSAGE_MAX];

    /* Arguments. */
    expect_from_span_error(NULL, &s, MV_EVALUE, "memoryview: view must not be NULL");
    mv_view *rel = released_view();
    expect_from_span_error(rel, &s, MV_EVALUE, RELEASED_MSG);
    mv_decref(mv_view_object(rel));
    expect_from_span_error(base, NULL, MV_EVALUE, MSG_NULL);
    t = s;
    t.ndim = -1;
    expect_from_span_error(base, &t, MV_EVALUE, "span: ndim must be in [0, 8], not -1");
    t.ndim = 9;
    expect_from_span_error(base, &t, MV_EVALUE, MSG_SPAN_NDIM9);
    t.ndim = INT_MIN;
    snprintf(msg, sizeof msg, "span: ndim must be in [0, 8], not %d", INT_MIN);
    expect_from_span_error(base, &t, MV_EVALUE, msg);

    /* Outside the base's memory: a byte before, a byte after, past the
     * end, a negative stride running off the front. */
    t = s;
    t.buf = (char *)data - 1;
    expect_from_span_error(base, &t, MV_EVALUE, MSG_OUTSIDE);
    t.buf = (char *)data + 1;
    expect_from_span_error(base, &t, MV_EVALUE, MSG_OUTSIDE);
    t.buf = (char *)data + 48;
    t.shape[0] = 1;
    t.len = 1;
    expect_from_span_error(base, &t, MV_EVALUE, MSG_OUTSIDE);
    t.buf = (char *)data + 47; /* the last byte: inside */
    mv_view *v = mv_view_from_span(base, &t, &err);
    assert_non_null(v);
    mv_decref(mv_view_object(v));
    t = s;
    t.buf = (char *)data + 10;
    t.shape[0] = 12;
    t.strides[0] = -1;
    t.len = 12;
    expect_from_span_error(base, &t, MV_EVALUE, MSG_OUTSIDE);
    t.shape[0] = 11; /* data[10] down to data[0] */
    t.len = 11;
    v = mv_view_from_span(base, &t, &err);
    assert_non_null(v);
    mv_decref(mv_view_object(v));
    t = cast_span(&s, "i", (ptrdiff_t[]){3, 4}, 2, 0);
    t.strides[0] = 20; /* the last item at 40 + 12 = 52 */
    expect_from_span_error(base, &t, MV_EVALUE, MSG_OUTSIDE);
    t.strides[0] = 16;
    t.strides[1] = -4;
    t.buf = (char *)data + 12; /* items at 12 + 16 i - 4 j: 0 to 44 */
    v = mv_view_from_span(base, &t, &err);
    assert_non_null(v);
    mv_decref(mv_view_object(v));

    /* Inside the exporter's memory but outside base's: base = data[8:24]. */
    mv_key k = ks(3, 8, 24, 0);
    mv_view *sub = sub_view(base, &k, 1);
    expect_from_span_error(sub, &s, MV_EVALUE, MSG_OUTSIDE);
    mv_key in = ks(3, 8, 24, 0), early = ks(3, 7, 24, 0), late = ks(3, 8, 25, 0);
    assert_int_equal(mv_span_slice(&t, &s, &early, 1, &err), 0);
    expect_from_span_error(sub, &t, MV_EVALUE, MSG_OUTSIDE);
    assert_int_equal(mv_span_slice(&t, &s, &late, 1, &err), 0);
    expect_from_span_error(sub, &t, MV_EVALUE, MSG_OUTSIDE);
    assert_int_equal(mv_span_slice(&t, &s, &in, 1, &err), 0);
    v = view_of_span(sub, &t);
    mv_decref(mv_view_object(v));
    /* An empty base holds no memory: only empty spans fit. */
    mv_key none = ks(3, 4, 4, 0);
    mv_view *empty = sub_view(base, &none, 1);
    mv_key one = ks(3, 4, 5, 0);
    assert_int_equal(mv_span_slice(&t, &s, &one, 1, &err), 0);
    expect_from_span_error(empty, &t, MV_EVALUE, MSG_OUTSIDE);
    assert_int_equal(mv_span_slice(&t, &s, &none, 1, &err), 0);
    v = view_of_span(empty, &t);
    mv_decref(mv_view_object(v));
    mv_decref(mv_view_object(empty));
    mv_decref(mv_view_object(sub));

    /* A writable span of a read-only view. */
    mv_view *ro = mv_view_toreadonly(base, &err);
    assert_non_null(ro);
    t = s;
    expect_from_span_error(ro, &t, MV_EBUFFER, "span: a writable span of a read-only view");
    t.readonly = true;
    v = view_of_span(ro, &t);
    mv_decref(mv_view_object(v));
    mv_decref(mv_view_object(ro));

    /* Format and itemsize. */
    t = s;
    t.format = "i";
    expect_from_span_error(base, &t, MV_EVALUE,
                           "span: itemsize 1 does not match format 'i' (size 4)");
    t = cast_span(&s, "<q", NULL, -1, 0);
    t.format = "T{<i:a:<h:b:}";
    expect_from_span_error(base, &t, MV_EVALUE,
                           "span: itemsize 8 does not match format 'T{<i:a:<h:b:}' (size 6)");
    t = s;
    t.format = NULL;
    expect_from_span_error(base, &t, MV_EVALUE, MSG_BAD_SPAN);
    t = s;
    t.shape[0] = 0;
    t.len = 0;
    t.itemsize = 0;
    expect_from_span_error(base, &t, MV_EVALUE, MSG_BAD_SPAN);
    t = s;
    t.itemsize = 0;
    expect_from_span_error(base, &t, MV_EVALUE, "buffer itemsize 0 is invalid for len 48");
    t = s;
    t.itemsize = -1;
    expect_from_span_error(base, &t, MV_EVALUE, "buffer itemsize -1 is invalid for len 48");

    /* Layouts mv_buffer_validate refuses. */
    t = s;
    t.len = 47;
    expect_from_span_error(base, &t, MV_EVALUE, "buffer len 47 != product(shape) * itemsize = 48");
    t.len = -48;
    expect_from_span_error(base, &t, MV_EVALUE, "buffer len -48 is negative");
    t = s;
    t.shape[0] = -1;
    t.len = 0;
    expect_from_span_error(base, &t, MV_EVALUE, "shape[0] = -1 is negative");
    t = s;
    t.buf = NULL;
    expect_from_span_error(base, &t, MV_EVALUE, "buffer buf is NULL but len is 48");
    t = s;
    t.strides[0] = PTRDIFF_MAX;
    snprintf(msg, sizeof msg, "strides[0] = %td times shape[0] - 1 = 47 overflows", PTRDIFF_MAX);
    expect_from_span_error(base, &t, MV_EOVERFLOW, msg);
    t = s;
    t.ndim = 0;
    expect_from_span_error(base, &t, MV_EVALUE, "buffer len 48 != itemsize 1 for ndim 0");

    /* A base with suboffsets: no span is inside it, except an empty one. */
    unsigned char rows[2][3] = {{1, 2, 3}, {4, 5, 6}};
    unsigned char *ptrs[2] = {rows[1], rows[0]};
    ptrdiff_t psh[] = {2, 3}, pst[] = {(ptrdiff_t)sizeof(unsigned char *), 1}, psub[] = {0, -1};
    mv_view *pil = view_layout(ptrs, "B", 1, 2, psh, pst, psub, 1);
    ptrdiff_t nptrs[] = {(ptrdiff_t)sizeof ptrs};
    mv_buffer pb = desc(ptrs, "B", 1, 1, nptrs, NULL, 1);
    t = span_of(&pb);
    expect_from_span_error(pil, &t, MV_EVALUE, MSG_OUTSIDE);
    /* The first pointer's bytes lie within base's own layout (ptrs to
     * ptrs + 8 + 2), still not memory a span of it may reach. */
    mv_buffer p0 = desc(ptrs, "B", 1, 1, (ptrdiff_t[]){(ptrdiff_t)sizeof ptrs[0]}, NULL, 1);
    t = span_of(&p0);
    expect_from_span_error(pil, &t, MV_EVALUE, MSG_OUTSIDE);
    mv_buffer rb = desc(rows[0], "B", 1, 1, (ptrdiff_t[]){3}, NULL, 1);
    t = span_of(&rb);
    expect_from_span_error(pil, &t, MV_EVALUE, MSG_OUTSIDE);
    t.shape[0] = 0;
    t.len = 0;
    v = mv_view_from_span(pil, &t, &err);
    assert_non_null(v);
    assert_int_equal(mv_view_buffer(v, &err)->len, 0);
    mv_decref(mv_view_object(v));
    mv_decref(mv_view_object(pil));

    /* Checks run in the header's order: ndim before layout before format. */
    t = s;
    t.ndim = 9;
    t.format = NULL;
    t.len = 3;
    expect_from_span_error(base, &t, MV_EVALUE, MSG_SPAN_NDIM9);
    t.ndim = 1;
    expect_from_span_error(base, &t, MV_EVALUE, "buffer len 3 != product(shape) * itemsize = 48");
    t.len = 48;
    t.buf = (char *)data + 1;
    expect_from_span_error(base, &t, MV_EVALUE, MSG_BAD_SPAN);

    assert_int_equal(mv_object_exports(ba), 1);
    mv_decref(mv_view_object(base));
    mv_decref(ba);
}

/* A view whose format does not parse: the span of it makes a view again,
 * which reports the parse error as the original does. */
static void view_from_span_unparseable(void **state)
{
    (void)state;
    unsigned char mem[1] = {42};
    mv_view *base = view_raw_format(mem, "Y");
    mv_span s = span_of_view(base);
    assert_int_equal(s.native, 0);
    mv_error err, verr;
    mv_view *v = mv_view_from_span(base, &s, &err);
    assert_non_null(v);
    assert_string_equal(mv_view_buffer(v, &err)->format, "Y");
    ptrdiff_t i0 = 0;
    mv_value x;
    int rc = mv_view_get_item(v, &i0, 1, &x, 1, &err);
    expect_error(mv_view_get_item(base, &i0, 1, &x, 1, &verr), &verr, MV_EVALUE, NULL);
    expect_error(rc, &err, MV_EVALUE, verr.message);
    /* Cast to bytes, it reads. */
    mv_span b = cast_span(&s, "B", NULL, -1, 0);
    mv_view *vb = view_of_span(base, &b);
    assert_int_equal(mv_view_get_item(vb, &i0, 1, &x, 1, &err), 0);
    assert_int_equal(x.v.u, 42);
    mv_decref(mv_view_object(vb));
    mv_decref(mv_view_object(v));
    mv_decref(mv_view_object(base));
}

/* ------------------------------------------------------------------------ */
/* Allocation failures                                                        */
/* ------------------------------------------------------------------------ */

/* mv_span_cast allocates only to parse a format other than a native single
 * character: every other cast, and every error before the parse, is free. */
static void cast_no_allocations(void **state)
{
    (void)state;
    static unsigned char mem[24];
    mv_buffer b = desc(mem, "B", 1, 1, (ptrdiff_t[]){24}, NULL, 0);
    mv_span s = span_of(&b);
    static const ptrdiff_t ones[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
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
        mv_span out;
        mv_error err;
        noalloc_begin();
        int rc = mv_span_cast(&out, &s, cases[c].format, cases[c].shape, cases[c].ndim,
                              cases[c].flags, &err);
        long failed = noalloc_end();
        if (rc != cases[c].rc || failed != 0)
            fail_msg("case %zu: rc %d, %ld allocation(s) tried", c, rc, failed);
    }
    mv_span one;
    mv_key k = ks(3, 0, 1, 0);
    mv_error err;
    assert_int_equal(mv_span_slice(&one, &s, &k, 1, &err), 0);
    noalloc_begin();
    int rc = mv_span_cast(&one, &one, "B", ones, 9, 0, &err);
    long failed = noalloc_end();
    assert_int_equal(failed, 0);
    expect_error(rc, &err, MV_EVALUE, MSG_SPAN_NDIM9);
}

static void cast_alloc_sweep(void **state)
{
    (void)state;
    _Alignas(8) unsigned char mem[24];
    for (int k = 0; k < 24; k++)
        mem[k] = (unsigned char)(k + 1);
    mv_buffer b = desc(mem, "B", 1, 1, (ptrdiff_t[]){24}, NULL, 0);
    mv_span s = span_of(&b);
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
        mv_span out;
        int rc = 0;
        long n;
        for (n = 0; n < 100; n++) {
            mv_error err;
            poison(&out);
            sweep_arm(n, &err);
            rc = mv_span_cast(&out, &s, cases[c].format, NULL, -1, cases[c].flags, &err);
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
            expect_span(&out, mem, cases[c].itemsize, 1, (ptrdiff_t[]){24 / cases[c].itemsize},
                        (ptrdiff_t[]){cases[c].itemsize});
            assert_ptr_equal(out.format, cases[c].format);
            assert_int_equal(out.native, 0);
        } else {
            assert_poisoned(&out);
        }
    }
}

static void view_from_span_alloc_sweep(void **state)
{
    (void)state;
    mv_object *ba;
    unsigned char *data;
    mv_view *base = bytearray_view(48, &ba, &data);
    mv_span s = span_of_view(base);
    mv_span spans[] = {
        s,
        cast_span(&s, "<i", (ptrdiff_t[]){3, 4}, 2, 0),
        cast_span(&s, "T{<i:a:<h:b:}", NULL, -1, 0),
        cast_span(&s, "h", (ptrdiff_t[]){2, 3, 4}, 3, MV_CAST_FORTRAN),
    };
    for (size_t c = 0; c < sizeof spans / sizeof spans[0]; c++) {
        mv_view *v;
        SWEEP_PTR(v, mv_view_from_span(base, &spans[c], sweep_err),
                  assert_int_equal(mv_object_exports(ba), 1));
        const mv_buffer *b = mv_view_buffer(v, NULL);
        assert_non_null(b);
        assert_null(span_buffer_diff(&spans[c], b));
        mv_decref(mv_view_object(v));
        /* base is intact after the failures. */
        mv_span again = span_of_view(base);
        assert_span_equal(&again, &s);
    }
    mv_decref(mv_view_object(base));
    assert_int_equal(mv_object_exports(ba), 0);
    mv_decref(ba);
}

/* ------------------------------------------------------------------------ */
/* mv_span_acquire                                                            */
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
 * mv_span_acquire for every request, against the values written out and
 * against mv_object_getbuffer's descriptor for the same request. */
static void acquire_plain_one(bool is_bytes, ptrdiff_t n, bool local)
{
    unsigned char init[64];
    for (ptrdiff_t i = 0; i < n; i++)
        init[i] = (unsigned char)(5 * i);
    mv_error err;
    mv_object *x = is_bytes ? mv_bytes_new(init, (size_t)n, &err)
                            : mv_bytearray_new(init, (size_t)n, &err);
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
        mv_span s;
        mv_buffer h;
        poison(&s);
        memset(&h, SPAN_POISON, sizeof h);
        int rc = mv_span_acquire(&s, &h, x, flags, &err);
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
        /* The span: the bytes, 1-D, unsigned bytes. */
        ptrdiff_t shape[] = {n}, strides[] = {1};
        expect_span(&s, data, 1, 1, shape, strides);
        assert_int_equal(s.len, n);
        assert_string_equal(s.format, "B");
        assert_int_equal(s.native, 'B');
        assert_int_equal(s.readonly, is_bytes);
        for (ptrdiff_t i = 0; i < n; i++)
            assert_int_equal(*(unsigned char *)mv_span_at1(&s, i), (unsigned char)(5 * i));
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
    mv_span s;
    mv_buffer h;
    poison(&s);
    assert_int_equal(mv_span_acquire(&s, &h, x, MV_BUF_FULL_RO, &err), 0);
    assert_int_equal(mv_object_exports(x), 1);
    assert_ptr_equal(h.obj, x);
    expect_span(&s, &m[4], 2, 2, shape, strides);
    assert_int_equal(s.native, 'h');
    for (ptrdiff_t i = 0; i < 3; i++)
        for (ptrdiff_t j = 0; j < 5; j++) {
            ptrdiff_t idx[] = {i, j};
            int16_t got;
            memcpy(&got, mv_span_at(&s, idx), 2);
            assert_int_equal(got, m[10 * i + 4 - j]);
        }
    mv_buffer_release(&h);
    assert_int_equal(mv_object_exports(x), 0);
    /* The exporter refuses a contiguous request for it: getbuffer's error. */
    memset(&h, SPAN_POISON, sizeof h);
    expect_error(mv_span_acquire(&s, &h, x, MV_BUF_C_CONTIGUOUS, &err), &err, MV_EBUFFER,
                 "memoryview: underlying buffer is not C-contiguous");
    assert_zeroed(&h);
    assert_int_equal(mv_object_exports(x), 0);
    assert_int_equal(mv_object_refcount(x), 1);

    /* A typed array and a view as exporters. */
    mv_object *a = mv_array_new("<i", 6, &err);
    assert_non_null(a);
    assert_int_equal(mv_span_acquire(&s, &h, a, MV_BUF_FULL, &err), 0);
    size_t alen = 0;
    void *adata = mv_object_data(a, &alen);
    ptrdiff_t ash[] = {6}, ast[] = {4};
    expect_span(&s, adata, 4, 1, ash, ast);
    assert_string_equal(s.format, "<i");
    assert_int_equal(mv_object_exports(a), 1);
    mv_view *v = mv_view_new(a, &err);
    assert_non_null(v);
    assert_int_equal(mv_object_exports(a), 2);
    mv_span sv;
    mv_buffer hv;
    poison(&sv);
    assert_int_equal(mv_span_acquire(&sv, &hv, mv_view_object(v), MV_BUF_FULL_RO, &err), 0);
    assert_span_equal(&sv, &s);
    mv_buffer_release(&hv);
    mv_buffer_release(&h);
    mv_decref(mv_view_object(v));
    assert_int_equal(mv_object_exports(a), 0);
    mv_decref(a);

    /* Descriptors a view takes but a span does not: the buffer is given
     * back (releasebuffer runs once, counts as before), *span unchanged. */
    probe p;
    memset(&p, 0, sizeof p);
    mv_object_init(&p.ob, &probe_type);
    ptrdiff_t ones[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    p.layout = desc(m, "h", 2, 9, ones, NULL, 0);
    poison(&s);
    memset(&h, SPAN_POISON, sizeof h);
    expect_error(mv_span_acquire(&s, &h, &p.ob, MV_BUF_FULL_RO, &err), &err, MV_EVALUE,
                 "span: ndim must be in [0, 8], not 9");
    assert_poisoned(&s);
    assert_zeroed(&h);
    assert_int_equal(p.releases, 1);
    assert_int_equal(mv_object_refcount(&p.ob), 1);
    assert_int_equal(mv_object_exports(&p.ob), 0);
    ptrdiff_t n4[] = {4}, subs[] = {0};
    int16_t *rows[1] = {m};
    p.layout = desc(rows, "h", 2, 1, n4, NULL, 0);
    p.layout.suboffsets = subs;
    expect_error(mv_span_acquire(&s, &h, &p.ob, MV_BUF_FULL_RO, &err), &err, MV_EVALUE,
                 MSG_SUBOFFSETS);
    assert_poisoned(&s);
    assert_zeroed(&h);
    assert_int_equal(p.releases, 2);
    assert_int_equal(mv_object_exports(&p.ob), 0);
    /* A refusal by the exporter itself. */
    p.fail = 1;
    expect_error(mv_span_acquire(&s, &h, &p.ob, MV_BUF_FULL_RO, &err), &err, MV_EBUFFER,
                 "probe: refused");
    assert_zeroed(&h);
    assert_int_equal(p.releases, 2);
    assert_int_equal(mv_object_refcount(&p.ob), 1);
    /* A good descriptor: released through the type once. */
    p.fail = 0;
    p.layout = desc(m, "h", 2, 1, n4, NULL, 1);
    assert_int_equal(mv_span_acquire(&s, &h, &p.ob, MV_BUF_FULL_RO, &err), 0);
    assert_true(s.readonly);
    assert_int_equal(s.shape[0], 4);
    assert_int_equal(mv_object_exports(&p.ob), 1);
    mv_buffer_release(&h);
    assert_int_equal(p.releases, 3);
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
        mv_span s;
        mv_buffer h;
        poison(&s);
        expect_error(mv_span_acquire(NULL, &h, x, MV_BUF_FULL_RO, &err), &err, MV_EVALUE,
                     MSG_NULL);
        assert_int_equal(mv_span_acquire(NULL, NULL, NULL, 0, NULL), MV_EVALUE);
        expect_error(mv_span_acquire(&s, NULL, x, MV_BUF_FULL_RO, &err), &err, MV_EVALUE,
                     "getbuffer: view must not be NULL");
        memset(&h, SPAN_POISON, sizeof h);
        expect_error(mv_span_acquire(&s, &h, NULL, MV_BUF_FULL_RO, &err), &err, MV_EVALUE,
                     "getbuffer: exporter must not be NULL");
        assert_zeroed(&h);
        /* Flags outside the request set, the bits the fast path tests among
         * them. */
        const int bad[] = {0x2, 0x200, 0x400, 0x1000, MV_BUF_FULL | 0x2, -1, INT_MIN};
        for (int b = 0; b < 7; b++) {
            memset(&h, SPAN_POISON, sizeof h);
            snprintf(msg, sizeof msg, "invalid buffer request flags 0x%x", (unsigned)bad[b]);
            expect_error(mv_span_acquire(&s, &h, x, bad[b], &err), &err, MV_EVALUE, msg);
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
    mv_span s;
    mv_buffer h;
    expect_error(mv_span_acquire(&s, &h, &plain, MV_BUF_SIMPLE, &err), &err, MV_ETYPE,
                 "a bytes-like object is required, not 'nobuf'");
    assert_zeroed(&h);
    mv_decref(ba);
    mv_decref(by);
}

/* bytes and bytearray spans come without an allocation. */
static void acquire_no_allocations(void **state)
{
    (void)state;
    mv_error err;
    mv_object *ba = mv_bytearray_new("abcd", 4, &err);
    mv_object *by = mv_bytes_new("abcd", 4, &err);
    assert_non_null(ba);
    assert_non_null(by);
    mv_span s1, s2;
    mv_buffer h1, h2;
    noalloc_begin();
    int rc1 = mv_span_acquire(&s1, &h1, ba, MV_BUF_FULL, &err);
    int rc2 = mv_span_acquire(&s2, &h2, by, MV_BUF_FULL_RO, &err);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(from_bytearray),
        cmocka_unit_test(from_buffer_layouts),
        cmocka_unit_test(from_external_layout),
        cmocka_unit_test(native_codes),
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
        cmocka_unit_test(span_buffer_round_trip),
        cmocka_unit_test(assign_from_span),
        cmocka_unit_test(no_allocations),
        cmocka_unit_test(no_allocations_nd_from_buffer),
        cmocka_unit_test(format_null_wide_items),
        cmocka_unit_test(strides_without_shape),
        cmocka_unit_test(address_space_without_shape),
        cmocka_unit_test(cast_matches_view_cast),
        cmocka_unit_test(cast_by_hand),
        cmocka_unit_test(cast_errors),
        cmocka_unit_test(view_from_span_round_trip),
        cmocka_unit_test(view_from_span_outlives_base),
        cmocka_unit_test(view_from_span_errors),
        cmocka_unit_test(view_from_span_unparseable),
        cmocka_unit_test(cast_no_allocations),
        cmocka_unit_test(cast_alloc_sweep),
        cmocka_unit_test(view_from_span_alloc_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
