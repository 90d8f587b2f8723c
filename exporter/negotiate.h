/* Content negotiation for /metrics: which exposition format (Accept) and whether to gzip
 * (Accept-Encoding), with q-values as Prometheus 2 and 3 send them, e.g.
 * "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;
 *  q=0.75,text/plain;version=0.0.4;q=0.5,*\/\*;q=0.1". */
#ifndef TCPIP_EXPORTER_NEGOTIATE_H
#define TCPIP_EXPORTER_NEGOTIATE_H

#include <stdbool.h>
#include "prometheus.h"

/* OpenMetrics 1.0.0 when the highest-q acceptable range asks for it, else text 0.0.4
 * (also when the header is absent or accepts neither: a scrape always gets an answer). */
enum metrics_format negotiate_format(const char *accept);

/* True when gzip is acceptable (q > 0, explicitly or through "*"). */
bool negotiate_gzip(const char *accept_encoding);

#endif
