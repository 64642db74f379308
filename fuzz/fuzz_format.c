/* Fuzz target: struct / PEP 3118 format parsing, and unpack/pack.
 *
 * Input: the format text up to the first NUL byte; the bytes after it
 * (repeated as needed) are the item to unpack.
 *
 * Checked: parse failures follow the error contract and leave *fmt empty;
 * a parsed format is self-consistent (fields inside the item, native
 * alignment, value count, mv_size_from_format agrees); and pack/unpack
 * round trips.  unpack(X) need not give back X when packed ('?' becomes
 * 0/1, 'p' rewrites its length byte and clears the unused tail, float NaNs
 * are quieted by widening to double), so the invariants are the ones that
 * do hold: the unpacked values always pack; packing them and unpacking
 * again gives the same values (NaNs compared by bit pattern); packing is
 * idempotent from then on; padding is left alone; packing an item onto
 * itself (the overlap path) gives what packing it elsewhere gives; and a
 * rejected value writes nothing. */
#include "fuzz_common.h"

#include <math.h>
#include <stdlib.h>

/* Keep one input cheap: no gigabyte items ("999999999x" parses fine). */
#define MAX_ITEMSIZE ((ptrdiff_t)1 << 16)
#define MAX_VALUES   ((ptrdiff_t)1 << 14)

static uint64_t dbits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

/* Equal as the round trip must keep them: same kind, doubles bit for bit. */
static bool same_value(const mv_value *a, const mv_value *b)
{
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case MV_VALUE_DOUBLE:
        if (dbits(a->v.d) != dbits(b->v.d))
            return false;
        /* mv_value_equal must agree: equal unless NaN. */
        FUZZ_CHECK(mv_value_equal(a, b) == !isnan(a->v.d));
        return true;
    case MV_VALUE_COMPLEX:
        return dbits(a->v.c.re) == dbits(b->v.c.re) && dbits(a->v.c.im) == dbits(b->v.c.im);
    case MV_VALUE_BYTES:
        if (a->v.bytes.len != b->v.bytes.len)
            return false;
        FUZZ_CHECK(mv_value_equal(a, b) ==
                   (a->v.bytes.len == 0 || memcmp(a->v.bytes.ptr, b->v.bytes.ptr, a->v.bytes.len) == 0));
        return a->v.bytes.len == 0 || memcmp(a->v.bytes.ptr, b->v.bytes.ptr, a->v.bytes.len) == 0;
    default:
        return mv_value_equal(a, b) == 1;
    }
}

/* Python's repr(float), written out from the C library's correctly rounded
 * conversions: the fewest significant digits that read back to x, then
 * fixed notation for -4 < decpt <= 16, else d.ddde+XX. */
static void ref_repr(double x, char *out)
{
    if (isnan(x)) {
        strcpy(out, "nan");
        return;
    }
    if (isinf(x)) {
        strcpy(out, x < 0 ? "-inf" : "inf");
        return;
    }
    if (x == 0) {
        strcpy(out, signbit(x) ? "-0.0" : "0.0");
        return;
    }
    /* The shortest digit string that reads back to x.  The correctly
     * rounded p-digit string is the closest candidate, but at a power of
     * two it may miss while a neighbour reads back (2**-24 is
     * 5.960464477539063e-08): try both neighbours too, closest first. */
    char buf[48];
    bool neg = x < 0;
    double ax = fabs(x);
    unsigned long long mant = 0;
    int exp10 = 0, p;
    for (p = 1; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*e", p - 1, ax);
        char *e = strchr(buf, 'e');
        exp10 = atoi(e + 1) - (p - 1);
        mant = 0;
        for (const char *q = buf; q < e; q++)
            if (*q != '.')
                mant = mant * 10 + (unsigned long long)(*q - '0');
        if (strtod(buf, NULL) == ax)
            break;
        unsigned long long cand[2] = {mant - 1, mant + 1};
        long double best = -1;
        unsigned long long pick = 0;
        for (int k = 0; k < 2; k++) {
            snprintf(buf, sizeof buf, "%llue%d", cand[k], exp10);
            if (strtod(buf, NULL) != ax)
                continue;
            long double d = fabsl(strtold(buf, NULL) - (long double)ax);
            if (best < 0 || d < best) {
                best = d;
                pick = cand[k];
            }
        }
        if (best >= 0) {
            mant = pick;
            break;
        }
    }
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%llu", mant);
    int decpt = exp10 + n;
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = '\0';
    char *o = out;
    if (neg)
        *o++ = '-';
    if (decpt <= -4 || decpt > 16) {
        *o++ = digits[0];
        if (n > 1) {
            *o++ = '.';
            memcpy(o, digits + 1, (size_t)n - 1);
            o += n - 1;
        }
        sprintf(o, "e%+.02d", decpt - 1);
    } else if (decpt <= 0) {
        o += sprintf(o, "0.");
        for (int i = 0; i < -decpt; i++)
            *o++ = '0';
        strcpy(o, digits);
    } else if (decpt >= n) {
        memcpy(o, digits, (size_t)n);
        o += n;
        for (int i = n; i < decpt; i++)
            *o++ = '0';
        strcpy(o, ".0");
    } else {
        memcpy(o, digits, (size_t)decpt);
        o += decpt;
        *o++ = '.';
        strcpy(o, digits + decpt);
    }
}

