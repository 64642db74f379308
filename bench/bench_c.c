/* bench_c: each operation through CPython's C API (libpython embedded) and
 * through libmemview, in one process, on the same memory, interleaved rep
 * by rep.  Prints "key<TAB>seconds" (the median over reps of the time for
 * one operation); bench/report.py turns the keys into the table.
 *
 *   bench_c             timings
 *   bench_c --quick     fewer reps (a smoke run)
 *   bench_c --callgrind small sizes, one run of each per-item kernel between
 *                       CALLGRIND_ZERO_STATS and CALLGRIND_DUMP_STATS_AT, for
 *                       `valgrind --tool=callgrind` (instructions per item).
 *
 * Every call is checked: timing a call that failed would be meaningless, so
 * a failure prints the error and exits 1. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "memview.h"

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define HAVE_CALLGRIND 1
#endif
#endif
#ifndef HAVE_CALLGRIND
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_DUMP_STATS_AT(s) ((void)(s))
#endif

#define MIB ((ptrdiff_t)1 << 20)

static void die_py(const char *what)
{
    fprintf(stderr, "bench_c: %s failed:\n", what);
    if (PyErr_Occurred())
        PyErr_Print();
    exit(1);
}

static void die_mv(const char *what, const mv_error *err)
{
    fprintf(stderr, "bench_c: %s failed: %s\n", what, err ? err->message : "wrong result");
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "bench_c: out of memory\n");
        exit(1);
    }
    return p;
}

/* ---- a Python exporter of any layout ------------------------------------
 * CPython's memoryview cannot slice in 2-D nor cast to '>i', so CPython gets
 * those views from this exporter: it hands out exactly the layout it holds,
 * over memory the benchmark owns. */

/* PyObject_HEAD carries its own semicolon, which clang-format cannot know. */
/* clang-format off */
typedef struct {
    PyObject_HEAD
    void *buf;
    Py_ssize_t len, itemsize;
    int ndim;
    char format[8];
    Py_ssize_t shape[2], strides[2];
} raw_object;
/* clang-format on */

static int raw_getbuffer(PyObject *self, Py_buffer *view, int flags)
{
    raw_object *r = (raw_object *)self;
    if ((flags & PyBUF_STRIDES) != PyBUF_STRIDES) {
        PyErr_SetString(PyExc_BufferError, "bench raw exporter: strides required");
        return -1;
    }
    Py_INCREF(self);
    view->obj = self;
    view->buf = r->buf;
    view->len = r->len;
    view->readonly = 0;
    view->itemsize = r->itemsize;
    view->format = (flags & PyBUF_FORMAT) ? r->format : NULL;
    view->ndim = r->ndim;
    view->shape = r->shape;
    view->strides = r->strides;
    view->suboffsets = NULL;
    view->internal = NULL;
    return 0;
}

static PyBufferProcs raw_as_buffer = {.bf_getbuffer = raw_getbuffer};

static PyTypeObject raw_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "bench_c.raw",
    .tp_basicsize = sizeof(raw_object),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_as_buffer = &raw_as_buffer,
};

/* A CPython memoryview of `ndim` dimensions over buf. */
static PyObject *py_view(void *buf, const char *format, Py_ssize_t itemsize, int ndim,
                         const Py_ssize_t *shape, const Py_ssize_t *strides)
{
    raw_object *r = PyObject_New(raw_object, &raw_type);
    if (!r)
        die_py("PyObject_New");
    r->buf = buf;
    r->itemsize = itemsize;
    r->ndim = ndim;
    snprintf(r->format, sizeof r->format, "%s", format);
    r->len = itemsize;
    for (int i = 0; i < ndim; i++) {
        r->shape[i] = shape[i];
        r->strides[i] = strides[i];
        r->len *= shape[i];
    }
    PyObject *m = PyMemoryView_FromObject((PyObject *)r);
    Py_DECREF(r);
    if (!m)
        die_py("PyMemoryView_FromObject");
    return m;
}

/* The same layout as a libmemview view: a view of the memory, cast to the
 * format (and shape), then the keys applied. */
static mv_view *view_with_layout(void *buf, ptrdiff_t nbytes, const char *format, int ndim,
                               const ptrdiff_t *shape, const mv_key *keys, int nkeys)
{
    mv_error err = {0};
    mv_view *base = mv_view_from_memory(buf, nbytes, MV_BUF_WRITE, &err);
    if (!base)
        die_mv("mv_view_from_memory", &err);
    mv_view *cast = mv_view_cast(base, format, shape, ndim, 0, &err);
    if (!cast)
        die_mv("mv_view_cast", &err);
    mv_decref(base);
    if (nkeys == 0)
        return cast;
    mv_view *sub = mv_view_subscript(cast, keys, nkeys, &err);
    if (!sub)
        die_mv("mv_view_subscript", &err);
    mv_decref(cast);
    return sub;
}

static mv_key slice_key(ptrdiff_t start, ptrdiff_t stop, ptrdiff_t step)
{
    mv_key k = {.kind = MV_KEY_SLICE, .start = start, .stop = stop, .step = step};
    k.has_start = start != PTRDIFF_MIN;
    k.has_stop = stop != PTRDIFF_MIN;
    k.has_step = step != 0;
    return k;
}
#define NONE PTRDIFF_MIN

