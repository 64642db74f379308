/*
 * Search in memview.memoryview: count, index and `in` (values, as CPython's
 * sequence methods; libmemview compares the values it reads itself), and,
 * beyond CPython, the byte search of 1-D byte views as bytes does it: find,
 * find_view, startswith, endswith, split (results as sub-views).
 */
#include "memview_py.h"

#include <stdlib.h>
#include <string.h>

/* ---- count / index ----------------------------------------------------- */

/* 1 when libmemview can search this view (1-D, a format it reads) for
 * value, 0 when not, -1 with an exception. */
static int fast_lookup(mvobject *self, PyObject *value, mv_value *v)
{
    if (view_ndim(self) != 1)
        return 0;
    return mv_view_format(self->view, NULL) != NULL && simple_value(value, v);
}

static PyObject *count_pinned(mvobject *self, PyObject *value)
{
    if (check_released(self) < 0)
        return NULL;
    /* CPython 3.14's count iterates, which N-D views refuse there; the
     * library's count says the same. */
    if (view_ndim(self) > 1) {
        PyErr_SetString(PyExc_NotImplementedError,
                        "multi-dimensional sub-views are not implemented");
        return NULL;
    }
    mv_value v;
    int fast = fast_lookup(self, value, &v);
    if (fast < 0)
        return NULL;
    if (fast) {
        ptrdiff_t n = 0;
        mv_error err;
        mv_error_clear(&err);
        if (mv_view_count(self->view, &v, &n, &err) < 0)
            return set_error(&err);
        return PyLong_FromSsize_t(n);
    }
    /* Anything else compares as Python does, item by item (sub-views for
     * N-D views, as iteration gives them). */
    PyObject *it = PyObject_GetIter((PyObject *)self);
    if (!it)
        return NULL;
    Py_ssize_t count = 0;
    PyObject *item;
    while ((item = PyIter_Next(it)) != NULL) {
        int eq = item == value ? 1 : PyObject_RichCompareBool(item, value, Py_EQ);
        Py_DECREF(item);
        if (eq < 0) {
            Py_DECREF(it);
            return NULL;
        }
        count += eq;
    }
    Py_DECREF(it);
    if (PyErr_Occurred())
        return NULL;
    return PyLong_FromSsize_t(count);
}

static PyObject *index_pinned(mvobject *self, PyObject *args)
{
    PyObject *value, *start_obj = NULL, *stop_obj = NULL;
    if (!PyArg_ParseTuple(args, "O|OO:index", &value, &start_obj, &stop_obj))
        return NULL;
    Py_ssize_t start = 0, stop = PY_SSIZE_T_MAX;
    if (slice_index(start_obj, &start, 0) < 0 || slice_index(stop_obj, &stop, 0) < 0)
        return NULL;
    if (check_released(self) < 0)
        return NULL;
    const mv_buffer *b = view_buffer(self);
    if (b->ndim == 0) {
        PyErr_SetString(PyExc_TypeError, "invalid lookup on 0-dim memory");
        return NULL;
    }
    if (b->ndim > 1) {
        PyErr_SetString(PyExc_NotImplementedError, "multi-dimensional lookup is not implemented");
        return NULL;
    }
    mv_value v;
    int fast = fast_lookup(self, value, &v);
    if (fast < 0)
        return NULL;
    if (fast) {
        ptrdiff_t pos = 0;
        mv_error err;
        mv_error_clear(&err);
        if (mv_view_index(self->view, &v, start, stop, &pos, &err) < 0)
            return set_error(&err);
        return PyLong_FromSsize_t(pos);
    }
    Py_ssize_t n = b->shape[0];
    if (start < 0)
        start = start + n < 0 ? 0 : start + n;
    if (stop < 0)
        stop = stop + n < 0 ? 0 : stop + n;
    if (stop > n)
        stop = n;
    for (Py_ssize_t i = start; i < stop; i++) {
        /* memory_item checks "released": __eq__ may have released the view. */
        PyObject *item = memory_item(self, i);
        if (!item)
            return NULL;
        int eq = item == value ? 1 : PyObject_RichCompareBool(item, value, Py_EQ);
        Py_DECREF(item);
        if (eq < 0)
            return NULL;
        if (eq)
            return PyLong_FromSsize_t(i);
    }
    PyErr_SetString(PyExc_ValueError, "memoryview.index(x): x not found");
    return NULL;
}

/* count, index, split and `in` run Python code (__eq__, __index__, a
 * foreign exporter) while they use the memory: pinned (pin()). */
PyObject *memory_count(mvobject *self, PyObject *value)
{
    RETURN_PINNED(self, count_pinned(self, value));
}

PyObject *memory_index(mvobject *self, PyObject *args)
{
    RETURN_PINNED(self, index_pinned(self, args));
}

/* value in m: what Python's fallback does (iterate, item == value, so the
 * builtin's errors for 0-dim and N-D views), with libmemview's search for
 * values it compares itself, and the view pinned while __eq__ runs. */
