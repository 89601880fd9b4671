/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * event-relay.c - see event-relay.h.
 *
 * State under one mutex: closed, ready pending, queued errors, whether a
 * delivery is scheduled.  The delivery source holds a reference.  On the
 * main thread it takes the queue under the lock and calls out without it,
 * re-checking "closed" before each call because a callback may close the
 * stream (close also runs on the main thread, so no other race exists).
 */
#include "config.h"

#define G_LOG_DOMAIN "vsnd-audio"

#include <pthread.h>
#include <string.h>

#include "event-relay.h"


#define RELAY_MAX_ERRORS 16 /* older ones are dropped if nobody delivers */

struct VsndEventRelay {
    gint ref;
    pthread_mutex_t lock;   /* plain pthread: visible to ThreadSanitizer */
    bool closed;
    bool scheduled;
    bool ready;
    int nerrors;
    int errors[RELAY_MAX_ERRORS];
    const VsndAudioStreamEvents *events;
    void *opaque;
};

static void relay_unref(gpointer data)
{
    VsndEventRelay *r = data;

    if (g_atomic_int_dec_and_test(&r->ref)) {
        pthread_mutex_destroy(&r->lock);
        g_free(r);
    }
}

static bool relay_closed(VsndEventRelay *r)
{
    bool closed;

    pthread_mutex_lock(&r->lock);
    closed = r->closed;
    pthread_mutex_unlock(&r->lock);
    return closed;
}

static gboolean relay_deliver(gpointer data)
{
    VsndEventRelay *r = data;
    int errors[RELAY_MAX_ERRORS];
    int nerrors;
    bool ready;

    pthread_mutex_lock(&r->lock);
    r->scheduled = false;
    nerrors = r->nerrors;
    memcpy(errors, r->errors, sizeof(errors));
    ready = r->ready;
    r->nerrors = 0;
    r->ready = false;
    pthread_mutex_unlock(&r->lock);

    for (int i = 0; i < nerrors; i++) {
        if (relay_closed(r))
            return G_SOURCE_REMOVE;
        if (r->events->error)
            r->events->error(r->opaque, errors[i]);
    }
    if (ready && !relay_closed(r) && r->events->ready)
        r->events->ready(r->opaque);
    return G_SOURCE_REMOVE;
}

/* Called with the lock held. */
static void relay_schedule(VsndEventRelay *r)
{
    GSource *src;

    if (r->scheduled)
        return;
    r->scheduled = true;
    g_atomic_int_inc(&r->ref);
    src = g_idle_source_new();
    g_source_set_priority(src, G_PRIORITY_DEFAULT);
    g_source_set_name(src, "vsnd-audio-event");
    g_source_set_callback(src, relay_deliver, r, relay_unref);
    g_source_attach(src, NULL);
    g_source_unref(src);
}

VsndEventRelay *vsnd_event_relay_new(const VsndAudioStreamEvents *events, void *opaque)
{
    VsndEventRelay *r = g_new0(VsndEventRelay, 1);

    r->ref = 1;
    pthread_mutex_init(&r->lock, NULL);
    r->events = events;
    r->opaque = opaque;
    return r;
}

void vsnd_event_relay_post_ready(VsndEventRelay *r)
{
    pthread_mutex_lock(&r->lock);
    if (!r->closed) {
        r->ready = true;
        relay_schedule(r);
    }
    pthread_mutex_unlock(&r->lock);
}

void vsnd_event_relay_post_error(VsndEventRelay *r, int err)
{
    pthread_mutex_lock(&r->lock);
    if (!r->closed) {
        if (r->nerrors == RELAY_MAX_ERRORS) {
            memmove(r->errors, r->errors + 1, sizeof(r->errors) - sizeof(r->errors[0]));
            r->nerrors--;
        }
        r->errors[r->nerrors++] = err;
        relay_schedule(r);
    }
    pthread_mutex_unlock(&r->lock);
}

void vsnd_event_relay_cancel_ready(VsndEventRelay *r)
{
    pthread_mutex_lock(&r->lock);
    r->ready = false;
    pthread_mutex_unlock(&r->lock);
}

void vsnd_event_relay_close(VsndEventRelay *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->closed = true;
    pthread_mutex_unlock(&r->lock);
    relay_unref(r);
}
