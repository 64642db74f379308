/*
 * memoryview.cast(format[, shape]): CPython's cast, and beyond it casts of
 * Fortran-contiguous views, N-D -> N-D, and to any format of a compatible
 * size.
 */
#include "memview_py.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* cast() follows CPython's checks in CPython's order, minus the refusals
 * that are only limitations memview removes (a Fortran-contiguous source,
 * N-D -> N-D, a destination that is not a native single character, two
 * non-byte formats).  When such a cast then fails, its real cause is
 * raised, with CPython's text for that cause; and since CPython would
 * have named its limitation there instead, the details that make the cause
 * concrete (format, itemsize, shape, which dimension) follow in
 * parentheses.  Where CPython raises for the same cause, its exact text. */
static PyObject *cast_error(bool beyond, PyObject *type, const char *msg, const char *details,
                            ...)
{
    if (!beyond || !details) {
        PyErr_SetString(type, msg);
        return NULL;
    }
    char text[400];
    va_list ap;
    va_start(ap, details);
    vsnprintf(text, sizeof text, details, ap);
    va_end(ap);
    PyErr_Format(type, "%s (%s)", msg, text);
    return NULL;
}

static int is_byte_code(char c)
{
    return c == 'B' || c == 'b' || c == 'c';
}

/* The running interpreter's native single-character set: libmemview's
 * less 'e' before 3.12 and the complex codes before 3.15. */
static char interpreter_native(char code)
{
#if PY_VERSION_HEX < 0x030C0000
    if (code == 'e')
        return 0;
#endif
#if PY_VERSION_HEX < 0x030F0000
    if (code == 'F' || code == 'D')
        return 0;
#endif
    return code;
}

static PyObject *cast_impl(mvobject *self, PyObject *format, PyObject *shape);

static PyObject *memory_cast_args(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"format", "shape", NULL};
    PyObject *format, *shape = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|O:cast", kwlist, &format, &shape))
        return NULL;
    RETURN_PINNED((mvobject *)self, cast_impl((mvobject *)self, format, shape));
}

/* m.cast(format) takes its one positional argument directly. */
PyObject *memory_cast(mvobject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (nargs == 1 && (!kwnames || PyTuple_GET_SIZE(kwnames) == 0))
        RETURN_PINNED(self, cast_impl(self, args[0], NULL));
    return call_packed((PyObject *)self, args, (size_t)nargs, kwnames, memory_cast_args);
}

/* The cast itself, by the library, into a new memoryview. */
static PyObject *cast_to(mvobject *self, const char *text, const ptrdiff_t *dims, int ndim,
                         int flags)
{
    mv_error err;
    mv_error_clear(&err);
    place_ctx c = place_start(self->mbuf);
    mv_view *v = mv_view_cast_at(memory_place, &c, self->view, text, dims, ndim, flags, &err);
    return memory_placed(&c, v, &err);
}

/* m.cast(fmt) to 1-D in the case CPython accepts (C-contiguous, no zero
 * extent for N-D, a native destination, a byte format on one side, a
 * length that divides): straight to the library, which cannot refuse it,
 * without the general path's bookkeeping for refusals.  NULL without an
 * exception when the case is another. */
static PyObject *cast_1d_fast(mvobject *self, PyObject *format)
{
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(format) < 0) {
        PyErr_Clear();
        return NULL;
    }
#endif
    if (!PyUnicode_IS_ASCII(format) || !is_contiguous(self, 'C'))
        return NULL;
    const char *text = PyUnicode_AsUTF8(format);
    if (!text) {
        PyErr_Clear(); /* the general path reports it */
        return NULL;
    }
    ptrdiff_t itemsize = native_format_size(text);
    if (itemsize <= 0)
        return NULL;
    const mv_buffer *src = view_buffer(self);
    char dest = interpreter_native(text[text[0] == '@']);
    if (!dest || (!is_byte_code(view_native(self)) && !is_byte_code(dest)) ||
        src->len % itemsize)
        return NULL;
    for (int d = 0; src->ndim != 1 && d < src->ndim; d++)
        if (src->shape[d] == 0)
            return NULL;
    return cast_to(self, text, NULL, -1, 0);
}

/* What cast() learns on its way, step by step. */
typedef struct cast_plan {
    const mv_buffer *b;
    bool beyond; /* CPython would refuse this cast for a limitation */
    int c_contig;
    Py_ssize_t ndim; /* -1: no shape given */
    const char *text; /* the destination format, as a C string */
    PyObject *ascii;  /* owns text when the str was not ASCII */
    ptrdiff_t itemsize;
    char dest; /* the destination's native code for this interpreter, or 0 */
    ptrdiff_t dims[MV_MAX_NDIM];
} cast_plan;

/* CPython's checks on the source and the shape argument, before the
 * format: contiguity, zeros in the shape, the shape's type and length. */
static int cast_check_source(mvobject *self, PyObject *shape, cast_plan *p)
{
    const mv_buffer *b = p->b;
    p->c_contig = is_contiguous(self, 'C');
    if (!p->c_contig && !is_contiguous(self, 'F')) {
        /* CPython's text for the same input (memview casts Fortran-
         * contiguous views too; this one is neither). */
        PyErr_SetString(PyExc_TypeError, "memoryview: casts are restricted to C-contiguous views");
        return -1;
    }
    p->beyond |= !p->c_contig;
    if (shape || b->ndim != 1) {
        for (int i = 0; i < b->ndim; i++)
            if (b->shape[i] == 0) {
                PyErr_SetString(PyExc_TypeError,
                                "memoryview: cannot cast view with zeros in shape or strides");
                return -1;
            }
    }
    if (!shape)
        return 0;
    if (!PyList_Check(shape) && !PyTuple_Check(shape)) {
        PyErr_SetString(PyExc_TypeError, "shape must be a list or a tuple");
        return -1;
    }
    p->ndim = PySequence_Fast_GET_SIZE(shape);
    if (p->ndim > MV_MAX_NDIM) {
        PyErr_SetString(PyExc_ValueError, "memoryview: number of dimensions must not exceed 64");
        return -1;
    }
    p->beyond |= b->ndim != 1 && p->ndim != 1;
    return 0;
}

