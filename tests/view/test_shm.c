/* shm exporter: create, reopen by name, share with a forked child, EXCL,
 * read-only mappings, unlink, name / flag / size validation, the mapping
 * operations on shm objects and allocation failures.  Names are
 * "/mvtest-<pid>-<n>" and every one is unlinked before the test ends;
 * expected bytes come from pattern() and are checked against what
 * shm_open + read(2) see, not only through the library. */
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
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "failalloc.h"
#include "testviews.h"
#include "memview.h"

typedef struct fixture {
    int next; /* the <n> of the next name */
} fixture;

static unsigned char pattern(size_t i, unsigned seed)
{
    return (unsigned char)((i * 167u + seed) ^ (i >> 7) ^ (seed >> 3));
}

static void new_name(void **state, char *out, size_t outlen)
{
    fixture *f = *state;
    int n = snprintf(out, outlen, "/mvtest-%ld-%d", (long)getpid(), f->next++);
    assert_true(n > 0 && (size_t)n < outlen);
    /* A leftover from a crashed run with the same pid would skew EXCL. */
    shm_unlink(out);
}

/* 1 if the name exists (independently of the library). */
static int name_exists(const char *name)
{
    int fd = shm_open(name, O_RDONLY, 0);
    if (fd < 0) {
        assert_int_equal(errno, ENOENT);
        return 0;
    }
    close(fd);
    return 1;
}

/* The object's bytes as read(2) sees them; its size must be len. */
static void read_object(const char *name, unsigned char *out, size_t len)
{
    int fd = shm_open(name, O_RDONLY, 0);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_size, (off_t)len);
    pread_all(fd, 0, out, len);
    close(fd);
}

static void assert_pattern(const unsigned char *p, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != pattern(i, seed))
            fail_msg("byte %zu is %u, expected %u", i, p[i], pattern(i, seed));
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

static void test_create_and_reopen(void **state)
{
    char name[64];
    new_name(state, name, sizeof name);
    const size_t size = 8197;
    mv_error err;
    int fds = count_open_fds();
    mv_object *a = mv_shm_open(name, MV_SHM_CREATE | MV_SHM_EXCL, (ptrdiff_t)size, &err);
    if (!a)
        fail_msg("%s", err.message);
    assert_int_equal(count_open_fds(), fds + 1);
    size_t n = 0;
    unsigned char *p = mv_object_data(a, &n);
    assert_non_null(p);
    assert_int_equal(n, size);
    for (size_t i = 0; i < size; i++)
        assert_int_equal(p[i], 0);
    for (size_t i = 0; i < size; i++)
        p[i] = pattern(i, 1);

    unsigned char *back = malloc(size);
    assert_non_null(back);
    read_object(name, back, size);
    assert_pattern(back, size, 1);
    free(back);

    mv_object *b = mv_shm_open(name, 0, 0, &err);
    assert_non_null(b);
    unsigned char *q = mv_object_data(b, &n);
    assert_int_equal(n, size);
    assert_true(q != p);
    assert_pattern(q, size, 1);
    mv_object *c = mv_shm_open(name, 0, (ptrdiff_t)size, &err);
    assert_non_null(c);

    /* Writes through one mapping show in the others. */
    mv_view *v = mv_view_new(c, &err);
    assert_non_null(v);
    assert_int_equal(mv_view_buffer(v, &err)->readonly, 0);
    ptrdiff_t idx = -1;
    mv_value val = {.kind = MV_VALUE_UNSIGNED, .v.u = (uint8_t)~pattern(size - 1, 1)};
    assert_int_equal(mv_view_set_item(v, &idx, 1, &val, 1, &err), 0);
    assert_int_equal(p[size - 1], (uint8_t)~pattern(size - 1, 1));
    assert_int_equal(q[size - 1], (uint8_t)~pattern(size - 1, 1));
    drop_view(v);

    mv_decref(a);
    mv_decref(b);
    mv_decref(c);
    assert_int_equal(count_open_fds(), fds);
    assert_int_equal(mv_shm_unlink(name, &err), 0);
    assert_false(name_exists(name));
}

