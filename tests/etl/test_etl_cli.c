/* End to end: `tcpip_exporter --etl FILE... --summary` on traces of known contents from
 * the test writer, compared with the exact expected output; then damaged and non-ETL
 * files, with their exact messages and exit codes; traces followed by a long zero tail
 * (preallocated space), which must be passed over quickly and change nothing.
 *
 * Usage: test_etl_cli PATH_TO_TCPIP_EXPORTER */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "etl_scenarios.h"

static int failures;
static const char *exporter;

struct run {
    int status;
    char out[16384];
    char err[4096];
};

static void slurp(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(out, 1, cap - 1, f) : 0;
    out[n] = '\0';
    if (f)
        fclose(f);
}

/* Run the exporter on the files; stdout and stderr captured separately. */
static void run_exporter(struct run *r, const char *const *files, size_t count)
{
    char command[2048];
    size_t n = (size_t)snprintf(command, sizeof command, "'%s'", exporter);
    for (size_t i = 0; i < count; i++)
        n += (size_t)snprintf(command + n, sizeof command - n, " --etl '%s'", files[i]);
    snprintf(command + n, sizeof command - n,
             " --summary >test_etl_cli.out 2>test_etl_cli.err </dev/null");
    int status = system(command);
    r->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    slurp("test_etl_cli.out", r->out, sizeof r->out);
    slurp("test_etl_cli.err", r->err, sizeof r->err);
    remove("test_etl_cli.out");
    remove("test_etl_cli.err");
}

static void expect_text(const char *what, const char *got, const char *want)
{
    if (strcmp(got, want) == 0)
        return;
    failures++;
    fprintf(stderr, "FAIL %s\n--- expected\n%s--- got\n%s---\n", what, want, got);
}

static void expect_status(const char *what, int got, int want)
{
    if (got == want)
        return;
    failures++;
    fprintf(stderr, "FAIL %s: exit status %d, expected %d\n", what, got, want);
}

static void save(struct etl_writer *w, const char *path)
{
    if (!etl_writer_save(w, path)) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    etl_writer_free(w);
}

/* Ties in total bytes (beta's UDP and gamma's TCP, 1000 each) go by pid. */
static const char MIXED_AND_COMPRESSED[] =
"PID  IMAGE        SENT_BYTES  SENDS  RECV_BYTES  RECVS  CONNECTS  ACCEPTS  DISCONNECTS  RETRANSMITS  RECONNECTS  COPIES  UDP_SENT_BYTES  UDP_RECV_BYTES  SERVICES\n"
"400  epsilon.exe        9000      6        2100      6         6        6            6            6           6       6               0               0  -\n"
"300  delta.exe          5000      1           0      0         0        0            0            0           0       0               0               0  -\n"
"100  alpha.exe          3000      2         700      2         2        2            2            2           2       2               0               0  -\n"
"200  beta.exe              0      0           0      0         0        0            0            0           0       0             300             700  -\n"
"300  gamma.exe          1000      1           0      0         0        0            0            0           0       0               0               0  -\n"
"\n"
"failures: 2\n"
"malformed records: 1\n"
"short network records (counted): 0\n"
"unknown records: 1\n"
"unknown header kinds: 1\n"
"processes untracked (table full): 0\n"
"lost events: 0 (file headers), 0 (lost-event records), 0 (lost-buffer records)\n"
"damaged files: 0\n"
"records: 81 read, 78 of TcpIp/UdpIp/Process/lost-event classes\n"
"files: 2, buffers: 12, bytes: 10720\n";

static void known_traces(void)
{
    save(scenario_mixed64(), "test_etl_cli_mixed64.etl");
    save(scenario_compressed32(false), "test_etl_cli_compressed32.etl");
    const char *files[] = { "test_etl_cli_mixed64.etl", "test_etl_cli_compressed32.etl" };
    struct run r;
    run_exporter(&r, files, 2);
    expect_status("mixed64 + compressed32", r.status, 0);
    expect_text("mixed64 + compressed32: stdout", r.out, MIXED_AND_COMPRESSED);
    expect_text("mixed64 + compressed32: stderr", r.err, "");

    /* The other LZ77 encoding of the same events must give the same table. */
    save(scenario_compressed32(true), "test_etl_cli_compressed32.etl");
    struct run again;
    run_exporter(&again, files, 2);
    expect_status("literal-only compression", again.status, 0);
    char *bytes_line = strstr(r.out, "files: 2,");
    char *again_line = strstr(again.out, "files: 2,");
    if (bytes_line && again_line) {
        *bytes_line = *again_line = '\0'; /* only the byte count may differ */
        expect_text("literal-only compression: same table", again.out, r.out);
    }
}

