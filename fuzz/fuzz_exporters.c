/* Fuzz target: the exporters, their lifetimes and their locks.
 *
 * The input is a program of operations on a scratch file (a memfd of a
 * size the input picks, opened by mv_mmap_open through /proc/self/fd/N),
 * POSIX shared memory objects (names unique to this process), and
 * bytearray, bytes, array, external and external-layout exporters, some
 * marked local at creation: map (mv_mmap_open, mv_mmap_fd with any
 * descriptor access mode, bad descriptors, directories, pipes), open /
 * create / unlink shm, take views and slices of them, read and write
 * items, take and give back raw buffers, sync, remap, close, resize, write
 * to or grow the file behind the mappings, drop references in any order.
 *
 * A model keeps what every object must hold and what state it is in: the
 * file's and each shm object's bytes, each mapping's range and mode
 * (copy-on-write mappings keep private copies of the pages they wrote, as
 * Linux does), each object's export count (one per managed buffer with a
 * live view, one per raw buffer) and whether it is alive.  Checked:
 *  - every call succeeds or fails as the model predicts, with the code
 *    (and for mmap, shm and the export locks the message parts) the header
 *    documents, and every failure follows the error contract;
 *  - views, raw buffers and mv_object_data read what the model says;
 *    writes through shared mappings reach the file (pread), copy-on-write
 *    ones do not;
 *  - close, remap and resize are refused exactly while exports exist;
 *    mv_object_exports and mv_object_refcount (our reference plus one per
 *    export) match the model after every operation; views of a local
 *    exporter are local;
 *  - external release callbacks run exactly once, with their memory,
 *    exactly when the last reference and buffer go;
 *  - after each input no object (LeakSanitizer), descriptor or mapping of
 *    the scratch file or shm objects is left, and exactly the shm names
 *    the model says exist do (they are then unlinked). */
#include "fuzz_common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define NX      8  /* exporter records */
#define NV      12 /* view records */
#define NHELD   4  /* raw buffers */
#define NBACK   6  /* backing stores: 0 the file, the rest shm objects */
#define NNAME   5  /* valid shm names: 4 short ones and one of NAME_MAX bytes */
#define MAXFILE (12 << 10)
#define MAXPAGE (MAXFILE / 4096 + 2)
#define EXTLEN  64
#define MAXOPS  200

enum { K_MMAP, K_BYTEARRAY, K_BYTES, K_ARRAY, K_EXT, K_EXTL };

typedef struct backing {
    bool used;
    int name; /* shm: the name slot, -1 once unlinked */
    size_t size;
    unsigned char bytes[MAXFILE];
} backing;

typedef struct ext_ctx {
    bool used, released;
    void *mem;
} ext_ctx;

typedef struct xrec {
    bool live, ref, local;
    mv_object *o;
    int kind;
    int exports;
    bool readonly;
    /* mappings */
    int back, mode;
    ptrdiff_t off, len;
    bool closed;
    unsigned char *priv; /* copy-on-write: the pages this mapping wrote */
    bool privp[MAXPAGE];
    /* memory owners: the bytes (bytearray, bytes, array), or our block
     * and what it must hold (external) */
    unsigned char *model;
    size_t mlen;
    unsigned char *block;
    ext_ctx *ctx;
    /* what a view of the whole object is */
    ptrdiff_t vbase, vstep, vcount, itemsize;
    bool isB;
} xrec;

typedef struct vrec {
    bool live, ref, released;
    bool local; /* its exporter was (x may be reused once it is gone) */
    mv_view *v;
    int x, group, exports;
    ptrdiff_t off, step, count, itemsize;
    bool readonly, isB;
} vrec;

typedef struct group {
    bool used;
    int x, views; /* unreleased live views of this managed buffer */
} group;

typedef struct held {
    bool used, on_view;
    int idx;
    mv_buffer b;
} held;

typedef struct state {
    fz in;
    long page;
    int fd; /* the scratch file (memfd) */
    char path[64];
    backing back[NBACK];
    int names[NNAME]; /* name slot -> backing, or -1 */
    char name_text[NNAME][NAME_MAX + 2];
    xrec x[NX];
    vrec v[NV];
    group g[NV];
    held h[NHELD];
    ext_ctx ctx[NX * 4];
} state;

/* ---- helpers ------------------------------------------------------------- */

static uint8_t u8(state *s)
{
    return fz_u8(&s->in);
}

/* Two input bytes, big-endian, read in order. */
static uint16_t u16(state *s)
{
    uint16_t hi = u8(s);
    return (uint16_t)(hi << 8 | u8(s));
}

static int lowest_free_fd(void)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    FUZZ_CHECK(fd >= 0);
    close(fd);
    return fd;
}

/* A failure with the predicted code. */
static void expect_fail(int rc, const mv_error *err, int code)
{
    fuzz_check_failure(rc, err);
    FUZZ_CHECK_ERR(rc == code, err);
}

static void expect_null(const void *p, const mv_error *err, int code)
{
    FUZZ_CHECK_ERR(p == NULL, err);
    fuzz_ptr(NULL, err);
    FUZZ_CHECK_ERR(err->code == code, err);
}

static bool has_text(const mv_error *err, const char *text)
{
    return strstr(err->message, text) != NULL;
}

/* The message names `what` (its start: messages are cut at
 * MV_ERROR_MESSAGE_MAX bytes). */
static bool names(const mv_error *err, const char *what)
{
    char head[65];
    snprintf(head, sizeof head, "%s", what);
    return has_text(err, head);
}

static void ext_release(void *ctx, void *mem)
{
    ext_ctx *c = ctx;
    FUZZ_CHECK(c->used && !c->released && mem == c->mem);
    c->released = true;
}

static ext_ctx *new_ctx(state *s, void *mem)
{
    for (size_t i = 0; i < sizeof s->ctx / sizeof s->ctx[0]; i++)
        if (!s->ctx[i].used) {
            s->ctx[i] = (ext_ctx){.used = false, .released = false, .mem = mem};
            return &s->ctx[i];
        }
    return NULL;
}

/* ---- the model of bytes ---------------------------------------------------- */

/* Byte pos of object x's memory, as the model has it. */
static unsigned char mget(state *s, const xrec *x, ptrdiff_t pos)
{
    switch (x->kind) {
    case K_MMAP: {
        ptrdiff_t pg = (x->off + pos) / s->page - x->off / s->page;
        if (x->priv && x->privp[pg])
            return x->priv[pos];
        return s->back[x->back].bytes[x->off + pos];
    }
    default:
        return x->model[pos];
    }
}

static void mset(state *s, xrec *x, ptrdiff_t pos, unsigned char v)
{
    if (x->kind != K_MMAP) {
        x->model[pos] = v;
        return;
    }
    if (x->mode == MV_MAP_WRITE) {
        s->back[x->back].bytes[x->off + pos] = v;
        return;
    }
    /* Copy-on-write: the first write to a page copies it as it is now. */
    ptrdiff_t first = x->off / s->page, pg = (x->off + pos) / s->page - first;
    if (!x->privp[pg]) {
        for (ptrdiff_t i = 0; i < x->len; i++)
            if ((x->off + i) / s->page - first == pg)
                x->priv[i] = s->back[x->back].bytes[x->off + i];
        x->privp[pg] = true;
    }
    x->priv[pos] = v;
}

/* The object's bytes against the model, through mv_object_data (NULL for
 * external memory and closed mappings). */
