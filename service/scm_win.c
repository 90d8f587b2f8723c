/* The Windows service: `install` / `uninstall`, and running under the service control
 * manager (SCM).
 *
 * Threads: the dispatcher (the process's main thread, inside StartServiceCtrlDispatcherW)
 * runs the control handler; ServiceMain runs on a thread the dispatcher creates and owns the
 * app's lifetime; a small pacer thread keeps the SCM informed (checkpoints) while start-up
 * or shutdown takes time. The handler only records the request and sets an event. */
#include <windows.h>
#include <shellapi.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "app.h"
#include "../collector/bytes.h"
#include "config.h"
#include "eventlog_win.h"
#include "exit_code.h"
#include "../collector/win_error_win.h"
#include "log.h"
#include "scm_seam_win.h"
#include "scm_win.h"
#include "utf8_win.h"

#define SERVICE_NAME L"tcpip_exporter"
#define SERVICE_DISPLAY_NAME L"tcpip_exporter"
#define SERVICE_DESCRIPTION_TEXT L"Per-process TCP/IP traffic counters from the kernel's " \
    L"trace events, served to Prometheus (/metrics) and as JSON (/api/v1/processes)."

#define START_WAIT_HINT_MS 10000u
#define STOP_WAIT_HINT_MS 20000u
#define PACE_MS 1000u
/* The pacer reports progress this long at most: past it the SCM is allowed to see a hung
 * service rather than one that promises progress forever. The live session gives up its
 * consumer thread after 15 s, well within this. */
#define PACE_LIMIT_MS 60000u
#define PACER_JOIN_MS 5000u
#define UNINSTALL_STOP_WAIT_MS 30000u

#define REAL_SCM_SEAM { .set_service_status = SetServiceStatus, .set_event = SetEvent }
static const struct scm_seam real_scm_seam = REAL_SCM_SEAM;
struct scm_seam scm_seam = REAL_SCM_SEAM;

void scm_seam_reset(void)
{
    scm_seam = real_scm_seam;
}

/* The process's own command line: the flags given in binPath. */
static int process_argc;
static char **process_argv;

static SERVICE_STATUS_HANDLE status_handle;
static SRWLOCK status_lock = SRWLOCK_INIT;
static SERVICE_STATUS service_status;
static HANDLE stop_requested;   /* manual reset: STOP or SHUTDOWN arrived */
static HANDLE pacer_done;
static HANDLE pacer_thread;
static int service_exit_code;

/* ---- reporting to the SCM ---- */

static void report_locked(void)
{
    if (!scm_seam.set_service_status(status_handle, &service_status)) {
        log_msg(LOG_ERROR, "service: SetServiceStatus failed: %s",
                win_error_describe(GetLastError()).text);
    }
}

/* Sets the state; pending states get a wait hint and the next checkpoint. */
static void report(DWORD state, DWORD wait_hint_ms)
{
    AcquireSRWLockExclusive(&status_lock);
    service_status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    service_status.dwCurrentState = state;
    service_status.dwWaitHint = wait_hint_ms;
    if (state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING)
        service_status.dwCheckPoint++;
    else
        service_status.dwCheckPoint = 0;
    service_status.dwControlsAccepted = scm_controls_accepted(state);
    report_locked();
    ReleaseSRWLockExclusive(&status_lock);
}

static void report_stopped(int exit_code)
{
    AcquireSRWLockExclusive(&status_lock);
    service_status.dwCurrentState = SERVICE_STOPPED;
    service_status.dwControlsAccepted = 0;
    service_status.dwCheckPoint = 0;
    service_status.dwWaitHint = 0;
    if (exit_code == 0) {
        service_status.dwWin32ExitCode = NO_ERROR;
        service_status.dwServiceSpecificExitCode = 0;
    } else {
        service_status.dwWin32ExitCode = ERROR_SERVICE_SPECIFIC_ERROR;
        service_status.dwServiceSpecificExitCode = (DWORD)exit_code;
    }
    report_locked();
    ReleaseSRWLockExclusive(&status_lock);
}

/* While start-up or shutdown runs, advance the checkpoint every second so the SCM sees
 * progress instead of a hung service. */
