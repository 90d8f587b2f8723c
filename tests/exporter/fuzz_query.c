/* libFuzzer target: the queries of /api/v1/processes and /api/v1/peers and the JSON they
 * produce.
 *
 * Input: up to the first NUL, a query string "key=value&key=value..." (split as the server
 * receives it from libmicrohttpd, already decoded: the first '=' ends the key, a pair with
 * no '=' has no value); after the NUL, the image name of one more process, any bytes. The
 * pairs go through process_query_set, and separately through peer_query_set, in order,
 * stopping at the first refusal as the server does; then for each either json_render_error
 * (the 400 answer) or its document on a small table that keeps peers: numbered processes,
 * one exited, names in valid UTF-8, in invalid UTF-8 with control characters, quotes and
 * backslashes, and the fuzzer's own, with TCP and UDP peers over IPv4 and IPv6 (more than
 * a process keeps, so some are folded into other, and a top 2 that trades places).
 *
 * Checked for every input: the output is valid UTF-8 (a strict validator of its own, not
 * the exporter's, so a shared misreading cannot hide), it parses as one JSON value with
 * nothing after it, and it obeys the query. Processes: an array of at most `limit` objects,
 * each of the pid asked for, in descending order of the sort key, with at most `peers`
 * peers of its own in descending order of bytes. Peers: at most `limit`, each passing every
 * filter (its remote text parsed back must lie in remote=), in descending order of the sort
 * key; without peer filters and limit, per process the sums over its peers and other equal
 * its counters. Built only with -Dfuzzing=true (clang). Seeds:
 * tests/exporter/corpus-fuzz_query. */
#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "address_text.h"
#include "bytes.h"
#include "json.h"
#include "json_peers.h"
#include "metric_names.h"
#include "table_fill.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PAIRS 16   /* more only repeats keys, which the first duplicate refuses */

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong form, no surrogate,
 * nothing above U+10FFFF), or 0. */
static size_t utf8_char(const unsigned char *s, size_t left)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 0;
    if (n == 0 || n > left || s[0] > 0xF4)
        return 0;
    uint32_t cp = s[0] & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    static const uint32_t smallest[] = { 0, 0, 0x80, 0x800, 0x10000 };
    if (cp < smallest[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

static bool utf8_strict(const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t left = strlen(text);
    while (left > 0) {
        size_t n = utf8_char(s, left);
        if (n == 0)
            return false;
        s += n;
        left -= n;
    }
    return true;
}

/* A NUL-terminated heap copy of [start, end): exact size, so ASan sees over-reads. */
static char *copy_of(const char *start, const char *end)
{
    size_t n = (size_t)(end - start);
    char *s = malloc(n + 1);
    if (s == NULL)
        abort();
    memcpy(s, start, n);
    s[n] = '\0';
    return s;
}

struct pairs {
    char *key[MAX_PAIRS];
    char *value[MAX_PAIRS];   /* NULL: the pair had no '=' */
    size_t count;
};

static void split_query(const char *q, const char *end, struct pairs *p)
{
    p->count = 0;
    while (q < end && p->count < MAX_PAIRS) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *pair_end = amp ? amp : end;
        const char *eq = memchr(q, '=', (size_t)(pair_end - q));
        p->key[p->count] = copy_of(q, eq ? eq : pair_end);
        p->value[p->count] = eq ? copy_of(eq + 1, pair_end) : NULL;
        p->count++;
        q = pair_end + (amp != NULL);
    }
}

static void free_pairs(struct pairs *p)
{
    for (size_t i = 0; i < p->count; i++) {
        free(p->key[i]);
        free(p->value[i]);
    }
}

/* Six remote hosts for pid, each over TCP and UDP, IPv4 and IPv6 (24 peers; a process keeps
 * sixteen): 10.0.<pid>.<p>, 2001:db8::<p> or ::ffff:10.0.0.<p>, ports 443 and 53, the last
 * one accepted (inbound). */
static void fill_peers(struct process_table *table, uint32_t pid)
{
    static const enum net_op ops[] = { NET_TCP_CONNECT, NET_TCP_SEND, NET_TCP_RECV,
                                       NET_TCP_RETRANSMIT, NET_UDP_SEND, NET_UDP_RECV };
    for (uint32_t p = 0; p < 6; p++) {
        struct fill_endpoints ep = fill_endpoints_v4(0x0A000000u | (pid & 0xFF) << 8 | p,
                                                     (uint16_t)(p % 2 ? 53 : 443),
                                                     (uint16_t)(50000 + p));
        ep.local6[0] = 0x20;
        ep.local6[1] = 0x01;
        ep.local6[15] = 5;
        static const uint8_t doc[4] = { 0x20, 0x01, 0x0d, 0xb8 };
        if (p % 3)
            memcpy(ep.remote6, doc, sizeof doc);
        ep.remote6[10] = ep.remote6[11] = p % 3 ? 0 : 0xff;
        ep.remote6[12] = p % 3 ? 0 : 10;
        ep.remote6[15] = (uint8_t)p;
        uint64_t t = FILL_T0 + FILL_SECOND + p;
        if (p == 5)
            fill_net_peer(table, NET_TCP_ACCEPT, FAMILY_IPV4, pid, 0, &ep, t);
        for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
            enum ip_family family = (p + i) % 2 ? FAMILY_IPV6 : FAMILY_IPV4;
            fill_net_peer(table, ops[i], family, pid, 100 * p + (uint32_t)i, &ep, t);
        }
    }
}

