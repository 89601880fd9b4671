/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-snd-ctl.c - control requests of the sound device: every request
 * valid, and every invalid case by name, through vsnd_ctl_handle() with the
 * fake host driver (test-snd-fake-audio.c).  Replies are checked byte by
 * byte where their layout matters (sizes, offsets, padding).
 */
#include "config.h"

#include <string.h>

#include <glib.h>

#include "snd/snd-ctl.h"
#include "snd/snd-format.h"
#include "test-snd-fake.h"

#define NSTREAMS 4

typedef struct Fx {
    VsndDeviceConfig *cfg;
    VsndAudio *audio; /* the registry's handle of the fake driver */
    FakeAudio *fake;  /* its backend: knobs and records */
    SndPcm *pcm;
    SndInfo *info;
    SndKctl *kctl;
    SndCtlCtx ctx;
    int enum_id;
    GArray *notes;  /* uint32_t control_id | mask << 16 */
    GArray *events; /* uint32_t code, data pairs */
    uint8_t resp[SND_CTL_MAX_RESPONSE];
    size_t used;
} Fx;

static void h_complete(void *opaque, SndIoMsg *msg, uint32_t status, uint32_t latency)
{
    vsnd_io_msg_finish(msg, status, latency);
    vsnd_io_msg_free(msg);
}

static void h_discard(void *opaque, SndIoMsg *msg)
{
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
}

static const SndPcmHost host = {
    .complete = h_complete,
    .discard = h_discard,
    .event = h_event,
    .connected = h_connected,
};

static void k_notify(void *opaque, uint32_t id, uint32_t mask)
{
    Fx *fx = opaque;
    uint32_t v = id | mask << 16;

    g_array_append_val(fx->notes, v);
}

static Fx *fx_new(void)
{
    static const char *const items[] = { "Line", "Mic", "CD" };
    Fx *fx = g_new0(Fx, 1);

    fx->cfg = fake_config_new(NSTREAMS, TRUE);
    fx->audio = fake_audio_new(&fx->fake);
    fx->notes = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    fx->events = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    fx->pcm = vsnd_pcm_new(fx->cfg, fx->audio, &host, fx);
    fx->info = vsnd_info_new(fx->cfg, fx->pcm);
    fx->kctl = vsnd_kctl_new(fx->pcm, k_notify, fx);
    fx->enum_id = vsnd_kctl_add_enum(fx->kctl, "Input Source", items, 3);
    g_assert_cmpint(fx->enum_id, ==, 2 * NSTREAMS);
    fx->ctx.pcm = fx->pcm;
    fx->ctx.info = fx->info;
    fx->ctx.kctl = fx->kctl;
    fx->ctx.ctls = true;
    return fx;
}

static void fx_free(Fx *fx)
{
    vsnd_kctl_free(fx->kctl);
    vsnd_info_free(fx->info);
    vsnd_pcm_free(fx->pcm);
    vsnd_audio_free(fx->audio);
    fake_config_free(fx->cfg);
    g_array_unref(fx->notes);
    g_array_unref(fx->events);
    g_free(fx);
}

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return GUINT32_FROM_LE(v);
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
    return GUINT64_FROM_LE(v);
}

/* Run a request made of little-endian words (zero-padded to @len). */
static uint32_t run(Fx *fx, const uint32_t *w, unsigned int nw, size_t len, size_t cap)
{
    uint8_t req[1024] = { 0 };

    g_assert_cmpuint(len, <=, sizeof(req));
    for (unsigned int i = 0; i < nw && (i + 1) * 4 <= sizeof(req); i++) {
        uint32_t le = GUINT32_TO_LE(w[i]);
        memcpy(req + i * 4, &le, 4);
    }
    memset(fx->resp, 0xa5, sizeof(fx->resp));
    fx->used = vsnd_ctl_handle(&fx->ctx, req, len, fx->resp, cap);
    if (fx->used == 0) {
        return 0;
    }
    g_assert_cmpuint(fx->used, >=, 4);
    return rd32(fx->resp);
}

#define RUN(fx, len, cap, ...) \
    run((fx), (const uint32_t[]){ __VA_ARGS__ }, \
        sizeof((const uint32_t[]){ __VA_ARGS__ }) / 4, (len), (cap))

#define SP_WORD(ch, fmt, rate) ((uint32_t)(ch) | (uint32_t)(fmt) << 8 | (uint32_t)(rate) << 16)
#define S16 VIRTIO_SND_PCM_FMT_S16
#define R48 VIRTIO_SND_PCM_RATE_48000
#define OK VIRTIO_SND_S_OK
#define BAD VIRTIO_SND_S_BAD_MSG
#define NOTSUPP VIRTIO_SND_S_NOT_SUPP
#define IOERR VIRTIO_SND_S_IO_ERR

static uint32_t set_params(Fx *fx, uint32_t id, uint32_t buffer, uint32_t period,
                           uint32_t features, uint32_t word)
{
    return RUN(fx, 24, 4, VIRTIO_SND_R_PCM_SET_PARAMS, id, buffer, period, features, word);
}

static uint32_t pcm_cmd(Fx *fx, uint32_t code, uint32_t id)
{
    return RUN(fx, 8, 4, code, id);
}

/* ---- valid requests ---- */

static void test_jack_info(void)
{
    Fx *fx = fx_new();

    g_assert_cmpuint(RUN(fx, 16, 4 + NSTREAMS * 24, VIRTIO_SND_R_JACK_INFO, 0, NSTREAMS, 24), ==,
                     OK);
    g_assert_cmpuint(fx->used, ==, 4 + NSTREAMS * 24);
    for (unsigned int j = 0; j < NSTREAMS; j++) {
        const uint8_t *e = fx->resp + 4 + j * 24;
        uint32_t defconf = rd32(e + 8);

        g_assert_cmpuint(rd32(e), ==, j / 2); /* hda_fn_nid: function group */
        g_assert_cmpuint(rd32(e + 4), ==, 1u << VIRTIO_SND_JACK_F_REMAP);
        /* device field bits 23:20: line out for playback, mic for capture */
        g_assert_cmpuint((defconf >> 20) & 0xf, ==, j % 2 ? SND_HDA_DEV_MIC_IN
                                                         : SND_HDA_DEV_LINE_OUT);
        g_assert_cmpuint(defconf >> 30, ==, 0); /* a jack */
        g_assert_cmpuint(rd32(e + 12) & (1u << 2), !=, 0); /* presence detect */
        g_assert_cmpuint(e[16], ==, 1);
        for (int k = 17; k < 24; k++) {
            g_assert_cmpuint(e[k], ==, 0);
        }
    }
    fx_free(fx);
}

