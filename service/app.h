/* The running exporter: an event source (live session or ETL replay) writing the table,
 * and the HTTP server reading it. Console mode and the Windows service both drive it. */
#ifndef TCPIP_EXPORTER_APP_H
#define TCPIP_EXPORTER_APP_H

#include <stddef.h>
#include "../collector/process_table.h"
#include "config.h"

struct app;

/* Starts the source and the HTTP server; NULL with one line in err if it cannot
 * (port in use, unreadable file...). */
struct app *app_start(const struct config *config, char *err, size_t err_size);
/* Stops serving after in-flight scrapes finish, stops the source, frees everything.
 * Returns the exit code the process should end with: 0; 1 if a replayed file was damaged;
 * 2 if a replayed file was not ETL or could not be read. */
int app_stop(struct app *app);

/* The table the flags ask for: rows, retention and the peer store (kept with
 * --collector.peers, or --summary --peers; per image name too with aggregate-by-name). */
void app_table_config(const struct config *config, struct process_table_config *out);

/* "https" or "http": how the running app serves. */
const char *app_scheme(const struct app *app);

#endif
