/* Tests for src/view.c: views, the managed buffer, items, subscripts,
 * assignment and casts.  Expected results come from plain models written
 * here: element addresses follow PyBuffer_GetPointer's definition over the
 * exporter's own layout, slices follow slice.indices() written out longhand,
 * and assignment follows "read every source item, then write". */
#include <memview.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <complex.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "failalloc.h"
#include "testviews.h"

#define MSG_RELEASED "operation forbidden on released memoryview object"
#define MSG_READONLY "cannot modify read-only memory"
#define MSG_STRUCTURE "memoryview assignment: lvalue and rvalue have different structures"
#define MSG_NDIM "memoryview: number of dimensions must not exceed 64"

/* ------------------------------------------------------------------------ */
/* Fixed-seed PRNG (tests/support), so failures reproduce                  */
/* ------------------------------------------------------------------------ */

static rng gen = {0x9e3779b97f4a7c15u};

static bool rng_chance(int percent)
{
    return (int)(rng_next(&gen) % 100) < percent;
}

/* 1-D contiguous bytes over mem. */
static void texp_bytes(test_exporter *t, unsigned char *mem, ptrdiff_t n, ptrdiff_t *shape,
                       ptrdiff_t *strides, int readonly)
{
    shape[0] = n;
    strides[0] = 1;
    texp_init(t, mem, 1, "B", 1, shape, strides, NULL, readonly);
}

/* ------------------------------------------------------------------------ */
/* Plain models                                                              */
/* ------------------------------------------------------------------------ */

/* PyBuffer_GetPointer written out: strides, then dereference. */
static char *naive_ptr(const mv_buffer *b, const ptrdiff_t *idx)
{
    uintptr_t p = (uintptr_t)b->buf;
    for (int d = 0; d < b->ndim; d++) {
        p += (uintptr_t)(idx[d] * b->strides[d]);
        if (b->suboffsets && b->suboffsets[d] >= 0) {
            char *q;
            memcpy(&q, (void *)p, sizeof q);
            p = (uintptr_t)q + (uintptr_t)b->suboffsets[d];
        }
    }
    return (char *)p;
}


static bool has_items(const ptrdiff_t *shape, int ndim)
{
    for (int d = 0; d < ndim; d++)
        if (shape[d] == 0)
            return false;
    return true;
}

/* The items Python's range(*slice(start, stop, step).indices(n)) yields,
 * computed the long way: the first index and the count. */
static ptrdiff_t model_slice(ptrdiff_t n, const mv_key *k, ptrdiff_t *first, ptrdiff_t *step)
{
    ptrdiff_t st = k->has_step ? k->step : 1;
    ptrdiff_t lower = st > 0 ? 0 : -1, upper = st > 0 ? n : n - 1;
    ptrdiff_t start, stop;
    if (!k->has_start) {
        start = st > 0 ? lower : upper;
    } else {
        start = k->start;
        if (start < 0) {
            start += n;
            if (start < lower)
                start = lower;
        } else if (start > upper) {
            start = upper;
        }
    }
    if (!k->has_stop) {
        stop = st > 0 ? upper : lower;
    } else {
        stop = k->stop;
        if (stop < 0) {
            stop += n;
            if (stop < lower)
                stop = lower;
        } else if (stop > upper) {
            stop = upper;
        }
    }
    ptrdiff_t count = 0;
    for (ptrdiff_t i = start; st > 0 ? i < stop : i > stop; i += st) {
        count++;
        if (i > PTRDIFF_MAX - (st > 0 ? st : 0) || i < PTRDIFF_MIN - (st < 0 ? st : 0))
            break;
    }
    *first = start;
    *step = st;
    return count;
}

/* A view as a map from its index tuples to the exporter's: each dimension
 * is an exporter dimension (start + i * step) or a new axis (src < 0);
 * exporter dimensions not mapped are fixed at an index. */
typedef struct mdim {
    int src;
    ptrdiff_t start, step, extent;
} mdim;

typedef struct mview {
    int ndim;
    mdim dims[MV_MAX_NDIM + 2];
    ptrdiff_t fixed[8];
} mview;

typedef struct src_layout {
    int ndim;
    ptrdiff_t itemsize;
    ptrdiff_t shape[8], strides[8], subs[8];
    bool pil;
    char *buf;
} src_layout;

static void mview_init(mview *m, const src_layout *L)
{
    m->ndim = L->ndim;
    for (int d = 0; d < L->ndim; d++)
        m->dims[d] = (mdim){.src = d, .start = 0, .step = 1, .extent = L->shape[d]};
}

static bool src_indirect(const src_layout *L, int src)
{
    return src >= 0 && L->pil && L->subs[src] >= 0;
}

/* The stride a model dimension has in a view. */
static ptrdiff_t mdim_stride(const src_layout *L, const mdim *m)
{
    return m->src < 0 ? 0 : L->strides[m->src] * m->step;
}

/* NumPy basic indexing on the model; 0 or the expected error code. */
static int model_apply(const src_layout *L, const mview *in, const mv_key *keys, int nkeys,
                       mview *out)
{
    int nidx = 0, nint = 0, nnew = 0, nell = 0;
    for (int k = 0; k < nkeys; k++) {
        if (keys[k].kind == MV_KEY_ELLIPSIS && ++nell > 1)
            return MV_EINDEX;
        nidx += keys[k].kind == MV_KEY_INDEX || keys[k].kind == MV_KEY_SLICE;
        nint += keys[k].kind == MV_KEY_INDEX;
        nnew += keys[k].kind == MV_KEY_NEWAXIS;
    }
    if (nidx > in->ndim)
        return MV_EINDEX;
    if (in->ndim - nint + nnew > MV_MAX_NDIM)
        return MV_EVALUE;
    /* Expand: the key for each position, with full slices filled in. */
    mv_key full = {.kind = MV_KEY_SLICE};
    const mv_key *seq[2 * MV_MAX_NDIM + 4];
    int nseq = 0;
    for (int k = 0; k < nkeys; k++) {
        if (keys[k].kind == MV_KEY_ELLIPSIS) {
            for (int j = 0; j < in->ndim - nidx; j++)
                seq[nseq++] = &full;
        } else {
            seq[nseq++] = &keys[k];
        }
    }
    if (!nell)
        for (int j = 0; j < in->ndim - nidx; j++)
            seq[nseq++] = &full;

    bool empty = false;
    for (int d = 0; d < in->ndim; d++)
        empty |= in->dims[d].extent == 0;
    memcpy(out->fixed, in->fixed, sizeof out->fixed);
    out->ndim = 0;
    int d = 0;
    for (int k = 0; k < nseq; k++) {
        const mv_key *key = seq[k];
        if (key->kind == MV_KEY_NEWAXIS) {
            out->dims[out->ndim++] = (mdim){.src = -1, .start = 0, .step = 1, .extent = 1};
            continue;
        }
        const mdim *m = &in->dims[d];
        if (key->kind == MV_KEY_INDEX) {
            ptrdiff_t i = key->index < 0 ? key->index + m->extent : key->index;
            if (i < 0 || i >= m->extent)
                return MV_EINDEX;
            if (src_indirect(L, m->src) && !empty) {
                /* The dereference can only be done now when nothing
                 * before it varies. */
                for (int o = 0; o < out->ndim; o++) {
                    const mdim *p = &out->dims[o];
                    if (src_indirect(L, p->src) || (p->extent > 1 && mdim_stride(L, p) != 0))
                        return MV_ENOTIMPL;
                }
            }
            if (m->src >= 0)
                out->fixed[m->src] = m->start + i * m->step;
            d++;
            continue;
        }
        if (key->has_step && key->step == 0)
            return MV_EVALUE;
        ptrdiff_t first, step;
        ptrdiff_t n = model_slice(m->extent, key, &first, &step);
        if (n == 0)
            empty = true;
        out->dims[out->ndim++] = (mdim){.src = m->src,
                                        .start = n ? m->start + first * m->step : 0,
                                        .step = n > 1 ? m->step * step : m->step,
                                        .extent = n};
        d++;
    }
    if (empty)
        return 0;
    /* After each dereference the offsets of the following dimensions up to
     * the next dereference are folded into its suboffset, which must stay
     * >= 0 to keep meaning "dereference". */
    ptrdiff_t start[8];
    for (int s = 0; s < L->ndim; s++)
        start[s] = out->fixed[s];
    for (int o = 0; o < out->ndim; o++)
        if (out->dims[o].src >= 0)
            start[out->dims[o].src] = out->dims[o].start;
    for (int o = 0; o < out->ndim; o++) {
        int s = out->dims[o].src;
        if (!src_indirect(L, s))
            continue;
        ptrdiff_t eff = L->subs[s];
        for (int t = s + 1; t < L->ndim; t++) {
            eff += start[t] * L->strides[t];
            if (src_indirect(L, t))
                break;
        }
        if (eff < 0)
            return MV_ENOTIMPL;
    }
    return 0;
}

/* The exporter's index tuple for a model index tuple. */
static void model_source_index(const src_layout *L, const mview *m, const ptrdiff_t *idx,
                               ptrdiff_t *src)
{
    for (int s = 0; s < L->ndim; s++)
        src[s] = m->fixed[s];
    for (int o = 0; o < m->ndim; o++)
        if (m->dims[o].src >= 0)
            src[m->dims[o].src] = m->dims[o].start + idx[o] * m->dims[o].step;
}

static mv_buffer src_buffer(const src_layout *L)
{
    mv_buffer b = {0};
    b.buf = L->buf;
    b.ndim = L->ndim;
    b.itemsize = L->itemsize;
    b.shape = (ptrdiff_t *)L->shape;
    b.strides = (ptrdiff_t *)L->strides;
    b.suboffsets = L->pil ? (ptrdiff_t *)L->subs : NULL;
    return b;
}

