/* collector/file_open.h on POSIX systems: names are bytes, and UTF-8 ones work as they are.
 * O_NONBLOCK makes opening a FIFO return at once instead of waiting for a writer; fstat on
 * the open descriptor then refuses it, with no window for the path to change in between. */
#include "file_open.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static FILE *refuse(int fd, const char *reason, char *why, size_t why_size)
{
    close(fd);
    snprintf(why, why_size, "%s", reason);
    return NULL;
}

FILE *file_open_read(const char *path, char *why, size_t why_size)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, why_size, "cannot open: %s", strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int saved = errno;
        close(fd);
        snprintf(why, why_size, "cannot open: %s", strerror(saved));
        return NULL;
    }
    if (S_ISDIR(st.st_mode))
        return refuse(fd, FILE_OPEN_IS_DIRECTORY, why, why_size);
    if (!S_ISREG(st.st_mode))
        return refuse(fd, FILE_OPEN_NOT_REGULAR, why, why_size);
    /* O_NONBLOCK means nothing for a regular file; cleared so that no later reader
     * wonders about short reads */
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0)
        fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    FILE *file = fdopen(fd, "rb");
    if (file == NULL) {
        int saved = errno;
        close(fd);
        snprintf(why, why_size, "cannot open: %s", strerror(saved));
    }
    return file;
}
