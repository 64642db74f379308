/* bytearray: writable, resizable bytes with CPython's export lock: no
 * resize while any buffer of it is unreleased. */
#include "../view.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct mv_bytearray {
    mv_object ob;
    unsigned char *data; /* never NULL, so an empty buffer has an address */
    size_t len;
} mv_bytearray;

static int bytearray_getbuffer(mv_object *self, mv_buffer *view, int flags, mv_error *err)
{
    mv_bytearray *b = (mv_bytearray *)self;
    return mv_buffer_fill_info(view, self, b->data, (ptrdiff_t)b->len, 0, flags, err);
}

static void *bytearray_data(mv_object *self, size_t *len, int *readonly)
{
    mv_bytearray *b = (mv_bytearray *)self;
    *len = b->len;
    *readonly = 0;
    return b->data;
}

static void bytearray_destroy(mv_object *self)
{
    mv_bytearray *b = (mv_bytearray *)self;
    free(b->data);
    free(b);
}

static const mv_type bytearray_type = {
    .name = "bytearray",
    .getbuffer = bytearray_getbuffer,
    .releasebuffer = NULL,
    .destroy = bytearray_destroy,
    .data = bytearray_data,
    .flags = MV_TYPE_FILL_INFO,
};

mv_object *mv_bytearray_new(const void *data, size_t len, mv_error *err)
{
    if (len > (size_t)PTRDIFF_MAX - 1) {
        mv_error_set(err, MV_EOVERFLOW, "bytearray: length %zu is too large", len);
        return NULL;
    }
    mv_bytearray *b = malloc(sizeof *b);
    if (!b) {
        mv_error_set(err, MV_ENOMEM, "bytearray: cannot allocate the object");
        return NULL;
    }
    b->data = malloc(len > 0 ? len : 1);
    if (!b->data) {
        free(b);
        mv_error_set(err, MV_ENOMEM, "bytearray: cannot allocate %zu bytes", len);
        return NULL;
    }
    if (data && len > 0)
        memcpy(b->data, data, len);
    else if (len > 0)
        memset(b->data, 0, len);
    b->len = len;
    mv_object_init(&b->ob, &bytearray_type);
    return &b->ob;
}

int mv_bytearray_resize(mv_object *obj, size_t newlen, mv_error *err)
{
    if (!obj || obj->type != &bytearray_type)
        return mv_error_set(err, MV_ETYPE, "resize: a bytearray is required, not '%s'",
                            mv_object_type_name(obj));
    mv_bytearray *b = (mv_bytearray *)obj;
    if (mv_object_exports(obj) > 0)
        return mv_error_set(err, MV_EBUFFER, "Existing exports of data: object cannot be re-sized");
    if (newlen > (size_t)PTRDIFF_MAX - 1)
        return mv_error_set(err, MV_EOVERFLOW, "bytearray: length %zu is too large", newlen);
    unsigned char *p = realloc(b->data, newlen > 0 ? newlen : 1);
    if (!p)
        return mv_error_set(err, MV_ENOMEM, "bytearray: cannot resize to %zu bytes", newlen);
    if (newlen > b->len)
        memset(p + b->len, 0, newlen - b->len);
    b->data = p;
    b->len = newlen;
    return 0;
}
