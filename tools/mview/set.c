/* mview --set VALUE: VALUE parsed into the values of one item, by the
 * codes of the final view's format, then written into every selected item
 * through a read-write mapping of FILE, which is synced before "N items
 * set" is printed.  In its own file because it is as big as an output
 * mode of its own (a value parser per kind, two ways to write). */
#include "mview.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void setter_clear(setter *s)
{
    for (ptrdiff_t i = 0; s->owned && i < s->n; i++)
        free(s->owned[i]);
    free(s->owned);
    free(s->values);
    free(s->codes);
    free(s->item);
    free(s->text);
}

/* ------------------------------------------------------------------------ *
 * VALUE -> the values of one item
 * ------------------------------------------------------------------------ */

static bool is_int_text(const char *t)
{
    if (*t == '+' || *t == '-')
        t++;
    if (t[0] == '0' && (t[1] == 'x' || t[1] == 'X'))
        return t[2] && strspn(t + 2, "0123456789abcdefABCDEF") == strlen(t + 2);
    return t[0] && strspn(t, "0123456789") == strlen(t);
}

static bool parse_double(const char *t, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(t, &end);
    return end != t && *end == '\0';
}

/* "a", "bj", "a+bj", "a-bj" (parentheses already gone). */
static bool parse_complex(const char *t, double *re, double *im)
{
    char *end;
    double x = strtod(t, &end);
    if (end == t)
        return false;
    if (*end == '\0') {
        *re = x;
        *im = 0;
        return true;
    }
    if ((*end == 'j' || *end == 'J') && end[1] == '\0') {
        *re = 0;
        *im = x;
        return true;
    }
    if (*end != '+' && *end != '-')
        return false;
    const char *s = end;
    double y = strtod(s, &end);
    if (end == s || !(*end == 'j' || *end == 'J') || end[1] != '\0')
        return false;
    *re = x;
    *im = y;
    return true;
}

/* The final view's format text, for messages. */
static const char *view_format(const app *a)
{
    return mv_view_buffer(a->view, NULL)->format;
}

/* A quoted string, unescaped as --find's BYTES: a bytes value. */
static int parse_string_token(app *a, setter *s, ptrdiff_t i, const char *tok)
{
    mv_value *v = &s->values[i];
    unsigned char *b = NULL;
    size_t n = 0;
    const char *why = "";
    if (strlen(tok) == 2)
        b = malloc(1);
    else if (!parse_needle(tok, &b, &n, &why))
        return report(EXIT_DATA, "--set '%s': invalid string %s: %s", a->opt.set_text, tok, why);
    if (!b)
        return report(EXIT_DATA, "out of memory");
    s->owned[i] = b;
    v->kind = MV_VALUE_BYTES;
    v->v.bytes.ptr = b;
    v->v.bytes.len = n;
    return 0;
}

/* A complex number for F or D, optionally in parentheses. */
static int parse_complex_token(app *a, mv_value *v, char *tok)
{
    char *t = tok;
    size_t n = strlen(t);
    if (n >= 2 && t[0] == '(' && t[n - 1] == ')') {
        t[n - 1] = '\0';
        t++;
    }
    double re, im;
    if (!parse_complex(t, &re, &im))
        return report(EXIT_DATA, "--set '%s': '%s' is not a complex number", a->opt.set_text, tok);
    v->kind = MV_VALUE_COMPLEX;
    v->v.c.re = re;
    v->v.c.im = im;
    return 0;
}

/* An integer (is_int_text): signed when negative, else unsigned, as the
 * codec takes them; the codec checks the format's range. */
