/* collector/file_open.h on Windows: the name goes to _wfopen as UTF-16. */
#include <windows.h>

#include <errno.h>
#include <stdlib.h>

#include "file_open.h"

FILE *file_open_read(const char *path)
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
    FILE *file = _wfopen(wide, L"rb");
    free(wide);
    return file;
}
