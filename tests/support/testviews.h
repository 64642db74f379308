/* Views over test memory, byte writers, a small PRNG and the
 * allocation-failure sweep step shared by test_compare.c, test_text.c and
 * test_search.c.  Failures end the running cmocka test. */
#ifndef MV_TEST_TESTVIEWS_H
#define MV_TEST_TESTVIEWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memview.h"

#define RELEASED_MSG "operation forbidden on released memoryview object"

/* xorshift64: reproducible pseudo-random numbers; seed s with non-zero. */
typedef struct rng {
    uint64_t s;
} rng;

uint64_t rng_next(rng *r);
/* Uniform-enough in [0, n), n > 0. */
ptrdiff_t rng_below(rng *r, ptrdiff_t n);
/* Uniform-enough in [lo, hi], lo <= hi. */
ptrdiff_t rng_between(rng *r, ptrdiff_t lo, ptrdiff_t hi);

/* Store the low `size` bytes of v at dst in the given byte order. */
void put_uint(void *dst, int size, bool little, uint64_t v);
void put_double(void *dst, bool little, double d);

ptrdiff_t product(int ndim, const ptrdiff_t *shape);

/* Odometer over shape in C order (the last dimension fastest): the next
 * index into idx; false after the last item.  Start with zeros. */
bool next_index(int ndim, const ptrdiff_t *shape, ptrdiff_t *idx);

/* A view of caller memory with a full layout (through an external
 * exporter); buf is the logical start.  strides / suboffsets may be NULL. */
mv_view *view_layout(void *buf, const char *format, ptrdiff_t itemsize, int ndim,
                     const ptrdiff_t *shape, const ptrdiff_t *strides, const ptrdiff_t *suboffsets,
                     int readonly);
mv_view *view_1d(void *mem, const char *format, ptrdiff_t itemsize, ptrdiff_t n, int readonly);
/* Read-only. */
mv_view *view_0d(void *mem, const char *format, ptrdiff_t itemsize);

/* A read-only 1-D view of the single byte at mem whose format is `format`,
 * whatever it says: the exporter hands out its descriptor unchecked, so
 * formats no parser accepts can be tested. */
mv_view *view_raw_format(void *mem, const char *format);

/* A 1-D 'B' view that has been released. */
mv_view *released_view(void);

/* rc and err->code are `code`; the message is msg unless msg is NULL. */
void expect_error(int rc, const mv_error *err, int code, const char *msg);

/* One step of an allocation-failure sweep:
 *     for (long n = 0; n < limit; n++) {
 *         mv_error err;
 *         sweep_arm(n, &err);
 *         rc = call(..., &err);
 *         if (sweep_done(rc, &err))
 *             break;
 *     }
 * sweep_arm clears err and lets n allocations succeed; sweep_done disarms
 * and returns true once the call succeeded (rc >= 0), else checks that it
 * failed with MV_ENOMEM because an allocation did. */
void sweep_arm(long n, mv_error *err);
bool sweep_done(int rc, const mv_error *err);

/* That loop for a call returning a pointer: (result) = (expr), where expr
 * passes `sweep_err` as its mv_error *, with n = 0, 1, ... allocations
 * allowed, until it succeeds; `on_failure` runs after each failed try. */
#define SWEEP_PTR(result, expr, on_failure)                                    \
    for (long sweep_n = 0;; sweep_n++) {                                       \
        mv_error sweep_store, *sweep_err = &sweep_store;                       \
        sweep_arm(sweep_n, sweep_err);                                         \
        (result) = (expr);                                                     \
        if (sweep_done((result) ? 0 : sweep_err->code, sweep_err))             \
            break;                                                             \
        on_failure;                                                            \
        assert_true(sweep_n < 1000);                                           \
    }

/* The number of open file descriptors of this process. */
int count_open_fds(void);

/* pread exactly len bytes of fd from off into out (asserts on failure). */
void pread_all(int fd, long off, void *out, size_t len);

/* An allocator for the _alloc forms (tobytes, hex): counts its calls,
 * records the size asked for, and fails when told to; malloc'd (free()). */
