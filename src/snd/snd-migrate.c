/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-migrate.c - device state save/load for migration and restart.
 *
 * DOC: Theory of operation
 *
 * When (vhost-user.rst "Migrating back-end state", "Suspended device
 * state"): SET_DEVICE_STATE_FD arrives in the STOPPED phase, every ring
 * stopped by GET_VRING_BASE.  Save takes a snapshot at that moment and
 * writes it to the pipe from an fd watch; load reads until EOF, then
 * parses and applies.  CHECK_DEVICE_STATE reports the outcome.  Nothing
 * blocks the main loop: a slow reader or writer only delays the watch.
 *
 * Format: a GVariant "(ayuuayay)", little endian:
 *   magic "VSNDSTAT", u32 format version, u32 compat version (the oldest
 *   format a reader must understand), the payload (a serialized "a{sv}"),
 *   and the SHA-256 of the payload.  A reader refuses a blob whose compat
 *   version is newer than its own format version; otherwise it loads it,
 *   ignoring payload keys it does not know (that is how a newer writer adds
 *   fields without breaking older readers).  Keys of format 1:
 *     "features" t         negotiated virtio features
 *     "topology" (uuuu)    streams, jacks, chmaps, controls: must be ours
 *     "streams"  a(yybuuuyyyubay)  per stream: the fields of stream_fields
 *                below (direction, state (guest view), has-params,
 *                buffer, period, features, channels, format, rate, gain,
 *                mute, carried playback frames), in that order
 *     "jacks"    a(uub)    association, sequence, connected (guest view)
 *     "controls" a(ax)     values of each control element
 *     "events"   a(uu)     events not yet delivered (code, data)
 * A stream field added after format 1 travels under its own key
 * "streams.<name>" (snd-migrate-field.h), which format-1 readers ignore.
 * Nothing is a memory image of a struct: every field is typed and checked
 * on load like guest input (ids and counts against this device, states
 * against the transition table's states, format/rate codes and feature
 * bits below 64 before any shift, parameters against the capabilities we
 * offer, sizes against caps).  The whole blob is parsed into a temporary
 * SndMigrateState first; only a fully valid state is applied, so a bad
 * blob leaves the device exactly as it was.
 *
 * No period lost, none played twice.  Across the vhost-user stop
 * (SET_VRING_ENABLE 0, GET_VRING_BASE per ring) the device must not keep
 * anything in flight (GET_VRING_BASE: "complete all inflight I/O").
 *  - Playback (tx): a message the guest queued is either already written
 *    to the host driver (played on the source), or its unplayed frames are
 *    copied into the stream's carry at the queue stop and the message is
 *    completed (vsnd_pcm_queue_stopped()).  The carry is part of the state:
 *    on the destination it is played before any new message; if the
 *    migration fails and the source's rings start again, the source plays
 *    it.  Exactly one of the two devices ever runs the stream afterwards,
 *    so the frames are played once.  A partly written message contributes
 *    only its unwritten bytes.
 *  - Capture (rx): a waiting buffer has nothing the guest has seen, so it
 *    is handed back to the ring unused (vu_queue_unpop rewinds the avail
 *    index, GET_VRING_BASE then reports the index before it) and the
 *    destination (or the resumed source) fills it.  The guest never gets a
 *    made-up period.  When the held buffers are not the newest ones popped
 *    (two capture streams on the ring completing in between), rewinding is
 *    impossible and they complete with silence, as before.
 *  - Stream states: a stream that was running is saved as running and
 *    comes back paused by its queue; it resumes when its ring starts
 *    (vsnd_pcm_queue_started()), without the guest re-sending
 *    SET_PARAMS/PREPARE/START.  Host streams are reopened with the saved
 *    parameters on the destination's driver, whatever it is.
 *
 * When the state is taken: QEMU 10 drives vhost-user-snd as a
 * vhost-user-base device and stops it with SET_VRING_ENABLE(0) and
 * GET_VRING_BASE only, no SET_STATUS(0) (tests/data/qemu-sequences/), so
 * at a SAVE the device still holds the live state.  A front-end that does
 * send SET_STATUS(0) after the stop makes snd-dev.c park the state first;
 * a SAVE then sends the parked state, and a ring start that resumes where
 * the rings stopped (a failed or cancelled migration) restores it
 * (snd-dev.c, "Lifecycle").
 *
 * Restart continuity (no migration; the daemon is killed and started
 * again, or the front-end reconnects, and hands the inflight region back):
 * the inflight region resubmits the messages in flight, but holds no
 * stream state.  With --state-file the same blob is written whenever a
 * control request or a reset the front-end asked for changed the state
 * (not the reset of a disconnect), coalesced and off the main thread
 * (snd-state-writer.c).  A new connection loads it when its first ring
 * starts, before any resubmitted message is looked at, only if the
 * front-end handed back an inflight region a previous back-end set up
 * (a running VM reconnecting; never a fresh VM, which gets a new region).
 * A disconnect keeps the held messages recorded in the inflight region
 * so the reconnection resubmits them; a SIGTERM (clean shutdown) resets
 * and records power-on.  Released QEMU (10.2.2) cannot reconnect a
 * vhost-user-snd device; contrib/qemu's 0002 patch makes it do so.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define G_LOG_DOMAIN "vsnd-snd"
#include <glib-unix.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "audio/pcm-format.h"
#include "snd/snd-format.h"
#include "snd/snd-migrate.h"

#define OUTER_TYPE "(ayuuayay)"

#define SNAP(m) SND_MIG_MEMBER(SndPcmSnapshot, m)

/*
 * A PCM stream in the state: one line per field, format 1's fields in
 * their wire order.  Save, parse and the per-field checks come from this
 * table (snd-migrate-field.c); vsnd_pcm_snapshot_valid() adds what
 * involves several fields or the stream's capabilities.  A new field is
 * one line at the end with .added = true (HACKING.md).
 */
static const SndMigField stream_fields[] = {
    { "direction", SND_MIG_U8, SNAP(direction), SND_MIG_SAME, 0 },
    { "state", SND_MIG_U8, SNAP(state), SND_MIG_AT_MOST, SND_PCM_STATE_MAX - 1 },
    { "has-params", SND_MIG_BOOL, SNAP(has_params), SND_MIG_AT_MOST, 1 },
    { "buffer-bytes", SND_MIG_U32, SNAP(params.buffer_bytes), SND_MIG_AT_MOST,
      SND_PCM_MAX_BUFFER_BYTES },
    { "period-bytes", SND_MIG_U32, SNAP(params.period_bytes), SND_MIG_AT_MOST,
      SND_PCM_MAX_BUFFER_BYTES },
    { "features", SND_MIG_U32, SNAP(params.features), SND_MIG_AT_MOST,
      (1u << VSND_PCM_F_COUNT) - 1 },
    { "channels", SND_MIG_U8, SNAP(params.channels), SND_MIG_AT_MOST,
      VIRTIO_SND_CHMAP_MAX_SIZE },
    { "format", SND_MIG_U8, SNAP(params.format), SND_MIG_AT_MOST, VSND_PCM_FMT_COUNT - 1 },
    { "rate", SND_MIG_U8, SNAP(params.rate), SND_MIG_AT_MOST, VSND_PCM_RATE_COUNT - 1 },
    { "gain", SND_MIG_U32, SNAP(gain), SND_MIG_AT_MOST, SND_GAIN_UNITY },
    { "mute", SND_MIG_BOOL, SNAP(mute), SND_MIG_AT_MOST, 1 },
    { "carry", SND_MIG_BYTES, SNAP(carry), SND_MIG_AT_MOST, SND_PCM_MAX_CARRY_BYTES,
      .len_offset = offsetof(SndPcmSnapshot, carry_len) },
};

static const SndMigTable stream_table = {
    .key = "streams",
    .fields = stream_fields,
    .n = G_N_ELEMENTS(stream_fields),
    .stride = sizeof(SndPcmSnapshot),
};

/* Every state a queue stop leaves must load: the carries' budget leaves
 * room for the rest of the state under the cap. */
G_STATIC_ASSERT(SND_PCM_CARRY_BUDGET_BYTES + 4u * 1024 * 1024 <= SND_MIGRATE_MAX_BYTES);

typedef struct MigJack {
    uint32_t association;
    uint32_t sequence;
    bool connected;
} MigJack;

struct SndMigrateState {
    GVariant *payload;        /* keeps the carry bytes alive */
    uint32_t version;
    uint64_t features;
    uint32_t nstreams;
    SndPcmSnapshot *streams;
    uint32_t njacks;
    MigJack *jacks;
    uint32_t ncontrols;
    int64_t **values;
    uint32_t *nvalues;
    uint32_t nevents;
    struct virtio_snd_event *events;
};

/* ---- save ----------------------------------------------------------------- */

static GVariant *le(GVariant *v)
{
    GVariant *r;

    g_variant_ref_sink(v);
    if (G_BYTE_ORDER == G_LITTLE_ENDIAN) {
        return v;
    }
    r = g_variant_ref_sink(g_variant_byteswap(v));
    g_variant_unref(v);
    return r;
}

static GVariant *bytes_variant(const void *data, size_t len)
{
    return g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, len ? data : "", len, 1);
}

