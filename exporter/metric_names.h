/* The names every output uses for the table's counters, so /metrics, the JSON API and
 * the README agree. */
#ifndef TCPIP_EXPORTER_METRIC_NAMES_H
#define TCPIP_EXPORTER_METRIC_NAMES_H

#include "../collector/process_table.h"
#include "render_types.h"

struct counter_name {
    const char *metric;    /* Prometheus family name without the _total suffix */
    const char *json_key;  /* key in /api/v1/processes and value of its sort= parameter */
    const char *unit;      /* OpenMetrics UNIT ("bytes") or NULL */
    const char *help;
};

extern const struct counter_name counter_names[CTR_COUNT];

/* -1 when key names no counter. */
int counter_from_json_key(const char *key);

/* The tcpip_peer_* families, one per enum peer_counter (the protocol is a label: names are
 * not TCP- or UDP-qualified; for UDP, "send events" are datagrams). json_key is the JSON
 * API's key (json_peers.h, peer_counter_key, which also has the protocol and direction
 * labels: peer_protocol_label, peer_direction_label). */
extern const struct counter_name peer_counter_names[PEER_CTR_COUNT];

/* "ipv4", "ipv6". */
const char *family_label(enum ip_family family);

/* TcpIp Fail codes 1..6 have a slot each; codes outside that range share the label set
 * code="out_of_range" (slots 0 and 7 summed). */
enum { FAIL_LABEL_COUNT = 7 };
struct fail_label {
    const char *code;      /* "1".."6", "out_of_range" */
    const char *reason;    /* readable name from the MOF documentation */
};
extern const struct fail_label fail_labels[FAIL_LABEL_COUNT];
/* Sum of the table slots a fail label stands for. */
uint64_t fail_label_count(const uint64_t slots[FAIL_CODE_SLOTS], int label);

const char *drop_reason_label(enum drop_reason reason);

/* "running", "retrying" (live, not up), "replaying", "replay_done", "replay_damaged",
 * "none" (no source). */
const char *source_state_name(const struct source_info *info);

#endif

