/* mmap: a range of a file mapped into memory, exported as 1-D bytes, with
 * the export lock of CPython's mmap (no close or remap while a buffer is
 * out).  The object keeps its own duplicate of the descriptor so that
 * remap works after the caller (or mv_mmap_open) closed the original; shm.c
 * builds on mv_mmap_new. */
#include "../view.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MSG_CLOSED "mmap closed or invalid"

/* What one mmap call produced: `map`/`maplen` as passed to munmap (map is
 * NULL when nothing was mapped: an empty range), `buf`/`len` the requested
 * bytes inside it. */
typedef struct mapping {
    void *map;
    size_t maplen;
    unsigned char *buf;
    ptrdiff_t len;
} mapping;

typedef struct mv_mmap {
    mv_object ob;
    mapping m;
    int fd;             /* our own duplicate (close-on-exec); -1 once closed */
    mv_map_mode mode;
    bool closed;
    unsigned char empty; /* the address of an empty range: buf is never NULL */
    char what[];        /* the file as messages name it */
} mv_mmap;

static int os_error(mv_error *err, int errnum, const char *op, const char *what)
{
    mv_error_set(err, MV_EOS, "mmap: %s %s: %s", op, what, strerror(errnum));
    /* mv_error_set clears os_errno; it is set afterwards on purpose. */
    if (err)
        err->os_errno = errnum;
    return MV_EOS;
}

static int check_mode(mv_map_mode mode, mv_error *err)
{
    /* Compared as int: a caller may pass any integer through the enum. */
    int m = (int)mode;
    if (m != MV_MAP_READ && m != MV_MAP_WRITE && m != MV_MAP_COPY)
        return mv_error_set(err, MV_EVALUE,
                            "mmap: mode must be MV_MAP_READ, MV_MAP_WRITE or MV_MAP_COPY, not %d", m);
    return 0;
}

static int check_range_args(ptrdiff_t offset, ptrdiff_t length, mv_error *err)
{
    if (offset < 0)
        return mv_error_set(err, MV_EVALUE, "mmap: offset must be >= 0, not %td", offset);
    if (length < -1)
        return mv_error_set(err, MV_EVALUE, "mmap: length must be >= 0 or -1, not %td", length);
    return 0;
}

/* Map [offset, offset + length) of fd into *out, checking everything about
 * the descriptor and the range first.  *out is untouched on error. */
static int map_range(int fd, mv_map_mode mode, ptrdiff_t offset, ptrdiff_t length,
                     const char *what, unsigned char *empty, mapping *out, mv_error *err)
{
    /* mmap would say EACCES only when it is called; an empty range never
     * calls it, so the descriptor's access mode is checked up front. */
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return os_error(err, errno, "cannot use", what);
    int acc = fl & O_ACCMODE;
    bool ok = mode == MV_MAP_WRITE ? acc == O_RDWR : (acc == O_RDONLY || acc == O_RDWR);
    if (!ok)
        return os_error(err, EACCES,
                        mode == MV_MAP_WRITE ? "needs read-write access to" : "needs read access to",
                        what);

    struct stat st;
    if (fstat(fd, &st) < 0)
        return os_error(err, errno, "cannot stat", what);
    if (!S_ISREG(st.st_mode))
        return mv_error_set(err, MV_EVALUE, "mmap: %s is not a regular file", what);
    if ((uintmax_t)st.st_size > (uintmax_t)PTRDIFF_MAX)
        return mv_error_set(err, MV_EOVERFLOW, "mmap: %s is too large (%jd bytes)", what,
                            (intmax_t)st.st_size);
    ptrdiff_t size = (ptrdiff_t)st.st_size;

    ptrdiff_t end;
    if (length == -1) {
        if (offset > size)
            return mv_error_set(err, MV_EVALUE,
                                "mmap: offset %td, length %td is past the end of %s (%td bytes)",
                                offset, length, what, size);
        length = size - offset;
    } else if (mv_add_overflow(offset, length, &end) || end > size) {
        return mv_error_set(err, MV_EVALUE,
                            "mmap: offset %td, length %td is past the end of %s (%td bytes)",
                            offset, length, what, size);
    }

    if (length == 0) {
        *out = (mapping){.map = NULL, .maplen = 0, .buf = empty, .len = 0};
        return 0;
    }

    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0)
        page = 4096;
    /* mmap wants a page-aligned file offset: map from the page boundary at
     * or below offset and point buf `delta` bytes in. */
    ptrdiff_t delta = offset % (ptrdiff_t)page;
    ptrdiff_t maplen;
    if (mv_add_overflow(length, delta, &maplen))
        return mv_error_set(err, MV_EOVERFLOW, "mmap: length %td at offset %td is too large",
                            length, offset);
    off_t mapoff = (off_t)(offset - delta);

    int prot = PROT_READ;
    int flags = MAP_SHARED;
    if (mode == MV_MAP_WRITE) {
        prot |= PROT_WRITE;
    } else if (mode == MV_MAP_COPY) {
        prot |= PROT_WRITE;
        flags = MAP_PRIVATE;
    }
    void *p = mmap(NULL, (size_t)maplen, prot, flags, fd, mapoff);
    if (p == MAP_FAILED)
        return os_error(err, errno, "cannot map", what);
    *out = (mapping){.map = p, .maplen = (size_t)maplen, .buf = (unsigned char *)p + delta,
                     .len = length};
    return 0;
}

