/* mview's own header: the types and functions its files share.  Like
 * every file of the tool, it sees nothing of the library but the public
 * header (include/memview.h).
 *
 * The files, in the order the pipeline uses them (docs/mview.1):
 *   options.c  the command line: parse_args, the usage text, format checks
 *   input.c    FILE -> the final view: the mapping (or standard input and
 *              other non-regular files read into memory), the typed view
 *              of -f/-s/--order, --cast, SUBSCRIPT
 *   output.c   buffered output on a descriptor (out_*), the chunked
 *              streaming, and every output but --set: --dump, --list,
 *              --json, --hex, --raw, --info, --find
 *   set.c      --set: VALUE -> the values of one item, written through a
 *              read-write mapping
 *   main.c     main, run, errors (report), the SIGBUS handler (the only
 *              file-scope mutable state) and the output dispatch
 *
 * Functions return 0 on success; an int result that is not 0 is an exit
 * status already reported (EXIT_USAGE, EXIT_DATA), one of the internal
 * results below, or a library error code (negative, MV_E*) with the
 * mv_error filled in, as each comment says. */
#ifndef MVIEW_H
#define MVIEW_H

#include <memview.h>

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

/* Exit statuses besides 0 (the man page's EXIT STATUS). */
enum { EXIT_USAGE = 1, EXIT_DATA = 2 };

/* Bytes copied out of the view per step, and the output buffer size. */
enum { CHUNK = 1 << 16, OUT_BUF = 1 << 16 };

/* Room for keys: every dimension indexed plus new axes. */
enum { MAX_KEYS = 2 * MV_MAX_NDIM };

/* Internal results, apart from exit statuses and the library's negative
 * codes: a visitor's "stop: the output failed", and "SIGBUS caught". */
enum { STOP_OUTPUT = 1001, GOT_SIGBUS = 1002 };

/* The output mode: one of the output options, or none given yet (run
 * picks --dump or --list from the final view). */
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

/* A shape from -s or --cast: extents >= 0 and at most one -1. */
typedef struct shape_spec {
    int ndim; /* -1: not given */
    ptrdiff_t dims[MV_MAX_NDIM];
} shape_spec;

/* The parsed command line.  The texts point into argv, except the two
 * owned fields, which options_clear frees. */
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

/* Buffered output on a descriptor.  A failed write sets `error` (errno)
 * and every later write fails at once, so the walks stop.  The descriptor
 * is the caller's to close. */
typedef struct out {
    int fd;
    const char *name; /* for messages: "standard output" or the -w file */
    int error;
    size_t n;
    char buf[OUT_BUF];
} out;

/* One run: the options, the views from FILE to the final one, the output.
 * Everything in it is owned by it and freed by main, whatever failed. */
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
    bool out_opened; /* o->fd is the -w file, still to close */
} app;

/* --set VALUE: the values one item takes, parsed by the codes of the
 * view's format.  Owns all its memory (setter_clear frees it, also after
 * a SIGBUS); starts zeroed. */
typedef struct setter {
    char *text;  /* VALUE's copy, cut into tokens: bytes values point into it */
    char *codes; /* one struct code per value */
    mv_value *values;
    unsigned char **owned; /* unescaped strings */
    ptrdiff_t n;
    unsigned char *item; /* the packed item */
} setter;

/* What the output loops allocate or keep (output.c), on the heap so that
 * it is still found and freed after a SIGBUS. */
typedef struct runstate runstate;

/* main.c */

/* One line on standard error, "mview: " first; returns status. */
int report(int status, const char *fmt, ...) MV_PRINTF(2, 3);

/* options.c */

/* argv -> *o (zeroed by the caller): 0, -1 after --help or --version
 * (printed; exit 0), or a status already reported. */
int parse_args(int argc, char **argv, options *o);
/* Frees what *o owns. */
void options_clear(options *o);
/* Parses a format text for option opt ("-f", "--cast") into *fmt, which
 * the caller then clears; a format that does not parse is a usage error. */
int check_format(const char *text, const char *opt, mv_format *fmt);
/* C's white space, in the C locale. */
bool is_space(char c);
/* BYTES text (hex digits, or quoted text with escapes) -> *needle (owned
 * by the caller, *len > 0 bytes); on failure *why says why. */
bool parse_needle(const char *text, unsigned char **needle, size_t *len, const char **why);

/* input.c */

/* FILE, --offset, -f/-s/--order, --cast and SUBSCRIPT -> a->view (and
 * the views and source before it). */
int open_view(app *a);
/* Drops the reference *v holds (the last one releases the view) and sets
 * it to NULL. */
void drop_view(mv_view **v);
/* Read-ahead advice for the mapping, from how sparse the view b is. */
void advise_access(const app *a, const mv_buffer *b);

/* output.c */

int out_flush(out *o);
int out_write(out *o, const void *data, size_t n);
int out_puts(out *o, const char *s);
int out_printf(out *o, const char *fmt, ...) MV_PRINTF(2, 3);
/* Points a->o at standard output or the -w file (then a->out_opened). */
int open_output(app *a);
/* A zeroed runstate, or NULL (out of memory); runstate_free takes NULL. */
runstate *runstate_new(void);
void runstate_free(runstate *r);
/* The outputs of the final view a->view, whose buffer is b: 0,
 * STOP_OUTPUT (a->o->error says why) or an MV_E* code with err set. */
int output_dump(app *a, runstate *r, const mv_buffer *b, mv_error *err);
int output_list(app *a, runstate *r, const mv_buffer *b, mv_error *err);
int output_hex(app *a, runstate *r, mv_error *err);
int output_raw(app *a, runstate *r, mv_error *err);
int output_info(app *a, const mv_buffer *b);
int output_find(app *a, mv_error *err);

/* set.c */

/* Checks that the final view (buffer b) can be set and parses --set's
 * VALUE into *s (zeroed by the caller). */
int set_prepare(app *a, const mv_buffer *b, setter *s);
/* Writes s's item into every item of the view (buffer b), syncs the
 * mapping and prints the count: 0, STOP_OUTPUT or an MV_E* code. */
int set_apply(app *a, const mv_buffer *b, setter *s, mv_error *err);
void setter_clear(setter *s);

#endif
