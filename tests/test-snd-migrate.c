/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-snd-migrate.c - the device-state blob (snd-migrate.c): blobs the
 * format-1 code saved (tests/data/snd-migrate) load to the same state and
 * save again byte for byte; every field survives a save/load round trip
 * onto a second device (the host stream is reopened, carried playback
 * reaches the new driver byte for byte), and every class of bad blob is
 * refused with the device left exactly as it was (its own save is
 * byte-identical before and after).
 */
#include "config.h"

#include <string.h>

#include <glib.h>

#include "snd/snd-format.h"
#include "snd/snd-migrate.h"
#include "test-snd-fake.h"

#define PERIOD 1024u
#define BUFFER 4096u

typedef struct Dev {
    VsndDeviceConfig *cfg;
    VsndAudio *audio; /* the registry's handle of the fake driver */
    FakeAudio *fake;  /* its backend: knobs and records */
    SndPcm *pcm;
    SndInfo *info;
    SndKctl *kctl;
    SndEventQueue *events;
    SndMigrateDev d;
    unsigned int completed;
    GPtrArray *mem; /* message memory */
} Dev;

static void h_complete(void *opaque, SndIoMsg *msg, uint32_t status, uint32_t latency)
{
    Dev *dev = opaque;

    vsnd_io_msg_finish(msg, status, latency);
    dev->completed++;
    vsnd_io_msg_free(msg);
}

static void h_discard(void *opaque, SndIoMsg *msg)
{
    vsnd_io_msg_free(msg);
}

static void h_event(void *opaque, uint32_t code, uint32_t data)
{
    Dev *dev = opaque;
    struct virtio_snd_event ev;

    vsnd_event_make(&ev, code, data);
    vsnd_event_queue_push(dev->events, &ev);
}

static void h_connected(void *opaque, uint32_t stream, bool connected)
{
}

static void h_polling(void *opaque, bool on)
{
}

static const SndPcmHost host = {
    .complete = h_complete,
    .discard = h_discard,
    .event = h_event,
    .connected = h_connected,
    .polling = h_polling,
};

static Dev *dev_new(guint streams)
{
    Dev *dev = g_new0(Dev, 1);

    dev->cfg = fake_config_new(streams, TRUE);
    dev->audio = fake_audio_new(&dev->fake);
    dev->events = vsnd_event_queue_new();
    dev->pcm = vsnd_pcm_new(dev->cfg, dev->audio, &host, dev);
    dev->info = vsnd_info_new(dev->cfg, dev->pcm);
    dev->kctl = vsnd_kctl_new(dev->pcm, NULL, NULL);
    dev->mem = g_ptr_array_new_with_free_func(g_free);
    dev->d = (SndMigrateDev){
        .pcm = dev->pcm,
        .info = dev->info,
        .kctl = dev->kctl,
        .events = dev->events,
        .features = (1ull << 32) | (1ull << VIRTIO_SND_F_CTLS),
        .offered = 1ull << VIRTIO_SND_F_CTLS,
    };
    return dev;
}

static void dev_free(Dev *dev)
{
    vsnd_kctl_free(dev->kctl);
    vsnd_info_free(dev->info);
    vsnd_pcm_free(dev->pcm);
    vsnd_event_queue_free(dev->events);
    vsnd_audio_free(dev->audio);
    fake_config_free(dev->cfg);
    g_ptr_array_unref(dev->mem);
    g_free(dev);
}

static void set_params(Dev *dev, uint32_t sid, uint8_t format, uint32_t features)
{
    struct virtio_snd_pcm_set_params p = {
        .hdr.stream_id = GUINT32_TO_LE(sid),
        .buffer_bytes = GUINT32_TO_LE(BUFFER),
        .period_bytes = GUINT32_TO_LE(PERIOD),
        .features = GUINT32_TO_LE(features),
        .channels = 2,
        .format = format,
        .rate = VIRTIO_SND_PCM_RATE_48000,
    };

    g_assert_cmphex(vsnd_pcm_set_params(dev->pcm, &p), ==, VIRTIO_SND_S_OK);
}

static void cmd(Dev *dev, uint32_t sid, SndPcmCmd c)
{
    g_assert_cmphex(vsnd_pcm_command(dev->pcm, sid, c), ==, VIRTIO_SND_S_OK);
}

/* A tx message of one period whose byte i is @seed + i. */
static void submit_tx(Dev *dev, uint32_t sid, uint8_t seed)
{
    uint8_t *mem = g_malloc0(4 + PERIOD + 8);
    struct iovec out[2] = { { mem, 4 }, { mem + 4, PERIOD } };
    struct iovec in[1] = { { mem + 4 + PERIOD, 8 } };
    uint32_t id = GUINT32_TO_LE(sid);
    const char *err = NULL;
    SndIoMsg *msg;

    memcpy(mem, &id, 4);
    for (unsigned int i = 0; i < PERIOD; i++) {
        mem[4 + i] = (uint8_t)(seed + i);
    }
    g_ptr_array_add(dev->mem, mem);
    msg = vsnd_io_msg_new(true, out, 2, in, 1, &err);
    g_assert_null(err);
    g_assert_cmpuint(vsnd_pcm_submit(dev->pcm, msg), ==, 0);
}

static GBytes *save(Dev *dev)
{
    return vsnd_migrate_save(&dev->d);
}

/* Stream @sid running with @buffer/@period, the host taking nothing, and
 * @periods messages queued: the queue stop carries what it may. */
static void held_playback(Dev *dev, uint32_t sid, uint32_t buffer, uint32_t period,
                          unsigned int periods)
{
    struct virtio_snd_pcm_set_params p = {
        .hdr.stream_id = GUINT32_TO_LE(sid),
        .buffer_bytes = GUINT32_TO_LE(buffer),
        .period_bytes = GUINT32_TO_LE(period),
        .channels = 2,
        .format = VIRTIO_SND_PCM_FMT_S16,
        .rate = VIRTIO_SND_PCM_RATE_48000,
    };

    g_assert_cmphex(vsnd_pcm_set_params(dev->pcm, &p), ==, VIRTIO_SND_S_OK);
    cmd(dev, sid, SND_PCM_CMD_PREPARE);
    fake_audio_last(dev->fake)->room = 0;
    cmd(dev, sid, SND_PCM_CMD_START);
    for (unsigned int k = 0; k < periods; k++) {
        uint8_t *mem = g_malloc0(4 + period + 8);
        struct iovec out[2] = { { mem, 4 }, { mem + 4, period } };
        struct iovec in[1] = { { mem + 4 + period, 8 } };
        uint32_t id = GUINT32_TO_LE(sid);
        const char *err = NULL;
        SndIoMsg *msg;

        memcpy(mem, &id, 4);
        g_ptr_array_add(dev->mem, mem);
        msg = vsnd_io_msg_new(true, out, 2, in, 1, &err);
        g_assert_null(err);
        g_assert_cmpuint(vsnd_pcm_submit(dev->pcm, msg), ==, 0);
    }
}

/* Save @a, load into a fresh device of @n streams: it must load. */
static void save_loads(Dev *a, guint n)
{
    g_autoptr(GBytes) blob = save(a);
    g_autoptr(GError) err = NULL;
    Dev *b = dev_new(n);

    g_assert_cmpuint(g_bytes_get_size(blob), <=, SND_MIGRATE_MAX_BYTES);
    g_assert_true(vsnd_migrate_load(&b->d, g_bytes_get_data(blob, NULL), g_bytes_get_size(blob),
                                   &err));
    g_assert_no_error(err);
    dev_free(b);
}

