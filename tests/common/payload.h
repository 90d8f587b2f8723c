/* Test oracle: kernel event payloads built byte by byte from the layouts in
 * collector/README.md (kernel event layouts), never by casting structs, so the decoder is
 * checked against the documented offsets rather than against itself. Every builder writes little-endian
 * values into out[0, cap) and returns the payload length, or 0 when cap is too small or
 * an argument (opcode, version, pointer size) has no layout here. Independent of cmocka so
 * benchmarks and the ETL writer can use it too. */
#ifndef TCPIP_EXPORTER_TEST_PAYLOAD_H
#define TCPIP_EXPORTER_TEST_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

/* Little-endian writers; each returns the number of bytes written (2, 4, 8 or ptr size). */
size_t put_u16(uint8_t *p, uint16_t v);
size_t put_u32(uint8_t *p, uint32_t v);
size_t put_u64(uint8_t *p, uint64_t v);
size_t put_ptr(uint8_t *p, uint8_t pointer_size, uint64_t v); /* 4 bytes keep the low half */

/* Fields of every TcpIp/UdpIp layout. Ports are given in host order and written in
 * network byte order, as the kernel does; addresses are raw bytes (network order) and
 * only the first 4 are used for IPv4 layouts. Fields a layout lacks are ignored. */
struct payload_net {
    uint32_t pid;
    uint32_t size;
    uint8_t daddr[16];
    uint8_t saddr[16];
    uint16_t dport;
    uint16_t sport;
    uint32_t startime, endtime;        /* Send layouts */
    uint32_t seqnum;
    uint64_t connid;                   /* pointer-sized */
    uint16_t mss, sackopt, tsopt, wsopt; /* TypeGroup2/4 */
    uint32_t rcvwin;
    int16_t rcvwinscale, sndwinscale;
    uint16_t fail_proto, fail_code;    /* TcpIp Fail (opcode 17) */
};

/* TcpIp opcodes 10-18, 26-32, 34 (17 = Fail: 4 bytes, proto and code). */
size_t payload_tcpip(uint8_t *out, size_t cap, uint8_t opcode, uint8_t pointer_size,
                     const struct payload_net *fields);

/* UdpIp opcodes 10, 11 (TypeGroup1 layout) and 26, 27 (TypeGroup3 layout). */
size_t payload_udpip(uint8_t *out, size_t cap, uint8_t opcode, uint8_t pointer_size,
                     const struct payload_net *fields);

/* Length of the fixed TcpIp/UdpIp layout for an opcode, or 0 if it has none. */
size_t payload_net_layout_size(int is_udp, uint8_t opcode, uint8_t pointer_size);

/* Process_TypeGroup1, versions 0 to 4 and later. sid_sub_authorities < 0 writes the
 * 4-byte "no SID" form (first u32 0); otherwise a TOKEN_USER (2 pointers, the first
 * non-zero) plus a SID with that many sub-authorities (0..15). image_name is ANSI (NUL
 * added); command_line (v2+) is ASCII widened to UTF-16 (NUL added). Version 4 adds
 * PackageFullName and ApplicationId (empty UTF-16); versions above 4 are the v4 layout
 * followed by extra_bytes bytes of 0xEE. Versions 0 and 1 (pre-Vista, per PerfView's
 * TraceEvent): v0 = ProcessId ptr, ParentId ptr, SID, name; v1 = PageDirectoryBase ptr
 * (written from unique_key), ProcessId, ParentId, SessionId, ExitStatus, SID, name. */
struct payload_process {
    uint64_t unique_key;
    uint32_t pid, parent_pid, session_id;
    int32_t exit_status;
    uint64_t directory_table_base;     /* v3+ */
    uint32_t flags;                    /* v4+ */
    int sid_sub_authorities;
    const char *image_name;            /* NULL = "" */
    const char *command_line;          /* NULL = "" */
    size_t extra_bytes;                /* versions > 4 */
};

size_t payload_process(uint8_t *out, size_t cap, uint8_t version, uint8_t pointer_size,
                       const struct payload_process *fields);

/* Offset of ImageFileName within a payload_process() result (the end of the SID): the
 * byte count a decoder must walk before the name. 0 for bad arguments. */
size_t payload_process_name_offset(uint8_t version, uint8_t pointer_size,
                                   const struct payload_process *fields);

#endif
