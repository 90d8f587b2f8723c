/* Console control events on Windows (service/stop_signal_win.c), under Wine: Ctrl-C and
 * Ctrl-Break stop a console run, a logoff of some user does not, and the logoff is still
 * taken so that the system's default handler does not end the process. */
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
        cmocka_unit_test(test_unknown_events_are_left_to_the_system),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
