/* The HTTP server's limits, each part alone: the response budget and its bodies, the shared
 * render (one render for many scrapes, stale when the budget is full), the connection
 * guard (per-address cap, head deadline, send rate, room near the limit), on a fake clock
 * and real sockets, and the verifier that keeps bcrypt off the connection threads. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#ifdef _WIN32
#include "test_socket_win.h"
#else
#include "test_socket_posix.h"
#endif

#include "auth_verifier.h"
#include "connection_guard.h"
#include "response_body.h"
#include "shared_render.h"

static double fake_time;
static double fake_now(void) { return fake_time; }

/* ---- budget and bodies ---- */

static struct text_buffer filled(size_t bytes)
{
    struct text_buffer b;
    text_buffer_init(&b);
    text_buffer_reserve(&b, bytes);
    memset(b.data, 'x', bytes);
    b.length = bytes;
    return b;
}

static void budget_bounds_bodies(void **state)
{
    (void)state;
    struct response_budget budget;
    response_budget_init(&budget, 10000);
    struct text_buffer a = filled(6000), b = filled(6000);
    struct response_body *first = response_body_adopt(&budget, &a, true);
    assert_non_null(first);
    assert_null(a.data);                       /* the body owns the memory now */
    size_t held = response_budget_held(&budget);
    assert_true(held >= 6000 && held <= 10000);
    assert_null(response_body_adopt(&budget, &b, true));   /* would pass the cap */
    assert_non_null(b.data);                   /* left to the caller */
    assert_false(response_budget_fits(&budget, 6000));
    response_body_ref(first);
    response_body_release(first);
    assert_int_equal(response_budget_held(&budget), held);   /* one reference left */
    response_body_release(first);
    assert_int_equal(response_budget_held(&budget), 0);
    struct response_body *second = response_body_adopt(&budget, &b, true);
    assert_non_null(second);
    /* without must_fit a body is charged even past the cap (the caller checked before) */
    struct text_buffer c = filled(9000);
    struct response_body *third = response_body_adopt(&budget, &c, false);
    assert_non_null(third);
    assert_true(response_budget_held(&budget) > 10000);
    assert_false(response_budget_fits(&budget, 0));
    response_body_release(second);
    response_body_release(third);
    assert_int_equal(response_budget_held(&budget), 0);
}

/* ---- shared render ---- */

struct fake_renderer {
    pthread_mutex_t lock;
    int renders;
    size_t size;
    unsigned delay_ms;
};

static bool fake_render(void *context, enum metrics_format format, struct text_buffer *out)
{
    struct fake_renderer *r = context;
    pthread_mutex_lock(&r->lock);
    int n = ++r->renders;
    size_t size = r->size;
    pthread_mutex_unlock(&r->lock);
    if (r->delay_ms) {
        struct timespec t = { 0, (long)r->delay_ms * 1000000L };
        nanosleep(&t, NULL);
    }
    text_buffer_reset(out);
    text_buffer_appendf(out, "# render %d format %d\n", n, (int)format);
    while (out->length < size)
        text_buffer_append_str(out, "tcpip_tcp_sent_bytes_total{process=\"a.exe\"} 1\n");
    return !out->failed;
}

static struct shared_render *make_shared(struct response_budget *budget,
                                         struct fake_renderer *r, bool fake_clock)
{
    struct shared_render_config config = {
        .budget = budget, .max_age_s = 1.0, .render = fake_render, .context = r,
        .now = fake_clock ? fake_now : NULL,
    };
    return shared_render_create(&config);
}

static void shared_render_reuses_fresh_renders(void **state)
{
    (void)state;
    struct response_budget budget;
    response_budget_init(&budget, 1u << 24);
    struct fake_renderer r = { .size = 1000 };
    pthread_mutex_init(&r.lock, NULL);
    fake_time = 100;
    struct shared_render *s = make_shared(&budget, &r, true);

    struct shared_render_result a = shared_render_get(s, METRICS_FORMAT_TEXT, false);
    assert_int_equal(a.outcome, SHARED_RENDER_MADE);
    fake_time = 100.5;
    struct shared_render_result b = shared_render_get(s, METRICS_FORMAT_TEXT, false);
    assert_int_equal(b.outcome, SHARED_RENDER_JOINED);
    assert_ptr_equal(a.body, b.body);                 /* the same bytes, not a copy */
    struct shared_render_result om = shared_render_get(s, METRICS_FORMAT_OPENMETRICS, false);
    assert_int_equal(om.outcome, SHARED_RENDER_MADE); /* each format its own render */
    assert_int_equal(r.renders, 2);
    fake_time = 101.2;                                /* older than a second: render again */
    struct shared_render_result c = shared_render_get(s, METRICS_FORMAT_TEXT, false);
    assert_int_equal(c.outcome, SHARED_RENDER_MADE);
    assert_ptr_not_equal(c.body, a.body);
    assert_int_equal(r.renders, 3);
    /* the old body lives on while a response holds it */
    assert_memory_equal(a.body->data, "# render 1 ", 11);
    response_body_release(a.body);
    response_body_release(b.body);
    response_body_release(c.body);
    response_body_release(om.body);
    shared_render_destroy(s);
    assert_int_equal(response_budget_held(&budget), 0);
}

