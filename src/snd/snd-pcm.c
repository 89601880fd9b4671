/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-pcm.c - PCM stream manager.
 *
 * DOC: Theory of operation
 *
 * Each stream follows the spec's command lifecycle (spec "PCM Command
 * Lifecycle") through the single table below; a command the table refuses
 * gets BAD_MSG and changes nothing.  Beyond the spec's list, RELEASE of an
 * idle stream (no host stream open) is an accepted no-op, because Linux
 * sends it after every stop and after a device reset (Linux sound/virtio/
 * virtio_pcm_ops.c: virtsnd_pcm_hw_free(), virtsnd_pcm_prepare() after
 * a restore).  Parameters survive RELEASE: xrun recovery is
 * RELEASE -> PREPARE without SET_PARAMS.
 *
 * PREPARE opens the host stream (vsnd_audio_open), RELEASE completes every
 * pending message of the stream (spec "Stream Release": before the control
 * reply) and closes it, draining playback when the driver can.  STOP is a
 * pause: queued playback stays for the next START.
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
 * reports error(-EPIPE).  When the host end fails (error -ENODEV etc.), the stream keeps
 * running on a software clock: one message per period completes with
 * IO_ERR (capture: silence), so a guest never spins, and the jack goes
 * disconnected until the driver reports error(0).
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

#include "audio/pcm-format.h"
#include "snd/snd-format.h"
#include "guest-log.h"
#include "snd/snd-pcm.h"

/* How long a released playback stream may drain before it is closed. */
#define SND_PCM_LINGER_MS 2000

typedef struct SndPcmStream SndPcmStream;

/* One open host stream; the events' opaque.  @st is NULL while a released
 * playback stream drains (lingers). */
typedef struct SndHostStream {
    SndPcm *pcm;
    SndPcmStream *st;
    VsndAudioStream *s;
    guint linger_id;
    uint32_t id; /* the stream it was opened for */
} SndHostStream;

struct SndPcmStream {
    SndPcm *pcm;
    uint32_t id;
    VsndDirection dir;
    uint32_t nid;
    uint64_t formats;
    uint64_t rates;
    uint8_t channels_min;
    uint8_t channels_max;
    const char *target;
    char *label;

    SndPcmState state;
    bool has_params;
    SndPcmParams params;
    SndHostStream *host;
    GQueue fifo;           /* SndIoMsg, oldest first */
    bool host_failed;      /* host end reported gone; software clock runs */
    bool host_started;     /* vsnd_audio_start() succeeded, no stop since */
    bool connected;        /* jack state */
    uint32_t gain;
    bool mute;
    bool soft_gain;        /* driver has no volume: scale the data here */
    GByteArray *carry;     /* playback taken over from messages at a queue
                            * stop; played before the FIFO */
    guint pump_id;
    guint clock_id;
    guint dry_id;          /* dry watch: playback FIFO empty while running */
    bool dry;              /* underrun reported, until the next message */
    uint32_t xruns;        /* since the host stream was opened */
};

struct SndPcm {
    const VsndDeviceConfig *cfg;
    VsndAudio *audio;
    const SndPcmHost *host;
    void *opaque;
    uint32_t n;
    SndPcmStream *streams;
    GList *lingering; /* SndHostStream */
    bool polling;
};

/*
 * The stream's one state machine.  Beyond the guest's states and commands
 * (spec), the device has one state of its own and three events of its own:
 * PAUSED is RUNNING with its ring stopped (GET_VRING_BASE: the host stream
 * stopped, the guest still believes it runs, so a snapshot saves RUNNING);
 * QUEUE_STOP and QUEUE_START pause and resume a running stream with its
 * ring; RESET is the device reset (and the start of a restore).  A PAUSED
 * stream takes the guest's commands as STOPPED does.  Host loss is no state:
 * the host end is a property of the open host stream (host_failed), which
 * every state with one open keeps across its transitions.
 */
#define STATE_PAUSED SND_PCM_STATE_MAX
G_STATIC_ASSERT(SND_PCM_STATE_INIT == 0); /* a new stream, zeroed, is at power-on */
#define STATE_COUNT (SND_PCM_STATE_MAX + 1)

enum {
    EV_QUEUE_STOP = SND_PCM_CMD_MAX, /* the stream's ring stopped */
    EV_QUEUE_START,                  /* it started again */
    EV_RESET,                        /* back to power-on */
    EV_COUNT
};

#define R (-1)
/* The transition table: next state, or R (refused -> BAD_MSG).  The ring
 * events leave every state but RUNNING and PAUSED as it is. */
