/*
 * Struct / PEP 3118 item formats: parsing text into a flat field list.
 * Reading and writing items of a parsed format is the codec's (codec.c).
 *
 * The parser follows the struct module where the two agree and PEP 3118
 * where struct stops (byte order changes mid-format, T{...} records,
 * sub-array shapes, :name: annotations, Zf / Zd).  Records are flattened:
 * each repetition of a record appends copies of its members' fields with
 * shifted offsets, so consumers only ever walk one list.  Numeric fields
 * with a repeat count of 0 are left out of the list (they hold no bytes and
 * no values; their alignment still applies, as in struct); 's' and 'p'
 * fields are always listed because "0s" still unpacks to b''.  The empty
 * format and a lone byte order character ("<", "@") are, as in struct, a
 * zero-size item of no values, like "0B".
 */
#include "core.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* Nesting and size limits keep hostile formats from exhausting the stack or
 * memory: record repetition multiplies fields, so "99999999T{i}" would
 * otherwise ask for gigabytes. */
#define FORMAT_MAX_DEPTH  64
#define FORMAT_MAX_FIELDS ((ptrdiff_t)1 << 20)
/* Longest format text quoted whole in a message (the buffer is 256 bytes). */
#define FORMAT_SHOWN 64

/* ------------------------------------------------------------------------ */
/* Parsing                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct parser {
    const char *text; /* whole format, for messages */
    const char *p;    /* cursor */
    mv_error *err;
    mv_field *fields;
    ptrdiff_t nfields;
    ptrdiff_t cap;
} parser;

typedef struct layout {
    ptrdiff_t size;
    ptrdiff_t align;
    ptrdiff_t nvalues;
} layout;

static int parse_fail(parser *ps, const char *why)
{
    size_t n = strlen(ps->text);
    if (n > FORMAT_SHOWN)
        return mv_error_set(ps->err, MV_EVALUE, "invalid format string '%.*s...': %s",
                            FORMAT_SHOWN - 3, ps->text, why);
    return mv_error_set(ps->err, MV_EVALUE, "invalid format string '%s': %s", ps->text, why);
}

