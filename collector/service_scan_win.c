/* The service scan on Windows: EnumServicesStatusExW through scm_enum_seam, paged with its
 * resume handle, and a thread that offers each complete list to the table. */
#include "service_scan.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <windows.h>

#include "scm_enum_seam_win.h"
#include "utf16.h"
#include "win_error_win.h"

/* The documentation caps one call's buffer at 256 KB; start smaller, grow when told. */
#define FIRST_BUFFER_BYTES (64u * 1024u)
#define MAX_BUFFER_BYTES (256u * 1024u)
#define SCANNER_JOIN_MS 3000u
#define MAX_CALLS 64 /* pages and regrowths of one scan: a list that keeps changing stops */

struct batch_builder {
    struct service_batch *batch;
    size_t capacity;
    bool cut;
};

static bool builder_add(struct batch_builder *b, const ENUM_SERVICE_STATUS_PROCESSW *s)
{
    if (b->batch->count == SERVICE_SCAN_MAX_SERVICES) {
        b->cut = true;
        return true;
    }
    if (b->batch->count == b->capacity) {
        size_t grown = b->capacity * 2;
        struct service_batch *more =
            realloc(b->batch, sizeof *more + grown * sizeof more->items[0]);
        if (!more)
            return false;
        b->batch = more;
        b->capacity = grown;
    }
    struct service_fact *f = &b->batch->items[b->batch->count++];
    memset(f, 0, sizeof *f);
    f->pid = s->ServiceStatusProcess.dwProcessId;
    f->state = s->ServiceStatusProcess.dwCurrentState;
    /* WCHAR strings are UTF-16LE on every Windows this runs on */
    if (s->lpServiceName)
        utf16le_to_utf8((const uint8_t *)s->lpServiceName, wcslen(s->lpServiceName), f->name,
                        sizeof f->name);
    if (s->lpDisplayName)
        utf16le_to_utf8((const uint8_t *)s->lpDisplayName, wcslen(s->lpDisplayName),
                        f->display_name, sizeof f->display_name);
    /* a service created without one shows its name, as services.msc does (Wine's SCM
     * returns "" where Windows fills in the name) */
    if (f->display_name[0] == '\0')
        memcpy(f->display_name, f->name, sizeof f->name);
    return true;
}

static void fail_with(char *err, size_t err_size, const char *what, DWORD code)
{
    snprintf(err, err_size, "%s: %lu (%s)", what, (unsigned long)code,
             win_error_describe(code).text);
}

/* Every page of the list into b; false with err set. */
static bool enumerate(SC_HANDLE manager, struct batch_builder *b, char *err, size_t err_size)
{
    DWORD size = FIRST_BUFFER_BYTES, resume = 0;
    BYTE *buffer = malloc(size);
    if (!buffer) {
        snprintf(err, err_size, "out of memory");
        return false;
    }
    bool ok = false;
    for (int call = 0; call < MAX_CALLS; call++) {
        DWORD needed = 0, returned = 0;
        BOOL done = scm_enum_seam.enum_services(manager, SC_ENUM_PROCESS_INFO, SERVICE_WIN32,
                                                SERVICE_ACTIVE, buffer, size, &needed,
                                                &returned, &resume, NULL);
        DWORD code = done ? ERROR_SUCCESS : GetLastError();
        if (!done && code != ERROR_MORE_DATA) {
            fail_with(err, err_size, "EnumServicesStatusExW", code);
            break;
        }
        const ENUM_SERVICE_STATUS_PROCESSW *items = (const ENUM_SERVICE_STATUS_PROCESSW *)buffer;
        bool added = true;
        for (DWORD i = 0; i < returned && added; i++)
            added = builder_add(b, &items[i]);
        if (!added) {
            snprintf(err, err_size, "out of memory");
            break;
        }
        if (done) {
            ok = true;
            break;
        }
        if (returned == 0) { /* not even one entry fitted: grow to what it asked */
            if (needed <= size || needed > MAX_BUFFER_BYTES) {
                snprintf(err, err_size, "EnumServicesStatusExW: asks for %lu bytes with a "
                         "buffer of %lu", (unsigned long)needed, (unsigned long)size);
                break;
            }
            BYTE *bigger = realloc(buffer, needed);
            if (!bigger) {
                snprintf(err, err_size, "out of memory");
                break;
            }
            buffer = bigger;
            size = needed;
        }
        if (call + 1 == MAX_CALLS)
            snprintf(err, err_size, "EnumServicesStatusExW: the list did not end after %d "
                     "calls", MAX_CALLS);
    }
    free(buffer);
    return ok;
}

