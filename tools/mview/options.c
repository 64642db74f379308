/* mview's command line: getopt_long over the options of the man page
 * (docs/mview.1), the values each takes (shapes, counts, BYTES, --hex's
 * SEP[:N], --cast's FMT[:SHAPE]) and the usage text.  Every mistake is a
 * usage error (exit 1), reported here; FILE is not touched. */
#include "mview.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const mode_names[] = {"",      "--dump", "--info", "--list", "--json",
                                         "--hex", "--raw",  "--find", "--set"};

static const char usage_text[] =
    "Usage: mview [OPTIONS] FILE [SUBSCRIPT]\n"
    "Typed, strided, zero-copy windows into a binary file (memory-mapped).\n"
    "\n"
    "  FILE                a file, or - for standard input (read into memory)\n"
    "  SUBSCRIPT           NumPy-style keys: '[100:200, ::-1, 0]', brackets\n"
    "                      optional ('[-1]', or -- first, when it starts with -)\n"
    "  -f, --format FMT    struct format of one item (default B)\n"
    "  -s, --shape D0,D1.. shape; one -1 means \"as many as fit\" (default: 1-D,\n"
    "                      every whole item that fits; trailing bytes ignored)\n"
    "  -o, --offset N      start N bytes into the file (decimal, or 0x.. hex)\n"
    "      --order C|F     memory order of the shape (default C)\n"
    "      --cast FMT[:D0,D1..]\n"
    "                      reinterpret before the subscript, as memoryview.cast\n"
    "                      (any formats whose sizes divide the bytes; one -1)\n"
    "  -w, --write FILE    write the output to FILE instead of standard output\n"
    "\n"
    "Output, one of (default: --dump for a 1-D view of a one-byte format, else\n"
    "--list):\n"
    "      --dump          xxd-style dump of the view's bytes in C order;\n"
    "                      addresses are file offsets for a C-contiguous view,\n"
    "                      else byte indices in the view\n"
    "      --info          file, format, itemsize, ndim, shape, strides, offset,\n"
    "                      nbytes, readonly, contiguity: one 'key: value' a line\n"
    "      --list          the view as Python-literal nested lists (tolist)\n"
    "      --json          the same as JSON: nan/inf as null, c and s items as\n"
    "                      strings (a character a byte), complex as [re, im],\n"
    "                      records as arrays\n"
    "      --hex [SEP[:N]] hex of the view's bytes in C order, as\n"
    "                      memoryview.hex(SEP, N): SEP one ASCII character every\n"
    "                      N bytes (default 1), from the right for N > 0, from\n"
    "                      the left for N < 0; give it as --hex=SEP[:N], or as\n"
    "                      the next word when that word is one character,\n"
    "                      optionally followed by :N\n"
    "      --raw           the view's bytes in C order (not to a terminal: use\n"
    "                      -w FILE or a redirection)\n"
    "      --find BYTES    every offset (overlapping too) of BYTES in a 1-D view\n"
    "                      of format B, b or c (no byte order but @), relative\n"
    "                      to the view, one a line; BYTES is hex ('de ad') or\n"
    "                      quoted text\n"
    "                      ('\"GET\\r\\n\"', escapes \\n \\r \\t \\0 \\\\ \\' \\\" \\xNN);\n"
    "                      no match is not an error\n"
    "      --set VALUE     write VALUE into every selected item through a\n"
    "                      read-write mapping of FILE, then print \"N items set\";\n"
    "                      several values for records: '1, 2.5' or '(1, 2.5)'\n"
    "  -h, --help          this text\n"
    "      --version       the version\n"
    "\n"
    "Exit status: 0 success, 1 usage error, 2 data error (file, sizes, keys,\n"
    "cast, values, output, SIGBUS); every error is one line on standard error.\n";

enum {
    OPT_ORDER = 256,
    OPT_CAST,
    OPT_DUMP,
    OPT_INFO,
    OPT_LIST,
    OPT_JSON,
    OPT_HEX,
    OPT_RAW,
    OPT_FIND,
    OPT_SET,
    OPT_VERSION
};

