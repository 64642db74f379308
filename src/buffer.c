/* mv_buffer: the Py_buffer twin.  Getting and releasing buffers (with the
 * export count kept centrally, so exporters only describe memory), request
 * flag handling (PyBuffer_FillInfo and memoryview's memory_getbuf), and
 * layout helpers: contiguity, item addresses, contiguous strides and
 * validation of descriptors against the memory they claim. */
#include "internal.h"

#include <stdint.h>
#include <string.h>

static int check_flags(int flags, mv_error *err)
{
    if (flags & ~MV_BUF_REQUEST_BITS)
        return mv_error_set(err, MV_EVALUE, "invalid buffer request flags 0x%x", (unsigned)flags);
    return 0;
}

/* True when every bit of `want` is in `flags` (the REQ_* macros of
 * memoryobject.c: the composite flags include STRIDES and ND). */
static bool req(int flags, int want)
{
    return (flags & want) == want;
}

/* The refusals of mv_object_getbuffer, out of line: the path that hands
 * out a buffer then needs no saved registers. */
static __attribute__((noinline, cold)) int getbuffer_refuse(const mv_object *exporter,
                                                             mv_buffer *view, int flags,
                                                             mv_error *err)
{
    if (!view)
        return mv_error_set(err, MV_EVALUE, "getbuffer: view must not be NULL");
    memset(view, 0, sizeof *view);
    if (!exporter)
        return mv_error_set(err, MV_EVALUE, "getbuffer: exporter must not be NULL");
    int rc = check_flags(flags, err);
    if (rc < 0)
        return rc;
    return mv_error_set(err, MV_ETYPE, "a bytes-like object is required, not '%s'",
                        mv_object_type_name(exporter));
}

int mv_object_getbuffer(mv_object *exporter, mv_buffer *view, int flags, mv_error *err)
{
    if (!view || !exporter || (flags & ~MV_BUF_REQUEST_BITS) || !exporter->type ||
        !exporter->type->getbuffer)
        return getbuffer_refuse(exporter, view, flags, err);
    if (mv_plain_getbuffer(exporter, view, flags))
        return 0;
    memset(view, 0, sizeof *view);
    int rc = exporter->type->getbuffer(exporter, view, flags, err);
    if (rc < 0) {
        view->obj = NULL;
        return rc;
    }
    if (!view->obj) {
        mv_incref(exporter);
        view->obj = exporter;
    }
    /* The count lives on view->obj, the object mv_buffer_release will see
     * (an exporter may redirect to another object). */
    mv_object *owner = view->obj;
    if (MV_EXPORTS(atomic_load_explicit(&owner->counts, memory_order_relaxed)) >=
        MV_EXPORTS_MAX) {
        if (owner->type && owner->type->releasebuffer)
            owner->type->releasebuffer(owner, view);
        view->obj = NULL;
        mv_decref(owner);
        return mv_error_set(err, MV_EBUFFER, "too many exports of one object (at most %zu)",
                            MV_EXPORTS_MAX);
    }
    mv_counts_add(&owner->counts, MV_EXPORT_ONE, mv_is_local(owner));
    return 0;
}

void mv_buffer_release(mv_buffer *view)
{
    if (!view || !view->obj)
        return;
    mv_object *obj = view->obj;
    if (obj->type && obj->type->releasebuffer)
        obj->type->releasebuffer(obj, view);
    view->obj = NULL;
    /* The export and its reference in one step, without looking first (a
     * load before a locked instruction waits for the one before it: ~4 ns
     * here).  What the buffer did not hold is put back: the export of one
     * filled without mv_object_getbuffer, the reference of an immortal
     * object (whose count taking a buffer left as it was). */
    bool local = mv_is_local(obj);
    uint64_t old = mv_counts_add(&obj->counts, 0 - (MV_EXPORT_ONE + MV_REF_ONE), local);
    uint64_t back = (MV_EXPORTS(old) == 0 ? MV_EXPORT_ONE : 0) +
                    (MV_REFS(old) >= MV_REFS_IMMORTAL ? MV_REF_ONE : 0);
    if (back)
        mv_counts_add(&obj->counts, back, local);
    if (MV_REFS(old) == 1 && obj->type && obj->type->destroy)
        obj->type->destroy(obj);
}

/* The refusals of mv_buffer_fill_info, in its order, out of line (as
 * getbuffer_refuse). */