static void check_repr(double x)
{
    char want[48], got[48];
    ref_repr(x, want);
    memset(got, '#', sizeof got);
    int n = mv_double_repr(x, got, 32);
    if (n != (int)strlen(want) || strcmp(got, want) != 0) {
        fprintf(stderr, "mv_double_repr(%a): got '%.32s' (%d), want '%s'\n", x, got, n, want);
        __builtin_trap();
    }
}

/* Standard (non-native) size of a code, as the struct module has it. */
static ptrdiff_t standard_size(char code)
{
    switch (code) {
    case 'h': case 'H': case 'e':
        return 2;
    case 'i': case 'I': case 'l': case 'L': case 'f': case 'F': case 'w':
        return 4 + 4 * (code == 'F');
    case 'q': case 'Q': case 'd':
        return 8;
    case 'D':
        return 16;
    default:
        return 1;
    }
}

static ptrdiff_t native_size(char code)
{
    switch (code) {
    case '?': return (ptrdiff_t)sizeof(_Bool);
    case 'h': case 'H': return (ptrdiff_t)sizeof(short);
    case 'i': case 'I': return (ptrdiff_t)sizeof(int);
    case 'l': case 'L': return (ptrdiff_t)sizeof(long);
    case 'q': case 'Q': return (ptrdiff_t)sizeof(long long);
    case 'n': case 'N': return (ptrdiff_t)sizeof(size_t);
    case 'P': return (ptrdiff_t)sizeof(void *);
    case 'e': return 2;
    case 'w': return 4;
    case 'f': return (ptrdiff_t)sizeof(float);
    case 'd': return (ptrdiff_t)sizeof(double);
    case 'F': return 2 * (ptrdiff_t)sizeof(float);
    case 'D': return 2 * (ptrdiff_t)sizeof(double);
    default: return 1;
    }
}

/* Values one field unpacks to. */
static ptrdiff_t field_values(const mv_field *f)
{
    if (f->code == 'x')
        return 0;
    if (f->code == 's' || f->code == 'p')
        return 1;
    return f->count;
}

/* Bytes one field covers. */
static ptrdiff_t field_bytes(const mv_field *f)
{
    if (f->code == 's' || f->code == 'p')
        return f->count;
    return f->count * f->size;
}

