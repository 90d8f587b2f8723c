/* The services a row hosts, as every view shows them: names sorted case-insensitively and
 * joined with "," (the `service` label and the --summary column), display names joined
 * with "; " (display names may hold commas). */
#ifndef TCPIP_EXPORTER_ROW_SERVICES_H
#define TCPIP_EXPORTER_ROW_SERVICES_H

#include <stddef.h>
#include <stdint.h>
#include "../collector/process_table.h"
#include "text_buffer.h"

struct row_services {
    size_t count;
    struct service_ref refs[PROCESS_TABLE_SERVICES_PER_SET];
};

void row_services_of(const struct process_table *table, uint32_t set, struct row_services *out);

/* Appends the joined names (or display names), unescaped. */
void row_services_join(const struct row_services *services, bool display,
                       struct text_buffer *out);

/* The joined names into a fixed buffer, truncated at a service boundary with ",..." */
void row_services_text(const struct row_services *services, char *out, size_t out_size);

#endif