static GVariant *save_payload(const SndMigrateDev *d)
{
    GVariantBuilder b, a;
    uint32_t n = vsnd_pcm_count(d->pcm);
    uint32_t nj = vsnd_info_jacks(d->info);
    uint32_t nc = d->kctl ? vsnd_kctl_count(d->kctl) : 0;
    g_autofree SndPcmSnapshot *snaps = g_new0(SndPcmSnapshot, MAX(n, 1));

    g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
    g_variant_builder_add(&b, "{sv}", "features", g_variant_new_uint64(d->features));
    g_variant_builder_add(&b, "{sv}", "topology",
                          g_variant_new("(uuuu)", n, nj, vsnd_info_chmaps(d->info), nc));

    for (uint32_t i = 0; i < n; i++) {
        vsnd_pcm_snapshot(d->pcm, i, &snaps[i]);
    }
    vsnd_mig_save(&stream_table, &b, snaps, n);

    g_variant_builder_init(&a, G_VARIANT_TYPE("a(uub)"));
    for (uint32_t j = 0; j < nj; j++) {
        uint32_t assoc, seq;

        vsnd_info_jack_get_remap(d->info, j, &assoc, &seq);
        g_variant_builder_add(&a, "(uub)", assoc, seq,
                              (gboolean)vsnd_pcm_connected(d->pcm,
                                                          vsnd_info_jack_stream(d->info, j)));
    }
    g_variant_builder_add(&b, "{sv}", "jacks", g_variant_builder_end(&a));

    g_variant_builder_init(&a, G_VARIANT_TYPE("a(ax)"));
    for (uint32_t c = 0; c < nc; c++) {
        int64_t v[VSND_CTL_MAX_COUNT_INTEGER];
        uint32_t cnt = vsnd_kctl_values(d->kctl, c, v, G_N_ELEMENTS(v));

        cnt = MIN(cnt, G_N_ELEMENTS(v));
        g_variant_builder_add(&a, "(@ax)",
                              g_variant_new_fixed_array(G_VARIANT_TYPE_INT64, v, cnt,
                                                        sizeof(int64_t)));
    }
    g_variant_builder_add(&b, "{sv}", "controls", g_variant_builder_end(&a));

    g_variant_builder_init(&a, G_VARIANT_TYPE("a(uu)"));
    for (unsigned int e = 0; e < vsnd_event_queue_length(d->events); e++) {
        struct virtio_snd_event ev;

        if (vsnd_event_queue_nth(d->events, e, &ev)) {
            g_variant_builder_add(&a, "(uu)", GUINT32_FROM_LE(ev.hdr.code),
                                  GUINT32_FROM_LE(ev.data));
        }
    }
    g_variant_builder_add(&b, "{sv}", "events", g_variant_builder_end(&a));
    return le(g_variant_builder_end(&b));
}