static void fill_table(struct process_table *table, const char *fuzzed_name)
{
    fill_many(table, 12);
    fill_start(table, 9000, "bad\xff\xfe\x01\x1f\"\\\x7f\xc3", 0x9000, FILL_T0);
    fill_start(table, 9004, "\xd0\xb4\xd0\xb0\xd0\xbd\xd0\xbd\xd1\x8b\xd0\xb5-\xc3\xbc.exe",
               0x9004, FILL_T0);
    fill_start(table, 9008, "\xf0\x9f\x98\x80 surrogate \xed\xa0\x80", 0x9008, FILL_T0);
    fill_start(table, 9012, fuzzed_name, 0x9012, FILL_T0);
    fill_end(table, 1004, "proc1.exe", 0xffff800000000000ull + 1004, FILL_T0 + FILL_SECOND);
    for (uint32_t pid = 9000; pid <= 9012; pid += 4) {
        fill_net(table, NET_TCP_SEND, FAMILY_IPV4, pid, pid, FILL_T0);
        fill_net(table, NET_UDP_RECV, FAMILY_IPV6, pid, 3 * pid, FILL_T0);
        fill_peers(table, pid);
    }
    process_table_housekeep(table, FILL_T0 + 2 * FILL_SECOND);
}

/* The document's text must be UTF-8 and one JSON value; returns the parsed tree. */
static cJSON *parse_checked(const char *text)
{
    if (text == NULL)
        abort();   /* only out of memory returns NULL, and libFuzzer's limit is far away */
    if (!utf8_strict(text))
        abort();
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, true);
    if (root == NULL)
        abort();
    return root;
}

static const cJSON *item_of(const cJSON *object, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(object, key);
}

static double number_of(const cJSON *object, const char *key)
{
    const cJSON *v = item_of(object, key);
    if (!cJSON_IsNumber(v))
        abort();
    return v->valuedouble;   /* exact: the test table's counters are far below 2^53 */
}

static const char *string_of(const cJSON *object, const char *key)
{
    const cJSON *v = item_of(object, key);
    if (!cJSON_IsString(v))
        abort();
    return v->valuestring;
}

static double sort_key(const cJSON *item, int sort)
{
    if (sort == PROCESS_SORT_TOTAL)
        return number_of(item, "total_bytes");
    return number_of(item_of(item_of(item, "counters"), "total"), counter_names[sort].json_key);
}

