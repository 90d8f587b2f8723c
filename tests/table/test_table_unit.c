/* Unit tests for collector/process_table.c: process instances and PID reuse, the rundown
 * of a restarted session, retention and retirement, overflow, totals by name, renaming
 * from <unknown>, failure counting, statistics, and records fed through the decoder. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "payload.h"
#include "process_table.h"
#include "process_table_index.h"
#include "table_fill.h"

#define T0 133000000000000000ull /* a 2022 trace timestamp, 100 ns units */
#define SECOND 10000000ull

/* ---- facts (built by tests/common/table_fill.h; lost events only here) ---- */

static void send4(struct process_table *t, uint32_t pid, uint32_t size, uint64_t ts)
{
    fill_net(t, NET_TCP_SEND, FAMILY_IPV4, pid, size, ts);
}

static void lost(struct process_table *t, enum lost_op op)
{
    static const enum event_type types[] = {EVT_LOST_EVENT, EVT_LOST_BUFFER, EVT_LOST_FILE};
    struct trace_fact f;
    memset(&f, 0, sizeof f);
    f.kind = FACT_LOST;
    f.type = types[op];
    f.u.lost.op = op;
    process_table_apply(t, &f, T0);
}

static struct process_table *table_new(uint32_t capacity, uint64_t retention)
{
    struct process_table_config config = {.capacity = capacity, .retention = retention};
    struct process_table *t = process_table_create(&config);
    assert_non_null(t);
    return t;
}

/* ---- snapshots of what readers see ---- */

struct rows {
    size_t count;
    struct process_view row[160];
};

static void collect_row(const struct process_view *row, void *context)
{
    struct rows *rows = context;
    assert_true(rows->count < 160);
    rows->row[rows->count++] = *row;
}

static struct rows *rows_of(const struct process_table *t)
{
    static struct rows rows;
    memset(&rows, 0, sizeof rows);
    process_table_foreach(t, collect_row, &rows);
    return &rows;
}

static size_t rows_with_pid(const struct rows *rows, uint32_t pid)
{
    size_t n = 0;
    for (size_t i = 0; i < rows->count; i++)
        n += rows->row[i].pid == pid && !rows->row[i].is_overflow;
    return n;
}

/* The only row of pid in a given state; fails the test if there is not exactly one. */
static const struct process_view *row_of(const struct rows *rows, uint32_t pid,
                                         enum process_state state)
{
    const struct process_view *found = NULL;
    for (size_t i = 0; i < rows->count; i++) {
        const struct process_view *r = &rows->row[i];
        if (r->pid == pid && r->state == state && !r->is_overflow) {
            assert_null(found);
            found = r;
        }
    }
    assert_non_null(found);
    return found;
}

static const struct process_view *overflow_of(const struct rows *rows)
{
    for (size_t i = 0; i < rows->count; i++)
        if (rows->row[i].is_overflow)
            return &rows->row[i];
    return NULL;
}

struct names {
    size_t count;
    struct name_view name[300];
};

static void collect_name(const struct name_view *name, void *context)
{
    struct names *names = context;
    assert_true(names->count < 300);
    names->name[names->count++] = *name;
}

static struct names *names_of(const struct process_table *t)
{
    static struct names names;
    memset(&names, 0, sizeof names);
    process_table_foreach_name(t, collect_name, &names);
    return &names;
}

static const struct name_view *name_of(const struct names *names, const char *name)
{
    for (size_t i = 0; i < names->count; i++)
        if (strcmp(names->name[i].name, name) == 0)
            return &names->name[i];
    return NULL;
}

static uint64_t sent(const struct name_view *n)
{
    return n ? n->counters[FAMILY_IPV4][CTR_SENT_BYTES] : 0;
}

static struct table_stats stats_of(const struct process_table *t)
{
    struct table_stats s;
    process_table_stats(t, &s);
    return s;
}

/* ---- instances ---- */

static void test_counters_per_family_and_op(void **state)
{
    (void)state;
    struct process_table *t = table_new(16, SECOND);
    fill_process(t, PROC_DCSTART, 100, "app.exe", 0xA0, T0);
    for (int family = 0; family < FAMILY_COUNT; family++)
        for (int op = NET_TCP_SEND; op <= NET_UDP_RECV; op++)
            fill_net(t, (enum net_op)op, (enum ip_family)family, 100, 10 + op, T0 + 1);
    const struct process_view *r = row_of(rows_of(t), 100, PROCESS_LIVE);
    assert_string_equal(r->name, "app.exe");
    assert_true(r->is_named);
    assert_int_equal(r->unique_key, 0xA0);
    assert_int_equal(r->parent_pid, 4);
    assert_int_equal(r->start_time, T0);
    assert_int_equal(r->exit_time, 0);
    for (int f = 0; f < FAMILY_COUNT; f++) {
        const uint64_t *c = r->counters[f];
        assert_int_equal(c[CTR_SENT_BYTES], 10 + NET_TCP_SEND);
        assert_int_equal(c[CTR_SENT_EVENTS], 1);
        assert_int_equal(c[CTR_RECV_BYTES], 10 + NET_TCP_RECV);
        assert_int_equal(c[CTR_RECV_EVENTS], 1);
        assert_int_equal(c[CTR_CONNECTS], 1);
        assert_int_equal(c[CTR_ACCEPTS], 1);
        assert_int_equal(c[CTR_DISCONNECTS], 1);
        assert_int_equal(c[CTR_RETRANSMITS], 1);
        assert_int_equal(c[CTR_RETRANSMIT_BYTES], 10 + NET_TCP_RETRANSMIT);
        assert_int_equal(c[CTR_RECONNECTS], 1);
        assert_int_equal(c[CTR_COPIES], 1);
        assert_int_equal(c[CTR_COPY_BYTES], 10 + NET_TCP_COPY);
        assert_int_equal(c[CTR_UDP_SENT_BYTES], 10 + NET_UDP_SEND);
        assert_int_equal(c[CTR_UDP_SENT_DATAGRAMS], 1);
        assert_int_equal(c[CTR_UDP_RECV_BYTES], 10 + NET_UDP_RECV);
        assert_int_equal(c[CTR_UDP_RECV_DATAGRAMS], 1);
    }
    process_table_destroy(t);
}

