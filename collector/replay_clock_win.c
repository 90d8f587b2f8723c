/* replay_clock.h on Windows: QueryPerformanceCounter (monotonic, documented never to fail
 * on Windows XP and later) and Sleep, whose ~15.6 ms tick the pacing absorbs by catching
 * up on the next record. */
#include "replay_clock.h"

#include <windows.h>

uint64_t replay_clock_now_ns(void)
{
    static LARGE_INTEGER frequency; /* fixed at boot; a racing first call stores the same */
    LARGE_INTEGER count;
    if (frequency.QuadPart == 0)
        QueryPerformanceFrequency(&frequency);
    QueryPerformanceCounter(&count);
    uint64_t f = (uint64_t)frequency.QuadPart, c = (uint64_t)count.QuadPart;
    /* split so that count * 1e9 cannot overflow */
    return c / f * 1000000000u + c % f * 1000000000u / f;
}

void replay_clock_sleep_ns(uint64_t ns)
{
    uint64_t ms = ns / 1000000u;
    Sleep(ms > 0xFFFFFFFEu ? 0xFFFFFFFEu : (DWORD)ms);
}
