/* The terminal table `tcpip_exporter --etl FILE --summary` prints after a replay. */
#ifndef TCPIP_EXPORTER_SUMMARY_H
#define TCPIP_EXPORTER_SUMMARY_H

#include <stdbool.h>
#include <stdio.h>
#include "../collector/etl_replay.h"
#include "../collector/process_table.h"

void summary_print(FILE *out, const struct process_table *table,
                   const struct etl_replay_report *report);

struct summary_options {
    bool peers;   /* --peers: under each process, its top peers by bytes (table keeps peers) */
};
enum { SUMMARY_PEERS_SHOWN = 5 };   /* peers listed per process; the rest are one "other" */

void summary_print_with(FILE *out, const struct process_table *table,
                        const struct etl_replay_report *report,
                        const struct summary_options *options);

#endif
