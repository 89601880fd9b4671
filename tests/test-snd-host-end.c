/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-snd-host-end.c - the host end of a PCM stream (snd-pcm-host-end.c):
 * its table pair by pair, its one writer (the jack and the device's
 * jack callback follow each event by its rule; a refused event is a
 * logged programming error that changes nothing), and the host end kept in
 * step with the guest's stream and the driver through every public entry
 * of the stream manager (any site that moves the driver or the jack
 * without the writer breaks one of the walk's invariants).
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib.h>

#include "snd/snd-pcm-host-end.h"
#include "snd/snd-pcm-state.h"
#include "test-snd-fake.h"

#define PERIOD 1024u
#define BUFFER 4096u

typedef struct {
    VsndDeviceConfig *cfg;
    VsndAudio *audio;
    FakeAudio *fake; /* its backend: knobs and records */
    SndPcm *pcm;
    unsigned int jack_calls[2];
    bool jack_told[2]; /* what the device was last told */
} Fx;

static void h_complete(void *opaque, SndIoMsg *msg, uint32_t status, uint32_t latency)
{
    (void)opaque;
    (void)status;
    (void)latency;
    vsnd_io_msg_free(msg);
}

static void h_discard(void *opaque, SndIoMsg *msg)
{
    (void)opaque;
    vsnd_io_msg_free(msg);
}

static void h_event(void *opaque, uint32_t code, uint32_t data)
{
    (void)opaque;
    (void)code;
    (void)data;
}

static void h_connected(void *opaque, uint32_t stream, bool connected)
{
    Fx *fx = opaque;

    g_assert_cmpuint(stream, <, 2);
    /* Told only of a change. */
    g_assert_cmpint(connected, !=, fx->jack_told[stream]);
    fx->jack_told[stream] = connected;
    fx->jack_calls[stream]++;
}

static void h_polling(void *opaque, bool on)
{
    (void)opaque;
    (void)on;
}

static const SndPcmHost host = {
    .complete = h_complete,
    .discard = h_discard,
    .event = h_event,
    .connected = h_connected,
    .polling = h_polling,
};

static Fx *fx_new(void)
{
    Fx *fx = g_new0(Fx, 1);

    fx->cfg = fake_config_new(2, FALSE);
    fx->audio = fake_audio_new(&fx->fake);
    fx->pcm = vsnd_pcm_new(fx->cfg, fx->audio, &host, fx);
    for (uint32_t i = 0; i < 2; i++) {
        fx->jack_told[i] = vsnd_pcm_connected(fx->pcm, i);
    }
    return fx;
}

static void fx_free(Fx *fx)
{
    vsnd_pcm_free(fx->pcm);
    vsnd_audio_free(fx->audio);
    fake_config_free(fx->cfg);
    g_free(fx);
}

static SndPcmStream *stream(Fx *fx, uint32_t id)
{
    return &fx->pcm->streams[id];
}

/* ---- the table ---- */

/* Every pair the table accepts, written out from the documented meaning
 * of the states (snd-pcm-stream.h) and events (snd-pcm-host-end.h). */
static const struct {
    SndHostEndState from;
    SndHostEndEvent ev;
    SndHostEndState to;
} accepted[] = {
    { HOST_END_CLOSED, HOST_EV_OPENED, HOST_END_OPEN },
    { HOST_END_MISSING, HOST_EV_OPENED, HOST_END_OPEN },
    { HOST_END_CLOSED, HOST_EV_OPEN_FAILED, HOST_END_CLOSED },
    { HOST_END_MISSING, HOST_EV_OPEN_FAILED, HOST_END_MISSING },
    { HOST_END_OPEN, HOST_EV_STARTED, HOST_END_STARTED },
    { HOST_END_OPEN, HOST_EV_START_FAILED, HOST_END_OPEN },
    { HOST_END_STARTED, HOST_EV_STOPPED, HOST_END_OPEN },
    { HOST_END_LOST_STARTED, HOST_EV_STOPPED, HOST_END_LOST },
    /* loss and return while the stream opens leave it to the open */
    { HOST_END_CLOSED, HOST_EV_LOST, HOST_END_CLOSED },
    { HOST_END_MISSING, HOST_EV_LOST, HOST_END_MISSING },
    { HOST_END_OPEN, HOST_EV_LOST, HOST_END_LOST },
    { HOST_END_STARTED, HOST_EV_LOST, HOST_END_LOST_STARTED },
    { HOST_END_LOST, HOST_EV_LOST, HOST_END_LOST },
    { HOST_END_LOST_STARTED, HOST_EV_LOST, HOST_END_LOST_STARTED },
    { HOST_END_CLOSED, HOST_EV_BACK, HOST_END_CLOSED },
    { HOST_END_MISSING, HOST_EV_BACK, HOST_END_MISSING },
    { HOST_END_OPEN, HOST_EV_BACK, HOST_END_OPEN },
    { HOST_END_STARTED, HOST_EV_BACK, HOST_END_STARTED },
    { HOST_END_LOST, HOST_EV_BACK, HOST_END_OPEN },
    { HOST_END_LOST_STARTED, HOST_EV_BACK, HOST_END_STARTED },
    { HOST_END_CLOSED, HOST_EV_CLOSED, HOST_END_CLOSED },
    { HOST_END_OPEN, HOST_EV_CLOSED, HOST_END_CLOSED },
    { HOST_END_STARTED, HOST_EV_CLOSED, HOST_END_CLOSED },
    { HOST_END_LOST, HOST_EV_CLOSED, HOST_END_CLOSED },
    { HOST_END_LOST_STARTED, HOST_EV_CLOSED, HOST_END_CLOSED },
    { HOST_END_MISSING, HOST_EV_CLOSED, HOST_END_CLOSED },
    { HOST_END_CLOSED, HOST_EV_RESET, HOST_END_CLOSED },
    { HOST_END_CLOSED, HOST_EV_RESTORE_FAILED, HOST_END_MISSING },
};

/* The documented result of (@from, @ev): true and *@ret_to, or false. */
static bool expected(unsigned int from, unsigned int ev, SndHostEndState *ret_to)
{
    for (size_t i = 0; i < G_N_ELEMENTS(accepted); i++) {
        if (accepted[i].from == from && accepted[i].ev == ev) {
            *ret_to = accepted[i].to;
            return true;
        }
    }
    return false;
}

static void test_table(void)
{
    for (unsigned int s = 0; s <= HOST_END_COUNT; s++) {
        for (unsigned int ev = 0; ev <= HOST_EV_COUNT; ev++) {
            SndHostEndState want = HOST_END_COUNT, got = HOST_END_COUNT;
            bool ok = vsnd_host_end_next(s, ev, &got);

            g_assert_cmpint(ok, ==, expected(s, ev, &want));
            g_assert_cmpint(got, ==, want);
        }
    }
    g_assert_false(vsnd_host_end_next(UINT_MAX, HOST_EV_CLOSED, NULL));
    g_assert_cmpstr(vsnd_host_end_state_name(HOST_END_COUNT), ==, "invalid");
    g_assert_cmpstr(vsnd_host_end_event_name(HOST_EV_COUNT), ==, "invalid");
}

/* ---- the writer ---- */

/* The jack after @ev (only for events that set it), by the documented
 * rule; *@ret_told whether the device hears of a change. */
static bool jack_rule(unsigned int ev, bool before, bool driver, bool *ret_told)
{
    *ret_told = ev != HOST_EV_RESET;
    switch (ev) {
    case HOST_EV_OPENED:
    case HOST_EV_BACK:
        return true;
    case HOST_EV_LOST:
    case HOST_EV_RESTORE_FAILED:
        return false;
    case HOST_EV_OPEN_FAILED:
    case HOST_EV_RESET:
        return driver;
    default:
        return before;
    }
}

/* Random events, random driver jack, straight into the writer, against the
 * table and the jack rule above; every accepted pair is taken, from either
 * jack. */
static void test_writer(void)
{
    Fx *fx = fx_new();
    SndPcmStream *st = stream(fx, 0);
    bool seen[HOST_END_COUNT][HOST_EV_COUNT][2] = { { { false } } };

    bool all = false;

    for (unsigned int step = 0; step < 2000000 && (step < 20000 || !all); step++) {
        unsigned int ev = (unsigned int)g_test_rand_int_range(0, HOST_EV_COUNT + 1);
        SndHostEndState from = st->host_end.state, want;
        bool jack = st->host_end.connected, driver = g_test_rand_bit(), told, want_jack;
        unsigned int calls = fx->jack_calls[0];

        fx->fake->connected = driver;
        if (!expected(from, ev, &want)) {
            g_test_expect_message("vsnd-snd", G_LOG_LEVEL_CRITICAL, "*refused*");
            g_assert_false(vsnd_host_end_event(st, ev));
            g_test_assert_expected_messages();
            g_assert_cmpint(st->host_end.state, ==, from);
            g_assert_cmpint(st->host_end.connected, ==, jack);
            g_assert_cmpuint(fx->jack_calls[0], ==, calls);
            continue;
        }
        seen[from][ev][jack] = true;
        g_assert_true(vsnd_host_end_event(st, ev));
        want_jack = jack_rule(ev, jack, driver, &told);
        g_assert_cmpint(st->host_end.state, ==, want);
        g_assert_cmpint(st->host_end.connected, ==, want_jack);
        g_assert_cmpint(vsnd_pcm_connected(fx->pcm, 0), ==, want_jack);
        g_assert_cmpuint(fx->jack_calls[0], ==, calls + (want_jack != jack && told));
        if (!told) {
            fx->jack_told[0] = want_jack; /* the guest reads it afresh */
        }
        g_assert_cmpint(vsnd_host_end_lost(st), ==,
                        want == HOST_END_LOST || want == HOST_END_LOST_STARTED ||
                            want == HOST_END_MISSING);
        g_assert_cmpint(vsnd_host_end_started(st), ==,
                        want == HOST_END_STARTED || want == HOST_END_LOST_STARTED);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(accepted); i++) {
        /* Open, started and lost states have one jack only. */
        bool one = accepted[i].from != HOST_END_CLOSED && accepted[i].from != HOST_END_MISSING;

        g_assert_true(seen[accepted[i].from][accepted[i].ev][1] ||
                      seen[accepted[i].from][accepted[i].ev][0]);
        if (!one) {
            g_assert_true(seen[accepted[i].from][accepted[i].ev][0] &&
                          seen[accepted[i].from][accepted[i].ev][1]);
        }
    }
    /* The stream is left in whatever state: reached by events only, it
     * holds no host stream, and free closes it through the writer. */
    fx_free(fx);
}

/* A refused event is a programming error: logged, nothing changes, the
 * device hears nothing. */
static void test_refused(void)
{
    Fx *fx = fx_new();
    SndPcmStream *st = stream(fx, 0);

    fx->fake->connected = false;
    g_assert_true(vsnd_host_end_event(st, HOST_EV_RESET));
    g_assert_false(st->host_end.connected);
    g_assert_cmpuint(fx->jack_calls[0], ==, 0); /* power-on tells nobody */
    fx->jack_told[0] = false;
    g_assert_true(vsnd_host_end_event(st, HOST_EV_OPENED));
    g_assert_true(st->host_end.connected);
    g_assert_cmpuint(fx->jack_calls[0], ==, 1);
    g_test_expect_message("vsnd-snd", G_LOG_LEVEL_CRITICAL,
                          "stream 0: host end open: event restore failed refused*");
    g_assert_false(vsnd_host_end_event(st, HOST_EV_RESTORE_FAILED));
    g_test_assert_expected_messages();
    g_assert_cmpint(st->host_end.state, ==, HOST_END_OPEN);
    g_assert_true(st->host_end.connected);
    g_assert_cmpuint(fx->jack_calls[0], ==, 1);
    g_test_expect_message("vsnd-snd", G_LOG_LEVEL_CRITICAL, "*event invalid refused*");
    g_assert_false(vsnd_host_end_event(st, HOST_EV_COUNT));
    g_test_assert_expected_messages();
    g_assert_cmpint(st->host_end.state, ==, HOST_END_OPEN);
    g_assert_true(vsnd_host_end_event(st, HOST_EV_CLOSED));
    fx_free(fx);
}

/* ---- the host end kept in step through the manager ---- */

static uint32_t set_params(Fx *fx, uint32_t id)
{
    struct virtio_snd_pcm_set_params p = {
        .hdr.hdr.code = GUINT32_TO_LE(VIRTIO_SND_R_PCM_SET_PARAMS),
        .hdr.stream_id = GUINT32_TO_LE(id),
        .buffer_bytes = GUINT32_TO_LE(BUFFER),
        .period_bytes = GUINT32_TO_LE(PERIOD),
        .channels = 2,
        .format = VIRTIO_SND_PCM_FMT_S16,
        .rate = VIRTIO_SND_PCM_RATE_48000,
    };

    return vsnd_pcm_set_params(fx->pcm, &p);
}

static void restore_self(Fx *fx, uint32_t id)
{
    SndPcmSnapshot snap;
    g_autofree uint8_t *carry = NULL;
    const char *why = NULL;

    vsnd_pcm_snapshot(fx->pcm, id, &snap);
    carry = g_memdup2(snap.carry, snap.carry_len);
    snap.carry = carry;
    g_assert_true(vsnd_pcm_snapshot_valid(fx->pcm, id, &snap, &why));
    vsnd_pcm_restore(fx->pcm, id, &snap);
}

/* What must hold between the guest's stream, its host end, the driver and
 * the device after every entry of the manager. */
static void check_in_step(Fx *fx, uint32_t id)
{
    SndPcmStream *st = stream(fx, id);
    SndHostEndState he = st->host_end.state;
    bool lost = vsnd_host_end_lost(st);

    /* A guest state with a host stream has one (or lost it at a
     * restore); every other has none. */
    g_assert_cmpint(vsnd_pcm_state_open(st->state), ==, he != HOST_END_CLOSED);
    g_assert_cmpint(st->host != NULL, ==, he != HOST_END_CLOSED && he != HOST_END_MISSING);
    /* The driver was started exactly when the host end says so. */
    if (st->host) {
        g_assert_false(st->host->s->closed);
        g_assert_cmpint(st->host->s->started, ==, vsnd_host_end_started(st));
    }
    /* The device heard of every change of the jack. */
    g_assert_cmpint(vsnd_pcm_connected(fx->pcm, id), ==, fx->jack_told[id]);
    /* The software clock runs exactly while a running stream's host end
     * is gone. */
    if (lost && st->state == SND_PCM_STATE_RUNNING) {
        g_assert_true(vsnd_timer_armed(st->clock));
    }
    if (!lost) {
        g_assert_false(vsnd_timer_armed(st->clock));
    }
}

enum {
    OP_SET_PARAMS, OP_PREPARE, OP_START, OP_STOP, OP_RELEASE, OP_HOST_GONE, OP_HOST_BACK,
    OP_XRUN, OP_QUEUE_STOP, OP_QUEUE_START, OP_RESTORE, OP_RESET, OP_FAIL_OPEN, OP_FAIL_START,
    OP_DRIVER_JACK, OP_COUNT
};

static void walk_step(Fx *fx, uint32_t id, unsigned int op)
{
    SndPcmStream *st = stream(fx, id);
    static const SndPcmCmd cmds[] = {
        [OP_PREPARE] = SND_PCM_CMD_PREPARE,
        [OP_START] = SND_PCM_CMD_START,
        [OP_STOP] = SND_PCM_CMD_STOP,
        [OP_RELEASE] = SND_PCM_CMD_RELEASE,
    };

    switch (op) {
    case OP_SET_PARAMS:
        set_params(fx, id);
        break;
    case OP_PREPARE:
    case OP_START:
    case OP_STOP:
    case OP_RELEASE:
        vsnd_pcm_command(fx->pcm, id, cmds[op]);
        break;
    case OP_HOST_GONE:
    case OP_HOST_BACK:
    case OP_XRUN:
        if (st->host) {
            fake_stream_error(st->host->s, op == OP_HOST_GONE ? -ENODEV :
                                           op == OP_HOST_BACK ? 0 : -EPIPE);
        }
        break;
    case OP_QUEUE_STOP:
        vsnd_pcm_queue_stopped(fx->pcm, st->dir);
        break;
    case OP_QUEUE_START:
        vsnd_pcm_queue_started(fx->pcm, st->dir);
        break;
    case OP_RESTORE:
        restore_self(fx, id);
        break;
    case OP_RESET:
        vsnd_pcm_reset(fx->pcm);
        /* Power-on tells nobody: the guest reads the jack afresh. */
        for (uint32_t i = 0; i < 2; i++) {
            g_assert_cmpint(vsnd_pcm_connected(fx->pcm, i), ==, fx->fake->connected);
            fx->jack_told[i] = fx->fake->connected;
        }
        break;
    case OP_FAIL_OPEN:
        fx->fake->fail_open = !fx->fake->fail_open;
        break;
    case OP_FAIL_START:
        fx->fake->fail_start = !fx->fake->fail_start;
        break;
    case OP_DRIVER_JACK:
        fx->fake->connected = !fx->fake->connected;
        break;
    default:
        g_assert_not_reached();
    }
}

/* The walk's warnings (host stream failed, cannot open...) are expected;
 * a critical (a refused host-end event) still fails it. */
static gboolean only_criticals_fatal(const char *domain, GLogLevelFlags level, const char *msg,
                                     gpointer data)
{
    (void)domain;
    (void)msg;
    (void)data;
    return (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR)) != 0;
}