GBytes *vsnd_migrate_save(const SndMigrateDev *d)
{
    g_autoptr(GVariant) payload = save_payload(d);
    g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
    g_autoptr(GVariant) outer = NULL;
    guint8 digest[32];
    gsize dlen = sizeof(digest);

    g_checksum_update(sum, g_variant_get_data(payload), g_variant_get_size(payload));
    g_checksum_get_digest(sum, digest, &dlen);
    outer = le(g_variant_new("(@ayuu@ay@ay)",
                             bytes_variant(SND_MIGRATE_MAGIC, SND_MIGRATE_MAGIC_LEN),
                             SND_MIGRATE_VERSION, SND_MIGRATE_COMPAT_VERSION,
                             bytes_variant(g_variant_get_data(payload),
                                           g_variant_get_size(payload)),
                             bytes_variant(digest, dlen)));
    return g_variant_get_data_as_bytes(outer);
}

/* ---- parse ---------------------------------------------------------------- */

void vsnd_migrate_state_free(SndMigrateState *s)
{
    if (!s) {
        return;
    }
    for (uint32_t c = 0; c < s->ncontrols && s->values; c++) {
        g_free(s->values[c]);
    }
    g_free(s->values);
    g_free(s->nvalues);
    g_free(s->streams);
    g_free(s->jacks);
    g_free(s->events);
    if (s->payload) {
        g_variant_unref(s->payload);
    }
    g_free(s);
}

