/* Fuzz target: mview's command line, run in process.
 *
 * The files of tools/mview/ are compiled in with -Dmain=mview_main, which
 * turns main.c's main into mview_main.  Each input gives a data file (the
 * bytes left after the argument bytes, or a pattern up to a size the input
 * picks; written as "data" into a scratch directory this process owns, and
 * also served as standard input for FILE "-") and an argv.  Two kinds of
 * input, chosen by the first byte:
 *
 *  - modelled: a 1-D byte view (-f B or none, -s N or -1, --order,
 *    --cast B[:N], -o in every spelling, FILE "data" or "-") with at most
 *    one slice subscript, and one of --raw (to standard output or -w),
 *    --set, --hex[=SEP[:N]], --list, --json, --dump (or no mode) and
 *    --find.  An independent model (Python slice semantics on the file's
 *    bytes after the offset, the man page's output formats) predicts the
 *    exit status and the exact output: nothing outside the selection;
 *    for --set the whole file afterwards (the selected bytes set, every
 *    other byte as it was; on failure nothing written).
 *  - free: options from docs/mview.1 with valid and malformed values,
 *    raw input bytes as words, in any order.
 *
 * Every run: the status is 0, 1 or 2 (the man page's EXIT STATUS); on
 * failure standard error is exactly one line starting "mview: ", on
 * success it is empty; no descriptor, mapping (/proc/self/maps) or heap
 * block (LeakSanitizer) outlives the call; the input file is unchanged
 * unless the argv can ask for --set or -w into it; and the same argv run
 * again on fresh copies of the files gives the same status, output,
 * error text and files (nothing leaks from one call into the next).
 *
 * Harness choices: raw words have '/' replaced and the call runs inside
 * the scratch directory, so no path an input makes (FILE, -w) reaches
 * outside it.  Output is bounded, because a view with a zero extent can
 * have 10^18 empty rows to list, which mview streams faithfully: standard
 * output is a sealed memfd that cannot grow past OUT_LIMIT (writes beyond
 * fail with EPERM), and -w files stop at W_LIMIT bytes (RLIMIT_FSIZE,
 * SIGXFSZ ignored; when standard error is a log file the limit is raised
 * by its size, so that reports from inside the call still reach it).
 * Standard error is captured by pointing the stderr FILE at a memory stream:
 * mview writes it only through fprintf(stderr), and fd 2 stays the real
 * one so that sanitizer and libFuzzer reports from inside the call are
 * seen.  getopt is reset with glibc's optind = 0. */
#include "fuzz_common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

int mview_main(int argc, char **argv);

/* Data files: up to MAX_DATA input bytes, or a pattern of up to BIG_DATA
 * bytes (beyond mview's 64 KiB chunks and read buffer).  OUT_LIMIT holds
 * every modelled output of BIG_DATA bytes (--list: 5 bytes an item). */
enum {
    MAX_DATA = 4096,
    BIG_DATA = 192 << 10,
    OUT_LIMIT = 1 << 20,
    W_LIMIT = 16 << 20,
    MAX_WORDS = 48,
    MAX_FILES = 16
};

/* ---- process-wide scratch state ------------------------------------------ */

static char scratch[PATH_MAX];
static int scratch_fd = -1, home_fd = -1, in_fd = -1;

/* Remove every entry of the directory dfd (mview creates files only). */
static void clear_dir(int dfd)
{
    int fd = dup(dfd);
    FUZZ_CHECK(fd >= 0);
    DIR *d = fdopendir(fd);
    FUZZ_CHECK(d);
    rewinddir(d);
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, ".."))
            unlinkat(dfd, e->d_name, 0);
    closedir(d);
}

static void remove_scratch(void)
{
    if (scratch_fd < 0)
        return;
    clear_dir(scratch_fd);
    close(scratch_fd);
    scratch_fd = -1;
    rmdir(scratch);
}

/* Scratch directories of fuzzer processes that died (a crash skips
 * atexit) are removed when the next one starts. */
static void remove_stale(const char *base)
{
    DIR *d = opendir(base);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        long pid;
        char rest;
        if (sscanf(e->d_name, "mvfz-mview.%ld%c", &pid, &rest) != 1 || pid <= 0)
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", base, e->d_name);
        int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            clear_dir(dfd);
            close(dfd);
        }
        rmdir(path);
    }
    closedir(d);
}

static void setup(void)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    remove_stale(base);
    snprintf(scratch, sizeof scratch, "%s/mvfz-mview.%ld", base, (long)getpid());
    FUZZ_CHECK(mkdir(scratch, 0700) == 0 || errno == EEXIST);
    scratch_fd = open(scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    home_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    in_fd = memfd_create("mview-stdin", MFD_CLOEXEC);
    FUZZ_CHECK(scratch_fd >= 0 && home_fd >= 0 && in_fd >= 0);
    atexit(remove_scratch);
}

/* ---- argv ------------------------------------------------------------------ */

typedef struct args {
    int n;
    char *w[MAX_WORDS];
} args;

static void add(args *a, const char *s)
{
    if (a->n < MAX_WORDS) {
        a->w[a->n] = strdup(s);
        FUZZ_CHECK(a->w[a->n]);
        a->n++;
    }
}

static void addf(args *a, const char *fmt, ...) MV_PRINTF(2, 3);
static void addf(args *a, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    add(a, buf);
}

static void args_free(args *a)
{
    for (int i = 0; i < a->n; i++)
        free(a->w[i]);
    a->n = 0;
}

/* Two input bytes, big-endian (one read after the other: the operands of
 * one expression would be unsequenced). */
static uint16_t u16(fz *f)
{
    uint16_t hi = fz_u8(f);
    return (uint16_t)(hi << 8 | fz_u8(f));
}

/* Up to 24 input bytes as a word; '/' is replaced so that no path leaves
 * the scratch directory. */
static void raw_word(fz *f, char *buf)
{
    size_t n = fz_u8(f) % 25;
    size_t got;
    const uint8_t *p = fz_bytes(f, n, &got);
    size_t k = 0;
    for (size_t i = 0; i < got && p[i]; i++)
        buf[k++] = p[i] == '/' ? '|' : (char)p[i];
    buf[k] = '\0';
}

