/* The GnuTLS priority string for a web configuration's TLS settings: the versions from
 * min_version to max_version, the cipher suites, the curves and the server's preference.
 * GnuTLS enables suites as every combination of the key exchanges, ciphers and MACs a
 * priority string lists, so a list it cannot enable exactly is refused, naming the suite it
 * would add or lose, rather than silently serving another set. */
#ifndef TCPIP_EXPORTER_TLS_PRIORITY_H
#define TCPIP_EXPORTER_TLS_PRIORITY_H

#include <stdbool.h>
#include <stddef.h>
#include "web_config.h"

/* The priority string into out; false with the reason (naming the key) in err. */
bool tls_priority_string(const struct web_config *config, char *out, size_t out_size,
                         char *err, size_t err_size);

#endif