static void shared_render_compresses_once(void **state)
{
    (void)state;
    struct response_budget budget;
    response_budget_init(&budget, 1u << 24);
    struct fake_renderer r = { .size = 200000 };
    pthread_mutex_init(&r.lock, NULL);
    fake_time = 5;
    struct shared_render *s = make_shared(&budget, &r, true);
    struct shared_render_result g1 = shared_render_get(s, METRICS_FORMAT_TEXT, true);
    struct shared_render_result g2 = shared_render_get(s, METRICS_FORMAT_TEXT, true);
    struct shared_render_result p = shared_render_get(s, METRICS_FORMAT_TEXT, false);
    assert_true(g1.gzip && g2.gzip && !p.gzip);
    assert_ptr_equal(g1.body, g2.body);
    assert_true(g1.body->length < p.body->length / 10);   /* repetitive text */
    assert_memory_equal(g1.body->data, "\x1f\x8b", 2);     /* a gzip member */
    struct shared_render_counts counts;
    shared_render_counts(s, &counts);
    assert_int_equal(counts.renders, 1);
    assert_int_equal(counts.compressions, 1);
    response_body_release(g1.body);
    response_body_release(g2.body);
    response_body_release(p.body);
    shared_render_destroy(s);
}

/* With the budget held by older renders, scrapes get the latest render, never nothing. */
static void shared_render_serves_stale_when_full(void **state)
{
    (void)state;
    struct response_budget budget;
    response_budget_init(&budget, 300000);
    struct fake_renderer r = { .size = 200000 };
    pthread_mutex_init(&r.lock, NULL);
    fake_time = 0;
    struct shared_render *s = make_shared(&budget, &r, true);
    struct shared_render_result first = shared_render_get(s, METRICS_FORMAT_TEXT, false);
    assert_int_equal(first.outcome, SHARED_RENDER_MADE);
    fake_time = 2;
    struct shared_render_result again = shared_render_get(s, METRICS_FORMAT_TEXT, false);
    assert_int_equal(again.outcome, SHARED_RENDER_STALE);   /* a second one would not fit */
    assert_ptr_equal(again.body, first.body);
    struct shared_render_result om = shared_render_get(s, METRICS_FORMAT_OPENMETRICS, false);
    assert_int_equal(om.outcome, SHARED_RENDER_MADE);        /* unknown size: tried */
    fake_time = 4;
    struct shared_render_result none = shared_render_get(s, METRICS_FORMAT_OPENMETRICS, false);
    assert_int_equal(none.outcome, SHARED_RENDER_STALE);
    response_body_release(none.body);
    response_body_release(om.body);
    response_body_release(again.body);
    response_body_release(first.body);
    shared_render_destroy(s);
    assert_int_equal(response_budget_held(&budget), 0);

    response_budget_init(&budget, 100);   /* nothing fits and nothing was rendered */
    struct text_buffer hog = filled(200);
    struct response_body *held = response_body_adopt(&budget, &hog, false);
    s = make_shared(&budget, &r, true);
    struct shared_render_result refused = shared_render_get(s, METRICS_FORMAT_TEXT, false);
    assert_int_equal(refused.outcome, SHARED_RENDER_NO_ROOM);
    assert_null(refused.body);
    shared_render_destroy(s);
    response_body_release(held);
}

