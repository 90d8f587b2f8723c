/* The command line and the JSON config file. One table of options drives both: the file's
 * keys are the flag names without the leading "--", and every value, from either place,
 * goes through the same validation. Flags win over the file: the file is read after the
 * flags and only fills options no flag set. Every error is a single line that names the
 * flag (or the file and key) and says what was wrong; parsing never exits the process. */
#include "config.h"
#include "../collector/bytes.h"

#include <cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_values.h"
#include "version.h"

#define PROGRAM_NAME "tcpip_exporter"

/* Defaults the help text quotes; keep them next to each other. */
#define DEFAULT_LISTEN ":9731"
#define DEFAULT_TELEMETRY_PATH "/metrics"
#define DEFAULT_RETENTION_MS (300ull * 1000ull)
#define DEFAULT_CONNECTION_TIMEOUT_S 10u
#define DEFAULT_MAX_CONNECTIONS 1024u
#define DEFAULT_MAX_CONNECTIONS_PER_IP 0u /* no per-client cap unless asked: see README */
#define DEFAULT_MAX_IN_FLIGHT 16u
/* live_session.h documents these as what 0 means; the cross-check of min and max needs
 * them, and config_to_json writes them out */
#define SESSION_DEFAULT_NAME "tcpip_exporter"
#define SESSION_DEFAULT_BUFFER_KB 256u
#define SESSION_DEFAULT_MIN_BUFFERS 64u
#define SESSION_DEFAULT_MAX_BUFFERS 128u

#define CAPACITY_MIN 16u
#define CAPACITY_MAX (1u << 18)
#define TICKS_PER_MS 10000ull /* FILETIME ticks are 100 ns */
#define MAX_CONFIG_FILE_BYTES (1024 * 1024)
#define MAX_GLOB_LEN 255u
#define MAX_SESSION_NAME_LEN 1023u /* ETW logger names are at most 1024 characters */

/* ---- one option --------------------------------------------------------------------- */

/* Validates value and stores it; on failure writes why (no flag name, no newline). */
typedef bool (*apply_fn)(struct config *config, const char *value, char *why, size_t why_size);

struct option {
    const char *name;      /* without "--"; also the config file key */
    const char *metavar;   /* NULL: a switch (--flag, --flag=true, --flag=false) */
    bool repeatable;       /* a list: each use adds one value */
    bool file_key;         /* may appear in the config file */
    apply_fn apply;
    const char *help;
};

/* ---- how each option stores its value ------------------------------------------------ */

static bool add_to_list(const char **list, size_t *count, size_t max, const char *value,
                        const char *what, char *why, size_t why_size)
{
    if (*count >= max)
        return value_fail(why, why_size, "at most %zu %s", max, what);
    list[(*count)++] = value;
    return true;
}

static bool apply_listen(struct config *c, const char *v, char *why, size_t n)
{
    if (!value_listen_address(v, why, n))
        return false;
    for (size_t i = 0; i < c->listen_count; i++) {
        if (strcmp(c->listen[i], v) == 0)
            return value_fail(why, n, "\"%s\" is given twice", v);
    }
    return add_to_list(c->listen, &c->listen_count, CONFIG_MAX_LISTEN, v, "addresses", why, n);
}

static bool apply_telemetry_path(struct config *c, const char *v, char *why, size_t n)
{
    static const char *const taken[] = { "/", "/health", "/api/v1/processes", "/api/v1/status" };
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
    c->telemetry_path = v;
    return true;
}

static bool apply_config_file(struct config *c, const char *v, char *why, size_t n)
{
    if (v[0] == '\0')
        return value_fail(why, n, "the file name is empty");
    c->config_file = v;
    return true;
}

static bool apply_etl(struct config *c, const char *v, char *why, size_t n)
{
    if (v[0] == '\0')
        return value_fail(why, n, "the file name is empty");
    return add_to_list(c->etl_files, &c->etl_count, CONFIG_MAX_ETL, v, "files", why, n);
}

