/* Building blocks the JSON documents share (json.c, json_peers.c), so that a process, a
 * counter, a time or a query parameter reads the same in every document. Not an API: only
 * those two files include it. */
#ifndef TCPIP_EXPORTER_JSON_PARTS_H
#define TCPIP_EXPORTER_JSON_PARTS_H

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "row_services.h"
#include "text_buffer.h"

/* ---- documents as text ---- */

/* The long arrays (a row per process, one object per peer) are written as text an object
 * at a time: a document never exists as one cJSON tree, which takes several times the
 * text's size, so what a request holds while it is built is about its answer's length. */

/* item printed without spaces after a ',' unless it is the array's first; item is freed.
 * false (out's contents incomplete) when item is NULL or printing failed. */
bool json_append_item(struct text_buffer *out, cJSON *item, size_t index);
/* out's text, NUL-terminated, in a block of just its size for the caller to free; NULL
 * when something failed. out is emptied either way. */
char *json_text_take(struct text_buffer *out);

/* ---- values ---- */

/* A counter as raw decimal text: exact past 2^53, where a cJSON number would round. */
bool json_add_u64(cJSON *object, const char *key, uint64_t value);
/* format_filetime text, or null for 0 (not known / not yet). */
bool json_add_time(cJSON *object, const char *key, uint64_t filetime);
/* A new object appended to array (which then owns it), or NULL. */
cJSON *json_add_new_object(cJSON *array);
/* "service" (the joined names) and "services" ([{name, display_name}]), as every row. */
bool json_add_services(cJSON *object, const struct row_services *services);
/* "counters": {"ipv4": {...}, "ipv6": {...}, "total": {...}} with every counter key. */
bool json_add_process_counters(cJSON *object, const struct process_view *view);
/* The image name as UTF-8 (IMAGE_NAME_MAX bytes of ANSI may double). */
void json_process_name(const struct process_view *view, char out[2 * IMAGE_NAME_MAX]);

/* ---- query parameters ---- */

struct query_key {
    const char *key;
    unsigned bit;
};

/* The bit of key in known, marked in *seen; 0 with a message in err for an unknown key
 * (the message lists `listing`) or one given twice. */
unsigned query_key_take(const struct query_key *known, size_t count, const char *key,
                        unsigned *seen, const char *listing, char *err, size_t err_size);

/* The parameters both queries take, with the same bounds and messages. value may be NULL
 * (a parameter without '='): refused like an empty one. */
bool query_glob(const char *key, const char *value, const char **out, char *err,
                size_t err_size);
bool query_pid(const char *value, struct process_filter *filter, char *err, size_t err_size);
bool query_limit(const char *value, size_t *limit, char *err, size_t err_size);

/* Whether the filter (and options' include/exclude) selects the instance; its services
 * into *services either way. */
bool process_filter_selects(const struct process_filter *filter,
                            const struct render_options *options,
                            const struct process_table *table, const struct process_view *view,
                            struct row_services *services);

/* ---- peers (json_peers.c), for /api/v1/processes?peers=N ---- */

/* One peer as /api/v1/peers writes it, with its instance's process, pid and services. */
cJSON *json_peer_object(const struct process_table *table, const struct process_view *process,
                        const struct row_services *services, const struct peer_view *peer);

/* Sorts peers by bytes (sent + received) descending, ties by peer_id: the top N first. */
void json_peers_by_bytes(struct peer_view *peers, size_t count);

#endif
