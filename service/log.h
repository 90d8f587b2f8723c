/* Levelled logging: stderr in the console, the Windows Event Log when running as a
 * service (scm_win.c installs that sink). */
#ifndef TCPIP_EXPORTER_LOG_H
#define TCPIP_EXPORTER_LOG_H

#include <stddef.h>

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

typedef void (*log_sink_fn)(enum log_level level, const char *message);

void log_set_level(enum log_level level);
/* Copies text into out (always NUL-terminated, cut to fit) with every control byte
 * (below 0x20, and 0x7f) written as an escape: \n, \r, \t or \xNN. A newline in a flag
 * or config value then cannot split a one-line message, and no terminal escape sequence
 * reaches the console or the Event Log. Bytes from 0x80 up (UTF-8) are kept. Returns out. */
char *log_escape(const char *text, char *out, size_t out_size);

/* NULL restores the stderr sink. */
void log_set_sink(log_sink_fn sink);
/* Parses "error", "warn", "info", "debug"; returns -1 when it is none of them. */
int log_level_parse(const char *text);

#if defined(__MINGW32__)
/* mingw builds use __USE_MINGW_ANSI_STDIO=1: check formats as C99 (%zu, %llu), not msvcrt */
__attribute__((format(gnu_printf, 2, 3)))
#elif defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void log_msg(enum log_level level, const char *format, ...);

#endif
