/* mmap exporter: modes, unaligned ranges, the export lock, close / remap,
 * empty ranges, hostile arguments, descriptor hygiene and allocation
 * failures.  Every file lives in a mkdtemp directory removed at the end;
 * expected bytes come from pattern(), written with write(2) and read back
 * with pread(2), never from the library. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "failalloc.h"
#include "testviews.h"
#include "memview.h"

#define FILE_SIZE 10000

typedef struct fixture {
    char dir[64];
} fixture;

/* The byte at file position i: not periodic within a page, so a mapping
 * off by any small amount shows. */
static unsigned char pattern(size_t i)
{
    return (unsigned char)((i * 131u + 7u) ^ (i >> 8) ^ (i >> 13));
}

static void path_of(const fixture *f, const char *name, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s/%s", f->dir, name);
    assert_true(n > 0 && (size_t)n < outlen);
}

/* Write pattern(first + i) for i in [0, len) at the end of file `path`
 * (created if missing). */
static void append_pattern(const char *path, size_t first, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    unsigned char *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    for (size_t i = 0; i < len; i++)
        buf[i] = pattern(first + i);
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, buf + done, len - done);
        assert_true(w > 0);
        done += (size_t)w;
    }
    free(buf);
    assert_int_equal(close(fd), 0);
}

static void make_pattern_file(const fixture *f, const char *name, size_t len, char *path,
                              size_t pathlen)
{
    path_of(f, name, path, pathlen);
    unlink(path);
    append_pattern(path, 0, len);
}

/* Read back [off, off + len) of the file, independently of any mapping. */
static void read_file(const char *path, size_t off, size_t len, unsigned char *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    pread_all(fd, (long)off, out, len);
    close(fd);
}

static void assert_pattern(const unsigned char *p, size_t first, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != pattern(first + i))
            fail_msg("byte %zu of the range (file byte %zu) is %u, expected %u", i, first + i,
                     p[i], pattern(first + i));
}

/* The bytes a fresh view of obj sees, through the view API. */
static void assert_view_pattern(mv_object *obj, size_t first, size_t len)
{
    mv_error err;
    mv_view *v = mv_view_new(obj, &err);
    assert_non_null(v);
    const mv_buffer *b = mv_view_buffer(v, &err);
    assert_non_null(b);
    assert_int_equal(b->len, (ptrdiff_t)len);
    assert_int_equal(b->ndim, 1);
    assert_string_equal(b->format, "B");
    size_t n = 99;
    unsigned char *bytes = mv_view_tobytes(v, 'C', &n, &err);
    assert_non_null(bytes);
    assert_int_equal(n, len);
    assert_pattern(bytes, first, len);
    free(bytes);
    assert_int_equal(mv_view_release(v, &err), 0);
    mv_decref(v);
}

static void drop_view(mv_view *v)
{
    assert_int_equal(mv_view_release(v, NULL), 0);
    mv_decref(v);
}

static void assert_msg_has(const mv_error *err, const char *part)
{
    if (!strstr(err->message, part))
        fail_msg("message \"%s\" lacks \"%s\"", err->message, part);
}

/* ------------------------------------------------------------------------ */

static void test_read_whole(void **state)
{
    fixture *f = *state;
    char path[128];
    make_pattern_file(f, "whole", FILE_SIZE, path, sizeof path);
    mv_error err;
    mv_object *m = mv_mmap_open(path, MV_MAP_READ, 0, -1, &err);
    assert_non_null(m);
    assert_string_equal(mv_object_type_name(m), "mmap");

    size_t len = 0;
    const unsigned char *data = mv_object_data(m, &len);
    assert_non_null(data);
    assert_int_equal(len, FILE_SIZE);
    assert_pattern(data, 0, FILE_SIZE);

    mv_buffer b;
    assert_int_equal(mv_object_getbuffer(m, &b, MV_BUF_FULL_RO, &err), 0);
    assert_ptr_equal(b.buf, data);
    assert_int_equal(b.len, FILE_SIZE);
    assert_int_equal(b.readonly, 1);
    assert_int_equal(b.itemsize, 1);
    assert_string_equal(b.format, "B");
    assert_int_equal(b.shape[0], FILE_SIZE);
    assert_int_equal(b.strides[0], 1);
    assert_int_equal(mv_object_exports(m), 1);
    mv_buffer_release(&b);
    assert_int_equal(mv_object_exports(m), 0);

    assert_view_pattern(m, 0, FILE_SIZE);
    /* A read-only mapping has nothing to flush. */
    assert_int_equal(mv_mmap_sync(m, 0, &err), 0);
    assert_int_equal(mv_mmap_sync(m, 1, &err), 0);
    mv_decref(m);
}

