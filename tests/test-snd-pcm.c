/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-snd-pcm.c - the PCM stream manager: every transition of the table,
 * allowed and refused, driven on a real stream (with its effect on the host
 * driver), and the I/O behaviour the Linux driver relies on: pre-buffering,
 * pacing by the driver, FIFO completion, pause keeping queued playback,
 * RELEASE completing everything first, parameters surviving RELEASE,
 * capture filling whole periods, host failure on a software clock, xrun
 * events, software gain, queue stop and reset.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib.h>

#include "audio/clock.h"
#include "audio/pcm-format.h"
#include "snd/snd-format.h"
#include "snd/snd-pcm.h"
#include "test-snd-fake.h"

#define PERIOD 1024u
#define BUFFER 4096u

typedef struct Done {
    unsigned int token;
    uint32_t status;
    uint32_t latency;
    size_t used;
} Done;

typedef struct Fx {
    VsndDeviceConfig *cfg;
    VsndAudio *audio; /* the registry's handle of the fake driver */
    FakeAudio *fake;  /* its backend: knobs and records */
    SndPcm *pcm;
    GArray *done;      /* Done */
    GArray *events;    /* code, data pairs */
    GArray *connected; /* stream | connected << 16 */
    unsigned int discarded;
    int polling;
    /* message memory */
    GPtrArray *bufs;
} Fx;

typedef struct TestMsg {
    unsigned int token;
    uint8_t *mem;
    size_t len;
    struct iovec out[4];
    struct iovec in[4];
} TestMsg;

static void h_complete(void *opaque, SndIoMsg *msg, uint32_t status, uint32_t latency)
{
    Fx *fx = opaque;
    TestMsg *tm = msg->elem;
    Done d = {
        .token = tm->token,
        .status = status,
        .latency = latency,
        .used = vsnd_io_msg_finish(msg, status, latency),
    };

    g_array_append_val(fx->done, d);
    vsnd_io_msg_free(msg);
}

static void h_discard(void *opaque, SndIoMsg *msg)
{
    Fx *fx = opaque;

    fx->discarded++;
    vsnd_io_msg_free(msg);
}

static void h_event(void *opaque, uint32_t code, uint32_t data)
{
    Fx *fx = opaque;

    g_array_append_val(fx->events, code);
    g_array_append_val(fx->events, data);
}

static void h_connected(void *opaque, uint32_t stream, bool connected)
{
    Fx *fx = opaque;
    uint32_t v = stream | (uint32_t)connected << 16;

    g_array_append_val(fx->connected, v);
}

static void h_polling(void *opaque, bool on)
{
    Fx *fx = opaque;

    fx->polling = on;
}

static const SndPcmHost host = {
    .complete = h_complete,
    .discard = h_discard,
    .event = h_event,
    .connected = h_connected,
    .polling = h_polling,
};

static void tm_free(gpointer p)
{
    TestMsg *tm = p;

    g_free(tm->mem);
    g_free(tm);
}

/* @clock: the device's timers on "manual" (the test clock) or "real". */
static Fx *fx_new_clocked(const char *clock)
{
    Fx *fx = g_new0(Fx, 1);

    fx->cfg = fake_config_new(2, FALSE);
    fx->audio = fake_audio_new_clocked(clock, &fx->fake);
    fx->done = g_array_new(FALSE, FALSE, sizeof(Done));
    fx->events = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    fx->connected = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    fx->bufs = g_ptr_array_new_with_free_func(tm_free);
    fx->pcm = vsnd_pcm_new(fx->cfg, fx->audio, &host, fx);
    return fx;
}

static Fx *fx_new(void)
{
    return fx_new_clocked("manual");
}

static void fx_free(Fx *fx)
{
    vsnd_pcm_free(fx->pcm);
    vsnd_audio_free(fx->audio);
    fake_config_free(fx->cfg);
    g_array_unref(fx->done);
    g_array_unref(fx->events);
    g_array_unref(fx->connected);
    g_ptr_array_unref(fx->bufs);
    g_free(fx);
}

static uint32_t set_params_at(Fx *fx, uint32_t id, uint32_t features, uint8_t format,
                              uint8_t rate)
{
    struct virtio_snd_pcm_set_params p = {
        .hdr.hdr.code = GUINT32_TO_LE(VIRTIO_SND_R_PCM_SET_PARAMS),
        .hdr.stream_id = GUINT32_TO_LE(id),
        .buffer_bytes = GUINT32_TO_LE(BUFFER),
        .period_bytes = GUINT32_TO_LE(PERIOD),
        .features = GUINT32_TO_LE(features),
        .channels = 2,
        .format = format,
        .rate = rate,
    };

    return vsnd_pcm_set_params(fx->pcm, &p);
}

static uint32_t set_params_full(Fx *fx, uint32_t id, uint32_t features, uint8_t format)
{
    return set_params_at(fx, id, features, format, VIRTIO_SND_PCM_RATE_48000);
}

static uint32_t set_params(Fx *fx, uint32_t id)
{
    return set_params_full(fx, id, 0, VIRTIO_SND_PCM_FMT_S16);
}

static void cmd_ok(Fx *fx, uint32_t id, SndPcmCmd cmd)
{
    g_assert_cmphex(vsnd_pcm_command(fx->pcm, id, cmd), ==, VIRTIO_SND_S_OK);
}

/*
 * A message laid out like Linux does (tx: [xfer][data] | [status];
 * rx: [xfer] | [data][status]) with the data split in two pieces.
 * tx data: byte i = seed + i.
 */
static TestMsg *make_msg(Fx *fx, bool tx, uint32_t stream, size_t data_len, uint8_t seed,
                         SndIoMsg **ret)
{
    TestMsg *tm = g_new0(TestMsg, 1);
    struct virtio_snd_pcm_xfer xfer = { .stream_id = GUINT32_TO_LE(stream) };
    size_t half = data_len / 2 + 1;
    const char *error = NULL;

    tm->token = fx->bufs->len;
    tm->len = 4 + data_len + 8;
    tm->mem = g_malloc0(tm->len);
    memcpy(tm->mem, &xfer, 4);
    for (size_t i = 0; i < data_len; i++) {
        tm->mem[4 + i] = tx ? (uint8_t)(seed + i) : 0xee;
    }
    memset(tm->mem + 4 + data_len, 0xcc, 8);
    tm->out[0] = (struct iovec){ tm->mem, 4 };
    if (tx) {
        tm->out[1] = (struct iovec){ tm->mem + 4, MIN(half, data_len) };
        tm->out[2] = (struct iovec){ tm->mem + 4 + MIN(half, data_len),
                                     data_len - MIN(half, data_len) };
        tm->in[0] = (struct iovec){ tm->mem + 4 + data_len, 8 };
        *ret = vsnd_io_msg_new(true, tm->out, 3, tm->in, 1, &error);
    } else {
        tm->in[0] = (struct iovec){ tm->mem + 4, MIN(half, data_len) };
        tm->in[1] = (struct iovec){ tm->mem + 4 + MIN(half, data_len),
                                    data_len - MIN(half, data_len) };
        tm->in[2] = (struct iovec){ tm->mem + 4 + data_len, 8 };
        *ret = vsnd_io_msg_new(false, tm->out, 1, tm->in, 3, &error);
    }
    g_assert_null(error);
    (*ret)->elem = tm;
    g_ptr_array_add(fx->bufs, tm);
    return tm;
}

static TestMsg *submit(Fx *fx, bool tx, uint32_t stream, uint8_t seed)
{
    SndIoMsg *msg;
    TestMsg *tm = make_msg(fx, tx, stream, PERIOD, seed, &msg);

    g_assert_cmpuint(vsnd_pcm_submit(fx->pcm, msg), ==, 0);
    return tm;
}

static const Done *done_at(Fx *fx, unsigned int i)
{
    g_assert_cmpuint(i, <, fx->done->len);
    return &g_array_index(fx->done, Done, i);
}

static uint32_t status_of(const TestMsg *tm)
{
    uint32_t v;

    memcpy(&v, tm->mem + tm->len - 8, 4);
    return GUINT32_FROM_LE(v);
}

/* ---- the transition table -------------------------------------------------- */

/* Expected, from the spec's lifecycle plus RELEASE of an idle stream. */
static const int expected[SND_PCM_STATE_MAX][SND_PCM_CMD_MAX] = {
    /*                  SET_PARAMS             PREPARE                   RELEASE                   START                    STOP */
    [SND_PCM_STATE_INIT] = { SND_PCM_STATE_PARAMS, -1, SND_PCM_STATE_INIT, -1, -1 },
    [SND_PCM_STATE_PARAMS] = { SND_PCM_STATE_PARAMS, SND_PCM_STATE_PREPARED, SND_PCM_STATE_PARAMS,
                               -1, -1 },
    [SND_PCM_STATE_PREPARED] = { SND_PCM_STATE_PARAMS, SND_PCM_STATE_PREPARED,
                                 SND_PCM_STATE_RELEASED, SND_PCM_STATE_RUNNING, -1 },
    [SND_PCM_STATE_RUNNING] = { -1, -1, -1, -1, SND_PCM_STATE_STOPPED },
    [SND_PCM_STATE_STOPPED] = { -1, -1, SND_PCM_STATE_RELEASED, SND_PCM_STATE_RUNNING, -1 },
    [SND_PCM_STATE_RELEASED] = { SND_PCM_STATE_PARAMS, SND_PCM_STATE_PREPARED,
                                 SND_PCM_STATE_RELEASED, -1, -1 },
};

