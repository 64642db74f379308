/* Tests for views in the caller's memory (src/view/view.c): mv_view_new_at,
 * mv_view_subscript_at, mv_view_cast_at and mv_view_toreadonly_at.
 *
 * Every expected descriptor is written out by hand here (slice.indices()
 * longhand, C / Fortran strides of a shape, PyBuffer_GetPointer over the
 * exporter's own layout), and the heap constructor's view is checked
 * against the same expectation as the placed one.  place hands out memory
 * filled with a pattern, so the tests also see what the library wrote
 * where, and memory from malloc that the test frees itself, so that
 * ASan / valgrind catch a write past the size asked for or a free() of
 * memory the library does not own. */
#include <memview.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failalloc.h"
#include "testviews.h"

#define MSG_RELEASED "operation forbidden on released memoryview object"
#define MSG_NOMEM "out of memory"
#define MSG_READONLY "cannot modify read-only memory"

enum { PATTERN = 0xA5, SCRIBBLE = 0x5A };

/* ------------------------------------------------------------------------ */
/* place functions                                                           */
/* ------------------------------------------------------------------------ */

/* Room for any view (64 dimensions with suboffsets need under 2 KiB), on a
 * 64-byte boundary so that offsets below choose the alignment exactly. */
enum { SLOT_CAP = 4096, SLOT_PAD = 64 };

typedef struct slot {
    _Alignas(64) unsigned char mem[SLOT_CAP + SLOT_PAD];
    size_t offset;  /* place gives mem + offset */
    bool give_null; /* place fails */
    int calls;
    size_t size;    /* what the last call asked for */
    void *given;    /* what the last call returned */
} slot;

static void slot_init(slot *s, size_t offset)
{
    memset(s->mem, PATTERN, sizeof s->mem);
    s->offset = offset;
    s->give_null = false;
    s->calls = 0;
    s->size = 0;
    s->given = NULL;
}

static void *place_slot(void *ctx, size_t size)
{
    slot *s = ctx;
    s->calls++;
    s->size = size;
    if (s->give_null)
        return s->given = NULL;
    if (size > SLOT_CAP)
        fail_msg("place asked for %zu bytes", size);
    return s->given = s->mem + s->offset;
}

/* Every byte of the slot still holds the pattern. */
static void slot_untouched(const slot *s)
{
    for (size_t i = 0; i < sizeof s->mem; i++)
        if (s->mem[i] != PATTERN)
            fail_msg("byte %zu of the caller's memory was written", i);
}

/* Nothing outside [offset, offset + size) was written. */
static void slot_outside_untouched(const slot *s)
{
    for (size_t i = 0; i < sizeof s->mem; i++)
        if ((i < s->offset || i >= s->offset + s->size) && s->mem[i] != PATTERN)
            fail_msg("byte %zu outside the %zu bytes asked for was written", i, s->size);
}

/* Exactly `size` bytes from malloc, which the test frees (never the
 * library: ASan and valgrind report a double free otherwise). */
typedef struct heap_place {
    int calls;
    size_t size;
    void *p;
} heap_place;

static void *place_malloc(void *ctx, size_t size)
{
    heap_place *h = ctx;
    h->calls++;
    h->size = size;
    h->p = malloc(size);
    return h->p;
}

/* size bytes one past a malloc'd block (h->p, which the test frees), so
 * misaligned; filled with the pattern. */
static void *place_malloc_odd(void *ctx, size_t size)
{
    heap_place *h = ctx;
    h->calls++;
    h->size = size;
    h->p = malloc(size + 1);
    assert_non_null(h->p);
    memset(h->p, PATTERN, size + 1);
    return (unsigned char *)h->p + 1;
}

/* The alignment of a struct made of an mv_object, pointers, ints and an
 * mv_buffer followed by ptrdiff_t arrays (what an mv_view is made of). */
static size_t model_view_align(void)
{
    size_t a = _Alignof(mv_object);
    if (_Alignof(mv_buffer) > a)
        a = _Alignof(mv_buffer);
    if (_Alignof(ptrdiff_t) > a)
        a = _Alignof(ptrdiff_t);
    if (_Alignof(void *) > a)
        a = _Alignof(void *);
    return a;
}

/* What the header promises is enough: aligned for a pointer and a 64-bit
 * integer. */
static size_t documented_align(void)
{
    return _Alignof(void *) > _Alignof(uint64_t) ? _Alignof(void *) : _Alignof(uint64_t);
}

/* The least a view of ndim dimensions can take: its object header, its
 * descriptor and its arrays (shape, strides, suboffsets when it has
 * them). */
static size_t least_size(int ndim, bool suboffsets)
{
    return sizeof(mv_object) + sizeof(mv_buffer) +
           (size_t)(suboffsets ? 3 : 2) * (size_t)ndim * sizeof(ptrdiff_t);
}

static bool inside(const void *p, size_t n, const void *mem, size_t size)
{
    uintptr_t a = (uintptr_t)p, lo = (uintptr_t)mem;
    return a >= lo && a + n <= lo + size;
}

/* v lies at mem, place was called once with size, and everything the view
 * describes itself with lies within those bytes. */
static void expect_in(mv_view *v, const void *mem, size_t size, int calls)
{
    assert_non_null(v);
    assert_int_equal(calls, 1);
    assert_ptr_equal((void *)v, mem);
    assert_ptr_equal((void *)mv_view_object(v), mem);
    assert_ptr_equal(mv_view_from_object((mv_object *)(void *)mem), v);
    assert_string_equal(mv_object_type_name(mv_view_object(v)), "memoryview");
    assert_int_equal(mv_object_refcount(mv_view_object(v)), 1);
    assert_int_equal(mv_object_exports(mv_view_object(v)), 0);
    mv_error err;
    mv_error_clear(&err);
    const mv_buffer *b = mv_view_buffer(v, &err);
    assert_non_null(b);
    int ndim = b->ndim;
    assert_true(size >= least_size(ndim, b->suboffsets != NULL));
    assert_true(inside(b, sizeof *b, mem, size));
    size_t n = (size_t)ndim * sizeof(ptrdiff_t);
    if (ndim > 0) {
        assert_true(inside(b->shape, n, mem, size));
        assert_true(inside(b->strides, n, mem, size));
        /* The arrays do not overlap. */
        assert_true((uintptr_t)b->shape + n <= (uintptr_t)b->strides ||
                    (uintptr_t)b->strides + n <= (uintptr_t)b->shape);
        if (b->suboffsets) {
            assert_true(inside(b->suboffsets, n, mem, size));
            assert_true((uintptr_t)b->suboffsets + n <= (uintptr_t)b->shape ||
                        (uintptr_t)b->shape + n <= (uintptr_t)b->suboffsets);
            assert_true((uintptr_t)b->suboffsets + n <= (uintptr_t)b->strides ||
                        (uintptr_t)b->strides + n <= (uintptr_t)b->suboffsets);
        }
    }
}

static void expect_in_slot(mv_view *v, const slot *s)
{
    expect_in(v, s->mem + s->offset, s->size, s->calls);
    slot_outside_untouched(s);
}

/* ------------------------------------------------------------------------ */
/* Descriptors written out by hand                                           */
/* ------------------------------------------------------------------------ */

enum { MAXD = 8 };

typedef struct desc {
    void *buf;
    mv_object *obj;
    ptrdiff_t len, itemsize;
    int readonly, ndim;
    const char *format;
    ptrdiff_t shape[MAXD], strides[MAXD];
    const ptrdiff_t *subs; /* NULL: no suboffsets */
    char contig;           /* 'C', 'F', 'B' (both) or 'N' (neither) */
} desc;

static void expect_desc(mv_view *v, const desc *e)
{
    mv_error err;
    mv_error_clear(&err);
    const mv_buffer *b = mv_view_buffer(v, &err);
    assert_non_null(b);
    assert_ptr_equal(b->buf, e->buf);
    assert_ptr_equal(b->obj, e->obj);
    assert_ptr_equal(mv_view_exporter(v), e->obj);
    assert_int_equal(b->len, e->len);
    assert_int_equal(b->itemsize, e->itemsize);
    assert_int_equal(b->readonly, e->readonly);
    assert_int_equal(b->ndim, e->ndim);
    assert_non_null(b->format);
    assert_string_equal(b->format, e->format);
    for (int d = 0; d < e->ndim; d++) {
        assert_int_equal(b->shape[d], e->shape[d]);
        assert_int_equal(b->strides[d], e->strides[d]);
    }
    if (e->subs) {
        assert_non_null(b->suboffsets);
        for (int d = 0; d < e->ndim; d++)
            assert_int_equal(b->suboffsets[d], e->subs[d]);
    } else {
        assert_null(b->suboffsets);
    }
    bool c = e->contig == 'C' || e->contig == 'B', f = e->contig == 'F' || e->contig == 'B';
    assert_int_equal(mv_view_is_contiguous(v, 'C', &err), c);
    assert_int_equal(mv_view_is_contiguous(v, 'F', &err), f);
    assert_int_equal(mv_view_is_contiguous(v, 'A', &err), c || f);
    const mv_format *fmt = mv_view_format(v, &err);
    assert_non_null(fmt);
    assert_int_equal(fmt->itemsize, e->itemsize);
}

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */
/* ------------------------------------------------------------------------ */

static const mv_key KNEW = {.kind = MV_KEY_NEWAXIS};

static void drop(mv_view *v)
{
    mv_decref(mv_view_object(v));
}

static uint64_t get_u(mv_view *v, const ptrdiff_t *idx, int n)
{
    mv_error err;
    mv_value val;
    if (mv_view_get_item(v, idx, n, &val, 1, &err) < 0)
        fail_msg("get_item: %s", err.message);
    assert_int_equal(val.kind, MV_VALUE_UNSIGNED);
    return val.v.u;
}

static int64_t get_i(mv_view *v, const ptrdiff_t *idx, int n)
{
    mv_error err;
    mv_value val;
    if (mv_view_get_item(v, idx, n, &val, 1, &err) < 0)
        fail_msg("get_item: %s", err.message);
    assert_int_equal(val.kind, MV_VALUE_SIGNED);
    return val.v.i;
}

static void set_u(mv_view *v, const ptrdiff_t *idx, int n, uint64_t u)
{
    mv_error err;
    mv_value val = v_uint(u);
    if (mv_view_set_item(v, idx, n, &val, 1, &err) < 0)
        fail_msg("set_item: %s", err.message);
}

