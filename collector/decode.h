/* Decoding a trace_record into a typed fact. Pure function of its input: no state, no
 * allocation, never reads outside [payload, payload + payload_size). */
#ifndef TCPIP_EXPORTER_DECODE_H
#define TCPIP_EXPORTER_DECODE_H

#include <stdint.h>
#include "trace_record.h"

/* Every event type we decode, one value each; also the index of the per-type
 * "events handled" self-metric. Order is part of the metric naming (event_type_name). */
enum event_type {
    EVT_TCP_SEND_V4, EVT_TCP_RECV_V4, EVT_TCP_CONNECT_V4, EVT_TCP_DISCONNECT_V4,
    EVT_TCP_RETRANSMIT_V4, EVT_TCP_ACCEPT_V4, EVT_TCP_RECONNECT_V4, EVT_TCP_FAIL,
    EVT_TCP_COPY_V4,
    EVT_TCP_SEND_V6, EVT_TCP_RECV_V6, EVT_TCP_CONNECT_V6, EVT_TCP_DISCONNECT_V6,
    EVT_TCP_RETRANSMIT_V6, EVT_TCP_ACCEPT_V6, EVT_TCP_RECONNECT_V6, EVT_TCP_COPY_V6,
    EVT_UDP_SEND_V4, EVT_UDP_RECV_V4, EVT_UDP_SEND_V6, EVT_UDP_RECV_V6,
    EVT_PROCESS_START, EVT_PROCESS_END, EVT_PROCESS_DCSTART, EVT_PROCESS_DCEND,
    EVT_PROCESS_DEFUNCT,
    EVT_LOST_EVENT, EVT_LOST_BUFFER, EVT_LOST_FILE,
    EVT_SYSCONFIG_SERVICES,
    EVT_TYPE_COUNT
};

/* Stable lower-case name of an event type, e.g. "tcp_send_ipv4", for metric labels. */
const char *event_type_name(enum event_type type);

enum ip_family { FAMILY_IPV4 = 0, FAMILY_IPV6 = 1, FAMILY_COUNT = 2 };

/* What a network event does to a process's counters. */
enum net_op {
    NET_TCP_SEND, NET_TCP_RECV, NET_TCP_CONNECT, NET_TCP_DISCONNECT, NET_TCP_RETRANSMIT,
    NET_TCP_ACCEPT, NET_TCP_RECONNECT, NET_TCP_COPY, NET_UDP_SEND, NET_UDP_RECV,
};

struct net_fact {
    enum net_op op;
    enum ip_family family;
    uint32_t pid;          /* from the payload, never the record header */
    uint32_t size;
    uint8_t daddr[16];     /* network byte order, 4 or 16 bytes used */
    uint8_t saddr[16];
    uint16_t dport;        /* host byte order */
    uint16_t sport;
};

/* TcpIp Fail: the only TCP event without a PID. Codes per the MOF documentation. */
enum { FAIL_CODE_SLOTS = 8 }; /* slot 0 and 7: codes outside 1..6 */
struct fail_fact {
    uint16_t proto;        /* 2 = AF_INET, 23 = AF_INET6, as recorded */
    uint16_t code;         /* as recorded */
};

enum process_op { PROC_START, PROC_END, PROC_DCSTART, PROC_DCEND, PROC_DEFUNCT };

enum { IMAGE_NAME_MAX = 64 }; /* bytes including the NUL; longer names are truncated */
struct process_fact {
    enum process_op op;
    uint32_t pid;
    uint32_t parent_pid;
    uint32_t session_id;
    int32_t exit_status;
    uint64_t unique_key;   /* UniqueProcessKey: the kernel's EPROCESS address */
    char image_name[IMAGE_NAME_MAX]; /* ANSI from the payload, NUL-terminated */
};

/* SystemConfig Services (type 15, version 2 and later): one record per installed service,
 * written by the trace merger at the end of a recording. Names are UTF-8 here. */
enum { SERVICE_NAME_MAX = 128 }; /* bytes including the NUL; longer names are truncated at a
                                  * character boundary (the SCM allows 256 characters, real
                                  * names are far shorter) */
enum { SERVICE_STATE_STOPPED = 1 }; /* SERVICE_STATUS.dwCurrentState; 4 is running */
struct service_fact {
    uint32_t pid;          /* 0 for a service that is not running */
    uint32_t state;        /* as recorded */
    char name[SERVICE_NAME_MAX];
    char display_name[SERVICE_NAME_MAX];
};

enum lost_op { LOST_EVENT, LOST_BUFFER, LOST_FILE };
struct lost_fact {
    enum lost_op op;
};

enum fact_kind { FACT_NET, FACT_FAIL, FACT_PROCESS, FACT_LOST, FACT_SERVICE };

struct trace_fact {
    enum fact_kind kind;
    enum event_type type;
    union {
        struct net_fact net;
        struct fail_fact fail;
        struct process_fact process;
        struct lost_fact lost;
        struct service_fact service;
    } u;
};

enum decode_status {
    DECODE_OK = 0,
    DECODE_UNKNOWN,    /* class or opcode we do not decode: counted, skipped */
    DECODE_MALFORMED,  /* payload shorter than its layout, or a bad pointer size */
};

enum decode_status decode_record(const struct trace_record *record, struct trace_fact *fact);

#endif
