/* /api/v1/peers: the remote peers of each process instance (collector/process_table.h,
 * "remote peers"), filtered, sorted and limited, with each selected instance's `other`
 * (what its listed peers do not hold) and the peer store's statistics. */
#ifndef TCPIP_EXPORTER_JSON_PEERS_H
#define TCPIP_EXPORTER_JSON_PEERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "address_text.h"
#include "json.h"

/* The answer when the table keeps no peers: 404 on /api/v1/peers (the resource does not
 * exist in this configuration), 400 for /api/v1/processes?peers=N (a parameter it cannot
 * honour). */
#define PEERS_OFF_MESSAGE \
    "remote peers are off: start the exporter with --collector.peers to keep them"

enum { PEER_SORT_NONE = -1, PEER_SORT_TOTAL = 1000 };

/* Filters and order of /api/v1/peers. */
struct peer_query {
    struct process_filter process;  /* process=, pid=, service=: as /api/v1/processes */
    bool has_remote;
    struct address_filter remote;   /* an address or a prefix */
    bool has_port;
    uint16_t port;                  /* the port that names the peer (peer_view.port) */
    int protocol;                   /* -1 any, else enum peer_protocol */
    int family;                     /* -1 any, else enum ip_family */
    int direction;                  /* -1 any, else enum peer_direction */
    int sort;                       /* PEER_SORT_NONE, a PEER_* counter or PEER_SORT_TOTAL */
    size_t limit;                   /* 0: no limit */
    unsigned seen;                  /* parameters already set, to refuse duplicates */
};

void peer_query_init(struct peer_query *query);
/* Applies one query parameter; false with a message in err for an unknown key, a
 * duplicate or a bad value. value NULL: the parameter had no '='. */
bool peer_query_set(struct peer_query *query, const char *key, const char *value, char *err,
                    size_t err_size);

/* {"peers": [...], "matched": N, "processes": [...], "store": {...}}; malloc'ed, NULL when
 * out of memory. Call only when process_table_peers_enabled (else PEERS_OFF_MESSAGE). */
char *json_render_peers(const struct process_table *table, const struct render_options *options,
                        const struct peer_query *query);

/* The JSON key of a peer counter, also its sort= value: peer_counter_names[].json_key
 * ("sent_bytes", "retransmits"...). peer_counter_from_key: -1 when key names none. */
const char *peer_counter_key(enum peer_counter counter);
int peer_counter_from_key(const char *key);

/* "tcp" / "udp", "outbound" / "inbound": the JSON values and the Prometheus labels. */
const char *peer_protocol_label(enum peer_protocol protocol);
const char *peer_direction_label(enum peer_direction direction);

#endif
