/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pipewire.c - PipeWire driver module (libpipewire-0.3, pw_stream on a
 * pw_thread_loop).
 *
 * Theory of operation:
 *  - One context and core connection per backend on a private thread loop.
 *    init() connects and does a core round trip, so a dead socket or a hung
 *    daemon fails init (what "auto" needs).  The main thread calls into
 *    libpipewire only under the thread-loop lock; stream callbacks run on
 *    the loop thread, process() on the data thread (RT_PROCESS: offloading
 *    it to the loop thread raced with pw_stream_destroy() in 0.3.65 and
 *    crashed the data thread); process() takes only the stream's ring lock,
 *    never the loop lock.  Neither do write(), read(), get_latency() and
 *    the stream's clock on the main thread: the loop thread holds the loop
 *    lock for tens of milliseconds while a new stream is linked, longer
 *    than a guest with 5 ms periods waits for a completion.  Events reach
 *    the stream manager only through a VsndEventRelay.
 *  - A stream is a pw_stream connected at open() (PREPARE) inactive, with
 *    AUTOCONNECT to params->target (target.object), the sink=/source=
 *    option, or the session manager's default (a capture target that is a
 *    sink records its monitor); node.latency is one period.
 *    start()/stop() activate/deactivate it; queued audio stays (playback
 *    deactivates once the ring played out, see set_active()).  drain()
 *    answers ready() once the ring has gone into the graph and the graph's
 *    delay plus the queued buffers have elapsed.
 *  - Playback: write() copies a period into a bounded ring or answers
 *    -EAGAIN; process() fills each graph buffer from the ring (silence if
 *    it runs dry: an underrun to ride out) and posts ready() once a period
 *    of room exists.  The ring takes at most two periods, or one quantum
 *    and a period when the graph's quantum is larger, and never more than
 *    the guest's buffer less a period (playback_limit()): each accepted
 *    period completes a message, and Linux keeps its hw_ptr modulo the
 *    buffer, so a whole buffer completed at once (the pre-buffered periods
 *    at START) moves it back where it was; the guest sees no progress and
 *    its write() fails with EIO after 1.1 buffer times.  Capture: process()
 *    appends to the ring (overflow drops the oldest period and reports
 *    error(-EPIPE) once); read() takes whole requests.
 *  - latency (playback) = the ring + the rest of the current graph cycle +
 *    one quantum (process() to the sink) + the graph's delay and what the
 *    stream holds, from pw_stream_get_time_n (see pwdrv_get_latency()).
 *  - Volume/mute: SPA_PROP_channelVolumes (linear) and SPA_PROP_mute on the
 *    stream, re-applied whenever the stream (re)connects, from a loop event
 *    (never inside PipeWire's callbacks: that re-entered the node).
 *  - Streams carry media.name = label, application.name = VM name,
 *    media.role (role option, default "Music"), node.name
 *    "vsnd.<vm>.<playback|capture>-<id>".
 *  - The daemon goes away (core error -EPIPE): every stream gets
 *    error(-ECONNRESET) once, read/write answer -ENODEV; a loop timer tears
 *    the dead objects down outside their callbacks and reconnects every
 *    500 ms; the streams are re-created and each reports error(0) when it
 *    is linked again (PAUSED or STREAMING).
 *  - is_connected(): connected, and a node named target (or, without one,
 *    any Audio/Sink for playback, Audio/Source or monitorable Audio/Sink for
 *    capture) is in the registry.
 * Options: remote=, role=, sink=, source=.
 */
#include "config.h"

#define G_LOG_DOMAIN "vsnd-audio"

#include <errno.h>
#include <pthread.h>
#include <pipewire/pipewire.h>
#include <spa/param/audio/format-utils.h>
#include <spa/param/props.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

/* Start-up errors reach the user: translated in the daemon's domain. */
#include <glib/gi18n-lib.h>
#include <glib-unix.h>

#include "audio.h"
#include "byte-ring.h"
#include "event-relay.h"
#include "iov-util.h"
#include "pcm-format.h"

#define RETRY_NSEC (500 * SPA_NSEC_PER_MSEC)
#define SYNC_TIMEOUT_SEC 3

typedef struct PwNode {
    uint32_t id;
    char *name;
    bool sink, source;
} PwNode;

struct VsndAudioBackend {
    struct pw_thread_loop *loop;
    struct pw_context *context;
    struct pw_core *core;
    struct spa_hook core_listener;
    struct pw_registry *registry;
    struct spa_hook registry_listener;
    bool connected;
    bool dead;              /* core failed, teardown pending */
    bool sync_done;
    int sync_seq;
    int last_error;
    struct spa_source *retry;
    char *remote;
    char *vm_name;
    char *role;
    char *sink;
    char *source;
    GList *streams;
    GHashTable *nodes;      /* id -> PwNode */
};

struct VsndAudioStream {
    VsndAudioBackend *be;
    VsndDirection dir;
    uint32_t stream_id;
    char *label;
    char *target;
    struct spa_audio_info_raw info;
    uint8_t vformat;        /* VSND_PCM_FMT_* */
    uint32_t frame_bytes;
    uint32_t period_bytes;
    struct pw_stream *st;
    struct spa_hook listener;
    VsndEventRelay *relay;
    bool running;
    bool need_ready;
    bool lost;
    bool draining;          /* drain(): waiting for the ring to empty */
    int64_t drain_left;     /* then frames still in the graph */
    pthread_mutex_t ring_lock;       /* ring, need_ready, draining, overrun: taken by
                             * the data thread; nests inside the loop lock */
    bool volume_set;
    float volume;
    bool mute;
    bool in_apply;          /* set_control() re-enters control_info */
    unsigned int reapplied; /* bounded re-applies per set_volume/connect */
    struct spa_source *reapply; /* apply_volume() outside PipeWire's callbacks */
    VsndRing ring;
    size_t buffer_bytes;
    size_t quantum_bytes;   /* the graph's last request, in stream bytes */
    bool flowing;           /* the graph pulled since start() */
    uint64_t last_pull_ns;  /* CLOCK_MONOTONIC of the last process() */
    uint64_t start_ns;      /* ...and of start() */
    uint64_t full_ns;       /* ...and when the start clock let the ring take its
                             * capacity, the graph not pulling yet (0: not so) */
    bool stalled;           /* the graph stopped pulling (on_start_clock()) */
    size_t stall_dropped;   /* playback that went unheard meanwhile */
    uint64_t clock_until_ns; /* CLOCK_MONOTONIC of the clock's last period
                             * standing in for the graph (0: none since start) */
    size_t early;           /* what the start clock lets the ring hold */
    int start_clock_fd;     /* timerfd of the stream's clock, main thread */
    guint start_clock_src;
    struct pw_time time;    /* process()'s last look at the graph's timing */
    unsigned int late_cycles; /* process() ran after its cycle's end (note_late()) */
    unsigned int skipped_cycles; /* ...or not at all for a cycle (the graph's
                             * position moved by more than one) */
    uint64_t last_ticks;    /* the graph's position at the last process() */
    uint64_t late_max_ns;   /* ...the latest, past the cycle's start */
    uint64_t late_cycle_ns; /* ...and the cycle's length then */
    bool overrun;
    bool stopping;          /* stopped, the ring still playing out (set_active()) */
    bool active;            /* what pw_stream_set_active() last said */
    struct spa_source *played_out; /* ...then the stream is deactivated */
};

static void stream_create(VsndAudioStream *s);
static void schedule_retry(VsndAudioBackend *be);

/* ---- formats ---------------------------------------------------------- */

static bool spa_format_of(unsigned int fmt, enum spa_audio_format *ret)
{
    switch (fmt) {
    case VSND_PCM_FMT_S8: *ret = SPA_AUDIO_FORMAT_S8; return true;
    case VSND_PCM_FMT_U8: *ret = SPA_AUDIO_FORMAT_U8; return true;
    case VSND_PCM_FMT_S16: *ret = SPA_AUDIO_FORMAT_S16_LE; return true;
    case VSND_PCM_FMT_U16: *ret = SPA_AUDIO_FORMAT_U16_LE; return true;
    case VSND_PCM_FMT_S24_3: *ret = SPA_AUDIO_FORMAT_S24_LE; return true;
    case VSND_PCM_FMT_U24_3: *ret = SPA_AUDIO_FORMAT_U24_LE; return true;
    case VSND_PCM_FMT_S24: *ret = SPA_AUDIO_FORMAT_S24_32_LE; return true;
    case VSND_PCM_FMT_U24: *ret = SPA_AUDIO_FORMAT_U24_32_LE; return true;
    case VSND_PCM_FMT_S32: *ret = SPA_AUDIO_FORMAT_S32_LE; return true;
    case VSND_PCM_FMT_U32: *ret = SPA_AUDIO_FORMAT_U32_LE; return true;
    case VSND_PCM_FMT_FLOAT: *ret = SPA_AUDIO_FORMAT_F32_LE; return true;
    case VSND_PCM_FMT_FLOAT64: *ret = SPA_AUDIO_FORMAT_F64_LE; return true;
    default: return false;
    }
}

static uint32_t spa_position_of(uint8_t pos, unsigned int idx)
{
    switch (pos) {
    case VSND_CHMAP_MONO: return SPA_AUDIO_CHANNEL_MONO;
    case VSND_CHMAP_FL: return SPA_AUDIO_CHANNEL_FL;
    case VSND_CHMAP_FR: return SPA_AUDIO_CHANNEL_FR;
    case VSND_CHMAP_RL: return SPA_AUDIO_CHANNEL_RL;
    case VSND_CHMAP_RR: return SPA_AUDIO_CHANNEL_RR;
    case VSND_CHMAP_FC: return SPA_AUDIO_CHANNEL_FC;
    case VSND_CHMAP_LFE: return SPA_AUDIO_CHANNEL_LFE;
    case VSND_CHMAP_SL: return SPA_AUDIO_CHANNEL_SL;
    case VSND_CHMAP_SR: return SPA_AUDIO_CHANNEL_SR;
    case VSND_CHMAP_RC: return SPA_AUDIO_CHANNEL_RC;
    case VSND_CHMAP_FLC: return SPA_AUDIO_CHANNEL_FLC;
    case VSND_CHMAP_FRC: return SPA_AUDIO_CHANNEL_FRC;
    case VSND_CHMAP_RLC: return SPA_AUDIO_CHANNEL_RLC;
    case VSND_CHMAP_RRC: return SPA_AUDIO_CHANNEL_RRC;
    case VSND_CHMAP_FLW: return SPA_AUDIO_CHANNEL_FLW;
    case VSND_CHMAP_FRW: return SPA_AUDIO_CHANNEL_FRW;
    case VSND_CHMAP_FLH: return SPA_AUDIO_CHANNEL_FLH;
    case VSND_CHMAP_FCH: return SPA_AUDIO_CHANNEL_FCH;
    case VSND_CHMAP_FRH: return SPA_AUDIO_CHANNEL_FRH;
    case VSND_CHMAP_TC: return SPA_AUDIO_CHANNEL_TC;
    case VSND_CHMAP_TFL: return SPA_AUDIO_CHANNEL_TFL;
    case VSND_CHMAP_TFR: return SPA_AUDIO_CHANNEL_TFR;
    case VSND_CHMAP_TFC: return SPA_AUDIO_CHANNEL_TFC;
    case VSND_CHMAP_TRL: return SPA_AUDIO_CHANNEL_TRL;
    case VSND_CHMAP_TRR: return SPA_AUDIO_CHANNEL_TRR;
    case VSND_CHMAP_TRC: return SPA_AUDIO_CHANNEL_TRC;
    case VSND_CHMAP_TFLC: return SPA_AUDIO_CHANNEL_TFLC;
    case VSND_CHMAP_TFRC: return SPA_AUDIO_CHANNEL_TFRC;
    case VSND_CHMAP_TSL: return SPA_AUDIO_CHANNEL_TSL;
    case VSND_CHMAP_TSR: return SPA_AUDIO_CHANNEL_TSR;
    case VSND_CHMAP_LLFE: return SPA_AUDIO_CHANNEL_LLFE;
    case VSND_CHMAP_RLFE: return SPA_AUDIO_CHANNEL_RLFE;
    case VSND_CHMAP_BC: return SPA_AUDIO_CHANNEL_BC;
    case VSND_CHMAP_BLC: return SPA_AUDIO_CHANNEL_BLC;
    case VSND_CHMAP_BRC: return SPA_AUDIO_CHANNEL_BRC;
    default: return SPA_AUDIO_CHANNEL_AUX0 + idx;
    }
}

static void default_positions(uint32_t *pos, unsigned int channels)
{
    static const uint32_t layout[8] = {
        SPA_AUDIO_CHANNEL_FL, SPA_AUDIO_CHANNEL_FR, SPA_AUDIO_CHANNEL_RL, SPA_AUDIO_CHANNEL_RR,
        SPA_AUDIO_CHANNEL_FC, SPA_AUDIO_CHANNEL_LFE, SPA_AUDIO_CHANNEL_SL, SPA_AUDIO_CHANNEL_SR,
    };

    if (channels == 1) {
        pos[0] = SPA_AUDIO_CHANNEL_MONO;
        return;
    }
    for (unsigned int i = 0; i < channels && i < 8; i++)
        pos[i] = layout[i];
}

/* ---- stream data path (loop lock held) ----------------------------------- */

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)SPA_TIMESPEC_TO_NSEC(&ts);
}

