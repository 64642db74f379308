/* Selection: NumPy basic indexing of a layout by keys (mv_select, for views
 * and layouts alike: mv_layout_select) and the address of one item
 * (mv_item_pointer, CPython's ptr_from_tuple), with the item access it
 * serves (mv_layout_get_item / set_item).  The keys come from the caller
 * or from text (keys.c). */
#include "layout.h"

#include <string.h>

/* Add the constant offset c of one source dimension at the point of the
 * address computation where it belongs: after the last dereference before
 * it (into that dimension's suboffset, as CPython's init_slice; collected
 * in addend until the end), else into buf. */
static int add_offset(mv_layout *out, ptrdiff_t *addend, int last_indirect, ptrdiff_t c,
                      mv_error *err)
{
    if (last_indirect >= 0) {
        if (mv_add_overflow(addend[last_indirect], c, &addend[last_indirect]))
            return mv_error_set(err, MV_EOVERFLOW, "memoryview: suboffset overflows ptrdiff_t");
    } else {
        out->buf = mv_advance(out->buf, c);
    }
    return 0;
}

/* True when every output dimension so far adds nothing to the address
 * (extent 1 or stride 0, no dereference), so the pointer reaching the next
 * dimension is one fixed address. */
static bool layout_fixed(const mv_layout *out)
{
    for (int o = 0; o < out->ndim; o++)
        if (out->suboffsets[o] >= 0 || (out->shape[o] > 1 && out->strides[o] != 0))
            return false;
    return true;
}

/* The keys' own checks, before any dimension is looked at: one ellipsis
 * at most, known kinds, no more indices than dimensions, and a result of
 * at most MV_MAX_NDIM dimensions.  *nidx: the keys that consume a
 * dimension. */
static int select_check_keys(const mv_buffer *b, const mv_key *keys, int nkeys, int *nidx,
                             mv_error *err)
{
    if (nkeys < 0 || (nkeys > 0 && !keys))
        return mv_error_set(err, MV_EVALUE, "memoryview: invalid key array");
    int nint = 0, nnew = 0, ellipsis = 0;
    *nidx = 0;
    for (int k = 0; k < nkeys; k++) {
        switch (keys[k].kind) {
        case MV_KEY_INDEX:
            nint++;
            (*nidx)++;
            break;
        case MV_KEY_SLICE:
            (*nidx)++;
            break;
        case MV_KEY_NEWAXIS:
            nnew++;
            break;
        case MV_KEY_ELLIPSIS:
            if (ellipsis++)
                return mv_error_set(err, MV_EINDEX,
                                    "an index can only have a single ellipsis ('...')");
            break;
        default:
            return mv_error_set(err, MV_EVALUE, "memoryview: invalid key kind %d",
                                (int)keys[k].kind);
        }
    }
    if (*nidx > b->ndim)
        return mv_error_set(err, MV_EINDEX,
                            "too many indices for memoryview: memoryview is %d-dimensional, "
                            "but %d were indexed",
                            b->ndim, *nidx);
    if (b->ndim - nint + nnew > MV_MAX_NDIM)
        return mv_error_set(err, MV_EVALUE, MV_MSG_NDIM);
    return 0;
}

/* A selection in progress: the layout so far, and for each output
 * dimension the constant offset still to add to its suboffset. */
typedef struct selector {
    const mv_buffer *b;
    mv_layout *out;
    ptrdiff_t addend[MV_MAX_NDIM];
    int last_indirect; /* output dimension of the last dereference, or -1 */
    int d;             /* next source dimension */
    /* Without items no address is ever used (and buf may be NULL): offsets
     * and dereferences stop once the result is known to be empty. */
    bool empty;
} selector;

/* A new output dimension. */
static void select_push(selector *s, ptrdiff_t extent, ptrdiff_t stride, ptrdiff_t suboffset)
{
    mv_layout *out = s->out;
    int o = out->ndim++;
    s->addend[o] = 0;
    out->shape[o] = extent;
    out->strides[o] = stride;
    out->suboffsets[o] = suboffset;
    if (suboffset >= 0)
        s->last_indirect = o;
}

/* Source dimension d kept whole. */
static void select_whole(selector *s)
{
    const mv_buffer *b = s->b;
    select_push(s, b->shape[s->d], b->strides[s->d], b->suboffsets ? b->suboffsets[s->d] : -1);
    s->d++;
}

