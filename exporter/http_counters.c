#include "http_counters.h"

const char *const http_rejection_names[HTTP_REJECT_COUNT] = {
    [HTTP_REJECT_METHOD] = "method",
    [HTTP_REJECT_BAD_REQUEST] = "bad_request",
    [HTTP_REJECT_REQUEST_BODY] = "request_body",
    [HTTP_REJECT_IN_FLIGHT] = "in_flight",
    [HTTP_REJECT_RESPONSE_MEMORY] = "response_memory",
    [HTTP_REJECT_PER_ADDRESS] = "per_address",
    [HTTP_REJECT_HEAD_TIMEOUT] = "head_timeout",
    [HTTP_REJECT_SLOW_READ] = "slow_read",
    [HTTP_REJECT_UNAUTHORIZED] = "unauthorized",
    [HTTP_REJECT_EVICTED] = "evicted",
    [HTTP_REJECT_AUTH_BUSY] = "auth_busy",
};
