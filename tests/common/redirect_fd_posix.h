/* dup, dup2 and close, for redirect.c on POSIX systems. */
#ifndef TCPIP_EXPORTER_TEST_REDIRECT_FD_POSIX_H
#define TCPIP_EXPORTER_TEST_REDIRECT_FD_POSIX_H

#include <unistd.h>

#endif
