/* mview's views, from FILE to the one the output reads:
 *   FILE mapped (standard input and other non-regular files are read into
 *   a bytearray) -> a 1-D bytes view from --offset -> the typed view of
 *   -f/-s/--order (an external layout over the same bytes) -> --cast ->
 *   SUBSCRIPT.
 * Each step reports its own errors (exit 2). */
#include "mview.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The last reference releases the view (and, for the last view of the
 * source, the source's buffer). */
void drop_view(mv_view **v)
{
    mv_decref(*v);
    *v = NULL;
}

/* Shape text for messages: "(48, 64)", "(5,)", "()". */
static void shape_string(char *dst, size_t size, const ptrdiff_t *shape, int ndim)
{
    size_t n = 0;
    n += (size_t)snprintf(dst, size, "(");
    for (int i = 0; i < ndim && n < size; i++)
        n += (size_t)snprintf(dst + n, size - n, i ? ", %td" : "%td", shape[i]);
    if (n < size)
        snprintf(dst + n, size - n, ndim == 1 ? ",)" : ")");
}

/* ------------------------------------------------------------------------ *
 * The source: a mapping of FILE, or its bytes read into a bytearray
 * ------------------------------------------------------------------------ */

/* Read all of fd into a bytearray, growing it as it fills; a->source gets
 * it and *len its size. */