static void check_data(state *s, xrec *x)
{
    size_t len = 12345;
    unsigned char *p = mv_object_data(x->o, &len);
    if (x->kind == K_EXT || x->kind == K_EXTL) {
        FUZZ_CHECK(p == NULL && len == 0);
        FUZZ_CHECK(memcmp(x->block, x->model, EXTLEN) == 0);
        return;
    }
    if (x->kind == K_MMAP && x->closed) {
        FUZZ_CHECK(p == NULL && len == 0);
        return;
    }
    size_t want = x->kind == K_MMAP ? (size_t)x->len : x->mlen;
    FUZZ_CHECK(p != NULL && len == want);
    for (size_t i = 0; i < len; i++)
        FUZZ_CHECK(p[i] == mget(s, x, (ptrdiff_t)i));
}

/* The scratch file against the model (writes through shared mappings must
 * be there, copy-on-write ones must not). */
static void check_file(state *s)
{
    static unsigned char buf[MAXFILE];
    backing *b = &s->back[0];
    FUZZ_CHECK(lseek(s->fd, 0, SEEK_END) == (off_t)b->size);
    FUZZ_CHECK(pread(s->fd, buf, b->size, 0) == (ssize_t)b->size);
    FUZZ_CHECK(memcmp(buf, b->bytes, b->size) == 0);
}

/* ---- lifetimes -------------------------------------------------------------- */

/* An shm object nothing names or maps is gone. */
static void backing_forget(state *s, int b)
{
    if (b == 0 || s->back[b].name >= 0)
        return;
    for (int j = 0; j < NX; j++)
        if (s->x[j].live && s->x[j].kind == K_MMAP && s->x[j].back == b)
            return;
    s->back[b].used = false;
}

static void x_maybe_die(state *s, int i)
{
    xrec *x = &s->x[i];
    if (!x->live || x->ref || x->exports > 0)
        return;
    /* Nothing can reach it: the library has destroyed it just now. */
    x->live = false;
    free(x->priv);
    free(x->model);
    x->priv = x->model = NULL;
    /* External memory: the callback has run, with our block, which is
     * ours to free again (also without a callback). */
    if (x->ctx) {
        FUZZ_CHECK(x->ctx->released);
        x->ctx->used = false;
    }
    free(x->block);
    x->block = NULL;
    x->ctx = NULL;
    if (x->kind == K_MMAP)
        backing_forget(s, x->back);
}

static void group_drop(state *s, int gi)
{
    group *g = &s->g[gi];
    if (--g->views == 0) {
        g->used = false;
        s->x[g->x].exports--;
        x_maybe_die(s, g->x);
    }
}

static void v_maybe_die(state *s, int i)
{
    vrec *v = &s->v[i];
    if (!v->live || v->ref || v->exports > 0)
        return;
    v->live = false;
    if (!v->released)
        group_drop(s, v->group);
}

/* After every operation: counts, flags and callbacks as the model says. */
static void check_counts(state *s)
{
    for (int i = 0; i < NX; i++) {
        xrec *x = &s->x[i];
        if (!x->live)
            continue;
        FUZZ_CHECK(mv_object_exports(x->o) == (size_t)x->exports);
        FUZZ_CHECK(mv_object_refcount(x->o) == (size_t)(x->ref + x->exports));
        FUZZ_CHECK(((x->o->flags & MV_OBJECT_LOCAL) != 0) == x->local);
        if (x->ctx)
            FUZZ_CHECK(!x->ctx->released);
    }
    for (int i = 0; i < NV; i++) {
        vrec *v = &s->v[i];
        if (!v->live)
            continue;
        mv_object *o = mv_view_object(v->v);
        FUZZ_CHECK(mv_object_exports(o) == (size_t)v->exports);
        FUZZ_CHECK(mv_view_is_released(v->v) == v->released);
        FUZZ_CHECK(((o->flags & MV_OBJECT_LOCAL) != 0) == v->local);
    }
}

static int free_x(state *s)
{
    for (int i = 0; i < NX; i++)
        if (!s->x[i].live)
            return i;
    return -1;
}

static int pick_x(state *s)
{
    int start = u8(s) % NX;
    for (int k = 0; k < NX; k++)
        if (s->x[(start + k) % NX].ref)
            return (start + k) % NX;
    return -1;
}

static int pick_v(state *s)
{
    int start = u8(s) % NV;
    for (int k = 0; k < NV; k++)
        if (s->v[(start + k) % NV].ref)
            return (start + k) % NV;
    return -1;
}

/* A new exporter record for o. */
static xrec *add_x(state *s, int i, mv_object *o, int kind, bool local)
{
    xrec *x = &s->x[i];
    memset(x, 0, sizeof *x);
    x->live = x->ref = true;
    x->o = o;
    x->kind = kind;
    x->vstep = x->itemsize = 1;
    x->isB = true;
    if (local) {
        mv_object_set_local(o);
        x->local = true;
    }
    return x;
}

/* ---- mappings --------------------------------------------------------------- */

static void map_range_model(state *s, xrec *x, int back, int mode, ptrdiff_t off, ptrdiff_t len)
{
    x->back = back;
    x->mode = mode;
    x->off = off;
    x->len = len == -1 ? (ptrdiff_t)s->back[back].size - off : len;
    x->readonly = mode == MV_MAP_READ;
    x->vcount = x->len;
    free(x->priv);
    x->priv = NULL;
    memset(x->privp, 0, sizeof x->privp);
    if (mode == MV_MAP_COPY) {
        x->priv = malloc((size_t)x->len + 1);
        FUZZ_CHECK(x->priv);
    }
}

/* mmap's range rule: MV_EVALUE unless [off, off+len) lies in the file. */
static bool range_ok(ptrdiff_t off, ptrdiff_t len, size_t size)
{
    if (len == -1)
        return (size_t)off <= size;
    ptrdiff_t end;
    return !__builtin_add_overflow(off, len, &end) && (size_t)end <= size;
}

static void gen_range(state *s, size_t size, ptrdiff_t *off, ptrdiff_t *len)
{
    uint8_t a = u8(s), b = u8(s);
    uint16_t r1 = u16(s), r2 = u16(s);
    ptrdiff_t sz = (ptrdiff_t)size;
    switch (a % 8) {
    case 0:
        *off = 0;
        break;
    case 1:
        *off = sz;
        break;
    case 2:
        *off = sz + 1;
        break;
    case 3:
        *off = a & 8 ? -1 : PTRDIFF_MIN;
        break;
    case 4:
        *off = PTRDIFF_MAX - (a >> 4);
        break;
    default:
        *off = r1 % (sz + 1);
        break;
    }
    ptrdiff_t rest = *off >= 0 && *off <= sz ? sz - *off : 0;
    switch (b % 8) {
    case 0:
        *len = -1;
        break;
    case 1:
        *len = 0;
        break;
    case 2:
        *len = rest;
        break;
    case 3:
        *len = rest + 1;
        break;
    case 4:
        *len = b & 8 ? -2 : PTRDIFF_MIN;
        break;
    case 5:
        *len = PTRDIFF_MAX;
        break;
    default:
        *len = r2 % (rest + 1);
        break;
    }
}

static const int map_modes[] = {MV_MAP_READ, MV_MAP_WRITE, MV_MAP_COPY, 3, -1};

/* The argument errors mmap checks before it touches the file. */
static bool bad_args(int mode, ptrdiff_t off, ptrdiff_t len)
{
    return (mode != MV_MAP_READ && mode != MV_MAP_WRITE && mode != MV_MAP_COPY) || off < 0 ||
           len < -1;
}

