/* The service's control handler (service/scm_win.c) through its seam, under Wine: STOP and
 * SHUTDOWN only signal the service thread (no SetServiceStatus, no lock on the dispatcher
 * thread), PRESHUTDOWN is not accepted, and the accepted controls say so. */
#include <windows.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "scm_seam_win.h"

static int status_reports, events_set;

static BOOL WINAPI count_status(SERVICE_STATUS_HANDLE handle, LPSERVICE_STATUS status)
{
    (void)handle;
    (void)status;
    status_reports++;
    return TRUE;
}

static BOOL WINAPI count_event(HANDLE event)
{
    (void)event;
    events_set++;
    return TRUE;
}

static int setup(void **state)
{
    (void)state;
    status_reports = events_set = 0;
    scm_seam.set_service_status = count_status;
    scm_seam.set_event = count_event;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    scm_seam_reset();
    return 0;
}

static void test_stop_and_shutdown_only_signal(void **state)
{
    (void)state;
    assert_int_equal(scm_handle_control(SERVICE_CONTROL_STOP), NO_ERROR);
    assert_int_equal(scm_handle_control(SERVICE_CONTROL_SHUTDOWN), NO_ERROR);
    assert_int_equal(events_set, 2);
    assert_int_equal(status_reports, 0);
}

static void test_preshutdown_is_not_taken(void **state)
{
    (void)state;
    assert_int_equal(scm_handle_control(SERVICE_CONTROL_PRESHUTDOWN), ERROR_CALL_NOT_IMPLEMENTED);
    assert_int_equal(scm_handle_control(SERVICE_CONTROL_PAUSE), ERROR_CALL_NOT_IMPLEMENTED);
    assert_int_equal(scm_handle_control(SERVICE_CONTROL_INTERROGATE), NO_ERROR);
    assert_int_equal(events_set, 0);
    assert_int_equal(status_reports, 0);
}

static void test_accepted_controls(void **state)
{
    (void)state;
    assert_int_equal(scm_controls_accepted(SERVICE_RUNNING),
                     SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN);
    assert_int_equal(scm_controls_accepted(SERVICE_START_PENDING), 0);
    assert_int_equal(scm_controls_accepted(SERVICE_STOP_PENDING), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stop_and_shutdown_only_signal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_preshutdown_is_not_taken, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accepted_controls, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
