/* Fuzz target: buffer descriptors -> the validators, item addresses, layouts.
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
 *    address, mv_view_layout giving the view's layout (suboffsets too).
 * Then mv_layout_from_buffer of the descriptor: accepted exactly when
 * mv_buffer_validate accepts it with its format (NULL: "B", which must then
 * match itemsize), except a 1-D descriptor without shape of itemsize 0
 * (MV_EVALUE "buffer has itemsize 0"); any ndim up to MV_MAX_NDIM,
 * suboffsets and itemsize 0 included; on error *l untouched and the error
 * mv_buffer_validate's; the fields as given (shape and strides normalised,
 * format never NULL, indirect exactly when suboffsets are given, those
 * copied) and contig by memoryview's rules (0 with suboffsets).  For every
 * accepted descriptor, direct or indirect: mv_layout_at, mv_layout_at1 and
 * mv_layout_get_item at the model's address (through suboffsets where
 * every pointer read lies in the harness's memory: no other is followed),
 * out-of-range indices refused before any pointer is read;
 * mv_view_from_layout refusing an indirect layout with items ("layout: an
 * indirect layout or view cannot be checked"), mv_layout_cast refusing it
 * (not contiguous).  Then a program of layout operations from the rest of
 * the input, on the descriptor's layout and those derived from it:
 * mv_layout_select against a model of NumPy basic indexing (shape, every
 * item's address through the source's own suboffsets, errors, *out
 * untouched on error, in place too), which on indirect layouts also
 * predicts CPython's representation (each constant offset added to the
 * suboffset of the last dereferencing dimension before it, else to buf),
 * its refusals (MV_ENOTIMPL for an integer index on a dereferencing
 * dimension after one that varies, or a negative suboffset; MV_EOVERFLOW)
 * and the result's suboffsets and indirect flag; mv_layout_cast against
 * the cast rules; mv_layout_at / mv_layout_at1; mv_layout_is_contiguous
 * and contig (memoryview's rules); mv_layout_get_item / mv_layout_set_item
 * (index rules; the item read and written at the model's address, no other
 * byte of the harness's memory touched, read-only refused); mv_layout_buffer
 * round trips (mv_buffer_validate against the model, mv_layout_from_buffer
 * giving the layout back); mv_view_from_layout onto views of all or part
 * of the memory, with and without suboffsets (its checks in the header's
 * order with their exact messages: writability, indirect layouts or views,
 * reach, a NULL or mismatched format); and mv_layout_acquire agreeing with
 * mv_object_getbuffer + mv_layout_from_buffer (result, error, counts) on
 * external-layout, bytearray and bytes exporters.  When the descriptor is
 * direct and inside its memory, every layout derived is checked to lie
 * inside it too. */
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

/* Every item of the (non-empty) direct layout lies in [home, home+homelen)
 * (one of zero-size items: its addresses in [home, home+homelen]). */
static bool inside_home(const desc *d, const model *m)
{
    if (!m->shape_ok || m->empty || d->itemsize < 0 || !m->strides_fit)
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

/* The model's verdict on mv_buffer_validate: the listed inconsistencies
 * are refused (0), a descriptor with none of them is accepted (1), one
 * with an extent that overflows ptrdiff_t or ends at the end of the
 * address space may be either (-1). */
static int validate_verdict(const desc *d, const model *m)
{
    const mv_buffer *b = &d->b;
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
    return reject ? 0 : either ? -1 : 1;
}

/* mv_buffer_validate against its header (the model's verdict). */
static int check_buffer_validate(const desc *d, const model *m)
{
    mv_error err;
    int rc = fuzz_rc(mv_buffer_validate(&d->b, &err), &err);
    int verdict = validate_verdict(d, m);
    if (verdict == 0)
        FUZZ_CHECK_ERR(rc == MV_EVALUE || rc == MV_EOVERFLOW, &err);
    else if (verdict == 1)
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


/* ---- layouts: the model's reading of one ------------------------------------ */

static bool has_items(int ndim, const ptrdiff_t *shape)
{
    for (int k = 0; k < ndim; k++)
        if (shape[k] == 0)
            return false;
    return true;
}

/* memoryview's contiguity of a layout's fields (0 with suboffsets). */
static int layout_contig(const mv_layout *l)
{
    return mv_flags(l->ndim, l->shape, l->strides, l->itemsize, l->len, l->indirect);
}

static bool layout_equal(const mv_layout *a, const mv_layout *b, bool same_format)
{
    if (a->buf != b->buf || a->len != b->len || a->itemsize != b->itemsize ||
        a->ndim != b->ndim || a->readonly != b->readonly || a->indirect != b->indirect ||
        a->contig != b->contig)
        return false;
    if (same_format ? a->format != b->format : strcmp(a->format, b->format) != 0)
        return false;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d] || a->strides[d] != b->strides[d] ||
            (a->indirect && a->suboffsets[d] != b->suboffsets[d]))
            return false;
    return true;
}

/* The address of the item at `at` (in range, not negative) by CPython's
 * rule (p = buf + i * stride, then p = *(char **)p + suboffset where the
 * suboffset is >= 0), each pointer read first checked to lie in the
 * harness's memory; false when one does not (the library would read
 * outside it too). */
static bool lwalk(const fuzz_region *reg, int nreg, const mv_layout *l, const ptrdiff_t *at,
                  uintptr_t *out)
{
    uintptr_t p = (uintptr_t)l->buf;
    for (int d = 0; d < l->ndim; d++) {
        p += (uintptr_t)at[d] * (uintptr_t)l->strides[d];
        if (l->indirect && l->suboffsets[d] >= 0) {
            if (!fuzz_inside(reg, nreg, p, sizeof(uintptr_t)))
                return false;
            uintptr_t q;
            memcpy(&q, (const void *)p, sizeof q);
            p = q + (uintptr_t)l->suboffsets[d];
        }
    }
    *out = p;
    return true;
}

/* The model's verdict on mv_buffer_validate of the layout as a descriptor
 * (mv_layout_buffer's: no shape or strides for 0 dimensions, suboffsets
 * when indirect), the format left out: 1 valid, 0 invalid, -1 either. */
static int layout_verdict(const mv_layout *l)
{
    desc *d = calloc(1, sizeof *d);
    model *m = malloc(sizeof *m);
    FUZZ_CHECK(d && m);
    int nd = l->ndim;
    d->itemsize = l->itemsize;
    d->len = l->len;
    d->ndim = nd;
    memcpy(d->shape, l->shape, (size_t)nd * sizeof(ptrdiff_t));
    memcpy(d->strides, l->strides, (size_t)nd * sizeof(ptrdiff_t));
    if (l->indirect)
        memcpy(d->subs, l->suboffsets, (size_t)nd * sizeof(ptrdiff_t));
    d->no_shape = d->no_strides = nd == 0;
    d->has_subs = l->indirect;
    d->readonly = l->readonly;
    d->b = (mv_buffer){
        .buf = l->buf,
        .len = l->len,
        .itemsize = l->itemsize,
        .readonly = l->readonly,
        .ndim = nd,
        .shape = nd > 0 ? d->shape : NULL,
        .strides = nd > 0 ? d->strides : NULL,
        .suboffsets = l->indirect ? d->subs : NULL,
    };
    model_desc(d, m);
    int v = validate_verdict(d, m);
    free(d);
    free(m);
    return v;
}

