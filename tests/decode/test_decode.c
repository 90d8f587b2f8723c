/* Unit tests for collector/decode.c. Payloads come from tests/common (built byte by byte
 * from collector/README.md) or are written out by hand here; each is copied into a malloc block of
 * exactly its length so AddressSanitizer catches any read past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode.h"
#include "bytes.h"
#include "payload.h"

static const uint8_t pointer_sizes[] = { 4, 8 };

/* Decodes a copy of bytes[0, len) held in an exactly-sized heap block. The fact starts
 * filled with 0xA5 so fields the decoder forgot to write show up. */
static enum decode_status decode_exact(enum trace_class cls, uint8_t opcode, uint8_t version,
                                       uint8_t pointer_size, const uint8_t *bytes, size_t len,
                                       struct trace_fact *fact)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, bytes, len);
    struct trace_record record = {
        .event_class = cls, .opcode = opcode, .version = version,
        .pointer_size = pointer_size, .timestamp = 132400000000000000u,
        .payload = len ? copy : NULL, .payload_size = (uint32_t)len,
    };
    memset(fact, 0xA5, sizeof *fact);
    enum decode_status status = decode_record(&record, fact);
    free(copy);
    return status;
}

/* ---- expectations written from collector/README.md, independent of the decoder's tables ---- */

struct net_case {
    uint8_t opcode;
    enum event_type type;
    enum net_op op;
    enum ip_family family;
    size_t len4, len8; /* layout length for 4- and 8-byte pointers */
};

static const struct net_case tcp_cases[] = {
    { 10, EVT_TCP_SEND_V4, NET_TCP_SEND, FAMILY_IPV4, 36, 40 },
    { 11, EVT_TCP_RECV_V4, NET_TCP_RECV, FAMILY_IPV4, 28, 32 },
    { 12, EVT_TCP_CONNECT_V4, NET_TCP_CONNECT, FAMILY_IPV4, 44, 48 },
    { 13, EVT_TCP_DISCONNECT_V4, NET_TCP_DISCONNECT, FAMILY_IPV4, 28, 32 },
    { 14, EVT_TCP_RETRANSMIT_V4, NET_TCP_RETRANSMIT, FAMILY_IPV4, 28, 32 },
    { 15, EVT_TCP_ACCEPT_V4, NET_TCP_ACCEPT, FAMILY_IPV4, 44, 48 },
    { 16, EVT_TCP_RECONNECT_V4, NET_TCP_RECONNECT, FAMILY_IPV4, 28, 32 },
    { 18, EVT_TCP_COPY_V4, NET_TCP_COPY, FAMILY_IPV4, 28, 32 },
    { 26, EVT_TCP_SEND_V6, NET_TCP_SEND, FAMILY_IPV6, 60, 64 },
    { 27, EVT_TCP_RECV_V6, NET_TCP_RECV, FAMILY_IPV6, 52, 56 },
    { 28, EVT_TCP_CONNECT_V6, NET_TCP_CONNECT, FAMILY_IPV6, 68, 72 },
    { 29, EVT_TCP_DISCONNECT_V6, NET_TCP_DISCONNECT, FAMILY_IPV6, 52, 56 },
    { 30, EVT_TCP_RETRANSMIT_V6, NET_TCP_RETRANSMIT, FAMILY_IPV6, 52, 56 },
    { 31, EVT_TCP_ACCEPT_V6, NET_TCP_ACCEPT, FAMILY_IPV6, 68, 72 },
    { 32, EVT_TCP_RECONNECT_V6, NET_TCP_RECONNECT, FAMILY_IPV6, 52, 56 },
    { 34, EVT_TCP_COPY_V6, NET_TCP_COPY, FAMILY_IPV6, 52, 56 },
};

static const struct net_case udp_cases[] = {
    { 10, EVT_UDP_SEND_V4, NET_UDP_SEND, FAMILY_IPV4, 28, 32 },
    { 11, EVT_UDP_RECV_V4, NET_UDP_RECV, FAMILY_IPV4, 28, 32 },
    { 26, EVT_UDP_SEND_V6, NET_UDP_SEND, FAMILY_IPV6, 52, 56 },
    { 27, EVT_UDP_RECV_V6, NET_UDP_RECV, FAMILY_IPV6, 52, 56 },
};


/* Distinct non-zero values in every field, so a field read from the wrong offset shows. */
static struct payload_net sample_net(uint8_t opcode, uint8_t pointer_size)
{
    struct payload_net f;
    memset(&f, 0, sizeof f);
    f.pid = 0x01020300u + opcode;
    f.size = 0x00110000u + pointer_size;
    for (int i = 0; i < 16; i++) {
        f.daddr[i] = (uint8_t)(0xD0 + i);
        f.saddr[i] = (uint8_t)(0x50 + i);
    }
    f.dport = 0x01BD;  /* 445 */
    f.sport = 0xFA19;  /* 64025 */
    f.startime = 0x61616161u;
    f.endtime = 0x62626262u;
    f.seqnum = 0x73737373u;
    f.connid = 0x7c7c7c7c7c7c7c7cu;
    f.mss = 1460; f.sackopt = 1; f.tsopt = 1; f.wsopt = 8;
    f.rcvwin = 65535; f.rcvwinscale = 8; f.sndwinscale = 8;
    return f;
}

