/*
 * memview: a drop-in replacement for the builtin memoryview, built on
 * libmemview's public API.
 *
 * Ownership (CPython's managed-buffer design, split between Python and
 * libmemview): a foreign exporter is asked for its buffer exactly once
 * (PyBUF_FULL_RO); the Py_buffer lives in a private GC-tracked object,
 * memview._ManagedBuffer, whose tp_traverse visits the exporter.  libmemview
 * sees that memory through a tiny mv_object exporter (py_exporter) that only
 * describes the Py_buffer and owns nothing, so the first libmemview view of
 * it becomes the root of a libmemview managed buffer that every derived view
 * (slices, casts, toreadonly, memoryview(m)) shares.  Every
 * memview.memoryview holds a strong reference to its _ManagedBuffer and its
 * own mv_view; release() releases the mv_view first (libmemview lets go of
 * the description) and then drops the _ManagedBuffer, whose deallocation
 * runs PyBuffer_Release -- so the exporter's bf_releasebuffer runs once,
 * after the last view derived from it is released, and reference cycles
 * through views stay collectable (memoryview tp_clear releases the view).
 *
 * Re-entrancy: every Python callback (__index__, __float__, __bool__,
 * len(sep), hash(obj), a foreign getbuffer) runs before memory is touched,
 * and "released" is checked again after it; a released view has no mv_view
 * left, so nothing can reach freed memory.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "memview.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(Py_ssize_t) == sizeof(ptrdiff_t), "Py_ssize_t must match ptrdiff_t");

#define MSG_RELEASED "operation forbidden on released memoryview object"
#define MSG_ZERO_DIM "invalid indexing of 0-dim memory"
#define MSG_KEY      "memoryview: invalid slice key"
#define MSG_PICKLE   "cannot pickle 'memoryview' object"
#define MSG_STRUCTURE "memoryview assignment: lvalue and rvalue have different structures"

/* Request bits a view understands; CPython's memoryview ignores the rest
 * (PyBUF_WRITE included), libmemview refuses them. */
#define REQUEST_BITS 0x1FD

/* Values held on the stack before an item needs the heap. */
#define SMALL_VALUES 16

static PyTypeObject MemoryView_Type;
static PyTypeObject ManagedBuffer_Type;
static PyTypeObject MemoryIter_Type;

/* ======================================================================== *
 * Errors
 * ======================================================================== */

/* Raise the Python exception an mv_error stands for; returns NULL. */
static PyObject *set_error(const mv_error *e)
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

static int set_error_int(const mv_error *e)
{
    set_error(e);
    return -1;
}

/* ======================================================================== *
 * py_exporter: a Py_buffer described to libmemview
 * ======================================================================== */

typedef struct py_exporter {
    mv_object ob;
    const Py_buffer *master; /* owned by the _ManagedBuffer */
    const char *format;      /* the exporter's format, or a stand-in */
    int given;               /* the initial reference went to a buffer */
} py_exporter;

/* Answers the one MV_BUF_FULL_RO request mv_view_new makes: the complete
 * descriptor.  Nothing else ever asks. */
