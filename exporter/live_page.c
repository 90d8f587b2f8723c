/* The live page: its HTML, with two placeholders filled in, and its static files. */
#include "live_page.h"

#include <stdlib.h>
#include <string.h>
#include "bytes.h"
#include "text_buffer.h"
#include "ui_assets.h"

static void append_html_escaped(struct text_buffer *out, const char *text)
{
    for (const char *p = text; *p; p++) {
        switch (*p) {
        case '<': text_buffer_append_str(out, "&lt;"); break;
        case '>': text_buffer_append_str(out, "&gt;"); break;
        case '&': text_buffer_append_str(out, "&amp;"); break;
        case '"': text_buffer_append_str(out, "&quot;"); break;
        case '\'': text_buffer_append_str(out, "&#39;"); break;
        default: text_buffer_append_char(out, *p); break;
        }
    }
}

/* Placeholders of live.html and what replaces them, escaped. */
struct placeholder {
    const char *name;
    const char *value;
};

char *live_page_html(const char *telemetry_path, const char *version)
{
    const struct placeholder placeholders[] = {
        { "@TELEMETRY_PATH@", telemetry_path },
        { "@VERSION@", version },
    };
    struct text_buffer page;
    text_buffer_init(&page);
    const char *p = ui_live_html;
    while (*p) {
        const char *at = strchr(p, '@');
        if (at == NULL) {
            text_buffer_append_str(&page, p);
            break;
        }
        text_buffer_append(&page, p, (size_t)(at - p));
        p = at;
        size_t i = 0;
        for (; i < ARRAY_SIZE(placeholders); i++) {
            size_t n = strlen(placeholders[i].name);
            if (strncmp(p, placeholders[i].name, n) == 0) {
                append_html_escaped(&page, placeholders[i].value);
                p += n;
                break;
            }
        }
        if (i == ARRAY_SIZE(placeholders))
            text_buffer_append_char(&page, *p++); /* an '@' of the page itself */
    }
    if (page.failed) {
        text_buffer_free(&page);
        return NULL;
    }
    return page.data;
}

bool live_page_file(const char *url, struct live_page_file *file)
{
    /* The sizes are variables of ui_assets.c, not constants: so the table is built here. */
    const struct live_page_file files[] = {
        { "/ui/live.js", ui_live_js, ui_live_js_size, "text/javascript; charset=utf-8" },
        { "/ui/live.css", ui_live_css, ui_live_css_size, "text/css; charset=utf-8" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
        if (strcmp(url, files[i].path) == 0) {
            *file = files[i];
            return true;
        }
    }
    return false;
}
