/* Console stop requests on Windows: Ctrl-C, Ctrl-Break, closing the console and shutdown
 * set one manual-reset event that stop_signal_wait blocks on. A logoff does not: a console
 * process receives CTRL_LOGOFF_EVENT when any user logs off, not only its own (a run from
 * a scheduled task would stop whenever someone leaves). The handler runs on a thread the
 * system creates, so it only sets the event. A second Ctrl-C or Ctrl-Break once a stop is
 * pending is left to the system's default handler, which ends the process at once: the
 * console equivalent of a second signal ending a stop that hangs. */
#include <windows.h>

#include "log.h"
#include "stop_signal.h"
#include "stop_signal_win.h"
#include "../collector/win_error_win.h"

static HANDLE stop_event;

bool stop_signal_console_event(unsigned long type)
{
    switch (type) {
    case CTRL_LOGOFF_EVENT:
        return true; /* taken, so that the default handler does not end the process */
    case CTRL_C_EVENT:
    case CTRL_BREAK_EVENT:
        if (stop_signal_is_raised())
            return false;
        stop_signal_raise();
        return true;
    case CTRL_CLOSE_EVENT:
    case CTRL_SHUTDOWN_EVENT:
        stop_signal_raise();
        /* The process is ended when we return: give the main thread time to stop the
         * session (the system allows about 5 s). */
        Sleep(4000);
        return true;
    default:
        return false;
    }
}

static BOOL WINAPI on_console_control(DWORD type)
{
    return stop_signal_console_event(type) ? TRUE : FALSE;
}

bool stop_signal_is_raised(void)
{
    return stop_event != NULL && WaitForSingleObject(stop_event, 0) == WAIT_OBJECT_0;
}

void stop_signal_install(void)
{
    if (stop_event == NULL) {
        stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
        if (stop_event == NULL)
            log_msg(LOG_ERROR, "stop signal: CreateEvent failed: %s",
                    win_error_describe(GetLastError()).text);
    }
    if (!SetConsoleCtrlHandler(on_console_control, TRUE))
        log_msg(LOG_ERROR, "stop signal: SetConsoleCtrlHandler failed: %s",
                win_error_describe(GetLastError()).text);
}

void stop_signal_wait(void)
{
    if (stop_event == NULL) {
        log_msg(LOG_ERROR, "stop signal: not installed; stopping now");
        return;
    }
    if (WaitForSingleObject(stop_event, INFINITE) != WAIT_OBJECT_0)
        log_msg(LOG_ERROR, "stop signal: wait failed: %s",
                win_error_describe(GetLastError()).text);
}

void stop_signal_raise(void)
{
    if (stop_event != NULL && !SetEvent(stop_event))
        log_msg(LOG_ERROR, "stop signal: SetEvent failed: %s",
                win_error_describe(GetLastError()).text);
}