static void check_layout(const mv_format *fmt, const char *text)
{
    FUZZ_CHECK(fmt->itemsize >= 0);
    FUZZ_CHECK(fmt->alignment >= 1);
    FUZZ_CHECK(fmt->nfields >= 0);
    FUZZ_CHECK(fmt->nfields == 0 || fmt->fields != NULL);
    ptrdiff_t nvalues = 0;
    for (int i = 0; i < fmt->nfields; i++) {
        const mv_field *f = &fmt->fields[i];
        FUZZ_CHECK(f->code && strchr("xcbB?hHiIlLqQnNefdFDspPw", f->code));
        FUZZ_CHECK(f->byteorder == '@' || f->byteorder == '=' || f->byteorder == '<' ||
                   f->byteorder == '>');
        FUZZ_CHECK(f->count >= 0);
        FUZZ_CHECK(f->offset >= 0);
        if (f->code == 's' || f->code == 'p') {
            FUZZ_CHECK(f->size == f->count);
        } else {
            FUZZ_CHECK(f->count > 0); /* zero-count numeric fields are left out */
            if (f->byteorder == '@') {
                FUZZ_CHECK(f->size == native_size(f->code));
                FUZZ_CHECK(f->offset % native_align(f->code) == 0);
                FUZZ_CHECK(fmt->alignment % native_align(f->code) == 0);
            } else {
                FUZZ_CHECK(f->size == standard_size(f->code));
                FUZZ_CHECK(!strchr("nNP", f->code));
            }
        }
        FUZZ_CHECK(field_bytes(f) <= fmt->itemsize - f->offset);
        nvalues += field_values(f);
    }
    FUZZ_CHECK(nvalues == fmt->nvalues);

    mv_error err;
    mv_error_clear(&err);
    FUZZ_CHECK_ERR(mv_size_from_format(text, &err) == fmt->itemsize, &err);

    /* memoryview's native single-character formats. */
    const char *t = text[0] == '@' ? text + 1 : text;
    char expect = 0;
    if (t[0] && !t[1] && strchr("cbBhHiIlLqQnNfd?Pe", t[0]))
        expect = t[0];
    else if (t[0] == 'Z' && (t[1] == 'f' || t[1] == 'd') && !t[2])
        expect = t[1] == 'f' ? 'F' : 'D';
    FUZZ_CHECK(fmt->native == expect);
    if (expect) {
        FUZZ_CHECK(fmt->nfields == 1 && fmt->fields[0].count == 1 && fmt->fields[0].code == expect);
        FUZZ_CHECK(fmt->itemsize == native_size(expect));
    }
}

static void check_values_kinds(const mv_format *fmt, const mv_value *v)
{
    ptrdiff_t k = 0;
    for (int i = 0; i < fmt->nfields; i++) {
        const mv_field *f = &fmt->fields[i];
        for (ptrdiff_t j = 0; j < field_values(f); j++, k++) {
            mv_value_kind want;
            switch (f->code) {
            case '?': want = MV_VALUE_BOOL; break;
            case 'b': case 'h': case 'i': case 'l': case 'q': case 'n': want = MV_VALUE_SIGNED; break;
            case 'e': case 'f': case 'd': want = MV_VALUE_DOUBLE; break;
            case 'F': case 'D': want = MV_VALUE_COMPLEX; break;
            case 'c': case 's': case 'p': want = MV_VALUE_BYTES; break;
            case 'w': want = MV_VALUE_CHAR; break;
            default: want = MV_VALUE_UNSIGNED; break;
            }
            FUZZ_CHECK(v[k].kind == want);
            if (f->code == 'c')
                FUZZ_CHECK(v[k].v.bytes.len == 1);
            if (f->code == 's')
                FUZZ_CHECK(v[k].v.bytes.len == (size_t)f->count);
            if (f->code == 'p')
                FUZZ_CHECK(f->count == 0 ? v[k].v.bytes.len == 0
                                         : v[k].v.bytes.len <= (size_t)f->count - 1);
        }
    }
}

