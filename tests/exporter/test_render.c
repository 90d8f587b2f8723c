/* Rendering of /metrics: exact text for small tables filled with made-up facts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "metric_names.h"
#include "prometheus.h"
#include "summary.h"
#include "table_fill.h"

static struct process_table *small_table(void)
{
    struct process_table_config config = { .capacity = 64, .retention = 60 * FILL_SECOND };
    struct process_table *table = process_table_create(&config);
    assert_non_null(table);
    fill_start(table, 100, "b.exe", 0x1000, FILL_T0);
    fill_start(table, 8, "a.exe", 0x2000, FILL_T0);
    fill_net(table, NET_TCP_SEND, FAMILY_IPV4, 100, 1000, FILL_T0 + 1);
    fill_net(table, NET_TCP_SEND, FAMILY_IPV4, 100, 500, FILL_T0 + 2);
    fill_net(table, NET_TCP_RECV, FAMILY_IPV6, 100, 700, FILL_T0 + 3);
    fill_net(table, NET_TCP_SEND, FAMILY_IPV4, 8, 42, FILL_T0 + 4);
    return table;
}

static char *render(struct process_table *table, const struct render_options *options,
                    enum metrics_format format)
{
    struct metrics_renderer *renderer = metrics_renderer_create();
    struct text_buffer out;
    text_buffer_init(&out);
    struct exporter_self self = { .version = "9.9.9", .scrapes = 3,
                                  .last_render_seconds = 0.0015 };
    assert_true(metrics_render(renderer, table, options, &self, format, &out));
    metrics_renderer_destroy(renderer);
    return out.data;   /* NUL-terminated; freed by the caller */
}

/* The lines from "# HELP <family> " up to the next "# HELP" or "# EOF" (metadata order in
 * OpenMetrics is TYPE first, so that format starts at "# TYPE"). */
static char *block(const char *text, const char *first_line_prefix)
{
    const char *start = strstr(text, first_line_prefix);
    assert_non_null(start);
    const char *end = start + strlen(first_line_prefix);
    const char *next_help = strstr(end, "\n# HELP ");
    const char *eof = strstr(end, "\n# EOF");
    if (next_help == NULL || (eof != NULL && eof < next_help))
        next_help = eof;
    end = next_help ? next_help + 1 : end + strlen(end);
    size_t n = (size_t)(end - start);
    char *copy = malloc(n + 1);
    memcpy(copy, start, n);
    copy[n] = '\0';
    return copy;
}

static void assert_block(const char *text, const char *prefix, const char *expected)
{
    char *got = block(text, prefix);
    assert_string_equal(got, expected);
    free(got);
}

static void per_process_text(void **state)
{
    (void)state;
    struct process_table *table = small_table();
    struct render_options options = { 0 };
    char *text = render(table, &options, METRICS_FORMAT_TEXT);
    assert_block(text, "# HELP tcpip_tcp_sent_bytes_total ",
        "# HELP tcpip_tcp_sent_bytes_total Bytes sent over TCP by the process (TcpIp Send events).\n"
        "# TYPE tcpip_tcp_sent_bytes_total counter\n"
        "tcpip_tcp_sent_bytes_total{process=\"a.exe\",pid=\"8\",service=\"\",family=\"ipv4\"} 42\n"
        "tcpip_tcp_sent_bytes_total{process=\"b.exe\",pid=\"100\",service=\"\",family=\"ipv4\"} 1500\n"
        "tcpip_tcp_sent_bytes_total{process=\"b.exe\",pid=\"100\",service=\"\",family=\"ipv6\"} 0\n");
    assert_block(text, "# HELP tcpip_tcp_send_events_total ",
        "# HELP tcpip_tcp_send_events_total TCP send events of the process.\n"
        "# TYPE tcpip_tcp_send_events_total counter\n"
        "tcpip_tcp_send_events_total{process=\"a.exe\",pid=\"8\",service=\"\",family=\"ipv4\"} 1\n"
        "tcpip_tcp_send_events_total{process=\"b.exe\",pid=\"100\",service=\"\",family=\"ipv4\"} 2\n"
        "tcpip_tcp_send_events_total{process=\"b.exe\",pid=\"100\",service=\"\",family=\"ipv6\"} 0\n");
    assert_block(text, "# HELP tcpip_tcp_received_bytes_total ",
        "# HELP tcpip_tcp_received_bytes_total Bytes received over TCP by the process (TcpIp Recv events).\n"
        "# TYPE tcpip_tcp_received_bytes_total counter\n"
        "tcpip_tcp_received_bytes_total{process=\"a.exe\",pid=\"8\",service=\"\",family=\"ipv4\"} 0\n"
        "tcpip_tcp_received_bytes_total{process=\"b.exe\",pid=\"100\",service=\"\",family=\"ipv4\"} 0\n"
        "tcpip_tcp_received_bytes_total{process=\"b.exe\",pid=\"100\",service=\"\",family=\"ipv6\"} 700\n");
    assert_block(text, "# HELP tcpip_exporter_records_dropped_total ",
        "# HELP tcpip_exporter_records_dropped_total Trace records that did not reach a process row of their own: malformed payload, unknown event type, or table full (counted in the <overflow> row).\n"
        "# TYPE tcpip_exporter_records_dropped_total counter\n"
        "tcpip_exporter_records_dropped_total{reason=\"malformed\"} 0\n"
        "tcpip_exporter_records_dropped_total{reason=\"unknown\"} 0\n"
        "tcpip_exporter_records_dropped_total{reason=\"table_full\"} 0\n");
    assert_block(text, "# HELP tcpip_exporter_processes_tracked ",
        "# HELP tcpip_exporter_processes_tracked Table rows in use: live processes and exited ones still retained.\n"
        "# TYPE tcpip_exporter_processes_tracked gauge\n"
        "tcpip_exporter_processes_tracked 2\n");
    assert_block(text, "# HELP tcpip_exporter_build_info ",
        "# HELP tcpip_exporter_build_info Build of the running exporter, as labels (value 1).\n"
        "# TYPE tcpip_exporter_build_info gauge\n"
        "tcpip_exporter_build_info{version=\"9.9.9\"} 1\n");
    assert_block(text, "# HELP tcpip_exporter_scrapes_total ",
        "# HELP tcpip_exporter_scrapes_total Requests for the metrics endpoint received, up to this render (concurrent scrapes share one render).\n"
        "# TYPE tcpip_exporter_scrapes_total counter\n"
        "tcpip_exporter_scrapes_total 3\n");
    assert_non_null(strstr(text, "\ntcpip_exporter_last_render_duration_seconds 0.001500000\n"));
    assert_non_null(strstr(text, "\ntcpip_exporter_source_up{kind=\"none\"} 0\n"));
    assert_non_null(strstr(text, "\ntcpip_exporter_events_total{type=\"tcp_send_ipv4\"} 3\n"));
    assert_null(strstr(text, "# EOF"));
    assert_null(strstr(text, "# UNIT"));
    free(text);
    process_table_destroy(table);
}