/* A row's own peers (?peers=N): at most N, its own, the busiest first. */
static void check_row_peers(const cJSON *row, const struct process_query *q)
{
    const cJSON *peers = item_of(row, "peers");
    if (q->peers == 0) {
        if (peers != NULL)
            abort();
        return;
    }
    if (!cJSON_IsArray(peers) || (size_t)cJSON_GetArraySize(peers) > q->peers)
        abort();
    double previous = 0;
    int i = 0;
    const cJSON *peer;
    cJSON_ArrayForEach(peer, peers) {
        double bytes = number_of(peer, "total_bytes");
        if (number_of(peer, "instance_id") != number_of(row, "instance_id") ||
            (i++ > 0 && bytes > previous))
            abort();
        previous = bytes;
    }
}

static void check_processes(const char *text, const struct process_query *q)
{
    cJSON *root = parse_checked(text);
    if (!cJSON_IsArray(root))
        abort();
    int n = cJSON_GetArraySize(root);
    if (q->limit > 0 && (size_t)n > q->limit)
        abort();
    double previous = 0;
    for (int i = 0; i < n; i++) {
        const cJSON *item = cJSON_GetArrayItem(root, i);
        string_of(item, "name");
        double pid = number_of(item, "pid");
        if (q->filter.has_pid && pid != (double)q->filter.pid)
            abort();
        if (q->sort != PROCESS_SORT_NONE) {
            double key = sort_key(item, q->sort);
            if (i > 0 && key > previous)
                abort();
            previous = key;
        }
        check_row_peers(item, q);
    }
    cJSON_Delete(root);
}