static void check_net_fact(const struct net_case *c, const struct payload_net *in,
                           const struct trace_fact *fact)
{
    assert_int_equal(fact->kind, FACT_NET);
    assert_int_equal(fact->type, c->type);
    assert_int_equal(fact->u.net.op, c->op);
    assert_int_equal(fact->u.net.family, c->family);
    assert_int_equal(fact->u.net.pid, in->pid);
    assert_int_equal(fact->u.net.size, in->size);
    size_t alen = c->family == FAMILY_IPV6 ? 16 : 4;
    assert_memory_equal(fact->u.net.daddr, in->daddr, alen);
    assert_memory_equal(fact->u.net.saddr, in->saddr, alen);
    static const uint8_t zero[16];
    assert_memory_equal(fact->u.net.daddr + alen, zero, 16 - alen);
    assert_memory_equal(fact->u.net.saddr + alen, zero, 16 - alen);
    assert_int_equal(fact->u.net.dport, in->dport);
    assert_int_equal(fact->u.net.sport, in->sport);
}

static size_t build_net(int is_udp, uint8_t *buf, size_t cap, uint8_t opcode, uint8_t ps,
                        const struct payload_net *f)
{
    return is_udp ? payload_udpip(buf, cap, opcode, ps, f) : payload_tcpip(buf, cap, opcode, ps, f);
}

static void check_net_cases(int is_udp, const struct net_case *cases, size_t n)
{
    enum trace_class cls = is_udp ? TRACE_CLASS_UDPIP : TRACE_CLASS_TCPIP;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < ARRAY_SIZE(pointer_sizes); k++) {
            uint8_t ps = pointer_sizes[k];
            struct payload_net in = sample_net(cases[i].opcode, ps);
            uint8_t buf[128];
            size_t len = build_net(is_udp, buf, sizeof buf, cases[i].opcode, ps, &in);
            assert_int_equal(len, ps == 4 ? cases[i].len4 : cases[i].len8);
            struct trace_fact fact;
            assert_int_equal(decode_exact(cls, cases[i].opcode, 2, ps, buf, len, &fact), DECODE_OK);
            check_net_fact(&cases[i], &in, &fact);
        }
    }
}

/* Version 0 (Windows 2000, XP) is another layout: TcpIp has daddr, saddr, dport, sport,
 * size, then PID; UdpIp a context pointer and no PID. Unknown, whatever the length. */
static void test_net_version_0_is_unknown(void **state)
{
    (void)state;
    static const uint8_t tcp[] = {10, 0, 0, 1, 192, 168, 1, 2, 0x01, 0xBB, 0xC3, 0x50,
                                  0xE8, 0x03, 0, 0, 0x34, 0x12, 0, 0};
    static const uint8_t udp[] = {0x3C, 0x08, 0, 0, 10, 0, 0, 1, 0x07, 0x6C, 0x87, 0x01,
                                  0xEF, 0xFF, 0xFF, 0xFA, 0x07, 0x6C, 0, 0};
    struct trace_fact fact;
    for (uint8_t opcode = 10; opcode <= 16; opcode++)
        assert_int_equal(decode_exact(TRACE_CLASS_TCPIP, opcode, 0, 4, tcp, sizeof tcp, &fact),
                         DECODE_UNKNOWN);
    for (uint8_t opcode = 10; opcode <= 11; opcode++)
        assert_int_equal(decode_exact(TRACE_CLASS_UDPIP, opcode, 0, 4, udp, sizeof udp, &fact),
                         DECODE_UNKNOWN);
}

/* Version 1 (XP, 2003): PID, size, daddr, saddr, dport, sport and nothing after. */
static void test_net_version_1_ends_at_the_ports(void **state)
{
    (void)state;
    struct payload_net in = sample_net(11, 4);
    uint8_t buf[128];
    size_t len = build_net(0, buf, sizeof buf, 11, 4, &in);
    assert_true(len > 20);
    struct trace_fact fact;
    assert_int_equal(decode_exact(TRACE_CLASS_TCPIP, 11, 1, 4, buf, 20, &fact), DECODE_OK);
    assert_int_equal(fact.u.net.pid, in.pid);
    assert_int_equal(fact.u.net.size, in.size);
    assert_int_equal(fact.u.net.dport, in.dport);
    assert_int_equal(fact.u.net.sport, in.sport);
}

static void test_tcp_every_type_both_pointer_sizes(void **state)
{
    (void)state;
    check_net_cases(0, tcp_cases, ARRAY_SIZE(tcp_cases));
}

static void test_udp_every_type_both_pointer_sizes(void **state)
{
    (void)state;
    check_net_cases(1, udp_cases, ARRAY_SIZE(udp_cases));
}

/* A fact needs the payload up to the ports (IPv4 20 bytes, IPv6 44): every length shorter
 * than that is malformed, down to an empty payload; a longer one that still ends before
 * the layout's trailing fields (seqnum, connid) decodes with the endpoints intact. */
static void check_net_truncations(int is_udp, const struct net_case *cases, size_t n)
{
    enum trace_class cls = is_udp ? TRACE_CLASS_UDPIP : TRACE_CLASS_TCPIP;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < ARRAY_SIZE(pointer_sizes); k++) {
            uint8_t ps = pointer_sizes[k];
            struct payload_net in = sample_net(cases[i].opcode, ps);
            uint8_t buf[128];
            size_t len = build_net(is_udp, buf, sizeof buf, cases[i].opcode, ps, &in);
            assert_true(len > 0);
            size_t endpoints = cases[i].opcode >= 26 ? 44 : 20;
            for (size_t cut = 0; cut < len; cut++) {
                struct trace_fact fact;
                enum decode_status got = decode_exact(cls, cases[i].opcode, 2, ps, buf, cut,
                                                      &fact);
                assert_int_equal(got, cut < endpoints ? DECODE_MALFORMED : DECODE_OK);
                if (got == DECODE_OK) {
                    assert_int_equal(fact.u.net.pid, in.pid);
                    assert_int_equal(fact.u.net.size, in.size);
                    assert_int_equal(fact.u.net.sport, in.sport);
                }
            }
        }
    }
}