static void check_range_message(const mv_error *err, ptrdiff_t off, ptrdiff_t len, size_t size)
{
    char t[96];
    snprintf(t, sizeof t, "offset %td, length %td", off, len);
    FUZZ_CHECK_ERR(has_text(err, t), err);
    /* The size comes after the name, which may have cut the message. */
    snprintf(t, sizeof t, "(%zu bytes)", size);
    FUZZ_CHECK_ERR(has_text(err, t) || strlen(err->message) == MV_ERROR_MESSAGE_MAX - 1, err);
}

static void op_mmap(state *s, bool by_fd)
{
    int i = free_x(s);
    if (i < 0)
        return;
    uint8_t k = u8(s);
    int mode = map_modes[k % 5];
    bool local = k & 0x80;
    ptrdiff_t off, len;
    size_t size = s->back[0].size;
    gen_range(s, size, &off, &len);
    uint8_t what = u8(s);
    mv_error err;
    mv_error_clear(&err);
    mv_object *o;
    /* The predicted error code, 0 for success. */
    int want = 0, want_errno = 0;
    if (!by_fd) {
        static const char *const paths[] = {NULL, "/proc/self", "/nonexistent-mvfz/x", "/dev/null"};
        const char *path = what % 8 < 4 ? s->path : paths[what % 4];
        if (!path || bad_args(mode, off, len))
            want = MV_EVALUE;
        else if (path == paths[2])
            want = MV_EOS, want_errno = ENOENT;
        else if (path != s->path)
            want = MV_EVALUE; /* not a regular file */
        o = mv_mmap_open(path, mode, off, len, &err);
        if (want == MV_EOS)
            FUZZ_CHECK_ERR(!o && has_text(&err, path), &err);
    } else {
        /* The file in each access mode, no descriptor, a directory, a pipe. */
        int fd = -1, acc = O_RDONLY, pipefd[2] = {-1, -1};
        switch (what % 8) {
        case 0:
        case 1:
        case 2:
            acc = (int[]){O_RDONLY, O_RDWR, O_WRONLY}[what % 8];
            fd = open(s->path, acc | O_CLOEXEC);
            FUZZ_CHECK(fd >= 0);
            break;
        case 3:
            fd = -1;
            break;
        case 4:
            fd = open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            FUZZ_CHECK(fd >= 0);
            break;
        case 5:
            FUZZ_CHECK(pipe(pipefd) == 0);
            fd = pipefd[0];
            break;
        default:
            acc = (what >> 4) & 1 ? O_RDWR : O_RDONLY;
            fd = open(s->path, acc | O_CLOEXEC);
            FUZZ_CHECK(fd >= 0);
            break;
        }
        bool file = fd >= 0 && what % 8 != 4 && what % 8 != 5;
        if (bad_args(mode, off, len))
            want = MV_EVALUE;
        else if (fd < 0)
            want = MV_EOS, want_errno = EBADF;
        else if (acc == O_WRONLY || (mode == MV_MAP_WRITE && acc != O_RDWR))
            want = MV_EOS, want_errno = EACCES;
        else if (!file)
            want = MV_EVALUE; /* not a regular file */
        o = mv_mmap_fd(fd, mode, off, len, &err);
        if (want == MV_EOS) {
            char t[32];
            snprintf(t, sizeof t, "fd %d", fd);
            FUZZ_CHECK_ERR(!o && has_text(&err, t), &err);
        }
        /* The mapping keeps its own descriptor. */
        if (fd >= 0)
            close(fd);
        if (pipefd[1] >= 0)
            close(pipefd[1]);
    }
    bool range_error = want == 0 && !range_ok(off, len, size);
    if (range_error)
        want = MV_EVALUE;
    if (want) {
        expect_null(o, &err, want);
        if (want == MV_EOS)
            FUZZ_CHECK_ERR(err.os_errno == want_errno, &err);
        if (range_error)
            check_range_message(&err, off, len, size);
        return;
    }
    FUZZ_CHECK_ERR(o, &err);
    FUZZ_CHECK(strcmp(mv_object_type_name(o), "mmap") == 0);
    xrec *x = add_x(s, i, o, K_MMAP, local);
    map_range_model(s, x, 0, mode, off, len);
    check_data(s, x);
}

/* The name of shm slot k (k < NNAME valid; others invalid or NULL). */
static const char *shm_name(state *s, int k, char *buf)
{
    if (k < NNAME)
        return s->name_text[k];
    switch (k - NNAME) {
    case 0:
        return NULL;
    case 1:
        return "";
    case 2:
        return "/";
    case 3:
        return "mvfz-noslash";
    case 4:
        snprintf(buf, NAME_MAX + 3, "%s/x", s->name_text[0]);
        return buf;
    default:
        /* one byte longer than the longest valid name */
        snprintf(buf, NAME_MAX + 3, "%sL", s->name_text[NNAME - 1]);
        return buf;
    }
}

/* The largest end of a live mapping of backing b (shrinking below it
 * would make those pages raise SIGBUS: the harness never does that). */
static size_t mapped_end(state *s, int b)
{
    size_t end = 0;
    for (int i = 0; i < NX; i++) {
        xrec *x = &s->x[i];
        if (x->live && x->kind == K_MMAP && x->back == b && !x->closed &&
            (size_t)(x->off + x->len) > end)
            end = (size_t)(x->off + x->len);
    }
    return end;
}

static void op_shm_open(state *s)
{
    int i = free_x(s);
    if (i < 0)
        return;
    static const int flag_set[] = {0,
                                   MV_SHM_CREATE,
                                   MV_SHM_CREATE | MV_SHM_EXCL,
                                   MV_SHM_READONLY,
                                   MV_SHM_CREATE | MV_SHM_READONLY,
                                   MV_SHM_CREATE | MV_SHM_EXCL | MV_SHM_READONLY,
                                   MV_SHM_EXCL,
                                   8,
                                   -1,
                                   MV_SHM_CREATE};
    uint8_t k = u8(s), f = u8(s), z = u8(s);
    uint16_t r = u16(s);
    int slot = k % (NNAME + 6);
    char buf[NAME_MAX + 3];
    const char *name = shm_name(s, slot, buf);
    int flags = flag_set[f % 10];
    bool create = flags & MV_SHM_CREATE,
         valid_flags = !(flags & ~7) && (!(flags & MV_SHM_EXCL) || create);
    int b = slot < NNAME ? s->names[slot] : -1;
    ptrdiff_t size;
    switch (z % 6) {
    case 0:
        size = 0;
        break;
    case 1:
        size = -1 - (z >> 4);
        break;
    case 2:
        size = PTRDIFF_MAX;
        break;
    case 3:
        size = b >= 0 ? (ptrdiff_t)s->back[b].size : 0;
        break;
    default:
        size = r % (MAXFILE + 1);
        break;
    }
    /* The harness keeps the mapped pages of an existing object, and asks
     * for a size only the kernel can refuse only of a new object. */
    if (create && b >= 0 && (size < 0 || size == PTRDIFF_MAX || (size_t)size < mapped_end(s, b)))
        size = (ptrdiff_t)s->back[b].size;
    int nb = -1;
    if (create && b < 0 && slot < NNAME) {
        for (int j = 1; j < NBACK && nb < 0; j++)
            if (!s->back[j].used)
                nb = j;
        if (nb < 0)
            return;
    }
    int want = 0, want_errno = 0;
    if (slot >= NNAME || !valid_flags || size < 0)
        want = MV_EVALUE;
    else if (create && b >= 0 && (flags & MV_SHM_EXCL))
        want = MV_EOS, want_errno = EEXIST;
    else if (!create && b < 0)
        want = MV_EOS, want_errno = ENOENT;
    else if (!create && size != 0 && size != (ptrdiff_t)s->back[b].size)
        want = MV_EVALUE;
    bool huge = want == 0 && size == PTRDIFF_MAX;
    mv_error err;
    mv_error_clear(&err);
    mv_object *o = mv_shm_open(name, flags, size, &err);
    if (huge) {
        /* Too large to map: it fails, and removes the object it made. */
        fuzz_ptr(o, &err);
        FUZZ_CHECK_ERR(!o, &err);
        int fd = shm_open(name, O_RDONLY, 0);
        FUZZ_CHECK(fd < 0 && errno == ENOENT);
        return;
    }
    if (want) {
        expect_null(o, &err, want);
        if (want == MV_EOS)
            FUZZ_CHECK_ERR(err.os_errno == want_errno && names(&err, name), &err);
        return;
    }
    FUZZ_CHECK_ERR(o, &err);
    if (b < 0) {
        b = nb;
        s->back[b].used = true;
        s->back[b].name = slot;
        s->back[b].size = 0;
        s->names[slot] = b;
    }
    backing *bk = &s->back[b];
    if (create) {
        /* ftruncate: cut, or zero-filled growth */
        if ((size_t)size > bk->size)
            memset(bk->bytes + bk->size, 0, (size_t)size - bk->size);
        bk->size = (size_t)size;
    }
    xrec *x = add_x(s, i, o, K_MMAP, k & 0x80);
    map_range_model(s, x, b, flags & MV_SHM_READONLY ? MV_MAP_READ : MV_MAP_WRITE, 0, -1);
    check_data(s, x);
}

