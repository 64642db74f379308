/* Tests for src/format.c: parsing struct / PEP 3118 formats, unpacking and
 * packing items.  Expected layouts are worked out by hand for x86-64 Linux
 * (LP64: long = 8); expected encodings come from hand-written byte vectors
 * or from the simple shift-based encoder / power-of-two half decoder below,
 * never from the code under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "failalloc.h"
#include "testviews.h"
#include "ops/ops.h"
#include "memview.h"

/* ------------------------------------------------------------------------ */
/* helpers                                                                   */
/* ------------------------------------------------------------------------ */

static bool order_is_little(char order)
{
    if (order == '<')
        return true;
    if (order == '>' || order == '!')
        return false;
    return host_is_little();
}

/* Reference encoder: v's low size bytes in the given order, by shifts. */
static void ref_store(unsigned char *out, uint64_t v, int size, bool little)
{
    for (int k = 0; k < size; k++)
        out[little ? k : size - 1 - k] = (unsigned char)((v >> (8 * k)) & 0xff);
}

static void parse_ok(mv_format *fmt, const char *text)
{
    mv_error err;
    mv_error_clear(&err);
    int rc = mv_format_parse(fmt, text, &err);
    if (rc != 0)
        fail_msg("parse '%s' failed: %d %s", text, rc, err.message);
    assert_int_equal(err.code, MV_OK);
}

static void assert_bytes(const unsigned char *got, const unsigned char *want, size_t n,
                         const char *what)
{
    if (memcmp(got, want, n) != 0) {
        char g[200] = "", w[200] = "";
        for (size_t i = 0; i < n && i < 60; i++) {
            snprintf(g + strlen(g), sizeof g - strlen(g), "%02x ", got[i]);
            snprintf(w + strlen(w), sizeof w - strlen(w), "%02x ", want[i]);
        }
        fail_msg("%s: got %s want %s", what, g, w);
    }
}

/* Pack one value into a fresh item of a single-field format; return rc. */
static int pack1(const char *text, const mv_value *v, unsigned char *item, mv_error *err)
{
    mv_format fmt;
    parse_ok(&fmt, text);
    int rc = mv_format_pack(&fmt, text, item, v, 1, err);
    mv_format_clear(&fmt);
    return rc;
}

/* Expect pack of one value to fail with code and the exact CPython message,
 * leaving the item untouched. */
static void expect_pack_error(const char *text, mv_value v, int code)
{
    unsigned char item[64], before[64];
    mv_error err;
    char want[300];
    memset(item, 0xa5, sizeof item);
    memcpy(before, item, sizeof item);
    mv_error_clear(&err);
    int rc = pack1(text, &v, item, &err);
    if (rc != code)
        fail_msg("pack '%s' kind %d: rc %d, want %d (%s)", text, (int)v.kind, rc, code,
                 err.message);
    assert_int_equal(err.code, code);
    snprintf(want, sizeof want, "memoryview: invalid %s for format '%s'",
             code == MV_ETYPE ? "type" : "value", text);
    assert_string_equal(err.message, want);
    assert_bytes(item, before, sizeof item, "item changed on error");
}

/* ------------------------------------------------------------------------ */
/* layout                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct layout_case {
    const char *text;
    ptrdiff_t itemsize, alignment, nvalues;
    int nfields;
    char native;
} layout_case;

static const layout_case layout_cases[] = {
    /* native single characters */
    {"B", 1, 1, 1, 1, 'B'},
    {"@B", 1, 1, 1, 1, 'B'},
    {"b", 1, 1, 1, 1, 'b'},
    {"c", 1, 1, 1, 1, 'c'},
    {"?", 1, 1, 1, 1, '?'},
    {"h", 2, 2, 1, 1, 'h'},
    {"@H", 2, 2, 1, 1, 'H'},
    {"i", 4, 4, 1, 1, 'i'},
    {"I", 4, 4, 1, 1, 'I'},
    {"l", 8, 8, 1, 1, 'l'},
    {"L", 8, 8, 1, 1, 'L'},
    {"q", 8, 8, 1, 1, 'q'},
    {"Q", 8, 8, 1, 1, 'Q'},
    {"n", 8, 8, 1, 1, 'n'},
    {"N", 8, 8, 1, 1, 'N'},
    {"P", 8, 8, 1, 1, 'P'},
    {"e", 2, 2, 1, 1, 'e'},
    {"f", 4, 4, 1, 1, 'f'},
    {"d", 8, 8, 1, 1, 'd'},
    {"Zf", 8, 4, 1, 1, 'F'},
    {"Zd", 16, 8, 1, 1, 'D'},
    {"@Zd", 16, 8, 1, 1, 'D'},
    /* standard sizes: not native, alignment 1 */
    {"<?", 1, 1, 1, 1, 0},
    {"=h", 2, 1, 1, 1, 0},
    {"=i", 4, 1, 1, 1, 0},
    {">i", 4, 1, 1, 1, 0},
    {"!l", 4, 1, 1, 1, 0},
    {"<L", 4, 1, 1, 1, 0},
    {"=q", 8, 1, 1, 1, 0},
    {">Q", 8, 1, 1, 1, 0},
    {"<e", 2, 1, 1, 1, 0},
    {"<f", 4, 1, 1, 1, 0},
    {">d", 8, 1, 1, 1, 0},
    {"<Zf", 8, 1, 1, 1, 0},
    {"!Zd", 16, 1, 1, 1, 0},
    /* alignment in native mode, none in standard modes */
    {"@ic", 5, 4, 2, 2, 0},
    {"ic", 5, 4, 2, 2, 0},
    {"@ci", 8, 4, 2, 2, 0},
    {"<ci", 5, 1, 2, 2, 0},
    {"hd", 16, 8, 2, 2, 0},
    {"dh", 10, 8, 2, 2, 0},
    {"cq", 16, 8, 2, 2, 0},
    {"ce", 4, 2, 2, 2, 0},
    {"c?", 2, 1, 2, 2, 0},
    {"cZf", 12, 4, 2, 2, 0},
    {"cZd", 24, 8, 2, 2, 0},
    {"cP", 16, 8, 2, 2, 0},
    {"<i@d", 16, 8, 2, 2, 0},
    {"@@i", 4, 4, 1, 1, 0},
    /* counts, strings, padding */
    {"3i", 12, 4, 3, 1, 0},
    {"2e", 4, 2, 2, 1, 0},
    {"2c", 2, 1, 2, 1, 0},
    {"3s", 3, 1, 1, 1, 0},
    {"10s", 10, 1, 1, 1, 0},
    {"0s", 0, 1, 1, 1, 0},
    {"5p", 5, 1, 1, 1, 0},
    {"x", 1, 1, 0, 1, 0},
    {"4x", 4, 1, 0, 1, 0},
    {"0i", 0, 4, 0, 0, 0},
    {"c0i", 4, 4, 1, 1, 0},
    {"(2,3)h", 12, 2, 6, 1, 0},
    {"( 2 , 3 )h", 12, 2, 6, 1, 0},
    {"(0)i", 0, 4, 0, 0, 0},
    {" i  h ", 6, 4, 2, 2, 0},
    {"99999999999i", 399999999996, 4, 99999999999, 1, 0},
    {"9223372036854775807x", PTRDIFF_MAX, 1, 0, 1, 0},
    {"9223372036854775807s", PTRDIFF_MAX, 1, 1, 1, 0},
    /* records */
    {"T{<b:a:<i:b:}", 5, 1, 2, 2, 0},
    {"T{ic}c", 6, 4, 3, 3, 0},
    {"2T{ic}", 13, 4, 4, 4, 0},
    {"cT{ci}", 12, 4, 3, 3, 0},
    {"T{}i", 4, 4, 1, 1, 0},
    {"bT{hT{ci}}", 16, 4, 4, 4, 0},
    {"<(2)T{bh}", 6, 1, 4, 4, 0},
    {"0T{i}c", 1, 4, 1, 1, 0},
    {"T{T{i}:inner: h:h:}", 6, 4, 2, 2, 0},
    {"T{i::}", 4, 4, 1, 1, 0},
    {"T{}", 0, 1, 0, 0, 0},
    {"3T{}", 0, 1, 0, 0, 0},
    {"T{ 3x }", 3, 1, 0, 1, 0},
    {"<T{i}>T{i}", 8, 1, 2, 2, 0},
};

static void test_layout_table(void **state)
{
    (void)state;
    /* The expectations are for LP64 with 4-byte int (x86-64 Linux). */
    assert_int_equal(sizeof(long), 8);
    assert_int_equal(sizeof(int), 4);
    assert_int_equal(sizeof(void *), 8);
    for (size_t i = 0; i < sizeof layout_cases / sizeof layout_cases[0]; i++) {
        const layout_case *c = &layout_cases[i];
        mv_format fmt;
        parse_ok(&fmt, c->text);
        if (fmt.itemsize != c->itemsize || fmt.alignment != c->alignment ||
            fmt.nvalues != c->nvalues || fmt.nfields != c->nfields || fmt.native != c->native)
            fail_msg("'%s': itemsize %td align %td nvalues %td nfields %d native %d; want %td %td "
                     "%td %d %d",
                     c->text, fmt.itemsize, fmt.alignment, fmt.nvalues, fmt.nfields, fmt.native,
                     c->itemsize, c->alignment, c->nvalues, c->nfields, c->native);
        mv_format_clear(&fmt);
        assert_null(fmt.fields);
        assert_int_equal(fmt.nfields, 0);
        mv_format_clear(&fmt); /* idempotent */
    }
    mv_format_clear(NULL);
}

