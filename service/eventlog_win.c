/* Event Log sink and source registration.
 *
 * Event IDs are one per level (1 error, 2 warning, 3 information, 4 debug) and every event
 * carries the log line as its single insertion string. eventlog_messages.mc, compiled into
 * the executable, maps each ID to "%1", so Event Viewer shows the line as the description.
 * An executable built without that resource still logs: Event Viewer then says "The
 * description for Event ID N ... cannot be found" and shows the line below it. */
#include <windows.h>

#include <stdio.h>
#include <string.h>

#include "eventlog_win.h"
#include "../collector/bytes.h"
#include "../collector/win_error_win.h"

#define SOURCE_KEY L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\" \
                   EVENTLOG_SOURCE_NAME

static HANDLE event_source;

static bool set_value(HKEY key, const wchar_t *name, DWORD type, const void *data, DWORD size,
                      char *err, size_t err_size)
{
    LSTATUS status = RegSetValueExW(key, name, 0, type, data, size);
    if (status != ERROR_SUCCESS) {
        snprintf(err, err_size, "setting the event source's %ls failed: %s", name,
                 win_error_describe((unsigned long)status).text);
        return false;
    }
    return true;
}

bool eventlog_install_source(const wchar_t *executable_path, char *err, size_t err_size)
{
    HKEY key;
    LSTATUS status = RegCreateKeyExW(HKEY_LOCAL_MACHINE, SOURCE_KEY, 0, NULL,
                                     REG_OPTION_NON_VOLATILE, KEY_SET_VALUE, NULL, &key, NULL);
    if (status != ERROR_SUCCESS) {
        snprintf(err, err_size, "registering the event source failed: %s",
                 win_error_describe((unsigned long)status).text);
        return false;
    }
    DWORD types = EVENTLOG_ERROR_TYPE | EVENTLOG_WARNING_TYPE | EVENTLOG_INFORMATION_TYPE;
    bool ok = set_value(key, L"EventMessageFile", REG_EXPAND_SZ, executable_path,
                        (DWORD)((wcslen(executable_path) + 1) * sizeof(wchar_t)), err, err_size)
              && set_value(key, L"TypesSupported", REG_DWORD, &types, sizeof types,
                           err, err_size);
    RegCloseKey(key);
    return ok;
}

bool eventlog_remove_source(char *err, size_t err_size)
{
    LSTATUS status = RegDeleteKeyW(HKEY_LOCAL_MACHINE, SOURCE_KEY);
    if (status != ERROR_SUCCESS && status != ERROR_FILE_NOT_FOUND) {
        snprintf(err, err_size, "removing the event source failed: %s",
                 win_error_describe((unsigned long)status).text);
        return false;
    }
    return true;
}

bool eventlog_open(void)
{
    if (event_source != NULL)
        return true;
    event_source = RegisterEventSourceW(NULL, EVENTLOG_SOURCE_NAME);
    return event_source != NULL;
}

void eventlog_close(void)
{
    /* A failure has nothing left to log to; the handle goes with the process anyway. */
    if (event_source != NULL)
        (void)DeregisterEventSource(event_source);
    event_source = NULL;
}

void eventlog_sink(enum log_level level, const char *message)
{
    static const WORD types[] = {
        [LOG_ERROR] = EVENTLOG_ERROR_TYPE, [LOG_WARN] = EVENTLOG_WARNING_TYPE,
        [LOG_INFO] = EVENTLOG_INFORMATION_TYPE, [LOG_DEBUG] = EVENTLOG_INFORMATION_TYPE,
    };
    wchar_t wide[2048];
    if (event_source == NULL || (unsigned)level > LOG_DEBUG)
        return;
    /* Log lines are UTF-8; a line that is not is shown in the ANSI code page. */
    if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, message, -1, wide,
                            (int)ARRAY_SIZE(wide)) <= 0 &&
        MultiByteToWideChar(CP_ACP, 0, message, -1, wide,
                            (int)ARRAY_SIZE(wide)) <= 0) {
        wcscpy(wide, L"(log line could not be converted)");
    }
    wide[ARRAY_SIZE(wide) - 1] = L'\0';
    const wchar_t *strings[1] = {wide};
    /* A failed report has nowhere to go: the Event Log is the last resort. */
    (void)ReportEventW(event_source, types[level], 0, (DWORD)level + 1u, NULL, 1, 0,
                       strings, NULL);
}