/* An integer key on source dimension d: its offset, and its dereference
 * when the dimension is indirect. */
static int select_index(selector *s, ptrdiff_t i, mv_error *err)
{
    const mv_buffer *b = s->b;
    int d = s->d++;
    if (i < 0)
        i += b->shape[d];
    if (i < 0 || i >= b->shape[d])
        return mv_error_set(err, MV_EINDEX, "index out of bounds on dimension %d", d + 1);
    bool indirect = b->suboffsets && b->suboffsets[d] >= 0;
    if (s->empty)
        return 0;
    if (indirect && !layout_fixed(s->out))
        return mv_error_set(err, MV_ENOTIMPL,
                            "memoryview: an integer index on an indirect dimension "
                            "(suboffsets) after a sliced dimension is not implemented");
    ptrdiff_t c;
    if (mv_mul_overflow(i, b->strides[d], &c))
        return mv_error_set(err, MV_EOVERFLOW, "memoryview: offset overflows ptrdiff_t");
    int rc = add_offset(s->out, s->addend, s->last_indirect, c, err);
    /* The pointer before this dimension's dereference is one fixed
     * address, so the dereference can happen now. */
    if (rc == 0 && indirect)
        s->out->buf = mv_follow(s->out->buf, b->suboffsets[d]);
    return rc;
}

/* A slice key on source dimension d. */
static int select_slice(selector *s, const mv_key *key, mv_error *err)
{
    const mv_buffer *b = s->b;
    int d = s->d++;
    ptrdiff_t start = 0, step = 1;
    ptrdiff_t n = mv_slice_indices(key, b->shape[d], &start, &step, err);
    if (n < 0)
        return (int)n;
    ptrdiff_t stride = b->strides[d];
    if (n == 0)
        s->empty = true;
    if (!s->empty) {
        ptrdiff_t c;
        if (mv_mul_overflow(start, stride, &c))
            return mv_error_set(err, MV_EOVERFLOW, "memoryview: offset overflows ptrdiff_t");
        int rc = add_offset(s->out, s->addend, s->last_indirect, c, err);
        if (rc < 0)
            return rc;
    }
    /* With at most one item, or none in the whole layout, the stride is
     * never used; keep the old one rather than an overflowing product. */
    ptrdiff_t st;
    if (!mv_mul_overflow(stride, step, &st))
        stride = st;
    else if (n > 1 && !s->empty)
        return mv_error_set(err, MV_EOVERFLOW, "memoryview: stride overflows ptrdiff_t");
    select_push(s, n, stride, b->suboffsets ? b->suboffsets[d] : -1);
    return 0;
}

/* The offsets collected for each indirect dimension into its suboffset,
 * and whether the result keeps suboffsets at all: while a dimension still
 * dereferences (or, as CPython, when the exporter gave only negative
 * ones); not once every indirection has been followed. */
static int select_suboffsets(selector *s, mv_error *err)
{
    mv_layout *out = s->out;
    const ptrdiff_t *subs = s->b->suboffsets;
    bool any_out = false, any_src = false;
    for (int o = 0; o < out->ndim; o++) {
        ptrdiff_t *so = &out->suboffsets[o];
        if (!s->empty && *so >= 0) {
            if (mv_add_overflow(*so, s->addend[o], so))
                return mv_error_set(err, MV_EOVERFLOW,
                                    "memoryview: suboffset overflows ptrdiff_t");
            /* A negative suboffset would mean "no dereference". */
            if (*so < 0)
                return mv_error_set(err, MV_ENOTIMPL,
                                    "memoryview: this sub-view would need a negative "
                                    "suboffset on dimension %d, which is not representable",
                                    o + 1);
        }
        any_out |= *so >= 0;
    }
    for (int i = 0; subs && i < s->b->ndim; i++)
        any_src |= subs[i] >= 0;
    out->indirect = subs && out->ndim > 0 && (any_out || !any_src);
    return 0;
}

