/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-pcm-pump.c - a stream's I/O: messages to and from the host driver,
 * the software clock, xruns, host errors.
 *
 * I/O: messages wait in a FIFO per stream.  While the stream runs, the head
 * message is written to (playback) or read from (capture) the host driver,
 * non-blocking; it completes once all its frames were accepted (playback,
 * spec "Output Stream": totally consumed, here: in the driver's bounded
 * buffer) or filled (capture).  -EAGAIN waits for the driver's ready()
 * event, so the driver's clock paces completions, which are the guest's
 * period clock.  Playback messages that arrive before START are kept
 * (pre-buffering).  An empty FIFO while running is an underrun the driver
 * rides out.  XRUNs (spec "PCM Notifications": an underflow for the
 * output stream, an overflow for the input stream) are counted per stream
 * in the log and sent as events when the guest selected
 * VIRTIO_SND_PCM_F_EVT_XRUNS in SET_PARAMS: playback underflows when the
 * FIFO stays empty for as long as the host's buffered audio lasts (the
 * driver's latency when the FIFO ran empty, checked again then: the
 * "dry watch"), once per dry spell; capture overflows when the driver
 * reports error(-EPIPE).  When the host end fails (error -ENODEV etc.),
 * the stream keeps running on a software clock: one message per period
 * completes with IO_ERR (capture: silence), so a guest never spins, and
 * the jack goes disconnected until the driver reports error(0).
 *
 * latency_bytes: what a guest that stopped writing now would still hear
 * after the message that completes: the driver's latency (get_latency:
 * its buffer plus the server's or device's delay) plus completed playback
 * the device still holds (the carry of a queue stop).  Messages still
 * queued in the device are not added: they lie after the guest's hw_ptr,
 * so ALSA already counts them (delay = appl_ptr - hw_ptr + latency).
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#define G_LOG_DOMAIN "vsnd-snd"
#include <glib.h>

#include "snd/snd-format.h"
#include "guest-log.h"
#include "snd/snd-pcm-host-end.h"
#include "snd/snd-pcm-pump.h"

void vsnd_stream_complete(SndPcmStream *st, SndIoMsg *msg, uint32_t status)
{
    SndPcm *pcm = st->pcm;
    uint64_t latency = 0;

    if (st->host && !vsnd_host_end_lost(st)) {
        uint32_t l;

        if (vsnd_audio_get_latency(pcm->audio, st->host->s, &l) == 0) {
            latency = l;
        }
    }
    /* Completed playback the device still holds (carried at a queue
     * stop) is heard before anything the guest writes next. */
    if (st->dir == VSND_DIR_OUTPUT) {
        latency += st->carry->len;
    }
    /* when and what (--verbose): test-guest-desktop judges a real guest's
     * latency_bytes by these lines (tests/guest/latency-trace.h) */
    g_debug("stream %u: %s completed at %" G_GINT64_FORMAT " us: %zu B, status 0x%04x, "
            "latency_bytes %u", st->id, msg->tx ? "tx" : "rx", g_get_monotonic_time(),
            msg->data_len, status, (uint32_t)MIN(latency, UINT32_MAX));
    pcm->host->complete(pcm->opaque, msg, status, (uint32_t)MIN(latency, UINT32_MAX));
}

void vsnd_stream_flush(SndPcmStream *st, uint32_t status)
{
    SndIoMsg *msg;

    while ((msg = g_queue_pop_head(&st->fifo))) {
        if (!msg->tx) {
            vsnd_io_msg_fill(msg, st->params.format);
        }
        vsnd_stream_complete(st, msg, status);
    }
}

void vsnd_stream_discard(SndPcmStream *st)
{
    SndIoMsg *msg;

    while ((msg = g_queue_pop_head(&st->fifo))) {
        st->pcm->host->discard(st->pcm->opaque, msg);
    }
}

/* Bytes a second of the stream's audio: the rate its timers count in
 * (no rate, never after SET_PARAMS: a period every 10 ms). */
static uint64_t stream_bps(const SndPcmStream *st)
{
    uint64_t bps = vsnd_bytes_per_second(st->params.format, st->params.rate,
                                         st->params.channels);

    return bps ? bps : MAX(st->params.period_bytes, 1u) * UINT64_C(100);
}

/* Nanoseconds @bytes of the stream's audio last, rounded up. */
static int64_t bytes_ns(const SndPcmStream *st, uint64_t bytes)
{
    return vsnd_clock_time_of(0, bytes, stream_bps(st));
}