static int read_bytes(app *a, int fd, size_t *len)
{
    mv_error err;
    mv_error_clear(&err);
    size_t cap = CHUNK, n = 0;
    mv_object *ba = mv_bytearray_new(NULL, cap, &err);
    if (!ba)
        return report(EXIT_DATA, "reading %s: %s", a->name, err.message);
    for (;;) {
        if (n == cap) {
            if (cap > (size_t)PTRDIFF_MAX / 2) {
                mv_decref(ba);
                return report(EXIT_DATA, "reading %s: too large", a->name);
            }
            cap *= 2;
            if (mv_bytearray_resize(ba, cap, &err) < 0) {
                mv_decref(ba);
                return report(EXIT_DATA, "reading %s: %s", a->name, err.message);
            }
        }
        size_t size;
        unsigned char *data = mv_object_data(ba, &size);
        ssize_t r = read(fd, data + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            mv_decref(ba);
            return report(EXIT_DATA, "reading %s: %s", a->name, strerror(e));
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (mv_bytearray_resize(ba, n, &err) < 0) {
        mv_decref(ba);
        return report(EXIT_DATA, "reading %s: %s", a->name, err.message);
    }
    a->source = ba;
    *len = n;
    return 0;
}

/* fd read into memory -> a->whole, and a->bytes from --offset. */
static int read_all(app *a, int fd)
{
    size_t len;
    int rc = read_bytes(a, fd, &len);
    if (rc != 0)
        return rc;
    if ((uintmax_t)a->opt.offset > (uintmax_t)len)
        return report(EXIT_DATA, "offset %td is past the end of %s (%zu bytes)", a->opt.offset,
                      a->name, len);
    mv_error err;
    mv_error_clear(&err);
    a->whole = mv_view_new(a->source, &err);
    if (!a->whole)
        return report(EXIT_DATA, "%s: %s", a->name, err.message);
    mv_key k = {.kind = MV_KEY_SLICE, .start = a->opt.offset, .has_start = true};
    a->bytes = mv_view_subscript(a->whole, &k, 1, &err);
    if (!a->bytes)
        return report(EXIT_DATA, "%s: %s", a->name, err.message);
    return 0;
}

/* A pipe or a device cannot be mapped: read it like standard input. */
static int read_file(app *a)
{
    if (a->opt.mode == MODE_SET)
        return report(EXIT_DATA, "%s: --set needs a regular file", a->name);
    int fd = open(a->opt.file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return report(EXIT_DATA, "%s: %s", a->name, strerror(errno));
    int rc = read_all(a, fd);
    close(fd);
    return rc;
}

/* FILE -> a->source and a->bytes, its bytes from --offset. */
static int open_source(app *a)
{
    const options *o = &a->opt;
    mv_error err;
    mv_error_clear(&err);
    if (strcmp(o->file, "-") == 0) {
        a->name = "standard input";
        return read_all(a, STDIN_FILENO);
    }
    snprintf(a->quoted, sizeof a->quoted, "'%s'", o->file);
    a->name = a->quoted;
    struct stat st;
    if (stat(o->file, &st) < 0)
        return report(EXIT_DATA, "%s: %s", a->name, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return report(EXIT_DATA, "%s: %s", a->name, strerror(EISDIR));
    if (!S_ISREG(st.st_mode))
        return read_file(a);
    if ((uintmax_t)o->offset > (uintmax_t)st.st_size)
        return report(EXIT_DATA, "offset %td is past the end of %s (%jd bytes)", o->offset, a->name,
                      (intmax_t)st.st_size);
    a->source = mv_mmap_open(o->file, o->mode == MODE_SET ? MV_MAP_WRITE : MV_MAP_READ, o->offset,
                             -1, &err);
    if (!a->source) {
        if (err.code == MV_EOS && err.os_errno)
            return report(EXIT_DATA, "%s: %s", a->name, strerror(err.os_errno));
        return report(EXIT_DATA, "%s", err.message);
    }
    a->mapped = true;
    a->bytes = mv_view_new(a->source, &err);
    if (!a->bytes)
        return report(EXIT_DATA, "%s: %s", a->name, err.message);
    return 0;
}

/* ------------------------------------------------------------------------ *
 * The typed view, --cast, the subscript
 * ------------------------------------------------------------------------ */

static void release_ref(void *ctx, void *mem)
{
    (void)mem;
    mv_decref(ctx);
}

/* The bytes that shape (of items of itemsize) spans, its -1 extent, if
 * any, set to as many as fit in avail bytes; -1 when the product of the
 * known non-zero extents (with the item size) overflows.  That product
 * must fit even when another extent is 0, as NumPy requires: the strides
 * are built from it. */
static ptrdiff_t resolve_shape(ptrdiff_t *shape, int ndim, ptrdiff_t itemsize, ptrdiff_t avail)
{
    int unknown = -1;
    bool zero = false;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            unknown = i;
        else if (shape[i] == 0)
            zero = true;
    }
    ptrdiff_t needed = itemsize;
    for (int i = 0; i < ndim; i++) {
        if (i == unknown || shape[i] == 0)
            continue;
        if (needed > PTRDIFF_MAX / shape[i])
            return -1;
        needed *= shape[i];
    }
    if (unknown >= 0) {
        shape[unknown] = zero ? 0 : avail / needed;
        needed *= shape[unknown];
    }
    return zero ? 0 : needed;
}

/* A view of layout (over the bytes view's memory): an external layout
 * whose release drops the reference it holds on the bytes view. */
static mv_view *layout_view(app *a, const mv_buffer *layout, mv_error *err)
{
    mv_object *ref = mv_view_object(a->bytes);
    mv_incref(ref);
    mv_object *ext = mv_external_new_layout(layout, release_ref, ref, err);
    if (!ext) {
        mv_decref(ref);
        return NULL;
    }
    mv_view *v = mv_view_new(ext, err);
    mv_decref(ext);
    return v;
}

/* -f/-s/--order: a typed view over the bytes. */
static int make_typed(app *a)
{
    const options *o = &a->opt;
    const char *fmt_text = o->format ? o->format : "B";
    ptrdiff_t itemsize = a->fmt.itemsize;
    ptrdiff_t shape[MV_MAX_NDIM], strides[MV_MAX_NDIM];
    int ndim = 1;
    shape[0] = -1;
    if (o->shape.ndim >= 0) {
        ndim = o->shape.ndim;
        memcpy(shape, o->shape.dims, sizeof(ptrdiff_t) * (size_t)ndim);
    }
    char text[64 * 24];
    ptrdiff_t needed = resolve_shape(shape, ndim, itemsize, a->base_len);
    shape_string(text, sizeof text, shape, ndim);
    if (needed < 0)
        return report(EXIT_DATA, "shape %s of format '%s' is too large", text, fmt_text);
    if (needed > a->base_len)
        return report(EXIT_DATA,
                      "shape %s of format '%s' needs %td bytes, but %s has %td after offset %td",
                      text, fmt_text, needed, a->name, a->base_len, o->offset);
    mv_fill_contiguous_strides(ndim, shape, strides, itemsize, o->order);
    mv_error err;
    mv_error_clear(&err);
    const mv_buffer *b = mv_view_buffer(a->bytes, &err);
    if (!b)
        return report(EXIT_DATA, "%s: %s", a->name, err.message);
    mv_buffer layout = {
        .buf = b->buf,
        .len = needed,
        .itemsize = itemsize,
        .readonly = b->readonly,
        .ndim = ndim,
        .format = fmt_text,
        .shape = shape,
        .strides = strides,
    };
    a->view = layout_view(a, &layout, &err);
    if (!a->view)
        return report(EXIT_DATA, "shape %s of format '%s': %s", text, fmt_text, err.message);
    return 0;
}

/* --cast FMT[:SHAPE], as memoryview.cast. */
static int apply_cast(app *a)
{
    const options *o = &a->opt;
    mv_error err;
    mv_error_clear(&err);
    ptrdiff_t shape[MV_MAX_NDIM];
    int ndim = o->cast_shape.ndim;
    if (ndim >= 0) {
        memcpy(shape, o->cast_shape.dims, sizeof(ptrdiff_t) * (size_t)ndim);
        /* One -1: the extent that makes the sizes match (the library then
         * checks that they do). */
        ptrdiff_t known = a->cast_fmt.itemsize;
        int unknown = -1;
        for (int i = 0; i < ndim; i++) {
            if (shape[i] < 0)
                unknown = i;
            else if (shape[i] > 0 && known <= PTRDIFF_MAX / shape[i])
                known *= shape[i];
        }
        if (unknown >= 0) {
            const mv_buffer *b = mv_view_buffer(a->view, &err);
            shape[unknown] = b && known > 0 ? b->len / known : 0;
        }
    }
    mv_view *c = mv_view_cast(a->view, o->cast_format, ndim >= 0 ? shape : NULL, ndim, 0, &err);
    if (!c) {
        const mv_buffer *b = mv_view_buffer(a->view, NULL);
        char text[64 * 24];
        shape_string(text, sizeof text, b ? b->shape : NULL, b ? b->ndim : 0);
        return report(EXIT_DATA, "--cast '%s' of a view of shape %s, format '%s' (%td bytes): %s",
                      o->cast_text, text, b ? b->format : "?", b ? b->len : 0, err.message);
    }
    drop_view(&a->view);
    a->view = c;
    return 0;
}

/* SUBSCRIPT, its keys parsed by run's usage checks. */
static int apply_subscript(app *a)
{
    mv_error err;
    mv_error_clear(&err);
    mv_view *s = mv_view_subscript(a->view, a->keys, a->nkeys, &err);
    if (!s) {
        const mv_buffer *b = mv_view_buffer(a->view, NULL);
        char text[64 * 24];
        shape_string(text, sizeof text, b ? b->shape : NULL, b ? b->ndim : 0);
        return report(EXIT_DATA, "subscript '%s' on shape %s: %s", a->opt.subscript, text,
                      err.message);
    }
    drop_view(&a->view);
    a->view = s;
    return 0;
}

int open_view(app *a)
{
    const options *o = &a->opt;
    mv_error err;
    mv_error_clear(&err);
    int rc;
    if ((rc = open_source(a)) != 0)
        return rc;
    const mv_buffer *b = mv_view_buffer(a->bytes, &err);
    if (!b)
        return report(EXIT_DATA, "%s: %s", a->name, err.message);
    a->base = b->buf;
    a->base_len = b->len;

    if (o->typed) {
        if ((rc = make_typed(a)) != 0)
            return rc;
    } else {
        mv_incref(mv_view_object(a->bytes));
        a->view = a->bytes;
    }
    if (o->cast_format && (rc = apply_cast(a)) != 0)
        return rc;
    if (o->subscript && (rc = apply_subscript(a)) != 0)
        return rc;
    return 0;
}

/* A selection that touches a small part of the bytes it spans (a strided
 * view): tell the kernel that the access is random, or every page fault
 * reads ahead (several MiB on some disks) around the one page it needs,
 * and a [::4096] walk over a large file reads most of it. */
void advise_access(const app *a, const mv_buffer *b)
{
    if (!a->mapped || b->len == 0)
        return;
    const unsigned char *lo = b->buf, *hi = b->buf;
    for (int i = 0; i < b->ndim; i++) {
        if (b->strides[i] < 0)
            lo += b->strides[i] * (b->shape[i] - 1);
        else
            hi += b->strides[i] * (b->shape[i] - 1);
    }
    hi += b->itemsize;
    if ((uintmax_t)b->len * 2 >= (uintmax_t)(hi - lo))
        return;
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0)
        return;
    uintptr_t start = (uintptr_t)lo - (uintptr_t)lo % (uintptr_t)page;
    /* Advice only: a failure changes nothing but speed. */
    (void)posix_madvise((void *)start, (size_t)((uintptr_t)hi - start), POSIX_MADV_RANDOM);
}
