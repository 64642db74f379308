#include "failalloc.h"

#include <stddef.h>

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);

/* Test programs are single-threaded while a countdown is armed. */
static long countdown = -1;
static long failed;

void mv_test_fail_after(long n)
{
    countdown = n;
    failed = 0;
}

long mv_test_failed_allocations(void)
{
    return failed;
}

static int should_fail(void)
{
    if (countdown < 0)
        return 0;
    if (countdown == 0) {
        failed++;
        return 1;
    }
    countdown--;
    return 0;
}

void *__wrap_malloc(size_t size)
{
    return should_fail() ? NULL : __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return should_fail() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
    return should_fail() ? NULL : __real_realloc(p, size);
}
