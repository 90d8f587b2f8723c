/* A small HTTP header-list parser: comma-separated elements, each a token with
 * ";name=value" parameters (values possibly quoted). Only what content negotiation needs. */
#include "negotiate.h"

#include <stdlib.h>
#include <string.h>

struct element {
    char value[64];       /* media range or coding, lower-cased */
    char version[32];     /* version= parameter, "" when absent */
    double q;             /* 1 when absent */
};

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c;
}

/* Copies [start, end) trimmed, lower-cased (when fold) and unquoted into out. */
static void copy_token(const char *start, const char *end, char *out, size_t size, bool fold)
{
    while (start < end && is_space(*start))
        start++;
    while (end > start && is_space(end[-1]))
        end--;
    if (end - start >= 2 && *start == '"' && end[-1] == '"') {
        start++;
        end--;
    }
    size_t n = 0;
    for (; start < end && n + 1 < size; start++)
        out[n++] = fold ? lower(*start) : *start;
    out[n] = '\0';
}

/* q-values are "0", "1" or up to three decimals; anything unreadable counts as 0 so that
 * a malformed range never wins. */
static double parse_q(const char *text)
{
    char *end;
    double q = strtod(text, &end);
    if (end == text || *end != '\0' || q < 0 || q > 1)
        return 0;
    return q;
}

/* Parses the element in [start, end). */
static void parse_element(const char *start, const char *end, struct element *e)
{
    const char *semi = memchr(start, ';', (size_t)(end - start));
    const char *value_end = semi ? semi : end;
    copy_token(start, value_end, e->value, sizeof e->value, true);
    e->version[0] = '\0';
    e->q = 1;
    while (semi != NULL) {
        const char *param = semi + 1;
        semi = memchr(param, ';', (size_t)(end - param));
        const char *param_end = semi ? semi : end;
        const char *eq = memchr(param, '=', (size_t)(param_end - param));
        if (eq == NULL)
            continue;
        char name[16], value[32];
        copy_token(param, eq, name, sizeof name, true);
        copy_token(eq + 1, param_end, value, sizeof value, false);
        if (strcmp(name, "q") == 0)
            e->q = parse_q(value);
        else if (strcmp(name, "version") == 0)
            memcpy(e->version, value, sizeof e->version);
    }
}

/* Calls visit for each element of a comma-separated header (no quoted commas needed). */
static void for_each_element(const char *header, void (*visit)(const struct element *, void *),
                             void *context)
{
    const char *p = header;
    while (*p) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        struct element e;
        parse_element(p, end, &e);
        if (e.value[0] != '\0')
            visit(&e, context);
        if (comma == NULL)
            break;
        p = comma + 1;
    }
}

struct format_choice {
    enum metrics_format format;
    double best_q;
};

static void consider_format(const struct element *e, void *context)
{
    struct format_choice *choice = context;
    enum metrics_format format;
    if (strcmp(e->value, "application/openmetrics-text") == 0) {
        /* 0.0.1 is a pre-1.0 draft we do not produce; Prometheus lists 1.0.0 first anyway. */
        if (e->version[0] != '\0' && strcmp(e->version, "1.0.0") != 0)
            return;
        format = METRICS_FORMAT_OPENMETRICS;
    } else if (strcmp(e->value, "text/plain") == 0 || strcmp(e->value, "text/*") == 0 ||
               strcmp(e->value, "*/*") == 0) {
        format = METRICS_FORMAT_TEXT;
    } else {
        return;
    }
    /* Strictly greater: on equal q the earlier range in the header wins. */
    if (e->q > 0 && e->q > choice->best_q) {
        choice->best_q = e->q;
        choice->format = format;
    }
}

enum metrics_format negotiate_format(const char *accept)
{
    struct format_choice choice = { METRICS_FORMAT_TEXT, 0 };
    if (accept != NULL)
        for_each_element(accept, consider_format, &choice);
    return choice.format;
}

struct gzip_choice {
    double gzip_q;       /* -1: not named */
    double star_q;       /* -1: not named */
};

static void consider_coding(const struct element *e, void *context)
{
    struct gzip_choice *choice = context;
    if (strcmp(e->value, "gzip") == 0 || strcmp(e->value, "x-gzip") == 0)
        choice->gzip_q = e->q;
    else if (strcmp(e->value, "*") == 0)
        choice->star_q = e->q;
}

bool negotiate_gzip(const char *accept_encoding)
{
    if (accept_encoding == NULL)
        return false;
    struct gzip_choice choice = { -1, -1 };
    for_each_element(accept_encoding, consider_coding, &choice);
    if (choice.gzip_q >= 0)
        return choice.gzip_q > 0;
    return choice.star_q > 0;
}
