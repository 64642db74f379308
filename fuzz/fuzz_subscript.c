/* Fuzz target: subscript text -> keys -> sub-views.
 *
 * The input is subscript text ("[1:3, ::-1, ..., 0, None]").  When it
 * parses, the keys are applied to four 4x5x6 views of different layouts:
 *   0. a 'B' cast of a 120-byte bytearray (C-contiguous);
 *   1. external 'H' memory with negative strides and gaps;
 *   2. PIL-style, dimension 0 indirect (row pointers, suboffset 0);
 *   3. PIL-style, dimension 1 indirect (suboffset 2).
 * A reference model of NumPy basic indexing (written here, independently)
 * predicts the error, or the shape and, for every item of the result, the
 * item of the source it must alias; every address the result reaches
 * (items and the pointers read on the way) must lie inside the memory the
 * harness owns.  The keys are then applied once more to the result.
 *
 * The parser is also checked on its own: keys printed back to text parse to
 * the same keys, and too little room in the key array is refused. */
#include "fuzz_common.h"

#include <inttypes.h>
#include <stdlib.h>

#define MAXKEYS 80
#define D0 4
#define D1 5
#define D2 6

typedef struct base {
    mv_object *exporter;
    mv_view *view;
    fuzz_region regions[3];
    int nregions;
} base;

/* Per-input memory for the layouts. */
typedef struct arena {
    unsigned char data[D0 * D1 * D2 * 4 + 64];     /* items */
    uintptr_t rows0[D0];                            /* layout 2 */
    uintptr_t rows1[D0 * D1];                       /* layout 3 */
} arena;

static bool same_key(const mv_key *a, const mv_key *b)
{
    if (a->kind != b->kind)
        return false;
    if (a->kind == MV_KEY_INDEX)
        return a->index == b->index;
    if (a->kind != MV_KEY_SLICE)
        return true;
    return a->has_start == b->has_start && a->has_stop == b->has_stop &&
           a->has_step == b->has_step && (!a->has_start || a->start == b->start) &&
           (!a->has_stop || a->stop == b->stop) && (!a->has_step || a->step == b->step);
}

static size_t print_keys(char *out, size_t room, const mv_key *keys, int n)
{
    size_t len = 0;
    len += (size_t)snprintf(out + len, room - len, "[");
    for (int i = 0; i < n; i++) {
        const mv_key *k = &keys[i];
        if (i)
            len += (size_t)snprintf(out + len, room - len, ", ");
        switch (k->kind) {
        case MV_KEY_INDEX:
            len += (size_t)snprintf(out + len, room - len, "%td", k->index);
            break;
        case MV_KEY_ELLIPSIS:
            len += (size_t)snprintf(out + len, room - len, i & 1 ? "..." : "Ellipsis");
            break;
        case MV_KEY_NEWAXIS:
            len += (size_t)snprintf(out + len, room - len, i & 1 ? "None" : "newaxis");
            break;
        case MV_KEY_SLICE:
            if (k->has_start)
                len += (size_t)snprintf(out + len, room - len, "%td", k->start);
            len += (size_t)snprintf(out + len, room - len, ":");
            if (k->has_stop)
                len += (size_t)snprintf(out + len, room - len, "%td", k->stop);
            else if (i & 2)
                len += (size_t)snprintf(out + len, room - len, "None");
            if (k->has_step)
                len += (size_t)snprintf(out + len, room - len, ":%td", k->step);
            break;
        }
    }
    len += (size_t)snprintf(out + len, room - len, "]");
    return len;
}

/* ---- the reference model ------------------------------------------------ */

/* 128-bit arithmetic keeps the model free of overflow (clang and gcc). */

typedef struct out_dim {
    int src;           /* source dimension, or -1 for a new axis */
    ptrdiff_t start, step, n;
} out_dim;