/* A guest's tiny period costs at most one wakeup a millisecond: the
 * periods between two wakeups are done together. */
#define SND_CLOCK_MIN_WAKEUP_NS 1000000

void vsnd_stream_clock_stop(SndPcmStream *st)
{
    if (st->clock) {
        vsnd_timer_disarm(st->clock);
    }
}

/* One period of a stream whose host end is gone: carried frames go the
 * way of a period, else the oldest message completes with IO_ERR. */
static void clock_period(SndPcmStream *st)
{
    SndIoMsg *msg;

    if (st->carry->len) {
        g_byte_array_set_size(st->carry, 0);
        return;
    }
    msg = g_queue_pop_head(&st->fifo);
    if (msg) {
        if (!msg->tx) {
            vsnd_io_msg_fill(msg, st->params.format);
        }
        vsnd_stream_complete(st, msg, VIRTIO_SND_S_IO_ERR);
    }
}

static bool clock_wanted(const SndPcmStream *st)
{
    return st->state == SND_PCM_STATE_RUNNING && vsnd_host_end_lost(st);
}

/* Arm for the end of the next period, absolute from the clock's start. */
static void clock_arm(SndPcmStream *st)
{
    uint64_t period = MAX(st->params.period_bytes, 1u);
    int64_t next = vsnd_clock_time_of(st->clock_t0, (st->clock_periods + 1) * period,
                                      stream_bps(st));

    vsnd_timer_arm(st->clock,
                   MAX(next, vsnd_timer_now(st->clock) + SND_CLOCK_MIN_WAKEUP_NS));
}

/*
 * The software clock's periods lie at absolute times from its start:
 * period k ends at clock_t0 + k * period_bytes / bytes-per-second, in
 * nanoseconds, so a period that is no whole number of milliseconds (1024
 * bytes of S16 stereo at 44.1 kHz: 5.805 ms) neither drifts nor rounds.
 * A late tick (a busy host) does every period that ended since, at once,
 * as the audio would have played meanwhile; a completion may change the
 * stream, so it is looked at before each period.
 */
static void clock_tick(void *opaque)
{
    SndPcmStream *st = opaque;
    uint64_t period = MAX(st->params.period_bytes, 1u);
    uint64_t due = vsnd_clock_units_at(st->clock_t0, vsnd_timer_now(st->clock),
                                       stream_bps(st)) / period;

    /* A completion that restarted the clock (armed it afresh) ends this
     * tick: the new start counts from now. */
    while (st->clock_periods < due && clock_wanted(st) && !vsnd_timer_armed(st->clock)) {
        st->clock_periods++;
        clock_period(st);
    }
    if (clock_wanted(st) && !vsnd_timer_armed(st->clock)) {
        clock_arm(st);
    }
}

void vsnd_stream_clock_start(SndPcmStream *st)
{
    if (!st->clock || vsnd_timer_armed(st->clock)) {
        return;
    }
    st->clock_t0 = vsnd_timer_now(st->clock);
    st->clock_periods = 0;
    clock_arm(st);
}

static uint32_t host_latency(const SndPcmStream *st)
{
    uint32_t l = 0;

    if (!st->host || vsnd_host_end_lost(st) ||
        vsnd_audio_get_latency(st->pcm->audio, st->host->s, &l) < 0) {
        return 0;
    }
    return l;
}

static void stream_xrun(SndPcmStream *st, const char *what)
{
    st->xruns++;
    /* Every xrun counts; the log shows the 1st, 2nd, 4th, 8th... so a
     * guest that underruns every period cannot flood it. */
    if ((st->xruns & (st->xruns - 1)) == 0) {
        g_message("stream %u: %s (xrun %u since PREPARE)", st->id, what, st->xruns);
    }
    if (st->state == SND_PCM_STATE_RUNNING &&
        (st->params.features & (1u << VIRTIO_SND_PCM_F_EVT_XRUNS))) {
        st->pcm->host->event(st->pcm->opaque, VIRTIO_SND_EVT_PCM_XRUN, st->id);
    }
}

static bool playback_starved(const SndPcmStream *st)
{
    return st->dir == VSND_DIR_OUTPUT && st->state == SND_PCM_STATE_RUNNING && st->host &&
           !vsnd_host_end_lost(st) && st->fifo.length == 0 && !st->carry->len;
}

void vsnd_stream_dry_stop(SndPcmStream *st)
{
    if (st->dry_watch) {
        vsnd_timer_disarm(st->dry_watch);
    }
}

