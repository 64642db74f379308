/* bytes: an immutable private copy, stored inline after the header (one
 * allocation).  Also home of mv_object_data, which asks the object's type. */
#include "../view.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct mv_bytes {
    mv_object ob;
    size_t len;
    unsigned char data[];
} mv_bytes;

static int bytes_getbuffer(mv_object *self, mv_buffer *view, int flags, mv_error *err)
{
    mv_bytes *b = (mv_bytes *)self;
    return mv_buffer_fill_info(view, self, b->data, (ptrdiff_t)b->len, 1, flags, err);
}

static void *bytes_data(mv_object *self, size_t *len, int *readonly)
{
    mv_bytes *b = (mv_bytes *)self;
    *len = b->len;
    *readonly = 1;
    return b->data;
}

static void bytes_destroy(mv_object *self)
{
    free(self);
}

static const mv_type bytes_type = {
    .name = "bytes",
    .getbuffer = bytes_getbuffer,
    .releasebuffer = NULL,
    .destroy = bytes_destroy,
    .data = bytes_data,
    .flags = MV_TYPE_FILL_INFO,
};

mv_object *mv_bytes_new(const void *data, size_t len, mv_error *err)
{
    if (!data && len > 0) {
        mv_error_set(err, MV_EVALUE, "bytes: data is NULL but len is %zu", len);
        return NULL;
    }
    /* Buffer lengths are ptrdiff_t; the header must fit on top. */
    if (len > (size_t)PTRDIFF_MAX - sizeof(mv_bytes) - 1) {
        mv_error_set(err, MV_EOVERFLOW, "bytes: length %zu is too large", len);
        return NULL;
    }
    mv_bytes *b = malloc(sizeof(mv_bytes) + len + 1);
    if (!b) {
        mv_error_set(err, MV_ENOMEM, "bytes: cannot allocate %zu bytes", len);
        return NULL;
    }
    mv_object_init(&b->ob, &bytes_type);
    b->len = len;
    if (len > 0)
        memcpy(b->data, data, len);
    b->data[len] = 0;
    return &b->ob;
}

void *mv_object_data(mv_object *obj, size_t *len)
{
    size_t dummy;
    if (!len)
        len = &dummy;
    *len = 0;
    if (!obj || !obj->type || !obj->type->data)
        return NULL;
    int readonly = 0;
    void *p = obj->type->data(obj, len, &readonly);
    if (!p)
        *len = 0;
    return p;
}
