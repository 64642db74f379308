/* Allocation-failure injection for tests.  Test programs are linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc so every allocation in
 * libmemview (static) and in the test goes through a countdown. */
#ifndef MV_TEST_FAILALLOC_H
#define MV_TEST_FAILALLOC_H

/* After n more successful allocations, every later one fails (returns NULL)
 * until disarmed.  n < 0 disarms. */
void mv_test_fail_after(long n);

/* Number of allocations that failed since the last mv_test_fail_after. */
long mv_test_failed_allocations(void);

#endif
