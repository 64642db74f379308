/* Tests for src/core/codec.c and the codec's inline half in src/core/core.h:
 * one element of every code in every byte order, loaded by every path that
 * reads items (mv_format_unpack, mv_load_element, the item reader's direct
 * and general paths, mv_load_native) and stored back by mv_format_pack.
 *
 * Expected values are hand-written: each code's bytes as a big-endian
 * literal with the value worked out by hand, reversed (per component:
 * each half of a complex on its own) for little-endian orders; native
 * formats against values stored by the compiler in C variables of the
 * native types; half-float NaNs against double bit patterns computed by
 * hand.  Nothing is checked against the code under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "failalloc.h"
#include "memview.h"
#include "testviews.h"

/* ------------------------------------------------------------------------ */
/* helpers                                                                   */
/* ------------------------------------------------------------------------ */

static void describe(const mv_value *v, char *out, size_t n)
{
    switch (v->kind) {
    case MV_VALUE_BOOL:
        snprintf(out, n, "bool %d", v->v.b);
        break;
    case MV_VALUE_SIGNED:
        snprintf(out, n, "signed %lld", (long long)v->v.i);
        break;
    case MV_VALUE_UNSIGNED:
    case MV_VALUE_CHAR:
        snprintf(out, n, "unsigned/char %llu", (unsigned long long)v->v.u);
        break;
    case MV_VALUE_DOUBLE:
        snprintf(out, n, "double %a (%016llx)", v->v.d, (unsigned long long)bits_of(v->v.d));
        break;
    case MV_VALUE_COMPLEX:
        snprintf(out, n, "complex %a %a", v->v.c.re, v->v.c.im);
        break;
    default:
        snprintf(out, n, "kind %d", (int)v->kind);
        break;
    }
}

static void check_value(const mv_value *got, const mv_value *want, const char *what,
                        const char *format)
{
    if (!same_value(got, want)) {
        char g[96], w[96];
        describe(got, g, sizeof g);
        describe(want, w, sizeof w);
        fail_msg("'%s' via %s: got %s, want %s", format, what, g, w);
    }
}

static void parse_ok(mv_format *fmt, const char *text)
{
    mv_error err;
    mv_error_clear(&err);
    if (mv_format_parse(fmt, text, &err) != 0)
        fail_msg("parse '%s': %s", text, err.message);
}

/* ------------------------------------------------------------------------ */
/* integers below the elements                                               */
/* ------------------------------------------------------------------------ */

static void test_load_uint(void **state)
{
    (void)state;
    const unsigned char b[8] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
    assert_int_equal(mv_load_uint(b, 1, true), 0x01);
    assert_int_equal(mv_load_uint(b, 1, false), 0x01);
    assert_int_equal(mv_load_uint(b, 2, false), 0x0102);
    assert_int_equal(mv_load_uint(b, 2, true), 0x0201);
    assert_int_equal(mv_load_uint(b, 3, false), 0x010203);
    assert_int_equal(mv_load_uint(b, 3, true), 0x030201);
    assert_int_equal(mv_load_uint(b, 4, false), 0x01020304);
    assert_int_equal(mv_load_uint(b, 4, true), 0x04030201);
    assert_true(mv_load_uint(b, 8, false) == UINT64_C(0x0102030405060708));
    assert_true(mv_load_uint(b, 8, true) == UINT64_C(0x0807060504030201));
    /* Unaligned: one byte in. */
    assert_int_equal(mv_load_uint(b + 1, 4, false), 0x02030405);
    assert_int_equal(mv_load_uint(b + 1, 2, true), 0x0302);
    assert_int_equal(mv_host_little(), host_is_little());
    assert_true(mv_order_little('<'));
    assert_false(mv_order_little('>'));
    assert_false(mv_order_little('!'));
    assert_int_equal(mv_order_little('='), host_is_little());
    assert_int_equal(mv_order_little('@'), host_is_little());
}

