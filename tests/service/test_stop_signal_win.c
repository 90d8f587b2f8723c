/* Console control events on Windows (service/stop_signal_win.c), under Wine: Ctrl-C and
 * Ctrl-Break stop a console run, a second one while stopping is left to the system (which
 * ends the process), a logoff of some user does not stop, and the logoff is still taken so
 * that the system's default handler does not end the process. */
#include <windows.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "stop_signal.h"
#include "stop_signal_win.h"

static void test_logoff_is_taken_but_does_not_stop(void **state)
{
    (void)state;
    stop_signal_install();
    assert_false(stop_signal_is_raised());
    assert_true(stop_signal_console_event(CTRL_LOGOFF_EVENT));
    assert_false(stop_signal_is_raised());
}

static void test_ctrl_c_stops(void **state)
{
    (void)state;
    stop_signal_install();
    assert_true(stop_signal_console_event(CTRL_C_EVENT));
    assert_true(stop_signal_is_raised());
    stop_signal_wait(); /* returns at once: the stop is pending */
}

/* With a stop pending (the previous test's Ctrl-C), a second Ctrl-C or Ctrl-Break is left
 * to the system's default handler, which ends the process. */
static void test_second_ctrl_c_or_break_is_left_to_the_system(void **state)
{
    (void)state;
    stop_signal_install();
    assert_true(stop_signal_is_raised());
    assert_false(stop_signal_console_event(CTRL_BREAK_EVENT));
    assert_false(stop_signal_console_event(CTRL_C_EVENT));
}

static void test_unknown_events_are_left_to_the_system(void **state)
{
    (void)state;
    assert_false(stop_signal_console_event(0x7f));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logoff_is_taken_but_does_not_stop),
        cmocka_unit_test(test_ctrl_c_stops),
        cmocka_unit_test(test_second_ctrl_c_or_break_is_left_to_the_system),
        cmocka_unit_test(test_unknown_events_are_left_to_the_system),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