uint64_t vsnd_migrate_state_features(const SndMigrateState *s)
{
    return s->features;
}

/* A value from untrusted bytes, NULL unless it is of @type in normal form
 * (GVariant reads any bytes safely; normal form rules out ambiguity). */
static GVariant *untrusted(const GVariantType *type, const void *data, size_t len)
{
    g_autoptr(GBytes) bytes = g_bytes_new(len ? data : "", len);
    g_autoptr(GVariant) v = g_variant_ref_sink(g_variant_new_from_bytes(type, bytes, FALSE));

    if (!g_variant_is_normal_form(v)) {
        return NULL;
    }
    if (G_BYTE_ORDER != G_LITTLE_ENDIAN) {
        return g_variant_ref_sink(g_variant_byteswap(v));
    }
    return g_steal_pointer(&v);
}

static bool event_valid(const SndMigrateState *s, uint32_t code, uint32_t data)
{
    switch (code) {
    case VIRTIO_SND_EVT_JACK_CONNECTED:
    case VIRTIO_SND_EVT_JACK_DISCONNECTED:
        return data < s->njacks;
    case VIRTIO_SND_EVT_PCM_PERIOD_ELAPSED:
    case VIRTIO_SND_EVT_PCM_XRUN:
        return data < s->nstreams;
    case VIRTIO_SND_EVT_CTL_NOTIFY:
        return (data & 0xffff) < s->ncontrols && (data >> 16) < 8;
    default:
        return false;
    }
}

