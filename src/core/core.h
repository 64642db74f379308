/* Private to the library: the core layer (src/core/) -- errors, objects and
 * their counts, formats and the item codec, checked arithmetic, the CPU's
 * SIMD level.  Every layer above includes this; it includes nothing of
 * theirs.  Not installed. */
#ifndef MEMVIEW_CORE_H
#define MEMVIEW_CORE_H

#include "memview.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define MV_MSG_RELEASED  "operation forbidden on released memoryview object"
#define MV_MSG_READONLY  "cannot modify read-only memory"
#define MV_MSG_STRUCTURE "memoryview assignment: lvalue and rvalue have different structures"
#define MV_MSG_NDIM      "memoryview: number of dimensions must not exceed 64"
#define MV_MSG_LAYOUT_NULL "layout: NULL argument"

/* MV_ENOTIMPL "memoryview: format F describes N-byte items, but the
 * exporter's itemsize is M" (src/error.c): the one error of every value
 * operation on a buffer whose format does not add up to its itemsize. */
int mv_error_format_size(mv_error *err, const char *format, ptrdiff_t size, ptrdiff_t itemsize);

/* Copy an error recorded in `local` into err (may be NULL) and return its
 * code, MV_EVALUE if local holds none: for callees given a local mv_error
 * because the caller needs the code even when err is NULL. */
int mv_error_pass(mv_error *err, const mv_error *local);

/* Checked arithmetic: true when the result overflowed ptrdiff_t. */
static inline bool mv_mul_overflow(ptrdiff_t a, ptrdiff_t b, ptrdiff_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}

static inline bool mv_add_overflow(ptrdiff_t a, ptrdiff_t b, ptrdiff_t *out)
{
    return __builtin_add_overflow(a, b, out);
}

/* a / b for a >= 0, b > 0.  A 64-bit idiv costs more than the rest of a
 * slice (40-90 cycles on x86); steps of 1 need none and lengths that fit
 * 32 bits take the cheaper 32-bit divide. */
static inline ptrdiff_t mv_div_nonneg(ptrdiff_t a, ptrdiff_t b)
{
    if (b == 1)
        return a;
    if (((uint64_t)a | (uint64_t)b) <= UINT32_MAX)
        return (ptrdiff_t)((uint32_t)a / (uint32_t)b);
    return a / b;
}

/* Counts (a managed buffer's views and block users): atomic
 * read-modify-writes, or plain loads and stores for local objects
 * (mv_object_set_local), which one thread at a time uses.  mv_count_sub
 * returns the value before. */
static inline void mv_count_add(atomic_size_t *c, bool local)
{
    if (local)
        atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    else
        atomic_fetch_add_explicit(c, 1, memory_order_acq_rel);
}

static inline size_t mv_count_sub(atomic_size_t *c, bool local)
{
    if (local) {
        size_t old = atomic_load_explicit(c, memory_order_relaxed);
        atomic_store_explicit(c, old - 1, memory_order_relaxed);
        return old;
    }
    return atomic_fetch_sub_explicit(c, 1, memory_order_acq_rel);
}

/* An mv_object's counts word (see struct mv_object): references in the
 * low 40 bits, every export holding one of them, exports in the high 24.
 * The object lives while it has a reference.  Exports stop at
 * MV_EXPORTS_MAX, far enough below the field's 2^24 that racing threads
 * cannot carry past it; references stop changing at MV_REFS_IMMORTAL (an
 * immortal object's count is set to MV_REFS_PINNED, far enough above that
 * exports taken and given back around it never bring it down to there). */
#define MV_REF_ONE     UINT64_C(1)
#define MV_EXPORT_ONE  (UINT64_C(1) << 40)
#define MV_REFS(w)     ((w) & (MV_EXPORT_ONE - 1))
#define MV_EXPORTS(w)  ((w) >> 40)
#define MV_REFS_PINNED (UINT64_C(1) << 39)

/* Add n to an object's counts word; the value before. */
static inline uint64_t mv_counts_add(atomic_uint_least64_t *c, uint64_t n, bool local)
{
    if (local) {
        uint64_t old = atomic_load_explicit(c, memory_order_relaxed);
        atomic_store_explicit(c, old + n, memory_order_relaxed);
        return old;
    }
    return atomic_fetch_add_explicit(c, n, memory_order_acq_rel);
}

/* Make obj immortal (it reached MV_REFS_IMMORTAL references). */
void mv_object_pin(mv_object *obj);

/* A reference, plus `exports` (0 or MV_EXPORT_ONE), in one step: mv_incref
 * inline; the counts word before.  Added without looking first (a load
 * right before a locked instruction waits for the one before it, ~4 ns
 * here) and checked after: an immortal object's references are put back
 * as they were, the one that reaches MV_REFS_IMMORTAL pins. */
