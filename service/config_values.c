/* Parsing and checking the values options take, whether they come from a flag or from the
 * config file. Each parser writes why a value was refused as one phrase without the flag's
 * name: config.c puts "--flag: " or "FILE: \"key\": " in front. */
#include "config_values.h"
#include "../collector/bytes.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "../exporter/decimal.h"

bool value_fail(char *why, size_t why_size, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(why, why_size, format, args);
    va_end(args);
    return false;
}

bool value_whole_number(const char *value, uint64_t min, uint64_t max, uint32_t *out,
                         char *why, size_t why_size)
{
    uint64_t n;
    if (!decimal_parse(value, UINT64_MAX, &n)) {
        /* digits only, and still refused: too many of them for any range */
        if (value[0] != '\0' && strspn(value, "0123456789") == strlen(value))
            return value_fail(why, why_size, "%s is out of range (%" PRIu64 " to %" PRIu64 ")",
                              value, min, max);
        return value_fail(why, why_size, "\"%s\" is not a whole number", value);
    }
    if (n < min || n > max)
        return value_fail(why, why_size, "%s is out of range (%" PRIu64 " to %" PRIu64 ")",
                    value, min, max);
    *out = (uint32_t)n;
    return true;
}

/* Durations as Prometheus writes them: one or more <number><unit>, e.g. 90s, 5m, 1h30m.
 * A bare number is refused: "retention 300" could mean seconds or milliseconds. */
static bool parse_duration_ms(const char *text, uint64_t *out_ms)
{
    static const struct { const char *unit; uint64_t ms; } units[] = {
        { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 },
    };
    const char *p = text;
    uint64_t total = 0;
    if (*p == '\0')
        return false;
    while (*p != '\0') {
        uint64_t n = 0;
        const char *digits = p;
        while (*p >= '0' && *p <= '9') {
            unsigned digit = (unsigned)(*p - '0');
            if (n > (UINT64_MAX - digit) / 10)
                return false;
            n = n * 10 + digit;
            p++;
        }
        if (p == digits)
            return false;
        size_t unit_len = 0;
        uint64_t scale = 0;
        for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
            size_t len = strlen(units[i].unit);
            /* "ms" before "m", and "m" must not swallow the "m" of "ms" */
            if (strncmp(p, units[i].unit, len) == 0 && len > unit_len) {
                unit_len = len;
                scale = units[i].ms;
            }
        }
        if (unit_len == 0)
            return false;
        p += unit_len;
        if (n > (UINT64_MAX - total) / scale)
            return false;
        total += n * scale;
    }
    *out_ms = total;
    return true;
}

bool value_duration(const char *value, uint64_t min_ms, uint64_t max_ms,
                           uint64_t *out_ms, char *why, size_t why_size)
{
    uint64_t ms;
    if (!parse_duration_ms(value, &ms))
        return value_fail(why, why_size,
                    "\"%s\" is not a duration; write a number and a unit (ms, s, m, h, d), "
                    "e.g. 30s, 5m, 1h", value);
    if (ms < min_ms || ms > max_ms)
        return value_fail(why, why_size, "%s is out of range (%" PRIu64 "s to %" PRIu64 "d)",
                    value, min_ms / 1000, max_ms / 86400000);
    *out_ms = ms;
    return true;
}

bool value_switch(const char *value, bool *out, char *why, size_t why_size)
{
    if (strcmp(value, "true") == 0) {
        *out = true;
        return true;
    }
    if (strcmp(value, "false") == 0) {
        *out = false;
        return true;
    }
    return value_fail(why, why_size, "\"%s\" is not true or false", value);
}

/* Dotted quad, each part 0..255. */
static bool is_ipv4_literal(const char *text, size_t len)
{
    int parts = 0;
    size_t i = 0;
    while (i < len) {
        unsigned value = 0;
        size_t digits = 0;
        while (i < len && text[i] >= '0' && text[i] <= '9') {
            value = value * 10 + (unsigned)(text[i] - '0');
            if (++digits > 3 || value > 255)
                return false;
            i++;
        }
        if (digits == 0)
            return false;
        parts++;
        if (i < len) {
            if (text[i] != '.' || parts == 4)
                return false;
            i++;
            if (i == len)
                return false;
        }
    }
    return parts == 4;
}

/* A plausible IPv6 literal: hex digits, colons, dots (embedded IPv4), at least two colons.
 * The HTTP server parses it for real; this only catches typos early with a clear line. */
static bool looks_like_ipv6_literal(const char *text, size_t len)
{
    size_t colons = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (c == ':')
            colons++;
        else if (!hex && c != '.')
            return false;
    }
    return colons >= 2;
}

static bool parse_port(const char *text, char *why, size_t why_size, const char *address)
{
    uint64_t port;
    if (!decimal_parse(text, UINT64_MAX, &port) || port < 1 || port > 65535)
        return value_fail(why, why_size, "\"%s\": the port must be a number from 1 to 65535",
                    address);
    return true;
}

bool value_listen_address(const char *address, char *why, size_t why_size)
{
    if (address[0] == '[') {
        const char *close = strchr(address, ']');
        if (close == NULL || close[1] != ':')
            return value_fail(why, why_size,
                        "\"%s\" is not an address; write [IPv6]:PORT, e.g. [::1]:%d",
                        address, CONFIG_DEFAULT_PORT);
        if (!looks_like_ipv6_literal(address + 1, (size_t)(close - address - 1)))
            return value_fail(why, why_size, "\"%s\": \"%.*s\" is not an IPv6 address", address,
                        (int)(close - address - 1), address + 1);
        return parse_port(close + 2, why, why_size, address);
    }
    const char *colon = strrchr(address, ':');
    if (colon == NULL)
        return value_fail(why, why_size,
                    "\"%s\" has no port; write HOST:PORT, e.g. 127.0.0.1:%d or :%d",
                    address, CONFIG_DEFAULT_PORT, CONFIG_DEFAULT_PORT);
    size_t host_len = (size_t)(colon - address);
    if (memchr(address, ':', host_len) != NULL)
        return value_fail(why, why_size, "\"%s\": put an IPv6 address in brackets, e.g. [::1]:%d",
                    address, CONFIG_DEFAULT_PORT);
    if (host_len > 0 && !is_ipv4_literal(address, host_len))
        return value_fail(why, why_size,
                    "\"%s\": the host must be an IP address (e.g. 127.0.0.1:%d, [::1]:%d) "
                    "or empty for every interface (:%d)",
                    address, CONFIG_DEFAULT_PORT, CONFIG_DEFAULT_PORT, CONFIG_DEFAULT_PORT);
    return parse_port(colon + 1, why, why_size, address);
}

void value_format_duration_ms(uint64_t ms, char *out, size_t size)
{
    static const struct { const char *unit; uint64_t ms; } units[] = {
        { "d", 86400000 }, { "h", 3600000 }, { "m", 60000 }, { "s", 1000 },
    };
    for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
        if (ms != 0 && ms % units[i].ms == 0) {
            snprintf(out, size, "%" PRIu64 "%s", ms / units[i].ms, units[i].unit);
            return;
        }
    }
    snprintf(out, size, "%" PRIu64 "ms", ms);
}
