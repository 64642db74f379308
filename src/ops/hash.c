/* Hashing of views (mv_view_hash, mv_view_byte_values, mv_hash_bytes):
 * views that compare equal hash alike, so a view hashes its values (read
 * with the codec's item reader), except that values which all equal bytes
 * hash as those bytes, as an equal 'B' view does. */
#include "ops.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------------ *
 * Hashing: SipHash-1-3 with a fixed key, usable incrementally so strided
 * views hash without a copy.
 * ------------------------------------------------------------------------ */

typedef struct sip_state {
    uint64_t v0, v1, v2, v3;
    uint64_t tail;
    unsigned ntail;
    uint64_t total;
} sip_state;

#define SIP_K0 UINT64_C(0x6d656d766965772d) /* "memview-" */
#define SIP_K1 UINT64_C(0x686173682d6b6579) /* "hash-key" */

static inline uint64_t rotl64(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static inline void sip_round(sip_state *s)
{
    s->v0 += s->v1;
    s->v1 = rotl64(s->v1, 13);
    s->v1 ^= s->v0;
    s->v0 = rotl64(s->v0, 32);
    s->v2 += s->v3;
    s->v3 = rotl64(s->v3, 16);
    s->v3 ^= s->v2;
    s->v0 += s->v3;
    s->v3 = rotl64(s->v3, 21);
    s->v3 ^= s->v0;
    s->v2 += s->v1;
    s->v1 = rotl64(s->v1, 17);
    s->v1 ^= s->v2;
    s->v2 = rotl64(s->v2, 32);
}

static void sip_init(sip_state *s)
{
    s->v0 = SIP_K0 ^ UINT64_C(0x736f6d6570736575);
    s->v1 = SIP_K1 ^ UINT64_C(0x646f72616e646f6d);
    s->v2 = SIP_K0 ^ UINT64_C(0x6c7967656e657261);
    s->v3 = SIP_K1 ^ UINT64_C(0x7465646279746573);
    s->tail = 0;
    s->ntail = 0;
    s->total = 0;
}

static inline void sip_word(sip_state *s, uint64_t m)
{
    s->v3 ^= m;
    sip_round(s);
    s->v0 ^= m;
}

static void sip_update(sip_state *s, const void *data, size_t len)
{
    const unsigned char *p = data;
    s->total += len;
    while (len > 0 && s->ntail > 0) {
        s->tail |= (uint64_t)*p++ << (8 * s->ntail);
        len--;
        if (++s->ntail == 8) {
            sip_word(s, s->tail);
            s->tail = 0;
            s->ntail = 0;
        }
    }
    while (len >= 8) {
        sip_word(s, mv_load_uint(p, 8, true));
        p += 8;
        len -= 8;
    }
    while (len > 0) {
        s->tail |= (uint64_t)*p++ << (8 * s->ntail);
        s->ntail++;
        len--;
    }
}

static uint64_t sip_final(sip_state *s)
{
    uint64_t b = (s->total << 56) | s->tail;
    sip_word(s, b);
    s->v2 ^= 0xff;
    sip_round(s);
    sip_round(s);
    sip_round(s);
    return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

uint64_t mv_hash_bytes(const void *data, size_t len)
{
    sip_state s;
    sip_init(&s);
    if (data)
        sip_update(&s, data, len);
    return sip_final(&s);
}

static void hash_u64(sip_state *s, unsigned char tag, uint64_t x)
{
    unsigned char rec[9];
    rec[0] = tag;
    for (int i = 0; i < 8; i++)
        rec[1 + i] = (unsigned char)(x >> (8 * i));
    sip_update(s, rec, sizeof rec);
}

static uint64_t double_bits(double d)
{
    uint64_t u;
    if (isnan(d))
        d = NAN;
    if (d == 0)
        d = 0.0; /* -0.0 == 0.0 */
    memcpy(&u, &d, sizeof u);
    return u;
}

enum {
    TAG_NONE = 0,
    TAG_INT = 1,
    TAG_BIG = 2,
    TAG_REAL = 3,
    TAG_COMPLEX = 4,
    TAG_BYTES = 5,
    TAG_CHAR = 6
};

/* Numbers that compare equal hash alike: an integral double hashes as the
 * integer it equals, a complex with zero imaginary part as its real part. */
static void hash_real(sip_state *s, double d)
{
    if (isfinite(d) && d == floor(d)) {
        if (d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
            int64_t i = (int64_t)d;
            hash_u64(s, TAG_INT, (uint64_t)i);
            return;
        }
        if (d > 0 && d < 18446744073709551616.0) {
            hash_u64(s, TAG_BIG, (uint64_t)d);
            return;
        }
    }
    hash_u64(s, TAG_REAL, double_bits(d));
}

static void hash_value(sip_state *s, const mv_value *v)
{
    switch (v->kind) {
    case MV_VALUE_BOOL:
        hash_u64(s, TAG_INT, v->v.b ? 1 : 0);
        break;
    case MV_VALUE_SIGNED:
        hash_u64(s, TAG_INT, (uint64_t)v->v.i);
        break;
    case MV_VALUE_UNSIGNED:
        hash_u64(s, v->v.u > (uint64_t)INT64_MAX ? TAG_BIG : TAG_INT, v->v.u);
        break;
    case MV_VALUE_DOUBLE:
        hash_real(s, v->v.d);
        break;
    case MV_VALUE_COMPLEX:
        if (v->v.c.im == 0) {
            hash_real(s, v->v.c.re);
        } else {
            hash_u64(s, TAG_COMPLEX, double_bits(v->v.c.re));
            hash_u64(s, TAG_COMPLEX, double_bits(v->v.c.im));
        }
        break;
    case MV_VALUE_CHAR:
        hash_u64(s, TAG_CHAR, v->v.u);
        break;
    case MV_VALUE_BYTES:
        hash_u64(s, TAG_BYTES, (uint64_t)v->v.bytes.len);
        if (v->v.bytes.len)
            sip_update(s, v->v.bytes.ptr, v->v.bytes.len);
        break;
    default:
        hash_u64(s, TAG_NONE, 0);
        break;
    }
}

/* The byte a byte view holding a value equal to v has (v mod 256), or -1
 * when no 'B', 'b' or 'c' item can equal v.  So a view whose values all
 * map to bytes hashes as those bytes, as an equal byte view does. */
static int byte_of_value(const mv_value *v)
{
    double d;
    switch (v->kind) {
    case MV_VALUE_BOOL:
        return v->v.b ? 1 : 0;
    case MV_VALUE_SIGNED:
        return v->v.i >= -128 && v->v.i <= 255 ? (int)((uint64_t)v->v.i & 0xff) : -1;
    case MV_VALUE_UNSIGNED:
        return v->v.u <= 255 ? (int)v->v.u : -1;
    case MV_VALUE_DOUBLE:
        d = v->v.d;
        break;
    case MV_VALUE_COMPLEX:
        if (v->v.c.im != 0)
            return -1;
        d = v->v.c.re;
        break;
    case MV_VALUE_BYTES:
        return v->v.bytes.len == 1 ? (unsigned char)v->v.bytes.ptr[0] : -1;
    default:
        return -1;
    }
    if (!(d >= -128 && d <= 255) || d != floor(d))
        return -1;
    return (int)((unsigned)(int)d & 0xffu);
}

/* One walk over a view's items in C order, three ways: RAW feeds the bytes
 * of each item (byte formats), BYTES each value as byte_of_value (stopping
 * with 1 at the first that has none), VALUES each value's hash_value. */
enum { WALK_RAW, WALK_BYTES, WALK_VALUES };

typedef struct hash_ctx {
    sip_state s;
    int mode;
    unsigned char *out; /* BYTES: where the bytes go, or NULL to hash them */
    ptrdiff_t itemsize;
    mv_item_reader r;
    mv_error *err;
} hash_ctx;

static int hash_row(hash_ctx *h, const char *p, ptrdiff_t stride, ptrdiff_t sub, ptrdiff_t n)
{
    if (h->mode == WALK_RAW) {
        if (stride == h->itemsize && sub < 0) {
            sip_update(&h->s, p, (size_t)(n * h->itemsize));
            return 0;
        }
        for (ptrdiff_t i = 0; i < n; i++)
            sip_update(&h->s, mv_layout_item(p, i, stride, sub), (size_t)h->itemsize);
        return 0;
    }
    for (ptrdiff_t i = 0; i < n; i++) {
        int rc = mv_reader_read(&h->r, mv_layout_item(p, i, stride, sub), h->err);
        if (rc < 0)
            return rc;
        if (h->mode == WALK_VALUES) {
            for (ptrdiff_t k = 0; k < h->r.nvalues; k++)
                hash_value(&h->s, &h->r.values[k]);
            continue;
        }
        /* An item of several values is a tuple: no byte equals it. */
        int byte = h->r.nvalues == 1 ? byte_of_value(&h->r.values[0]) : -1;
        if (byte < 0)
            return 1;
        unsigned char c = (unsigned char)byte;
        if (h->out)
            *h->out++ = c;
        else
            sip_update(&h->s, &c, 1);
    }
    return 0;
}

/* hash_row as a walk's row (one layout: the second row is the same). */
static int hash_step(void *ctx, const char *p, ptrdiff_t stride, ptrdiff_t sub, const char *pb,
                     ptrdiff_t sb, ptrdiff_t subb, ptrdiff_t n)
{
    (void)pb;
    (void)sb;
    (void)subb;
    return hash_row(ctx, p, stride, sub, n);
}

static int hash_walk(hash_ctx *h, const mv_layout *l, int mode, unsigned char *out)
{
    sip_init(&h->s);
    h->mode = mode;
    h->out = out;
    return mv_walk_rows(l, NULL, hash_step, h);
}

/* Shared set-up of mv_view_hash and mv_view_byte_values: the layout, and
 * the reader unless the format is a byte format (*raw). */
static int hash_setup(hash_ctx *h, mv_layout *l, const mv_view *view, bool *raw, mv_error *err)
{
    memset(h, 0, sizeof *h);
    h->err = err;
    int rc = mv_view_layout(l, view, err);
    if (rc < 0)
        return rc;
    h->itemsize = l->itemsize;
    *raw = mv_format_is_byte(l->format) && l->itemsize == 1;
    if (*raw)
        return 0;
    mv_error local;
    mv_error_clear(&local);
    const mv_format *f = mv_view_format(view, &local);
    if (!f)
        return mv_error_pass(err, &local);
    if (l->itemsize != f->itemsize)
        return mv_error_format_size(err, l->format, f->itemsize, l->itemsize);
    return mv_reader_init(&h->r, f, err);
}

int mv_view_byte_values(const mv_view *view, void *dst, size_t dstlen, mv_error *err)
{
    if (!view || (!dst && dstlen))
        return mv_error_set(err, MV_EVALUE, "mv_view_byte_values: NULL argument");
    hash_ctx h;
    mv_layout l;
    bool raw;
    int rc = hash_setup(&h, &l, view, &raw, err);
    if (rc < 0)
        return rc;
    ptrdiff_t n = 1;
    for (int i = 0; i < l.ndim; i++)
        n *= l.shape[i]; /* the item count fits: the layout was validated */
    if (dstlen < (size_t)n)
        rc = mv_error_set(err, MV_EVALUE, "mv_view_byte_values: %td bytes needed, %zu given", n,
                          dstlen);
    else if (raw)
        rc = mv_view_tobytes_into(view, dst, n, 'C', err);
    else
        rc = hash_walk(&h, &l, WALK_BYTES, dst);
    if (rc >= 0)
        rc = raw || rc == 0; /* 1: every value was a byte */
    mv_reader_clear(&h.r);
    return rc;
}

int mv_view_hash(const mv_view *view, uint64_t *hash, mv_error *err)
{
    if (!view || !hash)
        return mv_error_set(err, MV_EVALUE, "mv_view_hash: NULL argument");
    /* Writability first, as CPython, and before anything is allocated. */
    mv_error mine;
    mv_error *e = err ? err : &mine;
    const mv_buffer *b = mv_view_buffer(view, e);
    if (!b)
        return e->code;
    if (!b->readonly)
        return mv_error_set(err, MV_EVALUE, "cannot hash writable memoryview object");
    hash_ctx h;
    mv_layout l;
    bool raw;
    int rc = hash_setup(&h, &l, view, &raw, err);
    if (rc == 0) {
        /* Values that all map to bytes hash as those bytes (what an equal
         * byte view hashes); the first value that does not restarts the
         * walk over the values themselves. */
        rc = hash_walk(&h, &l, raw ? WALK_RAW : WALK_BYTES, NULL);
        if (rc == 1)
            rc = hash_walk(&h, &l, WALK_VALUES, NULL);
    }
    mv_reader_clear(&h.r);
    if (rc < 0)
        return rc;
    *hash = sip_final(&h.s);
    return 0;
}
