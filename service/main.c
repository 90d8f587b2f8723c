/* tcpip_exporter's entry point: the Windows service manager first (when it started us),
 * then the command line, then either a one-shot replay summary or the exporter serving
 * until Ctrl-C / SIGTERM. */
#include <stdio.h>
#include <string.h>

#ifdef _WIN32
#include "scm_win.h"
#endif

#include "../collector/etl_replay.h"
#include "../collector/process_table.h"
#include "../exporter/summary.h"
#include "app.h"
#include "config.h"
#include "console.h"
#include "exit_code.h"
#include "log.h"
#include "stop_signal.h"

#define PROGRAM_NAME "tcpip_exporter"

/* The one error line: its text names flags, values and files the user gave, so control
 * characters in them are escaped (a newline must not make it two lines). */
static void print_error_line(const char *text)
{
    char escaped[2048];
    fprintf(stderr, PROGRAM_NAME ": %s\n", log_escape(text, escaped, sizeof escaped));
}

/* --etl FILE... --summary: replay into a table, print it, exit. */
static int run_summary(const struct config *config)
{
    struct process_table_config table_config;
    app_table_config(config, &table_config);
    /* A summary lists every instance the trace held unless the user asked for a
     * retention: folding exited processes into "(retired)" hides what a person
     * replaying a capture usually wants to see. */
    table_config.retention = config->retention_given ? config->retention : UINT64_MAX;
    struct process_table *table = process_table_create(&table_config);
    if (table == NULL) {
        fprintf(stderr, PROGRAM_NAME ": cannot allocate a table of %u rows and %u peers\n",
                (unsigned)config->capacity, (unsigned)table_config.peer_capacity);
        return EXIT_SYSTEM_ERROR;
    }
    struct summary_options options = { .peers = config->summary_peers };
    struct etl_replay_report report;
    memset(&report, 0, sizeof report);
    FILE *progress = console_stderr_is_terminal() ? stderr : NULL;
    enum etl_replay_status status =
        etl_replay_files(table, config->etl_files, config->etl_count, NULL, progress, &report);

    int code = EXIT_OK;
    switch (status) {
    case ETL_REPLAY_OK:
        summary_print_with(stdout, table, &report, &options);
        break;
    case ETL_REPLAY_DAMAGED:
        /* records before the damage were counted: show them, then say what broke */
        summary_print_with(stdout, table, &report, &options);
        fflush(stdout);
        print_error_line(report.error);
        code = EXIT_DAMAGED_TRACE;
        break;
    case ETL_REPLAY_NOT_ETL:
    case ETL_REPLAY_IO_ERROR:
    case ETL_REPLAY_STOPPED: /* not asked for here: no cancel flag is given */
        print_error_line(report.error);
        code = EXIT_BAD_TRACE;
        break;
    }
    process_table_destroy(table);
    return code;
}

static void log_urls(const struct config *config, const char *scheme)
{
    for (size_t i = 0; i < config->listen_count; i++) {
        const char *address = config->listen[i];
        if (address[0] == ':')
            log_msg(LOG_INFO, "serving %s://localhost%s%s (every interface)", scheme, address,
                    config->telemetry_path);
        else
            log_msg(LOG_INFO, "serving %s://%s%s", scheme, address, config->telemetry_path);
    }
}

/* Serve until asked to stop. */
static int run_server(const struct config *config)
{
    /* before app_start: a stop requested while starting is kept, not lost */
    stop_signal_install();
    char err[512];
    struct app *app = app_start(config, err, sizeof err);
    if (app == NULL) {
        print_error_line(err);
        return EXIT_START_FAILED;
    }
    log_urls(config, app_scheme(app));
    stop_signal_wait();
    log_msg(LOG_INFO, "stopping");
    int code = app_stop(app);
    log_msg(LOG_INFO, "stopped");
    return code;
}

int main(int argc, char **argv)
{
    argv = console_utf8_arguments(argc, argv, &argc);
#ifdef _WIN32
    int service_code = scm_main(argc, argv);
    if (service_code >= 0)
        return service_code;
#endif
    struct config config;
    char err[512];
    switch (config_parse(&config, argc, argv, err, sizeof err)) {
    case CONFIG_EXIT_OK:
        config_free(&config);
        return EXIT_OK;
    case CONFIG_ERROR:
        print_error_line(err);
        config_free(&config);
        return EXIT_BAD_CONFIG;
    case CONFIG_RUN:
        break;
    }
    log_set_level(config.log_level);
    int code = config.summary ? run_summary(&config) : run_server(&config);
    config_free(&config);
    return code;
}
