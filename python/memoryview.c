/*
 * memview.memoryview: a drop-in replacement for the builtin memoryview,
 * built on libmemview's public API.  This file is the type: its object,
 * construction, release, GC, buffer export, iteration, comparison and
 * hashing, properties and methods; mbuf.c explains who owns what, and
 * memview_py.h lists the other files.
 *
 * Re-entrancy: every Python callback (__index__, __float__, __bool__,
 * len(sep), hash(obj), a foreign getbuffer) runs before memory is touched,
 * and "released" is checked again after it; libmemview refuses every
 * operation on a released view, so nothing can reach freed memory.
 * A method that must run Python code while it uses the memory pins the view
 * instead (pin(), in memview_py.h): release() refuses meanwhile.
 */
#include "memview_py.h"

#include <stdio.h>
#include <string.h>

#define MSG_PICKLE   "cannot pickle 'memoryview' object"

/* Request bits a view understands; CPython's memoryview ignores the rest
 * (PyBUF_WRITE included), libmemview refuses them. */
#define REQUEST_BITS 0x1FD

#define IS_MEMVIEW(o) Py_IS_TYPE((o), &MemoryView_Type)

/* ======================================================================== *
 * memview.memoryview: the object
 * ======================================================================== */

/* mv_view_place_fn: a new memoryview of c->mb whose variable part holds
 * the view (memory_placed finishes it). */
void *memory_place(void *ctx, size_t size)
{
    place_ctx *c = ctx;
    mvobject *self = PyObject_GC_NewVar(mvobject, &MemoryView_Type, (Py_ssize_t)size);
    if (!self)
        return NULL;
    Py_INCREF(c->mb);
    self->mbuf = c->mb;
    self->view = NULL;
    self->layout = NULL;
    self->hash = -1;
    self->weakreflist = NULL;
    self->item_code = FAST_UNKNOWN;
    self->pins = 0;
    c->obj = self;
    return self->storage;
}

PyObject *memory_placed(place_ctx *c, mv_view *v, const mv_error *err)
{
    mvobject *self = c->obj;
    PyObject *res = (PyObject *)self;
    if (!v) {
        /* Not made, or made and then refused (its memory was never used). */
        Py_XDECREF(self);
        res = PyErr_Occurred() ? NULL : set_error(err);
    } else {
        self->view = v;
        self->layout = mv_view_buffer(v, NULL);
        PyObject_GC_Track(self);
    }
    Py_DECREF(c->mb); /* place_start's: the new object has its own */
    return res;
}

/* NotImplementedError for a view whose exporter's format does not add up
 * to its itemsize (mbuf_choose_format) and returns -1; 0 for any other
 * view. */
static int refuse_format_size(mvobject *self)
{
    mbufobject *mb = self->mbuf;
    if (mb->format_size < 0 || !on_stand_in(self, view_buffer(self)->format))
        return 0;
    PyErr_Format(PyExc_NotImplementedError,
                 "memoryview: format %s describes %zd-byte items, but the exporter's itemsize "
                 "is %zd",
                 mb->master.format ? mb->master.format : "B", (Py_ssize_t)mb->format_size,
                 (Py_ssize_t)mb->master.itemsize);
    return -1;
}

/* The parsed item format; NotImplementedError "memoryview: unsupported
 * format" (CPython's adjust_fmt) when it does not parse. */
const mv_format *item_format(mvobject *self)
{
    mv_error err;
    mv_error_clear(&err);
    const mv_format *f = mv_view_format(self->view, &err);
    if (!f) {
        if (err.code == MV_ENOMEM) {
            PyErr_NoMemory();
        } else if (refuse_format_size(self) == 0) {
            /* CPython's two messages: adjust_fmt's for anything but one
             * character, unpack_single's for an unknown character. */
            const char *t = format_text(self, view_buffer(self)->format);
            const char *c = t[0] == '@' ? t + 1 : t;
            if (c[0] && !c[1])
                PyErr_Format(PyExc_NotImplementedError, "memoryview: format %s not supported", c);
            else
                PyErr_Format(PyExc_NotImplementedError, "memoryview: unsupported format %s", t);
        }
    }
    return f;
}

/* ======================================================================== *
 * Constructor, release, deallocation, GC
 * ======================================================================== */

static PyObject *memory_from_object_flags(PyObject *obj, int flags)
{
    mv_error err;
    mv_error_clear(&err);
    if (IS_MEMVIEW(obj)) {
        /* A view of the same managed buffer (no new request). */
        mvobject *src = (mvobject *)obj;
        if (check_released(src) < 0)
            return NULL;
        place_ctx c = place_start(src->mbuf);
        mv_view *v = mv_view_new_at(memory_place, &c, mv_view_object(src->view), &err);
        return memory_placed(&c, v, &err);
    }
    if (!PyObject_CheckBuffer(obj)) {
        PyErr_Format(PyExc_TypeError, "memoryview: a bytes-like object is required, not '%.200s'",
                     Py_TYPE(obj)->tp_name);
        return NULL;
    }
    /* The first view of a new managed buffer: libmemview checks the
     * exporter's descriptor, so its errors are the ones a bad exporter
     * gets. */
    /* mbuf_from_object's reference is the call's (place_start's). */
    place_ctx c = {mbuf_from_object(obj, flags), NULL};
    if (!c.mb)
        return NULL;
    mv_view *v = mv_view_new_at(memory_place, &c, &c.mb->exporter.ob, &err);
    return memory_placed(&c, v, &err);
}

