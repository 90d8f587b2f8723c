/* Names are TCP- or UDP-qualified because the kernel reports both under one provider
 * family and a reader of a dashboard should not have to know which counter is which. */
#include "metric_names.h"

#include <string.h>

const struct counter_name counter_names[CTR_COUNT] = {
    [CTR_SENT_BYTES] = { "tcpip_tcp_sent_bytes", "tcp_sent_bytes", "bytes",
        "Bytes sent over TCP by the process (TcpIp Send events)." },
    [CTR_SENT_EVENTS] = { "tcpip_tcp_send_events", "tcp_send_events", NULL,
        "TCP send events of the process." },
    [CTR_RECV_BYTES] = { "tcpip_tcp_received_bytes", "tcp_received_bytes", "bytes",
        "Bytes received over TCP by the process (TcpIp Recv events)." },
    [CTR_RECV_EVENTS] = { "tcpip_tcp_receive_events", "tcp_receive_events", NULL,
        "TCP receive events of the process." },
    [CTR_CONNECTS] = { "tcpip_tcp_connects", "tcp_connects", NULL,
        "Outgoing TCP connections established by the process." },
    [CTR_ACCEPTS] = { "tcpip_tcp_accepts", "tcp_accepts", NULL,
        "Incoming TCP connections accepted by the process." },
    [CTR_DISCONNECTS] = { "tcpip_tcp_disconnects", "tcp_disconnects", NULL,
        "TCP connections of the process that were disconnected." },
    [CTR_RETRANSMITS] = { "tcpip_tcp_retransmits", "tcp_retransmits", NULL,
        "TCP segments the process's connections retransmitted." },
    [CTR_RETRANSMIT_BYTES] = { "tcpip_tcp_retransmitted_bytes", "tcp_retransmitted_bytes",
        "bytes", "Bytes retransmitted on the process's TCP connections." },
    [CTR_RECONNECTS] = { "tcpip_tcp_reconnects", "tcp_reconnects", NULL,
        "TCP connect attempts of the process that failed and were tried again." },
    [CTR_COPIES] = { "tcpip_tcp_copies", "tcp_copies", NULL,
        "TCP copy events of the process (data copied from the TCP stack to the application)." },
    [CTR_COPY_BYTES] = { "tcpip_tcp_copied_bytes", "tcp_copied_bytes", "bytes",
        "Bytes of TCP copy events of the process." },
    [CTR_UDP_SENT_BYTES] = { "tcpip_udp_sent_bytes", "udp_sent_bytes", "bytes",
        "Bytes sent over UDP by the process." },
    [CTR_UDP_SENT_DATAGRAMS] = { "tcpip_udp_sent_datagrams", "udp_sent_datagrams", NULL,
        "UDP datagrams sent by the process." },
    [CTR_UDP_RECV_BYTES] = { "tcpip_udp_received_bytes", "udp_received_bytes", "bytes",
        "Bytes received over UDP by the process." },
    [CTR_UDP_RECV_DATAGRAMS] = { "tcpip_udp_received_datagrams", "udp_received_datagrams",
        NULL, "UDP datagrams received by the process." },
};

const struct counter_name peer_counter_names[PEER_CTR_COUNT] = {
    [PEER_SENT_BYTES] = { "tcpip_peer_sent_bytes", "sent_bytes", "bytes",
        "Bytes the process sent to the remote peer (TCP Send events, UDP datagrams)." },
    [PEER_SENT_EVENTS] = { "tcpip_peer_send_events", "send_events", NULL,
        "TCP send events or UDP datagrams the process sent to the remote peer." },
    [PEER_RECV_BYTES] = { "tcpip_peer_received_bytes", "received_bytes", "bytes",
        "Bytes the process received from the remote peer (TCP Recv events, UDP datagrams)." },
    [PEER_RECV_EVENTS] = { "tcpip_peer_receive_events", "receive_events", NULL,
        "TCP receive events or UDP datagrams the process received from the remote peer." },
    [PEER_CONNECTS] = { "tcpip_peer_connects", "connects", NULL,
        "TCP connections the process opened to the remote peer." },
    [PEER_ACCEPTS] = { "tcpip_peer_accepts", "accepts", NULL,
        "TCP connections from the remote peer the process accepted." },
    [PEER_DISCONNECTS] = { "tcpip_peer_disconnects", "disconnects", NULL,
        "TCP connections between the process and the remote peer that were disconnected." },
    [PEER_RETRANSMITS] = { "tcpip_peer_retransmits", "retransmits", NULL,
        "TCP segments the process's connections to the remote peer retransmitted." },
    [PEER_RETRANSMIT_BYTES] = { "tcpip_peer_retransmitted_bytes", "retransmitted_bytes",
        "bytes", "Bytes retransmitted on the process's TCP connections to the remote peer." },
    [PEER_RECONNECTS] = { "tcpip_peer_reconnects", "reconnects", NULL,
        "TCP connect attempts of the process to the remote peer that failed and were tried "
        "again." },
};

int counter_from_json_key(const char *key)
{
    for (int i = 0; i < CTR_COUNT; i++) {
        if (strcmp(counter_names[i].json_key, key) == 0)
            return i;
    }
    return -1;
}

const char *family_label(enum ip_family family)
{
    return family == FAMILY_IPV6 ? "ipv6" : "ipv4";
}

const struct fail_label fail_labels[FAIL_LABEL_COUNT] = {
    { "1", "insufficient_resources" },
    { "2", "too_many_addresses" },
    { "3", "address_exists" },
    { "4", "invalid_address" },
    { "5", "other" },
    { "6", "time_wait_address_exists" },
    { "out_of_range", "unrecognized" },
};

uint64_t fail_label_count(const uint64_t slots[FAIL_CODE_SLOTS], int label)
{
    if (label < FAIL_LABEL_COUNT - 1)
        return slots[label + 1];
    return slots[0] + slots[FAIL_CODE_SLOTS - 1];
}

const char *drop_reason_label(enum drop_reason reason)
{
    switch (reason) {
    case DROP_MALFORMED: return "malformed";
    case DROP_UNKNOWN: return "unknown";
    case DROP_TABLE_FULL: return "table_full";
    default: return "other";
    }
}

const char *source_state_name(const struct source_info *info)
{
    if (info == NULL || info->kind == NULL)
        return "none";
    if (strcmp(info->kind, "etl") == 0) {
        if (info->replay_damaged)
            return "replay_damaged";
        return info->replay_done ? "replay_done" : "replaying";
    }
    return info->up ? "running" : "retrying";
}
