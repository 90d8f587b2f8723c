/* One buffer's records. Every kind of header is 8-byte aligned from the buffer start and
 * states its own size (header included), which is how unknown kinds are stepped over. */
#include "etl_records.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "bytes.h"
#include "etl_format.h"


/* GUIDs as their bytes appear in a file: Data1, Data2, Data3 little-endian, Data4 as is. */
static const uint8_t GUID_TCPIP[16] = { /* {9a280ac0-c8e0-11d1-84e2-00c04fb998a2} */
    0xc0, 0x0a, 0x28, 0x9a, 0xe0, 0xc8, 0xd1, 0x11,
    0x84, 0xe2, 0x00, 0xc0, 0x4f, 0xb9, 0x98, 0xa2 };
static const uint8_t GUID_UDPIP[16] = { /* {bf3a50c5-a9c9-4988-a005-2df0b7c80f80} */
    0xc5, 0x50, 0x3a, 0xbf, 0xc9, 0xa9, 0x88, 0x49,
    0xa0, 0x05, 0x2d, 0xf0, 0xb7, 0xc8, 0x0f, 0x80 };
static const uint8_t GUID_PROCESS[16] = { /* {3d6fa8d0-fe05-11d0-9dda-00c04fd7ba7c} */
    0xd0, 0xa8, 0x6f, 0x3d, 0x05, 0xfe, 0xd0, 0x11,
    0x9d, 0xda, 0x00, 0xc0, 0x4f, 0xd7, 0xba, 0x7c };
static const uint8_t GUID_LOST_EVENT[16] = { /* {6a399ae0-4bc6-4de9-870b-3657f8947e7e} */
    0xe0, 0x9a, 0x39, 0x6a, 0xc6, 0x4b, 0xe9, 0x4d,
    0x87, 0x0b, 0x36, 0x57, 0xf8, 0x94, 0x7e, 0x7e };
static const uint8_t GUID_SYSCONFIG[16] = { /* {01853a65-418f-4f36-aefc-dc0f1d2fd235} */
    0x65, 0x3a, 0x85, 0x01, 0x8f, 0x41, 0x36, 0x4f,
    0xae, 0xfc, 0xdc, 0x0f, 0x1d, 0x2f, 0xd2, 0x35 };

enum trace_class etl_class_of_guid(const uint8_t guid[16])
{
    if (memcmp(guid, GUID_TCPIP, 16) == 0) return TRACE_CLASS_TCPIP;
    if (memcmp(guid, GUID_UDPIP, 16) == 0) return TRACE_CLASS_UDPIP;
    if (memcmp(guid, GUID_PROCESS, 16) == 0) return TRACE_CLASS_PROCESS;
    if (memcmp(guid, GUID_LOST_EVENT, 16) == 0) return TRACE_CLASS_LOST_EVENT;
    if (memcmp(guid, GUID_SYSCONFIG, 16) == 0) return TRACE_CLASS_SYSCONFIG;
    return TRACE_CLASS_OTHER;
}

static inline enum trace_class class_of_hook(uint16_t hook_id)
{
    switch (hook_id >> 8) {
    case ETL_GROUP_TCPIP: return TRACE_CLASS_TCPIP;
    case ETL_GROUP_UDPIP: return TRACE_CLASS_UDPIP;
    case ETL_GROUP_SYSCONFIG: return TRACE_CLASS_SYSCONFIG;
    case ETL_GROUP_PROCESS:
        /* The kernel still logs image loads under the process group (TraceEvent decodes
         * them as Image/Load); they are not process events. */
        return (hook_id & 0xFF) == ETL_HOOK_IMAGE_LOAD_TYPE ? TRACE_CLASS_OTHER
                                                            : TRACE_CLASS_PROCESS;
    default: return TRACE_CLASS_OTHER;
    }
}

enum trace_class etl_class_of_hook(uint16_t hook_id) { return class_of_hook(hook_id); }

bool etl_record_is_logfile_header(const struct etl_record *record)
{
    return (record->header_type == ETL_HDR_SYSTEM32 || record->header_type == ETL_HDR_SYSTEM64)
        && record->hook_id == 0;
}

void etl_walker_init(struct etl_walker *walker, const uint8_t *data, uint32_t size)
{
    walker->data = data;
    walker->size = size;
    walker->pos = ETL_BUFFER_HEADER_SIZE;
    walker->error_offset = 0;
    walker->error[0] = '\0';
}