static void test_fork(void **state)
{
    char name[64];
    new_name(state, name, sizeof name);
    const size_t size = 5000;
    mv_error err;
    mv_object *obj = mv_shm_open(name, MV_SHM_CREATE | MV_SHM_EXCL, (ptrdiff_t)size, &err);
    assert_non_null(obj);

    /* Child 1 opens the name and writes pattern seed 2 through a view. */
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        mv_object *o = mv_shm_open(name, 0, (ptrdiff_t)size, NULL);
        if (!o)
            _exit(2);
        mv_view *v = mv_view_new(o, NULL);
        if (!v)
            _exit(3);
        for (size_t i = 0; i < size; i++) {
            ptrdiff_t idx = (ptrdiff_t)i;
            mv_value val = {.kind = MV_VALUE_UNSIGNED, .v.u = pattern(i, 2)};
            if (mv_view_set_item(v, &idx, 1, &val, 1, NULL) != 0)
                _exit(4);
        }
        mv_view_release(v, NULL);
        mv_decref(v);
        mv_decref(o);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    mv_view *v = mv_view_new(obj, &err);
    assert_non_null(v);
    size_t n = 0;
    unsigned char *bytes = mv_view_tobytes(v, 'C', &n, &err);
    assert_non_null(bytes);
    assert_int_equal(n, size);
    assert_pattern(bytes, size, 2);
    free(bytes);
    drop_view(v);

    /* Child 2 writes seed 3 through the mapping it inherited. */
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        size_t len = 0;
        unsigned char *p = mv_object_data(obj, &len);
        if (!p || len != size)
            _exit(2);
        for (size_t i = 0; i < size; i++)
            p[i] = pattern(i, 3);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_pattern(mv_object_data(obj, &n), size, 3);

    mv_decref(obj);
    assert_int_equal(mv_shm_unlink(name, &err), 0);
}

static void test_excl_and_missing(void **state)
{
    char name[64];
    new_name(state, name, sizeof name);
    mv_error err;
    mv_object *a = mv_shm_open(name, MV_SHM_CREATE | MV_SHM_EXCL, 100, &err);
    assert_non_null(a);
    unsigned char *p = mv_object_data(a, &(size_t){0});
    for (size_t i = 0; i < 100; i++)
        p[i] = pattern(i, 4);

    int fds = count_open_fds();
    mv_error_clear(&err);
    assert_null(mv_shm_open(name, MV_SHM_CREATE | MV_SHM_EXCL, 100, &err));
    assert_int_equal(err.code, MV_EOS);
    assert_int_equal(err.os_errno, EEXIST);
    assert_msg_has(&err, name);
    /* The failure removed nothing it had not created. */
    assert_true(name_exists(name));
    assert_null(mv_shm_open(name, MV_SHM_CREATE | MV_SHM_EXCL | MV_SHM_READONLY, 0, NULL));
    assert_true(name_exists(name));
    unsigned char back[100];
    read_object(name, back, 100);
    assert_pattern(back, 100, 4);

    /* CREATE without EXCL opens the existing object and sets its size. */
    mv_object *b = mv_shm_open(name, MV_SHM_CREATE, 300, &err);
    assert_non_null(b);
    size_t n;
    unsigned char *q = mv_object_data(b, &n);
    assert_int_equal(n, 300);
    assert_pattern(q, 100, 4);
    for (size_t i = 100; i < 300; i++)
        assert_int_equal(q[i], 0);
    mv_decref(b);
    mv_decref(a);
    assert_int_equal(mv_shm_unlink(name, &err), 0);

    mv_error_clear(&err);
    assert_null(mv_shm_open(name, 0, 0, &err));
    assert_int_equal(err.code, MV_EOS);
    assert_int_equal(err.os_errno, ENOENT);
    assert_null(mv_shm_open(name, MV_SHM_READONLY, 0, &err));
    assert_int_equal(err.os_errno, ENOENT);
    assert_false(name_exists(name));
    assert_int_equal(count_open_fds(), fds - 1); /* `a` and its descriptor are gone */

    /* CREATE without EXCL creates a missing one. */
    b = mv_shm_open(name, MV_SHM_CREATE, 10, &err);
    assert_non_null(b);
    assert_true(name_exists(name));
    mv_decref(b);
    assert_int_equal(mv_shm_unlink(name, &err), 0);
}