/* ---- timing ------------------------------------------------------------- */

typedef struct contender {
    const char *key;
    void (*fn)(void *ctx);
    void *ctx;
    void (*loop)(void *ctx, long n); /* fn n times, or NULL: called through fn */
} contender;

/* A per-call contender's loop with the call inlined, so that the time per
 * call is the operation's and not an indirect call's (the floor case
 * measures what remains).  The barrier makes every iteration reload what it
 * reads from memory: nothing is hoisted out of the loop. */
#define LOOPED(f)                                                                                  \
    static void f##_loop(void *ctx, long n)                                                        \
    {                                                                                              \
        for (long k = 0; k < n; k++) {                                                             \
            f(ctx);                                                                                \
            __asm__ __volatile__("" ::: "memory");                                                 \
        }                                                                                          \
    }
#define PER_CALL(key, f, ctx)                                                                      \
    {                                                                                              \
        key, f, ctx, f##_loop                                                                      \
    }

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define MAX_REPS 32
static int g_reps_scale = 1; /* divisor for --quick */

/* Run each contender `inner` times per rep, the contenders in turn within
 * every rep so that drift on a shared machine hits them alike; print the
 * median seconds per call.
 *
 * Every timed call or batch comes after WARM_S of the same contender's
 * calls, untimed: on this VM the first ~3 ms of memory traffic after a
 * compute-bound stretch (CPython's 26-130 ms loops) run at half speed, so
 * without it whichever kernel follows CPython is timed in that ramp and the
 * ones after it are not.  Timed in its steady state, as timeit's
 * back-to-back calls time the Python side. */
#define WARM_S 5e-3
static void run_case(const char *name, contender *c, int n, int reps, long inner)
{
    double t[8][MAX_REPS];
    reps = reps / g_reps_scale < 1 ? 1 : reps / g_reps_scale;
    for (int i = 0; i < n; i++)
        c[i].fn(c[i].ctx); /* warm: page faults, caches, lazy init */
    for (int r = 0; r < reps; r++) {
        for (int i = 0; i < n; i++) {
            for (double w0 = now(); now() - w0 < WARM_S;)
                c[i].fn(c[i].ctx);
            double t0 = now();
            if (c[i].loop)
                c[i].loop(c[i].ctx, inner);
            else
                for (long k = 0; k < inner; k++)
                    c[i].fn(c[i].ctx);
            t[i][r] = (now() - t0) / (double)inner;
        }
    }
    for (int i = 0; i < n; i++) {
        qsort(t[i], (size_t)reps, sizeof(double), cmp_double);
        printf("c.%s.%s\t%.9g\n", name, c[i].key, t[i][reps / 2]);
    }
    fflush(stdout);
}

/* --callgrind: the per-item cases below count instead of timing. */
static int g_callgrind;

/* One run of fn counted alone: zero the counters, run, dump under
 * "case.key items=N" (the report divides by the items). */
static void counted(const char *name, const char *key, ptrdiff_t items, void (*fn)(void *),
                    void *ctx)
{
    char desc[128];
    fn(ctx); /* warm: lazy initialisation (ISA choice, interned names) */
    snprintf(desc, sizeof desc, "%s.%s items=%td", name, key, items);
    CALLGRIND_ZERO_STATS;
    fn(ctx);
    CALLGRIND_DUMP_STATS_AT(desc);
}

/* A case whose work is `items` items: timed (run_case), or under
 * --callgrind each CPython and memview contender counted once (the
 * references, memcpy and reading the span, are not counted). */
static void run_items(const char *name, ptrdiff_t items, contender *c, int n, int reps,
                      long inner)
{
    if (!g_callgrind) {
        run_case(name, c, n, reps, inner);
        return;
    }
    for (int i = 0; i < n; i++)
        if (strncmp(c[i].key, "cpython", 7) == 0 || strncmp(c[i].key, "memview", 7) == 0)
            counted(name, c[i].key, items, c[i].fn, c[i].ctx);
}

/* ---- the physical ceiling ------------------------------------------------ */

typedef struct span {
    const void *src;
    void *dst;
    size_t len;
} span;

static volatile uint64_t g_sink;

/* Sum of the 64-bit words of the span: every cache line is read once, which
 * any copy out of a strided view of the span with stride <= 64 must do too.
 * Four accumulators so that the adds are not the bottleneck. */
static void read_span(void *ctx)
{
    const span *s = ctx;
    const unsigned char *p = s->src;
    size_t n = s->len / 32;
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t w[4];
        memcpy(w, p + 32 * i, sizeof w);
        a += w[0];
        b += w[1];
        c += w[2];
        d += w[3];
    }
    g_sink = a + b + c + d;
}

/* The same with 256-bit loads where the CPU has AVX2: a copy kernel that
 * uses wide loads would otherwise beat its own "ceiling". */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