static void check_layout_contig(const mv_layout *s)
{
    int want = layout_contig(s);
    FUZZ_CHECK(s->contig == want);
    FUZZ_CHECK(mv_layout_is_contiguous(s, 'C') == (want & 1));
    FUZZ_CHECK(mv_layout_is_contiguous(s, 'F') == (want >> 1 & 1));
    FUZZ_CHECK(mv_layout_is_contiguous(s, 'A') == (want != 0));
    FUZZ_CHECK(mv_layout_is_contiguous(s, 'Z') == 0);
}

static void expect_msg(int rc, const mv_error *err, int code, const char *msg)
{
    FUZZ_CHECK_ERR(rc == code, err);
    if (strcmp(err->message, msg) != 0) {
        fprintf(stderr, "expected message: %s\n", msg);
        FUZZ_CHECK_ERR(false, err);
    }
}

#define MSG_NULL "layout: NULL argument"
#define MSG_INDIRECT "layout: an indirect layout or view cannot be checked"
#define MSG_OUTSIDE "layout: the layout reaches outside the view's memory"
#define MSG_WRITABLE "layout: a writable layout of a read-only view"
#define MSG_NOFORMAT "layout: format must not be NULL"
#define MSG_RELEASED "operation forbidden on released memoryview object"
#define MSG_CAST_C "memoryview: casts are restricted to C-contiguous views"

/* Every item walked of a direct layout lies inside [lo, hi) and
 * mv_layout_at agrees with the address computed from the fields. */
static void check_layout_items(const mv_layout *s, i128 lo, i128 hi)
{
    FUZZ_CHECK(s->ndim >= 0 && s->ndim <= MV_MAX_NDIM && s->itemsize >= 0 && !s->indirect);
    i128 n = s->itemsize;
    for (int d = 0; d < s->ndim; d++) {
        FUZZ_CHECK(s->shape[d] >= 0);
        n = smul(n, s->shape[d]);
    }
    FUZZ_CHECK(n == s->len);
    i128 st[MV_MAX_NDIM];
    for (int d = 0; d < s->ndim; d++)
        st[d] = s->strides[d];
    iter it;
    iter_init(&it, s->ndim, s->shape, st);
    while (iter_next(&it)) {
        i128 p = addr_of(s->buf);
        for (int d = 0; d < s->ndim; d++)
            p += (i128)it.idx[d] * s->strides[d];
        FUZZ_CHECK(p >= lo && p + s->itemsize <= hi);
        FUZZ_CHECK(addr_of(mv_layout_at(s, it.idx)) == p);
        if (s->ndim == 1)
            FUZZ_CHECK(addr_of(mv_layout_at1(s, it.idx[0])) == p);
    }
}

typedef struct ctx {
    /* The root layout is direct and its items inside [home, home +
     * homelen): so must every layout derived from it be. */
    bool strict;
    unsigned char *home;
    ptrdiff_t homelen;
    /* All the harness's memory (the block, the pointer table): the only
     * places items are read or written, and pointers followed. */
    fuzz_region reg[2];
    int nreg;
    unsigned char *snap[2];
    mv_layout spans[MAXSPANS];
    int nspans;
} ctx;

static void push_span(ctx *c, const mv_layout *s)
{
    if (c->nspans < MAXSPANS)
        c->spans[c->nspans++] = *s;
    else
        c->spans[MAXSPANS - 1] = *s;
}

static void check_in_home(const ctx *c, const mv_layout *s)
{
    if (c->strict)
        check_layout_items(s, addr_of(c->home), addr_of(c->home) + c->homelen);
    check_layout_contig(s);
}

/* ---- selection model (NumPy basic indexing, as fuzz_subscript) ------------- */

typedef struct out_dim {
    int src; /* source dimension, or -1 for a new axis */
    ptrdiff_t start, step, n;
    bool deref; /* the source dimension dereferences (suboffset >= 0) */
    i128 sub;   /* its suboffset, then with the offsets it collects */
} out_dim;

typedef struct smodel {
    int rc; /* the error the call must give, or 0 */
    int ndim;
    out_dim dims[MV_MAX_NDIM + MAXKEYS];
    ptrdiff_t fixed[MV_MAX_NDIM]; /* source index of each integer-keyed dimension */
    ptrdiff_t first[MV_MAX_NDIM]; /* source index of the first item selected */
    int reach;     /* leading source dimensions whose first[] is in range */
    bool empty;    /* the result has no items */
    bool indirect; /* the result keeps suboffsets */
} smodel;

/* The selection's model.  On an indirect layout the result is the one
 * CPython's init_slice builds: a constant offset (index or slice start
 * times stride) goes to the suboffset of the last dereferencing output
 * dimension before it, else to buf; an integer index on a dereferencing
 * dimension is followed at selection time, which needs every output
 * dimension before it to be one address (no dereference, extent <= 1 or
 * stride 0): else MV_ENOTIMPL.  So does a suboffset that would end up
 * negative ("no dereference"); one that overflows is MV_EOVERFLOW.  A
 * result with no items needs no address: none of these apply then. */
static void model_keys(smodel *m, const mv_layout *s, const mv_key *keys, int nkeys)
{
    m->ndim = 0;
    m->reach = 0;
    m->indirect = false;
    m->empty = !has_items(s->ndim, s->shape);
    mv_key full[MV_MAX_NDIM + MAXKEYS];
    int nfull = 0;
    if ((m->rc = model_expand_keys(s->ndim, keys, nkeys, full, &nfull)) != 0)
        return;
    bool src_deref = false;
    for (int k = 0; k < s->ndim; k++)
        src_deref |= s->indirect && s->suboffsets[k] >= 0;
    i128 addend[MV_MAX_NDIM + MAXKEYS];
    int last = -1;      /* the last dereferencing output dimension */
    bool fixed = true;  /* every output dimension so far one address */
    bool reaching = !m->empty;
    int d = 0;
    for (int i = 0; i < nfull; i++) {
        const mv_key *k = &full[i];
        if (k->kind == MV_KEY_NEWAXIS) {
            addend[m->ndim] = 0;
            m->dims[m->ndim++] = (out_dim){.src = -1, .n = 1, .sub = -1};
            continue;
        }
        bool deref = s->indirect && s->suboffsets[d] >= 0;
        i128 st = s->strides[d];
        if (k->kind == MV_KEY_INDEX) {
            i128 ix = k->index;
            if (ix < 0)
                ix += s->shape[d];
            if (ix < 0 || ix >= s->shape[d]) {
                m->rc = MV_EINDEX;
                return;
            }
            m->fixed[d] = m->first[d] = (ptrdiff_t)ix;
            if (!m->empty) {
                if (deref && !fixed) {
                    m->rc = MV_ENOTIMPL;
                    return;
                }
                if (last >= 0 && !fits(addend[last] += ix * st)) {
                    m->rc = MV_EOVERFLOW;
                    return;
                }
            }
            d++;
            if (reaching)
                m->reach = d;
            continue;
        }
        if (k->has_step && k->step == 0) {
            m->rc = MV_EVALUE;
            return;
        }
        out_dim o = {.src = d, .deref = deref, .sub = deref ? s->suboffsets[d] : -1};
        o.n = model_slice(k, s->shape[d], &o.start, &o.step);
        if (o.n == 0) {
            m->empty = true;
            reaching = false;
        }
        if (!m->empty && last >= 0 && !fits(addend[last] += (i128)o.start * st)) {
            m->rc = MV_EOVERFLOW;
            return;
        }
        i128 stride = st * o.step;
        if (!fits(stride) && o.n > 1 && !m->empty) {
            m->rc = MV_EOVERFLOW;
            return;
        }
        if (deref)
            last = m->ndim;
        fixed &= !deref && (o.n <= 1 || stride == 0);
        m->first[d] = o.start;
        addend[m->ndim] = 0;
        m->dims[m->ndim++] = o;
        d++;
        if (reaching)
            m->reach = d;
    }
    FUZZ_CHECK(d == s->ndim);
    bool out_deref = false;
    for (int o = 0; o < m->ndim; o++) {
        if (!m->dims[o].deref)
            continue;
        out_deref = true;
        if (m->empty)
            continue;
        i128 v = m->dims[o].sub + addend[o];
        if (!fits(v)) {
            m->rc = MV_EOVERFLOW;
            return;
        }
        if (v < 0) {
            m->rc = MV_ENOTIMPL;
            return;
        }
        m->dims[o].sub = v;
    }
    /* As CPython: suboffsets stay while a dimension dereferences, or when
     * the source had only negative ones. */
    m->indirect = s->indirect && m->ndim > 0 && (out_deref || !src_deref);
}

