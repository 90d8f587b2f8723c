/* What main needs to know about the console it runs in, per platform (console_win.c,
 * console_posix.c). */
#ifndef TCPIP_EXPORTER_CONSOLE_H
#define TCPIP_EXPORTER_CONSOLE_H

#include <stdbool.h>

/* True when stderr is a terminal (a person watching): then progress lines are worth it. */
bool console_stderr_is_terminal(void);

/* The program's arguments in UTF-8, the encoding every flag value and message uses. On
 * Windows they are read once from the UTF-16 command line (the C runtime's argv is in the
 * ANSI code page and loses what it cannot hold), and the console is switched to UTF-8
 * output; elsewhere argv is returned as it is. The result lives as long as the process. */
char **console_utf8_arguments(int argc, char **argv, int *utf8_argc);

#endif
