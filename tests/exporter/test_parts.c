/* The exporter's small parts: content negotiation, globs, UTF-8 repair, listen addresses,
 * query parameters and the JSON documents (exactness of 64-bit counters). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "bytes.h"
#include "label_text.h"
#include "listen_socket.h"
#include "live_page.h"
#include "name_filter.h"
#include "negotiate.h"
#include "table_fill.h"

static void negotiation(void **state)
{
    (void)state;
    /* Prometheus 2.x default scrape Accept header */
    assert_int_equal(negotiate_format("application/openmetrics-text;version=1.0.0,"
        "application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,"
        "*/*;q=0.1"), METRICS_FORMAT_OPENMETRICS);
    /* Prometheus 3.x */
    assert_int_equal(negotiate_format("application/openmetrics-text;version=1.0.0;"
        "escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,"
        "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,"
        "*/*;q=0.2"), METRICS_FORMAT_OPENMETRICS);
    /* Prometheus configured for the text format first */
    assert_int_equal(negotiate_format("text/plain;version=0.0.4;q=1,"
        "application/openmetrics-text;version=1.0.0;q=0.5"), METRICS_FORMAT_TEXT);
    assert_int_equal(negotiate_format("application/openmetrics-text; version=1.0.0; q=0"),
                     METRICS_FORMAT_TEXT);
    assert_int_equal(negotiate_format("application/openmetrics-text;version=0.0.1"),
                     METRICS_FORMAT_TEXT);
    assert_int_equal(negotiate_format("Application/OpenMetrics-Text"),
                     METRICS_FORMAT_OPENMETRICS);
    assert_int_equal(negotiate_format(NULL), METRICS_FORMAT_TEXT);
    assert_int_equal(negotiate_format(""), METRICS_FORMAT_TEXT);
    assert_int_equal(negotiate_format("*/*"), METRICS_FORMAT_TEXT);
    assert_int_equal(negotiate_format(";;,,=q;q=,garbage/\"x"), METRICS_FORMAT_TEXT);
    assert_int_equal(negotiate_format("text/html,application/openmetrics-text;q=0.9x"),
                     METRICS_FORMAT_TEXT);

    assert_true(negotiate_gzip("gzip"));
    assert_true(negotiate_gzip("deflate, gzip;q=0.5"));
    assert_true(negotiate_gzip("*"));
    assert_false(negotiate_gzip("gzip;q=0"));
    assert_false(negotiate_gzip("*, gzip;q=0"));
    assert_false(negotiate_gzip("identity"));
    assert_false(negotiate_gzip(NULL));
    assert_false(negotiate_gzip("gzipx"));
}

