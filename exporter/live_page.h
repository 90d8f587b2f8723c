/* GET /: the live page, a small view of the table for a person at the console, and the
 * files it loads (/ui/live.css, /ui/live.js). The page's script reads the JSON API; this
 * module only serves the files. */
#ifndef TCPIP_EXPORTER_LIVE_PAGE_H
#define TCPIP_EXPORTER_LIVE_PAGE_H

#include <stdbool.h>
#include <stddef.h>

/* Sent with every part of the page: the script and style are our own files, the script
 * talks to our own API only, and nothing may frame the page. An image name that got past
 * the escaping could still not run as script. */
#define LIVE_PAGE_SECURITY_POLICY                                                         \
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "       \
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

struct live_page_file {
    const char *path;          /* "/ui/live.js" */
    const char *data;          /* static, NUL-terminated */
    size_t size;
    const char *content_type;
};

/* The page's HTML with the telemetry path (HTML-escaped) and the version in place;
 * malloc'ed, NULL when out of memory. */
char *live_page_html(const char *telemetry_path, const char *version);

/* The file served at url: true with *file filled in, or false. */
bool live_page_file(const char *url, struct live_page_file *file);

#endif