static __attribute__((noinline, cold)) int fill_info_refuse(const mv_buffer *view, const void *buf,
                                                             ptrdiff_t len, int flags,
                                                             mv_error *err)
{
    if (!view)
        return mv_error_set(err, MV_EBUFFER, "PyBuffer_FillInfo: view==NULL argument is obsolete");
    int rc = check_flags(flags, err);
    if (rc < 0)
        return rc;
    if (len < 0)
        return mv_error_set(err, MV_EVALUE, "PyBuffer_FillInfo: negative len %td", len);
    if (!buf && len > 0)
        return mv_error_set(err, MV_EVALUE, "PyBuffer_FillInfo: buf is NULL but len is %td", len);
    return mv_error_set(err, MV_EBUFFER, "Object is not writable.");
}

int mv_buffer_fill_info(mv_buffer *view, mv_object *exporter, void *buf, ptrdiff_t len,
                        int readonly, int flags, mv_error *err)
{
    if (!view || (flags & ~MV_BUF_REQUEST_BITS) || len < 0 || (!buf && len > 0) ||
        ((flags & MV_BUF_WRITABLE) && readonly))
        return fill_info_refuse(view, buf, len, flags, err);
    mv_fill_info_checked(view, exporter, buf, len, readonly, flags);
    return 0;
}

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

/* memoryobject.c's init_flags: the contiguity memory_getbuf tests. */
enum { FLAG_C = 1, FLAG_F = 2, FLAG_PIL = 4 };

static int layout_flags(const mv_buffer *v)
{
    int flags = 0;
    if (v->ndim == 0) {
        flags = FLAG_C | FLAG_F;
    } else if (v->ndim == 1) {
        if (!v->shape || !v->strides || v->shape[0] == 1 || v->strides[0] == v->itemsize)
            flags = FLAG_C | FLAG_F;
    } else {
        if (is_c_contiguous(v))
            flags |= FLAG_C;
        if (is_f_contiguous(v))
            flags |= FLAG_F;
    }
    if (v->suboffsets)
        flags = FLAG_PIL;
    return flags;
}

int mv_buffer_answer(mv_buffer *out, const mv_buffer *full, mv_object *exporter, int flags,
                     mv_error *err)
{
    if (!out || !full)
        return mv_error_set(err, MV_EVALUE, "getbuffer: NULL buffer");
    int rc = check_flags(flags, err);
    if (rc < 0)
        return rc;
    if (full->ndim < 0 || full->ndim > MV_MAX_NDIM)
        return mv_error_set(err, MV_EVALUE, "memoryview: number of dimensions must not exceed 64");

    int base = layout_flags(full);
    mv_buffer v = *full;
    v.obj = NULL;
    v.internal = NULL;

    if ((flags & MV_BUF_WRITABLE) && full->readonly)
        return mv_error_set(err, MV_EBUFFER, "memoryview: underlying buffer is not writable");
    if (!(flags & MV_BUF_FORMAT))
        v.format = NULL;
    if (req(flags, MV_BUF_C_CONTIGUOUS) && !(base & FLAG_C))
        return mv_error_set(err, MV_EBUFFER, "memoryview: underlying buffer is not C-contiguous");
    if (req(flags, MV_BUF_F_CONTIGUOUS) && !(base & FLAG_F))
        return mv_error_set(err, MV_EBUFFER,
                            "memoryview: underlying buffer is not Fortran contiguous");
    if (req(flags, MV_BUF_ANY_CONTIGUOUS) && !(base & (FLAG_C | FLAG_F)))
        return mv_error_set(err, MV_EBUFFER, "memoryview: underlying buffer is not contiguous");
    if (!req(flags, MV_BUF_INDIRECT) && (base & FLAG_PIL))
        return mv_error_set(err, MV_EBUFFER,
                            "memoryview: underlying buffer requires suboffsets");
    if (!req(flags, MV_BUF_STRIDES)) {
        if (!(base & FLAG_C))
            return mv_error_set(err, MV_EBUFFER,
                                "memoryview: underlying buffer is not C-contiguous");
        v.strides = NULL;
    }
    if (!req(flags, MV_BUF_ND)) {
        if (v.format)
            return mv_error_set(err, MV_EBUFFER,
                                "memoryview: cannot cast to unsigned bytes if the format flag "
                                "is present");
        v.ndim = 1;
        v.shape = NULL;
    }

    mv_incref(exporter);
    v.obj = exporter;
    *out = v;
    return 0;
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

ptrdiff_t mv_size_from_format(const char *format, mv_error *err)
{
    /* NULL means "B", as everywhere in a buffer descriptor. */
    if (!format)
        return 1;
    mv_format fmt;
    if (mv_format_parse(&fmt, format, err) < 0)
        return -1;
    ptrdiff_t size = fmt.itemsize;
    mv_format_clear(&fmt);
    return size;
}