static void globs(void **state)
{
    (void)state;
    assert_true(glob_match("*", ""));
    assert_true(glob_match("*.exe", "chrome.exe"));
    assert_true(glob_match("*.EXE", "chrome.exe"));
    assert_true(glob_match("c?rome*", "Chrome.exe"));
    assert_false(glob_match("c?rome", "chrome.exe"));
    assert_true(glob_match("*a*b*c", "xxaxxbxxc"));
    assert_false(glob_match("*a*b*c", "xxaxxbxxcx"));
    assert_false(glob_match("?", ""));
    assert_true(glob_match("<*>", "<unknown>"));
    /* pathological for naive backtracking: must finish at once */
    assert_false(glob_match("*a*a*a*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    const char *inc[] = { "*.exe" };
    const char *exc[] = { "svchost.exe" };
    assert_true(name_filter_allows(NULL, 0, NULL, 0, "x"));
    assert_true(name_filter_allows(inc, 1, exc, 1, "a.exe"));
    assert_false(name_filter_allows(inc, 1, exc, 1, "SVCHOST.EXE"));
    assert_false(name_filter_allows(inc, 1, exc, 1, "sshd"));
}

static void utf8_repair(void **state)
{
    (void)state;
    char out[64];
    utf8_from_image_name("caf\xc3\xa9", out, sizeof out);
    assert_string_equal(out, "caf\xc3\xa9");
    utf8_from_image_name("caf\xe9", out, sizeof out);
    assert_string_equal(out, "caf\xc3\xa9");
    assert_false(utf8_valid("\xc0\x80"));          /* overlong NUL */
    assert_false(utf8_valid("\xed\xa0\x80"));      /* surrogate */
    assert_true(utf8_valid("\xf0\x9f\x98\x80"));
    utf8_from_image_name("ab\xe9", out, 4);        /* no room for the 2-byte form */
    assert_string_equal(out, "ab");
    struct text_buffer b;
    text_buffer_init(&b);
    append_label_value(&b, "a\"b\\c\nd");
    assert_string_equal(b.data, "a\\\"b\\\\c\\nd");
    text_buffer_free(&b);
}

static void listen_addresses(void **state)
{
    (void)state;
    char host[64], port[8], err[256];
    assert_true(listen_address_split("127.0.0.1:9731", host, sizeof host, port, sizeof port,
                                     err, sizeof err));
    assert_string_equal(host, "127.0.0.1");
    assert_string_equal(port, "9731");
    assert_true(listen_address_split("[::1]:80", host, sizeof host, port, sizeof port, err,
                                     sizeof err));
    assert_string_equal(host, "::1");
    assert_true(listen_address_split(":65535", host, sizeof host, port, sizeof port, err,
                                     sizeof err));
    assert_string_equal(host, "");
    assert_true(listen_host_is_literal("[::1]:80"));
    assert_true(listen_host_is_literal("256.1.1.1:80"));
    assert_false(listen_host_is_literal("localhost:80"));
    assert_false(listen_host_is_literal(":80"));
    const char *bad[] = { "9731", "::1:80", "[::1]80", "[]:80", "host:", "host:0",
                          "host:65536", "host:-1", "host:80x", "[::1:80" };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        err[0] = '\0';
        assert_false(listen_address_split(bad[i], host, sizeof host, port, sizeof port, err,
                                          sizeof err));
        assert_non_null(strstr(err, bad[i]));
    }
    /* a host that does not fit is named as the problem, not the port */
    char long_host[100];
    memset(long_host, 'h', 70);
    snprintf(long_host + 70, sizeof long_host - 70, ":80");
    assert_false(listen_address_split(long_host, host, sizeof host, port, sizeof port, err,
                                      sizeof err));
    assert_non_null(strstr(err, "host longer than 63 characters"));
}

static void query_parameters(void **state)
{
    (void)state;
    struct process_query q;
    char err[256];
    process_query_init(&q);
    assert_true(process_query_set(&q, "pid", "4294967295", err, sizeof err));
    assert_int_equal(q.filter.pid, 4294967295u);
    assert_true(process_query_set(&q, "sort", "tcp_sent_bytes", err, sizeof err));
    assert_int_equal(q.sort, CTR_SENT_BYTES);
    assert_true(process_query_set(&q, "limit", "10", err, sizeof err));
    assert_false(process_query_set(&q, "limit", "11", err, sizeof err));
    assert_non_null(strstr(err, "twice"));
    struct { const char *key, *value, *says; } bad[] = {
        { "pid", "4294967296", "pid" }, { "pid", "-1", "pid" }, { "pid", "", "pid" },
        { "pid", " 1", "pid" }, { "limit", "0", "limit" }, { "limit", "1000001", "limit" },
        { "sort", "bytes", "sort" }, { "colour", "red", "colour" }, { "name", "", "name" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        process_query_init(&q);
        assert_false(process_query_set(&q, bad[i].key, bad[i].value, err, sizeof err));
        assert_non_null(strstr(err, bad[i].says));
    }
}

static void filetimes(void **state)
{
    (void)state;
    char text[48];
    format_filetime(116444736000000000ull, text, sizeof text);
    assert_string_equal(text, "1970-01-01T00:00:00.0000000Z");
    format_filetime(FILL_T0 + 1234567, text, sizeof text);
    assert_string_equal(text, "2024-01-01T00:00:00.1234567Z");
    format_filetime(0, text, sizeof text);
    assert_string_equal(text, "1601-01-01T00:00:00.0000000Z");
    format_filetime(FILL_T0 + (31ull + 29) * 86400 * FILL_SECOND + 3723 * FILL_SECOND, text,
                    sizeof text);
    assert_string_equal(text, "2024-03-01T01:02:03.0000000Z");   /* leap year */
}

/* Finds `"key":` in text and returns the literal after it up to , or }. */
static void literal_after(const char *text, const char *key, char *out, size_t size)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *p = strstr(text, pattern);
    assert_non_null(p);
    p += strlen(pattern);
    size_t n = strcspn(p, ",}");
    assert_true(n < size);
    memcpy(out, p, n);
    out[n] = '\0';
}

static void json_counters_exact(void **state)
{
    (void)state;
    struct process_table_config config = { .capacity = 16 };
    struct process_table *table = process_table_create(&config);
    fill_start(table, 77, "big.exe", 0xffffa00012345678ull, FILL_T0);
    /* 2^53 + 2^32 - 1 + ... : above 2^53 and odd, so a double cannot hold it */
    const uint32_t n = 2097153;
    for (uint32_t i = 0; i < n; i++)
        fill_net(table, NET_TCP_RECV, FAMILY_IPV6, 77, UINT32_MAX, FILL_T0 + 1);
    uint64_t expected = (uint64_t)n * UINT32_MAX;
    assert_true(expected > (1ull << 53));
    char expected_text[32];
    snprintf(expected_text, sizeof expected_text, "%llu", (unsigned long long)expected);
    assert_true((uint64_t)(double)expected != expected);   /* a double would round it */

    struct render_options options = { 0 };
    struct process_query q;
    process_query_init(&q);
    char *text = json_render_processes(table, &options, &q);
    assert_non_null(text);
    char got[64];
    char *ipv6 = strstr(text, "\"ipv6\":");
    assert_non_null(ipv6);
    literal_after(ipv6, "tcp_received_bytes", got, sizeof got);
    assert_string_equal(got, expected_text);
    literal_after(text, "total_bytes", got, sizeof got);
    assert_string_equal(got, expected_text);
    literal_after(text, "unique_key", got, sizeof got);
    assert_string_equal(got, "\"0xffffa00012345678\"");
    literal_after(text, "start_time", got, sizeof got);
    assert_string_equal(got, "\"2024-01-01T00:00:00.0000000Z\"");
    literal_after(text, "exit_time", got, sizeof got);
    assert_string_equal(got, "null");
    literal_after(text, "state", got, sizeof got);
    assert_string_equal(got, "\"live\"");
    cJSON *parsed = cJSON_Parse(text);
    assert_non_null(parsed);
    assert_int_equal(cJSON_GetArraySize(parsed), 1);
    cJSON_Delete(parsed);
    free(text);
    process_table_destroy(table);
}

/* /api/v1/processes for query parameters given as key, value, ..., NULL; parsed. */
static cJSON *query_processes(const struct process_table *table, ...)
{
    struct render_options options = { 0 };
    struct process_query q;
    char err[128];
    process_query_init(&q);
    va_list args;
    va_start(args, table);
    for (const char *key; (key = va_arg(args, const char *)) != NULL;) {
        const char *value = va_arg(args, const char *);
        if (!process_query_set(&q, key, value, err, sizeof err))
            fail_msg("%s=%s refused: %s", key, value, err);
    }
    va_end(args);
    char *text = json_render_processes(table, &options, &q);
    assert_non_null(text);
    cJSON *array = cJSON_Parse(text);
    free(text);
    assert_non_null(array);
    return array;
}

static int pid_at(const cJSON *array, int i)
{
    return cJSON_GetObjectItem(cJSON_GetArrayItem(array, i), "pid")->valueint;
}

static void json_query(void **state)
{
    (void)state;
    struct process_table_config config = { .capacity = 64, .retention = 60 * FILL_SECOND };
    struct process_table *table = process_table_create(&config);
    fill_many(table, 20);   /* proc<i>.exe, pid 1000 + 4 i, bytes grow with i */
    fill_end(table, 1000, "proc0.exe", 0xffff800000000000ull + 1000, FILL_T0 + FILL_SECOND);

    cJSON *array = query_processes(table, "sort", "total_bytes", "limit", "3", NULL);
    assert_int_equal(cJSON_GetArraySize(array), 3);
    /* i = 18 has IPv6 traffic too and beats i = 19 */
    assert_int_equal(pid_at(array, 0), 1072);
    assert_int_equal(pid_at(array, 1), 1064);
    assert_int_equal(pid_at(array, 2), 1056);
    cJSON_Delete(array);

    array = query_processes(table, "name", "PROC1?.EXE", NULL);
    assert_int_equal(cJSON_GetArraySize(array), 10);
    assert_int_equal(pid_at(array, 0), 1040);
    cJSON_Delete(array);

    array = query_processes(table, "pid", "1000", NULL);
    assert_int_equal(cJSON_GetArraySize(array), 1);
    cJSON *p = cJSON_GetArrayItem(array, 0);
    assert_string_equal(cJSON_GetObjectItem(p, "state")->valuestring, "exited");
    assert_string_equal(cJSON_GetObjectItem(p, "exit_time")->valuestring,
                        "2024-01-01T00:00:01.0000000Z");
    cJSON *v4 = cJSON_GetObjectItem(cJSON_GetObjectItem(p, "counters"), "ipv4");
    assert_int_equal(cJSON_GetArraySize(v4), CTR_COUNT);
    assert_int_equal(cJSON_GetObjectItem(v4, "tcp_sent_bytes")->valueint, 100);
    assert_int_equal(cJSON_GetObjectItem(v4, "udp_received_datagrams")->valueint, 1);
    cJSON_Delete(array);
    process_table_destroy(table);
}

static void json_status_and_error(void **state)
{
    (void)state;
    struct process_table_config config = { .capacity = 16 };
    struct process_table *table = process_table_create(&config);
    struct status_input input = { .version = "1.2.3", .uptime_seconds = 5, .has_source = true,
                                  .scrapes = 9, .config_json = "{\"a\":[1,2]}" };
    input.source.kind = "etl";
    input.source.up = true;
    input.source.replay_done = true;
    input.source.events_lost = 18446744073709551615ull;
    snprintf(input.source.reason, sizeof input.source.reason, "replaying 1 file");
    char *text = json_render_status(table, &input);
    assert_non_null(strstr(text, "\"events_lost\":18446744073709551615"));
    assert_non_null(strstr(text, "\"config\":{\"a\":[1,2]}"));
    assert_non_null(strstr(text, "\"state\":\"replay_done\""));
    assert_non_null(strstr(text, "\"version\":\"1.2.3\""));
    cJSON *parsed = cJSON_Parse(text);
    assert_non_null(parsed);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(parsed, "table"), "capacity")->valueint, 16);
    cJSON_Delete(parsed);
    free(text);

    input.config_json = "{not json";
    text = json_render_status(table, &input);
    assert_non_null(strstr(text, "\"config\":\"{not json\""));
    free(text);

    text = json_render_error(400, "bad \xff value");
    parsed = cJSON_Parse(text);
    assert_non_null(parsed);
    assert_string_equal(cJSON_GetObjectItem(parsed, "error")->valuestring, "bad \xc3\xbf value");
    assert_int_equal(cJSON_GetObjectItem(parsed, "status")->valueint, 400);
    cJSON_Delete(parsed);
    free(text);
    process_table_destroy(table);
}

