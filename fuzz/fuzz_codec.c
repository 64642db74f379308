/* Fuzz target: the item codec (mv_format_parse, mv_format_unpack,
 * mv_format_pack) against an independent model.
 *
 * The input either picks one code (every code the parser accepts: x c b B
 * ? h H i I l L q Q n N e f d s p P w Zf Zd) with a byte-order prefix
 * (none, @ = < > !) and a repeat count, or generates a record format: a
 * random sequence of codes with repeat counts and sub-array shapes, 'x'
 * padding, byte-order changes, nested T{...} records (repeated too) and
 * :name: annotations.  The model, written here, lays the format out
 * (native sizes and alignment for '@', standard sizes without alignment
 * for = < > !; records aligned to their strictest member and repeated at
 * that alignment; zero counts still align) and must agree with the
 * parsed itemsize, alignment, value count and mv_size_from_format, and
 * for one code with the field list and `native`.  Codes that need native
 * mode (n N P) must be refused with the documented message.
 *
 * Item bytes from the input are unpacked and each value compared with the
 * model's own decoding at the model's offsets: integers assembled byte by
 * byte in the field's byte order and sign-extended, half / float / double
 * built from their bits (NaNs: sign and payload kept, the quiet bit may be
 * set), bytes values pointing at the right place.  Values are then
 * packed (decoded from other bytes, or made up: every kind, extremes,
 * NaNs, infinities, values just past each limit, bytes of every length,
 * some pointing into the item being written) and the item must hold the
 * model's encoding byte for byte (round to nearest even through double, as
 * the header's conversions go; float overflow to infinity; NaNs by sign),
 * padding untouched; a value of the wrong type or out of range must give
 * the documented error and message and leave the item as it was; the
 * wrong number of values is refused. */
#include "fuzz_common.h"

#include <math.h>
#include <stdlib.h>

__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;

#define TEXT_MAX  4096
#define MAX_DEPTH 2 /* records inside records inside the top level */
#define BIT(code) (1u << -(code))

/* ---- the model's layout ------------------------------------------------ */

/* One value of the item. */
typedef struct slot {
    char code;        /* struct code, 'F' / 'D' for Zf / Zd */
    bool little;      /* byte order of its bytes */
    ptrdiff_t offset; /* from the start of the item */
    ptrdiff_t size;   /* element bytes; 's' / 'p': the byte length */
} slot;

typedef struct layout {
    ptrdiff_t size, align;
} layout;

typedef struct gen {
    char text[TEXT_MAX];
    size_t tlen;
    slot *slots;
    ptrdiff_t nslots, cap;
    bool bad; /* the text must not parse */
} gen;

