/* mview's outputs, all but --set: buffered output on a descriptor, the
 * C-order streaming of a view's bytes and hex in chunks (the library's
 * ranged output), --dump, --list and --json (mv_view_traverse), --hex,
 * --raw, --info and --find.
 *
 * Nothing proportional to the selection is allocated: the byte and hex
 * outputs write the view in chunks of at most CHUNK bytes, --list and
 * --json a value at a time.  Every byte read from the view goes through
 * a memory copy, never straight to write(2): reading a mapping whose file
 * shrank must raise the SIGBUS that main.c reports. */
#include "mview.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ *
 * Buffered output on a descriptor.  A failed write sets `error` (errno)
 * and every later write fails at once, so the walks stop.
 * ------------------------------------------------------------------------ */

int out_flush(out *o)
{
    size_t done = 0;
    while (done < o->n && !o->error) {
        ssize_t w = write(o->fd, o->buf + done, o->n - done);
        if (w < 0) {
            if (errno != EINTR)
                o->error = errno;
        } else {
            done += (size_t)w;
        }
    }
    o->n = 0;
    return o->error ? -1 : 0;
}

/* Always through the buffer: write(2) straight from a mapping would turn
 * a truncated file into EFAULT instead of the SIGBUS we report. */
int out_write(out *o, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        if (o->error)
            return -1;
        if (o->n == OUT_BUF && out_flush(o) < 0)
            return -1;
        size_t k = OUT_BUF - o->n < n ? OUT_BUF - o->n : n;
        memcpy(o->buf + o->n, p, k);
        o->n += k;
        p += k;
        n -= k;
    }
    return o->error ? -1 : 0;
}

int out_puts(out *o, const char *s)
{
    return out_write(o, s, strlen(s));
}

int out_printf(out *o, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    return out_write(o, text, (size_t)n < sizeof text ? (size_t)n : sizeof text - 1);
}

/* Standard output, which --raw refuses when it is a terminal, or the -w
 * file, which must not be the mapped input. */
int open_output(app *a)
{
    const options *o = &a->opt;
    a->o->fd = STDOUT_FILENO;
    a->o->name = "standard output";
    if (!o->write_path) {
        if (o->mode == MODE_RAW && isatty(STDOUT_FILENO))
            return report(EXIT_USAGE, "--raw: refusing to write binary to a terminal (redirect "
                                      "standard output or use -w FILE)");
        return 0;
    }
    struct stat in, ws;
    if (a->mapped && stat(o->file, &in) == 0 && stat(o->write_path, &ws) == 0 &&
        in.st_dev == ws.st_dev && in.st_ino == ws.st_ino)
        return report(EXIT_DATA, "-w '%s' is the input file", o->write_path);
    int fd = open(o->write_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0666);
    if (fd < 0)
        return report(EXIT_DATA, "-w '%s': %s", o->write_path, strerror(errno));
    a->o->fd = fd;
    a->o->name = o->write_path;
    a->out_opened = true;
    return 0;
}

/* ------------------------------------------------------------------------ *
 * C-order output of a view, in chunks of whole items of at most CHUNK bytes
 * (one item when an item is larger): the library's ranged output
 * (mv_view_tobytes_range, mv_view_hex_range_into) writes each chunk.
 * ------------------------------------------------------------------------ */

typedef int (*sink_fn)(void *ctx, const unsigned char *p, size_t n);

typedef struct streamer {
    void *buf; /* one chunk's bytes or text */
    ptrdiff_t cap;
    ptrdiff_t items, per; /* items in the view; items per chunk */
    ptrdiff_t itemsize;
} streamer;

/* The view's item count and the chunk size; the buffer, of `room` bytes
 * per chunk byte plus one, stays in s (freed with the run state). */
static int stream_init(streamer *s, mv_view *v, ptrdiff_t room, mv_error *err)
{
    const mv_buffer *b = mv_view_buffer(v, err);
    if (!b)
        return err->code;
    s->itemsize = b->itemsize;
    s->items = b->itemsize > 0 ? b->len / b->itemsize : 0;
    s->per = b->itemsize >= CHUNK ? 1 : CHUNK / (b->itemsize > 0 ? b->itemsize : 1);
    if (s->per > s->items)
        s->per = s->items > 0 ? s->items : 1;
    if (s->per * s->itemsize > (PTRDIFF_MAX - 1) / room)
        return mv_error_set(err, MV_ENOMEM, "out of memory");
    s->cap = s->per * s->itemsize * room + 1;
    s->buf = malloc((size_t)s->cap);
    if (!s->buf)
        return mv_error_set(err, MV_ENOMEM, "out of memory");
    return 0;
}