static void test_offset_length(void **state)
{
    fixture *f = *state;
    char path[128];
    make_pattern_file(f, "ranges", FILE_SIZE, path, sizeof path);
    const ptrdiff_t offsets[] = {0, 1, 7, 4095, 4096, 4097, 8191, 8193, 9999, FILE_SIZE};
    const ptrdiff_t lengths[] = {-1, 0, 1, 3, 100, 4096, 5000};
    for (size_t i = 0; i < sizeof offsets / sizeof *offsets; i++) {
        for (size_t j = 0; j < sizeof lengths / sizeof *lengths; j++) {
            ptrdiff_t off = offsets[i], len = lengths[j];
            ptrdiff_t expect = len == -1 ? FILE_SIZE - off : len;
            if (off + expect > FILE_SIZE)
                continue;
            for (int mode = MV_MAP_READ; mode <= MV_MAP_COPY; mode++) {
                mv_error err;
                mv_object *m = mv_mmap_open(path, (mv_map_mode)mode, off, len, &err);
                if (!m)
                    fail_msg("offset %td length %td mode %d: %s", off, len, mode, err.message);
                size_t n = 12345;
                const unsigned char *p = mv_object_data(m, &n);
                assert_non_null(p);
                assert_int_equal(n, (size_t)expect);
                assert_pattern(p, (size_t)off, (size_t)expect);
                assert_view_pattern(m, (size_t)off, (size_t)expect);
                mv_decref(m);
            }
        }
    }
}

static void test_write_mode(void **state)
{
    fixture *f = *state;
    char path[128];
    make_pattern_file(f, "write", FILE_SIZE, path, sizeof path);
    mv_error err;
    const ptrdiff_t off = 4097, len = 50;
    mv_object *m = mv_mmap_open(path, MV_MAP_WRITE, off, len, &err);
    assert_non_null(m);

    mv_view *v = mv_view_new(m, &err);
    assert_non_null(v);
    assert_int_equal(mv_view_buffer(v, &err)->readonly, 0);
    ptrdiff_t idx = 3;
    mv_value val = {.kind = MV_VALUE_UNSIGNED, .v.u = 0xAB};
    if (pattern((size_t)off + 3) == 0xAB)
        val.v.u = 0xAC;
    assert_int_equal(mv_view_set_item(v, &idx, 1, &val, 1, &err), 0);
    idx = -1; /* the last byte of the range */
    mv_value last = {.kind = MV_VALUE_UNSIGNED, .v.u = (uint8_t)~pattern((size_t)(off + len - 1))};
    assert_int_equal(mv_view_set_item(v, &idx, 1, &last, 1, &err), 0);

    size_t n;
    unsigned char *data = mv_object_data(m, &n);
    assert_int_equal(n, (size_t)len);
    memcpy(data + 10, "hello", 5);
    assert_int_equal(mv_mmap_sync(m, 0, &err), 0);
    assert_int_equal(mv_mmap_sync(m, 1, &err), 0);

    unsigned char back[FILE_SIZE];
    read_file(path, 0, FILE_SIZE, back);
    for (size_t i = 0; i < FILE_SIZE; i++) {
        unsigned expect = pattern(i);
        if (i == (size_t)off + 3)
            expect = (unsigned)val.v.u;
        else if (i == (size_t)(off + len - 1))
            expect = (unsigned)last.v.u;
        else if (i >= (size_t)off + 10 && i < (size_t)off + 15)
            expect = (unsigned char)"hello"[i - (size_t)off - 10];
        if (back[i] != expect)
            fail_msg("file byte %zu is %u, expected %u", i, back[i], expect);
    }
    drop_view(v);
    mv_decref(m);
}

