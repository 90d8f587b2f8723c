/* The command line and the JSON config file. One table of options drives both: the file's
 * keys are the flag names without the leading "--", and every value, from either place,
 * goes through the same validation. Flags win over the file: the file is read after the
 * flags and only fills options no flag set. Every error is a single line that names the
 * flag (or the file and key) and says what was wrong; parsing never exits the process. */
#include "config.h"
#include "../collector/bytes.h"
#include "../collector/etl_replay.h"
#include "../exporter/web_security.h"
#include "../collector/file_open.h"

#include <cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_values.h"
#include "exit_code.h"
#include "version.h"

#define PROGRAM_NAME "tcpip_exporter"

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

#define CAPACITY_MIN 16u
#define CAPACITY_MAX (1u << 18)
#define PEERS_MIN 256u
#define PEERS_MAX (1u << 20)
#define TICKS_PER_MS 10000ull /* FILETIME ticks are 100 ns */
#define MAX_CONFIG_FILE_BYTES (1024 * 1024)
#define MAX_GLOB_LEN 255u
#define MAX_SESSION_NAME_LEN 1023u /* ETW logger names are at most 1024 characters */

/* ---- checks of single values beyond their kind --------------------------------------- */

/* Extra rules for a text or list value; config is there for rules across values of one
 * list (no address twice). On failure writes why (no flag name, no newline). */
typedef bool (*check_fn)(const struct config *config, const char *value, char *why,
                         size_t why_size);

static bool check_listen(const struct config *c, const char *v, char *why, size_t n)
{
    if (!value_listen_address(v, why, n))
        return false;
    for (size_t i = 0; i < c->listen_count; i++) {
        if (strcmp(c->listen[i], v) == 0)
            return value_fail(why, n, "\"%s\" is given twice", v);
    }
    return true;
}

static bool check_telemetry_path(const struct config *c, const char *v, char *why, size_t n)
{
    /* the server matches the metrics path first: any of these would be hidden by it */
    static const char *const taken[] = { "/", "/health", "/api/v1/processes", "/api/v1/status",
                                         "/api/v1/services", "/api/v1/peers", "/ui/live.js",
                                         "/ui/live.css" };
    (void)c;
    if (v[0] != '/')
        return value_fail(why, n, "\"%s\" must start with /", v);
    for (const char *p = v; *p != '\0'; p++) {
        if ((unsigned char)*p <= ' ' || *p == '?' || *p == '#' || *p == 0x7f)
            return value_fail(why, n, "\"%s\" must not contain spaces, control characters, ? or #", v);
    }
    for (size_t i = 0; i < ARRAY_SIZE(taken); i++) {
        if (strcmp(v, taken[i]) == 0)
            return value_fail(why, n, "\"%s\" is already another endpoint", v);
    }
    return true;
}

static bool check_file_name(const struct config *c, const char *v, char *why, size_t n)
{
    (void)c;
    return v[0] != '\0' || value_fail(why, n, "the file name is empty");
}

static bool check_glob(const struct config *c, const char *v, char *why, size_t n)
{
    (void)c;
    if (v[0] == '\0')
        return value_fail(why, n, "the pattern is empty");
    if (strlen(v) > MAX_GLOB_LEN)
        return value_fail(why, n, "the pattern is longer than %u characters", MAX_GLOB_LEN);
    return true;
}

static bool check_session_name(const struct config *c, const char *v, char *why, size_t n)
{
    (void)c;
    if (v[0] == '\0')
        return value_fail(why, n, "the name is empty");
    if (strlen(v) > MAX_SESSION_NAME_LEN)
        return value_fail(why, n, "the name is longer than %u characters", MAX_SESSION_NAME_LEN);
    return true;
}

/* The whole file is loaded here, certificates and all, so that a mistake in it stops the
 * start with the configuration's exit code and one line naming the key. */
static bool check_web_config(const struct config *c, const char *v, char *why, size_t n)
{
    (void)c;
    if (v[0] == '\0')
        return value_fail(why, n, "the file name is empty");
    return web_security_validate(v, why, n);
}

static bool check_pace(const struct config *c, const char *v, char *why, size_t n)
{
    (void)c;
    double speed;
    return etl_replay_parse_speed(v, &speed)
           || value_fail(why, n, "\"%s\" is not off, realtime or a speed factor from 0.001 to "
                         "1000000 (such as 10 or 0.5)", v);
}

/* ---- the option table ----------------------------------------------------------------- */

/* How a value is read and where it is kept. Every kind reads its value as text, so flags,
 * config-file keys and the defaults below all go through the same parser. */
enum option_kind {
    KIND_SWITCH,            /* bool: --flag, --flag=true, --flag=false */
    KIND_NUMBER,            /* uint32_t within [min, max] */
    KIND_DURATION_TICKS,    /* uint64_t in 100 ns ticks; min and max in milliseconds */
    KIND_DURATION_SECONDS,  /* unsigned whole seconds; min and max in milliseconds */
    KIND_CHOICE,            /* an enum: the index of the value in choices */
    KIND_TEXT,              /* const char *, checked by check */
    KIND_LIST,              /* const char *[max]: each use adds one; checked by check */
    KIND_ACTION,            /* --help, --version: answered before anything else */
};