static void test_table(void)
{
    for (int s = 0; s < SND_PCM_STATE_MAX; s++) {
        for (int c = 0; c < SND_PCM_CMD_MAX; c++) {
            SndPcmState to = SND_PCM_STATE_MAX;
            bool ok = vsnd_pcm_transition((SndPcmState)s, (SndPcmCmd)c, &to);

            g_assert_cmpint(ok, ==, expected[s][c] >= 0);
            if (ok) {
                g_assert_cmpint(to, ==, expected[s][c]);
            }
        }
    }
    g_assert_false(vsnd_pcm_transition(SND_PCM_STATE_MAX, SND_PCM_CMD_START, NULL));
    g_assert_false(vsnd_pcm_transition(SND_PCM_STATE_INIT, SND_PCM_CMD_MAX, NULL));
    g_assert_false(vsnd_pcm_transition((SndPcmState)-1, SND_PCM_CMD_START, NULL));
}

static void reach(Fx *fx, SndPcmState s)
{
    switch (s) {
    case SND_PCM_STATE_INIT:
        break;
    case SND_PCM_STATE_PARAMS:
        g_assert_cmphex(set_params(fx, 0), ==, VIRTIO_SND_S_OK);
        break;
    case SND_PCM_STATE_PREPARED:
        reach(fx, SND_PCM_STATE_PARAMS);
        cmd_ok(fx, 0, SND_PCM_CMD_PREPARE);
        break;
    case SND_PCM_STATE_RUNNING:
        reach(fx, SND_PCM_STATE_PREPARED);
        cmd_ok(fx, 0, SND_PCM_CMD_START);
        break;
    case SND_PCM_STATE_STOPPED:
        reach(fx, SND_PCM_STATE_RUNNING);
        cmd_ok(fx, 0, SND_PCM_CMD_STOP);
        break;
    case SND_PCM_STATE_RELEASED:
        reach(fx, SND_PCM_STATE_STOPPED);
        cmd_ok(fx, 0, SND_PCM_CMD_RELEASE);
        break;
    default:
        g_assert_not_reached();
    }
    g_assert_cmpint(vsnd_pcm_state(fx->pcm, 0), ==, s);
}

static bool open_state(int s)
{
    return s == SND_PCM_STATE_PREPARED || s == SND_PCM_STATE_RUNNING ||
           s == SND_PCM_STATE_STOPPED;
}

typedef struct Tr {
    SndPcmState from;
    SndPcmCmd cmd;
} Tr;

static void test_transition(gconstpointer data)
{
    const Tr *tr = data;
    Fx *fx = fx_new();
    unsigned int opens, closes;
    uint32_t status;
    int want = expected[tr->from][tr->cmd];
    VsndAudioStream *s;

    reach(fx, tr->from);
    opens = fx->fake->opens;
    closes = fx->fake->closes;
    if (tr->cmd == SND_PCM_CMD_SET_PARAMS) {
        status = set_params(fx, 0);
    } else {
        status = vsnd_pcm_command(fx->pcm, 0, tr->cmd);
    }
    if (want < 0) {
        g_assert_cmphex(status, ==, VIRTIO_SND_S_BAD_MSG);
        g_assert_cmpint(vsnd_pcm_state(fx->pcm, 0), ==, tr->from);
        g_assert_cmpuint(fx->fake->opens, ==, opens);
        g_assert_cmpuint(fx->fake->closes, ==, closes);
    } else {
        g_assert_cmphex(status, ==, VIRTIO_SND_S_OK);
        g_assert_cmpint(vsnd_pcm_state(fx->pcm, 0), ==, want);
        /* The host stream is open exactly in the open states. */
        g_assert_cmpuint(fx->fake->opens - fx->fake->closes, ==, open_state(want) ? 1 : 0);
        if (open_state(want) && open_state(tr->from)) {
            g_assert_cmpuint(fx->fake->opens, ==, opens); /* kept, not reopened */
        }
        s = fake_audio_last(fx->fake);
        if (s && !s->closed) {
            g_assert_cmpint(s->started, ==, want == SND_PCM_STATE_RUNNING);
        }
    }
    /* Other streams are untouched. */
    g_assert_cmpint(vsnd_pcm_state(fx->pcm, 1), ==, SND_PCM_STATE_INIT);
    fx_free(fx);
}

static void test_bad_stream_id(void)
{
    Fx *fx = fx_new();

    for (int c = SND_PCM_CMD_PREPARE; c < SND_PCM_CMD_MAX; c++) {
        g_assert_cmphex(vsnd_pcm_command(fx->pcm, 2, (SndPcmCmd)c), ==, VIRTIO_SND_S_BAD_MSG);
        g_assert_cmphex(vsnd_pcm_command(fx->pcm, G_MAXUINT32, (SndPcmCmd)c), ==,
                        VIRTIO_SND_S_BAD_MSG);
    }
    g_assert_cmphex(set_params(fx, 2), ==, VIRTIO_SND_S_BAD_MSG);
    g_assert_cmphex(vsnd_pcm_command(fx->pcm, 0, SND_PCM_CMD_SET_PARAMS), ==,
                    VIRTIO_SND_S_BAD_MSG);
    g_assert_cmphex(vsnd_pcm_command(fx->pcm, 0, SND_PCM_CMD_MAX), ==, VIRTIO_SND_S_BAD_MSG);
    fx_free(fx);
}

/* ---- I/O --------------------------------------------------------------------- */

static void check_written(VsndAudioStream *s, size_t off, uint8_t seed, size_t len)
{
    g_assert_cmpuint(s->written->len, >=, off + len);
    for (size_t i = 0; i < len; i++) {
        g_assert_cmpuint(s->written->data[off + i], ==, (uint8_t)(seed + i));
    }
}

static void test_prebuffer(void)
{
    Fx *fx = fx_new();
    VsndAudioStream *s;
    TestMsg *a, *b;

    reach(fx, SND_PCM_STATE_PREPARED);
    s = fake_audio_last(fx->fake);
    a = submit(fx, true, 0, 1);
    b = submit(fx, true, 0, 50);
    /* Queued, not played, not completed before START. */
    g_assert_cmpuint(s->written->len, ==, 0);
    g_assert_cmpuint(fx->done->len, ==, 0);
    g_assert_cmpuint(vsnd_pcm_pending(fx->pcm, 0), ==, 2);
    cmd_ok(fx, 0, SND_PCM_CMD_START);
    /* room for two periods: both played in order and completed in order */
    g_assert_cmpuint(fx->done->len, ==, 2);
    check_written(s, 0, 1, PERIOD);
    check_written(s, PERIOD, 50, PERIOD);
    g_assert_cmpuint(done_at(fx, 0)->token, ==, a->token);
    g_assert_cmpuint(done_at(fx, 1)->token, ==, b->token);
    g_assert_cmphex(status_of(a), ==, VIRTIO_SND_S_OK);
    g_assert_cmpuint(done_at(fx, 0)->used, ==, 8);
    g_assert_cmpuint(done_at(fx, 0)->latency, ==, fx->fake->latency);
    fx_free(fx);
}

static void test_paced(void)
{
    Fx *fx = fx_new();
    VsndAudioStream *s;

    fx->fake->default_room = PERIOD;
    reach(fx, SND_PCM_STATE_RUNNING);
    s = fake_audio_last(fx->fake);
    submit(fx, true, 0, 0);
    submit(fx, true, 0, 10);
    submit(fx, true, 0, 20);
    /* Only what the driver accepted completes; the rest waits. */
    g_assert_cmpuint(fx->done->len, ==, 1);
    fake_iterate(10);
    g_assert_cmpuint(fx->done->len, ==, 1);
    /* Partial room: the message is not complete until all of it went. */
    fake_stream_give_room(s, PERIOD / 2 + 3);
    fake_iterate(10);
    g_assert_cmpuint(fx->done->len, ==, 1);
    fake_stream_give_room(s, PERIOD);
    fake_iterate(10);
    g_assert_cmpuint(fx->done->len, ==, 2);
    fake_stream_give_room(s, PERIOD);
    fake_iterate(10);
    g_assert_cmpuint(fx->done->len, ==, 3);
    for (unsigned int i = 0; i < 3; i++) {
        g_assert_cmpuint(done_at(fx, i)->token, ==, i);
        check_written(s, i * PERIOD, (uint8_t)(i * 10), PERIOD);
    }
    fx_free(fx);
}

static void test_underrun_ridden_out(void)
{
    Fx *fx = fx_new();
    VsndAudioStream *s;

    reach(fx, SND_PCM_STATE_RUNNING);
    s = fake_audio_last(fx->fake);
    /* Nothing queued: nothing happens, the stream keeps running. */
    fake_stream_give_room(s, PERIOD);
    fake_iterate(10);
    g_assert_cmpint(vsnd_pcm_state(fx->pcm, 0), ==, SND_PCM_STATE_RUNNING);
    submit(fx, true, 0, 7);
    g_assert_cmpuint(fx->done->len, ==, 1);
    check_written(s, 0, 7, PERIOD);
    fx_free(fx);
}