/* A guest that queued more than its buffer: the carry keeps at most the
 * buffer (was: all of it, and the destination refused the state). */
static void test_carry_bounded_by_buffer(void)
{
    Dev *a = dev_new(2);
    SndPcmSnapshot snap;

    held_playback(a, 0, BUFFER, PERIOD, BUFFER / PERIOD + 3);
    vsnd_pcm_queue_stopped(a->pcm, VSND_DIR_OUTPUT);
    vsnd_pcm_snapshot(a->pcm, 0, &snap);
    g_assert_cmpuint(snap.carry_len, ==, BUFFER);
    save_loads(a, 2);
    dev_free(a);
}

/* 64 streams, each holding 1 MiB: the carries share a budget and the
 * blob stays under its cap (was: 64 MiB, refused by every reader). */
static void test_carry_fits_blob(void)
{
    const uint32_t buffer = 1024 * 1024, period = 256 * 1024;
    Dev *a = dev_new(64);
    size_t total = 0;

    for (uint32_t i = 0; i < 64; i += 2) { /* even ids play */
        held_playback(a, i, buffer, period, buffer / period);
    }
    vsnd_pcm_queue_stopped(a->pcm, VSND_DIR_OUTPUT);
    for (uint32_t i = 0; i < 64; i += 2) {
        SndPcmSnapshot snap;

        vsnd_pcm_snapshot(a->pcm, i, &snap);
        g_assert_cmpuint(snap.carry_len, >, 0);
        total += snap.carry_len;
    }
    g_assert_cmpuint(total, <=, SND_PCM_CARRY_BUDGET_BYTES);
    save_loads(a, 64);
    dev_free(a);
}

/* A device with something in every field of the state. */
static Dev *busy_dev(void)
{
    Dev *dev = dev_new(2);
    struct virtio_snd_event ev;
    uint8_t vol[4] = { 7, 0, 0, 0 };
    VsndAudioStream *s;

    /* stream 0 playing, two periods queued the host did not take: the
     * queue stop carries them over */
    set_params(dev, 0, VIRTIO_SND_PCM_FMT_S16, 1u << VIRTIO_SND_PCM_F_EVT_XRUNS);
    cmd(dev, 0, SND_PCM_CMD_PREPARE);
    s = fake_audio_last(dev->fake);
    s->room = PERIOD / 2; /* half of the first period is played */
    cmd(dev, 0, SND_PCM_CMD_START);
    submit_tx(dev, 0, 1);
    submit_tx(dev, 0, 77);
    g_assert_cmpuint(s->written->len, ==, PERIOD / 2);
    vsnd_pcm_queue_stopped(dev->pcm, VSND_DIR_OUTPUT);
    g_assert_cmpuint(dev->completed, ==, 2);
    /* stream 1 prepared, never started */
    set_params(dev, 1, VIRTIO_SND_PCM_FMT_S32, 0);
    cmd(dev, 1, SND_PCM_CMD_PREPARE);
    g_assert_cmphex(vsnd_info_jack_remap(dev->info, 1, 3, 5), ==, VIRTIO_SND_S_OK);
    g_assert_cmphex(vsnd_kctl_write(dev->kctl, 0, vol, sizeof(vol)), ==, VIRTIO_SND_S_OK);
    vsnd_event_make(&ev, VIRTIO_SND_EVT_PCM_XRUN, 0);
    vsnd_event_queue_push(dev->events, &ev);
    vsnd_event_make(&ev, VIRTIO_SND_EVT_JACK_DISCONNECTED, 1);
    vsnd_event_queue_push(dev->events, &ev);
    return dev;
}


/* Load must fail and leave @dev byte-for-byte as it was. */
static void refused(Dev *dev, const void *data, size_t len, SndMigrateError code)
{
    g_autoptr(GBytes) before = save(dev);
    g_autoptr(GBytes) after = NULL;
    g_autoptr(GError) err = NULL;

    g_assert_false(vsnd_migrate_load(&dev->d, data, len, &err));
    g_assert_error(err, SND_MIGRATE_ERROR, (gint)code);
    g_test_message("refused: %s", err->message);
    after = save(dev);
    g_assert_true(g_bytes_equal(before, after));
}

/* ---- blob surgery: rebuild with a changed payload, valid checksum ---- */

static GBytes *make_blob(const char *magic, uint32_t version, uint32_t compat, GVariant *payload)
{
    g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
    g_autoptr(GVariant) p = g_variant_ref_sink(payload);
    g_autoptr(GVariant) outer = NULL;
    guint8 digest[32];
    gsize dlen = sizeof(digest);

    g_assert_cmpint(G_BYTE_ORDER, ==, G_LITTLE_ENDIAN);
    g_checksum_update(sum, g_variant_get_data(p), g_variant_get_size(p));
    g_checksum_get_digest(sum, digest, &dlen);
    outer = g_variant_ref_sink(g_variant_new(
        "(@ayuu@ay@ay)", g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, magic, 8, 1), version,
        compat,
        g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, g_variant_get_data(p),
                                  g_variant_get_size(p), 1),
        g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, digest, dlen, 1)));
    return g_variant_get_data_as_bytes(outer);
}

/* The payload dictionary of a valid blob. */
static GVariantDict *payload_of(GBytes *blob)
{
    g_autoptr(GVariant) outer = g_variant_ref_sink(
        g_variant_new_from_bytes(G_VARIANT_TYPE("(ayuuayay)"), blob, FALSE));
    g_autoptr(GVariant) pay = g_variant_get_child_value(outer, 3);
    gsize len;
    const void *data = g_variant_get_fixed_array(pay, &len, 1);
    g_autoptr(GBytes) pb = g_bytes_new(data, len);
    g_autoptr(GVariant) dict =
        g_variant_ref_sink(g_variant_new_from_bytes(G_VARIANT_TYPE("a{sv}"), pb, FALSE));

    return g_variant_dict_new(dict);
}

typedef struct StreamRec {
    guint8 dir, state;
    gboolean has_params;
    guint32 buffer, period, features;
    guint8 channels, format, rate;
    guint32 gain;
    gboolean mute;
    GBytes *carry;
} StreamRec;

static GVariant *streams_variant(const StreamRec *r, unsigned int n)
{
    GVariantBuilder b;

    g_variant_builder_init(&b, G_VARIANT_TYPE("a(yybuuuyyyubay)"));
    for (unsigned int i = 0; i < n; i++) {
        gsize len = r[i].carry ? g_bytes_get_size(r[i].carry) : 0;
        const void *data = r[i].carry ? g_bytes_get_data(r[i].carry, NULL) : "";

        g_variant_builder_add(&b, "(yybuuuyyyub@ay)", r[i].dir, r[i].state, r[i].has_params,
                              r[i].buffer, r[i].period, r[i].features, r[i].channels,
                              r[i].format, r[i].rate, r[i].gain, r[i].mute,
                              g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, data, len, 1));
    }
    return g_variant_builder_end(&b);
}

/* Valid stream records for the 2-stream test device (0 running S16, 1 init). */
static void good_streams(StreamRec r[2])
{
    memset(r, 0, 2 * sizeof(*r));
    r[0] = (StreamRec){ .dir = VSND_DIR_OUTPUT, .state = SND_PCM_STATE_RUNNING,
                        .has_params = TRUE, .buffer = BUFFER, .period = PERIOD,
                        .channels = 2, .format = VIRTIO_SND_PCM_FMT_S16,
                        .rate = VIRTIO_SND_PCM_RATE_48000, .gain = SND_GAIN_UNITY };
    r[1] = (StreamRec){ .dir = VSND_DIR_INPUT, .state = SND_PCM_STATE_INIT,
                        .gain = SND_GAIN_UNITY };
}

