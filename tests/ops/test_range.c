/* Tests for the ranged output API (mv_view_tobytes_range,
 * mv_view_hex_range_length, mv_view_hex_range_into): random layouts --
 * strided, negative strides, N-D, 0-dim, empty, indirect -- against a
 * model that walks the layout's indices in C order itself, and pystrhex's
 * separator rule written out byte by byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testviews.h"

enum { MEM = 4096, MAXD = 4 };

/* A layout over test memory, and the model of its C-order bytes. */
typedef struct layout {
    int ndim;
    ptrdiff_t itemsize;
    ptrdiff_t shape[MAXD], strides[MAXD], suboffsets[MAXD];
    bool indirect;
    char *buf;
} layout;

static ptrdiff_t items(const layout *l)
{
    return product(l->ndim, l->shape);
}

/* The address of the item at idx: per dimension, step by the stride and
 * follow the pointer when the dimension is indirect (PEP 3118). */
static const unsigned char *model_item(const layout *l, const ptrdiff_t *idx)
{
    const char *p = l->buf;
    for (int d = 0; d < l->ndim; d++) {
        p += idx[d] * l->strides[d];
        if (l->indirect && l->suboffsets[d] >= 0) {
            const char *q;
            memcpy(&q, p, sizeof q);
            p = q + l->suboffsets[d];
        }
    }
    return (const unsigned char *)p;
}

/* All the bytes in C order into out (items(l) * itemsize bytes). */
static void model_bytes(const layout *l, unsigned char *out)
{
    ptrdiff_t n = items(l), idx[MAXD] = {0};
    for (ptrdiff_t k = 0; k < n; k++) {
        /* idx = k in mixed radix shape, last dimension fastest. */
        ptrdiff_t r = k;
        for (int d = l->ndim - 1; d >= 0; d--) {
            idx[d] = r % l->shape[d];
            r /= l->shape[d];
        }
        memcpy(out + k * l->itemsize, model_item(l, idx), (size_t)l->itemsize);
    }
}

/* pystrhex: a separator before byte b (0 < b < total) when |per| < total
 * and, counting from the right (per > 0), (total - b) % per == 0, or from
 * the left (per < 0), b % -per == 0.  Each byte's digits are followed by
 * the separator that comes before the next byte. */
static bool sep_before(ptrdiff_t b, ptrdiff_t total, char sep, int per)
{
    ptrdiff_t g = per < 0 ? -(ptrdiff_t)per : per;
    if (!sep || g == 0 || g >= total || b <= 0 || b >= total)
        return false;
    return per > 0 ? (total - b) % g == 0 : b % g == 0;
}

/* The text of bytes [a, b) of `bytes` (total in all) into out; its length. */
static ptrdiff_t model_hex(const unsigned char *bytes, ptrdiff_t total, ptrdiff_t a,
                           ptrdiff_t b, char sep, int per, char *out)
{
    static const char digits[] = "0123456789abcdef";
    ptrdiff_t o = 0;
    for (ptrdiff_t i = a; i < b; i++) {
        out[o++] = digits[bytes[i] >> 4];
        out[o++] = digits[bytes[i] & 15];
        if (sep_before(i + 1, total, sep, per))
            out[o++] = sep;
    }
    return o;
}

static mv_view *make_view(const layout *l)
{
    char format[4];
    snprintf(format, sizeof format, "%tds", l->itemsize);
    mv_view *v = view_layout(l->buf, format, l->itemsize, l->ndim, l->shape, l->strides,
                             l->indirect ? l->suboffsets : NULL, 1);
    assert_non_null(v);
    return v;
}

/* Every check of one layout: ranges of random starts and counts, whole,
 * empty, and consecutive chunks that must add up to the whole. */
