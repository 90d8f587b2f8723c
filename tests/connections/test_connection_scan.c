/* Open connections (collector/connection_scan.h) with made-up rows: the aggregation into a
 * snapshot (states, families, sorting, lookup, listeners and their cap), and the cache
 * with a fake clock and a fake scan (one scan per max age, failures remembered, references
 * that outlive the cache's, many threads at once). */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "connection_scan.h"

#define T0 133000000000000000ull   /* a FILETIME in 2022 */
#define MAX_AGE 1000u

static struct connection_row tcp(uint32_t pid, enum ip_family family, uint32_t state,
                                 uint16_t port)
{
    return (struct connection_row){ .pid = pid, .tcp_state = state, .family = family,
                                    .protocol = CONN_TCP, .local_port = port };
}

static struct connection_row udp(uint32_t pid, enum ip_family family, uint16_t port)
{
    return (struct connection_row){ .pid = pid, .family = family, .protocol = CONN_UDP,
                                    .local_port = port };
}

static struct connection_snapshot *build(const struct connection_row *rows, size_t count,
                                         size_t cap)
{
    struct connection_snapshot *s = connection_snapshot_build(rows, count, T0, cap);
    assert_non_null(s);
    return s;
}

/* ---- states ---- */

static void test_state_names(void **state)
{
    (void)state;
    static const char *const expected[] = {
        "OTHER", "CLOSED", "LISTENING", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED",
        "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT",
        "DELETE_TCB",
    };
    for (uint32_t v = 0; v < TCP_STATE_SLOTS; v++)
        assert_string_equal(tcp_state_name(tcp_state_slot(v)), expected[v]);
    assert_int_equal(tcp_state_slot(13), TCP_STATE_OTHER);
    assert_int_equal(tcp_state_slot(UINT32_MAX), TCP_STATE_OTHER);
    assert_string_equal(tcp_state_name((enum tcp_state)77), "OTHER");
}

/* ---- aggregation ---- */

static void test_counts_by_family_and_state(void **state)
{
    (void)state;
    const struct connection_row rows[] = {
        tcp(8, FAMILY_IPV4, TCP_STATE_ESTABLISHED, 50001),
        tcp(8, FAMILY_IPV4, TCP_STATE_ESTABLISHED, 50002),
        tcp(8, FAMILY_IPV6, TCP_STATE_ESTABLISHED, 50003),
        tcp(8, FAMILY_IPV6, TCP_STATE_CLOSE_WAIT, 50004),
        tcp(8, FAMILY_IPV4, 99, 50005),                 /* a state Windows may add one day */
        tcp(8, FAMILY_IPV4, 0, 50006),
        udp(8, FAMILY_IPV6, 53),
        tcp(0, FAMILY_IPV4, TCP_STATE_TIME_WAIT, 50007), /* TIME_WAIT: no owner */
        tcp(0, FAMILY_IPV6, TCP_STATE_TIME_WAIT, 50008),
    };
    struct connection_snapshot *s = build(rows, 9, 0);
    assert_int_equal(s->taken_at, T0);
    assert_int_equal(s->pid_count, 2);

    const struct connection_pid_entry *idle = connection_snapshot_find(s, 0);
    assert_non_null(idle);
    assert_int_equal(idle->tcp[FAMILY_IPV4][TCP_STATE_TIME_WAIT], 1);
    assert_int_equal(idle->tcp[FAMILY_IPV6][TCP_STATE_TIME_WAIT], 1);

    const struct connection_pid_entry *e = connection_snapshot_find(s, 8);
    assert_non_null(e);
    assert_int_equal(e->tcp[FAMILY_IPV4][TCP_STATE_ESTABLISHED], 2);
    assert_int_equal(e->tcp[FAMILY_IPV6][TCP_STATE_ESTABLISHED], 1);
    assert_int_equal(e->tcp[FAMILY_IPV6][TCP_STATE_CLOSE_WAIT], 1);
    assert_int_equal(e->tcp[FAMILY_IPV4][TCP_STATE_OTHER], 2);
    assert_int_equal(e->tcp[FAMILY_IPV4][TCP_STATE_TIME_WAIT], 0);
    assert_int_equal(e->udp[FAMILY_IPV6], 1);
    assert_int_equal(e->udp[FAMILY_IPV4], 0);

    assert_int_equal(s->rows_seen[CONN_TCP], 8);
    assert_int_equal(s->rows_seen[CONN_UDP], 1);
    connection_snapshot_release(s);
}