/* A cap smaller than one render: the kept render is replaced once no client holds it. */
static void shared_render_small_cap_still_refreshes(void **state)
{
    (void)state;
    struct response_budget budget;
    response_budget_init(&budget, 1000);
    struct fake_renderer r = { .size = 5000 };
    pthread_mutex_init(&r.lock, NULL);
    fake_time = 0;
    struct shared_render *s = make_shared(&budget, &r, true);
    for (int i = 0; i < 3; i++) {
        fake_time += 2;
        struct shared_render_result got = shared_render_get(s, METRICS_FORMAT_TEXT, false);
        assert_int_equal(got.outcome, SHARED_RENDER_MADE);
        response_body_release(got.body);
    }
    assert_int_equal(r.renders, 3);
    shared_render_destroy(s);
}

struct scrape_thread {
    struct shared_render *shared;
    struct response_body *body;
};

static void *scrape(void *arg)
{
    struct scrape_thread *t = arg;
    t->body = shared_render_get(t->shared, METRICS_FORMAT_TEXT, true).body;
    return NULL;
}

/* Sixteen concurrent scrapes: one render, one compression, one body for all. */
static void shared_render_one_render_for_sixteen(void **state)
{
    (void)state;
    struct response_budget budget;
    response_budget_init(&budget, 1u << 26);
    struct fake_renderer r = { .size = 500000, .delay_ms = 50 };
    pthread_mutex_init(&r.lock, NULL);
    struct shared_render *s = make_shared(&budget, &r, false);
    pthread_t threads[16];
    struct scrape_thread args[16];
    for (int i = 0; i < 16; i++) {
        args[i].shared = s;
        assert_int_equal(pthread_create(&threads[i], NULL, scrape, &args[i]), 0);
    }
    for (int i = 0; i < 16; i++)
        pthread_join(threads[i], NULL);
    struct shared_render_counts counts;
    shared_render_counts(s, &counts);
    assert_int_equal(counts.renders, 1);
    assert_int_equal(counts.compressions, 1);
    for (int i = 0; i < 16; i++) {
        assert_ptr_equal(args[i].body, args[0].body);
        response_body_release(args[i].body);
    }
    shared_render_destroy(s);
}

/* ---- connection guard ---- */

/* A connected TCP pair on loopback: [0] plays the server's socket, [1] the client's. */
static void socket_pair(test_socket pair[2])
{
    struct sockaddr_in address = { .sin_family = AF_INET };
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    test_socket listener = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(bind(listener, (struct sockaddr *)&address, sizeof address), 0);
    assert_int_equal(listen(listener, 1), 0);
    assert_int_equal(getsockname(listener, (struct sockaddr *)&address, &length), 0);
    pair[1] = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(pair[1], (struct sockaddr *)&address, sizeof address), 0);
    pair[0] = accept(listener, NULL, NULL);
    close_test_socket(listener);
}

/* Whether the client side sees the end of the stream within a second. */
static bool was_cut(test_socket pair[2])
{
    fd_set readable;
    FD_ZERO(&readable);
    FD_SET(pair[1], &readable);
    struct timeval wait = { 1, 0 };
    if (select((int)pair[1] + 1, &readable, NULL, NULL, &wait) != 1)
        return false;
    char byte;
    return recv(pair[1], &byte, 1, 0) == 0;
}

static void close_pair(test_socket pair[2])
{
    close_test_socket(pair[0]);
    close_test_socket(pair[1]);
}

static struct connection_guard *make_guard(unsigned cap)
{
    struct connection_guard_config config = {
        .per_address_cap = cap, .head_timeout_s = 5, .idle_timeout_s = 10,
        .min_send_rate = 1000, .send_grace_s = 5, .now = fake_now, .no_watchdog = true,
    };
    return connection_guard_create(&config);
}

static const uint8_t address_a[4] = { 127, 0, 0, 2 };
static const uint8_t address_a_mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
                                              127, 0, 0, 2 };
static const uint8_t address_b[4] = { 127, 0, 0, 3 };

static void guard_caps_each_address(void **state)
{
    (void)state;
    fake_time = 0;
    struct connection_guard *g = make_guard(2);
    test_socket p[4][2];
    struct guarded_connection *c[4];
    for (int i = 0; i < 4; i++)
        socket_pair(p[i]);
    c[0] = connection_guard_opened(g, p[0][0], address_a, 4);
    c[1] = connection_guard_opened(g, p[1][0], address_a_mapped, 16);   /* the same client */
    c[2] = connection_guard_opened(g, p[2][0], address_a, 4);           /* third: cut */
    c[3] = connection_guard_opened(g, p[3][0], address_b, 4);           /* another client */
    assert_true(was_cut(p[2]));
    struct connection_guard_counts counts;
    connection_guard_counts(g, &counts);
    assert_int_equal(counts.open, 4);
    assert_int_equal(counts.refused_per_address, 1);
    connection_guard_closed(g, c[2]);
    connection_guard_closed(g, c[0]);                  /* frees a place for address a */
    socket_pair(p[2]);
    c[2] = connection_guard_opened(g, p[2][0], address_a, 4);
    connection_guard_counts(g, &counts);
    assert_int_equal(counts.refused_per_address, 1);
    assert_int_equal(connection_guard_sweep(g), 0);    /* nothing past a deadline yet */
    for (int i = 1; i < 4; i++)
        connection_guard_closed(g, c[i]);
    for (int i = 0; i < 4; i++)
        close_pair(p[i]);
    connection_guard_destroy(g);
}