/* The data file: the next input bytes (up to MAX_DATA), or with the
 * selector's top bit a pattern of a size the input picks (with bit 6 up
 * to BIG_DATA).  malloc'd, room for BIG_DATA. */
static unsigned char *make_data(fz *f, uint8_t sel, size_t *n)
{
    unsigned char *data = malloc(BIG_DATA + 1);
    FUZZ_CHECK(data);
    if (sel & 0x80) {
        uint16_t r = u16(f);
        *n = sel & 0x40 ? (size_t)r * 4 % (BIG_DATA + 1) : r % (MAX_DATA + 1);
        for (size_t i = 0; i < *n; i++)
            data[i] = (unsigned char)(i * 37 + 11 + (i >> 8));
    } else {
        const uint8_t *p = fz_bytes(f, MAX_DATA, n);
        memcpy(data, p, *n);
    }
    return data;
}

/* ---- one call -------------------------------------------------------------- */

typedef struct result {
    int status;
    char *out;
    size_t out_len;
    char *err;
    size_t err_len;
    char *files; /* every file of the scratch directory: name, size, bytes */
    size_t files_len;
} result;

static void result_free(result *r)
{
    free(r->out);
    free(r->err);
    free(r->files);
    memset(r, 0, sizeof *r);
}

static int lowest_free_fd(void)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    FUZZ_CHECK(fd >= 0);
    close(fd);
    return fd;
}

/* Bytes of a file in the scratch directory (NULL when it does not exist). */
static char *read_scratch(const char *name, size_t *len)
{
    int fd = openat(scratch_fd, name, O_RDONLY | O_CLOEXEC);
    *len = 0;
    if (fd < 0)
        return NULL;
    struct stat st;
    FUZZ_CHECK(fstat(fd, &st) == 0);
    size_t n = S_ISREG(st.st_mode) ? (size_t)st.st_size : 0;
    char *p = malloc(n + 1);
    FUZZ_CHECK(p);
    FUZZ_CHECK(pread(fd, p, n, 0) == (ssize_t)n);
    close(fd);
    *len = n;
    return p;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The scratch directory as one byte string, for comparing two runs. */
static void snapshot(result *r)
{
    char *names[MAX_FILES];
    int n = 0;
    int fd = dup(scratch_fd);
    FUZZ_CHECK(fd >= 0);
    DIR *d = fdopendir(fd);
    FUZZ_CHECK(d);
    rewinddir(d);
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            /* Only "data" and -w files: far fewer than MAX_FILES. */
            FUZZ_CHECK(n < MAX_FILES);
            names[n] = strdup(e->d_name);
            FUZZ_CHECK(names[n]);
            n++;
        }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp_names);
    FILE *s = open_memstream(&r->files, &r->files_len);
    FUZZ_CHECK(s);
    for (int i = 0; i < n; i++) {
        size_t len;
        char *p = read_scratch(names[i], &len);
        fprintf(s, "%s%c%zu%c", names[i], 0, len, 0);
        if (p)
            fwrite(p, 1, len, s);
        free(p);
        free(names[i]);
    }
    fclose(s);
}

/* Whether any mapping of a file in the scratch directory is left. */
static bool scratch_mapped(void)
{
    FILE *m = fopen("/proc/self/maps", "r");
    FUZZ_CHECK(m);
    char line[PATH_MAX + 256];
    bool found = false;
    while (!found && fgets(line, sizeof line, m))
        found = strstr(line, scratch) != NULL;
    fclose(m);
    return found;
}

static void run_mview(const args *a, const unsigned char *data, size_t n, result *r)
{
    memset(r, 0, sizeof *r);
    /* Fresh files: "data" and standard input hold the input bytes, the
     * directory nothing else. */
    clear_dir(scratch_fd);
    int dfd = openat(scratch_fd, "data", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FUZZ_CHECK(dfd >= 0 && write(dfd, data, n) == (ssize_t)n);
    close(dfd);
    FUZZ_CHECK(ftruncate(in_fd, 0) == 0 && pwrite(in_fd, data, n, 0) == (ssize_t)n);
    FUZZ_CHECK(lseek(in_fd, 0, SEEK_SET) == 0);
    /* Standard output: OUT_LIMIT bytes that cannot grow (a write past
     * them fails with EPERM); what was written ends at the file offset. */
    int out_fd = memfd_create("mview-stdout", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    FUZZ_CHECK(out_fd >= 0 && ftruncate(out_fd, OUT_LIMIT) == 0);
    FUZZ_CHECK(fcntl(out_fd, F_ADD_SEALS, F_SEAL_GROW) == 0);

    /* getopt permutes argv: a fresh copy each run. */
    char *argv[MAX_WORDS + 1];
    memcpy(argv, a->w, sizeof(char *) * (size_t)a->n);
    argv[a->n] = NULL;

    int free_fd = lowest_free_fd();
    struct sigaction bus, pipe_, xfsz, ign;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGBUS, NULL, &bus);
    sigaction(SIGPIPE, NULL, &pipe_);
    sigaction(SIGXFSZ, &ign, &xfsz);
    /* -w files: RLIMIT_FSIZE, set above the size of the real standard
     * error when that is a file (a log), so that reports from inside the
     * call still reach it. */
    struct rlimit fsize, lim;
    FUZZ_CHECK(getrlimit(RLIMIT_FSIZE, &fsize) == 0);
    struct stat err_st;
    rlim_t want = W_LIMIT;
    if (fstat(2, &err_st) == 0 && S_ISREG(err_st.st_mode))
        want += (rlim_t)err_st.st_size;
    lim = fsize;
    if (lim.rlim_max == RLIM_INFINITY || lim.rlim_max > want)
        lim.rlim_cur = want;
    FUZZ_CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);

    FILE *errf = open_memstream(&r->err, &r->err_len);
    FUZZ_CHECK(errf);
    FILE *real_err = stderr;
    fflush(stdout);
    int saved_out = dup(1), saved_in = dup(0);
    FUZZ_CHECK(saved_out >= 0 && saved_in >= 0);
    FUZZ_CHECK(dup2(out_fd, 1) == 1 && dup2(in_fd, 0) == 0);
    FUZZ_CHECK(fchdir(scratch_fd) == 0);
    stderr = errf;
    optind = 0; /* glibc: reinitialise getopt completely */

    r->status = mview_main(a->n, argv);

    stderr = real_err;
    FUZZ_CHECK(fchdir(home_fd) == 0);
    fflush(stdout);
    FUZZ_CHECK(dup2(saved_out, 1) == 1 && dup2(saved_in, 0) == 0);
    close(saved_out);
    close(saved_in);
    FUZZ_CHECK(setrlimit(RLIMIT_FSIZE, &fsize) == 0);
    sigaction(SIGBUS, &bus, NULL);
    sigaction(SIGPIPE, &pipe_, NULL);
    sigaction(SIGXFSZ, &xfsz, NULL);
    fclose(errf);
#ifdef FUZZ_DEBUG
    /* -DFUZZ_DEBUG: each call's argv, status and error line. */
    for (int i = 0; i < a->n; i++)
        fprintf(stderr, "'%s' ", a->w[i]);
    fprintf(stderr, "-> %d %.*s", r->status, (int)r->err_len, r->err ? r->err : "");
    fprintf(stderr, "\n");
#endif

    off_t end = lseek(out_fd, 0, SEEK_CUR);
    FUZZ_CHECK(end >= 0 && end <= OUT_LIMIT);
    r->out_len = (size_t)end;
    r->out = malloc(r->out_len + 1);
    FUZZ_CHECK(r->out);
    FUZZ_CHECK(pread(out_fd, r->out, r->out_len, 0) == (ssize_t)r->out_len);

    /* Nothing outlives the call: descriptors, mappings. */
    FUZZ_CHECK(lowest_free_fd() == free_fd);
    FUZZ_CHECK(!scratch_mapped());
    close(out_fd);
    snapshot(r);
}

