/* The service scan driven through its seam (collector/scm_enum_seam_win.h), as a Windows
 * executable run under Wine: a fake EnumServicesStatusExW that pages its list with the
 * resume handle, asks for a bigger buffer, keeps changing or fails, with
 * ENUM_SERVICE_STATUS_PROCESSW entries laid out as the real one does (the array, then the
 * strings it points to, in the caller's buffer); then the scanner thread against a table,
 * and the real call under Wine. */
#include <windows.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>
#include <cmocka.h>

#include "process_table.h"
#include "scm_enum_seam_win.h"
#include "service_scan.h"

/* ---- the fake SCM ---- */

struct fake_service {
    const wchar_t *name, *display;
    DWORD pid, state;
};

static const struct fake_service SERVICES[] = {
    {L"Dnscache", L"DNS Client", 1188, SERVICE_RUNNING},
    {L"NlaSvc", L"Network Location Awareness", 1188, SERVICE_RUNNING},
    {L"RpcSs", L"Remote Procedure Call (RPC)", 900, SERVICE_RUNNING},
    {L"Caf\u00e9Svc", L"Caf\u00e9 \u20ac \U0001F600", 1500, SERVICE_RUNNING},
    {L"tcpip_exporter", L"TCP/IP exporter", 2200, SERVICE_START_PENDING},
};
#define SERVICE_COUNT (sizeof SERVICES / sizeof SERVICES[0])

static struct {
    size_t per_call;       /* entries one call returns at most (paging) */
    DWORD first_needed;    /* the first call fails with this size and no entry, if set */
    bool never_ends;       /* always ERROR_MORE_DATA */
    DWORD open_error;      /* OpenSCManagerW fails with this, if set */
    DWORD enum_error;      /* EnumServicesStatusExW fails with this, if set */
    DWORD hang_ms;         /* EnumServicesStatusExW takes this long first (a busy SCM) */
    int calls, closes;
    DWORD buffer_sizes[80];
} fake;

static SC_HANDLE WINAPI fake_open(LPCWSTR machine, LPCWSTR database, DWORD access)
{
    assert_null(machine);
    assert_null(database);
    assert_int_equal(access, SC_MANAGER_ENUMERATE_SERVICE);
    if (fake.open_error) {
        SetLastError(fake.open_error);
        return NULL;
    }
    return (SC_HANDLE)(uintptr_t)0x5c;
}

static BOOL WINAPI fake_close(SC_HANDLE handle)
{
    assert_ptr_equal(handle, (SC_HANDLE)(uintptr_t)0x5c);
    fake.closes++;
    return TRUE;
}

static size_t wide_bytes(const wchar_t *s)
{
    return (wcslen(s) + 1) * sizeof(wchar_t);
}

static size_t entry_bytes(const struct fake_service *s)
{
    return sizeof(ENUM_SERVICE_STATUS_PROCESSW) + wide_bytes(s->name) + wide_bytes(s->display);
}