static void test_jack_info_disconnected(void)
{
    Fx *fx = g_new0(Fx, 1);

    fx_free(fx_new());
    g_free(fx);
    fx = fx_new();
    vsnd_pcm_free(fx->pcm);
    vsnd_info_free(fx->info);
    vsnd_kctl_free(fx->kctl);
    fx->fake->connected = false;
    fx->pcm = vsnd_pcm_new(fx->cfg, fx->audio, &host, fx);
    fx->info = vsnd_info_new(fx->cfg, fx->pcm);
    fx->kctl = vsnd_kctl_new(fx->pcm, k_notify, fx);
    fx->ctx.pcm = fx->pcm;
    fx->ctx.info = fx->info;
    fx->ctx.kctl = fx->kctl;
    g_assert_cmpuint(RUN(fx, 16, 1024, VIRTIO_SND_R_JACK_INFO, 1, 1, 24), ==, OK);
    g_assert_cmpuint(fx->resp[4 + 16], ==, 0);
    fx_free(fx);
}

static void test_jack_remap(void)
{
    Fx *fx = fx_new();

    g_assert_cmpuint(RUN(fx, 16, 4, VIRTIO_SND_R_JACK_REMAP, 2, 5, 3), ==, OK);
    g_assert_cmpuint(fx->used, ==, 4);
    g_assert_cmpuint(RUN(fx, 16, 64, VIRTIO_SND_R_JACK_INFO, 2, 1, 24), ==, OK);
    /* association bits 7:4, sequence 3:0 of the pin default */
    g_assert_cmpuint(rd32(fx->resp + 4 + 8) & 0xff, ==, 0x53);
    fx_free(fx);
}

static void test_pcm_info(void)
{
    Fx *fx = fx_new();

    g_assert_cmpuint(RUN(fx, 16, 4 + NSTREAMS * 32, VIRTIO_SND_R_PCM_INFO, 0, NSTREAMS, 32), ==,
                     OK);
    g_assert_cmpuint(fx->used, ==, 4 + NSTREAMS * 32);
    for (unsigned int i = 0; i < NSTREAMS; i++) {
        const uint8_t *e = fx->resp + 4 + i * 32;

        g_assert_cmpuint(rd32(e), ==, i / 2);
        g_assert_cmpuint(rd32(e + 4), ==, (1u << VIRTIO_SND_PCM_F_MSG_POLLING) |
                                               (1u << VIRTIO_SND_PCM_F_EVT_XRUNS));
        /* the driver's formats and rates (config: all) */
        g_assert_cmpuint(rd64(e + 8), ==, (1ull << S16) | (1ull << VIRTIO_SND_PCM_FMT_S32) |
                                               (1ull << VIRTIO_SND_PCM_FMT_FLOAT));
        g_assert_cmpuint(rd64(e + 16), ==, (1ull << VIRTIO_SND_PCM_RATE_44100) | (1ull << R48));
        g_assert_cmpuint(e[24], ==, i % 2 ? VIRTIO_SND_D_INPUT : VIRTIO_SND_D_OUTPUT);
        g_assert_cmpuint(e[25], ==, 1);
        g_assert_cmpuint(e[26], ==, 2);
        for (int k = 27; k < 32; k++) {
            g_assert_cmpuint(e[k], ==, 0);
        }
    }
    fx_free(fx);
}

static void test_pcm_info_intersection(void)
{
    Fx *fx = fx_new();

    /* Config asks for S16 + U8 at 48k + 8k: only what the driver can do. */
    vsnd_kctl_free(fx->kctl);
    vsnd_info_free(fx->info);
    vsnd_pcm_free(fx->pcm);
    fx->cfg->stream[0].formats = (1ull << S16) | (1ull << VIRTIO_SND_PCM_FMT_U8);
    fx->cfg->stream[0].rates = (1ull << R48) | (1ull << VIRTIO_SND_PCM_RATE_8000);
    fx->cfg->stream[0].channels_max = 6;
    fx->fake->caps[0].channels_max = 4;
    fx->pcm = vsnd_pcm_new(fx->cfg, fx->audio, &host, fx);
    fx->info = vsnd_info_new(fx->cfg, fx->pcm);
    fx->kctl = vsnd_kctl_new(fx->pcm, k_notify, fx);
    fx->ctx.pcm = fx->pcm;
    fx->ctx.info = fx->info;
    fx->ctx.kctl = fx->kctl;
    g_assert_cmpuint(RUN(fx, 16, 64, VIRTIO_SND_R_PCM_INFO, 0, 1, 32), ==, OK);
    g_assert_cmpuint(rd64(fx->resp + 4 + 8), ==, 1ull << S16);
    g_assert_cmpuint(rd64(fx->resp + 4 + 16), ==, 1ull << R48);
    g_assert_cmpuint(fx->resp[4 + 26], ==, 4);
    /* and SET_PARAMS refuses what is not offered */
    g_assert_cmpuint(set_params(fx, 0, 4096, 1024, 0, SP_WORD(2, VIRTIO_SND_PCM_FMT_S32, R48)),
                     ==, NOTSUPP);
    g_assert_cmpuint(set_params(fx, 0, 4096, 1024, 0, SP_WORD(2, S16, VIRTIO_SND_PCM_RATE_8000)),
                     ==, NOTSUPP);
    fx_free(fx);
}

static void test_pcm_info_size_larger(void)
{
    Fx *fx = fx_new();

    /* A newer, longer structure: zero-padded. */
    g_assert_cmpuint(RUN(fx, 16, 1024, VIRTIO_SND_R_PCM_INFO, 0, 2, 40), ==, OK);
    g_assert_cmpuint(fx->used, ==, 4 + 2 * 40);
    for (int k = 32; k < 40; k++) {
        g_assert_cmpuint(fx->resp[4 + k], ==, 0);
    }
    g_assert_cmpuint(fx->resp[4 + 40 + 24], ==, VIRTIO_SND_D_INPUT);
    fx_free(fx);
}

static void test_info_count_zero(void)
{
    Fx *fx = fx_new();

    g_assert_cmpuint(RUN(fx, 16, 4, VIRTIO_SND_R_PCM_INFO, NSTREAMS, 0, 32), ==, OK);
    g_assert_cmpuint(fx->used, ==, 4);
    fx_free(fx);
}

