/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pulse.c - PulseAudio driver module (libpulse, pa_threaded_mainloop).
 *
 * Theory of operation:
 *  - One context per backend on a private threaded mainloop.  init()
 *    connects for real (no autospawn) and fails with the server's reason,
 *    which is what lets "auto" move on.  Every libpulse call from the main
 *    thread happens under the mainloop lock; callbacks run on the mainloop
 *    thread and reach the stream manager only through a VsndEventRelay.
 *  - A stream is a pa_stream created at open() (PREPARE) corked; start()
 *    uncorks, stop() corks (queued audio stays), drain() asks the server.
 *    Playback writes go straight into the server's buffer (pa_stream_
 *    begin_write): write() takes a period when the server can take it,
 *    else -EAGAIN and ready() from the write callback.  A longer message
 *    (the guest may send up to buffer_bytes) is taken in parts of at
 *    least a period as room appears, so no size can wedge the stream or
 *    pass for a lost host.  Capture fragments
 *    are staged in a bounded ring (buffer_bytes + one period) from the read
 *    callback; read() takes whole requests from it.
 *  - Buffer metrics: tlength buffer_bytes (at least two periods): the spec
 *    wants an intermediate buffer to hold buffer_bytes.  But the driver
 *    writes no more than a period less (write_room()), in parts of
 *    write_step() as room appears: a server that took the whole buffer at
 *    once completed every message of a guest's prefill together, which
 *    Linux reads as no progress (EIO at once: two 125 ms periods, on
 *    PulseAudio and pipewire-pulse).  minreq one period (with two periods,
 *    write_step(): requests must come while a period is still playing);
 *    prebuf one period (playback), fragsize one period (capture).
 *  - latency = pa_stream_get_latency() (server and device delay), plus the
 *    staged bytes for capture; where libpulse says 0 or cannot tell and
 *    the server has not run dry, what the server holds by its requests;
 *    on pipewire-pulse, graph_latency() and graph_capture_latency().
 *  - Volume/mute go to the sink input / source output (linear 0..65536 ->
 *    pa_sw_volume_from_linear), and are re-applied after a reconnect.
 *  - Streams are named "<label>" with application.name = the VM name,
 *    media.role = role option (default "music"), and target the sink or
 *    source named by params->target, the sink=/source= option, or the
 *    server default; a capture target naming a sink means its monitor.
 *  - The server goes away: every stream gets error(-ECONNRESET) once and
 *    read/write answer -ENODEV without blocking; a timer on the mainloop
 *    retries every 500 ms, and once the context is back the streams are
 *    re-created (same parameters, running state, volume) and each reports
 *    error(0) when ready.  A single stream failing (its sink removed) gets
 *    error(-ENODEV) and is re-created the same way.
 *  - is_connected(): the server is up and the named (or default) sink or
 *    source exists, from lists kept current by a subscription.
 * Options: server=, role=, sink=, source=.
 */
#include "config.h"

#define G_LOG_DOMAIN "vsnd-audio"

#include <errno.h>
#include <pulse/pulseaudio.h>
#include <string.h>

/* Start-up errors reach the user: translated in the daemon's domain. */
#include <glib/gi18n-lib.h>

#include "audio.h"
#include "byte-ring.h"
#include "event-relay.h"
#include "graph-cycle.h"
#include "iov-util.h"
#include "pcm-format.h"

#define CONNECT_TIMEOUT_USEC (5 * PA_USEC_PER_SEC)
#define RETRY_USEC (500 * PA_USEC_PER_MSEC)

struct VsndAudioBackend {
    pa_threaded_mainloop *ml;
    pa_context *ctx;        /* NULL while waiting to reconnect */
    bool connected;         /* ctx is READY */
    bool init_done;
    bool timed_out;
    char *server;
    char *vm_name;
    char *role;
    char *sink;
    char *source;
    GList *streams;         /* VsndAudioStream *, under the lock */
    pa_time_event *retry;
    GHashTable *sinks, *sources;         /* names present */
    GHashTable *new_sinks, *new_sources; /* lists being fetched */
    int lists_pending;      /* list replies outstanding */
    char *default_sink, *default_source;
    bool on_pipewire;       /* the server is pipewire-pulse (server info) */
};

struct VsndAudioStream {
    VsndAudioBackend *be;
    VsndDirection dir;
    char *label;
    char *target;
    pa_sample_spec ss;
    pa_channel_map map;
    uint8_t vformat;        /* VSND_PCM_FMT_* */
    uint32_t frame_bytes;
    uint32_t period_bytes;
    uint32_t buffer_bytes;
    pa_stream *st;
    VsndEventRelay *relay;
    bool running;
    bool need_ready;
    bool lost;              /* error reported, waiting to come back */
    pa_operation *drain_op; /* cancelled when the pa_stream goes */
    bool volume_set;
    uint32_t volume;
    bool mute;
    VsndRing ring;          /* capture staging */
    bool overrun;
    /* On pipewire-pulse (graph_latency()): the graph's cycles, from the
     * server's requests; what pa_stream_writable_size() said after the
     * last request or write (a request grants what a cycle read). */
    VsndGraphCycle cycle;
    size_t writable_seen;
    bool primed;            /* written to since created: requests are cycles */
    bool underflow;         /* the server ran dry since the last write */
};

static void stream_create(VsndAudioStream *s);

/* ---- helpers (mainloop lock held) ------------------------------------ */

