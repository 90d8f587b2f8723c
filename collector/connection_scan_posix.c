/* connection_scan_system elsewhere than Windows: the tables it reads are IP Helper's, so
 * there is no live source here and the scan refuses with the reason. The aggregation and
 * the cache are portable and work on rows from anywhere (the tests give made-up ones). */
#include "connection_scan.h"

#include <stdio.h>
#include <time.h>

bool connection_scan_system(struct connection_row **rows, size_t *count, char *error,
                            size_t error_size)
{
    *rows = NULL;
    *count = 0;
    if (error != NULL && error_size > 0)
        snprintf(error, error_size, "open connections are read from IP Helper, on Windows only");
    return false;
}

/* Seconds from 1601-01-01 (FILETIME's epoch) to 1970-01-01 (the Unix epoch). */
#define FILETIME_UNIX_EPOCH_SECONDS 11644473600ull

uint64_t connection_clock_system(void *context)
{
    (void)context;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return ((uint64_t)now.tv_sec + FILETIME_UNIX_EPOCH_SECONDS) * 10000000u +
           (uint64_t)now.tv_nsec / 100u;
}
