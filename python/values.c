/*
 * Values: libmemview's mv_value <-> Python objects (items, their struct
 * codes, pack_single's conversions) and the converters of Python arguments to C values.
 */
#include "memview_py.h"

#include <stdio.h>
#include <string.h>

/* ======================================================================== *
 * Values: mv_value <-> Python objects
 * ======================================================================== */

static PyObject *value_to_py(const mv_value *v)
{
    switch (v->kind) {
    case MV_VALUE_BOOL:
        return PyBool_FromLong(v->v.b);
    case MV_VALUE_SIGNED:
        return PyLong_FromLongLong((long long)v->v.i);
    case MV_VALUE_UNSIGNED:
        return PyLong_FromUnsignedLongLong((unsigned long long)v->v.u);
    case MV_VALUE_DOUBLE:
        return PyFloat_FromDouble(v->v.d);
    case MV_VALUE_COMPLEX:
        return PyComplex_FromDoubles(v->v.c.re, v->v.c.im);
    case MV_VALUE_BYTES:
        return PyBytes_FromStringAndSize((const char *)v->v.bytes.ptr, (Py_ssize_t)v->v.bytes.len);
    case MV_VALUE_CHAR:
        if (v->v.u > 0x10FFFF) {
            char msg[80];
            snprintf(msg, sizeof msg,
                     "memoryview: format 'w' item 0x%llx is not a Unicode code point",
                     (unsigned long long)v->v.u);
            PyErr_SetString(PyExc_ValueError, msg);
            return NULL;
        }
        return PyUnicode_FromOrdinal((int)v->v.u);
    case MV_VALUE_NONE:
    default:
        Py_RETURN_NONE;
    }
}

/* One item: its only value, or a tuple of its values (records,
 * repeat counts). */
PyObject *values_to_py(const mv_value *vals, ptrdiff_t n)
{
    if (n == 1)
        return value_to_py(&vals[0]);
    PyObject *t = PyTuple_New(n);
    if (!t)
        return NULL;
    for (ptrdiff_t i = 0; i < n; i++) {
        PyObject *o = value_to_py(&vals[i]);
        if (!o) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, i, o);
    }
    return t;
}

/* The struct code of each value of an item, in order (records flattened:
 * 'x' gives none, 's' / 'p' one bytes value per field). */
char *item_codes(const mv_format *fmt, char *small)
{
    char *codes = fmt->nvalues < SMALL_VALUES ? small : PyMem_Malloc((size_t)fmt->nvalues + 1);
    if (!codes) {
        PyErr_NoMemory();
        return NULL;
    }
    if (fmt->native) {
        /* One native value: its own code. */
        codes[0] = fmt->native;
        return codes;
    }
    ptrdiff_t k = 0;
    for (int i = 0; i < fmt->nfields && k <= fmt->nvalues; i++) {
        const mv_field *f = &fmt->fields[i];
        if (f->code == 'x')
            continue;
        if (f->code == 's' || f->code == 'p') {
            if (k < fmt->nvalues)
                codes[k] = 's';
            k++;
            continue;
        }
        for (ptrdiff_t j = 0; j < f->count && k <= fmt->nvalues; j++, k++)
            if (k < fmt->nvalues)
                codes[k] = f->code;
    }
    if (k != fmt->nvalues) {
        if (codes != small)
            PyMem_Free(codes);
        PyErr_SetString(PyExc_SystemError, "memview: format fields and values disagree");
        return NULL;
    }
    return codes;
}

static int type_error_fmt(const char *text)
{
    PyErr_Format(PyExc_TypeError, "memoryview: invalid type for format '%s'", text);
    return -1;
}

static int value_error_fmt(const char *text)
{
    PyErr_Format(PyExc_ValueError, "memoryview: invalid value for format '%s'", text);
    return -1;
}

/* CPython's fix_error_int: conversion errors become the format errors;
 * anything else is kept. */
static int fix_error(const char *text)
{
    if (PyErr_ExceptionMatches(PyExc_TypeError)) {
        PyErr_Clear();
        return type_error_fmt(text);
    }
    if (PyErr_ExceptionMatches(PyExc_OverflowError) || PyErr_ExceptionMatches(PyExc_ValueError)) {
        PyErr_Clear();
        return value_error_fmt(text);
    }
    return -1;
}

