/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * clock.c - absolute-deadline timers for the clocked built-in drivers and
 * the sound device.
 *
 * Real timers share one timerfd on CLOCK_MONOTONIC (see below); deadlines
 * are absolute nanoseconds, so periodic use computed from a start time
 * never accumulates drift, and a disarmed timer costs no wakeups at all.
 *
 * Manual timers live in a list; vsnd_manual_clock_advance() moves the
 * virtual time and fires due timers one at a time, earliest first, so a
 * callback re-arming its own timer within the advanced span fires again.
 */
#include "config.h"

#define G_LOG_DOMAIN "vsnd-audio"

#include "clock.h"

#include <errno.h>
#include <glib-unix.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>


struct VsndTimer {
    bool manual;
    bool armed;
    int64_t deadline;
    VsndTimerFunc fn;
    void *opaque;
};

/*
 * Real timers share one timerfd, armed with TFD_TIMER_ABSTIME for the
 * earliest deadline: nanosecond precision (GLib's own timeouts wait in whole
 * milliseconds, which made every period up to 1 ms late) and one wakeup for
 * all streams whose periods fall within VSND_TIMER_SLACK_NS of each other.
 * With nothing armed the timerfd is disarmed: no wakeups at all.
 */
#define VSND_TIMER_SLACK_NS 50000

static GList *real_timers;
static int timer_fd = -1;
static bool dispatching; /* re-arm once after all due callbacks ran */

static int64_t manual_now;
static GList *manual_timers;

static int64_t monotonic_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The armed timer of @list with the earliest deadline not after @limit. */
static VsndTimer *earliest_due(GList *list, int64_t limit)
{
    VsndTimer *due = NULL;

    for (GList *l = list; l; l = l->next) {
        VsndTimer *t = l->data;

        if (t->armed && t->deadline <= limit && (!due || t->deadline < due->deadline))
            due = t;
    }
    return due;
}

static void real_timers_rearm(void)
{
    VsndTimer *next = earliest_due(real_timers, INT64_MAX);
    struct itimerspec its = {0};

    if (timer_fd < 0 || dispatching)
        return;
    if (next) {
        /* A zero it_value disarms: a deadline in the past fires at once. */
        int64_t d = MAX(next->deadline, 1);

        its.it_value.tv_sec = d / 1000000000;
        its.it_value.tv_nsec = d % 1000000000;
    }
    timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static gboolean on_timer_fd(int fd, GIOCondition cond, gpointer data)
{
    uint64_t expirations;
    int64_t limit;
    VsndTimer *t;

    if (read(fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
        g_warning("timerfd read: %s", g_strerror(errno));
    limit = monotonic_ns() + VSND_TIMER_SLACK_NS;
    /* Looked up afresh each time: a callback may arm, disarm or free any
     * timer, including ones that were due. */
    dispatching = true;
    while ((t = earliest_due(real_timers, limit))) {
        t->armed = false;
        t->fn(t->opaque);
    }
    dispatching = false;
    real_timers_rearm();
    return G_SOURCE_CONTINUE;
}

/* Created at the first timer and kept for the life of the process. */
static bool real_timers_init(void)
{
    if (timer_fd >= 0)
        return true;
    timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (timer_fd < 0)
        return false;
    g_unix_fd_add(timer_fd, G_IO_IN, on_timer_fd, NULL);
    return true;
}

VsndTimer *vsnd_timer_new(bool manual, VsndTimerFunc fn, void *opaque)
{
    VsndTimer *t = g_new0(VsndTimer, 1);

    t->manual = manual;
    t->fn = fn;
    t->opaque = opaque;
    if (!manual && !real_timers_init()) {
        g_warning("timerfd_create: %s", g_strerror(errno));
        g_free(t);
        return NULL;
    }
    if (manual)
        manual_timers = g_list_prepend(manual_timers, t);
    else
        real_timers = g_list_prepend(real_timers, t);
    return t;
}

void vsnd_timer_free(VsndTimer *t)
{
    if (!t)
        return;
    if (t->manual) {
        manual_timers = g_list_remove(manual_timers, t);
    } else {
        real_timers = g_list_remove(real_timers, t);
        if (t->armed)
            real_timers_rearm();
    }
    g_free(t);
}

void vsnd_timer_arm(VsndTimer *t, int64_t deadline_ns)
{
    t->armed = true;
    t->deadline = deadline_ns;
    if (!t->manual)
        real_timers_rearm();
}

void vsnd_timer_disarm(VsndTimer *t)
{
    if (!t->armed)
        return;
    t->armed = false;
    if (!t->manual)
        real_timers_rearm();
}

bool vsnd_timer_armed(const VsndTimer *t)
{
    return t->armed;
}

#define NSEC_PER_SEC INT64_C(1000000000)

/* Seconds and the remainder apart: (dt % 1 s) * per_sec stays below 2^63. */
uint64_t vsnd_clock_units_at(int64_t t0, int64_t now, uint64_t per_sec)
{
    int64_t dt = now - t0;

    if (dt <= 0)
        return 0;
    return (uint64_t)(dt / NSEC_PER_SEC) * per_sec +
           (uint64_t)(dt % NSEC_PER_SEC) * per_sec / NSEC_PER_SEC;
}

int64_t vsnd_clock_time_of(int64_t t0, uint64_t units, uint64_t per_sec)
{
    uint64_t secs = units / per_sec;
    uint64_t rem = units % per_sec;

    return t0 + (int64_t)secs * NSEC_PER_SEC +
           (int64_t)((rem * (uint64_t)NSEC_PER_SEC + per_sec - 1) / per_sec);
}

int64_t vsnd_timer_now(const VsndTimer *t)
{
    return t->manual ? manual_now : monotonic_ns();
}

int64_t vsnd_manual_clock_now(void)
{
    return manual_now;
}

void vsnd_manual_clock_advance(int64_t ns)
{
    int64_t target = manual_now + MAX(ns, 0);

    for (;;) {
        VsndTimer *due = earliest_due(manual_timers, target);

        if (!due)
            break;
        manual_now = MAX(manual_now, due->deadline);
        due->armed = false;
        due->fn(due->opaque);
    }
    manual_now = target;
}

void vsnd_manual_clock_stall(int64_t ns)
{
    manual_now += MAX(ns, 0);
}