static void test_sign_extend(void **state)
{
    (void)state;
    assert_true(mv_sign_extend(0x7f, 1) == 127);
    assert_true(mv_sign_extend(0x80, 1) == -128);
    assert_true(mv_sign_extend(0xff, 1) == -1);
    assert_true(mv_sign_extend(0x7fff, 2) == 32767);
    assert_true(mv_sign_extend(0x8000, 2) == -32768);
    assert_true(mv_sign_extend(0x800000, 3) == -8388608);
    assert_true(mv_sign_extend(0x80000000u, 4) == INT32_MIN);
    assert_true(mv_sign_extend(0x7fffffffu, 4) == INT32_MAX);
    assert_true(mv_sign_extend(UINT64_MAX, 8) == -1);
    assert_true(mv_sign_extend(UINT64_C(1) << 63, 8) == INT64_MIN);
}

/* ------------------------------------------------------------------------ */
/* every code in every byte order                                            */
/* ------------------------------------------------------------------------ */

typedef struct code_case {
    const char *code;     /* as written in a format: "h", "Zf", ... */
    int size;             /* standard size */
    int unit;             /* bytes reversed together for little-endian */
    unsigned char be[16]; /* the element, big-endian */
    mv_value want;
} code_case;

/* Hand-worked: each value from its big-endian bytes.  '?' stores 0x01 (what
 * packing writes back); the others are exact in their format.  One case a
 * line, as a table. */
/* clang-format off */
static code_case cases[] = {
    {"b", 1, 1, {0x85}, {.kind = MV_VALUE_SIGNED, .v.i = -123}},
    {"b", 1, 1, {0x7f}, {.kind = MV_VALUE_SIGNED, .v.i = 127}},
    {"B", 1, 1, {0x85}, {.kind = MV_VALUE_UNSIGNED, .v.u = 133}},
    {"h", 2, 2, {0xfe, 0xdc}, {.kind = MV_VALUE_SIGNED, .v.i = -292}},
    {"h", 2, 2, {0x12, 0x34}, {.kind = MV_VALUE_SIGNED, .v.i = 4660}},
    {"H", 2, 2, {0xfe, 0xdc}, {.kind = MV_VALUE_UNSIGNED, .v.u = 65244}},
    {"i", 4, 4, {0x80, 0x00, 0x00, 0x01}, {.kind = MV_VALUE_SIGNED, .v.i = -2147483647}},
    {"I", 4, 4, {0xde, 0xad, 0xbe, 0xef}, {.kind = MV_VALUE_UNSIGNED, .v.u = 3735928559u}},
    {"l", 4, 4, {0xff, 0xff, 0xff, 0xfe}, {.kind = MV_VALUE_SIGNED, .v.i = -2}},
    {"L", 4, 4, {0x12, 0x34, 0x56, 0x78}, {.kind = MV_VALUE_UNSIGNED, .v.u = 305419896}},
    {"q", 8, 8, {0x80, 0, 0, 0, 0, 0, 0, 0}, {.kind = MV_VALUE_SIGNED, .v.i = INT64_MIN}},
    {"q", 8, 8, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xd4},
     {.kind = MV_VALUE_SIGNED, .v.i = -300}},
    {"Q", 8, 8, {0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10},
     {.kind = MV_VALUE_UNSIGNED, .v.u = UINT64_C(0xfedcba9876543210)}},
    {"?", 1, 1, {0x01}, {.kind = MV_VALUE_BOOL, .v.b = true}},
    {"?", 1, 1, {0x00}, {.kind = MV_VALUE_BOOL, .v.b = false}},
    {"e", 2, 2, {0xc0, 0x00}, {.kind = MV_VALUE_DOUBLE, .v.d = -2.0}},
    {"e", 2, 2, {0x7b, 0xff}, {.kind = MV_VALUE_DOUBLE, .v.d = 65504.0}},
    {"e", 2, 2, {0x00, 0x01}, {.kind = MV_VALUE_DOUBLE, .v.d = 0x1p-24}},
    {"e", 2, 2, {0x80, 0x00}, {.kind = MV_VALUE_DOUBLE, .v.d = -0.0}},
    {"e", 2, 2, {0x7c, 0x00}, {.kind = MV_VALUE_DOUBLE, .v.d = INFINITY}},
    {"f", 4, 4, {0x3f, 0xc0, 0x00, 0x00}, {.kind = MV_VALUE_DOUBLE, .v.d = 1.5}},
    {"f", 4, 4, {0xc1, 0x48, 0x00, 0x00}, {.kind = MV_VALUE_DOUBLE, .v.d = -12.5}},
    {"f", 4, 4, {0x00, 0x00, 0x00, 0x01}, {.kind = MV_VALUE_DOUBLE, .v.d = 0x1p-149}},
    {"d", 8, 8, {0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18},
     {.kind = MV_VALUE_DOUBLE, .v.d = 0x1.921fb54442d18p+1}},
    {"d", 8, 8, {0xff, 0xf0, 0, 0, 0, 0, 0, 0}, {.kind = MV_VALUE_DOUBLE, .v.d = -INFINITY}},
    {"w", 4, 4, {0x00, 0x01, 0xf6, 0x00}, {.kind = MV_VALUE_CHAR, .v.u = 0x1f600}},
    {"Zf", 8, 4, {0x3f, 0x80, 0x00, 0x00, 0xc0, 0x00, 0x00, 0x00},
     {.kind = MV_VALUE_COMPLEX, .v.c = {1.0, -2.0}}},
    {"Zd", 16, 8, {0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x40, 0x08, 0, 0, 0, 0, 0, 0},
     {.kind = MV_VALUE_COMPLEX, .v.c = {1.0, 3.0}}},
};
/* clang-format on */

