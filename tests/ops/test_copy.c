/* Copies between layouts: mv_copy_items, to/from contiguous, buffer copy
 * and tobytes, each checked byte for byte against a naive model that walks
 * every index tuple and computes addresses from shape/strides (following
 * pointers for PIL-style suboffsets). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "failalloc.h"
#include "testviews.h"
#include "ops/ops.h"

static rng gen = {0x243f6a8885a308d3u};

static void rng_fill(unsigned char *p, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++)
        p[i] = (unsigned char)rng_next(&gen);
}

/* ------------------------------------------------------------------------ */
/* Test layouts and the model                                                 */

typedef struct layout {
    int ndim;
    ptrdiff_t itemsize;
    ptrdiff_t shape[MV_MAX_NDIM];
    ptrdiff_t strides[MV_MAX_NDIM];
    ptrdiff_t subs[MV_MAX_NDIM];
    bool pil;                /* dimension 0 goes through pointers */
    unsigned char *mem;      /* owned data block (NULL when shared) */
    ptrdiff_t memlen;
    unsigned char **ptrs;    /* owned pointer array (PIL) */
    unsigned char *buf;
    unsigned char **rowstart; /* PIL: address of item (i, 0, ..., 0) */
} layout;

static ptrdiff_t nitems(int ndim, const ptrdiff_t *shape)
{
    ptrdiff_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= shape[i];
    return n;
}

/* Odometer in C order; false after the last index. */
static bool next_c(int ndim, const ptrdiff_t *shape, ptrdiff_t *idx)
{
    for (int i = ndim - 1; i >= 0; i--) {
        if (++idx[i] < shape[i])
            return true;
        idx[i] = 0;
    }
    return false;
}

static unsigned char *model_addr(const layout *l, const ptrdiff_t *idx)
{
    if (l->pil) {
        unsigned char *p = l->rowstart[idx[0]];
        for (int i = 1; i < l->ndim; i++)
            p += idx[i] * l->strides[i];
        return p;
    }
    unsigned char *p = l->buf;
    for (int i = 0; i < l->ndim; i++)
        p += idx[i] * l->strides[i];
    return p;
}

static ptrdiff_t lin_c(int ndim, const ptrdiff_t *shape, const ptrdiff_t *idx)
{
    ptrdiff_t n = 0;
    for (int i = 0; i < ndim; i++)
        n = n * shape[i] + idx[i];
    return n;
}

static ptrdiff_t lin_f(int ndim, const ptrdiff_t *shape, const ptrdiff_t *idx)
{
    ptrdiff_t n = 0;
    for (int i = ndim - 1; i >= 0; i--)
        n = n * shape[i] + idx[i];
    return n;
}

/* Contiguity decided by looking at every item's address. */
static bool model_dense(const layout *l, bool fortran)
{
    if (nitems(l->ndim, l->shape) == 0)
        return true;
    if (l->pil)
        return false;
    ptrdiff_t idx[MV_MAX_NDIM] = {0};
    unsigned char *first = model_addr(l, idx);
    do {
        ptrdiff_t lin = fortran ? lin_f(l->ndim, l->shape, idx) : lin_c(l->ndim, l->shape, idx);
        if (model_addr(l, idx) - first != lin * l->itemsize)
            return false;
    } while (next_c(l->ndim, l->shape, idx));
    return true;
}

/* A stride for one dimension: mostly multiples of the item size, both
 * signs, sometimes zero or an odd number of bytes. */
static ptrdiff_t random_stride(ptrdiff_t itemsize)
{
    int r = (int)rng_between(&gen, 0, 19);
    if (r == 0)
        return 0;
    if (r == 1)
        return rng_between(&gen, -3 * itemsize - 3, 3 * itemsize + 3);
    ptrdiff_t k = rng_between(&gen, 1, 6) * itemsize;
    return rng_between(&gen, 0, 1) ? k : -k;
}

enum { MODE_RANDOM, MODE_C, MODE_F, MODE_CFLIP };

static void make_strides(layout *l, int from, int mode)
{
    ptrdiff_t sd = l->itemsize;
    switch (mode) {
    case MODE_C:
    case MODE_CFLIP:
        for (int i = l->ndim - 1; i >= from; i--) {
            l->strides[i] = (mode == MODE_CFLIP && rng_between(&gen, 0, 2) == 0) ? -sd : sd;
            sd *= l->shape[i] > 0 ? l->shape[i] : 1;
        }
        break;
    case MODE_F:
        for (int i = from; i < l->ndim; i++) {
            l->strides[i] = sd;
            sd *= l->shape[i] > 0 ? l->shape[i] : 1;
        }
        break;
    default:
        for (int i = from; i < l->ndim; i++)
            l->strides[i] = random_stride(l->itemsize);
    }
}

/* Lowest and highest offsets of an item start over dims [from, ndim). */
static void model_extent(const layout *l, int from, ptrdiff_t *lo, ptrdiff_t *hi)
{
    *lo = *hi = 0;
    for (int i = from; i < l->ndim; i++) {
        if (l->shape[i] == 0)
            continue;
        ptrdiff_t s = l->strides[i] * (l->shape[i] - 1);
        if (s < 0)
            *lo += s;
        else
            *hi += s;
    }
}

static void layout_free(layout *l)
{
    free(l->mem);
    free(l->ptrs);
    free(l->rowstart);
    memset(l, 0, sizeof *l);
}

