/* Tests for src/subscript.c: subscript text -> keys.  Every expected key
 * list below is written out by hand. */
#include <memview.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "failalloc.h"
#include "testviews.h"

/* Shorthands for expected keys. */
#define I(n) {.kind = MV_KEY_INDEX, .index = (n)}
#define E {.kind = MV_KEY_ELLIPSIS}
#define N {.kind = MV_KEY_NEWAXIS}
/* A slice; X marks an omitted part. */
#define X PTRDIFF_MIN
#define S(a, b, c)                                                                                 \
    {.kind = MV_KEY_SLICE,                                                                         \
     .start = (a) == X ? 0 : (a),                                                                  \
     .stop = (b) == X ? 0 : (b),                                                                   \
     .step = (c) == X ? 0 : (c),                                                                   \
     .has_start = (a) != X,                                                                        \
     .has_stop = (b) != X,                                                                         \
     .has_step = (c) != X}

typedef struct valid_case {
    const char *text;
    int nkeys;
    mv_key keys[8];
} valid_case;

static const valid_case valid[] = {
    {"", 0, {{0}}},
    {"[]", 0, {{0}}},
    {"  [ ]  ", 0, {{0}}},
    {"0", 1, {I(0)}},
    {"[0]", 1, {I(0)}},
    {"-3", 1, {I(-3)}},
    {"+2", 1, {I(2)}},
    {"- 3", 1, {I(-3)}},
    {"007", 1, {I(7)}},
    {"[1:3, ::-1, ..., 0, None]", 5, {S(1, 3, X), S(X, X, -1), E, I(0), N}},
    {"1:3,::-1,...,0,None", 5, {S(1, 3, X), S(X, X, -1), E, I(0), N}},
    {"\t[\n1 : 3 ,\r: : - 1 , ... ]\n", 3, {S(1, 3, X), S(X, X, -1), E}},
    {":", 1, {S(X, X, X)}},
    {"::", 1, {S(X, X, X)}},
    {"[:]", 1, {S(X, X, X)}},
    {"1:", 1, {S(1, X, X)}},
    {":5", 1, {S(X, 5, X)}},
    {"::2", 1, {S(X, X, 2)}},
    {"1::", 1, {S(1, X, X)}},
    {":-1:", 1, {S(X, -1, X)}},
    {"-5:-1:-2", 1, {S(-5, -1, -2)}},
    {"+1:+2:+3", 1, {S(1, 2, 3)}},
    {"0:0:0", 1, {S(0, 0, 0)}}, /* a zero step is the view's business */
    {"None:None:None", 1, {S(X, X, X)}},
    {"None:4", 1, {S(X, 4, X)}},
    {"2:None:-1", 1, {S(2, X, -1)}},
    {"...", 1, {E}},
    {"Ellipsis", 1, {E}},
    {"..., ...", 2, {E, E}}, /* two ellipses are the view's business */
    {"None", 1, {N}},
    {"newaxis", 1, {N}},
    {"[None, newaxis]", 2, {N, N}},
    {"1,", 1, {I(1)}},
    {"[1,]", 1, {I(1)}},
    {"[1 , ]", 1, {I(1)}},
    {"1,2,3,4,5,6,7,8", 8, {I(1), I(2), I(3), I(4), I(5), I(6), I(7), I(8)}},
    {"  [  -1  ,  2 :  , : 3  ]  ", 3, {I(-1), S(2, X, X), S(X, 3, X)}},
    {"9223372036854775807", 1, {I(PTRDIFF_MAX)}},
    {"-9223372036854775808", 1, {I(PTRDIFF_MIN)}},
    {"[..., None, 0]", 3, {E, N, I(0)}},
};

static bool same_key(const mv_key *a, const mv_key *b)
{
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case MV_KEY_INDEX:
        return a->index == b->index;
    case MV_KEY_SLICE:
        return a->has_start == b->has_start && a->has_stop == b->has_stop &&
               a->has_step == b->has_step && (!a->has_start || a->start == b->start) &&
               (!a->has_stop || a->stop == b->stop) && (!a->has_step || a->step == b->step);
    default:
        return true;
    }
}