static bool parse_payload(const SndMigrateDev *d, SndMigrateState *s, GError **error)
{
    GVariant *dict = s->payload;
    g_autoptr(GVariant) features = NULL, topo = NULL, jacks = NULL, controls = NULL,
                        events = NULL;
    g_autofree SndPcmSnapshot *own = NULL;
    uint32_t nstreams, njacks, nchmaps, ncontrols;
    uint32_t want_controls = d->kctl ? vsnd_kctl_count(d->kctl) : 0;
    const uint64_t dev_mask = (1ull << 24) - 1; /* device-specific bits 0..23 */

    if (!(features = vsnd_mig_lookup(dict, "features", "t", true, error)) ||
        !(topo = vsnd_mig_lookup(dict, "topology", "(uuuu)", true, error)) ||
        !(jacks = vsnd_mig_lookup(dict, "jacks", "a(uub)", true, error)) ||
        !(controls = vsnd_mig_lookup(dict, "controls", "a(ax)", true, error)) ||
        !(events = vsnd_mig_lookup(dict, "events", "a(uu)", true, error))) {
        return false;
    }
    s->features = g_variant_get_uint64(features);
    if (s->features & dev_mask & ~d->offered) {
        g_set_error(error, SND_MIGRATE_ERROR, SND_MIGRATE_ERROR_UNSUPPORTED,
                    "device state: negotiated device features 0x%" G_GINT64_MODIFIER
                    "x are not offered here (0x%" G_GINT64_MODIFIER "x)",
                    s->features & dev_mask, d->offered);
        return false;
    }
    g_variant_get(topo, "(uuuu)", &nstreams, &njacks, &nchmaps, &ncontrols);
    if (nstreams != vsnd_pcm_count(d->pcm) || njacks != vsnd_info_jacks(d->info) ||
        nchmaps != vsnd_info_chmaps(d->info) || ncontrols != want_controls) {
        g_set_error(error, SND_MIGRATE_ERROR, SND_MIGRATE_ERROR_UNSUPPORTED,
                    "device state: topology %u streams, %u jacks, %u chmaps, %u controls "
                    "differs from this device's %u, %u, %u, %u", nstreams, njacks, nchmaps,
                    ncontrols, vsnd_pcm_count(d->pcm), vsnd_info_jacks(d->info),
                    vsnd_info_chmaps(d->info), want_controls);
        return false;
    }
    /* every stream field, checked against its bound (direction: ours) */
    s->nstreams = nstreams;
    s->streams = g_new0(SndPcmSnapshot, MAX(nstreams, 1));
    own = g_new0(SndPcmSnapshot, MAX(nstreams, 1));
    for (uint32_t i = 0; i < nstreams; i++) {
        vsnd_pcm_snapshot(d->pcm, i, &own[i]);
    }
    if (!vsnd_mig_parse(&stream_table, dict, s->streams, nstreams, own, error)) {
        return false;
    }
    if (g_variant_n_children(jacks) != njacks) {
        return vsnd_mig_invalid(error, "%zu jack records for %u jacks",
                                g_variant_n_children(jacks), njacks);
    }
    if (g_variant_n_children(controls) != ncontrols) {
        return vsnd_mig_invalid(error, "%zu control records for %u controls",
                                g_variant_n_children(controls), ncontrols);
    }
    if (g_variant_n_children(events) > SND_EVENT_QUEUE_MAX) {
        return vsnd_mig_invalid(error, "%zu pending events (at most %u)",
                                g_variant_n_children(events), SND_EVENT_QUEUE_MAX);
    }

    /* then what involves several fields or the stream's capabilities */
    for (uint32_t i = 0; i < nstreams; i++) {
        const SndPcmSnapshot *snap = &s->streams[i];
        const char *why = NULL;

        if (!vsnd_pcm_snapshot_valid(d->pcm, i, snap, &why)) {
            return vsnd_mig_invalid(error, "stream %u (state %u, format %u, rate %u, channels "
                                    "%u): %s", i, snap->state, snap->params.format,
                                    snap->params.rate, snap->params.channels, why);
        }
    }

    s->njacks = njacks;
    s->jacks = g_new0(MigJack, MAX(njacks, 1));
    for (uint32_t j = 0; j < njacks; j++) {
        gboolean connected;

        g_variant_get_child(jacks, j, "(uub)", &s->jacks[j].association, &s->jacks[j].sequence,
                            &connected);
        s->jacks[j].connected = connected;
        if (s->jacks[j].association > 0xf || s->jacks[j].sequence > 0xf) {
            return vsnd_mig_invalid(error, "jack %u: remap %u/%u out of range", j,
                                    s->jacks[j].association, s->jacks[j].sequence);
        }
    }

    s->ncontrols = ncontrols;
    s->values = g_new0(int64_t *, MAX(ncontrols, 1));
    s->nvalues = g_new0(uint32_t, MAX(ncontrols, 1));
    for (uint32_t c = 0; c < ncontrols; c++) {
        g_autoptr(GVariant) rec = g_variant_get_child_value(controls, c);
        g_autoptr(GVariant) arr = g_variant_get_child_value(rec, 0);
        gsize n = 0;
        const int64_t *v = g_variant_get_fixed_array(arr, &n, sizeof(int64_t));

        if (n > VSND_CTL_MAX_COUNT_INTEGER || !vsnd_kctl_values_valid(d->kctl, c, v, (uint32_t)n)) {
            return vsnd_mig_invalid(error, "control %u: values out of range", c);
        }
        s->values[c] = g_memdup2(v, n * sizeof(int64_t));
        s->nvalues[c] = (uint32_t)n;
    }

    s->nevents = (uint32_t)g_variant_n_children(events);
    s->events = g_new0(struct virtio_snd_event, MAX(s->nevents, 1));
    for (uint32_t e = 0; e < s->nevents; e++) {
        uint32_t code, data;

        g_variant_get_child(events, e, "(uu)", &code, &data);
        if (!event_valid(s, code, data)) {
            return vsnd_mig_invalid(error, "pending event %u: code 0x%x data %u invalid", e,
                                    code, data);
        }
        vsnd_event_make(&s->events[e], code, data);
    }
    return true;
}

