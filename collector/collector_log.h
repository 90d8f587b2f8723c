/* How the collector reports what it sees without knowing where reports go. The collector
 * is the bottom layer: it never includes the service's logger. Whoever starts a part that
 * has something to say (the live session) hands it a collector_log, and the service bridges
 * that to its own sinks (stderr, the Event Log). A NULL function drops the lines. */
#ifndef TCPIP_EXPORTER_COLLECTOR_LOG_H
#define TCPIP_EXPORTER_COLLECTOR_LOG_H

/* Same order and values as the service's log levels, so a bridge is a cast (app.c checks). */
enum collector_log_level {
    COLLECTOR_LOG_ERROR = 0,
    COLLECTOR_LOG_WARN = 1,
    COLLECTOR_LOG_INFO = 2,
    COLLECTOR_LOG_DEBUG = 3,
};

typedef void (*collector_log_fn)(void *context, enum collector_log_level level,
                                 const char *message);

struct collector_log {
    collector_log_fn fn;   /* NULL: the lines are dropped */
    void *context;
};

/* One line, formatted into a buffer of COLLECTOR_LOG_LINE bytes (longer lines are cut). */
#define COLLECTOR_LOG_LINE 512

#if defined(__MINGW32__)
__attribute__((format(gnu_printf, 3, 4))) /* C99 formats: __USE_MINGW_ANSI_STDIO=1 */
#elif defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void collector_log(const struct collector_log *log, enum collector_log_level level,
                   const char *format, ...);

#endif
