/* The live kernel trace session on Windows (collector/live_session.h).
 *
 * One consumer thread owns everything kernel-facing: it starts the session, opens the
 * real-time consumer, sits in ProcessTrace (so the event callback, and with it the table's
 * single writer, runs on this thread), and when ProcessTrace returns without being asked to
 * it starts over with back-off. Other threads only read the status (under a lock that is
 * never held across a kernel call) and ask the thread to stop.
 *
 * All trace API calls go through etw_seam so the tests can run this file against fakes. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "etw_seam_win.h"
#include "bytes.h"
#include "etw_record_map_win.h"
#include "live_session.h"
#include "win_error_win.h"
#include "collector_log.h"

#define NAME_CHARS 1024u            /* room ControlTrace may write a logger/file name into */
#define BACKOFF_FIRST_MS 1000u
#define BACKOFF_MAX_MS 60000u
#define HEALTHY_RUN_MS 60000u       /* a session that ran this long resets the back-off */
#define POLL_INTERVAL_MS 1000u      /* lost counters and housekeeping, at most this often */
#define FLUSH_TIMER_S 1u            /* buffers with events reach us within a second */
#define TAKE_OVER_RETRIES 5u        /* starts tried after stopping a session we take over */
#define TAKE_OVER_RETRY_MS 200u
#define HOUSEKEEPER_TICK_MS 500u    /* the idle-host timer: no buffer, no buffer callback */
#define HOUSEKEEPER_JOIN_MS 2000u

/* EnableFlags for the kernel's SystemTraceProvider. */
#define KERNEL_FLAGS (EVENT_TRACE_FLAG_NETWORK_TCPIP | EVENT_TRACE_FLAG_PROCESS)

/* The private system-logger session's GUID; its first field is mixed with a hash of the
 * session name so that two instances with different names do not share a GUID. */
static const GUID private_session_guid_base =
    {0x2f0e5b6c, 0x7d3a, 0x4c1e, {0x9b, 0x44, 0x5a, 0x1d, 0x63, 0x8e, 0x20, 0x71}};

/* SystemTraceControlGuid, spelled out so this file needs no INITGUID dance. */
static const GUID system_trace_control_guid =
    {0x9e814aad, 0x3204, 0x11d2, {0x9a, 0x82, 0x00, 0x60, 0x08, 0xa8, 0x69, 0x39}};

enum { TALLY_EVENTS_LOST, TALLY_BUFFERS_LOST, TALLY_BUFFERS_WRITTEN, TALLY_COUNT };

struct live_session {
    struct process_table *table;
    enum live_session_kind requested_kind;
    bool take_over_foreign;
    bool may_take_over_own;         /* the instance claim is held: a session under our
                                     * private name is an orphan of a dead instance */
    struct collector_log log;
    DWORD stop_timeout_ms;          /* how long live_session_stop waits for the thread */
    uint32_t buffer_size_kb, min_buffers, max_buffers;
    wchar_t private_name[128];
    char private_name_utf8[128];
    GUID private_guid;

    HANDLE thread;
    HANDLE stop_event;              /* manual reset: set once, by live_session_stop */
    volatile LONG stopping;

    /* Consumer-thread state. */
    bool system_logger_missing;     /* before Windows 8: AUTO means the NT Kernel Logger */
    enum live_session_kind active_kind;
    bool seen_callback;             /* this run delivered something: the session was up */
    bool start_failure_reported;    /* start_kind logged and set the reason itself */
    uint32_t os_pointer_size;       /* for records without a pointer-size flag */
    bool session_ended_elsewhere;   /* this run's session was stopped by someone else */
    /* The table has one writer at a time. The consumer thread takes writer_lock at the
     * first event of a buffer and gives it back in the buffer callback; in between, and
     * when no buffer comes at all (an idle host), the housekeeper thread takes it once a
     * tick to retire exited processes and poll the session. Everything from here to the
     * lock is touched only by its holder. */
    SRWLOCK writer_lock;
    bool consumer_holds;            /* consumer thread only */
    HANDLE housekeeper;
    ULONGLONG last_poll_ms;
    ULONGLONG last_housekeep_ms;
    /* Trace time: retention is measured on the clock exit times come from (event
     * timestamps, which ignore wall-clock steps), advanced by the monotonic tick count
     * since the newest event was noticed. */
    uint64_t newest_event_time;
    uint64_t anchor_time;
    ULONGLONG anchor_ms;
    /* The session's own counters are 32-bit and start from 0 with every run: each poll
     * adds the difference from the last one (mod 2^32), so the totals never wrap or go
     * down, across wraps and restarts alike. */
    uint32_t tally_last[TALLY_COUNT];
    uint64_t tally_total[TALLY_COUNT];
    uint32_t buffers_allocated, buffers_free;
    EVENT_TRACE_PROPERTIES *query_properties;     /* reused by the once-a-second poll */

    /* Shared with live_session_stop, under lock. */
    SRWLOCK lock;
    TRACEHANDLE session_handle;     /* 0 while no session of ours runs */
    GUID session_guid;              /* its Wnode.Guid, which ControlTrace wants too */
    TRACEHANDLE consumer_handle;    /* 0 while not consuming */
    struct live_session_status status;
};

/* ---- small helpers ---- */

#define session_log(s, level, ...) collector_log(&(s)->log, level, __VA_ARGS__)