/* A layout of the given shape in its own memory, random bytes in it. */
static void layout_make(layout *l, int ndim, const ptrdiff_t *shape, ptrdiff_t itemsize, int mode,
                        bool pil)
{
    memset(l, 0, sizeof *l);
    l->ndim = ndim;
    l->itemsize = itemsize;
    memcpy(l->shape, shape, (size_t)ndim * sizeof(ptrdiff_t));
    for (int i = 0; i < ndim; i++)
        l->subs[i] = -1;
    l->pil = pil && ndim >= 1 && shape[0] > 0;
    if (!l->pil) {
        make_strides(l, 0, mode);
        ptrdiff_t lo, hi;
        model_extent(l, 0, &lo, &hi);
        ptrdiff_t offset = -lo + rng_between(&gen, 0, 3);
        l->memlen = offset + hi + itemsize + rng_between(&gen, 0, 3);
        l->mem = malloc((size_t)l->memlen);
        assert_non_null(l->mem);
        rng_fill(l->mem, l->memlen);
        l->buf = l->mem + offset;
        return;
    }
    /* Rows in shuffled order in one block, reached through a pointer
     * array walked with a positive or negative stride (with gaps). */
    make_strides(l, 1, mode);
    ptrdiff_t lo, hi;
    model_extent(l, 1, &lo, &hi);
    ptrdiff_t sub = -lo + rng_between(&gen, 0, 2);
    ptrdiff_t rowlen = sub + hi + itemsize + rng_between(&gen, 0, 2);
    ptrdiff_t n0 = shape[0];
    l->memlen = n0 * rowlen;
    l->mem = malloc((size_t)l->memlen);
    l->ptrs = calloc((size_t)(2 * n0), sizeof *l->ptrs);
    l->rowstart = calloc((size_t)n0, sizeof *l->rowstart);
    assert_true(l->mem && l->ptrs && l->rowstart);
    rng_fill(l->mem, l->memlen);
    ptrdiff_t perm[64];
    assert_true(n0 <= 64);
    for (ptrdiff_t i = 0; i < n0; i++)
        perm[i] = i;
    for (ptrdiff_t i = n0 - 1; i > 0; i--) {
        ptrdiff_t j = rng_between(&gen, 0, i), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    ptrdiff_t gap = rng_between(&gen, 1, 2);
    bool down = rng_between(&gen, 0, 1);
    for (ptrdiff_t i = 0; i < n0; i++) {
        unsigned char *block = l->mem + perm[i] * rowlen;
        ptrdiff_t slot = down ? (n0 - 1 - i) * gap : i * gap;
        l->ptrs[slot] = block;
        l->rowstart[i] = block + sub;
    }
    l->buf = (unsigned char *)(down ? &l->ptrs[(n0 - 1) * gap] : &l->ptrs[0]);
    l->strides[0] = (down ? -gap : gap) * (ptrdiff_t)sizeof(unsigned char *);
    l->subs[0] = sub;
}

static mv_buffer layout_buffer(const layout *l, const char *format)
{
    mv_buffer b = {.buf = l->buf,
                   .len = nitems(l->ndim, l->shape) * l->itemsize,
                   .itemsize = l->itemsize,
                   .readonly = 0,
                   .ndim = l->ndim,
                   .format = format,
                   .shape = (ptrdiff_t *)l->shape,
                   .strides = (ptrdiff_t *)l->strides,
                   .suboffsets = l->pil ? (ptrdiff_t *)l->subs : NULL};
    return b;
}

static void random_shape(int *ndim, ptrdiff_t *shape, int maxdim)
{
    *ndim = (int)rng_between(&gen, 0, maxdim);
    for (int i = 0; i < *ndim; i++)
        shape[i] = rng_between(&gen, 0, 15) == 0 ? 0 : rng_between(&gen, 1, 5);
}

static ptrdiff_t random_itemsize(void)
{
    static const ptrdiff_t sizes[] = {1, 2, 4, 8, 3, 16, 1, 8};
    return sizes[rng_between(&gen, 0, 7)];
}

static int random_mode(void)
{
    return (int)rng_between(&gen, 0, 3);
}

/* The C-order bytes of a layout (order 'C') or Fortran-order ('F'). */
static unsigned char *model_bytes(const layout *l, char order)
{
    ptrdiff_t n = nitems(l->ndim, l->shape);
    unsigned char *out = malloc((size_t)(n * l->itemsize) + 1);
    assert_non_null(out);
    if (n == 0)
        return out;
    ptrdiff_t idx[MV_MAX_NDIM] = {0};
    do {
        ptrdiff_t k = order == 'F' ? lin_f(l->ndim, l->shape, idx) : lin_c(l->ndim, l->shape, idx);
        memcpy(out + k * l->itemsize, model_addr(l, idx), (size_t)l->itemsize);
    } while (next_c(l->ndim, l->shape, idx));
    return out;
}

/* ------------------------------------------------------------------------ */
/* mv_copy_items / mv_buffer_copy between separate memory                     */

/* Run the model copy into a snapshot of dst's memory; the library copy
 * into the real memory; compare all of dst's memory. */
static void check_copy(layout *d, layout *s, bool via_public)
{
    ptrdiff_t n = nitems(d->ndim, d->shape);
    unsigned char *expect = malloc((size_t)d->memlen);
    assert_non_null(expect);
    memcpy(expect, d->mem, (size_t)d->memlen);
    if (n > 0) {
        ptrdiff_t idx[MV_MAX_NDIM] = {0};
        do {
            unsigned char *to = model_addr(d, idx);
            memcpy(expect + (to - d->mem), model_addr(s, idx), (size_t)d->itemsize);
        } while (next_c(d->ndim, d->shape, idx));
    }
    mv_buffer db = layout_buffer(d, "B"), sb = layout_buffer(s, "@B");
    if (d->itemsize != 1) {
        db.format = NULL;
        sb.format = NULL;
    }
    mv_error err;
    mv_error_clear(&err);
    int rc = via_public ? mv_buffer_copy(&db, &sb, &err) : mv_copy_items(&db, &sb, &err);
    if (rc != 0)
        fail_msg("copy failed: %s", err.message);
    assert_memory_equal(d->mem, expect, d->memlen);
    free(expect);
}

static void test_copy_items_random(void **state)
{
    (void)state;
    for (int t = 0; t < 3000; t++) {
        int ndim;
        ptrdiff_t shape[MV_MAX_NDIM];
        random_shape(&ndim, shape, 4);
        ptrdiff_t itemsize = random_itemsize();
        layout d, s;
        layout_make(&d, ndim, shape, itemsize, random_mode(), rng_between(&gen, 0, 5) == 0);
        layout_make(&s, ndim, shape, itemsize, random_mode(), rng_between(&gen, 0, 5) == 0);
        check_copy(&d, &s, t % 2 == 0);
        layout_free(&d);
        layout_free(&s);
    }
}

static void test_copy_items_64_dims(void **state)
{
    (void)state;
    for (int t = 0; t < 20; t++) {
        ptrdiff_t shape[MV_MAX_NDIM];
        for (int i = 0; i < MV_MAX_NDIM; i++)
            shape[i] = 1;
        for (int k = 0; k < 8; k++)
            shape[rng_between(&gen, 0, MV_MAX_NDIM - 1)] = 2;
        layout d, s;
        layout_make(&d, MV_MAX_NDIM, shape, random_itemsize(), random_mode(), t % 3 == 0);
        layout_make(&s, MV_MAX_NDIM, shape, d.itemsize, random_mode(), t % 4 == 0);
        check_copy(&d, &s, false);
        layout_free(&d);
        layout_free(&s);
    }
}

static void test_copy_items_zero_dim(void **state)
{
    (void)state;
    unsigned char a[8] = {1, 2, 3, 4, 5, 6, 7, 8}, b[8] = {0};
    mv_buffer d = {.buf = b + 2, .len = 3, .itemsize = 3, .ndim = 0};
    mv_buffer s = {.buf = a + 4, .len = 3, .itemsize = 3, .ndim = 0};
    assert_int_equal(mv_copy_items(&d, &s, NULL), 0);
    unsigned char want[8] = {0, 0, 5, 6, 7, 0, 0, 0};
    assert_memory_equal(b, want, 8);
    /* Overlapping single item. */
    s.buf = b + 3;
    assert_int_equal(mv_copy_items(&d, &s, NULL), 0);
    unsigned char want2[8] = {0, 0, 6, 7, 0, 0, 0, 0};
    assert_memory_equal(b, want2, 8);
}

/* ------------------------------------------------------------------------ */
/* Overlap                                                                    */

/* Two layouts of one shape in one shared block; the model reads every
 * source item from a snapshot taken before the copy. */
static void check_shared(layout *d, layout *s, unsigned char *mem, ptrdiff_t memlen)
{
    unsigned char *snap = malloc((size_t)memlen), *expect = malloc((size_t)memlen);
    assert_true(snap && expect);
    memcpy(snap, mem, (size_t)memlen);
    memcpy(expect, mem, (size_t)memlen);
    if (nitems(d->ndim, d->shape) > 0) {
        ptrdiff_t idx[MV_MAX_NDIM] = {0};
        do {
            memcpy(expect + (model_addr(d, idx) - mem), snap + (model_addr(s, idx) - mem),
                   (size_t)d->itemsize);
        } while (next_c(d->ndim, d->shape, idx));
    }
    mv_buffer db = layout_buffer(d, NULL), sb = layout_buffer(s, NULL);
    mv_error err;
    if (mv_copy_items(&db, &sb, &err) != 0)
        fail_msg("copy failed: %s", err.message);
    assert_memory_equal(mem, expect, memlen);
    free(snap);
    free(expect);
}

static void place(layout *l, unsigned char *mem, ptrdiff_t memlen)
{
    ptrdiff_t lo, hi;
    model_extent(l, 0, &lo, &hi);
    ptrdiff_t room = memlen - (hi - lo + l->itemsize);
    assert_true(room >= 0);
    l->buf = mem + (-lo) + rng_between(&gen, 0, room);
}

static void test_overlap_random(void **state)
{
    (void)state;
    for (int t = 0; t < 3000; t++) {
        int ndim;
        ptrdiff_t shape[MV_MAX_NDIM];
        random_shape(&ndim, shape, 3);
        ptrdiff_t itemsize = random_itemsize();
        layout d = {.ndim = ndim, .itemsize = itemsize}, s = d;
        memcpy(d.shape, shape, sizeof shape);
        memcpy(s.shape, shape, sizeof shape);
        make_strides(&d, 0, random_mode());
        make_strides(&s, 0, rng_between(&gen, 0, 2) ? random_mode() : MODE_RANDOM);
        if (rng_between(&gen, 0, 3) == 0)
            memcpy(s.strides, d.strides, sizeof d.strides); /* a pure shift */
        ptrdiff_t dlo, dhi, slo, shi;
        model_extent(&d, 0, &dlo, &dhi);
        model_extent(&s, 0, &slo, &shi);
        ptrdiff_t span = (dhi - dlo > shi - slo ? dhi - dlo : shi - slo) + itemsize;
        ptrdiff_t memlen = span + rng_between(&gen, 0, 2 * itemsize);
        unsigned char *mem = malloc((size_t)memlen);
        assert_non_null(mem);
        rng_fill(mem, memlen);
        place(&d, mem, memlen);
        place(&s, mem, memlen);
        check_shared(&d, &s, mem, memlen);
        free(mem);
    }
}

/* Dense copies (one block, which may stream: see MEMVIEW_STREAM_MIN; the
 * -stream test runs stream every one) for lengths around the vector sizes
 * and every alignment of the output, checked against the source bytes;
 * the bytes around the output stay as they were; overlapping blocks move
 * as memmove moves them, in both directions. */
static void test_dense_copy_offsets(void **state)
{
    (void)state;
    enum { MAXN = 4200, PAD = 80 };
    unsigned char *src = malloc(MAXN + PAD), *out = malloc(MAXN + 2 * PAD);
    assert_non_null(src);
    assert_non_null(out);
    for (int i = 0; i < MAXN + PAD; i++)
        src[i] = (unsigned char)(i * 7 + 1);
    static const ptrdiff_t lens[] = {0, 1, 15, 16, 31, 63, 64, 65, 127, 128, 129, 200, 255, 4099};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        ptrdiff_t n = lens[li];
        for (int doff = 0; doff < 66; doff += (doff < 4 ? 1 : 29)) {
            for (int soff = 0; soff < 6; soff += 5) {
                memset(out, 0xee, MAXN + 2 * PAD);
                ptrdiff_t shape[1] = {n}, one[1] = {1};
                mv_buffer d = {.buf = out + PAD + doff, .len = n, .itemsize = 1, .ndim = 1,
                               .shape = shape, .strides = one};
                mv_buffer sb = {.buf = src + soff, .len = n, .itemsize = 1, .readonly = 1,
                                .ndim = 1, .shape = shape, .strides = one};
                if (doff % 2 == 0)
                    assert_int_equal(mv_copy_items(&d, &sb, NULL), 0);
                else
                    assert_int_equal(mv_buffer_to_contiguous(d.buf, &sb, n, 'C', NULL), 0);
                if (memcmp(out + PAD + doff, src + soff, (size_t)n) != 0)
                    fail_msg("dense copy of %td bytes to offset %d from offset %d differs", n,
                             doff, soff);
                for (int i = 0; i < PAD + doff; i++)
                    assert_int_equal(out[i], 0xee);
                for (ptrdiff_t i = PAD + doff + n; i < MAXN + 2 * PAD; i++)
                    assert_int_equal(out[i], 0xee);
            }
        }
    }
    /* Overlapping blocks: 3000 bytes moved by 5 and by 70, up then down. */
    static const int shifts[] = {5, 70};
    for (size_t k = 0; k < 2; k++) {
        int sh = shifts[k];
        for (int dir = 0; dir < 2; dir++) {
            unsigned char *want = malloc(MAXN), *m = out;
            assert_non_null(want);
            for (int i = 0; i < MAXN; i++)
                m[i] = want[i] = (unsigned char)(i * 13 + 5);
            ptrdiff_t shape[1] = {3000}, one[1] = {1};
            unsigned char *to = dir ? m + 100 : m + 100 + sh, *from = dir ? m + 100 + sh : m + 100;
            memmove(want + (to - m), want + (from - m), 3000);
            mv_buffer d = {.buf = to, .len = 3000, .itemsize = 1, .ndim = 1, .shape = shape,
                           .strides = one};
            mv_buffer sb = {.buf = from, .len = 3000, .itemsize = 1, .ndim = 1, .shape = shape,
                            .strides = one};
            assert_int_equal(mv_copy_items(&d, &sb, NULL), 0);
            assert_memory_equal(m, want, MAXN);
            free(want);
        }
    }
    free(src);
    free(out);
}

