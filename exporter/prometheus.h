/* Rendering the table as Prometheus text format 0.0.4 or OpenMetrics 1.0.0. */
#ifndef TCPIP_EXPORTER_PROMETHEUS_H
#define TCPIP_EXPORTER_PROMETHEUS_H

#include <stdbool.h>
#include <stdint.h>
#include "http_counters.h"
#include "render_types.h"
#include "text_buffer.h"

enum metrics_format { METRICS_FORMAT_TEXT, METRICS_FORMAT_OPENMETRICS };

#define METRICS_CONTENT_TYPE_TEXT "text/plain; version=0.0.4; charset=utf-8"
#define METRICS_CONTENT_TYPE_OPENMETRICS \
    "application/openmetrics-text; version=1.0.0; charset=utf-8"

/* What the exporter knows about itself, beyond the table. */
struct exporter_self {
    const char *version;
    bool has_source;                 /* false: no source attached (tests) */
    struct source_info source;
    uint64_t scrapes;                /* /metrics requests received so far */
    double last_render_seconds;      /* the previous render's duration */
    struct http_counters http;       /* the serving server's own figures, when present */
};

/* Holds the per-render scratch (row snapshot, label text) so that repeated renders reuse
 * their memory. One renderer serves one render at a time. */
struct metrics_renderer;

struct metrics_renderer *metrics_renderer_create(void);
void metrics_renderer_destroy(struct metrics_renderer *renderer);

/* Replaces out's contents with the exposition. False when memory ran out. */
bool metrics_render(struct metrics_renderer *renderer, const struct process_table *table,
                    const struct render_options *options, const struct exporter_self *self,
                    enum metrics_format format, struct text_buffer *out);

#endif
