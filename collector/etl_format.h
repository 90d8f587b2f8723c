/* The on-disk layout of ETL files, as far as the reader needs it: offsets and constants
 * shared by the reader and the test writer (tests/etl) so both name the same facts.
 * Everything is little-endian; sources: Geoff Chappell's WMI_BUFFER_HEADER and trace
 * header studies, evntrace.h / evntcons.h, and the real traces in ../shared/data/etl. */
#ifndef TCPIP_EXPORTER_ETL_FORMAT_H
#define TCPIP_EXPORTER_ETL_FORMAT_H

/* ---- WMI_BUFFER_HEADER: 72 bytes at the start of every buffer ---- */
#define ETL_BUFFER_HEADER_SIZE      72u
#define ETL_BUF_OFF_BUFFER_SIZE     0x00u  /* u32: bytes of this buffer in the file */
#define ETL_BUF_OFF_SAVED_OFFSET    0x04u  /* u32 */
#define ETL_BUF_OFF_TIMESTAMP       0x10u  /* u64 */
#define ETL_BUF_OFF_PROCESSOR       0x28u  /* u16: ETW_BUFFER_CONTEXT.ProcessorIndex */
#define ETL_BUF_OFF_LOGGER_ID       0x2Au  /* u16 */
#define ETL_BUF_OFF_FILLED_BYTES    0x30u  /* u32: end of valid data (header included) */
#define ETL_BUF_OFF_FLAGS           0x34u  /* u16: BufferFlag */
#define ETL_BUF_OFF_TYPE            0x36u  /* u16: BufferType */
#define ETL_BUFFER_FLAG_COMPRESSED  0x40u  /* bytes [72, BufferSize) are MS-XCA plain LZ77 */
#define ETL_BUFFER_TYPE_HEADER      4u     /* the first buffer, holding the logfile header */

/* Records are aligned to this many bytes from the buffer start. */
#define ETL_RECORD_ALIGN            8u

/* ---- record headers: the first u32 ("marker") says which kind ----
 * bits 31..30 = 11 (TRACE_HEADER_FLAG | TRACE_HEADER_EVENT_TRACE), byte 2 = header type.
 * System/compact/perfinfo headers keep the event version in the low 16 bits and the size
 * at offset 4; every other kind keeps its size in the low 16 bits. */
#define ETL_MARKER_FLAGS_MASK       0xC0000000u
#define ETL_MARKER_TRACE_HEADER     0x80000000u  /* TRACE_HEADER_FLAG: has a size */
#define ETL_MARKER_EVENT_TRACE      0x40000000u
#define ETL_MARKER_TYPE(marker)     (((marker) >> 16) & 0xFFu)
#define ETL_PADDING_MARKER          0xFFFFFFFFu  /* unused space, up to the buffer end */

enum etl_header_type {
    ETL_HDR_SYSTEM32 = 0x01,         /* SYSTEM_TRACE_HEADER, 32 bytes, 4-byte pointers */
    ETL_HDR_SYSTEM64 = 0x02,
    ETL_HDR_COMPACT32 = 0x03,        /* SYSTEM_TRACE_HEADER without CPU times, 24 bytes */
    ETL_HDR_COMPACT64 = 0x04,
    ETL_HDR_FULL32 = 0x0A,           /* EVENT_TRACE_HEADER with a GUID, 48 bytes */
    ETL_HDR_INSTANCE32 = 0x0B,       /* EVENT_INSTANCE_GUID_HEADER, 72 bytes */
    ETL_HDR_PERFINFO32 = 0x10,       /* PERFINFO_TRACE_HEADER, 16 bytes, no PID/TID */
    ETL_HDR_PERFINFO64 = 0x11,
    ETL_HDR_EVENT32 = 0x12,          /* EVENT_HEADER (manifest/TraceLogging), 80 bytes */
    ETL_HDR_EVENT64 = 0x13,
    ETL_HDR_FULL64 = 0x14,
    ETL_HDR_INSTANCE64 = 0x15,
};

/* System, compact and perfinfo headers: u32 marker, u16 size @4, u16 HookId @6. */
#define ETL_SYS_OFF_SIZE            0x04u
#define ETL_SYS_OFF_HOOK_ID         0x06u
#define ETL_SYS_OFF_THREAD_ID       0x08u  /* system and compact only */
#define ETL_SYS_OFF_PROCESS_ID      0x0Cu
#define ETL_SYS_OFF_TIMESTAMP       0x10u  /* system and compact */
#define ETL_PERFINFO_OFF_TIMESTAMP  0x08u
#define ETL_SYSTEM_HEADER_SIZE      32u
#define ETL_COMPACT_HEADER_SIZE     24u
#define ETL_PERFINFO_HEADER_SIZE    16u

/* HookId: group in the high byte, event type (opcode) in the low byte. */
#define ETL_GROUP_HEADER            0x00u  /* EventTrace: the logfile header is HookId 0 */
#define ETL_GROUP_PROCESS           0x03u
#define ETL_GROUP_TCPIP             0x06u
#define ETL_GROUP_SYSCONFIG         0x0Bu  /* SystemConfig: hardware and services, at trace end */
#define ETL_GROUP_UDPIP             0x08u  /* on the perfview traces; not 0x11 (Object) */
#define ETL_HOOK_IMAGE_LOAD_TYPE    0x0Au  /* process group, type 10: an Image/Load event */