static void test_copy_mode(void **state)
{
    fixture *f = *state;
    char path[128];
    make_pattern_file(f, "copy", FILE_SIZE, path, sizeof path);
    mv_error err;
    mv_object *m = mv_mmap_open(path, MV_MAP_COPY, 4097, 100, &err);
    assert_non_null(m);
    mv_view *v = mv_view_new(m, &err);
    assert_non_null(v);
    assert_int_equal(mv_view_buffer(v, &err)->readonly, 0);
    ptrdiff_t idx = 0;
    mv_value val = {.kind = MV_VALUE_UNSIGNED, .v.u = (uint8_t)~pattern(4097)};
    assert_int_equal(mv_view_set_item(v, &idx, 1, &val, 1, &err), 0);
    size_t n;
    unsigned char *data = mv_object_data(m, &n);
    assert_int_equal(data[0], (uint8_t)~pattern(4097));
    memset(data + 1, 0, 99);
    assert_int_equal(mv_mmap_sync(m, 0, &err), 0);

    /* The file, and a fresh shared mapping of it, still hold the pattern. */
    unsigned char back[FILE_SIZE];
    read_file(path, 0, FILE_SIZE, back);
    assert_pattern(back, 0, FILE_SIZE);
    mv_object *r = mv_mmap_open(path, MV_MAP_READ, 4097, 100, &err);
    assert_non_null(r);
    assert_pattern(mv_object_data(r, &n), 4097, 100);
    mv_decref(r);
    drop_view(v);
    mv_decref(m);
}

static void test_read_rejects_writes(void **state)
{
    fixture *f = *state;
    char path[128];
    make_pattern_file(f, "ro", 100, path, sizeof path);
    mv_error err;
    mv_object *m = mv_mmap_open(path, MV_MAP_READ, 0, -1, &err);
    assert_non_null(m);
    mv_buffer b;
    memset(&b, 0, sizeof b);
    assert_int_equal(mv_object_getbuffer(m, &b, MV_BUF_WRITABLE, &err), MV_EBUFFER);
    assert_string_equal(err.message, "Object is not writable.");
    assert_int_equal(mv_object_getbuffer(m, &b, MV_BUF_FULL, &err), MV_EBUFFER);
    assert_int_equal(mv_object_exports(m), 0);

    mv_view *v = mv_view_new(m, &err);
    assert_non_null(v);
    assert_int_equal(mv_view_buffer(v, &err)->readonly, 1);
    ptrdiff_t idx = 0;
    mv_value val = {.kind = MV_VALUE_UNSIGNED, .v.u = 1};
    assert_int_equal(mv_view_set_item(v, &idx, 1, &val, 1, &err), MV_ETYPE);
    assert_string_equal(err.message, "cannot modify read-only memory");
    drop_view(v);
    mv_decref(m);

    unsigned char back[100];
    read_file(path, 0, 100, back);
    assert_pattern(back, 0, 100);
}

