/* The process exit codes, one meaning each, the same for the console and for the service
 * (where the SCM shows them as the service-specific exit code, with Win32 exit code 1066
 * ERROR_SERVICE_SPECIFIC_ERROR). --help prints exit_code_table; service/README.md lists
 * them and tests/build checks that the two agree. */
#ifndef TCPIP_EXPORTER_EXIT_CODE_H
#define TCPIP_EXPORTER_EXIT_CODE_H

enum exit_code {
    EXIT_OK = 0,             /* stopped cleanly, or printed what was asked */
    EXIT_SYSTEM_ERROR = 1,   /* the system refused what we need: memory, a thread, a Windows
                              * call (install, uninstall, the service manager) */
    EXIT_BAD_CONFIG = 2,     /* a flag, the config file or one of its values was refused */
    EXIT_START_FAILED = 3,   /* could not start serving: the port is taken, a file to replay
                              * cannot be opened... */
    EXIT_BAD_TRACE = 4,      /* a replayed file cannot be read or is not an ETL trace */
    EXIT_DAMAGED_TRACE = 5,  /* a replayed trace is damaged part way; what came before the
                              * damage was counted (and served or printed) */
};

struct exit_code_row {
    enum exit_code code;
    const char *meaning;     /* one line, for --help and the docs */
};

/* Every code once, in order; terminated by a row whose meaning is NULL. */
extern const struct exit_code_row exit_code_table[];

#endif
