/* The portable form of one trace event, shared by the live ETW session and the ETL
 * reader so that a single decoder serves both. Nothing here depends on Windows headers. */
#ifndef TCPIP_EXPORTER_TRACE_RECORD_H
#define TCPIP_EXPORTER_TRACE_RECORD_H

#include <stdint.h>

/* Which provider (event class) a record belongs to. Sources map their own identification
 * (EVENT_RECORD provider GUID, or the ETL HookId group byte / GUID) to one of these. */
enum trace_class {
    TRACE_CLASS_OTHER = 0,  /* anything we do not decode; counted as unknown */
    TRACE_CLASS_TCPIP,      /* {9a280ac0-c8e0-11d1-84e2-00c04fb998a2}, ETL group 0x06 */
    TRACE_CLASS_UDPIP,      /* {bf3a50c5-a9c9-4988-a005-2df0b7c80f80}, ETL group 0x08 (seen in real traces) */
    TRACE_CLASS_PROCESS,    /* {3d6fa8d0-fe05-11d0-9dda-00c04fd7ba7c}, ETL group 0x03 */
    TRACE_CLASS_LOST_EVENT, /* RT_LostEvent {6a399ae0-4bc6-4de9-870b-3657f8947e7e} */
    TRACE_CLASS_SYSCONFIG,  /* SystemConfig {01853a65-418f-4f36-aefc-dc0f1d2fd235}, ETL group
                             * 0x0B: merged into traces by WPR, xperf and PerfView */
};

struct trace_record {
    enum trace_class event_class;
    uint8_t opcode;        /* event type: EVENT_DESCRIPTOR.Opcode, or the HookId low byte */
    uint8_t version;       /* event version: selects the payload layout */
    uint8_t pointer_size;  /* 4 or 8: the recording system's, never the build's */
    uint64_t timestamp;    /* 100 ns units since 1601-01-01 UTC (FILETIME scale) */
    const uint8_t *payload;
    uint32_t payload_size;
};

#endif
