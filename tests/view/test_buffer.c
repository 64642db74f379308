/* mv_buffer: fill_info and the memoryview request rules for every flag
 * combination, contiguity, item addresses (suboffsets included), strides,
 * and layout / descriptor validation against a brute-force model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "failalloc.h"
#include "testviews.h"
#include "ops/ops.h"

static rng gen = {0x9e3779b97f4a7c15u};

/* A trivial exporter so references can be counted. */
static void counted_destroy(mv_object *self)
{
    free(self);
}

static const mv_type counted_type = {.name = "counted", .destroy = counted_destroy};

static mv_object *counted_new(void)
{
    mv_object *o = malloc(sizeof *o);
    assert_non_null(o);
    mv_object_init(o, &counted_type);
    return o;
}

/* The eight request bits; every valid request is a subset. */
static const int request_bits[] = {0x1, 0x4, 0x8, 0x10, 0x20, 0x40, 0x80, 0x100};

static int subset_flags(unsigned mask)
{
    int f = 0;
    for (int i = 0; i < 8; i++)
        if (mask & (1u << i))
            f |= request_bits[i];
    return f;
}

/* ------------------------------------------------------------------------ */
/* fill_info                                                                  */

static void test_fill_info_all_flags(void **state)
{
    (void)state;
    unsigned char mem[5] = {1, 2, 3, 4, 5};
    mv_object *o = counted_new();
    for (int readonly = 0; readonly <= 1; readonly++) {
        for (unsigned mask = 0; mask < 256; mask++) {
            int f = subset_flags(mask);
            mv_buffer b;
            memset(&b, 0x3c, sizeof b);
            mv_error err;
            mv_error_clear(&err);
            int rc = mv_buffer_fill_info(&b, o, mem, 5, readonly, f, &err);
            if (readonly && (f & 0x1)) {
                assert_int_equal(rc, MV_EBUFFER);
                assert_string_equal(err.message, "Object is not writable.");
                assert_int_equal(mv_object_refcount(o), 1);
                continue;
            }
            assert_int_equal(rc, 0);
            assert_ptr_equal(b.obj, o);
            assert_int_equal(mv_object_refcount(o), 2);
            assert_ptr_equal(b.buf, mem);
            assert_int_equal(b.len, 5);
            assert_int_equal(b.itemsize, 1);
            assert_int_equal(b.readonly, readonly);
            assert_int_equal(b.ndim, 1);
            assert_null(b.suboffsets);
            assert_null(b.internal);
            if (f & 0x4)
                assert_string_equal(b.format, "B");
            else
                assert_null(b.format);
            if (f & 0x8) {
                assert_non_null(b.shape);
                assert_int_equal(b.shape[0], 5);
            } else {
                assert_null(b.shape);
            }
            /* STRIDES is 0x10 | ND: the 0x10 bit alone is not a request. */
            if ((f & 0x18) == 0x18) {
                assert_non_null(b.strides);
                assert_int_equal(b.strides[0], 1);
            } else {
                assert_null(b.strides);
            }
            assert_int_equal(mv_object_exports(o), 0);
            b.obj = NULL;
            mv_decref(o);
        }
    }
    mv_decref(o);
}

static void test_fill_info_hostile(void **state)
{
    (void)state;
    unsigned char mem[4];
    mv_buffer b;
    mv_error err;
    memset(&b, 0, sizeof b);
    assert_int_equal(mv_buffer_fill_info(NULL, NULL, mem, 4, 0, 0, &err), MV_EBUFFER);
    assert_string_equal(err.message, "PyBuffer_FillInfo: view==NULL argument is obsolete");
    assert_int_equal(mv_buffer_fill_info(&b, NULL, mem, -1, 0, 0, &err), MV_EVALUE);
    assert_string_equal(err.message, "PyBuffer_FillInfo: negative len -1");
    assert_int_equal(mv_buffer_fill_info(&b, NULL, mem, PTRDIFF_MIN, 0, 0, &err), MV_EVALUE);
    assert_int_equal(mv_buffer_fill_info(&b, NULL, NULL, 4, 0, 0, &err), MV_EVALUE);
    assert_string_equal(err.message, "PyBuffer_FillInfo: buf is NULL but len is 4");
    /* One refusal at a time, in a fixed order: flags, len, buf, then
     * writability. */
    assert_int_equal(mv_buffer_fill_info(&b, NULL, NULL, -1, 1, MV_BUF_WRITABLE, &err), MV_EVALUE);
    assert_string_equal(err.message, "PyBuffer_FillInfo: negative len -1");
    assert_int_equal(mv_buffer_fill_info(&b, NULL, NULL, 4, 1, MV_BUF_WRITABLE, &err), MV_EVALUE);
    assert_string_equal(err.message, "PyBuffer_FillInfo: buf is NULL but len is 4");
    assert_int_equal(mv_buffer_fill_info(&b, NULL, mem, 4, 1, MV_BUF_WRITABLE, &err), MV_EBUFFER);
    assert_string_equal(err.message, "Object is not writable.");
    assert_int_equal(mv_buffer_fill_info(&b, NULL, mem, 4, 0, MV_BUF_WRITE, &err), MV_EVALUE);
    assert_string_equal(err.message, "invalid buffer request flags 0x200");
    assert_int_equal(mv_buffer_fill_info(&b, NULL, mem, -1, 1, 0x2 | MV_BUF_WRITABLE, &err),
                     MV_EVALUE);
    assert_string_equal(err.message, "invalid buffer request flags 0x3");
    assert_int_equal(mv_buffer_fill_info(&b, NULL, mem, 4, 0, 0x2, &err), MV_EVALUE);
    assert_int_equal(mv_buffer_fill_info(&b, NULL, mem, 4, 0, 0x10000, &err), MV_EVALUE);
    assert_int_equal(mv_buffer_fill_info(&b, NULL, mem, 4, 0, -1, NULL), MV_EVALUE);
    /* Empty memory may have no address; no exporter is fine. */
    assert_int_equal(mv_buffer_fill_info(&b, NULL, NULL, 0, 1, MV_BUF_FULL_RO, &err), 0);
    assert_null(b.obj);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.shape[0], 0);
    mv_buffer_release(&b);
}

/* ------------------------------------------------------------------------ */
/* mv_buffer_answer                                                           */

