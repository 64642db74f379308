/* _memview_testexporter: a buffer exporter for the pytest suites only.
 *
 * Python classes cannot export buffers before 3.12, and _testbuffer.ndarray
 * always derives its format and itemsize from the struct module, so neither
 * can hand out a descriptor such as "format NULL, itemsize 8" or "format 'H',
 * itemsize 4".  This type can:
 *
 *   Exporter(data, itemsize, shape=None, strides=None, format=None,
 *            readonly=True, offset=0)
 *
 * copies `data` (any bytes-like object) into memory it owns and exports
 * exactly the descriptor it was given, whatever the request flags ask for
 * (a format of None stays NULL even under PyBUF_FORMAT; shape () is 0-D).
 * The one request it refuses is PyBUF_WRITABLE on a read-only exporter.
 *
 *   shape=None    1-D, (len(data) - offset) // itemsize items
 *   strides=None  C-contiguous strides for shape
 *   buf           the start of the copy plus offset
 *   len           product(shape) * itemsize
 *
 * The constructor refuses a layout that would reach outside the copy.
 * `exports` counts the buffers handed out and not yet released; data()
 * returns the whole owned memory as bytes, so a test can see what a write
 * through a view changed.
 *
 * Keyword-only arguments make it lie or fight back (test_hostile.py):
 *
 *   unchecked=True     no layout check: itemsize may be <= 0, shape entries
 *                      negative, extents overflowing or reaching outside
 *                      the copy, up to 128 shape / strides entries (the
 *                      consumer must refuse what it cannot trust; the
 *                      default strides and len then wrap around silently)
 *   len=N              exported len instead of product(shape) * itemsize
 *   ndim=N             exported ndim instead of len(shape), any int; the
 *                      shape and strides arrays are padded to N entries
 *                      (shape 1, stride itemsize) so no reader of N
 *                      entries leaves them
 *   null_shape=True    exported shape NULL (strides stay, unless:)
 *   null_strides=True  exported strides NULL
 *   getbuffer_hook=f   f(flags) runs before each buffer is handed out; if it
 *                      raises, the request fails with its exception
 *   release_hook=f     f() runs after each buffer is given back (its
 *                      exception is reported as unraisable)
 *
 * Not installed (python/meson.build builds it only with -Dtests=true). */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <string.h>

#define EXPORTER_MAX_NDIM 64
#define EXPORTER_MAX_ENTRIES 128 /* unchecked: room for ndim > PyBUF_MAX_NDIM */

typedef struct {
    PyObject_HEAD
    char *mem;           /* the owned copy of data (PyMem) */
    Py_ssize_t memlen;   /* its size in bytes */
    Py_ssize_t offset;   /* buf = mem + offset */
    Py_ssize_t itemsize;
    Py_ssize_t len;      /* product(shape) * itemsize */
    int ndim;
    int readonly;
    Py_ssize_t *shape;   /* ndim entries (PyMem), NULL when ndim == 0 */
    Py_ssize_t *strides; /* ndim entries (PyMem), NULL when ndim == 0 */
    char *format;        /* NUL-terminated copy (PyMem), or NULL */
    Py_ssize_t exports;  /* buffers handed out and not yet released */
    int null_shape;      /* export shape = NULL */
    int null_strides;    /* export strides = NULL */
    PyObject *getbuffer_hook; /* hook(flags) before each export, or NULL */
    PyObject *release_hook;   /* hook() after each release, or NULL */
} ExporterObject;

static PyTypeObject Exporter_Type;

/* Reads a sequence of integers into a new PyMem array of *n entries.
 * -1 with an exception set on failure. */
static int read_ssize_seq(PyObject *seq, const char *what, Py_ssize_t limit, Py_ssize_t **out,
                          Py_ssize_t *n)
{
    PyObject *fast = PySequence_Fast(seq, "");
    if (!fast) {
        PyErr_Format(PyExc_TypeError, "Exporter: %s must be a sequence of ints", what);
        return -1;
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(fast);
    if (count > limit) {
        Py_DECREF(fast);
        PyErr_Format(PyExc_ValueError, "Exporter: %s has more than %zd entries", what, limit);
        return -1;
    }
    Py_ssize_t *arr = PyMem_Malloc((size_t)(count > 0 ? count : 1) * sizeof *arr);
    if (!arr) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_ssize_t v = PyLong_AsSsize_t(PySequence_Fast_GET_ITEM(fast, i));
        if (v == -1 && PyErr_Occurred()) {
            PyMem_Free(arr);
            Py_DECREF(fast);
            return -1;
        }
        arr[i] = v;
    }
    Py_DECREF(fast);
    *out = arr;
    *n = count;
    return 0;
}

