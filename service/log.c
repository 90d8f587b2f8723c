/* Levelled logging. The console sink writes one line per message to stderr with a UTC
 * timestamp; the service installs another sink (the Event Log) at start. Any thread may
 * log: each message is formatted into a local buffer and written with one call so lines
 * from different threads never interleave. Control characters are escaped once, here, for
 * every sink: messages carry flag values, file names and trace contents. */
#include "log.h"
#include "../collector/bytes.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LOG_LINE_MAX 1024

static atomic_int current_level = LOG_INFO;
static _Atomic(log_sink_fn) current_sink; /* zero: the stderr sink */

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_set_level(enum log_level level)
{
    atomic_store(&current_level, (int)level);
}

void log_set_sink(log_sink_fn sink)
{
    atomic_store(&current_sink, sink);
}

int log_level_parse(const char *text)
{
    for (int i = 0; i < (int)ARRAY_SIZE(level_names); i++) {
        if (strcmp(text, level_names[i]) == 0)
            return i;
    }
    return -1;
}

/* The escape of one byte: "\n" and the like, "\x1b", or the byte itself. */
static size_t escape_byte(unsigned char c, char out[5])
{
    static const char short_forms[] = { ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't' };
    if (c >= 0x20 && c != 0x7f) {
        out[0] = (char)c;
        return 1;
    }
    if (c < sizeof short_forms && short_forms[c] != 0) {
        out[0] = '\\';
        out[1] = short_forms[c];
        return 2;
    }
    snprintf(out, 5, "\\x%02x", c);
    return 4;
}

char *log_escape(const char *text, char *out, size_t out_size)
{
    if (out_size == 0)
        return out;
    size_t used = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        char piece[5];
        size_t n = escape_byte(*p, piece);
        if (used + n >= out_size)
            break; /* cut at a whole escape, never inside one */
        memcpy(out + used, piece, n);
        used += n;
    }
    out[used] = '\0';
    return out;
}

/* "2026-11-26T01:15:41.123Z": UTC so lines from machines in different zones compare. */
static void format_timestamp(char *out, size_t size)
{
    struct timespec now;
    struct tm utc;
    /* clock_gettime, not C11 timespec_get: mingw's msvcrt runtime lacks the latter */
    if (clock_gettime(CLOCK_REALTIME, &now) != 0) {
        snprintf(out, size, "-");
        return;
    }
    time_t seconds = now.tv_sec;
    if (gmtime_r(&seconds, &utc) == NULL) {
        snprintf(out, size, "-");
        return;
    }
    size_t n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &utc);
    snprintf(out + n, size - n, ".%03dZ", (int)(now.tv_nsec / 1000000));
}

static void stderr_sink(enum log_level level, const char *message)
{
    char stamp[40];
    char line[LOG_LINE_MAX + 64];
    format_timestamp(stamp, sizeof stamp);
    int n = snprintf(line, sizeof line, "%s %-5s %s\n", stamp, level_names[level], message);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    fwrite(line, 1, len, stderr);
    fflush(stderr);
}

void log_msg(enum log_level level, const char *format, ...)
{
    if ((int)level < LOG_ERROR || (int)level > LOG_DEBUG)
        level = LOG_ERROR;
    if ((int)level > atomic_load(&current_level))
        return;

    char message[LOG_LINE_MAX];
    va_list args;
    va_start(args, format);
    int n = vsnprintf(message, sizeof message, format, args);
    va_end(args);
    if (n < 0)
        snprintf(message, sizeof message, "(unformattable log message: %s)", format);
    else if ((size_t)n >= sizeof message)
        memcpy(message + sizeof message - 4, "...", 4); /* say it was cut, keep the NUL */

    char escaped[LOG_LINE_MAX];
    log_escape(message, escaped, sizeof escaped);
    log_sink_fn sink = atomic_load(&current_sink);
    if (sink != NULL)
        sink(level, escaped);
    else
        stderr_sink(level, escaped);
}