static void parse_valid(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof valid / sizeof valid[0]; c++) {
        const valid_case *vc = &valid[c];
        mv_key keys[8];
        memset(keys, 0x5A, sizeof keys);
        int n = -1;
        mv_error err;
        mv_error_clear(&err);
        int rc = mv_subscript_parse(vc->text, keys, 8, &n, &err);
        if (rc != 0)
            fail_msg("'%s' refused: %s", vc->text, err.message);
        assert_int_equal(n, vc->nkeys);
        for (int k = 0; k < n; k++)
            if (!same_key(&keys[k], &vc->keys[k]))
                fail_msg("'%s': key %d differs", vc->text, k);
    }
}

/* The special slice case above: PTRDIFF_MIN is also the "omitted" marker
 * of the table, so check it separately. */
static void parse_extremes(void **state)
{
    (void)state;
    mv_key k[2];
    int n;
    mv_error err;
    assert_int_equal(mv_subscript_parse("-9223372036854775808:", k, 2, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(k[0].kind, MV_KEY_SLICE);
    assert_true(k[0].has_start);
    assert_int_equal(k[0].start, PTRDIFF_MIN);
    assert_false(k[0].has_stop);
    assert_false(k[0].has_step);
    const char *full = "-9223372036854775808:9223372036854775807:-9223372036854775807";
    assert_int_equal(mv_subscript_parse(full, k, 2, &n, &err), 0);
    assert_true(k[0].has_start && k[0].has_stop && k[0].has_step);
    assert_int_equal(k[0].start, PTRDIFF_MIN);
    assert_int_equal(k[0].stop, PTRDIFF_MAX);
    assert_int_equal(k[0].step, -PTRDIFF_MAX);
}

typedef struct bad_case {
    const char *text;
    int code;
    const char *message; /* NULL: only the code is checked */
} bad_case;

static const bad_case malformed[] = {
    {"[", MV_EVALUE, "invalid subscript '[': missing ']' at column 2"},
    {"[1", MV_EVALUE, "invalid subscript '[1': missing ']' at column 3"},
    {"[1,", MV_EVALUE, "invalid subscript '[1,': missing ']' at column 4"},
    {"1]", MV_EVALUE, "invalid subscript '1]': unmatched ']' at column 2"},
    {"]", MV_EVALUE, "invalid subscript ']': empty item at column 1"},
    {"[1]]", MV_EVALUE,
     "invalid subscript '[1]]': unexpected text after the subscript at column 4"},
    {"[1] 2", MV_EVALUE, NULL},
    {",", MV_EVALUE, "invalid subscript ',': empty item at column 1"},
    {"1,,2", MV_EVALUE, "invalid subscript '1,,2': empty item at column 3"},
    {"[,1]", MV_EVALUE, NULL},
    {"1 2", MV_EVALUE, "invalid subscript '1 2': expected ',' or the end at column 3"},
    {"1:2:3:4", MV_EVALUE, "invalid subscript '1:2:3:4': expected ',' or the end at column 6"},
    {"a", MV_EVALUE, NULL},
    {"1a", MV_EVALUE, "invalid subscript '1a': invalid integer at column 2"},
    {"0x10", MV_EVALUE, NULL},
    {"1.5", MV_EVALUE, NULL},
    {"1e3", MV_EVALUE, NULL},
    {"--1", MV_EVALUE, NULL},
    {"+", MV_EVALUE, NULL},
    {"-", MV_EVALUE, NULL},
    {"1:-", MV_EVALUE, NULL},
    {"..", MV_EVALUE, NULL},
    {". . .", MV_EVALUE, NULL},
    {"....", MV_EVALUE, NULL},
    {"Nonesuch", MV_EVALUE, NULL},
    {"none", MV_EVALUE, NULL},
    {"NEWAXIS", MV_EVALUE, NULL},
    {"newaxis:", MV_EVALUE, NULL},
    {"...:", MV_EVALUE, NULL},
    {"1:None None", MV_EVALUE, NULL},
    {"(1, 2)", MV_EVALUE, NULL},
    {"[[1]]", MV_EVALUE, NULL},
    {"\t[\n1 : 3 ,\r: : - 1 , . . .", MV_EVALUE, NULL},
    {"1;2", MV_EVALUE, NULL},
    {"\x80", MV_EVALUE, NULL},
    {"9223372036854775808", MV_EOVERFLOW,
     "invalid subscript '9223372036854775808': integer out of range at column 1"},
    {"-9223372036854775809", MV_EOVERFLOW, NULL},
    {"1:99999999999999999999999", MV_EOVERFLOW,
     "invalid subscript '1:99999999999999999999999': integer out of range at column 3"},
    {"::-99999999999999999999", MV_EOVERFLOW, NULL},
};

static void parse_malformed(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof malformed / sizeof malformed[0]; c++) {
        const bad_case *bc = &malformed[c];
        mv_key keys[8];
        int n = 99;
        mv_error err;
        mv_error_clear(&err);
        int rc = mv_subscript_parse(bc->text, keys, 8, &n, &err);
        if (rc == 0)
            fail_msg("'%s' accepted", bc->text);
        assert_int_equal(rc, bc->code);
        assert_int_equal(err.code, bc->code);
        assert_int_equal(n, 0);
        if (bc->message)
            assert_string_equal(err.message, bc->message);
        else
            assert_true(strncmp(err.message, "invalid subscript '", 19) == 0);
        /* err may be NULL. */
        assert_int_equal(mv_subscript_parse(bc->text, keys, 8, &n, NULL), bc->code);
    }
}

static void parse_limits(void **state)
{
    (void)state;
    mv_key keys[4];
    int n = 7;
    mv_error err;
    assert_int_equal(mv_subscript_parse("1,2,3,4", keys, 4, &n, &err), 0);
    assert_int_equal(n, 4);
    assert_int_equal(mv_subscript_parse("1,2,3,4,5", keys, 4, &n, &err), MV_EINDEX);
    assert_string_equal(err.message, "invalid subscript '1,2,3,4,5': more than 4 keys");
    assert_int_equal(n, 0);
    assert_int_equal(mv_subscript_parse("", NULL, 0, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(mv_subscript_parse("1", NULL, 0, &n, &err), MV_EINDEX);
    /* Malformed text is reported before running out of room. */
    assert_int_equal(mv_subscript_parse("1,2,3,4,x", keys, 4, &n, &err), MV_EVALUE);

    /* Arguments. */
    assert_int_equal(mv_subscript_parse(NULL, keys, 4, &n, &err), MV_EVALUE);
    assert_int_equal(mv_subscript_parse("1", keys, 4, NULL, &err), MV_EVALUE);
    assert_int_equal(mv_subscript_parse("1", NULL, 4, &n, &err), MV_EVALUE);
    assert_int_equal(mv_subscript_parse("1", keys, -1, &n, &err), MV_EVALUE);

    /* A long text: the message is cut to the error buffer, never overrun. */
    char text[2000];
    size_t len = 0;
    for (int i = 0; i < 300; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%d,", i % 10);
    snprintf(text + len, sizeof text - len, "?");
    mv_key many[400];
    assert_int_equal(mv_subscript_parse(text, many, 400, &n, &err), MV_EVALUE);
    assert_true(strlen(err.message) < MV_ERROR_MESSAGE_MAX);
    text[len - 1] = '\0'; /* drop the trailing "," and "?" */
    assert_int_equal(mv_subscript_parse(text, many, 400, &n, &err), 0);
    assert_int_equal(n, 300);
    assert_int_equal(many[299].index, 9);
}

/* Parsing never allocates: it succeeds and fails the same way with every
 * allocation failing. */
static void parse_no_allocation(void **state)
{
    (void)state;
    mv_key keys[8];
    int n;
    mv_error err;
    mv_test_fail_after(0);
    int ok = mv_subscript_parse("[1:3, ::-1, ..., 0, None]", keys, 8, &n, &err);
    int bad = mv_subscript_parse("[1:3, ::-1, ..., 0, None", keys, 8, &n, &err);
    long failed = mv_test_failed_allocations();
    mv_test_fail_after(-1);
    assert_int_equal(ok, 0);
    assert_int_equal(bad, MV_EVALUE);
    assert_int_equal(failed, 0);
}

/* The parser and mv_view_subscript together. */
static void parse_then_subscript(void **state)
{
    (void)state;
    unsigned char mem[24];
    for (int i = 0; i < 24; i++)
        mem[i] = (unsigned char)i;
    mv_error err;
    mv_view *flat = mv_view_from_memory(mem, 24, MV_BUF_READ, &err);
    ptrdiff_t shape[] = {2, 3, 4};
    mv_view *v = mv_view_cast(flat, "B", shape, 3, MV_CAST_STRICT, &err);
    assert_non_null(v);
    mv_key keys[8];
    int n;
    assert_int_equal(mv_subscript_parse("[-1, ::-2, None, 1:3]", keys, 8, &n, &err), 0);
    mv_view *s = mv_view_subscript(v, keys, n, &err);
    assert_non_null(s);
    const mv_buffer *b = mv_view_buffer(s, &err);
    assert_int_equal(b->ndim, 3);
    assert_int_equal(b->shape[0], 2);
    assert_int_equal(b->shape[1], 1);
    assert_int_equal(b->shape[2], 2);
    /* s[1, 0, 1] = v[1, 0, 2] = 12 + 0 + 2. */
    ptrdiff_t idx[] = {1, 0, 1};
    mv_value val;
    assert_int_equal(mv_view_get_item(s, idx, 3, &val, 1, &err), 0);
    assert_int_equal(val.v.u, 14);
    mv_decref(mv_view_object(s));
    assert_int_equal(mv_subscript_parse("..., ...", keys, 8, &n, &err), 0);
    assert_null(mv_view_subscript(v, keys, n, &err));
    assert_int_equal(err.code, MV_EINDEX);
    mv_decref(mv_view_object(v));
    mv_decref(mv_view_object(flat));
}

/* Item access checks every index before following any pointer: in a view
 * with no items the row pointers of an indirect dimension are not kept,
 * and following row 1's here would fault (guarded_empty_indirect).  Found
 * by fuzz_view_ops (get_item on such a view read past the row table). */
static void item_of_empty_indirect(void **state)
{
    (void)state;
    guarded g;
    mv_view *v = guarded_empty_indirect(&g);
    mv_error err;
    mv_value val;
    static const ptrdiff_t idx[][2] = {{1, 0}, {0, 0}, {-1, -1}, {1, 5}};
    for (size_t k = 0; k < sizeof idx / sizeof idx[0]; k++) {
        mv_error_clear(&err);
        assert_int_equal(mv_view_get_item(v, idx[k], 2, &val, 1, &err), MV_EINDEX);
        assert_string_equal(err.message, "index out of bounds on dimension 2");
        assert_int_equal(mv_view_set_item(v, idx[k], 2, &val, 1, &err), MV_ETYPE); /* read-only */
    }
    /* The first failing dimension is still the one reported. */
    ptrdiff_t bad0[2] = {2, 0};
    assert_int_equal(mv_view_get_item(v, bad0, 2, &val, 1, &err), MV_EINDEX);
    assert_string_equal(err.message, "index out of bounds on dimension 1");
    mv_decref(v);
    guarded_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_valid),         cmocka_unit_test(parse_extremes),
        cmocka_unit_test(parse_malformed),     cmocka_unit_test(parse_limits),
        cmocka_unit_test(parse_no_allocation), cmocka_unit_test(parse_then_subscript),
        cmocka_unit_test(item_of_empty_indirect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
