/* Numbers as Python writes them: the repr of a float (the shortest digits
 * that read back exactly) and of a str character. */
#include "core.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ *
 * Python's float repr
 * ------------------------------------------------------------------------ */

/* A positive finite double as 0.d1d2...dn * 10**decpt, n minimal. */
typedef struct decimal {
    char digits[24];
    int ndigits;
    int decpt;
} decimal;

/* strtod of digits * 10**(decpt - ndigits).  Written without a decimal
 * point so the locale's LC_NUMERIC cannot change how it reads. */
static double decimal_value(const decimal *d)
{
    char text[48];
    int n = d->ndigits;
    memcpy(text, d->digits, (size_t)n);
    snprintf(text + n, sizeof text - (size_t)n, "e%d", d->decpt - n);
    return strtod(text, NULL);
}

/* The p-digit decimal nearest to x, from printf (exact in glibc). */
static void decimal_nearest(double x, int p, decimal *d)
{
    char text[64];
    snprintf(text, sizeof text, "%.*e", p - 1, x);
    int n = 0;
    const char *s = text;
    for (; *s && *s != 'e' && *s != 'E'; s++)
        if (*s >= '0' && *s <= '9' && n < (int)sizeof d->digits)
            d->digits[n++] = *s;
    d->ndigits = n;
    d->decpt = (*s ? atoi(s + 1) : 0) + 1;
}

/* The neighbouring p-digit decimal one unit in the last place up or down. */
static void decimal_step(decimal *d, bool up)
{
    int n = d->ndigits;
    if (up) {
        int i = n - 1;
        while (i >= 0 && d->digits[i] == '9')
            d->digits[i--] = '0';
        if (i >= 0) {
            d->digits[i]++;
        } else {
            d->digits[0] = '1';
            d->decpt++;
        }
        return;
    }
    int i = n - 1;
    while (i >= 0 && d->digits[i] == '0')
        d->digits[i--] = '9';
    if (i < 0)
        return; /* all zeros: x == 0 never gets here */
    d->digits[i]--;
    if (d->digits[0] == '0') {
        /* 1000 - 1 in the last place is 9999 one decade lower. */
        for (int k = 0; k < n; k++)
            d->digits[k] = '9';
        d->decpt--;
    }
}

/* A p-digit decimal that reads back as x, if there is one: the nearest, or
 * -- near a power of two, where the interval that rounds to x is lopsided
 * -- the neighbour on x's other side. */
static bool decimal_try(double x, int p, decimal *d)
{
    decimal_nearest(x, p, d);
    double back = decimal_value(d);
    if (back == x)
        return true;
    decimal alt = *d;
    decimal_step(&alt, back < x);
    if (decimal_value(&alt) == x) {
        *d = alt;
        return true;
    }
    return false;
}

/* The shortest digits that read back as x (x > 0, finite), the nearer
 * candidate first, like David Gay's dtoa mode 0 that CPython uses.  If some
 * k-digit decimal reads back as x, so does a p-digit one for every p >= k
 * (append zeros), so the shortest length can be found by bisection; 17
 * digits always suffice. */
static void decimal_shortest(double x, decimal *d)
{
    int lo = 1, hi = 17;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (decimal_try(x, mid, d))
            hi = mid;
        else
            lo = mid + 1;
    }
    if (!decimal_try(x, lo, d))
        decimal_nearest(x, 17, d);
    while (d->ndigits > 1 && d->digits[d->ndigits - 1] == '0')
        d->ndigits--;
}