/* The value of a peer's sort key; a UDP peer has no connection counters (0). */
static double peer_sort_key(const cJSON *peer, int sort)
{
    if (sort == PEER_SORT_TOTAL)
        return number_of(peer, "total_bytes");
    const cJSON *v = item_of(item_of(peer, "counters"), peer_counter_key((enum peer_counter)sort));
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static bool choice_is(int wanted, const char *value, const char *zero, const char *one)
{
    return wanted < 0 || strcmp(value, wanted ? one : zero) == 0;
}

/* Every filter of q holds for this peer; its remote text parses back as an address. */
static void check_peer_filters(const cJSON *peer, const struct peer_query *q)
{
    const char *family = string_of(peer, "family");
    struct address_filter remote;
    if (!address_filter_parse(string_of(peer, "remote"), &remote) ||
        remote.family != (strcmp(family, "ipv6") == 0 ? FAMILY_IPV6 : FAMILY_IPV4))
        abort();
    if ((q->process.has_pid && number_of(peer, "pid") != (double)q->process.pid) ||
        !choice_is(q->protocol, string_of(peer, "protocol"), "tcp", "udp") ||
        !choice_is(q->family, family, "ipv4", "ipv6") ||
        !choice_is(q->direction, string_of(peer, "direction"), "outbound", "inbound") ||
        (q->has_port && number_of(peer, "port") != q->port) ||
        (q->has_remote &&
         !address_filter_match(&q->remote, remote.family, remote.address, remote.prefix_len)))
        abort();
}

/* Per process: other plus the listed peers of each covered counter equal its counters. */
static void check_sums(const cJSON *process, const cJSON *peers)
{
    for (int f = 0; f < FAMILY_COUNT; f++) {
        const char *family = family_label((enum ip_family)f);
        for (int p = 0; p < PEER_PROTOCOL_COUNT; p++) {
            const char *protocol = peer_protocol_label((enum peer_protocol)p);
            for (int c = 0; c < PEER_CTR_COUNT; c++) {
                int to = peer_process_counter((enum peer_protocol)p, (enum peer_counter)c);
                if (to < 0)
                    continue;
                const char *key = peer_counter_key((enum peer_counter)c);
                double sum = number_of(item_of(item_of(item_of(process, "other"), family),
                                               protocol), key);
                const cJSON *peer;
                cJSON_ArrayForEach(peer, peers) {
                    if (number_of(peer, "instance_id") == number_of(process, "instance_id") &&
                        strcmp(string_of(peer, "family"), family) == 0 &&
                        strcmp(string_of(peer, "protocol"), protocol) == 0)
                        sum += number_of(item_of(peer, "counters"), key);
                }
                if (sum != number_of(item_of(item_of(process, "counters"), family),
                                     counter_names[to].json_key))
                    abort();
            }
        }
    }
}

static void check_peers(const char *text, const struct peer_query *q)
{
    cJSON *root = parse_checked(text);
    const cJSON *peers = item_of(root, "peers");
    const cJSON *processes = item_of(root, "processes");
    if (!cJSON_IsArray(peers) || !cJSON_IsArray(processes) ||
        !cJSON_IsObject(item_of(root, "store")))
        abort();
    size_t n = (size_t)cJSON_GetArraySize(peers);
    if ((q->limit > 0 && n > q->limit) || number_of(root, "matched") < (double)n)
        abort();
    double previous = 0;
    size_t i = 0;
    const cJSON *peer;
    cJSON_ArrayForEach(peer, peers) {
        check_peer_filters(peer, q);
        if (q->sort != PEER_SORT_NONE) {
            double key = peer_sort_key(peer, q->sort);
            if (i++ > 0 && key > previous)
                abort();
            previous = key;
        }
    }
    bool every_peer = !q->has_remote && !q->has_port && q->protocol < 0 && q->family < 0 &&
                      q->direction < 0 && q->limit == 0;
    const cJSON *process;
    cJSON_ArrayForEach(process, processes) {
        if (q->process.has_pid && number_of(process, "pid") != (double)q->process.pid)
            abort();
        if (every_peer)
            check_sums(process, peers);
    }
    cJSON_Delete(root);
}

static void check_error(const char *text)
{
    cJSON *root = parse_checked(text);
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (!cJSON_IsString(error) || error->valuestring[0] == '\0')
        abort();
    cJSON_Delete(root);
}

/* The pairs through set() in order, stopping at the first refusal as the server does;
 * true when all were taken, else err says why. */
static bool apply_pairs(const struct pairs *pairs,
                        bool (*set)(void *query, const char *key, const char *value, char *err,
                                    size_t err_size),
                        void *query, char err[256])
{
    for (size_t i = 0; i < pairs->count; i++) {
        if (!set(query, pairs->key[i], pairs->value[i], err, 256))
            return false;
    }
    return true;
}

static bool set_process(void *query, const char *key, const char *value, char *err,
                        size_t err_size)
{
    return process_query_set(query, key, value, err, err_size);
}

static bool set_peer(void *query, const char *key, const char *value, char *err,
                     size_t err_size)
{
    return peer_query_set(query, key, value, err, err_size);
}

static void run_processes(const struct process_table *table, const struct pairs *pairs)
{
    struct process_query query;
    process_query_init(&query);
    char err[256] = "";
    char *text;
    if (!apply_pairs(pairs, set_process, &query, err)) {
        text = json_render_error(400, err);
        check_error(text);
    } else {
        struct render_options options = { .aggregate_by_name = false };
        text = json_render_processes(table, &options, &query);
        check_processes(text, &query);
    }
    free(text);
}

static void run_peers(const struct process_table *table, const struct pairs *pairs)
{
    struct peer_query query;
    peer_query_init(&query);
    char err[256] = "";
    char *text;
    if (!apply_pairs(pairs, set_peer, &query, err)) {
        text = json_render_error(400, err);
        check_error(text);
    } else {
        struct render_options options = { .aggregate_by_name = false };
        text = json_render_peers(table, &options, &query);
        check_peers(text, &query);
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *bytes = (const char *)data;
    const char *nul = memchr(bytes, '\0', size);
    const char *query_end = nul ? nul : bytes + size;
    char *name = nul ? copy_of(nul + 1, bytes + size) : copy_of(bytes, bytes);

    struct pairs pairs;
    split_query(bytes, query_end, &pairs);
    struct process_table_config config = {
        .capacity = 64, .retention = 1000 * FILL_SECOND, .peer_capacity = 256,
        .peers_per_process = 16, .peers_shown = 2,
    };
    struct process_table *table = process_table_create(&config);
    if (table == NULL)
        abort();
    fill_table(table, name);
    run_processes(table, &pairs);
    run_peers(table, &pairs);
    process_table_destroy(table);
    free_pairs(&pairs);
    free(name);
    return 0;
}