static int parse_fail_char(parser *ps, const char *what, char c)
{
    char why[48];
    unsigned char u = (unsigned char)c;
    if (u > 0x20 && u < 0x7f)
        snprintf(why, sizeof why, "%s '%c'", what, c);
    else
        snprintf(why, sizeof why, "%s 0x%02x", what, u);
    return parse_fail(ps, why);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_byteorder(char c)
{
    return c == '@' || c == '=' || c == '<' || c == '>' || c == '!';
}

/* Size and alignment of one element of `code` ('F' / 'D' for Zf / Zd) in
 * byte order `order`.  Returns 0, 1 for an unknown code, 2 for a code that
 * exists only in native mode. */
static int code_layout(char code, char order, ptrdiff_t *size, ptrdiff_t *align)
{
    bool native = order == '@';
    ptrdiff_t s, a;

    switch (code) {
    case 'x':
    case 'c':
    case 'b':
    case 'B':
    case 's':
    case 'p':
        s = a = 1;
        break;
    case '?':
        s = native ? (ptrdiff_t)sizeof(_Bool) : 1;
        a = (ptrdiff_t) _Alignof(_Bool);
        break;
    case 'h':
    case 'H':
        s = native ? (ptrdiff_t)sizeof(short) : 2;
        a = (ptrdiff_t) _Alignof(short);
        break;
    case 'i':
    case 'I':
        s = native ? (ptrdiff_t)sizeof(int) : 4;
        a = (ptrdiff_t) _Alignof(int);
        break;
    case 'l':
    case 'L':
        s = native ? (ptrdiff_t)sizeof(long) : 4;
        a = (ptrdiff_t) _Alignof(long);
        break;
    case 'q':
    case 'Q':
        s = native ? (ptrdiff_t)sizeof(long long) : 8;
        a = (ptrdiff_t) _Alignof(long long);
        break;
    case 'n':
    case 'N':
        if (!native)
            return 2;
        s = (ptrdiff_t)sizeof(size_t);
        a = (ptrdiff_t) _Alignof(size_t);
        break;
    case 'P':
        if (!native)
            return 2;
        s = (ptrdiff_t)sizeof(void *);
        a = (ptrdiff_t) _Alignof(void *);
        break;
    case 'e':
        s = a = 2;
        break;
    case 'w':
        /* A UCS-4 character (Py_UCS4: array('u') on Linux, NumPy 'U'). */
        s = a = 4;
        break;
    case 'f':
        s = 4;
        a = (ptrdiff_t) _Alignof(float);
        break;
    case 'd':
        s = 8;
        a = (ptrdiff_t) _Alignof(double);
        break;
    case 'F':
        s = 8;
        a = (ptrdiff_t) _Alignof(float);
        break;
    case 'D':
        s = 16;
        a = (ptrdiff_t) _Alignof(double);
        break;
    default:
        return 1;
    }
    *size = s;
    *align = native ? a : 1;
    return 0;
}

/* Round off up to a multiple of align (a power of two); false on overflow. */
static bool align_up(ptrdiff_t off, ptrdiff_t align, ptrdiff_t *out)
{
    ptrdiff_t r = off % align;
    if (r == 0) {
        *out = off;
        return true;
    }
    return !mv_add_overflow(off, align - r, out);
}

static int fields_reserve(parser *ps, ptrdiff_t extra)
{
    ptrdiff_t need;
    if (mv_add_overflow(ps->nfields, extra, &need) || need > FORMAT_MAX_FIELDS)
        return parse_fail(ps, "too many fields");
    if (need <= ps->cap)
        return 0;
    ptrdiff_t cap = ps->cap ? ps->cap : 8;
    while (cap < need)
        cap *= 2;
    mv_field *grown = realloc(ps->fields, (size_t)cap * sizeof *grown);
    if (!grown)
        return mv_error_set(ps->err, MV_ENOMEM, "out of memory");
    ps->fields = grown;
    ps->cap = cap;
    return 0;
}

/* A decimal repeat count or a "(d0, d1, ...)" sub-array shape, multiplied
 * out.  *has is false when neither is present. */
static int parse_count(parser *ps, ptrdiff_t *count, bool *has)
{
    *has = false;
    *count = 1;
    if (is_digit(*ps->p)) {
        ptrdiff_t n = 0;
        while (is_digit(*ps->p)) {
            if (mv_mul_overflow(n, 10, &n) || mv_add_overflow(n, *ps->p - '0', &n))
                return parse_fail(ps, "repeat count too large");
            ps->p++;
        }
        *count = n;
        *has = true;
        return 0;
    }
    if (*ps->p != '(')
        return 0;
    ps->p++;
    ptrdiff_t product = 1;
    for (;;) {
        while (is_space(*ps->p))
            ps->p++;
        if (!is_digit(*ps->p))
            return parse_fail(ps, "bad sub-array shape");
        ptrdiff_t n = 0;
        while (is_digit(*ps->p)) {
            if (mv_mul_overflow(n, 10, &n) || mv_add_overflow(n, *ps->p - '0', &n))
                return parse_fail(ps, "repeat count too large");
            ps->p++;
        }
        if (mv_mul_overflow(product, n, &product))
            return parse_fail(ps, "repeat count too large");
        while (is_space(*ps->p))
            ps->p++;
        if (*ps->p == ',') {
            ps->p++;
            continue;
        }
        if (*ps->p == ')') {
            ps->p++;
            break;
        }
        return parse_fail(ps, "bad sub-array shape");
    }
    *count = product;
    *has = true;
    return 0;
}

static int parse_seq(parser *ps, char *order, int depth, bool in_record, layout *out);

/* The body of T{...} (cursor just past '{'), repeated count times, placed at
 * the first offset >= *size aligned to the record's alignment. */
static int parse_record(parser *ps, char order, int depth, ptrdiff_t count, layout *lay)
{
    ptrdiff_t first = ps->nfields;
    char inner = order;
    layout body;
    int rc;

    if (depth >= FORMAT_MAX_DEPTH)
        return parse_fail(ps, "records nested too deeply");
    rc = parse_seq(ps, &inner, depth + 1, true, &body);
    if (rc < 0)
        return rc;

    ptrdiff_t start, stride, extent, end, nvalues, nbody = ps->nfields - first;
    if (!align_up(lay->size, body.align, &start) || !align_up(body.size, body.align, &stride))
        return parse_fail(ps, "item size too large");
    if (count == 0) {
        ps->nfields = first;
        extent = 0;
        nvalues = 0;
    } else {
        if (mv_mul_overflow(count - 1, stride, &extent) ||
            mv_add_overflow(extent, body.size, &extent))
            return parse_fail(ps, "item size too large");
        if (mv_mul_overflow(body.nvalues, count, &nvalues))
            return parse_fail(ps, "too many values");
        if (nbody > 0) {
            ptrdiff_t extra;
            if (mv_mul_overflow(nbody, count - 1, &extra))
                return parse_fail(ps, "too many fields");
            rc = fields_reserve(ps, extra);
            if (rc < 0)
                return rc;
            /* Body offsets are relative to the record start; the start is a
             * multiple of every member's alignment, so shifting keeps them
             * aligned.  All offsets are < start + extent, checked above. */
            for (ptrdiff_t i = first; i < first + nbody; i++)
                ps->fields[i].offset += start;
            for (ptrdiff_t k = 1; k < count; k++) {
                for (ptrdiff_t i = 0; i < nbody; i++) {
                    mv_field f = ps->fields[first + i];
                    f.offset += k * stride;
                    ps->fields[ps->nfields++] = f;
                }
            }
        }
    }
    if (mv_add_overflow(start, extent, &end) || mv_add_overflow(lay->nvalues, nvalues, &nvalues))
        return parse_fail(ps, "item size too large");
    lay->size = end;
    lay->nvalues = nvalues;
    if (body.align > lay->align)
        lay->align = body.align;
    return 0;
}

/* One code (cursor on it) with its count, appended at the end of *lay. */
static int parse_code(parser *ps, char order, ptrdiff_t count, layout *lay)
{
    char code = *ps->p;
    ptrdiff_t esize, ealign, start, fsize, end, nvalues;
    int rc;

    if (code == 'Z') {
        char next = ps->p[1];
        if (next != 'f' && next != 'd')
            return parse_fail(ps, "'Z' must be followed by 'f' or 'd'");
        code = next == 'f' ? 'F' : 'D';
        ps->p++;
    }
    rc = code_layout(code, order, &esize, &ealign);
    if (rc == 1)
        return parse_fail_char(ps, "bad char", code);
    if (rc == 2) {
        char why[48];
        snprintf(why, sizeof why, "'%c' requires native mode ('@')", code);
        return parse_fail(ps, why);
    }
    ps->p++;

    if (!align_up(lay->size, ealign, &start))
        return parse_fail(ps, "item size too large");
    if (code == 's' || code == 'p') {
        fsize = count;
        nvalues = 1;
    } else {
        if (mv_mul_overflow(count, esize, &fsize))
            return parse_fail(ps, "item size too large");
        nvalues = code == 'x' ? 0 : count;
    }
    if (mv_add_overflow(start, fsize, &end))
        return parse_fail(ps, "item size too large");
    if (mv_add_overflow(lay->nvalues, nvalues, &nvalues))
        return parse_fail(ps, "too many values");

    if (count > 0 || code == 's' || code == 'p') {
        rc = fields_reserve(ps, 1);
        if (rc < 0)
            return rc;
        mv_field *f = &ps->fields[ps->nfields++];
        f->code = code;
        f->byteorder = order;
        f->count = count;
        f->offset = start;
        f->size = (code == 's' || code == 'p') ? count : esize;
    }
    lay->size = end;
    lay->nvalues = nvalues;
    if (ealign > lay->align)
        lay->align = ealign;
    return 0;
}

/* A sequence of items up to the end of the text (top level) or up to and
 * including the closing '}' (in_record).  Offsets are relative to the start
 * of the sequence; *order is the byte order in effect and is updated. */
static int parse_seq(parser *ps, char *order, int depth, bool in_record, layout *out)
{
    layout lay = {0, 1, 0};
    bool after_member = false; /* a :name: may follow */
    int rc;

    for (;;) {
        while (is_space(*ps->p))
            ps->p++;
        char c = *ps->p;

        if (c == '\0') {
            if (in_record)
                return parse_fail(ps, "unbalanced '{'");
            break;
        }
        if (c == '}') {
            if (!in_record)
                return parse_fail(ps, "unbalanced '}'");
            ps->p++;
            break;
        }
        if (is_byteorder(c)) {
            /* Alone it is a whole format ("<": no values, as in struct). */
            bool alone = ps->p == ps->text;
            *order = c == '!' ? '>' : c;
            ps->p++;
            while (is_space(*ps->p))
                ps->p++;
            if (*ps->p == ':' || (!alone && (*ps->p == '\0' || *ps->p == '}')))
                return parse_fail(ps, "byte order character without a code");
            after_member = false;
            continue;
        }
        if (c == ':') {
            if (!in_record)
                return parse_fail(ps, "field names are only allowed inside T{...}");
            if (!after_member)
                return parse_fail(ps, "field name without a field");
            const char *close = strchr(ps->p + 1, ':');
            if (!close)
                return parse_fail(ps, "unterminated field name");
            ps->p = close + 1;
            after_member = false;
            continue;
        }

        ptrdiff_t count;
        bool has_count, shaped = c == '(';
        rc = parse_count(ps, &count, &has_count);
        if (rc < 0)
            return rc;
        /* ctypes writes a sub-array's byte order after its shape:
         * "T{(3)<H:a:}". */
        if (shaped && is_byteorder(*ps->p)) {
            *order = *ps->p == '!' ? '>' : *ps->p;
            ps->p++;
        }
        c = *ps->p;
        if (has_count && !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '?'))
            return parse_fail(ps, "repeat count given without format specifier");

        if (c == 'T') {
            if (ps->p[1] != '{')
                return parse_fail(ps, "'T' must be followed by '{'");
            ps->p += 2;
            rc = parse_record(ps, *order, depth, count, &lay);
        } else {
            rc = parse_code(ps, *order, count, &lay);
        }
        if (rc < 0)
            return rc;
        after_member = true;
    }
    *out = lay;
    return 0;
}

