/* The two IP Helper calls the connection scan makes, behind a table of function pointers.
 * Production uses the real iphlpapi functions; the Windows tests replace them with fakes
 * that return made-up tables, tables that grow between the size call and the data call,
 * or errors. Windows only. */
#ifndef TCPIP_EXPORTER_IP_HELPER_SEAM_H
#define TCPIP_EXPORTER_IP_HELPER_SEAM_H

#include <winsock2.h>
#include <ws2tcpip.h>
#include <iphlpapi.h>

struct ip_helper_seam {
    DWORD (WINAPI *get_extended_tcp_table)(PVOID table, PDWORD size, BOOL order,
                                           ULONG address_family, TCP_TABLE_CLASS table_class,
                                           ULONG reserved);
    DWORD (WINAPI *get_extended_udp_table)(PVOID table, PDWORD size, BOOL order,
                                           ULONG address_family, UDP_TABLE_CLASS table_class,
                                           ULONG reserved);
};

/* The table in force. Tests assign to it before connection_scan_system and restore it with
 * ip_helper_seam_reset; nothing else writes it. */
extern struct ip_helper_seam ip_helper_seam;

void ip_helper_seam_reset(void);

#endif