static void test_stop_keeps_queued(void)
{
    Fx *fx = fx_new();
    VsndAudioStream *s;

    fx->fake->default_room = 0;
    reach(fx, SND_PCM_STATE_RUNNING);
    s = fake_audio_last(fx->fake);
    submit(fx, true, 0, 3);
    submit(fx, true, 0, 4);
    cmd_ok(fx, 0, SND_PCM_CMD_STOP);
    /* Pause: kept, not completed, not played even with room. */
    s->room = 4 * PERIOD;
    fake_iterate(10);
    g_assert_cmpuint(fx->done->len, ==, 0);
    g_assert_cmpuint(s->written->len, ==, 0);
    cmd_ok(fx, 0, SND_PCM_CMD_START);
    fake_iterate(10);
    g_assert_cmpuint(fx->done->len, ==, 2);
    check_written(s, 0, 3, PERIOD);
    check_written(s, PERIOD, 4, PERIOD);
    fx_free(fx);
}

static void test_release_completes_pending(void)
{
    Fx *fx = fx_new();
    TestMsg *tm[3];

    fx->fake->default_room = 0;
    reach(fx, SND_PCM_STATE_RUNNING);
    for (int i = 0; i < 3; i++) {
        tm[i] = submit(fx, true, 0, (uint8_t)i);
    }
    cmd_ok(fx, 0, SND_PCM_CMD_STOP);
    g_assert_cmpuint(fx->done->len, ==, 0);
    cmd_ok(fx, 0, SND_PCM_CMD_RELEASE);
    /* Every message came back before RELEASE returned, in order. */
    g_assert_cmpuint(fx->done->len, ==, 3);
    for (int i = 0; i < 3; i++) {
        g_assert_cmpuint(done_at(fx, i)->token, ==, tm[i]->token);
        g_assert_cmphex(status_of(tm[i]), ==, VIRTIO_SND_S_IO_ERR);
    }
    g_assert_cmpuint(vsnd_pcm_pending(fx->pcm, 0), ==, 0);
    g_assert_cmpuint(fx->fake->closes, ==, 1);
    fx_free(fx);
}

static void test_release_capture_pending(void)
{
    Fx *fx = fx_new();
    TestMsg *tm;

    g_assert_cmphex(set_params(fx, 1), ==, VIRTIO_SND_S_OK);
    cmd_ok(fx, 1, SND_PCM_CMD_PREPARE);
    tm = submit(fx, false, 1, 0);
    cmd_ok(fx, 1, SND_PCM_CMD_START);
    cmd_ok(fx, 1, SND_PCM_CMD_STOP);
    cmd_ok(fx, 1, SND_PCM_CMD_RELEASE);
    g_assert_cmpuint(fx->done->len, ==, 1);
    /* Whole writable area reported, status in the last 8 bytes, silence. */
    g_assert_cmpuint(done_at(fx, 0)->used, ==, PERIOD + 8);
    g_assert_cmphex(status_of(tm), ==, VIRTIO_SND_S_IO_ERR);
    g_assert_cmpuint(tm->mem[4], ==, 0);
    g_assert_cmpuint(tm->mem[4 + PERIOD - 1], ==, 0);
    fx_free(fx);
}

static void test_params_survive_release(void)
{
    Fx *fx = fx_new();
    SndPcmParams p;
    VsndAudioStream *s;

    reach(fx, SND_PCM_STATE_RELEASED);
    g_assert_true(vsnd_pcm_params(fx->pcm, 0, &p));
    g_assert_cmpuint(p.period_bytes, ==, PERIOD);
    /* xrun recovery: RELEASE -> PREPARE without SET_PARAMS */
    cmd_ok(fx, 0, SND_PCM_CMD_PREPARE);
    s = fake_audio_last(fx->fake);
    g_assert_cmpuint(fx->fake->opens, ==, 2);
    g_assert_cmpuint(s->params.period_bytes, ==, PERIOD);
    g_assert_cmpuint(s->params.buffer_bytes, ==, BUFFER);
    g_assert_cmpuint(s->params.channels, ==, 2);
    g_assert_cmpuint(s->params.format, ==, VIRTIO_SND_PCM_FMT_S16);
    g_assert_cmpuint(s->params.rate, ==, VIRTIO_SND_PCM_RATE_48000);
    g_assert_cmpuint(s->params.direction, ==, VSND_DIR_OUTPUT);
    g_assert_cmpuint(s->positions[0], ==, VIRTIO_SND_CHMAP_FL);
    g_assert_cmpuint(s->positions[1], ==, VIRTIO_SND_CHMAP_FR);
    cmd_ok(fx, 0, SND_PCM_CMD_START);
    fx_free(fx);
}

static void test_reprepare_flushes(void)
{
    Fx *fx = fx_new();

    reach(fx, SND_PCM_STATE_PREPARED);
    submit(fx, true, 0, 1);
    cmd_ok(fx, 0, SND_PCM_CMD_PREPARE);
    g_assert_cmpuint(fx->done->len, ==, 1);
    g_assert_cmphex(done_at(fx, 0)->status, ==, VIRTIO_SND_S_IO_ERR);
    g_assert_cmpuint(fx->fake->opens, ==, 1);
    fx_free(fx);
}

static void test_capture(void)
{
    Fx *fx = fx_new();
    VsndAudioStream *s;
    TestMsg *a, *b;

    g_assert_cmphex(set_params(fx, 1), ==, VIRTIO_SND_S_OK);
    cmd_ok(fx, 1, SND_PCM_CMD_PREPARE);
    s = fake_audio_last(fx->fake);
    /* Linux queues all periods, then starts. */
    a = submit(fx, false, 1, 0);
    b = submit(fx, false, 1, 0);
    cmd_ok(fx, 1, SND_PCM_CMD_START);
    g_assert_cmpuint(fx->done->len, ==, 0);
    /* Half a period of data: not complete. */
    fake_stream_give_data(s, PERIOD / 2);
    fake_iterate(10);
    g_assert_cmpuint(fx->done->len, ==, 0);
    fake_stream_give_data(s, PERIOD);
    fake_iterate(10);
    g_assert_cmpuint(fx->done->len, ==, 1);
    g_assert_cmpuint(done_at(fx, 0)->token, ==, a->token);
    g_assert_cmpuint(done_at(fx, 0)->used, ==, PERIOD + 8);
    for (size_t i = 0; i < PERIOD; i++) {
        g_assert_cmpuint(a->mem[4 + i], ==, (uint8_t)i);
    }
    g_assert_cmphex(status_of(a), ==, VIRTIO_SND_S_OK);
    fake_stream_give_data(s, PERIOD);
    fake_iterate(10);
    g_assert_cmpuint(fx->done->len, ==, 2);
    g_assert_cmpuint(b->mem[4], ==, (uint8_t)PERIOD);
    fx_free(fx);
}

static void test_submit_invalid(void)
{
    Fx *fx = fx_new();
    SndIoMsg *msg;

    reach(fx, SND_PCM_STATE_PREPARED);
    /* bad stream id */
    make_msg(fx, true, 2, PERIOD, 0, &msg);
    g_assert_cmphex(vsnd_pcm_submit(fx->pcm, msg), ==, VIRTIO_SND_S_BAD_MSG);
    vsnd_io_msg_free(msg);
    make_msg(fx, true, G_MAXUINT32, PERIOD, 0, &msg);
    g_assert_cmphex(vsnd_pcm_submit(fx->pcm, msg), ==, VIRTIO_SND_S_BAD_MSG);
    vsnd_io_msg_free(msg);
    /* tx for a capture stream, rx for a playback stream */
    make_msg(fx, true, 1, PERIOD, 0, &msg);
    g_assert_cmphex(vsnd_pcm_submit(fx->pcm, msg), ==, VIRTIO_SND_S_BAD_MSG);
    vsnd_io_msg_free(msg);
    make_msg(fx, false, 0, PERIOD, 0, &msg);
    g_assert_cmphex(vsnd_pcm_submit(fx->pcm, msg), ==, VIRTIO_SND_S_BAD_MSG);
    vsnd_io_msg_free(msg);
    /* larger than the buffer */
    make_msg(fx, true, 0, BUFFER + 1, 0, &msg);
    g_assert_cmphex(vsnd_pcm_submit(fx->pcm, msg), ==, VIRTIO_SND_S_BAD_MSG);
    vsnd_io_msg_free(msg);
    /* stream not prepared (stream 1 is idle) */
    make_msg(fx, false, 1, PERIOD, 0, &msg);
    g_assert_cmphex(vsnd_pcm_submit(fx->pcm, msg), ==, VIRTIO_SND_S_BAD_MSG);
    vsnd_io_msg_free(msg);
    g_assert_cmpuint(vsnd_pcm_pending(fx->pcm, 0), ==, 0);
    g_assert_cmpuint(fx->done->len, ==, 0);
    fx_free(fx);
}

/* The device's timers run on the manual test clock (fake_audio_new()). */
#define BPS_48K (48000u * 4u) /* S16 stereo */
#define BPS_44K1 (44100u * 4u)
#define MS INT64_C(1000000)

