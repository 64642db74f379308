/* Fuzz target: buffer descriptors -> the validators, item addresses, spans.
 *
 * The input builds one descriptor over memory the harness mallocs exactly
 * (0..512 bytes, so ASan sees any stray access): itemsize (0, negative,
 * huge too), ndim (negative and above MV_MAX_NDIM too), shape, strides (or
 * none), the offset of buf, a format of matching size (or not), and
 * sometimes suboffsets through a pointer table the harness owns (buf may
 * then lie in the table).  A model in 128-bit arithmetic, written here,
 * predicts:
 *  - mv_layout_validate and mv_buffer_validate: what the header says must
 *    be refused is refused (MV_EVALUE / MV_EOVERFLOW), what it says is
 *    valid is accepted; an accepted layout has every item inside the
 *    memory (all items up to 4096, else the corners, are walked);
 *  - mv_buffer_get_pointer: the model's address for every walked item
 *    (through suboffsets when every pointer read is in the table), and
 *    MV_EINDEX, without a dereference, for an index out of range;
 *  - mv_buffer_is_contiguous (PyBuffer_IsContiguous's rules);
 *  - an external-layout exporter and a view of the descriptor: fields as
 *    given, contiguity (memoryview's rules), items read at the model's
 *    address, mv_span_from_view refusing indirect layouts.
 * Then spans of a descriptor inside the memory: mv_span_from_buffer
 * (accepted exactly when mv_buffer_validate accepts a direct descriptor of
 * at most 8 dimensions), and a program of span operations from the rest
 * of the input: mv_span_slice against a model of NumPy basic indexing
 * (shape, every item's address, errors, *out untouched on error, in place
 * too), mv_span_cast against the cast rules, mv_span_at / mv_span_at1,
 * mv_span_is_contiguous (memoryview's rules), mv_span_get_item /
 * mv_span_set_item (index rules; the item read and written at the model's
 * address, no other byte touched, read-only refused), mv_span_buffer round
 * trips, mv_view_from_span onto views of all or part of the memory
 * (accepted exactly when the span lies inside and writability allows),
 * and mv_span_acquire agreeing with mv_object_getbuffer +
 * mv_span_from_buffer (result, error, counts) on external-layout,
 * bytearray and bytes exporters. */
#include "fuzz_common.h"

#include <stdlib.h>

#define MAXD      (MV_MAX_NDIM + 4) /* room for the out-of-range ndims tried */
#define MEM_MAX   512
#define ALL_ITEMS 4096              /* walk every item up to this many, else corners */
#define MAXSPANS  8
#define MAXOPS    32
#define MAXKEYS   12
#define MAXVALUES 4096

#define PD_MAX ((i128)PTRDIFF_MAX)
#define PD_MIN ((i128)PTRDIFF_MIN)
#define ADDR_END ((i128)1 << 64) /* one past the address space */
/* Saturation bound: beyond anything that fits, far from i128 overflow. */
#define SAT ((i128)1 << 100)
#define BIT(code) (1u << -(code))

static i128 clamp(i128 v)
{
    return v > SAT ? SAT : v < -SAT ? -SAT : v;
}

static i128 smul(i128 a, i128 b)
{
    i128 r;
    if (__builtin_mul_overflow(a, b, &r))
        return (a < 0) != (b < 0) ? -SAT : SAT;
    return clamp(r);
}

static i128 sadd(i128 a, i128 b)
{
    return clamp(a + b);
}

static bool fits(i128 v)
{
    return v >= PD_MIN && v <= PD_MAX;
}

static i128 addr_of(const void *p)
{
    return (i128)(uintptr_t)p;
}

/* ---- memory and descriptor ------------------------------------------------ */

typedef struct arena {
    unsigned char *mem;
    ptrdiff_t memlen;
    uintptr_t *tab; /* pointer table for suboffsets, or NULL */
    ptrdiff_t ntab;
    fuzz_region reg[2];
    int nreg;
} arena;

/* Formats with the item size they must have (sizes of C types where
 * native). */
typedef struct fmtent {
    const char *text;
    ptrdiff_t size;
} fmtent;

static const fmtent formats[] = {
    {"B", 1}, {"b", 1}, {"c", 1}, {"?", sizeof(_Bool)}, {"x", 1}, {"<B", 1}, {"@b", 1},
    {"1s", 1}, {"h", sizeof(short)}, {"H", sizeof(short)}, {"e", 2}, {"<h", 2}, {">H", 2},
    {"2s", 2}, {"2B", 2}, {"bx", 2}, {"i", sizeof(int)}, {"I", sizeof(int)}, {"f", 4},
    {"<i", 4}, {">I", 4}, {"=f", 4}, {"4s", 4}, {"w", 4}, {"2h", 2 * sizeof(short)},
    {"q", sizeof(long long)}, {"Q", sizeof(long long)}, {"d", 8}, {"l", sizeof(long)},
    {"L", sizeof(long)}, {"n", sizeof(size_t)}, {"N", sizeof(size_t)}, {"P", sizeof(void *)},
    {"Zf", 8}, {"<q", 8}, {"!d", 8}, {"8s", 8}, {"Zd", 16}, {"16s", 16}, {"2d", 16},
    {"3s", 3}, {"3B", 3}, {"5x", 5}, {"0s", 0}, {"0B", 0},
};
#define NFORMATS (sizeof formats / sizeof formats[0])

typedef struct desc {
    ptrdiff_t itemsize, len, offset;
    int ndim;
    ptrdiff_t shape[MAXD], strides[MAXD], subs[MAXD];
    bool no_shape, no_strides, has_subs, in_tab, null_buf, readonly;
    const char *format;
    ptrdiff_t fmt_size; /* the format's item size; -1 when it does not parse */
    char fmtbuf[32];
    unsigned char *home; /* the region buf is placed in */
    ptrdiff_t homelen;
    mv_buffer b;
} desc;

/* What the header lets a descriptor mean, computed exactly. */
typedef struct model {
    bool nd_ok;    /* 0 <= ndim <= MV_MAX_NDIM */
    bool shape_ok; /* a shape (given or implied) without negative extents */
    bool empty;
    i128 nitems, nbytes; /* saturated */
    ptrdiff_t sh[MAXD];
    i128 st[MAXD];   /* strides as given, else C-contiguous */
    bool strides_fit;
    i128 lo, hi;     /* lowest / highest item start relative to buf */
    bool terms_fit;  /* every stride * (extent - 1) and both sums fit */
} model;

static void model_desc(const desc *d, model *m)
{
    memset(m, 0, sizeof *m);
    int nd = d->ndim;
    m->nd_ok = nd >= 0 && nd <= MV_MAX_NDIM;
    if (!m->nd_ok)
        return;
    m->shape_ok = true;
    if (d->no_shape) {
        if (nd > 1 || (nd == 1 && (d->itemsize <= 0 || d->len < 0)))
            m->shape_ok = false;
        else if (nd == 1)
            m->sh[0] = d->len / d->itemsize;
    } else {
        memcpy(m->sh, d->shape, (size_t)nd * sizeof(ptrdiff_t));
    }
    if (!m->shape_ok)
        return;
    i128 n = 1;
    for (int k = 0; k < nd; k++) {
        if (m->sh[k] < 0)
            m->shape_ok = false;
        if (m->sh[k] == 0)
            m->empty = true;
        n = smul(n, m->sh[k]);
    }
    if (!m->shape_ok)
        return;
    m->nitems = m->empty ? 0 : n;
    m->nbytes = smul(m->nitems, d->itemsize);
    i128 s = d->itemsize;
    for (int k = nd - 1; k >= 0; k--) {
        m->st[k] = d->no_strides ? s : d->strides[k];
        s = smul(s, m->sh[k]);
    }
    m->strides_fit = true;
    m->terms_fit = true;
    for (int k = 0; k < nd; k++) {
        m->strides_fit &= fits(m->st[k]);
        if (m->sh[k] < 1)
            continue;
        i128 t = smul(m->st[k], m->sh[k] - 1);
        m->terms_fit &= fits(t);
        if (t < 0)
            m->lo = sadd(m->lo, t);
        else
            m->hi = sadd(m->hi, t);
    }
    m->terms_fit &= fits(m->lo) && fits(m->hi);
}

static bool indirect(const desc *d)
{
    for (int k = 0; d->has_subs && k < d->ndim && k < MAXD; k++)
        if (d->subs[k] >= 0)
            return true;
    return false;
}

/* Every item of the (non-empty) direct layout lies in [home, home+homelen). */
static bool inside_home(const desc *d, const model *m)
{
    if (!m->shape_ok || m->empty || d->itemsize <= 0 || !m->strides_fit)
        return false;
    i128 buf = addr_of(d->b.buf), home = addr_of(d->home);
    return buf + m->lo >= home && buf + m->hi + d->itemsize <= home + d->homelen;
}

/* ---- item iteration ----------------------------------------------------- */

/* Every item up to ALL_ITEMS, else the corners (each index 0 or extent - 1;
 * all of them up to 2**10, else the lowest and highest corners for the
 * strides given and 64 more). */
