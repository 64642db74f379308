/*
 * Items and sub-views of memview.memoryview: m[key] (an item, or a sub-view
 * of any number of dimensions: NumPy basic indexing), m[key] = value (an
 * item, or slice assignment), and the sequence protocol's m[i].
 */
#include "memview_py.h"

#include <stdio.h>
#include <string.h>

#define MSG_KEY      "memoryview: invalid slice key"
#define MSG_STRUCTURE "memoryview assignment: lvalue and rvalue have different structures"

/* ======================================================================== *
 * Items and sub-views
 * ======================================================================== */

/* A copy (in small when it fits, else PyMem) of the format text CPython's
 * pack/unpack messages show: a native single-character format without its
 * '@'. */
static char *message_format(mvobject *self, const mv_format *fmt, char *small, size_t room)
{
    const char *t = format_text(self, view_buffer(self)->format);
    if (fmt->native && t[0] == '@')
        t++;
    size_t n = strlen(t) + 1;
    char *copy = n <= room ? small : PyMem_Malloc(n);
    if (!copy) {
        PyErr_NoMemory();
        return NULL;
    }
    memcpy(copy, t, n);
    return copy;
}

/* The IndexError of an index out of range on dimension d (0-based); -1.
 * Out of line: the loops that check indices stay free of the call. */
static __attribute__((noinline, cold)) int index_error(int d)
{
    PyErr_Format(PyExc_IndexError, "index out of bounds on dimension %d", d + 1);
    return -1;
}

/* The address of the item at idx[0 .. ndim) (negative indices count from
 * the end) of a view item_code accepts (direct) into *ptr: 0, or -1 with
 * the IndexError item_pointer would raise. */
static inline __attribute__((always_inline)) int native_item_ptr(mvobject *self,
                                                                 const ptrdiff_t *idx, char **ptr)
{
    const mv_buffer *b = self->layout;
    char *p = b->buf;
    for (int d = 0; d < b->ndim; d++) {
        ptrdiff_t i = idx[d] < 0 ? idx[d] + b->shape[d] : idx[d];
        if (i < 0 || i >= b->shape[d])
            return index_error(d);
        p += i * b->strides[d];
    }
    *ptr = p;
    return 0;
}

/* The address of the item at idx[0..n) (negative indices count from the
 * end) into *ptr: 0, or -1 with CPython's TypeError for too many indices
 * or IndexError out of bounds. */
static int item_pointer(mvobject *self, const ptrdiff_t *idx, int n, char **ptr)
{
    const mv_buffer *b = view_buffer(self);
    if (n > b->ndim) {
        PyErr_Format(PyExc_TypeError, "cannot index %zd-dimension view with %zd-element tuple",
                     (Py_ssize_t)b->ndim, (Py_ssize_t)n);
        return -1;
    }
    ptrdiff_t norm[MV_MAX_NDIM];
    for (int d = 0; d < n; d++)
        norm[d] = idx[d] < 0 ? idx[d] + b->shape[d] : idx[d];
    mv_error err;
    mv_error_clear(&err);
    *ptr = mv_buffer_get_pointer(b, norm, &err);
    return !*ptr && err.code != MV_OK ? set_error_int(&err) : 0;
}

/* item_format failed (its exception set) for the item at idx[0..n): as
 * CPython, whose unpack comes after the index, an index out of bounds
 * raises its IndexError instead.  Returns -1. */
static int index_before_format(mvobject *self, const ptrdiff_t *idx, int n)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    char *ptr;
    if (item_pointer(self, idx, n, &ptr) < 0 && PyErr_ExceptionMatches(PyExc_IndexError)) {
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
        return -1;
    }
    PyErr_Clear();
    PyErr_Restore(type, value, tb);
    return -1;
}

/* The item at idx[0..n) as a Python object. */
static PyObject *item_get(mvobject *self, const ptrdiff_t *idx, int n)
{
    char *p = NULL;
    char code = n == view_ndim(self) ? item_code(self) : FAST_NONE;
    if (code != FAST_NONE)
        return native_item_ptr(self, idx, &p) < 0 ? NULL : item_load(p, code);
    const mv_format *fmt = item_format(self);
    if (!fmt) {
        index_before_format(self, idx, n);
        return NULL;
    }
    mv_value small[SMALL_VALUES];
    mv_value *vals = values_alloc(small, fmt->nvalues);
    if (!vals)
        return NULL;
    mv_error err;
    mv_error_clear(&err);
    PyObject *res = NULL;
    if (mv_view_get_item(self->view, idx, n, vals, fmt->nvalues, &err) < 0)
        set_error(&err);
    else
        res = values_to_py(vals, fmt->nvalues);
    values_free(vals, small);
    return res;
}