static void test_readonly(void **state)
{
    char name[64];
    new_name(state, name, sizeof name);
    mv_error err;
    mv_object *w = mv_shm_open(name, MV_SHM_CREATE | MV_SHM_EXCL, 64, &err);
    assert_non_null(w);
    unsigned char *p = mv_object_data(w, &(size_t){0});
    for (size_t i = 0; i < 64; i++)
        p[i] = pattern(i, 5);

    const int ro_flags[] = {MV_SHM_READONLY, MV_SHM_READONLY | MV_SHM_CREATE};
    for (size_t k = 0; k < 2; k++) {
        mv_object *r = mv_shm_open(name, ro_flags[k], 64, &err);
        if (!r)
            fail_msg("flags %d: %s", ro_flags[k], err.message);
        size_t n;
        assert_pattern(mv_object_data(r, &n), 64, 5);
        assert_int_equal(n, 64);
        mv_buffer b;
        memset(&b, 0, sizeof b);
        assert_int_equal(mv_object_getbuffer(r, &b, MV_BUF_WRITABLE, &err), MV_EBUFFER);
        assert_string_equal(err.message, "Object is not writable.");
        assert_int_equal(mv_object_exports(r), 0);
        mv_view *v = mv_view_new(r, &err);
        assert_non_null(v);
        assert_int_equal(mv_view_buffer(v, &err)->readonly, 1);
        ptrdiff_t idx = 0;
        mv_value val = {.kind = MV_VALUE_UNSIGNED, .v.u = 9};
        assert_int_equal(mv_view_set_item(v, &idx, 1, &val, 1, &err), MV_ETYPE);
        drop_view(v);
        /* Nothing to flush in a read-only mapping. */
        assert_int_equal(mv_mmap_sync(r, 0, &err), 0);
        mv_decref(r);
    }
    assert_pattern(p, 64, 5);
    mv_decref(w);
    assert_int_equal(mv_shm_unlink(name, &err), 0);
}

static void test_unlink(void **state)
{
    char name[64];
    new_name(state, name, sizeof name);
    mv_error err;
    mv_object *a = mv_shm_open(name, MV_SHM_CREATE | MV_SHM_EXCL, 4096, &err);
    assert_non_null(a);
    unsigned char *p = mv_object_data(a, &(size_t){0});
    for (size_t i = 0; i < 4096; i++)
        p[i] = pattern(i, 6);
    assert_int_equal(mv_shm_unlink(name, &err), 0);
    assert_false(name_exists(name));

    mv_error_clear(&err);
    assert_null(mv_shm_open(name, 0, 0, &err));
    assert_int_equal(err.code, MV_EOS);
    assert_int_equal(err.os_errno, ENOENT);
    mv_error_clear(&err);
    assert_int_equal(mv_shm_unlink(name, &err), MV_EOS);
    assert_int_equal(err.os_errno, ENOENT);
    assert_msg_has(&err, name);
    assert_int_equal(mv_shm_unlink(name, NULL), MV_EOS);

    /* The existing mapping stays valid. */
    size_t n;
    assert_pattern(mv_object_data(a, &n), 4096, 6);
    assert_int_equal(n, 4096);
    mv_decref(a);
}