static const struct option long_options[] = {
    {"format", required_argument, NULL, 'f'},
    {"shape", required_argument, NULL, 's'},
    {"offset", required_argument, NULL, 'o'},
    {"write", required_argument, NULL, 'w'},
    {"order", required_argument, NULL, OPT_ORDER},
    {"cast", required_argument, NULL, OPT_CAST},
    {"dump", no_argument, NULL, OPT_DUMP},
    {"info", no_argument, NULL, OPT_INFO},
    {"list", no_argument, NULL, OPT_LIST},
    {"json", no_argument, NULL, OPT_JSON},
    {"hex", optional_argument, NULL, OPT_HEX},
    {"raw", no_argument, NULL, OPT_RAW},
    {"find", required_argument, NULL, OPT_FIND},
    {"set", required_argument, NULL, OPT_SET},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* ------------------------------------------------------------------------ *
 * Values
 * ------------------------------------------------------------------------ */

bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static const char *skip_space(const char *p)
{
    while (is_space(*p))
        p++;
    return p;
}

/* A hex digit's value, or -1. */
static int hex_value(char h)
{
    return h >= '0' && h <= '9'   ? h - '0'
           : h >= 'a' && h <= 'f' ? h - 'a' + 10
           : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                  : -1;
}

/* A non-negative integer: decimal, or hex with 0x.  Whitespace around it
 * is allowed. */
static bool parse_count(const char *text, ptrdiff_t *out)
{
    const char *p = skip_space(text);
    int base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    ptrdiff_t v = 0;
    int digits = 0;
    for (;; p++, digits++) {
        int d;
        if (*p >= '0' && *p <= '9')
            d = *p - '0';
        else if (base == 16 && *p >= 'a' && *p <= 'f')
            d = *p - 'a' + 10;
        else if (base == 16 && *p >= 'A' && *p <= 'F')
            d = *p - 'A' + 10;
        else
            break;
        if (v > (PTRDIFF_MAX - d) / base)
            return false;
        v = v * base + d;
    }
    if (digits == 0 || *skip_space(p) != '\0')
        return false;
    *out = v;
    return true;
}

/* One extent of a shape at *pp, moving *pp past it: an integer >= 0, or
 * -1 (*unknown counts those). */
static bool parse_extent(const char **pp, ptrdiff_t *extent, int *unknown, const char **why)
{
    const char *p = *pp;
    bool neg = false;
    if (*p == '-') {
        neg = true;
        p = skip_space(p + 1);
    } else if (*p == '+') {
        p = skip_space(p + 1);
    }
    if (!(*p >= '0' && *p <= '9')) {
        *why = "expected an integer";
        return false;
    }
    ptrdiff_t v = 0;
    while (*p >= '0' && *p <= '9') {
        int d = *p++ - '0';
        if (v > (PTRDIFF_MAX - d) / 10) {
            *why = "integer out of range";
            return false;
        }
        v = v * 10 + d;
    }
    if (neg && v != 1) {
        *why = "negative extent (only -1 is allowed)";
        return false;
    }
    if (neg && ++*unknown > 1) {
        *why = "more than one -1";
        return false;
    }
    *extent = neg ? -1 : v;
    *pp = p;
    return true;
}

/* "D0,D1,..": integers >= 0 or one -1, optionally in () or [], one
 * trailing comma allowed ("(5,)"); "()" is 0-dimensional.  why gets the
 * reason on failure. */
static bool parse_shape(const char *text, shape_spec *s, const char **why)
{
    const char *p = skip_space(text);
    char close = 0;
    if (*p == '(')
        close = ')';
    else if (*p == '[')
        close = ']';
    if (close)
        p = skip_space(p + 1);
    int n = 0, unknown = 0;
    bool closed = false;
    while (*p) {
        if (close && *p == close) {
            closed = true;
            p = skip_space(p + 1);
            break;
        }
        ptrdiff_t v;
        if (!parse_extent(&p, &v, &unknown, why))
            return false;
        if (n == MV_MAX_NDIM) {
            *why = "more than 64 dimensions";
            return false;
        }
        s->dims[n++] = v;
        p = skip_space(p);
        if (*p == ',') {
            p = skip_space(p + 1);
        } else if (*p && !(close && *p == close)) {
            *why = "expected ',' between extents";
            return false;
        }
    }
    if (close && !closed) {
        *why = close == ')' ? "missing ')'" : "missing ']'";
        return false;
    }
    if (*p) {
        *why = "unexpected text after the shape";
        return false;
    }
    if (n == 0 && !close) {
        *why = "empty shape";
        return false;
    }
    s->ndim = n;
    return true;
}

/* The escape after a backslash at *pp, moving *pp past it: \n \r \t \0
 * \\ \' \" \xNN. */
static bool parse_escape(const char **pp, unsigned char *c, const char **why)
{
    const char *p = *pp;
    switch (*p++) {
    case 'n':
        *c = '\n';
        break;
    case 'r':
        *c = '\r';
        break;
    case 't':
        *c = '\t';
        break;
    case '0':
        *c = '\0';
        break;
    case '\\':
        *c = '\\';
        break;
    case '\'':
        *c = '\'';
        break;
    case '"':
        *c = '"';
        break;
    case 'x': {
        int hi = hex_value(p[0]), lo = hi < 0 ? -1 : hex_value(p[1]);
        if (lo < 0) {
            *why = "\\x needs two hex digits";
            return false;
        }
        *c = (unsigned char)(hi * 16 + lo);
        p += 2;
        break;
    }
    default:
        *why = "unknown escape";
        return false;
    }
    *pp = p;
    return true;
}

/* Text in single or double quotes (p at the opening one) -> b[0..*n). */
static bool parse_quoted(const char *p, unsigned char *b, size_t *n, const char **why)
{
    char q = *p++;
    for (;;) {
        char c = *p++;
        if (c == '\0') {
            *why = "missing closing quote";
            return false;
        }
        if (c == q)
            break;
        if (c != '\\')
            b[(*n)++] = (unsigned char)c;
        else if (!parse_escape(&p, &b[(*n)++], why))
            return false;
    }
    if (*skip_space(p) != '\0') {
        *why = "text after the closing quote";
        return false;
    }
    return true;
}

/* Hex digits, whitespace anywhere, an even number -> b[0..*n). */
static bool parse_hex_bytes(const char *p, unsigned char *b, size_t *n, const char **why)
{
    int half = -1;
    for (; *p; p++) {
        if (is_space(*p))
            continue;
        int d = hex_value(*p);
        if (d < 0) {
            *why = "not a hex digit (quote text: '\"abc\"')";
            return false;
        }
        if (half < 0) {
            half = d;
        } else {
            b[(*n)++] = (unsigned char)(half * 16 + d);
            half = -1;
        }
    }
    if (half >= 0) {
        *why = "an odd number of hex digits";
        return false;
    }
    return true;
}

/* --find BYTES (and --set's quoted strings): hex digits (whitespace
 * anywhere, an even number), or text in single or double quotes with
 * C-like escapes. */
bool parse_needle(const char *text, unsigned char **needle, size_t *len, const char **why)
{
    const char *p = skip_space(text);
    unsigned char *b = malloc(strlen(p) + 1);
    if (!b) {
        *why = "out of memory";
        return false;
    }
    size_t n = 0;
    bool ok =
        *p == '"' || *p == '\'' ? parse_quoted(p, b, &n, why) : parse_hex_bytes(p, b, &n, why);
    if (ok && n == 0) {
        *why = "nothing to find";
        ok = false;
    }
    if (!ok) {
        free(b);
        return false;
    }
    *needle = b;
    *len = n;
    return true;
}

/* "SEP[:N]": one ASCII character, then optionally ':' and an int. */
static bool parse_hex_arg(const char *text, char *sep, int *per)
{
    unsigned char c = (unsigned char)text[0];
    if (c == 0 || c >= 0x80)
        return false;
    *sep = (char)c;
    *per = 1;
    if (text[1] == '\0')
        return true;
    if (text[1] != ':')
        return false;
    const char *p = text + 2;
    bool neg = *p == '-';
    if (*p == '-' || *p == '+')
        p++;
    if (!(*p >= '0' && *p <= '9'))
        return false;
    long v = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (*p - '0');
        if (v > (long)INT_MAX + 1)
            return false;
    }
    if (*p != '\0' || (!neg && v > INT_MAX))
        return false;
    *per = (int)(neg ? -v : v);
    return true;
}