static void connect_failures(void **state)
{
    (void)state;
    struct process_table *table = small_table();
    fill_fail(table, 2, 1, FILL_T0);
    fill_fail(table, 2, 1, FILL_T0);
    fill_fail(table, 23, 6, FILL_T0);
    fill_fail(table, 23, 99, FILL_T0);
    struct render_options options = { 0 };
    char *text = render(table, &options, METRICS_FORMAT_TEXT);
    const char *f = "tcpip_tcp_connect_failures_total{family=";
    char expected[4096];
    snprintf(expected, sizeof expected,
        "# HELP tcpip_tcp_connect_failures_total TCP connection attempts that failed system-wide (TcpIp Fail events, which carry no process), by address family and failure code.\n"
        "# TYPE tcpip_tcp_connect_failures_total counter\n"
        "%s\"ipv4\",code=\"1\",reason=\"insufficient_resources\"} 2\n"
        "%s\"ipv4\",code=\"2\",reason=\"too_many_addresses\"} 0\n"
        "%s\"ipv4\",code=\"3\",reason=\"address_exists\"} 0\n"
        "%s\"ipv4\",code=\"4\",reason=\"invalid_address\"} 0\n"
        "%s\"ipv4\",code=\"5\",reason=\"other\"} 0\n"
        "%s\"ipv4\",code=\"6\",reason=\"time_wait_address_exists\"} 0\n"
        "%s\"ipv4\",code=\"out_of_range\",reason=\"unrecognized\"} 0\n"
        "%s\"ipv6\",code=\"1\",reason=\"insufficient_resources\"} 0\n"
        "%s\"ipv6\",code=\"2\",reason=\"too_many_addresses\"} 0\n"
        "%s\"ipv6\",code=\"3\",reason=\"address_exists\"} 0\n"
        "%s\"ipv6\",code=\"4\",reason=\"invalid_address\"} 0\n"
        "%s\"ipv6\",code=\"5\",reason=\"other\"} 0\n"
        "%s\"ipv6\",code=\"6\",reason=\"time_wait_address_exists\"} 1\n"
        "%s\"ipv6\",code=\"out_of_range\",reason=\"unrecognized\"} 1\n",
        f, f, f, f, f, f, f, f, f, f, f, f, f, f);
    assert_block(text, "# HELP tcpip_tcp_connect_failures_total ", expected);
    free(text);
    process_table_destroy(table);
}

static void openmetrics_form(void **state)
{
    (void)state;
    struct process_table *table = small_table();
    struct render_options options = { 0 };
    char *text = render(table, &options, METRICS_FORMAT_OPENMETRICS);
    assert_block(text, "# HELP tcpip_tcp_sent_bytes ",
        "# HELP tcpip_tcp_sent_bytes Bytes sent over TCP by the process (TcpIp Send events).\n"
        "# TYPE tcpip_tcp_sent_bytes counter\n"
        "# UNIT tcpip_tcp_sent_bytes bytes\n"
        "tcpip_tcp_sent_bytes_total{process=\"a.exe\",pid=\"8\",service=\"\",family=\"ipv4\"} 42\n"
        "tcpip_tcp_sent_bytes_total{process=\"b.exe\",pid=\"100\",service=\"\",family=\"ipv4\"} 1500\n"
        "tcpip_tcp_sent_bytes_total{process=\"b.exe\",pid=\"100\",service=\"\",family=\"ipv6\"} 0\n");
    assert_block(text, "# HELP tcpip_exporter_build ",
        "# HELP tcpip_exporter_build Build of the running exporter, as labels (value 1).\n"
        "# TYPE tcpip_exporter_build info\n"
        "tcpip_exporter_build_info{version=\"9.9.9\"} 1\n");
    assert_block(text, "# HELP tcpip_exporter_last_render_duration_seconds ",
        "# HELP tcpip_exporter_last_render_duration_seconds Time the previous /metrics render took.\n"
        "# TYPE tcpip_exporter_last_render_duration_seconds gauge\n"
        "# UNIT tcpip_exporter_last_render_duration_seconds seconds\n"
        "tcpip_exporter_last_render_duration_seconds 0.001500000\n");
    size_t n = strlen(text);
    assert_true(n > 6);
    assert_string_equal(text + n - 6, "# EOF\n");
    assert_null(strstr(text, "# TYPE tcpip_tcp_sent_bytes_total"));
    free(text);
    process_table_destroy(table);
}

static void escaping(void **state)
{
    (void)state;
    struct process_table_config config = { .capacity = 16 };
    struct process_table *table = process_table_create(&config);
    fill_start(table, 7, "we\"ird\\na\nme.exe", 1, FILL_T0);
    fill_start(table, 9, "caf\xe9.exe", 2, FILL_T0);          /* Latin-1 e-acute */
    fill_start(table, 11, "caf\xc3\xa9.exe", 3, FILL_T0);     /* the same in UTF-8 */
    fill_net(table, NET_UDP_SEND, FAMILY_IPV4, 7, 5, FILL_T0);
    fill_net(table, NET_UDP_SEND, FAMILY_IPV4, 9, 6, FILL_T0);
    fill_net(table, NET_UDP_SEND, FAMILY_IPV4, 11, 7, FILL_T0);
    struct render_options options = { 0 };
    char *text = render(table, &options, METRICS_FORMAT_TEXT);
    assert_block(text, "# HELP tcpip_udp_sent_bytes_total ",
        "# HELP tcpip_udp_sent_bytes_total Bytes sent over UDP by the process.\n"
        "# TYPE tcpip_udp_sent_bytes_total counter\n"
        "tcpip_udp_sent_bytes_total{process=\"caf\xc3\xa9.exe\",pid=\"11\",service=\"\",family=\"ipv4\"} 7\n"
        "tcpip_udp_sent_bytes_total{process=\"caf\xc3\xa9.exe\",pid=\"9\",service=\"\",family=\"ipv4\"} 6\n"
        "tcpip_udp_sent_bytes_total{process=\"we\\\"ird\\\\na\\nme.exe\",pid=\"7\",service=\"\",family=\"ipv4\"} 5\n");
    free(text);
    process_table_destroy(table);
}

static void aggregation_keeps_retired(void **state)
{
    (void)state;
    struct process_table_config config = { .capacity = 16, .retention = 10 * FILL_SECOND };
    struct process_table *table = process_table_create(&config);
    fill_start(table, 20, "svc.exe", 1, FILL_T0);
    fill_start(table, 21, "svc.exe", 2, FILL_T0);
    fill_start(table, 22, "other.exe", 3, FILL_T0);
    fill_net(table, NET_TCP_SEND, FAMILY_IPV4, 20, 100, FILL_T0);
    fill_net(table, NET_TCP_SEND, FAMILY_IPV4, 21, 200, FILL_T0);
    fill_net(table, NET_TCP_SEND, FAMILY_IPV4, 22, 1, FILL_T0);
    fill_end(table, 20, "svc.exe", 1, FILL_T0 + FILL_SECOND);
    process_table_housekeep(table, FILL_T0 + 100 * FILL_SECOND);   /* retires pid 20 */

    struct render_options per_pid = { 0 };
    char *text = render(table, &per_pid, METRICS_FORMAT_TEXT);
    assert_null(strstr(text, "pid=\"20\""));
    free(text);

    struct render_options aggregated = { .aggregate_by_name = true };
    text = render(table, &aggregated, METRICS_FORMAT_TEXT);
    assert_block(text, "# HELP tcpip_tcp_sent_bytes_total ",
        "# HELP tcpip_tcp_sent_bytes_total Bytes sent over TCP by the process (TcpIp Send events).\n"
        "# TYPE tcpip_tcp_sent_bytes_total counter\n"
        "tcpip_tcp_sent_bytes_total{process=\"other.exe\",service=\"\",family=\"ipv4\"} 1\n"
        "tcpip_tcp_sent_bytes_total{process=\"svc.exe\",service=\"\",family=\"ipv4\"} 300\n");
    assert_null(strstr(text, "pid=\""));
    free(text);
    process_table_destroy(table);
}

static void filters(void **state)
{
    (void)state;
    struct process_table_config config = { .capacity = 16 };
    struct process_table *table = process_table_create(&config);
    const char *names[] = { "chrome.exe", "Chrome_Helper.EXE", "svchost.exe", "sshd" };
    for (uint32_t i = 0; i < 4; i++) {
        fill_start(table, 40 + i, names[i], i + 1, FILL_T0);
        fill_net(table, NET_TCP_SEND, FAMILY_IPV4, 40 + i, 10, FILL_T0);
    }
    const char *include[] = { "*.exe" };
    const char *exclude[] = { "chrome_*" };
    struct render_options options = { .include = include, .include_count = 1,
                                      .exclude = exclude, .exclude_count = 1 };
    char *text = render(table, &options, METRICS_FORMAT_TEXT);
    assert_block(text, "# HELP tcpip_tcp_sent_bytes_total ",
        "# HELP tcpip_tcp_sent_bytes_total Bytes sent over TCP by the process (TcpIp Send events).\n"
        "# TYPE tcpip_tcp_sent_bytes_total counter\n"
        "tcpip_tcp_sent_bytes_total{process=\"chrome.exe\",pid=\"40\",service=\"\",family=\"ipv4\"} 10\n"
        "tcpip_tcp_sent_bytes_total{process=\"svchost.exe\",pid=\"42\",service=\"\",family=\"ipv4\"} 10\n");
    free(text);
    process_table_destroy(table);
}