static bool apply_summary(struct config *c, const char *v, char *why, size_t n)
{
    return value_switch(v, &c->summary, why, n);
}

static bool apply_aggregate(struct config *c, const char *v, char *why, size_t n)
{
    return value_switch(v, &c->aggregate_by_name, why, n);
}

static bool check_glob(const char *v, char *why, size_t n)
{
    if (v[0] == '\0')
        return value_fail(why, n, "the pattern is empty");
    if (strlen(v) > MAX_GLOB_LEN)
        return value_fail(why, n, "the pattern is longer than %u characters", MAX_GLOB_LEN);
    return true;
}

static bool apply_include(struct config *c, const char *v, char *why, size_t n)
{
    return check_glob(v, why, n)
        && add_to_list(c->include, &c->include_count, CONFIG_MAX_FILTERS, v, "patterns", why, n);
}

static bool apply_exclude(struct config *c, const char *v, char *why, size_t n)
{
    return check_glob(v, why, n)
        && add_to_list(c->exclude, &c->exclude_count, CONFIG_MAX_FILTERS, v, "patterns", why, n);
}

static bool apply_retention(struct config *c, const char *v, char *why, size_t n)
{
    uint64_t ms;
    if (!value_duration(v, 1000, 365ull * 86400000, &ms, why, n))
        return false;
    c->retention = ms * TICKS_PER_MS;
    c->retention_given = true;
    return true;
}

static bool apply_capacity(struct config *c, const char *v, char *why, size_t n)
{
    return value_whole_number(v, CAPACITY_MIN, CAPACITY_MAX, &c->capacity, why, n);
}

static bool apply_session_kind(struct config *c, const char *v, char *why, size_t n)
{
    if (strcmp(v, "auto") == 0)
        c->session.kind = LIVE_SESSION_AUTO;
    else if (strcmp(v, "system-logger") == 0)
        c->session.kind = LIVE_SESSION_SYSTEM_LOGGER;
    else if (strcmp(v, "kernel-logger") == 0)
        c->session.kind = LIVE_SESSION_KERNEL_LOGGER;
    else
        return value_fail(why, n, "\"%s\" is not one of auto, system-logger, kernel-logger", v);
    return true;
}

static bool apply_session_name(struct config *c, const char *v, char *why, size_t n)
{
    if (v[0] == '\0')
        return value_fail(why, n, "the name is empty");
    if (strlen(v) > MAX_SESSION_NAME_LEN)
        return value_fail(why, n, "the name is longer than %u characters", MAX_SESSION_NAME_LEN);
    c->session.session_name = v;
    return true;
}

static bool apply_take_over(struct config *c, const char *v, char *why, size_t n)
{
    return value_switch(v, &c->session.take_over_foreign, why, n);
}

static bool apply_buffer_size(struct config *c, const char *v, char *why, size_t n)
{
    return value_whole_number(v, 4, 16384, &c->session.buffer_size_kb, why, n);
}

static bool apply_min_buffers(struct config *c, const char *v, char *why, size_t n)
{
    return value_whole_number(v, 2, 65536, &c->session.min_buffers, why, n);
}

static bool apply_max_buffers(struct config *c, const char *v, char *why, size_t n)
{
    return value_whole_number(v, 2, 65536, &c->session.max_buffers, why, n);
}

static bool apply_log_level(struct config *c, const char *v, char *why, size_t n)
{
    int level = log_level_parse(v);
    if (level < 0)
        return value_fail(why, n, "\"%s\" is not one of error, warn, info, debug", v);
    c->log_level = (enum log_level)level;
    return true;
}

static bool apply_console(struct config *c, const char *v, char *why, size_t n)
{
    return value_switch(v, &c->console, why, n);
}

