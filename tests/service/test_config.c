/* Unit tests for service/config.c: every flag in both forms, lists, durations, each bad
 * value with its exact one-line error, the config file and its precedence, --help and
 * --version, and config_to_json read back through --config.file.
 *
 * argv[1] is a folder where the test may write its config files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "bytes.h"
#include "redirect.h"

static const char *scratch_dir = ".";

#define SECONDS(n) ((uint64_t)(n) * 10000000u) /* retention is in 100 ns units */

/* config_parse on a NULL-terminated list of arguments (the program name is added). */
static enum config_result parse_list(struct config *c, char *err, size_t err_size,
                                     const char *const *args)
{
    char *argv[128];
    int argc = 0;
    argv[argc++] = "tcpip_exporter";
    for (; *args != NULL; args++) {
        assert_true(argc < 127);
        argv[argc++] = (char *)*args;
    }
    argv[argc] = NULL;
    return config_parse(c, argc, argv, err, err_size);
}

#define PARSE(c, err, ...) \
    parse_list((c), (err), sizeof(err), (const char *const[]){ __VA_ARGS__, NULL })

/* Parses, expects success, and keeps the config for the caller to check and free. */
static void parse_ok(struct config *c, const char *const *args)
{
    char err[512] = "";
    enum config_result r = parse_list(c, err, sizeof err, args);
    if (r != CONFIG_RUN)
        fail_msg("expected success, got %d: %s", (int)r, err);
}
#define PARSE_OK(c, ...) parse_ok((c), (const char *const[]){ __VA_ARGS__, NULL })

/* Parses, expects failure with exactly this one line. */
static void parse_fails(const char *expected, const char *const *args)
{
    struct config c;
    char err[512] = "";
    enum config_result r = parse_list(&c, err, sizeof err, args);
    config_free(&c);
    assert_int_equal(r, CONFIG_ERROR);
    assert_string_equal(err, expected);
    assert_null(strchr(err, '\n'));
}
#define PARSE_FAILS(expected, ...) parse_fails((expected), (const char *const[]){ __VA_ARGS__, NULL })

static const char *write_file(const char *name, const char *text)
{
    static char path[4][1024];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", scratch_dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
    return p;
}

/* ---- defaults ---- */

static void test_defaults(void **state)
{
    (void)state;
    struct config c;
    char err[64];
    assert_int_equal(parse_list(&c, err, sizeof err, (const char *const[]){ NULL }), CONFIG_RUN);
    assert_int_equal(c.listen_count, 1);
    assert_string_equal(c.listen[0], ":9731");
    assert_string_equal(c.telemetry_path, "/metrics");
    assert_int_equal(c.etl_count, 0);
    assert_false(c.summary);
    assert_false(c.aggregate_by_name);
    assert_int_equal(c.include_count, 0);
    assert_int_equal(c.exclude_count, 0);
    assert_true(c.retention == SECONDS(300));
    assert_int_equal(c.capacity, 4096);
    assert_int_equal(c.session.kind, LIVE_SESSION_AUTO);
    assert_string_equal(c.session.session_name, "tcpip_exporter");
    assert_false(c.session.take_over_foreign);
    assert_int_equal(c.session.buffer_size_kb, 64);
    assert_int_equal(c.session.min_buffers, 0); /* auto: the session sizes them */
    assert_int_equal(c.session.max_buffers, 0);
    assert_false(c.retention_given);
    assert_int_equal(c.log_level, LOG_INFO);
    assert_false(c.console);
    assert_null(c.config_file);
    assert_int_equal(c.connection_timeout_s, 10);
    assert_int_equal(c.max_connections, 1024);
    assert_int_equal(c.max_connections_per_ip, 16);
    assert_int_equal(c.max_in_flight, 16);
    assert_int_equal(c.request_head_timeout_s, 5);
    assert_int_equal(c.min_send_rate, 65536);
    assert_int_equal(c.max_response_memory_mib, 64);
    assert_false(c.peers);
    assert_int_equal(c.peer_capacity, 16384);
    assert_int_equal(c.peers_per_process, 64);
    assert_int_equal(c.peers_top, 10);
    assert_int_equal(c.peer_ipv4_prefix, 32);
    assert_int_equal(c.peer_ipv6_prefix, 128);
    assert_false(c.summary_peers);
    config_free(&c);
}

/* ---- every flag, "--flag value" form ---- */

static void check_all_flags_set(const struct config *c)
{
    assert_int_equal(c->listen_count, 2);
    assert_string_equal(c->listen[0], "127.0.0.1:9100");
    assert_string_equal(c->listen[1], "[::1]:9101");
    assert_string_equal(c->telemetry_path, "/m");
    assert_int_equal(c->connection_timeout_s, 30);
    assert_int_equal(c->max_connections, 50);
    assert_int_equal(c->max_connections_per_ip, 5);
    assert_int_equal(c->max_in_flight, 3);
    assert_int_equal(c->etl_count, 2);
    assert_string_equal(c->etl_files[0], "a.etl");
    assert_string_equal(c->etl_files[1], "b.etl");
    assert_true(c->summary);
    assert_true(c->aggregate_by_name);
    assert_int_equal(c->include_count, 2);
    assert_string_equal(c->include[0], "chrome*");
    assert_string_equal(c->include[1], "svc?ost.exe");
    assert_int_equal(c->exclude_count, 1);
    assert_string_equal(c->exclude[0], "System");
    assert_true(c->retention == SECONDS(3600));
    assert_int_equal(c->capacity, 1000);
    assert_int_equal(c->session.kind, LIVE_SESSION_KERNEL_LOGGER);
    assert_string_equal(c->session.session_name, "mine");
    assert_true(c->session.take_over_foreign);
    assert_int_equal(c->session.buffer_size_kb, 1024);
    assert_int_equal(c->session.min_buffers, 10);
    assert_int_equal(c->session.max_buffers, 20);
    assert_int_equal(c->log_level, LOG_DEBUG);
    assert_true(c->console);
    assert_true(c->peers);
    assert_int_equal(c->peer_capacity, 1000);
    assert_int_equal(c->peers_per_process, 100);
    assert_int_equal(c->peers_top, 0);
    assert_int_equal(c->peer_ipv4_prefix, 24);
    assert_int_equal(c->peer_ipv6_prefix, 64);
    assert_true(c->summary_peers);
}