/* The element of c in the given byte order: each unit of the big-endian
 * literal reversed for little-endian. */
static void element_bytes(const code_case *c, bool little, unsigned char *out)
{
    for (int u = 0; u < c->size; u += c->unit)
        for (int k = 0; k < c->unit; k++)
            out[u + k] = c->be[u + (little ? c->unit - 1 - k : k)];
}

/* The item at `item` of the one-element format `text` reads as want on
 * every path that reads items, and want packs back to exactly those bytes. */
static void check_all_paths(const char *text, const unsigned char *item, const mv_value *want)
{
    mv_format fmt;
    parse_ok(&fmt, text);
    assert_int_equal(fmt.nfields, 1);
    assert_int_equal(fmt.nvalues, 1);
    const mv_field *f = &fmt.fields[0];

    mv_value got;
    assert_int_equal(mv_format_unpack(&fmt, item, &got, 1, NULL), 0);
    check_value(&got, want, "mv_format_unpack", text);

    memset(&got, 0xa5, sizeof got);
    mv_load_element(f->code, f->size, mv_order_little(f->byteorder), item, &got);
    check_value(&got, want, "mv_load_element", text);

    mv_item_reader r;
    assert_int_equal(mv_reader_init(&r, &fmt, NULL), 0);
    assert_true(r.direct); /* one element: the direct path */
    assert_int_equal(mv_reader_read(&r, item, NULL), 0);
    check_value(&r.values[0], want, "mv_reader_read", text);
    mv_reader_clear(&r);

    if (fmt.native && strchr(MV_LOADABLE_CODES, fmt.native)) {
        memset(&got, 0xa5, sizeof got);
        assert_true(mv_load_native(fmt.native, (const char *)item, &got));
        check_value(&got, want, "mv_load_native", text);
    }

    unsigned char back[16];
    memset(back, 0xee, sizeof back);
    assert_int_equal(mv_format_pack(&fmt, text, back, want, 1, NULL), 0);
    if (memcmp(back, item, (size_t)fmt.itemsize) != 0)
        fail_msg("'%s': the value packs back to other bytes", text);
    mv_format_clear(&fmt);
}

static void test_every_code_every_order(void **state)
{
    (void)state;
    /* "" and "@" are native (here the standard size but for 'l' / 'L' on
     * LP64, which test_native_types covers); "!" is big-endian. */
    static const char *const orders[] = {"<", ">", "!", "=", "@", ""};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const code_case *c = &cases[i];
        for (size_t o = 0; o < sizeof orders / sizeof orders[0]; o++) {
            char text[8];
            snprintf(text, sizeof text, "%s%s", orders[o], c->code);
            char order = orders[o][0];
            bool little =
                order == '<' || ((order == '=' || order == '@' || !order) && host_is_little());
            ptrdiff_t size = mv_size_from_format(text, NULL);
            if (size != c->size) {
                assert_true(order == '@' || !order); /* a native size */
                continue;
            }
            unsigned char item[16];
            element_bytes(c, little, item);
            check_all_paths(text, item, &c->want);
        }
    }
}