static const int8_t transitions[STATE_COUNT][EV_COUNT] = {
    [SND_PCM_STATE_INIT] = {
        [SND_PCM_CMD_SET_PARAMS] = SND_PCM_STATE_PARAMS,
        [SND_PCM_CMD_PREPARE] = R,
        [SND_PCM_CMD_RELEASE] = SND_PCM_STATE_INIT, /* idle: no-op */
        [SND_PCM_CMD_START] = R,
        [SND_PCM_CMD_STOP] = R,
        [EV_QUEUE_STOP] = SND_PCM_STATE_INIT,
        [EV_QUEUE_START] = SND_PCM_STATE_INIT,
        [EV_RESET] = SND_PCM_STATE_INIT,
    },
    [SND_PCM_STATE_PARAMS] = {
        [SND_PCM_CMD_SET_PARAMS] = SND_PCM_STATE_PARAMS,
        [SND_PCM_CMD_PREPARE] = SND_PCM_STATE_PREPARED,
        [SND_PCM_CMD_RELEASE] = SND_PCM_STATE_PARAMS, /* idle: no-op */
        [SND_PCM_CMD_START] = R,
        [SND_PCM_CMD_STOP] = R,
        [EV_QUEUE_STOP] = SND_PCM_STATE_PARAMS,
        [EV_QUEUE_START] = SND_PCM_STATE_PARAMS,
        [EV_RESET] = SND_PCM_STATE_INIT,
    },
    [SND_PCM_STATE_PREPARED] = {
        [SND_PCM_CMD_SET_PARAMS] = SND_PCM_STATE_PARAMS,
        [SND_PCM_CMD_PREPARE] = SND_PCM_STATE_PREPARED,
        [SND_PCM_CMD_RELEASE] = SND_PCM_STATE_RELEASED,
        [SND_PCM_CMD_START] = SND_PCM_STATE_RUNNING,
        [SND_PCM_CMD_STOP] = R,
        [EV_QUEUE_STOP] = SND_PCM_STATE_PREPARED,
        [EV_QUEUE_START] = SND_PCM_STATE_PREPARED,
        [EV_RESET] = SND_PCM_STATE_INIT,
    },
    [SND_PCM_STATE_RUNNING] = {
        [SND_PCM_CMD_SET_PARAMS] = R,
        [SND_PCM_CMD_PREPARE] = R,
        [SND_PCM_CMD_RELEASE] = R,
        [SND_PCM_CMD_START] = R,
        [SND_PCM_CMD_STOP] = SND_PCM_STATE_STOPPED,
        [EV_QUEUE_STOP] = STATE_PAUSED,
        [EV_QUEUE_START] = SND_PCM_STATE_RUNNING,
        [EV_RESET] = SND_PCM_STATE_INIT,
    },
    [SND_PCM_STATE_STOPPED] = {
        [SND_PCM_CMD_SET_PARAMS] = R,
        [SND_PCM_CMD_PREPARE] = R,
        [SND_PCM_CMD_RELEASE] = SND_PCM_STATE_RELEASED,
        [SND_PCM_CMD_START] = SND_PCM_STATE_RUNNING,
        [SND_PCM_CMD_STOP] = R,
        [EV_QUEUE_STOP] = SND_PCM_STATE_STOPPED,
        [EV_QUEUE_START] = SND_PCM_STATE_STOPPED,
        [EV_RESET] = SND_PCM_STATE_INIT,
    },
    [SND_PCM_STATE_RELEASED] = {
        [SND_PCM_CMD_SET_PARAMS] = SND_PCM_STATE_PARAMS,
        [SND_PCM_CMD_PREPARE] = SND_PCM_STATE_PREPARED,
        [SND_PCM_CMD_RELEASE] = SND_PCM_STATE_RELEASED, /* idle: no-op */
        [SND_PCM_CMD_START] = R,
        [SND_PCM_CMD_STOP] = R,
        [EV_QUEUE_STOP] = SND_PCM_STATE_RELEASED,
        [EV_QUEUE_START] = SND_PCM_STATE_RELEASED,
        [EV_RESET] = SND_PCM_STATE_INIT,
    },
    [STATE_PAUSED] = {
        [SND_PCM_CMD_SET_PARAMS] = R,
        [SND_PCM_CMD_PREPARE] = R,
        [SND_PCM_CMD_RELEASE] = SND_PCM_STATE_RELEASED,
        [SND_PCM_CMD_START] = SND_PCM_STATE_RUNNING,
        [SND_PCM_CMD_STOP] = R,
        [EV_QUEUE_STOP] = STATE_PAUSED,
        [EV_QUEUE_START] = SND_PCM_STATE_RUNNING,
        [EV_RESET] = SND_PCM_STATE_INIT,
    },
};
#undef R

/* What each state is to the guest, to the device's callers, and to the
 * host stream. */
static const struct {
    const char *name;
    SndPcmState guest;  /* saved in a snapshot: what the guest believes */
    SndPcmState shown;  /* vsnd_pcm_state(): the spec's state it behaves as */
    bool open;          /* a host stream is open (messages are taken) */
} states[STATE_COUNT] = {
    [SND_PCM_STATE_INIT] = { "init", SND_PCM_STATE_INIT, SND_PCM_STATE_INIT, false },
    [SND_PCM_STATE_PARAMS] = { "params", SND_PCM_STATE_PARAMS, SND_PCM_STATE_PARAMS, false },
    [SND_PCM_STATE_PREPARED] = { "prepared", SND_PCM_STATE_PREPARED, SND_PCM_STATE_PREPARED,
                                 true },
    [SND_PCM_STATE_RUNNING] = { "running", SND_PCM_STATE_RUNNING, SND_PCM_STATE_RUNNING, true },
    [SND_PCM_STATE_STOPPED] = { "stopped", SND_PCM_STATE_STOPPED, SND_PCM_STATE_STOPPED, true },
    [SND_PCM_STATE_RELEASED] = { "released", SND_PCM_STATE_RELEASED, SND_PCM_STATE_RELEASED,
                                 false },
    [STATE_PAUSED] = { "paused by its queue", SND_PCM_STATE_RUNNING, SND_PCM_STATE_STOPPED,
                       true },
};

/* Where @ev leads from @from.  Return: false when the table refuses it. */
static bool next_state(unsigned int from, unsigned int ev, SndPcmState *ret_to)
{
    int8_t to;

    if (from >= STATE_COUNT || ev >= EV_COUNT) {
        return false;
    }
    to = transitions[from][ev];
    if (to < 0) {
        return false;
    }
    if (ret_to) {
        *ret_to = (SndPcmState)to;
    }
    return true;
}

bool vsnd_pcm_transition(SndPcmState from, SndPcmCmd cmd, SndPcmState *ret_to)
{
    /* the guest's part of the table */
    if ((unsigned int)from >= SND_PCM_STATE_MAX || (unsigned int)cmd >= SND_PCM_CMD_MAX) {
        return false;
    }
    return next_state(from, cmd, ret_to);
}

const char *vsnd_pcm_state_name(SndPcmState state)
{
    return (unsigned int)state < STATE_COUNT ? states[state].name : "invalid";
}

const char *vsnd_pcm_cmd_name(SndPcmCmd cmd)
{
    static const char *const names[SND_PCM_CMD_MAX] = {
        "SET_PARAMS", "PREPARE", "RELEASE", "START", "STOP",
    };

    return (unsigned int)cmd < SND_PCM_CMD_MAX ? names[cmd] : "invalid";
}

static bool state_open(SndPcmState s)
{
    return (unsigned int)s < STATE_COUNT && states[s].open;
}

/* The one writer of a stream's state: @ev, as the table says.  Return:
 * false, nothing changed, when the table refuses it. */
static bool stream_event(SndPcmStream *st, unsigned int ev)
{
    SndPcmState to;

    if (!next_state(st->state, ev, &to)) {
        return false;
    }
    st->state = to;
    return true;
}

/* Take @st to @target by the table's shortest path of events (a restore
 * from INIT).  Return: false, nothing changed, when none leads there. */
static bool stream_walk(SndPcmStream *st, SndPcmState target)
{
    int8_t via[STATE_COUNT], from[STATE_COUNT];
    unsigned int queue[STATE_COUNT], head = 0, tail = 0, path[STATE_COUNT], len = 0;

    if ((unsigned int)target >= STATE_COUNT) {
        return false;
    }
    memset(via, -1, sizeof(via));
    via[st->state] = EV_COUNT; /* the start */
    queue[tail++] = st->state;
    while (head < tail && via[target] < 0) {
        unsigned int s = queue[head++];

        for (unsigned int ev = 0; ev < EV_COUNT; ev++) {
            SndPcmState to;

            if (next_state(s, ev, &to) && via[to] < 0) {
                via[to] = (int8_t)ev;
                from[to] = (int8_t)s;
                queue[tail++] = to;
            }
        }
    }
    if (via[target] < 0) {
        return false;
    }
    for (unsigned int s = target; s != st->state; s = (unsigned int)from[s]) {
        path[len++] = (unsigned int)via[s];
    }
    while (len) {
        stream_event(st, path[--len]);
    }
    return true;
}

