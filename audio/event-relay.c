/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * event-relay.c - see event-relay.h.
 *
 * Posting must be safe on a realtime audio thread (PipeWire's process()
 * posts ready() every few graph cycles): no allocation, no lock that a
 * normal-priority thread holds for long.  The first relay scheduled an
 * idle source per delivery; g_source_attach() allocates and takes the
 * main context's lock, which the main thread holds in every loop
 * iteration, and a main thread preempted there kept process() waiting:
 * measured 4.0 ms inside one post at a 5.3 ms graph cycle (a 256-frame
 * quantum), and PipeWire logged "client too slow" for the stream.
 *
 * So: ready is an atomic flag, the wake-up an eventfd whose source is
 * attached once, on the main thread, when the relay is made.  Errors are
 * rare and keep their order in a small queue under a priority-inheriting
 * mutex (a realtime poster waiting for the main thread lends it its
 * priority for the few instructions the main thread holds it).  Delivery
 * runs on the main thread, takes errors first, then the ready flag, and
 * re-checks "closed" before each call because a callback may close the
 * stream (close also runs on the main thread, so no other race exists).
 * The eventfd source holds a reference; close destroys it.
 */
#include "config.h"

#define G_LOG_DOMAIN "vsnd-audio"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <glib-unix.h>

#include "event-relay.h"

#define RELAY_MAX_ERRORS 16 /* older ones are dropped if nobody delivers */

struct VsndEventRelay {
    gint ref;
    gint closed;            /* atomic */
    gint ready;             /* atomic: a ready() is pending */
    int efd;                /* wakes the main thread */
    GSource *source;        /* main thread only */
    pthread_mutex_t lock;   /* errors, nerrors */
    int nerrors;
    int errors[RELAY_MAX_ERRORS];
    const VsndAudioStreamEvents *events;
    void *opaque;
};

static void relay_unref(gpointer data)
{
    VsndEventRelay *r = data;

    if (g_atomic_int_dec_and_test(&r->ref)) {
        if (r->efd >= 0)
            close(r->efd);
        pthread_mutex_destroy(&r->lock);
        g_free(r);
    }
}

static bool relay_closed(VsndEventRelay *r)
{
    return g_atomic_int_get(&r->closed) != 0;
}

static void relay_wake(VsndEventRelay *r)
{
    uint64_t one = 1;

    /* EAGAIN: the counter is full, the main thread is woken anyway. */
    if (write(r->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        g_warning("event relay: cannot wake the main thread: %s", g_strerror(errno));
}

static gboolean relay_deliver(gint fd, GIOCondition cond, gpointer data)
{
    VsndEventRelay *r = data;
    int errors[RELAY_MAX_ERRORS];
    uint64_t count;
    int nerrors;

    (void)cond;
    if (read(fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
        g_warning("event relay: cannot read its eventfd: %s", g_strerror(errno));
    pthread_mutex_lock(&r->lock);
    nerrors = r->nerrors;
    memcpy(errors, r->errors, sizeof(errors));
    r->nerrors = 0;
    pthread_mutex_unlock(&r->lock);

    for (int i = 0; i < nerrors; i++) {
        if (relay_closed(r))
            return G_SOURCE_CONTINUE;
        if (r->events->error)
            r->events->error(r->opaque, errors[i]);
    }
    /* Taken after the errors: a ready() posted behind an error is
     * delivered behind it. */
    if (!relay_closed(r) && g_atomic_int_compare_and_exchange(&r->ready, 1, 0) &&
        r->events->ready)
        r->events->ready(r->opaque);
    return G_SOURCE_CONTINUE;
}

VsndEventRelay *vsnd_event_relay_new(const VsndAudioStreamEvents *events, void *opaque)
{
    VsndEventRelay *r = g_new0(VsndEventRelay, 1);
    pthread_mutexattr_t attr;

    r->ref = 1;
    r->events = events;
    r->opaque = opaque;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setprotocol(&attr, PTHREAD_PRIO_INHERIT);
    pthread_mutex_init(&r->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (r->efd < 0) {
        /* Out of descriptors: the stream still opens; its events are
         * lost, which the stream manager's timers ride out. */
        g_warning("event relay: no eventfd: %s", g_strerror(errno));
        return r;
    }
    r->source = g_unix_fd_source_new(r->efd, G_IO_IN);
    g_source_set_name(r->source, "vsnd-audio-event");
    g_source_set_callback(r->source, G_SOURCE_FUNC(relay_deliver), r, relay_unref);
    g_atomic_int_inc(&r->ref);
    g_source_attach(r->source, NULL);
    return r;
}

void vsnd_event_relay_post_ready(VsndEventRelay *r)
{
    if (relay_closed(r) || r->efd < 0)
        return;
    /* Only the 0 -> 1 edge needs a wake-up: posts coalesce. */
    if (g_atomic_int_compare_and_exchange(&r->ready, 0, 1))
        relay_wake(r);
}

void vsnd_event_relay_post_error(VsndEventRelay *r, int err)
{
    if (relay_closed(r) || r->efd < 0)
        return;
    pthread_mutex_lock(&r->lock);
    if (r->nerrors == RELAY_MAX_ERRORS) {
        memmove(r->errors, r->errors + 1, sizeof(r->errors) - sizeof(r->errors[0]));
        r->nerrors--;
    }
    r->errors[r->nerrors++] = err;
    pthread_mutex_unlock(&r->lock);
    relay_wake(r);
}

void vsnd_event_relay_cancel_ready(VsndEventRelay *r)
{
    g_atomic_int_set(&r->ready, 0);
}

void vsnd_event_relay_close(VsndEventRelay *r)
{
    if (!r)
        return;
    g_atomic_int_set(&r->closed, 1);
    if (r->source) {
        g_source_destroy(r->source);
        g_source_unref(r->source);
        r->source = NULL;
    }
    relay_unref(r);
}