static void test_chmap_info(void)
{
    Fx *fx = fx_new();

    g_assert_cmpuint(RUN(fx, 16, 4 + NSTREAMS * 24, VIRTIO_SND_R_CHMAP_INFO, 0, NSTREAMS, 24),
                     ==, OK);
    for (unsigned int i = 0; i < NSTREAMS; i++) {
        const uint8_t *e = fx->resp + 4 + i * 24;

        g_assert_cmpuint(rd32(e), ==, i / 2);
        g_assert_cmpuint(e[4], ==, i % 2 ? VIRTIO_SND_D_INPUT : VIRTIO_SND_D_OUTPUT);
        g_assert_cmpuint(e[5], ==, 2);
        g_assert_cmpuint(e[6], ==, VIRTIO_SND_CHMAP_FL);
        g_assert_cmpuint(e[7], ==, VIRTIO_SND_CHMAP_FR);
        for (int k = 8; k < 24; k++) {
            g_assert_cmpuint(e[k], ==, 0);
        }
    }
    fx_free(fx);
}

static void test_chmap_standard(void)
{
    uint8_t pos[18];

    vsnd_chmap_standard(1, pos);
    g_assert_cmpuint(pos[0], ==, VIRTIO_SND_CHMAP_MONO);
    vsnd_chmap_standard(6, pos);
    g_assert_cmpuint(pos[4], ==, VIRTIO_SND_CHMAP_FC);
    g_assert_cmpuint(pos[5], ==, VIRTIO_SND_CHMAP_LFE);
    vsnd_chmap_standard(8, pos);
    g_assert_cmpuint(pos[6], ==, VIRTIO_SND_CHMAP_SL);
    g_assert_cmpuint(pos[7], ==, VIRTIO_SND_CHMAP_SR);
    for (unsigned int n = 1; n <= 18; n++) {
        vsnd_chmap_standard(n, pos);
        for (unsigned int i = 0; i < n; i++) {
            g_assert_cmpuint(pos[i], <, VSND_CHMAP_POS_COUNT);
        }
    }
}

static void check_ctl_entry(const uint8_t *e, size_t size, uint32_t voff)
{
    /* volume of stream 0 */
    g_assert_cmpuint(rd32(e + 4), ==, VSND_CTL_ROLE(VIRTIO_SND_CTL_ROLE_VOLUME, 0));
    g_assert_cmpuint(rd32(e + 8), ==, VIRTIO_SND_CTL_TYPE_INTEGER);
    g_assert_cmpuint(rd32(e + 12) & (1u << VIRTIO_SND_CTL_ACCESS_TLV_READ), !=, 0);
    g_assert_cmpuint(rd32(e + 16), ==, 1);
    g_assert_cmpuint(rd32(e + 20), ==, 0);
    g_assert_cmpstr((const char *)e + 24, ==, "PCM Playback Volume");
    g_assert_cmpuint(rd32(e + voff), ==, 0);
    g_assert_cmpuint(rd32(e + voff + 4), ==, SND_VOLUME_STEPS);
    g_assert_cmpuint(rd32(e + voff + 8), ==, 1);
    for (size_t k = voff + 12; k < size; k++) {
        g_assert_cmpuint(e[k], ==, 0);
    }
}

static void test_ctl_info_lp64(void)
{
    Fx *fx = fx_new();
    uint32_t n = vsnd_kctl_count(fx->kctl);

    g_assert_cmpuint(RUN(fx, 16, 4 + n * 96, VIRTIO_SND_R_CTL_INFO, 0, n, 96), ==, OK);
    g_assert_cmpuint(fx->used, ==, 4 + n * 96);
    check_ctl_entry(fx->resp + 4, 96, 72);
    /* switch of stream 1 (capture) */
    g_assert_cmpstr((const char *)fx->resp + 4 + 3 * 96 + 24, ==, "Capture Switch");
    g_assert_cmpuint(rd32(fx->resp + 4 + 3 * 96 + 4), ==,
                     VSND_CTL_ROLE(VIRTIO_SND_CTL_ROLE_MUTE, VIRTIO_SND_D_INPUT));
    /* the enumerated element */
    g_assert_cmpuint(rd32(fx->resp + 4 + fx->enum_id * 96 + 72), ==, 3);
    /* (name, index) unique */
    for (uint32_t a = 0; a < n; a++) {
        for (uint32_t b = a + 1; b < n; b++) {
            const uint8_t *ea = fx->resp + 4 + a * 96, *eb = fx->resp + 4 + b * 96;
            g_assert_true(strcmp((const char *)ea + 24, (const char *)eb + 24) ||
                          rd32(ea + 20) != rd32(eb + 20));
        }
    }
    fx_free(fx);
}

static void test_ctl_info_packed(void)
{
    Fx *fx = fx_new();

    g_assert_cmpuint(RUN(fx, 16, 4 + 92, VIRTIO_SND_R_CTL_INFO, 0, 1, 92), ==, OK);
    g_assert_cmpuint(fx->used, ==, 4 + 92);
    check_ctl_entry(fx->resp + 4, 92, 68);
    fx_free(fx);
}

static void test_ctl_enum_items(void)
{
    Fx *fx = fx_new();

    g_assert_cmpuint(RUN(fx, 8, 4 + 3 * 64, VIRTIO_SND_R_CTL_ENUM_ITEMS, fx->enum_id), ==, OK);
    g_assert_cmpuint(fx->used, ==, 4 + 3 * 64);
    g_assert_cmpstr((const char *)fx->resp + 4, ==, "Line");
    g_assert_cmpstr((const char *)fx->resp + 4 + 64, ==, "Mic");
    g_assert_cmpstr((const char *)fx->resp + 4 + 128, ==, "CD");
    g_assert_cmpuint(fx->resp[4 + 128 + 63], ==, 0);
    fx_free(fx);
}

