/* mv_span: views held by value.
 *
 * A span is a copy of a descriptor with its arrays inline, so nothing here
 * allocates or counts: that is the point (an mv_view pays a malloc and
 * counted references for its lifetime guarantees).  Creation checks the
 * descriptor once, as mv_buffer_validate does; every span derived from a
 * checked one by mv_span_slice stays consistent, because slicing only
 * narrows extents inside the checked layout (mv_select, shared with views,
 * with its overflow checks).  The common 1-D native descriptor is checked
 * inline, without a format parse.
 */
#include "view.h"

#include <stdlib.h>
#include <string.h>

#define MSG_NDIM "span: ndim must be in [0, %d], not %d"

/* What most exporters hand out: a plain 1-D descriptor of a native
 * single-character format (code, of itemsize size), checked without the
 * general path's format parse. */
static bool plain_1d(const mv_buffer *b, char code, ptrdiff_t size)
{
    return code && b->itemsize == size && mv_buffer_plain_1d(b);
}

/* Copy a descriptor known to be consistent, direct and of at most
 * MV_SPAN_MAX_NDIM dimensions into *span. */
static void span_fill(mv_span *span, const mv_buffer *b, char native)
{
    span->buf = b->buf;
    span->len = b->len;
    span->itemsize = b->itemsize;
    span->format = b->format ? b->format : "B";
    span->ndim = b->ndim;
    span->readonly = b->readonly != 0;
    span->native = native;
    for (int d = 0; d < b->ndim; d++)
        span->shape[d] = b->shape ? b->shape[d] : b->len / b->itemsize;
    if (b->strides)
        for (int d = 0; d < b->ndim; d++)
            span->strides[d] = b->strides[d];
    else if (b->ndim > 0)
        mv_fill_contiguous_strides(b->ndim, span->shape, span->strides, b->itemsize, 'C');
}

/* The one-dimensional contiguous span of n items of `size` bytes at buf:
 * what most exporters hand out, filled without span_fill's loops. */
static inline void span_fill_1d(mv_span *span, char *buf, ptrdiff_t n, ptrdiff_t size,
                                const char *format, char native, bool readonly)
{
    span->buf = buf;
    span->len = n * size;
    span->itemsize = size;
    span->format = format;
    span->ndim = 1;
    span->readonly = readonly;
    span->native = native;
    span->shape[0] = n;
    span->strides[0] = size;
}

/* Everything of src but its layout into *out (a slice's result). */
static void span_head(mv_span *out, const mv_span *src)
{
    out->itemsize = src->itemsize;
    out->format = src->format;
    out->readonly = src->readonly;
    out->native = src->native;
}

/* The checks a descriptor needs to become a span, beyond mv_buffer_validate. */
static int span_check(const mv_buffer *b, mv_error *err)
{
    if (b->ndim < 0 || b->ndim > MV_SPAN_MAX_NDIM)
        return mv_error_set(err, MV_EVALUE, MSG_NDIM, MV_SPAN_MAX_NDIM, b->ndim);
    for (int d = 0; b->suboffsets && b->shape && d < b->ndim; d++)
        if (b->suboffsets[d] >= 0)
            return mv_error_set(err, MV_EVALUE,
                                "span: indirect buffers (suboffsets) cannot be spans");
    if (b->itemsize <= 0)
        return mv_error_set(err, MV_EVALUE, "span: itemsize must be > 0");
    return 0;
}

/* mv_span_from_buffer for any descriptor: the full checks.  Out of line,
 * so that the plain 1-D path saves no registers and builds no frame. */
static __attribute__((noinline)) int span_from_general(mv_span *span, const mv_buffer *b,
                                                       char native, mv_error *err)
{
    int rc = span_check(b, err);
    if (rc < 0)
        return rc;
    /* NULL means "B" for a span, and must match itemsize like any other. */
    mv_buffer c = *b;
    c.format = b->format ? b->format : "B";
    if ((rc = mv_buffer_validate(&c, err)) < 0)
        return rc;
    span_fill(span, b, native);
    return 0;
}