typedef struct iter {
    int ndim;
    const ptrdiff_t *shape;
    ptrdiff_t idx[MAXD];
    int big[MAXD], nbig;
    bool neg[MAXD];
    bool all, none, started;
    uint64_t k, n;
} iter;

static void iter_init(iter *it, int ndim, const ptrdiff_t *shape, const i128 *strides)
{
    memset(it, 0, sizeof *it);
    it->ndim = ndim;
    it->shape = shape;
    i128 n = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] == 0)
            it->none = true;
        if (shape[d] > 1)
            it->big[it->nbig++] = d;
        it->neg[d] = strides && strides[d] < 0;
        n = smul(n, shape[d]);
    }
    it->all = n <= ALL_ITEMS;
    it->n = it->nbig <= 10 ? (uint64_t)1 << it->nbig : 66;
}

static bool corner_bit(const iter *it, int j)
{
    if (it->nbig <= 10)
        return it->k >> j & 1;
    if (it->k < 2)
        return it->neg[it->big[j]] == (it->k == 0);
    uint64_t h = (it->k * 0x9E3779B97F4A7C15u) ^ ((uint64_t)j * 0xBF58476D1CE4E5B9u);
    h ^= h >> 29;
    return h & 1;
}

static bool iter_next(iter *it)
{
    if (it->none)
        return false;
    if (it->all) {
        if (!it->started) {
            it->started = true;
            memset(it->idx, 0, sizeof it->idx);
            return true;
        }
        return fuzz_next_index(it->ndim, it->shape, it->idx, false);
    }
    if (it->k >= it->n)
        return false;
    memset(it->idx, 0, sizeof it->idx);
    for (int j = 0; j < it->nbig; j++)
        if (corner_bit(it, j))
            it->idx[it->big[j]] = it->shape[it->big[j]] - 1;
    it->k++;
    return true;
}

/* ---- reading the descriptor ---------------------------------------------- */

static ptrdiff_t read_itemsize(fz *f)
{
    static const ptrdiff_t common[16] = {1, 1, 2, 4, 8, 1, 2, 4, 8, 16, 3, 1, 5, 8, 4, 2};
    uint8_t k = fz_u8(f);
    switch (k & 15) {
    case 0:
        return 0;
    case 1:
        return -(ptrdiff_t)(k >> 4) - 1;
    case 2:
        return fz_index(f);
    case 3:
        return PTRDIFF_MAX - (k >> 4 & 3);
    case 4:
    case 5:
        return 1 + (ptrdiff_t)(fz_u8(f) % 64);
    default:
        return common[k >> 4];
    }
}

static int read_ndim(fz *f)
{
    static const int odd[12] = {-1, -2, -1000, 63, 64, 65, 66, 10, 12, 20, 40, 64};
    uint8_t k = fz_u8(f);
    if (k < 208)
        return k % 5;
    if (k < 244)
        return 5 + k % 5;
    return odd[k - 244];
}

static ptrdiff_t read_extent(fz *f)
{
    uint8_t k = fz_u8(f);
    if (k < 192)
        return 1 + k % 6;
    if (k < 212)
        return 0;
    if (k < 236)
        return fz_range(f, 0, 300);
    if (k < 244)
        return -(ptrdiff_t)(k - 235);
    return fz_index(f);
}

static ptrdiff_t read_stride(fz *f, ptrdiff_t itemsize, bool ptrs)
{
    uint8_t k = fz_u8(f);
    if (k < 128) {
        i128 s = smul(itemsize, (k % 9) - 4);
        return fits(s) ? (ptrdiff_t)s : PTRDIFF_MIN + k;
    }
    if (k < 176)
        return (ptrdiff_t)(k % 41) - 20;
    if (k < 192 && ptrs)
        return (ptrdiff_t)sizeof(uintptr_t) * ((k % 7) - 3);
    if (k < 208)
        return 0;
    return fz_index(f);
}

static void choose_format(fz *f, desc *d)
{
    uint8_t k = fz_u8(f);
    int match[NFORMATS], nmatch = 0;
    for (size_t i = 0; i < NFORMATS; i++)
        if (formats[i].size == d->itemsize)
            match[nmatch++] = (int)i;
    d->format = NULL;
    switch (k & 7) {
    default:
        if (nmatch) {
            const fmtent *e = &formats[match[(k >> 3) % nmatch]];
            d->format = e->text;
            d->fmt_size = e->size;
            return;
        }
        /* fall through */
    case 4:
    case 5:
        if (d->itemsize >= 0) {
            snprintf(d->fmtbuf, sizeof d->fmtbuf, (k & 7) == 5 ? "%tdB" : "%tds", d->itemsize);
            d->format = d->fmtbuf;
            d->fmt_size = d->itemsize;
        }
        return;
    case 6:
        return; /* NULL: "B", not checked against itemsize by validate */
    case 7:
        if (k & 8) {
            d->format = "{";
            d->fmt_size = -1;
        } else {
            const fmtent *e = &formats[(k >> 4) % NFORMATS];
            d->format = e->text;
            d->fmt_size = e->size;
        }
        return;
    }
}

static void read_desc(fz *f, arena *a, desc *d)
{
    memset(d, 0, sizeof *d);
    uint8_t f1 = fz_u8(f), f2 = fz_u8(f);
    d->has_subs = (f1 & 7) == 7;
    int smode = f1 >> 3 & 3; /* 0, 3: per dimension; 1: C order; 2: F order */
    d->no_strides = (f1 >> 5 & 3) == 0;
    d->readonly = f1 >> 7;
    d->no_shape = (f2 & 15) == 0 && !d->has_subs;
    d->null_buf = (f2 >> 4) == 15;

    d->itemsize = read_itemsize(f);
    d->ndim = read_ndim(f);
    int nd = d->ndim < 0 ? 0 : d->ndim > MAXD ? MAXD : d->ndim;
    for (int k = 0; k < nd; k++)
        d->shape[k] = read_extent(f);
    if (smode == 1 || smode == 2) {
        /* Contiguous with gaps, each dimension forwards or backwards. */
        i128 s = smul(d->itemsize, 1 + (fz_u8(f) % 3));
        uint8_t signs = fz_u8(f);
        for (int j = 0; j < nd; j++) {
            int k = smode == 1 ? nd - 1 - j : j;
            d->strides[k] = fits(s) ? (ptrdiff_t)s : PTRDIFF_MAX;
            if ((signs >> (j & 7)) & 1)
                d->strides[k] = fits(-s) ? (ptrdiff_t)-s : PTRDIFF_MIN;
            s = smul(s, d->shape[k] > 0 ? d->shape[k] : 1);
        }
    } else {
        for (int k = 0; k < nd; k++)
            d->strides[k] = read_stride(f, d->itemsize, d->has_subs);
    }

    if (d->has_subs) {
        a->ntab = 1 + fz_u8(f) % 16;
        a->tab = malloc((size_t)a->ntab * sizeof(uintptr_t));
        FUZZ_CHECK(a->tab);
        for (ptrdiff_t i = 0; i < a->ntab; i++) {
            uint8_t k = fz_u8(f);
            if (k < 160)
                a->tab[i] = (uintptr_t)a->mem + (uintptr_t)fz_range(f, -2, a->memlen);
            else if (k < 232)
                a->tab[i] = (uintptr_t)(a->tab + k % a->ntab);
            else
                a->tab[i] = (uintptr_t)fz_u64(f);
        }
        for (int k = 0; k < nd; k++) {
            uint8_t s = fz_u8(f);
            if (s < 96)
                d->subs[k] = -1 - s % 3;
            else if (s < 224)
                d->subs[k] = s % 4 ? 0 : fz_range(f, 0, 24);
            else
                d->subs[k] = fz_index(f);
        }
        d->in_tab = fz_bool(f);
        a->reg[a->nreg++] =
            (fuzz_region){(uintptr_t)a->tab, (uintptr_t)(a->tab + a->ntab)};
    }
    d->home = d->in_tab ? (unsigned char *)a->tab : a->mem;
    d->homelen = d->in_tab ? a->ntab * (ptrdiff_t)sizeof(uintptr_t) : a->memlen;

    choose_format(f, d);

    /* len: product(shape) * itemsize, or not. */
    i128 n = 1;
    for (int k = 0; k < nd; k++)
        n = smul(n, d->shape[k]);
    i128 nbytes = smul(n, d->itemsize);
    uint8_t k = fz_u8(f);
    if (k < 224)
        d->len = fits(nbytes) ? (ptrdiff_t)nbytes : (ptrdiff_t)k;
    else if (k < 240)
        d->len = fits(nbytes + k % 5 - 2) ? (ptrdiff_t)(nbytes + k % 5 - 2) : 0;
    else
        d->len = fz_index(f);

    /* The offset of buf in its region: anywhere, where negative strides
     * land inside, at the end, or anything. */
    k = fz_u8(f);
    if (k < 160) {
        d->offset = fz_range(f, 0, d->homelen);
    } else if (k < 224) {
        i128 lo = 0;
        for (int j = 0; j < nd && !d->no_strides; j++)
            if (d->shape[j] > 0 && d->strides[j] < 0)
                lo = sadd(lo, smul(d->strides[j], d->shape[j] - 1));
        i128 o = -lo + k % 4;
        d->offset = fits(o) ? (ptrdiff_t)o : 0;
    } else if (k < 240) {
        d->offset = d->homelen - k % 4;
    } else {
        d->offset = fz_index(f);
    }

    d->b = (mv_buffer){
        .buf = d->null_buf ? NULL : (void *)((uintptr_t)d->home + (uintptr_t)d->offset),
        .obj = NULL,
        .len = d->len,
        .itemsize = d->itemsize,
        .readonly = d->readonly,
        .ndim = d->ndim,
        .format = d->format,
        .shape = d->no_shape ? NULL : d->shape,
        .strides = d->no_strides ? NULL : d->strides,
        .suboffsets = d->has_subs ? d->subs : NULL,
    };
}

