/* One gzip member per call, written straight into the caller's buffer: libdeflate compresses
 * a whole buffer at once, so the output is sized once by its bound and never copied. */
#include "gzip.h"

#include <stdlib.h>
#include <libdeflate.h>

/* Level 1: see gzip.h. */
#define GZIP_LEVEL 1

struct gzip_compressor {
    struct libdeflate_compressor *deflate;
};

struct gzip_compressor *gzip_compressor_create(void)
{
    struct gzip_compressor *c = malloc(sizeof *c);
    if (c == NULL)
        return NULL;
    c->deflate = libdeflate_alloc_compressor(GZIP_LEVEL);
    if (c->deflate == NULL) {
        free(c);
        return NULL;
    }
    return c;
}

void gzip_compressor_destroy(struct gzip_compressor *c)
{
    if (c == NULL)
        return;
    libdeflate_free_compressor(c->deflate);
    free(c);
}

bool gzip_compress(struct gzip_compressor *c, const char *in, size_t length,
                   struct text_buffer *out)
{
    text_buffer_reset(out);
    /* The bound is for the worst case, so the compression below cannot run out of room. */
    size_t bound = libdeflate_gzip_compress_bound(c->deflate, length);
    if (!text_buffer_reserve(out, bound))
        return false;
    size_t written = libdeflate_gzip_compress(c->deflate, in, length, out->data, bound);
    if (written == 0) {          /* cannot happen with the bound; never send a broken body */
        out->failed = true;
        return false;
    }
    out->length = written;
    out->data[written] = '\0';   /* text_buffer's contents are always NUL-terminated */
    return true;
}