/* Whether the word after a bare --hex is its argument: one character,
 * optionally followed by :N. */
static bool looks_like_hex_arg(const char *word)
{
    char sep;
    int per;
    return word && word[0] && (word[1] == '\0' || word[1] == ':') &&
           parse_hex_arg(word, &sep, &per);
}

/* --cast FMT[:D0,D1..]: the shape is what follows the last ':' when that
 * is a shape (a record format's field names also use ':'). */
static int parse_cast(options *o)
{
    const char *text = o->cast_text;
    const char *colon = strrchr(text, ':');
    size_t flen = strlen(text);
    o->cast_shape.ndim = -1;
    if (colon && colon[1] && strspn(colon + 1, "0123456789,-+ ()") == strlen(colon + 1)) {
        const char *why = "";
        if (!parse_shape(colon + 1, &o->cast_shape, &why))
            return report(EXIT_USAGE, "invalid --cast shape '%s': %s", colon + 1, why);
        flen = (size_t)(colon - text);
    }
    o->cast_format = malloc(flen + 1);
    if (!o->cast_format)
        return report(EXIT_DATA, "out of memory");
    memcpy(o->cast_format, text, flen);
    o->cast_format[flen] = '\0';
    return 0;
}

/* Check a format text now: a format that does not parse is a usage error. */
int check_format(const char *text, const char *opt, mv_format *fmt)
{
    mv_error err;
    mv_error_clear(&err);
    if (mv_format_parse(fmt, text, &err) < 0)
        return report(err.code == MV_ENOMEM ? EXIT_DATA : EXIT_USAGE, "%s: %s", opt, err.message);
    if (fmt->itemsize <= 0) {
        mv_format_clear(fmt);
        return report(EXIT_USAGE, "%s: format '%s' has item size 0", opt, text);
    }
    return 0;
}