/* ---- values --------------------------------------------------------------- */

static uint64_t dbits(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

/* The same value, bit for bit (bytes: the same place and length). */
static bool same_value(const mv_value *a, const mv_value *b)
{
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case MV_VALUE_BOOL:
        return a->v.b == b->v.b;
    case MV_VALUE_SIGNED:
        return a->v.i == b->v.i;
    case MV_VALUE_UNSIGNED:
    case MV_VALUE_CHAR:
        return a->v.u == b->v.u;
    case MV_VALUE_DOUBLE:
        return dbits(a->v.d) == dbits(b->v.d);
    case MV_VALUE_COMPLEX:
        return dbits(a->v.c.re) == dbits(b->v.c.re) && dbits(a->v.c.im) == dbits(b->v.c.im);
    case MV_VALUE_BYTES:
        return a->v.bytes.ptr == b->v.bytes.ptr && a->v.bytes.len == b->v.bytes.len;
    default:
        return true;
    }
}

/* memoryview's native single-character format code (mv_format.native). */
static char native_of(const char *text)
{
    if (!text)
        return 'B';
    if (text[0] == '@')
        text++;
    if (text[0] && !text[1] && strchr("cbBhHiIlLqQnNfd?Pe", text[0]))
        return text[0];
    if (text[0] == 'Z' && (text[1] == 'f' || text[1] == 'd') && !text[2])
        return text[1] == 'f' ? 'F' : 'D';
    return 0;
}

/* ---- contiguity ----------------------------------------------------------- */

/* _IsCContiguous / _IsFortranContiguous for a descriptor with strides. */
static bool pb_contig(int ndim, const ptrdiff_t *shape, const ptrdiff_t *strides,
                      ptrdiff_t itemsize, ptrdiff_t len, bool fortran)
{
    if (len == 0)
        return true;
    i128 sd = itemsize;
    for (int k = 0; k < ndim; k++) {
        int i = fortran ? k : ndim - 1 - k;
        if (shape[i] > 1 && strides[i] != sd)
            return false;
        sd = smul(sd, shape[i]);
    }
    return true;
}

/* memoryview's init_flags: bit 0 C, bit 1 Fortran. */
static int mv_flags(int ndim, const ptrdiff_t *shape, const ptrdiff_t *strides,
                    ptrdiff_t itemsize, ptrdiff_t len, bool subs)
{
    if (subs)
        return 0;
    if (ndim == 0)
        return 3;
    if (ndim == 1)
        return shape[0] == 1 || strides[0] == itemsize ? 3 : 0;
    return (pb_contig(ndim, shape, strides, itemsize, len, false) ? 1 : 0) |
           (pb_contig(ndim, shape, strides, itemsize, len, true) ? 2 : 0);
}

static void check_span_contig(const mv_span *s)
{
    int want = mv_flags(s->ndim, s->shape, s->strides, s->itemsize, s->len, false);
    FUZZ_CHECK(mv_span_is_contiguous(s, 'C') == (want & 1));
    FUZZ_CHECK(mv_span_is_contiguous(s, 'F') == (want >> 1 & 1));
    FUZZ_CHECK(mv_span_is_contiguous(s, 'A') == (want != 0));
    FUZZ_CHECK(mv_span_is_contiguous(s, 'Z') == 0);
}

static void check_view_contig(mv_view *v)
{
    mv_error err;
    const mv_buffer *b = mv_view_buffer(v, &err);
    FUZZ_CHECK_ERR(b, &err);
    int want = mv_flags(b->ndim, b->shape, b->strides, b->itemsize, b->len, b->suboffsets != NULL);
    FUZZ_CHECK(mv_view_is_contiguous(v, 'C', &err) == (want & 1));
    FUZZ_CHECK(mv_view_is_contiguous(v, 'F', &err) == (want >> 1 & 1));
    FUZZ_CHECK(mv_view_is_contiguous(v, 'A', &err) == (want != 0));
    fuzz_rc(mv_view_is_contiguous(v, 'x', &err), &err); /* undocumented: the contract only */
}

/* ---- the validators -------------------------------------------------------- */

static void check_layout_validate(fz *f, const desc *d, const model *m)
{
    uint8_t k = fz_u8(f);
    ptrdiff_t memlen = d->homelen;
    if (k >= 232)
        memlen = d->homelen - (k & 7);
    else if (k >= 224)
        memlen = fz_index(f);
    const ptrdiff_t *shape = d->no_shape ? NULL : d->shape;
    const ptrdiff_t *strides = d->no_strides ? NULL : d->strides;
    mv_error err;
    int rc = fuzz_rc(
        mv_layout_validate(memlen, d->itemsize, d->ndim, shape, strides, d->offset, &err), &err);

    bool reject = memlen < 0 || d->itemsize <= 0 || !m->nd_ok || (d->ndim > 0 && !shape) ||
                  d->offset < 0 || d->offset > memlen || !m->shape_ok;
    bool accept = false;
    if (!reject) {
        if (m->empty) {
            /* No item to place; strides whose extents overflow are left
             * to the library's judgement. */
            accept = m->terms_fit;
        } else {
            i128 first = d->offset + m->lo, end = d->offset + m->hi + d->itemsize;
            accept = m->nbytes <= PD_MAX && first >= 0 && end <= memlen;
            reject = !accept;
        }
    }
    if (reject)
        FUZZ_CHECK_ERR(rc == MV_EVALUE || rc == MV_EOVERFLOW, &err);
    if (accept)
        FUZZ_CHECK_ERR(rc == 0, &err);
    if (rc < 0)
        return;

    /* Accepted: every item walked lies inside [0, memlen), item by item
     * (the model above judged by the extremes only). */
    iter it;
    iter_init(&it, d->ndim, m->sh, m->st);
    while (iter_next(&it)) {
        i128 off = d->offset;
        for (int j = 0; j < d->ndim; j++)
            off += (i128)it.idx[j] * m->st[j];
        FUZZ_CHECK(off >= 0 && off + d->itemsize <= memlen);
        if (memlen == d->homelen) {
            /* ASan sees a walk that leaves the block. */
            volatile unsigned char t = d->home[(ptrdiff_t)off];
            t = d->home[(ptrdiff_t)off + d->itemsize - 1];
            (void)t;
        }
    }
}

/* mv_buffer_validate against its header: the listed inconsistencies are
 * refused, a descriptor with none of them (and no extent that overflows
 * ptrdiff_t, which the library may refuse) is accepted. */
static int check_buffer_validate(const desc *d, const model *m)
{
    const mv_buffer *b = &d->b;
    mv_error err;
    int rc = fuzz_rc(mv_buffer_validate(b, &err), &err);
    bool reject = false, either = false;
    i128 buf = addr_of(b->buf);
    if (!m->nd_ok || b->len < 0 || (!b->buf && b->len != 0) || b->itemsize < 0 ||
        (b->itemsize == 0 && b->len != 0)) {
        reject = true;
    } else if (!b->shape) {
        if (b->strides || b->suboffsets || b->ndim > 1 ||
            (b->ndim == 0 && b->len != b->itemsize) ||
            (b->ndim == 1 && b->itemsize > 0 && b->len % b->itemsize != 0))
            reject = true;
        else if (buf + b->len > ADDR_END)
            reject = true;
        else if (buf + b->len == ADDR_END)
            either = true;
    } else if (!m->shape_ok || (!m->empty && m->nbytes > PD_MAX) ||
               (!m->empty && m->nitems > PD_MAX) ||
               (i128)b->len != (m->empty ? 0 : m->nbytes)) {
        /* The item count must fit too (zero-size items have no bytes). */
        reject = true;
    } else if (!m->empty && b->strides && b->ndim > 0) {
        if (!m->terms_fit || !fits(m->hi + b->itemsize)) {
            either = true;
        } else {
            i128 first = buf + m->lo, end = buf + m->hi + b->itemsize;
            if (first < 0 || end > ADDR_END)
                reject = true;
            else if (end == ADDR_END)
                either = true;
        }
    } else if (!m->empty && b->len > 0) {
        if (buf + b->len > ADDR_END)
            reject = true;
        else if (buf + b->len == ADDR_END)
            either = true;
    }
    if (b->format && (d->fmt_size < 0 || d->fmt_size != b->itemsize))
        reject = true;
    if (reject)
        FUZZ_CHECK_ERR(rc == MV_EVALUE || rc == MV_EOVERFLOW, &err);
    else if (!either)
        FUZZ_CHECK_ERR(rc == 0, &err);
    return rc;
}

