/* mv_object: reference counts, export counts, destroy, type names, and the
 * object side of getbuffer / release. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>

#include "memview.h"

typedef struct probe {
    mv_object ob;
    int *destroyed;     /* incremented by destroy */
    int releases;       /* releasebuffer calls */
    int getbufs;        /* getbuffer calls */
    int mode;           /* see probe_getbuffer */
    mv_object *redirect;
    unsigned char mem[16];
} probe;

enum { MODE_FILL = 0, MODE_FAIL, MODE_NO_OBJ, MODE_REDIRECT };

static int probe_getbuffer(mv_object *self, mv_buffer *view, int flags, mv_error *err)
{
    probe *p = (probe *)self;
    p->getbufs++;
    switch (p->mode) {
    case MODE_FAIL:
        return mv_error_set(err, MV_EBUFFER, "probe refuses");
    case MODE_NO_OBJ:
        /* Fill the descriptor but leave obj NULL: getbuffer must add it. */
        return mv_buffer_fill_info(view, NULL, p->mem, sizeof p->mem, 0, flags, err);
    case MODE_REDIRECT:
        return mv_buffer_fill_info(view, p->redirect, p->mem, sizeof p->mem, 0, flags, err);
    default:
        return mv_buffer_fill_info(view, self, p->mem, sizeof p->mem, 0, flags, err);
    }
}

static void probe_releasebuffer(mv_object *self, mv_buffer *view)
{
    (void)view;
    ((probe *)self)->releases++;
}

static void probe_destroy(mv_object *self)
{
    probe *p = (probe *)self;
    if (p->destroyed)
        (*p->destroyed)++;
    free(p);
}

static const mv_type probe_type = {
    .name = "probe",
    .getbuffer = probe_getbuffer,
    .releasebuffer = probe_releasebuffer,
    .destroy = probe_destroy,
};

static const mv_type opaque_type = {.name = "opaque", .destroy = probe_destroy};
static const mv_type nameless_type = {.destroy = probe_destroy};

static probe *probe_new(const mv_type *type, int *destroyed)
{
    probe *p = calloc(1, sizeof *p);
    assert_non_null(p);
    mv_object_init(&p->ob, type);
    p->destroyed = destroyed;
    return p;
}

static void test_init_counts(void **state)
{
    (void)state;
    int destroyed = 0;
    probe *p = probe_new(&probe_type, &destroyed);
    assert_int_equal(mv_object_refcount(p), 1);
    assert_int_equal(mv_object_exports(p), 0);
    assert_ptr_equal(p->ob.type, &probe_type);
    mv_decref(p);
    assert_int_equal(destroyed, 1);
}

static void test_incref_decref_destroy_once(void **state)
{
    (void)state;
    int destroyed = 0;
    probe *p = probe_new(&probe_type, &destroyed);
    for (int i = 0; i < 10; i++)
        mv_incref(p);
    assert_int_equal(mv_object_refcount(p), 11);
    for (int i = 0; i < 10; i++) {
        mv_decref(p);
        assert_int_equal(destroyed, 0);
        assert_int_equal(mv_object_refcount(p), (size_t)(10 - i));
    }
    mv_decref(p);
    assert_int_equal(destroyed, 1);
}

/* A local object counts exactly as a shared one does; only the
 * instructions differ.  Views of it are local too (test_view.c). */
static void test_local_counts(void **state)
{
    (void)state;
    int destroyed = 0;
    probe *p = probe_new(&probe_type, &destroyed);
    assert_int_equal(p->ob.flags, 0);
    mv_object_set_local(&p->ob);
    assert_int_equal(p->ob.flags, MV_OBJECT_LOCAL);
    mv_object_set_local(&p->ob); /* idempotent */
    assert_int_equal(p->ob.flags, MV_OBJECT_LOCAL);
    for (int i = 0; i < 5; i++)
        mv_incref(p);
    assert_int_equal(mv_object_refcount(p), 6);
    mv_error err;
    mv_buffer b[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(mv_object_getbuffer(&p->ob, &b[i], MV_BUF_SIMPLE, &err), 0);
        assert_ptr_equal(b[i].obj, &p->ob);
        assert_int_equal(mv_object_exports(p), (size_t)(i + 1));
        assert_int_equal(mv_object_refcount(p), (size_t)(7 + i));
    }
    for (int i = 0; i < 3; i++) {
        mv_buffer_release(&b[i]);
        assert_int_equal(mv_object_exports(p), (size_t)(2 - i));
        assert_int_equal(p->releases, i + 1);
    }
    /* A second release of a released buffer changes nothing. */
    mv_buffer_release(&b[0]);
    assert_int_equal(mv_object_exports(p), 0);
    assert_int_equal(mv_object_refcount(p), 6);
    for (int i = 0; i < 5; i++)
        mv_decref(p);
    assert_int_equal(destroyed, 0);
    mv_decref(p);
    assert_int_equal(destroyed, 1);
    mv_object_set_local(NULL);
}

