/* A test ETL writer: builds trace files of known contents in memory (buffers per
 * processor, every record header kind, plain or MS-XCA LZ77 compressed buffers) for exact
 * end-to-end assertions, fuzz seeds and benchmarks. Not a general-purpose tool. */
#ifndef TCPIP_EXPORTER_TEST_ETL_WRITER_H
#define TCPIP_EXPORTER_TEST_ETL_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "trace_record.h"

struct etl_writer_config {
    uint8_t pointer_size;       /* of the logfile header (SYSTEM32/64); default 8 */
    uint32_t buffer_size;       /* uncompressed bytes per buffer; default 64 KiB */
    bool compress;              /* compress every buffer after the header buffer */
    bool literals_only;         /* compress with literals only (another valid encoding) */
    uint32_t clock_type;        /* default 1 (QPC) */
    uint64_t perf_freq;         /* default 10 MHz */
    uint32_t cpu_mhz;           /* default 3000 */
    uint64_t start_time;        /* FILETIME at header_timestamp; default 2020-01-01 */
    uint64_t header_timestamp;  /* raw clock value of the logfile header; default 1000000 */
    uint32_t events_lost;
};

struct etl_writer_event {
    uint8_t header_type;        /* enum etl_header_type (0x01..0x15) */
    enum trace_class event_class; /* names the HookId group or GUID the writer uses */
    uint8_t opcode;
    uint8_t version;
    uint64_t timestamp;         /* raw clock value */
    uint32_t pid, tid;          /* header fields (kinds that have them) */
    const uint8_t *payload;
    uint32_t payload_size;
    int ext_items;              /* EVENT_HEADER kinds: extended data items before payload */
};

struct etl_writer;

struct etl_writer *etl_writer_create(const struct etl_writer_config *config);
void etl_writer_free(struct etl_writer *w);

/* Append a record to the processor's open buffer (a full buffer is flushed first). */
void etl_writer_add(struct etl_writer *w, uint16_t processor, const struct etl_writer_event *e);

/* Append raw record bytes (the caller's own header), e.g. a kind the reader cannot parse. */
void etl_writer_add_raw(struct etl_writer *w, uint16_t processor, const uint8_t *record,
                        uint32_t size);

/* Close the processor's open buffer now: buffers land in the file in flush order, which is
 * how tests put later events of one processor before earlier ones of another. */
void etl_writer_flush(struct etl_writer *w, uint16_t processor);

/* Flush every open buffer (in processor order) and hand out the file image. The pointer
 * stays owned by the writer. */
const uint8_t *etl_writer_finish(struct etl_writer *w, size_t *size);

/* finish + write to path; false on an I/O error. */
bool etl_writer_save(struct etl_writer *w, const char *path);

/* Helpers for tests: write bytes to a file; the GUID bytes of a class. */
bool etl_write_file(const char *path, const uint8_t *data, size_t size);
void etl_writer_class_guid(enum trace_class event_class, uint8_t guid[16]);

#endif