static void op_shm_unlink(state *s)
{
    int slot = u8(s) % (NNAME + 6);
    char buf[NAME_MAX + 3];
    const char *name = shm_name(s, slot, buf);
    mv_error err;
    mv_error_clear(&err);
    int rc = mv_shm_unlink(name, &err);
    if (slot >= NNAME) {
        expect_fail(rc, &err, MV_EVALUE);
        return;
    }
    int b = s->names[slot];
    if (b < 0) {
        expect_fail(rc, &err, MV_EOS);
        FUZZ_CHECK_ERR(err.os_errno == ENOENT, &err);
        return;
    }
    FUZZ_CHECK_ERR(rc == 0, &err);
    s->names[slot] = -1;
    s->back[b].name = -1;
    backing_forget(s, b);
}

static void check_view_bytes(state *s, const vrec *v);

/* Close, remap or sync a mapping (or anything else, which must be refused). */
static void op_mapping_ctl(state *s)
{
    int i = pick_x(s);
    if (i < 0)
        return;
    xrec *x = &s->x[i];
    uint8_t k = u8(s);
    bool mapping = x->kind == K_MMAP;
    mv_error err;
    mv_error_clear(&err);
    char t[96];
    switch (k % 3) {
    case 0: {
        int rc = mv_mmap_close(x->o, &err);
        if (!mapping) {
            expect_fail(rc, &err, MV_ETYPE);
        } else if (x->closed) {
            FUZZ_CHECK_ERR(rc == 0, &err);
        } else if (x->exports > 0) {
            expect_fail(rc, &err, MV_EBUFFER);
            snprintf(t, sizeof t, "cannot close mmap: %d exported buffer%s exist%s", x->exports,
                     x->exports == 1 ? "" : "s", x->exports == 1 ? "s" : "");
            FUZZ_CHECK_ERR(strcmp(err.message, t) == 0, &err);
            /* Refused: the mapping and every view of it still work. */
            for (int j = 0; j < NV; j++)
                if (s->v[j].live && s->v[j].x == i && !s->v[j].released)
                    check_view_bytes(s, &s->v[j]);
        } else {
            FUZZ_CHECK_ERR(rc == 0, &err);
            x->closed = true;
        }
        break;
    }
    case 1: {
        ptrdiff_t off, len;
        size_t size = mapping ? s->back[x->back].size : 0;
        gen_range(s, size, &off, &len);
        int rc = mv_mmap_remap(x->o, off, len, &err);
        if (!mapping) {
            expect_fail(rc, &err, MV_ETYPE);
        } else if (x->closed) {
            expect_fail(rc, &err, MV_EVALUE);
            FUZZ_CHECK_ERR(strcmp(err.message, "mmap closed or invalid") == 0, &err);
        } else if (x->exports > 0) {
            expect_fail(rc, &err, MV_EBUFFER);
            snprintf(t, sizeof t, "cannot remap mmap: %d exported buffer%s exist%s", x->exports,
                     x->exports == 1 ? "" : "s", x->exports == 1 ? "s" : "");
            FUZZ_CHECK_ERR(strcmp(err.message, t) == 0, &err);
        } else if (off < 0 || len < -1 || !range_ok(off, len, size)) {
            expect_fail(rc, &err, MV_EVALUE);
            if (off >= 0 && len >= -1)
                check_range_message(&err, off, len, size);
        } else {
            FUZZ_CHECK_ERR(rc == 0, &err);
            map_range_model(s, x, x->back, x->mode, off, len);
        }
        break;
    }
    default: {
        int rc = mv_mmap_sync(x->o, k & 8, &err);
        if (!mapping)
            expect_fail(rc, &err, MV_ETYPE);
        else if (x->closed)
            expect_fail(rc, &err, MV_EVALUE);
        else
            FUZZ_CHECK_ERR(rc == 0, &err);
        if (mapping && x->back == 0)
            check_file(s);
        break;
    }
    }
    check_data(s, x);
}

/* Write to (and maybe grow) the file behind the mappings, with pwrite. */
static void op_file_write(state *s)
{
    backing *b = &s->back[0];
    uint16_t r = u16(s);
    size_t pos = r % (b->size + 65), n = 1 + u8(s) % 16;
    if (pos + n > MAXFILE)
        return;
    unsigned char buf[16];
    for (size_t i = 0; i < n; i++)
        buf[i] = u8(s);
    FUZZ_CHECK(pwrite(s->fd, buf, n, (off_t)pos) == (ssize_t)n);
    if (pos > b->size)
        memset(b->bytes + b->size, 0, pos - b->size);
    memcpy(b->bytes + pos, buf, n);
    if (pos + n > b->size)
        b->size = pos + n;
    check_file(s);
}

/* ---- memory-owning exporters -------------------------------------------------- */

static const struct {
    const char *text;
    ptrdiff_t itemsize; /* 0: does not parse or has item size 0 */
} array_formats[] = {
    {"B", 1}, {"<h", 2}, {"i", 4}, {"d", 8},  {"3s", 3}, {"T{<h:a:B:b:}", 3},
    {"?", 1}, {"", 0},   {"(", 0}, {"0s", 0}, {"Q{", 0},
};