static void test_every_flag_separate_value(void **state)
{
    (void)state;
    struct config c;
    PARSE_OK(&c, "--web.listen-address", "127.0.0.1:9100", "--web.listen-address", "[::1]:9101",
             "--web.telemetry-path", "/m", "--web.connection-timeout", "30s",
             "--web.max-connections", "50", "--web.max-connections-per-ip", "5",
             "--web.max-requests-in-flight", "3", "--etl", "a.etl", "--etl", "b.etl",
             "--summary", "--collector.aggregate-by-name", "--collector.include", "chrome*",
             "--collector.include", "svc?ost.exe", "--collector.exclude", "System",
             "--collector.retention", "1h", "--collector.capacity", "1000",
             "--session.kind", "kernel-logger", "--session.name", "mine",
             "--session.take-over-foreign", "--session.buffer-size-kb", "1024",
             "--session.min-buffers", "10", "--session.max-buffers", "20",
             "--log.level", "debug", "--console", "--collector.peers",
             "--collector.peers.capacity", "1000", "--collector.peers.per-process", "100",
             "--collector.peers.top", "0", "--collector.peers.ipv4-prefix", "24",
             "--collector.peers.ipv6-prefix", "64", "--peers");
    check_all_flags_set(&c);
    config_free(&c);
}

/* The replay's pace and loop go together, or alone, with --etl. */
static void test_replay_pace_and_loop(void **state)
{
    (void)state;
    struct config c;
    PARSE_OK(&c, "--etl", "a.etl", "--etl.pace", "10x", "--etl.loop");
    assert_string_equal(c.etl_pace, "10x");
    assert_true(c.etl_loop);
    config_free(&c);
    PARSE_OK(&c, "--etl", "a.etl", "--etl.loop=false");
    assert_null(c.etl_pace); /* not given: the app picks realtime for a loop, else off */
    assert_false(c.etl_loop);
    config_free(&c);
}

static void test_every_flag_equals_form(void **state)
{
    (void)state;
    struct config c;
    PARSE_OK(&c, "--web.listen-address=127.0.0.1:9100", "--web.listen-address=[::1]:9101",
             "--web.telemetry-path=/m", "--web.connection-timeout=30s",
             "--web.max-connections=50", "--web.max-connections-per-ip=5",
             "--web.max-requests-in-flight=3", "--etl=a.etl", "--etl=b.etl",
             "--summary=true", "--collector.aggregate-by-name=true",
             "--collector.include=chrome*", "--collector.include=svc?ost.exe",
             "--collector.exclude=System", "--collector.retention=1h",
             "--collector.capacity=1000", "--session.kind=kernel-logger", "--session.name=mine",
             "--session.take-over-foreign=true", "--session.buffer-size-kb=1024",
             "--session.min-buffers=10", "--session.max-buffers=20", "--log.level=debug",
             "--console=true", "--collector.peers=true", "--collector.peers.capacity=1000",
             "--collector.peers.per-process=100", "--collector.peers.top=0",
             "--collector.peers.ipv4-prefix=24", "--collector.peers.ipv6-prefix=64",
             "--peers=true");
    check_all_flags_set(&c);
    config_free(&c);
}

static void test_switch_false_and_values_with_equals(void **state)
{
    (void)state;
    struct config c;
    PARSE_OK(&c, "--console=false", "--collector.aggregate-by-name=false", "--etl=x=y.etl",
             "--session.take-over-foreign=false", "--etl", "-dash.etl");
    assert_false(c.console);
    assert_false(c.aggregate_by_name);
    assert_false(c.session.take_over_foreign);
    assert_int_equal(c.etl_count, 2);
    assert_string_equal(c.etl_files[0], "x=y.etl"); /* only the first = splits */
    assert_string_equal(c.etl_files[1], "-dash.etl");
    config_free(&c);
}

static void test_session_kinds_and_levels(void **state)
{
    (void)state;
    static const struct { const char *text; enum live_session_kind kind; } kinds[] = {
        { "auto", LIVE_SESSION_AUTO }, { "system-logger", LIVE_SESSION_SYSTEM_LOGGER },
        { "kernel-logger", LIVE_SESSION_KERNEL_LOGGER },
    };
    for (size_t i = 0; i < 3; i++) {
        struct config c;
        PARSE_OK(&c, "--session.kind", kinds[i].text);
        assert_int_equal(c.session.kind, kinds[i].kind);
        config_free(&c);
    }
    static const char *const levels[] = { "error", "warn", "info", "debug" };
    for (int i = 0; i < 4; i++) {
        struct config c;
        PARSE_OK(&c, "--log.level", levels[i]);
        assert_int_equal(c.log_level, i);
        assert_int_equal(log_level_parse(levels[i]), i);
        config_free(&c);
    }
    assert_int_equal(log_level_parse("verbose"), -1);
    assert_int_equal(log_level_parse("INFO"), -1);
}

static void test_listen_address_forms(void **state)
{
    (void)state;
    static const char *const good[] = {
        ":9731", "127.0.0.1:1", "0.0.0.0:65535", "[::1]:9731", "[::]:80",
        "[fe80::1:2:3:4]:8080", "[::ffff:127.0.0.1]:9000", "10.20.30.40:9999",
    };
    for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
        struct config c;
        PARSE_OK(&c, "--web.listen-address", good[i]);
        assert_int_equal(c.listen_count, 1);
        assert_string_equal(c.listen[0], good[i]);
        config_free(&c);
    }
}