static bool pa_format_of(unsigned int fmt, pa_sample_format_t *ret)
{
    switch (fmt) {
    case VSND_PCM_FMT_U8: *ret = PA_SAMPLE_U8; return true;
    case VSND_PCM_FMT_A_LAW: *ret = PA_SAMPLE_ALAW; return true;
    case VSND_PCM_FMT_MU_LAW: *ret = PA_SAMPLE_ULAW; return true;
    case VSND_PCM_FMT_S16: *ret = PA_SAMPLE_S16LE; return true;
    case VSND_PCM_FMT_S24_3: *ret = PA_SAMPLE_S24LE; return true;
    case VSND_PCM_FMT_S24: *ret = PA_SAMPLE_S24_32LE; return true;
    case VSND_PCM_FMT_S32: *ret = PA_SAMPLE_S32LE; return true;
    case VSND_PCM_FMT_FLOAT: *ret = PA_SAMPLE_FLOAT32LE; return true;
    default: return false;
    }
}

static pa_channel_position_t pa_position_of(uint8_t pos, unsigned int idx)
{
    switch (pos) {
    case VSND_CHMAP_MONO: return PA_CHANNEL_POSITION_MONO;
    case VSND_CHMAP_FL: return PA_CHANNEL_POSITION_FRONT_LEFT;
    case VSND_CHMAP_FR: return PA_CHANNEL_POSITION_FRONT_RIGHT;
    case VSND_CHMAP_RL: return PA_CHANNEL_POSITION_REAR_LEFT;
    case VSND_CHMAP_RR: return PA_CHANNEL_POSITION_REAR_RIGHT;
    case VSND_CHMAP_FC: return PA_CHANNEL_POSITION_FRONT_CENTER;
    case VSND_CHMAP_LFE: return PA_CHANNEL_POSITION_LFE;
    case VSND_CHMAP_SL: return PA_CHANNEL_POSITION_SIDE_LEFT;
    case VSND_CHMAP_SR: return PA_CHANNEL_POSITION_SIDE_RIGHT;
    case VSND_CHMAP_RC: return PA_CHANNEL_POSITION_REAR_CENTER;
    case VSND_CHMAP_FLC: return PA_CHANNEL_POSITION_FRONT_LEFT_OF_CENTER;
    case VSND_CHMAP_FRC: return PA_CHANNEL_POSITION_FRONT_RIGHT_OF_CENTER;
    case VSND_CHMAP_TC: return PA_CHANNEL_POSITION_TOP_CENTER;
    case VSND_CHMAP_TFL: return PA_CHANNEL_POSITION_TOP_FRONT_LEFT;
    case VSND_CHMAP_TFR: return PA_CHANNEL_POSITION_TOP_FRONT_RIGHT;
    case VSND_CHMAP_TFC: return PA_CHANNEL_POSITION_TOP_FRONT_CENTER;
    case VSND_CHMAP_TRL: return PA_CHANNEL_POSITION_TOP_REAR_LEFT;
    case VSND_CHMAP_TRR: return PA_CHANNEL_POSITION_TOP_REAR_RIGHT;
    case VSND_CHMAP_TRC: return PA_CHANNEL_POSITION_TOP_REAR_CENTER;
    default: return (pa_channel_position_t)(PA_CHANNEL_POSITION_AUX0 + idx);
    }
}

static void op_done(pa_operation *op)
{
    if (op)
        pa_operation_unref(op);
}

static void apply_volume(VsndAudioStream *s)
{
    pa_context *c = s->be->ctx;
    uint32_t idx;
    pa_cvolume cv;

    if (!s->volume_set || !s->st || pa_stream_get_state(s->st) != PA_STREAM_READY)
        return;
    idx = pa_stream_get_index(s->st);
    pa_cvolume_set(&cv, s->ss.channels, pa_sw_volume_from_linear(s->volume / 65536.0));
    if (s->dir == VSND_DIR_OUTPUT) {
        op_done(pa_context_set_sink_input_volume(c, idx, &cv, NULL, NULL));
        op_done(pa_context_set_sink_input_mute(c, idx, s->mute, NULL, NULL));
    } else {
        op_done(pa_context_set_source_output_volume(c, idx, &cv, NULL, NULL));
        op_done(pa_context_set_source_output_mute(c, idx, s->mute, NULL, NULL));
    }
}

static void stream_drop(VsndAudioStream *s)
{
    if (s->drain_op) {
        /* A disconnect only completes later: without this the drain
         * callback could still run after close() freed @s. */
        pa_operation_cancel(s->drain_op);
        pa_operation_unref(s->drain_op);
        s->drain_op = NULL;
    }
    if (!s->st)
        return;
    pa_stream_set_state_callback(s->st, NULL, NULL);
    pa_stream_set_write_callback(s->st, NULL, NULL);
    pa_stream_set_underflow_callback(s->st, NULL, NULL);
    pa_stream_set_latency_update_callback(s->st, NULL, NULL);
    pa_stream_set_read_callback(s->st, NULL, NULL);
    if (PA_STREAM_IS_GOOD(pa_stream_get_state(s->st)))
        pa_stream_disconnect(s->st);
    pa_stream_unref(s->st);
    s->st = NULL;
}

static void stream_lost(VsndAudioStream *s, int err)
{
    stream_drop(s);
    if (!s->lost) {
        s->lost = true;
        vsnd_event_relay_post_error(s->relay, err);
    }
}

/* ---- reconnection ----------------------------------------------------- */

static void context_connect(VsndAudioBackend *be);

static void retry_cb(pa_mainloop_api *api, pa_time_event *e, const struct timeval *tv,
                     void *userdata)
{
    VsndAudioBackend *be = userdata;

    if (!be->ctx) {
        context_connect(be);
    } else if (be->connected) {
        for (GList *l = be->streams; l; l = l->next) {
            VsndAudioStream *s = l->data;
            if (!s->st)
                stream_create(s);
        }
    }
}

