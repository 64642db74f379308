/* Cast rules: CPython's checks on a cast's source, destination format and
 * shape, in its order with its messages, and the extended (non-strict)
 * rules; the new layout of the memory (mv_cast).  mv_layout_cast returns
 * it; mv_view_cast attaches it to the view's managed buffer. */
#include "layout.h"

/* ---- cast -------------------------------------------------------------- */

#define MSG_CAST_C "memoryview: casts are restricted to C-contiguous views"

static bool is_byte_code(char c)
{
    return c == 'b' || c == 'B' || c == 'c';
}

/* CPython's checks on the source b (contiguity `flags` from mv_layout_flags)
 * before the format is looked at; ndim < 0: no shape given. */
static int cast_check_source(const mv_buffer *b, int flags, int ndim, bool strict, mv_error *err)
{
    bool has_shape = ndim >= 0;
    if (strict) {
        if (!(flags & MV_CONTIG_C))
            return mv_error_set(err, MV_ETYPE, MSG_CAST_C);
        if (has_shape || b->ndim != 1) {
            for (int i = 0; i < b->ndim; i++)
                if (b->shape[i] == 0)
                    return mv_error_set(err, MV_ETYPE,
                                        "memoryview: cannot cast view with zeros "
                                        "in shape or strides");
        }
    } else if (!flags) {
        return mv_error_set(err, MV_ETYPE,
                            "memoryview: casts are restricted to C-contiguous or "
                            "Fortran-contiguous views");
    }
    if (has_shape && ndim > MV_MAX_NDIM)
        return mv_error_set(err, MV_EVALUE, MV_MSG_NDIM);
    if (strict && has_shape && b->ndim != 1 && ndim != 1)
        return mv_error_set(err, MV_ETYPE, "memoryview: cast must be 1D -> ND or ND -> 1D");
    return 0;
}

/* The destination's checks: src / dest are the native codes (0: none, or a
 * destination that does not parse), itemsize the destination's.  A wide
 * cast's caller has already refused a destination that does not parse. */
static int cast_check_format(char src, char dest, ptrdiff_t itemsize, const char *text, bool strict,
                             mv_error *err)
{
    if (strict) {
        if (!dest)
            return mv_error_set(err, MV_EVALUE,
                                "memoryview: destination format must be a native single "
                                "character format prefixed with an optional '@'");
        if (!is_byte_code(src) && !is_byte_code(dest))
            return mv_error_set(err, MV_ETYPE,
                                "memoryview: cannot cast between two non-byte formats");
        return 0;
    }
    if (itemsize <= 0)
        return mv_error_set(err, MV_EVALUE, "memoryview.cast(): format '%s' has itemsize 0",
                            text);
    return 0;
}

/* The argument checks: format non-NULL, known flags, shape for ndim > 0. */
static int cast_args(const char *format, const ptrdiff_t *shape, int ndim, int flags, mv_error *err)
{
    if (!format)
        return mv_error_set(err, MV_EVALUE, "memoryview.cast(): format must not be NULL");
    if (flags & ~(MV_CAST_STRICT | MV_CAST_FORTRAN))
        return mv_error_set(err, MV_EVALUE, "memoryview.cast(): invalid flags 0x%x",
                            (unsigned)flags);
    if (ndim > 0 && !shape)
        return mv_error_set(err, MV_EVALUE, "memoryview.cast(): shape must not be NULL");
    return 0;
}

/* cast_to_ND: the length check, the shape's checks, then the new layout of
 * b's memory in *l (C order, or F with fortran; itemsize and format the
 * destination's, readonly b's). */
static int cast_shape(const mv_buffer *b, const ptrdiff_t *shape, int ndim, ptrdiff_t itemsize,
                      const char *format, bool fortran, mv_layout *l, mv_error *err)
{
    if (b->len % itemsize)
        return mv_error_set(err, MV_ETYPE, "memoryview: length is not a multiple of itemsize");
    l->buf = b->buf;
    l->indirect = false;
    l->itemsize = itemsize;
    l->format = format;
    l->readonly = b->readonly != 0;
    if (ndim < 0) {
        l->ndim = 1;
        l->shape[0] = b->len / itemsize;
    } else {
        ptrdiff_t len = itemsize;
        l->ndim = ndim;
        for (int i = 0; i < ndim; i++) {
            if (shape[i] <= 0)
                return mv_error_set(err, MV_EVALUE,
                                    "memoryview.cast(): elements of shape must be integers > 0");
            if (shape[i] > PTRDIFF_MAX / len)
                return mv_error_set(err, MV_EVALUE,
                                    "memoryview.cast(): product(shape) > SSIZE_MAX");
            len *= shape[i];
            l->shape[i] = shape[i];
        }
        if (len != b->len)
            return mv_error_set(err, MV_ETYPE,
                                "memoryview: product(shape) * itemsize != buffer size");
    }
    if (l->ndim > 0)
        mv_fill_contiguous_strides(l->ndim, l->shape, l->strides, itemsize, fortran ? 'F' : 'C');
    return mv_layout_finish(l, err);
}

int mv_cast(const mv_buffer *b, int contig, const char *format, const ptrdiff_t *shape, int ndim,
            int flags, mv_layout *out, mv_error *err)
{
    bool strict = flags & MV_CAST_STRICT;
    int rc;
    if ((rc = cast_args(format, shape, ndim, flags, err)) < 0 ||
        (rc = cast_check_source(b, contig, ndim, strict, err)) < 0)
        return rc;
    ptrdiff_t itemsize = 0, size = 0;
    char dest = mv_format_native(format, &itemsize);
    if (!dest) {
        /* A destination that does not parse is refused by strict casts
         * with their own message, by wide ones with the parse error. */
        mv_format fmt;
        rc = mv_format_parse(&fmt, format, strict ? NULL : err);
        if (rc == MV_ENOMEM)
            return mv_error_set(err, MV_ENOMEM, "out of memory");
        if (rc < 0 && !strict)
            return rc;
        if (rc == 0) {
            itemsize = fmt.itemsize;
            dest = fmt.native;
            mv_format_clear(&fmt);
        }
    }
    if ((rc = cast_check_format(mv_format_native(b->format, &size), dest, itemsize, format, strict,
                                err)) < 0)
        return rc;
    return cast_shape(b, shape, ndim, itemsize, format, flags & MV_CAST_FORTRAN, out, err);
}

int mv_layout_cast(mv_layout *out, const mv_layout *l, const char *format, const ptrdiff_t *shape,
                   int ndim, int flags, mv_error *err)
{
    if (!out || !l)
        return mv_error_set(err, MV_EVALUE, MV_MSG_LAYOUT_NULL);
    mv_buffer b = mv_layout_as_buffer(l);
    mv_layout t;
    int rc = mv_cast(&b, l->contig, format, shape, ndim, flags, &t, err);
    if (rc == 0)
        mv_layout_copy(out, &t);
    return rc;
}
