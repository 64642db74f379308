/* mv_view: memory views over an exporter's buffer.
 *
 * Design (CPython's managed buffer, Objects/memoryobject.c): an exporter is
 * asked for its buffer exactly once, with MV_BUF_FULL_RO, and that snapshot
 * (the "master" mv_buffer) lives in a managed buffer that every view derived
 * from it shares -- views of views, slices, casts, toreadonly.  PEP 3118
 * lets an exporter hand out a different layout on each request, so going
 * back to it for every derived view could yield inconsistent layouts and
 * would need one release per request; the snapshot keeps all views
 * consistent and the exporter's releasebuffer runs once, when the managed
 * buffer's count of registered views drops to zero.  The master's arrays
 * are never written; each view owns its own shape/strides/suboffsets (one
 * block after the struct), its contiguity flags (computed at creation) and
 * its own export count (buffers consumers obtained from the view, which
 * block mv_view_release).  Because views are read concurrently without
 * locks, nothing is computed lazily: the item format is parsed when a
 * managed buffer or a cast is created and kept in a small refcounted holder
 * shared by every view with that format string.  A format that does not
 * parse is recorded as such (views still work as bytes); operations that
 * need values parse it again to report the error.
 */
#include "view.h"

#include <stdlib.h>
#include <string.h>
#include <threads.h>


/* A parsed format shared by the views that use it; text is its own copy. */
typedef struct format_holder {
    atomic_size_t refcount;
    bool immortal; /* one of the shared common holders: never freed */
    int status;    /* 0 = fmt is parsed; else the parse error code */
    mv_format fmt;
    char text[];
} format_holder;

typedef struct managed_buffer {
    atomic_size_t views; /* registered (unreleased) views */
    bool local;          /* the exporter is local: so are the counts here */
    /* The managed buffer is allocated in one block with its first view
     * (one malloc per new view instead of two); the block is freed when
     * both are done: the managed buffer's last view released and the
     * first view destroyed. */
    atomic_size_t block_refs; /* 2 while the first view shares the block */
    mv_buffer master;
    format_holder *format; /* the master format, parsed */
} managed_buffer;

struct mv_view {
    mv_object base;
    managed_buffer *mbuf;  /* NULL once released */
    format_holder *format; /* kept until destroy: mv_view_format lends it */
    managed_buffer *block; /* the managed buffer sharing this view's block */
    int flags;             /* MV_CONTIG_C | MV_CONTIG_F */
    bool placed;           /* in a caller's memory (mv_view_place_fn): not freed */
    mv_buffer view;        /* obj borrowed (the exporter); arrays below */
    ptrdiff_t arrays[];    /* shape, strides, suboffsets: ndim each */
};

/* The first view of a managed buffer shares its block when it has at most
 * this many dimensions (the usual case); the view starts at the first
 * suitably aligned offset after the managed buffer. */
enum { BLOCK_NDIM = 2 };
#define BLOCK_VIEW_OFFSET                                                                          \
    ((sizeof(managed_buffer) + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1))

static int view_getbuffer(mv_object *self, mv_buffer *out, int flags, mv_error *err);
static void view_destroy(mv_object *self);

static const mv_type view_type = {
    .name = "memoryview",
    .getbuffer = view_getbuffer,
    .releasebuffer = NULL,
    .destroy = view_destroy,
};

/* ---- format holders ---------------------------------------------------- */

static format_holder *holder_new(const char *text, mv_error *err)
{
    size_t n = strlen(text);
    format_holder *h = malloc(sizeof *h + n + 1);
    if (!h) {
        mv_error_set(err, MV_ENOMEM, "out of memory");
        return NULL;
    }
    memcpy(h->text, text, n + 1);
    atomic_init(&h->refcount, 1);
    h->immortal = false;
    int rc = mv_format_parse(&h->fmt, h->text, NULL);
    if (rc == MV_ENOMEM) {
        free(h);
        mv_error_set(err, MV_ENOMEM, "out of memory");
        return NULL;
    }
    h->status = rc;
    return h;
}

/* Most exporters hand out one of a few single-character formats; parsing
 * and allocating a holder for each new exporter buffer would dominate the
 * cost of a view.  These holders are made once per process and shared. */