typedef struct shape_case {
    const char *name;
    int ndim;
    ptrdiff_t shape[3];
    ptrdiff_t strides[3];
    bool strides_null;
    bool pil;
    int readonly;
    /* Hand-derived contiguity as memoryview's init_flags sees it. */
    bool c, f;
} shape_case;

/* Item size 4 ("i") throughout; buf is never dereferenced. */
static const shape_case answer_cases[] = {
    {"C 2x3", 2, {2, 3}, {12, 4}, false, false, 0, true, false},
    {"F 2x3", 2, {2, 3}, {4, 8}, false, false, 0, false, true},
    {"strided 2x3", 2, {2, 3}, {24, 8}, false, false, 0, false, false},
    {"reversed 2x3", 2, {2, 3}, {-12, -4}, false, false, 0, false, false},
    {"PIL 2x3", 2, {2, 3}, {8, 4}, false, true, 0, false, false},
    /* Suboffsets make even C-shaped strides non-contiguous. */
    {"PIL 2x3 C strides", 2, {2, 3}, {12, 4}, false, true, 0, false, false},
    {"PIL 1-D", 1, {6}, {4}, false, true, 1, false, false},
    {"C 2x3 read-only", 2, {2, 3}, {12, 4}, false, false, 1, true, false},
    {"F 2x3 read-only", 2, {2, 3}, {4, 8}, false, false, 1, false, true},
    {"0-dim", 0, {0}, {0}, false, false, 0, true, true},
    {"1-D empty stride 8", 1, {0}, {8}, false, false, 0, false, false},
    {"1-D one item stride 100", 1, {1}, {100}, false, false, 0, true, true},
    {"1-D contiguous", 1, {6}, {4}, false, false, 0, true, true},
    {"1-D stride 8", 1, {3}, {8}, false, false, 1, false, false},
    {"NULL strides 2x3", 2, {2, 3}, {0}, true, false, 0, true, false},
    {"NULL strides 1x6", 2, {1, 6}, {0}, true, false, 0, true, true},
    {"2-D 1x6 any stride", 2, {1, 6}, {999, 4}, false, false, 0, true, true},
    {"3-D C with zero extent", 3, {2, 0, 3}, {5, 7, 9}, false, false, 0, true, true},
};

/* Request table straight from the getbuffer rules of memoryview (checks in
 * this order; the first that fails decides). */
static int expected_answer(const shape_case *c, int f, const char **msg)
{
    bool want_c = (f & MV_BUF_C_CONTIGUOUS) == MV_BUF_C_CONTIGUOUS;
    bool want_f = (f & MV_BUF_F_CONTIGUOUS) == MV_BUF_F_CONTIGUOUS;
    bool want_any = (f & MV_BUF_ANY_CONTIGUOUS) == MV_BUF_ANY_CONTIGUOUS;
    bool want_ind = (f & MV_BUF_INDIRECT) == MV_BUF_INDIRECT;
    bool want_strides = (f & MV_BUF_STRIDES) == MV_BUF_STRIDES;
    bool want_nd = (f & MV_BUF_ND) == MV_BUF_ND;
    if ((f & MV_BUF_WRITABLE) && c->readonly) {
        *msg = "memoryview: underlying buffer is not writable";
        return MV_EBUFFER;
    }
    if (want_c && !c->c) {
        *msg = "memoryview: underlying buffer is not C-contiguous";
        return MV_EBUFFER;
    }
    if (want_f && !c->f) {
        *msg = "memoryview: underlying buffer is not Fortran contiguous";
        return MV_EBUFFER;
    }
    if (want_any && !c->c && !c->f) {
        *msg = "memoryview: underlying buffer is not contiguous";
        return MV_EBUFFER;
    }
    if (!want_ind && c->pil) {
        *msg = "memoryview: underlying buffer requires suboffsets";
        return MV_EBUFFER;
    }
    if (!want_strides && !c->c) {
        *msg = "memoryview: underlying buffer is not C-contiguous";
        return MV_EBUFFER;
    }
    if (!want_nd && (f & MV_BUF_FORMAT)) {
        *msg = "memoryview: cannot cast to unsigned bytes if the format flag is present";
        return MV_EBUFFER;
    }
    *msg = NULL;
    return 0;
}

static void test_answer_all_flags(void **state)
{
    (void)state;
    char mem[64];
    ptrdiff_t subs[3] = {0, -1, -1};
    mv_object *o = counted_new();
    for (size_t k = 0; k < sizeof answer_cases / sizeof answer_cases[0]; k++) {
        const shape_case *c = &answer_cases[k];
        ptrdiff_t nitems = 1;
        for (int i = 0; i < c->ndim; i++)
            nitems *= c->shape[i];
        mv_buffer full = {.buf = mem,
                          .len = nitems * 4,
                          .itemsize = 4,
                          .readonly = c->readonly,
                          .ndim = c->ndim,
                          .format = "i",
                          .shape = (ptrdiff_t *)c->shape,
                          .strides = c->strides_null ? NULL : (ptrdiff_t *)c->strides,
                          .suboffsets = c->pil ? subs : NULL};
        for (unsigned mask = 0; mask < 256; mask++) {
            int f = subset_flags(mask);
            const char *msg;
            int want = expected_answer(c, f, &msg);
            mv_buffer out;
            memset(&out, 0, sizeof out);
            mv_error err;
            mv_error_clear(&err);
            int rc = mv_buffer_answer(&out, &full, o, f, &err);
            if (rc != want)
                fail_msg("%s flags 0x%x: got %d (%s), want %d", c->name, (unsigned)f, rc,
                         err.message, want);
            if (want < 0) {
                assert_string_equal(err.message, msg);
                assert_null(out.obj);
                assert_int_equal(mv_object_refcount(o), 1);
                continue;
            }
            assert_ptr_equal(out.obj, o);
            assert_int_equal(mv_object_refcount(o), 2);
            assert_ptr_equal(out.buf, mem);
            assert_int_equal(out.len, full.len);
            assert_int_equal(out.itemsize, 4); /* kept even without a format */
            assert_int_equal(out.readonly, c->readonly);
            assert_null(out.internal);
            if (f & MV_BUF_FORMAT)
                assert_string_equal(out.format, "i");
            else
                assert_null(out.format);
            if ((f & MV_BUF_ND) == MV_BUF_ND) {
                assert_int_equal(out.ndim, c->ndim);
                assert_ptr_equal(out.shape, full.shape);
            } else {
                assert_int_equal(out.ndim, 1);
                assert_null(out.shape);
            }
            if ((f & MV_BUF_STRIDES) == MV_BUF_STRIDES)
                assert_ptr_equal(out.strides, full.strides);
            else
                assert_null(out.strides);
            assert_ptr_equal(out.suboffsets, full.suboffsets);
            out.obj = NULL;
            mv_decref(o);
        }
    }
    mv_decref(o);
}