__attribute__((target("avx2"))) static void read_span_avx2(void *ctx)
{
    const span *s = ctx;
    const unsigned char *p = s->src;
    size_t n = s->len / 128;
    __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
    for (size_t i = 0; i < n; i++, p += 128) {
        a = _mm256_add_epi64(a, _mm256_loadu_si256((const __m256i *)(const void *)p));
        b = _mm256_add_epi64(b, _mm256_loadu_si256((const __m256i *)(const void *)(p + 32)));
        c = _mm256_add_epi64(c, _mm256_loadu_si256((const __m256i *)(const void *)(p + 64)));
        d = _mm256_add_epi64(d, _mm256_loadu_si256((const __m256i *)(const void *)(p + 96)));
    }
    uint64_t w[4];
    _mm256_storeu_si256((__m256i *)(void *)w,
                        _mm256_add_epi64(_mm256_add_epi64(a, b), _mm256_add_epi64(c, d)));
    g_sink = w[0] + w[1] + w[2] + w[3];
}
#endif

static void read_span_best(void *ctx)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx2")) {
        read_span_avx2(ctx);
        return;
    }
#endif
    read_span(ctx);
}

/* Both operands of a comparison read once, side by side as a comparison
 * reads them (two streams at once): the ceiling of ==.  src and dst are the
 * two spans (dst only read). */
static void read_pair_portable(const span *s)
{
    const unsigned char *p = s->src, *q = s->dst;
    uint64_t a = 0, b = 0;
    for (size_t i = 0; i + 16 <= s->len; i += 16) {
        uint64_t x[2], y[2];
        memcpy(x, p + i, sizeof x);
        memcpy(y, q + i, sizeof y);
        a += x[0] + y[0];
        b += x[1] + y[1];
    }
    g_sink = a + b;
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2"))) static void read_pair_avx2(const span *s)
{
    const unsigned char *p = s->src, *q = s->dst;
    __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
    for (size_t i = 0; i + 64 <= s->len; i += 64) {
        a = _mm256_add_epi64(a, _mm256_loadu_si256((const __m256i *)(const void *)(p + i)));
        b = _mm256_add_epi64(b, _mm256_loadu_si256((const __m256i *)(const void *)(p + i + 32)));
        c = _mm256_add_epi64(c, _mm256_loadu_si256((const __m256i *)(const void *)(q + i)));
        d = _mm256_add_epi64(d, _mm256_loadu_si256((const __m256i *)(const void *)(q + i + 32)));
    }
    uint64_t w[4];
    _mm256_storeu_si256((__m256i *)(void *)w,
                        _mm256_add_epi64(_mm256_add_epi64(a, b), _mm256_add_epi64(c, d)));
    g_sink = w[0] + w[1] + w[2] + w[3];
}
#endif

static void read_pair(void *ctx)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx2")) {
        read_pair_avx2(ctx);
        return;
    }
#endif
    read_pair_portable(ctx);
}

/* The harness's own cost per call (the loop and the indirect call), with
 * nothing inside: the floor under every per-call time. */
static void empty_call(void *ctx)
{
    g_sink = (uint64_t)(uintptr_t)ctx;
}
LOOPED(empty_call)

static void copy_span(void *ctx)
{
    const span *s = ctx;
    memcpy(s->dst, s->src, s->len);
    g_sink = ((const unsigned char *)s->dst)[s->len - 1];
}

/* ---- operations ----------------------------------------------------------- */

typedef struct op {
    PyObject *py, *py2, *arg; /* CPython view(s); a prebuilt argument */
    Py_buffer pybuf;          /* a CPython view's buffer for PyBuffer_ToContiguous */
    mv_object *exporter;
    mv_view *mv, *mv2;
    mv_key key;
    mv_layout layout; /* the layout of mv (the layout cases) */
    void *dst;
    ptrdiff_t dstlen;
    int expect; /* expected equality result */
} op;

static PyObject *g_str_hex, *g_str_tobytes, *g_str_cast, *g_str_tolist;

static void py_create(void *ctx)
{
    PyObject *m = PyMemoryView_FromObject(((op *)ctx)->py);
    if (!m)
        die_py("PyMemoryView_FromObject");
    Py_DECREF(m);
}
LOOPED(py_create)

static void mv_create(void *ctx)
{
    mv_error err; /* only written on failure: no per-call memset */
    mv_view *v = mv_view_new(((op *)ctx)->exporter, &err);
    if (!v)
        die_mv("mv_view_new", &err);
    mv_decref(v);
}
LOOPED(mv_create)

static void py_create_ba(void *ctx)
{
    PyObject *m = PyMemoryView_FromObject(((op *)ctx)->py2);
    if (!m)
        die_py("PyMemoryView_FromObject");
    Py_DECREF(m);
}
LOOPED(py_create_ba)

static void py_slice(void *ctx)
{
    op *o = ctx;
    PyObject *m = PyObject_GetItem(o->py, o->arg);
    if (!m)
        die_py("PyObject_GetItem");
    Py_DECREF(m);
}
LOOPED(py_slice)

static void mv_slice(void *ctx)
{
    op *o = ctx;
    mv_error err; /* only written on failure: no per-call memset */
    mv_view *v = mv_view_subscript(o->mv, &o->key, 1, &err);
    if (!v)
        die_mv("mv_view_subscript", &err);
    mv_decref(v);
}
LOOPED(mv_slice)

static void py_item(void *ctx)
{
    PyObject *x = PySequence_GetItem(((op *)ctx)->py, 100);
    if (!x)
        die_py("PySequence_GetItem");
    Py_DECREF(x);
}
LOOPED(py_item)

