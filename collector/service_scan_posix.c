/* No service control manager here: a replay takes services from the trace instead. */
#include "service_scan.h"

#include <stdio.h>

struct service_scanner *service_scanner_start(struct process_table *table,
                                              const struct collector_log *log, char *err,
                                              size_t err_size)
{
    (void)table;
    (void)log;
    snprintf(err, err_size, "running services are read from the Windows service control "
             "manager, on Windows only");
    return NULL;
}

void service_scanner_stop(struct service_scanner *scanner)
{
    (void)scanner;
}

struct service_batch *service_scan_once(char *err, size_t err_size)
{
    snprintf(err, err_size, "running services are read from the Windows service control "
             "manager, on Windows only");
    return NULL;
}