static void op_new_owner(state *s)
{
    int i = free_x(s);
    if (i < 0)
        return;
    uint8_t k = u8(s), m = u8(s);
    bool local = k & 0x80;
    size_t n = m % 49, got;
    const uint8_t *src = fz_bytes(&s->in, n, &got);
    unsigned char bytes[48];
    memcpy(bytes, src, got);
    memset(bytes + got, 0x5a, n - got);
    mv_error err;
    mv_error_clear(&err);
    mv_object *o;
    xrec *x;
    switch (k % 3) {
    case 0: {
        /* bytearray: a copy, zeros for NULL data, an impossible length */
        bool null = m & 0x40, huge = (m & 0xc0) == 0xc0;
        o = mv_bytearray_new(null ? NULL : bytes, huge ? SIZE_MAX : n, &err);
        if (huge) {
            expect_null(o, &err, MV_EOVERFLOW);
            return;
        }
        FUZZ_CHECK_ERR(o, &err);
        x = add_x(s, i, o, K_BYTEARRAY, local);
        break;
    }
    case 1: {
        bool null = m & 0x40, huge = (m & 0xc0) == 0xc0;
        o = mv_bytes_new(null && !huge ? NULL : bytes, huge ? SIZE_MAX : n, &err);
        if (huge) {
            expect_null(o, &err, MV_EOVERFLOW);
            return;
        }
        if (null && n > 0) {
            expect_null(o, &err, MV_EVALUE);
            return;
        }
        FUZZ_CHECK_ERR(o, &err);
        x = add_x(s, i, o, K_BYTES, local);
        x->readonly = true;
        break;
    }
    default: {
        int fi = (k >> 2) % (int)(sizeof array_formats / sizeof array_formats[0]);
        const char *text = (k >> 2) % 16 == 15 ? NULL : array_formats[fi].text;
        ptrdiff_t itemsize = text ? array_formats[fi].itemsize : 0;
        ptrdiff_t count = m % 21;
        if ((m & 0xc0) == 0x40)
            count = -1;
        /* An overflowing count (a count that fits would be allocated). */
        else if ((m & 0xc0) == 0xc0 && itemsize >= 2)
            count = PTRDIFF_MAX / 2 + 1;
        o = mv_array_new(text, count, &err);
        if (itemsize == 0 || count < 0) {
            expect_null(o, &err, MV_EVALUE);
            return;
        }
        if (count > PTRDIFF_MAX / itemsize) {
            expect_null(o, &err, MV_EOVERFLOW);
            return;
        }
        FUZZ_CHECK_ERR(o, &err);
        x = add_x(s, i, o, K_ARRAY, local);
        x->itemsize = x->vstep = itemsize;
        x->isB = strcmp(text, "B") == 0;
        n = (size_t)(count * itemsize);
        x->vcount = count;
        break;
    }
    }
    x->model = malloc(n + 1);
    FUZZ_CHECK(x->model);
    if (x->kind == K_ARRAY || ((m & 0x40) && x->kind == K_BYTEARRAY))
        memset(x->model, 0, n);
    else
        memcpy(x->model, bytes, n);
    x->mlen = n;
    if (x->kind != K_ARRAY)
        x->vcount = (ptrdiff_t)n;
    check_data(s, x);
}

/* External memory (plain or with a 1-D strided layout) over a block of
 * ours, with or without a release callback. */
static void op_new_external(state *s)
{
    int i = free_x(s);
    if (i < 0)
        return;
    uint8_t k = u8(s), m = u8(s), a = u8(s), b = u8(s);
    unsigned char *block = malloc(EXTLEN);
    FUZZ_CHECK(block);
    for (int j = 0; j < EXTLEN; j++)
        block[j] = (unsigned char)(j * 29 + k);
    bool with_cb = !(k & 0x40), readonly = k & 0x20;
    ext_ctx *ctx = with_cb ? new_ctx(s, block) : NULL;
    if (with_cb && !ctx) {
        free(block);
        return;
    }
    mv_error err;
    mv_error_clear(&err);
    mv_object *o;
    ptrdiff_t base = 0, stride = 1, count = 0, itemsize = 1;
    bool isB = true;
    int want = 0;
    if (!(k & 1)) {
        ptrdiff_t len = m % (EXTLEN + 1);
        void *mem = block;
        if (m >= 0xf0)
            len = -1 - (m & 3), want = MV_EVALUE;
        else if (m >= 0xe0 && len > 0)
            mem = NULL, want = MV_EVALUE;
        o = mv_external_new(mem, len, readonly, with_cb ? ext_release : NULL, ctx, &err);
        count = len;
    } else {
        static const struct {
            const char *format;
            ptrdiff_t itemsize;
        } lf[] = {{"B", 1}, {NULL, 1}, {"<h", 2}, {"3s", 3}, {"<i", 4}};
        int fi = (m >> 5) % 5;
        itemsize = lf[fi].itemsize;
        isB = itemsize == 1;
        count = m % 9;
        ptrdiff_t mag = itemsize * (1 + a % 3);
        stride = a & 0x80 ? -mag : mag;
        ptrdiff_t extent = count > 0 ? (count - 1) * mag + itemsize : 0;
        while (extent > EXTLEN) {
            count--;
            extent = (count - 1) * mag + itemsize;
        }
        /* Every item inside the block: the caller's promise. */
        base = (ptrdiff_t)(b % (EXTLEN - extent + 1)) +
               (stride < 0 && count > 0 ? extent - itemsize : 0);
        ptrdiff_t shape[2] = {count, 2}, strides[2] = {stride, 1};
        mv_buffer lay = {.buf = block + base,
                         .len = count * itemsize,
                         .itemsize = itemsize,
                         .readonly = readonly,
                         .ndim = 1,
                         .format = lf[fi].format,
                         .shape = shape,
                         .strides = strides};
        /* Descriptors mv_buffer_validate refuses. */
        switch (a % 16) {
        case 0:
            lay.ndim = MV_MAX_NDIM + 1;
            want = MV_EVALUE;
            break;
        case 1:
            lay.ndim = -1;
            want = MV_EVALUE;
            break;
        case 2:
            lay.ndim = 2;
            lay.shape = NULL;
            want = MV_EVALUE;
            break;
        case 3:
            if (count > 0) {
                lay.itemsize = 0;
                want = MV_EVALUE;
            }
            break;
        case 4:
            lay.len += itemsize;
            want = MV_EVALUE;
            break;
        case 5:
            if (lf[fi].format && itemsize > 1) {
                lay.format = "<q";
                want = MV_EVALUE;
            }
            break;
        case 6:
            /* No shape and no strides: 1-D, C-contiguous, len / itemsize items. */
            if (stride == itemsize) {
                lay.shape = NULL;
                lay.strides = NULL;
            }
            break;
        case 7:
            if (stride == itemsize || count <= 1)
                lay.strides = NULL;
            break;
        default:
            break;
        }
        o = mv_external_new_layout(a % 16 == 8 ? NULL : &lay, with_cb ? ext_release : NULL, ctx,
                                   &err);
        if (a % 16 == 8)
            want = MV_EVALUE;
    }
    if (want) {
        expect_null(o, &err, want);
        /* On error nothing is called and the memory stays ours. */
        free(block);
        return;
    }
    FUZZ_CHECK_ERR(o, &err);
    FUZZ_CHECK(strcmp(mv_object_type_name(o), "external") == 0);
    xrec *x = add_x(s, i, o, k & 1 ? K_EXTL : K_EXT, k & 0x80);
    x->readonly = readonly;
    x->block = block;
    x->ctx = ctx;
    if (ctx) {
        /* The callback gets the memory as given: layout->buf for a layout. */
        ctx->mem = block + base;
        ctx->used = true;
    }
    x->model = malloc(EXTLEN);
    FUZZ_CHECK(x->model);
    memcpy(x->model, block, EXTLEN);
    x->mlen = EXTLEN;
    x->vbase = base;
    x->vstep = stride;
    x->vcount = count;
    x->itemsize = itemsize;
    x->isB = isB;
    check_data(s, x);
}