SndMigrateState *vsnd_migrate_parse(const SndMigrateDev *d, const void *data, size_t len,
                                   GError **error)
{
    g_autoptr(SndMigrateState) s = g_new0(SndMigrateState, 1);
    g_autoptr(GVariant) outer = NULL;
    g_autoptr(GVariant) magic = NULL, payload = NULL, digest = NULL;
    g_autoptr(GChecksum) sum = NULL;
    const guint8 *p, *dg;
    guint8 want[32];
    gsize plen, dlen, mlen, wlen = sizeof(want);
    uint32_t version, compat;

    if (len > SND_MIGRATE_MAX_BYTES) {
        vsnd_mig_invalid(error, "%zu bytes, more than the %u accepted", len,
                         SND_MIGRATE_MAX_BYTES);
        return NULL;
    }
    outer = untrusted(G_VARIANT_TYPE(OUTER_TYPE), data, len);
    if (!outer) {
        vsnd_mig_invalid(error, "not a device state (%zu bytes, malformed)", len);
        return NULL;
    }
    g_variant_get(outer, "(@ayuu@ay@ay)", &magic, &version, &compat, &payload, &digest);
    p = g_variant_get_fixed_array(magic, &mlen, 1);
    if (mlen != SND_MIGRATE_MAGIC_LEN || memcmp(p, SND_MIGRATE_MAGIC, mlen) != 0) {
        vsnd_mig_invalid(error, "wrong magic: not a vhost-user-snd state");
        return NULL;
    }
    if (version == 0 || compat == 0 || compat > version) {
        vsnd_mig_invalid(error, "inconsistent versions (format %u, compat %u)", version, compat);
        return NULL;
    }
    if (compat > SND_MIGRATE_VERSION) {
        g_set_error(error, SND_MIGRATE_ERROR, SND_MIGRATE_ERROR_UNSUPPORTED,
                    "device state: format %u needs a reader of format %u or newer; this "
                    "back-end reads format %u", version, compat, SND_MIGRATE_VERSION);
        return NULL;
    }
    p = g_variant_get_fixed_array(payload, &plen, 1);
    dg = g_variant_get_fixed_array(digest, &dlen, 1);
    sum = g_checksum_new(G_CHECKSUM_SHA256);
    g_checksum_update(sum, p, plen);
    g_checksum_get_digest(sum, want, &wlen);
    if (dlen != wlen || memcmp(dg, want, wlen) != 0) {
        vsnd_mig_invalid(error, "checksum mismatch: the state is corrupted");
        return NULL;
    }
    s->version = version;
    s->payload = untrusted(G_VARIANT_TYPE("a{sv}"), p, plen);
    if (!s->payload) {
        vsnd_mig_invalid(error, "malformed payload");
        return NULL;
    }
    if (!parse_payload(d, s, error)) {
        return NULL;
    }
    return g_steal_pointer(&s);
}

