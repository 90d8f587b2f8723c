/* Strict decimal numbers in text from outside: the API's query parameters here, and the
 * service's flags and config file (service links this library). A leaf: no state, no
 * dependency on the rest of the exporter. */
#ifndef TCPIP_EXPORTER_DECIMAL_H
#define TCPIP_EXPORTER_DECIMAL_H

#include <stdbool.h>
#include <stdint.h>

/* Digits only: no sign, no spaces, not empty, at most max. *value is set only on success. */
bool decimal_parse(const char *text, uint64_t max, uint64_t *value);

#endif