/* When period @k of PERIOD bytes ends, counted from 0, in ns. */
static int64_t period_end(uint64_t k, uint64_t bps)
{
    return vsnd_clock_time_of(0, k * PERIOD, bps);
}

/* Move the manual clock to @t (ns), then let idle callbacks run. */
static void advance_to(int64_t t)
{
    g_assert_cmpint(t, >=, vsnd_manual_clock_now());
    vsnd_manual_clock_advance(t - vsnd_manual_clock_now());
    fake_iterate(10);
}

static void advance(int64_t ns)
{
    advance_to(vsnd_manual_clock_now() + ns);
}

static void test_host_gone(void)
{
    Fx *fx = fx_new();
    VsndAudioStream *s;
    int64_t t0;

    fx->fake->default_room = 0;
    reach(fx, SND_PCM_STATE_RUNNING);
    s = fake_audio_last(fx->fake);
    submit(fx, true, 0, 0);
    submit(fx, true, 0, 0);
    g_test_expect_message("vsnd-snd", G_LOG_LEVEL_WARNING, "*host stream failed*");
    t0 = vsnd_manual_clock_now();
    fake_stream_error(s, -ENODEV);
    g_test_assert_expected_messages();
    /* jack disconnected */
    g_assert_cmpuint(fx->connected->len, ==, 1);
    g_assert_cmpuint(g_array_index(fx->connected, uint32_t, 0), ==, 0);
    g_assert_false(vsnd_pcm_connected(fx->pcm, 0));
    /* no instant completion: paced by the software clock, one message at
     * the end of each period (5.333 ms) from the loss */
    g_assert_cmpuint(fx->done->len, ==, 0);
    advance_to(t0 + period_end(1, BPS_48K) - 1);
    g_assert_cmpuint(fx->done->len, ==, 0);
    advance_to(t0 + period_end(1, BPS_48K));
    g_assert_cmpuint(fx->done->len, ==, 1);
    advance_to(t0 + period_end(2, BPS_48K) - 1);
    g_assert_cmpuint(fx->done->len, ==, 1);
    advance_to(t0 + period_end(2, BPS_48K));
    g_assert_cmpuint(fx->done->len, ==, 2);
    advance(100 * MS);
    g_assert_cmpuint(fx->done->len, ==, 2);
    g_assert_cmphex(done_at(fx, 0)->status, ==, VIRTIO_SND_S_IO_ERR);
    /* the host comes back */
    fake_stream_error(s, 0);
    g_assert_cmpuint(fx->connected->len, ==, 2);
    g_assert_cmpuint(g_array_index(fx->connected, uint32_t, 1), ==, 1u << 16);
    s->room = PERIOD;
    submit(fx, true, 0, 9);
    g_assert_cmpuint(fx->done->len, ==, 3);
    g_assert_cmphex(done_at(fx, 2)->status, ==, VIRTIO_SND_S_OK);
    check_written(s, 0, 9, PERIOD);
    fx_free(fx);
}


static void test_host_gone_before_start(void)
{
    Fx *fx = fx_new();
    VsndAudioStream *s;
    int64_t t0;

    reach(fx, SND_PCM_STATE_PREPARED);
    s = fake_audio_last(fx->fake);
    g_test_expect_message("vsnd-snd", G_LOG_LEVEL_WARNING, "*host stream failed*");
    fake_stream_error(s, -ENODEV);
    g_test_assert_expected_messages();
    /* START still succeeds: the stream runs on the device clock */
    t0 = vsnd_manual_clock_now();
    cmd_ok(fx, 0, SND_PCM_CMD_START);
    g_assert_false(s->started);
    submit(fx, true, 0, 1);
    advance_to(t0 + period_end(1, BPS_48K) - 1);
    g_assert_cmpuint(fx->done->len, ==, 0);
    advance_to(t0 + period_end(1, BPS_48K));
    g_assert_cmpuint(fx->done->len, ==, 1);
    g_assert_cmphex(done_at(fx, 0)->status, ==, VIRTIO_SND_S_IO_ERR);
    /* the host comes back: started now, data flows */
    fake_stream_error(s, 0);
    g_assert_true(s->started);
    submit(fx, true, 0, 2);
    fake_iterate(10);
    g_assert_cmpuint(fx->done->len, ==, 2);
    g_assert_cmphex(done_at(fx, 1)->status, ==, VIRTIO_SND_S_OK);
    check_written(s, 0, 2, PERIOD);
    /* STOP reaches the driver again */
    cmd_ok(fx, 0, SND_PCM_CMD_STOP);
    g_assert_false(s->started);
    g_assert_cmpuint(s->stops, ==, 1);
    fx_free(fx);
}


/* A 44.1 kHz stream (1024-byte periods of S16 stereo: 5.8049 ms) started
 * with @n messages queued, then its host end lost: the software clock
 * completes them from here.  Return: when it was lost (test clock). */
static int64_t software_clock_44k1(Fx *fx, unsigned int n)
{
    int64_t t0;

    fx->fake->default_room = 0;
    g_assert_cmphex(set_params_at(fx, 0, 0, VIRTIO_SND_PCM_FMT_S16, VIRTIO_SND_PCM_RATE_44100),
                    ==, VIRTIO_SND_S_OK);
    cmd_ok(fx, 0, SND_PCM_CMD_PREPARE);
    for (unsigned int i = 0; i < n; i++) {
        submit(fx, true, 0, (uint8_t)i);
    }
    cmd_ok(fx, 0, SND_PCM_CMD_START);
    g_test_expect_message("vsnd-snd", G_LOG_LEVEL_WARNING, "*host stream failed*");
    t0 = vsnd_manual_clock_now();
    fake_stream_error(fake_audio_last(fx->fake), -ENODEV);
    g_test_assert_expected_messages();
    return t0;
}

/* The software clock of a 44.1 kHz stream, whose period (1024 bytes of S16
 * stereo: 5.8049 ms) is no whole number of milliseconds: over 100 periods
 * completion k comes exactly at the end of period k counted from the
 * loss, on the nanosecond (was: g_timeout_add(5 ms), 0.8 ms early each
 * period, 80 ms ahead after 100, and not on the test clock at all). */
static void test_software_clock_exact(void)
{
    Fx *fx = fx_new();
    const unsigned int n = 100;
    int64_t t0 = software_clock_44k1(fx, n);

    for (unsigned int k = 1; k <= n; k++) {
        advance_to(t0 + period_end(k, BPS_44K1) - 1);
        g_assert_cmpuint(fx->done->len, ==, k - 1);
        advance_to(t0 + period_end(k, BPS_44K1));
        g_assert_cmpuint(fx->done->len, ==, k);
        g_assert_cmpuint(done_at(fx, k - 1)->token, ==, k - 1); /* in order */
        g_assert_cmphex(done_at(fx, k - 1)->status, ==, VIRTIO_SND_S_IO_ERR);
    }
    /* 100 periods are 580.49 ms, not 500 */
    g_assert_cmpint(period_end(n, BPS_44K1), ==, INT64_C(580498867));
    fx_free(fx);
}

/* A late wakeup (a busy host): the tick that comes 7 periods late does
 * every period that ended meanwhile, at once and in order, and the clock
 * keeps its schedule from the start (the next period ends where it would
 * have, not a period after the late tick). */
static void test_software_clock_catch_up(void)
{
    Fx *fx = fx_new();
    int64_t t0 = software_clock_44k1(fx, 12);

    advance_to(t0 + period_end(1, BPS_44K1));
    g_assert_cmpuint(fx->done->len, ==, 1);
    /* the timer's next deadline (period 2) is long past when it fires */
    vsnd_manual_clock_stall(period_end(8, BPS_44K1) + period_end(1, BPS_44K1) / 2 -
                            period_end(1, BPS_44K1));
    g_assert_cmpuint(fx->done->len, ==, 1);
    advance(0);
    g_assert_cmpuint(fx->done->len, ==, 8);
    for (unsigned int k = 0; k < 8; k++) {
        g_assert_cmpuint(done_at(fx, k)->token, ==, k);
    }
    advance_to(t0 + period_end(9, BPS_44K1) - 1);
    g_assert_cmpuint(fx->done->len, ==, 8);
    advance_to(t0 + period_end(9, BPS_44K1));
    g_assert_cmpuint(fx->done->len, ==, 9);
    g_assert_cmpuint(done_at(fx, 8)->token, ==, 8);
    fx_free(fx);
}

/* On the real clock (CLOCK_MONOTONIC, the daemon's): the software clock's
 * completions never come before their period ends (50 us of timer slack
 * allowed); generous upper bound for a loaded machine. */