struct service_batch *service_scan_once(char *err, size_t err_size)
{
    SC_HANDLE manager = scm_enum_seam.open_sc_manager(NULL, NULL, SC_MANAGER_ENUMERATE_SERVICE);
    if (manager == NULL) {
        fail_with(err, err_size, "OpenSCManagerW", GetLastError());
        return NULL;
    }
    struct batch_builder b = {.capacity = 256};
    b.batch = malloc(sizeof *b.batch + b.capacity * sizeof b.batch->items[0]);
    bool ok = b.batch != NULL;
    if (ok) {
        b.batch->count = 0;
        ok = enumerate(manager, &b, err, err_size);
    } else {
        snprintf(err, err_size, "out of memory");
    }
    scm_enum_seam.close_service_handle(manager);
    if (!ok) {
        free(b.batch);
        return NULL;
    }
    if (b.cut)
        snprintf(err, err_size, "more than %d running services: the rest are left out",
                 SERVICE_SCAN_MAX_SERVICES);
    else if (err_size > 0)
        err[0] = '\0';
    return b.batch;
}

/* ---- the thread ---- */

struct service_scanner {
    struct process_table *table;
    struct collector_log log;
    HANDLE stop;
    HANDLE thread;
    bool failing; /* the last scan failed: log the next success, not every failure */
};

static void scan_and_offer(struct service_scanner *s)
{
    char err[256] = "";
    struct service_batch *batch = service_scan_once(err, sizeof err);
    if (batch == NULL) {
        if (!s->failing)
            collector_log(&s->log, COLLECTOR_LOG_WARN, "services: %s; retrying every %d s",
                          err, SERVICE_SCAN_PERIOD_S);
        s->failing = true;
        return;
    }
    if (err[0] != '\0')
        collector_log(&s->log, COLLECTOR_LOG_WARN, "services: %s", err);
    if (s->failing)
        collector_log(&s->log, COLLECTOR_LOG_INFO, "services: read again (%zu running)",
                      batch->count);
    s->failing = false;
    process_table_offer_services(s->table, batch);
}

static uint64_t process_starts(const struct process_table *table)
{
    struct table_stats stats;
    process_table_stats(table, &stats);
    return stats.events_by_type[EVT_PROCESS_START];
}

static DWORD WINAPI scanner_main(LPVOID context)
{
    struct service_scanner *s = context;
    scan_and_offer(s);
    uint64_t starts_seen = process_starts(s->table);
    unsigned since_scan = 0;
    bool starts_pending = false;
    while (scm_enum_seam.wait_for(s->stop, 1000) == WAIT_TIMEOUT) {
        since_scan++;
        uint64_t starts = process_starts(s->table);
        if (starts != starts_seen) { /* wait for a quiet second: services register late */
            starts_seen = starts;
            starts_pending = true;
            continue;
        }
        if (starts_pending || since_scan >= SERVICE_SCAN_PERIOD_S) {
            scan_and_offer(s);
            since_scan = 0;
            starts_pending = false;
        }
    }
    return 0;
}

struct service_scanner *service_scanner_start(struct process_table *table,
                                              const struct collector_log *log, char *err,
                                              size_t err_size)
{
    struct service_scanner *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    s->table = table;
    if (log)
        s->log = *log;
    s->stop = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (s->stop != NULL)
        s->thread = CreateThread(NULL, 0, scanner_main, s, 0, NULL);
    if (s->thread == NULL) {
        fail_with(err, err_size, "cannot start the service scan thread", GetLastError());
        if (s->stop != NULL)
            CloseHandle(s->stop);
        free(s);
        return NULL;
    }
    return s;
}

void service_scanner_stop(struct service_scanner *s)
{
    if (s == NULL)
        return;
    SetEvent(s->stop);
    /* A scan takes a few milliseconds, but it asks the SCM, which is busy stopping us and
     * everything else at shutdown: the stop waits a bounded time, then leaves the thread
     * (and what it uses) to the process's end. */
    if (WaitForSingleObject(s->thread, SCANNER_JOIN_MS) != WAIT_OBJECT_0) {
        collector_log(&s->log, COLLECTOR_LOG_WARN,
                      "services: the scan thread did not end within %u ms of the stop; "
                      "leaving it", SCANNER_JOIN_MS);
        return;
    }
    CloseHandle(s->thread);
    CloseHandle(s->stop);
    free(s);
}