static int contains_pinned(mvobject *self, PyObject *value)
{
    PyObject *it = PyObject_GetIter((PyObject *)self);
    if (!it)
        return -1;
    mv_value v;
    int found = fast_lookup(self, value, &v);
    if (found == 1) {
        ptrdiff_t pos = 0;
        mv_error err;
        mv_error_clear(&err);
        if (mv_view_index(self->view, &v, 0, PTRDIFF_MAX, &pos, &err) == 0)
            found = 1;
        else if (err.code == MV_EVALUE) /* "x not found" */
            found = 0;
        else
            found = set_error_int(&err);
        Py_DECREF(it);
        return found;
    }
    PyObject *item;
    while (found == 0 && (item = PyIter_Next(it)) != NULL) {
        found = PyObject_RichCompareBool(item, value, Py_EQ);
        Py_DECREF(item);
    }
    Py_DECREF(it);
    return found == 0 && PyErr_Occurred() ? -1 : found;
}

int memory_contains(mvobject *self, PyObject *value)
{
    if (check_released(self) < 0)
        return -1;
    pin(self);
    int found = contains_pinned(self, value);
    unpin(self);
    return found;
}

/* ---- byte search (beyond CPython) -------------------------------------- */

typedef struct needle {
    Py_buffer pb; /* pb.obj NULL when no buffer is held */
    unsigned char byte;
    const void *p;
    size_t n;
} needle;

/* bytes.find's argument: an integer in range(256) or a bytes-like object. */
static int needle_get(PyObject *o, needle *nd, int allow_int)
{
    memset(nd, 0, sizeof *nd);
    if (allow_int && PyIndex_Check(o)) {
        Py_ssize_t v = PyNumber_AsSsize_t(o, NULL);
        if (v == -1 && PyErr_Occurred())
            return -1;
        if (v < 0 || v > 255) {
            PyErr_SetString(PyExc_ValueError, "byte must be in range(0, 256)");
            return -1;
        }
        nd->byte = (unsigned char)v;
        nd->p = &nd->byte;
        nd->n = 1;
        return 0;
    }
    if (allow_int && !PyObject_CheckBuffer(o)) {
        PyErr_Format(PyExc_TypeError,
                     "argument should be integer or bytes-like object, not '%.200s'",
                     Py_TYPE(o)->tp_name);
        return -1;
    }
    if (PyObject_GetBuffer(o, &nd->pb, PyBUF_SIMPLE) < 0)
        return -1;
    nd->p = nd->pb.buf;
    nd->n = (size_t)nd->pb.len;
    return 0;
}

static void needle_release(needle *nd)
{
    if (nd->pb.obj)
        PyBuffer_Release(&nd->pb);
}

static PyObject *find_pinned(mvobject *self, PyObject *args, const char *fmt, int as_view)
{
    PyObject *sub, *start_obj = NULL, *end_obj = NULL;
    if (!PyArg_ParseTuple(args, fmt, &sub, &start_obj, &end_obj))
        return NULL;
    Py_ssize_t start = 0, end = PY_SSIZE_T_MAX;
    if (slice_index(start_obj, &start, 1) < 0 || slice_index(end_obj, &end, 1) < 0)
        return NULL;
    needle nd;
    if (needle_get(sub, &nd, 1) < 0)
        return NULL;
    PyObject *res = NULL;
    mv_error err;
    mv_error_clear(&err);
    ptrdiff_t pos = -1;
    if (check_released(self) < 0)
        goto out;
    if (mv_view_find(self->view, nd.p, nd.n, start, end, &pos, &err) < 0)
        set_error(&err);
    else if (!as_view)
        res = PyLong_FromSsize_t(pos);
    else if (pos < 0)
        res = Py_None, Py_INCREF(res);
    else /* mv_view_find_view's sub-view, made in a memoryview */
        res = slice_view(self, pos, pos + (ptrdiff_t)nd.n);
out:
    needle_release(&nd);
    return res;
}

PyObject *memory_find(mvobject *self, PyObject *args)
{
    RETURN_PINNED(self, find_pinned(self, args, "O|OO:find", 0));
}

PyObject *memory_find_view(mvobject *self, PyObject *args)
{
    RETURN_PINNED(self, find_pinned(self, args, "O|OO:find_view", 1));
}

/* 0 when libmemview can search this view, else -1 with its error. */
static int check_searchable(mvobject *self)
{
    mv_error err;
    mv_error_clear(&err);
    if (mv_view_startswith(self->view, "", 0, &err) < 0)
        return set_error_int(&err);
    return 0;
}