PyObject *memory_from_object(PyObject *obj)
{
    return memory_from_object_flags(obj, PyBUF_FULL_RO);
}

#if PY_VERSION_HEX >= 0x030C0000
/* memoryview._from_flags(object, flags): a view of the buffer obtained with
 * `flags` (PyMemoryView_FromObjectAndFlags; views share, as CPython's). */
static PyObject *memory_from_flags(PyObject *cls, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"object", "flags", NULL};
    PyObject *obj;
    int flags;
    (void)cls;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "Oi:_from_flags", kwlist, &obj, &flags))
        return NULL;
    return memory_from_object_flags(obj, flags);
}
#endif

static PyObject *memory_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"object", NULL};
    PyObject *obj;
    (void)type;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O:memoryview", kwlist, &obj))
        return NULL;
    return memory_from_object(obj);
}

/* Call fn(self, args, kwargs) with the vectorcall arguments packed as
 * a tuple and a dict: the hot entry points take their common form
 * directly and hand every other one here, so PyArg_ParseTupleAndKeywords
 * still produces the argument errors, word for word. */
PyObject *call_packed(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames,
                      PyObject *(*fn)(PyObject *, PyObject *, PyObject *))
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    PyObject *tuple = PyTuple_New(nargs);
    if (!tuple)
        return NULL;
    for (Py_ssize_t i = 0; i < nargs; i++) {
        Py_INCREF(args[i]);
        PyTuple_SET_ITEM(tuple, i, args[i]);
    }
    PyObject *kwargs = NULL;
    if (kwnames && PyTuple_GET_SIZE(kwnames) > 0) {
        kwargs = PyDict_New();
        if (!kwargs) {
            Py_DECREF(tuple);
            return NULL;
        }
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(kwnames); i++) {
            if (PyDict_SetItem(kwargs, PyTuple_GET_ITEM(kwnames, i), args[nargs + i]) < 0) {
                Py_DECREF(tuple);
                Py_DECREF(kwargs);
                return NULL;
            }
        }
    }
    PyObject *res = fn(self, tuple, kwargs);
    Py_DECREF(tuple);
    Py_XDECREF(kwargs);
    return res;
}

static PyObject *memory_new_packed(PyObject *type, PyObject *args, PyObject *kwds)
{
    return memory_new((PyTypeObject *)type, args, kwds);
}

/* memoryview(obj) without building an argument tuple. */
static PyObject *memory_vectorcall(PyObject *type, PyObject *const *args, size_t nargsf,
                                   PyObject *kwnames)
{
    if (PyVectorcall_NARGS(nargsf) == 1 && (!kwnames || PyTuple_GET_SIZE(kwnames) == 0))
        return memory_from_object(args[0]);
    return call_packed(type, args, nargsf, kwnames, memory_new_packed);
}

/* Release the view; -1 with BufferError while buffers exported from it are
 * held. */
static int memory_release_view(mvobject *self)
{
    if (!self->mbuf)
        return 0;
    if (self->pins) {
        PyErr_Format(PyExc_BufferError, "memoryview has %d exported buffer%s", (int)self->pins,
                     self->pins == 1 ? "" : "s");
        return -1;
    }
    mv_error err;
    mv_error_clear(&err);
    if (mv_view_release(self->view, &err) < 0)
        return set_error_int(&err);
    /* Last: dropping the managed buffer may run the exporter's release
     * (Python code) once nothing here refers to its memory. */
    Py_CLEAR(self->mbuf);
    return 0;
}

static int memory_traverse(mvobject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->mbuf);
    return 0;
}

/* As CPython 3.13: a view with live exports is left alone (the consumers
 * holding them are in the cycle too and let go first). */
static int memory_clear(mvobject *self)
{
    if (!self->pins && mv_object_exports(mv_view_object(self->view)) == 0)
        memory_release_view(self);
    return 0;
}

static void memory_dealloc(mvobject *self)
{
    PyObject_GC_UnTrack(self);
    if (self->weakreflist)
        PyObject_ClearWeakRefs((PyObject *)self);
    /* Exported buffers hold a reference to self, so self holds the view's
     * last reference, whose end releases it: its memory is self's, freed
     * below. */
    if (self->view)
        mv_decref(self->view);
    Py_CLEAR(self->mbuf);
    PyObject_GC_Del(self);
}

/* ======================================================================== *
 * Buffer export
 * ======================================================================== */

static int memory_getbuf(mvobject *self, Py_buffer *pv, int flags)
{
    if (check_released(self) < 0)
        return -1;
    mv_buffer *b = PyMem_Malloc(sizeof *b);
    if (!b) {
        PyErr_NoMemory();
        return -1;
    }
    mv_error err;
    mv_error_clear(&err);
    if (mv_object_getbuffer(mv_view_object(self->view), b, flags & REQUEST_BITS, &err) < 0) {
        PyMem_Free(b);
        return set_error_int(&err);
    }
    pv->buf = b->buf;
    Py_INCREF(self);
    pv->obj = (PyObject *)self;
    pv->len = b->len;
    pv->itemsize = b->itemsize;
    pv->readonly = b->readonly;
    pv->ndim = b->ndim;
    pv->format = b->format ? (char *)format_text(self, b->format) : NULL;
    pv->shape = (Py_ssize_t *)b->shape;
    pv->strides = (Py_ssize_t *)b->strides;
    pv->suboffsets = (Py_ssize_t *)b->suboffsets;
    pv->internal = b;
    return 0;
}