/* The checks every run gets. */
static void check_common(const result *r)
{
    FUZZ_CHECK(r->status == 0 || r->status == 1 || r->status == 2);
    if (r->status == 0) {
        FUZZ_CHECK(r->err_len == 0);
    } else {
        FUZZ_CHECK(r->err_len > 7 && memcmp(r->err, "mview: ", 7) == 0);
        FUZZ_CHECK(r->err[r->err_len - 1] == '\n');
        FUZZ_CHECK(memchr(r->err, '\n', r->err_len) == r->err + r->err_len - 1);
    }
}

static bool same_result(const result *x, const result *y)
{
    return x->status == y->status && x->out_len == y->out_len && x->err_len == y->err_len &&
           x->files_len == y->files_len && memcmp(x->out, y->out, x->out_len) == 0 &&
           memcmp(x->err, y->err, x->err_len) == 0 && memcmp(x->files, y->files, x->files_len) == 0;
}

/* ---- the modelled case ---------------------------------------------------- */

typedef struct slice_spec {
    bool present;
    bool has[3];
    ptrdiff_t v[3];
    bool overflow[3]; /* written as an integer outside ptrdiff_t */
    int parts;        /* 2 or 3 */
} slice_spec;

/* Python's slice.indices() for a sequence of length len: start, step and
 * the number of items (step != 0). */
static ptrdiff_t selection_slice(ptrdiff_t len, const slice_spec *s, ptrdiff_t *start,
                                 ptrdiff_t *step)
{
    ptrdiff_t st = s->present && s->has[2] ? s->v[2] : 1;
    ptrdiff_t lower = st < 0 ? -1 : 0, upper = st < 0 ? len - 1 : len;
    ptrdiff_t b[2];
    for (int i = 0; i < 2; i++) {
        if (!s->present || !s->has[i]) {
            b[i] = (i == 0) == (st < 0) ? upper : lower;
            continue;
        }
        ptrdiff_t x = s->v[i];
        if (x < 0) {
            x += len;
            if (x < lower)
                x = lower;
        } else if (x > upper) {
            x = upper;
        }
        b[i] = x;
    }
    *start = b[0];
    *step = st;
    uint64_t mag = st < 0 ? 0 - (uint64_t)st : (uint64_t)st;
    if (st > 0)
        return b[1] > b[0] ? (ptrdiff_t)((uint64_t)(b[1] - b[0] - 1) / mag) + 1 : 0;
    return b[0] > b[1] ? (ptrdiff_t)((uint64_t)(b[0] - b[1] - 1) / mag) + 1 : 0;
}

/* A slice bound: mostly small or near the length, sometimes extreme. */
static ptrdiff_t model_bound(fz *f, ptrdiff_t len, bool *overflow)
{
    uint8_t k = fz_u8(f);
    *overflow = false;
    switch (k % 8) {
    case 0:
        return k & 8 ? PTRDIFF_MIN + (k >> 4) : PTRDIFF_MAX - (k >> 4);
    case 1:
        *overflow = k == 1;
        return len + (ptrdiff_t)(k >> 3) - 16;
    case 2:
        return -len + (ptrdiff_t)(k >> 3) - 16;
    default:
        return (ptrdiff_t)(k >> 3) - 12;
    }
}

static void put_bound(char *dst, size_t room, ptrdiff_t v, bool overflow)
{
    if (overflow)
        snprintf(dst, room, "%s", v < 0 ? "-99999999999999999999" : "99999999999999999999");
    else
        snprintf(dst, room, "%td", v);
}

static void slice_text(const slice_spec *s, uint8_t style, bool dashdash, char *out, size_t room)
{
    char parts[3][32] = {"", "", ""};
    for (int i = 0; i < 3; i++)
        if (s->has[i])
            put_bound(parts[i], sizeof parts[i], s->v[i], s->overflow[i]);
    const char *sp = style & 1 ? " " : "";
    char body[160];
    if (s->parts == 2)
        snprintf(body, sizeof body, "%s%s:%s%s", parts[0], sp, sp, parts[1]);
    else
        snprintf(body, sizeof body, "%s:%s%s:%s", parts[0], parts[1], sp, parts[2]);
    /* An ellipsis before or after is the same key on a 1-D view. */
    const char *pre = (style >> 1) % 4 == 1 ? "..., " : "";
    const char *post = (style >> 1) % 4 == 2 ? ", ..." : "";
    /* Unbracketed text that starts with '-' is an option, unless after --. */
    bool bracket = (style & 8) || pre[0] || (body[0] == '-' && !dashdash);
    snprintf(out, room, "%s%s%s%s%s", bracket ? "[" : "", pre, body, post, bracket ? "]" : "");
}