static bool is_stopping(const struct live_session *s)
{
    return InterlockedCompareExchange((volatile LONG *)&s->stopping, 0, 0) != 0;
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void set_status(struct live_session *s, bool up, const char *format, ...)
{
    char reason[sizeof s->status.reason];
    va_list args;
    va_start(args, format);
    vsnprintf(reason, sizeof reason, format, args);
    va_end(args);

    AcquireSRWLockExclusive(&s->lock);
    s->status.up = up;
    memcpy(s->status.reason, reason, sizeof reason);
    ReleaseSRWLockExclusive(&s->lock);
}

static const wchar_t *active_name(const struct live_session *s)
{
    return s->active_kind == LIVE_SESSION_KERNEL_LOGGER ? KERNEL_LOGGER_NAMEW : s->private_name;
}

static const char *kind_text(enum live_session_kind kind)
{
    return kind == LIVE_SESSION_KERNEL_LOGGER ? "NT Kernel Logger" : "system logger session";
}

/* EVENT_TRACE_PROPERTIES followed by room for the logger name and a log file name, which
 * StartTrace reads and ControlTrace(QUERY) writes. */
static EVENT_TRACE_PROPERTIES *properties_alloc(void)
{
    size_t size = sizeof(EVENT_TRACE_PROPERTIES) + 2 * NAME_CHARS * sizeof(wchar_t);
    EVENT_TRACE_PROPERTIES *p = calloc(1, size);
    if (p == NULL)
        return NULL;
    p->Wnode.BufferSize = (ULONG)size;
    p->LoggerNameOffset = sizeof(EVENT_TRACE_PROPERTIES);
    p->LogFileNameOffset = (ULONG)(sizeof(EVENT_TRACE_PROPERTIES) + NAME_CHARS * sizeof(wchar_t));
    return p;
}

static void properties_reset(EVENT_TRACE_PROPERTIES *p)
{
    ULONG size = p->Wnode.BufferSize;
    memset(p, 0, size);
    p->Wnode.BufferSize = size;
    p->LoggerNameOffset = sizeof(EVENT_TRACE_PROPERTIES);
    p->LogFileNameOffset = (ULONG)(sizeof(EVENT_TRACE_PROPERTIES) + NAME_CHARS * sizeof(wchar_t));
}

static const GUID *guid_of_kind(const struct live_session *s, enum live_session_kind kind)
{
    return kind == LIVE_SESSION_KERNEL_LOGGER ? &system_trace_control_guid : &s->private_guid;
}

/* A zeroed block for ControlTrace(STOP/QUERY) naming the session's GUID: "you only need to
 * set the Wnode.BufferSize, Wnode.Guid, LoggerNameOffset, and LogFileNameOffset members". */
static EVENT_TRACE_PROPERTIES *control_properties(const GUID *guid)
{
    EVENT_TRACE_PROPERTIES *p = properties_alloc();
    if (p != NULL)
        p->Wnode.Guid = *guid;
    return p;
}

static void properties_fill(const struct live_session *s, EVENT_TRACE_PROPERTIES *p,
                            enum live_session_kind kind)
{
    properties_reset(p);
    p->Wnode.Flags = WNODE_FLAG_TRACED_GUID;
    p->Wnode.ClientContext = 1;     /* QPC: the finest clock; consumers get FILETIME anyway */
    p->BufferSize = s->buffer_size_kb;
    p->MinimumBuffers = s->min_buffers;
    p->MaximumBuffers = s->max_buffers;
    p->FlushTimer = FLUSH_TIMER_S;
    p->EnableFlags = KERNEL_FLAGS;
    p->LogFileMode = EVENT_TRACE_REAL_TIME_MODE;
    /* No log file: StartTrace wants offset 0 here (EVENT_TRACE_PROPERTIES docs); the room
     * stays allocated for the name ControlTrace writes back. */
    p->LogFileNameOffset = 0;
    p->Wnode.Guid = *guid_of_kind(s, kind);
    if (kind != LIVE_SESSION_KERNEL_LOGGER) {
        /* Windows 8+: a private session that receives SystemTraceProvider events through
         * the EnableFlags above, coexisting with other tools and the NT Kernel Logger. */
        p->LogFileMode |= EVENT_TRACE_SYSTEM_LOGGER_MODE;
        /* No SystemConfig rundown at every start and stop: nothing here reads it, and each
         * record would be counted as an unknown event type. */
        p->EnableFlags |= EVENT_TRACE_FLAG_NO_SYSCONFIG;
    }
}

/* ---- starting the kernel session ---- */

/* Stops a session by name (take-over) using a fresh properties block. */
static ULONG stop_by_name(const wchar_t *name, const GUID *guid)
{
    EVENT_TRACE_PROPERTIES *p = control_properties(guid);
    if (p == NULL)
        return ERROR_NOT_ENOUGH_MEMORY;
    ULONG status = etw_seam.control_trace(0, name, p, EVENT_TRACE_CONTROL_STOP);
    free(p);
    return status;
}

/* StartTrace for one kind, handling a session that already holds the name. On success the
 * handle is stored and the status reason says how the session came up. */
/* Whether the NT Kernel Logger that exists is one an instance of ours left behind: a
 * QUERY by name must show our fingerprint, which other tools' sessions do not share (they
 * enable more flags, write a log file, or use other buffers): exactly our EnableFlags, our
 * buffer size, our flush timer, real-time only and no log file. Only asked when the
 * instance claim is held, so no instance of ours is running it. */
static bool has_our_fingerprint(const struct live_session *s, const EVENT_TRACE_PROPERTIES *q)
{
    const ULONG file_modes = EVENT_TRACE_FILE_MODE_SEQUENTIAL | EVENT_TRACE_FILE_MODE_CIRCULAR |
                             EVENT_TRACE_FILE_MODE_APPEND | EVENT_TRACE_FILE_MODE_NEWFILE;
    bool no_file = q->LogFileNameOffset == 0 ||
                   (q->LogFileNameOffset < q->Wnode.BufferSize &&
                    *(const wchar_t *)((const char *)q + q->LogFileNameOffset) == L'\0');
    return q->EnableFlags == KERNEL_FLAGS && q->BufferSize == s->buffer_size_kb &&
           q->FlushTimer == FLUSH_TIMER_S && (q->LogFileMode & EVENT_TRACE_REAL_TIME_MODE) &&
           !(q->LogFileMode & file_modes) && no_file;
}

static bool kernel_logger_is_ours(struct live_session *s)
{
    EVENT_TRACE_PROPERTIES *q = control_properties(&system_trace_control_guid);
    if (q == NULL)
        return false;
    ULONG status = etw_seam.control_trace(0, KERNEL_LOGGER_NAMEW, q, EVENT_TRACE_CONTROL_QUERY);
    bool ours = status == ERROR_SUCCESS && has_our_fingerprint(s, q);
    free(q);
    return ours;
}

static ULONG start_kind(struct live_session *s, enum live_session_kind kind)
{
    const wchar_t *name = kind == LIVE_SESSION_KERNEL_LOGGER ? KERNEL_LOGGER_NAMEW
                                                             : s->private_name;
    char how[200] = "";
    s->start_failure_reported = false;
    EVENT_TRACE_PROPERTIES *p = properties_alloc();
    if (p == NULL)
        return ERROR_NOT_ENOUGH_MEMORY;

    TRACEHANDLE handle = 0;
    properties_fill(s, p, kind);
    ULONG status = etw_seam.start_trace(&handle, name, p);
    if (status == ERROR_ALREADY_EXISTS) {
        bool ours = kind != LIVE_SESSION_KERNEL_LOGGER;
        if (ours && !s->may_take_over_own) {
            session_log(s, COLLECTOR_LOG_ERROR, "live session: a session named %s exists "
                        "and this instance could not prove it orphaned; not stopping it; "
                        "will retry", s->private_name_utf8);
            set_status(s, false, "a session named %s exists and is not proven orphaned; "
                       "not taking it over", s->private_name_utf8);
            s->start_failure_reported = true;
            free(p);
            return status;
        }
        if (ours) {
            /* Our private name, and we hold the instance claim: no other instance of ours
             * runs, so the session is an orphan of one that died before stopping it. */
            session_log(s, COLLECTOR_LOG_WARN, "live session: a stale session named %s "
                        "exists (left by an instance that ended without stopping it); "
                        "stopping it and starting ours", s->private_name_utf8);
            snprintf(how, sizeof how, "took over a stale session of ours");
        } else if (s->may_take_over_own && kernel_logger_is_ours(s)) {
            session_log(s, COLLECTOR_LOG_WARN, "live session: the NT Kernel Logger was left by "
                        "an instance of ours (our flags, buffers and flush timer, real-time "
                        "only); stopping it and starting ours");
            snprintf(how, sizeof how, "took over an NT Kernel Logger left by us");
        } else if (s->take_over_foreign) {
            session_log(s, COLLECTOR_LOG_WARN, "live session: the NT Kernel Logger is held by "
                        "another tool; stopping it as configured (take over foreign)");
            snprintf(how, sizeof how, "took over the NT Kernel Logger from another tool");
        } else {
            session_log(s, COLLECTOR_LOG_ERROR, "live session: the NT Kernel Logger is held by "
                        "another tool; not stopping it (--session.take-over-foreign does); "
                        "will retry");
            set_status(s, false, "NT Kernel Logger is in use by another tool; not taking it "
                       "over (see --session.take-over-foreign)");
            s->start_failure_reported = true;
            free(p);
            return status;
        }
        ULONG stopped = stop_by_name(name, guid_of_kind(s, kind));
        if (stopped != ERROR_SUCCESS && stopped != ERROR_WMI_INSTANCE_NOT_FOUND) {
            struct win_error_text why = win_error_describe(stopped);
            session_log(s, COLLECTOR_LOG_ERROR, "live session: stopping the existing %s "
                        "failed: %s", kind_text(kind), why.text);
            set_status(s, false, "existing %s could not be stopped: %s", kind_text(kind),
                       why.text);
            s->start_failure_reported = true;
            free(p);
            return stopped;
        }
        /* A stopped session can take a moment to let go of its name and its consumers
         * (ERROR_ACTIVE_CONNECTIONS, or the name still taken): retry briefly. */
        for (unsigned attempt = 0;; attempt++) {
            properties_fill(s, p, kind);
            handle = 0;
            status = etw_seam.start_trace(&handle, name, p);
            bool lingering = status == ERROR_ACTIVE_CONNECTIONS || status == ERROR_ALREADY_EXISTS;
            if (!lingering || attempt + 1 >= TAKE_OVER_RETRIES ||
                etw_seam.wait_for(s->stop_event, TAKE_OVER_RETRY_MS) == WAIT_OBJECT_0)
                break;
        }
        if (status != ERROR_SUCCESS) {
            /* the caller logs other failures; the reason must say what happened here */
            struct win_error_text why = win_error_describe(status);
            session_log(s, COLLECTOR_LOG_ERROR, "live session: %s; starting ours then failed: "
                        "%s", how, why.text);
            set_status(s, false, "%s, but starting ours then failed: %s", how, why.text);
            free(p);
            s->start_failure_reported = true;
            return status;
        }
    }
    free(p);
    if (status != ERROR_SUCCESS)
        return status;

    s->active_kind = kind;
    AcquireSRWLockExclusive(&s->lock);
    s->session_handle = handle;
    s->session_guid = *guid_of_kind(s, kind);
    ReleaseSRWLockExclusive(&s->lock);
    bool named = kind != LIVE_SESSION_KERNEL_LOGGER;
    session_log(s, COLLECTOR_LOG_INFO, "live session: %s%s%s started (%" PRIu32 " KB x %"
                PRIu32 "..%" PRIu32 " buffers)%s%s", kind_text(kind), named ? " " : "",
                named ? s->private_name_utf8 : "", s->buffer_size_kb, s->min_buffers,
                s->max_buffers, how[0] ? "; " : "", how);
    set_status(s, false, "%s started%s%s; waiting for events", kind_text(kind),
               how[0] ? ", " : "", how);
    return ERROR_SUCCESS;
}

static ULONG start_session(struct live_session *s)
{
    enum live_session_kind kind = s->requested_kind;
    if (kind == LIVE_SESSION_AUTO)
        kind = s->system_logger_missing ? LIVE_SESSION_KERNEL_LOGGER : LIVE_SESSION_SYSTEM_LOGGER;

    /* AUTO is decided by the OS version alone, never by an error: an ERROR_INVALID_PARAMETER
     * on Windows 8+ can be transient (a clock-type clash before 1703) and must not move the
     * process to the singleton NT Kernel Logger for good. It is retried like any failure. */
    ULONG status = start_kind(s, kind);
    if (status != ERROR_SUCCESS && !s->start_failure_reported) {
        struct win_error_text why = win_error_describe(status);
        session_log(s, COLLECTOR_LOG_ERROR, "live session: starting the %s failed: %s%s",
                    kind_text(kind), why.text,
                    status == ERROR_ACCESS_DENIED ? "; the kernel session needs administrator "
                                                    "rights (or LocalSystem)" : "");
        set_status(s, false, "starting the %s failed: %s%s", kind_text(kind), why.text,
                   status == ERROR_ACCESS_DENIED ? "; needs administrator rights" : "");
    }
    return status;
}

static void publish_tally(struct live_session *s)
{
    AcquireSRWLockExclusive(&s->lock);
    s->status.events_lost = s->tally_total[TALLY_EVENTS_LOST];
    s->status.buffers_lost = s->tally_total[TALLY_BUFFERS_LOST];
    s->status.buffers_written = s->tally_total[TALLY_BUFFERS_WRITTEN];
    s->status.buffers_allocated = s->buffers_allocated;
    s->status.buffers_free = s->buffers_free;
    ReleaseSRWLockExclusive(&s->lock);
}

/* The session's 32-bit counters from a STOP or QUERY answer, added as differences. */
static void tally_take(struct live_session *s, const EVENT_TRACE_PROPERTIES *p)
{
    const uint32_t raw[TALLY_COUNT] = {
        [TALLY_EVENTS_LOST] = p->EventsLost,
        [TALLY_BUFFERS_LOST] = p->RealTimeBuffersLost,
        [TALLY_BUFFERS_WRITTEN] = p->BuffersWritten,
    };
    for (int i = 0; i < TALLY_COUNT; i++) {
        s->tally_total[i] += (uint32_t)(raw[i] - s->tally_last[i]);
        s->tally_last[i] = raw[i];
    }
    s->buffers_allocated = p->NumberOfBuffers;
    s->buffers_free = p->FreeBuffers;
    publish_tally(s);
}

/* The session is gone already: drop its handle without calling the kernel. */
static void forget_own_session(struct live_session *s)
{
    AcquireSRWLockExclusive(&s->lock);
    s->session_handle = 0;
    ReleaseSRWLockExclusive(&s->lock);
}

/* Whether handle still names the session this run started. A handle outlives its session
 * (the NT Kernel Logger's is always the same value), so before a stop by handle a QUERY
 * must return our logger name, and our GUID where it returns one. Every NT Kernel Logger
 * has the same name and GUID: one another tool started after ours went away must also
 * lack our fingerprint (kernel_logger_is_ours) to be left alone. */
static bool handle_is_ours(struct live_session *s, TRACEHANDLE handle, const GUID *guid)
{
    EVENT_TRACE_PROPERTIES *q = control_properties(guid);
    if (q == NULL)
        return false;
    ULONG status = etw_seam.control_trace(handle, NULL, q, EVENT_TRACE_CONTROL_QUERY);
    static const GUID no_guid;
    /* the name ControlTrace wrote, wherever its offset says, but never past our block */
    const wchar_t *name = L"";
    size_t room = 0;
    if (q->LoggerNameOffset >= sizeof *q && q->LoggerNameOffset < q->Wnode.BufferSize) {
        name = (const wchar_t *)((const char *)q + q->LoggerNameOffset);
        room = (q->Wnode.BufferSize - q->LoggerNameOffset) / sizeof(wchar_t);
    }
    bool ours = status == ERROR_SUCCESS && room > 0 && wcsnlen(name, room) < room &&
                _wcsicmp(name, active_name(s)) == 0 &&
                (IsEqualGUID(&q->Wnode.Guid, guid) || IsEqualGUID(&q->Wnode.Guid, &no_guid));
    if (ours && s->active_kind == LIVE_SESSION_KERNEL_LOGGER && !has_our_fingerprint(s, q)) {
        session_log(s, COLLECTOR_LOG_WARN, "live session: the NT Kernel Logger now running "
                    "is not the one we started (other flags, buffers or a log file); not "
                    "stopping it");
        ours = false;
        status = ERROR_WMI_INSTANCE_NOT_FOUND; /* logged here; not again below */
    }
    if (status == ERROR_SUCCESS && !ours)
        session_log(s, COLLECTOR_LOG_WARN, "live session: our old session handle now names "
                    "another session (%.*ls); not stopping it", (int)(room < 200 ? room : 200),
                    name);
    else if (status != ERROR_SUCCESS && status != ERROR_WMI_INSTANCE_NOT_FOUND)
        session_log(s, COLLECTOR_LOG_WARN, "live session: querying our session before "
                    "stopping it failed: %s; not stopping it", win_error_describe(status).text);
    free(q);
    return ours;
}

/* Stops the session this run started, by its handle so that we never stop a session
 * someone else started under the same name after ours went away, and only once a QUERY
 * says the handle still names ours. */
static void stop_own_session(struct live_session *s, bool consumer_side)
{
    AcquireSRWLockExclusive(&s->lock);
    TRACEHANDLE handle = s->session_handle;
    GUID guid = s->session_guid;
    s->session_handle = 0;
    ReleaseSRWLockExclusive(&s->lock);
    if (handle == 0 || !handle_is_ours(s, handle, &guid))
        return;

    EVENT_TRACE_PROPERTIES *p = control_properties(&guid);
    if (p == NULL)
        return;
    ULONG status = etw_seam.control_trace(handle, NULL, p, EVENT_TRACE_CONTROL_STOP);
    if (status == ERROR_SUCCESS) {
        /* The final counters of the run come with the stop (the consumer thread owns
         * them; live_session_stop's own stop leaves them to the last poll). */
        if (consumer_side)
            tally_take(s, p);
    } else if (status != ERROR_WMI_INSTANCE_NOT_FOUND) {
        session_log(s, COLLECTOR_LOG_WARN, "live session: stopping the session failed: %s",
                    win_error_describe(status).text);
    }
    free(p);
}

/* ---- the consumer callbacks (consumer thread) ---- */

static void mark_up(struct live_session *s)
{
    if (s->seen_callback)
        return;
    s->seen_callback = true;
    set_status(s, true, "%s running, events flowing", kind_text(s->active_kind));
    session_log(s, COLLECTOR_LOG_INFO, "live session: events flowing from the %s",
                kind_text(s->active_kind));
}

static void poll_session(struct live_session *s)
{
    AcquireSRWLockShared(&s->lock);
    TRACEHANDLE handle = s->session_handle;
    GUID guid = s->session_guid;
    ReleaseSRWLockShared(&s->lock);
    if (handle == 0 || s->query_properties == NULL)
        return;
    properties_reset(s->query_properties);
    s->query_properties->Wnode.Guid = guid;
    ULONG status = etw_seam.control_trace(handle, NULL, s->query_properties,
                                          EVENT_TRACE_CONTROL_QUERY);
    if (status != ERROR_SUCCESS) {
        session_log(s, COLLECTOR_LOG_DEBUG, "live session: query failed: %s",
                    win_error_describe(status).text);
        return;
    }
    tally_take(s, s->query_properties);
}

static void writer_enter(struct live_session *s)
{
    if (!s->consumer_holds) {
        AcquireSRWLockExclusive(&s->writer_lock);
        s->consumer_holds = true;
    }
}

static void writer_leave(struct live_session *s)
{
    if (s->consumer_holds) {
        s->consumer_holds = false;
        ReleaseSRWLockExclusive(&s->writer_lock);
    }
}

/* Now, in trace time (see newest_event_time); 0 before any event, when nothing can have
 * exited yet. Under writer_lock. */
static uint64_t trace_now(struct live_session *s, ULONGLONG now_ms)
{
    if (s->newest_event_time != s->anchor_time) {
        s->anchor_time = s->newest_event_time;
        s->anchor_ms = now_ms;
    }
    if (s->anchor_time == 0)
        return 0;
    return s->anchor_time + (uint64_t)(now_ms - s->anchor_ms) * 10000u;
}

/* Retirement and the session poll, each at most at its interval. Under writer_lock. */
static void housekeep(struct live_session *s)
{
    ULONGLONG now = GetTickCount64();
    if (now - s->last_housekeep_ms >= POLL_INTERVAL_MS / 2) {
        s->last_housekeep_ms = now;
        process_table_housekeep(s->table, trace_now(s, now));
    }
    if (now - s->last_poll_ms >= POLL_INTERVAL_MS) {
        s->last_poll_ms = now;
        poll_session(s);
    }
}

static VOID WINAPI on_event(PEVENT_RECORD event)
{
    struct live_session *s = event->UserContext;
    struct trace_record record;
    etw_record_map(event, s->os_pointer_size, &record);
    writer_enter(s);
    process_table_feed(s->table, &record);
    if (record.timestamp > s->newest_event_time)
        s->newest_event_time = record.timestamp;
    mark_up(s); /* up means a kernel event arrived: a buffer alone proves nothing */
}

static ULONG WINAPI on_buffer(PEVENT_TRACE_LOGFILEW logfile)
{
    struct live_session *s = logfile->Context;
    writer_enter(s);
    housekeep(s);
    writer_leave(s);
    return is_stopping(s) ? FALSE : TRUE;
}

/* The idle-host timer: what on_buffer does, when no buffer comes. */
static DWORD WINAPI housekeeper_thread(LPVOID context)
{
    struct live_session *s = context;
    while (WaitForSingleObject(s->stop_event, HOUSEKEEPER_TICK_MS) == WAIT_TIMEOUT) {
        AcquireSRWLockExclusive(&s->writer_lock);
        housekeep(s);
        ReleaseSRWLockExclusive(&s->writer_lock);
    }
    return 0;
}

/* ---- the consumer thread ---- */

/* Opens the real-time consumer and processes events until the session ends.
 * Returns true when the session had been up (delivered something) before it ended. */
static bool consume(struct live_session *s)
{
    EVENT_TRACE_LOGFILEW logfile;
    memset(&logfile, 0, sizeof logfile);
    logfile.LoggerName = (LPWSTR)active_name(s);
    logfile.ProcessTraceMode = PROCESS_TRACE_MODE_REAL_TIME | PROCESS_TRACE_MODE_EVENT_RECORD;
    logfile.EventRecordCallback = on_event;
    logfile.BufferCallback = on_buffer;
    logfile.Context = s;

    s->seen_callback = false;
    AcquireSRWLockExclusive(&s->writer_lock);
    s->last_poll_ms = 0;
    s->last_housekeep_ms = 0;
    ReleaseSRWLockExclusive(&s->writer_lock);
    TRACEHANDLE consumer = etw_seam.open_trace(&logfile);
    if (consumer == INVALID_PROCESSTRACE_HANDLE) {
        struct win_error_text why = win_error_describe(GetLastError());
        session_log(s, COLLECTOR_LOG_ERROR, "live session: opening the real-time consumer "
                    "failed: %s", why.text);
        set_status(s, false, "opening the real-time consumer failed: %s", why.text);
        return false;
    }
    AcquireSRWLockExclusive(&s->lock);
    s->consumer_handle = consumer;
    ReleaseSRWLockExclusive(&s->lock);
    if (is_stopping(s)) {
        /* live_session_stop ran between open and publish: it could not close it. */
        AcquireSRWLockExclusive(&s->lock);
        s->consumer_handle = 0;
        ReleaseSRWLockExclusive(&s->lock);
        etw_seam.close_trace(consumer);
        return false;
    }

    ULONG status = etw_seam.process_trace(&consumer, 1, NULL, NULL);
    writer_leave(s); /* the last buffer may have ended without its callback */
    /* ProcessTrace returns ERROR_SUCCESS to a real-time consumer when the controller
     * stopped the session: then the session handle is stale, and stopping by it could stop
     * a session another tool has started since (the NT Kernel Logger's handle is always
     * the same), which we must never do unasked. */
    /* ERROR_WMI_INSTANCE_NOT_FOUND (seen from Windows 11) and ERROR_INVALID_HANDLE say the
     * same: the session is gone. */
    s->session_ended_elsewhere = (status == ERROR_SUCCESS ||
                                  status == ERROR_WMI_INSTANCE_NOT_FOUND ||
                                  status == ERROR_INVALID_HANDLE) && !is_stopping(s);

    AcquireSRWLockExclusive(&s->lock);
    TRACEHANDLE to_close = s->consumer_handle;   /* 0 when live_session_stop closed it */
    s->consumer_handle = 0;
    ReleaseSRWLockExclusive(&s->lock);
    if (to_close != 0) {
        ULONG closed = etw_seam.close_trace(to_close);
        if (closed != ERROR_SUCCESS && closed != ERROR_CTX_CLOSE_PENDING) {
            session_log(s, COLLECTOR_LOG_DEBUG, "live session: CloseTrace: %s",
                        win_error_describe(closed).text);
        }
    }
    if (is_stopping(s))
        return s->seen_callback;

    struct win_error_text why = win_error_describe(status);
    if (s->seen_callback) {
        session_log(s, COLLECTOR_LOG_WARN, "live session: the session stopped underneath us "
                    "(ProcessTrace returned %s)", why.text);
        set_status(s, false, "session stopped underneath us (ProcessTrace returned %s); "
                   "restarting", why.text);
    } else {
        session_log(s, COLLECTOR_LOG_ERROR, "live session: the real-time consumer failed "
                    "before any event (ProcessTrace returned %s)", why.text);
        set_status(s, false, "real-time consumer failed: ProcessTrace returned %s", why.text);
    }
    return s->seen_callback;
}

/* Waits for the stop request up to ms; true when stopping. */
static bool backoff_wait(struct live_session *s, DWORD ms)
{
    DWORD waited = etw_seam.wait_for(s->stop_event, ms);
    return waited == WAIT_OBJECT_0 || is_stopping(s);
}

static void append_retry(struct live_session *s, DWORD delay_ms)
{
    AcquireSRWLockExclusive(&s->lock);
    size_t used = strlen(s->status.reason);
    if (used + 1 < sizeof s->status.reason)
        snprintf(s->status.reason + used, sizeof s->status.reason - used,
                 "; retrying in %lu s", (unsigned long)(delay_ms / 1000u));
    ReleaseSRWLockExclusive(&s->lock);
}

static DWORD WINAPI consumer_thread(LPVOID context)
{
    struct live_session *s = context;
    DWORD delay_ms = BACKOFF_FIRST_MS;

    while (!is_stopping(s)) {
        bool was_up = false;
        ULONGLONG began = GetTickCount64();
        if (start_session(s) == ERROR_SUCCESS) {
            s->session_ended_elsewhere = false;
            was_up = consume(s);
            /* the tally is the housekeeper's too (it polls): change it as the writer */
            AcquireSRWLockExclusive(&s->writer_lock);
            if (s->session_ended_elsewhere)
                forget_own_session(s);
            else
                stop_own_session(s, true);
            /* The next run's counters start from 0; the totals carry on. */
            memset(s->tally_last, 0, sizeof s->tally_last);
            s->buffers_allocated = s->buffers_free = 0;
            publish_tally(s);
            ReleaseSRWLockExclusive(&s->writer_lock);
        }
        if (is_stopping(s))
            break;
        if (was_up) {
            AcquireSRWLockExclusive(&s->lock);
            s->status.restarts++;
            ReleaseSRWLockExclusive(&s->lock);
            if (GetTickCount64() - began >= HEALTHY_RUN_MS)
                delay_ms = BACKOFF_FIRST_MS;
        }
        append_retry(s, delay_ms);
        if (backoff_wait(s, delay_ms))
            break;
        delay_ms = delay_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : delay_ms * 2;
    }
    set_status(s, false, "stopped");
    return 0;
}

/* ---- the interface ---- */

/* Buffer counts: what was asked for, else scaled with the processors (live_session.h). */
static void size_buffers(struct live_session *s, const struct live_session_config *c,
                         DWORD processors)
{
    uint32_t auto_min = 2 * (uint32_t)(processors ? processors : 1) + 8;
    if (auto_min < LIVE_SESSION_AUTO_MIN_BUFFERS_FLOOR)
        auto_min = LIVE_SESSION_AUTO_MIN_BUFFERS_FLOOR;
    if (auto_min > LIVE_SESSION_AUTO_MIN_BUFFERS_CAP)
        auto_min = LIVE_SESSION_AUTO_MIN_BUFFERS_CAP;
    s->min_buffers = c->min_buffers ? c->min_buffers : auto_min;
    if (c->max_buffers == 0) {
        uint32_t headroom = s->min_buffers / 2;
        if (headroom < LIVE_SESSION_AUTO_HEADROOM_FLOOR)
            headroom = LIVE_SESSION_AUTO_HEADROOM_FLOOR;
        s->max_buffers = s->min_buffers + headroom;
    } else {
        s->max_buffers = c->max_buffers;
        if (c->min_buffers == 0 && s->min_buffers > s->max_buffers)
            s->min_buffers = s->max_buffers; /* an explicit maximum wins over auto */
    }
    if (s->max_buffers < s->min_buffers)
        s->max_buffers = s->min_buffers;
}

static GUID guid_for_name(const wchar_t *name)
{
    GUID guid = private_session_guid_base;
    uint32_t hash = 2166136261u;   /* FNV-1a */
    for (const wchar_t *c = name; *c; c++) {
        hash ^= (uint32_t)*c;
        hash *= 16777619u;
    }
    guid.Data1 ^= hash;
    return guid;
}

/* A session object with its settings and names, no threads yet; NULL with err. */
static struct live_session *session_new(struct process_table *table,
                                        const struct live_session_config *config,
                                        const struct live_session_claim *claim,
                                        char *err, size_t err_size)
{
    const char *name = config->session_name != NULL && config->session_name[0] != '\0'
                           ? config->session_name : LIVE_SESSION_DEFAULT_NAME;
    struct live_session *s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(err, err_size, "live session: out of memory");
        return NULL;
    }
    s->table = table;
    s->requested_kind = config->kind;
    /* Before Windows 8 the system logger mode does not exist, and StartTrace is not
     * documented to refuse the unknown mode bit: AUTO must not rely on an error to fall
     * back. */
    s->system_logger_missing = !etw_seam.system_logger_available();
    /* Not the logfile header's PointerSize: for a real-time session on x64 it can say 4
     * (PerfView's TraceEvent corrects it the same way), and the kernel is the OS's. */
    s->os_pointer_size = etw_seam.os_pointer_size();
    s->take_over_foreign = config->take_over_foreign;
    s->may_take_over_own = live_session_claim_state(claim) != LIVE_CLAIM_UNPROVEN;
    s->log = config->log;
    s->stop_timeout_ms = config->stop_timeout_ms ? config->stop_timeout_ms
                                                 : LIVE_SESSION_DEFAULT_STOP_TIMEOUT_MS;
    s->buffer_size_kb = config->buffer_size_kb ? config->buffer_size_kb
                                               : LIVE_SESSION_DEFAULT_BUFFER_KB;
    size_buffers(s, config, etw_seam.processor_count());
    InitializeSRWLock(&s->lock);
    InitializeSRWLock(&s->writer_lock);
    s->status.min_buffers = s->min_buffers;
    s->status.max_buffers = s->max_buffers;
    set_status(s, false, "starting");

    int chars = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, name, -1, s->private_name,
                                    (int)ARRAY_SIZE(s->private_name));
    if (chars <= 0) {
        snprintf(err, err_size, "live session: session name \"%s\" is not valid UTF-8 or "
                 "longer than %u characters", name,
                 (unsigned)(ARRAY_SIZE(s->private_name) - 1));
        free(s);
        return NULL;
    }
    snprintf(s->private_name_utf8, sizeof s->private_name_utf8, "%s", name);
    s->private_guid = guid_for_name(s->private_name);
    s->query_properties = properties_alloc();
    if (s->query_properties == NULL) {
        snprintf(err, err_size, "live session: out of memory");
        free(s);
        return NULL;
    }
    return s;
}