/* ---- completion ---------------------------------------------------------- */

static void stream_complete(SndPcmStream *st, SndIoMsg *msg, uint32_t status)
{
    SndPcm *pcm = st->pcm;
    uint64_t latency = 0;

    if (st->host && !st->host_failed) {
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
    pcm->host->complete(pcm->opaque, msg, status, (uint32_t)MIN(latency, UINT32_MAX));
}

/* Complete every pending message with @status, oldest first. */
static void stream_flush(SndPcmStream *st, uint32_t status)
{
    SndIoMsg *msg;

    while ((msg = g_queue_pop_head(&st->fifo))) {
        if (!msg->tx) {
            vsnd_io_msg_fill(msg, st->params.format);
        }
        stream_complete(st, msg, status);
    }
}

static void stream_discard(SndPcmStream *st)
{
    SndIoMsg *msg;

    while ((msg = g_queue_pop_head(&st->fifo))) {
        st->pcm->host->discard(st->pcm->opaque, msg);
    }
}

/* ---- software clock while the host end is gone ---------------------------- */

static guint period_ms(const SndPcmStream *st)
{
    uint64_t bps = vsnd_bytes_per_second(st->params.format, st->params.rate,
                                        st->params.channels);
    uint64_t ms;

    if (!bps) {
        return 10;
    }
    ms = (uint64_t)st->params.period_bytes * 1000 / bps;
    return (guint)CLAMP(ms, 1, 1000);
}

static void clock_stop(SndPcmStream *st)
{
    g_clear_handle_id(&st->clock_id, g_source_remove);
}

static gboolean clock_tick(gpointer data)
{
    SndPcmStream *st = data;
    SndIoMsg *msg;

    if (st->state != SND_PCM_STATE_RUNNING || !st->host_failed) {
        st->clock_id = 0;
        return G_SOURCE_REMOVE;
    }
    if (st->carry->len) {
        /* The host end is gone: carried frames go the way of a period. */
        g_byte_array_set_size(st->carry, 0);
        return G_SOURCE_CONTINUE;
    }
    msg = g_queue_pop_head(&st->fifo);
    if (msg) {
        if (!msg->tx) {
            vsnd_io_msg_fill(msg, st->params.format);
        }
        stream_complete(st, msg, VIRTIO_SND_S_IO_ERR);
    }
    return G_SOURCE_CONTINUE;
}

static void clock_start(SndPcmStream *st)
{
    if (!st->clock_id) {
        st->clock_id = g_timeout_add(period_ms(st), clock_tick, st);
    }
}

/* ---- xruns ---------------------------------------------------------------- */

static uint32_t host_latency(const SndPcmStream *st)
{
    uint32_t l = 0;

    if (!st->host || st->host_failed ||
        vsnd_audio_get_latency(st->pcm->audio, st->host->s, &l) < 0) {
        return 0;
    }
    return l;
}

/* Milliseconds @bytes of this stream's audio last, rounded up. */
static guint bytes_ms(const SndPcmStream *st, uint64_t bytes)
{
    uint64_t bps = vsnd_bytes_per_second(st->params.format, st->params.rate,
                                        st->params.channels);

    return bps ? (guint)MIN((bytes * 1000 + bps - 1) / bps, 60000) : 0;
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
           !st->host_failed && st->fifo.length == 0 && !st->carry->len;
}

static void dry_watch_stop(SndPcmStream *st)
{
    g_clear_handle_id(&st->dry_id, g_source_remove);
}

static gboolean dry_check(gpointer data)
{
    SndPcmStream *st = data;
    uint32_t left;

    st->dry_id = 0;
    if (!playback_starved(st)) {
        return G_SOURCE_REMOVE;
    }
    left = host_latency(st);
    if (left >= st->params.period_bytes) {
        /* The host still holds a period or more: it played slower than
         * its latency said.  Look again when that is gone. */
        st->dry_id = g_timeout_add(MAX(bytes_ms(st, left), 1), dry_check, st);
        return G_SOURCE_REMOVE;
    }
    st->dry = true;
    stream_xrun(st, "playback underrun: no message while the host buffer ran dry");
    return G_SOURCE_REMOVE;
}

/* The playback FIFO ran empty while running: an underrun unless a message
 * arrives before the host has played what it holds (at least a period's
 * time: a guest never answers a completion faster). */
static void dry_watch_arm(SndPcmStream *st)
{
    guint ms;

    if (st->dry || st->dry_id || !playback_starved(st)) {
        return;
    }
    ms = MAX(bytes_ms(st, host_latency(st)), period_ms(st));
    st->dry_id = g_timeout_add(ms, dry_check, st);
}

/* ---- pumping data between messages and the host driver -------------------- */

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

static void stream_host_error(SndPcmStream *st, int err);

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
            stream_host_error(st, (int)n);
            return false;
        }
        g_byte_array_remove_range(st->carry, 0, (guint)MIN((size_t)n, st->carry->len));
    }
    return true;
}

static void stream_pump(SndPcmStream *st)
{
    SndIoMsg *msg;

    if (st->state == SND_PCM_STATE_RUNNING && st->host && !st->host_failed &&
        st->carry->len && !pump_carry(st)) {
        return;
    }
    while (st->state == SND_PCM_STATE_RUNNING && st->host && !st->host_failed &&
           (msg = g_queue_peek_head(&st->fifo))) {
        if (msg->done < msg->data_len) {
            ssize_t n = st->dir == VSND_DIR_OUTPUT ? pump_write(st, msg) : pump_read(st, msg);

            if (n == -EAGAIN || n == 0) {
                break; /* the driver calls ready() when it can take more */
            }
            if (n == -EPIPE) {
                stream_host_error(st, -EPIPE);
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
                stream_complete(st, msg, VIRTIO_SND_S_IO_ERR);
                continue;
            }
            if (n < 0) {
                stream_host_error(st, (int)n);
                break;
            }
            msg->done += MIN((size_t)n, msg->data_len - msg->done);
            if (msg->done < msg->data_len) {
                continue;
            }
        }
        g_queue_pop_head(&st->fifo);
        stream_complete(st, msg, VIRTIO_SND_S_OK);
    }
    dry_watch_arm(st);
}