/* bytes' tailmatch for one affix: 1, 0, or -1. */
static int tailmatch(mvobject *self, const needle *nd, Py_ssize_t start, Py_ssize_t end, int at_end)
{
    Py_ssize_t len = view_buffer(self)->shape[0], n = (Py_ssize_t)nd->n;
    if (end > len)
        end = len;
    else if (end < 0 && (end += len) < 0)
        end = 0;
    if (start < 0 && (start += len) < 0)
        start = 0;
    if (at_end ? start > len : start > len - n)
        return 0;
    if (end - start < n)
        return 0;
    mv_error err;
    mv_error_clear(&err);
    int rc;
    if (start == 0 && end == len) {
        rc = at_end ? mv_view_endswith(self->view, nd->p, nd->n, &err)
                    : mv_view_startswith(self->view, nd->p, nd->n, &err);
    } else {
        mvobject *part = (mvobject *)slice_view(self, start, end);
        if (!part)
            return -1;
        rc = at_end ? mv_view_endswith(part->view, nd->p, nd->n, &err)
                    : mv_view_startswith(part->view, nd->p, nd->n, &err);
        Py_DECREF(part);
    }
    if (rc < 0)
        return set_error_int(&err);
    return rc;
}

static PyObject *affix_pinned(mvobject *self, PyObject *args, const char *fmt, int at_end)
{
    PyObject *affix, *start_obj = NULL, *end_obj = NULL;
    if (!PyArg_ParseTuple(args, fmt, &affix, &start_obj, &end_obj))
        return NULL;
    Py_ssize_t start = 0, end = PY_SSIZE_T_MAX;
    if (slice_index(start_obj, &start, 1) < 0 || slice_index(end_obj, &end, 1) < 0)
        return NULL;
    if (check_released(self) < 0 || check_searchable(self) < 0)
        return NULL;
    int tuple = PyTuple_Check(affix);
    if (!tuple && !PyObject_CheckBuffer(affix)) {
        /* bytes.startswith's own text. */
        PyErr_Format(PyExc_TypeError, "%s first arg must be bytes or a tuple of bytes, not %.50s",
                     at_end ? "endswith" : "startswith", Py_TYPE(affix)->tp_name);
        return NULL;
    }
    Py_ssize_t count = tuple ? PyTuple_GET_SIZE(affix) : 1;
    for (Py_ssize_t i = 0; i < count; i++) {
        needle nd;
        if (needle_get(tuple ? PyTuple_GET_ITEM(affix, i) : affix, &nd, 0) < 0)
            return NULL;
        int rc = check_released(self) < 0 ? -1 : tailmatch(self, &nd, start, end, at_end);
        needle_release(&nd);
        if (rc < 0)
            return NULL;
        if (rc)
            Py_RETURN_TRUE;
    }
    Py_RETURN_FALSE;
}

PyObject *memory_startswith(mvobject *self, PyObject *args)
{
    RETURN_PINNED(self, affix_pinned(self, args, "O|OO:startswith", 0));
}

PyObject *memory_endswith(mvobject *self, PyObject *args)
{
    RETURN_PINNED(self, affix_pinned(self, args, "O|OO:endswith", 1));
}

/* What mv_view_split hands each piece to: the view and the list. */
typedef struct split_ctx {
    mvobject *self;
    PyObject *list;
} split_ctx;

/* Append the sub-view [start:stop] to the list; 1 with an exception set
 * stops the split. */
static int split_append(void *ctx, ptrdiff_t start, ptrdiff_t stop)
{
    split_ctx *c = ctx;
    PyObject *part = slice_view(c->self, start, stop);
    if (!part)
        return 1;
    int rc = PyList_Append(c->list, part);
    Py_DECREF(part);
    return rc < 0 ? 1 : 0;
}

static PyObject *split_pinned(mvobject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"sep", "maxsplit", NULL};
    PyObject *sep = Py_None, *maxsplit_obj = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|OO:split", kwlist, &sep, &maxsplit_obj))
        return NULL;
    Py_ssize_t maxsplit = -1;
    if (maxsplit_obj) {
        /* bytes.split's converter, and its OverflowError text. */
        PyObject *t = PyNumber_Index(maxsplit_obj);
        if (!t)
            return NULL;
        maxsplit = PyLong_AsSsize_t(t);
        Py_DECREF(t);
        if (maxsplit == -1 && PyErr_Occurred())
            return NULL;
    }
    needle nd;
    memset(&nd, 0, sizeof nd);
    if (sep != Py_None) {
        if (needle_get(sep, &nd, 0) < 0)
            return NULL;
        if (nd.n == 0) {
            needle_release(&nd);
            PyErr_SetString(PyExc_ValueError, "empty separator");
            return NULL;
        }
    }
    split_ctx c = {self, NULL};
    if (check_released(self) < 0 || !(c.list = PyList_New(0))) {
        needle_release(&nd);
        return NULL;
    }
    mv_error err;
    mv_error_clear(&err);
    int rc = mv_view_split(self->view, sep != Py_None ? nd.p : NULL, nd.n, maxsplit, split_append,
                           &c, &err);
    needle_release(&nd);
    if (rc == 0)
        return c.list;
    if (rc < 0)
        set_error(&err);
    Py_DECREF(c.list);
    return NULL;
}

PyObject *memory_split(mvobject *self, PyObject *args, PyObject *kwds)
{
    RETURN_PINNED(self, split_pinned(self, args, kwds));
}
