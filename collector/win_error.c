/* FormatMessage, trimmed and in UTF-8 (collector/win_error.h). */
#include <windows.h>

#include <stdio.h>

#include "win_error.h"

bool win_error_message(unsigned long code, char *text, size_t size)
{
    wchar_t wide[256];
    DWORD n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
                             (DWORD)code, 0, wide, (DWORD)(sizeof wide / sizeof wide[0]), NULL);
    while (n > 0 && (wide[n - 1] == L'\r' || wide[n - 1] == L'\n' || wide[n - 1] == L' ' ||
                     wide[n - 1] == L'.'))
        n--;
    int written = n == 0 ? 0 : WideCharToMultiByte(CP_UTF8, 0, wide, (int)n, text,
                                                   (int)size - 1, NULL, NULL);
    if (written <= 0) {
        snprintf(text, size, "error %lu", code);
        return false;
    }
    text[written] = '\0';
    return true;
}

void win_error_text(unsigned long code, char *text, size_t size)
{
    char message[200];
    if (win_error_message(code, message, sizeof message))
        snprintf(text, size, "%lu (%s)", code, message);
    else
        snprintf(text, size, "%lu", code);
}