static DWORD WINAPI pace(LPVOID unused)
{
    (void)unused;
    ULONGLONG began = GetTickCount64();
    while (WaitForSingleObject(pacer_done, PACE_MS) == WAIT_TIMEOUT) {
        if (GetTickCount64() - began > PACE_LIMIT_MS) {
            log_msg(LOG_ERROR, "service: still not done after %u s; no more progress "
                    "reports", PACE_LIMIT_MS / 1000u);
            break;
        }
        AcquireSRWLockExclusive(&status_lock);
        DWORD state = service_status.dwCurrentState;
        if (state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING) {
            service_status.dwCheckPoint++;
            report_locked();
        }
        ReleaseSRWLockExclusive(&status_lock);
    }
    return 0;
}

static void pacer_start(void)
{
    if (!ResetEvent(pacer_done))
        return;
    pacer_thread = CreateThread(NULL, 0, pace, NULL, 0, NULL);
    if (pacer_thread == NULL) {
        log_msg(LOG_WARN, "service: no pacer thread (%s); relying on the wait hint",
                win_error_describe(GetLastError()).text);
    }
}

static void pacer_stop(void)
{
    if (pacer_thread == NULL)
        return;
    SetEvent(pacer_done);
    if (WaitForSingleObject(pacer_thread, PACER_JOIN_MS) != WAIT_OBJECT_0)
        log_msg(LOG_WARN, "service: the pacer thread did not end in %u ms; leaving it",
                PACER_JOIN_MS);
    CloseHandle(pacer_thread);
    pacer_thread = NULL;
}

/* STOP and SHUTDOWN only: nothing here needs PRESHUTDOWN, which before Windows 10 1703
 * could hold a shutdown up to 180 s. */
DWORD scm_controls_accepted(DWORD state)
{
    return state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
}

/* Runs on the dispatcher thread, which also serves other services' controls: it only
 * signals. No lock, no SetServiceStatus: the service thread, woken by the event, reports
 * STOP_PENDING itself. */
DWORD scm_handle_control(DWORD control)
{
    switch (control) {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
        scm_seam.set_event(stop_requested);
        return NO_ERROR;
    case SERVICE_CONTROL_INTERROGATE:
        return NO_ERROR;   /* the SCM answers from the last reported status */
    default:
        return ERROR_CALL_NOT_IMPLEMENTED;
    }
}

static DWORD WINAPI control_handler(DWORD control, DWORD event_type, LPVOID event_data,
                                    LPVOID context)
{
    (void)event_type;
    (void)event_data;
    (void)context;
    return scm_handle_control(control);
}

/* ---- ServiceMain ---- */

/* The process's arguments (already UTF-8, from main), then those given to `sc start NAME
 * args...` (ServiceMain's argv[1..]), converted from UTF-16 to UTF-8 the same way. */
static char **service_arguments(DWORD argc, LPWSTR *argv, int *count)
{
    int total = process_argc + (argc > 1 ? (int)argc - 1 : 0);
    char **all = calloc((size_t)total + 1, sizeof *all);
    if (all == NULL)
        return NULL;
    for (int i = 0; i < process_argc; i++)
        all[i] = process_argv[i];
    for (DWORD i = 1; i < argc; i++) {
        char *arg = utf8_from_wide(argv[i]);
        all[process_argc + (int)i - 1] = arg != NULL ? arg : (char *)"";
    }
    *count = total;
    return all;
}

static void free_service_arguments(char **all, int count)
{
    if (all == NULL)
        return;
    for (int i = process_argc; i < count; i++)
        if (all[i][0] != '\0')
            free(all[i]);
    free(all);
}

