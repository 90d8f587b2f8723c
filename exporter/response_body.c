/* Reference-counted response bodies charged to a memory budget (see response_body.h). */
#include "response_body.h"

#include <stdlib.h>

void response_budget_init(struct response_budget *budget, size_t cap)
{
    atomic_init(&budget->held, 0);
    budget->cap = cap;
}

bool response_budget_fits(const struct response_budget *budget, size_t bytes)
{
    size_t held = atomic_load(&budget->held);
    return held <= budget->cap && bytes <= budget->cap - held;
}

size_t response_budget_held(const struct response_budget *budget)
{
    return atomic_load(&budget->held);
}

/* Adds bytes unless that passes the cap; a compare-and-swap loop, so that concurrent
 * requests cannot all see room for one more and together pass it. */
static bool budget_take(struct response_budget *budget, size_t bytes)
{
    size_t held = atomic_load(&budget->held);
    do {
        if (held > budget->cap || bytes > budget->cap - held)
            return false;
    } while (!atomic_compare_exchange_weak(&budget->held, &held, held + bytes));
    return true;
}

bool response_budget_reserve(struct response_budget *budget, size_t bytes)
{
    return budget_take(budget, bytes);
}

void response_budget_give_back(struct response_budget *budget, size_t bytes)
{
    atomic_fetch_sub(&budget->held, bytes);
}

struct response_body *response_body_wrap(struct response_budget *budget, char *data,
                                         size_t length, size_t size, bool must_fit)
{
    if (must_fit) {
        if (!budget_take(budget, size))
            return NULL;
    } else {
        atomic_fetch_add(&budget->held, size);
    }
    struct response_body *body = malloc(sizeof *body);
    if (body == NULL) {
        atomic_fetch_sub(&budget->held, size);
        return NULL;
    }
    atomic_init(&body->refs, 1);
    body->budget = budget;
    body->data = data;
    body->length = length;
    body->charged = size;
    return body;
}

/* A buffer grown by doubling may be up to twice its contents: give the slack back before
 * the body is held for as long as its slowest reader takes. */
static void shrink_to_fit(struct text_buffer *buffer)
{
    if (buffer->data == NULL || buffer->capacity - buffer->length <= buffer->length / 8 + 1)
        return;
    char *smaller = realloc(buffer->data, buffer->length + 1);
    if (smaller != NULL) {
        buffer->data = smaller;
        buffer->capacity = buffer->length + 1;
    }
}

struct response_body *response_body_adopt(struct response_budget *budget,
                                          struct text_buffer *buffer, bool must_fit)
{
    if (buffer->failed)
        return NULL;
    shrink_to_fit(buffer);
    struct response_body *body =
        response_body_wrap(budget, buffer->data, buffer->length, buffer->capacity, must_fit);
    if (body != NULL)
        text_buffer_init(buffer);
    return body;
}

struct response_body *response_body_ref(struct response_body *body)
{
    atomic_fetch_add_explicit(&body->refs, 1, memory_order_relaxed);
    return body;
}

void response_body_release(struct response_body *body)
{
    if (body == NULL)
        return;
    /* acq_rel: the thread that frees must see every other user's last access done. */
    if (atomic_fetch_sub_explicit(&body->refs, 1, memory_order_acq_rel) != 1)
        return;
    atomic_fetch_sub(&body->budget->held, body->charged);
    free(body->data);
    free(body);
}