static BOOL WINAPI fake_enum(SC_HANDLE manager, SC_ENUM_TYPE level, DWORD type, DWORD state,
                             LPBYTE buffer, DWORD size, LPDWORD needed, LPDWORD returned,
                             LPDWORD resume, LPCWSTR group)
{
    assert_ptr_equal(manager, (SC_HANDLE)(uintptr_t)0x5c);
    assert_int_equal(level, SC_ENUM_PROCESS_INFO);
    assert_int_equal(type, SERVICE_WIN32);
    assert_int_equal(state, SERVICE_ACTIVE);
    assert_null(group);
    fake.buffer_sizes[fake.calls++] = size;
    if (fake.hang_ms)
        Sleep(fake.hang_ms);
    *returned = 0;
    if (fake.enum_error) {
        SetLastError(fake.enum_error);
        return FALSE;
    }
    if (fake.first_needed && fake.calls == 1) {
        *needed = fake.first_needed;
        SetLastError(ERROR_MORE_DATA);
        return FALSE;
    }
    size_t from = *resume, count = 0, used = 0;
    while (from + count < SERVICE_COUNT && count < fake.per_call &&
           used + entry_bytes(&SERVICES[from + count]) <= size)
        used += entry_bytes(&SERVICES[from + count++]);
    /* the array first, then the strings, as the real call lays them out */
    ENUM_SERVICE_STATUS_PROCESSW *items = (ENUM_SERVICE_STATUS_PROCESSW *)buffer;
    BYTE *strings = buffer + count * sizeof *items;
    for (size_t i = 0; i < count; i++) {
        const struct fake_service *s = &SERVICES[from + i];
        memset(&items[i], 0, sizeof items[i]);
        items[i].lpServiceName = (LPWSTR)strings;
        memcpy(strings, s->name, wide_bytes(s->name));
        strings += wide_bytes(s->name);
        items[i].lpDisplayName = (LPWSTR)strings;
        memcpy(strings, s->display, wide_bytes(s->display));
        strings += wide_bytes(s->display);
        items[i].ServiceStatusProcess.dwProcessId = s->pid;
        items[i].ServiceStatusProcess.dwCurrentState = s->state;
        items[i].ServiceStatusProcess.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    }
    *returned = (DWORD)count;
    if (fake.never_ends || from + count < SERVICE_COUNT) {
        *resume = fake.never_ends ? 0 : (DWORD)(from + count);
        *needed = (DWORD)entry_bytes(&SERVICES[fake.never_ends ? 0 : from + count]);
        SetLastError(ERROR_MORE_DATA);
        return FALSE;
    }
    *resume = 0;
    *needed = 0;
    return TRUE;
}

static int ticks;
static DWORD WINAPI fake_wait(HANDLE handle, DWORD ms)
{
    (void)ms;
    ticks++;
    return WaitForSingleObject(handle, 5); /* fast ticks, still stoppable */
}

static int setup(void **state)
{
    (void)state;
    memset(&fake, 0, sizeof fake);
    fake.per_call = 64;
    ticks = 0;
    scm_enum_seam.open_sc_manager = fake_open;
    scm_enum_seam.enum_services = fake_enum;
    scm_enum_seam.close_service_handle = fake_close;
    scm_enum_seam.wait_for = fake_wait;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    scm_enum_seam_reset();
    return 0;
}

/* ---- one scan ---- */