/* '?' is true when any byte is set, not only 0x01. */
static void test_bool_any_byte(void **state)
{
    (void)state;
    static const char *const texts[] = {"<?", ">?", "=?", "@?"};
    const unsigned char bytes[] = {0x02, 0x80, 0xff};
    mv_value yes = v_bool(true);
    for (size_t t = 0; t < 4; t++) {
        mv_format fmt;
        parse_ok(&fmt, texts[t]);
        for (size_t k = 0; k < sizeof bytes; k++) {
            mv_value got;
            assert_int_equal(mv_format_unpack(&fmt, &bytes[k], &got, 1, NULL), 0);
            check_value(&got, &yes, "mv_format_unpack", texts[t]);
            mv_load_element('?', 1, true, &bytes[k], &got);
            check_value(&got, &yes, "mv_load_element", texts[t]);
        }
        mv_format_clear(&fmt);
    }
}

/* The codes that exist only in native mode refuse a byte-order prefix. */
static void test_native_only_codes(void **state)
{
    (void)state;
    static const char *const texts[] = {"<n", ">N", "=P", "!n"};
    for (size_t t = 0; t < 4; t++) {
        mv_format fmt;
        mv_error err;
        mv_error_clear(&err);
        assert_int_equal(mv_format_parse(&fmt, texts[t], &err), MV_EVALUE);
    }
}

/* Native formats: the item is what the compiler stores for a C variable of
 * the native type. */
#define NATIVE_CASE(text, T, init, want)                                                           \
    do {                                                                                           \
        T x_ = init;                                                                               \
        unsigned char item_[sizeof(T)];                                                            \
        memcpy(item_, &x_, sizeof x_);                                                             \
        mv_value w_ = want;                                                                        \
        assert_int_equal(mv_size_from_format(text, NULL), (ptrdiff_t)sizeof(T));                   \
        check_all_paths(text, item_, &w_);                                                         \
    } while (0)

static void test_native_types(void **state)
{
    (void)state;
    static int anchor;
    void *ptr = &anchor;
    const char *prefixes[] = {"@", ""};
    for (int k = 0; k < 2; k++) {
        char t[8];
#define FMT(code) (snprintf(t, sizeof t, "%s%s", prefixes[k], code), t)
        NATIVE_CASE(FMT("b"), signed char, -100, v_int(-100));
        NATIVE_CASE(FMT("B"), unsigned char, 200, v_uint(200));
        NATIVE_CASE(FMT("h"), short, -30000, v_int(-30000));
        NATIVE_CASE(FMT("H"), unsigned short, 60000, v_uint(60000));
        NATIVE_CASE(FMT("i"), int, -2000000000, v_int(-2000000000));
        NATIVE_CASE(FMT("I"), unsigned int, 4000000000u, v_uint(4000000000u));
        NATIVE_CASE(FMT("l"), long, -1234567L, v_int(-1234567));
        NATIVE_CASE(FMT("L"), unsigned long, 4000000001UL, v_uint(4000000001u));
        NATIVE_CASE(FMT("q"), long long, -5000000000LL, v_int(-5000000000LL));
        NATIVE_CASE(FMT("Q"), unsigned long long, 18000000000000000000ULL,
                    v_uint(UINT64_C(18000000000000000000)));
        NATIVE_CASE(FMT("n"), ptrdiff_t, -77, v_int(-77));
        NATIVE_CASE(FMT("N"), size_t, 77, v_uint(77));
        NATIVE_CASE(FMT("P"), void *, ptr, v_uint((uint64_t)(uintptr_t)ptr));
        NATIVE_CASE(FMT("?"), _Bool, 1, v_bool(true));
        NATIVE_CASE(FMT("f"), float, -0.375f, v_dbl(-0.375));
        NATIVE_CASE(FMT("d"), double, 1e300, v_dbl(1e300));
        NATIVE_CASE(FMT("d"), double, -0.0, v_dbl(-0.0));
#undef FMT
    }
    typedef float cf[2];
    typedef double cd[2];
    {
        cf x = {2.5f, -0.5f};
        unsigned char item[sizeof x];
        memcpy(item, x, sizeof x);
        mv_value w = v_cplx(2.5, -0.5);
        check_all_paths("Zf", item, &w);
    }
    {
        cd x = {-1e-300, 7.0};
        unsigned char item[sizeof x];
        memcpy(item, x, sizeof x);
        mv_value w = v_cplx(-1e-300, 7.0);
        check_all_paths("@Zd", item, &w);
    }
}