static void test_null_is_ignored(void **state)
{
    (void)state;
    mv_incref(NULL);
    mv_decref(NULL);
    mv_object_init(NULL, &probe_type);
    assert_int_equal(mv_object_refcount(NULL), 0);
    assert_int_equal(mv_object_exports(NULL), 0);
    assert_string_equal(mv_object_type_name(NULL), "NULL");
}

static void test_type_names(void **state)
{
    (void)state;
    probe *a = probe_new(&probe_type, NULL);
    probe *b = probe_new(&nameless_type, NULL);
    assert_string_equal(mv_object_type_name(a), "probe");
    assert_string_equal(mv_object_type_name(b), "object");
    mv_decref(a);
    mv_decref(b);
}

static void test_no_destroy_is_fine(void **state)
{
    (void)state;
    static const mv_type immortal = {.name = "immortal"};
    mv_object o;
    mv_object_init(&o, &immortal);
    mv_incref(&o);
    mv_decref(&o);
    mv_decref(&o); /* reaches zero: no destroy to call */
    assert_int_equal(mv_object_refcount(&o), 0);
}

static void test_getbuffer_counts_exports(void **state)
{
    (void)state;
    int destroyed = 0;
    probe *p = probe_new(&probe_type, &destroyed);
    mv_buffer b1, b2;
    mv_error err;
    assert_int_equal(mv_object_getbuffer(&p->ob, &b1, MV_BUF_SIMPLE, &err), 0);
    assert_int_equal(mv_object_exports(p), 1);
    assert_int_equal(mv_object_refcount(p), 2);
    assert_ptr_equal(b1.obj, &p->ob);
    assert_int_equal(mv_object_getbuffer(&p->ob, &b2, MV_BUF_FULL, &err), 0);
    assert_int_equal(mv_object_exports(p), 2);
    assert_int_equal(mv_object_refcount(p), 3);

    mv_buffer_release(&b1);
    assert_null(b1.obj);
    assert_int_equal(p->releases, 1);
    assert_int_equal(mv_object_exports(p), 1);
    assert_int_equal(mv_object_refcount(p), 2);
    /* Idempotent: a second release does nothing. */
    mv_buffer_release(&b1);
    assert_int_equal(p->releases, 1);
    assert_int_equal(mv_object_exports(p), 1);
    assert_int_equal(mv_object_refcount(p), 2);

    /* The buffer keeps the object alive after the caller's reference. */
    mv_decref(p);
    assert_int_equal(destroyed, 0);
    mv_buffer_release(&b2);
    assert_int_equal(destroyed, 1);
}

static void test_release_zeroed_and_null(void **state)
{
    (void)state;
    mv_buffer b;
    memset(&b, 0, sizeof b);
    mv_buffer_release(&b);
    mv_buffer_release(NULL);
    assert_null(b.obj);
}

static void test_getbuffer_failure_counts_nothing(void **state)
{
    (void)state;
    probe *p = probe_new(&probe_type, NULL);
    p->mode = MODE_FAIL;
    mv_buffer b;
    memset(&b, 0x77, sizeof b);
    mv_error err;
    assert_int_equal(mv_object_getbuffer(&p->ob, &b, MV_BUF_SIMPLE, &err), MV_EBUFFER);
    assert_string_equal(err.message, "probe refuses");
    assert_null(b.obj);
    assert_int_equal(mv_object_exports(p), 0);
    assert_int_equal(mv_object_refcount(p), 1);
    mv_buffer_release(&b); /* safe after a failed getbuffer */
    assert_int_equal(p->releases, 0);
    mv_decref(p);
}