static void schedule_retry(VsndAudioBackend *be)
{
    pa_mainloop_api *api = pa_threaded_mainloop_get_api(be->ml);
    struct timeval tv;

    pa_gettimeofday(&tv);
    pa_timeval_add(&tv, RETRY_USEC);
    if (!be->retry)
        be->retry = api->time_new(api, &tv, retry_cb, be);
    else
        api->time_restart(be->retry, &tv);
}

/* ---- sink/source lists ------------------------------------------------ */

static void sink_list_cb(pa_context *c, const pa_sink_info *i, int eol, void *userdata)
{
    VsndAudioBackend *be = userdata;

    if (eol) {
        if (be->new_sinks) {
            g_hash_table_unref(be->sinks);
            be->sinks = be->new_sinks;
            be->new_sinks = NULL;
        }
        be->lists_pending--;
        pa_threaded_mainloop_signal(be->ml, 0);
        return;
    }
    if (!be->new_sinks)
        be->new_sinks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_hash_table_add(be->new_sinks, g_strdup(i->name));
}

static void source_list_cb(pa_context *c, const pa_source_info *i, int eol, void *userdata)
{
    VsndAudioBackend *be = userdata;

    if (eol) {
        if (be->new_sources) {
            g_hash_table_unref(be->sources);
            be->sources = be->new_sources;
            be->new_sources = NULL;
        }
        be->lists_pending--;
        pa_threaded_mainloop_signal(be->ml, 0);
        return;
    }
    if (!be->new_sources)
        be->new_sources = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_hash_table_add(be->new_sources, g_strdup(i->name));
}

static void server_info_cb(pa_context *c, const pa_server_info *i, void *userdata)
{
    VsndAudioBackend *be = userdata;

    g_free(be->default_sink);
    g_free(be->default_source);
    be->default_sink = g_strdup(i ? i->default_sink_name : NULL);
    be->default_source = g_strdup(i ? i->default_source_name : NULL);
    /* "PulseAudio (on PipeWire 0.3.65)" */
    be->on_pipewire = i && i->server_name && strstr(i->server_name, "PipeWire");
}

static void refresh_lists(VsndAudioBackend *be)
{
    /* An empty list never reaches a non-eol callback: start from empty. */
    if (!be->new_sinks)
        be->new_sinks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    if (!be->new_sources)
        be->new_sources = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    be->lists_pending += 2;
    op_done(pa_context_get_sink_info_list(be->ctx, sink_list_cb, be));
    op_done(pa_context_get_source_info_list(be->ctx, source_list_cb, be));
    op_done(pa_context_get_server_info(be->ctx, server_info_cb, be));
}

static void subscribe_cb(pa_context *c, pa_subscription_event_type_t t, uint32_t idx,
                         void *userdata)
{
    VsndAudioBackend *be = userdata;
    unsigned int facility = t & PA_SUBSCRIPTION_EVENT_FACILITY_MASK;

    if (facility == PA_SUBSCRIPTION_EVENT_SINK || facility == PA_SUBSCRIPTION_EVENT_SOURCE ||
        facility == PA_SUBSCRIPTION_EVENT_SERVER)
        refresh_lists(be);
}

/* ---- context ---------------------------------------------------------- */

static void context_state_cb(pa_context *c, void *userdata)
{
    VsndAudioBackend *be = userdata;
    pa_context_state_t state = pa_context_get_state(c);

    if (c != be->ctx)
        return;
    if (state == PA_CONTEXT_READY) {
        bool again = be->init_done;

        be->connected = true;
        pa_context_set_subscribe_callback(c, subscribe_cb, be);
        op_done(pa_context_subscribe(c, PA_SUBSCRIPTION_MASK_SINK | PA_SUBSCRIPTION_MASK_SOURCE |
                                     PA_SUBSCRIPTION_MASK_SERVER, NULL, NULL));
        refresh_lists(be);
        if (again) {
            g_message("pulse: reconnected to the server");
            for (GList *l = be->streams; l; l = l->next)
                stream_create(l->data);
        }
        pa_threaded_mainloop_signal(be->ml, 0);
    } else if (!PA_CONTEXT_IS_GOOD(state)) {
        bool was = be->connected;

        be->connected = false;
        pa_threaded_mainloop_signal(be->ml, 0);
        if (!be->init_done)
            return; /* init() reports it */
        if (was)
            g_message("pulse: lost the server: %s", pa_strerror(pa_context_errno(c)));
        for (GList *l = be->streams; l; l = l->next)
            stream_lost(l->data, -ECONNRESET);
        pa_context_set_state_callback(c, NULL, NULL);
        pa_context_set_subscribe_callback(c, NULL, NULL);
        pa_context_unref(c);
        be->ctx = NULL;
        g_hash_table_remove_all(be->sinks);
        g_hash_table_remove_all(be->sources);
        be->lists_pending = 0; /* their replies died with the context */
        schedule_retry(be);
    }
}

static void context_connect(VsndAudioBackend *be)
{
    pa_proplist *pl = pa_proplist_new();

    pa_proplist_sets(pl, PA_PROP_APPLICATION_NAME, be->vm_name);
    pa_proplist_sets(pl, PA_PROP_APPLICATION_ID, "org.vhost-user-snd");
    pa_proplist_sets(pl, PA_PROP_APPLICATION_ICON_NAME, "audio-card");
    be->ctx = pa_context_new_with_proplist(pa_threaded_mainloop_get_api(be->ml), be->vm_name, pl);
    pa_proplist_free(pl);
    if (!be->ctx) {
        if (be->init_done)
            schedule_retry(be);
        return;
    }
    pa_context_set_state_callback(be->ctx, context_state_cb, be);
    /* A connect that fails at once may already have reported FAILED to
     * context_state_cb, which dropped the context and scheduled the retry
     * (be->ctx is NULL then): only a context still here is ours to drop. */
    if (pa_context_connect(be->ctx, be->server, PA_CONTEXT_NOAUTOSPAWN, NULL) < 0 &&
        be->init_done && be->ctx) {
        pa_context_set_state_callback(be->ctx, NULL, NULL);
        pa_context_unref(be->ctx);
        be->ctx = NULL;
        schedule_retry(be);
    }
}