/* mv_load_native: the codes outside MV_LOADABLE_CODES are refused, and the
 * value is left as it was. */
static void test_load_native_refuses(void **state)
{
    (void)state;
    const char others[] = "?ePwcsxpFDZ";
    unsigned char item[16] = {0};
    for (size_t k = 0; others[k]; k++) {
        mv_value v = v_int(42), keep = v;
        assert_false(mv_load_native(others[k], (const char *)item, &v));
        check_value(&v, &keep, "mv_load_native (refused)", "-");
    }
    mv_value v;
    mv_load_element('x', 1, true, item, &v); /* no value: padding */
    assert_int_equal(v.kind, MV_VALUE_NONE);
}

/* ------------------------------------------------------------------------ */
/* half floats: NaN payloads                                                 */
/* ------------------------------------------------------------------------ */

/* Each half with its double's bits, by hand: a NaN's 10-bit payload goes to
 * the top of the double's 52-bit mantissa (bits 51..42), as widening in
 * hardware puts it; the sign stays. */
static const struct {
    uint16_t half;
    uint64_t bits;
} half_nans[] = {
    {0x7e00, UINT64_C(0x7ff8000000000000)}, /* quiet, no payload */
    {0x7e01, UINT64_C(0x7ff8040000000000)}, /* quiet, payload 1 */
    {0xfe01, UINT64_C(0xfff8040000000000)}, /* the same, negative */
    {0x7dff, UINT64_C(0x7ff7fc0000000000)}, /* signalling, payload 0x1ff */
    {0x7c01, UINT64_C(0x7ff0040000000000)}, /* signalling, payload 1 */
    {0x7fff, UINT64_C(0x7ffffc0000000000)}, /* every mantissa bit */
    {0x7c00, UINT64_C(0x7ff0000000000000)}, /* +inf (no payload: not a NaN) */
    {0xfc00, UINT64_C(0xfff0000000000000)}, /* -inf */
};

static void test_half_nan_payload(void **state)
{
    (void)state;
    mv_format le, be;
    parse_ok(&le, "<e");
    parse_ok(&be, ">e");
    mv_item_reader rl, rb;
    assert_int_equal(mv_reader_init(&rl, &le, NULL), 0);
    assert_int_equal(mv_reader_init(&rb, &be, NULL), 0);
    for (size_t i = 0; i < sizeof half_nans / sizeof half_nans[0]; i++) {
        uint16_t h = half_nans[i].half;
        unsigned char lb[2] = {(unsigned char)(h & 0xff), (unsigned char)(h >> 8)};
        unsigned char bb[2] = {(unsigned char)(h >> 8), (unsigned char)(h & 0xff)};
        mv_value want = {.kind = MV_VALUE_DOUBLE};
        memcpy(&want.v.d, &half_nans[i].bits, sizeof want.v.d);

        mv_value got = v_dbl(mv_half_to_double(h));
        check_value(&got, &want, "mv_half_to_double", "e");
        assert_int_equal(mv_format_unpack(&le, lb, &got, 1, NULL), 0);
        check_value(&got, &want, "mv_format_unpack", "<e");
        assert_int_equal(mv_format_unpack(&be, bb, &got, 1, NULL), 0);
        check_value(&got, &want, "mv_format_unpack", ">e");
        /* The reader is what comparison, hashing and count / index read
         * through: the same payload as unpack (it once made every half NaN
         * the plain NAN). */
        assert_int_equal(mv_reader_read(&rl, lb, NULL), 0);
        check_value(&rl.values[0], &want, "mv_reader_read", "<e");
        assert_int_equal(mv_reader_read(&rb, bb, NULL), 0);
        check_value(&rb.values[0], &want, "mv_reader_read", ">e");

        /* And back: the payload is stored again, bit for bit. */
        unsigned char out[2] = {0, 0};
        assert_int_equal(mv_format_pack(&le, "<e", out, &want, 1, NULL), 0);
        assert_int_equal(out[0] | out[1] << 8, h);
    }
    mv_reader_clear(&rl);
    mv_reader_clear(&rb);
    mv_format_clear(&le);
    mv_format_clear(&be);
}