static void test_software_clock_real(void)
{
    Fx *fx = fx_new_clocked("real");
    gint64 t0;

    fx->fake->default_room = 0;
    g_assert_cmphex(set_params_at(fx, 0, 0, VIRTIO_SND_PCM_FMT_S16, VIRTIO_SND_PCM_RATE_44100),
                    ==, VIRTIO_SND_S_OK);
    cmd_ok(fx, 0, SND_PCM_CMD_PREPARE);
    cmd_ok(fx, 0, SND_PCM_CMD_START);
    for (unsigned int i = 0; i < 3; i++) {
        submit(fx, true, 0, (uint8_t)i);
    }
    g_test_expect_message("vsnd-snd", G_LOG_LEVEL_WARNING, "*host stream failed*");
    t0 = g_get_monotonic_time();
    fake_stream_error(fake_audio_last(fx->fake), -ENODEV);
    g_test_assert_expected_messages();
    for (unsigned int k = 1; k <= 3; k++) {
        gint64 waited;

        while (fx->done->len < k) {
            g_main_context_iteration(NULL, TRUE);
        }
        waited = g_get_monotonic_time() - t0;
        g_test_message("completion %u after %" G_GINT64_FORMAT " us (period end %" G_GINT64_FORMAT
                       " us)", k, waited, period_end(k, BPS_44K1) / 1000);
        g_assert_cmpint(waited, >=, period_end(k, BPS_44K1) / 1000 - 50);
        g_assert_cmpint(waited, <, 2 * G_USEC_PER_SEC);
    }
    fx_free(fx);
}

static void test_open_fails_jack(void)
{
    Fx *fx = fx_new();

    g_assert_cmphex(set_params(fx, 0), ==, VIRTIO_SND_S_OK);
    fx->fake->fail_open = true;
    fx->fake->connected = false;
    g_test_expect_message("vsnd-snd", G_LOG_LEVEL_WARNING, "*cannot open host stream*");
    g_assert_cmphex(vsnd_pcm_command(fx->pcm, 0, SND_PCM_CMD_PREPARE), ==, VIRTIO_SND_S_IO_ERR);
    g_test_assert_expected_messages();
    /* the host says its end is gone: the jack follows */
    g_assert_false(vsnd_pcm_connected(fx->pcm, 0));
    g_assert_cmpuint(fx->connected->len, ==, 1);
    /* it comes back: a successful open reconnects */
    fx->fake->fail_open = false;
    fx->fake->connected = true;
    cmd_ok(fx, 0, SND_PCM_CMD_PREPARE);
    g_assert_true(vsnd_pcm_connected(fx->pcm, 0));
    g_assert_cmpuint(fx->connected->len, ==, 2);
    fx_free(fx);
}

/*
 * The fake is called through audio/registry.c like any driver (it used to
 * replace the registry at link time, and accepted all of this).  A driver
 * offering IMA ADPCM (no whole-byte frames): the guest may choose it, but
 * the registry opens no stream of it, so PREPARE fails and the driver is
 * never asked.  An empty transfer never reaches the driver either.
 */
static void test_registry_checks_fake(void)
{
    Fx *fx = fx_new();
    uint8_t byte = 0;
    struct iovec empty = { .iov_base = &byte, .iov_len = 0 };
    VsndAudioStream *s;

    vsnd_pcm_free(fx->pcm);
    fx->fake->caps[0].formats |= VSND_PCM_FMT_BIT(VSND_PCM_FMT_IMA_ADPCM);
    fx->pcm = vsnd_pcm_new(fx->cfg, fx->audio, &host, fx);
    g_assert_cmphex(set_params_full(fx, 0, 0, VIRTIO_SND_PCM_FMT_IMA_ADPCM), ==,
                    VIRTIO_SND_S_OK);
    g_test_expect_message("vsnd-snd", G_LOG_LEVEL_WARNING,
                          "*cannot open host stream: unsupported stream parameters*");
    g_assert_cmphex(vsnd_pcm_command(fx->pcm, 0, SND_PCM_CMD_PREPARE), ==, VIRTIO_SND_S_IO_ERR);
    g_test_assert_expected_messages();
    g_assert_cmpuint(fx->fake->opens, ==, 0);

    g_assert_cmphex(set_params(fx, 0), ==, VIRTIO_SND_S_OK);
    cmd_ok(fx, 0, SND_PCM_CMD_PREPARE);
    s = fake_audio_last(fx->fake);
    g_assert_nonnull(s);
    s->fail = -EIO; /* what the driver would answer, were it asked */
    g_assert_cmpint(vsnd_audio_write(fx->audio, s, &empty, 1), ==, 0);
    g_assert_cmpuint(s->written->len, ==, 0);
    fx_free(fx);
}

static void test_write_error(void)
{
    Fx *fx = fx_new();
    VsndAudioStream *s;
    int64_t t0;

    reach(fx, SND_PCM_STATE_RUNNING);
    s = fake_audio_last(fx->fake);
    s->fail = -EIO;
    g_test_expect_message("vsnd-snd", G_LOG_LEVEL_WARNING, "*host stream failed*");
    t0 = vsnd_manual_clock_now();
    submit(fx, true, 0, 0);
    g_test_assert_expected_messages();
    g_assert_false(vsnd_pcm_connected(fx->pcm, 0));
    g_assert_cmpuint(fx->done->len, ==, 0);
    advance_to(t0 + period_end(1, BPS_48K));
    g_assert_cmpuint(fx->done->len, ==, 1);
    fx_free(fx);
}

/* -EINVAL: the driver can never move a message of that size.  That
 * message fails (IO_ERR), the host is not taken for gone (jack stays
 * connected, no software clock) and the next message plays. */
static void test_write_never_fits(void)
{
    Fx *fx = fx_new();
    VsndAudioStream *s;

    reach(fx, SND_PCM_STATE_RUNNING);
    s = fake_audio_last(fx->fake);
    s->fail = -EINVAL;
    submit(fx, true, 0, 0); /* logged on the rate-limited guest channel */
    g_assert_cmpuint(fx->done->len, ==, 1);
    g_assert_cmphex(done_at(fx, 0)->status, ==, VIRTIO_SND_S_IO_ERR);
    g_assert_true(vsnd_pcm_connected(fx->pcm, 0));
    g_assert_cmpuint(fx->connected->len, ==, 0);
    s->fail = 0;
    submit(fx, true, 0, 9);
    g_assert_cmpuint(fx->done->len, ==, 2);
    g_assert_cmphex(done_at(fx, 1)->status, ==, VIRTIO_SND_S_OK);
    check_written(s, 0, 9, PERIOD);
    fx_free(fx);
}

static void test_xrun_event(void)
{
    Fx *fx = fx_new();

    g_assert_cmphex(set_params_full(fx, 0, 1u << VIRTIO_SND_PCM_F_EVT_XRUNS,
                                    VIRTIO_SND_PCM_FMT_S16), ==, VIRTIO_SND_S_OK);
    cmd_ok(fx, 0, SND_PCM_CMD_PREPARE);
    cmd_ok(fx, 0, SND_PCM_CMD_START);
    fake_stream_error(fake_audio_last(fx->fake), -EPIPE);
    g_assert_cmpuint(fx->events->len, ==, 2);
    g_assert_cmphex(g_array_index(fx->events, uint32_t, 0), ==, VIRTIO_SND_EVT_PCM_XRUN);
    g_assert_cmpuint(g_array_index(fx->events, uint32_t, 1), ==, 0);
    /* an xrun is not a disconnection */
    g_assert_true(vsnd_pcm_connected(fx->pcm, 0));
    fx_free(fx);
}

static unsigned int xrun_events(Fx *fx)
{
    unsigned int n = 0;

    for (guint i = 0; i + 1 < fx->events->len; i += 2) {
        n += g_array_index(fx->events, uint32_t, i) == VIRTIO_SND_EVT_PCM_XRUN;
    }
    return n;
}

/* A running playback stream the guest stops feeding runs dry once the
 * host has played what it holds: one XRUN per dry spell, counted in the
 * log; the next message ends the spell; none after STOP. */
static void test_underrun_xrun(void)
{
    Fx *fx = fx_new();
    int64_t t0;

    g_assert_cmphex(set_params_full(fx, 0, 1u << VIRTIO_SND_PCM_F_EVT_XRUNS,
                                    VIRTIO_SND_PCM_FMT_S16), ==, VIRTIO_SND_S_OK);
    cmd_ok(fx, 0, SND_PCM_CMD_PREPARE);
    submit(fx, true, 0, 1);
    t0 = vsnd_manual_clock_now();
    cmd_ok(fx, 0, SND_PCM_CMD_START);
    g_assert_cmpuint(fx->done->len, ==, 1);
    /* the fake host holds 100 bytes: dry a period (5.333 ms) after the
     * FIFO ran empty, not a nanosecond earlier */
    advance_to(t0 + period_end(1, BPS_48K) - 1);
    g_assert_cmpuint(xrun_events(fx), ==, 0);
    g_test_expect_message("vsnd-snd", G_LOG_LEVEL_MESSAGE, "*playback underrun*xrun 1 *");
    advance_to(t0 + period_end(1, BPS_48K));
    g_test_assert_expected_messages();
    g_assert_cmpuint(xrun_events(fx), ==, 1);
    g_assert_cmpuint(g_array_index(fx->events, uint32_t, 1), ==, 0);
    advance(40 * MS);
    g_assert_cmpuint(xrun_events(fx), ==, 1); /* once per dry spell */
    g_assert_true(vsnd_pcm_connected(fx->pcm, 0));
    g_assert_cmpint(vsnd_pcm_state(fx->pcm, 0), ==, SND_PCM_STATE_RUNNING);
    submit(fx, true, 0, 2);
    g_assert_cmpuint(fx->done->len, ==, 2);
    g_test_expect_message("vsnd-snd", G_LOG_LEVEL_MESSAGE, "*playback underrun*xrun 2 *");
    advance(period_end(1, BPS_48K));
    g_test_assert_expected_messages();
    g_assert_cmpuint(xrun_events(fx), ==, 2);
    submit(fx, true, 0, 3);
    cmd_ok(fx, 0, SND_PCM_CMD_STOP);
    advance(40 * MS);
    g_assert_cmpuint(xrun_events(fx), ==, 2);
    g_test_expect_message("vsnd-snd", G_LOG_LEVEL_MESSAGE, "*stream 0: 2 xruns*");
    cmd_ok(fx, 0, SND_PCM_CMD_RELEASE);
    g_test_assert_expected_messages();
    fx_free(fx);
}

