/* Windows service control manager integration. Declared without Windows types so the
 * portable main can call it; implemented only in the Windows build (scm_win.c). */
#ifndef TCPIP_EXPORTER_SCM_H
#define TCPIP_EXPORTER_SCM_H

/* Handles `install` / `uninstall`, and runs as a service when the SCM started us.
 * Returns the process exit code, or -1 when the caller should run in the console. */
int scm_main(int argc, char **argv);

#endif