static void test_every_state_has_its_slot(void **state)
{
    (void)state;
    struct connection_row rows[TCP_STATE_SLOTS * 2];
    size_t n = 0;
    for (uint32_t v = 1; v < TCP_STATE_SLOTS; v++) {
        rows[n++] = tcp(4, FAMILY_IPV4, v, (uint16_t)v);
        rows[n++] = tcp(4, FAMILY_IPV6, v, (uint16_t)v);
    }
    struct connection_snapshot *s = build(rows, n, 0);
    const struct connection_pid_entry *e = connection_snapshot_find(s, 4);
    assert_non_null(e);
    for (uint32_t v = 1; v < TCP_STATE_SLOTS; v++) {
        assert_int_equal(e->tcp[FAMILY_IPV4][v], 1);
        assert_int_equal(e->tcp[FAMILY_IPV6][v], 1);
    }
    assert_int_equal(e->tcp[FAMILY_IPV4][TCP_STATE_OTHER], 0);
    connection_snapshot_release(s);
}

static void test_sorted_by_pid_and_lookup(void **state)
{
    (void)state;
    enum { PIDS = 1000 };
    struct connection_row *rows = malloc(2 * PIDS * sizeof *rows);
    assert_non_null(rows);
    /* descending, each pid twice, so both the sort and the merging of equal pids matter */
    for (size_t i = 0; i < PIDS; i++) {
        uint32_t pid = (uint32_t)(4 * (PIDS - i));
        rows[2 * i] = tcp(pid, FAMILY_IPV4, TCP_STATE_ESTABLISHED, 1);
        rows[2 * i + 1] = udp(pid, FAMILY_IPV4, 2);
    }
    struct connection_snapshot *s = build(rows, 2 * PIDS, 0);
    free(rows);
    assert_int_equal(s->pid_count, PIDS);
    for (size_t i = 0; i < PIDS; i++)
        assert_int_equal(s->pids[i].pid, 4 * (i + 1));
    for (uint32_t pid = 4; pid <= 4 * PIDS; pid += 4) {
        const struct connection_pid_entry *e = connection_snapshot_find(s, pid);
        assert_non_null(e);
        assert_int_equal(e->pid, pid);
        assert_int_equal(e->tcp[FAMILY_IPV4][TCP_STATE_ESTABLISHED], 1);
        assert_null(connection_snapshot_find(s, pid + 1));
    }
    assert_null(connection_snapshot_find(s, 0));
    assert_null(connection_snapshot_find(s, 4 * PIDS + 4));
    assert_null(connection_snapshot_find(s, UINT32_MAX));
    connection_snapshot_release(s);
}

static void test_empty_table(void **state)
{
    (void)state;
    struct connection_snapshot *s = build(NULL, 0, 0);
    assert_int_equal(s->pid_count, 0);
    assert_int_equal(s->listener_count, 0);
    assert_int_equal(s->listener_rows_dropped, 0);
    assert_int_equal(s->rows_seen[CONN_TCP] + s->rows_seen[CONN_UDP], 0);
    assert_null(connection_snapshot_find(s, 0));
    connection_snapshot_release(s);
}

static void assert_listener(const struct connection_listener *l, uint32_t pid,
                            enum connection_protocol protocol, enum ip_family family,
                            uint16_t port, uint32_t sockets)
{
    assert_int_equal(l->pid, pid);
    assert_int_equal(l->protocol, protocol);
    assert_int_equal(l->family, family);
    assert_int_equal(l->port, port);
    assert_int_equal(l->sockets, sockets);
}

