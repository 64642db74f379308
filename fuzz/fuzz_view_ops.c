/* Fuzz target: random programs of view operations.
 *
 * The input is a little program: each operation is chosen by one byte and
 * takes its arguments from the bytes after it.  The program works on a few
 * slots of exporters (bytes, bytearray, typed arrays of many formats,
 * external memory: plain, strided with negative and unaligned strides,
 * PIL-style with suboffsets), views of them and of each other, and buffers
 * held from either; at the end everything left is dropped in an order
 * chosen by the input.
 *
 * Every call must succeed or fail by the error contract (a known code,
 * err.code set, a message); never crash, never leak (LeakSanitizer runs
 * after each input), never touch memory it does not own (ASan).  Where a
 * result can be predicted independently it is checked: bytes out (tobytes,
 * to_contiguous, hex) against a walk of the descriptor written here;
 * assignments and from_contiguous against what was written; casts keep the
 * bytes; find / count against a naive search; equal is symmetric and, for
 * integer formats, agrees with a byte comparison; byte-format hashes equal
 * mv_hash_bytes; getbuffer honours the request flags; the export lock holds;
 * external release callbacks run exactly once, after the last user.
 *
 * One operation arms allocation failure (tests/support/failalloc.c,
 * linked with --wrap) for the next operation's library call only: it must
 * then fail with MV_ENOMEM (and leak nothing), or succeed without having
 * seen a failed allocation. */
#include "fuzz_common.h"
#include "failalloc.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>

#define NOBJ      6
#define NVIEW     12
#define NHELD     4
#define NEXT      32
#define MAXOPS    300
#define MAXVALUES 4096
#define MAXBYTES  4096

typedef struct ext_ctx {
    void *block; /* freed by the release callback */
    void *mem;   /* what the callback must be given */
    bool used, released;
} ext_ctx;

typedef struct state {
    fz in;
    mv_object *obj[NOBJ];
    mv_view *view[NVIEW];
    mv_buffer held[NHELD]; /* obj == NULL: free */
    ext_ctx ext[NEXT];
    unsigned char scratch[256]; /* memory for mv_view_from_memory views */
    unsigned char pool[64];     /* bytes for values and needles */
    long fail_at;               /* armed countdown for the next call, or -1 */
    long failed;                /* allocations the last armed call saw fail */
} state;

/* ---- allocation-failure arming ------------------------------------------ */

static void arm(state *s)
{
    s->failed = 0;
    if (s->fail_at >= 0)
        mv_test_fail_after(s->fail_at);
}

static void disarm(state *s)
{
    if (s->fail_at >= 0) {
        s->failed = mv_test_failed_allocations();
        mv_test_fail_after(-1);
        s->fail_at = -1;
    }
}

#ifdef FUZZ_STATS
/* Build with -DFUZZ_STATS to see, at exit, how often each operation's main
 * call succeeded, failed, and failed for an injected allocation failure;
 * a check that the fuzzer reaches the interesting outcomes. */
static long stat_ok[32], stat_fail[32], stat_nomem[32];
static int stat_op;
static void stat_print(void)
{
    for (int i = 0; i < 32; i++)
        if (stat_ok[i] || stat_fail[i])
            fprintf(stderr, "op %2d: ok %ld, failed %ld (nomem %ld)\n", i, stat_ok[i],
                    stat_fail[i], stat_nomem[i]);
}
#define STAT(rc)                                                                               \
    do {                                                                                       \
        if ((rc) < 0)                                                                          \
            stat_fail[stat_op]++;                                                              \
        else                                                                                   \
            stat_ok[stat_op]++;                                                                \
        if ((rc) == MV_ENOMEM)                                                                 \
            stat_nomem[stat_op]++;                                                             \
    } while (0)
#else
#define STAT(rc) ((void)0)
#endif

/* The contract for the op's main call, rc < 0 or 0. */
static int after(state *s, int rc, const mv_error *err)
{
    STAT(rc);
    fuzz_rc(rc, err);
    if (s->failed > 0)
        FUZZ_CHECK_ERR(rc == MV_ENOMEM, err);
    if (rc == MV_ENOMEM)
        FUZZ_CHECK_ERR(s->failed > 0, err);
    return rc;
}

static void *after_ptr(state *s, void *p, const mv_error *err)
{
    fuzz_ptr(p, err);
    after(s, p ? 0 : err->code, err);
    return p;
}

/* ---- slots --------------------------------------------------------------- */

static mv_view *pick_view(state *s, int *slot)
{
    int start = fz_u8(&s->in) % NVIEW;
    for (int k = 0; k < NVIEW; k++) {
        int i = (start + k) % NVIEW;
        if (s->view[i]) {
            if (slot)
                *slot = i;
            return s->view[i];
        }
    }
    return NULL;
}

static mv_object *pick_obj(state *s, int *slot)
{
    int start = fz_u8(&s->in) % NOBJ;
    for (int k = 0; k < NOBJ; k++) {
        int i = (start + k) % NOBJ;
        if (s->obj[i]) {
            if (slot)
                *slot = i;
            return s->obj[i];
        }
    }
    return NULL;
}

static void put_view(state *s, mv_view *v)
{
    int at = fz_u8(&s->in) % NVIEW;
    for (int k = 0; k < NVIEW; k++)
        if (!s->view[(at + k) % NVIEW]) {
            at = (at + k) % NVIEW;
            break;
        }
    mv_decref(s->view[at]);
    s->view[at] = v;
}

static void put_obj(state *s, mv_object *o)
{
    int at = fz_u8(&s->in) % NOBJ;
    for (int k = 0; k < NOBJ; k++)
        if (!s->obj[(at + k) % NOBJ]) {
            at = (at + k) % NOBJ;
            break;
        }
    mv_decref(s->obj[at]);
    s->obj[at] = o;
}

/* ---- generators ------------------------------------------------------------ */

static const char *const formats[] = {
    "B",   "b",  "c",     "@B",   "<h",  ">H", "i",       "@I",           "q",    ">Q",
    "n",   "N",  "e",     "<f",   "d",   ">d", "?",       "P",            "Zf",   ">Zd",
    "3s",  "5p", "xBx",   "<hB",  "l",   "L",  "2i",      "T{<h:a:B:b:}", "@bi",  "=?",
    "<e",  "0s", "Bx",    "!L",   "2c",  "T{B}", "(2,2)h", "T{b:x:T{>H}}", "=q", "0B",
};
#define NFORMATS ((int)(sizeof formats / sizeof formats[0]))

/* A format: mostly from the table, sometimes text from the input. */
static const char *random_format(state *s, char *buf, size_t room)
{
    uint8_t k = fz_u8(&s->in);
    if (k % 8 != 0)
        return formats[(k >> 3) % NFORMATS];
    static const char alphabet[] = "xcbB?hHiIlLqQnNefdspPwZT{}:@=<>!0123456789(), ";
    size_t n = fz_u8(&s->in) % 10;
    if (n >= room)
        n = room - 1;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = fz_u8(&s->in);
        buf[i] = c < 0xe0 ? alphabet[c % (sizeof alphabet - 1)] : (char)(c & 0x7f ? c & 0x7f : 'B');
    }
    buf[n] = '\0';
    return buf;
}

static int random_keys(state *s, mv_key *keys)
{
    int n = fz_u8(&s->in) % 5;
    for (int i = 0; i < n; i++) {
        mv_key *k = &keys[i];
        memset(k, 0, sizeof *k);
        uint8_t kind = fz_u8(&s->in) % 9;
        if (kind < 3) {
            k->kind = MV_KEY_INDEX;
            k->index = fz_index(&s->in);
        } else if (kind < 7) {
            k->kind = MV_KEY_SLICE;
            uint8_t has = fz_u8(&s->in);
            k->has_start = has & 1;
            k->has_stop = has & 2;
            k->has_step = has & 4;
            if (k->has_start)
                k->start = fz_index(&s->in);
            if (k->has_stop)
                k->stop = fz_index(&s->in);
            if (k->has_step)
                k->step = has & 8 ? fz_index(&s->in) : (ptrdiff_t)(has >> 4) - 8;
        } else if (kind == 7) {
            k->kind = MV_KEY_ELLIPSIS;
        } else {
            k->kind = MV_KEY_NEWAXIS;
        }
    }
    return n;
}

static void random_value(state *s, mv_value *v)
{
    memset(v, 0, sizeof *v);
    uint8_t k = fz_u8(&s->in);
    switch (k % 7) {
    case 0:
        v->kind = MV_VALUE_BOOL;
        v->v.b = k & 8;
        break;
    case 1:
        v->kind = MV_VALUE_SIGNED;
        v->v.i = k & 8 ? (int64_t)fz_u64(&s->in) : (int64_t)(int8_t)fz_u8(&s->in);
        break;
    case 2:
        v->kind = MV_VALUE_UNSIGNED;
        v->v.u = k & 8 ? fz_u64(&s->in) : fz_u8(&s->in);
        break;
    case 3: {
        v->kind = MV_VALUE_DOUBLE;
        uint64_t bits = fz_u64(&s->in);
        if (k & 8)
            memcpy(&v->v.d, &bits, sizeof bits);
        else
            v->v.d = (double)(int8_t)bits / 4.0;
        break;
    }
    case 4:
        v->kind = MV_VALUE_COMPLEX;
        v->v.c.re = (double)(int8_t)fz_u8(&s->in);
        v->v.c.im = k & 8 ? NAN : (double)(int8_t)fz_u8(&s->in);
        break;
    case 5: {
        v->kind = MV_VALUE_BYTES;
        size_t off = fz_u8(&s->in) % sizeof s->pool;
        size_t len = fz_u8(&s->in) % 8;
        if (len > sizeof s->pool - off)
            len = sizeof s->pool - off;
        v->v.bytes.ptr = s->pool + off;
        v->v.bytes.len = len;
        break;
    }
    default:
        v->kind = MV_VALUE_NONE;
        break;
    }
}

/* ---- descriptor helpers ------------------------------------------------------ */

/* A copy of b with shape filled in when the consumer asked for none. */
static void normalized(const mv_buffer *b, mv_buffer *out, ptrdiff_t *shape1)
{
    *out = *b;
    if (!b->shape && b->ndim == 1) {
        *shape1 = b->itemsize > 0 ? b->len / b->itemsize : 0;
        out->shape = shape1;
    }
}

/* b's bytes in C (or Fortran) order, malloc'd; NULL when too big. */
static unsigned char *gather(const mv_buffer *b, bool fortran)
{
    if (b->len > MAXBYTES * 4)
        return NULL;
    mv_buffer n;
    ptrdiff_t shape1;
    normalized(b, &n, &shape1);
    unsigned char *out = malloc((size_t)b->len + 1);
    FUZZ_CHECK(out);
    fuzz_gather(&n, out, fortran, NULL, 0);
    return out;
}

