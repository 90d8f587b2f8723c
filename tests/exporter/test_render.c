/* Rendering of /metrics: exact text for small tables filled with made-up facts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prometheus.h"
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
    *count = sizeof fixed / sizeof fixed[0];
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