struct option {
    const char *name;          /* without "--"; also the config-file key */
    const char *metavar;       /* what --help shows for the value; NULL: takes none */
    enum option_kind kind;
    size_t offset;             /* of the value in struct config */
    size_t count_offset;       /* KIND_LIST: of its size_t count */
    size_t max_count;          /* KIND_LIST: capacity of the array */
    const char *list_noun;     /* KIND_LIST: "at most 8 addresses" */
    uint64_t min, max;         /* KIND_NUMBER bounds; durations: bounds in milliseconds */
    bool auto_zero;            /* KIND_NUMBER: "auto" is accepted and stored as 0 */
    const char *const *choices; /* KIND_CHOICE: NULL-terminated, in enum order */
    check_fn check;            /* KIND_TEXT, KIND_LIST: NULL = any text */
    const char *default_text;  /* the value when neither a flag nor the file set one */
    bool file_key;             /* may appear in the config file */
    const char *help;          /* one sentence or two; --help adds the default */
};

/* Choices are stored as the index of the text, so they must follow the enums' order. */
static const char *const session_kinds[] = { "auto", "system-logger", "kernel-logger", NULL };
static const char *const log_levels[] = { "error", "warn", "info", "debug", NULL };
_Static_assert(LIVE_SESSION_AUTO == 0 && LIVE_SESSION_SYSTEM_LOGGER == 1 &&
                   LIVE_SESSION_KERNEL_LOGGER == 2, "session_kinds follows live_session_kind");
_Static_assert(LOG_ERROR == 0 && LOG_WARN == 1 && LOG_INFO == 2 && LOG_DEBUG == 3,
               "log_levels follows log_level");
_Static_assert(sizeof(enum live_session_kind) == sizeof(int) &&
                   sizeof(enum log_level) == sizeof(int),
               "choices are stored as int");
_Static_assert(sizeof(unsigned) == sizeof(uint32_t), "numbers are stored as uint32_t");

#define AT(field) offsetof(struct config, field)
#define SWITCH(name_, field, help_)                                                        \
    { .name = name_, .kind = KIND_SWITCH, .offset = AT(field), .default_text = "false",   \
      .file_key = true, .help = help_ }
#define NUMBER(name_, metavar_, field, min_, max_, default_, help_)                        \
    { .name = name_, .metavar = metavar_, .kind = KIND_NUMBER, .offset = AT(field),        \
      .min = min_, .max = max_, .default_text = default_, .file_key = true, .help = help_ }
#define DURATION(name_, kind_, field, min_ms, max_ms, default_, help_)                     \
    { .name = name_, .metavar = "DURATION", .kind = kind_, .offset = AT(field),            \
      .min = min_ms, .max = max_ms, .default_text = default_, .file_key = true,            \
      .help = help_ }
#define NUMBER_OR_AUTO(name_, metavar_, field, min_, max_, help_)                          \
    { .name = name_, .metavar = metavar_, .kind = KIND_NUMBER, .offset = AT(field),        \
      .min = min_, .max = max_, .auto_zero = true, .default_text = "auto",                 \
      .file_key = true, .help = help_ }
#define CHOICE(name_, metavar_, field, choices_, default_, help_)                          \
    { .name = name_, .metavar = metavar_, .kind = KIND_CHOICE, .offset = AT(field),        \
      .choices = choices_, .default_text = default_, .file_key = true, .help = help_ }
#define TEXT(name_, metavar_, field, check_, default_, help_)                              \
    { .name = name_, .metavar = metavar_, .kind = KIND_TEXT, .offset = AT(field),          \
      .check = check_, .default_text = default_, .file_key = true, .help = help_ }
#define LIST(name_, metavar_, field, count, noun, check_, default_, help_)                 \
    { .name = name_, .metavar = metavar_, .kind = KIND_LIST, .offset = AT(field),          \
      .count_offset = AT(count), .max_count = ARRAY_SIZE(((struct config *)0)->field), \
      .list_noun = noun, .check = check_, .default_text = default_, .file_key = true,      \
      .help = help_ }
#define ACTION(name_, help_) { .name = name_, .kind = KIND_ACTION, .help = help_ }