static void test_overlap_by_hand(void **state)
{
    (void)state;
    unsigned char m[10];
    for (int i = 0; i < 10; i++)
        m[i] = (unsigned char)i;
    ptrdiff_t shape[1] = {8}, fwd[1] = {1}, back[1] = {-1};
    /* dst = m[1:9], src = m[0:8]: shift right by one item. */
    mv_buffer d = {.buf = m + 1, .len = 8, .itemsize = 1, .ndim = 1, .shape = shape,
                   .strides = fwd};
    mv_buffer s = {.buf = m, .len = 8, .itemsize = 1, .ndim = 1, .shape = shape, .strides = fwd};
    assert_int_equal(mv_copy_items(&d, &s, NULL), 0);
    unsigned char want1[10] = {0, 0, 1, 2, 3, 4, 5, 6, 7, 9};
    assert_memory_equal(m, want1, 10);
    /* And back left. */
    assert_int_equal(mv_copy_items(&s, &d, NULL), 0);
    unsigned char want2[10] = {0, 1, 2, 3, 4, 5, 6, 7, 7, 9};
    assert_memory_equal(m, want2, 10);
    /* Reverse in place: m[0:8] = m[7::-1]. */
    for (int i = 0; i < 10; i++)
        m[i] = (unsigned char)i;
    mv_buffer r = {.buf = m + 7, .len = 8, .itemsize = 1, .ndim = 1, .shape = shape,
                   .strides = back};
    assert_int_equal(mv_copy_items(&s, &r, NULL), 0);
    unsigned char want3[10] = {7, 6, 5, 4, 3, 2, 1, 0, 8, 9};
    assert_memory_equal(m, want3, 10);

    /* 4-byte items, shifted by one item with a stride of two items: the
     * ranges overlap although no item does. */
    int32_t w[9];
    for (int i = 0; i < 9; i++)
        w[i] = i * 100;
    ptrdiff_t sh4[1] = {4}, st8[1] = {8};
    mv_buffer wd = {.buf = &w[1], .len = 16, .itemsize = 4, .ndim = 1, .shape = sh4,
                    .strides = st8};
    mv_buffer ws = {.buf = &w[0], .len = 16, .itemsize = 4, .ndim = 1, .shape = sh4,
                    .strides = st8};
    assert_int_equal(mv_copy_items(&wd, &ws, NULL), 0);
    int32_t wwant[9] = {0, 0, 200, 200, 400, 400, 600, 600, 800};
    assert_memory_equal(w, wwant, sizeof w);

    /* In-place transpose of a 3x3 matrix. */
    uint16_t a[9];
    for (int i = 0; i < 9; i++)
        a[i] = (uint16_t)i;
    ptrdiff_t sh[2] = {3, 3}, cs[2] = {6, 2}, ts[2] = {2, 6};
    mv_buffer ad = {.buf = a, .len = 18, .itemsize = 2, .ndim = 2, .shape = sh, .strides = cs};
    mv_buffer at = {.buf = a, .len = 18, .itemsize = 2, .ndim = 2, .shape = sh, .strides = ts};
    assert_int_equal(mv_copy_items(&ad, &at, NULL), 0);
    uint16_t awant[9] = {0, 3, 6, 1, 4, 7, 2, 5, 8};
    assert_memory_equal(a, awant, sizeof a);
    /* Copying a buffer onto itself changes nothing. */
    assert_int_equal(mv_copy_items(&ad, &ad, NULL), 0);
    assert_memory_equal(a, awant, sizeof a);
}

