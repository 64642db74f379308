/*
 * memview.h - the buffer protocol and memory views for C11.
 *
 * One object (an exporter) exposes memory it owns as an mv_buffer; a view
 * (mv_view) holds that buffer and indexes, slices, casts, compares and
 * converts it without copying, writing through to the owner.  The semantics
 * are CPython's buffer protocol (PEP 3118) and memoryview; where memoryview
 * stops (N-D slicing, casts between any formats), NumPy basic indexing is
 * the model.
 *
 * Conventions (apply to every function below unless its comment says more):
 *  - Fallible functions return int (0, or a negative MV_E* code) or a
 *    pointer (NULL on error) and take `mv_error *err` last; err may be NULL
 *    and need not be initialised: it is written when a call fails, and
 *    says nothing after a call that succeeds (so one mv_error can serve a
 *    whole loop without being cleared).
 *  - `_new` returns a new reference; release it with mv_decref().
 *    "borrowed" results stay valid as long as their owner does.
 *  - Sizes, offsets, shapes and strides are ptrdiff_t (Py_ssize_t's twin).
 *  - Thread safety: reference counts and export counts are atomic.  Views
 *    are immutable after creation, so any number of threads may read one
 *    view concurrently; mv_view_release() and writes to the underlying
 *    memory must be synchronised by the caller.  An exporter marked local
 *    (mv_object_set_local) trades that for speed: it and every view of it
 *    must then be used by one thread at a time.
 */
#ifndef MEMVIEW_H
#define MEMVIEW_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define MV_API __attribute__((visibility("default")))
#define MV_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define MV_API
#define MV_PRINTF(f, a)
#endif

#define MV_VERSION_MAJOR 0
#define MV_VERSION_MINOR 1
#define MV_VERSION_PATCH 0

/* The largest number of dimensions a buffer or view may have (PyBUF_MAX_NDIM). */
#define MV_MAX_NDIM 64

/* ======================================================================== *
 * Errors (src/core/error.c)
 *
 * Each kind maps 1:1 to a Python exception.  Messages are CPython's, word for
 * word, wherever CPython has one for the same condition.
 * ======================================================================== */

enum {
    MV_OK = 0,
    MV_EVALUE = -1,    /* ValueError */
    MV_ETYPE = -2,     /* TypeError */
    MV_EINDEX = -3,    /* IndexError */
    MV_EBUFFER = -4,   /* BufferError */
    MV_EOVERFLOW = -5, /* OverflowError */
    MV_ENOMEM = -6,    /* MemoryError */
    MV_ENOTIMPL = -7,  /* NotImplementedError */
    MV_EOS = -8        /* OSError; mv_error.os_errno holds errno */
};

#define MV_ERROR_MESSAGE_MAX 256

typedef struct mv_error {
    int code;       /* MV_OK or one of MV_E* */
    int os_errno;   /* for MV_EOS, else 0 */
    char message[MV_ERROR_MESSAGE_MAX]; /* NUL-terminated, may be truncated */
} mv_error;

/* Reset err to MV_OK with an empty message.  err may be NULL. */
MV_API void mv_error_clear(mv_error *err);

/* Record an error (printf-style message) in err if err is not NULL.
 * Returns code, so callers can write `return mv_error_set(err, ...)`. */
MV_API int mv_error_set(mv_error *err, int code, const char *fmt, ...) MV_PRINTF(3, 4);

/* The Python exception name of a code ("ValueError", ...); "OK" for MV_OK,
 * "UnknownError" for anything else.  Never NULL; static storage. */
MV_API const char *mv_error_name(int code);

/* ======================================================================== *
 * Objects (src/core/object.c)
 *
 * Every exporter and every view starts with an mv_object: a reference
 * count and an export count (the number of buffers obtained from it and
 * not yet released; each also holds a reference), kept in one atomic word
 * so that taking or giving back a buffer is one atomic operation, and a
 * type vtable.  Writing an exporter: embed mv_object as the first member,
 * fill an mv_type, call mv_object_init().
 *
 * Limits: at most MV_EXPORTS_MAX buffers of one object can be held at once
 * (mv_object_getbuffer refuses more); an object that reaches
 * MV_REFS_IMMORTAL references (only leaked references get there) becomes
 * immortal instead of overflowing: its count stops changing and it is
 * never destroyed.
 * ======================================================================== */

typedef struct mv_object mv_object;
typedef struct mv_buffer mv_buffer;

typedef struct mv_type {
    const char *name;
    /* Fill *view for the request `flags` (MV_BUF_*), normally through
     * mv_buffer_fill_info() or by hand.  view->obj must be set to a new
     * reference to self.  Return 0 or a negative MV_E* code with err set. */
    int (*getbuffer)(mv_object *self, mv_buffer *view, int flags, mv_error *err);
    /* Optional: undo what getbuffer did (not the reference; that is dropped
     * by mv_buffer_release). */
    void (*releasebuffer)(mv_object *self, mv_buffer *view);
    /* Free the object and everything it owns.  Called once, when the last
     * reference goes. */
    void (*destroy)(mv_object *self);
    /* Optional: the object's memory as one run of bytes (mv_object_data):
     * its address, its length in *len and in *readonly 1 when it must not
     * be written; NULL with *len = 0 when it has none now (a closed
     * mapping).  Must be as thread-safe as getbuffer. */
    void *(*data)(mv_object *self, size_t *len, int *readonly);
    /* MV_TYPE_* bits, 0 for none. */
    unsigned flags;
} mv_type;

enum {
    /* getbuffer is exactly mv_buffer_fill_info over what `data` returns
     * (one dimension of 'B' items; releasebuffer NULL): the library then
     * fills buffers of such an object itself, without calling getbuffer,
     * and trusts their layout.  Needs `data`. */
    MV_TYPE_FILL_INFO = 0x1
};

#define MV_EXPORTS_MAX   ((size_t)1 << 23)
#define MV_REFS_IMMORTAL (UINT64_C(1) << 38)

struct mv_object {
    /* References in the low 40 bits, exports in the high 24: private, read
     * them with mv_object_refcount / mv_object_exports. */
    atomic_uint_least64_t counts;
    const mv_type *type;
    unsigned flags; /* MV_OBJECT_LOCAL; read-only, see mv_object_set_local */
};

/* Initialise the header of a new object: one reference, no exports, not
 * local. */
MV_API void mv_object_init(mv_object *obj, const mv_type *type);

/* Mark obj local: from now on it, and every view made of it (views of views
 * included), is used by one thread at a time, or under a lock the caller
 * holds around every use (an interpreter lock, say).  Their reference,
 * export and view counts then change with plain loads and stores instead of
 * locked instructions, which on x86 cost ~5 ns each and dominate creating,
 * slicing and dropping a view.  Call it before obj is shared, right after
 * creating it; it cannot be undone.  Using a local object from two threads
 * at once is a data race (ThreadSanitizer reports it).  NULL is ignored. */
#define MV_OBJECT_LOCAL 0x1u
MV_API void mv_object_set_local(mv_object *obj);

/* Add / drop a reference.  `obj` is an mv_object or anything that starts
 * with one (every mv_view); NULL is ignored.  The last mv_decref calls the
 * type's destroy (never, for an immortal object: see Limits above). */
MV_API void mv_incref(void *obj);
MV_API void mv_decref(void *obj);

/* Current reference / export count (a snapshot; for tests and
 * diagnostics).  An immortal object reports MV_REFS_IMMORTAL or more. */
MV_API size_t mv_object_refcount(const void *obj);
MV_API size_t mv_object_exports(const void *obj);

/* The object's type name ("bytes", "memoryview", ...).  Static storage. */
MV_API const char *mv_object_type_name(const void *obj);

/* ======================================================================== *
 * Buffers: the protocol (src/view/buffer.c) and layout rules (src/layout/layout.c)
 *
 * mv_buffer has the fields and meaning of CPython's Py_buffer.  Request
 * flags have the values and meanings of PyBUF_*.
 * ======================================================================== */

