/* The reader and decoder against real traces (../shared/data/etl): for each perfview
 * trace, the count of every TcpIp, UdpIp and Process event type equals the COUNT lines of
 * TraceEvent's baseline, and the first events of each type (the baseline's EVENT lines)
 * have the same time, payload length, PID, size, addresses, ports, parent, key and image
 * name. Then ShutdownPerfDiagLogger.etl: every pid a Process event names is named so in
 * the table after a replay.
 *
 * Usage: test_etl_baseline DIR (DIR holds perfview/ and etl-parser/); exit 77 = skip. */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "bytes.h"
#include "etl_file.h"
#include "etl_reader.h"
#include "etl_replay.h"
#include "process_table.h"

static int failures;

#define EXPECT(cond, ...)                                                                   \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                 \
            fprintf(stderr, __VA_ARGS__);                                                   \
            fputc('\n', stderr);                                                            \
            failures++;                                                                     \
        }                                                                                   \
    } while (0)

/* TraceEvent's names for the types we decode, per class. */
struct type_name {
    enum trace_class event_class;
    const char *task;
    const char *name;
    uint8_t opcode;
};

static const struct type_name TYPES[] = {
    { TRACE_CLASS_TCPIP, "TcpIp", "Send", 10 }, { TRACE_CLASS_TCPIP, "TcpIp", "Recv", 11 },
    { TRACE_CLASS_TCPIP, "TcpIp", "Connect", 12 }, { TRACE_CLASS_TCPIP, "TcpIp", "Disconnect", 13 },
    { TRACE_CLASS_TCPIP, "TcpIp", "Retransmit", 14 }, { TRACE_CLASS_TCPIP, "TcpIp", "Accept", 15 },
    { TRACE_CLASS_TCPIP, "TcpIp", "Reconnect", 16 }, { TRACE_CLASS_TCPIP, "TcpIp", "Fail", 17 },
    { TRACE_CLASS_TCPIP, "TcpIp", "TCPCopy", 18 }, { TRACE_CLASS_TCPIP, "TcpIp", "SendIPV6", 26 },
    { TRACE_CLASS_TCPIP, "TcpIp", "RecvIPV6", 27 }, { TRACE_CLASS_TCPIP, "TcpIp", "ConnectIPV6", 28 },
    { TRACE_CLASS_TCPIP, "TcpIp", "DisconnectIPV6", 29 },
    { TRACE_CLASS_TCPIP, "TcpIp", "RetransmitIPV6", 30 },
    { TRACE_CLASS_TCPIP, "TcpIp", "AcceptIPV6", 31 }, { TRACE_CLASS_TCPIP, "TcpIp", "ReconnectIPV6", 32 },
    { TRACE_CLASS_TCPIP, "TcpIp", "TCPCopyIPV6", 34 },
    { TRACE_CLASS_UDPIP, "UdpIp", "Send", 10 }, { TRACE_CLASS_UDPIP, "UdpIp", "Recv", 11 },
    { TRACE_CLASS_UDPIP, "UdpIp", "SendIPV6", 26 }, { TRACE_CLASS_UDPIP, "UdpIp", "RecvIPV6", 27 },
    { TRACE_CLASS_PROCESS, "Process", "Start", 1 }, { TRACE_CLASS_PROCESS, "Process", "Stop", 2 },
    { TRACE_CLASS_PROCESS, "Process", "DCStart", 3 }, { TRACE_CLASS_PROCESS, "Process", "DCStop", 4 },
    { TRACE_CLASS_PROCESS, "Process", "PerfCtr", 32 },
    { TRACE_CLASS_PROCESS, "Process", "PerfCtrRundown", 33 },
    { TRACE_CLASS_PROCESS, "Process", "Defunct", 39 },
    { TRACE_CLASS_SYSCONFIG, "SystemConfig", "Services", 15 },
};
#define TYPE_COUNT ARRAY_SIZE(TYPES)

static int type_index(enum trace_class c, uint8_t opcode)
{
    for (size_t i = 0; i < TYPE_COUNT; i++)
        if (TYPES[i].event_class == c && TYPES[i].opcode == opcode)
            return (int)i;
    return -1;
}