static void memory_releasebuf(mvobject *self, Py_buffer *pv)
{
    (void)self;
    mv_buffer *b = pv->internal;
    if (b) {
        pv->internal = NULL;
        mv_buffer_release(b);
        PyMem_Free(b);
    }
}

/* ======================================================================== *
 * Sequence protocol and iteration
 * ======================================================================== */

static Py_ssize_t memory_length(mvobject *self)
{
    if (check_released(self) < 0)
        return -1;
    const mv_buffer *b = view_buffer(self);
    if (b->ndim == 0) {
#if PY_VERSION_HEX >= 0x030C0000
        PyErr_SetString(PyExc_TypeError, "0-dim memory has no length");
        return -1;
#else
        return 1;
#endif
    }
    return b->shape[0];
}

typedef struct {
    PyObject ob_base; /* PyObject_HEAD */
    Py_ssize_t index;
    Py_ssize_t length;
    mvobject *seq; /* NULL once exhausted */
} memoryiterobject;

static PyObject *memory_iter(mvobject *self)
{
    if (check_released(self) < 0)
        return NULL;
    const mv_buffer *b = view_buffer(self);
    if (b->ndim == 0) {
        PyErr_SetString(PyExc_TypeError, MSG_ZERO_DIM);
        return NULL;
    }
    /* A format nobody reads fails at the first item (CPython refuses one
     * of several characters here already): an empty view iterates. */
    memoryiterobject *it = PyObject_GC_New(memoryiterobject, &MemoryIter_Type);
    if (!it)
        return NULL;
    it->index = 0;
    it->length = b->shape[0];
    Py_INCREF(self);
    it->seq = self;
    PyObject_GC_Track(it);
    return (PyObject *)it;
}

static PyObject *memoryiter_next(memoryiterobject *it)
{
    mvobject *seq = it->seq;
    if (!seq)
        return NULL;
    if (it->index < it->length) {
        /* As CPython: a view released mid-iteration raises ValueError. */
        if (check_released(seq) < 0)
            return NULL;
        return memory_item(seq, it->index++);
    }
    it->seq = NULL;
    Py_DECREF(seq);
    return NULL;
}

static int memoryiter_traverse(memoryiterobject *it, visitproc visit, void *arg)
{
    Py_VISIT(it->seq);
    return 0;
}

static void memoryiter_dealloc(memoryiterobject *it)
{
    PyObject_GC_UnTrack(it);
    Py_XDECREF(it->seq);
    PyObject_GC_Del(it);
}

PyTypeObject MemoryIter_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "memview.memory_iterator",
    .tp_basicsize = sizeof(memoryiterobject),
    .tp_dealloc = (destructor)memoryiter_dealloc,
    .tp_getattro = PyObject_GenericGetAttr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)memoryiter_traverse,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)memoryiter_next,
};

/* ======================================================================== *
 * Comparison and hashing
 * ======================================================================== */

/* The view's descriptor with the exporter's own format where libmemview
 * has a stand-in that refuses values: libmemview's comparison then checks
 * the shapes first and refuses with that format's sizes. */
static mv_buffer real_buffer(mvobject *self)
{
    mv_buffer b = *view_buffer(self);
    if (self->mbuf->format_size >= 0 && on_stand_in(self, b.format))
        b.format = self->mbuf->master.format;
    return b;
}

/* a == b when b is not a memview: b's buffer, read as mbuf_choose_format
 * reads an exporter's ('B' with itemsize > 1 by its first byte; a format
 * that does not add up is refused, here by libmemview).  Pinned: b's
 * exporter may run Python code. */
static int equal_foreign(mvobject *self, PyObject *w, mv_error *err)
{
    Py_buffer wb;
    if (PyObject_GetBuffer(w, &wb, PyBUF_FULL_RO) < 0) {
        PyErr_Clear();
        return 2; /* NotImplemented */
    }
    char *first_byte = NULL;
    int equal = -1;
    mv_buffer wm = buffer_from_py(&wb);
    if (format_is_bytes(wb.format) && wb.itemsize > 1) {
        if (!(first_byte = first_byte_format(wb.itemsize)))
            goto out;
        wm.format = first_byte;
    }
    mv_buffer vm = real_buffer(self);
    equal = mv_buffer_equal(&vm, &wm, err);
out:
    PyBuffer_Release(&wb);
    PyMem_Free(first_byte);
    return equal;
}