/* Every option, once. Order is the order of --help and of the config in /api/v1/status. */
static const struct option options[] = {
    LIST("web.listen-address", "ADDRESS", listen, listen_count, "addresses", check_listen,
         ":" STRINGIFY(CONFIG_DEFAULT_PORT),
         "Address to serve on: IP:PORT, [IPv6]:PORT or :PORT (every interface). Repeatable."),
    TEXT("web.telemetry-path", "PATH", telemetry_path, check_telemetry_path, "/metrics",
         "Path of the metrics."),
    DURATION("web.connection-timeout", KIND_DURATION_SECONDS, connection_timeout_s, 1000,
             86400000, "10s", "Close a connection idle this long (whole seconds)."),
    NUMBER("web.max-connections", "N", max_connections, 1, 65536, "1024",
           "Connections open at once on each listen address."),
    NUMBER("web.max-connections-per-ip", "N", max_connections_per_ip, 0, 65536, "16",
           "Connections open at once from one client address (room for a few Prometheus "
           "servers behind one address); more are cut at once. 0 = no per-client cap."),
    NUMBER("web.max-requests-in-flight", "N", max_in_flight, 1, 4096, "16",
           "Answers being made at once (a client reading slowly holds none); more get 503."),
    DURATION("web.request-head-timeout", KIND_DURATION_SECONDS, request_head_timeout_s, 1000,
             3600000, "5s", "A request head must be complete within this (whole seconds); "
             "trickled bytes do not extend it."),
    NUMBER("web.min-send-rate", "BYTES", min_send_rate, 0, 1u << 30, "65536",
           "Bytes per second a client must read a response at, on average, after a grace "
           "of the head timeout, or be cut. 0 = no minimum."),
    NUMBER("web.max-response-memory", "MIB", max_response_memory_mib, 1, 65536, "64",
           "MiB of response bodies held for clients at once; a render shared by concurrent "
           "scrapes counts once. Beyond it: the latest render, or 503."),
    TEXT("web.config.file", "FILE", web_config_file, check_web_config, NULL,
         "Web configuration (YAML, exporter-toolkit's format): TLS, client certificates, "
         "basic-auth users, response headers. Read again when it or a file it names changes."),
    SWITCH("web.health-without-auth", health_without_auth,
           "With basic-auth users in --web.config.file: /health answers without credentials."),
    { .name = "config.file", .metavar = "FILE", .kind = KIND_TEXT, .offset = AT(config_file),
      .check = check_file_name, .file_key = false,
      .help = "JSON file with any of these options, keyed by flag name without \"--\". "
              "Flags win over the file." },
    LIST("etl", "FILE", etl_files, etl_count, "files", check_file_name, NULL,
         "Replay this recorded ETL trace instead of the live kernel session. Repeatable."),
    TEXT("etl.pace", "SPEED", etl_pace, check_pace, NULL,
         "With --etl: feed records at the pace the trace recorded them: realtime, a factor "
         "(10 is ten times as fast, 0.5 half as fast) or off (as fast as the files read). "
         "Default: realtime with --etl.loop, else off."),
    SWITCH("etl.loop", etl_loop,
           "With --etl: at the end, replay again as more of the same run, until stopped: "
           "the same instances go on counting (no process exits in a loop)."),
    SWITCH("summary", summary,
           "With --etl: print a per-process table after the replay and exit; do not serve."),
    SWITCH("peers", summary_peers,
           "With --summary: under each process, its busiest remote peers (up to 5) and the "
           "rest as other."),
    SWITCH("collector.aggregate-by-name", aggregate_by_name,
           "One series per image name (no pid label); totals of exited instances stay in."),
    LIST("collector.include", "GLOB", include, include_count, "patterns", check_glob, NULL,
         "Only export image names matching this pattern (* and ?, case-insensitive). "
         "Repeatable."),
    LIST("collector.exclude", "GLOB", exclude, exclude_count, "patterns", check_glob, NULL,
         "Do not export image names matching this pattern. Repeatable."),
    DURATION("collector.retention", KIND_DURATION_TICKS, retention, 1000, 365ull * 86400000,
             STRINGIFY(PROCESS_TABLE_DEFAULT_RETENTION_MINUTES) "m",
             "How long an exited process stays exported, e.g. 30s, 5m, 1h."),
    NUMBER("collector.capacity", "ROWS", capacity, CAPACITY_MIN, CAPACITY_MAX,
           STRINGIFY(PROCESS_TABLE_DEFAULT_CAPACITY),
           "Process instances the table holds (rounded up to a power of two), 16 to 262144."),
    SWITCH("collector.peers", peers,
           "Keep each process's remote peers (address, protocol, port) and export them as "
           "tcpip_peer_* series; /api/v1/peers serves them too."),
    NUMBER("collector.peers.capacity", "PEERS", peer_capacity, PEERS_MIN, PEERS_MAX,
           STRINGIFY(PROCESS_TABLE_DEFAULT_PEERS),
           "Peers the store holds for every process together, 256 to 1048576. When it is "
           "full, a new peer takes the place of its process's least recently active one."),
    NUMBER("collector.peers.per-process", "PEERS", peers_per_process, 1,
           PROCESS_TABLE_MAX_PEERS_PER_PROCESS, STRINGIFY(PROCESS_TABLE_DEFAULT_PEERS_PER_PROCESS),
           "Peers one process keeps, 1 to " STRINGIFY(PROCESS_TABLE_MAX_PEERS_PER_PROCESS)
           "; past it the least recently active is folded into its other."),
    NUMBER("collector.peers.top", "N", peers_top, 0, PROCESS_TABLE_MAX_PEERS_PER_PROCESS,
           STRINGIFY(PROCESS_TABLE_DEFAULT_PEERS_SHOWN),
           "Peers per process shown as series on /metrics, the busiest; the rest sum into "
           "remote=\"other\". 0 = every peer. At most --collector.peers.per-process."),
    NUMBER("collector.peers.ipv4-prefix", "BITS", peer_ipv4_prefix, 1, 32, "32",
           "Keep remote IPv4 addresses to this prefix (24: one peer per /24), 1 to 32."),
    NUMBER("collector.peers.ipv6-prefix", "BITS", peer_ipv6_prefix, 1, 128, "128",
           "Keep remote IPv6 addresses to this prefix (64: one peer per /64), 1 to 128."),
    CHOICE("session.kind", "KIND", session.kind, session_kinds, "auto",
           "Windows live session: auto, system-logger (Windows 8+, private) or kernel-logger "
           "(\"NT Kernel Logger\")."),
    TEXT("session.name", "NAME", session.session_name, check_session_name,
         LIVE_SESSION_DEFAULT_NAME,
         "Name of the private session."),
    SWITCH("session.take-over-foreign", session.take_over_foreign,
           "Stop another tool's \"NT Kernel Logger\" session to take its place."),
    NUMBER("session.buffer-size-kb", "KB", session.buffer_size_kb, 4, 16384,
           STRINGIFY(LIVE_SESSION_DEFAULT_BUFFER_KB),
           "Size of each trace buffer, 4 to 16384."),
    NUMBER_OR_AUTO("session.min-buffers", "N", session.min_buffers, 2, 65536,
                   "Trace buffers allocated at start; auto: 2 per logical processor + 8, "
                   "16 to 256."),
    NUMBER_OR_AUTO("session.max-buffers", "N", session.max_buffers, 2, 65536,
                   "Trace buffers at most; auto: the minimum and half as many again "
                   "(at least 16 more)."),
    CHOICE("log.level", "LEVEL", log_level, log_levels, "info", "error, warn, info or debug."),
    SWITCH("console", console,
           "Run in the console even when started by the Windows service manager."),
    ACTION("help", "Show this help and exit."),
    ACTION("version", "Show the version and exit."),
};
#define OPTION_COUNT ARRAY_SIZE(options)

