/* The IP Helper scan (collector/connection_scan_win.c) driven through its seam
 * (collector/ip_helper_seam_win.h), as a Windows executable run under Wine: fakes of
 * GetExtendedTcpTable / GetExtendedUdpTable built with the real Windows structures return
 * rows of every state in both families, tables that grow between the size call and the
 * data call (once, or without end), and errors. The last test calls the real API. */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <iphlpapi.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "connection_scan.h"
#include "ip_helper_seam_win.h"

#define MAX_ROWS 64
#define STATES 12

/* A port as IP Helper stores it: network byte order in the low 16 bits, and (as the docs
 * of MIB_TCPROW2 warn) possibly garbage above. */
static DWORD wire_port(uint16_t port)
{
    return 0xABCD0000u | (DWORD)(port >> 8) | (DWORD)(port & 0xFF) << 8;
}

/* ---- the fake tables ---- */

struct fake_table {
    const char *name;
    size_t rows_offset, row_size;
    unsigned char *rows;              /* MAX_ROWS rows of the table's row type */
    void (*make_row)(void *row, DWORD index);
    DWORD entries;
    int calls;
    DWORD size_call_error, data_call_error;
    DWORD grow_after_size_call;       /* rows that appear between size and data call */
    DWORD grow_after_every_refusal;   /* rows that appear after each "too small" */
};

static MIB_TCPROW_OWNER_PID tcp4_rows[MAX_ROWS];
static MIB_TCP6ROW_OWNER_PID tcp6_rows[MAX_ROWS];
static MIB_UDPROW_OWNER_PID udp4_rows[MAX_ROWS];
static MIB_UDP6ROW_OWNER_PID udp6_rows[MAX_ROWS];

/* Row i of a TCP table: state i % 12 + 1, pid 100 (IPv4) or 200 (IPv6) + state, port
 * 1000 + state. */
static DWORD state_of(DWORD index)
{
    return index % STATES + 1;
}

static void make_tcp4(void *row, DWORD index)
{
    MIB_TCPROW_OWNER_PID *r = row;
    memset(r, 0, sizeof *r);
    r->dwState = state_of(index);
    r->dwOwningPid = 100 + state_of(index);
    r->dwLocalPort = wire_port((uint16_t)(1000 + state_of(index)));
    r->dwRemotePort = wire_port(443);
}

static void make_tcp6(void *row, DWORD index)
{
    MIB_TCP6ROW_OWNER_PID *r = row;
    memset(r, 0, sizeof *r);
    r->dwState = state_of(index);
    r->dwOwningPid = 200 + state_of(index);
    r->dwLocalPort = wire_port((uint16_t)(1000 + state_of(index)));
    r->ucLocalAddr[15] = 1;
}

/* UDP row i: pid 300 (IPv4) or 400 (IPv6) + i, port 5000 + i. */
static void make_udp4(void *row, DWORD index)
{
    MIB_UDPROW_OWNER_PID *r = row;
    memset(r, 0, sizeof *r);
    r->dwOwningPid = 300 + index;
    r->dwLocalPort = wire_port((uint16_t)(5000 + index));
}

static void make_udp6(void *row, DWORD index)
{
    MIB_UDP6ROW_OWNER_PID *r = row;
    memset(r, 0, sizeof *r);
    r->dwOwningPid = 400 + index;
    r->dwLocalPort = wire_port((uint16_t)(5000 + index));
}

static struct fake_table tcp4, tcp6, udp4, udp6;

static void grow(struct fake_table *t, DWORD rows)
{
    for (DWORD i = 0; i < rows && t->entries < MAX_ROWS; i++) {
        t->make_row(t->rows + (size_t)t->entries * t->row_size, t->entries);
        t->entries++;
    }
}

static DWORD needed_size(const struct fake_table *t)
{
    return (DWORD)(t->rows_offset + (size_t)t->entries * t->row_size);
}