static int cmp_addr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

/* True when no two items of b share a byte (so writes to it read back). */
static bool no_aliasing(const mv_buffer *b)
{
    mv_buffer n;
    ptrdiff_t shape1;
    normalized(b, &n, &shape1);
    ptrdiff_t count = fuzz_nitems(&n);
    if (count <= 1)
        return true;
    if (count > MAXBYTES)
        return false;
    uintptr_t *addr = malloc((size_t)count * sizeof *addr);
    FUZZ_CHECK(addr);
    ptrdiff_t idx[MV_MAX_NDIM] = {0}, k = 0;
    do
        addr[k++] = fuzz_item_addr(&n, idx, NULL, 0);
    while (fuzz_next_index(n.ndim, n.shape, idx, false));
    qsort(addr, (size_t)count, sizeof *addr, cmp_addr);
    bool ok = true;
    for (ptrdiff_t i = 1; i < count && ok; i++)
        ok = addr[i] - addr[i - 1] >= (uintptr_t)n.itemsize;
    free(addr);
    return ok;
}

/* PyBuffer_IsContiguous, written out. */
static bool model_contiguous(const mv_buffer *b, char order)
{
    if (b->suboffsets)
        return false;
    if (order == 'A')
        return model_contiguous(b, 'C') || model_contiguous(b, 'F');
    if (order != 'C' && order != 'F')
        return false;
    if (b->len == 0 || !b->strides)
        return true;
    ptrdiff_t sd = b->itemsize;
    for (int k = 0; k < b->ndim; k++) {
        int d = order == 'C' ? b->ndim - 1 - k : k;
        if (b->shape[d] > 1 && b->strides[d] != sd)
            return false;
        sd *= b->shape[d];
    }
    return true;
}

static bool is_byte_format(const char *f)
{
    if (!f)
        return true;
    if (f[0] == '@')
        f++;
    return (f[0] == 'B' || f[0] == 'b' || f[0] == 'c') && f[1] == '\0';
}

/* The bytes 'A' order means: memory order when contiguous, else C. */
static bool a_is_fortran(const mv_buffer *b)
{
    return !model_contiguous(b, 'C') && model_contiguous(b, 'F');
}

static bool released_error(const mv_error *err)
{
    return err->code == MV_EVALUE &&
           strcmp(err->message, "operation forbidden on released memoryview object") == 0;
}

/* ---- external memory ---------------------------------------------------------- */

static void ext_release(void *ctx, void *mem)
{
    ext_ctx *x = ctx;
    FUZZ_CHECK(x->used && !x->released);
    FUZZ_CHECK(mem == x->mem);
    x->released = true;
    free(x->block);
    x->block = NULL;
}

static ext_ctx *ext_slot(state *s)
{
    for (int i = 0; i < NEXT; i++)
        if (!s->ext[i].used)
            return &s->ext[i];
    return NULL;
}

static void fill(state *s, unsigned char *p, size_t n)
{
    size_t got;
    const uint8_t *src = fz_bytes(&s->in, n, &got);
    memcpy(p, src, got);
    for (size_t i = got; i < n; i++)
        p[i] = (unsigned char)(i * 31 + 7);
}

/* A strided layout over fresh memory, checked with mv_layout_validate
 * against an exact model of when it must pass. */
static mv_object *new_external_layout(state *s, mv_error *err)
{
    ext_ctx *x = ext_slot(s);
    if (!x)
        return NULL;
    const char *format = formats[fz_u8(&s->in) % NFORMATS];
    mv_format f;
    FUZZ_CHECK(mv_format_parse(&f, format, NULL) == 0);
    ptrdiff_t itemsize = f.itemsize;
    mv_format_clear(&f);
    if (itemsize == 0)
        return NULL;

    int ndim = fz_u8(&s->in) % 5;
    ptrdiff_t shape[4], strides[4], subs[4];
    ptrdiff_t nitems = 1;
    for (int d = 0; d < ndim; d++) {
        shape[d] = fz_u8(&s->in) % 5;
        nitems *= shape[d];
    }
    uint8_t mode = fz_u8(&s->in);
    bool pil = ndim >= 1 && mode % 5 == 0;
    /* Strides: C order, Fortran order, or random; then some reversed. */
    ptrdiff_t sd = itemsize;
    for (int k = 0; k < ndim; k++) {
        int d = (mode >> 3) % 3 == 1 ? k : ndim - 1 - k;
        if ((mode >> 3) % 3 == 2)
            strides[d] = ((ptrdiff_t)(fz_u8(&s->in) % 9) - 4) * itemsize +
                         ((fz_u8(&s->in) % 4 == 0) ? 1 : 0);
        else
            strides[d] = sd;
        sd *= shape[d] > 0 ? shape[d] : 1;
        if (fz_u8(&s->in) % 4 == 0)
            strides[d] = -strides[d];
    }
    /* The dimensions after an indirect dimension 0 live in rows. */
    int first = pil ? 1 : 0;
    ptrdiff_t lo = 0, hi = 0;
    for (int d = first; d < ndim; d++) {
        ptrdiff_t span = (shape[d] > 0 ? shape[d] - 1 : 0) * strides[d];
        if (span < 0)
            lo += span;
        else
            hi += span;
    }
    ptrdiff_t extent = hi - lo + itemsize;
    uint8_t pad = fz_u8(&s->in);
    ptrdiff_t pre = pad % 4, post = (pad >> 2) % 4;
    mv_buffer lay;
    memset(&lay, 0, sizeof lay);
    void *block;

    if (!pil) {
        ptrdiff_t memlen = pre + extent + post, offset = pre - lo;
        /* Sometimes a layout that reaches one byte too far. */
        if ((pad >> 4) % 8 == 0)
            offset -= 1;
        else if ((pad >> 4) % 8 == 1)
            memlen = offset + hi + itemsize - 1;
        bool expect = offset >= 0 && offset <= memlen && memlen >= 0 &&
                      (nitems == 0 || (offset + lo >= 0 && offset + hi + itemsize <= memlen));
        mv_error_clear(err);
        int rc = fuzz_rc(mv_layout_validate(memlen, itemsize, ndim, shape, strides, offset, err),
                         err);
        FUZZ_CHECK_ERR((rc == 0) == expect, err);
        if (!expect)
            return NULL;
        block = malloc((size_t)memlen + 1);
        FUZZ_CHECK(block);
        fill(s, block, (size_t)memlen);
        lay.buf = (unsigned char *)block + offset;
    } else {
        /* Row pointers for dimension 0 (walked forwards or backwards),
         * each aimed suboffset bytes before its row. */
        ptrdiff_t nrows = shape[0] > 0 ? shape[0] : 1;
        ptrdiff_t so = pad % 4;
        size_t ptrbytes = (size_t)nrows * sizeof(uintptr_t);
        size_t databytes = (size_t)(nrows * extent);
        block = malloc(ptrbytes + databytes + 1);
        FUZZ_CHECK(block);
        uintptr_t *rows = block;
        unsigned char *data = (unsigned char *)block + ptrbytes;
        fill(s, data, databytes);
        for (ptrdiff_t i = 0; i < nrows; i++)
            rows[i] = (uintptr_t)(data + i * extent - lo) - (uintptr_t)so;
        bool backwards = strides[0] < 0;
        strides[0] = backwards ? -(ptrdiff_t)sizeof(uintptr_t) : (ptrdiff_t)sizeof(uintptr_t);
        lay.buf = backwards ? (void *)&rows[nrows - 1] : (void *)rows;
        if (backwards) {
            /* Row i must still be item i: reverse the pointers. */
            for (ptrdiff_t i = 0; i < nrows / 2; i++) {
                uintptr_t t = rows[i];
                rows[i] = rows[nrows - 1 - i];
                rows[nrows - 1 - i] = t;
            }
        }
        for (int d = 0; d < ndim; d++)
            subs[d] = d == 0 ? so : -1;
        lay.suboffsets = subs;
    }
    lay.len = nitems * itemsize;
    lay.itemsize = itemsize;
    lay.readonly = fz_bool(&s->in);
    lay.ndim = ndim;
    lay.format = format;
    lay.shape = ndim ? shape : NULL;
    lay.strides = ndim ? strides : NULL;

    x->block = block;
    x->mem = lay.buf;
    x->released = false;
    x->used = true;
    mv_error_clear(err);
    arm(s);
    mv_object *o = mv_external_new_layout(&lay, ext_release, x, err);
    disarm(s);
    after_ptr(s, o, err);
    if (!o) {
        FUZZ_CHECK_ERR(err->code == MV_ENOMEM, err);
        x->used = false; /* nothing was called; the memory is still ours */
        free(block);
    }
    return o;
}

static void op_new_exporter(state *s)
{
    mv_error err;
    mv_error_clear(&err);
    mv_object *o = NULL;
    unsigned char data[64];
    switch (fz_u8(&s->in) % 5) {
    case 0:
    case 1: {
        bool bytes = fz_bool(&s->in);
        size_t len = fz_u8(&s->in) % sizeof data;
        fill(s, data, len);
        arm(s);
        o = bytes ? mv_bytes_new(fz_bool(&s->in) ? data : NULL, len, &err)
                  : mv_bytearray_new(fz_bool(&s->in) ? data : NULL, len, &err);
        disarm(s);
        /* NULL data with len > 0 is only allowed for bytearray (zeros). */
        after_ptr(s, o, &err);
        break;
    }
    case 2: {
        char buf[16];
        const char *format = random_format(s, buf, sizeof buf);
        ptrdiff_t count = (ptrdiff_t)(fz_u8(&s->in) % 20) - 1;
        mv_format f;
        if (mv_format_parse(&f, format, NULL) == 0) {
            bool big = f.itemsize > 256 || f.nvalues > 256;
            mv_format_clear(&f);
            if (big)
                return;
        }
        arm(s);
        o = mv_array_new(format, count, &err);
        disarm(s);
        after_ptr(s, o, &err);
        break;
    }
    case 3: {
        ext_ctx *x = ext_slot(s);
        if (!x)
            return;
        ptrdiff_t len = fz_u8(&s->in) % 64;
        unsigned char *block = malloc((size_t)len + 1);
        FUZZ_CHECK(block);
        fill(s, block, (size_t)len);
        x->block = block;
        x->mem = block;
        x->used = true;
        x->released = false;
        arm(s);
        o = mv_external_new(block, len, fz_bool(&s->in), ext_release, x, &err);
        disarm(s);
        after_ptr(s, o, &err);
        if (!o) {
            x->used = false;
            free(block);
        }
        break;
    }
    default:
        o = new_external_layout(s, &err);
        break;
    }
    if (o)
        put_obj(s, o);
}

/* ---- operations ------------------------------------------------------------ */