static mv_object *new_bytes_seq(size_t n, unsigned char first)
{
    unsigned char data[256];
    assert_true(n <= sizeof data);
    for (size_t i = 0; i < n; i++)
        data[i] = (unsigned char)(first + i);
    mv_error err;
    mv_object *o = mv_bytes_new(data, n, &err);
    assert_non_null(o);
    return o;
}

static mv_object *new_bytearray_seq(size_t n, unsigned char first)
{
    unsigned char data[256];
    assert_true(n <= sizeof data);
    for (size_t i = 0; i < n; i++)
        data[i] = (unsigned char)(first + i);
    mv_error err;
    mv_object *o = mv_bytearray_new(data, n, &err);
    assert_non_null(o);
    return o;
}

static void expect_fail(mv_view *r, const mv_error *err, int code, const char *msg)
{
    assert_null(r);
    assert_int_equal(err->code, code);
    assert_string_equal(err->message, msg);
}

/* ------------------------------------------------------------------------ */
/* 1. Same descriptor as the heap constructor, at the address place gave     */
/* ------------------------------------------------------------------------ */

static void new_at_matches_heap(void **state)
{
    (void)state;
    mv_error err;
    mv_error_clear(&err);
    mv_object *bytes = new_bytes_seq(20, 100);
    unsigned char *data = mv_object_data(bytes, NULL);
    assert_non_null(data);
    const desc e = {.buf = data, .obj = bytes, .len = 20, .itemsize = 1, .readonly = 1,
                    .ndim = 1, .format = "B", .shape = {20}, .strides = {1}, .contig = 'B'};

    slot s;
    slot_init(&s, 0);
    mv_view *placed = mv_view_new_at(place_slot, &s, bytes, &err);
    expect_in_slot(placed, &s);
    expect_desc(placed, &e);
    mv_view *heap = mv_view_new(bytes, &err);
    assert_non_null(heap);
    expect_desc(heap, &e);
    /* One export of bytes per view made from it. */
    assert_int_equal(mv_object_exports(bytes), 2);
    ptrdiff_t i7 = 7;
    assert_int_equal(get_u(placed, &i7, 1), 107);

    /* A view of a view (the exporter is a view): a copy on the same
     * managed buffer, whose exporter is still bytes. */
    slot s2;
    slot_init(&s2, 0);
    mv_view *copy = mv_view_new_at(place_slot, &s2, mv_view_object(placed), &err);
    expect_in_slot(copy, &s2);
    expect_desc(copy, &e);
    mv_view *copy_heap = mv_view_new(mv_view_object(placed), &err);
    expect_desc(copy_heap, &e);
    assert_int_equal(mv_object_exports(bytes), 2);
    /* No buffer of the parent view was taken for that. */
    assert_int_equal(mv_object_exports(mv_view_object(placed)), 0);

    /* Memory from malloc, exactly the size asked for. */
    heap_place h = {0};
    mv_view *m = mv_view_new_at(place_malloc, &h, bytes, &err);
    expect_in(m, h.p, h.size, h.calls);
    expect_desc(m, &e);
    assert_int_equal(mv_object_exports(bytes), 3);

    drop(copy);
    drop(copy_heap);
    drop(placed);
    drop(heap);
    drop(m);
    free(h.p);
    assert_int_equal(mv_object_exports(bytes), 0);
    assert_int_equal(mv_object_refcount(bytes), 1);
    mv_decref(bytes);
}

static void subscript_at_slice_matches_heap(void **state)
{
    (void)state;
    mv_error err;
    mv_error_clear(&err);
    mv_object *bytes = new_bytes_seq(20, 0);
    unsigned char *data = mv_object_data(bytes, NULL);
    mv_view *v = mv_view_new(bytes, &err);
    assert_non_null(v);

    /* [2:10:3]: indices 2, 5, 8. */
    mv_key k = kslice(1, 2, 1, 10, 1, 3);
    const desc e = {.buf = data + 2, .obj = bytes, .len = 3, .itemsize = 1, .readonly = 1,
                    .ndim = 1, .format = "B", .shape = {3}, .strides = {3}, .contig = 'N'};
    slot s;
    slot_init(&s, 0);
    mv_view *placed = mv_view_subscript_at(place_slot, &s, v, &k, 1, &err);
    expect_in_slot(placed, &s);
    expect_desc(placed, &e);
    mv_view *heap = mv_view_subscript(v, &k, 1, &err);
    expect_desc(heap, &e);
    for (ptrdiff_t i = 0; i < 3; i++)
        assert_int_equal(get_u(placed, &i, 1), 2 + 3 * i);

    /* [::-4]: indices 19, 15, 11, 7, 3. */
    mv_key k2 = kslice(0, 0, 0, 0, 1, -4);
    const desc e2 = {.buf = data + 19, .obj = bytes, .len = 5, .itemsize = 1, .readonly = 1,
                     .ndim = 1, .format = "B", .shape = {5}, .strides = {-4}, .contig = 'N'};
    slot s2;
    slot_init(&s2, 0);
    mv_view *rev = mv_view_subscript_at(place_slot, &s2, v, &k2, 1, &err);
    expect_in_slot(rev, &s2);
    expect_desc(rev, &e2);
    mv_view *rev_heap = mv_view_subscript(v, &k2, 1, &err);
    expect_desc(rev_heap, &e2);

    /* An empty slice [5:5]: a layout without items takes no offset, so
     * buf stays at the source's start (src/layout/layout.h). */
    mv_key k3 = kslice(1, 5, 1, 5, 0, 0);
    const desc e3 = {.buf = data, .obj = bytes, .len = 0, .itemsize = 1, .readonly = 1,
                     .ndim = 1, .format = "B", .shape = {0}, .strides = {1}, .contig = 'B'};
    slot s3;
    slot_init(&s3, 0);
    mv_view *empty = mv_view_subscript_at(place_slot, &s3, v, &k3, 1, &err);
    expect_in_slot(empty, &s3);
    expect_desc(empty, &e3);

    drop(placed);
    drop(heap);
    drop(rev);
    drop(rev_heap);
    drop(empty);
    drop(v);
    assert_int_equal(mv_object_exports(bytes), 0);
    mv_decref(bytes);
}

/* A 4x5 grid of bytes, row r column c holding 10 * r + c. */
typedef struct grid {
    unsigned char mem[20];
    ptrdiff_t shape[2], strides[2];
    test_exporter t;
} grid;

static void grid_init(grid *g, int readonly)
{
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 5; c++)
            g->mem[r * 5 + c] = (unsigned char)(10 * r + c);
    g->shape[0] = 4;
    g->shape[1] = 5;
    g->strides[0] = 5;
    g->strides[1] = 1;
    texp_init(&g->t, g->mem, 1, "B", 2, g->shape, g->strides, NULL, readonly);
}

static void subscript_at_2d_index_newaxis(void **state)
{
    (void)state;
    mv_error err;
    mv_error_clear(&err);
    grid g;
    grid_init(&g, 0);
    mv_view *v = mv_view_new(&g.t.base, &err);
    assert_non_null(v);

    /* [None, 2, ::2]: a new axis of extent 1 (stride 0), row 2, columns
     * 0, 2, 4. */
    mv_key k[] = {KNEW, kidx(2), kslice(0, 0, 0, 0, 1, 2)};
    const desc e = {.buf = g.mem + 10, .obj = &g.t.base, .len = 3, .itemsize = 1, .ndim = 2,
                    .format = "B", .shape = {1, 3}, .strides = {0, 2}, .contig = 'N'};
    slot s;
    slot_init(&s, 0);
    mv_view *placed = mv_view_subscript_at(place_slot, &s, v, k, 3, &err);
    expect_in_slot(placed, &s);
    expect_desc(placed, &e);
    mv_view *heap = mv_view_subscript(v, k, 3, &err);
    expect_desc(heap, &e);
    for (ptrdiff_t c = 0; c < 3; c++) {
        ptrdiff_t idx[] = {0, c};
        assert_int_equal(get_u(placed, idx, 2), 20 + 2 * c);
    }

    /* [-1, None]: row 3, then the new axis, then the whole of dimension 1. */
    mv_key k2[] = {kidx(-1), KNEW};
    const desc e2 = {.buf = g.mem + 15, .obj = &g.t.base, .len = 5, .itemsize = 1, .ndim = 2,
                     .format = "B", .shape = {1, 5}, .strides = {0, 1}, .contig = 'B'};
    slot s2;
    slot_init(&s2, 0);
    mv_view *placed2 = mv_view_subscript_at(place_slot, &s2, v, k2, 2, &err);
    expect_in_slot(placed2, &s2);
    expect_desc(placed2, &e2);
    mv_view *heap2 = mv_view_subscript(v, k2, 2, &err);
    expect_desc(heap2, &e2);

    /* [1:3, ::-2]: rows 1, 2, columns 4, 2, 0 (the first-dimension fast
     * path is for one key; this is two). */
    mv_key k3[] = {kslice(1, 1, 1, 3, 0, 0), kslice(0, 0, 0, 0, 1, -2)};
    const desc e3 = {.buf = g.mem + 5 + 4, .obj = &g.t.base, .len = 6, .itemsize = 1, .ndim = 2,
                     .format = "B", .shape = {2, 3}, .strides = {5, -2}, .contig = 'N'};
    slot s3;
    slot_init(&s3, 0);
    mv_view *placed3 = mv_view_subscript_at(place_slot, &s3, v, k3, 2, &err);
    expect_in_slot(placed3, &s3);
    expect_desc(placed3, &e3);
    mv_view *heap3 = mv_view_subscript(v, k3, 2, &err);
    expect_desc(heap3, &e3);

    /* [1:3] alone (one slice key on a 2-D view). */
    mv_key k4 = kslice(1, 1, 1, 3, 0, 0);
    const desc e4 = {.buf = g.mem + 5, .obj = &g.t.base, .len = 10, .itemsize = 1, .ndim = 2,
                     .format = "B", .shape = {2, 5}, .strides = {5, 1}, .contig = 'C'};
    slot s4;
    slot_init(&s4, 0);
    mv_view *placed4 = mv_view_subscript_at(place_slot, &s4, v, &k4, 1, &err);
    expect_in_slot(placed4, &s4);
    expect_desc(placed4, &e4);
    mv_view *heap4 = mv_view_subscript(v, &k4, 1, &err);
    expect_desc(heap4, &e4);

    drop(placed);
    drop(heap);
    drop(placed2);
    drop(heap2);
    drop(placed3);
    drop(heap3);
    drop(placed4);
    drop(heap4);
    assert_int_equal(g.t.releasebuffer_calls, 0);
    drop(v);
    assert_int_equal(g.t.releasebuffer_calls, 1);
    texp_finish(&g.t);
}

