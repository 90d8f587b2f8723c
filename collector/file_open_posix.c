/* collector/file_open.h on POSIX systems: names are bytes, and UTF-8 ones work as they are. */
#include "file_open.h"

FILE *file_open_read(const char *path)
{
    return fopen(path, "rb");
}
