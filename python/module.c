/*
 * memview: a drop-in replacement for the builtin memoryview, built on
 * libmemview's public API (include/memview.h only).
 *
 * This file is the module: its init, the registration of its types, and
 * the mapping of libmemview's errors to Python exceptions.  The type lives
 * in memoryview.c; memview_py.h lists the other files.
 */
#include "memview_py.h"

/* ======================================================================== *
 * Errors
 * ======================================================================== */

/* Raise the Python exception an mv_error stands for; returns NULL. */
PyObject *set_error(const mv_error *e)
{
    PyObject *type;
    switch (e->code) {
    case MV_EVALUE:
        type = PyExc_ValueError;
        break;
    case MV_ETYPE:
        type = PyExc_TypeError;
        break;
    case MV_EINDEX:
        type = PyExc_IndexError;
        break;
    case MV_EBUFFER:
        type = PyExc_BufferError;
        break;
    case MV_EOVERFLOW:
        type = PyExc_OverflowError;
        break;
    case MV_ENOMEM:
        return PyErr_NoMemory();
    case MV_ENOTIMPL:
        type = PyExc_NotImplementedError;
        break;
    case MV_EOS: {
        PyObject *args = Py_BuildValue("(is)", e->os_errno, e->message);
        if (args) {
            PyErr_SetObject(PyExc_OSError, args);
            Py_DECREF(args);
        }
        return NULL;
    }
    default:
        type = PyExc_SystemError;
        break;
    }
    PyErr_SetString(type, e->message);
    return NULL;
}

int set_error_int(const mv_error *e)
{
    set_error(e);
    return -1;
}

/* ======================================================================== *
 * Module
 * ======================================================================== */

static struct PyModuleDef memview_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "memview",
    .m_doc = "A drop-in memoryview built on libmemview, with N-D slicing, casts between any "
             "formats and byte search.",
    .m_size = -1,
};

/* collections.abc.Sequence.register(memoryview), as _collections_abc does
 * for the builtin. */
static int register_sequence(PyObject *type)
{
    PyObject *abc = PyImport_ImportModule("collections.abc");
    if (!abc)
        return -1;
    PyObject *seq = PyObject_GetAttrString(abc, "Sequence");
    Py_DECREF(abc);
    if (!seq)
        return -1;
    PyObject *res = PyObject_CallMethod(seq, "register", "O", type);
    Py_DECREF(seq);
    if (!res)
        return -1;
    Py_DECREF(res);
    return 0;
}

PyMODINIT_FUNC PyInit_memview(void)
{
    if (PyType_Ready(&ManagedBuffer_Type) < 0 || PyType_Ready(&MemoryIter_Type) < 0 ||
        PyType_Ready(&MemoryView_Type) < 0 || items_init() < 0)
        return NULL;
    PyObject *m = PyModule_Create(&memview_module);
    if (!m)
        return NULL;
    Py_INCREF(&MemoryView_Type);
    if (PyModule_AddObject(m, "memoryview", (PyObject *)&MemoryView_Type) < 0) {
        Py_DECREF(&MemoryView_Type);
        Py_DECREF(m);
        return NULL;
    }
    if (register_sequence((PyObject *)&MemoryView_Type) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