typedef struct field_case {
    const char *text;
    ptrdiff_t itemsize;
    int n;
    mv_field f[6]; /* code, byteorder, count, offset, size */
} field_case;

static const field_case field_cases[] = {
    {"@ci", 8, 2, {{'c', '@', 1, 0, 1}, {'i', '@', 1, 4, 4}}},
    {"<ci", 5, 2, {{'c', '<', 1, 0, 1}, {'i', '<', 1, 1, 4}}},
    {"T{<b:a:>i:b:}", 5, 2, {{'b', '<', 1, 0, 1}, {'i', '>', 1, 1, 4}}},
    {"<h>h!h=h@h",
     10,
     5,
     {{'h', '<', 1, 0, 2},
      {'h', '>', 1, 2, 2},
      {'h', '>', 1, 4, 2},
      {'h', '=', 1, 6, 2},
      {'h', '@', 1, 8, 2}}},
    {">T{h<h}h", 6, 3, {{'h', '>', 1, 0, 2}, {'h', '<', 1, 2, 2}, {'h', '>', 1, 4, 2}}},
    {"2T{ic}",
     13,
     4,
     {{'i', '@', 1, 0, 4}, {'c', '@', 1, 4, 1}, {'i', '@', 1, 8, 4}, {'c', '@', 1, 12, 1}}},
    {"bT{hT{ci}}",
     16,
     4,
     {{'b', '@', 1, 0, 1}, {'h', '@', 1, 4, 2}, {'c', '@', 1, 8, 1}, {'i', '@', 1, 12, 4}}},
    {"(2,3)h", 12, 1, {{'h', '@', 6, 0, 2}}},
    {"10s", 10, 1, {{'s', '@', 10, 0, 10}}},
    {"c5p", 6, 2, {{'c', '@', 1, 0, 1}, {'p', '@', 5, 1, 5}}},
    {"c0i", 4, 1, {{'c', '@', 1, 0, 1}}},
    {"<i@d", 16, 2, {{'i', '<', 1, 0, 4}, {'d', '@', 1, 8, 8}}},
    {"Zd", 16, 1, {{'D', '@', 1, 0, 16}}},
    {"=Zf", 8, 1, {{'F', '=', 1, 0, 8}}},
    {"b 2x h", 6, 3, {{'b', '@', 1, 0, 1}, {'x', '@', 2, 1, 1}, {'h', '@', 1, 4, 2}}},
    {"<(2)T{bh}",
     6,
     4,
     {{'b', '<', 1, 0, 1}, {'h', '<', 1, 1, 2}, {'b', '<', 1, 3, 1}, {'h', '<', 1, 4, 2}}},
    {"cT{ci}", 12, 3, {{'c', '@', 1, 0, 1}, {'c', '@', 1, 4, 1}, {'i', '@', 1, 8, 4}}},
    {"T{i:first: (2)h :second:}", 8, 2, {{'i', '@', 1, 0, 4}, {'h', '@', 2, 4, 2}}},
    {"0s", 0, 1, {{'s', '@', 0, 0, 0}}},
    {"3c", 3, 1, {{'c', '@', 3, 0, 1}}},
    {"!3Q", 24, 1, {{'Q', '>', 3, 0, 8}}},
};

static void test_field_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof field_cases / sizeof field_cases[0]; i++) {
        const field_case *c = &field_cases[i];
        mv_format fmt;
        parse_ok(&fmt, c->text);
        if (fmt.itemsize != c->itemsize || fmt.nfields != c->n)
            fail_msg("'%s': itemsize %td nfields %d, want %td %d", c->text, fmt.itemsize,
                     fmt.nfields, c->itemsize, c->n);
        for (int k = 0; k < c->n; k++) {
            const mv_field *g = &fmt.fields[k], *w = &c->f[k];
            if (g->code != w->code || g->byteorder != w->byteorder || g->count != w->count ||
                g->offset != w->offset || g->size != w->size)
                fail_msg("'%s' field %d: %c %c %td %td %td, want %c %c %td %td %td", c->text, k,
                         g->code, g->byteorder, g->count, g->offset, g->size, w->code, w->byteorder,
                         w->count, w->offset, w->size);
        }
        mv_format_clear(&fmt);
    }
}

/* Deep nesting: 64 levels of T{ are accepted, 65 refused. */
static char *nested_records(int depth)
{
    char *s = malloc((size_t)depth * 3 + 2);
    assert_non_null(s);
    char *p = s;
    for (int i = 0; i < depth; i++) {
        *p++ = 'T';
        *p++ = '{';
    }
    *p++ = 'i';
    for (int i = 0; i < depth; i++)
        *p++ = '}';
    *p = '\0';
    return s;
}

static void test_nesting_and_field_limits(void **state)
{
    (void)state;
    mv_format fmt;
    mv_error err;
    char *ok = nested_records(64), *bad = nested_records(65);
    parse_ok(&fmt, ok);
    assert_int_equal(fmt.itemsize, 4);
    assert_int_equal(fmt.nfields, 1);
    mv_format_clear(&fmt);
    assert_int_equal(mv_format_parse(&fmt, bad, &err), MV_EVALUE);
    assert_non_null(strstr(err.message, "nested too deeply"));
    assert_null(fmt.fields);
    free(ok);
    free(bad);

    /* Many repetitions of a record: every repetition is a field. */
    parse_ok(&fmt, "100000T{<bh}");
    assert_int_equal(fmt.nfields, 200000);
    assert_int_equal(fmt.itemsize, 300000);
    assert_int_equal(fmt.fields[199999].offset, 299998);
    assert_int_equal(fmt.fields[199999].code, 'h');
    mv_format_clear(&fmt);

    /* Far too many: refused before the copies are made (quickly). */
    assert_int_equal(mv_format_parse(&fmt, "99999999999T{i}", &err), MV_EVALUE);
    assert_non_null(strstr(err.message, "too many fields"));
    assert_int_equal(mv_format_parse(&fmt, "1048577T{x}", &err), MV_EVALUE);
    assert_non_null(strstr(err.message, "too many fields"));
    mv_format_clear(&fmt);
}

/* ------------------------------------------------------------------------ */
/* malformed formats                                                         */
/* ------------------------------------------------------------------------ */

static const char *const bad_formats[] = {
    "<<",
    "@<",
    " <",
    "!:a:",
    "i<",
    "i @ ",
    "T{i<}",
    "T{",
    "T{i",
    "T{T{i}",
    "}",
    "i}",
    "T{i}}",
    "T",
    "Ti",
    "T {i}",
    "Z",
    "Zq",
    "Zi",
    "ZF",
    "<Z",
    "<P",
    "=n",
    ">N",
    "!P",
    "<cP",
    "g",
    "O",
    "u",
    "&",
    "{i}",
    "i,h",
    "3",
    "3 i",
    "i3",
    "3<i",
    "(2,3)",
    "(2,",
    "(2",
    "()i",
    "(,)i",
    "(2,)i",
    "(2,x)i",
    "(-1)i",
    "-1i",
    "+1i",
    "(2)3i",
    "i:name:",
    ":a:i",
    "T{:a:i}",
    "T{i:a}",
    "T{i:a:",
    "T{i:a::b:}",
    "99999999999999999999i",
    "9223372036854775808x",
    "9223372036854775807q",
    "9223372036854775807xx",
    "4611686018427387904T{ii}",
    "(4294967296,4294967296)i",
    "(3037000500,3037000500)x",
    "2305843009213693952d",
    "i\x01",
    "\x7f",
    "i\xff",
};

/* As struct.calcsize says: no codes, or one byte order character alone,
 * is a zero-size item of no values, like "0B". */
static void test_empty_formats(void **state)
{
    (void)state;
    const char *const empty[] = {"", "   ", "@", "<", ">", "=", "!", "< ", "0B", "T{}"};
    for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
        mv_format fmt;
        mv_error err;
        if (mv_format_parse(&fmt, empty[i], &err) != 0)
            fail_msg("'%s': %s", empty[i], err.message);
        assert_int_equal(fmt.itemsize, 0);
        assert_int_equal(fmt.nvalues, 0);
        assert_int_equal(fmt.nfields, 0);
        assert_int_equal(fmt.native, 0);
        mv_format_clear(&fmt);
        assert_int_equal(mv_size_from_format(empty[i], &err), 0);
    }
}

static void test_malformed(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_formats / sizeof bad_formats[0]; i++) {
        const char *text = bad_formats[i];
        mv_format fmt;
        mv_error err;
        char prefix[300];
        memset(&fmt, 0x5a, sizeof fmt); /* need not be initialised */
        mv_error_clear(&err);
        int rc = mv_format_parse(&fmt, text, &err);
        if (rc != MV_EVALUE)
            fail_msg("'%s' parsed: rc %d (itemsize %td)", text, rc, rc == 0 ? fmt.itemsize : 0);
        assert_int_equal(err.code, MV_EVALUE);
        snprintf(prefix, sizeof prefix, "invalid format string '%s': ", text);
        if (strncmp(err.message, prefix, strlen(prefix)) != 0 ||
            strlen(err.message) <= strlen(prefix))
            fail_msg("'%s': message '%s'", text, err.message);
        /* Left empty: clearing is safe (twice). */
        assert_null(fmt.fields);
        assert_int_equal(fmt.nfields, 0);
        assert_int_equal(fmt.itemsize, 0);
        assert_int_equal(fmt.native, 0);
        mv_format_clear(&fmt);
        mv_format_clear(&fmt);
    }
}

