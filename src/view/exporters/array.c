/* array: `count` zeroed items of any format, 1-D and writable, answering
 * requests as memoryview does (like array.array, which exports through
 * the same rules). */
#include "../view.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>


typedef struct mv_array {
    mv_object ob;
    mv_buffer full; /* the complete descriptor requests are answered from */
    ptrdiff_t shape[1];
    ptrdiff_t strides[1];
    char *format;
    unsigned char *data;
} mv_array;

static int array_getbuffer(mv_object *self, mv_buffer *view, int flags, mv_error *err)
{
    mv_array *a = (mv_array *)self;
    return mv_buffer_answer(view, &a->full, self, flags, err);
}

static void array_destroy(mv_object *self)
{
    mv_array *a = (mv_array *)self;
    free(a->data);
    free(a->format);
    free(a);
}

static void *array_data(mv_object *self, size_t *len, int *readonly)
{
    mv_array *a = (mv_array *)self;
    *len = (size_t)a->full.len;
    *readonly = a->full.readonly;
    return a->data;
}

static const mv_type array_type = {
    .name = "array",
    .getbuffer = array_getbuffer,
    .releasebuffer = NULL,
    .destroy = array_destroy,
    .data = array_data,
};

mv_object *mv_array_new(const char *format, ptrdiff_t count, mv_error *err)
{
    if (!format) {
        mv_error_set(err, MV_EVALUE, "array: format must not be NULL");
        return NULL;
    }
    if (count < 0) {
        mv_error_set(err, MV_EVALUE, "array: count must be >= 0, not %td", count);
        return NULL;
    }
    mv_format fmt;
    if (mv_format_parse(&fmt, format, err) < 0)
        return NULL;
    ptrdiff_t itemsize = fmt.itemsize;
    mv_format_clear(&fmt);
    if (itemsize <= 0) {
        mv_error_set(err, MV_EVALUE, "array: format '%s' has item size %td", format, itemsize);
        return NULL;
    }
    ptrdiff_t nbytes;
    if (mv_mul_overflow(count, itemsize, &nbytes)) {
        mv_error_set(err, MV_EOVERFLOW, "array: %td items of format '%s' overflow", count, format);
        return NULL;
    }
    size_t flen = strlen(format) + 1;
    mv_array *a = malloc(sizeof *a);
    char *fcopy = malloc(flen);
    unsigned char *data = calloc(nbytes > 0 ? (size_t)nbytes : 1, 1);
    if (!a || !fcopy || !data) {
        free(a);
        free(fcopy);
        free(data);
        mv_error_set(err, MV_ENOMEM, "array: cannot allocate %td bytes", nbytes);
        return NULL;
    }
    memcpy(fcopy, format, flen);
    mv_object_init(&a->ob, &array_type);
    a->format = fcopy;
    a->data = data;
    a->shape[0] = count;
    a->strides[0] = itemsize;
    a->full = (mv_buffer){.buf = data,
                          .obj = NULL,
                          .len = nbytes,
                          .itemsize = itemsize,
                          .readonly = 0,
                          .ndim = 1,
                          .format = fcopy,
                          .shape = a->shape,
                          .strides = a->strides,
                          .suboffsets = NULL,
                          .internal = NULL};
    return &a->ob;
}