static const struct option *find_option(const char *name, size_t len)
{
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        if (strlen(options[i].name) == len && strncmp(options[i].name, name, len) == 0)
            return &options[i];
    }
    return NULL;
}

static const struct option *option_named(const char *name)
{
    return find_option(name, strlen(name));
}

/* ---- reading one value into its place --------------------------------------------------- */

static void *place(struct config *config, const struct option *option)
{
    return (char *)config + option->offset;
}

static const void *place_of(const struct config *config, const struct option *option)
{
    return (const char *)config + option->offset;
}

static bool apply_choice(const struct option *o, int *out, const char *v, char *why, size_t n)
{
    for (int i = 0; o->choices[i] != NULL; i++) {
        if (strcmp(v, o->choices[i]) == 0) {
            *out = i;
            return true;
        }
    }
    char list[128] = "";
    for (int i = 0; o->choices[i] != NULL; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                 o->choices[i]);
    return value_fail(why, n, "\"%s\" is not one of %s", v, list);
}

static bool apply_duration(const struct option *o, void *at, const char *v, char *why, size_t n)
{
    uint64_t ms;
    if (!value_duration(v, o->min, o->max, &ms, why, n))
        return false;
    if (o->kind == KIND_DURATION_TICKS) {
        uint64_t ticks = ms * TICKS_PER_MS;
        memcpy(at, &ticks, sizeof ticks);
        return true;
    }
    if (ms % 1000 != 0)
        return value_fail(why, n, "%s is not a whole number of seconds", v);
    unsigned seconds = (unsigned)(ms / 1000);
    memcpy(at, &seconds, sizeof seconds);
    return true;
}

static bool apply_list(struct config *c, const struct option *o, const char *v, char *why,
                       size_t n)
{
    if (o->check != NULL && !o->check(c, v, why, n))
        return false;
    size_t *count = (size_t *)((char *)c + o->count_offset);
    if (*count >= o->max_count)
        return value_fail(why, n, "at most %zu %s", o->max_count, o->list_noun);
    ((const char **)place(c, o))[(*count)++] = v;
    return true;
}

/* Validates value and stores it; on failure writes why (no flag name, no newline). value
 * must outlive the config (argv, a literal, or a string the config owns). */
static bool apply_value(struct config *c, const struct option *o, const char *v, char *why,
                        size_t n)
{
    void *at = place(c, o);
    switch (o->kind) {
    case KIND_SWITCH:
        return value_switch(v, (bool *)at, why, n);
    case KIND_NUMBER:
        if (o->auto_zero && strcmp(v, "auto") == 0) {
            *(uint32_t *)at = 0;
            return true;
        }
        return value_whole_number(v, o->min, o->max, (uint32_t *)at, why, n);
    case KIND_DURATION_TICKS:
    case KIND_DURATION_SECONDS:
        return apply_duration(o, at, v, why, n);
    case KIND_CHOICE:
        return apply_choice(o, (int *)at, v, why, n);
    case KIND_TEXT:
        if (o->check != NULL && !o->check(c, v, why, n))
            return false;
        *(const char **)at = v;
        return true;
    case KIND_LIST:
        return apply_list(c, o, v, why, n);
    case KIND_ACTION:
        break;
    }
    return value_fail(why, n, "takes no value");
}

/* ---- help and version --------------------------------------------------------------- */

/* "  --flag VALUE   help text" with the help wrapped into a column, for 80-column terminals. */
static void print_wrapped(FILE *out, const char *left, const char *help)
{
    enum { HELP_COLUMN = 34, LINE_WIDTH = 79 };
    int column = fprintf(out, "  %s", left);
    if (column >= HELP_COLUMN) {
        fputc('\n', out);
        column = 0;
    }
    const char *word = help;
    bool first_word = true;
    while (*word != '\0') {
        size_t len = strcspn(word, " ");
        if (!first_word && column + 1 + (int)len > LINE_WIDTH) {
            fputc('\n', out);
            column = 0;
        }
        if (column < HELP_COLUMN) {
            column += fprintf(out, "%*s", HELP_COLUMN - column, "");
        } else {
            fputc(' ', out);
            column++;
        }
        column += fprintf(out, "%.*s", (int)len, word);
        first_word = false;
        word += len;
        while (*word == ' ')
            word++;
    }
    fputc('\n', out);
}

