/* Shared /metrics renders (see shared_render.h). One mutex and condition variable for the
 * bookkeeping; the render and the compression run outside it, one at a time per body kind
 * (the `busy` flags), and serialised with each other by `work_lock` because the render
 * callback and the compressor each keep one set of scratch memory. */
#include "shared_render.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include "gzip.h"

#define FORMATS 2

/* The latest body of one kind: plain or gzip of one format. */
struct kept {
    struct response_body *body;
    double made_at;
    uint64_t serial;          /* plain: order of renders; gzip: the plain one it came from */
    size_t last_size;         /* what the next one will likely need */
    bool busy;
};

struct shared_render {
    struct shared_render_config config;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    pthread_mutex_t work_lock;
    struct kept plain[FORMATS];
    struct kept gzip[FORMATS];
    uint64_t serial;
    struct gzip_compressor *compressor;
    struct shared_render_counts counts;
};

static double real_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now(const struct shared_render *s)
{
    return s->config.now != NULL ? s->config.now() : real_now();
}

struct shared_render *shared_render_create(const struct shared_render_config *config)
{
    struct shared_render *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->config = *config;
    s->compressor = gzip_compressor_create();
    bool ok = s->compressor != NULL;
    ok = ok && pthread_mutex_init(&s->lock, NULL) == 0;
    ok = ok && pthread_mutex_init(&s->work_lock, NULL) == 0;
    ok = ok && pthread_cond_init(&s->changed, NULL) == 0;
    if (!ok) {
        gzip_compressor_destroy(s->compressor);
        free(s);   /* a failed init leaves nothing to destroy on the platforms we build */
        return NULL;
    }
    return s;
}

