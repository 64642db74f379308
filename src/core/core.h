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

/* The codes mv_load_native handles. */
#define MV_LOADABLE_CODES "BbHhIiLlQqNnfd"

/* One item of a native integer or float format (mv_format.native), loaded
 * directly: the general unpacker walks the field list, which costs more
 * than the whole rest of an item get.  False for the codes it does not
 * handle. */
static inline bool mv_load_native(char code, const char *p, mv_value *out)
{
#define MV_LOAD(T, KIND, MEMBER)                                                                   \
    do {                                                                                           \
        T x;                                                                                       \
        memcpy(&x, p, sizeof x);                                                                   \
        out->kind = KIND;                                                                          \
        out->v.MEMBER = x;                                                                         \
        return true;                                                                               \
    } while (0)
    switch (code) {
    case 'B':
        MV_LOAD(unsigned char, MV_VALUE_UNSIGNED, u);
    case 'b':
        MV_LOAD(signed char, MV_VALUE_SIGNED, i);
    case 'H':
        MV_LOAD(unsigned short, MV_VALUE_UNSIGNED, u);
    case 'h':
        MV_LOAD(short, MV_VALUE_SIGNED, i);
    case 'I':
        MV_LOAD(unsigned int, MV_VALUE_UNSIGNED, u);
    case 'i':
        MV_LOAD(int, MV_VALUE_SIGNED, i);
    case 'L':
        MV_LOAD(unsigned long, MV_VALUE_UNSIGNED, u);
    case 'l':
        MV_LOAD(long, MV_VALUE_SIGNED, i);
    case 'Q':
        MV_LOAD(unsigned long long, MV_VALUE_UNSIGNED, u);
    case 'q':
        MV_LOAD(long long, MV_VALUE_SIGNED, i);
    case 'N':
        MV_LOAD(size_t, MV_VALUE_UNSIGNED, u);
    case 'n':
        MV_LOAD(ptrdiff_t, MV_VALUE_SIGNED, i);
    case 'f':
        MV_LOAD(float, MV_VALUE_DOUBLE, d);
    case 'd':
        MV_LOAD(double, MV_VALUE_DOUBLE, d);
    default:
        return false;
    }
#undef MV_LOAD
}

/* The native size of each code that is a native format on its own (0 for
 * the others), and mv_format_native for any text that is not one character
 * after an optional '@'.  In format.c. */
extern const unsigned char mv_single_size[128];
char mv_format_native_long(const char *text, ptrdiff_t *size);

/* The code of a native single-character format (what mv_format.native
 * would say, without a parse; NULL text means "B") with its itemsize in
 * *size; 0 (and *size untouched) for any other text.  Inline: every new
 * span asks. */
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
