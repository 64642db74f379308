/* Concurrent readers: many threads derive, read and drop views of one
 * exporter and one shared view, and layouts of one bytearray.  Run under
 * ThreadSanitizer by `make test`; the counts at the end must come back to
 * exactly what they were.  And concurrent writers: two threads fill
 * interleaved views of one buffer. */
#include <memview.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { NTHREADS = 4, ROUNDS = 300, N = 64 };

static atomic_int released;

static void on_release(void *ctx, void *mem)
{
    (void)ctx;
    (void)mem;
    atomic_fetch_add(&released, 1);
}

struct shared {
    mv_object *exporter;
    mv_view *view;
    mv_object *bytearray; /* bytes i at i; its layouts take the inline path */
    atomic_int errors;
};

/* A thread's own local exporter (mv_object_set_local) and views of it,
 * made and dropped while the other threads work on the shared ones: plain
 * counts in one thread must not disturb the atomic ones (ThreadSanitizer
 * watches), and this family must come back to nothing. */
static void local_round(struct shared *s, int r)
{
    unsigned char mem[N];
    for (int i = 0; i < N; i++)
        mem[i] = (unsigned char)(i ^ r);
    mv_error err;
    mv_object *x = mv_external_new(mem, N, 0, NULL, NULL, &err);
    if (!x) {
        atomic_fetch_add(&s->errors, 1);
        return;
    }
    mv_object_set_local(x);
    mv_view *v = mv_view_new(x, &err);
    mv_key k = {.kind = MV_KEY_SLICE, .start = 1, .has_start = true, .step = 2, .has_step = true};
    mv_view *sl = v ? mv_view_subscript(v, &k, 1, &err) : NULL;
    ptrdiff_t i = r % (N / 2);
    mv_value val;
    if (!sl || !(mv_view_object(sl)->flags & MV_OBJECT_LOCAL) ||
        mv_view_get_item(sl, &i, 1, &val, 1, &err) < 0 ||
        val.v.u != (unsigned char)((1 + 2 * i) ^ r))
        atomic_fetch_add(&s->errors, 1);
    /* The first view goes first: the slice keeps the family alive. */
    mv_decref(mv_view_object(v));
    if (mv_object_exports(x) != (sl ? 1u : 0u))
        atomic_fetch_add(&s->errors, 1);
    mv_decref(mv_view_object(sl));
    if (mv_object_exports(x) != 0 || mv_object_refcount(x) != 1)
        atomic_fetch_add(&s->errors, 1);
    mv_decref(x);
}

static void *reader(void *arg)
{
    struct shared *s = arg;
    for (int r = 0; r < ROUNDS; r++) {
        mv_error err;
        mv_view *own = mv_view_new(s->exporter, &err);
        mv_view *chained = mv_view_new(mv_view_object(s->view), &err);
        mv_key k = {.kind = MV_KEY_SLICE, .step = -3, .has_step = true};
        mv_view *sliced = chained ? mv_view_subscript(chained, &k, 1, &err) : NULL;
        if (!own || !chained || !sliced) {
            atomic_fetch_add(&s->errors, 1);
        } else {
            /* sliced[i] is item N - 1 - 3i, which holds N - 1 - 3i. */
            ptrdiff_t i = r % 21;
            mv_value v;
            if (mv_view_get_item(sliced, &i, 1, &v, 1, &err) < 0 ||
                v.v.u != (uint64_t)(N - 1 - 3 * i))
                atomic_fetch_add(&s->errors, 1);
            mv_buffer b;
            if (mv_object_getbuffer(mv_view_object(own), &b, MV_BUF_FULL_RO, &err) < 0)
                atomic_fetch_add(&s->errors, 1);
            else
                mv_buffer_release(&b);
        }
        mv_layout sp;
        mv_buffer hold;
        if (mv_layout_acquire(&sp, &hold, s->bytearray, MV_BUF_FULL_RO, &err) < 0) {
            atomic_fetch_add(&s->errors, 1);
        } else {
            const unsigned char *p = mv_layout_at1(&sp, r % N);
            if (!p || *p != (unsigned char)(r % N))
                atomic_fetch_add(&s->errors, 1);
            mv_buffer_release(&hold);
        }
        mv_decref(mv_view_object(sliced));
        mv_decref(mv_view_object(chained));
        mv_decref(mv_view_object(own));
        local_round(s, r);
    }
    return NULL;
}