/* Python object -> one value for struct code `code` (pack_single's rules).
 * Bytes values borrow o's storage: the caller keeps o alive. */
static int convert_one(PyObject *o, char code, const char *text, mv_value *out)
{
    memset(out, 0, sizeof *out);
    switch (code) {
    case 'b':
    case 'B':
    case 'h':
    case 'H':
    case 'i':
    case 'I':
    case 'l':
    case 'L':
    case 'q':
    case 'Q':
    case 'n':
    case 'N':
    case 'P': {
        /* PyLong_AsVoidPtr takes ints only, no __index__ (a TypeError,
         * which fix_error words as CPython's pack_single does). */
        if (code == 'P' && !PyLong_Check(o)) {
            PyErr_SetString(PyExc_TypeError, "an integer is required");
            return fix_error(text);
        }
        PyObject *t = PyNumber_Index(o);
        if (!t)
            return fix_error(text);
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(t, &overflow);
        if (overflow == 0 && !(v == -1 && PyErr_Occurred())) {
            if (code == 'P' && v < 0) {
                /* PyLong_AsVoidPtr accepts negative numbers: their bits. */
                out->kind = MV_VALUE_UNSIGNED;
                out->v.u = (uint64_t)v;
            } else {
                out->kind = MV_VALUE_SIGNED;
                out->v.i = (int64_t)v;
            }
        } else if (overflow > 0) {
            unsigned long long u = PyLong_AsUnsignedLongLong(t);
            if (u == (unsigned long long)-1 && PyErr_Occurred()) {
                Py_DECREF(t);
                return fix_error(text);
            }
            out->kind = MV_VALUE_UNSIGNED;
            out->v.u = (uint64_t)u;
        } else {
            Py_DECREF(t);
            if (PyErr_Occurred())
                return fix_error(text);
            return value_error_fmt(text);
        }
        Py_DECREF(t);
        return 0;
    }
    case 'e':
    case 'f':
    case 'd': {
        double d = PyFloat_AsDouble(o);
        if (d == -1.0 && PyErr_Occurred())
            return fix_error(text);
        out->kind = MV_VALUE_DOUBLE;
        out->v.d = d;
        return 0;
    }
    case 'F':
    case 'D': {
        Py_complex c = PyComplex_AsCComplex(o);
        if (c.real == -1.0 && PyErr_Occurred())
            return fix_error(text);
        out->kind = MV_VALUE_COMPLEX;
        out->v.c.re = c.real;
        out->v.c.im = c.imag;
        return 0;
    }
    case '?': {
        int t = PyObject_IsTrue(o);
        if (t < 0)
            return -1;
        out->kind = MV_VALUE_BOOL;
        out->v.b = t != 0;
        return 0;
    }
    case 'w':
        /* A UCS-4 character from a str of one character. */
        if (!PyUnicode_Check(o))
            return type_error_fmt(text);
        if (PyUnicode_GET_LENGTH(o) != 1)
            return value_error_fmt(text);
        out->kind = MV_VALUE_CHAR;
        out->v.u = PyUnicode_READ_CHAR(o, 0);
        return 0;
    case 'c':
    case 's':
        if (!PyBytes_Check(o))
            return type_error_fmt(text);
        out->kind = MV_VALUE_BYTES;
        out->v.bytes.ptr = (const unsigned char *)PyBytes_AS_STRING(o);
        out->v.bytes.len = (size_t)PyBytes_GET_SIZE(o);
        return 0;
    default:
        PyErr_Format(PyExc_NotImplementedError, "memoryview: format %s not supported", text);
        return -1;
    }
}

/* The values of one item from `value` (a scalar for one-value items, a
 * tuple or list of n values otherwise) into vals.  *keep gets what must
 * stay alive while vals are used.  "released" is checked after every
 * conversion, since each may run Python code. */
