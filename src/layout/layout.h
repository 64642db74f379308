/* Private to the library: the layout layer (src/layout/) -- the rules of
 * a layout (shape, strides, suboffsets over memory): validation,
 * contiguity, selection by keys, casts, item addresses, the walkers'
 * normalised reading.  Includes only the core.  Not installed. */
#ifndef MEMVIEW_LAYOUT_H
#define MEMVIEW_LAYOUT_H

#include "../core/core.h"

/* Whether a layout has items: no extent is 0.  Not len > 0: zero-size
 * items ('T{}', '0B') have no bytes. */
static inline bool mv_has_items(int ndim, const ptrdiff_t *shape)
{
    for (int i = 0; i < ndim; i++)
        if (shape[i] == 0)
            return false;
    return true;
}

/* itemsize * shape[0] * ... * shape[ndim - 1] into *out; true when it
 * overflows.  A layout with an extent of 0 has no items and 0 bytes
 * whatever its other extents are (validation lets them be anything), so
 * it never overflows. */
static inline bool mv_shape_bytes(ptrdiff_t itemsize, int ndim, const ptrdiff_t *shape,
                                  ptrdiff_t *out)
{
    for (int i = 0; i < ndim; i++)
        if (shape[i] == 0) {
            *out = 0;
            return false;
        }
    ptrdiff_t n = itemsize;
    for (int i = 0; i < ndim; i++)
        if (mv_mul_overflow(n, shape[i], &n))
            return true;
    *out = n;
    return false;
}

/* Python's PySlice_AdjustIndices on already-unpacked bounds: clip start and
 * stop to [0, length] for step > 0 or [-1, length - 1] for step < 0 and
 * return the number of items selected.  step must not be 0. */
static inline ptrdiff_t mv_slice_adjust(ptrdiff_t length, ptrdiff_t *start, ptrdiff_t *stop,
                                        ptrdiff_t step)
{
    if (*start < 0) {
        *start += length;
        if (*start < 0)
            *start = (step < 0) ? -1 : 0;
    } else if (*start >= length) {
        *start = (step < 0) ? length - 1 : length;
    }
    if (*stop < 0) {
        *stop += length;
        if (*stop < 0)
            *stop = (step < 0) ? -1 : 0;
    } else if (*stop >= length) {
        *stop = (step < 0) ? length - 1 : length;
    }
    if (step < 0) {
        if (*stop < *start)
            return mv_div_nonneg(*start - *stop - 1, -step) + 1;
    } else if (*start < *stop) {
        return mv_div_nonneg(*stop - *start - 1, step) + 1;
    }
    return 0;
}

/* ---- The layout: one value type --------------------------------------- */

/* mv_layout (public, in memview.h) is the one layout value type: every rule
 * works on it.  Made from a descriptor (mv_layout_init, which checks it),
 * selected by keys (mv_select), cast (mv_cast_shape), walked in C order in
 * blocks (mv_layout_range).  Views hold it in the compact form of a
 * descriptor (mv_buffer: arrays of ndim entries) and load it into a layout
 * to operate; the layout is large (MV_MAX_NDIM entries per array) and
 * lives on the stack of an operation.  Only the first ndim entries of each
 * array are meaningful; suboffsets only when indirect. */

/* The layout as a descriptor (mv_layout_buffer without its NULL checks):
 * arrays lent from *l, suboffsets NULL unless indirect, obj NULL.
 * Inline: every public layout function reads its layout through it. */
static inline mv_buffer mv_layout_as_buffer(const mv_layout *l)
{
    mv_buffer b;
    b.buf = l->buf;
    b.obj = NULL;
    b.len = l->len;
    b.itemsize = l->itemsize;
    b.readonly = l->readonly;
    b.ndim = l->ndim;
    b.format = l->format;
    b.shape = l->ndim > 0 ? (ptrdiff_t *)l->shape : NULL;
    b.strides = l->ndim > 0 ? (ptrdiff_t *)l->strides : NULL;
    b.suboffsets = l->indirect ? (ptrdiff_t *)l->suboffsets : NULL;
    b.internal = NULL;
    return b;
}

/* *out = *l, copying only the ndim entries of each array that mean
 * something (out may be l). */
void mv_layout_copy(mv_layout *out, const mv_layout *l);

/* Set len (product(shape) * itemsize, or MV_EOVERFLOW) and contig after
 * buf, itemsize, ndim and the arrays were filled in. */
int mv_layout_finish(mv_layout *l, mv_error *err);