static uint64_t load_uint(const void *p, ptrdiff_t itemsize)
{
    switch (itemsize) {
    case 1: {
        uint8_t v;
        memcpy(&v, p, 1);
        return v;
    }
    case 2: {
        uint16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    case 4: {
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    default: {
        uint64_t v;
        memcpy(&v, p, 8);
        return v;
    }
    }
}

/* Brute-force contiguity of a view with items: every item where a dense
 * array in `order` would put it. */
static bool brute_contiguous(const mv_buffer *b, char order)
{
    if (b->suboffsets)
        return false;
    if (b->ndim == 0)
        return true;
    if (!has_items(b->shape, b->ndim))
        return b->ndim > 1 || b->strides[0] == b->itemsize; /* CPython's rules */
    ptrdiff_t idx[MV_MAX_NDIM] = {0};
    do {
        ptrdiff_t lin = 0;
        if (order == 'C') {
            for (int d = 0; d < b->ndim; d++)
                lin = lin * b->shape[d] + idx[d];
        } else {
            for (int d = b->ndim - 1; d >= 0; d--)
                lin = lin * b->shape[d] + idx[d];
        }
        if (naive_ptr(b, idx) != (char *)b->buf + lin * b->itemsize)
            return false;
    } while (next_index(b->ndim, b->shape, idx));
    return true;
}

/* ------------------------------------------------------------------------ */
/* Random layouts, plain and with suboffsets                                 */
/* ------------------------------------------------------------------------ */

enum { DATA_ARENA = 1 << 18, PTR_ARENA = 1 << 14 };

typedef struct arena {
    unsigned char *data;
    size_t data_used;
    char **ptrs;
    size_t ptrs_used;
} arena;

static const char *const uint_formats[9] = {[1] = "B", [2] = "H", [4] = "I", [8] = "Q"};

/* Span of the offsets a segment of dimensions reaches: lowest and highest. */
static void segment_span(const src_layout *L, int from, int to, ptrdiff_t *lo, ptrdiff_t *hi)
{
    *lo = *hi = 0;
    for (int d = from; d <= to; d++) {
        if (L->shape[d] == 0)
            continue;
        ptrdiff_t s = L->strides[d] * (L->shape[d] - 1);
        if (s < 0)
            *lo += s;
        else
            *hi += s;
    }
}

/* Build the memory for dimensions [d, ndim): the pointer at which the
 * address computation for these dimensions starts.  A segment ending in an
 * indirect dimension lives in the pointer arena; each of its slots points
 * (minus the suboffset) at a fresh instance of the rest. */
static char *build(arena *A, const src_layout *L, int d)
{
    int e = d;
    while (e < L->ndim && !src_indirect(L, e))
        e++;
    ptrdiff_t lo, hi;
    if (e == L->ndim) {
        segment_span(L, d, L->ndim - 1, &lo, &hi);
        size_t need = (size_t)(hi - lo + L->itemsize) + 16;
        assert_true(A->data_used + need <= DATA_ARENA);
        char *start = (char *)A->data + A->data_used + 8 - lo;
        A->data_used += need;
        return start;
    }
    segment_span(L, d, e, &lo, &hi);
    size_t need = (size_t)(hi - lo) / sizeof(char *) + 2;
    assert_true(A->ptrs_used + need <= PTR_ARENA);
    char *start = (char *)(A->ptrs + A->ptrs_used + 1) - lo;
    A->ptrs_used += need;
    int n = e - d + 1;
    ptrdiff_t idx[8] = {0};
    if (!has_items(L->shape + d, n))
        return start;
    do {
        char *slot = start;
        for (int i = 0; i < n; i++)
            slot += idx[i] * L->strides[d + i];
        char *child = build(A, L, e + 1);
        char *stored = (char *)((uintptr_t)child - (uintptr_t)L->subs[e]);
        memcpy(slot, &stored, sizeof stored);
    } while (next_index(n, L->shape + d, idx));
    return start;
}

static void random_layout(arena *A, src_layout *L, bool pil)
{
    static const ptrdiff_t sizes[4] = {1, 2, 4, 8};
    memset(L, 0, sizeof *L);
    L->ndim = (int)rng_between(&gen, pil ? 1 : 0, 4);
    L->itemsize = sizes[rng_between(&gen, 0, 3)];
    L->pil = pil;
    bool any_indirect = false;
    for (int d = 0; d < L->ndim; d++) {
        L->shape[d] = rng_chance(6) ? 0 : rng_between(&gen, 1, 4);
        L->subs[d] = -1;
        if (pil && rng_chance(40)) {
            L->subs[d] = rng_between(&gen, 0, 3) * L->itemsize;
            any_indirect = true;
        }
    }
    if (pil && !any_indirect)
        L->subs[rng_between(&gen, 0, L->ndim - 1)] = 0;
    /* Strides: multiples of the pointer size in segments that end in an
     * indirect dimension, of the item size elsewhere. */
    for (int d = 0; d < L->ndim; d++) {
        int e = d;
        while (e < L->ndim && !src_indirect(L, e))
            e++;
        ptrdiff_t unit = e < L->ndim ? (ptrdiff_t)sizeof(char *) : L->itemsize;
        ptrdiff_t k = rng_chance(5) ? 0 : rng_between(&gen, -6, 6);
        L->strides[d] = k * unit;
    }
    A->data_used = 0;
    A->ptrs_used = 0;
    L->buf = build(A, L, 0);
}

static void fill_random(unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)rng_next(&gen);
}

static void random_keys(const mview *m, mv_key *keys, int *nkeys)
{
    int n = (int)rng_between(&gen, 0, m->ndim + 2);
    for (int k = 0; k < n; k++) {
        mv_key *key = &keys[k];
        memset(key, 0, sizeof *key);
        ptrdiff_t ext = m->ndim ? m->dims[rng_between(&gen, 0, m->ndim - 1)].extent : 3;
        int r = (int)rng_between(&gen, 0, 99);
        if (r < 30) {
            key->kind = MV_KEY_INDEX;
            key->index = rng_between(&gen, -ext - 1, ext);
            if (rng_chance(3))
                key->index = rng_chance(50) ? PTRDIFF_MAX : PTRDIFF_MIN;
        } else if (r < 80) {
            key->kind = MV_KEY_SLICE;
            key->has_start = rng_chance(60);
            key->has_stop = rng_chance(60);
            key->has_step = rng_chance(60);
            key->start = rng_between(&gen, -ext - 3, ext + 3);
            key->stop = rng_between(&gen, -ext - 3, ext + 3);
            key->step = rng_between(&gen, -3, 3);
            if (rng_chance(5))
                key->start = rng_chance(50) ? PTRDIFF_MAX : PTRDIFF_MIN;
            if (rng_chance(5))
                key->stop = rng_chance(50) ? PTRDIFF_MAX : PTRDIFF_MIN;
            if (rng_chance(3))
                key->step = rng_chance(50) ? PTRDIFF_MAX : PTRDIFF_MIN;
        } else if (r < 90) {
            key->kind = MV_KEY_NEWAXIS;
        } else {
            key->kind = MV_KEY_ELLIPSIS;
        }
    }
    *nkeys = n;
}

/* Compare a view against the model: shape, every address and value,
 * contiguity, suboffsets. */
static void check_against_model(const src_layout *L, const mview *m, mv_view *v, int readonly)
{
    mv_error err;
    const mv_buffer *b = mv_view_buffer(v, &err);
    assert_non_null(b);
    assert_int_equal(b->ndim, m->ndim);
    assert_int_equal(b->itemsize, L->itemsize);
    assert_int_equal(b->readonly, readonly);
    assert_string_equal(b->format, uint_formats[L->itemsize]);
    ptrdiff_t len = L->itemsize;
    bool indirect = false;
    for (int o = 0; o < m->ndim; o++) {
        assert_int_equal(b->shape[o], m->dims[o].extent);
        len *= m->dims[o].extent;
        indirect |= src_indirect(L, m->dims[o].src);
    }
    assert_int_equal(b->len, len);
    assert_true((b->suboffsets != NULL) == indirect);
    if (!has_items(b->shape, b->ndim))
        return;
    mv_buffer sb = src_buffer(L);
    ptrdiff_t idx[MV_MAX_NDIM + 2] = {0}, sidx[8];
    do {
        model_source_index(L, m, idx, sidx);
        char *want = naive_ptr(&sb, sidx);
        assert_ptr_equal(naive_ptr(b, idx), want);
        mv_value val;
        assert_int_equal(mv_view_get_item(v, idx, b->ndim, &val, 1, &err), 0);
        assert_int_equal(val.kind, MV_VALUE_UNSIGNED);
        assert_true(val.v.u == load_uint(want, L->itemsize));
    } while (next_index(b->ndim, b->shape, idx));
    assert_int_equal(mv_view_is_contiguous(v, 'C', &err), brute_contiguous(b, 'C'));
    assert_int_equal(mv_view_is_contiguous(v, 'F', &err), brute_contiguous(b, 'F'));
}

static void subscript_random(bool pil, int rounds)
{
    arena A = {malloc(DATA_ARENA), 0, calloc(PTR_ARENA, sizeof(char *)), 0};
    assert_non_null(A.data);
    assert_non_null(A.ptrs);
    int ok = 0, errors[8] = {0};
    for (int round = 0; round < rounds; round++) {
        src_layout L;
        fill_random(A.data, DATA_ARENA);
        random_layout(&A, &L, pil);
        int readonly = rng_chance(50);
        test_exporter t;
        texp_init(&t, L.buf, L.itemsize, uint_formats[L.itemsize], L.ndim, L.shape, L.strides,
                  pil ? L.subs : NULL, readonly);
        mv_error err;
        mv_view *base = mv_view_new(&t.base, &err);
        assert_non_null(base);
        mview m;
        mview_init(&m, &L);
        check_against_model(&L, &m, base, readonly);

        /* A chain of sub-views, each checked against the composed model. */
        mv_view *cur = base;
        mv_incref(mv_view_object(cur));
        for (int depth = 0; depth < 4; depth++) {
            mv_key keys[16];
            int nkeys;
            random_keys(&m, keys, &nkeys);
            mview next;
            int want = model_apply(&L, &m, keys, nkeys, &next);
            mv_view *sub = mv_view_subscript(cur, keys, nkeys, &err);
            if (want != 0) {
                assert_null(sub);
                assert_int_equal(err.code, want);
                errors[-want]++;
                break;
            }
            if (!sub)
                fail_msg("subscript failed: %s", err.message);
            ok++;
            check_against_model(&L, &next, sub, readonly);
            mv_decref(mv_view_object(cur));
            cur = sub;
            m = next;
            if (rng_chance(20)) {
                /* A view of the view, or a read-only copy, keeps the layout. */
                mv_view *again = rng_chance(50) ? mv_view_new(mv_view_object(cur), &err)
                                                : mv_view_toreadonly(cur, &err);
                assert_non_null(again);
                mv_decref(mv_view_object(cur));
                cur = again;
                if (mv_view_buffer(cur, &err)->readonly)
                    readonly = 1;
                check_against_model(&L, &m, cur, readonly);
            }
        }
        mv_decref(mv_view_object(cur));
        assert_int_equal(t.getbuffer_calls, 1);
        assert_int_equal(t.releasebuffer_calls, 0);
        mv_decref(mv_view_object(base));
        assert_int_equal(t.releasebuffer_calls, 1);
        texp_finish(&t);
    }
    /* The random walk must reach both successes and each error kind. */
    assert_true(ok > rounds);
    assert_true(errors[-MV_EINDEX] > 10);
    assert_true(errors[-MV_EVALUE] > 10);
    if (pil)
        assert_true(errors[-MV_ENOTIMPL] > 10);
    free(A.data);
    free(A.ptrs);
}

static void subscript_random_plain(void **state)
{
    (void)state;
    subscript_random(false, 3000);
}

static void subscript_random_suboffsets(void **state)
{
    (void)state;
    subscript_random(true, 3000);
}

/* ------------------------------------------------------------------------ */
/* Hand-written subscripts                                                   */
/* ------------------------------------------------------------------------ */

static const mv_key KELL = {.kind = MV_KEY_ELLIPSIS};
static const mv_key KNEW = {.kind = MV_KEY_NEWAXIS};

/* A writable 3x4 C-contiguous array of bytes 0..11 (row r, column c holds
 * 10 * r + c). */
typedef struct grid {
    unsigned char mem[12];
    ptrdiff_t shape[2], strides[2];
    test_exporter t;
    mv_view *v;
} grid;

static void grid_init(grid *g, int readonly)
{
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++)
            g->mem[r * 4 + c] = (unsigned char)(10 * r + c);
    g->shape[0] = 3;
    g->shape[1] = 4;
    g->strides[0] = 4;
    g->strides[1] = 1;
    texp_init(&g->t, g->mem, 1, "B", 2, g->shape, g->strides, NULL, readonly);
    mv_error err;
    g->v = mv_view_new(&g->t.base, &err);
    assert_non_null(g->v);
}

static void grid_finish(grid *g)
{
    mv_decref(mv_view_object(g->v));
    texp_finish(&g->t);
}

static unsigned get_u(mv_view *v, const ptrdiff_t *idx, int n)
{
    mv_error err;
    mv_value val;
    if (mv_view_get_item(v, idx, n, &val, 1, &err) < 0)
        fail_msg("get_item: %s", err.message);
    return (unsigned)val.v.u;
}

static void subscript_by_hand(void **state)
{
    (void)state;
    grid g;
    grid_init(&g, 0);
    mv_error err;

    /* g[1] is row 1: 10 11 12 13. */
    mv_key k1[] = {kidx(1)};
    mv_view *row = mv_view_subscript(g.v, k1, 1, &err);
    assert_non_null(row);
    const mv_buffer *b = mv_view_buffer(row, &err);
    assert_int_equal(b->ndim, 1);
    assert_int_equal(b->shape[0], 4);
    assert_int_equal(b->strides[0], 1);
    assert_ptr_equal(b->buf, g.mem + 4);
    assert_int_equal(b->len, 4);
    assert_int_equal(mv_view_is_contiguous(row, 'C', &err), 1);
    for (ptrdiff_t c = 0; c < 4; c++)
        assert_int_equal(get_u(row, &c, 1), 10 + c);
    mv_decref(mv_view_object(row));

    /* g[:, 2] is column 2: 2 12 22, stride 4. */
    mv_key k2[] = {kslice(0, 0, 0, 0, 0, 0), kidx(2)};
    mv_view *col = mv_view_subscript(g.v, k2, 2, &err);
    assert_non_null(col);
    b = mv_view_buffer(col, &err);
    assert_int_equal(b->ndim, 1);
    assert_int_equal(b->shape[0], 3);
    assert_int_equal(b->strides[0], 4);
    assert_int_equal(mv_view_is_contiguous(col, 'A', &err), 0);
    for (ptrdiff_t r = 0; r < 3; r++)
        assert_int_equal(get_u(col, &r, 1), 10 * r + 2);
    mv_decref(mv_view_object(col));

    /* g[::-1, 1::2] is rows 2,1,0 and columns 1,3. */
    mv_key k3[] = {kslice(0, 0, 0, 0, 1, -1), kslice(1, 1, 0, 0, 1, 2)};
    mv_view *rev = mv_view_subscript(g.v, k3, 2, &err);
    assert_non_null(rev);
    b = mv_view_buffer(rev, &err);
    assert_int_equal(b->shape[0], 3);
    assert_int_equal(b->shape[1], 2);
    assert_int_equal(b->strides[0], -4);
    assert_int_equal(b->strides[1], 2);
    assert_ptr_equal(b->buf, g.mem + 8 + 1);
    ptrdiff_t i21[] = {2, 1};
    assert_int_equal(get_u(rev, i21, 2), 3); /* row 0, column 3 */
    ptrdiff_t i00[] = {0, 0};
    assert_int_equal(get_u(rev, i00, 2), 21);
    mv_decref(mv_view_object(rev));

    /* g[None, ..., None] has shape (1, 3, 4, 1), strides (0, 4, 1, 0). */
    mv_key k4[] = {KNEW, KELL, KNEW};
    mv_view *nv = mv_view_subscript(g.v, k4, 3, &err);
    assert_non_null(nv);
    b = mv_view_buffer(nv, &err);
    assert_int_equal(b->ndim, 4);
    ptrdiff_t wshape[] = {1, 3, 4, 1}, wstrides[] = {0, 4, 1, 0};
    for (int d = 0; d < 4; d++) {
        assert_int_equal(b->shape[d], wshape[d]);
        assert_int_equal(b->strides[d], wstrides[d]);
    }
    assert_int_equal(mv_view_is_contiguous(nv, 'C', &err), 1);
    ptrdiff_t i0230[] = {0, 2, 3, 0};
    assert_int_equal(get_u(nv, i0230, 4), 23);
    mv_decref(mv_view_object(nv));

    /* g[-1, -4] is a 0-dim view of item 20. */
    mv_key k5[] = {kidx(-1), kidx(-4)};
    mv_view *item = mv_view_subscript(g.v, k5, 2, &err);
    assert_non_null(item);
    b = mv_view_buffer(item, &err);
    assert_int_equal(b->ndim, 0);
    assert_null(b->shape);
    assert_int_equal(b->len, 1);
    assert_int_equal(get_u(item, NULL, 0), 20);
    /* A 0-dim view takes () and ... and new axes. */
    mv_view *same = mv_view_subscript(item, NULL, 0, &err);
    assert_non_null(same);
    assert_int_equal(mv_view_buffer(same, &err)->ndim, 0);
    mv_decref(mv_view_object(same));
    mv_key k6[] = {KELL, KNEW};
    mv_view *one = mv_view_subscript(item, k6, 2, &err);
    assert_non_null(one);
    assert_int_equal(mv_view_buffer(one, &err)->ndim, 1);
    assert_int_equal(mv_view_buffer(one, &err)->shape[0], 1);
    mv_decref(mv_view_object(one));
    mv_decref(mv_view_object(item));

    /* Out-of-range slices clip as Python's: g[5:, -100:100] is empty. */
    mv_key k7[] = {kslice(1, 5, 0, 0, 0, 0), kslice(1, -100, 1, 100, 0, 0)};
    mv_view *empty = mv_view_subscript(g.v, k7, 2, &err);
    assert_non_null(empty);
    b = mv_view_buffer(empty, &err);
    assert_int_equal(b->shape[0], 0);
    assert_int_equal(b->shape[1], 4);
    assert_int_equal(b->len, 0);
    /* Sub-views of an empty view stay empty. */
    mv_key k8[] = {KELL, kidx(3)};
    mv_view *e2 = mv_view_subscript(empty, k8, 2, &err);
    assert_non_null(e2);
    assert_int_equal(mv_view_buffer(e2, &err)->shape[0], 0);
    mv_decref(mv_view_object(e2));
    mv_decref(mv_view_object(empty));

    /* Huge bounds and steps clip without overflow. */
    mv_key k9[] = {kslice(1, PTRDIFF_MIN, 1, PTRDIFF_MAX, 1, PTRDIFF_MIN)};
    mv_view *h = mv_view_subscript(g.v, k9, 1, &err);
    assert_non_null(h);
    assert_int_equal(mv_view_buffer(h, &err)->shape[0], 0);
    mv_decref(mv_view_object(h));
    mv_key k10[] = {kslice(0, 0, 0, 0, 1, PTRDIFF_MIN)};
    h = mv_view_subscript(g.v, k10, 1, &err);
    assert_non_null(h);
    assert_int_equal(mv_view_buffer(h, &err)->shape[0], 1);
    ptrdiff_t i01[] = {0, 1};
    assert_int_equal(get_u(h, i01, 2), 21); /* the last row */
    mv_decref(mv_view_object(h));
    mv_key k11[] = {kslice(0, 0, 0, 0, 1, PTRDIFF_MAX)};
    h = mv_view_subscript(g.v, k11, 1, &err);
    assert_non_null(h);
    assert_int_equal(mv_view_buffer(h, &err)->shape[0], 1);
    assert_int_equal(get_u(h, i01, 2), 1);
    mv_decref(mv_view_object(h));

    grid_finish(&g);
}

