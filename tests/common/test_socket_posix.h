/* BSD sockets under the names the socket tests use (tests/exporter/test_limits.c). */
#ifndef TCPIP_EXPORTER_TEST_SOCKET_POSIX_H
#define TCPIP_EXPORTER_TEST_SOCKET_POSIX_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>
typedef int test_socket;
#define close_test_socket close

static inline void test_sockets_start(void)
{
}

#endif
