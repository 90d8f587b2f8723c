/* Winsock under the names the socket tests use (tests/exporter/test_limits.c). */
#ifndef TCPIP_EXPORTER_TEST_SOCKET_WIN_H
#define TCPIP_EXPORTER_TEST_SOCKET_WIN_H

#include <winsock2.h>
#include <ws2tcpip.h>
typedef SOCKET test_socket;
#define close_test_socket closesocket

static inline void test_sockets_start(void)
{
    WSADATA wsa;
    WSAStartup(MAKEWORD(2, 2), &wsa);
}

#endif
