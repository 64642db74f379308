/* Tests for the row walk (mv_walk_rows, src/ops/walk.c): every item of one
 * layout, or of two layouts of one shape in step, in C order, a row at a
 * time.  Checked against a model that knows nothing of rows: an odometer
 * over the original shape that computes each item's address as PEP 3118
 * does (PyBuffer_GetPointer: per dimension add index * stride, then follow
 * the pointer when the dimension has a suboffset), over random layouts --
 * C- and Fortran-contiguous, gaps, negative and zero strides, PIL-style
 * pointer tables -- and, for the shape of the rows, a model of which
 * dimensions may be merged written from the rule (no suboffsets,
 * stride[d] == shape[d + 1] * stride[d + 1], in both layouts). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ops/ops.h"
#include "testviews.h"

enum { MAXD = 5, MAXITEMS = 1024 }; /* extents 0..4: at most 4^5 items */

#define PS ((ptrdiff_t)sizeof(char *))

/* ------------------------------------------------------------------------ */
/* Test layouts over memory of their own                                    */

/* A layout and the memory under it: regions[0] holds buf; each indirect
 * dimension's pointers lead into the next region. */
typedef struct tl {
    int ndim;
    ptrdiff_t itemsize;
    ptrdiff_t shape[MAXD], strides[MAXD], sub[MAXD];
    bool indirect; /* sub[] is handed to the library (entries < 0: direct) */
    char *buf;
    char *regions[MAXD + 1];
    int nregions;
} tl;

static void tl_free(tl *l)
{
    for (int i = 0; i < l->nregions; i++)
        free(l->regions[i]);
    l->nregions = 0;
}

static ptrdiff_t count_items(int ndim, const ptrdiff_t *shape)
{
    ptrdiff_t n = 1;
    for (int d = 0; d < ndim; d++)
        n *= shape[d];
    return n;
}

/* Stride modes of the dimensions that hold items. */
enum { M_C, M_F, M_RANDOM, M_PADDED, NMODES };

/* Strides of dimensions [from, to) that hold items of `itemsize`. */
static void item_strides(tl *l, int from, int to, int mode, rng *r)
{
    ptrdiff_t s = l->itemsize;
    switch (mode) {
    case M_C:
        for (int d = to - 1; d >= from; d--) {
            l->strides[d] = s;
            s *= l->shape[d] > 0 ? l->shape[d] : 1;
        }
        break;
    case M_F:
        for (int d = from; d < to; d++) {
            l->strides[d] = s;
            s *= l->shape[d] > 0 ? l->shape[d] : 1;
        }
        break;
    case M_RANDOM:
        /* Any sign, 0, gaps, overlaps. */
        for (int d = from; d < to; d++)
            l->strides[d] = rng_between(r, -3, 4) * l->itemsize;
        break;
    default:
        /* Rows of a bigger array: each stride the whole inner block or a
         * little more, innermost of either sign, an outer one sometimes
         * reversed -- runs that merge and runs that do not. */
        s = rng_below(r, 3) == 0 ? -l->itemsize : l->itemsize;
        for (int d = to - 1; d >= from; d--) {
            l->strides[d] = s;
            ptrdiff_t ext = l->shape[d] > 0 ? l->shape[d] : 1;
            s *= ext + (rng_below(r, 3) == 0 ? 1 : 0);
            if (rng_below(r, 6) == 0)
                s = -s;
        }
        break;
    }
}

/* The lowest and highest byte offset dims [from, to) reach from their
 * start (an extent of 0 reaches nothing beyond the start). */
static void span(const tl *l, int from, int to, ptrdiff_t *lo, ptrdiff_t *hi)
{
    *lo = *hi = 0;
    for (int d = from; d < to; d++) {
        ptrdiff_t e = (l->shape[d] > 0 ? l->shape[d] - 1 : 0) * l->strides[d];
        if (e < 0)
            *lo += e;
        else
            *hi += e;
    }
}

/* Build a layout of the given shape: the dimensions whose bit is set in
 * `ind` are indirect (PIL style).  The dimensions up to and including an
 * indirect one lie in a pointer table (strides multiples of a pointer,
 * every slot of the table pointing into the next region where the
 * dimensions after it start, suboffset added); the dimensions after the
 * last indirect one hold the items, strided by `mode`.  force_indirect
 * hands a suboffsets array to the library even when ind is 0. */