static int run_service(DWORD argc, LPWSTR *argv)
{
    char err[512];
    struct config config;
    int count = 0;
    char **arguments = service_arguments(argc, argv, &count);
    if (arguments == NULL) {
        log_msg(LOG_ERROR, "service: out of memory");
        return EXIT_SYSTEM_ERROR;
    }

    memset(&config, 0, sizeof config);
    enum config_result parsed = config_parse(&config, count, arguments, err, sizeof err);
    if (parsed != CONFIG_RUN) {
        if (parsed == CONFIG_ERROR)
            log_msg(LOG_ERROR, "service: bad configuration: %s", err);
        else
            log_msg(LOG_ERROR, "service: --help/--version make no sense in a service");
        config_free(&config);
        free_service_arguments(arguments, count);
        return EXIT_BAD_CONFIG;
    }
    log_set_level(config.log_level);
    report(SERVICE_START_PENDING, START_WAIT_HINT_MS);

    struct app *app = app_start(&config, err, sizeof err);
    if (app == NULL) {
        log_msg(LOG_ERROR, "service: start-up failed: %s", err);
        config_free(&config);
        free_service_arguments(arguments, count);
        return EXIT_START_FAILED;
    }
    pacer_stop();
    report(SERVICE_RUNNING, 0);
    log_msg(LOG_INFO, "service: running");

    if (WaitForSingleObject(stop_requested, INFINITE) != WAIT_OBJECT_0) {
        log_msg(LOG_ERROR, "service: waiting for a stop request failed: %s; stopping",
                win_error_describe(GetLastError()).text);
    }
    log_msg(LOG_INFO, "service: stopping");
    report(SERVICE_STOP_PENDING, STOP_WAIT_HINT_MS);
    pacer_start();
    int code = app_stop(app);
    config_free(&config);
    free_service_arguments(arguments, count);
    log_msg(code == 0 ? LOG_INFO : LOG_WARN, "service: stopped (exit code %d)", code);
    return code;
}

static VOID WINAPI service_main(DWORD argc, LPWSTR *argv)
{
    status_handle = RegisterServiceCtrlHandlerExW(SERVICE_NAME, control_handler, NULL);
    if (status_handle == NULL) {
        log_msg(LOG_ERROR, "service: RegisterServiceCtrlHandlerEx failed: %s",
                win_error_describe(GetLastError()).text);
        service_exit_code = EXIT_SYSTEM_ERROR;
        return;
    }
    /* Log to the Event Log from here on; a failure leaves stderr, which goes nowhere in a
     * service, so say so where it can still be seen by a debugger. */
    if (eventlog_open())
        log_set_sink(eventlog_sink);
    else
        OutputDebugStringW(L"tcpip_exporter: RegisterEventSource failed; no Event Log\n");

    report(SERVICE_START_PENDING, START_WAIT_HINT_MS);
    stop_requested = CreateEventW(NULL, TRUE, FALSE, NULL);
    pacer_done = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (stop_requested == NULL || pacer_done == NULL) {
        log_msg(LOG_ERROR, "service: CreateEvent failed: %s",
                win_error_describe(GetLastError()).text);
        service_exit_code = EXIT_SYSTEM_ERROR;
    } else {
        pacer_start();
        service_exit_code = run_service(argc, argv);
        pacer_stop();
    }
    log_set_sink(NULL);
    eventlog_close();
    report_stopped(service_exit_code);
}

/* ---- install / uninstall ---- */

/* Appends one argument quoted so that CommandLineToArgvW and the C runtime give it back
 * unchanged: backslashes are literal except before a quote. */
static bool append_quoted(wchar_t *line, size_t size, const wchar_t *arg)
{
    size_t used = wcslen(line);
    size_t need = used + 3 + 2 * wcslen(arg) + 1;
    if (need > size)
        return false;
    wchar_t *out = line + used;
    if (used > 0)
        *out++ = L' ';
    bool plain = arg[0] != L'\0' && wcspbrk(arg, L" \t\n\v\"") == NULL;
    if (plain) {
        wcscpy(out, arg);
        return true;
    }
    *out++ = L'"';
    for (const wchar_t *c = arg;; c++) {
        size_t slashes = 0;
        while (*c == L'\\') {
            slashes++;
            c++;
        }
        if (*c == L'\0') {
            for (size_t i = 0; i < slashes * 2; i++)
                *out++ = L'\\';
            break;
        }
        if (*c == L'"') {
            for (size_t i = 0; i < slashes * 2 + 1; i++)
                *out++ = L'\\';
        } else {
            for (size_t i = 0; i < slashes; i++)
                *out++ = L'\\';
        }
        *out++ = *c;
    }
    *out++ = L'"';
    *out = L'\0';
    return true;
}