static void test_ctl_read_write(void)
{
    Fx *fx = fx_new();

    /* Linux: READ answer buffer of 4 + 512 */
    g_assert_cmpuint(RUN(fx, 8, 4 + 512, VIRTIO_SND_R_CTL_READ, 0), ==, OK);
    g_assert_cmpuint(fx->used, ==, 4 + 512);
    g_assert_cmpuint(rd32(fx->resp + 4), ==, SND_VOLUME_STEPS);
    g_assert_cmpuint(rd32(fx->resp + 8), ==, 0);
    /* Linux: WRITE of 8 + 512 */
    g_assert_cmpuint(RUN(fx, 8 + 512, 4, VIRTIO_SND_R_CTL_WRITE, 0, 100), ==, OK);
    g_assert_cmpuint(fx->used, ==, 4);
    g_assert_cmpuint(RUN(fx, 8, 4 + 512, VIRTIO_SND_R_CTL_READ, 0), ==, OK);
    g_assert_cmpuint(rd32(fx->resp + 4), ==, 100);
    /* one notification: VALUE of control 0 */
    g_assert_cmpuint(fx->notes->len, ==, 1);
    g_assert_cmpuint(g_array_index(fx->notes, uint32_t, 0), ==,
                     0 | (1u << VIRTIO_SND_CTL_EVT_MASK_VALUE) << 16);
    /* same value again: no notification */
    g_assert_cmpuint(RUN(fx, 8 + 512, 4, VIRTIO_SND_R_CTL_WRITE, 0, 100), ==, OK);
    g_assert_cmpuint(fx->notes->len, ==, 1);
    /* the switch */
    g_assert_cmpuint(RUN(fx, 8 + 512, 4, VIRTIO_SND_R_CTL_WRITE, 1, 0), ==, OK);
    g_assert_cmpuint(RUN(fx, 8, 4 + 512, VIRTIO_SND_R_CTL_READ, 1), ==, OK);
    g_assert_cmpuint(rd32(fx->resp + 4), ==, 0);
    g_assert_cmpuint(fx->notes->len, ==, 2);
    fx_free(fx);
}

static void test_ctl_write_reaches_driver(void)
{
    Fx *fx = fx_new();
    VsndAudioStream *s;

    g_assert_cmpuint(set_params(fx, 0, 4096, 1024, 0, SP_WORD(2, S16, R48)), ==, OK);
    g_assert_cmpuint(pcm_cmd(fx, VIRTIO_SND_R_PCM_PREPARE, 0), ==, OK);
    s = fake_audio_last(fx->fake);
    g_assert_nonnull(s);
    g_assert_cmpuint(RUN(fx, 8 + 512, 4, VIRTIO_SND_R_CTL_WRITE, 0, SND_VOLUME_STEPS - 12), ==,
                     OK);
    /* -6 dB: about half the amplitude */
    g_assert_cmpuint(s->volume, >, 32000);
    g_assert_cmpuint(s->volume, <, 33500);
    g_assert_false(s->mute);
    g_assert_cmpuint(RUN(fx, 8 + 512, 4, VIRTIO_SND_R_CTL_WRITE, 1, 0), ==, OK);
    g_assert_true(s->mute);
    fx_free(fx);
}

static void test_ctl_tlv_read(void)
{
    Fx *fx = fx_new();

    g_assert_cmpuint(RUN(fx, 8, 4 + 64, VIRTIO_SND_R_CTL_TLV_READ, 0), ==, OK);
    g_assert_cmpuint(fx->used, ==, 4 + 16);
    g_assert_cmpuint(rd32(fx->resp + 4), ==, VSND_TLV_DB_SCALE);
    g_assert_cmpuint(rd32(fx->resp + 8), ==, 8);
    g_assert_cmpint((int32_t)rd32(fx->resp + 12), ==, SND_VOLUME_DB_MIN_CENTI);
    g_assert_cmpuint(rd32(fx->resp + 16), ==, SND_VOLUME_DB_STEP_CENTI | VSND_TLV_DB_SCALE_MUTE);
    fx_free(fx);
}

static void test_ctl_tlv_read_truncated(void)
{
    Fx *fx = fx_new();

    /* Spec: not enough room -> write what fits and succeed. */
    g_assert_cmpuint(RUN(fx, 8, 4 + 10, VIRTIO_SND_R_CTL_TLV_READ, 0), ==, OK);
    g_assert_cmpuint(fx->used, ==, 4 + 10);
    g_assert_cmpuint(rd32(fx->resp + 4), ==, VSND_TLV_DB_SCALE);
    fx_free(fx);
}

static void test_pcm_lifecycle(void)
{
    Fx *fx = fx_new();

    g_assert_cmpuint(set_params(fx, 0, 4096, 1024, 0, SP_WORD(2, S16, R48)), ==, OK);
    g_assert_cmpuint(pcm_cmd(fx, VIRTIO_SND_R_PCM_PREPARE, 0), ==, OK);
    g_assert_cmpuint(fx->fake->opens, ==, 1);
    g_assert_cmpuint(pcm_cmd(fx, VIRTIO_SND_R_PCM_START, 0), ==, OK);
    g_assert_true(fake_audio_last(fx->fake)->started);
    g_assert_cmpuint(pcm_cmd(fx, VIRTIO_SND_R_PCM_STOP, 0), ==, OK);
    g_assert_false(fake_audio_last(fx->fake)->started);
    g_assert_cmpuint(pcm_cmd(fx, VIRTIO_SND_R_PCM_RELEASE, 0), ==, OK);
    g_assert_cmpuint(fx->fake->closes, ==, 1);
    g_assert_cmpuint(fx->used, ==, 4);
    fx_free(fx);
}

static void test_set_params_features(void)
{
    Fx *fx = fx_new();
    SndPcmParams p;

    g_assert_cmpuint(set_params(fx, 1, 8192, 2048,
                                (1u << VIRTIO_SND_PCM_F_MSG_POLLING) |
                                    (1u << VIRTIO_SND_PCM_F_EVT_XRUNS),
                                SP_WORD(1, VIRTIO_SND_PCM_FMT_FLOAT, VIRTIO_SND_PCM_RATE_44100)),
                     ==, OK);
    g_assert_true(vsnd_pcm_params(fx->pcm, 1, &p));
    g_assert_cmpuint(p.buffer_bytes, ==, 8192);
    g_assert_cmpuint(p.period_bytes, ==, 2048);
    g_assert_cmpuint(p.channels, ==, 1);
    g_assert_cmpuint(p.format, ==, VIRTIO_SND_PCM_FMT_FLOAT);
    g_assert_cmpuint(p.rate, ==, VIRTIO_SND_PCM_RATE_44100);
    fx_free(fx);
}

static void test_prepare_open_fails(void)
{
    Fx *fx = fx_new();

    g_assert_cmpuint(set_params(fx, 0, 4096, 1024, 0, SP_WORD(2, S16, R48)), ==, OK);
    fx->fake->fail_open = true;
    g_test_expect_message("vsnd-snd", G_LOG_LEVEL_WARNING, "*cannot open host stream*");
    g_assert_cmpuint(pcm_cmd(fx, VIRTIO_SND_R_PCM_PREPARE, 0), ==, IOERR);
    g_test_assert_expected_messages();
    g_assert_cmpint(vsnd_pcm_state(fx->pcm, 0), ==, SND_PCM_STATE_PARAMS);
    fx->fake->fail_open = false;
    g_assert_cmpuint(pcm_cmd(fx, VIRTIO_SND_R_PCM_PREPARE, 0), ==, OK);
    fx_free(fx);
}