static void test_repeatables_keep_order_and_cap(void **state)
{
    (void)state;
    struct config c;
    PARSE_OK(&c, "--etl", "1", "--etl", "2", "--etl", "3", "--collector.exclude", "a",
             "--collector.exclude", "b");
    assert_int_equal(c.etl_count, 3);
    assert_string_equal(c.etl_files[2], "3");
    assert_int_equal(c.exclude_count, 2);
    assert_string_equal(c.exclude[1], "b");
    config_free(&c);

    PARSE_FAILS("--web.listen-address: at most 8 addresses",
                "--web.listen-address=:1", "--web.listen-address=:2", "--web.listen-address=:3",
                "--web.listen-address=:4", "--web.listen-address=:5", "--web.listen-address=:6",
                "--web.listen-address=:7", "--web.listen-address=:8", "--web.listen-address=:9");

    const char *args[2 * CONFIG_MAX_FILTERS + 3];
    size_t n = 0;
    for (int i = 0; i <= CONFIG_MAX_FILTERS; i++) {
        args[n++] = "--collector.include";
        args[n++] = "x*";
    }
    args[n] = NULL;
    char err[256];
    assert_int_equal(parse_list(&c, err, sizeof err, args), CONFIG_ERROR);
    assert_string_equal(err, "--collector.include: at most 32 patterns");
    config_free(&c);
}

static void test_durations(void **state)
{
    (void)state;
    static const struct { const char *text; uint64_t seconds; } good[] = {
        { "30s", 30 }, { "5m", 300 }, { "1h", 3600 }, { "1h30m", 5400 }, { "2d", 172800 },
        { "1s", 1 }, { "90s", 90 }, { "1m30s", 90 }, { "365d", 365 * 86400 },
    };
    for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
        struct config c;
        PARSE_OK(&c, "--collector.retention", good[i].text);
        assert_true(c.retention == SECONDS(good[i].seconds));
        config_free(&c);
    }
    struct config c;
    PARSE_OK(&c, "--collector.retention", "1500ms");
    assert_true(c.retention == 15000000u);
    config_free(&c);
    PARSE_OK(&c, "--web.connection-timeout", "2m");
    assert_int_equal(c.connection_timeout_s, 120);
    config_free(&c);
}

/* ---- every bad value: exact line ---- */

static void test_bad_flags_and_arguments(void **state)
{
    (void)state;
    PARSE_FAILS("unknown flag --bogus (see --help)", "--bogus");
    PARSE_FAILS("unknown flag --web.listen (see --help)", "--web.listen=:1");
    PARSE_FAILS("unexpected argument \"run\" (flags start with --; see --help)", "run");
    PARSE_FAILS("unexpected argument \"-x\" (flags start with --; see --help)", "-x");
    PARSE_FAILS("unexpected argument \"--\" (flags start with --; see --help)", "--");
    PARSE_FAILS("--etl: needs a value (FILE)", "--etl");
    PARSE_FAILS("--etl: needs a value (FILE)", "--etl", "--summary");
    PARSE_FAILS("--collector.capacity: given more than once",
                "--collector.capacity=16", "--collector.capacity=32");
    PARSE_FAILS("--console: given more than once", "--console", "--console");
    PARSE_FAILS("--summary: \"yes\" is not true or false", "--etl=a", "--summary=yes");
    PARSE_FAILS("--etl: the file name is empty", "--etl=");
}