enum { M_RAW, M_RAW_W, M_SET, M_HEX, M_LIST, M_JSON, M_DUMP, M_DEFAULT, M_FIND, M_COUNT };

typedef struct expect {
    int status;
    char *out; /* what standard output (or the -w file) must hold */
    size_t out_len;
    unsigned char *file; /* "data" afterwards */
} expect;

static void outc(expect *e, char c)
{
    e->out[e->out_len++] = c;
}

static void outs(expect *e, const char *s)
{
    size_t n = strlen(s);
    memcpy(e->out + e->out_len, s, n);
    e->out_len += n;
}

static const char hexd[] = "0123456789abcdef";

/* xxd's layout of bytes whose first address is addr. */
static void model_dump(expect *e, const unsigned char *b, size_t n, uintmax_t addr)
{
    char text[96];
    for (size_t at = 0; at < n; at += 16) {
        size_t k = (size_t)snprintf(text, sizeof text, "%08jx: ", addr + at);
        size_t m = n - at < 16 ? n - at : 16;
        for (size_t j = 0; j < 16; j++) {
            text[k++] = j < m ? hexd[b[at + j] >> 4] : ' ';
            text[k++] = j < m ? hexd[b[at + j] & 15] : ' ';
            if (j % 2 == 1 && j < 15)
                text[k++] = ' ';
        }
        text[k++] = ' ';
        text[k++] = ' ';
        for (size_t j = 0; j < m; j++)
            text[k++] = b[at + j] >= 0x20 && b[at + j] < 0x7f ? (char)b[at + j] : '.';
        text[k++] = '\n';
        text[k] = '\0';
        outs(e, text);
    }
}

/* bytes.hex(sep, per) (CPython): separators between groups of |per|
 * bytes counted from the right for per > 0, from the left for per < 0. */
static void model_hex(expect *e, const unsigned char *b, size_t n, char sep, long per)
{
    uint64_t g = per < 0 ? (uint64_t)(-(int64_t)per) : (uint64_t)per;
    for (size_t i = 0; i < n; i++) {
        bool boundary =
            sep && g > 0 && i > 0 && (per < 0 ? (uint64_t)i % g == 0 : (uint64_t)(n - i) % g == 0);
        if (boundary)
            outc(e, sep);
        outc(e, hexd[b[i] >> 4]);
        outc(e, hexd[b[i] & 15]);
    }
    outc(e, '\n');
}

