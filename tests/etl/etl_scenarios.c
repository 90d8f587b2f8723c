#include "etl_scenarios.h"

#include <stdio.h>
#include <string.h>
#include "etl_format.h"
#include "payload.h"

#define T0 2000000ull /* raw ticks of the first event (the logfile header is at 1000000) */

void scenario_tcp(struct etl_writer *w, uint16_t processor, uint8_t header_type,
                  uint8_t pointer_size, uint8_t opcode, uint64_t t, uint32_t pid, uint32_t size)
{
    struct payload_net f;
    memset(&f, 0, sizeof f);
    f.pid = pid;
    f.size = size;
    f.daddr[0] = 10; f.daddr[3] = 1;
    f.saddr[0] = 10; f.saddr[3] = 2;
    f.dport = 443;
    f.sport = 50000;
    f.fail_proto = 2;
    f.fail_code = 3;
    uint8_t payload[128];
    size_t n = payload_tcpip(payload, sizeof payload, opcode, pointer_size, &f);
    struct etl_writer_event e = { .header_type = header_type, .event_class = TRACE_CLASS_TCPIP,
        .opcode = opcode, .version = 2, .timestamp = T0 + t, .pid = 0xFFFFFFFFu,
        .payload = payload, .payload_size = (uint32_t)n, .ext_items = 1 };
    etl_writer_add(w, processor, &e);
}

static void udp(struct etl_writer *w, uint16_t processor, uint8_t opcode, uint64_t t,
                uint32_t pid, uint32_t size)
{
    struct payload_net f;
    memset(&f, 0, sizeof f);
    f.pid = pid;
    f.size = size;
    uint8_t payload[128];
    size_t n = payload_udpip(payload, sizeof payload, opcode, 8, &f);
    struct etl_writer_event e = { .header_type = ETL_HDR_PERFINFO64,
        .event_class = TRACE_CLASS_UDPIP, .opcode = opcode, .version = 2, .timestamp = T0 + t,
        .payload = payload, .payload_size = (uint32_t)n };
    etl_writer_add(w, processor, &e);
}

void scenario_process(struct etl_writer *w, uint16_t processor, uint8_t header_type,
                      uint8_t pointer_size, uint8_t opcode, uint64_t t, uint32_t pid,
                      uint64_t key, const char *image)
{
    struct payload_process p;
    memset(&p, 0, sizeof p);
    p.unique_key = key;
    p.pid = pid;
    p.parent_pid = 4;
    p.session_id = 1;
    p.sid_sub_authorities = 2;
    p.image_name = image;
    p.command_line = image;
    uint8_t payload[512];
    size_t n = payload_process(payload, sizeof payload, 4, pointer_size, &p);
    struct etl_writer_event e = { .header_type = header_type, .event_class = TRACE_CLASS_PROCESS,
        .opcode = opcode, .version = 4, .timestamp = T0 + t, .pid = pid, .tid = 8,
        .payload = payload, .payload_size = (uint32_t)n, .ext_items = 2 };
    etl_writer_add(w, processor, &e);
}

/* TcpIp opcodes: every type, IPv4 then IPv6 (17 = Fail has no family of its own). */
static const uint8_t TCP_OPCODES[] = { 10, 11, 12, 13, 14, 15, 16, 18,
                                       26, 27, 28, 29, 30, 31, 32, 34 };

static uint32_t tcp_size(uint8_t opcode)
{
    switch (opcode) {
    case 10: return 1000;   /* send v4 */
    case 26: return 2000;   /* send v6 */
    case 11: return 300;    /* recv v4 */
    case 27: return 400;    /* recv v6 */
    default: return 7;      /* counted as events; their bytes are not in the summary */
    }
}