static void op_resize(state *s)
{
    int i = pick_x(s);
    if (i < 0)
        return;
    xrec *x = &s->x[i];
    uint8_t k = u8(s);
    size_t newlen = k % 64;
    if (k >= 0xfc)
        newlen = k & 1 ? SIZE_MAX : (size_t)PTRDIFF_MAX;
    mv_error err;
    mv_error_clear(&err);
    int rc = mv_bytearray_resize(x->o, newlen, &err);
    if (x->kind != K_BYTEARRAY) {
        expect_fail(rc, &err, MV_ETYPE);
    } else if (x->exports > 0) {
        expect_fail(rc, &err, MV_EBUFFER);
        FUZZ_CHECK_ERR(
            strcmp(err.message, "Existing exports of data: object cannot be re-sized") == 0, &err);
    } else if (newlen > (size_t)PTRDIFF_MAX - 1) {
        expect_fail(rc, &err, MV_EOVERFLOW);
    } else {
        FUZZ_CHECK_ERR(rc == 0, &err);
        unsigned char *p = realloc(x->model, newlen + 1);
        FUZZ_CHECK(p);
        if (newlen > x->mlen)
            memset(p + x->mlen, 0, newlen - x->mlen);
        x->model = p;
        x->mlen = newlen;
        x->vcount = (ptrdiff_t)newlen;
    }
    check_data(s, x);
}

static void op_decref_x(state *s)
{
    int i = pick_x(s);
    if (i < 0)
        return;
    s->x[i].ref = false;
    mv_decref(s->x[i].o);
    x_maybe_die(s, i);
}

/* ---- views -------------------------------------------------------------------- */

static int free_v(state *s)
{
    for (int i = 0; i < NV; i++)
        if (!s->v[i].live)
            return i;
    return -1;
}

/* The view's bytes in C order, from the model. */
static void model_gather(state *s, const vrec *v, unsigned char *out)
{
    xrec *x = &s->x[v->x];
    for (ptrdiff_t i = 0; i < v->count; i++)
        for (ptrdiff_t b = 0; b < v->itemsize; b++)
            *out++ = mget(s, x, v->off + i * v->step + b);
}

static void check_view_bytes(state *s, const vrec *v)
{
    mv_error err;
    mv_error_clear(&err);
    size_t len = 0;
    unsigned char *got = mv_view_tobytes(v->v, 'C', &len, &err);
    if (v->released) {
        expect_null(got, &err, MV_EVALUE);
        FUZZ_CHECK_ERR(
            strcmp(err.message, "operation forbidden on released memoryview object") == 0, &err);
        return;
    }
    FUZZ_CHECK_ERR(got, &err);
    FUZZ_CHECK(len == (size_t)(v->count * v->itemsize));
    unsigned char *want = malloc(len + 1);
    FUZZ_CHECK(want);
    model_gather(s, v, want);
    FUZZ_CHECK(memcmp(got, want, len) == 0);
    free(want);
    free(got);
}

static void op_view_new(state *s)
{
    int vi = free_v(s);
    if (vi < 0)
        return;
    uint8_t k = u8(s);
    vrec *src = NULL;
    int xi;
    if (k & 1) {
        int si = pick_v(s);
        if (si < 0)
            return;
        src = &s->v[si];
        xi = src->x;
    } else if ((xi = pick_x(s)) < 0) {
        return;
    }
    xrec *x = &s->x[xi];
    mv_error err;
    mv_error_clear(&err);
    mv_view *v = mv_view_new(src ? mv_view_object(src->v) : x->o, &err);
    if (src && src->released) {
        expect_null(v, &err, MV_EVALUE);
        return;
    }
    if (!src && x->kind == K_MMAP && x->closed) {
        expect_null(v, &err, MV_EVALUE);
        FUZZ_CHECK_ERR(strcmp(err.message, "mmap closed or invalid") == 0, &err);
        return;
    }
    FUZZ_CHECK_ERR(v, &err);
    FUZZ_CHECK(mv_view_exporter(v) == x->o);
    vrec *n = &s->v[vi];
    memset(n, 0, sizeof *n);
    n->live = n->ref = true;
    n->v = v;
    n->x = xi;
    if (src) {
        /* A view of a view shares its managed buffer. */
        n->group = src->group;
        n->off = src->off;
        n->step = src->step;
        n->count = src->count;
        n->itemsize = src->itemsize;
        n->readonly = src->readonly;
        n->isB = src->isB;
        n->local = src->local;
    } else {
        int g = 0;
        while (s->g[g].used)
            g++;
        s->g[g] = (group){.used = true, .x = xi, .views = 0};
        x->exports++;
        n->group = g;
        n->off = x->vbase;
        n->step = x->vstep;
        n->count = x->vcount;
        n->itemsize = x->itemsize;
        n->readonly = x->readonly;
        n->isB = x->isB;
        n->local = x->local;
    }
    s->g[n->group].views++;
    const mv_buffer *b = mv_view_buffer(v, NULL);
    FUZZ_CHECK(b && b->readonly == n->readonly && b->itemsize == n->itemsize && b->ndim == 1);
    check_view_bytes(s, n);
}

/* Python's slice semantics on a length n. */
static ptrdiff_t py_slice(ptrdiff_t n, const mv_key *k, ptrdiff_t *start, ptrdiff_t *step)
{
    ptrdiff_t st = k->has_step ? k->step : 1;
    ptrdiff_t lo = st < 0 ? -1 : 0, hi = st < 0 ? n - 1 : n;
    ptrdiff_t b = k->has_start ? k->start : st < 0 ? hi : lo;
    ptrdiff_t e = k->has_stop ? k->stop : st < 0 ? lo : hi;
    if (k->has_start)
        b = b < 0 ? (b + n < lo ? lo : b + n) : (b > hi ? hi : b);
    if (k->has_stop)
        e = e < 0 ? (e + n < lo ? lo : e + n) : (e > hi ? hi : e);
    *start = b;
    *step = st;
    if (st > 0)
        return e > b ? (e - b - 1) / st + 1 : 0;
    return b > e ? (b - e - 1) / -st + 1 : 0;
}

static void op_slice(state *s)
{
    int si = pick_v(s), vi = free_v(s);
    if (si < 0 || vi < 0)
        return;
    vrec *src = &s->v[si];
    uint8_t has = u8(s), lo = u8(s), hi = u8(s);
    mv_key key = {.kind = MV_KEY_SLICE,
                  .has_start = has & 1,
                  .has_stop = has & 2,
                  .has_step = has & 4,
                  .start = (ptrdiff_t)(lo % 40) - 20,
                  .stop = (ptrdiff_t)(hi % 40) - 20,
                  .step = (ptrdiff_t)(has >> 4) % 7 - 3};
    mv_error err;
    mv_error_clear(&err);
    mv_view *v = mv_view_subscript(src->v, &key, 1, &err);
    if (src->released) {
        expect_null(v, &err, MV_EVALUE);
        return;
    }
    if (key.has_step && key.step == 0) {
        expect_null(v, &err, MV_EVALUE);
        FUZZ_CHECK_ERR(strcmp(err.message, "slice step cannot be zero") == 0, &err);
        return;
    }
    FUZZ_CHECK_ERR(v, &err);
    ptrdiff_t start, step, count = py_slice(src->count, &key, &start, &step);
    vrec *n = &s->v[vi];
    *n = *src;
    n->ref = true;
    n->exports = 0;
    n->v = v;
    n->off = src->off + start * src->step;
    n->step = src->step * step;
    n->count = count;
    s->g[n->group].views++;
    const mv_buffer *b = mv_view_buffer(v, NULL);
    FUZZ_CHECK(b && b->ndim == 1 && b->shape[0] == count);
    check_view_bytes(s, n);
}