static gboolean pump_idle(gpointer data)
{
    SndPcmStream *st = data;

    st->pump_id = 0;
    stream_pump(st);
    return G_SOURCE_REMOVE;
}

static void schedule_pump(SndPcmStream *st)
{
    if (!st->pump_id) {
        st->pump_id = g_idle_add(pump_idle, st);
    }
}

/* ---- host stream events ---------------------------------------------------- */

static void set_connected(SndPcmStream *st, bool connected)
{
    if (st->connected == connected) {
        return;
    }
    st->connected = connected;
    st->pcm->host->connected(st->pcm->opaque, st->id, connected);
}

static void stream_host_error(SndPcmStream *st, int err)
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
        st->host_failed = false;
        clock_stop(st);
        set_connected(st, true);
        if (st->state == SND_PCM_STATE_RUNNING && st->host && !st->host_started) {
            /* It failed before START reached it: start it now. */
            int r = vsnd_audio_start(st->pcm->audio, st->host->s);

            st->host_started = r == 0 || r == -ENOTSUP;
        }
        schedule_pump(st);
        return;
    }
    if (!st->host_failed) {
        g_warning("stream %u: host stream failed: %s", st->id, g_strerror(-err));
    }
    st->host_failed = true;
    set_connected(st, false);
    if (st->state == SND_PCM_STATE_RUNNING) {
        clock_start(st);
    }
}

static void host_close(SndPcm *pcm, SndHostStream *hs)
{
    g_clear_handle_id(&hs->linger_id, g_source_remove);
    vsnd_audio_close(pcm->audio, hs->s);
    pcm->lingering = g_list_remove(pcm->lingering, hs);
    g_free(hs);
}

static gboolean linger_done(gpointer data)
{
    SndHostStream *hs = data;

    hs->linger_id = 0;
    host_close(hs->pcm, hs);
    return G_SOURCE_REMOVE;
}

static void on_ready(void *opaque)
{
    SndHostStream *hs = opaque;

    if (hs->st) {
        schedule_pump(hs->st);
    } else if (hs->linger_id) {
        /* Drained: close from an idle callback, not inside the driver. */
        g_source_remove(hs->linger_id);
        hs->linger_id = g_idle_add(linger_done, hs);
    }
}

static void on_error(void *opaque, int err)
{
    SndHostStream *hs = opaque;

    if (hs->st) {
        stream_host_error(hs->st, err > 0 ? -err : err);
    }
}

static const VsndAudioStreamEvents host_events = {
    .ready = on_ready,
    .error = on_error,
};

static void stream_apply_gain(SndPcmStream *st)
{
    int r;

    if (!st->host) {
        return;
    }
    r = vsnd_audio_set_volume(st->pcm->audio, st->host->s, st->gain, st->mute);
    st->soft_gain = r == -ENOTSUP;
    if (r < 0 && r != -ENOTSUP) {
        g_warning("stream %u: cannot set host volume: %s", st->id, g_strerror(-r));
    }
}

static int stream_open(SndPcmStream *st)
{
    SndPcm *pcm = st->pcm;
    uint8_t positions[VIRTIO_SND_CHMAP_MAX_SIZE];
    g_autoptr(GError) error = NULL;
    VsndPcmParams p = {
        .direction = st->dir,
        .format = st->params.format,
        .rate = st->params.rate,
        .channels = st->params.channels,
        .period_bytes = st->params.period_bytes,
        .buffer_bytes = st->params.buffer_bytes,
        .positions = positions,
        .label = st->label,
        .target = st->target,
        .stream_id = st->id,
    };
    SndHostStream *hs = g_new0(SndHostStream, 1);

    vsnd_chmap_standard(st->params.channels, positions);
    hs->pcm = pcm;
    hs->st = st;
    st->host = hs; /* events during open find their stream */
    hs->id = st->id;
    hs->s = vsnd_audio_open(pcm->audio, &p, &host_events, hs, &error);
    if (!hs->s) {
        /* The previous host stream of this stream may still be draining
         * and hold what the new one needs (the wav driver's file): a new
         * PREPARE ends that drain, then the open is tried again. */
        for (GList *l = pcm->lingering; l; l = l->next) {
            SndHostStream *old = l->data;

            if (old->id == st->id) {
                host_close(pcm, old);
                g_clear_error(&error);
                hs->s = vsnd_audio_open(pcm->audio, &p, &host_events, hs, &error);
                break;
            }
        }
    }
    if (!hs->s) {
        g_warning("stream %u: cannot open host stream: %s", st->id,
                  error ? error->message : "unknown error");
        st->host = NULL;
        g_free(hs);
        /* The host end may be gone: the jack says so. */
        set_connected(st, vsnd_audio_is_connected(pcm->audio, st->dir, st->target));
        return -EIO;
    }
    st->host_failed = false;
    st->host_started = false;
    st->soft_gain = false;
    st->dry = false;
    st->xruns = 0;
    set_connected(st, true);
    if (st->mute || st->gain != SND_GAIN_UNITY) {
        stream_apply_gain(st);
    }
    return 0;
}

/* Close the host stream; playback drains first when the driver can. */
static void stream_close(SndPcmStream *st, bool drain)
{
    SndPcm *pcm = st->pcm;
    SndHostStream *hs = st->host;

    g_clear_handle_id(&st->pump_id, g_source_remove);
    clock_stop(st);
    dry_watch_stop(st);
    if (!hs) {
        return;
    }
    if (st->xruns) {
        g_message("stream %u: %u xruns while it was prepared", st->id, st->xruns);
    }
    st->host = NULL;
    hs->st = NULL;
    if (drain && st->dir == VSND_DIR_OUTPUT && !st->host_failed &&
        vsnd_audio_drain(pcm->audio, hs->s) == -EINPROGRESS) {
        hs->linger_id = g_timeout_add(SND_PCM_LINGER_MS, linger_done, hs);
        pcm->lingering = g_list_prepend(pcm->lingering, hs);
        return;
    }
    host_close(pcm, hs);
}

static void update_polling(SndPcm *pcm)
{
    bool on = false;

    for (uint32_t i = 0; i < pcm->n && !on; i++) {
        const SndPcmStream *st = &pcm->streams[i];

        /* Only while running: what the guest queued before START (or
         * before RELEASE) is taken when that control request arrives. */
        on = st->has_params && st->state == SND_PCM_STATE_RUNNING &&
             (st->params.features & (1u << VIRTIO_SND_PCM_F_MSG_POLLING));
    }
    if (on != pcm->polling) {
        pcm->polling = on;
        if (pcm->host->polling) {
            pcm->host->polling(pcm->opaque, on);
        }
    }
}