/* Store value into the item at idx[0..n) (n <= ndim checked by caller). */
static int item_set(mvobject *self, const ptrdiff_t *idx, int n, PyObject *value)
{
    const mv_format *fmt = item_format(self);
    if (!fmt)
        return index_before_format(self, idx, n);
    /* Bounds first, as CPython: an IndexError wins over a bad value. */
    char *ptr;
    char code = n == view_ndim(self) ? item_code(self) : FAST_NONE;
    if (code != FAST_NONE ? native_item_ptr(self, idx, &ptr) < 0
                          : item_pointer(self, idx, n, &ptr) < 0)
        return -1;

    int rc = -1;
    mv_value small[SMALL_VALUES];
    mv_value *vals = NULL;
    PyObject *keep = NULL;
    char codes_small[SMALL_VALUES], text_small[32];
    char *codes = item_codes(fmt, codes_small);
    char *text = message_format(self, fmt, text_small, sizeof text_small);
    if (!codes || !text)
        goto done;
    if (!(vals = values_alloc(small, fmt->nvalues)))
        goto done;
    /* fmt and ptr stay valid while the view is not released, and
     * convert_item checks that after every callback. */
    if (convert_item(self, value, codes, fmt->nvalues, text, vals, &keep) < 0)
        goto done;
    mv_error err;
    mv_error_clear(&err);
    if (mv_format_pack(fmt, text, ptr, vals, fmt->nvalues, &err) < 0) {
        set_error(&err);
        goto done;
    }
    rc = 0;
done:
    Py_XDECREF(keep);
    if (vals)
        values_free(vals, small);
    if (codes != codes_small)
        PyMem_Free(codes);
    if (text != text_small)
        PyMem_Free(text);
    return rc;
}

/* A new memoryview of the sub-view keys select. */
static PyObject *subview_keys(mvobject *self, const mv_key *keys, int nkeys)
{
    mv_error err;
    mv_error_clear(&err);
    place_ctx c = place_start(self->mbuf);
    mv_view *v = mv_view_subscript_at(memory_place, &c, self->view, keys, nkeys, &err);
    return memory_placed(&c, v, &err);
}

/* The 1-D sub-view [start:stop] of a live view. */
PyObject *slice_view(mvobject *self, ptrdiff_t start, ptrdiff_t stop)
{
    mv_key k;
    memset(&k, 0, sizeof k);
    k.kind = MV_KEY_SLICE;
    k.start = start;
    k.stop = stop;
    k.has_start = k.has_stop = true;
    return subview_keys(self, &k, 1);
}

/* ---- keys -------------------------------------------------------------- */

static int is_key_elem(PyObject *o)
{
    return PyIndex_Check(o) || PySlice_Check(o) || o == Py_Ellipsis || o == Py_None;
}

/* CPython's is_multiindex: a tuple of integers (the empty tuple too). */
static int is_multiindex(PyObject *key)
{
    if (!PyTuple_Check(key))
        return 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(key); i++)
        if (!PyIndex_Check(PyTuple_GET_ITEM(key, i)))
            return 0;
    return 1;
}

static int key_convert(PyObject *o, mv_key *k)
{
    memset(k, 0, sizeof *k);
    if (o == Py_Ellipsis) {
        k->kind = MV_KEY_ELLIPSIS;
        return 0;
    }
    if (o == Py_None) {
        k->kind = MV_KEY_NEWAXIS;
        return 0;
    }
    if (PySlice_Check(o)) {
        Py_ssize_t start, stop, step;
        if (PySlice_Unpack(o, &start, &stop, &step) < 0)
            return -1;
        k->kind = MV_KEY_SLICE;
        k->start = start;
        k->stop = stop;
        k->step = step;
        k->has_start = k->has_stop = k->has_step = true;
        return 0;
    }
    Py_ssize_t i = PyNumber_AsSsize_t(o, PyExc_IndexError);
    if (i == -1 && PyErr_Occurred())
        return -1;
    k->kind = MV_KEY_INDEX;
    k->index = i;
    return 0;
}