static void test_malformed_messages(void **state)
{
    (void)state;
    mv_format fmt;
    mv_error err;
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"i<", "invalid format string 'i<': byte order character without a code"},
        {"3 i", "invalid format string '3 i': repeat count given without format specifier"},
        {"ig", "invalid format string 'ig': bad char 'g'"},
        {"Zq", "invalid format string 'Zq': 'Z' must be followed by 'f' or 'd'"},
        {"T{i", "invalid format string 'T{i': unbalanced '{'"},
        {"i}", "invalid format string 'i}': unbalanced '}'"},
        {"i:a:", "invalid format string 'i:a:': field names are only allowed inside T{...}"},
        {"99999999999999999999i",
         "invalid format string '99999999999999999999i': repeat count too large"},
        {"9223372036854775807q",
         "invalid format string '9223372036854775807q': item size too large"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(mv_format_parse(&fmt, cases[i].text, &err), MV_EVALUE);
        assert_string_equal(err.message, cases[i].msg);
    }
    /* n N P are native-only. */
    assert_int_equal(mv_format_parse(&fmt, "<P", &err), MV_EVALUE);
    assert_string_equal(err.message, "invalid format string '<P': 'P' requires native mode ('@')");

    /* A control character is shown in hex, not raw. */
    assert_int_equal(mv_format_parse(&fmt, "i\x01", &err), MV_EVALUE);
    assert_non_null(strstr(err.message, "0x01"));

    /* NULL text and NULL fmt: errors, not crashes; err may be NULL. */
    assert_int_equal(mv_format_parse(&fmt, NULL, &err), MV_EVALUE);
    assert_null(fmt.fields);
    mv_format_clear(&fmt);
    assert_int_equal(mv_format_parse(NULL, "i", &err), MV_EVALUE);
    assert_int_equal(mv_format_parse(&fmt, "T{", NULL), MV_EVALUE);
    assert_int_equal(mv_format_parse(&fmt, "i", NULL), 0);
    mv_format_clear(&fmt);

    /* A very long text is cut in the message, which still names the cause. */
    char text[1001];
    memset(text, 'i', 999);
    text[999] = 'g';
    text[1000] = '\0';
    assert_int_equal(mv_format_parse(&fmt, text, &err), MV_EVALUE);
    assert_true(strlen(err.message) < MV_ERROR_MESSAGE_MAX);
    assert_true(strncmp(err.message, "invalid format string 'iiii", 27) == 0);
    assert_non_null(strstr(err.message, "...': bad char 'g'"));
}

/* ------------------------------------------------------------------------ */
/* allocation failure                                                        */
/* ------------------------------------------------------------------------ */

static void sweep_parse(const char *text)
{
    mv_format fmt;
    mv_error err;
    long n;
    for (n = 0;; n++) {
        mv_error_clear(&err);
        mv_test_fail_after(n);
        int rc = mv_format_parse(&fmt, text, &err);
        long failed = mv_test_failed_allocations();
        mv_test_fail_after(-1);
        if (rc == 0) {
            assert_int_equal(failed, 0);
            break;
        }
        if (rc != MV_ENOMEM)
            fail_msg("'%s' n=%ld: rc %d (%s)", text, n, rc, err.message);
        assert_int_equal(err.code, MV_ENOMEM);
        assert_true(failed > 0);
        assert_null(fmt.fields);
        mv_format_clear(&fmt);
        assert_true(n < 1000);
    }
    assert_true(fmt.nfields > 0);
    mv_format_clear(&fmt);
}

static void test_alloc_failure_sweep(void **state)
{
    (void)state;
    sweep_parse("i");
    sweep_parse("T{ii}3T{hT{ci}}");
    sweep_parse("bhiqBHIQefd??cxs5s5p 1000T{<i:a:>h:b:} Zf Zd");
    /* Many separate fields: the list grows several times. */
    char text[801];
    for (int i = 0; i < 400; i++) {
        text[2 * i] = 'h';
        text[2 * i + 1] = 'b';
    }
    text[800] = '\0';
    sweep_parse(text);

    /* A format without fields allocates nothing. */
    mv_format fmt;
    mv_test_fail_after(0);
    assert_int_equal(mv_format_parse(&fmt, "0i", NULL), 0);
    mv_test_fail_after(-1);
    mv_format_clear(&fmt);
}

/* ------------------------------------------------------------------------ */
/* integers: every code in every byte order, boundaries, exact bytes         */
/* ------------------------------------------------------------------------ */

static int native_int_size(char code)
{
    switch (code) {
    case 'b':
    case 'B':
        return (int)sizeof(char);
    case 'h':
    case 'H':
        return (int)sizeof(short);
    case 'i':
    case 'I':
        return (int)sizeof(int);
    case 'l':
    case 'L':
        return (int)sizeof(long);
    case 'q':
    case 'Q':
        return (int)sizeof(long long);
    case 'n':
        return (int)sizeof(ssize_t);
    case 'N':
        return (int)sizeof(size_t);
    case 'P':
        return (int)sizeof(void *);
    }
    return -1;
}

static int std_int_size(char code)
{
    switch (code) {
    case 'b':
    case 'B':
        return 1;
    case 'h':
    case 'H':
        return 2;
    case 'i':
    case 'I':
    case 'l':
    case 'L':
        return 4;
    case 'q':
    case 'Q':
        return 8;
    }
    return -1; /* n N P: native only */
}

static void check_int_value(const char *text, int size, bool little, bool is_signed, int64_t i,
                            uint64_t u)
{
    mv_format fmt;
    mv_error err;
    unsigned char item[16], want[16];
    mv_value in = is_signed ? v_int(i) : v_uint(u), out[2];

    parse_ok(&fmt, text);
    assert_int_equal(fmt.itemsize, size);
    memset(item, 0xee, sizeof item);
    if (mv_format_pack(&fmt, text, item, &in, 1, &err) != 0)
        fail_msg("pack '%s' %lld/%llu: %s", text, (long long)i, (unsigned long long)u, err.message);
    memset(want, 0xee, sizeof want);
    ref_store(want, is_signed ? (uint64_t)i : u, size, little);
    assert_bytes(item, want, sizeof item, text);
    assert_int_equal(mv_format_unpack(&fmt, item, out, 2, &err), 0);
    if (is_signed) {
        assert_int_equal(out[0].kind, MV_VALUE_SIGNED);
        if (out[0].v.i != i)
            fail_msg("'%s': %lld -> %lld", text, (long long)i, (long long)out[0].v.i);
    } else {
        assert_int_equal(out[0].kind, MV_VALUE_UNSIGNED);
        if (out[0].v.u != u)
            fail_msg("'%s': %llu -> %llu", text, (unsigned long long)u,
                     (unsigned long long)out[0].v.u);
    }
    mv_format_clear(&fmt);
}

