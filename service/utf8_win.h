/* UTF-16 from Windows to the UTF-8 the rest of the program speaks. Windows only. */
#ifndef TCPIP_EXPORTER_UTF8_WIN_H
#define TCPIP_EXPORTER_UTF8_WIN_H

#include <wchar.h>

/* A malloc'd UTF-8 copy of wide, or NULL (out of memory, or not convertible). */
char *utf8_from_wide(const wchar_t *wide);

#endif