static void dry_check(void *opaque)
{
    SndPcmStream *st = opaque;
    uint32_t left;

    if (!playback_starved(st)) {
        return;
    }
    left = host_latency(st);
    if (left >= st->params.period_bytes) {
        /* The host still holds a period or more: it played slower than
         * its latency said.  Look again when that is gone. */
        vsnd_timer_arm(st->dry_watch, vsnd_timer_now(st->dry_watch) + bytes_ns(st, left));
        return;
    }
    st->dry = true;
    stream_xrun(st, "playback underrun: no message while the host buffer ran dry");
}

/* The playback FIFO ran empty while running: an underrun unless a message
 * arrives before the host has played what it holds (at least a period's
 * time: a guest never answers a completion faster). */
void vsnd_stream_dry_arm(SndPcmStream *st)
{
    int64_t wait;

    if (st->dry || !st->dry_watch || vsnd_timer_armed(st->dry_watch) || !playback_starved(st)) {
        return;
    }
    wait = bytes_ns(st, MAX(host_latency(st), st->params.period_bytes));
    vsnd_timer_arm(st->dry_watch, vsnd_timer_now(st->dry_watch) + wait);
}

/* Made with the stream, on the driver's clock; NULL only when the process
 * has no file descriptor for the one shared timerfd: then a lost host end
 * stalls the stream and no underrun is reported. */
void vsnd_stream_timers_new(SndPcmStream *st)
{
    bool manual = vsnd_audio_manual_clock(st->pcm->audio);

    st->clock = vsnd_timer_new(manual, clock_tick, st);
    st->dry_watch = vsnd_timer_new(manual, dry_check, st);
    if (!st->clock || !st->dry_watch) {
        g_warning("stream %u: no timer: a lost host end stalls the stream", st->id);
    }
}

void vsnd_stream_timers_free(SndPcmStream *st)
{
    g_clear_pointer(&st->clock, vsnd_timer_free);
    g_clear_pointer(&st->dry_watch, vsnd_timer_free);
}

static bool gain_needed(const SndPcmStream *st)
{
    return st->soft_gain && (st->mute || st->gain < SND_GAIN_UNITY);
}

static ssize_t pump_write(SndPcmStream *st, SndIoMsg *msg)
{
    SndPcm *pcm = st->pcm;
    unsigned int cnt;

    if (gain_needed(st) && !msg->staging) {
        msg->staging = g_malloc(msg->data_len ? msg->data_len : 1);
        cnt = vsnd_io_msg_cursor(msg);
        for (unsigned int i = 0, at = 0; i < cnt; i++) {
            memcpy(msg->staging + msg->done + at, msg->cursor[i].iov_base,
                   msg->cursor[i].iov_len);
            at += msg->cursor[i].iov_len;
        }
        vsnd_gain_apply(msg->staging + msg->done, msg->data_len - msg->done, st->params.format,
                       st->gain, st->mute);
    }
    if (msg->staging) {
        struct iovec one = {
            .iov_base = msg->staging + msg->done,
            .iov_len = msg->data_len - msg->done,
        };
        return vsnd_audio_write(pcm->audio, st->host->s, &one, 1);
    }
    cnt = vsnd_io_msg_cursor(msg);
    return vsnd_audio_write(pcm->audio, st->host->s, msg->cursor, cnt);
}

static ssize_t pump_read(SndPcmStream *st, SndIoMsg *msg)
{
    SndPcm *pcm = st->pcm;
    unsigned int cnt = vsnd_io_msg_cursor(msg);
    size_t want = msg->data_len - msg->done;
    g_autofree uint8_t *bounce = NULL;
    struct iovec one;
    ssize_t n;

    if (!gain_needed(st)) {
        return vsnd_audio_read(pcm->audio, st->host->s, msg->cursor, cnt);
    }
    /* Scale in a bounce buffer: guest pieces may split samples. */
    bounce = g_malloc(want);
    one.iov_base = bounce;
    one.iov_len = want;
    n = vsnd_audio_read(pcm->audio, st->host->s, &one, 1);
    if (n > 0) {
        size_t got = MIN((size_t)n, want);
        size_t at = 0;

        vsnd_gain_apply(bounce, got, st->params.format, st->gain, st->mute);
        for (unsigned int i = 0; i < cnt && at < got; i++) {
            size_t l = MIN(msg->cursor[i].iov_len, got - at);
            memcpy(msg->cursor[i].iov_base, bounce + at, l);
            at += l;
        }
    }
    return n;
}

