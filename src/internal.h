/* Private helpers shared by the library's .c files.  Not installed. */
#ifndef MEMVIEW_INTERNAL_H
#define MEMVIEW_INTERNAL_H

#include "memview.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MV_MSG_RELEASED "operation forbidden on released memoryview object"
#define MV_MSG_READONLY "cannot modify read-only memory"
#define MV_MSG_STRUCTURE "memoryview assignment: lvalue and rvalue have different structures"

/* Checked arithmetic: true when the result overflowed ptrdiff_t. */
static inline bool mv_mul_overflow(ptrdiff_t a, ptrdiff_t b, ptrdiff_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}

static inline bool mv_add_overflow(ptrdiff_t a, ptrdiff_t b, ptrdiff_t *out)
{
    return __builtin_add_overflow(a, b, out);
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
            return (*start - *stop - 1) / (-step) + 1;
    } else if (*start < *stop) {
        return (*stop - *start - 1) / step + 1;
    }
    return 0;
}

/* Copy the items of src into dst: both describe `ndim` dimensions of the
 * same `shape` and the same itemsize; strides and suboffsets may differ
 * (NULL strides = C-contiguous, NULL suboffsets = none).  Overlap-safe: when
 * the two may share memory the items go through a temporary copy.
 * Returns 0 or MV_ENOMEM (err set).  Lives in copy.c. */
int mv_copy_items(const mv_buffer *dst, const mv_buffer *src, mv_error *err);

/* The data of a bytearray / typed array object, or NULL (with *len = 0)
 * for any other object; mv_object_data dispatches to them.  In
 * exporters/bytearray.c and exporters/array.c. */
void *mv_bytearray_data(mv_object *obj, size_t *len);
void *mv_array_data(mv_object *obj, size_t *len);

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

#endif
