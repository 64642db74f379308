/* tolist: the C-order traversal of a view's values (mv_view_traverse) and
 * tolist as Python-literal text (mv_view_tolist_text). */
#include "ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ *
 * Traversal
 * ------------------------------------------------------------------------ */

static const char hex_digits[] = "0123456789abcdef";

enum { SMALL_VALUES = 16 };

/* The traversal: the row walk (mv_walk_rows) for the items, and an
 * odometer over the view's own shape for the lists around them (the walk
 * merges dimensions; the lists follow the shape). */
typedef struct traverse {
    const mv_visitor *v;
    const mv_format *fmt;
    const mv_layout *l;
    mv_value *values;
    mv_error *err;
    ptrdiff_t idx[MV_MAX_NDIM]; /* the next item's index */
} traverse;

/* The lists that begin before the item at t->idx: at every depth from the
 * outermost one whose index and all inner ones are 0. */
static int traverse_begin(const traverse *t)
{
    const mv_visitor *v = t->v;
    int first = t->l->ndim;
    while (first > 0 && t->idx[first - 1] == 0)
        first--;
    for (int d = first; v->begin && d < t->l->ndim; d++) {
        int rc = v->begin(v->ctx, d);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Advance t->idx past its last dimension's end: every dimension that
 * wraps ends its list, innermost first. */
static int traverse_end(traverse *t)
{
    const mv_visitor *v = t->v;
    for (int d = t->l->ndim - 1; d >= 0; d--) {
        if (d < t->l->ndim - 1 && ++t->idx[d] < t->l->shape[d])
            break;
        t->idx[d] = 0;
        int rc = v->end ? v->end(v->ctx, d) : 0;
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* One item at p, with the lists that begin before it and end after it
 * (most items are inside a row: one test each way). */
static inline __attribute__((always_inline)) int traverse_item(traverse *t, const char *p)
{
    const mv_visitor *v = t->v;
    int last = t->l->ndim - 1, rc;
    if (last >= 0 && t->idx[last] == 0 && (rc = traverse_begin(t)) != 0)
        return rc;
    if ((rc = mv_format_unpack(t->fmt, p, t->values, t->fmt->nvalues, t->err)) < 0)
        return rc;
    if (v->item && (rc = v->item(v->ctx, t->values, t->fmt->nvalues)) != 0)
        return rc;
    if (last >= 0 && ++t->idx[last] == t->l->shape[last])
        return traverse_end(t);
    return 0;
}

static int traverse_row(void *ctx, const char *p, ptrdiff_t stride, ptrdiff_t sub, const char *pb,
                        ptrdiff_t sb, ptrdiff_t subb, ptrdiff_t n)
{
    (void)pb;
    (void)sb;
    (void)subb;
    for (ptrdiff_t i = 0; i < n; i++) {
        int rc = traverse_item(ctx, mv_layout_item(p, i, stride, sub));
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The lists of a view without items (an extent is 0), from depth dim on:
 * no address is followed (an empty view's addresses are not kept: see
 * mv_select). */
static int traverse_empty(const traverse *t, int dim)
{
    const mv_visitor *v = t->v;
    int rc;
    if (v->begin && (rc = v->begin(v->ctx, dim)) != 0)
        return rc;
    for (ptrdiff_t i = 0; dim + 1 < t->l->ndim && i < t->l->shape[dim]; i++)
        if ((rc = traverse_empty(t, dim + 1)) != 0)
            return rc;
    return v->end ? v->end(v->ctx, dim) : 0;
}

int mv_view_traverse(const mv_view *view, const mv_visitor *visitor, mv_error *err)
{
    if (!visitor)
        return mv_error_set(err, MV_EVALUE, "mv_view_traverse: NULL visitor");
    mv_layout l;
    int rc = mv_view_layout(&l, view, err);
    if (rc < 0)
        return rc;
    mv_error local;
    mv_error_clear(&local);
    const mv_format *fmt = mv_view_format(view, &local);
    if (!fmt)
        return mv_error_pass(err, &local);
    if (fmt->itemsize != l.itemsize)
        return mv_error_format_size(err, l.format, fmt->itemsize, l.itemsize);

    mv_value small[SMALL_VALUES];
    mv_value *values = small;
    if (fmt->nvalues > SMALL_VALUES) {
        if ((size_t)fmt->nvalues > SIZE_MAX / sizeof(mv_value))
            return mv_error_set(err, MV_ENOMEM, "out of memory");
        values = malloc((size_t)fmt->nvalues * sizeof(mv_value));
        if (!values)
            return mv_error_set(err, MV_ENOMEM, "out of memory");
    }
    traverse t = {visitor, fmt, &l, values, err, {0}};
    if (mv_layout_has_zero(&l))
        rc = traverse_empty(&t, 0);
    else
        rc = mv_walk_rows(&l, NULL, traverse_row, &t);
    if (values != small)
        free(values);
    return rc;
}

/* ------------------------------------------------------------------------ *
 * tolist as text
 * ------------------------------------------------------------------------ */

typedef struct text_out {
    char *p;
    size_t len, cap;
    bool need_comma;
    bool tuple; /* items print as tuples (records, several values) */
    mv_error *err;
} text_out;

static int text_reserve(text_out *t, size_t extra)
{
    if (t->cap - t->len > extra)
        return 0;
    if (extra > SIZE_MAX / 2 - t->len)
        return mv_error_set(t->err, MV_ENOMEM, "out of memory");
    size_t cap = t->cap ? t->cap : 64;
    while (cap - t->len <= extra)
        cap *= 2;
    char *p = realloc(t->p, cap);
    if (!p)
        return mv_error_set(t->err, MV_ENOMEM, "out of memory");
    t->p = p;
    t->cap = cap;
    return 0;
}

static int text_put(text_out *t, const char *s, size_t n)
{
    int rc = text_reserve(t, n);
    if (rc < 0)
        return rc;
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
    return 0;
}

static int text_puts(text_out *t, const char *s)
{
    return text_put(t, s, strlen(s));
}

/* Python's repr of bytes: single quotes unless the bytes hold a ' and no ". */
static int text_bytes(text_out *t, const unsigned char *b, size_t n)
{
    bool squote = n > 0 && memchr(b, '\'', n) != NULL;
    bool dquote = n > 0 && memchr(b, '"', n) != NULL;
    char quote = squote && !dquote ? '"' : '\'';
    if (n > (SIZE_MAX - 3) / 4)
        return mv_error_set(t->err, MV_ENOMEM, "out of memory");
    int rc = text_reserve(t, 4 * n + 3);
    if (rc < 0)
        return rc;
    char *o = t->p + t->len;
    *o++ = 'b';
    *o++ = quote;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = b[i];
        if (c == (unsigned char)quote || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c == '\t') {
            *o++ = '\\';
            *o++ = 't';
        } else if (c == '\n') {
            *o++ = '\\';
            *o++ = 'n';
        } else if (c == '\r') {
            *o++ = '\\';
            *o++ = 'r';
        } else if (c < ' ' || c >= 0x7f) {
            *o++ = '\\';
            *o++ = 'x';
            *o++ = hex_digits[c >> 4];
            *o++ = hex_digits[c & 15];
        } else {
            *o++ = (char)c;
        }
    }
    *o++ = quote;
    *o = '\0';
    t->len = (size_t)(o - t->p);
    return 0;
}

/* Python's complex repr: "2j" when the real part is +0.0, else "(re+imj)",
 * with the parts as float repr without an added ".0". */
static int text_complex(text_out *t, double re, double im)
{
    char a[40], b[40];
    if (re == 0 && !signbit(re)) {
        mv_repr_double(im, 0, b);
        int rc = text_puts(t, b);
        return rc < 0 ? rc : text_put(t, "j", 1);
    }
    mv_repr_double(re, 0, a);
    mv_repr_double(im, MV_REPR_SIGN, b);
    int rc = text_put(t, "(", 1);
    if (rc == 0)
        rc = text_puts(t, a);
    if (rc == 0)
        rc = text_puts(t, b);
    if (rc == 0)
        rc = text_put(t, "j)", 2);
    return rc;
}

static int text_value(text_out *t, const mv_value *v)
{
    char num[48];
    switch (v->kind) {
    case MV_VALUE_BOOL:
        return text_puts(t, v->v.b ? "True" : "False");
    case MV_VALUE_SIGNED:
        snprintf(num, sizeof num, "%lld", (long long)v->v.i);
        return text_puts(t, num);
    case MV_VALUE_UNSIGNED:
        snprintf(num, sizeof num, "%llu", (unsigned long long)v->v.u);
        return text_puts(t, num);
    case MV_VALUE_DOUBLE:
        mv_repr_double(v->v.d, MV_REPR_ADD_DOT_0, num);
        return text_puts(t, num);
    case MV_VALUE_COMPLEX:
        return text_complex(t, v->v.c.re, v->v.c.im);
    case MV_VALUE_BYTES:
        return text_bytes(t, v->v.bytes.ptr, v->v.bytes.len);
    case MV_VALUE_CHAR:
        mv_repr_char((uint32_t)v->v.u, num);
        return text_puts(t, num);
    default:
        return text_puts(t, "None");
    }
}

static int text_comma(text_out *t)
{
    if (!t->need_comma)
        return 0;
    t->need_comma = false;
    return text_put(t, ", ", 2);
}

static int text_begin(void *ctx, int depth)
{
    text_out *t = ctx;
    (void)depth;
    int rc = text_comma(t);
    return rc < 0 ? rc : text_put(t, "[", 1);
}

static int text_end(void *ctx, int depth)
{
    text_out *t = ctx;
    (void)depth;
    t->need_comma = true;
    return text_put(t, "]", 1);
}

static int text_item(void *ctx, const mv_value *values, ptrdiff_t nvalues)
{
    text_out *t = ctx;
    int rc = text_comma(t);
    if (rc < 0)
        return rc;
    if (!t->tuple) {
        rc = text_value(t, &values[0]);
    } else {
        rc = text_put(t, "(", 1);
        for (ptrdiff_t i = 0; rc == 0 && i < nvalues; i++) {
            if (i > 0)
                rc = text_put(t, ", ", 2);
            if (rc == 0)
                rc = text_value(t, &values[i]);
        }
        if (rc == 0 && nvalues == 1)
            rc = text_put(t, ",", 1);
        if (rc == 0)
            rc = text_put(t, ")", 1);
    }
    t->need_comma = true;
    return rc;
}

char *mv_view_tolist_text(const mv_view *view, size_t *len, mv_error *err)
{
    mv_layout l;
    if (mv_view_layout(&l, view, err) < 0)
        return NULL;
    mv_error local;
    mv_error_clear(&local);
    const mv_format *fmt = mv_view_format(view, &local);
    if (!fmt) {
        mv_error_pass(err, &local);
        return NULL;
    }
    text_out t = {NULL, 0, 0, false, false, err};
    /* A record prints as a tuple even with one value, like struct.unpack. */
    t.tuple = fmt->nvalues != 1 || strchr(l.format, '{');
    if (text_reserve(&t, 1) < 0)
        return NULL;
    t.p[0] = '\0';
    mv_visitor v = {text_begin, text_item, text_end, &t};
    if (mv_view_traverse(view, &v, err) < 0) {
        free(t.p);
        return NULL;
    }
    if (len)
        *len = t.len;
    return t.p;
}
