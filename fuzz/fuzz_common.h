/* Shared helpers for the libFuzzer targets: a byte reader that never runs
 * dry (it yields zeros once the input is used up, so every input is a
 * complete program), the error-contract check every call goes through,
 * and an independent walker over a descriptor's items (shape, strides,
 * suboffsets) that the targets use as their reference model.
 *
 * Checks end in __builtin_trap() so libFuzzer records the input as a crash;
 * the failed condition is printed first so the report names it. */
#ifndef MV_FUZZ_COMMON_H
#define MV_FUZZ_COMMON_H

#include "memview.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                       \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);           \
            __builtin_trap();                                                                  \
        }                                                                                      \
    } while (0)

/* Like FUZZ_CHECK, also printing the library's last error message. */
#define FUZZ_CHECK_ERR(cond, err)                                                              \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "%s:%d: check failed: %s (last error %d: %s)\n", __FILE__,         \
                    __LINE__, #cond, (err)->code, (err)->message);                             \
            __builtin_trap();                                                                  \
        }                                                                                      \
    } while (0)

/* ---- input reader -------------------------------------------------------- */

typedef struct fz {
    const uint8_t *p;
    size_t n;
} fz;

static inline uint8_t fz_u8(fz *f)
{
    if (f->n == 0)
        return 0;
    f->n--;
    return *f->p++;
}

static inline uint32_t fz_u32(fz *f)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = v << 8 | fz_u8(f);
    return v;
}

static inline uint64_t fz_u64(fz *f)
{
    return (uint64_t)fz_u32(f) << 32 | fz_u32(f);
}

static inline bool fz_bool(fz *f)
{
    return fz_u8(f) & 1;
}

/* Uniform-ish in [lo, hi] (hi - lo < 2**32). */
static inline ptrdiff_t fz_range(fz *f, ptrdiff_t lo, ptrdiff_t hi)
{
    uint64_t span = (uint64_t)(hi - lo) + 1;
    uint64_t r = span <= 256 ? fz_u8(f) : fz_u32(f);
    return lo + (ptrdiff_t)(r % span);
}

/* An index or slice bound: mostly small, sometimes at the extremes. */
static inline ptrdiff_t fz_index(fz *f)
{
    uint8_t k = fz_u8(f);
    switch (k >> 5) {
    case 0:
        return PTRDIFF_MIN + (k & 3);
    case 1:
        return PTRDIFF_MAX - (k & 3);
    case 2:
        /* Any magnitude: huge strides that stay in range arise from these. */
        return (ptrdiff_t)((int64_t)fz_u64(f) >> (k & 31) * 2);
    default:
        return (ptrdiff_t)(k & 31) - 12;
    }
}

/* Up to `want` bytes of input (fewer when it runs out). */
static inline const uint8_t *fz_bytes(fz *f, size_t want, size_t *got)
{
    const uint8_t *p = f->p;
    *got = want < f->n ? want : f->n;
    f->p += *got;
    f->n -= *got;
    return p;
}

/* ---- the error contract -------------------------------------------------- */

/* A failure must come with a known code, err->code set to it and a
 * non-empty NUL-terminated message. */
static inline void fuzz_check_failure(int rc, const mv_error *err)
{
    FUZZ_CHECK_ERR(rc <= MV_EVALUE && rc >= MV_EOS, err);
    FUZZ_CHECK_ERR(err->code == rc, err);
    FUZZ_CHECK_ERR(memchr(err->message, '\0', sizeof err->message) != NULL, err);
    FUZZ_CHECK_ERR(err->message[0] != '\0', err);
    FUZZ_CHECK_ERR(strcmp(mv_error_name(rc), "UnknownError") != 0, err);
}

/* rc from an int-returning call: 0 / non-negative, or a checked failure. */
static inline int fuzz_rc(int rc, const mv_error *err)
{
    if (rc < 0)
        fuzz_check_failure(rc, err);
    return rc;
}

/* A pointer-returning call: NULL must come with a checked failure. */
static inline void *fuzz_ptr(void *p, const mv_error *err)
{
    if (!p) {
        FUZZ_CHECK_ERR(err->code < 0, err);
        fuzz_check_failure(err->code, err);
    }
    return p;
}

/* ---- reference walker ----------------------------------------------------- */

/* A block of memory the harness knows; every address an item walk reaches
 * (items, and pointers read through suboffsets) must lie inside one. */
typedef struct fuzz_region {
    uintptr_t lo, hi; /* [lo, hi) */
} fuzz_region;

static inline bool fuzz_inside(const fuzz_region *r, int nr, uintptr_t p, size_t n)
{
    for (int i = 0; i < nr; i++)
        if (p >= r[i].lo && p <= r[i].hi && n <= r[i].hi - p)
            return true;
    return false;
}

/* Address of the item at idx of b (PyBuffer_GetPointer, written here
 * independently).  With regions given, every pointer read through a
 * suboffset is checked to lie in one first. */
static inline uintptr_t fuzz_item_addr(const mv_buffer *b, const ptrdiff_t *idx,
                                       const fuzz_region *r, int nr)
{
    uintptr_t p = (uintptr_t)b->buf;
    for (int d = 0; d < b->ndim; d++) {
        ptrdiff_t stride = b->strides ? b->strides[d] : 0;
        if (!b->strides) {
            /* C-contiguous */
            stride = b->itemsize;
            for (int e = d + 1; e < b->ndim; e++)
                stride *= b->shape[e];
        }
        p += (uintptr_t)idx[d] * (uintptr_t)stride;
        if (b->suboffsets && b->suboffsets[d] >= 0) {
            if (r)
                FUZZ_CHECK(fuzz_inside(r, nr, p, sizeof(void *)));
            uintptr_t q;
            memcpy(&q, (const void *)p, sizeof q);
            p = q + (uintptr_t)b->suboffsets[d];
        }
    }
    return p;
}