int convert_item(mvobject *self, PyObject *value, const char *codes, ptrdiff_t n, const char *text,
                 mv_value *vals, PyObject **keep)
{
    *keep = NULL;
    if (n == 1) {
        if (convert_one(value, codes[0], text, &vals[0]) < 0)
            return -1;
        return check_released(self);
    }
    /* CPython stores no item of several values: these messages are
     * memview's, with what was needed. */
    if (!PyTuple_Check(value) && !PyList_Check(value)) {
        PyErr_Format(PyExc_TypeError,
                     "memoryview: invalid type for format '%s' (a tuple or list of %zd values is "
                     "needed, not %.50s)",
                     text, (Py_ssize_t)n, Py_TYPE(value)->tp_name);
        return -1;
    }
    /* A private tuple: a callback cannot swap out the bytes we point into. */
    PyObject *items = PySequence_Tuple(value);
    if (!items)
        return -1;
    if (PyTuple_GET_SIZE(items) != n) {
        PyErr_Format(PyExc_ValueError,
                     "memoryview: invalid value for format '%s' (%zd values are needed, not %zd)",
                     text, (Py_ssize_t)n, PyTuple_GET_SIZE(items));
        Py_DECREF(items);
        return -1;
    }
    for (ptrdiff_t i = 0; i < n; i++) {
        if (convert_one(PyTuple_GET_ITEM(items, i), codes[i], text, &vals[i]) < 0 ||
            check_released(self) < 0) {
            Py_DECREF(items);
            return -1;
        }
    }
    *keep = items;
    return 0;
}

/* value as an mv_value when libmemview can compare it exactly as Python
 * would (exact int, bool, float, complex, bytes); 0 when not. */
int simple_value(PyObject *o, mv_value *v)
{
    memset(v, 0, sizeof *v);
    if (PyBool_Check(o)) {
        v->kind = MV_VALUE_BOOL;
        v->v.b = o == Py_True;
        return 1;
    }
    if (PyLong_CheckExact(o)) {
        int overflow = 0;
        long long x = PyLong_AsLongLongAndOverflow(o, &overflow);
        if (overflow == 0) {
            v->kind = MV_VALUE_SIGNED;
            v->v.i = (int64_t)x;
            return 1;
        }
        if (overflow > 0) {
            unsigned long long u = PyLong_AsUnsignedLongLong(o);
            if (!(u == (unsigned long long)-1 && PyErr_Occurred())) {
                v->kind = MV_VALUE_UNSIGNED;
                v->v.u = (uint64_t)u;
                return 1;
            }
            PyErr_Clear();
        }
        return 0;
    }
    if (PyFloat_CheckExact(o)) {
        v->kind = MV_VALUE_DOUBLE;
        v->v.d = PyFloat_AS_DOUBLE(o);
        return 1;
    }
    if (PyComplex_CheckExact(o)) {
        v->kind = MV_VALUE_COMPLEX;
        v->v.c.re = PyComplex_RealAsDouble(o);
        v->v.c.im = PyComplex_ImagAsDouble(o);
        return 1;
    }
    if (PyBytes_CheckExact(o)) {
        v->kind = MV_VALUE_BYTES;
        v->v.bytes.ptr = (const unsigned char *)PyBytes_AS_STRING(o);
        v->v.bytes.len = (size_t)PyBytes_GET_SIZE(o);
        return 1;
    }
    return 0;
}

/* ======================================================================== *
 * Argument helpers
 * ======================================================================== */

/* Clinic's `int` converter (_PyLong_AsInt). */
int as_c_int(PyObject *o, int *out)
{
    PyObject *t = PyNumber_Index(o);
    if (!t)
        return -1;
    int overflow = 0;
    long v = PyLong_AsLongAndOverflow(t, &overflow);
    Py_DECREF(t);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (overflow || v > INT_MAX || v < INT_MIN) {
        PyErr_SetString(PyExc_OverflowError, "Python int too large to convert to C int");
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* _PyEval_SliceIndex: an __index__ value clipped to Py_ssize_t; None keeps
 * *out unless none_ok is 0. */
int slice_index(PyObject *o, Py_ssize_t *out, int none_ok)
{
    if (!o || (none_ok && o == Py_None))
        return 0;
    if (!PyIndex_Check(o)) {
        PyErr_SetString(PyExc_TypeError,
                        none_ok ? "slice indices must be integers or None or have an __index__ "
                                  "method"
                                : "slice indices must be integers or have an __index__ method");
        return -1;
    }
    Py_ssize_t v = PyNumber_AsSsize_t(o, NULL);
    if (v == -1 && PyErr_Occurred())
        return -1;
    *out = v;
    return 0;
}
