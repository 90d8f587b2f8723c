/* What the HTTP server counts about itself, for its self-metrics: requests and connections
 * refused, by reason, and the memory its responses hold. */
#ifndef TCPIP_EXPORTER_HTTP_COUNTERS_H
#define TCPIP_EXPORTER_HTTP_COUNTERS_H

#include <stdbool.h>
#include <stdint.h>

enum http_rejection {
    HTTP_REJECT_METHOD,           /* 405: not GET or HEAD */
    HTTP_REJECT_BAD_REQUEST,      /* 400: HTTP/1.1 without Host, NUL in the path or query */
    HTTP_REJECT_REQUEST_BODY,     /* 400: a GET or HEAD that carries a body */
    HTTP_REJECT_IN_FLIGHT,        /* 503: every in-flight slot busy rendering */
    HTTP_REJECT_RESPONSE_MEMORY,  /* 503: the response memory cap reached */
    HTTP_REJECT_PER_ADDRESS,      /* connection cut: its address had the cap */
    HTTP_REJECT_HEAD_TIMEOUT,     /* connection cut: the request head took too long */
    HTTP_REJECT_SLOW_READ,        /* connection cut: the response was read too slowly */
    HTTP_REJECT_UNAUTHORIZED,     /* 401: no or wrong basic-auth credentials */
    HTTP_REJECT_EVICTED,          /* connection cut: near the limit, its head waited long */
    HTTP_REJECT_AUTH_BUSY,        /* 503: the credentials' check queue was full */
    HTTP_REJECT_COUNT
};

/* The `reason` label of each, in enum order. */
extern const char *const http_rejection_names[HTTP_REJECT_COUNT];

struct http_counters {
    bool present;                     /* false: rendered without a server (tests, tools) */
    uint64_t rejected[HTTP_REJECT_COUNT];
    uint64_t connections;             /* open now */
    uint64_t response_bytes;          /* held by responses now */
    uint64_t response_bytes_cap;
    uint64_t renders;                 /* /metrics renders: shared by concurrent scrapes */
    uint64_t compressions;
    uint64_t stale_responses;         /* served an older render: no room for a new one */
    bool has_web_config;              /* --web.config.file given: the figures below count */
    uint64_t web_config_reloads, web_config_reload_failures;
    bool web_config_last_reload_ok;
    uint64_t auth_bcrypt_runs, auth_cache_hits;
};

#endif