struct etl_writer *scenario_mixed64(void)
{
    struct etl_writer_config c = { .pointer_size = 8, .buffer_size = 1024 };
    struct etl_writer *w = etl_writer_create(&c);
    static const uint8_t kinds[] = { ETL_HDR_PERFINFO64, ETL_HDR_SYSTEM64, ETL_HDR_COMPACT64,
                                     ETL_HDR_FULL64, ETL_HDR_INSTANCE64, ETL_HDR_EVENT64 };
    /* Processor 2 first: its buffer (later events) lands in the file before the others. */
    scenario_tcp(w, 2, ETL_HDR_PERFINFO64, 8, 10, 210, 300, 1000);  /* gamma.exe */
    scenario_tcp(w, 2, ETL_HDR_PERFINFO64, 8, 10, 410, 300, 5000);  /* delta.exe */
    etl_writer_flush(w, 2);
    scenario_process(w, 1, ETL_HDR_EVENT64, 8, 3, 11, 200, 0xffff800000002000ull, "beta.exe");
    scenario_process(w, 1, ETL_HDR_SYSTEM64, 8, 1, 400, 300, 0xffff800000003001ull,
                     "delta.exe");
    udp(w, 1, 10, 500, 200, 300);
    udp(w, 1, 27, 501, 200, 700);
    etl_writer_flush(w, 1);
    scenario_process(w, 0, ETL_HDR_SYSTEM64, 8, 3, 10, 100, 0xffff800000001000ull, "alpha.exe");
    scenario_process(w, 0, ETL_HDR_FULL64, 8, 1, 200, 300, 0xffff800000003000ull, "gamma.exe");
    scenario_process(w, 0, ETL_HDR_COMPACT64, 8, 2, 300, 300, 0xffff800000003000ull,
                     "gamma.exe");
    for (size_t i = 0; i < sizeof TCP_OPCODES; i++)
        scenario_tcp(w, (uint16_t)(i % 3), kinds[i % 6], 8, TCP_OPCODES[i], 600 + i, 100,
                     tcp_size(TCP_OPCODES[i]));
    scenario_tcp(w, 0, ETL_HDR_FULL64, 8, 17, 700, 0, 0);          /* fail */
    scenario_tcp(w, 1, ETL_HDR_PERFINFO64, 8, 17, 701, 0, 0);      /* fail */
    scenario_tcp(w, 0, ETL_HDR_PERFINFO64, 8, 33, 702, 100, 9);    /* unknown opcode */
    uint8_t short_payload[7] = { 100 };   /* not even PID and size */
    struct etl_writer_event bad = { .header_type = ETL_HDR_PERFINFO64,
        .event_class = TRACE_CLASS_TCPIP, .opcode = 10, .version = 2, .timestamp = T0 + 703,
        .payload = short_payload, .payload_size = sizeof short_payload };
    etl_writer_add(w, 0, &bad);                                      /* malformed */
    uint8_t timed[24] = { 24, 0, 0x0C, 0xC0 };
    etl_writer_add_raw(w, 0, timed, sizeof timed);                   /* unknown kind */
    return w;
}

struct etl_writer *scenario_compressed32(bool literals_only)
{
    struct etl_writer_config c = { .pointer_size = 4, .buffer_size = 2048, .compress = true,
                                   .literals_only = literals_only };
    struct etl_writer *w = etl_writer_create(&c);
    static const uint8_t kinds[] = { ETL_HDR_PERFINFO32, ETL_HDR_SYSTEM32, ETL_HDR_COMPACT32,
                                     ETL_HDR_FULL32, ETL_HDR_INSTANCE32, ETL_HDR_EVENT32 };
    scenario_process(w, 0, ETL_HDR_SYSTEM32, 4, 3, 5, 400, 0x81002000u, "epsilon.exe");
    for (int round = 0; round < 3; round++)
        for (size_t i = 0; i < sizeof TCP_OPCODES; i++)
            scenario_tcp(w, (uint16_t)(i % 2), kinds[i % 6], 4, TCP_OPCODES[i],
                         800 + (uint64_t)round * 100 + i, 400, tcp_size(TCP_OPCODES[i]));
    return w;
}

/* ---- remote peers ---- */

static uint64_t peers_rng;
static uint32_t peers_rnd(uint32_t n)
{
    peers_rng = peers_rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(peers_rng >> 33) % n;
}

/* One network event as the kernel records it: TCP and UDP sends name the remote side as
 * the destination, UDP receives the local socket. Some are cut short: after the size, or
 * inside the ports (counted, but with no endpoints). */
static void peers_net(struct etl_writer *w, bool udp, uint8_t opcode, uint64_t t, uint32_t pid,
                      uint32_t size, const uint8_t *remote, uint16_t rport, uint16_t lport)
{
    bool v6 = opcode >= 26;
    struct payload_net f;
    memset(&f, 0, sizeof f);
    f.pid = pid;
    f.size = size;
    uint8_t local[16] = {10, 9, 9, 9};
    if (v6) {
        memset(local, 0, sizeof local);
        local[0] = 0xfd, local[15] = 9;
    }
    bool local_is_dest = udp && opcode != 10 && opcode != 26;
    memcpy(f.daddr, local_is_dest ? local : remote, 16);
    memcpy(f.saddr, local_is_dest ? remote : local, 16);
    f.dport = local_is_dest ? lport : rport;
    f.sport = local_is_dest ? rport : lport;
    uint8_t payload[128];
    size_t n = udp ? payload_udpip(payload, sizeof payload, opcode, 8, &f)
                   : payload_tcpip(payload, sizeof payload, opcode, 8, &f);
    uint32_t cut = peers_rnd(50) == 0 ? 8 + peers_rnd(v6 ? 36 : 12) : (uint32_t)n;
    struct etl_writer_event e = { .header_type = ETL_HDR_PERFINFO64,
        .event_class = udp ? TRACE_CLASS_UDPIP : TRACE_CLASS_TCPIP, .opcode = opcode,
        .version = 2, .timestamp = T0 + t, .payload = payload, .payload_size = cut };
    etl_writer_add(w, 0, &e);
}

