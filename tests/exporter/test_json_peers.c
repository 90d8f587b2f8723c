/* /api/v1/peers and /api/v1/processes?peers=N on a real table: facts with endpoints go
 * through process_table_apply as the decoder's would, then the JSON is parsed back and
 * checked: the peer objects, every filter, sort and limit, stored prefixes, IPv6 text,
 * the per-process sums over peers and other, and the parameters' refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "json.h"
#include "json_peers.h"
#include "metric_names.h"
#include "table_fill.h"

#define T1 (FILL_T0 + FILL_SECOND)

/* IPv6 endpoints: local 2001:db8:ffff::5, remote given. */
static struct fill_endpoints endpoints_v6(const uint8_t remote[16], uint16_t remote_port,
                                          uint16_t local_port)
{
    struct fill_endpoints ep = {.remote_port = remote_port, .local_port = local_port};
    memcpy(ep.remote6, remote, 16);
    static const uint8_t local[16] = {0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, [15] = 5};
    memcpy(ep.local6, local, 16);
    return ep;
}

static const uint8_t DOC_HOST[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};   /* 2001:db8::1 */
static const uint8_t MAPPED[16] = {[10] = 0xff, [11] = 0xff, 1, 2, 3, 4}; /* ::ffff:1.2.3.4 */

/* client.exe (100): TCP out to 10.1.2.3:443 (retransmitting) and 10.1.9.9:80, to
 * [2001:db8::1]:443, to ::ffff:1.2.3.4:8443, UDP to and from 8.8.8.8:53.
 * server.exe (200, hosts WebSvc): accepts on 8080 from 192.168.1.7:50001.
 * many.exe (300): 7 peers, keeps 5: the two least recently active are folded into other. */
static void fill_client(struct process_table *table)
{
    fill_start(table, 100, "client.exe", 0x100, FILL_T0);
    struct fill_endpoints a = fill_endpoints_v4(0x0A010203, 443, 50000);
    fill_net_peer(table, NET_TCP_CONNECT, FAMILY_IPV4, 100, 0, &a, T1);
    fill_net_peer(table, NET_TCP_SEND, FAMILY_IPV4, 100, 1000, &a, T1 + 1);
    fill_net_peer(table, NET_TCP_RECV, FAMILY_IPV4, 100, 5000, &a, T1 + 2);
    fill_net_peer(table, NET_TCP_RETRANSMIT, FAMILY_IPV4, 100, 100, &a, T1 + 3);
    fill_net_peer(table, NET_TCP_RETRANSMIT, FAMILY_IPV4, 100, 100, &a, T1 + 4);
    struct fill_endpoints b = fill_endpoints_v4(0x0A010909, 80, 50001);
    fill_net_peer(table, NET_TCP_CONNECT, FAMILY_IPV4, 100, 0, &b, T1 + 5);
    fill_net_peer(table, NET_TCP_SEND, FAMILY_IPV4, 100, 10, &b, T1 + 6);
    fill_net_peer(table, NET_TCP_RECV, FAMILY_IPV4, 100, 20, &b, T1 + 7);
    struct fill_endpoints c = endpoints_v6(DOC_HOST, 443, 50002);
    fill_net_peer(table, NET_TCP_CONNECT, FAMILY_IPV6, 100, 0, &c, T1 + 8);
    fill_net_peer(table, NET_TCP_SEND, FAMILY_IPV6, 100, 300, &c, T1 + 9);
    struct fill_endpoints d = endpoints_v6(MAPPED, 8443, 50003);
    fill_net_peer(table, NET_TCP_SEND, FAMILY_IPV6, 100, 7, &d, T1 + 10);
    struct fill_endpoints dns = fill_endpoints_v4(0x08080808, 53, 55555);
    fill_net_peer(table, NET_UDP_SEND, FAMILY_IPV4, 100, 40, &dns, T1 + 11);
    fill_net_peer(table, NET_UDP_RECV, FAMILY_IPV4, 100, 120, &dns, T1 + 12);
    /* a copy has no peer: process counters only */
    fill_net(table, NET_TCP_COPY, FAMILY_IPV4, 100, 55, T1 + 13);
}

