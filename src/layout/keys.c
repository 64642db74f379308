/* Keys from text: mv_subscript_parse turns "[1:3, ::-1, ..., 0, None]" into
 * mv_key values (select.c applies them to a layout).
 *
 * A recursive-descent scan over the text with no allocation: items are
 * separated by commas (one trailing comma allowed, as in a Python tuple),
 * brackets are optional but must match, whitespace may appear between any
 * two tokens.  An item is an integer, a slice of up to three optional
 * integers ("None" also means omitted), "..." / "Ellipsis", or "None" /
 * "newaxis".  Whether the keys make sense for a view (one ellipsis, not too
 * many indices) is mv_view_subscript's business. */
#include "layout.h"

#include <string.h>

typedef struct scanner {
    const char *text;
    const char *p;
    mv_error *err;
} scanner;

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || is_digit(c);
}

static void skip_space(scanner *s)
{
    while (is_space(*s->p))
        s->p++;
}

static int column(const scanner *s)
{
    return (int)(s->p - s->text) + 1;
}

static int fail(scanner *s, const char *why)
{
    return mv_error_set(s->err, MV_EVALUE, "invalid subscript '%s': %s at column %d", s->text, why,
                        column(s));
}

/* Consume `word` if it is the whole identifier at the cursor. */
static bool accept_word(scanner *s, const char *word)
{
    size_t n = strlen(word);
    if (strncmp(s->p, word, n) != 0 || is_word(s->p[n]))
        return false;
    s->p += n;
    return true;
}

static bool at_integer(const scanner *s)
{
    const char *q = s->p;
    if (*q == '+' || *q == '-') {
        q++;
        while (is_space(*q))
            q++;
    }
    return is_digit(*q);
}

/* An optionally signed decimal integer (the cursor is on it). */
static int parse_integer(scanner *s, ptrdiff_t *out)
{
    const char *begin = s->p;
    bool negative = false;
    if (*s->p == '+' || *s->p == '-') {
        negative = *s->p == '-';
        s->p++;
        skip_space(s);
    }
    /* Accumulate towards the sign so PTRDIFF_MIN fits. */
    ptrdiff_t v = 0;
    bool overflow = false;
    while (is_digit(*s->p)) {
        ptrdiff_t digit = *s->p - '0';
        if (mv_mul_overflow(v, 10, &v) || mv_add_overflow(v, negative ? -digit : digit, &v))
            overflow = true;
        s->p++;
    }
    if (is_word(*s->p))
        return fail(s, "invalid integer");
    if (overflow) {
        int col = (int)(begin - s->text) + 1;
        return mv_error_set(s->err, MV_EOVERFLOW,
                            "invalid subscript '%s': integer out of range at column %d", s->text,
                            col);
    }
    *out = v;
    return 0;
}

/* One slice bound: an integer, "None", or nothing.  *has is set when an
 * integer was given. */
static int parse_bound(scanner *s, ptrdiff_t *value, bool *has)
{
    skip_space(s);
    *has = false;
    if (at_integer(s)) {
        *has = true;
        return parse_integer(s, value);
    }
    accept_word(s, "None");
    return 0;
}

static bool at_item_end(const scanner *s)
{
    return *s->p == ',' || *s->p == ']' || *s->p == '\0';
}

static int parse_item(scanner *s, mv_key *key)
{
    memset(key, 0, sizeof *key);
    skip_space(s);
    if (strncmp(s->p, "...", 3) == 0) {
        s->p += 3;
        key->kind = MV_KEY_ELLIPSIS;
        return 0;
    }
    if (accept_word(s, "Ellipsis")) {
        key->kind = MV_KEY_ELLIPSIS;
        return 0;
    }
    if (accept_word(s, "newaxis")) {
        key->kind = MV_KEY_NEWAXIS;
        return 0;
    }
    /* "None" alone is a new axis; "None:" starts a slice. */
    const char *mark = s->p;
    if (accept_word(s, "None")) {
        skip_space(s);
        if (*s->p != ':') {
            key->kind = MV_KEY_NEWAXIS;
            return 0;
        }
        s->p = mark;
    }
    ptrdiff_t first = 0;
    bool has_first = false;
    int rc = parse_bound(s, &first, &has_first);
    if (rc < 0)
        return rc;
    skip_space(s);
    if (*s->p != ':') {
        if (!has_first)
            return fail(s, at_item_end(s) ? "empty item"
                                          : "expected an integer, a slice, '...', 'None' or "
                                            "'newaxis'");
        key->kind = MV_KEY_INDEX;
        key->index = first;
        return 0;
    }
    s->p++;
    key->kind = MV_KEY_SLICE;
    key->start = first;
    key->has_start = has_first;
    if ((rc = parse_bound(s, &key->stop, &key->has_stop)) < 0)
        return rc;
    skip_space(s);
    if (*s->p == ':') {
        s->p++;
        if ((rc = parse_bound(s, &key->step, &key->has_step)) < 0)
            return rc;
    }
    return 0;
}

int mv_subscript_parse(const char *text, mv_key *keys, int maxkeys, int *nkeys, mv_error *err)
{
    if (nkeys)
        *nkeys = 0;
    if (!text || !nkeys)
        return mv_error_set(err, MV_EVALUE, "mv_subscript_parse: text and nkeys must not be NULL");
    if (maxkeys < 0 || (maxkeys > 0 && !keys))
        return mv_error_set(err, MV_EVALUE, "mv_subscript_parse: invalid key array");
    scanner s = {.text = text, .p = text, .err = err};
    skip_space(&s);
    bool bracket = *s.p == '[';
    if (bracket)
        s.p++;
    skip_space(&s);
    int n = 0;
    bool close = bracket ? *s.p == ']' : *s.p == '\0';
    while (!close) {
        if (bracket && *s.p == '\0')
            return fail(&s, "missing ']'");
        mv_key key;
        int rc = parse_item(&s, &key);
        if (rc < 0)
            return rc;
        if (n == maxkeys)
            return mv_error_set(err, MV_EINDEX, "invalid subscript '%s': more than %d keys", text,
                                maxkeys);
        keys[n++] = key;
        skip_space(&s);
        if (*s.p == ',') {
            s.p++;
            skip_space(&s);
            /* A trailing comma, as in "1," */
            close = bracket ? *s.p == ']' : *s.p == '\0';
        } else if (bracket ? *s.p == ']' : *s.p == '\0') {
            close = true;
        } else if (*s.p == '\0') {
            return fail(&s, "missing ']'");
        } else if (*s.p == ']') {
            return fail(&s, "unmatched ']'");
        } else {
            return fail(&s, "expected ',' or the end");
        }
    }
    if (bracket)
        s.p++;
    skip_space(&s);
    if (*s.p != '\0')
        return fail(&s, "unexpected text after the subscript");
    *nkeys = n;
    return 0;
}