static void op_view_new(state *s)
{
    mv_error err;
    mv_error_clear(&err);
    mv_object *src;
    bool from_view = fz_bool(&s->in);
    mv_view *sv = from_view ? pick_view(s, NULL) : NULL;
    src = sv ? mv_view_object(sv) : pick_obj(s, NULL);
    if (!src)
        return;
    arm(s);
    mv_view *v = mv_view_new(src, &err);
    disarm(s);
    after_ptr(s, v, &err);
    if (!v) {
        if (sv && mv_view_is_released(sv))
            FUZZ_CHECK_ERR(released_error(&err) || err.code == MV_ENOMEM, &err);
        return;
    }
    FUZZ_CHECK(sv == NULL || !mv_view_is_released(sv));
    put_view(s, v);
}

static void op_from_memory(state *s)
{
    mv_error err;
    mv_error_clear(&err);
    size_t off = fz_u8(&s->in) % sizeof s->scratch;
    ptrdiff_t len = (ptrdiff_t)(fz_u8(&s->in) % (sizeof s->scratch - off + 1));
    uint8_t f = fz_u8(&s->in);
    int flags = f % 8 == 0 ? (int)f : (f & 1 ? MV_BUF_READ : MV_BUF_WRITE);
    if (f % 16 == 8)
        len = -1;
    arm(s);
    mv_view *v = mv_view_from_memory(s->scratch + off, len, flags, &err);
    disarm(s);
    after_ptr(s, v, &err);
    if (v) {
        FUZZ_CHECK(flags == MV_BUF_READ || flags == MV_BUF_WRITE);
        FUZZ_CHECK(mv_view_exporter(v) == NULL);
        put_view(s, v);
    }
}

static void op_subscript(state *s)
{
    mv_view *v = pick_view(s, NULL);
    if (!v)
        return;
    mv_key keys[4];
    int n = random_keys(s, keys);
    mv_error err;
    mv_error_clear(&err);
    arm(s);
    mv_view *r = mv_view_subscript(v, keys, n, &err);
    disarm(s);
    after_ptr(s, r, &err);
    if (!r) {
        if (mv_view_is_released(v))
            FUZZ_CHECK_ERR(released_error(&err), &err);
        return;
    }
    const mv_buffer *b = mv_view_buffer(r, &err);
    FUZZ_CHECK_ERR(b, &err);
    FUZZ_CHECK_ERR(mv_buffer_validate(b, &err) == 0, &err);
    put_view(s, r);
}

/* A shape for `total` items: mostly a factorisation, so casts succeed. */
static int cast_shape(state *s, ptrdiff_t total, ptrdiff_t *shape)
{
    uint8_t mode = fz_u8(&s->in) % 5;
    if (mode == 0)
        return -1;
    if (mode == 1) {
        int nd = fz_u8(&s->in) % 6;
        if (nd == 5)
            nd = 65;
        for (int d = 0; d < nd; d++)
            shape[d] = d < 6 ? (ptrdiff_t)(fz_u8(&s->in) % 9) - 1 : 1;
        return nd;
    }
    int nd = 1 + fz_u8(&s->in) % 4;
    ptrdiff_t rest = total;
    for (int d = 0; d < nd - 1; d++) {
        ptrdiff_t divs[64];
        int nd_ = 0;
        for (ptrdiff_t q = 1; q <= rest && nd_ < 64; q++)
            if (rest % q == 0)
                divs[nd_++] = q;
        shape[d] = nd_ ? divs[fz_u8(&s->in) % nd_] : 0;
        if (shape[d])
            rest /= shape[d];
    }
    shape[nd - 1] = rest;
    return nd;
}

static void op_cast(state *s)
{
    mv_view *v = pick_view(s, NULL);
    if (!v)
        return;
    char buf[16];
    const char *format = random_format(s, buf, sizeof buf);
    mv_error err;
    mv_error_clear(&err);
    const mv_buffer *b = mv_view_buffer(v, NULL);
    ptrdiff_t total = 0;
    mv_format f;
    if (b && mv_format_parse(&f, format, NULL) == 0) {
        total = f.itemsize > 0 ? b->len / f.itemsize : 0;
        mv_format_clear(&f);
    }
    ptrdiff_t shape[70];
    int ndim = cast_shape(s, total, shape);
    uint8_t fl = fz_u8(&s->in);
    int flags = fl % 16 == 15 ? (int)fl : fl % 4;
    arm(s);
    mv_view *r = mv_view_cast(v, format, ndim < 0 ? NULL : shape, ndim, flags, &err);
    disarm(s);
    after_ptr(s, r, &err);
    if (!r)
        return;
    const mv_buffer *rb = mv_view_buffer(r, &err);
    FUZZ_CHECK_ERR(rb, &err);
    FUZZ_CHECK_ERR(mv_buffer_validate(rb, &err) == 0, &err);
    FUZZ_CHECK(rb->len == b->len);
    FUZZ_CHECK(strcmp(rb->format, format) == 0);
    FUZZ_CHECK(rb->readonly == b->readonly);
    FUZZ_CHECK(!rb->suboffsets);
    FUZZ_CHECK(model_contiguous(b, 'A') && model_contiguous(rb, 'A'));
    /* Same memory, reinterpreted: memory-order bytes are unchanged. */
    unsigned char *x = gather(b, a_is_fortran(b)), *y = gather(rb, a_is_fortran(rb));
    if (x && y)
        FUZZ_CHECK(memcmp(x, y, (size_t)b->len) == 0);
    free(x);
    free(y);
    put_view(s, r);
}

/* Random indices for v: mostly in range. */
static int random_index(state *s, const mv_buffer *b, ptrdiff_t *idx)
{
    int n = b ? b->ndim : 1;
    uint8_t m = fz_u8(&s->in);
    if (m % 16 == 0)
        n = m % 3;
    if (n > MV_MAX_NDIM)
        n = MV_MAX_NDIM;
    for (int d = 0; d < n; d++) {
        ptrdiff_t ext = b && d < b->ndim ? b->shape[d] : 1;
        if (m % 16 == 1 || ext == 0)
            idx[d] = fz_index(&s->in);
        else
            idx[d] = fz_range(&s->in, -ext, ext - 1);
    }
    return n;
}

static void op_get_set_item(state *s, bool set)
{
    mv_view *v = pick_view(s, NULL);
    if (!v)
        return;
    mv_error err;
    mv_error_clear(&err);
    const mv_buffer *b = mv_view_buffer(v, NULL);
    const mv_format *f = mv_view_format(v, NULL);
    ptrdiff_t nv = f ? f->nvalues : 1;
    if (nv > MAXVALUES)
        return;
    mv_value *vals = calloc((size_t)nv + 1, sizeof *vals);
    FUZZ_CHECK(vals);
    ptrdiff_t idx[MV_MAX_NDIM];
    int n = random_index(s, b, idx);
    ptrdiff_t room = fz_u8(&s->in) % 32 == 0 ? nv - 1 : nv;
    if (room < 0)
        room = 0;
    int rc;
    if (!set) {
        arm(s);
        rc = mv_view_get_item(v, idx, n, vals, room, &err);
        disarm(s);
        after(s, rc, &err);
        if (rc == 0)
            FUZZ_CHECK(b && f && n == b->ndim && room >= nv);
        free(vals);
        return;
    }

    /* Values: another item of this view (copied out, so they stay valid),
     * or random ones. */
    bool from_item = fz_u8(&s->in) % 4 != 0;
    unsigned char *store = NULL;
    if (from_item && b && f) {
        ptrdiff_t other[MV_MAX_NDIM];
        int m = random_index(s, b, other);
        mv_error_clear(&err);
        if (mv_view_get_item(v, other, m, vals, nv, &err) < 0) {
            fuzz_check_failure(err.code, &err);
            from_item = false;
        } else {
            size_t total = 0;
            for (ptrdiff_t k = 0; k < nv; k++)
                if (vals[k].kind == MV_VALUE_BYTES)
                    total += vals[k].v.bytes.len;
            store = malloc(total + 1);
            FUZZ_CHECK(store);
            size_t at = 0;
            for (ptrdiff_t k = 0; k < nv; k++)
                if (vals[k].kind == MV_VALUE_BYTES) {
                    if (vals[k].v.bytes.len)
                        memcpy(store + at, vals[k].v.bytes.ptr, vals[k].v.bytes.len);
                    vals[k].v.bytes.ptr = store + at;
                    at += vals[k].v.bytes.len;
                }
        }
    } else {
        from_item = false;
    }
    if (!from_item)
        for (ptrdiff_t k = 0; k < nv; k++)
            random_value(s, &vals[k]);

    ptrdiff_t give = fz_u8(&s->in) % 32 == 0 ? nv + 1 : nv;
    mv_error_clear(&err);
    arm(s);
    rc = mv_view_set_item(v, idx, n, vals, give, &err);
    disarm(s);
    after(s, rc, &err);
    bool in_range = b && n == b->ndim;
    for (int d = 0; in_range && d < n; d++)
        in_range = idx[d] >= -b->shape[d] && idx[d] < b->shape[d];
    /* An item read back is written back, but for a 'w' item that holds no
     * character (above U+10FFFF): reading gives it, packing refuses it. */
    bool no_char = false;
    for (ptrdiff_t k = 0; from_item && k < nv; k++)
        no_char |= vals[k].kind == MV_VALUE_CHAR && vals[k].v.u > 0x10FFFF;
    if (from_item && in_range && !b->readonly && give == nv && s->failed == 0)
        FUZZ_CHECK_ERR(no_char ? rc == MV_EVALUE : rc == 0, &err);
    if (rc == 0) {
        FUZZ_CHECK(in_range && !b->readonly);
        /* What was written reads back (the round trip is exact from the
         * second pack on; these values came from an unpack or are compared
         * loosely). */
        mv_value *back = calloc((size_t)nv + 1, sizeof *back);
        FUZZ_CHECK(back);
        mv_error_clear(&err);
        FUZZ_CHECK_ERR(mv_view_get_item(v, idx, n, back, nv, &err) == 0, &err);
        if (from_item)
            for (ptrdiff_t k = 0; k < nv; k++) {
                FUZZ_CHECK(back[k].kind == vals[k].kind);
                if (vals[k].kind == MV_VALUE_BYTES)
                    FUZZ_CHECK(back[k].v.bytes.len == vals[k].v.bytes.len &&
                               (back[k].v.bytes.len == 0 ||
                                memcmp(back[k].v.bytes.ptr, vals[k].v.bytes.ptr,
                                       back[k].v.bytes.len) == 0));
                else if (vals[k].kind == MV_VALUE_DOUBLE)
                    FUZZ_CHECK(memcmp(&back[k].v.d, &vals[k].v.d, sizeof(double)) == 0);
                else if (vals[k].kind == MV_VALUE_COMPLEX)
                    FUZZ_CHECK(memcmp(&back[k].v.c, &vals[k].v.c, sizeof back[k].v.c) == 0);
                else
                    FUZZ_CHECK(mv_value_equal(&back[k], &vals[k]) == 1);
            }
        free(back);
    } else if (mv_view_is_released(v)) {
        FUZZ_CHECK_ERR(released_error(&err), &err);
    } else if (b->readonly) {
        FUZZ_CHECK_ERR(rc == MV_ETYPE, &err);
    }
    free(store);
    free(vals);
}

