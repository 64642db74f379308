/*
 * The memview module's private header: the objects its files share and the
 * functions they call across files.  The files, by concern:
 *
 *   module.c      the module: init, type registration, mv_error -> Python
 *                 exceptions
 *   mbuf.c        _ManagedBuffer and its exporter: the one buffer a family
 *                 of views holds from a foreign exporter (ownership)
 *   memoryview.c  the memview.memoryview type: construction, release,
 *                 GC, buffer export, iteration, comparison and hashing,
 *                 properties, methods, the type object (re-entrancy)
 *   items.c       items and sub-views: m[key], m[key] = value, m[i]
 *   cast.c        cast()
 *   search.c      count, index, `in`, and the byte search: find,
 *                 startswith, endswith, split
 *   values.c      mv_value <-> Python objects, native formats, argument
 *                 converters
 *
 * Everything declared here stays inside the module (hidden visibility):
 * only PyInit_memview is exported.
 */
#ifndef MEMVIEW_PY_H
#define MEMVIEW_PY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "memview.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

_Static_assert(sizeof(Py_ssize_t) == sizeof(ptrdiff_t), "Py_ssize_t must match ptrdiff_t");

/* -fvisibility=hidden hides the definitions; said again for the
 * declarations, so that calls between the files are direct. */
#pragma GCC visibility push(hidden)

#define MSG_RELEASED "operation forbidden on released memoryview object"
#define MSG_ZERO_DIM "invalid indexing of 0-dim memory"

/* Values held on the stack before an item needs the heap. */
#define SMALL_VALUES 16

extern PyTypeObject MemoryView_Type;
extern PyTypeObject ManagedBuffer_Type;
extern PyTypeObject MemoryIter_Type;

/* ======================================================================== *
 * Errors (module.c)
 * ======================================================================== */

/* Raise the Python exception an mv_error stands for; returns NULL. */
PyObject *set_error(const mv_error *e);
/* The same, returning -1. */
int set_error_int(const mv_error *e);

/* ======================================================================== *
 * _ManagedBuffer and its exporter (mbuf.c)
 * ======================================================================== */

/* A Py_buffer described to libmemview. */
typedef struct mbuf_exporter {
    mv_object ob;
    const Py_buffer *master; /* owned by the _ManagedBuffer */
    const char *format;      /* the exporter's format, or a stand-in */
    int given;               /* the initial reference went to a buffer */
} mbuf_exporter;

/* memview._ManagedBuffer: the exporter's buffer, obtained once and shared
 * by every memoryview derived from it (mbuf.c explains the ownership). */
typedef struct {
    PyObject ob_base; /* PyObject_HEAD */
    Py_buffer master;
    int has_master;
    int hide_master; /* master.obj is not reported to the GC
                        (mbuf_from_object) */
    PyObject *obj;   /* what .obj reports (new reference), or NULL */
    char *stand_in;  /* the format libmemview is given instead of the
                        exporter's, when that one disagrees with itemsize */
    ptrdiff_t format_size; /* >= 0: the size the exporter's format describes,
                              which is not its itemsize (mbuf_choose_format);
                              -1 when the two agree */
    mbuf_exporter exporter; /* how libmemview sees master (no allocation):
                               the first memoryview's view is made from it,
                               every other view of the family from a view */
} mbufobject;

/* A managed buffer over obj's buffer for the request `flags` (PyBUF_FULL_RO
 * but for memoryview._from_flags).  NULL with an exception set on
 * failure. */
mbufobject *mbuf_from_object(PyObject *obj, int flags);
/* Release v and drop its reference (NULL-safe). */
void drop_view(mv_view *v);
/* Whether a format is read as 'B' (none, "B" or "@B"), as the builtin does. */
bool format_is_bytes(const char *format);
/* "B" padded with 'x' to itemsize (PyMem; NULL with MemoryError). */
char *first_byte_format(Py_ssize_t itemsize);