/* ---- apply ---------------------------------------------------------------- */

void vsnd_migrate_apply(const SndMigrateDev *d, const SndMigrateState *s)
{
    for (uint32_t i = 0; i < s->nstreams; i++) {
        vsnd_pcm_restore(d->pcm, i, &s->streams[i]);
    }
    for (uint32_t c = 0; c < s->ncontrols; c++) {
        vsnd_kctl_restore_values(d->kctl, c, s->values[c], s->nvalues[c]);
    }
    /* Events raised while reopening host streams are replaced by the
     * saved ones, then the guest learns where jacks differ here. */
    vsnd_event_queue_clear(d->events);
    for (uint32_t e = 0; e < s->nevents; e++) {
        vsnd_event_queue_push(d->events, &s->events[e]);
    }
    for (uint32_t j = 0; j < s->njacks; j++) {
        bool now = vsnd_pcm_connected(d->pcm, vsnd_info_jack_stream(d->info, j));
        struct virtio_snd_event ev;

        vsnd_info_jack_remap(d->info, j, s->jacks[j].association, s->jacks[j].sequence);
        if (now != s->jacks[j].connected) {
            vsnd_event_make(&ev, now ? VIRTIO_SND_EVT_JACK_CONNECTED
                                    : VIRTIO_SND_EVT_JACK_DISCONNECTED, j);
            vsnd_event_queue_push(d->events, &ev);
        }
    }
}

bool vsnd_migrate_load(const SndMigrateDev *d, const void *data, size_t len, GError **error)
{
    g_autoptr(SndMigrateState) s = vsnd_migrate_parse(d, data, len, error);

    if (!s) {
        return false;
    }
    vsnd_migrate_apply(d, s);
    return true;
}

/* ---- transfer over the state fd -------------------------------------------- */

struct SndMigrateXfer {
    int fd;
    bool save;
    guint watch;
    GBytes *out;            /* save: what to write */
    size_t pos;
    GByteArray *in;         /* load: what was read */
    SndMigrateLoaded loaded;
    void *opaque;
    bool done;
    int result;
};

static void xfer_end(SndMigrateXfer *x, int result)
{
    g_clear_handle_id(&x->watch, g_source_remove);
    if (x->fd >= 0) {
        close(x->fd);
        x->fd = -1;
    }
    x->done = true;
    x->result = result;
}