static void test_pid_reuse_starts_new_instance(void **state)
{
    (void)state;
    struct process_table *t = table_new(16, 60 * SECOND);
    fill_process(t, PROC_START, 100, "old.exe", 0xA0, T0);
    send4(t, 100, 1000, T0 + 1);
    fill_process(t, PROC_START, 100, "new.exe", 0xB0, T0 + 5);
    send4(t, 100, 7, T0 + 6);

    struct rows *rows = rows_of(t);
    assert_int_equal(rows_with_pid(rows, 100), 2);
    const struct process_view *old = row_of(rows, 100, PROCESS_EXITED);
    const struct process_view *cur = row_of(rows, 100, PROCESS_LIVE);
    assert_string_equal(old->name, "old.exe");
    assert_int_equal(old->unique_key, 0xA0);
    assert_int_equal(old->exit_time, T0 + 5);
    assert_int_equal(old->counters[FAMILY_IPV4][CTR_SENT_BYTES], 1000);
    assert_string_equal(cur->name, "new.exe");
    assert_int_equal(cur->unique_key, 0xB0);
    assert_int_equal(cur->start_time, T0 + 5);
    assert_int_equal(cur->counters[FAMILY_IPV4][CTR_SENT_BYTES], 7);
    assert_true(cur->instance_id != old->instance_id);

    /* A Start after a clean End is a new instance too; the End kept its exit time. */
    fill_process(t, PROC_END, 100, "new.exe", 0xB0, T0 + 8);
    fill_process(t, PROC_END, 100, "new.exe", 0xB0, T0 + 9);
    fill_process(t, PROC_START, 100, "third.exe", 0xC0, T0 + 10);
    rows = rows_of(t);
    assert_int_equal(rows_with_pid(rows, 100), 3);
    const struct process_view *third = row_of(rows, 100, PROCESS_LIVE);
    assert_string_equal(third->name, "third.exe");
    assert_int_equal(third->counters[FAMILY_IPV4][CTR_SENT_BYTES], 0);
    size_t exited_at_8 = 0;
    for (size_t i = 0; i < rows->count; i++)
        exited_at_8 += rows->row[i].exit_time == T0 + 8;
    assert_int_equal(exited_at_8, 1);
    process_table_destroy(t);
}

static void test_dcstart_of_restarted_session_keeps_instance(void **state)
{
    (void)state;
    struct process_table *t = table_new(16, 60 * SECOND);
    fill_process(t, PROC_DCSTART, 200, "svc.exe", 0xD0, T0);
    send4(t, 200, 500, T0 + 1);
    uint64_t id = row_of(rows_of(t), 200, PROCESS_LIVE)->instance_id;

    /* The session restarts without a stop rundown: the same process is listed again. */
    fill_process(t, PROC_DCSTART, 200, "svc.exe", 0xD0, T0 + 2 * SECOND);
    send4(t, 200, 1, T0 + 2 * SECOND);
    struct rows *rows = rows_of(t);
    assert_int_equal(rows_with_pid(rows, 200), 1);
    const struct process_view *r = row_of(rows, 200, PROCESS_LIVE);
    assert_int_equal(r->instance_id, id);
    assert_int_equal(r->start_time, T0);
    assert_int_equal(r->counters[FAMILY_IPV4][CTR_SENT_BYTES], 501);

    /* Stop rundown (DCEnd) and a restart's rundown before retention: still one instance. */
    fill_process(t, PROC_DCEND, 200, "svc.exe", 0xD0, T0 + 3 * SECOND);
    assert_int_equal(row_of(rows_of(t), 200, PROCESS_EXITED)->exit_time, T0 + 3 * SECOND);
    fill_process(t, PROC_DCSTART, 200, "svc.exe", 0xD0, T0 + 4 * SECOND);
    rows = rows_of(t);
    assert_int_equal(rows_with_pid(rows, 200), 1);
    r = row_of(rows, 200, PROCESS_LIVE);
    assert_int_equal(r->instance_id, id);
    assert_int_equal(r->exit_time, 0);
    assert_int_equal(r->counters[FAMILY_IPV4][CTR_SENT_BYTES], 501);
    /* Revived, it no longer retires. */
    process_table_housekeep(t, T0 + 1000 * SECOND);
    assert_int_equal(row_of(rows_of(t), 200, PROCESS_LIVE)->instance_id, id);
    assert_int_equal(stats_of(t).rows_in_use, 1);

    /* The same pid with another key in a rundown is another process: the pid was reused. */
    fill_process(t, PROC_DCSTART, 200, "other.exe", 0xE0, T0 + 1001 * SECOND);
    rows = rows_of(t);
    assert_int_equal(rows_with_pid(rows, 200), 2);
    assert_int_equal(row_of(rows, 200, PROCESS_EXITED)->instance_id, id);
    assert_string_equal(row_of(rows, 200, PROCESS_LIVE)->name, "other.exe");
    process_table_destroy(t);
}

static void test_events_after_exit_count_to_exited_instance(void **state)
{
    (void)state;
    struct process_table *t = table_new(16, 60 * SECOND);
    fill_process(t, PROC_START, 300, "late.exe", 0x30, T0);
    fill_process(t, PROC_END, 300, "late.exe", 0x30, T0 + 1);
    send4(t, 300, 42, T0 + 2);
    struct rows *rows = rows_of(t);
    assert_int_equal(rows_with_pid(rows, 300), 1);
    assert_int_equal(row_of(rows, 300, PROCESS_EXITED)->counters[FAMILY_IPV4][CTR_SENT_BYTES],
                     42);
    /* An End for a pid never seen counts nothing and takes no row. */
    fill_process(t, PROC_END, 304, "ghost.exe", 0x34, T0 + 3);
    assert_int_equal(rows_with_pid(rows_of(t), 304), 0);
    assert_int_equal(stats_of(t).events_by_type[EVT_PROCESS_END], 2);
    process_table_destroy(t);
}

/* ---- retention ---- */

static void test_retention_then_retirement(void **state)
{
    (void)state;
    const uint64_t retention = 300 * SECOND;
    struct process_table *t = table_new(16, retention);
    fill_process(t, PROC_START, 400, "brief.exe", 0x40, T0);
    send4(t, 400, 10, T0 + 1);
    fill_process(t, PROC_END, 400, "brief.exe", 0x40, T0 + SECOND);
    assert_int_equal(stats_of(t).rows_in_use, 1);

    process_table_housekeep(t, T0 + SECOND + retention - 1);
    assert_int_equal(row_of(rows_of(t), 400, PROCESS_EXITED)->exit_time, T0 + SECOND);
    assert_int_equal(stats_of(t).instances_retired, 0);

    process_table_housekeep(t, T0 + SECOND + retention);
    assert_int_equal(rows_with_pid(rows_of(t), 400), 0);
    struct table_stats s = stats_of(t);
    assert_int_equal(s.instances_retired, 1);
    assert_int_equal(s.rows_in_use, 0);
    /* Its totals live on under its name, with no live instance. */
    const struct name_view *n = name_of(names_of(t), "brief.exe");
    assert_non_null(n);
    assert_int_equal(sent(n), 10);
    assert_int_equal(n->counters[FAMILY_IPV4][CTR_SENT_EVENTS], 1);
    assert_int_equal(n->live_instances, 0);

    /* The pid's next event is a new, unnamed instance; live ones never retire. */
    send4(t, 400, 3, T0 + 2 * retention);
    const struct process_view *r = row_of(rows_of(t), 400, PROCESS_LIVE);
    assert_false(r->is_named);
    assert_string_equal(r->name, UNKNOWN_PROCESS_NAME);
    assert_int_equal(r->counters[FAMILY_IPV4][CTR_SENT_BYTES], 3);
    process_table_housekeep(t, T0 + 10 * retention);
    assert_int_equal(rows_with_pid(rows_of(t), 400), 1);
    process_table_destroy(t);
}