static const char common_text[] = "BbchHiIlLqQnNfde?P";
static format_holder *common_plain[sizeof common_text - 1];
static format_holder *common_at[sizeof common_text - 1];
static unsigned char common_slot[128]; /* code -> 1 + index in common_text, or 0 */
static once_flag common_once = ONCE_FLAG_INIT;

static void common_init(void)
{
    for (size_t i = 0; i + 1 < sizeof common_text; i++) {
        common_slot[(unsigned char)common_text[i]] = (unsigned char)(i + 1);
        char text[3] = {'@', common_text[i], '\0'};
        common_at[i] = holder_new(text, NULL);
        common_plain[i] = holder_new(text + 1, NULL);
        /* An allocation failure here only means that format takes the
         * ordinary path; a parse failure cannot happen for these. */
        if (common_at[i])
            common_at[i]->immortal = true;
        if (common_plain[i])
            common_plain[i]->immortal = true;
    }
}

/* The holder for text: a shared common one, else a new one. */
static format_holder *holder_get(const char *text, mv_error *err)
{
    const char *c = text[0] == '@' ? text + 1 : text;
    unsigned char code = (unsigned char)c[0];
    if (code && code < 128 && !c[1]) {
        call_once(&common_once, common_init);
        unsigned slot = common_slot[code];
        format_holder *h = slot ? (c == text ? common_plain : common_at)[slot - 1] : NULL;
        if (h)
            return h;
    }
    return holder_new(text, err);
}

static void holder_incref(format_holder *h)
{
    if (h->immortal)
        return;
    atomic_fetch_add_explicit(&h->refcount, 1, memory_order_relaxed);
}

static void holder_decref(format_holder *h)
{
    if (h && !h->immortal &&
        atomic_fetch_sub_explicit(&h->refcount, 1, memory_order_acq_rel) == 1) {
        mv_format_clear(&h->fmt);
        free(h);
    }
}

/* The parsed format in *out, or the parser's own error. */
static int holder_format(const format_holder *h, const mv_format **out, mv_error *err)
{
    *out = NULL;
    if (h->status == 0) {
        *out = &h->fmt;
        return 0;
    }
    mv_format tmp;
    int rc = mv_format_parse(&tmp, h->text, err);
    if (rc == 0) {
        /* Parsing is deterministic; this only guards a broken parser. */
        mv_format_clear(&tmp);
        rc = mv_error_set(err, MV_EVALUE, "invalid format string '%s'", h->text);
    }
    return rc;
}

/* ---- managed buffers --------------------------------------------------- */

/* Drop one user of a managed buffer's block (it starts the block).  alone:
 * the caller knows that the other user cannot drop it concurrently. */
static void block_drop(managed_buffer *mbuf, bool alone)
{
    /* A count of 1 seen here is this caller's own reference: nobody else
     * can drop it concurrently, so the locked decrement can be skipped. */
    if (atomic_load_explicit(&mbuf->block_refs, memory_order_acquire) == 1 ||
        mv_count_sub(&mbuf->block_refs, alone || mbuf->local) == 1)
        free(mbuf);
}

/* Unregister a view; owner: it is the view that shares mbuf's block.  The
 * other user of the block is then that very view, which its caller holds a
 * reference to, so the block count needs no lock either. */
static void managed_release(managed_buffer *mbuf, bool owner)
{
    /* A count of 1 is the caller's own view: a new view can only be
     * registered through a live one, so nobody can change it meanwhile
     * (saves the locked decrement on the common last release). */
    if (atomic_load_explicit(&mbuf->views, memory_order_acquire) == 1 ||
        mv_count_sub(&mbuf->views, mbuf->local) == 1) {
        mv_buffer_release(&mbuf->master);
        holder_decref(mbuf->format);
        block_drop(mbuf, owner);
    }
}

/* ---- views ------------------------------------------------------------- */

static int released_error(mv_error *err)
{
    return mv_error_set(err, MV_EVALUE, MV_MSG_RELEASED);
}

static bool is_released(const mv_view *v)
{
    return v->mbuf == NULL;
}