static PyObject *memory_richcompare(PyObject *v, PyObject *w, int op)
{
    if ((op != Py_EQ && op != Py_NE) || !IS_MEMVIEW(v))
        Py_RETURN_NOTIMPLEMENTED;
    mvobject *self = (mvobject *)v;
    mv_error err;
    mv_error_clear(&err);
    int equal;
    if (!self->mbuf) {
        equal = v == w;
    } else if (IS_MEMVIEW(w)) {
        mvobject *other = (mvobject *)w;
        if (!other->mbuf)
            equal = v == w;
        else if (self->mbuf->format_size >= 0 || other->mbuf->format_size >= 0) {
            mv_buffer a = real_buffer(self), b = real_buffer(other);
            equal = mv_buffer_equal(&a, &b, &err);
        } else {
            equal = mv_view_equal(self->view, other->view, &err);
        }
    } else {
        pin(self);
        equal = equal_foreign(self, w, &err);
        unpin(self);
        if (equal == 2)
            Py_RETURN_NOTIMPLEMENTED;
        if (equal < 0 && PyErr_Occurred())
            return NULL;
    }
    if (equal < 0) {
        /* A format libmemview cannot read makes the views unequal, as a
         * format struct rejects does in CPython; one that does not add up
         * to its itemsize is refused. */
        if (err.code == MV_ENOMEM)
            return PyErr_NoMemory();
        if (err.code == MV_ENOTIMPL)
            return set_error(&err);
        equal = 0;
    }
    if ((op == Py_EQ) == (equal != 0))
        Py_RETURN_TRUE;
    Py_RETURN_FALSE;
}

/* mv_view_tobytes_alloc's allocator: a new bytes object in *ctx. */
static void *new_bytes(void *ctx, ptrdiff_t nbytes)
{
    PyObject **out = ctx;
    *out = PyBytes_FromStringAndSize(NULL, nbytes);
    return *out ? PyBytes_AS_STRING(*out) : NULL;
}

/* The view's bytes in `order` as a new bytes object (NULL: exception set). */
static PyObject *to_bytes(mvobject *self, char order)
{
    PyObject *bytes = NULL;
    mv_error err;
    mv_error_clear(&err);
    if (!mv_view_tobytes_alloc(self->view, order, new_bytes, &bytes, &err)) {
        if (!bytes && PyErr_Occurred())
            return NULL; /* the allocator's MemoryError */
        Py_XDECREF(bytes);
        return set_error(&err);
    }
    return bytes;
}

/* hash(bytes(view)) computed by Python, so hash(m) == hash(m.tobytes()). */
static Py_hash_t hash_as_bytes(mvobject *self)
{
    PyObject *bytes = to_bytes(self, 'C');
    if (!bytes)
        return -1;
    Py_hash_t h = PyObject_Hash(bytes);
    Py_DECREF(bytes);
    return h;
}

/* Every read-only view hashes (CPython: only the byte formats), so that
 * views that compare equal hash alike (mv_view_hash's rule, with Python's
 * hash of bytes):
 * - byte formats, and views without a format whatever their itemsize (as
 *   the builtin), hash as bytes(m): hash(m) == hash(m.tobytes());
 * - a view whose values are all integers in -128..255 (or one-byte bytes)
 *   hashes as the bytes of those values mod 256, what an equal byte view
 *   hashes: hash(M(array('h', [1, 2]))) == hash(b'\x01\x02');
 * - any other view hashes its values (libmemview's mv_view_hash).
 * As CPython, the exporter is hashed first and its error kept; the view is
 * pinned meanwhile (hash(obj) may run Python code that releases it). */
static Py_hash_t memory_hash(mvobject *self)
{
    if (self->hash != -1)
        return self->hash;
    if (check_released(self) < 0)
        return -1;
    if (!view_buffer(self)->readonly) {
        PyErr_SetString(PyExc_ValueError, "cannot hash writable memoryview object");
        return -1;
    }
    if (self->mbuf->obj) {
        pin(self);
        Py_hash_t oh = PyObject_Hash(self->mbuf->obj);
        unpin(self);
        if (oh == -1)
            return -1;
    }
    if (refuse_format_size(self) < 0)
        return -1;
    const mv_buffer *b = view_buffer(self);
    const mv_format *fmt = mv_view_format(self->view, NULL);
    if (!fmt && PyErr_Occurred())
        return -1;
    Py_hash_t h;
    /* Views of formats libmemview cannot read equal nothing: any hash
     * keeps the rule, and their bytes are one. */
    const char *t = format_text(self, b->format);
    t += t[0] == '@';
    if (!fmt || ((t[0] == 'B' || t[0] == 'b' || t[0] == 'c') && !t[1])) {
        h = hash_as_bytes(self);
    } else {
        mv_error err;
        mv_error_clear(&err);
        /* One byte per item: the item count, which validation keeps in
         * range (not len / itemsize: zero-size items have no bytes). */
        ptrdiff_t n = 1;
        for (int i = 0; i < b->ndim; i++)
            n *= b->shape[i];
        PyObject *bytes = PyBytes_FromStringAndSize(NULL, n);
        if (!bytes)
            return -1;
        int rc = mv_view_byte_values(self->view, PyBytes_AS_STRING(bytes), (size_t)n, &err);
        if (rc == 1) {
            h = PyObject_Hash(bytes);
        } else {
            uint64_t u = 0;
            if (rc == 0)
                rc = mv_view_hash(self->view, &u, &err);
            h = (Py_hash_t)u;
            if (h == -1)
                h = -2;
        }
        Py_DECREF(bytes);
        if (rc < 0)
            return set_error_int(&err);
    }
    if (h != -1)
        self->hash = h;
    return h;
}

/* ======================================================================== *
 * Methods
 * ======================================================================== */

