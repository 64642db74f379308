/* Layout rules of a buffer descriptor, in one place: validation against the
 * memory it claims, contiguity (PyBuffer_IsContiguous and memoryobject.c's
 * init_flags), item addresses (PyBuffer_GetPointer), contiguous strides,
 * and the walkers' normalised reading of it (shape and strides always
 * present). */
#include "layout.h"

#include <stdint.h>
#include <string.h>

/* C / Fortran contiguity as PyBuffer_IsContiguous computes it (before the
 * suboffsets test).  A descriptor whose sizes overflow is not contiguous. */
static bool is_c_contiguous(const mv_buffer *v)
{
    if (v->len == 0 || !v->strides)
        return true;
    if (!v->shape || v->ndim < 0 || v->ndim > MV_MAX_NDIM)
        return false;
    ptrdiff_t sd = v->itemsize;
    for (int i = v->ndim - 1; i >= 0; i--) {
        ptrdiff_t dim = v->shape[i];
        if (dim > 1 && v->strides[i] != sd)
            return false;
        if (mv_mul_overflow(sd, dim, &sd))
            return false;
    }
    return true;
}

static bool is_f_contiguous(const mv_buffer *v)
{
    if (v->len == 0)
        return true;
    if (v->ndim < 0 || v->ndim > MV_MAX_NDIM)
        return false;
    if (!v->strides) {
        if (v->ndim <= 1)
            return true;
        if (!v->shape)
            return false;
        int big = 0;
        for (int i = 0; i < v->ndim; i++)
            big += v->shape[i] > 1;
        return big <= 1;
    }
    if (!v->shape)
        return false;
    ptrdiff_t sd = v->itemsize;
    for (int i = 0; i < v->ndim; i++) {
        ptrdiff_t dim = v->shape[i];
        if (dim > 1 && v->strides[i] != sd)
            return false;
        if (mv_mul_overflow(sd, dim, &sd))
            return false;
    }
    return true;
}

int mv_buffer_is_contiguous(const mv_buffer *view, char order)
{
    if (!view || view->suboffsets)
        return 0;
    switch (order) {
    case 'C':
        return is_c_contiguous(view);
    case 'F':
        return is_f_contiguous(view);
    case 'A':
        return is_c_contiguous(view) || is_f_contiguous(view);
    default:
        return 0;
    }
}

void *mv_buffer_get_pointer(const mv_buffer *view, const ptrdiff_t *indices, mv_error *err)
{
    if (!view) {
        mv_error_set(err, MV_EVALUE, "get_pointer: view must not be NULL");
        return NULL;
    }
    if (view->ndim < 0 || view->ndim > MV_MAX_NDIM) {
        mv_error_set(err, MV_EVALUE, "get_pointer: invalid ndim %d", view->ndim);
        return NULL;
    }
    if (view->ndim > 0 && !indices) {
        mv_error_set(err, MV_EVALUE, "get_pointer: indices must not be NULL");
        return NULL;
    }
    /* Zero-size items have addresses too, given a shape to count them. */
    if (view->ndim > 0 && (view->itemsize < 0 || (view->itemsize == 0 && !view->shape))) {
        mv_error_set(err, MV_EVALUE, "get_pointer: invalid itemsize %td", view->itemsize);
        return NULL;
    }
    /* A 1-D buffer obtained without MV_BUF_ND has no shape: len/itemsize
     * items.  Without MV_BUF_STRIDES the layout is C-contiguous. */
    ptrdiff_t implied_shape;
    const ptrdiff_t *shape = view->shape;
    if (!shape) {
        if (view->ndim > 1) {
            mv_error_set(err, MV_EVALUE, "get_pointer: %d-dimensional buffer without shape",
                         view->ndim);
            return NULL;
        }
        implied_shape = view->ndim == 1 ? view->len / view->itemsize : 0;
        shape = &implied_shape;
    }
    ptrdiff_t cstrides[MV_MAX_NDIM];
    const ptrdiff_t *strides = view->strides;
    if (!strides && view->ndim > 0) {
        ptrdiff_t sd = view->itemsize;
        for (int i = view->ndim - 1; i >= 0; i--) {
            cstrides[i] = sd;
            if (mv_mul_overflow(sd, shape[i] > 0 ? shape[i] : 0, &sd)) {
                mv_error_set(err, MV_EOVERFLOW, "get_pointer: shape overflows on dimension %d",
                             i + 1);
                return NULL;
            }
        }
        strides = cstrides;
    }
    /* Every index is checked before any pointer is followed: a buffer with
     * no items need not hold valid row pointers (mv_item_pointer). */
    for (int i = 0; i < view->ndim; i++) {
        if (indices[i] < 0 || indices[i] >= shape[i]) {
            mv_error_set(err, MV_EINDEX, "index out of bounds on dimension %d", i + 1);
            return NULL;
        }
    }
    char *p = view->buf;
    for (int i = 0; i < view->ndim; i++) {
        ptrdiff_t off;
        if (mv_mul_overflow(indices[i], strides[i], &off)) {
            mv_error_set(err, MV_EOVERFLOW, "get_pointer: offset overflows on dimension %d",
                         i + 1);
            return NULL;
        }
        /* uintptr_t arithmetic: the exporter vouches for the address, the
         * compiler must not assume it stays inside one C object. */
        p = (char *)((uintptr_t)p + (uintptr_t)off);
        if (view->suboffsets && view->suboffsets[i] >= 0) {
            char *q;
            memcpy(&q, p, sizeof q);
            p = (char *)((uintptr_t)q + (uintptr_t)view->suboffsets[i]);
        }
    }
    return p;
}

