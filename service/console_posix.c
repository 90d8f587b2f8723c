/* service/console.h on POSIX systems. */
#include <stdio.h>
#include <unistd.h>

#include "console.h"

bool console_stderr_is_terminal(void)
{
    return isatty(fileno(stderr)) != 0;
}

char **console_utf8_arguments(int argc, char **argv, int *utf8_argc)
{
    *utf8_argc = argc;
    return argv;
}