static PyObject *memory_release(mvobject *self, PyObject *unused)
{
    (void)unused;
    if (memory_release_view(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *memory_enter(mvobject *self, PyObject *unused)
{
    (void)unused;
    if (check_released(self) < 0)
        return NULL;
    Py_INCREF(self);
    return (PyObject *)self;
}

static PyObject *memory_exit(mvobject *self, PyObject *args)
{
    (void)args;
    return memory_release(self, NULL);
}

static PyObject *memory_toreadonly(mvobject *self, PyObject *unused)
{
    (void)unused;
    if (check_released(self) < 0)
        return NULL;
    mv_error err;
    mv_error_clear(&err);
    place_ctx c = place_start(self->mbuf);
    return memory_placed(&c, mv_view_toreadonly_at(memory_place, &c, self->view, &err), &err);
}

static PyObject *memory_tobytes(mvobject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"order", NULL};
    PyObject *order = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:tobytes", kwlist, &order))
        return NULL;
    const char *ord = NULL;
    if (order != Py_None) {
        if (!PyUnicode_Check(order)) {
            PyErr_Format(PyExc_TypeError,
                         "tobytes() argument 'order' must be str or None, not %.50s",
                         order == Py_None ? "None" : Py_TYPE(order)->tp_name);
            return NULL;
        }
        Py_ssize_t n;
        ord = PyUnicode_AsUTF8AndSize(order, &n);
        if (!ord)
            return NULL;
        if (strlen(ord) != (size_t)n) {
            PyErr_SetString(PyExc_ValueError, "embedded null character");
            return NULL;
        }
    }
    if (check_released(self) < 0)
        return NULL;
    char o = 'C';
    if (ord) {
        if (strcmp(ord, "F") == 0)
            o = 'F';
        else if (strcmp(ord, "A") == 0)
            o = 'A';
        else if (strcmp(ord, "C") != 0) {
            PyErr_SetString(PyExc_ValueError, "order must be 'C', 'F' or 'A'");
            return NULL;
        }
    }
    return to_bytes(self, o);
}

/* ---- tolist ------------------------------------------------------------ */

/* Python errors inside visitor callbacks stop the walk with this code. */
#define WALK_PYERR 1

typedef struct tolist_ctx {
    const mv_buffer *b;
    PyObject *stack[MV_MAX_NDIM + 1];
    Py_ssize_t fill[MV_MAX_NDIM + 1];
    int depth; /* open lists */
    PyObject *result;
} tolist_ctx;

/* Put o (stolen) into the open list, or make it the result. */
static int tolist_put(tolist_ctx *c, PyObject *o)
{
    if (c->depth == 0) {
        c->result = o;
        return 0;
    }
    PyObject *list = c->stack[c->depth - 1];
    PyList_SET_ITEM(list, c->fill[c->depth - 1]++, o);
    return 0;
}

static int tolist_begin(void *ctx, int depth)
{
    tolist_ctx *c = ctx;
    PyObject *list = PyList_New(c->b->shape[depth]);
    if (!list)
        return WALK_PYERR;
    c->stack[c->depth] = list;
    c->fill[c->depth] = 0;
    c->depth++;
    return 0;
}

static int tolist_item(void *ctx, const mv_value *values, ptrdiff_t nvalues)
{
    tolist_ctx *c = ctx;
    PyObject *o = values_to_py(values, nvalues);
    if (!o)
        return WALK_PYERR;
    return tolist_put(c, o);
}

static int tolist_end(void *ctx, int depth)
{
    tolist_ctx *c = ctx;
    (void)depth;
    PyObject *list = c->stack[--c->depth];
    c->stack[c->depth] = NULL;
    return tolist_put(c, list);
}

/* tolist of an empty view from dimension dim on: nested empty lists. */
static PyObject *empty_lists(const mv_buffer *b, int dim)
{
    if (b->ndim == 0)
        return PyList_New(0); /* not reached: a 0-dim view has one item */
    Py_ssize_t n = dim == b->ndim - 1 ? 0 : b->shape[dim];
    PyObject *list = PyList_New(n);
    for (Py_ssize_t i = 0; list && i < n; i++) {
        PyObject *sub = empty_lists(b, dim + 1);
        if (!sub)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, i, sub);
    }
    return list;
}

/* The lists of dimension dim on, from the row at p, of a direct view of
 * native numbers (code): a row at a time, no visitor, no mv_value. */
static PyObject *native_lists(const mv_buffer *b, int dim, const char *p, char code)
{
    Py_ssize_t n = b->shape[dim];
    ptrdiff_t stride = b->strides[dim];
    PyObject *list = PyList_New(n);
    if (!list)
        return NULL;
    if (dim == b->ndim - 1) {
        if (row_load(list, p, n, stride, code) < 0)
            Py_CLEAR(list);
        return list;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *o = native_lists(b, dim + 1, p + i * stride, code);
        if (!o) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, o);
    }
    return list;
}

