/* service/console.h on Windows: the C runtime's own isatty. */
#include <io.h>
#include <stdio.h>

#include "console.h"

bool console_stderr_is_terminal(void)
{
    return _isatty(_fileno(stderr)) != 0;
}