static void print_error(const char *what, DWORD code)
{
    fprintf(stderr, "tcpip_exporter: %s failed: %s%s\n", what, win_error_describe(code).text,
            code == ERROR_ACCESS_DENIED ? " (run this from an elevated prompt)" : "");
}

/* The value the SCM itself keeps under the service's key for a ChangeServiceConfig2 level.
 * Used only when this SCM does not know the level (ERROR_INVALID_LEVEL: Wine's does not
 * know delayed auto-start nor the failure actions flag); Windows Vista and later do. */
static bool set_service_value(const wchar_t *name, DWORD type, const void *data, DWORD size)
{
    HKEY key;
    LSTATUS status = RegOpenKeyExW(HKEY_LOCAL_MACHINE,
                                   L"SYSTEM\\CurrentControlSet\\Services\\" SERVICE_NAME, 0,
                                   KEY_SET_VALUE, &key);
    if (status == ERROR_SUCCESS) {
        status = RegSetValueExW(key, name, 0, type, (const BYTE *)data, size);
        RegCloseKey(key);
    }
    if (status != ERROR_SUCCESS) {
        print_error("writing the service's registry value", (DWORD)status);
        return false;
    }
    fprintf(stderr, "tcpip_exporter: this service manager does not know that setting; wrote "
            "the registry value %ls that Windows keeps it in\n", name);
    return true;
}

static bool set_service_dword(const wchar_t *name, DWORD value)
{
    return set_service_value(name, REG_DWORD, &value, sizeof value);
}

/* Least privilege: the service token keeps only what it uses. Starting and consuming the
 * kernel session needs SeSystemProfilePrivilege; the instance claim's Global\ mutex needs
 * SeCreateGlobalPrivilege; SeChangeNotifyPrivilege (traverse checking) every process has.
 * REG_MULTI_SZ: NUL-separated, ending in two NULs. */
static const wchar_t required_privileges[] =
    L"SeChangeNotifyPrivilege\0SeCreateGlobalPrivilege\0SeSystemProfilePrivilege\0";

static bool restrict_service(SC_HANDLE service)
{
    bool ok = true;
    SERVICE_REQUIRED_PRIVILEGES_INFOW privileges = {(LPWSTR)required_privileges};
    if (!ChangeServiceConfig2W(service, SERVICE_CONFIG_REQUIRED_PRIVILEGES_INFO, &privileges)) {
        DWORD error = GetLastError();
        if (error != ERROR_INVALID_LEVEL ||
            !set_service_value(L"RequiredPrivileges", REG_MULTI_SZ, required_privileges,
                               sizeof required_privileges)) {
            print_error("setting the required privileges", error);
            ok = false;
        }
    }
    /* A per-service SID (NT SERVICE\tcpip_exporter) in the token, so that ACLs (and the
     * trace session's EventAccessControl grants) can name this service alone. */
    SERVICE_SID_INFO sid = {SERVICE_SID_TYPE_UNRESTRICTED};
    if (!ChangeServiceConfig2W(service, SERVICE_CONFIG_SERVICE_SID_INFO, &sid)) {
        DWORD error = GetLastError();
        if (error != ERROR_INVALID_LEVEL ||
            !set_service_dword(L"ServiceSidType", SERVICE_SID_TYPE_UNRESTRICTED)) {
            print_error("setting the service SID type", error);
            ok = false;
        }
    }
    return ok;
}