/* Two svchost.exe hosting services and one hosting none: the service label, the info
 * series, filters on service names and aggregation split by service. */
static struct process_table *services_table(void)
{
    struct process_table_config config = { .capacity = 16, .retention = 60 * FILL_SECOND };
    struct process_table *table = process_table_create(&config);
    fill_start(table, 1188, "svchost.exe", 1, FILL_T0);
    fill_start(table, 900, "svchost.exe", 2, FILL_T0);
    fill_start(table, 70, "svchost.exe", 3, FILL_T0);
    fill_service(table, 1188, 4, "NlaSvc", "Network Location Awareness", FILL_T0);
    fill_service(table, 1188, 4, "Dnscache", "DNS Client", FILL_T0);
    fill_service(table, 900, 4, "RpcSs", "Remote Procedure Call (RPC)", FILL_T0);
    process_table_housekeep(table, FILL_T0);
    fill_net(table, NET_TCP_SEND, FAMILY_IPV4, 1188, 10, FILL_T0 + 1);
    fill_net(table, NET_TCP_SEND, FAMILY_IPV4, 900, 20, FILL_T0 + 1);
    fill_net(table, NET_TCP_SEND, FAMILY_IPV4, 70, 30, FILL_T0 + 1);
    return table;
}

static void services_label_and_info(void **state)
{
    (void)state;
    struct process_table *table = services_table();
    struct render_options options = { 0 };
    char *text = render(table, &options, METRICS_FORMAT_TEXT);
    assert_block(text, "# HELP tcpip_tcp_sent_bytes_total ",
        "# HELP tcpip_tcp_sent_bytes_total Bytes sent over TCP by the process (TcpIp Send events).\n"
        "# TYPE tcpip_tcp_sent_bytes_total counter\n"
        "tcpip_tcp_sent_bytes_total{process=\"svchost.exe\",pid=\"70\",service=\"\",family=\"ipv4\"} 30\n"
        "tcpip_tcp_sent_bytes_total{process=\"svchost.exe\",pid=\"900\",service=\"RpcSs\",family=\"ipv4\"} 20\n"
        "tcpip_tcp_sent_bytes_total{process=\"svchost.exe\",pid=\"1188\",service=\"Dnscache,NlaSvc\",family=\"ipv4\"} 10\n");
    assert_non_null(strstr(text,
        "tcpip_process_info{process=\"svchost.exe\",pid=\"1188\",service=\"Dnscache,NlaSvc\","
        "service_display=\"DNS Client; Network Location Awareness\",parent_pid=\"4\","
        "start_time=\"1704067200\"} 1\n"));
    assert_non_null(strstr(text, "tcpip_exporter_services_hosted 3\n"));
    free(text);

    /* aggregated: one series per name and set (in the order the sets were first seen), no
     * pid; the three sum to the name's total */
    options.aggregate_by_name = true;
    text = render(table, &options, METRICS_FORMAT_TEXT);
    assert_block(text, "# HELP tcpip_tcp_sent_bytes_total ",
        "# HELP tcpip_tcp_sent_bytes_total Bytes sent over TCP by the process (TcpIp Send events).\n"
        "# TYPE tcpip_tcp_sent_bytes_total counter\n"
        "tcpip_tcp_sent_bytes_total{process=\"svchost.exe\",service=\"\",family=\"ipv4\"} 30\n"
        "tcpip_tcp_sent_bytes_total{process=\"svchost.exe\",service=\"RpcSs\",family=\"ipv4\"} 20\n"
        "tcpip_tcp_sent_bytes_total{process=\"svchost.exe\",service=\"Dnscache,NlaSvc\",family=\"ipv4\"} 10\n");
    assert_null(strstr(text, "tcpip_process_info"));
    free(text);

    /* a glob matches a hosted service's name as well as the image name */
    const char *include[] = { "dns*" };
    struct render_options only_dns = { .include = include, .include_count = 1 };
    text = render(table, &only_dns, METRICS_FORMAT_TEXT);
    assert_non_null(strstr(text, "pid=\"1188\""));
    assert_null(strstr(text, "pid=\"900\""));
    free(text);
    const char *exclude[] = { "RpcSs" };
    struct render_options no_rpc = { .exclude = exclude, .exclude_count = 1 };
    text = render(table, &no_rpc, METRICS_FORMAT_TEXT);
    assert_non_null(strstr(text, "pid=\"70\""));
    assert_null(strstr(text, "pid=\"900\""));
    free(text);
    process_table_destroy(table);
}

/* Open connections: a fake IP Helper scan taken at FILL_T0 + 10 s. 1188 is the table's;
 * pid 0 (TIME_WAIT), a pid the table never saw and a pid whose process started after the
 * scan go to the untracked bucket. */
static bool fake_connection_scan(void *context, struct connection_row **rows, size_t *count,
                                 char *error, size_t error_size)
{
    (void)context;
    (void)error;
    (void)error_size;
    static const struct connection_row fixed[] = {
        { 1188, TCP_STATE_ESTABLISHED, FAMILY_IPV4, CONN_TCP, 50000 },
        { 1188, TCP_STATE_ESTABLISHED, FAMILY_IPV4, CONN_TCP, 50001 },
        { 1188, TCP_STATE_LISTEN, FAMILY_IPV4, CONN_TCP, 53 },
        { 1188, 0, FAMILY_IPV6, CONN_UDP, 53 },
        { 0, TCP_STATE_TIME_WAIT, FAMILY_IPV4, CONN_TCP, 50002 },
        { 0, TCP_STATE_TIME_WAIT, FAMILY_IPV4, CONN_TCP, 50003 },
        { 0, TCP_STATE_TIME_WAIT, FAMILY_IPV4, CONN_TCP, 50004 },
        { 4242, TCP_STATE_ESTABLISHED, FAMILY_IPV4, CONN_TCP, 50005 },
        { 77, TCP_STATE_CLOSE_WAIT, FAMILY_IPV6, CONN_TCP, 50006 },
    };
    *rows = malloc(sizeof fixed);
    assert_non_null(*rows);
    memcpy(*rows, fixed, sizeof fixed);
    *count = ARRAY_SIZE(fixed);
    return true;
}

static uint64_t fake_connection_clock(void *context)
{
    (void)context;
    return FILL_T0 + 10 * FILL_SECOND;
}

