/* Windows listening sockets. SO_EXCLUSIVEADDRUSE before bind: without it another process
 * could bind the same port with SO_REUSEADDR and receive our scrapes. The price of the
 * exclusive bind is that it fails while the previous instance's accepted connections are
 * still closing, so a quick restart retries WSAEADDRINUSE for a few seconds. */
#include "listen_socket.h"

#include <stdio.h>

#include "win_error_win.h"
#include "winsock_seam_win.h"

/* A restarted service waits this long at most for its predecessor's connections. */
#define BIND_RETRY_MS 250u
#define BIND_RETRIES 20u

#ifndef WSA_FLAG_NO_HANDLE_INHERIT
#define WSA_FLAG_NO_HANDLE_INHERIT 0x80
#endif

static const char *bind_problem(int error, char *buffer, size_t size)
{
    switch (error) {
    case WSAEADDRINUSE:
    case WSAEACCES:   /* what an exclusive bind by someone else looks like */
        return "the port is already in use by another program";
    case WSAEADDRNOTAVAIL: return "the address does not belong to this machine";
    default:
        snprintf(buffer, size, "%s", win_error_describe((unsigned long)error).text);
        return buffer;
    }
}

/* WSA_FLAG_NO_HANDLE_INHERIT exists from Windows 7 SP1; before it WSASocket refuses the
 * flag with WSAEINVAL: then the socket is made without it and not inherited by other means. */
static SOCKET new_socket(const struct addrinfo *ai, int *error)
{
    SOCKET s = winsock_seam.wsa_socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol, NULL,
                                       0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (s != INVALID_SOCKET)
        return s;
    *error = WSAGetLastError();
    if (*error != WSAEINVAL)
        return INVALID_SOCKET;
    s = winsock_seam.wsa_socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol, NULL, 0,
                                WSA_FLAG_OVERLAPPED);
    if (s == INVALID_SOCKET) {
        *error = WSAGetLastError();
        return INVALID_SOCKET;
    }
    if (!winsock_seam.set_handle_information((HANDLE)s, HANDLE_FLAG_INHERIT, 0)) {
        *error = (int)GetLastError();
        closesocket(s);
        return INVALID_SOCKET;
    }
    return s;
}

static SOCKET open_one(const struct addrinfo *ai, int *error)
{
    SOCKET s = new_socket(ai, error);
    if (s == INVALID_SOCKET)
        return INVALID_SOCKET;
    BOOL yes = TRUE;
    DWORD zero = 0;
    u_long nonblocking = 1;
    if (ai->ai_family == AF_INET6)   /* ":port" means IPv4 too (dual stack) */
        (void)setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, (const char *)&zero, sizeof zero);
    if (setsockopt(s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (const char *)&yes, sizeof yes) != 0 ||
        ioctlsocket(s, FIONBIO, &nonblocking) != 0 ||
        winsock_seam.bind(s, ai->ai_addr, (int)ai->ai_addrlen) != 0 ||
        winsock_seam.listen(s, SOMAXCONN) != 0) {
        *error = WSAGetLastError();
        closesocket(s);
        return INVALID_SOCKET;
    }
    return s;
}

bool listen_socket_open(const char *address, listen_socket_t *out, char *err, size_t err_size)
{
    char host[256], port[8];
    if (!listen_address_split(address, host, sizeof host, port, sizeof port, err, err_size))
        return false;
    WSADATA wsa;
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {  /* balanced in listen_socket_close */
        snprintf(err, err_size, "listen address '%s': Winsock did not start", address);
        return false;
    }
    struct addrinfo hints = { 0 };
    hints.ai_flags = AI_PASSIVE;
    hints.ai_family = host[0] ? AF_UNSPEC : AF_INET6;
    hints.ai_socktype = SOCK_STREAM;
    if (listen_host_is_literal(address))
        hints.ai_flags |= AI_NUMERICHOST;
    struct addrinfo *list = NULL;
    int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &list);
    if (rc != 0 && host[0] == '\0') {
        hints.ai_family = AF_INET;
        rc = getaddrinfo(NULL, port, &hints, &list);
    }
    if (rc != 0) {
        snprintf(err, err_size, "listen address '%s': cannot resolve '%s': not an IP "
                 "address or known host name (%s)", address, host,
                 win_error_describe((unsigned long)rc).text);
        WSACleanup();
        return false;
    }
    int error = 0;
    SOCKET s = INVALID_SOCKET;
    for (unsigned attempt = 0; s == INVALID_SOCKET; attempt++) {
        for (const struct addrinfo *ai = list; ai != NULL && s == INVALID_SOCKET;
             ai = ai->ai_next)
            s = open_one(ai, &error);
        if (s != INVALID_SOCKET || error != WSAEADDRINUSE || attempt == BIND_RETRIES)
            break;
        winsock_seam.sleep(BIND_RETRY_MS);
    }
    freeaddrinfo(list);
    if (s == INVALID_SOCKET) {
        char buffer[WIN_ERROR_TEXT_SIZE];
        snprintf(err, err_size, "listen address '%s': cannot listen: %s", address,
                 bind_problem(error, buffer, sizeof buffer));
        WSACleanup();
        return false;
    }
    *out = (listen_socket_t)s;
    return true;
}

void listen_socket_close(listen_socket_t socket)
{
    if (socket == LISTEN_SOCKET_INVALID)
        return;
    closesocket((SOCKET)socket);
    WSACleanup();
}

void connection_socket_cut(listen_socket_t socket)
{
    if (socket != LISTEN_SOCKET_INVALID)
        shutdown((SOCKET)socket, SD_BOTH);   /* WSAENOTCONN when the peer went first */
}

size_t socket_address_bytes(const struct sockaddr *address, uint8_t out[16])
{
    if (address->sa_family == AF_INET) {
        memcpy(out, &((const struct sockaddr_in *)(const void *)address)->sin_addr, 4);
        return 4;
    }
    if (address->sa_family == AF_INET6) {
        memcpy(out, &((const struct sockaddr_in6 *)(const void *)address)->sin6_addr, 16);
        return 16;
    }
    return 0;
}