static void test_overlap_nomem_sweep(void **state)
{
    (void)state;
    unsigned char m[8], orig[8];
    for (int i = 0; i < 8; i++)
        m[i] = orig[i] = (unsigned char)(i + 1);
    ptrdiff_t shape[1] = {8}, fwd[1] = {1}, back[1] = {-1};
    mv_buffer d = {.buf = m, .len = 8, .itemsize = 1, .ndim = 1, .shape = shape, .strides = fwd};
    mv_buffer s = {.buf = m + 7, .len = 8, .itemsize = 1, .ndim = 1, .shape = shape,
                   .strides = back};
    long n;
    for (n = 0;; n++) {
        mv_error err;
        mv_error_clear(&err);
        mv_test_fail_after(n);
        int rc = mv_copy_items(&d, &s, &err);
        mv_test_fail_after(-1);
        if (rc == 0)
            break;
        assert_int_equal(rc, MV_ENOMEM);
        assert_int_equal(err.code, MV_ENOMEM);
        assert_memory_equal(m, orig, 8); /* nothing written on failure */
    }
    assert_int_equal(n, 1); /* exactly one allocation: the temporary */
    for (int i = 0; i < 8; i++)
        assert_int_equal(m[i], 8 - i);
}

/* ------------------------------------------------------------------------ */
/* to / from contiguous                                                       */

static void test_to_contiguous_random(void **state)
{
    (void)state;
    for (int t = 0; t < 3000; t++) {
        int ndim;
        ptrdiff_t shape[MV_MAX_NDIM];
        random_shape(&ndim, shape, 4);
        layout l;
        layout_make(&l, ndim, shape, random_itemsize(), random_mode(), rng_between(&gen, 0, 5) == 0);
        mv_buffer b = layout_buffer(&l, NULL);
        unsigned char *c = model_bytes(&l, 'C'), *f = model_bytes(&l, 'F');
        /* 'A': memory order when dense in either order, else C. */
        const unsigned char *a = model_dense(&l, false) ? c : model_dense(&l, true) ? f : c;
        unsigned char *out = malloc((size_t)b.len + 1);
        assert_non_null(out);
        const char orders[3] = {'C', 'F', 'A'};
        const unsigned char *want[3] = {c, f, a};
        for (int k = 0; k < 3; k++) {
            memset(out, 0xee, (size_t)b.len + 1);
            mv_error err;
            if (mv_buffer_to_contiguous(out, &b, b.len, orders[k], &err) != 0)
                fail_msg("to_contiguous %c: %s", orders[k], err.message);
            assert_memory_equal(out, want[k], b.len);
            assert_int_equal(out[b.len], 0xee); /* nothing beyond len */
        }
        free(out);
        free(c);
        free(f);
        layout_free(&l);
    }
}

static void test_from_contiguous_random(void **state)
{
    (void)state;
    for (int t = 0; t < 2000; t++) {
        int ndim;
        ptrdiff_t shape[MV_MAX_NDIM];
        random_shape(&ndim, shape, 4);
        layout l;
        layout_make(&l, ndim, shape, random_itemsize(), random_mode(), rng_between(&gen, 0, 5) == 0);
        mv_buffer b = layout_buffer(&l, NULL);
        ptrdiff_t n = nitems(l.ndim, l.shape);
        unsigned char *src = malloc((size_t)b.len + 1);
        unsigned char *expect = malloc((size_t)l.memlen);
        assert_true(src && expect);
        rng_fill(src, b.len);
        char order = "CFA"[t % 3];
        bool fortran = order == 'F' || (order == 'A' && !model_dense(&l, false) &&
                                        model_dense(&l, true));
        memcpy(expect, l.mem, (size_t)l.memlen);
        if (n > 0) {
            ptrdiff_t idx[MV_MAX_NDIM] = {0};
            do {
                ptrdiff_t k = fortran ? lin_f(ndim, shape, idx) : lin_c(ndim, shape, idx);
                memcpy(expect + (model_addr(&l, idx) - l.mem), src + k * l.itemsize,
                       (size_t)l.itemsize);
            } while (next_c(ndim, shape, idx));
        }
        mv_error err;
        if (mv_buffer_from_contiguous(&b, src, b.len, order, &err) != 0)
            fail_msg("from_contiguous %c: %s", order, err.message);
        assert_memory_equal(l.mem, expect, l.memlen);
        free(src);
        free(expect);
        layout_free(&l);
    }
}

static void test_contiguous_roundtrip_by_hand(void **state)
{
    (void)state;
    /* 2x3 of uint16 stored Fortran-order: element (i, j) = 10 * i + j. */
    uint16_t f[6] = {0, 10, 1, 11, 2, 12};
    ptrdiff_t shape[2] = {2, 3}, fs[2] = {2, 4};
    mv_buffer b = {.buf = f, .len = 12, .itemsize = 2, .ndim = 2, .shape = shape, .strides = fs};
    uint16_t out[6];
    uint16_t c_want[6] = {0, 1, 2, 10, 11, 12};
    assert_int_equal(mv_buffer_to_contiguous(out, &b, 12, 'C', NULL), 0);
    assert_memory_equal(out, c_want, 12);
    assert_int_equal(mv_buffer_to_contiguous(out, &b, 12, 'F', NULL), 0);
    assert_memory_equal(out, f, 12);
    assert_int_equal(mv_buffer_to_contiguous(out, &b, 12, 'A', NULL), 0);
    assert_memory_equal(out, f, 12);
    /* Back in: C-order data lands transposed into the F storage. */
    uint16_t in[6] = {5, 6, 7, 8, 9, 10};
    assert_int_equal(mv_buffer_from_contiguous(&b, in, 12, 'C', NULL), 0);
    uint16_t f_want[6] = {5, 8, 6, 9, 7, 10};
    assert_memory_equal(f, f_want, 12);
    assert_int_equal(mv_buffer_from_contiguous(&b, in, 12, 'A', NULL), 0);
    assert_memory_equal(f, in, 12);
    /* A simple buffer (no shape, no strides): len / itemsize items. */
    mv_buffer s = {.buf = f, .len = 12, .itemsize = 2, .ndim = 1};
    assert_int_equal(mv_buffer_to_contiguous(out, &s, 12, 'F', NULL), 0);
    assert_memory_equal(out, in, 12);
}