static void test_retirement_of_replaced_instance_keeps_new_one(void **state)
{
    (void)state;
    struct process_table *t = table_new(16, SECOND);
    fill_process(t, PROC_START, 500, "a.exe", 0x50, T0);
    fill_process(t, PROC_START, 500, "b.exe", 0x51, T0 + 1);
    process_table_housekeep(t, T0 + 10 * SECOND);
    struct rows *rows = rows_of(t);
    assert_int_equal(rows_with_pid(rows, 500), 1);
    assert_string_equal(row_of(rows, 500, PROCESS_LIVE)->name, "b.exe");
    /* The pid still maps to b.exe's row after a.exe's retirement. */
    send4(t, 500, 9, T0 + 11 * SECOND);
    rows = rows_of(t);
    assert_int_equal(rows_with_pid(rows, 500), 1);
    assert_int_equal(row_of(rows, 500, PROCESS_LIVE)->counters[FAMILY_IPV4][CTR_SENT_BYTES], 9);
    process_table_destroy(t);
}

/* ---- overflow ---- */

static void test_overflow_when_full_and_reuse_after_retirement(void **state)
{
    (void)state;
    struct process_table *t = table_new(4, SECOND);
    assert_int_equal(stats_of(t).capacity, 4);
    for (uint32_t i = 0; i < 4; i++)
        fill_process(t, PROC_START, 1000 + 4 * i, "fill.exe", 0x100 + i, T0);
    assert_null(overflow_of(rows_of(t)));

    fill_process(t, PROC_START, 2000, "extra.exe", 0x200, T0 + 1);
    send4(t, 2000, 11, T0 + 2);
    send4(t, 2000, 11, T0 + 3);
    send4(t, 2004, 5, T0 + 4); /* an unnamed pid finds no row either */
    struct rows *rows = rows_of(t);
    assert_int_equal(rows->count, 5);
    const struct process_view *o = overflow_of(rows);
    assert_non_null(o);
    assert_string_equal(o->name, OVERFLOW_PROCESS_NAME);
    assert_int_equal(o->counters[FAMILY_IPV4][CTR_SENT_BYTES], 27);
    assert_int_equal(o->counters[FAMILY_IPV4][CTR_SENT_EVENTS], 3);
    struct table_stats s = stats_of(t);
    assert_int_equal(s.processes_untracked, 2);
    assert_int_equal(s.dropped[DROP_TABLE_FULL], 3);
    assert_int_equal(s.rows_in_use, 4);
    /* A rundown of an overflowed pid adds nothing. */
    fill_process(t, PROC_DCSTART, 2000, "extra.exe", 0x200, T0 + 5);
    assert_int_equal(stats_of(t).processes_untracked, 2);
    const struct name_view *on = name_of(names_of(t), OVERFLOW_PROCESS_NAME);
    assert_non_null(on);
    assert_int_equal(sent(on), 27);

    /* Two exit and retire; a new process takes a freed row; the overflowed pid stays. */
    fill_process(t, PROC_END, 1000, "fill.exe", 0x100, T0 + 6);
    fill_process(t, PROC_END, 1004, "fill.exe", 0x101, T0 + 6);
    fill_process(t, PROC_START, 3000, "early.exe", 0x300, T0 + 7);
    assert_int_equal(stats_of(t).processes_untracked, 3); /* exited rows are not reused early */
    process_table_housekeep(t, T0 + 6 + SECOND);
    assert_int_equal(stats_of(t).rows_in_use, 2);
    fill_process(t, PROC_START, 3004, "fresh.exe", 0x301, T0 + 2 * SECOND);
    send4(t, 3004, 8, T0 + 2 * SECOND);
    send4(t, 2000, 1, T0 + 2 * SECOND);
    rows = rows_of(t);
    assert_int_equal(row_of(rows, 3004, PROCESS_LIVE)->counters[FAMILY_IPV4][CTR_SENT_BYTES], 8);
    assert_int_equal(overflow_of(rows)->counters[FAMILY_IPV4][CTR_SENT_BYTES], 28);
    s = stats_of(t);
    assert_int_equal(s.processes_untracked, 3);
    assert_int_equal(s.dropped[DROP_TABLE_FULL], 4);
    assert_int_equal(s.rows_in_use, 3);

    /* The overflowed pid ends, and its pid's next process gets the last free row. */
    fill_process(t, PROC_END, 2000, "extra.exe", 0x200, T0 + 3 * SECOND);
    fill_process(t, PROC_START, 2000, "again.exe", 0x201, T0 + 3 * SECOND);
    send4(t, 2000, 2, T0 + 3 * SECOND);
    rows = rows_of(t);
    assert_int_equal(row_of(rows, 2000, PROCESS_LIVE)->counters[FAMILY_IPV4][CTR_SENT_BYTES], 2);
    assert_int_equal(overflow_of(rows)->counters[FAMILY_IPV4][CTR_SENT_BYTES], 28);
    assert_int_equal(stats_of(t).rows_in_use, 4);
    process_table_destroy(t);
}

/* ---- names ---- */

static void test_totals_by_name_include_retired(void **state)
{
    (void)state;
    struct process_table *t = table_new(16, SECOND);
    fill_process(t, PROC_START, 600, "web.exe", 0x60, T0);
    fill_process(t, PROC_START, 604, "web.exe", 0x61, T0);
    fill_process(t, PROC_START, 608, "db.exe", 0x62, T0);
    send4(t, 600, 100, T0 + 1);
    send4(t, 604, 20, T0 + 1);
    send4(t, 608, 3, T0 + 1);
    fill_net(t, NET_TCP_RECV, FAMILY_IPV6, 604, 50, T0 + 1);

    struct names *names = names_of(t);
    const struct name_view *web = name_of(names, "web.exe");
    assert_int_equal(sent(web), 120);
    assert_int_equal(web->counters[FAMILY_IPV6][CTR_RECV_BYTES], 50);
    assert_int_equal(web->live_instances, 2);
    assert_int_equal(sent(name_of(names, "db.exe")), 3);

    fill_process(t, PROC_END, 600, "web.exe", 0x60, T0 + 2);
    process_table_housekeep(t, T0 + 2 + SECOND);
    send4(t, 604, 1, T0 + 3 * SECOND);
    names = names_of(t);
    web = name_of(names, "web.exe");
    assert_int_equal(sent(web), 121);
    assert_int_equal(web->counters[FAMILY_IPV4][CTR_SENT_EVENTS], 3);
    assert_int_equal(web->live_instances, 1);

    fill_process(t, PROC_END, 604, "web.exe", 0x61, T0 + 4 * SECOND);
    process_table_housekeep(t, T0 + 6 * SECOND);
    web = name_of(names_of(t), "web.exe");
    assert_int_equal(sent(web), 121);
    assert_int_equal(web->counters[FAMILY_IPV6][CTR_RECV_BYTES], 50);
    assert_int_equal(web->live_instances, 0);
    process_table_destroy(t);
}