static void unmap(mapping *m)
{
    if (m->map)
        munmap(m->map, m->maplen);
    m->map = NULL;
    m->maplen = 0;
}

static int mmap_getbuffer(mv_object *self, mv_buffer *view, int flags, mv_error *err)
{
    mv_mmap *x = (mv_mmap *)self;
    if (x->closed)
        return mv_error_set(err, MV_EVALUE, MSG_CLOSED);
    return mv_buffer_fill_info(view, self, x->m.buf, x->m.len, x->mode == MV_MAP_READ, flags, err);
}

static void mmap_destroy(mv_object *self)
{
    mv_mmap *x = (mv_mmap *)self;
    if (!x->closed) {
        unmap(&x->m);
        close(x->fd);
    }
    free(x);
}

/* A closed mapping has no memory: getbuffer then gives the error. */
static void *mmap_data(mv_object *self, size_t *len, int *readonly)
{
    mv_mmap *x = (mv_mmap *)self;
    *readonly = x->mode == MV_MAP_READ;
    if (x->closed) {
        *len = 0;
        return NULL;
    }
    *len = (size_t)x->m.len;
    return x->m.buf;
}

static const mv_type mmap_type = {
    .name = "mmap",
    .getbuffer = mmap_getbuffer,
    .releasebuffer = NULL,
    .destroy = mmap_destroy,
    .data = mmap_data,
    .flags = MV_TYPE_FILL_INFO,
};

/* The common constructor; `quote` puts the name in quotes (a path) or not
 * ("fd 3"). */
static mv_object *mmap_create(int fd, mv_map_mode mode, ptrdiff_t offset, ptrdiff_t length,
                              const char *what, bool quote, mv_error *err)
{
    if (check_mode(mode, err) < 0 || check_range_args(offset, length, err) < 0)
        return NULL;
    if (!what)
        what = "file";
    size_t n = strlen(what);
    if (n > SIZE_MAX - sizeof(mv_mmap) - 3) {
        mv_error_set(err, MV_EOVERFLOW, "mmap: file name too long");
        return NULL;
    }
    mv_mmap *x = malloc(sizeof *x + n + 3);
    if (!x) {
        mv_error_set(err, MV_ENOMEM, "mmap: cannot allocate the object");
        return NULL;
    }
    if (quote)
        snprintf(x->what, n + 3, "'%s'", what);
    else
        memcpy(x->what, what, n + 1);
    x->mode = mode;
    x->closed = false;
    x->empty = 0;
    x->fd = -1;

    if (map_range(fd, mode, offset, length, x->what, &x->empty, &x->m, err) < 0) {
        free(x);
        return NULL;
    }
    /* Last, so the only thing to undo on failure is the mapping. */
    x->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (x->fd < 0) {
        int e = errno;
        unmap(&x->m);
        os_error(err, e, "cannot duplicate the descriptor of", x->what);
        free(x);
        return NULL;
    }
    mv_object_init(&x->ob, &mmap_type);
    return &x->ob;
}