static void connection_gauges(void **state)
{
    (void)state;
    struct process_table *table = services_table();
    fill_start(table, 77, "late.exe", 77, FILL_T0 + 20 * FILL_SECOND); /* after the scan */
    struct connection_cache cache;
    struct connection_cache_config config = { .scan = fake_connection_scan,
                                              .clock = fake_connection_clock };
    char err[256];
    assert_true(connection_cache_init(&cache, &config, err, sizeof err));
    struct render_options options = { .connections = &cache };
    char *text = render(table, &options, METRICS_FORMAT_TEXT);
    assert_block(text, "# HELP tcpip_tcp_connections ",
        "# HELP tcpip_tcp_connections TCP connections open now, by owning process and state (IP Helper, read at most once a second). TIME_WAIT and connections of pids the table has no live process for are in process=\"<untracked>\".\n"
        "# TYPE tcpip_tcp_connections gauge\n"
        "tcpip_tcp_connections{process=\"<untracked>\",pid=\"\",service=\"\",family=\"ipv4\",state=\"ESTABLISHED\"} 1\n"
        "tcpip_tcp_connections{process=\"<untracked>\",pid=\"\",service=\"\",family=\"ipv4\",state=\"TIME_WAIT\"} 3\n"
        "tcpip_tcp_connections{process=\"<untracked>\",pid=\"\",service=\"\",family=\"ipv6\",state=\"CLOSE_WAIT\"} 1\n"
        "tcpip_tcp_connections{process=\"svchost.exe\",pid=\"1188\",service=\"Dnscache,NlaSvc\",family=\"ipv4\",state=\"LISTENING\"} 1\n"
        "tcpip_tcp_connections{process=\"svchost.exe\",pid=\"1188\",service=\"Dnscache,NlaSvc\",family=\"ipv4\",state=\"ESTABLISHED\"} 2\n");
    assert_block(text, "# HELP tcpip_listening_ports ",
        "# HELP tcpip_listening_ports Sockets listening (TCP) or bound (UDP) now, by owning process, protocol, family and local port.\n"
        "# TYPE tcpip_listening_ports gauge\n"
        "tcpip_listening_ports{process=\"svchost.exe\",pid=\"1188\",service=\"Dnscache,NlaSvc\",protocol=\"tcp\",family=\"ipv4\",port=\"53\"} 1\n"
        "tcpip_listening_ports{process=\"svchost.exe\",pid=\"1188\",service=\"Dnscache,NlaSvc\",protocol=\"udp\",family=\"ipv6\",port=\"53\"} 1\n");
    assert_non_null(strstr(text, "tcpip_exporter_connections_untracked 5\n"));
    assert_non_null(strstr(text, "tcpip_exporter_connection_scans_total 1\n"));
    free(text);
    /* a second scrape within the second: the same scan */
    text = render(table, &options, METRICS_FORMAT_TEXT);
    assert_non_null(strstr(text, "tcpip_exporter_connection_scans_total 1\n"));
    free(text);
    /* aggregated: by name and services, no pid */
    options.aggregate_by_name = true;
    text = render(table, &options, METRICS_FORMAT_TEXT);
    assert_non_null(strstr(text, "tcpip_tcp_connections{process=\"svchost.exe\",service=\"Dnscache,NlaSvc\",family=\"ipv4\",state=\"ESTABLISHED\"} 2\n"));
    assert_non_null(strstr(text, "tcpip_tcp_connections{process=\"<untracked>\",service=\"\",family=\"ipv4\",state=\"TIME_WAIT\"} 3\n"));
    free(text);
    connection_cache_destroy(&cache);
    process_table_destroy(table);
}

/* A pid reused under the same name while the exited instance is retained: one series. */
static void reused_pid_shows_newest(void **state)
{
    (void)state;
    struct process_table_config config = { .capacity = 16, .retention = 60 * FILL_SECOND };
    struct process_table *table = process_table_create(&config);
    fill_start(table, 50, "job.exe", 1, FILL_T0);
    fill_net(table, NET_TCP_SEND, FAMILY_IPV4, 50, 1000, FILL_T0);
    fill_end(table, 50, "job.exe", 1, FILL_T0 + 1);
    fill_start(table, 50, "job.exe", 2, FILL_T0 + 2);
    fill_net(table, NET_TCP_SEND, FAMILY_IPV4, 50, 3, FILL_T0 + 3);
    struct render_options options = { 0 };
    char *text = render(table, &options, METRICS_FORMAT_TEXT);
    assert_block(text, "# HELP tcpip_tcp_sent_bytes_total ",
        "# HELP tcpip_tcp_sent_bytes_total Bytes sent over TCP by the process (TcpIp Send events).\n"
        "# TYPE tcpip_tcp_sent_bytes_total counter\n"
        "tcpip_tcp_sent_bytes_total{process=\"job.exe\",pid=\"50\",service=\"\",family=\"ipv4\"} 3\n");
    free(text);
    process_table_destroy(table);
}

/* The renderer's memory is reused: a second render of the same table gives the same text. */
static void repeatable(void **state)
{
    (void)state;
    struct process_table_config config = { .capacity = 2048 };
    struct process_table *table = process_table_create(&config);
    fill_many(table, 1000);
    struct metrics_renderer *renderer = metrics_renderer_create();
    struct text_buffer a, b;
    text_buffer_init(&a);
    text_buffer_init(&b);
    struct exporter_self self = { .version = "x" };
    struct render_options options = { 0 };
    assert_true(metrics_render(renderer, table, &options, &self, METRICS_FORMAT_TEXT, &a));
    assert_true(metrics_render(renderer, table, &options, &self, METRICS_FORMAT_TEXT, &b));
    assert_int_equal(a.length, b.length);
    assert_memory_equal(a.data, b.data, a.length);
    /* 1000 processes x 16 counters on IPv4, half of them on IPv6 too */
    size_t samples = 0;
    for (const char *p = a.data; (p = strstr(p, "tcpip_tcp_")) != NULL; p++) {
        if (p == a.data || p[-1] == '\n')
            samples++;
    }
    assert_int_equal(samples, 12 * 1500 + 14 /* connect failures */);
    text_buffer_free(&a);
    text_buffer_free(&b);
    metrics_renderer_destroy(renderer);
    process_table_destroy(table);
}

/* The HTTP server's figures appear only when a server rendered, every reason always. */
static void http_self_metrics(void **state)
{
    (void)state;
    struct process_table *table = small_table();
    struct metrics_renderer *renderer = metrics_renderer_create();
    struct text_buffer out;
    text_buffer_init(&out);
    struct exporter_self self = { .version = "x" };
    struct render_options options = { 0 };
    assert_true(metrics_render(renderer, table, &options, &self, METRICS_FORMAT_TEXT, &out));
    assert_null(strstr(out.data, "tcpip_exporter_http_"));
    self.http = (struct http_counters){ .present = true, .connections = 7,
                                        .response_bytes = 1000, .response_bytes_cap = 4096,
                                        .renders = 5, .compressions = 4, .stale_responses = 2 };
    self.http.rejected[HTTP_REJECT_HEAD_TIMEOUT] = 9;
    assert_true(metrics_render(renderer, table, &options, &self, METRICS_FORMAT_TEXT, &out));
    assert_non_null(strstr(out.data,
        "\ntcpip_exporter_http_rejections_total{reason=\"head_timeout\"} 9\n"));
    assert_non_null(strstr(out.data,
        "\ntcpip_exporter_http_rejections_total{reason=\"method\"} 0\n"));
    assert_non_null(strstr(out.data, "\ntcpip_exporter_http_connections 7\n"));
    assert_non_null(strstr(out.data, "\ntcpip_exporter_http_response_memory_bytes 1000\n"));
    assert_non_null(strstr(out.data,
                           "\ntcpip_exporter_http_response_memory_limit_bytes 4096\n"));
    assert_non_null(strstr(out.data, "\ntcpip_exporter_metrics_renders_total 5\n"));
    assert_non_null(strstr(out.data, "\ntcpip_exporter_metrics_compressions_total 4\n"));
    assert_non_null(strstr(out.data, "\ntcpip_exporter_metrics_stale_responses_total 2\n"));
    size_t reasons = 0;
    for (const char *p = out.data; (p = strstr(p, "\ntcpip_exporter_http_rejections_total{")); p++)
        reasons++;
    assert_int_equal(reasons, HTTP_REJECT_COUNT);
    text_buffer_free(&out);
    metrics_renderer_destroy(renderer);
    process_table_destroy(table);
}

/* ---- remote peers ---- */

static struct process_table *peer_table(uint32_t per_process, uint32_t shown, uint8_t v4_prefix,
                                        uint8_t v6_prefix, bool by_name)
{
    struct process_table_config config = {
        .capacity = 64, .retention = 60 * FILL_SECOND, .peer_capacity = 256,
        .peers_per_process = per_process, .peers_shown = shown,
        .peer_ipv4_prefix = v4_prefix, .peer_ipv6_prefix = v6_prefix, .peers_by_name = by_name,
    };
    struct process_table *table = process_table_create(&config);
    assert_non_null(table);
    assert_true(process_table_peers_enabled(table));
    return table;
}