static void guard_deadlines(void **state)
{
    (void)state;
    fake_time = 0;
    struct connection_guard *g = make_guard(0);
    test_socket head[2], busy[2], slow[2], kept[2];
    socket_pair(head);
    socket_pair(busy);
    socket_pair(slow);
    socket_pair(kept);
    struct guarded_connection *h = connection_guard_opened(g, head[0], address_a, 4);
    struct guarded_connection *b = connection_guard_opened(g, busy[0], address_a, 4);
    struct guarded_connection *s = connection_guard_opened(g, slow[0], address_a, 4);
    struct guarded_connection *k = connection_guard_opened(g, kept[0], address_a, 4);
    connection_guard_head_done(g, b);                  /* being answered: no deadline */
    connection_guard_head_done(g, s);
    connection_guard_sending(g, s, 10000);             /* 5 s grace + 10000 B / 1000 B/s */
    connection_guard_head_done(g, k);
    connection_guard_sending(g, k, 10);
    connection_guard_request_done(g, k);               /* kept alive: 10 s idle + 5 s head */
    fake_time = 4.9;
    assert_int_equal(connection_guard_sweep(g), 0);
    fake_time = 5.1;
    assert_int_equal(connection_guard_sweep(g), 1);    /* the head that did not come */
    assert_true(was_cut(head));
    fake_time = 14.9;
    assert_int_equal(connection_guard_sweep(g), 0);
    fake_time = 15.1;
    assert_int_equal(connection_guard_sweep(g), 2);    /* the slow reader, the idle one */
    assert_true(was_cut(slow));
    assert_true(was_cut(kept));
    fake_time = 1000;
    assert_int_equal(connection_guard_sweep(g), 0);    /* cut once; busy never */
    struct connection_guard_counts counts;
    connection_guard_counts(g, &counts);
    assert_int_equal(counts.head_timeouts, 2);
    assert_int_equal(counts.slow_sends, 1);
    connection_guard_closed(g, h);
    connection_guard_closed(g, b);
    connection_guard_closed(g, s);
    connection_guard_closed(g, k);
    close_pair(head);
    close_pair(busy);
    close_pair(slow);
    close_pair(kept);
    connection_guard_destroy(g);
}

/* Two addresses of one IPv6 /64 are one client; the next /64 is another. */
static void guard_caps_ipv6_by_prefix(void **state)
{
    (void)state;
    fake_time = 0;
    struct connection_guard *g = make_guard(2);
    uint8_t v6[4][16] = {
        { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1 },
        { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0xde, 0xad, 0, 0, 0, 0, 0, 2 },
        { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0xbe, 0xef, 0, 0, 0, 0, 0, 3 }, /* third */
        { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1 },      /* next /64 */
    };
    test_socket p[4][2];
    struct guarded_connection *c[4];
    for (int i = 0; i < 4; i++) {
        socket_pair(p[i]);
        c[i] = connection_guard_opened(g, p[i][0], v6[i], 16);
    }
    assert_true(was_cut(p[2]));
    struct connection_guard_counts counts;
    connection_guard_counts(g, &counts);
    assert_int_equal(counts.refused_per_address, 1);
    for (int i = 0; i < 4; i++) {
        connection_guard_closed(g, c[i]);
        close_pair(p[i]);
    }
    connection_guard_destroy(g);
}

/* 16 places, of which the last 2 are kept free; heads may be cut after 0.5 s. */
static struct connection_guard *make_limited_guard(void)
{
    struct connection_guard_config config = {
        .connection_limit = 16, .evict_after_s = 0.5, .head_timeout_s = 5,
        .idle_timeout_s = 10, .now = fake_now, .no_watchdog = true,
    };
    return connection_guard_create(&config);
}