static void test_integer_round_trips(void **state)
{
    (void)state;
    const char orders[] = "@=<>!";
    const char codes[] = "bBhHiIlLqQnNP";
    for (const char *o = orders; *o; o++) {
        for (const char *c = codes; *c; c++) {
            char text[3] = {*o, *c, '\0'};
            int size = *o == '@' ? native_int_size(*c) : std_int_size(*c);
            bool little = order_is_little(*o);
            mv_format fmt;
            mv_error err;
            if (size < 0) {
                assert_int_equal(mv_format_parse(&fmt, text, &err), MV_EVALUE);
                continue;
            }
            int bits = 8 * size;
            bool is_signed = strchr("bhilqn", *c) != NULL;
            if (is_signed) {
                int64_t max = bits == 64 ? INT64_MAX : ((int64_t)1 << (bits - 1)) - 1;
                int64_t min = -max - 1;
                int64_t vals[] = {0, 1, -1, 2, -2, max, min, max - 1, min + 1, 0x55 & max};
                for (size_t k = 0; k < sizeof vals / sizeof vals[0]; k++)
                    check_int_value(text, size, little, true, vals[k], 0);
                /* unsigned values in range are accepted too */
                check_int_value(text, size, little, true, max, 0);
                mv_value mv = v_uint((uint64_t)max);
                unsigned char item[8];
                assert_int_equal(pack1(text, &mv, item, NULL), 0);
                /* one past either end */
                expect_pack_error(text, v_uint((uint64_t)max + 1), MV_EVALUE);
                if (bits < 64)
                    expect_pack_error(text, v_int(min - 1), MV_EVALUE);
                expect_pack_error(text, v_uint(UINT64_MAX), MV_EVALUE);
            } else {
                uint64_t max = bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
                uint64_t vals[] = {0, 1, 2, max, max - 1, max >> 1, (max >> 1) + 1, 0xa5 & max};
                for (size_t k = 0; k < sizeof vals / sizeof vals[0]; k++)
                    check_int_value(text, size, little, false, 0, vals[k]);
                if (bits < 64) {
                    expect_pack_error(text, v_uint(max + 1), MV_EVALUE);
                    expect_pack_error(text, v_int((int64_t)max + 1), MV_EVALUE);
                }
                if (*c == 'P') {
                    /* PyLong_AsVoidPtr takes negatives as the signed type;
                     * they read back as the unsigned pointer bits. */
                    const int64_t negs[] = {-1, INT64_MIN, -2};
                    for (size_t k = 0; k < 3; k++) {
                        unsigned char pitem[8], pwant[8];
                        mv_value pv = v_int(negs[k]), pout;
                        assert_int_equal(pack1(text, &pv, pitem, NULL), 0);
                        ref_store(pwant, (uint64_t)negs[k], size, little);
                        assert_bytes(pitem, pwant, (size_t)size, "negative P");
                        parse_ok(&fmt, text);
                        assert_int_equal(mv_format_unpack(&fmt, pitem, &pout, 1, NULL), 0);
                        assert_int_equal(pout.kind, MV_VALUE_UNSIGNED);
                        assert_true(pout.v.u == (uint64_t)negs[k]);
                        mv_format_clear(&fmt);
                    }
                } else {
                    expect_pack_error(text, v_int(-1), MV_EVALUE);
                    expect_pack_error(text, v_int(INT64_MIN), MV_EVALUE);
                }
            }
            /* bools are 0 / 1 */
            unsigned char item[8], want[8] = {0};
            mv_value t = v_bool(true), out;
            memset(item, 0xcc, sizeof item);
            assert_int_equal(pack1(text, &t, item, NULL), 0);
            ref_store(want, 1, size, little);
            assert_bytes(item, want, (size_t)size, "bool into int");
            /* everything else is the wrong type */
            expect_pack_error(text, v_dbl(1.0), MV_ETYPE);
            expect_pack_error(text, v_dbl(0.0), MV_ETYPE);
            expect_pack_error(text, v_cplx(1.0, 0.0), MV_ETYPE);
            expect_pack_error(text, v_bytes("a", 1), MV_ETYPE);
            expect_pack_error(text, v_none(), MV_ETYPE);
            mv_value weird = {.kind = (mv_value_kind)99};
            expect_pack_error(text, weird, MV_ETYPE);
            /* all-ones bytes read back as -1 / max */
            parse_ok(&fmt, text);
            memset(item, 0xff, sizeof item);
            assert_int_equal(mv_format_unpack(&fmt, item, &out, 1, NULL), 0);
            if (is_signed)
                assert_int_equal(out.v.i, -1);
            else
                assert_true(out.v.u == (bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1));
            mv_format_clear(&fmt);
        }
    }
}

typedef struct byte_case {
    const char *text;
    mv_value v;
    int n;
    unsigned char bytes[16];
} byte_case;