static void check_layout(const layout *l, rng *r)
{
    mv_view *v = make_view(l);
    ptrdiff_t n = items(l), nbytes = n * l->itemsize;
    unsigned char *want = malloc((size_t)nbytes + 1);
    unsigned char *got = malloc((size_t)nbytes + 1);
    char *want_hex = malloc((size_t)nbytes * 3 + 1), *got_hex = malloc((size_t)nbytes * 3 + 1);
    assert_true(want && got && want_hex && got_hex);
    model_bytes(l, want);
    mv_error err;
    mv_error_clear(&err);
    static const int pers[] = {1, 2, 3, -1, -2, -5, 4};
    for (int t = 0; t < 40; t++) {
        ptrdiff_t start = n ? rng_below(r, n + 1) : 0;
        ptrdiff_t count = rng_below(r, n - start + 1);
        if (t == 0) {
            start = 0;
            count = n;
        }
        memset(got, 0xee, (size_t)nbytes + 1);
        assert_int_equal(mv_view_tobytes_range(v, start, count, got, nbytes, &err), 0);
        assert_memory_equal(got, want + start * l->itemsize, (size_t)(count * l->itemsize));
        /* Nothing past the range is written. */
        assert_int_equal(got[count * l->itemsize], 0xee);

        char sep = t % 3 == 0 ? 0 : (t % 3 == 1 ? ':' : ' ');
        int per = pers[t % 7];
        ptrdiff_t a = start * l->itemsize, b = (start + count) * l->itemsize;
        ptrdiff_t wn = model_hex(want, nbytes, a, b, sep, per, want_hex);
        assert_int_equal(mv_view_hex_range_length(v, start, count, sep, per, &err), wn);
        memset(got_hex, '#', (size_t)nbytes * 3 + 1);
        assert_int_equal(mv_view_hex_range_into(v, start, count, got_hex, wn, sep, per, &err), 0);
        assert_memory_equal(got_hex, want_hex, (size_t)wn);
        assert_int_equal(got_hex[wn], '#');
    }
    /* Chunks of c items in order give the whole hex() text. */
    for (ptrdiff_t c = 1; c <= 5; c++) {
        char sep = c % 2 ? '-' : 0;
        int per = (int)c - 3;
        size_t whole_len = 0;
        char *whole = mv_view_hex(v, sep, per, &whole_len, &err);
        assert_non_null(whole);
        ptrdiff_t o = 0;
        for (ptrdiff_t s = 0; s < n; s += c) {
            ptrdiff_t k = n - s < c ? n - s : c;
            ptrdiff_t len = mv_view_hex_range_length(v, s, k, sep, per, &err);
            assert_true(len >= 0 && o + len <= (ptrdiff_t)whole_len);
            assert_int_equal(mv_view_hex_range_into(v, s, k, got_hex + o, len, sep, per, &err),
                             0);
            o += len;
        }
        assert_int_equal(o, (ptrdiff_t)whole_len);
        assert_memory_equal(got_hex, whole, whole_len);
        free(whole);
    }
    free(want);
    free(got);
    free(want_hex);
    free(got_hex);
    mv_decref(v);
}

/* A random direct layout inside mem: strides of either sign, possibly
 * overlapping or 0, with buf placed so every item is inside. */
static void random_layout(layout *l, char *mem, rng *r)
{
    l->ndim = (int)rng_below(r, MAXD + 1);
    l->itemsize = rng_between(r, 1, 3);
    l->indirect = false;
    ptrdiff_t lo = 0, hi = 0;
    for (int d = 0; d < l->ndim; d++) {
        l->shape[d] = rng_below(r, 8) == 0 ? 0 : rng_between(r, 1, 5);
        ptrdiff_t s = rng_between(r, -3, 4) * l->itemsize;
        if (rng_below(r, 4) == 0)
            s = rng_between(r, -20, 20);
        l->strides[d] = s;
        ptrdiff_t span = (l->shape[d] > 0 ? l->shape[d] - 1 : 0) * s;
        if (span < 0)
            lo += span;
        else
            hi += span;
    }
    /* Room for the lowest and highest item inside MEM. */
    ptrdiff_t room = MEM - (hi - lo) - l->itemsize;
    assert_true(room > 0);
    l->buf = mem - lo + rng_below(r, room);
}

static void test_range_random_layouts(void **state)
{
    (void)state;
    char *mem = malloc(MEM);
    assert_non_null(mem);
    rng r = {0x9e3779b97f4a7c15u};
    for (int i = 0; i < MEM; i++)
        mem[i] = (char)rng_next(&r);
    for (int i = 0; i < 300; i++) {
        layout l;
        random_layout(&l, mem, &r);
        check_layout(&l, &r);
    }
    free(mem);
}

/* Indirect layouts: a table of row pointers (PIL style), dimension 0
 * indirect, rows strided, and a 3-D one indirect in its middle dimension. */
static void test_range_indirect(void **state)
{
    (void)state;
    rng r = {12345};
    unsigned char rows[4][64];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 64; j++)
            rows[i][j] = (unsigned char)rng_next(&r);
    char *table[4] = {(char *)rows[2], (char *)rows[0], (char *)rows[3], (char *)rows[1]};
    layout l = {.ndim = 2,
                .itemsize = 2,
                .shape = {4, 7},
                .strides = {sizeof(char *), 6},
                .suboffsets = {4, -1},
                .indirect = true,
                .buf = (char *)table};
    check_layout(&l, &r);
    l.strides[1] = -4;
    l.suboffsets[0] = 40;
    check_layout(&l, &r);

    /* 3-D: planes of pointer tables. */
    char *tables[2][4] = {{(char *)rows[0], (char *)rows[1], (char *)rows[2], (char *)rows[3]},
                          {(char *)rows[3], (char *)rows[3], (char *)rows[1], (char *)rows[0]}};
    layout m = {.ndim = 3,
                .itemsize = 1,
                .shape = {2, 4, 5},
                .strides = {sizeof tables[0], sizeof(char *), 3},
                .suboffsets = {-1, 2, -1},
                .indirect = true,
                .buf = (char *)tables};
    check_layout(&m, &r);
}

