/* mv_error: recording, truncation, names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "memview.h"

static void test_set_returns_code_and_formats(void **state)
{
    (void)state;
    mv_error err;
    mv_error_clear(&err);
    assert_int_equal(mv_error_set(&err, MV_EINDEX, "index out of bounds on dimension %d", 2),
                     MV_EINDEX);
    assert_int_equal(err.code, MV_EINDEX);
    assert_int_equal(err.os_errno, 0);
    assert_string_equal(err.message, "index out of bounds on dimension 2");
}

static void test_set_null_err(void **state)
{
    (void)state;
    assert_int_equal(mv_error_set(NULL, MV_ETYPE, "x %s", "y"), MV_ETYPE);
    assert_int_equal(mv_error_set(NULL, MV_OK, NULL), MV_OK);
    mv_error_clear(NULL);
}

static void test_clear(void **state)
{
    (void)state;
    mv_error err;
    memset(&err, 0x5a, sizeof err);
    mv_error_clear(&err);
    assert_int_equal(err.code, MV_OK);
    assert_int_equal(err.os_errno, 0);
    assert_string_equal(err.message, "");
}

static void test_set_resets_os_errno(void **state)
{
    (void)state;
    mv_error err;
    mv_error_clear(&err);
    err.os_errno = 13;
    mv_error_set(&err, MV_EOS, "open failed");
    assert_int_equal(err.os_errno, 0);
    assert_int_equal(err.code, MV_EOS);
}

static void test_truncation(void **state)
{
    (void)state;
    char big[1000];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    mv_error err;
    mv_error_set(&err, MV_EVALUE, "<%s>", big);
    assert_int_equal(strlen(err.message), MV_ERROR_MESSAGE_MAX - 1);
    assert_int_equal(err.message[0], '<');
    assert_int_equal(err.message[1], 'q');
    assert_int_equal(err.message[MV_ERROR_MESSAGE_MAX - 2], 'q');
    assert_int_equal(err.message[MV_ERROR_MESSAGE_MAX - 1], '\0');
}

static void test_message_as_argument(void **state)
{
    (void)state;
    mv_error err;
    mv_error_set(&err, MV_EVALUE, "inner %d", 7);
    /* Wrapping a previous message must not read what is being written. */
    mv_error_set(&err, MV_ETYPE, "outer: %s!", err.message);
    assert_string_equal(err.message, "outer: inner 7!");
    assert_int_equal(err.code, MV_ETYPE);
}

static void test_null_format(void **state)
{
    (void)state;
    mv_error err;
    mv_error_set(&err, MV_EVALUE, "something");
    mv_error_set(&err, MV_EBUFFER, NULL);
    assert_int_equal(err.code, MV_EBUFFER);
    assert_string_equal(err.message, "");
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(mv_error_name(MV_OK), "OK");
    assert_string_equal(mv_error_name(MV_EVALUE), "ValueError");
    assert_string_equal(mv_error_name(MV_ETYPE), "TypeError");
    assert_string_equal(mv_error_name(MV_EINDEX), "IndexError");
    assert_string_equal(mv_error_name(MV_EBUFFER), "BufferError");
    assert_string_equal(mv_error_name(MV_EOVERFLOW), "OverflowError");
    assert_string_equal(mv_error_name(MV_ENOMEM), "MemoryError");
    assert_string_equal(mv_error_name(MV_ENOTIMPL), "NotImplementedError");
    assert_string_equal(mv_error_name(MV_EOS), "OSError");
    assert_string_equal(mv_error_name(-9), "UnknownError");
    assert_string_equal(mv_error_name(1), "UnknownError");
    assert_string_equal(mv_error_name(INT32_MIN), "UnknownError");
}

static void test_codes_are_distinct_negatives(void **state)
{
    (void)state;
    int codes[] = {MV_EVALUE, MV_ETYPE,  MV_EINDEX,   MV_EBUFFER,
                   MV_EOVERFLOW, MV_ENOMEM, MV_ENOTIMPL, MV_EOS};
    size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        assert_true(codes[i] < 0);
        for (size_t j = i + 1; j < n; j++) {
            assert_int_not_equal(codes[i], codes[j]);
            assert_string_not_equal(mv_error_name(codes[i]), mv_error_name(codes[j]));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_returns_code_and_formats),
        cmocka_unit_test(test_set_null_err),
        cmocka_unit_test(test_clear),
        cmocka_unit_test(test_set_resets_os_errno),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_message_as_argument),
        cmocka_unit_test(test_null_format),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_codes_are_distinct_negatives),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