static DWORD answer(struct fake_table *t, void *buffer, DWORD *size)
{
    t->calls++;
    if (buffer == NULL) {
        if (t->size_call_error != 0)
            return t->size_call_error;
        *size = needed_size(t);
        grow(t, t->grow_after_size_call);
        return ERROR_INSUFFICIENT_BUFFER;
    }
    if (t->data_call_error != 0)
        return t->data_call_error;
    if (*size < needed_size(t)) {
        *size = needed_size(t);
        grow(t, t->grow_after_every_refusal);
        return ERROR_INSUFFICIENT_BUFFER;
    }
    memcpy(buffer, &t->entries, sizeof t->entries);
    memcpy((char *)buffer + t->rows_offset, t->rows, (size_t)t->entries * t->row_size);
    return NO_ERROR;
}

static DWORD WINAPI fake_tcp_table(PVOID table, PDWORD size, BOOL order, ULONG family,
                                   TCP_TABLE_CLASS table_class, ULONG reserved)
{
    assert_int_equal(table_class, TCP_TABLE_OWNER_PID_ALL);
    assert_int_equal(reserved, 0);
    (void)order;
    assert_true(family == AF_INET || family == AF_INET6);
    return answer(family == AF_INET ? &tcp4 : &tcp6, table, size);
}

static DWORD WINAPI fake_udp_table(PVOID table, PDWORD size, BOOL order, ULONG family,
                                   UDP_TABLE_CLASS table_class, ULONG reserved)
{
    assert_int_equal(table_class, UDP_TABLE_OWNER_PID);
    assert_int_equal(reserved, 0);
    (void)order;
    assert_true(family == AF_INET || family == AF_INET6);
    return answer(family == AF_INET ? &udp4 : &udp6, table, size);
}

static void init_table(struct fake_table *t, const char *name, size_t rows_offset,
                       size_t row_size, void *rows, void (*make_row)(void *, DWORD),
                       DWORD entries)
{
    *t = (struct fake_table){ .name = name, .rows_offset = rows_offset, .row_size = row_size,
                              .rows = rows, .make_row = make_row };
    grow(t, entries);
}

static int setup(void **state)
{
    (void)state;
    init_table(&tcp4, "tcp4", offsetof(MIB_TCPTABLE_OWNER_PID, table),
               sizeof(MIB_TCPROW_OWNER_PID), tcp4_rows, make_tcp4, STATES);
    init_table(&tcp6, "tcp6", offsetof(MIB_TCP6TABLE_OWNER_PID, table),
               sizeof(MIB_TCP6ROW_OWNER_PID), tcp6_rows, make_tcp6, STATES);
    init_table(&udp4, "udp4", offsetof(MIB_UDPTABLE_OWNER_PID, table),
               sizeof(MIB_UDPROW_OWNER_PID), udp4_rows, make_udp4, 2);
    init_table(&udp6, "udp6", offsetof(MIB_UDP6TABLE_OWNER_PID, table),
               sizeof(MIB_UDP6ROW_OWNER_PID), udp6_rows, make_udp6, 1);
    ip_helper_seam.get_extended_tcp_table = fake_tcp_table;
    ip_helper_seam.get_extended_udp_table = fake_udp_table;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ip_helper_seam_reset();
    return 0;
}

/* ---- checking what came back ---- */

struct seen {
    int tcp[FAMILY_COUNT][STATES + 1];
    int udp[FAMILY_COUNT];
};

/* Every row must be one the fakes made, converted exactly; tallies them. */
static void check_rows(const struct connection_row *rows, size_t count, struct seen *seen)
{
    memset(seen, 0, sizeof *seen);
    for (size_t i = 0; i < count; i++) {
        const struct connection_row *r = &rows[i];
        assert_true(r->family == FAMILY_IPV4 || r->family == FAMILY_IPV6);
        if (r->protocol == CONN_TCP) {
            assert_in_range(r->tcp_state, 1, STATES);
            assert_int_equal(r->pid, (r->family == FAMILY_IPV4 ? 100 : 200) + r->tcp_state);
            assert_int_equal(r->local_port, 1000 + r->tcp_state);
            seen->tcp[r->family][r->tcp_state]++;
        } else {
            assert_int_equal(r->protocol, CONN_UDP);
            uint32_t index = r->pid - (r->family == FAMILY_IPV4 ? 300 : 400);
            assert_in_range(index, 0, MAX_ROWS - 1);
            assert_int_equal(r->local_port, 5000 + index);
            seen->udp[r->family]++;
        }
    }
}