static void timeout_cb(pa_mainloop_api *api, pa_time_event *e, const struct timeval *tv,
                       void *userdata)
{
    VsndAudioBackend *be = userdata;

    be->timed_out = true;
    pa_threaded_mainloop_signal(be->ml, 0);
}

static void backend_free(VsndAudioBackend *be)
{
    if (be->ml) {
        pa_threaded_mainloop_lock(be->ml);
        if (be->retry) {
            pa_threaded_mainloop_get_api(be->ml)->time_free(be->retry);
            be->retry = NULL;
        }
        if (be->ctx) {
            pa_context_set_state_callback(be->ctx, NULL, NULL);
            pa_context_set_subscribe_callback(be->ctx, NULL, NULL);
            pa_context_disconnect(be->ctx);
            pa_context_unref(be->ctx);
            be->ctx = NULL;
        }
        pa_threaded_mainloop_unlock(be->ml);
        pa_threaded_mainloop_stop(be->ml);
        pa_threaded_mainloop_free(be->ml);
    }
    if (be->sinks)
        g_hash_table_unref(be->sinks);
    if (be->sources)
        g_hash_table_unref(be->sources);
    if (be->new_sinks)
        g_hash_table_unref(be->new_sinks);
    if (be->new_sources)
        g_hash_table_unref(be->new_sources);
    g_free(be->default_sink);
    g_free(be->default_source);
    g_free(be->server);
    g_free(be->vm_name);
    g_free(be->role);
    g_free(be->sink);
    g_free(be->source);
    g_free(be);
}

static VsndAudioBackend *pulse_init(GHashTable *options, const char *vm_name, GError **error)
{
    VsndAudioBackend *be = g_new0(VsndAudioBackend, 1);
    pa_mainloop_api *api;
    pa_time_event *timeout;
    struct timeval tv;
    int err = 0;

    be->server = g_strdup(g_hash_table_lookup(options, "server"));
    be->role = g_strdup(g_hash_table_lookup(options, "role"));
    be->sink = g_strdup(g_hash_table_lookup(options, "sink"));
    be->source = g_strdup(g_hash_table_lookup(options, "source"));
    if (!be->role)
        be->role = g_strdup("music");
    be->vm_name = g_strdup(vm_name);
    be->sinks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    be->sources = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    be->ml = pa_threaded_mainloop_new();
    if (!be->ml || pa_threaded_mainloop_start(be->ml) < 0) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_FAILED, _("pulse: cannot start a mainloop"));
        if (be->ml) {
            pa_threaded_mainloop_free(be->ml);
            be->ml = NULL;
        }
        backend_free(be);
        return NULL;
    }
    pa_threaded_mainloop_set_name(be->ml, "vsnd-pulse");
    pa_threaded_mainloop_lock(be->ml);
    api = pa_threaded_mainloop_get_api(be->ml);
    pa_gettimeofday(&tv);
    pa_timeval_add(&tv, CONNECT_TIMEOUT_USEC);
    timeout = api->time_new(api, &tv, timeout_cb, be);
    context_connect(be);
    while (be->ctx && !be->connected && !be->timed_out &&
           PA_CONTEXT_IS_GOOD(pa_context_get_state(be->ctx)))
        pa_threaded_mainloop_wait(be->ml);
    /* Know the sinks and sources before the first open() (targets). */
    while (be->connected && be->lists_pending > 0 && !be->timed_out)
        pa_threaded_mainloop_wait(be->ml);
    api->time_free(timeout);
    if (!be->connected)
        err = be->ctx ? pa_context_errno(be->ctx) : PA_ERR_INTERNAL;
    be->init_done = true;
    pa_threaded_mainloop_unlock(be->ml);
    if (!be->connected) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_CONNECTION_REFUSED,
                    _("pulse: cannot connect to the PulseAudio server %s: %s"),
                    be->server ? be->server : "(default)",
                    be->timed_out ? "timed out" : pa_strerror(err));
        backend_free(be);
        return NULL;
    }
    return be;
}

static void pulse_fini(VsndAudioBackend *be)
{
    backend_free(be);
}

static int pulse_query_caps(VsndAudioBackend *be, VsndDirection dir, VsndPcmCaps *ret_caps)
{
    pa_sample_spec ss = { .channels = 2 };

    ret_caps->formats = 0;
    ret_caps->rates = 0;
    for (unsigned int f = 0; f < VSND_PCM_FMT_COUNT; f++) {
        if (pa_format_of(f, &ss.format))
            ret_caps->formats |= VSND_PCM_FMT_BIT(f);
    }
    ss.format = PA_SAMPLE_S16LE;
    for (unsigned int r = 0; r < VSND_PCM_RATE_COUNT; r++) {
        ss.rate = vsnd_pcm_rate_hz(r);
        if (pa_sample_spec_valid(&ss))
            ret_caps->rates |= UINT64_C(1) << r;
    }
    ret_caps->channels_min = 1;
    ret_caps->channels_max = 8;
    return 0;
}

/* ---- streams (lock held) ---------------------------------------------- */

