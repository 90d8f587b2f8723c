/* The bytes of HTTP responses, and the cap on how many of them are held at once.
 *
 * A body is immutable once made and reference-counted: one render of /metrics is sent to
 * every scrape that arrives while it is fresh, straight from this memory (no copy per
 * client), and freed when the last response that uses it is gone. Every body is charged to
 * a budget, so the memory held for slow clients is bounded however many there are. */
#ifndef TCPIP_EXPORTER_RESPONSE_BODY_H
#define TCPIP_EXPORTER_RESPONSE_BODY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include "text_buffer.h"

struct response_budget {
    atomic_size_t held;      /* bytes of the bodies alive now */
    size_t cap;
};

void response_budget_init(struct response_budget *budget, size_t cap);
/* Whether `bytes` more would stay within the cap (a hint: others may charge meanwhile). */
bool response_budget_fits(const struct response_budget *budget, size_t bytes);
size_t response_budget_held(const struct response_budget *budget);
/* Takes `bytes` of the cap for an answer not made yet (false when they do not fit), so that
 * the memory it takes while it is made is counted too; response_budget_give_back returns
 * them once the answer is a body, charged on its own. */
bool response_budget_reserve(struct response_budget *budget, size_t bytes);
void response_budget_give_back(struct response_budget *budget, size_t bytes);

struct response_body {
    atomic_uint refs;
    struct response_budget *budget;
    char *data;
    size_t length;
    size_t charged;          /* what was added to the budget: the allocation's size */
};

/* Takes buffer's memory (leaving it empty) into a new body with one reference, charged to
 * budget. With `must_fit`, NULL when the body would pass the cap (buffer left as it was);
 * without, the body is charged all the same (the caller checked the room beforehand).
 * NULL also when out of memory. */
struct response_body *response_body_adopt(struct response_budget *budget,
                                          struct text_buffer *buffer, bool must_fit);
/* The same for malloc'ed bytes of `size` allocated bytes (data is freed with the body, or
 * left to the caller when NULL is returned). */
struct response_body *response_body_wrap(struct response_budget *budget, char *data,
                                         size_t length, size_t size, bool must_fit);
struct response_body *response_body_ref(struct response_body *body);
/* Drops one reference; the last one frees the body and gives its bytes back to the budget. */
void response_body_release(struct response_body *body);

#endif
