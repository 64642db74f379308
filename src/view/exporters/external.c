/* external: the caller's memory, described as plain bytes or with a full
 * layout.  The release callback runs from destroy, i.e. when the last
 * reference goes; every buffer holds a reference, so that is also after
 * the last buffer is released. */
#include "../view.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct mv_external {
    mv_object ob;
    void *mem;
    mv_release_fn release;
    void *ctx;
    bool layout;    /* answer through mv_buffer_answer from `full` */
    mv_buffer full; /* buf, len and readonly always; the rest with a layout */
    char *format;   /* owned copy, or NULL */
    ptrdiff_t *arrays; /* owned: shape, strides, suboffsets */
} mv_external;

static int external_getbuffer(mv_object *self, mv_buffer *view, int flags, mv_error *err)
{
    mv_external *x = (mv_external *)self;
    if (x->layout)
        return mv_buffer_answer(view, &x->full, self, flags, err);
    return mv_buffer_fill_info(view, self, x->full.buf, x->full.len, x->full.readonly, flags, err);
}

static void external_destroy(mv_object *self)
{
    mv_external *x = (mv_external *)self;
    if (x->release)
        x->release(x->ctx, x->mem);
    free(x->format);
    free(x->arrays);
    free(x);
}

static const mv_type external_type = {
    .name = "external",
    .getbuffer = external_getbuffer,
    .releasebuffer = NULL,
    .destroy = external_destroy,
};

mv_object *mv_external_new(void *mem, ptrdiff_t len, int readonly, mv_release_fn release,
                           void *ctx, mv_error *err)
{
    if (len < 0) {
        mv_error_set(err, MV_EVALUE, "external: len must be >= 0, not %td", len);
        return NULL;
    }
    if (!mem && len > 0) {
        mv_error_set(err, MV_EVALUE, "external: mem is NULL but len is %td", len);
        return NULL;
    }
    mv_external *x = calloc(1, sizeof *x);
    if (!x) {
        mv_error_set(err, MV_ENOMEM, "external: cannot allocate the object");
        return NULL;
    }
    mv_object_init(&x->ob, &external_type);
    x->mem = mem;
    x->release = release;
    x->ctx = ctx;
    x->full.buf = mem;
    x->full.len = len;
    x->full.readonly = readonly ? 1 : 0;
    x->full.itemsize = 1;
    x->full.ndim = 1;
    return &x->ob;
}

mv_object *mv_external_new_layout(const mv_buffer *layout, mv_release_fn release, void *ctx,
                                  mv_error *err)
{
    if (!layout) {
        mv_error_set(err, MV_EVALUE, "external: layout must not be NULL");
        return NULL;
    }
    int ndim = layout->ndim;
    if (ndim < 0 || ndim > MV_MAX_NDIM) {
        mv_error_set(err, MV_EVALUE, "memoryview: number of dimensions must not exceed 64");
        return NULL;
    }
    if (!layout->shape && ndim > 1) {
        mv_error_set(err, MV_EVALUE, "external: shape is required for ndim %d", ndim);
        return NULL;
    }
    if (layout->itemsize <= 0 && (layout->len != 0 || (!layout->shape && ndim == 1))) {
        mv_error_set(err, MV_EVALUE, "external: itemsize must be > 0, not %td", layout->itemsize);
        return NULL;
    }

    mv_external *x = calloc(1, sizeof *x);
    /* shape, strides and suboffsets in one block; at least one slot so a
     * 0-dim layout still gets non-NULL arrays. */
    size_t slots = 3 * (size_t)(ndim > 0 ? ndim : 1);
    ptrdiff_t *arrays = malloc(slots * sizeof(ptrdiff_t));
    char *format = NULL;
    size_t flen = layout->format ? strlen(layout->format) + 1 : 0;
    if (flen)
        format = malloc(flen);
    if (!x || !arrays || (flen && !format)) {
        free(x);
        free(arrays);
        free(format);
        mv_error_set(err, MV_ENOMEM, "external: cannot allocate the object");
        return NULL;
    }
    if (flen)
        memcpy(format, layout->format, flen);
    ptrdiff_t *shape = arrays, *strides = arrays + slots / 3, *subs = arrays + 2 * (slots / 3);
    if (layout->shape)
        memcpy(shape, layout->shape, (size_t)ndim * sizeof(ptrdiff_t));
    else if (ndim == 1)
        shape[0] = layout->len / layout->itemsize;

    x->full = (mv_buffer){.buf = layout->buf,
                          .obj = NULL,
                          .len = layout->len,
                          .itemsize = layout->itemsize,
                          .readonly = layout->readonly ? 1 : 0,
                          .ndim = ndim,
                          .format = format,
                          .shape = shape,
                          .strides = layout->strides ? strides : NULL,
                          .suboffsets = layout->suboffsets ? subs : NULL,
                          .internal = NULL};
    if (layout->strides)
        memcpy(strides, layout->strides, (size_t)ndim * sizeof(ptrdiff_t));
    if (layout->suboffsets)
        memcpy(subs, layout->suboffsets, (size_t)ndim * sizeof(ptrdiff_t));

    /* Checked before strides are filled in, so their products are known
     * to fit. */
    if (mv_buffer_validate(&x->full, err) < 0) {
        free(x);
        free(arrays);
        free(format);
        return NULL;
    }
    if (!layout->strides) {
        mv_fill_contiguous_strides(ndim, shape, strides, layout->itemsize, 'C');
        x->full.strides = strides;
    }
    mv_object_init(&x->ob, &external_type);
    x->mem = layout->buf;
    x->release = release;
    x->ctx = ctx;
    x->layout = true;
    x->format = format;
    x->arrays = arrays;
    return &x->ob;
}
