/* Traces of known contents shared by the end-to-end test, the fuzz seed corpus and the
 * benchmark: each writes one ETL file and says what a replay must show. */
#ifndef TCPIP_EXPORTER_TEST_ETL_SCENARIOS_H
#define TCPIP_EXPORTER_TEST_ETL_SCENARIOS_H

#include <stdbool.h>
#include <stdint.h>
#include "etl_writer.h"

/* Plain buffers, 8-byte pointers: every TcpIp type of pid 100 (alpha.exe) once per family
 * in rotating header kinds; UDP of pid 200 (beta.exe, named by an EVENT_HEADER record);
 * pid 300 reused (gamma.exe then delta.exe) with processor 2's buffer, holding the later
 * events, written before processors 0 and 1; two fails, one unknown opcode, one malformed
 * payload and one record of an unknown header kind. */
struct etl_writer *scenario_mixed64(void);

/* Compressed buffers, 4-byte pointers (32-bit header kinds): every TcpIp type of pid 400
 * (epsilon.exe) once per family. literals_only picks the other LZ77 encoding. */
struct etl_writer *scenario_compressed32(bool literals_only);

/* Remote peers: `processes` processes (pid 1000 + 4 i, peers<i % 3>.exe; every third one's
 * pid reused once) with `connections` connections each per instance, IPv4 and IPv6, TCP
 * (opened by a Connect, by an Accept, or older than the trace) and UDP (receives recorded
 * with the local socket as destination), remote hosts 10.<instance + 1>.x.x and
 * 2001:db8:<instance>::x; one record in 50 cut short before its endpoints. Deterministic
 * for a seed. */
struct etl_writer *scenario_peers(uint32_t seed, uint32_t processes, uint32_t connections);

/* Helpers the scenarios use, also handy for the benchmark. */
void scenario_tcp(struct etl_writer *w, uint16_t processor, uint8_t header_type,
                  uint8_t pointer_size, uint8_t opcode, uint64_t t, uint32_t pid, uint32_t size);
void scenario_process(struct etl_writer *w, uint16_t processor, uint8_t header_type,
                      uint8_t pointer_size, uint8_t opcode, uint64_t t, uint32_t pid,
                      uint64_t key, const char *image);

#endif
