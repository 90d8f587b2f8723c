/* One render of /metrics shared by every scrape that arrives while it is fresh.
 *
 * Per format (text 0.0.4, OpenMetrics) the latest render and its gzip form are kept as
 * reference-counted bodies. A scrape is given the latest body when it is at most
 * max_age_s old or was made after the scrape arrived; otherwise one scrape renders while
 * the others of that format wait for it, so sixteen concurrent clients cost one render and
 * one compression. Bodies are charged to the response budget: when a new render would not
 * fit, the latest one is served as it is (older than max_age_s, counted as stale) rather
 * than refusing the scrape; only when there is none at all does the caller get nothing. */
#ifndef TCPIP_EXPORTER_SHARED_RENDER_H
#define TCPIP_EXPORTER_SHARED_RENDER_H

#include <stdbool.h>
#include <stdint.h>
#include "prometheus.h"
#include "response_body.h"

struct shared_render_config {
    struct response_budget *budget;
    double max_age_s;
    /* Replaces out's contents with a render of the format; false when memory ran out.
     * Called by one thread at a time. */
    bool (*render)(void *context, enum metrics_format format, struct text_buffer *out);
    void *context;
    double (*now)(void);             /* monotonic seconds; NULL = the real clock */
};

enum shared_render_outcome {
    SHARED_RENDER_JOINED,     /* an existing fresh body */
    SHARED_RENDER_MADE,       /* rendered (or compressed) for this request */
    SHARED_RENDER_STALE,      /* the budget had no room for a new render: the latest one */
    SHARED_RENDER_NO_ROOM,    /* no room and nothing rendered before: no body */
    SHARED_RENDER_FAILED,     /* out of memory while rendering: no body */
};

struct shared_render_result {
    struct response_body *body;   /* one reference for the caller; NULL: see outcome */
    bool gzip;                    /* body is the gzip form (it may not be, when asked) */
    enum shared_render_outcome outcome;
};

struct shared_render_counts {
    uint64_t renders;
    uint64_t compressions;
    uint64_t joined;
    uint64_t stale;
};

struct shared_render;

struct shared_render *shared_render_create(const struct shared_render_config *config);
/* Drops the kept bodies; responses still holding one keep it alive until they end. */
void shared_render_destroy(struct shared_render *shared);

struct shared_render_result shared_render_get(struct shared_render *shared,
                                              enum metrics_format format, bool gzip);
void shared_render_counts(struct shared_render *shared, struct shared_render_counts *out);

#endif