static inline uint64_t mv_ref_add(mv_object *obj, uint64_t exports, bool local)
{
    uint64_t old = mv_counts_add(&obj->counts, exports + MV_REF_ONE, local);
    if (MV_REFS(old) >= MV_REFS_IMMORTAL)
        mv_counts_add(&obj->counts, 0 - MV_REF_ONE, local);
    else if (MV_REFS(old) + 1 >= MV_REFS_IMMORTAL)
        mv_object_pin(obj);
    return old;
}

static inline bool mv_is_local(const mv_object *obj)
{
    return obj && (obj->flags & MV_OBJECT_LOCAL);
}

/* p + n in address arithmetic: the exporter vouches for the addresses it
 * describes, which need not lie inside one C object (suboffsets). */
static inline char *mv_advance(const char *p, ptrdiff_t n)
{
    return (char *)((uintptr_t)p + (uintptr_t)n);
}

/* Follow a suboffset: the pointer stored at p, plus suboffset. */
static inline char *mv_follow(const char *p, ptrdiff_t suboffset)
{
    char *q;
    memcpy(&q, p, sizeof q);
    return mv_advance(q, suboffset);
}

/* ------------------------------------------------------------------------ *
 * The item codec (codec.c): one element of any format, loaded and stored
 * in any byte order.  The loaders are inline because the per-item loops
 * of comparison, hashing, count / index and item get run through them; a
 * call per item would cost more than the load.
 * ------------------------------------------------------------------------ */

/* Whether this machine stores integers little-endian. */
static inline bool mv_host_little(void)
{
    return __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;
}

/* Whether a field of byte order `order` (mv_field.byteorder: '@', '=',
 * '<', '>'; '!' accepted too) is stored little-endian. */
static inline bool mv_order_little(char order)
{
    if (order == '<')
        return true;
    if (order == '>' || order == '!')
        return false;
    return mv_host_little();
}

/* Integer codes whose values are MV_VALUE_SIGNED / MV_VALUE_UNSIGNED
 * ('P' is unsigned: a pointer unpacks as its address). */
static inline bool mv_code_is_signed(char code)
{
    return code == 'b' || code == 'h' || code == 'i' || code == 'l' || code == 'q' || code == 'n';
}

static inline bool mv_code_is_unsigned(char code)
{
    return code == 'B' || code == 'H' || code == 'I' || code == 'L' || code == 'Q' || code == 'N' ||
           code == 'P';
}

/* The size-byte unsigned integer at p stored little- or big-endian; size
 * is 1, 2, 4 or 8 for every code the parser accepts (other sizes are read
 * byte by byte, the low 8 bytes kept).  Unaligned p is fine.  A memcpy of
 * the host's own integer plus at most one byte swap, so that a native load
 * through here is the plain load it would be without the codec. */
static inline uint64_t mv_load_uint(const unsigned char *p, ptrdiff_t size, bool little)
{
    bool swap = little != mv_host_little();
    switch (size) {
    case 1:
        return p[0];
    case 2: {
        uint16_t v;
        memcpy(&v, p, 2);
        return swap ? __builtin_bswap16(v) : v;
    }
    case 4: {
        uint32_t v;
        memcpy(&v, p, 4);
        return swap ? __builtin_bswap32(v) : v;
    }
    case 8: {
        uint64_t v;
        memcpy(&v, p, 8);
        return swap ? __builtin_bswap64(v) : v;
    }
    default: {
        uint64_t v = 0;
        for (ptrdiff_t k = 0; k < size; k++)
            v = (v << 8) | p[little ? size - 1 - k : k];
        return v;
    }
    }
}

/* The two's complement value of the low size bytes of u (size >= 1).
 * Shifted up and back down, which compilers turn into one sign-extending
 * load (movsx) when size is known; the conversion and the arithmetic
 * right shift are two's complement in gcc and clang. */
static inline int64_t mv_sign_extend(uint64_t u, ptrdiff_t size)
{
    if (size >= 8)
        return (int64_t)u;
    unsigned shift = 64 - 8 * (unsigned)size;
    return (int64_t)(u << shift) >> shift;
}