static PyObject *memory_tolist(mvobject *self, PyObject *unused)
{
    (void)unused;
    if (check_released(self) < 0)
        return NULL;
    const mv_buffer *b = view_buffer(self);
    char code = view_native(self);
    if (b->ndim > 0 && !b->suboffsets && is_loadable(code)) {
        /* Native numbers, any number of dimensions.  The lists allocated
         * between reads can run the collector, whose finalizers may call
         * release(): pinned meanwhile. */
        pin(self);
        PyObject *list = native_lists(b, 0, b->buf, code);
        unpin(self);
        return list;
    }
    if (!item_format(self)) {
        /* As CPython, an empty view of a format nobody reads is its empty
         * lists.  Empty means no items (a zero in the shape), not no bytes:
         * zero-size items have no bytes. */
        const mv_buffer *b = view_buffer(self);
        bool no_items = false;
        for (int i = 0; i < b->ndim; i++)
            no_items |= b->shape[i] == 0;
        if (!PyErr_ExceptionMatches(PyExc_NotImplementedError) || !no_items)
            return NULL;
        PyErr_Clear();
        return empty_lists(view_buffer(self), 0);
    }
    tolist_ctx c;
    memset(&c, 0, sizeof c);
    c.b = view_buffer(self);
    mv_visitor vis = {tolist_begin, tolist_item, tolist_end, &c};
    mv_error err;
    mv_error_clear(&err);
    pin(self); /* the lists allocated on the way can run finalizers */
    int rc = mv_view_traverse(self->view, &vis, &err);
    unpin(self);
    if (rc != 0) {
        /* Lists still open are partly filled: PyList_New zeroed them. */
        for (int i = 0; i < c.depth; i++)
            Py_XDECREF(c.stack[i]);
        Py_XDECREF(c.result);
        if (rc < 0)
            set_error(&err);
        return NULL;
    }
    return c.result;
}

/* ---- hex --------------------------------------------------------------- */

/* mv_view_hex_alloc's allocator: a new ASCII str in *ctx. */
static void *new_ascii(void *ctx, ptrdiff_t nbytes)
{
    PyObject **out = ctx;
    *out = PyUnicode_New(nbytes, 127);
    return *out ? PyUnicode_DATA(*out) : NULL;
}

static PyObject *hex_pinned(mvobject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"sep", "bytes_per_sep", NULL};
    PyObject *sep = NULL, *bps_obj = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|OO:hex", kwlist, &sep, &bps_obj))
        return NULL;
    int bps = 1;
    if (bps_obj && as_c_int(bps_obj, &bps) < 0)
        return NULL;
    if (check_released(self) < 0)
        return NULL;
    unsigned int sepc = 0;
    if (sep) {
        /* pystrhex's checks, in its order; len(sep) may run Python code. */
        Py_ssize_t seplen = PyObject_Length(sep);
        if (seplen < 0)
            return NULL;
        if (seplen != 1) {
            PyErr_SetString(PyExc_ValueError, "sep must be length 1.");
            return NULL;
        }
        if (PyUnicode_Check(sep)) {
            Py_UCS4 ch = PyUnicode_ReadChar(sep, 0);
            if (ch == (Py_UCS4)-1 && PyErr_Occurred())
                return NULL;
            sepc = ch;
        } else if (PyBytes_Check(sep)) {
            sepc = (unsigned char)PyBytes_AS_STRING(sep)[0];
        } else {
            PyErr_SetString(PyExc_TypeError, "sep must be str or bytes.");
            return NULL;
        }
        if (sepc > 127) {
            PyErr_SetString(PyExc_ValueError, "sep must be ASCII.");
            return NULL;
        }
        if (check_released(self) < 0)
            return NULL;
    } else {
        bps = 0;
    }
    /* libmemview reads sep 0 as "no separator"; a NUL separator is written
     * as 0x01 (never a hex digit) and swapped afterwards. */
    char lsep = sep ? (sepc ? (char)sepc : '\x01') : 0;
    mv_error err;
    mv_error_clear(&err);
    PyObject *s = NULL;
    char *data = mv_view_hex_alloc(self->view, lsep, bps, new_ascii, &s, &err);
    if (!data) {
        if (!s && PyErr_Occurred())
            return NULL; /* the allocator's MemoryError */
        Py_XDECREF(s);
        return set_error(&err);
    }
    if (sep && sepc == 0) {
        ptrdiff_t n = PyUnicode_GET_LENGTH(s);
        for (ptrdiff_t i = 0; i < n; i++)
            if (data[i] == '\x01')
                data[i] = '\0';
    }
    return s;
}

/* hex runs Python code (len(sep), __index__) while it holds the memory:
 * pinned (pin()). */
static PyObject *memory_hex(mvobject *self, PyObject *args, PyObject *kwds)
{
    RETURN_PINNED(self, hex_pinned(self, args, kwds));
}

/* ---- pickling ---------------------------------------------------------- */

/* memoryview is not picklable.  CPython says so through object's default
 * reduce, whose message depends on the version and the protocol. */
static PyObject *memory_reduce(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    PyErr_SetString(PyExc_TypeError, MSG_PICKLE);
    return NULL;
}

static PyObject *memory_reduce_ex(PyObject *self, PyObject *protocol)
{
    long proto = PyLong_AsLong(protocol);
    if (proto == -1 && PyErr_Occurred())
        return NULL;
#if PY_VERSION_HEX >= 0x030B0000
    if (proto >= 2) {
        PyErr_SetString(PyExc_TypeError, "cannot pickle memoryview objects");
        return NULL;
    }
#endif
    return memory_reduce(self, NULL);
}

/* ======================================================================== *
 * Properties
 * ======================================================================== */