/* The item at idx by the model: buf + idx . strides, each pointer read
 * through a suboffset checked to lie in the harness's memory first.
 * False when one does not (the library would read outside too). */
static bool walk(const arena *a, const desc *d, const model *m, const ptrdiff_t *idx,
                 uintptr_t *out)
{
    uintptr_t p = (uintptr_t)d->b.buf;
    for (int j = 0; j < d->ndim; j++) {
        p += (uintptr_t)idx[j] * (uintptr_t)(ptrdiff_t)m->st[j];
        if (d->has_subs && d->subs[j] >= 0) {
            if (!fuzz_inside(a->reg, a->nreg, p, sizeof(uintptr_t)))
                return false;
            uintptr_t q;
            memcpy(&q, (const void *)p, sizeof q);
            p = q + (uintptr_t)d->subs[j];
        }
    }
    *out = p;
    return true;
}

static void check_get_pointer(fz *f, const arena *a, const desc *d, const model *m)
{
    /* Only descriptors whose sizes add up: the C strides of one without
     * strides are computed up to product(shape) * itemsize. */
    if (!m->shape_ok || d->itemsize <= 0 || (d->ndim > 1 && d->no_shape) || !m->strides_fit ||
        !m->terms_fit || d->len < 0 || (d->no_strides && m->nbytes > PD_MAX))
        return;
    mv_error err;
    if (d->ndim == 0) {
        uintptr_t want;
        FUZZ_CHECK(walk(a, d, m, NULL, &want));
        FUZZ_CHECK_ERR(mv_buffer_get_pointer(&d->b, NULL, &err) == d->b.buf, &err);
        return;
    }
    iter it;
    iter_init(&it, d->ndim, m->sh, m->st);
    while (iter_next(&it)) {
        uintptr_t want;
        if (!walk(a, d, m, it.idx, &want))
            continue;
        void *got = mv_buffer_get_pointer(&d->b, it.idx, &err);
        /* NULL is an item's address too when buf is NULL. */
        if (want != 0)
            fuzz_ptr(got, &err);
        FUZZ_CHECK_ERR((uintptr_t)got == want, &err);
    }
    /* One index out of range: refused before any pointer is followed. */
    ptrdiff_t idx[MAXD] = {0};
    int j = fz_u8(f) % d->ndim;
    uint8_t k = fz_u8(f);
    const ptrdiff_t bad[6] = {-1, m->sh[j], m->sh[j] + (m->sh[j] < PTRDIFF_MAX),
                              PTRDIFF_MIN, PTRDIFF_MAX, -m->sh[j]};
    idx[j] = bad[k % 6];
    if (idx[j] >= 0 && idx[j] < m->sh[j])
        idx[j] = -1;
    FUZZ_CHECK(mv_buffer_get_pointer(&d->b, idx, &err) == NULL);
    FUZZ_CHECK_ERR(err.code == MV_EINDEX, &err);
}

static void check_buffer_contig(const desc *d, const model *m)
{
    const mv_buffer *b = &d->b;
    int c = 0, fo = 0;
    if (!b->suboffsets) {
        if (!b->strides) {
            c = 1;
            int big = 0;
            for (int k = 0; k < b->ndim; k++)
                big += m->sh[k] > 1;
            fo = b->len == 0 || b->ndim <= 1 || big <= 1;
        } else {
            c = pb_contig(b->ndim, b->shape, b->strides, b->itemsize, b->len, false);
            fo = pb_contig(b->ndim, b->shape, b->strides, b->itemsize, b->len, true);
        }
    }
    FUZZ_CHECK(mv_buffer_is_contiguous(b, 'C') == c);
    FUZZ_CHECK(mv_buffer_is_contiguous(b, 'F') == fo);
    FUZZ_CHECK(mv_buffer_is_contiguous(b, 'A') == (c || fo));
    FUZZ_CHECK(mv_buffer_is_contiguous(b, 'q') == 0);
}

/* ---- span helpers ---------------------------------------------------------- */

static i128 span_addr(const mv_span *s, const ptrdiff_t *idx)
{
    i128 p = addr_of(s->buf);
    for (int d = 0; d < s->ndim; d++)
        p += (i128)idx[d] * s->strides[d];
    return p;
}

static bool span_equal(const mv_span *a, const mv_span *b, bool same_format)
{
    if (a->buf != b->buf || a->len != b->len || a->itemsize != b->itemsize ||
        a->ndim != b->ndim || a->readonly != b->readonly || a->native != b->native)
        return false;
    if (same_format ? a->format != b->format : strcmp(a->format, b->format) != 0)
        return false;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d] || a->strides[d] != b->strides[d])
            return false;
    return true;
}

/* Every item walked lies inside [lo, hi) and mv_span_at agrees with the
 * address computed from the fields. */
static void check_span_items(const mv_span *s, i128 lo, i128 hi)
{
    FUZZ_CHECK(s->ndim >= 0 && s->ndim <= MV_SPAN_MAX_NDIM && s->itemsize > 0);
    i128 n = s->itemsize;
    for (int d = 0; d < s->ndim; d++) {
        FUZZ_CHECK(s->shape[d] >= 0);
        n = smul(n, s->shape[d]);
    }
    FUZZ_CHECK(n == s->len);
    i128 st[MV_SPAN_MAX_NDIM];
    for (int d = 0; d < s->ndim; d++)
        st[d] = s->strides[d];
    iter it;
    iter_init(&it, s->ndim, s->shape, st);
    while (iter_next(&it)) {
        i128 p = span_addr(s, it.idx);
        FUZZ_CHECK(p >= lo && p + s->itemsize <= hi);
        FUZZ_CHECK(addr_of(mv_span_at(s, it.idx)) == p);
        if (s->ndim == 1)
            FUZZ_CHECK(addr_of(mv_span_at1(s, it.idx[0])) == p);
    }
}

typedef struct ctx {
    unsigned char *home;
    ptrdiff_t homelen;
    mv_span spans[MAXSPANS];
    int nspans;
    unsigned char *snap;
} ctx;

static void push_span(ctx *c, const mv_span *s)
{
    if (c->nspans < MAXSPANS)
        c->spans[c->nspans++] = *s;
    else
        c->spans[MAXSPANS - 1] = *s;
}

static void check_in_home(const ctx *c, const mv_span *s)
{
    check_span_items(s, addr_of(c->home), addr_of(c->home) + c->homelen);
    check_span_contig(s);
}

/* ---- slicing model (NumPy basic indexing, as fuzz_subscript) ------------- */

typedef struct out_dim {
    int src; /* source dimension, or -1 for a new axis */
    ptrdiff_t start, step, n;
} out_dim;

typedef struct smodel {
    int rc;
    int ndim;
    out_dim dims[MV_MAX_NDIM + MAXKEYS];
    ptrdiff_t fixed[MV_SPAN_MAX_NDIM];
} smodel;

static void model_keys(smodel *m, const mv_span *s, const mv_key *keys, int nkeys)
{
    m->ndim = 0;
    mv_key full[MV_SPAN_MAX_NDIM + MAXKEYS];
    int nfull = 0;
    if ((m->rc = model_expand_keys(s->ndim, keys, nkeys, full, &nfull)) != 0)
        return;
    int d = 0;
    for (int i = 0; i < nfull; i++) {
        const mv_key *k = &full[i];
        if (k->kind == MV_KEY_NEWAXIS) {
            m->dims[m->ndim++] = (out_dim){.src = -1, .n = 1};
            continue;
        }
        if (k->kind == MV_KEY_INDEX) {
            i128 ix = k->index;
            if (ix < 0)
                ix += s->shape[d];
            if (ix < 0 || ix >= s->shape[d]) {
                m->rc = MV_EINDEX;
                return;
            }
            m->fixed[d++] = (ptrdiff_t)ix;
            continue;
        }
        if (k->has_step && k->step == 0) {
            m->rc = MV_EVALUE;
            return;
        }
        out_dim o = {.src = d};
        o.n = model_slice(k, s->shape[d], &o.start, &o.step);
        m->dims[m->ndim++] = o;
        d++;
    }
    FUZZ_CHECK(d == s->ndim);
    if (m->ndim > MV_SPAN_MAX_NDIM)
        m->rc = MV_EVALUE;
}

static void read_key(fz *f, mv_key *k)
{
    memset(k, 0, sizeof *k);
    uint8_t t = fz_u8(f);
    switch (t & 7) {
    case 0:
    case 1:
    case 2:
        k->kind = MV_KEY_INDEX;
        k->index = fz_index(f);
        break;
    case 6:
        k->kind = (t & 8) ? MV_KEY_ELLIPSIS : MV_KEY_NEWAXIS;
        break;
    default:
        k->kind = MV_KEY_SLICE;
        k->has_start = t & 8;
        k->has_stop = t & 16;
        k->has_step = t & 32;
        if (k->has_start)
            k->start = fz_index(f);
        if (k->has_stop)
            k->stop = fz_index(f);
        if (k->has_step)
            k->step = (t & 64) ? fz_index(f) : (ptrdiff_t)(fz_u8(f) % 7) - 3;
        break;
    }
}

