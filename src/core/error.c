/* mv_error: an error kind that maps 1:1 to a Python exception, plus a
 * message.  Every fallible function records into an optional mv_error. */
#include "core.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void mv_error_clear(mv_error *err)
{
    if (!err)
        return;
    err->code = MV_OK;
    err->os_errno = 0;
    err->message[0] = '\0';
}

int mv_error_set(mv_error *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    /* Format into a scratch buffer first: callers may pass err->message
     * itself as an argument (to prefix or wrap a previous message). */
    char text[MV_ERROR_MESSAGE_MAX];
    text[0] = '\0';
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(text, sizeof text, fmt, ap);
        va_end(ap);
        if (n < 0)
            text[0] = '\0';
    }
    err->code = code;
    err->os_errno = 0;
    memcpy(err->message, text, sizeof text);
    err->message[MV_ERROR_MESSAGE_MAX - 1] = '\0';
    return code;
}

const char *mv_error_name(int code)
{
    switch (code) {
    case MV_OK:
        return "OK";
    case MV_EVALUE:
        return "ValueError";
    case MV_ETYPE:
        return "TypeError";
    case MV_EINDEX:
        return "IndexError";
    case MV_EBUFFER:
        return "BufferError";
    case MV_EOVERFLOW:
        return "OverflowError";
    case MV_ENOMEM:
        return "MemoryError";
    case MV_ENOTIMPL:
        return "NotImplementedError";
    case MV_EOS:
        return "OSError";
    default:
        return "UnknownError";
    }
}

int mv_error_pass(mv_error *err, const mv_error *local)
{
    int code = local->code < 0 ? local->code : MV_EVALUE;
    if (err) {
        *err = *local;
        err->code = code;
    }
    return code;
}

/* The message for a format whose size is not the buffer's itemsize: its
 * values cannot be read without guessing where the padding goes. */
int mv_error_format_size(mv_error *err, const char *format, ptrdiff_t size, ptrdiff_t itemsize)
{
    return mv_error_set(err, MV_ENOTIMPL,
                        "memoryview: format %s describes %td-byte items, but the exporter's "
                        "itemsize is %td",
                        format ? format : "B", size, itemsize);
}