int mv_span_from_buffer(mv_span *span, const mv_buffer *b, mv_error *err)
{
    if (!span || !b)
        return mv_error_set(err, MV_EVALUE, "span: NULL argument");
    ptrdiff_t size = 0;
    char native = mv_format_native(b->format, &size);
    if (plain_1d(b, native, size)) {
        ptrdiff_t n = b->shape ? b->shape[0] : mv_div_nonneg(b->len, size);
        span_fill_1d(span, b->buf, n, size, b->format ? b->format : "B", native,
                     b->readonly != 0);
        return 0;
    }
    return span_from_general(span, b, native, err);
}

/* mv_span_acquire through the exporter's type: the documented two calls.
 * Out of line, so that the MV_TYPE_FILL_INFO path builds no frame. */
static __attribute__((noinline)) int acquire_general(mv_span *span, mv_buffer *hold,
                                                     mv_object *exporter, int flags,
                                                     mv_error *err)
{
    if (!span)
        return mv_error_set(err, MV_EVALUE, "span: NULL argument");
    int rc = mv_object_getbuffer(exporter, hold, flags, err);
    if (rc == 0 && (rc = mv_span_from_buffer(span, hold, err)) == 0)
        return 0;
    if (hold) {
        mv_buffer_release(hold);
        memset(hold, 0, sizeof *hold);
    }
    return rc;
}

int mv_span_acquire(mv_span *span, mv_buffer *hold, mv_object *exporter, int flags,
                    mv_error *err)
{
    if (!span || !hold || !exporter || (flags & ~MV_BUF_REQUEST_BITS) ||
        !mv_plain_getbuffer(exporter, hold, flags))
        return acquire_general(span, hold, exporter, flags, err);
    /* A MV_TYPE_FILL_INFO exporter: mv_span_from_buffer's plain 1-D path
     * without its checks and format lookup (the descriptor is ours). */
    span_fill_1d(span, hold->buf, hold->len, 1, "B", 'B', hold->readonly != 0);
    return 0;
}

int mv_span_from_descriptor(mv_span *span, const mv_buffer *b, char native, mv_error *err)
{
    int rc = span_check(b, err);
    if (rc < 0)
        return rc;
    span_fill(span, b, native);
    return 0;
}

/* The span as a descriptor (its arrays lent). */
static mv_buffer span_as_buffer(const mv_span *span)
{
    return (mv_buffer){
        .buf = span->buf,
        .obj = NULL,
        .len = span->len,
        .itemsize = span->itemsize,
        .readonly = span->readonly,
        .ndim = span->ndim,
        .format = span->format,
        .shape = span->ndim > 0 ? (ptrdiff_t *)span->shape : NULL,
        .strides = span->ndim > 0 ? (ptrdiff_t *)span->strides : NULL,
    };
}

void mv_span_buffer(const mv_span *span, mv_buffer *out)
{
    if (span && out)
        *out = span_as_buffer(span);
}

/* Any keys: mv_select, then the result checked against the span's limit.
 * Kept out of line so that the one-slice path stays a leaf. */
static __attribute__((noinline)) int slice_general(mv_span *out, const mv_span *span,
                                                   const mv_key *keys, int nkeys, mv_error *err)
{
    mv_buffer b = span_as_buffer(span);
    mv_layout sel;
    int rc = mv_select(&b, keys, nkeys, &sel, err);
    if (rc < 0)
        return rc;
    if (sel.ndim > MV_SPAN_MAX_NDIM)
        return mv_error_set(err, MV_EVALUE, MSG_NDIM, MV_SPAN_MAX_NDIM, sel.ndim);
    span_head(out, span);
    out->buf = sel.buf;
    out->len = sel.len;
    out->ndim = sel.ndim;
    memcpy(out->shape, sel.shape, (size_t)sel.ndim * sizeof(ptrdiff_t));
    memcpy(out->strides, sel.strides, (size_t)sel.ndim * sizeof(ptrdiff_t));
    return 0;
}

