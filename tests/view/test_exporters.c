/* Exporters: bytes, bytearray (export lock), array, external memory
 * (release callback), each with hostile input and allocation failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "failalloc.h"
#include "memview.h"

/* Run `expr` (which yields a pointer) with allocation n failing, for n =
 * 0, 1, ... until it succeeds; every failure must be MV_ENOMEM. */
#define SWEEP(result, expr, nallocs)                                                         \
    do {                                                                                     \
        long sweep_n_;                                                                       \
        for (sweep_n_ = 0;; sweep_n_++) {                                                    \
            mv_error sweep_err_;                                                             \
            mv_error_clear(&sweep_err_);                                                     \
            mv_error *errp = &sweep_err_;                                                    \
            mv_test_fail_after(sweep_n_);                                                    \
            result = (expr);                                                                 \
            mv_test_fail_after(-1);                                                          \
            if (result)                                                                      \
                break;                                                                       \
            assert_int_equal(sweep_err_.code, MV_ENOMEM);                                    \
            assert_true(sweep_n_ < 1000);                                                    \
        }                                                                                    \
        *(nallocs) = sweep_n_;                                                               \
    } while (0)

/* ------------------------------------------------------------------------ */
/* bytes                                                                      */

static void test_bytes_basic(void **state)
{
    (void)state;
    char src[6] = "hello";
    mv_error err;
    mv_object *b = mv_bytes_new(src, 5, &err);
    assert_non_null(b);
    src[0] = 'J'; /* a private copy */
    assert_string_equal(mv_object_type_name(b), "bytes");
    size_t len = 0;
    const char *data = mv_object_data(b, &len);
    assert_int_equal(len, 5);
    assert_memory_equal(data, "hello", 5);

    mv_buffer view;
    assert_int_equal(mv_object_getbuffer(b, &view, MV_BUF_FULL_RO, &err), 0);
    assert_ptr_equal(view.buf, data);
    assert_int_equal(view.len, 5);
    assert_int_equal(view.readonly, 1);
    assert_string_equal(view.format, "B");
    assert_int_equal(view.ndim, 1);
    assert_int_equal(view.shape[0], 5);
    assert_int_equal(view.strides[0], 1);
    assert_null(view.suboffsets);
    assert_int_equal(mv_object_exports(b), 1);
    mv_buffer_release(&view);
    assert_int_equal(mv_object_exports(b), 0);

    assert_int_equal(mv_object_getbuffer(b, &view, MV_BUF_WRITABLE, &err), MV_EBUFFER);
    assert_string_equal(err.message, "Object is not writable.");
    assert_int_equal(mv_object_getbuffer(b, &view, MV_BUF_FULL, &err), MV_EBUFFER);
    assert_int_equal(mv_object_exports(b), 0);
    assert_int_equal(mv_object_refcount(b), 1);
    mv_decref(b);
}

static void test_bytes_empty_and_hostile(void **state)
{
    (void)state;
    mv_error err;
    mv_object *e = mv_bytes_new(NULL, 0, &err);
    assert_non_null(e);
    size_t len = 7;
    assert_non_null(mv_object_data(e, &len));
    assert_int_equal(len, 0);
    mv_decref(e);
    assert_null(mv_bytes_new(NULL, 3, &err));
    assert_int_equal(err.code, MV_EVALUE);
    char c = 'x';
    assert_null(mv_bytes_new(&c, SIZE_MAX, &err));
    assert_int_equal(err.code, MV_EOVERFLOW);
    assert_null(mv_bytes_new(&c, (size_t)PTRDIFF_MAX + 1, &err));
    assert_int_equal(err.code, MV_EOVERFLOW);
    assert_null(mv_bytes_new(NULL, 1, NULL));
}

static void test_bytes_nomem(void **state)
{
    (void)state;
    mv_object *b;
    long n;
    SWEEP(b, mv_bytes_new("abc", 3, errp), &n);
    assert_int_equal(n, 1); /* header and data in one allocation */
    size_t len;
    assert_memory_equal(mv_object_data(b, &len), "abc", 3);
    mv_decref(b);
}

