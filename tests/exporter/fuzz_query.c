/* libFuzzer target: the query of /api/v1/processes and the JSON it produces.
 *
 * Input: up to the first NUL, a query string "key=value&key=value..." (split as the server
 * receives it from libmicrohttpd, already decoded: the first '=' ends the key, a pair with
 * no '=' has no value); after the NUL, the image name of one more process, any bytes. The
 * pairs go through process_query_set in order, stopping at the first refusal as the server
 * does; then either json_render_error (the 400 answer) or json_render_processes on a small
 * table: numbered processes, one exited, names in valid UTF-8, in invalid UTF-8 with control
 * characters, quotes and backslashes, and the fuzzer's own.
 *
 * Checked for every input: the output is valid UTF-8 (a strict validator of its own, not
 * the exporter's, so a shared misreading cannot hide), it parses as one JSON value with
 * nothing after it, and it obeys the query: an array of at most `limit` objects, each of
 * the pid asked for, in descending order of the sort key. Built only with -Dfuzzing=true
 * (clang). Seeds: tests/exporter/corpus-fuzz_query. */
#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
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
    }
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

static double sort_key(const cJSON *item, int sort)
{
    const cJSON *v = sort == PROCESS_SORT_TOTAL
        ? cJSON_GetObjectItemCaseSensitive(item, "total_bytes")
        : cJSON_GetObjectItemCaseSensitive(
              cJSON_GetObjectItemCaseSensitive(
                  cJSON_GetObjectItemCaseSensitive(item, "counters"), "total"),
              counter_names[sort].json_key);
    if (!cJSON_IsNumber(v))
        abort();
    return v->valuedouble;   /* exact: the test table's counters are far below 2^53 */
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
        const cJSON *pid = cJSON_GetObjectItemCaseSensitive(item, "pid");
        if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(item, "name")) ||
            !cJSON_IsNumber(pid) || (q->has_pid && pid->valuedouble != (double)q->pid))
            abort();
        if (q->sort != PROCESS_SORT_NONE) {
            double key = sort_key(item, q->sort);
            if (i > 0 && key > previous)
                abort();
            previous = key;
        }
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *bytes = (const char *)data;
    const char *nul = memchr(bytes, '\0', size);
    const char *query_end = nul ? nul : bytes + size;
    char *name = nul ? copy_of(nul + 1, bytes + size) : copy_of(bytes, bytes);

    struct pairs pairs;
    split_query(bytes, query_end, &pairs);
    struct process_query query;
    process_query_init(&query);
    char err[256] = "";
    bool refused = false;
    for (size_t i = 0; i < pairs.count && !refused; i++)
        refused = !process_query_set(&query, pairs.key[i], pairs.value[i], err, sizeof err);

    char *text;
    if (refused) {
        text = json_render_error(400, err);
        check_error(text);
    } else {
        struct process_table_config config = { .capacity = 64, .retention = 1000 * FILL_SECOND };
        struct process_table *table = process_table_create(&config);
        if (table == NULL)
            abort();
        fill_table(table, name);
        struct render_options options = { .aggregate_by_name = false };
        text = json_render_processes(table, &options, &query);
        check_processes(text, &query);
        process_table_destroy(table);
    }
    free(text);
    free_pairs(&pairs);
    free(name);
    return 0;
}
