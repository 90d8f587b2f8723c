/* Paced and looping replay (etl_replay_run) against traces of known contents: a loop's
 * passes add up exactly on the same instances, no process exits in a loop, pacing follows
 * the trace's own timestamps, a stop ends a paced wait at once, and --etl.pace's values. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "bytes.h"
#include "etl_format.h"
#include "etl_replay.h"
#include "etl_scenarios.h"
#include "process_table.h"
#include "replay_clock.h"

static char path[64];

static int setup(void **state)
{
    (void)state;
    static int n;
    snprintf(path, sizeof path, "test_etl_replay_%d.etl", n++);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    remove(path);
    return 0;
}

#define TICKS_PER_S 10000000ull /* the writer's clock runs at 10 MHz: 100 ns ticks */
#define SEND 10                 /* TcpIp Send IPv4 */
#define RECV 11                 /* TcpIp Recv IPv4 */
#define PROC_START_OP 1
#define PROC_END_OP 2
#define PROC_DCSTART_OP 3
#define PROC_DCEND_OP 4

/* alpha.exe (pid 100) starts, sends twice and exits; beta.exe (pid 200) is in the
 * rundowns, receives once; the last record is span ticks after the first. */
static void write_two_processes(uint64_t span)
{
    struct etl_writer_config c = { .pointer_size = 8 };
    struct etl_writer *w = etl_writer_create(&c);
    uint8_t h = ETL_HDR_SYSTEM64;
    scenario_process(w, 0, h, 8, PROC_DCSTART_OP, 0, 200, 0x2000, "beta.exe");
    scenario_process(w, 0, h, 8, PROC_START_OP, 10, 100, 0x1000, "alpha.exe");
    scenario_tcp(w, 0, h, 8, SEND, 20, 100, 1000);
    scenario_tcp(w, 0, h, 8, RECV, span / 2, 200, 300);
    scenario_tcp(w, 0, h, 8, SEND, span / 2 + 1, 100, 24);
    scenario_process(w, 0, h, 8, PROC_END_OP, span - 1, 100, 0x1000, "alpha.exe");
    scenario_process(w, 0, h, 8, PROC_DCEND_OP, span, 200, 0x2000, "beta.exe");
    assert_true(etl_writer_save(w, path));
    etl_writer_free(w);
}

struct seen {
    unsigned rows, live;
    uint64_t sent[2], recv[2], instance[2];
};

static void visit(const struct process_view *v, void *context)
{
    struct seen *s = context;
    s->rows++;
    s->live += v->state == PROCESS_LIVE;
    int i = v->pid == 100 ? 0 : v->pid == 200 ? 1 : -1;
    assert_true(i >= 0);
    assert_true(v->is_named);
    assert_string_equal(v->name, i == 0 ? "alpha.exe" : "beta.exe");
    s->sent[i] = v->counters[FAMILY_IPV4][CTR_SENT_BYTES];
    s->recv[i] = v->counters[FAMILY_IPV4][CTR_RECV_BYTES];
    s->instance[i] = v->instance_id;
}

static struct seen replay(const struct etl_replay_options *options,
                          struct etl_replay_report *report, enum etl_replay_status expect)
{
    struct process_table_config tc = { .capacity = 64, .retention = UINT64_MAX };
    struct process_table *table = process_table_create(&tc);
    const char *paths[] = { path };
    assert_int_equal(etl_replay_run(table, paths, 1, options, report), expect);
    struct seen s;
    memset(&s, 0, sizeof s);
    process_table_foreach(table, visit, &s);
    process_table_destroy(table);
    return s;
}

static void once_exits_as_recorded(void **state)
{
    (void)state;
    write_two_processes(1000);
    struct etl_replay_options o = { 0 };
    struct etl_replay_report report;
    struct seen s = replay(&o, &report, ETL_REPLAY_OK);
    assert_int_equal(report.passes, 1);
    assert_int_equal(report.process_records_skipped, 0);
    assert_int_equal(s.rows, 2);
    assert_int_equal(s.live, 0); /* End and DCEnd applied */
    assert_int_equal(s.sent[0], 1024);
    assert_int_equal(s.recv[1], 300);
}

/* Three passes: the same two instances, still live, with three times the counts. */
static void loop_continues_the_same_instances(void **state)
{
    (void)state;
    write_two_processes(1000);
    struct etl_replay_options once = { 0 };
    struct etl_replay_report report;
    struct seen one = replay(&once, &report, ETL_REPLAY_OK);

    atomic_uint_fast64_t passes;
    atomic_init(&passes, 0);
    struct etl_replay_options loop = { .loop = true, .max_passes = 3, .passes = &passes };
    struct seen three = replay(&loop, &report, ETL_REPLAY_OK);
    assert_int_equal(report.passes, 3);
    assert_int_equal(atomic_load(&passes), 3);
    assert_int_equal(report.records_fed, 3 * 7);
    /* every pass skips the two exits; the later passes also skip the two starts */
    assert_int_equal(report.process_records_skipped, 3 * 2 + 2 * 2);
    assert_int_equal(three.rows, 2);
    assert_int_equal(three.live, 2);
    assert_int_equal(three.instance[0], one.instance[0]);
    assert_int_equal(three.instance[1], one.instance[1]);
    assert_int_equal(three.sent[0], 3 * one.sent[0]);
    assert_int_equal(three.recv[1], 3 * one.recv[1]);
}

/* Time moves on across passes: an instance that exited by pid reuse retires once its
 * retention has passed in trace time, which only happens if the passes do not restart
 * the clock. */
