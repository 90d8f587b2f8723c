/* FormatMessage, trimmed and in UTF-8 (collector/win_error_win.h). */
#include <windows.h>

#include <stdbool.h>
#include <stdio.h>

#include "win_error_win.h"
#include "bytes.h"

/* The system's message for code without its trailing period and line break, or false. */
static bool system_message(unsigned long code, char *text, size_t size)
{
    wchar_t wide[WIN_ERROR_TEXT_SIZE];
    DWORD n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
                             (DWORD)code, 0, wide, (DWORD)ARRAY_SIZE(wide), NULL);
    while (n > 0 && (wide[n - 1] == L'\r' || wide[n - 1] == L'\n' || wide[n - 1] == L' ' ||
                     wide[n - 1] == L'.'))
        n--;
    int written = n == 0 ? 0 : WideCharToMultiByte(CP_UTF8, 0, wide, (int)n, text,
                                                   (int)size - 1, NULL, NULL);
    if (written <= 0)
        return false;
    text[written] = '\0';
    return true;
}

struct win_error_text win_error_describe(unsigned long code)
{
    struct win_error_text out;
    /* room for "4294967295 (" and ")" around the message */
    char message[WIN_ERROR_TEXT_SIZE - 16];
    if (system_message(code, message, sizeof message))
        snprintf(out.text, sizeof out.text, "%lu (%s)", code, message);
    else
        snprintf(out.text, sizeof out.text, "%lu", code);
    return out;
}