/* A Py_buffer seen as an mv_buffer (no reference to its owner). */
static inline mv_buffer buffer_from_py(const Py_buffer *p)
{
    mv_buffer b;
    b.buf = p->buf;
    b.obj = NULL;
    b.len = p->len;
    b.itemsize = p->itemsize;
    b.readonly = p->readonly;
    b.ndim = p->ndim;
    b.format = p->format;
    b.shape = (ptrdiff_t *)p->shape;
    b.strides = (ptrdiff_t *)p->strides;
    b.suboffsets = (ptrdiff_t *)p->suboffsets;
    b.internal = NULL;
    return b;
}

/* ======================================================================== *
 * memview.memoryview: the object (memoryview.c)
 * ======================================================================== */

/* A memoryview holds one layout: libmemview's view, made inside the object
 * itself (the view's memory is the object's variable part, which the _at
 * constructors ask for through memory_place), as CPython's memoryview
 * holds its one Py_buffer.  Every rule and every operation is the
 * library's, on that view. */
typedef struct {
    PyObject_VAR_HEAD /* ob_size: the bytes of view storage below */
    mbufobject *mbuf; /* strong; NULL once released */
    mv_view *view;    /* in storage; NULL only while the object is being
                         made.  Kept, released or not, until dealloc */
    const mv_buffer *layout; /* the view's descriptor (mv_view_buffer),
                                read directly by the hot paths */
    Py_hash_t hash;   /* cached; -1 until computed */
    PyObject *weakreflist;
    char item_code;   /* FAST_UNKNOWN, FAST_NONE or the view's item code
                         when its items may be read and written directly
                         (item_code(); a view's format and layout never
                         change) */
    unsigned int pins;   /* methods running Python code while they use the
                            memory (pin()): release() refuses meanwhile */
    max_align_t storage[]; /* the view (mv_view_place_fn) */
} mvobject;

enum { FAST_UNKNOWN = 0, FAST_NONE = 1 };

/* A method that runs Python code (len(sep), __index__, __eq__, hash(obj), a
 * foreign exporter) in the middle of using the view's memory pins the view
 * around it: release() from that code raises BufferError, as it does while
 * a buffer exported from the view is held (CPython bumps its export count
 * the same way for hex and hash).  Item get/set run their conversions
 * before touching memory and check "released" after, as CPython. */
static inline void pin(mvobject *self)
{
    self->pins++; /* nesting is bounded by the recursion limit */
}

static inline void unpin(mvobject *self)
{
    self->pins--;
}

/* return call, run with self pinned when it is live (a released view is
 * left to call, which raises its argument errors first, as CPython). */
#define RETURN_PINNED(self, call)                                                                  \
    do {                                                                                           \
        bool live_ = (self)->mbuf != NULL;                                                         \
        if (live_)                                                                                 \
            pin(self);                                                                             \
        PyObject *pinned_result_ = (call);                                                         \
        if (live_)                                                                                 \
            unpin(self);                                                                           \
        return pinned_result_;                                                                     \
    } while (0)

/* How a new memoryview is made: one of libmemview's _at constructors,
 * given memory_place and a place_ctx naming the managed buffer, puts its
 * view inside a new object; memory_placed then finishes that object:
 *
 *     place_ctx c = place_start(self->mbuf);
 *     mv_view *v = mv_view_subscript_at(memory_place, &c, self->view, ...);
 *     return memory_placed(&c, v, &err);
 *
 * The call holds its own reference to the managed buffer: the allocation
 * in memory_place can run a garbage collection, whose finalizers may
 * release the source view and drop its reference (libmemview keeps its
 * own managed buffer for the new view; this keeps the Py_buffer under
 * it). */
typedef struct place_ctx {
    mbufobject *mb; /* a reference for the call, dropped by memory_placed */
    mvobject *obj;  /* the object memory_place made, or NULL */
} place_ctx;