int mv_span_slice(mv_span *out, const mv_span *span, const mv_key *keys, int nkeys, mv_error *err)
{
    if (!out || !span)
        return mv_error_set(err, MV_EVALUE, "span: NULL argument");
    if (span->ndim < 0 || span->ndim > MV_SPAN_MAX_NDIM)
        return mv_error_set(err, MV_EVALUE, MSG_NDIM, MV_SPAN_MAX_NDIM, span->ndim);
    if (nkeys != 1 || !keys || keys[0].kind != MV_KEY_SLICE || span->ndim == 0)
        return slice_general(out, span, keys, nkeys, err);
    mv_buffer b = span_as_buffer(span);
    char *buf = NULL;
    ptrdiff_t n = 0, stride = 0, len = 0;
    int rc = mv_select_first(&b, keys, &buf, &n, &stride, &len, err);
    if (rc < 0)
        return rc;
    span_head(out, span);
    out->ndim = span->ndim;
    for (int d = 1; d < span->ndim; d++) {
        out->shape[d] = span->shape[d];
        out->strides[d] = span->strides[d];
    }
    out->buf = buf;
    out->len = len;
    out->shape[0] = n;
    out->strides[0] = stride;
    return 0;
}

/* The checks before an item access, in the view's order: the span, then
 * (for writes) read-only, then the format (parsed into *fmt unless the
 * item will be read directly: *parsed says), then the index. */
static int item_prepare(const mv_span *span, bool direct, bool write, const ptrdiff_t *index,
                        int nindex, mv_format *fmt, bool *parsed, char **p, mv_error *err)
{
    *parsed = false;
    if (!span)
        return mv_error_set(err, MV_EVALUE, "span: NULL argument");
    if (span->ndim < 0 || span->ndim > MV_SPAN_MAX_NDIM)
        return mv_error_set(err, MV_EVALUE, MSG_NDIM, MV_SPAN_MAX_NDIM, span->ndim);
    if (write && span->readonly)
        return mv_error_set(err, MV_ETYPE, MV_MSG_READONLY);
    if (!direct) {
        int rc = mv_format_parse(fmt, span->format, err);
        if (rc < 0)
            return rc;
        *parsed = true;
    }
    mv_buffer b = span_as_buffer(span);
    int rc = mv_item_pointer(&b, index, nindex, p, err);
    if (rc < 0 && *parsed) {
        mv_format_clear(fmt);
        *parsed = false;
    }
    return rc;
}

/* Everything but a native item at one in-range index: kept out of line so
 * that the common case runs without this one's stack frame. */
static __attribute__((noinline)) int get_item_general(const mv_span *span, const ptrdiff_t *index,
                                                      int nindex, mv_value *values,
                                                      ptrdiff_t nvalues, mv_error *err)
{
    mv_format fmt;
    bool parsed;
    char *p;
    bool direct =
        values && nvalues >= 1 && span && span->native && strchr(MV_LOADABLE_CODES, span->native);
    int rc = item_prepare(span, direct, false, index, nindex, &fmt, &parsed, &p, err);
    if (rc < 0)
        return rc;
    if (!values && nvalues > 0)
        rc = mv_error_set(err, MV_EVALUE, "memoryview: values must not be NULL");
    else if (!parsed)
        mv_load_native(span->native, p, values);
    else
        rc = mv_format_unpack(&fmt, p, values, nvalues, err);
    if (parsed)
        mv_format_clear(&fmt);
    return rc;
}