/* ---- set-up ----------------------------------------------------------------- */

static void stream_caps(SndPcm *pcm, SndPcmStream *st, const VsndStreamConfig *sc)
{
    const uint64_t fmt_mask = (1ull << VSND_PCM_FMT_COUNT) - 1;
    const uint64_t rate_mask = (1ull << VSND_PCM_RATE_COUNT) - 1;
    VsndPcmCaps caps = { 0 };
    unsigned int cmin, cmax;
    int r;

    r = vsnd_audio_query_caps(pcm->audio, st->dir, &caps);
    if (r < 0 || !(caps.formats & fmt_mask) || !(caps.rates & rate_mask)) {
        g_warning("stream %u: host driver reports no usable capabilities (%s); "
                  "offering S16 48 kHz, opening will fail", st->id,
                  r < 0 ? g_strerror(-r) : "empty");
        caps.formats = 1ull << VIRTIO_SND_PCM_FMT_S16;
        caps.rates = 1ull << VIRTIO_SND_PCM_RATE_48000;
        caps.channels_min = 1;
        caps.channels_max = 2;
    }
    st->formats = caps.formats & fmt_mask;
    st->rates = caps.rates & rate_mask;
    if (sc && sc->formats) {
        if (st->formats & sc->formats) {
            st->formats &= sc->formats;
        } else {
            g_warning("stream %u: none of the configured formats is supported by the host "
                      "driver; offering the driver's", st->id);
        }
    }
    if (sc && sc->rates) {
        if (st->rates & sc->rates) {
            st->rates &= sc->rates;
        } else {
            g_warning("stream %u: none of the configured rates is supported by the host "
                      "driver; offering the driver's", st->id);
        }
    }
    cmin = MAX(1u, caps.channels_min);
    cmax = MIN((unsigned int)MAX(caps.channels_max, 1), VIRTIO_SND_CHMAP_MAX_SIZE);
    if (sc) {
        unsigned int want_min = MAX(cmin, (unsigned int)sc->channels_min);
        unsigned int want_max = MIN(cmax, (unsigned int)sc->channels_max);

        if (want_min <= want_max) {
            cmin = want_min;
            cmax = want_max;
        } else {
            g_warning("stream %u: configured channels %u..%u not supported by the host "
                      "driver (%u..%u)", st->id, sc->channels_min, sc->channels_max, cmin,
                      cmax);
        }
    } else {
        cmax = MIN(cmax, 2u);
    }
    if (cmin > cmax) {
        cmax = cmin;
    }
    st->channels_min = (uint8_t)cmin;
    st->channels_max = (uint8_t)cmax;
}

SndPcm *vsnd_pcm_new(const VsndDeviceConfig *cfg, VsndAudio *audio, const SndPcmHost *host,
                    void *opaque)
{
    SndPcm *pcm = g_new0(SndPcm, 1);
    uint32_t per_dir[2] = { 0, 0 };

    pcm->cfg = cfg;
    pcm->audio = audio;
    pcm->host = host;
    pcm->opaque = opaque;
    pcm->n = cfg->streams;
    pcm->streams = g_new0(SndPcmStream, pcm->n ? pcm->n : 1);
    for (uint32_t i = 0; i < pcm->n; i++) {
        SndPcmStream *st = &pcm->streams[i];
        const VsndStreamConfig *sc = cfg->stream ? &cfg->stream[i] : NULL;

        st->pcm = pcm;
        st->id = i;
        st->dir = sc ? sc->direction : (i % 2 ? VSND_DIR_INPUT : VSND_DIR_OUTPUT);
        if (st->dir != VSND_DIR_INPUT) {
            st->dir = VSND_DIR_OUTPUT;
        }
        /* The k-th playback and the k-th capture stream share function
         * group k: Linux makes them one PCM device (hw:N,k). */
        st->nid = per_dir[st->dir]++;
        st->target = sc ? sc->target : NULL;
        st->label = g_strdup_printf("%s: %s %u", cfg->name ? cfg->name : "vhost-user-snd",
                                    st->dir == VSND_DIR_OUTPUT ? "playback" : "capture", i);
        st->gain = SND_GAIN_UNITY; /* state: INIT, zeroed */
        st->carry = g_byte_array_new();
        g_queue_init(&st->fifo);
        stream_caps(pcm, st, sc);
        st->connected = vsnd_audio_is_connected(audio, st->dir, st->target);
    }
    return pcm;
}

void vsnd_pcm_free(SndPcm *pcm)
{
    if (!pcm) {
        return;
    }
    vsnd_pcm_reset(pcm);
    for (uint32_t i = 0; i < pcm->n; i++) {
        g_free(pcm->streams[i].label);
        g_byte_array_unref(pcm->streams[i].carry);
    }
    g_free(pcm->streams);
    g_free(pcm);
}

void vsnd_pcm_reset(SndPcm *pcm)
{
    for (uint32_t i = 0; i < pcm->n; i++) {
        SndPcmStream *st = &pcm->streams[i];

        stream_discard(st);
        stream_close(st, false);
        g_byte_array_set_size(st->carry, 0);
        stream_event(st, EV_RESET);
        st->has_params = false;
        memset(&st->params, 0, sizeof(st->params));
        st->host_failed = false;
        st->connected = vsnd_audio_is_connected(pcm->audio, st->dir, st->target);
        st->gain = SND_GAIN_UNITY;
        st->mute = false;
        st->soft_gain = false;
    }
    while (pcm->lingering) {
        host_close(pcm, pcm->lingering->data);
    }
    update_polling(pcm);
}

/* ---- queries ------------------------------------------------------------------ */

uint32_t vsnd_pcm_count(const SndPcm *pcm)
{
    return pcm->n;
}

void vsnd_pcm_info(const SndPcm *pcm, uint32_t id, struct virtio_snd_pcm_info *ret_info)
{
    const SndPcmStream *st = &pcm->streams[id];

    g_assert(id < pcm->n);
    memset(ret_info, 0, sizeof(*ret_info));
    ret_info->hdr.hda_fn_nid = GUINT32_TO_LE(st->nid);
    ret_info->features = GUINT32_TO_LE(SND_PCM_FEATURES_OFFERED);
    ret_info->formats = GUINT64_TO_LE(st->formats);
    ret_info->rates = GUINT64_TO_LE(st->rates);
    ret_info->direction = st->dir == VSND_DIR_OUTPUT ? VIRTIO_SND_D_OUTPUT : VIRTIO_SND_D_INPUT;
    ret_info->channels_min = st->channels_min;
    ret_info->channels_max = st->channels_max;
}

