/* collector/file_open.h on Windows: the name goes to _wfopen as UTF-16. A directory is
 * recognised by its attributes first (_wfopen would only say "Permission denied"); after
 * the open, GetFileType refuses what is not a disk file: a named pipe (\\.\pipe\x), a
 * console or a device such as NUL or COM1. Opening any of these does not block. */
#include <windows.h>

#include <errno.h>
#include <io.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "file_open.h"

static wchar_t *to_wide(const char *path)
{
    int chars = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, NULL, 0);
    if (chars <= 0) {
        errno = EINVAL; /* not UTF-8: no file can have that name */
        return NULL;
    }
    wchar_t *wide = malloc((size_t)chars * sizeof *wide);
    if (wide == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, wide, chars);
    return wide;
}

static bool is_directory(const wchar_t *wide)
{
    DWORD attributes = GetFileAttributesW(wide);
    return attributes != INVALID_FILE_ATTRIBUTES && (attributes & FILE_ATTRIBUTE_DIRECTORY);
}

static bool is_disk_file(FILE *file)
{
    HANDLE handle = (HANDLE)_get_osfhandle(_fileno(file));
    return handle != INVALID_HANDLE_VALUE && GetFileType(handle) == FILE_TYPE_DISK;
}

FILE *file_open_read(const char *path, char *why, size_t why_size)
{
    wchar_t *wide = to_wide(path);
    if (wide == NULL) {
        snprintf(why, why_size, "cannot open: %s", strerror(errno));
        return NULL;
    }
    if (is_directory(wide)) {
        free(wide);
        snprintf(why, why_size, "%s", FILE_OPEN_IS_DIRECTORY);
        return NULL;
    }
    FILE *file = _wfopen(wide, L"rb");
    int saved = errno;
    free(wide);
    if (file == NULL) {
        snprintf(why, why_size, "cannot open: %s", strerror(saved));
        return NULL;
    }
    if (!is_disk_file(file)) {
        fclose(file);
        snprintf(why, why_size, "%s", FILE_OPEN_NOT_REGULAR);
        return NULL;
    }
    return file;
}