static void test_net_truncated_at_every_length(void **state)
{
    (void)state;
    check_net_truncations(0, tcp_cases, ARRAY_SIZE(tcp_cases));
    check_net_truncations(1, udp_cases, ARRAY_SIZE(udp_cases));
}

/* Newer versions append fields: a longer payload decodes the same. */
static void test_net_oversized_is_ok(void **state)
{
    (void)state;
    static const size_t extra[] = { 1, 3, 8, 100 };
    for (int is_udp = 0; is_udp < 2; is_udp++) {
        const struct net_case *cases = is_udp ? udp_cases : tcp_cases;
        size_t n = is_udp ? ARRAY_SIZE(udp_cases) : ARRAY_SIZE(tcp_cases);
        for (size_t i = 0; i < n; i++) {
            for (size_t k = 0; k < ARRAY_SIZE(pointer_sizes); k++) {
                for (size_t e = 0; e < ARRAY_SIZE(extra); e++) {
                    uint8_t ps = pointer_sizes[k];
                    struct payload_net in = sample_net(cases[i].opcode, ps);
                    uint8_t buf[256];
                    memset(buf, 0xCC, sizeof buf);
                    size_t len = build_net(is_udp, buf, sizeof buf, cases[i].opcode, ps, &in);
                    struct trace_fact fact;
                    enum trace_class cls = is_udp ? TRACE_CLASS_UDPIP : TRACE_CLASS_TCPIP;
                    assert_int_equal(decode_exact(cls, cases[i].opcode, 3, ps, buf,
                                                  len + extra[e], &fact), DECODE_OK);
                    check_net_fact(&cases[i], &in, &fact);
                }
            }
        }
    }
}

/* Fail: proto and code as recorded, including codes outside the documented 1..6. */
static void test_tcp_fail_codes(void **state)
{
    (void)state;
    static const uint16_t protos[] = { 2, 23 };
    static const uint16_t codes[] = { 0, 1, 2, 3, 4, 5, 6, 7, 0xFFFF };
    for (size_t k = 0; k < ARRAY_SIZE(pointer_sizes); k++)
        for (size_t p = 0; p < ARRAY_SIZE(protos); p++)
            for (size_t c = 0; c < ARRAY_SIZE(codes); c++) {
                struct payload_net in;
                memset(&in, 0, sizeof in);
                in.fail_proto = protos[p];
                in.fail_code = codes[c];
                uint8_t buf[16];
                size_t len = payload_tcpip(buf, sizeof buf, 17, pointer_sizes[k], &in);
                assert_int_equal(len, 4);
                struct trace_fact fact;
                assert_int_equal(decode_exact(TRACE_CLASS_TCPIP, 17, 2, pointer_sizes[k], buf, len,
                                              &fact), DECODE_OK);
                assert_int_equal(fact.kind, FACT_FAIL);
                assert_int_equal(fact.type, EVT_TCP_FAIL);
                assert_int_equal(fact.u.fail.proto, protos[p]);
                assert_int_equal(fact.u.fail.code, codes[c]);
                for (size_t cut = 0; cut < len; cut++)
                    assert_int_equal(decode_exact(TRACE_CLASS_TCPIP, 17, 2, pointer_sizes[k], buf,
                                                  cut, &fact), DECODE_MALFORMED);
            }
    /* Little-endian on the wire: bytes 17 00 05 00 are AF_INET6, code 5. */
    static const uint8_t raw[] = { 0x17, 0x00, 0x05, 0x00, 0xEE };
    struct trace_fact fact;
    assert_int_equal(decode_exact(TRACE_CLASS_TCPIP, 17, 2, 8, raw, sizeof raw, &fact), DECODE_OK);
    assert_int_equal(fact.u.fail.proto, 23);
    assert_int_equal(fact.u.fail.code, 5);
}

/* Hand-written bytes, no builder: the first SendIPV6 of net.4.5.2.x64.baseline.txt
 * (PID=4 size=65,652 daddr=2001:4898:e0:81:7cb9... saddr=2001:4898:f0:26:b18e...
 * dport=445 sport=64,025, DataLen=64). Ports are big-endian, addresses raw. */