/* NumPy basic indexing of the validated descriptor b (shape and strides
 * present) by keys into the complete layout *out (b's itemsize, format
 * and readonly), with mv_view_subscript's checks and messages.  No
 * allocation.  In select.c. */
int mv_select(const mv_buffer *b, const mv_key *keys, int nkeys, mv_layout *out, mv_error *err);

/* Whether contiguity flags (MV_CONTIG_C | MV_CONTIG_F) say contiguous in
 * order 'C', 'F' or 'A' (either): 1 or 0, -1 for another order. */
static inline int mv_contig_order(int flags, char order)
{
    switch (order) {
    case 'C': return (flags & MV_CONTIG_C) != 0;
    case 'F': return (flags & MV_CONTIG_F) != 0;
    case 'A': return flags != 0;
    default: return -1;
    }
}

/* ---- casts (cast.c): mv_cast, shared by mv_view_cast and mv_layout_cast */

/* Contiguity as CPython's init_flags computes it for a memoryview:
 * MV_CONTIG_C | MV_CONTIG_F as they hold; 0 for a layout with suboffsets.
 * shape and strides may be NULL (C-contiguous).  Inline: views, casts and
 * slices ask for every new layout; N-D layouts in layout.c. */
int mv_layout_flags_nd(const mv_buffer *b); /* ndim >= 2, direct */
static inline int mv_layout_flags(const mv_buffer *b)
{
    if (b->suboffsets)
        return 0;
    if (b->ndim == 0)
        return MV_CONTIG_C | MV_CONTIG_F;
    if (b->ndim == 1)
        return !b->shape || !b->strides || b->shape[0] == 1 || b->strides[0] == b->itemsize
                   ? MV_CONTIG_C | MV_CONTIG_F
                   : 0;
    return mv_layout_flags_nd(b);
}

/* The whole cast of the validated descriptor b (contiguity contig, from
 * mv_layout_flags) to format with shape (ndim < 0: none): the checks
 * above in CPython's order, then the new layout in *out (which may be
 * partly written on error).  The destination is parsed here unless it is
 * a native single character. */
int mv_cast(const mv_buffer *b, int contig, const char *format, const ptrdiff_t *shape, int ndim,
            int flags, mv_layout *out, mv_error *err);


/* Python's slice defaults (PySlice_Unpack), clipped to extent; returns the
 * length or MV_EVALUE. */
static inline ptrdiff_t mv_slice_indices(const mv_key *k, ptrdiff_t extent, ptrdiff_t *start,
                                         ptrdiff_t *step, mv_error *err)
{
    ptrdiff_t st = k->has_step ? k->step : 1;
    if (st == 0)
        return mv_error_set(err, MV_EVALUE, "slice step cannot be zero");
    /* -step must stay representable. */
    if (st < -PTRDIFF_MAX)
        st = -PTRDIFF_MAX;
    ptrdiff_t b = k->has_start ? k->start : (st < 0 ? PTRDIFF_MAX : 0);
    ptrdiff_t e = k->has_stop ? k->stop : (st < 0 ? PTRDIFF_MIN : PTRDIFF_MAX);
    ptrdiff_t n = mv_slice_adjust(extent, &b, &e, st);
    *start = b;
    *step = st;
    return n;
}

/* The common b[start:stop:step] alone: one slice key on dimension 0 of a
 * validated direct descriptor b (ndim >= 1, no suboffsets).  The result
 * keeps b's other dimensions; *buf, *n (extent 0), *stride (stride 0) and
 * *len (product(shape) * itemsize) describe the rest.  Same checks and
 * messages as mv_select. */
static inline int mv_select_first(const mv_buffer *b, const mv_key *key, char **buf, ptrdiff_t *n,
                                  ptrdiff_t *stride, ptrdiff_t *len, mv_error *err)
{
    ptrdiff_t start = 0, step = 1;
    ptrdiff_t count = mv_slice_indices(key, b->shape[0], &start, &step, err);
    if (count < 0)
        return (int)count;
    ptrdiff_t st = b->strides[0], offset = 0, s;
    /* Offsets are only taken while items remain (as mv_select). */
    bool items = count > 0 && mv_has_items(b->ndim - 1, b->shape + 1);
    if (items && mv_mul_overflow(start, st, &offset))
        return mv_error_set(err, MV_EOVERFLOW, "memoryview: offset overflows ptrdiff_t");
    /* In a layout with items, count > 1 items of step fit (validated);
     * without items no stride is ever used. */
    if (!mv_mul_overflow(st, step, &s))
        st = s;
    else if (count > 1 && items)
        return mv_error_set(err, MV_EOVERFLOW, "memoryview: stride overflows ptrdiff_t");
    /* itemsize * count * shape[1] * ...: 0 when any factor is. */
    ptrdiff_t rest, bytes = 0;
    bool overflow = mv_shape_bytes(b->itemsize, b->ndim - 1, b->shape + 1, &rest);
    if (count > 0 && (overflow || (rest > 0 && mv_mul_overflow(rest, count, &bytes))))
        return mv_error_set(err, MV_EOVERFLOW, "memoryview: product(shape) * itemsize overflows");
    *buf = items ? mv_advance(b->buf, offset) : b->buf;
    *n = count;
    *stride = st;
    *len = bytes;
    return 0;
}