/* Stage captured bytes (NULL: a hole in the stream, i.e. silence). */
static void capture_push(VsndAudioStream *s, const uint8_t *data, size_t len)
{
    uint8_t silence[1024];
    size_t dropped = 0;

    if (!data)
        vsnd_pcm_fill_silence(s->vformat, silence, sizeof(silence), 0);
    while (len > 0) {
        size_t n = data ? len : MIN(len, sizeof(silence) - sizeof(silence) % s->frame_bytes);
        dropped += vsnd_ring_push(&s->ring, data ? data : silence, n, s->period_bytes);
        if (data)
            data += n;
        len -= n;
    }
    if (dropped && !s->overrun) {
        /* Overflow: the oldest periods went; report an xrun once. */
        s->overrun = true;
        vsnd_event_relay_post_error(s->relay, -EPIPE);
    }
}

static void stream_state_cb(pa_stream *st, void *userdata)
{
    VsndAudioStream *s = userdata;
    pa_stream_state_t state = pa_stream_get_state(st);

    if (st != s->st)
        return;
    if (state == PA_STREAM_READY) {
        /* start() may have come while the stream was being created */
        if (s->running && pa_stream_is_corked(st) == 1)
            op_done(pa_stream_cork(st, 0, NULL, NULL));
        apply_volume(s);
        if (s->lost) {
            s->lost = false;
            vsnd_event_relay_post_error(s->relay, 0);
        }
        if (s->need_ready) {
            s->need_ready = false;
            vsnd_event_relay_post_ready(s->relay);
        }
    } else if (!PA_STREAM_IS_GOOD(state)) {
        /* The stream alone failed (e.g. its sink vanished). */
        if (s->be->connected) {
            stream_lost(s, -ENODEV);
            schedule_retry(s->be);
        }
    }
}

/* The least a write takes: a period, or an eighth of the buffer if less
 * (with two periods a message goes to the server in parts, as it plays). */
static size_t write_step(const VsndAudioStream *s)
{
    size_t step = MIN((size_t)s->period_bytes, MAX((size_t)s->buffer_bytes / 8,
                                                   (size_t)s->frame_bytes));

    return step - step % s->frame_bytes;
}

/* What a playback stream's server holds by its requests: tlength less
 * what it asked for and did not get (its requests top the buffer up to
 * tlength).  It played less than a request's worth of it since the last
 * request.  Return: false when it cannot tell.  Lock held. */
static bool server_holds(VsndAudioStream *s, size_t *ret_bytes)
{
    const pa_buffer_attr *attr = pa_stream_get_buffer_attr(s->st);
    size_t writable = pa_stream_writable_size(s->st);

    if (!attr || writable == (size_t)-1 || writable > attr->tlength)
        return false;
    *ret_bytes = attr->tlength - writable;
    return true;
}

/*
 * What may go to the server now: what it asks for, as long as it then
 * holds no more than a period less than the guest's buffer (a period with
 * two).  Counted from what it holds (tlength less what it asked for and
 * did not get), so a server that grows tlength itself (pipewire-pulse: a
 * quantum plus two minreq) still gets no more.  Lock held.
 */
static size_t write_room(VsndAudioStream *s)
{
    size_t room = pa_stream_writable_size(s->st);
    size_t most = s->buffer_bytes > 2 * s->period_bytes ? s->buffer_bytes - s->period_bytes :
                                                           s->period_bytes;
    size_t held;

    if (room == (size_t)-1)
        return 0;
    if (!server_holds(s, &held))
        return room;
    return MIN(room, held < most ? most - held : 0);
}

/* Each timing update: on pipewire-pulse, where the server's read index
 * stands (graph-cycle.h: it moves by whole quanta). */
static void stream_timing_cb(pa_stream *st, void *userdata)
{
    VsndAudioStream *s = userdata;
    const pa_timing_info *ti = pa_stream_get_timing_info(st);

    if (s->be->on_pipewire && ti && !ti->read_index_corrupt) {
        uint64_t was = s->cycle.quantum;

        vsnd_graph_cycle_read_index(&s->cycle, ti->read_index, 32u * s->frame_bytes);
        if (s->cycle.quantum != was)
            g_debug("pulse: %s: the graph's quantum from the read index: %" G_GUINT64_FORMAT
                    " bytes (requests: %" G_GUINT64_FORMAT ")", s->label, s->cycle.quantum,
                    s->cycle.bytes);
    }
}

static void stream_underflow_cb(pa_stream *st, void *userdata)
{
    VsndAudioStream *s = userdata;

    (void)st;
    s->underflow = true;
}

static void stream_write_cb(pa_stream *st, size_t nbytes, void *userdata)
{
    VsndAudioStream *s = userdata;

    /* A request grants what the server read since the last one: on
     * pipewire-pulse, one graph cycle's quantum, read at the cycle's start
     * (graph_latency()). */
    if (nbytes > s->writable_seen && s->running && s->primed)
        vsnd_graph_cycle_request(&s->cycle, nbytes - s->writable_seen,
                                 (uint64_t)s->frame_bytes * s->ss.rate, g_get_monotonic_time());
    s->writable_seen = nbytes;

    if (s->need_ready && write_room(s) >= write_step(s)) {
        s->need_ready = false;
        vsnd_event_relay_post_ready(s->relay);
    }
}

static void stream_read_cb(pa_stream *st, size_t nbytes, void *userdata)
{
    VsndAudioStream *s = userdata;
    const void *data;
    size_t n;

    while (pa_stream_readable_size(st) > 0) {
        if (pa_stream_peek(st, &data, &n) < 0 || n == 0)
            break;
        capture_push(s, data, n);
        pa_stream_drop(st);
    }
    if (s->need_ready && s->ring.fill >= s->period_bytes) {
        s->need_ready = false;
        vsnd_event_relay_post_ready(s->relay);
    }
}