static void print_help(FILE *out)
{
    fprintf(out,
            "Usage: " PROGRAM_NAME " [FLAGS]\n"
            "\n"
            "Per-process TCP/IP counters from the Windows kernel's trace events, served to\n"
            "Prometheus on http://HOST:PORT/metrics. With --etl, replays recorded traces\n"
            "instead (any OS). Values: --flag VALUE or --flag=VALUE.\n"
            "\n"
            "Flags:\n");
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        const struct option *o = &options[i];
        char left[64];
        char help[512];
        if (o->metavar != NULL)
            snprintf(left, sizeof left, "--%s %s", o->name, o->metavar);
        else
            snprintf(left, sizeof left, "--%s", o->name);
        if (o->default_text != NULL)
            snprintf(help, sizeof help, "%s [default: %s]", o->help, o->default_text);
        else
            snprintf(help, sizeof help, "%s", o->help);
        print_wrapped(out, left, help);
    }
    fprintf(out, "\nExit codes:\n");
    for (const struct exit_code_row *row = exit_code_table; row->meaning != NULL; row++)
        fprintf(out, "  %d  %s\n", (int)row->code, row->meaning);
#ifdef _WIN32
    fprintf(out,
            "\n"
            "Service: " PROGRAM_NAME " install [FLAGS] registers the Windows service with\n"
            "these flags; " PROGRAM_NAME " uninstall removes it.\n");
#endif
}

static void print_version(FILE *out)
{
    fprintf(out, PROGRAM_NAME " " TCPIP_EXPORTER_VERSION "\n");
}

/* ---- strings the config owns (values read from the file) ----------------------------- */

/* Each block starts with the pointer to the previous block, then the string. */
static const char *own_string(struct config *config, const char *text)
{
    size_t len = strlen(text);
    char *block = malloc(sizeof(char *) + len + 1);
    if (block == NULL)
        return NULL;
    memcpy(block, &config->owned_strings, sizeof(char *));
    memcpy(block + sizeof(char *), text, len + 1);
    config->owned_strings = block;
    return block + sizeof(char *);
}

void config_free(struct config *config)
{
    char *block = config->owned_strings;
    while (block != NULL) {
        char *previous;
        memcpy(&previous, block, sizeof(char *));
        free(block);
        block = previous;
    }
    config->owned_strings = NULL;
}

/* ---- the config file ---------------------------------------------------------------- */

struct parse_state {
    struct config *config;
    unsigned set_by_flag[OPTION_COUNT];
    unsigned set_by_file[OPTION_COUNT];
    char *err;
    size_t err_size;
};

static char *read_whole_file(const char *path, size_t *size, char *why, size_t why_size)
{
    FILE *file = file_open_read(path, why, why_size);
    if (file == NULL)
        return NULL;
    char *data = malloc(MAX_CONFIG_FILE_BYTES + 1);
    if (data == NULL) {
        fclose(file);
        value_fail(why, why_size, "out of memory");
        return NULL;
    }
    size_t n = fread(data, 1, MAX_CONFIG_FILE_BYTES + 1, file);
    int read_errno = ferror(file) ? errno : 0;
    fclose(file);
    if (read_errno != 0) {
        free(data);
        value_fail(why, why_size, "cannot read: %s", strerror(read_errno));
        return NULL;
    }
    if (n > MAX_CONFIG_FILE_BYTES) {
        free(data);
        value_fail(why, why_size, "larger than %d bytes", MAX_CONFIG_FILE_BYTES);
        return NULL;
    }
    data[n] = '\0';
    *size = n;
    return data;
}

static void where_in_text(const char *text, const char *at, int *line, int *column)
{
    *line = 1;
    *column = 1;
    for (const char *p = text; p < at; p++) {
        if (*p == '\n') {
            (*line)++;
            *column = 1;
        } else {
            (*column)++;
        }
    }
}

/* What cJSON cannot say about a text: a NUL (a raw byte, or \u0000 in a string, which
 * cJSON would turn into the end of that string, so "collector.capacity\u0000x" would read
 * as collector.capacity), and where nesting passes cJSON's limit (it then reports only a
 * failure, which is no reason to call valid JSON invalid). A small lexer: strings and the
 * brackets outside them. */
struct json_scan {
    const char *nul;        /* first NUL, raw or escaped; NULL if none */
    const char *too_deep;   /* the bracket that opens level CJSON_NESTING_LIMIT + 1 */
};

static bool is_escaped_nul(const char *p, const char *end)
{
    return end - p >= 6 && memcmp(p, "\\u0000", 6) == 0;
}

static void json_scan(const char *text, size_t size, struct json_scan *scan)
{
    const char *end = text + size;
    bool in_string = false;
    size_t depth = 0;
    memset(scan, 0, sizeof *scan);
    for (const char *p = text; p < end; p++) {
        if (*p == '\0' || (in_string && is_escaped_nul(p, end))) {
            if (scan->nul == NULL)
                scan->nul = p;
        } else if (in_string && *p == '\\') {
            p++; /* the escaped character cannot end the string */
        } else if (*p == '"') {
            in_string = !in_string;
        } else if (!in_string && (*p == '[' || *p == '{')) {
            if (++depth > CJSON_NESTING_LIMIT && scan->too_deep == NULL)
                scan->too_deep = p;
        } else if (!in_string && (*p == ']' || *p == '}') && depth > 0) {
            depth--;
        }
    }
}