static void test_port_byte_order_and_addresses_as_is(void **state)
{
    (void)state;
    uint8_t raw[64] = {
        0x04, 0x00, 0x00, 0x00,             /* PID 4 */
        0x74, 0x00, 0x01, 0x00,             /* size 65652 = 0x10074 */
        0x20, 0x01, 0x48, 0x98, 0x00, 0xe0, 0x00, 0x81, /* daddr 2001:4898:e0:81:7cb9::1 */
        0x7c, 0xb9, 0, 0, 0, 0, 0, 0x01,
        0x20, 0x01, 0x48, 0x98, 0x00, 0xf0, 0x00, 0x26, /* saddr 2001:4898:f0:26:b18e::2 */
        0xb1, 0x8e, 0, 0, 0, 0, 0, 0x02,
        0x01, 0xBD,                         /* dport 445 */
        0xFA, 0x19,                         /* sport 64025 */
        /* startime, endtime, seqnum, connid: zero */
    };
    struct trace_fact fact;
    assert_int_equal(decode_exact(TRACE_CLASS_TCPIP, 26, 2, 8, raw, sizeof raw, &fact), DECODE_OK);
    assert_int_equal(fact.type, EVT_TCP_SEND_V6);
    assert_int_equal(fact.u.net.pid, 4);
    assert_int_equal(fact.u.net.size, 65652);
    assert_int_equal(fact.u.net.dport, 445);
    assert_int_equal(fact.u.net.sport, 64025);
    assert_memory_equal(fact.u.net.daddr, raw + 8, 16);
    assert_memory_equal(fact.u.net.saddr, raw + 24, 16);

    /* UdpIp Send of net.4.5.2.x86.baseline.txt (DataLen=32): PID 2108, size 391. TraceEvent
     * read it with an older template and printed the first 8 bytes as
     * context=0x1870000083c, which is PID @0 and size @4 as collector/README.md says. Its
     * address and port fields come from that older template, so they cannot tell which of the two
     * addresses is local; here they only check positions (daddr @8, saddr @12, ports). */
    uint8_t udp[32] = {
        0x3c, 0x08, 0x00, 0x00, 0x87, 0x01, 0x00, 0x00,
        10, 128, 0, 77,  10, 128, 0, 55,
        0xFA, 0xAE, 0x07, 0x6C,             /* 64174, 1900 */
    };
    assert_int_equal(decode_exact(TRACE_CLASS_UDPIP, 10, 2, 8, udp, sizeof udp, &fact), DECODE_OK);
    assert_int_equal(fact.type, EVT_UDP_SEND_V4);
    assert_int_equal(fact.u.net.pid, 2108);
    assert_int_equal(fact.u.net.size, 391);
    assert_int_equal(fact.u.net.dport, 64174);
    assert_int_equal(fact.u.net.sport, 1900);
    static const uint8_t d4[4] = { 10, 128, 0, 77 }, s4[4] = { 10, 128, 0, 55 };
    assert_memory_equal(fact.u.net.daddr, d4, 4);
    assert_memory_equal(fact.u.net.saddr, s4, 4);

    /* The oracle agrees with the trace's reading of the first 8 bytes. */
    struct payload_net in;
    memset(&in, 0, sizeof in);
    in.pid = 2108;
    in.size = 391;
    uint8_t built[64];
    assert_int_equal(payload_udpip(built, sizeof built, 10, 8, &in), 32);
    uint64_t context = 0;
    for (int i = 7; i >= 0; i--)
        context = context << 8 | built[i];
    assert_true(context == UINT64_C(0x1870000083c));
}

static void test_bad_pointer_sizes_are_malformed(void **state)
{
    (void)state;
    static const uint8_t bad[] = { 0, 1, 2, 3, 5, 6, 7, 9, 16, 255 };
    uint8_t big[512];
    memset(big, 0x41, sizeof big); /* non-zero SID marker, no NUL: still long enough */
    struct payload_process pf;
    memset(&pf, 0, sizeof pf);
    pf.sid_sub_authorities = -1;
    pf.image_name = "a.exe";
    uint8_t proc[128];
    size_t plen = payload_process(proc, sizeof proc, 4, 8, &pf);
    assert_true(plen > 0);
    for (size_t b = 0; b < ARRAY_SIZE(bad); b++) {
        struct trace_fact fact;
        for (size_t i = 0; i < ARRAY_SIZE(tcp_cases); i++)
            assert_int_equal(decode_exact(TRACE_CLASS_TCPIP, tcp_cases[i].opcode, 2, bad[b], big,
                                          sizeof big, &fact), DECODE_MALFORMED);
        for (size_t i = 0; i < ARRAY_SIZE(udp_cases); i++)
            assert_int_equal(decode_exact(TRACE_CLASS_UDPIP, udp_cases[i].opcode, 2, bad[b], big,
                                          sizeof big, &fact), DECODE_MALFORMED);
        assert_int_equal(decode_exact(TRACE_CLASS_TCPIP, 17, 2, bad[b], big, 4, &fact),
                         DECODE_MALFORMED);
        assert_int_equal(decode_exact(TRACE_CLASS_PROCESS, 1, 4, bad[b], proc, plen, &fact),
                         DECODE_MALFORMED);
        assert_int_equal(decode_exact(TRACE_CLASS_LOST_EVENT, 32, 2, bad[b], NULL, 0, &fact),
                         DECODE_MALFORMED);
        /* Unknown stays unknown whatever the pointer size. */
        assert_int_equal(decode_exact(TRACE_CLASS_OTHER, 10, 2, bad[b], big, sizeof big, &fact),
                         DECODE_UNKNOWN);
        assert_int_equal(decode_exact(TRACE_CLASS_TCPIP, 19, 2, bad[b], big, sizeof big, &fact),
                         DECODE_UNKNOWN);
    }
}

static int in_list(uint8_t v, const uint8_t *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == v)
            return 1;
    return 0;
}