static void stream_create(VsndAudioStream *s)
{
    VsndAudioBackend *be = s->be;
    pa_buffer_attr attr = {
        .maxlength = (uint32_t)-1, .tlength = (uint32_t)-1, .prebuf = (uint32_t)-1,
        .minreq = (uint32_t)-1, .fragsize = (uint32_t)-1,
    };
    pa_stream_flags_t flags = PA_STREAM_ADJUST_LATENCY | PA_STREAM_AUTO_TIMING_UPDATE |
                              PA_STREAM_INTERPOLATE_TIMING;
    const char *target = s->target ? s->target :
                         s->dir == VSND_DIR_OUTPUT ? be->sink : be->source;
    g_autofree char *monitor = NULL;
    pa_proplist *pl;
    pa_cvolume cv;
    int r;

    if (s->st || !be->connected)
        return;
    vsnd_graph_cycle_reset(&s->cycle);
    s->writable_seen = 0;
    s->primed = false;
    s->underflow = false;
    /* Capturing from a sink means its monitor source. */
    if (s->dir == VSND_DIR_INPUT && target && g_hash_table_contains(be->sinks, target) &&
        !g_hash_table_contains(be->sources, target))
        target = monitor = g_strconcat(target, ".monitor", NULL);
    pl = pa_proplist_new();
    pa_proplist_sets(pl, PA_PROP_MEDIA_NAME, s->label);
    pa_proplist_sets(pl, PA_PROP_MEDIA_ROLE, be->role);
    pa_proplist_sets(pl, PA_PROP_APPLICATION_NAME, be->vm_name);
    s->st = pa_stream_new_with_proplist(be->ctx, s->label, &s->ss, &s->map, pl);
    pa_proplist_free(pl);
    if (!s->st) {
        stream_lost(s, -ENODEV);
        schedule_retry(be);
        return;
    }
    pa_stream_set_state_callback(s->st, stream_state_cb, s);
    if (!s->running)
        flags |= PA_STREAM_START_CORKED;
    if (s->dir == VSND_DIR_OUTPUT) {
        attr.tlength = MAX(s->buffer_bytes, 2 * s->period_bytes);
        attr.minreq = s->buffer_bytes > 2 * s->period_bytes ? s->period_bytes :
                      (uint32_t)write_step(s);
        attr.prebuf = s->period_bytes;
        pa_stream_set_write_callback(s->st, stream_write_cb, s);
        pa_stream_set_underflow_callback(s->st, stream_underflow_cb, s);
        pa_stream_set_latency_update_callback(s->st, stream_timing_cb, s);
        if (s->volume_set)
            pa_cvolume_set(&cv, s->ss.channels, pa_sw_volume_from_linear(s->volume / 65536.0));
        r = pa_stream_connect_playback(s->st, target, &attr, flags,
                                       s->volume_set ? &cv : NULL, NULL);
    } else {
        attr.fragsize = s->period_bytes;
        pa_stream_set_read_callback(s->st, stream_read_cb, s);
        r = pa_stream_connect_record(s->st, target, &attr, flags);
    }
    if (r < 0) {
        stream_lost(s, -ENODEV);
        schedule_retry(be);
    }
}

static VsndAudioStream *pulse_open(VsndAudioBackend *be, const VsndPcmParams *params,
                                   const VsndAudioStreamEvents *events, void *opaque,
                                   GError **error)
{
    VsndAudioStream *s;
    pa_sample_format_t fmt;
    bool ok;

    if (!pa_format_of(params->format, &fmt)) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_NOT_SUPPORTED,
                    "pulse: sample format %u is not supported by PulseAudio", params->format);
        return NULL;
    }
    s = g_new0(VsndAudioStream, 1);
    s->be = be;
    s->dir = params->direction;
    s->ss.format = fmt;
    s->vformat = params->format;
    s->frame_bytes = vsnd_pcm_frame_bytes(params->format, params->channels);
    s->ss.rate = vsnd_pcm_rate_hz(params->rate);
    s->ss.channels = params->channels;
    s->period_bytes = params->period_bytes;
    s->buffer_bytes = params->buffer_bytes;
    s->label = g_strdup(params->label ? params->label : be->vm_name);
    s->target = g_strdup(params->target);
    ok = pa_sample_spec_valid(&s->ss);
    if (params->positions) {
        pa_channel_map_init(&s->map);
        s->map.channels = params->channels;
        for (unsigned int i = 0; i < params->channels; i++)
            s->map.map[i] = pa_position_of(params->positions[i], i);
    }
    if (!params->positions || !pa_channel_map_valid(&s->map))
        pa_channel_map_init_extend(&s->map, params->channels, PA_CHANNEL_MAP_ALSA);
    if (!ok) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_NOT_SUPPORTED,
                    "pulse: %u Hz with %u channels is not a valid PulseAudio stream",
                    s->ss.rate, params->channels);
        g_free(s->label);
        g_free(s->target);
        g_free(s);
        return NULL;
    }
    if (s->dir == VSND_DIR_INPUT) {
        vsnd_ring_init(&s->ring, (size_t)params->buffer_bytes + params->period_bytes);
    }
    s->relay = vsnd_event_relay_new(events, opaque);

    pa_threaded_mainloop_lock(be->ml);
    be->streams = g_list_prepend(be->streams, s);
    if (be->connected) {
        stream_create(s);
    } else {
        /* Server away right now: the stream comes up with it. */
        s->lost = true;
    }
    pa_threaded_mainloop_unlock(be->ml);
    return s;
}