static bool configure_service(SC_HANDLE service)
{
    bool ok = true;
    SERVICE_DESCRIPTIONW description = {(LPWSTR)SERVICE_DESCRIPTION_TEXT};
    if (!ChangeServiceConfig2W(service, SERVICE_CONFIG_DESCRIPTION, &description)) {
        print_error("setting the description", GetLastError());
        ok = false;
    }
    /* Delayed: the exporter is not needed for boot, and starting after the network stack
     * and the other auto-start services settles avoids fighting them for the port. */
    SERVICE_DELAYED_AUTO_START_INFO delayed = {TRUE};
    if (!ChangeServiceConfig2W(service, SERVICE_CONFIG_DELAYED_AUTO_START_INFO, &delayed)) {
        DWORD error = GetLastError();
        if (error != ERROR_INVALID_LEVEL || !set_service_dword(L"DelayedAutostart", 1)) {
            print_error("setting delayed auto-start", error);
            ok = false;
        }
    }
    /* Restart after 5 s, 30 s, then every 60 s; the count resets after a day without
     * failure. */
    SC_ACTION actions[3] = {
        {SC_ACTION_RESTART, 5000}, {SC_ACTION_RESTART, 30000}, {SC_ACTION_RESTART, 60000},
    };
    SERVICE_FAILURE_ACTIONSW failure = {
        .dwResetPeriod = 86400, .lpRebootMsg = NULL, .lpCommand = NULL,
        .cActions = 3, .lpsaActions = actions,
    };
    if (!ChangeServiceConfig2W(service, SERVICE_CONFIG_FAILURE_ACTIONS, &failure)) {
        print_error("setting the restart-on-failure actions", GetLastError());
        ok = false;
    }
    /* Also when the service stops itself with an error (port in use at boot), not only
     * when it crashes. */
    SERVICE_FAILURE_ACTIONS_FLAG on_error = {TRUE};
    if (!ChangeServiceConfig2W(service, SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, &on_error)) {
        DWORD error = GetLastError();
        if (error != ERROR_INVALID_LEVEL ||
            !set_service_dword(L"FailureActionsOnNonCrashFailures", 1)) {
            print_error("setting the failure actions flag", error);
            ok = false;
        }
    }
    return restrict_service(service) && ok;
}

/* The service's command line: this executable and the flags after "install", quoted, in
 * UTF-16 straight from the process command line so no code page loses a character.
 * Returns 0, or the exit code after printing why not. */
static int service_command_line(wchar_t *command, size_t size, wchar_t *path, DWORD path_size)
{
    DWORD length = GetModuleFileNameW(NULL, path, path_size);
    if (length == 0 || length >= path_size) {
        print_error("GetModuleFileName", GetLastError());
        return EXIT_SYSTEM_ERROR;
    }
    int wargc = 0;
    LPWSTR *wargv = CommandLineToArgvW(GetCommandLineW(), &wargc);
    if (wargv == NULL) {
        print_error("CommandLineToArgvW", GetLastError());
        return EXIT_SYSTEM_ERROR;
    }
    command[0] = L'\0';
    bool fits = append_quoted(command, size, path);
    for (int i = 2; fits && i < wargc; i++)
        fits = append_quoted(command, size, wargv[i]);
    LocalFree(wargv);
    if (!fits) {
        fprintf(stderr, "tcpip_exporter: install: the command line is too long\n");
        return EXIT_BAD_CONFIG;
    }
    return EXIT_OK;
}

/* What configure_service needs on the handle: SERVICE_START too, because
 * ChangeServiceConfig2 with SC_ACTION_RESTART failure actions requires it. */
#define INSTALL_ACCESS (SERVICE_CHANGE_CONFIG | SERVICE_QUERY_CONFIG | SERVICE_START)

/* Creates the service, or updates the command line of one installed before: installing
 * again is the simplest way to change the flags. NULL (after printing why) when there is
 * no service to configure; *failed when updating it went wrong. */
static SC_HANDLE create_or_update_service(SC_HANDLE manager, const wchar_t *command,
                                          bool *failed)
{
    *failed = false;
    SC_HANDLE service = CreateServiceW(manager, SERVICE_NAME, SERVICE_DISPLAY_NAME,
                                       INSTALL_ACCESS,
                                       SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START,
                                       SERVICE_ERROR_NORMAL, command, NULL, NULL, NULL,
                                       NULL /* LocalSystem */, NULL);
    if (service == NULL && GetLastError() == ERROR_SERVICE_EXISTS) {
        service = OpenServiceW(manager, SERVICE_NAME, INSTALL_ACCESS);
        if (service != NULL &&
            !ChangeServiceConfigW(service, SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START,
                                  SERVICE_ERROR_NORMAL, command, NULL, NULL, NULL, NULL, NULL,
                                  SERVICE_DISPLAY_NAME)) {
            print_error("updating the existing service", GetLastError());
            *failed = true;
        } else if (service != NULL) {
            printf("tcpip_exporter: service existed; its command line was updated\n");
        }
    }
    if (service == NULL)
        print_error("creating the service", GetLastError());
    return service;
}