/* A few requests spelled out with their CPython names and outcomes. */
static void test_answer_named_requests(void **state)
{
    (void)state;
    char mem[24];
    ptrdiff_t shape[2] = {2, 3}, fstrides[2] = {4, 8};
    mv_buffer full = {.buf = mem, .len = 24, .itemsize = 4, .readonly = 1, .ndim = 2,
                      .format = "i", .shape = shape, .strides = fstrides};
    mv_buffer out;
    mv_error err;
    /* Read-only is reported before the contiguity problem. */
    assert_int_equal(mv_buffer_answer(&out, &full, NULL, MV_BUF_CONTIG, &err), MV_EBUFFER);
    assert_string_equal(err.message, "memoryview: underlying buffer is not writable");
    assert_int_equal(mv_buffer_answer(&out, &full, NULL, MV_BUF_CONTIG_RO, &err), MV_EBUFFER);
    assert_string_equal(err.message, "memoryview: underlying buffer is not C-contiguous");
    assert_int_equal(mv_buffer_answer(&out, &full, NULL, MV_BUF_SIMPLE, &err), MV_EBUFFER);
    assert_string_equal(err.message, "memoryview: underlying buffer is not C-contiguous");
    assert_int_equal(mv_buffer_answer(&out, &full, NULL, MV_BUF_STRIDED_RO, &err), 0);
    assert_null(out.obj);
    assert_int_equal(mv_buffer_answer(&out, &full, NULL, MV_BUF_F_CONTIGUOUS, &err), 0);
    assert_int_equal(mv_buffer_answer(&out, &full, NULL, MV_BUF_ANY_CONTIGUOUS, &err), 0);
    assert_int_equal(mv_buffer_answer(&out, &full, NULL, MV_BUF_FULL_RO, &err), 0);
    assert_int_equal(mv_buffer_answer(&out, &full, NULL, MV_BUF_RECORDS, &err), MV_EBUFFER);

    /* FORMAT without ND on a contiguous buffer. */
    ptrdiff_t cstrides[2] = {12, 4};
    full.strides = cstrides;
    assert_int_equal(mv_buffer_answer(&out, &full, NULL, MV_BUF_FORMAT, &err), MV_EBUFFER);
    assert_string_equal(err.message,
                        "memoryview: cannot cast to unsigned bytes if the format flag is present");
    assert_int_equal(mv_buffer_answer(&out, &full, NULL, MV_BUF_SIMPLE, &err), 0);
    assert_int_equal(out.ndim, 1);
    assert_int_equal(out.len, 24);
}

static void test_answer_hostile(void **state)
{
    (void)state;
    char mem[4];
    mv_buffer full = {.buf = mem, .len = 4, .itemsize = 4, .ndim = 0, .format = "i"};
    mv_buffer out;
    mv_error err;
    assert_int_equal(mv_buffer_answer(NULL, &full, NULL, 0, &err), MV_EVALUE);
    assert_int_equal(mv_buffer_answer(&out, NULL, NULL, 0, &err), MV_EVALUE);
    assert_int_equal(mv_buffer_answer(&out, &full, NULL, MV_BUF_WRITE, &err), MV_EVALUE);
    assert_int_equal(mv_buffer_answer(&out, &full, NULL, 0x2 | MV_BUF_FULL, &err), MV_EVALUE);
    full.ndim = 65;
    assert_int_equal(mv_buffer_answer(&out, &full, NULL, MV_BUF_FULL, &err), MV_EVALUE);
    assert_string_equal(err.message, "memoryview: number of dimensions must not exceed 64");
    full.ndim = -1;
    assert_int_equal(mv_buffer_answer(&out, &full, NULL, MV_BUF_FULL, &err), MV_EVALUE);
}

/* ------------------------------------------------------------------------ */
/* contiguity                                                                 */

static void test_is_contiguous(void **state)
{
    (void)state;
    char mem[1];
    ptrdiff_t shape23[2] = {2, 3}, shape16[2] = {1, 6}, shape0[2] = {0, 3};
    ptrdiff_t cs[2] = {12, 4}, fs[2] = {4, 8}, odd[2] = {24, 4}, neg[2] = {-12, -4};
    ptrdiff_t one[2] = {-5, 4};
    struct {
        ptrdiff_t *shape, *strides;
        ptrdiff_t len;
        bool subs;
        int c, f;
    } cases[] = {
        {shape23, cs, 24, false, 1, 0},
        {shape23, fs, 24, false, 0, 1},
        {shape23, odd, 24, false, 0, 0},
        {shape23, neg, 24, false, 0, 0},
        {shape16, one, 24, false, 1, 1}, /* extent-1 dimension: stride ignored */
        {shape23, NULL, 24, false, 1, 0},
        {shape16, NULL, 24, false, 1, 1}, /* effectively 1-D */
        {shape0, odd, 0, false, 1, 1},    /* no items: contiguous */
        {shape23, cs, 24, true, 0, 0},    /* suboffsets: never */
    };
    ptrdiff_t subs[2] = {-1, -1};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mv_buffer b = {.buf = mem, .len = cases[i].len, .itemsize = 4, .ndim = 2,
                       .shape = cases[i].shape, .strides = cases[i].strides,
                       .suboffsets = cases[i].subs ? subs : NULL};
        assert_int_equal(mv_buffer_is_contiguous(&b, 'C'), cases[i].c);
        assert_int_equal(mv_buffer_is_contiguous(&b, 'F'), cases[i].f);
        assert_int_equal(mv_buffer_is_contiguous(&b, 'A'), cases[i].c || cases[i].f);
        assert_int_equal(mv_buffer_is_contiguous(&b, 'X'), 0);
        assert_int_equal(mv_buffer_is_contiguous(&b, 'c'), 0);
        assert_int_equal(mv_buffer_is_contiguous(&b, 0), 0);
    }
    /* 0-dim, and the simple 1-D buffer of fill_info without ND. */
    mv_buffer s = {.buf = mem, .len = 4, .itemsize = 4, .ndim = 0};
    assert_int_equal(mv_buffer_is_contiguous(&s, 'C'), 1);
    assert_int_equal(mv_buffer_is_contiguous(&s, 'F'), 1);
    s.ndim = 1;
    assert_int_equal(mv_buffer_is_contiguous(&s, 'F'), 1);
    assert_int_equal(mv_buffer_is_contiguous(NULL, 'C'), 0);
    /* Overflowing extents are not contiguous (and do not trap). */
    ptrdiff_t huge[2] = {PTRDIFF_MAX / 2, 4}, hs[2] = {4, 1};
    mv_buffer h = {.buf = mem, .len = 8, .itemsize = 1, .ndim = 2, .shape = huge, .strides = hs};
    assert_int_equal(mv_buffer_is_contiguous(&h, 'F'), 0);
    assert_int_equal(mv_buffer_is_contiguous(&h, 'C'), 0);
}