typedef struct model {
    int rc;            /* expected error code, or 0 */
    bool global;       /* rc comes from the keys as a whole, not one key */
    int ndim;
    out_dim dims[MV_MAX_NDIM];
    ptrdiff_t fixed[MV_MAX_NDIM]; /* source index of integer-keyed dimensions */
} model;

static void model_apply(model *m, int ndim, const ptrdiff_t *shape, const mv_key *keys, int nkeys)
{
    m->global = true;
    m->ndim = 0;
    mv_key full[MV_MAX_NDIM + MAXKEYS];
    int nfull = 0;
    if ((m->rc = model_expand_keys(ndim, keys, nkeys, full, &nfull)) != 0)
        return;
    m->global = false;
    int d = 0;
    for (int i = 0; i < nfull; i++) {
        const mv_key *k = &full[i];
        if (k->kind == MV_KEY_NEWAXIS) {
            m->dims[m->ndim++] = (out_dim){.src = -1, .n = 1};
            continue;
        }
        if (k->kind == MV_KEY_INDEX) {
            ptrdiff_t ix = k->index;
            if (ix < 0 && ix >= -shape[d])
                ix += shape[d];
            if (ix < 0 || ix >= shape[d]) {
                m->rc = MV_EINDEX;
                return;
            }
            m->fixed[d++] = ix;
            continue;
        }
        if (k->has_step && k->step == 0) {
            m->rc = MV_EVALUE;
            return;
        }
        out_dim o = {.src = d};
        o.n = model_slice(k, shape[d], &o.start, &o.step);
        m->dims[m->ndim++] = o;
        d++;
    }
    FUZZ_CHECK(d == ndim);
}

/* ---- checking a result --------------------------------------------------- */

static void check_result(const base *bs, const mv_buffer *src, const model *m,
                         const mv_buffer *res)
{
    FUZZ_CHECK(res->ndim == m->ndim);
    FUZZ_CHECK(res->itemsize == src->itemsize);
    FUZZ_CHECK(res->readonly == src->readonly);
    FUZZ_CHECK(strcmp(res->format, src->format) == 0);
    ptrdiff_t n = 1;
    for (int o = 0; o < m->ndim; o++) {
        FUZZ_CHECK(res->shape[o] == m->dims[o].n);
        n *= res->shape[o];
    }
    FUZZ_CHECK(res->len == n * res->itemsize);
    if (n == 0)
        return;
    ptrdiff_t out[MV_MAX_NDIM] = {0}, in[MV_MAX_NDIM];
    do {
        memcpy(in, m->fixed, sizeof in);
        for (int o = 0; o < m->ndim; o++)
            if (m->dims[o].src >= 0)
                in[m->dims[o].src] = m->dims[o].start + out[o] * m->dims[o].step;
        uintptr_t want = fuzz_item_addr(src, in, bs->regions, bs->nregions);
        uintptr_t got = fuzz_item_addr(res, out, bs->regions, bs->nregions);
        FUZZ_CHECK(fuzz_inside(bs->regions, bs->nregions, got, (size_t)res->itemsize));
        FUZZ_CHECK(got == want);
    } while (fuzz_next_index(res->ndim, res->shape, out, false));
}

/* Apply keys to v, check against the model, and (depth 0) once more to the
 * result. */
