/* mv_buffer: the Py_buffer twin.  Getting and releasing buffers (with the
 * export count kept centrally, so exporters only describe memory), request
 * flag handling (PyBuffer_FillInfo and memoryview's memory_getbuf), and
 * layout helpers: contiguity, item addresses, contiguous strides and
 * validation of descriptors against the memory they claim. */
#include "view.h"

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

/* mv_layout_acquire through the exporter's type: the documented two
 * calls.  Out of line, so that the MV_TYPE_FILL_INFO path builds no frame. */
static __attribute__((noinline)) int acquire_general(mv_layout *l, mv_buffer *hold,
                                                     mv_object *exporter, int flags,
                                                     mv_error *err)
{
    if (!l)
        return mv_error_set(err, MV_EVALUE, MV_MSG_LAYOUT_NULL);
    int rc = mv_object_getbuffer(exporter, hold, flags, err);
    if (rc == 0 && (rc = mv_layout_from_buffer(l, hold, err)) == 0)
        return 0;
    if (hold) {
        mv_buffer_release(hold);
        memset(hold, 0, sizeof *hold);
    }
    return rc;
}

int mv_layout_acquire(mv_layout *l, mv_buffer *hold, mv_object *exporter, int flags,
                      mv_error *err)
{
    if (!l || !hold || !exporter || (flags & ~MV_BUF_REQUEST_BITS) ||
        !mv_plain_getbuffer(exporter, hold, flags))
        return acquire_general(l, hold, exporter, flags, err);
    /* A MV_TYPE_FILL_INFO exporter: one dimension of bytes, our own
     * descriptor, so mv_layout_from_buffer's checks have nothing to find. */
    l->buf = hold->buf;
    l->len = hold->len;
    l->itemsize = 1;
    l->format = "B";
    l->ndim = 1;
    l->readonly = hold->readonly != 0;
    l->indirect = false;
    l->contig = MV_CONTIG_C | MV_CONTIG_F;
    l->shape[0] = hold->len;
    l->strides[0] = 1;
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

    int base = mv_layout_flags(full);
    mv_buffer v = *full;
    v.obj = NULL;
    v.internal = NULL;

    if ((flags & MV_BUF_WRITABLE) && full->readonly)
        return mv_error_set(err, MV_EBUFFER, "memoryview: underlying buffer is not writable");
    if (!(flags & MV_BUF_FORMAT))
        v.format = NULL;
    if (req(flags, MV_BUF_C_CONTIGUOUS) && !(base & MV_CONTIG_C))
        return mv_error_set(err, MV_EBUFFER, "memoryview: underlying buffer is not C-contiguous");
    if (req(flags, MV_BUF_F_CONTIGUOUS) && !(base & MV_CONTIG_F))
        return mv_error_set(err, MV_EBUFFER,
                            "memoryview: underlying buffer is not Fortran contiguous");
    if (req(flags, MV_BUF_ANY_CONTIGUOUS) && !(base & (MV_CONTIG_C | MV_CONTIG_F)))
        return mv_error_set(err, MV_EBUFFER, "memoryview: underlying buffer is not contiguous");
    if (!req(flags, MV_BUF_INDIRECT) && full->suboffsets)
        return mv_error_set(err, MV_EBUFFER,
                            "memoryview: underlying buffer requires suboffsets");
    if (!req(flags, MV_BUF_STRIDES)) {
        if (!(base & MV_CONTIG_C))
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