/* A dictionary @good with @key replaced by @value (NULL: removed), floating. */
static GVariant *dict_with(GVariant *good, const char *key, GVariant *value)
{
    g_autoptr(GVariantDict) d = g_variant_dict_new(good);

    if (value) {
        g_variant_dict_insert_value(d, key, value);
    } else {
        g_variant_dict_remove(d, key);
    }
    return g_variant_dict_end(d);
}

static GBytes *blob_with(GBytes *valid, const char *key, GVariant *value)
{
    g_autoptr(GVariantDict) d = payload_of(valid);
    g_autoptr(GVariant) dict = g_variant_ref_sink(g_variant_dict_end(d));

    return make_blob(SND_MIGRATE_MAGIC, SND_MIGRATE_VERSION, SND_MIGRATE_COMPAT_VERSION,
                     dict_with(dict, key, value));
}

static GBytes *blob_streams(GBytes *valid, const StreamRec *r, unsigned int n)
{
    return blob_with(valid, "streams", streams_variant(r, n));
}

/* Everything of @b a load restores equals @a. */
static void assert_same_state(Dev *a, Dev *b)
{
    uint32_t n = vsnd_pcm_count(a->pcm);

    g_assert_cmpuint(vsnd_pcm_count(b->pcm), ==, n);
    for (uint32_t i = 0; i < n; i++) {
        SndPcmSnapshot sa, sb;

        vsnd_pcm_snapshot(a->pcm, i, &sa);
        vsnd_pcm_snapshot(b->pcm, i, &sb);
        g_assert_cmpint(sa.state, ==, sb.state);
        g_assert_cmpint(vsnd_pcm_state(a->pcm, i), ==, vsnd_pcm_state(b->pcm, i));
        g_assert_cmpint(sa.has_params, ==, sb.has_params);
        /* member by member: padding is not part of the state */
        g_assert_cmpuint(sa.params.buffer_bytes, ==, sb.params.buffer_bytes);
        g_assert_cmpuint(sa.params.period_bytes, ==, sb.params.period_bytes);
        g_assert_cmpuint(sa.params.features, ==, sb.params.features);
        g_assert_cmpuint(sa.params.channels, ==, sb.params.channels);
        g_assert_cmpuint(sa.params.format, ==, sb.params.format);
        g_assert_cmpuint(sa.params.rate, ==, sb.params.rate);
        g_assert_cmpuint(sa.gain, ==, sb.gain);
        g_assert_cmpint(sa.mute, ==, sb.mute);
        g_assert_cmpmem(sa.carry, sa.carry_len, sb.carry, sb.carry_len);
    }
    for (uint32_t j = 0; j < vsnd_info_jacks(a->info); j++) {
        uint32_t aa, as, ba, bs;

        vsnd_info_jack_get_remap(a->info, j, &aa, &as);
        vsnd_info_jack_get_remap(b->info, j, &ba, &bs);
        g_assert_cmpuint(aa, ==, ba);
        g_assert_cmpuint(as, ==, bs);
    }
    for (uint32_t c = 0; c < vsnd_kctl_count(a->kctl); c++) {
        int64_t va[VSND_CTL_MAX_COUNT_INTEGER], vb[VSND_CTL_MAX_COUNT_INTEGER];
        uint32_t na = vsnd_kctl_values(a->kctl, c, va, G_N_ELEMENTS(va));
        uint32_t nb = vsnd_kctl_values(b->kctl, c, vb, G_N_ELEMENTS(vb));

        g_assert_cmpmem(va, na * sizeof(int64_t), vb, nb * sizeof(int64_t));
    }
    g_assert_cmpuint(vsnd_event_queue_length(a->events), ==, vsnd_event_queue_length(b->events));
    for (unsigned int e = 0; e < vsnd_event_queue_length(a->events); e++) {
        struct virtio_snd_event ea, eb;

        g_assert_true(vsnd_event_queue_nth(a->events, e, &ea));
        g_assert_true(vsnd_event_queue_nth(b->events, e, &eb));
        g_assert_cmpmem(&ea, sizeof(ea), &eb, sizeof(eb));
    }
}

/* ---- tests ---------------------------------------------------------------- */

static void test_round_trip(void)
{
    Dev *a = busy_dev();
    Dev *b = dev_new(2);
    g_autoptr(GBytes) blob = save(a);
    g_autoptr(GBytes) again = NULL;
    g_autoptr(GError) err = NULL;
    SndPcmSnapshot sb;
    struct virtio_snd_event ev;
    uint32_t assoc, seq;
    int64_t v[4];
    VsndAudioStream *s;

    g_assert_true(vsnd_migrate_load(&b->d, g_bytes_get_data(blob, NULL), g_bytes_get_size(blob),
                                   &err));
    g_assert_no_error(err);
    assert_same_state(a, b);
    vsnd_pcm_snapshot(b->pcm, 0, &sb);
    g_assert_cmpint(sb.state, ==, SND_PCM_STATE_RUNNING);
    g_assert_cmpuint(sb.params.features, ==, 1u << VIRTIO_SND_PCM_F_EVT_XRUNS);
    /* half of message 1 was played: its other half and all of message 2 */
    g_assert_cmpuint(sb.carry_len, ==, PERIOD / 2 + PERIOD);
    g_assert_cmpint(vsnd_pcm_state(b->pcm, 1), ==, SND_PCM_STATE_PREPARED);
    vsnd_info_jack_get_remap(b->info, 1, &assoc, &seq);
    g_assert_cmpuint(assoc, ==, 3);
    g_assert_cmpuint(seq, ==, 5);
    g_assert_cmpuint(vsnd_kctl_values(b->kctl, 0, v, 4), ==, 1);
    g_assert_cmpint(v[0], ==, 7);
    g_assert_cmpuint(vsnd_event_queue_length(b->events), ==, 2);
    g_assert_true(vsnd_event_queue_nth(b->events, 0, &ev));
    g_assert_cmpuint(GUINT32_FROM_LE(ev.hdr.code), ==, VIRTIO_SND_EVT_PCM_XRUN);
    g_assert_true(vsnd_event_queue_nth(b->events, 1, &ev));
    g_assert_cmpuint(GUINT32_FROM_LE(ev.hdr.code), ==, VIRTIO_SND_EVT_JACK_DISCONNECTED);
    g_assert_cmpuint(GUINT32_FROM_LE(ev.data), ==, 1);
    /* the whole state, byte for byte */
    again = save(b);
    g_assert_true(g_bytes_equal(blob, again));

    /* both host streams reopened on b's driver with the saved parameters */
    g_assert_cmpuint(b->fake->opens, ==, 2);
    s = g_ptr_array_index(b->fake->streams, 0);
    g_assert_cmpuint(s->params.format, ==, VIRTIO_SND_PCM_FMT_S16);
    g_assert_cmpuint(s->params.period_bytes, ==, PERIOD);
    g_assert_false(s->started);
    /* the ring starts: the stream runs on, the carry plays first, exactly */
    vsnd_pcm_queue_started(b->pcm, VSND_DIR_OUTPUT);
    g_assert_true(s->started);
    fake_stream_give_room(s, 4 * PERIOD);
    fake_iterate(10);
    g_assert_cmpuint(s->written->len, ==, PERIOD / 2 + PERIOD);
    for (unsigned int i = 0; i < PERIOD / 2; i++) {
        g_assert_cmpuint(s->written->data[i], ==, (uint8_t)(1 + PERIOD / 2 + i));
    }
    for (unsigned int i = 0; i < PERIOD; i++) {
        g_assert_cmpuint(s->written->data[PERIOD / 2 + i], ==, (uint8_t)(77 + i));
    }
    g_assert_cmpint(vsnd_pcm_state(b->pcm, 0), ==, SND_PCM_STATE_RUNNING);
    dev_free(a);
    dev_free(b);
}