/* cast_to_1D: the destination format as a C string (an ASCII str is its
 * own UTF-8, no copy; anything else goes through the encoder for its
 * error), its itemsize and native code, and the length check. */
static int cast_check_format(mvobject *self, PyObject *format, cast_plan *p)
{
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(format) < 0)
        return -1;
#endif
    if (PyUnicode_IS_ASCII(format)) {
        if (!(p->text = PyUnicode_AsUTF8(format)))
            return -1;
    } else {
        if (!(p->ascii = PyUnicode_AsASCIIString(format)))
            return -1;
        p->text = PyBytes_AS_STRING(p->ascii);
    }
    /* CPython reads the format as a C string (up to an embedded NUL).  A
     * native single code needs no parse (the library's native table knows
     * its size). */
    const char *text = p->text;
    p->itemsize = native_format_size(text);
    if (p->itemsize > 0) {
        p->dest = interpreter_native(text[0] == '@' ? text[1] : text[0]);
    } else {
        mv_error err;
        mv_error_clear(&err);
        mv_format fmt;
        if (mv_format_parse(&fmt, text, &err) < 0) {
            /* CPython has no text for a format that does not parse. */
            if (err.code == MV_ENOMEM)
                set_error(&err);
            else
                PyErr_Format(PyExc_ValueError, "memoryview: %s", err.message);
            return -1;
        }
        p->itemsize = fmt.itemsize;
        p->dest = interpreter_native(fmt.native);
        mv_format_clear(&fmt);
        if (p->itemsize == 0) {
            PyErr_Format(PyExc_ValueError, "memoryview.cast(): format '%s' has itemsize 0", text);
            return -1;
        }
    }
    p->beyond |= !p->dest;
    p->beyond |= !is_byte_code(view_native(self)) && !is_byte_code(p->dest);
    if (p->b->len % p->itemsize) {
        cast_error(p->beyond, PyExc_TypeError, "memoryview: length is not a multiple of itemsize",
                   "length %zd, itemsize %zd of format '%s'", (Py_ssize_t)p->b->len,
                   (Py_ssize_t)p->itemsize, text);
        return -1;
    }
    return 0;
}

/* cast_to_ND: each element of the shape in turn, then their product times
 * itemsize (nbytes). */
static int cast_check_shape(PyObject *shape, cast_plan *p)
{
    Py_ssize_t nbytes = p->itemsize;
    for (Py_ssize_t i = 0; i < p->ndim; i++) {
        PyObject *o = PySequence_Fast_GET_ITEM(shape, i);
        if (!PyLong_Check(o)) {
            cast_error(p->beyond, PyExc_TypeError,
                       "memoryview.cast(): elements of shape must be integers",
                       "shape[%zd] is %.50s", i, Py_TYPE(o)->tp_name);
            return -1;
        }
        Py_ssize_t x = PyLong_AsSsize_t(o);
        if (x == -1 && PyErr_Occurred())
            return -1;
        if (x <= 0) {
            cast_error(p->beyond, PyExc_ValueError,
                       "memoryview.cast(): elements of shape must be integers > 0",
                       "shape[%zd] is %zd", i, x);
            return -1;
        }
        if (x > PY_SSIZE_T_MAX / nbytes) {
            PyErr_SetString(PyExc_ValueError, "memoryview.cast(): product(shape) > SSIZE_MAX");
            return -1;
        }
        nbytes *= x;
        p->dims[i] = x;
    }
    if (p->ndim >= 0 && nbytes != p->b->len) {
        char dtext[MV_MAX_NDIM * 22 + 4];
        shape_text(p->dims, p->ndim, dtext, sizeof dtext);
        cast_error(p->beyond, PyExc_TypeError,
                   "memoryview: product(shape) * itemsize != buffer size",
                   "shape %s * itemsize %zd of format '%s' = %zd, buffer size %zd", dtext,
                   (Py_ssize_t)p->itemsize, p->text, nbytes, (Py_ssize_t)p->b->len);
        return -1;
    }
    return 0;
}

static PyObject *cast_impl(mvobject *self, PyObject *format, PyObject *shape)
{
    if (!shape && PyUnicode_Check(format) && self->mbuf) {
        PyObject *res = cast_1d_fast(self, format);
        if (res || PyErr_Occurred()) /* a result, or no memory for one */
            return res;
    }
    if (!PyUnicode_Check(format)) {
        PyErr_Format(PyExc_TypeError, "cast() argument 'format' must be str, not %.50s",
                     format == Py_None ? "None" : Py_TYPE(format)->tp_name);
        return NULL;
    }
    if (check_released(self) < 0)
        return NULL;
    cast_plan p = {.b = view_buffer(self), .ndim = -1};
    PyObject *res = NULL;
    if (cast_check_source(self, shape, &p) == 0 && cast_check_format(self, format, &p) == 0 &&
        cast_check_shape(shape, &p) == 0)
        /* A Fortran-only source keeps its logical order in an N-D result. */
        res = cast_to(self, p.text, p.dims, (int)p.ndim,
                      (!p.c_contig && p.ndim > 1) ? MV_CAST_FORTRAN : 0);
    Py_XDECREF(p.ascii);
    return res;
}