struct mv_buffer {
    void *buf;              /* start of the logical array (not the lowest
                               address when strides are negative) */
    mv_object *obj;         /* owned reference to the exporter, or NULL */
    ptrdiff_t len;          /* product(shape) * itemsize */
    ptrdiff_t itemsize;
    int readonly;
    int ndim;               /* 0 .. MV_MAX_NDIM */
    const char *format;     /* struct syntax; NULL means "B" */
    ptrdiff_t *shape;       /* NULL unless MV_BUF_ND was requested */
    ptrdiff_t *strides;     /* NULL unless MV_BUF_STRIDES was requested */
    ptrdiff_t *suboffsets;  /* NULL, or per dimension (< 0: no indirection) */
    void *internal;         /* exporter-private */
};

enum {
    MV_BUF_SIMPLE = 0,
    MV_BUF_WRITABLE = 0x0001,
    MV_BUF_FORMAT = 0x0004,
    MV_BUF_ND = 0x0008,
    MV_BUF_STRIDES = 0x0010 | MV_BUF_ND,
    MV_BUF_C_CONTIGUOUS = 0x0020 | MV_BUF_STRIDES,
    MV_BUF_F_CONTIGUOUS = 0x0040 | MV_BUF_STRIDES,
    MV_BUF_ANY_CONTIGUOUS = 0x0080 | MV_BUF_STRIDES,
    MV_BUF_INDIRECT = 0x0100 | MV_BUF_STRIDES,
    MV_BUF_CONTIG = MV_BUF_ND | MV_BUF_WRITABLE,
    MV_BUF_CONTIG_RO = MV_BUF_ND,
    MV_BUF_STRIDED = MV_BUF_STRIDES | MV_BUF_WRITABLE,
    MV_BUF_STRIDED_RO = MV_BUF_STRIDES,
    MV_BUF_RECORDS = MV_BUF_STRIDES | MV_BUF_WRITABLE | MV_BUF_FORMAT,
    MV_BUF_RECORDS_RO = MV_BUF_STRIDES | MV_BUF_FORMAT,
    MV_BUF_FULL = MV_BUF_INDIRECT | MV_BUF_WRITABLE | MV_BUF_FORMAT,
    MV_BUF_FULL_RO = MV_BUF_INDIRECT | MV_BUF_FORMAT,
    /* Only for mv_view_from_memory. */
    MV_BUF_READ = 0x100,
    MV_BUF_WRITE = 0x200
};

/* Ask `exporter` for a buffer (PyObject_GetBuffer).  On success view->obj
 * holds a new reference and the exporter's export count is one higher until
 * mv_buffer_release(view).  Errors: MV_EBUFFER when the object cannot honour
 * the request (e.g. "underlying buffer is not writable"); MV_EBUFFER "too
 * many exports of one object (at most 8388608)" when MV_EXPORTS_MAX are
 * held; MV_EVALUE for flags outside the PyBUF_* set. */
MV_API int mv_object_getbuffer(mv_object *exporter, mv_buffer *view, int flags, mv_error *err);

/* Release a buffer from mv_object_getbuffer (PyBuffer_Release): runs the
 * exporter's releasebuffer, lowers its export count, drops view->obj.
 * Safe on a zeroed buffer and idempotent. */
MV_API void mv_buffer_release(mv_buffer *view);

/* Fill a simple 1-D unsigned-byte buffer over [buf, buf+len) for the request
 * `flags` (PyBuffer_FillInfo).  Takes a new reference to `exporter` (may be
 * NULL).  Errors: MV_EBUFFER "Object is not writable." when MV_BUF_WRITABLE
 * is requested and readonly is set; MV_EVALUE for negative len. */
MV_API int mv_buffer_fill_info(mv_buffer *view, mv_object *exporter, void *buf, ptrdiff_t len,
                               int readonly, int flags, mv_error *err);

/* 1 if view is contiguous in `order` ('C', 'F' or 'A' = either), else 0
 * (PyBuffer_IsContiguous).  Buffers with suboffsets are never contiguous.
 * An unknown order gives 0. */
MV_API int mv_buffer_is_contiguous(const mv_buffer *view, char order);

/* Address of the item at `indices` (one per dimension), following
 * suboffsets (PyBuffer_GetPointer).  Each index is bounds-checked (negative
 * indices are NOT wrapped): MV_EINDEX "index out of bounds on dimension %d". */
MV_API void *mv_buffer_get_pointer(const mv_buffer *view, const ptrdiff_t *indices, mv_error *err);

/* Copy the buffer's items into the len bytes at dst in `order` ('C', 'F',
 * or 'A' = memory order when contiguous, else C) (PyBuffer_ToContiguous).
 * MV_EVALUE "PyBuffer_ToContiguous: len != view->len" when len differs. */
MV_API int mv_buffer_to_contiguous(void *dst, const mv_buffer *src, ptrdiff_t len, char order,
                                   mv_error *err);

/* Copy len bytes from src, laid out in `order`, into the buffer's items
 * (PyBuffer_FromContiguous).  Fails with MV_ETYPE "cannot modify read-only
 * memory" on a read-only buffer, MV_EVALUE when len != view->len. */
MV_API int mv_buffer_from_contiguous(const mv_buffer *view, const void *src, ptrdiff_t len,
                                     char order, mv_error *err);

/* Copy src's items into dst (same shape and itemsize; PyObject_CopyData);
 * overlap-safe.  MV_EVALUE "memoryview assignment: lvalue and rvalue have
 * different structures" when the structures differ. */
MV_API int mv_buffer_copy(const mv_buffer *dst, const mv_buffer *src, mv_error *err);

/* Item size of a struct format string (PyBuffer_SizeFromFormat); -1 with
 * err set (MV_EVALUE, naming the format) if it does not parse. */
MV_API ptrdiff_t mv_size_from_format(const char *format, mv_error *err);

/* Fill strides for a contiguous array of `shape` in `order` ('F' for
 * Fortran, anything else C) (PyBuffer_FillContiguousStrides).  The caller
 * guarantees the products fit (mv_layout_validate checks that). */
MV_API void mv_fill_contiguous_strides(int ndim, const ptrdiff_t *shape, ptrdiff_t *strides,
                                       ptrdiff_t itemsize, char order);

/* Check a layout against the memory it claims: itemsize > 0, 0 <= ndim <=
 * MV_MAX_NDIM, shape[i] >= 0, no product overflows, and every item at
 * buf = base + offset reached through shape/strides lies inside
 * [base, base + memlen).  strides may be NULL (C-contiguous).  Errors:
 * MV_EVALUE or MV_EOVERFLOW with a message naming the offending value. */
MV_API int mv_layout_validate(ptrdiff_t memlen, ptrdiff_t itemsize, int ndim, const ptrdiff_t *shape,
                              const ptrdiff_t *strides, ptrdiff_t offset, mv_error *err);

/* Check that a buffer descriptor is self-consistent: buf non-NULL unless
 * len == 0, 0 <= ndim <= MV_MAX_NDIM, itemsize > 0 (or 0 with len 0),
 * len == product(shape) * itemsize without overflow (and the item count,
 * product(shape), in range for zero-size items too), itemsize matching the
 * format when one is given, no extent overflowing the address space.  A
 * layout with an extent of 0 has no items: its other extents and its
 * strides are not checked, and nothing reads them as addresses.
 * Errors: MV_EVALUE / MV_EOVERFLOW with a message naming the field. */
MV_API int mv_buffer_validate(const mv_buffer *view, mv_error *err);

/* ======================================================================== *
 * Formats and values (src/core/format.c)
 *
 * Struct / PEP 3118 item formats: byte order prefixes @ = < > ! (anywhere,
 * until changed), repeat counts, codes x c b B ? h H i I l L q Q n N e f d
 * s p P, T{...} records (with optional :name: after each member), Zf / Zd
 * complex.  '@' (and no prefix) means native size and alignment; = < > !
 * mean standard sizes, no alignment.  Records are flattened: an item
 * unpacks to one value per element, in order ('x' gives none; 's' and 'p'
 * give one bytes value per field).
 * ======================================================================== */