static int install(int argc, char **argv)
{
    /* Refuse flags that the service would refuse at start, while someone is watching. */
    char err[512];
    struct config config;
    memset(&config, 0, sizeof config);
    enum config_result parsed = config_parse(&config, argc - 1, argv + 1, err, sizeof err);
    config_free(&config);
    if (parsed == CONFIG_ERROR) {
        char escaped[2048]; /* the line quotes the flags: a newline in one stays "\n" */
        fprintf(stderr, "tcpip_exporter: install: %s\n",
                log_escape(err, escaped, sizeof escaped));
        return EXIT_BAD_CONFIG;
    }
    if (parsed == CONFIG_EXIT_OK)
        return EXIT_OK;

    wchar_t path[MAX_PATH * 2];
    static wchar_t command[32768];
    int result = service_command_line(command, ARRAY_SIZE(command), path,
                                      (DWORD)ARRAY_SIZE(path));
    if (result != 0)
        return result;

    SC_HANDLE manager = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT | SC_MANAGER_CREATE_SERVICE);
    if (manager == NULL) {
        print_error("opening the service control manager", GetLastError());
        return EXIT_SYSTEM_ERROR;
    }
    bool failed;
    SC_HANDLE service = create_or_update_service(manager, command, &failed);
    if (service == NULL) {
        CloseServiceHandle(manager);
        return EXIT_SYSTEM_ERROR;
    }
    if (!failed && !configure_service(service))
        failed = true;
    CloseServiceHandle(service);
    CloseServiceHandle(manager);
    result = failed ? EXIT_SYSTEM_ERROR : EXIT_OK;

    if (!eventlog_install_source(path, err, sizeof err)) {
        fprintf(stderr, "tcpip_exporter: install: %s\n", err);
        result = EXIT_SYSTEM_ERROR;
    }
    if (result == 0) {
        printf("tcpip_exporter: installed service %ls (LocalSystem, delayed auto-start)\n"
               "  command line: %ls\n  start it now with: sc start %ls\n",
               SERVICE_NAME, command, SERVICE_NAME);
    }
    return result;
}

static bool wait_until_stopped(SC_HANDLE service)
{
    ULONGLONG deadline = GetTickCount64() + UNINSTALL_STOP_WAIT_MS;
    SERVICE_STATUS status;
    while (QueryServiceStatus(service, &status)) {
        if (status.dwCurrentState == SERVICE_STOPPED)
            return true;
        if (GetTickCount64() > deadline)
            return false;
        Sleep(250);
    }
    print_error("querying the service", GetLastError());
    return false;
}

/* The flags the installed service runs with, from its ImagePath, so that uninstall can
 * find the session it used; the defaults when there is no service or the flags no longer
 * parse. config must be freed with config_free. */
static void installed_config(SC_HANDLE service, struct config *config)
{
    char err[512];
    char *defaults[] = { (char *)"tcpip_exporter", NULL };
    BYTE buffer[8192];
    DWORD needed = 0;
    QUERY_SERVICE_CONFIGW *q = (QUERY_SERVICE_CONFIGW *)buffer;
    int wargc = 0;
    LPWSTR *wargv = NULL;
    if (service != NULL && QueryServiceConfigW(service, q, sizeof buffer, &needed) &&
        q->lpBinaryPathName != NULL)
        wargv = CommandLineToArgvW(q->lpBinaryPathName, &wargc);
    char **argv = wargv != NULL ? calloc((size_t)wargc + 1, sizeof *argv) : NULL;
    bool converted = argv != NULL;
    for (int i = 0; converted && i < wargc; i++)
        converted = (argv[i] = utf8_from_wide(wargv[i])) != NULL;
    memset(config, 0, sizeof *config);
    if (!converted || config_parse(config, wargc, argv, err, sizeof err) != CONFIG_RUN)
        config_parse(config, 1, defaults, err, sizeof err);
    /* the strings are only needed while the caller looks at the session settings */
    config->session.session_name = config->session.session_name != NULL &&
                                   strcmp(config->session.session_name,
                                          LIVE_SESSION_DEFAULT_NAME) != 0
                                       ? _strdup(config->session.session_name) : NULL;
    for (int i = 0; argv != NULL && i < wargc; i++)
        free(argv[i]);
    free(argv);
    if (wargv != NULL)
        LocalFree(wargv);
}