mv_object *mv_mmap_new(int fd, mv_map_mode mode, ptrdiff_t offset, ptrdiff_t length,
                       const char *what, mv_error *err)
{
    return mmap_create(fd, mode, offset, length, what, true, err);
}

mv_object *mv_mmap_fd(int fd, mv_map_mode mode, ptrdiff_t offset, ptrdiff_t length,
                      mv_error *err)
{
    char what[32];
    snprintf(what, sizeof what, "fd %d", fd);
    return mmap_create(fd, mode, offset, length, what, false, err);
}

mv_object *mv_mmap_open(const char *path, mv_map_mode mode, ptrdiff_t offset, ptrdiff_t length,
                        mv_error *err)
{
    if (!path) {
        mv_error_set(err, MV_EVALUE, "mmap: path must not be NULL");
        return NULL;
    }
    /* Argument errors before open(2), which has side effects. */
    if (check_mode(mode, err) < 0 || check_range_args(offset, length, err) < 0)
        return NULL;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer (it is then
     * refused as not a regular file); regular files ignore the flag. */
    int oflag = (mode == MV_MAP_WRITE ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    int fd = open(path, oflag);
    if (fd < 0) {
        int e = errno;
        /* A directory opened for writing fails here rather than at fstat;
         * report it the same way in every mode. */
        if (e == EISDIR) {
            mv_error_set(err, MV_EVALUE, "mmap: '%s' is not a regular file", path);
            return NULL;
        }
        char q[MV_ERROR_MESSAGE_MAX];
        snprintf(q, sizeof q, "'%s'", path);
        os_error(err, e, "cannot open", q);
        return NULL;
    }
    mv_object *obj = mv_mmap_new(fd, mode, offset, length, path, err);
    close(fd);
    return obj;
}

static mv_mmap *as_mmap(mv_object *obj, const char *fn, mv_error *err)
{
    if (!obj || obj->type != &mmap_type) {
        mv_error_set(err, MV_ETYPE, "%s: a mapping (mmap or shm) is required, not '%s'", fn,
                     mv_object_type_name(obj));
        return NULL;
    }
    return (mv_mmap *)obj;
}

int mv_mmap_sync(mv_object *obj, int async, mv_error *err)
{
    mv_mmap *x = as_mmap(obj, "mmap_sync", err);
    if (!x)
        return MV_ETYPE;
    if (x->closed)
        return mv_error_set(err, MV_EVALUE, MSG_CLOSED);
    if (x->mode != MV_MAP_WRITE || !x->m.map)
        return 0;
    if (msync(x->m.map, x->m.maplen, async ? MS_ASYNC : MS_SYNC) < 0)
        return os_error(err, errno, "cannot sync", x->what);
    return 0;
}

int mv_mmap_close(mv_object *obj, mv_error *err)
{
    mv_mmap *x = as_mmap(obj, "mmap_close", err);
    if (!x)
        return MV_ETYPE;
    if (x->closed)
        return 0;
    size_t exports = mv_object_exports(obj);
    if (exports > 0)
        return mv_error_set(err, MV_EBUFFER, "cannot close mmap: %zu exported buffer%s exist%s",
                            exports, exports == 1 ? "" : "s", exports == 1 ? "s" : "");
    unmap(&x->m);
    close(x->fd);
    x->fd = -1;
    x->m.buf = NULL;
    x->m.len = 0;
    x->closed = true;
    return 0;
}

int mv_mmap_remap(mv_object *obj, ptrdiff_t offset, ptrdiff_t length, mv_error *err)
{
    mv_mmap *x = as_mmap(obj, "mmap_remap", err);
    if (!x)
        return MV_ETYPE;
    if (x->closed)
        return mv_error_set(err, MV_EVALUE, MSG_CLOSED);
    size_t exports = mv_object_exports(obj);
    if (exports > 0)
        return mv_error_set(err, MV_EBUFFER, "cannot remap mmap: %zu exported buffer%s exist%s",
                            exports, exports == 1 ? "" : "s", exports == 1 ? "s" : "");
    int rc = check_range_args(offset, length, err);
    if (rc < 0)
        return rc;
    mapping m;
    rc = map_range(x->fd, x->mode, offset, length, x->what, &x->empty, &m, err);
    if (rc < 0)
        return rc;
    unmap(&x->m);
    x->m = m;
    return 0;
}