/* IPv6 endpoints: remote 2001:db8:<g2>:<g3>::<last>, local 2001:db8::5. */
static struct fill_endpoints v6_endpoints(unsigned g2, unsigned g3, unsigned last,
                                          uint16_t remote_port, uint16_t local_port)
{
    struct fill_endpoints ep = { .remote_port = remote_port, .local_port = local_port };
    const uint8_t prefix[4] = { 0x20, 0x01, 0x0d, 0xb8 };
    memcpy(ep.remote6, prefix, 4);
    memcpy(ep.local6, prefix, 4);
    ep.remote6[4] = (uint8_t)(g2 >> 8);
    ep.remote6[5] = (uint8_t)g2;
    ep.remote6[6] = (uint8_t)(g3 >> 8);
    ep.remote6[7] = (uint8_t)g3;
    ep.remote6[15] = (uint8_t)last;
    ep.local6[15] = 5;
    return ep;
}

/* a.exe (pid 10) opens three TCP connections and sends one UDP datagram; b.exe (20)
 * accepts one; c.exe (30) is seen mid-connection on its RDP port; d.exe (40) talks IPv6.
 * With three shown places per process, a.exe's last TCP peer is not shown. */
static void fill_talkers(struct process_table *table)
{
    fill_start(table, 10, "a.exe", 1, FILL_T0);
    fill_start(table, 20, "b.exe", 2, FILL_T0);
    fill_start(table, 30, "c.exe", 3, FILL_T0);
    fill_start(table, 40, "d.exe", 4, FILL_T0);
    struct fill_endpoints a1 = fill_endpoints_v4(0x0A000001, 443, 50000);
    struct fill_endpoints udp = fill_endpoints_v4(0x0A000009, 53, 50001);
    struct fill_endpoints a2 = fill_endpoints_v4(0x0A000002, 443, 50002);
    struct fill_endpoints a3 = fill_endpoints_v4(0x0A000003, 80, 50003);
    uint64_t t = FILL_T0 + 1;
    fill_net_peer(table, NET_TCP_CONNECT, FAMILY_IPV4, 10, 0, &a1, t++);
    fill_net_peer(table, NET_TCP_SEND, FAMILY_IPV4, 10, 1000, &a1, t++);
    fill_net_peer(table, NET_TCP_RECV, FAMILY_IPV4, 10, 300, &a1, t++);
    fill_net_peer(table, NET_UDP_SEND, FAMILY_IPV4, 10, 40, &udp, t++);
    fill_net_peer(table, NET_TCP_CONNECT, FAMILY_IPV4, 10, 0, &a2, t++);
    fill_net_peer(table, NET_TCP_SEND, FAMILY_IPV4, 10, 500, &a2, t++);
    fill_net_peer(table, NET_TCP_RETRANSMIT, FAMILY_IPV4, 10, 500, &a2, t++);
    fill_net_peer(table, NET_TCP_CONNECT, FAMILY_IPV4, 10, 0, &a3, t++);
    fill_net_peer(table, NET_TCP_SEND, FAMILY_IPV4, 10, 10, &a3, t++);
    struct fill_endpoints b1 = fill_endpoints_v4(0xC0A80107, 51000, 3389);
    fill_net_peer(table, NET_TCP_ACCEPT, FAMILY_IPV4, 20, 0, &b1, t++);
    fill_net_peer(table, NET_TCP_RECV, FAMILY_IPV4, 20, 700, &b1, t++);
    struct fill_endpoints c1 = fill_endpoints_v4(0x0A010101, 31055, 3389);
    fill_net_peer(table, NET_TCP_SEND, FAMILY_IPV4, 30, 64, &c1, t++);
    struct fill_endpoints d1 = v6_endpoints(1, 2, 1, 443, 50000);
    fill_net_peer(table, NET_TCP_SEND, FAMILY_IPV6, 40, 77, &d1, t++);
    /* a UDP receive records the local socket as its destination */
    struct fill_endpoints d2 = v6_endpoints(1, 2, 9, 60000, 5353);
    fill_net_peer(table, NET_UDP_RECV, FAMILY_IPV6, 40, 120, &d2, t++);
}

#define A_TCP "tcpip_peer_%s_total{process=\"a.exe\",pid=\"10\",service=\"\",protocol=\"tcp\",family=\"ipv4\","

static void peers_shown_and_other(void **state)
{
    (void)state;
    struct process_table *table = peer_table(8, 3, 0, 0, false);
    fill_talkers(table);
    struct render_options options = { .peers = true };
    char *text = render(table, &options, METRICS_FORMAT_TEXT);
    const char *who[] = { "a.exe\",pid=\"10", "b.exe\",pid=\"20", "c.exe\",pid=\"30",
                          "d.exe\",pid=\"40" };
    char expected[4096];
    snprintf(expected, sizeof expected,
        "# HELP tcpip_peer_sent_bytes_total Bytes the process sent to the remote peer (TCP Send events, UDP datagrams).\n"
        "# TYPE tcpip_peer_sent_bytes_total counter\n"
        "tcpip_peer_sent_bytes_total{process=\"%s\",service=\"\",protocol=\"tcp\",family=\"ipv4\",direction=\"outbound\",remote=\"10.0.0.1\",port=\"443\"} 1000\n"
        "tcpip_peer_sent_bytes_total{process=\"%s\",service=\"\",protocol=\"tcp\",family=\"ipv4\",direction=\"outbound\",remote=\"10.0.0.2\",port=\"443\"} 500\n"
        "tcpip_peer_sent_bytes_total{process=\"%s\",service=\"\",protocol=\"tcp\",family=\"ipv4\",direction=\"\",remote=\"other\",port=\"\"} 10\n"
        "tcpip_peer_sent_bytes_total{process=\"%s\",service=\"\",protocol=\"udp\",family=\"ipv4\",direction=\"outbound\",remote=\"10.0.0.9\",port=\"53\"} 40\n"
        "tcpip_peer_sent_bytes_total{process=\"%s\",service=\"\",protocol=\"tcp\",family=\"ipv4\",direction=\"inbound\",remote=\"192.168.1.7\",port=\"3389\"} 0\n"
        "tcpip_peer_sent_bytes_total{process=\"%s\",service=\"\",protocol=\"tcp\",family=\"ipv4\",direction=\"inbound\",remote=\"10.1.1.1\",port=\"3389\"} 64\n"
        "tcpip_peer_sent_bytes_total{process=\"%s\",service=\"\",protocol=\"tcp\",family=\"ipv6\",direction=\"outbound\",remote=\"2001:db8:1:2::1\",port=\"443\"} 77\n"
        "tcpip_peer_sent_bytes_total{process=\"%s\",service=\"\",protocol=\"udp\",family=\"ipv6\",direction=\"inbound\",remote=\"2001:db8:1:2::9\",port=\"5353\"} 0\n",
        who[0], who[0], who[0], who[0], who[1], who[2], who[3], who[3]);
    assert_block(text, "# HELP tcpip_peer_sent_bytes_total ", expected);
    /* connects: TCP only; the other of a.exe holds its third connection */
    snprintf(expected, sizeof expected,
        "# HELP tcpip_peer_connects_total TCP connections the process opened to the remote peer.\n"
        "# TYPE tcpip_peer_connects_total counter\n"
        A_TCP "direction=\"outbound\",remote=\"10.0.0.1\",port=\"443\"} 1\n"
        A_TCP "direction=\"outbound\",remote=\"10.0.0.2\",port=\"443\"} 1\n"
        A_TCP "direction=\"\",remote=\"other\",port=\"\"} 1\n"
        "tcpip_peer_connects_total{process=\"b.exe\",pid=\"20\",service=\"\",protocol=\"tcp\",family=\"ipv4\",direction=\"inbound\",remote=\"192.168.1.7\",port=\"3389\"} 0\n"
        "tcpip_peer_connects_total{process=\"c.exe\",pid=\"30\",service=\"\",protocol=\"tcp\",family=\"ipv4\",direction=\"inbound\",remote=\"10.1.1.1\",port=\"3389\"} 0\n"
        "tcpip_peer_connects_total{process=\"d.exe\",pid=\"40\",service=\"\",protocol=\"tcp\",family=\"ipv6\",direction=\"outbound\",remote=\"2001:db8:1:2::1\",port=\"443\"} 0\n",
        "connects", "connects", "connects");
    assert_block(text, "# HELP tcpip_peer_connects_total ", expected);
    /* UDP: the received bytes of the datagram d.exe got, and no connection counter */
    assert_non_null(strstr(text, "\ntcpip_peer_received_bytes_total{process=\"d.exe\",pid=\"40\",service=\"\",protocol=\"udp\",family=\"ipv6\",direction=\"inbound\",remote=\"2001:db8:1:2::9\",port=\"5353\"} 120\n"));
    assert_non_null(strstr(text, "\ntcpip_peer_receive_events_total{process=\"d.exe\",pid=\"40\",service=\"\",protocol=\"udp\",family=\"ipv6\",direction=\"inbound\",remote=\"2001:db8:1:2::9\",port=\"5353\"} 1\n"));
    assert_null(strstr(text, "tcpip_peer_accepts_total{process=\"d.exe\",pid=\"40\",service=\"\",protocol=\"udp\""));
    assert_null(strstr(text, "tcpip_peer_retransmits_total{process=\"a.exe\",pid=\"10\",service=\"\",protocol=\"udp\""));
    char line[512];
    snprintf(line, sizeof line, "\n" A_TCP "direction=\"outbound\",remote=\"10.0.0.2\",port=\"443\"} 500\n",
             "retransmitted_bytes");
    assert_non_null(strstr(text, line));
    assert_non_null(strstr(text, "\ntcpip_peer_accepts_total{process=\"b.exe\",pid=\"20\",service=\"\",protocol=\"tcp\",family=\"ipv4\",direction=\"inbound\",remote=\"192.168.1.7\",port=\"3389\"} 1\n"));
    /* the store's own figures */
    assert_block(text, "# HELP tcpip_exporter_peers_tracked ",
        "# HELP tcpip_exporter_peers_tracked Remote peers held now for live and retained process instances.\n"
        "# TYPE tcpip_exporter_peers_tracked gauge\n"
        "tcpip_exporter_peers_tracked 8\n");
    assert_non_null(strstr(text, "\ntcpip_exporter_peer_capacity 256\n"));
    assert_non_null(strstr(text, "\ntcpip_exporter_peers_evicted_total 0\n"));
    assert_non_null(strstr(text, "\ntcpip_exporter_peers_refused_total 0\n"));
    assert_non_null(strstr(text, "\ntcpip_exporter_peer_swaps_total 0\n"));
    free(text);
    process_table_destroy(table);
}