/* The view's bytes, chunk by chunk, to sink. */
static int stream_bytes(streamer *s, mv_view *v, sink_fn sink, void *ctx, mv_error *err)
{
    int rc = stream_init(s, v, 1, err);
    for (ptrdiff_t i = 0; rc == 0 && i < s->items; i += s->per) {
        ptrdiff_t k = s->items - i < s->per ? s->items - i : s->per;
        rc = mv_view_tobytes_range(v, i, k, s->buf, s->cap, err);
        if (rc == 0 && k * s->itemsize > 0)
            rc = sink(ctx, s->buf, (size_t)(k * s->itemsize));
    }
    return rc;
}

/* ------------------------------------------------------------------------ *
 * --dump: xxd's default layout
 * ------------------------------------------------------------------------ */

static const char hex_digits[] = "0123456789abcdef";

typedef struct dumper {
    out *o;
    uintmax_t addr;
    int n;
    unsigned char line[16];
} dumper;

static int dump_line(dumper *d)
{
    char text[128];
    /* At most 16 + 2 characters: the bound tells the compiler too. */
    int k = snprintf(text, 32, "%08jx: ", d->addr) & 31;
    int n = d->n < 16 ? d->n : 16;
    for (int j = 0; j < 16; j++) {
        if (j < n) {
            text[k++] = hex_digits[d->line[j] >> 4];
            text[k++] = hex_digits[d->line[j] & 15];
        } else {
            text[k++] = ' ';
            text[k++] = ' ';
        }
        if (j % 2 == 1 && j < 15)
            text[k++] = ' ';
    }
    text[k++] = ' ';
    text[k++] = ' ';
    for (int j = 0; j < n; j++) {
        unsigned char c = d->line[j];
        text[k++] = c >= 0x20 && c < 0x7f ? (char)c : '.';
    }
    text[k++] = '\n';
    d->addr += (uintmax_t)d->n;
    d->n = 0;
    return out_write(d->o, text, (size_t)k) < 0 ? STOP_OUTPUT : 0;
}

