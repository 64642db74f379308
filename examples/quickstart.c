/* quickstart: the seed documents' memoryview examples, done in C with
 * libmemview, then a 2-D image view sliced without a copy. */
#include <memview.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, const mv_error *err)
{
    fprintf(stderr, "quickstart: %s: %s: %s\n", what, mv_error_name(err->code), err->message);
    return 1;
}

static void print_bytes(const char *label, const void *data, size_t len)
{
    printf("%s b'%.*s'\n", label, (int)len, (const char *)data);
}

static int seed_examples(void)
{
    mv_error err;
    mv_object *byte_array = mv_bytearray_new("XYZ", 3, &err);
    if (!byte_array)
        return fail("bytearray", &err);
    size_t len;
    print_bytes("bytearray before update:", mv_object_data(byte_array, &len), 3);

    mv_view *mem_view = mv_view_new(byte_array, &err);
    if (!mem_view)
        return fail("view", &err);

    /* mv[0] */
    ptrdiff_t index = 0;
    mv_value item;
    if (mv_view_get_item(mem_view, &index, 1, &item, 1, &err) < 0)
        return fail("item 0", &err);
    printf("mv[0]                    %llu\n", (unsigned long long)item.v.u);

    /* bytes(mv[0:1]) */
    mv_key first = {.kind = MV_KEY_SLICE, .start = 0, .stop = 1, .has_start = true, .has_stop = true};
    mv_view *slice = mv_view_subscript(mem_view, &first, 1, &err);
    if (!slice)
        return fail("slice", &err);
    size_t n;
    char *bytes = mv_view_tobytes(slice, 'C', &n, &err);
    if (!bytes)
        return fail("tobytes", &err);
    print_bytes("bytes(mv[0:1])          ", bytes, n);
    free(bytes);
    mv_decref(mv_view_object(slice));

    /* mv[2] = 74 writes through to the bytearray */
    index = 2;
    mv_value j = {.kind = MV_VALUE_UNSIGNED, .v.u = 74};
    if (mv_view_set_item(mem_view, &index, 1, &j, 1, &err) < 0)
        return fail("set item", &err);
    print_bytes("bytearray after mv[2]=74:", mv_object_data(byte_array, &len), len);

    bytes = mv_view_tobytes(mem_view, 'C', &n, &err);
    if (!bytes)
        return fail("tobytes", &err);
    print_bytes("bytes(mv)               ", bytes, n);
    free(bytes);

    /* The export lock: the bytearray cannot change size while viewed. */
    if (mv_bytearray_resize(byte_array, 10, &err) < 0)
        printf("resize while viewed       %s: %s\n", mv_error_name(err.code), err.message);
    mv_decref(mv_view_object(mem_view));
    if (mv_bytearray_resize(byte_array, 10, &err) == 0)
        printf("resize after the view     ok, %zu bytes\n", (size_t)10);
    mv_decref(byte_array);
    return 0;
}

static int image_example(void)
{
    /* A 4x6 grey image; pixel (r, c) holds 10 * r + c. */
    enum { ROWS = 4, COLS = 6 };
    unsigned char pixels[ROWS * COLS];
    for (int r = 0; r < ROWS; r++)
        for (int c = 0; c < COLS; c++)
            pixels[r * COLS + c] = (unsigned char)(10 * r + c);

    mv_error err;
    mv_object *image = mv_external_new(pixels, sizeof pixels, 0, NULL, NULL, &err);
    if (!image)
        return fail("external", &err);
    mv_view *flat = mv_view_new(image, &err);
    mv_decref(image); /* the view keeps it alive */
    if (!flat)
        return fail("view", &err);
    ptrdiff_t shape[2] = {ROWS, COLS};
    mv_view *grid = mv_view_cast(flat, "B", shape, 2, 0, &err);
    mv_decref(mv_view_object(flat));
    if (!grid)
        return fail("cast", &err);

    char *text = mv_view_tolist_text(grid, NULL, &err);
    if (!text)
        return fail("tolist", &err);
    printf("\nimage (4x6 'B')          %s\n", text);
    free(text);

    mv_key keys[2];
    int nkeys;
    if (mv_subscript_parse("[::2, ::-1]", keys, 2, &nkeys, &err) < 0)
        return fail("parse", &err);
    mv_view *sub = mv_view_subscript(grid, keys, nkeys, &err);
    if (!sub)
        return fail("subscript", &err);
    const mv_buffer *b = mv_view_buffer(sub, &err);
    text = mv_view_tolist_text(sub, NULL, &err);
    if (!b || !text)
        return fail("sub-view", &err);
    printf("image[::2, ::-1]         %s\n", text);
    printf("  shape (%td, %td), strides (%td, %td), first pixel at offset %td: no copy\n",
           b->shape[0], b->shape[1], b->strides[0], b->strides[1],
           (const unsigned char *)b->buf - pixels);
    free(text);

    /* Writing through the sub-view changes the image itself. */
    ptrdiff_t at[2] = {0, 0};
    mv_value white = {.kind = MV_VALUE_UNSIGNED, .v.u = 255};
    if (mv_view_set_item(sub, at, 2, &white, 1, &err) < 0)
        return fail("set", &err);
    printf("sub[0, 0] = 255          image[0, 5] is now %d\n", pixels[5]);

    mv_decref(mv_view_object(sub));
    mv_decref(mv_view_object(grid));
    return 0;
}

int main(void)
{
    return seed_examples() || image_example();
}