void mv_fill_contiguous_strides(int ndim, const ptrdiff_t *shape, ptrdiff_t *strides,
                                ptrdiff_t itemsize, char order)
{
    if (!shape || !strides || ndim <= 0 || ndim > MV_MAX_NDIM)
        return;
    /* Wrapping multiply: the caller guarantees no overflow, but a broken
     * promise must not be undefined behaviour. */
    size_t sd = (size_t)itemsize;
    if (order == 'F') {
        for (int k = 0; k < ndim; k++) {
            strides[k] = (ptrdiff_t)sd;
            sd *= (size_t)shape[k];
        }
    } else {
        for (int k = ndim - 1; k >= 0; k--) {
            strides[k] = (ptrdiff_t)sd;
            sd *= (size_t)shape[k];
        }
    }
}

/* Lowest and highest offsets (relative to buf) at which an item starts.
 * The caller checked that every extent is > 0. */
static int extent_of(int ndim, const ptrdiff_t *shape, const ptrdiff_t *strides, ptrdiff_t *lo,
                     ptrdiff_t *hi, mv_error *err)
{
    ptrdiff_t imin = 0, imax = 0;
    for (int i = 0; i < ndim; i++) {
        ptrdiff_t span;
        if (mv_mul_overflow(strides[i], shape[i] - 1, &span))
            return mv_error_set(err, MV_EOVERFLOW,
                                "strides[%d] = %td times shape[%d] - 1 = %td overflows", i,
                                strides[i], i, shape[i] - 1);
        bool o = span < 0 ? mv_add_overflow(imin, span, &imin) : mv_add_overflow(imax, span, &imax);
        if (o)
            return mv_error_set(err, MV_EOVERFLOW, "memory extent overflows at dimension %d", i);
    }
    *lo = imin;
    *hi = imax;
    return 0;
}

/* Checks shared by mv_layout_validate and mv_buffer_validate: shape values
 * and the product of shape and itemsize.  *zero is set when an extent is 0;
 * *nbytes gets product(shape) * itemsize. */
static int check_shape(int ndim, const ptrdiff_t *shape, ptrdiff_t itemsize, bool *zero,
                       ptrdiff_t *nbytes, mv_error *err)
{
    *zero = false;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return mv_error_set(err, MV_EVALUE, "shape[%d] = %td is negative", i, shape[i]);
        if (shape[i] == 0)
            *zero = true;
    }
    if (*zero) {
        *nbytes = 0;
        return 0;
    }
    /* Zero-size items have 0 bytes, but their count must still fit: it is
     * what walks and comparisons count in. */
    ptrdiff_t n = itemsize > 0 ? itemsize : 1;
    for (int i = 0; i < ndim; i++) {
        if (mv_mul_overflow(n, shape[i], &n))
            return mv_error_set(err, MV_EOVERFLOW,
                                "product(shape) * itemsize overflows at shape[%d] = %td", i,
                                shape[i]);
    }
    *nbytes = itemsize > 0 ? n : 0;
    return 0;
}