typedef struct test_alloc {
    int calls;
    ptrdiff_t nbytes;
    bool fail;
    void *p;
} test_alloc;
void *alloc_counted(void *ctx, ptrdiff_t nbytes);

/* An allocator for the _alloc forms that maps fresh anonymous memory of
 * its own (a mapping no earlier advice touched); unmap_test_map() frees. */
typedef struct test_map {
    void *p;
    size_t n;
} test_map;
void *alloc_mapped(void *ctx, ptrdiff_t nbytes);
void unmap_test_map(test_map *m);

/* Whether MADV_HUGEPAGE advice takes visible effect here (transparent huge
 * pages; not under qemu-user); prints why not. */
bool thp_available(void);

/* Two pages, the second PROT_NONE: whatever reads past the first faults. */
typedef struct guarded {
    char *map;
    size_t page;
} guarded;
/* A view of shape (2, 0), format "B", whose dimension 0 is indirect
 * (suboffset 0) with a row table of ONE pointer ending at the guard page:
 * following row 1's pointer faults.  A view with no items keeps no valid
 * addresses, so nothing may follow them.  guarded_free() unmaps. */
mv_view *guarded_empty_indirect(guarded *g);
void guarded_free(guarded *g);

/* Whether the mapping holding p is marked MADV_HUGEPAGE ("hg" in its
 * VmFlags in /proc/self/smaps); asserts when p is in no mapping. */
bool advised_huge(const void *p);

/* For main() of the kernel tests, which tests/meson.build runs once per
 * level MEMVIEW_ISA names: a level this CPU lacks falls back to a lower
 * one, whose kernels another run already tests, so exit with meson's skip
 * status (77) and say so rather than pass without testing that level. */
void skip_unless_isa_available(void);

/* mv_value constructors, one per kind. */
mv_value v_int(int64_t i);
mv_value v_uint(uint64_t u);
mv_value v_dbl(double d);
mv_value v_bool(bool b);
mv_value v_char(uint32_t c);
mv_value v_cplx(double re, double im);
mv_value v_bytes(const void *p, size_t n);
mv_value v_none(void);

/* Whether this machine stores integers little-endian (asked of memory,
 * not of the library). */
bool host_is_little(void);

/* The IEEE bits of d. */
uint64_t bits_of(double d);

/* Values equal in kind and representation: doubles bit for bit, so a -0.0
 * or a NaN payload that went astray shows. */
bool same_value(const mv_value *a, const mv_value *b);

/* An exporter that hands out `layout` as it is (obj ignored) and counts
 * getbuffer, releasebuffer and destroy calls; getbuffer fails with `fail`
 * ("test exporter refuses") when it is non-zero. */
typedef struct test_exporter {
    mv_object base;
    mv_buffer layout; /* what getbuffer hands out (obj ignored) */
    int getbuffer_calls;
    int releasebuffer_calls;
    int destroyed;
    int fail; /* getbuffer fails with this code when non-zero */
} test_exporter;

/* Set up t over buf (the test holds its one reference).  len is
 * itemsize * product(shape), wrapping: hostile shapes are set up on
 * purpose. */
void texp_init(test_exporter *t, void *buf, ptrdiff_t itemsize, const char *format, int ndim,
               ptrdiff_t *shape, ptrdiff_t *strides, ptrdiff_t *suboffsets, int readonly);
/* Drop the test's reference, checking that nothing is held any more. */
void texp_finish(test_exporter *t);

/* Keys: an index, and a slice with each bound present or not. */
static inline mv_key kidx(ptrdiff_t i)
{
    return (mv_key){.kind = MV_KEY_INDEX, .index = i};
}

static inline mv_key kslice(bool hs, ptrdiff_t start, bool he, ptrdiff_t stop, bool ht,
                            ptrdiff_t step)
{
    return (mv_key){.kind = MV_KEY_SLICE,
                    .start = start,
                    .stop = stop,
                    .step = step,
                    .has_start = hs,
                    .has_stop = he,
                    .has_step = ht};
}

#endif