static void test_contiguous_hostile(void **state)
{
    (void)state;
    unsigned char mem[24], out[24];
    ptrdiff_t shape[2] = {2, 3}, strides[2] = {12, 4};
    mv_buffer b = {.buf = mem, .len = 24, .itemsize = 4, .ndim = 2, .shape = shape,
                   .strides = strides};
    mv_error err;
    assert_int_equal(mv_buffer_to_contiguous(out, &b, 23, 'C', &err), MV_EVALUE);
    assert_string_equal(err.message, "PyBuffer_ToContiguous: len != view->len");
    assert_int_equal(mv_buffer_to_contiguous(out, &b, -1, 'C', &err), MV_EVALUE);
    assert_int_equal(mv_buffer_to_contiguous(out, &b, 24, 'X', &err), MV_EVALUE);
    assert_string_equal(err.message, "order must be 'C', 'F' or 'A'");
    assert_int_equal(mv_buffer_to_contiguous(out, &b, 24, 'c', &err), MV_EVALUE);
    assert_int_equal(mv_buffer_to_contiguous(out, NULL, 24, 'C', &err), MV_EVALUE);
    assert_int_equal(mv_buffer_to_contiguous(NULL, &b, 24, 'C', &err), MV_EVALUE);
    assert_int_equal(mv_buffer_from_contiguous(&b, out, 24, 'Q', &err), MV_EVALUE);
    assert_string_equal(err.message, "order must be 'C', 'F' or 'A'");
    assert_int_equal(mv_buffer_from_contiguous(&b, out, 25, 'C', &err), MV_EVALUE);
    assert_int_equal(mv_buffer_from_contiguous(&b, NULL, 24, 'C', &err), MV_EVALUE);
    assert_int_equal(mv_buffer_from_contiguous(NULL, out, 24, 'C', &err), MV_EVALUE);
    mv_buffer ro = b;
    ro.readonly = 1;
    memcpy(out, mem, 24);
    assert_int_equal(mv_buffer_from_contiguous(&ro, out, 24, 'C', &err), MV_ETYPE);
    assert_string_equal(err.message, "cannot modify read-only memory");
    /* Descriptors that lie: len disagreeing with shape, bad ndim, negative
     * or overflowing shapes. */
    mv_buffer lie = b;
    lie.len = 48;
    unsigned char big[48];
    assert_int_equal(mv_buffer_to_contiguous(big, &lie, 48, 'C', &err), MV_EVALUE);
    lie = b;
    lie.ndim = 65;
    assert_int_equal(mv_buffer_to_contiguous(out, &lie, 24, 'C', &err), MV_EVALUE);
    lie.ndim = -2;
    assert_int_equal(mv_buffer_to_contiguous(out, &lie, 24, 'C', &err), MV_EVALUE);
    ptrdiff_t neg[2] = {-2, -3};
    lie = b;
    lie.shape = neg;
    assert_int_equal(mv_buffer_to_contiguous(out, &lie, 24, 'C', &err), MV_EVALUE);
    ptrdiff_t huge[2] = {PTRDIFF_MAX, 2};
    lie = b;
    lie.shape = huge;
    assert_int_equal(mv_buffer_to_contiguous(out, &lie, 24, 'F', &err), MV_EOVERFLOW);
    lie = b;
    lie.itemsize = 0;
    assert_int_equal(mv_buffer_to_contiguous(out, &lie, 24, 'C', &err), MV_EVALUE);
    lie = b;
    lie.shape = NULL;
    assert_int_equal(mv_buffer_to_contiguous(out, &lie, 24, 'C', &err), MV_EVALUE);
    /* Empty buffers copy nothing, even to NULL. */
    ptrdiff_t zshape[2] = {0, 3};
    mv_buffer z = {.buf = NULL, .len = 0, .itemsize = 4, .ndim = 2, .shape = zshape,
                   .strides = strides};
    assert_int_equal(mv_buffer_to_contiguous(NULL, &z, 0, 'F', &err), 0);
    assert_int_equal(mv_buffer_from_contiguous(&z, NULL, 0, 'C', &err), 0);
}

static void test_to_contiguous_nomem_sweep(void **state)
{
    (void)state;
    /* A PIL source always goes through the temporary. */
    layout l;
    ptrdiff_t shape[2] = {3, 4};
    layout_make(&l, 2, shape, 2, MODE_RANDOM, true);
    mv_buffer b = layout_buffer(&l, NULL);
    unsigned char *want = model_bytes(&l, 'F');
    unsigned char out[24];
    long n;
    for (n = 0;; n++) {
        mv_error err;
        mv_error_clear(&err);
        mv_test_fail_after(n);
        int rc = mv_buffer_to_contiguous(out, &b, 24, 'F', &err);
        mv_test_fail_after(-1);
        if (rc == 0)
            break;
        assert_int_equal(rc, MV_ENOMEM);
        assert_int_equal(err.code, MV_ENOMEM);
    }
    assert_int_equal(n, 1);
    assert_memory_equal(out, want, 24);
    free(want);
    layout_free(&l);
}

static void test_to_contiguous_in_place_sweep(void **state)
{
    (void)state;
    /* A 3x4 uint8 matrix stored Fortran-order, rewritten C-order into the
     * same memory: the source must be read out of the way first. */
    unsigned char m[12];
    for (int j = 0; j < 4; j++)
        for (int i = 0; i < 3; i++)
            m[j * 3 + i] = (unsigned char)(10 * i + j);
    const unsigned char want[12] = {0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23};
    unsigned char orig[12];
    memcpy(orig, m, 12);
    ptrdiff_t shape[2] = {3, 4}, fs[2] = {1, 3};
    mv_buffer b = {.buf = m, .len = 12, .itemsize = 1, .ndim = 2, .shape = shape, .strides = fs};
    long n;
    for (n = 0;; n++) {
        mv_error err;
        mv_error_clear(&err);
        mv_test_fail_after(n);
        int rc = mv_buffer_to_contiguous(m, &b, 12, 'C', &err);
        mv_test_fail_after(-1);
        if (rc == 0)
            break;
        assert_int_equal(rc, MV_ENOMEM);
        assert_memory_equal(m, orig, 12);
    }
    assert_int_equal(n, 1);
    assert_memory_equal(m, want, 12);
    /* Already in the requested order: a plain (overlap-safe) move. */
    mv_buffer c = {.buf = m, .len = 11, .itemsize = 1, .ndim = 1};
    assert_int_equal(mv_buffer_to_contiguous(m + 1, &c, 11, 'A', NULL), 0);
    assert_memory_equal(m + 1, want, 11);
}

/* ------------------------------------------------------------------------ */
/* mv_buffer_copy structure checks                                            */

static void test_buffer_copy_structure(void **state)
{
    (void)state;
    int32_t a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {0};
    ptrdiff_t s23[2] = {2, 3}, s32[2] = {3, 2}, s6[1] = {6};
    mv_buffer src = {.buf = a, .len = 24, .itemsize = 4, .ndim = 2, .format = "i", .shape = s23};
    mv_buffer dst = {.buf = b, .len = 24, .itemsize = 4, .ndim = 2, .format = "@i", .shape = s23};
    mv_error err;
    assert_int_equal(mv_buffer_copy(&dst, &src, &err), 0);
    assert_memory_equal(a, b, sizeof a);

    memset(b, 0, sizeof b);
    mv_buffer d2 = dst;
    d2.shape = s32;
    assert_int_equal(mv_buffer_copy(&d2, &src, &err), MV_EVALUE);
    assert_string_equal(err.message,
                        "memoryview assignment: lvalue and rvalue have different structures");
    d2 = dst;
    d2.ndim = 1;
    d2.shape = s6;
    assert_int_equal(mv_buffer_copy(&d2, &src, &err), MV_EVALUE);
    d2 = dst;
    d2.format = "=i"; /* same size, but not the same format */
    assert_int_equal(mv_buffer_copy(&d2, &src, &err), MV_EVALUE);
    d2.format = "I";
    assert_int_equal(mv_buffer_copy(&d2, &src, &err), MV_EVALUE);
    d2 = dst;
    d2.format = NULL; /* NULL means "B": differs from "i" */
    assert_int_equal(mv_buffer_copy(&d2, &src, &err), MV_EVALUE);
    d2 = dst;
    d2.itemsize = 2;
    d2.format = "i";
    assert_int_equal(mv_buffer_copy(&d2, &src, &err), MV_EVALUE);
    for (int i = 0; i < 6; i++)
        assert_int_equal(b[i], 0); /* nothing written by any failure */
    d2 = dst;
    d2.readonly = 1;
    assert_int_equal(mv_buffer_copy(&d2, &src, &err), MV_ETYPE);
    assert_string_equal(err.message, "cannot modify read-only memory");
    assert_int_equal(mv_buffer_copy(NULL, &src, &err), MV_EVALUE);
    assert_int_equal(mv_buffer_copy(&dst, NULL, &err), MV_EVALUE);
    /* Shapes are compared up to the first zero extent, as CPython does. */
    ptrdiff_t z3[2] = {0, 3}, z4[2] = {0, 4};
    mv_buffer ez = {.buf = a, .len = 0, .itemsize = 4, .ndim = 2, .format = "i", .shape = z3};
    mv_buffer ez2 = ez;
    ez2.shape = z4;
    ez2.buf = b;
    assert_int_equal(mv_buffer_copy(&ez2, &ez, &err), 0);
    /* mv_copy_items itself refuses mismatched shapes. */
    d2 = dst;
    d2.shape = s32;
    assert_int_equal(mv_copy_items(&d2, &src, &err), MV_EVALUE);
    ptrdiff_t negs[2] = {2, -3};
    d2 = dst;
    d2.shape = negs;
    mv_buffer s2 = src;
    s2.shape = negs;
    assert_int_equal(mv_copy_items(&d2, &s2, &err), MV_EVALUE);
    ptrdiff_t hs[2] = {PTRDIFF_MAX / 2, 3};
    d2.shape = hs;
    s2.shape = hs;
    assert_int_equal(mv_copy_items(&d2, &s2, &err), MV_EOVERFLOW);
    d2 = dst;
    d2.ndim = 65;
    s2 = src;
    s2.ndim = 65;
    assert_int_equal(mv_copy_items(&d2, &s2, &err), MV_EVALUE);
}

