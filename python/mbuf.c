/*
 * memview._ManagedBuffer and its exporter: the one buffer a family of
 * memview.memoryview objects holds from a foreign exporter.
 *
 * Ownership (CPython's managed-buffer design, split between Python and
 * libmemview): a foreign exporter is asked for its buffer exactly once
 * (PyBUF_FULL_RO); the Py_buffer lives in a private GC-tracked object,
 * memview._ManagedBuffer, whose tp_traverse visits the exporter.  libmemview
 * sees that memory through a tiny mv_object exporter (mbuf_exporter) that
 * only describes the Py_buffer and owns nothing.  The first memoryview's
 * libmemview view is made from it and starts a libmemview managed buffer
 * that every view derived from that one (slices, casts, toreadonly,
 * memoryview(m)) shares.  Every memview.memoryview holds a strong
 * reference to its _ManagedBuffer and its own mv_view, inside itself
 * (memview_py.h); release() releases the mv_view first (libmemview lets go of
 * the description) and then drops the _ManagedBuffer, whose deallocation
 * runs PyBuffer_Release -- so the exporter's bf_releasebuffer runs once,
 * after the last view derived from it is released, and reference cycles
 * through views stay collectable (memoryview tp_clear releases the view).
 */
#include "memview_py.h"

#include <stdio.h>
#include <string.h>

/* ======================================================================== *
 * mbuf_exporter: a Py_buffer described to libmemview
 * ======================================================================== */

/* Answers the one MV_BUF_FULL_RO request mv_view_new makes: the complete
 * descriptor.  Nothing else ever asks. */
static int mbuf_exporter_getbuffer(mv_object *self, mv_buffer *out, int flags, mv_error *err)
{
    mbuf_exporter *x = (mbuf_exporter *)self;
    const Py_buffer *m = x->master;
    if ((flags & MV_BUF_INDIRECT) != MV_BUF_INDIRECT || !(flags & MV_BUF_FORMAT))
        return mv_error_set(err, MV_EBUFFER, "memview: internal exporter needs a full request");
    if ((flags & MV_BUF_WRITABLE) && m->readonly)
        return mv_error_set(err, MV_EBUFFER, "Object is not writable.");
    out->buf = m->buf;
    /* The first buffer takes over the reference the exporter was created
     * with (saving an atomic increment and decrement per new view). */
    if (x->given)
        mv_incref(self);
    x->given = 1;
    out->obj = self;
    out->len = m->len;
    out->itemsize = m->itemsize;
    out->readonly = m->readonly ? 1 : 0;
    out->ndim = m->ndim;
    out->format = x->format;
    out->shape = (ptrdiff_t *)m->shape;
    out->strides = (ptrdiff_t *)m->strides;
    out->suboffsets = (ptrdiff_t *)m->suboffsets;
    out->internal = NULL;
    return 0;
}

/* The exporter lives inside its _ManagedBuffer, which outlives every
 * libmemview view of it (each memview.memoryview releases its view before
 * dropping the _ManagedBuffer): nothing to free. */
static void mbuf_exporter_destroy(mv_object *self)
{
    (void)self;
}

static const mv_type mbuf_exporter_type = {
    .name = "python",
    .getbuffer = mbuf_exporter_getbuffer,
    .releasebuffer = NULL,
    .destroy = mbuf_exporter_destroy,
};

/* ======================================================================== *
 * _ManagedBuffer
 * ======================================================================== */

static int mbuf_traverse(mbufobject *self, visitproc visit, void *arg)
{
    if (self->has_master && !self->hide_master)
        Py_VISIT(self->master.obj);
    Py_VISIT(self->obj);
    return 0;
}

static void mbuf_dealloc(mbufobject *self)
{
    PyObject_GC_UnTrack(self);
    if (self->has_master) {
        self->has_master = 0;
        PyBuffer_Release(&self->master);
    }
    Py_CLEAR(self->obj);
    PyMem_Free(self->stand_in);
    PyObject_GC_Del(self);
}

PyTypeObject ManagedBuffer_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "memview._ManagedBuffer",
    .tp_basicsize = sizeof(mbufobject),
    .tp_dealloc = (destructor)mbuf_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The one buffer a memview.memoryview family holds from its exporter.",
    .tp_traverse = (traverseproc)mbuf_traverse,
};

/* A missing format means 'B' (PEP 3118), and the builtin shows it as 'B'
 * to its own consumers (_testbuffer's PyBUF_STRIDES re-exports pass that
 * on), whatever the itemsize: both are read as the builtin reads them. */
bool format_is_bytes(const char *format)
{
    return !format || strcmp(format + (format[0] == '@'), "B") == 0;
}

/* "B" padded with 'x' to itemsize (PyMem; NULL with MemoryError): how the
 * builtin reads an item of a buffer without a format, by its first byte
 * (test_buffer's PyBUF_STRIDES re-exports; C exporters). */
