/* Windows error codes as text, for log lines and error messages. Windows only: the live
 * session (collector) and the service (scm.c, eventlog.c) both report Win32 errors. */
#ifndef TCPIP_EXPORTER_WIN_ERROR_H
#define TCPIP_EXPORTER_WIN_ERROR_H

#include <stdbool.h>
#include <stddef.h>

/* The system's message for code, in UTF-8, without the trailing period and line break.
 * When the system has none, writes "error <code>" and returns false. */
bool win_error_message(unsigned long code, char *text, size_t size);

/* "code (message)", or "code" alone when the system has no message for it. */
void win_error_text(unsigned long code, char *text, size_t size);

#endif