static int py_exporter_getbuffer(mv_object *self, mv_buffer *out, int flags, mv_error *err)
{
    py_exporter *x = (py_exporter *)self;
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
static void py_exporter_destroy(mv_object *self)
{
    (void)self;
}

static const mv_type py_exporter_type = {
    .name = "python",
    .getbuffer = py_exporter_getbuffer,
    .releasebuffer = NULL,
    .destroy = py_exporter_destroy,
};

/* ======================================================================== *
 * _ManagedBuffer
 * ======================================================================== */

typedef struct {
    PyObject ob_base; /* PyObject_HEAD */
    Py_buffer master;
    int has_master;
    int hide_master; /* master.obj is not reported to the GC (below) */
    PyObject *obj;   /* what .obj reports (new reference), or NULL */
    char *stand_in;  /* the format libmemview is given instead of the
                        exporter's, when that one disagrees with itemsize */
    ptrdiff_t format_size; /* >= 0: the size the exporter's format describes,
                              which is not its itemsize (mbuf_choose_format);
                              -1 when the two agree */
    py_exporter exporter; /* how libmemview sees master (no allocation) */
    mv_view *root;        /* libmemview's view of master, made on first
                             need; the family's views derive from it */
} mbufobject;

/* The itemsize of each native single-character format libmemview knows
 * (0 for the others), filled once at import from libmemview's own parser:
 * a buffer with such a format needs no parse to be checked, and a cast to
 * one needs none either. */
static ptrdiff_t native_size[128];

/* Static copies of the same formats, with and without '@': the format text
 * of a cast to one (as CPython's get_native_fmtstr), which must outlive the
 * argument it came from. */
static char native_texts[128][4];

static void native_size_init(void)
{
    static const char codes[] = "BbchHiIlLqQnNfde?P";
    for (const char *c = codes; *c; c++) {
        char text[2] = {*c, '\0'};
        mv_format fmt;
        if (mv_format_parse(&fmt, text, NULL) == 0) {
            if (fmt.native == *c) {
                native_size[(unsigned char)*c] = fmt.itemsize;
                char *t = native_texts[(unsigned char)*c];
                t[0] = '@';
                t[1] = *c;
            }
            mv_format_clear(&fmt);
        }
    }
}

/* The itemsize of f when it is one native code, optionally '@'-prefixed;
 * else 0. */
static ptrdiff_t native_format_size(const char *f)
{
    if (f[0] == '@')
        f++;
    unsigned char c = (unsigned char)f[0];
    return c != '\0' && c < 128 && f[1] == '\0' ? native_size[c] : 0;
}

/* f's static copy, or NULL when f is not a native single code. */
static const char *native_static(const char *f)
{
    if (!native_format_size(f))
        return NULL;
    char *t = native_texts[(unsigned char)f[f[0] == '@']];
    return f[0] == '@' ? t : t + 1;
}

static int mbuf_traverse(mbufobject *self, visitproc visit, void *arg)
{
    if (self->has_master && !self->hide_master)
        Py_VISIT(self->master.obj);
    Py_VISIT(self->obj);
    return 0;
}

static void drop_view(mv_view *v);

static void mbuf_dealloc(mbufobject *self)
{
    PyObject_GC_UnTrack(self);
    drop_view(self->root); /* the exporter inside self goes with it */
    self->root = NULL;
    if (self->has_master) {
        self->has_master = 0;
        PyBuffer_Release(&self->master);
    }
    Py_CLEAR(self->obj);
    PyMem_Free(self->stand_in);
    PyObject_GC_Del(self);
}

static PyTypeObject ManagedBuffer_Type = {
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
static bool format_is_bytes(const char *format)
{
    return !format || strcmp(format + (format[0] == '@'), "B") == 0;
}

/* "B" padded with 'x' to itemsize (PyMem; NULL with MemoryError): how the
 * builtin reads an item of a buffer without a format, by its first byte
 * (test_buffer's PyBUF_STRIDES re-exports; C exporters). */
static char *first_byte_format(Py_ssize_t itemsize)
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
static mbufobject *mbuf_from_object(PyObject *obj, int flags)
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
    mb->root = NULL;

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
    mb->exporter.format = format; /* the rest when mbuf_root needs it */
    return mb;
}

/* mb's libmemview view, made on first need: mv_view_new checks the
 * exporter's descriptor, so its error is the one a bad exporter gets.
 * Borrowed; NULL with an exception set. */
static mv_view *mbuf_root(mbufobject *mb)
{
    if (!mb->root) {
        py_exporter *x = &mb->exporter;
        mv_object_init(&x->ob, &py_exporter_type);
#ifndef Py_GIL_DISABLED
        /* Every use of the view family is under the GIL: plain counts. */
        mv_object_set_local(&x->ob);
#endif
        x->master = &mb->master;
        x->given = 0;
        mv_error err;
        mv_error_clear(&err);
        /* x's own reference goes to the master buffer (py_exporter_getbuffer),
         * or x is never asked: its memory is mb's either way. */
        mb->root = mv_view_new(&mb->exporter.ob, &err);
        if (!mb->root)
            set_error(&err);
    }
    return mb->root;
}

/* ======================================================================== *
 * memview.memoryview: the object
 * ======================================================================== */

/* Most views are direct, of at most MV_SPAN_MAX_NDIM dimensions and of a
 * native single-character format: those hold their layout as an mv_span
 * (made, sliced and cast without an allocation or a count, as CPython's
 * own memoryview holds its Py_buffer) and make a libmemview view from it
 * only when an operation needs one.  The others hold a view from the
 * start. */
typedef struct {
    PyObject ob_base; /* PyObject_HEAD */
    mbufobject *mbuf; /* strong; NULL once released */
    mv_view *view;    /* own reference; NULL once released, or until
                         need_view makes it from span */
    bool spanned;     /* the layout is span's */
    bool described;   /* desc is filled (view_buffer) */
    mv_span span;
    mv_buffer desc;   /* the layout (arrays in span or in view), filled
                         on first need: most views never need it */
    Py_hash_t hash;   /* cached; -1 until computed */
    PyObject *weakreflist;
    signed char contig; /* -1 until is_contiguous computes it */
    char item_code;   /* FAST_UNKNOWN, FAST_NONE or the view's item code
                         when m[i] may take item_fast (a view's format and
                         layout never change) */
    unsigned int pins;   /* methods running Python code while they use the
                            memory (pin()): release() refuses meanwhile */
} mvobject;

enum { FAST_UNKNOWN = 0, FAST_NONE = 1 };

#define IS_MEMVIEW(o) Py_IS_TYPE((o), &MemoryView_Type)

static void drop_view(mv_view *v)
{
    if (v) {
        mv_view_release(v, NULL);
        mv_decref(v);
    }
}

static mvobject *mv_alloc(mbufobject *mb)
{
    mvobject *self = PyObject_GC_New(mvobject, &MemoryView_Type);
    if (!self)
        return NULL;
    Py_INCREF(mb);
    self->mbuf = mb;
    self->view = NULL;
    self->hash = -1;
    self->weakreflist = NULL;
    self->item_code = FAST_UNKNOWN;
    self->contig = -1;
    self->pins = 0;
    return self;
}

/* A new memoryview on mb holding v (stolen, also on failure). */
static PyObject *mv_wrap(mbufobject *mb, mv_view *v)
{
    mvobject *self = mv_alloc(mb);
    if (!self) {
        drop_view(v);
        return NULL;
    }
    self->view = v;
    self->spanned = false;
    self->described = true;
    self->desc = *mv_view_buffer(v, NULL);
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

/* A memoryview on mb whose span the caller fills, then hands to
 * mv_spanned (or drops with Py_DECREF): the span is written in place, not
 * copied in. */
static mvobject *mv_alloc_span(mbufobject *mb)
{
    mvobject *self = mv_alloc(mb);
    if (self) {
        self->spanned = true;
        self->described = false;
    }
    return self;
}

static PyObject *mv_spanned(mvobject *self)
{
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

/* A new memoryview on mb with span's layout (its format text lives in mb
 * or is static). */
static PyObject *mv_wrap_span(mbufobject *mb, const mv_span *span)
{
    mvobject *self = mv_alloc_span(mb);
    if (!self)
        return NULL;
    /* Only the dimensions in use (most views have one), and field by field
     * from the argument: reading back a copy just written stalls store
     * forwarding. */
    mv_span *t = &self->span;
    t->buf = span->buf;
    t->len = span->len;
    t->itemsize = span->itemsize;
    t->format = span->format;
    t->ndim = span->ndim;
    t->readonly = span->readonly;
    t->native = span->native;
    if (span->ndim == 1) {
        t->shape[0] = span->shape[0];
        t->strides[0] = span->strides[0];
    } else {
        memcpy(t->shape, span->shape, sizeof t->shape);
        memcpy(t->strides, span->strides, sizeof t->strides);
    }
    return mv_spanned(self);
}

/* The libmemview view of a live memoryview (borrowed), made from its span
 * on first need.  NULL with an exception set. */
static mv_view *need_view(mvobject *self)
{
    if (!self->view) {
        mv_view *root = mbuf_root(self->mbuf);
        if (!root)
            return NULL;
        mv_error err;
        mv_error_clear(&err);
        self->view = mv_view_from_span(root, &self->span, &err);
        if (!self->view)
            set_error(&err);
    }
    return self->view;
}

/* The libmemview format of a live memoryview (NULL when it does not parse,
 * or with an exception set when no view could be made). */
static const mv_format *view_format(mvobject *self)
{
    mv_view *v = need_view(self);
    return v ? mv_view_format(v, NULL) : NULL;
}

static int is_contiguous(mvobject *self, char order)
{
    if (self->contig < 0) {
        /* A layout never changes: both answers are computed once. */
        if (self->spanned)
            self->contig = (signed char)(mv_span_is_contiguous(&self->span, 'C') |
                                         mv_span_is_contiguous(&self->span, 'F') << 1);
        else
            self->contig = (signed char)((mv_view_is_contiguous(self->view, 'C', NULL) == 1) |
                                         (mv_view_is_contiguous(self->view, 'F', NULL) == 1) << 1);
    }
    switch (order) {
    case 'C': return self->contig & 1;
    case 'F': return self->contig >> 1;
    default: return self->contig != 0;
    }
}

/* 0, or -1 with ValueError when the view is released. */
static int check_released(mvobject *self)
{
    if (!self->mbuf) {
        PyErr_SetString(PyExc_ValueError, MSG_RELEASED);
        return -1;
    }
    return 0;
}

/* A method that runs Python code (len(sep), __index__, __eq__, hash(obj), a
 * foreign exporter) in the middle of using the view's memory pins the view
 * around it: release() from that code raises BufferError, as it does while
 * a buffer exported from the view is held (CPython bumps its export count
 * the same way for hex and hash).  Item get/set run their conversions
 * before touching memory and check "released" after, as CPython. */
static void pin(mvobject *self)
{
    self->pins++; /* nesting is bounded by the recursion limit */
}

static void unpin(mvobject *self)
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

/* The descriptor of a live view (never NULL: callers checked "released"). */
static const mv_buffer *view_buffer(mvobject *self)
{
    if (!self->described) {
        mv_span_buffer(&self->span, &self->desc);
        self->described = true;
    }
    return &self->desc;
}

/* view_buffer(self)->ndim without filling the descriptor. */
static int view_ndim(const mvobject *self)
{
    return self->spanned ? self->span.ndim : self->desc.ndim;
}

/* Whether a view's format text is its managed buffer's stand-in (a cast
 * gives a view another format). */
static bool on_stand_in(mvobject *self, const char *text)
{
    mbufobject *mb = self->mbuf;
    return text && mb->stand_in && strcmp(text, mb->stand_in) == 0;
}

/* The format text as CPython would report it (the exporter's, not a
 * stand-in; "B" for none, as the builtin shows it). */
static const char *format_text(mvobject *self, const char *text)
{
    if (on_stand_in(self, text))
        return self->mbuf->master.format ? self->mbuf->master.format : "B";
    return text;
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
static const mv_format *item_format(mvobject *self)
{
    mv_view *v = need_view(self);
    if (!v)
        return NULL;
    mv_error err;
    mv_error_clear(&err);
    const mv_format *f = mv_view_format(v, &err);
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

/* A copy (PyMem) of the format text CPython's pack/unpack messages show:
 * a native single-character format without its '@'. */
static char *message_format(mvobject *self, const mv_format *fmt)
{
    const char *t = format_text(self, view_buffer(self)->format);
    if (fmt->native && t[0] == '@')
        t++;
    size_t n = strlen(t) + 1;
    char *copy = PyMem_Malloc(n);
    if (!copy) {
        PyErr_NoMemory();
        return NULL;
    }
    memcpy(copy, t, n);
    return copy;
}

/* ======================================================================== *
 * Constructor, release, deallocation, GC
 * ======================================================================== */

static mv_buffer buffer_from_py(const Py_buffer *p);

/* The first memoryview of a new managed buffer: a span when the exporter's
 * descriptor allows one (checked as libmemview checks any), else a view of
 * the root (which reports what is wrong with the descriptor). */
static PyObject *mv_from_mbuf(mbufobject *mb)
{
    mv_buffer d = buffer_from_py(&mb->master);
    d.format = mb->exporter.format;
    if (d.ndim <= MV_SPAN_MAX_NDIM && !d.suboffsets && native_format_size(d.format) == d.itemsize) {
        mvobject *self = mv_alloc_span(mb);
        if (!self)
            return NULL;
        if (mv_span_from_buffer(&self->span, &d, NULL) == 0)
            return mv_spanned(self);
        Py_DECREF(self);
    }
    mv_view *root = mbuf_root(mb);
    if (!root)
        return NULL;
    mv_error err;
    mv_error_clear(&err);
    mv_view *v = mv_view_new(mv_view_object(root), &err);
    if (!v)
        return set_error(&err);
    return mv_wrap(mb, v);
}

static PyObject *mv_from_object_flags(PyObject *obj, int flags)
{
    mv_error err;
    mv_error_clear(&err);
    if (IS_MEMVIEW(obj)) {
        mvobject *src = (mvobject *)obj;
        if (check_released(src) < 0)
            return NULL;
        if (src->spanned)
            return mv_wrap_span(src->mbuf, &src->span);
        mv_view *v = mv_view_new(mv_view_object(src->view), &err);
        if (!v)
            return set_error(&err);
        return mv_wrap(src->mbuf, v);
    }
    if (!PyObject_CheckBuffer(obj)) {
        PyErr_Format(PyExc_TypeError, "memoryview: a bytes-like object is required, not '%.200s'",
                     Py_TYPE(obj)->tp_name);
        return NULL;
    }
    mbufobject *mb = mbuf_from_object(obj, flags);
    if (!mb)
        return NULL;
    PyObject *res = mv_from_mbuf(mb);
    Py_DECREF(mb);
    return res;
}

static PyObject *mv_from_object(PyObject *obj)
{
    return mv_from_object_flags(obj, PyBUF_FULL_RO);
}

#if PY_VERSION_HEX >= 0x030C0000
/* memoryview._from_flags(object, flags): a view of the buffer obtained with
 * `flags` (PyMemoryView_FromObjectAndFlags; views share, as CPython's). */
static PyObject *mv_from_flags(PyObject *cls, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"object", "flags", NULL};
    PyObject *obj;
    int flags;
    (void)cls;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "Oi:_from_flags", kwlist, &obj, &flags))
        return NULL;
    return mv_from_object_flags(obj, flags);
}
#endif

static PyObject *mv_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"object", NULL};
    PyObject *obj;
    (void)type;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O:memoryview", kwlist, &obj))
        return NULL;
    return mv_from_object(obj);
}

