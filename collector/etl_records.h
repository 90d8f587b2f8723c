/* Walking the records of one ETL buffer (already decompressed): each record header kind
 * is parsed into a portable trace_record. Pure function of the bytes it is given: no
 * allocation, no I/O, never reads outside [data, data + size). */
#ifndef TCPIP_EXPORTER_ETL_RECORDS_H
#define TCPIP_EXPORTER_ETL_RECORDS_H

#include <stdbool.h>
#include <stdint.h>
#include "trace_record.h"

struct etl_record {
    struct trace_record rec;   /* timestamp is the raw clock value of the file */
    uint8_t header_type;       /* enum etl_header_type, or 0 for a kind we cannot parse */
    uint16_t hook_id;          /* system, compact and perfinfo headers; else 0 */
    uint32_t process_id;       /* from the header; 0xFFFFFFFF when the kind has none */
    uint32_t thread_id;
    uint32_t offset;           /* of the record header within the buffer */
};

struct etl_walker {
    const uint8_t *data;       /* the whole buffer image: 72-byte header, then records */
    uint32_t size;             /* end of valid data (FilledBytes) */
    uint32_t pos;              /* next record, relative to data */
    uint32_t error_offset;     /* where the damage is, relative to data */
    char error[160];           /* what was wrong; empty while none */
};

enum etl_walk_status {
    ETL_WALK_RECORD,           /* *out holds the next record */
    ETL_WALK_END,              /* no more records in this buffer */
    ETL_WALK_DAMAGED,          /* a record header is invalid: error and error_offset set */
};

void etl_walker_init(struct etl_walker *walker, const uint8_t *data, uint32_t size);

/* The next record. Kinds we cannot parse come back with header_type 0 and class
 * TRACE_CLASS_OTHER (skipped by their size), so the caller can count them. */
enum etl_walk_status etl_walk_next(struct etl_walker *walker, struct etl_record *out);

/* The class of a provider GUID as stored in a file (16 bytes, Data1..3 little-endian). */
enum trace_class etl_class_of_guid(const uint8_t guid[16]);

/* The class of a kernel HookId (group in the high byte, event type in the low byte). */
enum trace_class etl_class_of_hook(uint16_t hook_id);

/* True for the logfile header record (EventTrace group, type 0). */
bool etl_record_is_logfile_header(const struct etl_record *record);

#endif