static int parse_int_token(app *a, mv_value *v, const char *tok)
{
    const char *t = tok;
    bool neg = *t == '-';
    if (*t == '+' || *t == '-')
        t++;
    int base = 10;
    if (t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
        base = 16;
        t += 2;
    }
    errno = 0;
    char *end;
    uintmax_t u = strtoumax(t, &end, base);
    if (errno == ERANGE || u > UINT64_MAX || (neg && u > (uintmax_t)INT64_MAX + 1))
        return report(EXIT_DATA, "--set '%s': %s does not fit format '%s'", a->opt.set_text, tok,
                      view_format(a));
    if (neg) {
        v->kind = MV_VALUE_SIGNED;
        v->v.i = u == (uintmax_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
    } else {
        v->kind = MV_VALUE_UNSIGNED;
        v->v.u = (uint64_t)u;
    }
    return 0;
}

/* One value token, typed by its text and the code of its field.  Returns
 * 0, or an error already reported. */
static int parse_token(app *a, setter *s, ptrdiff_t i, char *tok)
{
    mv_value *v = &s->values[i];
    char code = s->codes[i];
    size_t len = strlen(tok);
    if (len >= 2 && (tok[0] == '"' || tok[0] == '\'') && tok[len - 1] == tok[0])
        return parse_string_token(a, s, i, tok);
    if (code == 'c' || code == 's' || code == 'p') {
        v->kind = MV_VALUE_BYTES;
        v->v.bytes.ptr = (const unsigned char *)tok;
        v->v.bytes.len = len;
        return 0;
    }
    if (strcmp(tok, "True") == 0 || strcmp(tok, "true") == 0 || strcmp(tok, "False") == 0 ||
        strcmp(tok, "false") == 0) {
        v->kind = MV_VALUE_BOOL;
        v->v.b = tok[0] == 'T' || tok[0] == 't';
        return 0;
    }
    if (code == 'F' || code == 'D')
        return parse_complex_token(a, v, tok);
    if (is_int_text(tok))
        return parse_int_token(a, v, tok);
    double d;
    if (parse_double(tok, &d)) {
        v->kind = MV_VALUE_DOUBLE;
        v->v.d = d;
        return 0;
    }
    return report(EXIT_DATA, "--set '%s': '%s' is not a value for format '%s'", a->opt.set_text,
                  tok, view_format(a));
}

static char *trim(char *t)
{
    while (is_space(*t))
        t++;
    size_t n = strlen(t);
    while (n > 0 && is_space(t[n - 1]))
        t[--n] = '\0';
    return t;
}

/* s->n values, with the struct code of each: a count of s, p is one
 * value, padding (x) none. */
static int setter_init(setter *s, const mv_format *fmt)
{
    s->n = fmt->nvalues;
    size_t n = (size_t)(s->n > 0 ? s->n : 1);
    s->codes = calloc(n, 1);
    s->values = calloc(n, sizeof *s->values);
    s->owned = calloc(n, sizeof *s->owned);
    if (!s->codes || !s->values || !s->owned)
        return report(EXIT_DATA, "out of memory");
    ptrdiff_t k = 0;
    for (int i = 0; i < fmt->nfields; i++) {
        const mv_field *f = &fmt->fields[i];
        if (f->code == 'x')
            continue;
        ptrdiff_t count = f->code == 's' || f->code == 'p' ? 1 : f->count;
        for (ptrdiff_t j = 0; j < count && k < s->n; j++)
            s->codes[k++] = f->code;
    }
    return 0;
}

/* Split t at commas outside quotes (one trailing comma allowed) and parse
 * each token; *got counts them, also past s->n. */
static int split_values(app *a, setter *s, char *t, ptrdiff_t *got)
{
    char *start = t, quote = 0;
    for (char *p = t;; p++) {
        if (quote) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == quote)
                quote = 0;
            if (*p)
                continue;
        }
        if (*p == '"' || *p == '\'') {
            quote = *p;
            continue;
        }
        if (*p != ',' && *p != '\0')
            continue;
        bool end = *p == '\0';
        *p = '\0';
        char *tok = trim(start);
        bool empty = tok[0] == '\0';
        if (!(end && empty && *got > 0)) {
            if (*got < s->n) {
                if (empty)
                    return report(EXIT_DATA, "--set '%s': empty value", a->opt.set_text);
                int rc = parse_token(a, s, *got, tok);
                if (rc != 0)
                    return rc;
            }
            (*got)++;
        }
        if (end)
            return 0;
        start = p + 1;
    }
}

/* Split VALUE into the values of one item (commas outside quotes,
 * optionally in parentheses), typed by the format's codes. */
static int parse_set_value(app *a, const mv_format *fmt, char *text, setter *s)
{
    int rc = setter_init(s, fmt);
    if (rc != 0)
        return rc;
    char *t = trim(text);
    size_t tl = strlen(t);
    bool complex1 = s->n == 1 && (s->codes[0] == 'F' || s->codes[0] == 'D');
    if (tl >= 2 && ((t[0] == '(' && t[tl - 1] == ')') || (t[0] == '[' && t[tl - 1] == ']')) &&
        !complex1) {
        t[tl - 1] = '\0';
        t = trim(t + 1);
    }
    ptrdiff_t got = 0;
    if ((rc = split_values(a, s, t, &got)) != 0)
        return rc;
    if (got != s->n)
        return report(EXIT_DATA, "--set '%s': format '%s' takes %td value%s per item, not %td",
                      a->opt.set_text, view_format(a), s->n, s->n == 1 ? "" : "s", got);
    return 0;
}