/* Call fn(self, args, kwargs) with the vectorcall arguments packed as
 * a tuple and a dict: the hot entry points take their common form
 * directly and hand every other one here, so PyArg_ParseTupleAndKeywords
 * still produces the argument errors, word for word. */
static PyObject *call_packed(PyObject *self, PyObject *const *args, size_t nargsf,
                             PyObject *kwnames,
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

static PyObject *mv_new_packed(PyObject *type, PyObject *args, PyObject *kwds)
{
    return mv_new((PyTypeObject *)type, args, kwds);
}

/* memoryview(obj) without building an argument tuple. */
static PyObject *mv_vectorcall(PyObject *type, PyObject *const *args, size_t nargsf,
                               PyObject *kwnames)
{
    if (PyVectorcall_NARGS(nargsf) == 1 && (!kwnames || PyTuple_GET_SIZE(kwnames) == 0))
        return mv_from_object(args[0]);
    return call_packed(type, args, nargsf, kwnames, mv_new_packed);
}

/* Release the view; -1 with BufferError while buffers exported from it are
 * held. */
static int mv_release_view(mvobject *self)
{
    if (!self->mbuf)
        return 0;
    if (self->pins) {
        PyErr_Format(PyExc_BufferError, "memoryview has %d exported buffer%s", (int)self->pins,
                     self->pins == 1 ? "" : "s");
        return -1;
    }
    if (self->view) {
        mv_error err;
        mv_error_clear(&err);
        if (mv_view_release(self->view, &err) < 0)
            return set_error_int(&err);
        mv_view *v = self->view;
        self->view = NULL;
        mv_decref(v);
    }
    /* Last: dropping the managed buffer may run the exporter's release
     * (Python code) once nothing here refers to its memory. */
    Py_CLEAR(self->mbuf);
    return 0;
}

static int mv_traverse(mvobject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->mbuf);
    return 0;
}

/* As CPython 3.13: a view with live exports is left alone (the consumers
 * holding them are in the cycle too and let go first). */
static int mv_clear(mvobject *self)
{
    if (!self->pins && (!self->view || mv_object_exports(mv_view_object(self->view)) == 0))
        mv_release_view(self);
    return 0;
}

static void mv_dealloc(mvobject *self)
{
    PyObject_GC_UnTrack(self);
    if (self->weakreflist)
        PyObject_ClearWeakRefs((PyObject *)self);
    if (self->view) {
        /* Exported buffers hold a reference to self, so none is left. */
        drop_view(self->view);
        self->view = NULL;
    }
    Py_CLEAR(self->mbuf);
    PyObject_GC_Del(self);
}

/* ======================================================================== *
 * Buffer export
 * ======================================================================== */