static void test_rename_from_unknown_never_lowers_a_total(void **state)
{
    (void)state;
    struct process_table *t = table_new(16, SECOND);
    send4(t, 700, 30, T0);
    send4(t, 704, 4, T0);
    struct rows *rows = rows_of(t);
    const struct process_view *r = row_of(rows, 700, PROCESS_LIVE);
    assert_false(r->is_named);
    assert_string_equal(r->name, UNKNOWN_PROCESS_NAME);
    assert_int_equal(r->unique_key, 0);
    assert_int_equal(r->start_time, T0);
    assert_int_equal(sent(name_of(names_of(t), UNKNOWN_PROCESS_NAME)), 34);

    /* The rundown names it: the row keeps all its counters, <unknown> keeps its total,
     * and the new name counts from here on. */
    uint64_t id = r->instance_id;
    fill_process(t, PROC_DCSTART, 700, "named.exe", 0x70, T0 + 1);
    rows = rows_of(t);
    assert_int_equal(rows_with_pid(rows, 700), 1);
    r = row_of(rows, 700, PROCESS_LIVE);
    assert_int_equal(r->instance_id, id);
    assert_true(r->is_named);
    assert_string_equal(r->name, "named.exe");
    assert_int_equal(r->unique_key, 0x70);
    assert_int_equal(r->counters[FAMILY_IPV4][CTR_SENT_BYTES], 30);
    struct names *names = names_of(t);
    assert_int_equal(sent(name_of(names, UNKNOWN_PROCESS_NAME)), 34);
    assert_int_equal(sent(name_of(names, "named.exe")), 0);

    send4(t, 700, 5, T0 + 2);
    names = names_of(t);
    assert_int_equal(sent(name_of(names, UNKNOWN_PROCESS_NAME)), 34);
    assert_int_equal(sent(name_of(names, "named.exe")), 5);
    assert_int_equal(name_of(names, "named.exe")->live_instances, 1);
    assert_int_equal(name_of(names, UNKNOWN_PROCESS_NAME)->live_instances, 1);

    /* Named by its End instead; a Start adopts an unnamed live row the same way. */
    fill_process(t, PROC_END, 704, "gone.exe", 0x74, T0 + 3);
    r = row_of(rows_of(t), 704, PROCESS_EXITED);
    assert_string_equal(r->name, "gone.exe");
    assert_int_equal(r->counters[FAMILY_IPV4][CTR_SENT_BYTES], 4);
    send4(t, 708, 6, T0 + 4);
    fill_process(t, PROC_START, 708, "adopted.exe", 0x78, T0 + 5);
    assert_int_equal(rows_with_pid(rows_of(t), 708), 1);

    /* Retiring renamed rows moves only what grew under the new name. */
    fill_process(t, PROC_END, 700, "named.exe", 0x70, T0 + 6);
    process_table_housekeep(t, T0 + 10 * SECOND);
    names = names_of(t);
    assert_int_equal(sent(name_of(names, UNKNOWN_PROCESS_NAME)), 40);
    assert_int_equal(sent(name_of(names, "named.exe")), 5);
    assert_int_equal(sent(name_of(names, "gone.exe")), 0);
    assert_int_equal(sent(name_of(names, "adopted.exe")), 0);
    uint64_t all = 0;
    for (size_t i = 0; i < names->count; i++)
        all += sent(&names->name[i]);
    assert_int_equal(all, 30 + 4 + 5 + 6);

    /* A rundown that renames a named instance moves its totals the same way. */
    fill_process(t, PROC_DCSTART, 708, "renamed.exe", 0x78, T0 + 11 * SECOND);
    names = names_of(t);
    assert_int_equal(sent(name_of(names, "adopted.exe")), 0);
    assert_int_equal(sent(name_of(names, "renamed.exe")), 0);
    assert_int_equal(sent(name_of(names, UNKNOWN_PROCESS_NAME)), 40);
    assert_string_equal(row_of(rows_of(t), 708, PROCESS_LIVE)->name, "renamed.exe");
    process_table_destroy(t);
}

static void test_name_table_is_bounded(void **state)
{
    (void)state;
    /* 256 rows give 256 names; 400 distinct names fill them, the rest go to <overflow>. */
    struct process_table *t = table_new(256, 1);
    for (uint32_t i = 0; i < 400; i++) {
        char name[32];
        snprintf(name, sizeof name, "tool%03u.exe", i);
        fill_process(t, PROC_START, 8 + 4 * i, name, 0x1000 + i, T0 + i);
        send4(t, 8 + 4 * i, 1, T0 + i);
        fill_process(t, PROC_END, 8 + 4 * i, name, 0x1000 + i, T0 + i);
        process_table_housekeep(t, T0 + i + 1);
    }
    struct names *names = names_of(t);
    assert_int_equal(names->count, 256);
    uint64_t all = 0;
    for (size_t i = 0; i < names->count; i++)
        all += sent(&names->name[i]);
    assert_int_equal(all, 400);
    assert_non_null(name_of(names, "tool000.exe"));
    assert_null(name_of(names, "tool399.exe"));
    assert_int_equal(sent(name_of(names, OVERFLOW_PROCESS_NAME)), 400 - 254);
    /* The row itself still tells the real name. */
    fill_process(t, PROC_START, 9000, "tool999.exe", 0x9000, T0 + 500);
    assert_string_equal(row_of(rows_of(t), 9000, PROCESS_LIVE)->name, "tool999.exe");
    process_table_destroy(t);
}

