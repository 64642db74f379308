/* mview: typed, strided, zero-copy windows into binary files.
 *
 * The pipeline is the one the man page (docs/mview.1) describes: FILE is
 * mapped (standard input and other non-regular files are read into a
 * bytearray) -> a 1-D bytes view from --offset -> the typed view of -f/-s/
 * --order (an external layout over the same bytes) -> --cast -> SUBSCRIPT
 * -> one output.  Only the public libmemview API is used.
 *
 * Output is streamed: --list and --json walk the view with
 * mv_view_traverse, the byte and hex outputs write it in chunks of at most
 * CHUNK bytes with the library's ranged output, so nothing proportional to
 * the selection is allocated.
 * Reading a mapping whose file shrank raises SIGBUS; the handler jumps
 * back to the output loop, which reports it and exits 2. */
#include <memview.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

enum { EXIT_USAGE = 1, EXIT_DATA = 2 };

/* Bytes copied out of the view per step, and the output buffer size. */
enum { CHUNK = 1 << 16, OUT_BUF = 1 << 16 };

/* Room for keys: every dimension indexed plus new axes. */
enum { MAX_KEYS = 2 * MV_MAX_NDIM };

/* Internal results, apart from exit statuses and the library's negative
 * codes: a visitor's "stop: the output failed", and "SIGBUS caught". */
enum { STOP_OUTPUT = 1001, GOT_SIGBUS = 1002 };

typedef enum mode {
    MODE_NONE,
    MODE_DUMP,
    MODE_INFO,
    MODE_LIST,
    MODE_JSON,
    MODE_HEX,
    MODE_RAW,
    MODE_FIND,
    MODE_SET
} mode;

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

/* ------------------------------------------------------------------------ *
 * Errors: one line on standard error, "mview: " first.
 * ------------------------------------------------------------------------ */

static int report(int status, const char *fmt, ...) MV_PRINTF(2, 3);

static int report(int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* User text (file names, values) must not break the one-line rule. */
    for (char *p = msg; *p; p++)
        if ((unsigned char)*p < ' ' || *p == 0x7f)
            *p = '?';
    fprintf(stderr, "mview: %s\n", msg);
    return status;
}

/* ------------------------------------------------------------------------ *
 * SIGBUS: the only file-scope mutable state, because a signal handler can
 * reach nothing else.  The handler is armed only around the output loops.
 * ------------------------------------------------------------------------ */

static sigjmp_buf bus_jump;
static volatile sig_atomic_t bus_armed;
static void *volatile bus_addr;

static void on_sigbus(int sig, siginfo_t *info, void *uctx)
{
    (void)uctx;
    if (!bus_armed) {
        /* Not ours to handle: die as the kernel meant when the access is
         * retried. */
        signal(sig, SIG_DFL);
        return;
    }
    bus_armed = 0;
    bus_addr = info->si_addr;
    siglongjmp(bus_jump, 1);
}

/* ------------------------------------------------------------------------ *
 * Buffered output on a descriptor.  A failed write sets `error` (errno)
 * and every later write fails at once, so the walks stop.
 * ------------------------------------------------------------------------ */

typedef struct out {
    int fd;
    const char *name; /* for messages: "standard output" or the -w file */
    int error;
    size_t n;
    char buf[OUT_BUF];
} out;

static int out_flush(out *o)
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
static int out_write(out *o, const void *data, size_t n)
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

static int out_puts(out *o, const char *s)
{
    return out_write(o, s, strlen(s));
}

static int out_printf(out *o, const char *fmt, ...) MV_PRINTF(2, 3);

static int out_printf(out *o, const char *fmt, ...)
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

/* ------------------------------------------------------------------------ *
 * Options
 * ------------------------------------------------------------------------ */

typedef struct shape_spec {
    int ndim; /* -1: not given */
    ptrdiff_t dims[MV_MAX_NDIM];
} shape_spec;