static void test_getbuffer_sets_missing_obj(void **state)
{
    (void)state;
    probe *p = probe_new(&probe_type, NULL);
    p->mode = MODE_NO_OBJ;
    mv_buffer b;
    assert_int_equal(mv_object_getbuffer(&p->ob, &b, MV_BUF_SIMPLE, NULL), 0);
    assert_ptr_equal(b.obj, &p->ob);
    assert_int_equal(mv_object_refcount(p), 2);
    assert_int_equal(mv_object_exports(p), 1);
    mv_buffer_release(&b);
    assert_int_equal(mv_object_refcount(p), 1);
    assert_int_equal(mv_object_exports(p), 0);
    mv_decref(p);
}

static void test_getbuffer_redirect(void **state)
{
    (void)state;
    int destroyed = 0;
    probe *target = probe_new(&probe_type, &destroyed);
    probe *p = probe_new(&probe_type, NULL);
    p->mode = MODE_REDIRECT;
    p->redirect = &target->ob;
    mv_buffer b;
    assert_int_equal(mv_object_getbuffer(&p->ob, &b, MV_BUF_SIMPLE, NULL), 0);
    /* The export is counted on the object the buffer names, which is the
     * one release will see. */
    assert_ptr_equal(b.obj, &target->ob);
    assert_int_equal(mv_object_exports(target), 1);
    assert_int_equal(mv_object_exports(p), 0);
    assert_int_equal(mv_object_refcount(target), 2);
    mv_buffer_release(&b);
    assert_int_equal(target->releases, 1);
    assert_int_equal(mv_object_exports(target), 0);
    mv_decref(p);
    mv_decref(target);
    assert_int_equal(destroyed, 1);
}

static void test_getbuffer_not_an_exporter(void **state)
{
    (void)state;
    probe *p = probe_new(&opaque_type, NULL);
    mv_buffer b;
    mv_error err;
    assert_int_equal(mv_object_getbuffer(&p->ob, &b, MV_BUF_SIMPLE, &err), MV_ETYPE);
    assert_string_equal(err.message, "a bytes-like object is required, not 'opaque'");
    assert_null(b.obj);
    assert_int_equal(mv_object_refcount(p), 1);
    mv_decref(p);
}

static void test_getbuffer_bad_arguments(void **state)
{
    (void)state;
    probe *p = probe_new(&probe_type, NULL);
    mv_buffer b;
    mv_error err;
    memset(&b, 0xff, sizeof b);
    assert_int_equal(mv_object_getbuffer(NULL, &b, MV_BUF_SIMPLE, &err), MV_EVALUE);
    assert_string_equal(err.message, "getbuffer: exporter must not be NULL");
    assert_null(b.obj); /* the descriptor is cleared even then */
    assert_int_equal(mv_object_getbuffer(&p->ob, NULL, MV_BUF_SIMPLE, &err), MV_EVALUE);
    assert_string_equal(err.message, "getbuffer: view must not be NULL");
    assert_int_equal(mv_object_getbuffer(NULL, NULL, -1, &err), MV_EVALUE);
    assert_string_equal(err.message, "getbuffer: view must not be NULL");
    /* PyBUF_WRITE, the unused 0x2 bit, high bits and negative flags. */
    int bad[] = {MV_BUF_WRITE, 0x2, 0x400, 0x1000, MV_BUF_FULL | 0x200, -1, INT32_MIN};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mv_error_clear(&err);
        assert_int_equal(mv_object_getbuffer(&p->ob, &b, bad[i], &err), MV_EVALUE);
        assert_non_null(strstr(err.message, "flags"));
        assert_null(b.obj);
    }
    assert_int_equal(p->getbufs, 0);
    assert_int_equal(mv_object_exports(p), 0);
    assert_int_equal(mv_object_refcount(p), 1);
    mv_decref(p);
}

/* The counts word, written by hand: `refs` references of which `exports`
 * are held by exports (white-box: the layout is struct mv_object's). */
static void set_counts(mv_object *o, uint64_t refs, uint64_t exports)
{
    atomic_store(&o->counts, exports << 40 | refs);
}

/* check(o, p) on a probe p (its type's getbuffer) and on a bytearray (the
 * inline path), each shared and then local; check leaves each with one
 * reference, which must destroy it. */