/* What the payload means above the codec: nothing.  Half NaNs of any
 * payload hash as a double NaN does (hashing folds every NaN into one),
 * and a NaN equals nothing, itself included. */
static void test_half_nan_hash_and_equality(void **state)
{
    (void)state;
    unsigned char h1[2] = {0x00, 0x7e}, h2[2] = {0x01, 0x7e}, h3[2] = {0xff, 0xfd};
    double dn = NAN;
    mv_view *a = view_1d(h1, "<e", 2, 1, 1), *b = view_1d(h2, "<e", 2, 1, 1);
    mv_view *c = view_1d(h3, "<e", 2, 1, 1), *d = view_1d(&dn, "d", 8, 1, 1);
    uint64_t ha, hb, hc, hd;
    assert_int_equal(mv_view_hash(a, &ha, NULL), 0);
    assert_int_equal(mv_view_hash(b, &hb, NULL), 0);
    assert_int_equal(mv_view_hash(c, &hc, NULL), 0);
    assert_int_equal(mv_view_hash(d, &hd, NULL), 0);
    assert_true(ha == hb && hb == hc && hc == hd);
    assert_int_equal(mv_view_equal(b, b, NULL), 0);
    assert_int_equal(mv_view_equal(b, d, NULL), 0);
    mv_value nan = v_dbl(NAN);
    ptrdiff_t n = -1;
    assert_int_equal(mv_view_count(b, &nan, &n, NULL), 0);
    assert_int_equal(n, 0);
    mv_decref(a);
    mv_decref(b);
    mv_decref(c);
    mv_decref(d);
}

/* ------------------------------------------------------------------------ */
/* the item reader                                                           */
/* ------------------------------------------------------------------------ */

/* A one-element format with padding reads on the direct path, from the
 * element's offset. */
static void test_reader_offset(void **state)
{
    (void)state;
    mv_format fmt;
    parse_ok(&fmt, ">xxh");
    const unsigned char item[4] = {0xaa, 0xbb, 0xfe, 0xdc};
    mv_item_reader r;
    assert_int_equal(mv_reader_init(&r, &fmt, NULL), 0);
    assert_true(r.direct);
    assert_int_equal(r.nvalues, 1);
    assert_int_equal(mv_reader_read(&r, item, NULL), 0);
    mv_value want = v_int(-292);
    check_value(&r.values[0], &want, "mv_reader_read", ">xxh");
    mv_reader_clear(&r);
    mv_format_clear(&fmt);

    /* Padding after the element. */
    parse_ok(&fmt, "<h2x");
    assert_int_equal(mv_reader_init(&r, &fmt, NULL), 0);
    assert_true(r.direct);
    assert_int_equal(mv_reader_read(&r, item + 2, NULL), 0);
    want = v_int(-8962); /* 0xdcfe */
    check_value(&r.values[0], &want, "mv_reader_read", "<h2x");
    mv_reader_clear(&r);
    mv_format_clear(&fmt);
}

/* Formats of several values, or of bytes, go through the general path and
 * read what unpack reads. */
