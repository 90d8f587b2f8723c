/* The kinds of values options take (whole numbers, durations, switches, listen addresses),
 * parsed the same way for flags and for the config file. On failure each writes into why
 * one phrase that says what was wrong with the value, without naming the option. */
#ifndef TCPIP_EXPORTER_CONFIG_VALUES_H
#define TCPIP_EXPORTER_CONFIG_VALUES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Formats why and returns false, so a parser can end with `return value_fail(...)`. */
#if defined(__MINGW32__)
__attribute__((format(gnu_printf, 3, 4))) /* C99 formats: __USE_MINGW_ANSI_STDIO=1 */
#elif defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
bool value_fail(char *why, size_t why_size, const char *format, ...);

/* Decimal digits only (no sign, no spaces), within [min, max]. */
bool value_whole_number(const char *text, uint64_t min, uint64_t max, uint32_t *out,
                        char *why, size_t why_size);

/* One or more <digits><unit> with units ms, s, m, h, d ("90s", "1h30m"), within
 * [min_ms, max_ms]. A bare number is refused: it could mean seconds or milliseconds. */
bool value_duration(const char *text, uint64_t min_ms, uint64_t max_ms, uint64_t *out_ms,
                    char *why, size_t why_size);

/* "true" or "false". */
bool value_switch(const char *text, bool *out, char *why, size_t why_size);

/* IPv4:PORT, [IPv6]:PORT or :PORT, port 1..65535. Host names are refused: the address is
 * bound, not resolved. */
bool value_listen_address(const char *text, char *why, size_t why_size);

/* The shortest exact form value_duration reads back: 90000 -> "90s", 300000 -> "5m". */
void value_format_duration_ms(uint64_t ms, char *out, size_t size);

#endif
