/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * clock.h - one-shot timers on absolute deadlines, real or manual.
 *
 * The clocked built-in drivers (null, wav) pace streams with these, and
 * the sound device runs its timers on them (software clock, dry watch,
 * drain limit; manual when its driver is, vsnd_audio_manual_clock()).
 * Real timers share one timerfd on the default main context, armed for the
 * earliest absolute CLOCK_MONOTONIC deadline in nanoseconds, so periodic
 * use computed from a start time never accumulates drift, streams whose
 * periods line up share a wakeup, and a disarmed timer costs no wakeups.
 *
 * A manual timer runs on a process-wide virtual clock that only moves when
 * a test calls vsnd_manual_clock_advance(), which then fires the due manual
 * timers in deadline order, synchronously, each at its own deadline.
 * Drivers select it with the option clock=manual; it exists for
 * deterministic tests only.
 *
 * Main thread only.
 */
#ifndef VSND_AUDIO_CLOCK_H
#define VSND_AUDIO_CLOCK_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct VsndTimer VsndTimer;
typedef void (*VsndTimerFunc)(void *opaque);

/**
 * vsnd_timer_new() - create a disarmed timer.
 * @manual: run on the manual test clock instead of CLOCK_MONOTONIC.
 * @fn: called once per expiry, on the main thread.
 * @opaque: passed to @fn.
 * Return: the timer; free with vsnd_timer_free().  NULL only when the
 * process has no file descriptor left for its one shared timerfd.
 */
VsndTimer *vsnd_timer_new(bool manual, VsndTimerFunc fn, void *opaque);
void vsnd_timer_free(VsndTimer *t);
/* Arm (or re-arm) for an absolute deadline in ns of the timer's clock. */
void vsnd_timer_arm(VsndTimer *t, int64_t deadline_ns);
void vsnd_timer_disarm(VsndTimer *t);
/* Whether the timer waits for a deadline (false inside its own callback
 * until it re-arms itself). */
bool vsnd_timer_armed(const VsndTimer *t);
/* Current time of the timer's clock, ns. */
int64_t vsnd_timer_now(const VsndTimer *t);

/*
 * Periodic use from a start time @t0 (ns) at @per_sec units (frames,
 * bytes) a second, in 64-bit arithmetic that neither overflows nor drifts
 * for hours at any audio rate (per_sec up to about 9e9).
 * vsnd_clock_units_at(): units reached at @now, rounded down (0 before t0).
 * vsnd_clock_time_of(): the earliest time at which @units are reached.
 */
uint64_t vsnd_clock_units_at(int64_t t0, int64_t now, uint64_t per_sec);
int64_t vsnd_clock_time_of(int64_t t0, uint64_t units, uint64_t per_sec);

/* Test-only: the manual clock. */
int64_t vsnd_manual_clock_now(void);
/* Advance by @ns (>= 0) and fire every manual timer that became due. */
void vsnd_manual_clock_advance(int64_t ns);
/* Move by @ns (>= 0) without firing anything: a busy host on which no
 * timer ran meanwhile.  The next advance (0 will do) fires what became due,
 * late. */
void vsnd_manual_clock_stall(int64_t ns);

G_END_DECLS

#endif /* VSND_AUDIO_CLOCK_H */