int mv_layout_validate(ptrdiff_t memlen, ptrdiff_t itemsize, int ndim, const ptrdiff_t *shape,
                       const ptrdiff_t *strides, ptrdiff_t offset, mv_error *err)
{
    if (memlen < 0)
        return mv_error_set(err, MV_EVALUE, "memory length %td is negative", memlen);
    if (itemsize <= 0)
        return mv_error_set(err, MV_EVALUE, "itemsize must be > 0, not %td", itemsize);
    if (ndim < 0 || ndim > MV_MAX_NDIM)
        return mv_error_set(err, MV_EVALUE, "ndim must be in [0, %d], not %d", MV_MAX_NDIM, ndim);
    if (ndim > 0 && !shape)
        return mv_error_set(err, MV_EVALUE, "shape must not be NULL for ndim %d", ndim);
    if (offset < 0 || offset > memlen)
        return mv_error_set(err, MV_EVALUE, "offset %td is outside the memory (%td bytes)", offset,
                            memlen);
    bool zero = false;
    ptrdiff_t nbytes = 0;
    int rc = check_shape(ndim, shape, itemsize, &zero, &nbytes, err);
    if (rc < 0 || zero)
        return rc;

    ptrdiff_t lo = 0, hi = 0;
    if (strides) {
        rc = extent_of(ndim, shape, strides, &lo, &hi, err);
        if (rc < 0)
            return rc;
    } else {
        hi = nbytes - itemsize;
    }
    ptrdiff_t first, last;
    if (mv_add_overflow(offset, lo, &first) || first < 0)
        return mv_error_set(err, MV_EVALUE,
                            "layout reaches before the start of the memory (offset %td, "
                            "lowest step %td)",
                            offset, lo);
    if (mv_add_overflow(offset, hi, &last) || mv_add_overflow(last, itemsize, &last) ||
        last > memlen)
        return mv_error_set(err, MV_EVALUE,
                            "layout reaches beyond the end of the memory (%td bytes)", memlen);
    return 0;
}

/* mv_buffer_validate's layout checks for any descriptor, out of line. */
static __attribute__((noinline)) int validate_layout(const mv_buffer *view, mv_error *err)
{
    if (view->ndim < 0 || view->ndim > MV_MAX_NDIM)
        return mv_error_set(err, MV_EVALUE, "buffer ndim must be in [0, %d], not %d", MV_MAX_NDIM,
                            view->ndim);
    if (view->len < 0)
        return mv_error_set(err, MV_EVALUE, "buffer len %td is negative", view->len);
    if (!view->buf && view->len != 0)
        return mv_error_set(err, MV_EVALUE, "buffer buf is NULL but len is %td", view->len);
    if (view->itemsize < 0 || (view->itemsize == 0 && view->len != 0))
        return mv_error_set(err, MV_EVALUE, "buffer itemsize %td is invalid for len %td",
                            view->itemsize, view->len);
    if (!view->shape && (view->strides || view->suboffsets))
        return mv_error_set(err, MV_EVALUE, "buffer has strides or suboffsets but no shape");

    if (!view->shape) {
        /* Without a shape: a 0-dim item, or 1-D of len / itemsize items. */
        if (view->ndim > 1)
            return mv_error_set(err, MV_EVALUE, "buffer shape is NULL but ndim is %d",
                                view->ndim);
        if (view->ndim == 0 && view->len != view->itemsize)
            return mv_error_set(err, MV_EVALUE, "buffer len %td != itemsize %td for ndim 0",
                                view->len, view->itemsize);
        if (view->itemsize > 0 && view->len % view->itemsize != 0)
            return mv_error_set(err, MV_EVALUE, "buffer len %td is not a multiple of itemsize %td",
                                view->len, view->itemsize);
        if (UINTPTR_MAX - (uintptr_t)view->buf < (uintptr_t)view->len)
            return mv_error_set(err, MV_EOVERFLOW, "buffer len reaches outside the address space");
    } else {
        bool zero = false;
        ptrdiff_t nbytes = 0;
        int rc = check_shape(view->ndim, view->shape, view->itemsize, &zero, &nbytes, err);
        if (rc < 0)
            return rc;
        if (nbytes != view->len)
            return mv_error_set(err, MV_EVALUE,
                                "buffer len %td != product(shape) * itemsize = %td", view->len,
                                nbytes);
        if (view->strides && !zero && view->ndim > 0) {
            ptrdiff_t lo = 0, hi = 0, end;
            rc = extent_of(view->ndim, view->shape, view->strides, &lo, &hi, err);
            if (rc < 0)
                return rc;
            if (mv_add_overflow(hi, view->itemsize, &end))
                return mv_error_set(err, MV_EOVERFLOW, "buffer extent overflows");
            uintptr_t b = (uintptr_t)view->buf;
            if ((lo < 0 && b < (uintptr_t)0 - (uintptr_t)lo) ||
                (end > 0 && UINTPTR_MAX - b < (uintptr_t)end))
                return mv_error_set(err, MV_EOVERFLOW,
                                    "buffer strides reach outside the address space");
        } else if (!zero && view->len > 0) {
            if (UINTPTR_MAX - (uintptr_t)view->buf < (uintptr_t)view->len)
                return mv_error_set(err, MV_EOVERFLOW,
                                    "buffer len reaches outside the address space");
        }
    }
    return 0;
}