/* "Windows Kernel/TcpIp/SendIPV6" -> index, or -1 when not one of our classes, -2 when
 * one of our classes but a type this table does not name (the test then fails). */
static int type_of_name(const char *provider_task_opcode)
{
    static const char prefix[] = "Windows Kernel/";
    if (strncmp(provider_task_opcode, prefix, sizeof prefix - 1) != 0)
        return -1;
    const char *task = provider_task_opcode + sizeof prefix - 1;
    const char *slash = strchr(task, '/');
    if (!slash)
        return -1;
    size_t task_len = (size_t)(slash - task);
    bool ours = false;
    for (size_t i = 0; i < TYPE_COUNT; i++) {
        if (strlen(TYPES[i].task) != task_len || strncmp(TYPES[i].task, task, task_len) != 0)
            continue;
        ours = true;
        if (strcmp(TYPES[i].name, slash + 1) == 0)
            return (int)i;
    }
    /* SystemConfig's hardware records (CPU, NIC, PnP...) are not ours: only Services is */
    if (task_len == strlen("SystemConfig") && strncmp(task, "SystemConfig", task_len) == 0)
        return -1;
    return ours ? -2 : -1;
}

/* Value of " key=" up to ';' (thousands separators dropped for numbers). */
static bool field(const char *line, const char *key, char *out, size_t cap)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, " %s=", key);
    const char *p = strstr(line, pattern);
    if (!p)
        return false;
    p += strlen(pattern);
    size_t n = strcspn(p, ";");
    if (n >= cap)
        return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

static bool number(const char *line, const char *key, uint64_t *v)
{
    char raw[64], digits[64];
    size_t n = 0;
    if (!field(line, key, raw, sizeof raw))
        return false;
    for (const char *p = raw; *p && n + 1 < sizeof digits; p++)
        if (*p != ',')
            digits[n++] = *p;
    digits[n] = '\0';
    if (strcmp(digits, "-1") == 0) {
        *v = UINT32_MAX;
        return true;
    }
    *v = strtoull(digits, NULL, 0);
    return true;
}