/* ------------------------------------------------------------------------ */
/* bytearray                                                                  */

static void test_bytearray_basic(void **state)
{
    (void)state;
    mv_error err;
    mv_object *ba = mv_bytearray_new("XYZ", 3, &err);
    assert_non_null(ba);
    assert_string_equal(mv_object_type_name(ba), "bytearray");
    mv_buffer view;
    assert_int_equal(mv_object_getbuffer(ba, &view, MV_BUF_CONTIG, &err), 0);
    assert_int_equal(view.readonly, 0);
    assert_int_equal(view.len, 3);
    ((char *)view.buf)[2] = 'J';
    size_t len;
    assert_memory_equal(mv_object_data(ba, &len), "XYJ", 3);
    mv_buffer_release(&view);

    mv_object *z = mv_bytearray_new(NULL, 4, &err);
    assert_non_null(z);
    unsigned char zeros[4] = {0};
    assert_memory_equal(mv_object_data(z, &len), zeros, 4);
    assert_int_equal(len, 4);
    mv_decref(z);
    mv_object *e = mv_bytearray_new(NULL, 0, &err);
    assert_non_null(e);
    assert_int_equal(mv_object_getbuffer(e, &view, MV_BUF_FULL, &err), 0);
    assert_non_null(view.buf); /* an empty bytearray still has an address */
    mv_buffer_release(&view);
    mv_decref(e);
    assert_null(mv_bytearray_new("x", SIZE_MAX, &err));
    assert_int_equal(err.code, MV_EOVERFLOW);
    mv_decref(ba);
}

static void test_bytearray_resize(void **state)
{
    (void)state;
    mv_error err;
    mv_object *ba = mv_bytearray_new("abcdef", 6, &err);
    assert_int_equal(mv_bytearray_resize(ba, 3, &err), 0);
    size_t len;
    assert_memory_equal(mv_object_data(ba, &len), "abc", 3);
    assert_int_equal(len, 3);
    assert_int_equal(mv_bytearray_resize(ba, 8, &err), 0);
    const unsigned char want[8] = {'a', 'b', 'c', 0, 0, 0, 0, 0};
    assert_memory_equal(mv_object_data(ba, &len), want, 8);
    assert_int_equal(len, 8);
    assert_int_equal(mv_bytearray_resize(ba, 0, &err), 0);
    assert_non_null(mv_object_data(ba, &len));
    assert_int_equal(len, 0);
    assert_int_equal(mv_bytearray_resize(ba, 2, &err), 0);
    assert_memory_equal(mv_object_data(ba, &len), want + 6, 2);
    assert_int_equal(mv_bytearray_resize(ba, SIZE_MAX, &err), MV_EOVERFLOW);
    assert_int_equal(len, 2);
    mv_decref(ba);
}

static void test_bytearray_export_lock(void **state)
{
    (void)state;
    mv_error err;
    mv_object *ba = mv_bytearray_new("XYZ", 3, &err);
    mv_buffer b1, b2;
    assert_int_equal(mv_object_getbuffer(ba, &b1, MV_BUF_SIMPLE, &err), 0);
    assert_int_equal(mv_object_getbuffer(ba, &b2, MV_BUF_FULL, &err), 0);
    assert_int_equal(mv_object_exports(ba), 2);
    assert_int_equal(mv_bytearray_resize(ba, 10, &err), MV_EBUFFER);
    assert_string_equal(err.message, "Existing exports of data: object cannot be re-sized");
    mv_buffer_release(&b1);
    assert_int_equal(mv_bytearray_resize(ba, 10, &err), MV_EBUFFER);
    mv_buffer_release(&b2);
    assert_int_equal(mv_object_exports(ba), 0);
    assert_int_equal(mv_bytearray_resize(ba, 10, &err), 0);

    /* A view holds one export for as long as it lives (or until release). */
    mv_view *v = mv_view_new(ba, &err);
    assert_non_null(v);
    mv_view *slice = mv_view_toreadonly(v, &err);
    assert_non_null(slice);
    assert_int_equal(mv_object_exports(ba), 1);
    assert_int_equal(mv_bytearray_resize(ba, 1, &err), MV_EBUFFER);
    mv_decref(mv_view_object(v));
    assert_int_equal(mv_bytearray_resize(ba, 1, &err), MV_EBUFFER); /* the copy still holds it */
    assert_int_equal(mv_view_release(slice, &err), 0);
    assert_int_equal(mv_bytearray_resize(ba, 1, &err), 0);
    mv_decref(mv_view_object(slice));
    size_t len;
    assert_memory_equal(mv_object_data(ba, &len), "X", 1);
    mv_decref(ba);
}