int mv_span_get_item(const mv_span *span, const ptrdiff_t *index, int nindex, mv_value *values,
                     ptrdiff_t nvalues, mv_error *err)
{
    if (nindex == 1 && index && values && nvalues >= 1) {
        const char *q = mv_span_at1(span, index[0]);
        if (q && mv_load_native(span->native, q, values))
            return 0;
    }
    return get_item_general(span, index, nindex, values, nvalues, err);
}

int mv_span_set_item(const mv_span *span, const ptrdiff_t *index, int nindex,
                     const mv_value *values, ptrdiff_t nvalues, mv_error *err)
{
    mv_format fmt;
    bool parsed;
    char *p;
    int rc = item_prepare(span, false, true, index, nindex, &fmt, &parsed, &p, err);
    if (rc < 0)
        return rc;
    if (!values && nvalues > 0)
        rc = mv_error_set(err, MV_EVALUE, "memoryview: values must not be NULL");
    else
        rc = mv_format_pack(&fmt, span->format, p, values, nvalues, err);
    mv_format_clear(&fmt);
    return rc;
}

int mv_span_cast(mv_span *out, const mv_span *span, const char *format, const ptrdiff_t *shape,
                 int ndim, int flags, mv_error *err)
{
    if (!out || !span)
        return mv_error_set(err, MV_EVALUE, "span: NULL argument");
    if (span->ndim < 0 || span->ndim > MV_SPAN_MAX_NDIM)
        return mv_error_set(err, MV_EVALUE, MSG_NDIM, MV_SPAN_MAX_NDIM, span->ndim);
    bool strict = flags & MV_CAST_STRICT;
    mv_buffer b = span_as_buffer(span);
    int rc;
    if ((rc = mv_cast_args(format, shape, ndim, flags, err)) < 0 ||
        (rc = mv_cast_check_source(&b, mv_layout_flags(&b), ndim, strict, err)) < 0)
        return rc;
    ptrdiff_t itemsize = 0;
    char dest = mv_format_native(format, &itemsize);
    if (!dest) {
        /* Strict casts refuse what does not parse with their own message. */
        mv_format fmt;
        rc = mv_format_parse(&fmt, format, strict ? NULL : err);
        if (rc == MV_ENOMEM || (rc < 0 && !strict))
            return rc == MV_ENOMEM ? mv_error_set(err, MV_ENOMEM, "out of memory") : rc;
        if (rc == 0) {
            itemsize = fmt.itemsize;
            dest = fmt.native;
            mv_format_clear(&fmt);
        }
    }
    mv_layout l;
    if ((rc = mv_cast_check_format(span->native, dest, itemsize, format, strict, err)) < 0 ||
        (rc = mv_cast_shape(&b, shape, ndim, itemsize, format, flags & MV_CAST_FORTRAN, &l,
                            err)) < 0)
        return rc;
    if (l.ndim > MV_SPAN_MAX_NDIM)
        return mv_error_set(err, MV_EVALUE, MSG_NDIM, MV_SPAN_MAX_NDIM, l.ndim);
    out->buf = l.buf;
    out->len = span->len;
    out->itemsize = itemsize;
    out->format = format;
    out->ndim = l.ndim;
    out->readonly = span->readonly;
    out->native = dest;
    /* Whole arrays: a fixed-size copy is a few vector moves, where a loop
     * over ndim compiles to rep movsq, whose start-up costs more than the
     * rest of the cast. */
    memcpy(out->shape, l.shape, sizeof out->shape);
    memcpy(out->strides, l.strides, sizeof out->strides);
    return 0;
}

int mv_span_is_contiguous(const mv_span *span, char order)
{
    if (!span || span->ndim < 0 || span->ndim > MV_SPAN_MAX_NDIM)
        return 0;
    mv_buffer b = span_as_buffer(span);
    int flags = mv_layout_flags(&b);
    switch (order) {
    case 'C': return (flags & MV_CONTIG_C) != 0;
    case 'F': return (flags & MV_CONTIG_F) != 0;
    case 'A': return flags != 0;
    default: return 0;
    }
}
