/* Strict decimal (decimal.h). strtoull would take a sign, leading spaces and hex prefixes,
 * and say "out of range" only through errno. */
#include "decimal.h"

bool decimal_parse(const char *text, uint64_t max, uint64_t *value)
{
    if (*text == '\0')
        return false;
    uint64_t v = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        unsigned digit = (unsigned)(*p - '0');
        if (v > (max - digit) / 10)
            return false;
        v = v * 10 + digit;
    }
    *value = v;
    return true;
}