static void op_assign(state *s)
{
    int slot;
    mv_view *v = pick_view(s, &slot);
    if (!v)
        return;
    mv_key keys[4];
    int n = random_keys(s, keys);
    /* The source: another view's descriptor, or a held buffer. */
    const mv_buffer *src = NULL;
    uint8_t which = fz_u8(&s->in);
    if (which % 3 == 0) {
        for (int k = 0; k < NHELD && !src; k++)
            if (s->held[(which / 3 + k) % NHELD].obj)
                src = &s->held[(which / 3 + k) % NHELD];
    }
    if (!src) {
        mv_view *w = pick_view(s, NULL);
        src = w ? mv_view_buffer(w, NULL) : NULL;
    }
    if (!src)
        return;
    unsigned char *before = gather(src, false);
    mv_error err;
    mv_error_clear(&err);
    arm(s);
    int rc = mv_view_assign(v, keys, n, src, &err);
    disarm(s);
    after(s, rc, &err);
    if (rc == 0 && before) {
        mv_view *r = mv_view_subscript(v, keys, n, NULL);
        FUZZ_CHECK(r);
        const mv_buffer *rb = mv_view_buffer(r, NULL);
        FUZZ_CHECK(rb && rb->ndim == src->ndim && rb->itemsize == src->itemsize);
        if (no_aliasing(rb)) {
            unsigned char *now = gather(rb, false);
            if (now)
                FUZZ_CHECK(rb->len == src->len && memcmp(now, before, (size_t)rb->len) == 0);
            free(now);
        }
        mv_decref(r);
    } else if (rc < 0 && mv_view_is_released(v)) {
        FUZZ_CHECK_ERR(released_error(&err), &err);
    }
    free(before);
}

/* The view's C-order bytes `ref` (len of them) again, range by range
 * (mv_view_tobytes_range), in chunks of `chunk` items; and a range past
 * the end refused.  Takes no input: the corpus keeps its meaning. */
static void check_byte_ranges(mv_view *v, const mv_buffer *b, const unsigned char *ref,
                              size_t len, ptrdiff_t chunk)
{
    if (b->itemsize <= 0)
        return;
    ptrdiff_t n = (ptrdiff_t)len / b->itemsize;
    unsigned char *buf = malloc((size_t)(chunk * b->itemsize) + 1);
    FUZZ_CHECK(buf);
    mv_error err;
    for (ptrdiff_t i = 0; i < n; i += chunk) {
        ptrdiff_t k = n - i < chunk ? n - i : chunk;
        mv_error_clear(&err);
        FUZZ_CHECK_ERR(mv_view_tobytes_range(v, i, k, buf, k * b->itemsize, &err) == 0, &err);
        FUZZ_CHECK(memcmp(buf, ref + i * b->itemsize, (size_t)(k * b->itemsize)) == 0);
    }
    mv_error_clear(&err);
    FUZZ_CHECK(fuzz_rc(mv_view_tobytes_range(v, n, 1, buf, b->itemsize, &err), &err) ==
               MV_EVALUE);
    free(buf);
}

static void op_tobytes(state *s)
{
    mv_view *v = pick_view(s, NULL);
    if (!v)
        return;
    static const char orders[] = "CFAx";
    char order = orders[fz_u8(&s->in) % 4];
    mv_error err;
    mv_error_clear(&err);
    size_t len = 12345;
    arm(s);
    unsigned char *out = mv_view_tobytes(v, order, &len, &err);
    disarm(s);
    after_ptr(s, out, &err);
    if (!out) {
        if (order == 'x' && !mv_view_is_released(v) && err.code != MV_ENOMEM)
            FUZZ_CHECK_ERR(err.code == MV_EVALUE, &err);
        return;
    }
    FUZZ_CHECK(order != 'x');
    const mv_buffer *b = mv_view_buffer(v, NULL);
    FUZZ_CHECK(b && (ptrdiff_t)len == b->len);
    bool fortran = order == 'F' || (order == 'A' && a_is_fortran(b));
    unsigned char *ref = gather(b, fortran);
    if (ref)
        FUZZ_CHECK(memcmp(out, ref, len) == 0);
    if (ref && !fortran)
        check_byte_ranges(v, b, ref, len, 1 + (ptrdiff_t)(len % 5));
    /* The _into form, with room to spare and with too little. */
    unsigned char *into = malloc(len + 2);
    FUZZ_CHECK(into);
    mv_error_clear(&err);
    FUZZ_CHECK_ERR(mv_view_tobytes_into(v, into, (ptrdiff_t)len + 1, order, &err) == 0, &err);
    FUZZ_CHECK(memcmp(into, out, len) == 0);
    if (len > 0) {
        mv_error_clear(&err);
        FUZZ_CHECK(fuzz_rc(mv_view_tobytes_into(v, into, (ptrdiff_t)len - 1, order, &err), &err) ==
                   MV_EVALUE);
    }
    free(into);
    free(ref);
    free(out);
}

/* CPython's bytes.hex(sep, bytes_per_sep), written out. */
static void ref_hex(const unsigned char *p, size_t n, char sep, int bps, char *out)
{
    static const char digits[] = "0123456789abcdef";
    long long g = bps < 0 ? -(long long)bps : bps;
    if (sep == 0 || g == 0 || (size_t)g >= n)
        g = 0;
    for (size_t i = 0; i < n; i++) {
        *out++ = digits[p[i] >> 4];
        *out++ = digits[p[i] & 15];
        size_t left = n - 1 - i;
        if (g && left > 0) {
            bool cut = bps > 0 ? left % (size_t)g == 0 : (i + 1) % (size_t)g == 0;
            if (cut)
                *out++ = sep;
        }
    }
    *out = '\0';
}

/* hex() of the whole view (`hex`, len characters) again, as the
 * concatenation of the texts of consecutive item ranges
 * (mv_view_hex_range_*), chunk items each.  Takes no input. */
static void check_hex_ranges(mv_view *v, const mv_buffer *b, const char *hex, size_t len,
                             char sep, int bps, ptrdiff_t chunk)
{
    if (b->itemsize <= 0)
        return;
    ptrdiff_t n = b->len / b->itemsize, at = 0;
    char *buf = malloc((size_t)(chunk * b->itemsize) * 3 + 1);
    FUZZ_CHECK(buf);
    mv_error err;
    for (ptrdiff_t i = 0; i < n; i += chunk) {
        ptrdiff_t k = n - i < chunk ? n - i : chunk;
        mv_error_clear(&err);
        ptrdiff_t m = mv_view_hex_range_length(v, i, k, sep, bps, &err);
        FUZZ_CHECK_ERR(m >= 0 && at + m <= (ptrdiff_t)len, &err);
        FUZZ_CHECK_ERR(mv_view_hex_range_into(v, i, k, buf, m, sep, bps, &err) == 0, &err);
        FUZZ_CHECK(memcmp(buf, hex + at, (size_t)m) == 0);
        at += m;
    }
    FUZZ_CHECK(at == (ptrdiff_t)len);
    free(buf);
}

static void op_hex(state *s)
{
    mv_view *v = pick_view(s, NULL);
    if (!v)
        return;
    uint8_t k = fz_u8(&s->in);
    char sep = k % 4 == 0 ? 0 : (char)fz_u8(&s->in);
    int bps = k % 8 == 1 ? (int)fz_u32(&s->in) : (int)(k >> 3) - 16;
    mv_error err;
    mv_error_clear(&err);
    size_t len = 999;
    arm(s);
    char *hex = mv_view_hex(v, sep, bps, &len, &err);
    disarm(s);
    after_ptr(s, hex, &err);
    if (!hex) {
        if (!mv_view_is_released(v) && err.code != MV_ENOMEM)
            /* Only the separator can be wrong: not ASCII (CPython), or not
             * printable (the header's wording). */
            FUZZ_CHECK_ERR(((unsigned char)sep < 0x20 || (unsigned char)sep >= 0x7f) &&
                               sep != 0 && err.code == MV_EVALUE,
                           &err);
        return;
    }
    FUZZ_CHECK((unsigned char)sep <= 0x7f);
    FUZZ_CHECK(strlen(hex) == len);
    mv_error_clear(&err);
    FUZZ_CHECK_ERR(mv_view_hex_length(v, sep, bps, &err) == (ptrdiff_t)len, &err);
    const mv_buffer *b = mv_view_buffer(v, NULL);
    unsigned char *bytes = gather(b, false);
    if (bytes) {
        char *ref = malloc((size_t)b->len * 3 + 1);
        FUZZ_CHECK(ref);
        ref_hex(bytes, (size_t)b->len, sep, bps, ref);
        FUZZ_CHECK(strcmp(ref, hex) == 0);
        free(ref);
        check_hex_ranges(v, b, hex, len, sep, bps, 1 + (ptrdiff_t)(len % 7));
    }
    /* _into writes exactly len bytes and refuses less room. */
    char *into = malloc(len + 2);
    FUZZ_CHECK(into);
    into[len] = '#';
    mv_error_clear(&err);
    FUZZ_CHECK_ERR(mv_view_hex_into(v, into, (ptrdiff_t)len + 1, sep, bps, &err) == 0, &err);
    FUZZ_CHECK(memcmp(into, hex, len) == 0 && into[len] == '#');
    if (len > 0) {
        mv_error_clear(&err);
        FUZZ_CHECK(fuzz_rc(mv_view_hex_into(v, into, (ptrdiff_t)len - 1, sep, bps, &err), &err) ==
                   MV_EVALUE);
    }
    free(into);
    free(bytes);
    free(hex);
}

typedef struct counter {
    ptrdiff_t begins, ends, items, nvalues;
    int maxdepth;
    ptrdiff_t stop_after;
    int open;
    /* Each item must be what get_item gives at the next C-order index. */
    const mv_view *view;
    const mv_buffer *buf;
    ptrdiff_t idx[MV_MAX_NDIM];
} counter;

/* Equal as the same bytes unpacked twice must be: doubles bit for bit. */
static bool same_bits(const mv_value *a, const mv_value *b)
{
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case MV_VALUE_DOUBLE:
        return memcmp(&a->v.d, &b->v.d, sizeof a->v.d) == 0;
    case MV_VALUE_COMPLEX:
        return memcmp(&a->v.c, &b->v.c, sizeof a->v.c) == 0;
    case MV_VALUE_BYTES:
        return a->v.bytes.len == b->v.bytes.len &&
               (a->v.bytes.len == 0 || memcmp(a->v.bytes.ptr, b->v.bytes.ptr, a->v.bytes.len) == 0);
    case MV_VALUE_BOOL:
        return a->v.b == b->v.b;
    case MV_VALUE_SIGNED:
        return a->v.i == b->v.i;
    case MV_VALUE_UNSIGNED:
        return a->v.u == b->v.u;
    default:
        return true;
    }
}

