/* The real trace API, as the default contents of the seam. */
#include "etw_seam.h"

/* StartTraceW and friends are declared with WMIAPI (= WINAPI): the pointers match.
 * A macro because C has no constant of struct type to initialise both tables from. */
#define REAL_SEAM {                     \
        .start_trace = StartTraceW,     \
        .control_trace = ControlTraceW, \
        .open_trace = OpenTraceW,       \
        .process_trace = ProcessTrace,  \
        .close_trace = CloseTrace,      \
        .wait_for = WaitForSingleObject, \
    }

static const struct etw_seam real_seam = REAL_SEAM;

struct etw_seam etw_seam = REAL_SEAM;

void etw_seam_reset(void)
{
    etw_seam = real_seam;
}
