/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-audio-relay.c - the event relay used by threaded drivers: events
 * posted from another thread arrive on the main context, errors in order
 * and before a coalesced ready(); nothing arrives once the stream closed,
 * even when a delivery was already scheduled; the relay memory outlives
 * such a delivery (run under ASan / MALLOC_PERTURB_ to catch misuse).
 */
#include "config.h"

#include <errno.h>

#include "audio/event-relay.h"
#include "tests/audio/audio-test-util.h"

typedef struct {
    VsndEventRelay *relay;
    int n;
} PostJob;

static gpointer post_thread(gpointer data)
{
    PostJob *job = data;

    for (int i = 0; i < job->n; i++)
        vsnd_event_relay_post_ready(job->relay);
    vsnd_event_relay_post_error(job->relay, -EPIPE);
    vsnd_event_relay_post_error(job->relay, -ECONNRESET);
    vsnd_event_relay_post_error(job->relay, 0);
    vsnd_event_relay_post_ready(job->relay);
    return NULL;
}

static bool got_ready(void *data)
{
    return ((AtuEvents *)data)->ready > 0;
}

static void test_cross_thread(void)
{
    AtuEvents ev = { 0 };
    VsndEventRelay *r = vsnd_event_relay_new(&atu_events, &ev);
    PostJob job = { r, 1000 };
    GThread *t = g_thread_new("poster", post_thread, &job);

    g_thread_join(t);
    /* nothing is delivered outside the main context's dispatch */
    g_assert_cmpint(ev.ready, ==, 0);
    g_assert_cmpint(ev.errors, ==, 0);
    g_assert_true(atu_wait(got_ready, &ev, 5.0));
    atu_run_for(0.05);
    /* 1001 ready posts coalesce; errors keep their order */
    g_assert_cmpint(ev.ready, ==, 1);
    g_assert_cmpint(ev.errors, ==, 3);
    g_assert_cmpint(ev.err_history[0], ==, -EPIPE);
    g_assert_cmpint(ev.err_history[1], ==, -ECONNRESET);
    g_assert_cmpint(ev.err_history[2], ==, 0);
    vsnd_event_relay_close(r);
}

static void test_close_before_delivery(void)
{
    AtuEvents ev = { 0 };
    VsndEventRelay *r = vsnd_event_relay_new(&atu_events, &ev);

    vsnd_event_relay_post_error(r, -ENODEV);
    vsnd_event_relay_post_ready(r);
    g_assert_true(g_main_context_pending(NULL)); /* a delivery is scheduled */
    vsnd_event_relay_close(r);                   /* ... and the stream closes */
    atu_run_for(0.05);
    g_assert_cmpint(ev.ready, ==, 0);
    g_assert_cmpint(ev.errors, ==, 0);
}

/* A callback that closes the stream stops the remaining deliveries. */
typedef struct {
    VsndEventRelay *r;
    int errors, ready;
} Closer;

static void closer_error(void *opaque, int err)
{
    Closer *c = opaque;
    c->errors++;
    vsnd_event_relay_close(c->r);
}

static void closer_ready(void *opaque)
{
    ((Closer *)opaque)->ready++;
}

static const VsndAudioStreamEvents closer_events = {
    .ready = closer_ready,
    .error = closer_error,
};

static void test_close_in_callback(void)
{
    Closer c = { 0 };

    c.r = vsnd_event_relay_new(&closer_events, &c);
    vsnd_event_relay_post_error(c.r, -EPIPE);
    vsnd_event_relay_post_error(c.r, -ENODEV);
    vsnd_event_relay_post_ready(c.r);
    atu_run_for(0.05);
    g_assert_cmpint(c.errors, ==, 1);
    g_assert_cmpint(c.ready, ==, 0);
}

/*
 * Posting from a realtime thread attaches nothing to the main context:
 * attaching allocates and takes the context's lock, which the main
 * thread holds in every loop iteration (a post blocked PipeWire's
 * process() for 4 ms at a 5.3 ms graph cycle).  The relay's one source
 * exists from its creation and is the same after posts from a thread.
 */
static void test_post_attaches_nothing(void)
{
    AtuEvents ev = { 0 };
    VsndEventRelay *r = vsnd_event_relay_new(&atu_events, &ev);
    GSource *before = g_main_context_find_source_by_user_data(NULL, r);
    PostJob job = { r, 100 };
    GThread *t;

    g_assert_nonnull(before);
    t = g_thread_new("poster", post_thread, &job);
    g_thread_join(t);
    g_assert_true(g_main_context_find_source_by_user_data(NULL, r) == before);
    g_assert_true(atu_wait(got_ready, &ev, 5.0));
    g_assert_cmpint(ev.errors, ==, 3);
    /* delivered, still the same single source */
    g_assert_true(g_main_context_find_source_by_user_data(NULL, r) == before);
    vsnd_event_relay_close(r);
    g_assert_null(g_main_context_find_source_by_user_data(NULL, r));
}

/*
 * No post is lost: a poster that posts again each time the previous
 * ready() arrived (as PipeWire's process() does after each write) gets
 * every one delivered, with the delivery and the next post racing.
 */
#define PING_PONGS 20000

typedef struct {
    VsndEventRelay *relay;
    gint delivered;
} PingPong;

static void pingpong_ready(void *opaque)
{
    PingPong *pp = opaque;
    g_atomic_int_inc(&pp->delivered);
}

static const VsndAudioStreamEvents pingpong_events = { .ready = pingpong_ready };

static gpointer pingpong_thread(gpointer data)
{
    PingPong *pp = data;

    for (int i = 0; i < PING_PONGS; i++) {
        while (g_atomic_int_get(&pp->delivered) < i)
            g_thread_yield();
        vsnd_event_relay_post_ready(pp->relay);
    }
    return NULL;
}

static bool all_delivered(void *data)
{
    return g_atomic_int_get(&((PingPong *)data)->delivered) >= PING_PONGS;
}

static void test_no_post_lost(void)
{
    PingPong pp = { 0 };
    GThread *t;

    pp.relay = vsnd_event_relay_new(&pingpong_events, &pp);
    t = g_thread_new("poster", pingpong_thread, &pp);
    g_assert_true(atu_wait(all_delivered, &pp, 60.0));
    g_thread_join(t);
    g_assert_cmpint(g_atomic_int_get(&pp.delivered), ==, PING_PONGS);
    vsnd_event_relay_close(pp.relay);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/audio/relay/cross-thread-order-and-coalescing", test_cross_thread);
    g_test_add_func("/audio/relay/closed-before-delivery", test_close_before_delivery);
    g_test_add_func("/audio/relay/closed-inside-callback", test_close_in_callback);
    g_test_add_func("/audio/relay/post-attaches-nothing", test_post_attaches_nothing);
    g_test_add_func("/audio/relay/no-post-lost", test_no_post_lost);
    return g_test_run();
}
