#include "row_services.h"

#include <stdio.h>
#include <string.h>

void row_services_of(const struct process_table *table, uint32_t set, struct row_services *out)
{
    out->count = process_table_service_set(table, set, out->refs, PROCESS_TABLE_SERVICES_PER_SET);
}

void row_services_join(const struct row_services *services, bool display,
                       struct text_buffer *out)
{
    for (size_t i = 0; i < services->count; i++) {
        if (i > 0)
            text_buffer_append_str(out, display ? "; " : ",");
        text_buffer_append_str(out, display ? services->refs[i].display_name
                                            : services->refs[i].name);
    }
}

void row_services_text(const struct row_services *services, char *out, size_t out_size)
{
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; i < services->count; i++) {
        const char *name = services->refs[i].name;
        size_t need = strlen(name) + (i > 0);
        size_t room_for_more = i + 1 < services->count ? 4 : 0; /* ",..." */
        if (at + need + room_for_more + 1 > out_size) {
            const char *more = i > 0 ? ",..." : "...";
            if (at + strlen(more) + 1 <= out_size)
                memcpy(out + at, more, strlen(more) + 1);
            return;
        }
        at += (size_t)snprintf(out + at, out_size - at, "%s%s", i > 0 ? "," : "", name);
    }
}
