/* The live page's files, embedded by exporter/ui/embed.py at build time (ui_assets.c in the
 * build directory). Each is NUL-terminated; _size excludes the NUL. */
#ifndef TCPIP_EXPORTER_UI_ASSETS_H
#define TCPIP_EXPORTER_UI_ASSETS_H

#include <stddef.h>

extern const char ui_live_html[];
extern const size_t ui_live_html_size;
extern const char ui_live_css[];
extern const size_t ui_live_css_size;
extern const char ui_live_js[];
extern const size_t ui_live_js_size;

#endif
