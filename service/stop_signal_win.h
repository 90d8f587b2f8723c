/* What stop_signal_win.c does with each console control event, callable by the Windows
 * tests (the handler itself runs on a thread the system creates). */
#ifndef TCPIP_EXPORTER_STOP_SIGNAL_WIN_H
#define TCPIP_EXPORTER_STOP_SIGNAL_WIN_H

#include <stdbool.h>

/* Handles one CTRL_*_EVENT as the console handler does; true when the event is taken
 * (the system then does not end the process on its own). */
bool stop_signal_console_event(unsigned long type);

/* Whether a stop has been asked for since stop_signal_install. */
bool stop_signal_is_raised(void);

#endif
