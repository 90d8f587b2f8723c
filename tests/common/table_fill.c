#include "table_fill.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum event_type net_type(enum net_op op, enum ip_family family)
{
    static const enum event_type v4[] = {
        [NET_TCP_SEND] = EVT_TCP_SEND_V4, [NET_TCP_RECV] = EVT_TCP_RECV_V4,
        [NET_TCP_CONNECT] = EVT_TCP_CONNECT_V4, [NET_TCP_DISCONNECT] = EVT_TCP_DISCONNECT_V4,
        [NET_TCP_RETRANSMIT] = EVT_TCP_RETRANSMIT_V4, [NET_TCP_ACCEPT] = EVT_TCP_ACCEPT_V4,
        [NET_TCP_RECONNECT] = EVT_TCP_RECONNECT_V4, [NET_TCP_COPY] = EVT_TCP_COPY_V4,
        [NET_UDP_SEND] = EVT_UDP_SEND_V4, [NET_UDP_RECV] = EVT_UDP_RECV_V4,
    };
    static const enum event_type v6[] = {
        [NET_TCP_SEND] = EVT_TCP_SEND_V6, [NET_TCP_RECV] = EVT_TCP_RECV_V6,
        [NET_TCP_CONNECT] = EVT_TCP_CONNECT_V6, [NET_TCP_DISCONNECT] = EVT_TCP_DISCONNECT_V6,
        [NET_TCP_RETRANSMIT] = EVT_TCP_RETRANSMIT_V6, [NET_TCP_ACCEPT] = EVT_TCP_ACCEPT_V6,
        [NET_TCP_RECONNECT] = EVT_TCP_RECONNECT_V6, [NET_TCP_COPY] = EVT_TCP_COPY_V6,
        [NET_UDP_SEND] = EVT_UDP_SEND_V6, [NET_UDP_RECV] = EVT_UDP_RECV_V6,
    };
    return family == FAMILY_IPV6 ? v6[op] : v4[op];
}

void fill_process(struct process_table *table, enum process_op op, uint32_t pid,
                  const char *name, uint64_t key, uint64_t timestamp)
{
    static const enum event_type types[] = {
        [PROC_START] = EVT_PROCESS_START, [PROC_END] = EVT_PROCESS_END,
        [PROC_DCSTART] = EVT_PROCESS_DCSTART, [PROC_DCEND] = EVT_PROCESS_DCEND,
        [PROC_DEFUNCT] = EVT_PROCESS_DEFUNCT,
    };
    struct trace_fact fact;
    memset(&fact, 0, sizeof fact);
    fact.kind = FACT_PROCESS;
    fact.type = types[op];
    fact.u.process.op = op;
    fact.u.process.pid = pid;
    fact.u.process.parent_pid = 4;
    fact.u.process.unique_key = key;
    /* All IMAGE_NAME_MAX bytes copied from a longer name, with no NUL, as a kernel event
     * may carry it: the table must bound what it reads (tests/table checks it does). */
    size_t len = strlen(name) + 1;
    memcpy(fact.u.process.image_name, name, len < IMAGE_NAME_MAX ? len : IMAGE_NAME_MAX);
    process_table_apply(table, &fact, timestamp);
}

void fill_start(struct process_table *table, uint32_t pid, const char *name, uint64_t key,
                uint64_t timestamp)
{
    fill_process(table, PROC_START, pid, name, key, timestamp);
}

void fill_end(struct process_table *table, uint32_t pid, const char *name, uint64_t key,
              uint64_t timestamp)
{
    fill_process(table, PROC_END, pid, name, key, timestamp);
}

/* A network fact without endpoints (all zero). */
static struct trace_fact net_fact(enum net_op op, enum ip_family family, uint32_t pid,
                                  uint32_t size)
{
    struct trace_fact fact;
    memset(&fact, 0, sizeof fact);
    fact.kind = FACT_NET;
    fact.type = net_type(op, family);
    fact.u.net.op = op;
    fact.u.net.family = family;
    fact.u.net.pid = pid;
    fact.u.net.size = size;
    return fact;
}

void fill_net(struct process_table *table, enum net_op op, enum ip_family family,
              uint32_t pid, uint32_t size, uint64_t timestamp)
{
    struct trace_fact fact = net_fact(op, family, pid, size);
    process_table_apply(table, &fact, timestamp);
}

