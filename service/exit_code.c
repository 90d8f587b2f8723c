/* service/exit_code.h: the meanings --help prints. */
#include "exit_code.h"

#include <stddef.h>

const struct exit_code_row exit_code_table[] = {
    { EXIT_OK, "stopped cleanly, or printed what was asked" },
    { EXIT_SYSTEM_ERROR, "the system refused what is needed (memory, a thread, a Windows call)" },
    { EXIT_BAD_CONFIG, "a flag, the config file or one of its values was refused" },
    { EXIT_START_FAILED, "could not start serving (port taken, file to replay missing...)" },
    { EXIT_BAD_TRACE, "a replayed file cannot be read or is not an ETL trace" },
    { EXIT_DAMAGED_TRACE, "a replayed trace is damaged part way (what came before counts)" },
    { EXIT_OK, NULL },
};