typedef enum mv_value_kind {
    MV_VALUE_NONE = 0,
    MV_VALUE_BOOL,     /* '?' */
    MV_VALUE_SIGNED,   /* b h i l q n */
    MV_VALUE_UNSIGNED, /* B H I L Q N P */
    MV_VALUE_DOUBLE,   /* e f d */
    MV_VALUE_COMPLEX,  /* Zf Zd */
    MV_VALUE_BYTES,    /* c s p */
    MV_VALUE_CHAR      /* w: one UCS-4 code point, in v.u (Python: a str of
                          length 1; values above 0x10FFFF are no character) */
} mv_value_kind;

typedef struct mv_value {
    mv_value_kind kind;
    union {
        bool b;
        int64_t i;
        uint64_t u;
        double d;
        struct {
            double re, im;
        } c;
        struct {
            const unsigned char *ptr; /* unpack: borrowed, points into the item */
            size_t len;
        } bytes;
    } v;
} mv_value;

typedef struct mv_field {
    char code;        /* struct code; Zf and Zd are reported as 'F' and 'D' */
    char byteorder;   /* '@', '=', '<', '>' ('!' is reported as '>') */
    ptrdiff_t count;  /* repeat count (for 's' / 'p': the byte length) */
    ptrdiff_t offset; /* byte offset of the first element in the item */
    ptrdiff_t size;   /* bytes per element (for 's' / 'p': per field) */
} mv_field;

typedef struct mv_format {
    ptrdiff_t itemsize;  /* bytes per item, padding included */
    ptrdiff_t alignment; /* alignment of the item (1 for standard modes) */
    ptrdiff_t nvalues;   /* values one item unpacks to */
    int nfields;
    mv_field *fields;    /* owned; in order of appearance */
    char native;         /* the code when the format is a native
                            single-character format as memoryview defines it
                            ("B", "@i", ...; never 's', 'p', 'x'), else 0 */
} mv_format;

/* Parse `text` into *fmt (which need not be initialised).  On error *fmt is
 * left empty and MV_EVALUE says "invalid format string '%s': <why>" (or
 * MV_ENOMEM).  Free with mv_format_clear(). */
MV_API int mv_format_parse(mv_format *fmt, const char *text, mv_error *err);

/* Free what mv_format_parse allocated; leaves *fmt empty.  NULL-safe,
 * idempotent. */
MV_API void mv_format_clear(mv_format *fmt);

/* The native itemsize of a format that is one native code, optionally
 * '@'-prefixed (NULL means "B"): c b B ? h H i I l L q Q n N P e f d --
 * the single-character formats whose mv_format.native is set; 0 for any
 * other text.  The library's one native-format table: no parse, no
 * allocation, thread-safe. */
MV_API ptrdiff_t mv_format_native_size(const char *text);

/* Unpack one item at `item` into values[0 .. fmt->nvalues).  nvalues is the
 * room in `values`; MV_EVALUE if it is smaller than fmt->nvalues.  Item need
 * not be aligned. */
MV_API int mv_format_unpack(const mv_format *fmt, const void *item, mv_value *values,
                            ptrdiff_t nvalues, mv_error *err);

/* Pack values[0 .. fmt->nvalues) into the item at `item` (fmt->itemsize
 * bytes; padding bytes are left as they were).  `text` is the format string
 * used in messages.  Checks every value first and writes nothing on error:
 *   MV_ETYPE  "memoryview: invalid type for format '%s'"  (bytes for a
 *             number, a double for an integer code, a number for 'c'/'s')
 *   MV_EVALUE "memoryview: invalid value for format '%s'" (out of range,
 *             'c' with length != 1, 'e' overflow, nvalues mismatch)
 * Integers accept SIGNED, UNSIGNED and BOOL; floats accept any number;
 * '?' accepts any kind (truthiness; bytes are true when non-empty); 's'/'p'
 * take bytes, truncated or zero-padded as struct does; 'w' takes a CHAR
 * (MV_EVALUE above 0x10FFFF); 'f' stores +-inf for finite values beyond
 * its range (as CPython's memoryview). */
MV_API int mv_format_pack(const mv_format *fmt, const char *text, void *item,
                          const mv_value *values, ptrdiff_t nvalues, mv_error *err);

/* ======================================================================== *
 * Exporters (src/view/exporters/)
 *
 * All return a new reference (mv_object *) or NULL with err set, and may be
 * used from any thread; their contents are not synchronised.
 * ======================================================================== */

/* Immutable bytes: a private copy of data[0 .. len).  data may be NULL when
 * len is 0.  Buffers are read-only ("Object is not writable." on a
 * writable request). */
MV_API mv_object *mv_bytes_new(const void *data, size_t len, mv_error *err);

/* Resizable bytes with an export lock: a copy of data[0 .. len) (data NULL =
 * zeros).  Writable. */
MV_API mv_object *mv_bytearray_new(const void *data, size_t len, mv_error *err);

/* Resize to newlen bytes (new bytes are zero).  Refused while any buffer is
 * exported (so while any view of it exists): MV_EBUFFER "Existing exports
 * of data: object cannot be re-sized"; mv_object_exports() tells how many.
 * MV_ETYPE when obj is not a bytearray. */
MV_API int mv_bytearray_resize(mv_object *obj, size_t newlen, mv_error *err);

/* Borrowed pointer to the bytes of an object whose type has a `data`
 * function (the library's bytes, bytearray, typed array and mapping (mmap,
 * shm) objects, and any type of yours that fills it in) and their length;
 * NULL (with *len = 0) for other objects, a NULL obj and a closed mapping.
 * len may be NULL.  Valid until the next resize, close or remap. */
MV_API void *mv_object_data(mv_object *obj, size_t *len);

/* Typed array, like array.array: `count` zeroed items of `format` (any
 * format mv_format_parse accepts), 1-D, writable. MV_EVALUE for a bad
 * format or negative count, MV_EOVERFLOW when count * itemsize overflows. */
MV_API mv_object *mv_array_new(const char *format, ptrdiff_t count, mv_error *err);

/* Called exactly once when the last reference to an external object and the
 * last buffer of it are gone. */
typedef void (*mv_release_fn)(void *ctx, void *mem);

/* External memory: the caller's [mem, mem+len) as 1-D bytes, read-only or
 * not.  `release` (may be NULL) runs once with (ctx, mem) when nothing can
 * reach the memory any more.  On error nothing is called and the caller
 * keeps the memory. */
MV_API mv_object *mv_external_new(void *mem, ptrdiff_t len, int readonly, mv_release_fn release,
                                  void *ctx, mv_error *err);

/* External memory with a full layout: `layout` gives buf, len, itemsize,
 * readonly, ndim, format, shape, strides, suboffsets (layout->obj is
 * ignored; NULL shape/strides mean 1-D / C-contiguous).  The format and the
 * arrays are copied; the memory is not.  The descriptor is checked with
 * mv_buffer_validate; that the memory it reaches is the caller's is the
 * caller's promise (check it with mv_layout_validate first when unsure).
 * Buffers honour the request flags as CPython's exporters do.  Same release
 * contract as mv_external_new. */
MV_API mv_object *mv_external_new_layout(const mv_buffer *layout, mv_release_fn release, void *ctx,
                                         mv_error *err);

/* Memory-mapped files (src/view/exporters/mmap.c).
 *
 * A range of a file mapped into memory and exported as 1-D bytes: nothing
 * is read until a view touches it.  While any buffer of the mapping is
 * exported (so while any view of it exists) mv_mmap_close and mv_mmap_remap
 * are refused with MV_EBUFFER, and the message says how many exports are
 * open.  A file that shrinks after it was mapped makes reads of the lost
 * pages raise SIGBUS in the reading thread (the kernel's contract); the
 * library does not catch signals (mview does). */
