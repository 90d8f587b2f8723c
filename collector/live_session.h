/* The live kernel trace session: a consumer thread that is the table's single writer.
 * Implemented by live_session_win.c on Windows; elsewhere live_session_posix.c refuses
 * with a clear reason so the rest of the program stays the same on every OS. */
#ifndef TCPIP_EXPORTER_LIVE_SESSION_H
#define TCPIP_EXPORTER_LIVE_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include "collector_log.h"
#include "process_table.h"

enum live_session_kind {
    LIVE_SESSION_AUTO = 0,      /* private system logger where available, else NT Kernel Logger */
    LIVE_SESSION_SYSTEM_LOGGER, /* Windows 8+: EVENT_TRACE_SYSTEM_LOGGER_MODE, our own name */
    LIVE_SESSION_KERNEL_LOGGER, /* the singleton "NT Kernel Logger" */
};

/* What a zero or NULL in live_session_config means; plain literals because
 * service/config.c turns them into the flags' default text. */
#define LIVE_SESSION_DEFAULT_NAME "tcpip_exporter"
/* 64 KB: the documentation keeps 256 KB and more for diagnostic investigations. */
#define LIVE_SESSION_DEFAULT_BUFFER_KB 64
/* Buffer counts of 0 ("auto") scale with the logical processors, since ETW reserves two
 * per processor anyway: minimum 2 per processor + 8, within [16, 256]; maximum the
 * minimum plus half of it (at least 16) as headroom for bursts. */
#define LIVE_SESSION_AUTO_MIN_BUFFERS_FLOOR 16
#define LIVE_SESSION_AUTO_MIN_BUFFERS_CAP 256
#define LIVE_SESSION_AUTO_HEADROOM_FLOOR 16
/* Within the SCM's stop wait hint: a stop must end even if ProcessTrace never returns. */
#define LIVE_SESSION_DEFAULT_STOP_TIMEOUT_MS 15000

struct live_session_config {
    enum live_session_kind kind;
    const char *session_name;   /* private session name; NULL = LIVE_SESSION_DEFAULT_NAME */
    bool take_over_foreign;     /* stop a foreign NT Kernel Logger holding the name */
    uint32_t buffer_size_kb;    /* 0 = LIVE_SESSION_DEFAULT_BUFFER_KB */
    uint32_t min_buffers;       /* 0 = auto, from the processor count */
    uint32_t max_buffers;       /* 0 = auto: min_buffers plus headroom */
    struct collector_log log;   /* where the session reports starts, stops and failures */
    uint32_t stop_timeout_ms;   /* 0 = LIVE_SESSION_DEFAULT_STOP_TIMEOUT_MS */
};

/* Readable from any thread at any time. */
struct live_session_status {
    bool up;                    /* events are flowing from the kernel */
    char reason[256];           /* why not up, or how it came up (e.g. "took over stale session") */
    uint64_t restarts;          /* sessions restarted after they stopped underneath us */
    uint64_t events_lost;       /* session EventsLost, polled */
    uint64_t buffers_lost;      /* session RealTimeBuffersLost, polled */
    uint64_t buffers_written;   /* session BuffersWritten, polled */
    uint32_t buffers_allocated; /* gauge: NumberOfBuffers of the running session */
    uint32_t buffers_free;      /* gauge: FreeBuffers of the running session */
    uint32_t min_buffers, max_buffers; /* what the session was started with */
};

/* Proof that this process is the only instance of ours using a session: on Windows a
 * named mutex, Global\tcpip_exporter.<SESSION>, held from the claim until release. Only
 * a claim that is held lets the session stop an existing session of that name, which can
 * then be nothing but an orphan of an instance that died (the kernel releases a dead
 * holder's mutex). <session> is the private session's name, or "NT Kernel Logger" when
 * that is the session the configuration resolves to. */
struct live_session_claim;

enum live_claim_state {
    LIVE_CLAIM_HELD,         /* ours; no instance held it before */
    LIVE_CLAIM_ORPHANED,     /* ours; the previous holder died without releasing it */
    LIVE_CLAIM_UNPROVEN,     /* the mutex could not be made: run, but never take over */
};

/* NULL with one line in err when another running instance holds the claim: the caller
 * must not start (and must leave the other instance's session alone). */
struct live_session_claim *live_session_claim(const struct live_session_config *config,
                                              char *err, size_t err_size);
enum live_claim_state live_session_claim_state(const struct live_session_claim *claim);
void live_session_release(struct live_session_claim *claim);

struct live_session;

/* Starts the session and its consumer thread. claim (may be NULL: never take over) must
 * stay held until live_session_stop has returned. Failure to reach the kernel is not fatal:
 * the session keeps retrying with back-off and reports why in its status. Returns NULL
 * (with a reason in err) only when the live source cannot exist at all on this system. */
struct live_session *live_session_start(struct process_table *table,
                                        const struct live_session_config *config,
                                        const struct live_session_claim *claim,
                                        char *err, size_t err_size);
void live_session_status(struct live_session *session, struct live_session_status *status);
/* For `uninstall`: stops the session config names if an instance of ours left it running
 * (the claim held, so no instance is; the NT Kernel Logger only with our fingerprint).
 * True when one was stopped; what says what happened, in one phrase. */
bool live_session_stop_leftover(const struct live_session_config *config, char *what,
                                size_t what_size);

/* Stops the kernel session and joins the consumer thread, waiting at most the stop
 * timeout. False when the thread did not end in time: it may still write the table, so
 * the caller must leave the table allocated (the process is about to end). */
bool live_session_stop(struct live_session *session);

#endif
