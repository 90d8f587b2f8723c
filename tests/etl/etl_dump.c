/* Developer tool: what an ETL file holds, as the reader sees it. Prints the logfile
 * header, buffers per processor, record counts per header kind and per class/opcode,
 * and whether each processor's stream is in time order. Usage: etl_dump FILE [-v] */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl_file.h"
#include "etl_format.h"
#include "etl_records.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: etl_dump FILE [-v]\n");
        return 2;
    }
    int verbose = argc > 2 && strcmp(argv[2], "-v") == 0;
    struct etl_file f;
    char error[512];
    if (etl_file_open(&f, argv[1], NULL, error, sizeof error) != ETL_OPEN_OK) {
        fprintf(stderr, "%s\n", error);
        return 1;
    }
    const struct etl_file_info *in = &f.info;
    printf("size %" PRIu64 " buffers %zu ptr %u clock %u freq %" PRIu64 " mhz %u start %"
           PRIu64 " t0 %" PRIu64 " lost %u cpus %u\n", f.size, f.buffer_count,
           in->pointer_size, in->clock_type, in->perf_freq, in->cpu_mhz, in->start_time,
           in->header_timestamp, in->events_lost, in->num_processors);
    static uint64_t kinds[256], groups[256][256], unknown;
    static uint64_t last_time[65536];
    uint64_t backwards = 0, records = 0;
    struct etl_buffer_image img = { 0 };
    for (size_t i = 0; i < f.buffer_count; i++) {
        if (!etl_file_load_buffer(&f, i, &img))
            break;
        struct etl_walker w;
        struct etl_record r;
        etl_walker_init(&w, img.data, img.size);
        enum etl_walk_status st;
        uint16_t proc = f.buffers[i].processor;
        while ((st = etl_walk_next(&w, &r)) == ETL_WALK_RECORD) {
            records++;
            if (r.header_type == 0) {
                unknown++;
                continue;
            }
            kinds[r.header_type]++;
            if (r.hook_id || r.header_type < 0x0A || (r.header_type >= 0x10 && r.header_type <= 0x11))
                groups[r.hook_id >> 8][r.hook_id & 0xFF]++;
            if (r.rec.timestamp < last_time[proc])
                backwards++;
            last_time[proc] = r.rec.timestamp;
            if (verbose && r.rec.event_class != TRACE_CLASS_OTHER)
                printf("buf %zu proc %u off %u type 0x%02x class %d op %u v %u ptr %u size %u ts %"
                       PRIu64 "\n", i, proc, r.offset, r.header_type, r.rec.event_class,
                       r.rec.opcode, r.rec.version, r.rec.pointer_size, r.rec.payload_size,
                       etl_file_time(in, r.rec.timestamp));
        }
        if (st == ETL_WALK_DAMAGED)
            printf("buffer %zu damaged at %u: %s\n", i, w.error_offset, w.error);
    }
    printf("records %" PRIu64 ", unknown kinds %" PRIu64 ", backwards in a stream %" PRIu64 "\n",
           records, unknown, backwards);
    for (int k = 0; k < 256; k++)
        if (kinds[k])
            printf("kind 0x%02x: %" PRIu64 "\n", k, kinds[k]);
    for (int g = 0; g < 256; g++)
        for (int t = 0; t < 256; t++)
            if (groups[g][t] && (g == 3 || g == 6 || g == 8 || g == 0x11 || g == 0))
                printf("group 0x%02x type %3d: %" PRIu64 "\n", g, t, groups[g][t]);
    if (f.damaged)
        printf("damage: %s\n", f.error);
    etl_buffer_image_free(&img);
    etl_file_close(&f);
    return 0;
}