static void cast_at_matches_heap(void **state)
{
    (void)state;
    mv_error err;
    mv_error_clear(&err);
    mv_object *ba = new_bytearray_seq(24, 0);
    unsigned char *data = mv_object_data(ba, NULL);
    mv_view *v = mv_view_new(ba, &err);
    assert_non_null(v);

    /* 24 bytes as 'i' (2, 3): C strides (3 * 4, 4). */
    ptrdiff_t shape[] = {2, 3};
    const desc e = {.buf = data, .obj = ba, .len = 24, .itemsize = 4, .ndim = 2, .format = "i",
                    .shape = {2, 3}, .strides = {12, 4}, .contig = 'C'};
    slot s;
    slot_init(&s, 0);
    mv_view *placed = mv_view_cast_at(place_slot, &s, v, "i", shape, 2, 0, &err);
    expect_in_slot(placed, &s);
    expect_desc(placed, &e);
    mv_view *heap = mv_view_cast(v, "i", shape, 2, 0, &err);
    expect_desc(heap, &e);

    /* Fortran order: strides (4, 2 * 4). */
    const desc ef = {.buf = data, .obj = ba, .len = 24, .itemsize = 4, .ndim = 2, .format = "i",
                     .shape = {2, 3}, .strides = {4, 8}, .contig = 'F'};
    slot sf;
    slot_init(&sf, 0);
    mv_view *placed_f = mv_view_cast_at(place_slot, &sf, v, "i", shape, 2, MV_CAST_FORTRAN, &err);
    expect_in_slot(placed_f, &sf);
    expect_desc(placed_f, &ef);
    mv_view *heap_f = mv_view_cast(v, "i", shape, 2, MV_CAST_FORTRAN, &err);
    expect_desc(heap_f, &ef);

    /* ndim < 0: 1-D, as many items as fit; a strict cast. */
    const desc e1 = {.buf = data, .obj = ba, .len = 24, .itemsize = 2, .ndim = 1, .format = "H",
                     .shape = {12}, .strides = {2}, .contig = 'B'};
    slot s1;
    slot_init(&s1, 0);
    mv_view *placed1 = mv_view_cast_at(place_slot, &s1, v, "H", NULL, -1, MV_CAST_STRICT, &err);
    expect_in_slot(placed1, &s1);
    expect_desc(placed1, &e1);
    mv_view *heap1 = mv_view_cast(v, "H", NULL, -1, MV_CAST_STRICT, &err);
    expect_desc(heap1, &e1);

    /* A format the library keeps no shared holder for. */
    ptrdiff_t shape3[] = {3};
    const desc e3 = {.buf = data, .obj = ba, .len = 24, .itemsize = 8, .ndim = 1,
                     .format = "<2i", .shape = {3}, .strides = {8}, .contig = 'B'};
    slot s3;
    slot_init(&s3, 0);
    mv_view *placed3 = mv_view_cast_at(place_slot, &s3, v, "<2i", shape3, 1, 0, &err);
    expect_in_slot(placed3, &s3);
    expect_desc(placed3, &e3);

    /* Items of the 'i' view are the bytes' native ints. */
    for (ptrdiff_t r = 0; r < 2; r++)
        for (ptrdiff_t c = 0; c < 3; c++) {
            int32_t want;
            memcpy(&want, data + 12 * r + 4 * c, 4);
            ptrdiff_t idx[] = {r, c};
            assert_int_equal(get_i(placed, idx, 2), want);
        }

    drop(placed);
    drop(heap);
    drop(placed_f);
    drop(heap_f);
    drop(placed1);
    drop(heap1);
    drop(placed3);
    assert_int_equal(mv_object_exports(ba), 1);
    drop(v);
    assert_int_equal(mv_object_exports(ba), 0);
    mv_decref(ba);
}

static void toreadonly_at_matches_heap(void **state)
{
    (void)state;
    mv_error err;
    mv_error_clear(&err);
    mv_object *ba = new_bytearray_seq(10, 0);
    unsigned char *data = mv_object_data(ba, NULL);
    mv_view *v = mv_view_new(ba, &err);
    assert_non_null(v);
    mv_key k = kslice(1, 1, 0, 0, 1, 2); /* [1::2]: 1, 3, 5, 7, 9 */
    mv_view *odd = mv_view_subscript(v, &k, 1, &err);
    assert_non_null(odd);

    const desc e = {.buf = data + 1, .obj = ba, .len = 5, .itemsize = 1, .readonly = 1,
                    .ndim = 1, .format = "B", .shape = {5}, .strides = {2}, .contig = 'N'};
    slot s;
    slot_init(&s, 0);
    mv_view *placed = mv_view_toreadonly_at(place_slot, &s, odd, &err);
    expect_in_slot(placed, &s);
    expect_desc(placed, &e);
    mv_view *heap = mv_view_toreadonly(odd, &err);
    expect_desc(heap, &e);

    ptrdiff_t i = 2;
    mv_value val = v_uint(99);
    mv_error_clear(&err);
    assert_int_equal(mv_view_set_item(placed, &i, 1, &val, 1, &err), MV_ETYPE);
    assert_int_equal(err.code, MV_ETYPE);
    assert_string_equal(err.message, MSG_READONLY);
    assert_int_equal(data[5], 5);
    /* The source stays writable, and the read-only view sees the write. */
    set_u(odd, &i, 1, 99);
    assert_int_equal(data[5], 99);
    assert_int_equal(get_u(placed, &i, 1), 99);

    drop(placed);
    drop(heap);
    drop(odd);
    drop(v);
    assert_int_equal(mv_object_exports(ba), 0);
    mv_decref(ba);
}

/* ------------------------------------------------------------------------ */
/* 2. Checks fail before place is called                                     */
/* ------------------------------------------------------------------------ */

static void checks_fail_before_place(void **state)
{
    (void)state;
    mv_error err;
    slot s;
    slot_init(&s, 0);
    grid g;
    grid_init(&g, 0);
    mv_view *v = mv_view_new(&g.t.base, &err);
    assert_non_null(v);
    mv_key k;

    /* subscript */
    k = kslice(0, 0, 0, 0, 1, 0);
    mv_error_clear(&err);
    expect_fail(mv_view_subscript_at(place_slot, &s, v, &k, 1, &err), &err, MV_EVALUE,
                "slice step cannot be zero");
    mv_key k2[] = {kslice(0, 0, 0, 0, 0, 0), kslice(0, 0, 0, 0, 1, 0)};
    mv_error_clear(&err);
    expect_fail(mv_view_subscript_at(place_slot, &s, v, k2, 2, &err), &err, MV_EVALUE,
                "slice step cannot be zero");
    k = kidx(4);
    mv_error_clear(&err);
    expect_fail(mv_view_subscript_at(place_slot, &s, v, &k, 1, &err), &err, MV_EINDEX,
                "index out of bounds on dimension 1");
    mv_key k3[] = {kidx(0), kidx(-6)};
    mv_error_clear(&err);
    expect_fail(mv_view_subscript_at(place_slot, &s, v, k3, 2, &err), &err, MV_EINDEX,
                "index out of bounds on dimension 2");
    mv_key k4[] = {kidx(0), kidx(0), kidx(0)};
    mv_error_clear(&err);
    assert_null(mv_view_subscript_at(place_slot, &s, v, k4, 3, &err));
    assert_int_equal(err.code, MV_EINDEX);
    mv_error_clear(&err);
    expect_fail(mv_view_subscript_at(place_slot, &s, NULL, &k, 1, &err), &err, MV_EVALUE,
                "memoryview: view must not be NULL");

    /* cast */
    ptrdiff_t bad_shape[] = {3, 3};
    mv_error_clear(&err);
    expect_fail(mv_view_cast_at(place_slot, &s, v, "B", bad_shape, 2, 0, &err), &err, MV_ETYPE,
                "memoryview: product(shape) * itemsize != buffer size");
    mv_error_clear(&err);
    expect_fail(mv_view_cast_at(place_slot, &s, v, "d", NULL, -1, 0, &err), &err, MV_ETYPE,
                "memoryview: length is not a multiple of itemsize");
    ptrdiff_t zero_shape[] = {0, 20};
    mv_error_clear(&err);
    expect_fail(mv_view_cast_at(place_slot, &s, v, "B", zero_shape, 2, 0, &err), &err,
                MV_EVALUE, "memoryview.cast(): elements of shape must be integers > 0");
    mv_error_clear(&err);
    expect_fail(mv_view_cast_at(place_slot, &s, v, NULL, NULL, -1, 0, &err), &err, MV_EVALUE,
                "memoryview.cast(): format must not be NULL");
    mv_error_clear(&err);
    assert_null(mv_view_cast_at(place_slot, &s, v, "(", NULL, -1, 0, &err));
    assert_int_equal(err.code, MV_EVALUE);
    /* A non-contiguous source. */
    mv_key kc[] = {kslice(0, 0, 0, 0, 0, 0), kslice(0, 0, 0, 0, 1, 2)};
    mv_view *strided = mv_view_subscript(v, kc, 2, &err);
    assert_non_null(strided);
    mv_error_clear(&err);
    expect_fail(mv_view_cast_at(place_slot, &s, strided, "B", NULL, -1, 0, &err), &err,
                MV_ETYPE,
                "memoryview: casts are restricted to C-contiguous or Fortran-contiguous views");
    mv_error_clear(&err);
    expect_fail(mv_view_cast_at(place_slot, &s, strided, "B", NULL, -1, MV_CAST_STRICT, &err),
                &err, MV_ETYPE, "memoryview: casts are restricted to C-contiguous views");
    drop(strided);
    /* Strict cast rules. */
    mv_error_clear(&err);
    expect_fail(mv_view_cast_at(place_slot, &s, v, "<i", NULL, -1, MV_CAST_STRICT, &err), &err,
                MV_EVALUE,
                "memoryview: destination format must be a native single character format "
                "prefixed with an optional '@'");

    /* released views */
    mv_view *rel = released_view();
    mv_error_clear(&err);
    expect_fail(mv_view_toreadonly_at(place_slot, &s, rel, &err), &err, MV_EVALUE, MSG_RELEASED);
    k = kslice(0, 0, 0, 0, 0, 0);
    mv_error_clear(&err);
    expect_fail(mv_view_subscript_at(place_slot, &s, rel, &k, 1, &err), &err, MV_EVALUE,
                MSG_RELEASED);
    mv_error_clear(&err);
    expect_fail(mv_view_cast_at(place_slot, &s, rel, "B", NULL, -1, 0, &err), &err, MV_EVALUE,
                MSG_RELEASED);
    mv_error_clear(&err);
    expect_fail(mv_view_new_at(place_slot, &s, mv_view_object(rel), &err), &err, MV_EVALUE,
                MSG_RELEASED);
    drop(rel);
    mv_error_clear(&err);
    expect_fail(mv_view_toreadonly_at(place_slot, &s, NULL, &err), &err, MV_EVALUE,
                "memoryview: view must not be NULL");

    /* new_at */
    mv_error_clear(&err);
    expect_fail(mv_view_new_at(place_slot, &s, NULL, &err), &err, MV_ETYPE,
                "memoryview: a bytes-like object is required, not 'NULL'");
    /* An exporter that refuses. */
    test_exporter refuse;
    unsigned char one = 1;
    ptrdiff_t n1 = 1, st1 = 1;
    texp_init(&refuse, &one, 1, "B", 1, &n1, &st1, NULL, 1);
    refuse.fail = MV_EBUFFER;
    mv_error_clear(&err);
    expect_fail(mv_view_new_at(place_slot, &s, &refuse.base, &err), &err, MV_EBUFFER,
                "test exporter refuses");
    texp_finish(&refuse);
    /* An exporter whose format disagrees with its itemsize. */
    test_exporter liar;
    int32_t word = 0;
    texp_init(&liar, &word, 4, "h", 1, &n1, NULL, NULL, 1);
    mv_error_clear(&err);
    expect_fail(mv_view_new_at(place_slot, &s, &liar.base, &err), &err, MV_EVALUE,
                "buffer itemsize 4 does not match format 'h' (size 2)");
    assert_int_equal(liar.getbuffer_calls, 1);
    texp_finish(&liar);
    /* A 2-D buffer without a shape. */
    test_exporter shapeless;
    unsigned char four[4] = {0};
    texp_init(&shapeless, four, 1, "B", 0, NULL, NULL, NULL, 1);
    shapeless.layout.ndim = 2;
    shapeless.layout.len = 4;
    mv_error_clear(&err);
    assert_null(mv_view_new_at(place_slot, &s, &shapeless.base, &err));
    assert_true(err.code < 0);
    texp_finish(&shapeless);

    /* Not once was place asked, nor its memory written. */
    assert_int_equal(s.calls, 0);
    slot_untouched(&s);
    /* Nothing was left registered on the grid's managed buffer. */
    assert_int_equal(g.t.releasebuffer_calls, 0);
    drop(v);
    assert_int_equal(g.t.releasebuffer_calls, 1);
    texp_finish(&g.t);
}