/* Write carried frames first.  Return: true when all are written. */
static bool pump_carry(SndPcmStream *st)
{
    while (st->carry->len) {
        g_autofree uint8_t *scaled = NULL;
        struct iovec one = { st->carry->data, st->carry->len };
        ssize_t n;

        if (gain_needed(st)) {
            scaled = g_memdup2(st->carry->data, st->carry->len);
            vsnd_gain_apply(scaled, st->carry->len, st->params.format, st->gain, st->mute);
            one.iov_base = scaled;
        }
        n = vsnd_audio_write(st->pcm->audio, st->host->s, &one, 1);
        if (n == -EAGAIN || n == 0) {
            return false;
        }
        if (n == -EINVAL) {
            /* Can never fit this host stream: a size problem, the host
             * is still there. */
            g_warning("stream %u: host refuses %u carried bytes; dropped", st->id,
                      st->carry->len);
            g_byte_array_set_size(st->carry, 0);
            return true;
        }
        if (n < 0) {
            vsnd_stream_host_error(st, (int)n);
            return false;
        }
        g_byte_array_remove_range(st->carry, 0, (guint)MIN((size_t)n, st->carry->len));
    }
    return true;
}

void vsnd_stream_pump(SndPcmStream *st)
{
    SndIoMsg *msg;

    if (st->state == SND_PCM_STATE_RUNNING && st->host && !vsnd_host_end_lost(st) &&
        st->carry->len && !pump_carry(st)) {
        return;
    }
    while (st->state == SND_PCM_STATE_RUNNING && st->host && !vsnd_host_end_lost(st) &&
           (msg = g_queue_peek_head(&st->fifo))) {
        if (msg->done < msg->data_len) {
            ssize_t n = st->dir == VSND_DIR_OUTPUT ? pump_write(st, msg) : pump_read(st, msg);

            if (n == -EAGAIN || n == 0) {
                break; /* the driver calls ready() when it can take more */
            }
            if (n == -EPIPE) {
                vsnd_stream_host_error(st, -EPIPE);
                break;
            }
            if (n == -EINVAL) {
                /* The driver can never move a message of this size: the
                 * guest's mistake (or ours), never "host gone".  This
                 * message fails, the stream goes on. */
                vsnd_guest_error("stream %u: host stream refuses a %s message of %zu bytes",
                                st->id, msg->tx ? "tx" : "rx", msg->data_len);
                g_queue_pop_head(&st->fifo);
                if (!msg->tx) {
                    vsnd_io_msg_fill(msg, st->params.format);
                }
                vsnd_stream_complete(st, msg, VIRTIO_SND_S_IO_ERR);
                continue;
            }
            if (n < 0) {
                vsnd_stream_host_error(st, (int)n);
                break;
            }
            msg->done += MIN((size_t)n, msg->data_len - msg->done);
            if (msg->done < msg->data_len) {
                continue;
            }
        }
        g_queue_pop_head(&st->fifo);
        vsnd_stream_complete(st, msg, VIRTIO_SND_S_OK);
    }
    vsnd_stream_dry_arm(st);
}

static gboolean pump_idle(gpointer data)
{
    SndPcmStream *st = data;

    st->pump_id = 0;
    vsnd_stream_pump(st);
    return G_SOURCE_REMOVE;
}

void vsnd_stream_schedule_pump(SndPcmStream *st)
{
    if (!st->pump_id) {
        st->pump_id = g_idle_add(pump_idle, st);
    }
}

void vsnd_stream_host_error(SndPcmStream *st, int err)
{
    if (err == -EPIPE) {
        if (st->state == SND_PCM_STATE_RUNNING) {
            stream_xrun(st, st->dir == VSND_DIR_INPUT ?
                            "capture overrun: the host dropped frames no message took" :
                            "host reports a playback xrun");
        }
        return;
    }
    if (err == 0) {
        vsnd_stream_clock_stop(st);
        vsnd_host_end_event(st, HOST_EV_BACK);
        if (st->state == SND_PCM_STATE_RUNNING && st->host && !vsnd_host_end_started(st)) {
            /* It failed before START reached it: start it now. */
            vsnd_host_end_start(st);
        }
        vsnd_stream_schedule_pump(st);
        return;
    }
    if (!vsnd_host_end_lost(st)) {
        g_warning("stream %u: host stream failed: %s", st->id, g_strerror(-err));
    }
    vsnd_host_end_event(st, HOST_EV_LOST);
    if (st->state == SND_PCM_STATE_RUNNING) {
        vsnd_stream_clock_start(st);
    }
}