static void tl_make(tl *l, int ndim, const ptrdiff_t *shape, ptrdiff_t itemsize, int mode,
                    unsigned ind, bool force_indirect, rng *r)
{
    memset(l, 0, sizeof *l);
    l->ndim = ndim;
    l->itemsize = itemsize;
    l->indirect = ind != 0 || force_indirect;
    for (int d = 0; d < ndim; d++) {
        l->shape[d] = shape[d];
        l->sub[d] = -1 - rng_below(r, 3); /* any negative value means direct */
    }
    /* Segments: [start[k], end[k]) ends with indirect dimension end[k] - 1,
     * except the last, which holds the items. */
    int start[MAXD + 1], end[MAXD + 1], nseg = 0, s0 = 0;
    for (int d = 0; d < ndim; d++)
        if (ind & (1u << d)) {
            start[nseg] = s0;
            end[nseg++] = d + 1;
            s0 = d + 1;
        }
    start[nseg] = s0;
    end[nseg++] = ndim;
    item_strides(l, s0, ndim, mode, r);
    for (int k = 0; k + 1 < nseg; k++)
        for (int d = start[k]; d < end[k]; d++)
            l->strides[d] = rng_between(r, -2, 3) * PS;

    /* Each segment's region: room for its span, its element (a pointer or
     * an item), the suboffset that leads into it, and some slack. */
    ptrdiff_t lo[MAXD + 1], hi[MAXD + 1], elem[MAXD + 1], into[MAXD + 1], size[MAXD + 1];
    for (int k = 0; k < nseg; k++) {
        span(l, start[k], end[k], &lo[k], &hi[k]);
        elem[k] = k + 1 < nseg ? PS : itemsize;
        into[k] = 0;
        if (k > 0) {
            int d = end[k - 1] - 1; /* the indirect dimension that leads here */
            into[k] = k + 1 < nseg ? rng_below(r, 3) * PS : rng_below(r, 3 * itemsize + 2);
            l->sub[d] = into[k];
        }
        size[k] = hi[k] - lo[k] + elem[k] + into[k] + rng_below(r, 3) * PS;
        l->regions[k] = calloc((size_t)size[k], 1);
        assert_non_null(l->regions[k]);
    }
    l->nregions = nseg;
    /* A pointer p into region k is good when p + into[k] is a start from
     * which the whole span of segment k stays inside it. */
    for (int k = 0; k + 1 < nseg; k++) {
        int n = k + 1;
        ptrdiff_t low = -lo[n] - into[n] > 0 ? -lo[n] - into[n] : 0;
        ptrdiff_t high = size[n] - hi[n] - elem[n] - into[n];
        assert_true(low <= high);
        ptrdiff_t step = n + 1 < nseg ? PS : 1;
        for (ptrdiff_t o = 0; o + PS <= size[k]; o += PS) {
            char *p = l->regions[n] + low + step * rng_below(r, (high - low) / step + 1);
            memcpy(l->regions[k] + o, &p, sizeof p);
        }
    }
    /* buf: a start in region 0 from which its whole span stays inside. */
    ptrdiff_t step0 = nseg > 1 ? PS : 1, slack0 = size[0] - (hi[0] - lo[0]) - elem[0];
    ptrdiff_t base = -lo[0] + step0 * rng_below(r, slack0 / step0 + 1);
    l->buf = l->regions[0] + base;
}

/* A direct layout of the given strides (C-contiguous when NULL) in memory
 * of its own. */
static void tl_strided(tl *l, int ndim, const ptrdiff_t *shape, ptrdiff_t itemsize,
                       const ptrdiff_t *strides, rng *r)
{
    tl_make(l, ndim, shape, itemsize, M_C, 0, false, r);
    tl_free(l);
    if (strides)
        memcpy(l->strides, strides, sizeof *strides * (size_t)ndim);
    ptrdiff_t lo, hi;
    span(l, 0, ndim, &lo, &hi);
    l->regions[0] = calloc((size_t)(hi - lo + itemsize), 1);
    assert_non_null(l->regions[0]);
    l->nregions = 1;
    l->buf = l->regions[0] - lo;
}