typedef enum mv_map_mode {
    MV_MAP_READ = 0,  /* read-only; buffers are read-only */
    MV_MAP_WRITE = 1, /* read-write and shared: writes reach the file */
    MV_MAP_COPY = 2   /* copy-on-write: writable, writes stay private */
} mv_map_mode;

/* Map `length` bytes of the file at `path` from byte `offset` (length -1 =
 * to the end of the file).  offset need not be page aligned.  An empty
 * range (or file) gives a valid empty buffer.  Errors: MV_EVALUE for a bad
 * mode, a negative offset, length < -1, a range past the end of the file
 * (the message gives offset, length and the file size) or a file that is
 * not a regular file; MV_EOS (os_errno set, the message names the path)
 * when open/fstat/mmap fails; MV_ENOMEM. */
MV_API mv_object *mv_mmap_open(const char *path, mv_map_mode mode, ptrdiff_t offset,
                               ptrdiff_t length, mv_error *err);

/* The same on an open descriptor, which the caller keeps (the mapping does
 * not need it after this call returns).  The descriptor's access mode must
 * allow `mode` (MV_EOS EACCES otherwise). */
MV_API mv_object *mv_mmap_fd(int fd, mv_map_mode mode, ptrdiff_t offset, ptrdiff_t length,
                             mv_error *err);

/* msync(2) the mapping (async != 0: MS_ASYNC, else MS_SYNC); nothing to do
 * and 0 for a read-only or copy-on-write mapping.  MV_ETYPE when obj is not
 * a mapping, MV_EVALUE when it is closed, MV_EOS when msync fails. */
MV_API int mv_mmap_sync(mv_object *obj, int async, mv_error *err);

/* Unmap now; a closed mapping exports nothing (getbuffer: MV_EVALUE "mmap
 * closed or invalid").  Closing a closed mapping is a no-op.  Refused while
 * exported (MV_EBUFFER "cannot close mmap: N exported buffers exist", or
 * "1 exported buffer exists"). */
MV_API int mv_mmap_close(mv_object *obj, mv_error *err);

/* Map another range of the same file (same mode, same argument rules as
 * mv_mmap_open; e.g. after the file grew).  Refused while exported
 * (MV_EBUFFER "cannot remap mmap: N exported buffers exist") and on a
 * closed mapping; on any error the old mapping stays as it was. */
MV_API int mv_mmap_remap(mv_object *obj, ptrdiff_t offset, ptrdiff_t length, mv_error *err);

/* POSIX shared memory (src/view/exporters/shm.c): a mapping (MAP_SHARED) of the
 * object `name` ("/name": one leading slash, no other, 1 to NAME_MAX
 * bytes after it) that any process opening the same name sees, and a child sees
 * after fork().  The result is a mapping: mv_mmap_sync, mv_mmap_close and
 * mv_object_data work on it. */
enum {
    MV_SHM_CREATE = 1,  /* create it if absent, and set its size to `size` */
    MV_SHM_EXCL = 2,    /* with MV_SHM_CREATE: fail (MV_EOS EEXIST) if it exists */
    MV_SHM_READONLY = 4 /* map read-only */
};

/* Open (or create) and map the whole object.  With MV_SHM_CREATE, size
 * (>= 0) is its new size; without, size must be 0 or the object's size.
 * Errors: MV_EVALUE for a bad name, flags or size; MV_EOS (os_errno) from
 * shm_open / ftruncate / mmap. */
MV_API mv_object *mv_shm_open(const char *name, int flags, ptrdiff_t size, mv_error *err);

/* Remove the name (existing mappings stay valid).  MV_EVALUE for a bad
 * name, MV_EOS (e.g. ENOENT) from shm_unlink. */
MV_API int mv_shm_unlink(const char *name, mv_error *err);

/* ======================================================================== *
 * Views (src/view/view.c; keys: src/layout/select.c, src/layout/keys.c)
 *
 * A view is an mv_object (mv_view_object) holding one managed buffer: the
 * exporter is asked for its buffer once (MV_BUF_FULL_RO); every view derived
 * from it (slices, casts, toreadonly, views of views) shares that snapshot
 * and has its own shape/strides/suboffsets.  The exporter's releasebuffer
 * runs once, when the last view is released.  A view is itself an exporter
 * (mv_object_getbuffer on it), answering requests as CPython's memoryview.
 *
 * After mv_view_release() every operation on the view fails with MV_EVALUE
 * "operation forbidden on released memoryview object".
 * ======================================================================== */

typedef struct mv_view mv_view;

/* A new view of `exporter`.  If exporter is itself a view, the new view
 * shares its managed buffer (no getbuffer, not counted as an export of it).
 * Errors: whatever the exporter's getbuffer reports; MV_EVALUE
 * "memoryview: number of dimensions must not exceed 64"; MV_EVALUE when the
 * exporter's descriptor is inconsistent (mv_buffer_validate). */
MV_API mv_view *mv_view_new(mv_object *exporter, mv_error *err);

/* A 1-D 'B' view of [mem, mem+size) with no owner (PyMemoryView_FromMemory);
 * flags is MV_BUF_READ or MV_BUF_WRITE.  The memory must outlive the view. */
MV_API mv_view *mv_view_from_memory(void *mem, ptrdiff_t size, int flags, mv_error *err);

/* The view as an object (for mv_incref / mv_object_getbuffer / mv_view_new).
 * Borrowed.  And back: the view if obj is one, else NULL. */
MV_API mv_object *mv_view_object(mv_view *view);
MV_API mv_view *mv_view_from_object(mv_object *obj);

/* The view's descriptor (borrowed, read-only; obj is the exporter).  NULL
 * with MV_EVALUE once released.  buf->format is never NULL here. */
MV_API const mv_buffer *mv_view_buffer(const mv_view *view, mv_error *err);

/* The exporter (borrowed; NULL for mv_view_from_memory views or after
 * release). */
MV_API mv_object *mv_view_exporter(const mv_view *view);

/* The view's parsed format (borrowed, lives as long as the view).  NULL
 * with MV_EVALUE when released or when the format does not parse. */
MV_API const mv_format *mv_view_format(const mv_view *view, mv_error *err);

/* Contiguity flags computed at creation: 1 / 0, or a negative code when
 * released.  order: 'C', 'F', or 'A' (either). */
MV_API int mv_view_is_contiguous(const mv_view *view, char order, mv_error *err);

/* 1 once released, else 0. */
MV_API int mv_view_is_released(const mv_view *view);

/* Release the view: it drops its hold on the managed buffer; the last view
 * of an exporter releases the exporter's buffer.  Idempotent.  Refused while
 * buffers obtained from this view are unreleased: MV_EBUFFER "memoryview has
 * %zd exported buffer%s".  The view object itself lives until mv_decref. */
MV_API int mv_view_release(mv_view *view, mv_error *err);

/* A new read-only view with the same layout on the same managed buffer. */
MV_API mv_view *mv_view_toreadonly(mv_view *view, mv_error *err);

/* --- items -------------------------------------------------------------- */

/* Read the item at `index` (exactly ndim indices; negative ones count from
 * the end) into values[0 .. nvalues) (room for mv_view_format()->nvalues).
 * Any format: records unpack field by field.  Errors:
 *   MV_EINDEX "index out of bounds on dimension %d" (1-based)
 *   MV_ETYPE  "cannot index %zd-dimension view with %zd-element tuple"
 *   MV_ENOTIMPL "sub-views are not implemented" when nindex < ndim (use
 *             mv_view_subscript for sub-views)
 *   MV_EVALUE for a format that does not parse. */
MV_API int mv_view_get_item(const mv_view *view, const ptrdiff_t *index, int nindex,
                            mv_value *values, ptrdiff_t nvalues, mv_error *err);