static inline place_ctx place_start(mbufobject *mb)
{
    Py_INCREF(mb);
    return (place_ctx){mb, NULL};
}

void *memory_place(void *ctx, size_t size);
/* The new memoryview (v is the constructor's result), or NULL with the
 * constructor's error (or place's MemoryError) raised and the half-made
 * object dropped. */
PyObject *memory_placed(place_ctx *c, mv_view *v, const mv_error *err);
/* memoryview(obj). */
PyObject *memory_from_object(PyObject *obj);
/* Whether a live view is contiguous in order 'C', 'F' or 'A' (either):
 * the flags the view computed when it was made. */
static inline int is_contiguous(const mvobject *self, char order)
{
    return mv_view_is_contiguous(self->view, order, NULL) == 1;
}

/* 0, or -1 with ValueError when the view is released. */
static inline int check_released(mvobject *self)
{
    if (!self->mbuf) {
        PyErr_SetString(PyExc_ValueError, MSG_RELEASED);
        return -1;
    }
    return 0;
}

/* The descriptor of a live view (callers checked "released"). */
static inline const mv_buffer *view_buffer(const mvobject *self)
{
    return self->layout;
}

static inline int view_ndim(const mvobject *self)
{
    return self->layout->ndim;
}

/* The native code of a view's format, or 0 (none, or it does not parse). */
static inline char view_native(const mvobject *self)
{
    const mv_format *f = mv_view_format(self->view, NULL);
    return f ? f->native : 0;
}

/* Whether a view's format text is its managed buffer's stand-in (a cast
 * gives a view another format). */
static inline bool on_stand_in(mvobject *self, const char *text)
{
    mbufobject *mb = self->mbuf;
    return text && mb->stand_in && strcmp(text, mb->stand_in) == 0;
}

/* The format text as CPython would report it (the exporter's, not a
 * stand-in; "B" for none, as the builtin shows it). */
static inline const char *format_text(mvobject *self, const char *text)
{
    if (on_stand_in(self, text))
        return self->mbuf->master.format ? self->mbuf->master.format : "B";
    return text;
}

/* The parsed item format; NotImplementedError when it does not parse. */
const mv_format *item_format(mvobject *self);
/* fn(self, args, kwargs) with vectorcall arguments packed. */
PyObject *call_packed(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames,
                      PyObject *(*fn)(PyObject *, PyObject *, PyObject *));

/* ======================================================================== *
 * Items and sub-views (items.c)
 * ======================================================================== */

PyObject *memory_subscript(mvobject *self, PyObject *key);
int memory_ass_sub(mvobject *self, PyObject *key, PyObject *value);
/* sq_item: m[i] with i already wrapped by the sequence protocol. */
PyObject *memory_item(mvobject *self, Py_ssize_t i);
/* The native code item_load reads for a live direct view (any ndim), or
 * FAST_NONE. */
char item_code(mvobject *self);
/* The native number codes read and written directly, each with its C type
 * and the Python constructor of its value: the one list is_loadable,
 * item_load and row_load read (byte_int lives in items.c). */
#define NATIVE_CODES(X)                                                                            \
    X('b', signed char, byte_int)                                                                  \
    X('B', unsigned char, byte_int)                                                                \
    X('h', short, PyLong_FromLong)                                                                 \
    X('H', unsigned short, PyLong_FromLong)                                                        \
    X('i', int, PyLong_FromLong)                                                                   \
    X('I', unsigned int, PyLong_FromUnsignedLong)                                                  \
    X('l', long, PyLong_FromLong)                                                                  \
    X('L', unsigned long, PyLong_FromUnsignedLong)                                                 \
    X('q', long long, PyLong_FromLongLong)                                                         \
    X('Q', unsigned long long, PyLong_FromUnsignedLongLong)                                        \
    X('n', Py_ssize_t, PyLong_FromSsize_t)                                                         \
    X('N', size_t, PyLong_FromSize_t)                                                              \
    X('f', float, PyFloat_FromDouble)                                                              \
    X('d', double, PyFloat_FromDouble)

