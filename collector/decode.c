/* Kernel event payloads -> typed facts. Layouts: collector/README.md (kernel event layouts).
 *
 * Rules that hold for every class:
 * - every read is bounds-checked against payload_size first; a payload shorter than its
 *   layout is DECODE_MALFORMED, a longer one is fine (newer versions append fields);
 * - the pointer size comes from the record; anything but 4 or 8 is DECODE_MALFORMED for
 *   every event we would otherwise decode (unknown classes and opcodes stay UNKNOWN);
 * - multi-byte reads go through memcpy of a constant size, which compilers turn into single
 *   unaligned loads: payloads are not aligned in ETL buffers.
 *
 * The TcpIp/UdpIp path is the hot one (tens of millions of events per second): one table
 * lookup by opcode, one length check, a handful of loads. It writes only the fields of the
 * net fact, never clears the whole union (which holds a 64-byte name). Its layout check
 * and counted fields live in decode_net.h as a static inline function, so that the
 * table's feed path runs the same code inlined instead of calling in here. */
#include "decode.h"

#include <stddef.h>
#include <string.h>

#include "decode_net.h"
#include "utf16.h"

/* ---- pointer-sized loads ---------------------------------------------------------- */

static inline uint64_t load_ptr(const uint8_t *p, unsigned pointer_size)
{
    return pointer_size == 8 ? load_le64(p) : load_le32(p);
}

static inline int pointer_size_ok(unsigned pointer_size)
{
    return pointer_size == 4 || pointer_size == 8;
}

/* ---- TcpIp and UdpIp ---------------------------------------------------------------- */

/* The layout check and the counted fields come from decode_net.h, which the table's feed
 * path shares; here only the addresses and ports are added to make a full fact. */

enum {
    SEND_V4_LEN = 36, GROUP1_LEN = 28, GROUP2_LEN = 44,  /* SendIPV4, TypeGroup1, TypeGroup2 */
    SEND_V6_LEN = 60, GROUP3_LEN = 52, GROUP4_LEN = 68,  /* SendIPV6, TypeGroup3, TypeGroup4 */
    FAIL_LEN = 4, TCP_FAIL_OPCODE = 17,
};

#define NET4(len, t, o) { len, t, o, FAMILY_IPV4 }
#define NET6(len, t, o) { len, t, o, FAMILY_IPV6 }

const struct net_desc decode_tcp_desc[256] = {
    [10] = NET4(SEND_V4_LEN, EVT_TCP_SEND_V4, NET_TCP_SEND),
    [11] = NET4(GROUP1_LEN, EVT_TCP_RECV_V4, NET_TCP_RECV),
    [12] = NET4(GROUP2_LEN, EVT_TCP_CONNECT_V4, NET_TCP_CONNECT),
    [13] = NET4(GROUP1_LEN, EVT_TCP_DISCONNECT_V4, NET_TCP_DISCONNECT),
    [14] = NET4(GROUP1_LEN, EVT_TCP_RETRANSMIT_V4, NET_TCP_RETRANSMIT),
    [15] = NET4(GROUP2_LEN, EVT_TCP_ACCEPT_V4, NET_TCP_ACCEPT),
    [16] = NET4(GROUP1_LEN, EVT_TCP_RECONNECT_V4, NET_TCP_RECONNECT),
    /* 17 (Fail) has no PID and its own fact: handled by decode_tcp_fail. */
    [18] = NET4(GROUP1_LEN, EVT_TCP_COPY_V4, NET_TCP_COPY),
    [26] = NET6(SEND_V6_LEN, EVT_TCP_SEND_V6, NET_TCP_SEND),
    [27] = NET6(GROUP3_LEN, EVT_TCP_RECV_V6, NET_TCP_RECV),
    [28] = NET6(GROUP4_LEN, EVT_TCP_CONNECT_V6, NET_TCP_CONNECT),
    [29] = NET6(GROUP3_LEN, EVT_TCP_DISCONNECT_V6, NET_TCP_DISCONNECT),
    [30] = NET6(GROUP3_LEN, EVT_TCP_RETRANSMIT_V6, NET_TCP_RETRANSMIT),
    [31] = NET6(GROUP4_LEN, EVT_TCP_ACCEPT_V6, NET_TCP_ACCEPT),
    [32] = NET6(GROUP3_LEN, EVT_TCP_RECONNECT_V6, NET_TCP_RECONNECT),
    [34] = NET6(GROUP3_LEN, EVT_TCP_COPY_V6, NET_TCP_COPY),
};

/* UdpIp send/receive share TcpIp's TypeGroup1/3 layouts. UdpIp 17 (Fail) is left
 * UNKNOWN on purpose: the table's failure counters are TCP connect failures, and a UDP
 * failure counted there would mislabel it; as UNKNOWN it is still counted. */