/* ------------------------------------------------------------------------ */
/* tobytes through views                                                      */

static void no_release(void *ctx, void *mem)
{
    (void)mem;
    (*(int *)ctx)++;
}

static void test_tobytes_views(void **state)
{
    (void)state;
    for (int t = 0; t < 600; t++) {
        int ndim;
        ptrdiff_t shape[MV_MAX_NDIM];
        random_shape(&ndim, shape, 3);
        layout l;
        layout_make(&l, ndim, shape, random_itemsize(), random_mode(), rng_between(&gen, 0, 4) == 0);
        /* Views need formats whose size is the item size: "Ns" fits all. */
        char fmt[8];
        snprintf(fmt, sizeof fmt, "%tds", l.itemsize);
        mv_buffer desc = layout_buffer(&l, fmt);
        int released = 0;
        mv_error err;
        mv_object *x = mv_external_new_layout(&desc, no_release, &released, &err);
        if (!x)
            fail_msg("external: %s", err.message);
        mv_view *v = mv_view_new(x, &err);
        if (!v)
            fail_msg("view: %s", err.message);
        unsigned char *c = model_bytes(&l, 'C'), *f = model_bytes(&l, 'F');
        const unsigned char *a = model_dense(&l, false) ? c : model_dense(&l, true) ? f : c;
        const unsigned char *want[3] = {c, f, a};
        ptrdiff_t len = desc.len;
        for (int k = 0; k < 3; k++) {
            size_t n = 12345;
            unsigned char *bytes = mv_view_tobytes(v, "CFA"[k], &n, &err);
            if (!bytes)
                fail_msg("tobytes: %s", err.message);
            assert_int_equal(n, (size_t)len);
            assert_memory_equal(bytes, want[k], len);
            free(bytes);
            unsigned char *into = malloc((size_t)len + 2);
            assert_non_null(into);
            memset(into, 0xab, (size_t)len + 2);
            assert_int_equal(mv_view_tobytes_into(v, into, len + 1, "CFA"[k], &err), 0);
            assert_memory_equal(into, want[k], len);
            assert_int_equal(into[len], 0xab);
            if (len > 0) {
                assert_int_equal(mv_view_tobytes_into(v, into, len - 1, "CFA"[k], &err),
                                 MV_EVALUE);
            }
            free(into);
        }
        free(c);
        free(f);
        mv_decref(mv_view_object(v));
        assert_int_equal(released, 0);
        mv_decref(x);
        assert_int_equal(released, 1);
        layout_free(&l);
    }
}

/* The allocator form: the same bytes as the _into form, for every order
 * and a strided 2-D view; one call to alloc for nbytes, none when a check
 * fails first; alloc failing is MV_ENOMEM. */
static void test_tobytes_alloc(void **state)
{
    (void)state;
    unsigned char data[48];
    for (int i = 0; i < 48; i++)
        data[i] = (unsigned char)(i * 7 + 3);
    mv_error err;
    mv_object *b = mv_bytes_new(data, 48, &err);
    assert_non_null(b);
    mv_view *v = mv_view_new(b, &err);
    ptrdiff_t shape[2] = {6, 8};
    mv_view *c = mv_view_cast(v, "B", shape, 2, 0, &err);
    assert_non_null(c);
    mv_key keys[2] = {{.kind = MV_KEY_SLICE, .step = -2, .has_step = 1},
                      {.kind = MV_KEY_SLICE, .start = 1, .has_start = 1, .step = 3, .has_step = 1}};
    mv_view *s = mv_view_subscript(c, keys, 2, &err); /* rows 5, 3, 1; columns 1, 4, 7 */
    assert_non_null(s);
    static const char orders[] = {'C', 'F', 'A'};
    for (int k = 0; k < 3; k++) {
        unsigned char expect[9];
        for (int r = 0; r < 3; r++)
            for (int q = 0; q < 3; q++)
                expect[orders[k] == 'F' ? q * 3 + r : r * 3 + q] = data[(5 - 2 * r) * 8 + 1 + 3 * q];
        test_alloc a = {0};
        void *out = mv_view_tobytes_alloc(s, orders[k], alloc_counted, &a, &err);
        assert_non_null(out);
        assert_ptr_equal(out, a.p);
        assert_int_equal(a.calls, 1);
        assert_int_equal(a.nbytes, 9);
        assert_memory_equal(out, expect, 9);
        free(out);
    }

    test_alloc a = {.fail = true};
    assert_null(mv_view_tobytes_alloc(s, 'C', alloc_counted, &a, &err));
    assert_int_equal(err.code, MV_ENOMEM);
    assert_string_equal(err.message, "tobytes: cannot allocate 9 bytes");
    assert_int_equal(a.calls, 1);
    a.fail = false;
    a.calls = 0;
    assert_null(mv_view_tobytes_alloc(s, 'X', alloc_counted, &a, &err));
    assert_string_equal(err.message, "order must be 'C', 'F' or 'A'");
    assert_null(mv_view_tobytes_alloc(NULL, 'C', alloc_counted, &a, &err));
    assert_string_equal(err.message, "tobytes: view must not be NULL");
    assert_null(mv_view_tobytes_alloc(s, 'C', NULL, &a, NULL));
    assert_null(mv_view_tobytes_alloc(s, 'C', NULL, &a, &err));
    assert_string_equal(err.message, "tobytes: alloc must not be NULL");
    assert_int_equal(mv_view_release(s, &err), 0);
    assert_null(mv_view_tobytes_alloc(s, 'C', alloc_counted, &a, &err));
    assert_string_equal(err.message, "operation forbidden on released memoryview object");
    assert_int_equal(a.calls, 0);
    mv_decref(mv_view_object(s));
    mv_decref(mv_view_object(c));

    /* Empty: alloc is asked for 0 bytes. */
    mv_key none = {.kind = MV_KEY_SLICE, .start = 3, .has_start = 1, .stop = 3, .has_stop = 1};
    mv_view *e = mv_view_subscript(v, &none, 1, &err);
    assert_non_null(e);
    void *out = mv_view_tobytes_alloc(e, 'C', alloc_counted, &a, &err);
    assert_non_null(out);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.nbytes, 0);
    free(out);
    mv_decref(mv_view_object(e));
    mv_decref(mv_view_object(v));
    mv_decref(b);
}

/* New output of 4 MiB or more is advised MADV_HUGEPAGE (the allocating
 * forms only; never a caller's buffer or a smaller block), and the bytes
 * are the same as without the advice. */