static void test_bad_values(void **state)
{
    (void)state;
    PARSE_FAILS("--web.listen-address: \"localhost:9731\": the host must be an IP address "
                "(e.g. 127.0.0.1:9731, [::1]:9731) or empty for every interface (:9731)",
                "--web.listen-address", "localhost:9731");
    PARSE_FAILS("--web.listen-address: \"9731\" has no port; write HOST:PORT, e.g. "
                "127.0.0.1:9731 or :9731", "--web.listen-address", "9731");
    PARSE_FAILS("--web.listen-address: \"::1:9731\": put an IPv6 address in brackets, e.g. "
                "[::1]:9731", "--web.listen-address", "::1:9731");
    PARSE_FAILS("--web.listen-address: \":0\": the port must be a number from 1 to 65535",
                "--web.listen-address", ":0");
    PARSE_FAILS("--web.listen-address: \":65536\": the port must be a number from 1 to 65535",
                "--web.listen-address", ":65536");
    PARSE_FAILS("--web.listen-address: \"127.0.0.1:\": the port must be a number from 1 to "
                "65535", "--web.listen-address", "127.0.0.1:");
    PARSE_FAILS("--web.listen-address: \"256.0.0.1:80\": the host must be an IP address "
                "(e.g. 127.0.0.1:9731, [::1]:9731) or empty for every interface (:9731)",
                "--web.listen-address", "256.0.0.1:80");
    PARSE_FAILS("--web.listen-address: \"[::1]9731\" is not an address; write [IPv6]:PORT, "
                "e.g. [::1]:9731", "--web.listen-address", "[::1]9731");
    PARSE_FAILS("--web.listen-address: \"[nope]:80\": \"nope\" is not an IPv6 address",
                "--web.listen-address", "[nope]:80");
    PARSE_FAILS("--web.listen-address: \":80\" is given twice",
                "--web.listen-address", ":80", "--web.listen-address", ":80");
    PARSE_FAILS("--web.telemetry-path: \"metrics\" must start with /",
                "--web.telemetry-path", "metrics");
    PARSE_FAILS("--web.telemetry-path: \"/a b\" must not contain spaces, control characters, "
                "? or #", "--web.telemetry-path", "/a b");
    PARSE_FAILS("--web.telemetry-path: \"/health\" is already another endpoint",
                "--web.telemetry-path", "/health");
    PARSE_FAILS("--web.telemetry-path: \"/\" is already another endpoint",
                "--web.telemetry-path", "/");
    PARSE_FAILS("--web.telemetry-path: \"/api/v1/peers\" is already another endpoint",
                "--web.telemetry-path", "/api/v1/peers");
    PARSE_FAILS("--web.telemetry-path: \"/api/v1/services\" is already another endpoint",
                "--web.telemetry-path", "/api/v1/services");
    PARSE_FAILS("--web.connection-timeout: 1500ms is not a whole number of seconds",
                "--web.connection-timeout", "1500ms");
    PARSE_FAILS("--web.connection-timeout: 2d is out of range (1s to 1d)",
                "--web.connection-timeout", "2d");
    PARSE_FAILS("--web.max-connections: 0 is out of range (1 to 65536)",
                "--web.max-connections", "0");
    PARSE_FAILS("--web.max-connections: \"-1\" is not a whole number",
                "--web.max-connections", "-1");
    PARSE_FAILS("--web.max-connections-per-ip: \"1e3\" is not a whole number",
                "--web.max-connections-per-ip", "1e3");
    PARSE_FAILS("--web.max-requests-in-flight: 0 is out of range (1 to 4096)",
                "--web.max-requests-in-flight", "0");
    PARSE_FAILS("--collector.include: the pattern is empty", "--collector.include=");
    PARSE_FAILS("--collector.capacity: 15 is out of range (16 to 262144)",
                "--collector.capacity", "15");
    PARSE_FAILS("--collector.capacity: 262145 is out of range (16 to 262144)",
                "--collector.capacity", "262145");
    PARSE_FAILS("--collector.capacity: 99999999999999999999999 is out of range (16 to 262144)",
                "--collector.capacity", "99999999999999999999999");
    PARSE_FAILS("--collector.capacity: \" 64\" is not a whole number",
                "--collector.capacity", " 64");
    PARSE_FAILS("--session.kind: \"private\" is not one of auto, system-logger, kernel-logger",
                "--session.kind", "private");
    PARSE_FAILS("--session.name: the name is empty", "--session.name=");
    PARSE_FAILS("--session.buffer-size-kb: 16385 is out of range (4 to 16384)",
                "--session.buffer-size-kb", "16385");
    PARSE_FAILS("--session.min-buffers: 1 is out of range (2 to 65536)",
                "--session.min-buffers", "1");
    /* against an automatic maximum nothing is refused: the session adds headroom */
    struct config big;
    PARSE_OK(&big, "--session.min-buffers", "200");
    assert_int_equal(big.session.min_buffers, 200);
    assert_int_equal(big.session.max_buffers, 0);
    config_free(&big);
    PARSE_OK(&big, "--session.min-buffers", "auto", "--session.max-buffers", "auto");
    assert_int_equal(big.session.min_buffers, 0);
    config_free(&big);
    PARSE_FAILS("--session.min-buffers: \"many\" is not a whole number",
                "--session.min-buffers", "many");
    PARSE_FAILS("--session.min-buffers: 30 is more than --session.max-buffers (20)",
                "--session.min-buffers", "30", "--session.max-buffers", "20");
    PARSE_FAILS("--log.level: \"verbose\" is not one of error, warn, info, debug",
                "--log.level", "verbose");
    PARSE_FAILS("--summary: needs at least one --etl FILE to replay", "--summary");
    PARSE_FAILS("--etl.pace: needs at least one --etl FILE to replay", "--etl.pace", "2");
    PARSE_FAILS("--etl.loop: needs at least one --etl FILE to replay", "--etl.loop");
    PARSE_FAILS("--etl.loop: never ends, so --summary would never print", "--etl", "a.etl",
                "--etl.loop", "--summary");
    PARSE_FAILS("--etl.pace: --summary replays as fast as the files read", "--etl", "a.etl",
                "--etl.pace", "realtime", "--summary");
    PARSE_FAILS("--etl.pace: \"fast\" is not off, realtime or a speed factor from 0.001 to "
                "1000000 (such as 10 or 0.5)", "--etl", "a.etl", "--etl.pace", "fast");
    PARSE_FAILS("--help: takes no value", "--help=yes");
}

static void test_bad_durations(void **state)
{
    (void)state;
    static const char *const bad[] = { "5", "5x", "m", "1h30", "-5m", "5 m", "5M", "1.5h",
                                       "99999999999999999999s", "" };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        char expected[256];
        snprintf(expected, sizeof expected,
                 "--collector.retention: \"%s\" is not a duration; write a number and a unit "
                 "(ms, s, m, h, d), e.g. 30s, 5m, 1h", bad[i]);
        char flag[128];
        snprintf(flag, sizeof flag, "--collector.retention=%s", bad[i]);
        parse_fails(expected, (const char *const[]){ flag, NULL });
    }
    PARSE_FAILS("--collector.retention: 999ms is out of range (1s to 365d)",
                "--collector.retention", "999ms");
    PARSE_FAILS("--collector.retention: 0s is out of range (1s to 365d)",
                "--collector.retention", "0s");
    PARSE_FAILS("--collector.retention: 366d is out of range (1s to 365d)",
                "--collector.retention", "366d");
    /* overflow of the sum, not of one term */
    PARSE_FAILS("--collector.retention: \"213503982334d213503982334d\" is not a duration; "
                "write a number and a unit (ms, s, m, h, d), e.g. 30s, 5m, 1h",
                "--collector.retention", "213503982334d213503982334d");
}

/* ---- remote peers ---- */

