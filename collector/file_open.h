/* Opening a file by a UTF-8 name, on every platform. Flags, config values and messages are
 * UTF-8 throughout; on Windows the C runtime's fopen would read the name in the ANSI code
 * page, so a path outside it (C:\traces\café.etl on a machine set to another code page)
 * could not be opened. file_open_win.c and file_open_posix.c implement it.
 *
 * Only regular files are opened: a FIFO or a named pipe would block start-up until a writer
 * came (and swallow the first stop signal meanwhile), and a device such as /dev/zero or NUL
 * never ends or reads as empty, which no message about the file's contents would explain.
 * The open itself never blocks. */
#ifndef TCPIP_EXPORTER_FILE_OPEN_H
#define TCPIP_EXPORTER_FILE_OPEN_H

#include <stddef.h>
#include <stdio.h>

/* What file_open_read says when the path is not a regular file. */
#define FILE_OPEN_IS_DIRECTORY "is a directory"
#define FILE_OPEN_NOT_REGULAR "is not a regular file (a FIFO, device or socket)"

/* fopen(path, "rb") of a regular file with a UTF-8 path. NULL when it cannot, with why
 * set to one phrase without the path: "cannot open: No such file or directory",
 * FILE_OPEN_IS_DIRECTORY or FILE_OPEN_NOT_REGULAR. */
FILE *file_open_read(const char *path, char *why, size_t why_size);

#endif
