#include "testviews.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

#include "failalloc.h"
#include "ops/ops.h"

uint64_t rng_next(rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

ptrdiff_t rng_below(rng *r, ptrdiff_t n)
{
    return (ptrdiff_t)(rng_next(r) % (uint64_t)n);
}

ptrdiff_t rng_between(rng *r, ptrdiff_t lo, ptrdiff_t hi)
{
    return lo + (ptrdiff_t)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

void put_uint(void *dst, int size, bool little, uint64_t v)
{
    unsigned char *p = dst;
    for (int i = 0; i < size; i++) {
        unsigned char byte = (unsigned char)(v >> (8 * i));
        p[little ? i : size - 1 - i] = byte;
    }
}

void put_double(void *dst, bool little, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    put_uint(dst, 8, little, u);
}

ptrdiff_t product(int ndim, const ptrdiff_t *shape)
{
    ptrdiff_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= shape[i];
    return n;
}

bool next_index(int ndim, const ptrdiff_t *shape, ptrdiff_t *idx)
{
    for (int d = ndim - 1; d >= 0; d--) {
        if (++idx[d] < shape[d])
            return true;
        idx[d] = 0;
    }
    return false;
}

mv_view *view_layout(void *buf, const char *format, ptrdiff_t itemsize, int ndim,
                     const ptrdiff_t *shape, const ptrdiff_t *strides, const ptrdiff_t *suboffsets,
                     int readonly)
{
    mv_buffer lay;
    memset(&lay, 0, sizeof lay);
    lay.buf = buf;
    lay.len = product(ndim, shape) * itemsize;
    lay.itemsize = itemsize;
    lay.readonly = readonly;
    lay.ndim = ndim;
    lay.format = format;
    lay.shape = (ptrdiff_t *)shape;
    lay.strides = (ptrdiff_t *)strides;
    lay.suboffsets = (ptrdiff_t *)suboffsets;
    mv_error err;
    mv_error_clear(&err);
    mv_object *x = mv_external_new_layout(&lay, NULL, NULL, &err);
    if (!x)
        fail_msg("external layout '%s': %s", format, err.message);
    mv_view *v = mv_view_new(x, &err);
    mv_decref(x);
    if (!v)
        fail_msg("view '%s': %s", format, err.message);
    return v;
}

mv_view *view_1d(void *mem, const char *format, ptrdiff_t itemsize, ptrdiff_t n, int readonly)
{
    return view_layout(mem, format, itemsize, 1, &n, NULL, NULL, readonly);
}

mv_view *view_0d(void *mem, const char *format, ptrdiff_t itemsize)
{
    return view_layout(mem, format, itemsize, 0, NULL, NULL, NULL, 1);
}

typedef struct raw_exporter {
    mv_object ob;
    mv_buffer desc;
} raw_exporter;

static int raw_getbuffer(mv_object *self, mv_buffer *view, int flags, mv_error *err)
{
    (void)flags;
    (void)err;
    raw_exporter *r = (raw_exporter *)self;
    *view = r->desc;
    view->obj = self;
    mv_incref(self);
    return 0;
}

static void raw_destroy(mv_object *self)
{
    free(self);
}

static const mv_type raw_type = {
    .name = "raw", .getbuffer = raw_getbuffer, .releasebuffer = NULL, .destroy = raw_destroy};

/* One item keeps the shape and strides constant, so they can be static. */
static ptrdiff_t raw_shape_1 = 1;
static ptrdiff_t raw_stride_1 = 1;

mv_view *view_raw_format(void *mem, const char *format)
{
    raw_exporter *r = calloc(1, sizeof *r);
    assert_non_null(r);
    mv_object_init(&r->ob, &raw_type);
    r->desc.buf = mem;
    r->desc.len = 1;
    r->desc.itemsize = 1;
    r->desc.readonly = 1;
    r->desc.ndim = 1;
    r->desc.format = format;
    r->desc.shape = &raw_shape_1;
    r->desc.strides = &raw_stride_1;
    mv_error err;
    mv_error_clear(&err);
    mv_view *v = mv_view_new(&r->ob, &err);
    mv_decref(&r->ob);
    if (!v)
        fail_msg("raw view: %s", err.message);
    return v;
}

mv_view *released_view(void)
{
    static unsigned char mem[4] = {1, 2, 3, 4};
    mv_view *v = view_1d(mem, "B", 1, 4, 1);
    assert_int_equal(mv_view_release(v, NULL), 0);
    return v;
}

void expect_error(int rc, const mv_error *err, int code, const char *msg)
{
    assert_int_equal(rc, code);
    assert_int_equal(err->code, code);
    if (msg)
        assert_string_equal(err->message, msg);
}

void sweep_arm(long n, mv_error *err)
{
    mv_error_clear(err);
    mv_test_fail_after(n);
}

bool sweep_done(int rc, const mv_error *err)
{
    /* Read before disarming: mv_test_fail_after resets the count. */
    long failed = mv_test_failed_allocations();
    mv_test_fail_after(-1);
    if (rc >= 0)
        return true;
    assert_int_equal(rc, MV_ENOMEM);
    assert_int_equal(err->code, MV_ENOMEM);
    assert_true(failed > 0);
    return false;
}

int count_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

void pread_all(int fd, long off, void *out, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t r = pread(fd, (char *)out + done, len - done, (off_t)(off + (long)done));
        assert_true(r > 0);
        done += (size_t)r;
    }
}

void *alloc_counted(void *ctx, ptrdiff_t nbytes)
{
    test_alloc *a = ctx;
    a->calls++;
    a->nbytes = nbytes;
    a->p = a->fail ? NULL : malloc(nbytes > 0 ? (size_t)nbytes : 1);
    return a->p;
}

/* The VmFlags of the mapping holding p say "hg"; *found tells whether any
 * mapping in /proc/self/smaps holds p at all. */
static bool smaps_huge(const void *p, bool *found)
{
    *found = false;
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return false;
    char line[512];
    bool inside = false, huge = false;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char dash;
        /* A mapping's header: "lo-hi perms ..."; its VmFlags line ends it. */
        if (sscanf(line, "%lx%c%lx", &lo, &dash, &hi) == 3 && dash == '-') {
            inside = (uintptr_t)p >= lo && (uintptr_t)p < hi;
            *found |= inside;
        } else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
            huge = strstr(line, " hg") != NULL;
        }
    }
    fclose(f);
    return huge;
}

