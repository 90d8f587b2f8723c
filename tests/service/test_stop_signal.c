/* Unit tests for service/stop_signal_posix.c: SIGTERM, SIGINT and stop_signal_raise each
 * end stop_signal_wait; a request made before the wait is not lost; any second signal,
 * the same or the other, ends the process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "stop_signal.h"

/* If a test hangs in stop_signal_wait, SIGALRM ends it: a failure, not a stuck suite. */
static int arm_watchdog(void **state)
{
    (void)state;
    alarm(10);
    return 0;
}

static void test_raise_before_wait_is_kept(void **state)
{
    (void)state;
    stop_signal_install();
    stop_signal_raise();
    stop_signal_wait(); /* returns at once */
}

static void test_sigterm_ends_wait(void **state)
{
    (void)state;
    stop_signal_install();
    assert_int_equal(raise(SIGTERM), 0); /* the handler runs before raise returns */
    stop_signal_wait();
}

static void test_sigint_ends_wait(void **state)
{
    (void)state;
    stop_signal_install();
    assert_int_equal(raise(SIGINT), 0);
    stop_signal_wait();
}

static void test_each_request_ends_one_wait(void **state)
{
    (void)state;
    stop_signal_install();
    stop_signal_raise();
    stop_signal_raise();
    stop_signal_wait();
    stop_signal_wait();
}

/* In a child: one signal is the stop, the second must end the process by its default
 * action. A child that outlives it exits 0, which the parent counts as a failure. */
static void check_second_signal_ends_process(int first, int second)
{
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        stop_signal_install();
        raise(first);
        stop_signal_wait();
        raise(second);
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), second);
}

static void test_any_second_signal_ends_process(void **state)
{
    (void)state;
    check_second_signal_ends_process(SIGINT, SIGTERM);
    check_second_signal_ends_process(SIGTERM, SIGINT);
    check_second_signal_ends_process(SIGINT, SIGINT);
    check_second_signal_ends_process(SIGTERM, SIGTERM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_raise_before_wait_is_kept, arm_watchdog),
        cmocka_unit_test_setup(test_sigterm_ends_wait, arm_watchdog),
        cmocka_unit_test_setup(test_sigint_ends_wait, arm_watchdog),
        cmocka_unit_test_setup(test_each_request_ends_one_wait, arm_watchdog),
        cmocka_unit_test_setup(test_any_second_signal_ends_process, arm_watchdog),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