static void test_listeners_are_deduplicated_and_sorted(void **state)
{
    (void)state;
    const struct connection_row rows[] = {
        udp(12, FAMILY_IPV4, 5353),
        tcp(8, FAMILY_IPV6, TCP_STATE_LISTEN, 443),
        tcp(8, FAMILY_IPV4, TCP_STATE_LISTEN, 443),
        tcp(8, FAMILY_IPV4, TCP_STATE_LISTEN, 443),   /* a second address, same port */
        tcp(8, FAMILY_IPV4, TCP_STATE_ESTABLISHED, 443), /* accepted: not a listener */
        udp(8, FAMILY_IPV4, 443),                      /* QUIC beside TCP: its own entry */
        udp(12, FAMILY_IPV4, 5353),
        udp(12, FAMILY_IPV4, 5353),
        tcp(0, FAMILY_IPV4, TCP_STATE_TIME_WAIT, 80),
        udp(12, FAMILY_IPV6, 0),                       /* bound without a port yet */
    };
    struct connection_snapshot *s = build(rows, 10, 0);
    assert_int_equal(s->listener_count, 5);
    assert_listener(&s->listeners[0], 8, CONN_TCP, FAMILY_IPV4, 443, 2);
    assert_listener(&s->listeners[1], 8, CONN_TCP, FAMILY_IPV6, 443, 1);
    assert_listener(&s->listeners[2], 8, CONN_UDP, FAMILY_IPV4, 443, 1);
    assert_listener(&s->listeners[3], 12, CONN_UDP, FAMILY_IPV4, 5353, 3);
    assert_listener(&s->listeners[4], 12, CONN_UDP, FAMILY_IPV6, 0, 1);
    assert_int_equal(s->listener_rows_dropped, 0);
    assert_int_equal(connection_snapshot_find(s, 12)->udp[FAMILY_IPV4], 3);
    connection_snapshot_release(s);
}

static void test_listener_cap_counts_what_it_drops(void **state)
{
    (void)state;
    const struct connection_row rows[] = {
        tcp(4, FAMILY_IPV4, TCP_STATE_LISTEN, 1),
        tcp(4, FAMILY_IPV4, TCP_STATE_LISTEN, 2),
        tcp(4, FAMILY_IPV4, TCP_STATE_LISTEN, 3),
        udp(16, FAMILY_IPV4, 9),   /* beyond the cap: 3 sockets of one entry ... */
        udp(16, FAMILY_IPV4, 9),
        udp(16, FAMILY_IPV4, 9),
        udp(20, FAMILY_IPV6, 7),   /* ... and one of another */
        udp(8, FAMILY_IPV6, 7),
    };
    struct connection_snapshot *s = build(rows, 8, 4);
    assert_int_equal(s->listener_count, 4);
    assert_listener(&s->listeners[0], 4, CONN_TCP, FAMILY_IPV4, 1, 1);
    assert_listener(&s->listeners[3], 8, CONN_UDP, FAMILY_IPV6, 7, 1);
    assert_int_equal(s->listener_rows_dropped, 4);
    /* the cap limits the listener list only: every row is still counted per pid */
    assert_int_equal(connection_snapshot_find(s, 16)->udp[FAMILY_IPV4], 3);
    assert_int_equal(s->rows_seen[CONN_UDP], 5);
    connection_snapshot_release(s);
}

static void test_default_listener_cap(void **state)
{
    (void)state;
    enum { PORTS = 5000 };
    struct connection_row *rows = malloc(PORTS * sizeof *rows);
    assert_non_null(rows);
    for (size_t i = 0; i < PORTS; i++)
        rows[i] = udp(4, FAMILY_IPV4, (uint16_t)(10000 + i));
    struct connection_snapshot *s = build(rows, PORTS, 0);
    free(rows);
    assert_int_equal(s->listener_count, CONNECTION_LISTENER_CAP_DEFAULT);
    assert_int_equal(s->listener_rows_dropped, PORTS - CONNECTION_LISTENER_CAP_DEFAULT);
    assert_int_equal(s->listeners[CONNECTION_LISTENER_CAP_DEFAULT - 1].port,
                     10000 + CONNECTION_LISTENER_CAP_DEFAULT - 1);
    connection_snapshot_release(s);
}