static void modelled(fz *f, uint8_t first)
{
    args a = {0};
    /* ---- the file ---- */
    uint8_t hdr = fz_u8(f);
    int mode = (first >> 1) % M_COUNT;
    bool use_stdin = hdr % 5 == 0;

    /* Groups of words, shuffled below; group g is words [start[g], end). */
    char words[16][200];
    int nw = 0, gstart[10], ng = 0;
    uint8_t ok = fz_u8(f);
    ptrdiff_t off = 0;
    bool off_overflow = false;
    uint16_t offraw = u16(f);
    /* ---- shape, format, order, cast ---- */
    uint8_t sk = fz_u8(f), fk = fz_u8(f), ck = fz_u8(f);
    uint16_t shape_raw = u16(f);
    uint8_t cast_delta = fz_u8(f);
    /* ---- subscript ---- */
    slice_spec s;
    memset(&s, 0, sizeof s);
    uint8_t subk = fz_u8(f);
    s.present = subk % 4 != 0;
    s.parts = subk & 4 ? 3 : 2;
    uint8_t has = fz_u8(f);
    for (int i = 0; i < 3; i++)
        s.has[i] = (has >> i) & 1 && (i < 2 || s.parts == 3);
    /* The bounds are drawn against the length, known once the file is. */
    uint8_t bound_bytes[3];
    for (int i = 0; i < 3; i++)
        bound_bytes[i] = fz_u8(f);
    uint8_t style = fz_u8(f);
    /* ---- mode argument ---- */
    uint8_t mk = fz_u8(f), mk2 = fz_u8(f), mk3 = fz_u8(f);
    uint8_t order_seed = fz_u8(f);

    size_t n;
    unsigned char *data = make_data(f, hdr, &n);

    /* The offset, now that the size is known: mostly inside the file. */
    switch (ok % 8) {
    case 0:
        off = 0;
        break;
    case 1:
        off = (ptrdiff_t)n + (ptrdiff_t)(offraw % 3);
        break;
    case 2:
        off_overflow = true;
        break;
    default:
        off = (ptrdiff_t)(offraw % (n + 1));
        break;
    }
    if (ok % 8 != 0 || (ok & 0x40)) {
        /* The man page's spellings: decimal or 0x hex, one word or two;
         * a value beyond ptrdiff_t is a usage error. */
        static const char *const too_big[] = {"99999999999999999999", "0x1ffffffffffffffff",
                                              "9223372036854775808"};
        static const char *const opt[] = {"-o", "-o", "--offset=", "--offset", "--off=", "-o"};
        int sp = (ok >> 3) % 6;
        char text[32];
        if (off_overflow)
            snprintf(text, sizeof text, "%s", too_big[sp % 3]);
        else if (sp == 2 || sp == 4)
            snprintf(text, sizeof text, sp == 2 ? "0x%tx" : "0X%tX", off);
        else
            snprintf(text, sizeof text, sp == 3 ? " %td " : "%td", off);
        gstart[ng++] = nw;
        if (sp == 1 || sp == 2 || sp == 4) {
            snprintf(words[nw++], 200, "%s%s", opt[sp], text);
        } else {
            snprintf(words[nw++], 200, "%s", opt[sp]);
            snprintf(words[nw++], 200, "%s", text);
        }
    }
    ptrdiff_t remain = off_overflow || (size_t)off > n ? 0 : (ptrdiff_t)n - off;

    /* -s: none, -1, or N (sometimes more than fits). */
    ptrdiff_t shape_n = -1;
    bool shaped = sk % 3 != 0;
    if (shaped) {
        gstart[ng++] = nw;
        if (sk % 3 == 2) {
            shape_n = (ptrdiff_t)(shape_raw % (remain + 3));
            if (shape_raw & 0x8000)
                shape_n = remain;
        }
        static const char *const wrap[][2] = {{"", ""}, {"(", ",)"}, {"[", "]"}, {" ", " , "}};
        int w = (sk >> 2) % 4;
        snprintf(words[nw++], 200, sk & 0x40 ? "--shape" : "-s");
        snprintf(words[nw++], 200, "%s%td%s", wrap[w][0], shape_n, wrap[w][1]);
    }
    ptrdiff_t len = shape_n >= 0 ? shape_n : remain;
    if (fk % 3 != 0) {
        gstart[ng++] = nw;
        /* Unsigned bytes in every byte order; --find searches only the
         * native byte formats (the library's rule for byte search: '<B'
         * is refused as a data error, see mv_format_is_byte). */
        static const char *const fmts[] = {"B", "@B", "<B", "=B", ">B", "!B"};
        snprintf(words[nw++], 200, fk & 4 ? "--format" : "-f");
        snprintf(words[nw++], 200, "%s", fmts[(fk >> 3) % (mode == M_FIND ? 2 : 6)]);
    }
    if (fk & 0x80) {
        gstart[ng++] = nw;
        snprintf(words[nw++], 200, "--order=%s",
                 (const char *[]){"C", "F", "c", "f"}[(fk >> 5) % 4]);
    }
    /* --cast B, B:-1 or B:N (N the length, or not). */
    int cast = ck % 4; /* 0 none, 1 B, 2 B:-1, 3 B:N */
    ptrdiff_t cast_n = len;
    if (cast) {
        gstart[ng++] = nw;
        snprintf(words[nw++], 200, "--cast");
        if (cast == 1) {
            snprintf(words[nw++], 200, "B");
        } else if (cast == 2) {
            snprintf(words[nw++], 200, "B:-1");
        } else {
            if (cast_delta % 4 == 0)
                cast_n = len + (ptrdiff_t)(cast_delta >> 2) % 3 - 1;
            snprintf(words[nw++], 200, "B:%td", cast_n);
        }
    }

    /* Bounds, drawn against the length of the view they slice. */
    for (int i = 0; i < 3; i++) {
        fz bf = {&bound_bytes[i], 1};
        s.v[i] = model_bound(&bf, len, &s.overflow[i]);
        s.overflow[i] = s.overflow[i] && s.has[i];
    }

    /* The mode and its argument. */
    bool set_valid = false;
    int set_value = 0;
    char sep = 0;
    long per = 1;
    unsigned char needle[8];
    size_t needle_len = 0;
    bool use_w = mode == M_RAW_W || (mode == M_SET && mk3 % 16 == 0);
    if (mode != M_DEFAULT)
        gstart[ng++] = nw;
    switch (mode) {
    case M_RAW:
    case M_RAW_W:
        snprintf(words[nw++], 200, "--raw");
        break;
    case M_SET: {
        static const char *const bad[] = {"256", "-1",   "1.5",  "'a'",
                                          "x",   "",     "1,2",  "99999999999999999999999",
                                          "nan", "1+2j", "0x100"};
        uint8_t v = mk2;
        snprintf(words[nw++], 200, "--set");
        switch (mk % 8) {
        case 0:
            snprintf(words[nw++], 200, "%u", v);
            break;
        case 1:
            snprintf(words[nw++], 200, "0x%x", v);
            break;
        case 2:
            snprintf(words[nw++], 200, " +%u ", v);
            break;
        case 3:
            v &= 1;
            snprintf(words[nw++], 200, "%s",
                     v ? (mk & 8 ? "True" : "true") : (mk & 8 ? "False" : "false"));
            break;
        case 4:
            snprintf(words[nw++], 200, "(%u)", v);
            break;
        case 5:
            snprintf(words[nw++], 200, "%u,", v);
            break;
        default:
            snprintf(words[nw++], 200, "%s", bad[v % (sizeof bad / sizeof bad[0])]);
            v = 0;
            set_value = -1;
            break;
        }
        if (set_value == 0) {
            set_value = v;
            set_valid = true;
        }
        break;
    }
    case M_HEX: {
        static const char seps[] = " :-_.|,x0\t";
        static const long pers[] = {1, 2, 3, 4, -1, -2, -3, -5, 0, 7, INT_MAX, INT_MIN};
        int form = mk % 5;
        sep = seps[mk2 % (sizeof seps - 1)];
        per = form == 2 || form == 4 ? pers[mk3 % 12] : 1;
        if (form == 0) {
            sep = 0;
            snprintf(words[nw++], 200, "--hex");
        } else if (form == 1) {
            snprintf(words[nw++], 200, "--hex=%c", sep);
        } else if (form == 2) {
            snprintf(words[nw++], 200, "--hex=%c:%ld", sep, per);
        } else {
            snprintf(words[nw++], 200, "--hex");
            if (form == 3)
                snprintf(words[nw++], 200, "%c", sep);
            else
                snprintf(words[nw++], 200, "%c:%ld", sep, per);
        }
        break;
    }
    case M_LIST:
        snprintf(words[nw++], 200, "--list");
        break;
    case M_JSON:
        snprintf(words[nw++], 200, "--json");
        break;
    case M_DUMP:
        snprintf(words[nw++], 200, "--dump");
        break;
    case M_FIND:
        break; /* the needle comes from the selection, below */
    default:
        break;
    }

    /* The outcome, and the selection when there is one. */
    bool step_zero = s.present && s.has[2] && s.v[2] == 0 && !s.overflow[2];
    bool key_overflow = s.present && (s.overflow[0] || s.overflow[1] || s.overflow[2]);
    bool usage = off_overflow || (mode == M_SET && (use_stdin || use_w));
    bool data_error = (size_t)off > n || (shape_n >= 0 && shape_n > remain) ||
                      (cast == 2 && len == 0) || (cast == 3 && (cast_n <= 0 || cast_n != len)) ||
                      key_overflow || step_zero || (mode == M_SET && !set_valid);
    ptrdiff_t start = 0, step = 1, count = 0;
    if (!usage && !data_error)
        count = selection_slice(len, &s, &start, &step);
    const unsigned char *base = data + (remain > 0 ? off : 0);
    unsigned char *sel = malloc((size_t)count + 1);
    FUZZ_CHECK(sel);
    for (ptrdiff_t i = 0; i < count; i++)
        sel[i] = base[start + i * step];

    if (mode == M_FIND) {
        /* A piece of the selection (a hit), or of the file. */
        const unsigned char *src = count > 0 && (mk & 1) ? sel : data;
        size_t srclen = count > 0 && (mk & 1) ? (size_t)count : n;
        needle_len = 1 + mk2 % 3;
        for (size_t i = 0; i < needle_len; i++)
            needle[i] = srclen ? src[(mk3 + i) % srclen] : (unsigned char)(mk3 + i);
        char text[64];
        size_t k = 0;
        if (mk & 2) {
            text[k++] = mk & 4 ? '\'' : '"';
            for (size_t i = 0; i < needle_len; i++)
                k += (size_t)snprintf(text + k, sizeof text - k, "\\x%02X", needle[i]);
            text[k++] = mk & 4 ? '\'' : '"';
        } else {
            for (size_t i = 0; i < needle_len; i++)
                k += (size_t)snprintf(text + k, sizeof text - k, i && (mk & 8) ? " %02x" : "%02x",
                                      needle[i]);
        }
        text[k] = '\0';
        snprintf(words[nw++], 200, mk & 16 ? "--find=%s" : "--find", text);
        if (!(mk & 16))
            snprintf(words[nw++], 200, "%s", text);
    }
    if (use_w) {
        gstart[ng++] = nw;
        switch (mk3 % 3) {
        case 0:
            snprintf(words[nw++], 200, "-wout");
            break;
        case 1:
            snprintf(words[nw++], 200, "--write=./out");
            break;
        default:
            snprintf(words[nw++], 200, "-w");
            snprintf(words[nw++], 200, "out");
            break;
        }
    }
    FUZZ_CHECK(nw <= 16 && ng <= 10);

    /* The groups in an order the input picks, then FILE and SUBSCRIPT. */
    int order[10];
    for (int g = 0; g < ng; g++)
        order[g] = g;
    for (int g = ng - 1; g > 0; g--) {
        int j = (order_seed + g * 7) % (g + 1);
        int t = order[g];
        order[g] = order[j];
        order[j] = t;
        order_seed = (uint8_t)(order_seed * 5 + 3);
    }
    add(&a, "mview");
    for (int g = 0; g < ng; g++) {
        int i = order[g];
        int end = i + 1 < ng ? gstart[i + 1] : nw;
        for (int w = gstart[i]; w < end; w++)
            add(&a, words[w]);
    }
    /* "--" before FILE: always for "-" (a bare --hex would take it as its
     * separator), sometimes otherwise. */
    bool dashdash = use_stdin || (style & 0x20);
    if (dashdash)
        add(&a, "--");
    add(&a, use_stdin ? "-" : "data");
    if (s.present) {
        char text[200];
        slice_text(&s, style, dashdash, text, sizeof text);
        add(&a, text);
    }

    /* ---- the prediction ---- */
    expect e;
    memset(&e, 0, sizeof e);
    e.out = malloc(8 * (size_t)count + 64 * ((size_t)count / 16 + 1) + 64);
    e.file = malloc(n + 1);
    FUZZ_CHECK(e.out && e.file);
    memcpy(e.file, data, n);
    e.status = usage ? 1 : data_error ? 2 : 0;
    if (e.status == 0) {
        switch (mode) {
        case M_RAW:
        case M_RAW_W:
            memcpy(e.out, sel, (size_t)count);
            e.out_len = (size_t)count;
            break;
        case M_SET: {
            for (ptrdiff_t i = 0; i < count; i++)
                e.file[off + start + i * step] = (unsigned char)set_value;
            char t[64];
            snprintf(t, sizeof t, "%td item%s set\n", count, count == 1 ? "" : "s");
            outs(&e, t);
            break;
        }
        case M_HEX:
            model_hex(&e, sel, (size_t)count, sep, per);
            break;
        case M_LIST:
        case M_JSON: {
            outc(&e, '[');
            for (ptrdiff_t i = 0; i < count; i++) {
                char t[8];
                snprintf(t, sizeof t, i ? ", %u" : "%u", sel[i]);
                outs(&e, t);
            }
            outs(&e, "]\n");
            break;
        }
        case M_FIND:
            for (ptrdiff_t i = 0; i + (ptrdiff_t)needle_len <= count; i++)
                if (memcmp(sel + i, needle, needle_len) == 0) {
                    char t[32];
                    snprintf(t, sizeof t, "%td\n", i);
                    outs(&e, t);
                }
            break;
        default: {
            /* A contiguous view (step 1, or one item) is addressed by file
             * offsets, any other by its own byte indices. */
            uintmax_t addr = step == 1 || count == 1 ? (uintmax_t)(off + start) : 0;
            model_dump(&e, sel, (size_t)count, addr);
            break;
        }
        }
    }

    result r1, r2;
    run_mview(&a, data, n, &r1);
    check_common(&r1);
    FUZZ_CHECK(r1.status == e.status);
    size_t got_len;
    char *got_file = read_scratch("data", &got_len);
    FUZZ_CHECK(got_file && got_len == n);
    if (r1.status == 0) {
        if (mode == M_RAW_W) {
            size_t wl;
            char *w = read_scratch("out", &wl);
            FUZZ_CHECK(w && r1.out_len == 0);
            FUZZ_CHECK(wl == e.out_len && memcmp(w, e.out, wl) == 0);
            free(w);
        } else {
            FUZZ_CHECK(r1.out_len == e.out_len && memcmp(r1.out, e.out, e.out_len) == 0);
        }
        FUZZ_CHECK(memcmp(got_file, e.file, n) == 0);
    } else {
        /* A failed --set writes nothing; other modes never write FILE. */
        FUZZ_CHECK(memcmp(got_file, data, n) == 0);
    }
    free(got_file);
    run_mview(&a, data, n, &r2);
    FUZZ_CHECK(same_result(&r1, &r2));
    result_free(&r1);
    result_free(&r2);
    free(e.out);
    free(e.file);
    free(sel);
    free(data);
    args_free(&a);
}