static void fill_server_and_many(struct process_table *table)
{
    fill_start(table, 200, "server.exe", 0x200, FILL_T0);
    fill_service(table, 200, 4, "WebSvc", "Web Service", FILL_T0);
    process_table_housekeep(table, FILL_T0);
    struct fill_endpoints in = fill_endpoints_v4(0xC0A80107, 50001, 8080);
    fill_net_peer(table, NET_TCP_ACCEPT, FAMILY_IPV4, 200, 0, &in, T1);
    fill_net_peer(table, NET_TCP_RECV, FAMILY_IPV4, 200, 700, &in, T1 + 1);
    fill_net_peer(table, NET_TCP_DISCONNECT, FAMILY_IPV4, 200, 0, &in, T1 + 2);

    fill_start(table, 300, "many.exe", 0x300, FILL_T0);
    for (uint32_t p = 0; p < 7; p++) {
        struct fill_endpoints ep = fill_endpoints_v4(0xAC100001 + p, 443, (uint16_t)(51000 + p));
        fill_net_peer(table, NET_TCP_CONNECT, FAMILY_IPV4, 300, 0, &ep, T1 + 10 * p);
        fill_net_peer(table, NET_TCP_SEND, FAMILY_IPV4, 300, 10 + p, &ep, T1 + 10 * p + 1);
    }
}

/* shown 0: every peer is shown, so no peer is ever promoted (a promotion moves its counts
 * so far into other and restarts it: exact sums, but other numbers) */
static struct process_table *peers_table(uint8_t ipv4_prefix, uint8_t ipv6_prefix,
                                         uint32_t shown)
{
    struct process_table_config config = {
        .capacity = 16, .retention = 60 * FILL_SECOND, .peer_capacity = 64,
        .peers_per_process = 5, .peers_shown = shown, .peer_ipv4_prefix = ipv4_prefix,
        .peer_ipv6_prefix = ipv6_prefix,
    };
    struct process_table *table = process_table_create(&config);
    assert_non_null(table);
    assert_true(process_table_peers_enabled(table));
    fill_client(table);
    fill_server_and_many(table);
    process_table_housekeep(table, T1 + 100);
    return table;
}

static void setup_query(struct peer_query *q, va_list args)
{
    char err[256];
    peer_query_init(q);
    for (const char *key; (key = va_arg(args, const char *)) != NULL;) {
        const char *value = va_arg(args, const char *);
        if (!peer_query_set(q, key, value, err, sizeof err))
            fail_msg("%s=%s refused: %s", key, value, err);
    }
}

/* /api/v1/peers for parameters key, value, ..., NULL; parsed. */
static cJSON *query_peers(const struct process_table *table, ...)
{
    struct render_options options = { 0 };
    struct peer_query q;
    va_list args;
    va_start(args, table);
    setup_query(&q, args);
    va_end(args);
    char *text = json_render_peers(table, &options, &q);
    assert_non_null(text);
    cJSON *root = cJSON_Parse(text);
    free(text);
    assert_non_null(root);
    return root;
}

static cJSON *peers_of(cJSON *root)
{
    cJSON *peers = cJSON_GetObjectItemCaseSensitive(root, "peers");
    assert_true(cJSON_IsArray(peers));
    return peers;
}

static const char *str(const cJSON *object, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
    if (!cJSON_IsString(item))
        fail_msg("no string %s", key);
    return item->valuestring;
}

static double num(const cJSON *object, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
    if (!cJSON_IsNumber(item))
        fail_msg("no number %s", key);
    return item->valuedouble;
}

static double counter(const cJSON *peer, const char *key)
{
    return num(cJSON_GetObjectItemCaseSensitive(peer, "counters"), key);
}

