/* Glob matching without recursion: on a mismatch, go back to the last `*` and let it
 * swallow one more byte. Linear in practice, never exponential. */
#include "name_filter.h"

static int fold(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

bool glob_match(const char *pattern, const char *text)
{
    const char *star = NULL;   /* last `*` seen in pattern */
    const char *resume = NULL; /* where text resumes when that `*` takes one more byte */
    while (*text) {
        if (*pattern == '*') {
            star = pattern++;
            resume = text;
        } else if (*pattern == '?' ||
                   (*pattern && fold((unsigned char)*pattern) == fold((unsigned char)*text))) {
            pattern++;
            text++;
        } else if (star) {
            pattern = star + 1;
            text = ++resume;
        } else {
            return false;
        }
    }
    while (*pattern == '*')
        pattern++;
    return *pattern == '\0';
}

static bool matches_any(const char *const *globs, size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++) {
        if (glob_match(globs[i], name))
            return true;
    }
    return false;
}

bool name_filter_allows(const char *const *include, size_t include_count,
                        const char *const *exclude, size_t exclude_count, const char *name)
{
    if (include_count > 0 && !matches_any(include, include_count, name))
        return false;
    return !matches_any(exclude, exclude_count, name);
}

static bool any_matches(const char *const *globs, size_t count, const char *name,
                        const struct service_ref *services, size_t service_count)
{
    if (matches_any(globs, count, name))
        return true;
    for (size_t i = 0; i < service_count; i++)
        if (matches_any(globs, count, services[i].name))
            return true;
    return false;
}

bool row_filter_allows(const struct render_options *options, const char *name,
                       const struct service_ref *services, size_t service_count)
{
    if (options->include_count > 0 &&
        !any_matches(options->include, options->include_count, name, services, service_count))
        return false;
    return !any_matches(options->exclude, options->exclude_count, name, services,
                        service_count);
}