/* ---- the free case ------------------------------------------------------------ */

static const char *const formats[] = {
    "B",
    "b",
    "c",
    "?",
    "h",
    "<h",
    ">H",
    "i",
    "<i",
    ">I",
    "l",
    "q",
    ">q",
    "n",
    "N",
    "e",
    "<e",
    "f",
    ">f",
    "d",
    "<d",
    "Zf",
    ">Zd",
    "2B",
    "3s",
    "5p",
    "xB",
    "Bx",
    "<hB",
    "T{<h:a:B:b:}",
    "T{B:x:T{>H:y:}:z:}",
    "(2,2)h",
    "w",
    "<w",
    "P",
    "@i",
    "=q",
    "!L",
    "4c",
    "2?",
    "0s",
    "g",
    "O",
    "u",
    "",
    "(",
    "T{",
    "T{B",
    "}",
    "0B",
    "x",
    "2",
    "ZZ",
    "<",
    "T{<h:a",
    "Zq",
    "3x",
    "B:",
    "xx",
};
#define NFORMATS (sizeof formats / sizeof formats[0])

static void gen_format(fz *f, char *buf)
{
    uint8_t k = fz_u8(f);
    if (k >= 0xf0)
        raw_word(f, buf);
    else
        strcpy(buf, formats[k % NFORMATS]);
}

