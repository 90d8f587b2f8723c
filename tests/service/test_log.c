/* Unit tests for service/log.c: levels, the pluggable sink, long messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"
#include "redirect.h"

static int calls;
static enum log_level last_level;
static char last_message[4096];

static void capture(enum log_level level, const char *message)
{
    calls++;
    last_level = level;
    snprintf(last_message, sizeof last_message, "%s", message);
}

static int setup(void **state)
{
    (void)state;
    calls = 0;
    last_message[0] = '\0';
    log_set_sink(capture);
    log_set_level(LOG_INFO);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    log_set_sink(NULL);
    log_set_level(LOG_INFO);
    return 0;
}

static void test_sink_gets_formatted_message(void **state)
{
    (void)state;
    log_msg(LOG_WARN, "port %d: %s", 9731, "in use");
    assert_int_equal(calls, 1);
    assert_int_equal(last_level, LOG_WARN);
    assert_string_equal(last_message, "port 9731: in use"); /* no timestamp, no newline */
}

/* A newline or a terminal escape in a logged value stays on one line, visible. */
static void test_control_characters_are_escaped(void **state)
{
    (void)state;
    log_msg(LOG_ERROR, "--etl: %s: cannot open", "a\nb\tc\r\x1b[31mred\x7f\x01");
    assert_int_equal(calls, 1);
    assert_string_equal(last_message, "--etl: a\\nb\\tc\\r\\x1b[31mred\\x7f\\x01: cannot open");
    log_msg(LOG_INFO, "caf\xc3\xa9 \\ stays"); /* UTF-8 and backslashes are kept */
    assert_string_equal(last_message, "caf\xc3\xa9 \\ stays");
}

static void test_escape_cuts_at_whole_escapes(void **state)
{
    (void)state;
    char out[6];
    assert_string_equal(log_escape("ab\ncd", out, sizeof out), "ab\\nc");
    assert_string_equal(log_escape("a\x1b", out, sizeof out), "a\\x1b");
    assert_string_equal(log_escape("ab\x1b", out, sizeof out), "ab"); /* \x1b needs 4 */
    assert_string_equal(log_escape("", out, sizeof out), "");
}

static void test_level_filters(void **state)
{
    (void)state;
    log_msg(LOG_DEBUG, "hidden");
    assert_int_equal(calls, 0);
    log_msg(LOG_INFO, "shown");
    log_msg(LOG_ERROR, "shown");
    assert_int_equal(calls, 2);

    log_set_level(LOG_ERROR);
    log_msg(LOG_WARN, "hidden");
    log_msg(LOG_INFO, "hidden");
    assert_int_equal(calls, 2);
    log_msg(LOG_ERROR, "error");
    assert_int_equal(calls, 3);

    log_set_level(LOG_DEBUG);
    log_msg(LOG_DEBUG, "debug");
    assert_int_equal(calls, 4);
    assert_string_equal(last_message, "debug");
}

static void test_long_message_is_cut_and_says_so(void **state)
{
    (void)state;
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    log_msg(LOG_ERROR, "%s", big);
    assert_int_equal(calls, 1);
    size_t len = strlen(last_message);
    assert_true(len > 500 && len < sizeof big - 1);
    assert_string_equal(last_message + len - 3, "...");
}

static void test_parse_levels(void **state)
{
    (void)state;
    assert_int_equal(log_level_parse("error"), LOG_ERROR);
    assert_int_equal(log_level_parse("warn"), LOG_WARN);
    assert_int_equal(log_level_parse("info"), LOG_INFO);
    assert_int_equal(log_level_parse("debug"), LOG_DEBUG);
    assert_int_equal(log_level_parse("warning"), -1);
    assert_int_equal(log_level_parse(""), -1);
}

/* The default sink: "YYYY-MM-DDTHH:MM:SS.mmmZ level message" on stderr (file descriptor 2
 * is pointed at a temporary file for the duration). */
static void test_stderr_sink_line_format(void **state)
{
    (void)state;
    log_set_sink(NULL);
    FILE *tmp = tmpfile();
    if (tmp == NULL)
        skip();
    int saved = redirect_begin(stderr, tmp);
    assert_true(saved >= 0);
    log_msg(LOG_WARN, "hello %s", "world");
    redirect_end(stderr, saved);
    rewind(tmp);
    char line[256] = "";
    assert_non_null(fgets(line, sizeof line, tmp));
    fclose(tmp);
    /* 2026-11-26T01:15:41.123Z warn  hello world\n (\r\n from a Windows text stream) */
    char *cr = strchr(line, '\r');
    if (cr != NULL)
        memmove(cr, cr + 1, strlen(cr));
    assert_int_equal(strlen(line), 24 + 1 + 5 + 1 + 11 + 1);
    assert_true(line[4] == '-' && line[7] == '-' && line[10] == 'T' && line[13] == ':'
                && line[16] == ':' && line[19] == '.' && line[23] == 'Z');
    assert_string_equal(line + 24, " warn  hello world\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sink_gets_formatted_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_characters_are_escaped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escape_cuts_at_whole_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_level_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_message_is_cut_and_says_so, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_levels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stderr_sink_line_format, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
