/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pw-rt-record.c - the desktop tests' recorder of a PipeWire sink's
 * monitor: S16LE stereo 48 kHz into memory from the realtime data thread,
 * written as a WAV file when it is stopped (SIGINT or SIGTERM).
 *
 * Why not pw-record: at a 256-frame quantum (5.3 ms a cycle) on a loaded
 * two-core machine, two pw-record instances on the same monitor lost
 * different quanta of one play while the daemon had handed PipeWire
 * every frame (checked by tapping the driver's output): pw-record's
 * process() runs on its normal-priority main thread and writes the file
 * there, and a late cycle loses that quantum.  Here process() runs on the
 * data thread (RT_PROCESS) and only copies into memory allocated before
 * the stream connects; a cycle lost all the same is counted and reported
 * (the daemon's loss would show in every recorder, a recorder's own in
 * this count).
 *
 * Usage: pw-rt-record NODE-NAME TARGET SECONDS FILE
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pipewire/pipewire.h>
#include <spa/param/audio/format-utils.h>

#define RATE 48000
#define CHANNELS 2
#define FRAME_BYTES 4

typedef struct Rec {
    struct pw_main_loop *loop;
    struct pw_context *context;
    struct pw_core *core;
    struct pw_stream *stream;
    struct spa_hook listener;
    uint8_t *mem;
    size_t cap, len;
    uint64_t dropped;       /* bytes that did not fit */
    uint64_t empty_cycles;  /* process() found no buffer */
} Rec;

/* Data thread: copy only. */
static void on_process(void *data)
{
    Rec *r = data;
    struct pw_buffer *b = pw_stream_dequeue_buffer(r->stream);
    struct spa_data *d;
    uint32_t off, size;

    if (!b) {
        r->empty_cycles++;
        return;
    }
    d = &b->buffer->datas[0];
    if (d->data) {
        off = SPA_MIN(d->chunk->offset, d->maxsize);
        size = SPA_MIN(d->chunk->size, d->maxsize - off);
        if (size > r->cap - r->len) {
            r->dropped += size - (r->cap - r->len);
            size = (uint32_t)(r->cap - r->len);
        }
        memcpy(r->mem + r->len, (const uint8_t *)d->data + off, size);
        r->len += size;
    }
    pw_stream_queue_buffer(r->stream, b);
}

static const struct pw_stream_events stream_events = {
    PW_VERSION_STREAM_EVENTS,
    .process = on_process,
};

static void on_signal(void *data, int signo)
{
    (void)signo;
    pw_main_loop_quit(((Rec *)data)->loop);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static int write_wav(const char *path, const uint8_t *pcm, size_t len)
{
    uint8_t h[44];
    FILE *f = fopen(path, "wb");
    int ok;

    if (!f)
        return -errno;
    memcpy(h, "RIFF", 4);
    put_le32(h + 4, (uint32_t)(36 + len));
    memcpy(h + 8, "WAVEfmt ", 8);
    put_le32(h + 16, 16);
    put_le16(h + 20, 1); /* PCM */
    put_le16(h + 22, CHANNELS);
    put_le32(h + 24, RATE);
    put_le32(h + 28, RATE * FRAME_BYTES);
    put_le16(h + 32, FRAME_BYTES);
    put_le16(h + 34, 16);
    memcpy(h + 36, "data", 4);
    put_le32(h + 40, (uint32_t)len);
    ok = fwrite(h, sizeof(h), 1, f) == 1 && (len == 0 || fwrite(pcm, len, 1, f) == 1);
    return (fclose(f) == 0 && ok) ? 0 : -EIO;
}

int main(int argc, char **argv)
{
    Rec r = { 0 };
    uint8_t pod_buf[1024];
    struct spa_pod_builder pb = SPA_POD_BUILDER_INIT(pod_buf, sizeof(pod_buf));
    const struct spa_pod *params[1];
    struct spa_audio_info_raw info = {
        .format = SPA_AUDIO_FORMAT_S16_LE, .rate = RATE, .channels = CHANNELS,
        .position = { SPA_AUDIO_CHANNEL_FL, SPA_AUDIO_CHANNEL_FR },
    };
    struct pw_properties *props;
    double seconds;
    int rc;

    if (argc != 5) {
        fprintf(stderr, "usage: %s NODE-NAME TARGET SECONDS FILE\n", argv[0]);
        return 2;
    }
    seconds = strtod(argv[3], NULL);
    if (!(seconds > 0 && seconds < 3600)) {
        fprintf(stderr, "%s: bad SECONDS %s\n", argv[0], argv[3]);
        return 2;
    }
    r.cap = (size_t)(seconds * RATE) * FRAME_BYTES;
    r.mem = malloc(r.cap);
    if (!r.mem) {
        fprintf(stderr, "%s: no memory for %s s\n", argv[0], argv[3]);
        return 1;
    }
    memset(r.mem, 0, r.cap); /* touched now, not on the data thread */

    pw_init(&argc, &argv);
    r.loop = pw_main_loop_new(NULL);
    if (!r.loop) {
        fprintf(stderr, "%s: no main loop\n", argv[0]);
        return 1;
    }
    pw_loop_add_signal(pw_main_loop_get_loop(r.loop), SIGINT, on_signal, &r);
    pw_loop_add_signal(pw_main_loop_get_loop(r.loop), SIGTERM, on_signal, &r);
    props = pw_properties_new(PW_KEY_MEDIA_TYPE, "Audio", PW_KEY_MEDIA_CATEGORY, "Capture",
                              PW_KEY_MEDIA_ROLE, "Production", PW_KEY_NODE_NAME, argv[1],
                              PW_KEY_TARGET_OBJECT, argv[2], PW_KEY_STREAM_CAPTURE_SINK, "true",
                              NULL);
    /* client-rt.conf: its data thread gets realtime priority where
     * allowed (the default client configuration leaves it a normal
     * thread, which a loaded machine kept 5 ms from its cycle) */
    r.context = pw_context_new(pw_main_loop_get_loop(r.loop),
                               pw_properties_new(PW_KEY_CONFIG_NAME, "client-rt.conf", NULL), 0);
    r.core = r.context ? pw_context_connect(r.context, NULL, 0) : NULL;
    if (!r.core) {
        fprintf(stderr, "%s: cannot connect to PipeWire: %s\n", argv[0], strerror(errno));
        return 1;
    }
    r.stream = pw_stream_new(r.core, argv[1], props);
    if (r.stream)
        pw_stream_add_listener(r.stream, &r.listener, &stream_events, &r);
    if (!r.stream) {
        fprintf(stderr, "%s: cannot create a stream: %s\n", argv[0], strerror(errno));
        return 1;
    }
    params[0] = spa_format_audio_raw_build(&pb, SPA_PARAM_EnumFormat, &info);
    rc = pw_stream_connect(r.stream, PW_DIRECTION_INPUT, PW_ID_ANY,
                           PW_STREAM_FLAG_AUTOCONNECT | PW_STREAM_FLAG_MAP_BUFFERS |
                               PW_STREAM_FLAG_RT_PROCESS,
                           params, 1);
    if (rc < 0) {
        fprintf(stderr, "%s: cannot connect: %s\n", argv[0], strerror(-rc));
        return 1;
    }
    pw_main_loop_run(r.loop);
    pw_stream_destroy(r.stream);
    pw_core_disconnect(r.core);
    pw_context_destroy(r.context);
    pw_main_loop_destroy(r.loop);
    pw_deinit();

    if (r.dropped)
        fprintf(stderr, "%s: %llu bytes did not fit in %s s\n", argv[0],
                (unsigned long long)r.dropped, argv[3]);
    if (r.empty_cycles)
        fprintf(stderr, "%s: %llu cycles without a buffer\n", argv[0],
                (unsigned long long)r.empty_cycles);
    rc = write_wav(argv[4], r.mem, r.len);
    if (rc < 0) {
        fprintf(stderr, "%s: cannot write %s: %s\n", argv[0], argv[4], strerror(-rc));
        return 1;
    }
    free(r.mem);
    return r.dropped ? 1 : 0;
}