static void test_peer_ranges(void **state)
{
    (void)state;
    PARSE_FAILS("--collector.peers.capacity: 255 is out of range (256 to 1048576)",
                "--collector.peers", "--collector.peers.capacity", "255");
    PARSE_FAILS("--collector.peers.capacity: 1048577 is out of range (256 to 1048576)",
                "--collector.peers", "--collector.peers.capacity", "1048577");
    PARSE_FAILS("--collector.peers.per-process: 0 is out of range (1 to 1024)",
                "--collector.peers", "--collector.peers.per-process", "0");
    PARSE_FAILS("--collector.peers.per-process: 1025 is out of range (1 to 1024)",
                "--collector.peers", "--collector.peers.per-process", "1025");
    PARSE_FAILS("--collector.peers.top: 1025 is out of range (0 to 1024)",
                "--collector.peers", "--collector.peers.top", "1025");
    PARSE_FAILS("--collector.peers.ipv4-prefix: 0 is out of range (1 to 32)",
                "--collector.peers", "--collector.peers.ipv4-prefix", "0");
    PARSE_FAILS("--collector.peers.ipv4-prefix: 33 is out of range (1 to 32)",
                "--collector.peers", "--collector.peers.ipv4-prefix", "33");
    PARSE_FAILS("--collector.peers.ipv6-prefix: 0 is out of range (1 to 128)",
                "--collector.peers", "--collector.peers.ipv6-prefix", "0");
    PARSE_FAILS("--collector.peers.ipv6-prefix: 129 is out of range (1 to 128)",
                "--collector.peers", "--collector.peers.ipv6-prefix", "129");
    PARSE_FAILS("--collector.peers: \"on\" is not true or false", "--collector.peers=on");
    /* the ends of each range */
    struct config c;
    PARSE_OK(&c, "--collector.peers", "--collector.peers.capacity", "256",
             "--collector.peers.per-process", "1", "--collector.peers.top", "1",
             "--collector.peers.ipv4-prefix", "1", "--collector.peers.ipv6-prefix", "1");
    assert_int_equal(c.peer_capacity, 256);
    assert_int_equal(c.peers_per_process, 1);
    assert_int_equal(c.peers_top, 1);
    assert_int_equal(c.peer_ipv4_prefix, 1);
    assert_int_equal(c.peer_ipv6_prefix, 1);
    config_free(&c);
    PARSE_OK(&c, "--collector.peers", "--collector.peers.capacity", "1048576",
             "--collector.peers.per-process", "1024", "--collector.peers.top", "1024",
             "--collector.peers.ipv4-prefix", "32", "--collector.peers.ipv6-prefix", "128");
    assert_int_equal(c.peer_capacity, 1048576);
    assert_int_equal(c.peers_per_process, 1024);
    assert_int_equal(c.peers_top, 1024);
    config_free(&c);
}

/* Peer settings without the store they shape, --peers without --summary, and more shown
 * than kept: one line each, naming the flags. */
static void test_peer_combinations(void **state)
{
    (void)state;
    static const char *const settings[] = {
        "--collector.peers.capacity=1000", "--collector.peers.per-process=8",
        "--collector.peers.top=3", "--collector.peers.ipv4-prefix=24",
        "--collector.peers.ipv6-prefix=64",
    };
    for (size_t i = 0; i < ARRAY_SIZE(settings); i++) {
        char expected[160];
        snprintf(expected, sizeof expected, "%.*s: needs --collector.peers (or --summary "
                 "--peers)", (int)(strchr(settings[i], '=') - settings[i]), settings[i]);
        parse_fails(expected, (const char *const[]){ settings[i], NULL });
        /* given at its default, on the command line, it is still refused */
        parse_fails("--collector.peers.top: needs --collector.peers (or --summary --peers)",
                    (const char *const[]){ "--collector.peers.top=10", NULL });
        parse_fails(expected, (const char *const[]){ "--collector.peers=false", settings[i],
                                                      NULL });
    }
    PARSE_FAILS("--peers: needs --summary (on /metrics, peers come with --collector.peers)",
                "--peers");
    PARSE_FAILS("--peers: needs --summary (on /metrics, peers come with --collector.peers)",
                "--collector.peers", "--peers");
    PARSE_FAILS("--collector.peers.top: 9 is more than --collector.peers.per-process (8)",
                "--collector.peers", "--collector.peers.per-process", "8",
                "--collector.peers.top", "9");

    struct config c;
    /* --summary --peers keeps a store of its own: the settings shape it */
    PARSE_OK(&c, "--etl", "a.etl", "--summary", "--peers", "--collector.peers.ipv4-prefix",
             "24");
    assert_true(c.summary_peers);
    assert_false(c.peers);
    assert_int_equal(c.peer_ipv4_prefix, 24);
    config_free(&c);
    PARSE_OK(&c, "--peers=false", "--collector.peers=false");
    assert_false(c.summary_peers);
    config_free(&c);
    /* fewer kept than the default top: every kept peer is shown */
    PARSE_OK(&c, "--collector.peers", "--collector.peers.per-process", "4");
    assert_int_equal(c.peers_per_process, 4);
    assert_int_equal(c.peers_top, 4);
    config_free(&c);
    PARSE_OK(&c, "--collector.peers", "--collector.peers.per-process", "4",
             "--collector.peers.top", "0");
    assert_int_equal(c.peers_top, 0);
    config_free(&c);
    PARSE_OK(&c, "--collector.peers", "--collector.peers.per-process", "4",
             "--collector.peers.top", "4");
    assert_int_equal(c.peers_top, 4);
    config_free(&c);
}

/* The config file: a peer key at its default is what /api/v1/status shows with peers off,
 * so it is accepted; another value without collector.peers is refused as on the command
 * line; more shown than kept is refused whichever place gave the values. */