/* A value for a 'B' item; *valid is the byte it packs to, or the error
 * code packing it must give. */
static void random_value(state *s, mv_value *val, int *valid)
{
    uint8_t k = u8(s), x = u8(s);
    memset(val, 0, sizeof *val);
    *valid = 0;
    switch (k % 6) {
    case 0:
    case 1:
        val->kind = MV_VALUE_UNSIGNED;
        val->v.u = x;
        *valid = x;
        break;
    case 2:
        val->kind = MV_VALUE_BOOL;
        val->v.b = x & 1;
        *valid = x & 1;
        break;
    case 3:
        val->kind = MV_VALUE_UNSIGNED;
        val->v.u = 256 + x;
        *valid = MV_EVALUE;
        break;
    case 4:
        val->kind = MV_VALUE_SIGNED;
        val->v.i = -1 - x;
        *valid = MV_EVALUE;
        break;
    default:
        val->kind = MV_VALUE_DOUBLE;
        val->v.d = x;
        *valid = MV_ETYPE;
        break;
    }
}

/* Read or write one item of a 'B' view. */
static void op_item(state *s)
{
    int vi = pick_v(s);
    if (vi < 0)
        return;
    vrec *v = &s->v[vi];
    if (!v->isB)
        return;
    uint8_t k = u8(s);
    uint16_t r = u16(s);
    ptrdiff_t idx = (ptrdiff_t)r % (2 * v->count + 6) - v->count - 3;
    bool in_range = idx >= -v->count && idx < v->count;
    ptrdiff_t pos = v->off + (idx < 0 ? idx + v->count : idx) * v->step;
    mv_error err;
    mv_error_clear(&err);
    mv_value val;
    xrec *x = &s->x[v->x];
    if (k & 1) {
        int rc = mv_view_get_item(v->v, &idx, 1, &val, 1, &err);
        if (v->released)
            expect_fail(rc, &err, MV_EVALUE);
        else if (!in_range)
            expect_fail(rc, &err, MV_EINDEX);
        else
            FUZZ_CHECK_ERR(rc == 0 && val.kind == MV_VALUE_UNSIGNED && val.v.u == mget(s, x, pos),
                           &err);
        return;
    }
    int valid;
    random_value(s, &val, &valid);
    int rc = mv_view_set_item(v->v, &idx, 1, &val, 1, &err);
    if (v->released) {
        expect_fail(rc, &err, MV_EVALUE);
    } else if (v->readonly) {
        expect_fail(rc, &err, MV_ETYPE);
        FUZZ_CHECK_ERR(strcmp(err.message, "cannot modify read-only memory") == 0, &err);
    } else if (!in_range) {
        expect_fail(rc, &err, MV_EINDEX);
    } else if (valid < 0) {
        expect_fail(rc, &err, valid);
    } else {
        FUZZ_CHECK_ERR(rc == 0, &err);
        mset(s, x, pos, (unsigned char)valid);
        if (x->kind == K_MMAP && x->back == 0)
            check_file(s);
    }
    if (x->live) /* a released view may have outlived its exporter */
        check_data(s, x);
    check_view_bytes(s, v);
}

static void op_read(state *s)
{
    int vi = pick_v(s);
    if (vi >= 0)
        check_view_bytes(s, &s->v[vi]);
    int xi = pick_x(s);
    if (xi >= 0)
        check_data(s, &s->x[xi]);
}

static void op_view_release(state *s)
{
    int vi = pick_v(s);
    if (vi < 0)
        return;
    vrec *v = &s->v[vi];
    mv_error err;
    mv_error_clear(&err);
    int rc = mv_view_release(v->v, &err);
    if (v->released) {
        FUZZ_CHECK_ERR(rc == 0, &err);
    } else if (v->exports > 0) {
        expect_fail(rc, &err, MV_EBUFFER);
        char t[64];
        snprintf(t, sizeof t, "memoryview has %d exported buffer%s", v->exports,
                 v->exports == 1 ? "" : "s");
        FUZZ_CHECK_ERR(strcmp(err.message, t) == 0, &err);
    } else {
        FUZZ_CHECK_ERR(rc == 0, &err);
        v->released = true;
        group_drop(s, v->group);
    }
}

static void op_view_decref(state *s)
{
    int vi = pick_v(s);
    if (vi < 0)
        return;
    s->v[vi].ref = false;
    mv_decref(s->v[vi].v);
    v_maybe_die(s, vi);
}

static const int req_flags[] = {MV_BUF_SIMPLE,    MV_BUF_WRITABLE, MV_BUF_FULL_RO, MV_BUF_FULL,
                                MV_BUF_CONTIG_RO, MV_BUF_RECORDS,  MV_BUF_STRIDED, MV_BUF_ND};

/* A raw buffer of an exporter or a view. */
static void op_getbuffer(state *s)
{
    int hi = u8(s) % NHELD;
    held *h = &s->h[hi];
    if (h->used)
        return;
    uint8_t k = u8(s);
    int flags = req_flags[k % 8];
    bool on_view = k & 0x80;
    int idx = on_view ? pick_v(s) : pick_x(s);
    if (idx < 0)
        return;
    mv_object *target = on_view ? mv_view_object(s->v[idx].v) : s->x[idx].o;
    mv_error err;
    mv_error_clear(&err);
    memset(&h->b, 0, sizeof h->b);
    int rc = mv_object_getbuffer(target, &h->b, flags, &err);
    fuzz_rc(rc, &err);
    bool writable = flags & MV_BUF_WRITABLE;
    if (on_view) {
        vrec *v = &s->v[idx];
        if (v->released) {
            expect_fail(rc, &err, MV_EVALUE);
        } else if (writable && v->readonly) {
            expect_fail(rc, &err, MV_EBUFFER);
        }
    } else {
        xrec *x = &s->x[idx];
        bool plain = x->kind != K_ARRAY && x->kind != K_EXTL;
        if (x->kind == K_MMAP && x->closed) {
            expect_fail(rc, &err, MV_EVALUE);
            FUZZ_CHECK_ERR(strcmp(err.message, "mmap closed or invalid") == 0, &err);
        } else if (writable && x->readonly) {
            expect_fail(rc, &err, MV_EBUFFER);
        } else if (plain) {
            /* 1-D contiguous bytes answer every request. */
            FUZZ_CHECK_ERR(rc == 0, &err);
        }
    }
    if (rc < 0) {
        memset(&h->b, 0, sizeof h->b);
        return;
    }
    FUZZ_CHECK(h->b.obj == target);
    if (writable)
        FUZZ_CHECK(!h->b.readonly);
    h->used = true;
    h->on_view = on_view;
    h->idx = idx;
    if (on_view) {
        s->v[idx].exports++;
        return;
    }
    xrec *x = &s->x[idx];
    x->exports++;
    FUZZ_CHECK(h->b.readonly == x->readonly);
    if (x->kind != K_EXTL && x->kind != K_ARRAY) {
        /* The object's bytes, in place. */
        FUZZ_CHECK(h->b.len == x->vcount);
        for (ptrdiff_t i = 0; i < h->b.len; i++)
            FUZZ_CHECK(((unsigned char *)h->b.buf)[i] == mget(s, x, i));
    }
}