static void subscript_errors(void **state)
{
    (void)state;
    grid g;
    grid_init(&g, 0);
    mv_error err;

    mv_key three[] = {kidx(0), kidx(0), kidx(0)};
    assert_null(mv_view_subscript(g.v, three, 3, &err));
    assert_int_equal(err.code, MV_EINDEX);
    assert_string_equal(err.message, "too many indices for memoryview: memoryview is "
                                     "2-dimensional, but 3 were indexed");

    mv_key two_ell[] = {KELL, kidx(0), KELL};
    assert_null(mv_view_subscript(g.v, two_ell, 3, &err));
    assert_int_equal(err.code, MV_EINDEX);
    assert_string_equal(err.message, "an index can only have a single ellipsis ('...')");

    mv_key zero_step[] = {kidx(1), kslice(0, 0, 0, 0, 1, 0)};
    assert_null(mv_view_subscript(g.v, zero_step, 2, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_string_equal(err.message, "slice step cannot be zero");

    mv_key oob[] = {kidx(1), kidx(4)};
    assert_null(mv_view_subscript(g.v, oob, 2, &err));
    assert_int_equal(err.code, MV_EINDEX);
    assert_string_equal(err.message, "index out of bounds on dimension 2");
    mv_key oob2[] = {KNEW, kidx(-4)};
    assert_null(mv_view_subscript(g.v, oob2, 2, &err));
    assert_string_equal(err.message, "index out of bounds on dimension 1");
    mv_key oob3[] = {kidx(PTRDIFF_MIN)};
    assert_null(mv_view_subscript(g.v, oob3, 1, &err));
    assert_int_equal(err.code, MV_EINDEX);

    /* 2 + 62 new axes = 64 dimensions; one more is too many. */
    mv_key many[MV_MAX_NDIM];
    for (int i = 0; i < MV_MAX_NDIM; i++)
        many[i] = KNEW;
    mv_view *v64 = mv_view_subscript(g.v, many, 62, &err);
    assert_non_null(v64);
    assert_int_equal(mv_view_buffer(v64, &err)->ndim, 64);
    mv_decref(mv_view_object(v64));
    assert_null(mv_view_subscript(g.v, many, 63, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_string_equal(err.message, MSG_NDIM);
    /* Integer keys make room again. */
    mv_key many2[MV_MAX_NDIM + 1];
    many2[0] = kidx(0);
    for (int i = 1; i <= MV_MAX_NDIM; i++)
        many2[i] = KNEW;
    assert_null(mv_view_subscript(g.v, many2, 65, &err));
    assert_string_equal(err.message, MSG_NDIM);
    mv_key many3[MV_MAX_NDIM + 1];
    many3[0] = kidx(0);
    many3[1] = kidx(0);
    for (int i = 2; i <= MV_MAX_NDIM; i++)
        many3[i] = KNEW;
    v64 = mv_view_subscript(g.v, many3, 65, &err);
    assert_non_null(v64);
    assert_int_equal(mv_view_buffer(v64, &err)->ndim, 63);
    mv_decref(mv_view_object(v64));

    mv_key bad_kind[] = {{.kind = (mv_key_kind)42}};
    assert_null(mv_view_subscript(g.v, bad_kind, 1, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_null(mv_view_subscript(g.v, NULL, 1, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_null(mv_view_subscript(g.v, three, -1, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_null(mv_view_subscript(NULL, three, 1, &err));
    assert_int_equal(err.code, MV_EVALUE);
    /* err may be NULL. */
    assert_null(mv_view_subscript(g.v, three, 3, NULL));
    grid_finish(&g);
}

/* A two-level indirect array, as PIL lays out images: an array of row
 * pointers (suboffset 2 skips a 2-byte row header). */
static void subscript_suboffsets_by_hand(void **state)
{
    (void)state;
    unsigned char rows[3][6];
    char *ptrs[3];
    for (int r = 0; r < 3; r++) {
        for (int c = 0; c < 6; c++)
            rows[r][c] = (unsigned char)(r * 16 + c);
        ptrs[r] = (char *)rows[2 - r]; /* row r is stored in reverse order */
    }
    ptrdiff_t shape[] = {3, 4}, strides[] = {sizeof(char *), 1}, subs[] = {2, -1};
    test_exporter t;
    texp_init(&t, ptrs, 1, "B", 2, shape, strides, subs, 0);
    mv_error err;
    mv_view *v = mv_view_new(&t.base, &err);
    assert_non_null(v);
    assert_int_equal(mv_view_is_contiguous(v, 'A', &err), 0);
    ptrdiff_t i13[] = {1, 3};
    assert_int_equal(get_u(v, i13, 2), 1 * 16 + 5);

    /* v[2] follows the pointer: a plain 1-D view of row 0's bytes 2..5. */
    mv_key k[] = {kidx(2)};
    mv_view *r2 = mv_view_subscript(v, k, 1, &err);
    assert_non_null(r2);
    const mv_buffer *b = mv_view_buffer(r2, &err);
    assert_ptr_equal(b->buf, &rows[0][2]);
    assert_null(b->suboffsets);
    assert_int_equal(mv_view_is_contiguous(r2, 'C', &err), 1);
    mv_decref(mv_view_object(r2));

    /* v[:, 1:] moves the start into the suboffset (CPython's init_slice). */
    mv_key k2[] = {kslice(0, 0, 0, 0, 0, 0), kslice(1, 1, 0, 0, 0, 0)};
    mv_view *s = mv_view_subscript(v, k2, 2, &err);
    assert_non_null(s);
    b = mv_view_buffer(s, &err);
    assert_ptr_equal(b->buf, ptrs);
    assert_non_null(b->suboffsets);
    assert_int_equal(b->suboffsets[0], 3);
    ptrdiff_t i02[] = {0, 2};
    assert_int_equal(get_u(s, i02, 2), 2 * 16 + 5);

    /* s[:, 0] needs no dereference at creation. */
    mv_key k3[] = {kslice(0, 0, 0, 0, 0, 0), kidx(0)};
    mv_view *c0 = mv_view_subscript(s, k3, 2, &err);
    assert_non_null(c0);
    for (ptrdiff_t r = 0; r < 3; r++)
        assert_int_equal(get_u(c0, &r, 1), (2 - r) * 16 + 3);
    mv_decref(mv_view_object(c0));

    /* A dereference after a varying dimension is not representable. */
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
    texp_init(&t3, grid3, 1, "B", 3, shape3, strides3, subs3, 0);
    mv_view *v3 = mv_view_new(&t3.base, &err);
    assert_non_null(v3);
    mv_key k4[] = {kslice(0, 0, 0, 0, 0, 0), kidx(1)};
    assert_null(mv_view_subscript(v3, k4, 2, &err));
    assert_int_equal(err.code, MV_ENOTIMPL);
    /* ...but fine once the first dimension is fixed, or has one item. */
    mv_key k5[] = {kidx(1), kidx(2)};
    mv_view *ok = mv_view_subscript(v3, k5, 2, &err);
    assert_non_null(ok);
    b = mv_view_buffer(ok, &err);
    assert_ptr_equal(b->buf, cells[5]);
    assert_null(b->suboffsets);
    mv_decref(mv_view_object(ok));
    mv_key k6[] = {kslice(1, 1, 0, 0, 0, 0), kidx(2), kidx(-1)};
    ok = mv_view_subscript(v3, k6, 3, &err);
    assert_non_null(ok);
    ptrdiff_t z = 0;
    assert_int_equal(get_u(ok, &z, 1), 5 * 4 + 3);
    mv_decref(mv_view_object(ok));
    mv_decref(mv_view_object(v3));
    texp_finish(&t3);

    /* Rows read backwards from a pointer to their last byte: slicing the
     * start of the rows would fold a negative offset into suboffset 0. */
    ptrdiff_t stridesn[] = {3 * sizeof(char *), sizeof(char *), -1};
    for (int i = 0; i < 6; i++)
        grid3[i] = (char *)cells[i] + 3;
    texp_init(&t3, grid3, 1, "B", 3, shape3, stridesn, subs3, 0);
    v3 = mv_view_new(&t3.base, &err);
    assert_non_null(v3);
    ptrdiff_t i120[] = {1, 2, 0};
    assert_int_equal(get_u(v3, i120, 3), 5 * 4 + 3);
    mv_key k7[] = {KELL, kslice(1, 1, 0, 0, 0, 0)};
    assert_null(mv_view_subscript(v3, k7, 2, &err));
    assert_int_equal(err.code, MV_ENOTIMPL);
    mv_key k8[] = {KELL, kslice(0, 0, 1, 2, 0, 0)};
    ok = mv_view_subscript(v3, k8, 2, &err);
    assert_non_null(ok);
    ptrdiff_t i121[] = {1, 2, 1};
    assert_int_equal(get_u(ok, i121, 3), 5 * 4 + 2);
    mv_decref(mv_view_object(ok));
    /* An empty result needs no offsets and is not refused. */
    mv_key k9[] = {KELL, kslice(1, 1, 1, 1, 0, 0)};
    ok = mv_view_subscript(v3, k9, 2, &err);
    assert_non_null(ok);
    assert_int_equal(mv_view_buffer(ok, &err)->len, 0);
    mv_decref(mv_view_object(ok));
    mv_decref(mv_view_object(v3));
    texp_finish(&t3);

    mv_decref(mv_view_object(s));
    mv_decref(mv_view_object(v));
    texp_finish(&t);
}

/* ------------------------------------------------------------------------ */
/* The managed buffer                                                        */
/* ------------------------------------------------------------------------ */

static void managed_buffer_shared(void **state)
{
    (void)state;
    unsigned char mem[24];
    for (int i = 0; i < 24; i++)
        mem[i] = (unsigned char)i;
    ptrdiff_t shape[1], strides[1];
    /* Every release order of six derived views: the exporter is asked
     * once and released once, after the last of them.  The second round
     * marks the exporter local: every view of it must be local too, and
     * the counts (plain then) must come out the same. */
    for (int order = 0; order < 2 * 720; order++) {
        bool local = order >= 720;
        test_exporter t;
        texp_bytes(&t, mem, 24, shape, strides, 0);
        if (local)
            mv_object_set_local(&t.base);
        mv_error err;
        mv_view *v[6];
        v[0] = mv_view_new(&t.base, &err);
        assert_non_null(v[0]);
        v[1] = mv_view_new(mv_view_object(v[0]), &err);
        mv_key k = kslice(1, 2, 1, 20, 1, 3);
        v[2] = mv_view_subscript(v[1], &k, 1, &err);
        ptrdiff_t shp[] = {2, 3};
        v[3] = mv_view_cast(v[0], "i", shp, 2, MV_CAST_STRICT, &err);
        v[4] = mv_view_toreadonly(v[3], &err);
        mv_key k2[] = {kidx(1)};
        v[5] = mv_view_subscript(v[4], k2, 1, &err);
        for (int i = 0; i < 6; i++) {
            assert_non_null(v[i]);
            assert_ptr_equal(mv_view_exporter(v[i]), &t.base);
            assert_ptr_equal(mv_view_buffer(v[i], &err)->obj, &t.base);
            assert_int_equal((mv_view_object(v[i])->flags & MV_OBJECT_LOCAL) != 0, local);
        }
        assert_int_equal(t.getbuffer_calls, 1);
        assert_int_equal(mv_object_exports(&t.base), 1);
        /* The managed buffer holds the one extra reference. */
        assert_int_equal(mv_object_refcount(&t.base), 2);
        /* A chained view is not an export of its source. */
        assert_int_equal(mv_object_exports(mv_view_object(v[0])), 0);

        int perm[6] = {0, 1, 2, 3, 4, 5};
        int code = order % 720;
        for (int i = 6; i > 1; i--) {
            int j = code % i;
            code /= i;
            int tmp = perm[i - 1];
            perm[i - 1] = perm[j];
            perm[j] = tmp;
        }
        for (int i = 0; i < 6; i++) {
            assert_int_equal(t.releasebuffer_calls, 0);
            if (order % 2)
                assert_int_equal(mv_view_release(v[perm[i]], &err), 0);
            mv_decref(mv_view_object(v[perm[i]]));
        }
        assert_int_equal(t.releasebuffer_calls, 1);
        texp_finish(&t);
    }
}

static void release_and_exports(void **state)
{
    (void)state;
    unsigned char mem[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    ptrdiff_t shape[1], strides[1];
    test_exporter t;
    texp_bytes(&t, mem, 8, shape, strides, 0);
    mv_error err;
    mv_view *v = mv_view_new(&t.base, &err);
    assert_non_null(v);

    mv_buffer b1, b2;
    assert_int_equal(mv_object_getbuffer(mv_view_object(v), &b1, MV_BUF_FULL_RO, &err), 0);
    assert_ptr_equal(b1.obj, mv_view_object(v));
    assert_ptr_equal(b1.buf, mem);
    assert_string_equal(b1.format, "B");
    assert_int_equal(mv_object_exports(mv_view_object(v)), 1);
    assert_int_equal(mv_view_release(v, &err), MV_EBUFFER);
    assert_string_equal(err.message, "memoryview has 1 exported buffer");
    assert_int_equal(mv_object_getbuffer(mv_view_object(v), &b2, MV_BUF_SIMPLE, &err), 0);
    assert_null(b2.format);
    assert_null(b2.shape);
    assert_int_equal(mv_view_release(v, &err), MV_EBUFFER);
    assert_string_equal(err.message, "memoryview has 2 exported buffers");
    assert_int_equal(mv_view_is_released(v), 0);
    /* Still usable. */
    ptrdiff_t i = 7;
    assert_int_equal(get_u(v, &i, 1), 8);
    mv_buffer_release(&b1);
    assert_int_equal(mv_view_release(v, &err), MV_EBUFFER);
    assert_string_equal(err.message, "memoryview has 1 exported buffer");
    mv_buffer_release(&b2);

    /* A view of v is not an export: v releases, the exporter stays held. */
    mv_view *w = mv_view_new(mv_view_object(v), &err);
    assert_non_null(w);
    assert_int_equal(mv_view_release(v, &err), 0);
    assert_int_equal(mv_view_is_released(v), 1);
    assert_int_equal(mv_view_release(v, &err), 0); /* idempotent */
    assert_int_equal(t.releasebuffer_calls, 0);
    assert_int_equal(get_u(w, &i, 1), 8);
    assert_int_equal(mv_view_release(w, NULL), 0);
    assert_int_equal(t.releasebuffer_calls, 1);
    mv_decref(mv_view_object(w));
    mv_decref(mv_view_object(v));

    /* Requests a view cannot honour. */
    v = mv_view_new(&t.base, &err);
    mv_key k = kslice(0, 0, 0, 0, 1, 2);
    mv_view *s = mv_view_subscript(v, &k, 1, &err);
    assert_int_equal(mv_object_getbuffer(mv_view_object(s), &b1, MV_BUF_C_CONTIGUOUS, &err),
                     MV_EBUFFER);
    assert_string_equal(err.message, "memoryview: underlying buffer is not C-contiguous");
    assert_int_equal(mv_object_exports(mv_view_object(s)), 0);
    mv_view *ro = mv_view_toreadonly(v, &err);
    assert_int_equal(mv_object_getbuffer(mv_view_object(ro), &b1, MV_BUF_WRITABLE, &err),
                     MV_EBUFFER);
    assert_string_equal(err.message, "memoryview: underlying buffer is not writable");
    assert_int_equal(mv_object_getbuffer(mv_view_object(v), &b1, MV_BUF_CONTIG, &err), 0);
    assert_int_equal(b1.readonly, 0);
    mv_buffer_release(&b1);
    mv_decref(mv_view_object(ro));
    mv_decref(mv_view_object(s));
    mv_decref(mv_view_object(v));
    texp_finish(&t);
}

/* Every view function on a released view: an error, never a crash. */
static void use_after_release(void **state)
{
    (void)state;
    unsigned char mem[8] = {0};
    mv_error err;
    mv_view *v = mv_view_from_memory(mem, 8, MV_BUF_WRITE, &err);
    assert_non_null(v);
    /* The parsed format is lent for the view's lifetime, release or not. */
    const mv_format *fmt = mv_view_format(v, &err);
    assert_non_null(fmt);
    assert_int_equal(mv_view_release(v, &err), 0);
    assert_int_equal(fmt->itemsize, 1);
    assert_int_equal(fmt->native, 'B');

#define EXPECT_RELEASED(call)                                                                      \
    do {                                                                                           \
        mv_error_clear(&err);                                                                      \
        call;                                                                                      \
        assert_int_equal(err.code, MV_EVALUE);                                                     \
        assert_string_equal(err.message, MSG_RELEASED);                                            \
    } while (0)

    EXPECT_RELEASED(assert_null(mv_view_buffer(v, &err)));
    EXPECT_RELEASED(assert_null(mv_view_format(v, &err)));
    EXPECT_RELEASED(assert_int_equal(mv_view_is_contiguous(v, 'C', &err), MV_EVALUE));
    EXPECT_RELEASED(assert_null(mv_view_toreadonly(v, &err)));
    ptrdiff_t i = 0;
    mv_value val = {.kind = MV_VALUE_UNSIGNED, .v.u = 1};
    EXPECT_RELEASED(assert_int_equal(mv_view_get_item(v, &i, 1, &val, 1, &err), MV_EVALUE));
    EXPECT_RELEASED(assert_int_equal(mv_view_set_item(v, &i, 1, &val, 1, &err), MV_EVALUE));
    mv_key k = kidx(0);
    EXPECT_RELEASED(assert_null(mv_view_subscript(v, &k, 1, &err)));
    mv_buffer src = {.buf = mem, .len = 8, .itemsize = 1, .ndim = 1, .format = "B"};
    EXPECT_RELEASED(assert_int_equal(mv_view_assign(v, NULL, 0, &src, &err), MV_EVALUE));
    EXPECT_RELEASED(assert_null(mv_view_cast(v, "B", NULL, -1, 0, &err)));
    EXPECT_RELEASED(assert_null(mv_view_new(mv_view_object(v), &err)));
    mv_buffer b;
    EXPECT_RELEASED(assert_int_equal(
        mv_object_getbuffer(mv_view_object(v), &b, MV_BUF_FULL_RO, &err), MV_EVALUE));
    assert_null(mv_view_exporter(v));
    assert_int_equal(mv_view_is_released(v), 1);
    assert_int_equal(mv_view_release(v, &err), 0);
    assert_ptr_equal(mv_view_from_object(mv_view_object(v)), v);
#undef EXPECT_RELEASED
    mv_decref(mv_view_object(v));
    assert_int_equal(mem[0], 0);
}

static void null_arguments(void **state)
{
    (void)state;
    mv_error err;
    assert_null(mv_view_new(NULL, &err));
    assert_int_equal(err.code, MV_ETYPE);
    assert_null(mv_view_object(NULL));
    assert_null(mv_view_from_object(NULL));
    assert_null(mv_view_buffer(NULL, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_null(mv_view_exporter(NULL));
    assert_null(mv_view_format(NULL, &err));
    assert_int_equal(mv_view_is_contiguous(NULL, 'C', &err), MV_EVALUE);
    assert_int_equal(mv_view_is_released(NULL), 1);
    assert_int_equal(mv_view_release(NULL, &err), MV_EVALUE);
    assert_null(mv_view_toreadonly(NULL, &err));
    assert_int_equal(mv_view_get_item(NULL, NULL, 0, NULL, 0, &err), MV_EVALUE);
    assert_int_equal(mv_view_set_item(NULL, NULL, 0, NULL, 0, &err), MV_EVALUE);
    assert_int_equal(mv_view_assign(NULL, NULL, 0, NULL, &err), MV_EVALUE);
    assert_null(mv_view_cast(NULL, "B", NULL, -1, 0, &err));
    assert_null(mv_view_subscript(NULL, NULL, 0, NULL));

    unsigned char mem[4] = {1, 2, 3, 4};
    mv_view *v = mv_view_from_memory(mem, 4, MV_BUF_WRITE, &err);
    assert_int_equal(mv_view_assign(v, NULL, 0, NULL, &err), MV_EVALUE);
    assert_null(mv_view_cast(v, NULL, NULL, -1, 0, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_null(mv_view_cast(v, "B", NULL, 2, 0, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_null(mv_view_cast(v, "B", NULL, -1, 4, &err));
    assert_int_equal(err.code, MV_EVALUE);
    ptrdiff_t i = 0;
    assert_int_equal(mv_view_get_item(v, NULL, 1, NULL, 0, &err), MV_EVALUE);
    assert_int_equal(mv_view_get_item(v, &i, -1, NULL, 0, &err), MV_EVALUE);
    assert_int_equal(mv_view_get_item(v, &i, 1, NULL, 1, &err), MV_EVALUE);
    assert_int_equal(mv_view_set_item(v, &i, 1, NULL, 1, &err), MV_EVALUE);
    assert_int_equal(mv_view_is_contiguous(v, 'X', &err), MV_EVALUE);
    assert_string_equal(err.message, "order must be 'C', 'F' or 'A'");
    /* Not a view. */
    test_exporter t;
    ptrdiff_t shape[1], strides[1];
    texp_bytes(&t, mem, 4, shape, strides, 1);
    assert_null(mv_view_from_object(&t.base));
    assert_ptr_equal(mv_view_from_object(mv_view_object(v)), v);
    assert_string_equal(mv_object_type_name(mv_view_object(v)), "memoryview");
    mv_decref(mv_view_object(v));
    texp_finish(&t);
}

static void from_memory(void **state)
{
    (void)state;
    unsigned char mem[5] = {9, 8, 7, 6, 5};
    mv_error err;
    mv_view *w = mv_view_from_memory(mem, 5, MV_BUF_WRITE, &err);
    assert_non_null(w);
    const mv_buffer *b = mv_view_buffer(w, &err);
    assert_ptr_equal(b->buf, mem);
    assert_null(b->obj);
    assert_null(mv_view_exporter(w));
    assert_int_equal(b->len, 5);
    assert_int_equal(b->ndim, 1);
    assert_int_equal(b->shape[0], 5);
    assert_int_equal(b->strides[0], 1);
    assert_int_equal(b->readonly, 0);
    assert_string_equal(b->format, "B");
    ptrdiff_t i = -1;
    mv_value val = {.kind = MV_VALUE_UNSIGNED, .v.u = 42};
    assert_int_equal(mv_view_set_item(w, &i, 1, &val, 1, &err), 0);
    assert_int_equal(mem[4], 42);
    mv_decref(mv_view_object(w));

    mv_view *r = mv_view_from_memory(mem, 5, MV_BUF_READ, &err);
    assert_int_equal(mv_view_buffer(r, &err)->readonly, 1);
    assert_int_equal(mv_view_set_item(r, &i, 1, &val, 1, &err), MV_ETYPE);
    assert_string_equal(err.message, MSG_READONLY);
    mv_decref(mv_view_object(r));

    mv_view *e = mv_view_from_memory(NULL, 0, MV_BUF_READ, &err);
    assert_non_null(e);
    assert_int_equal(mv_view_buffer(e, &err)->shape[0], 0);
    mv_decref(mv_view_object(e));

    assert_null(mv_view_from_memory(NULL, 1, MV_BUF_READ, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_null(mv_view_from_memory(mem, -1, MV_BUF_READ, &err));
    assert_int_equal(err.code, MV_EVALUE);
    int bad[] = {0, MV_BUF_READ | MV_BUF_WRITE, MV_BUF_FULL_RO, MV_BUF_WRITABLE, -1};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        assert_null(mv_view_from_memory(mem, 5, bad[k], &err));
        assert_int_equal(err.code, MV_EVALUE);
    }
}

static void readonly_views(void **state)
{
    (void)state;
    grid g;
    grid_init(&g, 1);
    mv_error err;
    ptrdiff_t idx[] = {0, 0};
    mv_value val = {.kind = MV_VALUE_UNSIGNED, .v.u = 99};
    assert_int_equal(mv_view_set_item(g.v, idx, 2, &val, 1, &err), MV_ETYPE);
    assert_string_equal(err.message, MSG_READONLY);
    /* Read-only is checked before anything else about the item. */
    assert_int_equal(mv_view_set_item(g.v, idx, 5, &val, 1, &err), MV_ETYPE);
    assert_string_equal(err.message, MSG_READONLY);
    mv_buffer src = {.buf = g.mem, .len = 12, .itemsize = 1, .ndim = 2, .format = "B",
                     .shape = g.shape, .strides = g.strides};
    assert_int_equal(mv_view_assign(g.v, NULL, 0, &src, &err), MV_ETYPE);
    assert_string_equal(err.message, MSG_READONLY);
    mv_key k = kidx(1);
    mv_view *row = mv_view_subscript(g.v, &k, 1, &err);
    assert_int_equal(mv_view_buffer(row, &err)->readonly, 1);
    assert_int_equal(mv_view_set_item(row, idx, 1, &val, 1, &err), MV_ETYPE);
    mv_view *c = mv_view_cast(g.v, "B", NULL, -1, 0, &err);
    assert_int_equal(mv_view_buffer(c, &err)->readonly, 1);
    mv_decref(mv_view_object(c));
    mv_decref(mv_view_object(row));
    for (int i = 0; i < 12; i++)
        assert_int_equal(g.mem[i], 10 * (i / 4) + i % 4);
    grid_finish(&g);

    /* toreadonly of a writable view: the source stays writable. */
    grid_init(&g, 0);
    mv_view *ro = mv_view_toreadonly(g.v, &err);
    assert_non_null(ro);
    assert_int_equal(mv_view_buffer(ro, &err)->readonly, 1);
    assert_int_equal(mv_view_buffer(g.v, &err)->readonly, 0);
    assert_int_equal(mv_view_set_item(ro, idx, 2, &val, 1, &err), MV_ETYPE);
    assert_int_equal(mv_view_set_item(g.v, idx, 2, &val, 1, &err), 0);
    assert_int_equal(get_u(ro, idx, 2), 99);
    assert_int_equal(g.t.getbuffer_calls, 1);
    mv_decref(mv_view_object(ro));
    grid_finish(&g);
}

/* ------------------------------------------------------------------------ */
/* Exporters with odd or hostile descriptors                                 */
/* ------------------------------------------------------------------------ */

static void exporter_descriptors(void **state)
{
    (void)state;
    unsigned char mem[64] = {0};
    mv_error err;
    test_exporter t;

    /* NULL format, shape and strides: 1-D 'B' of len bytes. */
    texp_init(&t, mem, 1, NULL, 1, NULL, NULL, NULL, 0);
    t.layout.len = 10;
    mv_view *v = mv_view_new(&t.base, &err);
    assert_non_null(v);
    const mv_buffer *b = mv_view_buffer(v, &err);
    assert_string_equal(b->format, "B");
    assert_int_equal(b->shape[0], 10);
    assert_int_equal(b->strides[0], 1);
    assert_int_equal(mv_view_is_contiguous(v, 'C', &err), 1);
    mv_decref(mv_view_object(v));
    texp_finish(&t);

    /* NULL strides on N-D: C strides; NULL shape on 1-D: len / itemsize. */
    ptrdiff_t shape3[] = {2, 3, 4};
    texp_init(&t, mem, 2, "h", 3, shape3, NULL, NULL, 0);
    v = mv_view_new(&t.base, &err);
    assert_non_null(v);
    b = mv_view_buffer(v, &err);
    assert_int_equal(b->strides[0], 24);
    assert_int_equal(b->strides[1], 8);
    assert_int_equal(b->strides[2], 2);
    assert_int_equal(mv_view_is_contiguous(v, 'C', &err), 1);
    assert_int_equal(mv_view_is_contiguous(v, 'F', &err), 0);
    mv_decref(mv_view_object(v));
    texp_finish(&t);
    texp_init(&t, mem, 4, "i", 1, NULL, NULL, NULL, 0);
    t.layout.len = 32;
    v = mv_view_new(&t.base, &err);
    assert_int_equal(mv_view_buffer(v, &err)->shape[0], 8);
    mv_decref(mv_view_object(v));
    texp_finish(&t);

    /* 0-dim. */
    texp_init(&t, mem, 8, "d", 0, NULL, NULL, NULL, 0);
    v = mv_view_new(&t.base, &err);
    assert_non_null(v);
    b = mv_view_buffer(v, &err);
    assert_int_equal(b->ndim, 0);
    assert_int_equal(b->len, 8);
    assert_int_equal(mv_view_is_contiguous(v, 'C', &err), 1);
    assert_int_equal(mv_view_is_contiguous(v, 'F', &err), 1);
    mv_value val;
    assert_int_equal(mv_view_get_item(v, NULL, 0, &val, 1, &err), 0);
    assert_int_equal(val.kind, MV_VALUE_DOUBLE);
    ptrdiff_t zero = 0;
    assert_int_equal(mv_view_get_item(v, &zero, 1, &val, 1, &err), MV_ETYPE);
    assert_string_equal(err.message, "cannot index 0-dimension view with 1-element tuple");
    mv_decref(mv_view_object(v));
    texp_finish(&t);

    /* 64 dimensions are fine, 65 are not. */
    ptrdiff_t ones[MV_MAX_NDIM + 1], st[MV_MAX_NDIM + 1];
    for (int i = 0; i <= MV_MAX_NDIM; i++) {
        ones[i] = 1;
        st[i] = 1;
    }
    texp_init(&t, mem, 1, "B", MV_MAX_NDIM, ones, st, NULL, 0);
    v = mv_view_new(&t.base, &err);
    assert_non_null(v);
    assert_int_equal(mv_view_buffer(v, &err)->ndim, 64);
    mv_decref(mv_view_object(v));
    texp_finish(&t);
    texp_init(&t, mem, 1, "B", MV_MAX_NDIM + 1, ones, st, NULL, 0);
    assert_null(mv_view_new(&t.base, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_string_equal(err.message, MSG_NDIM);
    assert_int_equal(t.releasebuffer_calls, 1);
    texp_finish(&t);

    /* Zeros in shape. */
    ptrdiff_t zshape[] = {3, 0, 2}, zstrides[] = {8, 8, 4};
    texp_init(&t, mem, 4, "i", 3, zshape, zstrides, NULL, 0);
    v = mv_view_new(&t.base, &err);
    assert_non_null(v);
    assert_int_equal(mv_view_buffer(v, &err)->len, 0);
    ptrdiff_t idx[] = {0, 0, 0};
    assert_int_equal(mv_view_get_item(v, idx, 3, &val, 1, &err), MV_EINDEX);
    assert_string_equal(err.message, "index out of bounds on dimension 2");
    mv_key k[] = {kidx(2), kslice(0, 0, 0, 0, 1, -1)};
    mv_view *s = mv_view_subscript(v, k, 2, &err);
    assert_non_null(s);
    assert_int_equal(mv_view_buffer(s, &err)->shape[0], 0);
    assert_int_equal(mv_view_buffer(s, &err)->shape[1], 2);
    mv_decref(mv_view_object(s));
    mv_decref(mv_view_object(v));
    texp_finish(&t);
    /* An empty exporter may have a NULL buf. */
    texp_init(&t, NULL, 4, "i", 3, zshape, zstrides, NULL, 0);
    v = mv_view_new(&t.base, &err);
    assert_non_null(v);
    s = mv_view_subscript(v, k, 2, &err);
    assert_non_null(s);
    mv_decref(mv_view_object(s));
    mv_decref(mv_view_object(v));
    texp_finish(&t);

    /* Inconsistent descriptors are refused (and released). */
    struct {
        int ndim;
        ptrdiff_t shape[2], strides[2], itemsize, len;
        const char *format;
        bool nullbuf;
    } bad[] = {
        {2, {PTRDIFF_MAX / 2, 4}, {32, 8}, 8, 0, "d", false}, /* product overflows */
        {2, {3, 3}, {PTRDIFF_MAX / 2, 8}, 8, 72, "d", false}, /* extent overflows */
        {1, {-1, 0}, {1, 0}, 1, 0, "B", false},                /* negative extent */
        {1, {4, 0}, {1, 0}, 1, 5, "B", false},                 /* len mismatch */
        {1, {4, 0}, {2, 0}, 2, 8, "i", false},                 /* itemsize vs format */
        {1, {4, 0}, {1, 0}, 1, 4, "B", true},                  /* NULL buf */
        {1, {4, 0}, {1, 0}, -1, -4, "B", false},               /* negative itemsize */
        {-1, {4, 0}, {1, 0}, 1, 4, "B", false},                /* negative ndim */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        texp_init(&t, bad[i].nullbuf ? NULL : mem, bad[i].itemsize, bad[i].format, bad[i].ndim,
                  bad[i].shape, bad[i].strides, NULL, 0);
        t.layout.len = bad[i].len;
        mv_error_clear(&err);
        mv_view *nv = mv_view_new(&t.base, &err);
        if (nv)
            fail_msg("bad descriptor %zu accepted", i);
        assert_true(err.code == MV_EVALUE || err.code == MV_EOVERFLOW);
        assert_int_equal(t.getbuffer_calls, 1);
        texp_finish(&t);
    }
    /* N-D without a shape. */
    texp_init(&t, mem, 1, "B", 2, NULL, NULL, NULL, 0);
    t.layout.len = 4;
    assert_null(mv_view_new(&t.base, &err));
    assert_int_equal(err.code, MV_EVALUE);
    texp_finish(&t);

    /* The exporter's own errors come through untouched. */
    ptrdiff_t shape1[1], strides1[1];
    texp_bytes(&t, mem, 4, shape1, strides1, 0);
    t.fail = MV_EBUFFER;
    assert_null(mv_view_new(&t.base, &err));
    assert_int_equal(err.code, MV_EBUFFER);
    assert_string_equal(err.message, "test exporter refuses");
    t.fail = 0;
    texp_finish(&t);
    /* An object that is no exporter. */
    static const mv_type plain = {.name = "plain"};
    mv_object o;
    mv_object_init(&o, &plain);
    assert_null(mv_view_new(&o, &err));
    assert_int_equal(err.code, MV_ETYPE);
}

/* A format that does not parse still makes a view; values need it. */
static void unparseable_format(void **state)
{
    (void)state;
    unsigned char mem[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    ptrdiff_t shape[] = {2}, strides[] = {4};
    test_exporter t;
    texp_init(&t, mem, 4, "T{>q:x:}!!", 1, shape, strides, NULL, 0);
    mv_error err;
    mv_view *v = mv_view_new(&t.base, &err);
    assert_non_null(v);
    assert_string_equal(mv_view_buffer(v, &err)->format, "T{>q:x:}!!");
    mv_error perr;
    mv_format fmt;
    assert_int_equal(mv_format_parse(&fmt, "T{>q:x:}!!", &perr), MV_EVALUE);
    assert_null(mv_view_format(v, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_string_equal(err.message, perr.message);
    ptrdiff_t i = 0;
    mv_value val = {.kind = MV_VALUE_UNSIGNED};
    assert_int_equal(mv_view_get_item(v, &i, 1, &val, 1, &err), MV_EVALUE);
    assert_string_equal(err.message, perr.message);
    assert_int_equal(mv_view_set_item(v, &i, 1, &val, 1, &err), MV_EVALUE);
    /* Layout operations do not need the format. */
    mv_key k = kslice(0, 0, 0, 0, 1, -1);
    mv_view *r = mv_view_subscript(v, &k, 1, &err);
    assert_non_null(r);
    assert_int_equal(mv_view_is_contiguous(r, 'C', &err), 0);
    /* A strict cast to bytes takes any source format (bpo-15944), not to
     * another non-byte format. */
    mv_view *c = mv_view_cast(v, "B", NULL, -1, MV_CAST_STRICT, &err);
    assert_non_null(c);
    assert_int_equal(mv_view_buffer(c, &err)->shape[0], 8);
    assert_int_equal(get_u(c, &(ptrdiff_t){5}, 1), 6);
    mv_decref(mv_view_object(c));
    assert_null(mv_view_cast(v, "i", NULL, -1, MV_CAST_STRICT, &err));
    assert_string_equal(err.message, "memoryview: cannot cast between two non-byte formats");
    /* Assignment compares formats as text. */
    mv_buffer src = {.buf = mem + 4, .len = 4, .itemsize = 4, .ndim = 1, .format = "T{>q:x:}!!",
                     .shape = (ptrdiff_t[]){1}, .strides = (ptrdiff_t[]){4}};
    mv_key k0 = kslice(1, 0, 1, 1, 0, 0);
    assert_int_equal(mv_view_assign(v, &k0, 1, &src, &err), 0);
    assert_int_equal(mem[0], 5);
    assert_int_equal(mem[3], 8);
    mv_decref(mv_view_object(r));
    mv_decref(mv_view_object(v));
    texp_finish(&t);
}

/* ------------------------------------------------------------------------ */
/* Casts                                                                     */
/* ------------------------------------------------------------------------ */

static void expect_cast_error(mv_view *v, const char *format, const ptrdiff_t *shape, int ndim,
                              int flags, int code, const char *message)
{
    mv_error err;
    mv_error_clear(&err);
    mv_view *c = mv_view_cast(v, format, shape, ndim, flags, &err);
    if (c)
        fail_msg("cast to '%s' succeeded, expected: %s", format, message);
    assert_int_equal(err.code, code);
    if (message)
        assert_string_equal(err.message, message);
}

static void cast_strict_errors(void **state)
{
    (void)state;
    unsigned char mem[24] = {0};
    mv_error err;
    mv_view *v = mv_view_from_memory(mem, 24, MV_BUF_WRITE, &err);
    const int S = MV_CAST_STRICT;

    mv_key k = kslice(0, 0, 0, 0, 1, 2);
    mv_view *odd = mv_view_subscript(v, &k, 1, &err);
    expect_cast_error(odd, "B", NULL, -1, S, MV_ETYPE,
                      "memoryview: casts are restricted to C-contiguous views");
    expect_cast_error(odd, "B", NULL, -1, 0, MV_ETYPE, NULL);
    mv_decref(mv_view_object(odd));

    ptrdiff_t s23[] = {2, 3};
    mv_view *v2 = mv_view_cast(v, "i", s23, 2, S, &err);
    assert_non_null(v2);
    expect_cast_error(v2, "B", s23, 2, S, MV_ETYPE,
                      "memoryview: cast must be 1D -> ND or ND -> 1D");
    ptrdiff_t ones[65];
    for (int i = 0; i < 65; i++)
        ones[i] = 1;
    ones[0] = 24;
    expect_cast_error(v, "B", ones, 65, S, MV_EVALUE, MSG_NDIM);
    expect_cast_error(v, "B", ones, 65, 0, MV_EVALUE, MSG_NDIM);
    mv_view *c64 = mv_view_cast(v, "B", ones, 64, S, &err);
    assert_non_null(c64);
    assert_int_equal(mv_view_buffer(c64, &err)->ndim, 64);
    mv_decref(mv_view_object(c64));

    const char *not_native[] = {"<i", ">i", "=B", "!H", "ii", "2B", "x", "3s", "p", "T{B}", "",
                                "q!", "@", "@@B", "Bx"};
    for (size_t i = 0; i < sizeof not_native / sizeof not_native[0]; i++)
        expect_cast_error(v, not_native[i], NULL, -1, S, MV_EVALUE,
                          "memoryview: destination format must be a native single character "
                          "format prefixed with an optional '@'");
    expect_cast_error(v2, "f", NULL, -1, S, MV_ETYPE,
                      "memoryview: cannot cast between two non-byte formats");
    expect_cast_error(v2, "@q", NULL, -1, S, MV_ETYPE,
                      "memoryview: cannot cast between two non-byte formats");
    mv_view *v5 = mv_view_from_memory(mem, 6, MV_BUF_READ, &err);
    expect_cast_error(v5, "i", NULL, -1, S, MV_ETYPE,
                      "memoryview: length is not a multiple of itemsize");
    expect_cast_error(v5, "i", NULL, -1, 0, MV_ETYPE,
                      "memoryview: length is not a multiple of itemsize");
    ptrdiff_t bad0[] = {2, 0, 3}, badneg[] = {-1, -24};
    expect_cast_error(v, "B", bad0, 3, S, MV_EVALUE,
                      "memoryview.cast(): elements of shape must be integers > 0");
    expect_cast_error(v, "B", badneg, 2, 0, MV_EVALUE,
                      "memoryview.cast(): elements of shape must be integers > 0");
    ptrdiff_t huge[] = {PTRDIFF_MAX, 2}, huge2[] = {PTRDIFF_MAX / 2, 3};
    expect_cast_error(v, "B", huge, 2, S, MV_EVALUE,
                      "memoryview.cast(): product(shape) > SSIZE_MAX");
    expect_cast_error(v, "i", huge2, 2, 0, MV_EVALUE,
                      "memoryview.cast(): product(shape) > SSIZE_MAX");
    ptrdiff_t s2[] = {2}, s7[] = {7};
    expect_cast_error(v, "i", s2, 1, S, MV_ETYPE,
                      "memoryview: product(shape) * itemsize != buffer size");
    expect_cast_error(v, "i", s7, 1, 0, MV_ETYPE,
                      "memoryview: product(shape) * itemsize != buffer size");
    /* 0-dim: exactly one item. */
    expect_cast_error(v, "i", NULL, 0, S, MV_ETYPE,
                      "memoryview: product(shape) * itemsize != buffer size");
    mv_view *four = mv_view_from_memory(mem, 4, MV_BUF_WRITE, &err);
    mv_view *scalar = mv_view_cast(four, "i", NULL, 0, S, &err);
    assert_non_null(scalar);
    assert_int_equal(mv_view_buffer(scalar, &err)->ndim, 0);
    assert_int_equal(mv_view_buffer(scalar, &err)->len, 4);
    /* ...and back: 0-dim is C-contiguous, ndim != 1 so no zeros allowed. */
    mv_view *back = mv_view_cast(scalar, "B", NULL, -1, S, &err);
    assert_non_null(back);
    assert_int_equal(mv_view_buffer(back, &err)->shape[0], 4);
    mv_decref(mv_view_object(back));
    mv_decref(mv_view_object(scalar));
    mv_decref(mv_view_object(four));

    /* Zeros: 1-D without a shape is fine, anything else is not. */
    mv_view *e = mv_view_from_memory(mem, 0, MV_BUF_WRITE, &err);
    mv_view *ec = mv_view_cast(e, "i", NULL, -1, S, &err);
    assert_non_null(ec);
    assert_int_equal(mv_view_buffer(ec, &err)->shape[0], 0);
    mv_decref(mv_view_object(ec));
    ptrdiff_t one[] = {1};
    expect_cast_error(e, "B", one, 1, S, MV_ETYPE,
                      "memoryview: cannot cast view with zeros in shape or strides");
    mv_key ke[] = {KNEW, kslice(0, 0, 0, 0, 0, 0)};
    mv_view *e2 = mv_view_subscript(e, ke, 2, &err);
    expect_cast_error(e2, "B", NULL, -1, S, MV_ETYPE,
                      "memoryview: cannot cast view with zeros in shape or strides");
    /* Non-strict casts allow it; the result is empty. */
    ec = mv_view_cast(e2, "d", NULL, -1, 0, &err);
    assert_non_null(ec);
    assert_int_equal(mv_view_buffer(ec, &err)->shape[0], 0);
    mv_decref(mv_view_object(ec));
    mv_decref(mv_view_object(e2));
    mv_decref(mv_view_object(e));

    /* Non-strict: the parser's message for a bad format, and formats with
     * no bytes. */
    mv_error perr;
    mv_format fmt;
    assert_int_equal(mv_format_parse(&fmt, "q!", &perr), MV_EVALUE);
    expect_cast_error(v, "q!", NULL, -1, 0, MV_EVALUE, perr.message);
    expect_cast_error(v, "0B", NULL, -1, 0, MV_EVALUE, NULL);

    mv_decref(mv_view_object(v5));
    mv_decref(mv_view_object(v2));
    mv_decref(mv_view_object(v));
}

static void cast_round_trips(void **state)
{
    (void)state;
    int32_t ints[6] = {10, -20, 30, -40, 50, -60};
    unsigned char mem[24];
    memcpy(mem, ints, sizeof ints);
    mv_error err;
    ptrdiff_t shape[1], strides[1];
    test_exporter t;
    texp_bytes(&t, mem, 24, shape, strides, 0);
    mv_view *v = mv_view_new(&t.base, &err);

    ptrdiff_t s23[] = {2, 3};
    mv_view *c = mv_view_cast(v, "@i", s23, 2, MV_CAST_STRICT, &err);
    assert_non_null(c);
    const mv_buffer *b = mv_view_buffer(c, &err);
    assert_string_equal(b->format, "@i"); /* the '@' is kept */
    assert_int_equal(b->itemsize, 4);
    assert_int_equal(b->ndim, 2);
    assert_int_equal(b->strides[0], 12);
    assert_int_equal(b->strides[1], 4);
    assert_null(b->suboffsets);
    assert_ptr_equal(b->obj, &t.base);
    assert_int_equal(b->len, 24);
    assert_int_equal(mv_view_is_contiguous(c, 'C', &err), 1);
    assert_int_equal(mv_view_is_contiguous(c, 'F', &err), 0);
    for (ptrdiff_t i = 0; i < 2; i++)
        for (ptrdiff_t j = 0; j < 3; j++) {
            ptrdiff_t idx[] = {i, j};
            mv_value val;
            assert_int_equal(mv_view_get_item(c, idx, 2, &val, 1, &err), 0);
            assert_int_equal(val.kind, MV_VALUE_SIGNED);
            assert_int_equal(val.v.i, ints[i * 3 + j]);
        }
    /* A row of the cast keeps its parsed format (same holder). */
    mv_key k = kidx(1);
    mv_view *row = mv_view_subscript(c, &k, 1, &err);
    assert_ptr_equal(mv_view_format(row, &err), mv_view_format(c, &err));
    assert_string_equal(mv_view_buffer(row, &err)->format, "@i");
    mv_decref(mv_view_object(row));

    /* ND -> 1D -> bytes -> ND again. */
    mv_view *flat = mv_view_cast(c, "B", NULL, -1, MV_CAST_STRICT, &err);
    assert_non_null(flat);
    b = mv_view_buffer(flat, &err);
    assert_int_equal(b->shape[0], 24);
    assert_int_equal(b->strides[0], 1);
    for (ptrdiff_t i = 0; i < 24; i++)
        assert_int_equal(get_u(flat, &i, 1), mem[i]);
    ptrdiff_t s322[] = {3, 2, 2};
    mv_view *h = mv_view_cast(flat, "h", s322, 3, MV_CAST_STRICT, &err);
    assert_non_null(h);
    ptrdiff_t idx[] = {2, 1, 1};
    mv_value val;
    assert_int_equal(mv_view_get_item(h, idx, 3, &val, 1, &err), 0);
    int16_t h11;
    memcpy(&h11, mem + 22, 2);
    assert_int_equal(val.v.i, h11);
    /* Writes through a cast land in the exporter's memory. */
    val.v.i = -2;
    assert_int_equal(mv_view_set_item(h, idx, 3, &val, 1, &err), 0);
    memcpy(&h11, mem + 22, 2);
    assert_int_equal(h11, -2);
    assert_int_equal(t.getbuffer_calls, 1);
    mv_decref(mv_view_object(h));
    mv_decref(mv_view_object(flat));
    mv_decref(mv_view_object(c));
    mv_decref(mv_view_object(v));
    texp_finish(&t);

    /* Every 1-D length n -> (n / k, k) -> 1-D round trip. */
    unsigned char big[64];
    for (int i = 0; i < 64; i++)
        big[i] = (unsigned char)(i * 7);
    for (ptrdiff_t n = 1; n <= 64; n++) {
        mv_view *base = mv_view_from_memory(big, n, MV_BUF_READ, &err);
        for (ptrdiff_t kk = 1; kk <= n; kk++) {
            if (n % kk)
                continue;
            ptrdiff_t shp[] = {n / kk, kk};
            mv_view *nd = mv_view_cast(base, "B", shp, 2, MV_CAST_STRICT, &err);
            assert_non_null(nd);
            mv_view *one = mv_view_cast(nd, "c", NULL, -1, MV_CAST_STRICT, &err);
            assert_non_null(one);
            assert_int_equal(mv_view_buffer(one, &err)->shape[0], n);
            ptrdiff_t last = n - 1;
            mv_value cv;
            assert_int_equal(mv_view_get_item(one, &last, 1, &cv, 1, &err), 0);
            assert_int_equal(cv.kind, MV_VALUE_BYTES);
            assert_int_equal(cv.v.bytes.len, 1);
            assert_int_equal(cv.v.bytes.ptr[0], big[n - 1]);
            mv_decref(mv_view_object(one));
            mv_decref(mv_view_object(nd));
        }
        mv_decref(mv_view_object(base));
    }
}

static void cast_fortran_and_nonnative(void **state)
{
    (void)state;
    /* A 2x3 Fortran-ordered int array: item (i, j) at 4 * (i + 2 * j). */
    int32_t data[6] = {0, 10, 1, 11, 2, 12}; /* (0,0) (1,0) (0,1) (1,1) (0,2) (1,2) */
    ptrdiff_t shape[] = {2, 3}, strides[] = {4, 8};
    test_exporter t;
    texp_init(&t, data, 4, "i", 2, shape, strides, NULL, 1);
    mv_error err;
    mv_view *v = mv_view_new(&t.base, &err);
    assert_int_equal(mv_view_is_contiguous(v, 'F', &err), 1);
    assert_int_equal(mv_view_is_contiguous(v, 'C', &err), 0);
    expect_cast_error(v, "B", NULL, -1, MV_CAST_STRICT, MV_ETYPE,
                      "memoryview: casts are restricted to C-contiguous views");
    /* Non-strict: memory order. */
    mv_view *flat = mv_view_cast(v, "i", NULL, -1, 0, &err);
    assert_non_null(flat);
    assert_int_equal(mv_view_buffer(flat, &err)->readonly, 1);
    for (ptrdiff_t i = 0; i < 6; i++) {
        mv_value val;
        assert_int_equal(mv_view_get_item(flat, &i, 1, &val, 1, &err), 0);
        assert_int_equal(val.v.i, data[i]);
    }
    mv_decref(mv_view_object(flat));
    /* N-D -> N-D, laid out C then F. */
    ptrdiff_t s32[] = {3, 2};
    for (int fortran = 0; fortran < 2; fortran++) {
        mv_view *c = mv_view_cast(v, "i", s32, 2, fortran ? MV_CAST_FORTRAN : 0, &err);
        assert_non_null(c);
        assert_int_equal(mv_view_is_contiguous(c, fortran ? 'F' : 'C', &err), 1);
        assert_int_equal(mv_view_is_contiguous(c, fortran ? 'C' : 'F', &err), 0);
        for (ptrdiff_t i = 0; i < 3; i++)
            for (ptrdiff_t j = 0; j < 2; j++) {
                ptrdiff_t idx[] = {i, j};
                mv_value val;
                assert_int_equal(mv_view_get_item(c, idx, 2, &val, 1, &err), 0);
                assert_int_equal(val.v.i, data[fortran ? i + 3 * j : i * 2 + j]);
            }
        mv_decref(mv_view_object(c));
    }
    mv_decref(mv_view_object(v));
    texp_finish(&t);

    /* Non-native byte orders. */
    unsigned char mem[32] = {1, 0, 0, 0, 0, 0, 0, 2};
    v = mv_view_from_memory(mem, 8, MV_BUF_WRITE, &err);
    mv_view *le = mv_view_cast(v, "<i", NULL, -1, 0, &err);
    mv_view *be = mv_view_cast(v, ">i", NULL, -1, 0, &err);
    assert_non_null(le);
    assert_non_null(be);
    ptrdiff_t i0 = 0, i1 = 1;
    mv_value val;
    assert_int_equal(mv_view_get_item(le, &i0, 1, &val, 1, &err), 0);
    assert_int_equal(val.v.i, 1);
    assert_int_equal(mv_view_get_item(le, &i1, 1, &val, 1, &err), 0);
    assert_int_equal(val.v.i, 0x02000000);
    assert_int_equal(mv_view_get_item(be, &i0, 1, &val, 1, &err), 0);
    assert_int_equal(val.v.i, 0x01000000);
    assert_int_equal(mv_view_get_item(be, &i1, 1, &val, 1, &err), 0);
    assert_int_equal(val.v.i, 2);
    /* Between two non-byte formats. */
    mv_view *bh = mv_view_cast(be, ">H", NULL, -1, 0, &err);
    assert_non_null(bh);
    ptrdiff_t i3 = 3;
    assert_int_equal(mv_view_get_item(bh, &i3, 1, &val, 1, &err), 0);
    assert_int_equal(val.kind, MV_VALUE_UNSIGNED);
    assert_int_equal(val.v.u, 2);
    val.v.u = 0x1234;
    assert_int_equal(mv_view_set_item(bh, &i3, 1, &val, 1, &err), 0);
    assert_int_equal(mem[6], 0x12);
    assert_int_equal(mem[7], 0x34);
    mv_decref(mv_view_object(bh));
    mv_decref(mv_view_object(be));
    mv_decref(mv_view_object(le));
    mv_decref(mv_view_object(v));

    /* Complex doubles and records. */
    double parts[4] = {1.5, -2.0, 0.25, 8.0};
    memcpy(mem, parts, sizeof parts);
    v = mv_view_from_memory(mem, 32, MV_BUF_WRITE, &err);
    mv_view *z = mv_view_cast(v, "Zd", NULL, -1, 0, &err);
    assert_non_null(z);
    assert_int_equal(mv_view_buffer(z, &err)->shape[0], 2);
    assert_int_equal(mv_view_get_item(z, &i1, 1, &val, 1, &err), 0);
    assert_int_equal(val.kind, MV_VALUE_COMPLEX);
    assert_true(val.v.c.re == 0.25 && val.v.c.im == 8.0);
    mv_decref(mv_view_object(z));
    expect_cast_error(v, "T{<i:a:<h:b:}", NULL, -1, 0, MV_ETYPE,
                      "memoryview: length is not a multiple of itemsize");
    mv_decref(mv_view_object(v));
    v = mv_view_from_memory(mem, 30, MV_BUF_WRITE, &err);
    mv_view *rec = mv_view_cast(v, "T{<i:a:<h:b:}", NULL, -1, 0, &err);
    assert_non_null(rec);
    assert_int_equal(mv_view_buffer(rec, &err)->itemsize, 6);
    assert_int_equal(mv_view_buffer(rec, &err)->shape[0], 5);
    expect_cast_error(v, "T{<i:a:<h:b:}", NULL, -1, MV_CAST_STRICT, MV_EVALUE, NULL);
    mv_decref(mv_view_object(rec));
    mv_decref(mv_view_object(v));
}

/* ------------------------------------------------------------------------ */
/* Items of every format                                                     */
/* ------------------------------------------------------------------------ */

typedef struct format_case {
    const char *format;
    mv_value value;
    unsigned char bytes[16]; /* expected item bytes, built independently */
    size_t size;
} format_case;

#define BYTES_OF(T, x)                                                                             \
    do {                                                                                           \
        T tmp_ = (x);                                                                              \
        memcpy(fc->bytes, &tmp_, sizeof tmp_);                                                     \
        fc->size = sizeof tmp_;                                                                    \
    } while (0)

static bool same_number(const mv_value *a, const mv_value *b)
{
    switch (a->kind) {
    case MV_VALUE_BOOL:
        return a->v.b == b->v.b;
    case MV_VALUE_SIGNED:
        return a->v.i == b->v.i;
    case MV_VALUE_UNSIGNED:
        return a->v.u == b->v.u;
    case MV_VALUE_DOUBLE:
        return a->v.d == b->v.d;
    case MV_VALUE_COMPLEX:
        return a->v.c.re == b->v.c.re && a->v.c.im == b->v.c.im;
    case MV_VALUE_BYTES:
        return a->v.bytes.len == b->v.bytes.len &&
               memcmp(a->v.bytes.ptr, b->v.bytes.ptr, a->v.bytes.len) == 0;
    default:
        return false;
    }
}

static void items_every_format(void **state)
{
    (void)state;
    format_case cases[40];
    int n = 0;
    format_case *fc;
#define CASE(fmt, kind_, field, x)                                                                 \
    fc = &cases[n++];                                                                              \
    memset(fc, 0, sizeof *fc);                                                                     \
    fc->format = fmt;                                                                              \
    fc->value.kind = kind_;                                                                        \
    fc->value.v.field = x
    CASE("b", MV_VALUE_SIGNED, i, -5);
    BYTES_OF(signed char, -5);
    CASE("B", MV_VALUE_UNSIGNED, u, 200);
    BYTES_OF(unsigned char, 200);
    CASE("?", MV_VALUE_BOOL, b, true);
    BYTES_OF(_Bool, 1);
    CASE("h", MV_VALUE_SIGNED, i, -1234);
    BYTES_OF(short, -1234);
    CASE("H", MV_VALUE_UNSIGNED, u, 54321);
    BYTES_OF(unsigned short, 54321);
    CASE("i", MV_VALUE_SIGNED, i, -123456);
    BYTES_OF(int, -123456);
    CASE("I", MV_VALUE_UNSIGNED, u, 4000000000u);
    BYTES_OF(unsigned int, 4000000000u);
    CASE("l", MV_VALUE_SIGNED, i, LONG_MIN);
    BYTES_OF(long, LONG_MIN);
    CASE("L", MV_VALUE_UNSIGNED, u, ULONG_MAX);
    BYTES_OF(unsigned long, ULONG_MAX);
    CASE("q", MV_VALUE_SIGNED, i, -5000000000LL);
    BYTES_OF(long long, -5000000000LL);
    CASE("Q", MV_VALUE_UNSIGNED, u, 18000000000000000000ULL);
    BYTES_OF(unsigned long long, 18000000000000000000ULL);
    CASE("n", MV_VALUE_SIGNED, i, -77);
    BYTES_OF(ptrdiff_t, -77);
    CASE("N", MV_VALUE_UNSIGNED, u, 77);
    BYTES_OF(size_t, 77);
    CASE("f", MV_VALUE_DOUBLE, d, 1.25);
    BYTES_OF(float, 1.25f);
    CASE("d", MV_VALUE_DOUBLE, d, -2.5);
    BYTES_OF(double, -2.5);
    CASE("P", MV_VALUE_UNSIGNED, u, 0x1234);
    BYTES_OF(uintptr_t, 0x1234);
    CASE("@i", MV_VALUE_SIGNED, i, 7);
    BYTES_OF(int, 7);
    /* Half float 1.5 = 0x3E00. */
    CASE("e", MV_VALUE_DOUBLE, d, 1.5);
    BYTES_OF(uint16_t, 0x3E00);
    CASE("<i", MV_VALUE_SIGNED, i, -2);
    memcpy(fc->bytes, "\xfe\xff\xff\xff", 4);
    fc->size = 4;
    CASE(">i", MV_VALUE_SIGNED, i, 0x01020304);
    memcpy(fc->bytes, "\x01\x02\x03\x04", 4);
    fc->size = 4;
    CASE("!H", MV_VALUE_UNSIGNED, u, 0xABCD);
    memcpy(fc->bytes, "\xab\xcd", 2);
    fc->size = 2;
    CASE("=q", MV_VALUE_SIGNED, i, -1);
    memcpy(fc->bytes, "\xff\xff\xff\xff\xff\xff\xff\xff", 8);
    fc->size = 8;
    CASE(">d", MV_VALUE_DOUBLE, d, 1.0);
    memcpy(fc->bytes, "\x3f\xf0\x00\x00\x00\x00\x00\x00", 8);
    fc->size = 8;
    CASE("c", MV_VALUE_BYTES, bytes.len, 1);
    fc->value.v.bytes.ptr = (const unsigned char *)"A";
    fc->bytes[0] = 'A';
    fc->size = 1;
    CASE("3s", MV_VALUE_BYTES, bytes.len, 3);
    fc->value.v.bytes.ptr = (const unsigned char *)"xyz";
    memcpy(fc->bytes, "xyz", 3);
    fc->size = 3;
#undef CASE
    fc = &cases[n++];
    memset(fc, 0, sizeof *fc);
    fc->format = "Zd";
    fc->value.kind = MV_VALUE_COMPLEX;
    fc->value.v.c.re = 1.5;
    fc->value.v.c.im = -2.0;
    memcpy(fc->bytes, (double[]){1.5, -2.0}, 16);
    fc->size = 16;
    fc = &cases[n++];
    memset(fc, 0, sizeof *fc);
    fc->format = "Zf";
    fc->value.kind = MV_VALUE_COMPLEX;
    fc->value.v.c.re = 0.5;
    fc->value.v.c.im = 4.0;
    memcpy(fc->bytes, (float[]){0.5f, 4.0f}, 8);
    fc->size = 8;
    fc = &cases[n++];
    memset(fc, 0, sizeof *fc);
    fc->format = "4p";
    fc->value.kind = MV_VALUE_BYTES;
    fc->value.v.bytes.ptr = (const unsigned char *)"ab";
    fc->value.v.bytes.len = 2;
    memcpy(fc->bytes, "\x02" "ab\x00", 4);
    fc->size = 4;

    mv_error err;
    for (int c = 0; c < n; c++) {
        fc = &cases[c];
        unsigned char mem[48] = {0};
        mv_view *raw = mv_view_from_memory(mem, (ptrdiff_t)fc->size * 3, MV_BUF_WRITE, &err);
        mv_view *v = mv_view_cast(raw, fc->format, NULL, -1, 0, &err);
        if (!v)
            fail_msg("cast to %s: %s", fc->format, err.message);
        assert_int_equal(mv_view_buffer(v, &err)->itemsize, fc->size);
        ptrdiff_t i = -2; /* item 1 */
        assert_int_equal(mv_view_set_item(v, &i, 1, &fc->value, 1, &err), 0);
        if (memcmp(mem + fc->size, fc->bytes, fc->size) != 0)
            fail_msg("format %s: wrong bytes", fc->format);
        for (size_t k = 0; k < fc->size; k++) {
            assert_int_equal(mem[k], 0);
            assert_int_equal(mem[2 * fc->size + k], 0);
        }
        mv_value got;
        assert_int_equal(mv_view_get_item(v, &i, 1, &got, 1, &err), 0);
        assert_int_equal(got.kind, fc->value.kind);
        assert_true(same_number(&got, &fc->value));
        /* Indices: too few, too many, out of range. */
        ptrdiff_t two[] = {0, 0};
        assert_int_equal(mv_view_get_item(v, two, 2, &got, 1, &err), MV_ETYPE);
        assert_string_equal(err.message, "cannot index 1-dimension view with 2-element tuple");
        assert_int_equal(mv_view_get_item(v, two, 0, &got, 1, &err), MV_ENOTIMPL);
        assert_string_equal(err.message, "sub-views are not implemented");
        ptrdiff_t far[] = {3, -4, PTRDIFF_MIN, PTRDIFF_MAX};
        for (int k = 0; k < 4; k++) {
            assert_int_equal(mv_view_get_item(v, &far[k], 1, &got, 1, &err), MV_EINDEX);
            assert_string_equal(err.message, "index out of bounds on dimension 1");
            assert_int_equal(mv_view_set_item(v, &far[k], 1, &got, 1, &err), MV_EINDEX);
        }
        mv_decref(mv_view_object(v));
        mv_decref(mv_view_object(raw));
    }

    /* Packing errors come from the format module, nothing is written. */
    unsigned char mem[8] = {0};
    mv_view *v = mv_view_from_memory(mem, 8, MV_BUF_WRITE, &err);
    ptrdiff_t i = 0;
    mv_value big = {.kind = MV_VALUE_UNSIGNED, .v.u = 256};
    assert_int_equal(mv_view_set_item(v, &i, 1, &big, 1, &err), MV_EVALUE);
    assert_string_equal(err.message, "memoryview: invalid value for format 'B'");
    mv_value dbl = {.kind = MV_VALUE_DOUBLE, .v.d = 1.0};
    assert_int_equal(mv_view_set_item(v, &i, 1, &dbl, 1, &err), MV_ETYPE);
    assert_string_equal(err.message, "memoryview: invalid type for format 'B'");
    assert_int_equal(mem[0], 0);
    mv_decref(mv_view_object(v));
}

static void items_records(void **state)
{
    (void)state;
    unsigned char mem[18];
    memset(mem, 0xEE, sizeof mem);
    ptrdiff_t shape[] = {3}, strides[] = {6};
    test_exporter t;
    texp_init(&t, mem, 6, "T{<i:a:<h:b:}", 1, shape, strides, NULL, 0);
    mv_error err;
    mv_view *v = mv_view_new(&t.base, &err);
    assert_non_null(v);
    const mv_format *fmt = mv_view_format(v, &err);
    assert_non_null(fmt);
    assert_int_equal(fmt->nvalues, 2);
    mv_value vals[2] = {{.kind = MV_VALUE_SIGNED, .v.i = -7},
                        {.kind = MV_VALUE_SIGNED, .v.i = 300}};
    ptrdiff_t i = 1;
    assert_int_equal(mv_view_set_item(v, &i, 1, vals, 2, &err), 0);
    const unsigned char want[6] = {0xF9, 0xFF, 0xFF, 0xFF, 0x2C, 0x01};
    assert_memory_equal(mem + 6, want, 6);
    assert_int_equal(mem[5], 0xEE);
    assert_int_equal(mem[12], 0xEE);
    mv_value got[2];
    assert_int_equal(mv_view_get_item(v, &i, 1, got, 2, &err), 0);
    assert_int_equal(got[0].v.i, -7);
    assert_int_equal(got[1].v.i, 300);
    /* Too little room for the values. */
    assert_int_equal(mv_view_get_item(v, &i, 1, got, 1, &err), MV_EVALUE);
    /* A reversed sub-view reads the same items. */
    mv_key k = kslice(0, 0, 0, 0, 1, -1);
    mv_view *r = mv_view_subscript(v, &k, 1, &err);
    assert_int_equal(mv_view_get_item(r, &i, 1, got, 2, &err), 0);
    assert_int_equal(got[1].v.i, 300);
    mv_decref(mv_view_object(r));
    mv_decref(mv_view_object(v));
    texp_finish(&t);
}

/* ------------------------------------------------------------------------ */
/* Slice assignment                                                          */
/* ------------------------------------------------------------------------ */

static void assign_by_hand(void **state)
{
    (void)state;
    unsigned char mem[32], model[32];
    for (int i = 0; i < 32; i++)
        mem[i] = (unsigned char)(i + 1);
    memcpy(model, mem, 32);
    mv_error err;
    mv_view *v = mv_view_from_memory(mem, 32, MV_BUF_WRITE, &err);

    /* v[0:28] = v[4:32]: a shifted copy of itself, as memmove. */
    mv_key hi = kslice(1, 4, 0, 0, 0, 0);
    mv_view *src = mv_view_subscript(v, &hi, 1, &err);
    mv_key lo = kslice(0, 0, 1, 28, 0, 0);
    assert_int_equal(mv_view_assign(v, &lo, 1, mv_view_buffer(src, &err), &err), 0);
    memmove(model, model + 4, 28);
    assert_memory_equal(mem, model, 32);
    mv_decref(mv_view_object(src));
    /* v[4:] = v[:28], the other direction. */
    src = mv_view_subscript(v, &lo, 1, &err);
    assert_int_equal(mv_view_assign(v, &hi, 1, mv_view_buffer(src, &err), &err), 0);
    memmove(model + 4, model, 28);
    assert_memory_equal(mem, model, 32);
    mv_decref(mv_view_object(src));
    /* v[:] = v[::-1]: every item moves. */
    mv_key rev = kslice(0, 0, 0, 0, 1, -1);
    src = mv_view_subscript(v, &rev, 1, &err);
    assert_int_equal(mv_view_assign(v, NULL, 0, mv_view_buffer(src, &err), &err), 0);
    for (int i = 0; i < 16; i++) {
        unsigned char tmp = model[i];
        model[i] = model[31 - i];
        model[31 - i] = tmp;
    }
    assert_memory_equal(mem, model, 32);
    mv_decref(mv_view_object(src));

    /* A plain buffer without shape/strides, and a '@' that is ignored. */
    unsigned char ext[4] = {0xA, 0xB, 0xC, 0xD};
    mv_buffer b = {.buf = ext, .len = 4, .itemsize = 1, .ndim = 1, .format = "@B"};
    mv_key k = kslice(1, 10, 1, 14, 0, 0);
    assert_int_equal(mv_view_assign(v, &k, 1, &b, &err), 0);
    memcpy(model + 10, ext, 4);
    assert_memory_equal(mem, model, 32);
    b.format = NULL; /* "B" */
    assert_int_equal(mv_view_assign(v, &k, 1, &b, &err), 0);

    /* An integer key assigns one item from a 0-dim source. */
    mv_key k1 = kidx(-1);
    mv_buffer one = {.buf = ext + 3, .len = 1, .itemsize = 1, .ndim = 0, .format = "B"};
    assert_int_equal(mv_view_assign(v, &k1, 1, &one, &err), 0);
    model[31] = 0xD;
    assert_memory_equal(mem, model, 32);

    /* Structures that differ. */
    ptrdiff_t s3[] = {3}, st1[] = {1}, s22[] = {2, 2}, st21[] = {2, 1};
    mv_buffer bad[] = {
        {.buf = ext, .len = 3, .itemsize = 1, .ndim = 1, .format = "B", .shape = s3,
         .strides = st1},
        {.buf = ext, .len = 4, .itemsize = 1, .ndim = 2, .format = "B", .shape = s22,
         .strides = st21},
        {.buf = ext, .len = 4, .itemsize = 1, .ndim = 1, .format = "b"},
        {.buf = ext, .len = 4, .itemsize = 1, .ndim = 1, .format = "c"},
        {.buf = ext, .len = 4, .itemsize = 2, .ndim = 1, .format = "B"},
        {.buf = ext, .len = 8, .itemsize = 2, .ndim = 1, .format = "B"}, /* 4 items */
        {.buf = ext, .len = 4, .itemsize = 1, .ndim = 1, .format = "@@B"},
        {.buf = ext, .len = 4, .itemsize = 1, .ndim = 70, .format = "B"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(mv_view_assign(v, &k, 1, &bad[i], &err), MV_EVALUE);
        assert_string_equal(err.message, MSG_STRUCTURE);
    }
    /* Same structure but an inconsistent descriptor. */
    ptrdiff_t s4[] = {4}, stbig[] = {PTRDIFF_MAX / 2};
    mv_buffer incons[] = {
        {.buf = NULL, .len = 4, .itemsize = 1, .ndim = 1, .format = "B"},
        {.buf = ext, .len = 5, .itemsize = 1, .ndim = 1, .format = "B", .shape = s4},
        {.buf = ext, .len = 4, .itemsize = 1, .ndim = 1, .format = "B", .shape = s4,
         .strides = stbig},
    };
    for (size_t i = 0; i < sizeof incons / sizeof incons[0]; i++) {
        mv_error_clear(&err);
        assert_true(mv_view_assign(v, &k, 1, &incons[i], &err) < 0);
        assert_true(err.code == MV_EVALUE || err.code == MV_EOVERFLOW);
    }
    assert_memory_equal(mem, model, 32);
    /* Key errors come from the selection. */
    mv_key k0 = kslice(0, 0, 0, 0, 1, 0);
    assert_int_equal(mv_view_assign(v, &k0, 1, &b, &err), MV_EVALUE);
    assert_string_equal(err.message, "slice step cannot be zero");
    mv_decref(mv_view_object(v));

    /* Zero extents: shapes compare up to the first 0 (as CPython). */
    grid g;
    grid_init(&g, 0);
    mv_key ke[] = {kslice(1, 3, 0, 0, 0, 0)};
    ptrdiff_t s05[] = {0, 5}, st05[] = {5, 1};
    mv_buffer empty = {.buf = ext, .len = 0, .itemsize = 1, .ndim = 2, .format = "B",
                       .shape = s05, .strides = st05};
    assert_int_equal(mv_view_assign(g.v, ke, 1, &empty, &err), 0);
    grid_finish(&g);
}

static void assign_random(void **state)
{
    (void)state;
    enum { MEM = 2048 };
    unsigned char *mem = malloc(MEM), *model = malloc(MEM);
    assert_non_null(mem);
    assert_non_null(model);
    int done = 0;
    for (int round = 0; round < 1500; round++) {
        static const ptrdiff_t sizes[4] = {1, 2, 4, 8};
        src_layout L;
        memset(&L, 0, sizeof L);
        L.ndim = (int)rng_between(&gen, 1, 3);
        L.itemsize = sizes[rng_between(&gen, 0, 3)];
        ptrdiff_t n = L.itemsize;
        for (int d = L.ndim - 1; d >= 0; d--) {
            L.shape[d] = rng_between(&gen, 1, 5);
            L.strides[d] = n;
            n *= L.shape[d];
        }
        L.buf = (char *)mem;
        fill_random(mem, MEM);
        memcpy(model, mem, MEM);
        test_exporter t;
        texp_init(&t, mem, L.itemsize, uint_formats[L.itemsize], L.ndim, L.shape, L.strides, NULL,
                  0);
        mv_error err;
        mv_view *v = mv_view_new(&t.base, &err);

        mview m, sel;
        mview_init(&m, &L);
        mv_key keys[8];
        int nkeys;
        random_keys(&m, keys, &nkeys);
        int want = model_apply(&L, &m, keys, nkeys, &sel);

        /* The source: any strided layout of the selection's shape over the
         * same memory (overlaps and zero strides included). */
        ptrdiff_t sshape[MV_MAX_NDIM + 2], sstrides[MV_MAX_NDIM + 2];
        ptrdiff_t count = 1, lo = 0, hi = 0;
        for (int o = 0; o < sel.ndim && want == 0; o++) {
            sshape[o] = sel.dims[o].extent;
            sstrides[o] = rng_between(&gen, -4, 4) * L.itemsize;
            count *= sshape[o];
            ptrdiff_t span = sshape[o] > 0 ? sstrides[o] * (sshape[o] - 1) : 0;
            if (span < 0)
                lo += span;
            else
                hi += span;
        }
        if (want == 0 && hi - lo + L.itemsize > MEM) {
            mv_decref(mv_view_object(v));
            texp_finish(&t);
            continue;
        }
        ptrdiff_t off = want == 0 ? rng_between(&gen, -lo, MEM - L.itemsize - hi) : 0;
        char fmt[4];
        strcpy(fmt, rng_chance(30) ? "@" : "");
        strcat(fmt, uint_formats[L.itemsize]);
        mv_buffer src = {.buf = mem + off, .len = count * L.itemsize, .itemsize = L.itemsize,
                         .ndim = want == 0 ? sel.ndim : 1, .format = fmt, .shape = sshape,
                         .strides = sstrides};
        if (want != 0) {
            sshape[0] = 1;
            sstrides[0] = L.itemsize;
            src.len = L.itemsize;
        }
        int rc = mv_view_assign(v, keys, nkeys, &src, &err);
        if (want != 0) {
            assert_int_equal(rc, want);
        } else {
            assert_int_equal(rc, 0);
            done++;
            /* Model: read every source item, then write each. */
            unsigned char *vals = malloc((size_t)(count * L.itemsize) + 1);
            assert_non_null(vals);
            ptrdiff_t idx[MV_MAX_NDIM + 2] = {0}, sidx[8];
            ptrdiff_t k = 0;
            if (count > 0) {
                do {
                    ptrdiff_t a = off;
                    for (int o = 0; o < sel.ndim; o++)
                        a += idx[o] * sstrides[o];
                    memcpy(vals + k++ * L.itemsize, model + a, (size_t)L.itemsize);
                } while (next_index(sel.ndim, sshape, idx));
                mv_buffer sb = src_buffer(&L);
                k = 0;
                memset(idx, 0, sizeof idx);
                do {
                    model_source_index(&L, &sel, idx, sidx);
                    char *p = naive_ptr(&sb, sidx);
                    memcpy(model + (p - (char *)mem), vals + k++ * L.itemsize, (size_t)L.itemsize);
                } while (next_index(sel.ndim, sshape, idx));
            }
            free(vals);
            assert_memory_equal(mem, model, MEM);
        }
        mv_decref(mv_view_object(v));
        texp_finish(&t);
    }
    assert_true(done > 500);
    free(mem);
    free(model);
}

/* ------------------------------------------------------------------------ */
/* Allocation failures                                                       */
/* ------------------------------------------------------------------------ */

/* Run `call` (an expression yielding a pointer or int `ok` test) with the
 * n-th allocation failing, for n = 0, 1, ... until it succeeds. */
#define SWEEP(result_decl, call, succeeded, cleanup)                                               \
    do {                                                                                           \
        long failures_ = 0;                                                                        \
        for (long n_ = 0;; n_++) {                                                                 \
            mv_error err_;                                                                         \
            mv_error_clear(&err_);                                                                 \
            mv_test_fail_after(n_);                                                                \
            result_decl = call;                                                                    \
            long failed_ = mv_test_failed_allocations();                                           \
            mv_test_fail_after(-1);                                                                \
            if (succeeded) {                                                                       \
                assert_int_equal(failed_, 0);                                                      \
                cleanup;                                                                           \
                break;                                                                             \
            }                                                                                      \
            assert_int_equal(err_.code, MV_ENOMEM);                                                \
            assert_true(failed_ > 0);                                                              \
            failures_++;                                                                           \
            assert_true(n_ < 1000);                                                                \
        }                                                                                          \
        assert_true(failures_ > 0);                                                                \
    } while (0)

static void allocation_failures(void **state)
{
    (void)state;
    unsigned char mem[48];
    for (int i = 0; i < 48; i++)
        mem[i] = (unsigned char)i;
    ptrdiff_t shape[] = {4, 3}, strides[] = {12, 4};
    test_exporter t;
    texp_init(&t, mem, 4, "T{<h:a:<h:b:}", 2, shape, strides, NULL, 0);

    SWEEP(mv_view *v, mv_view_new(&t.base, &err_), v != NULL, mv_decref(mv_view_object(v)));
    assert_int_equal(t.getbuffer_calls, t.releasebuffer_calls);
    assert_int_equal(mv_object_exports(&t.base), 0);

    mv_error err;
    mv_view *v = mv_view_new(&t.base, &err);
    assert_non_null(v);
    int calls = t.getbuffer_calls;
    SWEEP(mv_view *w, mv_view_new(mv_view_object(v), &err_), w != NULL,
          mv_decref(mv_view_object(w)));
    mv_key keys[] = {kslice(0, 0, 0, 0, 1, -1), KNEW, kidx(1)};
    SWEEP(mv_view *s, mv_view_subscript(v, keys, 3, &err_), s != NULL,
          assert_int_equal(mv_view_buffer(s, &err)->ndim, 2);
          mv_decref(mv_view_object(s)));
    SWEEP(mv_view *r, mv_view_toreadonly(v, &err_), r != NULL, mv_decref(mv_view_object(r)));
    SWEEP(mv_view *c, mv_view_cast(v, "B", NULL, -1, MV_CAST_STRICT, &err_), c != NULL,
          mv_decref(mv_view_object(c)));
    ptrdiff_t s6[] = {6, 2};
    SWEEP(mv_view *c, mv_view_cast(v, "T{<i:x:}", s6, 2, MV_CAST_FORTRAN, &err_), c != NULL,
          assert_int_equal(mv_view_buffer(c, &err)->strides[1], 24);
          mv_decref(mv_view_object(c)));
    SWEEP(mv_view *fm, mv_view_from_memory(mem, 48, MV_BUF_WRITE, &err_), fm != NULL,
          mv_decref(mv_view_object(fm)));
    assert_int_equal(t.getbuffer_calls, calls);

    /* Assignment from an overlapping source needs a temporary. */
    unsigned char model[48];
    mv_view *bytes = mv_view_cast(v, "B", NULL, -1, 0, &err);
    mv_key rev = kslice(0, 0, 0, 0, 1, -1);
    mv_view *rsrc = mv_view_subscript(bytes, &rev, 1, &err);
    memcpy(model, mem, 48);
    SWEEP(int rc, mv_view_assign(bytes, NULL, 0, mv_view_buffer(rsrc, &err), &err_), rc == 0,
          (void)0);
    for (int i = 0; i < 48; i++)
        assert_int_equal(mem[i], model[47 - i]);
    mv_decref(mv_view_object(rsrc));
    mv_decref(mv_view_object(bytes));

    mv_decref(mv_view_object(v));
    texp_finish(&t);
}

/* Items of every native integer and float format, read through 1-D views
 * (whole, reversed with a step, negative indices), against the typed C
 * arrays the bytes came from. */
#define NATIVE_CASE(T, CODE, KIND, MEMBER)                                           \
    do {                                                                             \
        T src[37];                                                                   \
        for (int k = 0; k < 37; k++) {                                               \
            uint64_t bits = rng_next(&r);                                            \
            memcpy(&src[k], &bits, sizeof src[k]);                                   \
            if ((CODE)[0] == 'f' || (CODE)[0] == 'd')                                \
                src[k] = (T)((double)(int32_t)bits / 7.0);                           \
        }                                                                            \
        mv_view *v = view_1d(src, CODE, sizeof(T), 37, 1);                           \
        mv_key key = {.kind = MV_KEY_SLICE, .start = 35, .step = -3,                 \
                      .has_start = true, .has_step = true};                          \
        mv_view *rev = mv_view_subscript(v, &key, 1, &err);                         \
        assert_non_null(rev);                                                        \
        for (ptrdiff_t i = -37; i < 37; i++) {                                       \
            mv_value val;                                                            \
            assert_int_equal(mv_view_get_item(v, &i, 1, &val, 1, &err), 0);          \
            assert_int_equal(val.kind, KIND);                                        \
            assert_true(val.v.MEMBER == src[i < 0 ? i + 37 : i]);                    \
            if (i >= -12 && i < 12) {                                                \
                ptrdiff_t j = i < 0 ? i + 12 : i;                                    \
                assert_int_equal(mv_view_get_item(rev, &i, 1, &val, 1, &err), 0);    \
                assert_true(val.v.MEMBER == src[35 - 3 * j]);                        \
            }                                                                        \
        }                                                                            \
        ptrdiff_t out[] = {37, -38, PTRDIFF_MAX, PTRDIFF_MIN};                       \
        for (int k = 0; k < 4; k++) {                                                \
            mv_value val;                                                            \
            expect_error(mv_view_get_item(v, &out[k], 1, &val, 1, &err), &err,       \
                         MV_EINDEX, "index out of bounds on dimension 1");           \
        }                                                                            \
        mv_decref(mv_view_object(rev));                                              \
        mv_decref(mv_view_object(v));                                                \
    } while (0)

static void get_item_native(void **state)
{
    (void)state;
    mv_error err = {0};
    rng r = {0x5eed};
    NATIVE_CASE(unsigned char, "B", MV_VALUE_UNSIGNED, u);
    NATIVE_CASE(signed char, "b", MV_VALUE_SIGNED, i);
    NATIVE_CASE(unsigned short, "H", MV_VALUE_UNSIGNED, u);
    NATIVE_CASE(short, "h", MV_VALUE_SIGNED, i);
    NATIVE_CASE(unsigned int, "@I", MV_VALUE_UNSIGNED, u);
    NATIVE_CASE(int, "i", MV_VALUE_SIGNED, i);
    NATIVE_CASE(unsigned long, "L", MV_VALUE_UNSIGNED, u);
    NATIVE_CASE(long, "l", MV_VALUE_SIGNED, i);
    NATIVE_CASE(unsigned long long, "Q", MV_VALUE_UNSIGNED, u);
    NATIVE_CASE(long long, "q", MV_VALUE_SIGNED, i);
    NATIVE_CASE(size_t, "N", MV_VALUE_UNSIGNED, u);
    NATIVE_CASE(ptrdiff_t, "n", MV_VALUE_SIGNED, i);
    NATIVE_CASE(float, "f", MV_VALUE_DOUBLE, d);
    NATIVE_CASE(double, "d", MV_VALUE_DOUBLE, d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(subscript_random_plain),
        cmocka_unit_test(subscript_random_suboffsets),
        cmocka_unit_test(subscript_by_hand),
        cmocka_unit_test(subscript_errors),
        cmocka_unit_test(subscript_suboffsets_by_hand),
        cmocka_unit_test(managed_buffer_shared),
        cmocka_unit_test(release_and_exports),
        cmocka_unit_test(use_after_release),
        cmocka_unit_test(null_arguments),
        cmocka_unit_test(from_memory),
        cmocka_unit_test(readonly_views),
        cmocka_unit_test(exporter_descriptors),
        cmocka_unit_test(unparseable_format),
        cmocka_unit_test(cast_strict_errors),
        cmocka_unit_test(cast_round_trips),
        cmocka_unit_test(cast_fortran_and_nonnative),
        cmocka_unit_test(items_every_format),
        cmocka_unit_test(items_records),
        cmocka_unit_test(assign_by_hand),
        cmocka_unit_test(assign_random),
        cmocka_unit_test(get_item_native),
        cmocka_unit_test(allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
