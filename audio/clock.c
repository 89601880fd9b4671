/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * clock.c - absolute-deadline timers for the clocked built-in drivers.
 *
 * Real timers keep one GSource each for their whole life and park it with
 * a ready time of -1 (never) when disarmed, so a stopped stream causes no
 * wakeups.  GLib ready times are CLOCK_MONOTONIC microseconds; deadlines are
 * rounded up so a timer never fires before its nanosecond deadline.
 *
 * Manual timers live in a list; vsnd_manual_clock_advance() moves the
 * virtual time and fires due timers one at a time, earliest first, so a
 * callback re-arming its own timer within the advanced span fires again.
 */
#include "config.h"

#define G_LOG_DOMAIN "vsnd-audio"

#include "audio/clock.h"


struct VsndTimer {
    bool manual;
    bool armed;
    int64_t deadline;
    VsndTimerFunc fn;
    void *opaque;
    GSource *source; /* real timers only */
};

static int64_t manual_now;
static GList *manual_timers;

typedef struct {
    GSource source;
    VsndTimer *timer;
} TimerSource;

static gboolean timer_dispatch(GSource *source, GSourceFunc callback, gpointer data)
{
    VsndTimer *t = ((TimerSource *)source)->timer;

    g_source_set_ready_time(source, -1);
    t->armed = false;
    t->fn(t->opaque);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs timer_funcs = {
    .dispatch = timer_dispatch,
};

VsndTimer *vsnd_timer_new(bool manual, VsndTimerFunc fn, void *opaque)
{
    VsndTimer *t = g_new0(VsndTimer, 1);

    t->manual = manual;
    t->fn = fn;
    t->opaque = opaque;
    if (manual) {
        manual_timers = g_list_prepend(manual_timers, t);
    } else {
        t->source = g_source_new(&timer_funcs, sizeof(TimerSource));
        ((TimerSource *)t->source)->timer = t;
        g_source_set_name(t->source, "vsnd-audio-timer");
        g_source_set_ready_time(t->source, -1);
        g_source_attach(t->source, NULL);
    }
    return t;
}

void vsnd_timer_free(VsndTimer *t)
{
    if (!t)
        return;
    if (t->manual) {
        manual_timers = g_list_remove(manual_timers, t);
    } else {
        g_source_destroy(t->source);
        g_source_unref(t->source);
    }
    g_free(t);
}

void vsnd_timer_arm(VsndTimer *t, int64_t deadline_ns)
{
    t->armed = true;
    t->deadline = deadline_ns;
    if (!t->manual)
        g_source_set_ready_time(t->source, deadline_ns <= 0 ? 0 : (deadline_ns + 999) / 1000);
}

void vsnd_timer_disarm(VsndTimer *t)
{
    t->armed = false;
    if (!t->manual)
        g_source_set_ready_time(t->source, -1);
}

int64_t vsnd_timer_now(const VsndTimer *t)
{
    return t->manual ? manual_now : g_get_monotonic_time() * 1000;
}

int64_t vsnd_manual_clock_now(void)
{
    return manual_now;
}

void vsnd_manual_clock_advance(int64_t ns)
{
    int64_t target = manual_now + MAX(ns, 0);

    for (;;) {
        VsndTimer *due = NULL;

        for (GList *l = manual_timers; l; l = l->next) {
            VsndTimer *t = l->data;
            if (t->armed && t->deadline <= target && (!due || t->deadline < due->deadline))
                due = t;
        }
        if (!due)
            break;
        manual_now = MAX(manual_now, due->deadline);
        due->armed = false;
        due->fn(due->opaque);
    }
    manual_now = target;
}