/* ------------------------------------------------------------------------ */
/* 3 and 4. place gives NULL or misaligned memory                            */
/* ------------------------------------------------------------------------ */

typedef enum ctor { C_NEW, C_NEW_OF_VIEW, C_SUBSCRIPT, C_SUBSCRIPT_GENERAL, C_CAST, C_CAST_HOLDER,
                    C_READONLY, C_COUNT } ctor;

/* Call constructor c in s on the grid's exporter / its view v. */
static mv_view *construct(ctor c, slot *s, test_exporter *t, mv_view *v, mv_error *err)
{
    mv_key k1 = kslice(1, 1, 1, 3, 0, 0);
    mv_key k2[] = {KNEW, kidx(1), kslice(0, 0, 0, 0, 1, -1)};
    ptrdiff_t shape[] = {2, 5};
    switch (c) {
    case C_NEW:
        return mv_view_new_at(place_slot, s, &t->base, err);
    case C_NEW_OF_VIEW:
        return mv_view_new_at(place_slot, s, mv_view_object(v), err);
    case C_SUBSCRIPT:
        return mv_view_subscript_at(place_slot, s, v, &k1, 1, err);
    case C_SUBSCRIPT_GENERAL:
        return mv_view_subscript_at(place_slot, s, v, k2, 3, err);
    case C_CAST:
        return mv_view_cast_at(place_slot, s, v, "H", shape, 2, 0, err);
    case C_CAST_HOLDER:
        return mv_view_cast_at(place_slot, s, v, "<H", shape, 2, 0, err);
    case C_READONLY:
        return mv_view_toreadonly_at(place_slot, s, v, err);
    default:
        fail_msg("no constructor %d", (int)c);
    }
    return NULL;
}

/* After a failed placed construction: the exporter gave exactly one
 * buffer (the heap view's) and takes it back when that view goes, so the
 * failure registered nothing. */
static void after_failure(grid *g, mv_view *v, ctor c)
{
    assert_int_equal(mv_object_exports(mv_view_object(v)), 0);
    assert_int_equal(mv_object_refcount(mv_view_object(v)), 1);
    /* C_NEW asked the exporter for a buffer of its own and gave it back. */
    int extra = c == C_NEW ? 1 : 0;
    assert_int_equal(g->t.getbuffer_calls, 1 + extra);
    assert_int_equal(g->t.releasebuffer_calls, extra);
    assert_int_equal(mv_object_exports(&g->t.base), 1);
    assert_int_equal(mv_object_refcount(&g->t.base), 2);
    /* The heap view still works. */
    ptrdiff_t idx[] = {3, 4};
    assert_int_equal(get_u(v, idx, 2), 34);
    drop(v);
    assert_int_equal(g->t.releasebuffer_calls, 1 + extra);
    texp_finish(&g->t);
}

static void place_null_is_enomem(void **state)
{
    (void)state;
    for (int c = 0; c < C_COUNT; c++) {
        grid g;
        grid_init(&g, 0);
        mv_error err;
        mv_view *v = mv_view_new(&g.t.base, &err);
        assert_non_null(v);
        slot s;
        slot_init(&s, 0);
        s.give_null = true;
        mv_error_clear(&err);
        mv_view *r = construct((ctor)c, &s, &g.t, v, &err);
        expect_fail(r, &err, MV_ENOMEM, MSG_NOMEM);
        assert_int_equal(s.calls, 1);
        assert_true(s.size >= least_size(2, false));
        slot_untouched(&s);
        after_failure(&g, v, (ctor)c);

        /* err may be NULL. */
        grid_init(&g, 0);
        v = mv_view_new(&g.t.base, NULL);
        slot_init(&s, 0);
        s.give_null = true;
        assert_null(construct((ctor)c, &s, &g.t, v, NULL));
        assert_int_equal(s.calls, 1);
        after_failure(&g, v, (ctor)c);
    }
}

static void misaligned_place_refused(void **state)
{
    (void)state;
    size_t align = model_view_align();
#if defined(__x86_64__) || defined(__aarch64__) || defined(__s390x__)
    assert_int_equal(align, 8);
#endif
    char want[128];
    snprintf(want, sizeof want, "memoryview: place gave memory not aligned to %zu bytes", align);
    for (int c = 0; c < C_COUNT; c++) {
        for (size_t off = 1; off < align; off++) {
            grid g;
            grid_init(&g, 0);
            mv_error err;
            mv_view *v = mv_view_new(&g.t.base, &err);
            assert_non_null(v);
            slot s;
            slot_init(&s, off);
            mv_error_clear(&err);
            mv_view *r = construct((ctor)c, &s, &g.t, v, &err);
            expect_fail(r, &err, MV_EVALUE, want);
            assert_int_equal(s.calls, 1);
            slot_untouched(&s);
            after_failure(&g, v, (ctor)c);
        }
        /* Memory aligned as the header asks (for a pointer and a 64-bit
         * integer), and no more, is accepted. */
        size_t doc = documented_align();
        grid g;
        grid_init(&g, 0);
        mv_error err;
        mv_view *v = mv_view_new(&g.t.base, &err);
        assert_non_null(v);
        slot s;
        slot_init(&s, doc);
        assert_int_equal((uintptr_t)(s.mem + doc) % (2 * doc), doc);
        mv_error_clear(&err);
        mv_view *r = construct((ctor)c, &s, &g.t, v, &err);
        if (!r)
            fail_msg("constructor %d at an offset of %zu: %s", c, doc, err.message);
        expect_in_slot(r, &s);
        drop(r);
        drop(v);
        texp_finish(&g.t);
    }

    /* Misaligned memory from malloc is still the caller's to free (a free()
     * of it by the library would be an invalid free under ASan / valgrind),
     * and untouched. */
    mv_object *ba = new_bytearray_seq(8, 0);
    mv_view *v = mv_view_new(ba, NULL);
    assert_non_null(v);
    heap_place h = {0};
    mv_error err;
    mv_error_clear(&err);
    expect_fail(mv_view_toreadonly_at(place_malloc_odd, &h, v, &err), &err, MV_EVALUE, want);
    assert_int_equal(h.calls, 1);
    unsigned char *raw = h.p;
    for (size_t i = 0; i < h.size + 1; i++)
        assert_int_equal(raw[i], PATTERN);
    free(raw);
    drop(v);
    assert_int_equal(mv_object_exports(ba), 0);
    mv_decref(ba);
}

/* ------------------------------------------------------------------------ */
/* place is last: allocation failures before it never call it              */
/* ------------------------------------------------------------------------ */

static void place_is_last_under_allocation_failures(void **state)
{
    (void)state;
    for (int c = 0; c < C_COUNT; c++) {
        grid g;
        grid_init(&g, 0);
        mv_error err;
        mv_view *v = mv_view_new(&g.t.base, &err);
        assert_non_null(v);
        slot s;
        mv_view *r = NULL;
        for (long n = 0;; n++) {
            assert_true(n < 100);
            slot_init(&s, 0);
            sweep_arm(n, &err);
            r = construct((ctor)c, &s, &g.t, v, &err);
            if (sweep_done(r ? 0 : err.code, &err))
                break;
            /* An allocation failed: place was not asked, and nothing stays
             * registered or exported. */
            assert_int_equal(s.calls, 0);
            slot_untouched(&s);
            assert_int_equal(mv_object_exports(&g.t.base), 1);
            assert_int_equal(g.t.getbuffer_calls - g.t.releasebuffer_calls, 1);
        }
        expect_in_slot(r, &s);
        drop(r);
        drop(v);
        texp_finish(&g.t);
    }
}

/* ------------------------------------------------------------------------ */
/* 5. Lifetime                                                               */
/* ------------------------------------------------------------------------ */

