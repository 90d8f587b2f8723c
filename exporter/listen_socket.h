/* Listening sockets the HTTP server hands to libmicrohttpd. We create them ourselves so
 * that the port is bound exclusively on Windows (SO_EXCLUSIVEADDRUSE: no other process can
 * bind the same port over us) and so that bind errors name the address in plain words.
 * listen_socket_posix.c and listen_socket_win.c implement the socket part. */
#ifndef TCPIP_EXPORTER_LISTEN_SOCKET_H
#define TCPIP_EXPORTER_LISTEN_SOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef _WIN32
typedef uintptr_t listen_socket_t;          /* SOCKET */
#define LISTEN_SOCKET_INVALID (~(uintptr_t)0)
#else
typedef int listen_socket_t;
#define LISTEN_SOCKET_INVALID (-1)
#endif

/* Splits "host:port", "[v6]:port" or ":port" (every address, IPv6 and IPv4). host is ""
 * for the last form. False with a message in err when the text has none of these forms or
 * the port is not 1..65535. */
bool listen_address_split(const char *text, char *host, size_t host_size, char *port,
                          size_t port_size, char *err, size_t err_size);

/* True when the address's host must be a numeric IP: written in brackets, or only digits
 * and dots. Such hosts are never looked up in DNS ("256.1.1.1" is an error, not a name). */
bool listen_host_is_literal(const char *address);

/* Resolves, binds and listens (non-blocking, not inherited by children). */
bool listen_socket_open(const char *address, listen_socket_t *out, char *err, size_t err_size);
void listen_socket_close(listen_socket_t socket);

struct sockaddr;
/* The bytes of a client's address (IPv4: 4, IPv6: 16) into out; 0 for other families. */
size_t socket_address_bytes(const struct sockaddr *address, uint8_t out[16]);

/* Ends a client connection from another thread without closing its descriptor (shutdown
 * both ways): the server's own loop then sees the end and closes it. */
void connection_socket_cut(listen_socket_t socket);

#endif