typedef struct keyset {
    mv_key *keys;
    int n;
    mv_key small[8];
} keyset;

static void keyset_clear(keyset *ks)
{
    if (ks->keys != ks->small)
        PyMem_Free(ks->keys);
    ks->keys = ks->small;
    ks->n = 0;
}

/* Check a generic key (slice, Ellipsis, None, or a tuple of integers,
 * slices, Ellipsis and None) against the view's ndim.  0 or -1. */
static int key_check(PyObject *key, int ndim)
{
    if (!PyTuple_Check(key)) {
        /* A bare None stays CPython's TypeError; new axes come in tuples
         * (m[None, :], m[..., None]). */
        if (is_key_elem(key) && key != Py_None)
            return 0;
        PyErr_SetString(PyExc_TypeError, MSG_KEY);
        return -1;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(key), nsel = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *o = PyTuple_GET_ITEM(key, i);
        if (!is_key_elem(o)) {
            PyErr_SetString(PyExc_TypeError, MSG_KEY);
            return -1;
        }
        if (PySlice_Check(o) || PyIndex_Check(o))
            nsel++;
    }
    /* CPython refuses such keys as invalid, or as multi-dimensional
     * slicing it does not implement; memview slices any number of
     * dimensions, so the cause is the count, which the message adds. */
    if (nsel > ndim) {
        PyErr_Format(PyExc_TypeError,
                     MSG_KEY " (too many indices: memoryview is %d-dimensional, but %zd were "
                     "indexed)",
                     ndim, nsel);
        return -1;
    }
    return 0;
}

/* Convert a checked key into ks.  Runs __index__ and friends. */
static int keyset_from(PyObject *key, keyset *ks)
{
    ks->keys = ks->small;
    ks->n = 0;
    if (!PyTuple_Check(key)) {
        if (key_convert(key, &ks->keys[0]) < 0)
            return -1;
        ks->n = 1;
        return 0;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(key);
    if (n > INT_MAX) {
        PyErr_SetString(PyExc_IndexError, "too many indices for memoryview");
        return -1;
    }
    if (n > (Py_ssize_t)(sizeof ks->small / sizeof ks->small[0])) {
        ks->keys = PyMem_Malloc((size_t)n * sizeof(mv_key));
        if (!ks->keys) {
            ks->keys = ks->small;
            PyErr_NoMemory();
            return -1;
        }
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (key_convert(PyTuple_GET_ITEM(key, i), &ks->keys[i]) < 0) {
            keyset_clear(ks);
            return -1;
        }
    }
    ks->n = (int)n;
    return 0;
}

/* 1 when converting o as a key element runs no Python code. */
static int is_plain_elem(PyObject *o)
{
    if (PyLong_CheckExact(o) || o == Py_None || o == Py_Ellipsis)
        return 1;
    if (!PySlice_Check(o))
        return 0;
    PySliceObject *s = (PySliceObject *)o;
    return (s->start == Py_None || PyLong_CheckExact(s->start)) &&
           (s->stop == Py_None || PyLong_CheckExact(s->stop)) &&
           (s->step == Py_None || PyLong_CheckExact(s->step));
}

static int is_plain_key(PyObject *key)
{
    if (!PyTuple_Check(key))
        return is_plain_elem(key);
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(key); i++)
        if (!is_plain_elem(PyTuple_GET_ITEM(key, i)))
            return 0;
    return 1;
}

/* The sub-view a generic key selects.  As CPython's slicing (which
 * registers the new view before converting the slice), the result is
 * taken from a copy made before any __index__ runs, so a callback that
 * releases self does not affect it. */
static PyObject *subview(mvobject *self, PyObject *key, int ndim)
{
    if (key_check(key, ndim) < 0)
        return NULL;
    mvobject *src = self;
    if (!is_plain_key(key)) {
        src = (mvobject *)memory_from_object((PyObject *)self);
        if (!src)
            return NULL;
    }
    keyset ks;
    PyObject *res = NULL;
    if (keyset_from(key, &ks) == 0) {
        if (check_released(src) == 0)
            res = subview_keys(src, ks.keys, ks.n);
        keyset_clear(&ks);
    }
    if (src != self)
        Py_DECREF(src);
    return res;
}

