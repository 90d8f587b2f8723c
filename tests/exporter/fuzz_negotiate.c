/* libFuzzer target: Accept and Accept-Encoding negotiation (exporter/negotiate.c) on
 * arbitrary header values. The input up to its first NUL is the Accept value, the rest up to
 * the next NUL the Accept-Encoding value; with no NUL, Accept-Encoding is absent (NULL), as
 * when a client does not send it. Each value sits in a heap block of exactly its size, so
 * AddressSanitizer sees any over-read. Besides no crash, UB or leak, it checks properties
 * that hold for any header:
 *   - the results are values of their types;
 *   - OpenMetrics is chosen only when the header names application/openmetrics-text;
 *     gzip only when the header names gzip or "*";
 *   - a range of q=1 put first always wins (no later range beats q=1), and the last gzip
 *     element decides gzip (a later element overrides an earlier one).
 * Built only with -Dfuzzing=true (clang). Seeds: tests/exporter/corpus-fuzz_negotiate. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "negotiate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated heap copy of bytes[0..length). */
static char *copy_of(const char *bytes, size_t length)
{
    char *s = malloc(length + 1);
    if (s == NULL)
        abort();
    memcpy(s, bytes, length);
    s[length] = '\0';
    return s;
}

/* head + text as one new string. */
static char *joined(const char *head, const char *text, const char *tail)
{
    size_t a = strlen(head), b = strlen(text), c = strlen(tail);
    char *s = malloc(a + b + c + 1);
    if (s == NULL)
        abort();
    memcpy(s, head, a);
    memcpy(s + a, text, b);
    memcpy(s + a + b, tail, c + 1);
    return s;
}

/* Case-insensitive strstr, ASCII only, as the parser folds only A-Z. */
static bool names(const char *text, const char *word)
{
    size_t n = strlen(word);
    for (; *text; text++) {
        size_t i = 0;
        while (i < n && text[i] && (text[i] | 0x20) == word[i])
            i++;
        if (i == n)
            return true;
    }
    return false;
}

static void check_accept(const char *accept)
{
    enum metrics_format f = negotiate_format(accept);
    if (f != METRICS_FORMAT_TEXT && f != METRICS_FORMAT_OPENMETRICS)
        abort();
    if (f == METRICS_FORMAT_OPENMETRICS && !names(accept, "application/openmetrics-text"))
        abort();
    char *om_first = joined("application/openmetrics-text;version=1.0.0,", accept, "");
    char *text_first = joined("text/plain;version=0.0.4,", accept, "");
    if (negotiate_format(om_first) != METRICS_FORMAT_OPENMETRICS ||
        negotiate_format(text_first) != METRICS_FORMAT_TEXT)
        abort();
    free(om_first);
    free(text_first);
}

static void check_encoding(const char *encoding)
{
    bool gzip = negotiate_gzip(encoding);
    if (encoding == NULL) {
        if (gzip)
            abort();
        return;
    }
    if (gzip && !names(encoding, "gzip") && strchr(encoding, '*') == NULL)
        abort();
    char *refused = joined("", encoding, ",gzip;q=0");
    char *accepted = joined("", encoding, ",gzip");
    if (negotiate_gzip(refused) || !negotiate_gzip(accepted))
        abort();
    free(refused);
    free(accepted);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *bytes = (const char *)data;
    const char *nul = memchr(bytes, '\0', size);
    size_t accept_length = nul ? (size_t)(nul - bytes) : size;
    char *accept = copy_of(bytes, accept_length);
    char *encoding = NULL;
    if (nul != NULL) {
        const char *rest = nul + 1;
        size_t left = size - accept_length - 1;
        const char *end = memchr(rest, '\0', left);
        encoding = copy_of(rest, end ? (size_t)(end - rest) : left);
    }
    check_accept(accept);
    check_encoding(encoding);
    free(accept);
    free(encoding);
    return 0;
}