char *first_byte_format(Py_ssize_t itemsize)
{
    char *s = PyMem_Malloc(32);
    if (!s)
        PyErr_NoMemory();
    else
        snprintf(s, 32, "B%zdx", itemsize - 1);
    return s;
}

/* The format to give libmemview, which refuses a format whose size is not
 * the itemsize (CPython never checks).  'B' or none with itemsize > 1 reads
 * each item's first byte, as the builtin does (ctypes exports unions and
 * packed structures so too).  Any other format that does not add up -- a
 * ctypes structure whose format leaves its padding out ('T{<B:a:<I:b:}',
 * itemsize 8) -- is never guessed: libmemview gets text that does not
 * parse, so byte operations (tobytes, hex, cast('B'), slicing) work, and
 * every value operation raises NotImplementedError naming the format and
 * both sizes (format_size keeps the one the format describes).  .format
 * and exported buffers still show the exporter's text. */
static int mbuf_choose_format(mbufobject *mb, const char **out)
{
    const Py_buffer *m = &mb->master;
    *out = m->format ? m->format : "B";
    /* An itemsize below 1 with 'B' falls to the size check below. */
    if (format_is_bytes(m->format) && m->itemsize >= 1) {
        if (m->itemsize == 1)
            return 0;
        if (!(mb->stand_in = first_byte_format(m->itemsize)))
            return -1;
        *out = mb->stand_in;
        return 0;
    }
    ptrdiff_t native = native_format_size(*out);
    if (native > 0 && native == m->itemsize)
        return 0;
    mv_format fmt;
    mv_error err;
    mv_error_clear(&err);
    int rc = mv_format_parse(&fmt, *out, &err);
    if (rc == MV_ENOMEM) {
        PyErr_NoMemory();
        return -1;
    }
    if (rc < 0)
        return 0; /* not readable at all: item access says so */
    ptrdiff_t size = fmt.itemsize;
    mv_format_clear(&fmt);
    if (size == m->itemsize)
        return 0;
    if (!(mb->stand_in = PyMem_Malloc(48))) {
        PyErr_NoMemory();
        return -1;
    }
    snprintf(mb->stand_in, 48, "\x01(unparsed %zd-byte item)", (Py_ssize_t)m->itemsize);
    mb->format_size = size;
    *out = mb->stand_in;
    return 0;
}

/* A managed buffer over obj's buffer for the request `flags` (PyBUF_FULL_RO
 * but for memoryview._from_flags).  NULL with an exception set on
 * failure. */
mbufobject *mbuf_from_object(PyObject *obj, int flags)
{
    mbufobject *mb = PyObject_GC_New(mbufobject, &ManagedBuffer_Type);
    if (!mb)
        return NULL;
    memset(&mb->master, 0, sizeof mb->master);
    mb->has_master = 0;
    mb->hide_master = 0;
    mb->obj = NULL;
    mb->stand_in = NULL;
    mb->format_size = -1;

    /* A builtin memoryview is asked for a buffer as any exporter.  Before
     * 3.13 its tp_clear drops its managed buffer even while buffers
     * exported from it are held (gh-77894), and the release that follows
     * crashes; so the reference held here is not reported to the GC: the
     * view then always looks referenced from outside and is never cleared
     * while this buffer is held.  (A cycle through it is not collectable
     * before 3.13.) */
#if PY_VERSION_HEX < 0x030D0000
    mb->hide_master = PyMemoryView_Check(obj);
#endif
    if (PyObject_GetBuffer(obj, &mb->master, flags) < 0) {
        Py_DECREF(mb);
        return NULL;
    }
    mb->has_master = 1;

    /* .obj names what a builtin memoryview views, as CPython's
     * memoryview(memoryview(x)).obj is x. */
    PyObject *rep = mb->master.obj;
    if (PyMemoryView_Check(obj))
        rep = PyMemoryView_GET_BUFFER(obj)->obj;
    Py_XINCREF(rep);
    mb->obj = rep;
    PyObject_GC_Track(mb);

    const char *format;
    if (mbuf_choose_format(mb, &format) < 0) {
        Py_DECREF(mb);
        return NULL;
    }
    mbuf_exporter *x = &mb->exporter;
    mv_object_init(&x->ob, &mbuf_exporter_type);
#ifndef Py_GIL_DISABLED
    /* Every use of the view family is under the GIL: plain counts. */
    mv_object_set_local(&x->ob);
#endif
    x->master = &mb->master;
    x->format = format;
    /* x's own reference goes to the master buffer (mbuf_exporter_getbuffer),
     * or x is never asked: its memory is mb's either way. */
    x->given = 0;
    return mb;
}

void drop_view(mv_view *v)
{
    if (v) {
        mv_view_release(v, NULL);
        mv_decref(v);
    }
}