/* Record the damage; later records of this buffer cannot be found, so the walk ends. */
static enum etl_walk_status damaged(struct etl_walker *w, uint32_t at, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    w->error_offset = at;
    vsnprintf(w->error, sizeof w->error, format, args);
    va_end(args);
    w->pos = w->size;
    return ETL_WALK_DAMAGED;
}

/* System, compact and perfinfo: identified by the HookId; pointer size by the type. */
static void parse_system(const uint8_t *r, uint8_t type, uint32_t marker, struct etl_record *out)
{
    uint32_t header_size;
    out->hook_id = load_le16(r + ETL_SYS_OFF_HOOK_ID);
    if (type == ETL_HDR_PERFINFO32 || type == ETL_HDR_PERFINFO64) {
        header_size = ETL_PERFINFO_HEADER_SIZE;
        out->rec.timestamp = load_le64(r + ETL_PERFINFO_OFF_TIMESTAMP);
    } else {
        header_size = type <= ETL_HDR_SYSTEM64 ? ETL_SYSTEM_HEADER_SIZE : ETL_COMPACT_HEADER_SIZE;
        out->thread_id = load_le32(r + ETL_SYS_OFF_THREAD_ID);
        out->process_id = load_le32(r + ETL_SYS_OFF_PROCESS_ID);
        out->rec.timestamp = load_le64(r + ETL_SYS_OFF_TIMESTAMP);
    }
    out->rec.event_class = class_of_hook(out->hook_id);
    out->rec.opcode = (uint8_t)(out->hook_id & 0xFF);
    out->rec.version = (uint8_t)(marker & 0xFF);
    out->rec.pointer_size = (type == ETL_HDR_SYSTEM32 || type == ETL_HDR_COMPACT32
                             || type == ETL_HDR_PERFINFO32) ? 4 : 8;
    out->rec.payload = r + header_size;
}

static uint32_t header_size_of(uint8_t type)
{
    switch (type) {
    case ETL_HDR_SYSTEM32: case ETL_HDR_SYSTEM64: return ETL_SYSTEM_HEADER_SIZE;
    case ETL_HDR_COMPACT32: case ETL_HDR_COMPACT64: return ETL_COMPACT_HEADER_SIZE;
    case ETL_HDR_PERFINFO32: case ETL_HDR_PERFINFO64: return ETL_PERFINFO_HEADER_SIZE;
    case ETL_HDR_FULL32: case ETL_HDR_FULL64: return ETL_FULL_HEADER_SIZE;
    case ETL_HDR_INSTANCE32: case ETL_HDR_INSTANCE64: return ETL_INSTANCE_HEADER_SIZE;
    case ETL_HDR_EVENT32: case ETL_HDR_EVENT64: return ETL_EVENT_HEADER_SIZE;
    default: return 0;
    }
}

/* EVENT_TRACE_HEADER and its instance form: a GUID names the class. */
static void parse_trace(const uint8_t *r, uint8_t type, struct etl_record *out)
{
    out->thread_id = load_le32(r + ETL_TRACE_OFF_THREAD_ID);
    out->process_id = load_le32(r + ETL_TRACE_OFF_PROCESS_ID);
    out->rec.timestamp = load_le64(r + ETL_TRACE_OFF_TIMESTAMP);
    out->rec.event_class = etl_class_of_guid(r + ETL_TRACE_OFF_GUID);
    out->rec.opcode = r[ETL_TRACE_OFF_TYPE];
    out->rec.version = (uint8_t)load_le16(r + ETL_TRACE_OFF_VERSION);
    out->rec.pointer_size = (type == ETL_HDR_FULL32 || type == ETL_HDR_INSTANCE32) ? 4 : 8;
    out->rec.payload = r + header_size_of(type);
}