/* Step idx through shape in C order (last index fastest) or Fortran order;
 * false after the last item. */
static inline bool fuzz_next_index(int ndim, const ptrdiff_t *shape, ptrdiff_t *idx, bool fortran)
{
    for (int k = 0; k < ndim; k++) {
        int d = fortran ? k : ndim - 1 - k;
        if (++idx[d] < shape[d])
            return true;
        idx[d] = 0;
    }
    return false;
}

static inline ptrdiff_t fuzz_nitems(const mv_buffer *b)
{
    ptrdiff_t n = 1;
    for (int d = 0; d < b->ndim; d++)
        n *= b->shape[d];
    return n;
}

/* The view's bytes in C or Fortran order into dst (room for b->len),
 * by the reference walk. */
static inline void fuzz_gather(const mv_buffer *b, unsigned char *dst, bool fortran,
                               const fuzz_region *r, int nr)
{
    ptrdiff_t idx[MV_MAX_NDIM] = {0};
    if (fuzz_nitems(b) == 0)
        return;
    do {
        uintptr_t p = fuzz_item_addr(b, idx, r, nr);
        if (r)
            FUZZ_CHECK(fuzz_inside(r, nr, p, (size_t)b->itemsize));
        memcpy(dst, (const void *)p, (size_t)b->itemsize);
        dst += b->itemsize;
    } while (fuzz_next_index(b->ndim, b->shape, idx, fortran));
}


/* ---- shared reference models ---------------------------------------------- */

__extension__ typedef __int128 i128;

/* slice.indices(n): the start, the step (one below -PTRDIFF_MAX is taken as
 * -PTRDIFF_MAX, as the library does) and the item count, in 128-bit
 * arithmetic so that nothing overflows. */
static inline ptrdiff_t model_slice(const mv_key *k, ptrdiff_t n, ptrdiff_t *start,
                                    ptrdiff_t *step)
{
    i128 st = k->has_step ? k->step : 1;
    if (st < -(i128)PTRDIFF_MAX)
        st = -(i128)PTRDIFF_MAX;
    i128 lo = st < 0 ? -1 : 0, hi = st < 0 ? n - 1 : n;
    i128 s, e;
    if (!k->has_start) {
        s = st < 0 ? hi : lo;
    } else {
        s = k->start;
        if (s < 0)
            s += n;
        s = s < lo ? lo : s > hi ? hi : s;
    }
    if (!k->has_stop) {
        e = st < 0 ? lo : hi;
    } else {
        e = k->stop;
        if (e < 0)
            e += n;
        e = e < lo ? lo : e > hi ? hi : e;
    }
    i128 count = 0;
    if (st > 0 && s < e)
        count = (e - s - 1) / st + 1;
    else if (st < 0 && s > e)
        count = (s - e - 1) / -st + 1;
    *start = (ptrdiff_t)s;
    *step = (ptrdiff_t)st;
    return (ptrdiff_t)count;
}

/* A native code's alignment, from the compiler (not the library). */
static inline ptrdiff_t native_align(char code)
{
    switch (code) {
    case '?': return (ptrdiff_t)_Alignof(_Bool);
    case 'h': case 'H': return (ptrdiff_t)_Alignof(short);
    case 'i': case 'I': return (ptrdiff_t)_Alignof(int);
    case 'l': case 'L': return (ptrdiff_t)_Alignof(long);
    case 'q': case 'Q': return (ptrdiff_t)_Alignof(long long);
    case 'n': case 'N': return (ptrdiff_t)_Alignof(size_t);
    case 'P': return (ptrdiff_t)_Alignof(void *);
    case 'e': return 2;
    case 'w': return 4;
    case 'f': case 'F': return (ptrdiff_t)_Alignof(float);
    case 'd': case 'D': return (ptrdiff_t)_Alignof(double);
    default: return 1;
    }
}


/* NumPy basic indexing's first steps for keys on an ndim-dimensional
 * layout: MV_EINDEX (two ellipses, too many indices) or MV_EVALUE (too many
 * dimensions in the result), else 0 with the keys in full[] (room for
 * ndim + nkeys): the ellipsis, or the end, expanded into full slices. */
static inline int model_expand_keys(int ndim, const mv_key *keys, int nkeys, mv_key *full,
                                    int *nfull)
{
    int nidx = 0, nint = 0, nnew = 0, nell = 0;
    for (int i = 0; i < nkeys; i++) {
        nidx += keys[i].kind == MV_KEY_INDEX || keys[i].kind == MV_KEY_SLICE;
        nint += keys[i].kind == MV_KEY_INDEX;
        nnew += keys[i].kind == MV_KEY_NEWAXIS;
        nell += keys[i].kind == MV_KEY_ELLIPSIS;
    }
    if (nell > 1 || nidx > ndim)
        return MV_EINDEX;
    if (ndim - nint + nnew > MV_MAX_NDIM)
        return MV_EVALUE;
    int n = 0;
    bool expanded = false;
    for (int i = 0; i <= nkeys; i++) {
        if (i == nkeys && expanded)
            break;
        if (i == nkeys || keys[i].kind == MV_KEY_ELLIPSIS) {
            for (int j = 0; j < ndim - nidx; j++)
                full[n++] = (mv_key){.kind = MV_KEY_SLICE};
            expanded = true;
            continue;
        }
        full[n++] = keys[i];
    }
    *nfull = n;
    return 0;
}

#endif