/* The pointers the selection may follow (those of the first item's path
 * through the leading dimensions it processes) lie in the harness's
 * memory. */
static bool select_safe(const ctx *c, const mv_layout *s, const smodel *m)
{
    if (!s->indirect)
        return true;
    uintptr_t p = (uintptr_t)s->buf;
    for (int d = 0; d < m->reach; d++) {
        p += (uintptr_t)m->first[d] * (uintptr_t)s->strides[d];
        if (s->suboffsets[d] >= 0) {
            if (!fuzz_inside(c->reg, c->nreg, p, sizeof(uintptr_t)))
                return false;
            uintptr_t q;
            memcpy(&q, (const void *)p, sizeof q);
            p = q + (uintptr_t)s->suboffsets[d];
        }
    }
    return true;
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

static void op_select(fz *f, ctx *c, const mv_layout *s)
{
    mv_key keys[MAXKEYS];
    int nkeys = fz_u8(f) % (MAXKEYS + 1);
    for (int i = 0; i < nkeys; i++)
        read_key(f, &keys[i]);
    smodel *m = malloc(sizeof *m);
    FUZZ_CHECK(m);
    model_keys(m, s, keys, nkeys);
    if (!select_safe(c, s, m)) {
        free(m);
        return;
    }

    mv_layout out, keep;
    memset(&out, 0xa5, sizeof out);
    memcpy(&keep, &out, sizeof out);
    mv_error err;
    int rc = fuzz_rc(mv_layout_select(&out, s, keys, nkeys, &err), &err);
    FUZZ_CHECK_ERR(rc == m->rc, &err);

    /* In place (out == l) gives the same result, or the same error and
     * the layout untouched. */
    mv_layout in = *s;
    mv_error err2;
    int rc2 = mv_layout_select(&in, &in, keys, nkeys, &err2);
    FUZZ_CHECK(rc2 == rc);
    if (rc < 0) {
        FUZZ_CHECK(memcmp(&out, &keep, sizeof out) == 0);
        FUZZ_CHECK(layout_equal(&in, s, true));
        FUZZ_CHECK(strcmp(err.message, err2.message) == 0);
        free(m);
        return;
    }
    FUZZ_CHECK(layout_equal(&in, &out, true));

    FUZZ_CHECK(out.ndim == m->ndim);
    FUZZ_CHECK(out.itemsize == s->itemsize && out.format == s->format &&
               out.readonly == s->readonly && out.indirect == m->indirect);
    i128 n = out.itemsize;
    for (int o = 0; o < m->ndim; o++) {
        FUZZ_CHECK(out.shape[o] == m->dims[o].n);
        n = smul(n, out.shape[o]);
        /* Dereferences where the source's dimension did, at CPython's
         * suboffset. */
        if (out.indirect) {
            FUZZ_CHECK((out.suboffsets[o] >= 0) == m->dims[o].deref);
            if (m->dims[o].deref && !m->empty)
                FUZZ_CHECK(out.suboffsets[o] == (ptrdiff_t)m->dims[o].sub);
        }
    }
    FUZZ_CHECK(out.len == n);
    check_in_home(c, &out);

    /* Every item is the source item the model maps it to. */
    i128 st[MV_MAX_NDIM];
    for (int d = 0; d < out.ndim; d++)
        st[d] = out.strides[d];
    iter it;
    iter_init(&it, out.ndim, out.shape, st);
    while (iter_next(&it)) {
        ptrdiff_t src[MV_MAX_NDIM];
        memcpy(src, m->fixed, sizeof src);
        for (int o = 0; o < m->ndim; o++)
            if (m->dims[o].src >= 0)
                src[m->dims[o].src] =
                    (ptrdiff_t)(m->dims[o].start + (i128)it.idx[o] * m->dims[o].step);
        uintptr_t want, got;
        if (!lwalk(c->reg, c->nreg, s, src, &want))
            continue;
        /* The result reads only pointers the source's walk read. */
        FUZZ_CHECK(lwalk(c->reg, c->nreg, &out, it.idx, &got));
        FUZZ_CHECK(got == want);
        FUZZ_CHECK((uintptr_t)mv_layout_at(&out, it.idx) == want);
    }
    free(m);
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
static unsigned model_cast(const mv_layout *s, const castfmt *cf, const ptrdiff_t *shape,
                           int ndim, int flags, mv_layout *want)
{
    unsigned bad = 0;
    bool strict = flags & MV_CAST_STRICT;
    if (flags & ~(MV_CAST_STRICT | MV_CAST_FORTRAN))
        bad |= BIT(MV_EVALUE);
    int cfl = layout_contig(s);
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
        } else if (!is_byte(native_of(s->format)) && !is_byte(cf->native)) {
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
    want->indirect = false;
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
    want->contig = (unsigned char)layout_contig(want);
    return 0;
}

static void op_cast(fz *f, ctx *c, const mv_layout *s)
{
    const castfmt *cf = &cast_formats[fz_u8(f) % NCAST];
    uint8_t k = fz_u8(f);
    int flags = k & 3;
    if (k == 255)
        flags = 4;
    k = fz_u8(f);
    static const int wide[4] = {9, 64, 65, 20};
    int ndim = k < 64 ? -1 : k < 240 ? k % 4 : wide[k & 3];
    ptrdiff_t shape[MV_MAX_NDIM + 2];
    i128 total = cf->size > 0 ? s->len / cf->size : 0, prod = 1;
    for (int i = 0; i < ndim; i++) {
        uint8_t e = fz_u8(f);
        if (i == ndim - 1 && e < 200) {
            /* The rest, so that sizes mostly add up. */
            shape[i] = prod > 0 && fits(total / prod) ? (ptrdiff_t)(total / prod) : 1;
        } else if (e < 200) {
            shape[i] = 1 + e % (ndim > 8 ? 2 : 4);
        } else if (e < 230) {
            shape[i] = (ptrdiff_t)(e % 3) - 1;
        } else {
            shape[i] = fz_index(f);
        }
        prod = smul(prod, shape[i]);
    }
    mv_layout want;
    unsigned bad = model_cast(s, cf, shape, ndim, flags, &want);

    mv_layout out, keep;
    memset(&out, 0xa5, sizeof out);
    memcpy(&keep, &out, sizeof out);
    mv_error err;
    int rc = fuzz_rc(mv_layout_cast(&out, s, cf->text, shape, ndim, flags, &err), &err);
    if (bad) {
        FUZZ_CHECK_ERR(rc < 0 && (bad & BIT(rc)), &err);
        /* A layout that is not contiguous (every indirect one) is refused
         * before its format or the shape is looked at. */
        if (!layout_contig(s) && !(flags & ~(MV_CAST_STRICT | MV_CAST_FORTRAN)))
            FUZZ_CHECK_ERR(rc == MV_ETYPE, &err);
        if (s->indirect && flags == MV_CAST_STRICT)
            expect_msg(rc, &err, MV_ETYPE, MSG_CAST_C);
        FUZZ_CHECK(memcmp(&out, &keep, sizeof out) == 0);
        return;
    }
    FUZZ_CHECK_ERR(rc == 0, &err);
    FUZZ_CHECK(layout_equal(&out, &want, true));
    /* A cast covers exactly the source's bytes. */
    check_layout_items(&out, addr_of(s->buf), addr_of(s->buf) + s->len);
    check_layout_contig(&out);
    /* In place: the same. */
    mv_layout in = *s;
    FUZZ_CHECK_ERR(mv_layout_cast(&in, &in, cf->text, shape, ndim, flags, &err) == 0, &err);
    FUZZ_CHECK(layout_equal(&in, &want, true));
    push_span(c, &out);
}

/* ---- items ------------------------------------------------------------- */

/* An index for layout s from the input; *inr says whether it is in range. */
static int read_index(fz *f, const mv_layout *s, ptrdiff_t *idx, ptrdiff_t *at, bool *inr)
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

/* The region of the harness's memory holding [p, p + n), or -1. */
static int region_of(const ctx *c, uintptr_t p, ptrdiff_t n)
{
    for (int i = 0; i < c->nreg; i++)
        if (fuzz_inside(&c->reg[i], 1, p, (size_t)n))
            return i;
    return -1;
}

static void op_item(fz *f, ctx *c, const mv_layout *s, bool write)
{
    mv_format fmt;
    mv_error err;
    FUZZ_CHECK_ERR(mv_format_parse(&fmt, s->format, &err) == 0, &err);
    FUZZ_CHECK(fmt.itemsize == s->itemsize);
    if (fmt.nvalues > MAXVALUES) {
        mv_format_clear(&fmt);
        return;
    }
    ptrdiff_t idx[MV_MAX_NDIM + 1] = {0}, at[MV_MAX_NDIM + 1] = {0};
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

    /* Past the index checks the call follows the item's pointers and
     * reads (or writes) it: only where all of that is the harness's. */
    bool reaches = want == 0 || want == MV_EVALUE;
    uintptr_t addr = 0;
    int ri = -1;
    if (reaches) {
        bool ok = lwalk(c->reg, c->nreg, s, at, &addr);
        if (ok)
            ri = region_of(c, addr, s->itemsize);
        if (c->strict)
            FUZZ_CHECK(ok && addr_of((void *)addr) >= addr_of(c->home) &&
                       addr_of((void *)addr) + s->itemsize <= addr_of(c->home) + c->homelen);
        if (ri < 0) {
            mv_format_clear(&fmt);
            return;
        }
    }
    unsigned char *item = (unsigned char *)addr;

    size_t nv = (size_t)fmt.nvalues + 2;
    mv_value *vals = calloc(nv, sizeof *vals), *ref = calloc(nv, sizeof *ref);
    FUZZ_CHECK(vals && ref);

    if (!write) {
        int rc = fuzz_rc(mv_layout_get_item(s, idx, nindex, vals, room, &err), &err);
        FUZZ_CHECK_ERR(rc == want, &err);
        if (rc == 0) {
            FUZZ_CHECK(fuzz_rc(mv_format_unpack(&fmt, item, ref, fmt.nvalues, &err), &err) == 0);
            for (ptrdiff_t j = 0; j < fmt.nvalues; j++)
                FUZZ_CHECK(same_value(&vals[j], &ref[j]));
        }
    } else {
        /* The values: decoded from input bytes, or from some bytes of the
         * memory itself (a bytes value may then alias the item written).
         * An item too large for the harness's memory is never reached:
         * its values (left NONE) are never read. */
        bool fill = s->itemsize <= 4 * MEM_MAX;
        FUZZ_CHECK(fill || !reaches);
        size_t isz = fill && s->itemsize > 0 ? (size_t)s->itemsize : 1;
        unsigned char *src = malloc(isz), *expect = malloc(isz);
        FUZZ_CHECK(src && expect);
        const unsigned char *from = src;
        uint8_t mm = fz_u8(f);
        if ((mm & 3) == 0 && fill && s->itemsize <= c->homelen) {
            from = c->home + fz_range(f, 0, c->homelen - s->itemsize);
        } else {
            for (ptrdiff_t i = 0; fill && i < s->itemsize; i++)
                src[i] = fz_u8(f);
        }
        if (fill)
            FUZZ_CHECK(fuzz_rc(mv_format_unpack(&fmt, from, vals, fmt.nvalues, &err), &err) == 0);
        if (!want) {
            /* The reference: the same values packed into a copy of the item. */
            memcpy(expect, item, (size_t)s->itemsize);
            want = fuzz_rc(mv_format_pack(&fmt, s->format, expect, vals, fmt.nvalues, &err), &err);
        }
        for (int i = 0; i < c->nreg; i++)
            memcpy(c->snap[i], (const void *)c->reg[i].lo, c->reg[i].hi - c->reg[i].lo);
        int rc = fuzz_rc(mv_layout_set_item(s, idx, nindex, vals, room, &err), &err);
        FUZZ_CHECK_ERR(rc == want, &err);
        if (rc == 0)
            memcpy(c->snap[ri] + (addr - c->reg[ri].lo), expect, (size_t)s->itemsize);
        for (int i = 0; i < c->nreg; i++)
            FUZZ_CHECK(memcmp(c->snap[i], (const void *)c->reg[i].lo,
                              c->reg[i].hi - c->reg[i].lo) == 0);
        free(src);
        free(expect);
    }
    free(vals);
    free(ref);
    mv_format_clear(&fmt);
}

/* mv_layout_at / mv_layout_at1 at indices in and out of range: the
 * model's address, or NULL (out of range: before any pointer is read). */
static void op_at(fz *f, ctx *c, const mv_layout *s)
{
    ptrdiff_t idx[MV_MAX_NDIM + 1] = {0}, at[MV_MAX_NDIM + 1] = {0};
    bool inr;
    int n = read_index(f, s, idx, at, &inr);
    uintptr_t p;
    if (n == s->ndim) {
        if (!inr)
            FUZZ_CHECK(mv_layout_at(s, idx) == NULL);
        else if (lwalk(c->reg, c->nreg, s, at, &p))
            FUZZ_CHECK((uintptr_t)mv_layout_at(s, idx) == p);
    }
    if (s->ndim == 0)
        FUZZ_CHECK(mv_layout_at(s, NULL) == s->buf);
    else
        FUZZ_CHECK(mv_layout_at(s, NULL) == NULL);
    if (s->ndim != 1) {
        FUZZ_CHECK(mv_layout_at1(s, idx[0]) == NULL);
        return;
    }
    i128 w = idx[0] < 0 ? (i128)idx[0] + s->shape[0] : idx[0];
    if (w < 0 || w >= s->shape[0]) {
        FUZZ_CHECK(mv_layout_at1(s, idx[0]) == NULL);
        return;
    }
    ptrdiff_t one[1] = {(ptrdiff_t)w};
    if (lwalk(c->reg, c->nreg, s, one, &p))
        FUZZ_CHECK((uintptr_t)mv_layout_at1(s, idx[0]) == p);
}

/* ---- layout <-> buffer, views, exporters ---------------------------------- */

/* NULL arguments: refused (the documented ones as documented), never
 * followed. */
static void check_null_args(const mv_layout *s, const mv_buffer *b)
{
    mv_error err;
    mv_layout t, keep;
    memcpy(&t, s, sizeof t);
    memcpy(&keep, s, sizeof t);
    expect_msg(fuzz_rc(mv_layout_from_buffer(NULL, b, &err), &err), &err, MV_EVALUE, MSG_NULL);
    expect_msg(fuzz_rc(mv_layout_from_buffer(&t, NULL, &err), &err), &err, MV_EVALUE, MSG_NULL);
    mv_buffer hold, zero;
    memset(&hold, 0x5a, sizeof hold);
    memset(&zero, 0, sizeof zero);
    FUZZ_CHECK(fuzz_rc(mv_layout_acquire(&t, &hold, NULL, MV_BUF_FULL_RO, &err), &err) < 0);
    FUZZ_CHECK(memcmp(&hold, &zero, sizeof hold) == 0);
    expect_msg(fuzz_rc(mv_view_layout(&t, NULL, &err), &err), &err, MV_EVALUE, MSG_NULL);
    expect_msg(fuzz_rc(mv_layout_select(&t, NULL, NULL, 0, &err), &err), &err, MV_EVALUE,
               MSG_NULL);
    expect_msg(fuzz_rc(mv_layout_select(NULL, s, NULL, 0, &err), &err), &err, MV_EVALUE,
               MSG_NULL);
    FUZZ_CHECK(fuzz_rc(mv_layout_cast(NULL, s, "B", NULL, -1, 0, &err), &err) < 0);
    FUZZ_CHECK(fuzz_rc(mv_layout_cast(&t, NULL, "B", NULL, -1, 0, &err), &err) < 0);
    FUZZ_CHECK(fuzz_rc(mv_layout_cast(&t, s, NULL, NULL, -1, 0, &err), &err) < 0);
    FUZZ_CHECK(memcmp(&t, &keep, sizeof t) == 0);
    ptrdiff_t idx[MV_MAX_NDIM] = {0};
    mv_value v[2];
    expect_msg(fuzz_rc(mv_layout_get_item(NULL, idx, 0, v, 2, &err), &err), &err, MV_EVALUE,
               MSG_NULL);
    expect_msg(fuzz_rc(mv_layout_set_item(NULL, idx, 0, v, 2, &err), &err), &err, MV_EVALUE,
               MSG_NULL);
    FUZZ_CHECK(mv_layout_is_contiguous(NULL, 'C') == 0);
    FUZZ_CHECK(mv_layout_at(NULL, idx) == NULL && mv_layout_at1(NULL, 0) == NULL);
}

static void op_buffer(ctx *c, const mv_layout *s)
{
    mv_buffer b;
    memset(&b, 0x5a, sizeof b);
    mv_buffer keep = b;
    mv_layout_buffer(NULL, &b);
    FUZZ_CHECK(memcmp(&b, &keep, sizeof b) == 0);
    mv_layout_buffer(s, NULL);
    mv_layout_buffer(s, &b);
    FUZZ_CHECK(b.buf == s->buf && b.obj == NULL && b.len == s->len && b.itemsize == s->itemsize &&
               b.readonly == s->readonly && b.ndim == s->ndim && b.format == s->format);
    FUZZ_CHECK(b.shape == (s->ndim > 0 ? s->shape : NULL));
    FUZZ_CHECK(b.strides == (s->ndim > 0 ? s->strides : NULL));
    FUZZ_CHECK(b.suboffsets == (s->indirect ? s->suboffsets : NULL));
    /* Every layout the functions made is consistent; one derived through
     * pointers read from the harness's memory may sit anywhere. */
    int verdict = c->strict ? 1 : layout_verdict(s);
    mv_error err, err2;
    int vrc = fuzz_rc(mv_buffer_validate(&b, &err), &err);
    if (verdict == 1)
        FUZZ_CHECK_ERR(vrc == 0, &err);
    else if (verdict == 0)
        FUZZ_CHECK_ERR(vrc == MV_EVALUE || vrc == MV_EOVERFLOW, &err);
    mv_layout t;
    int rc = fuzz_rc(mv_layout_from_buffer(&t, &b, &err2), &err2);
    FUZZ_CHECK_ERR(rc == vrc, &err2);
    if (rc == 0)
        FUZZ_CHECK(layout_equal(&t, s, true));
    else
        FUZZ_CHECK(strcmp(err.message, err2.message) == 0);
    int cc = 0, fo = 0;
    if (!s->indirect) {
        cc = s->ndim == 0 || pb_contig(s->ndim, s->shape, s->strides, s->itemsize, s->len, false);
        fo = s->ndim == 0 || pb_contig(s->ndim, s->shape, s->strides, s->itemsize, s->len, true);
    }
    FUZZ_CHECK(mv_buffer_is_contiguous(&b, 'C') == cc);
    FUZZ_CHECK(mv_buffer_is_contiguous(&b, 'F') == fo);
    check_null_args(s, &b);
}

/* The view must show exactly the layout. */
static void check_view_of_span(mv_view *v, const mv_layout *s)
{
    mv_error err;
    const mv_buffer *b = mv_view_buffer(v, &err);
    FUZZ_CHECK_ERR(b, &err);
    FUZZ_CHECK(b->buf == s->buf && b->len == s->len && b->itemsize == s->itemsize &&
               b->ndim == s->ndim && (b->readonly != 0) == s->readonly);
    FUZZ_CHECK(strcmp(b->format, s->format) == 0);
    /* A 0-dim view has no suboffsets to keep. */
    FUZZ_CHECK((b->suboffsets != NULL) == (s->indirect && s->ndim > 0));
    for (int d = 0; d < s->ndim; d++)
        FUZZ_CHECK(b->shape[d] == s->shape[d] && b->strides[d] == s->strides[d] &&
                   (!s->indirect || b->suboffsets[d] == s->suboffsets[d]));
    check_view_contig(v);
    mv_layout t;
    FUZZ_CHECK_ERR(mv_view_layout(&t, v, &err) == 0, &err);
    if (s->ndim > 0 || !s->indirect) {
        FUZZ_CHECK(mv_view_is_contiguous(v, 'C', &err) == mv_layout_is_contiguous(s, 'C'));
        FUZZ_CHECK(mv_view_is_contiguous(v, 'F', &err) == mv_layout_is_contiguous(s, 'F'));
        FUZZ_CHECK(layout_equal(&t, s, false));
    } else {
        /* The view of a 0-dim indirect layout is direct. */
        mv_layout u = *s;
        u.indirect = false;
        u.contig = MV_CONTIG_C | MV_CONTIG_F;
        FUZZ_CHECK(layout_equal(&t, &u, false));
    }
    check_layout_contig(&t);
}

/* mv_view_from_layout onto a view of [home + lo, home + lo + n), direct or
 * with (negative) suboffsets, of the layout itself or of the layout with
 * its format NULL or of another size. */
static void op_view(fz *f, ctx *c, const mv_layout *s)
{
    ptrdiff_t lo = fz_range(f, 0, c->homelen);
    ptrdiff_t n = fz_range(f, 0, c->homelen - lo);
    uint8_t k = fz_u8(f);
    bool writable = k & 1, subs_base = (k & 6) == 6;
    mv_error err;
    mv_view *base;
    mv_object *x = NULL;
    if (!subs_base) {
        base = mv_view_from_memory(c->home + lo, n, writable ? MV_BUF_WRITE : MV_BUF_READ, &err);
    } else {
        ptrdiff_t shape[1] = {n}, strides[1] = {1}, subs[1] = {-1 - (k >> 3 & 3)};
        mv_buffer d = {.buf = c->home + lo, .len = n, .itemsize = 1, .readonly = !writable,
                       .ndim = 1, .format = "B", .shape = shape, .strides = strides,
                       .suboffsets = subs};
        x = fuzz_ptr(mv_external_new_layout(&d, NULL, NULL, &err), &err);
        FUZZ_CHECK_ERR(x, &err);
        base = mv_view_new(x, &err);
    }
    FUZZ_CHECK_ERR(base, &err);
    const mv_buffer *bb = mv_view_buffer(base, &err);
    FUZZ_CHECK_ERR(bb, &err);
    FUZZ_CHECK((bb->readonly != 0) == !writable && (bb->suboffsets != NULL) == subs_base);

    /* The layout given: s, or s with its format NULL or of another size. */
    mv_layout t = *s;
    uint8_t variant = fz_u8(f) % 8;
    char msg[MV_ERROR_MESSAGE_MAX];
    const fmtent *other = NULL;
    if (variant == 6) {
        t.format = NULL;
    } else if (variant == 7) {
        other = &formats[fz_u8(f) % NFORMATS];
        if (other->size == s->itemsize)
            other = NULL;
        else
            t.format = other->text;
    }

    int verdict = c->strict ? 1 : layout_verdict(&t);
    int code = 0;
    const char *want = NULL;
    if (verdict == 0) {
        code = MV_EVALUE; /* or MV_EOVERFLOW: mv_buffer_validate's */
    } else if (verdict == 1) {
        if (!t.format) {
            code = MV_EVALUE;
            want = MSG_NOFORMAT;
        } else if (!t.readonly && !writable) {
            code = MV_EBUFFER;
            want = MSG_WRITABLE;
        } else if (has_items(t.ndim, t.shape)) {
            if (t.indirect || subs_base) {
                code = MV_EVALUE;
                want = MSG_INDIRECT;
            } else {
                /* [lowest, highest item end) inside the base's bytes. */
                i128 slo = addr_of(t.buf), shi = slo;
                for (int d = 0; d < t.ndim; d++) {
                    i128 step = (i128)(t.shape[d] - 1) * t.strides[d];
                    if (step < 0)
                        slo += step;
                    else
                        shi += step;
                }
                shi += t.itemsize;
                i128 blo = addr_of(c->home) + lo;
                if (n == 0 || slo < blo || shi > blo + n) {
                    code = MV_EVALUE;
                    want = MSG_OUTSIDE;
                }
            }
        }
        if (!code && other) {
            code = MV_EVALUE;
            snprintf(msg, sizeof msg, "layout: itemsize %td does not match format '%s' (size %td)",
                     t.itemsize, other->text, other->size);
            want = msg;
        }
    }
    mv_view *v = fuzz_ptr(mv_view_from_layout(base, &t, &err), &err);
    if (verdict < 0) {
        /* Either way, by the contract. */
    } else if (code && !want) {
        FUZZ_CHECK_ERR(!v && (err.code == MV_EVALUE || err.code == MV_EOVERFLOW), &err);
    } else if (code) {
        FUZZ_CHECK_ERR(!v, &err);
        expect_msg(err.code, &err, code, want);
    } else {
        FUZZ_CHECK_ERR(v, &err);
        check_view_of_span(v, s);
    }
    if (v)
        mv_decref(v);
    expect_msg(fuzz_ptr(mv_view_from_layout(base, NULL, &err), &err) ? 0 : err.code, &err,
               MV_EVALUE, MSG_NULL);
    FUZZ_CHECK(fuzz_ptr(mv_view_from_layout(NULL, s, &err), &err) == NULL);
    /* A released base: its error first. */
    if (fz_u8(f) & 1) {
        FUZZ_CHECK_ERR(mv_view_release(base, &err) == 0, &err);
        expect_msg(fuzz_ptr(mv_view_from_layout(base, s, &err), &err) ? 0 : err.code, &err,
                   MV_EVALUE, MSG_RELEASED);
    }
    mv_decref(base);
    if (x)
        mv_decref(x);
}

static const int request_flags[] = {
    MV_BUF_SIMPLE, MV_BUF_WRITABLE, MV_BUF_FORMAT, MV_BUF_ND, MV_BUF_STRIDES,
    MV_BUF_C_CONTIGUOUS, MV_BUF_F_CONTIGUOUS, MV_BUF_ANY_CONTIGUOUS, MV_BUF_INDIRECT,
    MV_BUF_CONTIG, MV_BUF_CONTIG_RO, MV_BUF_STRIDED, MV_BUF_STRIDED_RO, MV_BUF_RECORDS,
    MV_BUF_RECORDS_RO, MV_BUF_FULL, MV_BUF_FULL_RO, MV_BUF_FORMAT | MV_BUF_ND, 0x200, 0x2,
};
#define NREQ (sizeof request_flags / sizeof request_flags[0])

/* mv_layout_acquire is mv_object_getbuffer then mv_layout_from_buffer: the
 * same result or error, and on error nothing changed and nothing held. */
static void check_acquire(mv_object *exp, int flags)
{
    size_t refs = mv_object_refcount(exp), exps = mv_object_exports(exp);
    mv_layout s1, s2, keep;
    memset(&s1, 0xa5, sizeof s1);
    memcpy(&keep, &s1, sizeof s1);
    mv_buffer h1, h2, zero;
    memset(&h1, 0x5a, sizeof h1);
    memset(&zero, 0, sizeof zero);
    mv_error e1, e2;
    int r1 = fuzz_rc(mv_layout_acquire(&s1, &h1, exp, flags, &e1), &e1);
    int r2 = fuzz_rc(mv_object_getbuffer(exp, &h2, flags, &e2), &e2);
    bool held2 = r2 == 0;
    if (held2)
        r2 = fuzz_rc(mv_layout_from_buffer(&s2, &h2, &e2), &e2);
    FUZZ_CHECK_ERR(r1 == r2, &e1);
    if (r1 < 0) {
        FUZZ_CHECK(strcmp(e1.message, e2.message) == 0);
        FUZZ_CHECK(memcmp(&s1, &keep, sizeof s1) == 0);
        FUZZ_CHECK(memcmp(&h1, &zero, sizeof h1) == 0);
        FUZZ_CHECK(mv_object_exports(exp) == exps + held2);
    } else {
        /* The same format text (the fast path may lend another "B"). */
        FUZZ_CHECK(layout_equal(&s1, &s2, false));
        check_layout_contig(&s1);
        FUZZ_CHECK(h1.obj == exp && h2.obj == exp && h1.buf == h2.buf && h1.len == h2.len &&
                   h1.itemsize == h2.itemsize && h1.ndim == h2.ndim &&
                   h1.readonly == h2.readonly && !h1.format == !h2.format &&
                   (!h1.format || strcmp(h1.format, h2.format) == 0) &&
                   !h1.suboffsets == !h2.suboffsets);
        FUZZ_CHECK(s1.indirect == (h1.suboffsets != NULL && h1.ndim > 0));
        FUZZ_CHECK(mv_object_exports(exp) == exps + 2);
    }
    mv_buffer_release(&h1);
    if (held2)
        mv_buffer_release(&h2);
    FUZZ_CHECK(mv_object_exports(exp) == exps && mv_object_refcount(exp) == refs);
}

/* An external exporter of the layout: a view of it, the layout back from
 * the view, acquire, and the layout as a view of that view (refused when
 * it has items and suboffsets). */
static void op_external(fz *f, ctx *c, const mv_layout *s)
{
    if (!c->strict && layout_verdict(s) != 1)
        return;
    mv_buffer b;
    mv_layout_buffer(s, &b);
    mv_error err;
    mv_object *x = fuzz_ptr(mv_external_new_layout(&b, NULL, NULL, &err), &err);
    FUZZ_CHECK_ERR(x, &err);
    mv_view *v = fuzz_ptr(mv_view_new(x, &err), &err);
    FUZZ_CHECK_ERR(v, &err);
    check_view_of_span(v, s);
    check_acquire(x, request_flags[fz_u8(f) % NREQ]);
    mv_view *w = fuzz_ptr(mv_view_from_layout(v, s, &err), &err);
    if (has_items(s->ndim, s->shape) && s->indirect) {
        FUZZ_CHECK_ERR(!w, &err);
        expect_msg(err.code, &err, MV_EVALUE, MSG_INDIRECT);
    } else {
        FUZZ_CHECK_ERR(w, &err);
        check_view_of_span(w, s);
        mv_decref(w);
    }
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
    mv_layout s;
    mv_buffer h;
    if (mv_layout_acquire(&s, &h, o, MV_BUF_SIMPLE, &err) == 0) {
        size_t n;
        void *data = mv_object_data(o, &n);
        FUZZ_CHECK(s.buf == data && s.len == c->homelen && (size_t)s.len == n &&
                   s.itemsize == 1 && s.ndim == 1 && s.shape[0] == s.len &&
                   s.strides[0] == 1 && strcmp(s.format, "B") == 0 && !s.indirect &&
                   s.contig == (MV_CONTIG_C | MV_CONTIG_F) && s.readonly == (k & 1));
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
        const mv_layout *s = &c->spans[fz_u8(f) % c->nspans];
        switch (op % 12) {
        case 0:
        case 1:
            op_select(f, c, s);
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
            op_at(f, c, s);
            break;
        case 8:
            op_buffer(c, s);
            break;
        case 9:
            op_view(f, c, s);
            break;
        case 10:
            op_external(f, c, s);
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
                           const mv_layout *root, int root_rc)
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

    /* mv_view_layout: the view's layout, suboffsets and all. */
    mv_layout s, keep;
    memset(&s, 0xa5, sizeof s);
    memcpy(&keep, &s, sizeof s);
    expect_msg(fuzz_rc(mv_view_layout(NULL, v, &err), &err), &err, MV_EVALUE, MSG_NULL);
    FUZZ_CHECK_ERR(mv_view_layout(&s, v, &err) == 0, &err);
    FUZZ_CHECK(s.buf == b->buf && s.len == b->len && s.itemsize == b->itemsize &&
               s.ndim == b->ndim && s.readonly == (b->readonly != 0) &&
               strcmp(s.format, b->format) == 0 && s.indirect == (b->suboffsets != NULL));
    for (int k = 0; k < d->ndim; k++)
        FUZZ_CHECK(s.shape[k] == b->shape[k] && s.strides[k] == b->strides[k] &&
                   (!s.indirect || s.suboffsets[k] == b->suboffsets[k]));
    check_layout_contig(&s);
    FUZZ_CHECK(root_rc == 0 || d->no_shape);
    if (root_rc == 0) {
        /* The same layout, but for C strides of an empty layout that
         * overflow (anything). */
        mv_layout u = *root;
        for (int k = 0; k < d->ndim; k++)
            if (!fits(m->st[k]))
                u.strides[k] = s.strides[k];
        FUZZ_CHECK(layout_equal(&s, &u, false));
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
    /* A released view has no layout. */
    FUZZ_CHECK_ERR(mv_view_release(v, &err) == 0, &err);
    memcpy(&s, &keep, sizeof s);
    expect_msg(fuzz_rc(mv_view_layout(&s, v, &err), &err), &err, MV_EVALUE, MSG_RELEASED);
    mv_decref(v);
    mv_decref(x);
}

/* The root layout's items, direct or indirect, by the descriptor's model:
 * mv_layout_at (indices counted from the end too), mv_layout_at1 and
 * mv_layout_get_item at the model's address, following only pointers in
 * the harness's memory; out of range: NULL / MV_EINDEX, nothing read.
 * Then an indirect layout with items is refused by mv_view_from_layout and
 * by mv_layout_cast. */
static void check_root(fz *f, const arena *a, const desc *d, const model *m, const mv_layout *l)
{
    mv_error err;
    /* A layout mv_layout_from_buffer made goes through mv_layout_buffer
     * and back unchanged. */
    mv_buffer b;
    mv_layout_buffer(l, &b);
    FUZZ_CHECK_ERR(mv_buffer_validate(&b, &err) == 0, &err);
    mv_layout t;
    FUZZ_CHECK_ERR(mv_layout_from_buffer(&t, &b, &err) == 0, &err);
    FUZZ_CHECK(layout_equal(&t, l, true));

    mv_format fmt;
    FUZZ_CHECK_ERR(mv_format_parse(&fmt, l->format, &err) == 0, &err);
    bool values = fmt.nvalues <= MAXVALUES;
    ptrdiff_t room = values ? fmt.nvalues : 0;
    mv_value *vals = calloc((size_t)room + 1, sizeof *vals);
    mv_value *ref = calloc((size_t)room + 1, sizeof *ref);
    FUZZ_CHECK(vals && ref);
    iter it;
    iter_init(&it, d->ndim, m->sh, m->st);
    for (int n = 0; n < 64 && iter_next(&it); n++) {
        uintptr_t p;
        if (!walk(a, d, m, it.idx, &p))
            continue;
        ptrdiff_t neg[MAXD];
        for (int k = 0; k < d->ndim; k++)
            neg[k] = (n & 1) ? it.idx[k] - m->sh[k] : it.idx[k];
        FUZZ_CHECK((uintptr_t)mv_layout_at(l, it.idx) == p);
        FUZZ_CHECK((uintptr_t)mv_layout_at(l, neg) == p);
        if (d->ndim == 1)
            FUZZ_CHECK((uintptr_t)mv_layout_at1(l, neg[0]) == p);
        if (!values || !fuzz_inside(a->reg, a->nreg, p, (size_t)d->itemsize))
            continue;
        int rc = fuzz_rc(mv_layout_get_item(l, neg, d->ndim, vals, fmt.nvalues, &err), &err);
        FUZZ_CHECK_ERR(rc == 0, &err);
        FUZZ_CHECK(mv_format_unpack(&fmt, (void *)p, ref, fmt.nvalues, &err) == 0);
        for (ptrdiff_t j = 0; j < fmt.nvalues; j++)
            FUZZ_CHECK(same_value(&vals[j], &ref[j]));
    }
    if (d->ndim > 0) {
        /* One index out of range: refused before any pointer is read. */
        ptrdiff_t idx[MAXD] = {0};
        int j = fz_u8(f) % d->ndim;
        uint8_t k = fz_u8(f);
        const ptrdiff_t bad[6] = {-1 - m->sh[j], m->sh[j], PTRDIFF_MIN, PTRDIFF_MAX,
                                  m->sh[j] + (m->sh[j] < PTRDIFF_MAX), -1};
        idx[j] = bad[k % 6];
        if ((idx[j] >= 0 && idx[j] < m->sh[j]) || (idx[j] < 0 && (i128)idx[j] + m->sh[j] >= 0))
            idx[j] = m->sh[j];
        FUZZ_CHECK(mv_layout_at(l, idx) == NULL);
        if (d->ndim == 1)
            FUZZ_CHECK(mv_layout_at1(l, idx[0]) == NULL);
        int rc = fuzz_rc(mv_layout_get_item(l, idx, d->ndim, vals, room, &err), &err);
        FUZZ_CHECK_ERR(rc == MV_EINDEX, &err);
        if (!l->readonly) {
            rc = fuzz_rc(mv_layout_set_item(l, idx, d->ndim, vals, room, &err), &err);
            FUZZ_CHECK_ERR(rc == MV_EINDEX, &err);
        }
    }
    free(vals);
    free(ref);
    mv_format_clear(&fmt);

    if (!l->indirect)
        return;
    /* A writable base over the memory: nothing before the indirect check
     * refuses the layout. */
    mv_view *base = mv_view_from_memory(a->mem, a->memlen, MV_BUF_WRITE, &err);
    FUZZ_CHECK_ERR(base, &err);
    mv_view *v = fuzz_ptr(mv_view_from_layout(base, l, &err), &err);
    if (has_items(l->ndim, l->shape)) {
        FUZZ_CHECK_ERR(!v, &err);
        expect_msg(err.code, &err, MV_EVALUE, MSG_INDIRECT);
    } else {
        FUZZ_CHECK_ERR(v, &err);
        check_view_of_span(v, l);
        mv_decref(v);
    }
    mv_decref(base);
    mv_layout keep;
    memset(&t, 0xa5, sizeof t);
    memcpy(&keep, &t, sizeof t);
    expect_msg(fuzz_rc(mv_layout_cast(&t, l, "B", NULL, -1, MV_CAST_STRICT, &err), &err), &err,
               MV_ETYPE, MSG_CAST_C);
    FUZZ_CHECK_ERR(fuzz_rc(mv_layout_cast(&t, l, "B", NULL, -1, 0, &err), &err) == MV_ETYPE,
                   &err);
    FUZZ_CHECK(memcmp(&t, &keep, sizeof t) == 0);
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

    mv_layout *root = malloc(sizeof *root), *keep = malloc(sizeof *keep);
    FUZZ_CHECK(root && keep);
    memset(root, 0xa5, sizeof *root);
    memcpy(keep, root, sizeof *root);
    mv_error err, verr;
    int rc = fuzz_rc(mv_layout_from_buffer(root, &d->b, &err), &err);
    /* Accepted exactly as mv_buffer_validate accepts the descriptor with
     * its format ("B" for NULL, whose size is 1), less a 1-D descriptor
     * without shape of zero-size items; its errors are validate's. */
    bool zero_1d = d->ndim == 1 && d->no_shape && d->itemsize == 0;
    bool want = vrc == 0 && (d->format || d->itemsize == 1) && !zero_1d;
    FUZZ_CHECK_ERR((rc == 0) == want, &err);
    if (vrc < 0) {
        FUZZ_CHECK(mv_buffer_validate(&d->b, &verr) == vrc);
        FUZZ_CHECK_ERR(rc == vrc && strcmp(err.message, verr.message) == 0, &err);
    } else if (rc < 0 && zero_1d && d->format) {
        expect_msg(rc, &err, MV_EVALUE, "buffer has itemsize 0");
    } else if (rc < 0) {
        /* NULL format: "B" against itemsize. */
        FUZZ_CHECK_ERR(rc == MV_EVALUE, &err);
    }
    if (rc < 0) {
        FUZZ_CHECK(memcmp(root, keep, sizeof *root) == 0);
    } else {
        FUZZ_CHECK(root->buf == (char *)d->b.buf && root->len == d->len &&
                   root->itemsize == d->itemsize && root->ndim == d->ndim &&
                   root->readonly == d->readonly &&
                   root->format == (d->format ? d->format : root->format) &&
                   strcmp(root->format, d->format ? d->format : "B") == 0 &&
                   root->indirect == (d->has_subs && d->ndim > 0));
        /* C strides of an empty layout may overflow: those are anything. */
        ptrdiff_t st[MAXD];
        for (int k = 0; k < d->ndim; k++) {
            FUZZ_CHECK(root->shape[k] == m->sh[k] &&
                       (!fits(m->st[k]) || root->strides[k] == (ptrdiff_t)m->st[k]));
            FUZZ_CHECK(!root->indirect || root->suboffsets[k] == d->subs[k]);
            st[k] = fits(m->st[k]) ? (ptrdiff_t)m->st[k] : root->strides[k];
        }
        /* A 0-dim layout has no dimension to follow a pointer in: its
         * suboffsets are dropped (as a view drops them). */
        FUZZ_CHECK(root->contig == mv_flags(d->ndim, m->sh, st, d->itemsize, d->len,
                                            d->has_subs && d->ndim > 0));
        check_layout_contig(root);
        check_root(&f, &a, d, m, root);
    }
    check_exporter(&f, &a, d, m, vrc, root, rc);

    if (rc == 0) {
        ctx *cx = calloc(1, sizeof *cx);
        FUZZ_CHECK(cx);
        cx->strict = !root->indirect && (m->empty || inside_home(d, m));
        cx->home = d->home;
        cx->homelen = d->homelen;
        cx->nreg = a.nreg;
        for (int i = 0; i < a.nreg; i++) {
            cx->reg[i] = a.reg[i];
            cx->snap[i] = malloc(a.reg[i].hi - a.reg[i].lo + 1);
            FUZZ_CHECK(cx->snap[i]);
        }
        check_in_home(cx, root);
        cx->spans[cx->nspans++] = *root;
        run_program(&f, cx);
        for (int i = 0; i < a.nreg; i++)
            free(cx->snap[i]);
        free(cx);
    }
    free(root);
    free(keep);
    free(d);
    free(m);
    free(a.tab);
    free(a.mem);
    return 0;
}
