/* POSIX listening sockets. SO_REUSEADDR only lets a restart bind while old connections
 * sit in TIME_WAIT; on POSIX systems it never lets two processes listen on one port. */
#include "listen_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *bind_problem(int error)
{
    switch (error) {
    case EADDRINUSE: return "the port is already in use by another program";
    case EADDRNOTAVAIL: return "the address does not belong to this machine";
    case EACCES: return "permission denied (ports below 1024 need privileges)";
    default: return strerror(error);
    }
}

static int open_one(const struct addrinfo *ai, int *error)
{
    int s = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (s < 0) {
        *error = errno;
        return -1;
    }
    int one = 1, zero = 0;
    (void)setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ai->ai_family == AF_INET6)   /* ":port" means IPv4 too (dual stack) */
        (void)setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (fcntl(s, F_SETFD, FD_CLOEXEC) != 0 ||
        fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK) != 0 ||
        bind(s, ai->ai_addr, ai->ai_addrlen) != 0 || listen(s, SOMAXCONN) != 0) {
        *error = errno;
        close(s);
        return -1;
    }
    return s;
}

bool listen_socket_open(const char *address, listen_socket_t *out, char *err, size_t err_size)
{
    char host[256], port[8];
    if (!listen_address_split(address, host, sizeof host, port, sizeof port, err, err_size))
        return false;
    struct addrinfo hints = { .ai_flags = AI_PASSIVE, .ai_family = AF_UNSPEC,
                              .ai_socktype = SOCK_STREAM };
    if (host[0] == '\0')
        hints.ai_family = AF_INET6;   /* dual stack; falls back to IPv4 below */
    if (listen_host_is_literal(address))
        hints.ai_flags |= AI_NUMERICHOST;
    struct addrinfo *list = NULL;
    int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &list);
    if (rc != 0 && host[0] == '\0') {
        hints.ai_family = AF_INET;
        rc = getaddrinfo(NULL, port, &hints, &list);
    }
    if (rc != 0) {
        snprintf(err, err_size, "listen address '%s': cannot resolve '%s': %s", address, host,
                 gai_strerror(rc));
        return false;
    }
    int error = 0;
    int s = -1;
    for (const struct addrinfo *ai = list; ai != NULL && s < 0; ai = ai->ai_next)
        s = open_one(ai, &error);
    freeaddrinfo(list);
    if (s < 0) {
        snprintf(err, err_size, "listen address '%s': cannot listen: %s", address,
                 bind_problem(error));
        return false;
    }
    *out = s;
    return true;
}

void listen_socket_close(listen_socket_t socket)
{
    if (socket != LISTEN_SOCKET_INVALID)
        close(socket);
}

void connection_socket_cut(listen_socket_t socket)
{
    if (socket != LISTEN_SOCKET_INVALID)
        shutdown(socket, SHUT_RDWR);   /* ENOTCONN when the peer went first: nothing to do */
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