static void test_start_fails(void)
{
    Fx *fx = fx_new();

    g_assert_cmpuint(set_params(fx, 0, 4096, 1024, 0, SP_WORD(2, S16, R48)), ==, OK);
    g_assert_cmpuint(pcm_cmd(fx, VIRTIO_SND_R_PCM_PREPARE, 0), ==, OK);
    fx->fake->fail_start = true;
    g_test_expect_message("vsnd-snd", G_LOG_LEVEL_WARNING, "*cannot start host stream*");
    g_assert_cmpuint(pcm_cmd(fx, VIRTIO_SND_R_PCM_START, 0), ==, IOERR);
    g_test_assert_expected_messages();
    g_assert_cmpint(vsnd_pcm_state(fx->pcm, 0), ==, SND_PCM_STATE_PREPARED);
    fx_free(fx);
}

/* ---- invalid requests, by name ---- */

typedef struct Bad {
    const char *path;
    uint32_t w[8];
    size_t len;
    size_t cap;
    bool no_ctls;
    uint32_t expect;
} Bad;

#define SETP(id, buf, per, feat, ch, fmt, rate) \
    { VIRTIO_SND_R_PCM_SET_PARAMS, id, buf, per, feat, SP_WORD(ch, fmt, rate) }, 24, 4

static const Bad bad_cases[] = {
    { "/snd/ctl/request/invalid/empty", { 0 }, 0, 4, false, BAD },
    { "/snd/ctl/request/invalid/short-code", { 0x100 }, 3, 4, false, BAD },
    { "/snd/ctl/request/invalid/unknown-code", { 0x0107 }, 16, 64, false, NOTSUPP },
    { "/snd/ctl/request/invalid/event-code", { VIRTIO_SND_EVT_JACK_CONNECTED }, 8, 64, false,
      NOTSUPP },
    { "/snd/ctl/request/invalid/status-code", { VIRTIO_SND_S_OK }, 8, 64, false, NOTSUPP },
    /* queries */
    { "/snd/ctl/jack-info/invalid/short", { VIRTIO_SND_R_JACK_INFO, 0, 1, 24 }, 15, 64, false,
      BAD },
    { "/snd/ctl/jack-info/invalid/start-beyond", { VIRTIO_SND_R_JACK_INFO, NSTREAMS, 1, 24 }, 16,
      64, false, BAD },
    { "/snd/ctl/jack-info/invalid/count-beyond", { VIRTIO_SND_R_JACK_INFO, 1, NSTREAMS, 24 }, 16,
      1024, false, BAD },
    { "/snd/ctl/jack-info/invalid/response-too-small", { VIRTIO_SND_R_JACK_INFO, 0, 2, 24 }, 16,
      4 + 47, false, BAD },
    { "/snd/ctl/pcm-info/invalid/short", { VIRTIO_SND_R_PCM_INFO, 0, 1, 32 }, 12, 64, false, BAD },
    { "/snd/ctl/pcm-info/invalid/count-overflow", { VIRTIO_SND_R_PCM_INFO, 1, 0xffffffffu, 32 },
      16, 1024, false, BAD },
    { "/snd/ctl/pcm-info/invalid/start-overflow", { VIRTIO_SND_R_PCM_INFO, 0xffffffffu, 2, 32 },
      16, 1024, false, BAD },
    { "/snd/ctl/pcm-info/invalid/start-beyond", { VIRTIO_SND_R_PCM_INFO, NSTREAMS + 1, 0, 32 },
      16, 1024, false, BAD },
    { "/snd/ctl/pcm-info/invalid/size-zero", { VIRTIO_SND_R_PCM_INFO, 0, 1, 0 }, 16, 1024, false,
      BAD },
    { "/snd/ctl/pcm-info/invalid/size-smaller-than-struct", { VIRTIO_SND_R_PCM_INFO, 0, 1, 31 },
      16, 1024, false, BAD },
    { "/snd/ctl/jack-info/invalid/size-smaller-than-struct", { VIRTIO_SND_R_JACK_INFO, 0, 1, 23 },
      16, 1024, false, BAD },
    { "/snd/ctl/chmap-info/invalid/size-smaller-than-struct",
      { VIRTIO_SND_R_CHMAP_INFO, 0, 1, 8 }, 16, 1024, false, BAD },
    { "/snd/ctl/ctl-info/invalid/size-smaller-than-packed", { VIRTIO_SND_R_CTL_INFO, 0, 1, 91 },
      16, 1024, false, BAD },
    { "/snd/ctl/pcm-info/invalid/size-huge", { VIRTIO_SND_R_PCM_INFO, 0, 1, 0x80000000u }, 16,
      1024, false, BAD },
    { "/snd/ctl/pcm-info/invalid/size-times-count-overflow",
      { VIRTIO_SND_R_PCM_INFO, 0, 4, 0x40000001u }, 16, 1024, false, BAD },
    { "/snd/ctl/pcm-info/invalid/response-too-small", { VIRTIO_SND_R_PCM_INFO, 0, NSTREAMS, 32 },
      16, 4 + NSTREAMS * 32 - 1, false, BAD },
    { "/snd/ctl/chmap-info/invalid/count-beyond", { VIRTIO_SND_R_CHMAP_INFO, 0, NSTREAMS + 1, 24 },
      16, 1024, false, BAD },
    { "/snd/ctl/chmap-info/invalid/response-too-small", { VIRTIO_SND_R_CHMAP_INFO, 0, 1, 24 }, 16,
      4, false, BAD },
    { "/snd/ctl/ctl-info/invalid/count-beyond", { VIRTIO_SND_R_CTL_INFO, 0, 100, 96 }, 16, 8192,
      false, BAD },
    { "/snd/ctl/ctl-info/invalid/count-overflow", { VIRTIO_SND_R_CTL_INFO, 2, 0xfffffffeu, 96 },
      16, 8192, false, BAD },
    { "/snd/ctl/ctl-info/invalid/without-ctls", { VIRTIO_SND_R_CTL_INFO, 0, 1, 96 }, 16, 1024,
      true, NOTSUPP },
    /* jack remap */
    { "/snd/ctl/jack-remap/invalid/short", { VIRTIO_SND_R_JACK_REMAP, 0, 1, 1 }, 12, 4, false,
      BAD },
    { "/snd/ctl/jack-remap/invalid/jack-id", { VIRTIO_SND_R_JACK_REMAP, NSTREAMS, 1, 1 }, 16, 4,
      false, BAD },
    { "/snd/ctl/jack-remap/invalid/jack-id-huge", { VIRTIO_SND_R_JACK_REMAP, 0xffffffffu, 1, 1 },
      16, 4, false, BAD },
    { "/snd/ctl/jack-remap/invalid/association", { VIRTIO_SND_R_JACK_REMAP, 0, 16, 0 }, 16, 4,
      false, BAD },
    { "/snd/ctl/jack-remap/invalid/sequence", { VIRTIO_SND_R_JACK_REMAP, 0, 1, 0x100 }, 16, 4,
      false, BAD },
    /* set params */
    { "/snd/ctl/pcm-set-params/invalid/short", SETP(0, 4096, 1024, 0, 2, S16, R48), false, BAD },
    { "/snd/ctl/pcm-set-params/invalid/stream-id", SETP(NSTREAMS, 4096, 1024, 0, 2, S16, R48),
      false, BAD },
    { "/snd/ctl/pcm-set-params/invalid/stream-id-huge",
      SETP(0xffffffffu, 4096, 1024, 0, 2, S16, R48), false, BAD },
    { "/snd/ctl/pcm-set-params/invalid/format-bit-64", SETP(0, 4096, 1024, 0, 2, 64, R48), false,
      BAD },
    { "/snd/ctl/pcm-set-params/invalid/format-bit-255", SETP(0, 4096, 1024, 0, 2, 255, R48),
      false, BAD },
    { "/snd/ctl/pcm-set-params/invalid/format-undefined", SETP(0, 4096, 1024, 0, 2, 25, R48),
      false, BAD },
    { "/snd/ctl/pcm-set-params/invalid/format-not-offered",
      SETP(0, 4096, 1024, 0, 2, VIRTIO_SND_PCM_FMT_U8, R48), false, NOTSUPP },
    { "/snd/ctl/pcm-set-params/invalid/rate-bit-64", SETP(0, 4096, 1024, 0, 2, S16, 64), false,
      BAD },
    { "/snd/ctl/pcm-set-params/invalid/rate-undefined", SETP(0, 4096, 1024, 0, 2, S16, 16),
      false, BAD },
    { "/snd/ctl/pcm-set-params/invalid/rate-not-offered",
      SETP(0, 4096, 1024, 0, 2, S16, VIRTIO_SND_PCM_RATE_384000), false, NOTSUPP },
    { "/snd/ctl/pcm-set-params/invalid/channels-zero", SETP(0, 4096, 1024, 0, 0, S16, R48), false,
      BAD },
    { "/snd/ctl/pcm-set-params/invalid/channels-above-max", SETP(0, 6144, 1536, 0, 3, S16, R48),
      false, NOTSUPP },
    { "/snd/ctl/pcm-set-params/invalid/channels-255", SETP(0, 4080, 1020, 0, 255, S16, R48),
      false, NOTSUPP },
    { "/snd/ctl/pcm-set-params/invalid/period-zero", SETP(0, 4096, 0, 0, 2, S16, R48), false,
      BAD },
    { "/snd/ctl/pcm-set-params/invalid/buffer-zero", SETP(0, 0, 1024, 0, 2, S16, R48), false,
      BAD },
    { "/snd/ctl/pcm-set-params/invalid/buffer-not-multiple", SETP(0, 4096, 1000, 0, 2, S16, R48),
      false, BAD },
    { "/snd/ctl/pcm-set-params/invalid/buffer-smaller-than-period",
      SETP(0, 1024, 4096, 0, 2, S16, R48), false, BAD },
    { "/snd/ctl/pcm-set-params/invalid/buffer-over-cap",
      SETP(0, 0x80000000u, 0x400000u, 0, 2, S16, R48), false, NOTSUPP },
    { "/snd/ctl/pcm-set-params/invalid/period-not-whole-frames",
      SETP(0, 4098 * 2, 4098, 0, 2, S16, R48), false, BAD },
    { "/snd/ctl/pcm-set-params/invalid/features-undefined",
      SETP(0, 4096, 1024, 1u << 5, 2, S16, R48), false, BAD },
    { "/snd/ctl/pcm-set-params/invalid/features-bit-31",
      SETP(0, 4096, 1024, 1u << 31, 2, S16, R48), false, BAD },
    { "/snd/ctl/pcm-set-params/invalid/features-shmem-both",
      SETP(0, 4096, 1024, 3, 2, S16, R48), false, BAD },
    { "/snd/ctl/pcm-set-params/invalid/features-shmem-host",
      SETP(0, 4096, 1024, 1u << VIRTIO_SND_PCM_F_SHMEM_HOST, 2, S16, R48), false, NOTSUPP },
    { "/snd/ctl/pcm-set-params/invalid/features-shmem-periods",
      SETP(0, 4096, 1024, 1u << VIRTIO_SND_PCM_F_EVT_SHMEM_PERIODS, 2, S16, R48), false,
      NOTSUPP },
    /* PCM commands */
    { "/snd/ctl/pcm-prepare/invalid/short", { VIRTIO_SND_R_PCM_PREPARE, 0 }, 7, 4, false, BAD },
    { "/snd/ctl/pcm-prepare/invalid/stream-id", { VIRTIO_SND_R_PCM_PREPARE, NSTREAMS }, 8, 4,
      false, BAD },
    { "/snd/ctl/pcm-prepare/invalid/without-params", { VIRTIO_SND_R_PCM_PREPARE, 0 }, 8, 4, false,
      BAD },
    { "/snd/ctl/pcm-release/invalid/stream-id", { VIRTIO_SND_R_PCM_RELEASE, 0x80000000u }, 8, 4,
      false, BAD },
    { "/snd/ctl/pcm-start/invalid/stream-id", { VIRTIO_SND_R_PCM_START, NSTREAMS }, 8, 4, false,
      BAD },
    { "/snd/ctl/pcm-start/invalid/not-prepared", { VIRTIO_SND_R_PCM_START, 0 }, 8, 4, false,
      BAD },
    { "/snd/ctl/pcm-stop/invalid/stream-id", { VIRTIO_SND_R_PCM_STOP, NSTREAMS }, 8, 4, false,
      BAD },
    { "/snd/ctl/pcm-stop/invalid/not-running", { VIRTIO_SND_R_PCM_STOP, 0 }, 8, 4, false, BAD },
    /* control elements */
    { "/snd/ctl/ctl-enum-items/invalid/short", { VIRTIO_SND_R_CTL_ENUM_ITEMS, 8 }, 7, 1024, false,
      BAD },
    { "/snd/ctl/ctl-enum-items/invalid/control-id", { VIRTIO_SND_R_CTL_ENUM_ITEMS, 9 }, 8, 1024,
      false, BAD },
    { "/snd/ctl/ctl-enum-items/invalid/not-enumerated", { VIRTIO_SND_R_CTL_ENUM_ITEMS, 0 }, 8,
      1024, false, BAD },
    { "/snd/ctl/ctl-enum-items/invalid/response-too-small", { VIRTIO_SND_R_CTL_ENUM_ITEMS, 8 }, 8,
      4 + 3 * 64 - 1, false, BAD },
    { "/snd/ctl/ctl-enum-items/invalid/without-ctls", { VIRTIO_SND_R_CTL_ENUM_ITEMS, 8 }, 8, 1024,
      true, NOTSUPP },
    { "/snd/ctl/ctl-read/invalid/short", { VIRTIO_SND_R_CTL_READ, 0 }, 4, 516, false, BAD },
    { "/snd/ctl/ctl-read/invalid/control-id", { VIRTIO_SND_R_CTL_READ, 0xffffffffu }, 8, 516,
      false, BAD },
    { "/snd/ctl/ctl-read/invalid/response-too-small", { VIRTIO_SND_R_CTL_READ, 0 }, 8, 7, false,
      BAD },
    { "/snd/ctl/ctl-read/invalid/without-ctls", { VIRTIO_SND_R_CTL_READ, 0 }, 8, 516, true,
      NOTSUPP },
    { "/snd/ctl/ctl-write/invalid/short", { VIRTIO_SND_R_CTL_WRITE, 0 }, 7, 4, false, BAD },
    { "/snd/ctl/ctl-write/invalid/control-id", { VIRTIO_SND_R_CTL_WRITE, 100, 1 }, 520, 4, false,
      BAD },
    { "/snd/ctl/ctl-write/invalid/value-missing", { VIRTIO_SND_R_CTL_WRITE, 0, 1 }, 11, 4, false,
      BAD },
    { "/snd/ctl/ctl-write/invalid/value-above-max", { VIRTIO_SND_R_CTL_WRITE, 0, 128 }, 520, 4,
      false, BAD },
    { "/snd/ctl/ctl-write/invalid/value-negative", { VIRTIO_SND_R_CTL_WRITE, 0, 0xffffffffu },
      520, 4, false, BAD },
    { "/snd/ctl/ctl-write/invalid/boolean-2", { VIRTIO_SND_R_CTL_WRITE, 1, 2 }, 520, 4, false,
      BAD },
    { "/snd/ctl/ctl-write/invalid/enum-item-beyond", { VIRTIO_SND_R_CTL_WRITE, 8, 3 }, 520, 4,
      false, BAD },
    { "/snd/ctl/ctl-write/invalid/without-ctls", { VIRTIO_SND_R_CTL_WRITE, 0, 1 }, 520, 4, true,
      NOTSUPP },
    { "/snd/ctl/ctl-tlv-read/invalid/control-id", { VIRTIO_SND_R_CTL_TLV_READ, 8 * 100 }, 8, 64,
      false, BAD },
    { "/snd/ctl/ctl-tlv-read/invalid/no-tlv-access", { VIRTIO_SND_R_CTL_TLV_READ, 1 }, 8, 64,
      false, NOTSUPP },
    { "/snd/ctl/ctl-tlv-write/invalid/short", { VIRTIO_SND_R_CTL_TLV_WRITE, 0, 1, 8 }, 15, 4,
      false, BAD },
    { "/snd/ctl/ctl-tlv-write/invalid/control-id", { VIRTIO_SND_R_CTL_TLV_WRITE, 50, 1, 0 }, 16, 4,
      false, BAD },
    { "/snd/ctl/ctl-tlv-write/invalid/no-access", { VIRTIO_SND_R_CTL_TLV_WRITE, 0, 1, 8, 1, 2 },
      24, 4, false, NOTSUPP },
    { "/snd/ctl/ctl-tlv-command/invalid/no-access", { VIRTIO_SND_R_CTL_TLV_COMMAND, 0, 1, 0 }, 16,
      4, false, NOTSUPP },
    { "/snd/ctl/ctl-tlv-command/invalid/without-ctls", { VIRTIO_SND_R_CTL_TLV_COMMAND, 0, 1, 0 },
      16, 4, true, NOTSUPP },
};