static void test_unknown_classes_and_opcodes(void **state)
{
    (void)state;
    static const uint8_t tcp_known[] = { 10, 11, 12, 13, 14, 15, 16, 17, 18,
                                         26, 27, 28, 29, 30, 31, 32, 34 };
    static const uint8_t udp_known[] = { 10, 11, 26, 27 }; /* 17 (UDP fail) is left unknown */
    static const uint8_t proc_known[] = { 1, 2, 3, 4, 39 };
    static const uint8_t lost_known[] = { 32, 33, 34 };
    uint8_t big[512];
    memset(big, 0, sizeof big);
    struct trace_fact fact;
    for (unsigned op = 0; op < 256; op++) {
        uint8_t o = (uint8_t)op;
        enum decode_status want;
        want = in_list(o, tcp_known, ARRAY_SIZE(tcp_known)) ? DECODE_OK : DECODE_UNKNOWN;
        assert_int_equal(decode_exact(TRACE_CLASS_TCPIP, o, 2, 8, big, sizeof big, &fact), want);
        want = in_list(o, udp_known, ARRAY_SIZE(udp_known)) ? DECODE_OK : DECODE_UNKNOWN;
        assert_int_equal(decode_exact(TRACE_CLASS_UDPIP, o, 2, 8, big, sizeof big, &fact), want);
        /* all-zero bytes: no SID, empty name, empty strings: a valid v4 process payload */
        want = in_list(o, proc_known, ARRAY_SIZE(proc_known)) ? DECODE_OK : DECODE_UNKNOWN;
        assert_int_equal(decode_exact(TRACE_CLASS_PROCESS, o, 4, 8, big, sizeof big, &fact), want);
        want = in_list(o, lost_known, ARRAY_SIZE(lost_known)) ? DECODE_OK : DECODE_UNKNOWN;
        assert_int_equal(decode_exact(TRACE_CLASS_LOST_EVENT, o, 2, 8, big, sizeof big, &fact),
                         want);
        assert_int_equal(decode_exact(TRACE_CLASS_OTHER, o, 2, 8, big, sizeof big, &fact),
                         DECODE_UNKNOWN);
        assert_int_equal(decode_exact((enum trace_class)77, o, 2, 8, big, sizeof big, &fact),
                         DECODE_UNKNOWN);
    }
}

/* ---- Process ---------------------------------------------------------------------- */

struct proc_opcase {
    uint8_t opcode;
    enum process_op op;
    enum event_type type;
};

static const struct proc_opcase proc_ops[] = {
    { 1, PROC_START, EVT_PROCESS_START },
    { 2, PROC_END, EVT_PROCESS_END },
    { 3, PROC_DCSTART, EVT_PROCESS_DCSTART },
    { 4, PROC_DCEND, EVT_PROCESS_DCEND },
    { 39, PROC_DEFUNCT, EVT_PROCESS_DEFUNCT },
};

static const uint8_t versions[] = { 0, 1, 2, 3, 4, 5, 9 };
static const int sid_counts[] = { -1, 0, 1, 2, 5, 15 };

static struct payload_process sample_process(uint8_t ps, int sids)
{
    struct payload_process f;
    memset(&f, 0, sizeof f);
    f.unique_key = ps == 8 ? UINT64_C(0xfffffa8300cfb380) : 0x83cfb380u;
    f.pid = 3676;
    f.parent_pid = 3508;
    f.session_id = 1;
    f.exit_status = 259;
    f.directory_table_base = 0x558fb000u;
    f.flags = 0x10;
    f.sid_sub_authorities = sids;
    f.image_name = "Test.x64.exe";
    f.command_line = "Test.x64.exe --flag";
    f.extra_bytes = 12;
    return f;
}

/* Length of the layout the decoder must see in full: everything but the bytes a newer
 * version appends. */
static size_t required_len(uint8_t version, size_t built_len, const struct payload_process *f)
{
    return version > 4 ? built_len - f->extra_bytes : built_len;
}

static void check_process_fact(const struct trace_fact *fact, const struct proc_opcase *c,
                               uint8_t version, uint8_t ps, const struct payload_process *in,
                               const char *want_name)
{
    assert_int_equal(fact->kind, FACT_PROCESS);
    assert_int_equal(fact->type, c->type);
    assert_int_equal(fact->u.process.op, c->op);
    assert_int_equal(fact->u.process.pid, in->pid);
    assert_int_equal(fact->u.process.parent_pid, in->parent_pid);
    if (version >= 1) {
        assert_int_equal(fact->u.process.session_id, in->session_id);
        assert_int_equal(fact->u.process.exit_status, in->exit_status);
    } else {
        assert_int_equal(fact->u.process.session_id, 0);
        assert_int_equal(fact->u.process.exit_status, 0);
    }
    uint64_t key = version >= 2 ? (ps == 8 ? in->unique_key : (uint32_t)in->unique_key) : 0;
    assert_true(fact->u.process.unique_key == key);
    assert_string_equal(fact->u.process.image_name, want_name);
}

static void test_process_every_version_opcode_sid(void **state)
{
    (void)state;
    for (size_t v = 0; v < ARRAY_SIZE(versions); v++)
        for (size_t k = 0; k < ARRAY_SIZE(pointer_sizes); k++)
            for (size_t s = 0; s < ARRAY_SIZE(sid_counts); s++)
                for (size_t o = 0; o < ARRAY_SIZE(proc_ops); o++) {
                    uint8_t ps = pointer_sizes[k];
                    struct payload_process in = sample_process(ps, sid_counts[s]);
                    uint8_t buf[512];
                    size_t len = payload_process(buf, sizeof buf, versions[v], ps, &in);
                    assert_true(len > 0);
                    struct trace_fact fact;
                    assert_int_equal(decode_exact(TRACE_CLASS_PROCESS, proc_ops[o].opcode,
                                                  versions[v], ps, buf, len, &fact), DECODE_OK);
                    check_process_fact(&fact, &proc_ops[o], versions[v], ps, &in, in.image_name);
                }
}