static void items_through_placed_views(void **state)
{
    (void)state;
    mv_error err;
    mv_error_clear(&err);
    mv_object *ba = new_bytearray_seq(16, 0);
    size_t n = 0;
    unsigned char *data = mv_object_data(ba, &n);
    assert_int_equal(n, 16);
    unsigned char model[16];
    for (int i = 0; i < 16; i++)
        model[i] = (unsigned char)i;

    slot s;
    slot_init(&s, 0);
    mv_view *v = mv_view_new_at(place_slot, &s, ba, &err);
    expect_in_slot(v, &s);
    ptrdiff_t i3 = 3, im1 = -1;
    set_u(v, &i3, 1, 200);
    model[3] = 200;
    set_u(v, &im1, 1, 201);
    model[15] = 201;
    assert_memory_equal(data, model, 16);

    /* A placed slice [1::2]: item i is byte 1 + 2i. */
    slot s2;
    slot_init(&s2, 0);
    mv_key k = kslice(1, 1, 0, 0, 1, 2);
    mv_view *odd = mv_view_subscript_at(place_slot, &s2, v, &k, 1, &err);
    expect_in_slot(odd, &s2);
    ptrdiff_t i2 = 2;
    set_u(odd, &i2, 1, 77);
    model[5] = 77;
    assert_memory_equal(data, model, 16);
    assert_int_equal(get_u(v, (ptrdiff_t[]){5}, 1), 77);

    /* A placed 'H' cast (2 x 4): item (r, c) is the native 16-bit word at
     * byte 8r + 2c. */
    slot s3;
    slot_init(&s3, 0);
    ptrdiff_t shape[] = {2, 4};
    mv_view *words = mv_view_cast_at(place_slot, &s3, v, "H", shape, 2, 0, &err);
    expect_in_slot(words, &s3);
    ptrdiff_t rc[] = {1, 2};
    set_u(words, rc, 2, 0xBEEF);
    uint16_t w = 0xBEEF;
    memcpy(model + 8 + 4, &w, 2);
    assert_memory_equal(data, model, 16);
    for (ptrdiff_t r = 0; r < 2; r++)
        for (ptrdiff_t c = 0; c < 4; c++) {
            uint16_t want;
            memcpy(&want, model + 8 * r + 2 * c, 2);
            ptrdiff_t idx[] = {r, c};
            assert_int_equal(get_u(words, idx, 2), want);
        }
    for (ptrdiff_t i = 0; i < 8; i++)
        assert_int_equal(get_u(odd, &i, 1), model[1 + 2 * i]);

    drop(words);
    drop(odd);
    drop(v);
    assert_int_equal(mv_object_exports(ba), 0);
    mv_decref(ba);
}

static void exports_of_placed_views(void **state)
{
    (void)state;
    mv_error err;
    mv_error_clear(&err);
    mv_object *ba = new_bytearray_seq(8, 0);
    unsigned char *data = mv_object_data(ba, NULL);

    heap_place h = {0};
    mv_view *v = mv_view_new_at(place_malloc, &h, ba, &err);
    expect_in(v, h.p, h.size, h.calls);
    mv_object *vo = mv_view_object(v);

    mv_buffer b1, b2;
    assert_int_equal(mv_object_getbuffer(vo, &b1, MV_BUF_FULL_RO, &err), 0);
    assert_ptr_equal(b1.buf, data);
    assert_ptr_equal(b1.obj, vo);
    assert_int_equal(b1.len, 8);
    assert_int_equal(mv_object_exports(vo), 1);
    assert_int_equal(mv_object_refcount(vo), 2);
    mv_error_clear(&err);
    assert_int_equal(mv_view_release(v, &err), MV_EBUFFER);
    assert_int_equal(err.code, MV_EBUFFER);
    assert_string_equal(err.message, "memoryview has 1 exported buffer");
    assert_int_equal(mv_object_getbuffer(vo, &b2, MV_BUF_FULL, &err), 0);
    mv_error_clear(&err);
    assert_int_equal(mv_view_release(v, &err), MV_EBUFFER);
    assert_string_equal(err.message, "memoryview has 2 exported buffers");
    assert_int_equal(mv_view_is_released(v), 0);
    mv_buffer_release(&b2);
    assert_int_equal(mv_object_exports(vo), 1);

    /* A view of the exported buffer's object (the placed view) is a
     * registered copy. */
    mv_view *copy = mv_view_new(b1.obj, &err);
    assert_non_null(copy);
    mv_buffer_release(&b1);
    assert_int_equal(mv_object_exports(vo), 0);
    assert_int_equal(mv_view_release(v, &err), 0);
    assert_int_equal(mv_view_is_released(v), 1);
    mv_error_clear(&err);
    assert_null(mv_view_buffer(v, &err));
    assert_string_equal(err.message, MSG_RELEASED);
    /* Idempotent; the copy still holds the bytearray. */
    assert_int_equal(mv_view_release(v, &err), 0);
    assert_int_equal(mv_object_exports(ba), 1);
    drop(copy);
    assert_int_equal(mv_object_exports(ba), 0);
    drop(v);
    /* The library did not free h.p: this free would be a double free. */
    free(h.p);

    /* The last reference dropped while a buffer is exported: the export
     * keeps the placed view alive (and its memory in use). */
    heap_place h2 = {0};
    v = mv_view_new_at(place_malloc, &h2, ba, &err);
    expect_in(v, h2.p, h2.size, h2.calls);
    vo = mv_view_object(v);
    assert_int_equal(mv_object_getbuffer(vo, &b1, MV_BUF_FULL_RO, &err), 0);
    drop(v);
    assert_int_equal(mv_object_refcount(vo), 1);
    assert_int_equal(mv_object_exports(vo), 1);
    assert_int_equal(mv_object_exports(ba), 1);
    assert_int_equal(((unsigned char *)b1.buf)[7], 7);
    mv_buffer_release(&b1);
    assert_int_equal(mv_object_exports(ba), 0);
    free(h2.p);

    /* Static storage: a free() of it would be reported. */
    static slot big;
    slot_init(&big, 0);
    v = mv_view_new_at(place_slot, &big, ba, &err);
    expect_in_slot(v, &big);
    assert_int_equal(mv_bytearray_resize(ba, 4, &err), MV_EBUFFER);
    drop(v);
    assert_int_equal(mv_bytearray_resize(ba, 4, &err), 0);
    mv_decref(ba);
}

/* A parent and a child, each on the heap or placed, released in either
 * order (with mv_view_release first, or straight by mv_decref): the
 * exporter's buffer goes back exactly when the last of them goes, and
 * memory a placed view let go of can be overwritten at once. */
static void family(bool parent_placed, bool child_placed, bool parent_first, bool release_first)
{
    unsigned char mem[8];
    for (int i = 0; i < 8; i++)
        mem[i] = (unsigned char)(i * 3);
    ptrdiff_t shape[] = {8}, strides[] = {1};
    test_exporter t;
    texp_init(&t, mem, 1, "B", 1, shape, strides, NULL, 0);
    mv_error err;
    mv_error_clear(&err);
    static slot sp, sc;
    slot_init(&sp, 0);
    slot_init(&sc, 0);

    mv_view *p = parent_placed ? mv_view_new_at(place_slot, &sp, &t.base, &err)
                               : mv_view_new(&t.base, &err);
    assert_non_null(p);
    if (parent_placed)
        expect_in_slot(p, &sp);
    mv_key k = kslice(1, 1, 1, 7, 1, 2); /* 1, 3, 5 */
    mv_view *c = child_placed ? mv_view_subscript_at(place_slot, &sc, p, &k, 1, &err)
                              : mv_view_subscript(p, &k, 1, &err);
    assert_non_null(c);
    if (child_placed)
        expect_in_slot(c, &sc);
    assert_int_equal(t.getbuffer_calls, 1);
    assert_int_equal(t.releasebuffer_calls, 0);

    mv_view *first = parent_first ? p : c, *second = parent_first ? c : p;
    slot *first_slot = parent_first ? (parent_placed ? &sp : NULL) : (child_placed ? &sc : NULL);
    if (release_first) {
        assert_int_equal(mv_view_release(first, &err), 0);
        assert_int_equal(t.releasebuffer_calls, 0);
    }
    drop(first);
    assert_int_equal(t.releasebuffer_calls, 0);
    assert_int_equal(mv_object_exports(&t.base), 1);
    if (first_slot)
        memset(first_slot->mem, SCRIBBLE, sizeof first_slot->mem);

    /* The survivor is whole. */
    const mv_buffer *b = mv_view_buffer(second, &err);
    assert_non_null(b);
    assert_ptr_equal(b->obj, &t.base);
    assert_string_equal(b->format, "B");
    if (second == c) {
        assert_int_equal(b->shape[0], 3);
        assert_int_equal(b->strides[0], 2);
        assert_ptr_equal(b->buf, mem + 1);
        for (ptrdiff_t i = 0; i < 3; i++)
            assert_int_equal(get_u(c, &i, 1), (1 + 2 * i) * 3);
    } else {
        assert_int_equal(b->shape[0], 8);
        for (ptrdiff_t i = 0; i < 8; i++)
            assert_int_equal(get_u(p, &i, 1), i * 3);
    }
    /* A new view of the survivor joins the same managed buffer. */
    mv_view *more = mv_view_toreadonly(second, &err);
    assert_non_null(more);
    assert_int_equal(t.getbuffer_calls, 1);
    drop(more);

    if (release_first) {
        assert_int_equal(mv_view_release(second, &err), 0);
        assert_int_equal(t.releasebuffer_calls, 1);
    }
    drop(second);
    assert_int_equal(t.getbuffer_calls, 1);
    assert_int_equal(t.releasebuffer_calls, 1);
    texp_finish(&t);
}

static void lifetime_orders(void **state)
{
    (void)state;
    for (int mask = 0; mask < 16; mask++)
        family(mask & 1, mask & 2, mask & 4, mask & 8);
}

/* The same orders observed through a bytearray's export count and an
 * external object's release callback. */
static void count_release(void *ctx, void *mem)
{
    (void)mem;
    ++*(int *)ctx;
}