static void op_slice(fz *f, ctx *c, const mv_span *s)
{
    mv_key keys[MAXKEYS];
    int nkeys = fz_u8(f) % (MAXKEYS + 1);
    for (int i = 0; i < nkeys; i++)
        read_key(f, &keys[i]);
    smodel m;
    model_keys(&m, s, keys, nkeys);

    mv_span out, keep;
    memset(&out, 0xa5, sizeof out);
    keep = out;
    mv_error err;
    int rc = fuzz_rc(mv_span_slice(&out, s, keys, nkeys, &err), &err);
    FUZZ_CHECK_ERR(rc == m.rc, &err);

    /* In place (out == span) gives the same result, or the same error and
     * the span untouched. */
    mv_span in = *s;
    mv_error err2;
    int rc2 = mv_span_slice(&in, &in, keys, nkeys, &err2);
    FUZZ_CHECK(rc2 == rc);
    if (rc < 0) {
        FUZZ_CHECK(memcmp(&out, &keep, sizeof out) == 0);
        FUZZ_CHECK(span_equal(&in, s, true));
        FUZZ_CHECK(strcmp(err.message, err2.message) == 0);
        return;
    }
    FUZZ_CHECK(span_equal(&in, &out, true));

    FUZZ_CHECK(out.ndim == m.ndim);
    FUZZ_CHECK(out.itemsize == s->itemsize && out.format == s->format &&
               out.readonly == s->readonly && out.native == s->native);
    for (int o = 0; o < m.ndim; o++)
        FUZZ_CHECK(out.shape[o] == m.dims[o].n);
    check_in_home(c, &out);

    /* Every item is the source item the model maps it to. */
    i128 st[MV_SPAN_MAX_NDIM];
    for (int d = 0; d < out.ndim; d++)
        st[d] = out.strides[d];
    iter it;
    iter_init(&it, out.ndim, out.shape, st);
    while (iter_next(&it)) {
        ptrdiff_t src[MV_SPAN_MAX_NDIM];
        memcpy(src, m.fixed, sizeof src);
        for (int o = 0; o < m.ndim; o++)
            if (m.dims[o].src >= 0)
                src[m.dims[o].src] =
                    (ptrdiff_t)(m.dims[o].start + (i128)it.idx[o] * m.dims[o].step);
        FUZZ_CHECK(span_addr(&out, it.idx) == span_addr(s, src));
    }
    push_span(c, &out);
}

/* ---- casts --------------------------------------------------------------- */

typedef struct castfmt {
    const char *text;
    ptrdiff_t size; /* -1: does not parse */
    char native;
} castfmt;

static const castfmt cast_formats[] = {
    {"B", 1, 'B'}, {"b", 1, 'b'}, {"c", 1, 'c'}, {"@B", 1, 'B'}, {"?", sizeof(_Bool), '?'},
    {"h", sizeof(short), 'h'}, {"H", sizeof(short), 'H'}, {"i", sizeof(int), 'i'},
    {"I", sizeof(int), 'I'}, {"l", sizeof(long), 'l'}, {"q", sizeof(long long), 'q'},
    {"N", sizeof(size_t), 'N'}, {"P", sizeof(void *), 'P'}, {"e", 2, 'e'}, {"f", 4, 'f'},
    {"d", 8, 'd'}, {"Zf", 8, 'F'}, {"Zd", 16, 'D'}, {"<i", 4, 0}, {">h", 2, 0}, {"3s", 3, 0},
    {"2B", 2, 0}, {"x", 1, 0}, {"0s", 0, 0}, {"=q", 8, 0}, {"w", 4, 0}, {"{", -1, 0},
    {"", -1, 0}, {"5x", 5, 0},
};
#define NCAST (sizeof cast_formats / sizeof cast_formats[0])

static bool is_byte(char c)
{
    return c == 'B' || c == 'b' || c == 'c';
}

/* The error codes the cast may give (bits), 0 when it must succeed; *want
 * is then the result. */
static unsigned model_cast(const mv_span *s, const castfmt *cf, const ptrdiff_t *shape, int ndim,
                           int flags, mv_span *want)
{
    unsigned bad = 0;
    bool strict = flags & MV_CAST_STRICT;
    if (flags & ~(MV_CAST_STRICT | MV_CAST_FORTRAN))
        bad |= BIT(MV_EVALUE);
    int cfl = mv_flags(s->ndim, s->shape, s->strides, s->itemsize, s->len, false);
    bool zeros = false;
    for (int d = 0; d < s->ndim; d++)
        zeros |= s->shape[d] == 0;
    if (strict) {
        if (!(cfl & 1))
            bad |= BIT(MV_ETYPE);
        if ((ndim >= 0 || s->ndim != 1) && zeros)
            bad |= BIT(MV_ETYPE);
        if (ndim >= 0 && s->ndim != 1 && ndim != 1)
            bad |= BIT(MV_ETYPE);
    } else if (!cfl) {
        bad |= BIT(MV_ETYPE);
    }
    if (ndim > MV_MAX_NDIM)
        bad |= BIT(MV_EVALUE);
    ptrdiff_t size = cf->size;
    if (strict) {
        if (!cf->native) {
            bad |= BIT(MV_EVALUE);
            size = 0;
        } else if (!is_byte(s->native) && !is_byte(cf->native)) {
            bad |= BIT(MV_ETYPE);
        }
    } else if (size <= 0) {
        bad |= BIT(MV_EVALUE);
    }
    int rnd = ndim < 0 ? 1 : ndim;
    if (size > 0 && ndim <= MV_MAX_NDIM) {
        if (s->len % size) {
            bad |= BIT(MV_ETYPE);
        } else {
            i128 p = size;
            bool elem_bad = false;
            for (int i = 0; i < ndim; i++) {
                elem_bad |= shape[i] <= 0;
                p = smul(p, shape[i]);
                elem_bad |= p > PD_MAX;
            }
            if (elem_bad)
                bad |= BIT(MV_EVALUE);
            else if (ndim >= 0 && p != s->len)
                bad |= BIT(MV_ETYPE);
            if (rnd > MV_SPAN_MAX_NDIM)
                bad |= BIT(MV_EVALUE);
        }
    }
    if (bad)
        return bad;
    memset(want, 0, sizeof *want);
    want->buf = s->buf;
    want->len = s->len;
    want->itemsize = size;
    want->format = cf->text;
    want->ndim = rnd;
    want->readonly = s->readonly;
    want->native = cf->native;
    if (ndim < 0)
        want->shape[0] = s->len / size;
    else
        memcpy(want->shape, shape, (size_t)ndim * sizeof(ptrdiff_t));
    i128 sd = size;
    for (int k = 0; k < rnd; k++) {
        int i = (flags & MV_CAST_FORTRAN) ? k : rnd - 1 - k;
        want->strides[i] = (ptrdiff_t)sd;
        sd = smul(sd, want->shape[i]);
    }
    return 0;
}

static void op_cast(fz *f, ctx *c, const mv_span *s)
{
    const castfmt *cf = &cast_formats[fz_u8(f) % NCAST];
    uint8_t k = fz_u8(f);
    int flags = k & 3;
    if (k == 255)
        flags = 4;
    k = fz_u8(f);
    int ndim = k < 64 ? -1 : k < 240 ? k % 4 : (k & 1) ? 9 : 65;
    ptrdiff_t shape[MV_MAX_NDIM + 2];
    i128 total = cf->size > 0 ? s->len / cf->size : 0, prod = 1;
    for (int i = 0; i < ndim; i++) {
        uint8_t e = fz_u8(f);
        if (i == ndim - 1 && e < 200) {
            /* The rest, so that sizes mostly add up. */
            shape[i] = prod > 0 && fits(total / prod) ? (ptrdiff_t)(total / prod) : 1;
        } else if (e < 200) {
            shape[i] = 1 + e % 4;
        } else if (e < 230) {
            shape[i] = (ptrdiff_t)(e % 3) - 1;
        } else {
            shape[i] = fz_index(f);
        }
        prod = smul(prod, shape[i]);
    }
    mv_span want;
    unsigned bad = model_cast(s, cf, shape, ndim, flags, &want);

    mv_span out, keep;
    memset(&out, 0xa5, sizeof out);
    keep = out;
    mv_error err;
    int rc = fuzz_rc(mv_span_cast(&out, s, cf->text, shape, ndim, flags, &err), &err);
    if (bad) {
        FUZZ_CHECK_ERR(rc < 0 && (bad & BIT(rc)), &err);
        FUZZ_CHECK(memcmp(&out, &keep, sizeof out) == 0);
        return;
    }
    FUZZ_CHECK_ERR(rc == 0, &err);
    FUZZ_CHECK(span_equal(&out, &want, true));
    /* A cast covers exactly the source's bytes. */
    check_span_items(&out, addr_of(s->buf), addr_of(s->buf) + s->len);
    check_span_contig(&out);
    push_span(c, &out);
}

/* ---- items ------------------------------------------------------------- */