static void gen_shape(fz *f, char *buf, size_t room)
{
    static const char *const bad[] = {"",   "1,,2", "(1",    "[2", "a",  "-",  "1 2", "-2",
                                      "()", "(,)",  "-1,-1", "[]", "1)", "+3", "0x10"};
    uint8_t k = fz_u8(f);
    if (k >= 0xf0) {
        raw_word(f, buf);
        return;
    }
    if (k >= 0xe0) {
        strcpy(buf, bad[k % (sizeof bad / sizeof bad[0])]);
        return;
    }
    int ndim = k % 6;
    size_t at = 0;
    const char *open = (k >> 3) % 3 == 1 ? "(" : (k >> 3) % 3 == 2 ? "[" : "";
    at += (size_t)snprintf(buf + at, room - at, "%s", open);
    for (int d = 0; d < ndim; d++) {
        uint8_t x = fz_u8(f);
        char ext[32];
        if (x < 200)
            snprintf(ext, sizeof ext, "%d", x % 9);
        else if (x < 215)
            snprintf(ext, sizeof ext, "-1");
        else if (x < 225)
            snprintf(ext, sizeof ext, "9223372036854775807");
        else if (x < 235)
            snprintf(ext, sizeof ext, "4611686018427387904");
        else if (x < 245)
            snprintf(ext, sizeof ext, "%u", 1u << (x % 32));
        else
            snprintf(ext, sizeof ext, "99999999999999999999");
        at += (size_t)snprintf(buf + at, room - at, d ? ",%s" : "%s", ext);
    }
    if (open[0])
        snprintf(buf + at, room - at, "%s",
                 ndim == 1 && (k & 0x40) ? ",)"
                 : open[0] == '('        ? ")"
                                         : "]");
}

static void gen_subscript(fz *f, char *buf, size_t room)
{
    static const char *const bad[] = {"[1",    "1:2:3:4", "[,]",         "[..., ...]",
                                      "[1]]",  "[a]",     "[]",          "[:,:,:,:,:,:,:,:,:]",
                                      "[--1]", "[1 2]",   "[None, None]"};
    uint8_t k = fz_u8(f);
    if (k >= 0xf0) {
        raw_word(f, buf);
        return;
    }
    if (k >= 0xe4) {
        strcpy(buf, bad[k % (sizeof bad / sizeof bad[0])]);
        return;
    }
    int nkeys = k % 5;
    size_t at = (size_t)snprintf(buf, room, "[");
    for (int i = 0; i < nkeys && at < room; i++) {
        uint8_t kind = fz_u8(f);
        char key[96];
        char b[3][32];
        for (int j = 0; j < 3; j++) {
            uint8_t x = fz_u8(f);
            if (x < 230)
                snprintf(b[j], sizeof b[j], "%d", (int)(x % 24) - 10);
            else if (x < 240)
                snprintf(b[j], sizeof b[j], "%s",
                         x & 1 ? "9223372036854775807" : "-9223372036854775808");
            else if (x < 250)
                snprintf(b[j], sizeof b[j], "%s", "");
            else
                snprintf(b[j], sizeof b[j], "%s", "99999999999999999999");
        }
        switch (kind % 7) {
        case 0:
        case 1:
            snprintf(key, sizeof key, "%s", b[0][0] ? b[0] : "0");
            break;
        case 2:
            snprintf(key, sizeof key, "%s:%s", b[0], b[1]);
            break;
        case 3:
            snprintf(key, sizeof key, "%s:%s:%s", b[0], b[1], b[2]);
            break;
        case 4:
            snprintf(key, sizeof key, "...");
            break;
        case 5:
            snprintf(key, sizeof key, kind & 8 ? "None" : "newaxis");
            break;
        default:
            snprintf(key, sizeof key, "::%s", b[2][0] ? b[2] : "-1");
            break;
        }
        at += (size_t)snprintf(buf + at, room - at, i ? ", %s" : "%s", key);
    }
    if (at < room)
        snprintf(buf + at, room - at, "]");
    /* Without brackets, unless it would read as an option. */
    if ((k & 0x20) && buf[1] != '-' && buf[1] != ']') {
        size_t len = strlen(buf);
        memmove(buf, buf + 1, len - 2);
        buf[len - 2] = '\0';
    }
}

static const char *const set_values[] = {
    "0",
    "1",
    "-1",
    "255",
    "256",
    "65535",
    "-32768",
    "1.5",
    "nan",
    "inf",
    "-0.0",
    "1e308",
    "True",
    "False",
    "1+2j",
    "(1-2j)",
    "2j",
    "'a'",
    "\"ab\"",
    "'\\x00\\n'",
    "abc",
    "1, 2",
    "(1, 2.5)",
    "[1,2,3]",
    "1,",
    "",
    "0x7f",
    "-0x80",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "'\\q'",
    "'ab",
    "1, 'x', 3",
    " , ",
    "1,2,3,4",
    "(1+2j)",
    "1e-320",
    "-inf",
    "0x",
    "'\\xZZ'",
    "''",
};
static const char *const needles[] = {
    "00",     "de ad",     "41",
    "'A'",    "\"\\x00\"", "'\\n\\r\\t\\0\\\\\\'\\\"'",
    "0",      "zz",        "'unterminated",
    "''",     "\"a\"b",    "'\\q'",
    "'\\x4'", "ff ff ff",  "  0 1  ",
    "\"\"",
};
static const char *const misc[] = {
    "-h",     "--help",  "--version", "--he",       "--bogus",   "-z",
    "--",     "-",       "-o",        "--format",   "--hex=",    "--raw=1",
    "-fB",    "-of",     "-s",        "--cast",     "--find",    "--set",
    "-w",     "--order", "--hex=:",   "--hex=\x80", "--hex=ab",  "--hex=::99999999999",
    "--js",   "--in",    "-ws",       "--dump",     "--info",    "--list",
    "--json", "--raw",   "--hex",     "--no",       "--cast=B:", "--cast=:2",
    "--s=1",
};
static const char *const write_names[] = {"out", "out2",      "data",    "./data", ".",
                                          "",    "/dev/null", "nodir/x", "out"};