static PyObject *ssize_tuple(int n, const ptrdiff_t *a)
{
    if (!a)
        return PyTuple_New(0);
    PyObject *t = PyTuple_New(n);
    if (!t)
        return NULL;
    for (int i = 0; i < n; i++) {
        PyObject *o = PyLong_FromSsize_t(a[i]);
        if (!o) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, i, o);
    }
    return t;
}

static PyObject *memory_obj_get(mvobject *self, void *closure)
{
    (void)closure;
    if (check_released(self) < 0)
        return NULL;
    PyObject *o = self->mbuf->obj ? self->mbuf->obj : Py_None;
    Py_INCREF(o);
    return o;
}

static PyObject *memory_nbytes_get(mvobject *self, void *closure)
{
    (void)closure;
    if (check_released(self) < 0)
        return NULL;
    return PyLong_FromSsize_t(view_buffer(self)->len);
}

static PyObject *memory_readonly_get(mvobject *self, void *closure)
{
    (void)closure;
    if (check_released(self) < 0)
        return NULL;
    return PyBool_FromLong(view_buffer(self)->readonly);
}

static PyObject *memory_itemsize_get(mvobject *self, void *closure)
{
    (void)closure;
    if (check_released(self) < 0)
        return NULL;
    return PyLong_FromSsize_t(view_buffer(self)->itemsize);
}

static PyObject *memory_format_get(mvobject *self, void *closure)
{
    (void)closure;
    if (check_released(self) < 0)
        return NULL;
    return PyUnicode_FromString(format_text(self, view_buffer(self)->format));
}

static PyObject *memory_ndim_get(mvobject *self, void *closure)
{
    (void)closure;
    if (check_released(self) < 0)
        return NULL;
    return PyLong_FromLong(view_ndim(self));
}

static PyObject *memory_shape_get(mvobject *self, void *closure)
{
    (void)closure;
    if (check_released(self) < 0)
        return NULL;
    const mv_buffer *b = view_buffer(self);
    return ssize_tuple(b->ndim, b->shape);
}

static PyObject *memory_strides_get(mvobject *self, void *closure)
{
    (void)closure;
    if (check_released(self) < 0)
        return NULL;
    const mv_buffer *b = view_buffer(self);
    return ssize_tuple(b->ndim, b->strides);
}

static PyObject *memory_suboffsets_get(mvobject *self, void *closure)
{
    (void)closure;
    if (check_released(self) < 0)
        return NULL;
    const mv_buffer *b = view_buffer(self);
    return ssize_tuple(b->ndim, b->suboffsets);
}

static PyObject *memory_contiguity(mvobject *self, char order)
{
    if (check_released(self) < 0)
        return NULL;
    return PyBool_FromLong(is_contiguous(self, order));
}

static PyObject *memory_c_contiguous(mvobject *self, void *closure)
{
    (void)closure;
    return memory_contiguity(self, 'C');
}

static PyObject *memory_f_contiguous(mvobject *self, void *closure)
{
    (void)closure;
    return memory_contiguity(self, 'F');
}

static PyObject *memory_contiguous(mvobject *self, void *closure)
{
    (void)closure;
    return memory_contiguity(self, 'A');
}

static PyObject *memory_repr(mvobject *self)
{
    if (!self->mbuf)
        return PyUnicode_FromFormat("<released memory at %p>", (void *)self);
    return PyUnicode_FromFormat("<memory at %p>", (void *)self);
}

/* ======================================================================== *
 * The type object
 * ======================================================================== */