static void random_shape(int ndim, ptrdiff_t *shape, bool allow_zero, rng *r)
{
    for (int d = 0; d < ndim; d++)
        shape[d] = allow_zero && rng_below(r, 10) == 0 ? 0 : rng_between(r, 1, 4);
}

static void tl_print(const char *name, const tl *l)
{
    print_message("%s: ndim %d itemsize %td indirect %d\n", name, l->ndim, l->itemsize,
                  (int)l->indirect);
    for (int d = 0; d < l->ndim; d++)
        print_message("  dim %d: shape %td stride %td suboffset %td\n", d, l->shape[d],
                      l->strides[d], l->sub[d]);
}

static void to_layout(const tl *t, mv_layout *out)
{
    mv_buffer b;
    memset(&b, 0, sizeof b);
    b.buf = t->buf;
    b.itemsize = t->itemsize;
    b.ndim = t->ndim;
    b.len = count_items(t->ndim, t->shape) * t->itemsize;
    b.readonly = 1;
    b.shape = (ptrdiff_t *)t->shape;
    b.strides = (ptrdiff_t *)t->strides;
    b.suboffsets = t->indirect ? (ptrdiff_t *)t->sub : NULL;
    mv_error err;
    mv_error_clear(&err);
    assert_int_equal(mv_layout_init(out, &b, &err), 0);
}

/* ------------------------------------------------------------------------ */
/* The models                                                               */

/* PyBuffer_GetPointer. */
static const char *model_item(const tl *l, const ptrdiff_t *idx)
{
    const char *p = l->buf;
    for (int d = 0; d < l->ndim; d++) {
        p += idx[d] * l->strides[d];
        if (l->indirect && l->sub[d] >= 0) {
            const char *q;
            memcpy(&q, p, sizeof q);
            p = q + l->sub[d];
        }
    }
    return p;
}

/* The next index in C order (last dimension fastest); false after the
 * last. */
static bool odometer_next(int ndim, const ptrdiff_t *shape, ptrdiff_t *idx)
{
    for (int d = ndim - 1; d >= 0; d--) {
        if (++idx[d] < shape[d])
            return true;
        idx[d] = 0;
    }
    return false;
}

/* Whether dimension d of l runs on into dimension e (the next one inside
 * it that moves) as one arithmetic progression: d is direct (e may be
 * indirect: its pointers are then one progression too) and d's step is
 * e's whole extent. */
static bool joins(const tl *l, int d, int e)
{
    if (l->indirect && l->sub[d] >= 0)
        return false;
    return l->strides[d] == l->shape[e] * l->strides[e];
}

/* A dimension of extent 1, direct in both layouts: it adds nothing to any
 * address (CPython's contiguity ignores its stride), so it never breaks a
 * row. */
static bool still(const tl *a, const tl *b, int d)
{
    return a->shape[d] == 1 && !(a->indirect && a->sub[d] >= 0) &&
           !(b->indirect && b->sub[d] >= 0);
}

/* The rows of the walk of a (and b in step): of the dimensions that move,
 * the innermost ones that join pairwise in both layouts make one row;
 * every index of the ones before them starts one.  No extent is 0. */
static void model_rows(const tl *a, const tl *b, ptrdiff_t *rows, ptrdiff_t *len)
{
    int dims[MV_MAX_NDIM], n = 0;
    for (int d = 0; d < a->ndim; d++)
        if (!still(a, b, d))
            dims[n++] = d;
    *rows = 1;
    *len = 1;
    if (n == 0)
        return;
    int j = n - 1;
    while (j > 0 && joins(a, dims[j - 1], dims[j]) && joins(b, dims[j - 1], dims[j]))
        j--;
    for (int i = 0; i < j; i++)
        *rows *= a->shape[dims[i]];
    for (int i = j; i < n; i++)
        *len *= a->shape[dims[i]];
}

/* ------------------------------------------------------------------------ */
/* What the walk hands out                                                  */

typedef struct rec {
    bool alone;         /* b was NULL: b's row must be a's */
    ptrdiff_t stop_row; /* return stop_rc from this call (1-based); 0: never */
    int stop_rc;
    ptrdiff_t calls, nitems;
    const char *a[MAXITEMS], *b[MAXITEMS];
    ptrdiff_t row_len[MAXITEMS];
} rec;