/* How much playback the ring may hold once the graph runs: see the top of
 * the file.  Enough for the graph's next quantum plus the period being
 * written, so a quantum larger than two periods does not run dry every
 * cycle.  ring_lock held. */
static size_t steady_limit(const VsndAudioStream *s)
{
    size_t p = s->period_bytes;
    size_t want = MAX(2 * p, s->quantum_bytes + p);
    size_t most = s->buffer_bytes > 2 * p ? s->buffer_bytes - p : p;

    return MIN(want, most);
}

/* ...and what the start clock allowed on top (on_start_clock()). */
static size_t playback_limit(const VsndAudioStream *s)
{
    return MIN(MAX(steady_limit(s), s->early), s->ring.cap);
}

static size_t playback_room(const VsndAudioStream *s)
{
    size_t limit = playback_limit(s);

    return s->ring.fill < limit ? limit - s->ring.fill : 0;
}

/*
 * Room enough to ask the device for more (write() takes whole frames of
 * a message, which completes once all of it is in): a quantum, or a
 * period if shorter.  Waiting for a whole period of room starved the
 * graph whenever the ring holds only one period (a guest buffer of two
 * periods): it was empty before the next period went in, and each period
 * was followed by up to a quantum of silence (measured: 15 gaps of 144
 * frames in a 2 s aplay of two 125 ms periods at quantum 256).
 * ring_lock held.
 */
static bool playback_wants_more(const VsndAudioStream *s)
{
    size_t step = s->quantum_bytes ? MIN(s->period_bytes, s->quantum_bytes) : s->period_bytes;

    return playback_room(s) >= MAX(step, (size_t)s->frame_bytes);
}

/* The stream lost with the daemon gone: read on the main thread without
 * the loop lock (the loop thread writes both flags atomically). */
static bool stream_gone(const VsndAudioStream *s)
{
    return __atomic_load_n(&s->lost, __ATOMIC_ACQUIRE) &&
           !__atomic_load_n(&s->be->connected, __ATOMIC_ACQUIRE);
}

