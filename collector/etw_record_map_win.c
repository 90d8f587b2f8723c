#include "etw_record_map_win.h"

#include <string.h>

/* The MOF class GUIDs that kernel events carry as ProviderId in a real-time session
 * (values from collector/README.md; the same classes the ETL reader maps by HookId group). */
static const GUID tcpip_guid =
    {0x9a280ac0, 0xc8e0, 0x11d1, {0x84, 0xe2, 0x00, 0xc0, 0x4f, 0xb9, 0x98, 0xa2}};
static const GUID udpip_guid =
    {0xbf3a50c5, 0xa9c9, 0x4988, {0xa0, 0x05, 0x2d, 0xf0, 0xb7, 0xc8, 0x0f, 0x80}};
static const GUID process_guid =
    {0x3d6fa8d0, 0xfe05, 0x11d0, {0x9d, 0xda, 0x00, 0xc0, 0x4f, 0xd7, 0xba, 0x7c}};
static const GUID lost_event_guid =
    {0x6a399ae0, 0x4bc6, 0x4de9, {0x87, 0x0b, 0x36, 0x57, 0xf8, 0x94, 0x7e, 0x7e}};

enum trace_class etw_class_of(const GUID *provider)
{
    if (memcmp(provider, &tcpip_guid, sizeof *provider) == 0)
        return TRACE_CLASS_TCPIP;
    if (memcmp(provider, &udpip_guid, sizeof *provider) == 0)
        return TRACE_CLASS_UDPIP;
    if (memcmp(provider, &process_guid, sizeof *provider) == 0)
        return TRACE_CLASS_PROCESS;
    if (memcmp(provider, &lost_event_guid, sizeof *provider) == 0)
        return TRACE_CLASS_LOST_EVENT;
    return TRACE_CLASS_OTHER;
}

void etw_record_map(const EVENT_RECORD *event, uint32_t default_pointer_size,
                    struct trace_record *record)
{
    const EVENT_HEADER *header = &event->EventHeader;

    record->event_class = etw_class_of(&header->ProviderId);
    record->opcode = header->EventDescriptor.Opcode;
    record->version = header->EventDescriptor.Version;
    /* The recording kernel's pointer size, from the header flags. Without either flag,
     * the session's logfile header says it; failing that it stays 0, so the decoder
     * counts pointer-bearing layouts as malformed rather than guessing from this build. */
    if (header->Flags & EVENT_HEADER_FLAG_64_BIT_HEADER)
        record->pointer_size = 8;
    else if (header->Flags & EVENT_HEADER_FLAG_32_BIT_HEADER)
        record->pointer_size = 4;
    else if (default_pointer_size == 4 || default_pointer_size == 8)
        record->pointer_size = (uint8_t)default_pointer_size;
    else
        record->pointer_size = 0;
    /* Real-time consumers get FILETIME-scale system time unless they asked for raw
     * timestamps, which we never do. */
    record->timestamp = (uint64_t)header->TimeStamp.QuadPart;
    record->payload = (const uint8_t *)event->UserData;
    record->payload_size = event->UserData != NULL ? event->UserDataLength : 0;
}