static void test_tobytes_huge_pages(void **state)
{
    (void)state;
    if (!thp_available())
        skip();
    const ptrdiff_t n = (ptrdiff_t)16 << 20;
    unsigned char *mem = malloc((size_t)n);
    assert_non_null(mem);
    for (ptrdiff_t i = 0; i < n; i++)
        mem[i] = (unsigned char)(i * 131 + (i >> 12));
    mv_error err;
    mv_view *v = mv_view_from_memory(mem, n, MV_BUF_READ, &err);
    assert_non_null(v);
    mv_key every2 = {.kind = MV_KEY_SLICE, .step = 2, .has_step = 1};
    mv_view *s2 = mv_view_subscript(v, &every2, 1, &err);
    assert_non_null(s2);

    /* Strided, into the caller's allocator: 8 MiB advised. */
    test_map m = {0};
    unsigned char *out = mv_view_tobytes_alloc(s2, 'C', alloc_mapped, &m, &err);
    assert_non_null(out);
    assert_true(advised_huge(out));
    for (ptrdiff_t i = 0; i < n / 2; i++)
        if (out[i] != mem[2 * i])
            fail_msg("byte %td: %d, want %d", i, out[i], mem[2 * i]);
    unmap_test_map(&m);

    /* Contiguous, malloc'd: 16 MiB advised, a copy of mem. */
    size_t len = 0;
    out = mv_view_tobytes(v, 'C', &len, &err);
    assert_non_null(out);
    assert_int_equal(len, (size_t)n);
    assert_true(advised_huge(out + n / 2));
    assert_memory_equal(out, mem, (size_t)n);
    free(out);

    /* A caller's buffer is never advised. */
    assert_non_null(alloc_mapped(&m, n / 2));
    assert_int_equal(mv_view_tobytes_into(s2, m.p, n / 2, 'C', &err), 0);
    assert_false(advised_huge(m.p));
    unmap_test_map(&m);

    /* Under 4 MiB (here 4 MiB - 2 bytes of every 4th byte): not advised. */
    mv_key short4 = {.kind = MV_KEY_SLICE, .stop = n - 8, .has_stop = 1, .step = 4, .has_step = 1};
    mv_view *s4 = mv_view_subscript(v, &short4, 1, &err);
    assert_non_null(s4);
    out = mv_view_tobytes_alloc(s4, 'C', alloc_mapped, &m, &err);
    assert_non_null(out);
    assert_int_equal((ptrdiff_t)m.n, ((ptrdiff_t)4 << 20) - 2);
    assert_false(advised_huge(out));
    assert_int_equal(out[12345], mem[4 * 12345]);
    unmap_test_map(&m);

    mv_decref(mv_view_object(s4));
    mv_decref(mv_view_object(s2));
    mv_decref(mv_view_object(v));
    free(mem);
}