/* Check view for NULL / released; 0 or the error code. */
static int check_view(const mv_view *v, mv_error *err)
{
    if (!v)
        return mv_error_set(err, MV_EVALUE, "memoryview: view must not be NULL");
    if (is_released(v))
        return released_error(err);
    return 0;
}

/* Set up the view in mem (room for ndim dimensions), not yet registered. */
static mv_view *view_init(void *mem, int ndim, bool suboffsets)
{
    mv_view *v = mem;
    mv_object_init(&v->base, &view_type);
    v->mbuf = NULL;
    v->format = NULL;
    v->block = NULL;
    v->flags = 0;
    v->placed = false;
    v->view = (mv_buffer){
        .ndim = ndim,
        .shape = ndim > 0 ? v->arrays : NULL,
        .strides = ndim > 0 ? v->arrays + ndim : NULL,
        .suboffsets = ndim > 0 && suboffsets ? v->arrays + 2 * ndim : NULL,
    };
    return v;
}

/* Where a new view's memory comes from: the heap (fn NULL) or the
 * caller's place function.  Every constructor asks for it last, once the
 * new layout is known, so that nothing can fail after a place call. */
typedef struct placement {
    mv_view_place_fn fn;
    void *ctx;
} placement;

static const placement on_heap = {NULL, NULL};

/* A view with room for ndim dimensions, not yet registered. */
static mv_view *view_alloc(const placement *at, int ndim, bool suboffsets, mv_error *err)
{
    size_t size = sizeof(mv_view) + (size_t)ndim * 3 * sizeof(ptrdiff_t);
    void *mem = at->fn ? at->fn(at->ctx, size) : malloc(size);
    if (!mem) {
        mv_error_set(err, MV_ENOMEM, "out of memory");
        return NULL;
    }
    if ((uintptr_t)mem % _Alignof(mv_view) != 0) {
        mv_error_set(err, MV_EVALUE, "memoryview: place gave memory not aligned to %zu bytes",
                     (size_t)_Alignof(mv_view));
        return NULL;
    }
    mv_view *v = view_init(mem, ndim, suboffsets);
    v->placed = at->fn != NULL;
    return v;
}

/* A new view's references: a registration with mbuf and one to format. */
static void view_hold(managed_buffer *mbuf, format_holder *format)
{
    /* No views means a fresh managed buffer (a released one is freed),
     * which nobody else can see yet: no lock needed. */
    mv_count_add(&mbuf->views,
                 mbuf->local || atomic_load_explicit(&mbuf->views, memory_order_relaxed) == 0);
    holder_incref(format);
}

/* Bind v to mbuf and format, whose references view_hold took. */
static void view_bind(mv_view *v, managed_buffer *mbuf, format_holder *format)
{
    if (mbuf->local)
        v->base.flags |= MV_OBJECT_LOCAL;
    v->mbuf = mbuf;
    v->format = format;
    v->view.obj = mbuf->master.obj;
    v->view.format = format->text;
    v->view.internal = NULL;
}

/* Register v with mbuf and format (takes new references to both). */
static void view_attach(mv_view *v, managed_buffer *mbuf, format_holder *format)
{
    view_hold(mbuf, format);
    view_bind(v, mbuf, format);
}

/* The memory of a view derived from src, registered with src's managed
 * buffer and holding format.  The references are taken before the memory
 * is placed: place runs the caller's code, which may release src (the
 * Python type's allocation can collect garbage, whose finalizers can call
 * release()), and the new view's registration keeps the managed buffer,
 * and so the memory, alive for it. */
static mv_view *derive_alloc(const mv_view *src, format_holder *format, const placement *at,
                             int ndim, bool suboffsets, mv_error *err)
{
    managed_buffer *mbuf = src->mbuf;
    view_hold(mbuf, format);
    mv_view *v = view_alloc(at, ndim, suboffsets, err);
    if (!v) {
        holder_decref(format);
        managed_release(mbuf, false);
        return NULL;
    }
    view_bind(v, mbuf, format);
    return v;
}

static void view_init_flags(mv_view *v)
{
    v->flags = mv_layout_flags(&v->view);
}