static void damaged_and_not_etl(void)
{
    /* Truncate the mixed trace inside its last buffer: earlier buffers stay counted. */
    struct etl_writer *w = scenario_mixed64();
    size_t size;
    const uint8_t *data = etl_writer_finish(w, &size);
    size_t cut = size - 100;
    if (!etl_write_file("test_etl_cli_truncated.etl", data, cut))
        exit(1);
    etl_writer_free(w);
    const char *files[] = { "test_etl_cli_truncated.etl" };
    struct run r;
    run_exporter(&r, files, 1);
    expect_status("truncated", r.status, 5); /* EXIT_DAMAGED_TRACE */
    char want[512];
    snprintf(want, sizeof want, "tcpip_exporter: test_etl_cli_truncated.etl: offset %zu: "
             "buffer of 1024 bytes is truncated: the file ends 924 bytes into it\n",
             size - 1024);
    expect_text("truncated: stderr", r.err, want);
    if (!strstr(r.out, "damaged files: 1\n") || !strstr(r.out, "alpha.exe")) {
        failures++;
        fprintf(stderr, "FAIL truncated: the table before the damage is missing:\n%s", r.out);
    }

    static const char text[] = "PID,IMAGE,BYTES\n4,System,100\n8,smss.exe,200\n"
                               "a comma-separated file is not a trace, however long it is\n";
    if (!etl_write_file("test_etl_cli_text.etl", (const uint8_t *)text, sizeof text - 1))
        exit(1);
    files[0] = "test_etl_cli_text.etl";
    run_exporter(&r, files, 1);
    expect_status("not ETL", r.status, 4); /* EXIT_BAD_TRACE */
    expect_text("not ETL: stderr", r.err, "tcpip_exporter: test_etl_cli_text.etl: not an ETL "
                "file (no logfile header at the start)\n");
    expect_text("not ETL: stdout", r.out, "");
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The mixed trace, with the logfile header's BuffersWritten set to its real count when
 * counted is true (the writer leaves it 0), then zeros to tail_size bytes: a sparse file,
 * so gigabytes cost no disk. */
static void save_with_zero_tail(const char *path, bool counted, off_t tail_size)
{
    struct etl_writer *w = scenario_mixed64();
    size_t size;
    const uint8_t *finished = etl_writer_finish(w, &size);
    uint8_t *data = malloc(size);
    if (!data)
        exit(1);
    memcpy(data, finished, size);
    uint32_t buffers = 0;
    for (size_t at = 0; at + 4 <= size && le32(data + at) != 0; at += le32(data + at))
        buffers++;
    /* BuffersWritten: logfile header payload (after 72 + 32 header bytes) + 0x24 */
    uint32_t written = counted ? buffers : 0;
    for (int i = 0; i < 4; i++)
        data[72 + 32 + 0x24 + i] = (uint8_t)(written >> (8 * i));
    if (!etl_write_file(path, data, size) || truncate(path, (off_t)size + tail_size) != 0)
        exit(1);
    free(data);
    etl_writer_free(w);
}

static void zero_tails(void)
{
    save(scenario_mixed64(), "test_etl_cli_mixed64.etl");
    const char *plain[] = { "test_etl_cli_mixed64.etl" };
    struct run want;
    run_exporter(&want, plain, 1);

    /* The header counts the buffers: 64 GB of zeros after them are not even read. Scanning
     * them, as the reader did 4 KB at a time, took half a minute and more. */
    save_with_zero_tail("test_etl_cli_tail.etl", true, (off_t)64 << 30);
    const char *tail[] = { "test_etl_cli_tail.etl" };
    struct run r;
    time_t start = time(NULL);
    run_exporter(&r, tail, 1);
    double seconds = difftime(time(NULL), start);
    expect_status("64 GB zero tail, counted", r.status, 0);
    expect_text("64 GB zero tail, counted: stderr", r.err, "");
    char *files_line = strstr(want.out, "files: 1,");
    char *tail_line = strstr(r.out, "files: 1,");
    if (files_line && tail_line) {
        *files_line = *tail_line = '\0'; /* the file's byte count differs, nothing else */
        expect_text("64 GB zero tail, counted: same table", r.out, want.out);
    }
    if (seconds > 3) {
        failures++;
        fprintf(stderr, "FAIL 64 GB zero tail, counted: took %.0f s, expected under 3\n",
                seconds);
    }

    /* Without the count (the writer's 0) the zeros are checked, a megabyte per read. */
    save_with_zero_tail("test_etl_cli_tail.etl", false, (off_t)512 << 20);
    start = time(NULL);
    run_exporter(&r, tail, 1);
    seconds = difftime(time(NULL), start);
    expect_status("512 MB zero tail, not counted", r.status, 0);
    expect_text("512 MB zero tail, not counted: stderr", r.err, "");
    if (seconds > 10) {
        failures++;
        fprintf(stderr, "FAIL 512 MB zero tail, not counted: took %.0f s\n", seconds);
    }
    remove("test_etl_cli_tail.etl");
}

/* A byte that is not zero at the very end of a long zero tail is still damage: the scan
 * reads to the end, its last block included. */
static void nonzero_after_zero_tail(void)
{
    const char *path = "test_etl_cli_tail.etl";
    save_with_zero_tail(path, false, (off_t)3 << 20 | 12345);
    FILE *f = fopen(path, "r+b");
    if (!f || fseeko(f, -1, SEEK_END) != 0 || fputc(1, f) == EOF || fclose(f) != 0)
        exit(1);
    const char *files[] = { path };
    struct run r;
    run_exporter(&r, files, 1);
    expect_status("a byte after the zero tail", r.status, 5); /* EXIT_DAMAGED_TRACE */
    if (!strstr(r.err, "buffer size 0 is out of range")) {
        failures++;
        fprintf(stderr, "FAIL a byte after the zero tail: stderr %s", r.err);
    }
    remove(path);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_etl_cli TCPIP_EXPORTER\n");
        return 2;
    }
    exporter = argv[1];
    known_traces();
    damaged_and_not_etl();
    zero_tails();
    nonzero_after_zero_tail();
    remove("test_etl_cli_mixed64.etl");
    remove("test_etl_cli_compressed32.etl");
    remove("test_etl_cli_truncated.etl");
    remove("test_etl_cli_text.etl");
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("all checks passed\n");
    return 0;
}
