/* A monotonic clock and a sleep for pacing a replay by its trace's timestamps. The wall
 * clock would not do: a clock step (NTP, an administrator) would stall or rush the pace.
 * replay_clock_posix.c and replay_clock_win.c implement it. */
#ifndef TCPIP_EXPORTER_REPLAY_CLOCK_H
#define TCPIP_EXPORTER_REPLAY_CLOCK_H

#include <stdint.h>

/* Nanoseconds since an arbitrary start; never goes back. */
uint64_t replay_clock_now_ns(void);

/* Sleep about this long (the platform's timer granularity may lengthen it). */
void replay_clock_sleep_ns(uint64_t ns);

#endif