/* The FIFO is empty but the host still holds more than a period (its
 * latency says so): no underrun yet, however long that lasts. */
static void test_no_underrun_while_host_plays(void)
{
    Fx *fx = fx_new();

    fx->fake->latency = 4 * PERIOD;
    g_assert_cmphex(set_params_full(fx, 0, 1u << VIRTIO_SND_PCM_F_EVT_XRUNS,
                                    VIRTIO_SND_PCM_FMT_S16), ==, VIRTIO_SND_S_OK);
    cmd_ok(fx, 0, SND_PCM_CMD_PREPARE);
    cmd_ok(fx, 0, SND_PCM_CMD_START);
    submit(fx, true, 0, 1);
    advance(80 * MS);
    g_assert_cmpuint(xrun_events(fx), ==, 0);
    fx->fake->latency = 0; /* played out */
    advance(40 * MS);
    g_assert_cmpuint(xrun_events(fx), ==, 1);
    fx_free(fx);
}

/* Without EVT_XRUNS the underrun is counted in the log, and no event. */
static void test_underrun_not_negotiated(void)
{
    Fx *fx = fx_new();

    reach(fx, SND_PCM_STATE_RUNNING);
    g_test_expect_message("vsnd-snd", G_LOG_LEVEL_MESSAGE, "*playback underrun*xrun 1 *");
    advance(40 * MS);
    g_test_assert_expected_messages();
    g_assert_cmpuint(fx->events->len, ==, 0);
    fx_free(fx);
}

/* A capture overrun the driver reports is an XRUN too, and counted. */
static void test_overrun_counted(void)
{
    Fx *fx = fx_new();

    g_assert_cmphex(set_params_full(fx, 1, 1u << VIRTIO_SND_PCM_F_EVT_XRUNS,
                                    VIRTIO_SND_PCM_FMT_S16), ==, VIRTIO_SND_S_OK);
    cmd_ok(fx, 1, SND_PCM_CMD_PREPARE);
    cmd_ok(fx, 1, SND_PCM_CMD_START);
    g_test_expect_message("vsnd-snd", G_LOG_LEVEL_MESSAGE, "*capture overrun*xrun 1 *");
    fake_stream_error(fake_audio_last(fx->fake), -EPIPE);
    g_test_assert_expected_messages();
    g_assert_cmpuint(xrun_events(fx), ==, 1);
    g_assert_cmpuint(g_array_index(fx->events, uint32_t, 1), ==, 1);
    fx_free(fx);
}

static void test_xrun_not_negotiated(void)
{
    Fx *fx = fx_new();

    reach(fx, SND_PCM_STATE_RUNNING);
    fake_stream_error(fake_audio_last(fx->fake), -EPIPE);
    g_assert_cmpuint(fx->events->len, ==, 0);
    fx_free(fx);
}

static void test_soft_gain(void)
{
    Fx *fx = fx_new();
    VsndAudioStream *s;
    TestMsg *tm;
    int16_t in[PERIOD / 2], out[PERIOD / 2];

    fx->fake->has_volume = false;
    reach(fx, SND_PCM_STATE_RUNNING);
    s = fake_audio_last(fx->fake);
    vsnd_pcm_set_gain(fx->pcm, 0, SND_GAIN_UNITY / 2, false);
    g_assert_cmpuint(s->volume_calls, ==, 1);
    tm = submit(fx, true, 0, 0x40);
    g_assert_cmpuint(fx->done->len, ==, 1);
    memcpy(in, tm->mem + 4, PERIOD);
    memcpy(out, s->written->data, PERIOD);
    for (unsigned int i = 0; i < PERIOD / 2; i++) {
        int16_t want = (int16_t)(GINT16_FROM_LE(in[i]) / 2);
        g_assert_cmpint(GINT16_FROM_LE(out[i]), ==, want);
    }
    /* the guest's buffer is not modified */
    g_assert_cmpuint(tm->mem[4], ==, 0x40);
    /* mute: silence */
    vsnd_pcm_set_gain(fx->pcm, 0, SND_GAIN_UNITY, true);
    fake_stream_give_room(s, PERIOD);
    submit(fx, true, 0, 0x41);
    fake_iterate(10);
    g_assert_cmpuint(fx->done->len, ==, 2);
    for (unsigned int i = PERIOD; i < 2 * PERIOD; i++) {
        g_assert_cmpuint(s->written->data[i], ==, 0);
    }
    fx_free(fx);
}

static void test_hw_gain(void)
{
    Fx *fx = fx_new();
    VsndAudioStream *s;

    vsnd_pcm_set_gain(fx->pcm, 0, 1000, true);
    reach(fx, SND_PCM_STATE_PREPARED);
    s = fake_audio_last(fx->fake);
    /* applied at open, to the driver */
    g_assert_cmpuint(s->volume, ==, 1000);
    g_assert_true(s->mute);
    cmd_ok(fx, 0, SND_PCM_CMD_START);
    submit(fx, true, 0, 5);
    check_written(s, 0, 5, PERIOD); /* data untouched */
    fx_free(fx);
}

static void test_queue_stop(void)
{
    Fx *fx = fx_new();
    VsndAudioStream *s;

    fx->fake->default_room = 0;
    reach(fx, SND_PCM_STATE_RUNNING);
    s = fake_audio_last(fx->fake);
    submit(fx, true, 0, 0);
    submit(fx, true, 0, 0);
    vsnd_pcm_queue_stopped(fx->pcm, VSND_DIR_INPUT);
    g_assert_cmpuint(fx->done->len, ==, 0);
    vsnd_pcm_queue_stopped(fx->pcm, VSND_DIR_OUTPUT);
    g_assert_cmpuint(fx->done->len, ==, 2);
    /* their frames are carried over and played after the restart: OK
     * (cause 5 of the VM lifecycle issue; was IO_ERR) */
    g_assert_cmphex(done_at(fx, 0)->status, ==, VIRTIO_SND_S_OK);
    g_assert_cmphex(done_at(fx, 1)->status, ==, VIRTIO_SND_S_OK);
    /* completed, not yet heard: the carried frames count in latency_bytes
     * (host latency 100 + the carry when each completed) */
    g_assert_cmpuint(done_at(fx, 0)->latency, ==, 100 + PERIOD);
    g_assert_cmpuint(done_at(fx, 1)->latency, ==, 100 + 2 * PERIOD);
    g_assert_false(s->started);
    vsnd_pcm_queue_started(fx->pcm, VSND_DIR_OUTPUT);
    g_assert_cmpint(vsnd_pcm_state(fx->pcm, 0), ==, SND_PCM_STATE_RUNNING);
    g_assert_true(s->started);
    fx_free(fx);
}

/* The ring's stop and start in the one table: a stream paused by its ring
 * reads RUNNING in a snapshot (what the guest believes), STOPPED to the
 * device's callers, and only it resumes when the ring starts; every other
 * state stays as it is. */
static void test_queue_pause_states(void)
{
    for (int st = SND_PCM_STATE_INIT; st < SND_PCM_STATE_MAX; st++) {
        Fx *fx = fx_new();
        SndPcmSnapshot snap;
        SndPcmState shown = st == SND_PCM_STATE_RUNNING ? SND_PCM_STATE_STOPPED : st;

        reach(fx, st);
        vsnd_pcm_queue_stopped(fx->pcm, VSND_DIR_OUTPUT);
        g_assert_cmpint(vsnd_pcm_state(fx->pcm, 0), ==, shown);
        vsnd_pcm_snapshot(fx->pcm, 0, &snap);
        g_assert_cmpint(snap.state, ==, st);
        vsnd_pcm_queue_started(fx->pcm, VSND_DIR_INPUT); /* not its ring */
        g_assert_cmpint(vsnd_pcm_state(fx->pcm, 0), ==, shown);
        vsnd_pcm_queue_started(fx->pcm, VSND_DIR_OUTPUT);
        g_assert_cmpint(vsnd_pcm_state(fx->pcm, 0), ==, st);
        fx_free(fx);
    }
}

/* A stream paused by its ring takes the guest's commands as a stopped one:
 * START runs it (the ring's start then changes nothing), RELEASE releases
 * it, the rest is refused and leaves it paused. */