/* The format parsed and its size checked against itemsize, out of line. */
static __attribute__((noinline)) int validate_format(const mv_buffer *view, mv_error *err)
{
    mv_format fmt;
    int rc = mv_format_parse(&fmt, view->format, err);
    if (rc < 0)
        return rc;
    ptrdiff_t size = fmt.itemsize;
    mv_format_clear(&fmt);
    if (size != view->itemsize)
        return mv_error_set(err, MV_EVALUE,
                            "buffer itemsize %td does not match format '%s' (size %td)",
                            view->itemsize, view->format, size);
    return 0;
}

int mv_buffer_validate(const mv_buffer *view, mv_error *err)
{
    if (!view)
        return mv_error_set(err, MV_EVALUE, "buffer must not be NULL");
    /* The common 1-D layout needs none of the general loops, and a native
     * format that matches itemsize no parse (which would allocate). */
    if (!mv_buffer_plain_1d(view)) {
        int rc = validate_layout(view, err);
        if (rc < 0)
            return rc;
    }
    ptrdiff_t size = 0;
    if (!view->format || (mv_format_native(view->format, &size) && size == view->itemsize))
        return 0;
    return validate_format(view, err);
}

int mv_layout_flags_nd(const mv_buffer *b)
{
    int flags = 0;
    if (mv_buffer_is_contiguous(b, 'C'))
        flags |= MV_CONTIG_C;
    if (mv_buffer_is_contiguous(b, 'F'))
        flags |= MV_CONTIG_F;
    return flags;
}

/* l->contig from the fields mv_layout_flags reads: every way of making a
 * layout ends here. */
static void layout_set_contig(mv_layout *l)
{
    mv_buffer d = mv_layout_as_buffer(l);
    l->contig = (unsigned char)mv_layout_flags(&d);
}

int mv_layout_init(mv_layout *l, const mv_buffer *b, mv_error *err)
{
    if (b->ndim < 0 || b->ndim > MV_MAX_NDIM)
        return mv_error_set(err, MV_EVALUE, "buffer ndim %d out of range 0..%d", b->ndim,
                            MV_MAX_NDIM);
    if (b->itemsize < 0 || b->len < 0)
        return mv_error_set(err, MV_EVALUE, "buffer has a negative itemsize or len");
    int ndim = b->ndim;
    l->buf = b->buf;
    l->ndim = ndim;
    l->itemsize = b->itemsize;
    l->len = b->len;
    l->format = b->format ? b->format : "B";
    l->readonly = b->readonly != 0;
    /* A 0-dim layout has no dimension to follow a pointer in (the view
     * drops such suboffsets too). */
    l->indirect = b->suboffsets != NULL && b->ndim > 0;
    size_t n = (size_t)ndim * sizeof(ptrdiff_t);
    if (b->shape) {
        memcpy(l->shape, b->shape, n);
    } else if (ndim == 1) {
        /* A buffer obtained without MV_BUF_ND is one dimension of bytes. */
        if (b->itemsize == 0)
            return mv_error_set(err, MV_EVALUE, "buffer has itemsize 0");
        l->shape[0] = b->len / b->itemsize;
    } else if (ndim > 1) {
        return mv_error_set(err, MV_EVALUE, "buffer of %d dimensions has no shape", ndim);
    }
    for (int i = 0; i < ndim; i++)
        if (l->shape[i] < 0)
            return mv_error_set(err, MV_EVALUE, "buffer shape[%d] is negative", i);
    if (b->strides) {
        memcpy(l->strides, b->strides, n);
    } else {
        /* C order, as CPython fills them: an extent of 0 makes the strides
         * outside it 0.  Such a layout has no bytes, so a product that
         * overflows only matters when every extent is positive. */
        bool empty = !mv_has_items(ndim, l->shape);
        ptrdiff_t s = b->itemsize;
        for (int i = ndim - 1; i >= 0; i--) {
            l->strides[i] = s;
            if (mv_mul_overflow(s, l->shape[i], &s)) {
                if (!empty)
                    return mv_error_set(err, MV_EOVERFLOW, "buffer shape overflows");
                s = 0;
            }
        }
    }
    if (b->suboffsets)
        memcpy(l->suboffsets, b->suboffsets, n);
    layout_set_contig(l);
    return 0;
}

