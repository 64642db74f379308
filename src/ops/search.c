/* Search in views, two kinds:
 * - bytes-like search on 1-D byte views: find / count / startswith /
 *   endswith with the semantics of bytes (stringlib), including the empty
 *   needle.  Contiguous views are searched in place with memmem; strided
 *   and indirect views search their logical byte sequence through a
 *   gathered copy of the searched range.
 * - count / index of a value in a 1-D view of any format (CPython 3.14's
 *   memoryview.count / index): each item read with the codec's item reader
 *   and compared with mv_value_equal. */
#include "ops.h"

#include <stdlib.h>
#include <string.h>

#define MSG_BYTE_VIEW                                                                              \
    "memoryview: byte search needs a 1-D view of format 'B', 'b' or 'c', not a %d-D view of "      \
    "format '%s'"

/* The logical byte sequence of a 1-D byte view. */
typedef struct bytes_seq {
    const unsigned char *buf;
    ptrdiff_t len;
    ptrdiff_t stride;
    ptrdiff_t sub; /* < 0: no indirection */
    mv_layout l;   /* the view's, for gathering a range */
} bytes_seq;

static int seq_init(bytes_seq *s, const mv_view *view, const void *needle, size_t n, mv_error *err)
{
    if (!view)
        return mv_error_set(err, MV_EVALUE, "memoryview search: NULL view");
    mv_layout *l = &s->l;
    int rc = mv_view_layout(l, view, err);
    if (rc < 0)
        return rc;
    if (l->ndim != 1 || !mv_format_is_byte(l->format) || l->itemsize != 1)
        return mv_error_set(err, MV_ETYPE, MSG_BYTE_VIEW, l->ndim, l->format);
    if (!needle && n > 0)
        return mv_error_set(err, MV_EVALUE, "memoryview search: NULL needle of length %zu", n);
    if (n > (size_t)PTRDIFF_MAX)
        return mv_error_set(err, MV_EOVERFLOW, "memoryview search: needle too long");
    s->buf = (const unsigned char *)l->buf;
    s->len = l->shape[0];
    s->stride = l->strides[0];
    s->sub = mv_layout_sub(l, 0);
    return 0;
}

static bool seq_contiguous(const bytes_seq *s)
{
    return s->sub < 0 && (s->stride == 1 || s->len <= 1);
}

static inline unsigned char seq_at(const bytes_seq *s, ptrdiff_t i)
{
    return *(const unsigned char *)mv_layout_item((const char *)s->buf, i, s->stride, s->sub);
}

/* stringlib's ADJUST_INDICES: end clipped to len, negative bounds count
 * from the end; start may stay beyond len (an empty result). */
static void adjust_indices(ptrdiff_t len, ptrdiff_t *start, ptrdiff_t *end)
{
    if (*end > len) {
        *end = len;
    } else if (*end < 0) {
        *end += len;
        if (*end < 0)
            *end = 0;
    }
    if (*start < 0) {
        *start += len;
        if (*start < 0)
            *start = 0;
    }
}

/* The bytes [start, end) of the sequence as one contiguous block: in place
 * when the view is contiguous, else a malloc'd copy in *owned. */
static int seq_range(const bytes_seq *s, ptrdiff_t start, ptrdiff_t end, const unsigned char **out,
                     unsigned char **owned, mv_error *err)
{
    *owned = NULL;
    if (seq_contiguous(s)) {
        *out = s->buf + start;
        return 0;
    }
    size_t n = (size_t)(end - start);
    unsigned char *copy = malloc(n ? n : 1);
    if (!copy)
        return mv_error_set(err, MV_ENOMEM, "out of memory");
    /* Gathered by the copy engine (strided bytes take its SIMD gathers). */
    int rc = mv_copy_range(&s->l, start, end - start, copy, err);
    if (rc < 0) {
        free(copy);
        return rc;
    }
    *owned = copy;
    *out = copy;
    return 0;
}

/* First occurrence of needle in hay[0 .. hlen), or -1. */
static ptrdiff_t block_find(const unsigned char *hay, ptrdiff_t hlen, const void *needle, size_t n)
{
    const unsigned char *p;
    if (n == 1)
        p = memchr(hay, *(const unsigned char *)needle, (size_t)hlen);
    else
        p = memmem(hay, (size_t)hlen, needle, n);
    return p ? p - hay : -1;
}

/* Find within [start, end) after adjust_indices; the empty needle is found
 * at start whenever start <= end. */