static bool apply_connection_timeout(struct config *c, const char *v, char *why, size_t n)
{
    uint64_t ms;
    if (!value_duration(v, 1000, 86400000, &ms, why, n))
        return false;
    if (ms % 1000 != 0)
        return value_fail(why, n, "%s is not a whole number of seconds", v);
    c->connection_timeout_s = (unsigned)(ms / 1000);
    return true;
}

static bool apply_max_connections(struct config *c, const char *v, char *why, size_t n)
{
    uint32_t value;
    if (!value_whole_number(v, 1, 65536, &value, why, n))
        return false;
    c->max_connections = value;
    return true;
}

static bool apply_max_per_ip(struct config *c, const char *v, char *why, size_t n)
{
    uint32_t value;
    if (!value_whole_number(v, 0, 65536, &value, why, n))
        return false;
    c->max_connections_per_ip = value;
    return true;
}

static bool apply_max_in_flight(struct config *c, const char *v, char *why, size_t n)
{
    uint32_t value;
    if (!value_whole_number(v, 1, 4096, &value, why, n))
        return false;
    c->max_in_flight = value;
    return true;
}

/* --help and --version are handled before anything else; these only refuse a value. */
static bool apply_nothing(struct config *c, const char *v, char *why, size_t n)
{
    (void)c;
    (void)v;
    return value_fail(why, n, "takes no value");
}

enum option_id {
    OPT_LISTEN, OPT_TELEMETRY_PATH, OPT_CONNECTION_TIMEOUT, OPT_MAX_CONNECTIONS,
    OPT_MAX_PER_IP, OPT_MAX_IN_FLIGHT,
    OPT_CONFIG_FILE, OPT_ETL, OPT_SUMMARY,
    OPT_AGGREGATE, OPT_INCLUDE, OPT_EXCLUDE, OPT_RETENTION, OPT_CAPACITY,
    OPT_SESSION_KIND, OPT_SESSION_NAME, OPT_TAKE_OVER, OPT_BUFFER_SIZE, OPT_MIN_BUFFERS,
    OPT_MAX_BUFFERS,
    OPT_LOG_LEVEL, OPT_CONSOLE, OPT_HELP, OPT_VERSION,
    OPT_COUNT
};