static void concurrent_views(void **state)
{
    (void)state;
    static unsigned char mem[N];
    for (int i = 0; i < N; i++)
        mem[i] = (unsigned char)i;
    mv_error err;
    struct shared s = {.exporter = mv_external_new(mem, N, 1, on_release, NULL, &err)};
    assert_non_null(s.exporter);
    s.view = mv_view_new(s.exporter, &err);
    assert_non_null(s.view);
    s.bytearray = mv_bytearray_new(mem, N, &err);
    assert_non_null(s.bytearray);

    pthread_t t[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, reader, &s), 0);
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);

    assert_int_equal(atomic_load(&s.errors), 0);
    /* One buffer held by the shared view's managed buffer, nothing else. */
    assert_int_equal(mv_object_exports(s.exporter), 1);
    assert_int_equal(mv_object_exports(mv_view_object(s.view)), 0);
    assert_int_equal(mv_object_refcount(s.exporter), 2);
    assert_int_equal(mv_object_exports(s.bytearray), 0);
    assert_int_equal(mv_object_refcount(s.bytearray), 1);
    mv_decref(s.bytearray);

    mv_decref(s.exporter);
    assert_int_equal(atomic_load(&released), 0);
    mv_decref(mv_view_object(s.view));
    assert_int_equal(atomic_load(&released), 1);
}

/* The last reference goes while other threads give back buffers of the
 * object: whichever drop is last destroys it, exactly once.  A counting
 * exporter (through its type's getbuffer) and a bytearray (the inline
 * path; ASan / TSan / valgrind see a double free or a leak). */
static atomic_int destroyed;

static void counting_destroy(mv_object *self)
{
    atomic_fetch_add(&destroyed, 1);
    free(self);
}

static int counting_getbuffer(mv_object *self, mv_buffer *view, int flags, mv_error *err)
{
    static unsigned char mem[8];
    return mv_buffer_fill_info(view, self, mem, sizeof mem, 1, flags, err);
}

static const mv_type counting_type = {
    .name = "counting", .getbuffer = counting_getbuffer, .destroy = counting_destroy};

static void *give_back(void *arg)
{
    mv_buffer_release(arg);
    return NULL;
}

static void last_reference_race(void **state)
{
    (void)state;
    enum { RACES = 200 };
    for (int r = 0; r < RACES; r++) {
        mv_error err;
        mv_object *c = malloc(sizeof *c);
        assert_non_null(c);
        mv_object_init(c, &counting_type);
        mv_object *ba = mv_bytearray_new("xyz", 3, &err);
        assert_non_null(ba);
        mv_buffer held[2 * NTHREADS];
        mv_layout sp;
        for (int i = 0; i < NTHREADS; i++) {
            assert_int_equal(mv_object_getbuffer(c, &held[i], MV_BUF_SIMPLE, &err), 0);
            assert_int_equal(mv_layout_acquire(&sp, &held[NTHREADS + i], ba, MV_BUF_SIMPLE, &err),
                             0);
        }
        pthread_t t[2 * NTHREADS];
        for (int i = 0; i < 2 * NTHREADS; i++)
            assert_int_equal(pthread_create(&t[i], NULL, give_back, &held[i]), 0);
        mv_decref(c);
        mv_decref(ba);
        for (int i = 0; i < 2 * NTHREADS; i++)
            assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(atomic_load(&destroyed), r + 1);
    }
}

/* Two threads fill the two interleaved halves of one buffer ('B'[0::2] and
 * 'B'[1::2]: two channels of an image) from their own memory, round after
 * round, each checking after every round that its half holds what it
 * wrote.  A copy that wrote the bytes between its items, even with the
 * values it had read there (a load-blend-store), would now and then put
 * back the other thread's older bytes. */
enum { CHANNEL = 4096, CHANNEL_ROUNDS = 2000 };

struct channel {
    unsigned char *image; /* 2 * CHANNEL bytes */
    int which;            /* 0 or 1: the half it owns */
    int errors;
};

static void *fill_channel(void *arg)
{
    struct channel *c = arg;
    unsigned char src[CHANNEL];
    ptrdiff_t shape[1] = {CHANNEL}, strides[1] = {2};
    mv_buffer half = {.buf = c->image + c->which, .len = CHANNEL, .itemsize = 1, .ndim = 1,
                      .shape = shape, .strides = strides};
    for (int r = 0; r < CHANNEL_ROUNDS; r++) {
        for (int i = 0; i < CHANNEL; i++)
            src[i] = (unsigned char)(r * 7 + i * 3 + c->which * 101);
        mv_error err;
        if (mv_buffer_from_contiguous(&half, src, CHANNEL, 'C', &err) < 0)
            c->errors++;
        for (int i = 0; i < CHANNEL; i++)
            c->errors += c->image[c->which + 2 * i] != src[i];
    }
    return NULL;
}

static void interleaved_writers(void **state)
{
    (void)state;
    unsigned char *image = calloc(2, CHANNEL);
    assert_non_null(image);
    struct channel c[2] = {{image, 0, 0}, {image, 1, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, fill_channel, &c[i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(c[0].errors, 0);
    assert_int_equal(c[1].errors, 0);
    free(image);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(concurrent_views),
                                       cmocka_unit_test(last_reference_race),
                                       cmocka_unit_test(interleaved_writers)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