/* The OpenMetrics form: family without _total, the unit, samples with _total. */
static void peers_openmetrics(void **state)
{
    (void)state;
    struct process_table *table = peer_table(8, 3, 0, 0, false);
    fill_talkers(table);
    struct render_options options = { .peers = true, .include = (const char *[]){ "b.exe" },
                                      .include_count = 1 };
    char *text = render(table, &options, METRICS_FORMAT_OPENMETRICS);
    assert_block(text, "# HELP tcpip_peer_received_bytes ",
        "# HELP tcpip_peer_received_bytes Bytes the process received from the remote peer (TCP Recv events, UDP datagrams).\n"
        "# TYPE tcpip_peer_received_bytes counter\n"
        "# UNIT tcpip_peer_received_bytes bytes\n"
        "tcpip_peer_received_bytes_total{process=\"b.exe\",pid=\"20\",service=\"\",protocol=\"tcp\",family=\"ipv4\",direction=\"inbound\",remote=\"192.168.1.7\",port=\"3389\"} 700\n");
    assert_block(text, "# HELP tcpip_exporter_peer_swaps ",
        "# HELP tcpip_exporter_peer_swaps Times a busier peer took a shown place (--collector.peers.top): the series of the one that left ends (its counts go to other), the one that came starts a new one.\n"
        "# TYPE tcpip_exporter_peer_swaps counter\n"
        "tcpip_exporter_peer_swaps_total 0\n");
    free(text);
    process_table_destroy(table);
}

/* The sum of the samples of metric (exactly: `metric{`) whose labels hold both texts. */
static uint64_t sum_samples(const char *text, const char *metric, const char *has,
                            const char *also)
{
    char start[128];
    snprintf(start, sizeof start, "\n%s{", metric);
    uint64_t sum = 0;
    for (const char *p = text; (p = strstr(p, start)) != NULL; p++) {
        const char *end = strchr(p + 1, '\n');
        const char *close = strstr(p, "} ");
        assert_non_null(end);
        assert_true(close != NULL && close < end);
        size_t n = (size_t)(close - p);
        char labels[1024];
        assert_true(n < sizeof labels);
        memcpy(labels, p, n);
        labels[n] = '\0';
        if (strstr(labels, has) && strstr(labels, also))
            sum += strtoull(close + 2, NULL, 10);
    }
    return sum;
}

/* For every process, family, protocol and peer counter: the sum over remote of the peer
 * series is the process's own series, with more peers than a process keeps (evictions)
 * and than are shown. */
static void assert_sums_exact(const char *text, uint32_t first_pid, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        char pid[32];
        snprintf(pid, sizeof pid, "pid=\"%u\"", (unsigned)(first_pid + 4 * i));
        for (int p = 0; p < PEER_PROTOCOL_COUNT; p++)
            for (int f = 0; f < FAMILY_COUNT; f++)
                for (int c = 0; c < PEER_CTR_COUNT; c++) {
                    int to = peer_process_counter((enum peer_protocol)p, (enum peer_counter)c);
                    if (to < 0)
                        continue;
                    char peer_metric[96], process_metric[96], peer_labels[96], family[32];
                    snprintf(peer_metric, sizeof peer_metric, "%s_total",
                             peer_counter_names[c].metric);
                    snprintf(process_metric, sizeof process_metric, "%s_total",
                             counter_names[to].metric);
                    snprintf(family, sizeof family, "family=\"%s\"",
                             family_label((enum ip_family)f));
                    snprintf(peer_labels, sizeof peer_labels, "protocol=\"%s\",%s",
                             p == PEER_TCP ? "tcp" : "udp", family);
                    uint64_t peers = sum_samples(text, peer_metric, pid, peer_labels);
                    uint64_t process = sum_samples(text, process_metric, pid, family);
                    if (peers != process)
                        fail_msg("%s %s: peers %llu, process %llu", pid, peer_labels,
                                 (unsigned long long)peers, (unsigned long long)process);
                }
    }
}

static void peer_sums_equal_process_series(void **state)
{
    (void)state;
    struct process_table *table = peer_table(12, 4, 0, 0, false);
    fill_many_peers(table, 40, 16);   /* 16 peers each, 12 kept: evictions into other */
    for (uint32_t i = 0; i < 40; i += 3) { /* UDP both ways and IPv6 for some */
        uint32_t pid = 1000 + 4 * i;
        struct fill_endpoints dns = fill_endpoints_v4(0x08080808, 53, 40000 + (uint16_t)i);
        struct fill_endpoints v6 = v6_endpoints(i, 7, 1, 443, 50000);
        fill_net_peer(table, NET_UDP_SEND, FAMILY_IPV4, pid, 60, &dns, FILL_T0 + 100);
        fill_net_peer(table, NET_UDP_RECV, FAMILY_IPV4, pid, 200, &dns, FILL_T0 + 101);
        fill_net_peer(table, NET_TCP_RECONNECT, FAMILY_IPV6, pid, 0, &v6, FILL_T0 + 102);
        fill_net_peer(table, NET_TCP_SEND, FAMILY_IPV6, pid, 900, &v6, FILL_T0 + 103);
        fill_net(table, NET_TCP_SEND, FAMILY_IPV6, pid, 5, FILL_T0 + 104); /* no endpoints */
        fill_net(table, NET_TCP_COPY, FAMILY_IPV4, pid, 33, FILL_T0 + 105);
    }
    process_table_housekeep(table, FILL_T0 + FILL_SECOND); /* busier peers take places */
    struct render_options options = { .peers = true };
    char *text = render(table, &options, METRICS_FORMAT_TEXT);
    assert_sums_exact(text, 1000, 40);
    /* copies have no peer: the process series keeps them */
    assert_non_null(strstr(text, "\ntcpip_tcp_copied_bytes_total{process=\"proc0.exe\",pid=\"1000\",service=\"\",family=\"ipv4\"} 33\n"));
    struct table_stats stats;
    process_table_stats(table, &stats);
    assert_true(stats.peers_evicted > 0);
    char line[96];
    snprintf(line, sizeof line, "\ntcpip_exporter_peers_evicted_total %llu\n",
             (unsigned long long)stats.peers_evicted);
    assert_non_null(strstr(text, line));
    /* four shown TCP IPv4 peers per process and one other */
    assert_int_equal(sum_samples(text, "tcpip_peer_connects_total", "pid=\"1004\"",
                                 "remote=\"other\""), 12);
    free(text);
    process_table_destroy(table);
}