static void test_reader_general(void **state)
{
    (void)state;
    mv_format fmt;
    parse_ok(&fmt, "<h>I2sc");
    const unsigned char item[9] = {0x34, 0x12, 0xde, 0xad, 0xbe, 0xef, 'h', 'i', 'Z'};
    mv_item_reader r;
    assert_int_equal(mv_reader_init(&r, &fmt, NULL), 0);
    assert_false(r.direct);
    assert_int_equal(r.nvalues, 4);
    assert_int_equal(mv_reader_read(&r, item, NULL), 0);
    mv_value w0 = v_int(0x1234), w1 = v_uint(0xdeadbeef);
    check_value(&r.values[0], &w0, "mv_reader_read", "<h>I2sc");
    check_value(&r.values[1], &w1, "mv_reader_read", "<h>I2sc");
    assert_int_equal(r.values[2].kind, MV_VALUE_BYTES);
    assert_ptr_equal(r.values[2].v.bytes.ptr, item + 6);
    assert_int_equal(r.values[2].v.bytes.len, 2);
    assert_int_equal(r.values[3].kind, MV_VALUE_BYTES);
    assert_ptr_equal(r.values[3].v.bytes.ptr, item + 8);
    mv_reader_clear(&r);
    mv_reader_clear(&r); /* idempotent */
    mv_format_clear(&fmt);

    /* Two elements of one field: not one element, so not direct. */
    parse_ok(&fmt, ">2h");
    assert_int_equal(mv_reader_init(&r, &fmt, NULL), 0);
    assert_false(r.direct);
    assert_int_equal(mv_reader_read(&r, item, NULL), 0);
    w0 = v_int(0x3412);
    w1 = v_int(-8531); /* 0xdead */
    check_value(&r.values[0], &w0, "mv_reader_read", ">2h");
    check_value(&r.values[1], &w1, "mv_reader_read", ">2h");
    mv_reader_clear(&r);
    mv_format_clear(&fmt);

    /* 'c' alone is bytes, not a number. */
    parse_ok(&fmt, "c");
    assert_int_equal(mv_reader_init(&r, &fmt, NULL), 0);
    assert_false(r.direct);
    mv_reader_clear(&r);
    mv_format_clear(&fmt);
}

/* More values than the reader holds itself: an allocation, which may fail. */
static void test_reader_many_values(void **state)
{
    (void)state;
    mv_format fmt;
    parse_ok(&fmt, "<10B");
    unsigned char item[10];
    for (int k = 0; k < 10; k++)
        item[k] = (unsigned char)(250 + k); /* 250 .. 255, then 0 .. 3 (mod 256) */
    mv_item_reader r;
    assert_true(fmt.nvalues > MV_READER_SMALL);
    assert_int_equal(mv_reader_init(&r, &fmt, NULL), 0);
    assert_ptr_not_equal(r.values, r.small);
    assert_int_equal(mv_reader_read(&r, item, NULL), 0);
    for (int k = 0; k < 10; k++) {
        mv_value w = v_uint((uint64_t)((250 + k) % 256));
        check_value(&r.values[k], &w, "mv_reader_read", "<10B");
    }
    mv_reader_clear(&r);

    mv_error err;
    mv_error_clear(&err);
    mv_test_fail_after(0);
    int rc = mv_reader_init(&r, &fmt, &err);
    mv_test_fail_after(-1);
    assert_int_equal(rc, MV_ENOMEM);
    assert_int_equal(err.code, MV_ENOMEM);
    assert_string_equal(err.message, "out of memory");
    mv_reader_clear(&r); /* safe after a failed init */
    mv_format_clear(&fmt);
}

/* 'w' and '?' are single elements too: the direct path reads them. */
static void test_reader_char_and_bool(void **state)
{
    (void)state;
    const unsigned char w[4] = {0x00, 0xf6, 0x01, 0x00}; /* U+1F600, little-endian */
    mv_value want = v_char(0x1f600);
    check_all_paths("<w", w, &want);
    const unsigned char t = 0x40;
    mv_format fmt;
    parse_ok(&fmt, "?");
    mv_item_reader r;
    assert_int_equal(mv_reader_init(&r, &fmt, NULL), 0);
    assert_true(r.direct);
    assert_int_equal(mv_reader_read(&r, &t, NULL), 0);
    want = v_bool(true);
    check_value(&r.values[0], &want, "mv_reader_read", "?");
    mv_reader_clear(&r);
    mv_format_clear(&fmt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_uint),
        cmocka_unit_test(test_sign_extend),
        cmocka_unit_test(test_every_code_every_order),
        cmocka_unit_test(test_bool_any_byte),
        cmocka_unit_test(test_native_only_codes),
        cmocka_unit_test(test_native_types),
        cmocka_unit_test(test_load_native_refuses),
        cmocka_unit_test(test_half_nan_payload),
        cmocka_unit_test(test_half_nan_hash_and_equality),
        cmocka_unit_test(test_reader_offset),
        cmocka_unit_test(test_reader_general),
        cmocka_unit_test(test_reader_many_values),
        cmocka_unit_test(test_reader_char_and_bool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
