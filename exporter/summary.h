/* The terminal table `tcpip_exporter --etl FILE --summary` prints after a replay. */
#ifndef TCPIP_EXPORTER_SUMMARY_H
#define TCPIP_EXPORTER_SUMMARY_H

#include <stdio.h>
#include "../collector/etl_replay.h"
#include "../collector/process_table.h"

void summary_print(FILE *out, const struct process_table *table,
                   const struct etl_replay_report *report);

#endif