/* The peer with this remote text, or NULL. */
static const cJSON *peer_at(const cJSON *peers, const char *remote)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, peers) {
        if (strcmp(str(p, "remote"), remote) == 0)
            return p;
    }
    return NULL;
}

/* The remote texts of the listed peers, joined with spaces. */
static void remotes(const cJSON *root, char *out, size_t size)
{
    const cJSON *p;
    size_t used = 0;
    out[0] = '\0';
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(root, "peers")) {
        used += (size_t)snprintf(out + used, size - used, "%s%s", used ? " " : "",
                                 str(p, "remote"));
        assert_true(used < size);
    }
}

static void assert_remotes(const struct process_table *table, const char *expected, ...)
{
    struct render_options options = { 0 };
    struct peer_query q;
    va_list args;
    va_start(args, expected);
    setup_query(&q, args);
    va_end(args);
    char *text = json_render_peers(table, &options, &q);
    cJSON *root = cJSON_Parse(text);
    assert_non_null(root);
    char got[512];
    remotes(root, got, sizeof got);
    assert_string_equal(got, expected);
    cJSON_Delete(root);
    free(text);
}

static void peer_objects(void **state)
{
    (void)state;
    struct process_table *table = peers_table(0, 0, 0);
    cJSON *root = query_peers(table, "pid", "100", NULL);
    const cJSON *peers = peers_of(root);
    assert_int_equal(cJSON_GetArraySize(peers), 5);   /* 4 TCP, 1 UDP */
    assert_int_equal(num(root, "matched"), 5);

    const cJSON *a = peer_at(peers, "10.1.2.3");
    assert_non_null(a);
    assert_string_equal(str(a, "process"), "client.exe");
    assert_int_equal(num(a, "pid"), 100);
    assert_string_equal(str(a, "protocol"), "tcp");
    assert_string_equal(str(a, "family"), "ipv4");
    assert_string_equal(str(a, "direction"), "outbound");
    assert_int_equal(num(a, "port"), 443);
    assert_int_equal(num(a, "remote_port"), 443);
    assert_int_equal(num(a, "local_port"), 50000);
    assert_string_equal(str(a, "first_seen"), "2024-01-01T00:00:01.0000000Z");
    assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(a, "last_seen")));
    assert_true(cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(a, "shown")));
    assert_int_equal(num(a, "total_bytes"), 6000);
    assert_true(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(a, "services")));
    const cJSON *counters = cJSON_GetObjectItemCaseSensitive(a, "counters");
    assert_int_equal(cJSON_GetArraySize(counters), PEER_CTR_COUNT);   /* TCP: every one */
    assert_int_equal(counter(a, "sent_bytes"), 1000);
    assert_int_equal(counter(a, "received_bytes"), 5000);
    assert_int_equal(counter(a, "retransmits"), 2);
    assert_int_equal(counter(a, "retransmitted_bytes"), 200);
    assert_int_equal(counter(a, "connects"), 1);

    /* UDP: the sender of a receive is the remote (its destination is the local socket) */
    const cJSON *dns = peer_at(peers, "8.8.8.8");
    assert_non_null(dns);
    assert_string_equal(str(dns, "protocol"), "udp");
    assert_int_equal(num(dns, "port"), 53);
    assert_int_equal(num(dns, "local_port"), 55555);
    assert_int_equal(counter(dns, "sent_bytes"), 40);
    assert_int_equal(counter(dns, "received_bytes"), 120);
    assert_int_equal(counter(dns, "receive_events"), 1);
    int covered = 0;
    for (int c = 0; c < PEER_CTR_COUNT; c++)
        covered += peer_process_counter(PEER_UDP, (enum peer_counter)c) >= 0;
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(dns, "counters")),
                     covered);
    assert_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(dns, "counters"),
                                                 "connects"));

    /* IPv6 in RFC 5952 text, the mapped form with its quad */
    const cJSON *v6 = peer_at(peers, "2001:db8::1");
    assert_non_null(v6);
    assert_string_equal(str(v6, "family"), "ipv6");
    assert_non_null(peer_at(peers, "::ffff:1.2.3.4"));

    /* without a top N every peer is shown */
    const cJSON *p;
    cJSON_ArrayForEach(p, peers)
        assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "shown")));

    /* the accepted connection: inbound, named by the local port */
    cJSON_Delete(root);
    root = query_peers(table, "process", "server.exe", NULL);
    peers = peers_of(root);
    assert_int_equal(cJSON_GetArraySize(peers), 1);
    const cJSON *in = cJSON_GetArrayItem(peers, 0);
    assert_string_equal(str(in, "remote"), "192.168.1.7");
    assert_string_equal(str(in, "direction"), "inbound");
    assert_int_equal(num(in, "port"), 8080);
    assert_int_equal(num(in, "remote_port"), 50001);
    assert_int_equal(counter(in, "accepts"), 1);
    assert_int_equal(counter(in, "disconnects"), 1);
    assert_string_equal(str(in, "service"), "WebSvc");
    cJSON_Delete(root);
    process_table_destroy(table);
}