/* /api/v1/services lists a process's services in the order the `service` label joins
 * them: case-insensitively, so Schedule before SENS (strcmp would put SENS first). */
static void json_services_order(void **state)
{
    (void)state;
    struct process_table_config config = { .capacity = 16 };
    struct process_table *table = process_table_create(&config);
    fill_start(table, 1188, "svchost.exe", 1, FILL_T0);
    fill_service(table, 1188, 4, "SENS", "System Event Notification Service", FILL_T0);
    fill_service(table, 1188, 4, "Schedule", "Task Scheduler", FILL_T0);
    fill_service(table, 1188, 4, "BITS", "Background Intelligent Transfer Service", FILL_T0);
    process_table_housekeep(table, FILL_T0);
    char *text = json_render_services(table);
    assert_non_null(text);
    cJSON *parsed = cJSON_Parse(text);
    assert_non_null(parsed);
    assert_int_equal(cJSON_GetArraySize(parsed), 3);
    const char *want[] = { "BITS", "Schedule", "SENS" };
    for (int i = 0; i < 3; i++)
        assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(parsed, i), "name")->valuestring,
                            want[i]);
    cJSON_Delete(parsed);
    free(text);
    process_table_destroy(table);
}

/* The connect failures by family and reason, as the live page reads them. */
static void json_status_failures(void **state)
{
    (void)state;
    struct process_table_config config = { .capacity = 16 };
    struct process_table *table = process_table_create(&config);
    struct trace_fact fact = { .kind = FACT_FAIL, .type = EVT_TCP_FAIL,
                               .u.fail = { .proto = 23, .code = 6 } };
    process_table_apply(table, &fact, 1);
    process_table_apply(table, &fact, 2);
    fact.u.fail.code = 99;
    process_table_apply(table, &fact, 3);
    struct status_input input = { .version = "1" };
    char *text = json_render_status(table, &input);
    cJSON *root = cJSON_Parse(text);
    cJSON *fails = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "table"), "tcp_connect_failures");
    assert_non_null(fails);
    cJSON *v6 = cJSON_GetObjectItem(fails, "ipv6");
    assert_int_equal(cJSON_GetObjectItem(v6, "time_wait_address_exists")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItem(v6, "unrecognized")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(fails, "ipv4"), "other")->valueint, 0);
    assert_int_equal(cJSON_GetArraySize(v6), 7);
    cJSON_Delete(root);
    free(text);
    process_table_destroy(table);
}

