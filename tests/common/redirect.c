#include "redirect.h"

#ifdef _WIN32
#include "redirect_fd_win.h"
#else
#include "redirect_fd_posix.h"
#endif

int redirect_begin(FILE *stream, FILE *target)
{
    fflush(stream);
    int saved = dup(fileno(stream));
    if (saved < 0)
        return -1;
    if (dup2(fileno(target), fileno(stream)) < 0) {
        close(saved);
        return -1;
    }
    return saved;
}

void redirect_end(FILE *stream, int saved)
{
    fflush(stream);
    dup2(saved, fileno(stream));
    close(saved);
}
