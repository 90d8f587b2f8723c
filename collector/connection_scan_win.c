/* connection_scan_system on Windows: the four owner-pid tables of IP Helper (TCP and UDP,
 * IPv4 and IPv6), read through collector/ip_helper_seam_win.h.
 *
 * Each table is read the way IP Helper asks: a call without a buffer tells the size, a
 * second call fills the buffer. Connections come and go between the two calls, so the
 * data call may answer ERROR_INSUFFICIENT_BUFFER with a larger size; the buffer is grown
 * and the call retried, a bounded number of times so that a table that never stops
 * growing fails the scan instead of holding a scrape. */
#include "connection_scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "ip_helper_seam_win.h"
#include "win_error_win.h"

/* Data calls after the first one that found the table grown. */
#define TABLE_RETRIES 4

/* One of the four tables: how to ask for it and how its rows look. */
struct table_kind {
    const char *api;
    const char *family_name;
    ULONG address_family;
    enum connection_protocol protocol;
    enum ip_family family;
    size_t rows_offset;        /* offsetof(table, table): the docs warn of padding there */
    size_t row_size;
    void (*convert)(const void *row, struct connection_row *out);
};

/* The low 16 bits of the DWORD hold the port in network byte order; the docs of the
 * newer row types warn that the upper 16 bits may hold uninitialised data. */
static uint16_t port_of(DWORD network_order)
{
    return (uint16_t)((network_order & 0xFFu) << 8 | (network_order >> 8 & 0xFFu));
}

static void convert_tcp4(const void *row, struct connection_row *out)
{
    const MIB_TCPROW_OWNER_PID *r = row;
    *out = (struct connection_row){
        .pid = r->dwOwningPid, .tcp_state = r->dwState, .family = FAMILY_IPV4,
        .protocol = CONN_TCP, .local_port = port_of(r->dwLocalPort),
    };
}

static void convert_tcp6(const void *row, struct connection_row *out)
{
    const MIB_TCP6ROW_OWNER_PID *r = row;
    *out = (struct connection_row){
        .pid = r->dwOwningPid, .tcp_state = r->dwState, .family = FAMILY_IPV6,
        .protocol = CONN_TCP, .local_port = port_of(r->dwLocalPort),
    };
}

static void convert_udp4(const void *row, struct connection_row *out)
{
    const MIB_UDPROW_OWNER_PID *r = row;
    *out = (struct connection_row){
        .pid = r->dwOwningPid, .family = FAMILY_IPV4, .protocol = CONN_UDP,
        .local_port = port_of(r->dwLocalPort),
    };
}

static void convert_udp6(const void *row, struct connection_row *out)
{
    const MIB_UDP6ROW_OWNER_PID *r = row;
    *out = (struct connection_row){
        .pid = r->dwOwningPid, .family = FAMILY_IPV6, .protocol = CONN_UDP,
        .local_port = port_of(r->dwLocalPort),
    };
}

static const struct table_kind table_kinds[] = {
    {"GetExtendedTcpTable", "IPv4", AF_INET, CONN_TCP, FAMILY_IPV4,
     offsetof(MIB_TCPTABLE_OWNER_PID, table), sizeof(MIB_TCPROW_OWNER_PID), convert_tcp4},
    {"GetExtendedTcpTable", "IPv6", AF_INET6, CONN_TCP, FAMILY_IPV6,
     offsetof(MIB_TCP6TABLE_OWNER_PID, table), sizeof(MIB_TCP6ROW_OWNER_PID), convert_tcp6},
    {"GetExtendedUdpTable", "IPv4", AF_INET, CONN_UDP, FAMILY_IPV4,
     offsetof(MIB_UDPTABLE_OWNER_PID, table), sizeof(MIB_UDPROW_OWNER_PID), convert_udp4},
    {"GetExtendedUdpTable", "IPv6", AF_INET6, CONN_UDP, FAMILY_IPV6,
     offsetof(MIB_UDP6TABLE_OWNER_PID, table), sizeof(MIB_UDP6ROW_OWNER_PID), convert_udp6},
};
#define TABLE_KINDS ARRAY_SIZE(table_kinds)

/* A table as read: its buffer and how many rows it holds. */
struct fetched_table {
    void *buffer;
    DWORD entries;
};

static DWORD call_table(const struct table_kind *kind, void *buffer, DWORD *size)
{
    /* FALSE: unsorted; the snapshot sorts what it needs, and sorting costs the kernel */
    if (kind->protocol == CONN_TCP)
        return ip_helper_seam.get_extended_tcp_table(buffer, size, FALSE, kind->address_family,
                                                     TCP_TABLE_OWNER_PID_ALL, 0);
    return ip_helper_seam.get_extended_udp_table(buffer, size, FALSE, kind->address_family,
                                                 UDP_TABLE_OWNER_PID, 0);
}