/* GET /: the placeholders filled in and escaped, the page's own '@' left alone, and the
 * two files found by their exact paths only. */
static void live_page_parts(void **state)
{
    (void)state;
    char *html = live_page_html("/m\"><script>'&", "9.9.9");
    assert_non_null(html);
    assert_non_null(strstr(html, "href=\"/m&quot;&gt;&lt;script&gt;&#39;&amp;\""));
    assert_null(strstr(html, "/m\"><script>"));
    assert_null(strstr(html, "@TELEMETRY_PATH@"));
    assert_null(strstr(html, "@VERSION@"));
    assert_non_null(strstr(html, "<span class=\"version\">9.9.9</span>"));
    assert_non_null(strstr(html, "<script src=\"/ui/live.js\" defer></script>"));
    free(html);
    html = live_page_html("/a@b", "@VERSION@");
    assert_non_null(strstr(html, "href=\"/a@b\""));      /* an '@' that names nothing */
    assert_non_null(strstr(html, ">@VERSION@</span>"));  /* values are not expanded again */
    free(html);

    struct live_page_file file;
    assert_true(live_page_file("/ui/live.js", &file));
    assert_string_equal(file.content_type, "text/javascript; charset=utf-8");
    assert_int_equal(file.size, strlen(file.data));
    assert_non_null(strstr(file.data, "textContent"));
    assert_true(live_page_file("/ui/live.css", &file));
    assert_string_equal(file.content_type, "text/css; charset=utf-8");
    assert_true(file.size > 100);
    assert_false(live_page_file("/ui/live.js/", &file));
    assert_false(live_page_file("/ui/", &file));
    assert_false(live_page_file("/ui/live.html", &file));
    assert_false(live_page_file("/UI/live.js", &file));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(negotiation),
        cmocka_unit_test(globs),
        cmocka_unit_test(utf8_repair),
        cmocka_unit_test(listen_addresses),
        cmocka_unit_test(query_parameters),
        cmocka_unit_test(filetimes),
        cmocka_unit_test(json_counters_exact),
        cmocka_unit_test(json_query),
        cmocka_unit_test(json_status_and_error),
        cmocka_unit_test(json_services_order),
        cmocka_unit_test(json_status_failures),
        cmocka_unit_test(live_page_parts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