/* A connection's life: opened by the process (Connect) or accepted (Accept), or already
 * open (neither), then traffic, a retransmit or two, and sometimes a Disconnect. */
static void peers_connection(struct etl_writer *w, uint64_t *t, uint32_t pid, bool v6,
                             const uint8_t *remote, uint16_t rport, uint16_t lport)
{
    uint8_t base = v6 ? 26 : 10; /* Send; Recv +1, Connect +2, Disconnect +3, Retransmit
                                  * +4, Accept +5, Reconnect +6 */
    uint32_t how = peers_rnd(3);
    if (how == 0)
        peers_net(w, false, base + 2, (*t)++, pid, 0, remote, rport, lport);
    else if (how == 1)
        peers_net(w, false, base + 5, (*t)++, pid, 0, remote, rport, lport);
    for (uint32_t i = 1 + peers_rnd(6); i > 0; i--)
        peers_net(w, false, base + peers_rnd(2), (*t)++, pid, 1 + peers_rnd(1460), remote,
                  rport, lport);
    if (peers_rnd(4) == 0)
        peers_net(w, false, base + 4, (*t)++, pid, 536, remote, rport, lport);
    if (peers_rnd(8) == 0)
        peers_net(w, false, base + 6, (*t)++, pid, 0, remote, rport, lport);
    if (peers_rnd(2) == 0)
        peers_net(w, false, base + 3, (*t)++, pid, 0, remote, rport, lport);
}

struct etl_writer *scenario_peers(uint32_t seed, uint32_t processes, uint32_t connections)
{
    peers_rng = seed;
    struct etl_writer_config config = { .pointer_size = 8, .buffer_size = 16384,
                                        .compress = seed % 2 == 0 };
    struct etl_writer *w = etl_writer_create(&config);
    uint64_t t = 0;
    static const uint16_t server_ports[] = {22, 53, 80, 443, 445, 3389, 8080};
    for (uint32_t p = 0; p < processes; p++) {
        uint32_t pid = 1000 + 4 * p;
        char image[32];
        snprintf(image, sizeof image, "peers%u.exe", (unsigned)(p % 3));
        /* Every third process is a pid reused once: each instance has peers of its own
         * (addresses 10.<instance>.x.x), and the first's retire with it. */
        uint32_t instances = p % 3 == 0 ? 2 : 1;
        for (uint32_t k = 0; k < instances; k++) {
            scenario_process(w, 0, ETL_HDR_SYSTEM64, 8, 1, t++, pid,
                             0xffff800000000000ull + p * 16 + k, image);
            for (uint32_t c = 0; c < connections; c++) {
                uint8_t remote[16] = {0};
                bool v6 = peers_rnd(4) == 0;
                if (v6) {
                    remote[0] = 0x20, remote[1] = 0x01, remote[2] = 0x0d, remote[3] = 0xb8;
                    remote[4] = (uint8_t)k, remote[15] = (uint8_t)(1 + peers_rnd(40));
                } else {
                    remote[0] = 10, remote[1] = (uint8_t)(k + 1);
                    remote[2] = (uint8_t)peers_rnd(4), remote[3] = (uint8_t)(1 + peers_rnd(40));
                }
                uint16_t server = server_ports[peers_rnd(7)];
                uint16_t ephemeral = (uint16_t)(49152 + peers_rnd(16000));
                bool outbound = peers_rnd(2) == 0;
                if (peers_rnd(5) == 0) {
                    uint8_t send = v6 ? 26 : 10;
                    uint16_t rport = outbound ? server : ephemeral;
                    uint16_t lport = outbound ? ephemeral : server;
                    for (uint32_t i = 1 + peers_rnd(4); i > 0; i--)
                        peers_net(w, true, (uint8_t)(send + peers_rnd(2)), t++, pid,
                                  1 + peers_rnd(512), remote, rport, lport);
                } else if (outbound) {
                    peers_connection(w, &t, pid, v6, remote, server, ephemeral);
                } else {
                    peers_connection(w, &t, pid, v6, remote, ephemeral, server);
                }
            }
            if (k + 1 < instances)
                scenario_process(w, 0, ETL_HDR_SYSTEM64, 8, 2, t++, pid,
                                 0xffff800000000000ull + p * 16 + k, image);
        }
    }
    return w;
}