static void on_both_paths(void (*check)(mv_object *o, probe *p))
{
    for (int local = 0; local < 2; local++) {
        int destroyed = 0;
        probe *p = probe_new(&probe_type, &destroyed);
        mv_error err;
        mv_object *ba = mv_bytearray_new("abc", 3, &err);
        assert_non_null(ba);
        if (local) {
            mv_object_set_local(&p->ob);
            mv_object_set_local(ba);
        }
        check(&p->ob, p);
        check(ba, p);
        assert_int_equal(destroyed, 0);
        mv_decref(ba);
        mv_decref(&p->ob);
        assert_int_equal(destroyed, 1);
    }
}

/* MV_EXPORTS_MAX buffers held: one more is refused with the documented
 * error, through every entry point, and changes nothing; the type's
 * releasebuffer undoes its getbuffer. */
static void check_export_limit(mv_object *o, probe *p)
{
    char want[MV_ERROR_MESSAGE_MAX];
    snprintf(want, sizeof want, "too many exports of one object (at most %zu)", MV_EXPORTS_MAX);
    int releases = p->releases;
    mv_error err;
    set_counts(o, MV_EXPORTS_MAX + 1, MV_EXPORTS_MAX);
    uint64_t before = atomic_load(&o->counts);
    mv_buffer b;
    memset(&b, 0x5a, sizeof b);
    assert_int_equal(mv_object_getbuffer(o, &b, MV_BUF_FULL_RO, &err), MV_EBUFFER);
    assert_int_equal(err.code, MV_EBUFFER);
    assert_string_equal(err.message, want);
    assert_null(b.obj);
    assert_true(atomic_load(&o->counts) == before);
    mv_layout s;
    assert_int_equal(mv_layout_acquire(&s, &b, o, MV_BUF_SIMPLE, &err), MV_EBUFFER);
    assert_string_equal(err.message, want);
    assert_true(atomic_load(&o->counts) == before);
    assert_null(mv_view_new(o, &err));
    assert_string_equal(err.message, want);
    assert_true(atomic_load(&o->counts) == before);
    /* One given back: one can be taken again. */
    set_counts(o, MV_EXPORTS_MAX, MV_EXPORTS_MAX - 1);
    assert_int_equal(mv_object_getbuffer(o, &b, MV_BUF_SIMPLE, &err), 0);
    assert_int_equal(mv_object_exports(o), MV_EXPORTS_MAX);
    assert_int_equal(mv_object_refcount(o), MV_EXPORTS_MAX + 1);
    mv_buffer_release(&b);
    assert_int_equal(mv_object_exports(o), MV_EXPORTS_MAX - 1);
    set_counts(o, 1, 0);
    /* The probe's three refusals and one release went through its
     * releasebuffer. */
    if (o == &p->ob)
        assert_int_equal(p->releases, releases + 4);
}

static void test_export_limit(void **state)
{
    (void)state;
    on_both_paths(check_export_limit);
}

/* MV_REFS_IMMORTAL references: the object is pinned and its count stops
 * changing, whatever takes or gives back references or buffers.  It
 * crosses by mv_incref (the probe) or by a buffer (the bytearray's inline
 * path). */
static void check_immortal(mv_object *o, probe *p)
{
    mv_error err;
    bool by_buffer = o != &p->ob;
    set_counts(o, MV_REFS_IMMORTAL - 2, 0);
    mv_incref(o);
    assert_int_equal(mv_object_refcount(o), MV_REFS_IMMORTAL - 1);
    mv_buffer held;
    if (by_buffer)
        assert_int_equal(mv_object_getbuffer(o, &held, MV_BUF_SIMPLE, &err), 0);
    else
        mv_incref(o);
    size_t pinned = mv_object_refcount(o);
    assert_int_equal(pinned, (size_t)1 << 39);
    for (int i = 0; i < 3; i++)
        mv_decref(o);
    mv_incref(o);
    assert_int_equal(mv_object_refcount(o), pinned);
    mv_buffer b;
    mv_layout s;
    assert_int_equal(mv_object_getbuffer(o, &b, MV_BUF_FULL_RO, &err), 0);
    assert_int_equal(mv_object_refcount(o), pinned);
    assert_int_equal(mv_object_exports(o), by_buffer ? 2 : 1);
    mv_buffer_release(&b);
    assert_int_equal(mv_layout_acquire(&s, &b, o, MV_BUF_SIMPLE, &err), 0);
    mv_buffer_release(&b);
    /* A buffer filled without getbuffer holds no export. */
    assert_int_equal(mv_buffer_fill_info(&b, o, p->mem, 4, 1, MV_BUF_SIMPLE, &err), 0);
    mv_buffer_release(&b);
    if (by_buffer)
        mv_buffer_release(&held);
    assert_int_equal(mv_object_refcount(o), pinned);
    assert_int_equal(mv_object_exports(o), 0);
    set_counts(o, 1, 0);
}