void shared_render_destroy(struct shared_render *s)
{
    if (s == NULL)
        return;
    for (int f = 0; f < FORMATS; f++) {
        response_body_release(s->plain[f].body);
        response_body_release(s->gzip[f].body);
    }
    gzip_compressor_destroy(s->compressor);
    pthread_cond_destroy(&s->changed);
    pthread_mutex_destroy(&s->work_lock);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* Usable for a request that arrived when the serial was `arrival`: fresh enough, or made
 * after the request came. Lock held. */
static bool usable(const struct shared_render *s, const struct kept *k, uint64_t arrival)
{
    return k->body != NULL && (k->serial > arrival || now(s) - k->made_at < s->config.max_age_s);
}

static void keep(struct shared_render *s, struct kept *k, struct response_body *body,
                 uint64_t serial)
{
    response_body_release(k->body);
    k->body = body;
    k->serial = serial;
    k->made_at = now(s);
    k->last_size = body->charged;
}

/* What replacing k gives back: its body, when no response holds it any more. */
static size_t reclaimable(const struct kept *k)
{
    if (k->body == NULL || atomic_load(&k->body->refs) != 1)
        return 0;
    return k->body->charged;
}

/* Whether a new render of f fits beside what clients hold. The kept bodies of f are
 * counted as given back when only we hold them (the new render replaces them), and a
 * render is always allowed when nothing else is held: a cap smaller than one render must
 * not freeze the data at the first render. Lock held. */
static bool room_for_render(const struct shared_render *s, int f)
{
    size_t held = response_budget_held(s->config.budget);
    size_t ours = reclaimable(&s->plain[f]) + reclaimable(&s->gzip[f]);
    size_t others = held > ours ? held - ours : 0;
    if (others == 0)
        return true;
    size_t cap = s->config.budget->cap;
    return others <= cap && s->plain[f].last_size <= cap - others;
}

/* Renders a new plain body of format f, the lock released meanwhile; NULL on failure. */
static struct response_body *render_unlocked(struct shared_render *s, int f, size_t hint)
{
    pthread_mutex_lock(&s->work_lock);
    struct text_buffer out;
    text_buffer_init(&out);
    text_buffer_reserve(&out, hint);   /* one allocation, not a doubling series */
    struct response_body *body = NULL;
    if (s->config.render(s->config.context, (enum metrics_format)f, &out))
        body = response_body_adopt(s->config.budget, &out, false);
    text_buffer_free(&out);
    pthread_mutex_unlock(&s->work_lock);
    return body;
}

static struct response_body *compress_unlocked(struct shared_render *s,
                                               const struct response_body *plain)
{
    pthread_mutex_lock(&s->work_lock);
    struct text_buffer out;
    text_buffer_init(&out);
    struct response_body *body = NULL;
    if (gzip_compress(s->compressor, plain->data, plain->length, &out))
        body = response_body_adopt(s->config.budget, &out, false);
    text_buffer_free(&out);
    pthread_mutex_unlock(&s->work_lock);
    return body;
}

static struct shared_render_result give(struct response_body *body, bool gzip,
                                        enum shared_render_outcome outcome)
{
    return (struct shared_render_result){ .body = body ? response_body_ref(body) : NULL,
                                          .gzip = gzip, .outcome = outcome };
}

/* The latest plain body of f, fresh for this request or made now. Lock held (released
 * while rendering). */
static struct shared_render_result plain_body(struct shared_render *s, int f, uint64_t arrival)
{
    struct kept *k = &s->plain[f];
    for (;;) {
        if (usable(s, k, arrival)) {
            s->counts.joined++;
            return give(k->body, false, SHARED_RENDER_JOINED);
        }
        if (k->busy) {
            pthread_cond_wait(&s->changed, &s->lock);
            continue;
        }
        if (!room_for_render(s, f)) {
            if (k->body == NULL)
                return give(NULL, false, SHARED_RENDER_NO_ROOM);
            s->counts.stale++;
            return give(k->body, false, SHARED_RENDER_STALE);
        }
        k->busy = true;
        pthread_mutex_unlock(&s->lock);
        struct response_body *body = render_unlocked(s, f, k->last_size);
        pthread_mutex_lock(&s->lock);
        k->busy = false;
        pthread_cond_broadcast(&s->changed);
        if (body == NULL)
            return give(NULL, false, SHARED_RENDER_FAILED);
        s->counts.renders++;
        keep(s, k, body, ++s->serial);
        return give(body, false, SHARED_RENDER_MADE);
    }
}

/* The gzip form of plain (a result holding a reference), compressed once. Lock held. */
static struct shared_render_result gzip_body(struct shared_render *s, int f,
                                             struct shared_render_result plain)
{
    struct kept *k = &s->gzip[f];
    uint64_t serial = s->plain[f].body == plain.body ? s->plain[f].serial : 0;
    for (;;) {
        if (k->body != NULL && serial != 0 && k->serial == serial) {
            response_body_release(plain.body);
            return give(k->body, true, plain.outcome);
        }
        if (k->busy) {
            pthread_cond_wait(&s->changed, &s->lock);
            serial = s->plain[f].body == plain.body ? s->plain[f].serial : 0;
            continue;
        }
        /* No room for the compressed form (or plain is no longer the latest): identity
         * is always acceptable to a client, so it gets plain. */
        if (serial == 0 || !response_budget_fits(s->config.budget, k->last_size))
            return plain;
        k->busy = true;
        pthread_mutex_unlock(&s->lock);
        struct response_body *body = compress_unlocked(s, plain.body);
        pthread_mutex_lock(&s->lock);
        k->busy = false;
        pthread_cond_broadcast(&s->changed);
        if (body == NULL)
            return plain;
        s->counts.compressions++;
        keep(s, k, body, serial);
    }
}

struct shared_render_result shared_render_get(struct shared_render *s,
                                              enum metrics_format format, bool gzip)
{
    int f = format == METRICS_FORMAT_OPENMETRICS ? 1 : 0;
    pthread_mutex_lock(&s->lock);
    struct shared_render_result result = plain_body(s, f, s->serial);
    if (gzip && result.body != NULL)
        result = gzip_body(s, f, result);
    pthread_mutex_unlock(&s->lock);
    return result;
}

void shared_render_counts(struct shared_render *s, struct shared_render_counts *out)
{
    pthread_mutex_lock(&s->lock);
    *out = s->counts;
    pthread_mutex_unlock(&s->lock);
}