static const char *const file_names[] = {"data",    "data", "data",      "-",
                                         "missing", ".",    "/dev/null", ""};

static void free_form(fz *f)
{
    args a = {0};
    add(&a, "mview");
    char buf[256];
    int ntok = fz_u8(f) % 14;
    int file_at = ntok ? fz_u8(f) % (ntok + 1) : 0;
    bool file_done = false;
    int file_word = -1;
    for (int t = 0; t <= ntok; t++) {
        if (t == file_at && !file_done) {
            file_word = a.n;
            uint8_t k = fz_u8(f);
            if (k >= 0xf8) {
                raw_word(f, buf);
                add(&a, buf);
            } else {
                add(&a, file_names[k % (sizeof file_names / sizeof file_names[0])]);
            }
            file_done = true;
        }
        if (t == ntok)
            break;
        uint8_t k = fz_u8(f);
        switch (k % 14) {
        case 0:
            add(&a, k & 0x10 ? "--format" : "-f");
            gen_format(f, buf);
            add(&a, buf);
            break;
        case 1:
            add(&a, k & 0x10 ? "--shape" : "-s");
            gen_shape(f, buf, sizeof buf);
            add(&a, buf);
            break;
        case 2: {
            static const char *const offs[] = {"0",
                                               "1",
                                               "13",
                                               "0x10",
                                               "  5 ",
                                               "-1",
                                               "99999999999999999999",
                                               "0x",
                                               "abc",
                                               "",
                                               "0X7fffffffffffffff"};
            uint8_t x = fz_u8(f);
            if (x < 128)
                snprintf(buf, sizeof buf, "%d", x % 64);
            else if (x < 240)
                snprintf(buf, sizeof buf, "%s", offs[x % (sizeof offs / sizeof offs[0])]);
            else
                raw_word(f, buf);
            addf(&a, k & 0x10 ? "--offset=%s" : "-o%s", buf);
            break;
        }
        case 3: {
            static const char *const orders[] = {"C", "F", "c", "f", "A", ""};
            add(&a, "--order");
            add(&a, orders[fz_u8(f) % 6]);
            break;
        }
        case 4: {
            char shp[128];
            gen_format(f, buf);
            uint8_t x = fz_u8(f);
            if (x % 3 == 0) {
                add(&a, "--cast");
                add(&a, buf);
            } else {
                gen_shape(f, shp, sizeof shp);
                addf(&a, "--cast=%s:%s", buf, shp);
            }
            break;
        }
        case 5:
            add(&a,
                (const char *[]){"--dump", "--info", "--list", "--json", "--raw"}[(k >> 4) % 5]);
            break;
        case 6: {
            uint8_t x = fz_u8(f);
            char sep = " :-_x\t~"[x % 7];
            int per = (int)(fz_u8(f) % 11) - 5;
            if ((x >> 3) % 4 == 0)
                add(&a, "--hex");
            else if ((x >> 3) % 4 == 1)
                addf(&a, "--hex=%c:%d", sep, per);
            else if ((x >> 3) % 4 == 2) {
                add(&a, "--hex");
                addf(&a, "%c:%d", sep, per);
            } else {
                add(&a, "--hex");
                addf(&a, "%c", sep);
            }
            break;
        }
        case 7:
            add(&a, "--find");
            if (k & 0x80) {
                raw_word(f, buf);
                add(&a, buf);
            } else {
                add(&a, needles[fz_u8(f) % (sizeof needles / sizeof needles[0])]);
            }
            break;
        case 8:
            add(&a, "--set");
            if (k & 0x80) {
                raw_word(f, buf);
                add(&a, buf);
            } else {
                add(&a, set_values[fz_u8(f) % (sizeof set_values / sizeof set_values[0])]);
            }
            break;
        case 9:
            if (k & 0x80) {
                raw_word(f, buf);
                addf(&a, "-w%s", buf);
            } else {
                add(&a, "-w");
                add(&a, write_names[fz_u8(f) % (sizeof write_names / sizeof write_names[0])]);
            }
            break;
        case 10:
            add(&a, misc[fz_u8(f) % (sizeof misc / sizeof misc[0])]);
            break;
        case 11:
            raw_word(f, buf);
            add(&a, buf);
            break;
        default:
            gen_subscript(f, buf, sizeof buf);
            add(&a, buf);
            break;
        }
    }

    size_t n;
    unsigned char *data = make_data(f, fz_u8(f), &n);

    /* FILE may change only when a word can ask for --set (every
     * abbreviation starts "--se"), another word names it (-wdata,
     * --write=./data), or the word before it is an option that may take it
     * as its argument (-w). */
    bool may_write = false;
    for (int i = 1; i < a.n; i++)
        may_write = may_write || strncmp(a.w[i], "--se", 4) == 0 ||
                    (i != file_word && strstr(a.w[i], "data"));
    if (file_word > 1 && a.w[file_word - 1][0] == '-' && strcmp(a.w[file_word - 1], "--") != 0)
        may_write = true;

    result r1, r2;
    run_mview(&a, data, n, &r1);
    check_common(&r1);
    if (!may_write) {
        size_t len;
        char *now = read_scratch("data", &len);
        FUZZ_CHECK(now && len == n && memcmp(now, data, n) == 0);
        free(now);
    }
    run_mview(&a, data, n, &r2);
    FUZZ_CHECK(same_result(&r1, &r2));
    result_free(&r1);
    result_free(&r2);
    free(data);
    args_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (scratch_fd < 0)
        setup();
    fz f = {data, size};
    uint8_t first = fz_u8(&f);
    if (first & 1)
        free_form(&f);
    else
        modelled(&f, first);
    return 0;
}