/* ---- the cache, with a fake clock and a fake scan ---- */

struct fake_source {
    atomic_uint_least64_t now;
    atomic_int scans;
    atomic_int in_scan, most_in_scan;   /* scans running at once */
    atomic_bool fail;
    int spin;                            /* sched_yield()s per scan: a slow API */
};

static uint64_t fake_clock(void *context)
{
    struct fake_source *f = context;
    return atomic_load(&f->now);
}

/* Scan number k (from 1) returns k rows, all of pid k, so a reader can tell which scan a
 * snapshot came from and that it is whole. */
static bool fake_scan(void *context, struct connection_row **rows, size_t *count,
                      char *error, size_t error_size)
{
    struct fake_source *f = context;
    int running = atomic_fetch_add(&f->in_scan, 1) + 1;
    int most = atomic_load(&f->most_in_scan);
    while (running > most && !atomic_compare_exchange_weak(&f->most_in_scan, &most, running)) {
    }
    int k = atomic_fetch_add(&f->scans, 1) + 1;
    for (int i = 0; i < f->spin; i++)
        sched_yield();
    bool ok = !atomic_load(&f->fail);
    if (ok) {
        *rows = malloc((size_t)k * sizeof **rows);
        assert_non_null(*rows);
        for (int i = 0; i < k; i++)
            (*rows)[i] = tcp((uint32_t)k, FAMILY_IPV4, TCP_STATE_ESTABLISHED, 1);
        *count = (size_t)k;
    } else {
        snprintf(error, error_size, "fake: the table is unavailable");
    }
    atomic_fetch_sub(&f->in_scan, 1);
    return ok;
}

static struct fake_source source;
static struct connection_cache cache;

static int cache_setup(void **state)
{
    (void)state;
    memset(&source, 0, sizeof source);
    atomic_store(&source.now, T0);
    const struct connection_cache_config config = {
        .scan = fake_scan, .scan_context = &source,
        .clock = fake_clock, .clock_context = &source, .max_age = MAX_AGE,
    };
    char error[CONNECTION_ERROR_SIZE];
    assert_true(connection_cache_init(&cache, &config, error, sizeof error));
    return 0;
}

static int cache_teardown(void **state)
{
    (void)state;
    connection_cache_destroy(&cache);
    return 0;
}

static struct connection_snapshot *get_ok(void)
{
    char error[CONNECTION_ERROR_SIZE] = "";
    struct connection_snapshot *s = connection_cache_get(&cache, error, sizeof error);
    if (s == NULL)
        fail_msg("connection_cache_get failed: %s", error);
    return s;
}

static void test_cache_scans_once_per_max_age(void **state)
{
    (void)state;
    struct connection_snapshot *a = get_ok();
    assert_int_equal(atomic_load(&source.scans), 1);
    assert_int_equal(a->taken_at, T0);

    atomic_store(&source.now, T0 + MAX_AGE - 1);
    struct connection_snapshot *b = get_ok();
    assert_ptr_equal(a, b);
    assert_int_equal(atomic_load(&source.scans), 1);

    atomic_store(&source.now, T0 + MAX_AGE);
    struct connection_snapshot *c = get_ok();
    assert_ptr_not_equal(a, c);
    assert_int_equal(atomic_load(&source.scans), 2);
    assert_int_equal(c->taken_at, T0 + MAX_AGE);
    assert_int_equal(c->rows_seen[CONN_TCP], 2);

    struct connection_cache_stats stats = connection_cache_stats(&cache);
    assert_int_equal(stats.scans, 2);
    assert_int_equal(stats.failed_scans, 0);
    connection_snapshot_release(a);
    connection_snapshot_release(b);
    connection_snapshot_release(c);
}