bool live_session_stop_leftover(const struct live_session_config *config, char *what,
                                size_t what_size)
{
    snprintf(what, what_size, "no session of ours was left running");
    char err[256];
    struct live_session_claim *claim = live_session_claim(config, err, sizeof err);
    if (claim == NULL) {
        snprintf(what, what_size, "%s; its session was left alone", err);
        return false;
    }
    struct live_session *s = NULL;
    bool stopped = false;
    if (live_session_claim_state(claim) == LIVE_CLAIM_UNPROVEN) {
        snprintf(what, what_size, "cannot prove that no instance runs; sessions left alone");
    } else if ((s = session_new(NULL, config, claim, err, sizeof err)) == NULL) {
        snprintf(what, what_size, "%s", err);
    } else {
        enum live_session_kind kind = s->requested_kind;
        if (kind == LIVE_SESSION_AUTO)
            kind = s->system_logger_missing ? LIVE_SESSION_KERNEL_LOGGER
                                            : LIVE_SESSION_SYSTEM_LOGGER;
        /* Our private name is ours alone; the NT Kernel Logger only with our fingerprint. */
        bool ours = kind == LIVE_SESSION_KERNEL_LOGGER ? kernel_logger_is_ours(s) : true;
        const wchar_t *name = kind == LIVE_SESSION_KERNEL_LOGGER ? KERNEL_LOGGER_NAMEW
                                                                 : s->private_name;
        ULONG status = ours ? stop_by_name(name, guid_of_kind(s, kind))
                            : ERROR_WMI_INSTANCE_NOT_FOUND;
        if (status == ERROR_SUCCESS) {
            snprintf(what, what_size, "stopped a leftover %s%s%s", kind_text(kind),
                     kind == LIVE_SESSION_KERNEL_LOGGER ? "" : " ",
                     kind == LIVE_SESSION_KERNEL_LOGGER ? "" : s->private_name_utf8);
            stopped = true;
        } else if (status != ERROR_WMI_INSTANCE_NOT_FOUND) {
            snprintf(what, what_size, "stopping a leftover %s failed: %s", kind_text(kind),
                     win_error_describe(status).text);
        }
        free(s->query_properties);
        free(s);
    }
    live_session_release(claim);
    return stopped;
}