static void test_tobytes_errors(void **state)
{
    (void)state;
    unsigned char data[4] = {1, 2, 3, 4};
    mv_error err;
    mv_object *b = mv_bytes_new(data, 4, &err);
    assert_non_null(b);
    mv_view *v = mv_view_new(b, &err);
    assert_non_null(v);
    unsigned char out[4];
    size_t n = 99;
    assert_null(mv_view_tobytes(v, 'Z', &n, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_string_equal(err.message, "order must be 'C', 'F' or 'A'");
    assert_int_equal(n, 0);
    assert_int_equal(mv_view_tobytes_into(v, out, 4, 'z', &err), MV_EVALUE);
    assert_string_equal(err.message, "order must be 'C', 'F' or 'A'");
    assert_int_equal(mv_view_tobytes_into(v, NULL, 4, 'C', &err), MV_EVALUE);
    assert_int_equal(mv_view_tobytes_into(v, out, -1, 'C', &err), MV_EVALUE);
    assert_int_equal(mv_view_tobytes_into(NULL, out, 4, 'C', &err), MV_EVALUE);
    assert_null(mv_view_tobytes(NULL, 'C', &n, &err));
    assert_int_equal(err.code, MV_EVALUE);
    unsigned char *all = mv_view_tobytes(v, 'C', NULL, NULL); /* len and err may be NULL */
    assert_non_null(all);
    assert_memory_equal(all, data, 4);
    free(all);

    assert_int_equal(mv_view_release(v, &err), 0);
    assert_null(mv_view_tobytes(v, 'C', &n, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_string_equal(err.message, "operation forbidden on released memoryview object");
    assert_int_equal(mv_view_tobytes_into(v, out, 4, 'C', &err), MV_EVALUE);
    assert_string_equal(err.message, "operation forbidden on released memoryview object");
    assert_int_equal(mv_view_tobytes_into(v, out, 4, 'C', NULL), MV_EVALUE);
    mv_decref(mv_view_object(v));

    /* An empty view still gives a block to free. */
    mv_object *e = mv_bytes_new(NULL, 0, &err);
    mv_view *ev = mv_view_new(e, &err);
    assert_non_null(ev);
    all = mv_view_tobytes(ev, 'F', &n, &err);
    assert_non_null(all);
    assert_int_equal(n, 0);
    free(all);
    mv_decref(mv_view_object(ev));
    mv_decref(e);
    mv_decref(b);
}

static void test_tobytes_slices(void **state)
{
    (void)state;
    mv_error err;
    mv_object *b = mv_bytes_new("abcdef", 6, &err);
    mv_view *v = mv_view_new(b, &err);
    assert_non_null(v);
    mv_key rev2 = {.kind = MV_KEY_SLICE, .step = -2, .has_step = true};
    mv_view *s = mv_view_subscript(v, &rev2, 1, &err);
    assert_non_null(s);
    size_t n;
    char *bytes = mv_view_tobytes(s, 'A', &n, &err);
    assert_non_null(bytes);
    assert_int_equal(n, 3);
    assert_memory_equal(bytes, "fdb", 3);
    free(bytes);
    mv_decref(mv_view_object(s));

    /* 2x3 of int16 (i, j) = 10*i + j, columns reversed. */
    int16_t m[6] = {0, 1, 2, 10, 11, 12};
    ptrdiff_t shape[2] = {2, 3};
    mv_buffer l = {.buf = m, .len = 12, .itemsize = 2, .ndim = 2, .format = "h", .shape = shape};
    mv_object *x = mv_external_new_layout(&l, NULL, NULL, &err);
    mv_view *mv = mv_view_new(x, &err);
    assert_non_null(mv);
    mv_key keys[2] = {{.kind = MV_KEY_SLICE}, {.kind = MV_KEY_SLICE, .step = -1, .has_step = true}};
    mv_view *r = mv_view_subscript(mv, keys, 2, &err);
    assert_non_null(r);
    int16_t out[6];
    const int16_t c_want[6] = {2, 1, 0, 12, 11, 10}, f_want[6] = {2, 12, 1, 11, 0, 10};
    assert_int_equal(mv_view_tobytes_into(r, out, sizeof out, 'C', &err), 0);
    assert_memory_equal(out, c_want, sizeof out);
    assert_int_equal(mv_view_tobytes_into(r, out, sizeof out, 'F', &err), 0);
    assert_memory_equal(out, f_want, sizeof out);
    assert_int_equal(mv_view_tobytes_into(r, out, sizeof out, 'A', &err), 0);
    assert_memory_equal(out, c_want, sizeof out);
    mv_decref(mv_view_object(r));
    mv_decref(mv_view_object(mv));
    mv_decref(x);
    mv_decref(mv_view_object(v));
    mv_decref(b);
}

static void test_tobytes_nomem_sweep(void **state)
{
    (void)state;
    layout l;
    ptrdiff_t shape[2] = {3, 5};
    layout_make(&l, 2, shape, 4, MODE_RANDOM, true);
    mv_buffer desc = layout_buffer(&l, "i");
    mv_object *x = mv_external_new_layout(&desc, NULL, NULL, NULL);
    assert_non_null(x);
    mv_view *v = mv_view_new(x, NULL);
    assert_non_null(v);
    unsigned char *want = model_bytes(&l, 'C');
    long n;
    unsigned char *bytes = NULL;
    for (n = 0;; n++) {
        mv_error err;
        mv_error_clear(&err);
        size_t len = 1;
        mv_test_fail_after(n);
        bytes = mv_view_tobytes(v, 'C', &len, &err);
        mv_test_fail_after(-1);
        if (bytes)
            break;
        assert_int_equal(err.code, MV_ENOMEM);
        assert_int_equal(len, 0);
    }
    assert_int_equal(n, 2); /* the result block and the PIL temporary */
    assert_memory_equal(bytes, want, 60);
    free(bytes);
    free(want);
    mv_decref(mv_view_object(v));
    mv_decref(x);
    layout_free(&l);
}

/* ------------------------------------------------------------------------ */
/* The specialised kernels: every item size x step x direction, lengths     */
/* around the SIMD widths (16-, 32- and 64-byte vectors: tails 0..64),      */
/* negative steps and odd start addresses.  Blocks are allocated to the     */
/* exact extent of the items so that ASan / valgrind see any load or store  */
/* past the view.  Run once per MEMVIEW_ISA value (tests/meson.build).      */

/* A block holding n items of `size` bytes `step` bytes apart, the lowest
 * item `off` bytes into it and nothing after the highest; returns the
 * address of item 0. */
static unsigned char *strided_block(unsigned char **mem, ptrdiff_t n, ptrdiff_t size,
                                    ptrdiff_t step, ptrdiff_t off, ptrdiff_t *memlen)
{
    ptrdiff_t span = n > 0 ? (n - 1) * (step < 0 ? -step : step) + size : 0;
    *memlen = off + span;
    *mem = malloc(*memlen > 0 ? (size_t)*memlen : 1);
    assert_non_null(*mem);
    rng_fill(*mem, *memlen);
    return *mem + off + (step < 0 && n > 0 ? (n - 1) * -step : 0);
}

/* dir 0: strided -> contiguous, 1: contiguous -> strided, 2: strided on
 * both sides (the other side at step + size). */
static void check_kernel(ptrdiff_t size, ptrdiff_t step, ptrdiff_t n, ptrdiff_t off, int dir)
{
    ptrdiff_t sstep = dir == 1 ? size : step;
    ptrdiff_t dstep = dir == 0 ? size : dir == 1 ? step : step + (step < 0 ? -size : size);
    unsigned char *smem, *dmem;
    ptrdiff_t slen, dlen;
    unsigned char *sbuf = strided_block(&smem, n, size, sstep, dir == 1 ? 0 : off, &slen);
    unsigned char *dbuf = strided_block(&dmem, n, size, dstep, dir == 1 ? off : 0, &dlen);
    unsigned char *expect = malloc(dlen > 0 ? (size_t)dlen : 1);
    assert_non_null(expect);
    memcpy(expect, dmem, (size_t)dlen);
    for (ptrdiff_t j = 0; j < n; j++)
        memcpy(expect + (dbuf - dmem) + j * dstep, sbuf + j * sstep, (size_t)size);
    ptrdiff_t shape[1] = {n}, sstr[1] = {sstep}, dstr[1] = {dstep};
    mv_buffer sb = {.buf = sbuf, .len = n * size, .itemsize = size, .readonly = 1, .ndim = 1,
                    .shape = shape, .strides = sstr};
    mv_buffer db = {.buf = dbuf, .len = n * size, .itemsize = size, .ndim = 1,
                    .shape = shape, .strides = dstr};
    mv_error err;
    mv_error_clear(&err);
    if (mv_copy_items(&db, &sb, &err) != 0)
        fail_msg("copy failed: %s", err.message);
    if (memcmp(dmem, expect, (size_t)dlen) != 0)
        fail_msg("size %td step %td n %td off %td dir %d: wrong bytes", size, step, n, off, dir);
    free(expect);
    free(smem);
    free(dmem);
}

static void test_kernels_1d(void **state)
{
    (void)state;
    static const ptrdiff_t sizes[] = {1, 2, 3, 4, 8, 16};
    static const ptrdiff_t steps[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 16};
    for (size_t a = 0; a < sizeof sizes / sizeof *sizes; a++)
        for (size_t b = 0; b < sizeof steps / sizeof *steps; b++)
            for (int sign = 1; sign >= -1; sign -= 2)
                for (ptrdiff_t n = 0; n <= 64 * 2 + 3; n++) {
                    ptrdiff_t step = sign * steps[b] * sizes[a];
                    /* odd start addresses, and off 0 so that the block
                     * ends exactly at both sides of the items */
                    ptrdiff_t off = (n % 4 == 1) ? 1 + n % 7 : 0;
                    for (int dir = 0; dir < 3; dir++)
                        check_kernel(sizes[a], step, n, off, dir);
                }
}

/* Rows of a 2-D view gathered one by one: short rows, row counts and row
 * strides that leave the rows overlapping or apart, negative row steps. */
static void test_kernels_2d(void **state)
{
    (void)state;
    static const ptrdiff_t sizes[] = {1, 2, 4, 8};
    for (size_t a = 0; a < sizeof sizes / sizeof *sizes; a++)
        for (ptrdiff_t k = 1; k <= 9; k++)
            for (ptrdiff_t cols = 1; cols <= 70; cols += 3)
                for (int rs = -1; rs <= 1; rs += 2) {
                    ptrdiff_t size = sizes[a], rows = 5;
                    ptrdiff_t shape[2] = {rows, cols};
                    layout s = {0}, d;
                    s.ndim = 2;
                    s.itemsize = size;
                    memcpy(s.shape, shape, sizeof shape);
                    s.strides[1] = (k % 2 ? -k : k) * size;
                    s.strides[0] = rs * (cols * k * size + (cols % 3) * size);
                    s.subs[0] = s.subs[1] = -1;
                    ptrdiff_t lo, hi;
                    model_extent(&s, 0, &lo, &hi);
                    s.memlen = hi - lo + size;
                    s.mem = malloc((size_t)s.memlen);
                    assert_non_null(s.mem);
                    rng_fill(s.mem, s.memlen);
                    s.buf = s.mem - lo;
                    layout_make(&d, 2, shape, size, MODE_C, false);
                    check_copy(&d, &s, false);
                    layout_free(&s);
                    layout_free(&d);
                }
}

/* MEMVIEW_ISA caps the level (main has skipped a run whose level this
 * CPU lacks, so a named level is the one in use) and the level stays put. */
static void test_isa_cap(void **state)
{
    (void)state;
    static const char *const names[] = {"portable", "ssse3", "avx2", "avx512"};
    int isa = mv_isa();
    assert_in_range(isa, MV_ISA_PORTABLE, MV_ISA_AVX512);
    assert_int_equal(mv_isa(), isa);
    const char *cap = getenv("MEMVIEW_ISA");
    for (int i = 0; cap && i < 4; i++)
        if (strcmp(cap, names[i]) == 0)
            assert_int_equal(isa, i);
    print_message("kernels: %s\n", names[isa]);
}

/* MEMVIEW_STREAM_MIN sets the streaming threshold (the suite runs the
 * kernels with 0: streaming stores at every size); what is not a whole
 * non-negative number keeps the default. */
static void test_stream_min(void **state)
{
    (void)state;
    const char *min = getenv("MEMVIEW_STREAM_MIN");
    ptrdiff_t expect = (ptrdiff_t)48 << 20; /* the documented default */
    if (min && strcmp(min, "0") == 0)
        expect = 0;
    else if (min && strcmp(min, "4096") == 0)
        expect = 4096;
    assert_int_equal(mv_stream_min(), expect);
    assert_int_equal(mv_stream_min(), expect);
    print_message("streaming from %td bytes\n", expect);
}

int main(void)
{
    skip_unless_isa_available();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_items_random),
        cmocka_unit_test(test_copy_items_64_dims),
        cmocka_unit_test(test_copy_items_zero_dim),
        cmocka_unit_test(test_overlap_random),
        cmocka_unit_test(test_overlap_by_hand),
        cmocka_unit_test(test_dense_copy_offsets),
        cmocka_unit_test(test_overlap_nomem_sweep),
        cmocka_unit_test(test_to_contiguous_random),
        cmocka_unit_test(test_from_contiguous_random),
        cmocka_unit_test(test_contiguous_roundtrip_by_hand),
        cmocka_unit_test(test_contiguous_hostile),
        cmocka_unit_test(test_to_contiguous_nomem_sweep),
        cmocka_unit_test(test_to_contiguous_in_place_sweep),
        cmocka_unit_test(test_buffer_copy_structure),
        cmocka_unit_test(test_tobytes_views),
        cmocka_unit_test(test_tobytes_errors),
        cmocka_unit_test(test_tobytes_alloc),
        cmocka_unit_test(test_tobytes_huge_pages),
        cmocka_unit_test(test_tobytes_slices),
        cmocka_unit_test(test_tobytes_nomem_sweep),
        cmocka_unit_test(test_kernels_1d),
        cmocka_unit_test(test_kernels_2d),
        cmocka_unit_test(test_isa_cap),
        cmocka_unit_test(test_stream_min),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