bool advised_huge(const void *p)
{
    bool found;
    bool huge = smaps_huge(p, &found);
    assert_true(found);
    return huge;
}

void *alloc_mapped(void *ctx, ptrdiff_t nbytes)
{
    test_map *m = ctx;
    m->n = nbytes > 0 ? (size_t)nbytes : 1;
    m->p = mmap(NULL, m->n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m->p == MAP_FAILED)
        m->p = NULL;
    return m->p;
}

void unmap_test_map(test_map *m)
{
    if (m->p)
        assert_int_equal(munmap(m->p, m->n), 0);
    m->p = NULL;
}

bool thp_available(void)
{
    /* Kernels without transparent huge pages refuse the advice (EINVAL);
     * qemu-user takes it and never applies it, and may not show the guest's
     * mappings in smaps at all: the advice must be seen to take effect. */
    size_t n = 2 * (size_t)sysconf(_SC_PAGESIZE);
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    bool found = false;
    bool ok = madvise(p, n, MADV_HUGEPAGE) == 0 && smaps_huge(p, &found) && found;
    assert_int_equal(munmap(p, n), 0);
    if (!ok)
        print_message("skipped: MADV_HUGEPAGE is %s here\n",
                      found ? "not applied" : "refused or not visible in /proc/self/smaps");
    return ok;
}