/* The native codes item_load and row_load read (integers and floats). */
static inline bool is_loadable(char code)
{
    switch (code) {
#define LOADABLE(c, T, make) case c:
        NATIVE_CODES(LOADABLE)
#undef LOADABLE
        return true;
    default:
        return false;
    }
}
/* Module init for items.c (the one-byte ints): 0, or -1 with an
 * exception set. */
int items_init(void);
/* The item of native code `code` (one item_code accepts) at p. */
PyObject *item_load(const char *p, char code);
/* Fill list[0 .. n) with the n items of code at p, stride bytes apart: 0,
 * or -1 with an exception set (the list's unfilled slots stay NULL). */
int row_load(PyObject *list, const char *p, Py_ssize_t n, ptrdiff_t stride, char code);
/* The 1-D sub-view [start:stop] of a live view. */
PyObject *slice_view(mvobject *self, ptrdiff_t start, ptrdiff_t stop);
/* A shape as "[2, 3]" into out (room for MV_MAX_NDIM 20-digit extents). */
void shape_text(const ptrdiff_t *shape, Py_ssize_t ndim, char *out, size_t room);

/* ======================================================================== *
 * cast (cast.c)
 * ======================================================================== */

PyObject *memory_cast(mvobject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames);

/* ======================================================================== *
 * Search (search.c)
 * ======================================================================== */

PyObject *memory_count(mvobject *self, PyObject *value);
PyObject *memory_index(mvobject *self, PyObject *args);
int memory_contains(mvobject *self, PyObject *value);
PyObject *memory_find(mvobject *self, PyObject *args);
PyObject *memory_find_view(mvobject *self, PyObject *args);
PyObject *memory_startswith(mvobject *self, PyObject *args);
PyObject *memory_endswith(mvobject *self, PyObject *args);
PyObject *memory_split(mvobject *self, PyObject *args, PyObject *kwds);

/* ======================================================================== *
 * Values and formats (values.c)
 * ======================================================================== */


/* The itemsize of f when it is one native code, optionally '@'-prefixed;
 * else 0: the library's table. */
static inline ptrdiff_t native_format_size(const char *f)
{
    return mv_format_native_size(f);
}

/* One item: its only value, or a tuple of its values. */
PyObject *values_to_py(const mv_value *vals, ptrdiff_t n);

/* Room for n values: `small` when it fits, else the heap. */
static inline mv_value *values_alloc(mv_value *small, ptrdiff_t n)
{
    if (n <= SMALL_VALUES)
        return small;
    if ((size_t)n > PY_SSIZE_T_MAX / sizeof(mv_value)) {
        PyErr_NoMemory();
        return NULL;
    }
    mv_value *v = PyMem_Malloc((size_t)n * sizeof(mv_value));
    if (!v)
        PyErr_NoMemory();
    return v;
}

static inline void values_free(mv_value *v, mv_value *small)
{
    if (v != small)
        PyMem_Free(v);
}

/* The struct code of each value of an item, in order: in small (room for
 * SMALL_VALUES) when they fit, else PyMem. */
char *item_codes(const mv_format *fmt, char *small);
/* The values of one item from `value` into vals (*keep: what must stay
 * alive while vals are used); "released" checked after every conversion. */
int convert_item(mvobject *self, PyObject *value, const char *codes, ptrdiff_t n, const char *text,
                 mv_value *vals, PyObject **keep);
/* value as an mv_value when libmemview compares it exactly as Python. */
int simple_value(PyObject *o, mv_value *v);
/* Clinic's `int` converter (_PyLong_AsInt). */
int as_c_int(PyObject *o, int *out);
/* _PyEval_SliceIndex; None keeps *out unless none_ok is 0. */
int slice_index(PyObject *o, Py_ssize_t *out, int none_ok);

#pragma GCC visibility pop

#endif /* MEMVIEW_PY_H */