/* A new registered view of src's managed buffer with src's layout. */
static mv_view *view_copy(const mv_view *src, int readonly, const placement *at, mv_error *err)
{
    int ndim = src->view.ndim;
    mv_view *v = derive_alloc(src, src->format, at, ndim, src->view.suboffsets != NULL, err);
    if (!v)
        return NULL;
    v->view.buf = src->view.buf;
    v->view.len = src->view.len;
    v->view.itemsize = src->view.itemsize;
    v->view.readonly = readonly;
    if (ndim > 0) {
        memcpy(v->view.shape, src->view.shape, (size_t)ndim * sizeof(ptrdiff_t));
        memcpy(v->view.strides, src->view.strides, (size_t)ndim * sizeof(ptrdiff_t));
        if (src->view.suboffsets)
            memcpy(v->view.suboffsets, src->view.suboffsets, (size_t)ndim * sizeof(ptrdiff_t));
    }
    v->flags = src->flags;
    return v;
}

/* A new view of mbuf's master (init_shape_strides / init_suboffsets). */
static mv_view *view_from_master(managed_buffer *mbuf, const placement *at, mv_error *err)
{
    const mv_buffer *m = &mbuf->master;
    int ndim = m->ndim;
    if (ndim > 1 && !m->shape) {
        mv_error_set(err, MV_EVALUE,
                     "memoryview: exporter gave no shape for a %d-dimensional buffer", ndim);
        return NULL;
    }
    bool subs = m->suboffsets != NULL;
    mv_view *v;
    if (!at->fn && ndim <= BLOCK_NDIM && atomic_load_explicit(&mbuf->block_refs, memory_order_relaxed) == 1 &&
        atomic_load_explicit(&mbuf->views, memory_order_relaxed) == 0) {
        v = view_init((char *)mbuf + BLOCK_VIEW_OFFSET, ndim, subs);
        v->block = mbuf;
        atomic_store_explicit(&mbuf->block_refs, 2, memory_order_relaxed);
    } else if (!(v = view_alloc(at, ndim, subs, err))) {
        return NULL;
    }
    v->view.buf = m->buf;
    v->view.len = m->len;
    v->view.itemsize = m->itemsize;
    v->view.readonly = m->readonly ? 1 : 0;
    if (ndim == 1) {
        if (m->shape)
            v->view.shape[0] = m->shape[0];
        else
            v->view.shape[0] = m->itemsize > 0 ? m->len / m->itemsize : 0;
        v->view.strides[0] = m->strides ? m->strides[0] : m->itemsize;
    } else if (ndim > 1) {
        memcpy(v->view.shape, m->shape, (size_t)ndim * sizeof(ptrdiff_t));
        if (m->strides)
            memcpy(v->view.strides, m->strides, (size_t)ndim * sizeof(ptrdiff_t));
        else
            mv_fill_contiguous_strides(ndim, v->view.shape, v->view.strides, m->itemsize, 'C');
    }
    if (m->suboffsets && ndim > 0)
        memcpy(v->view.suboffsets, m->suboffsets, (size_t)ndim * sizeof(ptrdiff_t));
    view_attach(v, mbuf, mbuf->format);
    view_init_flags(v);
    return v;
}

/* An empty managed buffer: no views, a zeroed master to fill. */
static managed_buffer *managed_new(mv_error *err)
{
    managed_buffer *mbuf =
        malloc(BLOCK_VIEW_OFFSET + sizeof(mv_view) + 3 * BLOCK_NDIM * sizeof(ptrdiff_t));
    if (!mbuf) {
        mv_error_set(err, MV_ENOMEM, "out of memory");
        return NULL;
    }
    atomic_init(&mbuf->views, 0);
    mbuf->local = false;
    atomic_init(&mbuf->block_refs, 1);
    memset(&mbuf->master, 0, sizeof mbuf->master);
    mbuf->format = NULL;
    return mbuf;
}

/* The first view of a fresh managed buffer whose master is filled; on
 * failure the master is released and everything freed. */