static void lifetime_bytearray_and_external(void **state)
{
    (void)state;
    mv_error err;
    mv_error_clear(&err);
    for (int mask = 0; mask < 4; mask++) {
        bool parent_placed = mask & 1, parent_first = mask & 2;
        mv_object *ba = new_bytearray_seq(8, 0);
        slot sp, sc;
        slot_init(&sp, 0);
        slot_init(&sc, 0);
        mv_view *p = parent_placed ? mv_view_new_at(place_slot, &sp, ba, &err)
                                   : mv_view_new(ba, &err);
        assert_non_null(p);
        ptrdiff_t shape[] = {2};
        mv_view *c = parent_placed ? mv_view_cast(p, "i", shape, 1, 0, &err)
                                   : mv_view_cast_at(place_slot, &sc, p, "i", shape, 1, 0, &err);
        assert_non_null(c);
        assert_int_equal(mv_object_exports(ba), 1);
        drop(parent_first ? p : c);
        assert_int_equal(mv_object_exports(ba), 1);
        assert_int_equal(mv_bytearray_resize(ba, 2, &err), MV_EBUFFER);
        drop(parent_first ? c : p);
        assert_int_equal(mv_object_exports(ba), 0);
        assert_int_equal(mv_bytearray_resize(ba, 2, &err), 0);
        mv_decref(ba);

        static unsigned char ext_mem[8];
        int released = 0;
        mv_object *x = mv_external_new(ext_mem, 8, 0, count_release, &released, &err);
        assert_non_null(x);
        slot_init(&sp, 0);
        slot_init(&sc, 0);
        p = parent_placed ? mv_view_new_at(place_slot, &sp, x, &err) : mv_view_new(x, &err);
        assert_non_null(p);
        mv_decref(x); /* the views hold it now */
        mv_key k = kslice(0, 0, 0, 0, 1, -1);
        c = parent_placed ? mv_view_subscript(p, &k, 1, &err)
                          : mv_view_subscript_at(place_slot, &sc, p, &k, 1, &err);
        assert_non_null(c);
        assert_ptr_equal(mv_view_buffer(c, &err)->buf, ext_mem + 7);
        drop(parent_first ? p : c);
        assert_int_equal(released, 0);
        drop(parent_first ? c : p);
        assert_int_equal(released, 1);
    }
}

/* place may run any code, even release the source view (a Python
 * finalizer during the allocation): the new view must still hold the
 * memory, and the exporter's buffer is released only with it. */
typedef struct releasing {
    slot s;
    mv_view *victim;
    int rc;
} releasing;

static void *place_releasing(void *ctx, size_t size)
{
    releasing *r = ctx;
    r->rc = mv_view_release(r->victim, NULL);
    return place_slot(&r->s, size);
}

static void place_releases_the_source(void **state)
{
    (void)state;
    mv_error err;
    mv_error_clear(&err);
    static unsigned char ext_mem[8] = {10, 11, 12, 13, 14, 15, 16, 17};
    for (int op = 0; op < 4; op++) {
        int released = 0;
        mv_object *x = mv_external_new(ext_mem, 8, 0, count_release, &released, &err);
        assert_non_null(x);
        mv_view *src = mv_view_new(x, &err);
        assert_non_null(src);
        mv_decref(x); /* the view holds it now */
        releasing r;
        slot_init(&r.s, 0);
        r.victim = src;
        r.rc = 1;
        mv_key k = kslice(1, 2, 1, 6, 0, 0);
        ptrdiff_t shape2[2] = {2, 4};
        mv_view *v = op == 0   ? mv_view_subscript_at(place_releasing, &r, src, &k, 1, &err)
                     : op == 1 ? mv_view_cast_at(place_releasing, &r, src, "B", shape2, 2, 0, &err)
                     : op == 2 ? mv_view_toreadonly_at(place_releasing, &r, src, &err)
                               : mv_view_new_at(place_releasing, &r, mv_view_object(src), &err);
        assert_non_null(v);
        assert_int_equal(r.rc, 0);
        assert_true(mv_view_is_released(src));
        /* The source's release was not the last: the new view holds the
         * exporter's buffer, and reads it. */
        assert_int_equal(released, 0);
        const mv_buffer *b = mv_view_buffer(v, &err);
        assert_non_null(b);
        const unsigned char *first = op == 0 ? ext_mem + 2 : ext_mem;
        assert_ptr_equal(b->buf, first);
        ptrdiff_t i0 = 0, ij[2] = {1, 3};
        mv_value val;
        assert_int_equal(mv_view_get_item(v, op == 1 ? ij : &i0, op == 1 ? 2 : 1, &val, 1, &err),
                         0);
        assert_int_equal(val.v.u, op == 1 ? 17 : first[0]);
        drop(v);
        assert_int_equal(released, 1);
        mv_decref(mv_view_object(src));
    }
}

/* Once the last reference is gone the memory is the caller's again: it
 * can be overwritten, or hold the next view. */
static void memory_reusable_after_last_reference(void **state)
{
    (void)state;
    mv_error err;
    mv_error_clear(&err);
    mv_object *ba = new_bytearray_seq(12, 0);
    unsigned char *data = mv_object_data(ba, NULL);
    mv_view *base = mv_view_new(ba, &err);
    assert_non_null(base);
    slot s;
    slot_init(&s, 0);
    for (int round = 0; round < 5; round++) {
        s.calls = 0;
        memset(s.mem, PATTERN, sizeof s.mem);
        mv_view *v;
        if (round % 2 == 0) {
            mv_key k = kslice(1, round, 0, 0, 0, 0);
            v = mv_view_subscript_at(place_slot, &s, base, &k, 1, &err);
            expect_in_slot(v, &s);
            assert_ptr_equal(mv_view_buffer(v, &err)->buf, data + round);
            assert_int_equal(mv_view_buffer(v, &err)->shape[0], 12 - round);
        } else {
            ptrdiff_t shape[] = {3, 2};
            v = mv_view_cast_at(place_slot, &s, base, "H", shape, 2, 0, &err);
            expect_in_slot(v, &s);
            assert_int_equal(mv_view_buffer(v, &err)->strides[0], 4);
        }
        drop(v);
        memset(s.mem, SCRIBBLE, sizeof s.mem);
    }
    assert_int_equal(mv_object_exports(ba), 1);
    drop(base);
    assert_int_equal(mv_object_exports(ba), 0);
    mv_decref(ba);
}

/* ------------------------------------------------------------------------ */
/* 6. A placed view as the base of further views                             */
/* ------------------------------------------------------------------------ */

static void placed_base_for_further_views(void **state)
{
    (void)state;
    mv_error err;
    mv_error_clear(&err);
    /* 4 x 6 bytes, row r column c holding 16r + c. */
    unsigned char mem[24];
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 6; c++)
            mem[r * 6 + c] = (unsigned char)(16 * r + c);
    ptrdiff_t shape[] = {4, 6}, strides[] = {6, 1};
    test_exporter t;
    texp_init(&t, mem, 1, "B", 2, shape, strides, NULL, 0);
    mv_object_set_local(&t.base);

    static slot sp, s1, s2, s3, s4;
    slot_init(&sp, 0);
    mv_view *p = mv_view_new_at(place_slot, &sp, &t.base, &err);
    expect_in_slot(p, &sp);
    assert_true(mv_view_object(p)->flags & MV_OBJECT_LOCAL);
    const desc ep = {.buf = mem, .obj = &t.base, .len = 24, .itemsize = 1, .ndim = 2,
                     .format = "B", .shape = {4, 6}, .strides = {6, 1}, .contig = 'C'};
    expect_desc(p, &ep);

    /* p[1:3, ::-2]: rows 1, 2; columns 5, 3, 1. */
    mv_key k[] = {kslice(1, 1, 1, 3, 0, 0), kslice(0, 0, 0, 0, 1, -2)};
    const desc e1 = {.buf = mem + 6 + 5, .obj = &t.base, .len = 6, .itemsize = 1, .ndim = 2,
                     .format = "B", .shape = {2, 3}, .strides = {6, -2}, .contig = 'N'};
    slot_init(&s1, 0);
    mv_view *c1 = mv_view_subscript_at(place_slot, &s1, p, k, 2, &err);
    expect_in_slot(c1, &s1);
    expect_desc(c1, &e1);
    assert_true(mv_view_object(c1)->flags & MV_OBJECT_LOCAL);
    mv_view *c1h = mv_view_subscript(p, k, 2, &err);
    expect_desc(c1h, &e1);
    for (ptrdiff_t r = 0; r < 2; r++)
        for (ptrdiff_t c = 0; c < 3; c++) {
            ptrdiff_t idx[] = {r, c};
            assert_int_equal(get_u(c1, idx, 2), 16 * (1 + r) + 5 - 2 * c);
        }

    /* A heap cast of the placed parent: 'H' (4, 3). */
    ptrdiff_t cshape[] = {4, 3};
    const desc e2 = {.buf = mem, .obj = &t.base, .len = 24, .itemsize = 2, .ndim = 2,
                     .format = "H", .shape = {4, 3}, .strides = {6, 2}, .contig = 'C'};
    mv_view *c2 = mv_view_cast(p, "H", cshape, 2, 0, &err);
    assert_non_null(c2);
    expect_desc(c2, &e2);
    slot_init(&s2, 0);
    mv_view *c2p = mv_view_cast_at(place_slot, &s2, p, "H", cshape, 2, 0, &err);
    expect_in_slot(c2p, &s2);
    expect_desc(c2p, &e2);

    /* A placed read-only copy of the placed child, and a heap row of it. */
    const desc e3 = {.buf = mem + 6 + 5, .obj = &t.base, .len = 6, .itemsize = 1, .readonly = 1,
                     .ndim = 2, .format = "B", .shape = {2, 3}, .strides = {6, -2}, .contig = 'N'};
    slot_init(&s3, 0);
    mv_view *g3 = mv_view_toreadonly_at(place_slot, &s3, c1, &err);
    expect_in_slot(g3, &s3);
    expect_desc(g3, &e3);
    mv_key krow = kidx(1);
    const desc e4 = {.buf = mem + 12 + 5, .obj = &t.base, .len = 3, .itemsize = 1, .readonly = 1,
                     .ndim = 1, .format = "B", .shape = {3}, .strides = {-2}, .contig = 'N'};
    mv_view *g4 = mv_view_subscript(g3, &krow, 1, &err);
    assert_non_null(g4);
    expect_desc(g4, &e4);
    /* A placed cast of the placed 'H' cast, back to bytes, 1-D. */
    slot_init(&s4, 0);
    const desc e5 = {.buf = mem, .obj = &t.base, .len = 24, .itemsize = 1, .ndim = 1,
                     .format = "B", .shape = {24}, .strides = {1}, .contig = 'B'};
    mv_view *g5 = mv_view_cast_at(place_slot, &s4, c2p, "B", NULL, -1, 0, &err);
    expect_in_slot(g5, &s4);
    expect_desc(g5, &e5);
    ptrdiff_t i20 = 20;
    set_u(g5, &i20, 1, 0xEE);
    assert_int_equal(mem[20], 0xEE);
    ptrdiff_t i32[] = {3, 2};
    assert_int_equal(get_u(p, i32, 2), 0xEE);

    /* One managed buffer for all of them. */
    assert_int_equal(t.getbuffer_calls, 1);
    drop(p);
    drop(c1);
    drop(c2p);
    drop(g3);
    assert_int_equal(t.releasebuffer_calls, 0);
    /* Every placed view but g5 is gone: scribble over their memory. */
    memset(sp.mem, SCRIBBLE, sizeof sp.mem);
    memset(s1.mem, SCRIBBLE, sizeof s1.mem);
    memset(s2.mem, SCRIBBLE, sizeof s2.mem);
    memset(s3.mem, SCRIBBLE, sizeof s3.mem);
    ptrdiff_t i0 = 0;
    assert_int_equal(get_u(g4, &i0, 1), mem[17]);
    drop(c1h);
    drop(c2);
    drop(g4);
    assert_int_equal(t.releasebuffer_calls, 0);
    drop(g5);
    assert_int_equal(t.releasebuffer_calls, 1);
    texp_finish(&t);
}