static void test_rows_of_every_state_in_both_families(void **state)
{
    (void)state;
    struct connection_row *rows = NULL;
    size_t count = 0;
    char error[256] = "";
    assert_true(connection_scan_system(&rows, &count, error, sizeof error));
    assert_int_equal(count, 2 * STATES + 3);
    struct seen seen;
    check_rows(rows, count, &seen);
    for (int s = 1; s <= STATES; s++) {
        assert_int_equal(seen.tcp[FAMILY_IPV4][s], 1);
        assert_int_equal(seen.tcp[FAMILY_IPV6][s], 1);
    }
    assert_int_equal(seen.udp[FAMILY_IPV4], 2);
    assert_int_equal(seen.udp[FAMILY_IPV6], 1);
    /* one size call and one data call per table */
    assert_int_equal(tcp4.calls, 2);
    assert_int_equal(tcp6.calls, 2);
    assert_int_equal(udp4.calls, 2);
    assert_int_equal(udp6.calls, 2);

    /* and through the aggregation: the LISTEN rows and the UDP endpoints are listeners */
    struct connection_snapshot *s = connection_snapshot_build(rows, count, 0, 0);
    assert_non_null(s);
    assert_int_equal(s->listener_count, 2 + 3);
    assert_int_equal(s->rows_seen[CONN_TCP], 2 * STATES);
    const struct connection_pid_entry *e = connection_snapshot_find(s, 100 + TCP_STATE_TIME_WAIT);
    assert_non_null(e);
    assert_int_equal(e->tcp[FAMILY_IPV4][TCP_STATE_TIME_WAIT], 1);
    connection_snapshot_release(s);
    free(rows);
}

static void test_empty_tables(void **state)
{
    (void)state;
    tcp4.entries = tcp6.entries = udp4.entries = udp6.entries = 0;
    struct connection_row *rows = NULL;
    size_t count = 1;
    char error[256] = "";
    assert_true(connection_scan_system(&rows, &count, error, sizeof error));
    assert_int_equal(count, 0);
    free(rows);
}

static void test_table_that_grows_once_is_read_again(void **state)
{
    (void)state;
    tcp6.grow_after_size_call = 5;
    struct connection_row *rows = NULL;
    size_t count = 0;
    char error[256] = "";
    assert_true(connection_scan_system(&rows, &count, error, sizeof error));
    /* size call, a data call told "too small" with the new size, a data call that fits */
    assert_int_equal(tcp6.calls, 3);
    assert_int_equal(count, 2 * STATES + 5 + 3);
    struct seen seen;
    check_rows(rows, count, &seen);
    assert_int_equal(seen.tcp[FAMILY_IPV6][1], 2);   /* row 12 is state 1 again */
    free(rows);
}

static void test_table_that_keeps_growing_fails(void **state)
{
    (void)state;
    udp4.grow_after_every_refusal = 2;
    udp4.grow_after_size_call = 2;
    struct connection_row *rows = (struct connection_row *)&rows;   /* must be reset */
    size_t count = 99;
    char error[256] = "";
    assert_false(connection_scan_system(&rows, &count, error, sizeof error));
    assert_null(rows);
    assert_int_equal(count, 0);
    /* the size call, then the first data call and four retries */
    assert_int_equal(udp4.calls, 1 + 5);
    assert_int_equal(udp6.calls, 0);   /* the scan stopped at the first failure */
    printf("error: %s\n", error);
    assert_non_null(strstr(error, "GetExtendedUdpTable (IPv4): the table kept growing: "
                                  "still too small after 5 tries"));
}