static void filters(void **state)
{
    (void)state;
    struct process_table *table = peers_table(0, 0, 0);
    assert_remotes(table, "10.1.2.3 10.1.9.9", "remote", "10.1.0.0/16", NULL);
    assert_remotes(table, "10.1.9.9", "remote", "10.1.9.9", NULL);
    assert_remotes(table, "10.1.2.3 10.1.9.9", "remote", "10.1.2.3/20", NULL); /* host bits */
    assert_remotes(table, "", "remote", "10.1.2.4", NULL);
    assert_remotes(table, "2001:db8::1", "remote", "[2001:db8::]/32", NULL);
    assert_remotes(table, "::ffff:1.2.3.4", "remote", "::ffff:0:0/96", NULL);
    assert_remotes(table, "10.1.2.3 2001:db8::1", "pid", "100", "port", "443", NULL);
    assert_remotes(table, "8.8.8.8", "protocol", "udp", NULL);
    assert_remotes(table, "2001:db8::1 ::ffff:1.2.3.4", "family", "ipv6", NULL);
    assert_remotes(table, "192.168.1.7", "direction", "inbound", NULL);
    assert_remotes(table, "192.168.1.7", "service", "websvc", NULL);
    assert_remotes(table, "192.168.1.7", "process", "SERVER.*", NULL);
    assert_remotes(table, "", "process", "server.exe", "protocol", "udp", NULL);
    assert_remotes(table, "", "pid", "7", NULL);
    assert_remotes(table, "10.1.9.9", "pid", "100", "protocol", "tcp", "family", "ipv4",
                   "direction", "outbound", "port", "80", NULL);

    /* the processes part follows the process filters, not the peer filters */
    cJSON *root = query_peers(table, "remote", "10.1.2.3", NULL);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "processes")), 3);
    cJSON_Delete(root);
    root = query_peers(table, "service", "WebSvc", NULL);
    const cJSON *processes = cJSON_GetObjectItemCaseSensitive(root, "processes");
    assert_int_equal(cJSON_GetArraySize(processes), 1);
    assert_int_equal(num(cJSON_GetArrayItem(processes, 0), "pid"), 200);
    cJSON_Delete(root);

    /* include/exclude of the exporter apply as on every other output */
    const char *exclude[] = { "client.exe" };
    struct render_options options = { .exclude = exclude, .exclude_count = 1 };
    struct peer_query q;
    peer_query_init(&q);
    char *text = json_render_peers(table, &options, &q);
    assert_null(strstr(text, "client.exe"));
    assert_non_null(strstr(text, "server.exe"));
    free(text);
    process_table_destroy(table);
}