static void test_bytearray_resize_wrong_type(void **state)
{
    (void)state;
    mv_error err;
    mv_object *b = mv_bytes_new("ab", 2, &err);
    assert_int_equal(mv_bytearray_resize(b, 1, &err), MV_ETYPE);
    assert_non_null(strstr(err.message, "'bytes'"));
    assert_int_equal(mv_bytearray_resize(NULL, 1, &err), MV_ETYPE);
    mv_decref(b);
}

static void test_bytearray_nomem(void **state)
{
    (void)state;
    mv_object *ba;
    long n;
    SWEEP(ba, mv_bytearray_new("abc", 3, errp), &n);
    assert_int_equal(n, 2);
    /* A failed resize leaves the contents as they were. */
    long k;
    for (k = 0;; k++) {
        mv_error err;
        mv_error_clear(&err);
        mv_test_fail_after(k);
        int rc = mv_bytearray_resize(ba, 1000, &err);
        mv_test_fail_after(-1);
        if (rc == 0)
            break;
        assert_int_equal(rc, MV_ENOMEM);
        size_t len;
        assert_memory_equal(mv_object_data(ba, &len), "abc", 3);
        assert_int_equal(len, 3);
    }
    assert_int_equal(k, 1);
    size_t len;
    unsigned char *d = mv_object_data(ba, &len);
    assert_int_equal(len, 1000);
    assert_memory_equal(d, "abc", 3);
    assert_int_equal(d[999], 0);
    mv_decref(ba);
}

/* ------------------------------------------------------------------------ */
/* array                                                                      */

static void test_array_basic(void **state)
{
    (void)state;
    char fmt[4] = "i";
    mv_error err;
    mv_object *a = mv_array_new(fmt, 5, &err);
    assert_non_null(a);
    fmt[0] = 'd'; /* the array keeps its own copy */
    assert_string_equal(mv_object_type_name(a), "array");
    size_t len;
    int *data = mv_object_data(a, &len);
    assert_int_equal(len, 5 * sizeof(int));
    for (int i = 0; i < 5; i++)
        assert_int_equal(data[i], 0);

    mv_buffer view;
    assert_int_equal(mv_object_getbuffer(a, &view, MV_BUF_FULL, &err), 0);
    assert_ptr_equal(view.buf, data);
    assert_string_equal(view.format, "i");
    assert_int_equal(view.itemsize, (ptrdiff_t)sizeof(int));
    assert_int_equal(view.ndim, 1);
    assert_int_equal(view.shape[0], 5);
    assert_int_equal(view.strides[0], (ptrdiff_t)sizeof(int));
    assert_int_equal(view.len, 5 * (ptrdiff_t)sizeof(int));
    assert_int_equal(view.readonly, 0);
    assert_int_equal(mv_object_exports(a), 1);
    mv_buffer_release(&view);

    /* Requests answered as memoryview answers them. */
    assert_int_equal(mv_object_getbuffer(a, &view, MV_BUF_SIMPLE, &err), 0);
    assert_null(view.format);
    assert_null(view.shape);
    assert_int_equal(view.itemsize, (ptrdiff_t)sizeof(int));
    mv_buffer_release(&view);
    assert_int_equal(mv_object_getbuffer(a, &view, MV_BUF_FORMAT, &err), MV_EBUFFER);
    assert_string_equal(err.message,
                        "memoryview: cannot cast to unsigned bytes if the format flag is present");
    assert_int_equal(mv_object_getbuffer(a, &view, MV_BUF_F_CONTIGUOUS | MV_BUF_WRITABLE, &err),
                     0);
    mv_buffer_release(&view);
    assert_int_equal(mv_object_exports(a), 0);
    mv_decref(a);
}

