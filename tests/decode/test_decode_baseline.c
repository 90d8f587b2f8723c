/* Cross-check of the decoder's layouts against real traces, without reading the ETL
 * container: the perfview baselines (TraceEvent's decoding of net.4.5.2.*.etl) list each
 * event's payload length (DataLen) and field values. For every TcpIp, UdpIp and Process
 * EVENT line this test checks that the layout in collector/README.md, at the file's PointerSize,
 * has exactly that length (for Process: that the length leaves room for a whole SID), then
 * builds the payload from the listed fields and checks the decoder returns them.
 *
 * Usage: test_decode_baseline <dir with *.baseline.txt>; exits 77 (skip) when absent. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "bytes.h"
#include "payload.h"

static int failures;

#define CHECK(cond, line)                                                                   \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "FAIL %s:%d: %s\n  in: %.200s\n", __FILE__, __LINE__, #cond, line); \
            failures++;                                                                     \
            return;                                                                         \
        }                                                                                   \
    } while (0)

/* Value of " key=" up to the next ';', or 0 when absent. */
static int field(const char *line, const char *key, char *out, size_t cap)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, " %s=", key);
    const char *p = strstr(line, pattern);
    if (!p)
        return 0;
    p += strlen(pattern);
    size_t n = strcspn(p, ";");
    if (n >= cap)
        return 0;
    memcpy(out, p, n);
    out[n] = '\0';
    return 1;
}

/* Numbers are printed with thousands separators ("65,652"), hex with 0x, -1 for ~0. */
static int number(const char *line, const char *key, uint64_t *v)
{
    char raw[64], digits[64];
    size_t n = 0;
    if (!field(line, key, raw, sizeof raw))
        return 0;
    for (const char *c = raw; *c; c++)
        if (*c != ',')
            digits[n++] = *c;
    digits[n] = '\0';
    char *end;
    *v = digits[0] == '-' ? (uint64_t)strtoll(digits, &end, 10) : strtoull(digits, &end, 0);
    return end != digits && *end == '\0';
}

static int ipv4(const char *line, const char *key, uint8_t out[4])
{
    char raw[64];
    unsigned a, b, c, d;
    if (!field(line, key, raw, sizeof raw) || sscanf(raw, "%u.%u.%u.%u", &a, &b, &c, &d) != 4)
        return 0;
    out[0] = (uint8_t)a, out[1] = (uint8_t)b, out[2] = (uint8_t)c, out[3] = (uint8_t)d;
    return 1;
}

static enum decode_status decode_copy(enum trace_class cls, uint8_t opcode, uint8_t version,
                                      uint8_t ps, const uint8_t *bytes, size_t len,
                                      struct trace_fact *fact)
{
    uint8_t *copy = malloc(len);
    if (!copy)
        abort();
    memcpy(copy, bytes, len);
    struct trace_record r = { cls, opcode, version, ps, 0, copy, (uint32_t)len };
    enum decode_status s = decode_record(&r, fact);
    free(copy);
    return s;
}

struct name_op { const char *name; uint8_t opcode; };

static int lookup(const struct name_op *table, const char *name)
{
    for (; table->name; table++)
        if (strcmp(table->name, name) == 0)
            return table->opcode;
    return -1;
}

static const struct name_op tcp_ops[] = {
    { "Send", 10 }, { "Recv", 11 }, { "Connect", 12 }, { "Disconnect", 13 },
    { "Retransmit", 14 }, { "Accept", 15 }, { "Reconnect", 16 }, { "TCPCopy", 18 },
    { "SendIPV6", 26 }, { "RecvIPV6", 27 }, { "ConnectIPV6", 28 }, { "DisconnectIPV6", 29 },
    { "RetransmitIPV6", 30 }, { "AcceptIPV6", 31 }, { "ReconnectIPV6", 32 },
    { "TCPCopyIPV6", 34 }, { NULL, 0 },
};
static const struct name_op udp_ops[] = {
    { "Send", 10 }, { "Recv", 11 }, { "SendIPV6", 26 }, { "RecvIPV6", 27 }, { NULL, 0 },
};
static const struct name_op process_ops[] = {
    { "Start", 1 }, { "Stop", 2 }, { "DCStart", 3 }, { "DCStop", 4 }, { "Defunct", 39 },
    { NULL, 0 },
};

static int checked_net, checked_process;

static void check_net(const char *line, int is_udp, uint8_t opcode, uint8_t ps)
{
    uint64_t datalen, pid, size = 0, dport = 0, sport = 0;
    CHECK(number(line, "DataLen", &datalen) && number(line, "PID", &pid), line);
    CHECK(datalen == payload_net_layout_size(is_udp, opcode, ps), line);

    struct payload_net in;
    memset(&in, 0, sizeof in);
    in.pid = (uint32_t)pid;
    if (is_udp && opcode < 26) {
        /* TraceEvent read these with a pre-Vista template: its "context" is our first 8
         * bytes, i.e. PID @0 and size @4; its other fields are not at our offsets. */
        uint64_t context;
        CHECK(number(line, "context", &context) && number(line, "size", &size), line);
        CHECK((uint32_t)context == pid && context >> 32 == size, line);
    } else {
        CHECK(number(line, "size", &size) && number(line, "dport", &dport)
              && number(line, "sport", &sport), line);
        if (opcode < 26)
            CHECK(ipv4(line, "daddr", in.daddr) && ipv4(line, "saddr", in.saddr), line);
    }
    in.size = (uint32_t)size;
    in.dport = (uint16_t)dport;
    in.sport = (uint16_t)sport;

    uint8_t buf[128];
    size_t len = is_udp ? payload_udpip(buf, sizeof buf, opcode, ps, &in)
                        : payload_tcpip(buf, sizeof buf, opcode, ps, &in);
    struct trace_fact fact;
    CHECK(decode_copy(is_udp ? TRACE_CLASS_UDPIP : TRACE_CLASS_TCPIP, opcode, 2, ps, buf, len,
                      &fact) == DECODE_OK, line);
    CHECK(fact.kind == FACT_NET && fact.u.net.pid == pid && fact.u.net.size == size, line);
    CHECK(fact.u.net.dport == dport && fact.u.net.sport == sport, line);
    CHECK(memcmp(fact.u.net.daddr, in.daddr, 16) == 0, line);
    CHECK(memcmp(fact.u.net.saddr, in.saddr, 16) == 0, line);
    checked_net++;
}