static int count_begin(void *ctx, int depth)
{
    counter *c = ctx;
    FUZZ_CHECK(depth == c->open);
    c->open++;
    c->begins++;
    if (depth > c->maxdepth)
        c->maxdepth = depth;
    return 0;
}

static int count_end(void *ctx, int depth)
{
    counter *c = ctx;
    c->open--;
    FUZZ_CHECK(depth == c->open);
    c->ends++;
    return 0;
}

static int count_item(void *ctx, const mv_value *values, ptrdiff_t nvalues)
{
    counter *c = ctx;
    FUZZ_CHECK(nvalues == c->nvalues && (values || nvalues == 0));
    if (c->view && nvalues <= 64) {
        mv_value want[65];
        FUZZ_CHECK(mv_view_get_item(c->view, c->idx, c->buf->ndim, want, 65, NULL) == 0);
        for (ptrdiff_t k = 0; k < nvalues; k++)
            FUZZ_CHECK(same_bits(&values[k], &want[k]));
        fuzz_next_index(c->buf->ndim, c->buf->shape, c->idx, false);
    }
    c->items++;
    return c->stop_after && c->items == c->stop_after ? 5 : 0;
}

/* tolist text for formats of integers and bools only, written out. */
typedef struct textbuf {
    char *p;
    size_t len, cap;
} textbuf;

static void tb_put(textbuf *t, const char *str)
{
    size_t n = strlen(str);
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->p = realloc(t->p, t->cap);
        FUZZ_CHECK(t->p);
    }
    memcpy(t->p + t->len, str, n + 1);
    t->len += n;
}

static bool int_only_format(const mv_format *f)
{
    for (int i = 0; i < f->nfields; i++)
        if (!strchr("bBhHiIlLqQnNP?x", f->fields[i].code))
            return false;
    return true;
}

static void ref_tolist_rec(const mv_view *v, const mv_buffer *b, bool tuple, ptrdiff_t nv,
                           int dim, ptrdiff_t *idx, textbuf *t)
{
    if (dim == b->ndim) {
        mv_value vals[65];
        FUZZ_CHECK(mv_view_get_item(v, idx, b->ndim, vals, 65, NULL) == 0);
        if (tuple)
            tb_put(t, "(");
        for (ptrdiff_t k = 0; k < nv; k++) {
            char num[32];
            if (k)
                tb_put(t, ", ");
            if (vals[k].kind == MV_VALUE_BOOL)
                snprintf(num, sizeof num, "%s", vals[k].v.b ? "True" : "False");
            else if (vals[k].kind == MV_VALUE_SIGNED)
                snprintf(num, sizeof num, "%" PRId64, vals[k].v.i);
            else
                snprintf(num, sizeof num, "%" PRIu64, vals[k].v.u);
            tb_put(t, num);
        }
        if (tuple)
            tb_put(t, nv == 1 ? ",)" : ")");
        return;
    }
    tb_put(t, "[");
    for (idx[dim] = 0; idx[dim] < b->shape[dim]; idx[dim]++) {
        if (idx[dim])
            tb_put(t, ", ");
        ref_tolist_rec(v, b, tuple, nv, dim + 1, idx, t);
    }
    tb_put(t, "]");
}

static void op_tolist(state *s)
{
    mv_view *v = pick_view(s, NULL);
    if (!v)
        return;
    mv_error err;
    mv_error_clear(&err);
    if (fz_bool(&s->in)) {
        size_t len = 7;
        arm(s);
        char *text = mv_view_tolist_text(v, &len, &err);
        disarm(s);
        after_ptr(s, text, &err);
        if (text) {
            FUZZ_CHECK(strlen(text) == len);
            const mv_buffer *b = mv_view_buffer(v, NULL);
            FUZZ_CHECK(b);
            if (b->ndim > 0)
                FUZZ_CHECK(text[0] == '[' && text[len - 1] == ']');
            const mv_format *f = mv_view_format(v, NULL);
            if (f && int_only_format(f) && f->nvalues <= 64 && fuzz_nitems(b) <= 1024) {
                /* A record prints as a tuple even with one value. */
                bool tuple = f->nvalues != 1 || strchr(b->format, '{');
                textbuf t = {0};
                ptrdiff_t idx[MV_MAX_NDIM] = {0};
                tb_put(&t, "");
                ref_tolist_rec(v, b, tuple, f->nvalues, 0, idx, &t);
                FUZZ_CHECK(strcmp(t.p, text) == 0);
                free(t.p);
            }
        }
        free(text);
        return;
    }
    const mv_buffer *b = mv_view_buffer(v, NULL);
    const mv_format *f = mv_view_format(v, NULL);
    counter c = {0};
    c.nvalues = f ? f->nvalues : -1;
    c.stop_after = fz_u8(&s->in) % 8;
    c.view = b && f ? v : NULL;
    c.buf = b;
    mv_visitor vis = {count_begin, count_item, count_end, &c};
    if (fz_u8(&s->in) % 8 == 0)
        vis.begin = NULL, vis.end = NULL;
    arm(s);
    int rc = mv_view_traverse(v, &vis, &err);
    disarm(s);
    if (rc == 5) {
        FUZZ_CHECK(c.stop_after && c.items == c.stop_after);
        return;
    }
    after(s, rc, &err);
    if (rc < 0)
        return;
    FUZZ_CHECK(b && f);
    ptrdiff_t lists = 0, level = 1;
    for (int d = 0; d < b->ndim; d++) {
        lists += level;
        level *= b->shape[d];
    }
    FUZZ_CHECK(c.items == fuzz_nitems(b));
    FUZZ_CHECK(!c.stop_after || c.items < c.stop_after);
    if (vis.begin)
        FUZZ_CHECK(c.begins == lists && c.ends == lists && c.open == 0);
}

static bool integer_format(const mv_view *v, const mv_buffer *b)
{
    const mv_format *f = mv_view_format(v, NULL);
    return f && f->native && strchr("bBchHiIlLqQnN", f->native) && b->format;
}

/* Python's == on two values, written out: ints (and bools) exactly, ints
 * against floats exactly (no rounding), complex against real when the
 * imaginary part is 0, bytes only against bytes, NaN unequal. */
__extension__ typedef __int128 i128;

static bool value_int(const mv_value *v, i128 *out)
{
    switch (v->kind) {
    case MV_VALUE_BOOL:
        *out = v->v.b;
        return true;
    case MV_VALUE_SIGNED:
        *out = v->v.i;
        return true;
    case MV_VALUE_UNSIGNED:
        *out = v->v.u;
        return true;
    default:
        return false;
    }
}

static bool real_eq_int(double re, i128 i)
{
    if (!isfinite(re) || re != floor(re) || fabs(re) >= 0x1p126)
        return false;
    return (i128)re == i;
}

static int model_value_equal(const mv_value *a, const mv_value *b)
{
    if (a->kind == MV_VALUE_NONE || b->kind == MV_VALUE_NONE)
        return a->kind == b->kind;
    if (a->kind == MV_VALUE_BYTES || b->kind == MV_VALUE_BYTES)
        return a->kind == b->kind && a->v.bytes.len == b->v.bytes.len &&
               (a->v.bytes.len == 0 ||
                memcmp(a->v.bytes.ptr, b->v.bytes.ptr, a->v.bytes.len) == 0);
    /* A character ('w': a str in Python) equals only the same character,
     * never a number. */
    if (a->kind == MV_VALUE_CHAR || b->kind == MV_VALUE_CHAR)
        return a->kind == b->kind && a->v.u == b->v.u;
    i128 x, y;
    bool xi = value_int(a, &x), yi = value_int(b, &y);
    if (xi && yi)
        return x == y;
    double are = a->kind == MV_VALUE_COMPLEX ? a->v.c.re : a->v.d;
    double aim = a->kind == MV_VALUE_COMPLEX ? a->v.c.im : 0.0;
    double bre = b->kind == MV_VALUE_COMPLEX ? b->v.c.re : b->v.d;
    double bim = b->kind == MV_VALUE_COMPLEX ? b->v.c.im : 0.0;
    if (xi)
        return bim == 0.0 && real_eq_int(bre, x);
    if (yi)
        return aim == 0.0 && real_eq_int(are, y);
    return are == bre && aim == bim;
}

static void op_value_equal(state *s)
{
    mv_value a, b;
    random_value(s, &a);
    if (fz_bool(&s->in)) {
        b = a;
        /* The same number in another kind. */
        uint8_t k = fz_u8(&s->in) % 4;
        i128 i;
        if (value_int(&a, &i) && i >= INT64_MIN && i <= INT64_MAX) {
            if (k == 0)
                b.kind = MV_VALUE_DOUBLE, b.v.d = (double)(int64_t)i;
            else if (k == 1)
                b.kind = MV_VALUE_COMPLEX, b.v.c.re = (double)(int64_t)i, b.v.c.im = 0.0;
            else if (k == 2 && i >= 0)
                b.kind = MV_VALUE_UNSIGNED, b.v.u = (uint64_t)i;
            else
                b.kind = MV_VALUE_SIGNED, b.v.i = (int64_t)i;
        }
    } else {
        random_value(s, &b);
    }
    int eq = mv_value_equal(&a, &b);
    FUZZ_CHECK(eq == mv_value_equal(&b, &a));
    FUZZ_CHECK(eq == model_value_equal(&a, &b));
}

/* Reference ==: shapes equivalent, then item by item through get_item and
 * the model above.  -1 when it cannot tell (too big, format trouble). */
static int model_view_equal(const mv_view *a, const mv_view *b)
{
    const mv_buffer *x = mv_view_buffer(a, NULL), *y = mv_view_buffer(b, NULL);
    const mv_format *fa = mv_view_format(a, NULL), *fb = mv_view_format(b, NULL);
    if (!x || !y || !fa || !fb)
        return -1;
    if (x->ndim != y->ndim)
        return 0;
    for (int d = 0; d < x->ndim; d++) {
        if (x->shape[d] != y->shape[d])
            return 0;
        if (x->shape[d] == 0)
            return 1;
    }
    ptrdiff_t n = fuzz_nitems(x);
    if (n > 1024 || fa->nvalues > 64 || fb->nvalues > 64)
        return -1;
    if (fa->nvalues != fb->nvalues)
        return n == 0;
    mv_value va[65], vb[65];
    ptrdiff_t idx[MV_MAX_NDIM] = {0};
    if (n == 0)
        return 1;
    do {
        if (mv_view_get_item(a, idx, x->ndim, va, 65, NULL) < 0 ||
            mv_view_get_item(b, idx, y->ndim, vb, 65, NULL) < 0)
            return -1;
        for (ptrdiff_t k = 0; k < fa->nvalues; k++)
            if (!model_value_equal(&va[k], &vb[k]))
                return 0;
    } while (fuzz_next_index(x->ndim, x->shape, idx, false));
    return 1;
}