/* Connection i of a test, from its own address in 127.0.subnet.0/24, opened now. */
static struct guarded_connection *open_numbered(struct connection_guard *g, test_socket pair[2],
                                               uint8_t subnet, int i)
{
    uint8_t address[4] = { 127, 0, subnet, (uint8_t)i };
    socket_pair(pair);
    return connection_guard_opened(g, pair[0], address, 4);
}

/* Near the limit (16 places: the last 2 kept free), each newcomer cuts the head that has
 * waited longest, once it has waited evict_after_s; never one being answered or sending. */
static void guard_evicts_waiting_heads_near_the_limit(void **state)
{
    (void)state;
    fake_time = 0;
    struct connection_guard *g = make_limited_guard();
    enum { N = 17 };
    test_socket p[N][2];
    struct guarded_connection *c[N];
    for (int i = 0; i < 14; i++) {      /* 14 open: 2 of 16 free, not yet near */
        fake_time = i * 0.1;
        c[i] = open_numbered(g, p[i], 1, i);
    }
    connection_guard_head_done(g, c[0]); /* the oldest is being answered: never cut */
    struct connection_guard_counts counts;
    connection_guard_counts(g, &counts);
    assert_int_equal(counts.evicted, 0);
    fake_time = 1.5;                     /* 15th: near the limit; c[1] (0.1 s) waited longest */
    c[14] = open_numbered(g, p[14], 1, 14);
    assert_true(was_cut(p[1]));
    connection_guard_counts(g, &counts);
    assert_int_equal(counts.evicted, 1);
    connection_guard_closed(g, c[1]);
    c[1] = NULL;
    close_pair(p[1]);
    fake_time = 1.55;                    /* 15 open again: the next waited longest is c[2] */
    c[15] = open_numbered(g, p[15], 1, 15);
    assert_true(was_cut(p[2]));
    /* The rest answered one request at 1.8 and wait for the next head: at 2.0 none has
     * waited 0.5 s, so the newcomer cuts nobody. */
    fake_time = 1.8;
    for (int i = 3; i < 16; i++) {
        connection_guard_head_done(g, c[i]);
        connection_guard_request_done(g, c[i]);
    }
    fake_time = 2.0;
    c[16] = open_numbered(g, p[16], 1, 16);
    connection_guard_counts(g, &counts);
    assert_int_equal(counts.evicted, 2);
    assert_int_equal(counts.head_timeouts, 0);
    for (int i = 0; i < N; i++) {
        if (i == 1)
            continue;
        connection_guard_closed(g, c[i]);
        close_pair(p[i]);
    }
    connection_guard_destroy(g);
}

/* Filled at once (every head too young to cut), the limit is reached and libmicrohttpd
 * accepts nothing more: the sweep makes the room, cutting every head that has waited (the
 * backlog behind them is accepted in order, a scrape last), none that has not. */
static void guard_sweep_makes_room_at_the_limit(void **state)
{
    (void)state;
    fake_time = 0;
    struct connection_guard *g = make_limited_guard();
    enum { N = 16 };
    test_socket p[N][2];
    struct guarded_connection *c[N];
    for (int i = 0; i < N; i++) {
        fake_time = i * 0.01;
        c[i] = open_numbered(g, p[i], 2, i);
    }
    assert_int_equal(connection_guard_sweep(g), 0); /* nobody has waited 0.5 s */
    fake_time = 0.605;                 /* c[0..10] have waited 0.5 s, c[11..15] not */
    assert_int_equal(connection_guard_sweep(g), 11);
    assert_true(was_cut(p[0]));
    assert_true(was_cut(p[10]));
    fake_time = 1.0;                   /* 5 left: far from the limit, nothing cut */
    assert_int_equal(connection_guard_sweep(g), 0);
    struct connection_guard_counts counts;
    connection_guard_counts(g, &counts);
    assert_int_equal(counts.evicted, 11);
    assert_int_equal(counts.head_timeouts, 0);
    for (int i = 0; i < N; i++) {
        connection_guard_closed(g, c[i]);
        close_pair(p[i]);
    }
    connection_guard_destroy(g);
}

/* The real watchdog thread cuts on the real clock. */
static void guard_watchdog_runs(void **state)
{
    (void)state;
    struct connection_guard_config config = { .head_timeout_s = 0.2, .idle_timeout_s = 1 };
    struct connection_guard *g = connection_guard_create(&config);
    assert_non_null(g);
    test_socket p[2];
    socket_pair(p);
    struct guarded_connection *c = connection_guard_opened(g, p[0], address_b, 4);
    assert_true(was_cut(p));
    connection_guard_closed(g, c);
    close_pair(p);
    connection_guard_destroy(g);
}