struct live_session *live_session_start(struct process_table *table,
                                        const struct live_session_config *config,
                                        const struct live_session_claim *claim,
                                        char *err, size_t err_size)
{
    struct live_session *s = session_new(table, config, claim, err, err_size);
    if (s == NULL)
        return NULL;
    const char *failed = NULL;
    if ((s->stop_event = CreateEventW(NULL, TRUE, FALSE, NULL)) == NULL)
        failed = "cannot create its stop event";
    else if ((s->housekeeper = CreateThread(NULL, 0, housekeeper_thread, s, 0, NULL)) == NULL)
        failed = "cannot create the housekeeping thread";
    else if ((s->thread = CreateThread(NULL, 0, consumer_thread, s, 0, NULL)) == NULL)
        failed = "cannot create the consumer thread";
    if (failed == NULL)
        return s;
    snprintf(err, err_size, "live session: %s: %s", failed,
             win_error_describe(GetLastError()).text);
    if (s->housekeeper != NULL) {
        SetEvent(s->stop_event);
        WaitForSingleObject(s->housekeeper, INFINITE); /* it only waits on stop_event */
        CloseHandle(s->housekeeper);
    }
    if (s->stop_event != NULL)
        CloseHandle(s->stop_event);
    free(s->query_properties);
    free(s);
    return NULL;
}

