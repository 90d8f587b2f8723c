/* Everything the command line and the optional JSON config file (--config.file) can set.
 * Flags win over the file. Parsing never exits the process: it returns an error line. */
#ifndef TCPIP_EXPORTER_CONFIG_H
#define TCPIP_EXPORTER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../collector/live_session.h"
#include "log.h"

#define CONFIG_DEFAULT_PORT 9731
#define CONFIG_MAX_LISTEN 8
#define CONFIG_MAX_ETL 64
#define CONFIG_MAX_FILTERS 32

struct config {
    const char *listen[CONFIG_MAX_LISTEN];   /* "host:port", "[v6]:port", ":port" */
    size_t listen_count;
    const char *telemetry_path;               /* default "/metrics" */
    const char *etl_files[CONFIG_MAX_ETL];    /* --etl, repeatable: replay instead of live */
    size_t etl_count;
    const char *etl_pace;                     /* --etl.pace: NULL = not given */
    bool etl_loop;                            /* --etl.loop: replay again and again */
    bool summary;                             /* --summary: print the table, do not serve */
    bool aggregate_by_name;                   /* --collector.aggregate-by-name: no pid label */
    const char *include[CONFIG_MAX_FILTERS];  /* image-name globs; empty = all */
    size_t include_count;
    const char *exclude[CONFIG_MAX_FILTERS];
    size_t exclude_count;
    uint64_t retention;                       /* 100 ns units */
    bool retention_given;                     /* set by flag or file, not the default */
    uint32_t capacity;                        /* table rows */
    /* remote peers (--collector.peers.*): the store exists with peers, or summary_peers */
    bool peers;                               /* --collector.peers: keep and export them */
    uint32_t peer_capacity;                   /* peers in the whole store */
    uint32_t peers_per_process;
    uint32_t peers_top;                       /* series per process on /metrics; 0 = all */
    uint32_t peer_ipv4_prefix;                /* bits of a remote address kept, 1 to 32 */
    uint32_t peer_ipv6_prefix;                /* 1 to 128 */
    bool summary_peers;                       /* --peers: --summary lists each one's peers */
    struct live_session_config session;
    enum log_level log_level;
    bool console;                             /* --console: never try the SCM */
    const char *config_file;
    const char *web_config_file;              /* --web.config.file: NULL = plain HTTP, no auth */
    bool health_without_auth;
    /* limits of the HTTP server */
    unsigned connection_timeout_s;
    unsigned max_connections;
    unsigned max_connections_per_ip;
    unsigned max_in_flight;
    unsigned request_head_timeout_s;
    unsigned min_send_rate;                   /* bytes/s */
    unsigned max_response_memory_mib;
    char *owned_strings;                      /* storage for strings read from the file */
};

enum config_result {
    CONFIG_RUN = 0,      /* parsed: go on */
    CONFIG_EXIT_OK = 1,  /* --help or --version was printed: exit 0 */
    CONFIG_ERROR = 2,    /* err holds one line; exit non-zero */
};

/* argv[0] is the program name. Strings point into argv or into owned_strings. */
enum config_result config_parse(struct config *config, int argc, char **argv,
                                char *err, size_t err_size);
void config_free(struct config *config);

/* The config in effect as a JSON object with the config file's keys (so it can be saved and
 * read back with --config.file); for /api/v1/status. malloc'd: free() it. NULL if out of memory. */
char *config_to_json(const struct config *config);

#endif