static void op_release_held(state *s)
{
    held *h = &s->h[u8(s) % NHELD];
    if (!h->used)
        return;
    mv_buffer_release(&h->b);
    FUZZ_CHECK(h->b.obj == NULL);
    mv_buffer_release(&h->b); /* idempotent */
    h->used = false;
    if (h->on_view) {
        s->v[h->idx].exports--;
        v_maybe_die(s, h->idx);
    } else {
        s->x[h->idx].exports--;
        x_maybe_die(s, h->idx);
    }
}

/* ---- the program ----------------------------------------------------------------- */

static bool mapped_anything(void)
{
    FILE *m = fopen("/proc/self/maps", "r");
    FUZZ_CHECK(m);
    char line[PATH_MAX + 256];
    bool found = false;
    while (!found && fgets(line, sizeof line, m))
        found = strstr(line, "mvfz-exp") != NULL;
    fclose(m);
    return found;
}

static void teardown(state *s)
{
    /* Drop everything in an order the input picks. */
    for (int round = 0; round < NHELD + NV + NX; round++) {
        uint8_t k = u8(s);
        int what = k % 3;
        if (what == 0) {
            for (int j = 0; j < NHELD; j++) {
                held *h = &s->h[(k + j) % NHELD];
                if (h->used) {
                    mv_buffer_release(&h->b);
                    h->used = false;
                    if (h->on_view) {
                        s->v[h->idx].exports--;
                        v_maybe_die(s, h->idx);
                    } else {
                        s->x[h->idx].exports--;
                        x_maybe_die(s, h->idx);
                    }
                    break;
                }
            }
        } else if (what == 1) {
            int vi = pick_v(s);
            if (vi >= 0) {
                s->v[vi].ref = false;
                mv_decref(s->v[vi].v);
                v_maybe_die(s, vi);
            }
        } else {
            int xi = pick_x(s);
            if (xi >= 0) {
                s->x[xi].ref = false;
                mv_decref(s->x[xi].o);
                x_maybe_die(s, xi);
            }
        }
        check_counts(s);
    }
    for (int j = 0; j < NHELD; j++)
        if (s->h[j].used) {
            held *h = &s->h[j];
            mv_buffer_release(&h->b);
            h->used = false;
            if (h->on_view) {
                s->v[h->idx].exports--;
                v_maybe_die(s, h->idx);
            } else {
                s->x[h->idx].exports--;
                x_maybe_die(s, h->idx);
            }
        }
    for (int i = 0; i < NV; i++)
        if (s->v[i].ref) {
            s->v[i].ref = false;
            mv_decref(s->v[i].v);
            v_maybe_die(s, i);
        }
    for (int i = 0; i < NX; i++)
        if (s->x[i].ref) {
            s->x[i].ref = false;
            mv_decref(s->x[i].o);
            x_maybe_die(s, i);
        }
    /* The model agrees that nothing is left (LeakSanitizer checks that the
     * library agrees); every callback has run. */
    for (int i = 0; i < NX; i++)
        FUZZ_CHECK(!s->x[i].live);
    for (int i = 0; i < NV; i++)
        FUZZ_CHECK(!s->v[i].live);
    for (size_t i = 0; i < sizeof s->ctx / sizeof s->ctx[0]; i++)
        FUZZ_CHECK(!s->ctx[i].used);
    /* Exactly the names the model has exist; remove them. */
    for (int k = 0; k < NNAME; k++) {
        int rc = shm_unlink(s->name_text[k]);
        FUZZ_CHECK((rc == 0) == (s->names[k] >= 0));
        FUZZ_CHECK(rc == 0 || errno == ENOENT);
    }
    close(s->fd);
    FUZZ_CHECK(!mapped_anything());
}

/* shm objects of fuzzer processes that died in the middle of an input (a
 * crash skips the unlinks) are removed when the next one starts. */
static void remove_stale_shm(void)
{
    DIR *d = opendir("/dev/shm");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        long pid;
        if (sscanf(e->d_name, "mvfz-exp-%ld-", &pid) != 1 || pid <= 0)
            continue;
        /* Ours at start-up are a dead process's too (its pid reused). */
        if (pid != (long)getpid() && (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
            continue;
        char name[NAME_MAX + 2];
        snprintf(name, sizeof name, "/%s", e->d_name);
        shm_unlink(name);
    }
    closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static state *s;
    if (!s) {
        s = malloc(sizeof *s);
        FUZZ_CHECK(s);
        remove_stale_shm();
    }
    memset(s, 0, sizeof *s);
    s->in = (fz){data, size};
    s->page = sysconf(_SC_PAGESIZE);
    FUZZ_CHECK(s->page >= 4096 && s->page <= 4096 * 16); /* MAXPAGE assumes it */
    int free_fd = lowest_free_fd();
    for (int k = 0; k < NNAME; k++) {
        s->names[k] = -1;
        snprintf(s->name_text[k], sizeof s->name_text[k], "/mvfz-exp-%ld-%d", (long)getpid(), k);
    }
    /* The last name is as long as a name can be (NAME_MAX bytes after '/'). */
    size_t n = strlen(s->name_text[NNAME - 1]);
    memset(s->name_text[NNAME - 1] + n, 'L', NAME_MAX + 1 - n);
    s->name_text[NNAME - 1][NAME_MAX + 1] = '\0';

    /* The scratch file: a memfd, gone with the process whatever happens. */
    s->fd = memfd_create("mvfz-exp-file", MFD_CLOEXEC);
    FUZZ_CHECK(s->fd >= 0);
    snprintf(s->path, sizeof s->path, "/proc/self/fd/%d", s->fd);
    backing *b = &s->back[0];
    b->used = true;
    b->name = -1;
    uint8_t k = u8(s);
    uint16_t r = u16(s);
    switch (k % 4) {
    case 0:
        b->size = 0;
        break;
    case 1:
        b->size = (size_t)s->page * (1 + k / 64 % 2); /* whole pages */
        break;
    default:
        b->size = r % (MAXFILE / 2 + 1);
        break;
    }
    if (b->size > MAXFILE)
        b->size = MAXFILE;
    for (size_t i = 0; i < b->size; i++)
        b->bytes[i] = (unsigned char)(i * 7 + (i >> 9) + k);
    FUZZ_CHECK(pwrite(s->fd, b->bytes, b->size, 0) == (ssize_t)b->size);
    mv_object_set_local(NULL); /* ignored */

    for (int step = 0; step < MAXOPS && s->in.n > 0; step++) {
        switch (u8(s) % 20) {
        case 0:
        case 1:
            op_mmap(s, false);
            break;
        case 2:
            op_mmap(s, true);
            break;
        case 3:
            op_shm_open(s);
            break;
        case 4:
            op_shm_unlink(s);
            break;
        case 5:
            op_new_owner(s);
            break;
        case 6:
            op_new_external(s);
            break;
        case 7:
        case 8:
            op_view_new(s);
            break;
        case 9:
            op_slice(s);
            break;
        case 10:
        case 11:
            op_item(s);
            break;
        case 12:
            op_read(s);
            break;
        case 13:
            op_mapping_ctl(s);
            break;
        case 14:
            op_file_write(s);
            break;
        case 15:
            op_resize(s);
            break;
        case 16:
            op_view_release(s);
            break;
        case 17:
            if (u8(s) & 1)
                op_view_decref(s);
            else
                op_decref_x(s);
            break;
        case 18:
            op_getbuffer(s);
            break;
        default:
            op_release_held(s);
            break;
        }
        check_counts(s);
    }
    teardown(s);
    FUZZ_CHECK(lowest_free_fd() == free_fd);
    return 0;
}