static bool host_little(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static bool is_native(char order)
{
    return order == '@';
}

/* Size and alignment of one element, as the header's rules give them:
 * native C types for '@', the struct module's standard sizes otherwise. */
static ptrdiff_t code_size(char code, char order)
{
    bool nat = is_native(order);
    switch (code) {
    case '?': return nat ? (ptrdiff_t)sizeof(_Bool) : 1;
    case 'h': case 'H': return nat ? (ptrdiff_t)sizeof(short) : 2;
    case 'i': case 'I': return nat ? (ptrdiff_t)sizeof(int) : 4;
    case 'l': case 'L': return nat ? (ptrdiff_t)sizeof(long) : 4;
    case 'q': case 'Q': return nat ? (ptrdiff_t)sizeof(long long) : 8;
    case 'n': case 'N': return (ptrdiff_t)sizeof(size_t);
    case 'P': return (ptrdiff_t)sizeof(void *);
    case 'e': return 2;
    case 'w': case 'f': return 4;
    case 'd': case 'F': return 8;
    case 'D': return 16;
    default: return 1; /* x c b B s p */
    }
}

static ptrdiff_t code_align(char code, char order)
{
    return is_native(order) ? native_align(code) : 1;
}

static ptrdiff_t align_up(ptrdiff_t off, ptrdiff_t a)
{
    return (off + a - 1) / a * a;
}

static void emit(gen *g, const char *s)
{
    size_t n = strlen(s);
    FUZZ_CHECK(g->tlen + n < TEXT_MAX); /* the generator's bounds keep it so */
    memcpy(g->text + g->tlen, s, n + 1);
    g->tlen += n;
}

static void add_slot(gen *g, slot s)
{
    if (g->nslots == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 64;
        g->slots = realloc(g->slots, (size_t)g->cap * sizeof *g->slots);
        FUZZ_CHECK(g->slots);
    }
    g->slots[g->nslots++] = s;
}

/* The codes as written, and as the model names them. */
static const char *const code_text[] = {"x", "c", "b", "B", "?", "h", "H", "i", "I", "l", "L",
                                        "q", "Q", "n", "N", "e", "f", "d", "s", "p", "P", "w",
                                        "Zf", "Zd"};
#define NCODES (sizeof code_text / sizeof code_text[0])

static char model_code(const char *t)
{
    return t[0] == 'Z' ? (t[1] == 'f' ? 'F' : 'D') : t[0];
}

/* One code with its count, placed after L (the struct rules). */
static void place_code(gen *g, char code, char order, ptrdiff_t count, layout *L)
{
    ptrdiff_t esize = code_size(code, order), a = code_align(code, order);
    ptrdiff_t start = align_up(L->size, a);
    bool little = order == '<' ? true : order == '>' || order == '!' ? false : host_little();
    ptrdiff_t bytes;
    if (code == 's' || code == 'p') {
        add_slot(g, (slot){code, little, start, count});
        bytes = count;
    } else {
        for (ptrdiff_t j = 0; code != 'x' && j < count; j++)
            add_slot(g, (slot){code, little, start + j * esize, esize});
        bytes = count * esize;
    }
    L->size = start + bytes;
    if (a > L->align)
        L->align = a;
}

/* A repeat count: none, a number, or a sub-array shape. */
static ptrdiff_t gen_count(fz *f, gen *g, char code)
{
    uint8_t k = fz_u8(f);
    char buf[32];
    if (k < 96)
        return 1;
    if (code == 'T') {
        /* Records repeat a few times: their values multiply. */
        ptrdiff_t n = k % 4;
        snprintf(buf, sizeof buf, k & 4 ? "%td" : "(%td)", n + (k & 4 ? 0 : n == 0));
        emit(g, buf);
        return n + (k & 4 ? 0 : n == 0);
    }
    if (code == 's' || code == 'p') {
        ptrdiff_t n = k < 240 ? k % 7 : 250 + k % 12; /* 'p' saturates its length at 255 */
        snprintf(buf, sizeof buf, "%td", n);
        emit(g, buf);
        return n;
    }
    if (k < 224) {
        ptrdiff_t n = k % 5;
        snprintf(buf, sizeof buf, "%td", n);
        emit(g, buf);
        return n;
    }
    ptrdiff_t a = 1 + k % 3, b = 1 + (k >> 2) % 2;
    snprintf(buf, sizeof buf, k & 16 ? "(%td,%td)" : "(%td)", a, b);
    emit(g, buf);
    return k & 16 ? a * b : a;
}

static void gen_seq(fz *f, gen *g, char *order, int depth, bool in_record, layout *out)
{
    layout L = {0, 1};
    int nitems = 1 + fz_u8(f) % (in_record ? 3 : 6);
    bool force_order = false;
    for (int it = 0; it < nitems; it++) {
        uint8_t k = fz_u8(f);
        /* A byte order anywhere; one is stated after a record whose body
         * changed it (whether that change outlives the record, the header
         * does not say). */
        if (force_order || (k & 7) == 7) {
            char o[2] = {"@=<>!"[(k >> 3) % 5], 0};
            emit(g, o);
            *order = o[0];
            force_order = false;
        }
        uint8_t kind = fz_u8(f);
        if (depth < MAX_DEPTH && kind % 8 == 7) {
            ptrdiff_t count = gen_count(f, g, 'T');
            emit(g, "T{");
            char inner = *order;
            ptrdiff_t first = g->nslots;
            layout body;
            gen_seq(f, g, &inner, depth + 1, true, &body);
            emit(g, "}");
            force_order = inner != *order;
            ptrdiff_t start = align_up(L.size, body.align);
            ptrdiff_t stride = align_up(body.size, body.align);
            ptrdiff_t nbody = g->nslots - first;
            if (count == 0) {
                g->nslots = first;
                L.size = start;
            } else {
                for (ptrdiff_t i = first; i < first + nbody; i++)
                    g->slots[i].offset += start;
                for (ptrdiff_t r = 1; r < count; r++)
                    for (ptrdiff_t i = 0; i < nbody; i++) {
                        slot s = g->slots[first + i];
                        s.offset += r * stride;
                        add_slot(g, s);
                    }
                L.size = start + (count - 1) * stride + body.size;
            }
            if (body.align > L.align)
                L.align = body.align;
        } else {
            const char *t = code_text[kind % NCODES];
            char code = model_code(t);
            /* n N P exist only in native mode (checked with single codes). */
            if (!is_native(*order) && strchr("nNP", code))
                t = "q", code = 'q';
            ptrdiff_t count = gen_count(f, g, code);
            emit(g, t);
            place_code(g, code, *order, count, &L);
        }
        if (in_record && (fz_u8(f) & 3) == 0)
            emit(g, (k & 8) ? ":a:" : ":field_1:");
    }
    *out = L;
}

/* ---- the model's decoding ------------------------------------------------ */

static uint64_t load(const unsigned char *p, ptrdiff_t n, bool little)
{
    uint64_t u = 0;
    for (ptrdiff_t k = 0; k < n; k++)
        u |= (uint64_t)p[little ? k : n - 1 - k] << (8 * k);
    return u;
}

static void store(unsigned char *p, ptrdiff_t n, bool little, uint64_t u)
{
    for (ptrdiff_t k = 0; k < n; k++)
        p[little ? k : n - 1 - k] = (unsigned char)(u >> (8 * k));
}

static uint64_t dbits(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static double from_bits(uint64_t u)
{
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* A binary16 / binary32 value as a double: exact for numbers; a NaN keeps
 * its sign and payload in the top mantissa bits. */
static double widen(uint64_t bits, int mbits, int ebits)
{
    uint64_t sign = bits >> (mbits + ebits) & 1;
    uint64_t e = bits >> mbits & ((1u << ebits) - 1), m = bits & (((uint64_t)1 << mbits) - 1);
    int bias = (1 << (ebits - 1)) - 1;
    if (e == (uint64_t)(1 << ebits) - 1) {
        if (m == 0)
            return sign ? -INFINITY : INFINITY;
        return from_bits(sign << 63 | (uint64_t)0x7ff << 52 | m << (52 - mbits));
    }
    double x = ldexp((double)(e ? m | (uint64_t)1 << mbits : m),
                     (int)(e ? e : 1) - bias - mbits);
    return sign ? -x : x;
}

static mv_value_kind code_kind(char code)
{
    switch (code) {
    case '?': return MV_VALUE_BOOL;
    case 'b': case 'h': case 'i': case 'l': case 'q': case 'n': return MV_VALUE_SIGNED;
    case 'e': case 'f': case 'd': return MV_VALUE_DOUBLE;
    case 'F': case 'D': return MV_VALUE_COMPLEX;
    case 'c': case 's': case 'p': return MV_VALUE_BYTES;
    case 'w': return MV_VALUE_CHAR;
    default: return MV_VALUE_UNSIGNED;
    }
}

static double decode_real(char code, const unsigned char *p, bool little)
{
    switch (code) {
    case 'e': return widen(load(p, 2, little), 10, 5);
    case 'f': case 'F': return widen(load(p, 4, little), 23, 8);
    default: return from_bits(load(p, 8, little));
    }
}

/* The value slot s holds in item, by the model. */
static void model_decode(const slot *s, const unsigned char *item, mv_value *v)
{
    const unsigned char *p = item + s->offset;
    memset(v, 0, sizeof *v);
    v->kind = code_kind(s->code);
    switch (s->code) {
    case '?':
        for (ptrdiff_t k = 0; k < s->size; k++)
            v->v.b |= p[k] != 0;
        break;
    case 'b': case 'h': case 'i': case 'l': case 'q': case 'n': {
        uint64_t u = load(p, s->size, s->little);
        i128 x = u;
        if (s->size < 8 && (u >> (8 * s->size - 1) & 1))
            x -= (i128)1 << (8 * s->size);
        else if (s->size == 8 && (u >> 63))
            x -= (i128)1 << 64;
        v->v.i = (int64_t)x;
        break;
    }
    case 'e': case 'f': case 'd':
        v->v.d = decode_real(s->code, p, s->little);
        break;
    case 'F': case 'D':
        v->v.c.re = decode_real(s->code, p, s->little);
        v->v.c.im = decode_real(s->code, p + s->size / 2, s->little);
        break;
    case 'c':
        v->v.bytes.ptr = p;
        v->v.bytes.len = 1;
        break;
    case 's':
        v->v.bytes.ptr = p;
        v->v.bytes.len = (size_t)s->size;
        break;
    case 'p':
        v->v.bytes.ptr = p + (s->size > 0);
        v->v.bytes.len = s->size <= 0 ? 0 : p[0] < s->size - 1 ? (size_t)p[0] : (size_t)s->size - 1;
        break;
    default: /* B H I L Q N P w */
        v->v.u = load(p, s->size, s->little);
        break;
    }
}

/* Doubles as the codec must give them: bit for bit, except that a NaN
 * widened from a half or a float may gain the quiet bit. */
static bool same_real(char code, double got, double want)
{
    uint64_t g = dbits(got), w = dbits(want);
    if (isnan(want) && code != 'd' && code != 'D')
        return isnan(got) && ((g ^ w) & ~((uint64_t)1 << 51)) == 0;
    return g == w;
}

static bool same_value(char code, const mv_value *got, const mv_value *want)
{
    if (got->kind != want->kind)
        return false;
    switch (want->kind) {
    case MV_VALUE_BOOL:
        return got->v.b == want->v.b;
    case MV_VALUE_SIGNED:
        return got->v.i == want->v.i;
    case MV_VALUE_DOUBLE:
        return same_real(code, got->v.d, want->v.d);
    case MV_VALUE_COMPLEX:
        return same_real(code, got->v.c.re, want->v.c.re) &&
               same_real(code, got->v.c.im, want->v.c.im);
    case MV_VALUE_BYTES:
        return got->v.bytes.len == want->v.bytes.len &&
               (want->v.bytes.len == 0 || got->v.bytes.ptr == want->v.bytes.ptr);
    default:
        return got->v.u == want->v.u;
    }
}

/* ---- the model's encoding ------------------------------------------------- */

typedef struct fpfmt {
    int p, emin, emax, ebits; /* significand bits (with the implicit one) */
} fpfmt;

static const fpfmt HALF = {11, -14, 15, 5}, SINGLE = {24, -126, 127, 8},
                   DOUBLE = {53, -1022, 1023, 11};

/* The bits of (-1)**neg * m * 2**e rounded to nearest, ties to even, in
 * format F; *inf when it rounds beyond the largest finite value. */
static uint64_t fp_round(bool neg, u128 m, int e, const fpfmt *F, bool *inf)
{
    uint64_t sign = (uint64_t)neg << (F->ebits + F->p - 1);
    *inf = false;
    if (m == 0)
        return sign;
    int t = 127;
    while (!(m >> t & 1))
        t--;
    int E = t + e; /* the value is in [2**E, 2**(E+1)) */
    int q = (E < F->emin ? F->emin : E) - (F->p - 1);
    u128 r;
    if (e >= q) {
        r = m << (e - q);
    } else if (q - e > 127) {
        r = 0; /* below half the quantum */
    } else {
        int s = q - e;
        r = m >> s;
        u128 rem = m - (r << s), half = (u128)1 << (s - 1);
        if (rem > half || (rem == half && (r & 1)))
            r++;
    }
    if (r >> F->p) {
        r >>= 1;
        q++;
    }
    u128 one = (u128)1 << (F->p - 1);
    if (r < one)
        return sign | (uint64_t)r; /* subnormal or zero */
    int eb = q + F->p - 1;
    if (eb > F->emax) {
        *inf = true;
        return sign | (((uint64_t)1 << F->ebits) - 1) << (F->p - 1);
    }
    return sign | (uint64_t)(eb + F->emax) << (F->p - 1) | (uint64_t)(r - one);
}

/* A finite double into format F. */
static uint64_t narrow(double x, const fpfmt *F, bool *inf)
{
    uint64_t b = dbits(x), e = b >> 52 & 0x7ff, m = b & (((uint64_t)1 << 52) - 1);
    return fp_round(b >> 63, e ? m | (uint64_t)1 << 52 : m, e ? (int)e - 1075 : -1074, F, inf);
}

/* The double a real value converts to (integers rounded to nearest). */
static bool real_of(const mv_value *v, double *x)
{
    bool inf;
    switch (v->kind) {
    case MV_VALUE_DOUBLE:
        *x = v->v.d;
        return true;
    case MV_VALUE_BOOL:
        *x = v->v.b ? 1.0 : 0.0;
        return true;
    case MV_VALUE_SIGNED: {
        bool neg = v->v.i < 0;
        u128 mag = neg ? (u128)(-(i128)v->v.i) : (u128)v->v.i;
        *x = from_bits(fp_round(neg, mag, 0, &DOUBLE, &inf));
        return true;
    }
    case MV_VALUE_UNSIGNED:
        *x = from_bits(fp_round(false, v->v.u, 0, &DOUBLE, &inf));
        return true;
    default:
        return false;
    }
}

/* One real part into code's format at p.  MV_EVALUE for a half that
 * overflows; *loose for a NaN (its payload bits are the codec's). */
static int encode_real(char code, bool little, double x, unsigned char *p, bool *loose)
{
    bool inf;
    if (code == 'd' || code == 'D') {
        store(p, 8, little, dbits(x));
        return 0;
    }
    const fpfmt *F = code == 'e' ? &HALF : &SINGLE;
    int n = code == 'e' ? 2 : 4;
    uint64_t sign = (uint64_t)(signbit(x) != 0) << (F->ebits + F->p - 1);
    uint64_t expmask = (((uint64_t)1 << F->ebits) - 1) << (F->p - 1);
    if (isnan(x)) {
        *loose = true;
        store(p, n, little, sign | expmask | (uint64_t)1 << (F->p - 2));
        return 0;
    }
    if (isinf(x)) {
        store(p, n, little, sign | expmask);
        return 0;
    }
    uint64_t bits = narrow(x, F, &inf);
    if (inf && code == 'e')
        return MV_EVALUE;
    store(p, n, little, bits);
    return 0;
}

static bool truth(const mv_value *v)
{
    switch (v->kind) {
    case MV_VALUE_BOOL: return v->v.b;
    case MV_VALUE_SIGNED: return v->v.i != 0;
    case MV_VALUE_UNSIGNED: return v->v.u != 0;
    case MV_VALUE_DOUBLE: return v->v.d != 0.0 || isnan(v->v.d);
    case MV_VALUE_COMPLEX: return v->v.c.re != 0.0 || v->v.c.im != 0.0;
    case MV_VALUE_BYTES: return v->v.bytes.len > 0;
    case MV_VALUE_CHAR: return true;
    default: return false;
    }
}

/* Encode v for slot s into out + s->offset.  Bytes values that point into
 * the item being written are read from orig (the item before the pack).
 * Returns 0, MV_ETYPE or MV_EVALUE. */
static int model_encode(const slot *s, const mv_value *v, const unsigned char *item,
                        const unsigned char *orig, ptrdiff_t isize, unsigned char *out,
                        bool *loose)
{
    unsigned char *p = out + s->offset;
    const unsigned char *src = NULL;
    if (v->kind == MV_VALUE_BYTES) {
        src = v->v.bytes.ptr;
        if (src >= item && src < item + isize)
            src = orig + (src - item);
    }
    switch (s->code) {
    case '?':
        store(p, s->size, s->little, truth(v));
        return 0;
    case 'c':
        if (v->kind != MV_VALUE_BYTES)
            return MV_ETYPE;
        if (v->v.bytes.len != 1)
            return MV_EVALUE;
        p[0] = src[0];
        return 0;
    case 's':
    case 'p': {
        if (v->kind != MV_VALUE_BYTES)
            return MV_ETYPE;
        size_t room = s->code == 's' ? (size_t)s->size : s->size > 0 ? (size_t)s->size - 1 : 0;
        size_t n = v->v.bytes.len < room ? v->v.bytes.len : room;
        unsigned char *d = p + (s->code == 'p' && s->size > 0);
        if (n)
            memcpy(d, src, n);
        memset(d + n, 0, room - n);
        if (s->code == 'p' && s->size > 0)
            p[0] = (unsigned char)(n > 255 ? 255 : n);
        return 0;
    }
    case 'w':
        if (v->kind != MV_VALUE_CHAR)
            return MV_ETYPE;
        if (v->v.u > 0x10FFFF)
            return MV_EVALUE;
        store(p, 4, s->little, v->v.u);
        return 0;
    case 'e':
    case 'f':
    case 'd': {
        double x;
        if (!real_of(v, &x))
            return MV_ETYPE;
        return encode_real(s->code, s->little, x, p, loose);
    }
    case 'F':
    case 'D': {
        double re, im = 0.0;
        if (v->kind == MV_VALUE_COMPLEX) {
            re = v->v.c.re;
            im = v->v.c.im;
        } else if (!real_of(v, &re)) {
            return MV_ETYPE;
        }
        encode_real(s->code, s->little, re, p, loose);
        encode_real(s->code, s->little, im, p + s->size / 2, loose);
        return 0;
    }
    default: { /* integers */
        i128 x;
        switch (v->kind) {
        case MV_VALUE_SIGNED: x = v->v.i; break;
        case MV_VALUE_UNSIGNED: x = v->v.u; break;
        case MV_VALUE_BOOL: x = v->v.b; break;
        default: return MV_ETYPE;
        }
        int w = (int)s->size * 8;
        i128 lo = 0, hi = ((i128)1 << w) - 1;
        if (code_kind(s->code) == MV_VALUE_SIGNED) {
            lo = -((i128)1 << (w - 1));
            hi = ((i128)1 << (w - 1)) - 1;
        } else if (s->code == 'P') {
            lo = -((i128)1 << (w - 1)); /* a pointer from a negative integer, as CPython */
        }
        if (x < lo || x > hi)
            return MV_EVALUE;
        store(p, s->size, s->little, (uint64_t)x);
        return 0;
    }
    }
}

/* ---- values to pack -------------------------------------------------------- */

static const int64_t ints[] = {0, 1, -1, 127, 128, -128, -129, 255, 256, 32767, 32768, -32768,
                               -32769, 65535, 65536, 2147483647, 2147483648, -2147483647 - 1,
                               -2147483649LL, 4294967295LL, 4294967296LL, INT64_MAX,
                               INT64_MIN, 1114111, 1114112, 9007199254740993LL};

static double pick_double(fz *f)
{
    static const double d[] = {
        0.0, -0.0, 1.0, -1.5, 65504.0, 65519.99, 65520.0, 65536.0, -65520.0,
        0x1p-24, 0x1p-25, 0x1.8p-25, 0x1p-26, 0x1.ffcp-15, 0x1p-14, 0x1.0008p+0,
        0x1.fffffep+127, 0x1.ffffffp+127, 0x1.fffffefffffffp+127, 0x1p+128, 0x1p-149,
        0x1p-150, 0x1.8p-150, 0x1.000001p+0, 0x1.0000008p+0, 0x1.0000018p+0, 1e300,
        -1e-300, 0x1p-1074, 3.4028235677973366e38};
    uint8_t k = fz_u8(f);
    if (k < 3 * sizeof d / sizeof d[0])
        return d[k / 3];
    switch (k & 3) {
    case 0:
        return from_bits(fz_u64(f)); /* NaNs with any payload among them */
    case 1:
        return k & 4 ? -INFINITY : INFINITY;
    case 2:
        return from_bits((uint64_t)(k & 8) << 60 | (uint64_t)0x7ff << 52 | (fz_u64(f) >> 13 | 1));
    default:
        return ldexp((double)(int32_t)fz_u32(f), (int)(k % 64) - 40);
    }
}

/* A value for slot s: decoded by the model from other bytes (so that
 * packs mostly succeed), or made up, of a kind the header defines for the
 * code (or one it names as refused). */
static void gen_value(fz *f, const slot *s, const unsigned char *other, unsigned char *item,
                      ptrdiff_t isize, mv_value *v)
{
    uint8_t k = fz_u8(f);
    if (k < 112) {
        model_decode(s, other, v);
        return;
    }
    memset(v, 0, sizeof *v);
    mv_value_kind kind = (mv_value_kind)(k % 8);
    /* Combinations the header leaves open are moved to ones it covers. */
    mv_value_kind ck = code_kind(s->code);
    bool integer = ck == MV_VALUE_SIGNED || ck == MV_VALUE_UNSIGNED;
    if (ck == MV_VALUE_CHAR && kind != MV_VALUE_CHAR)
        kind = MV_VALUE_CHAR;
    if ((integer || ck == MV_VALUE_DOUBLE) && (kind == MV_VALUE_COMPLEX || kind >= MV_VALUE_CHAR))
        kind = MV_VALUE_DOUBLE;
    if (ck == MV_VALUE_COMPLEX && kind >= MV_VALUE_CHAR)
        kind = MV_VALUE_COMPLEX;
    if (ck == MV_VALUE_BYTES && (kind == MV_VALUE_COMPLEX || kind >= MV_VALUE_CHAR ||
                                 kind == MV_VALUE_NONE || (k & 0x30)))
        kind = MV_VALUE_BYTES;
    if (ck != MV_VALUE_BOOL && kind == MV_VALUE_NONE)
        kind = MV_VALUE_SIGNED;
    v->kind = kind;
    switch (kind) {
    case MV_VALUE_BOOL:
        v->v.b = k & 16;
        break;
    case MV_VALUE_SIGNED: {
        uint8_t j = fz_u8(f);
        v->v.i = j < 2 * sizeof ints / sizeof ints[0] ? ints[j / 2] : (int64_t)fz_u64(f);
        break;
    }
    case MV_VALUE_UNSIGNED: {
        uint8_t j = fz_u8(f);
        v->v.u = j < 2 * sizeof ints / sizeof ints[0] ? (uint64_t)ints[j / 2] : fz_u64(f);
        break;
    }
    case MV_VALUE_DOUBLE:
        v->v.d = pick_double(f);
        break;
    case MV_VALUE_COMPLEX:
        v->v.c.re = pick_double(f);
        v->v.c.im = pick_double(f);
        break;
    case MV_VALUE_BYTES: {
        uint8_t j = fz_u8(f);
        size_t len = j % 4 == 3 ? (size_t)fz_range(f, 0, 300) : (size_t)(j % 4);
        if ((j & 0x30) == 0x30 && isize > 0) {
            /* Into the item being written: the pack must read it first. */
            ptrdiff_t at = fz_range(f, 0, isize - 1);
            if (len > (size_t)(isize - at))
                len = (size_t)(isize - at);
            v->v.bytes.ptr = item + at;
        } else {
            static unsigned char pool[320];
            for (size_t i = 0; i < sizeof pool; i++)
                pool[i] = (unsigned char)(i * 37 + j);
            v->v.bytes.ptr = pool + (j >> 6);
        }
        v->v.bytes.len = len;
        break;
    }
    case MV_VALUE_CHAR: {
        static const uint64_t chars[] = {0, 'a', 0xD800, 0xFFFF, 0x10FFFF, 0x110000, UINT32_MAX,
                                         UINT64_MAX};
        uint8_t j = fz_u8(f);
        v->v.u = j < 16 ? chars[j / 2] : fz_u32(f) >> (j & 15);
        break;
    }
    default:
        break;
    }
}

/* ---- checks ---------------------------------------------------------------- */

static void check_unpack(const mv_format *fmt, const gen *g, const unsigned char *item)
{
    size_t n = (size_t)g->nslots;
    mv_value *v = calloc(n + 1, sizeof *v);
    FUZZ_CHECK(v);
    mv_error err;
    FUZZ_CHECK_ERR(mv_format_unpack(fmt, item, v, (ptrdiff_t)n, &err) == 0, &err);
    for (size_t k = 0; k < n; k++) {
        mv_value want;
        model_decode(&g->slots[k], item, &want);
        if (!same_value(g->slots[k].code, &v[k], &want)) {
            fprintf(stderr, "value %zu (code '%c' at %td) differs\n", k, g->slots[k].code,
                    g->slots[k].offset);
            __builtin_trap();
        }
    }
    if (n > 0)
        FUZZ_CHECK(fuzz_rc(mv_format_unpack(fmt, item, v, (ptrdiff_t)n - 1, &err), &err) ==
                   MV_EVALUE);
    free(v);
}

static void check_message(const mv_error *err, const char *what, const char *text)
{
    char want[MV_ERROR_MESSAGE_MAX + 64];
    snprintf(want, sizeof want, "memoryview: invalid %s for format '%s'", what, text);
    FUZZ_CHECK_ERR(strncmp(err->message, want, MV_ERROR_MESSAGE_MAX - 1) == 0, err);
}

/* Pack a set of values into item and compare with the model. */
static void check_pack(fz *f, const mv_format *fmt, const gen *g, unsigned char *item,
                       ptrdiff_t isize, const unsigned char *other)
{
    size_t n = (size_t)g->nslots, isz = (size_t)isize + 1;
    mv_value *v = calloc(n + 1, sizeof *v);
    unsigned char *orig = malloc(isz), *want = malloc(isz);
    bool *loose = calloc(n + 1, sizeof *loose);
    FUZZ_CHECK(v && orig && want && loose);
    memcpy(orig, item, (size_t)isize);
    memcpy(want, item, (size_t)isize);
    for (size_t k = 0; k < n; k++)
        gen_value(f, &g->slots[k], other, item, isize, &v[k]);
    unsigned bad = 0;
    for (size_t k = 0; k < n; k++) {
        int rc = model_encode(&g->slots[k], &v[k], item, orig, isize, want, &loose[k]);
        if (rc)
            bad |= BIT(rc);
    }

    mv_error err;
    /* The wrong number of values first: refused, nothing written. */
    FUZZ_CHECK(fuzz_rc(mv_format_pack(fmt, g->text, item, v, (ptrdiff_t)n + 1, &err), &err) ==
               MV_EVALUE);
    check_message(&err, "value", g->text);
    FUZZ_CHECK(memcmp(item, orig, (size_t)isize) == 0);

    int rc = fuzz_rc(mv_format_pack(fmt, g->text, item, v, (ptrdiff_t)n, &err), &err);
    if (bad) {
        FUZZ_CHECK_ERR(rc < 0 && (bad & BIT(rc)), &err);
        check_message(&err, rc == MV_ETYPE ? "type" : "value", g->text);
        FUZZ_CHECK(memcmp(item, orig, (size_t)isize) == 0);
    } else {
        FUZZ_CHECK_ERR(rc == 0, &err);
        /* Byte for byte, except NaNs: the same sign, still a NaN. */
        for (size_t k = 0; k < n; k++) {
            const slot *s = &g->slots[k];
            if (!loose[k])
                continue;
            mv_value a, b;
            model_decode(s, item, &a);
            model_decode(s, want, &b);
            double ga[2] = {a.v.d, a.v.d}, wb[2] = {b.v.d, b.v.d};
            if (a.kind == MV_VALUE_COMPLEX) {
                ga[0] = a.v.c.re, ga[1] = a.v.c.im;
                wb[0] = b.v.c.re, wb[1] = b.v.c.im;
            }
            for (int j = 0; j < 2; j++) {
                if (isnan(wb[j]))
                    FUZZ_CHECK(isnan(ga[j]) && signbit(ga[j]) == signbit(wb[j]));
                else
                    FUZZ_CHECK(dbits(ga[j]) == dbits(wb[j]));
            }
            memcpy(want + s->offset, item + s->offset, (size_t)s->size);
        }
        for (ptrdiff_t i = 0; i < isize; i++) {
            if (item[i] != want[i]) {
                fprintf(stderr, "packed byte %td: got 0x%02x, model 0x%02x\n", i, item[i],
                        want[i]);
                __builtin_trap();
            }
        }
    }
    free(v);
    free(orig);
    free(want);
    free(loose);
}

/* One code with a prefix and a count: the text, the field list and
 * `native` too. */
static void gen_single(fz *f, gen *g, char *prefix, ptrdiff_t *count, const char **ct,
                       layout *L)
{
    static const char *const prefixes[] = {"", "@", "=", "<", ">", "!"};
    uint8_t k = fz_u8(f);
    *ct = code_text[k % NCODES];
    const char *pre = prefixes[fz_u8(f) % 6];
    *prefix = pre[0] ? pre[0] : '@';
    emit(g, pre);
    char code = model_code(*ct);
    uint8_t c = fz_u8(f);
    *count = -1; /* none written */
    if (c >= 128) {
        *count = code == 's' || code == 'p' ? c % 8 + (c >= 250) * 250 : c % 4;
        char buf[16];
        snprintf(buf, sizeof buf, "%td", *count);
        emit(g, buf);
    }
    emit(g, *ct);
    g->bad = !is_native(*prefix) && strchr("nNP", code);
    if (!g->bad)
        place_code(g, code, *prefix, *count < 0 ? 1 : *count, L);
}

static void check_single(const mv_format *fmt, char prefix, ptrdiff_t count, const char *ct)
{
    char code = model_code(ct);
    ptrdiff_t n = count < 0 ? 1 : count;
    bool listed = n > 0 || code == 's' || code == 'p';
    FUZZ_CHECK(fmt->nfields == (listed ? 1 : 0));
    if (listed) {
        const mv_field *fl = &fmt->fields[0];
        FUZZ_CHECK(fl->code == code && fl->count == n && fl->offset == 0);
        FUZZ_CHECK(fl->byteorder == (prefix == '!' ? '>' : prefix));
        FUZZ_CHECK(fl->size == (code == 's' || code == 'p' ? n : code_size(code, prefix)));
    }
    char native = 0;
    if (prefix == '@' && count < 0) {
        if (strchr("cbBhHiIlLqQnNfd?Pe", code))
            native = code;
        else if (code == 'F' || code == 'D')
            native = code;
    }
    FUZZ_CHECK(fmt->native == native);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz f = {data, size};
    gen *g = calloc(1, sizeof *g);
    FUZZ_CHECK(g);
    uint8_t mode = fz_u8(&f);
    char prefix = '@';
    ptrdiff_t count = 0;
    const char *ct = NULL;
    layout L = {0, 1};
    if (mode & 1) {
        gen_single(&f, g, &prefix, &count, &ct, &L);
    } else {
        char order = '@';
        gen_seq(&f, g, &order, 0, false, &L);
    }

    mv_format fmt;
    mv_error err;
    memset(&fmt, 0x5a, sizeof fmt);
    int rc = fuzz_rc(mv_format_parse(&fmt, g->text, &err), &err);
    if (g->bad) {
        FUZZ_CHECK_ERR(rc == MV_EVALUE, &err);
        FUZZ_CHECK_ERR(strncmp(err.message, "invalid format string", 21) == 0, &err);
        FUZZ_CHECK(fmt.nfields == 0 && fmt.fields == NULL && fmt.itemsize == 0);
        free(g->slots);
        free(g);
        return 0;
    }
    FUZZ_CHECK_ERR(rc == 0, &err);
    if (fmt.itemsize != L.size || fmt.alignment != L.align || fmt.nvalues != g->nslots) {
        fprintf(stderr, "'%s': itemsize %td alignment %td nvalues %td; model %td %td %td\n",
                g->text, fmt.itemsize, fmt.alignment, fmt.nvalues, L.size, L.align, g->nslots);
        __builtin_trap();
    }
    FUZZ_CHECK(mv_size_from_format(g->text, &err) == L.size);
    if (mode & 1)
        check_single(&fmt, prefix, count, ct);

    /* The item, and other bytes to take values from, cycled from the input. */
    size_t isz = (size_t)L.size;
    unsigned char *item = malloc(isz + 1), *other = malloc(isz + 1);
    FUZZ_CHECK(item && other);
    size_t nrest = f.n;
    for (size_t i = 0; i < isz; i++) {
        item[i] = nrest ? f.p[i % nrest] : (unsigned char)(i * 7 + 3);
        other[i] = nrest ? f.p[(i * 5 + 1) % nrest] ^ 0x80 : (unsigned char)(i * 13);
    }
    check_unpack(&fmt, g, item);
    int rounds = 1 + fz_u8(&f) % 3;
    for (int r = 0; r < rounds; r++) {
        check_pack(&f, &fmt, g, item, L.size, other);
        check_unpack(&fmt, g, item);
    }

    free(item);
    free(other);
    mv_format_clear(&fmt);
    free(g->slots);
    free(g);
    return 0;
}