static void format_address(const uint8_t *a, enum ip_family family, char *out, size_t cap)
{
    if (family == FAMILY_IPV4) {
        snprintf(out, cap, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
        return;
    }
    size_t n = 0;
    for (int g = 0; g < 8 && n < cap; g++)
        n += (size_t)snprintf(out + n, cap - n, g ? ":%x" : "%x", a[2 * g] << 8 | a[2 * g + 1]);
}

/* The baseline abbreviates long values to 20 characters and "...". */
static bool same_text(const char *baseline, const char *ours)
{
    size_t n = strlen(baseline);
    if (n > 3 && strcmp(baseline + n - 3, "...") == 0)
        return strncmp(baseline, ours, n - 3) == 0;
    return strcmp(baseline, ours) == 0;
}

#define MAX_EVENTS 64

struct expected {
    uint64_t count;
    bool counted;        /* a COUNT line exists */
    char *events[MAX_EVENTS];
    size_t event_count;
};

static void check_event(const char *line, const struct etl_record *r, double ms)
{
    char text[128];
    uint64_t v;
    char stamp[32];
    size_t n = 0;
    for (const char *p = line + strlen("EVENT "); *p && *p != ':' && n + 1 < sizeof stamp; p++)
        if (*p != ',')
            stamp[n++] = *p;
    stamp[n] = '\0';
    double at = atof(stamp);
    EXPECT(fabs(at - ms) <= 0.0011, "time %.4f ms, baseline %.3f: %s", ms, at, line);
    EXPECT(number(line, "DataLen", &v) && v == r->rec.payload_size, "DataLen %u: %s",
           r->rec.payload_size, line);
    if (r->rec.event_class == TRACE_CLASS_PROCESS && r->rec.opcode >= 32 && r->rec.opcode <= 33)
        return; /* PerfCtr and PerfCtrRundown: counted, not decoded */
    struct trace_fact fact;
    enum decode_status st = decode_record(&r->rec, &fact);
    EXPECT(st == DECODE_OK, "decode status %d: %s", (int)st, line);
    if (st != DECODE_OK)
        return;
    if (fact.kind == FACT_NET) {
        const struct net_fact *n = &fact.u.net;
        EXPECT(number(line, "PID", &v) && v == n->pid, "pid %u: %s", n->pid, line);
        EXPECT(number(line, "size", &v) && v == n->size, "size %u: %s", n->size, line);
        EXPECT(number(line, "dport", &v) && v == n->dport, "dport %u: %s", n->dport, line);
        EXPECT(number(line, "sport", &v) && v == n->sport, "sport %u: %s", n->sport, line);
        /* TraceEvent omits the addresses of UdpIp IPv6 events; compare where it has them. */
        char ours[64];
        format_address(n->daddr, n->family, ours, sizeof ours);
        if (field(line, "daddr", text, sizeof text))
            EXPECT(same_text(text, ours), "daddr %s: %s", ours, line);
        else
            EXPECT(r->rec.event_class == TRACE_CLASS_UDPIP, "no daddr: %s", line);
        format_address(n->saddr, n->family, ours, sizeof ours);
        if (field(line, "saddr", text, sizeof text))
            EXPECT(same_text(text, ours), "saddr %s: %s", ours, line);
    } else if (fact.kind == FACT_PROCESS) {
        const struct process_fact *p = &fact.u.process;
        EXPECT(number(line, "ProcessID", &v) && v == p->pid, "pid %u: %s", p->pid, line);
        EXPECT(number(line, "ParentID", &v) && v == p->parent_pid, "parent %u: %s",
               p->parent_pid, line);
        EXPECT(number(line, "UniqueProcessKey", &v) && v == p->unique_key, "key %" PRIx64 ": %s",
               p->unique_key, line);
        EXPECT(field(line, "ImageFileName", text, sizeof text) && same_text(text, p->image_name),
               "image %s: %s", p->image_name, line);
    } else if (fact.kind == FACT_SERVICE) {
        const struct service_fact *s = &fact.u.service;
        EXPECT(number(line, "ProcessID", &v) && v == s->pid, "pid %u: %s", s->pid, line);
        EXPECT(number(line, "ServiceState", &v) && v == s->state, "state %u: %s", s->state,
               line);
        EXPECT(field(line, "ServiceName", text, sizeof text) && same_text(text, s->name),
               "name %s: %s", s->name, line);
        EXPECT(field(line, "DisplayName", text, sizeof text) && same_text(text, s->display_name),
               "display name %s: %s", s->display_name, line);
    }
}

/* ---- the services a replay gives each process (the x64 trace's svchost.exe 1188) ---- */

struct services_seen {
    bool found;
    char joined[512];
    size_t rows_with_services;
    const struct process_table *table;
};

static void find_1188(const struct process_view *row, void *context)
{
    struct services_seen *seen = context;
    struct service_ref refs[PROCESS_TABLE_SERVICES_PER_SET];
    size_t n = process_table_service_set(seen->table, row->service_set, refs, 64);
    seen->rows_with_services += n > 0;
    if (row->pid != 1188)
        return;
    seen->found = strcmp(row->name, "svchost.exe") == 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++)
        at += (size_t)snprintf(seen->joined + at, sizeof seen->joined - at, "%s%s",
                               i ? "," : "", refs[i].name);
}

/* The x64 trace replayed into a new table, its services read first or not; NULL (and a
 * failure said) when it was not. */
static struct process_table *replayed_x64(const char *dir, bool services_first)
{
    char etl[512];
    snprintf(etl, sizeof etl, "%s/perfview/net.4.5.2.x64.etl", dir);
    const char *paths[] = { etl };
    struct process_table *table = process_table_create(NULL);
    struct etl_replay_report report;
    struct etl_replay_options options = {.services_first = services_first};
    enum etl_replay_status st = etl_replay_run(table, paths, 1, &options, &report);
    EXPECT(st == ETL_REPLAY_OK, "%s: replay status %d: %s", etl, (int)st, report.error);
    if (st != ETL_REPLAY_OK) {
        process_table_destroy(table);
        return NULL;
    }
    return table;
}