/* ------------------------------------------------------------------------ */
/* 7. Three dimensions, zero dimensions, suboffsets, 64 dimensions           */
/* ------------------------------------------------------------------------ */

static void three_dim_views(void **state)
{
    (void)state;
    mv_error err;
    mv_error_clear(&err);
    /* 2 x 3 x 4 'h', item (i, j, k) at 12i + 4j + k holding that number. */
    int16_t data[24];
    for (int i = 0; i < 24; i++)
        data[i] = (int16_t)(i - 5);
    ptrdiff_t shape[] = {2, 3, 4}, strides[] = {24, 8, 2};
    test_exporter t;
    texp_init(&t, data, 2, "h", 3, shape, strides, NULL, 0);

    const desc e = {.buf = data, .obj = &t.base, .len = 48, .itemsize = 2, .ndim = 3,
                    .format = "h", .shape = {2, 3, 4}, .strides = {24, 8, 2}, .contig = 'C'};
    slot s;
    slot_init(&s, 0);
    mv_view *v = mv_view_new_at(place_slot, &s, &t.base, &err);
    expect_in_slot(v, &s);
    expect_desc(v, &e);
    mv_view *vh = mv_view_new(&t.base, &err);
    assert_non_null(vh);
    expect_desc(vh, &e);
    assert_int_equal(t.getbuffer_calls, 2);

    /* [::-1, 1:, ::2]: i from 1 down, j from 1, k = 0, 2. */
    mv_key k[] = {kslice(0, 0, 0, 0, 1, -1), kslice(1, 1, 0, 0, 0, 0), kslice(0, 0, 0, 0, 1, 2)};
    const desc es = {.buf = data + 12 + 4, .obj = &t.base, .len = 16, .itemsize = 2, .ndim = 3,
                     .format = "h", .shape = {2, 2, 2}, .strides = {-24, 8, 4}, .contig = 'N'};
    slot s2;
    slot_init(&s2, 0);
    mv_view *sub = mv_view_subscript_at(place_slot, &s2, v, k, 3, &err);
    expect_in_slot(sub, &s2);
    expect_desc(sub, &es);
    mv_view *subh = mv_view_subscript(vh, k, 3, &err);
    expect_desc(subh, &es);
    for (ptrdiff_t a = 0; a < 2; a++)
        for (ptrdiff_t b = 0; b < 2; b++)
            for (ptrdiff_t c = 0; c < 2; c++) {
                ptrdiff_t idx[] = {a, b, c};
                assert_int_equal(get_i(sub, idx, 3), data[(1 - a) * 12 + (1 + b) * 4 + 2 * c]);
            }

    /* The 48 bytes cast to 'B' (4, 3, 4), C and Fortran. */
    mv_view *flat = mv_view_cast(v, "B", NULL, -1, 0, &err);
    assert_non_null(flat);
    ptrdiff_t cshape[] = {4, 3, 4};
    const desc ec = {.buf = data, .obj = &t.base, .len = 48, .itemsize = 1, .ndim = 3,
                     .format = "B", .shape = {4, 3, 4}, .strides = {12, 4, 1}, .contig = 'C'};
    slot s3;
    slot_init(&s3, 0);
    mv_view *cast = mv_view_cast_at(place_slot, &s3, flat, "B", cshape, 3, 0, &err);
    expect_in_slot(cast, &s3);
    expect_desc(cast, &ec);
    const desc ef = {.buf = data, .obj = &t.base, .len = 48, .itemsize = 1, .ndim = 3,
                     .format = "B", .shape = {4, 3, 4}, .strides = {1, 4, 12}, .contig = 'F'};
    slot s4;
    slot_init(&s4, 0);
    mv_view *castf = mv_view_cast_at(place_slot, &s4, flat, "B", cshape, 3, MV_CAST_FORTRAN, &err);
    expect_in_slot(castf, &s4);
    expect_desc(castf, &ef);
    mv_view *flath = mv_view_cast(vh, "B", NULL, -1, 0, &err);
    assert_non_null(flath);
    mv_view *casth = mv_view_cast(flath, "B", cshape, 3, MV_CAST_FORTRAN, &err);
    expect_desc(casth, &ef);

    /* A read-only placed copy of the 3-D slice. */
    slot s5;
    slot_init(&s5, 0);
    mv_view *ro = mv_view_toreadonly_at(place_slot, &s5, sub, &err);
    expect_in_slot(ro, &s5);
    desc er = es;
    er.readonly = 1;
    expect_desc(ro, &er);

    drop(v);
    drop(sub);
    drop(cast);
    drop(castf);
    drop(flat);
    drop(ro);
    /* v's managed buffer (and its exporter buffer) went with its views. */
    assert_int_equal(t.releasebuffer_calls, 1);
    drop(vh);
    drop(subh);
    drop(casth);
    drop(flath);
    assert_int_equal(t.releasebuffer_calls, 2);
    texp_finish(&t);
}

static void zero_dim_views(void **state)
{
    (void)state;
    mv_error err;
    mv_error_clear(&err);
    grid g;
    grid_init(&g, 0);
    mv_view *v = mv_view_new(&g.t.base, &err);
    assert_non_null(v);

    /* v[2, 3]: the item at 2 * 5 + 3. */
    mv_key k[] = {kidx(2), kidx(3)};
    const desc e = {.buf = g.mem + 13, .obj = &g.t.base, .len = 1, .itemsize = 1, .ndim = 0,
                    .format = "B", .contig = 'B'};
    slot s;
    slot_init(&s, 0);
    mv_view *item = mv_view_subscript_at(place_slot, &s, v, k, 2, &err);
    expect_in_slot(item, &s);
    assert_true(s.size >= least_size(0, false));
    expect_desc(item, &e);
    mv_view *itemh = mv_view_subscript(v, k, 2, &err);
    expect_desc(itemh, &e);
    assert_int_equal(get_u(item, NULL, 0), 23);
    set_u(item, NULL, 0, 99);
    assert_int_equal(g.mem[13], 99);

    /* A placed read-only copy of the 0-D view, and a placed new_at of it. */
    slot s2;
    slot_init(&s2, 0);
    mv_view *ro = mv_view_toreadonly_at(place_slot, &s2, item, &err);
    expect_in_slot(ro, &s2);
    desc er = e;
    er.readonly = 1;
    expect_desc(ro, &er);
    slot s3;
    slot_init(&s3, 0);
    mv_view *copy = mv_view_new_at(place_slot, &s3, mv_view_object(item), &err);
    expect_in_slot(copy, &s3);
    expect_desc(copy, &e);

    /* 8 bytes cast to one 'q' (shape ()). */
    mv_object *ba = new_bytearray_seq(8, 1);
    unsigned char *bd = mv_object_data(ba, NULL);
    mv_view *bv = mv_view_new(ba, &err);
    assert_non_null(bv);
    const desc eq = {.buf = bd, .obj = ba, .len = 8, .itemsize = 8, .ndim = 0, .format = "q",
                     .contig = 'B'};
    slot s4;
    slot_init(&s4, 0);
    mv_view *q = mv_view_cast_at(place_slot, &s4, bv, "q", NULL, 0, 0, &err);
    expect_in_slot(q, &s4);
    expect_desc(q, &eq);
    mv_view *qh = mv_view_cast(bv, "q", NULL, 0, 0, &err);
    expect_desc(qh, &eq);
    int64_t want;
    memcpy(&want, bd, 8);
    assert_int_equal(get_i(q, NULL, 0), want);

    /* A 0-D exporter, placed by new_at. */
    double d = 2.5;
    mv_buffer lay;
    memset(&lay, 0, sizeof lay);
    lay.buf = &d;
    lay.len = 8;
    lay.itemsize = 8;
    lay.readonly = 1;
    lay.ndim = 0;
    lay.format = "d";
    mv_object *x = mv_external_new_layout(&lay, NULL, NULL, &err);
    assert_non_null(x);
    const desc ed = {.buf = &d, .obj = x, .len = 8, .itemsize = 8, .readonly = 1, .ndim = 0,
                     .format = "d", .contig = 'B'};
    slot s5;
    slot_init(&s5, 0);
    mv_view *dv = mv_view_new_at(place_slot, &s5, x, &err);
    expect_in_slot(dv, &s5);
    expect_desc(dv, &ed);
    mv_value val;
    assert_int_equal(mv_view_get_item(dv, NULL, 0, &val, 1, &err), 0);
    assert_int_equal(val.kind, MV_VALUE_DOUBLE);
    assert_true(val.v.d == 2.5);

    drop(dv);
    mv_decref(x);
    drop(q);
    drop(qh);
    drop(bv);
    assert_int_equal(mv_object_exports(ba), 0);
    mv_decref(ba);
    drop(item);
    drop(itemh);
    drop(ro);
    drop(copy);
    drop(v);
    texp_finish(&g.t);
}