static void op_equal(state *s)
{
    mv_view *a = pick_view(s, NULL), *b = pick_view(s, NULL);
    if (!a || !b)
        return;
    mv_error err;
    mv_error_clear(&err);
    arm(s);
    int eq = mv_view_equal(a, b, &err);
    disarm(s);
    after(s, eq < 0 ? eq : 0, &err);
    if (eq < 0)
        return;
    FUZZ_CHECK(eq == 0 || eq == 1);
    mv_error_clear(&err);
    int back = mv_view_equal(b, a, &err);
    FUZZ_CHECK_ERR(back == eq, &err);
    if (mv_view_is_released(a) || mv_view_is_released(b)) {
        FUZZ_CHECK(eq == (a == b));
        return;
    }
    const mv_buffer *x = mv_view_buffer(a, NULL), *y = mv_view_buffer(b, NULL);
    mv_error_clear(&err);
    FUZZ_CHECK_ERR(mv_buffer_equal(x, y, &err) == eq, &err);
    int want = model_view_equal(a, b);
    if (want >= 0)
        FUZZ_CHECK(eq == want);
    /* Views that compare equal within one format hash alike. */
    if (eq == 1 && strcmp(x->format, y->format) == 0) {
        mv_view *ra = mv_view_toreadonly(a, NULL), *rb = mv_view_toreadonly(b, NULL);
        uint64_t ha = 0, hb = 0;
        if (ra && rb && mv_view_hash(ra, &ha, NULL) == 0 && mv_view_hash(rb, &hb, NULL) == 0)
            FUZZ_CHECK(ha == hb);
        mv_decref(ra);
        mv_decref(rb);
    }
    /* One integer format: equal exactly when the shapes are equivalent and
     * the bytes agree. */
    const char *fx = x->format[0] == '@' ? x->format + 1 : x->format;
    const char *fy = y->format[0] == '@' ? y->format + 1 : y->format;
    if (integer_format(a, x) && integer_format(b, y) && strcmp(fx, fy) == 0) {
        bool shapes = x->ndim == y->ndim, empty = false;
        for (int d = 0; shapes && d < x->ndim; d++) {
            shapes = x->shape[d] == y->shape[d];
            if (shapes && x->shape[d] == 0) {
                empty = true;
                break;
            }
        }
        want = 0;
        if (shapes && empty) {
            want = 1;
        } else if (shapes) {
            unsigned char *p = gather(x, false), *q = gather(y, false);
            if (!p || !q) {
                free(p);
                free(q);
                return;
            }
            want = memcmp(p, q, (size_t)x->len) == 0;
            free(p);
            free(q);
        }
        FUZZ_CHECK(eq == want);
    }
}

static void op_hash(state *s)
{
    mv_view *v = pick_view(s, NULL);
    if (!v)
        return;
    mv_view *ro = NULL;
    if (fz_bool(&s->in)) {
        ro = mv_view_toreadonly(v, NULL);
        if (!ro)
            return;
        v = ro;
    }
    mv_error err;
    mv_error_clear(&err);
    uint64_t h = 0;
    arm(s);
    int rc = mv_view_hash(v, &h, &err);
    disarm(s);
    after(s, rc, &err);
    const mv_buffer *b = mv_view_buffer(v, NULL);
    if (rc == 0) {
        FUZZ_CHECK(b && b->readonly);
        if (is_byte_format(b->format)) {
            unsigned char *bytes = gather(b, false);
            if (bytes)
                FUZZ_CHECK(h == mv_hash_bytes(bytes, (size_t)b->len));
            free(bytes);
        }
        /* Stable. */
        uint64_t h2 = 0;
        FUZZ_CHECK(mv_view_hash(v, &h2, NULL) == 0 && h2 == h);
    } else if (b && !b->readonly) {
        FUZZ_CHECK_ERR(rc == MV_EVALUE, &err);
    }
    mv_decref(ro);
}

/* bytes.find / count by brute force on the already adjusted range. */
static void ref_adjust(ptrdiff_t len, ptrdiff_t *start, ptrdiff_t *end)
{
    if (*end > len)
        *end = len;
    else if (*end < 0)
        *end = *end + len < 0 ? 0 : *end + len;
    if (*start < 0)
        *start = *start + len < 0 ? 0 : *start + len;
}

/* Pieces a split reports, checked one by one against a model's list. */
typedef struct split_check {
    ptrdiff_t start[64], stop[64];
    int n;
} split_check;

static int split_collect(void *ctx, ptrdiff_t start, ptrdiff_t stop)
{
    split_check *c = ctx;
    FUZZ_CHECK(c->n < 64);
    c->start[c->n] = start;
    c->stop[c->n] = stop;
    c->n++;
    return 0;
}

static bool ref_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* bytes.split(sep or None, maxsplit) of hay[0 .. len), written out from
 * its definition, into *c (at most 64 pieces: longer inputs are not
 * checked). */
static bool ref_split(const unsigned char *hay, ptrdiff_t len, const unsigned char *sep, size_t n,
                      ptrdiff_t maxsplit, split_check *c)
{
    c->n = 0;
    ptrdiff_t splits = 0, i = 0;
    if (sep) {
        ptrdiff_t from = 0;
        while (i + (ptrdiff_t)n <= len && (maxsplit < 0 || splits < maxsplit)) {
            if (memcmp(hay + i, sep, n) != 0) {
                i++;
                continue;
            }
            if (c->n == 63)
                return false;
            split_collect(c, from, i);
            splits++;
            i += (ptrdiff_t)n;
            from = i;
        }
        split_collect(c, from, len);
        return true;
    }
    for (;;) {
        while (i < len && ref_space(hay[i]))
            i++;
        if (i == len)
            return true;
        if (c->n == 63)
            return false;
        ptrdiff_t from = i;
        if (maxsplit >= 0 && splits == maxsplit) {
            split_collect(c, from, len);
            return true;
        }
        while (i < len && !ref_space(hay[i]))
            i++;
        split_collect(c, from, i);
        splits++;
    }
}

/* mv_view_split against ref_split, with the needle and without.  Takes no
 * input: maxsplit comes from values already read. */
static void check_split(mv_view *v, const unsigned char *hay, ptrdiff_t len,
                        const unsigned char *needle, size_t n, ptrdiff_t maxsplit)
{
    for (int ws = 0; ws < 2; ws++) {
        const unsigned char *sep = ws ? NULL : needle;
        if (sep && n == 0)
            continue;
        split_check want, got = {.n = 0};
        if (!ref_split(hay, len, sep, n, maxsplit, &want))
            continue;
        mv_error err;
        mv_error_clear(&err);
        FUZZ_CHECK_ERR(mv_view_split(v, sep, n, maxsplit, split_collect, &got, &err) == 0, &err);
        FUZZ_CHECK(got.n == want.n);
        for (int k = 0; k < got.n; k++)
            FUZZ_CHECK(got.start[k] == want.start[k] && got.stop[k] == want.stop[k]);
    }
}

static void op_find(state *s)
{
    mv_view *v = pick_view(s, NULL);
    if (!v)
        return;
    const mv_buffer *b = mv_view_buffer(v, NULL);
    unsigned char *hay = b ? gather(b, false) : NULL;
    /* The needle: a piece of the view itself (so it is found) or the pool. */
    unsigned char needle[8];
    size_t n = fz_u8(&s->in) % 5;
    if (hay && b->len > 0 && fz_bool(&s->in)) {
        size_t at = fz_u8(&s->in) % (size_t)b->len;
        if (n > (size_t)b->len - at)
            n = (size_t)b->len - at;
        memcpy(needle, hay + at, n);
    } else {
        size_t at = fz_u8(&s->in) % (sizeof s->pool - 8);
        memcpy(needle, s->pool + at, n);
    }
    ptrdiff_t start = fz_bool(&s->in) ? fz_index(&s->in) : 0;
    ptrdiff_t end = fz_bool(&s->in) ? fz_index(&s->in) : PTRDIFF_MAX;
    bool searchable = b && b->ndim == 1 && b->itemsize == 1 && is_byte_format(b->format);
    mv_error err;
    mv_error_clear(&err);
    uint8_t which = fz_u8(&s->in) % 5;
    int rc;
    ptrdiff_t got = -7;
    mv_view *match = NULL;
    arm(s);
    switch (which) {
    case 0:
        rc = mv_view_find(v, needle, n, start, end, &got, &err);
        break;
    case 1:
        rc = mv_view_count_bytes(v, needle, n, start, end, &got, &err);
        break;
    case 2:
        rc = mv_view_startswith(v, needle, n, &err);
        break;
    case 3:
        rc = mv_view_endswith(v, needle, n, &err);
        break;
    default:
        rc = mv_view_find_view(v, needle, n, start, end, &match, &err);
        break;
    }
    disarm(s);
    after(s, rc < 0 ? rc : 0, &err);
    if (rc < 0) {
        if (b && !searchable && err.code != MV_ENOMEM)
            FUZZ_CHECK_ERR(rc == MV_ETYPE, &err);
        free(hay);
        return;
    }
    FUZZ_CHECK(searchable);
    ptrdiff_t len = b->len;
    if (hay) {
        ptrdiff_t st = start, en = end;
        ref_adjust(len, &st, &en);
        ptrdiff_t first = -1, count = 0;
        if (en - st >= (ptrdiff_t)n) {
            if (n == 0) {
                first = st;
                count = en - st + 1;
            } else {
                for (ptrdiff_t i = st; i + (ptrdiff_t)n <= en; i++)
                    if (memcmp(hay + i, needle, n) == 0) {
                        if (first < 0)
                            first = i;
                        count++;
                        i += (ptrdiff_t)n - 1;
                    }
            }
        }
        bool starts = (ptrdiff_t)n <= len && (n == 0 || memcmp(hay, needle, n) == 0);
        bool ends = (ptrdiff_t)n <= len && (n == 0 || memcmp(hay + len - (ptrdiff_t)n, needle, n) == 0);
        switch (which) {
        case 0:
            FUZZ_CHECK(got == first);
            break;
        case 1:
            FUZZ_CHECK(got == count);
            break;
        case 2:
            FUZZ_CHECK(rc == starts);
            break;
        case 3:
            FUZZ_CHECK(rc == ends);
            break;
        default:
            FUZZ_CHECK((match != NULL) == (first >= 0));
            if (match) {
                const mv_buffer *mb = mv_view_buffer(match, NULL);
                FUZZ_CHECK(mb && mb->ndim == 1 && mb->shape[0] == (ptrdiff_t)n);
                unsigned char *mbytes = gather(mb, false);
                FUZZ_CHECK(mbytes && (n == 0 || memcmp(mbytes, needle, n) == 0));
                /* The match is where find said, in the view's own memory. */
                ptrdiff_t zero = 0, at = first;
                if (n > 0)
                    FUZZ_CHECK(fuzz_item_addr(mb, &zero, NULL, 0) == fuzz_item_addr(b, &at, NULL, 0));
                free(mbytes);
            }
            break;
        }
    }
    if (hay)
        check_split(v, hay, len, needle, n, (ptrdiff_t)((size_t)start % 4) - 1);
    mv_decref(match);
    free(hay);
}