/* Write one item; indices as mv_view_get_item; values as mv_format_pack.
 * MV_ETYPE "cannot modify read-only memory" on a read-only view. */
MV_API int mv_view_set_item(mv_view *view, const ptrdiff_t *index, int nindex,
                            const mv_value *values, ptrdiff_t nvalues, mv_error *err);

/* --- keys, sub-views, slice assignment ----------------------------------- */

typedef enum mv_key_kind {
    MV_KEY_INDEX = 0, /* an integer: removes the dimension */
    MV_KEY_SLICE,     /* start:stop:step, each optional */
    MV_KEY_ELLIPSIS,  /* ... : as many full slices as needed */
    MV_KEY_NEWAXIS    /* None / np.newaxis: a new dimension of extent 1 */
} mv_key_kind;

typedef struct mv_key {
    mv_key_kind kind;
    ptrdiff_t index;             /* MV_KEY_INDEX */
    ptrdiff_t start, stop, step; /* MV_KEY_SLICE, used when has_* is set */
    bool has_start, has_stop, has_step;
} mv_key;

/* Apply NumPy basic indexing: keys select a sub-view sharing memory (all
 * integer keys give a 0-dim view of one item).  Slices clip as Python's do;
 * negative steps allowed.  At most one ellipsis; missing trailing keys mean
 * full slices.  Errors: MV_EVALUE "slice step cannot be zero";
 * MV_EINDEX "index out of bounds on dimension %d";
 * MV_EINDEX "too many indices for memoryview: ..." when keys exceed ndim;
 * MV_EINDEX "an index can only have a single ellipsis ('...')";
 * MV_EVALUE "memoryview: number of dimensions must not exceed 64". */
MV_API mv_view *mv_view_subscript(mv_view *view, const mv_key *keys, int nkeys, mv_error *err);

/* Assign src's items to the sub-view that keys select (slice assignment,
 * any ndim, overlap-safe, src may be this very view's memory).  src must
 * have the same shape (after the selection) and the same format (a leading
 * '@' ignored) and itemsize: else MV_EVALUE "memoryview assignment: lvalue
 * and rvalue have different structures".  MV_ETYPE "cannot modify read-only
 * memory" on a read-only view.  nkeys 0 assigns the whole view. */
MV_API int mv_view_assign(mv_view *view, const mv_key *keys, int nkeys, const mv_buffer *src,
                          mv_error *err);

/* Parse text such as "[1:3, ::-1, ..., 0, None]" (brackets optional,
 * whitespace anywhere, "newaxis" also accepted) into keys[0 .. *nkeys).
 * maxkeys is the room in keys.  Errors: MV_EVALUE "invalid subscript
 * '%s': <why> at column %d"; MV_EOVERFLOW for an integer outside
 * ptrdiff_t; MV_EINDEX when more than maxkeys keys are given. */
MV_API int mv_subscript_parse(const char *text, mv_key *keys, int maxkeys, int *nkeys,
                              mv_error *err);

/* --- cast --------------------------------------------------------------- */

enum {
    MV_CAST_STRICT = 1, /* exactly CPython's rules and messages */
    MV_CAST_FORTRAN = 2 /* lay the new shape out in Fortran order */
};

/* Reinterpret the view's memory as `format` with `shape` (ndim entries;
 * ndim < 0 means 1-D, as many items as fit).  The source must be C- or (for
 * non-strict casts) F-contiguous.  Without MV_CAST_STRICT any two formats
 * whose sizes divide the buffer are allowed, non-native byte orders and
 * N-D -> N-D included.  Errors (CPython's texts), e.g. MV_ETYPE
 * "memoryview: casts are restricted to C-contiguous views", MV_ETYPE
 * "memoryview: length is not a multiple of itemsize", MV_ETYPE
 * "memoryview: product(shape) * itemsize != buffer size", MV_EVALUE
 * "memoryview.cast(): elements of shape must be integers > 0", MV_EVALUE
 * "memoryview: number of dimensions must not exceed 64", and with
 * MV_CAST_STRICT MV_EVALUE "memoryview: destination format must be a native
 * single character format prefixed with an optional '@'" and MV_ETYPE
 * "memoryview: cannot cast between two non-byte formats". */
MV_API mv_view *mv_view_cast(mv_view *view, const char *format, const ptrdiff_t *shape, int ndim,
                             int flags, mv_error *err);

/* --- views in the caller's memory --------------------------------------- */

/* A view lives on the heap and is freed when its last reference goes.  A
 * face that wraps every view in an object of its own (the Python module's
 * memoryview type) can keep the view inside that object instead, saving an
 * allocation and a pointer chase per view: the _at constructors below do
 * exactly what the constructor without _at does, but take the new view's
 * memory from place(ctx, size).
 *
 * place returns `size` bytes aligned for a pointer and a 64-bit integer
 * (malloc's or Python's object memory are), or NULL: the constructor then
 * fails with MV_ENOMEM "out of memory".  place is called at most once, and
 * last: every check has passed by then, so a constructor that called place
 * returns the view in that memory -- except when the memory is misaligned
 * (MV_EVALUE "memoryview: place gave memory not aligned to %zu bytes", the
 * memory left untouched).  On any failure the memory place gave is still
 * the caller's.  place may run any code, even release the source view: the
 * new view holds its managed buffer (and so the memory it views) from
 * before the call.
 *
 * Ownership: the view in that memory is an ordinary view (counted, released,
 * exported like any other) whose memory the library never frees: when its
 * last reference goes (mv_decref) it lets go of its managed buffer and
 * format, and the caller may then reuse or free the memory.  The caller
 * must keep the memory until then; holding the only reference besides the
 * exports (which keep the caller's object alive too) is the usual way. */
typedef void *(*mv_view_place_fn)(void *ctx, size_t size);

MV_API mv_view *mv_view_new_at(mv_view_place_fn place, void *ctx, mv_object *exporter,
                               mv_error *err);
MV_API mv_view *mv_view_subscript_at(mv_view_place_fn place, void *ctx, mv_view *view,
                                     const mv_key *keys, int nkeys, mv_error *err);
MV_API mv_view *mv_view_cast_at(mv_view_place_fn place, void *ctx, mv_view *view,
                                const char *format, const ptrdiff_t *shape, int ndim, int flags,
                                mv_error *err);
MV_API mv_view *mv_view_toreadonly_at(mv_view_place_fn place, void *ctx, mv_view *view,
                                      mv_error *err);

/* ======================================================================== *
 * Layouts: the shape of a view, held by value (src/layout/)
 *
 * An mv_layout says how items lie in memory: the address of the first
 * item, the item size and format, and the shape, strides and suboffsets --
 * everything of a view but the ownership.  It is the library's one layout
 * type: every view holds one (in the compact form of its descriptor), and
 * every way of deriving a view is the layout operation below, then the new
 * layout attached to the source's managed buffer (mv_view_subscript is
 * mv_layout_select, mv_view_cast is mv_layout_cast).  The rules of a layout
 * -- normalisation, validation, contiguity, selection, casts, item
 * addresses -- live only here.
 *
 * A layout is held by value: on the stack, in a struct, copied with `=`.
 * It is normalised when made (shape and strides always filled in, format
 * never NULL, contiguity computed once) and checked then, as
 * mv_buffer_validate checks a descriptor; every layout derived from a
 * checked one by these functions stays consistent.  Over memory somebody
 * else owns, a layout is what other libraries call a span (C++'s mdspan,
 * Py_buffer itself): making, selecting, casting and reading one changes no
 * count and allocates nothing (except to parse a format that is not a
 * native single character).  The price is that a layout owns nothing: the
 * memory and the format text it describes must stay valid while it, or any
 * layout derived from it, is used.  Take a layout of an object with
 * mv_layout_acquire (until you release the buffer it hands you), of a
 * buffer you hold (mv_layout_from_buffer, until mv_buffer_release) or of a
 * view you hold (mv_view_layout, until mv_view_release); keep it beyond
 * that as a view (mv_view_from_layout).  A layout itself is never released.
 *
 * Size: the arrays have MV_MAX_NDIM entries (about 1.6 KB in all); only the
 * first ndim are meaningful, and the functions read and write only those,
 * so making or deriving a layout costs what its dimensions cost.  Pass
 * layouts by pointer; a copy with `=` copies the whole struct.
 *
 * The fields are for reading; the functions trust a layout they are given
 * to be as they left it (a layout filled by hand: pass it through
 * mv_layout_buffer and mv_layout_from_buffer to have it checked).
 *
 * Thread-safety: a layout is plain data; the functions only read their
 * input layout, so any number of threads may use one layout at once.
 * ======================================================================== */