/* EVENT_TRACE_HEADER (full, 48 bytes) and EVENT_INSTANCE_GUID_HEADER (instance, 72). */
#define ETL_TRACE_OFF_TYPE          0x04u  /* u8 Class.Type = opcode */
#define ETL_TRACE_OFF_LEVEL         0x05u
#define ETL_TRACE_OFF_VERSION       0x06u  /* u16 Class.Version */
#define ETL_TRACE_OFF_THREAD_ID     0x08u
#define ETL_TRACE_OFF_PROCESS_ID    0x0Cu
#define ETL_TRACE_OFF_TIMESTAMP     0x10u
#define ETL_TRACE_OFF_GUID          0x18u
#define ETL_FULL_HEADER_SIZE        48u
#define ETL_INSTANCE_HEADER_SIZE    72u

/* EVENT_HEADER as stored in a buffer (80 bytes), then optional extended data items. */
#define ETL_EVT_OFF_FLAGS           0x04u  /* u16 */
#define ETL_EVT_OFF_THREAD_ID       0x08u
#define ETL_EVT_OFF_PROCESS_ID      0x0Cu
#define ETL_EVT_OFF_TIMESTAMP       0x10u
#define ETL_EVT_OFF_PROVIDER        0x18u  /* GUID */
#define ETL_EVT_OFF_ID              0x28u  /* EVENT_DESCRIPTOR: Id u16 */
#define ETL_EVT_OFF_VERSION         0x2Au  /* u8 */
#define ETL_EVT_OFF_OPCODE          0x2Du  /* u8 */
#define ETL_EVENT_HEADER_SIZE       80u
#define ETL_EVT_FLAG_EXTENDED_INFO  0x0001u
#define ETL_EVT_FLAG_32_BIT_HEADER  0x0020u
#define ETL_EVT_FLAG_64_BIT_HEADER  0x0040u
/* Extended data item: u16 reserved, u16 ExtType, u16 linkage (bit 0: another item
 * follows), u16 DataSize, then the data; each item 8-byte aligned. */
#define ETL_EXT_ITEM_HEADER_SIZE    8u
#define ETL_EXT_OFF_LINKAGE         4u
#define ETL_EXT_OFF_DATA_SIZE       6u

/* TRACE_LOGFILE_HEADER, the payload of the first record (HookId 0). Offsets up to
 * PointerSize are fixed; after the two name pointers they depend on the pointer size
 * (TIME_ZONE_INFORMATION is 172 bytes, then 8-byte aligned LARGE_INTEGERs). */
#define ETL_LOG_OFF_BUFFER_SIZE     0x00u
#define ETL_LOG_OFF_VERSION         0x04u
#define ETL_LOG_OFF_PROVIDER_VERSION 0x08u
#define ETL_LOG_OFF_NUM_PROCESSORS  0x0Cu
#define ETL_LOG_OFF_END_TIME        0x10u
#define ETL_LOG_OFF_TIMER_RESOLUTION 0x18u
#define ETL_LOG_OFF_BUFFERS_WRITTEN 0x24u
#define ETL_LOG_OFF_POINTER_SIZE    0x2Cu
#define ETL_LOG_OFF_EVENTS_LOST     0x30u
#define ETL_LOG_OFF_CPU_SPEED_MHZ   0x34u
#define ETL_LOG_OFF_LOGGER_NAME     0x38u  /* pointer, then the file name pointer */
/* ptr 8: BootTime 0xF8, PerfFreq 0x100, StartTime 0x108, ReservedFlags 0x110,
 * BuffersLost 0x114. ptr 4: each 8 bytes earlier. */
#define ETL_LOG_OFF_BOOT_TIME(ptr)      ((ptr) == 8 ? 0xF8u : 0xF0u)
#define ETL_LOG_OFF_PERF_FREQ(ptr)      ((ptr) == 8 ? 0x100u : 0xF8u)
#define ETL_LOG_OFF_START_TIME(ptr)     ((ptr) == 8 ? 0x108u : 0x100u)
#define ETL_LOG_OFF_CLOCK_TYPE(ptr)     ((ptr) == 8 ? 0x110u : 0x108u) /* ReservedFlags */
#define ETL_LOG_OFF_BUFFERS_LOST(ptr)   ((ptr) == 8 ? 0x114u : 0x10Cu)
#define ETL_LOG_FIXED_SIZE(ptr)         ((ptr) == 8 ? 0x118u : 0x110u)

enum etl_clock_type {
    ETL_CLOCK_QPC = 1,          /* QueryPerformanceCounter ticks at PerfFreq */
    ETL_CLOCK_SYSTEM_TIME = 2,  /* already 100 ns FILETIME units */
    ETL_CLOCK_CPU_CYCLES = 3,   /* CPU cycles at CpuSpeedInMHz */
};

#endif