static void pulse_close(VsndAudioStream *s)
{
    VsndAudioBackend *be = s->be;

    pa_threaded_mainloop_lock(be->ml);
    be->streams = g_list_remove(be->streams, s);
    stream_drop(s);
    pa_threaded_mainloop_unlock(be->ml);
    vsnd_event_relay_close(s->relay);
    vsnd_ring_clear(&s->ring);
    g_free(s->label);
    g_free(s->target);
    g_free(s);
}

static int stream_cork(VsndAudioStream *s, bool cork)
{
    pa_threaded_mainloop_lock(s->be->ml);
    s->running = !cork;
    if (s->st && pa_stream_get_state(s->st) == PA_STREAM_READY) {
        op_done(pa_stream_cork(s->st, cork, NULL, NULL));
        if (!cork && s->dir == VSND_DIR_OUTPUT)
            op_done(pa_stream_trigger(s->st, NULL, NULL)); /* start below prebuf too */
    }
    pa_threaded_mainloop_unlock(s->be->ml);
    return 0;
}

static int pulse_start(VsndAudioStream *s)
{
    return stream_cork(s, false);
}

static int pulse_stop(VsndAudioStream *s)
{
    return stream_cork(s, true);
}

static void drain_cb(pa_stream *st, int success, void *userdata)
{
    VsndAudioStream *s = userdata;

    if (s->drain_op) {
        pa_operation_unref(s->drain_op);
        s->drain_op = NULL;
    }
    vsnd_event_relay_post_ready(s->relay);
}

static int pulse_drain(VsndAudioStream *s)
{
    int r = 0;

    if (s->dir != VSND_DIR_OUTPUT)
        return 0;
    pa_threaded_mainloop_lock(s->be->ml);
    if (s->st && s->running && pa_stream_get_state(s->st) == PA_STREAM_READY) {
        if (!s->drain_op)
            s->drain_op = pa_stream_drain(s->st, drain_cb, s);
        r = s->drain_op ? -EINPROGRESS : -EIO;
        s->need_ready = false;
        vsnd_event_relay_cancel_ready(s->relay); /* only the drain answers now */
    }
    pa_threaded_mainloop_unlock(s->be->ml);
    return r;
}

static ssize_t pulse_write(VsndAudioStream *s, const struct iovec *iov, unsigned int iovcnt)
{
    size_t len = vsnd_iov_size(iov, iovcnt);
    ssize_t ret;
    void *data = NULL;
    size_t n = len, room = 0;
    bool ready;

    if (s->dir != VSND_DIR_OUTPUT)
        return -EBADF;
    pa_threaded_mainloop_lock(s->be->ml);
    ready = s->st && pa_stream_get_state(s->st) == PA_STREAM_READY;
    if (ready) {
        room = write_room(s);
        /* The part that fits, whole frames, once write_step() of room is
         * there: the message completes when all of it is in. */
        if (room < len && room >= write_step(s))
            len = room - room % s->frame_bytes;
        n = len;
    }
    if (!s->st) {
        ret = -ENODEV;
    } else if (!ready || room < len) {
        /* Creating, or the server holds what it may. Stopped streams fill
         * up to that and then wait here too. */
        s->need_ready = true;
        ret = -EAGAIN;
    } else if (pa_stream_begin_write(s->st, &data, &n) < 0 || n < len) {
        if (data)
            pa_stream_cancel_write(s->st);
        s->need_ready = true;
        ret = -EAGAIN;
    } else {
        vsnd_iov_to_buf(iov, iovcnt, 0, data, len);
        ret = pa_stream_write(s->st, data, len, NULL, 0, PA_SEEK_RELATIVE) < 0 ? -EIO :
              (ssize_t)len;
        s->writable_seen = pa_stream_writable_size(s->st);
        s->primed = true;
        s->underflow = false;
    }
    pa_threaded_mainloop_unlock(s->be->ml);
    return ret;
}

static ssize_t pulse_read(VsndAudioStream *s, const struct iovec *iov, unsigned int iovcnt)
{
    size_t len = vsnd_iov_size(iov, iovcnt);
    ssize_t ret;

    if (s->dir != VSND_DIR_INPUT)
        return -EBADF;
    if (len > s->ring.cap)
        return -EINVAL;
    pa_threaded_mainloop_lock(s->be->ml);
    if (!s->st) {
        ret = -ENODEV;
    } else if (s->ring.fill < len) {
        s->need_ready = true;
        ret = -EAGAIN;
    } else {
        vsnd_ring_pop_iov(&s->ring, iov, iovcnt, len);
        s->overrun = false;
        ret = (ssize_t)len;
    }
    pa_threaded_mainloop_unlock(s->be->ml);
    return ret;
}

/*
 * Playback latency on pipewire-pulse, or false when it cannot tell yet.
 * Its timing reports leave out the graph: sink_usec is the graph's delay
 * past the sink (0 for a null sink), and the read index moves when a cycle
 * takes a quantum from the server's buffer, a cycle before the sink plays
 * it.  pa_stream_get_latency() was 13 to 42 ms short at quantum 1024
 * (median 28.5 ms; 45 ms with real guests), and its interpolation swings
 * by some 25 ms between timing updates.  So it is counted as the pipewire
 * driver counts it: what the server holds (tlength less what it asked
 * for and did not get: its requests top the buffer up to tlength), the
 * quantum the last cycle took, on its way to the sink, and what is left
 * of that cycle (graph-cycle.h: from when the requests come; negative
 * once it is over and the next request has not come: the cycles since
 * took their quanta from what the server holds).  With periods longer
 * than the quantum a request comes every k cycles, for k quanta: taken
 * as one cycle, latency was 2(k-1) quanta long (86 ms for three 50 ms
 * periods at quantum 1024), so the quantum comes from the read index
 * where it can (vsnd_graph_cycle_quantum()).  Lock held.
 */