/* The source resumes after a failed migration: its carry plays there. */
static void test_source_resumes(void)
{
    Dev *a = busy_dev();
    VsndAudioStream *s = g_ptr_array_index(a->fake->streams, 0);
    g_autoptr(GBytes) blob = save(a);

    vsnd_pcm_queue_started(a->pcm, VSND_DIR_OUTPUT);
    fake_stream_give_room(s, 4 * PERIOD);
    fake_iterate(10);
    g_assert_cmpuint(s->written->len, ==, 2 * PERIOD);
    for (unsigned int i = 0; i < PERIOD; i++) {
        g_assert_cmpuint(s->written->data[PERIOD + i], ==, (uint8_t)(77 + i));
    }
    g_assert_cmpuint(g_bytes_get_size(blob), >, 0);
    dev_free(a);
}

static void test_truncated(void)
{
    Dev *a = busy_dev();
    Dev *b = busy_dev();
    g_autoptr(GBytes) blob = save(a);
    gsize len;
    const uint8_t *data = g_bytes_get_data(blob, &len);

    for (gsize n = 0; n < len; n += (n < 64 ? 1 : 7)) {
        refused(b, data, n, SND_MIGRATE_ERROR_INVALID);
    }
    refused(b, data, len - 1, SND_MIGRATE_ERROR_INVALID);
    dev_free(a);
    dev_free(b);
}

static void test_wrong_magic(void)
{
    Dev *a = busy_dev();
    g_autoptr(GBytes) blob = save(a);
    g_autoptr(GVariantDict) d = payload_of(blob);
    g_autoptr(GBytes) bad = make_blob("VSNDSTAX", SND_MIGRATE_VERSION,
                                      SND_MIGRATE_COMPAT_VERSION, g_variant_dict_end(d));

    refused(a, g_bytes_get_data(bad, NULL), g_bytes_get_size(bad), SND_MIGRATE_ERROR_INVALID);
    dev_free(a);
}

/* A newer format that older readers may read (compat <= ours) loads, unknown
 * keys ignored; one that needs a newer reader is refused. */
static void test_future_version(void)
{
    Dev *a = busy_dev();
    Dev *b = dev_new(2);
    g_autoptr(GBytes) blob = save(a);
    g_autoptr(GVariantDict) d = payload_of(blob);
    g_autoptr(GBytes) future = NULL;
    g_autoptr(GBytes) again = NULL;
    g_autoptr(GError) err = NULL;

    g_variant_dict_insert(d, "from-the-future", "s", "ignore me");
    g_variant_dict_insert(d, "streams-v7", "u", 42);
    future = make_blob(SND_MIGRATE_MAGIC, SND_MIGRATE_VERSION + 6, SND_MIGRATE_VERSION,
                       g_variant_dict_end(d));
    g_assert_true(vsnd_migrate_load(&b->d, g_bytes_get_data(future, NULL),
                                   g_bytes_get_size(future), &err));
    g_assert_no_error(err);
    again = save(b);
    g_assert_true(g_bytes_equal(blob, again));
    /* newer format whose compat version is newer than ours: refused */
    {
        g_autoptr(GVariantDict) d2 = payload_of(blob);
        g_autoptr(GBytes) newer = make_blob(SND_MIGRATE_MAGIC, SND_MIGRATE_VERSION + 6,
                                            SND_MIGRATE_VERSION + 2, g_variant_dict_end(d2));

        refused(b, g_bytes_get_data(newer, NULL), g_bytes_get_size(newer),
                SND_MIGRATE_ERROR_UNSUPPORTED);
    }
    dev_free(a);
    dev_free(b);
}

/* Compat version newer than what we read: refused, clearly. */
static void test_compat_newer(void)
{
    Dev *a = busy_dev();
    g_autoptr(GBytes) blob = save(a);
    g_autoptr(GVariantDict) d = payload_of(blob);
    g_autoptr(GVariantDict) d2 = payload_of(blob);
    g_autoptr(GBytes) bad = make_blob(SND_MIGRATE_MAGIC, SND_MIGRATE_VERSION + 1,
                                      SND_MIGRATE_VERSION + 1, g_variant_dict_end(d));
    g_autoptr(GBytes) nonsense = make_blob(SND_MIGRATE_MAGIC, 1, 2, g_variant_dict_end(d2));

    refused(a, g_bytes_get_data(bad, NULL), g_bytes_get_size(bad), SND_MIGRATE_ERROR_UNSUPPORTED);
    /* compat above its own version is inconsistent */
    refused(a, g_bytes_get_data(nonsense, NULL), g_bytes_get_size(nonsense),
            SND_MIGRATE_ERROR_INVALID);
    dev_free(a);
}

static void test_stream_id_out_of_range(void)
{
    Dev *a = busy_dev();
    g_autoptr(GBytes) blob = save(a);
    StreamRec r[3];
    g_autoptr(GBytes) three = NULL;
    g_autoptr(GBytes) one = NULL;
    g_autoptr(GBytes) ev = NULL;
    GVariantBuilder b;

    good_streams(r);
    r[2] = r[0];
    three = blob_streams(blob, r, 3);
    refused(a, g_bytes_get_data(three, NULL), g_bytes_get_size(three), SND_MIGRATE_ERROR_INVALID);
    one = blob_streams(blob, r, 1);
    refused(a, g_bytes_get_data(one, NULL), g_bytes_get_size(one), SND_MIGRATE_ERROR_INVALID);
    /* a pending event naming a stream this device does not have */
    g_variant_builder_init(&b, G_VARIANT_TYPE("a(uu)"));
    g_variant_builder_add(&b, "(uu)", VIRTIO_SND_EVT_PCM_XRUN, 2u);
    ev = blob_with(blob, "events", g_variant_builder_end(&b));
    refused(a, g_bytes_get_data(ev, NULL), g_bytes_get_size(ev), SND_MIGRATE_ERROR_INVALID);
    dev_free(a);
}

typedef void (*Edit)(StreamRec *r);