int mv_select(const mv_buffer *b, const mv_key *keys, int nkeys, mv_layout *out, mv_error *err)
{
    int nidx = 0;
    int rc = select_check_keys(b, keys, nkeys, &nidx, err);
    if (rc < 0)
        return rc;
    selector s = {.b = b, .out = out, .last_indirect = -1, .d = 0,
                  .empty = !mv_has_items(b->ndim, b->shape)};
    out->buf = b->buf;
    out->ndim = 0;
    int nfull = b->ndim - nidx;
    for (int k = 0; k <= nkeys && rc == 0; k++) {
        /* The ellipsis, or the end of the keys, stands for full slices. */
        if (k == nkeys || keys[k].kind == MV_KEY_ELLIPSIS)
            for (; nfull > 0; nfull--)
                select_whole(&s);
        else if (keys[k].kind == MV_KEY_NEWAXIS)
            select_push(&s, 1, 0, -1);
        else if (keys[k].kind == MV_KEY_INDEX)
            rc = select_index(&s, keys[k].index, err);
        else
            rc = select_slice(&s, &keys[k], err);
    }
    if (rc == 0)
        rc = select_suboffsets(&s, err);
    if (rc < 0)
        return rc;
    out->itemsize = b->itemsize;
    out->format = b->format ? b->format : "B";
    out->readonly = b->readonly != 0;
    return mv_layout_finish(out, err);
}

/* ptr_from_tuple, with CPython's checks in its order. */
int mv_item_pointer(const mv_buffer *b, const ptrdiff_t *index, int nindex, char **out,
                    mv_error *err)
{
    if (nindex < 0 || (nindex > 0 && !index))
        return mv_error_set(err, MV_EVALUE, "memoryview: invalid index array");
    if (nindex < b->ndim)
        return mv_error_set(err, MV_ENOTIMPL, "sub-views are not implemented");
    if (nindex > b->ndim)
        return mv_error_set(err, MV_ETYPE, "cannot index %zd-dimension view with %zd-element tuple",
                            (ptrdiff_t)b->ndim, (ptrdiff_t)nindex);
    /* Every index is checked before any pointer is followed: in a view with
     * no items (an index past a dimension of 0) the addresses are not kept
     * (mv_select), so an indirect dimension's pointers may be anything. */
    ptrdiff_t at[MV_MAX_NDIM];
    for (int d = 0; d < b->ndim; d++) {
        ptrdiff_t i = index[d];
        if (i < 0)
            i += b->shape[d];
        if (i < 0 || i >= b->shape[d])
            return mv_error_set(err, MV_EINDEX, "index out of bounds on dimension %d", d + 1);
        at[d] = i;
    }
    char *p = b->buf;
    for (int d = 0; d < b->ndim; d++) {
        /* In range of a validated layout, so i * stride fits. */
        p = mv_advance(p, at[d] * b->strides[d]);
        if (b->suboffsets && b->suboffsets[d] >= 0)
            p = mv_follow(p, b->suboffsets[d]);
    }
    *out = p;
    return 0;
}

/* ---- the public layout API: select, items ------------------------------ */

/* The contiguity of a direct N-D layout, out of line: the 1-D slice path
 * decides its own in two compares. */
static __attribute__((noinline)) unsigned char contig_nd(const mv_layout *l)
{
    mv_buffer b = mv_layout_as_buffer(l);
    return (unsigned char)mv_layout_flags_nd(&b);
}

/* Any keys: mv_select into a layout aside (so that *out stays unchanged
 * on error), then copied.  Out of line, so that the one-slice path keeps
 * no 1.6 KB frame. */
static __attribute__((noinline)) int select_general(mv_layout *out, const mv_layout *l,
                                                    const mv_key *keys, int nkeys, mv_error *err)
{
    mv_buffer b = mv_layout_as_buffer(l);
    mv_layout t;
    int rc = mv_select(&b, keys, nkeys, &t, err);
    if (rc == 0)
        mv_layout_copy(out, &t);
    return rc;
}

int mv_layout_select(mv_layout *out, const mv_layout *l, const mv_key *keys, int nkeys,
                     mv_error *err)
{
    if (!out || !l)
        return mv_error_set(err, MV_EVALUE, MV_MSG_LAYOUT_NULL);
    if (nkeys != 1 || !keys || keys[0].kind != MV_KEY_SLICE || l->ndim == 0 || l->indirect)
        return select_general(out, l, keys, nkeys, err);
    mv_buffer b = mv_layout_as_buffer(l);
    /* The common l[a:b]: dimension 0 narrowed, the others kept in place
     * (out may be l). */
    char *buf = NULL;
    ptrdiff_t n = 0, stride = 0, len = 0;
    int rc = mv_select_first(&b, keys, &buf, &n, &stride, &len, err);
    if (rc < 0)
        return rc;
    if (out != l) {
        out->itemsize = l->itemsize;
        out->format = l->format;
        out->ndim = l->ndim;
        out->readonly = l->readonly;
        out->indirect = false;
        for (int d = 1; d < l->ndim; d++) {
            out->shape[d] = l->shape[d];
            out->strides[d] = l->strides[d];
        }
    }
    out->buf = buf;
    out->len = len;
    out->shape[0] = n;
    out->strides[0] = stride;
    out->contig = out->ndim > 1 ? contig_nd(out)
                  : n == 1 || stride == out->itemsize ? MV_CONTIG_C | MV_CONTIG_F
                                                      : 0;
    return 0;
}

