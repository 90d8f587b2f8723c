/* The service control manager calls of the service scan, behind function pointers, so the
 * Windows tests can page, grow and fail them at will. Windows only. */
#ifndef TCPIP_EXPORTER_SCM_ENUM_SEAM_H
#define TCPIP_EXPORTER_SCM_ENUM_SEAM_H

#include <windows.h>

struct scm_enum_seam {
    SC_HANDLE (WINAPI *open_sc_manager)(LPCWSTR machine, LPCWSTR database, DWORD access);
    BOOL (WINAPI *enum_services)(SC_HANDLE manager, SC_ENUM_TYPE level, DWORD service_type,
                                 DWORD service_state, LPBYTE buffer, DWORD buffer_size,
                                 LPDWORD bytes_needed, LPDWORD services_returned,
                                 LPDWORD resume_handle, LPCWSTR group_name);
    BOOL (WINAPI *close_service_handle)(SC_HANDLE handle);
    /* The scanner's one-second tick: fakes make it instant. */
    DWORD (WINAPI *wait_for)(HANDLE handle, DWORD milliseconds);
};

extern struct scm_enum_seam scm_enum_seam;
void scm_enum_seam_reset(void);

#endif