static void e_state_undefined(StreamRec *r) { r[0].state = SND_PCM_STATE_MAX; }
static void e_state_huge(StreamRec *r) { r[0].state = 255; }
static void e_running_no_params(StreamRec *r) { r[0].has_params = FALSE; }
static void e_init_with_params(StreamRec *r) { r[1].has_params = TRUE; r[1].buffer = BUFFER; }
static void e_prepared_no_params(StreamRec *r) { r[1].state = SND_PCM_STATE_PREPARED; }
static void e_params_ghost(StreamRec *r) { r[1].format = VIRTIO_SND_PCM_FMT_S16; }
static void e_carry_capture(StreamRec *r)
{
    r[1] = r[0];
    r[1].dir = VSND_DIR_INPUT;
    r[1].carry = g_bytes_new_static("abcd", 4);
}
static void e_carry_too_long(StreamRec *r)
{
    static uint8_t big[BUFFER + 4];
    r[0].carry = g_bytes_new_static(big, sizeof(big));
}
static void e_carry_partial_frame(StreamRec *r) { r[0].carry = g_bytes_new_static("abc", 3); }
static void e_carry_not_open(StreamRec *r)
{
    r[0].state = SND_PCM_STATE_PARAMS;
    r[0].carry = g_bytes_new_static("abcd", 4);
}
static void e_wrong_direction(StreamRec *r) { r[0].dir = VSND_DIR_INPUT; }
static void e_gain(StreamRec *r) { r[0].gain = SND_GAIN_UNITY + 1; }
static void e_period_zero(StreamRec *r) { r[0].period = 0; }
static void e_buffer_not_multiple(StreamRec *r) { r[0].buffer = PERIOD * 3 + 2; }
static void e_channels_zero(StreamRec *r) { r[0].channels = 0; }
static void e_channels_many(StreamRec *r) { r[0].channels = 9; }
static void e_buffer_huge(StreamRec *r) { r[0].buffer = r[0].period = 64u * 1024 * 1024; }

static void run_edits(const Edit *edits, unsigned int n, SndMigrateError code)
{
    Dev *a = busy_dev();
    g_autoptr(GBytes) blob = save(a);

    for (unsigned int i = 0; i < n; i++) {
        StreamRec r[2];
        g_autoptr(GBytes) bad = NULL;

        good_streams(r);
        edits[i](r);
        bad = blob_streams(blob, r, 2);
        refused(a, g_bytes_get_data(bad, NULL), g_bytes_get_size(bad), code);
        for (unsigned int k = 0; k < 2; k++) {
            g_clear_pointer(&r[k].carry, g_bytes_unref);
        }
    }
    dev_free(a);
}

static void test_good_edits_load(void)
{
    /* the reference records themselves load (the edits are the only fault) */
    Dev *a = busy_dev();
    g_autoptr(GBytes) blob = save(a);
    StreamRec r[2];
    g_autoptr(GBytes) good = NULL;
    g_autoptr(GError) err = NULL;

    good_streams(r);
    good = blob_streams(blob, r, 2);
    g_assert_true(vsnd_migrate_load(&a->d, g_bytes_get_data(good, NULL), g_bytes_get_size(good),
                                   &err));
    g_assert_no_error(err);
    g_assert_cmpint(vsnd_pcm_state(a->pcm, 0), ==, SND_PCM_STATE_STOPPED); /* queue-paused */
    g_assert_cmpint(vsnd_pcm_state(a->pcm, 1), ==, SND_PCM_STATE_INIT);
    dev_free(a);
}

static void test_impossible_state(void)
{
    static const Edit edits[] = {
        e_state_undefined, e_state_huge, e_running_no_params, e_init_with_params,
        e_prepared_no_params, e_params_ghost, e_carry_capture, e_carry_too_long,
        e_carry_partial_frame, e_carry_not_open, e_gain, e_period_zero, e_buffer_not_multiple,
        e_channels_zero, e_buffer_huge,
    };

    run_edits(edits, G_N_ELEMENTS(edits), SND_MIGRATE_ERROR_INVALID);
}

static void test_topology(void)
{
    static const Edit edits[] = { e_wrong_direction };
    Dev *a = busy_dev();
    Dev *four = dev_new(4);
    g_autoptr(GBytes) blob = save(a);

    run_edits(edits, G_N_ELEMENTS(edits), SND_MIGRATE_ERROR_UNSUPPORTED);
    /* a device with another number of streams is not ours */
    refused(four, g_bytes_get_data(blob, NULL), g_bytes_get_size(blob), SND_MIGRATE_ERROR_UNSUPPORTED);
    dev_free(four);
    dev_free(a);
}

static void e_format_64(StreamRec *r) { r[0].format = 64; }
static void e_format_200(StreamRec *r) { r[0].format = 200; }
static void e_rate_64(StreamRec *r) { r[0].rate = 64; }
static void e_rate_255(StreamRec *r) { r[0].rate = 255; }
static void e_features_63(StreamRec *r) { r[0].features = 1u << 31; }
static void e_format_not_offered(StreamRec *r) { r[0].format = VIRTIO_SND_PCM_FMT_U8; }

static void test_format_bit_64(void)
{
    static const Edit edits[] = {
        e_format_64, e_format_200, e_rate_64, e_rate_255, e_features_63,
    };
    static const Edit unsupported[] = { e_format_not_offered, e_channels_many };

    run_edits(edits, G_N_ELEMENTS(edits), SND_MIGRATE_ERROR_INVALID);
    run_edits(unsupported, G_N_ELEMENTS(unsupported), SND_MIGRATE_ERROR_INVALID);
}

static void test_other_fields(void)
{
    Dev *a = busy_dev();
    g_autoptr(GBytes) blob = save(a);
    GVariantBuilder b;
    g_autoptr(GBytes) jack = NULL, ctl = NULL, ctl_count = NULL, missing = NULL, wrong = NULL,
                      topo = NULL, feat = NULL, code = NULL, many = NULL;

    g_variant_builder_init(&b, G_VARIANT_TYPE("a(uub)"));
    g_variant_builder_add(&b, "(uub)", 1u, 1u, TRUE);
    g_variant_builder_add(&b, "(uub)", 16u, 0u, TRUE);
    jack = blob_with(blob, "jacks", g_variant_builder_end(&b));
    refused(a, g_bytes_get_data(jack, NULL), g_bytes_get_size(jack), SND_MIGRATE_ERROR_INVALID);

    /* control values outside the element's range, or the wrong count */
    {
        int64_t v[2] = { 99999, 0 };
        GVariantBuilder c;

        g_variant_builder_init(&c, G_VARIANT_TYPE("a(ax)"));
        for (uint32_t i = 0; i < vsnd_kctl_count(a->kctl); i++) {
            g_variant_builder_add(&c, "(@ax)",
                                  g_variant_new_fixed_array(G_VARIANT_TYPE_INT64, v, 1, 8));
        }
        ctl = blob_with(blob, "controls", g_variant_builder_end(&c));
        refused(a, g_bytes_get_data(ctl, NULL), g_bytes_get_size(ctl), SND_MIGRATE_ERROR_INVALID);
        v[0] = 1;
        g_variant_builder_init(&c, G_VARIANT_TYPE("a(ax)"));
        for (uint32_t i = 0; i < vsnd_kctl_count(a->kctl); i++) {
            g_variant_builder_add(&c, "(@ax)",
                                  g_variant_new_fixed_array(G_VARIANT_TYPE_INT64, v, 2, 8));
        }
        ctl_count = blob_with(blob, "controls", g_variant_builder_end(&c));
        refused(a, g_bytes_get_data(ctl_count, NULL), g_bytes_get_size(ctl_count),
                SND_MIGRATE_ERROR_INVALID);
    }
    missing = blob_with(blob, "jacks", NULL);
    refused(a, g_bytes_get_data(missing, NULL), g_bytes_get_size(missing),
            SND_MIGRATE_ERROR_INVALID);
    wrong = blob_with(blob, "features", g_variant_new_uint32(1));
    refused(a, g_bytes_get_data(wrong, NULL), g_bytes_get_size(wrong), SND_MIGRATE_ERROR_INVALID);
    topo = blob_with(blob, "topology", g_variant_new("(uuuu)", 2u, 2u, 2u, 99u));
    refused(a, g_bytes_get_data(topo, NULL), g_bytes_get_size(topo), SND_MIGRATE_ERROR_UNSUPPORTED);
    feat = blob_with(blob, "features", g_variant_new_uint64(1ull << 5));
    refused(a, g_bytes_get_data(feat, NULL), g_bytes_get_size(feat), SND_MIGRATE_ERROR_UNSUPPORTED);
    g_variant_builder_init(&b, G_VARIANT_TYPE("a(uu)"));
    g_variant_builder_add(&b, "(uu)", 0x1234u, 0u);
    code = blob_with(blob, "events", g_variant_builder_end(&b));
    refused(a, g_bytes_get_data(code, NULL), g_bytes_get_size(code), SND_MIGRATE_ERROR_INVALID);
    g_variant_builder_init(&b, G_VARIANT_TYPE("a(uu)"));
    for (unsigned int i = 0; i <= SND_EVENT_QUEUE_MAX; i++) {
        g_variant_builder_add(&b, "(uu)", (guint32)VIRTIO_SND_EVT_JACK_CONNECTED, 0u);
    }
    many = blob_with(blob, "events", g_variant_builder_end(&b));
    refused(a, g_bytes_get_data(many, NULL), g_bytes_get_size(many), SND_MIGRATE_ERROR_INVALID);
    dev_free(a);
}