/* The SID is walked, not assumed: the name offset moves by 4 per sub-authority. */
static void test_process_sid_offsets(void **state)
{
    (void)state;
    for (size_t k = 0; k < ARRAY_SIZE(pointer_sizes); k++) {
        uint8_t ps = pointer_sizes[k];
        struct payload_process none = sample_process(ps, -1), one = sample_process(ps, 1),
                               five = sample_process(ps, 5);
        size_t head = 2u * ps + 20; /* v4 fixed part */
        assert_int_equal(payload_process_name_offset(4, ps, &none), head + 4);
        assert_int_equal(payload_process_name_offset(4, ps, &one), head + 2u * ps + 8 + 4);
        assert_int_equal(payload_process_name_offset(4, ps, &five), head + 2u * ps + 8 + 20);
    }
}

static void test_process_truncated_at_every_length(void **state)
{
    (void)state;
    for (size_t v = 0; v < ARRAY_SIZE(versions); v++)
        for (size_t k = 0; k < ARRAY_SIZE(pointer_sizes); k++)
            for (size_t s = 0; s < ARRAY_SIZE(sid_counts); s++) {
                uint8_t ps = pointer_sizes[k];
                struct payload_process in = sample_process(ps, sid_counts[s]);
                uint8_t buf[512];
                size_t len = payload_process(buf, sizeof buf, versions[v], ps, &in);
                size_t need = required_len(versions[v], len, &in);
                struct trace_fact fact;
                for (size_t cut = 0; cut < need; cut++)
                    assert_int_equal(decode_exact(TRACE_CLASS_PROCESS, 1, versions[v], ps, buf,
                                                  cut, &fact), DECODE_MALFORMED);
                /* Appended fields of newer versions may be cut anywhere. */
                for (size_t cut = need; cut <= len; cut++) {
                    assert_int_equal(decode_exact(TRACE_CLASS_PROCESS, 1, versions[v], ps, buf,
                                                  cut, &fact), DECODE_OK);
                    check_process_fact(&fact, &proc_ops[0], versions[v], ps, &in, in.image_name);
                }
            }
}

static void test_process_oversized_is_ok(void **state)
{
    (void)state;
    for (size_t v = 0; v < ARRAY_SIZE(versions); v++)
        for (size_t k = 0; k < ARRAY_SIZE(pointer_sizes); k++) {
            uint8_t ps = pointer_sizes[k];
            struct payload_process in = sample_process(ps, 2);
            uint8_t buf[512];
            memset(buf, 0x7A, sizeof buf);
            size_t len = payload_process(buf, sizeof buf, versions[v], ps, &in);
            struct trace_fact fact;
            assert_int_equal(decode_exact(TRACE_CLASS_PROCESS, 3, versions[v], ps, buf, len + 37,
                                          &fact), DECODE_OK);
            check_process_fact(&fact, &proc_ops[2], versions[v], ps, &in, in.image_name);
        }
}

static void test_process_long_names_truncated(void **state)
{
    (void)state;
    char name[200];
    static const size_t lengths[] = { 0, 1, 62, 63, 64, 65, 199 };
    for (size_t l = 0; l < ARRAY_SIZE(lengths); l++)
        for (size_t k = 0; k < ARRAY_SIZE(pointer_sizes); k++) {
            for (size_t i = 0; i < lengths[l]; i++)
                name[i] = (char)('a' + i % 26);
            name[lengths[l]] = '\0';
            struct payload_process in = sample_process(pointer_sizes[k], 1);
            in.image_name = name;
            uint8_t buf[512];
            size_t len = payload_process(buf, sizeof buf, 4, pointer_sizes[k], &in);
            struct trace_fact fact;
            assert_int_equal(decode_exact(TRACE_CLASS_PROCESS, 1, 4, pointer_sizes[k], buf, len,
                                          &fact), DECODE_OK);
            char want[IMAGE_NAME_MAX];
            size_t keep = lengths[l] < IMAGE_NAME_MAX - 1 ? lengths[l] : IMAGE_NAME_MAX - 1;
            memcpy(want, name, keep);
            want[keep] = '\0';
            assert_string_equal(fact.u.process.image_name, want);
        }
}

/* A name with no NUL before the payload ends is malformed (even for v0/v1, where the
 * name is the last field): the terminator is part of every layout. */
static void test_process_name_without_nul_is_malformed(void **state)
{
    (void)state;
    for (size_t v = 0; v < ARRAY_SIZE(versions); v++)
        for (size_t k = 0; k < ARRAY_SIZE(pointer_sizes); k++) {
            uint8_t ps = pointer_sizes[k];
            struct payload_process in = sample_process(ps, 3);
            uint8_t buf[512];
            size_t off = payload_process_name_offset(versions[v], ps, &in);
            assert_true(payload_process(buf, sizeof buf, versions[v], ps, &in) > off);
            memcpy(buf + off, "noterminator", 12);
            struct trace_fact fact;
            assert_int_equal(decode_exact(TRACE_CLASS_PROCESS, 1, versions[v], ps, buf, off + 12,
                                          &fact), DECODE_MALFORMED);
        }
}

/* A SID whose sub-authority count points past the end is malformed, not followed. */
static void test_process_sid_count_past_end(void **state)
{
    (void)state;
    struct payload_process in = sample_process(8, 1);
    uint8_t buf[512];
    size_t len = payload_process(buf, sizeof buf, 4, 8, &in);
    size_t sid = 2 * 8 + 20 + 2 * 8;
    buf[sid + 1] = 255; /* 1020 bytes of sub-authorities */
    struct trace_fact fact;
    assert_int_equal(decode_exact(TRACE_CLASS_PROCESS, 1, 4, 8, buf, len, &fact),
                     DECODE_MALFORMED);
}