static rec *rec_new(bool alone, ptrdiff_t stop_row, int stop_rc)
{
    rec *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->alone = alone;
    r->stop_row = stop_row;
    r->stop_rc = stop_rc;
    return r;
}

static int record_row(void *ctx, const char *pa, ptrdiff_t sa, ptrdiff_t suba, const char *pb,
                      ptrdiff_t sb, ptrdiff_t subb, ptrdiff_t n)
{
    rec *r = ctx;
    /* No call after the one that stopped the walk. */
    assert_true(r->stop_row == 0 || r->calls < r->stop_row);
    assert_true(n >= 1);
    assert_true(r->nitems + n <= MAXITEMS);
    if (r->alone) {
        assert_true(pa == pb);
        assert_int_equal(sa, sb);
        assert_int_equal(suba, subb);
    }
    for (ptrdiff_t i = 0; i < n; i++) {
        r->a[r->nitems + i] = mv_layout_item(pa, i, sa, suba);
        r->b[r->nitems + i] = mv_layout_item(pb, i, sb, subb);
    }
    r->row_len[r->calls++] = n;
    r->nitems += n;
    return r->calls == r->stop_row ? r->stop_rc : 0;
}

/* The first `n` items seen are the model's first n of a (and of b, or of
 * a again when b is NULL). */
static void check_items(const rec *r, const tl *a, const tl *b, ptrdiff_t n)
{
    ptrdiff_t idx[MAXD] = {0};
    for (ptrdiff_t k = 0; k < n; k++) {
        const char *wa = model_item(a, idx), *wb = model_item(b ? b : a, idx);
        if (r->a[k] != wa || r->b[k] != wb) {
            print_message("item %td: a %p (model %p), b %p (model %p)\n", k, (const void *)r->a[k],
                          (const void *)wa, (const void *)r->b[k], (const void *)wb);
            tl_print("a", a);
            if (b)
                tl_print("b", b);
            fail();
        }
        bool more = odometer_next(a->ndim, a->shape, idx);
        /* The model has an item after each but the last of the whole. */
        assert_true(more || k + 1 == n);
    }
}