static void test_bad(gconstpointer data)
{
    const Bad *b = data;
    Fx *fx = fx_new();
    uint32_t status;
    size_t len = b->len;

    /* "short" SET_PARAMS cases are the full words cut by one byte */
    if (g_str_has_suffix(b->path, "/pcm-set-params/invalid/short")) {
        len = 23;
    }
    fx->ctx.ctls = !b->no_ctls;
    status = run(fx, b->w, G_N_ELEMENTS(b->w), len, b->cap);
    g_assert_cmphex(status, ==, b->expect);
    /* an error reply is the status alone */
    g_assert_cmpuint(fx->used, ==, 4);
    /* and nothing changed: every stream still idle, no value notified */
    for (uint32_t i = 0; i < NSTREAMS; i++) {
        g_assert_cmpint(vsnd_pcm_state(fx->pcm, i), ==, SND_PCM_STATE_INIT);
    }
    g_assert_cmpuint(fx->notes->len, ==, 0);
    g_assert_cmpuint(fx->fake->opens, ==, 0);
    fx_free(fx);
}

static void test_no_room_for_status(void)
{
    Fx *fx = fx_new();

    /* A response buffer smaller than the status: nothing written. */
    g_assert_cmpuint(RUN(fx, 16, 3, VIRTIO_SND_R_PCM_INFO, 0, 1, 32), ==, 0);
    g_assert_cmpuint(fx->used, ==, 0);
    g_assert_cmpuint(fx->resp[0], ==, 0xa5);
    fx_free(fx);
}