/* Contiguity, as CPython's memoryview computes it (mv_layout.contig). */
enum { MV_CONTIG_C = 0x1, MV_CONTIG_F = 0x2 };

typedef struct mv_layout {
    char *buf;            /* address of the item at index (0, ..., 0) */
    ptrdiff_t len;        /* product(shape) * itemsize */
    ptrdiff_t itemsize;   /* >= 0 (0 only for items of no bytes, 'T{}') */
    const char *format;   /* struct syntax, borrowed; never NULL */
    int ndim;             /* 0 .. MV_MAX_NDIM */
    bool readonly;
    bool indirect;        /* suboffsets[0 .. ndim) are meaningful */
    unsigned char contig; /* MV_CONTIG_C | MV_CONTIG_F as they hold */
    ptrdiff_t shape[MV_MAX_NDIM];
    ptrdiff_t strides[MV_MAX_NDIM];    /* bytes, any sign */
    ptrdiff_t suboffsets[MV_MAX_NDIM]; /* when indirect: < 0 for none */
} mv_layout;

/* The layout of the memory b describes (b->obj is not used: the caller
 * keeps the buffer).  b is checked as mv_buffer_validate checks it (a NULL
 * format means "B" and must match itemsize like any other), so a
 * descriptor from any source is safe to pass.  Errors: MV_EVALUE "layout:
 * NULL argument"; mv_buffer_validate's errors.  On error *l is left
 * unchanged. */
MV_API int mv_layout_from_buffer(mv_layout *l, const mv_buffer *b, mv_error *err);

/* A layout of exporter's memory, and the buffer that keeps it: exactly
 * mv_object_getbuffer(exporter, hold, flags) followed by
 * mv_layout_from_buffer(l, hold), in one call.  The layout is valid until
 * mv_buffer_release(hold); release it once, as any buffer from
 * mv_object_getbuffer.  The library's bytes and bytearray fill both
 * directly (no calls through the type, no format lookup): with a local
 * exporter this is the cheapest way to look at an object's memory.
 * Errors: MV_EVALUE "layout: NULL argument" for a NULL l;
 * mv_object_getbuffer's errors (NULL hold or exporter, bad flags, the
 * exporter's refusal); mv_layout_from_buffer's.  On any error *l is
 * unchanged and nothing is held: *hold is zeroed (a NULL hold aside), the
 * exporter's counts are as before.  Thread-safety: as mv_object_getbuffer. */
MV_API int mv_layout_acquire(mv_layout *l, mv_buffer *hold, mv_object *exporter, int flags,
                             mv_error *err);

/* The layout of a live view, usable until the view is released.  Errors:
 * MV_EVALUE "layout: NULL argument"; MV_EVALUE "operation forbidden on
 * released memoryview object".  A view whose format does not parse gives
 * its layout all the same (mv_layout_get_item then reports the parse
 * error). */
MV_API int mv_view_layout(mv_layout *l, const mv_view *view, mv_error *err);

/* NumPy basic indexing of l by keys into *out (out may be l): the keys,
 * rules and messages of mv_view_subscript, which is this call plus the
 * attach.  On error *out is left unchanged. */
MV_API int mv_layout_select(mv_layout *out, const mv_layout *l, const mv_key *keys, int nkeys,
                            mv_error *err);

/* l cast as mv_view_cast casts a view (same flags, rules, checks and
 * messages: mv_view_cast is this call plus the attach) into *out (out may
 * be l).  out->format is `format` itself (borrowed: keep the text alive
 * while out is used).  Only the parse of a destination other than a native
 * single character allocates.  On error *out is left unchanged. */
MV_API int mv_layout_cast(mv_layout *out, const mv_layout *l, const char *format,
                          const ptrdiff_t *shape, int ndim, int flags, mv_error *err);

/* The layout as a descriptor (obj NULL, arrays pointing into *l, which must
 * outlive *out; suboffsets NULL unless indirect): a source for
 * mv_view_assign, a layout for mv_buffer_* and mv_external_new_layout.
 * NULL arguments are ignored. */
MV_API void mv_layout_buffer(const mv_layout *l, mv_buffer *out);

/* 1 when l is contiguous in `order` ('C', 'F' or 'A' = either), as its
 * contig field says (mv_view_is_contiguous's rules), else 0; 0 also for a
 * NULL l or an unknown order. */
MV_API int mv_layout_is_contiguous(const mv_layout *l, char order);

/* A heap view with l's layout and format, sharing base's managed buffer
 * (as a slice of base would): the way to keep a layout beyond the function
 * that made it.  l must lie between the lowest and the highest byte of a
 * direct base (a layout with no items may point anywhere), and may be
 * writable only when base is.  The format text is copied.  Errors: base's
 * (NULL, released); MV_EVALUE "layout: NULL argument"; mv_buffer_validate's
 * layout errors; MV_EVALUE "layout: format must not be NULL"; MV_EBUFFER
 * "layout: a writable layout of a read-only view"; MV_EVALUE "layout: the
 * layout reaches outside the view's memory"; MV_EVALUE "layout: an
 * indirect layout or view cannot be checked" (suboffsets on either side:
 * where the memory lies depends on the pointers); MV_EVALUE "layout:
 * itemsize %td does not match format '%s' (size %td)"; MV_ENOMEM. */
MV_API mv_view *mv_view_from_layout(mv_view *base, const mv_layout *l, mv_error *err);

/* Read / write one item through the layout, with mv_view_get_item's and
 * mv_view_set_item's index rules, values and messages (in the view's
 * order: read-only, format, index), plus MV_EVALUE "layout: NULL
 * argument".  Native integer and float items are read directly; writes,
 * and reads of other formats, parse the format on each call (hold a view
 * for many accesses of records). */
MV_API int mv_layout_get_item(const mv_layout *l, const ptrdiff_t *index, int nindex,
                              mv_value *values, ptrdiff_t nvalues, mv_error *err);
MV_API int mv_layout_set_item(const mv_layout *l, const ptrdiff_t *index, int nindex,
                              const mv_value *values, ptrdiff_t nvalues, mv_error *err);

/* The address of the item at index[0 .. ndim) (negative indices count from
 * the end; suboffsets followed), or NULL when l is NULL, index is NULL for
 * ndim > 0, or an index is out of range (and for the items of a layout of
 * zero-size items over no memory, whose buf is NULL).  Inline: the item
 * pointer costs a bounds check and a multiply-add per dimension.  Read it
 * as the layout's format says (e.g. memcpy into an int32_t for "i"). */
static inline void *mv_layout_at(const mv_layout *l, const ptrdiff_t *index)
{
    if (!l || l->ndim < 0 || l->ndim > MV_MAX_NDIM || (l->ndim > 0 && !index))
        return NULL;
    /* Every index first: a layout with no items (an extent of 0) is only
     * consistent up to the index found out of range. */
    for (int d = 0; d < l->ndim; d++) {
        ptrdiff_t i = index[d] < 0 ? index[d] + l->shape[d] : index[d];
        if (i < 0 || i >= l->shape[d])
            return NULL;
    }
    /* Addresses as integers: a pointer an exporter stored plus its
     * suboffset is the exporter's promise, not a C pointer sum. */
    uintptr_t p = (uintptr_t)l->buf;
    for (int d = 0; d < l->ndim; d++) {
        ptrdiff_t i = index[d] < 0 ? index[d] + l->shape[d] : index[d];
        p += (uintptr_t)(i * l->strides[d]);
        if (l->indirect && l->suboffsets[d] >= 0) {
            char *q;
            memcpy(&q, (const char *)p, sizeof q);
            p = (uintptr_t)q + (uintptr_t)l->suboffsets[d];
        }
    }
    return (void *)p;
}