/* Walk a (and b) to the end and check every item and the rows. */
static void check_walk(const tl *a, const tl *b)
{
    mv_layout la, lb;
    to_layout(a, &la);
    if (b)
        to_layout(b, &lb);
    rec *r = rec_new(b == NULL, 0, 0);
    assert_int_equal(mv_walk_rows(&la, b ? &lb : NULL, record_row, r), 0);
    bool empty = false;
    for (int d = 0; d < a->ndim; d++)
        empty |= a->shape[d] == 0;
    if (empty) {
        assert_int_equal(r->calls, 0);
        free(r);
        return;
    }
    ptrdiff_t n = count_items(a->ndim, a->shape);
    assert_int_equal(r->nitems, n);
    check_items(r, a, b, n);
    ptrdiff_t rows, len;
    model_rows(a, b ? b : a, &rows, &len);
    if (r->calls != rows) {
        print_message("%td rows, model %td of %td\n", r->calls, rows, len);
        tl_print("a", a);
        if (b)
            tl_print("b", b);
        fail();
    }
    for (ptrdiff_t i = 0; i < rows; i++)
        assert_int_equal(r->row_len[i], len);
    free(r);
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                    */

/* Direct layouts of every stride mode, alone and in pairs of one shape. */
static void test_walk_random_direct(void **state)
{
    (void)state;
    rng r = {0x9e3779b97f4a7c15u};
    for (int t = 0; t < 3000; t++) {
        int ndim = (int)rng_below(&r, MAXD + 1);
        ptrdiff_t shape[MAXD];
        random_shape(ndim, shape, true, &r);
        tl a, b;
        tl_make(&a, ndim, shape, rng_between(&r, 1, 5), (int)rng_below(&r, NMODES), 0,
                rng_below(&r, 4) == 0, &r);
        tl_make(&b, ndim, shape, rng_between(&r, 1, 5), (int)rng_below(&r, NMODES), 0,
                rng_below(&r, 4) == 0, &r);
        check_walk(&a, NULL);
        check_walk(&b, NULL);
        check_walk(&a, &b);
        check_walk(&b, &a);
        check_walk(&a, &a);
        tl_free(&a);
        tl_free(&b);
    }
}

/* PIL-style layouts: random dimensions indirect through real pointer
 * tables, alone, in pairs with each other and with direct layouts. */
static void test_walk_random_indirect(void **state)
{
    (void)state;
    rng r = {0x0123456789abcdefu};
    for (int t = 0; t < 3000; t++) {
        int ndim = (int)rng_between(&r, 1, MAXD);
        ptrdiff_t shape[MAXD];
        random_shape(ndim, shape, true, &r);
        unsigned ind = (unsigned)rng_between(&r, 1, (1 << ndim) - 1);
        tl a, b;
        tl_make(&a, ndim, shape, rng_between(&r, 1, 5), (int)rng_below(&r, NMODES), ind, false, &r);
        unsigned ind_b = rng_below(&r, 3) == 0 ? 0 : (unsigned)rng_below(&r, 1 << ndim);
        tl_make(&b, ndim, shape, rng_between(&r, 1, 5), (int)rng_below(&r, NMODES), ind_b,
                rng_below(&r, 2) == 0, &r);
        check_walk(&a, NULL);
        check_walk(&b, NULL);
        check_walk(&a, &b);
        check_walk(&b, &a);
        tl_free(&a);
        tl_free(&b);
    }
}

/* A C-contiguous layout of any shape with items is one row of all its
 * items, whichever way it runs: alone, with another C-contiguous layout,
 * and with the same strides negated all the way (one reversed run). */
static void test_walk_contiguous_one_row(void **state)
{
    (void)state;
    rng r = {42};
    for (int t = 0; t < 500; t++) {
        int ndim = (int)rng_between(&r, 1, MAXD);
        ptrdiff_t shape[MAXD];
        random_shape(ndim, shape, false, &r);
        ptrdiff_t n = 1;
        for (int d = 0; d < ndim; d++)
            n *= shape[d];
        ptrdiff_t isa = rng_between(&r, 1, 8), isb = rng_between(&r, 1, 8);
        tl a, b, c;
        tl_strided(&a, ndim, shape, isa, NULL, &r);
        tl_strided(&b, ndim, shape, isb, NULL, &r);
        /* Strides -isb * (product of the extents after d). */
        ptrdiff_t neg[MAXD], s = -isb;
        for (int d = ndim - 1; d >= 0; d--) {
            neg[d] = s;
            s *= shape[d];
        }
        tl_strided(&c, ndim, shape, isb, neg, &r);
        const tl *pairs[][2] = {{&a, NULL}, {&a, &b}, {&b, &a}, {&a, &c}, {&c, NULL}};
        for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
            mv_layout la, lb;
            to_layout(pairs[k][0], &la);
            if (pairs[k][1])
                to_layout(pairs[k][1], &lb);
            rec *rc = rec_new(pairs[k][1] == NULL, 0, 0);
            assert_int_equal(mv_walk_rows(&la, pairs[k][1] ? &lb : NULL, record_row, rc), 0);
            assert_int_equal(rc->calls, 1);
            assert_int_equal(rc->row_len[0], n);
            check_items(rc, pairs[k][0], pairs[k][1], n);
            free(rc);
        }
        tl_free(&a);
        tl_free(&b);
        tl_free(&c);
    }
}

/* 0-D: one row of one item, at buf, for one layout and for two. */
static void test_walk_0d(void **state)
{
    (void)state;
    char mem[16];
    tl a = {.ndim = 0, .itemsize = 4, .buf = mem + 3};
    tl b = {.ndim = 0, .itemsize = 2, .buf = mem + 9};
    mv_layout la, lb;
    to_layout(&a, &la);
    to_layout(&b, &lb);
    rec *r = rec_new(true, 0, 0);
    assert_int_equal(mv_walk_rows(&la, NULL, record_row, r), 0);
    assert_int_equal(r->calls, 1);
    assert_int_equal(r->row_len[0], 1);
    assert_true(r->a[0] == mem + 3 && r->b[0] == mem + 3);
    free(r);
    r = rec_new(false, 0, 0);
    assert_int_equal(mv_walk_rows(&la, &lb, record_row, r), 0);
    assert_int_equal(r->calls, 1);
    assert_int_equal(r->row_len[0], 1);
    assert_true(r->a[0] == mem + 3 && r->b[0] == mem + 9);
    free(r);
}

