/* Private to the library: the operations layer (src/ops/) -- the row
 * walk (walk.c), copies (copy.c), equality (compare.c), hashing (hash.c),
 * hex (hex.c), tolist (tolist.c), search and count / index (search.c),
 * over the layouts and views below.  Not installed. */
#ifndef MEMVIEW_OPS_H
#define MEMVIEW_OPS_H

#include "../view/view.h"

/* Copy the items of src into dst: both describe `ndim` dimensions of the
 * same `shape` and the same itemsize; strides and suboffsets may differ
 * (NULL strides = C-contiguous, NULL suboffsets = none).  Overlap-safe: when
 * the two may share memory the items go through a temporary copy.
 * Returns 0 or MV_ENOMEM (err set).  Lives in copy.c. */
int mv_copy_items(const mv_buffer *dst, const mv_buffer *src, mv_error *err);

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

/* The view's layout after the checks every range takes: the view's own
 * errors, then MV_EVALUE "memoryview: %td items from item %td are outside
 * the view's %td items" unless 0 <= start, 0 <= count, start + count <= the
 * item count.  In copy.c. */
int mv_range_layout(mv_layout *l, const mv_view *view, ptrdiff_t start, ptrdiff_t count,
                    mv_error *err);

/* Items [start, start + count) of l in C order into dst (count * itemsize
 * bytes, C-contiguous), through the copy engine: the ranged walk of
 * tobytes, and of hex for layouts that are not contiguous.  The range is
 * the caller's to check (mv_range_layout).  0 or MV_ENOMEM.  In copy.c. */
int mv_copy_range(const mv_layout *l, ptrdiff_t start, ptrdiff_t count, void *dst, mv_error *err);

/* One row of a walk: n items of the first layout from pa, stride sa,
 * suboffset suba (-1: direct), and of the second in step from pb.  0 goes
 * on; anything else stops the walk and is its result. */
typedef int (*mv_row_fn)(void *ctx, const char *pa, ptrdiff_t sa, ptrdiff_t suba, const char *pb,
                         ptrdiff_t sb, ptrdiff_t subb, ptrdiff_t n);

/* A planned walk: the dimensions that move, merged, outermost first, and
 * each side's strides and suboffsets (-1: direct) for them.  ndim >= 1;
 * no extent is 0. */
typedef struct mv_walk {
    int ndim;
    ptrdiff_t shape[MV_MAX_NDIM];
    ptrdiff_t stride[2][MV_MAX_NDIM];
    ptrdiff_t sub[2][MV_MAX_NDIM];
} mv_walk;

/* Plan the walk of ndim dimensions of `shape` (no extent 0; the item count
 * fits ptrdiff_t) over two sides with these strides (ndim each) and
 * suboffsets (NULL, or ndim entries; < 0: direct): dimensions of extent 1
 * direct on both sides are dropped (none left: one row of one item), then
 * each dimension is merged into the one inside it where, on both sides,
 * it has no suboffset and its stride is the inner one's whole run.
 * C order is kept.  The one place of that rule.  In walk.c. */
void mv_walk_plan(mv_walk *w, int ndim, const ptrdiff_t *shape, const ptrdiff_t *const strides[2],
                  const ptrdiff_t *const subs[2]);

/* Walk w from pa (side 0) and pb (side 1), a row at a time: fn's first
 * non-zero result, or 0.  In walk.c. */
int mv_walk_run(const mv_walk *w, const char *pa, const char *pb, mv_row_fn fn, void *ctx);

/* Every item of a, and of b (same shape; NULL: a alone, and fn's second
 * row is a's), in C order, a row at a time, with dimensions that continue
 * each other in both layouts merged into longer rows (a C-contiguous
 * layout is one row; a 0-D one a row of one item; one with an extent of 0
 * has none).  Returns fn's first non-zero result, or 0.  In walk.c. */
int mv_walk_rows(const mv_layout *a, const mv_layout *b, mv_row_fn fn, void *ctx);

#endif
