/* service/console.h on Windows: the C runtime's own isatty, and arguments and console
 * output in UTF-8. */
#include <windows.h>
#include <shellapi.h>

#include <io.h>
#include <stdio.h>
#include <stdlib.h>

#include "console.h"
#include "utf8_win.h"

bool console_stderr_is_terminal(void)
{
    return _isatty(_fileno(stderr)) != 0;
}

char **console_utf8_arguments(int argc, char **argv, int *utf8_argc)
{
    *utf8_argc = argc;
    /* messages are UTF-8: let the console show them as such (a no-op without a console) */
    SetConsoleOutputCP(CP_UTF8);
    int wargc = 0;
    LPWSTR *wargv = CommandLineToArgvW(GetCommandLineW(), &wargc);
    if (wargv == NULL)
        return argv;
    char **utf8 = calloc((size_t)wargc + 1, sizeof *utf8);
    for (int i = 0; utf8 != NULL && i < wargc; i++) {
        if ((utf8[i] = utf8_from_wide(wargv[i])) == NULL) {
            for (int j = 0; j < i; j++)
                free(utf8[j]);
            free(utf8);
            utf8 = NULL;
        }
    }
    LocalFree(wargv);
    if (utf8 == NULL)
        return argv; /* out of memory: the ANSI arguments are better than none */
    *utf8_argc = wargc;
    return utf8;
}