/* ------------------------------------------------------------------------ *
 * Options
 * ------------------------------------------------------------------------ */

static int set_mode(options *o, mode m)
{
    if (o->mode != MODE_NONE && o->mode != m)
        return report(EXIT_USAGE, "two output modes: %s and %s (give one)", mode_names[o->mode],
                      mode_names[m]);
    o->mode = m;
    return 0;
}

/* --hex [SEP[:N]]. */
static int parse_hex_option(int argc, char **argv, options *o)
{
    const char *arg = optarg;
    /* An optional argument in the next word (getopt only takes --hex=ARG):
     * consumed here, so getopt skips it. */
    if (!arg && optind < argc && looks_like_hex_arg(argv[optind]))
        arg = argv[optind++];
    int rc = set_mode(o, MODE_HEX);
    if (rc != 0)
        return rc;
    o->hex_sep = 0;
    o->hex_per = 1;
    if (arg && !parse_hex_arg(arg, &o->hex_sep, &o->hex_per))
        return report(EXIT_USAGE,
                      "invalid --hex argument '%s': expected SEP[:N], SEP one ASCII "
                      "character, N an integer",
                      arg);
    return 0;
}

/* --find BYTES. */
static int parse_find_option(options *o)
{
    const char *why = "";
    int rc = set_mode(o, MODE_FIND);
    if (rc != 0)
        return rc;
    free(o->needle);
    o->needle = NULL;
    if (!parse_needle(optarg, &o->needle, &o->needle_len, &why))
        return report(EXIT_USAGE, "invalid --find BYTES '%s': %s", optarg, why);
    return 0;
}

/* The options that only pick an output mode. */
static mode mode_of_option(int c)
{
    switch (c) {
    case OPT_DUMP:
        return MODE_DUMP;
    case OPT_INFO:
        return MODE_INFO;
    case OPT_LIST:
        return MODE_LIST;
    case OPT_JSON:
        return MODE_JSON;
    case OPT_RAW:
        return MODE_RAW;
    default:
        return MODE_NONE;
    }
}