static void op_count_index(state *s)
{
    mv_view *v = pick_view(s, NULL);
    if (!v)
        return;
    const mv_buffer *b = mv_view_buffer(v, NULL);
    const mv_format *f = mv_view_format(v, NULL);
    mv_value value, tmp[2];
    bool one = f && f->nvalues == 1 && b && b->ndim == 1;
    if (one && b->shape[0] > 0 && fz_bool(&s->in)) {
        ptrdiff_t i = fz_range(&s->in, 0, b->shape[0] - 1);
        FUZZ_CHECK(mv_view_get_item(v, &i, 1, tmp, 2, NULL) == 0);
        value = tmp[0];
    } else {
        random_value(s, &value);
    }
    ptrdiff_t start = fz_bool(&s->in) ? fz_index(&s->in) : 0;
    ptrdiff_t stop = fz_bool(&s->in) ? fz_index(&s->in) : PTRDIFF_MAX;
    bool count = fz_bool(&s->in);
    ptrdiff_t got = -5;
    mv_error err;
    mv_error_clear(&err);
    arm(s);
    int rc = count ? mv_view_count(v, &value, &got, &err)
                   : mv_view_index(v, &value, start, stop, &got, &err);
    disarm(s);
    after(s, rc, &err);
    if (!one || (b->shape[0] > MAXVALUES))
        return;
    /* Reference: item by item with mv_value_equal. */
    ptrdiff_t st = start, en = stop, n = b->shape[0], found = 0, first = -1;
    if (count) {
        st = 0;
        en = n;
    } else {
        if (st < 0)
            st = st + n < 0 ? 0 : st + n;
        else if (st > n)
            st = n;
        if (en < 0)
            en = en + n < 0 ? 0 : en + n;
        else if (en > n)
            en = n;
    }
    for (ptrdiff_t i = st; i < en; i++) {
        FUZZ_CHECK(mv_view_get_item(v, &i, 1, tmp, 2, NULL) == 0);
        if (mv_value_equal(&tmp[0], &value)) {
            found++;
            if (first < 0)
                first = i;
        }
    }
    if (s->failed)
        return;
    if (count) {
        FUZZ_CHECK_ERR(rc == 0 && got == found, &err);
    } else if (first >= 0) {
        FUZZ_CHECK_ERR(rc == 0 && got == first, &err);
    } else {
        FUZZ_CHECK_ERR(rc == MV_EVALUE, &err);
    }
}

static size_t view_exports(mv_view *v)
{
    return mv_object_exports(mv_view_object(v));
}

static void op_release(state *s)
{
    mv_view *v = pick_view(s, NULL);
    if (!v)
        return;
    bool was = mv_view_is_released(v);
    size_t exports = view_exports(v);
    mv_error err;
    mv_error_clear(&err);
    int rc = fuzz_rc(mv_view_release(v, &err), &err);
    if (was) {
        FUZZ_CHECK(rc == 0);
    } else if (exports > 0) {
        FUZZ_CHECK_ERR(rc == MV_EBUFFER && !mv_view_is_released(v), &err);
    } else {
        FUZZ_CHECK_ERR(rc == 0 && mv_view_is_released(v), &err);
        /* Everything on it now fails the same way. */
        mv_error_clear(&err);
        FUZZ_CHECK(mv_view_buffer(v, &err) == NULL && released_error(&err));
        mv_error_clear(&err);
        FUZZ_CHECK(mv_view_format(v, &err) == NULL && released_error(&err));
        mv_error_clear(&err);
        FUZZ_CHECK(mv_view_toreadonly(v, &err) == NULL && released_error(&err));
        FUZZ_CHECK(mv_view_exporter(v) == NULL);
        mv_buffer tmp;
        memset(&tmp, 0, sizeof tmp);
        mv_error_clear(&err);
        FUZZ_CHECK(mv_object_getbuffer(mv_view_object(v), &tmp, MV_BUF_SIMPLE, &err) ==
                       MV_EVALUE &&
                   released_error(&err));
        FUZZ_CHECK(mv_view_release(v, NULL) == 0);
    }
}

static const int buffer_flags[] = {
    MV_BUF_SIMPLE,         MV_BUF_WRITABLE,       MV_BUF_FORMAT,        MV_BUF_ND,
    MV_BUF_STRIDES,        MV_BUF_C_CONTIGUOUS,   MV_BUF_F_CONTIGUOUS,  MV_BUF_ANY_CONTIGUOUS,
    MV_BUF_INDIRECT,       MV_BUF_CONTIG,         MV_BUF_CONTIG_RO,     MV_BUF_STRIDED,
    MV_BUF_STRIDED_RO,     MV_BUF_RECORDS,        MV_BUF_RECORDS_RO,    MV_BUF_FULL,
    MV_BUF_FULL_RO,        MV_BUF_FULL_RO | MV_BUF_C_CONTIGUOUS,
};

static bool req(int flags, int what)
{
    return (flags & what) == what;
}

/* The buffer, or (with the selector byte's top bit) mv_layout_acquire,
 * which must give the same buffer and the layout mv_layout_from_buffer
 * makes of it. */
static void op_getbuffer(state *s)
{
    uint8_t sel = fz_u8(&s->in);
    int h = sel % NHELD;
    bool as_layout = sel & 0x80;
    if (s->held[h].obj)
        mv_buffer_release(&s->held[h]);
    FUZZ_CHECK(s->held[h].obj == NULL);
    mv_object *target;
    mv_view *v = NULL;
    if (fz_bool(&s->in)) {
        v = pick_view(s, NULL);
        target = v ? mv_view_object(v) : NULL;
    } else {
        target = pick_obj(s, NULL);
    }
    if (!target)
        return;
    uint8_t k = fz_u8(&s->in);
    int flags = k == 0xff ? (int)fz_u32(&s->in) : buffer_flags[k % (sizeof buffer_flags / sizeof buffer_flags[0])];
    size_t before = mv_object_exports(target);
    mv_error err;
    mv_error_clear(&err);
    mv_buffer *out = &s->held[h];
    memset(out, 0, sizeof *out);
    mv_layout lay, want;
    memset(&lay, 0x5a, sizeof lay);
    arm(s);
    int rc = as_layout ? mv_layout_acquire(&lay, out, target, flags, &err)
                       : mv_object_getbuffer(target, out, flags, &err);
    disarm(s);
    after(s, rc, &err);
    if (rc < 0) {
        FUZZ_CHECK(mv_object_exports(target) == before);
        if (as_layout) {
            mv_buffer zero;
            memset(&zero, 0, sizeof zero);
            FUZZ_CHECK(memcmp(out, &zero, sizeof zero) == 0);
            FUZZ_CHECK(((unsigned char *)&lay)[0] == 0x5a);
        }
        memset(out, 0, sizeof *out);
        return;
    }
    FUZZ_CHECK(out->obj == target);
    FUZZ_CHECK(mv_object_exports(target) == before + 1);
    mv_error_clear(&err);
    if (as_layout) {
        FUZZ_CHECK_ERR(mv_layout_from_buffer(&want, out, &err) == 0, &err);
        FUZZ_CHECK(lay.buf == want.buf && lay.len == want.len && lay.itemsize == want.itemsize &&
                   lay.ndim == want.ndim && lay.readonly == want.readonly &&
                   lay.indirect == want.indirect && lay.contig == want.contig &&
                   strcmp(lay.format, want.format) == 0);
        for (int d = 0; d < lay.ndim; d++) {
            FUZZ_CHECK(lay.shape[d] == want.shape[d] && lay.strides[d] == want.strides[d]);
            FUZZ_CHECK(!lay.indirect || lay.suboffsets[d] == want.suboffsets[d]);
        }
    }
    FUZZ_CHECK_ERR(mv_buffer_validate(out, &err) == 0, &err);
    if (req(flags, MV_BUF_WRITABLE))
        FUZZ_CHECK(!out->readonly);
    if (!req(flags, MV_BUF_FORMAT))
        FUZZ_CHECK(out->format == NULL);
    if (!req(flags, MV_BUF_ND))
        FUZZ_CHECK(out->shape == NULL);
    if (!req(flags, MV_BUF_STRIDES))
        FUZZ_CHECK(out->strides == NULL);
    if (!req(flags, MV_BUF_INDIRECT))
        FUZZ_CHECK(out->suboffsets == NULL);
    mv_buffer n;
    ptrdiff_t shape1;
    normalized(out, &n, &shape1);
    if (req(flags, MV_BUF_C_CONTIGUOUS))
        FUZZ_CHECK(model_contiguous(&n, 'C'));
    if (req(flags, MV_BUF_F_CONTIGUOUS))
        FUZZ_CHECK(model_contiguous(&n, 'F'));
    if (req(flags, MV_BUF_ANY_CONTIGUOUS))
        FUZZ_CHECK(model_contiguous(&n, 'A'));
    /* The same items as the view it came from. */
    if (v && n.ndim == mv_view_buffer(v, NULL)->ndim) {
        unsigned char *x = gather(&n, false), *y = gather(mv_view_buffer(v, NULL), false);
        if (x && y)
            FUZZ_CHECK(memcmp(x, y, (size_t)n.len) == 0);
        free(x);
        free(y);
    }
}

static void op_release_held(state *s)
{
    int h = fz_u8(&s->in) % NHELD;
    mv_object *o = s->held[h].obj;
    if (!o)
        return;
    size_t before = mv_object_exports(o);
    mv_incref(o); /* to look at the count after */
    mv_buffer_release(&s->held[h]);
    FUZZ_CHECK(s->held[h].obj == NULL);
    FUZZ_CHECK(mv_object_exports(o) == before - 1);
    mv_buffer_release(&s->held[h]); /* idempotent */
    mv_decref(o);
}