static const struct option options[OPT_COUNT] = {
    [OPT_LISTEN] = { "web.listen-address", "ADDRESS", true, true, apply_listen,
        "Address to serve on: IP:PORT, [IPv6]:PORT or :PORT (every interface). "
        "Repeatable. Default " DEFAULT_LISTEN "." },
    [OPT_TELEMETRY_PATH] = { "web.telemetry-path", "PATH", false, true, apply_telemetry_path,
        "Path of the metrics. Default " DEFAULT_TELEMETRY_PATH "." },
    [OPT_CONNECTION_TIMEOUT] = { "web.connection-timeout", "DURATION", false, true,
        apply_connection_timeout,
        "Close a connection idle this long (whole seconds). Default 10s." },
    [OPT_MAX_CONNECTIONS] = { "web.max-connections", "N", false, true, apply_max_connections,
        "Connections open at once, in total. Default 1024." },
    [OPT_MAX_PER_IP] = { "web.max-connections-per-ip", "N", false, true, apply_max_per_ip,
        "Connections open at once from one client address; 0 = no per-client cap. "
        "Default 0." },
    [OPT_MAX_IN_FLIGHT] = { "web.max-requests-in-flight", "N", false, true,
        apply_max_in_flight,
        "Requests answered at once; more get 503. Default 16." },
    [OPT_CONFIG_FILE] = { "config.file", "FILE", false, false, apply_config_file,
        "JSON file with any of these options, keyed by flag name without \"--\". "
        "Flags win over the file." },
    [OPT_ETL] = { "etl", "FILE", true, true, apply_etl,
        "Replay this recorded ETL trace instead of the live kernel session. Repeatable." },
    [OPT_SUMMARY] = { "summary", NULL, false, true, apply_summary,
        "With --etl: print a per-process table after the replay and exit; do not serve." },
    [OPT_AGGREGATE] = { "collector.aggregate-by-name", NULL, false, true, apply_aggregate,
        "One series per image name (no pid label); totals of exited instances stay in." },
    [OPT_INCLUDE] = { "collector.include", "GLOB", true, true, apply_include,
        "Only export image names matching this pattern (* and ?, case-insensitive). "
        "Repeatable." },
    [OPT_EXCLUDE] = { "collector.exclude", "GLOB", true, true, apply_exclude,
        "Do not export image names matching this pattern. Repeatable." },
    [OPT_RETENTION] = { "collector.retention", "DURATION", false, true, apply_retention,
        "How long an exited process stays exported, e.g. 30s, 5m, 1h. Default 5m." },
    [OPT_CAPACITY] = { "collector.capacity", "ROWS", false, true, apply_capacity,
        "Process instances the table holds (rounded up to a power of two), 16 to 262144. "
        "Default 4096." },
    [OPT_SESSION_KIND] = { "session.kind", "KIND", false, true, apply_session_kind,
        "Windows live session: auto, system-logger (Windows 8+, private) or kernel-logger "
        "(\"NT Kernel Logger\"). Default auto." },
    [OPT_SESSION_NAME] = { "session.name", "NAME", false, true, apply_session_name,
        "Name of the private session. Default tcpip_exporter." },
    [OPT_TAKE_OVER] = { "session.take-over-foreign", NULL, false, true, apply_take_over,
        "Stop another tool's \"NT Kernel Logger\" session to take its place." },
    [OPT_BUFFER_SIZE] = { "session.buffer-size-kb", "KB", false, true, apply_buffer_size,
        "Size of each trace buffer, 4 to 16384. Default 256." },
    [OPT_MIN_BUFFERS] = { "session.min-buffers", "N", false, true, apply_min_buffers,
        "Trace buffers allocated at start. Default 64." },
    [OPT_MAX_BUFFERS] = { "session.max-buffers", "N", false, true, apply_max_buffers,
        "Trace buffers at most. Default 128." },
    [OPT_LOG_LEVEL] = { "log.level", "LEVEL", false, true, apply_log_level,
        "error, warn, info or debug. Default info." },
    [OPT_CONSOLE] = { "console", NULL, false, true, apply_console,
        "Run in the console even when started by the Windows service manager." },
    [OPT_HELP] = { "help", NULL, false, false, apply_nothing,
        "Show this help and exit." },
    [OPT_VERSION] = { "version", NULL, false, false, apply_nothing,
        "Show the version and exit." },
};

static const struct option *find_option(const char *name, size_t len)
{
    for (size_t i = 0; i < OPT_COUNT; i++) {
        if (strlen(options[i].name) == len && strncmp(options[i].name, name, len) == 0)
            return &options[i];
    }
    return NULL;
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
            "Prometheus on http://HOST:%d/metrics. With --etl, replays recorded traces\n"
            "instead (any OS). Values: --flag VALUE or --flag=VALUE.\n"
            "\n"
            "Flags:\n",
            CONFIG_DEFAULT_PORT);
    for (size_t i = 0; i < OPT_COUNT; i++) {
        char left[64];
        if (options[i].metavar != NULL)
            snprintf(left, sizeof left, "--%s %s", options[i].name, options[i].metavar);
        else
            snprintf(left, sizeof left, "--%s", options[i].name);
        print_wrapped(out, left, options[i].help);
    }
    fprintf(out,
            "\n"
            "Exit codes: 0 stopped cleanly; 1 start-up failed, or a replayed file was\n"
            "damaged; 2 bad flag or configuration, or a file that is not a usable ETL trace.\n");
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
    unsigned set_by_flag[OPT_COUNT];
    unsigned set_by_file[OPT_COUNT];
    char *err;
    size_t err_size;
};