/*
 * A cycle that reached process() after it should have ended: the graph's
 * next cycle had begun (pw_time.now is the driver's start of this one, on
 * CLOCK_MONOTONIC), so the sink played without this quantum and may drop
 * it when it comes.  Counted here, reported by the main thread at the
 * stream's next start or stop (take_late_report()): a machine too busy for the
 * graph's quantum shows in the daemon's log, not only as a gap at the
 * sink.  @now: process()'s CLOCK_MONOTONIC.  ring_lock held.
 */
static void note_late(VsndAudioStream *s, uint32_t frames, uint64_t now)
{
    uint64_t cycle = (uint64_t)frames * SPA_NSEC_PER_SEC / s->info.rate;
    /* ticks count the graph's rate: in the stream's frames */
    uint64_t moved = s->time.rate.denom ? (s->time.ticks - s->last_ticks) * s->time.rate.num *
                                          s->info.rate / s->time.rate.denom : 0;

    /* Two wakeups read as one (a late client): process() runs once, for
     * the newer cycle, and the older one went without it. */
    if (s->last_ticks && frames && s->time.ticks > s->last_ticks && moved > frames + frames / 2)
        s->skipped_cycles += (unsigned int)MIN(moved / frames - 1, 1000u);
    s->last_ticks = s->time.ticks;
    if (s->time.now <= 0 || !frames || now < (uint64_t)s->time.now + cycle)
        return;
    s->late_cycles++;
    if (now - (uint64_t)s->time.now > s->late_max_ns) {
        s->late_max_ns = now - (uint64_t)s->time.now;
        s->late_cycle_ns = cycle;
    }
}

/*
 * A cycle that began before the stream's clock last stood in for the
 * graph: a graph that comes back from a stall (a stopped server, a machine
 * that did not run it) runs the cycles it missed back to back, each one
 * past its end.  Taking a quantum from the ring for each of them completed
 * up to a whole guest buffer within a millisecond (14 periods of 5 ms
 * measured; 16, the whole buffer, in CI; and 10 when only cycles that
 * ended before the clock's last period were left out).  Linux updates
 * hw_ptr once for the completions one interrupt brings, so a whole buffer
 * reads as no progress: nothing is left queued, and the guest's write()
 * fails with EIO 100 ms later.  The clock played (dropped) that time
 * already, so such a cycle gets silence for playback, and its capture is
 * dropped: no time is played or captured twice, and what the ring holds
 * waits for the next cycle.  A graph late for good is not starved:
 * process() notes the pull either way, so the clock stops standing in and
 * later cycles begin after its last period.  ring_lock held.
 */
static bool cycle_stood_in(const VsndAudioStream *s)
{
    return s->clock_until_ns && s->time.now > 0 && (uint64_t)s->time.now < s->clock_until_ns;
}

/* Data thread (RT_PROCESS): only ring_lock is taken here. */
static void on_process(void *data)
{
    VsndAudioStream *s = data;
    struct pw_buffer *b = pw_stream_dequeue_buffer(s->st);
    struct spa_data *d;

    if (!b)
        return;
    d = &b->buffer->datas[0];
    if (!d->data) {
        pw_stream_queue_buffer(s->st, b);
        return;
    }
    pthread_mutex_lock(&s->ring_lock);
    /* the main thread reads the graph's timing from here, never waiting
     * for the loop thread (pwdrv_get_latency()) */
    pw_stream_get_time_n(s->st, &s->time, sizeof(s->time));
    if (s->dir == VSND_DIR_OUTPUT) {
        uint32_t frames = d->maxsize / s->frame_bytes;
        size_t bytes, have;

        if (b->requested)
            frames = (uint32_t)MIN((uint64_t)frames, b->requested);
        bytes = (size_t)frames * s->frame_bytes;
        s->last_pull_ns = now_ns();
        note_late(s, frames, s->last_pull_ns);
        s->quantum_bytes = bytes;
        s->flowing = true;
        /* What the start clock let in drains at three quarters of the
         * graph's pace: completions go on while the backlog shrinks. */
        s->early -= MIN(s->early, bytes / 4);
        have = cycle_stood_in(s) ? 0 :
               MIN(bytes, s->ring.fill - s->ring.fill % s->frame_bytes);
        vsnd_ring_pop(&s->ring, d->data, have);
        /* Ran dry: silence of the stream's format fills the quantum. */
        vsnd_pcm_fill_silence(s->vformat, (uint8_t *)d->data + have, bytes - have, 0);
        d->chunk->offset = 0;
        d->chunk->stride = (int32_t)s->frame_bytes;
        d->chunk->size = (uint32_t)bytes;
        b->size = frames; /* PipeWire sums it into pw_time.queued */
        if (s->draining && s->ring.fill == 0) {
            /* The ring went into the graph: count down the graph's own
             * delay (and what is queued) before answering. */
            struct pw_time t = { 0 };
            int64_t left = frames;

            if (pw_stream_get_time_n(s->st, &t, sizeof(t)) == 0 && t.rate.denom > 0) {
                if (t.delay > 0)
                    left += t.delay * (int64_t)t.rate.num * s->info.rate / t.rate.denom;
                left += (int64_t)t.queued; /* frames: pw_buffer.size */
            }
            s->draining = false;
            s->drain_left = left;
        } else if (s->drain_left > 0) {
            s->drain_left -= frames;
            if (s->drain_left <= 0)
                vsnd_event_relay_post_ready(s->relay);
        } else if (s->stopping) {
            if (s->ring.fill == 0) {
                s->stopping = false;
                pw_loop_signal_event(pw_thread_loop_get_loop(s->be->loop), s->played_out);
            }
        } else if (s->need_ready && playback_wants_more(s)) {
            s->need_ready = false;
            vsnd_event_relay_post_ready(s->relay);
        }
    } else {
        uint32_t off = SPA_MIN(d->chunk->offset, d->maxsize);

        s->flowing = true;
        s->last_pull_ns = now_ns();
        uint32_t size = SPA_MIN(d->chunk->size, d->maxsize - off);

        /* the cycle's length: stall_ns() waits two of them before the
         * clock stands in (without it, periods of less than half a
         * quantum had the clock push silence between every two cycles) */
        if (size)
            s->quantum_bytes = size;
        note_late(s, size / s->frame_bytes, s->last_pull_ns);
        if (cycle_stood_in(s))
            size = 0;
        if (size && vsnd_ring_push(&s->ring, (const uint8_t *)d->data + off, size, s->period_bytes) &&
            !s->overrun) {
            /* Overflow: the oldest periods went; report an xrun once. */
            s->overrun = true;
            vsnd_event_relay_post_error(s->relay, -EPIPE);
        }
        if (s->need_ready && s->ring.fill >= s->period_bytes) {
            s->need_ready = false;
            vsnd_event_relay_post_ready(s->relay);
        }
    }
    pthread_mutex_unlock(&s->ring_lock);
    pw_stream_queue_buffer(s->st, b);
}

static void apply_volume(VsndAudioStream *s)
{
    float vols[SPA_AUDIO_MAX_CHANNELS];
    float mute = s->mute ? 1.0f : 0.0f;

    if (!s->volume_set || !s->st || s->in_apply)
        return;
    for (unsigned int i = 0; i < s->info.channels; i++)
        vols[i] = s->volume;
    s->in_apply = true;
    pw_stream_set_control(s->st, SPA_PROP_channelVolumes, s->info.channels, vols,
                          SPA_PROP_mute, 1, &mute, 0);
    s->in_apply = false;
}

/*
 * The callbacks below run inside PipeWire's emission of the node's new
 * state and params; setting a control there re-enters the node while it
 * walks its param list (a non-unity volume crashed the loop thread in
 * pw_impl_node_for_each_param at about one START in four): they only ask
 * for a re-apply, done on the loop once the emission is over.
 */