static int check_services(const char *dir)
{
    struct process_table *table = replayed_x64(dir, false);
    if (table == NULL)
        return 1;
    struct services_seen seen = { .table = table };
    process_table_foreach(table, find_1188, &seen);
    EXPECT(seen.found, "no svchost.exe row for pid 1188");
    EXPECT(strcmp(seen.joined, "CryptSvc,Dnscache,LanmanWorkstation,NlaSvc") == 0,
           "pid 1188 hosts \"%s\"", seen.joined);
    struct table_stats stats;
    process_table_stats(table, &stats);
    EXPECT(stats.events_by_type[EVT_SYSCONFIG_SERVICES] == 157, "%" PRIu64 " service records",
           stats.events_by_type[EVT_SYSCONFIG_SERVICES]);
    EXPECT(stats.services_dropped == 0, "%" PRIu64 " services dropped", stats.services_dropped);
    printf("net.4.5.2.x64: svchost.exe 1188 hosts %s; %zu rows host services, %u services "
           "hosted\n", seen.joined, seen.rows_with_services, stats.services_hosted);
    process_table_destroy(table);
    return 0;
}

/* By name, each svchost.exe is split by the services it hosts from its first event on when
 * the replay reads the trace's services (at its end) before its events, as the exporter's
 * does. The SSDP traffic is the host of SSDPSRV's, and nothing is left under no service. */
struct svchost_split {
    const struct process_table *table;
    uint64_t udp6_sent_with_ssdp, counted_without_services;
};

static void split_svchost(const struct name_view *v, void *context)
{
    struct svchost_split *split = context;
    if (strcmp(v->name, "svchost.exe") != 0)
        return;
    struct service_ref refs[PROCESS_TABLE_SERVICES_PER_SET];
    size_t n = process_table_service_set(split->table, v->service_set, refs,
                                         PROCESS_TABLE_SERVICES_PER_SET);
    bool ssdp = false;
    for (size_t i = 0; i < n; i++)
        ssdp |= strcmp(refs[i].name, "SSDPSRV") == 0;
    uint64_t all = 0;
    for (int f = 0; f < FAMILY_COUNT; f++)
        for (int c = 0; c < CTR_COUNT; c++)
            all += v->counters[f][c];
    if (n == 0)
        split->counted_without_services += all;
    if (ssdp)
        split->udp6_sent_with_ssdp += v->counters[FAMILY_IPV6][CTR_UDP_SENT_BYTES];
}

static int check_services_by_name(const char *dir)
{
    struct process_table *table = replayed_x64(dir, true);
    if (table == NULL)
        return 1;
    struct svchost_split split = { .table = table };
    process_table_foreach_name(table, split_svchost, &split);
    EXPECT(split.udp6_sent_with_ssdp == 1318, "svchost.exe hosting SSDPSRV: %" PRIu64
           " UDP IPv6 bytes sent, 1318 in the trace", split.udp6_sent_with_ssdp);
    EXPECT(split.counted_without_services == 0, "svchost.exe with no service: %" PRIu64
           " counted", split.counted_without_services);
    printf("net.4.5.2.x64 by name: the SSDP traffic under svchost.exe hosting SSDPSRV\n");
    process_table_destroy(table);
    return 0;
}