void fill_net_peer(struct process_table *table, enum net_op op, enum ip_family family,
                   uint32_t pid, uint32_t size, const struct fill_endpoints *ep,
                   uint64_t timestamp)
{
    struct trace_fact fact = net_fact(op, family, pid, size);
    /* As recorded: UDP receives name the local socket as the destination. */
    bool local_is_dest = op == NET_UDP_RECV;
    const uint8_t *local = family == FAMILY_IPV6 ? ep->local6 : ep->local4;
    const uint8_t *remote = family == FAMILY_IPV6 ? ep->remote6 : ep->remote4;
    size_t len = family == FAMILY_IPV6 ? 16 : 4;
    memcpy(fact.u.net.daddr, local_is_dest ? local : remote, len);
    memcpy(fact.u.net.saddr, local_is_dest ? remote : local, len);
    fact.u.net.dport = local_is_dest ? ep->local_port : ep->remote_port;
    fact.u.net.sport = local_is_dest ? ep->remote_port : ep->local_port;
    process_table_apply(table, &fact, timestamp);
}

struct fill_endpoints fill_endpoints_v4(uint32_t remote, uint16_t remote_port,
                                        uint16_t local_port)
{
    struct fill_endpoints ep = {.remote_port = remote_port, .local_port = local_port};
    for (int i = 0; i < 4; i++)
        ep.remote4[i] = (uint8_t)(remote >> (24 - 8 * i));
    ep.local4[0] = 10;
    ep.local4[3] = 5;
    return ep;
}

void fill_fail(struct process_table *table, uint16_t proto, uint16_t code, uint64_t timestamp)
{
    struct trace_fact fact;
    memset(&fact, 0, sizeof fact);
    fact.kind = FACT_FAIL;
    fact.type = EVT_TCP_FAIL;
    fact.u.fail.proto = proto;
    fact.u.fail.code = code;
    process_table_apply(table, &fact, timestamp);
}

void fill_many(struct process_table *table, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t pid = 1000 + 4 * i;
        char name[32];
        snprintf(name, sizeof name, "proc%u.exe", (unsigned)i);
        uint64_t t = FILL_T0 + i;
        fill_start(table, pid, name, 0xffff800000000000ull + pid, t);
        for (int op = NET_TCP_SEND; op <= NET_UDP_RECV; op++) {
            fill_net(table, (enum net_op)op, FAMILY_IPV4, pid, 100 + i, t);
            if (i % 2 == 0)
                fill_net(table, (enum net_op)op, FAMILY_IPV6, pid, 200 + i, t);
        }
    }
}

void fill_many_peers(struct process_table *table, uint32_t n, uint32_t peers)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t pid = 1000 + 4 * i;
        char name[32];
        snprintf(name, sizeof name, "proc%u.exe", (unsigned)i);
        uint64_t t = FILL_T0 + i;
        fill_start(table, pid, name, 0xffff800000000000ull + pid, t);
        for (uint32_t p = 0; p < peers; p++) {
            struct fill_endpoints ep =
                fill_endpoints_v4(0xC0A80000u + p + 1, (uint16_t)(443 + p % 3), 50000);
            fill_net_peer(table, NET_TCP_CONNECT, FAMILY_IPV4, pid, 0, &ep, t);
            fill_net_peer(table, NET_TCP_SEND, FAMILY_IPV4, pid, 100 + p, &ep, t);
            fill_net_peer(table, NET_TCP_RECV, FAMILY_IPV4, pid, 1000 + p, &ep, t);
            if (p % 4 == 0)
                fill_net_peer(table, NET_TCP_RETRANSMIT, FAMILY_IPV4, pid, 100, &ep, t);
        }
    }
}

void fill_service(struct process_table *table, uint32_t pid, uint32_t state, const char *name,
                  const char *display_name, uint64_t timestamp)
{
    struct trace_fact fact;
    memset(&fact, 0, sizeof fact);
    fact.kind = FACT_SERVICE;
    fact.type = EVT_SYSCONFIG_SERVICES;
    fact.u.service.pid = pid;
    fact.u.service.state = state;
    snprintf(fact.u.service.name, sizeof fact.u.service.name, "%s", name);
    snprintf(fact.u.service.display_name, sizeof fact.u.service.display_name, "%s",
             display_name);
    process_table_apply(table, &fact, timestamp);
}

struct service_batch *fill_batch(const struct fill_hosted *items, size_t count)
{
    struct service_batch *batch = malloc(sizeof *batch + count * sizeof batch->items[0]);
    if (!batch)
        return NULL;
    batch->count = count;
    for (size_t i = 0; i < count; i++) {
        struct service_fact *s = &batch->items[i];
        memset(s, 0, sizeof *s);
        s->pid = items[i].pid;
        s->state = 4;
        snprintf(s->name, sizeof s->name, "%s", items[i].name);
        snprintf(s->display_name, sizeof s->display_name, "%s", items[i].display_name);
    }
    return batch;
}