static bool graph_latency(VsndAudioStream *s, uint64_t *ret_bytes)
{
    const pa_timing_info *ti = pa_stream_get_timing_info(s->st);
    uint64_t rate = (uint64_t)s->frame_bytes * s->ss.rate;
    int64_t left_us, bytes;
    size_t held;

    if (!s->be->on_pipewire || s->dir != VSND_DIR_OUTPUT || !server_holds(s, &held) ||
        !vsnd_graph_cycle_left(&s->cycle, rate, g_get_monotonic_time(), &left_us))
        return false;
    bytes = (int64_t)(held + vsnd_graph_cycle_quantum(&s->cycle)) +
            left_us * (int64_t)rate / 1000000;
    /* the graph's delay past the sink, as the server reports it */
    if (ti && ti->sink_usec > 0)
        bytes += (int64_t)pa_usec_to_bytes(ti->sink_usec, &s->ss);
    bytes = MAX(bytes, 0);
    *ret_bytes = (uint64_t)bytes - (uint64_t)bytes % s->frame_bytes;
    return true;
}

/*
 * Capture latency on pipewire-pulse, less the driver's ring: the source's
 * own delay (the graph's, 0 for a sink's monitor).  pipewire-pulse hands
 * over each graph cycle's quantum whole as the cycle runs (measured: the
 * ring grows by 1024 frames a cycle at quantum 1024, nothing waits on the
 * server), so nothing else was captured and not yet read.
 * pa_stream_get_latency() adds the time since the last timing update to
 * the server's write index, as if the source delivered continuously: it
 * was a quantum too large in most completions of one run (the newest
 * frame it claimed was captured 20.5 ms after the completion, median; 42
 * ms at worst), and 0 in another where the updates had gone stale (half a
 * second old).  Lock held.
 */
static bool graph_capture_latency(VsndAudioStream *s, uint64_t *ret_bytes)
{
    const pa_timing_info *ti = pa_stream_get_timing_info(s->st);

    if (!s->be->on_pipewire || s->dir != VSND_DIR_INPUT)
        return false;
    *ret_bytes = ti ? pa_usec_to_bytes(ti->source_usec, &s->ss) : 0;
    return true;
}

static int pulse_get_latency(VsndAudioStream *s, uint32_t *ret_bytes)
{
    uint64_t bytes = 0;
    pa_usec_t usec;
    int neg = 0;

    pa_threaded_mainloop_lock(s->be->ml);
    bool ready = s->st && pa_stream_get_state(s->st) == PA_STREAM_READY;
    size_t held;
    if (ready && (graph_latency(s, &bytes) || graph_capture_latency(s, &bytes))) {
        /* counted above */
    } else if (ready && pa_stream_get_latency(s->st, &usec, &neg) == 0 && !neg && usec > 0) {
        bytes = pa_usec_to_bytes(usec, &s->ss);
    } else if (ready && s->dir == VSND_DIR_OUTPUT && !s->underflow &&
               server_holds(s, &held)) {
        /* libpulse cannot tell, or its interpolated clock ran past what
         * was written: 0.  But the server has not run dry, so it still
         * holds what it did not ask for again: a server that stopped
         * (SIGSTOP 0.5 s in test-audio-pulse) played none of it.  A
         * completion under make check's load got latency_bytes 0 while
         * it was heard 44.9 ms later. */
        bytes = held;
    }
    if (s->dir == VSND_DIR_INPUT)
        bytes += s->ring.fill;
    pa_threaded_mainloop_unlock(s->be->ml);
    *ret_bytes = (uint32_t)MIN(bytes, UINT32_MAX);
    return 0;
}

static int pulse_set_volume(VsndAudioStream *s, uint32_t volume, bool mute)
{
    pa_threaded_mainloop_lock(s->be->ml);
    s->volume_set = true;
    s->volume = MIN(volume, 65536u * 4);
    s->mute = mute;
    apply_volume(s);
    pa_threaded_mainloop_unlock(s->be->ml);
    return 0;
}

static bool pulse_is_connected(VsndAudioBackend *be, VsndDirection dir, const char *target)
{
    bool ret;

    pa_threaded_mainloop_lock(be->ml);
    if (!target)
        target = dir == VSND_DIR_OUTPUT ? be->sink : be->source;
    if (!target)
        target = dir == VSND_DIR_OUTPUT ? be->default_sink : be->default_source;
    ret = be->connected && target &&
          g_hash_table_contains(dir == VSND_DIR_OUTPUT ? be->sinks : be->sources, target);
    pa_threaded_mainloop_unlock(be->ml);
    return ret;
}

static const char *const pulse_keys[] = { "server", "role", "sink", "source", NULL };

static const VsndAudioDriver pulse_driver = {
    .abi_version = VSND_AUDIO_ABI_VERSION,
    .name = "pulse",
    .description = "PulseAudio (or pipewire-pulse) server",
    .init = pulse_init,
    .fini = pulse_fini,
    .query_caps = pulse_query_caps,
    .open = pulse_open,
    .close = pulse_close,
    .start = pulse_start,
    .stop = pulse_stop,
    .write = pulse_write,
    .read = pulse_read,
    .drain = pulse_drain,
    .get_latency = pulse_get_latency,
    .set_volume = pulse_set_volume,
    .is_connected = pulse_is_connected,
    .option_keys = pulse_keys,
};

const VsndAudioDriver *vsnd_audio_driver_entry(void);

const VsndAudioDriver *vsnd_audio_driver_entry(void)
{
    return &pulse_driver;
}