static void test_long_and_empty_names(void **state)
{
    (void)state;
    struct process_table *t = table_new(16, SECOND);
    char longname[200];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    fill_process(t, PROC_START, 900, longname, 0x90, T0);
    const struct process_view *r = row_of(rows_of(t), 900, PROCESS_LIVE);
    assert_int_equal(strlen(r->name), IMAGE_NAME_MAX - 1);
    /* An empty image name names nothing: the row stays <unknown> but keeps its key. */
    fill_process(t, PROC_START, 904, "", 0x94, T0);
    r = row_of(rows_of(t), 904, PROCESS_LIVE);
    assert_false(r->is_named);
    assert_string_equal(r->name, UNKNOWN_PROCESS_NAME);
    assert_int_equal(r->unique_key, 0x94);
    process_table_destroy(t);
}

/* ---- failures, lost events and other statistics ---- */

static void test_fail_counting(void **state)
{
    (void)state;
    struct process_table *t = table_new(16, SECOND);
    for (uint16_t code = 1; code <= 6; code++)
        for (uint16_t n = 0; n < code; n++)
            fill_fail(t, 2, code, T0);
    fill_fail(t, 23, 4, T0);
    fill_fail(t, 23, 0, T0);
    fill_fail(t, 23, 7, T0);
    fill_fail(t, 2, 999, T0);
    fill_fail(t, 5, 1, T0); /* no such protocol family */
    struct table_stats s = stats_of(t);
    for (int code = 1; code <= 6; code++)
        assert_int_equal(s.fails[FAMILY_IPV4][code], code);
    assert_int_equal(s.fails[FAMILY_IPV4][0], 0);
    assert_int_equal(s.fails[FAMILY_IPV4][7], 1);
    assert_int_equal(s.fails[FAMILY_IPV6][4], 1);
    assert_int_equal(s.fails[FAMILY_IPV6][7], 2);
    assert_int_equal(s.fails[FAMILY_IPV6][1], 0);
    assert_int_equal(s.dropped[DROP_UNKNOWN], 1);
    assert_int_equal(s.events_by_type[EVT_TCP_FAIL], 21 + 5);
    assert_int_equal(rows_of(t)->count, 0);
    process_table_destroy(t);
}

static void test_stats(void **state)
{
    (void)state;
    struct process_table *t = table_new(100, SECOND);
    struct table_stats s = stats_of(t);
    assert_int_equal(s.capacity, 128);
    assert_int_equal(s.rows_in_use, 0);
    lost(t, LOST_EVENT);
    lost(t, LOST_EVENT);
    lost(t, LOST_BUFFER);
    lost(t, LOST_FILE);
    process_table_count_drop(t, DROP_MALFORMED);
    process_table_count_drop(t, DROP_UNKNOWN);
    process_table_count_drop(t, DROP_UNKNOWN);
    send4(t, 8, 1, T0);
    fill_net(t, NET_UDP_RECV, FAMILY_IPV6, 8, 1, T0);
    fill_net(t, NET_UDP_RECV, FAMILY_IPV6, 12, 1, T0);
    fill_process(t, PROC_DCSTART, 8, "x.exe", 1, T0);
    s = stats_of(t);
    assert_int_equal(s.lost_events, 2);
    assert_int_equal(s.lost_buffers, 1);
    assert_int_equal(s.events_by_type[EVT_LOST_EVENT], 2);
    assert_int_equal(s.events_by_type[EVT_LOST_BUFFER], 1);
    assert_int_equal(s.events_by_type[EVT_LOST_FILE], 1);
    assert_int_equal(s.events_by_type[EVT_TCP_SEND_V4], 1);
    assert_int_equal(s.events_by_type[EVT_UDP_RECV_V6], 2);
    assert_int_equal(s.events_by_type[EVT_PROCESS_DCSTART], 1);
    assert_int_equal(s.events_by_type[EVT_TCP_RECV_V4], 0);
    assert_int_equal(s.dropped[DROP_MALFORMED], 1);
    assert_int_equal(s.dropped[DROP_UNKNOWN], 2);
    assert_int_equal(s.dropped[DROP_TABLE_FULL], 0);
    assert_int_equal(s.rows_in_use, 2);
    assert_int_equal(s.processes_untracked, 0);
    assert_int_equal(s.instances_retired, 0);
    process_table_destroy(t);
}

static void test_default_capacity_and_footprint(void **state)
{
    (void)state;
    struct process_table *t = process_table_create(NULL);
    assert_non_null(t);
    assert_int_equal(stats_of(t).capacity, PROCESS_TABLE_DEFAULT_CAPACITY);
    process_table_destroy(t);
    size_t footprint = process_table_footprint(0);
    assert_int_equal(footprint, process_table_footprint(PROCESS_TABLE_DEFAULT_CAPACITY));
    /* Everything a row needs (row, index slots, free list, a name) stays under 1 KiB, and
     * the service tables (1,024 services, sets and pairs) add less than 512 KiB. */
    size_t per_4096_rows = process_table_footprint(8192) - footprint;
    assert_true(per_4096_rows <= (size_t)4096 * 1024);
    assert_true(footprint <= (size_t)PROCESS_TABLE_DEFAULT_CAPACITY * 1024 + 512 * 1024);
    printf("footprint at capacity %u: %zu bytes (%zu per row)\n",
           PROCESS_TABLE_DEFAULT_CAPACITY, footprint,
           footprint / PROCESS_TABLE_DEFAULT_CAPACITY);
}

/* ---- services ---- */

/* The names of a set joined with ",", as the exporter shows them. */
static const char *joined_services(const struct process_table *t, uint32_t set)
{
    static char text[1024];
    struct service_ref refs[PROCESS_TABLE_SERVICES_PER_SET];
    size_t n = process_table_service_set(t, set, refs, PROCESS_TABLE_SERVICES_PER_SET);
    size_t at = 0;
    text[0] = '\0';
    for (size_t i = 0; i < n; i++)
        at += (size_t)snprintf(text + at, sizeof text - at, "%s%s", i ? "," : "", refs[i].name);
    return text;
}

static const struct name_view *name_with_services(const struct process_table *t,
                                                  const struct names *names, const char *name,
                                                  const char *services)
{
    for (size_t i = 0; i < names->count; i++)
        if (strcmp(names->name[i].name, name) == 0 &&
            strcmp(joined_services(t, names->name[i].service_set), services) == 0)
            return &names->name[i];
    return NULL;
}

/* A trace's records, one service each, in name order across pids, then the next event:
 * each row takes its whole set at once, sorted case-insensitively. */