/* A session the service left running (killed, or stopped without stopping its session). */
static void stop_leftover_session(const struct config *config)
{
    char what[512];
    live_session_stop_leftover(&config->session, what, sizeof what);
    printf("tcpip_exporter: uninstall: %s\n", what);
}

static int uninstall(void)
{
    char err[512];
    int result = EXIT_OK;
    struct config config;
    SC_HANDLE manager = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    if (manager == NULL) {
        print_error("opening the service control manager", GetLastError());
        return EXIT_SYSTEM_ERROR;
    }
    SC_HANDLE service = OpenServiceW(manager, SERVICE_NAME,
                                     SERVICE_STOP | SERVICE_QUERY_STATUS |
                                         SERVICE_QUERY_CONFIG | DELETE);
    DWORD open_error = GetLastError();
    installed_config(service, &config);
    if (service == NULL) {
        DWORD error = open_error;
        if (error == ERROR_SERVICE_DOES_NOT_EXIST) {
            printf("tcpip_exporter: service %ls is not installed\n", SERVICE_NAME);
        } else {
            print_error("opening the service", error);
            result = EXIT_SYSTEM_ERROR;
        }
    } else {
        SERVICE_STATUS status;
        if (ControlService(service, SERVICE_CONTROL_STOP, &status)) {
            printf("tcpip_exporter: stopping the service...\n");
            if (!wait_until_stopped(service)) {
                fprintf(stderr, "tcpip_exporter: the service did not stop within %u s\n",
                        UNINSTALL_STOP_WAIT_MS / 1000u);
                result = EXIT_SYSTEM_ERROR;
            }
        } else if (GetLastError() != ERROR_SERVICE_NOT_ACTIVE) {
            print_error("stopping the service", GetLastError());
            result = EXIT_SYSTEM_ERROR;
        }
        if (!DeleteService(service) && GetLastError() != ERROR_SERVICE_MARKED_FOR_DELETE) {
            print_error("deleting the service", GetLastError());
            result = EXIT_SYSTEM_ERROR;
        } else {
            printf("tcpip_exporter: service %ls removed\n", SERVICE_NAME);
        }
        CloseServiceHandle(service);
    }
    CloseServiceHandle(manager);
    stop_leftover_session(&config);
    free((char *)config.session.session_name);
    config_free(&config);
    if (!eventlog_remove_source(err, sizeof err)) {
        fprintf(stderr, "tcpip_exporter: uninstall: %s\n", err);
        result = EXIT_SYSTEM_ERROR;
    }
    return result;
}

/* ---- entry ---- */

int scm_main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "install") == 0)
        return install(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "uninstall") == 0)
        return uninstall();
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--console") == 0 || strcmp(argv[i], "--help") == 0 ||
            strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--version") == 0 ||
            strcmp(argv[i], "--summary") == 0)
            return -1;
    }

    process_argc = argc;
    process_argv = argv;
    SERVICE_TABLE_ENTRYW table[] = {
        {(LPWSTR)SERVICE_NAME, service_main},
        {NULL, NULL},
    };
    if (StartServiceCtrlDispatcherW(table))
        return service_exit_code;
    DWORD error = GetLastError();
    if (error == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT)
        return -1;   /* started from a console, not by the SCM */
    print_error("StartServiceCtrlDispatcher", error);
    return EXIT_SYSTEM_ERROR;
}
