/* replay_clock.h on POSIX: CLOCK_MONOTONIC and nanosleep. */
#include "replay_clock.h"

#include <errno.h>
#include <time.h>

uint64_t replay_clock_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void replay_clock_sleep_ns(uint64_t ns)
{
    struct timespec left = { .tv_sec = (time_t)(ns / 1000000000u),
                             .tv_nsec = (long)(ns % 1000000000u) };
    /* a signal handler's interruption is not the end of the wait */
    while (nanosleep(&left, &left) != 0 && errno == EINTR) {
    }
}