static void drop_chatter(const char *domain, GLogLevelFlags level, const char *msg,
                         gpointer data)
{
    if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR)) {
        g_log_default_handler(domain, level, msg, data);
    }
}

/* Random entries of the manager and the driver on a playback and a
 * capture stream, the invariants checked after each: at least 20000 of
 * them, and on until every host-end state was reached (one seed in CI
 * had not reached "lost while started" after 20000), at most 2000000. */
static void test_walk(void)
{
    Fx *fx = fx_new();
    bool reached[HOST_END_COUNT] = { false };
    GLogFunc prev = g_log_set_default_handler(drop_chatter, NULL);

    g_test_log_set_fatal_handler(only_criticals_fatal, NULL);

    bool all = false;

    for (unsigned int step = 0; step < 2000000 && (step < 20000 || !all); step++) {
        uint32_t id = g_test_rand_bit();
        unsigned int op = (unsigned int)g_test_rand_int_range(0, OP_COUNT);

        walk_step(fx, id, op);
        for (uint32_t i = 0; i < 2; i++) {
            check_in_step(fx, i);
            reached[stream(fx, i)->host_end.state] = true;
        }
        all = true;
        for (unsigned int s = 0; s < HOST_END_COUNT; s++)
            all = all && reached[s];
    }
    for (unsigned int s = 0; s < HOST_END_COUNT; s++) {
        g_test_message("%s reached: %d", vsnd_host_end_state_name(s), reached[s]);
        g_assert_true(reached[s]);
    }
    fx_free(fx);
    g_test_log_set_fatal_handler(NULL, NULL);
    g_log_set_default_handler(prev, NULL);
}

