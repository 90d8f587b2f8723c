/* The real trace API, as the default contents of the seam. */
#include "etw_seam_win.h"

/* VersionHelpers.h's IsWindows8OrGreater, which mingw's header offers only to C++ and
 * GNU C. VerifyVersionInfo answers truthfully up to Windows 8 without a manifest. */
static BOOL is_windows_8_or_later(void)
{
    OSVERSIONINFOEXW wanted;
    ZeroMemory(&wanted, sizeof wanted);
    wanted.dwOSVersionInfoSize = sizeof wanted;
    wanted.dwMajorVersion = 6;
    wanted.dwMinorVersion = 2;
    DWORDLONG mask = VerSetConditionMask(0, VER_MAJORVERSION, VER_GREATER_EQUAL);
    mask = VerSetConditionMask(mask, VER_MINORVERSION, VER_GREATER_EQUAL);
    return VerifyVersionInfoW(&wanted, VER_MAJORVERSION | VER_MINORVERSION, mask);
}

/* GetNativeSystemInfo tells the OS's architecture even to a 32-bit process under WOW64. */
static DWORD native_pointer_size(void)
{
    SYSTEM_INFO info;
    GetNativeSystemInfo(&info);
    switch (info.wProcessorArchitecture) {
    case PROCESSOR_ARCHITECTURE_INTEL:
    case PROCESSOR_ARCHITECTURE_ARM:
        return 4;
    default:
        return 8;
    }
}

static DWORD all_processors(void)
{
    return GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
}

/* StartTraceW and friends are declared with WMIAPI (= WINAPI): the pointers match.
 * A macro because C has no constant of struct type to initialise both tables from. */
#define REAL_SEAM {                     \
        .start_trace = StartTraceW,     \
        .control_trace = ControlTraceW, \
        .open_trace = OpenTraceW,       \
        .process_trace = ProcessTrace,  \
        .close_trace = CloseTrace,      \
        .system_logger_available = is_windows_8_or_later, \
        .wait_for = WaitForSingleObject, \
        .create_mutex = CreateMutexW,   \
        .os_pointer_size = native_pointer_size, \
        .processor_count = all_processors, \
    }

static const struct etw_seam real_seam = REAL_SEAM;

struct etw_seam etw_seam = REAL_SEAM;

void etw_seam_reset(void)
{
    etw_seam = real_seam;
}