static int find_adjusted(const bytes_seq *s, const void *needle, size_t n, ptrdiff_t start,
                         ptrdiff_t end, ptrdiff_t *pos, mv_error *err)
{
    *pos = -1;
    if (end - start < (ptrdiff_t)n)
        return 0;
    if (n == 0) {
        *pos = start;
        return 0;
    }
    const unsigned char *block = NULL;
    unsigned char *owned = NULL;
    int rc = seq_range(s, start, end, &block, &owned, err);
    if (rc < 0)
        return rc;
    ptrdiff_t at = block_find(block, end - start, needle, n);
    free(owned);
    if (at >= 0)
        *pos = start + at;
    return 0;
}

int mv_view_find(const mv_view *view, const void *needle, size_t n, ptrdiff_t start, ptrdiff_t end,
                 ptrdiff_t *pos, mv_error *err)
{
    if (!pos)
        return mv_error_set(err, MV_EVALUE, "memoryview.find: NULL pos");
    bytes_seq s;
    int rc = seq_init(&s, view, needle, n, err);
    if (rc < 0)
        return rc;
    adjust_indices(s.len, &start, &end);
    return find_adjusted(&s, needle, n, start, end, pos, err);
}

int mv_view_count_bytes(const mv_view *view, const void *needle, size_t n, ptrdiff_t start,
                        ptrdiff_t end, ptrdiff_t *count, mv_error *err)
{
    if (!count)
        return mv_error_set(err, MV_EVALUE, "memoryview.count: NULL count");
    bytes_seq s;
    int rc = seq_init(&s, view, needle, n, err);
    if (rc < 0)
        return rc;
    adjust_indices(s.len, &start, &end);
    if (end - start < (ptrdiff_t)n) {
        *count = 0;
        return 0;
    }
    if (n == 0) {
        *count = end - start + 1;
        return 0;
    }
    const unsigned char *block = NULL;
    unsigned char *owned = NULL;
    rc = seq_range(&s, start, end, &block, &owned, err);
    if (rc < 0)
        return rc;
    /* Non-overlapping, left to right, as bytes.count. */
    ptrdiff_t found = 0, at = 0, hlen = end - start;
    while (hlen - at >= (ptrdiff_t)n) {
        ptrdiff_t k = block_find(block + at, hlen - at, needle, n);
        if (k < 0)
            break;
        found++;
        at += k + (ptrdiff_t)n;
    }
    free(owned);
    *count = found;
    return 0;
}

static int seq_matches(const bytes_seq *s, ptrdiff_t at, const unsigned char *needle, size_t n)
{
    if (seq_contiguous(s))
        return memcmp(s->buf + at, needle, n) == 0;
    for (size_t i = 0; i < n; i++)
        if (seq_at(s, at + (ptrdiff_t)i) != needle[i])
            return 0;
    return 1;
}

int mv_view_startswith(const mv_view *view, const void *prefix, size_t n, mv_error *err)
{
    bytes_seq s;
    int rc = seq_init(&s, view, prefix, n, err);
    if (rc < 0)
        return rc;
    if ((ptrdiff_t)n > s.len)
        return 0;
    return n == 0 ? 1 : seq_matches(&s, 0, prefix, n);
}

int mv_view_endswith(const mv_view *view, const void *suffix, size_t n, mv_error *err)
{
    bytes_seq s;
    int rc = seq_init(&s, view, suffix, n, err);
    if (rc < 0)
        return rc;
    if ((ptrdiff_t)n > s.len)
        return 0;
    return n == 0 ? 1 : seq_matches(&s, s.len - (ptrdiff_t)n, suffix, n);
}

int mv_view_find_view(mv_view *view, const void *needle, size_t n, ptrdiff_t start, ptrdiff_t end,
                      mv_view **match, mv_error *err)
{
    if (!match)
        return mv_error_set(err, MV_EVALUE, "memoryview.find: NULL match");
    *match = NULL;
    ptrdiff_t pos;
    int rc = mv_view_find(view, needle, n, start, end, &pos, err);
    if (rc < 0)
        return rc;
    if (pos < 0)
        return 0;
    /* Slicing the view by logical index keeps its stride, so the sub-view
     * covers exactly the matched bytes however the view is laid out. */
    mv_key key;
    memset(&key, 0, sizeof key);
    key.kind = MV_KEY_SLICE;
    key.start = pos;
    key.stop = pos + (ptrdiff_t)n;
    key.step = 1;
    key.has_start = key.has_stop = key.has_step = true;
    mv_error local;
    mv_error_clear(&local);
    mv_view *sub = mv_view_subscript(view, &key, 1, &local);
    if (!sub)
        return mv_error_pass(err, &local);
    *match = sub;
    return 0;
}

/* ------------------------------------------------------------------------ *
 * count / index
 * ------------------------------------------------------------------------ */