/* The integers of a tuple key (n <= MV_MAX_NDIM + 1 entries are kept; the
 * caller reports longer tuples). */
static int tuple_indices(PyObject *key, ptrdiff_t *idx, Py_ssize_t room)
{
    Py_ssize_t n = PyTuple_GET_SIZE(key);
    for (Py_ssize_t i = 0; i < n && i < room; i++) {
        Py_ssize_t v = PyNumber_AsSsize_t(PyTuple_GET_ITEM(key, i), PyExc_IndexError);
        if (v == -1 && PyErr_Occurred())
            return -1;
        idx[i] = v;
    }
    return 0;
}

/* 0-dim views accept, beyond () and ..., tuples made only of None and
 * Ellipsis (new axes: NumPy's a[None, ...]). */
static int zero_dim_extension_key(PyObject *key)
{
    if (!PyTuple_Check(key) || PyTuple_GET_SIZE(key) == 0)
        return 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(key); i++) {
        PyObject *o = PyTuple_GET_ITEM(key, i);
        if (o != Py_None && o != Py_Ellipsis)
            return 0;
    }
    return 1;
}

/* The code item_load reads for a live view, or FAST_NONE: direct (no
 * suboffsets), a native integer or float format, any ndim. */
char item_code(mvobject *self)
{
    if (self->item_code == FAST_UNKNOWN) {
        char c = view_native(self);
        self->item_code = FAST_NONE;
        if (!self->layout->suboffsets && is_loadable(c))
            self->item_code = c;
    }
    return self->item_code;
}

/* The int of every one-byte value, -128 .. 255, made once: a 'b' or 'B'
 * item takes a reference instead of a call into the interpreter. */
static PyObject *byte_ints[384];

int items_init(void)
{
    for (int i = 0; i < 384; i++)
        if (!byte_ints[i] && !(byte_ints[i] = PyLong_FromLong(i - 128)))
            return -1;
    return 0;
}

static inline PyObject *byte_int(long v)
{
    return Py_NewRef(byte_ints[v + 128]);
}


/* The item of native code `code` (one item_code accepts) at p, as
 * item_get would convert it. */
PyObject *item_load(const char *p, char code)
{
    switch (code) {
#define ONE(c, T, make)                                                                            \
    case c: {                                                                                      \
        T x;                                                                                       \
        memcpy(&x, p, sizeof x);                                                                   \
        return make(x);                                                                            \
    }
        NATIVE_CODES(ONE)
#undef ONE
    default: return NULL; /* not reached: item_code accepts only these */
    }
}

int row_load(PyObject *list, const char *p, Py_ssize_t n, ptrdiff_t stride, char code)
{
    /* One loop per code: the switch runs once per row, not per item.  The
     * items go straight into the list's array (what PyList_SET_ITEM does). */
    PyObject **items = ((PyListObject *)list)->ob_item;
    switch (code) {
#define ROW(c, T, make)                                                                            \
    case c:                                                                                        \
        for (Py_ssize_t i = 0; i < n; i++) {                                                       \
            T x;                                                                                   \
            memcpy(&x, p + i * stride, sizeof x);                                                  \
            if (!(items[i] = make(x)))                                                             \
                return -1;                                                                         \
        }                                                                                          \
        return 0;
        NATIVE_CODES(ROW)
#undef ROW
    default: return -1; /* not reached: item_code accepts only these */
    }
}

/* m[i] of a 1-D view item_code accepts: the address and the value straight
 * from the layout, with the errors item_get would give. */
static PyObject *item_fast(mvobject *self, Py_ssize_t i, char code)
{
    /* native_item_ptr's check for the one dimension, without its loop:
     * iteration and m[i] run this once per item. */
    const mv_buffer *b = self->layout;
    if (i < 0)
        i += b->shape[0];
    if (i < 0 || i >= b->shape[0])
        return index_error(0), NULL;
    return item_load((const char *)b->buf + i * b->strides[0], code);
}

/* m[i] of a live view of ndim >= 1: the item of a 1-D view, else the
 * sub-view of row i. */