static mv_view *managed_first_view(managed_buffer *mbuf, const placement *at, mv_error *err)
{
    mv_view *v = NULL;
    const char *text = mbuf->master.format ? mbuf->master.format : "B";
    mbuf->format = holder_get(text, err);
    if (mbuf->format && mbuf->format->status == 0 &&
        mbuf->format->fmt.itemsize != mbuf->master.itemsize)
        mv_error_set(err, MV_EVALUE, "buffer itemsize %td does not match format '%s' (size %td)",
                     mbuf->master.itemsize, text, mbuf->format->fmt.itemsize);
    else if (mbuf->format)
        v = view_from_master(mbuf, at, err);
    if (!v) {
        mv_buffer_release(&mbuf->master);
        holder_decref(mbuf->format);
        free(mbuf);
    }
    return v;
}

mv_view *mv_view_new(mv_object *exporter, mv_error *err)
{
    return mv_view_new_at(NULL, NULL, exporter, err);
}

mv_view *mv_view_new_at(mv_view_place_fn place, void *ctx, mv_object *exporter, mv_error *err)
{
    const placement at = {place, ctx};
    if (!exporter) {
        mv_error_set(err, MV_ETYPE, "memoryview: a bytes-like object is required, not 'NULL'");
        return NULL;
    }
    mv_view *src = mv_view_from_object(exporter);
    if (src) {
        if (check_view(src, err) < 0)
            return NULL;
        return view_copy(src, src->view.readonly, &at, err);
    }
    managed_buffer *mbuf = managed_new(err);
    if (!mbuf)
        return NULL;
    if (mv_object_getbuffer(exporter, &mbuf->master, MV_BUF_FULL_RO, err) < 0) {
        free(mbuf);
        return NULL;
    }
    mbuf->local = mv_is_local(exporter);
    int bad = 0;
    if (exporter->type->flags & MV_TYPE_FILL_INFO) {
        /* A mv_buffer_fill_info descriptor: consistent by construction. */
    } else if (mbuf->master.ndim > MV_MAX_NDIM) {
        bad = mv_error_set(err, MV_EVALUE, MV_MSG_NDIM);
    } else {
        /* The format is checked against itemsize only when it parses: a
         * view of an unparseable format still works as bytes. */
        mv_buffer layout = mbuf->master;
        layout.format = NULL;
        bad = mv_buffer_validate(&layout, err);
    }
    if (bad < 0) {
        mv_buffer_release(&mbuf->master);
        free(mbuf);
        return NULL;
    }
    return managed_first_view(mbuf, &at, err);
}

mv_view *mv_view_from_memory(void *mem, ptrdiff_t size, int flags, mv_error *err)
{
    if (flags != MV_BUF_READ && flags != MV_BUF_WRITE) {
        mv_error_set(err, MV_EVALUE, "memoryview: flags must be MV_BUF_READ or MV_BUF_WRITE");
        return NULL;
    }
    if (size < 0) {
        mv_error_set(err, MV_EVALUE, "memoryview: size must not be negative");
        return NULL;
    }
    if (!mem && size > 0) {
        mv_error_set(err, MV_EVALUE, "memoryview: mem must not be NULL when size > 0");
        return NULL;
    }
    managed_buffer *mbuf = managed_new(err);
    if (!mbuf)
        return NULL;
    /* PyBuffer_FillInfo(MV_BUF_FULL_RO) with no exporter; the arrays point
     * into the master itself, which never moves. */
    mv_buffer *m = &mbuf->master;
    m->buf = mem;
    m->obj = NULL;
    m->len = size;
    m->itemsize = 1;
    m->readonly = flags == MV_BUF_READ;
    m->ndim = 1;
    m->format = "B";
    m->shape = &m->len;
    m->strides = &m->itemsize;
    return managed_first_view(mbuf, &on_heap, err);
}

mv_object *mv_view_object(mv_view *view)
{
    return view ? &view->base : NULL;
}

mv_view *mv_view_from_object(mv_object *obj)
{
    return obj && obj->type == &view_type ? (mv_view *)obj : NULL;
}

const mv_buffer *mv_view_buffer(const mv_view *view, mv_error *err)
{
    if (check_view(view, err) < 0)
        return NULL;
    return &view->view;
}