static void suboffset_views(void **state)
{
    (void)state;
    mv_error err;
    mv_error_clear(&err);
    /* PIL's layout: row pointers, each to a row with a 2-byte header;
     * row r is stored in reverse order.  Item (r, c) is
     * rows[2 - r][2 + c] = 16 (2 - r) + 2 + c. */
    unsigned char rows[3][6];
    char *ptrs[3];
    for (int r = 0; r < 3; r++) {
        for (int c = 0; c < 6; c++)
            rows[r][c] = (unsigned char)(r * 16 + c);
        ptrs[r] = (char *)rows[2 - r];
    }
    ptrdiff_t shape[] = {3, 4}, strides[] = {sizeof(char *), 1}, subs[] = {2, -1};
    test_exporter t;
    texp_init(&t, ptrs, 1, "B", 2, shape, strides, subs, 0);

    const desc e = {.buf = ptrs, .obj = &t.base, .len = 12, .itemsize = 1, .ndim = 2,
                    .format = "B", .shape = {3, 4}, .strides = {sizeof(char *), 1},
                    .subs = (const ptrdiff_t[]){2, -1}, .contig = 'N'};
    slot s;
    slot_init(&s, 0);
    mv_view *v = mv_view_new_at(place_slot, &s, &t.base, &err);
    expect_in_slot(v, &s);
    assert_true(s.size >= least_size(2, true));
    expect_desc(v, &e);
    mv_view *vh = mv_view_new(&t.base, &err);
    expect_desc(vh, &e);
    for (ptrdiff_t r = 0; r < 3; r++)
        for (ptrdiff_t c = 0; c < 4; c++) {
            ptrdiff_t idx[] = {r, c};
            assert_int_equal(get_u(v, idx, 2), 16 * (2 - r) + 2 + c);
        }

    /* v[:, 1:]: the start moves into the suboffset (CPython's init_slice). */
    mv_key k[] = {kslice(0, 0, 0, 0, 0, 0), kslice(1, 1, 0, 0, 0, 0)};
    const desc es = {.buf = ptrs, .obj = &t.base, .len = 9, .itemsize = 1, .ndim = 2,
                     .format = "B", .shape = {3, 3}, .strides = {sizeof(char *), 1},
                     .subs = (const ptrdiff_t[]){3, -1}, .contig = 'N'};
    slot s2;
    slot_init(&s2, 0);
    mv_view *sv = mv_view_subscript_at(place_slot, &s2, v, k, 2, &err);
    expect_in_slot(sv, &s2);
    expect_desc(sv, &es);
    mv_view *svh = mv_view_subscript(v, k, 2, &err);
    expect_desc(svh, &es);
    ptrdiff_t i02[] = {0, 2};
    assert_int_equal(get_u(sv, i02, 2), 16 * 2 + 3 + 2);
    /* v[::-1] with one slice key: not the direct fast path. */
    mv_key kr = kslice(0, 0, 0, 0, 1, -1);
    const desc er = {.buf = ptrs + 2, .obj = &t.base, .len = 12, .itemsize = 1, .ndim = 2,
                     .format = "B", .shape = {3, 4}, .strides = {-(ptrdiff_t)sizeof(char *), 1},
                     .subs = (const ptrdiff_t[]){2, -1}, .contig = 'N'};
    slot s3;
    slot_init(&s3, 0);
    mv_view *rv = mv_view_subscript_at(place_slot, &s3, v, &kr, 1, &err);
    expect_in_slot(rv, &s3);
    expect_desc(rv, &er);
    ptrdiff_t i01[] = {0, 1};
    assert_int_equal(get_u(rv, i01, 2), 16 * 0 + 2 + 1);
    /* A read-only placed copy keeps the suboffsets. */
    slot s4;
    slot_init(&s4, 0);
    mv_view *ro = mv_view_toreadonly_at(place_slot, &s4, sv, &err);
    expect_in_slot(ro, &s4);
    desc ero = es;
    ero.readonly = 1;
    expect_desc(ro, &ero);

    /* A 3-D indirect array: dimension 1 goes through pointers, item
     * (i, j, k) = cells[3i + j][k] = 4 (3i + j) + k. */
    ptrdiff_t shape3[] = {2, 3, 4}, strides3[] = {3 * sizeof(char *), sizeof(char *), 1};
    ptrdiff_t subs3[] = {-1, 0, -1};
    char *grid3[6];
    unsigned char cells[6][4];
    for (int i = 0; i < 6; i++) {
        grid3[i] = (char *)cells[i];
        for (int j = 0; j < 4; j++)
            cells[i][j] = (unsigned char)(i * 4 + j);
    }
    test_exporter t3;
    texp_init(&t3, grid3, 1, "B", 3, shape3, strides3, subs3, 1);
    const desc e3 = {.buf = grid3, .obj = &t3.base, .len = 24, .itemsize = 1, .readonly = 1,
                     .ndim = 3, .format = "B", .shape = {2, 3, 4},
                     .strides = {3 * sizeof(char *), sizeof(char *), 1},
                     .subs = (const ptrdiff_t[]){-1, 0, -1}, .contig = 'N'};
    heap_place h = {0};
    mv_view *v3 = mv_view_new_at(place_malloc, &h, &t3.base, &err);
    expect_in(v3, h.p, h.size, h.calls);
    assert_true(h.size >= least_size(3, true));
    expect_desc(v3, &e3);
    /* [::-1]: buf moves back a row of pointers (dimension 0 is direct). */
    const desc e3r = {.buf = grid3 + 3, .obj = &t3.base, .len = 24, .itemsize = 1, .readonly = 1,
                      .ndim = 3, .format = "B", .shape = {2, 3, 4},
                      .strides = {-3 * (ptrdiff_t)sizeof(char *), sizeof(char *), 1},
                      .subs = (const ptrdiff_t[]){-1, 0, -1}, .contig = 'N'};
    slot s5;
    slot_init(&s5, 0);
    mv_view *r3 = mv_view_subscript_at(place_slot, &s5, v3, &kr, 1, &err);
    expect_in_slot(r3, &s5);
    expect_desc(r3, &e3r);
    mv_view *r3h = mv_view_subscript(v3, &kr, 1, &err);
    expect_desc(r3h, &e3r);
    for (ptrdiff_t i = 0; i < 2; i++)
        for (ptrdiff_t j = 0; j < 3; j++)
            for (ptrdiff_t c = 0; c < 4; c++) {
                ptrdiff_t idx[] = {i, j, c};
                assert_int_equal(get_u(r3, idx, 3), 4 * (3 * (1 - i) + j) + c);
            }
    /* r3[1, 2]: follows the pointer; a plain 1-D view of cells[2]. */
    mv_key k12[] = {kidx(1), kidx(2)};
    const desc e12 = {.buf = cells[2], .obj = &t3.base, .len = 4, .itemsize = 1, .readonly = 1,
                      .ndim = 1, .format = "B", .shape = {4}, .strides = {1}, .contig = 'B'};
    slot s6;
    slot_init(&s6, 0);
    mv_view *row = mv_view_subscript_at(place_slot, &s6, r3, k12, 2, &err);
    expect_in_slot(row, &s6);
    expect_desc(row, &e12);

    drop(row);
    drop(r3);
    drop(r3h);
    drop(v3);
    free(h.p);
    assert_int_equal(t3.releasebuffer_calls, 1);
    texp_finish(&t3);
    drop(v);
    drop(vh);
    drop(sv);
    drop(svh);
    drop(rv);
    assert_int_equal(t.releasebuffer_calls, 1); /* vh's buffer */
    drop(ro);
    assert_int_equal(t.releasebuffer_calls, 2);
    texp_finish(&t);
}

static void sixty_four_dims(void **state)
{
    (void)state;
    mv_error err;
    mv_error_clear(&err);
    mv_object *ba = new_bytearray_seq(2, 7);
    unsigned char *data = mv_object_data(ba, NULL);
    mv_view *v = mv_view_new(ba, &err);
    assert_non_null(v);
    ptrdiff_t shape[64];
    for (int i = 0; i < 64; i++)
        shape[i] = 1;
    shape[63] = 2;
    static slot s;
    slot_init(&s, 0);
    mv_view *c = mv_view_cast_at(place_slot, &s, v, "B", shape, 64, 0, &err);
    expect_in_slot(c, &s);
    assert_true(s.size >= least_size(64, false));
    const mv_buffer *b = mv_view_buffer(c, &err);
    assert_int_equal(b->ndim, 64);
    assert_ptr_equal(b->buf, data);
    assert_int_equal(b->len, 2);
    for (int i = 0; i < 64; i++) {
        assert_int_equal(b->shape[i], i == 63 ? 2 : 1);
        /* C strides: the product of the later extents. */
        assert_int_equal(b->strides[i], i == 63 ? 1 : 2);
    }
    ptrdiff_t idx[64] = {0};
    idx[63] = 1;
    assert_int_equal(get_u(c, idx, 64), 8);
    /* 65 dimensions are refused before place. */
    ptrdiff_t shape65[65];
    for (int i = 0; i < 65; i++)
        shape65[i] = 1;
    shape65[0] = 2;
    static slot s65;
    slot_init(&s65, 0);
    mv_error_clear(&err);
    expect_fail(mv_view_cast_at(place_slot, &s65, v, "B", shape65, 65, 0, &err), &err, MV_EVALUE,
                "memoryview: number of dimensions must not exceed 64");
    assert_int_equal(s65.calls, 0);
    slot_untouched(&s65);
    /* A placed 64-D view of the placed 64-D cast. */
    static slot s2;
    slot_init(&s2, 0);
    mv_view *ro = mv_view_toreadonly_at(place_slot, &s2, c, &err);
    expect_in_slot(ro, &s2);
    assert_int_equal(mv_view_buffer(ro, &err)->ndim, 64);
    assert_int_equal(mv_view_buffer(ro, &err)->strides[0], 2);
    drop(ro);
    drop(c);
    drop(v);
    assert_int_equal(mv_object_exports(ba), 0);
    mv_decref(ba);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(new_at_matches_heap),
        cmocka_unit_test(subscript_at_slice_matches_heap),
        cmocka_unit_test(subscript_at_2d_index_newaxis),
        cmocka_unit_test(cast_at_matches_heap),
        cmocka_unit_test(toreadonly_at_matches_heap),
        cmocka_unit_test(checks_fail_before_place),
        cmocka_unit_test(place_null_is_enomem),
        cmocka_unit_test(misaligned_place_refused),
        cmocka_unit_test(place_is_last_under_allocation_failures),
        cmocka_unit_test(items_through_placed_views),
        cmocka_unit_test(exports_of_placed_views),
        cmocka_unit_test(lifetime_orders),
        cmocka_unit_test(lifetime_bytearray_and_external),
        cmocka_unit_test(place_releases_the_source),
        cmocka_unit_test(memory_reusable_after_last_reference),
        cmocka_unit_test(placed_base_for_further_views),
        cmocka_unit_test(three_dim_views),
        cmocka_unit_test(zero_dim_views),
        cmocka_unit_test(suboffset_views),
        cmocka_unit_test(sixty_four_dims),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