static void apply(const base *bs, mv_view *v, const mv_key *keys, int nkeys, int depth)
{
    mv_error err;
    mv_error_clear(&err);
    const mv_buffer *src = mv_view_buffer(v, &err);
    FUZZ_CHECK_ERR(src, &err);
    model m;
    model_apply(&m, src->ndim, src->shape, keys, nkeys);

    mv_error_clear(&err);
    mv_view *r = fuzz_ptr(mv_view_subscript(v, keys, nkeys, &err), &err);
    if (!r) {
        if (err.code == MV_ENOTIMPL && src->suboffsets && (m.rc == 0 || !m.global)) {
            /* Indirect layouts may refuse some selections the model allows;
             * the refusal may come at a key before one the model rejects. */
        } else {
            FUZZ_CHECK_ERR(err.code == m.rc, &err);
        }
        return;
    }
    FUZZ_CHECK_ERR(m.rc == 0, &err);
    mv_error_clear(&err);
    const mv_buffer *res = mv_view_buffer(r, &err);
    FUZZ_CHECK_ERR(res, &err);
    check_result(bs, src, &m, res);

    /* A view of the result walks the same items. */
    mv_error_clear(&err);
    unsigned char *a = malloc((size_t)res->len + 1), *b = malloc((size_t)res->len + 1);
    FUZZ_CHECK(a && b);
    FUZZ_CHECK_ERR(mv_view_tobytes_into(r, a, res->len, 'C', &err) == 0, &err);
    fuzz_gather(res, b, false, bs->regions, bs->nregions);
    FUZZ_CHECK(memcmp(a, b, (size_t)res->len) == 0);
    free(a);
    free(b);

    if (depth == 0)
        apply(bs, r, keys, nkeys, 1);
    mv_decref(r);
}

/* ---- the four bases ------------------------------------------------------ */

static void region(base *b, const void *p, size_t n)
{
    b->regions[b->nregions++] = (fuzz_region){(uintptr_t)p, (uintptr_t)p + n};
}