static void test_oversized(void)
{
    Dev *a = busy_dev();
    gsize len = SND_MIGRATE_MAX_BYTES + 1;
    g_autofree uint8_t *big = g_malloc0(len);
    g_autoptr(GBytes) blob = save(a);

    /* a valid blob followed by a mountain of padding */
    memcpy(big, g_bytes_get_data(blob, NULL), g_bytes_get_size(blob));
    refused(a, big, len, SND_MIGRATE_ERROR_INVALID);
    dev_free(a);
}

static void test_corrupted_random(void)
{
    Dev *a = busy_dev();
    g_autoptr(GBytes) blob = save(a);
    gsize len;
    const uint8_t *data = g_bytes_get_data(blob, &len);
    unsigned int loaded = 0;

    for (unsigned int i = 0; i < 3000; i++) {
        g_autofree uint8_t *m = g_malloc(len + 16);
        gsize mlen = len;
        unsigned int flips = (unsigned int)g_test_rand_int_range(1, 5);

        memcpy(m, data, len);
        for (unsigned int f = 0; f < flips; f++) {
            switch (g_test_rand_int_range(0, 4)) {
            case 0: /* flip a bit */
                m[g_test_rand_int_range(0, (gint32)mlen)] ^= (uint8_t)(1u << g_test_rand_int_range(0, 8));
                break;
            case 1: /* random byte */
                m[g_test_rand_int_range(0, (gint32)mlen)] = (uint8_t)g_test_rand_int_range(0, 256);
                break;
            case 2: /* cut */
                mlen = (gsize)g_test_rand_int_range(0, (gint32)mlen);
                break;
            default: /* grow with junk */
                for (unsigned int k = 0; k < 8; k++) {
                    m[mlen++] = (uint8_t)g_test_rand_int();
                }
                break;
            }
            if (mlen == 0 || mlen > len + 8) {
                break;
            }
        }
        {
            g_autoptr(GError) e = NULL;
            g_autoptr(GBytes) before = save(a);
            g_autoptr(GBytes) after = NULL;

            /* Only the header's version can change and still load (a newer
             * format that keeps compat 1); the checksummed payload cannot. */
            if (vsnd_migrate_load(&a->d, m, mlen, &e)) {
                loaded++;
            } else {
                g_assert_nonnull(e);
            }
            after = save(a);
            g_assert_true(g_bytes_equal(before, after));
        }
    }
    g_test_message("%u mutations loaded (same payload)", loaded);
    dev_free(a);
}

/* ---- the field table (snd-migrate-field.c) --------------------------------- */

/* A record of a format "1" and the same with a field added later: adding
 * it is one line in the table. */
typedef struct TRec {
    uint8_t kind;
    uint32_t size;
    bool on;
    const uint8_t *data;
    size_t len;
    uint32_t added;
} TRec;

#define TREC(m) SND_MIG_MEMBER(TRec, m)
/* The table of version 2; version 1 is the same without its last line. */
static const SndMigField trec_fields[] = {
    { "kind", SND_MIG_U8, TREC(kind), SND_MIG_SAME, 0 },
    { "size", SND_MIG_U32, TREC(size), SND_MIG_AT_MOST, 1000 },
    { "on", SND_MIG_BOOL, TREC(on), SND_MIG_AT_MOST, 1 },
    { "data", SND_MIG_BYTES, TREC(data), SND_MIG_AT_MOST, 16,
      .len_offset = offsetof(TRec, len) },
    { "added", SND_MIG_U32, TREC(added), SND_MIG_AT_MOST, 7, .added = true },
};
static const SndMigTable table_v1 = { "recs", trec_fields, G_N_ELEMENTS(trec_fields) - 1,
                                      sizeof(TRec) };
static const SndMigTable table_v2 = { "recs", trec_fields, G_N_ELEMENTS(trec_fields),
                                      sizeof(TRec) };

static GVariant *trec_save(const SndMigTable *t, const TRec *r, uint32_t n)
{
    GVariantBuilder b;

    g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
    vsnd_mig_save(t, &b, r, n);
    return g_variant_builder_end(&b); /* floating */
}