/* A busier peer takes a shown place: the one that left moves into other, the one that
 * came starts a new series at 0; other never goes down and the sums stay exact. */
static void swap_keeps_other_monotonic(void **state)
{
    (void)state;
    struct process_table *table = peer_table(8, 1, 0, 0, false);
    fill_start(table, 10, "a.exe", 1, FILL_T0);
    struct fill_endpoints small = fill_endpoints_v4(0x0A000001, 443, 50000);
    struct fill_endpoints big = fill_endpoints_v4(0x0A000002, 443, 50001);
    fill_net_peer(table, NET_TCP_SEND, FAMILY_IPV4, 10, 10, &small, FILL_T0 + 1);
    fill_net_peer(table, NET_TCP_SEND, FAMILY_IPV4, 10, 10000, &big, FILL_T0 + 2);
    struct render_options options = { .peers = true };
    char *before = render(table, &options, METRICS_FORMAT_TEXT);
    const char *small_series = "tcpip_peer_sent_bytes_total{process=\"a.exe\",pid=\"10\",service=\"\",protocol=\"tcp\",family=\"ipv4\",direction=\"outbound\",remote=\"10.0.0.1\",port=\"443\"} ";
    const char *big_series = "tcpip_peer_sent_bytes_total{process=\"a.exe\",pid=\"10\",service=\"\",protocol=\"tcp\",family=\"ipv4\",direction=\"outbound\",remote=\"10.0.0.2\",port=\"443\"} ";
    const char *other = "tcpip_peer_sent_bytes_total{process=\"a.exe\",pid=\"10\",service=\"\",protocol=\"tcp\",family=\"ipv4\",direction=\"\",remote=\"other\",port=\"\"} ";
    char line[512];
    snprintf(line, sizeof line, "%s10\n%s10000\n", small_series, other);
    assert_non_null(strstr(before, line));
    assert_null(strstr(before, big_series));
    process_table_housekeep(table, FILL_T0 + FILL_SECOND);
    fill_net_peer(table, NET_TCP_SEND, FAMILY_IPV4, 10, 5, &big, FILL_T0 + FILL_SECOND + 1);
    char *after = render(table, &options, METRICS_FORMAT_TEXT);
    snprintf(line, sizeof line, "%s5\n%s10010\n", big_series, other);
    assert_non_null(strstr(after, line));
    assert_null(strstr(after, small_series));
    assert_non_null(strstr(after, "\ntcpip_exporter_peer_swaps_total 1\n"));
    assert_sums_exact(after, 10, 1);
    free(before);
    free(after);
    process_table_destroy(table);
}

/* Remote addresses kept to a prefix: two hosts of one /24 are one peer, named by it. */
static void peer_prefixes(void **state)
{
    (void)state;
    struct process_table *table = peer_table(8, 0, 24, 64, false);
    fill_start(table, 10, "a.exe", 1, FILL_T0);
    struct fill_endpoints h1 = fill_endpoints_v4(0x0A000101, 443, 50000);
    struct fill_endpoints h2 = fill_endpoints_v4(0x0A0001FE, 443, 50001);
    struct fill_endpoints v6a = v6_endpoints(0xab, 0xcd, 1, 443, 50002);
    struct fill_endpoints v6b = v6_endpoints(0xab, 0xcd, 2, 443, 50003);
    fill_net_peer(table, NET_TCP_CONNECT, FAMILY_IPV4, 10, 0, &h1, FILL_T0 + 1);
    fill_net_peer(table, NET_TCP_SEND, FAMILY_IPV4, 10, 100, &h1, FILL_T0 + 2);
    fill_net_peer(table, NET_TCP_CONNECT, FAMILY_IPV4, 10, 0, &h2, FILL_T0 + 3);
    fill_net_peer(table, NET_TCP_SEND, FAMILY_IPV4, 10, 23, &h2, FILL_T0 + 4);
    fill_net_peer(table, NET_TCP_SEND, FAMILY_IPV6, 10, 7, &v6a, FILL_T0 + 5);
    fill_net_peer(table, NET_TCP_SEND, FAMILY_IPV6, 10, 8, &v6b, FILL_T0 + 6);
    struct render_options options = { .peers = true };
    char *text = render(table, &options, METRICS_FORMAT_TEXT);
    assert_block(text, "# HELP tcpip_peer_sent_bytes_total ",
        "# HELP tcpip_peer_sent_bytes_total Bytes the process sent to the remote peer (TCP Send events, UDP datagrams).\n"
        "# TYPE tcpip_peer_sent_bytes_total counter\n"
        "tcpip_peer_sent_bytes_total{process=\"a.exe\",pid=\"10\",service=\"\",protocol=\"tcp\",family=\"ipv4\",direction=\"outbound\",remote=\"10.0.1.0/24\",port=\"443\"} 123\n"
        "tcpip_peer_sent_bytes_total{process=\"a.exe\",pid=\"10\",service=\"\",protocol=\"tcp\",family=\"ipv6\",direction=\"outbound\",remote=\"2001:db8:ab:cd::/64\",port=\"443\"} 15\n");
    assert_non_null(strstr(text, "remote=\"10.0.1.0/24\",port=\"443\"} 2\n"));  /* connects */
    free(text);
    process_table_destroy(table);
}

/* Aggregated: one series per name, set and peer, no pid; a retired instance's peers stay
 * in the name's totals, as its counters do. */
static void peers_by_name(void **state)
{
    (void)state;
    struct process_table_config config = {
        .capacity = 16, .retention = 10 * FILL_SECOND, .peer_capacity = 256,
        .peers_shown = 0, .peers_by_name = true,
    };
    struct process_table *table = process_table_create(&config);
    fill_start(table, 20, "svc.exe", 1, FILL_T0);
    fill_start(table, 21, "svc.exe", 2, FILL_T0);
    fill_start(table, 22, "other.exe", 3, FILL_T0);
    struct fill_endpoints web = fill_endpoints_v4(0x0A000001, 443, 50000);
    fill_net_peer(table, NET_TCP_SEND, FAMILY_IPV4, 20, 100, &web, FILL_T0 + 1);
    fill_net_peer(table, NET_TCP_SEND, FAMILY_IPV4, 21, 200, &web, FILL_T0 + 2);
    fill_net_peer(table, NET_TCP_SEND, FAMILY_IPV4, 22, 1, &web, FILL_T0 + 3);
    fill_end(table, 20, "svc.exe", 1, FILL_T0 + FILL_SECOND);
    process_table_housekeep(table, FILL_T0 + 100 * FILL_SECOND);   /* retires pid 20 */
    struct render_options options = { .aggregate_by_name = true, .peers = true };
    char *text = render(table, &options, METRICS_FORMAT_TEXT);
    assert_block(text, "# HELP tcpip_peer_sent_bytes_total ",
        "# HELP tcpip_peer_sent_bytes_total Bytes the process sent to the remote peer (TCP Send events, UDP datagrams).\n"
        "# TYPE tcpip_peer_sent_bytes_total counter\n"
        "tcpip_peer_sent_bytes_total{process=\"other.exe\",service=\"\",protocol=\"tcp\",family=\"ipv4\",direction=\"outbound\",remote=\"10.0.0.1\",port=\"443\"} 1\n"
        "tcpip_peer_sent_bytes_total{process=\"svc.exe\",service=\"\",protocol=\"tcp\",family=\"ipv4\",direction=\"outbound\",remote=\"10.0.0.1\",port=\"443\"} 300\n");
    assert_null(strstr(text, "pid=\""));
    /* the excluded name has neither process nor peer series */
    options.exclude = (const char *[]){ "svc*" };
    options.exclude_count = 1;
    free(text);
    text = render(table, &options, METRICS_FORMAT_TEXT);
    assert_null(strstr(text, "svc.exe"));
    assert_non_null(strstr(text, "\ntcpip_peer_sent_bytes_total{process=\"other.exe\","));
    free(text);
    process_table_destroy(table);
}