const struct net_desc decode_udp_desc[256] = {
    [10] = NET4(GROUP1_LEN, EVT_UDP_SEND_V4, NET_UDP_SEND),
    [11] = NET4(GROUP1_LEN, EVT_UDP_RECV_V4, NET_UDP_RECV),
    [26] = NET6(GROUP3_LEN, EVT_UDP_SEND_V6, NET_UDP_SEND),
    [27] = NET6(GROUP3_LEN, EVT_UDP_RECV_V6, NET_UDP_RECV),
};

#undef NET4
#undef NET6

/* After PID @0 and size @4 every PID-carrying layout has daddr @8, saddr after it, then
 * dport and sport. IPv4 clears the unused 12 address bytes (two stores each) so a
 * consumer comparing whole arrays never sees stale bytes. */
static enum decode_status decode_net(const struct trace_record *r, struct trace_fact *fact)
{
    struct net_head h;
    enum decode_status status = decode_net_head(r, &h);
    if (status != DECODE_OK)
        return status;
    /* A fact carries the endpoints, so it needs the payload up to the ports; the
     * sequence number and connection id after them are not read. */
    if (r->payload_size < (h.family == FAMILY_IPV6 ? NET_V6_ENDPOINTS_END : NET_V4_ENDPOINTS_END))
        return DECODE_MALFORMED;

    const uint8_t *p = r->payload;
    struct net_fact *n = &fact->u.net;
    fact->kind = FACT_NET;
    fact->type = (enum event_type)h.type;
    n->op = (enum net_op)h.op;
    n->family = (enum ip_family)h.family;
    n->pid = h.pid;
    n->size = h.size;
    if (h.family == FAMILY_IPV6) {
        memcpy(n->daddr, p + 8, 16);
        memcpy(n->saddr, p + 24, 16);
        n->dport = load_be16(p + 40);
        n->sport = load_be16(p + 42);
    } else {
        memcpy(n->daddr, p + 8, 4);
        memset(n->daddr + 4, 0, 12);
        memcpy(n->saddr, p + 12, 4);
        memset(n->saddr + 4, 0, 12);
        n->dport = load_be16(p + 16);
        n->sport = load_be16(p + 18);
    }
    return DECODE_OK;
}

static enum decode_status decode_tcp_fail(const struct trace_record *r, struct trace_fact *fact)
{
    if (!pointer_size_ok(r->pointer_size) || r->payload_size < FAIL_LEN)
        return DECODE_MALFORMED;
    fact->kind = FACT_FAIL;
    fact->type = EVT_TCP_FAIL;
    fact->u.fail.proto = load_le16(r->payload);
    fact->u.fail.code = load_le16(r->payload + 2);
    return DECODE_OK;
}

/* ---- Process ------------------------------------------------------------------------ */

/* Offset just past the NUL of an ANSI string starting at off, or 0 if the payload ends
 * first. A name that runs to the end of the payload is treated as truncated, not taken
 * as is: every version puts the terminator in the layout, and v2+ have more after it. */
static size_t skip_ansi(const uint8_t *p, size_t size, size_t off)
{
    const uint8_t *nul = off < size ? memchr(p + off, 0, size - off) : NULL;
    return nul ? (size_t)(nul - p) + 1 : 0;
}

/* Offset just past the UTF-16 NUL of a string starting at off, or 0. The string may
 * start at an odd offset (it follows the ANSI name), so read byte pairs. */
static size_t skip_utf16(const uint8_t *p, size_t size, size_t off)
{
    for (size_t i = off; i + 2 <= size; i += 2)
        if (p[i] == 0 && p[i + 1] == 0)
            return i + 2;
    return 0;
}

/* Offset of the ImageFileName after a UserSID at off, or 0 if the SID is cut short.
 * A zero first u32 means "no SID" (4 bytes). Otherwise a TOKEN_USER (two pointers: the
 * Sid pointer and the padded Attributes) precedes the SID, whose length is 8 bytes plus
 * 4 per sub-authority; the count is the SID's byte 1. */
static size_t skip_sid(const uint8_t *p, size_t size, size_t off, unsigned ps)
{
    if (size < off + 4)
        return 0;
    if (load_le32(p + off) == 0)
        return off + 4;
    size_t sid = off + 2 * (size_t)ps;
    if (size < sid + 8)
        return 0;
    size_t end = sid + 8 + 4 * (size_t)p[sid + 1];
    return size < end ? 0 : end;
}