static void test_export_lock(void **state)
{
    fixture *f = *state;
    char path[128];
    make_pattern_file(f, "lock", FILE_SIZE, path, sizeof path);
    mv_error err;
    mv_object *m = mv_mmap_open(path, MV_MAP_READ, 5, 20, &err);
    assert_non_null(m);
    mv_view *v1 = mv_view_new(m, &err);
    mv_view *v2 = mv_view_new(m, &err);
    assert_non_null(v1);
    assert_non_null(v2);
    assert_int_equal(mv_object_exports(m), 2);

    assert_int_equal(mv_mmap_close(m, &err), MV_EBUFFER);
    assert_string_equal(err.message, "cannot close mmap: 2 exported buffers exist");
    assert_int_equal(mv_mmap_remap(m, 0, -1, &err), MV_EBUFFER);
    assert_string_equal(err.message, "cannot remap mmap: 2 exported buffers exist");
    /* Both refused without touching the mapping. */
    size_t n;
    assert_pattern(mv_object_data(m, &n), 5, 20);
    assert_int_equal(n, 20);
    assert_int_equal(mv_view_buffer(v1, &err)->len, 20);

    drop_view(v1);
    assert_int_equal(mv_mmap_close(m, &err), MV_EBUFFER);
    assert_msg_has(&err, "1 exported");

    drop_view(v2);
    int fds = count_open_fds();
    assert_int_equal(mv_mmap_close(m, &err), 0);
    assert_int_equal(count_open_fds(), fds - 1); /* the mapping's own descriptor went */

    mv_buffer b;
    memset(&b, 0, sizeof b);
    assert_int_equal(mv_object_getbuffer(m, &b, MV_BUF_SIMPLE, &err), MV_EVALUE);
    assert_string_equal(err.message, "mmap closed or invalid");
    assert_null(mv_view_new(m, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_int_equal(mv_object_exports(m), 0);
    assert_int_equal(mv_mmap_close(m, &err), 0);
    n = 77;
    assert_null(mv_object_data(m, &n));
    assert_int_equal(n, 0);
    assert_int_equal(mv_mmap_sync(m, 0, &err), MV_EVALUE);
    assert_string_equal(err.message, "mmap closed or invalid");
    assert_int_equal(mv_mmap_remap(m, 0, -1, &err), MV_EVALUE);
    assert_string_equal(err.message, "mmap closed or invalid");
    mv_decref(m);
}

/* A view keeps the mapping alive after the caller's reference is gone. */
static void test_view_outlives_reference(void **state)
{
    fixture *f = *state;
    char path[128];
    make_pattern_file(f, "outlive", FILE_SIZE, path, sizeof path);
    mv_error err;
    int fds = count_open_fds();
    mv_object *m = mv_mmap_open(path, MV_MAP_READ, 4097, 300, &err);
    assert_non_null(m);
    assert_int_equal(count_open_fds(), fds + 1);
    mv_view *v = mv_view_new(m, &err);
    assert_non_null(v);
    mv_decref(m);
    size_t n = 0;
    unsigned char *bytes = mv_view_tobytes(v, 'C', &n, &err);
    assert_non_null(bytes);
    assert_int_equal(n, 300);
    assert_pattern(bytes, 4097, 300);
    free(bytes);
    drop_view(v);
    assert_int_equal(count_open_fds(), fds);
}

static void test_remap(void **state)
{
    fixture *f = *state;
    char path[128];
    make_pattern_file(f, "grow", 100, path, sizeof path);
    mv_error err;
    mv_object *m = mv_mmap_open(path, MV_MAP_READ, 0, -1, &err);
    assert_non_null(m);
    size_t n;
    assert_pattern(mv_object_data(m, &n), 0, 100);
    assert_int_equal(n, 100);

    append_pattern(path, 100, FILE_SIZE - 100);
    /* mv_mmap_open closed its descriptor long ago; remap still works. */
    assert_int_equal(mv_mmap_remap(m, 0, -1, &err), 0);
    assert_pattern(mv_object_data(m, &n), 0, FILE_SIZE);
    assert_int_equal(n, FILE_SIZE);
    assert_view_pattern(m, 0, FILE_SIZE);

    assert_int_equal(mv_mmap_remap(m, 4097, 10, &err), 0);
    assert_pattern(mv_object_data(m, &n), 4097, 10);
    assert_int_equal(n, 10);

    /* Failures leave the old mapping. */
    assert_int_equal(mv_mmap_remap(m, 0, FILE_SIZE + 1, &err), MV_EVALUE);
    assert_int_equal(mv_mmap_remap(m, FILE_SIZE + 1, -1, &err), MV_EVALUE);
    assert_int_equal(mv_mmap_remap(m, -1, 1, &err), MV_EVALUE);
    assert_int_equal(mv_mmap_remap(m, 0, -2, &err), MV_EVALUE);
    assert_int_equal(mv_mmap_remap(m, 1, PTRDIFF_MAX, &err), MV_EVALUE);
    assert_pattern(mv_object_data(m, &n), 4097, 10);
    assert_int_equal(n, 10);

    assert_int_equal(mv_mmap_remap(m, FILE_SIZE, -1, &err), 0);
    assert_non_null(mv_object_data(m, &n));
    assert_int_equal(n, 0);
    assert_int_equal(mv_mmap_remap(m, 1, 2, &err), 0);
    assert_pattern(mv_object_data(m, &n), 1, 2);
    mv_decref(m);

    /* The same through mv_mmap_fd, the caller's descriptor closed first. */
    int fd = open(path, O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    m = mv_mmap_fd(fd, MV_MAP_WRITE, 8000, -1, &err);
    assert_non_null(m);
    close(fd);
    assert_pattern(mv_object_data(m, &n), 8000, FILE_SIZE - 8000);
    assert_int_equal(mv_mmap_remap(m, 0, 4097, &err), 0);
    unsigned char *p = mv_object_data(m, &n);
    assert_int_equal(n, 4097);
    p[4096] = (unsigned char)~pattern(4096);
    assert_int_equal(mv_mmap_sync(m, 0, &err), 0);
    unsigned char c;
    read_file(path, 4096, 1, &c);
    assert_int_equal(c, (unsigned char)~pattern(4096));
    mv_decref(m);
}

static void test_empty(void **state)
{
    fixture *f = *state;
    char path[128], empty[128];
    make_pattern_file(f, "empty", 0, empty, sizeof empty);
    make_pattern_file(f, "small", 10, path, sizeof path);
    struct {
        const char *path;
        ptrdiff_t off, len;
    } cases[] = {{empty, 0, -1}, {empty, 0, 0}, {path, 0, 0}, {path, 5, 0}, {path, 10, -1},
                 {path, 10, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        for (int mode = MV_MAP_READ; mode <= MV_MAP_COPY; mode++) {
            mv_error err;
            mv_object *m = mv_mmap_open(cases[i].path, (mv_map_mode)mode, cases[i].off,
                                        cases[i].len, &err);
            if (!m)
                fail_msg("case %zu mode %d: %s", i, mode, err.message);
            size_t n = 5;
            assert_non_null(mv_object_data(m, &n));
            assert_int_equal(n, 0);
            mv_view *v = mv_view_new(m, &err);
            assert_non_null(v);
            const mv_buffer *b = mv_view_buffer(v, &err);
            assert_int_equal(b->len, 0);
            assert_int_equal(b->shape[0], 0);
            assert_non_null(b->buf);
            assert_int_equal(b->readonly, mode == MV_MAP_READ);
            size_t tl = 9;
            void *bytes = mv_view_tobytes(v, 'C', &tl, &err);
            assert_non_null(bytes);
            assert_int_equal(tl, 0);
            free(bytes);
            drop_view(v);
            assert_int_equal(mv_mmap_sync(m, 0, &err), 0);
            assert_int_equal(mv_mmap_remap(m, 0, -1, &err), 0);
            assert_int_equal(mv_mmap_close(m, &err), 0);
            mv_decref(m);
        }
    }
    /* An empty range still needs a descriptor that allows the mode. */
    int fd = open(empty, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    mv_error err;
    assert_null(mv_mmap_fd(fd, MV_MAP_WRITE, 0, -1, &err));
    assert_int_equal(err.code, MV_EOS);
    assert_int_equal(err.os_errno, EACCES);
    close(fd);
}

static void test_hostile_open(void **state)
{
    fixture *f = *state;
    char path[128], missing[128], dir[128], fifo[128];
    make_pattern_file(f, "hostile", FILE_SIZE, path, sizeof path);
    path_of(f, "missing", missing, sizeof missing);
    path_of(f, "subdir", dir, sizeof dir);
    path_of(f, "fifo", fifo, sizeof fifo);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    int fds = count_open_fds();
    mv_error err;

    assert_null(mv_mmap_open(NULL, MV_MAP_READ, 0, -1, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_null(mv_mmap_open(NULL, MV_MAP_READ, 0, -1, NULL));

    mv_error_clear(&err);
    assert_null(mv_mmap_open(missing, MV_MAP_READ, 0, -1, &err));
    assert_int_equal(err.code, MV_EOS);
    assert_int_equal(err.os_errno, ENOENT);
    assert_msg_has(&err, missing);
    assert_msg_has(&err, strerror(ENOENT));
    assert_null(mv_mmap_open(missing, MV_MAP_WRITE, 0, -1, NULL));

    for (int mode = MV_MAP_READ; mode <= MV_MAP_COPY; mode++) {
        assert_null(mv_mmap_open(dir, (mv_map_mode)mode, 0, -1, &err));
        assert_int_equal(err.code, MV_EVALUE);
        assert_msg_has(&err, "is not a regular file");
        assert_null(mv_mmap_open(fifo, (mv_map_mode)mode, 0, -1, &err));
        assert_int_equal(err.code, MV_EVALUE);
        assert_msg_has(&err, "is not a regular file");
        assert_null(mv_mmap_open("/dev/null", (mv_map_mode)mode, 0, -1, &err));
        assert_int_equal(err.code, MV_EVALUE);
        assert_msg_has(&err, "is not a regular file");
    }

    const int bad_modes[] = {7, -1, 3, 1 << 20};
    for (size_t i = 0; i < sizeof bad_modes / sizeof *bad_modes; i++) {
        assert_null(mv_mmap_open(path, (mv_map_mode)bad_modes[i], 0, -1, &err));
        assert_int_equal(err.code, MV_EVALUE);
    }

    assert_null(mv_mmap_open(path, MV_MAP_READ, -1, -1, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_null(mv_mmap_open(path, MV_MAP_READ, PTRDIFF_MIN, 1, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_null(mv_mmap_open(path, MV_MAP_READ, 0, -2, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_null(mv_mmap_open(path, MV_MAP_READ, 0, PTRDIFF_MIN, &err));
    assert_int_equal(err.code, MV_EVALUE);

    /* Past the end: the message names offset, length and the size. */
    assert_null(mv_mmap_open(path, MV_MAP_READ, FILE_SIZE + 1, -1, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_msg_has(&err, "10001");
    assert_msg_has(&err, "10000");
    assert_null(mv_mmap_open(path, MV_MAP_READ, FILE_SIZE + 1, 0, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_null(mv_mmap_open(path, MV_MAP_READ, 4097, FILE_SIZE - 4096, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_msg_has(&err, "4097");
    assert_msg_has(&err, "5904");
    assert_msg_has(&err, "10000");
    assert_null(mv_mmap_open(path, MV_MAP_READ, 0, FILE_SIZE + 1, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_null(mv_mmap_open(path, MV_MAP_WRITE, 0, FILE_SIZE + 1, &err));
    assert_int_equal(err.code, MV_EVALUE);
    /* offset + length overflows ptrdiff_t. */
    assert_null(mv_mmap_open(path, MV_MAP_READ, 1, PTRDIFF_MAX, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_null(mv_mmap_open(path, MV_MAP_READ, PTRDIFF_MAX, PTRDIFF_MAX, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_null(mv_mmap_open(path, MV_MAP_READ, PTRDIFF_MAX, -1, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_null(mv_mmap_open(path, MV_MAP_READ, FILE_SIZE, PTRDIFF_MAX, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_null(mv_mmap_open(path, MV_MAP_READ, PTRDIFF_MAX - 4096, 4097, NULL));

    /* A path that is not a directory in the middle. */
    char notdir[160];
    snprintf(notdir, sizeof notdir, "%s/x", path);
    assert_null(mv_mmap_open(notdir, MV_MAP_READ, 0, -1, &err));
    assert_int_equal(err.code, MV_EOS);
    assert_int_equal(err.os_errno, ENOTDIR);

    /* None of the failures left a descriptor open. */
    assert_int_equal(count_open_fds(), fds);
}

static void test_hostile_fd(void **state)
{
    fixture *f = *state;
    char path[128];
    make_pattern_file(f, "fds", 100, path, sizeof path);
    int fds = count_open_fds();
    mv_error err;

    assert_null(mv_mmap_fd(-1, MV_MAP_READ, 0, -1, &err));
    assert_int_equal(err.code, MV_EOS);
    assert_int_equal(err.os_errno, EBADF);
    assert_null(mv_mmap_fd(-1, MV_MAP_READ, 0, -1, NULL));

    int ro = open(path, O_RDONLY | O_CLOEXEC);
    int wo = open(path, O_WRONLY | O_CLOEXEC);
    int rw = open(path, O_RDWR | O_CLOEXEC);
    assert_true(ro >= 0 && wo >= 0 && rw >= 0);

    assert_null(mv_mmap_fd(ro, MV_MAP_WRITE, 0, -1, &err));
    assert_int_equal(err.code, MV_EOS);
    assert_int_equal(err.os_errno, EACCES);
    for (int mode = MV_MAP_READ; mode <= MV_MAP_COPY; mode++) {
        assert_null(mv_mmap_fd(wo, (mv_map_mode)mode, 0, -1, &err));
        assert_int_equal(err.code, MV_EOS);
        assert_int_equal(err.os_errno, EACCES);
    }
    mv_object *m = mv_mmap_fd(ro, MV_MAP_READ, 0, -1, &err);
    assert_non_null(m);
    mv_decref(m);
    m = mv_mmap_fd(ro, MV_MAP_COPY, 1, 2, &err);
    assert_non_null(m);
    size_t n;
    assert_pattern(mv_object_data(m, &n), 1, 2);
    mv_decref(m);
    m = mv_mmap_fd(rw, MV_MAP_WRITE, 99, -1, &err);
    assert_non_null(m);
    assert_pattern(mv_object_data(m, &n), 99, 1);
    mv_decref(m);

    assert_null(mv_mmap_fd(rw, (mv_map_mode)7, 0, -1, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_null(mv_mmap_fd(rw, MV_MAP_READ, -5, -1, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_null(mv_mmap_fd(rw, MV_MAP_READ, 50, 51, &err));
    assert_int_equal(err.code, MV_EVALUE);

    int dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(dirfd >= 0);
    assert_null(mv_mmap_fd(dirfd, MV_MAP_READ, 0, -1, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_msg_has(&err, "is not a regular file");

    close(dirfd);
    close(ro);
    close(wo);
    close(rw);
    /* A closed descriptor. */
    assert_null(mv_mmap_fd(rw, MV_MAP_READ, 0, -1, &err));
    assert_int_equal(err.code, MV_EOS);
    assert_int_equal(err.os_errno, EBADF);
    assert_int_equal(count_open_fds(), fds);
}

static void test_wrong_object(void **state)
{
    (void)state;
    mv_error err;
    mv_object *b = mv_bytearray_new("abc", 3, &err);
    assert_non_null(b);
    assert_int_equal(mv_mmap_sync(b, 0, &err), MV_ETYPE);
    assert_int_equal(mv_mmap_close(b, &err), MV_ETYPE);
    assert_int_equal(mv_mmap_remap(b, 0, -1, &err), MV_ETYPE);
    assert_msg_has(&err, "bytearray");
    assert_int_equal(mv_mmap_sync(NULL, 0, &err), MV_ETYPE);
    assert_int_equal(mv_mmap_close(NULL, &err), MV_ETYPE);
    assert_int_equal(mv_mmap_remap(NULL, 0, -1, &err), MV_ETYPE);
    assert_int_equal(mv_mmap_sync(NULL, 0, NULL), MV_ETYPE);
    assert_int_equal(mv_mmap_close(NULL, NULL), MV_ETYPE);
    assert_int_equal(mv_mmap_remap(NULL, 0, -1, NULL), MV_ETYPE);
    /* The bytearray is untouched. */
    size_t n;
    assert_memory_equal(mv_object_data(b, &n), "abc", 3);
    mv_decref(b);
}

/* Mark the open descriptors below 1024 in seen[]. */
static void list_fds(unsigned char seen[1024])
{
    memset(seen, 0, 1024);
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] != '.' && fd >= 0 && fd < 1024 && fd != dirfd(d))
            seen[fd] = 1;
    }
    closedir(d);
}

/* The mapping's own descriptor is close-on-exec and goes with the object. */
static void test_descriptor(void **state)
{
    fixture *f = *state;
    char path[128];
    make_pattern_file(f, "desc", 100, path, sizeof path);
    unsigned char before[1024], after[1024];
    list_fds(before);
    mv_error err;
    mv_object *m = mv_mmap_open(path, MV_MAP_READ, 0, -1, &err);
    assert_non_null(m);
    list_fds(after);
    int mine = -1, count = 0;
    for (int fd = 0; fd < 1024; fd++) {
        assert_false(before[fd] && !after[fd]);
        if (after[fd] && !before[fd]) {
            mine = fd;
            count++;
        }
    }
    assert_int_equal(count, 1);
    int fl = fcntl(mine, F_GETFD);
    assert_true(fl >= 0);
    assert_true(fl & FD_CLOEXEC);
    mv_decref(m);
    assert_int_equal(fcntl(mine, F_GETFD), -1);
    assert_int_equal(errno, EBADF);
}

static void test_nomem(void **state)
{
    fixture *f = *state;
    char path[128];
    make_pattern_file(f, "nomem", FILE_SIZE, path, sizeof path);
    int fds = count_open_fds();
    mv_object *m;
    for (int mode = MV_MAP_READ; mode <= MV_MAP_COPY; mode++) {
        SWEEP_PTR(m, mv_mmap_open(path, (mv_map_mode)mode, 4097, 100, sweep_err), (void)0)
        assert_int_equal(count_open_fds(), fds + 1);
        size_t n;
        assert_pattern(mv_object_data(m, &n), 4097, 100);
        mv_decref(m);
        assert_int_equal(count_open_fds(), fds);

        SWEEP_PTR(m, mv_mmap_open(path, (mv_map_mode)mode, 0, 0, sweep_err), (void)0)
        mv_decref(m);
        assert_int_equal(count_open_fds(), fds);
    }

    int fd = open(path, O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    SWEEP_PTR(m, mv_mmap_fd(fd, MV_MAP_WRITE, 1, -1, sweep_err), (void)0)
    close(fd);
    assert_int_equal(count_open_fds(), fds + 1);

    mv_view *v;
    SWEEP_PTR(v, mv_view_new(m, sweep_err), (void)0)
    assert_int_equal(mv_object_exports(m), 1);
    drop_view(v);
    assert_int_equal(mv_object_exports(m), 0);
    mv_decref(m);
    assert_int_equal(count_open_fds(), fds);
}

/* ------------------------------------------------------------------------ */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp || strlen(tmp) > 40)
        tmp = "/tmp";
    snprintf(f->dir, sizeof f->dir, "%s/mvtest-mmap-XXXXXX", tmp);
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    int rc = nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return rc;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_whole),
        cmocka_unit_test(test_offset_length),
        cmocka_unit_test(test_write_mode),
        cmocka_unit_test(test_copy_mode),
        cmocka_unit_test(test_read_rejects_writes),
        cmocka_unit_test(test_export_lock),
        cmocka_unit_test(test_view_outlives_reference),
        cmocka_unit_test(test_remap),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_hostile_open),
        cmocka_unit_test(test_hostile_fd),
        cmocka_unit_test(test_wrong_object),
        cmocka_unit_test(test_descriptor),
        cmocka_unit_test(test_nomem),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