static void test_without_controls_config(void)
{
    Fx *fx = fx_new();

    /* Device without control elements at all (kctl NULL). */
    fx->ctx.kctl = NULL;
    g_assert_cmphex(RUN(fx, 16, 1024, VIRTIO_SND_R_CTL_INFO, 0, 0, 96), ==, NOTSUPP);
    g_assert_cmphex(RUN(fx, 8, 1024, VIRTIO_SND_R_CTL_READ, 0), ==, NOTSUPP);
    fx_free(fx);
}


/* ---- hostile input: random requests ---- */

static uint32_t rnd_word(void)
{
    switch (g_test_rand_int_range(0, 6)) {
    case 0:
        return (uint32_t)g_test_rand_int();
    case 1:
        return 0xffffffffu - (uint32_t)g_test_rand_int_range(0, 4);
    case 2:
        return (uint32_t)g_test_rand_int_range(0, 8);
    case 3:
        return 1u << g_test_rand_int_range(0, 32);
    case 4:
        return SP_WORD(g_test_rand_int_range(0, 4), g_test_rand_int_range(0, 70),
                       g_test_rand_int_range(0, 70));
    default:
        return (uint32_t)g_test_rand_int_range(0, 4096);
    }
}

static void test_random_requests(void)
{
    static const uint32_t codes[] = {
        VIRTIO_SND_R_JACK_INFO, VIRTIO_SND_R_JACK_REMAP, VIRTIO_SND_R_PCM_INFO,
        VIRTIO_SND_R_PCM_SET_PARAMS, VIRTIO_SND_R_PCM_PREPARE, VIRTIO_SND_R_PCM_RELEASE,
        VIRTIO_SND_R_PCM_START, VIRTIO_SND_R_PCM_STOP, VIRTIO_SND_R_CHMAP_INFO,
        VIRTIO_SND_R_CTL_INFO, VIRTIO_SND_R_CTL_ENUM_ITEMS, VIRTIO_SND_R_CTL_READ,
        VIRTIO_SND_R_CTL_WRITE, VIRTIO_SND_R_CTL_TLV_READ, VIRTIO_SND_R_CTL_TLV_WRITE,
        VIRTIO_SND_R_CTL_TLV_COMMAND,
    };
    Fx *fx = fx_new();
    unsigned int counts[4] = { 0 };

    for (unsigned int i = 0; i < 20000; i++) {
        uint32_t w[8];
        size_t len = (size_t)g_test_rand_int_range(0, 600);
        size_t cap = (size_t)g_test_rand_int_range(0, 2048);
        uint32_t status;

        w[0] = g_test_rand_int_range(0, 10) ? codes[g_test_rand_int_range(0, G_N_ELEMENTS(codes))]
                                           : rnd_word();
        for (unsigned int k = 1; k < G_N_ELEMENTS(w); k++) {
            w[k] = rnd_word();
        }
        if (g_test_rand_int_range(0, 2)) {
            len = (size_t)g_test_rand_int_range(0, 33);
        }
        fx->ctx.ctls = g_test_rand_int_range(0, 8) != 0;
        status = run(fx, w, G_N_ELEMENTS(w), len, cap);
        g_assert_cmpuint(fx->used, <=, cap);
        if (cap < 4) {
            g_assert_cmpuint(fx->used, ==, 0);
            continue;
        }
        g_assert_cmphex(status, >=, VIRTIO_SND_S_OK);
        g_assert_cmphex(status, <=, VIRTIO_SND_S_IO_ERR);
        counts[(status - VIRTIO_SND_S_OK) & 3]++;
        if (status != VIRTIO_SND_S_OK) {
            g_assert_cmpuint(fx->used, ==, 4);
        }
        /* the stream states stay consistent with the host streams */
        for (uint32_t s = 0; s < NSTREAMS; s++) {
            SndPcmState st = vsnd_pcm_state(fx->pcm, s);
            g_assert_cmpint(st, <, SND_PCM_STATE_MAX);
        }
        g_assert_cmpuint(fx->fake->opens - fx->fake->closes, <=, NSTREAMS);
    }
    /* the mix did reach every outcome but IO_ERR */
    g_assert_cmpuint(counts[0], >, 0);
    g_assert_cmpuint(counts[1], >, 0);
    g_assert_cmpuint(counts[2], >, 0);
    fx_free(fx);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/snd/ctl/jack-info/valid/all", test_jack_info);
    g_test_add_func("/snd/ctl/jack-info/valid/disconnected", test_jack_info_disconnected);
    g_test_add_func("/snd/ctl/jack-remap/valid/stored", test_jack_remap);
    g_test_add_func("/snd/ctl/pcm-info/valid/all", test_pcm_info);
    g_test_add_func("/snd/ctl/pcm-info/valid/intersection-with-driver",
                    test_pcm_info_intersection);
    g_test_add_func("/snd/ctl/pcm-info/valid/size-larger", test_pcm_info_size_larger);
    g_test_add_func("/snd/ctl/pcm-info/valid/count-zero", test_info_count_zero);
    g_test_add_func("/snd/ctl/chmap-info/valid/all", test_chmap_info);
    g_test_add_func("/snd/ctl/chmap-info/valid/standard-positions", test_chmap_standard);
    g_test_add_func("/snd/ctl/ctl-info/valid/lp64-size-96", test_ctl_info_lp64);
    g_test_add_func("/snd/ctl/ctl-info/valid/packed-size-92", test_ctl_info_packed);
    g_test_add_func("/snd/ctl/ctl-enum-items/valid/items", test_ctl_enum_items);
    g_test_add_func("/snd/ctl/ctl-read-write/valid/roundtrip-notify", test_ctl_read_write);
    g_test_add_func("/snd/ctl/ctl-write/valid/reaches-driver", test_ctl_write_reaches_driver);
    g_test_add_func("/snd/ctl/ctl-tlv-read/valid/db-scale", test_ctl_tlv_read);
    g_test_add_func("/snd/ctl/ctl-tlv-read/valid/truncated", test_ctl_tlv_read_truncated);
    g_test_add_func("/snd/ctl/pcm/valid/lifecycle", test_pcm_lifecycle);
    g_test_add_func("/snd/ctl/pcm-set-params/valid/features-stored", test_set_params_features);
    g_test_add_func("/snd/ctl/pcm-prepare/invalid/host-open-fails", test_prepare_open_fails);
    g_test_add_func("/snd/ctl/pcm-start/invalid/host-start-fails", test_start_fails);
    g_test_add_func("/snd/ctl/request/invalid/no-room-for-status", test_no_room_for_status);
    g_test_add_func("/snd/ctl/ctl-info/invalid/no-controls-configured",
                    test_without_controls_config);
    g_test_add_func("/snd/ctl/hostile/random-requests", test_random_requests);
    for (size_t i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
        g_test_add_data_func(bad_cases[i].path, &bad_cases[i], test_bad);
    }
    return g_test_run();
}