/* The same for a 1-D layout and one index; NULL also when l is not 1-D. */
static inline void *mv_layout_at1(const mv_layout *l, ptrdiff_t i)
{
    if (!l || l->ndim != 1)
        return NULL;
    if (i < 0)
        i += l->shape[0];
    if (i < 0 || i >= l->shape[0])
        return NULL;
    uintptr_t p = (uintptr_t)l->buf + (uintptr_t)(i * l->strides[0]);
    if (l->indirect && l->suboffsets[0] >= 0) {
        char *q;
        memcpy(&q, (const char *)p, sizeof q);
        p = (uintptr_t)q + (uintptr_t)l->suboffsets[0];
    }
    return (void *)p;
}

/* ======================================================================== *
 * Data out (src/ops/copy.c, src/ops/hex.c, src/ops/tolist.c)
 *
 * Copies, comparisons and hex run SIMD kernels picked at run time from what
 * CPUID reports (AVX-512 VBMI, AVX2, SSSE3, else portable C).  Two
 * environment variables, read once per process, tune them:
 *  - MEMVIEW_ISA = portable | ssse3 | avx2 | avx512 caps the level (e.g.
 *    avx2 under valgrind, which cannot run AVX-512).
 *  - MEMVIEW_STREAM_MIN = a byte count (default 50331648, 48 MiB): a
 *    copy (tobytes, assignment; strided or dense, between places that do
 *    not overlap) whose source span plus output reaches it, and the hex
 *    text (without separators) of a contiguous view whose bytes plus text
 *    reach it, write their output with non-temporal stores, which keeps
 *    the source in cache and skips reading the output before writing it,
 *    but leaves the output out of cache.  0 streams every such copy; a
 *    huge value never does.  Output into new memory (the allocating and
 *    _alloc forms) never streams.
 * A copy into a strided view (mv_view_assign, mv_buffer_copy,
 * mv_buffer_from_contiguous) writes its items' bytes and no others, never
 * the bytes between them, so threads may fill disjoint views of one
 * buffer (say the interleaved channels of an image, m[0::3] and m[1::3])
 * at the same time.
 * ======================================================================== */

/* The view's bytes in `order` ('C', 'F', 'A') into dst (dstlen >= nbytes;
 * else MV_EVALUE).  MV_EVALUE "order must be 'C', 'F' or 'A'". */
MV_API int mv_view_tobytes_into(const mv_view *view, void *dst, ptrdiff_t dstlen, char order,
                                mv_error *err);

/* The same into a new malloc'd block (free() it); *len gets nbytes.  Never
 * returns NULL on success (a 1-byte block for an empty view). */
MV_API void *mv_view_tobytes(const mv_view *view, char order, size_t *len, mv_error *err);

/* The same into memory the caller's allocator gives: alloc(ctx, nbytes) is
 * called once, after the checks above, for the view's nbytes (0 for an
 * empty view), and returns where the bytes go (NULL: MV_ENOMEM "tobytes:
 * cannot allocate N bytes").  Returns that pointer, or NULL on error; if
 * the copy fails after alloc returned memory (it cannot for a valid view),
 * that memory is still the caller's to release.  Use it to fill a
 * container of your own (a Python bytes, a vector) from new memory: the
 * copy then never uses streaming stores (MEMVIEW_STREAM_MIN above), which
 * are slower into pages not yet touched, and memory of 4 MiB or more is
 * advised MADV_HUGEPAGE where Linux has it (see mv_view_hex_alloc).
 * MV_EVALUE "tobytes: view must not be NULL" / "tobytes: alloc must not be
 * NULL". */
MV_API void *mv_view_tobytes_alloc(const mv_view *view, char order,
                                   void *(*alloc)(void *ctx, ptrdiff_t nbytes), void *ctx,
                                   mv_error *err);

/* Lower-case hex of the view's bytes in C order, with an optional one-byte
 * separator (sep 0 = none) every |bytes_per_sep| bytes, counted from the
 * right when positive and from the left when negative (CPython's hex()).
 * sep may be any byte 0x01..0x7f; above that MV_EVALUE "sep must be
 * ASCII.".  A result length that overflows gives MV_ENOMEM.
 * The _into form writes exactly mv_view_hex_length() bytes, no NUL. */
MV_API ptrdiff_t mv_view_hex_length(const mv_view *view, char sep, int bytes_per_sep,
                                    mv_error *err);
MV_API int mv_view_hex_into(const mv_view *view, char *dst, ptrdiff_t dstlen, char sep,
                            int bytes_per_sep, mv_error *err);
/* Into memory the caller's allocator gives, as mv_view_tobytes_alloc:
 * alloc(ctx, n) is called once, after the checks, with n =
 * mv_view_hex_length() (0 for an empty view), and exactly n bytes are
 * written (no NUL).  Returns that pointer, or NULL on error (MV_ENOMEM
 * "memoryview.hex: cannot allocate N bytes" when alloc returns NULL;
 * MV_EVALUE "memoryview.hex: alloc must not be NULL").  New memory of
 * 4 MiB or more is advised MADV_HUGEPAGE where Linux has it (as NumPy
 * does for its data): at 4 KiB pages the first-touch faults cost more than
 * the hex itself.  mv_view_tobytes_alloc and both malloc'd forms do the
 * same. */
MV_API char *mv_view_hex_alloc(const mv_view *view, char sep, int bytes_per_sep,
                               void *(*alloc)(void *ctx, ptrdiff_t nbytes), void *ctx,
                               mv_error *err);
/* NUL-terminated, malloc'd (free() it); *len (may be NULL) gets strlen. */
MV_API char *mv_view_hex(const mv_view *view, char sep, int bytes_per_sep, size_t *len,
                         mv_error *err);

/* Ranges: the bytes and the hex of items [start, start + count) of the
 * view in C order (item k is the k-th item tobytes('C') writes; a 0-dim
 * view has one item), into the caller's buffer.  Consecutive ranges give
 * exactly the whole: a view of any size can be written out in chunks of
 * any number of items, with no copy of the whole and no sub-views.
 * The bytes of the range are count * itemsize bytes (dstlen must be at
 * least that: else MV_EVALUE "tobytes: destination too small (%td < %td)").
 * The hex text of the range is what mv_view_hex of the whole view writes
 * for those bytes: each byte's two digits, each followed by the separator
 * that follows it in the whole text (bytes_per_sep counts its groups from
 * the whole view's end or start, not the range's).
 * Errors: MV_EVALUE "memoryview: %td items from item %td are outside
 * the view's %td items" for a negative start or count or a range past the end;
 * the view's own (NULL, released); hex's sep errors as mv_view_hex.
 * Thread-safety: as tobytes and hex; ranges of one view may be written by
 * several threads at once. */
MV_API int mv_view_tobytes_range(const mv_view *view, ptrdiff_t start, ptrdiff_t count,
                                 void *dst, ptrdiff_t dstlen, mv_error *err);
MV_API ptrdiff_t mv_view_hex_range_length(const mv_view *view, ptrdiff_t start,
                                          ptrdiff_t count, char sep, int bytes_per_sep,
                                          mv_error *err);
MV_API int mv_view_hex_range_into(const mv_view *view, ptrdiff_t start, ptrdiff_t count,
                                  char *dst, ptrdiff_t dstlen, char sep, int bytes_per_sep,
                                  mv_error *err);