static void test_services_from_records(void **state)
{
    (void)state;
    struct process_table *t = table_new(64, 60 * SECOND);
    fill_start(t, 1188, "svchost.exe", 0x1188, T0);
    fill_start(t, 900, "svchost.exe", 0x900, T0);
    send4(t, 1188, 100, T0 + 1);
    send4(t, 900, 7, T0 + 1);
    fill_service(t, 0, 1, "AeLookupSvc", "Application Experience", T0 + 2); /* stopped */
    fill_service(t, 1188, 4, "nlasvc", "Network Location Awareness", T0 + 2);
    fill_service(t, 900, 4, "RpcSs", "Remote Procedure Call (RPC)", T0 + 2);
    fill_service(t, 1188, 4, "Dnscache", "DNS Client", T0 + 2);
    fill_service(t, 1188, 4, "CryptSvc", "Cryptographic Services", T0 + 2);
    fill_service(t, 1188, 1, "Stopped", "A stopped service", T0 + 2);
    /* nothing applied yet: the run of records has not ended */
    assert_string_equal(joined_services(t, row_of(rows_of(t), 1188, PROCESS_LIVE)->service_set),
                        "");
    send4(t, 1188, 5, T0 + 3); /* the fast path does not end the run... */
    lost(t, LOST_EVENT);       /* ...any other record does */
    const struct rows *rows = rows_of(t);
    assert_string_equal(joined_services(t, row_of(rows, 1188, PROCESS_LIVE)->service_set),
                        "CryptSvc,Dnscache,nlasvc");
    assert_string_equal(joined_services(t, row_of(rows, 900, PROCESS_LIVE)->service_set), "RpcSs");
    struct service_ref refs[4];
    assert_int_equal(process_table_service_set(t, row_of(rows, 1188, PROCESS_LIVE)->service_set,
                                               refs, 4), 3);
    assert_string_equal(refs[0].display_name, "Cryptographic Services");
    /* the row's counters stay whole; totals by name: what came before the services stays
     * with (svchost.exe, none), what comes after counts with the set, the sum is exact */
    send4(t, 1188, 1000, T0 + 4);
    assert_int_equal(row_of(rows_of(t), 1188, PROCESS_LIVE)->counters[FAMILY_IPV4][CTR_SENT_BYTES],
                     1105);
    const struct names *names = names_of(t);
    assert_int_equal(sent(name_with_services(t, names, "svchost.exe", "")), 112);
    assert_int_equal(sent(name_with_services(t, names, "svchost.exe", "CryptSvc,Dnscache,nlasvc")),
                     1000);
    assert_int_equal(sent(name_with_services(t, names, "svchost.exe", "RpcSs")), 0);
    struct table_stats s = stats_of(t);
    assert_int_equal(s.events_by_type[EVT_SYSCONFIG_SERVICES], 6);
    assert_int_equal(s.services_known, 4);
    assert_int_equal(s.services_hosted, 4);
    assert_int_equal(s.services_dropped, 0);
    struct hosted_service hosted[8];
    assert_int_equal(process_table_services_hosted(t, hosted, 8), 4);
    process_table_destroy(t);
}

/* Services known before a pid's first event: its new row carries them from the start,
 * housekeeping ends a run of records too, and an exit (not a rundown's DCEnd) ends the
 * hosting while the row keeps its set. */
static void test_services_before_traffic_and_exit(void **state)
{
    (void)state;
    struct process_table *t = table_new(64, 60 * SECOND);
    fill_service(t, 2000, 4, "W32Time", "Windows Time", T0);
    fill_service(t, 3000, 4, "Spooler", "Print Spooler", T0);
    process_table_housekeep(t, T0);
    send4(t, 2000, 10, T0 + 1);
    assert_string_equal(joined_services(t, row_of(rows_of(t), 2000, PROCESS_LIVE)->service_set),
                        "W32Time");
    assert_int_equal(sent(name_with_services(t, names_of(t), UNKNOWN_PROCESS_NAME, "W32Time")), 10);
    fill_process(t, PROC_DCEND, 3000, "spoolsv.exe", 0x3000, T0 + 2);
    fill_end(t, 2000, "svchost.exe", 0x2000, T0 + 2);
    assert_string_equal(joined_services(t, row_of(rows_of(t), 2000, PROCESS_EXITED)->service_set),
                        "W32Time");
    assert_int_equal(stats_of(t).services_hosted, 1); /* Spooler: a rundown is no exit */
    /* the pid reused: the new process hosts nothing */
    fill_service(t, 3000, 4, "Spooler", "Print Spooler", T0 + 3);
    process_table_housekeep(t, T0 + 3);
    fill_start(t, 3000, "notepad.exe", 0x3001, T0 + 4);
    send4(t, 3000, 1, T0 + 5);
    assert_string_equal(joined_services(t, row_of(rows_of(t), 3000, PROCESS_LIVE)->service_set),
                        "");
    assert_int_equal(stats_of(t).services_hosted, 0);
    process_table_destroy(t);
}

/* The live scan: complete lists, the newest replacing the hosting view; a row's set only
 * grows; an unapplied older list is freed unread. */
static void test_services_offered_scans(void **state)
{
    (void)state;
    struct process_table *t = table_new(64, 60 * SECOND);
    fill_start(t, 500, "svchost.exe", 0x500, T0);
    send4(t, 500, 1, T0);
    static const struct fill_hosted first[] = {
        {500, "BITS", "Background Intelligent Transfer Service"},
        {500, "Schedule", "Task Scheduler"},
        {600, "tcpip_exporter", "TCP/IP exporter"},
    };
    static const struct fill_hosted older[] = {{500, "Old", "never applied"}};
    process_table_offer_services(t, fill_batch(older, 1));
    process_table_offer_services(t, fill_batch(first, 3));
    process_table_housekeep(t, T0 + 1);
    assert_string_equal(joined_services(t, row_of(rows_of(t), 500, PROCESS_LIVE)->service_set),
                        "BITS,Schedule");
    assert_int_equal(stats_of(t).service_scans, 1);
    static const struct fill_hosted second[] = {
        {500, "Schedule", "Task Scheduler"},
        {500, "wuauserv", "Windows Update"},
        {700, "tcpip_exporter", "TCP/IP exporter"},
    };
    process_table_offer_services(t, fill_batch(second, 3));
    process_table_housekeep(t, T0 + 2);
    assert_string_equal(joined_services(t, row_of(rows_of(t), 500, PROCESS_LIVE)->service_set),
                        "BITS,Schedule,wuauserv");
    struct hosted_service hosted[8];
    size_t n = process_table_services_hosted(t, hosted, 8);
    assert_int_equal(n, 3);
    bool exporter_at_700 = false, old_seen = false;
    for (size_t i = 0; i < n; i++) {
        exporter_at_700 |= strcmp(hosted[i].service.name, "tcpip_exporter") == 0 &&
                           hosted[i].pid == 700;
        old_seen |= strcmp(hosted[i].service.name, "Old") == 0 ||
                    strcmp(hosted[i].service.name, "BITS") == 0;
    }
    assert_true(exporter_at_700);
    assert_false(old_seen);
    assert_int_equal(stats_of(t).services_known, 4); /* "Old" was never applied */
    /* offered and never applied: freed with the table (ASan would say otherwise) */
    process_table_offer_services(t, fill_batch(first, 3));
    process_table_destroy(t);
}