static void test_peer_file_keys(void **state)
{
    (void)state;
    struct config c;
    const char *path = write_file("peers_default.json",
        "{\"collector.peers.top\": 10, \"collector.peers.capacity\": 16384}");
    PARSE_OK(&c, "--config.file", path);
    assert_false(c.peers);
    config_free(&c);
    path = write_file("peers_off.json", "{\"collector.peers.top\": 3}");
    PARSE_FAILS("--collector.peers.top: needs --collector.peers (or --summary --peers)",
                "--config.file", path);
    PARSE_OK(&c, "--config.file", path, "--collector.peers");
    assert_int_equal(c.peers_top, 3);
    config_free(&c);
    path = write_file("peers_top.json",
        "{\"collector.peers\": true, \"collector.peers.top\": 20}");
    PARSE_FAILS("--collector.peers.top: 20 is more than --collector.peers.per-process (16)",
                "--config.file", path, "--collector.peers.per-process", "16");

    /* peers on, read back through the file */
    struct config first, second;
    PARSE_OK(&first, "--collector.peers", "--collector.peers.per-process", "5",
             "--collector.peers.ipv6-prefix", "48");
    char *json = config_to_json(&first);
    assert_non_null(strstr(json, "\"collector.peers\":true"));
    assert_non_null(strstr(json, "\"collector.peers.top\":5"));
    assert_non_null(strstr(json, "\"collector.peers.ipv6-prefix\":48"));
    path = write_file("peers_effective.json", json);
    PARSE_OK(&second, "--config.file", path);
    char *again = config_to_json(&second);
    assert_string_equal(again, json);
    free(again);
    free(json);
    config_free(&second);
    config_free(&first);
}

/* ---- --help and --version ---- */

/* Runs config_parse with stdout sent to a file; returns what was printed. */
static char *capture_stdout(enum config_result *result, const char *const *args)
{
    const char *path = write_file("stdout.txt", "");
    FILE *sink = fopen(path, "wb");
    assert_non_null(sink);
    int saved = redirect_begin(stdout, sink);
    assert_true(saved >= 0);
    struct config c;
    char err[256];
    *result = parse_list(&c, err, sizeof err, args);
    config_free(&c);
    redirect_end(stdout, saved);
    fclose(sink);

    FILE *in = fopen(path, "rb");
    assert_non_null(in);
    static char text[16384];
    size_t n = fread(text, 1, sizeof text - 1, in);
    fclose(in);
    text[n] = '\0';
    return text;
}

static void test_help_and_version(void **state)
{
    (void)state;
    enum config_result r;
    char *text = capture_stdout(&r, (const char *const[]){ "--help", NULL });
    assert_int_equal(r, CONFIG_EXIT_OK);
    assert_non_null(strstr(text, "Usage: tcpip_exporter"));
    static const char *const every_flag[] = {
        "--web.listen-address ADDRESS", "--web.telemetry-path PATH",
        "--web.connection-timeout DURATION", "--web.max-connections N",
        "--web.max-connections-per-ip N", "--web.max-requests-in-flight N",
        "--config.file FILE", "--etl FILE", "--summary", "--collector.aggregate-by-name",
        "--collector.include GLOB", "--collector.exclude GLOB",
        "--collector.retention DURATION", "--collector.capacity ROWS", "--session.kind KIND",
        "--session.name NAME", "--session.take-over-foreign", "--session.buffer-size-kb KB",
        "--session.min-buffers N", "--session.max-buffers N", "--log.level LEVEL",
        "--console", "--help", "--version", "9731", "--collector.peers ",
        "--collector.peers.capacity PEERS", "--collector.peers.per-process PEERS",
        "--collector.peers.top N", "--collector.peers.ipv4-prefix BITS",
        "--collector.peers.ipv6-prefix BITS", "--peers ",
    };
    for (size_t i = 0; i < ARRAY_SIZE(every_flag); i++) {
        if (strstr(text, every_flag[i]) == NULL)
            fail_msg("--help does not mention %s", every_flag[i]);
    }
    for (char *line = text; *line != '\0';) {
        char *end = strchr(line, '\n');
        assert_non_null(end);
        assert_true(end - line <= 79); /* fits a terminal */
        line = end + 1;
    }

    text = capture_stdout(&r, (const char *const[]){ "-h", NULL });
    assert_int_equal(r, CONFIG_EXIT_OK);
    assert_non_null(strstr(text, "Usage: tcpip_exporter"));

    /* help answers even next to a bad flag */
    text = capture_stdout(&r, (const char *const[]){ "--bogus", "--help", NULL });
    assert_int_equal(r, CONFIG_EXIT_OK);
    assert_non_null(strstr(text, "Usage:"));

    text = capture_stdout(&r, (const char *const[]){ "--version", NULL });
    assert_int_equal(r, CONFIG_EXIT_OK);
    assert_string_equal(text, "tcpip_exporter " TEST_VERSION "\n");

    /* a failing parse prints nothing on stdout */
    text = capture_stdout(&r, (const char *const[]){ "--bogus", NULL });
    assert_int_equal(r, CONFIG_ERROR);
    assert_string_equal(text, "");
}

/* ---- the config file ---- */