/* 0 when every item of the layout lies inside the owned memory; -1 with
 * ValueError otherwise (also on overflow). */
static int check_layout(const ExporterObject *self)
{
    Py_ssize_t items = 1;
    for (int i = 0; i < self->ndim; i++) {
        if (self->shape[i] < 0) {
            PyErr_SetString(PyExc_ValueError, "Exporter: negative shape entry");
            return -1;
        }
        if (self->shape[i] != 0 && items > PY_SSIZE_T_MAX / self->shape[i]) {
            PyErr_SetString(PyExc_ValueError, "Exporter: shape too large");
            return -1;
        }
        items *= self->shape[i];
    }
    if (items > PY_SSIZE_T_MAX / self->itemsize) {
        PyErr_SetString(PyExc_ValueError, "Exporter: shape too large");
        return -1;
    }
    if (self->offset < 0 || self->offset > self->memlen) {
        PyErr_SetString(PyExc_ValueError, "Exporter: offset outside data");
        return -1;
    }
    if (items == 0)
        return 0;
    /* The lowest and highest byte offsets (from buf) of any item. */
    Py_ssize_t lo = 0, hi = 0;
    for (int i = 0; i < self->ndim; i++) {
        Py_ssize_t s = self->strides[i], n = self->shape[i] - 1;
        if (n > 0 && (s > PY_SSIZE_T_MAX / (2 * EXPORTER_MAX_NDIM) / n || s < -(PY_SSIZE_T_MAX / (2 * EXPORTER_MAX_NDIM) / n))) {
            PyErr_SetString(PyExc_ValueError, "Exporter: strides too large");
            return -1;
        }
        if (s > 0)
            hi += s * n;
        else
            lo += s * n;
    }
    if (self->offset + lo < 0 || hi > self->memlen - self->offset - self->itemsize) {
        PyErr_SetString(PyExc_ValueError, "Exporter: the layout reaches outside data");
        return -1;
    }
    return 0;
}

static int Exporter_traverse(PyObject *op, visitproc visit, void *arg)
{
    ExporterObject *self = (ExporterObject *)op;
    Py_VISIT(self->getbuffer_hook);
    Py_VISIT(self->release_hook);
    return 0;
}

static int Exporter_clear(PyObject *op)
{
    ExporterObject *self = (ExporterObject *)op;
    Py_CLEAR(self->getbuffer_hook);
    Py_CLEAR(self->release_hook);
    return 0;
}

static void Exporter_dealloc(PyObject *op)
{
    ExporterObject *self = (ExporterObject *)op;
    PyObject_GC_UnTrack(op);
    Exporter_clear(op);
    PyMem_Free(self->mem);
    PyMem_Free(self->shape);
    PyMem_Free(self->strides);
    PyMem_Free(self->format);
    Py_TYPE(op)->tp_free(op);
}

/* An optional int argument (None: absent) into *out; 0, or -1 with an
 * exception set. */
static int optional_ssize(PyObject *o, const char *what, int *given, Py_ssize_t *out)
{
    *given = o != Py_None;
    if (!*given)
        return 0;
    *out = PyLong_AsSsize_t(o);
    if (*out == -1 && PyErr_Occurred()) {
        PyErr_Format(PyExc_TypeError, "Exporter: %s must be an int or None", what);
        return -1;
    }
    return 0;
}

/* A copy of the n entries of arr (PyMem, freed) padded with `pad` to
 * `room` entries; -1 with MemoryError. */
static int pad_array(Py_ssize_t **arr, Py_ssize_t n, Py_ssize_t room, Py_ssize_t pad)
{
    Py_ssize_t *a = PyMem_Malloc((size_t)room * sizeof *a);
    if (!a) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < room; i++)
        a[i] = i < n ? (*arr)[i] : pad;
    PyMem_Free(*arr);
    *arr = a;
    return 0;
}

