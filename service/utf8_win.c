/* service/utf8_win.h. */
#include <windows.h>

#include <stdlib.h>

#include "utf8_win.h"

char *utf8_from_wide(const wchar_t *wide)
{
    int size = WideCharToMultiByte(CP_UTF8, 0, wide, -1, NULL, 0, NULL, NULL);
    char *text = size > 0 ? malloc((size_t)size) : NULL;
    if (text != NULL && WideCharToMultiByte(CP_UTF8, 0, wide, -1, text, size, NULL, NULL) <= 0) {
        free(text);
        text = NULL;
    }
    return text;
}