static void test_file_sets_everything(void **state)
{
    (void)state;
    const char *path = write_file("all.json",
        "{\n"
        "  \"web.listen-address\": [\"127.0.0.1:9100\", \"[::1]:9101\"],\n"
        "  \"web.telemetry-path\": \"/m\",\n"
        "  \"web.connection-timeout\": \"30s\",\n"
        "  \"web.max-connections\": 50,\n"
        "  \"web.max-connections-per-ip\": \"5\",\n"
        "  \"web.max-requests-in-flight\": 3,\n"
        "  \"etl\": [\"a.etl\", \"b.etl\"],\n"
        "  \"summary\": true,\n"
        "  \"collector.aggregate-by-name\": true,\n"
        "  \"collector.include\": [\"chrome*\", \"svc?ost.exe\"],\n"
        "  \"collector.exclude\": \"System\",\n"
        "  \"collector.retention\": \"1h\",\n"
        "  \"collector.capacity\": 1000,\n"
        "  \"session.kind\": \"kernel-logger\",\n"
        "  \"session.name\": \"mine\",\n"
        "  \"session.take-over-foreign\": true,\n"
        "  \"session.buffer-size-kb\": 1024,\n"
        "  \"session.min-buffers\": 10,\n"
        "  \"session.max-buffers\": 20,\n"
        "  \"log.level\": \"debug\",\n"
        "  \"console\": true,\n"
        "  \"collector.peers\": true,\n"
        "  \"collector.peers.capacity\": 1000,\n"
        "  \"collector.peers.per-process\": 100,\n"
        "  \"collector.peers.top\": 0,\n"
        "  \"collector.peers.ipv4-prefix\": \"24\",\n"
        "  \"collector.peers.ipv6-prefix\": 64,\n"
        "  \"peers\": true\n"
        "}\n");
    struct config c;
    PARSE_OK(&c, "--config.file", path);
    check_all_flags_set(&c);
    assert_string_equal(c.config_file, path);
    config_free(&c);
}

static void test_flags_win_over_file(void **state)
{
    (void)state;
    const char *path = write_file("precedence.json",
        "{\"web.listen-address\": [\":1111\", \":2222\"], \"collector.capacity\": 64,"
        " \"collector.retention\": \"10m\", \"console\": true, \"log.level\": \"warn\","
        " \"collector.include\": [\"a*\"]}");
    struct config c;
    PARSE_OK(&c, "--web.listen-address", ":3333", "--config.file", path,
             "--collector.capacity=128", "--console=false");
    /* a list given by flags replaces the file's list, it does not extend it */
    assert_int_equal(c.listen_count, 1);
    assert_string_equal(c.listen[0], ":3333");
    assert_int_equal(c.capacity, 128);
    assert_false(c.console);
    /* what the flags left alone comes from the file */
    assert_true(c.retention == SECONDS(600));
    assert_int_equal(c.log_level, LOG_WARN);
    assert_int_equal(c.include_count, 1);
    assert_string_equal(c.include[0], "a*");
    config_free(&c);

    /* a bad value in the file is not reported when a flag overrides it */
    path = write_file("overridden.json", "{\"collector.capacity\": 3}");
    PARSE_OK(&c, "--config.file", path, "--collector.capacity", "16");
    assert_int_equal(c.capacity, 16);
    config_free(&c);

    /* checks across options see the merged result */
    path = write_file("merged.json", "{\"session.max-buffers\": 8}");
    PARSE_FAILS("--session.min-buffers: 10 is more than --session.max-buffers (8)",
                "--config.file", path, "--session.min-buffers=10");
    path = write_file("summary.json", "{\"summary\": true}");
    PARSE_OK(&c, "--config.file", path, "--etl", "x.etl");
    assert_true(c.summary);
    config_free(&c);
}

/* A config file holding content is refused with "PATH: message". */
static void file_fails(const char *name, const char *content, const char *message)
{
    const char *path = write_file(name, content);
    char expected[1280];
    snprintf(expected, sizeof expected, "%s: %s", path, message);
    PARSE_FAILS(expected, "--config.file", path);
}

static void test_file_errors(void **state)
{
    (void)state;
    file_fails("malformed.json", "{\n  \"collector.capacity\": 64,\n  \"console\": tru\n}\n",
               "not valid JSON at line 3, column 14");
    file_fails("trailing.json", "{\"console\": true} x", "not valid JSON at line 1, column 19");
    file_fails("empty.json", "", "not valid JSON at line 1, column 1");
    file_fails("array.json", "[1, 2]", "must hold a JSON object ({\"key\": value, ...})");
    file_fails("unknown.json", "{\"collector.capacity\": 64, \"web.listen\": \":1\"}",
               "unknown key \"web.listen\" (keys are the flag names without \"--\"; see "
               "--help)");
    file_fails("nested.json", "{\"config.file\": \"other.json\"}",
               "unknown key \"config.file\" (keys are the flag names without \"--\"; see "
               "--help)");
    file_fails("dup.json", "{\"collector.capacity\": 64, \"collector.capacity\": 32}",
               "key \"collector.capacity\" is given more than once");
    file_fails("badvalue.json", "{\"collector.retention\": 300}",
               "\"collector.retention\": \"300\" is not a duration; write a number and a unit "
               "(ms, s, m, h, d), e.g. 30s, 5m, 1h");
    file_fails("badswitch.json", "{\"console\": \"yes\"}", "\"console\": must be true or false");
    file_fails("fraction.json", "{\"collector.capacity\": 64.5}",
               "\"collector.capacity\": 64.5 is not a whole number");
    file_fails("object.json", "{\"web.telemetry-path\": {}}",
               "\"web.telemetry-path\": must be a string or a number");
    file_fails("listarray.json", "{\"etl\": [\"a\", 2]}",
               "\"etl\": every element must be a string");
    file_fails("badlisten.json", "{\"web.listen-address\": [\":1\", \"nope\"]}",
               "\"web.listen-address\": \"nope\" has no port; write HOST:PORT, e.g. "
               "127.0.0.1:9731 or :9731");

    char absent[1280];
    snprintf(absent, sizeof absent, "%s/absent.json", scratch_dir);
    char line[1400];
    snprintf(line, sizeof line, "--config.file: %s: cannot open: %s", absent,
             strerror(2 /* ENOENT */));
    PARSE_FAILS(line, "--config.file", absent);

    PARSE_FAILS("--config.file: the file name is empty", "--config.file=");
}

/* Issue 14: a NUL read as the end of a key or value, numbers and nesting misreported, a
 * directory or device said to be unreadable. */
