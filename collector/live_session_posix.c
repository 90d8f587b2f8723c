/* The live kernel session exists only on Windows. Elsewhere it refuses to start with a
 * reason that tells the user what to do instead, and the rest of the program (HTTP server,
 * self-metrics saying the source is down) runs unchanged. */
#include "live_session.h"

#include <stdio.h>
#include <string.h>

#define UNSUPPORTED_REASON \
    "the live kernel session needs Windows; use --etl FILE to replay a recorded trace"

struct live_session *live_session_start(struct process_table *table,
                                        const struct live_session_config *config,
                                        char *err, size_t err_size)
{
    (void)table;
    (void)config;
    if (err_size > 0)
        snprintf(err, err_size, "%s", UNSUPPORTED_REASON);
    return NULL;
}

void live_session_status(struct live_session *session, struct live_session_status *status)
{
    (void)session;
    memset(status, 0, sizeof *status);
    snprintf(status->reason, sizeof status->reason, "%s", UNSUPPORTED_REASON);
}

void live_session_stop(struct live_session *session)
{
    (void)session; /* live_session_start never returns one here */
}