/* An extent of 0 anywhere: fn is never called (not even with n == 0) and
 * the walk returns 0, whatever fn would have returned.  The indirect ones
 * have tables of NULL pointers that nothing may follow. */
static void test_walk_empty(void **state)
{
    (void)state;
    rng r = {99};
    char *nulls[8] = {0};
    for (int t = 0; t < 500; t++) {
        int ndim = (int)rng_between(&r, 1, MAXD);
        ptrdiff_t shape[MAXD];
        random_shape(ndim, shape, false, &r);
        shape[rng_below(&r, ndim)] = 0;
        tl a, b;
        tl_make(&a, ndim, shape, rng_between(&r, 1, 5), (int)rng_below(&r, NMODES), 0, false, &r);
        tl_make(&b, ndim, shape, rng_between(&r, 1, 5), (int)rng_below(&r, NMODES),
                (unsigned)rng_below(&r, 1 << ndim), false, &r);
        /* Every dimension indirect through NULL pointers, stride 0. */
        tl z = {.ndim = ndim, .itemsize = 1, .indirect = true, .buf = (char *)nulls};
        for (int d = 0; d < ndim; d++) {
            z.shape[d] = shape[d];
            z.strides[d] = 0;
            z.sub[d] = 0;
        }
        const tl *pairs[][2] = {{&a, NULL}, {&b, NULL}, {&z, NULL}, {&a, &b}, {&b, &z}, {&z, &a}};
        for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
            mv_layout la, lb;
            to_layout(pairs[k][0], &la);
            if (pairs[k][1])
                to_layout(pairs[k][1], &lb);
            rec *rc = rec_new(pairs[k][1] == NULL, 1, 7);
            assert_int_equal(mv_walk_rows(&la, pairs[k][1] ? &lb : NULL, record_row, rc), 0);
            assert_int_equal(rc->calls, 0);
            free(rc);
        }
        tl_free(&a);
        tl_free(&b);
    }
}

/* Walk and expect `rows` rows of `len` items, the model's items. */
static void expect_rows(const tl *a, const tl *b, ptrdiff_t rows, ptrdiff_t len)
{
    mv_layout la, lb;
    to_layout(a, &la);
    if (b)
        to_layout(b, &lb);
    rec *r = rec_new(b == NULL, 0, 0);
    assert_int_equal(mv_walk_rows(&la, b ? &lb : NULL, record_row, r), 0);
    assert_int_equal(r->calls, rows);
    for (ptrdiff_t i = 0; i < rows; i++)
        assert_int_equal(r->row_len[i], len);
    assert_int_equal(r->nitems, rows * len);
    check_items(r, a, b, rows * len);
    free(r);
}

/* Rows of a bigger array: whole rows are one run, rows with a gap between
 * them one run each; reversed row order is a run per row too. */