/* memoryview's "native single character format": an optional '@' and one
 * code of the native set (Zf / Zd reported as 'F' / 'D'). */
static char native_code(const char *text)
{
    if (text[0] == '@')
        text++;
    if (text[0] != '\0' && text[1] == '\0' && strchr("cbBhHiIlLqQnNfd?Pe", text[0]))
        return text[0];
    if (text[0] == 'Z' && (text[1] == 'f' || text[1] == 'd') && text[2] == '\0')
        return text[1] == 'f' ? 'F' : 'D';
    return 0;
}

/* As mv_format.native sets them: not x, s, p, nor the complex 'F' and 'D'. */
const unsigned char mv_single_size[128] = {
    ['c'] = 1, ['b'] = 1, ['B'] = 1, ['?'] = sizeof(_Bool),
    ['h'] = sizeof(short), ['H'] = sizeof(short), ['i'] = sizeof(int), ['I'] = sizeof(int),
    ['l'] = sizeof(long), ['L'] = sizeof(long), ['q'] = sizeof(long long),
    ['Q'] = sizeof(long long), ['n'] = sizeof(size_t), ['N'] = sizeof(size_t),
    ['P'] = sizeof(void *), ['e'] = 2, ['f'] = 4, ['d'] = 8,
};

ptrdiff_t mv_format_native_size(const char *text)
{
    if (!text)
        return 1;
    const char *c = text[0] == '@' ? text + 1 : text;
    unsigned char u = (unsigned char)c[0];
    return u && u < 128 && !c[1] ? mv_single_size[u] : 0;
}