static void test_range_0d_and_empty(void **state)
{
    (void)state;
    rng r = {7};
    char mem[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    layout s = {.ndim = 0, .itemsize = 4, .buf = mem + 2};
    check_layout(&s, &r);
    layout e = {.ndim = 2, .itemsize = 1, .shape = {3, 0}, .strides = {1, 1}, .buf = mem};
    check_layout(&e, &r);

    mv_view *v = make_view(&e);
    mv_error err;
    mv_error_clear(&err);
    assert_int_equal(mv_view_tobytes_range(v, 0, 0, NULL, 0, &err), 0);
    assert_int_equal(mv_view_hex_range_length(v, 0, 0, ':', 1, &err), 0);
    assert_int_equal(mv_view_hex_range_into(v, 0, 0, NULL, 0, ':', 1, &err), 0);
    expect_error(mv_view_tobytes_range(v, 0, 1, mem, 8, &err), &err, MV_EVALUE,
                 "memoryview: 1 items from item 0 are outside the view's 0 items");
    mv_decref(v);
}

static void test_range_errors(void **state)
{
    (void)state;
    unsigned char mem[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    mv_view *v = view_1d(mem, "B", 1, 10, 1);
    unsigned char out[10];
    char text[40];
    mv_error err;
    mv_error_clear(&err);
    expect_error(mv_view_tobytes_range(v, -1, 2, out, 10, &err), &err, MV_EVALUE,
                 "memoryview: 2 items from item -1 are outside the view's 10 items");
    expect_error(mv_view_tobytes_range(v, 3, -1, out, 10, &err), &err, MV_EVALUE,
                 "memoryview: -1 items from item 3 are outside the view's 10 items");
    expect_error(mv_view_tobytes_range(v, 8, 3, out, 10, &err), &err, MV_EVALUE,
                 "memoryview: 3 items from item 8 are outside the view's 10 items");
    expect_error(mv_view_tobytes_range(v, 5, PTRDIFF_MAX, out, 10, &err), &err, MV_EVALUE, NULL);
    expect_error(mv_view_tobytes_range(v, 2, 5, out, 4, &err), &err, MV_EVALUE,
                 "tobytes: destination too small (4 < 5)");
    expect_error(mv_view_tobytes_range(v, 2, 5, NULL, 5, &err), &err, MV_EVALUE,
                 "tobytes: NULL destination");
    expect_error(mv_view_tobytes_range(NULL, 0, 0, out, 10, &err), &err, MV_EVALUE, NULL);
    expect_error((int)mv_view_hex_range_length(v, 0, 11, 0, 0, &err), &err, MV_EVALUE, NULL);
    assert_int_equal(mv_view_hex_range_length(v, 0, 11, 0, 0, &err), -1);
    expect_error(mv_view_hex_range_into(v, 0, 2, text, 40, (char)0x80, 1, &err), &err,
                 MV_EVALUE, "sep must be ASCII.");
    /* "02:03:04:" is 9 characters (a separator follows byte 4): 7 are too few,
     * and nothing is written. */
    memset(text, '#', sizeof text);
    expect_error(mv_view_hex_range_into(v, 2, 3, text, 7, ':', -1, &err), &err, MV_EVALUE,
                 "memoryview.hex: destination too small (7 < 9)");
    assert_int_equal(text[0], '#');
    assert_int_equal(mv_view_hex_range_into(v, 2, 3, text, 9, ':', -1, &err), 0);
    assert_memory_equal(text, "02:03:04:", 9);
    /* The last byte of the view has no separator after it. */
    assert_int_equal(mv_view_hex_range_length(v, 7, 3, ':', -1, &err), 8);
    assert_int_equal(mv_view_hex_range_into(v, 7, 3, text, 8, ':', -1, &err), 0);
    assert_memory_equal(text, "07:08:09", 8);

    mv_view_release(v, &err);
    expect_error(mv_view_tobytes_range(v, 0, 1, out, 10, &err), &err, MV_EVALUE, RELEASED_MSG);
    expect_error(mv_view_hex_range_into(v, 0, 1, text, 40, 0, 0, &err), &err, MV_EVALUE,
                 RELEASED_MSG);
    mv_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range_random_layouts),
        cmocka_unit_test(test_range_indirect),
        cmocka_unit_test(test_range_0d_and_empty),
        cmocka_unit_test(test_range_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