/* The address of the item at index[0 .. nindex) of the validated
 * descriptor b (CPython's ptr_from_tuple, its checks in its order and its
 * messages; suboffsets followed).  In select.c. */
int mv_item_pointer(const mv_buffer *b, const ptrdiff_t *index, int nindex, char **out,
                    mv_error *err);

/* ---- Layouts from descriptors, for the walkers in ops/.  In layout.c. */

/* Fill l from any descriptor b: shape and strides filled in when b leaves
 * them NULL, format "B" for NULL.  MV_EVALUE / MV_EOVERFLOW when ndim,
 * itemsize, len or shape cannot describe memory. */
int mv_layout_init(mv_layout *l, const mv_buffer *b, mv_error *err);

/* Fill l from a descriptor that is consistent and complete (a view's
 * own: shape and strides present for ndim >= 1) whose contiguity flags
 * are already known: copies, with no check and no flag computation. */
void mv_layout_load(mv_layout *l, const mv_buffer *b, int contig);

/* 1 when some extent is 0 (nothing to walk). */
static inline bool mv_layout_has_zero(const mv_layout *l)
{
    return !mv_has_items(l->ndim, l->shape);
}

/* The number of items of l (product(shape); 1 for 0 dimensions) in *n, or
 * MV_EOVERFLOW. */
int mv_layout_count(const mv_layout *l, ptrdiff_t *n, mv_error *err);

/* C order, in blocks: the items [start, start + count) of l in C order
 * (the order of tobytes) as at most 2 * ndim - 1 rectangular blocks, each
 * a layout of its own -- its leading dimension a run of indices, the
 * dimensions after it whole -- handed in order to fn(ctx, block), which
 * returns 0 to go on or a negative code to stop with.  A block lives only
 * during the call.  0 <= start, 0 <= count and
 * start + count <= the item count are the caller's to check.  A walk that
 * visits every item of any layout in C order, chunk by chunk, is this
 * call per chunk.  The return value is fn's first non-zero one, or 0. */
typedef int (*mv_layout_block_fn)(void *ctx, const mv_layout *block);
int mv_layout_range(const mv_layout *l, ptrdiff_t start, ptrdiff_t count, mv_layout_block_fn fn,
                    void *ctx);

/* The suboffset of dimension dim, -1 when there is none. */
static inline ptrdiff_t mv_layout_sub(const mv_layout *l, int dim)
{
    return l->indirect ? l->suboffsets[dim] : -1;
}

/* The address of item i of a row with this stride and suboffset (sub < 0:
 * direct).  Inline: the walkers call it once per item. */
static inline const char *mv_layout_item(const char *row, ptrdiff_t i, ptrdiff_t stride,
                                         ptrdiff_t sub)
{
    const char *p = row + i * stride;
    if (sub >= 0) {
        const char *q;
        memcpy(&q, p, sizeof q);
        p = q + sub;
    }
    return p;
}

/* A 1-D, C-contiguous, direct descriptor whose fields hold together (what
 * most exporters hand out): true means mv_buffer_validate would accept its
 * layout, checked without the general path's loops.  False says nothing:
 * the descriptor goes to the general checks. */
static inline bool mv_buffer_plain_1d(const mv_buffer *b)
{
    if (b->ndim != 1 || b->suboffsets || (b->strides && !b->shape) || b->itemsize <= 0 ||
        b->len < 0 || (!b->buf && b->len != 0) || (b->strides && b->strides[0] != b->itemsize) ||
        UINTPTR_MAX - (uintptr_t)b->buf < (uintptr_t)b->len)
        return false;
    ptrdiff_t bytes;
    if (b->shape)
        return b->shape[0] >= 0 && !mv_mul_overflow(b->shape[0], b->itemsize, &bytes) &&
               bytes == b->len;
    return b->len % b->itemsize == 0;
}

#endif