static void test_size_call_error(void **state)
{
    (void)state;
    tcp6.size_call_error = ERROR_NOT_SUPPORTED;
    struct connection_row *rows = NULL;
    size_t count = 0;
    char error[256] = "";
    assert_false(connection_scan_system(&rows, &count, error, sizeof error));
    assert_null(rows);
    printf("error: %s\n", error);
    assert_memory_equal(error, "GetExtendedTcpTable (IPv6): 50", 30);
    assert_int_equal(tcp6.calls, 1);
}

static void test_data_call_error(void **state)
{
    (void)state;
    udp6.data_call_error = ERROR_INVALID_PARAMETER;
    struct connection_row *rows = NULL;
    size_t count = 0;
    char error[256] = "";
    assert_false(connection_scan_system(&rows, &count, error, sizeof error));
    assert_null(rows);
    printf("error: %s\n", error);
    assert_memory_equal(error, "GetExtendedUdpTable (IPv6): 87", 30);
    assert_int_equal(udp6.calls, 2);
}

/* The system's clock is a FILETIME: what GetSystemTimeAsFileTime says, give or take. */
static void test_system_clock(void **state)
{
    (void)state;
    FILETIME ft;
    GetSystemTimeAsFileTime(&ft);
    uint64_t before = (uint64_t)ft.dwHighDateTime << 32 | ft.dwLowDateTime;
    uint64_t now = connection_clock_system(NULL);
    assert_true(now >= before);
    assert_true(now - before < 10000000u);
}

/* ---- the real API, under Wine ---- */

static SOCKET listen_on_loopback(uint16_t *port)
{
    WSADATA wsa;
    assert_int_equal(WSAStartup(MAKEWORD(2, 2), &wsa), 0);
    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    assert_true(s != INVALID_SOCKET);
    struct sockaddr_in addr = { .sin_family = AF_INET };
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(listen(s, 4), 0);
    int len = sizeof addr;
    assert_int_equal(getsockname(s, (struct sockaddr *)&addr, &len), 0);
    *port = ntohs(addr.sin_port);
    return s;
}

static void test_real_ip_helper(void **state)
{
    (void)state;
    uint16_t port = 0;
    SOCKET listener = listen_on_loopback(&port);
    ip_helper_seam_reset();

    struct connection_row *rows = NULL;
    size_t count = 0;
    char error[256] = "";
    bool ok = connection_scan_system(&rows, &count, error, sizeof error);
    if (!ok)
        fail_msg("the real scan failed: %s", error);
    assert_true(count >= 1);

    size_t listening = 0, ours = 0;
    for (size_t i = 0; i < count; i++) {
        if (rows[i].protocol != CONN_TCP || rows[i].tcp_state != TCP_STATE_LISTEN)
            continue;
        listening++;
        if (rows[i].local_port == port && rows[i].family == FAMILY_IPV4) {
            ours++;
            /* Windows names this process; Wine has said 0 for every row */
            printf("our listener on 127.0.0.1:%u: owner pid %lu (this process is %lu)\n",
                   (unsigned)port, (unsigned long)rows[i].pid,
                   (unsigned long)GetCurrentProcessId());
        }
    }
    printf("real scan: %zu rows, %zu TCP LISTEN; pids:", count, listening);
    for (size_t i = 0; i < count && i < 16; i++)
        printf(" %lu", (unsigned long)rows[i].pid);
    printf("%s\n", count > 16 ? " ..." : "");
    assert_true(listening >= 1);
    assert_int_equal(ours, 1);
    free(rows);
    closesocket(listener);
    WSACleanup();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rows_of_every_state_in_both_families, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_empty_tables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_table_that_grows_once_is_read_again, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_table_that_keeps_growing_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_call_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_data_call_error, setup, teardown),
        cmocka_unit_test(test_system_clock),
        cmocka_unit_test_setup_teardown(test_real_ip_helper, NULL, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