static void test_queue_pause_commands(void)
{
    for (int c = 0; c < SND_PCM_CMD_MAX; c++) {
        Fx *fx = fx_new();
        SndPcmState to = SND_PCM_STATE_STOPPED;
        bool ok = vsnd_pcm_transition(SND_PCM_STATE_STOPPED, c, &to);
        uint32_t status;
        SndPcmSnapshot snap;

        reach(fx, SND_PCM_STATE_RUNNING);
        vsnd_pcm_queue_stopped(fx->pcm, VSND_DIR_OUTPUT);
        if (c == SND_PCM_CMD_SET_PARAMS) {
            status = set_params(fx, 0);
        } else {
            status = vsnd_pcm_command(fx->pcm, 0, c);
        }
        g_assert_cmphex(status, ==, ok ? VIRTIO_SND_S_OK : VIRTIO_SND_S_BAD_MSG);
        g_assert_cmpint(vsnd_pcm_state(fx->pcm, 0), ==, to);
        vsnd_pcm_snapshot(fx->pcm, 0, &snap);
        g_assert_cmpint(snap.state, ==, ok ? to : SND_PCM_STATE_RUNNING);
        vsnd_pcm_queue_started(fx->pcm, VSND_DIR_OUTPUT);
        g_assert_cmpint(vsnd_pcm_state(fx->pcm, 0), ==, ok ? to : SND_PCM_STATE_RUNNING);
        fx_free(fx);
    }
}

static void test_reset(void)
{
    Fx *fx = fx_new();

    fx->fake->default_room = 0;
    reach(fx, SND_PCM_STATE_RUNNING);
    submit(fx, true, 0, 0);
    submit(fx, true, 0, 0);
    vsnd_pcm_reset(fx->pcm);
    g_assert_cmpuint(fx->done->len, ==, 0);
    g_assert_cmpuint(fx->discarded, ==, 2);
    g_assert_cmpuint(fx->fake->closes, ==, 1);
    g_assert_cmpint(vsnd_pcm_state(fx->pcm, 0), ==, SND_PCM_STATE_INIT);
    g_assert_false(vsnd_pcm_params(fx->pcm, 0, &(SndPcmParams){ 0 }));
    /* After a reset Linux sends RELEASE, SET_PARAMS, PREPARE. */
    cmd_ok(fx, 0, SND_PCM_CMD_RELEASE);
    g_assert_cmphex(set_params(fx, 0), ==, VIRTIO_SND_S_OK);
    cmd_ok(fx, 0, SND_PCM_CMD_PREPARE);
    fx_free(fx);
}

static void test_polling(void)
{
    Fx *fx = fx_new();

    g_assert_cmphex(set_params_full(fx, 0, 1u << VIRTIO_SND_PCM_F_MSG_POLLING,
                                    VIRTIO_SND_PCM_FMT_S16), ==, VIRTIO_SND_S_OK);
    g_assert_cmpint(fx->polling, ==, 0);
    /* Polling costs wakeups: only while a stream runs.  What the guest
     * queued before START is taken when START arrives. */
    cmd_ok(fx, 0, SND_PCM_CMD_PREPARE);
    g_assert_cmpint(fx->polling, ==, 0);
    cmd_ok(fx, 0, SND_PCM_CMD_START);
    g_assert_cmpint(fx->polling, ==, 1);
    cmd_ok(fx, 0, SND_PCM_CMD_STOP);
    g_assert_cmpint(fx->polling, ==, 0);
    cmd_ok(fx, 0, SND_PCM_CMD_START);
    g_assert_cmpint(fx->polling, ==, 1);
    cmd_ok(fx, 0, SND_PCM_CMD_STOP);
    cmd_ok(fx, 0, SND_PCM_CMD_RELEASE);
    g_assert_cmpint(fx->polling, ==, 0);
    fx_free(fx);
}

/* Cause 2 of the VM lifecycle issue: a MSG_POLLING stream paused by a
 * queue stop is polled again when the queue starts (Linux never kicks
 * tx/rx then); was: polling stayed off after a restore. */
static void test_polling_queue_restart(void)
{
    Fx *fx = fx_new();
    SndPcmSnapshot snap;
    g_autofree uint8_t *carry = NULL;

    g_assert_cmphex(set_params_full(fx, 0, 1u << VIRTIO_SND_PCM_F_MSG_POLLING,
                                    VIRTIO_SND_PCM_FMT_S16), ==, VIRTIO_SND_S_OK);
    cmd_ok(fx, 0, SND_PCM_CMD_PREPARE);
    cmd_ok(fx, 0, SND_PCM_CMD_START);
    g_assert_cmpint(fx->polling, ==, 1);
    vsnd_pcm_queue_stopped(fx->pcm, VSND_DIR_OUTPUT);
    g_assert_cmpint(fx->polling, ==, 0);
    vsnd_pcm_queue_started(fx->pcm, VSND_DIR_OUTPUT);
    g_assert_cmpint(fx->polling, ==, 1);
    /* restored running (migration destination, state file): paused until
     * the queue starts, then polled */
    vsnd_pcm_snapshot(fx->pcm, 0, &snap);
    carry = g_memdup2(snap.carry, snap.carry_len);
    snap.carry = carry;
    vsnd_pcm_restore(fx->pcm, 0, &snap);
    g_assert_cmpint(fx->polling, ==, 0);
    vsnd_pcm_queue_started(fx->pcm, VSND_DIR_OUTPUT);
    g_assert_cmpint(vsnd_pcm_state(fx->pcm, 0), ==, SND_PCM_STATE_RUNNING);
    g_assert_cmpint(fx->polling, ==, 1);
    fx_free(fx);
}

static void test_drain_lingers(void)
{
    Fx *fx = fx_new();
    VsndAudioStream *s;

    reach(fx, SND_PCM_STATE_STOPPED);
    s = fake_audio_last(fx->fake);
    /* Linux stopped the stream when its last message completed: that
     * audio is still queued in the (paused) host stream */
    g_assert_false(s->started);
    s->drain_ret = -EINPROGRESS;
    cmd_ok(fx, 0, SND_PCM_CMD_RELEASE);
    /* resumed and drained, nothing dropped; still open while it drains,
     * the stream itself is released */
    g_assert_true(s->started);
    g_assert_cmpuint(s->drains, ==, 1);
    g_assert_cmpuint(s->dropped, ==, 0);
    g_assert_false(s->closed);
    g_assert_cmpint(vsnd_pcm_state(fx->pcm, 0), ==, SND_PCM_STATE_RELEASED);
    /* a new PREPARE opens a new host stream meanwhile */
    cmd_ok(fx, 0, SND_PCM_CMD_PREPARE);
    g_assert_cmpuint(fx->fake->opens, ==, 2);
    /* drained: closed from the main loop */
    s->events->ready(s->opaque);
    g_assert_false(s->closed);
    fake_iterate(10);
    g_assert_true(s->closed);
    fx_free(fx);
}

/* A drain the driver never ends: the host stream is closed when the
 * limit (2 s of the driver's clock) passes, not a nanosecond before. */
static void test_drain_limit(void)
{
    Fx *fx = fx_new();
    VsndAudioStream *s;
    int64_t t0;

    reach(fx, SND_PCM_STATE_STOPPED);
    s = fake_audio_last(fx->fake);
    s->drain_ret = -EINPROGRESS;
    t0 = vsnd_manual_clock_now();
    cmd_ok(fx, 0, SND_PCM_CMD_RELEASE);
    g_assert_cmpuint(s->drains, ==, 1);
    advance_to(t0 + 2000 * MS - 1);
    g_assert_false(s->closed);
    advance_to(t0 + 2000 * MS);
    g_assert_true(s->closed);
    g_assert_cmpuint(fx->fake->closes, ==, 1);
    fx_free(fx);
}

/* The sequence of a Linux guest's playback end (aplay, pulse, pipewire):
 * the last messages complete when the host buffer took them, the guest's
 * hw_ptr reaches appl_ptr, STOP, then RELEASE.  Every frame of a
 * completed message must still be played, none dropped. */
static void test_release_after_stop_plays_all(void)
{
    Fx *fx = fx_new();
    VsndAudioStream *s;

    reach(fx, SND_PCM_STATE_RUNNING);
    s = fake_audio_last(fx->fake);
    submit(fx, true, 0, 1);
    submit(fx, true, 0, 50);
    fake_iterate(10);
    g_assert_cmpuint(fx->done->len, ==, 2);
    check_written(s, 0, 1, PERIOD);
    check_written(s, PERIOD, 50, PERIOD);
    cmd_ok(fx, 0, SND_PCM_CMD_STOP);
    s->drain_ret = -EINPROGRESS;
    cmd_ok(fx, 0, SND_PCM_CMD_RELEASE);
    g_assert_cmpuint(s->dropped, ==, 0);
    g_assert_cmpuint(s->played, ==, 2 * PERIOD);
    g_assert_false(s->closed);
    s->events->ready(s->opaque);
    fake_iterate(10);
    g_assert_true(s->closed);
    fx_free(fx);
}

/* PREPARE then RELEASE (nothing was ever started): no host start. */
static void test_release_unstarted(void)
{
    Fx *fx = fx_new();
    VsndAudioStream *s;

    reach(fx, SND_PCM_STATE_PREPARED);
    s = fake_audio_last(fx->fake);
    cmd_ok(fx, 0, SND_PCM_CMD_RELEASE);
    g_assert_cmpuint(s->starts, ==, 0);
    g_assert_true(s->closed);
    fx_free(fx);
}