VsndDirection vsnd_pcm_direction(const SndPcm *pcm, uint32_t id)
{
    g_assert(id < pcm->n);
    return pcm->streams[id].dir;
}

uint32_t vsnd_pcm_nid(const SndPcm *pcm, uint32_t id)
{
    g_assert(id < pcm->n);
    return pcm->streams[id].nid;
}

uint8_t vsnd_pcm_channels_max(const SndPcm *pcm, uint32_t id)
{
    g_assert(id < pcm->n);
    return pcm->streams[id].channels_max;
}

SndPcmState vsnd_pcm_state(const SndPcm *pcm, uint32_t id)
{
    g_assert(id < pcm->n);
    return states[pcm->streams[id].state].shown;
}

bool vsnd_pcm_params(const SndPcm *pcm, uint32_t id, SndPcmParams *ret_params)
{
    g_assert(id < pcm->n);
    if (!pcm->streams[id].has_params) {
        return false;
    }
    *ret_params = pcm->streams[id].params;
    return true;
}

unsigned int vsnd_pcm_pending(const SndPcm *pcm, uint32_t id)
{
    g_assert(id < pcm->n);
    return g_queue_get_length(&pcm->streams[id].fifo);
}

bool vsnd_pcm_connected(const SndPcm *pcm, uint32_t id)
{
    g_assert(id < pcm->n);
    return pcm->streams[id].connected;
}

/* ---- control requests ------------------------------------------------------- */

/* The one parameter check (SET_PARAMS and migration).  Return: a
 * VIRTIO_SND_S_* status; *@ret_why names a refusal.  Bit indices are
 * checked against 64 before any shift. */
static uint32_t params_verdict(const SndPcmStream *st, const SndPcmParams *p,
                               const char **ret_why)
{
    const uint32_t shmem = (1u << VIRTIO_SND_PCM_F_SHMEM_HOST) |
                           (1u << VIRTIO_SND_PCM_F_SHMEM_GUEST);
    unsigned int frame;

    if (p->format >= 64 || p->format >= VSND_PCM_FMT_COUNT) {
        *ret_why = "undefined format";
        return VIRTIO_SND_S_BAD_MSG;
    }
    if (p->rate >= 64 || p->rate >= VSND_PCM_RATE_COUNT) {
        *ret_why = "undefined rate";
        return VIRTIO_SND_S_BAD_MSG;
    }
    if (p->features >> VSND_PCM_F_COUNT) {
        *ret_why = "undefined features";
        return VIRTIO_SND_S_BAD_MSG;
    }
    if ((p->features & shmem) == shmem) {
        *ret_why = "both shared memory features";
        return VIRTIO_SND_S_BAD_MSG;
    }
    if (p->channels == 0) {
        *ret_why = "zero channels";
        return VIRTIO_SND_S_BAD_MSG;
    }
    if (p->period_bytes == 0 || p->buffer_bytes == 0 || p->buffer_bytes % p->period_bytes) {
        *ret_why = "buffer is not a multiple of the period";
        return VIRTIO_SND_S_BAD_MSG;
    }
    frame = vsnd_pcm_frame_bytes(p->format, p->channels);
    if (frame && p->period_bytes % frame) {
        *ret_why = "period is not whole frames";
        return VIRTIO_SND_S_BAD_MSG;
    }
    if (!(st->formats & (1ull << p->format)) || !(st->rates & (1ull << p->rate)) ||
        p->channels < st->channels_min || p->channels > st->channels_max ||
        (p->features & ~SND_PCM_FEATURES_OFFERED) || p->buffer_bytes > SND_PCM_MAX_BUFFER_BYTES) {
        *ret_why = "format, rate, channels, features or buffer size not offered";
        return VIRTIO_SND_S_NOT_SUPP;
    }
    return VIRTIO_SND_S_OK;
}

static uint32_t params_check(const SndPcmStream *st, const SndPcmParams *p)
{
    const char *why = NULL;
    uint32_t status = params_verdict(st, p, &why);

    if (status != VIRTIO_SND_S_OK) {
        vsnd_guest_error("stream %u: SET_PARAMS refused (format %u rate %u channels %u "
                        "features 0x%x buffer %u period %u): %s", st->id, p->format, p->rate,
                        p->channels, p->features, p->buffer_bytes, p->period_bytes, why);
    }
    return status;
}

uint32_t vsnd_pcm_set_params(SndPcm *pcm, const struct virtio_snd_pcm_set_params *req)
{
    uint32_t id = GUINT32_FROM_LE(req->hdr.stream_id);
    SndPcmParams p = {
        .buffer_bytes = GUINT32_FROM_LE(req->buffer_bytes),
        .period_bytes = GUINT32_FROM_LE(req->period_bytes),
        .features = GUINT32_FROM_LE(req->features),
        .channels = req->channels,
        .format = req->format,
        .rate = req->rate,
    };
    SndPcmStream *st;
    uint32_t status;

    if (id >= pcm->n) {
        vsnd_guest_error("SET_PARAMS: stream id %u out of range (%u streams)", id, pcm->n);
        return VIRTIO_SND_S_BAD_MSG;
    }
    st = &pcm->streams[id];
    if (!next_state(st->state, SND_PCM_CMD_SET_PARAMS, NULL)) {
        vsnd_guest_error("stream %u: SET_PARAMS refused in state %s", id,
                        vsnd_pcm_state_name(st->state));
        return VIRTIO_SND_S_BAD_MSG;
    }
    status = params_check(st, &p);
    if (status != VIRTIO_SND_S_OK) {
        return status;
    }
    stream_flush(st, VIRTIO_SND_S_IO_ERR);
    stream_close(st, false);
    g_byte_array_set_size(st->carry, 0);
    st->params = p;
    st->has_params = true;
    stream_event(st, SND_PCM_CMD_SET_PARAMS);
    update_polling(pcm);
    return VIRTIO_SND_S_OK;
}