/* Full service tables: what does not fit is counted, nothing else changes. */
static void test_services_bounded(void **state)
{
    (void)state;
    struct process_table_config config = {.capacity = 64, .retention = 60 * SECOND,
                                          .service_capacity = 4};
    struct process_table *t = process_table_create(&config);
    assert_non_null(t);
    fill_start(t, 10, "svchost.exe", 0x10, T0);
    char name[32];
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof name, "svc%02d", i);
        fill_service(t, 10, 4, name, name, T0);
    }
    process_table_housekeep(t, T0);
    struct table_stats s = stats_of(t);
    assert_int_equal(s.services_known, 4);
    assert_true(s.services_dropped >= 6);
    assert_int_equal(s.service_capacity, 4);
    assert_string_equal(joined_services(t, row_of(rows_of(t), 10, PROCESS_LIVE)->service_set),
                        "svc00,svc01,svc02,svc03");
    process_table_destroy(t);
}

/* ---- the pid index under churn, against a model ---- */

static void test_pid_churn_matches_model(void **state)
{
    (void)state;
    enum { PIDS = 200 };
    struct process_table *t = table_new(128, 5);
    uint64_t expect[PIDS] = {0};   /* bytes of the current instance of each pid */
    bool alive[PIDS] = {false};
    uint64_t key = 1;
    uint32_t rnd = 12345;
    uint64_t ts = T0;
    for (int step = 0; step < 100000; step++) {
        rnd = rnd * 1103515245u + 12345u;
        uint32_t i = (rnd >> 8) % PIDS;
        uint32_t pid = 4 * (i * 37 % 1024); /* collide in the index now and then */
        uint32_t action = (rnd >> 20) % 16;
        ts++;
        if (action == 0 && alive[i]) {
            fill_process(t, PROC_END, pid, "churn.exe", key, ts);
            alive[i] = false;
        } else if (action == 1 && !alive[i] && stats_of(t).rows_in_use < 128) {
            fill_process(t, PROC_START, pid, "churn.exe", ++key, ts);
            alive[i] = true;
            expect[i] = 0;
        } else if (alive[i]) {
            send4(t, pid, i + 1, ts);
            expect[i] += i + 1;
        }
        if (step % 64 == 0)
            process_table_housekeep(t, ts);
    }
    process_table_housekeep(t, ts + 100);
    size_t live = 0;
    for (uint32_t i = 0; i < PIDS; i++) {
        if (!alive[i])
            continue;
        live++;
        uint32_t pid = 4 * (i * 37 % 1024);
        const struct process_view *r = row_of(rows_of(t), pid, PROCESS_LIVE);
        assert_int_equal(r->counters[FAMILY_IPV4][CTR_SENT_BYTES], expect[i]);
    }
    assert_true(live > 20);
    assert_int_equal(rows_of(t)->count, live); /* every exited instance retired */
    struct table_stats s = stats_of(t);
    assert_int_equal(s.rows_in_use, live);
    assert_int_equal(s.processes_untracked, 0);
    assert_true(s.instances_retired > 1000);
    process_table_destroy(t);
}

/* The writer's private pid index on its own: random puts and removes, many of them in
 * long clusters, against a plain array; every key must stay findable after any removal. */
static void test_pid_index_matches_model(void **state)
{
    (void)state;
    enum { ENTRIES = 200, KEYS = 600 };
    struct pid_slot *slots = calloc(pid_index_slots_for(ENTRIES), sizeof *slots);
    assert_non_null(slots);
    struct pid_index index;
    pid_index_init(&index, slots, ENTRIES);
    uint32_t model[KEYS];
    for (int k = 0; k < KEYS; k++)
        model[k] = PID_INDEX_NONE;
    uint32_t rnd = 777;
    for (int step = 0; step < 200000; step++) {
        rnd = rnd * 1103515245u + 12345u;
        int k = (int)((rnd >> 8) % KEYS);
        uint32_t pid = 4u * (uint32_t)k;
        if ((rnd >> 20) % 3 == 0) {
            pid_index_remove(&index, pid);
            model[k] = PID_INDEX_NONE;
        } else if (index.count < index.limit || model[k] != PID_INDEX_NONE) {
            assert_int_equal(pid_index_put(&index, pid, (uint32_t)step), 0);
            model[k] = (uint32_t)step;
        } else {
            assert_int_equal(pid_index_put(&index, pid, (uint32_t)step), -1);
        }
        if (step % 97 == 0)
            for (int j = 0; j < KEYS; j++)
                assert_int_equal(pid_index_find(&index, 4u * (uint32_t)j), model[j]);
    }
    uint32_t live = 0;
    for (int j = 0; j < KEYS; j++)
        live += model[j] != PID_INDEX_NONE;
    assert_int_equal(index.count, live);
    free(slots);
}

/* ---- records through the decoder ---- */

static void feed(struct process_table *t, enum trace_class cls, uint8_t opcode, uint8_t version,
                 const uint8_t *payload, size_t len)
{
    struct trace_record rec = {
        .event_class = cls, .opcode = opcode, .version = version, .pointer_size = 8,
        .timestamp = T0, .payload = payload, .payload_size = (uint32_t)len,
    };
    process_table_feed(t, &rec);
}