/* ------------------------------------------------------------------------ */
/* get_pointer                                                                */

static void test_get_pointer_strided(void **state)
{
    (void)state;
    char mem[512];
    /* 3 x 4 x 2 items of size 2, strides chosen by hand, buf in the
     * middle so negative strides stay inside mem. */
    ptrdiff_t shape[3] = {3, 4, 2};
    ptrdiff_t strides[3] = {-100, 14, -4};
    char *buf = mem + 300;
    mv_buffer b = {.buf = buf, .len = 48, .itemsize = 2, .ndim = 3, .shape = shape,
                   .strides = strides};
    mv_error err;
    for (ptrdiff_t i = 0; i < 3; i++)
        for (ptrdiff_t j = 0; j < 4; j++)
            for (ptrdiff_t k = 0; k < 2; k++) {
                ptrdiff_t idx[3] = {i, j, k};
                char *want = buf - 100 * i + 14 * j - 4 * k;
                assert_ptr_equal(mv_buffer_get_pointer(&b, idx, &err), want);
            }
    ptrdiff_t bad[][3] = {{3, 0, 0}, {0, 4, 0}, {0, 0, 2}, {-1, 0, 0}, {0, -1, 0},
                          {0, 0, PTRDIFF_MIN}};
    int dims[] = {1, 2, 3, 1, 2, 3};
    for (int n = 0; n < 6; n++) {
        char msg[64];
        snprintf(msg, sizeof msg, "index out of bounds on dimension %d", dims[n]);
        mv_error_clear(&err);
        assert_null(mv_buffer_get_pointer(&b, bad[n], &err));
        assert_int_equal(err.code, MV_EINDEX);
        assert_string_equal(err.message, msg);
    }
    assert_null(mv_buffer_get_pointer(&b, NULL, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_null(mv_buffer_get_pointer(NULL, bad[0], &err));
    assert_int_equal(err.code, MV_EVALUE);
    b.ndim = 65;
    assert_null(mv_buffer_get_pointer(&b, bad[0], &err));
    assert_int_equal(err.code, MV_EVALUE);
}

/* Every index is checked before a pointer is followed: the row table of
 * this empty view has one pointer for two rows, against a PROT_NONE page
 * (guarded_empty_indirect); following row 1's would fault.  Found by
 * fuzz_view_ops. */
static void test_get_pointer_empty_indirect(void **state)
{
    (void)state;
    guarded g;
    mv_view *v = guarded_empty_indirect(&g);
    mv_error err;
    const mv_buffer *b = mv_view_buffer(v, &err);
    assert_non_null(b);
    ptrdiff_t idx[2] = {1, 0};
    mv_error_clear(&err);
    assert_null(mv_buffer_get_pointer(b, idx, &err));
    assert_int_equal(err.code, MV_EINDEX);
    assert_string_equal(err.message, "index out of bounds on dimension 2");
    mv_decref(v);
    guarded_free(&g);
}

static void test_get_pointer_implied(void **state)
{
    (void)state;
    char mem[24];
    ptrdiff_t shape[2] = {2, 3};
    /* No strides: C-contiguous. */
    mv_buffer b = {.buf = mem, .len = 24, .itemsize = 4, .ndim = 2, .shape = shape};
    ptrdiff_t idx[2] = {1, 2};
    assert_ptr_equal(mv_buffer_get_pointer(&b, idx, NULL), mem + 12 + 8);
    /* No shape either (a SIMPLE answer): len / itemsize items. */
    mv_buffer s = {.buf = mem, .len = 24, .itemsize = 4, .ndim = 1};
    ptrdiff_t i5 = 5, i6 = 6;
    assert_ptr_equal(mv_buffer_get_pointer(&s, &i5, NULL), mem + 20);
    mv_error err;
    assert_null(mv_buffer_get_pointer(&s, &i6, &err));
    assert_int_equal(err.code, MV_EINDEX);
    /* 0-dim: the item itself, no indices needed. */
    mv_buffer z = {.buf = mem + 3, .len = 4, .itemsize = 4, .ndim = 0};
    assert_ptr_equal(mv_buffer_get_pointer(&z, NULL, NULL), mem + 3);
    /* Hostile: stride * index overflows. */
    ptrdiff_t hshape[1] = {4}, hstrides[1] = {PTRDIFF_MAX / 2};
    mv_buffer h = {.buf = mem, .len = 4, .itemsize = 1, .ndim = 1, .shape = hshape,
                   .strides = hstrides};
    ptrdiff_t i3 = 3;
    assert_null(mv_buffer_get_pointer(&h, &i3, &err));
    assert_int_equal(err.code, MV_EOVERFLOW);
    mv_buffer nos = {.buf = mem, .len = 4, .itemsize = 1, .ndim = 2};
    assert_null(mv_buffer_get_pointer(&nos, idx, &err));
    assert_int_equal(err.code, MV_EVALUE);
}

static void test_get_pointer_suboffsets(void **state)
{
    (void)state;
    /* PIL layout: 3 rows reached through pointers, each row 4 items of
     * size 1 starting 2 bytes into its block; rows stored out of order. */
    char rows[3][8];
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 8; c++)
            rows[r][c] = (char)(r * 10 + c);
    char *ptrs[3] = {rows[2], rows[0], rows[1]};
    ptrdiff_t shape[2] = {3, 4};
    ptrdiff_t strides[2] = {(ptrdiff_t)sizeof(char *), 1};
    ptrdiff_t subs[2] = {2, -1};
    mv_buffer b = {.buf = ptrs, .len = 12, .itemsize = 1, .ndim = 2, .shape = shape,
                   .strides = strides, .suboffsets = subs};
    for (ptrdiff_t i = 0; i < 3; i++)
        for (ptrdiff_t j = 0; j < 4; j++) {
            ptrdiff_t idx[2] = {i, j};
            char *p = mv_buffer_get_pointer(&b, idx, NULL);
            assert_ptr_equal(p, ptrs[i] + 2 + j);
        }
    /* Negative stride over the pointer array. */
    strides[0] = -(ptrdiff_t)sizeof(char *);
    b.buf = &ptrs[2];
    ptrdiff_t idx[2] = {0, 3};
    assert_ptr_equal(mv_buffer_get_pointer(&b, idx, NULL), rows[1] + 5);
    idx[0] = 2;
    assert_ptr_equal(mv_buffer_get_pointer(&b, idx, NULL), rows[2] + 5);
}

/* ------------------------------------------------------------------------ */
/* strides                                                                    */

static void test_fill_contiguous_strides(void **state)
{
    (void)state;
    ptrdiff_t shape[4] = {2, 3, 4, 5}, st[4];
    mv_fill_contiguous_strides(4, shape, st, 8, 'C');
    assert_int_equal(st[0], 480);
    assert_int_equal(st[1], 160);
    assert_int_equal(st[2], 40);
    assert_int_equal(st[3], 8);
    mv_fill_contiguous_strides(4, shape, st, 8, 'F');
    assert_int_equal(st[0], 8);
    assert_int_equal(st[1], 16);
    assert_int_equal(st[2], 48);
    assert_int_equal(st[3], 192);
    /* Anything but 'F' is C. */
    mv_fill_contiguous_strides(4, shape, st, 8, 'A');
    assert_int_equal(st[0], 480);
    /* CPython's rule with a zero extent: the product goes to 0. */
    ptrdiff_t z[3] = {2, 0, 3};
    mv_fill_contiguous_strides(3, z, st, 4, 'C');
    assert_int_equal(st[2], 4);
    assert_int_equal(st[1], 12);
    assert_int_equal(st[0], 0);
    /* Harmless on nonsense. */
    st[0] = 77;
    mv_fill_contiguous_strides(0, shape, st, 8, 'C');
    mv_fill_contiguous_strides(65, shape, st, 8, 'C');
    mv_fill_contiguous_strides(2, NULL, st, 8, 'C');
    mv_fill_contiguous_strides(2, shape, NULL, 8, 'C');
    assert_int_equal(st[0], 77);
    ptrdiff_t big[2] = {PTRDIFF_MAX, PTRDIFF_MAX};
    mv_fill_contiguous_strides(2, big, st, 8, 'C'); /* no trap under UBSan */
    assert_int_equal(st[1], 8);
}

/* ------------------------------------------------------------------------ */
/* layout_validate                                                            */

/* Every item's bytes inside [0, memlen)?  Enumerates the items. */
static bool brute_layout_ok(ptrdiff_t memlen, ptrdiff_t itemsize, int ndim, const ptrdiff_t *shape,
                            const ptrdiff_t *strides, ptrdiff_t offset)
{
    if (offset < 0 || offset > memlen)
        return false;
    ptrdiff_t total = 1;
    for (int i = 0; i < ndim; i++)
        total *= shape[i];
    for (ptrdiff_t n = 0; n < total; n++) {
        ptrdiff_t rem = n, addr = offset;
        for (int i = ndim - 1; i >= 0; i--) {
            addr += (rem % shape[i]) * strides[i];
            rem /= shape[i];
        }
        if (addr < 0 || addr + itemsize > memlen)
            return false;
    }
    return true;
}

static void test_layout_validate_random(void **state)
{
    (void)state;
    int valid = 0, invalid = 0;
    for (int t = 0; t < 20000; t++) {
        ptrdiff_t itemsize = rng_between(&gen, 1, 5);
        int ndim = (int)rng_between(&gen, 0, 3);
        ptrdiff_t shape[3], strides[3];
        for (int i = 0; i < ndim; i++) {
            shape[i] = rng_between(&gen, 0, 12) == 0 ? 0 : rng_between(&gen, 1, 4);
            strides[i] = rng_between(&gen, -20, 20);
        }
        ptrdiff_t memlen = rng_between(&gen, 0, 80);
        ptrdiff_t offset = rng_between(&gen, -3, 83);
        bool want = brute_layout_ok(memlen, itemsize, ndim, shape, strides, offset);
        mv_error err;
        mv_error_clear(&err);
        int rc = mv_layout_validate(memlen, itemsize, ndim, shape, strides, offset, &err);
        if (want != (rc == 0))
            fail_msg("case %d: want %d got %d (%s)", t, want, rc, err.message);
        if (rc != 0)
            assert_int_equal(rc, MV_EVALUE);
        valid += want;
        invalid += !want;
        /* NULL strides mean C-contiguous strides. */
        ptrdiff_t cs[3], sd = itemsize;
        for (int i = ndim - 1; i >= 0; i--) {
            cs[i] = sd;
            sd *= shape[i];
        }
        want = brute_layout_ok(memlen, itemsize, ndim, shape, cs, offset);
        rc = mv_layout_validate(memlen, itemsize, ndim, shape, NULL, offset, &err);
        assert_int_equal(want, rc == 0);
    }
    /* The generator must exercise both outcomes. */
    assert_true(valid > 1000);
    assert_true(invalid > 1000);
}

static void test_layout_validate_cases(void **state)
{
    (void)state;
    ptrdiff_t shape[2] = {3, 4}, strides[2] = {16, 4};
    mv_error err;
    assert_int_equal(mv_layout_validate(48, 4, 2, shape, strides, 0, &err), 0);
    assert_int_equal(mv_layout_validate(47, 4, 2, shape, strides, 0, &err), MV_EVALUE);
    assert_int_equal(mv_layout_validate(49, 4, 2, shape, strides, 1, &err), 0);
    /* Strides need not be multiples of the item size. */
    ptrdiff_t odd[2] = {13, 3};
    assert_int_equal(mv_layout_validate(2 * 13 + 3 * 3 + 4, 4, 2, shape, odd, 0, &err), 0);
    /* Zero extent: nothing reachable; the offset may be the end. */
    ptrdiff_t zshape[2] = {0, 4};
    assert_int_equal(mv_layout_validate(10, 4, 2, zshape, strides, 10, &err), 0);
    assert_int_equal(mv_layout_validate(10, 4, 2, zshape, strides, 11, &err), MV_EVALUE);
    assert_int_equal(mv_layout_validate(0, 4, 2, zshape, strides, 0, &err), 0);
    /* A zero extent makes the product 0 even if a partial product would
     * overflow. */
    ptrdiff_t zbig[3] = {PTRDIFF_MAX / 2, 4, 0};
    assert_int_equal(mv_layout_validate(0, 4, 3, zbig, NULL, 0, &err), 0);
    /* 0-dim: one item at the offset. */
    assert_int_equal(mv_layout_validate(8, 8, 0, NULL, NULL, 0, &err), 0);
    assert_int_equal(mv_layout_validate(8, 8, 0, NULL, NULL, 1, &err), MV_EVALUE);
    assert_int_equal(mv_layout_validate(0, 1, 0, NULL, NULL, 0, &err), MV_EVALUE);
    /* Bad arguments. */
    assert_int_equal(mv_layout_validate(48, 0, 2, shape, strides, 0, &err), MV_EVALUE);
    assert_int_equal(mv_layout_validate(48, -4, 2, shape, strides, 0, &err), MV_EVALUE);
    assert_int_equal(mv_layout_validate(-1, 4, 2, shape, strides, 0, &err), MV_EVALUE);
    assert_int_equal(mv_layout_validate(48, 4, 65, shape, strides, 0, &err), MV_EVALUE);
    assert_int_equal(mv_layout_validate(48, 4, -1, shape, strides, 0, &err), MV_EVALUE);
    assert_int_equal(mv_layout_validate(48, 4, 2, NULL, strides, 0, &err), MV_EVALUE);
    assert_int_equal(mv_layout_validate(48, 4, 2, shape, strides, -4, &err), MV_EVALUE);
    assert_int_equal(mv_layout_validate(48, 4, 2, shape, strides, PTRDIFF_MIN, NULL), MV_EVALUE);
    ptrdiff_t negshape[2] = {3, -1};
    assert_int_equal(mv_layout_validate(48, 4, 2, negshape, strides, 0, &err), MV_EVALUE);
    assert_non_null(strstr(err.message, "-1"));
    /* Overflow in every product. */
    ptrdiff_t hshape[2] = {PTRDIFF_MAX / 2, 3};
    assert_int_equal(mv_layout_validate(PTRDIFF_MAX, 1, 2, hshape, NULL, 0, &err), MV_EOVERFLOW);
    ptrdiff_t h1[1] = {3}, hs1[1] = {PTRDIFF_MAX};
    assert_int_equal(mv_layout_validate(PTRDIFF_MAX, 1, 1, h1, hs1, 0, &err), MV_EOVERFLOW);
    ptrdiff_t h2[2] = {2, 2}, hs2[2] = {PTRDIFF_MAX - 8, PTRDIFF_MAX - 8};
    assert_int_equal(mv_layout_validate(PTRDIFF_MAX, 1, 2, h2, hs2, 0, &err), MV_EOVERFLOW);
    ptrdiff_t h4[1] = {4}, hs3[1] = {PTRDIFF_MIN / 2};
    assert_int_equal(mv_layout_validate(PTRDIFF_MAX, 1, 1, h4, hs3, PTRDIFF_MAX, &err),
                     MV_EOVERFLOW);
    /* Reaching exactly one byte before the memory is not an overflow. */
    ptrdiff_t h3[1] = {3};
    assert_int_equal(mv_layout_validate(PTRDIFF_MAX, 1, 1, h3, hs3, PTRDIFF_MAX, &err),
                     MV_EVALUE);
    ptrdiff_t one[1] = {1}, ones[1] = {0};
    assert_int_equal(mv_layout_validate(PTRDIFF_MAX, PTRDIFF_MAX, 1, one, ones, PTRDIFF_MAX, &err),
                     MV_EVALUE);
}

/* ------------------------------------------------------------------------ */
/* buffer_validate, size_from_format                                          */

static void test_buffer_validate(void **state)
{
    (void)state;
    char mem[64];
    ptrdiff_t shape[2] = {2, 3}, strides[2] = {12, 4};
    mv_buffer ok = {.buf = mem, .len = 24, .itemsize = 4, .ndim = 2, .format = "i",
                    .shape = shape, .strides = strides};
    mv_error err;
    assert_int_equal(mv_buffer_validate(&ok, &err), 0);
    mv_buffer b = ok;
    b.len = 20;
    assert_int_equal(mv_buffer_validate(&b, &err), MV_EVALUE);
    b = ok;
    b.format = "d";
    assert_int_equal(mv_buffer_validate(&b, &err), MV_EVALUE);
    assert_non_null(strstr(err.message, "'d'"));
    b.format = "not a format";
    assert_int_equal(mv_buffer_validate(&b, &err), MV_EVALUE);
    b = ok;
    b.format = NULL; /* no format: itemsize is not checked against "B" */
    assert_int_equal(mv_buffer_validate(&b, &err), 0);
    b = ok;
    b.buf = NULL;
    assert_int_equal(mv_buffer_validate(&b, &err), MV_EVALUE);
    b = ok;
    b.ndim = 65;
    assert_int_equal(mv_buffer_validate(&b, &err), MV_EVALUE);
    b.ndim = -1;
    assert_int_equal(mv_buffer_validate(&b, &err), MV_EVALUE);
    b = ok;
    b.itemsize = 0;
    b.format = NULL;
    assert_int_equal(mv_buffer_validate(&b, &err), MV_EVALUE);
    b = ok;
    b.len = -24;
    assert_int_equal(mv_buffer_validate(&b, &err), MV_EVALUE);
    b = ok;
    b.shape = NULL;
    assert_int_equal(mv_buffer_validate(&b, &err), MV_EVALUE); /* strides without shape */
    b.strides = NULL;
    assert_int_equal(mv_buffer_validate(&b, &err), MV_EVALUE); /* 2-D without shape */
    b.ndim = 1;
    assert_int_equal(mv_buffer_validate(&b, &err), 0); /* 6 items implied */
    b.len = 22;
    b.format = NULL;
    assert_int_equal(mv_buffer_validate(&b, &err), MV_EVALUE); /* not a multiple */
    b = ok;
    b.ndim = 0;
    b.shape = NULL;
    b.strides = NULL;
    b.len = 4;
    assert_int_equal(mv_buffer_validate(&b, &err), 0);
    b.len = 8;
    assert_int_equal(mv_buffer_validate(&b, &err), MV_EVALUE);
    /* Empty: NULL buf allowed, itemsize 0 allowed. */
    ptrdiff_t zshape[2] = {0, 3};
    mv_buffer e = {.buf = NULL, .len = 0, .itemsize = 0, .ndim = 2, .shape = zshape,
                   .strides = strides};
    assert_int_equal(mv_buffer_validate(&e, &err), 0);
    /* Overflows. */
    ptrdiff_t hshape[2] = {PTRDIFF_MAX / 2, 4};
    b = ok;
    b.shape = hshape;
    b.format = NULL;
    assert_int_equal(mv_buffer_validate(&b, &err), MV_EOVERFLOW);
    ptrdiff_t hs[2] = {PTRDIFF_MAX, 4};
    b = ok;
    b.strides = hs;
    assert_int_equal(mv_buffer_validate(&b, &err), MV_EOVERFLOW);
    /* A descriptor reaching below address 0. */
    ptrdiff_t down[2] = {PTRDIFF_MIN / 4, 4};
    b = ok;
    b.strides = down;
    b.buf = mem;
    assert_int_equal(mv_buffer_validate(&b, &err), MV_EOVERFLOW);
    assert_int_equal(mv_buffer_validate(NULL, &err), MV_EVALUE);
}

/* 1-D descriptors, the shape mv_buffer_validate checks without its general
 * loops: each case's answer worked out by hand, on both sides of the
 * shortcut (the cases that leave it must still be answered in full). */
static void test_buffer_validate_1d(void **state)
{
    (void)state;
    static char mem[64];
    ptrdiff_t six[1] = {6}, four[1] = {4}, eight[1] = {8}, back[1] = {-4}, zero[1] = {0},
              neg[1] = {-1}, huge[1] = {PTRDIFF_MAX / 2}, direct[1] = {-1};
    const struct {
        void *buf;
        ptrdiff_t len, itemsize;
        const char *format;
        ptrdiff_t *shape, *strides, *suboffsets;
        int rc;
        const char *message; /* a part of it, or NULL */
    } cases[] = {
        {mem, 24, 4, "i", six, four, NULL, 0, NULL},
        {mem, 24, 4, "@i", six, four, NULL, 0, NULL},
        {mem, 24, 4, NULL, six, NULL, NULL, 0, NULL},
        {mem, 24, 4, NULL, NULL, NULL, NULL, 0, NULL},
        {mem, 24, 4, "2h", six, four, NULL, 0, NULL},        /* parsed: size 4 */
        {mem + 20, 24, 4, "i", six, back, NULL, 0, NULL},    /* backwards */
        {mem, 24, 4, "i", six, eight, NULL, 0, NULL},        /* every other item */
        {mem, 24, 4, "i", six, four, direct, 0, NULL},       /* suboffsets, all direct */
        {NULL, 0, 4, "i", zero, four, NULL, 0, NULL},
        {NULL, 0, 0, NULL, zero, NULL, NULL, 0, NULL},
        {mem, 24, 4, "d", six, four, NULL, MV_EVALUE, "format 'd' (size 8)"},
        {mem, 24, 4, "h", six, four, NULL, MV_EVALUE, "format 'h' (size 2)"},
        {mem, 24, 4, "what", six, four, NULL, MV_EVALUE, NULL},
        {mem, 20, 4, "i", six, four, NULL, MV_EVALUE, "!= product(shape)"},
        {mem, 22, 4, NULL, NULL, NULL, NULL, MV_EVALUE, "not a multiple"},
        {mem, -4, 4, "i", neg, four, NULL, MV_EVALUE, NULL},
        {mem, 24, 4, "i", huge, four, NULL, MV_EOVERFLOW, NULL},
        {NULL, 24, 4, "i", six, four, NULL, MV_EVALUE, "buf is NULL"},
        {mem, 24, -4, NULL, six, four, NULL, MV_EVALUE, "itemsize"},
        {(void *)(UINTPTR_MAX - 8), 24, 4, "i", six, four, NULL, MV_EOVERFLOW, NULL},
        {(void *)(UINTPTR_MAX - 8), 24, 4, "i", NULL, NULL, NULL, MV_EOVERFLOW, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mv_buffer b = {.buf = cases[i].buf, .len = cases[i].len, .itemsize = cases[i].itemsize,
                       .ndim = 1, .format = cases[i].format, .shape = cases[i].shape,
                       .strides = cases[i].strides, .suboffsets = cases[i].suboffsets};
        mv_error err;
        mv_error_clear(&err);
        int rc = mv_buffer_validate(&b, &err);
        if (rc != cases[i].rc)
            fail_msg("case %zu: %d, expected %d (%s)", i, rc, cases[i].rc, err.message);
        if (cases[i].message && !strstr(err.message, cases[i].message))
            fail_msg("case %zu: message '%s' lacks '%s'", i, err.message, cases[i].message);
    }
}

static void test_buffer_validate_nomem(void **state)
{
    (void)state;
    char mem[24];
    ptrdiff_t shape[2] = {2, 3};
    mv_buffer ok = {.buf = mem, .len = 24, .itemsize = 4, .ndim = 2, .format = "T{h:a:h:b:}",
                    .shape = shape};
    for (long n = 0;; n++) {
        mv_error err;
        mv_error_clear(&err);
        mv_test_fail_after(n);
        int rc = mv_buffer_validate(&ok, &err);
        mv_test_fail_after(-1);
        if (rc == 0)
            break;
        assert_int_equal(rc, MV_ENOMEM);
        assert_true(n < 100);
    }
}

static void test_size_from_format(void **state)
{
    (void)state;
    mv_error err;
    assert_int_equal(mv_size_from_format("B", &err), 1);
    assert_int_equal(mv_size_from_format(NULL, &err), 1);
    assert_int_equal(mv_size_from_format("i", &err), (ptrdiff_t)sizeof(int));
    assert_int_equal(mv_size_from_format("<q", &err), 8);
    assert_int_equal(mv_size_from_format("3h", &err), 6);
    assert_int_equal(mv_size_from_format("=bxh", &err), 4);
    assert_int_equal(mv_size_from_format("@bi", &err), (ptrdiff_t)(2 * sizeof(int)));
    assert_int_equal(mv_size_from_format("10s", &err), 10);
    mv_error_clear(&err);
    assert_int_equal(mv_size_from_format("w", &err), 4);
    assert_int_equal(mv_size_from_format("g", &err), -1);
    assert_int_equal(err.code, MV_EVALUE);
    assert_non_null(strstr(err.message, "'g'"));
    assert_int_equal(mv_size_from_format("T{i", NULL), -1);
}

/* A type of the user's with `data` and MV_TYPE_FILL_INFO: mv_object_data
 * reads its memory through `data`; buffers of it are filled without its
 * getbuffer (counted here), with the export counted; when `data` has no
 * memory, or a writable request meets read-only memory, getbuffer runs
 * and its error is the answer. */
typedef struct fill_obj {
    mv_object ob;
    unsigned char mem[6];
    int readonly;
    int have;       /* 0: data says there is no memory now */
    int getbuffers; /* calls of getbuffer */
} fill_obj;

static int fill_getbuffer(mv_object *self, mv_buffer *view, int flags, mv_error *err)
{
    fill_obj *o = (fill_obj *)self;
    o->getbuffers++;
    if (!o->have)
        return mv_error_set(err, MV_EVALUE, "fill: no memory now");
    return mv_buffer_fill_info(view, self, o->mem, sizeof o->mem, o->readonly, flags, err);
}

static void *fill_data(mv_object *self, size_t *len, int *readonly)
{
    fill_obj *o = (fill_obj *)self;
    *readonly = o->readonly;
    if (!o->have) {
        *len = 0;
        return NULL;
    }
    *len = sizeof o->mem;
    return o->mem;
}

static void fill_destroy(mv_object *self)
{
    (void)self;
}

static const mv_type fill_type = {.name = "fill",
                                  .getbuffer = fill_getbuffer,
                                  .destroy = fill_destroy,
                                  .data = fill_data,
                                  .flags = MV_TYPE_FILL_INFO};

static void test_type_data_fill_info(void **state)
{
    (void)state;
    fill_obj o = {.mem = {1, 2, 3, 4, 5, 6}, .readonly = 1, .have = 1};
    mv_object_init(&o.ob, &fill_type);
    size_t len = 99;
    assert_ptr_equal(mv_object_data(&o.ob, &len), o.mem);
    assert_int_equal(len, 6);

    mv_error err;
    mv_error_clear(&err);
    mv_buffer b;
    assert_int_equal(mv_object_getbuffer(&o.ob, &b, MV_BUF_FULL_RO, &err), 0);
    assert_int_equal(o.getbuffers, 0);
    assert_ptr_equal(b.buf, o.mem);
    assert_int_equal(b.len, 6);
    assert_int_equal(b.readonly, 1);
    assert_string_equal(b.format, "B");
    assert_ptr_equal(b.obj, &o.ob);
    assert_int_equal(mv_object_exports(&o.ob), 1);
    assert_int_equal(mv_object_refcount(&o.ob), 2);
    mv_buffer_release(&b);
    assert_int_equal(mv_object_exports(&o.ob), 0);
    assert_int_equal(mv_object_refcount(&o.ob), 1);

    /* Writable request of read-only memory: the type's getbuffer answers. */
    assert_int_equal(mv_object_getbuffer(&o.ob, &b, MV_BUF_WRITABLE, &err), MV_EBUFFER);
    assert_int_equal(o.getbuffers, 1);
    assert_string_equal(err.message, "Object is not writable.");
    assert_int_equal(mv_object_exports(&o.ob), 0);

    /* No memory now: NULL data, and getbuffer's own error. */
    o.have = 0;
    assert_null(mv_object_data(&o.ob, &len));
    assert_int_equal(len, 0);
    mv_error_clear(&err);
    assert_int_equal(mv_object_getbuffer(&o.ob, &b, MV_BUF_SIMPLE, &err), MV_EVALUE);
    assert_string_equal(err.message, "fill: no memory now");
    assert_int_equal(o.getbuffers, 2);

    /* A view and a layout of it see the memory; writes go through. */
    o.have = 1;
    o.readonly = 0;
    mv_view *v = mv_view_new(&o.ob, &err);
    assert_non_null(v);
    mv_value val = {.kind = MV_VALUE_UNSIGNED, .v.u = 200};
    ptrdiff_t i = -1;
    assert_int_equal(mv_view_set_item(v, &i, 1, &val, 1, &err), 0);
    assert_int_equal(o.mem[5], 200);
    mv_view_release(v, &err);
    mv_decref(mv_view_object(v));
    mv_layout s;
    assert_int_equal(mv_layout_acquire(&s, &b, &o.ob, MV_BUF_WRITABLE, &err), 0);
    assert_ptr_equal(s.buf, o.mem);
    assert_int_equal(s.shape[0], 6);
    mv_buffer_release(&b);
    assert_int_equal(o.getbuffers, 2);
    assert_int_equal(mv_object_exports(&o.ob), 0);

    /* A type without `data` has none to give. */
    static const mv_type bare = {.name = "bare", .getbuffer = fill_getbuffer,
                                 .destroy = fill_destroy};
    fill_obj p = {.have = 1};
    mv_object_init(&p.ob, &bare);
    len = 99;
    assert_null(mv_object_data(&p.ob, &len));
    assert_int_equal(len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fill_info_all_flags),
        cmocka_unit_test(test_type_data_fill_info),
        cmocka_unit_test(test_fill_info_hostile),
        cmocka_unit_test(test_answer_all_flags),
        cmocka_unit_test(test_answer_named_requests),
        cmocka_unit_test(test_answer_hostile),
        cmocka_unit_test(test_is_contiguous),
        cmocka_unit_test(test_get_pointer_strided),
        cmocka_unit_test(test_get_pointer_empty_indirect),
        cmocka_unit_test(test_get_pointer_implied),
        cmocka_unit_test(test_get_pointer_suboffsets),
        cmocka_unit_test(test_fill_contiguous_strides),
        cmocka_unit_test(test_layout_validate_random),
        cmocka_unit_test(test_layout_validate_cases),
        cmocka_unit_test(test_buffer_validate),
        cmocka_unit_test(test_buffer_validate_1d),
        cmocka_unit_test(test_buffer_validate_nomem),
        cmocka_unit_test(test_size_from_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