static void mv_item(void *ctx)
{
    mv_error err; /* only written on failure: no per-call memset */
    ptrdiff_t i = 100;
    mv_value val;
    if (mv_view_get_item(((op *)ctx)->mv, &i, 1, &val, 1, &err) < 0)
        die_mv("mv_view_get_item", &err);
    g_sink = val.v.u;
}
LOOPED(mv_item)

/* The same steps through a layout (a view held by value): creation is
 * the exporter's buffer taken with the layout and given back, as a view
 * holds it for its lifetime. */
static void layout_create(void *ctx)
{
    mv_error err; /* only written on failure: no per-call memset */
    mv_buffer b;
    mv_layout s;
    if (mv_layout_acquire(&s, &b, ((op *)ctx)->exporter, MV_BUF_FULL_RO, &err) < 0)
        die_mv("mv_layout_acquire", &err);
    g_sink = (uint64_t)s.len;
    mv_buffer_release(&b);
}
LOOPED(layout_create)

static void layout_slice(void *ctx)
{
    op *o = ctx;
    mv_error err; /* only written on failure: no per-call memset */
    mv_layout s;
    if (mv_layout_select(&s, &o->layout, &o->key, 1, &err) < 0)
        die_mv("mv_layout_select", &err);
    g_sink = (uint64_t)s.len;
}
LOOPED(layout_slice)

/* The item read as C reads a known format: the inline address, a load. */
static void layout_item(void *ctx)
{
    const unsigned char *p = mv_layout_at1(&((op *)ctx)->layout, 100);
    if (!p)
        die_mv("mv_layout_at1", NULL);
    g_sink = *p;
}
LOOPED(layout_item)

/* The item read into an mv_value, whatever the format. */
static void layout_item_value(void *ctx)
{
    mv_error err; /* only written on failure: no per-call memset */
    ptrdiff_t i = 100;
    mv_value val;
    if (mv_layout_get_item(&((op *)ctx)->layout, &i, 1, &val, 1, &err) < 0)
        die_mv("mv_layout_get_item", &err);
    g_sink = val.v.u;
}
LOOPED(layout_item_value)

static void py_cast(void *ctx)
{
    op *o = ctx;
    PyObject *m = PyObject_CallMethodOneArg(o->py, g_str_cast, o->arg);
    if (!m)
        die_py("cast");
    Py_DECREF(m);
}
LOOPED(py_cast)

static void mv_cast(void *ctx)
{
    mv_error err; /* only written on failure: no per-call memset */
    mv_view *v = mv_view_cast(((op *)ctx)->mv, "d", NULL, -1, MV_CAST_STRICT, &err);
    if (!v)
        die_mv("mv_view_cast", &err);
    mv_decref(v);
}
LOOPED(mv_cast)

static void py_call0(op *o, PyObject *name)
{
    PyObject *r = PyObject_CallMethodNoArgs(o->py, name);
    if (!r)
        die_py(PyUnicode_AsUTF8(name));
    Py_DECREF(r);
}

static void py_hex(void *ctx)
{
    py_call0(ctx, g_str_hex);
}
static void py_tobytes(void *ctx)
{
    py_call0(ctx, g_str_tobytes);
}
static void py_tolist(void *ctx)
{
    py_call0(ctx, g_str_tolist);
}

static void py_tocontig(void *ctx)
{
    op *o = ctx;
    if (PyBuffer_ToContiguous(o->dst, &o->pybuf, o->pybuf.len, 'C') < 0)
        die_py("PyBuffer_ToContiguous");
}

static void mv_hex_into(void *ctx)
{
    op *o = ctx;
    mv_error err; /* only written on failure: no per-call memset */
    if (mv_view_hex_into(o->mv, o->dst, o->dstlen, 0, 0, &err) < 0)
        die_mv("mv_view_hex_into", &err);
}

static void mv_hex_alloc(void *ctx)
{
    mv_error err; /* only written on failure: no per-call memset */
    char *s = mv_view_hex(((op *)ctx)->mv, 0, 0, NULL, &err);
    if (!s)
        die_mv("mv_view_hex", &err);
    free(s);
}

static void mv_tobytes_into(void *ctx)
{
    op *o = ctx;
    mv_error err; /* only written on failure: no per-call memset */
    if (mv_view_tobytes_into(o->mv, o->dst, o->dstlen, 'C', &err) < 0)
        die_mv("mv_view_tobytes_into", &err);
}

/* Slice assignment's copy, tobytes' mirror: contiguous items from o->dst
 * into the strided view. */
static void py_fromcontig(void *ctx)
{
    op *o = ctx;
    if (PyBuffer_FromContiguous(&o->pybuf, o->dst, o->pybuf.len, 'C') < 0)
        die_py("PyBuffer_FromContiguous");
}

static void mv_fromcontig(void *ctx)
{
    op *o = ctx;
    mv_error err; /* only written on failure: no per-call memset */
    const mv_buffer *b = mv_view_buffer(o->mv, &err);
    if (!b || mv_buffer_from_contiguous(b, o->dst, o->dstlen, 'C', &err) < 0)
        die_mv("mv_buffer_from_contiguous", &err);
}