mv_object *mv_view_exporter(const mv_view *view)
{
    if (!view || is_released(view))
        return NULL;
    return view->view.obj;
}

const mv_format *mv_view_format(const mv_view *view, mv_error *err)
{
    const mv_format *fmt;
    if (check_view(view, err) < 0 || holder_format(view->format, &fmt, err) < 0)
        return NULL;
    return fmt;
}

int mv_view_is_contiguous(const mv_view *view, char order, mv_error *err)
{
    int rc = check_view(view, err);
    if (rc < 0)
        return rc;
    rc = mv_contig_order(view->flags, order);
    return rc < 0 ? mv_error_set(err, MV_EVALUE, "order must be 'C', 'F' or 'A'") : rc;
}

int mv_view_is_released(const mv_view *view)
{
    return !view || is_released(view);
}

int mv_view_release(mv_view *view, mv_error *err)
{
    if (!view)
        return mv_error_set(err, MV_EVALUE, "memoryview: view must not be NULL");
    if (is_released(view))
        return 0;
    size_t exports = mv_object_exports(&view->base);
    if (exports > 0)
        return mv_error_set(err, MV_EBUFFER, "memoryview has %zd exported buffer%s",
                            (ptrdiff_t)exports, exports == 1 ? "" : "s");
    managed_buffer *mbuf = view->mbuf;
    view->mbuf = NULL;
    view->view.obj = NULL;
    view->view.format = NULL;
    managed_release(mbuf, view->block == mbuf);
    return 0;
}

mv_view *mv_view_toreadonly(mv_view *view, mv_error *err)
{
    return mv_view_toreadonly_at(NULL, NULL, view, err);
}

mv_view *mv_view_toreadonly_at(mv_view_place_fn place, void *ctx, mv_view *view, mv_error *err)
{
    if (check_view(view, err) < 0)
        return NULL;
    const placement at = {place, ctx};
    return view_copy(view, 1, &at, err);
}

static int view_getbuffer(mv_object *self, mv_buffer *out, int flags, mv_error *err)
{
    mv_view *v = (mv_view *)self;
    if (is_released(v))
        return released_error(err);
    return mv_buffer_answer(out, &v->view, self, flags, err);
}

static void view_destroy(mv_object *self)
{
    mv_view *v = (mv_view *)self;
    /* Every exported buffer holds a reference, so none is left here. */
    if (!is_released(v)) {
        managed_buffer *m = v->mbuf;
        if (v->block == m && atomic_load_explicit(&m->views, memory_order_acquire) == 1) {
            /* The only view, destroyed with its block: nothing else can
             * reach the block, so no counts need updating. */
            mv_buffer_release(&m->master);
            holder_decref(m->format);
            holder_decref(v->format);
            free(m);
            return;
        }
        managed_release(m, v->block == m);
    }
    holder_decref(v->format);
    if (v->block)
        block_drop(v->block, false);
    else if (!v->placed)
        free(v);
}

/* ---- items ------------------------------------------------------------- */

/* Everything but a native item at one in-range index of a live 1-D view:
 * out of line, so that the common case runs without this one's frame. */
static __attribute__((noinline)) int get_item_general(const mv_view *view, const ptrdiff_t *index,
                                                      int nindex, mv_value *values,
                                                      ptrdiff_t nvalues, mv_error *err)
{
    int rc = check_view(view, err);
    const mv_format *fmt;
    char *p;
    if (rc < 0 || (rc = holder_format(view->format, &fmt, err)) < 0 ||
        (rc = mv_item_pointer(&view->view, index, nindex, &p, err)) < 0)
        return rc;
    if (!values && nvalues > 0)
        return mv_error_set(err, MV_EVALUE, "memoryview: values must not be NULL");
    return mv_format_unpack(fmt, p, values, nvalues, err);
}

