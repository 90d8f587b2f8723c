/* The live kernel session driven through its seam (collector/etw_seam_win.h), as a Windows
 * executable run under Wine: fakes of StartTrace/ControlTrace/OpenTrace/ProcessTrace/
 * CloseTrace deliver EVENT_RECORDs built with the real Windows headers, fail with
 * ERROR_ALREADY_EXISTS, or return from ProcessTrace as if another tool had stopped the
 * session; the tests check the table and the session's status and calls. */
#include <windows.h>
#include <evntrace.h>
#include <evntcons.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "bytes.h"
#include "etw_record_map_win.h"
#include "etw_seam_win.h"
#include "live_session.h"
#include "process_table.h"
#include "payload.h"

/* Provider GUIDs written out again here (not taken from the code under test). */
static const GUID tcpip_guid =
    {0x9a280ac0, 0xc8e0, 0x11d1, {0x84, 0xe2, 0x00, 0xc0, 0x4f, 0xb9, 0x98, 0xa2}};
static const GUID udpip_guid =
    {0xbf3a50c5, 0xa9c9, 0x4988, {0xa0, 0x05, 0x2d, 0xf0, 0xb7, 0xc8, 0x0f, 0x80}};
static const GUID process_guid =
    {0x3d6fa8d0, 0xfe05, 0x11d0, {0x9d, 0xda, 0x00, 0xc0, 0x4f, 0xd7, 0xba, 0x7c}};
static const GUID lost_guid =
    {0x6a399ae0, 0x4bc6, 0x4de9, {0x87, 0x0b, 0x36, 0x57, 0xf8, 0x94, 0x7e, 0x7e}};
static const GUID header_guid =
    {0x68fdd900, 0x4a3e, 0x11d1, {0x84, 0xf4, 0x00, 0x00, 0xf8, 0x04, 0x64, 0xe3}};
static const GUID system_trace_guid =
    {0x9e814aad, 0x3204, 0x11d2, {0x9a, 0x82, 0x00, 0x60, 0x08, 0xa8, 0x69, 0x39}};

#define FAKE_SESSION_HANDLE ((TRACEHANDLE)0x5e55)
#define FAKE_CONSUMER_HANDLE ((TRACEHANDLE)0xc0c0)
#define MAX_RUNS 8
#define MAX_EVENTS 16
#define MAX_CALLS 64

/* ---- building events ---- */

struct fake_event {
    EVENT_RECORD record;
    uint8_t payload[512];
};