static void test_cache_remembers_a_failure(void **state)
{
    (void)state;
    atomic_store(&source.fail, true);
    char error[CONNECTION_ERROR_SIZE] = "";
    assert_null(connection_cache_get(&cache, error, sizeof error));
    assert_string_equal(error, "fake: the table is unavailable");

    /* not asked again within max age, and the same reason is given */
    atomic_store(&source.now, T0 + MAX_AGE / 2);
    memset(error, 0, sizeof error);
    assert_null(connection_cache_get(&cache, error, sizeof error));
    assert_string_equal(error, "fake: the table is unavailable");
    assert_int_equal(atomic_load(&source.scans), 1);
    struct connection_cache_stats stats = connection_cache_stats(&cache);
    assert_int_equal(stats.scans, 1);
    assert_int_equal(stats.failed_scans, 1);

    atomic_store(&source.fail, false);
    atomic_store(&source.now, T0 + MAX_AGE);
    struct connection_snapshot *s = get_ok();
    stats = connection_cache_stats(&cache);
    assert_int_equal(stats.scans, 2);
    assert_int_equal(stats.failed_scans, 1);
    connection_snapshot_release(s);
}

static void test_failure_replaces_the_old_snapshot(void **state)
{
    (void)state;
    connection_snapshot_release(get_ok());
    atomic_store(&source.fail, true);
    atomic_store(&source.now, T0 + MAX_AGE);
    char error[CONNECTION_ERROR_SIZE];
    assert_null(connection_cache_get(&cache, error, sizeof error));
}

static void test_clock_going_back_rescans(void **state)
{
    (void)state;
    connection_snapshot_release(get_ok());
    atomic_store(&source.now, T0 - 1);
    struct connection_snapshot *s = get_ok();
    assert_int_equal(atomic_load(&source.scans), 2);
    assert_int_equal(s->taken_at, T0 - 1);
    connection_snapshot_release(s);
}

/* Under ASan a snapshot freed too early is a use after free here. */
static void test_references_outlive_the_cache(void **state)
{
    (void)state;
    struct connection_snapshot *first = get_ok();
    atomic_store(&source.now, T0 + MAX_AGE);
    struct connection_snapshot *second = get_ok();
    assert_ptr_not_equal(first, second);
    /* the cache let go of `first` when it took `second`; ours keeps it whole */
    assert_int_equal(first->rows_seen[CONN_TCP], 1);
    assert_non_null(connection_snapshot_find(first, 1));
    connection_snapshot_release(first);

    /* and after the cache is gone */
    connection_cache_destroy(&cache);
    assert_non_null(connection_snapshot_find(second, 2));
    connection_snapshot_release(second);
    cache_setup(NULL);   /* for the teardown */
}

#ifndef _WIN32
static void test_default_scan_refuses_here(void **state)
{
    (void)state;
    struct connection_cache real;
    const struct connection_cache_config defaults = {0};
    char error[CONNECTION_ERROR_SIZE];
    assert_true(connection_cache_init(&real, &defaults, error, sizeof error));
    assert_null(connection_cache_get(&real, error, sizeof error));
    assert_string_equal(error, "open connections are read from IP Helper, on Windows only");
    assert_int_equal(connection_cache_stats(&real).failed_scans, 1);
    connection_cache_destroy(&real);
}
#endif

static void test_system_clock_is_a_filetime(void **state)
{
    (void)state;
    uint64_t now = connection_clock_system(NULL);
    assert_true(now > T0);   /* after 2022 ... */
    assert_true(now < 160000000000000000ull);   /* ... and before 2108 */
}

/* ---- many scrapers at once ---- */

enum { READERS = 4, CLOCK_STEPS = 200, CLOCK_STEP = 100 };

static atomic_bool clock_done;
static atomic_int reader_failures;

