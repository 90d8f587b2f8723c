/* Who owns each pid of a connection snapshot, as the table sees it: the pid's live
 * instance, if it started before the snapshot was taken (a pid reused between the scan and
 * the render is not the scanned process). Everything else (pid 0, which owns TIME_WAIT
 * connections; pids the table does not know or no longer has live) is "untracked". */
#ifndef TCPIP_EXPORTER_CONNECTION_OWNERS_H
#define TCPIP_EXPORTER_CONNECTION_OWNERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../collector/process_table.h"

#define UNTRACKED_PROCESS_NAME "<untracked>"

struct connection_owner {
    uint32_t pid;
    uint32_t service_set;
    uint64_t start_time;
    char name[IMAGE_NAME_MAX];
};

struct connection_owners {
    struct connection_owner *items; /* sorted by pid, one per pid */
    size_t count;
};

/* The live instances of the table; false when out of memory. */
bool connection_owners_build(struct connection_owners *owners,
                             const struct process_table *table);
/* The owner of pid for a snapshot taken at taken_at (FILETIME), or NULL: untracked. */
const struct connection_owner *connection_owner_of(const struct connection_owners *owners,
                                                   uint32_t pid, uint64_t taken_at);
void connection_owners_free(struct connection_owners *owners);

#endif
