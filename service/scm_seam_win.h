/* The service control manager calls the service makes while it runs, behind function
 * pointers, so the Windows tests can see what the control handler does (it must only
 * signal: HandlerEx "should avoid operations that might block, such as taking a lock").
 * Production uses the real functions. Windows only. */
#ifndef TCPIP_EXPORTER_SCM_SEAM_WIN_H
#define TCPIP_EXPORTER_SCM_SEAM_WIN_H

#include <windows.h>

struct scm_seam {
    BOOL (WINAPI *set_service_status)(SERVICE_STATUS_HANDLE handle, LPSERVICE_STATUS status);
    BOOL (WINAPI *set_event)(HANDLE event);
};

extern struct scm_seam scm_seam;

void scm_seam_reset(void);

/* The service's HandlerEx decision and its accepted controls, for the tests. */
DWORD scm_handle_control(DWORD control);
DWORD scm_controls_accepted(DWORD state);

#endif