static PyObject *item_or_row(mvobject *self, int ndim, Py_ssize_t i)
{
    ptrdiff_t idx = i;
    if (ndim == 1)
        return item_get(self, &idx, 1);
    mv_key k;
    memset(&k, 0, sizeof k);
    k.kind = MV_KEY_INDEX;
    k.index = idx;
    return subview_keys(self, &k, 1);
}

PyObject *memory_subscript(mvobject *self, PyObject *key)
{
    if (check_released(self) < 0)
        return NULL;
    char code;
    if (PyLong_CheckExact(key) && view_ndim(self) == 1 && (code = item_code(self)) != FAST_NONE) {
        Py_ssize_t i = PyLong_AsSsize_t(key);
        if (i != -1 || !PyErr_Occurred())
            return item_fast(self, i, code);
        PyErr_Clear(); /* too large: the general path raises its error */
    }
    int ndim = view_ndim(self);
    if (PySlice_Check(key) && ndim > 0 && is_plain_elem(key)) {
        /* What subview() does for this key, minus its generic steps: a
         * plain slice runs no Python code, so self stays live. */
        mv_key k;
        if (key_convert(key, &k) < 0)
            return NULL;
        return subview_keys(self, &k, 1);
    }
    if (ndim == 0) {
        if (PyTuple_Check(key) && PyTuple_GET_SIZE(key) == 0)
            return item_get(self, NULL, 0);
        if (key == Py_Ellipsis) {
            Py_INCREF(self);
            return (PyObject *)self;
        }
        if (zero_dim_extension_key(key))
            return subview(self, key, ndim);
        PyErr_SetString(PyExc_TypeError, MSG_ZERO_DIM);
        return NULL;
    }
    if (PyIndex_Check(key)) {
        Py_ssize_t i = PyNumber_AsSsize_t(key, PyExc_IndexError);
        if (i == -1 && PyErr_Occurred())
            return NULL;
        if (check_released(self) < 0)
            return NULL;
        return item_or_row(self, ndim, i);
    }
    if (is_multiindex(key) && PyTuple_GET_SIZE(key) >= ndim) {
        Py_ssize_t n = PyTuple_GET_SIZE(key);
        if (n > ndim) {
            PyErr_Format(PyExc_TypeError, "cannot index %zd-dimension view with %zd-element tuple",
                         (Py_ssize_t)ndim, n);
            return NULL;
        }
        ptrdiff_t idx[MV_MAX_NDIM];
        if (tuple_indices(key, idx, MV_MAX_NDIM) < 0 || check_released(self) < 0)
            return NULL;
        return item_get(self, idx, (int)n);
    }
    return subview(self, key, ndim);
}

/* A shape as "[2, 3]" into out (room for MV_MAX_NDIM 20-digit extents). */
void shape_text(const ptrdiff_t *shape, Py_ssize_t ndim, char *out, size_t room)
{
    size_t n = (size_t)snprintf(out, room, "[");
    for (Py_ssize_t i = 0; i < ndim && n < room; i++)
        n += (size_t)snprintf(out + n, room - n, i ? ", %td" : "%td", shape[i]);
    if (n < room)
        snprintf(out + n, room - n, "]");
}

/* Raise err from a slice assignment.  CPython assigns only one slice of a
 * 1-D view; where memview goes further, "different structures" says which:
 * both shapes and formats. */
static void assign_error(mvobject *self, PyObject *key, const keyset *ks, const mv_buffer *src,
                         const char *src_format, const mv_error *err)
{
    bool beyond = view_ndim(self) != 1 || !PySlice_Check(key);
    mv_error local;
    mv_error_clear(&local);
    mv_view *dst = NULL;
    if (!beyond || err->code != MV_EVALUE || strcmp(err->message, MSG_STRUCTURE) != 0 ||
        !(dst = mv_view_subscript(self->view, ks->keys, ks->n, &local))) {
        set_error(err);
        return;
    }
    const mv_buffer *d = mv_view_buffer(dst, NULL);
    char lshape[MV_MAX_NDIM * 22 + 4], rshape[MV_MAX_NDIM * 22 + 4];
    shape_text(d->shape, d->ndim, lshape, sizeof lshape);
    ptrdiff_t n1 = src->itemsize ? src->len / src->itemsize : 0;
    shape_text(src->shape ? src->shape : &n1, src->shape || src->ndim != 1 ? src->ndim : 1, rshape,
               sizeof rshape);
    PyErr_Format(PyExc_ValueError,
                 MSG_STRUCTURE " (lvalue shape %s format '%s', rvalue shape %s format "
                                       "'%s')",
                 lshape, format_text(self, d->format), rshape,
                 format_is_bytes(src_format) ? "B" : src_format);
    drop_view(dst);
}