/* The checks before an item access, in the view's order: the layout, then
 * (for writes) read-only, then the format (parsed into *fmt unless the item
 * will be read directly: *parsed says), then the index. */
static int item_prepare(const mv_layout *l, bool direct, bool write, const ptrdiff_t *index,
                        int nindex, mv_format *fmt, bool *parsed, char **p, mv_error *err)
{
    *parsed = false;
    if (!l)
        return mv_error_set(err, MV_EVALUE, MV_MSG_LAYOUT_NULL);
    if (write && l->readonly)
        return mv_error_set(err, MV_ETYPE, MV_MSG_READONLY);
    if (!direct) {
        int rc = mv_format_parse(fmt, l->format, err);
        if (rc < 0)
            return rc;
        *parsed = true;
    }
    mv_buffer b = mv_layout_as_buffer(l);
    int rc = mv_item_pointer(&b, index, nindex, p, err);
    if (rc < 0 && *parsed) {
        mv_format_clear(fmt);
        *parsed = false;
    }
    return rc;
}

/* The native code of l's format that mv_load_native reads, or 0. */
static char loadable_code(const mv_layout *l)
{
    ptrdiff_t size = 0;
    char code = mv_format_native(l->format, &size);
    return code && strchr(MV_LOADABLE_CODES, code) ? code : 0;
}

/* Everything but a native item at one in-range index of a 1-D layout:
 * out of line, so that the common case runs without this one's frame. */
static __attribute__((noinline)) int get_item_general(const mv_layout *l, const ptrdiff_t *index,
                                                      int nindex, mv_value *values,
                                                      ptrdiff_t nvalues, mv_error *err)
{
    mv_format fmt;
    bool parsed;
    char *p;
    char code = values && nvalues >= 1 && l ? loadable_code(l) : 0;
    int rc = item_prepare(l, code != 0, false, index, nindex, &fmt, &parsed, &p, err);
    if (rc < 0)
        return rc;
    if (!values && nvalues > 0)
        rc = mv_error_set(err, MV_EVALUE, "memoryview: values must not be NULL");
    else if (!parsed)
        mv_load_native(code, p, values);
    else
        rc = mv_format_unpack(&fmt, p, values, nvalues, err);
    if (parsed)
        mv_format_clear(&fmt);
    return rc;
}

int mv_layout_get_item(const mv_layout *l, const ptrdiff_t *index, int nindex, mv_value *values,
                       ptrdiff_t nvalues, mv_error *err)
{
    if (nindex == 1 && index && values && nvalues >= 1) {
        /* A one-character format (after an optional '@') is its own code:
         * mv_load_native reads the native ones and refuses the rest. */
        const char *q = mv_layout_at1(l, index[0]);
        const char *f = q ? l->format + (l->format[0] == '@') : "";
        if (f[0] && !f[1] && mv_load_native(f[0], q, values))
            return 0;
    }
    return get_item_general(l, index, nindex, values, nvalues, err);
}

int mv_layout_set_item(const mv_layout *l, const ptrdiff_t *index, int nindex,
                       const mv_value *values, ptrdiff_t nvalues, mv_error *err)
{
    mv_format fmt;
    bool parsed;
    char *p;
    int rc = item_prepare(l, false, true, index, nindex, &fmt, &parsed, &p, err);
    if (rc < 0)
        return rc;
    if (!values && nvalues > 0)
        rc = mv_error_set(err, MV_EVALUE, "memoryview: values must not be NULL");
    else
        rc = mv_format_pack(&fmt, l->format, p, values, nvalues, err);
    mv_format_clear(&fmt);
    return rc;
}
