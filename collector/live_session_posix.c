/* The live kernel session exists only on Windows. Elsewhere it refuses to start with a
 * reason that tells the user what to do instead, and the rest of the program (HTTP server,
 * self-metrics saying the source is down) runs unchanged. */
#include "live_session.h"

#include <stdio.h>
#include <string.h>

#define UNSUPPORTED_REASON \
    "the live kernel session needs Windows; use --etl FILE to replay a recorded trace"

/* No kernel session can exist here, so there is nothing to share: every claim is held. */
struct live_session_claim {
    int unused;
};

struct live_session_claim *live_session_claim(const struct live_session_config *config,
                                              char *err, size_t err_size)
{
    static struct live_session_claim only;
    (void)config;
    (void)err;
    (void)err_size;
    return &only;
}

enum live_claim_state live_session_claim_state(const struct live_session_claim *claim)
{
    (void)claim;
    return LIVE_CLAIM_HELD;
}

void live_session_release(struct live_session_claim *claim)
{
    (void)claim;
}

struct live_session *live_session_start(struct process_table *table,
                                        const struct live_session_config *config,
                                        const struct live_session_claim *claim,
                                        char *err, size_t err_size)
{
    (void)table;
    (void)config;
    (void)claim;
    if (err_size > 0)
        snprintf(err, err_size, "%s", UNSUPPORTED_REASON);
    return NULL;
}

bool live_session_stop_leftover(const struct live_session_config *config, char *what,
                                size_t what_size)
{
    (void)config;
    snprintf(what, what_size, "no kernel session exists on this system");
    return false;
}

void live_session_status(struct live_session *session, struct live_session_status *status)
{
    (void)session;
    memset(status, 0, sizeof *status);
    snprintf(status->reason, sizeof status->reason, "%s", UNSUPPORTED_REASON);
}

bool live_session_stop(struct live_session *session)
{
    (void)session; /* live_session_start never returns one here */
    return true;
}
