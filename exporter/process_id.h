/* This process's id, for /api/v1/status: an operator matches it with the SCM's view
 * (/api/v1/services lists the exporter's own service with the same pid). */
#ifndef TCPIP_EXPORTER_PROCESS_ID_H
#define TCPIP_EXPORTER_PROCESS_ID_H

#include <stdint.h>

uint32_t process_id(void);

#endif