/* ---- the verifier ---- */

struct verifier_log {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    bool release;          /* a blocking job may finish */
    int started, done;
    int order[8];
    bool answers[8];
};

struct verifier_job {
    struct verifier_log *log;
    int id;
    bool answer, blocks;
};

static bool verifier_work(void *context)
{
    struct verifier_job *j = context;
    pthread_mutex_lock(&j->log->lock);
    j->log->started++;
    pthread_cond_broadcast(&j->log->changed);
    while (j->blocks && !j->log->release)
        pthread_cond_wait(&j->log->changed, &j->log->lock);
    pthread_mutex_unlock(&j->log->lock);
    return j->answer;
}

static void verifier_done(void *context, bool answer)
{
    struct verifier_job *j = context;
    pthread_mutex_lock(&j->log->lock);
    j->log->order[j->log->done] = j->id;
    j->log->answers[j->log->done] = answer;
    j->log->done++;
    pthread_mutex_unlock(&j->log->lock);
}

static void verifier_log_init(struct verifier_log *log)
{
    memset(log, 0, sizeof *log);
    pthread_mutex_init(&log->lock, NULL);
    pthread_cond_init(&log->changed, NULL);
}

/* Jobs run one at a time, in order, each answer to its own done; destroy runs the rest. */
static void verifier_runs_in_order(void **state)
{
    (void)state;
    struct verifier_log log;
    verifier_log_init(&log);
    struct auth_verifier *v = auth_verifier_create(8);
    assert_non_null(v);
    struct verifier_job jobs[5];
    for (int i = 0; i < 5; i++) {
        jobs[i] = (struct verifier_job){&log, i, i % 2 == 0, false};
        struct auth_job job = {verifier_work, verifier_done, &jobs[i]};
        assert_true(auth_verifier_submit(v, &job));
    }
    auth_verifier_destroy(v);
    assert_int_equal(log.done, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(log.order[i], i);
        assert_int_equal(log.answers[i], i % 2 == 0);
    }
}

/* While one job runs, the queue holds its capacity and refuses the next at once. */
static void verifier_refuses_when_full(void **state)
{
    (void)state;
    struct verifier_log log;
    verifier_log_init(&log);
    struct auth_verifier *v = auth_verifier_create(2);
    struct verifier_job jobs[4] = {
        {&log, 0, true, true}, {&log, 1, false, false}, {&log, 2, true, false},
        {&log, 3, true, false},
    };
    struct auth_job job = {verifier_work, verifier_done, &jobs[0]};
    assert_true(auth_verifier_submit(v, &job));
    pthread_mutex_lock(&log.lock);
    while (log.started == 0)      /* the first is running, out of the queue */
        pthread_cond_wait(&log.changed, &log.lock);
    pthread_mutex_unlock(&log.lock);
    for (int i = 1; i <= 3; i++) {
        job.context = &jobs[i];
        bool queued = auth_verifier_submit(v, &job);
        assert_int_equal(queued, i <= 2);  /* two queued, the third refused */
    }
    pthread_mutex_lock(&log.lock);
    log.release = true;
    pthread_cond_broadcast(&log.changed);
    pthread_mutex_unlock(&log.lock);
    auth_verifier_destroy(v);
    assert_int_equal(log.done, 3);
    assert_int_equal(log.order[2], 2);
    assert_false(log.answers[1]);
}

int main(void)
{
    test_sockets_start();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(budget_bounds_bodies),
        cmocka_unit_test(shared_render_reuses_fresh_renders),
        cmocka_unit_test(shared_render_compresses_once),
        cmocka_unit_test(shared_render_serves_stale_when_full),
        cmocka_unit_test(shared_render_small_cap_still_refreshes),
        cmocka_unit_test(shared_render_one_render_for_sixteen),
        cmocka_unit_test(guard_caps_each_address),
        cmocka_unit_test(guard_caps_ipv6_by_prefix),
        cmocka_unit_test(guard_evicts_waiting_heads_near_the_limit),
        cmocka_unit_test(guard_sweep_makes_room_at_the_limit),
        cmocka_unit_test(guard_deadlines),
        cmocka_unit_test(guard_watchdog_runs),
        cmocka_unit_test(verifier_runs_in_order),
        cmocka_unit_test(verifier_refuses_when_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
