/* The live source of the services each process hosts: a thread that reads the running
 * services from the service control manager (EnumServicesStatusExW with
 * SC_ENUM_PROCESS_INFO, SERVICE_WIN32, SERVICE_ACTIVE, which gives each one's process id)
 * at start, about a second after process starts were seen (a service registers with the
 * SCM after its process started), and every SERVICE_SCAN_PERIOD_S seconds (a service can
 * start in a host that is already running). Each scan is a complete list, offered to the
 * table (process_table_offer_services), whose writer applies it at its next housekeeping:
 * the scan never blocks the writer. Windows only; elsewhere start refuses with a reason. */
#ifndef TCPIP_EXPORTER_SERVICE_SCAN_H
#define TCPIP_EXPORTER_SERVICE_SCAN_H

#include <stddef.h>
#include "collector_log.h"
#include "process_table.h"

#define SERVICE_SCAN_PERIOD_S 30
#define SERVICE_SCAN_MAX_SERVICES 4096 /* a list longer than this is cut (and logged) */

struct service_scanner;

struct service_scanner *service_scanner_start(struct process_table *table,
                                              const struct collector_log *log, char *err,
                                              size_t err_size);
/* Ends the thread (within a scan's time) and frees the scanner; NULL is fine. */
void service_scanner_stop(struct service_scanner *scanner);

/* One scan (malloc'ed, for process_table_offer_services), or NULL with one line in err. */
struct service_batch *service_scan_once(char *err, size_t err_size);

#endif