/* tolist's C counterpart: the walk that hands each unpacked value to C. */
static int sum_item(void *ctx, const mv_value *values, ptrdiff_t nvalues)
{
    (void)nvalues;
    *(double *)ctx += values[0].v.d;
    return 0;
}

static void mv_traverse(void *ctx)
{
    mv_error err; /* only written on failure: no per-call memset */
    double sum = 0;
    mv_visitor vis = {.item = sum_item, .ctx = &sum};
    if (mv_view_traverse(((op *)ctx)->mv, &vis, &err) < 0)
        die_mv("mv_view_traverse", &err);
    g_sink = (uint64_t)sum;
}

static void py_equal(void *ctx)
{
    op *o = ctx;
    int r = PyObject_RichCompareBool(o->py, o->py2, Py_EQ);
    if (r < 0)
        die_py("PyObject_RichCompareBool");
    if (r != o->expect) {
        fprintf(stderr, "bench_c: CPython == gave %d, expected %d\n", r, o->expect);
        exit(1);
    }
}

static void mv_equal(void *ctx)
{
    op *o = ctx;
    mv_error err; /* only written on failure: no per-call memset */
    int r = mv_view_equal(o->mv, o->mv2, &err);
    if (r < 0)
        die_mv("mv_view_equal", &err);
    if (r != o->expect) {
        fprintf(stderr, "bench_c: mv_view_equal gave %d, expected %d\n", r, o->expect);
        exit(1);
    }
}

/* ---- setup helpers ------------------------------------------------------------ */

static unsigned char *filled(ptrdiff_t n, unsigned seed)
{
    unsigned char *p = xmalloc((size_t)n);
    uint32_t x = seed * 2654435761u + 1;
    for (ptrdiff_t i = 0; i < n; i++) {
        x = x * 1664525u + 1013904223u;
        p[i] = (unsigned char)(x >> 24);
    }
    return p;
}

static unsigned char *copy_of(const unsigned char *src, ptrdiff_t n)
{
    unsigned char *p = xmalloc((size_t)n);
    memcpy(p, src, (size_t)n);
    return p;
}

/* A 1-D strided view over buf (nbytes, format of itemsize) keeping every
 * step-th item, for both libraries; the CPython one also as a Py_buffer. */
static void strided_pair(op *o, void *buf, ptrdiff_t nbytes, const char *fmt, ptrdiff_t itemsize,
                         ptrdiff_t step)
{
    Py_ssize_t shape = (nbytes / itemsize + step - 1) / step, stride = step * itemsize;
    o->py = py_view(buf, fmt, itemsize, 1, &shape, &stride);
    mv_key k = slice_key(NONE, NONE, step);
    o->mv = view_with_layout(buf, nbytes, fmt, -1, NULL, &k, 1);
}

static void op_clear(op *o)
{
    if (o->pybuf.obj)
        PyBuffer_Release(&o->pybuf);
    Py_XDECREF(o->py);
    Py_XDECREF(o->py2);
    Py_XDECREF(o->arg);
    mv_decref(o->mv);
    mv_decref(o->mv2);
    mv_decref(o->exporter);
    memset(o, 0, sizeof *o);
}

/* ---- the cases ------------------------------------------------------------------ */

static void bench_small(void)
{
    /* The per-call costs: view creation, slicing, item get, cast. */
    op o = {0};
    mv_error err = {0};
    unsigned char *data = filled(4096, 1);
    o.py = PyByteArray_FromStringAndSize((const char *)data, 4096);
    o.exporter = mv_bytearray_new(data, 4096, &err);
    if (!o.py || !o.exporter)
        die_py("bytearray");
    run_case("floor", (contender[]){PER_CALL("empty", empty_call, &o)}, 1, 9, 400000);
    run_case("create",
             (contender[]){PER_CALL("cpython", py_create, &o), PER_CALL("memview", mv_create, &o)},
             2, 9, 100000);
    /* The same over a local exporter (mv_object_set_local): plain counts. */
    op lo = {0};
    lo.exporter = mv_bytearray_new(data, 4096, &err);
    if (!lo.exporter)
        die_mv("mv_bytearray_new", &err);
    mv_object_set_local(lo.exporter);
    run_case("create_local",
             (contender[]){PER_CALL("cpython", py_create, &o), PER_CALL("memview", mv_create, &lo)},
             2, 9, 100000);
    o.py2 = o.py; /* the bytearray, for create_layout */
    o.py = PyMemoryView_FromObject(o.py2);
    o.mv = mv_view_new(o.exporter, &err);
    if (!o.py || !o.mv)
        die_py("views");
    PyObject *start = PyLong_FromLong(1), *stop = PyLong_FromLong(1000), *step = PyLong_FromLong(2);
    o.arg = PySlice_New(start, stop, step);
    Py_XDECREF(start);
    Py_XDECREF(stop);
    Py_XDECREF(step);
    o.key = slice_key(1, 1000, 2);
    run_case("slice",
             (contender[]){PER_CALL("cpython", py_slice, &o), PER_CALL("memview", mv_slice, &o)}, 2,
             9, 100000);
    lo.key = o.key;
    if (!(lo.mv = mv_view_new(lo.exporter, &err)))
        die_mv("mv_view_new", &err);
    run_case("slice_local",
             (contender[]){PER_CALL("cpython", py_slice, &o), PER_CALL("memview", mv_slice, &lo)},
             2, 9, 100000);
    run_case("item",
             (contender[]){PER_CALL("cpython", py_item, &o), PER_CALL("memview", mv_item, &o)}, 2,
             9, 200000);
    /* Views held by value (mv_layout): no allocation, no counts. */
    run_case(
        "create_layout",
        (contender[]){PER_CALL("cpython", py_create_ba, &o), PER_CALL("memview", layout_create, &o)},
        2, 9, 200000);
    run_case(
        "create_layout_local",
        (contender[]){PER_CALL("cpython", py_create_ba, &o), PER_CALL("memview", layout_create, &lo)},
        2, 9, 200000);
    if (mv_view_layout(&o.layout, o.mv, &err) < 0)
        die_mv("mv_view_layout", &err);
    run_case("slice_layout",
             (contender[]){PER_CALL("cpython", py_slice, &o), PER_CALL("memview", layout_slice, &o)},
             2, 9, 200000);
    run_case("item_layout",
             (contender[]){PER_CALL("cpython", py_item, &o), PER_CALL("memview", layout_item, &o)}, 2,
             9, 400000);
    run_case(
        "item_layout_value",
        (contender[]){PER_CALL("cpython", py_item, &o), PER_CALL("memview", layout_item_value, &o)},
        2, 9, 400000);
    op_clear(&lo);
    Py_DECREF(o.arg);
    o.arg = PyUnicode_FromString("d");
    run_case("cast",
             (contender[]){PER_CALL("cpython", py_cast, &o), PER_CALL("memview", mv_cast, &o)}, 2,
             9, 100000);
    o.dstlen = 2 * 4096;
    o.dst = xmalloc((size_t)o.dstlen);
    run_case("hex4k",
             (contender[]){{"cpython", py_hex, &o, NULL},
                           {"memview_into", mv_hex_into, &o, NULL},
                           {"memview_alloc", mv_hex_alloc, &o, NULL}},
             3, 9, 2000);
    free(o.dst);
    op_clear(&o);
    free(data);
}