static void on_reapply(void *data, uint64_t count)
{
    apply_volume(data);
}

static void reapply_later(VsndAudioStream *s)
{
    struct pw_loop *loop = pw_thread_loop_get_loop(s->be->loop);

    if (!s->reapply)
        s->reapply = pw_loop_add_event(loop, on_reapply, s);
    if (s->reapply)
        pw_loop_signal_event(loop, s->reapply);
}

static void on_state_changed(void *data, enum pw_stream_state old, enum pw_stream_state state,
                             const char *error)
{
    VsndAudioStream *s = data;

    if (state == PW_STREAM_STATE_PAUSED || state == PW_STREAM_STATE_STREAMING) {
        if (old < PW_STREAM_STATE_PAUSED) {
            s->reapplied = 0;
            reapply_later(s);
        }
        if (s->lost) {
            __atomic_store_n(&s->lost, false, __ATOMIC_RELEASE);
            vsnd_event_relay_post_error(s->relay, 0);
        }
    } else if (state == PW_STREAM_STATE_ERROR ||
               (state == PW_STREAM_STATE_UNCONNECTED && old != PW_STREAM_STATE_UNCONNECTED)) {
        if (!s->lost) {
            __atomic_store_n(&s->lost, true, __ATOMIC_RELEASE);
            vsnd_event_relay_post_error(s->relay, s->be->connected ? -ENODEV : -ECONNRESET);
        }
        schedule_retry(s->be);
    }
}

/* Controls become known some time after connecting (and again after a
 * reconnect): apply a pending volume/mute as soon as they do.  Only a
 * differing value is re-applied, since setting one emits this again. */
static void on_control_info(void *data, uint32_t id, const struct pw_stream_control *control)
{
    VsndAudioStream *s = data;
    bool differs = false;

    if (!s->volume_set || s->in_apply || !control || control->n_values == 0 ||
        !control->values || s->reapplied >= 8)
        return;
    if (id == SPA_PROP_channelVolumes)
        differs = control->values[0] != s->volume;
    else if (id == SPA_PROP_mute)
        differs = (control->values[0] != 0.0f) != s->mute;
    if (differs) {
        s->reapplied++;
        reapply_later(s);
    }
}

static const struct pw_stream_events stream_events = {
    PW_VERSION_STREAM_EVENTS,
    .state_changed = on_state_changed,
    .control_info = on_control_info,
    .process = on_process,
};

static void stream_destroy(VsndAudioStream *s)
{
    if (!s->st)
        return;
    spa_hook_remove(&s->listener);
    pw_stream_destroy(s->st);
    s->st = NULL;
}

/* Whether @name is a sink (and no source) in the registry.  Lock held. */
static bool target_is_sink(VsndAudioBackend *be, const char *name)
{
    GHashTableIter it;
    gpointer value;

    g_hash_table_iter_init(&it, be->nodes);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        PwNode *n = value;
        if (strcmp(n->name, name) == 0)
            return n->sink && !n->source;
    }
    return false;
}

/*
 * The quantum this stream asks the graph for.  The guest's period is a
 * poor choice when it is short: a 5 ms period made the graph run 128-frame
 * quanta, and a data thread that was late by one of those under load lost
 * audio in the graph (measured: 128 frames gone after each 128-frame
 * gap).  So a comfortable 1024 frames (the desktop default) or the
 * period if longer, but at most half the guest's buffer: the ring must
 * hold a quantum and a period without taking a whole buffer.
 */
static uint32_t node_latency_frames(const VsndAudioStream *s)
{
    uint32_t period = s->period_bytes / s->frame_bytes;
    uint32_t half = (uint32_t)(s->buffer_bytes / s->frame_bytes / 2);

    return MAX(MIN(MAX(period, 1024u), half), 1u);
}

static void stream_create(VsndAudioStream *s)
{
    VsndAudioBackend *be = s->be;
    const char *target = s->target ? s->target :
                         s->dir == VSND_DIR_OUTPUT ? be->sink : be->source;
    uint8_t buf[1024];
    struct spa_pod_builder b = SPA_POD_BUILDER_INIT(buf, sizeof(buf));
    const struct spa_pod *params[1];
    struct pw_properties *props;
    enum pw_stream_flags flags = PW_STREAM_FLAG_AUTOCONNECT | PW_STREAM_FLAG_MAP_BUFFERS |
                                 PW_STREAM_FLAG_RT_PROCESS;
    uint32_t rate = s->info.rate;

    if (s->st || !be->connected)
        return;
    props = pw_properties_new(PW_KEY_MEDIA_TYPE, "Audio",
                              PW_KEY_MEDIA_CATEGORY,
                              s->dir == VSND_DIR_OUTPUT ? "Playback" : "Capture",
                              PW_KEY_MEDIA_ROLE, be->role,
                              PW_KEY_MEDIA_NAME, s->label,
                              PW_KEY_APP_NAME, be->vm_name,
                              PW_KEY_NODE_DESCRIPTION, s->label,
                              NULL);
    pw_properties_setf(props, PW_KEY_NODE_NAME, "vsnd.%s.%s-%u", be->vm_name,
                       s->dir == VSND_DIR_OUTPUT ? "playback" : "capture", s->stream_id);
    pw_properties_setf(props, PW_KEY_NODE_LATENCY, "%u/%u", node_latency_frames(s), rate);
    if (target) {
        pw_properties_set(props, PW_KEY_TARGET_OBJECT, target);
        /* capturing from a sink means its monitor */
        if (s->dir == VSND_DIR_INPUT && target_is_sink(be, target))
            pw_properties_set(props, "stream.capture.sink", "true");
    }
    s->st = pw_stream_new(be->core, s->label, props);
    if (!s->st) {
        if (!s->lost) {
            __atomic_store_n(&s->lost, true, __ATOMIC_RELEASE);
            vsnd_event_relay_post_error(s->relay, -ENODEV);
        }
        schedule_retry(be);
        return;
    }
    pw_stream_add_listener(s->st, &s->listener, &stream_events, s);
    params[0] = spa_format_audio_raw_build(&b, SPA_PARAM_EnumFormat, &s->info);
    if (!s->running)
        flags |= PW_STREAM_FLAG_INACTIVE;
    s->active = s->running;
    if (pw_stream_connect(s->st, s->dir == VSND_DIR_OUTPUT ? PW_DIRECTION_OUTPUT :
                                                           PW_DIRECTION_INPUT,
                          PW_ID_ANY, flags, params, 1) < 0) {
        stream_destroy(s);
        if (!s->lost) {
            __atomic_store_n(&s->lost, true, __ATOMIC_RELEASE);
            vsnd_event_relay_post_error(s->relay, -ENODEV);
        }
        schedule_retry(be);
    }
}

/* ---- core, registry, reconnection -------------------------------------- */

static void node_free(gpointer data)
{
    PwNode *n = data;
    g_free(n->name);
    g_free(n);
}

static void registry_global(void *data, uint32_t id, uint32_t permissions, const char *type,
                            uint32_t version, const struct spa_dict *props)
{
    VsndAudioBackend *be = data;
    const char *cls, *name;
    PwNode *n;

    if (!props || strcmp(type, PW_TYPE_INTERFACE_Node) != 0)
        return;
    cls = spa_dict_lookup(props, PW_KEY_MEDIA_CLASS);
    name = spa_dict_lookup(props, PW_KEY_NODE_NAME);
    if (!cls || !name)
        return;
    n = g_new0(PwNode, 1);
    n->id = id;
    n->name = g_strdup(name);
    n->sink = strcmp(cls, "Audio/Sink") == 0 || strcmp(cls, "Audio/Duplex") == 0;
    n->source = strcmp(cls, "Audio/Source") == 0 || strcmp(cls, "Audio/Source/Virtual") == 0 ||
                strcmp(cls, "Audio/Duplex") == 0;
    if (n->sink || n->source)
        g_hash_table_replace(be->nodes, GUINT_TO_POINTER(id), n);
    else
        node_free(n);
}