typedef struct lookup {
    mv_layout l;
    mv_item_reader r;
    int raw; /* -1: compare values; 0: no item equals the value; 1: an item
                equals it exactly when its bytes are key */
    unsigned char key[16];
} lookup;

/* Integer items hold one encoding per value, so an integer value equals an
 * item exactly when the value packed in the items' format is the item's
 * bytes; a value the format cannot hold equals no item.  Sets lk->raw. */
static void lookup_raw(lookup *lk, const mv_format *f, const mv_value *value)
{
    lk->raw = -1;
    if (f->nfields != 1 || f->fields[0].count != 1 || f->fields[0].size != f->itemsize ||
        f->itemsize > (ptrdiff_t)sizeof lk->key || !strchr("bBhHiIlLqQnN", f->fields[0].code) ||
        (value->kind != MV_VALUE_SIGNED && value->kind != MV_VALUE_UNSIGNED))
        return;
    mv_error local;
    mv_error_clear(&local);
    int rc = mv_format_pack(f, lk->l.format, lk->key, value, 1, &local);
    if (rc == 0)
        lk->raw = 1;
    else if (rc == MV_EVALUE || rc == MV_EOVERFLOW)
        lk->raw = 0; /* out of the format's range */
}

/* The item i of the lookup's 1-D layout. */
static inline const char *lookup_item(const lookup *lk, ptrdiff_t i)
{
    const mv_layout *l = &lk->l;
    return mv_layout_item(l->buf, i, l->strides[0], mv_layout_sub(l, 0));
}

/* Whether the 1-D layout's items are one byte each, side by side. */
static bool lookup_bytes(const lookup *lk)
{
    return lk->l.itemsize == 1 && lk->l.strides[0] == 1 && !lk->l.indirect;
}

/* count for lk->raw == 1: items whose bytes are the key. */
static ptrdiff_t count_raw(const lookup *lk)
{
    ptrdiff_t n = lk->l.shape[0], found = 0;
    if (lookup_bytes(lk)) {
        const unsigned char *p = (const unsigned char *)lk->l.buf, c = lk->key[0];
        for (ptrdiff_t i = 0; i < n; i++) /* a compare-and-add the compiler vectorises */
            found += p[i] == c;
        return found;
    }
    for (ptrdiff_t i = 0; i < n; i++)
        found += memcmp(lookup_item(lk, i), lk->key, (size_t)lk->l.itemsize) == 0;
    return found;
}

/* index for lk->raw == 1: the first item in [start, stop) whose bytes are
 * the key, or stop. */
static ptrdiff_t index_raw(const lookup *lk, ptrdiff_t start, ptrdiff_t stop)
{
    if (start >= stop)
        return stop;
    if (lookup_bytes(lk)) {
        const char *p = lk->l.buf;
        const char *q = memchr(p + start, lk->key[0], (size_t)(stop - start));
        return q ? q - p : stop;
    }
    for (ptrdiff_t i = start; i < stop; i++)
        if (memcmp(lookup_item(lk, i), lk->key, (size_t)lk->l.itemsize) == 0)
            return i;
    return stop;
}

/* count iterates the view (CPython 3.14), so it refuses 0-dim and N-D views
 * as iteration does; index has lookup messages of its own. */
static int lookup_begin(lookup *lk, const mv_view *view, const mv_value *value, bool iterate,
                        mv_error *err)
{
    if (!view || !value)
        return mv_error_set(err, MV_EVALUE, "memoryview lookup: NULL argument");
    int rc = mv_view_layout(&lk->l, view, err);
    if (rc < 0)
        return rc;
    if (lk->l.ndim == 0)
        return mv_error_set(err, MV_ETYPE,
                            iterate ? "invalid indexing of 0-dim memory"
                                    : "invalid lookup on 0-dim memory");
    if (lk->l.ndim > 1)
        return mv_error_set(err, MV_ENOTIMPL,
                            iterate ? "multi-dimensional sub-views are not implemented"
                                    : "multi-dimensional lookup is not implemented");
    mv_error local;
    mv_error_clear(&local);
    const mv_format *f = mv_view_format(view, &local);
    if (!f)
        return mv_error_pass(err, &local);
    if (f->itemsize != lk->l.itemsize)
        return mv_error_format_size(err, lk->l.format, f->itemsize, lk->l.itemsize);
    lookup_raw(lk, f, value);
    return mv_reader_init(&lk->r, f, err);
}

/* 1 when the item at p equals value, 0 when not, negative on error.  An item
 * of several values is a tuple, which never equals a single value. */
static int lookup_match(lookup *lk, const char *p, const mv_value *value, mv_error *err)
{
    if (lk->r.nvalues != 1)
        return 0;
    int rc = mv_reader_read(&lk->r, p, err);
    if (rc < 0)
        return rc;
    return mv_value_equal(&lk->r.values[0], value);
}