int mv_view_get_item(const mv_view *view, const ptrdiff_t *index, int nindex, mv_value *values,
                     ptrdiff_t nvalues, mv_error *err)
{
    if (view && !is_released(view) && nindex == 1 && index && values && nvalues >= 1) {
        const mv_buffer *b = &view->view;
        if (b->ndim == 1 && !b->suboffsets && view->format->status == 0) {
            ptrdiff_t i = index[0] < 0 ? index[0] + b->shape[0] : index[0];
            if (i >= 0 && i < b->shape[0] &&
                mv_load_native(view->format->fmt.native, mv_advance(b->buf, i * b->strides[0]),
                               values))
                return 0;
        }
    }
    return get_item_general(view, index, nindex, values, nvalues, err);
}

int mv_view_set_item(mv_view *view, const ptrdiff_t *index, int nindex, const mv_value *values,
                     ptrdiff_t nvalues, mv_error *err)
{
    int rc = check_view(view, err);
    if (rc < 0)
        return rc;
    if (view->view.readonly)
        return mv_error_set(err, MV_ETYPE, MV_MSG_READONLY);
    const mv_format *fmt;
    char *p;
    if ((rc = holder_format(view->format, &fmt, err)) < 0 ||
        (rc = mv_item_pointer(&view->view, index, nindex, &p, err)) < 0)
        return rc;
    if (!values && nvalues > 0)
        return mv_error_set(err, MV_EVALUE, "memoryview: values must not be NULL");
    return mv_format_pack(fmt, view->format->text, p, values, nvalues, err);
}

/* A new registered view of src's managed buffer with the layout l (whose
 * format is format's text). */
static mv_view *view_from_layout(const mv_view *src, const mv_layout *l, format_holder *format,
                                 const placement *at, mv_error *err)
{
    mv_view *v = derive_alloc(src, format, at, l->ndim, l->indirect, err);
    if (!v)
        return NULL;
    v->view.buf = l->buf;
    v->view.len = l->len;
    v->view.itemsize = l->itemsize;
    v->view.readonly = l->readonly;
    /* A loop, not memcpy: most layouts have one or two dimensions, for
     * which the library calls cost more than the copies. */
    for (int d = 0; d < l->ndim; d++) {
        v->view.shape[d] = l->shape[d];
        v->view.strides[d] = l->strides[d];
        if (l->indirect)
            v->view.suboffsets[d] = l->suboffsets[d];
    }
    v->flags = l->contig;
    return v;
}

/* The addresses [*lo, *hi) a validated direct layout touches; false when
 * it has no items. */
static bool layout_range(const mv_buffer *b, uintptr_t *lo, uintptr_t *hi)
{
    uintptr_t first = (uintptr_t)b->buf, last = first;
    for (int d = 0; d < b->ndim; d++)
        if (b->shape[d] == 0)
            return false;
    for (int d = 0; d < b->ndim; d++) {
        /* Validated and not empty: (shape - 1) * stride does not overflow
         * (an empty layout's other extents and strides may be anything). */
        ptrdiff_t step = (b->shape[d] - 1) * b->strides[d];
        if (step < 0)
            first -= -(uintptr_t)step;
        else
            last += (uintptr_t)step;
    }
    *lo = first;
    *hi = last + (uintptr_t)b->itemsize;
    return true;
}

mv_view *mv_view_from_layout(mv_view *base, const mv_layout *l, mv_error *err)
{
    if (check_view(base, err) < 0)
        return NULL;
    if (!l) {
        mv_error_set(err, MV_EVALUE, MV_MSG_LAYOUT_NULL);
        return NULL;
    }
    mv_buffer s = mv_layout_as_buffer(l);
    s.format = NULL; /* checked below, against the holder */
    if (mv_buffer_validate(&s, err) < 0)
        return NULL;
    if (!l->format) {
        mv_error_set(err, MV_EVALUE, "layout: format must not be NULL");
        return NULL;
    }
    if (!l->readonly && base->view.readonly) {
        mv_error_set(err, MV_EBUFFER, "layout: a writable layout of a read-only view");
        return NULL;
    }
    /* Where an indirect layout's items lie depends on the pointers it
     * follows: only a direct layout's reach is known. */
    if (mv_has_items(l->ndim, l->shape)) {
        uintptr_t lo, hi, blo, bhi;
        if (l->indirect || base->view.suboffsets) {
            mv_error_set(err, MV_EVALUE, "layout: an indirect layout or view cannot be checked");
            return NULL;
        }
        if (!layout_range(&s, &lo, &hi) || !layout_range(&base->view, &blo, &bhi) || lo < blo ||
            hi > bhi) {
            mv_error_set(err, MV_EVALUE, "layout: the layout reaches outside the view's memory");
            return NULL;
        }
    }
    format_holder *h = holder_get(l->format, err);
    if (!h)
        return NULL;
    mv_view *v = NULL;
    mv_layout t;
    if (h->status == 0 && h->fmt.itemsize != l->itemsize)
        mv_error_set(err, MV_EVALUE, "layout: itemsize %td does not match format '%s' (size %td)",
                     l->itemsize, l->format, h->fmt.itemsize);
    else if (mv_layout_init(&t, &s, err) == 0)
        v = view_from_layout(base, &t, h, &on_heap, err);
    holder_decref(h);
    return v;
}