/* m[key] = value where key selects a sub-view: slice assignment from any
 * bytes-like value of equal structure. */
static int subview_assign(mvobject *self, PyObject *key, PyObject *value, int ndim)
{
    if (key_check(key, ndim) < 0)
        return -1;
    Py_buffer src;
    if (PyObject_GetBuffer(value, &src, PyBUF_FULL_RO) < 0)
        return -1;
    keyset ks;
    int rc = -1;
    char *first_byte = NULL;
    if (keyset_from(key, &ks) < 0)
        goto out;
    if (check_released(self) == 0) {
        mv_buffer s = buffer_from_py(&src);
        /* 'B' or no format with large items: the structure a view of it
         * has (mbuf_choose_format), as the builtin sees both as 'B'. */
        if (format_is_bytes(src.format) && src.itemsize > 1) {
            if (!(first_byte = first_byte_format(src.itemsize)))
                goto done;
            s.format = first_byte;
        }
        mv_error err;
        mv_error_clear(&err);
        if (mv_view_assign(self->view, ks.keys, ks.n, &s, &err) < 0)
            assign_error(self, key, &ks, &s, src.format, &err);
        else
            rc = 0;
    }
done:
    keyset_clear(&ks);
out:
    PyMem_Free(first_byte);
    PyBuffer_Release(&src);
    return rc;
}

int memory_ass_sub(mvobject *self, PyObject *key, PyObject *value)
{
    if (check_released(self) < 0)
        return -1;
    const mv_buffer *b = view_buffer(self);
    int ndim = b->ndim;
    /* An item store checks, in order: read-only, deletion, the index, then
     * the format (CPython refuses formats of several characters first; the
     * index comes first for every format here). */
    if (b->readonly) {
        PyErr_SetString(PyExc_TypeError, "cannot modify read-only memory");
        return -1;
    }
    if (!value) {
        PyErr_SetString(PyExc_TypeError, "cannot delete memory");
        return -1;
    }
    if (ndim == 0) {
        if (key == Py_Ellipsis || (PyTuple_Check(key) && PyTuple_GET_SIZE(key) == 0))
            return item_set(self, NULL, 0, value);
        PyErr_SetString(PyExc_TypeError, MSG_ZERO_DIM);
        return -1;
    }
    if (PyIndex_Check(key)) {
        if (ndim > 1)
            return subview_assign(self, key, value, ndim);
        Py_ssize_t i = PyNumber_AsSsize_t(key, PyExc_IndexError);
        if (i == -1 && PyErr_Occurred())
            return -1;
        if (check_released(self) < 0)
            return -1;
        ptrdiff_t idx = i;
        return item_set(self, &idx, 1, value);
    }
    if (is_multiindex(key) && PyTuple_GET_SIZE(key) >= ndim) {
        Py_ssize_t n = PyTuple_GET_SIZE(key);
        if (n > ndim) {
            PyErr_Format(PyExc_TypeError, "cannot index %zd-dimension view with %zd-element tuple",
                         (Py_ssize_t)ndim, n);
            return -1;
        }
        ptrdiff_t idx[MV_MAX_NDIM];
        if (tuple_indices(key, idx, MV_MAX_NDIM) < 0 || check_released(self) < 0)
            return -1;
        return item_set(self, idx, (int)n, value);
    }
    return subview_assign(self, key, value, ndim);
}

/* ---- sq_item ------------------------------------------------------------- */

/* sq_item: m[i] with i already wrapped by the sequence protocol. */
PyObject *memory_item(mvobject *self, Py_ssize_t i)
{
    if (check_released(self) < 0)
        return NULL;
    int ndim = view_ndim(self);
    char code;
    if (ndim == 1 && (code = item_code(self)) != FAST_NONE)
        return item_fast(self, i, code);
    if (ndim == 0) {
        PyErr_SetString(PyExc_TypeError, MSG_ZERO_DIM);
        return NULL;
    }
    return item_or_row(self, ndim, i);
}
