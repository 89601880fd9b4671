/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * paced.h - a bounded virtual host buffer drained or filled by a clock.
 *
 * The null and wav drivers have no audio hardware behind them, yet must
 * consume playback and produce capture at the stream's real rate so that
 * the guest is paced (a buffer completes when the "host" has played it).
 * VsndPaced does the bookkeeping for one stream; the driver does the data.
 *
 *  - capacity: two periods (at least one buffer of the largest write seen).
 *  - playback: write() reserves room (vsnd_paced_room()), the driver stores
 *    or discards the bytes, then vsnd_paced_commit().  While running, the
 *    clock drains frames at the stream rate; -EAGAIN callers get ready()
 *    once a period of room is free again.
 *  - capture: the clock adds frames while running (capped at capacity; an
 *    overrun posts error(-EPIPE) once until the next read); read() takes
 *    bytes with vsnd_paced_take() and the driver generates them.
 *  - the clock ticks at period boundaries computed from the start time and
 *    the frame count (no drift); no timer is armed while stopped.
 *  - latency: bytes held, less what the clock has played since the last
 *    tick (playback), so it is exact at any instant.
 *
 * Main thread only.
 */
#ifndef VSND_AUDIO_PACED_H
#define VSND_AUDIO_PACED_H

#include "audio.h"
#include "clock.h"

G_BEGIN_DECLS

typedef struct VsndPaced {
    VsndDirection dir;
    uint32_t rate;         /* Hz */
    uint32_t frame_bytes;
    uint32_t period_bytes;
    uint64_t capacity;     /* bytes */
    uint64_t fill;         /* bytes held */
    bool running;
    bool need_ready;       /* a write/read got -EAGAIN */
    bool draining;         /* drain() returned -EINPROGRESS */
    bool overrun;          /* capture overflow reported, not yet read */
    int64_t t0;            /* clock time of the (re)start, ns */
    uint64_t frames_done;  /* frames accounted since t0 */
    VsndTimer *timer;
    const VsndAudioStreamEvents *events;
    void *opaque;
} VsndPaced;

/**
 * vsnd_paced_init() - set up the bookkeeping of one stream.
 * @p: zeroed storage.
 * @manual: use the manual test clock.
 * @params: validated stream parameters (rate code known, frame size > 0).
 * @events, @opaque: where ready()/error() go.
 * Return: 0, or -EINVAL for parameters without a rate or frame size.
 */
int vsnd_paced_init(VsndPaced *p, bool manual, const VsndPcmParams *params,
                    const VsndAudioStreamEvents *events, void *opaque);
void vsnd_paced_clear(VsndPaced *p);
void vsnd_paced_start(VsndPaced *p);
void vsnd_paced_stop(VsndPaced *p);

/* Playback: 0 if @len bytes fit now, else -EAGAIN (and ready() later). */
int vsnd_paced_room(VsndPaced *p, size_t len);
void vsnd_paced_commit(VsndPaced *p, size_t len);
/* Capture: 0 if @len bytes are available now, else -EAGAIN; on 0 they
 * are taken out of the buffer. */
int vsnd_paced_take(VsndPaced *p, size_t len);
/* Playback drain: 0 when empty (or stopped: queued bytes are dropped),
 * else -EINPROGRESS and ready() once the clock has played everything. */
int vsnd_paced_drain(VsndPaced *p);
uint32_t vsnd_paced_latency(VsndPaced *p);

G_END_DECLS

#endif /* VSND_AUDIO_PACED_H */