/* Payload lengths of real events (net.4.5.2.x64.baseline.txt DataLen) reproduced by the
 * v4 layout with 8-byte pointers: the SID walk and string fields add up. */
static void test_process_lengths_match_real_trace(void **state)
{
    (void)state;
    struct {
        const char *name, *cmd;
        int sids;
        size_t datalen;
        uint32_t pid;
        uint64_t key;
    } real[] = {
        { "Idle", "", 1, 75, 0, UINT64_C(0xfffff800217d9200) },
        { "System", "", 1, 77, 4, UINT64_C(0xfffffa830007e4c0) },
        { "smss.exe", "\\SystemRoot\\System32\\smss.exe", 1, 137, 456,
          UINT64_C(0xfffffa83023ad940) },
        { "Test.x64.exe", "Test.x64.exe", 5, 123, 3676, UINT64_C(0xfffffa8300cfb380) },
        { "LogonUI.exe", "", 1, 82, 988, UINT64_C(0xfffffa8303096940) },
    };
    for (size_t i = 0; i < ARRAY_SIZE(real); i++) {
        struct payload_process in;
        memset(&in, 0, sizeof in);
        in.pid = real[i].pid;
        in.unique_key = real[i].key;
        in.sid_sub_authorities = real[i].sids;
        in.image_name = real[i].name;
        in.command_line = real[i].cmd;
        uint8_t buf[512];
        size_t len = payload_process(buf, sizeof buf, 4, 8, &in);
        assert_int_equal(len, real[i].datalen);
        struct trace_fact fact;
        assert_int_equal(decode_exact(TRACE_CLASS_PROCESS, 3, 4, 8, buf, len, &fact), DECODE_OK);
        assert_string_equal(fact.u.process.image_name, real[i].name);
        assert_int_equal(fact.u.process.pid, real[i].pid);
        assert_true(fact.u.process.unique_key == real[i].key);
    }
}

/* ---- RT_LostEvent and names ------------------------------------------------------- */

static void test_lost_events(void **state)
{
    (void)state;
    static const struct { uint8_t opcode; enum lost_op op; enum event_type type; } cases[] = {
        { 32, LOST_EVENT, EVT_LOST_EVENT },
        { 33, LOST_BUFFER, EVT_LOST_BUFFER },
        { 34, LOST_FILE, EVT_LOST_FILE },
    };
    uint8_t some[8] = { 0 };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        for (size_t k = 0; k < ARRAY_SIZE(pointer_sizes); k++) {
            struct trace_fact fact;
            assert_int_equal(decode_exact(TRACE_CLASS_LOST_EVENT, cases[i].opcode, 2,
                                          pointer_sizes[k], NULL, 0, &fact), DECODE_OK);
            assert_int_equal(fact.kind, FACT_LOST);
            assert_int_equal(fact.type, cases[i].type);
            assert_int_equal(fact.u.lost.op, cases[i].op);
            assert_int_equal(decode_exact(TRACE_CLASS_LOST_EVENT, cases[i].opcode, 2,
                                          pointer_sizes[k], some, sizeof some, &fact), DECODE_OK);
        }
}

static void test_event_type_names(void **state)
{
    (void)state;
    assert_string_equal(event_type_name(EVT_TCP_SEND_V4), "tcp_send_ipv4");
    assert_string_equal(event_type_name(EVT_TCP_RECV_V6), "tcp_recv_ipv6");
    assert_string_equal(event_type_name(EVT_TCP_FAIL), "tcp_fail");
    assert_string_equal(event_type_name(EVT_UDP_RECV_V4), "udp_recv_ipv4");
    assert_string_equal(event_type_name(EVT_PROCESS_START), "process_start");
    assert_string_equal(event_type_name(EVT_PROCESS_DEFUNCT), "process_defunct");
    assert_string_equal(event_type_name(EVT_LOST_EVENT), "lost_event");
    assert_string_equal(event_type_name(EVT_LOST_BUFFER), "lost_buffer");
    assert_string_equal(event_type_name(EVT_TYPE_COUNT), "unknown");
    assert_string_equal(event_type_name((enum event_type)-1), "unknown");
    for (int t = 0; t < EVT_TYPE_COUNT; t++) {
        const char *name = event_type_name((enum event_type)t);
        assert_non_null(name);
        assert_true(strlen(name) > 0);
        assert_string_not_equal(name, "unknown");
        for (const char *c = name; *c; c++)
            assert_true((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_');
        for (int u = 0; u < t; u++)
            assert_string_not_equal(name, event_type_name((enum event_type)u));
    }
}

/* ---- SystemConfig Services and UTF-16 ---------------------------------------------- */

/* Appends s as UTF-16LE with its NUL; non-ASCII given as \uXXXX code units in units[]. */
static size_t put_utf16(uint8_t *p, size_t at, const uint16_t *units, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[at++] = (uint8_t)(units[i] & 0xFF);
        p[at++] = (uint8_t)(units[i] >> 8);
    }
    p[at++] = 0;
    p[at++] = 0;
    return at;
}

static size_t put_ascii16(uint8_t *p, size_t at, const char *s)
{
    uint16_t units[128];
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        units[i] = (uint8_t)s[i];
    return put_utf16(p, at, units, n);
}

/* Written from the layout in collector/README.md: pid, state, sub-process tag, then three
 * NUL-terminated UTF-16 strings. */
static size_t build_services(uint8_t *p, uint32_t pid, uint32_t state, const char *name,
                             const char *display, const char *process)
{
    memset(p, 0xEE, 12);
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(pid >> (8 * i));
        p[4 + i] = (uint8_t)(state >> (8 * i));
        p[8 + i] = (uint8_t)(7u >> (8 * i));
    }
    size_t at = put_ascii16(p, 12, name);
    at = put_ascii16(p, at, display);
    return put_ascii16(p, at, process);
}