static void test_feed_decodes_and_counts(void **state)
{
    (void)state;
    struct process_table *t = table_new(16, SECOND);
    uint8_t buf[512];
    struct payload_process pp = {
        .unique_key = 0xFFFF800012345678ull, .pid = 1234, .parent_pid = 4,
        .sid_sub_authorities = 5, .image_name = "fed.exe", .command_line = "fed.exe -x",
    };
    size_t len = payload_process(buf, sizeof buf, 4, 8, &pp);
    assert_true(len > 0);
    feed(t, TRACE_CLASS_PROCESS, 3, 4, buf, len);

    struct payload_net pn = {.pid = 1234, .size = 1460, .dport = 443, .sport = 50000};
    len = payload_tcpip(buf, sizeof buf, 10, 8, &pn);
    assert_true(len > 0);
    feed(t, TRACE_CLASS_TCPIP, 10, 2, buf, len);
    feed(t, TRACE_CLASS_TCPIP, 10, 2, buf, len - 1); /* no connid: counted, and as short */
    feed(t, TRACE_CLASS_TCPIP, 10, 2, buf, 8);       /* PID and size only: the same */
    feed(t, TRACE_CLASS_TCPIP, 10, 2, buf, 7);       /* not even the size: malformed */
    len = payload_udpip(buf, sizeof buf, 27, 8, &pn);
    feed(t, TRACE_CLASS_UDPIP, 27, 2, buf, len);
    feed(t, TRACE_CLASS_OTHER, 1, 0, buf, len);
    pn.fail_proto = 23;
    pn.fail_code = 2;
    len = payload_tcpip(buf, sizeof buf, 17, 8, &pn);
    feed(t, TRACE_CLASS_TCPIP, 17, 2, buf, len);
    /* Version 1 (XP, 2003) ends after the ports: complete there, not short. */
    len = payload_tcpip(buf, sizeof buf, 11, 8, &pn);
    feed(t, TRACE_CLASS_TCPIP, 11, 1, buf, 20);
    /* Version 0 has the addresses first and the PID last (1234 here): unknown, never read
     * as the later layout, which would make 10.0.0.1 a pid and 192.168.1.2 a size. */
    static const uint8_t v0[] = {10, 0, 0, 1, 192, 168, 1, 2, 0x01, 0xBB, 0xC3, 0x50,
                                 0xE8, 0x03, 0, 0, 0xD2, 0x04, 0, 0};
    feed(t, TRACE_CLASS_TCPIP, 11, 0, v0, sizeof v0);
    feed(t, TRACE_CLASS_UDPIP, 10, 0, v0, sizeof v0);

    const struct process_view *r = row_of(rows_of(t), 1234, PROCESS_LIVE);
    assert_string_equal(r->name, "fed.exe");
    assert_int_equal(r->unique_key, 0xFFFF800012345678ull);
    assert_int_equal(r->counters[FAMILY_IPV4][CTR_SENT_BYTES], 3 * 1460);
    assert_int_equal(r->counters[FAMILY_IPV4][CTR_SENT_EVENTS], 3);
    assert_int_equal(r->counters[FAMILY_IPV6][CTR_UDP_RECV_BYTES], 1460);
    assert_int_equal(r->counters[FAMILY_IPV6][CTR_UDP_RECV_DATAGRAMS], 1);
    assert_int_equal(r->counters[FAMILY_IPV4][CTR_RECV_BYTES], 1460);
    assert_int_equal(r->counters[FAMILY_IPV4][CTR_RECV_EVENTS], 1);
    struct table_stats s = stats_of(t);
    assert_int_equal(s.rows_in_use, 1);
    assert_int_equal(s.dropped[DROP_MALFORMED], 1);
    assert_int_equal(s.dropped[DROP_UNKNOWN], 3);
    assert_int_equal(s.events_by_type[EVT_PROCESS_DCSTART], 1);
    assert_int_equal(s.events_by_type[EVT_TCP_SEND_V4], 3);
    assert_int_equal(s.short_records, 2);
    assert_int_equal(s.fails[FAMILY_IPV6][2], 1);
    process_table_destroy(t);
}

/* A reused row must start from zero on both write paths: the hot path (feed) keeps a
 * writer-private copy of the traffic counters, which has to be reset with the row. */
static void test_reused_row_starts_from_zero(void **state)
{
    (void)state;
    struct process_table *t = table_new(4, SECOND);
    uint8_t buf[128];
    for (uint32_t i = 0; i < 4; i++) {
        uint32_t pid = 100 + 4 * i;
        fill_process(t, PROC_START, pid, "old.exe", 0x500 + i, T0);
        struct payload_net pn = {.pid = pid, .size = 1000 + i};
        size_t len = payload_tcpip(buf, sizeof buf, 10, 8, &pn);
        feed(t, TRACE_CLASS_TCPIP, 10, 2, buf, len);
        len = payload_udpip(buf, sizeof buf, 11, 8, &pn);
        feed(t, TRACE_CLASS_UDPIP, 11, 2, buf, len);
        send4(t, pid, 7, T0);
        fill_process(t, PROC_END, pid, "old.exe", 0x500 + i, T0 + 1);
    }
    process_table_housekeep(t, T0 + 1 + SECOND);
    assert_int_equal(stats_of(t).rows_in_use, 0);

    for (uint32_t i = 0; i < 4; i++) {
        uint32_t pid = 200 + 4 * i;
        fill_process(t, PROC_START, pid, "new.exe", 0x600 + i, T0 + 2 * SECOND);
        struct payload_net pn = {.pid = pid, .size = 3};
        size_t len = payload_tcpip(buf, sizeof buf, 10, 8, &pn);
        feed(t, TRACE_CLASS_TCPIP, 10, 2, buf, len);
    }
    struct rows *rows = rows_of(t);
    assert_int_equal(rows->count, 4);
    assert_null(overflow_of(rows));
    for (size_t i = 0; i < rows->count; i++) {
        const struct process_view *r = &rows->row[i];
        assert_string_equal(r->name, "new.exe");
        assert_int_equal(r->counters[FAMILY_IPV4][CTR_SENT_BYTES], 3);
        assert_int_equal(r->counters[FAMILY_IPV4][CTR_SENT_EVENTS], 1);
        assert_int_equal(r->counters[FAMILY_IPV4][CTR_UDP_RECV_BYTES], 0);
        assert_int_equal(r->counters[FAMILY_IPV4][CTR_UDP_RECV_DATAGRAMS], 0);
    }
    /* and the old totals live on under their name */
    const struct name_view *old = name_of(names_of(t), "old.exe");
    assert_non_null(old);
    assert_int_equal(sent(old), 1000 + 1001 + 1002 + 1003 + 4 * 7);
    process_table_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counters_per_family_and_op),
        cmocka_unit_test(test_pid_reuse_starts_new_instance),
        cmocka_unit_test(test_dcstart_of_restarted_session_keeps_instance),
        cmocka_unit_test(test_events_after_exit_count_to_exited_instance),
        cmocka_unit_test(test_retention_then_retirement),
        cmocka_unit_test(test_retirement_of_replaced_instance_keeps_new_one),
        cmocka_unit_test(test_overflow_when_full_and_reuse_after_retirement),
        cmocka_unit_test(test_totals_by_name_include_retired),
        cmocka_unit_test(test_rename_from_unknown_never_lowers_a_total),
        cmocka_unit_test(test_name_table_is_bounded),
        cmocka_unit_test(test_long_and_empty_names),
        cmocka_unit_test(test_fail_counting),
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_default_capacity_and_footprint),
        cmocka_unit_test(test_services_from_records),
        cmocka_unit_test(test_services_before_traffic_and_exit),
        cmocka_unit_test(test_services_offered_scans),
        cmocka_unit_test(test_services_bounded),
        cmocka_unit_test(test_pid_churn_matches_model),
        cmocka_unit_test(test_pid_index_matches_model),
        cmocka_unit_test(test_feed_decodes_and_counts),
        cmocka_unit_test(test_reused_row_starts_from_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