static void *clock_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < CLOCK_STEPS; i++) {
        for (int y = 0; y < 50; y++)
            sched_yield();
        atomic_fetch_add(&source.now, CLOCK_STEP);
    }
    atomic_store(&clock_done, true);
    return NULL;
}

/* Every snapshot is whole (scan k: k rows of pid k) and none is older than one seen before. */
static void *reader_thread(void *arg)
{
    (void)arg;
    uint64_t last_taken = 0;
    uint32_t last_scan = 0;
    int gets = 0;
    while (!atomic_load(&clock_done) || gets < 10) {
        char error[CONNECTION_ERROR_SIZE];
        struct connection_snapshot *s = connection_cache_get(&cache, error, sizeof error);
        gets++;
        if (s == NULL || s->pid_count != 1 ||
            s->rows_seen[CONN_TCP] != s->pids[0].pid ||
            s->pids[0].tcp[FAMILY_IPV4][TCP_STATE_ESTABLISHED] != s->pids[0].pid ||
            s->taken_at < last_taken || s->pids[0].pid < last_scan) {
            atomic_fetch_add(&reader_failures, 1);
        } else {
            last_taken = s->taken_at;
            last_scan = s->pids[0].pid;
        }
        connection_snapshot_release(s);
    }
    return NULL;
}

static void test_concurrent_gets_scan_one_at_a_time(void **state)
{
    (void)state;
    source.spin = 200;
    atomic_store(&clock_done, false);
    atomic_store(&reader_failures, 0);
    pthread_t readers[READERS], ticker;
    for (int i = 0; i < READERS; i++)
        assert_int_equal(pthread_create(&readers[i], NULL, reader_thread, NULL), 0);
    assert_int_equal(pthread_create(&ticker, NULL, clock_thread, NULL), 0);
    pthread_join(ticker, NULL);
    for (int i = 0; i < READERS; i++)
        pthread_join(readers[i], NULL);

    assert_int_equal(atomic_load(&reader_failures), 0);
    assert_int_equal(atomic_load(&source.most_in_scan), 1);
    /* at most one scan per max age the clock went through, plus the first */
    int scans = atomic_load(&source.scans);
    assert_true(scans >= 1);
    assert_true(scans <= CLOCK_STEPS * CLOCK_STEP / (int)MAX_AGE + 1);
    assert_int_equal(connection_cache_stats(&cache).scans, (uint64_t)scans);
    printf("concurrent gets: %d scans for %d max ages of clock\n", scans,
           CLOCK_STEPS * CLOCK_STEP / (int)MAX_AGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_names),
        cmocka_unit_test(test_counts_by_family_and_state),
        cmocka_unit_test(test_every_state_has_its_slot),
        cmocka_unit_test(test_sorted_by_pid_and_lookup),
        cmocka_unit_test(test_empty_table),
        cmocka_unit_test(test_listeners_are_deduplicated_and_sorted),
        cmocka_unit_test(test_listener_cap_counts_what_it_drops),
        cmocka_unit_test(test_default_listener_cap),
        cmocka_unit_test_setup_teardown(test_cache_scans_once_per_max_age, cache_setup,
                                        cache_teardown),
        cmocka_unit_test_setup_teardown(test_cache_remembers_a_failure, cache_setup,
                                        cache_teardown),
        cmocka_unit_test_setup_teardown(test_failure_replaces_the_old_snapshot, cache_setup,
                                        cache_teardown),
        cmocka_unit_test_setup_teardown(test_clock_going_back_rescans, cache_setup,
                                        cache_teardown),
        cmocka_unit_test_setup_teardown(test_references_outlive_the_cache, cache_setup,
                                        cache_teardown),
#ifndef _WIN32
        cmocka_unit_test(test_default_scan_refuses_here),
#endif
        cmocka_unit_test(test_system_clock_is_a_filetime),
        cmocka_unit_test_setup_teardown(test_concurrent_gets_scan_one_at_a_time, cache_setup,
                                        cache_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
