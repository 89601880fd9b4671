/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * paced.c - clock-driven virtual buffer for the null and wav drivers.
 *
 * Time -> frames: frames(t) = (t - t0) * rate / 1e9 (clock.h's
 * vsnd_clock_units_at(), so hours of running neither overflow nor drift).  Each tick accounts frames(now) - frames_done
 * and arms the next deadline at the next whole period.
 */
#include "config.h"

#define G_LOG_DOMAIN "vsnd-audio"

#include <errno.h>

#include "paced.h"
#include "pcm-format.h"


static uint64_t frames_at(const VsndPaced *p, int64_t now)
{
    return vsnd_clock_units_at(p->t0, now, p->rate);
}

/* Smallest clock time at which frames_at() >= @frames. */
static int64_t time_of(const VsndPaced *p, uint64_t frames)
{
    return vsnd_clock_time_of(p->t0, frames, p->rate);
}

static void paced_account(VsndPaced *p)
{
    uint64_t now_frames = frames_at(p, vsnd_timer_now(p->timer));
    uint64_t due = now_frames - p->frames_done;
    uint64_t bytes = due * p->frame_bytes;

    p->frames_done = now_frames;
    if (p->dir == VSND_DIR_OUTPUT) {
        p->fill -= MIN(p->fill, bytes);
    } else if (p->fill + bytes > p->capacity) {
        p->fill = p->capacity;
        if (!p->overrun) {
            p->overrun = true;
            if (p->events && p->events->error)
                p->events->error(p->opaque, -EPIPE);
        }
    } else {
        p->fill += bytes;
    }
}

static void paced_arm(VsndPaced *p)
{
    uint32_t period_frames = MAX(p->period_bytes / p->frame_bytes, 1u);
    uint64_t next = (p->frames_done / period_frames + 1) * period_frames;

    vsnd_timer_arm(p->timer, time_of(p, next));
}

static void paced_tick(void *opaque)
{
    VsndPaced *p = opaque;

    paced_account(p);
    paced_arm(p);
    if (p->dir == VSND_DIR_OUTPUT && p->draining && p->fill == 0) {
        p->draining = false;
        p->need_ready = false;
        if (p->events && p->events->ready)
            p->events->ready(p->opaque);
        return;
    }
    if (!p->need_ready)
        return;
    if ((p->dir == VSND_DIR_OUTPUT && p->capacity - p->fill >= p->period_bytes) ||
        (p->dir == VSND_DIR_INPUT && p->fill >= p->period_bytes)) {
        p->need_ready = false;
        if (p->events && p->events->ready)
            p->events->ready(p->opaque);
    }
}

int vsnd_paced_init(VsndPaced *p, bool manual, const VsndPcmParams *params,
                    const VsndAudioStreamEvents *events, void *opaque)
{
    p->dir = params->direction;
    p->rate = vsnd_pcm_rate_hz(params->rate);
    p->frame_bytes = vsnd_pcm_frame_bytes(params->format, params->channels);
    if (p->rate == 0 || p->frame_bytes == 0 || params->period_bytes == 0)
        return -EINVAL;
    p->period_bytes = params->period_bytes;
    p->capacity = 2 * (uint64_t)params->period_bytes;
    p->events = events;
    p->opaque = opaque;
    p->timer = vsnd_timer_new(manual, paced_tick, p);
    return p->timer ? 0 : -EMFILE;
}

void vsnd_paced_clear(VsndPaced *p)
{
    vsnd_timer_free(p->timer);
    p->timer = NULL;
}

void vsnd_paced_start(VsndPaced *p)
{
    if (p->running)
        return;
    p->running = true;
    p->t0 = vsnd_timer_now(p->timer);
    p->frames_done = 0;
    paced_arm(p);
}

void vsnd_paced_stop(VsndPaced *p)
{
    if (!p->running)
        return;
    paced_account(p);
    p->running = false;
    vsnd_timer_disarm(p->timer);
}

int vsnd_paced_room(VsndPaced *p, size_t len)
{
    if (p->running)
        paced_account(p);
    /* A write larger than the buffer fits once the buffer is empty. */
    if (len > p->capacity && p->fill == 0) {
        p->capacity = len;
        return 0;
    }
    if (p->fill + len <= p->capacity)
        return 0;
    p->need_ready = true;
    return -EAGAIN;
}

void vsnd_paced_commit(VsndPaced *p, size_t len)
{
    p->fill += len;
}

int vsnd_paced_take(VsndPaced *p, size_t len)
{
    if (p->running)
        paced_account(p);
    if (len > p->capacity)
        p->capacity = len; /* lets the clock ever produce that much */
    if (p->fill < len) {
        p->need_ready = true;
        return -EAGAIN;
    }
    p->fill -= len;
    p->overrun = false;
    return 0;
}

int vsnd_paced_drain(VsndPaced *p)
{
    if (p->running)
        paced_account(p);
    if (!p->running)
        p->fill = 0;
    if (p->fill == 0)
        return 0;
    p->draining = true;
    return -EINPROGRESS;
}

uint32_t vsnd_paced_latency(VsndPaced *p)
{
    uint64_t fill = p->fill;

    if (p->running) {
        uint64_t played = (frames_at(p, vsnd_timer_now(p->timer)) - p->frames_done) *
                          p->frame_bytes;
        if (p->dir == VSND_DIR_OUTPUT)
            fill -= MIN(fill, played);
        else
            fill = MIN(fill + played, p->capacity);
    }
    return (uint32_t)MIN(fill, UINT32_MAX);
}