/* The two host ends the booleans could not tell apart: lost before START
 * (error(0) starts the driver) and lost while started (STOP still stops
 * it, error(0) starts nothing). */
static void test_lost_started(void)
{
    Fx *fx = fx_new();
    SndPcmStream *st = stream(fx, 0);
    VsndAudioStream *s;

    g_assert_cmphex(set_params(fx, 0), ==, VIRTIO_SND_S_OK);
    g_assert_cmphex(vsnd_pcm_command(fx->pcm, 0, SND_PCM_CMD_PREPARE), ==, VIRTIO_SND_S_OK);
    s = fake_audio_last(fx->fake);
    g_test_expect_message("vsnd-snd", G_LOG_LEVEL_WARNING, "*host stream failed*");
    fake_stream_error(s, -ENODEV);
    g_test_assert_expected_messages();
    g_assert_cmpint(st->host_end.state, ==, HOST_END_LOST);
    g_assert_cmphex(vsnd_pcm_command(fx->pcm, 0, SND_PCM_CMD_START), ==, VIRTIO_SND_S_OK);
    g_assert_cmpuint(s->starts, ==, 0); /* on the software clock */
    fake_stream_error(s, 0);
    g_assert_cmpint(st->host_end.state, ==, HOST_END_STARTED);
    g_assert_cmpuint(s->starts, ==, 1);
    g_test_expect_message("vsnd-snd", G_LOG_LEVEL_WARNING, "*host stream failed*");
    fake_stream_error(s, -ECONNRESET);
    g_test_assert_expected_messages();
    g_assert_cmpint(st->host_end.state, ==, HOST_END_LOST_STARTED);
    fake_stream_error(s, 0);
    g_assert_cmpuint(s->starts, ==, 1);
    g_test_expect_message("vsnd-snd", G_LOG_LEVEL_WARNING, "*host stream failed*");
    fake_stream_error(s, -ENODEV);
    g_test_assert_expected_messages();
    g_assert_cmphex(vsnd_pcm_command(fx->pcm, 0, SND_PCM_CMD_STOP), ==, VIRTIO_SND_S_OK);
    g_assert_cmpuint(s->stops, ==, 1);
    g_assert_cmpint(st->host_end.state, ==, HOST_END_LOST);
    g_assert_false(vsnd_pcm_connected(fx->pcm, 0));
    g_assert_cmpuint(fx->jack_calls[0], ==, 5);
    fx_free(fx);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/snd/host-end/table", test_table);
    g_test_add_func("/snd/host-end/writer", test_writer);
    g_test_add_func("/snd/host-end/refused", test_refused);
    g_test_add_func("/snd/host-end/walk", test_walk);
    g_test_add_func("/snd/host-end/lost-while-started", test_lost_started);
    return g_test_run();
}