static void test_caps_fallback(void)
{
    Fx *fx = fx_new();
    struct virtio_snd_pcm_info info;

    vsnd_pcm_free(fx->pcm);
    fx->fake->query_ret = -EIO;
    g_test_expect_message("vsnd-snd", G_LOG_LEVEL_WARNING, "*no usable capabilities*");
    g_test_expect_message("vsnd-snd", G_LOG_LEVEL_WARNING, "*no usable capabilities*");
    fx->pcm = vsnd_pcm_new(fx->cfg, fx->audio, &host, fx);
    g_test_assert_expected_messages();
    vsnd_pcm_info(fx->pcm, 0, &info);
    /* still something Linux accepts */
    g_assert_cmpuint(GUINT64_FROM_LE(info.formats), !=, 0);
    g_assert_cmpuint(GUINT64_FROM_LE(info.rates) & 0x1fff, !=, 0);
    g_assert_cmpuint(info.channels_min, >=, 1);
    g_assert_cmpuint(info.channels_min, <=, info.channels_max);
    fx_free(fx);
}


/* ---- hostile input: random commands and messages ---- */

static void test_random_io(void)
{
    Fx *fx = fx_new();
    unsigned int accepted = 0, rejected = 0;
    GArray *order = g_array_new(FALSE, FALSE, sizeof(unsigned int)); /* accepted tokens */

    fx->fake->default_room = PERIOD;
    for (unsigned int i = 0; i < 4000; i++) {
        int what = g_test_rand_int_range(0, 10);
        uint32_t sid = (uint32_t)g_test_rand_int_range(0, 3);

        if (what < 3) {
            g_autoptr(GError) err = NULL;
            SndPcmCmd cmd = (SndPcmCmd)g_test_rand_int_range(0, SND_PCM_CMD_MAX);

            if (cmd == SND_PCM_CMD_SET_PARAMS) {
                set_params(fx, sid);
            } else {
                vsnd_pcm_command(fx->pcm, sid, cmd);
            }
        } else if (what < 8) {
            bool tx = g_test_rand_int_range(0, 2);
            size_t len = (size_t)g_test_rand_int_range(1, BUFFER + 64);
            SndIoMsg *msg;
            TestMsg *tm = make_msg(fx, tx, sid, len, (uint8_t)i, &msg);

            if (vsnd_pcm_submit(fx->pcm, msg) == 0) {
                accepted++;
                g_array_append_val(order, tm->token);
            } else {
                rejected++;
                vsnd_io_msg_free(msg);
            }
        } else if (what == 8) {
            for (unsigned int k = 0; k < fx->fake->streams->len; k++) {
                VsndAudioStream *s = g_ptr_array_index(fx->fake->streams, k);
                if (!s->closed) {
                    if (s->params.direction == VSND_DIR_OUTPUT) {
                        fake_stream_give_room(s, PERIOD);
                    } else {
                        fake_stream_give_data(s, PERIOD);
                    }
                }
            }
            fake_iterate(5);
        } else {
            vsnd_pcm_queue_stopped(fx->pcm, g_test_rand_int_range(0, 2) ? VSND_DIR_OUTPUT
                                                                      : VSND_DIR_INPUT);
            vsnd_pcm_queue_started(fx->pcm, VSND_DIR_OUTPUT);
            vsnd_pcm_queue_started(fx->pcm, VSND_DIR_INPUT);
        }
        /* nothing is lost or duplicated */
        g_assert_cmpuint(fx->done->len + fx->discarded + vsnd_pcm_pending(fx->pcm, 0) +
                             vsnd_pcm_pending(fx->pcm, 1), ==, accepted);
    }
    g_assert_cmpuint(accepted, >, 0);
    g_assert_cmpuint(rejected, >, 0);
    /* completions per stream in submission order */
    for (uint32_t sid = 0; sid < 2; sid++) {
        unsigned int last = 0;
        bool first = true;

        for (unsigned int k = 0; k < fx->done->len; k++) {
            const Done *d = done_at(fx, k);
            const TestMsg *tm = g_ptr_array_index(fx->bufs, d->token);
            uint32_t id;

            memcpy(&id, tm->mem, 4);
            if (GUINT32_FROM_LE(id) != sid) {
                continue;
            }
            g_assert_true(first || d->token > last);
            last = d->token;
            first = false;
        }
    }
    vsnd_pcm_reset(fx->pcm);
    g_assert_cmpuint(fx->done->len + fx->discarded, ==, accepted);
    g_assert_cmpuint(fx->fake->opens, ==, fx->fake->closes);
    g_array_unref(order);
    fx_free(fx);
}

int main(int argc, char **argv)
{
    static Tr trs[SND_PCM_STATE_MAX * SND_PCM_CMD_MAX];

    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/snd/pcm/transition/table", test_table);
    for (int s = 0; s < SND_PCM_STATE_MAX; s++) {
        for (int c = 0; c < SND_PCM_CMD_MAX; c++) {
            Tr *tr = &trs[s * SND_PCM_CMD_MAX + c];
            g_autofree char *path = NULL;
            g_autofree char *cmd = g_ascii_strdown(vsnd_pcm_cmd_name((SndPcmCmd)c), -1);

            tr->from = (SndPcmState)s;
            tr->cmd = (SndPcmCmd)c;
            path = g_strdup_printf("/snd/pcm/transition/%s/%s/%s",
                                   vsnd_pcm_state_name((SndPcmState)s), cmd,
                                   expected[s][c] >= 0 ? "allowed" : "refused");
            g_test_add_data_func(path, tr, test_transition);
        }
    }
    g_test_add_func("/snd/pcm/command/invalid/stream-id", test_bad_stream_id);
    g_test_add_func("/snd/pcm/io/prebuffer-until-start", test_prebuffer);
    g_test_add_func("/snd/pcm/io/paced-by-driver", test_paced);
    g_test_add_func("/snd/pcm/io/underrun-ridden-out", test_underrun_ridden_out);
    g_test_add_func("/snd/pcm/io/stop-keeps-queued", test_stop_keeps_queued);
    g_test_add_func("/snd/pcm/io/release-completes-pending", test_release_completes_pending);
    g_test_add_func("/snd/pcm/io/release-completes-capture", test_release_capture_pending);
    g_test_add_func("/snd/pcm/io/params-survive-release", test_params_survive_release);
    g_test_add_func("/snd/pcm/io/reprepare-flushes", test_reprepare_flushes);
    g_test_add_func("/snd/pcm/io/capture-fills-periods", test_capture);
    g_test_add_func("/snd/pcm/io/invalid/submit", test_submit_invalid);
    g_test_add_func("/snd/pcm/io/host-gone-software-clock", test_host_gone);
    g_test_add_func("/snd/pcm/io/software-clock/exact-periods-44k1", test_software_clock_exact);
    g_test_add_func("/snd/pcm/io/software-clock/real-clock-never-early", test_software_clock_real);
    g_test_add_func("/snd/pcm/io/software-clock/late-tick-catches-up",
                    test_software_clock_catch_up);
    g_test_add_func("/snd/pcm/io/write-error", test_write_error);
    g_test_add_func("/snd/pcm/io/write-never-fits-is-no-host-loss", test_write_never_fits);
    g_test_add_func("/snd/pcm/jack/open-fails-disconnects", test_open_fails_jack);
    g_test_add_func("/snd/pcm/fake-driver/behind-registry-checks", test_registry_checks_fake);
    g_test_add_func("/snd/pcm/io/host-gone-before-start", test_host_gone_before_start);
    g_test_add_func("/snd/pcm/io/xrun-event", test_xrun_event);
    g_test_add_func("/snd/pcm/io/xrun-not-negotiated", test_xrun_not_negotiated);
    g_test_add_func("/snd/pcm/io/xrun/playback-underrun", test_underrun_xrun);
    g_test_add_func("/snd/pcm/io/xrun/no-underrun-while-host-plays",
                    test_no_underrun_while_host_plays);
    g_test_add_func("/snd/pcm/io/xrun/underrun-not-negotiated", test_underrun_not_negotiated);
    g_test_add_func("/snd/pcm/io/xrun/capture-overrun-counted", test_overrun_counted);
    g_test_add_func("/snd/pcm/gain/software", test_soft_gain);
    g_test_add_func("/snd/pcm/gain/driver", test_hw_gain);
    g_test_add_func("/snd/pcm/queue-stop-start", test_queue_stop);
    g_test_add_func("/snd/pcm/queue-pause/states", test_queue_pause_states);
    g_test_add_func("/snd/pcm/queue-pause/commands", test_queue_pause_commands);
    g_test_add_func("/snd/pcm/reset", test_reset);
    g_test_add_func("/snd/pcm/polling", test_polling);
    g_test_add_func("/snd/pcm/polling-queue-restart", test_polling_queue_restart);
    g_test_add_func("/snd/pcm/release/drain-lingers", test_drain_lingers);
    g_test_add_func("/snd/pcm/release/drain-limit-on-test-clock", test_drain_limit);
    g_test_add_func("/snd/pcm/release/after-stop-plays-all", test_release_after_stop_plays_all);
    g_test_add_func("/snd/pcm/release/unstarted", test_release_unstarted);
    g_test_add_func("/snd/pcm/caps/driver-query-fails", test_caps_fallback);
    g_test_add_func("/snd/pcm/hostile/random-io", test_random_io);
    return g_test_run();
}