static void test_array_formats(void **state)
{
    (void)state;
    mv_error err;
    mv_object *a = mv_array_new("T{h:a:d:b:}", 3, &err);
    assert_non_null(a);
    size_t len;
    assert_non_null(mv_object_data(a, &len));
    assert_int_equal(len, 3 * 16);
    mv_decref(a);
    a = mv_array_new("<q", 0, &err);
    assert_non_null(a);
    assert_non_null(mv_object_data(a, &len));
    assert_int_equal(len, 0);
    mv_decref(a);
    a = mv_array_new("3s", 2, &err);
    assert_non_null(a);
    mv_buffer view;
    assert_int_equal(mv_object_getbuffer(a, &view, MV_BUF_RECORDS_RO, &err), 0);
    assert_int_equal(view.itemsize, 3);
    assert_int_equal(view.len, 6);
    mv_buffer_release(&view);
    mv_decref(a);
}

static void test_array_hostile(void **state)
{
    (void)state;
    mv_error err;
    assert_null(mv_array_new("i", -1, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_null(mv_array_new("i", PTRDIFF_MIN, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_null(mv_array_new(NULL, 1, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_null(mv_array_new("g", 1, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_null(mv_array_new("T{i", 1, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_null(mv_array_new("", 1, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_null(mv_array_new("q", PTRDIFF_MAX / 4, &err));
    assert_int_equal(err.code, MV_EOVERFLOW);
    assert_null(mv_array_new("q", PTRDIFF_MAX, NULL));
}

static void test_array_nomem(void **state)
{
    (void)state;
    mv_object *a;
    long n;
    SWEEP(a, mv_array_new("T{i:x:d:y:}", 4, errp), &n);
    assert_true(n >= 3); /* object, format copy, data (+ the parse) */
    size_t len;
    assert_non_null(mv_object_data(a, &len));
    assert_int_equal(len, 4 * 16);
    mv_decref(a);
}

/* ------------------------------------------------------------------------ */
/* external                                                                   */

typedef struct release_log {
    int calls;
    void *mem;
} release_log;

static void log_release(void *ctx, void *mem)
{
    release_log *log = ctx;
    log->calls++;
    log->mem = mem;
}

static void test_external_release_once(void **state)
{
    (void)state;
    char mem[8] = "abcdefg";
    release_log log = {0};
    mv_error err;
    mv_object *x = mv_external_new(mem, 8, 0, log_release, &log, &err);
    assert_non_null(x);
    assert_string_equal(mv_object_type_name(x), "external");
    mv_buffer view;
    assert_int_equal(mv_object_getbuffer(x, &view, MV_BUF_FULL, &err), 0);
    assert_ptr_equal(view.buf, mem);
    assert_int_equal(view.len, 8);
    mv_view *v = mv_view_new(x, &err);
    assert_non_null(v);
    mv_decref(x); /* the caller's reference goes first */
    assert_int_equal(log.calls, 0);
    mv_buffer_release(&view);
    assert_int_equal(log.calls, 0);
    mv_decref(mv_view_object(v)); /* the last holder */
    assert_int_equal(log.calls, 1);
    assert_ptr_equal(log.mem, mem);
    /* Not an object with owned data. */
    size_t len = 5;
    mv_object *y = mv_external_new(mem, 8, 1, NULL, NULL, &err);
    assert_null(mv_object_data(y, &len));
    assert_int_equal(len, 0);
    assert_null(mv_object_data(NULL, &len));
    mv_decref(y); /* no callback: nothing to call */
}

static void test_external_readonly_and_hostile(void **state)
{
    (void)state;
    char mem[4];
    release_log log = {0};
    mv_error err;
    mv_object *x = mv_external_new(mem, 4, 1, log_release, &log, &err);
    mv_buffer view;
    assert_int_equal(mv_object_getbuffer(x, &view, MV_BUF_CONTIG, &err), MV_EBUFFER);
    assert_string_equal(err.message, "Object is not writable.");
    assert_int_equal(mv_object_getbuffer(x, &view, MV_BUF_CONTIG_RO, &err), 0);
    assert_int_equal(view.readonly, 1);
    mv_buffer_release(&view);
    mv_decref(x);
    assert_int_equal(log.calls, 1);

    /* Errors never call release. */
    log.calls = 0;
    assert_null(mv_external_new(mem, -1, 0, log_release, &log, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_null(mv_external_new(NULL, 4, 0, log_release, &log, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_null(mv_external_new_layout(NULL, log_release, &log, &err));
    assert_int_equal(err.code, MV_EVALUE);
    assert_int_equal(log.calls, 0);
    x = mv_external_new(NULL, 0, 0, log_release, &log, &err);
    assert_non_null(x);
    mv_decref(x);
    assert_int_equal(log.calls, 1);
}

static void test_external_layout(void **state)
{
    (void)state;
    /* A 2x3 Fortran-ordered int16 matrix with element (i, j) = 10*i + j. */
    int16_t mem[6] = {0, 10, 1, 11, 2, 12};
    ptrdiff_t shape[2] = {2, 3}, strides[2] = {2, 4};
    char fmt[4] = "h";
    mv_buffer layout = {.buf = mem, .len = 12, .itemsize = 2, .readonly = 0, .ndim = 2,
                        .format = fmt, .shape = shape, .strides = strides};
    release_log log = {0};
    mv_error err;
    mv_object *x = mv_external_new_layout(&layout, log_release, &log, &err);
    assert_non_null(x);
    /* Everything was copied. */
    fmt[0] = 'q';
    shape[0] = 99;
    strides[0] = 77;
    mv_buffer view;
    assert_int_equal(mv_object_getbuffer(x, &view, MV_BUF_FULL, &err), 0);
    assert_string_equal(view.format, "h");
    assert_int_equal(view.shape[0], 2);
    assert_int_equal(view.shape[1], 3);
    assert_int_equal(view.strides[0], 2);
    assert_int_equal(view.strides[1], 4);
    assert_null(view.suboffsets);
    ptrdiff_t idx[2] = {1, 2};
    assert_int_equal(*(int16_t *)mv_buffer_get_pointer(&view, idx, &err), 12);
    mv_buffer_release(&view);
    assert_int_equal(mv_object_getbuffer(x, &view, MV_BUF_C_CONTIGUOUS, &err), MV_EBUFFER);
    assert_string_equal(err.message, "memoryview: underlying buffer is not C-contiguous");
    assert_int_equal(mv_object_getbuffer(x, &view, MV_BUF_ND, &err), MV_EBUFFER);
    assert_int_equal(mv_object_getbuffer(x, &view, MV_BUF_F_CONTIGUOUS, &err), 0);
    mv_buffer_release(&view);
    assert_int_equal(mv_object_exports(x), 0);
    mv_decref(x);
    assert_int_equal(log.calls, 1);
    assert_ptr_equal(log.mem, mem);
}

static void test_external_layout_defaults(void **state)
{
    (void)state;
    int32_t mem[6] = {0, 1, 2, 3, 4, 5};
    ptrdiff_t shape[2] = {2, 3};
    mv_error err;
    /* No strides: C-contiguous strides are filled in. */
    mv_buffer l1 = {.buf = mem, .len = 24, .itemsize = 4, .ndim = 2, .format = "i",
                    .shape = shape};
    mv_object *x = mv_external_new_layout(&l1, NULL, NULL, &err);
    assert_non_null(x);
    mv_buffer view;
    assert_int_equal(mv_object_getbuffer(x, &view, MV_BUF_STRIDED_RO, &err), 0);
    assert_int_equal(view.strides[0], 12);
    assert_int_equal(view.strides[1], 4);
    assert_null(view.format);
    mv_buffer_release(&view);
    assert_int_equal(mv_object_getbuffer(x, &view, MV_BUF_CONTIG, &err), 0);
    mv_buffer_release(&view);
    mv_decref(x);
    /* No shape, 1-D: len / itemsize items. */
    mv_buffer l2 = {.buf = mem, .len = 24, .itemsize = 8, .ndim = 1, .format = "q"};
    x = mv_external_new_layout(&l2, NULL, NULL, &err);
    assert_non_null(x);
    assert_int_equal(mv_object_getbuffer(x, &view, MV_BUF_FULL_RO, &err), 0);
    assert_int_equal(view.shape[0], 3);
    assert_int_equal(view.strides[0], 8);
    mv_buffer_release(&view);
    mv_decref(x);
    /* 0-dim. */
    mv_buffer l3 = {.buf = mem, .len = 4, .itemsize = 4, .ndim = 0, .format = "i",
                    .readonly = 1};
    x = mv_external_new_layout(&l3, NULL, NULL, &err);
    assert_non_null(x);
    assert_int_equal(mv_object_getbuffer(x, &view, MV_BUF_FULL_RO, &err), 0);
    assert_int_equal(view.ndim, 0);
    assert_int_equal(view.len, 4);
    mv_buffer_release(&view);
    assert_int_equal(mv_object_getbuffer(x, &view, MV_BUF_FULL, &err), MV_EBUFFER);
    mv_decref(x);
}

static void test_external_layout_suboffsets(void **state)
{
    (void)state;
    char rows[2][5] = {"abcd", "wxyz"};
    char *ptrs[2] = {rows[1], rows[0]};
    ptrdiff_t shape[2] = {2, 3}, strides[2] = {sizeof(char *), 1}, subs[2] = {1, -1};
    mv_buffer l = {.buf = ptrs, .len = 6, .itemsize = 1, .ndim = 2, .format = "B",
                   .shape = shape, .strides = strides, .suboffsets = subs};
    mv_error err;
    mv_object *x = mv_external_new_layout(&l, NULL, NULL, &err);
    assert_non_null(x);
    subs[0] = 0;
    mv_buffer view;
    assert_int_equal(mv_object_getbuffer(x, &view, MV_BUF_STRIDED_RO, &err), MV_EBUFFER);
    assert_string_equal(err.message, "memoryview: underlying buffer requires suboffsets");
    assert_int_equal(mv_object_getbuffer(x, &view, MV_BUF_FULL_RO, &err), 0);
    assert_int_equal(view.suboffsets[0], 1);
    unsigned char out[6];
    assert_int_equal(mv_buffer_to_contiguous(out, &view, 6, 'C', &err), 0);
    assert_memory_equal(out, "xyzbcd", 6);
    mv_buffer_release(&view);
    mv_decref(x);
}

static void test_external_layout_invalid(void **state)
{
    (void)state;
    char mem[24];
    ptrdiff_t shape[2] = {2, 3}, strides[2] = {12, 4};
    mv_buffer ok = {.buf = mem, .len = 24, .itemsize = 4, .ndim = 2, .format = "i",
                    .shape = shape, .strides = strides};
    release_log log = {0};
    mv_error err;
    mv_buffer l = ok;
    l.len = 23;
    assert_null(mv_external_new_layout(&l, log_release, &log, &err));
    assert_int_equal(err.code, MV_EVALUE);
    l = ok;
    l.format = "d";
    assert_null(mv_external_new_layout(&l, log_release, &log, &err));
    assert_int_equal(err.code, MV_EVALUE);
    l = ok;
    l.format = "?!";
    assert_null(mv_external_new_layout(&l, log_release, &log, &err));
    assert_int_equal(err.code, MV_EVALUE);
    l = ok;
    l.ndim = 65;
    assert_null(mv_external_new_layout(&l, log_release, &log, &err));
    assert_string_equal(err.message, "memoryview: number of dimensions must not exceed 64");
    l.ndim = -1;
    assert_null(mv_external_new_layout(&l, log_release, &log, &err));
    l = ok;
    l.shape = NULL;
    assert_null(mv_external_new_layout(&l, log_release, &log, &err));
    assert_int_equal(err.code, MV_EVALUE);
    l = ok;
    l.ndim = 1;
    l.shape = NULL;
    l.itemsize = 0;
    l.format = NULL;
    assert_null(mv_external_new_layout(&l, log_release, &log, &err));
    assert_int_equal(err.code, MV_EVALUE);
    l = ok;
    l.buf = NULL;
    assert_null(mv_external_new_layout(&l, log_release, &log, &err));
    ptrdiff_t neg[2] = {-2, -3};
    l = ok;
    l.shape = neg;
    assert_null(mv_external_new_layout(&l, log_release, &log, &err));
    ptrdiff_t huge[2] = {PTRDIFF_MAX / 2, 3};
    l = ok;
    l.shape = huge;
    l.strides = NULL;
    assert_null(mv_external_new_layout(&l, log_release, &log, &err));
    assert_int_equal(err.code, MV_EOVERFLOW);
    ptrdiff_t hs[2] = {PTRDIFF_MAX, 4};
    l = ok;
    l.strides = hs;
    assert_null(mv_external_new_layout(&l, log_release, &log, &err));
    assert_int_equal(err.code, MV_EOVERFLOW);
    assert_int_equal(log.calls, 0);
}

static void test_external_nomem(void **state)
{
    (void)state;
    char mem[8];
    release_log log = {0};
    mv_object *x;
    long n;
    SWEEP(x, mv_external_new(mem, 8, 0, log_release, &log, errp), &n);
    assert_int_equal(n, 1);
    assert_int_equal(log.calls, 0);
    mv_decref(x);
    assert_int_equal(log.calls, 1);

    int32_t data[6];
    ptrdiff_t shape[2] = {2, 3};
    mv_buffer l = {.buf = data, .len = 24, .itemsize = 4, .ndim = 2, .format = "T{h:a:h:b:}",
                   .shape = shape};
    log.calls = 0;
    SWEEP(x, mv_external_new_layout(&l, log_release, &log, errp), &n);
    assert_true(n >= 3); /* object, arrays, format (+ the format check) */
    assert_int_equal(log.calls, 0);
    mv_buffer view;
    assert_int_equal(mv_object_getbuffer(x, &view, MV_BUF_FULL, NULL), 0);
    assert_int_equal(view.strides[1], 4);
    mv_buffer_release(&view);
    mv_decref(x);
    assert_int_equal(log.calls, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes_basic),
        cmocka_unit_test(test_bytes_empty_and_hostile),
        cmocka_unit_test(test_bytes_nomem),
        cmocka_unit_test(test_bytearray_basic),
        cmocka_unit_test(test_bytearray_resize),
        cmocka_unit_test(test_bytearray_export_lock),
        cmocka_unit_test(test_bytearray_resize_wrong_type),
        cmocka_unit_test(test_bytearray_nomem),
        cmocka_unit_test(test_array_basic),
        cmocka_unit_test(test_array_formats),
        cmocka_unit_test(test_array_hostile),
        cmocka_unit_test(test_array_nomem),
        cmocka_unit_test(test_external_release_once),
        cmocka_unit_test(test_external_readonly_and_hostile),
        cmocka_unit_test(test_external_layout),
        cmocka_unit_test(test_external_layout_defaults),
        cmocka_unit_test(test_external_layout_suboffsets),
        cmocka_unit_test(test_external_layout_invalid),
        cmocka_unit_test(test_external_nomem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