static PyObject *Exporter_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"data", "itemsize", "shape", "strides", "format", "readonly",
                             "offset", "unchecked", "len", "ndim", "null_shape", "null_strides",
                             "getbuffer_hook", "release_hook", NULL};
    Py_buffer data;
    Py_ssize_t itemsize, offset = 0;
    PyObject *shape = Py_None, *strides = Py_None, *format = Py_None;
    PyObject *len_obj = Py_None, *ndim_obj = Py_None;
    PyObject *gethook = Py_None, *relhook = Py_None;
    int readonly = 1, unchecked = 0, null_shape = 0, null_strides = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "y*n|OOOpn$pOOppOO:Exporter", kwlist, &data,
                                     &itemsize, &shape, &strides, &format, &readonly, &offset,
                                     &unchecked, &len_obj, &ndim_obj, &null_shape,
                                     &null_strides, &gethook, &relhook))
        return NULL;

    ExporterObject *self = (ExporterObject *)type->tp_alloc(type, 0);
    if (!self) {
        PyBuffer_Release(&data);
        return NULL;
    }
    self->mem = NULL;
    self->shape = NULL;
    self->strides = NULL;
    self->format = NULL;
    self->exports = 0;
    self->readonly = readonly;
    self->offset = offset;
    self->itemsize = itemsize;
    self->null_shape = null_shape;
    self->null_strides = null_strides;
    self->getbuffer_hook = NULL;
    self->release_hook = NULL;
    if (gethook != Py_None) {
        Py_INCREF(gethook);
        self->getbuffer_hook = gethook;
    }
    if (relhook != Py_None) {
        Py_INCREF(relhook);
        self->release_hook = relhook;
    }

    self->memlen = data.len;
    self->mem = PyMem_Malloc(data.len > 0 ? (size_t)data.len : 1);
    if (!self->mem) {
        PyErr_NoMemory();
        goto fail;
    }
    if (PyBuffer_ToContiguous(self->mem, &data, data.len, 'C') < 0)
        goto fail;
    PyBuffer_Release(&data);
    data.obj = NULL;

    int len_given, ndim_given;
    Py_ssize_t len_arg = 0, ndim_arg = 0;
    if (optional_ssize(len_obj, "len", &len_given, &len_arg) < 0 ||
        optional_ssize(ndim_obj, "ndim", &ndim_given, &ndim_arg) < 0)
        goto fail;
    if (ndim_given && (ndim_arg < INT_MIN || ndim_arg > INT_MAX)) {
        PyErr_SetString(PyExc_ValueError, "Exporter: ndim out of int range");
        goto fail;
    }
    /* buf = mem + offset must stay inside the allocation even unchecked. */
    if (offset < 0 || offset > self->memlen) {
        PyErr_SetString(PyExc_ValueError, "Exporter: offset outside data");
        goto fail;
    }
    if (itemsize <= 0 && (!unchecked || shape == Py_None)) {
        PyErr_SetString(PyExc_ValueError,
                        unchecked ? "Exporter: itemsize <= 0 needs a shape"
                                  : "Exporter: itemsize must be positive");
        goto fail;
    }
    Py_ssize_t limit = unchecked ? EXPORTER_MAX_ENTRIES : EXPORTER_MAX_NDIM;

    Py_ssize_t ndim;
    if (shape == Py_None) {
        self->shape = PyMem_Malloc(sizeof *self->shape);
        if (!self->shape) {
            PyErr_NoMemory();
            goto fail;
        }
        self->shape[0] = (self->memlen - offset) / itemsize;
        ndim = 1;
    } else if (read_ssize_seq(shape, "shape", limit, &self->shape, &ndim) < 0) {
        goto fail;
    }

    if (strides == Py_None) {
        self->strides = PyMem_Malloc((size_t)(ndim > 0 ? ndim : 1) * sizeof *self->strides);
        if (!self->strides) {
            PyErr_NoMemory();
            goto fail;
        }
        /* Unsigned: an unchecked shape may overflow (and wraps). */
        size_t s = (size_t)itemsize;
        for (Py_ssize_t i = ndim - 1; i >= 0; i--) {
            self->strides[i] = (Py_ssize_t)s;
            s *= self->shape[i] > 0 ? (size_t)self->shape[i] : 1;
        }
    } else {
        Py_ssize_t n;
        if (read_ssize_seq(strides, "strides", limit, &self->strides, &n) < 0)
            goto fail;
        if (n != ndim) {
            PyErr_SetString(PyExc_ValueError, "Exporter: strides and shape differ in length");
            goto fail;
        }
    }

    if (format != Py_None) {
        Py_ssize_t n;
        const char *text = PyUnicode_AsUTF8AndSize(format, &n);
        if (!text)
            goto fail;
        if ((Py_ssize_t)strlen(text) != n) {
            PyErr_SetString(PyExc_ValueError, "Exporter: format contains NUL");
            goto fail;
        }
        self->format = PyMem_Malloc((size_t)n + 1);
        if (!self->format) {
            PyErr_NoMemory();
            goto fail;
        }
        memcpy(self->format, text, (size_t)n + 1);
    }

    self->ndim = (int)ndim;
    if (!unchecked && check_layout(self) < 0)
        goto fail;
    size_t len = (size_t)itemsize;
    for (int i = 0; i < self->ndim; i++)
        len *= (size_t)self->shape[i];
    self->len = len_given ? len_arg : (Py_ssize_t)len;

    if (ndim_given) {
        self->ndim = (int)ndim_arg;
        if (ndim_arg > ndim && (pad_array(&self->shape, ndim, ndim_arg, 1) < 0 ||
                                pad_array(&self->strides, ndim, ndim_arg, itemsize) < 0))
            goto fail;
    } else if (ndim == 0) {
        PyMem_Free(self->shape);
        PyMem_Free(self->strides);
        self->shape = NULL;
        self->strides = NULL;
    }
    return (PyObject *)self;