static void registry_global_remove(void *data, uint32_t id)
{
    VsndAudioBackend *be = data;
    g_hash_table_remove(be->nodes, GUINT_TO_POINTER(id));
}

static const struct pw_registry_events registry_events = {
    PW_VERSION_REGISTRY_EVENTS,
    .global = registry_global,
    .global_remove = registry_global_remove,
};

static void core_done(void *data, uint32_t id, int seq)
{
    VsndAudioBackend *be = data;

    if (id == PW_ID_CORE && seq == be->sync_seq) {
        be->sync_done = true;
        pw_thread_loop_signal(be->loop, false);
    }
}

static void core_error(void *data, uint32_t id, int seq, int res, const char *message)
{
    VsndAudioBackend *be = data;

    if (id != PW_ID_CORE)
        return;
    be->last_error = res;
    if (res == -EPIPE || !be->connected) {
        bool was = be->connected;

        __atomic_store_n(&be->connected, false, __ATOMIC_RELEASE);
        be->dead = true;
        if (was)
            g_message("pipewire: lost the daemon: %s", message ? message : g_strerror(-res));
        for (GList *l = be->streams; l; l = l->next) {
            VsndAudioStream *s = l->data;
            if (!s->lost) {
                __atomic_store_n(&s->lost, true, __ATOMIC_RELEASE);
                vsnd_event_relay_post_error(s->relay, -ECONNRESET);
            }
        }
        g_hash_table_remove_all(be->nodes);
        pw_thread_loop_signal(be->loop, false);
        schedule_retry(be);
    }
}

static const struct pw_core_events core_events = {
    PW_VERSION_CORE_EVENTS,
    .done = core_done,
    .error = core_error,
};

static void core_teardown(VsndAudioBackend *be)
{
    for (GList *l = be->streams; l; l = l->next)
        stream_destroy(l->data);
    if (be->registry) {
        spa_hook_remove(&be->registry_listener);
        pw_proxy_destroy((struct pw_proxy *)be->registry);
        be->registry = NULL;
    }
    if (be->core) {
        spa_hook_remove(&be->core_listener);
        pw_core_disconnect(be->core);
        be->core = NULL;
    }
    __atomic_store_n(&be->connected, false, __ATOMIC_RELEASE);
    be->dead = false;
}

/*
 * A context with the configuration of realtime clients (as pw-cat uses):
 * its module-rt gives the data thread, where process() runs, realtime
 * priority where the system allows it (RTKit on a desktop, RLIMIT_RTPRIO
 * or root), before the sandbox closes.  A process() late for its cycle
 * makes the graph play silence and lose that quantum of the stream
 * (measured with guests under load: 2048 frames gone in a 4096-frame gap).
 */
static struct pw_context *context_new(VsndAudioBackend *be)
{
    return pw_context_new(pw_thread_loop_get_loop(be->loop),
                          pw_properties_new(PW_KEY_APP_NAME, be->vm_name,
                                            PW_KEY_CONFIG_NAME, "client-rt.conf", NULL), 0);
}

/* Connect and subscribe; Return: 0 or -errno.  Lock held. */
static int core_connect(VsndAudioBackend *be)
{
    struct pw_properties *props = NULL;

    if (be->remote)
        props = pw_properties_new(PW_KEY_REMOTE_NAME, be->remote, NULL);
    be->core = pw_context_connect(be->context, props, 0);
    if (!be->core)
        return -errno;
    pw_core_add_listener(be->core, &be->core_listener, &core_events, be);
    be->registry = pw_core_get_registry(be->core, PW_VERSION_REGISTRY, 0);
    pw_registry_add_listener(be->registry, &be->registry_listener, &registry_events, be);
    __atomic_store_n(&be->connected, true, __ATOMIC_RELEASE);
    be->sync_done = false;
    be->sync_seq = pw_core_sync(be->core, PW_ID_CORE, 0);
    return 0;
}

static void on_retry(void *data, uint64_t expirations)
{
    VsndAudioBackend *be = data;

    if (be->dead || (!be->connected && be->core)) {
        core_teardown(be);
        /* A connection that died leaves node state in the context's data
         * loop that the dead objects' destruction cannot clean up safely;
         * a fresh context per connection leaves none behind. */
        pw_context_destroy(be->context);
        be->context = context_new(be);
        if (!be->context) {
            schedule_retry(be);
            return;
        }
    }
    if (!be->context) {
        be->context = context_new(be);
        if (!be->context) {
            schedule_retry(be);
            return;
        }
    }
    if (!be->core) {
        if (core_connect(be) < 0) {
            schedule_retry(be);
            return;
        }
        g_message("pipewire: reconnected to the daemon");
    }
    for (GList *l = be->streams; l; l = l->next) {
        VsndAudioStream *s = l->data;
        if (s->lost && s->st) /* failed alone: start it over */
            stream_destroy(s);
        stream_create(s);
    }
}

static void schedule_retry(VsndAudioBackend *be)
{
    struct timespec ts = { 0, RETRY_NSEC };

    if (!be->retry)
        be->retry = pw_loop_add_timer(pw_thread_loop_get_loop(be->loop), on_retry, be);
    pw_loop_update_timer(pw_thread_loop_get_loop(be->loop), be->retry, &ts, NULL, false);
}

static void backend_free(VsndAudioBackend *be)
{
    if (be->loop) {
        pw_thread_loop_lock(be->loop);
        if (be->retry) {
            pw_loop_destroy_source(pw_thread_loop_get_loop(be->loop), be->retry);
            be->retry = NULL;
        }
        core_teardown(be);
        pw_thread_loop_unlock(be->loop);
        pw_thread_loop_stop(be->loop);
        if (be->context)
            pw_context_destroy(be->context);
        pw_thread_loop_destroy(be->loop);
    }
    if (be->nodes)
        g_hash_table_unref(be->nodes);
    g_free(be->remote);
    g_free(be->vm_name);
    g_free(be->role);
    g_free(be->sink);
    g_free(be->source);
    g_free(be);
}

static VsndAudioBackend *pwdrv_init(GHashTable *options, const char *vm_name, GError **error)
{
    static gsize pwdrv_inited;
    VsndAudioBackend *be = g_new0(VsndAudioBackend, 1);
    struct timespec deadline;
    int r;

    if (g_once_init_enter(&pwdrv_inited)) {
        pw_init(NULL, NULL);
        g_once_init_leave(&pwdrv_inited, 1);
    }
    be->remote = g_strdup(g_hash_table_lookup(options, "remote"));
    be->role = g_strdup(g_hash_table_lookup(options, "role"));
    be->sink = g_strdup(g_hash_table_lookup(options, "sink"));
    be->source = g_strdup(g_hash_table_lookup(options, "source"));
    if (!be->role)
        be->role = g_strdup("Music");
    be->vm_name = g_strdup(vm_name);
    be->nodes = g_hash_table_new_full(NULL, NULL, NULL, node_free);
    be->loop = pw_thread_loop_new("vsnd-pipewire", NULL);
    if (!be->loop)
        goto fail_loop;
    be->context = context_new(be);
    if (!be->context || pw_thread_loop_start(be->loop) < 0)
        goto fail_loop;

    pw_thread_loop_lock(be->loop);
    r = core_connect(be);
    if (r == 0) {
        pw_thread_loop_get_time(be->loop, &deadline, SYNC_TIMEOUT_SEC * SPA_NSEC_PER_SEC);
        while (!be->sync_done && be->connected && !be->dead) {
            if (pw_thread_loop_timed_wait_full(be->loop, &deadline) < 0)
                break;
        }
        if (!be->sync_done)
            r = be->last_error ? be->last_error : -ETIMEDOUT;
    }
    if (r < 0 && be->retry) {
        pw_loop_destroy_source(pw_thread_loop_get_loop(be->loop), be->retry);
        be->retry = NULL;
    }
    pw_thread_loop_unlock(be->loop);
    if (r < 0) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_CONNECTION_REFUSED,
                    _("pipewire: cannot connect to the PipeWire daemon%s%s: %s"),
                    be->remote ? " " : "", be->remote ? be->remote : "", g_strerror(-r));
        backend_free(be);
        return NULL;
    }
    return be;