static int mv_getbuf(mvobject *self, Py_buffer *pv, int flags)
{
    if (check_released(self) < 0 || !need_view(self))
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

static void mv_releasebuf(mvobject *self, Py_buffer *pv)
{
    (void)self;
    mv_buffer *b = pv->internal;
    if (b) {
        pv->internal = NULL;
        mv_buffer_release(b);
        PyMem_Free(b);
    }
}

/* A Py_buffer seen as an mv_buffer (no reference to its owner). */
static mv_buffer buffer_from_py(const Py_buffer *p)
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
static PyObject *values_to_py(const mv_value *vals, ptrdiff_t n)
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

/* Room for n values: `small` when it fits, else the heap. */
static mv_value *values_alloc(mv_value *small, ptrdiff_t n)
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

static void values_free(mv_value *v, mv_value *small)
{
    if (v != small)
        PyMem_Free(v);
}

/* The struct code of each value of an item, in order (records flattened:
 * 'x' gives none, 's' / 'p' one bytes value per field). */
static char *item_codes(const mv_format *fmt)
{
    char *codes = PyMem_Malloc((size_t)fmt->nvalues + 1);
    if (!codes) {
        PyErr_NoMemory();
        return NULL;
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
static int convert_item(mvobject *self, PyObject *value, const char *codes, ptrdiff_t n,
                        const char *text, mv_value *vals, PyObject **keep)
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

/* ======================================================================== *
 * Items and sub-views
 * ======================================================================== */

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
    if (item_pointer(self, idx, n, &ptr) < 0)
        return -1;

    int rc = -1;
    mv_value small[SMALL_VALUES];
    mv_value *vals = NULL;
    PyObject *keep = NULL;
    char *codes = item_codes(fmt);
    char *text = message_format(self, fmt);
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
    PyMem_Free(codes);
    PyMem_Free(text);
    return rc;
}

/* A memoryview of the span the keys select in self's (mv_span_slice
 * writing straight into the new object). */
static PyObject *span_slice(mvobject *self, const mv_key *keys, int nkeys)
{
    mvobject *res = mv_alloc_span(self->mbuf);
    if (!res)
        return NULL;
    mv_error err;
    if (mv_span_slice(&res->span, &self->span, keys, nkeys, &err) < 0) {
        Py_DECREF(res);
        return set_error(&err);
    }
    return mv_spanned(res);
}

/* A new memoryview of the sub-view keys select. */
static PyObject *subview_keys(mvobject *self, const mv_key *keys, int nkeys)
{
    mv_error err;
    mv_error_clear(&err);
    if (self->spanned) {
        /* A span holds what the keys give unless new axes push it past
         * its dimensions (the view then reports any other error too). */
        int ndim = self->span.ndim;
        for (int i = 0; i < nkeys; i++)
            ndim += keys[i].kind == MV_KEY_NEWAXIS;
        if (ndim <= MV_SPAN_MAX_NDIM)
            return span_slice(self, keys, nkeys);
    }
    if (!need_view(self))
        return NULL;
    mv_view *v = mv_view_subscript(self->view, keys, nkeys, &err);
    if (!v)
        return set_error(&err);
    return mv_wrap(self->mbuf, v);
}

/* The 1-D sub-view [start:stop] of a live view. */
static PyObject *slice_view(mvobject *self, ptrdiff_t start, ptrdiff_t stop)
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
        src = (mvobject *)mv_from_object((PyObject *)self);
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

/* The code item_fast reads for a live view, or FAST_NONE: 1-D, direct
 * (no suboffsets), a native integer or float format. */
static char item_code(mvobject *self)
{
    if (self->item_code == FAST_UNKNOWN) {
        const mv_format *f = self->spanned ? NULL : mv_view_format(self->view, NULL);
        char c = self->spanned ? self->span.native : f ? f->native : 0;
        self->item_code = FAST_NONE;
        if (view_ndim(self) == 1 && (self->spanned || !self->desc.suboffsets) && c &&
            strchr("bBhHiIlLqQnNfd", c))
            self->item_code = c;
    }
    return self->item_code;
}

#define LOAD(type, p) (memcpy(&u.type##_, (p), sizeof u.type##_), u.type##_)

/* The item of native code `code` (one item_code accepts) at p, as
 * item_get would convert it. */
static PyObject *item_load(const char *p, char code)
{
    union {
        signed char b_;
        unsigned char B_;
        short h_;
        unsigned short H_;
        int i_;
        unsigned int I_;
        long l_;
        unsigned long L_;
        long long q_;
        unsigned long long Q_;
        Py_ssize_t n_;
        size_t N_;
        float f_;
        double d_;
    } u;
    switch (code) {
    case 'b': return PyLong_FromLong(LOAD(b, p));
    case 'B': return PyLong_FromLong(LOAD(B, p));
    case 'h': return PyLong_FromLong(LOAD(h, p));
    case 'H': return PyLong_FromLong(LOAD(H, p));
    case 'i': return PyLong_FromLong(LOAD(i, p));
    case 'I': return PyLong_FromUnsignedLong(LOAD(I, p));
    case 'l': return PyLong_FromLong(LOAD(l, p));
    case 'L': return PyLong_FromUnsignedLong(LOAD(L, p));
    case 'q': return PyLong_FromLongLong(LOAD(q, p));
    case 'Q': return PyLong_FromUnsignedLongLong(LOAD(Q, p));
    case 'n': return PyLong_FromSsize_t(LOAD(n, p));
    case 'N': return PyLong_FromSize_t(LOAD(N, p));
    case 'f': return PyFloat_FromDouble(LOAD(f, p));
    default: return PyFloat_FromDouble(LOAD(d, p));
    }
}

#undef LOAD

/* m[i] for an exact int on a view item_code accepts: the address and the
 * value straight from the layout, with the errors item_get would give. */
static PyObject *item_fast(mvobject *self, Py_ssize_t i, char code)
{
    const mv_span *t = &self->span;
    const mv_buffer *b = &self->desc;
    ptrdiff_t n = self->spanned ? t->shape[0] : b->shape[0];
    if (i < 0)
        i += n;
    if (i < 0 || i >= n) {
        PyErr_SetString(PyExc_IndexError, "index out of bounds on dimension 1");
        return NULL;
    }
    const char *p = self->spanned ? t->buf + i * t->strides[0]
                                  : (const char *)b->buf + i * b->strides[0];
    return item_load(p, code);
}

static PyObject *mv_subscript(mvobject *self, PyObject *key)
{
    if (check_released(self) < 0)
        return NULL;
    char code;
    if (PyLong_CheckExact(key) && (code = item_code(self)) != FAST_NONE) {
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
        if (self->spanned) {
            /* subview_keys' span path, for the one key it needs no count. */
            return span_slice(self, &k, 1);
        }
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
        ptrdiff_t idx = i;
        if (ndim == 1)
            return item_get(self, &idx, 1);
        mv_key k;
        memset(&k, 0, sizeof k);
        k.kind = MV_KEY_INDEX;
        k.index = idx;
        return subview_keys(self, &k, 1);
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
static void shape_text(const ptrdiff_t *shape, Py_ssize_t ndim, char *out, size_t room)
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
        if (!need_view(self))
            ;
        else if (mv_view_assign(self->view, ks.keys, ks.n, &s, &err) < 0)
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

static int mv_ass_subscript(mvobject *self, PyObject *key, PyObject *value)
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

/* ======================================================================== *
 * Sequence protocol and iteration
 * ======================================================================== */

static Py_ssize_t mv_length(mvobject *self)
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

/* sq_item: m[i] with i already wrapped by the sequence protocol. */
static PyObject *mv_item(mvobject *self, Py_ssize_t i)
{
    if (check_released(self) < 0)
        return NULL;
    int ndim = view_ndim(self);
    if (ndim == 0) {
        PyErr_SetString(PyExc_TypeError, MSG_ZERO_DIM);
        return NULL;
    }
    ptrdiff_t idx = i;
    if (ndim == 1)
        return item_get(self, &idx, 1);
    mv_key k;
    memset(&k, 0, sizeof k);
    k.kind = MV_KEY_INDEX;
    k.index = idx;
    return subview_keys(self, &k, 1);
}

typedef struct {
    PyObject ob_base; /* PyObject_HEAD */
    Py_ssize_t index;
    Py_ssize_t length;
    mvobject *seq; /* NULL once exhausted */
} mviterobject;

static PyObject *mv_iter(mvobject *self)
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
    mviterobject *it = PyObject_GC_New(mviterobject, &MemoryIter_Type);
    if (!it)
        return NULL;
    it->index = 0;
    it->length = b->shape[0];
    Py_INCREF(self);
    it->seq = self;
    PyObject_GC_Track(it);
    return (PyObject *)it;
}

static PyObject *mviter_next(mviterobject *it)
{
    mvobject *seq = it->seq;
    if (!seq)
        return NULL;
    if (it->index < it->length) {
        /* As CPython: a view released mid-iteration raises ValueError. */
        if (check_released(seq) < 0)
            return NULL;
        return mv_item(seq, it->index++);
    }
    it->seq = NULL;
    Py_DECREF(seq);
    return NULL;
}

static int mviter_traverse(mviterobject *it, visitproc visit, void *arg)
{
    Py_VISIT(it->seq);
    return 0;
}

static void mviter_dealloc(mviterobject *it)
{
    PyObject_GC_UnTrack(it);
    Py_XDECREF(it->seq);
    PyObject_GC_Del(it);
}

static PyTypeObject MemoryIter_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "memview.memory_iterator",
    .tp_basicsize = sizeof(mviterobject),
    .tp_dealloc = (destructor)mviter_dealloc,
    .tp_getattro = PyObject_GenericGetAttr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)mviter_traverse,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)mviter_next,
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

static PyObject *mv_richcompare(PyObject *v, PyObject *w, int op)
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
        else if (!need_view(self) || !need_view(other))
            return NULL;
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
    if (!need_view(self))
        return NULL;
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
static Py_hash_t mv_hash(mvobject *self)
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
    const mv_format *fmt = view_format(self);
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
 * Argument helpers
 * ======================================================================== */

/* Clinic's `int` converter (_PyLong_AsInt). */
static int as_c_int(PyObject *o, int *out)
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
static int slice_index(PyObject *o, Py_ssize_t *out, int none_ok)
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

/* ======================================================================== *
 * Methods
 * ======================================================================== */

static PyObject *mv_release_method(mvobject *self, PyObject *unused)
{
    (void)unused;
    if (mv_release_view(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *mv_enter(mvobject *self, PyObject *unused)
{
    (void)unused;
    if (check_released(self) < 0)
        return NULL;
    Py_INCREF(self);
    return (PyObject *)self;
}

static PyObject *mv_exit(mvobject *self, PyObject *args)
{
    (void)args;
    return mv_release_method(self, NULL);
}

static PyObject *mv_toreadonly(mvobject *self, PyObject *unused)
{
    (void)unused;
    if (check_released(self) < 0)
        return NULL;
    if (self->spanned) {
        mv_span ro = self->span;
        ro.readonly = true;
        return mv_wrap_span(self->mbuf, &ro);
    }
    mv_error err;
    mv_error_clear(&err);
    mv_view *v = mv_view_toreadonly(self->view, &err);
    if (!v)
        return set_error(&err);
    return mv_wrap(self->mbuf, v);
}

static PyObject *mv_tobytes(mvobject *self, PyObject *args, PyObject *kwds)
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

static PyObject *mv_tolist(mvobject *self, PyObject *unused)
{
    (void)unused;
    if (check_released(self) < 0)
        return NULL;
    char code = item_code(self);
    if (code != FAST_NONE) {
        /* A 1-D direct view of native numbers: no visitor, no mv_value. */
        const mv_buffer *b = view_buffer(self);
        PyObject *list = PyList_New(b->shape[0]);
        if (!list)
            return NULL;
        for (Py_ssize_t i = 0; i < b->shape[0]; i++) {
            PyObject *o = item_load((const char *)b->buf + i * b->strides[0], code);
            if (!o) {
                Py_DECREF(list);
                return NULL;
            }
            PyList_SET_ITEM(list, i, o);
        }
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
    if (!need_view(self))
        return NULL;
    tolist_ctx c;
    memset(&c, 0, sizeof c);
    c.b = view_buffer(self);
    mv_visitor vis = {tolist_begin, tolist_item, tolist_end, &c};
    mv_error err;
    mv_error_clear(&err);
    int rc = mv_view_traverse(self->view, &vis, &err);
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
    if (!need_view(self))
        return NULL;
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

/* ---- cast -------------------------------------------------------------- */

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

static PyObject *mv_cast_args(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"format", "shape", NULL};
    PyObject *format, *shape = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|O:cast", kwlist, &format, &shape))
        return NULL;
    RETURN_PINNED((mvobject *)self, cast_impl((mvobject *)self, format, shape));
}

/* m.cast(format) takes its one positional argument directly. */
static PyObject *mv_cast(mvobject *self, PyObject *const *args, Py_ssize_t nargs,
                         PyObject *kwnames)
{
    if (nargs == 1 && (!kwnames || PyTuple_GET_SIZE(kwnames) == 0))
        RETURN_PINNED(self, cast_impl(self, args[0], NULL));
    return call_packed((PyObject *)self, args, (size_t)nargs, kwnames, mv_cast_args);
}

/* m.cast(fmt) to 1-D in the case CPython accepts (C-contiguous, no zero
 * extent for N-D, a native destination, a byte format on one side, a
 * length that divides): cast_to_1D's layout, without the general path's
 * bookkeeping for refusals.  NULL without an exception when the case is
 * another. */
static PyObject *cast_1d_fast(mvobject *self, PyObject *format)
{
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(format) < 0) {
        PyErr_Clear();
        return NULL;
    }
#endif
    if (!self->spanned || !PyUnicode_IS_ASCII(format) || !is_contiguous(self, 'C'))
        return NULL;
    const char *text = PyUnicode_AsUTF8(format);
    if (!text) {
        PyErr_Clear(); /* the general path reports it */
        return NULL;
    }
    const char *stext = native_static(text);
    if (!stext)
        return NULL;
    const mv_span *src = &self->span;
    char dest = interpreter_native(stext[stext[0] == '@']);
    ptrdiff_t itemsize = native_format_size(stext);
    if (!dest || (!is_byte_code(src->native) && !is_byte_code(dest)) || src->len % itemsize)
        return NULL;
    for (int d = 0; src->ndim != 1 && d < src->ndim; d++)
        if (src->shape[d] == 0)
            return NULL;
    mvobject *res = mv_alloc_span(self->mbuf);
    if (!res)
        return NULL;
    mv_span *out = &res->span;
    out->buf = src->buf;
    out->len = src->len;
    out->readonly = src->readonly;
    out->itemsize = itemsize;
    out->format = stext;
    out->native = dest;
    out->ndim = 1;
    out->shape[0] = src->len / itemsize;
    out->strides[0] = itemsize;
    return mv_spanned(res);
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
    const mv_buffer *b = view_buffer(self);
    bool beyond = false; /* CPython would refuse this cast for a limitation */
    int c_contig = is_contiguous(self, 'C');
    int f_contig = is_contiguous(self, 'F');
    if (!c_contig && !f_contig) {
        /* CPython's text for the same input (memview casts Fortran-
         * contiguous views too; this one is neither). */
        PyErr_SetString(PyExc_TypeError, "memoryview: casts are restricted to C-contiguous views");
        return NULL;
    }
    beyond |= !c_contig;
    if (shape || b->ndim != 1) {
        for (int i = 0; i < b->ndim; i++)
            if (b->shape[i] == 0)
                return cast_error(false, PyExc_TypeError,
                                  "memoryview: cannot cast view with zeros in shape or strides",
                                  NULL);
    }
    Py_ssize_t ndim = -1;
    if (shape) {
        if (!PyList_Check(shape) && !PyTuple_Check(shape))
            return cast_error(false, PyExc_TypeError, "shape must be a list or a tuple", NULL);
        ndim = PySequence_Fast_GET_SIZE(shape);
        if (ndim > MV_MAX_NDIM)
            return cast_error(false, PyExc_ValueError,
                              "memoryview: number of dimensions must not exceed 64", NULL);
        beyond |= b->ndim != 1 && ndim != 1;
    }

    /* cast_to_1D: the destination format.  An ASCII str is its own UTF-8
     * (no copy); anything else goes through the encoder for its error. */
    PyObject *ascii = NULL;
    const char *text;
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(format) < 0)
        return NULL;
#endif
    if (PyUnicode_IS_ASCII(format)) {
        text = PyUnicode_AsUTF8(format);
        if (!text)
            return NULL;
    } else {
        ascii = PyUnicode_AsASCIIString(format);
        if (!ascii)
            return NULL;
        text = PyBytes_AS_STRING(ascii);
    }
    mv_error err;
    mv_error_clear(&err);
    /* CPython reads the format as a C string (up to an embedded NUL).  A
     * native single code needs no parse (native_size came from the
     * parser). */
    ptrdiff_t itemsize = native_format_size(text);
    char dest = 0;
    PyObject *res = NULL;
    if (itemsize > 0) {
        dest = interpreter_native(text[0] == '@' ? text[1] : text[0]);
    } else {
        mv_format fmt;
        if (mv_format_parse(&fmt, text, &err) < 0) {
            /* CPython has no text for a format that does not parse. */
            if (err.code == MV_ENOMEM)
                set_error(&err);
            else
                PyErr_Format(PyExc_ValueError, "memoryview: %s", err.message);
            goto out;
        }
        itemsize = fmt.itemsize;
        dest = interpreter_native(fmt.native);
        mv_format_clear(&fmt);
        if (itemsize == 0) {
            PyErr_Format(PyExc_ValueError, "memoryview.cast(): format '%s' has itemsize 0", text);
            goto out;
        }
    }
    beyond |= !dest;
    const mv_format *sfmt = self->spanned ? NULL : mv_view_format(self->view, NULL);
    char src = self->spanned ? self->span.native : sfmt ? sfmt->native : 0;
    beyond |= !is_byte_code(src) && !is_byte_code(dest);
    if (b->len % itemsize) {
        cast_error(beyond, PyExc_TypeError, "memoryview: length is not a multiple of itemsize",
                   "length %zd, itemsize %zd of format '%s'", (Py_ssize_t)b->len,
                   (Py_ssize_t)itemsize, text);
        goto out;
    }

    /* cast_to_ND: each element of the shape in turn, then their product
     * times itemsize (nbytes). */
    ptrdiff_t dims[MV_MAX_NDIM];
    Py_ssize_t nbytes = itemsize;
    for (Py_ssize_t i = 0; i < ndim; i++) {
        PyObject *o = PySequence_Fast_GET_ITEM(shape, i);
        if (!PyLong_Check(o)) {
            cast_error(beyond, PyExc_TypeError,
                       "memoryview.cast(): elements of shape must be integers",
                       "shape[%zd] is %.50s", i, Py_TYPE(o)->tp_name);
            goto out;
        }
        Py_ssize_t x = PyLong_AsSsize_t(o);
        if (x == -1 && PyErr_Occurred())
            goto out;
        if (x <= 0) {
            cast_error(beyond, PyExc_ValueError,
                       "memoryview.cast(): elements of shape must be integers > 0",
                       "shape[%zd] is %zd", i, x);
            goto out;
        }
        if (x > PY_SSIZE_T_MAX / nbytes) {
            PyErr_SetString(PyExc_ValueError, "memoryview.cast(): product(shape) > SSIZE_MAX");
            goto out;
        }
        nbytes *= x;
        dims[i] = x;
    }
    if (ndim >= 0 && nbytes != b->len) {
        char dtext[MV_MAX_NDIM * 22 + 4];
        shape_text(dims, ndim, dtext, sizeof dtext);
        cast_error(beyond, PyExc_TypeError, "memoryview: product(shape) * itemsize != buffer size",
                   "shape %s * itemsize %zd of format '%s' = %zd, buffer size %zd", dtext,
                   (Py_ssize_t)itemsize, text, nbytes, (Py_ssize_t)b->len);
        goto out;
    }
    /* A Fortran-only source keeps its logical order in an N-D result. */
    int flags = (!c_contig && ndim > 1) ? MV_CAST_FORTRAN : 0;
    const char *stext = self->spanned && ndim <= MV_SPAN_MAX_NDIM ? native_static(text) : NULL;
    if (stext) {
        mv_span out;
        if (mv_span_cast(&out, &self->span, stext, dims, (int)ndim, flags, &err) == 0)
            res = mv_wrap_span(self->mbuf, &out);
        else
            set_error(&err);
        goto out;
    }
    mv_view *v = need_view(self) ? mv_view_cast(self->view, text, dims, (int)ndim, flags, &err) : NULL;
    if (!v && !PyErr_Occurred())
        set_error(&err);
    if (v)
        res = mv_wrap(self->mbuf, v);
out:
    Py_XDECREF(ascii);
    return res;
}

/* ---- count / index ----------------------------------------------------- */

/* value as an mv_value when libmemview can compare it exactly as Python
 * would (exact int, bool, float, complex, bytes); 0 when not. */
static int simple_value(PyObject *o, mv_value *v)
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

/* 1 when libmemview can search this view (1-D, a format it reads) for
 * value, 0 when not, -1 with an exception. */
static int fast_lookup(mvobject *self, PyObject *value, mv_value *v)
{
    if (view_ndim(self) != 1)
        return 0;
    if (!need_view(self))
        return -1;
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
        /* mv_item checks "released": __eq__ may have released the view. */
        PyObject *item = mv_item(self, i);
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
    if (check_released(self) < 0 || !need_view(self))
        goto out;
    if (as_view) {
        mv_view *match = NULL;
        if (mv_view_find_view(self->view, nd.p, nd.n, start, end, &match, &err) < 0)
            set_error(&err);
        else if (!match)
            res = Py_None, Py_INCREF(res);
        else
            res = mv_wrap(self->mbuf, match);
    } else {
        ptrdiff_t pos = -1;
        if (mv_view_find(self->view, nd.p, nd.n, start, end, &pos, &err) < 0)
            set_error(&err);
        else
            res = PyLong_FromSsize_t(pos);
    }
out:
    needle_release(&nd);
    return res;
}

static PyObject *mv_find(mvobject *self, PyObject *args)
{
    RETURN_PINNED(self, find_pinned(self, args, "O|OO:find", 0));
}

static PyObject *mv_find_view(mvobject *self, PyObject *args)
{
    RETURN_PINNED(self, find_pinned(self, args, "O|OO:find_view", 1));
}

/* 0 when libmemview can search this view, else -1 with its error. */
static int check_searchable(mvobject *self)
{
    mv_error err;
    mv_error_clear(&err);
    if (!need_view(self))
        return -1;
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
        if (!need_view(part)) {
            Py_DECREF(part);
            return -1;
        }
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

static PyObject *mv_startswith(mvobject *self, PyObject *args)
{
    RETURN_PINNED(self, affix_pinned(self, args, "O|OO:startswith", 0));
}

static PyObject *mv_endswith(mvobject *self, PyObject *args)
{
    RETURN_PINNED(self, affix_pinned(self, args, "O|OO:endswith", 1));
}

/* Append the sub-view [start:stop] to list. */
static int split_append(mvobject *self, PyObject *list, ptrdiff_t start, ptrdiff_t stop)
{
    PyObject *part = slice_view(self, start, stop);
    if (!part)
        return -1;
    int rc = PyList_Append(list, part);
    Py_DECREF(part);
    return rc;
}

static int is_byte_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
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
    if (maxsplit < 0)
        maxsplit = PY_SSIZE_T_MAX;
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
    PyObject *list = NULL;
    char *copy = NULL;
    if (check_released(self) < 0 || check_searchable(self) < 0)
        goto fail;
    if (!(list = PyList_New(0)))
        goto fail;
    ptrdiff_t len = view_buffer(self)->shape[0];
    mv_error err;
    mv_error_clear(&err);
    if (sep != Py_None) {
        ptrdiff_t pos = 0;
        while (maxsplit-- > 0) {
            ptrdiff_t at = -1;
            if (mv_view_find(self->view, nd.p, nd.n, pos, len, &at, &err) < 0) {
                set_error(&err);
                goto fail;
            }
            if (at < 0)
                break;
            if (split_append(self, list, pos, at) < 0)
                goto fail;
            pos = at + (ptrdiff_t)nd.n;
        }
        if (split_append(self, list, pos, len) < 0)
            goto fail;
    } else {
        size_t n = 0;
        copy = mv_view_tobytes(self->view, 'C', &n, &err);
        if (!copy) {
            set_error(&err);
            goto fail;
        }
        /* bytes.split(None, maxsplit), step for step. */
        const unsigned char *s = (const unsigned char *)copy;
        ptrdiff_t i = 0;
        while (maxsplit-- > 0) {
            while (i < len && is_byte_space(s[i]))
                i++;
            if (i == len)
                break;
            ptrdiff_t j = i++;
            while (i < len && !is_byte_space(s[i]))
                i++;
            if (split_append(self, list, j, i) < 0)
                goto fail;
        }
        while (i < len && is_byte_space(s[i]))
            i++;
        if (i < len && split_append(self, list, i, len) < 0)
            goto fail;
    }
    free(copy);
    needle_release(&nd);
    return list;
fail:
    free(copy);
    needle_release(&nd);
    Py_XDECREF(list);
    return NULL;
}

/* ---- pickling ---------------------------------------------------------- */

/* memoryview is not picklable.  CPython says so through object's default
 * reduce, whose message depends on the version and the protocol. */
static PyObject *mv_reduce(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    PyErr_SetString(PyExc_TypeError, MSG_PICKLE);
    return NULL;
}

static PyObject *mv_reduce_ex(PyObject *self, PyObject *protocol)
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
    return mv_reduce(self, NULL);
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

static PyObject *get_obj(mvobject *self, void *closure)
{
    (void)closure;
    if (check_released(self) < 0)
        return NULL;
    PyObject *o = self->mbuf->obj ? self->mbuf->obj : Py_None;
    Py_INCREF(o);
    return o;
}

static PyObject *get_nbytes(mvobject *self, void *closure)
{
    (void)closure;
    if (check_released(self) < 0)
        return NULL;
    return PyLong_FromSsize_t(view_buffer(self)->len);
}

static PyObject *get_readonly(mvobject *self, void *closure)
{
    (void)closure;
    if (check_released(self) < 0)
        return NULL;
    return PyBool_FromLong(view_buffer(self)->readonly);
}

static PyObject *get_itemsize(mvobject *self, void *closure)
{
    (void)closure;
    if (check_released(self) < 0)
        return NULL;
    return PyLong_FromSsize_t(view_buffer(self)->itemsize);
}

static PyObject *get_format(mvobject *self, void *closure)
{
    (void)closure;
    if (check_released(self) < 0)
        return NULL;
    return PyUnicode_FromString(format_text(self, view_buffer(self)->format));
}

static PyObject *get_ndim(mvobject *self, void *closure)
{
    (void)closure;
    if (check_released(self) < 0)
        return NULL;
    return PyLong_FromLong(view_ndim(self));
}

static PyObject *get_shape(mvobject *self, void *closure)
{
    (void)closure;
    if (check_released(self) < 0)
        return NULL;
    const mv_buffer *b = view_buffer(self);
    return ssize_tuple(b->ndim, b->shape);
}

static PyObject *get_strides(mvobject *self, void *closure)
{
    (void)closure;
    if (check_released(self) < 0)
        return NULL;
    const mv_buffer *b = view_buffer(self);
    return ssize_tuple(b->ndim, b->strides);
}

static PyObject *get_suboffsets(mvobject *self, void *closure)
{
    (void)closure;
    if (check_released(self) < 0)
        return NULL;
    const mv_buffer *b = view_buffer(self);
    return ssize_tuple(b->ndim, b->suboffsets);
}

static PyObject *get_contiguity(mvobject *self, char order)
{
    if (check_released(self) < 0)
        return NULL;
    return PyBool_FromLong(is_contiguous(self, order));
}

static PyObject *get_c_contiguous(mvobject *self, void *closure)
{
    (void)closure;
    return get_contiguity(self, 'C');
}

static PyObject *get_f_contiguous(mvobject *self, void *closure)
{
    (void)closure;
    return get_contiguity(self, 'F');
}

static PyObject *get_contiguous(mvobject *self, void *closure)
{
    (void)closure;
    return get_contiguity(self, 'A');
}

static PyObject *mv_repr(mvobject *self)
{
    if (!self->mbuf)
        return PyUnicode_FromFormat("<released memory at %p>", (void *)self);
    return PyUnicode_FromFormat("<memory at %p>", (void *)self);
}

/* ======================================================================== *
 * Type objects and module
 * ======================================================================== */

static PyGetSetDef mv_getset[] = {
    {"obj", (getter)get_obj, NULL, "The underlying object of the memoryview.", NULL},
    {"nbytes", (getter)get_nbytes, NULL,
     "The amount of space in bytes that the array would use in a contiguous representation.", NULL},
    {"readonly", (getter)get_readonly, NULL, "A bool indicating whether the memory is read only.",
     NULL},
    {"itemsize", (getter)get_itemsize, NULL, "The size in bytes of each element of the memoryview.",
     NULL},
    {"format", (getter)get_format, NULL,
     "A string containing the format (in struct module style) for each element in the view.", NULL},
    {"ndim", (getter)get_ndim, NULL,
     "An integer indicating how many dimensions of a multi-dimensional array the memory "
     "represents.",
     NULL},
    {"shape", (getter)get_shape, NULL,
     "A tuple of ndim integers giving the shape of the memory as an N-dimensional array.", NULL},
    {"strides", (getter)get_strides, NULL,
     "A tuple of ndim integers giving the size in bytes to access each element for each "
     "dimension of the array.",
     NULL},
    {"suboffsets", (getter)get_suboffsets, NULL,
     "A tuple of integers used internally for PIL-style arrays.", NULL},
    {"c_contiguous", (getter)get_c_contiguous, NULL,
     "A bool indicating whether the memory is C contiguous.", NULL},
    {"f_contiguous", (getter)get_f_contiguous, NULL,
     "A bool indicating whether the memory is Fortran contiguous.", NULL},
    {"contiguous", (getter)get_contiguous, NULL,
     "A bool indicating whether the memory is contiguous.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

#define KW (METH_VARARGS | METH_KEYWORDS)

/* The methods that may run Python code while they use the memory, pinned
 * (pin()). */
static PyObject *mv_hex(mvobject *self, PyObject *args, PyObject *kwds)
{
    RETURN_PINNED(self, hex_pinned(self, args, kwds));
}

static PyObject *mv_count(mvobject *self, PyObject *value)
{
    RETURN_PINNED(self, count_pinned(self, value));
}

static PyObject *mv_index(mvobject *self, PyObject *args)
{
    RETURN_PINNED(self, index_pinned(self, args));
}

static PyObject *mv_split(mvobject *self, PyObject *args, PyObject *kwds)
{
    RETURN_PINNED(self, split_pinned(self, args, kwds));
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

static int mv_contains(mvobject *self, PyObject *value)
{
    if (check_released(self) < 0)
        return -1;
    pin(self);
    int found = contains_pinned(self, value);
    unpin(self);
    return found;
}

static PyMethodDef mv_methods[] = {
    {"release", (PyCFunction)mv_release_method, METH_NOARGS,
     "release($self, /)\n--\n\nRelease the underlying buffer exposed by the memoryview object."},
    {"tobytes", (PyCFunction)(void (*)(void))mv_tobytes, KW,
     "tobytes($self, /, order='C')\n--\n\nReturn the data in the buffer as a byte string."},
    {"hex", (PyCFunction)(void (*)(void))mv_hex, KW,
     "hex($self, /, sep=<unrepresentable>, bytes_per_sep=1)\n--\n\n"
     "Return the data in the buffer as a str of hexadecimal numbers."},
    {"tolist", (PyCFunction)mv_tolist, METH_NOARGS,
     "tolist($self, /)\n--\n\nReturn the data in the buffer as a list of elements."},
    {"toreadonly", (PyCFunction)mv_toreadonly, METH_NOARGS,
     "toreadonly($self, /)\n--\n\nReturn a readonly version of the memoryview."},
    {"cast", (PyCFunction)(void (*)(void))mv_cast, METH_FASTCALL | METH_KEYWORDS,
     "cast($self, /, format, shape=<unrepresentable>)\n--\n\n"
     "Cast a memoryview to a new format or shape."},
    {"count", (PyCFunction)mv_count, METH_O,
     "count($self, value, /)\n--\n\nCount the number of occurrences of a value."},
    {"index", (PyCFunction)mv_index, METH_VARARGS,
     "index($self, value, start=0, stop=sys.maxsize, /)\n--\n\n"
     "Return the index of the first occurrence of a value."},
    {"find", (PyCFunction)mv_find, METH_VARARGS,
     "find($self, sub, start=None, end=None, /)\n--\n\n"
     "Lowest index of sub in a 1-D byte view, or -1 (as bytes.find)."},
    {"find_view", (PyCFunction)mv_find_view, METH_VARARGS,
     "find_view($self, sub, start=None, end=None, /)\n--\n\n"
     "The first match of sub as a sub-view, or None."},
    {"startswith", (PyCFunction)mv_startswith, METH_VARARGS,
     "startswith($self, prefix, start=None, end=None, /)\n--\n\n"
     "Whether a 1-D byte view starts with prefix (bytes-like or a tuple of them)."},
    {"endswith", (PyCFunction)mv_endswith, METH_VARARGS,
     "endswith($self, suffix, start=None, end=None, /)\n--\n\n"
     "Whether a 1-D byte view ends with suffix (bytes-like or a tuple of them)."},
    {"split", (PyCFunction)(void (*)(void))mv_split, KW,
     "split($self, /, sep=None, maxsplit=-1)\n--\n\n"
     "Split a 1-D byte view as bytes.split does, into a list of sub-views."},
    {"__enter__", (PyCFunction)mv_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)mv_exit, METH_VARARGS,
     "Release the underlying buffer exposed by the memoryview object."},
    {"__reduce__", (PyCFunction)mv_reduce, METH_NOARGS, NULL},
    {"__reduce_ex__", (PyCFunction)mv_reduce_ex, METH_O, NULL},
    {"__class_getitem__", (PyCFunction)Py_GenericAlias, METH_O | METH_CLASS, "See PEP 585"},
#if PY_VERSION_HEX >= 0x030C0000
    {"_from_flags", (PyCFunction)(void (*)(void))mv_from_flags, KW | METH_CLASS,
     "_from_flags($type, object, flags, /)\n--\n\nCreate a new memoryview object which "
     "references the given object."},
#endif
    {NULL, NULL, 0, NULL},
};

static PyBufferProcs mv_as_buffer = {
    (getbufferproc)mv_getbuf,
    (releasebufferproc)mv_releasebuf,
};

static PyMappingMethods mv_as_mapping = {
    (lenfunc)mv_length,
    (binaryfunc)mv_subscript,
    (objobjargproc)mv_ass_subscript,
};

static PySequenceMethods mv_as_sequence = {
    .sq_length = (lenfunc)mv_length,
    .sq_item = (ssizeargfunc)mv_item,
    .sq_contains = (objobjproc)mv_contains,
};

#ifdef Py_TPFLAGS_SEQUENCE
#define MV_SEQUENCE_FLAG Py_TPFLAGS_SEQUENCE
#else
#define MV_SEQUENCE_FLAG 0
#endif

static PyTypeObject MemoryView_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "memview.memoryview",
    .tp_basicsize = sizeof(mvobject),
    .tp_dealloc = (destructor)mv_dealloc,
    .tp_repr = (reprfunc)mv_repr,
    .tp_as_sequence = &mv_as_sequence,
    .tp_as_mapping = &mv_as_mapping,
    .tp_hash = (hashfunc)mv_hash,
    .tp_getattro = PyObject_GenericGetAttr,
    .tp_as_buffer = &mv_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | MV_SEQUENCE_FLAG,
    .tp_doc = "memoryview(object)\n--\n\nCreate a new memoryview object which references the "
              "given object.",
    .tp_traverse = (traverseproc)mv_traverse,
    .tp_clear = (inquiry)mv_clear,
    .tp_richcompare = mv_richcompare,
    .tp_weaklistoffset = offsetof(mvobject, weakreflist),
    .tp_iter = (getiterfunc)mv_iter,
    .tp_methods = mv_methods,
    .tp_getset = mv_getset,
    .tp_new = mv_new,
    .tp_vectorcall = mv_vectorcall,
};

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
    native_size_init();
    if (PyType_Ready(&ManagedBuffer_Type) < 0 || PyType_Ready(&MemoryIter_Type) < 0 ||
        PyType_Ready(&MemoryView_Type) < 0)
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