/* view[slice] on the first dimension of a direct view (the common m[a:b]):
 * mv_select's result without its generality. */
static mv_view *subscript_slice0(mv_view *view, const mv_key *key, const placement *at,
                                 mv_error *err)
{
    const mv_buffer *b = &view->view;
    char *buf = NULL;
    ptrdiff_t n = 0, stride = 0, len = 0;
    if (mv_select_first(b, key, &buf, &n, &stride, &len, err) < 0)
        return NULL;
    int ndim = b->ndim;
    mv_view *v = derive_alloc(view, view->format, at, ndim, false, err);
    if (!v)
        return NULL;
    v->view.buf = buf;
    v->view.len = len;
    v->view.itemsize = b->itemsize;
    v->view.readonly = b->readonly;
    v->view.shape[0] = n;
    v->view.strides[0] = stride;
    for (int d = 1; d < ndim; d++) {
        v->view.shape[d] = b->shape[d];
        v->view.strides[d] = b->strides[d];
    }
    view_init_flags(v);
    return v;
}

mv_view *mv_view_subscript(mv_view *view, const mv_key *keys, int nkeys, mv_error *err)
{
    return mv_view_subscript_at(NULL, NULL, view, keys, nkeys, err);
}

mv_view *mv_view_subscript_at(mv_view_place_fn place, void *ctx, mv_view *view,
                              const mv_key *keys, int nkeys, mv_error *err)
{
    if (check_view(view, err) < 0)
        return NULL;
    const placement at = {place, ctx};
    if (nkeys == 1 && keys && keys[0].kind == MV_KEY_SLICE && view->view.ndim > 0 &&
        !view->view.suboffsets)
        return subscript_slice0(view, keys, &at, err);
    mv_layout l;
    if (mv_select(&view->view, keys, nkeys, &l, err) < 0)
        return NULL;
    return view_from_layout(view, &l, view->format, &at, err);
}

mv_view *mv_view_cast(mv_view *view, const char *format, const ptrdiff_t *shape, int ndim,
                      int flags, mv_error *err)
{
    return mv_view_cast_at(NULL, NULL, view, format, shape, ndim, flags, err);
}

mv_view *mv_view_cast_at(mv_view_place_fn place, void *ctx, mv_view *view, const char *format,
                         const ptrdiff_t *shape, int ndim, int flags, mv_error *err)
{
    const placement at = {place, ctx};
    mv_layout l;
    if (check_view(view, err) < 0 ||
        mv_cast(&view->view, view->flags, format, shape, ndim, flags, &l, err) < 0)
        return NULL;
    format_holder *h = holder_get(format, err);
    if (!h)
        return NULL;
    mv_view *v = view_from_layout(view, &l, h, &at, err);
    holder_decref(h);
    return v;
}

int mv_view_layout(mv_layout *l, const mv_view *view, mv_error *err)
{
    if (!l || !view)
        return mv_error_set(err, MV_EVALUE, MV_MSG_LAYOUT_NULL);
    if (check_view(view, err) < 0)
        return MV_EVALUE;
    /* Checked when the view was made, flags included. */
    mv_layout_load(l, &view->view, view->flags);
    return 0;
}