static bool table_error(const struct table_kind *kind, char *error, size_t error_size,
                        const char *reason)
{
    snprintf(error, error_size, "%s (%s): %s", kind->api, kind->family_name, reason);
    return false;
}

static bool api_error(const struct table_kind *kind, DWORD code, char *error,
                      size_t error_size)
{
    return table_error(kind, error, error_size, win_error_describe(code).text);
}

/* Checks that the row count the table claims fits in the buffer it was written to. */
static bool take_entries(const struct table_kind *kind, const void *buffer, DWORD size,
                         DWORD *entries, char *error, size_t error_size)
{
    DWORD claimed = 0;
    if (size >= sizeof claimed)
        memcpy(&claimed, buffer, sizeof claimed);
    if (size < sizeof claimed ||
        (claimed > 0 && (size < kind->rows_offset ||
                         (size - kind->rows_offset) / kind->row_size < claimed))) {
        char reason[128];
        snprintf(reason, sizeof reason, "the table claims %lu rows, more than its %lu bytes hold",
                 (unsigned long)claimed, (unsigned long)size);
        return table_error(kind, error, error_size, reason);
    }
    *entries = claimed;
    return true;
}

/* The data calls: `size` is what the size call asked for. */
static bool fill_table(const struct table_kind *kind, DWORD size, struct fetched_table *out,
                       char *error, size_t error_size)
{
    for (int attempt = 0; attempt <= TABLE_RETRIES; attempt++) {
        void *grown = realloc(out->buffer, size > 0 ? size : 1);
        if (grown == NULL)
            return table_error(kind, error, error_size, "out of memory");
        out->buffer = grown;
        DWORD given = size;
        DWORD rc = call_table(kind, out->buffer, &size);
        if (rc == NO_ERROR)
            return take_entries(kind, out->buffer, given, &out->entries, error, error_size);
        if (rc != ERROR_INSUFFICIENT_BUFFER)
            return api_error(kind, rc, error, error_size);
        if (size <= given)   /* "too small" without a larger size: grow anyway */
            size = given + given / 2 + 1024;
    }
    char reason[128];
    snprintf(reason, sizeof reason,
             "the table kept growing: still too small after %d tries (%lu bytes asked)",
             TABLE_RETRIES + 1, (unsigned long)size);
    return table_error(kind, error, error_size, reason);
}

static bool fetch_table(const struct table_kind *kind, struct fetched_table *out,
                        char *error, size_t error_size)
{
    DWORD size = 0;
    DWORD rc = call_table(kind, NULL, &size);
    if (rc == NO_ERROR)   /* nothing to report, so nothing to allocate */
        return true;
    if (rc != ERROR_INSUFFICIENT_BUFFER)
        return api_error(kind, rc, error, error_size);
    if (fill_table(kind, size, out, error, error_size))
        return true;
    free(out->buffer);
    out->buffer = NULL;
    return false;
}

static void convert_table(const struct table_kind *kind, const struct fetched_table *table,
                          struct connection_row *out)
{
    const char *row = (const char *)table->buffer + kind->rows_offset;
    for (DWORD i = 0; i < table->entries; i++, row += kind->row_size)
        kind->convert(row, &out[i]);
}

static void free_tables(struct fetched_table *tables)
{
    for (size_t k = 0; k < TABLE_KINDS; k++)
        free(tables[k].buffer);
}

bool connection_scan_system(struct connection_row **rows, size_t *count, char *error,
                            size_t error_size)
{
    *rows = NULL;
    *count = 0;
    struct fetched_table tables[TABLE_KINDS] = {{0}};
    size_t total = 0;
    for (size_t k = 0; k < TABLE_KINDS; k++) {
        if (!fetch_table(&table_kinds[k], &tables[k], error, error_size)) {
            free_tables(tables);
            return false;
        }
        total += tables[k].entries;
    }
    struct connection_row *out = malloc((total > 0 ? total : 1) * sizeof *out);
    if (out == NULL) {
        free_tables(tables);
        snprintf(error, error_size, "connections: out of memory for %zu rows", total);
        return false;
    }
    size_t filled = 0;
    for (size_t k = 0; k < TABLE_KINDS; k++) {
        convert_table(&table_kinds[k], &tables[k], out + filled);
        filled += tables[k].entries;
    }
    free_tables(tables);
    *rows = out;
    *count = total;
    return true;
}

uint64_t connection_clock_system(void *context)
{
    (void)context;
    FILETIME now;
    GetSystemTimeAsFileTime(&now);
    return (uint64_t)now.dwHighDateTime << 32 | now.dwLowDateTime;
}
