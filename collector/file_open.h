/* Opening a file by a UTF-8 name, on every platform. Flags, config values and messages are
 * UTF-8 throughout; on Windows the C runtime's fopen would read the name in the ANSI code
 * page, so a path outside it (C:\traces\café.etl on a machine set to another code page)
 * could not be opened. file_open_win.c and file_open_posix.c implement it. */
#ifndef TCPIP_EXPORTER_FILE_OPEN_H
#define TCPIP_EXPORTER_FILE_OPEN_H

#include <stdio.h>

/* fopen(path, "rb") for a UTF-8 path; NULL with errno set when it cannot. */
FILE *file_open_read(const char *path);

#endif