fail:
    if (data.obj)
        PyBuffer_Release(&data);
    Py_DECREF(self);
    return NULL;
}

static int Exporter_getbuffer(PyObject *op, Py_buffer *view, int flags)
{
    ExporterObject *self = (ExporterObject *)op;
    view->obj = NULL;
    if (self->getbuffer_hook) {
        PyObject *hook = self->getbuffer_hook;
        Py_INCREF(hook);
        PyObject *r = PyObject_CallFunction(hook, "i", flags);
        Py_DECREF(hook);
        if (!r)
            return -1;
        Py_DECREF(r);
    }
    if ((flags & PyBUF_WRITABLE) && self->readonly) {
        PyErr_SetString(PyExc_BufferError, "Exporter: read-only buffer");
        return -1;
    }
    Py_INCREF(op);
    view->obj = op;
    view->buf = self->mem + self->offset;
    view->len = self->len;
    view->readonly = self->readonly;
    view->itemsize = self->itemsize;
    view->format = self->format;
    view->ndim = self->ndim;
    view->shape = self->null_shape ? NULL : self->shape;
    view->strides = self->null_strides ? NULL : self->strides;
    view->suboffsets = NULL;
    view->internal = NULL;
    self->exports++;
    return 0;
}

static void Exporter_releasebuffer(PyObject *op, Py_buffer *view)
{
    ExporterObject *self = (ExporterObject *)op;
    (void)view;
    self->exports--;
    if (self->release_hook) {
        /* The consumer may release while an exception is set. */
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        PyObject *hook = self->release_hook;
        Py_INCREF(hook);
        PyObject *r = PyObject_CallNoArgs(hook);
        if (r)
            Py_DECREF(r);
        else
            PyErr_WriteUnraisable(hook);
        Py_DECREF(hook);
        PyErr_Restore(type, value, tb);
    }
}

static PyObject *Exporter_data(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    ExporterObject *self = (ExporterObject *)op;
    return PyBytes_FromStringAndSize(self->mem, self->memlen);
}

static PyObject *Exporter_get_exports(PyObject *op, void *Py_UNUSED(closure))
{
    return PyLong_FromSsize_t(((ExporterObject *)op)->exports);
}

static PyMethodDef Exporter_methods[] = {
    {"data", Exporter_data, METH_NOARGS, "The whole owned memory as bytes."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Exporter_getset[] = {
    {"exports", Exporter_get_exports, NULL, "Buffers handed out and not yet released.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyBufferProcs Exporter_as_buffer = {
    .bf_getbuffer = Exporter_getbuffer,
    .bf_releasebuffer = Exporter_releasebuffer,
};

static PyTypeObject Exporter_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_memview_testexporter.Exporter",
    .tp_basicsize = sizeof(ExporterObject),
    .tp_dealloc = Exporter_dealloc,
    .tp_as_buffer = &Exporter_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Exporter(data, itemsize, shape=None, strides=None, format=None, "
              "readonly=True, offset=0, *, unchecked=False, len=None, ndim=None, "
              "null_shape=False, null_strides=False, getbuffer_hook=None, release_hook=None): "
              "exports exactly the descriptor given.",
    .tp_traverse = Exporter_traverse,
    .tp_clear = Exporter_clear,
    .tp_free = PyObject_GC_Del,
    .tp_methods = Exporter_methods,
    .tp_getset = Exporter_getset,
    .tp_new = Exporter_new,
};

static struct PyModuleDef testexporter_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_memview_testexporter",
    .m_doc = "A buffer exporter with a free-form descriptor, for memview's tests.",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit__memview_testexporter(void)
{
    if (PyType_Ready(&Exporter_Type) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&testexporter_module);
    if (!m)
        return NULL;
    Py_INCREF(&Exporter_Type);
    if (PyModule_AddObject(m, "Exporter", (PyObject *)&Exporter_Type) < 0) {
        Py_DECREF(&Exporter_Type);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
