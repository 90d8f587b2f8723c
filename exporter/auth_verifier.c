/* The verifier thread and its queue (see auth_verifier.h). A ring of jobs under one mutex;
 * the thread sleeps on a condition while the ring is empty. */
#include "auth_verifier.h"

#include <pthread.h>
#include <stdlib.h>

struct auth_verifier {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct auth_job *ring;
    unsigned capacity, head, count;
    bool stopping;
    pthread_t thread;
};

static void *verifier_main(void *arg)
{
    struct auth_verifier *v = arg;
    pthread_mutex_lock(&v->lock);
    for (;;) {
        while (v->count == 0 && !v->stopping)
            pthread_cond_wait(&v->wake, &v->lock);
        if (v->count == 0)
            break; /* stopping, and everything queued has run */
        struct auth_job job = v->ring[v->head];
        v->head = (v->head + 1) % v->capacity;
        v->count--;
        pthread_mutex_unlock(&v->lock);
        job.done(job.context, job.work(job.context));
        pthread_mutex_lock(&v->lock);
    }
    pthread_mutex_unlock(&v->lock);
    return NULL;
}

struct auth_verifier *auth_verifier_create(unsigned queue_capacity)
{
    if (queue_capacity == 0)
        return NULL;
    struct auth_verifier *v = calloc(1, sizeof *v);
    if (v == NULL)
        return NULL;
    v->ring = calloc(queue_capacity, sizeof *v->ring);
    v->capacity = queue_capacity;
    if (v->ring == NULL) {
        free(v);
        return NULL;
    }
    pthread_mutex_init(&v->lock, NULL);
    pthread_cond_init(&v->wake, NULL);
    if (pthread_create(&v->thread, NULL, verifier_main, v) != 0) {
        pthread_cond_destroy(&v->wake);
        pthread_mutex_destroy(&v->lock);
        free(v->ring);
        free(v);
        return NULL;
    }
    return v;
}

void auth_verifier_destroy(struct auth_verifier *v)
{
    if (v == NULL)
        return;
    pthread_mutex_lock(&v->lock);
    v->stopping = true;
    pthread_cond_signal(&v->wake);
    pthread_mutex_unlock(&v->lock);
    pthread_join(v->thread, NULL);
    pthread_cond_destroy(&v->wake);
    pthread_mutex_destroy(&v->lock);
    free(v->ring);
    free(v);
}

bool auth_verifier_submit(struct auth_verifier *v, const struct auth_job *job)
{
    pthread_mutex_lock(&v->lock);
    bool queued = !v->stopping && v->count < v->capacity;
    if (queued) {
        v->ring[(v->head + v->count) % v->capacity] = *job;
        v->count++;
        pthread_cond_signal(&v->wake);
    }
    pthread_mutex_unlock(&v->lock);
    return queued;
}