/* Filters hide a process's peers with its rows; a glob on a hosted service works too. */
static void peer_filters(void **state)
{
    (void)state;
    struct process_table *table = peer_table(8, 3, 0, 0, false);
    fill_talkers(table);
    const char *exclude[] = { "a*", "d.exe" };
    struct render_options options = { .peers = true, .exclude = exclude, .exclude_count = 2 };
    char *text = render(table, &options, METRICS_FORMAT_TEXT);
    assert_null(strstr(text, "a.exe"));
    assert_null(strstr(text, "d.exe"));
    assert_non_null(strstr(text, "\ntcpip_peer_received_bytes_total{process=\"b.exe\","));
    assert_non_null(strstr(text, "\ntcpip_peer_sent_bytes_total{process=\"c.exe\","));
    free(text);
    process_table_destroy(table);
}

/* Without --collector.peers nothing of peers shows, whatever the table keeps; a table
 * without a store gives empty families and its capacity 0. */
static void peers_off(void **state)
{
    (void)state;
    struct process_table *table = peer_table(8, 3, 0, 0, false);
    fill_talkers(table);
    struct render_options off = { 0 };
    char *text = render(table, &off, METRICS_FORMAT_TEXT);
    assert_null(strstr(text, "tcpip_peer_"));
    assert_null(strstr(text, "tcpip_exporter_peer"));
    free(text);
    process_table_destroy(table);

    table = small_table();
    struct render_options on = { .peers = true };
    text = render(table, &on, METRICS_FORMAT_TEXT);
    assert_non_null(strstr(text, "# TYPE tcpip_peer_sent_bytes_total counter\n# HELP "));
    assert_null(strstr(text, "\ntcpip_peer_sent_bytes_total{"));
    assert_non_null(strstr(text, "\ntcpip_exporter_peer_capacity 0\n"));
    /* the process series are those of the render without peers */
    char *plain = render(table, &off, METRICS_FORMAT_TEXT);
    char *sent = block(text, "# HELP tcpip_tcp_sent_bytes_total ");
    assert_block(plain, "# HELP tcpip_tcp_sent_bytes_total ", sent);
    free(sent);
    free(plain);
    free(text);
    process_table_destroy(table);
}

/* Label values are escaped in peer series as in the process series. */
static void peer_labels_escaped(void **state)
{
    (void)state;
    struct process_table *table = peer_table(8, 0, 0, 0, false);
    fill_start(table, 7, "we\"ird\\na\nme.exe", 1, FILL_T0);
    struct fill_endpoints ep = fill_endpoints_v4(0x7F000001, 9, 50000);
    fill_net_peer(table, NET_UDP_SEND, FAMILY_IPV4, 7, 5, &ep, FILL_T0);
    struct render_options options = { .peers = true };
    char *text = render(table, &options, METRICS_FORMAT_TEXT);
    assert_non_null(strstr(text, "\ntcpip_peer_sent_bytes_total{process=\"we\\\"ird\\\\na\\nme.exe\",pid=\"7\",service=\"\",protocol=\"udp\",family=\"ipv4\",direction=\"outbound\",remote=\"127.0.0.1\",port=\"9\"} 5\n"));
    free(text);
    process_table_destroy(table);
}

/* `--summary --peers`: the five busiest peers under the process, the rest and the table's
 * other in one line, so the lines add up to the process's bytes. */
static char *summary_text(const struct process_table *table, bool peers)
{
    /* a file of the working directory: Windows' tmpfile() wants the drive's root */
    const char *path = "test_render_summary.txt";
    FILE *f = fopen(path, "w+b");
    assert_non_null(f);
    struct etl_replay_report report;
    memset(&report, 0, sizeof report);
    struct summary_options options = { .peers = peers };
    summary_print_with(f, table, &report, &options);
    long n = ftell(f);
    assert_true(n > 0);
    char *text = calloc(1, (size_t)n + 1);
    rewind(f);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    remove(path);
    return text;
}

static void summary_lists_peers(void **state)
{
    (void)state;
    struct process_table *table = peer_table(16, 2, 0, 0, false);
    fill_start(table, 50, "e.exe", 1, FILL_T0);
    for (uint32_t k = 1; k <= 7; k++) {
        struct fill_endpoints ep = fill_endpoints_v4(0x0A090000 + k, 443, (uint16_t)(50000 + k));
        fill_net_peer(table, NET_TCP_CONNECT, FAMILY_IPV4, 50, 0, &ep, FILL_T0 + k);
        fill_net_peer(table, NET_TCP_SEND, FAMILY_IPV4, 50, 100 * k, &ep, FILL_T0 + k);
        fill_net_peer(table, NET_TCP_RECV, FAMILY_IPV4, 50, k, &ep, FILL_T0 + k);
    }
    fill_net(table, NET_TCP_SEND, FAMILY_IPV4, 50, 5, FILL_T0 + 9);  /* no endpoints */
    char *text = summary_text(table, true);
    assert_non_null(strstr(text,
        " 50  e.exe        2805      8          28      7         7        0            0            0           0       0               0               0  -\n"
        "     tcp  outbound  10.9.0.7    443  sent 700  received 7\n"
        "     tcp  outbound  10.9.0.6    443  sent 600  received 6\n"
        "     tcp  outbound  10.9.0.5    443  sent 500  received 5\n"
        "     tcp  outbound  10.9.0.4    443  sent 400  received 4\n"
        "     tcp  outbound  10.9.0.3    443  sent 300  received 3\n"
        "     -    -         other         -  sent 305  received 3\n"
        "\nfailures: 0\n"));
    free(text);
    /* without --peers: the table alone */
    text = summary_text(table, false);
    assert_null(strstr(text, "outbound"));
    assert_non_null(strstr(text, "  -\n\nfailures: 0\n"));
    free(text);
    process_table_destroy(table);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(per_process_text),
        cmocka_unit_test(connect_failures),
        cmocka_unit_test(openmetrics_form),
        cmocka_unit_test(escaping),
        cmocka_unit_test(aggregation_keeps_retired),
        cmocka_unit_test(filters),
        cmocka_unit_test(reused_pid_shows_newest),
        cmocka_unit_test(services_label_and_info),
        cmocka_unit_test(connection_gauges),
        cmocka_unit_test(repeatable),
        cmocka_unit_test(http_self_metrics),
        cmocka_unit_test(peers_shown_and_other),
        cmocka_unit_test(peers_openmetrics),
        cmocka_unit_test(peer_sums_equal_process_series),
        cmocka_unit_test(swap_keeps_other_monotonic),
        cmocka_unit_test(peer_prefixes),
        cmocka_unit_test(peers_by_name),
        cmocka_unit_test(peer_filters),
        cmocka_unit_test(peers_off),
        cmocka_unit_test(peer_labels_escaped),
        cmocka_unit_test(summary_lists_peers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