static uint64_t now_filetime(void)
{
    FILETIME ft;
    GetSystemTimeAsFileTime(&ft);
    return ((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime;
}

static void make_event(struct fake_event *e, const GUID *provider, UCHAR opcode,
                       UCHAR version, uint8_t pointer_size, size_t payload_size)
{
    memset(&e->record, 0, sizeof e->record);
    EVENT_HEADER *h = &e->record.EventHeader;
    h->Size = sizeof *h;
    h->Flags = EVENT_HEADER_FLAG_CLASSIC_HEADER |
               (pointer_size == 8 ? EVENT_HEADER_FLAG_64_BIT_HEADER
                                  : EVENT_HEADER_FLAG_32_BIT_HEADER);
    h->ProcessId = 0xFFFFFFFFu;   /* kernel TcpIp events: the PID is in the payload */
    h->ThreadId = 0xFFFFFFFFu;
    h->TimeStamp.QuadPart = (LONGLONG)now_filetime();
    h->ProviderId = *provider;
    h->EventDescriptor.Opcode = opcode;
    h->EventDescriptor.Version = version;
    e->record.UserDataLength = (USHORT)payload_size;
    e->record.UserData = e->payload;
}

static void make_process(struct fake_event *e, UCHAR opcode, uint8_t pointer_size,
                         uint32_t pid, uint64_t key, const char *name)
{
    struct payload_process p = {
        .unique_key = key, .pid = pid, .parent_pid = 4, .session_id = 1,
        .sid_sub_authorities = 5, .image_name = name, .command_line = name,
    };
    size_t n = payload_process(e->payload, sizeof e->payload, 4, pointer_size, &p);
    assert_true(n > 0);
    make_event(e, &process_guid, opcode, 4, pointer_size, n);
}

static void make_net(struct fake_event *e, const GUID *provider, UCHAR opcode,
                     uint8_t pointer_size, uint32_t pid, uint32_t size)
{
    struct payload_net f = {
        .pid = pid, .size = size, .daddr = {127, 0, 0, 1}, .saddr = {127, 0, 0, 1},
        .dport = 443, .sport = 50000,
    };
    size_t n = provider == &udpip_guid
                   ? payload_udpip(e->payload, sizeof e->payload, opcode, pointer_size, &f)
                   : payload_tcpip(e->payload, sizeof e->payload, opcode, pointer_size, &f);
    assert_true(n > 0);
    make_event(e, provider, opcode, 2, pointer_size, n);
}

/* A network event with its endpoints as the kernel records them (UDP receives: the local
 * socket is the destination). */
static void make_net_peer(struct fake_event *e, const GUID *provider, UCHAR opcode,
                          uint8_t pointer_size, uint32_t pid, uint32_t size,
                          const uint8_t daddr[4], uint16_t dport, const uint8_t saddr[4],
                          uint16_t sport)
{
    struct payload_net f = {.pid = pid, .size = size, .dport = dport, .sport = sport};
    memcpy(f.daddr, daddr, 4);
    memcpy(f.saddr, saddr, 4);
    size_t n = provider == &udpip_guid
                   ? payload_udpip(e->payload, sizeof e->payload, opcode, pointer_size, &f)
                   : payload_tcpip(e->payload, sizeof e->payload, opcode, pointer_size, &f);
    assert_true(n > 0);
    make_event(e, provider, opcode, 2, pointer_size, n);
}

/* ---- the fake trace API ---- */

enum run_end { RUN_BLOCK_UNTIL_STOPPED, RUN_RETURN_AT_ONCE, RUN_NEVER_RETURNS };

struct fake_run {
    struct fake_event events[MAX_EVENTS];
    int event_count;
    enum run_end end;
    ULONG process_trace_result;   /* for RUN_RETURN_AT_ONCE */
    ULONG lost_events, lost_buffers;
    bool empty_buffer;            /* a buffer callback even without events */
    bool second_buffer;           /* a second buffer callback a poll interval later ... */
    ULONG lost_events_later;      /* ... by when the session reports this EventsLost */
};

struct call {
    char what;                    /* 'S' start, 'C' control, 'O' open, 'P' process, 'X' close */
    wchar_t name[64];
    TRACEHANDLE handle;
    ULONG control;
    ULONG log_file_mode, enable_flags, buffer_size, min_buffers, max_buffers;
    ULONG log_file_name_offset, wnode_flags;
    GUID guid;
};

static struct {
    ULONG start_results[16];      /* consumed in order; past the end: ERROR_SUCCESS */
    int start_result_count, starts;
    DWORD open_error;             /* non-zero: OpenTrace fails with it */
    BOOL before_windows_8;        /* the OS has no system logger mode */
    struct fake_run runs[MAX_RUNS];
    int run_count, runs_done;
    int current_run;              /* the run whose lost counters QUERY/STOP report */
    DWORD waits[32];              /* back-off delays asked for */
    int wait_count;
    int wait_limit;               /* after this many waits, block for real */
    struct call calls[MAX_CALLS];
    int call_count;
    EVENT_TRACE_LOGFILEW logfile; /* what OpenTrace was given */
    HANDLE session_stopped;       /* set by STOP or CloseTrace: ends a blocked ProcessTrace */
    HANDLE delivered;             /* set each time a run has delivered its events */
    HANDLE release_stuck;         /* ends a RUN_NEVER_RETURNS ProcessTrace */
    wchar_t session_name[64];     /* of the last session StartTrace started, for QUERY */
    GUID session_guid;
    const wchar_t *query_name;    /* non-NULL: QUERY by handle reports this session instead */
    ULONG started_flags, started_buffer_kb, started_flush, started_mode; /* of that session */
    ULONG query_flags;            /* non-zero: QUERY by handle reports these EnableFlags */
    ULONG query_result;           /* non-zero: QUERY by handle fails with it */
    ULONG header_pointer_size;    /* what OpenTrace puts in the logfile header */
    DWORD os_pointer_size;        /* what the OS says */
    DWORD processors;             /* logical processors the OS reports */
    bool kernel_logger_exists;    /* QUERY by name answers for the NT Kernel Logger ... */
    ULONG kl_enable_flags, kl_buffer_size, kl_flush_timer, kl_mode; /* ... with these */
    const wchar_t *kl_log_file;
    ULONG stop_by_name_result;    /* what STOP by name answers (0: success) */
    CRITICAL_SECTION lock;
} fake;

static struct call *record_call(char what, const wchar_t *name, TRACEHANDLE handle)
{
    EnterCriticalSection(&fake.lock);
    assert_true(fake.call_count < MAX_CALLS);
    struct call *c = &fake.calls[fake.call_count++];
    memset(c, 0, sizeof *c);
    c->what = what;
    c->handle = handle;
    if (name != NULL)
        wcsncpy(c->name, name, 63);
    LeaveCriticalSection(&fake.lock);
    return c;
}

static ULONG WINAPI fake_start(PTRACEHANDLE handle, LPCWSTR name, PEVENT_TRACE_PROPERTIES p)
{
    struct call *c = record_call('S', name, 0);
    c->log_file_mode = p->LogFileMode;
    c->log_file_name_offset = p->LogFileNameOffset;
    c->wnode_flags = p->Wnode.Flags;
    c->enable_flags = p->EnableFlags;
    c->buffer_size = p->BufferSize;
    c->min_buffers = p->MinimumBuffers;
    c->max_buffers = p->MaximumBuffers;
    c->guid = p->Wnode.Guid;
    ULONG result = fake.starts < fake.start_result_count ? fake.start_results[fake.starts]
                                                         : ERROR_SUCCESS;
    fake.starts++;
    if (result == ERROR_SUCCESS) {
        *handle = FAKE_SESSION_HANDLE;
        wcsncpy(fake.session_name, name, 63);
        fake.session_guid = p->Wnode.Guid;
        fake.started_flags = p->EnableFlags;
        fake.started_buffer_kb = p->BufferSize;
        fake.started_flush = p->FlushTimer;
        fake.started_mode = p->LogFileMode;
        ResetEvent(fake.session_stopped);
    }
    return result;
}

static ULONG WINAPI fake_control(TRACEHANDLE handle, LPCWSTR name, PEVENT_TRACE_PROPERTIES p,
                                 ULONG control)
{
    struct call *c = record_call('C', name, handle);
    c->control = control;
    c->guid = p->Wnode.Guid;
    if (fake.run_count > 0) {
        p->EventsLost = fake.runs[fake.current_run].lost_events;
        p->RealTimeBuffersLost = fake.runs[fake.current_run].lost_buffers;
    }
    if (control == EVENT_TRACE_CONTROL_QUERY && handle == 0 && name != NULL &&
        wcscmp(name, L"NT Kernel Logger") == 0) {
        if (!fake.kernel_logger_exists)
            return ERROR_WMI_INSTANCE_NOT_FOUND;
        p->EnableFlags = fake.kl_enable_flags;
        p->BufferSize = fake.kl_buffer_size;
        p->FlushTimer = fake.kl_flush_timer;
        p->LogFileMode = fake.kl_mode;
        wcscpy((wchar_t *)((char *)p + p->LogFileNameOffset),
               fake.kl_log_file != NULL ? fake.kl_log_file : L"");
        return ERROR_SUCCESS;
    }
    if (control == EVENT_TRACE_CONTROL_QUERY && handle != 0) {
        /* QUERY fills the session's name and GUID, as ControlTrace does */
        if (fake.query_result != 0)
            return fake.query_result;
        wchar_t *logger = (wchar_t *)((char *)p + p->LoggerNameOffset);
        wcscpy(logger, fake.query_name != NULL ? fake.query_name : fake.session_name);
        if (fake.query_name == NULL)
            p->Wnode.Guid = fake.session_guid;
        /* and its properties, as the session was started (or another's flags) */
        p->EnableFlags = fake.query_flags != 0 ? fake.query_flags : fake.started_flags;
        p->BufferSize = fake.started_buffer_kb;
        p->FlushTimer = fake.started_flush;
        p->LogFileMode = fake.started_mode;
    }
    if (control == EVENT_TRACE_CONTROL_STOP && handle == 0 && fake.stop_by_name_result != 0)
        return fake.stop_by_name_result;
    if (control == EVENT_TRACE_CONTROL_STOP)
        SetEvent(fake.session_stopped);
    return ERROR_SUCCESS;
}

static TRACEHANDLE WINAPI fake_open(PEVENT_TRACE_LOGFILEW logfile)
{
    record_call('O', logfile->LoggerName, 0);
    if (fake.open_error != 0) {
        SetLastError(fake.open_error);
        return INVALID_PROCESSTRACE_HANDLE;
    }
    logfile->LogfileHeader.PointerSize = fake.header_pointer_size;
    fake.logfile = *logfile;
    return FAKE_CONSUMER_HANDLE;
}

static ULONG WINAPI fake_process(PTRACEHANDLE handles, ULONG count, LPFILETIME start,
                                 LPFILETIME end)
{
    (void)start;
    (void)end;
    assert_int_equal(count, 1);
    record_call('P', NULL, handles[0]);
    assert_true(fake.runs_done < fake.run_count);
    fake.current_run = fake.runs_done;
    struct fake_run *run = &fake.runs[fake.runs_done];
    assert_int_equal(fake.logfile.ProcessTraceMode,
                     PROCESS_TRACE_MODE_REAL_TIME | PROCESS_TRACE_MODE_EVENT_RECORD);
    for (int i = 0; i < run->event_count; i++) {
        run->events[i].record.UserContext = fake.logfile.Context;
        fake.logfile.EventRecordCallback(&run->events[i].record);
    }
    if (run->event_count > 0 || run->empty_buffer)
        fake.logfile.BufferCallback(&fake.logfile);
    if (run->second_buffer) {
        Sleep(1100); /* the session polls at most once a second */
        run->lost_events = run->lost_events_later;
        fake.logfile.BufferCallback(&fake.logfile);
    }
    fake.runs_done++;
    SetEvent(fake.delivered);
    if (run->end == RUN_RETURN_AT_ONCE)
        return run->process_trace_result;
    if (run->end == RUN_NEVER_RETURNS) {
        /* a ProcessTrace that ignores the stop and the closed handle */
        WaitForSingleObject(fake.release_stuck, INFINITE);
        return ERROR_SUCCESS;
    }
    WaitForSingleObject(fake.session_stopped, INFINITE);
    return ERROR_SUCCESS;
}

static ULONG WINAPI fake_close(TRACEHANDLE handle)
{
    record_call('X', NULL, handle);
    SetEvent(fake.session_stopped);
    return ERROR_SUCCESS;
}

static DWORD WINAPI fake_wait(HANDLE handle, DWORD ms)
{
    EnterCriticalSection(&fake.lock);
    int n = fake.wait_count++;
    if (n < 32)
        fake.waits[n] = ms;
    LeaveCriticalSection(&fake.lock);
    /* Instant back-off in tests, until the limit: then park until stopped. */
    if (n + 1 >= fake.wait_limit)
        return WaitForSingleObject(handle, INFINITE);
    return WaitForSingleObject(handle, 0);
}

static BOOL fake_windows_8(void)
{
    return !fake.before_windows_8;
}

static DWORD fake_os_pointer_size(void)
{
    return fake.os_pointer_size;
}

static DWORD fake_processor_count(void)
{
    return fake.processors;
}

/* What the session reported through its collector_log, from whichever thread. */
static struct {
    CRITICAL_SECTION lock;
    char lines[64][COLLECTOR_LOG_LINE + 8];
    int count;
} logged;

static void capture_log(void *context, enum collector_log_level level, const char *message)
{
    static const char *const names[] = { "error", "warn", "info", "debug" };
    assert_ptr_equal(context, &logged);
    EnterCriticalSection(&logged.lock);
    if (logged.count < (int)ARRAY_SIZE(logged.lines))
        snprintf(logged.lines[logged.count++], sizeof logged.lines[0], "%s: %s",
                 names[level], message);
    LeaveCriticalSection(&logged.lock);
}

/* True when a captured line starts with "level: " and contains text. */
static bool was_logged(const char *level, const char *text)
{
    size_t level_len = strlen(level);
    bool found = false;
    EnterCriticalSection(&logged.lock);
    for (int i = 0; i < logged.count && !found; i++)
        found = strncmp(logged.lines[i], level, level_len) == 0 &&
                logged.lines[i][level_len] == ':' && strstr(logged.lines[i], text) != NULL;
    LeaveCriticalSection(&logged.lock);
    return found;
}

/* The claim every test session runs under unless the test is about the claim itself. */
static struct live_session_claim *test_claim;

static int setup(void **state)
{
    (void)state;
    memset(&fake, 0, sizeof fake);
    InitializeCriticalSection(&fake.lock);
    memset(&logged, 0, sizeof logged);
    InitializeCriticalSection(&logged.lock);
    fake.session_stopped = CreateEventW(NULL, TRUE, FALSE, NULL);
    fake.delivered = CreateEventW(NULL, FALSE, FALSE, NULL);
    fake.release_stuck = CreateEventW(NULL, TRUE, FALSE, NULL);
    fake.wait_limit = 1000;
    etw_seam.start_trace = fake_start;
    etw_seam.control_trace = fake_control;
    etw_seam.open_trace = fake_open;
    etw_seam.process_trace = fake_process;
    etw_seam.close_trace = fake_close;
    etw_seam.wait_for = fake_wait;
    etw_seam.system_logger_available = fake_windows_8;
    etw_seam.os_pointer_size = fake_os_pointer_size;
    etw_seam.processor_count = fake_processor_count;
    fake.processors = 8;
    fake.os_pointer_size = 8;
    fake.header_pointer_size = 8;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    etw_seam_reset();
    CloseHandle(fake.session_stopped);
    CloseHandle(fake.delivered);
    CloseHandle(fake.release_stuck);
    live_session_release(test_claim);
    test_claim = NULL;
    DeleteCriticalSection(&fake.lock);
    DeleteCriticalSection(&logged.lock);
    return 0;
}

/* ---- helpers over the table and the session ---- */

struct found {
    uint32_t pid;
    int rows;
    struct process_view view;
};

static void find_pid(const struct process_view *row, void *context)
{
    struct found *f = context;
    if (row->pid == f->pid && !row->is_overflow) {
        f->rows++;
        f->view = *row;
    }
}

static struct found row_of(struct process_table *table, uint32_t pid)
{
    struct found f;
    memset(&f, 0, sizeof f);
    f.pid = pid;
    process_table_foreach(table, find_pid, &f);
    return f;
}

static void wait_delivered(int runs)
{
    for (int tries = 0; tries < 100; tries++) {
        if (fake.runs_done >= runs)
            return;
        WaitForSingleObject(fake.delivered, 100);
    }
    fail_msg("only %d of %d fake sessions ran", fake.runs_done, runs);
}

static void wait_waits(int waits)
{
    for (int tries = 0; tries < 200 && fake.wait_count < waits; tries++)
        Sleep(10);
    assert_true(fake.wait_count >= waits);
}

static int count_calls(char what, const wchar_t *name, ULONG control)
{
    int n = 0;
    for (int i = 0; i < fake.call_count; i++) {
        const struct call *c = &fake.calls[i];
        if (c->what == what && (name == NULL || wcscmp(c->name, name) == 0) &&
            (what != 'C' || c->control == control))
            n++;
    }
    return n;
}

static struct process_table *new_table(void)
{
    struct process_table_config config = {.retention = PROCESS_TABLE_DEFAULT_RETENTION};
    struct process_table *table = process_table_create(&config);
    assert_non_null(table);
    return table;
}

static struct live_session_config session_config(enum live_session_kind kind,
                                                 bool take_over_foreign)
{
    struct live_session_config config = {
        .kind = kind, .take_over_foreign = take_over_foreign,
        .log = { .fn = capture_log, .context = &logged },
    };
    return config;
}

static struct live_session *start_claimed(struct process_table *table,
                                          enum live_session_kind kind, bool take_over_foreign,
                                          const struct live_session_claim *claim)
{
    char err[256] = "";
    struct live_session_config config = session_config(kind, take_over_foreign);
    struct live_session *s = live_session_start(table, &config, claim, err, sizeof err);
    if (s == NULL)
        fail_msg("live_session_start: %s", err);
    return s;
}

static struct live_session *start(struct process_table *table, enum live_session_kind kind,
                                  bool take_over_foreign)
{
    char err[256] = "";
    struct live_session_config config = session_config(kind, take_over_foreign);
    if (test_claim == NULL)
        test_claim = live_session_claim(&config, err, sizeof err);
    if (test_claim == NULL)
        fail_msg("live_session_claim: %s", err);
    return start_claimed(table, kind, take_over_foreign, test_claim);
}

/* One fake run whose rundown names a single process, after StartTrace first answers
 * first_start (ERROR_SUCCESS: starts at once). */
static void one_run_after_start_result(ULONG first_start)
{
    fake.start_results[0] = first_start;
    fake.start_result_count = 1;
    fake.run_count = 1;
    make_process(&fake.runs[0].events[0], 3, 8, 500, 0x1000, "svc.exe");
    fake.runs[0].event_count = 1;
}

/* ---- the record mapping alone ---- */

static void test_record_map(void **state)
{
    (void)state;
    struct fake_event e;
    struct trace_record r;

    make_net(&e, &tcpip_guid, 10, 8, 1234, 1500);
    etw_record_map(&e.record, 0, &r);
    assert_int_equal(r.event_class, TRACE_CLASS_TCPIP);
    assert_int_equal(r.opcode, 10);
    assert_int_equal(r.version, 2);
    assert_int_equal(r.pointer_size, 8);
    assert_int_equal(r.payload_size, e.record.UserDataLength);
    assert_ptr_equal(r.payload, e.payload);
    assert_true(r.timestamp == (uint64_t)e.record.EventHeader.TimeStamp.QuadPart);

    make_net(&e, &udpip_guid, 11, 4, 99, 12);
    etw_record_map(&e.record, 0, &r);
    assert_int_equal(r.event_class, TRACE_CLASS_UDPIP);
    assert_int_equal(r.pointer_size, 4);

    make_process(&e, 3, 4, 77, 0x81234560u, "x86app.exe");
    etw_record_map(&e.record, 0, &r);
    assert_int_equal(r.event_class, TRACE_CLASS_PROCESS);
    assert_int_equal(r.opcode, 3);
    assert_int_equal(r.version, 4);

    make_event(&e, &lost_guid, 32, 0, 8, 0);
    etw_record_map(&e.record, 0, &r);
    assert_int_equal(r.event_class, TRACE_CLASS_LOST_EVENT);
    assert_int_equal(r.opcode, 32);

    make_event(&e, &header_guid, 0, 2, 8, 16);
    etw_record_map(&e.record, 0, &r);
    assert_int_equal(r.event_class, TRACE_CLASS_OTHER);

    /* Neither pointer-size flag: the session's logfile header decides; without it, it
     * is not guessed from this build. */
    make_event(&e, &tcpip_guid, 10, 2, 8, 40);
    e.record.EventHeader.Flags &= (USHORT)~EVENT_HEADER_FLAG_64_BIT_HEADER;
    etw_record_map(&e.record, 0, &r);
    assert_int_equal(r.pointer_size, 0);
    etw_record_map(&e.record, 4, &r);
    assert_int_equal(r.pointer_size, 4);
    etw_record_map(&e.record, 7, &r);
    assert_int_equal(r.pointer_size, 0);
    /* A flag wins over the header. */
    e.record.EventHeader.Flags |= EVENT_HEADER_FLAG_64_BIT_HEADER;
    etw_record_map(&e.record, 4, &r);
    assert_int_equal(r.pointer_size, 8);
}

/* ---- sessions ---- */

static void test_events_reach_the_table(void **state)
{
    (void)state;
    struct fake_run *run = &fake.runs[0];
    fake.run_count = 1;
    make_process(&run->events[0], 3, 8, 1234, 0xffffa0001234000ull, "curl.exe");
    make_net(&run->events[1], &tcpip_guid, 10, 8, 1234, 100);  /* send v4 */
    make_net(&run->events[2], &tcpip_guid, 27, 8, 1234, 200);  /* recv v6 */
    make_process(&run->events[3], 3, 4, 77, 0x81234560u, "x86app.exe");
    make_net(&run->events[4], &tcpip_guid, 10, 4, 77, 33);     /* 32-bit pointers */
    make_net(&run->events[5], &udpip_guid, 10, 8, 1234, 7);    /* UDP send v4 */
    make_event(&run->events[6], &lost_guid, 32, 0, 8, 0);      /* RT_LostEvent */
    run->event_count = 7;
    run->lost_events = 7;
    run->lost_buffers = 2;

    struct process_table *table = new_table();
    struct live_session *s = start(table, LIVE_SESSION_SYSTEM_LOGGER, false);
    wait_delivered(1);

    struct found curl = row_of(table, 1234);
    assert_int_equal(curl.rows, 1);
    assert_string_equal(curl.view.name, "curl.exe");
    assert_true(curl.view.counters[FAMILY_IPV4][CTR_SENT_BYTES] == 100);
    assert_true(curl.view.counters[FAMILY_IPV4][CTR_SENT_EVENTS] == 1);
    assert_true(curl.view.counters[FAMILY_IPV6][CTR_RECV_BYTES] == 200);
    assert_true(curl.view.counters[FAMILY_IPV4][CTR_UDP_SENT_BYTES] == 7);
    struct found x86 = row_of(table, 77);
    assert_int_equal(x86.rows, 1);
    assert_string_equal(x86.view.name, "x86app.exe");
    assert_true(x86.view.counters[FAMILY_IPV4][CTR_SENT_BYTES] == 33);
    /* Nothing went to the header's PID (-1). */
    assert_int_equal(row_of(table, 0xFFFFFFFFu).rows, 0);

    struct table_stats stats;
    process_table_stats(table, &stats);
    assert_true(stats.lost_events == 1);

    struct live_session_status st;
    live_session_status(s, &st);
    assert_true(st.up);
    assert_true(st.restarts == 0);
    assert_true(st.events_lost == 7);
    assert_true(st.buffers_lost == 2);

    /* The private system-logger session, as configured by default. */
    const struct call *c = &fake.calls[0];
    assert_int_equal(c->what, 'S');
    assert_true(wcscmp(c->name, L"tcpip_exporter") == 0);
    assert_true(c->log_file_mode & EVENT_TRACE_SYSTEM_LOGGER_MODE);
    assert_true(c->log_file_mode & EVENT_TRACE_REAL_TIME_MODE);
    /* TCPIP and PROCESS, and no SystemConfig rundown (system-logger mode only) */
    assert_int_equal(c->enable_flags, 0x10001 | EVENT_TRACE_FLAG_NO_SYSCONFIG);
    /* 64 KB buffers; 8 processors: 2 x 8 + 8 = 24 at least, and half again at most */
    assert_int_equal(c->buffer_size, 64);
    assert_int_equal(c->min_buffers, 24);
    assert_int_equal(c->max_buffers, 40);
    assert_false(IsEqualGUID(&c->guid, &system_trace_guid));
    assert_true(c->wnode_flags & WNODE_FLAG_TRACED_GUID);
    /* Real-time only: a non-zero offset would name a log file (an empty one here). */
    assert_int_equal(c->log_file_name_offset, 0);
    assert_true(wcscmp(fake.logfile.LoggerName, L"tcpip_exporter") == 0);

    live_session_stop(s);
    /* Stopped by its handle, consumer closed. */
    int stops = 0;
    for (int i = 0; i < fake.call_count; i++)
        if (fake.calls[i].what == 'C' && fake.calls[i].control == EVENT_TRACE_CONTROL_STOP &&
            fake.calls[i].handle == FAKE_SESSION_HANDLE) {
            stops++;
            /* ControlTrace is given the session's GUID, as StartTrace was. */
            assert_true(IsEqualGUID(&fake.calls[i].guid, &c->guid));
        }
    assert_int_equal(stops, 1);
    assert_int_equal(count_calls('X', NULL, 0), 1);
    process_table_destroy(table);
}

/* Remote peers from live EVENT_RECORDs: the endpoints reach the store through the record
 * map and the same feed as a replay, at both pointer sizes. */
struct peers_seen {
    size_t count;
    struct peer_view peer[8];
    uint32_t pid[8];
};

static void collect_peers(const struct process_peers *e, void *context)
{
    struct peers_seen *s = context;
    for (size_t i = 0; i < e->count && s->count < 8; i++) {
        s->pid[s->count] = e->process->pid;
        s->peer[s->count++] = e->peers[i];
    }
}

static const struct peer_view *peer_of(const struct peers_seen *s, uint32_t pid,
                                       uint8_t protocol, uint16_t port)
{
    for (size_t i = 0; i < s->count; i++)
        if (s->pid[i] == pid && s->peer[i].protocol == protocol && s->peer[i].port == port)
            return &s->peer[i];
    return NULL;
}

static void test_live_events_reach_the_peers(void **state)
{
    (void)state;
    static const uint8_t here[4] = {10, 0, 0, 5}, server[4] = {10, 0, 0, 9},
                         client[4] = {10, 0, 0, 77}, group[4] = {239, 255, 255, 250};
    struct fake_run *run = &fake.runs[0];
    fake.run_count = 1;
    make_process(&run->events[0], 3, 8, 1234, 0xffffa0001234000ull, "curl.exe");
    make_net_peer(&run->events[1], &tcpip_guid, 12, 8, 1234, 0, server, 443, here, 50000);
    make_net_peer(&run->events[2], &tcpip_guid, 10, 8, 1234, 100, server, 443, here, 50000);
    make_net_peer(&run->events[3], &tcpip_guid, 15, 4, 1234, 0, client, 61000, here, 8080);
    make_net_peer(&run->events[4], &tcpip_guid, 11, 4, 1234, 300, client, 61000, here, 8080);
    make_net_peer(&run->events[5], &udpip_guid, 11, 8, 1234, 70, group, 1900, client, 1900);
    run->event_count = 6;

    struct process_table_config config = {.retention = PROCESS_TABLE_DEFAULT_RETENTION,
                                          .peer_capacity = 256};
    struct process_table *table = process_table_create(&config);
    assert_non_null(table);
    struct live_session *s = start(table, LIVE_SESSION_SYSTEM_LOGGER, false);
    wait_delivered(1);

    struct peers_seen seen = {0};
    process_table_foreach_peers(table, collect_peers, &seen);
    assert_int_equal(seen.count, 3);
    const struct peer_view *out = peer_of(&seen, 1234, PEER_TCP, 443);
    assert_non_null(out);
    assert_int_equal(out->direction, PEER_OUTBOUND);
    assert_memory_equal(out->address, server, 4);
    assert_true(out->counters[PEER_CONNECTS] == 1 && out->counters[PEER_SENT_BYTES] == 100);
    const struct peer_view *in = peer_of(&seen, 1234, PEER_TCP, 8080);
    assert_non_null(in);
    assert_int_equal(in->direction, PEER_INBOUND);
    assert_memory_equal(in->address, client, 4);
    assert_true(in->counters[PEER_ACCEPTS] == 1 && in->counters[PEER_RECV_BYTES] == 300);
    const struct peer_view *udp = peer_of(&seen, 1234, PEER_UDP, 1900);
    assert_non_null(udp);
    assert_memory_equal(udp->address, client, 4); /* the sender, not the group */
    assert_true(udp->counters[PEER_RECV_BYTES] == 70);
    live_session_stop(s);
    process_table_destroy(table);
}

static void test_stale_private_session_is_taken_over(void **state)
{
    (void)state;
    one_run_after_start_result(ERROR_ALREADY_EXISTS);

    struct process_table *table = new_table();
    struct live_session *s = start(table, LIVE_SESSION_SYSTEM_LOGGER, false);
    wait_delivered(1);
    struct live_session_status st;
    live_session_status(s, &st);
    assert_true(st.up);
    /* Stopped by name, then started again. */
    assert_int_equal(count_calls('C', L"tcpip_exporter", EVENT_TRACE_CONTROL_STOP), 1);
    assert_int_equal(count_calls('S', L"tcpip_exporter", 0), 2);
    live_session_stop(s);
    /* The collector reports through the caller's log function, not a logger of its own. */
    assert_true(was_logged("warn", "a stale session named tcpip_exporter exists"));
    assert_true(was_logged("info", "live session: stopped ("));
    process_table_destroy(table);
}

static void test_foreign_kernel_logger_is_refused(void **state)
{
    (void)state;
    for (int i = 0; i < 16; i++)
        fake.start_results[i] = ERROR_ALREADY_EXISTS;
    fake.start_result_count = 16;
    fake.wait_limit = 4;

    struct process_table *table = new_table();
    struct live_session *s = start(table, LIVE_SESSION_KERNEL_LOGGER, false);
    wait_waits(4);
    struct live_session_status st;
    live_session_status(s, &st);
    assert_false(st.up);
    assert_non_null(strstr(st.reason, "in use by another tool"));
    /* Never stopped, retried with doubling back-off. */
    assert_int_equal(count_calls('C', NULL, EVENT_TRACE_CONTROL_STOP), 0);
    assert_int_equal(count_calls('S', L"NT Kernel Logger", 0), 4);
    assert_int_equal(fake.waits[0], 1000);
    assert_int_equal(fake.waits[1], 2000);
    assert_int_equal(fake.waits[2], 4000);
    assert_int_equal(fake.waits[3], 8000);
    assert_true(st.restarts == 0);
    const struct call *c = &fake.calls[0];
    assert_true(IsEqualGUID(&c->guid, &system_trace_guid));
    assert_false(c->log_file_mode & EVENT_TRACE_SYSTEM_LOGGER_MODE);
    live_session_stop(s);
    process_table_destroy(table);
}

static void test_foreign_kernel_logger_taken_over_when_asked(void **state)
{
    (void)state;
    one_run_after_start_result(ERROR_ALREADY_EXISTS);

    struct process_table *table = new_table();
    struct live_session *s = start(table, LIVE_SESSION_KERNEL_LOGGER, true);
    wait_delivered(1);
    assert_int_equal(count_calls('C', L"NT Kernel Logger", EVENT_TRACE_CONTROL_STOP), 1);
    assert_int_equal(count_calls('S', L"NT Kernel Logger", 0), 2);
    for (int i = 0; i < fake.call_count; i++)
        if (fake.calls[i].what == 'C')
            assert_true(IsEqualGUID(&fake.calls[i].guid, &system_trace_guid));
    struct live_session_status st;
    live_session_status(s, &st);
    assert_true(st.up);
    live_session_stop(s);
    process_table_destroy(table);
}

/* Before Windows 8 AUTO goes straight to the NT Kernel Logger: the unknown mode bit is
 * not documented to be refused, so an error cannot be relied on. */
static void test_auto_uses_kernel_logger_before_windows_8(void **state)
{
    (void)state;
    fake.before_windows_8 = TRUE;
    one_run_after_start_result(ERROR_SUCCESS);

    struct process_table *table = new_table();
    struct live_session *s = start(table, LIVE_SESSION_AUTO, false);
    wait_delivered(1);
    assert_int_equal(count_calls('S', L"tcpip_exporter", 0), 0);
    assert_int_equal(count_calls('S', L"NT Kernel Logger", 0), 1);
    assert_true(wcscmp(fake.logfile.LoggerName, L"NT Kernel Logger") == 0);
    live_session_stop(s);
    process_table_destroy(table);
}

static void test_auto_does_not_fall_back_on_an_error(void **state)
{
    (void)state;
    /* Windows 8+: a refusal of the private session is retried as it is, not answered by
     * moving to the NT Kernel Logger for good. */
    one_run_after_start_result(ERROR_INVALID_PARAMETER);

    struct process_table *table = new_table();
    struct live_session *s = start(table, LIVE_SESSION_AUTO, false);
    wait_delivered(1);
    assert_int_equal(count_calls('S', L"tcpip_exporter", 0), 2);
    assert_int_equal(count_calls('S', L"NT Kernel Logger", 0), 0);
    assert_true(wcscmp(fake.logfile.LoggerName, L"tcpip_exporter") == 0);
    assert_int_equal(fake.waits[0], 1000);   /* after the usual back-off */
    assert_true(was_logged("error", "starting the system logger session failed: 87"));
    live_session_stop(s);
    process_table_destroy(table);
}

static void test_restart_when_stopped_underneath(void **state)
{
    (void)state;
    fake.run_count = 3;
    /* Run 1: rundown names curl, it sends 100, then another tool stops the session. */
    make_process(&fake.runs[0].events[0], 3, 8, 1234, 0xffffa0001234000ull, "curl.exe");
    make_net(&fake.runs[0].events[1], &tcpip_guid, 10, 8, 1234, 100);
    fake.runs[0].event_count = 2;
    fake.runs[0].end = RUN_RETURN_AT_ONCE;
    fake.runs[0].lost_events = 3;
    /* Run 2: the new rundown names the same instance again; 50 more; stopped again. */
    make_process(&fake.runs[1].events[0], 3, 8, 1234, 0xffffa0001234000ull, "curl.exe");
    make_net(&fake.runs[1].events[1], &tcpip_guid, 10, 8, 1234, 50);
    fake.runs[1].event_count = 2;
    fake.runs[1].end = RUN_RETURN_AT_ONCE;
    fake.runs[1].lost_events = 4;
    /* Run 3: stays up. */
    make_process(&fake.runs[2].events[0], 3, 8, 1234, 0xffffa0001234000ull, "curl.exe");
    make_net(&fake.runs[2].events[1], &tcpip_guid, 10, 8, 1234, 25);
    fake.runs[2].event_count = 2;
    fake.runs[2].lost_events = 1;

    struct process_table *table = new_table();
    struct live_session *s = start(table, LIVE_SESSION_SYSTEM_LOGGER, false);
    wait_delivered(3);

    struct live_session_status st;
    live_session_status(s, &st);
    assert_true(st.up);
    assert_true(st.restarts == 2);
    assert_int_equal(fake.wait_count, 2);
    assert_int_equal(fake.waits[0], 1000);
    assert_int_equal(fake.waits[1], 2000);
    /* Lost counters of finished runs are kept: 3 + 4 + 1 (run 3 polled once). */
    assert_true(st.events_lost == 8);

    /* Sessions that another tool stopped are not stopped again by their stale handle,
     * which could name a session that tool started since. */
    assert_int_equal(count_calls('C', NULL, EVENT_TRACE_CONTROL_STOP), 0);

    struct found curl = row_of(table, 1234);
    assert_int_equal(curl.rows, 1);   /* one instance, not one per rundown */
    assert_string_equal(curl.view.name, "curl.exe");
    assert_true(curl.view.counters[FAMILY_IPV4][CTR_SENT_BYTES] == 175);
    assert_true(curl.view.counters[FAMILY_IPV4][CTR_SENT_EVENTS] == 3);
    live_session_stop(s);
    process_table_destroy(table);
}

/* What Wine does: StartTrace succeeds with a fake handle, OpenTrace fails with 5. */
static void test_open_trace_denied_like_wine(void **state)
{
    (void)state;
    fake.open_error = ERROR_ACCESS_DENIED;
    fake.wait_limit = 3;

    struct process_table *table = new_table();
    struct live_session *s = start(table, LIVE_SESSION_AUTO, false);
    wait_waits(3);
    struct live_session_status st;
    live_session_status(s, &st);
    assert_false(st.up);
    assert_non_null(strstr(st.reason, "opening the real-time consumer failed: 5"));
    assert_non_null(strstr(st.reason, "retrying in"));
    assert_true(st.restarts == 0);
    assert_int_equal(fake.waits[0], 1000);
    assert_int_equal(fake.waits[1], 2000);
    /* Every session it started, it stopped: none left behind. */
    assert_int_equal(count_calls('S', NULL, 0), 3);
    assert_int_equal(count_calls('C', NULL, EVENT_TRACE_CONTROL_STOP), 3);
    live_session_stop(s);
    process_table_destroy(table);
}

/* ProcessTrace failing at once (Wine's 120) is a failure, not a restart. */
static void test_process_trace_not_implemented(void **state)
{
    (void)state;
    fake.run_count = 2;
    fake.runs[0].end = RUN_RETURN_AT_ONCE;
    fake.runs[0].process_trace_result = ERROR_CALL_NOT_IMPLEMENTED;
    fake.runs[1].end = RUN_RETURN_AT_ONCE;
    fake.runs[1].process_trace_result = ERROR_CALL_NOT_IMPLEMENTED;
    fake.wait_limit = 2;

    struct process_table *table = new_table();
    struct live_session *s = start(table, LIVE_SESSION_SYSTEM_LOGGER, false);
    wait_waits(2);
    struct live_session_status st;
    live_session_status(s, &st);
    assert_false(st.up);
    assert_non_null(strstr(st.reason, "ProcessTrace returned 120"));
    assert_true(st.restarts == 0);
    live_session_stop(s);
    process_table_destroy(table);
}

static void test_unflagged_records_use_the_os_pointer_size(void **state)
{
    (void)state;
    /* A real-time session on x64 can report PointerSize 4 in its logfile header; a record
     * without a pointer-size flag must still be read with the kernel's 8. */
    fake.header_pointer_size = 4;
    fake.os_pointer_size = 8;
    fake.run_count = 1;
    make_process(&fake.runs[0].events[0], 3, 8, 4242, 0xffffa0004242000ull, "unflagged.exe");
    make_net(&fake.runs[0].events[1], &tcpip_guid, 10, 8, 4242, 321);
    for (int i = 0; i < 2; i++)
        fake.runs[0].events[i].record.EventHeader.Flags &=
            (USHORT)~(EVENT_HEADER_FLAG_64_BIT_HEADER | EVENT_HEADER_FLAG_32_BIT_HEADER);
    fake.runs[0].event_count = 2;
    struct process_table *table = new_table();
    struct live_session *s = start(table, LIVE_SESSION_SYSTEM_LOGGER, false);
    wait_delivered(1);
    live_session_stop(s);
    struct found row = row_of(table, 4242);
    assert_int_equal(row.rows, 1);
    assert_string_equal(row.view.name, "unflagged.exe");
    assert_true(row.view.counters[FAMILY_IPV4][CTR_SENT_BYTES] == 321);
    process_table_destroy(table);
}

static void test_up_only_after_a_kernel_event(void **state)
{
    (void)state;
    /* The flush timer delivers empty buffers: they do not make the source "up". */
    fake.run_count = 1;
    fake.runs[0].empty_buffer = true;
    struct process_table *table = new_table();
    struct live_session *s = start(table, LIVE_SESSION_SYSTEM_LOGGER, false);
    wait_delivered(1);
    struct live_session_status st;
    live_session_status(s, &st);
    assert_false(st.up);
    assert_non_null(strstr(st.reason, "waiting for events"));
    live_session_stop(s);
    process_table_destroy(table);
}

static void test_kernel_logger_keeps_its_sysconfig_flag_off(void **state)
{
    (void)state;
    /* NO_SYSCONFIG goes with the system-logger mode only; the NT Kernel Logger gets the
     * two flags it needs and nothing else. */
    one_run_after_start_result(ERROR_SUCCESS);
    struct process_table *table = new_table();
    struct live_session *s = start(table, LIVE_SESSION_KERNEL_LOGGER, false);
    wait_delivered(1);
    assert_int_equal(fake.calls[0].what, 'S');
    assert_int_equal(fake.calls[0].enable_flags, 0x10001);
    live_session_stop(s);
    process_table_destroy(table);
}

static void test_stop_ends_even_if_process_trace_never_returns(void **state)
{
    (void)state;
    fake.run_count = 1;
    make_process(&fake.runs[0].events[0], 3, 8, 55, 0x1000, "stuck.exe");
    fake.runs[0].event_count = 1;
    fake.runs[0].end = RUN_NEVER_RETURNS;
    struct process_table *table = new_table();
    char err[256] = "";
    struct live_session_config config = session_config(LIVE_SESSION_SYSTEM_LOGGER, false);
    config.stop_timeout_ms = 300;
    test_claim = live_session_claim(&config, err, sizeof err);
    assert_non_null(test_claim);
    struct live_session *s = live_session_start(table, &config, test_claim, err, sizeof err);
    assert_non_null(s);
    wait_delivered(1);
    ULONGLONG t0 = GetTickCount64();
    assert_false(live_session_stop(s));   /* bounded, and says the thread is still there */
    ULONGLONG took = GetTickCount64() - t0;
    assert_true(took >= 250 && took < 5000);
    assert_true(was_logged("error", "did not end within 300 ms"));
    /* The session was stopped and the consumer closed all the same. */
    assert_int_equal(count_calls('C', NULL, EVENT_TRACE_CONTROL_STOP), 1);
    assert_int_equal(count_calls('X', NULL, 0), 1);
    /* Let the thread go; the session and table stay with it (as at process exit). */
    SetEvent(fake.release_stuck);
    Sleep(300);
    (void)table;
}

/* ---- buffers sized for production, and the session's own figures ---- */

static void started_buffers(DWORD processors, uint32_t min, uint32_t max, ULONG *got_min,
                            ULONG *got_max)
{
    fake.processors = processors;
    fake.call_count = 0;
    fake.run_count = fake.runs_done + 1;
    make_process(&fake.runs[fake.runs_done].events[0], 3, 8, 9, 0x1000, "sized.exe");
    fake.runs[fake.runs_done].event_count = 1;
    struct process_table *table = new_table();
    char err[256] = "";
    struct live_session_config config = session_config(LIVE_SESSION_SYSTEM_LOGGER, false);
    config.min_buffers = min;
    config.max_buffers = max;
    if (test_claim == NULL)
        test_claim = live_session_claim(&config, err, sizeof err);
    struct live_session *s = live_session_start(table, &config, test_claim, err, sizeof err);
    assert_non_null(s);
    wait_delivered(fake.run_count);
    *got_min = fake.calls[0].min_buffers;
    *got_max = fake.calls[0].max_buffers;
    live_session_stop(s);
    process_table_destroy(table);
}

static void test_buffers_scale_with_processors(void **state)
{
    (void)state;
    ULONG min, max;
    started_buffers(1, 0, 0, &min, &max);     /* floor */
    assert_int_equal(min, 16);
    assert_int_equal(max, 32);
    started_buffers(32, 0, 0, &min, &max);    /* 2 x 32 + 8, and half again */
    assert_int_equal(min, 72);
    assert_int_equal(max, 108);
    started_buffers(128, 0, 0, &min, &max);   /* cap: 256 x 64 KB = 16 MB, not 64 MB */
    assert_int_equal(min, 256);
    assert_int_equal(max, 384);
    started_buffers(8, 100, 0, &min, &max);   /* a given minimum gets the headroom */
    assert_int_equal(min, 100);
    assert_int_equal(max, 150);
    started_buffers(64, 0, 20, &min, &max);   /* a given maximum wins over the automatic minimum */
    assert_int_equal(min, 20);
    assert_int_equal(max, 20);
    started_buffers(64, 30, 40, &min, &max);  /* both given: as given */
    assert_int_equal(min, 30);
    assert_int_equal(max, 40);
}

static void test_session_counters_never_wrap_or_go_down(void **state)
{
    (void)state;
    /* EventsLost is 32-bit: from 0xfffffff0 to 0x10 is 0x20 more lost, not fewer. */
    fake.run_count = 1;
    make_process(&fake.runs[0].events[0], 3, 8, 9, 0x1000, "lossy.exe");
    fake.runs[0].event_count = 1;
    fake.runs[0].lost_events = 0xfffffff0u;
    fake.runs[0].second_buffer = true;
    fake.runs[0].lost_events_later = 0x10u;
    struct process_table *table = new_table();
    struct live_session *s = start(table, LIVE_SESSION_SYSTEM_LOGGER, false);
    wait_delivered(1);
    /* polled by the buffer callback or the once-a-tick housekeeper, whichever comes */
    struct live_session_status st;
    for (int tries = 0; tries < 40; tries++) {
        live_session_status(s, &st);
        assert_true(st.events_lost >= 0xfffffff0u); /* never goes down on the way */
        if (st.events_lost == 0x100000010ull)
            break;
        Sleep(100);
    }
    assert_true(st.events_lost == 0x100000010ull);
    assert_int_equal(st.min_buffers, 24);
    assert_int_equal(st.max_buffers, 40);
    live_session_stop(s);
    process_table_destroy(table);
}

/* ---- one clock for retention ---- */

/* A process that starts and exits at trace time `at`, in a table that keeps exited
 * processes for 2 s; the session then delivers nothing more (an idle host). Returns how
 * long, in ms of the tick count, the exited row stayed readable (or -1 after 6 s). */
static long exited_row_lifetime(int64_t at_offset_s)
{
    uint64_t at = (uint64_t)((int64_t)now_filetime() + at_offset_s * 10000000ll);
    fake.run_count = 1;
    make_process(&fake.runs[0].events[0], 1, 8, 3141, 0xffffa0003141000ull, "brief.exe");
    make_process(&fake.runs[0].events[1], 2, 8, 3141, 0xffffa0003141000ull, "brief.exe");
    for (int i = 0; i < 2; i++)
        fake.runs[0].events[i].record.EventHeader.TimeStamp.QuadPart = (LONGLONG)at;
    fake.runs[0].event_count = 2;
    struct process_table_config config = {.retention = 2 * 10000000ull};
    struct process_table *table = process_table_create(&config);
    assert_non_null(table);
    struct live_session *s = start(table, LIVE_SESSION_SYSTEM_LOGGER, false);
    wait_delivered(1);
    ULONGLONG t0 = GetTickCount64();
    long lived = -1;
    while (GetTickCount64() - t0 < 6000) {
        if (row_of(table, 3141).rows == 0) {
            lived = (long)(GetTickCount64() - t0);
            break;
        }
        Sleep(50);
    }
    live_session_stop(s);
    process_table_destroy(table);
    return lived;
}

static void test_retention_ignores_a_clock_step_back(void **state)
{
    (void)state;
    /* The wall clock is an hour behind the trace clock (stepped back): the exited process
     * still retires after its 2 s, on the idle-host timer, not when the table fills. */
    long lived = exited_row_lifetime(3600);
    assert_true(lived >= 1000 && lived <= 4500);
}

static void test_retention_ignores_a_clock_step_forward(void **state)
{
    (void)state;
    /* The wall clock is an hour ahead: the exited process is not retired at once. */
    long lived = exited_row_lifetime(-3600);
    assert_true(lived >= 1000 && lived <= 4500);
}

/* ---- the NT Kernel Logger after a crash ---- */

/* StartTrace finds the NT Kernel Logger taken; QUERY shows the given fingerprint. */
static int kernel_logger_stops(ULONG flags, ULONG buffer_kb, ULONG flush, ULONG mode,
                               const wchar_t *log_file)
{
    fake.start_results[0] = ERROR_ALREADY_EXISTS;
    fake.start_result_count = 1;
    fake.kernel_logger_exists = true;
    fake.kl_enable_flags = flags;
    fake.kl_buffer_size = buffer_kb;
    fake.kl_flush_timer = flush;
    fake.kl_mode = mode;
    fake.kl_log_file = log_file;
    fake.wait_limit = 2;
    fake.run_count = 1;
    make_process(&fake.runs[0].events[0], 3, 8, 7, 0x1000, "svc.exe");
    fake.runs[0].event_count = 1;
    struct process_table *table = new_table();
    struct live_session *s = start(table, LIVE_SESSION_KERNEL_LOGGER, false);
    for (int tries = 0; tries < 100 && fake.runs_done == 0 && fake.wait_count < 2; tries++)
        Sleep(20);
    int stops = count_calls('C', L"NT Kernel Logger", EVENT_TRACE_CONTROL_STOP);
    live_session_stop(s);
    process_table_destroy(table);
    return stops;
}

static void test_our_orphaned_kernel_logger_is_reclaimed(void **state)
{
    (void)state;
    assert_int_equal(kernel_logger_stops(0x10001, 64, 1, EVENT_TRACE_REAL_TIME_MODE, NULL), 1);
    assert_true(was_logged("warn", "left by an instance of ours"));
    assert_int_equal(count_calls('S', L"NT Kernel Logger", 0), 2);
}

static void test_a_foreign_kernel_logger_is_not_reclaimed(void **state)
{
    (void)state;
    /* More flags (xperf's usual), a log file, other buffers: someone else's. */
    assert_int_equal(kernel_logger_stops(0x10001 | 0x2, 64, 1, EVENT_TRACE_REAL_TIME_MODE,
                                         NULL), 0);
}

static void test_a_kernel_logger_writing_a_file_is_not_reclaimed(void **state)
{
    (void)state;
    assert_int_equal(kernel_logger_stops(0x10001, 64, 1,
                                         EVENT_TRACE_REAL_TIME_MODE |
                                             EVENT_TRACE_FILE_MODE_SEQUENTIAL,
                                         L"C:\\trace.etl"), 0);
}

static void test_a_kernel_logger_with_other_buffers_is_not_reclaimed(void **state)
{
    (void)state;
    assert_int_equal(kernel_logger_stops(0x10001, 1024, 1, EVENT_TRACE_REAL_TIME_MODE, NULL), 0);
}

static void test_take_over_retries_a_lingering_session(void **state)
{
    (void)state;
    /* stale session of ours; after the stop its name lingers for two more starts */
    fake.start_results[0] = ERROR_ALREADY_EXISTS;
    fake.start_results[1] = ERROR_ACTIVE_CONNECTIONS;
    fake.start_results[2] = ERROR_ACTIVE_CONNECTIONS;
    fake.start_result_count = 3;
    fake.run_count = 1;
    make_process(&fake.runs[0].events[0], 3, 8, 500, 0x1000, "svc.exe");
    fake.runs[0].event_count = 1;
    struct process_table *table = new_table();
    struct live_session *s = start(table, LIVE_SESSION_SYSTEM_LOGGER, false);
    wait_delivered(1);
    assert_int_equal(count_calls('C', L"tcpip_exporter", EVENT_TRACE_CONTROL_STOP), 1);
    assert_int_equal(count_calls('S', L"tcpip_exporter", 0), 4);
    assert_int_equal(fake.waits[0], 200);   /* short retries, not the 1 s back-off */
    assert_int_equal(fake.waits[1], 200);
    struct live_session_status st;
    live_session_status(s, &st);
    assert_true(st.up);
    live_session_stop(s);
    process_table_destroy(table);
}

static void test_take_over_that_cannot_restart_says_so(void **state)
{
    (void)state;
    fake.start_results[0] = ERROR_ALREADY_EXISTS;
    for (int i = 1; i < 16; i++)
        fake.start_results[i] = ERROR_ACTIVE_CONNECTIONS;
    fake.start_result_count = 16;
    fake.wait_limit = 5;   /* four short retries, then park in the first back-off */
    struct process_table *table = new_table();
    struct live_session *s = start(table, LIVE_SESSION_SYSTEM_LOGGER, false);
    wait_waits(5);
    assert_int_equal(fake.waits[4], 1000);
    struct live_session_status st;
    live_session_status(s, &st);
    assert_false(st.up);
    assert_non_null(strstr(st.reason, "took over a stale session of ours, but starting ours "
                                      "then failed: 2402"));
    live_session_stop(s);
    process_table_destroy(table);
}

/* ---- never stop by a stale handle ---- */

static void test_gone_session_codes_are_not_stopped(void **state)
{
    (void)state;
    /* ProcessTrace also says "the session is gone" with 4201 (Windows 11) and 6. */
    static const ULONG gone[] = { ERROR_WMI_INSTANCE_NOT_FOUND, ERROR_INVALID_HANDLE };
    fake.run_count = 3;
    for (int r = 0; r < 3; r++) {
        make_process(&fake.runs[r].events[0], 3, 8, 77, 0x1000, "svc.exe");
        fake.runs[r].event_count = 1;
    }
    for (int r = 0; r < 2; r++) {
        fake.runs[r].end = RUN_RETURN_AT_ONCE;
        fake.runs[r].process_trace_result = gone[r];
    }
    struct process_table *table = new_table();
    struct live_session *s = start(table, LIVE_SESSION_SYSTEM_LOGGER, false);
    wait_delivered(3);
    assert_int_equal(count_calls('C', NULL, EVENT_TRACE_CONTROL_STOP), 0);
    struct live_session_status st;
    live_session_status(s, &st);
    assert_true(st.restarts == 2);
    /* the run that is still up is ours: the final stop queries it, then stops it */
    live_session_stop(s);
    assert_int_equal(count_calls('C', NULL, EVENT_TRACE_CONTROL_STOP), 1);
    process_table_destroy(table);
}

static void test_handle_naming_another_session_is_not_stopped(void **state)
{
    (void)state;
    one_run_after_start_result(ERROR_SUCCESS);
    struct process_table *table = new_table();
    struct live_session *s = start(table, LIVE_SESSION_KERNEL_LOGGER, false);
    wait_delivered(1);
    /* Meanwhile the handle has come to name someone else's session. */
    fake.query_name = L"Circular Kernel Context Logger";
    live_session_stop(s);
    assert_int_equal(count_calls('C', NULL, EVENT_TRACE_CONTROL_STOP), 0);
    assert_true(was_logged("warn", "now names another session (Circular Kernel Context"));
    process_table_destroy(table);
}

static void test_kernel_logger_of_another_tool_is_not_stopped(void **state)
{
    (void)state;
    one_run_after_start_result(ERROR_SUCCESS);
    struct process_table *table = new_table();
    struct live_session *s = start(table, LIVE_SESSION_KERNEL_LOGGER, false);
    wait_delivered(1);
    /* Ours went away and xperf started the NT Kernel Logger again: the same name, the same
     * GUID, the same handle value, but its own flags. */
    fake.query_flags = EVENT_TRACE_FLAG_PROFILE | EVENT_TRACE_FLAG_PROCESS;
    live_session_stop(s);
    assert_int_equal(count_calls('C', NULL, EVENT_TRACE_CONTROL_STOP), 0);
    assert_true(was_logged("warn", "NT Kernel Logger now running is not the one we started"));
    process_table_destroy(table);
}

static void test_own_kernel_logger_is_stopped(void **state)
{
    (void)state;
    one_run_after_start_result(ERROR_SUCCESS);
    struct process_table *table = new_table();
    struct live_session *s = start(table, LIVE_SESSION_KERNEL_LOGGER, false);
    wait_delivered(1);
    live_session_stop(s);
    assert_int_equal(count_calls('C', NULL, EVENT_TRACE_CONTROL_STOP), 1);
    process_table_destroy(table);
}

static void test_handle_of_a_vanished_session_is_not_stopped(void **state)
{
    (void)state;
    one_run_after_start_result(ERROR_SUCCESS);
    struct process_table *table = new_table();
    struct live_session *s = start(table, LIVE_SESSION_SYSTEM_LOGGER, false);
    wait_delivered(1);
    fake.query_result = ERROR_WMI_INSTANCE_NOT_FOUND;
    live_session_stop(s);
    assert_int_equal(count_calls('C', NULL, EVENT_TRACE_CONTROL_STOP), 0);
    process_table_destroy(table);
}

/* ---- the instance claim: a second instance never touches the first one's session ---- */

struct holder {
    struct live_session_config config;
    bool exit_owning;               /* end the thread without releasing: a dead instance */
    HANDLE claimed, release;
    struct live_session_claim *claim;
};

/* Another instance, as far as a mutex can tell: mutexes are owned by threads. */
static DWORD WINAPI hold_claim(LPVOID arg)
{
    struct holder *h = arg;
    char err[256];
    h->claim = live_session_claim(&h->config, err, sizeof err);
    SetEvent(h->claimed);
    if (!h->exit_owning) {
        WaitForSingleObject(h->release, INFINITE);
        live_session_release(h->claim);
        h->claim = NULL;
    }
    return 0;
}

static HANDLE start_holder(struct holder *h)
{
    h->claimed = CreateEventW(NULL, TRUE, FALSE, NULL);
    h->release = CreateEventW(NULL, TRUE, FALSE, NULL);
    HANDLE thread = CreateThread(NULL, 0, hold_claim, h, 0, NULL);
    assert_non_null(thread);
    assert_int_equal(WaitForSingleObject(h->claimed, 5000), WAIT_OBJECT_0);
    assert_non_null(h->claim);
    return thread;
}

static void end_holder(struct holder *h, HANDLE thread)
{
    SetEvent(h->release);
    assert_int_equal(WaitForSingleObject(thread, 5000), WAIT_OBJECT_0);
    CloseHandle(thread);
    CloseHandle(h->claimed);
    CloseHandle(h->release);
    live_session_release(h->claim); /* the dead instance's handle, for the test's own sake */
}

static void test_second_instance_is_refused(void **state)
{
    (void)state;
    struct holder first = { .config = session_config(LIVE_SESSION_SYSTEM_LOGGER, false) };
    HANDLE thread = start_holder(&first);
    assert_int_equal(live_session_claim_state(first.claim), LIVE_CLAIM_HELD);

    char err[256] = "";
    struct live_session_config config = session_config(LIVE_SESSION_SYSTEM_LOGGER, false);
    assert_null(live_session_claim(&config, err, sizeof err));
    assert_non_null(strstr(err, "another tcpip_exporter is running with the session "
                                "\"tcpip_exporter\""));
    assert_non_null(strstr(err, "Global\\tcpip_exporter.TCPIP_EXPORTER"));
    assert_null(strchr(err, '\n'));
    assert_int_equal(fake.call_count, 0); /* the trace API was never touched */

    /* ETW names have no case: the same session, the same mutex. */
    config.session_name = "TCPIP_Exporter";
    assert_null(live_session_claim(&config, err, sizeof err));
    assert_non_null(strstr(err, "another tcpip_exporter is running"));

    /* Another name is another instance's business: it may run beside. */
    config.session_name = "second";
    struct live_session_claim *other = live_session_claim(&config, err, sizeof err);
    assert_non_null(other);
    live_session_release(other);

    /* Once the first has gone, the name is free. */
    end_holder(&first, thread);
    config.session_name = NULL;
    struct live_session_claim *now = live_session_claim(&config, err, sizeof err);
    assert_non_null(now);
    assert_int_equal(live_session_claim_state(now), LIVE_CLAIM_HELD);
    live_session_release(now);
}

static void test_kernel_logger_claims_are_one(void **state)
{
    (void)state;
    /* The NT Kernel Logger is a singleton: two instances on it collide whatever their
     * --session.name. */
    struct holder first = { .config = session_config(LIVE_SESSION_KERNEL_LOGGER, false) };
    first.config.session_name = "a";
    HANDLE thread = start_holder(&first);
    char err[256] = "";
    struct live_session_config config = session_config(LIVE_SESSION_KERNEL_LOGGER, false);
    config.session_name = "b";
    assert_null(live_session_claim(&config, err, sizeof err));
    assert_non_null(strstr(err, "\"NT Kernel Logger\""));
    end_holder(&first, thread);
}

static void test_orphan_of_a_dead_instance_is_taken_over(void **state)
{
    (void)state;
    struct holder dead = { .config = session_config(LIVE_SESSION_SYSTEM_LOGGER, false),
                           .exit_owning = true };
    HANDLE thread = start_holder(&dead);
    assert_int_equal(WaitForSingleObject(thread, 5000), WAIT_OBJECT_0);

    char err[256] = "";
    struct live_session_config config = session_config(LIVE_SESSION_SYSTEM_LOGGER, false);
    test_claim = live_session_claim(&config, err, sizeof err);
    assert_non_null(test_claim);
    assert_int_equal(live_session_claim_state(test_claim), LIVE_CLAIM_ORPHANED);
    assert_true(was_logged("warn", "ended without stopping"));

    one_run_after_start_result(ERROR_ALREADY_EXISTS);
    struct process_table *table = new_table();
    struct live_session *s = start(table, LIVE_SESSION_SYSTEM_LOGGER, false);
    wait_delivered(1);
    assert_int_equal(count_calls('C', L"tcpip_exporter", EVENT_TRACE_CONTROL_STOP), 1);
    live_session_stop(s);
    process_table_destroy(table);
    CloseHandle(thread);
    CloseHandle(dead.claimed);
    CloseHandle(dead.release);
    live_session_release(dead.claim);
}

static HANDLE WINAPI fake_mutex_denied(LPSECURITY_ATTRIBUTES attributes, BOOL owner,
                                       LPCWSTR name)
{
    (void)attributes;
    (void)owner;
    (void)name;
    SetLastError(ERROR_ACCESS_DENIED); /* Global\ without SeCreateGlobalPrivilege */
    return NULL;
}

static void test_unproven_claim_never_takes_over(void **state)
{
    (void)state;
    etw_seam.create_mutex = fake_mutex_denied;
    char err[256] = "";
    struct live_session_config config = session_config(LIVE_SESSION_SYSTEM_LOGGER, false);
    test_claim = live_session_claim(&config, err, sizeof err);
    assert_non_null(test_claim);
    assert_int_equal(live_session_claim_state(test_claim), LIVE_CLAIM_UNPROVEN);
    assert_true(was_logged("warn", "cannot create the instance mutex"));

    for (int i = 0; i < 16; i++)
        fake.start_results[i] = ERROR_ALREADY_EXISTS;
    fake.start_result_count = 16;
    fake.wait_limit = 3;
    struct process_table *table = new_table();
    struct live_session *s = start(table, LIVE_SESSION_SYSTEM_LOGGER, false);
    wait_waits(3);
    struct live_session_status st;
    live_session_status(s, &st);
    assert_false(st.up);
    assert_non_null(strstr(st.reason, "not proven orphaned"));
    assert_int_equal(count_calls('C', NULL, EVENT_TRACE_CONTROL_STOP), 0);
    live_session_stop(s);
    /* a session without any claim (NULL) behaves the same */
    fake.call_count = 0;
    s = start_claimed(table, LIVE_SESSION_SYSTEM_LOGGER, false, NULL);
    wait_waits(4);
    live_session_stop(s);
    assert_int_equal(count_calls('C', NULL, EVENT_TRACE_CONTROL_STOP), 0);
    process_table_destroy(table);
}

/* ---- uninstall: a session left behind ---- */

static void test_uninstall_stops_our_leftover_session(void **state)
{
    (void)state;
    char what[256];
    struct live_session_config config = session_config(LIVE_SESSION_SYSTEM_LOGGER, false);
    config.session_name = "fleet";
    assert_true(live_session_stop_leftover(&config, what, sizeof what));
    assert_string_equal(what, "stopped a leftover system logger session fleet");
    assert_int_equal(count_calls('C', L"fleet", EVENT_TRACE_CONTROL_STOP), 1);

    /* nothing there: said so, nothing else done */
    fake.stop_by_name_result = ERROR_WMI_INSTANCE_NOT_FOUND;
    assert_false(live_session_stop_leftover(&config, what, sizeof what));
    assert_string_equal(what, "no session of ours was left running");
}

static void test_uninstall_leaves_a_running_instance_alone(void **state)
{
    (void)state;
    struct holder running = { .config = session_config(LIVE_SESSION_SYSTEM_LOGGER, false) };
    HANDLE thread = start_holder(&running);
    char what[256];
    struct live_session_config config = session_config(LIVE_SESSION_SYSTEM_LOGGER, false);
    assert_false(live_session_stop_leftover(&config, what, sizeof what));
    assert_non_null(strstr(what, "its session was left alone"));
    assert_int_equal(count_calls('C', NULL, EVENT_TRACE_CONTROL_STOP), 0);
    end_holder(&running, thread);
}

static void test_uninstall_leaves_a_foreign_kernel_logger_alone(void **state)
{
    (void)state;
    fake.kernel_logger_exists = true;
    fake.kl_enable_flags = 0x10001 | 0x2;   /* not our fingerprint */
    fake.kl_buffer_size = 64;
    fake.kl_flush_timer = 1;
    fake.kl_mode = EVENT_TRACE_REAL_TIME_MODE;
    char what[256];
    struct live_session_config config = session_config(LIVE_SESSION_KERNEL_LOGGER, false);
    assert_false(live_session_stop_leftover(&config, what, sizeof what));
    assert_int_equal(count_calls('C', NULL, EVENT_TRACE_CONTROL_STOP), 0);
    fake.kl_enable_flags = 0x10001;         /* ours */
    assert_true(live_session_stop_leftover(&config, what, sizeof what));
    assert_string_equal(what, "stopped a leftover NT Kernel Logger");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_map),
        cmocka_unit_test_setup_teardown(test_events_reach_the_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_live_events_reach_the_peers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_private_session_is_taken_over, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unflagged_records_use_the_os_pointer_size, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_up_only_after_a_kernel_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kernel_logger_keeps_its_sysconfig_flag_off, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stop_ends_even_if_process_trace_never_returns,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_buffers_scale_with_processors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_counters_never_wrap_or_go_down, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_retention_ignores_a_clock_step_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_retention_ignores_a_clock_step_forward, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_our_orphaned_kernel_logger_is_reclaimed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_foreign_kernel_logger_is_not_reclaimed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_kernel_logger_writing_a_file_is_not_reclaimed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_kernel_logger_with_other_buffers_is_not_reclaimed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_take_over_retries_a_lingering_session, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_take_over_that_cannot_restart_says_so, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_uninstall_stops_our_leftover_session, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_uninstall_leaves_a_running_instance_alone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_uninstall_leaves_a_foreign_kernel_logger_alone,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_gone_session_codes_are_not_stopped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_handle_naming_another_session_is_not_stopped,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_kernel_logger_of_another_tool_is_not_stopped,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_own_kernel_logger_is_stopped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handle_of_a_vanished_session_is_not_stopped,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_instance_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kernel_logger_claims_are_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_orphan_of_a_dead_instance_is_taken_over, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unproven_claim_never_takes_over, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_kernel_logger_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_kernel_logger_taken_over_when_asked, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_auto_uses_kernel_logger_before_windows_8,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_auto_does_not_fall_back_on_an_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_restart_when_stopped_underneath, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_trace_denied_like_wine, setup, teardown),
        cmocka_unit_test_setup_teardown(test_process_trace_not_implemented, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
