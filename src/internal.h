/* Private helpers shared by the library's .c files.  Not installed. */
#ifndef MEMVIEW_INTERNAL_H
#define MEMVIEW_INTERNAL_H

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

/* Every bit a consumer may set in a request.  PyBUF_READ (0x100) cannot be
 * told apart from the INDIRECT bit, but PyBUF_WRITE (0x200), the unused
 * 0x2 and anything higher are refused, as CPython 3.13 refuses them. */
#define MV_BUF_REQUEST_BITS (0x1 | 0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x80 | 0x100)

/* Checked arithmetic: true when the result overflowed ptrdiff_t. */
static inline bool mv_mul_overflow(ptrdiff_t a, ptrdiff_t b, ptrdiff_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}

static inline bool mv_add_overflow(ptrdiff_t a, ptrdiff_t b, ptrdiff_t *out)
{
    return __builtin_add_overflow(a, b, out);
}

/* Whether a layout has items: no extent is 0.  Not len > 0: zero-size
 * items ('T{}', '0B') have no bytes. */
static inline bool mv_has_items(int ndim, const ptrdiff_t *shape)
{
    for (int i = 0; i < ndim; i++)
        if (shape[i] == 0)
            return false;
    return true;
}

/* itemsize * shape[0] * ... * shape[ndim - 1] into *out; true when it
 * overflows.  A layout with an extent of 0 has no items and 0 bytes
 * whatever its other extents are (validation lets them be anything), so
 * it never overflows. */