static void sort_and_limit(void **state)
{
    (void)state;
    struct process_table *table = peers_table(0, 0, 0);
    /* "top 10 remote hosts by retransmits" */
    assert_remotes(table, "10.1.2.3", "sort", "retransmits", "limit", "1", NULL);
    cJSON *root = query_peers(table, "sort", "total_bytes", "limit", "3", NULL);
    const cJSON *peers = peers_of(root);
    assert_int_equal(cJSON_GetArraySize(peers), 3);
    assert_int_equal(num(root, "matched"), 11);   /* 5 + 1 + 5 kept by many.exe */
    assert_string_equal(str(cJSON_GetArrayItem(peers, 0), "remote"), "10.1.2.3");
    assert_string_equal(str(cJSON_GetArrayItem(peers, 1), "remote"), "192.168.1.7");
    assert_string_equal(str(cJSON_GetArrayItem(peers, 2), "remote"), "2001:db8::1");
    cJSON_Delete(root);

    /* descending by any counter, ties by pid, instance and first seen */
    for (int c = 0; c < PEER_CTR_COUNT; c++) {
        root = query_peers(table, "sort", peer_counter_key((enum peer_counter)c), NULL);
        const cJSON *p;
        double previous = -1;
        double previous_pid = 0;
        cJSON_ArrayForEach(p, peers_of(root)) {
            const cJSON *counters = cJSON_GetObjectItemCaseSensitive(p, "counters");
            const char *key = peer_counter_key((enum peer_counter)c);
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(counters, key);
            double value = cJSON_IsNumber(v) ? v->valuedouble : 0;  /* UDP lacks some */
            if (previous >= 0) {
                assert_true(value <= previous);
                if (value == previous)
                    assert_true(num(p, "pid") >= previous_pid);
            }
            previous = value;
            previous_pid = num(p, "pid");
        }
        cJSON_Delete(root);
    }
    /* no sort: pid order, then the order peers appeared */
    assert_remotes(table, "10.1.2.3 10.1.9.9 2001:db8::1 ::ffff:1.2.3.4 8.8.8.8",
                   "pid", "100", NULL);
    root = query_peers(table, NULL);
    double previous_pid = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, peers_of(root)) {
        assert_true(num(p, "pid") >= previous_pid);
        previous_pid = num(p, "pid");
    }
    cJSON_Delete(root);
    process_table_destroy(table);
}

/* For one process entry: the sums over all its peers plus other equal its counters, for
 * each covered counter of each family. */
static void assert_sums(const cJSON *process, const cJSON *peers)
{
    double pid = num(process, "pid");
    const cJSON *other = cJSON_GetObjectItemCaseSensitive(process, "other");
    const cJSON *counters = cJSON_GetObjectItemCaseSensitive(process, "counters");
    for (int f = 0; f < FAMILY_COUNT; f++) {
        const char *family = family_label((enum ip_family)f);
        for (int pr = 0; pr < PEER_PROTOCOL_COUNT; pr++) {
            const char *protocol = peer_protocol_label((enum peer_protocol)pr);
            for (int c = 0; c < PEER_CTR_COUNT; c++) {
                int to = peer_process_counter((enum peer_protocol)pr, (enum peer_counter)c);
                if (to < 0)
                    continue;
                const char *key = peer_counter_key((enum peer_counter)c);
                double sum = num(cJSON_GetObjectItemCaseSensitive(
                                     cJSON_GetObjectItemCaseSensitive(other, family), protocol),
                                 key);
                const cJSON *p;
                cJSON_ArrayForEach(p, peers) {
                    if (num(p, "pid") == pid && strcmp(str(p, "family"), family) == 0 &&
                        strcmp(str(p, "protocol"), protocol) == 0)
                        sum += counter(p, key);
                }
                double own = num(cJSON_GetObjectItemCaseSensitive(counters, family),
                                 counter_names[to].json_key);
                if (sum != own)
                    fail_msg("pid %.0f %s %s %s: peers + other %.0f, process %.0f", pid,
                             family, protocol, key, sum, own);
            }
        }
    }
}