static void op_resize(state *s)
{
    mv_object *o = pick_obj(s, NULL);
    if (!o)
        return;
    size_t newlen = fz_u8(&s->in) % 80;
    size_t exports = mv_object_exports(o);
    size_t oldlen = 0;
    mv_object_data(o, &oldlen);
    bool bytearray = strcmp(mv_object_type_name(o), "bytearray") == 0;
    mv_error err;
    mv_error_clear(&err);
    arm(s);
    int rc = mv_bytearray_resize(o, newlen, &err);
    disarm(s);
    after(s, rc, &err);
    if (!bytearray) {
        FUZZ_CHECK_ERR(rc == MV_ETYPE, &err);
    } else if (exports > 0) {
        FUZZ_CHECK_ERR(rc == MV_EBUFFER, &err);
    } else if (s->failed == 0) {
        FUZZ_CHECK_ERR(rc == 0, &err);
        size_t len = 0;
        unsigned char *p = mv_object_data(o, &len);
        FUZZ_CHECK(p && len == newlen);
        for (size_t i = oldlen; i < newlen; i++)
            FUZZ_CHECK(p[i] == 0);
    }
}

static void op_decref(state *s, bool view)
{
    int slot;
    if (view) {
        if (pick_view(s, &slot)) {
            mv_decref(s->view[slot]);
            s->view[slot] = NULL;
        }
    } else if (pick_obj(s, &slot)) {
        mv_decref(s->obj[slot]);
        s->obj[slot] = NULL;
    }
}

static void op_toreadonly(state *s)
{
    mv_view *v = pick_view(s, NULL);
    if (!v)
        return;
    mv_error err;
    mv_error_clear(&err);
    arm(s);
    mv_view *r = mv_view_toreadonly(v, &err);
    disarm(s);
    after_ptr(s, r, &err);
    if (r) {
        const mv_buffer *a = mv_view_buffer(v, NULL), *b = mv_view_buffer(r, NULL);
        FUZZ_CHECK(a && b && b->readonly && a->buf == b->buf && a->len == b->len);
        put_view(s, r);
    }
}

static void op_buffer_funcs(state *s)
{
    mv_view *v = pick_view(s, NULL);
    if (!v)
        return;
    const mv_buffer *b = mv_view_buffer(v, NULL);
    if (!b)
        return;
    mv_error err;
    mv_error_clear(&err);
    static const char orders[] = "CFAz";
    char order = orders[fz_u8(&s->in) % 4];
    switch (fz_u8(&s->in) % 5) {
    case 0: {
        ptrdiff_t len = b->len + (fz_u8(&s->in) % 16 == 0 ? 1 : 0);
        unsigned char *dst = malloc((size_t)len + 1);
        FUZZ_CHECK(dst);
        arm(s);
        int rc = mv_buffer_to_contiguous(dst, b, len, order, &err);
        disarm(s);
        after(s, rc, &err);
        if (rc == 0) {
            FUZZ_CHECK(len == b->len);
            bool fortran = order == 'F' || (order == 'A' && a_is_fortran(b));
            unsigned char *ref = gather(b, fortran);
            if (ref)
                FUZZ_CHECK(memcmp(dst, ref, (size_t)len) == 0);
            free(ref);
        } else if (len != b->len) {
            FUZZ_CHECK_ERR(rc == MV_EVALUE, &err);
        }
        free(dst);
        break;
    }
    case 1: {
        if (b->len > MAXBYTES)
            return;
        unsigned char *src = malloc((size_t)b->len + 1);
        FUZZ_CHECK(src);
        for (ptrdiff_t i = 0; i < b->len; i++)
            src[i] = s->pool[(size_t)i % sizeof s->pool] ^ (unsigned char)i;
        arm(s);
        int rc = mv_buffer_from_contiguous(b, src, b->len, order, &err);
        disarm(s);
        after(s, rc, &err);
        if (rc == 0) {
            FUZZ_CHECK(!b->readonly);
            if (no_aliasing(b) && order != 'z') {
                bool fortran = order == 'F' || (order == 'A' && a_is_fortran(b));
                unsigned char *now = gather(b, fortran);
                if (now)
                    FUZZ_CHECK(memcmp(now, src, (size_t)b->len) == 0);
                free(now);
            }
        } else if (b->readonly) {
            FUZZ_CHECK_ERR(rc == MV_ETYPE, &err);
        }
        free(src);
        break;
    }
    case 2: {
        mv_view *w = pick_view(s, NULL);
        const mv_buffer *c = w ? mv_view_buffer(w, NULL) : NULL;
        if (!c || b->readonly)
            return;
        unsigned char *before = gather(c, false);
        arm(s);
        int rc = mv_buffer_copy(b, c, &err);
        disarm(s);
        after(s, rc, &err);
        if (rc == 0 && before && no_aliasing(b)) {
            unsigned char *now = gather(b, false);
            if (now)
                FUZZ_CHECK(b->len == c->len && memcmp(now, before, (size_t)b->len) == 0);
            free(now);
        }
        free(before);
        break;
    }
    case 3: {
        ptrdiff_t idx[MV_MAX_NDIM];
        int n = random_index(s, b, idx);
        /* get_pointer takes exactly ndim indices. */
        if (n != b->ndim)
            return;
        void *p = mv_buffer_get_pointer(b, idx, &err);
        fuzz_ptr(p, &err);
        bool in_range = true;
        for (int d = 0; d < n; d++)
            in_range = in_range && idx[d] >= 0 && idx[d] < b->shape[d];
        if (in_range)
            FUZZ_CHECK_ERR(p && (uintptr_t)p == fuzz_item_addr(b, idx, NULL, 0), &err);
        else
            FUZZ_CHECK_ERR(!p && err.code == MV_EINDEX, &err);
        break;
    }
    default: {
        char o = "CFAq"[fz_u8(&s->in) % 4];
        int got = mv_buffer_is_contiguous(b, o);
        FUZZ_CHECK(got == (int)model_contiguous(b, o));
        int flag = fuzz_rc(mv_view_is_contiguous(v, o, &err), &err);
        if (o == 'q') {
            FUZZ_CHECK(flag == MV_EVALUE);
        } else if (b->ndim != 1 && !b->suboffsets) {
            /* 1-D views use memoryview's own rule (init_flags). */
            FUZZ_CHECK(flag == got);
        }
        break;
    }
    }
}

static void op_inspect(state *s)
{
    mv_view *v = pick_view(s, NULL);
    if (!v)
        return;
    FUZZ_CHECK(mv_view_from_object(mv_view_object(v)) == v);
    FUZZ_CHECK(strcmp(mv_object_type_name(mv_view_object(v)), "memoryview") == 0);
    FUZZ_CHECK(mv_object_refcount(v) >= 1);
    mv_error err;
    mv_error_clear(&err);
    const mv_buffer *b = mv_view_buffer(v, &err);
    if (!b) {
        FUZZ_CHECK(mv_view_is_released(v) && released_error(&err));
        return;
    }
    FUZZ_CHECK(b->format != NULL);
    mv_error_clear(&err);
    FUZZ_CHECK_ERR(mv_buffer_validate(b, &err) == 0, &err);
    mv_error_clear(&err);
    const mv_format *f = mv_view_format(v, &err);
    if (f)
        FUZZ_CHECK(f->itemsize == b->itemsize);
    else
        fuzz_check_failure(err.code, &err);
    FUZZ_CHECK(b->len == fuzz_nitems(b) * b->itemsize);
    mv_object *ex = mv_view_exporter(v);
    if (ex)
        FUZZ_CHECK(mv_object_exports(ex) >= 1);
}

static void op_arm(state *s)
{
    s->fail_at = fz_u8(&s->in) % 6;
}

/* ---- the program ------------------------------------------------------------- */

static void teardown(state *s, uint64_t seed)
{
    /* Every slot, in an order chosen by the input. */
    int order[NOBJ + NVIEW + NHELD];
    int n = 0;
    for (int i = 0; i < NOBJ + NVIEW + NHELD; i++)
        order[n++] = i;
    for (int i = n - 1; i > 0; i--) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        int j = (int)((seed >> 33) % (uint64_t)(i + 1));
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (int k = 0; k < n; k++) {
        int i = order[k];
        if (i < NOBJ) {
            mv_decref(s->obj[i]);
            s->obj[i] = NULL;
        } else if (i < NOBJ + NVIEW) {
            mv_view *v = s->view[i - NOBJ];
            if (v && (seed >> (k % 60)) & 1)
                mv_view_release(v, NULL);
            mv_decref(v);
            s->view[i - NOBJ] = NULL;
        } else {
            mv_buffer_release(&s->held[i - NOBJ - NVIEW]);
        }
    }
    /* Nothing can reach external memory any more. */
    for (int i = 0; i < NEXT; i++)
        if (s->ext[i].used)
            FUZZ_CHECK(s->ext[i].released);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    state *s = calloc(1, sizeof *s);
    FUZZ_CHECK(s);
    s->in = (fz){data, size};
    s->fail_at = -1;
    for (size_t i = 0; i < sizeof s->scratch; i++)
        s->scratch[i] = (unsigned char)(i * 13 + 5);
    fill(s, s->pool, sizeof s->pool);
    uint64_t seed = 1469598103934665603ULL;
    for (size_t i = 0; i < size; i++)
        seed = (seed ^ data[i]) * 1099511628211ULL;

#ifdef FUZZ_STATS
    static bool registered;
    if (!registered)
        atexit(stat_print);
    registered = true;
#endif
    for (int step = 0; step < MAXOPS && s->in.n > 0; step++) {
        uint8_t op = fz_u8(&s->in) % 24;
#ifdef FUZZ_STATS
        stat_op = op;
#endif
        switch (op) {
        case 0:
        case 1:
            op_new_exporter(s);
            break;
        case 2:
            op_view_new(s);
            break;
        case 3:
            op_from_memory(s);
            break;
        case 4:
            op_subscript(s);
            break;
        case 5:
            op_cast(s);
            break;
        case 6:
            op_get_set_item(s, false);
            break;
        case 7:
            op_get_set_item(s, true);
            break;
        case 8:
            op_assign(s);
            break;
        case 9:
            op_tobytes(s);
            break;
        case 10:
            op_hex(s);
            break;
        case 11:
            op_tolist(s);
            break;
        case 12:
            op_equal(s);
            break;
        case 13:
            op_hash(s);
            break;
        case 14:
            op_find(s);
            break;
        case 15:
            op_count_index(s);
            break;
        case 16:
            op_release(s);
            break;
        case 17:
            op_getbuffer(s);
            break;
        case 18:
            op_release_held(s);
            break;
        case 19:
            op_resize(s);
            break;
        case 20:
            op_decref(s, fz_bool(&s->in));
            break;
        case 21:
            op_toreadonly(s);
            break;
        case 22:
            op_buffer_funcs(s);
            break;
        default:
            switch (fz_u8(&s->in) % 3) {
            case 0:
                op_arm(s);
                break;
            case 1:
                op_inspect(s);
                break;
            default:
                op_value_equal(s);
                break;
            }
            break;
        }
    }
    mv_test_fail_after(-1);
    teardown(s, seed);
    free(s);
    return 0;
}