fail_loop:
    g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_FAILED, _("pipewire: cannot create a thread loop"));
    backend_free(be);
    return NULL;
}

static void pwdrv_fini(VsndAudioBackend *be)
{
    backend_free(be);
}

static int pwdrv_query_caps(VsndAudioBackend *be, VsndDirection dir, VsndPcmCaps *ret_caps)
{
    enum spa_audio_format f;

    ret_caps->formats = 0;
    for (unsigned int i = 0; i < VSND_PCM_FMT_COUNT; i++) {
        if (spa_format_of(i, &f))
            ret_caps->formats |= VSND_PCM_FMT_BIT(i);
    }
    /* The graph resamples any rate; channels are remixed. */
    ret_caps->rates = VSND_PCM_RATES_ALL;
    ret_caps->channels_min = 1;
    ret_caps->channels_max = 8;
    return 0;
}

static VsndAudioStream *pwdrv_open(VsndAudioBackend *be, const VsndPcmParams *params,
                                    const VsndAudioStreamEvents *events, void *opaque,
                                    GError **error)
{
    VsndAudioStream *s;
    enum spa_audio_format fmt;

    if (!spa_format_of(params->format, &fmt) || params->channels > 8) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_NOT_SUPPORTED,
                    "pipewire: sample format %u / %u channels not supported", params->format,
                    params->channels);
        return NULL;
    }
    s = g_new0(VsndAudioStream, 1);
    s->start_clock_fd = -1;
    s->be = be;
    s->dir = params->direction;
    s->stream_id = params->stream_id;
    s->label = g_strdup(params->label ? params->label : be->vm_name);
    s->target = g_strdup(params->target);
    s->info.format = fmt;
    s->vformat = params->format;
    s->info.rate = vsnd_pcm_rate_hz(params->rate);
    s->info.channels = params->channels;
    if (params->positions) {
        for (unsigned int i = 0; i < params->channels; i++)
            s->info.position[i] = spa_position_of(params->positions[i], i);
    } else {
        default_positions(s->info.position, params->channels);
    }
    s->frame_bytes = vsnd_pcm_frame_bytes(params->format, params->channels);
    s->period_bytes = params->period_bytes;
    s->buffer_bytes = params->buffer_bytes;
    vsnd_ring_init(&s->ring, MAX((size_t)params->buffer_bytes, 2 * (size_t)params->period_bytes));
    s->relay = vsnd_event_relay_new(events, opaque);

    {
        /* Priority inheritance: the main thread holding the ring while the
         * machine is busy must not keep the realtime process() waiting
         * past its cycle (the graph then plays a quantum of silence and
         * drops what process() produced late). */
        pthread_mutexattr_t attr;

        pthread_mutexattr_init(&attr);
        pthread_mutexattr_setprotocol(&attr, PTHREAD_PRIO_INHERIT);
        pthread_mutex_init(&s->ring_lock, &attr);
        pthread_mutexattr_destroy(&attr);
    }
    pw_thread_loop_lock(be->loop);
    be->streams = g_list_prepend(be->streams, s);
    if (be->connected)
        stream_create(s);
    else
        __atomic_store_n(&s->lost, true, __ATOMIC_RELEASE); /* comes up with the daemon */
    pw_thread_loop_unlock(be->loop);
    return s;
}

static void pwdrv_close(VsndAudioStream *s)
{
    VsndAudioBackend *be = s->be;

    pw_thread_loop_lock(be->loop);
    be->streams = g_list_remove(be->streams, s);
    stream_destroy(s);
    if (s->reapply)
        pw_loop_destroy_source(pw_thread_loop_get_loop(be->loop), s->reapply);
    if (s->played_out)
        pw_loop_destroy_source(pw_thread_loop_get_loop(be->loop), s->played_out);
    pw_thread_loop_unlock(be->loop);
    if (s->start_clock_src)
        g_source_remove(s->start_clock_src);
    if (s->start_clock_fd >= 0)
        close(s->start_clock_fd);
    pthread_mutex_destroy(&s->ring_lock);
    vsnd_event_relay_close(s->relay);
    vsnd_ring_clear(&s->ring);
    g_free(s->label);
    g_free(s->target);
    g_free(s);
}

/*
 * The stream's clock, a timer of one period while the stream runs.
 *
 * At the start: until the graph first pulls (linking and activation took
 * over 100 ms on a loaded machine, longer than a guest with a small buffer
 * waits before its write() fails with EIO), the ring takes one more period
 * per period time, up to its capacity (a period at a time, never a burst),
 * so the guest's clock runs at the audio rate meanwhile; what it accepted
 * is played once the graph runs (and reported in the latency).  A graph
 * that has still not pulled when the ring has held its capacity for
 * full_grace_ns() (a stream not linked for over a second, seen in a real
 * guest's play on a loaded machine: the guest failed with EIO 550 ms
 * after its last completion) is stood in for as below.
 *
 * Later: a graph that stops pulling for longer than stall_ns() (a stopped
 * or stalled server, or PipeWire re-planning the graph: seen after the
 * first cycles of a play, under load and under ASan, for longer than the
 * guest's 100 to 176 ms wait) is stood in for: a period per period time
 * leaves the ring as if played, so completions go on at the audio rate and
 * the guest does not fail with EIO.  That audio is not heard (the server
 * was not playing), and keeping it instead would hold the ring full, a
 * whole buffer of latency, for the rest of the play.
 *
 * Capture gets a period of silence per period time in both cases.  Main
 * thread (start_clock_arm()), under the ring's lock only.
 */
static uint64_t stall_ns(const VsndAudioStream *s)
{
    uint64_t bytes = MAX((uint64_t)s->period_bytes, (uint64_t)s->quantum_bytes);

    /* two cycles or two periods: one late cycle is not a stall */
    return 2 * bytes / s->frame_bytes * SPA_NSEC_PER_SEC / s->info.rate;
}

/*
 * How long a ring the graph never pulled may stay full before the clock
 * stands in: half of what the guest waits for a completion before its
 * write() fails (Linux: 1.1 buffers, at least 100 ms).  Standing in at
 * once dropped the first periods of plays whose graph linked a little
 * later (a guest with 5 ms periods and a 1024 quantum: 1200 frames
 * unheard in CI).
 */
static uint64_t full_grace_ns(const VsndAudioStream *s)
{
    uint64_t ring_ns = (uint64_t)s->ring.cap / s->frame_bytes * SPA_NSEC_PER_SEC / s->info.rate;

    return MAX(50 * SPA_NSEC_PER_MSEC, ring_ns * 11 / 20);
}

static void clock_tick_playback(VsndAudioStream *s, uint64_t expirations, bool stalled)
{
    if (!s->flowing && !stalled) {
        s->early = MIN(MAX(s->early, steady_limit(s)) + expirations * s->period_bytes,
                       s->ring.cap);
        if (s->early >= s->ring.cap && !s->full_ns)
            s->full_ns = now_ns();
    } else if (stalled && !s->draining) {
        size_t n = MIN((size_t)expirations * s->period_bytes, s->ring.fill);

        n -= n % s->frame_bytes;
        vsnd_ring_pop(&s->ring, NULL, n);
        s->stall_dropped += n;
        s->clock_until_ns = now_ns();
    }
    if (s->need_ready && playback_room(s) >= s->period_bytes) {
        s->need_ready = false;
        vsnd_event_relay_post_ready(s->relay);
    }
}