int mv_view_count(const mv_view *view, const mv_value *value, ptrdiff_t *count, mv_error *err)
{
    if (!count)
        return mv_error_set(err, MV_EVALUE, "memoryview.count: NULL argument");
    lookup lk;
    memset(&lk, 0, sizeof lk);
    int rc = lookup_begin(&lk, view, value, true, err);
    if (rc < 0)
        return rc;
    ptrdiff_t found = 0;
    if (lk.raw >= 0)
        found = lk.raw ? count_raw(&lk) : 0;
    for (ptrdiff_t i = 0; lk.raw < 0 && i < lk.l.shape[0]; i++) {
        rc = lookup_match(&lk, lookup_item(&lk, i), value, err);
        if (rc < 0)
            break;
        found += rc;
    }
    mv_reader_clear(&lk.r);
    if (rc < 0)
        return rc;
    *count = found;
    return 0;
}

int mv_view_index(const mv_view *view, const mv_value *value, ptrdiff_t start, ptrdiff_t stop,
                  ptrdiff_t *pos, mv_error *err)
{
    if (!pos)
        return mv_error_set(err, MV_EVALUE, "memoryview.index: NULL argument");
    lookup lk;
    memset(&lk, 0, sizeof lk);
    int rc = lookup_begin(&lk, view, value, false, err);
    if (rc < 0)
        return rc;
    mv_slice_adjust(lk.l.shape[0], &start, &stop, 1);
    rc = 0;
    ptrdiff_t i = start;
    if (lk.raw >= 0) {
        i = lk.raw ? index_raw(&lk, start, stop) : stop;
        rc = i < stop;
    }
    for (; lk.raw < 0 && i < stop; i++) {
        rc = lookup_match(&lk, lookup_item(&lk, i), value, err);
        if (rc != 0)
            break;
    }
    mv_reader_clear(&lk.r);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return mv_error_set(err, MV_EVALUE, "memoryview.index(x): x not found");
    *pos = i;
    return 0;
}

/* ---- split --------------------------------------------------------------- */

static bool is_byte_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* bytes.split(sep, maxsplit) with a separator of n >= 1 bytes. */
static int split_sep(const bytes_seq *s, const void *sep, size_t n, ptrdiff_t maxsplit,
                     mv_split_fn piece, void *ctx, mv_error *err)
{
    ptrdiff_t pos = 0;
    while (maxsplit-- > 0) {
        ptrdiff_t at = -1;
        int rc = find_adjusted(s, sep, n, pos, s->len, &at, err);
        if (rc < 0)
            return rc;
        if (at < 0)
            break;
        if ((rc = piece(ctx, pos, at)) != 0)
            return rc;
        pos = at + (ptrdiff_t)n;
    }
    return piece(ctx, pos, s->len);
}

/* bytes.split(None, maxsplit), step for step, over the bytes b. */
static int split_space(const unsigned char *b, ptrdiff_t len, ptrdiff_t maxsplit,
                       mv_split_fn piece, void *ctx)
{
    ptrdiff_t i = 0;
    while (maxsplit-- > 0) {
        while (i < len && is_byte_space(b[i]))
            i++;
        if (i == len)
            break;
        ptrdiff_t j = i++;
        while (i < len && !is_byte_space(b[i]))
            i++;
        int rc = piece(ctx, j, i);
        if (rc != 0)
            return rc;
    }
    while (i < len && is_byte_space(b[i]))
        i++;
    return i < len ? piece(ctx, i, len) : 0;
}

int mv_view_split(const mv_view *view, const void *sep, size_t n, ptrdiff_t maxsplit,
                  mv_split_fn piece, void *ctx, mv_error *err)
{
    if (!piece)
        return mv_error_set(err, MV_EVALUE, "memoryview.split: NULL callback");
    if (sep && n == 0)
        return mv_error_set(err, MV_EVALUE, "empty separator");
    bytes_seq seq, *s = &seq;
    int rc = seq_init(s, view, sep, sep ? n : 0, err);
    if (maxsplit < 0)
        maxsplit = PTRDIFF_MAX;
    if (rc == 0 && sep) {
        rc = split_sep(s, sep, n, maxsplit, piece, ctx, err);
    } else if (rc == 0) {
        const unsigned char *block = NULL;
        unsigned char *owned = NULL;
        rc = seq_range(s, 0, s->len, &block, &owned, err);
        if (rc == 0)
            rc = split_space(block, s->len, maxsplit, piece, ctx);
        free(owned);
    }
    return rc;
}