uint32_t vsnd_pcm_command(SndPcm *pcm, uint32_t id, SndPcmCmd cmd)
{
    SndPcmStream *st;
    int r;

    if (cmd == SND_PCM_CMD_SET_PARAMS || (unsigned int)cmd >= SND_PCM_CMD_MAX) {
        return VIRTIO_SND_S_BAD_MSG;
    }
    if (id >= pcm->n) {
        vsnd_guest_error("%s: stream id %u out of range (%u streams)", vsnd_pcm_cmd_name(cmd), id,
                        pcm->n);
        return VIRTIO_SND_S_BAD_MSG;
    }
    st = &pcm->streams[id];
    if (!next_state(st->state, cmd, NULL)) {
        vsnd_guest_error("stream %u: %s refused in state %s", id, vsnd_pcm_cmd_name(cmd),
                        vsnd_pcm_state_name(st->state));
        return VIRTIO_SND_S_BAD_MSG;
    }
    switch (cmd) {
    case SND_PCM_CMD_PREPARE:
        if (!st->has_params) {
            return VIRTIO_SND_S_BAD_MSG;
        }
        /* Re-prepare: nothing queued so far will play. */
        stream_flush(st, VIRTIO_SND_S_IO_ERR);
        g_byte_array_set_size(st->carry, 0);
        if (!st->host && stream_open(st) < 0) {
            return VIRTIO_SND_S_IO_ERR;
        }
        break;
    case SND_PCM_CMD_START:
        if (st->host_failed) {
            break; /* runs on the software clock */
        }
        r = vsnd_audio_start(pcm->audio, st->host->s);
        if (r < 0 && r != -ENOTSUP) {
            g_warning("stream %u: cannot start host stream: %s", id, g_strerror(-r));
            return VIRTIO_SND_S_IO_ERR;
        }
        st->host_started = true;
        break;
    case SND_PCM_CMD_STOP:
        clock_stop(st);
        dry_watch_stop(st);
        st->dry = false;
        g_clear_handle_id(&st->pump_id, g_source_remove);
        if (st->host_started) {
            r = vsnd_audio_stop(pcm->audio, st->host->s);
            if (r < 0 && r != -ENOTSUP) {
                g_warning("stream %u: cannot stop host stream: %s", id, g_strerror(-r));
            }
            st->host_started = false;
        }
        break;
    case SND_PCM_CMD_RELEASE:
        /* Spec "Stream Release": every pending message completes first. */
        stream_flush(st, VIRTIO_SND_S_IO_ERR);
        g_byte_array_set_size(st->carry, 0);
        /* Linux sends STOP the moment its hw_ptr reaches appl_ptr, that
         * is when the last message completed, and RELEASE right after.
         * A message completes when the host buffer took it, so the last
         * periods are still queued in the paused host stream: resume it,
         * so that the drain plays every frame whose message completed
         * (drivers drop what a stopped stream holds). */
        if (states[st->state].shown == SND_PCM_STATE_STOPPED && st->dir == VSND_DIR_OUTPUT &&
            st->host &&
            !st->host_failed && !st->host_started) {
            r = vsnd_audio_start(pcm->audio, st->host->s);
            st->host_started = r == 0 || r == -ENOTSUP;
        }
        stream_close(st, true);
        break;
    default:
        break;
    }
    stream_event(st, cmd);
    if (st->state == SND_PCM_STATE_RUNNING) {
        if (st->host_failed) {
            clock_start(st);
        } else {
            stream_pump(st);
        }
    }
    update_polling(pcm);
    return VIRTIO_SND_S_OK;
}

uint32_t vsnd_pcm_submit(SndPcm *pcm, SndIoMsg *msg)
{
    const char *q = msg->tx ? "tx" : "rx";
    SndPcmStream *st;

    if (msg->stream_id >= pcm->n) {
        vsnd_guest_error("%s: stream id %u out of range (%u streams)", q, msg->stream_id, pcm->n);
        return VIRTIO_SND_S_BAD_MSG;
    }
    st = &pcm->streams[msg->stream_id];
    if (msg->tx != (st->dir == VSND_DIR_OUTPUT)) {
        vsnd_guest_error("%s: stream %u has the other direction", q, st->id);
        return VIRTIO_SND_S_BAD_MSG;
    }
    if (!state_open(st->state)) {
        vsnd_guest_error("%s: stream %u is not prepared (state %s)", q, st->id,
                        vsnd_pcm_state_name(st->state));
        return VIRTIO_SND_S_BAD_MSG;
    }
    if (msg->data_len > st->params.buffer_bytes) {
        vsnd_guest_error("%s: stream %u: message of %zu bytes exceeds the buffer (%u)", q, st->id,
                        msg->data_len, st->params.buffer_bytes);
        return VIRTIO_SND_S_BAD_MSG;
    }
    msg->done = 0;
    g_queue_push_tail(&st->fifo, msg);
    /* A message ends the dry spell; the watch restarts when the FIFO
     * runs empty again. */
    dry_watch_stop(st);
    st->dry = false;
    if (st->state == SND_PCM_STATE_RUNNING) {
        if (st->host_failed) {
            clock_start(st);
        } else {
            stream_pump(st);
        }
    }
    return 0;
}

void vsnd_pcm_set_gain(SndPcm *pcm, uint32_t id, uint32_t gain, bool mute)
{
    SndPcmStream *st;

    if (id >= pcm->n) {
        return;
    }
    st = &pcm->streams[id];
    st->gain = MIN(gain, SND_GAIN_UNITY);
    st->mute = mute;
    stream_apply_gain(st);
}

/* The most a queue stop carries for @st, in whole frames: no more than
 * the guest's buffer (a restore refuses more) and this stream's share of
 * the migration blob, so that every saved state loads. */
static size_t carry_limit(const SndPcmStream *st)
{
    unsigned int frame = vsnd_pcm_frame_bytes(st->params.format, st->params.channels);
    size_t lim = MIN((size_t)st->params.buffer_bytes, (size_t)SND_PCM_MAX_CARRY_BYTES);

    lim = MIN(lim, (size_t)SND_PCM_CARRY_BUDGET_BYTES / st->pcm->n);
    return frame ? lim / frame * frame : lim;
}

/* Playback: take the unplayed frames of every pending message over into
 * the carry (bounded), then complete the messages: OK when all their
 * frames were carried (they are played when the queue starts again),
 * IO_ERR when some had to be dropped. */
static void stream_take_over(SndPcmStream *st)
{
    SndIoMsg *msg;
    size_t lost = 0;
    size_t limit = carry_limit(st);

    /* Untouched messages, newest first, go back to the ring when they
     * are the newest popped: the guest sees them completed only once
     * they are played, after the restart. */
    while (st->pcm->host->giveback && (msg = g_queue_peek_tail(&st->fifo)) && !msg->done) {
        g_queue_pop_tail(&st->fifo);
        if (!st->pcm->host->giveback(st->pcm->opaque, msg)) {
            g_queue_push_tail(&st->fifo, msg);
            break;
        }
    }
    while ((msg = g_queue_pop_head(&st->fifo))) {
        unsigned int cnt = vsnd_io_msg_cursor(msg);
        size_t dropped = 0;

        for (unsigned int i = 0; i < cnt; i++) {
            size_t room = limit - MIN(st->carry->len, limit);
            size_t l = MIN(msg->cursor[i].iov_len, room);

            g_byte_array_append(st->carry, msg->cursor[i].iov_base, (guint)l);
            dropped += msg->cursor[i].iov_len - l;
        }
        lost += dropped;
        msg->done = msg->data_len;
        stream_complete(st, msg, dropped ? VIRTIO_SND_S_IO_ERR : VIRTIO_SND_S_OK);
    }
    if (lost) {
        /* more than its buffer: the guest's doing */
        vsnd_guest_error("stream %u: queue stop: %zu queued playback bytes beyond %zu dropped",
                         st->id, lost, limit);
    }
}

