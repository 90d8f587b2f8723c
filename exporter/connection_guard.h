/* Per-connection limits libmicrohttpd does not have: a cap on connections per client
 * address (counted, across every listen address), a deadline for the whole request head
 * (not an idle timer that each trickled byte resets) and a minimum average transfer rate
 * for responses. A watchdog thread checks the deadlines a few times a second and cuts the
 * sockets that passed them (shutdown, so libmicrohttpd sees the end and closes them itself:
 * the descriptor stays libmicrohttpd's, and is never closed or reused under us).
 *
 * While fewer than an eighth of the server's places are free (past its limit
 * libmicrohttpd leaves new connections in the kernel's backlog, where a scrape would wait
 * behind them), connections that have waited a while for a request head are cut: by
 * each newcomer the one that waited longest, and by the watchdog every one (at the limit
 * no newcomer is accepted, and the backlog is drained in order). So many addresses, each
 * under the per-address cap, cannot hold every place.
 *
 * The server reports each connection's life to the guard: opened, request head complete,
 * response queued, response done, closed. Thread-safe; every call is short. */
#ifndef TCPIP_EXPORTER_CONNECTION_GUARD_H
#define TCPIP_EXPORTER_CONNECTION_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "listen_socket.h"

struct connection_guard_config {
    unsigned per_address_cap;     /* connections from one address (an IPv6 one by its /64);
                                     0 = no cap */
    unsigned connection_limit;    /* the server's, over its listen addresses; 0 = none */
    double evict_after_s;         /* near the limit, a head waiting this long may be cut */
    double head_timeout_s;        /* a request head must be complete within this */
    double idle_timeout_s;        /* kept-alive connection: this more before the next head */
    double min_send_rate;         /* bytes/s a response must average; 0 = none */
    double send_grace_s;          /* before the rate counts: slow starts, small answers */
    double (*now)(void);          /* monotonic seconds; NULL = the real clock */
    bool no_watchdog;             /* tests call connection_guard_sweep themselves */
};

struct connection_guard_counts {
    uint64_t open;                /* connections now */
    uint64_t refused_per_address; /* cut at once: their address had the cap */
    uint64_t head_timeouts;       /* cut: the request head took too long */
    uint64_t slow_sends;          /* cut: the client read the response too slowly */
    uint64_t evicted;             /* cut: a head waiting long, to make room near the limit */
};

struct connection_guard;
struct guarded_connection;

/* NULL when out of memory or when the watchdog thread cannot start. */
struct connection_guard *connection_guard_create(const struct connection_guard_config *config);
/* Stops the watchdog. Every connection must have been reported closed. */
void connection_guard_destroy(struct connection_guard *guard);

/* A new connection from address (bytes of an IPv4 or IPv6 address; an IPv4-mapped IPv6
 * one counts as its IPv4 address, a native IPv6 one as its /64: a host is given a whole
 * /64 and may take any address in it). Beyond the per-address cap the socket is cut at
 * once.
 * NULL only when out of memory (the socket is cut then too). */
struct guarded_connection *connection_guard_opened(struct connection_guard *guard,
                                                   listen_socket_t socket,
                                                   const uint8_t *address, size_t length);
void connection_guard_head_done(struct connection_guard *guard, struct guarded_connection *c);
void connection_guard_sending(struct connection_guard *guard, struct guarded_connection *c,
                              uint64_t bytes);
void connection_guard_request_done(struct connection_guard *guard,
                                   struct guarded_connection *c);
void connection_guard_closed(struct connection_guard *guard, struct guarded_connection *c);

/* Cuts every connection past its deadline; the watchdog calls it. Returns how many. */
size_t connection_guard_sweep(struct connection_guard *guard);
void connection_guard_counts(struct connection_guard *guard,
                             struct connection_guard_counts *out);

#endif