mv_view *guarded_empty_indirect(guarded *g)
{
    g->page = (size_t)sysconf(_SC_PAGESIZE);
    g->map = mmap(NULL, 2 * g->page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(g->map != MAP_FAILED);
    assert_int_equal(mprotect(g->map + g->page, g->page, PROT_NONE), 0);
    static unsigned char row[4] = {1, 2, 3, 4};
    unsigned char **table = (unsigned char **)(void *)(g->map + g->page - sizeof(unsigned char *));
    table[0] = row;
    ptrdiff_t shape[2] = {2, 0}, strides[2] = {sizeof(unsigned char *), 1}, subs[2] = {0, -1};
    return view_layout(table, "B", 1, 2, shape, strides, subs, 1);
}

void guarded_free(guarded *g)
{
    assert_int_equal(munmap(g->map, 2 * g->page), 0);
}

void skip_unless_isa_available(void)
{
    static const char *const names[] = {"portable", "ssse3", "avx2", "avx512"};
    const char *want = getenv("MEMVIEW_ISA");
    int have = mv_isa();
    for (int i = 0; want && i < 4; i++)
        if (strcmp(want, names[i]) == 0 && have < i) {
            printf("MEMVIEW_ISA=%s: this CPU runs the %s kernels at most; skipped\n", want,
                   names[have]);
            exit(77);
        }
}

mv_value v_int(int64_t i)
{
    mv_value v = {.kind = MV_VALUE_SIGNED};
    v.v.i = i;
    return v;
}

mv_value v_uint(uint64_t u)
{
    mv_value v = {.kind = MV_VALUE_UNSIGNED};
    v.v.u = u;
    return v;
}

mv_value v_dbl(double d)
{
    mv_value v = {.kind = MV_VALUE_DOUBLE};
    v.v.d = d;
    return v;
}

mv_value v_bool(bool b)
{
    mv_value v = {.kind = MV_VALUE_BOOL};
    v.v.b = b;
    return v;
}

mv_value v_char(uint32_t c)
{
    mv_value v = {.kind = MV_VALUE_CHAR};
    v.v.u = c;
    return v;
}

mv_value v_cplx(double re, double im)
{
    mv_value v = {.kind = MV_VALUE_COMPLEX};
    v.v.c.re = re;
    v.v.c.im = im;
    return v;
}

mv_value v_bytes(const void *p, size_t n)
{
    mv_value v = {.kind = MV_VALUE_BYTES};
    v.v.bytes.ptr = p;
    v.v.bytes.len = n;
    return v;
}

mv_value v_none(void)
{
    mv_value v = {.kind = MV_VALUE_NONE};
    return v;
}

bool host_is_little(void)
{
    union {
        uint32_t u;
        unsigned char c[4];
    } x = {1};
    return x.c[0] == 1;
}

uint64_t bits_of(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

bool same_value(const mv_value *a, const mv_value *b)
{
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case MV_VALUE_BOOL:
        return a->v.b == b->v.b;
    case MV_VALUE_SIGNED:
        return a->v.i == b->v.i;
    case MV_VALUE_UNSIGNED:
    case MV_VALUE_CHAR:
        return a->v.u == b->v.u;
    case MV_VALUE_DOUBLE:
        return bits_of(a->v.d) == bits_of(b->v.d);
    case MV_VALUE_COMPLEX:
        return bits_of(a->v.c.re) == bits_of(b->v.c.re) && bits_of(a->v.c.im) == bits_of(b->v.c.im);
    case MV_VALUE_BYTES:
        return a->v.bytes.len == b->v.bytes.len &&
               memcmp(a->v.bytes.ptr, b->v.bytes.ptr, a->v.bytes.len) == 0;
    default:
        return true;
    }
}

/* ---- the counting test exporter ---- */

static int texp_getbuffer(mv_object *self, mv_buffer *view, int flags, mv_error *err)
{
    test_exporter *t = (test_exporter *)self;
    if (t->fail)
        return mv_error_set(err, t->fail, "test exporter refuses");
    if ((flags & MV_BUF_WRITABLE) && t->layout.readonly)
        return mv_error_set(err, MV_EBUFFER, "Object is not writable.");
    *view = t->layout;
    mv_incref(self);
    view->obj = self;
    view->internal = NULL;
    t->getbuffer_calls++;
    return 0;
}

static void texp_releasebuffer(mv_object *self, mv_buffer *view)
{
    (void)view;
    ((test_exporter *)self)->releasebuffer_calls++;
}

static void texp_destroy(mv_object *self)
{
    ((test_exporter *)self)->destroyed++;
}

static const mv_type texp_type = {
    .name = "test_exporter",
    .getbuffer = texp_getbuffer,
    .releasebuffer = texp_releasebuffer,
    .destroy = texp_destroy,
};

void texp_init(test_exporter *t, void *buf, ptrdiff_t itemsize, const char *format, int ndim,
               ptrdiff_t *shape, ptrdiff_t *strides, ptrdiff_t *suboffsets, int readonly)
{
    memset(t, 0, sizeof *t);
    mv_object_init(&t->base, &texp_type);
    t->layout.buf = buf;
    t->layout.itemsize = itemsize;
    t->layout.format = format;
    t->layout.ndim = ndim;
    t->layout.shape = shape;
    t->layout.strides = strides;
    t->layout.suboffsets = suboffsets;
    t->layout.readonly = readonly;
    /* Wrapping: hostile shapes are set up here on purpose. */
    size_t len = (size_t)itemsize;
    for (int i = 0; i < ndim && shape; i++)
        len *= (size_t)shape[i];
    t->layout.len = (ptrdiff_t)len;
}

/* Drop the test's reference and check nothing is held any more. */
void texp_finish(test_exporter *t)
{
    assert_int_equal(mv_object_exports(&t->base), 0);
    assert_int_equal(t->getbuffer_calls, t->releasebuffer_calls);
    assert_int_equal(mv_object_refcount(&t->base), 1);
    mv_decref(&t->base);
    assert_int_equal(t->destroyed, 1);
}