static void test_immortal(void **state)
{
    (void)state;
    on_both_paths(check_immortal);
}

/* A buffer filled without mv_object_getbuffer holds a reference and no
 * export: giving it back takes the reference only, and the last one
 * destroys. */
static void test_release_without_export(void **state)
{
    (void)state;
    for (int local = 0; local < 2; local++) {
        int destroyed = 0;
        probe *p = probe_new(&probe_type, &destroyed);
        if (local)
            mv_object_set_local(&p->ob);
        mv_buffer b;
        mv_error err;
        assert_int_equal(mv_buffer_fill_info(&b, &p->ob, p->mem, 4, 0, MV_BUF_SIMPLE, &err), 0);
        assert_int_equal(mv_object_refcount(p), 2);
        mv_buffer_release(&b);
        assert_int_equal(mv_object_refcount(p), 1);
        assert_int_equal(mv_object_exports(p), 0);
        assert_int_equal(mv_buffer_fill_info(&b, &p->ob, p->mem, 4, 0, MV_BUF_SIMPLE, &err), 0);
        mv_decref(&p->ob);
        assert_int_equal(destroyed, 0);
        mv_buffer_release(&b); /* the last reference */
        assert_int_equal(destroyed, 1);
    }
}

/* Concurrent references and exports: the counts must come out exact. */
enum { THREADS = 4, ROUNDS = 20000 };

/* pthreads rather than C11 threads: glibc's thrd_create bypasses the
 * ThreadSanitizer interceptors. */
static void *hammer(void *arg)
{
    mv_object *o = arg;
    for (int i = 0; i < ROUNDS; i++) {
        mv_incref(o);
        mv_buffer b;
        if (mv_object_getbuffer(o, &b, MV_BUF_SIMPLE, NULL) != 0)
            return arg;
        mv_buffer_release(&b);
        mv_decref(o);
    }
    return NULL;
}

/* No counters: the probe's are not atomic. */
static int plain_getbuffer(mv_object *self, mv_buffer *view, int flags, mv_error *err)
{
    probe *p = (probe *)self;
    return mv_buffer_fill_info(view, self, p->mem, sizeof p->mem, 0, flags, err);
}

static void test_threads(void **state)
{
    (void)state;
    int destroyed = 0;
    static const mv_type plain = {.name = "plain", .getbuffer = plain_getbuffer,
                                  .destroy = probe_destroy};
    probe *p = probe_new(&plain, &destroyed);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, &p->ob), 0);
    for (int i = 0; i < THREADS; i++) {
        void *rc = &rc;
        assert_int_equal(pthread_join(t[i], &rc), 0);
        assert_null(rc);
    }
    assert_int_equal(mv_object_refcount(p), 1);
    assert_int_equal(mv_object_exports(p), 0);
    assert_int_equal(destroyed, 0);
    mv_decref(p);
    assert_int_equal(destroyed, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_counts),
        cmocka_unit_test(test_incref_decref_destroy_once),
        cmocka_unit_test(test_local_counts),
        cmocka_unit_test(test_null_is_ignored),
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_no_destroy_is_fine),
        cmocka_unit_test(test_getbuffer_counts_exports),
        cmocka_unit_test(test_release_zeroed_and_null),
        cmocka_unit_test(test_getbuffer_failure_counts_nothing),
        cmocka_unit_test(test_getbuffer_sets_missing_obj),
        cmocka_unit_test(test_getbuffer_redirect),
        cmocka_unit_test(test_getbuffer_not_an_exporter),
        cmocka_unit_test(test_getbuffer_bad_arguments),
        cmocka_unit_test(test_export_limit),
        cmocka_unit_test(test_immortal),
        cmocka_unit_test(test_release_without_export),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