/* An index for span s from the input; *inr says whether it is in range. */
static int read_index(fz *f, const mv_span *s, ptrdiff_t *idx, ptrdiff_t *at, bool *inr)
{
    uint8_t k = fz_u8(f);
    int n = s->ndim;
    if (k >= 240)
        n = k & 1 ? n + 1 : n - 1;
    if (n < 0)
        n = 0;
    *inr = true;
    for (int d = 0; d < n; d++) {
        uint8_t e = fz_u8(f);
        ptrdiff_t ext = d < s->ndim ? s->shape[d] : 1;
        if (e < 224 && ext > 0) {
            /* fz_range spans less than 2**32: the last few come apart. */
            at[d] = (e & 2) ? ext - 1 - (ptrdiff_t)(fz_u8(f) % (ext < 4 ? ext : 4))
                            : fz_range(f, 0, ext - 1 < 0xffffffff ? ext - 1 : 0xffffffff);
            idx[d] = e & 1 ? at[d] - ext : at[d];
        } else {
            i128 i = e & 1 ? (i128)ext + (e & 3) : e < 240 ? -(i128)ext - 1 - (e & 3) : fz_index(f);
            idx[d] = i > PD_MAX ? PTRDIFF_MAX : i < PD_MIN ? PTRDIFF_MIN : (ptrdiff_t)i;
            i128 w = idx[d] < 0 ? (i128)idx[d] + ext : idx[d];
            at[d] = (ptrdiff_t)w;
            if (w < 0 || w >= ext)
                *inr &= d >= s->ndim;
        }
    }
    return n;
}

static void op_item(fz *f, ctx *c, const mv_span *s, bool write)
{
    mv_format fmt;
    mv_error err;
    FUZZ_CHECK_ERR(mv_format_parse(&fmt, s->format, &err) == 0, &err);
    FUZZ_CHECK(fmt.itemsize == s->itemsize);
    if (fmt.nvalues > MAXVALUES) {
        mv_format_clear(&fmt);
        return;
    }
    ptrdiff_t idx[MV_SPAN_MAX_NDIM + 1] = {0}, at[MV_SPAN_MAX_NDIM + 1] = {0};
    bool inr;
    int nindex = read_index(f, s, idx, at, &inr);
    uint8_t k = fz_u8(f);
    ptrdiff_t room = fmt.nvalues - (k >= 240 && fmt.nvalues > 0);
    if (write && k >= 248)
        room = fmt.nvalues + 1;

    int want = 0;
    if (write && s->readonly)
        want = MV_ETYPE;
    else if (nindex < s->ndim)
        want = MV_ENOTIMPL;
    else if (nindex > s->ndim)
        want = MV_ETYPE;
    else if (!inr)
        want = MV_EINDEX;
    else if (room != fmt.nvalues && (write || room < fmt.nvalues))
        want = MV_EVALUE;

    size_t nv = (size_t)fmt.nvalues + 2;
    mv_value *vals = calloc(nv, sizeof *vals), *ref = calloc(nv, sizeof *ref);
    FUZZ_CHECK(vals && ref);
    i128 addr = want ? 0 : span_addr(s, at);
    unsigned char *item = want ? NULL : (unsigned char *)(uintptr_t)addr;
    if (!want)
        FUZZ_CHECK(addr >= addr_of(c->home) && addr + s->itemsize <= addr_of(c->home) + c->homelen);

    if (!write) {
        int rc = fuzz_rc(mv_span_get_item(s, idx, nindex, vals, room, &err), &err);
        FUZZ_CHECK_ERR(rc == want, &err);
        if (rc == 0) {
            FUZZ_CHECK(fuzz_rc(mv_format_unpack(&fmt, item, ref, fmt.nvalues, &err), &err) == 0);
            for (ptrdiff_t j = 0; j < fmt.nvalues; j++)
                FUZZ_CHECK(same_value(&vals[j], &ref[j]));
        }
    } else {
        /* The values: decoded from input bytes, or from some bytes of the
         * memory itself (a bytes value may then alias the item written). */
        /* An item larger than the memory: the span is empty, every index
         * is refused and the values (left NONE) are never read. */
        bool fit = s->itemsize <= c->homelen;
        FUZZ_CHECK(fit || want);
        size_t isz = fit ? (size_t)s->itemsize : 1;
        unsigned char *src = malloc(isz), *expect = malloc(isz);
        FUZZ_CHECK(src && expect);
        const unsigned char *from = src;
        uint8_t m = fz_u8(f);
        if ((m & 3) == 0 && fit) {
            from = c->home + fz_range(f, 0, c->homelen - s->itemsize);
        } else {
            for (size_t i = 0; fit && i < isz; i++)
                src[i] = fz_u8(f);
        }
        if (fit)
            FUZZ_CHECK(fuzz_rc(mv_format_unpack(&fmt, from, vals, fmt.nvalues, &err), &err) == 0);
        int prc = 0;
        if (!want) {
            /* The reference: the same values packed into a copy of the item. */
            memcpy(expect, item, (size_t)s->itemsize);
            prc = fuzz_rc(mv_format_pack(&fmt, s->format, expect, vals, fmt.nvalues, &err), &err);
            want = prc;
        }
        memcpy(c->snap, c->home, (size_t)c->homelen);
        int rc = fuzz_rc(mv_span_set_item(s, idx, nindex, vals, room, &err), &err);
        FUZZ_CHECK_ERR(rc == want, &err);
        ptrdiff_t off = rc == 0 ? item - c->home : c->homelen;
        if (rc == 0)
            memcpy(c->snap + off, expect, (size_t)s->itemsize);
        FUZZ_CHECK(memcmp(c->snap, c->home, (size_t)c->homelen) == 0);
        free(src);
        free(expect);
    }
    free(vals);
    free(ref);
    mv_format_clear(&fmt);
}

/* mv_span_at / mv_span_at1 at indices in and out of range. */
static void op_at(fz *f, const mv_span *s)
{
    ptrdiff_t idx[MV_SPAN_MAX_NDIM + 1] = {0}, at[MV_SPAN_MAX_NDIM + 1] = {0};
    bool inr;
    int n = read_index(f, s, idx, at, &inr);
    if (n == s->ndim) {
        void *p = mv_span_at(s, idx);
        if (inr)
            FUZZ_CHECK(addr_of(p) == span_addr(s, at));
        else
            FUZZ_CHECK(p == NULL);
    }
    if (s->ndim == 0)
        FUZZ_CHECK(mv_span_at(s, NULL) == s->buf);
    else
        FUZZ_CHECK(mv_span_at(s, NULL) == NULL);
    void *p1 = mv_span_at1(s, idx[0]);
    if (s->ndim == 1 && n >= 1 && at[0] >= 0 && at[0] < s->shape[0])
        FUZZ_CHECK(addr_of(p1) == span_addr(s, at));
    else if (s->ndim != 1 || n >= 1)
        FUZZ_CHECK(p1 == NULL);
}

/* ---- span <-> buffer, views, exporters ------------------------------------ */

/* NULL arguments: refused (the documented ones as documented), never
 * followed. */
static void check_null_args(const mv_span *s, const mv_buffer *b)
{
    mv_error err;
    mv_span t = *s, keep = *s;
    FUZZ_CHECK(fuzz_rc(mv_span_from_buffer(NULL, b, &err), &err) == MV_EVALUE);
    FUZZ_CHECK(fuzz_rc(mv_span_from_buffer(&t, NULL, &err), &err) == MV_EVALUE);
    mv_buffer hold, zero;
    memset(&hold, 0x5a, sizeof hold);
    memset(&zero, 0, sizeof zero);
    FUZZ_CHECK(fuzz_rc(mv_span_acquire(&t, &hold, NULL, MV_BUF_FULL_RO, &err), &err) < 0);
    FUZZ_CHECK(memcmp(&hold, &zero, sizeof hold) == 0);
    FUZZ_CHECK(fuzz_rc(mv_span_from_view(&t, NULL, &err), &err) < 0);
    FUZZ_CHECK(fuzz_rc(mv_span_slice(&t, NULL, NULL, 0, &err), &err) < 0);
    FUZZ_CHECK(fuzz_rc(mv_span_slice(NULL, s, NULL, 0, &err), &err) < 0);
    FUZZ_CHECK(fuzz_rc(mv_span_cast(NULL, s, "B", NULL, -1, 0, &err), &err) < 0);
    FUZZ_CHECK(fuzz_rc(mv_span_cast(&t, s, NULL, NULL, -1, 0, &err), &err) < 0);
    FUZZ_CHECK(memcmp(&t, &keep, sizeof t) == 0);
    ptrdiff_t idx[MV_SPAN_MAX_NDIM] = {0};
    mv_value v[2];
    FUZZ_CHECK(fuzz_rc(mv_span_get_item(NULL, idx, 0, v, 2, &err), &err) < 0);
    FUZZ_CHECK(fuzz_rc(mv_span_set_item(NULL, idx, 0, v, 2, &err), &err) < 0);
    FUZZ_CHECK(mv_span_is_contiguous(NULL, 'C') == 0);
    FUZZ_CHECK(mv_span_at(NULL, idx) == NULL && mv_span_at1(NULL, 0) == NULL);
}

