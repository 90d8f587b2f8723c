/* What main needs to know about the console it runs in, per platform (console_win.c,
 * console_posix.c). */
#ifndef TCPIP_EXPORTER_CONSOLE_H
#define TCPIP_EXPORTER_CONSOLE_H

#include <stdbool.h>

/* True when stderr is a terminal (a person watching): then progress lines are worth it. */
bool console_stderr_is_terminal(void);

#endif
