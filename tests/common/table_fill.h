/* Made-up facts for tests and benchmarks (the exporter's now; any table test may use them),
 * applied through the table's own writer entry point (process_table_apply), as the
 * decoder's facts would be. Parent pid 4; the event type follows from op and family.
 * A name of IMAGE_NAME_MAX bytes or more fills image_name with no NUL, as a raw event can. */
#ifndef TCPIP_EXPORTER_TEST_TABLE_FILL_H
#define TCPIP_EXPORTER_TEST_TABLE_FILL_H

#include <stdint.h>
#include "process_table.h"

/* Trace time of the fills: 2024-01-01T00:00:00Z as a FILETIME. */
#define FILL_T0 133485408000000000ull
#define FILL_SECOND 10000000ull

void fill_process(struct process_table *table, enum process_op op, uint32_t pid,
                  const char *name, uint64_t key, uint64_t timestamp);
void fill_start(struct process_table *table, uint32_t pid, const char *name, uint64_t key,
                uint64_t timestamp);
void fill_end(struct process_table *table, uint32_t pid, const char *name, uint64_t key,
              uint64_t timestamp);
void fill_net(struct process_table *table, enum net_op op, enum ip_family family,
              uint32_t pid, uint32_t size, uint64_t timestamp);
/* A network event with its endpoints, given as the local and remote sides (fill_net_peer
 * puts them in the recorded order: for UDP receives the destination is the local socket).
 * Addresses in network order; the family picks the 4- or 16-byte ones. */
struct fill_endpoints {
    uint8_t local4[4], remote4[4];
    uint8_t local6[16], remote6[16];
    uint16_t local_port, remote_port;
};
void fill_net_peer(struct process_table *table, enum net_op op, enum ip_family family,
                   uint32_t pid, uint32_t size, const struct fill_endpoints *ep,
                   uint64_t timestamp);
/* IPv4 endpoints: remote as a host-order number (0x0A000001 = 10.0.0.1), local 10.0.0.5. */
struct fill_endpoints fill_endpoints_v4(uint32_t remote, uint16_t remote_port,
                                        uint16_t local_port);

void fill_fail(struct process_table *table, uint16_t proto, uint16_t code, uint64_t timestamp);

/* A SystemConfig Services record: pid hosts name (state 4: running, 1: stopped). */
void fill_service(struct process_table *table, uint32_t pid, uint32_t state, const char *name,
                  const char *display_name, uint64_t timestamp);

/* A complete list of running services, as the live SCM scan offers it (malloc'ed). */
struct fill_hosted {
    uint32_t pid;
    const char *name, *display_name;
};
struct service_batch *fill_batch(const struct fill_hosted *items, size_t count);

/* n processes "proc<i>.exe" (pid 1000 + 4 i) with traffic of every kind on IPv4 and, for
 * every other one, IPv6. */
void fill_many(struct process_table *table, uint32_t n);

/* Like fill_many with peers: each process connects to `peers` remote hosts
 * (192.168.0.1, ...; ports 443 to 445) and sends, receives and sometimes retransmits. */
void fill_many_peers(struct process_table *table, uint32_t n, uint32_t peers);

#endif
