/* The row walk: every item of one layout, or of two layouts of one shape in
 * step, in C order, handed to a kernel a row at a time.  Dimensions that
 * continue each other in every layout (the outer one direct, its stride
 * the inner one's whole run) are merged first, so a C-contiguous
 * layout is one row whatever its shape, and a 2-D rectangle of whole rows
 * is one row per run of rows; the kernels then see the longest runs the
 * memory allows.  Equality, hashing, the traversal behind tolist and the
 * copy engine walk with it (the copy engine plans first: it looks at the
 * merged dimensions to choose its kernels). */
#include "ops.h"

static int walk_rec(const mv_walk *w, int d, const char *pa, const char *pb, mv_row_fn fn,
                    void *ctx)
{
    int in = d + 1;
    if (d == w->ndim - 1)
        return fn(ctx, pa, w->stride[0][d], w->sub[0][d], pb, w->stride[1][d], w->sub[1][d],
                  w->shape[d]);
    if (in == w->ndim - 1) {
        /* The rows of the last two dimensions in one loop: a call per row
         * and no recursion (a 2-D rectangle of short rows is common). */
        for (ptrdiff_t i = 0; i < w->shape[d]; i++) {
            int rc = fn(ctx, mv_layout_item(pa, i, w->stride[0][d], w->sub[0][d]),
                        w->stride[0][in], w->sub[0][in],
                        mv_layout_item(pb, i, w->stride[1][d], w->sub[1][d]), w->stride[1][in],
                        w->sub[1][in], w->shape[in]);
            if (rc != 0)
                return rc;
        }
        return 0;
    }
    for (ptrdiff_t i = 0; i < w->shape[d]; i++) {
        int rc = walk_rec(w, d + 1, mv_layout_item(pa, i, w->stride[0][d], w->sub[0][d]),
                          mv_layout_item(pb, i, w->stride[1][d], w->sub[1][d]), fn, ctx);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int mv_walk_run(const mv_walk *w, const char *pa, const char *pb, mv_row_fn fn, void *ctx)
{
    return walk_rec(w, 0, pa, pb, fn, ctx);
}

/* Whether, on side k, dimension d continues into the (merged) dimension
 * `in` inside it: then the two walk as one run of shape[d] * shape[in]
 * items with in's stride and suboffset (d must be direct; in may be
 * indirect: each item's pointer is then read at the merged address).
 * Strides may come from any descriptor (the copy engine's): the product
 * is checked. */
static bool continues(const mv_walk *w, int k, int d, int in)
{
    ptrdiff_t span;
    return w->sub[k][d] < 0 &&
           !mv_mul_overflow(w->stride[k][in], w->shape[in], &span) && span == w->stride[k][d];
}

void mv_walk_plan(mv_walk *w, int ndim, const ptrdiff_t *shape, const ptrdiff_t *const strides[2],
                  const ptrdiff_t *const subs[2])
{
    /* The dimensions that move: one of extent 1 without a suboffset adds
     * nothing to any address (CPython's contiguity ignores its stride too,
     * so a C-contiguous layout such as NumPy's a[:, None] stays one row).
     * None left (0-D, or all of extent 1): one row of one item. */
    w->ndim = 0;
    for (int d = 0; d < ndim; d++) {
        ptrdiff_t sub[2];
        for (int k = 0; k < 2; k++)
            sub[k] = subs[k] && subs[k][d] >= 0 ? subs[k][d] : -1;
        if (shape[d] == 1 && sub[0] < 0 && sub[1] < 0)
            continue;
        w->shape[w->ndim] = shape[d];
        for (int k = 0; k < 2; k++) {
            w->stride[k][w->ndim] = strides[k][d];
            w->sub[k][w->ndim] = sub[k];
        }
        w->ndim++;
    }
    if (w->ndim == 0) {
        w->ndim = 1;
        w->shape[0] = 1;
        for (int k = 0; k < 2; k++) {
            w->stride[k][0] = 0;
            w->sub[k][0] = -1;
        }
    }
    /* Merge from the innermost dimension out: d into the merged one inside
     * it.  The product of merged extents is at most the item count, which
     * the caller knows to fit. */
    int out = w->ndim - 1;
    for (int d = w->ndim - 2; d >= 0; d--) {
        if (continues(w, 0, d, out) && continues(w, 1, d, out)) {
            w->shape[out] *= w->shape[d];
            continue;
        }
        out--;
        w->shape[out] = w->shape[d];
        for (int k = 0; k < 2; k++) {
            w->stride[k][out] = w->stride[k][d];
            w->sub[k][out] = w->sub[k][d];
        }
    }
    /* The merged dimensions are [out, ndim): move them to the front. */
    int n = w->ndim - out;
    for (int d = 0; out > 0 && d < n; d++) {
        w->shape[d] = w->shape[out + d];
        for (int k = 0; k < 2; k++) {
            w->stride[k][d] = w->stride[k][out + d];
            w->sub[k][d] = w->sub[k][out + d];
        }
    }
    w->ndim = n;
}

int mv_walk_rows(const mv_layout *a, const mv_layout *b, mv_row_fn fn, void *ctx)
{
    if (mv_layout_has_zero(a))
        return 0;
    if (!b)
        b = a;
    const ptrdiff_t *const strides[2] = {a->strides, b->strides};
    const ptrdiff_t *const subs[2] = {a->indirect ? a->suboffsets : NULL,
                                      b->indirect ? b->suboffsets : NULL};
    mv_walk w;
    mv_walk_plan(&w, a->ndim, a->shape, strides, subs);
    return mv_walk_run(&w, a->buf, b->buf, fn, ctx);
}