/* EVENT_HEADER: GUID plus descriptor; extended data items sit between header and payload. */
static enum etl_walk_status parse_event(struct etl_walker *w, const uint8_t *r, uint8_t type,
                                        uint32_t size, struct etl_record *out)
{
    uint32_t at = ETL_EVENT_HEADER_SIZE;
    out->thread_id = load_le32(r + ETL_EVT_OFF_THREAD_ID);
    out->process_id = load_le32(r + ETL_EVT_OFF_PROCESS_ID);
    out->rec.timestamp = load_le64(r + ETL_EVT_OFF_TIMESTAMP);
    out->rec.event_class = etl_class_of_guid(r + ETL_EVT_OFF_PROVIDER);
    out->rec.opcode = r[ETL_EVT_OFF_OPCODE];
    out->rec.version = r[ETL_EVT_OFF_VERSION];
    out->rec.pointer_size = type == ETL_HDR_EVENT32 ? 4 : 8;
    if (load_le16(r + ETL_EVT_OFF_FLAGS) & ETL_EVT_FLAG_EXTENDED_INFO) {
        for (;;) {
            /* at may pass size: the previous item's end rounded up to the alignment */
            if (at > size || size - at < ETL_EXT_ITEM_HEADER_SIZE)
                return damaged(w, out->offset + at,
                               "extended data item header at record byte %u overruns the "
                               "record of %u bytes", at, size);
            uint16_t linkage = load_le16(r + at + ETL_EXT_OFF_LINKAGE);
            uint32_t item_end = at + ETL_EXT_ITEM_HEADER_SIZE + load_le16(r + at + ETL_EXT_OFF_DATA_SIZE);
            if (item_end > size)
                return damaged(w, out->offset + at,
                               "extended data item ending at record byte %u overruns the "
                               "record of %u bytes", item_end, size);
            at = (item_end + ETL_RECORD_ALIGN - 1) & ~(ETL_RECORD_ALIGN - 1);
            if (!(linkage & 1u))
                break;
        }
        if (at > size)
            at = size; /* alignment padding of the last item may be absent */
    }
    out->rec.payload = r + at;
    out->rec.payload_size = size - at;
    return ETL_WALK_RECORD;
}

enum etl_walk_status etl_walk_next(struct etl_walker *w, struct etl_record *out)
{
    if (w->pos >= w->size || w->size - w->pos < 4)
        return ETL_WALK_END;
    const uint8_t *r = w->data + w->pos;
    uint32_t avail = w->size - w->pos;
    uint32_t marker = load_le32(r);
    if (marker == ETL_PADDING_MARKER)
        return ETL_WALK_END;
    if (!(marker & ETL_MARKER_TRACE_HEADER))
        return damaged(w, w->pos, "record marker 0x%08x is not a trace header", marker);

    /* Every field is set below, so no memset: this runs once per record. */
    out->offset = w->pos;
    out->process_id = 0xFFFFFFFFu;
    out->thread_id = 0xFFFFFFFFu;
    out->hook_id = 0;
    out->header_type = 0;
    uint8_t type = (uint8_t)ETL_MARKER_TYPE(marker);
    bool event_trace = (marker & ETL_MARKER_FLAGS_MASK) == ETL_MARKER_FLAGS_MASK;
    bool system_kind = event_trace && (type == ETL_HDR_SYSTEM32 || type == ETL_HDR_SYSTEM64
                                       || type == ETL_HDR_COMPACT32 || type == ETL_HDR_COMPACT64
                                       || type == ETL_HDR_PERFINFO32 || type == ETL_HDR_PERFINFO64);
    uint32_t size;
    if (system_kind) {
        if (avail < 8)
            return damaged(w, w->pos, "record header of %u bytes cut off at the end of valid "
                           "data (%u bytes left)", header_size_of(type), avail);
        size = load_le16(r + ETL_SYS_OFF_SIZE);
    } else {
        size = marker & 0xFFFFu;
    }
    uint32_t header_size = event_trace ? header_size_of(type) : 0;
    if (size < 8 || size < header_size)
        return damaged(w, w->pos, "record size %u is smaller than its header (%u bytes)",
                       size, header_size > 8 ? header_size : 8);
    if (size > avail)
        return damaged(w, w->pos, "record of %u bytes overruns the valid data (%u bytes left)",
                       size, avail);

    /* Step over the record and its alignment padding now, whatever the kind. */
    uint32_t next = w->pos + ((size + ETL_RECORD_ALIGN - 1) & ~(ETL_RECORD_ALIGN - 1));
    w->pos = next;
    if (header_size == 0) {
        memset(&out->rec, 0, sizeof out->rec);
        out->rec.payload = r;
        out->rec.payload_size = size;
        return ETL_WALK_RECORD; /* header_type 0: a kind we cannot parse */
    }
    out->header_type = type;
    out->rec.payload_size = size - header_size;
    switch (type) {
    case ETL_HDR_FULL32: case ETL_HDR_FULL64:
    case ETL_HDR_INSTANCE32: case ETL_HDR_INSTANCE64:
        parse_trace(r, type, out);
        return ETL_WALK_RECORD;
    case ETL_HDR_EVENT32: case ETL_HDR_EVENT64:
        return parse_event(w, r, type, size, out);
    default:
        parse_system(r, type, marker, out);
        return ETL_WALK_RECORD;
    }
}