static void clock_tick_capture(VsndAudioStream *s, uint64_t expirations)
{
    /* silence, a period per period time, until the graph delivers (the
     * guest's wait is as short as for playback) */
    g_autofree uint8_t *silence = g_malloc(s->period_bytes);

    vsnd_pcm_fill_silence(s->vformat, silence, s->period_bytes, 0);
    for (uint64_t i = 0; i < expirations; i++)
        vsnd_ring_push(&s->ring, silence, s->period_bytes, s->period_bytes);
    s->clock_until_ns = now_ns();
    if (s->need_ready && s->ring.fill >= s->period_bytes) {
        s->need_ready = false;
        vsnd_event_relay_post_ready(s->relay);
    }
}

static void on_start_clock(void *data, uint64_t expirations)
{
    VsndAudioStream *s = data;
    uint64_t since = 0;
    bool stalled = false, stop;

    pthread_mutex_lock(&s->ring_lock);
    stop = !s->running;
    if (!stop && s->flowing) {
        since = now_ns() - s->last_pull_ns;
        stalled = since > stall_ns(s);
    } else if (!stop && s->dir == VSND_DIR_OUTPUT) {
        /* never pulled since the start, and the ring took all it can
         * for long enough (full_grace_ns()) */
        since = now_ns() - s->start_ns;
        stalled = s->full_ns && now_ns() - s->full_ns > full_grace_ns(s);
    }
    if (!stop && (!s->flowing || stalled)) {
        if (s->dir == VSND_DIR_INPUT)
            clock_tick_capture(s, expirations);
        else
            clock_tick_playback(s, expirations, stalled);
    }
    if (stalled != s->stalled) {
        if (stalled)
            g_message("pipewire: stream %u: the graph has not run for %u ms; the stream goes "
                      "on by its own clock", s->stream_id, (unsigned int)(since / 1000000));
        else
            g_message("pipewire: stream %u: the graph runs again; %zu bytes went unheard",
                      s->stream_id, s->stall_dropped);
        s->stalled = stalled;
        s->stall_dropped = 0;
    }
    pthread_mutex_unlock(&s->ring_lock);
    if (stop) {
        struct itimerspec off = { { 0, 0 }, { 0, 0 } };

        timerfd_settime(s->start_clock_fd, 0, &off, NULL);
    }
}

static gboolean on_start_clock_fd(gint fd, GIOCondition cond, gpointer data)
{
    uint64_t expirations = 0;

    (void)cond;
    if (read(fd, &expirations, sizeof(expirations)) == (ssize_t)sizeof(expirations) &&
        expirations > 0)
        on_start_clock(data, expirations);
    return G_SOURCE_CONTINUE;
}

/* The clock runs on the main thread, beside the writes it lets in: on the
 * loop thread it fired up to 10 periods late while a new stream was
 * linked (the loop lock held), and the guest saw no completion meanwhile. */
static void start_clock_arm(VsndAudioStream *s)
{
    uint64_t ns = (uint64_t)s->period_bytes / s->frame_bytes * SPA_NSEC_PER_SEC / s->info.rate;
    struct timespec ts = { (time_t)(ns / SPA_NSEC_PER_SEC), (long)(ns % SPA_NSEC_PER_SEC) };
    struct itimerspec its = { ts, ts };

    if (s->start_clock_fd < 0) {
        s->start_clock_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (s->start_clock_fd < 0) {
            g_warning("pipewire: stream %u: no clock (timerfd: %s): a graph that does not "
                      "pull leaves the guest waiting", s->stream_id, g_strerror(errno));
            return;
        }
        s->start_clock_src = g_unix_fd_add(s->start_clock_fd, G_IO_IN, on_start_clock_fd, s);
    }
    timerfd_settime(s->start_clock_fd, 0, &its, NULL);
}

/* The ring played out after a stop: deactivate, unless started again.
 * Loop thread, loop lock held. */
static void on_played_out(void *data, uint64_t count)
{
    VsndAudioStream *s = data;

    if (!s->running && s->st && s->active) {
        s->active = false;
        pw_stream_set_active(s->st, false);
    }
}

/* What note_late() counted since the last start or stop, as a warning to
 * log (NULL: nothing missed).  ring_lock held; the caller logs it after
 * unlocking. */
static char *take_late_report(VsndAudioStream *s)
{
    g_autofree char *late = NULL;
    char *msg = NULL;

    if (s->late_cycles)
        late = g_strdup_printf(" (the latest %.1f ms after its start, a cycle being %.1f ms)",
                               (double)s->late_max_ns / 1e6, (double)s->late_cycle_ns / 1e6);
    if (s->late_cycles || s->skipped_cycles)
        msg = g_strdup_printf("pipewire: stream %u: graph cycles missed: %u late%s, %u not run; "
                              "the server played silence for them and may have dropped what "
                              "came late: the machine is too busy for the graph's quantum",
                              s->stream_id, s->late_cycles, late ? late : "",
                              s->skipped_cycles);
    s->late_cycles = 0;
    s->skipped_cycles = 0;
    s->last_ticks = 0;
    s->late_max_ns = 0;
    s->late_cycle_ns = 0;
    return msg;
}

/*
 * Stopping playback lets what the ring holds play out before the stream
 * is deactivated.  Linux sends STOP the moment its last message completed
 * (aplay's drain) and RELEASE when aplay closes, 2 to 115 ms later: a
 * stream deactivated at STOP played the ring's last periods only after
 * RELEASE restarted it, behind a silent gap.  Those frames were completed
 * to the guest, so they are due anyway; a pause hears at most the ring
 * (two periods, or a quantum and a period) after it.
 */
static int set_active(VsndAudioStream *s, bool active)
{
    struct pw_loop *loop = pw_thread_loop_get_loop(s->be->loop);
    g_autofree char *late = NULL;
    bool play_out;

    pw_thread_loop_lock(s->be->loop);
    if (!active && !s->played_out)
        s->played_out = pw_loop_add_event(loop, on_played_out, s);
    s->running = active;
    pthread_mutex_lock(&s->ring_lock);
    play_out = !active && s->dir == VSND_DIR_OUTPUT && s->flowing && s->ring.fill > 0 &&
               s->played_out && !s->lost;
    s->stopping = play_out;
    s->flowing = false;
    memset(&s->time, 0, sizeof(s->time)); /* a new start: nothing pulled yet */
    s->start_ns = now_ns();
    s->full_ns = 0;
    s->stalled = false;
    s->stall_dropped = 0;
    s->clock_until_ns = 0;
    s->early = 0;
    late = take_late_report(s);
    pthread_mutex_unlock(&s->ring_lock);
    if (late)
        g_warning("%s", late);
    if (active && s->period_bytes)
        start_clock_arm(s);
    /* a stream still playing out is active already: left alone */
    if (s->st && !play_out && s->active != active) {
        s->active = active;
        pw_stream_set_active(s->st, active);
    }
    pw_thread_loop_unlock(s->be->loop);
    return 0;
}

static int pwdrv_start(VsndAudioStream *s)
{
    return set_active(s, true);
}

static int pwdrv_stop(VsndAudioStream *s)
{
    return set_active(s, false);
}

static int pwdrv_drain(VsndAudioStream *s)
{
    int r = 0;

    if (s->dir != VSND_DIR_OUTPUT)
        return 0;
    pw_thread_loop_lock(s->be->loop);
    pthread_mutex_lock(&s->ring_lock);
    /* Running, even with the ring empty: what the last quanta took is
     * still in the graph (its delay); the process callback counts that
     * down before answering, so close() drops nothing already accepted. */
    if (s->running && s->st && !s->lost) {
        s->draining = true;
        s->drain_left = 0;
        s->need_ready = false;
        vsnd_event_relay_cancel_ready(s->relay); /* only the drain answers now */
        r = -EINPROGRESS;
    } else {
        vsnd_ring_pop(&s->ring, NULL, s->ring.fill);
    }
    pthread_mutex_unlock(&s->ring_lock);
    pw_thread_loop_unlock(s->be->loop);
    return r;
}

