/* Include/exclude globs on image names: `*` any run, `?` one byte, ASCII case-insensitive
 * (Windows image names are case-insensitive: "Chrome.EXE" is "chrome.exe"). */
#ifndef TCPIP_EXPORTER_NAME_FILTER_H
#define TCPIP_EXPORTER_NAME_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include "render_types.h"

bool glob_match(const char *pattern, const char *text);

/* True when name matches an include glob (or there are none) and no exclude glob. */
bool name_filter_allows(const char *const *include, size_t include_count,
                        const char *const *exclude, size_t exclude_count, const char *name);

/* The same for a row: a glob matches the image name or the name of a service the row
 * hosts ("Dnscache" includes the svchost.exe that hosts it; excluding "svchost.exe"
 * excludes every one of them). */
bool row_filter_allows(const struct render_options *options, const char *name,
                       const struct service_ref *services, size_t service_count);

#endif