int mv_repr_double(double x, int flags, char *out)
{
    char *o = out;
    if (isnan(x)) {
        /* CPython ignores the sign of a NaN. */
        if (flags & MV_REPR_SIGN)
            *o++ = '+';
        memcpy(o, "nan", 4);
        return (int)(o - out) + 3;
    }
    if (signbit(x))
        *o++ = '-';
    else if (flags & MV_REPR_SIGN)
        *o++ = '+';
    if (isinf(x)) {
        memcpy(o, "inf", 4);
        return (int)(o - out) + 3;
    }
    decimal d;
    if (x == 0) {
        d.digits[0] = '0';
        d.ndigits = 1;
        d.decpt = 1;
    } else {
        decimal_shortest(fabs(x), &d);
    }
    if (d.decpt <= -4 || d.decpt > 16) {
        int e = d.decpt - 1;
        *o++ = d.digits[0];
        if (d.ndigits > 1) {
            *o++ = '.';
            memcpy(o, d.digits + 1, (size_t)(d.ndigits - 1));
            o += d.ndigits - 1;
        }
        o += sprintf(o, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    } else if (d.decpt <= 0) {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -d.decpt; i++)
            *o++ = '0';
        memcpy(o, d.digits, (size_t)d.ndigits);
        o += d.ndigits;
    } else if (d.decpt >= d.ndigits) {
        memcpy(o, d.digits, (size_t)d.ndigits);
        o += d.ndigits;
        for (int i = d.ndigits; i < d.decpt; i++)
            *o++ = '0';
        if (flags & MV_REPR_ADD_DOT_0) {
            *o++ = '.';
            *o++ = '0';
        }
    } else {
        memcpy(o, d.digits, (size_t)d.decpt);
        o += d.decpt;
        *o++ = '.';
        memcpy(o, d.digits + d.decpt, (size_t)(d.ndigits - d.decpt));
        o += d.ndigits - d.decpt;
    }
    *o = '\0';
    return (int)(o - out);
}

int mv_repr_char(uint32_t c, char *out)
{
    static const char hex[] = "0123456789abcdef";
    char *o = out;
    char quote = c == '\'' ? '"' : '\'';
    *o++ = quote;
    if (c == '\\' || c == (uint32_t)quote) {
        *o++ = '\\';
        *o++ = (char)c;
    } else if (c == '\t' || c == '\n' || c == '\r') {
        *o++ = '\\';
        *o++ = c == '\t' ? 't' : c == '\n' ? 'n' : 'r';
    } else if (c < 0x20 || (c >= 0x7f && c <= 0xa0) || c == 0xad) {
        o += sprintf(o, "\\x%c%c", hex[c >> 4], hex[c & 15]);
    } else if (c < 0x80) {
        *o++ = (char)c;
    } else if ((c >= 0xd800 && c <= 0xdfff) || c == 0x2028 || c == 0x2029) {
        o += sprintf(o, "\\u%04x", (unsigned)c);
    } else if (c > 0x10ffff) {
        o += sprintf(o, "\\U%08lx", (unsigned long)c);
    } else if (c < 0x800) {
        *o++ = (char)(0xc0 | (c >> 6));
        *o++ = (char)(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
        *o++ = (char)(0xe0 | (c >> 12));
        *o++ = (char)(0x80 | ((c >> 6) & 0x3f));
        *o++ = (char)(0x80 | (c & 0x3f));
    } else {
        *o++ = (char)(0xf0 | (c >> 18));
        *o++ = (char)(0x80 | ((c >> 12) & 0x3f));
        *o++ = (char)(0x80 | ((c >> 6) & 0x3f));
        *o++ = (char)(0x80 | (c & 0x3f));
    }
    *o++ = quote;
    *o = '\0';
    return (int)(o - out);
}

int mv_char_repr(uint32_t c, char *dst, size_t dstlen)
{
    char text[16];
    int n = mv_repr_char(c, text);
    if (dst && dstlen > 0) {
        size_t k = (size_t)n < dstlen - 1 ? (size_t)n : dstlen - 1;
        memcpy(dst, text, k);
        dst[k] = '\0';
    }
    return n;
}

int mv_double_repr(double x, char *dst, size_t dstlen)
{
    char text[40];
    int n = mv_repr_double(x, MV_REPR_ADD_DOT_0, text);
    if (dst && dstlen > 0) {
        size_t k = (size_t)n < dstlen - 1 ? (size_t)n : dstlen - 1;
        memcpy(dst, text, k);
        dst[k] = '\0';
    }
    return n;
}