static void bench_tolist(void)
{
    op o = {0};
    ptrdiff_t n = 1 << 20;
    double *d = xmalloc((size_t)n * sizeof(double));
    for (ptrdiff_t i = 0; i < n; i++)
        d[i] = (double)i * 0.25;
    Py_ssize_t shape = n, stride = sizeof(double);
    o.py = py_view(d, "d", sizeof(double), 1, &shape, &stride);
    o.mv = view_with_layout(d, n * (ptrdiff_t)sizeof(double), "d", -1, NULL, NULL, 0);
    run_case("tolist1m",
             (contender[]){{"cpython", py_tolist, &o, NULL},
                           {"memview_traverse", mv_traverse, &o, NULL}},
             2, 5, 1);
    op_clear(&o);
    free(d);
}

static void bench_hex_big(unsigned char *src, ptrdiff_t n)
{
    op o = {0};
    Py_ssize_t shape = n, stride = 1;
    o.py = py_view(src, "B", 1, 1, &shape, &stride);
    o.mv = view_with_layout(src, n, "B", -1, NULL, NULL, 0);
    o.dstlen = 2 * n;
    o.dst = xmalloc((size_t)o.dstlen);
    run_case("hex64m",
             (contender[]){{"cpython", py_hex, &o, NULL},
                           {"memview_into", mv_hex_into, &o, NULL},
                           {"memview_alloc", mv_hex_alloc, &o, NULL}},
             3, 3, 1);
    free(o.dst);
    op_clear(&o);
}

