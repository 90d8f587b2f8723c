/* The Windows Event Log as a log sink, and the registration of our event source.
 * Windows only (scm_win.c is its only user). */
#ifndef TCPIP_EXPORTER_EVENTLOG_H
#define TCPIP_EXPORTER_EVENTLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <wchar.h>
#include "log.h"

#define EVENTLOG_SOURCE_NAME L"tcpip_exporter"

/* Registers the source under ...\EventLog\Application\<source>; the message file is the
 * executable itself (it carries a message table when built with one; see README). */
bool eventlog_install_source(const wchar_t *executable_path, char *err, size_t err_size);
/* Removes the registration; a source that is not there is not an error. */
bool eventlog_remove_source(char *err, size_t err_size);

/* Opens the source for eventlog_sink; false (and the stderr sink stays) when it cannot. */
bool eventlog_open(void);
void eventlog_close(void);
/* A log_sink_fn: one ReportEventW per message. */
void eventlog_sink(enum log_level level, const char *message);

#endif