static char *read_whole_file(const char *path, size_t *size, char *why, size_t why_size)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        value_fail(why, why_size, "cannot open: %s", strerror(errno));
        return NULL;
    }
    char *data = malloc(MAX_CONFIG_FILE_BYTES + 1);
    if (data == NULL) {
        fclose(file);
        value_fail(why, why_size, "out of memory");
        return NULL;
    }
    size_t n = fread(data, 1, MAX_CONFIG_FILE_BYTES + 1, file);
    bool read_error = ferror(file) != 0;
    fclose(file);
    if (read_error) {
        free(data);
        value_fail(why, why_size, "cannot read");
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
    for (const char *p = text; p < at && *p != '\0'; p++) {
        if (*p == '\n') {
            (*line)++;
            *column = 1;
        } else {
            (*column)++;
        }
    }
}

/* Renders a JSON scalar as the text a flag would carry, so one validator serves both. */
static bool json_scalar_text(const cJSON *item, const struct option *option, char *buf,
                             size_t buf_size, const char **text, char *why, size_t why_size)
{
    if (option->metavar == NULL) {
        if (!cJSON_IsBool(item))
            return value_fail(why, why_size, "must be true or false");
        *text = cJSON_IsTrue(item) ? "true" : "false";
        return true;
    }
    if (cJSON_IsString(item)) {
        *text = item->valuestring;
        return true;
    }
    if (cJSON_IsNumber(item)) {
        double d = item->valuedouble;
        if (d < 0 || d > 4294967295.0 || d != (double)(uint64_t)d)
            return value_fail(why, why_size, "%g is not a whole number", d);
        snprintf(buf, buf_size, "%" PRIu64, (uint64_t)d);
        *text = buf;
        return true;
    }
    return value_fail(why, why_size, "must be a string%s",
                option->repeatable ? " or an array of strings" : " or a number");
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
    return option->apply(st->config, owned, why, why_size);
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
    if (option->repeatable && cJSON_IsArray(item)) {
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

static void set_defaults(struct config *config)
{
    memset(config, 0, sizeof *config);
    config->telemetry_path = DEFAULT_TELEMETRY_PATH;
    config->retention = DEFAULT_RETENTION_MS * TICKS_PER_MS;
    config->capacity = PROCESS_TABLE_DEFAULT_CAPACITY;
    config->session.kind = LIVE_SESSION_AUTO;
    config->log_level = LOG_INFO;
    config->connection_timeout_s = DEFAULT_CONNECTION_TIMEOUT_S;
    config->max_connections = DEFAULT_MAX_CONNECTIONS;
    config->max_connections_per_ip = DEFAULT_MAX_CONNECTIONS_PER_IP;
    config->max_in_flight = DEFAULT_MAX_IN_FLIGHT;
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
        } else if (option->metavar == NULL) {
            value = "true";
        } else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
            value = argv[++i];
        } else {
            snprintf(st->err, st->err_size, "--%s: needs a value (%s)", option->name,
                     option->metavar);
            return false;
        }
        size_t id = (size_t)(option - options);
        if (!option->repeatable && st->set_by_flag[id] > 0) {
            snprintf(st->err, st->err_size, "--%s: given more than once", option->name);
            return false;
        }
        st->set_by_flag[id]++;
        if (!option->apply(st->config, value, why, sizeof why)) {
            snprintf(st->err, st->err_size, "--%s: %s", option->name, why);
            return false;
        }
    }
    return true;
}

/* Rules that involve more than one option, checked once flags and file are merged. */
static bool check_combination(struct parse_state *st)
{
    struct config *c = st->config;
    if (c->summary && c->etl_count == 0) {
        snprintf(st->err, st->err_size, "--summary: needs at least one --etl FILE to replay");
        return false;
    }
    uint32_t min = c->session.min_buffers ? c->session.min_buffers : SESSION_DEFAULT_MIN_BUFFERS;
    uint32_t max = c->session.max_buffers ? c->session.max_buffers : SESSION_DEFAULT_MAX_BUFFERS;
    if (min > max) {
        snprintf(st->err, st->err_size,
                 "--session.min-buffers: %" PRIu32 " is more than --session.max-buffers (%"
                 PRIu32 ")", min, max);
        return false;
    }
    return true;
}

