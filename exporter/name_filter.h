/* Include/exclude globs on image names: `*` any run, `?` one byte, ASCII case-insensitive
 * (Windows image names are case-insensitive: "Chrome.EXE" is "chrome.exe"). */
#ifndef TCPIP_EXPORTER_NAME_FILTER_H
#define TCPIP_EXPORTER_NAME_FILTER_H

#include <stdbool.h>
#include <stddef.h>

bool glob_match(const char *pattern, const char *text);

/* True when name matches an include glob (or there are none) and no exclude glob. */
bool name_filter_allows(const char *const *include, size_t include_count,
                        const char *const *exclude, size_t exclude_count, const char *name);

#endif
