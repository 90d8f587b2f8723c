/* The real trace API, as the default contents of the seam. */
#include "etw_seam.h"

/* StartTraceW and friends are declared with WMIAPI (= WINAPI): the pointers match. */
static const struct etw_seam real_seam = {
    .start_trace = StartTraceW,
    .control_trace = ControlTraceW,
    .open_trace = OpenTraceW,
    .process_trace = ProcessTrace,
    .close_trace = CloseTrace,
    .wait_for = WaitForSingleObject,
};

struct etw_seam etw_seam = {
    .start_trace = StartTraceW,
    .control_trace = ControlTraceW,
    .open_trace = OpenTraceW,
    .process_trace = ProcessTrace,
    .close_trace = CloseTrace,
    .wait_for = WaitForSingleObject,
};

void etw_seam_reset(void)
{
    etw_seam = real_seam;
}