enum config_result config_parse(struct config *config, int argc, char **argv, char *err,
                                size_t err_size)
{
    set_defaults(config);
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
        ok = check_combination(&st);
    if (!ok) {
        config_free(config);
        return CONFIG_ERROR;
    }
    if (config->listen_count == 0)
        config->listen[config->listen_count++] = DEFAULT_LISTEN;
    return CONFIG_RUN;
}

/* ---- the config in effect, as JSON ---------------------------------------------------- */

static void add_list(cJSON *object, const char *key, const char *const *list, size_t count)
{
    cJSON *array = cJSON_AddArrayToObject(object, key);
    for (size_t i = 0; array != NULL && i < count; i++)
        cJSON_AddItemToArray(array, cJSON_CreateString(list[i]));
}

static const char *session_kind_name(enum live_session_kind kind)
{
    switch (kind) {
    case LIVE_SESSION_SYSTEM_LOGGER: return "system-logger";
    case LIVE_SESSION_KERNEL_LOGGER: return "kernel-logger";
    case LIVE_SESSION_AUTO: break;
    }
    return "auto";
}

char *config_to_json(const struct config *c)
{
    static const char *const level_names[] = { "error", "warn", "info", "debug" };
    char text[32];
    cJSON *root = cJSON_CreateObject();
    if (root == NULL)
        return NULL;
    add_list(root, "web.listen-address", c->listen, c->listen_count);
    cJSON_AddStringToObject(root, "web.telemetry-path", c->telemetry_path);
    value_format_duration_ms((uint64_t)c->connection_timeout_s * 1000, text, sizeof text);
    cJSON_AddStringToObject(root, "web.connection-timeout", text);
    cJSON_AddNumberToObject(root, "web.max-connections", c->max_connections);
    cJSON_AddNumberToObject(root, "web.max-connections-per-ip", c->max_connections_per_ip);
    cJSON_AddNumberToObject(root, "web.max-requests-in-flight", c->max_in_flight);
    add_list(root, "etl", c->etl_files, c->etl_count);
    cJSON_AddBoolToObject(root, "summary", c->summary);
    cJSON_AddBoolToObject(root, "collector.aggregate-by-name", c->aggregate_by_name);
    add_list(root, "collector.include", c->include, c->include_count);
    add_list(root, "collector.exclude", c->exclude, c->exclude_count);
    value_format_duration_ms(c->retention / TICKS_PER_MS, text, sizeof text);
    cJSON_AddStringToObject(root, "collector.retention", text);
    cJSON_AddNumberToObject(root, "collector.capacity", c->capacity);
    cJSON_AddStringToObject(root, "session.kind", session_kind_name(c->session.kind));
    cJSON_AddStringToObject(root, "session.name",
                            c->session.session_name ? c->session.session_name
                                                    : SESSION_DEFAULT_NAME);
    cJSON_AddBoolToObject(root, "session.take-over-foreign", c->session.take_over_foreign);
    cJSON_AddNumberToObject(root, "session.buffer-size-kb",
                            c->session.buffer_size_kb ? c->session.buffer_size_kb
                                                      : SESSION_DEFAULT_BUFFER_KB);
    cJSON_AddNumberToObject(root, "session.min-buffers",
                            c->session.min_buffers ? c->session.min_buffers
                                                   : SESSION_DEFAULT_MIN_BUFFERS);
    cJSON_AddNumberToObject(root, "session.max-buffers",
                            c->session.max_buffers ? c->session.max_buffers
                                                   : SESSION_DEFAULT_MAX_BUFFERS);
    unsigned level = (unsigned)c->log_level <= LOG_DEBUG ? (unsigned)c->log_level : LOG_INFO;
    cJSON_AddStringToObject(root, "log.level", level_names[level]);
    cJSON_AddBoolToObject(root, "console", c->console);
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