static void test_services_record(void **state)
{
    (void)state;
    uint8_t p[512];
    size_t len = build_services(p, 1188, 4, "Dnscache", "DNS Client", "svchost");
    struct trace_fact fact;
    for (uint8_t version = 2; version <= 5; version++)
        for (size_t i = 0; i < ARRAY_SIZE(pointer_sizes); i++) {
            assert_int_equal(decode_exact(TRACE_CLASS_SYSCONFIG, 15, version, pointer_sizes[i],
                                          p, len, &fact), DECODE_OK);
            assert_int_equal(fact.kind, FACT_SERVICE);
            assert_int_equal(fact.type, EVT_SYSCONFIG_SERVICES);
            assert_int_equal(fact.u.service.pid, 1188);
            assert_int_equal(fact.u.service.state, 4);
            assert_string_equal(fact.u.service.name, "Dnscache");
            assert_string_equal(fact.u.service.display_name, "DNS Client");
        }
    /* version 0 and 1 have another layout; the other SystemConfig types are not ours */
    assert_int_equal(decode_exact(TRACE_CLASS_SYSCONFIG, 15, 1, 8, p, len, &fact), DECODE_UNKNOWN);
    for (unsigned op = 0; op < 256; op++)
        if (op != 15)
            assert_int_equal(decode_exact(TRACE_CLASS_SYSCONFIG, (uint8_t)op, 2, 8, p, len,
                                          &fact), DECODE_UNKNOWN);
}

/* Every length short of the last string's NUL is malformed, and never read past. */
static void test_services_truncated_at_every_length(void **state)
{
    (void)state;
    uint8_t p[512];
    size_t len = build_services(p, 844, 4, "NlaSvc", "Network Location Awareness", "svchost");
    struct trace_fact fact;
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(decode_exact(TRACE_CLASS_SYSCONFIG, 15, 2, 8, p, cut, &fact),
                         DECODE_MALFORMED);
    assert_int_equal(decode_exact(TRACE_CLASS_SYSCONFIG, 15, 2, 8, p, len, &fact), DECODE_OK);
    /* trailing bytes (a later version's fields) are fine */
    memset(p + len, 0x41, 16);
    assert_int_equal(decode_exact(TRACE_CLASS_SYSCONFIG, 15, 3, 8, p, len + 16, &fact),
                     DECODE_OK);
    assert_string_equal(fact.u.service.display_name, "Network Location Awareness");
}

static void test_services_long_and_non_ascii_names(void **state)
{
    (void)state;
    uint8_t p[2048];
    /* "Dienst é €" then a surrogate pair (U+1F600), then an unpaired high surrogate */
    static const uint16_t name[] = { 'D', 'i', 'e', 'n', 's', 't', ' ', 0xE9, ' ', 0x20AC,
                                     0xD83D, 0xDE00, 0xD800, 'x' };
    memset(p, 0, 12);
    p[0] = 4;
    p[4] = 4;
    size_t at = put_utf16(p, 12, name, ARRAY_SIZE(name));
    uint16_t long_display[300];
    for (size_t i = 0; i < ARRAY_SIZE(long_display); i++)
        long_display[i] = 0x00E9; /* two UTF-8 bytes each */
    at = put_utf16(p, at, long_display, ARRAY_SIZE(long_display));
    at = put_ascii16(p, at, "svchost");
    struct trace_fact fact;
    assert_int_equal(decode_exact(TRACE_CLASS_SYSCONFIG, 15, 2, 8, p, at, &fact), DECODE_OK);
    assert_string_equal(fact.u.service.name,
                        "Dienst \xc3\xa9 \xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbdx");
    /* truncated at a character boundary: 63 two-byte characters fit in 127 bytes */
    assert_int_equal(strlen(fact.u.service.display_name), 126);
    assert_int_equal((unsigned char)fact.u.service.display_name[124], 0xC3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_every_type_both_pointer_sizes),
        cmocka_unit_test(test_net_version_0_is_unknown),
        cmocka_unit_test(test_net_version_1_ends_at_the_ports),
        cmocka_unit_test(test_udp_every_type_both_pointer_sizes),
        cmocka_unit_test(test_net_truncated_at_every_length),
        cmocka_unit_test(test_net_oversized_is_ok),
        cmocka_unit_test(test_tcp_fail_codes),
        cmocka_unit_test(test_port_byte_order_and_addresses_as_is),
        cmocka_unit_test(test_bad_pointer_sizes_are_malformed),
        cmocka_unit_test(test_unknown_classes_and_opcodes),
        cmocka_unit_test(test_process_every_version_opcode_sid),
        cmocka_unit_test(test_process_sid_offsets),
        cmocka_unit_test(test_process_truncated_at_every_length),
        cmocka_unit_test(test_process_oversized_is_ok),
        cmocka_unit_test(test_process_long_names_truncated),
        cmocka_unit_test(test_process_name_without_nul_is_malformed),
        cmocka_unit_test(test_process_sid_count_past_end),
        cmocka_unit_test(test_process_lengths_match_real_trace),
        cmocka_unit_test(test_lost_events),
        cmocka_unit_test(test_event_type_names),
        cmocka_unit_test(test_services_record),
        cmocka_unit_test(test_services_truncated_at_every_length),
        cmocka_unit_test(test_services_long_and_non_ascii_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
