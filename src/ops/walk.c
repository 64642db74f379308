/* The row walk: every item of one layout, or of two layouts of one shape in
 * step, in C order, handed to a kernel a row at a time.  Dimensions that
 * continue each other in every layout (no suboffsets, stride[d] ==
 * shape[d + 1] * stride[d + 1]) are merged first, so a C-contiguous
 * layout is one row whatever its shape, and a 2-D rectangle of whole rows
 * is one row per run of rows; the kernels then see the longest runs the
 * memory allows.  Equality and hashing walk with it. */
#include "ops.h"

/* The merged dimensions of the walk, outermost first. */
typedef struct walk {
    int ndim;
    ptrdiff_t shape[MV_MAX_NDIM];
    ptrdiff_t stride[2][MV_MAX_NDIM];
    ptrdiff_t sub[2][MV_MAX_NDIM];
    mv_row_fn fn;
    void *ctx;
} walk;

static int walk_rec(const walk *w, int d, const char *pa, const char *pb)
{
    if (d == w->ndim - 1)
        return w->fn(w->ctx, pa, w->stride[0][d], w->sub[0][d], pb, w->stride[1][d], w->sub[1][d],
                      w->shape[d]);
    for (ptrdiff_t i = 0; i < w->shape[d]; i++) {
        int rc = walk_rec(w, d + 1, mv_layout_item(pa, i, w->stride[0][d], w->sub[0][d]),
                          mv_layout_item(pb, i, w->stride[1][d], w->sub[1][d]));
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Whether, in layout k, dimension d continues into the (merged) dimension
 * `in` inside it: then the two walk as one run of shape[d] * shape[in]
 * items with in's stride. */
static bool continues(const walk *w, int k, int d, int in)
{
    return w->sub[k][d] < 0 && w->sub[k][in] < 0 &&
           w->stride[k][d] == w->shape[in] * w->stride[k][in];
}

int mv_walk_rows(const mv_layout *a, const mv_layout *b, mv_row_fn fn, void *ctx)
{
    if (mv_layout_has_zero(a))
        return 0;
    if (!b)
        b = a;
    walk w;
    w.fn = fn;
    w.ctx = ctx;
    const mv_layout *l[2] = {a, b};
    /* The dimensions that move: one of extent 1 without a suboffset adds
     * nothing to any address (CPython's contiguity ignores its stride too,
     * so a C-contiguous layout such as NumPy's a[:, None] stays one row).
     * None left (0-D, or all of extent 1): one row of one item. */
    w.ndim = 0;
    for (int d = 0; d < a->ndim; d++) {
        if (a->shape[d] == 1 && mv_layout_sub(a, d) < 0 && mv_layout_sub(b, d) < 0)
            continue;
        w.shape[w.ndim] = a->shape[d];
        for (int k = 0; k < 2; k++) {
            w.stride[k][w.ndim] = l[k]->strides[d];
            w.sub[k][w.ndim] = mv_layout_sub(l[k], d);
        }
        w.ndim++;
    }
    if (w.ndim == 0) {
        w.ndim = 1;
        w.shape[0] = 1;
        for (int k = 0; k < 2; k++) {
            w.stride[k][0] = 0;
            w.sub[k][0] = -1;
        }
    }
    /* Merge from the innermost dimension out: d into d + 1.  The product
     * of merged extents is an item count of a validated layout (no
     * overflow), and no extent is 0 here. */
    int out = w.ndim - 1;
    for (int d = w.ndim - 2; d >= 0; d--) {
        if (continues(&w, 0, d, out) && continues(&w, 1, d, out)) {
            w.shape[out] *= w.shape[d];
            continue;
        }
        out--;
        w.shape[out] = w.shape[d];
        for (int k = 0; k < 2; k++) {
            w.stride[k][out] = w.stride[k][d];
            w.sub[k][out] = w.sub[k][d];
        }
    }
    /* The merged dimensions are w[out .. ndim): move them to the front. */
    int n = w.ndim - out;
    if (out > 0) {
        for (int d = 0; d < n; d++) {
            w.shape[d] = w.shape[out + d];
            for (int k = 0; k < 2; k++) {
                w.stride[k][d] = w.stride[k][out + d];
                w.sub[k][d] = w.sub[k][out + d];
            }
        }
    }
    w.ndim = n;
    return walk_rec(&w, 0, a->buf, b->buf);
}
