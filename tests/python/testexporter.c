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
 * Not installed (python/meson.build builds it only with -Dtests=true). */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <string.h>

#define EXPORTER_MAX_NDIM 64

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
} ExporterObject;

static PyTypeObject Exporter_Type;

/* Reads a sequence of integers into a new PyMem array of *n entries.
 * -1 with an exception set on failure. */
static int read_ssize_seq(PyObject *seq, const char *what, Py_ssize_t **out, Py_ssize_t *n)
{
    PyObject *fast = PySequence_Fast(seq, "");
    if (!fast) {
        PyErr_Format(PyExc_TypeError, "Exporter: %s must be a sequence of ints", what);
        return -1;
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(fast);
    if (count > EXPORTER_MAX_NDIM) {
        Py_DECREF(fast);
        PyErr_Format(PyExc_ValueError, "Exporter: %s has more than %d entries", what,
                     EXPORTER_MAX_NDIM);
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

static void Exporter_dealloc(PyObject *op)
{
    ExporterObject *self = (ExporterObject *)op;
    PyMem_Free(self->mem);
    PyMem_Free(self->shape);
    PyMem_Free(self->strides);
    PyMem_Free(self->format);
    Py_TYPE(op)->tp_free(op);
}

static PyObject *Exporter_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"data", "itemsize", "shape", "strides", "format",
                             "readonly", "offset", NULL};
    Py_buffer data;
    Py_ssize_t itemsize, offset = 0;
    PyObject *shape = Py_None, *strides = Py_None, *format = Py_None;
    int readonly = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "y*n|OOOpn:Exporter", kwlist, &data, &itemsize,
                                     &shape, &strides, &format, &readonly, &offset))
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

    if (itemsize <= 0) {
        PyErr_SetString(PyExc_ValueError, "Exporter: itemsize must be positive");
        goto fail;
    }

    Py_ssize_t ndim;
    if (shape == Py_None) {
        if (offset < 0 || offset > self->memlen) {
            PyErr_SetString(PyExc_ValueError, "Exporter: offset outside data");
            goto fail;
        }
        self->shape = PyMem_Malloc(sizeof *self->shape);
        if (!self->shape) {
            PyErr_NoMemory();
            goto fail;
        }
        self->shape[0] = (self->memlen - offset) / itemsize;
        ndim = 1;
    } else if (read_ssize_seq(shape, "shape", &self->shape, &ndim) < 0) {
        goto fail;
    }
    self->ndim = (int)ndim;

    if (strides == Py_None) {
        self->strides = PyMem_Malloc((size_t)(ndim > 0 ? ndim : 1) * sizeof *self->strides);
        if (!self->strides) {
            PyErr_NoMemory();
            goto fail;
        }
        Py_ssize_t s = itemsize;
        for (Py_ssize_t i = ndim - 1; i >= 0; i--) {
            self->strides[i] = s;
            s *= self->shape[i] > 0 ? self->shape[i] : 1;
        }
    } else {
        Py_ssize_t n;
        if (read_ssize_seq(strides, "strides", &self->strides, &n) < 0)
            goto fail;
        if (n != ndim) {
            PyErr_SetString(PyExc_ValueError, "Exporter: strides and shape differ in length");
            goto fail;
        }
    }
    if (ndim == 0) {
        PyMem_Free(self->shape);
        PyMem_Free(self->strides);
        self->shape = NULL;
        self->strides = NULL;
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

    if (check_layout(self) < 0)
        goto fail;
    self->len = itemsize;
    for (int i = 0; i < self->ndim; i++)
        self->len *= self->shape[i];
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
    if ((flags & PyBUF_WRITABLE) && self->readonly) {
        view->obj = NULL;
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
    view->shape = self->shape;
    view->strides = self->strides;
    view->suboffsets = NULL;
    view->internal = NULL;
    self->exports++;
    return 0;
}

static void Exporter_releasebuffer(PyObject *op, Py_buffer *view)
{
    (void)view;
    ((ExporterObject *)op)->exports--;
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
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Exporter(data, itemsize, shape=None, strides=None, format=None, "
              "readonly=True, offset=0): exports exactly the descriptor given.",
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
