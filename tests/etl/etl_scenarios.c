#include "etl_scenarios.h"

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