static void test_file_refusals_say_what_is_wrong(void **state)
{
    (void)state;
    file_fails("nulkey.json", "{\"collector.capacity\\u0000x\": 64}",
               "line 1, column 21: a NUL character (\\u0000 or a zero byte), which no key "
               "or value may hold");
    file_fails("nulvalue.json", "{\n \"etl\": [\"a.etl\\u0000.txt\"]}",
               "line 2, column 16: a NUL character (\\u0000 or a zero byte), which no key "
               "or value may hold");
    const char *escaped = write_file("backslash.json", "{\"session.name\": \"a\\\\u0000\"}");
    struct config c;
    PARSE_OK(&c, "--config.file", escaped); /* an escaped backslash, then text: no NUL */
    assert_string_equal(c.session.session_name, "a\\u0000");
    config_free(&c);
    file_fails("big.json", "{\"collector.capacity\": 4294967296}",
               "\"collector.capacity\": 4294967296 is out of range (16 to 262144)");
    file_fails("negative.json", "{\"collector.capacity\": -1}",
               "\"collector.capacity\": -1 is out of range (16 to 262144)");
    file_fails("huge.json", "{\"collector.capacity\": 1e300}",
               "\"collector.capacity\": 1e+300 is out of range (16 to 262144)");
    PARSE_FAILS("--collector.capacity: 99999999999999999999 is out of range (16 to 262144)",
                "--collector.capacity", "99999999999999999999");

    enum { DEPTH = 10000 };
    static char deep[2 * DEPTH + 16];
    size_t n = (size_t)snprintf(deep, sizeof deep, "{\"etl\":");
    memset(deep + n, '[', DEPTH);
    memset(deep + n + DEPTH, ']', DEPTH);
    snprintf(deep + n + 2 * DEPTH, sizeof deep - n - 2 * DEPTH, "}");
    file_fails("deep.json", deep, "line 1, column 1007: nested deeper than 1000 levels");
}

static void test_file_raw_nul_and_not_regular(void **state)
{
    (void)state;
    char path[1280], line[1400];
    snprintf(path, sizeof path, "%s/rawnul.json", scratch_dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite("{\"console\": true\0}", 1, 18, f), 18);
    assert_int_equal(fclose(f), 0);
    snprintf(line, sizeof line, "%s: line 1, column 17: a NUL character (\\u0000 or a zero "
             "byte), which no key or value may hold", path);
    PARSE_FAILS(line, "--config.file", path);

    snprintf(line, sizeof line, "--config.file: %s: is a directory", scratch_dir);
    PARSE_FAILS(line, "--config.file", scratch_dir);
#ifdef _WIN32
    const char *device = "NUL";
#else
    const char *device = "/dev/null";
#endif
    snprintf(line, sizeof line, "--config.file: %s: is not a regular file (a FIFO, device or "
             "socket)", device);
    PARSE_FAILS(line, "--config.file", device);
}

static void test_file_strings_outlive_the_file(void **state)
{
    (void)state;
    const char *path = write_file("strings.json",
        "{\"etl\": [\"from-file.etl\"], \"session.name\": \"n\", \"web.telemetry-path\": \"/x\"}");
    struct config c;
    PARSE_OK(&c, "--config.file", path);
    /* the file is gone from memory and disk; the strings must still be there */
    remove(path);
    assert_string_equal(c.etl_files[0], "from-file.etl");
    assert_string_equal(c.session.session_name, "n");
    assert_string_equal(c.telemetry_path, "/x");
    assert_non_null(c.owned_strings);
    config_free(&c);
    assert_null(c.owned_strings);
    config_free(&c); /* twice is harmless */
}

/* ---- the config in effect ---- */

static void test_config_json_reads_back(void **state)
{
    (void)state;
    struct config first;
    PARSE_OK(&first, "--web.listen-address", "127.0.0.1:9100", "--web.listen-address",
             "[::1]:9101", "--collector.retention", "1h30m", "--collector.include", "a\"b*",
             "--session.kind", "system-logger", "--log.level", "warn", "--etl", "x.etl",
             "--web.connection-timeout", "1m", "--collector.aggregate-by-name");
    char *json = config_to_json(&first);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"collector.retention\":\"90m\""));
    assert_non_null(strstr(json, "\"web.listen-address\":[\"127.0.0.1:9100\",\"[::1]:9101\"]"));
    assert_non_null(strstr(json, "\"collector.include\":[\"a\\\"b*\"]"));
    assert_non_null(strstr(json, "\"session.kind\":\"system-logger\""));

    const char *path = write_file("effective.json", json);
    struct config second;
    PARSE_OK(&second, "--config.file", path);
    char *again = config_to_json(&second);
    assert_string_equal(again, json);
    free(again);
    free(json);
    config_free(&second);
    config_free(&first);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        scratch_dir = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_flag_separate_value),
        cmocka_unit_test(test_every_flag_equals_form),
        cmocka_unit_test(test_replay_pace_and_loop),
        cmocka_unit_test(test_switch_false_and_values_with_equals),
        cmocka_unit_test(test_session_kinds_and_levels),
        cmocka_unit_test(test_listen_address_forms),
        cmocka_unit_test(test_repeatables_keep_order_and_cap),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_bad_flags_and_arguments),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_bad_durations),
        cmocka_unit_test(test_peer_ranges),
        cmocka_unit_test(test_peer_combinations),
        cmocka_unit_test(test_peer_file_keys),
        cmocka_unit_test(test_help_and_version),
        cmocka_unit_test(test_file_sets_everything),
        cmocka_unit_test(test_flags_win_over_file),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_file_refusals_say_what_is_wrong),
        cmocka_unit_test(test_file_raw_nul_and_not_regular),
        cmocka_unit_test(test_file_strings_outlive_the_file),
        cmocka_unit_test(test_config_json_reads_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