static void test_walk_rows_of_bigger_array(void **state)
{
    (void)state;
    rng r = {5};
    for (ptrdiff_t is = 1; is <= 8; is *= 2) {
        /* 3 whole rows of 5 of a 7 x 5 array. */
        tl a;
        tl_strided(&a, 2, (ptrdiff_t[]){3, 5}, is, (ptrdiff_t[]){5 * is, is}, &r);
        expect_rows(&a, NULL, 1, 15);
        tl_free(&a);
        /* 4 columns of those rows. */
        tl_strided(&a, 2, (ptrdiff_t[]){3, 4}, is, (ptrdiff_t[]){5 * is, is}, &r);
        expect_rows(&a, NULL, 3, 4);
        tl_free(&a);
        /* Every other row: a gap. */
        tl_strided(&a, 2, (ptrdiff_t[]){3, 5}, is, (ptrdiff_t[]){10 * is, is}, &r);
        expect_rows(&a, NULL, 3, 5);
        tl_free(&a);
        /* Rows in reverse order. */
        tl_strided(&a, 2, (ptrdiff_t[]){3, 5}, is, (ptrdiff_t[]){-5 * is, is}, &r);
        expect_rows(&a, NULL, 3, 5);
        tl_free(&a);
        /* Whole rows, each reversed, in reverse order: one reversed run. */
        tl_strided(&a, 2, (ptrdiff_t[]){3, 5}, is, (ptrdiff_t[]){-5 * is, -is}, &r);
        expect_rows(&a, NULL, 1, 15);
        tl_free(&a);
        /* A column (stride of a whole row) of 1-item rows: contiguous. */
        tl_strided(&a, 2, (ptrdiff_t[]){4, 1}, is, (ptrdiff_t[]){is, is}, &r);
        expect_rows(&a, NULL, 1, 4);
        tl_free(&a);
        /* Extents of 1 with any stride (NumPy's a[:, None] has stride 0
         * there): contiguous as CPython judges it, and one row. */
        tl_strided(&a, 2, (ptrdiff_t[]){4, 1}, is, (ptrdiff_t[]){is, 0}, &r);
        expect_rows(&a, NULL, 1, 4);
        tl_free(&a);
        tl_strided(&a, 3, (ptrdiff_t[]){2, 1, 3}, is, (ptrdiff_t[]){3 * is, 7 * is, is}, &r);
        expect_rows(&a, NULL, 1, 6);
        tl_free(&a);
        /* Zero strides: the same item over and over is one run of stride 0. */
        tl_strided(&a, 2, (ptrdiff_t[]){3, 4}, is, (ptrdiff_t[]){0, 0}, &r);
        expect_rows(&a, NULL, 1, 12);
        tl_free(&a);
        /* Fortran order: no dimension continues the next in C order. */
        tl_strided(&a, 3, (ptrdiff_t[]){2, 3, 4}, is, (ptrdiff_t[]){is, 2 * is, 6 * is}, &r);
        expect_rows(&a, NULL, 6, 4);
        tl_free(&a);
    }
}

/* Two layouts of one shape: a row ends where either layout breaks. */
static void test_walk_pair_breaks(void **state)
{
    (void)state;
    rng r = {77};
    ptrdiff_t shape[3] = {2, 3, 4};
    tl c, inner, outer, both, ind;
    tl_strided(&c, 3, shape, 2, NULL, &r);
    /* Rows of 4 of an 8-wide array: dimension 1 does not continue into 2,
     * dimension 0 continues into 1.  6 rows of 4. */
    tl_strided(&inner, 3, shape, 1, (ptrdiff_t[]){24, 8, 1}, &r);
    /* Planes 100 bytes apart: only dimension 0 breaks.  2 rows of 12. */
    tl_strided(&outer, 3, shape, 1, (ptrdiff_t[]){100, 4, 1}, &r);
    /* Both break: 6 rows of 4. */
    tl_strided(&both, 3, shape, 1, (ptrdiff_t[]){100, 5, 1}, &r);
    /* The innermost dimension indirect: nothing merges into it.  6 rows
     * of 4. */
    tl_make(&ind, 3, shape, 2, M_C, 1u << 2, false, &r);

    expect_rows(&c, NULL, 1, 24);
    expect_rows(&c, &c, 1, 24);
    expect_rows(&c, &inner, 6, 4);
    expect_rows(&inner, &c, 6, 4);
    expect_rows(&c, &outer, 2, 12);
    expect_rows(&outer, &c, 2, 12);
    expect_rows(&inner, &outer, 6, 4);
    expect_rows(&outer, &both, 6, 4);
    expect_rows(&c, &ind, 6, 4);
    expect_rows(&ind, &c, 6, 4);
    expect_rows(&ind, NULL, 6, 4);

    /* Random partners of a C-contiguous layout: the rows are the
     * partner's, counted by the model. */
    for (int t = 0; t < 2000; t++) {
        int ndim = (int)rng_between(&r, 1, MAXD);
        ptrdiff_t sh[MAXD];
        random_shape(ndim, sh, false, &r);
        tl a, b;
        tl_strided(&a, ndim, sh, rng_between(&r, 1, 4), NULL, &r);
        unsigned ind_b = rng_below(&r, 3) == 0 ? (unsigned)rng_below(&r, 1 << ndim) : 0;
        tl_make(&b, ndim, sh, rng_between(&r, 1, 4), (int)rng_below(&r, NMODES), ind_b, false, &r);
        ptrdiff_t rows, len, rows_b, len_b;
        model_rows(&a, &b, &rows, &len);
        model_rows(&b, &b, &rows_b, &len_b);
        /* a alone never breaks, so the pair breaks where b does. */
        assert_int_equal(rows, rows_b);
        expect_rows(&a, &b, rows, len);
        expect_rows(&b, &a, rows, len);
        tl_free(&a);
        tl_free(&b);
    }
    tl_free(&c);
    tl_free(&inner);
    tl_free(&outer);
    tl_free(&both);
    tl_free(&ind);
}