static void sums_and_other(void **state)
{
    (void)state;
    struct process_table *table = peers_table(0, 0, 0);
    cJSON *root = query_peers(table, NULL);
    const cJSON *processes = cJSON_GetObjectItemCaseSensitive(root, "processes");
    assert_int_equal(cJSON_GetArraySize(processes), 3);
    const cJSON *process;
    cJSON_ArrayForEach(process, processes)
        assert_sums(process, peers_of(root));

    /* many.exe kept 5 of its 7: the two least recently active are in other */
    const cJSON *many = cJSON_GetArrayItem(processes, 2);
    assert_int_equal(num(many, "pid"), 300);
    assert_int_equal(num(many, "peers"), 5);
    const cJSON *tcp4 = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(many, "other"),
                                         "ipv4"), "tcp");
    assert_int_equal(num(tcp4, "sent_bytes"), 10 + 11);
    assert_int_equal(num(tcp4, "connects"), 2);
    assert_null(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(many, "other"), "ipv4"), "udp"), "connects"));
    /* the copy of client.exe is in its counters, and no peer has it */
    const cJSON *client = cJSON_GetArrayItem(processes, 0);
    assert_int_equal(num(cJSON_GetObjectItemCaseSensitive(
                             cJSON_GetObjectItemCaseSensitive(client, "counters"), "ipv4"),
                         "tcp_copied_bytes"), 55);

    const cJSON *store = cJSON_GetObjectItemCaseSensitive(root, "store");
    assert_int_equal(num(store, "in_use"), 11);
    assert_int_equal(num(store, "capacity"), 64);
    assert_int_equal(num(store, "evicted"), 2);
    assert_int_equal(num(store, "refused"), 0);
    assert_int_equal(num(store, "ipv4_prefix"), 32);
    assert_int_equal(num(store, "ipv6_prefix"), 128);
    cJSON_Delete(root);
    process_table_destroy(table);
}

/* With a top 2, a busier peer takes a shown place: its counts so far move into other and it
 * restarts. The sums still hold, and no process shows more than 2. */
static void shown_places(void **state)
{
    (void)state;
    struct process_table *table = peers_table(0, 0, 2);
    cJSON *root = query_peers(table, NULL);
    const cJSON *process;
    cJSON_ArrayForEach(process, cJSON_GetObjectItemCaseSensitive(root, "processes")) {
        assert_sums(process, peers_of(root));
        int shown = 0;
        const cJSON *p;
        cJSON_ArrayForEach(p, peers_of(root)) {
            if (num(p, "pid") == num(process, "pid"))
                shown += cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "shown"));
        }
        assert_true(shown >= 1 && shown <= 2);
    }
    /* 2001:db8::1 (300 bytes) took the place of 10.1.9.9 (30 bytes) */
    const cJSON *v6 = peer_at(peers_of(root), "2001:db8::1");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v6, "shown")));
    assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
        peer_at(peers_of(root), "10.1.9.9"), "shown")));
    assert_true(num(cJSON_GetObjectItemCaseSensitive(root, "store"), "swaps") >= 1);
    cJSON_Delete(root);
    process_table_destroy(table);
}