static PyGetSetDef memory_getsetlist[] = {
    {"obj", (getter)memory_obj_get, NULL, "The underlying object of the memoryview.", NULL},
    {"nbytes", (getter)memory_nbytes_get, NULL,
     "The amount of space in bytes that the array would use in a contiguous representation.", NULL},
    {"readonly", (getter)memory_readonly_get, NULL,
     "A bool indicating whether the memory is read only.", NULL},
    {"itemsize", (getter)memory_itemsize_get, NULL,
     "The size in bytes of each element of the memoryview.", NULL},
    {"format", (getter)memory_format_get, NULL,
     "A string containing the format (in struct module style) for each element in the view.", NULL},
    {"ndim", (getter)memory_ndim_get, NULL,
     "An integer indicating how many dimensions of a multi-dimensional array the memory "
     "represents.",
     NULL},
    {"shape", (getter)memory_shape_get, NULL,
     "A tuple of ndim integers giving the shape of the memory as an N-dimensional array.", NULL},
    {"strides", (getter)memory_strides_get, NULL,
     "A tuple of ndim integers giving the size in bytes to access each element for each "
     "dimension of the array.",
     NULL},
    {"suboffsets", (getter)memory_suboffsets_get, NULL,
     "A tuple of integers used internally for PIL-style arrays.", NULL},
    {"c_contiguous", (getter)memory_c_contiguous, NULL,
     "A bool indicating whether the memory is C contiguous.", NULL},
    {"f_contiguous", (getter)memory_f_contiguous, NULL,
     "A bool indicating whether the memory is Fortran contiguous.", NULL},
    {"contiguous", (getter)memory_contiguous, NULL,
     "A bool indicating whether the memory is contiguous.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

#define KW (METH_VARARGS | METH_KEYWORDS)

static PyMethodDef memory_methods[] = {
    {"release", (PyCFunction)memory_release, METH_NOARGS,
     "release($self, /)\n--\n\nRelease the underlying buffer exposed by the memoryview object."},
    {"tobytes", (PyCFunction)(void (*)(void))memory_tobytes, KW,
     "tobytes($self, /, order='C')\n--\n\nReturn the data in the buffer as a byte string."},
    {"hex", (PyCFunction)(void (*)(void))memory_hex, KW,
     "hex($self, /, sep=<unrepresentable>, bytes_per_sep=1)\n--\n\n"
     "Return the data in the buffer as a str of hexadecimal numbers."},
    {"tolist", (PyCFunction)memory_tolist, METH_NOARGS,
     "tolist($self, /)\n--\n\nReturn the data in the buffer as a list of elements."},
    {"toreadonly", (PyCFunction)memory_toreadonly, METH_NOARGS,
     "toreadonly($self, /)\n--\n\nReturn a readonly version of the memoryview."},
    {"cast", (PyCFunction)(void (*)(void))memory_cast, METH_FASTCALL | METH_KEYWORDS,
     "cast($self, /, format, shape=<unrepresentable>)\n--\n\n"
     "Cast a memoryview to a new format or shape."},
    {"count", (PyCFunction)memory_count, METH_O,
     "count($self, value, /)\n--\n\nCount the number of occurrences of a value."},
    {"index", (PyCFunction)memory_index, METH_VARARGS,
     "index($self, value, start=0, stop=sys.maxsize, /)\n--\n\n"
     "Return the index of the first occurrence of a value."},
    {"find", (PyCFunction)memory_find, METH_VARARGS,
     "find($self, sub, start=None, end=None, /)\n--\n\n"
     "Lowest index of sub in a 1-D byte view, or -1 (as bytes.find)."},
    {"find_view", (PyCFunction)memory_find_view, METH_VARARGS,
     "find_view($self, sub, start=None, end=None, /)\n--\n\n"
     "The first match of sub as a sub-view, or None."},
    {"startswith", (PyCFunction)memory_startswith, METH_VARARGS,
     "startswith($self, prefix, start=None, end=None, /)\n--\n\n"
     "Whether a 1-D byte view starts with prefix (bytes-like or a tuple of them)."},
    {"endswith", (PyCFunction)memory_endswith, METH_VARARGS,
     "endswith($self, suffix, start=None, end=None, /)\n--\n\n"
     "Whether a 1-D byte view ends with suffix (bytes-like or a tuple of them)."},
    {"split", (PyCFunction)(void (*)(void))memory_split, KW,
     "split($self, /, sep=None, maxsplit=-1)\n--\n\n"
     "Split a 1-D byte view as bytes.split does, into a list of sub-views."},
    {"__enter__", (PyCFunction)memory_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)memory_exit, METH_VARARGS,
     "Release the underlying buffer exposed by the memoryview object."},
    {"__reduce__", (PyCFunction)memory_reduce, METH_NOARGS, NULL},
    {"__reduce_ex__", (PyCFunction)memory_reduce_ex, METH_O, NULL},
    {"__class_getitem__", (PyCFunction)Py_GenericAlias, METH_O | METH_CLASS, "See PEP 585"},
#if PY_VERSION_HEX >= 0x030C0000
    {"_from_flags", (PyCFunction)(void (*)(void))memory_from_flags, KW | METH_CLASS,
     "_from_flags($type, object, flags, /)\n--\n\nCreate a new memoryview object which "
     "references the given object."},
#endif
    {NULL, NULL, 0, NULL},
};

static PyBufferProcs memory_as_buffer = {
    (getbufferproc)memory_getbuf,
    (releasebufferproc)memory_releasebuf,
};

static PyMappingMethods memory_as_mapping = {
    (lenfunc)memory_length,
    (binaryfunc)memory_subscript,
    (objobjargproc)memory_ass_sub,
};

static PySequenceMethods memory_as_sequence = {
    .sq_length = (lenfunc)memory_length,
    .sq_item = (ssizeargfunc)memory_item,
    .sq_contains = (objobjproc)memory_contains,
};

#ifdef Py_TPFLAGS_SEQUENCE
#define MEMORY_SEQUENCE_FLAG Py_TPFLAGS_SEQUENCE
#else
#define MEMORY_SEQUENCE_FLAG 0
#endif

PyTypeObject MemoryView_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "memview.memoryview",
    .tp_basicsize = offsetof(mvobject, storage),
    .tp_itemsize = 1,
    .tp_dealloc = (destructor)memory_dealloc,
    .tp_repr = (reprfunc)memory_repr,
    .tp_as_sequence = &memory_as_sequence,
    .tp_as_mapping = &memory_as_mapping,
    .tp_hash = (hashfunc)memory_hash,
    .tp_getattro = PyObject_GenericGetAttr,
    .tp_as_buffer = &memory_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | MEMORY_SEQUENCE_FLAG,
    .tp_doc = "memoryview(object)\n--\n\nCreate a new memoryview object which references the "
              "given object.",
    .tp_traverse = (traverseproc)memory_traverse,
    .tp_clear = (inquiry)memory_clear,
    .tp_richcompare = memory_richcompare,
    .tp_weaklistoffset = offsetof(mvobject, weakreflist),
    .tp_iter = (getiterfunc)memory_iter,
    .tp_methods = memory_methods,
    .tp_getset = memory_getsetlist,
    .tp_new = memory_new,
    .tp_vectorcall = memory_vectorcall,
};
