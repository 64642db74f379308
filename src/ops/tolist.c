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

typedef struct walk {
    const mv_visitor *v;
    const mv_format *fmt;
    const mv_layout *l;
    mv_value *values;
    mv_error *err;
    /* No items: the lists are walked, but no address is followed (an
     * empty view's addresses are not kept: see mv_select). */
    bool empty;
} walk;

static int walk_item(walk *w, const char *p)
{
    int rc = mv_format_unpack(w->fmt, p, w->values, w->fmt->nvalues, w->err);
    if (rc < 0)
        return rc;
    return w->v->item ? w->v->item(w->v->ctx, w->values, w->fmt->nvalues) : 0;
}

static int walk_rec(walk *w, int dim, const char *p)
{
    const mv_layout *l = w->l;
    int rc;
    if (w->v->begin && (rc = w->v->begin(w->v->ctx, dim)) != 0)
        return rc;
    ptrdiff_t stride = l->strides[dim], sub = mv_layout_sub(l, dim);
    for (ptrdiff_t i = 0; i < l->shape[dim]; i++) {
        const char *q = w->empty ? p : mv_layout_item(p, i, stride, sub);
        rc = dim == l->ndim - 1 ? walk_item(w, q) : walk_rec(w, dim + 1, q);
        if (rc != 0)
            return rc;
    }
    return w->v->end ? w->v->end(w->v->ctx, dim) : 0;
}

int mv_view_traverse(const mv_view *view, const mv_visitor *visitor, mv_error *err)
{
    if (!visitor)
        return mv_error_set(err, MV_EVALUE, "mv_view_traverse: NULL visitor");
    mv_layout l;
    int rc = mv_layout_from_view(&l, view, err);
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
    walk w = {visitor, fmt, &l, values, err, mv_layout_has_zero(&l)};
    rc = l.ndim == 0 ? walk_item(&w, l.buf) : walk_rec(&w, 0, l.buf);
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
    if (mv_layout_from_view(&l, view, err) < 0)
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