static void test_integer_bytes(void **state)
{
    (void)state;
    const byte_case cases[] = {
        {">h", v_int(258), 2, {0x01, 0x02}},
        {"<h", v_int(258), 2, {0x02, 0x01}},
        {"!h", v_int(-2), 2, {0xff, 0xfe}},
        {"<I", v_uint(1), 4, {0x01, 0x00, 0x00, 0x00}},
        {">I", v_uint(1), 4, {0x00, 0x00, 0x00, 0x01}},
        {">i", v_int(0x01020304), 4, {0x01, 0x02, 0x03, 0x04}},
        {"<l", v_int(-2147483647 - 1), 4, {0x00, 0x00, 0x00, 0x80}},
        {"<q", v_int(-2), 8, {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
        {">Q", v_uint(UINT64_MAX), 8, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
        {">q", v_int(0x0102030405060708), 8, {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}},
        {"<Q", v_uint(0x0102030405060708), 8, {0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01}},
        {"<b", v_int(-128), 1, {0x80}},
        {">B", v_uint(255), 1, {0xff}},
        {"<H", v_bool(true), 2, {0x01, 0x00}},
        {"<?", v_int(5), 1, {0x01}},
        {">?", v_dbl(0.0), 1, {0x00}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char item[16];
        memset(item, 0, sizeof item);
        mv_error err;
        if (pack1(cases[i].text, &cases[i].v, item, &err) != 0)
            fail_msg("%s: %s", cases[i].text, err.message);
        assert_bytes(item, cases[i].bytes, (size_t)cases[i].n, cases[i].text);
    }

    /* and back from hand-written bytes */
    mv_format fmt;
    mv_value out[4];
    const unsigned char be[] = {0x80, 0x00, 0x7f, 0xff};
    parse_ok(&fmt, ">hh");
    assert_int_equal(mv_format_unpack(&fmt, be, out, 4, NULL), 0);
    assert_int_equal(out[0].kind, MV_VALUE_SIGNED);
    assert_int_equal(out[0].v.i, -32768);
    assert_int_equal(out[1].v.i, 32767);
    mv_format_clear(&fmt);
    parse_ok(&fmt, "<HH");
    assert_int_equal(mv_format_unpack(&fmt, be, out, 2, NULL), 0);
    assert_int_equal(out[0].kind, MV_VALUE_UNSIGNED);
    assert_int_equal(out[0].v.u, 0x0080);
    assert_int_equal(out[1].v.u, 0xff7f);
    mv_format_clear(&fmt);
    parse_ok(&fmt, "<bB");
    assert_int_equal(mv_format_unpack(&fmt, be, out, 2, NULL), 0);
    assert_int_equal(out[0].v.i, -128);
    assert_int_equal(out[1].v.u, 0);
    mv_format_clear(&fmt);
}

/* ------------------------------------------------------------------------ */
/* floats                                                                    */
/* ------------------------------------------------------------------------ */

/* Reference half decoder: sign * mantissa * 2**exp by repeated halving /
 * doubling, no ldexp. */
static double pow2(int e)
{
    double x = 1.0;
    for (; e > 0; e--)
        x *= 2.0;
    for (; e < 0; e++)
        x *= 0.5;
    return x;
}

static double ref_half(unsigned h)
{
    int sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    double mag;
    if (exp == 31)
        mag = mant ? NAN : INFINITY;
    else if (exp == 0)
        mag = mant * pow2(-24);
    else
        mag = (1024 + mant) * pow2(exp - 25);
    return sign ? -mag : mag;
}

static void test_half_exhaustive(void **state)
{
    (void)state;
    mv_format le, be;
    parse_ok(&le, "<e");
    parse_ok(&be, ">e");
    for (unsigned h = 0; h < 65536; h++) {
        unsigned char lb[2] = {(unsigned char)(h & 0xff), (unsigned char)(h >> 8)};
        unsigned char bb[2] = {(unsigned char)(h >> 8), (unsigned char)(h & 0xff)};
        mv_value a, b;
        assert_int_equal(mv_format_unpack(&le, lb, &a, 1, NULL), 0);
        assert_int_equal(mv_format_unpack(&be, bb, &b, 1, NULL), 0);
        assert_int_equal(a.kind, MV_VALUE_DOUBLE);
        double want = ref_half(h);
        bool is_nan = ((h >> 10) & 0x1f) == 31 && (h & 0x3ff);
        if (is_nan) {
            if (!isnan(a.v.d) || !isnan(b.v.d) || !signbit(a.v.d) != !(h & 0x8000))
                fail_msg("half %04x: not a nan of the right sign", h);
        } else if (memcmp(&a.v.d, &want, sizeof want) != 0 ||
                   memcmp(&b.v.d, &want, sizeof want) != 0) {
            fail_msg("half %04x: %a / %a, want %a", h, a.v.d, b.v.d, want);
        }
        /* and back: every half is exactly representable */
        unsigned char out[2] = {0, 0};
        assert_int_equal(mv_format_pack(&le, "<e", out, &a, 1, NULL), 0);
        unsigned got = out[0] | (unsigned)out[1] << 8;
        if (is_nan) {
            if ((got & 0x7c00) != 0x7c00 || !(got & 0x3ff) || (got & 0x8000) != (h & 0x8000))
                fail_msg("half %04x: nan packed as %04x", h, got);
        } else if (got != h) {
            fail_msg("half %04x: packed back as %04x", h, got);
        }
    }
    mv_format_clear(&le);
    mv_format_clear(&be);
}

static unsigned pack_half(double x, int *rc)
{
    unsigned char out[2] = {0, 0};
    mv_value v = v_dbl(x);
    *rc = pack1("<e", &v, out, NULL);
    return out[0] | (unsigned)out[1] << 8;
}

/* Rounding: between every two adjacent positive finite halves, the midpoint
 * goes to the even one, anything off the midpoint to the nearer one. */
static void test_half_rounding(void **state)
{
    (void)state;
    int rc;
    for (unsigned h = 0; h < 0x7bff; h++) {
        double a = ref_half(h), b = ref_half(h + 1), mid = (a + b) / 2;
        unsigned even = (h & 1) ? h + 1 : h;
        unsigned got = pack_half(mid, &rc);
        assert_int_equal(rc, 0);
        if (got != even)
            fail_msg("midpoint %a of %04x/%04x -> %04x", mid, h, h + 1, got);
        assert_int_equal(pack_half(nextafter(mid, 0.0), &rc), h);
        assert_int_equal(pack_half(nextafter(mid, INFINITY), &rc), h + 1);
        assert_int_equal(pack_half(-nextafter(mid, INFINITY), &rc), (h + 1) | 0x8000);
    }
    /* hand-picked values */
    static const struct {
        double x;
        unsigned bits;
    } cases[] = {
        {1.0, 0x3c00},           {-2.0, 0xc000},          {0.5, 0x3800},
        {65504.0, 0x7bff},       {-65504.0, 0xfbff},      {65519.99, 0x7bff},
        {0x1p-24, 0x0001},       {0x1p-14, 0x0400},       {0x1p-25, 0x0000},
        {0x1.8p-25, 0x0001},     {0x3p-25, 0x0002},       {0x1p-30, 0x0000},
        {-0x1p-30, 0x8000},      {0.0, 0x0000},           {-0.0, 0x8000},
        {1.0 + 0x1p-11, 0x3c00}, {1.0 + 0x3p-11, 0x3c02}, {0.333251953125, 0x3555},
        {INFINITY, 0x7c00},      {-INFINITY, 0xfc00},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned got = pack_half(cases[i].x, &rc);
        assert_int_equal(rc, 0);
        if (got != cases[i].bits)
            fail_msg("%a -> %04x, want %04x", cases[i].x, got, cases[i].bits);
    }
    unsigned n = pack_half(NAN, &rc);
    assert_int_equal(rc, 0);
    assert_true((n & 0x7c00) == 0x7c00 && (n & 0x3ff) != 0);
    /* overflow of finite values is a value error */
    expect_pack_error("<e", v_dbl(65520.0), MV_EVALUE);
    expect_pack_error("<e", v_dbl(-65520.0), MV_EVALUE);
    expect_pack_error("e", v_dbl(1e300), MV_EVALUE);
    expect_pack_error("e", v_dbl(DBL_MAX), MV_EVALUE);
    expect_pack_error("e", v_int(70000), MV_EVALUE);
    expect_pack_error("e", v_bytes("a", 1), MV_ETYPE);
    expect_pack_error("e", v_cplx(1, 0), MV_ETYPE);
    /* integers convert */
    unsigned char out[2];
    mv_value v = v_int(-3);
    assert_int_equal(pack1("<e", &v, out, NULL), 0);
    assert_int_equal(out[0] | out[1] << 8, 0xc200);
    v = v_uint(65504);
    assert_int_equal(pack1(">e", &v, out, NULL), 0);
    assert_int_equal(out[0], 0x7b);
    assert_int_equal(out[1], 0xff);
}

static void test_float_bytes(void **state)
{
    (void)state;
    const byte_case cases[] = {
        {"<e", v_dbl(1.0), 2, {0x00, 0x3c}},
        {">e", v_dbl(1.0), 2, {0x3c, 0x00}},
        {"<e", v_dbl(65504.0), 2, {0xff, 0x7b}},
        {"<f", v_dbl(1.0), 4, {0x00, 0x00, 0x80, 0x3f}},
        {">f", v_dbl(-2.0), 4, {0xc0, 0x00, 0x00, 0x00}},
        {"<f", v_int(1), 4, {0x00, 0x00, 0x80, 0x3f}},
        {">d", v_dbl(1.0), 8, {0x3f, 0xf0, 0, 0, 0, 0, 0, 0}},
        {"<d", v_dbl(-2.5), 8, {0, 0, 0, 0, 0, 0, 0x04, 0xc0}},
        {">d", v_uint(UINT64_MAX), 8, {0x43, 0xf0, 0, 0, 0, 0, 0, 0}},
        {">d", v_int(INT64_MIN), 8, {0xc3, 0xe0, 0, 0, 0, 0, 0, 0}},
        {">d", v_bool(true), 8, {0x3f, 0xf0, 0, 0, 0, 0, 0, 0}},
        {"<Zf", v_cplx(1.0, -2.0), 8, {0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0}},
        {">Zf", v_dbl(1.0), 8, {0x3f, 0x80, 0x00, 0x00, 0, 0, 0, 0}},
        {">Zd", v_cplx(1.0, -2.0), 16, {0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0}},
        {"<Zd", v_int(-1), 16, {0, 0, 0, 0, 0, 0, 0xf0, 0xbf, 0, 0, 0, 0, 0, 0, 0, 0}},
        /* 'f' beyond its range: inf, as CPython's memoryview */
        {">f", v_dbl(1e300), 4, {0x7f, 0x80, 0x00, 0x00}},
        {">f", v_dbl(-1e300), 4, {0xff, 0x80, 0x00, 0x00}},
        {">f", v_dbl(DBL_MAX), 4, {0x7f, 0x80, 0x00, 0x00}},
        {">f", v_dbl(0x1.ffffffp+127), 4, {0x7f, 0x80, 0x00, 0x00}},
        /* just above FLT_MAX but below the rounding midpoint: FLT_MAX */
        {">f", v_dbl(0x1.fffffefffffffp+127), 4, {0x7f, 0x7f, 0xff, 0xff}},
        {">f", v_dbl(-3.4028235e38), 4, {0xff, 0x7f, 0xff, 0xff}},
        {">Zf", v_cplx(1e300, -1e300), 8, {0x7f, 0x80, 0, 0, 0xff, 0x80, 0, 0}},
        {">f", v_dbl(INFINITY), 4, {0x7f, 0x80, 0x00, 0x00}},
        {">f", v_dbl(0x1p-149), 4, {0x00, 0x00, 0x00, 0x01}},
        {">f", v_dbl(0x1p-151), 4, {0x00, 0x00, 0x00, 0x00}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char item[16];
        memset(item, 0, sizeof item);
        mv_error err;
        if (pack1(cases[i].text, &cases[i].v, item, &err) != 0)
            fail_msg("%s #%zu: %s", cases[i].text, i, err.message);
        char what[64];
        snprintf(what, sizeof what, "%s #%zu", cases[i].text, i);
        assert_bytes(item, cases[i].bytes, (size_t)cases[i].n, what);
    }
    expect_pack_error("d", v_bytes("a", 1), MV_ETYPE);
    expect_pack_error("d", v_cplx(1, 0), MV_ETYPE);
    expect_pack_error("f", v_none(), MV_ETYPE);
    expect_pack_error("Zd", v_bytes("ab", 2), MV_ETYPE);
    expect_pack_error("Zf", v_none(), MV_ETYPE);
}

static void check_float_round_trip(const char *text, double x, int size, bool little, char code)
{
    mv_format fmt;
    unsigned char item[16], want[16];
    mv_value in = v_dbl(x), out;
    mv_error err;
    parse_ok(&fmt, text);
    assert_int_equal(fmt.itemsize, size);
    memset(item, 0x77, sizeof item);
    if (mv_format_pack(&fmt, text, item, &in, 1, &err) != 0)
        fail_msg("%s %a: %s", text, x, err.message);
    /* expected bytes from the host's own representation */
    memset(want, 0x77, sizeof want);
    if (code == 'd') {
        uint64_t b;
        memcpy(&b, &x, 8);
        ref_store(want, b, 8, little);
    } else if (code == 'f') {
        float f = (float)x; /* the values below are all in range */
        uint32_t b;
        memcpy(&b, &f, 4);
        ref_store(want, b, 4, little);
    }
    if (code != 'e')
        assert_bytes(item, want, sizeof item, text);
    assert_int_equal(mv_format_unpack(&fmt, item, &out, 1, NULL), 0);
    assert_int_equal(out.kind, MV_VALUE_DOUBLE);
    double expect = code == 'f' ? (double)(float)x : x;
    if (isnan(x)) {
        assert_true(isnan(out.v.d));
    } else if (memcmp(&out.v.d, &expect, sizeof expect) != 0) {
        fail_msg("%s: %a -> %a", text, x, out.v.d);
    }
    mv_format_clear(&fmt);
}

static void test_float_round_trips(void **state)
{
    (void)state;
    const char orders[] = "@=<>!";
    for (const char *o = orders; *o; o++) {
        bool little = order_is_little(*o);
        char text[4] = {*o, 0, 0, 0};
        const double dvals[] = {0.0,     -0.0,      1.0,      -1.5,      0.1, DBL_MAX, -DBL_MAX,
                                DBL_MIN, 0x1p-1074, INFINITY, -INFINITY, NAN, 1e300};
        const double fvals[] = {0.0,     -0.0,     1.0,      -1.5,      FLT_MAX, -FLT_MAX,
                                FLT_MIN, 0x1p-149, INFINITY, -INFINITY, NAN,     0.1};
        const double evals[] = {0.0,     -0.0,    1.0,      -1.5,      65504.0, -65504.0,
                                0x1p-24, 0x1p-14, INFINITY, -INFINITY, NAN,     0.333251953125};
        text[1] = 'd';
        for (size_t i = 0; i < sizeof dvals / sizeof dvals[0]; i++)
            check_float_round_trip(text, dvals[i], 8, little, 'd');
        text[1] = 'f';
        for (size_t i = 0; i < sizeof fvals / sizeof fvals[0]; i++)
            check_float_round_trip(text, fvals[i], 4, little, 'f');
        text[1] = 'e';
        for (size_t i = 0; i < sizeof evals / sizeof evals[0]; i++)
            check_float_round_trip(text, evals[i], 2, little, 'e');

        /* complex */
        for (int z = 0; z < 2; z++) {
            char ztext[5] = {*o, 'Z', z ? 'd' : 'f', 0, 0};
            const double parts[][2] = {{1.5, -2.25}, {0.0, -0.0}, {INFINITY, -1.0}, {-3, 1e-3}};
            mv_format fmt;
            parse_ok(&fmt, ztext);
            assert_int_equal(fmt.itemsize, z ? 16 : 8);
            assert_int_equal(fmt.fields[0].code, z ? 'D' : 'F');
            for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
                unsigned char item[16], want[16];
                mv_value in = v_cplx(parts[i][0], parts[i][1]), out;
                assert_int_equal(mv_format_pack(&fmt, ztext, item, &in, 1, NULL), 0);
                for (int k = 0; k < 2; k++) {
                    if (z) {
                        uint64_t b;
                        memcpy(&b, &parts[i][k], 8);
                        ref_store(want + 8 * k, b, 8, little);
                    } else {
                        float f = (float)parts[i][k];
                        uint32_t b;
                        memcpy(&b, &f, 4);
                        ref_store(want + 4 * k, b, 4, little);
                    }
                }
                assert_bytes(item, want, z ? 16u : 8u, ztext);
                assert_int_equal(mv_format_unpack(&fmt, item, &out, 1, NULL), 0);
                assert_int_equal(out.kind, MV_VALUE_COMPLEX);
                double re = z ? parts[i][0] : (double)(float)parts[i][0];
                double im = z ? parts[i][1] : (double)(float)parts[i][1];
                assert_memory_equal(&out.v.c.re, &re, sizeof re);
                assert_memory_equal(&out.v.c.im, &im, sizeof im);
            }
            mv_format_clear(&fmt);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* bool, char, strings, padding                                              */
/* ------------------------------------------------------------------------ */

static void test_bool(void **state)
{
    (void)state;
    mv_format fmt;
    mv_value out;
    parse_ok(&fmt, "?");
    for (unsigned b = 0; b < 256; b++) {
        unsigned char byte = (unsigned char)b;
        assert_int_equal(mv_format_unpack(&fmt, &byte, &out, 1, NULL), 0);
        assert_int_equal(out.kind, MV_VALUE_BOOL);
        assert_int_equal(out.v.b, b != 0); /* CPython 3.13: any non-zero byte */
    }
    static const unsigned char empty[1] = {0};
    const struct {
        mv_value v;
        unsigned char want;
    } truth[] = {
        {v_bool(true), 1},      {v_bool(false), 0},    {v_int(0), 0},         {v_int(-5), 1},
        {v_uint(0), 0},         {v_uint(1u << 31), 1}, {v_dbl(0.0), 0},       {v_dbl(-0.0), 0},
        {v_dbl(NAN), 1},        {v_dbl(0.5), 1},       {v_cplx(0, 0), 0},     {v_cplx(0, 1), 1},
        {v_bytes(empty, 0), 0}, {v_bytes("\0", 1), 1}, {v_bytes(NULL, 0), 0}, {v_none(), 0},
    };
    for (size_t i = 0; i < sizeof truth / sizeof truth[0]; i++) {
        for (const char *o = "@=<>!"; *o; o++) {
            char text[3] = {*o, '?', 0};
            unsigned char item = 0x42;
            mv_error err;
            if (pack1(text, &truth[i].v, &item, &err) != 0)
                fail_msg("'%s' #%zu: %s", text, i, err.message);
            if (item != truth[i].want)
                fail_msg("'%s' #%zu: %u", text, i, item);
        }
    }
    mv_value weird = {.kind = (mv_value_kind)42};
    expect_pack_error("?", weird, MV_ETYPE);
    mv_format_clear(&fmt);
}

static void test_char_and_strings(void **state)
{
    (void)state;
    mv_format fmt;
    mv_value vals[4];
    unsigned char item[400];
    mv_error err;

    /* 'c': count values, each bytes of length 1 */
    parse_ok(&fmt, "3c");
    assert_int_equal(fmt.nvalues, 3);
    vals[0] = v_bytes("x", 1);
    vals[1] = v_bytes("\0", 1);
    vals[2] = v_bytes("\xff", 1);
    assert_int_equal(mv_format_pack(&fmt, "3c", item, vals, 3, NULL), 0);
    assert_bytes(item, (const unsigned char *)"x\0\xff", 3, "3c");
    memset(vals, 0, sizeof vals);
    assert_int_equal(mv_format_unpack(&fmt, item, vals, 3, NULL), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(vals[i].kind, MV_VALUE_BYTES);
        assert_int_equal(vals[i].v.bytes.len, 1);
        assert_ptr_equal(vals[i].v.bytes.ptr, item + i);
    }
    mv_format_clear(&fmt);
    expect_pack_error("c", v_bytes("ab", 2), MV_EVALUE);
    expect_pack_error("c", v_bytes("", 0), MV_EVALUE);
    expect_pack_error("c", v_int(97), MV_ETYPE);
    expect_pack_error("c", v_uint(97), MV_ETYPE);
    expect_pack_error("c", v_bool(true), MV_ETYPE);
    expect_pack_error("c", v_dbl(1.0), MV_ETYPE);
    expect_pack_error("<c", v_none(), MV_ETYPE);

    /* 's': one bytes value, truncated or zero-padded */
    static const struct {
        const char *text;
        const char *in;
        size_t inlen;
        int n;
        const char *want;
    } s_cases[] = {
        {"4s", "ab", 2, 4, "ab\0\0"},
        {"2s", "abc", 3, 2, "ab"},
        {"3s", "abc", 3, 3, "abc"},
        {"s", "", 0, 1, "\0"},
        {"5p", "ab", 2, 5,
         "\x02"
         "ab\0\0"},
        {"3p", "abcdef", 6, 3,
         "\x02"
         "ab"},
        {"p", "abc", 3, 1, "\0"},
        {"2p", "", 0, 2, "\0\0"},
    };
    for (size_t i = 0; i < sizeof s_cases / sizeof s_cases[0]; i++) {
        mv_value v = v_bytes(s_cases[i].in, s_cases[i].inlen);
        memset(item, 0xab, 16);
        if (pack1(s_cases[i].text, &v, item, &err) != 0)
            fail_msg("%s: %s", s_cases[i].text, err.message);
        assert_bytes(item, (const unsigned char *)s_cases[i].want, (size_t)s_cases[i].n,
                     s_cases[i].text);
        assert_int_equal(item[s_cases[i].n], 0xab); /* nothing beyond the item */
    }
    expect_pack_error("3s", v_int(1), MV_ETYPE);
    expect_pack_error("3s", v_dbl(1), MV_ETYPE);
    expect_pack_error("3p", v_uint(1), MV_ETYPE);
    expect_pack_error("3s", v_bytes(NULL, 2), MV_EVALUE);

    /* unpack 's' */
    parse_ok(&fmt, "<h3s");
    memcpy(item, "\x01\x00xyz", 5);
    assert_int_equal(mv_format_unpack(&fmt, item, vals, 2, NULL), 0);
    assert_int_equal(vals[0].v.i, 1);
    assert_int_equal(vals[1].kind, MV_VALUE_BYTES);
    assert_int_equal(vals[1].v.bytes.len, 3);
    assert_ptr_equal(vals[1].v.bytes.ptr, item + 2);
    mv_format_clear(&fmt);

    /* unpack 'p': length byte capped at count - 1 */
    parse_ok(&fmt, "4p");
    memcpy(item,
           "\x02"
           "abc",
           4);
    assert_int_equal(mv_format_unpack(&fmt, item, vals, 1, NULL), 0);
    assert_int_equal(vals[0].v.bytes.len, 2);
    assert_ptr_equal(vals[0].v.bytes.ptr, item + 1);
    item[0] = 200;
    assert_int_equal(mv_format_unpack(&fmt, item, vals, 1, NULL), 0);
    assert_int_equal(vals[0].v.bytes.len, 3);
    mv_format_clear(&fmt);

    /* 300p: data is cut to 299 bytes, the length byte saturates at 255 */
    unsigned char big[400];
    memset(big, 'a', sizeof big);
    parse_ok(&fmt, "300p");
    mv_value v = v_bytes(big, 400);
    memset(item, 0, sizeof item);
    assert_int_equal(mv_format_pack(&fmt, "300p", item, &v, 1, NULL), 0);
    assert_int_equal(item[0], 255);
    for (int i = 1; i < 300; i++)
        assert_int_equal(item[i], 'a');
    assert_int_equal(item[300], 0);
    assert_int_equal(mv_format_unpack(&fmt, item, vals, 1, NULL), 0);
    assert_int_equal(vals[0].v.bytes.len, 255);
    mv_format_clear(&fmt);

    /* 0p / 0s: one empty value, no bytes */
    parse_ok(&fmt, "b0pb0s");
    assert_int_equal(fmt.itemsize, 2);
    assert_int_equal(fmt.nvalues, 4);
    vals[0] = v_int(1);
    vals[1] = v_bytes("zzz", 3);
    vals[2] = v_int(2);
    vals[3] = v_bytes("zzz", 3);
    memset(item, 0x11, 4);
    assert_int_equal(mv_format_pack(&fmt, "b0pb0s", item, vals, 4, NULL), 0);
    assert_bytes(item, (const unsigned char *)"\x01\x02\x11\x11", 4, "0p 0s");
    assert_int_equal(mv_format_unpack(&fmt, item, vals, 4, NULL), 0);
    assert_int_equal(vals[1].kind, MV_VALUE_BYTES);
    assert_int_equal(vals[1].v.bytes.len, 0);
    assert_int_equal(vals[3].v.bytes.len, 0);
    mv_format_clear(&fmt);
}

static void test_padding_untouched(void **state)
{
    (void)state;
    mv_format fmt;
    unsigned char item[16];
    mv_value vals[3] = {v_int(1), v_int(2)}, out[4];

    parse_ok(&fmt, "<bxh");
    assert_int_equal(fmt.nvalues, 2);
    memset(item, 0xaa, sizeof item);
    assert_int_equal(mv_format_pack(&fmt, "<bxh", item, vals, 2, NULL), 0);
    assert_bytes(item, (const unsigned char *)"\x01\xaa\x02\x00\xaa", 5, "<bxh");
    assert_int_equal(mv_format_unpack(&fmt, item, out, 4, NULL), 0);
    assert_int_equal(out[0].v.i, 1);
    assert_int_equal(out[1].v.i, 2);
    mv_format_clear(&fmt);

    /* alignment padding too */
    parse_ok(&fmt, "@ci");
    vals[0] = v_bytes("A", 1);
    vals[1] = v_int(-1);
    memset(item, 0xaa, sizeof item);
    assert_int_equal(mv_format_pack(&fmt, "@ci", item, vals, 2, NULL), 0);
    assert_bytes(item, (const unsigned char *)"A\xaa\xaa\xaa\xff\xff\xff\xff\xaa", 9, "@ci");
    mv_format_clear(&fmt);
}

/* ------------------------------------------------------------------------ */
/* records, multi-value items                                                */
/* ------------------------------------------------------------------------ */

static void test_records(void **state)
{
    (void)state;
    mv_format fmt;
    mv_value out[8];
    const unsigned char rec[] = {0xff, 0x00, 0x00, 0x01, 0x00};
    parse_ok(&fmt, "T{<b:a:>i:b:}");
    assert_int_equal(mv_format_unpack(&fmt, rec, out, 8, NULL), 0);
    assert_int_equal(out[0].kind, MV_VALUE_SIGNED);
    assert_int_equal(out[0].v.i, -1);
    assert_int_equal(out[1].v.i, 256);
    unsigned char back[5];
    assert_int_equal(mv_format_pack(&fmt, "T{<b:a:>i:b:}", back, out, 2, NULL), 0);
    assert_bytes(back, rec, 5, "record");
    mv_format_clear(&fmt);

    /* repeated record, mixed kinds, unaligned item */
    const char *text = ">2T{h?Zf}3s";
    parse_ok(&fmt, text);
    assert_int_equal(fmt.itemsize, 25);
    assert_int_equal(fmt.nvalues, 7);
    mv_value in[7] = {v_int(-2),     v_bool(true),  v_cplx(1, 0),     v_uint(7),
                      v_bool(false), v_cplx(0, -2), v_bytes("hey", 3)};
    unsigned char buf[40];
    memset(buf, 0, sizeof buf);
    assert_int_equal(mv_format_pack(&fmt, text, buf + 3, in, 7, NULL), 0);
    const unsigned char want[25] = {0xff, 0xfe, 0x01, 0x3f, 0x80, 0,   0,  0, 0,
                                    0,    0,    0x00, 0x07, 0x00, 0,   0,  0, 0,
                                    0xc0, 0,    0,    0,    'h',  'e', 'y'};
    assert_bytes(buf + 3, want, 25, text);
    assert_int_equal(mv_format_unpack(&fmt, buf + 3, out, 7, NULL), 0);
    assert_int_equal(out[0].v.i, -2);
    assert_true(out[1].v.b);
    assert_true(out[2].kind == MV_VALUE_COMPLEX && out[2].v.c.re == 1 && out[2].v.c.im == 0);
    assert_int_equal(out[3].kind, MV_VALUE_SIGNED);
    assert_int_equal(out[3].v.i, 7);
    assert_false(out[4].v.b);
    assert_true(out[5].v.c.re == 0 && out[5].v.c.im == -2);
    assert_int_equal(out[6].v.bytes.len, 3);
    mv_format_clear(&fmt);

    /* native alignment inside an unaligned buffer */
    static const char *const natives[] = {"d", "q", "Zd", "P", "e", "ci?d"};
    for (size_t i = 0; i < sizeof natives / sizeof natives[0]; i++) {
        parse_ok(&fmt, natives[i]);
        mv_value vin[4] = {v_int(1), v_int(2), v_int(3), v_int(4)};
        if (natives[i][0] == 'c')
            vin[0] = v_bytes("q", 1);
        unsigned char b[64];
        for (int off = 0; off < 8; off++) {
            assert_int_equal(mv_format_pack(&fmt, natives[i], b + off, vin, fmt.nvalues, NULL), 0);
            assert_int_equal(mv_format_unpack(&fmt, b + off, out, 8, NULL), 0);
            mv_value *last = &out[fmt.nvalues - 1];
            double got = last->kind == MV_VALUE_COMPLEX  ? last->v.c.re
                         : last->kind == MV_VALUE_DOUBLE ? last->v.d
                         : last->kind == MV_VALUE_SIGNED ? (double)last->v.i
                                                         : (double)last->v.u;
            assert_true(got == (double)fmt.nvalues);
        }
        mv_format_clear(&fmt);
    }
}

/* ------------------------------------------------------------------------ */
/* argument checks, nvalues, atomicity, overlap                              */
/* ------------------------------------------------------------------------ */

/* 'w': UCS-4 characters in either byte order, read as CHAR values and
 * written only from them (the bytes are checked by hand). */
static void test_pack_unpack_chars(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        unsigned char bytes[8];
    } cases[] = {
        {"<2w", {0xe9, 0, 0, 0, 0x00, 0xf6, 0x01, 0}},
        {">2w", {0, 0, 0, 0xe9, 0, 0x01, 0xf6, 0x00}},
    };
    for (size_t i = 0; i < 2; i++) {
        mv_format fmt;
        assert_int_equal(mv_format_parse(&fmt, cases[i].text, NULL), 0);
        assert_int_equal(fmt.itemsize, 8);
        assert_int_equal(fmt.nvalues, 2);
        mv_value v[2];
        assert_int_equal(mv_format_unpack(&fmt, cases[i].bytes, v, 2, NULL), 0);
        assert_int_equal(v[0].kind, MV_VALUE_CHAR);
        assert_int_equal(v[0].v.u, 0xe9);
        assert_int_equal(v[1].v.u, 0x1f600);
        unsigned char out[8] = {0};
        assert_int_equal(mv_format_pack(&fmt, cases[i].text, out, v, 2, NULL), 0);
        assert_memory_equal(out, cases[i].bytes, 8);
        /* A number is not a character; no code point above 0x10FFFF. */
        mv_value bad[2] = {v[0], {.kind = MV_VALUE_UNSIGNED, .v.u = 0x41}};
        mv_error err;
        mv_error_clear(&err);
        assert_int_equal(mv_format_pack(&fmt, cases[i].text, out, bad, 2, &err), MV_ETYPE);
        bad[1].kind = MV_VALUE_CHAR;
        bad[1].v.u = 0x110000;
        assert_int_equal(mv_format_pack(&fmt, cases[i].text, out, bad, 2, &err), MV_EVALUE);
        assert_memory_equal(out, cases[i].bytes, 8);
        mv_format_clear(&fmt);
    }
    mv_format native;
    assert_int_equal(mv_format_parse(&native, "w", NULL), 0);
    assert_int_equal(native.itemsize, 4);
    mv_format_clear(&native);
}

/* ctypes writes a sub-array's byte order after its shape ("(3)<H"); the
 * layouts are struct's for the same fields written the usual way. */
static void test_subarray_byte_order(void **state)
{
    (void)state;
    static const struct {
        const char *ctypes, *usual;
    } cases[] = {
        {"T{(3)<H:a:<d:b:}", "<3Hd"},
        {"(2,3)>h", ">6h"},
        {"T{<B:a:(2)>I:b:}", "<B>2I"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mv_format a, b;
        assert_int_equal(mv_format_parse(&a, cases[i].ctypes, NULL), 0);
        assert_int_equal(mv_format_parse(&b, cases[i].usual, NULL), 0);
        assert_int_equal(a.itemsize, b.itemsize);
        assert_int_equal(a.nvalues, b.nvalues);
        unsigned char item[32];
        for (size_t k = 0; k < sizeof item; k++)
            item[k] = (unsigned char)(k * 29 + 3);
        mv_value va[8], vb[8];
        assert_int_equal(mv_format_unpack(&a, item, va, 8, NULL), 0);
        assert_int_equal(mv_format_unpack(&b, item, vb, 8, NULL), 0);
        for (ptrdiff_t k = 0; k < a.nvalues; k++)
            assert_int_equal(mv_value_equal(&va[k], &vb[k]), 1);
        mv_format_clear(&a);
        mv_format_clear(&b);
    }
    /* Only after a shape: "3<H" stays an error, as in struct. */
    mv_format bad;
    assert_true(mv_format_parse(&bad, "3<H", NULL) < 0);
}

static void test_pack_unpack_arguments(void **state)
{
    (void)state;
    mv_format fmt;
    mv_error err;
    mv_value vals[3] = {v_int(1), v_int(2), v_int(3)}, out[3];
    unsigned char item[8];

    parse_ok(&fmt, "ii");
    /* nvalues mismatch: invalid value, nothing written */
    memset(item, 0x33, sizeof item);
    assert_int_equal(mv_format_pack(&fmt, "ii", item, vals, 1, &err), MV_EVALUE);
    assert_string_equal(err.message, "memoryview: invalid value for format 'ii'");
    assert_int_equal(mv_format_pack(&fmt, "ii", item, vals, 3, &err), MV_EVALUE);
    assert_int_equal(mv_format_pack(&fmt, "ii", item, vals, -1, &err), MV_EVALUE);
    assert_int_equal(mv_format_pack(&fmt, "ii", item, NULL, 2, &err), MV_EVALUE);
    assert_int_equal(mv_format_pack(&fmt, "ii", NULL, vals, 2, &err), MV_EVALUE);
    assert_int_equal(mv_format_pack(NULL, "ii", item, vals, 2, &err), MV_EVALUE);
    for (int i = 0; i < 8; i++)
        assert_int_equal(item[i], 0x33);
    /* NULL text: still an error, not a crash */
    assert_int_equal(mv_format_pack(&fmt, NULL, item, vals, 1, &err), MV_EVALUE);
    assert_int_equal(mv_format_pack(&fmt, "ii", item, vals, 2, NULL), 0);

    /* unpack: room too small */
    assert_int_equal(mv_format_unpack(&fmt, item, out, 1, &err), MV_EVALUE);
    assert_int_equal(err.code, MV_EVALUE);
    assert_int_equal(mv_format_unpack(&fmt, item, out, -5, &err), MV_EVALUE);
    assert_int_equal(mv_format_unpack(&fmt, NULL, out, 3, &err), MV_EVALUE);
    assert_int_equal(mv_format_unpack(&fmt, item, NULL, 3, &err), MV_EVALUE);
    assert_int_equal(mv_format_unpack(NULL, item, out, 3, &err), MV_EVALUE);
    assert_int_equal(mv_format_unpack(&fmt, item, out, 3, NULL), 0);
    assert_int_equal(out[0].v.i, 1);
    assert_int_equal(out[1].v.i, 2);
    mv_format_clear(&fmt);

    /* a cleared format has nothing to pack */
    assert_int_equal(mv_format_unpack(&fmt, NULL, NULL, 0, NULL), 0);
    assert_int_equal(mv_format_pack(&fmt, "", NULL, NULL, 0, NULL), 0);

    /* validation of every value before writing any */
    parse_ok(&fmt, "<bb3s");
    mv_value bad[3] = {v_int(5), v_int(300), v_bytes("abc", 3)};
    memset(item, 0x44, sizeof item);
    assert_int_equal(mv_format_pack(&fmt, "<bb3s", item, bad, 3, &err), MV_EVALUE);
    assert_string_equal(err.message, "memoryview: invalid value for format '<bb3s'");
    bad[1] = v_int(6);
    bad[2] = v_int(1);
    assert_int_equal(mv_format_pack(&fmt, "<bb3s", item, bad, 3, &err), MV_ETYPE);
    assert_string_equal(err.message, "memoryview: invalid type for format '<bb3s'");
    for (int i = 0; i < 8; i++)
        assert_int_equal(item[i], 0x44);
    mv_format_clear(&fmt);

    /* a long text in the message is cut, safely */
    char longtext[600];
    memset(longtext, 'b', 599);
    longtext[599] = '\0';
    parse_ok(&fmt, longtext);
    assert_int_equal(mv_format_pack(&fmt, longtext, item, vals, 1, &err), MV_EVALUE);
    assert_true(strlen(err.message) < MV_ERROR_MESSAGE_MAX);
    assert_true(strncmp(err.message, "memoryview: invalid value for format 'bbb", 41) == 0);
    mv_format_clear(&fmt);
}

/* Bytes values that point into the item being written are read before
 * they are overwritten. */
static void test_pack_overlap(void **state)
{
    (void)state;
    mv_format fmt;
    mv_value vals[2], swapped[2];
    unsigned char item[8];
    mv_error err;

    parse_ok(&fmt, "4s4s");
    memcpy(item, "abcdwxyz", 8);
    assert_int_equal(mv_format_unpack(&fmt, item, vals, 2, NULL), 0);
    swapped[0] = vals[1];
    swapped[1] = vals[0];
    assert_int_equal(mv_format_pack(&fmt, "4s4s", item, swapped, 2, NULL), 0);
    assert_bytes(item, (const unsigned char *)"wxyzabcd", 8, "swap");

    /* the copy aside may fail: MV_ENOMEM, item unchanged */
    memcpy(item, "abcdwxyz", 8);
    mv_test_fail_after(0);
    int rc = mv_format_pack(&fmt, "4s4s", item, swapped, 2, &err);
    mv_test_fail_after(-1);
    assert_int_equal(rc, MV_ENOMEM);
    assert_int_equal(err.code, MV_ENOMEM);
    assert_bytes(item, (const unsigned char *)"abcdwxyz", 8, "after ENOMEM");
    mv_format_clear(&fmt);

    /* 'c' fields reversed in place */
    parse_ok(&fmt, "2c");
    memcpy(item, "AB", 2);
    assert_int_equal(mv_format_unpack(&fmt, item, vals, 2, NULL), 0);
    swapped[0] = vals[1];
    swapped[1] = vals[0];
    assert_int_equal(mv_format_pack(&fmt, "2c", item, swapped, 2, NULL), 0);
    assert_bytes(item, (const unsigned char *)"BA", 2, "2c swap");
    mv_format_clear(&fmt);

    /* the same bytes written back: no change */
    parse_ok(&fmt, "x5s");
    memcpy(item, "#hello", 6);
    assert_int_equal(mv_format_unpack(&fmt, item, vals, 1, NULL), 0);
    assert_int_equal(mv_format_pack(&fmt, "x5s", item, vals, 1, NULL), 0);
    assert_bytes(item, (const unsigned char *)"#hello", 6, "same");
    mv_format_clear(&fmt);
}

/* mv_format_native (the parse-free check every new span makes) agrees with
 * the parser on every one- and '@'-prefixed two-character text: the same
 * native code (or none) and, for a native code, the same itemsize. */
static void test_native_matches_parser(void **state)
{
    (void)state;
    int natives = 0;
    for (int c = 1; c < 128; c++) {
        for (int at = 0; at < 2; at++) {
            char text[3] = {at ? '@' : (char)c, at ? (char)c : '\0', '\0'};
            ptrdiff_t size = -1;
            char code = mv_format_native(text, &size);
            mv_format fmt;
            int rc = mv_format_parse(&fmt, text, NULL);
            char parsed = rc == 0 ? fmt.native : 0;
            assert_int_equal(code, parsed);
            if (code) {
                assert_int_equal(size, fmt.itemsize);
                natives++;
            }
            if (rc == 0)
                mv_format_clear(&fmt);
        }
    }
    /* B b c ? h H i I l L q Q n N P e f d, with and without '@'. */
    assert_int_equal(natives, 36);
    ptrdiff_t size = 0;
    assert_int_equal(mv_format_native(NULL, &size), 'B');
    assert_int_equal(size, 1);
}

/* The native table: each code's size is its C type's, '@' changes
 * nothing, and every other text is not a native single code. */
static void test_native_size(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        ptrdiff_t size;
    } cases[] = {
        {"c", 1},
        {"b", 1},
        {"B", 1},
        {"?", sizeof(_Bool)},
        {"h", sizeof(short)},
        {"H", sizeof(unsigned short)},
        {"i", sizeof(int)},
        {"I", sizeof(unsigned int)},
        {"l", sizeof(long)},
        {"L", sizeof(unsigned long)},
        {"q", sizeof(long long)},
        {"Q", sizeof(unsigned long long)},
        {"n", sizeof(ptrdiff_t)},
        {"N", sizeof(size_t)},
        {"P", sizeof(void *)},
        {"e", 2},
        {"f", sizeof(float)},
        {"d", sizeof(double)},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char at[3] = {'@', cases[k].text[0], '\0'};
        assert_int_equal(mv_format_native_size(cases[k].text), cases[k].size);
        assert_int_equal(mv_format_native_size(at), cases[k].size);
    }
    assert_int_equal(mv_format_native_size(NULL), 1);
    static const char *const others[] = {"", "@", "x", "s", "p", "w", "Zd", "Zf", "<i", "=B",
                                         "!h", "2i", "ii", "T{i}", "@@i", "i ", " i", "\x80"};
    for (size_t k = 0; k < sizeof others / sizeof others[0]; k++)
        assert_int_equal(mv_format_native_size(others[k]), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_native_size),
        cmocka_unit_test(test_layout_table),
        cmocka_unit_test(test_pack_unpack_chars),
        cmocka_unit_test(test_subarray_byte_order),
        cmocka_unit_test(test_field_table),
        cmocka_unit_test(test_nesting_and_field_limits),
        cmocka_unit_test(test_empty_formats),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_malformed_messages),
        cmocka_unit_test(test_alloc_failure_sweep),
        cmocka_unit_test(test_integer_round_trips),
        cmocka_unit_test(test_integer_bytes),
        cmocka_unit_test(test_half_exhaustive),
        cmocka_unit_test(test_half_rounding),
        cmocka_unit_test(test_float_bytes),
        cmocka_unit_test(test_float_round_trips),
        cmocka_unit_test(test_bool),
        cmocka_unit_test(test_char_and_strings),
        cmocka_unit_test(test_padding_untouched),
        cmocka_unit_test(test_records),
        cmocka_unit_test(test_pack_unpack_arguments),
        cmocka_unit_test(test_pack_overlap),
        cmocka_unit_test(test_native_matches_parser),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