static ssize_t pwdrv_write(VsndAudioStream *s, const struct iovec *iov, unsigned int iovcnt)
{
    size_t len = vsnd_iov_size(iov, iovcnt);
    ssize_t ret;

    if (s->dir != VSND_DIR_OUTPUT)
        return -EBADF;
    if (len > s->ring.cap)
        return -EINVAL; /* would never fit */
    /* Only the ring's lock: the loop thread holds the loop lock for tens
     * of milliseconds while a stream is linked and activated (measured
     * 55 ms under make check's load, right after START), and a guest with
     * 5 ms periods fails with EIO after 100 ms without a completion. */
    if (stream_gone(s)) {
        ret = -ENODEV;
    } else {
        size_t room;

        pthread_mutex_lock(&s->ring_lock);
        /* Whole frames as far as there is room: the message completes
         * once the rest follows. */
        room = playback_room(s);
        room -= room % s->frame_bytes;
        if (room == 0) {
            s->need_ready = true;
            ret = -EAGAIN;
        } else {
            len = MIN(len, room);
            vsnd_ring_push_iov(&s->ring, iov, iovcnt, len);
            ret = (ssize_t)len;
        }
        pthread_mutex_unlock(&s->ring_lock);
    }
    return ret;
}

static ssize_t pwdrv_read(VsndAudioStream *s, const struct iovec *iov, unsigned int iovcnt)
{
    size_t len = vsnd_iov_size(iov, iovcnt);
    ssize_t ret;

    if (s->dir != VSND_DIR_INPUT)
        return -EBADF;
    if (len > s->ring.cap)
        return -EINVAL;
    /* only the ring's lock, as pwdrv_write() */
    if (stream_gone(s)) {
        ret = -ENODEV;
    } else {
        pthread_mutex_lock(&s->ring_lock);
        if (s->ring.fill < len) {
            s->need_ready = true;
            ret = -EAGAIN;
        } else {
            vsnd_ring_pop_iov(&s->ring, iov, iovcnt, len);
            s->overrun = false;
            ret = (ssize_t)len;
        }
        pthread_mutex_unlock(&s->ring_lock);
    }
    return ret;
}

/*
 * Playback: when the last byte written so far will be heard, counted from
 * now.  The graph runs in cycles of a quantum; process() ran in the cycle
 * that started at pw_time.now and fills the next buffer from the ring at
 * the next cycle.  What process() gives in a cycle reaches the sink one
 * cycle later (measured with PipeWire 0.3.65 against the sink's monitor,
 * tests/test-integration-latency: a realtime stream's buffer goes into
 * the graph at once, pw_time.queued stays 0, and still the sink takes it
 * a quantum later).  So the ring's first frame is heard after the rest
 * of the current cycle and one more quantum, plus the sink's own delay
 * (pw_time.delay, 0 for a null sink) and what the stream still holds
 * (pw_time.queued, pw_time.buffered).  Without the cycle and the quantum
 * latency_bytes was two quanta short (42 ms at quantum 1024).  Capture:
 * the ring plus the graph's delay.
 */
static int pwdrv_get_latency(VsndAudioStream *s, uint32_t *ret_bytes)
{
    struct pw_time t = { 0 };
    uint64_t bytes, frames = 0;
    size_t ring, quantum;
    bool flowing;
    int64_t cycle_left = 0;

    /* process()'s timing, under the ring's lock only (see pwdrv_write()) */
    pthread_mutex_lock(&s->ring_lock);
    bytes = ring = s->ring.fill;
    quantum = s->quantum_bytes;
    flowing = s->flowing;
    t = s->time;
    pthread_mutex_unlock(&s->ring_lock);
    if (t.rate.denom > 0) {
        if (t.delay > 0)
            frames += (uint64_t)t.delay * t.rate.num * s->info.rate / t.rate.denom;
        if (s->dir == VSND_DIR_OUTPUT) {
            struct timespec ts;

            frames += t.queued + t.buffered;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            /* a stale cycle (the graph stopped) leaves nothing to wait */
            if (flowing && t.now > 0 && quantum) {
                cycle_left = t.now +
                             (int64_t)(quantum / s->frame_bytes * SPA_NSEC_PER_SEC / s->info.rate) -
                             (int64_t)SPA_TIMESPEC_TO_NSEC(&ts);
                frames += quantum / s->frame_bytes; /* the cycle to the sink */
            }
            if (cycle_left > 0)
                frames += (uint64_t)cycle_left * s->info.rate / SPA_NSEC_PER_SEC;
        }
        bytes += frames * s->frame_bytes;
    }
    /* what PipeWire reports for the stream, next to what the guest gets
     * (--verbose; tests/test-integration-latency compares them) */
    g_debug("pipewire: stream %u latency %" G_GUINT64_FORMAT " B: ring %zu B, pw_time now %"
            G_GINT64_FORMAT " delay %" G_GINT64_FORMAT " x %u/%u s queued %" G_GUINT64_FORMAT
            " buffered %" G_GUINT64_FORMAT ", cycle left %" G_GINT64_FORMAT " ns", s->stream_id,
            bytes, ring, t.now, t.delay, t.rate.num, t.rate.denom, t.queued, t.buffered,
            cycle_left);
    *ret_bytes = (uint32_t)MIN(bytes, UINT32_MAX);
    return 0;
}

static int pwdrv_set_volume(VsndAudioStream *s, uint32_t volume, bool mute)
{
    pw_thread_loop_lock(s->be->loop);
    s->volume_set = true;
    s->volume = (float)MIN(volume, 65536u * 4) / 65536.0f;
    s->mute = mute;
    s->reapplied = 0;
    apply_volume(s);
    pw_thread_loop_unlock(s->be->loop);
    return 0;
}

static bool pwdrv_is_connected(VsndAudioBackend *be, VsndDirection dir, const char *target)
{
    GHashTableIter it;
    gpointer value;
    bool found = false;

    pw_thread_loop_lock(be->loop);
    if (!target)
        target = dir == VSND_DIR_OUTPUT ? be->sink : be->source;
    g_hash_table_iter_init(&it, be->nodes);
    while (be->connected && !found && g_hash_table_iter_next(&it, NULL, &value)) {
        PwNode *n = value;
        /* capture may record a sink's monitor */
        bool kind = dir == VSND_DIR_OUTPUT ? n->sink : (n->source || n->sink);
        found = kind && (!target || strcmp(target, n->name) == 0);
    }
    pw_thread_loop_unlock(be->loop);
    return found;
}

static const char *const pwdrv_keys[] = { "remote", "role", "sink", "source", NULL };

static const VsndAudioDriver pipewire_driver = {
    .abi_version = VSND_AUDIO_ABI_VERSION,
    .name = "pipewire",
    .description = "PipeWire daemon",
    .init = pwdrv_init,
    .fini = pwdrv_fini,
    .query_caps = pwdrv_query_caps,
    .open = pwdrv_open,
    .close = pwdrv_close,
    .start = pwdrv_start,
    .stop = pwdrv_stop,
    .write = pwdrv_write,
    .read = pwdrv_read,
    .drain = pwdrv_drain,
    .get_latency = pwdrv_get_latency,
    .set_volume = pwdrv_set_volume,
    .is_connected = pwdrv_is_connected,
    .option_keys = pwdrv_keys,
};

const VsndAudioDriver *vsnd_audio_driver_entry(void);

const VsndAudioDriver *vsnd_audio_driver_entry(void)
{
    return &pipewire_driver;
}