static void make_bases(base *bs, arena *ar)
{
    mv_error err;
    mv_error_clear(&err);
    for (size_t i = 0; i < sizeof ar->data; i++)
        ar->data[i] = (unsigned char)(i * 7 + 1);

    /* 0: 'B' cast of a bytearray. */
    mv_object *ba = mv_bytearray_new(ar->data, D0 * D1 * D2, &err);
    FUZZ_CHECK_ERR(ba, &err);
    mv_view *flat = mv_view_new(ba, &err);
    FUZZ_CHECK_ERR(flat, &err);
    const ptrdiff_t shape[3] = {D0, D1, D2};
    bs[0].view = mv_view_cast(flat, "B", shape, 3, MV_CAST_STRICT, &err);
    FUZZ_CHECK_ERR(bs[0].view, &err);
    mv_decref(flat);
    bs[0].exporter = ba;
    size_t balen = 0;
    void *bad = mv_object_data(ba, &balen);
    region(&bs[0], bad, balen);

    /* 1: 'H' items, dimension 0 backwards, dimension 2 backwards with gaps. */
    {
        const ptrdiff_t strides[3] = {-(D1 * D2 * 4), D2 * 4, -4};
        /* Item (0,0,0) sits where dim 0 and dim 2 start from the far end. */
        ptrdiff_t off = (D0 - 1) * D1 * D2 * 4 + (D2 - 1) * 4;
        mv_buffer lay = {.buf = ar->data + off,
                         .len = D0 * D1 * D2 * 2,
                         .itemsize = 2,
                         .readonly = 1,
                         .ndim = 3,
                         .format = "<H",
                         .shape = (ptrdiff_t *)shape,
                         .strides = (ptrdiff_t *)strides};
        FUZZ_CHECK_ERR(mv_layout_validate((ptrdiff_t)sizeof ar->data, 2, 3, shape, strides, off,
                                          &err) == 0,
                       &err);
        bs[1].exporter = mv_external_new_layout(&lay, NULL, NULL, &err);
        FUZZ_CHECK_ERR(bs[1].exporter, &err);
        region(&bs[1], ar->data, sizeof ar->data);
    }

    /* 2: rows0[i] points at a 5x6 block; suboffset 0 on dimension 0. */
    {
        for (int i = 0; i < D0; i++)
            ar->rows0[i] = (uintptr_t)(ar->data + i * D1 * D2);
        const ptrdiff_t strides[3] = {(ptrdiff_t)sizeof(uintptr_t), D2, 1};
        const ptrdiff_t subs[3] = {0, -1, -1};
        mv_buffer lay = {.buf = ar->rows0,
                         .len = D0 * D1 * D2,
                         .itemsize = 1,
                         .readonly = 0,
                         .ndim = 3,
                         .format = "B",
                         .shape = (ptrdiff_t *)shape,
                         .strides = (ptrdiff_t *)strides,
                         .suboffsets = (ptrdiff_t *)subs};
        bs[2].exporter = mv_external_new_layout(&lay, NULL, NULL, &err);
        FUZZ_CHECK_ERR(bs[2].exporter, &err);
        region(&bs[2], ar->data, sizeof ar->data);
        region(&bs[2], ar->rows0, sizeof ar->rows0);
    }

    /* 3: rows1[i*5+j] points 2 bytes before row (i, j); suboffset 2 on
     * dimension 1. */
    {
        for (int i = 0; i < D0 * D1; i++)
            ar->rows1[i] = (uintptr_t)(ar->data + 200 + i * D2) - 2;
        const ptrdiff_t strides[3] = {D1 * (ptrdiff_t)sizeof(uintptr_t), (ptrdiff_t)sizeof(uintptr_t), 1};
        const ptrdiff_t subs[3] = {-1, 2, -1};
        mv_buffer lay = {.buf = ar->rows1,
                         .len = D0 * D1 * D2,
                         .itemsize = 1,
                         .readonly = 1,
                         .ndim = 3,
                         .format = "c",
                         .shape = (ptrdiff_t *)shape,
                         .strides = (ptrdiff_t *)strides,
                         .suboffsets = (ptrdiff_t *)subs};
        bs[3].exporter = mv_external_new_layout(&lay, NULL, NULL, &err);
        FUZZ_CHECK_ERR(bs[3].exporter, &err);
        region(&bs[3], ar->data, sizeof ar->data);
        region(&bs[3], ar->rows1, sizeof ar->rows1);
    }
    for (int i = 1; i < 4; i++) {
        bs[i].view = mv_view_new(bs[i].exporter, &err);
        FUZZ_CHECK_ERR(bs[i].view, &err);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    FUZZ_CHECK(text);
    memcpy(text, data, size);
    text[size] = '\0';

    mv_key keys[MAXKEYS];
    int nkeys = -1;
    mv_error err;
    mv_error_clear(&err);
    int rc = fuzz_rc(mv_subscript_parse(text, keys, MAXKEYS, &nkeys, &err), &err);
    if (rc < 0) {
        FUZZ_CHECK_ERR(rc == MV_EVALUE || rc == MV_EOVERFLOW || rc == MV_EINDEX, &err);
        FUZZ_CHECK(nkeys == 0);
        free(text);
        return 0;
    }
    FUZZ_CHECK(nkeys >= 0 && nkeys <= MAXKEYS);

    /* Printed back, the keys parse to themselves. */
    char printed[MAXKEYS * 70 + 8];
    print_keys(printed, sizeof printed, keys, nkeys);
    mv_key again[MAXKEYS];
    int nagain = -1;
    mv_error_clear(&err);
    FUZZ_CHECK_ERR(mv_subscript_parse(printed, again, MAXKEYS, &nagain, &err) == 0, &err);
    FUZZ_CHECK(nagain == nkeys);
    for (int i = 0; i < nkeys; i++)
        FUZZ_CHECK(same_key(&keys[i], &again[i]));

    /* Too little room. */
    if (nkeys > 0) {
        mv_error_clear(&err);
        FUZZ_CHECK(fuzz_rc(mv_subscript_parse(text, again, nkeys - 1, &nagain, &err), &err) ==
                   MV_EINDEX);
    }

    arena *ar = calloc(1, sizeof *ar);
    FUZZ_CHECK(ar);
    base bs[4] = {{0}};
    make_bases(bs, ar);
    for (int i = 0; i < 4; i++)
        apply(&bs[i], bs[i].view, keys, nkeys, 0);
    for (int i = 0; i < 4; i++) {
        mv_decref(bs[i].view);
        mv_decref(bs[i].exporter);
    }
    free(ar);
    free(text);
    return 0;
}
