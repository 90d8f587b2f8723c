/* collector/collector_log.h: format once, hand the line to the caller's function. */
#include "collector_log.h"

#include <stdarg.h>
#include <stdio.h>

void collector_log(const struct collector_log *log, enum collector_log_level level,
                   const char *format, ...)
{
    if (log == NULL || log->fn == NULL)
        return;
    char line[COLLECTOR_LOG_LINE];
    va_list args;
    va_start(args, format);
    vsnprintf(line, sizeof line, format, args);
    va_end(args);
    log->fn(log->context, level, line);
}
