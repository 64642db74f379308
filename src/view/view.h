/* Private to the library: the view layer (src/view/) -- the buffer
 * protocol, the exporters, managed buffers and views.  Includes the
 * layers below.  Not installed. */
#ifndef MEMVIEW_VIEW_H
#define MEMVIEW_VIEW_H

#include "../layout/layout.h"

/* Every bit a consumer may set in a request.  PyBUF_READ (0x100) cannot be
 * told apart from the INDIRECT bit, but PyBUF_WRITE (0x200), the unused
 * 0x2 and anything higher are refused, as CPython 3.13 refuses them. */
#define MV_BUF_REQUEST_BITS (0x1 | 0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x80 | 0x100)

/* mv_buffer_fill_info once its arguments passed its checks. */
static inline void mv_fill_info_checked(mv_buffer *view, mv_object *exporter, void *buf,
                                        ptrdiff_t len, int readonly, int flags)
{
    if (exporter) /* mv_incref, inline: this runs for every buffer */
        mv_ref_add(exporter, 0, mv_is_local(exporter));
    view->obj = exporter;
    view->buf = buf;
    view->len = len;
    view->readonly = readonly ? 1 : 0;
    view->itemsize = 1;
    view->format = (flags & MV_BUF_FORMAT) ? "B" : NULL;
    view->ndim = 1;
    /* As CPython: shape and strides point into the struct itself. */
    view->shape = (flags & MV_BUF_ND) ? &view->len : NULL;
    view->strides = (flags & MV_BUF_STRIDES) == MV_BUF_STRIDES ? &view->itemsize : NULL;
    view->suboffsets = NULL;
    view->internal = NULL;
}

/* mv_object_getbuffer for an exporter whose type says MV_TYPE_FILL_INFO,
 * inline (flags already checked): true when *view is filled and the export
 * counted; false, *view untouched, for other exporters, for one with no
 * memory now and for a writable request of read-only memory (the type's
 * getbuffer gives those errors). */
static inline bool mv_plain_getbuffer(mv_object *exporter, mv_buffer *view, int flags)
{
    const mv_type *type = exporter->type;
    if (!(type->flags & MV_TYPE_FILL_INFO) || !type->data)
        return false;
    size_t len = 0;
    int readonly = 0;
    void *data = type->data(exporter, &len, &readonly);
    if (!data || ((flags & MV_BUF_WRITABLE) && readonly))
        return false;
    /* The export and its reference in one step; at the limit both are
     * taken back and the type's path gives the error. */
    bool local = mv_is_local(exporter);
    uint64_t old = mv_ref_add(exporter, MV_EXPORT_ONE, local);
    if (MV_EXPORTS(old) >= MV_EXPORTS_MAX) {
        mv_counts_add(&exporter->counts,
                      0 - (MV_EXPORT_ONE + (MV_REFS(old) < MV_REFS_IMMORTAL ? MV_REF_ONE : 0)),
                      local);
        return false;
    }
    mv_fill_info_checked(view, NULL, data, (ptrdiff_t)len, readonly, flags);
    view->obj = exporter;
    return true;
}

/* Map [offset, offset+length) of fd (length -1 = to the end) with `mode`
 * (MV_MAP_READ and MV_MAP_WRITE share, as shm needs); `what` names the
 * file in messages.  The arguments are checked as mv_mmap_open documents.  In
 * exporters/mmap.c, used by shm.c. */
mv_object *mv_mmap_new(int fd, mv_map_mode mode, ptrdiff_t offset, ptrdiff_t length,
                       const char *what, mv_error *err);

/* Answer a consumer's request `flags` from a complete descriptor `full`
 * (buf, len, itemsize, readonly, ndim, format, shape, strides, suboffsets
 * all filled; strides may be NULL = C-contiguous), as CPython's
 * memory_getbuf does, with its checks in its order and its messages:
 *   WRITABLE on read-only  -> MV_EBUFFER "memoryview: underlying buffer is not writable"
 *   no FORMAT              -> out->format = NULL (itemsize kept)
 *   C/F/ANY_CONTIGUOUS unmet -> MV_EBUFFER "memoryview: underlying buffer is not
 *                             C-contiguous" / "...not Fortran contiguous" / "...not contiguous"
 *   no INDIRECT, suboffsets -> MV_EBUFFER "memoryview: underlying buffer requires suboffsets"
 *   no STRIDES             -> must be C-contiguous (message as C_CONTIGUOUS), strides = NULL
 *   no ND                  -> must be C-contiguous; FORMAT without ND is MV_EBUFFER
 *                             "memoryview: cannot cast to unsigned bytes if the format flag
 *                             is present"; ndim = 1, shape = NULL
 * out's arrays point into `full` (no copies); out->obj = new reference to
 * exporter (may be NULL); out->internal = NULL.  Lives in buffer.c. */
int mv_buffer_answer(mv_buffer *out, const mv_buffer *full, mv_object *exporter, int flags,
                     mv_error *err);

#endif