/* "FILE: line L, column C: why", for what the scan found; false when it found nothing. */
static bool refuse_scanned(struct parse_state *st, const char *path, const char *text,
                           size_t size)
{
    struct json_scan scan;
    json_scan(text, size, &scan);
    const char *at = scan.nul != NULL ? scan.nul : scan.too_deep;
    if (at == NULL)
        return false;
    int line, column;
    where_in_text(text, at, &line, &column);
    if (scan.nul != NULL)
        snprintf(st->err, st->err_size, "%s: line %d, column %d: a NUL character (\\u0000 or "
                 "a zero byte), which no key or value may hold", path, line, column);
    else
        snprintf(st->err, st->err_size, "%s: line %d, column %d: nested deeper than %d "
                 "levels", path, line, column, CJSON_NESTING_LIMIT);
    return true;
}

/* A JSON number as the decimal text a flag would carry: a whole number in range goes on to
 * the option's own check (which names its range); one that is whole but beyond any range is
 * said to be out of range, not "not a whole number". */
static bool json_number_text(double d, const struct option *option, char *buf,
                             size_t buf_size, const char **text, char *why, size_t why_size)
{
    /* doubles this large are all whole; the casts below are defined only inside */
    bool beyond = d >= 18446744073709551616.0 || d <= -9223372036854775808.0;
    bool whole = beyond || (d >= 0 ? (double)(uint64_t)d == d : (double)(int64_t)d == d);
    if (!whole)
        return value_fail(why, why_size, "%g is not a whole number", d);
    if (beyond || d < 0) {
        uint64_t min = option->kind == KIND_NUMBER ? option->min : 0;
        uint64_t max = option->kind == KIND_NUMBER ? option->max : UINT32_MAX;
        return value_fail(why, why_size, "%g is out of range (%" PRIu64 " to %" PRIu64 ")",
                          d, min, max);
    }
    snprintf(buf, buf_size, "%" PRIu64, (uint64_t)d);
    *text = buf;
    return true;
}

/* Renders a JSON scalar as the text a flag would carry, so one validator serves both. */
static bool json_scalar_text(const cJSON *item, const struct option *option, char *buf,
                             size_t buf_size, const char **text, char *why, size_t why_size)
{
    if (option->kind == KIND_SWITCH) {
        if (!cJSON_IsBool(item))
            return value_fail(why, why_size, "must be true or false");
        *text = cJSON_IsTrue(item) ? "true" : "false";
        return true;
    }
    if (cJSON_IsString(item)) {
        *text = item->valuestring;
        return true;
    }
    if (cJSON_IsNumber(item))
        return json_number_text(item->valuedouble, option, buf, buf_size, text, why, why_size);
    return value_fail(why, why_size, "must be a string%s",
                option->kind == KIND_LIST ? " or an array of strings" : " or a number");
}

static bool apply_file_value(struct parse_state *st, const struct option *option,
                             const cJSON *item, char *why, size_t why_size)
{
    char number[32];
    const char *text = NULL;
    if (!json_scalar_text(item, option, number, sizeof number, &text, why, why_size))
        return false;
    /* numbers are rendered into a local buffer, strings live in the parsed tree: own both */
    const char *owned = own_string(st->config, text);
    if (owned == NULL)
        return value_fail(why, why_size, "out of memory");
    return apply_value(st->config, option, owned, why, why_size);
}

static bool apply_file_key(struct parse_state *st, const char *path, const cJSON *item)
{
    char why[384];
    const struct option *option = find_option(item->string, strlen(item->string));
    if (option == NULL || !option->file_key) {
        snprintf(st->err, st->err_size,
                 "%s: unknown key \"%s\" (keys are the flag names without \"--\"; see --help)",
                 path, item->string);
        return false;
    }
    size_t id = (size_t)(option - options);
    if (st->set_by_flag[id] > 0)
        return true; /* flags win over the file */
    if (st->set_by_file[id]++ > 0) {
        snprintf(st->err, st->err_size, "%s: key \"%s\" is given more than once", path,
                 item->string);
        return false;
    }
    bool ok = true;
    if (option->kind == KIND_LIST && cJSON_IsArray(item)) {
        const cJSON *element;
        cJSON_ArrayForEach(element, item) {
            if (!cJSON_IsString(element)) {
                ok = value_fail(why, sizeof why, "every element must be a string");
                break;
            }
            if (!(ok = apply_file_value(st, option, element, why, sizeof why)))
                break;
        }
    } else {
        ok = apply_file_value(st, option, item, why, sizeof why);
    }
    if (!ok)
        snprintf(st->err, st->err_size, "%s: \"%s\": %s", path, item->string, why);
    return ok;
}

