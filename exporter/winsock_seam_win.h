/* The Winsock calls behind the listening socket, as function pointers, so that the Windows
 * tests can make a bind fail the way a real system does (the previous instance's port still
 * held, a Windows 7 without SP1 refusing WSA_FLAG_NO_HANDLE_INHERIT). Production uses the
 * real functions. Windows only. */
#ifndef TCPIP_EXPORTER_WINSOCK_SEAM_WIN_H
#define TCPIP_EXPORTER_WINSOCK_SEAM_WIN_H

#include <winsock2.h>
#include <ws2tcpip.h>

struct winsock_seam {
    SOCKET (WSAAPI *wsa_socket)(int family, int type, int protocol,
                                LPWSAPROTOCOL_INFOW info, GROUP group, DWORD flags);
    int (WSAAPI *bind)(SOCKET s, const struct sockaddr *address, int length);
    int (WSAAPI *listen)(SOCKET s, int backlog);
    BOOL (WINAPI *set_handle_information)(HANDLE object, DWORD mask, DWORD flags);
    void (WINAPI *sleep)(DWORD milliseconds);
};

/* The table in force; tests assign to it and restore it with winsock_seam_reset. */
extern struct winsock_seam winsock_seam;

void winsock_seam_reset(void);

#endif