char mv_format_native_long(const char *text, ptrdiff_t *size)
{
    ptrdiff_t align;
    char code = native_code(text);
    if (!code || code_layout(code, '@', size, &align) != 0)
        return 0;
    return code;
}

MV_API int mv_format_parse(mv_format *fmt, const char *text, mv_error *err)
{
    if (!fmt)
        return mv_error_set(err, MV_EVALUE, "mv_format_parse: fmt must not be NULL");
    memset(fmt, 0, sizeof *fmt);
    if (!text)
        return mv_error_set(err, MV_EVALUE, "invalid format string (null)");

    parser ps = {text, text, err, NULL, 0, 0};
    char order = '@';
    layout lay;
    int rc = parse_seq(&ps, &order, 0, false, &lay);
    if (rc == 0 && ps.nfields > INT_MAX)
        rc = parse_fail(&ps, "too many fields");
    if (rc < 0) {
        free(ps.fields);
        return rc;
    }
    fmt->itemsize = lay.size;
    fmt->alignment = lay.align;
    fmt->nvalues = lay.nvalues;
    fmt->nfields = (int)ps.nfields;
    fmt->fields = ps.fields;
    fmt->native = native_code(text);
    return 0;
}

MV_API void mv_format_clear(mv_format *fmt)
{
    if (!fmt)
        return;
    free(fmt->fields);
    memset(fmt, 0, sizeof *fmt);
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

bool mv_format_is_byte(const char *f)
{
    if (!f)
        return true;
    if (f[0] == '@')
        f++;
    return (f[0] == 'B' || f[0] == 'b' || f[0] == 'c') && f[1] == '\0';
}

ptrdiff_t mv_size_from_format(const char *format, mv_error *err)
{
    /* NULL means "B", as everywhere in a buffer descriptor. */
    if (!format)
        return 1;
    mv_format fmt;
    if (mv_format_parse(&fmt, format, err) < 0)
        return -1;
    ptrdiff_t size = fmt.itemsize;
    mv_format_clear(&fmt);
    return size;
}