static int process_op_of(uint8_t opcode, enum process_op *op, enum event_type *type)
{
    switch (opcode) {
    case 1: *op = PROC_START; *type = EVT_PROCESS_START; return 1;
    case 2: *op = PROC_END; *type = EVT_PROCESS_END; return 1;
    case 3: *op = PROC_DCSTART; *type = EVT_PROCESS_DCSTART; return 1;
    case 4: *op = PROC_DCEND; *type = EVT_PROCESS_DCEND; return 1;
    case 39: *op = PROC_DEFUNCT; *type = EVT_PROCESS_DEFUNCT; return 1;
    default: return 0;
    }
}

/* Length of the fixed fields before UserSID, by version (collector/README.md; v0 and v1 as
 * decoded by PerfView's TraceEvent, whose parser is generated from the same MOF):
 *   v0:  ProcessId ptr, ParentId ptr
 *   v1:  PageDirectoryBase ptr, ProcessId, ParentId, SessionId, ExitStatus
 *   v2:  UniqueProcessKey ptr, ProcessId, ParentId, SessionId, ExitStatus
 *   v3:  v2 + DirectoryTableBase ptr;  v4 and later: v3 + Flags u32 */
static size_t process_head_len(uint8_t version, unsigned ps)
{
    switch (version) {
    case 0: return 2 * (size_t)ps;
    case 1: case 2: return ps + 16;
    case 3: return 2 * (size_t)ps + 16;
    default: return 2 * (size_t)ps + 20;
    }
}

/* Reads the fixed fields (already bounds-checked); those a version lacks are zero. */
static void process_read_head(const uint8_t *p, uint8_t version, unsigned ps,
                              struct process_fact *pf)
{
    if (version == 0) {
        pf->pid = (uint32_t)load_ptr(p, ps);
        pf->parent_pid = (uint32_t)load_ptr(p + ps, ps);
        pf->session_id = 0;
        pf->exit_status = 0;
        pf->unique_key = 0;
        return;
    }
    /* v1's first pointer is the page directory, not a process key: leave the key 0 so the
     * table falls back to its own start sequence. */
    pf->unique_key = version >= 2 ? load_ptr(p, ps) : 0;
    pf->pid = load_le32(p + ps);
    pf->parent_pid = load_le32(p + ps + 4);
    pf->session_id = load_le32(p + ps + 8);
    pf->exit_status = (int32_t)load_le32(p + ps + 12);
}

static enum decode_status decode_process(const struct trace_record *r, struct trace_fact *fact)
{
    enum process_op op;
    enum event_type type;
    if (!process_op_of(r->opcode, &op, &type))
        return DECODE_UNKNOWN;
    unsigned ps = r->pointer_size;
    if (!pointer_size_ok(ps))
        return DECODE_MALFORMED;

    const uint8_t *p = r->payload;
    size_t size = r->payload_size;
    /* Validate the whole layout before writing anything to the fact. */
    size_t head = process_head_len(r->version, ps);
    if (size < head)
        return DECODE_MALFORMED;
    size_t name = skip_sid(p, size, head, ps);
    size_t name_end = name ? skip_ansi(p, size, name) : 0;
    size_t end = name_end;
    if (end && r->version >= 2)
        end = skip_utf16(p, size, end); /* CommandLine */
    if (end && r->version >= 4)
        end = skip_utf16(p, size, end); /* PackageFullName */
    if (end && r->version >= 4)
        end = skip_utf16(p, size, end); /* ApplicationId */
    if (!end)
        return DECODE_MALFORMED;

    struct process_fact *pf = &fact->u.process;
    fact->kind = FACT_PROCESS;
    fact->type = type;
    pf->op = op;
    process_read_head(p, r->version, ps, pf);
    size_t len = name_end - name - 1; /* without the NUL */
    if (len > IMAGE_NAME_MAX - 1)
        len = IMAGE_NAME_MAX - 1;
    memcpy(pf->image_name, p + name, len);
    pf->image_name[len] = '\0';
    return DECODE_OK;
}

/* ---- RT_LostEvent ------------------------------------------------------------------- */

static enum decode_status decode_lost(const struct trace_record *r, struct trace_fact *fact)
{
    enum lost_op op;
    enum event_type type;
    switch (r->opcode) {
    case 32: op = LOST_EVENT; type = EVT_LOST_EVENT; break;
    case 33: op = LOST_BUFFER; type = EVT_LOST_BUFFER; break;
    case 34: op = LOST_FILE; type = EVT_LOST_FILE; break;
    default: return DECODE_UNKNOWN;
    }
    if (!pointer_size_ok(r->pointer_size))
        return DECODE_MALFORMED;
    fact->kind = FACT_LOST;
    fact->type = type;
    fact->u.lost.op = op;
    return DECODE_OK;
}

/* ---- SystemConfig Services ---------------------------------------------------------- */

enum { SYSCONFIG_SERVICES_OPCODE = 15, SERVICES_HEAD_LEN = 12 }; /* pid, state, sub-process tag */

