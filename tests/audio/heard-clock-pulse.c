/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * heard-clock-pulse.c - see heard-clock-pulse.h.
 */
#include "config.h"

#include <glib.h>
#include <pulse/pulseaudio.h>

#include "heard-clock-pulse.h"

#define HC_FRAME 4

struct HcPulse {
    pa_threaded_mainloop *ml;
    pa_context *ctx;
    pa_stream *st;
    HcRecording *rec;
    unsigned int reads;
};

/* Mainloop thread. */
static void on_read(pa_stream *s, size_t nbytes, void *data)
{
    HcPulse *p = data;

    for (;;) {
        const void *buf = NULL;
        size_t len = 0;
        pa_usec_t usec = 0;
        int neg = 0;

        if (pa_stream_readable_size(s) == 0 || pa_stream_peek(s, &buf, &len) < 0 || len == 0)
            return;
        /* the latency belongs to the read index: the start of this peek */
        if (buf && pa_stream_get_latency(s, &usec, &neg) == 0) {
            int64_t now = hc_now_ns();
            int64_t lat = (int64_t)usec * 1000 * (neg ? -1 : 1);

            hc_recording_add(p->rec, buf, (uint32_t)(len / HC_FRAME), now - lat, now);
            __atomic_add_fetch(&p->reads, 1, __ATOMIC_RELAXED);
        }
        pa_stream_drop(s);
    }
}

static void on_state(pa_context *c, void *data)
{
    HcPulse *p = data;

    pa_threaded_mainloop_signal(p->ml, 0);
}

HcPulse *hc_pulse_start(const char *source, HcRecording *rec)
{
    static const pa_sample_spec ss = { PA_SAMPLE_S16LE, 48000, 2 };
    /* small fragments: each is timed by its first frame */
    pa_buffer_attr attr = {
        .maxlength = (uint32_t)-1, .fragsize = (uint32_t)pa_usec_to_bytes(5000, &ss),
    };
    HcPulse *p = g_new0(HcPulse, 1);
    pa_context_state_t cs;

    p->rec = rec;
    p->ml = pa_threaded_mainloop_new();
    p->ctx = pa_context_new(pa_threaded_mainloop_get_api(p->ml), "vsnd-heard-clock");
    pa_context_set_state_callback(p->ctx, on_state, p);
    if (pa_context_connect(p->ctx, NULL, PA_CONTEXT_NOAUTOSPAWN, NULL) < 0 ||
        pa_threaded_mainloop_start(p->ml) < 0)
        goto fail;
    pa_threaded_mainloop_lock(p->ml);
    while ((cs = pa_context_get_state(p->ctx)) != PA_CONTEXT_READY && PA_CONTEXT_IS_GOOD(cs))
        pa_threaded_mainloop_wait(p->ml);
    if (cs != PA_CONTEXT_READY) {
        pa_threaded_mainloop_unlock(p->ml);
        goto fail;
    }
    p->st = pa_stream_new(p->ctx, "heard-clock", &ss, NULL);
    pa_stream_set_read_callback(p->st, on_read, p);
    if (pa_stream_connect_record(p->st, source, &attr,
                                 PA_STREAM_INTERPOLATE_TIMING | PA_STREAM_AUTO_TIMING_UPDATE |
                                     PA_STREAM_ADJUST_LATENCY) < 0) {
        pa_threaded_mainloop_unlock(p->ml);
        goto fail;
    }
    pa_threaded_mainloop_unlock(p->ml);
    return p;
fail:
    hc_pulse_stop(p);
    return NULL;
}

unsigned int hc_pulse_reads(HcPulse *p)
{
    return __atomic_load_n(&p->reads, __ATOMIC_RELAXED);
}

void hc_pulse_stop(HcPulse *p)
{
    if (!p)
        return;
    if (p->ml)
        pa_threaded_mainloop_stop(p->ml);
    if (p->st) {
        pa_stream_disconnect(p->st);
        pa_stream_unref(p->st);
    }
    if (p->ctx) {
        pa_context_disconnect(p->ctx);
        pa_context_unref(p->ctx);
    }
    if (p->ml)
        pa_threaded_mainloop_free(p->ml);
    g_free(p);
}