void mv_layout_load(mv_layout *l, const mv_buffer *b, int contig)
{
    size_t n = (size_t)b->ndim * sizeof(ptrdiff_t);
    l->buf = b->buf;
    l->len = b->len;
    l->itemsize = b->itemsize;
    l->format = b->format ? b->format : "B";
    l->ndim = b->ndim;
    l->readonly = b->readonly != 0;
    /* A 0-dim layout has no dimension to follow a pointer in (the view
     * drops such suboffsets too). */
    l->indirect = b->suboffsets != NULL && b->ndim > 0;
    l->contig = (unsigned char)contig;
    if (n > 0) {
        memcpy(l->shape, b->shape, n);
        memcpy(l->strides, b->strides, n);
        if (b->suboffsets)
            memcpy(l->suboffsets, b->suboffsets, n);
    }
}

void mv_layout_buffer(const mv_layout *l, mv_buffer *out)
{
    if (l && out)
        *out = mv_layout_as_buffer(l);
}

void mv_layout_copy(mv_layout *out, const mv_layout *l)
{
    if (out == l)
        return;
    out->buf = l->buf;
    out->len = l->len;
    out->itemsize = l->itemsize;
    out->format = l->format;
    out->ndim = l->ndim;
    out->readonly = l->readonly;
    out->indirect = l->indirect;
    out->contig = l->contig;
    /* A loop, not memcpy: most layouts have one or two dimensions. */
    for (int d = 0; d < l->ndim; d++) {
        out->shape[d] = l->shape[d];
        out->strides[d] = l->strides[d];
        if (l->indirect)
            out->suboffsets[d] = l->suboffsets[d];
    }
}

/* mv_layout_from_buffer for any descriptor: the full checks, then the
 * layout made aside so that *l stays unchanged on error.  Out of line,
 * so that the plain 1-D path builds no frame. */
static __attribute__((noinline)) int from_buffer_general(mv_layout *l, const mv_buffer *b,
                                                         mv_error *err)
{
    /* NULL means "B" for a layout, and must match itemsize like any other. */
    mv_buffer c = *b;
    c.format = b->format ? b->format : "B";
    mv_layout t;
    int rc = mv_buffer_validate(&c, err);
    if (rc == 0 && (rc = mv_layout_init(&t, &c, err)) == 0)
        mv_layout_copy(l, &t);
    return rc;
}

int mv_layout_from_buffer(mv_layout *l, const mv_buffer *b, mv_error *err)
{
    if (!l || !b)
        return mv_error_set(err, MV_EVALUE, MV_MSG_LAYOUT_NULL);
    ptrdiff_t size = 0;
    char native = mv_format_native(b->format, &size);
    if (!native || b->itemsize != size || !mv_buffer_plain_1d(b))
        return from_buffer_general(l, b, err);
    /* What most exporters hand out: one contiguous dimension of a native
     * single-character format, consistent as mv_buffer_plain_1d checked. */
    l->buf = b->buf;
    l->len = b->len;
    l->itemsize = size;
    l->format = b->format ? b->format : "B";
    l->ndim = 1;
    l->readonly = b->readonly != 0;
    l->indirect = false;
    l->contig = MV_CONTIG_C | MV_CONTIG_F;
    l->shape[0] = b->shape ? b->shape[0] : mv_div_nonneg(b->len, size);
    l->strides[0] = size;
    return 0;
}

