/* Waiting for SIGINT or SIGTERM with the self-pipe trick: the handler only write()s one
 * byte (async-signal-safe), and the main thread blocks in read() on the other end. The
 * first of either signal resets both to the default action, so any second one (Ctrl-C
 * then a service manager's SIGTERM, or the reverse) ends a stop that hangs instead of
 * being ignored. */
#include "stop_signal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static int stop_pipe[2] = { -1, -1 };

static void request_stop(void)
{
    int saved_errno = errno;
    if (stop_pipe[1] >= 0) {
        char byte = 1;
        /* a full pipe already holds a request; losing this byte loses nothing */
        ssize_t ignored = write(stop_pipe[1], &byte, 1);
        (void)ignored;
    }
    errno = saved_errno;
}

static void on_signal(int signo)
{
    (void)signo;
    /* SA_RESETHAND resets only the signal that came; sigaction is async-signal-safe */
    struct sigaction fallback;
    memset(&fallback, 0, sizeof fallback);
    fallback.sa_handler = SIG_DFL;
    sigemptyset(&fallback.sa_mask);
    sigaction(SIGINT, &fallback, NULL);
    sigaction(SIGTERM, &fallback, NULL);
    request_stop();
}

static void set_flags(int fd, int fd_flags, int status_flags)
{
    int current = fcntl(fd, F_GETFD);
    if (current >= 0)
        fcntl(fd, F_SETFD, current | fd_flags);
    current = fcntl(fd, F_GETFL);
    if (current >= 0)
        fcntl(fd, F_SETFL, current | status_flags);
}

void stop_signal_install(void)
{
    if (stop_pipe[0] < 0) {
        if (pipe(stop_pipe) != 0) {
            stop_pipe[0] = stop_pipe[1] = -1;
            return;
        }
        set_flags(stop_pipe[0], FD_CLOEXEC, 0);
        set_flags(stop_pipe[1], FD_CLOEXEC, O_NONBLOCK);
    }

    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND | SA_RESTART;
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);

    /* a scraper that hangs up mid-response must not kill the exporter */
    struct sigaction ignore;
    memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGPIPE, &ignore, NULL);
}

void stop_signal_wait(void)
{
    if (stop_pipe[0] < 0) {
        /* no pipe (install failed or was not called): the signals keep their default
         * action, which ends the process; wait for that */
        for (;;)
            pause();
    }
    char byte;
    for (;;) {
        /* poll before read: ThreadSanitizer delivers signals only inside calls it knows to
         * block (poll is one, read is not), so a bare read would never see the request */
        struct pollfd readable = { .fd = stop_pipe[0], .events = POLLIN };
        if (poll(&readable, 1, -1) < 0 && errno != EINTR)
            return;
        if (!(readable.revents & (POLLIN | POLLHUP)))
            continue;
        ssize_t n = read(stop_pipe[0], &byte, 1);
        if (n == 1)
            return;
        if (n < 0 && errno == EINTR)
            continue;
        return; /* the write end cannot close while we hold it; treat oddities as a stop */
    }
}

void stop_signal_raise(void)
{
    request_stop();
}