/* Move the transfer on without blocking.  Return: true when finished. */
static bool xfer_step(SndMigrateXfer *x)
{
    uint8_t buf[65536];

    while (!x->done) {
        ssize_t n;

        if (x->save) {
            size_t len;
            const uint8_t *data = g_bytes_get_data(x->out, &len);

            if (x->pos == len) {
                xfer_end(x, 0);
                break;
            }
            n = write(x->fd, data + x->pos, len - x->pos);
            if (n > 0) {
                x->pos += (size_t)n;
                continue;
            }
        } else {
            n = read(x->fd, buf, sizeof(buf));
            if (n > 0) {
                if (x->in->len + (size_t)n > SND_MIGRATE_MAX_BYTES) {
                    g_warning("device state: more than %u bytes offered; refused",
                              SND_MIGRATE_MAX_BYTES);
                    xfer_end(x, -EFBIG);
                    break;
                }
                g_byte_array_append(x->in, buf, (guint)n);
                continue;
            }
            if (n == 0) {
                g_autoptr(GBytes) blob = g_byte_array_free_to_bytes(g_steal_pointer(&x->in));
                int r;

                x->in = g_byte_array_new();
                g_clear_handle_id(&x->watch, g_source_remove);
                r = x->loaded(x->opaque, blob);
                xfer_end(x, r);
                break;
            }
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return false;
        }
        g_warning("device state transfer failed: %s", g_strerror(errno));
        xfer_end(x, -errno);
    }
    return true;
}

static gboolean xfer_ready(gint fd, GIOCondition cond, gpointer data)
{
    SndMigrateXfer *x = data;
    guint self = x->watch;

    x->watch = 0; /* finishing must not remove the source dispatching us */
    if (xfer_step(x)) {
        return G_SOURCE_REMOVE;
    }
    x->watch = self;
    return G_SOURCE_CONTINUE;
}

static SndMigrateXfer *xfer_new(int fd, bool save)
{
    SndMigrateXfer *x = g_new0(SndMigrateXfer, 1);
    /* fd < 0 fails here with EBADF: an already finished, failed transfer. */
    int fl = fcntl(fd, F_GETFL);

    x->fd = fd;
    x->save = save;
    x->in = g_byte_array_new();
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        xfer_end(x, -errno);
        return x;
    }
    x->watch = g_unix_fd_add(fd, save ? G_IO_OUT : G_IO_IN, xfer_ready, x);
    return x;
}

SndMigrateXfer *vsnd_migrate_xfer_save(int fd, GBytes *blob)
{
    SndMigrateXfer *x = xfer_new(fd, true);

    x->out = g_bytes_ref(blob);
    return x;
}

SndMigrateXfer *vsnd_migrate_xfer_load(int fd, SndMigrateLoaded loaded, void *opaque)
{
    SndMigrateXfer *x = xfer_new(fd, false);

    x->loaded = loaded;
    x->opaque = opaque;
    return x;
}

int vsnd_migrate_xfer_result(SndMigrateXfer *x)
{
    if (!x->done && !xfer_step(x)) {
        g_warning("device state: CHECK_DEVICE_STATE before the %s finished",
                  x->save ? "front-end read everything" : "front-end closed the pipe");
        xfer_end(x, -EINPROGRESS);
    }
    return x->result;
}

void vsnd_migrate_xfer_free(SndMigrateXfer *x)
{
    if (!x) {
        return;
    }
    g_clear_handle_id(&x->watch, g_source_remove);
    if (x->fd >= 0) {
        close(x->fd);
    }
    if (x->out) {
        g_bytes_unref(x->out);
    }
    if (x->in) {
        g_byte_array_unref(x->in);
    }
    g_free(x);
}

/* ---- state file ------------------------------------------------------------- */

int vsnd_migrate_file_write(const char *path, GBytes *blob)
{
    g_autoptr(GError) error = NULL;
    gsize len;
    const char *data = g_bytes_get_data(blob, &len);

    /* g_file_set_contents() writes a temp file and renames it. */
    if (!g_file_set_contents(path, data ? data : "", (gssize)len, &error)) {
        g_warning("cannot write state file: %s", error->message);
        return -EIO;
    }
    return 0;
}

GBytes *vsnd_migrate_file_read(const char *path)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    GStatBuf sb;

    if (g_stat(path, &sb) < 0 || sb.st_size > (goffset)SND_MIGRATE_MAX_BYTES) {
        return NULL;
    }
    if (!g_file_get_contents(path, &data, &len, NULL)) {
        return NULL;
    }
    return g_bytes_new_take(g_steal_pointer(&data), len);
}