static bool load_config_file(struct parse_state *st, const char *path)
{
    char why[256];
    size_t size;
    char *text = read_whole_file(path, &size, why, sizeof why);
    if (text == NULL) {
        snprintf(st->err, st->err_size, "--config.file: %s: %s", path, why);
        return false;
    }
    if (refuse_scanned(st, path, text, size)) {
        free(text);
        return false;
    }
    const char *parse_end = NULL;
    /* size + 1: with require_null_terminated, cJSON must see the NUL we appended */
    cJSON *root = cJSON_ParseWithLengthOpts(text, size + 1, &parse_end, true);
    if (root == NULL) {
        int line, column;
        where_in_text(text, parse_end != NULL ? parse_end : text, &line, &column);
        snprintf(st->err, st->err_size, "%s: not valid JSON at line %d, column %d", path, line,
                 column);
        free(text);
        return false;
    }
    free(text);
    bool ok = true;
    if (!cJSON_IsObject(root)) {
        snprintf(st->err, st->err_size, "%s: must hold a JSON object ({\"key\": value, ...})",
                 path);
        ok = false;
    }
    const cJSON *item;
    if (ok) {
        cJSON_ArrayForEach(item, root) {
            if (!(ok = apply_file_key(st, path, item)))
                break;
        }
    }
    cJSON_Delete(root);
    return ok;
}

/* ---- the command line --------------------------------------------------------------- */

/* Options that neither a flag nor the file set take their default, through the same
 * parser, so a default is as valid as anything a user could write. */
static bool apply_defaults(struct parse_state *st)
{
    char why[384];
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        const struct option *o = &options[i];
        if (o->default_text == NULL || st->set_by_flag[i] > 0 || st->set_by_file[i] > 0)
            continue;
        if (!apply_value(st->config, o, o->default_text, why, sizeof why)) {
            snprintf(st->err, st->err_size, "--%s: the default \"%s\" is refused: %s", o->name,
                     o->default_text, why);
            return false;
        }
    }
    return true;
}

static bool parse_flags(struct parse_state *st, int argc, char **argv)
{
    char why[384];
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            snprintf(st->err, st->err_size,
                     "unexpected argument \"%s\" (flags start with --; see --help)", arg);
            return false;
        }
        const char *name = arg + 2;
        const char *equals = strchr(name, '=');
        size_t name_len = equals != NULL ? (size_t)(equals - name) : strlen(name);
        const struct option *option = find_option(name, name_len);
        if (option == NULL) {
            snprintf(st->err, st->err_size, "unknown flag --%.*s (see --help)", (int)name_len,
                     name);
            return false;
        }
        const char *value;
        if (equals != NULL) {
            value = equals + 1;
        } else if (option->kind == KIND_SWITCH || option->kind == KIND_ACTION) {
            value = "true";
        } else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
            value = argv[++i];
        } else {
            snprintf(st->err, st->err_size, "--%s: needs a value (%s)", option->name,
                     option->metavar);
            return false;
        }
        size_t id = (size_t)(option - options);
        if (option->kind != KIND_LIST && st->set_by_flag[id] > 0) {
            snprintf(st->err, st->err_size, "--%s: given more than once", option->name);
            return false;
        }
        st->set_by_flag[id]++;
        if (!apply_value(st->config, option, value, why, sizeof why)) {
            snprintf(st->err, st->err_size, "--%s: %s", option->name, why);
            return false;
        }
    }
    return true;
}

static bool given_by_flag_or_file(const struct parse_state *st, const struct option *o)
{
    size_t id = (size_t)(o - options);
    return st->set_by_flag[id] > 0 || st->set_by_file[id] > 0;
}

/* A number option's value is not what its default text reads as. */
static bool differs_from_default(const struct config *c, const struct option *o)
{
    struct config defaults;
    char why[256];
    memset(&defaults, 0, sizeof defaults);
    if (!apply_value(&defaults, o, o->default_text, why, sizeof why))
        return true; /* cannot happen: apply_defaults accepted the same text */
    return *(const uint32_t *)place_of(c, o) != *(const uint32_t *)place_of(&defaults, o);
}

/* A peer setting shapes a store that exists only with --collector.peers (or, for a
 * summary, --peers): given without it, it would be ignored without a word. A config file
 * may hold one at its default, since the config /api/v1/status shows (and the file made
 * from it) holds every key. */
static bool check_peer_settings(struct parse_state *st)
{
    static const char *const settings[] = {
        "collector.peers.capacity", "collector.peers.per-process", "collector.peers.top",
        "collector.peers.ipv4-prefix", "collector.peers.ipv6-prefix",
    };
    const struct config *c = st->config;
    if (c->summary_peers && !c->summary) {
        snprintf(st->err, st->err_size, "--peers: needs --summary (on /metrics, peers come "
                 "with --collector.peers)");
        return false;
    }
    if (c->peers || c->summary_peers)
        return true;
    for (size_t i = 0; i < ARRAY_SIZE(settings); i++) {
        const struct option *o = option_named(settings[i]);
        size_t id = (size_t)(o - options);
        if (st->set_by_flag[id] > 0 || (st->set_by_file[id] > 0 && differs_from_default(c, o))) {
            snprintf(st->err, st->err_size, "--%s: needs --collector.peers (or --summary "
                     "--peers)", o->name);
            return false;
        }
    }
    return true;
}

/* More shown peers than a process keeps is a contradiction when asked for; the default top
 * of a smaller per-process count is every peer kept, which is what a user asking for few
 * peers expects. */