static int check_perfview(const char *dir, const char *name)
{
    char path[512], etl[512];
    snprintf(path, sizeof path, "%s/perfview/%s.baseline.txt", dir, name);
    snprintf(etl, sizeof etl, "%s/perfview/%s.etl", dir, name);
    FILE *in = fopen(path, "r");
    if (!in) {
        fprintf(stderr, "cannot open %s\n", path);
        return 1;
    }
    static struct expected want[TYPE_COUNT];
    memset(want, 0, sizeof want);
    char line[4096];
    while (fgets(line, sizeof line, in)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strncmp(line, "COUNT ", 6) == 0) {
            char *colon = strrchr(line, ':');
            if (!colon)
                continue;
            *colon = '\0';
            int t = type_of_name(line + 6);
            EXPECT(t != -2, "no opcode known for %s", line + 6);
            if (t >= 0) {
                want[t].count = strtoull(colon + 1, NULL, 10);
                want[t].counted = true;
            }
        } else if (strncmp(line, "EVENT ", 6) == 0) {
            const char *what = strstr(line, ": ");
            if (!what)
                continue;
            const char *end = strstr(what, " PID=");
            if (!end)
                continue;
            char name_part[128];
            snprintf(name_part, sizeof name_part, "%.*s", (int)(end - what - 2), what + 2);
            int t = type_of_name(name_part);
            if (t >= 0 && want[t].event_count < MAX_EVENTS)
                want[t].events[want[t].event_count++] = strdup(line);
        }
    }
    fclose(in);

    /* Start time of the file, for the baseline's milliseconds since the session start. */
    struct etl_file file;
    char error[512];
    if (etl_file_open(&file, etl, NULL, error, sizeof error) != ETL_OPEN_OK) {
        fprintf(stderr, "%s\n", error);
        return 1;
    }
    uint64_t start = file.info.start_time;
    etl_file_close(&file);

    const char *paths[] = { etl };
    struct etl_reader *reader;
    if (etl_reader_open(paths, 1, NULL, &reader, error, sizeof error) != ETL_READER_OK) {
        fprintf(stderr, "%s\n", error);
        return 1;
    }
    static uint64_t got[TYPE_COUNT];
    memset(got, 0, sizeof got);
    const struct etl_record *r;
    uint64_t unnamed = 0;
    while ((r = etl_reader_next(reader)) != NULL) {
        int t = type_index(r->rec.event_class, r->rec.opcode);
        if (t < 0 && r->rec.event_class == TRACE_CLASS_SYSCONFIG) {
            struct trace_fact fact;
            EXPECT(decode_record(&r->rec, &fact) == DECODE_UNKNOWN,
                   "%s: SystemConfig opcode %u decoded", name, r->rec.opcode);
            continue;
        }
        if (t < 0) {
            unnamed++;
            fprintf(stderr, "FAIL: %s: class %d opcode %u is in no baseline type\n", name,
                    (int)r->rec.event_class, r->rec.opcode);
            continue;
        }
        if (got[t] < want[t].event_count)
            check_event(want[t].events[got[t]], r, (double)(r->rec.timestamp - start) / 1e4);
        got[t]++;
    }
    EXPECT(unnamed == 0, "%s: %" PRIu64 " records of types the baseline has no name for", name,
           unnamed);
    EXPECT(etl_reader_error(reader) == NULL, "%s: damage: %s", name, etl_reader_error(reader));
    etl_reader_close(reader);
    size_t types_checked = 0, events_checked = 0;
    for (size_t t = 0; t < TYPE_COUNT; t++) {
        EXPECT(got[t] == want[t].count, "%s: %s/%s: %" PRIu64 " records, baseline COUNT %" PRIu64,
               name, TYPES[t].task, TYPES[t].name, got[t], want[t].count);
        types_checked += want[t].counted;
        events_checked += want[t].event_count;
        for (size_t e = 0; e < want[t].event_count; e++)
            free(want[t].events[e]);
    }
    printf("%s: %zu event types counted, %zu EVENT lines compared\n", name, types_checked,
           events_checked);
    EXPECT(types_checked >= 8 && events_checked >= 10, "%s: too little checked", name);
    return 0;
}

/* ---- ShutdownPerfDiagLogger: process names ---- */

#define MAX_PIDS 4096
struct pid_names {
    uint32_t pid[MAX_PIDS];
    char name[MAX_PIDS][4][IMAGE_NAME_MAX]; /* up to 4 instances per pid */
    int names[MAX_PIDS];
    bool seen_row[MAX_PIDS];
    bool started[MAX_PIDS]; /* named by Start or DCStart: the table must have its row */
    size_t count;
};

