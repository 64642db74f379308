/* A buffer's layout as the walkers in compare.c, text.c and search.c read
 * it: shape and strides always present, whatever the descriptor left out. */
#include "internal.h"

int mv_layout_init(mv_layout *l, const mv_buffer *b, mv_error *err)
{
    if (b->ndim < 0 || b->ndim > MV_MAX_NDIM)
        return mv_error_set(err, MV_EVALUE, "buffer ndim %d out of range 0..%d", b->ndim,
                            MV_MAX_NDIM);
    if (b->itemsize < 0 || b->len < 0)
        return mv_error_set(err, MV_EVALUE, "buffer has a negative itemsize or len");
    l->buffer = b;
    l->buf = b->buf;
    l->ndim = b->ndim;
    l->itemsize = b->itemsize;
    l->len = b->len;
    l->suboffsets = b->suboffsets;
    if (b->shape) {
        l->shape = b->shape;
    } else if (b->ndim == 1) {
        /* A buffer obtained without MV_BUF_ND is one dimension of bytes. */
        if (b->itemsize == 0)
            return mv_error_set(err, MV_EVALUE, "buffer has itemsize 0");
        l->shape_store[0] = b->len / b->itemsize;
        l->shape = l->shape_store;
    } else if (b->ndim == 0) {
        l->shape = l->shape_store;
    } else {
        return mv_error_set(err, MV_EVALUE, "buffer of %d dimensions has no shape", b->ndim);
    }
    for (int i = 0; i < b->ndim; i++)
        if (l->shape[i] < 0)
            return mv_error_set(err, MV_EVALUE, "buffer shape[%d] is negative", i);
    if (b->strides) {
        l->strides = b->strides;
    } else {
        ptrdiff_t s = b->itemsize;
        for (int i = b->ndim - 1; i >= 0; i--) {
            l->strides_store[i] = s;
            if (l->shape[i] > 0 && mv_mul_overflow(s, l->shape[i], &s))
                return mv_error_set(err, MV_EOVERFLOW, "buffer shape overflows");
        }
        l->strides = l->strides_store;
    }
    return 0;
}

int mv_layout_from_view(mv_layout *l, const mv_view *view, mv_error *err)
{
    if (!view)
        return mv_error_set(err, MV_EVALUE, "NULL view");
    mv_error local;
    mv_error_clear(&local);
    const mv_buffer *b = mv_view_buffer(view, &local);
    if (!b)
        return mv_error_pass(err, &local);
    return mv_layout_init(l, b, err);
}

bool mv_layout_has_zero(const mv_layout *l)
{
    for (int i = 0; i < l->ndim; i++)
        if (l->shape[i] == 0)
            return true;
    return false;
}