static int printable_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

/* Windows 8 (build 9200) writes Process events as version 4. */
static void check_process(const char *line, uint8_t opcode, uint8_t ps)
{
    uint64_t datalen, pid, ppid, session, exit_status, key;
    char name[128], cmd[512];
    CHECK(number(line, "DataLen", &datalen) && number(line, "ProcessID", &pid)
          && number(line, "ParentID", &ppid) && number(line, "SessionID", &session)
          && number(line, "ExitStatus", &exit_status) && number(line, "UniqueProcessKey", &key)
          && field(line, "ImageFileName", name, sizeof name)
          && field(line, "CommandLine", cmd, sizeof cmd), line);
    size_t cmdlen = strlen(cmd);
    if ((cmdlen >= 3 && strcmp(cmd + cmdlen - 3, "...") == 0) || !printable_ascii(cmd)
        || !printable_ascii(name))
        return; /* abbreviated by TraceEvent: the length cannot be reconstructed */

    /* What is left for the SID after the fixed v4 head and the three strings must be the
     * 4-byte "no SID" or a TOKEN_USER plus a SID of 8 + 4n bytes. */
    size_t head = 2u * ps + 20;
    size_t strings = strlen(name) + 1 + 2 * (cmdlen + 1) + 2 + 2;
    CHECK(datalen > head + strings, line);
    size_t sid = datalen - head - strings;
    int subs = -1;
    if (sid != 4) {
        CHECK(sid >= 2u * ps + 8 && (sid - 2u * ps - 8) % 4 == 0, line);
        subs = (int)((sid - 2u * ps - 8) / 4);
        CHECK(subs <= 15, line);
    }

    struct payload_process in;
    memset(&in, 0, sizeof in);
    in.unique_key = key;
    in.pid = (uint32_t)pid;
    in.parent_pid = (uint32_t)ppid;
    in.session_id = (uint32_t)session;
    in.exit_status = (int32_t)exit_status;
    in.sid_sub_authorities = subs;
    in.image_name = name;
    in.command_line = cmd;
    uint8_t buf[1024];
    size_t len = payload_process(buf, sizeof buf, 4, ps, &in);
    CHECK(len == datalen, line);
    struct trace_fact fact;
    CHECK(decode_copy(TRACE_CLASS_PROCESS, opcode, 4, ps, buf, len, &fact) == DECODE_OK, line);
    CHECK(fact.kind == FACT_PROCESS && fact.u.process.pid == pid
          && fact.u.process.parent_pid == ppid && fact.u.process.unique_key == key
          && fact.u.process.session_id == (uint32_t)session
          && fact.u.process.exit_status == (int32_t)exit_status, line);
    CHECK(strcmp(fact.u.process.image_name, name) == 0, line);
    checked_process++;
}

static void check_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "FAIL cannot open %s\n", path);
        failures++;
        return;
    }
    static char line[8192];
    uint64_t ps = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "EVENT ", 6) != 0)
            continue;
        if (strstr(line, " Windows Kernel/EventTrace PID=")) {
            if (!number(line, "PointerSize", &ps) || (ps != 4 && ps != 8)) {
                fprintf(stderr, "FAIL %s: no usable PointerSize\n", path);
                failures++;
                break;
            }
            continue;
        }
        char cls[32], op[32];
        if (sscanf(line, "EVENT %*[^:]: Windows Kernel/%31[A-Za-z]/%31[A-Za-z0-9] ", cls, op) != 2)
            continue;
        int tcp = strcmp(cls, "TcpIp") == 0, udp = strcmp(cls, "UdpIp") == 0;
        int proc = strcmp(cls, "Process") == 0;
        if (!tcp && !udp && !proc)
            continue;
        if (ps == 0) {
            fprintf(stderr, "FAIL %s: event before the logfile header\n", path);
            failures++;
            break;
        }
        int opcode = lookup(tcp ? tcp_ops : udp ? udp_ops : process_ops, op);
        if (opcode < 0)
            continue; /* PerfCtr and other events we do not decode */
        if (proc)
            check_process(line, (uint8_t)opcode, (uint8_t)ps);
        else
            check_net(line, udp, (uint8_t)opcode, (uint8_t)ps);
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s <perfview baseline dir>\n", argv[0]);
        return 2;
    }
    static const char *const files[] = { "net.4.5.2.x64.baseline.txt",
                                         "net.4.5.2.x86.baseline.txt" };
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", argv[1], files[0]);
    FILE *probe = fopen(path, "r");
    if (!probe) {
        printf("SKIP: %s not found (real traces live in ../shared/data/etl)\n", path);
        return 77;
    }
    fclose(probe);
    for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
        snprintf(path, sizeof path, "%s/%s", argv[1], files[i]);
        check_file(path);
    }
    printf("checked %d network and %d process events against the baselines\n", checked_net,
           checked_process);
    if (checked_net == 0 || checked_process == 0) {
        fprintf(stderr, "FAIL: no events found to check\n");
        failures++;
    }
    return failures ? 1 : 0;
}