typedef struct options {
    const char *file;
    const char *subscript;
    const char *format; /* -f text, NULL: not given (B) */
    shape_spec shape;
    ptrdiff_t offset;
    char order;
    bool typed; /* -f, -s or --order given */
    const char *cast_text;
    char *cast_format; /* owned: the FMT part of --cast */
    shape_spec cast_shape;
    mode mode;
    char hex_sep;
    int hex_per;
    unsigned char *needle; /* owned */
    size_t needle_len;
    const char *set_text;
    const char *write_path;
} options;

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

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static const char *skip_space(const char *p)
{
    while (is_space(*p))
        p++;
    return p;
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
        if (neg && ++unknown > 1) {
            *why = "more than one -1";
            return false;
        }
        if (n == MV_MAX_NDIM) {
            *why = "more than 64 dimensions";
            return false;
        }
        s->dims[n++] = neg ? -1 : v;
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

/* --find BYTES: hex digits (whitespace anywhere, an even number), or text
 * in single or double quotes with C-like escapes. */
static bool parse_needle(const char *text, unsigned char **needle, size_t *len, const char **why)
{
    const char *p = skip_space(text);
    size_t cap = strlen(p) + 1;
    unsigned char *b = malloc(cap);
    if (!b) {
        *why = "out of memory";
        return false;
    }
    size_t n = 0;
    if (*p == '"' || *p == '\'') {
        char q = *p++;
        for (;;) {
            char c = *p++;
            if (c == '\0') {
                *why = "missing closing quote";
                goto fail;
            }
            if (c == q)
                break;
            if (c != '\\') {
                b[n++] = (unsigned char)c;
                continue;
            }
            c = *p++;
            switch (c) {
            case 'n':
                b[n++] = '\n';
                break;
            case 'r':
                b[n++] = '\r';
                break;
            case 't':
                b[n++] = '\t';
                break;
            case '0':
                b[n++] = '\0';
                break;
            case '\\':
                b[n++] = '\\';
                break;
            case '\'':
                b[n++] = '\'';
                break;
            case '"':
                b[n++] = '"';
                break;
            case 'x': {
                int v = 0;
                for (int i = 0; i < 2; i++, p++) {
                    char h = *p;
                    int d = h >= '0' && h <= '9'   ? h - '0'
                            : h >= 'a' && h <= 'f' ? h - 'a' + 10
                            : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                   : -1;
                    if (d < 0) {
                        *why = "\\x needs two hex digits";
                        goto fail;
                    }
                    v = v * 16 + d;
                }
                b[n++] = (unsigned char)v;
                break;
            }
            default:
                *why = "unknown escape";
                goto fail;
            }
        }
        if (*skip_space(p) != '\0') {
            *why = "text after the closing quote";
            goto fail;
        }
    } else {
        int half = -1;
        for (; *p; p++) {
            if (is_space(*p))
                continue;
            char h = *p;
            int d = h >= '0' && h <= '9'   ? h - '0'
                    : h >= 'a' && h <= 'f' ? h - 'a' + 10
                    : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                           : -1;
            if (d < 0) {
                *why = "not a hex digit (quote text: '\"abc\"')";
                goto fail;
            }
            if (half < 0) {
                half = d;
            } else {
                b[n++] = (unsigned char)(half * 16 + d);
                half = -1;
            }
        }
        if (half >= 0) {
            *why = "an odd number of hex digits";
            goto fail;
        }
    }
    if (n == 0) {
        *why = "nothing to find";
        goto fail;
    }
    *needle = b;
    *len = n;
    return true;
fail:
    free(b);
    return false;
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

static int set_mode(options *o, mode m)
{
    if (o->mode != MODE_NONE && o->mode != m)
        return report(EXIT_USAGE, "two output modes: %s and %s (give one)", mode_names[o->mode],
                      mode_names[m]);
    o->mode = m;
    return 0;
}

/* Shape text for messages: "(48, 64)", "(5,)", "()". */
static void shape_string(char *dst, size_t size, const ptrdiff_t *shape, int ndim)
{
    size_t n = 0;
    n += (size_t)snprintf(dst, size, "(");
    for (int i = 0; i < ndim && n < size; i++)
        n += (size_t)snprintf(dst + n, size - n, i ? ", %td" : "%td", shape[i]);
    if (n < size)
        snprintf(dst + n, size - n, ndim == 1 ? ",)" : ")");
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
static int check_format(const char *text, const char *opt, mv_format *fmt)
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

static int parse_args(int argc, char **argv, options *o)
{
    int rc;
    o->shape.ndim = -1;
    o->cast_shape.ndim = -1;
    o->order = 'C';
    o->hex_per = 1;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, ":f:s:o:w:h", long_options, NULL);
        if (c == -1)
            break;
        switch (c) {
        case 'f':
            o->format = optarg;
            o->typed = true;
            break;
        case 's': {
            const char *why = "";
            if (!parse_shape(optarg, &o->shape, &why))
                return report(EXIT_USAGE, "invalid shape '%s': %s", optarg, why);
            o->typed = true;
            break;
        }
        case 'o':
            if (!parse_count(optarg, &o->offset))
                return report(EXIT_USAGE, "invalid offset '%s': expected a byte count >= 0",
                              optarg);
            break;
        case 'w':
            if (!optarg[0])
                return report(EXIT_USAGE, "-w needs a file name");
            o->write_path = optarg;
            break;
        case OPT_ORDER:
            if (strcmp(optarg, "C") == 0 || strcmp(optarg, "c") == 0)
                o->order = 'C';
            else if (strcmp(optarg, "F") == 0 || strcmp(optarg, "f") == 0)
                o->order = 'F';
            else
                return report(EXIT_USAGE, "invalid --order '%s': expected C or F", optarg);
            o->typed = true;
            break;
        case OPT_CAST:
            free(o->cast_format);
            o->cast_format = NULL;
            o->cast_text = optarg;
            if ((rc = parse_cast(o)) != 0)
                return rc;
            break;
        case OPT_DUMP:
            if ((rc = set_mode(o, MODE_DUMP)) != 0)
                return rc;
            break;
        case OPT_INFO:
            if ((rc = set_mode(o, MODE_INFO)) != 0)
                return rc;
            break;
        case OPT_LIST:
            if ((rc = set_mode(o, MODE_LIST)) != 0)
                return rc;
            break;
        case OPT_JSON:
            if ((rc = set_mode(o, MODE_JSON)) != 0)
                return rc;
            break;
        case OPT_RAW:
            if ((rc = set_mode(o, MODE_RAW)) != 0)
                return rc;
            break;
        case OPT_HEX: {
            const char *arg = optarg;
            /* An optional argument in the next word (getopt only takes
             * --hex=ARG): consumed here, so getopt skips it. */
            if (!arg && optind < argc && looks_like_hex_arg(argv[optind]))
                arg = argv[optind++];
            if ((rc = set_mode(o, MODE_HEX)) != 0)
                return rc;
            o->hex_sep = 0;
            o->hex_per = 1;
            if (arg && !parse_hex_arg(arg, &o->hex_sep, &o->hex_per))
                return report(EXIT_USAGE,
                              "invalid --hex argument '%s': expected SEP[:N], SEP one ASCII "
                              "character, N an integer",
                              arg);
            break;
        }
        case OPT_FIND: {
            const char *why = "";
            if ((rc = set_mode(o, MODE_FIND)) != 0)
                return rc;
            free(o->needle);
            o->needle = NULL;
            if (!parse_needle(optarg, &o->needle, &o->needle_len, &why))
                return report(EXIT_USAGE, "invalid --find BYTES '%s': %s", optarg, why);
            break;
        }
        case OPT_SET:
            if ((rc = set_mode(o, MODE_SET)) != 0)
                return rc;
            o->set_text = optarg;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return fflush(stdout) == 0 ? -1 : EXIT_DATA;
        case OPT_VERSION:
            printf("mview (libmemview) %d.%d.%d\n", MV_VERSION_MAJOR, MV_VERSION_MINOR,
                   MV_VERSION_PATCH);
            return fflush(stdout) == 0 ? -1 : EXIT_DATA;
        case ':':
            if (optopt && optopt < 256)
                return report(EXIT_USAGE, "option '-%c' needs an argument", optopt);
            return report(EXIT_USAGE, "option '%s' needs an argument", argv[optind - 1]);
        default:
            if (optopt && optopt < 256)
                return report(EXIT_USAGE, "unknown option '-%c' (try 'mview --help')", optopt);
            return report(EXIT_USAGE, "unknown or ambiguous option '%s' (try 'mview --help')",
                          argv[optind - 1]);
        }
    }
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

/* ------------------------------------------------------------------------ *
 * The views
 * ------------------------------------------------------------------------ */

typedef struct app {
    options opt;
    mv_format fmt;      /* -f (or B) */
    mv_format cast_fmt; /* --cast's format, parsed for the usage check */
    mv_key keys[MAX_KEYS];
    int nkeys;
    const char *name; /* FILE as messages quote it */
    char quoted[PATH_MAX + 3];
    mv_object *source; /* the mapping or the bytearray */
    bool mapped;
    mv_view *whole;            /* 1-D bytes of the whole source */
    mv_view *bytes;            /* 1-D bytes from --offset */
    const unsigned char *base; /* bytes' first byte: file offset opt.offset */
    ptrdiff_t base_len;
    mv_view *view; /* the final view */
    out *o;
    bool out_opened;
} app;

/* The last reference releases the view (and, for the last view of the
 * source, the source's buffer). */
static void drop_view(mv_view **v)
{
    mv_decref(*v);
    *v = NULL;
}

/* Read all of fd into a bytearray, growing it as it fills. */
static int read_all(app *a, int fd)
{
    mv_error err;
    mv_error_clear(&err);
    size_t cap = CHUNK, len = 0;
    mv_object *ba = mv_bytearray_new(NULL, cap, &err);
    if (!ba)
        return report(EXIT_DATA, "reading %s: %s", a->name, err.message);
    for (;;) {
        if (len == cap) {
            if (cap > (size_t)PTRDIFF_MAX / 2) {
                mv_decref(ba);
                return report(EXIT_DATA, "reading %s: too large", a->name);
            }
            cap *= 2;
            if (mv_bytearray_resize(ba, cap, &err) < 0) {
                mv_decref(ba);
                return report(EXIT_DATA, "reading %s: %s", a->name, err.message);
            }
        }
        size_t n;
        unsigned char *data = mv_object_data(ba, &n);
        ssize_t r = read(fd, data + len, cap - len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            mv_decref(ba);
            return report(EXIT_DATA, "reading %s: %s", a->name, strerror(e));
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    if (mv_bytearray_resize(ba, len, &err) < 0) {
        mv_decref(ba);
        return report(EXIT_DATA, "reading %s: %s", a->name, err.message);
    }
    a->source = ba;
    if ((uintmax_t)a->opt.offset > (uintmax_t)len)
        return report(EXIT_DATA, "offset %td is past the end of %s (%zu bytes)", a->opt.offset,
                      a->name, len);
    a->whole = mv_view_new(ba, &err);
    if (!a->whole)
        return report(EXIT_DATA, "%s: %s", a->name, err.message);
    mv_key k = {.kind = MV_KEY_SLICE, .start = a->opt.offset, .has_start = true};
    a->bytes = mv_view_subscript(a->whole, &k, 1, &err);
    if (!a->bytes)
        return report(EXIT_DATA, "%s: %s", a->name, err.message);
    return 0;
}

static int open_source(app *a)
{
    const options *o = &a->opt;
    mv_error err;
    mv_error_clear(&err);
    if (strcmp(o->file, "-") == 0) {
        a->name = "standard input";
        return read_all(a, STDIN_FILENO);
    }
    snprintf(a->quoted, sizeof a->quoted, "'%s'", o->file);
    a->name = a->quoted;
    struct stat st;
    if (stat(o->file, &st) < 0)
        return report(EXIT_DATA, "%s: %s", a->name, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return report(EXIT_DATA, "%s: %s", a->name, strerror(EISDIR));
    if (!S_ISREG(st.st_mode)) {
        /* A pipe or a device cannot be mapped: read it like standard input. */
        if (o->mode == MODE_SET)
            return report(EXIT_DATA, "%s: --set needs a regular file", a->name);
        int fd = open(o->file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
            return report(EXIT_DATA, "%s: %s", a->name, strerror(errno));
        int rc = read_all(a, fd);
        close(fd);
        return rc;
    }
    if ((uintmax_t)o->offset > (uintmax_t)st.st_size)
        return report(EXIT_DATA, "offset %td is past the end of %s (%jd bytes)", o->offset, a->name,
                      (intmax_t)st.st_size);
    a->source = mv_mmap_open(o->file, o->mode == MODE_SET ? MV_MAP_WRITE : MV_MAP_READ, o->offset,
                             -1, &err);
    if (!a->source) {
        if (err.code == MV_EOS && err.os_errno)
            return report(EXIT_DATA, "%s: %s", a->name, strerror(err.os_errno));
        return report(EXIT_DATA, "%s", err.message);
    }
    a->mapped = true;
    a->bytes = mv_view_new(a->source, &err);
    if (!a->bytes)
        return report(EXIT_DATA, "%s: %s", a->name, err.message);
    return 0;
}

static void release_ref(void *ctx, void *mem)
{
    (void)mem;
    mv_decref(ctx);
}

/* -f/-s/--order: a typed view over the bytes, built as an external
 * layout whose release drops the reference it holds on the bytes view. */
static int make_typed(app *a)
{
    const options *o = &a->opt;
    const char *fmt_text = o->format ? o->format : "B";
    ptrdiff_t itemsize = a->fmt.itemsize;
    ptrdiff_t shape[MV_MAX_NDIM], strides[MV_MAX_NDIM];
    int ndim = 1;
    shape[0] = -1;
    if (o->shape.ndim >= 0) {
        ndim = o->shape.ndim;
        memcpy(shape, o->shape.dims, sizeof(ptrdiff_t) * (size_t)ndim);
    }
    char text[64 * 24];
    int unknown = -1;
    bool zero = false;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            unknown = i;
        else if (shape[i] == 0)
            zero = true;
    }
    /* The product of the known non-zero extents (with the item size) must
     * fit, even when another extent is 0, as NumPy requires: the strides
     * are built from it. */
    ptrdiff_t needed = itemsize;
    bool overflow = false;
    for (int i = 0; i < ndim && !overflow; i++) {
        if (i == unknown || shape[i] == 0)
            continue;
        if (needed > PTRDIFF_MAX / shape[i])
            overflow = true;
        else
            needed *= shape[i];
    }
    if (overflow) {
        shape_string(text, sizeof text, shape, ndim);
        return report(EXIT_DATA, "shape %s of format '%s' is too large", text, fmt_text);
    }
    if (unknown >= 0) {
        shape[unknown] = zero ? 0 : a->base_len / needed;
        needed *= shape[unknown];
    }
    if (zero)
        needed = 0;
    shape_string(text, sizeof text, shape, ndim);
    if (needed > a->base_len)
        return report(EXIT_DATA,
                      "shape %s of format '%s' needs %td bytes, but %s has %td after offset %td",
                      text, fmt_text, needed, a->name, a->base_len, o->offset);
    mv_fill_contiguous_strides(ndim, shape, strides, itemsize, o->order);
    mv_error err;
    mv_error_clear(&err);
    const mv_buffer *b = mv_view_buffer(a->bytes, &err);
    if (!b)
        return report(EXIT_DATA, "%s: %s", a->name, err.message);
    mv_buffer layout = {
        .buf = b->buf,
        .len = needed,
        .itemsize = itemsize,
        .readonly = b->readonly,
        .ndim = ndim,
        .format = fmt_text,
        .shape = shape,
        .strides = strides,
    };
    mv_object *ref = mv_view_object(a->bytes);
    mv_incref(ref);
    mv_object *ext = mv_external_new_layout(&layout, release_ref, ref, &err);
    if (!ext) {
        mv_decref(ref);
        return report(EXIT_DATA, "shape %s of format '%s': %s", text, fmt_text, err.message);
    }
    a->view = mv_view_new(ext, &err);
    mv_decref(ext);
    if (!a->view)
        return report(EXIT_DATA, "shape %s of format '%s': %s", text, fmt_text, err.message);
    return 0;
}

static int apply_cast(app *a)
{
    const options *o = &a->opt;
    mv_error err;
    mv_error_clear(&err);
    ptrdiff_t shape[MV_MAX_NDIM];
    int ndim = o->cast_shape.ndim;
    if (ndim >= 0) {
        memcpy(shape, o->cast_shape.dims, sizeof(ptrdiff_t) * (size_t)ndim);
        /* One -1: the extent that makes the sizes match (the library then
         * checks that they do). */
        ptrdiff_t known = a->cast_fmt.itemsize;
        int unknown = -1;
        for (int i = 0; i < ndim; i++) {
            if (shape[i] < 0)
                unknown = i;
            else if (shape[i] > 0 && known <= PTRDIFF_MAX / shape[i])
                known *= shape[i];
        }
        if (unknown >= 0) {
            const mv_buffer *b = mv_view_buffer(a->view, &err);
            shape[unknown] = b && known > 0 ? b->len / known : 0;
        }
    }
    mv_view *c = mv_view_cast(a->view, o->cast_format, ndim >= 0 ? shape : NULL, ndim, 0, &err);
    if (!c) {
        const mv_buffer *b = mv_view_buffer(a->view, NULL);
        char text[64 * 24];
        shape_string(text, sizeof text, b ? b->shape : NULL, b ? b->ndim : 0);
        return report(EXIT_DATA, "--cast '%s' of a view of shape %s, format '%s' (%td bytes): %s",
                      o->cast_text, text, b ? b->format : "?", b ? b->len : 0, err.message);
    }
    drop_view(&a->view);
    a->view = c;
    return 0;
}

static int apply_subscript(app *a)
{
    mv_error err;
    mv_error_clear(&err);
    mv_view *s = mv_view_subscript(a->view, a->keys, a->nkeys, &err);
    if (!s) {
        const mv_buffer *b = mv_view_buffer(a->view, NULL);
        char text[64 * 24];
        shape_string(text, sizeof text, b ? b->shape : NULL, b ? b->ndim : 0);
        return report(EXIT_DATA, "subscript '%s' on shape %s: %s", a->opt.subscript, text,
                      err.message);
    }
    drop_view(&a->view);
    a->view = s;
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
    case MV_VALUE_COMPLEX: {
        double re = v->v.c.re, im = v->v.c.im;
        if (l->json) {
            if (out_write(o, "[", 1) < 0 || put_double_json(o, re) < 0 ||
                out_write(o, ", ", 2) < 0 || put_double_json(o, im) < 0)
                return -1;
            return out_write(o, "]", 1);
        }
        char a[50], b[50];
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
    case MV_VALUE_BYTES:
        return l->json ? put_bytes_json(o, v->v.bytes.ptr, v->v.bytes.len)
                       : put_bytes_repr(o, v->v.bytes.ptr, v->v.bytes.len);
    case MV_VALUE_CHAR:
        if (l->json) {
            /* JSON escapes for quotes, backslash and controls; the rest as
             * \uXXXX (surrogate pairs above the BMP), always valid ASCII. */
            uint64_t c = v->v.u;
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
 * Outputs
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

static int do_info(app *a, const mv_buffer *b)
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

static int do_find(app *a, mv_error *err)
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

/* --set VALUE: the values one item takes, parsed by the codes of the
 * view's format. */

typedef struct setter {
    char *codes; /* one struct code per value */
    mv_value *values;
    unsigned char **owned; /* unescaped strings */
    ptrdiff_t n;
    unsigned char *item; /* the packed item (freed here, also after SIGBUS) */
} setter;

static void setter_clear(setter *s)
{
    for (ptrdiff_t i = 0; s->owned && i < s->n; i++)
        free(s->owned[i]);
    free(s->owned);
    free(s->values);
    free(s->codes);
    free(s->item);
}

static bool is_int_text(const char *t)
{
    if (*t == '+' || *t == '-')
        t++;
    if (t[0] == '0' && (t[1] == 'x' || t[1] == 'X'))
        return t[2] && strspn(t + 2, "0123456789abcdefABCDEF") == strlen(t + 2);
    return t[0] && strspn(t, "0123456789") == strlen(t);
}

static bool parse_double(const char *t, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(t, &end);
    return end != t && *end == '\0';
}

/* "a", "bj", "a+bj", "a-bj" (parentheses already gone). */
static bool parse_complex(const char *t, double *re, double *im)
{
    char *end;
    double x = strtod(t, &end);
    if (end == t)
        return false;
    if (*end == '\0') {
        *re = x;
        *im = 0;
        return true;
    }
    if ((*end == 'j' || *end == 'J') && end[1] == '\0') {
        *re = 0;
        *im = x;
        return true;
    }
    if (*end != '+' && *end != '-')
        return false;
    const char *s = end;
    double y = strtod(s, &end);
    if (end == s || !(*end == 'j' || *end == 'J') || end[1] != '\0')
        return false;
    *re = x;
    *im = y;
    return true;
}

/* One value token.  Returns 0, or an error already reported. */
static int parse_token(app *a, setter *s, ptrdiff_t i, char *tok)
{
    mv_value *v = &s->values[i];
    char code = s->codes[i];
    size_t len = strlen(tok);
    bool bytes_code = code == 'c' || code == 's' || code == 'p';
    if (len >= 2 && (tok[0] == '"' || tok[0] == '\'') && tok[len - 1] == tok[0]) {
        unsigned char *b = NULL;
        size_t n = 0;
        const char *why = "";
        if (len == 2) {
            b = malloc(1);
        } else if (!parse_needle(tok, &b, &n, &why)) {
            return report(EXIT_DATA, "--set '%s': invalid string %s: %s", a->opt.set_text, tok,
                          why);
        }
        if (!b)
            return report(EXIT_DATA, "out of memory");
        s->owned[i] = b;
        v->kind = MV_VALUE_BYTES;
        v->v.bytes.ptr = b;
        v->v.bytes.len = n;
        return 0;
    }
    if (bytes_code) {
        v->kind = MV_VALUE_BYTES;
        v->v.bytes.ptr = (const unsigned char *)tok;
        v->v.bytes.len = len;
        return 0;
    }
    if (strcmp(tok, "True") == 0 || strcmp(tok, "true") == 0 || strcmp(tok, "False") == 0 ||
        strcmp(tok, "false") == 0) {
        v->kind = MV_VALUE_BOOL;
        v->v.b = tok[0] == 'T' || tok[0] == 't';
        return 0;
    }
    if (code == 'F' || code == 'D') {
        char *t = tok;
        size_t n = strlen(t);
        if (n >= 2 && t[0] == '(' && t[n - 1] == ')') {
            t[n - 1] = '\0';
            t++;
        }
        double re, im;
        if (!parse_complex(t, &re, &im))
            return report(EXIT_DATA, "--set '%s': '%s' is not a complex number", a->opt.set_text,
                          tok);
        v->kind = MV_VALUE_COMPLEX;
        v->v.c.re = re;
        v->v.c.im = im;
        return 0;
    }
    if (is_int_text(tok)) {
        const char *t = tok;
        bool neg = *t == '-';
        if (*t == '+' || *t == '-')
            t++;
        int base = 10;
        if (t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
            base = 16;
            t += 2;
        }
        errno = 0;
        char *end;
        uintmax_t u = strtoumax(t, &end, base);
        if (errno == ERANGE || u > UINT64_MAX || (neg && u > (uintmax_t)INT64_MAX + 1))
            return report(EXIT_DATA, "--set '%s': %s does not fit format '%s'", a->opt.set_text,
                          tok, mv_view_buffer(a->view, NULL)->format);
        if (neg) {
            v->kind = MV_VALUE_SIGNED;
            v->v.i = u == (uintmax_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
        } else {
            v->kind = MV_VALUE_UNSIGNED;
            v->v.u = (uint64_t)u;
        }
        return 0;
    }
    double d;
    if (parse_double(tok, &d)) {
        v->kind = MV_VALUE_DOUBLE;
        v->v.d = d;
        return 0;
    }
    return report(EXIT_DATA, "--set '%s': '%s' is not a value for format '%s'", a->opt.set_text,
                  tok, mv_view_buffer(a->view, NULL)->format);
}

static char *trim(char *t)
{
    while (is_space(*t))
        t++;
    size_t n = strlen(t);
    while (n > 0 && is_space(t[n - 1]))
        t[--n] = '\0';
    return t;
}

/* Split VALUE into the values of one item (commas outside quotes,
 * optionally in parentheses), typed by the format's codes. */
static int parse_set_value(app *a, const mv_format *fmt, char *text, setter *s)
{
    s->n = fmt->nvalues;
    size_t n = (size_t)(s->n > 0 ? s->n : 1);
    s->codes = calloc(n, 1);
    s->values = calloc(n, sizeof *s->values);
    s->owned = calloc(n, sizeof *s->owned);
    if (!s->codes || !s->values || !s->owned)
        return report(EXIT_DATA, "out of memory");
    ptrdiff_t k = 0;
    for (int i = 0; i < fmt->nfields; i++) {
        const mv_field *f = &fmt->fields[i];
        if (f->code == 'x')
            continue;
        ptrdiff_t count = f->code == 's' || f->code == 'p' ? 1 : f->count;
        for (ptrdiff_t j = 0; j < count && k < s->n; j++)
            s->codes[k++] = f->code;
    }
    char *t = trim(text);
    size_t tl = strlen(t);
    bool complex1 = s->n == 1 && (s->codes[0] == 'F' || s->codes[0] == 'D');
    if (tl >= 2 && ((t[0] == '(' && t[tl - 1] == ')') || (t[0] == '[' && t[tl - 1] == ']')) &&
        !complex1) {
        t[tl - 1] = '\0';
        t = trim(t + 1);
    }
    /* Split at commas outside quotes. */
    ptrdiff_t got = 0;
    char *start = t, quote = 0;
    bool last_empty = false;
    for (char *p = t;; p++) {
        if (quote) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == quote)
                quote = 0;
            if (*p)
                continue;
        }
        if (*p == '"' || *p == '\'') {
            quote = *p;
            continue;
        }
        if (*p != ',' && *p != '\0')
            continue;
        bool end = *p == '\0';
        *p = '\0';
        char *tok = trim(start);
        last_empty = tok[0] == '\0';
        if (!(end && last_empty && got > 0)) {
            if (got < s->n) {
                if (last_empty)
                    return report(EXIT_DATA, "--set '%s': empty value", a->opt.set_text);
                int rc = parse_token(a, s, got, tok);
                if (rc != 0)
                    return rc;
            }
            got++;
        }
        if (end)
            break;
        start = p + 1;
    }
    if (got != s->n)
        return report(EXIT_DATA, "--set '%s': format '%s' takes %td value%s per item, not %td",
                      a->opt.set_text, mv_view_buffer(a->view, NULL)->format, s->n,
                      s->n == 1 ? "" : "s", got);
    return 0;
}

/* Whether every byte of an item belongs to a value (no 'x', no alignment
 * padding): then one packed item can be broadcast over the selection. */
static bool format_has_padding(const mv_format *fmt)
{
    ptrdiff_t covered = 0;
    for (int i = 0; i < fmt->nfields; i++) {
        const mv_field *f = &fmt->fields[i];
        if (f->code == 'x')
            continue;
        covered += f->code == 's' || f->code == 'p' ? f->size : f->count * f->size;
    }
    return covered != fmt->itemsize;
}

static int do_set(app *a, const mv_buffer *b, setter *s, mv_error *err)
{
    const mv_format *fmt = mv_view_format(a->view, err);
    if (!fmt)
        return err->code;
    /* Zero-size items ('0B') may come in more than PTRDIFF_MAX. */
    ptrdiff_t count = 1;
    bool empty = false;
    for (int i = 0; i < b->ndim; i++)
        empty |= b->shape[i] == 0;
    for (int i = 0; i < b->ndim && !empty; i++)
        if (__builtin_mul_overflow(count, b->shape[i], &count))
            return mv_error_set(err, MV_EOVERFLOW, "the selection has more than %td items",
                                PTRDIFF_MAX);
    if (empty)
        count = 0;
    unsigned char *item = s->item = calloc((size_t)b->itemsize, 1);
    if (!item)
        return mv_error_set(err, MV_ENOMEM, "out of memory");
    int rc = mv_format_pack(fmt, b->format, item, s->values, s->n, err);
    if (rc == 0 && count > 0) {
        if (!format_has_padding(fmt)) {
            ptrdiff_t zeros[MV_MAX_NDIM] = {0}, shape[MV_MAX_NDIM];
            if (b->ndim > 0)
                memcpy(shape, b->shape, sizeof(ptrdiff_t) * (size_t)b->ndim);
            mv_buffer src = {
                .buf = item,
                .len = b->len,
                .itemsize = b->itemsize,
                .readonly = 1,
                .ndim = b->ndim,
                .format = b->format,
                .shape = b->ndim ? shape : NULL,
                .strides = b->ndim ? zeros : NULL,
            };
            rc = mv_view_assign(a->view, NULL, 0, &src, err);
        } else {
            /* Item by item, so padding bytes stay as they were. */
            ptrdiff_t idx[MV_MAX_NDIM] = {0};
            for (ptrdiff_t k = 0; k < count && rc == 0; k++) {
                rc = mv_view_set_item(a->view, idx, b->ndim, s->values, s->n, err);
                for (int d = b->ndim - 1; d >= 0; d--) {
                    if (++idx[d] < b->shape[d])
                        break;
                    idx[d] = 0;
                }
            }
        }
    }
    if (rc < 0)
        return rc;
    if ((rc = mv_mmap_sync(a->source, 0, err)) < 0)
        return rc;
    if (out_printf(a->o, "%td item%s set\n", count, count == 1 ? "" : "s") < 0)
        return STOP_OUTPUT;
    return 0;
}

/* Everything the output loops allocate or keep, on the heap: after a
 * SIGBUS the loops' frames are gone, and this is how the memory they held
 * is still found and freed. */
typedef struct runstate {
    streamer st;
    dumper dump;
    lister list;
} runstate;

static void runstate_free(runstate *r)
{
    if (!r)
        return;
    free(r->st.buf);
    free(r);
}

/* Runs the output with the SIGBUS handler armed.  Returns 0, STOP_OUTPUT
 * (the output failed: o->error says why), an MV_E* code with err set, or
 * GOT_SIGBUS. */

static int run_output(app *a, runstate *r, const mv_buffer *b, setter *s, mv_error *err)
{
    /* No local of this function changes between sigsetjmp and the jump
     * back: the state lives in *a and *r. */
    if (sigsetjmp(bus_jump, 1) != 0)
        return GOT_SIGBUS;
    bus_armed = 1;
    int rc = 0;
    switch (a->opt.mode) {
    case MODE_DUMP: {
        dumper *d = &r->dump;
        d->o = a->o;
        if (mv_view_is_contiguous(a->view, 'C', NULL) == 1 && b->len > 0)
            d->addr = (uintmax_t)view_file_offset(a, b);
        rc = stream_bytes(&r->st, a->view, dump_sink, d, err);
        if (rc == 0 && d->n > 0)
            rc = dump_line(d);
        break;
    }
    case MODE_INFO:
        rc = do_info(a, b);
        break;
    case MODE_LIST:
    case MODE_JSON: {
        const mv_format *fmt = mv_view_format(a->view, err);
        if (!fmt) {
            rc = err->code;
            break;
        }
        lister *l = &r->list;
        l->o = a->o;
        l->json = a->opt.mode == MODE_JSON;
        /* As tolist: a record prints as a tuple even with one value. */
        l->tuple = fmt->nvalues != 1 || strchr(b->format, '{');
        mv_visitor v = {list_begin, list_item, list_end, l};
        rc = mv_view_traverse(a->view, &v, err);
        if (rc == 0 && out_write(a->o, "\n", 1) < 0)
            rc = STOP_OUTPUT;
        break;
    }
    case MODE_HEX:
        rc = stream_hex(&r->st, a->view, a->opt.hex_sep, a->opt.hex_per, a->o, err);
        if (rc == 0 && out_write(a->o, "\n", 1) < 0)
            rc = STOP_OUTPUT;
        break;
    case MODE_RAW:
        rc = stream_bytes(&r->st, a->view, raw_sink, a->o, err);
        break;
    case MODE_FIND:
        rc = do_find(a, err);
        break;
    case MODE_SET:
        rc = do_set(a, b, s, err);
        break;
    case MODE_NONE:
        break;
    }
    bus_armed = 0;
    return rc;
}

/* A selection that touches a small part of the bytes it spans (a strided
 * view): tell the kernel that the access is random, or every page fault
 * reads ahead (several MiB on some disks) around the one page it needs,
 * and a [::4096] walk over a large file reads most of it. */
static void advise_access(const app *a, const mv_buffer *b)
{
    if (!a->mapped || b->len == 0)
        return;
    const unsigned char *lo = b->buf, *hi = b->buf;
    for (int i = 0; i < b->ndim; i++) {
        if (b->strides[i] < 0)
            lo += b->strides[i] * (b->shape[i] - 1);
        else
            hi += b->strides[i] * (b->shape[i] - 1);
    }
    hi += b->itemsize;
    if ((uintmax_t)b->len * 2 >= (uintmax_t)(hi - lo))
        return;
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0)
        return;
    uintptr_t start = (uintptr_t)lo - (uintptr_t)lo % (uintptr_t)page;
    /* Advice only: a failure changes nothing but speed. */
    (void)posix_madvise((void *)start, (size_t)((uintptr_t)hi - start), POSIX_MADV_RANDOM);
}

static int open_output(app *a)
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

static int run(app *a)
{
    options *o = &a->opt;
    mv_error err;
    mv_error_clear(&err);
    int rc;

    /* Usage checks first: formats and the subscript parse before FILE is
     * touched. */
    if ((rc = check_format(o->format ? o->format : "B", "-f", &a->fmt)) != 0)
        return rc;
    if (o->cast_format && (rc = check_format(o->cast_format, "--cast", &a->cast_fmt)) != 0)
        return rc;
    if (o->subscript && mv_subscript_parse(o->subscript, a->keys, MAX_KEYS, &a->nkeys, &err) < 0)
        return report(err.code == MV_EVALUE ? EXIT_USAGE : EXIT_DATA, "%s", err.message);

    if ((rc = open_source(a)) != 0)
        return rc;
    const mv_buffer *b = mv_view_buffer(a->bytes, &err);
    if (!b)
        return report(EXIT_DATA, "%s: %s", a->name, err.message);
    a->base = b->buf;
    a->base_len = b->len;

    if (o->typed) {
        if ((rc = make_typed(a)) != 0)
            return rc;
    } else {
        mv_incref(mv_view_object(a->bytes));
        a->view = a->bytes;
    }
    if (o->cast_format && (rc = apply_cast(a)) != 0)
        return rc;
    if (o->subscript && (rc = apply_subscript(a)) != 0)
        return rc;
    if (!(b = mv_view_buffer(a->view, &err)))
        return report(EXIT_DATA, "%s", err.message);
    if (o->mode == MODE_NONE)
        o->mode = b->ndim == 1 && b->itemsize == 1 ? MODE_DUMP : MODE_LIST;
    if (o->mode != MODE_INFO)
        advise_access(a, b);

    setter s = {0};
    char *set_text = NULL; /* bytes values point into it */
    if (o->mode == MODE_SET) {
        if (b->readonly)
            return report(EXIT_DATA, "%s: the view is read-only", a->name);
        const mv_format *fmt = mv_view_format(a->view, &err);
        if (!fmt)
            return report(EXIT_DATA, "%s", err.message);
        size_t n = strlen(o->set_text);
        if (!(set_text = malloc(n + 1)))
            return report(EXIT_DATA, "out of memory");
        memcpy(set_text, o->set_text, n + 1);
        rc = parse_set_value(a, fmt, set_text, &s);
    }
    runstate *r = NULL;
    if (rc == 0)
        rc = open_output(a);
    if (rc == 0 && !(r = calloc(1, sizeof *r)))
        rc = report(EXIT_DATA, "out of memory");
    if (rc == 0)
        rc = run_output(a, r, b, &s, &err);
    runstate_free(r);
    setter_clear(&s);
    free(set_text);
    if (rc > 0 && rc != STOP_OUTPUT && rc != GOT_SIGBUS)
        return rc; /* reported already */

    if (rc == GOT_SIGBUS) {
        /* What was formatted before the fault is still written. */
        out_flush(a->o);
        const unsigned char *at = bus_addr;
        if (a->base && at >= a->base && at < a->base + a->base_len)
            return report(EXIT_DATA,
                          "%s: SIGBUS at file offset %jd: the file shrank while mapped "
                          "(truncated by another process%s)",
                          a->name, (intmax_t)(o->offset + (at - a->base)),
                          o->mode == MODE_SET ? ", or no space left for the write" : "");
        return report(EXIT_DATA, "%s: SIGBUS: the file shrank while mapped", a->name);
    }
    if (rc < 0) {
        if (o->mode == MODE_FIND)
            return report(EXIT_DATA, "--find on a view of ndim %d, format '%s': %s", b->ndim,
                          b->format, err.message);
        if (o->mode == MODE_SET)
            return report(EXIT_DATA, "--set '%s': %s", o->set_text, err.message);
        return report(EXIT_DATA, "%s", err.message);
    }
    if (out_flush(a->o) < 0 || rc == STOP_OUTPUT) {
        /* The reader went away (e.g. `| head`): not an error of ours. */
        if (a->o->error == EPIPE)
            return 0;
        return report(EXIT_DATA, "writing %s: %s", a->o->name, strerror(a->o->error));
    }
    if (a->out_opened) {
        a->out_opened = false;
        if (close(a->o->fd) < 0)
            return report(EXIT_DATA, "writing %s: %s", a->o->name, strerror(errno));
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    /* EPIPE instead of death, so `mview ... | head` ends quietly. */
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = NULL;
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGBUS, &sa, NULL);

    app *a = calloc(1, sizeof *a);
    out *o = malloc(sizeof *o);
    if (!a || !o) {
        free(a);
        free(o);
        return report(EXIT_DATA, "out of memory");
    }
    memset(o, 0, offsetof(out, buf));
    a->o = o;
    int rc = parse_args(argc, argv, &a->opt);
    if (rc == 0)
        rc = run(a);
    else if (rc < 0)
        rc = 0; /* --help, --version */

    if (a->out_opened)
        close(o->fd);
    drop_view(&a->view);
    drop_view(&a->bytes);
    drop_view(&a->whole);
    mv_decref(a->source);
    mv_format_clear(&a->fmt);
    mv_format_clear(&a->cast_fmt);
    free(a->opt.cast_format);
    free(a->opt.needle);
    free(a);
    free(o);
    return rc;
}