static void test_field_added(void)
{
    const TRec src[2] = {
        { .kind = 1, .size = 999, .on = true, .data = (const uint8_t *)"abc", .len = 3,
          .added = 5 },
        { .kind = 2, .size = 0, .on = false, .added = 7 },
    };
    g_autoptr(GVariant) v1 = g_variant_ref_sink(trec_save(&table_v1, src, 2));
    g_autoptr(GVariant) v2 = g_variant_ref_sink(trec_save(&table_v2, src, 2));
    g_autoptr(GVariant) recs1 = g_variant_lookup_value(v1, "recs", NULL);
    g_autoptr(GVariant) recs2 = g_variant_lookup_value(v2, "recs", NULL);
    g_autofree char *type1 = vsnd_mig_record_type(&table_v1);
    g_autofree char *type2 = vsnd_mig_record_type(&table_v2);
    g_autoptr(GError) err = NULL;
    TRec got[2];

    /* the added field is not in the tuple: format 1 readers see the same */
    g_assert_cmpstr(type1, ==, "(yubay)");
    g_assert_cmpstr(type2, ==, "(yubay)");
    g_assert_true(g_variant_equal(recs1, recs2));
    g_assert_false(g_variant_lookup_value(v1, "recs.added", NULL));
    /* a v1 reader loads a v2 state (ignores the added key) */
    memset(got, 0, sizeof(got));
    g_assert_true(vsnd_mig_parse(&table_v1, v2, got, 2, src, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(got[0].kind, ==, 1);
    g_assert_cmpuint(got[0].size, ==, 999);
    g_assert_true(got[0].on);
    g_assert_cmpmem(got[0].data, got[0].len, "abc", 3);
    g_assert_cmpuint(got[0].added, ==, 0);
    g_assert_cmpuint(got[1].len, ==, 0);
    /* a v2 reader loads both: the added field, or 0 from a v1 state */
    memset(got, 0, sizeof(got));
    g_assert_true(vsnd_mig_parse(&table_v2, v2, got, 2, src, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(got[0].added, ==, 5);
    g_assert_cmpuint(got[1].added, ==, 7);
    memset(got, 0, sizeof(got));
    g_assert_true(vsnd_mig_parse(&table_v2, v1, got, 2, src, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(got[0].added, ==, 0);
    g_assert_cmpuint(got[0].size, ==, 999);
}

/* @dict (floating, taken) must be refused with @code. */
static void field_refused(GVariant *dict, const TRec *own, SndMigrateError code)
{
    g_autoptr(GVariant) sunk = g_variant_ref_sink(dict);
    g_autoptr(GError) err = NULL;
    TRec got[2];

    memset(got, 0, sizeof(got));
    g_assert_false(vsnd_mig_parse(&table_v2, sunk, got, 2, own, &err));
    g_assert_error(err, SND_MIGRATE_ERROR, (gint)code);
    g_test_message("refused: %s", err->message);
}

/* Every bound of the table is checked, and an added field is as strict as
 * one of format 1: wrong type, wrong count, out of bounds. */
static void test_field_bounds(void)
{
    const TRec good[2] = { { .kind = 1, .size = 10 }, { .kind = 2 } };
    g_autoptr(GVariant) v = g_variant_ref_sink(trec_save(&table_v2, good, 2));
    TRec r[4][2];
    GVariantBuilder b;

    for (unsigned int k = 0; k < G_N_ELEMENTS(r); k++) {
        memcpy(r[k], good, sizeof(good));
    }
    r[0][1].size = 1001;
    r[1][0].data = (const uint8_t *)"0123456789abcdefg";
    r[1][0].len = 17;
    r[2][1].added = 8;
    r[3][1].kind = 3; /* a SAME field that is not this device's */
    for (unsigned int k = 0; k < 3; k++) {
        field_refused(trec_save(&table_v2, r[k], 2), good, SND_MIGRATE_ERROR_INVALID);
    }
    field_refused(trec_save(&table_v2, r[3], 2), good, SND_MIGRATE_ERROR_UNSUPPORTED);
    /* records missing, of another type, too few; the added key mistyped
     * or with a value too few */
    field_refused(dict_with(v, "recs", NULL), good, SND_MIGRATE_ERROR_INVALID);
    field_refused(dict_with(v, "recs", g_variant_new_uint32(1)), good, SND_MIGRATE_ERROR_INVALID);
    field_refused(trec_save(&table_v2, good, 1), good, SND_MIGRATE_ERROR_INVALID);
    field_refused(dict_with(v, "recs.added", g_variant_new_string("x")), good,
                  SND_MIGRATE_ERROR_INVALID);
    g_variant_builder_init(&b, G_VARIANT_TYPE("au"));
    g_variant_builder_add(&b, "u", 1u);
    field_refused(dict_with(v, "recs.added", g_variant_builder_end(&b)), good,
                  SND_MIGRATE_ERROR_INVALID);
}

/* ---- format 1 as written by the first reader: committed blobs ------------ */

/*
 * tests/data/snd-migrate/format1-*.blob were saved by the format-1 code
 * before its save and parse were derived from a field table (commit
 * 7de85d3), from the devices built below.  They pin the wire format: the
 * code of today must save those very bytes for the same state and load
 * them to the same state.  Never regenerate them; a new format adds new
 * files.  VSND_MIGRATE_WRITE_GOLDEN=DIR writes the blobs of the current
 * code into DIR (to make the files of a new format).
 */

/* Six streams, one in every state, with everything a stream saves set. */
static Dev *every_state_dev(void)
{
    Dev *dev = dev_new(6);
    struct virtio_snd_event ev;
    const uint8_t vol0[4] = { 100, 0, 0, 0 }, vol2[4] = { 20, 0, 0, 0 }, off[4] = { 0 };
    VsndAudioStream *s;

    /* 0: playback running, half a period played, 1.5 periods carried by
     * the queue stop (saved as RUNNING, the guest's view) */
    set_params(dev, 0, VIRTIO_SND_PCM_FMT_S16, 1u << VIRTIO_SND_PCM_F_EVT_XRUNS);
    cmd(dev, 0, SND_PCM_CMD_PREPARE);
    s = fake_audio_last(dev->fake);
    s->room = PERIOD / 2;
    cmd(dev, 0, SND_PCM_CMD_START);
    submit_tx(dev, 0, 3);
    submit_tx(dev, 0, 101);
    /* its volume control (element 2k is stream k's volume, 2k+1 its switch) */
    g_assert_cmphex(vsnd_kctl_write(dev->kctl, 0, vol0, sizeof(vol0)), ==, VIRTIO_SND_S_OK);
    /* 1: capture prepared, polled, S32 */
    set_params(dev, 1, VIRTIO_SND_PCM_FMT_S32, 1u << VIRTIO_SND_PCM_F_MSG_POLLING);
    cmd(dev, 1, SND_PCM_CMD_PREPARE);
    /* 2: playback stopped by the guest with a message queued, muted,
     * FLOAT at 44.1 kHz: the queue stop carries it */
    {
        struct virtio_snd_pcm_set_params p = {
            .hdr.stream_id = GUINT32_TO_LE(2),
            .buffer_bytes = GUINT32_TO_LE(2 * BUFFER),
            .period_bytes = GUINT32_TO_LE(2 * PERIOD),
            .channels = 1,
            .format = VIRTIO_SND_PCM_FMT_FLOAT,
            .rate = VIRTIO_SND_PCM_RATE_44100,
        };

        g_assert_cmphex(vsnd_pcm_set_params(dev->pcm, &p), ==, VIRTIO_SND_S_OK);
    }
    cmd(dev, 2, SND_PCM_CMD_PREPARE);
    fake_audio_last(dev->fake)->room = 0;
    cmd(dev, 2, SND_PCM_CMD_START);
    submit_tx(dev, 2, 200);
    cmd(dev, 2, SND_PCM_CMD_STOP);
    g_assert_cmphex(vsnd_kctl_write(dev->kctl, 4, vol2, sizeof(vol2)), ==, VIRTIO_SND_S_OK);
    g_assert_cmphex(vsnd_kctl_write(dev->kctl, 5, off, sizeof(off)), ==, VIRTIO_SND_S_OK);
    /* 3: capture released */
    set_params(dev, 3, VIRTIO_SND_PCM_FMT_S16, 0);
    cmd(dev, 3, SND_PCM_CMD_PREPARE);
    cmd(dev, 3, SND_PCM_CMD_RELEASE);
    /* 4: playback with parameters only; 5: capture at power-on */
    set_params(dev, 4, VIRTIO_SND_PCM_FMT_S32, 0);
    vsnd_pcm_queue_stopped(dev->pcm, VSND_DIR_OUTPUT);
    vsnd_pcm_queue_stopped(dev->pcm, VSND_DIR_INPUT);
    g_assert_cmphex(vsnd_info_jack_remap(dev->info, 4, 2, 9), ==, VIRTIO_SND_S_OK);
    vsnd_event_make(&ev, VIRTIO_SND_EVT_PCM_PERIOD_ELAPSED, 5);
    vsnd_event_queue_push(dev->events, &ev);
    vsnd_event_make(&ev, VIRTIO_SND_EVT_JACK_CONNECTED, 3);
    vsnd_event_queue_push(dev->events, &ev);
    return dev;
}

typedef struct Golden {
    const char *name;
    guint streams;
    Dev *(*build)(void);
} Golden;

static Dev *power_on_dev(void)
{
    return dev_new(2);
}

static const Golden goldens[] = {
    { "format1-power-on.blob", 2, power_on_dev },
    { "format1-busy.blob", 2, busy_dev },
    { "format1-every-state.blob", 6, every_state_dev },
};

static GBytes *golden_read(const char *name)
{
    g_autofree char *path = g_test_build_filename(G_TEST_DIST, "data", "snd-migrate", name,
                                                  NULL);
    g_autoptr(GError) err = NULL;
    char *data = NULL;
    gsize len = 0;

    g_assert_true(g_file_get_contents(path, &data, &len, &err));
    g_assert_no_error(err);
    return g_bytes_new_take(data, len);
}

/* The device saves the committed bytes; they load to the device's state
 * and save again to themselves. */
static void test_golden(gconstpointer data)
{
    const Golden *g = data;
    g_autoptr(GBytes) want = golden_read(g->name);
    g_autoptr(GBytes) blob = NULL, again = NULL;
    g_autoptr(GError) err = NULL;
    Dev *a = g->build();
    Dev *b = dev_new(g->streams);

    blob = save(a);
    g_assert_cmpmem(g_bytes_get_data(blob, NULL), g_bytes_get_size(blob),
                    g_bytes_get_data(want, NULL), g_bytes_get_size(want));
    g_assert_true(vsnd_migrate_load(&b->d, g_bytes_get_data(want, NULL), g_bytes_get_size(want),
                                   &err));
    g_assert_no_error(err);
    assert_same_state(a, b);
    again = save(b);
    g_assert_true(g_bytes_equal(again, want));
    dev_free(a);
    dev_free(b);
}

/* What the committed every-state blob holds, said explicitly, and how its
 * streams go on when the rings start: only the queue-paused one resumes. */
static void test_golden_every_state(void)
{
    static const SndPcmState want[6] = {
        SND_PCM_STATE_STOPPED, SND_PCM_STATE_PREPARED, SND_PCM_STATE_STOPPED,
        SND_PCM_STATE_RELEASED, SND_PCM_STATE_PARAMS, SND_PCM_STATE_INIT,
    };
    g_autoptr(GBytes) blob = golden_read("format1-every-state.blob");
    g_autoptr(GError) err = NULL;
    Dev *b = dev_new(6);
    SndPcmSnapshot s;

    g_assert_true(vsnd_migrate_load(&b->d, g_bytes_get_data(blob, NULL), g_bytes_get_size(blob),
                                   &err));
    g_assert_no_error(err);
    for (uint32_t i = 0; i < 6; i++) {
        g_assert_cmpint(vsnd_pcm_state(b->pcm, i), ==, want[i]);
    }
    vsnd_pcm_snapshot(b->pcm, 0, &s);
    g_assert_cmpint(s.state, ==, SND_PCM_STATE_RUNNING);
    g_assert_cmpuint(s.gain, >, 0);
    g_assert_cmpuint(s.gain, <, SND_GAIN_UNITY);
    g_assert_false(s.mute);
    g_assert_cmpuint(s.carry_len, ==, PERIOD / 2 + PERIOD);
    g_assert_cmpuint(s.carry[0], ==, (uint8_t)(3 + PERIOD / 2));
    vsnd_pcm_snapshot(b->pcm, 1, &s);
    g_assert_cmpuint(s.params.features, ==, 1u << VIRTIO_SND_PCM_F_MSG_POLLING);
    g_assert_cmpuint(s.params.format, ==, VIRTIO_SND_PCM_FMT_S32);
    vsnd_pcm_snapshot(b->pcm, 2, &s);
    g_assert_cmpint(s.state, ==, SND_PCM_STATE_STOPPED);
    g_assert_true(s.mute);
    g_assert_cmpuint(s.gain, <, SND_GAIN_UNITY);
    g_assert_cmpuint(s.params.rate, ==, VIRTIO_SND_PCM_RATE_44100);
    g_assert_cmpuint(s.params.channels, ==, 1);
    g_assert_cmpuint(s.carry_len, ==, PERIOD);
    g_assert_cmpuint(s.carry[0], ==, 200);
    vsnd_pcm_snapshot(b->pcm, 5, &s);
    g_assert_false(s.has_params);
    vsnd_pcm_queue_started(b->pcm, VSND_DIR_OUTPUT);
    vsnd_pcm_queue_started(b->pcm, VSND_DIR_INPUT);
    g_assert_cmpint(vsnd_pcm_state(b->pcm, 0), ==, SND_PCM_STATE_RUNNING);
    g_assert_cmpint(vsnd_pcm_state(b->pcm, 2), ==, SND_PCM_STATE_STOPPED);
    g_assert_cmpint(vsnd_pcm_state(b->pcm, 1), ==, SND_PCM_STATE_PREPARED);
    dev_free(b);
}

static void golden_write(const char *dir)
{
    for (unsigned int i = 0; i < G_N_ELEMENTS(goldens); i++) {
        Dev *dev = goldens[i].build();
        g_autoptr(GBytes) blob = save(dev);
        g_autofree char *path = g_build_filename(dir, goldens[i].name, NULL);
        g_autoptr(GError) err = NULL;

        if (!g_file_set_contents(path, g_bytes_get_data(blob, NULL),
                                 (gssize)g_bytes_get_size(blob), &err)) {
            g_error("%s", err->message);
        }
        dev_free(dev);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (g_getenv("VSND_MIGRATE_WRITE_GOLDEN")) {
        golden_write(g_getenv("VSND_MIGRATE_WRITE_GOLDEN"));
        return 0;
    }
    for (unsigned int i = 0; i < G_N_ELEMENTS(goldens); i++) {
        g_autofree char *path = g_strdup_printf("/snd/migrate/format-1/%s", goldens[i].name);

        g_test_add_data_func(path, &goldens[i], test_golden);
    }
    g_test_add_func("/snd/migrate/format-1/every-state-explained", test_golden_every_state);
    g_test_add_func("/snd/migrate/field/added", test_field_added);
    g_test_add_func("/snd/migrate/field/bounds", test_field_bounds);
    g_test_add_func("/snd/migrate/carry/bounded-by-buffer", test_carry_bounded_by_buffer);
    g_test_add_func("/snd/migrate/carry/fits-blob", test_carry_fits_blob);
    g_test_add_func("/snd/migrate/round-trip", test_round_trip);
    g_test_add_func("/snd/migrate/source-resumes-carry", test_source_resumes);
    g_test_add_func("/snd/migrate/invalid/truncated", test_truncated);
    g_test_add_func("/snd/migrate/invalid/wrong-magic", test_wrong_magic);
    g_test_add_func("/snd/migrate/invalid/future-version", test_future_version);
    g_test_add_func("/snd/migrate/invalid/compat-newer", test_compat_newer);
    g_test_add_func("/snd/migrate/invalid/stream-id-out-of-range", test_stream_id_out_of_range);
    g_test_add_func("/snd/migrate/reference-records-load", test_good_edits_load);
    g_test_add_func("/snd/migrate/invalid/impossible-state", test_impossible_state);
    g_test_add_func("/snd/migrate/invalid/topology", test_topology);
    g_test_add_func("/snd/migrate/invalid/format-bit-64", test_format_bit_64);
    g_test_add_func("/snd/migrate/invalid/other-fields", test_other_fields);
    g_test_add_func("/snd/migrate/invalid/oversized", test_oversized);
    g_test_add_func("/snd/migrate/invalid/corrupted-random", test_corrupted_random);
    return g_test_run();
}
