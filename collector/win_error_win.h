/* Windows error codes as text, for log lines and error messages: the one helper the live
 * session (collector) and the service (scm_win.c, eventlog_win.c) share, with one size.
 *
 *     log_msg(LOG_ERROR, "opening the service failed: %s",
 *             win_error_describe(GetLastError()).text);
 *
 * The text comes back by value, so no caller picks a buffer size; the temporary lives until
 * the end of the full expression (C11 6.2.4), long enough for the call it is passed to. Keep
 * a `struct win_error_text` in a variable to use it in more than one statement. */
#ifndef TCPIP_EXPORTER_WIN_ERROR_WIN_H
#define TCPIP_EXPORTER_WIN_ERROR_WIN_H

/* FormatMessage's longest system messages are a few hundred characters; more is cut. */
#define WIN_ERROR_TEXT_SIZE 256

struct win_error_text {
    char text[WIN_ERROR_TEXT_SIZE];
};

/* "5 (Access is denied)": the code, then the system's message in UTF-8 without its
 * trailing period and line break; "1234567" alone when the system has no message. */
struct win_error_text win_error_describe(unsigned long code);

#endif
