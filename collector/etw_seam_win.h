/* The handful of trace API calls the live session makes, behind a table of function
 * pointers. Production uses the real advapi32 functions; the Windows tests replace them
 * with fakes that deliver EVENT_RECORDs or fail the way a real system does (a session that
 * already exists, a consumer that returns because someone stopped the session). Windows only. */
#ifndef TCPIP_EXPORTER_ETW_SEAM_H
#define TCPIP_EXPORTER_ETW_SEAM_H

#include <windows.h>
#include <evntrace.h>
#include <evntcons.h>

struct etw_seam {
    ULONG (WINAPI *start_trace)(PTRACEHANDLE handle, LPCWSTR name,
                                PEVENT_TRACE_PROPERTIES properties);
    ULONG (WINAPI *control_trace)(TRACEHANDLE handle, LPCWSTR name,
                                  PEVENT_TRACE_PROPERTIES properties, ULONG control);
    TRACEHANDLE (WINAPI *open_trace)(PEVENT_TRACE_LOGFILEW logfile);
    ULONG (WINAPI *process_trace)(PTRACEHANDLE handles, ULONG count, LPFILETIME start,
                                  LPFILETIME end);
    ULONG (WINAPI *close_trace)(TRACEHANDLE handle);
    /* Whether the OS has the system logger mode (Windows 8 and later). */
    BOOL (*system_logger_available)(void);
    /* Sleep that the session's back-off uses: fakes make restarts instant in tests. */
    DWORD (WINAPI *wait_for)(HANDLE handle, DWORD milliseconds);
    /* The kernel's pointer size, 4 or 8: what real-time records without a pointer-size
     * flag use (the logfile header's PointerSize is not reliable for a real-time session). */
    DWORD (*os_pointer_size)(void);
    /* Logical processors in every group (GetActiveProcessorCount(ALL_PROCESSOR_GROUPS)):
     * the default buffer counts scale with it. */
    DWORD (*processor_count)(void);
    /* The instance claim's named mutex (CreateMutexW). */
    HANDLE (WINAPI *create_mutex)(LPSECURITY_ATTRIBUTES attributes, BOOL initial_owner,
                                  LPCWSTR name);
};

/* The table in force. Tests assign to it before live_session_start and restore it with
 * etw_seam_reset; nothing else writes it. */
extern struct etw_seam etw_seam;

void etw_seam_reset(void);

#endif