static void check_batch(const struct service_batch *b)
{
    assert_non_null(b);
    assert_int_equal(b->count, SERVICE_COUNT);
    assert_string_equal(b->items[0].name, "Dnscache");
    assert_string_equal(b->items[0].display_name, "DNS Client");
    assert_int_equal(b->items[0].pid, 1188);
    assert_int_equal(b->items[0].state, SERVICE_RUNNING);
    assert_string_equal(b->items[3].name, "Caf\xc3\xa9Svc");
    assert_string_equal(b->items[3].display_name, "Caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    assert_string_equal(b->items[4].name, "tcpip_exporter");
    assert_int_equal(b->items[4].state, SERVICE_START_PENDING);
}

static void test_one_call(void **state)
{
    (void)state;
    char err[256];
    struct service_batch *b = service_scan_once(err, sizeof err);
    check_batch(b);
    assert_int_equal(fake.calls, 1);
    assert_int_equal(fake.closes, 1);
    assert_string_equal(err, "");
    free(b);
}

static void test_pages_with_the_resume_handle(void **state)
{
    (void)state;
    fake.per_call = 2;
    char err[256];
    struct service_batch *b = service_scan_once(err, sizeof err);
    check_batch(b);
    assert_int_equal(fake.calls, 3);
    free(b);
}

static void test_grows_when_nothing_fits(void **state)
{
    (void)state;
    fake.first_needed = 200 * 1024;
    char err[256];
    struct service_batch *b = service_scan_once(err, sizeof err);
    check_batch(b);
    assert_int_equal(fake.calls, 2);
    assert_int_equal(fake.buffer_sizes[1], 200 * 1024);
    free(b);
}

static void test_refuses_a_buffer_past_the_documented_cap(void **state)
{
    (void)state;
    fake.first_needed = 300 * 1024; /* the documentation caps the array at 256 KB */
    char err[256];
    assert_null(service_scan_once(err, sizeof err));
    assert_non_null(strstr(err, "asks for 307200 bytes"));
    assert_int_equal(fake.closes, 1);
}

static void test_a_list_that_never_ends(void **state)
{
    (void)state;
    fake.never_ends = true;
    char err[256];
    assert_null(service_scan_once(err, sizeof err));
    assert_non_null(strstr(err, "did not end"));
    assert_int_equal(fake.calls, 64);
    assert_int_equal(fake.closes, 1);
}

static void test_errors_say_what_failed(void **state)
{
    (void)state;
    char err[256];
    fake.open_error = ERROR_ACCESS_DENIED;
    assert_null(service_scan_once(err, sizeof err));
    assert_non_null(strstr(err, "OpenSCManagerW: 5 ("));
    assert_int_equal(fake.closes, 0);
    fake.open_error = 0;
    fake.enum_error = ERROR_INVALID_HANDLE;
    assert_null(service_scan_once(err, sizeof err));
    assert_non_null(strstr(err, "EnumServicesStatusExW: 6 ("));
    assert_int_equal(fake.closes, 1);
}

/* ---- the thread and the table ---- */

static void test_scanner_offers_to_the_table(void **state)
{
    (void)state;
    struct process_table *table = process_table_create(NULL);
    assert_non_null(table);
    char err[256];
    struct service_scanner *scanner = service_scanner_start(table, NULL, err, sizeof err);
    assert_non_null(scanner);
    /* the first scan comes at once; the writer takes it at its housekeeping */
    struct table_stats stats = { 0 };
    for (int i = 0; i < 200 && stats.service_scans == 0; i++) {
        Sleep(10);
        process_table_housekeep(table, 0);
        process_table_stats(table, &stats);
    }
    assert_int_equal(stats.service_scans, 1);
    assert_int_equal(stats.services_hosted, SERVICE_COUNT);
    struct hosted_service hosted[16];
    size_t n = process_table_services_hosted(table, hosted, 16);
    bool exporter_seen = false;
    for (size_t i = 0; i < n; i++)
        exporter_seen |= strcmp(hosted[i].service.name, "tcpip_exporter") == 0 &&
                         hosted[i].pid == 2200;
    assert_true(exporter_seen);
    service_scanner_stop(scanner);
    assert_true(ticks >= 1);
    process_table_destroy(table);
}

/* A scan stuck in the SCM (busy at shutdown) does not hold the stop: it returns within
 * its bound and leaves the thread. The thread and the table are left to the process's
 * end, as the service leaves them. */
static void test_stop_is_bounded_when_a_scan_hangs(void **state)
{
    (void)state;
    struct process_table *table = process_table_create(NULL);
    fake.hang_ms = 10000;
    char err[256];
    struct service_scanner *scanner = service_scanner_start(table, NULL, err, sizeof err);
    assert_non_null(scanner);
    for (int i = 0; i < 200 && fake.calls == 0; i++)
        Sleep(10);
    assert_int_equal(fake.calls, 1); /* in the SCM now */
    ULONGLONG began = GetTickCount64();
    service_scanner_stop(scanner);
    ULONGLONG took = GetTickCount64() - began;
    assert_true(took >= 2500 && took < 6000);
}

/* ---- the real SCM, under Wine ---- */

static void test_real_scm(void **state)
{
    (void)state;
    scm_enum_seam_reset();
    char err[256];
    struct service_batch *b = service_scan_once(err, sizeof err);
    assert_non_null(b);
    printf("real SCM: %zu running services:", b->count);
    for (size_t i = 0; i < b->count; i++)
        printf(" %s (pid %u)", b->items[i].name, (unsigned)b->items[i].pid);
    printf("\n");
    assert_true(b->count >= 1);
    for (size_t i = 0; i < b->count; i++)
        assert_true(b->items[i].name[0] != '\0');
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pages_with_the_resume_handle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grows_when_nothing_fits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_a_buffer_past_the_documented_cap, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_list_that_never_ends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_say_what_failed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scanner_offers_to_the_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_real_scm, setup, teardown),
        /* last: it leaves a thread behind */
        cmocka_unit_test_setup_teardown(test_stop_is_bounded_when_a_scan_hangs, setup, NULL),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