/* == of n-byte buffers (16 MiB timed); '<i' vs '>i' on n / 16. */
static void bench_equal(ptrdiff_t n)
{
    unsigned char *a = filled(n, 2), *b = copy_of(a, n);
    op o = {0};
    Py_ssize_t shape, stride;

    shape = n, stride = 1;
    o.py = py_view(a, "B", 1, 1, &shape, &stride);
    o.py2 = py_view(b, "B", 1, 1, &shape, &stride);
    o.mv = view_with_layout(a, n, "B", -1, NULL, NULL, 0);
    o.mv2 = view_with_layout(b, n, "B", -1, NULL, NULL, 0);
    o.expect = 1;
    span both = {a, b, (size_t)n};
    run_items("eq_B16m", n,
             (contender[]){{"cpython", py_equal, &o, NULL},
                           {"memview", mv_equal, &o, NULL},
                           {"read_span", read_pair, &both, NULL}},
             3, 5, 1);
    op_clear(&o);

    op o2 = {0};
    strided_pair(&o, a, n, "i", 4, 2);
    strided_pair(&o2, b, n, "i", 4, 2);
    o.py2 = o2.py, o.mv2 = o2.mv;
    o2.py = NULL, o2.mv = NULL;
    o.expect = 1;
    run_items("eq_i_step2", n / 8,
             (contender[]){{"cpython", py_equal, &o, NULL},
                           {"memview", mv_equal, &o, NULL},
                           {"read_span", read_pair, &both, NULL}},
             3, 5, 1);
    op_clear(&o);

    /* '<i' against '>i' holding the same values: CPython unpacks each item
     * through struct, so a smaller buffer keeps its run short. */
    ptrdiff_t ns = n / 16;
    unsigned char *sw = xmalloc((size_t)ns);
    for (ptrdiff_t i = 0; i < ns; i += 4)
        for (int k = 0; k < 4; k++)
            sw[i + k] = a[i + 3 - k];
    shape = ns / 4, stride = 4;
    o.py = py_view(a, "<i", 4, 1, &shape, &stride);
    o.py2 = py_view(sw, ">i", 4, 1, &shape, &stride);
    o.mv = view_with_layout(a, ns, "<i", -1, NULL, NULL, 0);
    o.mv2 = view_with_layout(sw, ns, ">i", -1, NULL, NULL, 0);
    o.expect = 1;
    span both_1m = {a, sw, (size_t)ns};
    run_items("eq_le_be_1m", ns / 4,
             (contender[]){{"cpython", py_equal, &o, NULL},
                           {"memview", mv_equal, &o, NULL},
                           {"read_span", read_pair, &both_1m, NULL}},
             3, 5, 1);
    op_clear(&o);
    free(sw);

    /* Doubles, equal but for a NaN in the last item of both: everything is
     * compared and the answer is False. */
    double *da = (double *)(void *)a, *db = (double *)(void *)b;
    for (ptrdiff_t i = 0; i < n / 8; i++)
        da[i] = db[i] = (double)i;
    da[n / 8 - 1] = db[n / 8 - 1] = NAN;
    shape = n / 8, stride = 8;
    o.py = py_view(a, "d", 8, 1, &shape, &stride);
    o.py2 = py_view(b, "d", 8, 1, &shape, &stride);
    o.mv = view_with_layout(a, n, "d", -1, NULL, NULL, 0);
    o.mv2 = view_with_layout(b, n, "d", -1, NULL, NULL, 0);
    o.expect = 0;
    run_items("eq_d_nan16m", n / 8,
             (contender[]){{"cpython", py_equal, &o, NULL},
                           {"memview", mv_equal, &o, NULL},
                           {"read_span", read_pair, &both, NULL}},
             3, 5, 1);
    op_clear(&o);
    free(a);
    free(b);
}

static void bench_strided(unsigned char *src, ptrdiff_t n, void *dst)
{
    static const struct {
        const char *fmt;
        ptrdiff_t size;
    } fmts[] = {{"B", 1}, {"H", 2}, {"I", 4}, {"Q", 8}};
    static const ptrdiff_t steps[] = {2, 3, 8};
    span s = {src, dst, (size_t)n};
    for (size_t f = 0; f < 4; f++) {
        for (size_t k = 0; k < 3; k++) {
            op o = {0};
            char name[32];
            strided_pair(&o, src, n, fmts[f].fmt, fmts[f].size, steps[k]);
            if (PyObject_GetBuffer(o.py, &o.pybuf, PyBUF_FULL) < 0)
                die_py("PyObject_GetBuffer");
            o.dst = dst;
            o.dstlen = o.pybuf.len;
            snprintf(name, sizeof name, "copy_%s_step%td", fmts[f].fmt, steps[k]);
            run_items(name, o.pybuf.shape[0],
                     (contender[]){{"cpython", py_tobytes, &o, NULL},
                                   {"cpython_tocontig", py_tocontig, &o, NULL},
                                   {"memview_into", mv_tobytes_into, &o, NULL},
                                   {"read_span", read_span_best, &s, NULL}},
                     4, 5, 1);
            /* The other direction, for the small items the AVX-512
             * scatter takes (not one of the headline cases). */
            if (fmts[f].size <= 2 && steps[k] <= 3) {
                snprintf(name, sizeof name, "assign_%s_step%td", fmts[f].fmt, steps[k]);
                run_items(name, o.pybuf.shape[0],
                          (contender[]){{"cpython", py_fromcontig, &o, NULL},
                                        {"memview", mv_fromcontig, &o, NULL},
                                        {"read_span", read_span_best, &s, NULL}},
                          3, 5, 1);
            }
            op_clear(&o);
        }
    }
}

/* The rows of a 2-D rectangle copied one memcpy each: the same access
 * pattern as any row-wise copy, with nothing of memview's in it. */
typedef struct rows_ref {
    const unsigned char *src;
    unsigned char *dst;
    ptrdiff_t rows, cols, stride;
} rows_ref;

static void copy_rows(void *ctx)
{
    const rows_ref *r = ctx;
    for (ptrdiff_t i = 0; i < r->rows; i++)
        memcpy(r->dst + i * r->cols, r->src + i * r->stride, (size_t)r->cols);
    g_sink = r->dst[r->rows * r->cols - 1];
}