static void stored_prefixes(void **state)
{
    (void)state;
    struct process_table *table = peers_table(24, 64, 0);
    cJSON *root = query_peers(table, "pid", "100", NULL);
    const cJSON *peers = peers_of(root);
    /* 10.1.2.3 and 10.1.9.9 are two /24s; the two IPv6 hosts two /64s */
    assert_non_null(peer_at(peers, "10.1.2.0/24"));
    assert_non_null(peer_at(peers, "10.1.9.0/24"));
    assert_non_null(peer_at(peers, "2001:db8::/64"));
    assert_non_null(peer_at(peers, "::/64"));   /* ::ffff:1.2.3.4 kept to its /64 */
    assert_non_null(peer_at(peers, "8.8.8.0/24"));
    const cJSON *store = cJSON_GetObjectItemCaseSensitive(root, "store");
    assert_int_equal(num(store, "ipv4_prefix"), 24);
    assert_int_equal(num(store, "ipv6_prefix"), 64);
    cJSON_Delete(root);
    /* a host filter finds the /24 that holds it; a wider one every /24 inside */
    assert_remotes(table, "10.1.2.0/24", "remote", "10.1.2.200", NULL);
    assert_remotes(table, "10.1.2.0/24 10.1.9.0/24", "remote", "10.1.0.0/16", NULL);
    assert_remotes(table, "", "remote", "10.1.3.0/24", NULL);
    assert_remotes(table, "2001:db8::/64", "remote", "2001:db8::abcd", NULL);
    process_table_destroy(table);
}

/* /api/v1/processes for parameters key, value, ..., NULL; parsed. */
static cJSON *query_processes(const struct process_table *table, ...)
{
    struct render_options options = { 0 };
    struct process_query q;
    char err[256];
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

static void processes_with_peers(void **state)
{
    (void)state;
    struct process_table *table = peers_table(0, 0, 0);
    cJSON *array = query_processes(table, "peers", "2", "sort", "total_bytes", NULL);
    assert_int_equal(cJSON_GetArraySize(array), 3);
    const cJSON *client = cJSON_GetArrayItem(array, 0);
    assert_int_equal(num(client, "pid"), 100);
    const cJSON *peers = cJSON_GetObjectItemCaseSensitive(client, "peers");
    assert_int_equal(cJSON_GetArraySize(peers), 2);   /* top 2 by bytes */
    assert_string_equal(str(cJSON_GetArrayItem(peers, 0), "remote"), "10.1.2.3");
    assert_string_equal(str(cJSON_GetArrayItem(peers, 1), "remote"), "2001:db8::1");
    assert_string_equal(str(cJSON_GetArrayItem(peers, 0), "process"), "client.exe");
    assert_int_equal(counter(cJSON_GetArrayItem(peers, 0), "received_bytes"), 5000);
    const cJSON *row;
    cJSON_ArrayForEach(row, array)
        assert_true(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(row, "peers")) <= 2);
    cJSON_Delete(array);

    /* the bound reaches every peer a process keeps; without peers= no key */
    array = query_processes(table, "peers", "1024", "pid", "300", NULL);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
                         cJSON_GetArrayItem(array, 0), "peers")), 5);
    cJSON_Delete(array);
    array = query_processes(table, "pid", "300", NULL);
    assert_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(array, 0), "peers"));
    cJSON_Delete(array);
    array = query_processes(table, "peers", "0", "pid", "300", NULL);
    assert_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(array, 0), "peers"));
    cJSON_Delete(array);
    process_table_destroy(table);

    /* a table without peers still renders rows (the server refuses peers= before) */
    struct process_table_config config = { .capacity = 16 };
    table = process_table_create(&config);
    fill_start(table, 5, "plain.exe", 5, FILL_T0);
    fill_net(table, NET_TCP_SEND, FAMILY_IPV4, 5, 10, T1);
    assert_false(process_table_peers_enabled(table));
    array = query_processes(table, "peers", "3", NULL);
    assert_int_equal(cJSON_GetArraySize(array), 1);
    assert_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(array, 0), "peers"));
    cJSON_Delete(array);
    process_table_destroy(table);
    assert_non_null(strstr(PEERS_OFF_MESSAGE, "--collector.peers"));
}