/* fn's non-zero result at the k-th row ends the walk there and is its
 * result; fn is not called again. */
static void check_stop(const tl *a, const tl *b, int code)
{
    mv_layout la, lb;
    to_layout(a, &la);
    if (b)
        to_layout(b, &lb);
    ptrdiff_t rows, len;
    model_rows(a, b ? b : a, &rows, &len);
    for (ptrdiff_t k = 1; k <= rows; k++) {
        rec *r = rec_new(b == NULL, k, code);
        assert_int_equal(mv_walk_rows(&la, b ? &lb : NULL, record_row, r), code);
        assert_int_equal(r->calls, k);
        assert_int_equal(r->nitems, k * len);
        check_items(r, a, b, k * len);
        free(r);
    }
}

static void test_walk_stop(void **state)
{
    (void)state;
    rng r = {31337};
    tl a, b, one;
    /* 3 x 4 rows of 5 with gaps between them: 12 rows. */
    tl_strided(&a, 3, (ptrdiff_t[]){3, 4, 5}, 2, (ptrdiff_t[]){100, 12, 2}, &r);
    tl_make(&b, 3, (ptrdiff_t[]){3, 4, 5}, 1, M_RANDOM, 1u << 1, false, &r);
    tl_strided(&one, 2, (ptrdiff_t[]){2, 3}, 4, NULL, &r);
    ptrdiff_t rows, len;
    model_rows(&a, &a, &rows, &len);
    assert_int_equal(rows, 12);
    static const int codes[] = {7, -1, -7, 1};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        check_stop(&a, NULL, codes[i]);
        check_stop(&a, &b, codes[i]);
        check_stop(&b, &a, codes[i]);
        check_stop(&b, NULL, codes[i]);
        check_stop(&one, NULL, codes[i]);
    }
    /* 0-D: the one row's result is the walk's. */
    char mem[4];
    tl z = {.ndim = 0, .itemsize = 4, .buf = mem};
    check_stop(&z, NULL, 7);
    check_stop(&z, &z, -3);
    /* Random layouts, stopping at a random row. */
    for (int t = 0; t < 1000; t++) {
        int ndim = (int)rng_below(&r, MAXD + 1);
        ptrdiff_t sh[MAXD];
        random_shape(ndim, sh, false, &r);
        tl x, y;
        tl_make(&x, ndim, sh, rng_between(&r, 1, 4), (int)rng_below(&r, NMODES),
                ndim ? (unsigned)rng_below(&r, 1 << ndim) : 0, false, &r);
        tl_make(&y, ndim, sh, rng_between(&r, 1, 4), (int)rng_below(&r, NMODES), 0, false, &r);
        mv_layout lx, ly;
        to_layout(&x, &lx);
        to_layout(&y, &ly);
        model_rows(&x, &y, &rows, &len);
        ptrdiff_t k = rng_between(&r, 1, rows);
        rec *rc = rec_new(false, k, 7);
        assert_int_equal(mv_walk_rows(&lx, &ly, record_row, rc), 7);
        assert_int_equal(rc->calls, k);
        check_items(rc, &x, &y, k * len);
        free(rc);
        tl_free(&x);
        tl_free(&y);
    }
    tl_free(&a);
    tl_free(&b);
    tl_free(&one);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walk_random_direct),
        cmocka_unit_test(test_walk_random_indirect),
        cmocka_unit_test(test_walk_contiguous_one_row),
        cmocka_unit_test(test_walk_0d),
        cmocka_unit_test(test_walk_empty),
        cmocka_unit_test(test_walk_rows_of_bigger_array),
        cmocka_unit_test(test_walk_pair_breaks),
        cmocka_unit_test(test_walk_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