static inline bool mv_shape_bytes(ptrdiff_t itemsize, int ndim, const ptrdiff_t *shape,
                                  ptrdiff_t *out)
{
    for (int i = 0; i < ndim; i++)
        if (shape[i] == 0) {
            *out = 0;
            return false;
        }
    ptrdiff_t n = itemsize;
    for (int i = 0; i < ndim; i++)
        if (mv_mul_overflow(n, shape[i], &n))
            return true;
    *out = n;
    return false;
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

/* Python's PySlice_AdjustIndices on already-unpacked bounds: clip start and
 * stop to [0, length] for step > 0 or [-1, length - 1] for step < 0 and
 * return the number of items selected.  step must not be 0. */
static inline ptrdiff_t mv_slice_adjust(ptrdiff_t length, ptrdiff_t *start, ptrdiff_t *stop,
                                        ptrdiff_t step)
{
    if (*start < 0) {
        *start += length;
        if (*start < 0)
            *start = (step < 0) ? -1 : 0;
    } else if (*start >= length) {
        *start = (step < 0) ? length - 1 : length;
    }
    if (*stop < 0) {
        *stop += length;
        if (*stop < 0)
            *stop = (step < 0) ? -1 : 0;
    } else if (*stop >= length) {
        *stop = (step < 0) ? length - 1 : length;
    }
    if (step < 0) {
        if (*stop < *start)
            return mv_div_nonneg(*start - *stop - 1, -step) + 1;
    } else if (*start < *stop) {
        return mv_div_nonneg(*stop - *start - 1, step) + 1;
    }
    return 0;
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

/* ---- Selections: what keys pick out of a buffer (subscript.c) ---------- */

/* A layout under construction (subscript, cast, spans) before a view or a
 * span owns it. */
typedef struct mv_selection {
    char *buf;
    int ndim;
    bool has_suboffsets;
    ptrdiff_t shape[MV_MAX_NDIM];
    ptrdiff_t strides[MV_MAX_NDIM];
    ptrdiff_t suboffsets[MV_MAX_NDIM];
} mv_selection;

/* NumPy basic indexing of the validated descriptor b (shape and strides
 * present) by keys into *out, with mv_view_subscript's checks and
 * messages.  No allocation. */
int mv_select(const mv_buffer *b, const mv_key *keys, int nkeys, mv_selection *out, mv_error *err);

/* ---- casts (view.c), shared by mv_view_cast and mv_span_cast ---------- */

/* Contiguity as CPython's init_flags computes it for a memoryview. */
enum { MV_CONTIG_C = 0x1, MV_CONTIG_F = 0x2 };
int mv_cast_flags(const mv_buffer *b);

/* The argument checks: format non-NULL, known flags, shape for ndim > 0. */
int mv_cast_args(const char *format, const ptrdiff_t *shape, int ndim, int flags, mv_error *err);

/* CPython's checks on the source b (contiguity `flags` from mv_cast_flags)
 * before the format is looked at; ndim < 0: no shape given. */
int mv_cast_check_source(const mv_buffer *b, int flags, int ndim, bool strict, mv_error *err);

/* The destination's checks: src / dest are the native codes (0: none, or a
 * destination that does not parse), itemsize the destination's.  A wide
 * cast's caller has already refused a destination that does not parse. */
int mv_cast_check_format(char src, char dest, ptrdiff_t itemsize, const char *text, bool strict,
                         mv_error *err);

/* cast_to_ND: the length check, the shape's checks, then the new layout of
 * b's memory in *l (C order, or F with fortran). */
int mv_cast_shape(const mv_buffer *b, const ptrdiff_t *shape, int ndim, ptrdiff_t itemsize,
                  bool fortran, mv_selection *l, mv_error *err);

/* Python's slice defaults (PySlice_Unpack), clipped to extent; returns the
 * length or MV_EVALUE. */
static inline ptrdiff_t mv_slice_indices(const mv_key *k, ptrdiff_t extent, ptrdiff_t *start,
                                         ptrdiff_t *step, mv_error *err)
{
    ptrdiff_t st = k->has_step ? k->step : 1;
    if (st == 0)
        return mv_error_set(err, MV_EVALUE, "slice step cannot be zero");
    /* -step must stay representable. */
    if (st < -PTRDIFF_MAX)
        st = -PTRDIFF_MAX;
    ptrdiff_t b = k->has_start ? k->start : (st < 0 ? PTRDIFF_MAX : 0);
    ptrdiff_t e = k->has_stop ? k->stop : (st < 0 ? PTRDIFF_MIN : PTRDIFF_MAX);
    ptrdiff_t n = mv_slice_adjust(extent, &b, &e, st);
    *start = b;
    *step = st;
    return n;
}

/* The common b[start:stop:step] alone: one slice key on dimension 0 of a
 * validated direct descriptor b (ndim >= 1, no suboffsets).  The result
 * keeps b's other dimensions; *buf, *n (extent 0), *stride (stride 0) and
 * *len (product(shape) * itemsize) describe the rest.  Same checks and
 * messages as mv_select. */
static inline int mv_select_first(const mv_buffer *b, const mv_key *key, char **buf, ptrdiff_t *n,
                                  ptrdiff_t *stride, ptrdiff_t *len, mv_error *err)
{
    ptrdiff_t start = 0, step = 1;
    ptrdiff_t count = mv_slice_indices(key, b->shape[0], &start, &step, err);
    if (count < 0)
        return (int)count;
    ptrdiff_t st = b->strides[0], offset = 0, s;
    /* Offsets are only taken while items remain (as mv_select). */
    bool items = count > 0 && mv_has_items(b->ndim - 1, b->shape + 1);
    if (items && mv_mul_overflow(start, st, &offset))
        return mv_error_set(err, MV_EOVERFLOW, "memoryview: offset overflows ptrdiff_t");
    /* In a layout with items, count > 1 items of step fit (validated);
     * without items no stride is ever used. */
    if (!mv_mul_overflow(st, step, &s))
        st = s;
    else if (count > 1 && items)
        return mv_error_set(err, MV_EOVERFLOW, "memoryview: stride overflows ptrdiff_t");
    /* itemsize * count * shape[1] * ...: 0 when any factor is. */
    ptrdiff_t rest, bytes = 0;
    bool overflow = mv_shape_bytes(b->itemsize, b->ndim - 1, b->shape + 1, &rest);
    if (count > 0 && (overflow || (rest > 0 && mv_mul_overflow(rest, count, &bytes))))
        return mv_error_set(err, MV_EOVERFLOW, "memoryview: product(shape) * itemsize overflows");
    *buf = items ? mv_advance(b->buf, offset) : b->buf;
    *n = count;
    *stride = st;
    *len = bytes;
    return 0;
}

/* The address of the item at index[0 .. nindex) of the validated
 * descriptor b (CPython's ptr_from_tuple, its checks in its order and its
 * messages; suboffsets followed).  In subscript.c. */
int mv_item_pointer(const mv_buffer *b, const ptrdiff_t *index, int nindex, char **out,
                    mv_error *err);

/* product(shape) * itemsize of a selection, or MV_EOVERFLOW. */
int mv_selection_len(const mv_selection *l, ptrdiff_t itemsize, ptrdiff_t *len, mv_error *err);

/* Copy the items of src into dst: both describe `ndim` dimensions of the
 * same `shape` and the same itemsize; strides and suboffsets may differ
 * (NULL strides = C-contiguous, NULL suboffsets = none).  Overlap-safe: when
 * the two may share memory the items go through a temporary copy.
 * Returns 0 or MV_ENOMEM (err set).  Lives in copy.c. */
int mv_copy_items(const mv_buffer *dst, const mv_buffer *src, mv_error *err);

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

/* New memory of MV_HUGE_MIN bytes or more that a copy or a hex will fill is
 * advised MADV_HUGEPAGE (as NumPy advises its data), where the platform has
 * it.  In copy.c. */
#define MV_HUGE_MIN ((ptrdiff_t)4 << 20)
void mv_advise_huge(void *p, ptrdiff_t n);

/* The allocator of the malloc'd forms of tobytes and hex (alloc(ctx, n) of
 * their _alloc forms): n + 1 bytes, room for hex's NUL and never a 0-byte
 * request; remembers the block and n.  In copy.c. */
typedef struct mv_malloc_out {
    void *p;
    ptrdiff_t n;
} mv_malloc_out;
void *mv_malloc_out_alloc(void *ctx, ptrdiff_t nbytes);

/* mv_buffer_fill_info once its arguments passed its checks. */
static inline void mv_fill_info_checked(mv_buffer *view, mv_object *exporter, void *buf,
                                        ptrdiff_t len, int readonly, int flags)
{
    if (exporter) /* mv_incref, inline: this runs for every buffer */
        mv_ref_add(exporter, 0, mv_is_local(exporter));
    view->obj = exporter;
    view->buf = buf;
    view->len = len;
    view->readonly = readonly ? 1 : 0;
    view->itemsize = 1;
    view->format = (flags & MV_BUF_FORMAT) ? "B" : NULL;
    view->ndim = 1;
    /* As CPython: shape and strides point into the struct itself. */
    view->shape = (flags & MV_BUF_ND) ? &view->len : NULL;
    view->strides = (flags & MV_BUF_STRIDES) == MV_BUF_STRIDES ? &view->itemsize : NULL;
    view->suboffsets = NULL;
    view->internal = NULL;
}

/* bytes (exporters/bytes.c) and bytearray (exporters/bytearray.c), whose
 * getbuffer is mv_buffer_fill_info over their data: here so that
 * mv_plain_bytes can read them inline. */
typedef struct mv_bytes {
    mv_object ob;
    size_t len;
    unsigned char data[];
} mv_bytes;

typedef struct mv_bytearray {
    mv_object ob;
    unsigned char *data; /* never NULL, so an empty buffer has an address */
    size_t len;
} mv_bytearray;

extern const mv_type mv_bytes_type, mv_bytearray_type;

static inline bool mv_is_plain_bytes(const mv_object *obj)
{
    return obj->type == &mv_bytes_type || obj->type == &mv_bytearray_type;
}

/* The data of a bytes or bytearray object, its length and whether it is
 * read-only; NULL for any other object (obj must not be NULL). */
static inline void *mv_plain_bytes(mv_object *obj, ptrdiff_t *len, int *readonly)
{
    if (obj->type == &mv_bytes_type) {
        mv_bytes *b = (mv_bytes *)obj;
        *len = (ptrdiff_t)b->len;
        *readonly = 1;
        return b->data;
    }
    if (obj->type == &mv_bytearray_type) {
        mv_bytearray *b = (mv_bytearray *)obj;
        *len = (ptrdiff_t)b->len;
        *readonly = 0;
        return b->data;
    }
    return NULL;
}

/* mv_object_getbuffer for a bytes or bytearray exporter, inline (flags
 * already checked): true when *view is filled and the export counted;
 * false, *view untouched, for other exporters and for a writable request
 * of bytes (the type's getbuffer gives that error). */
static inline bool mv_plain_getbuffer(mv_object *exporter, mv_buffer *view, int flags)
{
    ptrdiff_t len = 0;
    int readonly = 0;
    void *data = mv_plain_bytes(exporter, &len, &readonly);
    if (!data || ((flags & MV_BUF_WRITABLE) && readonly))
        return false;
    /* The export and its reference in one step; at the limit both are
     * taken back and the type's path gives the error. */
    bool local = mv_is_local(exporter);
    uint64_t old = mv_ref_add(exporter, MV_EXPORT_ONE, local);
    if (MV_EXPORTS(old) >= MV_EXPORTS_MAX) {
        mv_counts_add(&exporter->counts,
                      0 - (MV_EXPORT_ONE + (MV_REFS(old) < MV_REFS_IMMORTAL ? MV_REF_ONE : 0)),
                      local);
        return false;
    }
    mv_fill_info_checked(view, NULL, data, len, readonly, flags);
    view->obj = exporter;
    return true;
}

/* The data of a typed array / mapping (mmap or shm) object, or NULL (with
 * *len = 0) for any other object; mv_object_data dispatches to them.  In
 * exporters/array.c and mmap.c.  A closed mapping has no data (NULL,
 * *len = 0). */
void *mv_array_data(mv_object *obj, size_t *len);
void *mv_mmap_data(mv_object *obj, size_t *len);

/* Map [offset, offset+length) of fd (length -1 = to the end) with `mode`
 * (MV_MAP_READ and MV_MAP_WRITE share, as shm needs); `what` names the
 * file in messages.  The arguments are checked as mv_mmap_open documents.  In
 * exporters/mmap.c, used by shm.c. */
mv_object *mv_mmap_new(int fd, mv_map_mode mode, ptrdiff_t offset, ptrdiff_t length,
                       const char *what, mv_error *err);

/* Answer a consumer's request `flags` from a complete descriptor `full`
 * (buf, len, itemsize, readonly, ndim, format, shape, strides, suboffsets
 * all filled; strides may be NULL = C-contiguous), as CPython's
 * memory_getbuf does, with its checks in its order and its messages:
 *   WRITABLE on read-only  -> MV_EBUFFER "memoryview: underlying buffer is not writable"
 *   no FORMAT              -> out->format = NULL (itemsize kept)
 *   C/F/ANY_CONTIGUOUS unmet -> MV_EBUFFER "memoryview: underlying buffer is not
 *                             C-contiguous" / "...not Fortran contiguous" / "...not contiguous"
 *   no INDIRECT, suboffsets -> MV_EBUFFER "memoryview: underlying buffer requires suboffsets"
 *   no STRIDES             -> must be C-contiguous (message as C_CONTIGUOUS), strides = NULL
 *   no ND                  -> must be C-contiguous; FORMAT without ND is MV_EBUFFER
 *                             "memoryview: cannot cast to unsigned bytes if the format flag
 *                             is present"; ndim = 1, shape = NULL
 * out's arrays point into `full` (no copies); out->obj = new reference to
 * exporter (may be NULL); out->internal = NULL.  Lives in buffer.c. */
int mv_buffer_answer(mv_buffer *out, const mv_buffer *full, mv_object *exporter, int flags,
                     mv_error *err);

/* ---- Layouts: how compare.c, text.c and search.c read a buffer.  In layout.c. */

/* A buffer's layout with shape and strides always present (filled in from
 * len / itemsize when the descriptor leaves them NULL), so the walkers need
 * no special cases.  `buffer` is the descriptor it was made from. */
typedef struct mv_layout {
    const mv_buffer *buffer;
    const char *buf;
    int ndim;
    ptrdiff_t itemsize;
    ptrdiff_t len;
    const ptrdiff_t *shape;
    const ptrdiff_t *strides;
    const ptrdiff_t *suboffsets;
    ptrdiff_t shape_store[MV_MAX_NDIM];
    ptrdiff_t strides_store[MV_MAX_NDIM];
} mv_layout;

/* Fill l from any descriptor b (which must outlive l).  MV_EVALUE /
 * MV_EOVERFLOW when ndim, itemsize, len or shape cannot describe memory. */
int mv_layout_init(mv_layout *l, const mv_buffer *b, mv_error *err);

/* The same from a live view: MV_EVALUE "NULL view", or the view's own error
 * (released) forwarded. */
int mv_layout_from_view(mv_layout *l, const mv_view *view, mv_error *err);

/* 1 when some extent is 0 (nothing to walk). */
bool mv_layout_has_zero(const mv_layout *l);

/* The suboffset of dimension dim, -1 when there is none. */
static inline ptrdiff_t mv_layout_sub(const mv_layout *l, int dim)
{
    return l->suboffsets ? l->suboffsets[dim] : -1;
}

/* The address of item i of a row with this stride and suboffset (sub < 0:
 * direct).  Inline: the walkers call it once per item. */
static inline const char *mv_layout_item(const char *row, ptrdiff_t i, ptrdiff_t stride,
                                         ptrdiff_t sub)
{
    const char *p = row + i * stride;
    if (sub >= 0) {
        const char *q;
        memcpy(&q, p, sizeof q);
        p = q + sub;
    }
    return p;
}

/* Copy an error recorded in `local` into err (may be NULL) and return its
 * code, MV_EVALUE if local holds none: for callees given a local mv_error
 * because the caller needs the code even when err is NULL. */
int mv_error_pass(mv_error *err, const mv_error *local);

/* A 1-D, C-contiguous, direct descriptor whose fields hold together (what
 * most exporters hand out): true means mv_buffer_validate would accept its
 * layout, checked without the general path's loops.  False says nothing:
 * the descriptor goes to the general checks. */
static inline bool mv_buffer_plain_1d(const mv_buffer *b)
{
    if (b->ndim != 1 || b->suboffsets || (b->strides && !b->shape) || b->itemsize <= 0 ||
        b->len < 0 || (!b->buf && b->len != 0) || (b->strides && b->strides[0] != b->itemsize) ||
        UINTPTR_MAX - (uintptr_t)b->buf < (uintptr_t)b->len)
        return false;
    ptrdiff_t bytes;
    if (b->shape)
        return b->shape[0] >= 0 && !mv_mul_overflow(b->shape[0], b->itemsize, &bytes) &&
               bytes == b->len;
    return b->len % b->itemsize == 0;
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

#endif