static void test_bad_arguments(void **state)
{
    char name[64];
    new_name(state, name, sizeof name);
    int fds = count_open_fds();
    mv_error err;

    char too_long[NAME_MAX + 3];
    too_long[0] = '/';
    memset(too_long + 1, 'a', NAME_MAX + 1);
    too_long[NAME_MAX + 2] = '\0';
    const char *bad[] = {"", "noslash", "/a/b", "/", "//", "/abc/", "a/", too_long};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        mv_error_clear(&err);
        assert_null(mv_shm_open(bad[i], MV_SHM_CREATE, 10, &err));
        if (err.code != MV_EVALUE)
            fail_msg("name '%s': code %d", bad[i], err.code);
        assert_null(mv_shm_open(bad[i], 0, 0, NULL));
        assert_int_equal(mv_shm_unlink(bad[i], &err), MV_EVALUE);
    }
    assert_null(mv_shm_open(NULL, MV_SHM_CREATE, 10, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_int_equal(mv_shm_unlink(NULL, &err), MV_EVALUE);
    assert_int_equal(mv_shm_unlink(NULL, NULL), MV_EVALUE);

    /* The longest name allowed works: NAME_MAX bytes after the slash. */
    too_long[NAME_MAX + 1] = '\0';
    shm_unlink(too_long);
    mv_object *o = mv_shm_open(too_long, MV_SHM_CREATE | MV_SHM_EXCL, 1, &err);
    if (!o)
        fail_msg("%s", err.message);
    mv_decref(o);
    assert_int_equal(mv_shm_unlink(too_long, &err), 0);

    const int bad_flags[] = {8, 16, -1, INT_MIN, MV_SHM_EXCL, MV_SHM_EXCL | MV_SHM_READONLY,
                             MV_SHM_CREATE | 64};
    for (size_t i = 0; i < sizeof bad_flags / sizeof *bad_flags; i++) {
        mv_error_clear(&err);
        assert_null(mv_shm_open(name, bad_flags[i], 10, &err));
        if (err.code != MV_EVALUE)
            fail_msg("flags %d: code %d", bad_flags[i], err.code);
    }
    const ptrdiff_t bad_sizes[] = {-1, -4096, PTRDIFF_MIN};
    for (size_t i = 0; i < sizeof bad_sizes / sizeof *bad_sizes; i++) {
        assert_null(mv_shm_open(name, MV_SHM_CREATE, bad_sizes[i], &err));
        assert_int_equal(err.code, MV_EVALUE);
        assert_null(mv_shm_open(name, 0, bad_sizes[i], &err));
        assert_int_equal(err.code, MV_EVALUE);
    }
    assert_false(name_exists(name));

    /* Size must match without CREATE. */
    mv_object *a = mv_shm_open(name, MV_SHM_CREATE | MV_SHM_EXCL, 100, &err);
    assert_non_null(a);
    assert_null(mv_shm_open(name, 0, 99, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_msg_has(&err, "99");
    assert_msg_has(&err, "100");
    assert_null(mv_shm_open(name, MV_SHM_READONLY, 101, &err));
    assert_int_equal(err.code, MV_EVALUE);
    /* ...and a failed open of an existing object leaves it in place. */
    assert_true(name_exists(name));
    mv_decref(a);
    assert_int_equal(mv_shm_unlink(name, &err), 0);
    assert_int_equal(count_open_fds(), fds);
}

static void test_mapping_operations(void **state)
{
    char name[64];
    new_name(state, name, sizeof name);
    mv_error err;
    mv_object *a = mv_shm_open(name, MV_SHM_CREATE | MV_SHM_EXCL, 1000, &err);
    assert_non_null(a);
    unsigned char *p = mv_object_data(a, &(size_t){0});
    for (size_t i = 0; i < 1000; i++)
        p[i] = pattern(i, 7);
    assert_int_equal(mv_mmap_sync(a, 0, &err), 0);
    assert_int_equal(mv_mmap_sync(a, 1, &err), 0);

    mv_view *v = mv_view_new(a, &err);
    assert_non_null(v);
    assert_int_equal(mv_mmap_close(a, &err), MV_EBUFFER);
    assert_string_equal(err.message, "cannot close mmap: 1 exported buffer exists");
    assert_int_equal(mv_mmap_remap(a, 0, -1, &err), MV_EBUFFER);
    assert_string_equal(err.message, "cannot remap mmap: 1 exported buffer exists");
    drop_view(v);

    /* Grow the object from outside, then remap to see it. */
    int fd = shm_open(name, O_RDWR, 0);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 5000), 0);
    assert_int_equal(pwrite(fd, "xyz", 3, 4997), 3);
    close(fd);
    assert_int_equal(mv_mmap_remap(a, 0, -1, &err), 0);
    size_t n;
    p = mv_object_data(a, &n);
    assert_int_equal(n, 5000);
    assert_pattern(p, 1000, 7);
    assert_memory_equal(p + 4997, "xyz", 3);
    assert_int_equal(mv_mmap_remap(a, 4097, 3, &err), 0);
    assert_int_equal(mv_mmap_remap(a, 4097, 904, &err), MV_EVALUE);
    p = mv_object_data(a, &n);
    assert_int_equal(n, 3);
    assert_int_equal(p[0], 0);

    int fds = count_open_fds();
    assert_int_equal(mv_mmap_close(a, &err), 0);
    assert_int_equal(count_open_fds(), fds - 1);
    assert_null(mv_object_data(a, &n));
    assert_int_equal(n, 0);
    assert_int_equal(mv_mmap_close(a, &err), 0);
    assert_int_equal(mv_mmap_sync(a, 0, &err), MV_EVALUE);
    assert_null(mv_view_new(a, &err));
    assert_string_equal(err.message, "mmap closed or invalid");
    mv_decref(a);
    assert_int_equal(mv_shm_unlink(name, &err), 0);

    /* Size 0: an empty but valid buffer. */
    mv_object *e = mv_shm_open(name, MV_SHM_CREATE | MV_SHM_EXCL, 0, &err);
    assert_non_null(e);
    assert_non_null(mv_object_data(e, &n));
    assert_int_equal(n, 0);
    v = mv_view_new(e, &err);
    assert_non_null(v);
    assert_int_equal(mv_view_buffer(v, &err)->len, 0);
    drop_view(v);
    assert_int_equal(mv_mmap_sync(e, 0, &err), 0);
    mv_decref(e);
    e = mv_shm_open(name, 0, 0, &err);
    assert_non_null(e);
    mv_decref(e);
    assert_int_equal(mv_shm_unlink(name, &err), 0);
}

static void test_nomem(void **state)
{
    char name[64];
    new_name(state, name, sizeof name);
    int fds = count_open_fds();
    mv_object *a;
    SWEEP_PTR(a, mv_shm_open(name, MV_SHM_CREATE | MV_SHM_EXCL, 4096, sweep_err),
              /* A failed create leaves no name behind. */
              { assert_false(name_exists(name)); assert_int_equal(count_open_fds(), fds); })
    assert_true(name_exists(name));
    mv_decref(a);
    assert_int_equal(mv_shm_unlink(name, NULL), 0);

    SWEEP_PTR(a, mv_shm_open(name, MV_SHM_CREATE | MV_SHM_READONLY, 10, sweep_err),
              /* A failed create leaves no name behind. */
              { assert_false(name_exists(name)); assert_int_equal(count_open_fds(), fds); })
    mv_decref(a);
    assert_int_equal(mv_shm_unlink(name, NULL), 0);

    /* Opening an existing object: failures must not remove it. */
    mv_object *keep = mv_shm_open(name, MV_SHM_CREATE | MV_SHM_EXCL, 4096, NULL);
    assert_non_null(keep);
    fds = count_open_fds();
    SWEEP_PTR(a, mv_shm_open(name, 0, 4096, sweep_err),
              { assert_true(name_exists(name)); assert_int_equal(count_open_fds(), fds); })
    mv_decref(a);
    mv_decref(keep);
    assert_int_equal(mv_shm_unlink(name, NULL), 0);
}

/* ------------------------------------------------------------------------ */

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    *state = f;
    return 0;
}

/* Whatever a failed test left behind goes too. */
static int teardown(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < f->next; i++) {
        char name[64];
        snprintf(name, sizeof name, "/mvtest-%ld-%d", (long)getpid(), i);
        shm_unlink(name);
    }
    free(f);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_and_reopen),
        cmocka_unit_test(test_fork),
        cmocka_unit_test(test_excl_and_missing),
        cmocka_unit_test(test_readonly),
        cmocka_unit_test(test_unlink),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_mapping_operations),
        cmocka_unit_test(test_nomem),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
