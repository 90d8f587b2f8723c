/* The Windows listening socket driven through its Winsock seam (exporter/winsock_seam_win.h),
 * run under Wine by the cross build: a quick restart's busy port is retried for a few
 * seconds, a port that stays busy is reported, and a system that refuses
 * WSA_FLAG_NO_HANDLE_INHERIT still gets a socket no child inherits. The real calls behind
 * the fakes are Wine's own Winsock. */
#include <winsock2.h>
#include <ws2tcpip.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "listen_socket.h"
#include "winsock_seam_win.h"

static struct {
    int busy_binds;          /* this many binds fail with WSAEADDRINUSE first */
    int binds, sleeps;
    DWORD slept_ms;
    bool refuse_no_inherit;  /* WSASocket refuses WSA_FLAG_NO_HANDLE_INHERIT (7 before SP1) */
    int sockets_asked;
    DWORD last_flags;
    int handle_info_calls;
    DWORD handle_mask, handle_flags;
} fake;

static int WSAAPI fake_bind(SOCKET s, const struct sockaddr *address, int length)
{
    if (fake.binds++ < fake.busy_binds) {
        WSASetLastError(WSAEADDRINUSE);
        return SOCKET_ERROR;
    }
    return bind(s, address, length);
}

static SOCKET WSAAPI fake_socket(int family, int type, int protocol, LPWSAPROTOCOL_INFOW info,
                                 GROUP group, DWORD flags)
{
    fake.sockets_asked++;
    fake.last_flags = flags;
    if (fake.refuse_no_inherit && (flags & WSA_FLAG_NO_HANDLE_INHERIT)) {
        WSASetLastError(WSAEINVAL);
        return INVALID_SOCKET;
    }
    return WSASocketW(family, type, protocol, info, group, flags);
}

static BOOL WINAPI fake_handle_information(HANDLE object, DWORD mask, DWORD flags)
{
    fake.handle_info_calls++;
    fake.handle_mask = mask;
    fake.handle_flags = flags;
    return SetHandleInformation(object, mask, flags);
}

static void WINAPI fake_sleep(DWORD ms)
{
    fake.sleeps++;
    fake.slept_ms += ms;
}

/* "127.0.0.1:PORT" with a port the system just handed out and took back. */
static const char *free_loopback_address(void)
{
    static char text[32];
    WSADATA wsa;
    assert_int_equal(WSAStartup(MAKEWORD(2, 2), &wsa), 0);
    SOCKET probe = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    assert_true(probe != INVALID_SOCKET);
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(probe, (struct sockaddr *)&a, sizeof a), 0);
    int length = sizeof a;
    assert_int_equal(getsockname(probe, (struct sockaddr *)&a, &length), 0);
    snprintf(text, sizeof text, "127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
    closesocket(probe);
    WSACleanup();
    return text;
}

static int setup(void **state)
{
    (void)state;
    memset(&fake, 0, sizeof fake);
    winsock_seam.bind = fake_bind;
    winsock_seam.wsa_socket = fake_socket;
    winsock_seam.set_handle_information = fake_handle_information;
    winsock_seam.sleep = fake_sleep;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    winsock_seam_reset();
    return 0;
}

static void test_quick_restart_waits_for_the_port(void **state)
{
    (void)state;
    fake.busy_binds = 3;   /* the previous instance's connections close meanwhile */
    listen_socket_t s;
    char err[256] = "";
    assert_true(listen_socket_open(free_loopback_address(), &s, err, sizeof err));
    assert_int_equal(fake.binds, 4);
    assert_int_equal(fake.sleeps, 3);
    listen_socket_close(s);
}

static void test_a_port_that_stays_busy_is_reported(void **state)
{
    (void)state;
    fake.busy_binds = 1000;
    listen_socket_t s;
    char err[256] = "";
    assert_false(listen_socket_open("127.0.0.1:9731", &s, err, sizeof err));
    assert_non_null(strstr(err, "listen address '127.0.0.1:9731': cannot listen: the port is "
                                "already in use"));
    /* bounded: a few seconds of retries, then the caller exits with code 3 */
    assert_true(fake.slept_ms >= 3000 && fake.slept_ms <= 10000);
    assert_int_equal(fake.binds, fake.sleeps + 1);
}

static void test_other_errors_are_not_retried(void **state)
{
    (void)state;
    listen_socket_t s;
    char err[256] = "";
    /* 192.0.2.1 (TEST-NET-1) is no address of this machine: WSAEADDRNOTAVAIL */
    assert_false(listen_socket_open("192.0.2.1:9731", &s, err, sizeof err));
    assert_non_null(strstr(err, "does not belong to this machine"));
    assert_int_equal(fake.sleeps, 0);
}

static void test_no_handle_inherit_refused_falls_back(void **state)
{
    (void)state;
    fake.refuse_no_inherit = true;
    listen_socket_t s;
    char err[256] = "";
    assert_true(listen_socket_open(free_loopback_address(), &s, err, sizeof err));
    assert_int_equal(fake.sockets_asked, 2);
    assert_false(fake.last_flags & WSA_FLAG_NO_HANDLE_INHERIT);
    /* and the socket is made non-inheritable by other means */
    assert_int_equal(fake.handle_info_calls, 1);
    assert_int_equal(fake.handle_mask, HANDLE_FLAG_INHERIT);
    assert_int_equal(fake.handle_flags, 0);
    DWORD flags = 1;
    assert_true(GetHandleInformation((HANDLE)(uintptr_t)s, &flags));
    assert_false(flags & HANDLE_FLAG_INHERIT);
    listen_socket_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_quick_restart_waits_for_the_port, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_port_that_stays_busy_is_reported, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_other_errors_are_not_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_handle_inherit_refused_falls_back, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