int mv_layout_is_contiguous(const mv_layout *l, char order)
{
    return l ? mv_contig_order(l->contig, order) == 1 : 0;
}

int mv_layout_finish(mv_layout *l, mv_error *err)
{
    if (mv_shape_bytes(l->itemsize, l->ndim, l->shape, &l->len))
        return mv_error_set(err, MV_EOVERFLOW, "memoryview: product(shape) * itemsize overflows");
    layout_set_contig(l);
    return 0;
}

int mv_layout_count(const mv_layout *l, ptrdiff_t *n, mv_error *err)
{
    ptrdiff_t c = 1;
    if (mv_layout_has_zero(l)) {
        *n = 0;
        return 0;
    }
    for (int i = 0; i < l->ndim; i++)
        if (mv_mul_overflow(c, l->shape[i], &c))
            return mv_error_set(err, MV_EOVERFLOW, "memoryview: product(shape) overflows");
    *n = c;
    return 0;
}

typedef struct range_walk {
    const mv_layout *l;
    mv_layout_block_fn fn;
    void *ctx;
    ptrdiff_t step[MV_MAX_NDIM]; /* items per index of each dimension */
} range_walk;

/* Indices [first, first + count) of dimension dim, whole below it, from
 * base (the address dimension dim's indices step from). */
static int range_block(const range_walk *w, int dim, const char *base, ptrdiff_t first,
                       ptrdiff_t count)
{
    const mv_layout *l = w->l;
    mv_layout b;
    b.ndim = l->ndim - dim;
    b.itemsize = l->itemsize;
    b.format = l->format;
    b.readonly = l->readonly;
    b.indirect = l->indirect;
    b.buf = mv_advance(base, first * l->strides[dim]);
    b.len = count * w->step[dim] * l->itemsize; /* part of the layout's len */
    size_t n = (size_t)b.ndim * sizeof(ptrdiff_t);
    memcpy(b.shape, l->shape + dim, n);
    b.shape[0] = count;
    memcpy(b.strides, l->strides + dim, n);
    if (l->indirect)
        memcpy(b.suboffsets, l->suboffsets + dim, n);
    layout_set_contig(&b);
    return w->fn(w->ctx, &b);
}

/* Items [a, b) (a < b) of the sub-array of dimensions dim.. at base: a
 * partial first index, the whole indices between, a partial last index. */
static int range_rec(const range_walk *w, int dim, const char *base, ptrdiff_t a, ptrdiff_t b)
{
    const mv_layout *l = w->l;
    ptrdiff_t s = w->step[dim], i0 = a / s, i1 = (b - 1) / s;
    ptrdiff_t stride = l->strides[dim], sub = mv_layout_sub(l, dim);
    ptrdiff_t whole0 = a % s ? i0 + 1 : i0, whole1 = b % s ? i1 : i1 + 1;
    int rc = 0;
    if (i0 == i1 && (a % s || b % s)) /* inside one index */
        return range_rec(w, dim + 1, mv_layout_item(base, i0, stride, sub), a - i0 * s,
                         b - i0 * s);
    if (a % s)
        rc = range_rec(w, dim + 1, mv_layout_item(base, i0, stride, sub), a - i0 * s, s);
    if (rc == 0 && whole1 > whole0)
        rc = range_block(w, dim, base, whole0, whole1 - whole0);
    if (rc == 0 && b % s)
        rc = range_rec(w, dim + 1, mv_layout_item(base, i1, stride, sub), 0, b - i1 * s);
    return rc;
}

int mv_layout_range(const mv_layout *l, ptrdiff_t start, ptrdiff_t count, mv_layout_block_fn fn,
                    void *ctx)
{
    if (count <= 0)
        return 0;
    if (l->ndim == 0)
        return fn(ctx, l);
    range_walk w = {.l = l, .fn = fn, .ctx = ctx};
    /* The caller checked start + count <= the item count, which fits. */
    w.step[l->ndim - 1] = 1;
    for (int d = l->ndim - 1; d > 0; d--)
        w.step[d - 1] = w.step[d] * l->shape[d];
    return range_rec(&w, 0, l->buf, start, start + count);
}