/* IEEE binary32 / binary64 bits as a double (exact). */
static inline double mv_float_from_bits(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline double mv_double_from_bits(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* IEEE binary16 -> double, exact; a NaN keeps its sign and its payload (in
 * the top mantissa bits, as the hardware widening puts it).  In codec.c:
 * out of line, half floats are rare. */
double mv_half_to_double(uint16_t h);

/* Load one element of `code` (an mv_field code other than 'x', 'c', 's',
 * 'p'; 'F' / 'D' for Zf / Zd) of `size` bytes (mv_field.size) at p, stored
 * little-endian or not, into *v.  Never fails: a code it does not know
 * gives MV_VALUE_NONE.  '?' is true when any of its bytes is not zero.
 * Each case loads before it stores anything: p may point into *v as far
 * as the compiler knows, so a store first would hold the load back. */
__attribute__((always_inline)) static inline void
mv_load_element(char code, ptrdiff_t size, bool little, const unsigned char *p, mv_value *v)
{
    switch (code) {
    case 'b':
    case 'h':
    case 'i':
    case 'l':
    case 'q':
    case 'n': {
        int64_t x = mv_sign_extend(mv_load_uint(p, size, little), size);
        v->kind = MV_VALUE_SIGNED;
        v->v.i = x;
        return;
    }
    case 'B':
    case 'H':
    case 'I':
    case 'L':
    case 'Q':
    case 'N':
    case 'P': {
        uint64_t x = mv_load_uint(p, size, little);
        v->kind = MV_VALUE_UNSIGNED;
        v->v.u = x;
        return;
    }
    case 'f': {
        double x = mv_float_from_bits((uint32_t)mv_load_uint(p, 4, little));
        v->kind = MV_VALUE_DOUBLE;
        v->v.d = x;
        return;
    }
    case 'd': {
        /* The bits as they are: an integer move, no trip through a
         * floating-point register. */
        uint64_t x = mv_load_uint(p, 8, little);
        v->kind = MV_VALUE_DOUBLE;
        memcpy(&v->v.d, &x, sizeof x);
        return;
    }
    case 'e': {
        double x = mv_half_to_double((uint16_t)mv_load_uint(p, 2, little));
        v->kind = MV_VALUE_DOUBLE;
        v->v.d = x;
        return;
    }
    case '?': {
        bool any = false;
        for (ptrdiff_t k = 0; k < size; k++)
            any |= p[k] != 0;
        v->kind = MV_VALUE_BOOL;
        v->v.b = any;
        return;
    }
    case 'w': {
        uint64_t x = mv_load_uint(p, 4, little);
        v->kind = MV_VALUE_CHAR;
        v->v.u = x;
        return;
    }
    case 'F': {
        double re = mv_float_from_bits((uint32_t)mv_load_uint(p, 4, little));
        double im = mv_float_from_bits((uint32_t)mv_load_uint(p + 4, 4, little));
        v->kind = MV_VALUE_COMPLEX;
        v->v.c.re = re;
        v->v.c.im = im;
        return;
    }
    case 'D': {
        double re = mv_double_from_bits(mv_load_uint(p, 8, little));
        double im = mv_double_from_bits(mv_load_uint(p + 8, 8, little));
        v->kind = MV_VALUE_COMPLEX;
        v->v.c.re = re;
        v->v.c.im = im;
        return;
    }
    default:
        v->kind = MV_VALUE_NONE;
        return;
    }
}

/* The codes mv_load_native handles. */
#define MV_LOADABLE_CODES "BbHhIiLlQqNnfd"

/* One item of a native integer or float format (mv_format.native) at p,
 * through the element loader with the host's byte order and the code's
 * native size: every argument but p is a constant in each case, so each
 * folds to one memcpy of the native type (the item-get fast path; the
 * general unpacker walks the field list, which costs more than the whole
 * rest of an item get).  False, *out untouched, for the codes outside
 * MV_LOADABLE_CODES. */
__attribute__((always_inline)) static inline bool mv_load_native(char code, const char *p,
                                                                 mv_value *out)
{
    const unsigned char *q = (const unsigned char *)p;
    bool host = mv_host_little();
    switch (code) {
    case 'B':
        mv_load_element('B', sizeof(unsigned char), host, q, out);
        return true;
    case 'b':
        mv_load_element('b', sizeof(signed char), host, q, out);
        return true;
    case 'H':
        mv_load_element('H', sizeof(unsigned short), host, q, out);
        return true;
    case 'h':
        mv_load_element('h', sizeof(short), host, q, out);
        return true;
    case 'I':
        mv_load_element('I', sizeof(unsigned int), host, q, out);
        return true;
    case 'i':
        mv_load_element('i', sizeof(int), host, q, out);
        return true;
    case 'L':
        mv_load_element('L', sizeof(unsigned long), host, q, out);
        return true;
    case 'l':
        mv_load_element('l', sizeof(long), host, q, out);
        return true;
    case 'Q':
        mv_load_element('Q', sizeof(unsigned long long), host, q, out);
        return true;
    case 'q':
        mv_load_element('q', sizeof(long long), host, q, out);
        return true;
    case 'N':
        mv_load_element('N', sizeof(size_t), host, q, out);
        return true;
    case 'n':
        mv_load_element('n', sizeof(ptrdiff_t), host, q, out);
        return true;
    case 'f':
        mv_load_element('f', sizeof(float), host, q, out);
        return true;
    case 'd':
        mv_load_element('d', sizeof(double), host, q, out);
        return true;
    default:
        return false;
    }
}

/* The values of one item of a parsed format, read item after item by the
 * per-item loops (comparison by value, hashing, count / index).  A format
 * of one element (one value, from a field of count 1 of any code but 'c'
 * 's' 'p', with or without 'x' padding around it) is loaded directly with
 * mv_load_element; any other goes through mv_format_unpack into `values`
 * (the reader's own room for up to MV_READER_SMALL values, or an
 * allocation). */
enum { MV_READER_SMALL = 8 };

typedef struct mv_item_reader {
    const mv_format *fmt; /* borrowed: outlives the reader */
    bool direct;          /* one element: mv_load_element */
    char code;            /* of the direct element */
    bool little;          /* its byte order */
    ptrdiff_t size;
    ptrdiff_t offset;
    ptrdiff_t nvalues; /* fmt->nvalues */
    mv_value *values;  /* what mv_reader_read wrote: nvalues of them */
    mv_value small[MV_READER_SMALL];
} mv_item_reader;

/* Prepare *r for items of fmt (parsed, borrowed for the reader's life).
 * Returns 0, or MV_ENOMEM (err set) when the values need an allocation
 * that fails; *r is then safe to pass to mv_reader_clear.  In codec.c. */
int mv_reader_init(mv_item_reader *r, const mv_format *fmt, mv_error *err);

/* Free what mv_reader_init allocated.  Idempotent; safe on a reader that
 * was zeroed and never initialised.  In codec.c. */
void mv_reader_clear(mv_item_reader *r);

/* Decode the item at `item` (fmt->itemsize bytes, any alignment) into
 * r->values[0 .. r->nvalues).  Returns 0, or mv_format_unpack's errors
 * (none for a parsed format and a non-NULL item). */
static inline int mv_reader_read(mv_item_reader *r, const void *item, mv_error *err)
{
    if (r->direct) {
        mv_load_element(r->code, r->size, r->little, (const unsigned char *)item + r->offset,
                        &r->values[0]);
        return 0;
    }
    return mv_format_unpack(r->fmt, item, r->values, r->nvalues, err);
}

/* The native size of each code that is a native format on its own (0 for
 * the others), and mv_format_native for any text that is not one character
 * after an optional '@'.  In format.c. */
extern const unsigned char mv_single_size[128];
char mv_format_native_long(const char *text, ptrdiff_t *size);

/* The code of a native single-character format (what mv_format.native
 * would say, without a parse; NULL text means "B") with its itemsize in
 * *size; 0 (and *size untouched) for any other text.  Inline: every new
 * layout asks. */
static inline char mv_format_native(const char *text, ptrdiff_t *size)
{
    if (!text) {
        *size = 1;
        return 'B';
    }
    const char *c = text[0] == '@' ? text + 1 : text;
    unsigned char u = (unsigned char)c[0];
    if (!u || c[1])
        return mv_format_native_long(text, size);
    if (u >= 128 || !mv_single_size[u])
        return 0;
    *size = mv_single_size[u];
    return (char)u;
}

/* 1 for a one-byte format 'B', 'b' or 'c' (optionally '@'-prefixed; NULL
 * means 'B'), else 0. */
bool mv_format_is_byte(const char *format);

/* SIMD level the kernels may use: the best the CPU offers (CPUID, at run
 * time), capped by the environment variable MEMVIEW_ISA = "portable",
 * "ssse3", "avx2" or "avx512" (read once; a level above what the CPU has
 * means the best available).  Lives in cpu.c. */
enum { MV_ISA_PORTABLE, MV_ISA_SSSE3, MV_ISA_AVX2, MV_ISA_AVX512 };
int mv_isa(void);

/* Bytes a copy or a hex must move (source span + output) before its SIMD
 * kernel stores with non-temporal stores: MEMVIEW_STREAM_MIN (a decimal
 * byte count, read once; anything else keeps the default).  Lives in cpu.c. */
#define MV_STREAM_MIN_DEFAULT ((ptrdiff_t)48 << 20)
ptrdiff_t mv_stream_min(void);

/* Python's repr of a float, PyOS_double_to_string(x, 'r', 0, flags), into
 * out (32 bytes are enough); the length written.  In repr.c. */
enum { MV_REPR_ADD_DOT_0 = 1, MV_REPR_SIGN = 2 };
int mv_repr_double(double x, int flags, char *out);

/* Python's repr of chr(c) into out (16 bytes are enough): quoted, with
 * the escapes Python writes for backslash, quotes, ASCII and Latin-1
 * controls, the soft hyphen, line and paragraph separators and surrogates;
 * other characters as UTF-8.  The length written.  In repr.c. */
int mv_repr_char(uint32_t c, char *out);

#endif