/* Capture: hand waiting buffers back to the ring, newest first, or
 * complete them (silence, FIFO order) when the host cannot take them. */
static void stream_give_back(SndPcmStream *st)
{
    SndIoMsg *msg;

    while (st->pcm->host->giveback && (msg = g_queue_pop_tail(&st->fifo))) {
        if (!st->pcm->host->giveback(st->pcm->opaque, msg)) {
            g_queue_push_tail(&st->fifo, msg);
            break;
        }
    }
    stream_flush(st, VIRTIO_SND_S_IO_ERR);
}

void vsnd_pcm_queue_stopped(SndPcm *pcm, VsndDirection dir)
{
    for (uint32_t i = 0; i < pcm->n; i++) {
        SndPcmStream *st = &pcm->streams[i];

        if (st->dir != dir) {
            continue;
        }
        if (dir == VSND_DIR_OUTPUT && state_open(st->state)) {
            stream_take_over(st);
        } else if (dir == VSND_DIR_INPUT) {
            stream_give_back(st);
        } else {
            stream_flush(st, VIRTIO_SND_S_IO_ERR);
        }
        if (st->state == SND_PCM_STATE_RUNNING) {
            clock_stop(st);
            dry_watch_stop(st);
            g_clear_handle_id(&st->pump_id, g_source_remove);
            if (st->host && st->host_started) {
                vsnd_audio_stop(pcm->audio, st->host->s);
                st->host_started = false;
            }
            stream_event(st, EV_QUEUE_STOP);
        }
    }
    update_polling(pcm);
}

void vsnd_pcm_queue_started(SndPcm *pcm, VsndDirection dir)
{
    for (uint32_t i = 0; i < pcm->n; i++) {
        SndPcmStream *st = &pcm->streams[i];

        if (st->dir != dir || st->state != STATE_PAUSED) {
            continue;
        }
        if (st->host && !st->host_failed) {
            int r = vsnd_audio_start(pcm->audio, st->host->s);

            st->host_started = r == 0 || r == -ENOTSUP;
        }
        stream_event(st, EV_QUEUE_START);
        st->dry = false;
        if (st->host_failed) {
            clock_start(st);
        } else {
            dry_watch_arm(st);
        }
    }
    /* A MSG_POLLING stream is never kicked (Linux): resumed, it must be
     * polled again, or nothing it queues is ever taken. */
    update_polling(pcm);
}

/* ---- migration and restart ---------------------------------------------------- */

void vsnd_pcm_snapshot(const SndPcm *pcm, uint32_t id, SndPcmSnapshot *ret)
{
    const SndPcmStream *st;

    g_assert(id < pcm->n);
    st = &pcm->streams[id];
    memset(ret, 0, sizeof(*ret));
    ret->direction = st->dir;
    ret->state = states[st->state].guest;
    ret->has_params = st->has_params;
    ret->params = st->params;
    ret->gain = st->gain;
    ret->mute = st->mute;
    ret->carry = st->carry->data;
    ret->carry_len = st->carry->len;
}

bool vsnd_pcm_snapshot_valid(const SndPcm *pcm, uint32_t id, const SndPcmSnapshot *snap,
                            const char **ret_why)
{
    const SndPcmStream *st;
    const char *why = NULL;

    if (id >= pcm->n) {
        *ret_why = "stream id out of range";
        return false;
    }
    st = &pcm->streams[id];
    if (snap->has_params != (snap->state != SND_PCM_STATE_INIT)) {
        /* Only INIT lacks parameters; every other state was reached
         * through SET_PARAMS and keeps them. */
        *ret_why = "stream state and parameters disagree";
        return false;
    }
    if (snap->has_params && params_verdict(st, &snap->params, &why) != VIRTIO_SND_S_OK) {
        *ret_why = why;
        return false;
    }
    if (!snap->has_params && (snap->params.buffer_bytes || snap->params.period_bytes ||
                              snap->params.channels || snap->params.format ||
                              snap->params.rate || snap->params.features)) {
        *ret_why = "parameters on a stream that has none";
        return false;
    }
    if (snap->carry_len) {
        unsigned int frame = vsnd_pcm_frame_bytes(snap->params.format, snap->params.channels);

        if (st->dir != VSND_DIR_OUTPUT || !state_open(snap->state) ||
            snap->carry_len > MIN(snap->params.buffer_bytes, SND_PCM_MAX_CARRY_BYTES) ||
            (frame && snap->carry_len % frame)) {
            *ret_why = "carried playback impossible for this stream";
            return false;
        }
    }
    return true;
}

void vsnd_pcm_restore(SndPcm *pcm, uint32_t id, const SndPcmSnapshot *snap)
{
    SndPcmStream *st;
    SndPcmState target;

    g_assert(id < pcm->n);
    st = &pcm->streams[id];
    stream_discard(st);
    stream_close(st, false);
    stream_event(st, EV_RESET);
    st->has_params = snap->has_params;
    st->params = snap->params;
    st->host_failed = false;
    st->host_started = false;
    st->gain = snap->gain;
    st->mute = snap->mute;
    st->soft_gain = false;
    g_byte_array_set_size(st->carry, 0);
    g_byte_array_append(st->carry, snap->carry, (guint)snap->carry_len);
    if (state_open(snap->state) && stream_open(st) < 0) {
        /* No host stream here: the stream keeps its state and runs on
         * the software clock, the jack says disconnected. */
        st->host_failed = true;
        set_connected(st, false);
    }
    /* Every ring is stopped while a state is loaded: the guest's state
     * after its queue stopped (RUNNING is paused, resumed when the ring
     * starts), reached through the table. */
    if (!next_state(snap->state, EV_QUEUE_STOP, &target) || !stream_walk(st, target)) {
        g_warning("stream %u: state %s cannot be restored; left at init", id,
                  vsnd_pcm_state_name(snap->state));
    }
    update_polling(pcm);
}