static void round_trip(const mv_format *fmt, const char *text, const uint8_t *data, size_t size)
{
    size_t isz = (size_t)fmt->itemsize;
    size_t nv = (size_t)fmt->nvalues;
    /* +1: never malloc(0). */
    unsigned char *x = malloc(isz + 1), *b1 = malloc(isz + 1), *b2 = malloc(isz + 1);
    unsigned char *x2 = malloc(isz + 1), *b3 = malloc(isz + 1);
    mv_value *v1 = calloc(nv + 1, sizeof *v1), *v2 = calloc(nv + 1, sizeof *v2);
    mv_value *v3 = calloc(nv + 1, sizeof *v3);
    FUZZ_CHECK(x && b1 && b2 && x2 && b3 && v1 && v2 && v3);
    for (size_t i = 0; i < isz; i++)
        x[i] = size ? data[i % size] : (unsigned char)(0xa5 + i);

    mv_error err;
    mv_error_clear(&err);
    /* Too little room is refused. */
    if (nv > 0)
        FUZZ_CHECK(fuzz_rc(mv_format_unpack(fmt, x, v1, (ptrdiff_t)nv - 1, &err), &err) ==
                   MV_EVALUE);

    mv_error_clear(&err);
    FUZZ_CHECK_ERR(mv_format_unpack(fmt, x, v1, (ptrdiff_t)nv, &err) == 0, &err);
    check_values_kinds(fmt, v1);
    /* repr is checked on the first few doubles (the reference is slow). */
    for (size_t k = 0; k < nv && k < 16; k++) {
        if (v1[k].kind == MV_VALUE_DOUBLE) {
            check_repr(v1[k].v.d);
        } else if (v1[k].kind == MV_VALUE_COMPLEX) {
            check_repr(v1[k].v.c.re);
            check_repr(v1[k].v.c.im);
        }
    }

    /* A 'w' element above 0x10FFFF is no character: it unpacks (a view
     * shows what is there) but never packs, and nothing is written. */
    for (size_t k = 0; k < nv; k++) {
        if (v1[k].kind == MV_VALUE_CHAR && v1[k].v.u > 0x10FFFF) {
            memcpy(b1, x, isz);
            mv_error_clear(&err);
            FUZZ_CHECK(fuzz_rc(mv_format_pack(fmt, text, b1, v1, (ptrdiff_t)nv, &err), &err) ==
                       MV_EVALUE);
            FUZZ_CHECK(memcmp(b1, x, isz) == 0);
            goto done;
        }
    }

    /* What unpack gave always packs. */
    memcpy(b1, x, isz);
    mv_error_clear(&err);
    FUZZ_CHECK_ERR(mv_format_pack(fmt, text, b1, v1, (ptrdiff_t)nv, &err) == 0, &err);

    /* ... and unpacks to the same values. */
    mv_error_clear(&err);
    FUZZ_CHECK_ERR(mv_format_unpack(fmt, b1, v2, (ptrdiff_t)nv, &err) == 0, &err);
    for (size_t k = 0; k < nv; k++)
        FUZZ_CHECK(same_value(&v1[k], &v2[k]));

    /* From then on packing is idempotent, padding included. */
    memcpy(b2, b1, isz);
    mv_error_clear(&err);
    FUZZ_CHECK_ERR(mv_format_pack(fmt, text, b2, v2, (ptrdiff_t)nv, &err) == 0, &err);
    FUZZ_CHECK(memcmp(b1, b2, isz) == 0);

    /* Padding is left as it was. */
    unsigned char *covered = calloc(isz + 1, 1);
    FUZZ_CHECK(covered);
    for (int i = 0; i < fmt->nfields; i++) {
        const mv_field *f = &fmt->fields[i];
        if (f->code != 'x')
            memset(covered + f->offset, 1, (size_t)field_bytes(f));
    }
    for (size_t i = 0; i < isz; i++)
        if (!covered[i])
            FUZZ_CHECK(b1[i] == x[i]);
    free(covered);

    /* Packing an item onto itself (bytes values point into it). */
    memcpy(x2, x, isz);
    mv_error_clear(&err);
    FUZZ_CHECK_ERR(mv_format_unpack(fmt, x2, v3, (ptrdiff_t)nv, &err) == 0, &err);
    mv_error_clear(&err);
    FUZZ_CHECK_ERR(mv_format_pack(fmt, text, x2, v3, (ptrdiff_t)nv, &err) == 0, &err);
    FUZZ_CHECK(memcmp(x2, b1, isz) == 0);

    /* The wrong number of values is refused. */
    mv_error_clear(&err);
    FUZZ_CHECK(fuzz_rc(mv_format_pack(fmt, text, b1, v1, (ptrdiff_t)nv + 1, &err), &err) ==
               MV_EVALUE);

    /* A value of the wrong type, or out of range, writes nothing. */
    ptrdiff_t k = 0;
    for (int i = 0; i < fmt->nfields && nv > 0; i++) {
        const mv_field *f = &fmt->fields[i];
        ptrdiff_t nf = field_values(f);
        if (nf == 0)
            continue;
        /* One bad field per input is enough; pick it from the data. */
        if (size && data[(size_t)i % size] % 3 != 0 && i + 1 < fmt->nfields) {
            k += nf;
            continue;
        }
        ptrdiff_t at = k + nf - 1;
        mv_value saved = v2[at];
        int want = MV_ETYPE;
        if (f->code == 'c' || f->code == 's' || f->code == 'p') {
            v2[at].kind = MV_VALUE_SIGNED;
            v2[at].v.i = 1;
        } else if (f->code == '?') {
            v2[at].kind = (mv_value_kind)99;
        } else if (f->code == 'e') {
            v2[at].kind = MV_VALUE_DOUBLE;
            v2[at].v.d = 1e300;
            want = MV_EVALUE;
        } else if (strchr("bhilqn", f->code) && f->size < 8) {
            v2[at].kind = MV_VALUE_SIGNED;
            v2[at].v.i = (int64_t)1 << (8 * f->size - 1);
            want = MV_EVALUE;
        } else if (strchr("BHILQN", f->code)) {
            v2[at].kind = MV_VALUE_SIGNED;
            v2[at].v.i = -1;
            want = MV_EVALUE;
        } else {
            v2[at].kind = MV_VALUE_BYTES;
            v2[at].v.bytes.ptr = (const unsigned char *)"a";
            v2[at].v.bytes.len = 1;
        }
        memcpy(b3, x, isz);
        mv_error_clear(&err);
        FUZZ_CHECK(fuzz_rc(mv_format_pack(fmt, text, b3, v2, (ptrdiff_t)nv, &err), &err) == want);
        FUZZ_CHECK(memcmp(b3, x, isz) == 0);
        v2[at] = saved;
        break;
    }

done:
    free(x);
    free(b1);
    free(b2);
    free(x2);
    free(b3);
    free(v1);
    free(v2);
    free(v3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t tlen = nul ? (size_t)(nul - data) : size;
    char *text = malloc(tlen + 1);
    FUZZ_CHECK(text);
    memcpy(text, data, tlen);
    text[tlen] = '\0';
    const uint8_t *item = nul ? nul + 1 : data + size;
    size_t isize = (size_t)(data + size - item);

    mv_format fmt;
    mv_error err;
    mv_error_clear(&err);
    memset(&fmt, 0x5a, sizeof fmt); /* need not be initialised */
    int rc = fuzz_rc(mv_format_parse(&fmt, text, &err), &err);
    if (rc < 0) {
        FUZZ_CHECK_ERR(rc == MV_EVALUE, &err);
        FUZZ_CHECK_ERR(strncmp(err.message, "invalid format string", 21) == 0, &err);
        FUZZ_CHECK(fmt.fields == NULL && fmt.nfields == 0 && fmt.itemsize == 0 &&
                   fmt.nvalues == 0);
        mv_error_clear(&err);
        FUZZ_CHECK(mv_size_from_format(text, &err) == -1);
        fuzz_check_failure(err.code, &err);
        mv_format_clear(&fmt);
        free(text);
        return 0;
    }
    check_layout(&fmt, text);
    if (fmt.itemsize <= MAX_ITEMSIZE && fmt.nvalues <= MAX_VALUES)
        round_trip(&fmt, text, item, isize);
    mv_format_clear(&fmt);
    FUZZ_CHECK(fmt.fields == NULL && fmt.nfields == 0);
    mv_format_clear(&fmt); /* idempotent */
    free(text);
    return 0;
}