/* Traversal in C order (tolist's skeleton): for a view of ndim n, calls
 * begin(ctx, depth) before each list, item(ctx, values, nvalues) for each
 * item, end(ctx, depth) after each list; a 0-dim view is one item with no
 * list.  A callback returning non-zero stops the walk and that value is
 * returned.  Any callback may be NULL. */
typedef struct mv_visitor {
    int (*begin)(void *ctx, int depth);
    int (*item)(void *ctx, const mv_value *values, ptrdiff_t nvalues);
    int (*end)(void *ctx, int depth);
    void *ctx;
} mv_visitor;
MV_API int mv_view_traverse(const mv_view *view, const mv_visitor *visitor, mv_error *err);

/* tolist as Python-literal text: "[[1, 2], [3, 4]]"; floats as Python's
 * repr ("0.1", "1e+16", "inf", "nan"), bools True/False, bytes b'..',
 * complex "(1+2j)", records "(1, 2.5)".  malloc'd, NUL-terminated. */
MV_API char *mv_view_tolist_text(const mv_view *view, size_t *len, mv_error *err);

/* Python's repr of a double ("0.1", "1e+16", "-0.0", "inf", "nan") into
 * dst (at least 32 bytes); returns the length. */
MV_API int mv_double_repr(double x, char *dst, size_t dstlen);

/* Python's repr of the one-character str chr(c) ("'a'", "'\\n'", "\"'\"",
 * "'é'" in UTF-8) into dst (16 bytes are enough); returns the length.
 * Backslash, quotes, ASCII and Latin-1 controls, U+00AD, U+2028/9 and
 * surrogates are escaped as Python escapes them; other characters Python
 * counts as non-printable (other format and unassigned code points) are
 * written as themselves.  c above 0x10FFFF (no character) gives
 * '\UXXXXXXXX'.  Thread-safe. */
MV_API int mv_char_repr(uint32_t c, char *dst, size_t dstlen);

/* ======================================================================== *
 * Comparison, hashing, search (src/ops/compare.c, src/ops/search.c)
 * ======================================================================== */

/* CPython's memoryview ==: 1 if equal, 0 if not, negative on error.  Shapes
 * must be equivalent (same ndim, equal extents; views with a zero extent
 * compare equal when ndim and extents before the zero match); items compare
 * by value across formats (1 == 1.0 == True, b'a' != 97, NaN != NaN,
 * records field by field).  Formats that do not parse make the views
 * unequal (as CPython).  A released view equals only itself. */
MV_API int mv_view_equal(const mv_view *a, const mv_view *b, mv_error *err);
/* The same for any two buffers. */
MV_API int mv_buffer_equal(const mv_buffer *a, const mv_buffer *b, mv_error *err);

/* 1 if two values are equal as Python compares them (int/float/bool across
 * kinds, bytes by content, NaN unequal), else 0. */
MV_API int mv_value_equal(const mv_value *a, const mv_value *b);

/* Hash of a read-only view, such that views that compare equal
 * (mv_view_equal, across formats) hash alike:
 *   - a view whose every item is one value that a 'B', 'b' or 'c' item can
 *     equal -- an integer in -128..255 (int, bool, or a float or complex
 *     equal to one) or a one-byte bytes value -- hashes as the bytes those
 *     values make, each integer as its value mod 256, in C order:
 *     mv_hash_bytes(bytes).  For 'B', 'b' and 'c' views these are the
 *     view's bytes (CPython's rule: hash(m) == hash(m.tobytes()));
 *   - any other view hashes its values (1 == 1.0 == True hash alike; the
 *     shape is not part of the hash).
 * Errors: MV_EVALUE "cannot hash writable memoryview object"; MV_ENOTIMPL
 * "memoryview: format F describes N-byte items, but the exporter's itemsize
 * is M" and the format's own errors when the values cannot be read.
 * Thread-safety: reads the memory; safe alongside other readers. */
MV_API int mv_view_hash(const mv_view *view, uint64_t *hash, mv_error *err);
MV_API uint64_t mv_hash_bytes(const void *data, size_t len);

/* The first rule of mv_view_hash on its own, for a binding whose bytes
 * hash differently (CPython's hash(bytes)): when every item of the view is
 * one value that maps to a byte as described there, writes those bytes
 * (one per item, C order) to dst and returns 1; otherwise returns 0 and
 * dst holds garbage.  dstlen must be at least the number of items (else
 * MV_EVALUE); negative on error, with the errors of mv_view_hash but for
 * writability (any view is read). */
MV_API int mv_view_byte_values(const mv_view *view, void *dst, size_t dstlen, mv_error *err);

/* Number of items equal to `value` (mv_value_equal) in a 1-D view; index
 * of the first such item in [start, stop) (negative bounds count from the
 * end, clipped) into *pos.  count iterates as CPython 3.14's does, so on a
 * 0-dim view it fails with MV_ETYPE "invalid indexing of 0-dim memory" and
 * on ndim > 1 with MV_ENOTIMPL "multi-dimensional sub-views are not
 * implemented"; index gives MV_ETYPE "invalid lookup on 0-dim memory",
 * MV_ENOTIMPL "multi-dimensional lookup is not implemented" and MV_EVALUE
 * "memoryview.index(x): x not found". */
MV_API int mv_view_count(const mv_view *view, const mv_value *value, ptrdiff_t *count,
                         mv_error *err);
MV_API int mv_view_index(const mv_view *view, const mv_value *value, ptrdiff_t start,
                         ptrdiff_t stop, ptrdiff_t *pos, mv_error *err);

/* Byte-string search on 1-D views of a byte format ('B', 'b', 'c'), as
 * bytes.find / count / startswith / endswith within [start, end) (negative
 * bounds count from the end, clipped).  find sets *pos to -1 when absent.
 * Errors: MV_ETYPE "memoryview: byte search needs a 1-D view of format
 * 'B', 'b' or 'c', not a N-D view of format 'F'" otherwise. */
MV_API int mv_view_find(const mv_view *view, const void *needle, size_t n, ptrdiff_t start,
                        ptrdiff_t end, ptrdiff_t *pos, mv_error *err);
MV_API int mv_view_count_bytes(const mv_view *view, const void *needle, size_t n,
                               ptrdiff_t start, ptrdiff_t end, ptrdiff_t *count, mv_error *err);
MV_API int mv_view_startswith(const mv_view *view, const void *prefix, size_t n, mv_error *err);
MV_API int mv_view_endswith(const mv_view *view, const void *suffix, size_t n, mv_error *err);
/* The first match in [start, end) as a 1-D sub-view of length n (a new
 * reference) in *match, or *match = NULL when there is none. */
MV_API int mv_view_find_view(mv_view *view, const void *needle, size_t n, ptrdiff_t start,
                             ptrdiff_t end, mv_view **match, mv_error *err);

/* Split a 1-D byte view as bytes.split(sep, maxsplit) splits its bytes:
 * with a separator (sep, n >= 1 bytes) at each occurrence, left to right,
 * at most maxsplit times (< 0: no limit), empty pieces kept; with sep NULL
 * (n is then not used) at runs of ASCII whitespace (space, \t \n \v \f \r), at most maxsplit
 * times, empty pieces dropped.  Calls piece(ctx, start, stop) for each
 * piece in order, with its byte range in the view (view[start:stop] is the
 * piece as a sub-view); a non-zero return stops the split and is returned.
 * The view must not be released by piece.  Errors: the byte-view errors
 * of mv_view_find; MV_EVALUE "empty separator" for a non-NULL sep with
 * n == 0; MV_EVALUE "memoryview.split: NULL callback"; MV_ENOMEM. */
typedef int (*mv_split_fn)(void *ctx, ptrdiff_t start, ptrdiff_t stop);
MV_API int mv_view_split(const mv_view *view, const void *sep, size_t n, ptrdiff_t maxsplit,
                         mv_split_fn piece, void *ctx, mv_error *err);

#ifdef __cplusplus
}
#endif

#endif /* MEMVIEW_H */