static void op_buffer(const mv_span *s)
{
    mv_buffer b;
    memset(&b, 0x5a, sizeof b);
    mv_buffer keep = b;
    mv_span_buffer(NULL, &b);
    FUZZ_CHECK(memcmp(&b, &keep, sizeof b) == 0);
    mv_span_buffer(s, NULL);
    mv_span_buffer(s, &b);
    FUZZ_CHECK(b.buf == s->buf && b.obj == NULL && b.len == s->len && b.itemsize == s->itemsize &&
               b.readonly == s->readonly && b.ndim == s->ndim && b.format == s->format &&
               b.suboffsets == NULL);
    FUZZ_CHECK(b.shape == (s->ndim > 0 ? s->shape : NULL));
    FUZZ_CHECK(b.strides == (s->ndim > 0 ? s->strides : NULL));
    mv_error err;
    FUZZ_CHECK_ERR(mv_buffer_validate(&b, &err) == 0, &err);
    mv_span t;
    FUZZ_CHECK_ERR(mv_span_from_buffer(&t, &b, &err) == 0, &err);
    FUZZ_CHECK(span_equal(&t, s, true));
    int c = s->ndim == 0 || pb_contig(s->ndim, s->shape, s->strides, s->itemsize, s->len, false);
    int fo = s->ndim == 0 || pb_contig(s->ndim, s->shape, s->strides, s->itemsize, s->len, true);
    FUZZ_CHECK(mv_buffer_is_contiguous(&b, 'C') == c);
    FUZZ_CHECK(mv_buffer_is_contiguous(&b, 'F') == fo);
    check_null_args(s, &b);
}

/* The view must show exactly the span's layout. */
static void check_view_of_span(mv_view *v, const mv_span *s)
{
    mv_error err;
    const mv_buffer *b = mv_view_buffer(v, &err);
    FUZZ_CHECK_ERR(b, &err);
    FUZZ_CHECK(b->buf == s->buf && b->len == s->len && b->itemsize == s->itemsize &&
               b->ndim == s->ndim && (b->readonly != 0) == s->readonly && !b->suboffsets);
    FUZZ_CHECK(strcmp(b->format, s->format) == 0);
    for (int d = 0; d < s->ndim; d++)
        FUZZ_CHECK(b->shape[d] == s->shape[d] && b->strides[d] == s->strides[d]);
    check_view_contig(v);
    FUZZ_CHECK(mv_view_is_contiguous(v, 'C', &err) == mv_span_is_contiguous(s, 'C'));
    FUZZ_CHECK(mv_view_is_contiguous(v, 'F', &err) == mv_span_is_contiguous(s, 'F'));
    mv_span t;
    FUZZ_CHECK_ERR(mv_span_from_view(&t, v, &err) == 0, &err);
    FUZZ_CHECK(span_equal(&t, s, false));
}

/* mv_view_from_span onto a view of [home + lo, home + lo + n). */
static void op_view(fz *f, ctx *c, const mv_span *s)
{
    ptrdiff_t lo = fz_range(f, 0, c->homelen);
    ptrdiff_t n = fz_range(f, 0, c->homelen - lo);
    bool writable = fz_bool(f);
    mv_error err;
    mv_view *base = mv_view_from_memory(c->home + lo, n, writable ? MV_BUF_WRITE : MV_BUF_READ,
                                        &err);
    FUZZ_CHECK_ERR(base, &err);

    unsigned bad = 0;
    if (!s->readonly && !writable)
        bad |= BIT(MV_EBUFFER);
    i128 slo = 0, shi = 0;
    bool any = s->len > 0;
    if (any) {
        slo = shi = addr_of(s->buf);
        for (int d = 0; d < s->ndim; d++) {
            i128 t = (i128)(s->shape[d] - 1) * s->strides[d];
            if (t < 0)
                slo += t;
            else
                shi += t;
        }
        shi += s->itemsize;
        i128 blo = addr_of(c->home) + lo;
        if (n == 0 || slo < blo || shi > blo + n)
            bad |= BIT(MV_EVALUE);
    }
    mv_view *v = fuzz_ptr(mv_view_from_span(base, s, &err), &err);
    if (bad) {
        FUZZ_CHECK_ERR(!v && (bad & BIT(err.code)), &err);
    } else {
        FUZZ_CHECK_ERR(v, &err);
        check_view_of_span(v, s);
        mv_decref(v);
    }
    FUZZ_CHECK(fuzz_ptr(mv_view_from_span(base, NULL, &err), &err) == NULL);
    mv_decref(base);
}

static const int request_flags[] = {
    MV_BUF_SIMPLE, MV_BUF_WRITABLE, MV_BUF_FORMAT, MV_BUF_ND, MV_BUF_STRIDES,
    MV_BUF_C_CONTIGUOUS, MV_BUF_F_CONTIGUOUS, MV_BUF_ANY_CONTIGUOUS, MV_BUF_INDIRECT,
    MV_BUF_CONTIG, MV_BUF_CONTIG_RO, MV_BUF_STRIDED, MV_BUF_STRIDED_RO, MV_BUF_RECORDS,
    MV_BUF_RECORDS_RO, MV_BUF_FULL, MV_BUF_FULL_RO, MV_BUF_FORMAT | MV_BUF_ND, 0x200, 0x2,
};
#define NREQ (sizeof request_flags / sizeof request_flags[0])

/* mv_span_acquire is mv_object_getbuffer then mv_span_from_buffer: the
 * same result or error, and on error nothing changed and nothing held. */
static void check_acquire(mv_object *exp, int flags)
{
    size_t refs = mv_object_refcount(exp), exps = mv_object_exports(exp);
    mv_span s1, s2, keep;
    memset(&s1, 0xa5, sizeof s1);
    keep = s1;
    mv_buffer h1, h2, zero;
    memset(&h1, 0x5a, sizeof h1);
    memset(&zero, 0, sizeof zero);
    mv_error e1, e2;
    int r1 = fuzz_rc(mv_span_acquire(&s1, &h1, exp, flags, &e1), &e1);
    int r2 = fuzz_rc(mv_object_getbuffer(exp, &h2, flags, &e2), &e2);
    bool held2 = r2 == 0;
    if (held2)
        r2 = fuzz_rc(mv_span_from_buffer(&s2, &h2, &e2), &e2);
    FUZZ_CHECK_ERR(r1 == r2, &e1);
    if (r1 < 0) {
        FUZZ_CHECK(strcmp(e1.message, e2.message) == 0);
        FUZZ_CHECK(memcmp(&s1, &keep, sizeof s1) == 0);
        FUZZ_CHECK(memcmp(&h1, &zero, sizeof h1) == 0);
        FUZZ_CHECK(mv_object_exports(exp) == exps + held2);
    } else {
        /* The same format text (the fast path may lend another "B"). */
        FUZZ_CHECK(span_equal(&s1, &s2, false));
        FUZZ_CHECK(h1.obj == exp && h2.obj == exp && h1.buf == h2.buf && h1.len == h2.len &&
                   h1.itemsize == h2.itemsize && h1.ndim == h2.ndim &&
                   h1.readonly == h2.readonly && !h1.format == !h2.format &&
                   (!h1.format || strcmp(h1.format, h2.format) == 0));
        FUZZ_CHECK(mv_object_exports(exp) == exps + 2);
    }
    mv_buffer_release(&h1);
    if (held2)
        mv_buffer_release(&h2);
    FUZZ_CHECK(mv_object_exports(exp) == exps && mv_object_refcount(exp) == refs);
}

/* An external exporter of the span's layout: a view of it, the span back
 * from the view, acquire, and the span as a view of that view. */
static void op_external(fz *f, const mv_span *s)
{
    mv_buffer b;
    mv_span_buffer(s, &b);
    mv_error err;
    mv_object *x = fuzz_ptr(mv_external_new_layout(&b, NULL, NULL, &err), &err);
    FUZZ_CHECK_ERR(x, &err);
    mv_view *v = fuzz_ptr(mv_view_new(x, &err), &err);
    FUZZ_CHECK_ERR(v, &err);
    check_view_of_span(v, s);
    check_acquire(x, request_flags[fz_u8(f) % NREQ]);
    mv_view *w = fuzz_ptr(mv_view_from_span(v, s, &err), &err);
    FUZZ_CHECK_ERR(w, &err);
    check_view_of_span(w, s);
    mv_decref(w);
    mv_decref(v);
    mv_decref(x);
}

/* The library's own exporters: acquire agrees with the two calls. */
static void op_bytes(fz *f, ctx *c)
{
    uint8_t k = fz_u8(f);
    mv_error err;
    mv_object *o = k & 1 ? mv_bytes_new(c->home, (size_t)c->homelen, &err)
                         : mv_bytearray_new(c->home, (size_t)c->homelen, &err);
    FUZZ_CHECK_ERR(o, &err);
    if (k & 2)
        mv_object_set_local(o);
    check_acquire(o, request_flags[(k >> 2) % NREQ]);
    mv_span s;
    mv_buffer h;
    if (mv_span_acquire(&s, &h, o, MV_BUF_SIMPLE, &err) == 0) {
        size_t n;
        void *data = mv_object_data(o, &n);
        FUZZ_CHECK(s.buf == data && s.len == c->homelen && (size_t)s.len == n &&
                   s.itemsize == 1 && s.ndim == 1 && s.shape[0] == s.len &&
                   s.strides[0] == 1 && s.native == 'B' && strcmp(s.format, "B") == 0 &&
                   s.readonly == (k & 1));
        mv_buffer_release(&h);
    } else {
        FUZZ_CHECK_ERR(false, &err);
    }
    mv_decref(o);
}