/* getopt's errors: an option without its argument, an unknown one. */
static int option_error(int c, char **argv)
{
    if (c == ':') {
        if (optopt && optopt < 256)
            return report(EXIT_USAGE, "option '-%c' needs an argument", optopt);
        return report(EXIT_USAGE, "option '%s' needs an argument", argv[optind - 1]);
    }
    if (optopt && optopt < 256)
        return report(EXIT_USAGE, "unknown option '-%c' (try 'mview --help')", optopt);
    return report(EXIT_USAGE, "unknown or ambiguous option '%s' (try 'mview --help')",
                  argv[optind - 1]);
}

/* The option getopt_long returned as c (its argument in optarg). */
static int parse_option(int c, int argc, char **argv, options *o)
{
    const char *why = "";
    switch (c) {
    case 'f':
        o->format = optarg;
        o->typed = true;
        return 0;
    case 's':
        if (!parse_shape(optarg, &o->shape, &why))
            return report(EXIT_USAGE, "invalid shape '%s': %s", optarg, why);
        o->typed = true;
        return 0;
    case 'o':
        if (!parse_count(optarg, &o->offset))
            return report(EXIT_USAGE, "invalid offset '%s': expected a byte count >= 0", optarg);
        return 0;
    case 'w':
        if (!optarg[0])
            return report(EXIT_USAGE, "-w needs a file name");
        o->write_path = optarg;
        return 0;
    case OPT_ORDER:
        if (strcmp(optarg, "C") == 0 || strcmp(optarg, "c") == 0)
            o->order = 'C';
        else if (strcmp(optarg, "F") == 0 || strcmp(optarg, "f") == 0)
            o->order = 'F';
        else
            return report(EXIT_USAGE, "invalid --order '%s': expected C or F", optarg);
        o->typed = true;
        return 0;
    case OPT_CAST:
        free(o->cast_format);
        o->cast_format = NULL;
        o->cast_text = optarg;
        return parse_cast(o);
    case OPT_DUMP:
    case OPT_INFO:
    case OPT_LIST:
    case OPT_JSON:
    case OPT_RAW:
        return set_mode(o, mode_of_option(c));
    case OPT_HEX:
        return parse_hex_option(argc, argv, o);
    case OPT_FIND:
        return parse_find_option(o);
    case OPT_SET: {
        int rc = set_mode(o, MODE_SET);
        if (rc == 0)
            o->set_text = optarg;
        return rc;
    }
    case 'h':
        fputs(usage_text, stdout);
        return fflush(stdout) == 0 ? -1 : EXIT_DATA;
    case OPT_VERSION:
        printf("mview (libmemview) %d.%d.%d\n", MV_VERSION_MAJOR, MV_VERSION_MINOR,
               MV_VERSION_PATCH);
        return fflush(stdout) == 0 ? -1 : EXIT_DATA;
    default:
        return option_error(c, argv);
    }
}

/* FILE and SUBSCRIPT, and the checks that need the whole command line. */
static int parse_operands(int argc, char **argv, options *o)
{
    int npos = argc - optind;
    if (npos < 1)
        return report(EXIT_USAGE, "missing FILE (try 'mview --help')");
    if (npos > 2)
        return report(EXIT_USAGE, "unexpected argument '%s' after FILE and SUBSCRIPT",
                      argv[optind + 2]);
    o->file = argv[optind];
    o->subscript = npos == 2 ? argv[optind + 1] : NULL;
    if (!o->file[0])
        return report(EXIT_USAGE, "empty FILE name");
    if (o->mode == MODE_SET && strcmp(o->file, "-") == 0)
        return report(EXIT_USAGE, "--set needs a file: standard input cannot be written back");
    if (o->mode == MODE_SET && o->write_path)
        return report(EXIT_USAGE, "-w does not go with --set (it writes into FILE itself)");
    return 0;
}

int parse_args(int argc, char **argv, options *o)
{
    o->shape.ndim = -1;
    o->cast_shape.ndim = -1;
    o->order = 'C';
    o->hex_per = 1;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, ":f:s:o:w:h", long_options, NULL);
        if (c == -1)
            break;
        int rc = parse_option(c, argc, argv, o);
        if (rc != 0)
            return rc;
    }
    return parse_operands(argc, argv, o);
}

void options_clear(options *o)
{
    free(o->cast_format);
    free(o->needle);
    o->cast_format = NULL;
    o->needle = NULL;
}