int set_prepare(app *a, const mv_buffer *b, setter *s)
{
    mv_error err;
    mv_error_clear(&err);
    if (b->readonly)
        return report(EXIT_DATA, "%s: the view is read-only", a->name);
    const mv_format *fmt = mv_view_format(a->view, &err);
    if (!fmt)
        return report(EXIT_DATA, "%s", err.message);
    size_t n = strlen(a->opt.set_text);
    if (!(s->text = malloc(n + 1)))
        return report(EXIT_DATA, "out of memory");
    memcpy(s->text, a->opt.set_text, n + 1);
    return parse_set_value(a, fmt, s->text, s);
}

/* ------------------------------------------------------------------------ *
 * Writing the item
 * ------------------------------------------------------------------------ */

/* Whether every byte of an item belongs to a value (no 'x', no alignment
 * padding): then one packed item can be broadcast over the selection. */
static bool format_has_padding(const mv_format *fmt)
{
    ptrdiff_t covered = 0;
    for (int i = 0; i < fmt->nfields; i++) {
        const mv_field *f = &fmt->fields[i];
        if (f->code == 'x')
            continue;
        covered += f->code == 's' || f->code == 'p' ? f->size : f->count * f->size;
    }
    return covered != fmt->itemsize;
}

/* The number of items in b; zero-size items ('0B') may come in more than
 * PTRDIFF_MAX. */
static int count_items(const mv_buffer *b, ptrdiff_t *count, mv_error *err)
{
    bool empty = false;
    for (int i = 0; i < b->ndim; i++)
        empty |= b->shape[i] == 0;
    *count = empty ? 0 : 1;
    for (int i = 0; i < b->ndim && !empty; i++)
        if (__builtin_mul_overflow(*count, b->shape[i], count))
            return mv_error_set(err, MV_EOVERFLOW, "the selection has more than %td items",
                                PTRDIFF_MAX);
    return 0;
}

/* One packed item over the whole view, as a source of zero strides. */
static int set_broadcast(app *a, const mv_buffer *b, unsigned char *item, mv_error *err)
{
    ptrdiff_t zeros[MV_MAX_NDIM] = {0}, shape[MV_MAX_NDIM];
    if (b->ndim > 0)
        memcpy(shape, b->shape, sizeof(ptrdiff_t) * (size_t)b->ndim);
    mv_buffer src = {
        .buf = item,
        .len = b->len,
        .itemsize = b->itemsize,
        .readonly = 1,
        .ndim = b->ndim,
        .format = b->format,
        .shape = b->ndim ? shape : NULL,
        .strides = b->ndim ? zeros : NULL,
    };
    return mv_view_assign(a->view, NULL, 0, &src, err);
}

/* Item by item, so padding bytes stay as they were. */
static int set_each(app *a, const mv_buffer *b, const setter *s, ptrdiff_t count, mv_error *err)
{
    int rc = 0;
    ptrdiff_t idx[MV_MAX_NDIM] = {0};
    for (ptrdiff_t k = 0; k < count && rc == 0; k++) {
        rc = mv_view_set_item(a->view, idx, b->ndim, s->values, s->n, err);
        for (int d = b->ndim - 1; d >= 0; d--) {
            if (++idx[d] < b->shape[d])
                break;
            idx[d] = 0;
        }
    }
    return rc;
}

int set_apply(app *a, const mv_buffer *b, setter *s, mv_error *err)
{
    const mv_format *fmt = mv_view_format(a->view, err);
    if (!fmt)
        return err->code;
    ptrdiff_t count;
    int rc = count_items(b, &count, err);
    if (rc != 0)
        return rc;
    /* In s, so that it is freed after a SIGBUS too. */
    unsigned char *item = s->item = calloc((size_t)b->itemsize, 1);
    if (!item)
        return mv_error_set(err, MV_ENOMEM, "out of memory");
    rc = mv_format_pack(fmt, b->format, item, s->values, s->n, err);
    if (rc == 0 && count > 0)
        rc = format_has_padding(fmt) ? set_each(a, b, s, count, err)
                                     : set_broadcast(a, b, item, err);
    if (rc < 0)
        return rc;
    if ((rc = mv_mmap_sync(a->source, 0, err)) < 0)
        return rc;
    if (out_printf(a->o, "%td item%s set\n", count, count == 1 ? "" : "s") < 0)
        return STOP_OUTPUT;
    return 0;
}
