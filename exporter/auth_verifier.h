/* Slow checks off the connection threads. A bcrypt takes tens of milliseconds at cost 10
 * and ten times that at cost 13; run on one of libmicrohttpd's few connection threads,
 * each wrong password would stall every connection that thread serves, a cached scrape
 * among them. So the server suspends the connection, queues the check here, and resumes
 * it when done: one verifier thread, one check at a time (guessing stays as slow as
 * bcrypt makes it and takes one core at most), and a bounded queue: when it is full the
 * request is refused at once rather than waited for. */
#ifndef TCPIP_EXPORTER_AUTH_VERIFIER_H
#define TCPIP_EXPORTER_AUTH_VERIFIER_H

#include <stdbool.h>

struct auth_verifier;

/* A check: work(context) runs on the verifier's thread and gives the answer, then
 * done(context, answer) runs there too. */
struct auth_job {
    bool (*work)(void *context);
    void (*done)(void *context, bool answer);
    void *context;
};

/* NULL when out of memory or when the thread cannot start. */
struct auth_verifier *auth_verifier_create(unsigned queue_capacity);
/* Runs what is queued (every done is called), then stops the thread. */
void auth_verifier_destroy(struct auth_verifier *verifier);

/* False when the queue is full or the verifier is stopping: nothing was queued. */
bool auth_verifier_submit(struct auth_verifier *verifier, const struct auth_job *job);

#endif
