/* The C runtime's descriptor calls under their POSIX names, for redirect.c on Windows. */
#ifndef TCPIP_EXPORTER_TEST_REDIRECT_FD_WIN_H
#define TCPIP_EXPORTER_TEST_REDIRECT_FD_WIN_H

#include <io.h>
#define dup _dup
#define dup2 _dup2
#define close _close
#define fileno _fileno

#endif