static bool check_peers_top(struct parse_state *st)
{
    struct config *c = st->config;
    if (c->peers_top <= c->peers_per_process)
        return true;
    if (!given_by_flag_or_file(st, option_named("collector.peers.top"))) {
        c->peers_top = c->peers_per_process;
        return true;
    }
    snprintf(st->err, st->err_size, "--collector.peers.top: %" PRIu32 " is more than "
             "--collector.peers.per-process (%" PRIu32 ")", c->peers_top, c->peers_per_process);
    return false;
}

/* Rules that involve more than one option, checked once flags and file are merged. */
static bool check_combination(struct parse_state *st)
{
    struct config *c = st->config;
    if (c->summary && c->etl_count == 0) {
        snprintf(st->err, st->err_size, "--summary: needs at least one --etl FILE to replay");
        return false;
    }
    if ((c->etl_pace || c->etl_loop) && c->etl_count == 0) {
        snprintf(st->err, st->err_size, "--%s: needs at least one --etl FILE to replay",
                 c->etl_pace ? "etl.pace" : "etl.loop");
        return false;
    }
    if (c->summary && (c->etl_loop || c->etl_pace)) {
        snprintf(st->err, st->err_size, c->etl_loop
                 ? "--etl.loop: never ends, so --summary would never print"
                 : "--etl.pace: --summary replays as fast as the files read");
        return false;
    }
    if (c->health_without_auth && c->web_config_file == NULL) {
        snprintf(st->err, st->err_size,
                 "--web.health-without-auth: needs --web.config.file with basic_auth_users");
        return false;
    }
    uint32_t min = c->session.min_buffers;
    uint32_t max = c->session.max_buffers;
    if (min != 0 && max != 0 && min > max) { /* 0 is auto, sized by the session */
        snprintf(st->err, st->err_size,
                 "--session.min-buffers: %" PRIu32 " is more than --session.max-buffers (%"
                 PRIu32 ")", min, max);
        return false;
    }
    return check_peer_settings(st) && check_peers_top(st);
}

enum config_result config_parse(struct config *config, int argc, char **argv, char *err,
                                size_t err_size)
{
    memset(config, 0, sizeof *config);
    if (err_size > 0)
        err[0] = '\0';
    /* --help and --version answer even when other flags are wrong, as people expect */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_help(stdout);
            return CONFIG_EXIT_OK;
        }
        if (strcmp(argv[i], "--version") == 0) {
            print_version(stdout);
            return CONFIG_EXIT_OK;
        }
    }
    struct parse_state st = { .config = config, .err = err, .err_size = err_size };
    bool ok = parse_flags(&st, argc, argv);
    if (ok && config->config_file != NULL)
        ok = load_config_file(&st, config->config_file);
    if (ok)
        ok = apply_defaults(&st);
    if (ok)
        ok = check_combination(&st);
    if (!ok) {
        config_free(config);
        return CONFIG_ERROR;
    }
    size_t retention = (size_t)(option_named("collector.retention") - options);
    config->retention_given = st.set_by_flag[retention] > 0 || st.set_by_file[retention] > 0;
    return CONFIG_RUN;
}

/* ---- the config in effect, as JSON ---------------------------------------------------- */

static void add_value(cJSON *root, const struct config *c, const struct option *o)
{
    const void *at = place_of(c, o);
    char text[32];
    switch (o->kind) {
    case KIND_SWITCH:
        cJSON_AddBoolToObject(root, o->name, *(const bool *)at);
        break;
    case KIND_NUMBER:
        if (o->auto_zero && *(const uint32_t *)at == 0)
            cJSON_AddStringToObject(root, o->name, "auto");
        else
            cJSON_AddNumberToObject(root, o->name, *(const uint32_t *)at);
        break;
    case KIND_DURATION_TICKS:
        value_format_duration_ms(*(const uint64_t *)at / TICKS_PER_MS, text, sizeof text);
        cJSON_AddStringToObject(root, o->name, text);
        break;
    case KIND_DURATION_SECONDS:
        value_format_duration_ms((uint64_t)*(const unsigned *)at * 1000, text, sizeof text);
        cJSON_AddStringToObject(root, o->name, text);
        break;
    case KIND_CHOICE:
        cJSON_AddStringToObject(root, o->name, o->choices[*(const int *)at]);
        break;
    case KIND_TEXT:
        if (*(const char *const *)at != NULL)
            cJSON_AddStringToObject(root, o->name, *(const char *const *)at);
        break;
    case KIND_LIST: {
        const char *const *list = at;
        size_t count = *(const size_t *)((const char *)c + o->count_offset);
        cJSON *array = cJSON_AddArrayToObject(root, o->name);
        for (size_t i = 0; array != NULL && i < count; i++)
            cJSON_AddItemToArray(array, cJSON_CreateString(list[i]));
        break;
    }
    case KIND_ACTION:
        break;
    }
}

char *config_to_json(const struct config *c)
{
    cJSON *root = cJSON_CreateObject();
    if (root == NULL)
        return NULL;
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        if (options[i].file_key)
            add_value(root, c, &options[i]);
    }
    char *printed = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (printed == NULL)
        return NULL;
    /* hand back plain malloc memory whatever allocator hooks cJSON was given */
    char *copy = malloc(strlen(printed) + 1);
    if (copy != NULL)
        strcpy(copy, printed);
    cJSON_free(printed);
    return copy;
}
