/* Waiting in the console for the user's request to stop (Ctrl-C, SIGTERM, console close).
 * stop_signal_posix.c and stop_signal_win.c implement it. */
#ifndef TCPIP_EXPORTER_STOP_SIGNAL_H
#define TCPIP_EXPORTER_STOP_SIGNAL_H

/* Installs the handlers; call once before stop_signal_wait. */
void stop_signal_install(void);
/* Blocks until a stop was requested. */
void stop_signal_wait(void);
/* Requests a stop from code (tests, the service control handler). */
void stop_signal_raise(void);

#endif