static void query_refusals(void **state)
{
    (void)state;
    struct peer_query q;
    char err[256];
    peer_query_init(&q);
    assert_true(peer_query_set(&q, "remote", "[2001:db8::]/48", err, sizeof err));
    assert_true(q.has_remote && q.remote.prefix_len == 48);
    assert_true(peer_query_set(&q, "port", "65535", err, sizeof err));
    assert_int_equal(q.port, 65535);
    assert_true(peer_query_set(&q, "protocol", "udp", err, sizeof err));
    assert_int_equal(q.protocol, PEER_UDP);
    assert_true(peer_query_set(&q, "family", "ipv6", err, sizeof err));
    assert_int_equal(q.family, FAMILY_IPV6);
    assert_true(peer_query_set(&q, "direction", "inbound", err, sizeof err));
    assert_int_equal(q.direction, PEER_INBOUND);
    assert_true(peer_query_set(&q, "sort", "retransmitted_bytes", err, sizeof err));
    assert_int_equal(q.sort, PEER_RETRANSMIT_BYTES);
    assert_false(peer_query_set(&q, "port", "1", err, sizeof err));
    assert_non_null(strstr(err, "twice"));

    static const struct { const char *key, *value, *says; } bad[] = {
        { "remote", "10.1.2.3/33", "remote" }, { "remote", "010.1.2.3", "remote" },
        { "remote", "fe80::1%eth0", "remote" }, { "remote", "", "remote" },
        { "remote", NULL, "remote" }, { "remote", "example.com", "remote" },
        { "port", "65536", "port" }, { "port", "-1", "port" }, { "port", "", "port" },
        { "port", "80 ", "port" }, { "protocol", "TCP", "protocol" },
        { "protocol", "icmp", "protocol" }, { "family", "inet", "family" },
        { "direction", "in", "direction" }, { "direction", NULL, "direction" },
        { "sort", "tcp_sent_bytes", "sort" }, { "sort", "copies", "sort" },
        { "limit", "0", "limit" }, { "limit", "1000001", "limit" }, { "pid", "x", "pid" },
        { "process", "", "process" }, { "service", NULL, "service" },
        { "name", "x.exe", "name" }, { "peers", "3", "peers" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        peer_query_init(&q);
        err[0] = '\0';
        if (peer_query_set(&q, bad[i].key, bad[i].value, err, sizeof err))
            fail_msg("%s=%s accepted", bad[i].key, bad[i].value ? bad[i].value : "(none)");
        if (strstr(err, bad[i].says) == NULL)
            fail_msg("%s=%s: message '%s' does not name %s", bad[i].key,
                     bad[i].value ? bad[i].value : "(none)", err, bad[i].says);
    }
    /* ?peers=N of /api/v1/processes */
    struct process_query pq;
    process_query_init(&pq);
    assert_true(process_query_set(&pq, "peers", "1024", err, sizeof err));
    assert_int_equal(pq.peers, 1024);
    process_query_init(&pq);
    assert_false(process_query_set(&pq, "peers", "1025", err, sizeof err));
    assert_non_null(strstr(err, "peers"));
    process_query_init(&pq);
    assert_false(process_query_set(&pq, "peers", NULL, err, sizeof err));
    process_query_init(&pq);
    assert_false(process_query_set(&pq, "remote", "10.0.0.0/8", err, sizeof err));
}

/* The API's keys are the tcpip_peer_* families' and the TCP process counters' without
 * "tcp_": one name per counter everywhere. */
static void counter_keys(void **state)
{
    (void)state;
    for (int c = 0; c < PEER_CTR_COUNT; c++) {
        const char *key = peer_counter_key((enum peer_counter)c);
        int to = peer_process_counter(PEER_TCP, (enum peer_counter)c);
        assert_true(to >= 0);
        assert_string_equal(counter_names[to].json_key + 4, key);
        assert_int_equal(peer_counter_from_key(key), c);
    }
    assert_int_equal(peer_counter_from_key("bytes"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(peer_objects),
        cmocka_unit_test(filters),
        cmocka_unit_test(sort_and_limit),
        cmocka_unit_test(sums_and_other),
        cmocka_unit_test(shown_places),
        cmocka_unit_test(stored_prefixes),
        cmocka_unit_test(processes_with_peers),
        cmocka_unit_test(query_refusals),
        cmocka_unit_test(counter_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