static void bench_2d(unsigned char *src, void *dst)
{
    const ptrdiff_t side = 4096, n = side * side;
    static const struct {
        const char *name;
        ptrdiff_t r0, r1, c0, c1, cstep;
        long inner;
    } rects[] = {{"rect_1024_3072", 1024, 3072, 1024, 3072, 1, 1},
                 /* Timed 128 calls (~4 ms) at a time: memview's copy of
                  * this band (8,192 lines 4 KiB apart) takes ~24 us per call
                  * for ~1 ms, then ~44 us for ~1 ms, and so on (a 2 ms cycle
                  * of this VM's memory, seen standalone too; prefetching
                  * the rows changes nothing), so a single call's median is
                  * whichever phase it hit. */
                 {"rect_cols64", 0, 4096, 1000, 1064, 1, 128},
                 {"rect_colstep2", 0, 4096, 0, 4096, 2, 1}};
    for (size_t i = 0; i < 3; i++) {
        op o = {0};
        ptrdiff_t rows = rects[i].r1 - rects[i].r0;
        ptrdiff_t cols = (rects[i].c1 - rects[i].c0 + rects[i].cstep - 1) / rects[i].cstep;
        Py_ssize_t shape[2] = {rows, cols}, strides[2] = {side, rects[i].cstep};
        o.py = py_view(src + rects[i].r0 * side + rects[i].c0, "B", 1, 2, shape, strides);
        ptrdiff_t full[2] = {side, side};
        mv_key keys[2] = {slice_key(rects[i].r0, rects[i].r1, 1),
                          slice_key(rects[i].c0, rects[i].c1, rects[i].cstep)};
        o.mv = view_with_layout(src, n, "B", 2, full, keys, 2);
        if (PyObject_GetBuffer(o.py, &o.pybuf, PyBUF_FULL_RO) < 0)
            die_py("PyObject_GetBuffer");
        o.dst = dst;
        o.dstlen = rows * cols;
        /* The references: memcpy of as many bytes, reading the rows' whole
         * span, and (contiguous rows) memcpy row by row. */
        span cp = {src + n, dst, (size_t)(rows * cols)};
        span rd = {src + rects[i].r0 * side, NULL, (size_t)(rows * side)};
        rows_ref rr = {src + rects[i].r0 * side + rects[i].c0, dst, rows, cols, side};
        run_items(rects[i].name, rows * cols,
                 (contender[]){{"cpython", py_tobytes, &o, NULL},
                               {"cpython_tocontig", py_tocontig, &o, NULL},
                               {"memview_into", mv_tobytes_into, &o, NULL},
                               {"memcpy", copy_span, &cp, NULL},
                               {"read_span", read_span_best, &rd, NULL},
                               {"memcpy_rows", copy_rows, &rr, NULL}},
                 rects[i].cstep == 1 ? 6 : 5, 5, rects[i].inner);
        op_clear(&o);
    }
}

/* ---- callgrind mode ----------------------------------------------------------- */

/* Each per-item case counted once (bench_equal, bench_strided and bench_2d
 * in counting mode, on 256 KiB buffers; the 2-D cases on the same
 * 4096x4096 image), and hex. */
static void bench_callgrind(void)
{
    const ptrdiff_t n = 256 * 1024, image = 4096 * 4096;
    g_callgrind = 1;
    bench_equal(n);
    unsigned char *src = filled(n, 4), *dst = xmalloc((size_t)n);
    bench_strided(src, n, dst);
    op o = {0};
    Py_ssize_t shape = n, stride = 1;
    o.py = py_view(src, "B", 1, 1, &shape, &stride);
    o.mv = view_with_layout(src, n, "B", -1, NULL, NULL, 0);
    o.dst = xmalloc(2 * (size_t)n), o.dstlen = 2 * n;
    run_items("hex", n,
              (contender[]){{"cpython", py_hex, &o, NULL}, {"memview_into", mv_hex_into, &o, NULL}},
              2, 1, 1);
    free(o.dst);
    op_clear(&o);
    free(src);
    free(dst);
    /* bench_2d reads the image and, for memcpy, the 16 MiB after it. */
    src = xmalloc(2 * (size_t)image), dst = xmalloc((size_t)image);
    memset(src, 5, 2 * (size_t)image);
    bench_2d(src, dst);
    free(src);
    free(dst);
}

int main(int argc, char **argv)
{
    int callgrind = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            g_reps_scale = 3;
        else if (strcmp(argv[i], "--callgrind") == 0)
            callgrind = 1;
        else {
            fprintf(stderr, "usage: bench_c [--quick | --callgrind]\n");
            return 2;
        }
    }
    Py_InitializeEx(0);
    if (PyType_Ready(&raw_type) < 0)
        die_py("PyType_Ready");
    g_str_hex = PyUnicode_InternFromString("hex");
    g_str_tobytes = PyUnicode_InternFromString("tobytes");
    g_str_cast = PyUnicode_InternFromString("cast");
    g_str_tolist = PyUnicode_InternFromString("tolist");

    if (callgrind) {
        bench_callgrind();
    } else {
        printf("# python\t%s\n", Py_GetVersion());
        bench_small();
        bench_tolist();
        bench_equal(16 * MIB);
        /* 64 MiB source, a 64 MiB destination; the 2-D cases use the first
         * 16 MiB as the 4096x4096 image and the next as memcpy's source. */
        ptrdiff_t n = 64 * MIB;
        unsigned char *src = filled(n, 4), *dst = xmalloc((size_t)(2 * n));
        span s = {src, dst, (size_t)n};
        run_case(
            "span64m",
            (contender[]){{"memcpy", copy_span, &s, NULL}, {"read_span", read_span_best, &s, NULL}},
            2, 5, 1);
        bench_hex_big(src, n);
        bench_strided(src, n, dst);
        bench_2d(src, dst);
        free(src);
        free(dst);
    }
    if (Py_FinalizeEx() < 0)
        return 1;
    return 0;
}
