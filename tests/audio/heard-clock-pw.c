/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * heard-clock-pw.c - see heard-clock-pw.h.
 */
#include "config.h"

#include <glib.h>
#include <pipewire/pipewire.h>
#include <spa/param/audio/format-utils.h>

#include "heard-clock-pw.h"

struct HcPw {
    struct pw_thread_loop *loop;
    struct pw_context *context;
    struct pw_core *core;
    struct pw_stream *stream;
    struct spa_hook listener;
    HcRecording *rec;
    unsigned int cycles;     /* data thread writes, others read under the loop lock */
};

/* Data thread. */
static void on_process(void *data)
{
    HcPw *p = data;
    struct pw_buffer *b = pw_stream_dequeue_buffer(p->stream);
    int64_t arrived = hc_now_ns();
    struct pw_time t = { 0 };

    if (!b)
        return;
    struct spa_data *d = &b->buffer->datas[0];
    pw_stream_get_time_n(p->stream, &t, sizeof(t));
    if (d->data && d->chunk) {
        uint32_t off = SPA_MIN(d->chunk->offset, d->maxsize);
        uint32_t size = SPA_MIN(d->chunk->size, d->maxsize - off);

        hc_recording_add(p->rec, SPA_PTROFF(d->data, off, const int16_t), size / 4,
                         t.now ? t.now : arrived, arrived);
    }
    __atomic_add_fetch(&p->cycles, 1, __ATOMIC_RELAXED);
    pw_stream_queue_buffer(p->stream, b);
}

static const struct pw_stream_events events = {
    PW_VERSION_STREAM_EVENTS,
    .process = on_process,
};

HcPw *hc_pw_start(const char *sink, const char *node_name, HcRecording *rec)
{
    static gsize inited;
    uint8_t pod[1024];
    struct spa_pod_builder builder = SPA_POD_BUILDER_INIT(pod, sizeof(pod));
    struct spa_audio_info_raw info = {
        .format = SPA_AUDIO_FORMAT_S16_LE, .rate = 48000, .channels = 2,
        .position = { SPA_AUDIO_CHANNEL_FL, SPA_AUDIO_CHANNEL_FR },
    };
    const struct spa_pod *params[1];
    HcPw *p = g_new0(HcPw, 1);

    if (g_once_init_enter(&inited)) {
        pw_init(NULL, NULL);
        g_once_init_leave(&inited, 1);
    }
    p->rec = rec;
    p->loop = pw_thread_loop_new("hc-pw", NULL);
    /* realtime data thread where allowed, as the daemon's: a recorder late
     * for a cycle loses that quantum */
    p->context = pw_context_new(pw_thread_loop_get_loop(p->loop),
                                pw_properties_new(PW_KEY_CONFIG_NAME, "client-rt.conf", NULL),
                                0);
    if (!p->context || pw_thread_loop_start(p->loop) < 0)
        goto fail;
    pw_thread_loop_lock(p->loop);
    p->core = pw_context_connect(p->context, NULL, 0);
    if (!p->core) {
        pw_thread_loop_unlock(p->loop);
        goto fail;
    }
    p->stream = pw_stream_new(p->core, node_name,
                              pw_properties_new(PW_KEY_MEDIA_TYPE, "Audio",
                                                PW_KEY_MEDIA_CATEGORY, "Capture",
                                                PW_KEY_NODE_NAME, node_name,
                                                PW_KEY_STREAM_CAPTURE_SINK, "true",
                                                "target.object", sink, NULL));
    pw_stream_add_listener(p->stream, &p->listener, &events, p);
    params[0] = spa_format_audio_raw_build(&builder, SPA_PARAM_EnumFormat, &info);
    if (pw_stream_connect(p->stream, PW_DIRECTION_INPUT, PW_ID_ANY,
                          PW_STREAM_FLAG_AUTOCONNECT | PW_STREAM_FLAG_MAP_BUFFERS |
                              PW_STREAM_FLAG_RT_PROCESS,
                          params, 1) < 0) {
        pw_thread_loop_unlock(p->loop);
        goto fail;
    }
    pw_thread_loop_unlock(p->loop);
    return p;
fail:
    hc_pw_stop(p);
    return NULL;
}

unsigned int hc_pw_cycles(HcPw *p)
{
    return __atomic_load_n(&p->cycles, __ATOMIC_RELAXED);
}

size_t hc_pw_frames(HcPw *p)
{
    return __atomic_load_n(&p->rec->frames, __ATOMIC_RELAXED);
}

void hc_pw_stop(HcPw *p)
{
    if (!p)
        return;
    if (p->loop)
        pw_thread_loop_lock(p->loop);
    if (p->stream)
        pw_stream_destroy(p->stream); /* process() has stopped once it returns */
    if (p->core)
        pw_core_disconnect(p->core);
    if (p->loop) {
        pw_thread_loop_unlock(p->loop);
        pw_thread_loop_stop(p->loop);
    }
    if (p->context)
        pw_context_destroy(p->context);
    if (p->loop)
        pw_thread_loop_destroy(p->loop);
    g_free(p);
}
