/* mview: typed, strided, zero-copy windows into binary files.
 *
 * The pipeline is the one the man page (docs/mview.1) describes: FILE is
 * mapped (standard input and other non-regular files are read into a
 * bytearray) -> a 1-D bytes view from --offset -> the typed view of -f/-s/
 * --order (an external layout over the same bytes) -> --cast -> SUBSCRIPT
 * -> one output.  Only the public libmemview API is used.  mview.h maps
 * the files; this one holds main, run, the error reporting, and the SIGBUS
 * handling around the output.
 *
 * Reading a mapping whose file shrank raises SIGBUS; the handler jumps
 * back to the output loop, which reports it and exits 2. */
#include "mview.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ *
 * Errors: one line on standard error, "mview: " first.
 * ------------------------------------------------------------------------ */

int report(int status, const char *fmt, ...)
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
 * reach nothing else.  The handler is armed only around the output loops
 * (run_output), and nothing outside this file touches it.
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

/* SIGPIPE ignored: EPIPE instead of death, so `mview ... | head` ends
 * quietly.  SIGBUS to on_sigbus. */
static void install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = NULL;
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGBUS, &sa, NULL);
}

/* Runs the output with the SIGBUS handler armed.  Returns 0, STOP_OUTPUT
 * (the output failed: o->error says why), an MV_E* code with err set, a
 * status already reported, or GOT_SIGBUS. */
static int run_output(app *a, runstate *r, const mv_buffer *b, setter *s, mv_error *err)
{
    /* No local of this function changes between sigsetjmp and the jump
     * back: the state lives in *a, *r and *s. */
    if (sigsetjmp(bus_jump, 1) != 0)
        return GOT_SIGBUS;
    bus_armed = 1;
    int rc = 0;
    switch (a->opt.mode) {
    case MODE_DUMP:
        rc = output_dump(a, r, b, err);
        break;
    case MODE_INFO:
        rc = output_info(a, b);
        break;
    case MODE_LIST:
    case MODE_JSON:
        rc = output_list(a, r, b, err);
        break;
    case MODE_HEX:
        rc = output_hex(a, r, err);
        break;
    case MODE_RAW:
        rc = output_raw(a, r, err);
        break;
    case MODE_FIND:
        rc = output_find(a, err);
        break;
    case MODE_SET:
        rc = set_apply(a, b, s, err);
        break;
    case MODE_NONE:
        break;
    }
    bus_armed = 0;
    return rc;
}

/* What was formatted before the fault is still written; then the fault,
 * with its file offset when it was in the mapped bytes. */
static int report_sigbus(app *a)
{
    const options *o = &a->opt;
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

/* ------------------------------------------------------------------------ *
 * One run
 * ------------------------------------------------------------------------ */

/* Usage checks first: formats and the subscript parse before FILE is
 * touched. */
static int check_usage(app *a)
{
    const options *o = &a->opt;
    mv_error err;
    mv_error_clear(&err);
    int rc;
    if ((rc = check_format(o->format ? o->format : "B", "-f", &a->fmt)) != 0)
        return rc;
    if (o->cast_format && (rc = check_format(o->cast_format, "--cast", &a->cast_fmt)) != 0)
        return rc;
    if (o->subscript && mv_subscript_parse(o->subscript, a->keys, MAX_KEYS, &a->nkeys, &err) < 0)
        return report(err.code == MV_EVALUE ? EXIT_USAGE : EXIT_DATA, "%s", err.message);
    return 0;
}

/* run_output's result (rc, err) as an exit status, reported; on success
 * the output flushed and the -w file closed. */
static int finish(app *a, const mv_buffer *b, int rc, const mv_error *err)
{
    const options *o = &a->opt;
    if (rc > 0 && rc != STOP_OUTPUT && rc != GOT_SIGBUS)
        return rc; /* reported already */
    if (rc == GOT_SIGBUS)
        return report_sigbus(a);
    if (rc < 0) {
        if (o->mode == MODE_FIND)
            return report(EXIT_DATA, "--find on a view of ndim %d, format '%s': %s", b->ndim,
                          b->format, err->message);
        if (o->mode == MODE_SET)
            return report(EXIT_DATA, "--set '%s': %s", o->set_text, err->message);
        return report(EXIT_DATA, "%s", err->message);
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

static int run(app *a)
{
    options *o = &a->opt;
    mv_error err;
    mv_error_clear(&err);
    int rc;
    if ((rc = check_usage(a)) != 0 || (rc = open_view(a)) != 0)
        return rc;
    const mv_buffer *b = mv_view_buffer(a->view, &err);
    if (!b)
        return report(EXIT_DATA, "%s", err.message);
    if (o->mode == MODE_NONE)
        o->mode = b->ndim == 1 && b->itemsize == 1 ? MODE_DUMP : MODE_LIST;
    if (o->mode != MODE_INFO)
        advise_access(a, b);

    setter s = {0};
    if (o->mode == MODE_SET)
        rc = set_prepare(a, b, &s);
    runstate *r = NULL;
    if (rc == 0)
        rc = open_output(a);
    if (rc == 0 && !(r = runstate_new()))
        rc = report(EXIT_DATA, "out of memory");
    if (rc == 0)
        rc = run_output(a, r, b, &s, &err);
    runstate_free(r);
    setter_clear(&s);
    return finish(a, b, rc, &err);
}

/* Frees everything a run may have left in *a, whatever failed. */
static void app_free(app *a)
{
    if (a->out_opened)
        close(a->o->fd);
    drop_view(&a->view);
    drop_view(&a->bytes);
    drop_view(&a->whole);
    mv_decref(a->source);
    mv_format_clear(&a->fmt);
    mv_format_clear(&a->cast_fmt);
    options_clear(&a->opt);
    free(a->o);
    free(a);
}

int main(int argc, char **argv)
{
    install_handlers();
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
    app_free(a);
    return rc;
}