void live_session_status(struct live_session *session, struct live_session_status *status)
{
    AcquireSRWLockShared(&session->lock);
    *status = session->status;
    ReleaseSRWLockShared(&session->lock);
}

bool live_session_stop(struct live_session *session)
{
    if (session == NULL)
        return true;
    InterlockedExchange(&session->stopping, 1);
    if (!SetEvent(session->stop_event)) {
        session_log(session, COLLECTOR_LOG_WARN, "live session: SetEvent: %s",
                    win_error_describe(GetLastError()).text);
    }
    /* Stopping the kernel session ends ProcessTrace; closing the consumer handle ends it
     * even when the stop did not reach the kernel (a session someone else stopped). */
    stop_own_session(session, false);
    AcquireSRWLockExclusive(&session->lock);
    TRACEHANDLE consumer = session->consumer_handle;
    session->consumer_handle = 0;
    ReleaseSRWLockExclusive(&session->lock);
    if (consumer != 0)
        etw_seam.close_trace(consumer);

    DWORD limit = session->stop_timeout_ms;
    DWORD waited = WaitForSingleObject(session->thread, limit);
    if (waited == WAIT_TIMEOUT) {
        /* ProcessTrace did not return although its session was stopped and its handle
         * closed. The thread may still write the table, so neither is freed: the caller
         * leaves them to the end of the process, which is near. */
        session_log(session, COLLECTOR_LOG_ERROR, "live session: the consumer thread did not "
                    "end within %lu ms of the stop; leaving it to the end of the process",
                    (unsigned long)limit);
        return false;
    }
    if (waited != WAIT_OBJECT_0) {
        session_log(session, COLLECTOR_LOG_ERROR, "live session: joining the consumer thread: "
                    "%s", win_error_describe(GetLastError()).text);
        return false;
    }
    /* The housekeeper saw stop_event at its next tick; it can only be held up by the
     * writer lock, which the consumer, now ended, no longer holds. */
    if (WaitForSingleObject(session->housekeeper, HOUSEKEEPER_JOIN_MS) != WAIT_OBJECT_0) {
        session_log(session, COLLECTOR_LOG_ERROR, "live session: the housekeeping thread did "
                    "not end; leaving it to the end of the process");
        return false;
    }
    CloseHandle(session->housekeeper);
    CloseHandle(session->thread);
    CloseHandle(session->stop_event);
    session_log(session, COLLECTOR_LOG_INFO, "live session: stopped (%" PRIu64 " restarts, %"
                PRIu64 " events lost, %" PRIu64 " buffers lost)", session->status.restarts,
                session->status.events_lost, session->status.buffers_lost);
    free(session->query_properties);
    free(session);
    return true;
}