static void loop_time_moves_on(void **state)
{
    (void)state;
    struct etl_writer_config c = { .pointer_size = 8 };
    struct etl_writer *w = etl_writer_create(&c);
    uint8_t h = ETL_HDR_SYSTEM64;
    scenario_process(w, 0, h, 8, PROC_START_OP, 0, 300, 0x3000, "gamma.exe");
    scenario_tcp(w, 0, h, 8, SEND, 1, 300, 10);
    scenario_process(w, 0, h, 8, PROC_START_OP, 2 * TICKS_PER_S, 300, 0x4000, "delta.exe");
    scenario_tcp(w, 0, h, 8, SEND, 2 * TICKS_PER_S + 1, 300, 20);
    assert_true(etl_writer_save(w, path));
    etl_writer_free(w);

    struct process_table_config tc = { .capacity = 64, .retention = 5 * TICKS_PER_S };
    struct process_table *table = process_table_create(&tc);
    const char *paths[] = { path };
    struct etl_replay_options o = { .loop = true, .max_passes = 4 };
    struct etl_replay_report report;
    assert_int_equal(etl_replay_run(table, paths, 1, &o, &report), ETL_REPLAY_OK);
    struct table_stats stats;
    process_table_stats(table, &stats);
    assert_int_equal(stats.instances_retired, 1); /* gamma.exe, 6 s of trace time later */
    assert_int_equal(stats.rows_in_use, 1);
    process_table_destroy(table);
}

static void loop_of_nothing_ends(void **state)
{
    (void)state;
    struct etl_writer_config c = { .pointer_size = 8 };
    struct etl_writer *w = etl_writer_create(&c);
    assert_true(etl_writer_save(w, path));
    etl_writer_free(w);
    struct etl_replay_options o = { .loop = true };
    struct etl_replay_report report;
    struct seen s = replay(&o, &report, ETL_REPLAY_OK);
    assert_int_equal(report.passes, 1);
    assert_int_equal(s.rows, 0);
}

static double seconds_since(uint64_t start_ns)
{
    return (double)(replay_clock_now_ns() - start_ns) / 1e9;
}

/* 2 s of trace at 4x: never sooner than 0.5 s; the upper bound only catches a pace that
 * is not applied as a speed (a shared machine may be slow, never early). */
static void pace_follows_the_trace(void **state)
{
    (void)state;
    write_two_processes(2 * TICKS_PER_S);
    struct etl_replay_options o = { .speed = 4 };
    struct etl_replay_report report;
    uint64_t t0 = replay_clock_now_ns();
    replay(&o, &report, ETL_REPLAY_OK);
    double took = seconds_since(t0);
    assert_true(took >= 0.49);
    assert_true(took < 1.9);

    o.speed = ETL_REPLAY_SPEED_MAX;
    t0 = replay_clock_now_ns();
    replay(&o, &report, ETL_REPLAY_OK);
    assert_true(seconds_since(t0) < 0.4);
}

static atomic_bool stop;

static void *stop_soon(void *arg)
{
    (void)arg;
    replay_clock_sleep_ns(200000000u);
    atomic_store(&stop, true);
    return NULL;
}

/* An hour of trace in real time: a stop during the wait ends it within a sleep slice. */
static void stop_ends_a_paced_wait(void **state)
{
    (void)state;
    write_two_processes(3600 * TICKS_PER_S);
    atomic_store(&stop, false);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, stop_soon, NULL), 0);
    struct etl_replay_options o = { .speed = 1, .loop = true, .cancel = &stop };
    struct etl_replay_report report;
    uint64_t t0 = replay_clock_now_ns();
    struct seen s = replay(&o, &report, ETL_REPLAY_STOPPED);
    pthread_join(thread, NULL);
    assert_true(seconds_since(t0) < 1.5);
    assert_int_equal(s.rows, 2);   /* fed up to the half-hour mark */
    assert_int_equal(s.recv[1], 0);
    assert_int_equal(report.passes, 1);
}

static void pace_values(void **state)
{
    (void)state;
    static const struct { const char *text; double speed; } good[] = {
        { "off", 0 }, { "realtime", 1 }, { "1", 1 }, { "10", 10 }, { "10x", 10 },
        { "0.5", 0.5 }, { "0.001", 0.001 }, { "1000000", 1e6 }, { "2.5x", 2.5 },
    };
    for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
        double speed = -1;
        assert_true(etl_replay_parse_speed(good[i].text, &speed));
        assert_true(speed == good[i].speed);
    }
    static const char *const bad[] = {
        "", "0", "0.0009", "1000001", "-1", "+2", " 2", "2 ", "inf", "nan", "x", "10xx",
        "1e9", "fast", "Realtime", "0x10", ".", "1.2.3", "x10",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        double speed = -1;
        if (etl_replay_parse_speed(bad[i], &speed))
            fail_msg("\"%s\" was accepted as %g", bad[i], speed);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(once_exits_as_recorded, setup, teardown),
        cmocka_unit_test_setup_teardown(loop_continues_the_same_instances, setup, teardown),
        cmocka_unit_test_setup_teardown(loop_time_moves_on, setup, teardown),
        cmocka_unit_test_setup_teardown(loop_of_nothing_ends, setup, teardown),
        cmocka_unit_test_setup_teardown(pace_follows_the_trace, setup, teardown),
        cmocka_unit_test_setup_teardown(stop_ends_a_paced_wait, setup, teardown),
        cmocka_unit_test(pace_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