static void run_program(fz *f, ctx *c)
{
    for (int n = 0; n < MAXOPS && f->n > 0; n++) {
        uint8_t op = fz_u8(f);
        const mv_span *s = &c->spans[fz_u8(f) % c->nspans];
        switch (op % 12) {
        case 0:
        case 1:
            op_slice(f, c, s);
            break;
        case 2:
            op_cast(f, c, s);
            break;
        case 3:
        case 4:
            op_item(f, c, s, false);
            break;
        case 5:
        case 6:
            op_item(f, c, s, true);
            break;
        case 7:
            op_at(f, s);
            break;
        case 8:
            op_buffer(s);
            break;
        case 9:
            op_view(f, c, s);
            break;
        case 10:
            op_external(f, s);
            break;
        default:
            op_bytes(f, c);
            break;
        }
    }
}

/* ---- the root descriptor ------------------------------------------------------ */

/* An external-layout exporter and a view of the descriptor itself. */
static void check_exporter(fz *f, const arena *a, const desc *d, const model *m, int vrc,
                           const mv_span *root, int root_rc)
{
    mv_error err;
    mv_object *x = fuzz_ptr(mv_external_new_layout(&d->b, NULL, NULL, &err), &err);
    /* The exporter validates its copy, in which a NULL shape has become
     * one (len / itemsize for 1-D): only with a shape given is that the
     * descriptor itself. */
    if (x && !d->no_shape)
        FUZZ_CHECK(vrc == 0);
    else if (!x && vrc == 0 && d->itemsize > 0)
        FUZZ_CHECK_ERR(false, &err);
    if (!x)
        return;
    check_acquire(x, request_flags[fz_u8(f) % NREQ]);
    mv_view *v = fuzz_ptr(mv_view_new(x, &err), &err);
    if (!d->format && d->itemsize != 1) {
        FUZZ_CHECK_ERR(!v && err.code == MV_EVALUE, &err);
        mv_decref(x);
        return;
    }
    FUZZ_CHECK_ERR(v, &err);
    const mv_buffer *b = mv_view_buffer(v, &err);
    FUZZ_CHECK_ERR(b, &err);
    FUZZ_CHECK(b->buf == d->b.buf && b->len == d->len && b->itemsize == d->itemsize &&
               b->ndim == d->ndim && b->readonly == (d->readonly != 0) &&
               strcmp(b->format, d->format ? d->format : "B") == 0);
    for (int k = 0; k < d->ndim; k++) {
        FUZZ_CHECK(b->shape[k] == m->sh[k]);
        if (fits(m->st[k]))
            FUZZ_CHECK(b->strides[k] == (ptrdiff_t)m->st[k]);
    }
    /* A 0-dim view has no suboffsets to keep. */
    FUZZ_CHECK((b->suboffsets != NULL) == (d->has_subs && d->ndim > 0));
    for (int k = 0; d->has_subs && k < d->ndim; k++)
        FUZZ_CHECK(b->suboffsets[k] == d->subs[k]);
    check_view_contig(v);

    mv_span s, keep;
    memset(&s, 0xa5, sizeof s);
    keep = s;
    int rc = fuzz_rc(mv_span_from_view(&s, v, &err), &err);
    if (d->ndim > MV_SPAN_MAX_NDIM || indirect(d) || d->itemsize <= 0) {
        FUZZ_CHECK_ERR(rc == MV_EVALUE, &err);
        FUZZ_CHECK(memcmp(&s, &keep, sizeof s) == 0);
    } else {
        FUZZ_CHECK_ERR(rc == 0, &err);
        FUZZ_CHECK(root_rc == 0 || d->no_shape);
        FUZZ_CHECK(root_rc != 0 || span_equal(&s, root, false));
    }

    /* Items read through the view come from the model's address (with
     * suboffsets: where every pointer read lies in the harness's memory). */
    const mv_format *fmt = mv_view_format(v, &err);
    FUZZ_CHECK_ERR(fmt, &err);
    if (fmt->nvalues <= MAXVALUES && (indirect(d) || inside_home(d, m))) {
        mv_value *vals = calloc((size_t)fmt->nvalues + 1, sizeof *vals);
        mv_value *ref = calloc((size_t)fmt->nvalues + 1, sizeof *ref);
        FUZZ_CHECK(vals && ref);
        iter it;
        iter_init(&it, d->ndim, m->sh, m->st);
        for (int n = 0; n < 64 && iter_next(&it); n++) {
            uintptr_t p;
            if (!walk(a, d, m, it.idx, &p) ||
                !fuzz_inside(a->reg, a->nreg, p, (size_t)d->itemsize))
                continue;
            ptrdiff_t neg[MAXD];
            for (int k = 0; k < d->ndim; k++)
                neg[k] = (n & 1) ? it.idx[k] - m->sh[k] : it.idx[k];
            FUZZ_CHECK_ERR(mv_view_get_item(v, neg, d->ndim, vals, fmt->nvalues, &err) == 0,
                           &err);
            FUZZ_CHECK(mv_format_unpack(fmt, (void *)p, ref, fmt->nvalues, &err) == 0);
            for (ptrdiff_t j = 0; j < fmt->nvalues; j++)
                FUZZ_CHECK(same_value(&vals[j], &ref[j]));
        }
        free(vals);
        free(ref);
    }
    mv_decref(v);
    mv_decref(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz f = {data, size};
    arena a = {0};
    unsigned hi = fz_u8(&f); /* two statements: the reads in order */
    a.memlen = (ptrdiff_t)((hi << 8 | fz_u8(&f)) % (MEM_MAX + 1));
    a.mem = malloc((size_t)a.memlen); /* exactly: ASan guards both ends */
    FUZZ_CHECK(a.mem || a.memlen == 0);
    uint8_t seed = fz_u8(&f);
    for (ptrdiff_t i = 0; i < a.memlen; i++)
        a.mem[i] = (unsigned char)(i * 131 + seed) ^ (unsigned char)(i >> 3);
    a.reg[a.nreg++] = (fuzz_region){(uintptr_t)a.mem, (uintptr_t)a.mem + (uintptr_t)a.memlen};

    desc *d = malloc(sizeof *d);
    model *m = malloc(sizeof *m);
    FUZZ_CHECK(d && m);
    read_desc(&f, &a, d);
    model_desc(d, m);

    check_layout_validate(&f, d, m);
    int vrc = check_buffer_validate(d, m);
    if (vrc == 0)
        check_buffer_contig(d, m);
    /* Before any write: the pointer table is read here. */
    check_get_pointer(&f, &a, d, m);

    mv_span root, keep;
    memset(&root, 0xa5, sizeof root);
    keep = root;
    mv_error err;
    int rc = fuzz_rc(mv_span_from_buffer(&root, &d->b, &err), &err);
    mv_buffer c = d->b;
    c.format = d->format ? d->format : "B";
    bool want = d->ndim >= 0 && d->ndim <= MV_SPAN_MAX_NDIM && !indirect(d) && d->itemsize > 0 &&
                vrc == 0 && mv_buffer_validate(&c, NULL) == 0;
    FUZZ_CHECK_ERR((rc == 0) == want, &err);
    if (rc < 0) {
        FUZZ_CHECK(memcmp(&root, &keep, sizeof root) == 0);
    } else {
        FUZZ_CHECK(root.buf == d->b.buf && root.len == d->len && root.itemsize == d->itemsize &&
                   root.ndim == d->ndim && root.readonly == d->readonly &&
                   root.format == (d->format ? d->format : root.format) &&
                   strcmp(root.format, c.format) == 0 && root.native == native_of(d->format));
        /* C strides of an empty layout may overflow: those are anything. */
        for (int k = 0; k < d->ndim; k++)
            FUZZ_CHECK(root.shape[k] == m->sh[k] &&
                       (!fits(m->st[k]) || root.strides[k] == (ptrdiff_t)m->st[k]));
    }
    check_exporter(&f, &a, d, m, vrc, &root, rc);

    if (rc == 0 && (m->empty || inside_home(d, m))) {
        ctx *cx = calloc(1, sizeof *cx);
        FUZZ_CHECK(cx);
        cx->home = d->home;
        cx->homelen = d->homelen;
        cx->snap = malloc((size_t)d->homelen + 1);
        FUZZ_CHECK(cx->snap);
        check_in_home(cx, &root);
        cx->spans[cx->nspans++] = root;
        run_program(&f, cx);
        free(cx->snap);
        free(cx);
    }
    free(d);
    free(m);
    free(a.tab);
    free(a.mem);
    return 0;
}
