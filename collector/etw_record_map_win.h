/* EVENT_RECORD (a live kernel session's event) -> the portable trace_record that the ETL
 * reader produces too. A pure function kept apart from the session so tests can feed it
 * records built with the real Windows headers. Windows only. */
#ifndef TCPIP_EXPORTER_ETW_RECORD_MAP_H
#define TCPIP_EXPORTER_ETW_RECORD_MAP_H

#include <windows.h>
#include <evntcons.h>
#include "trace_record.h"

/* The event class of a provider GUID; TRACE_CLASS_OTHER for any we do not decode. */
enum trace_class etw_class_of(const GUID *provider);

/* Fills record from event; the payload points into the event's UserData, so the record
 * lives no longer than the callback that received the event. default_pointer_size is the
 * kernel's pointer size (0 when unknown), used only for an event that carries neither
 * pointer-size flag. */
void etw_record_map(const EVENT_RECORD *event, uint32_t default_pointer_size,
                    struct trace_record *record);

#endif