static int dump_sink(void *ctx, const unsigned char *p, size_t n)
{
    dumper *d = ctx;
    for (size_t i = 0; i < n; i++) {
        d->line[d->n++] = p[i];
        if (d->n == 16) {
            int rc = dump_line(d);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------ *
 * --list and --json through mv_view_traverse
 * ------------------------------------------------------------------------ */

typedef struct lister {
    out *o;
    bool json;
    bool tuple; /* items print as tuples / arrays */
    bool need_comma;
} lister;

static int list_comma(lister *l)
{
    if (!l->need_comma)
        return 0;
    l->need_comma = false;
    return out_write(l->o, ", ", 2);
}

static int list_begin(void *ctx, int depth)
{
    lister *l = ctx;
    (void)depth;
    if (list_comma(l) < 0 || out_write(l->o, "[", 1) < 0)
        return STOP_OUTPUT;
    return 0;
}

static int list_end(void *ctx, int depth)
{
    lister *l = ctx;
    (void)depth;
    l->need_comma = true;
    return out_write(l->o, "]", 1) < 0 ? STOP_OUTPUT : 0;
}

/* Python's repr of bytes: single quotes unless they hold ' and no ". */
static int put_bytes_repr(out *o, const unsigned char *b, size_t n)
{
    bool squote = memchr(b, '\'', n) != NULL, dquote = memchr(b, '"', n) != NULL;
    char quote = squote && !dquote ? '"' : '\'';
    char q[2] = {'b', quote};
    if (out_write(o, q, 2) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = b[i];
        char e[4];
        size_t k = 0;
        if (c == (unsigned char)quote || c == '\\') {
            e[k++] = '\\';
            e[k++] = (char)c;
        } else if (c == '\t' || c == '\n' || c == '\r') {
            e[k++] = '\\';
            e[k++] = c == '\t' ? 't' : c == '\n' ? 'n' : 'r';
        } else if (c < ' ' || c >= 0x7f) {
            e[k++] = '\\';
            e[k++] = 'x';
            e[k++] = hex_digits[c >> 4];
            e[k++] = hex_digits[c & 15];
        } else {
            e[k++] = (char)c;
        }
        if (out_write(o, e, k) < 0)
            return -1;
    }
    return out_write(o, &quote, 1);
}

/* JSON string of bytes, one character per byte (U+0000 .. U+00FF). */
static int put_bytes_json(out *o, const unsigned char *b, size_t n)
{
    if (out_write(o, "\"", 1) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = b[i];
        char e[8];
        size_t k = 0;
        if (c == '"' || c == '\\') {
            e[k++] = '\\';
            e[k++] = (char)c;
        } else if (c == '\n' || c == '\t' || c == '\r') {
            e[k++] = '\\';
            e[k++] = c == '\t' ? 't' : c == '\n' ? 'n' : 'r';
        } else if (c < ' ' || c >= 0x7f) {
            k = (size_t)snprintf(e, sizeof e, "\\u%04x", c);
        } else {
            e[k++] = (char)c;
        }
        if (out_write(o, e, k) < 0)
            return -1;
    }
    return out_write(o, "\"", 1);
}

/* repr of a complex part: the float repr without the ".0" it adds to
 * integral values (CPython formats the parts with 'r' and no flags). */
static void complex_part(double x, bool sign, char *dst)
{
    char r[48];
    int n = mv_double_repr(x, r, sizeof r);
    if (n >= 2 && r[n - 2] == '.' && r[n - 1] == '0' && !strchr(r, 'e'))
        r[n - 2] = '\0';
    if (sign && r[0] != '-')
        snprintf(dst, 50, "+%s", r);
    else
        snprintf(dst, 50, "%s", r);
}

static int put_double_json(out *o, double x)
{
    char r[48];
    if (x != x || x - x != 0)
        return out_puts(o, "null");
    mv_double_repr(x, r, sizeof r);
    return out_puts(o, r);
}

/* A complex value: Python's repr, or [re, im] in JSON. */
static int put_complex(lister *l, double re, double im)
{
    out *o = l->o;
    if (l->json) {
        if (out_write(o, "[", 1) < 0 || put_double_json(o, re) < 0 || out_write(o, ", ", 2) < 0 ||
            put_double_json(o, im) < 0)
            return -1;
        return out_write(o, "]", 1);
    }
    char num[112], a[50], b[50];
    /* Python: "2j" when the real part is +0.0, else "(re+imj)". */
    if (re == 0 && !signbit(re)) {
        complex_part(im, false, b);
        snprintf(num, sizeof num, "%sj", b);
    } else {
        complex_part(re, false, a);
        complex_part(im, true, b);
        snprintf(num, sizeof num, "(%s%sj)", a, b);
    }
    return out_puts(o, num);
}

/* A character (u, w) as a JSON string: escapes for quotes, backslash and
 * controls; the rest as \uXXXX (surrogate pairs above the BMP), always
 * valid ASCII; null when it is no code point. */
static int put_char_json(out *o, uint64_t c)
{
    char num[112];
    if (c == '"' || c == '\\')
        snprintf(num, sizeof num, "\"\\%c\"", (char)c);
    else if (c >= 0x20 && c < 0x7f)
        snprintf(num, sizeof num, "\"%c\"", (char)c);
    else if (c < 0x10000)
        snprintf(num, sizeof num, "\"\\u%04x\"", (unsigned)c);
    else if (c <= 0x10ffff)
        snprintf(num, sizeof num, "\"\\u%04x\\u%04x\"", (unsigned)(0xd800 + ((c - 0x10000) >> 10)),
                 (unsigned)(0xdc00 + ((c - 0x10000) & 0x3ff)));
    else
        return out_puts(o, "null");
    return out_puts(o, num);
}

static int put_value(lister *l, const mv_value *v)
{
    char num[112];
    out *o = l->o;
    switch (v->kind) {
    case MV_VALUE_BOOL:
        return out_puts(o, l->json ? (v->v.b ? "true" : "false") : (v->v.b ? "True" : "False"));
    case MV_VALUE_SIGNED:
        snprintf(num, sizeof num, "%" PRId64, v->v.i);
        return out_puts(o, num);
    case MV_VALUE_UNSIGNED:
        snprintf(num, sizeof num, "%" PRIu64, v->v.u);
        return out_puts(o, num);
    case MV_VALUE_DOUBLE:
        if (l->json)
            return put_double_json(o, v->v.d);
        mv_double_repr(v->v.d, num, sizeof num);
        return out_puts(o, num);
    case MV_VALUE_COMPLEX:
        return put_complex(l, v->v.c.re, v->v.c.im);
    case MV_VALUE_BYTES:
        return l->json ? put_bytes_json(o, v->v.bytes.ptr, v->v.bytes.len)
                       : put_bytes_repr(o, v->v.bytes.ptr, v->v.bytes.len);
    case MV_VALUE_CHAR:
        if (l->json)
            return put_char_json(o, v->v.u);
        mv_char_repr((uint32_t)v->v.u, num, sizeof num);
        return out_puts(o, num);
    default:
        return out_puts(o, l->json ? "null" : "None");
    }
}

static int list_item(void *ctx, const mv_value *values, ptrdiff_t nvalues)
{
    lister *l = ctx;
    if (list_comma(l) < 0)
        return STOP_OUTPUT;
    l->need_comma = true;
    if (!l->tuple)
        return put_value(l, &values[0]) < 0 ? STOP_OUTPUT : 0;
    if (out_write(l->o, l->json ? "[" : "(", 1) < 0)
        return STOP_OUTPUT;
    for (ptrdiff_t i = 0; i < nvalues; i++) {
        if (i > 0 && out_write(l->o, ", ", 2) < 0)
            return STOP_OUTPUT;
        if (put_value(l, &values[i]) < 0)
            return STOP_OUTPUT;
    }
    if (!l->json && nvalues == 1 && out_write(l->o, ",", 1) < 0)
        return STOP_OUTPUT;
    return out_write(l->o, l->json ? "]" : ")", 1) < 0 ? STOP_OUTPUT : 0;
}

/* ------------------------------------------------------------------------ *
 * --hex: hex(), chunk by chunk, the separators where the whole text has them
 * ------------------------------------------------------------------------ */

static int stream_hex(streamer *s, mv_view *v, char sep, int per, out *o, mv_error *err)
{
    /* Two digits and at most one separator per byte. */
    int rc = stream_init(s, v, 3, err);
    for (ptrdiff_t i = 0; rc == 0 && i < s->items; i += s->per) {
        ptrdiff_t k = s->items - i < s->per ? s->items - i : s->per;
        ptrdiff_t len = mv_view_hex_range_length(v, i, k, sep, per, err);
        if (len < 0)
            return err->code;
        rc = mv_view_hex_range_into(v, i, k, s->buf, s->cap, sep, per, err);
        if (rc == 0 && out_write(o, s->buf, (size_t)len) < 0)
            rc = STOP_OUTPUT;
    }
    return rc;
}

/* ------------------------------------------------------------------------ *
 * --raw, --info, --find
 * ------------------------------------------------------------------------ */

static int raw_sink(void *ctx, const unsigned char *p, size_t n)
{
    return out_write(ctx, p, n) < 0 ? STOP_OUTPUT : 0;
}

/* File offset of the lowest byte the view touches (of its start when it
 * has no items: then its strides may be anything). */
static intmax_t view_file_offset(const app *a, const mv_buffer *b)
{
    const unsigned char *lo = b->buf;
    bool empty = false;
    for (int i = 0; i < b->ndim; i++)
        empty |= b->shape[i] == 0;
    for (int i = 0; i < b->ndim && !empty; i++)
        if (b->strides[i] < 0)
            lo += b->strides[i] * (b->shape[i] - 1);
    if (!lo || !a->base)
        return a->opt.offset;
    return (intmax_t)a->opt.offset + (lo - a->base);
}

static int put_tuple(out *o, const char *key, const ptrdiff_t *v, int n)
{
    if (out_printf(o, "%s: (", key) < 0)
        return -1;
    for (int i = 0; i < n; i++)
        if (out_printf(o, i ? ", %td" : "%td", v[i]) < 0)
            return -1;
    return out_puts(o, n == 1 ? ",)\n" : ")\n");
}

/* One 'key: value' a line; the output's own errors stop nothing here:
 * they show in a->o->error when run flushes. */
int output_info(app *a, const mv_buffer *b)
{
    out *o = a->o;
    int c = mv_view_is_contiguous(a->view, 'C', NULL) == 1;
    int f = mv_view_is_contiguous(a->view, 'F', NULL) == 1;
    const char *contig = c && f ? "both" : c ? "C" : f ? "F" : "none";
    out_puts(o, "file: ");
    out_puts(o, a->opt.file);
    out_puts(o, "\n");
    out_printf(o, "format: %s\n", b->format);
    out_printf(o, "itemsize: %td\n", b->itemsize);
    out_printf(o, "ndim: %d\n", b->ndim);
    put_tuple(o, "shape", b->shape, b->ndim);
    put_tuple(o, "strides", b->strides, b->ndim);
    out_printf(o, "offset: %jd\n", view_file_offset(a, b));
    out_printf(o, "nbytes: %td\n", b->len);
    out_printf(o, "readonly: %s\n", b->readonly ? "true" : "false");
    out_printf(o, "contiguity: %s\n", contig);
    return 0;
}

/* Every offset of the needle, overlapping ones too. */
int output_find(app *a, mv_error *err)
{
    ptrdiff_t pos = 0;
    for (;;) {
        ptrdiff_t at;
        int rc =
            mv_view_find(a->view, a->opt.needle, a->opt.needle_len, pos, PTRDIFF_MAX, &at, err);
        if (rc < 0)
            return rc;
        if (at < 0)
            return 0;
        if (out_printf(a->o, "%td\n", at) < 0)
            return STOP_OUTPUT;
        pos = at + 1;
    }
}

/* ------------------------------------------------------------------------ *
 * The outputs that stream, with their state in a runstate
 * ------------------------------------------------------------------------ */

/* Everything the output loops allocate or keep, on the heap: after a
 * SIGBUS the loops' frames are gone, and this is how the memory they held
 * is still found and freed. */
struct runstate {
    streamer st;
    dumper dump;
    lister list;
};

runstate *runstate_new(void)
{
    return calloc(1, sizeof(runstate));
}

void runstate_free(runstate *r)
{
    if (!r)
        return;
    free(r->st.buf);
    free(r);
}

int output_dump(app *a, runstate *r, const mv_buffer *b, mv_error *err)
{
    dumper *d = &r->dump;
    d->o = a->o;
    if (mv_view_is_contiguous(a->view, 'C', NULL) == 1 && b->len > 0)
        d->addr = (uintmax_t)view_file_offset(a, b);
    int rc = stream_bytes(&r->st, a->view, dump_sink, d, err);
    if (rc == 0 && d->n > 0)
        rc = dump_line(d);
    return rc;
}

/* --list, or --json when a->opt.mode says so. */
int output_list(app *a, runstate *r, const mv_buffer *b, mv_error *err)
{
    const mv_format *fmt = mv_view_format(a->view, err);
    if (!fmt)
        return err->code;
    lister *l = &r->list;
    l->o = a->o;
    l->json = a->opt.mode == MODE_JSON;
    /* As tolist: a record prints as a tuple even with one value. */
    l->tuple = fmt->nvalues != 1 || strchr(b->format, '{');
    mv_visitor v = {list_begin, list_item, list_end, l};
    int rc = mv_view_traverse(a->view, &v, err);
    if (rc == 0 && out_write(a->o, "\n", 1) < 0)
        rc = STOP_OUTPUT;
    return rc;
}

int output_hex(app *a, runstate *r, mv_error *err)
{
    int rc = stream_hex(&r->st, a->view, a->opt.hex_sep, a->opt.hex_per, a->o, err);
    if (rc == 0 && out_write(a->o, "\n", 1) < 0)
        rc = STOP_OUTPUT;
    return rc;
}

int output_raw(app *a, runstate *r, mv_error *err)
{
    return stream_bytes(&r->st, a->view, raw_sink, a->o, err);
}