/* ServiceName, DisplayName and ProcessName follow the three u32 as NUL-terminated UTF-16;
 * all three must end inside the payload, or the record is cut short. */
static enum decode_status decode_services(const struct trace_record *r, struct trace_fact *fact)
{
    if (r->opcode != SYSCONFIG_SERVICES_OPCODE || r->version < 2)
        return DECODE_UNKNOWN; /* other SystemConfig records (CPU, NIC, disks...) */
    const uint8_t *p = r->payload;
    size_t size = r->payload_size;
    if (size < SERVICES_HEAD_LEN)
        return DECODE_MALFORMED;
    size_t name = SERVICES_HEAD_LEN;
    size_t display = skip_utf16(p, size, name);
    size_t process = display ? skip_utf16(p, size, display) : 0;
    if (!process || !skip_utf16(p, size, process))
        return DECODE_MALFORMED;
    struct service_fact *s = &fact->u.service;
    fact->kind = FACT_SERVICE;
    fact->type = EVT_SYSCONFIG_SERVICES;
    s->pid = load_le32(p);
    s->state = load_le32(p + 4);
    utf16le_to_utf8(p + name, (display - 2 - name) / 2, s->name, sizeof s->name);
    utf16le_to_utf8(p + display, (process - 2 - display) / 2, s->display_name,
                    sizeof s->display_name);
    return DECODE_OK;
}

/* ---- entry points ------------------------------------------------------------------- */

enum decode_status decode_record(const struct trace_record *record, struct trace_fact *fact)
{
    switch (record->event_class) {
    case TRACE_CLASS_TCPIP:
        if (record->opcode == TCP_FAIL_OPCODE)
            return decode_tcp_fail(record, fact);
        return decode_net(record, fact);
    case TRACE_CLASS_UDPIP:
        return decode_net(record, fact);
    case TRACE_CLASS_PROCESS:
        return decode_process(record, fact);
    case TRACE_CLASS_LOST_EVENT:
        return decode_lost(record, fact);
    case TRACE_CLASS_SYSCONFIG:
        return decode_services(record, fact);
    case TRACE_CLASS_OTHER:
    default:
        return DECODE_UNKNOWN;
    }
}

static const char *const type_names[EVT_TYPE_COUNT] = {
    [EVT_TCP_SEND_V4] = "tcp_send_ipv4",
    [EVT_TCP_RECV_V4] = "tcp_recv_ipv4",
    [EVT_TCP_CONNECT_V4] = "tcp_connect_ipv4",
    [EVT_TCP_DISCONNECT_V4] = "tcp_disconnect_ipv4",
    [EVT_TCP_RETRANSMIT_V4] = "tcp_retransmit_ipv4",
    [EVT_TCP_ACCEPT_V4] = "tcp_accept_ipv4",
    [EVT_TCP_RECONNECT_V4] = "tcp_reconnect_ipv4",
    [EVT_TCP_FAIL] = "tcp_fail",
    [EVT_TCP_COPY_V4] = "tcp_copy_ipv4",
    [EVT_TCP_SEND_V6] = "tcp_send_ipv6",
    [EVT_TCP_RECV_V6] = "tcp_recv_ipv6",
    [EVT_TCP_CONNECT_V6] = "tcp_connect_ipv6",
    [EVT_TCP_DISCONNECT_V6] = "tcp_disconnect_ipv6",
    [EVT_TCP_RETRANSMIT_V6] = "tcp_retransmit_ipv6",
    [EVT_TCP_ACCEPT_V6] = "tcp_accept_ipv6",
    [EVT_TCP_RECONNECT_V6] = "tcp_reconnect_ipv6",
    [EVT_TCP_COPY_V6] = "tcp_copy_ipv6",
    [EVT_UDP_SEND_V4] = "udp_send_ipv4",
    [EVT_UDP_RECV_V4] = "udp_recv_ipv4",
    [EVT_UDP_SEND_V6] = "udp_send_ipv6",
    [EVT_UDP_RECV_V6] = "udp_recv_ipv6",
    [EVT_PROCESS_START] = "process_start",
    [EVT_PROCESS_END] = "process_end",
    [EVT_PROCESS_DCSTART] = "process_dcstart",
    [EVT_PROCESS_DCEND] = "process_dcend",
    [EVT_PROCESS_DEFUNCT] = "process_defunct",
    [EVT_LOST_EVENT] = "lost_event",
    [EVT_LOST_BUFFER] = "lost_buffer",
    [EVT_LOST_FILE] = "lost_file",
    [EVT_SYSCONFIG_SERVICES] = "sysconfig_services",
};

const char *event_type_name(enum event_type type)
{
    if ((unsigned)type >= EVT_TYPE_COUNT || type_names[type] == NULL)
        return "unknown";
    return type_names[type];
}