static int find_pid(struct pid_names *p, uint32_t pid)
{
    for (size_t i = 0; i < p->count; i++)
        if (p->pid[i] == pid)
            return (int)i;
    return -1;
}

static void check_row(const struct process_view *row, void *context)
{
    struct pid_names *p = context;
    int i = find_pid(p, row->pid);
    if (row->is_overflow || i < 0)
        return;
    p->seen_row[i] = true;
    bool match = false;
    for (int k = 0; k < p->names[i]; k++)
        match |= strcmp(p->name[i][k], row->name) == 0;
    EXPECT(row->is_named && match, "pid %u is named \"%s\" in the table, not as the trace does "
           "(\"%s\")", row->pid, row->name, p->name[i][0]);
}

static int check_names(const char *dir)
{
    char etl[512], error[512];
    snprintf(etl, sizeof etl, "%s/etl-parser/ShutdownPerfDiagLogger.etl", dir);
    const char *paths[] = { etl };
    static struct pid_names names;
    memset(&names, 0, sizeof names);
    struct etl_reader *reader;
    if (etl_reader_open(paths, 1, NULL, &reader, error, sizeof error) != ETL_READER_OK) {
        fprintf(stderr, "%s\n", error);
        return 1;
    }
    const struct etl_record *r;
    struct trace_fact fact;
    while ((r = etl_reader_next(reader)) != NULL) {
        if (decode_record(&r->rec, &fact) != DECODE_OK || fact.kind != FACT_PROCESS)
            continue;
        int i = find_pid(&names, fact.u.process.pid);
        if (i < 0 && names.count < MAX_PIDS) {
            i = (int)names.count++;
            names.pid[i] = fact.u.process.pid;
        }
        names.started[i] |= fact.u.process.op == PROC_START || fact.u.process.op == PROC_DCSTART;
        bool known = false;
        for (int k = 0; k < names.names[i]; k++)
            known |= strcmp(names.name[i][k], fact.u.process.image_name) == 0;
        if (!known && names.names[i] < 4)
            memcpy(names.name[i][names.names[i]++], fact.u.process.image_name, IMAGE_NAME_MAX);
    }
    etl_reader_close(reader);

    struct process_table_config config = { .capacity = 0,
                                           .retention = PROCESS_TABLE_DEFAULT_RETENTION };
    struct process_table *table = process_table_create(&config);
    struct etl_replay_report report;
    enum etl_replay_status st = etl_replay_files(table, paths, 1, NULL, NULL, &report);
    EXPECT(st == ETL_REPLAY_OK, "replay status %d: %s", (int)st, report.error);
    process_table_foreach(table, check_row, &names);
    size_t missing = 0;
    for (size_t i = 0; i < names.count; i++)
        if (names.started[i] && !names.seen_row[i]) {
            missing++;
            fprintf(stderr, "pid %u (%s) has no row\n", names.pid[i], names.name[i][0]);
        }
    EXPECT(missing == 0, "%zu started pids have no row", missing);
    EXPECT(names.count >= 90, "only %zu pids named", names.count);
    printf("ShutdownPerfDiagLogger: %zu pids named by Process events, each row of them named "
           "so\n", names.count);
    process_table_destroy(table);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_etl_baseline DIR\n");
        return 2;
    }
    char probe[512];
    snprintf(probe, sizeof probe, "%s/perfview/net.4.5.2.x64.baseline.txt", argv[1]);
    FILE *f = fopen(probe, "r");
    if (!f) {
        printf("SKIP: %s is absent (real traces live in ../shared/data/etl next to the "
               "project)\n", probe);
        return 77;
    }
    fclose(f);
    int broken = check_perfview(argv[1], "net.4.5.2.x64");
    broken |= check_perfview(argv[1], "net.4.5.2.x86");
    broken |= check_names(argv[1]);
    broken |= check_services(argv[1]);
    broken |= check_services_by_name(argv[1]);
    if (broken || failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("all checks passed\n");
    return 0;
}
