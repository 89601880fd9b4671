/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-snd-migrate.c - libFuzzer target: loading a device state
 * (vsnd_migrate_load(): vsnd_migrate_parse() then vsnd_migrate_apply()).
 *
 * Input: one byte of set-up, then the blob.
 *   bit 0: the rest is the payload only (the "a{sv}" dictionary): the
 *          target wraps it in a blob with the right magic, versions and
 *          SHA-256, so mutations reach the payload checks instead of
 *          dying at the checksum; clear: the rest is the whole blob
 *   bit 1: 4 streams instead of 2;  bit 2: no control elements
 *   bit 3: the device is busy before the load (a stream prepared, one
 *          running with playback carried over by its ring stop)
 * Checks: a refused state leaves the device exactly as it was (its own
 * save is byte-identical); an accepted one saves to a blob that loads on a
 * fresh device of the same topology and saves again identically; the
 * device keeps working afterwards (rings restart, every stream released).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "snd-fuzz.h"

static void start_rings(SndFuzzDev *f)
{
    for (unsigned int q = 0; q < 2; q++) {
        if (f->queue_stopped[q]) {
            f->queue_stopped[q] = false;
            vsnd_pcm_queue_started(f->pcm, q ? VSND_DIR_INPUT : VSND_DIR_OUTPUT);
        }
    }
}

static SndFuzzDev *dev_new(uint8_t setup)
{
    SndFuzzDev *f = snd_fuzz_dev_new(setup & 2 ? 4 : 2, !(setup & 4));

    if (setup & 8) {
        snd_fuzz_busy(f);
    }
    /* A state is loaded with every ring stopped. */
    snd_fuzz_stop_rings(f);
    return f;
}

/* The blob the device would receive for @payload. */
static GBytes *wrap(const uint8_t *payload, size_t len)
{
    g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
    g_autoptr(GVariant) outer = NULL;
    guint8 digest[32];
    gsize dlen = sizeof(digest);

    g_checksum_update(sum, payload, len);
    g_checksum_get_digest(sum, digest, &dlen);
    outer = g_variant_ref_sink(g_variant_new(
        "(@ayuu@ay@ay)",
        g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, SND_MIGRATE_MAGIC, SND_MIGRATE_MAGIC_LEN, 1),
        GUINT32_TO_LE(SND_MIGRATE_VERSION), GUINT32_TO_LE(SND_MIGRATE_COMPAT_VERSION),
        g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, len ? payload : (const uint8_t *)"", len,
                                  1),
        g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, digest, dlen, 1)));
    return g_variant_get_data_as_bytes(outer);
}

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz-snd-migrate: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(GBytes) blob = NULL, before = NULL, after = NULL;
    g_autoptr(GError) error = NULL;
    SndFuzzDev *f;
    uint8_t setup;

    if (size < 1) {
        return 0;
    }
    setup = data[0];
    blob = setup & 1 ? wrap(data + 1, size - 1) : g_bytes_new(data + 1, size - 1);
    f = dev_new(setup);
    before = vsnd_migrate_save(&f->mig);
    if (!vsnd_migrate_load(&f->mig, g_bytes_get_data(blob, NULL), g_bytes_get_size(blob),
                           &error)) {
        check(error && error->domain == SND_MIGRATE_ERROR, "refused without an error");
        if (g_getenv("FUZZ_VERBOSE")) {
            fprintf(stderr, "refused: %s\n", error->message);
        }
        after = vsnd_migrate_save(&f->mig);
        check(g_bytes_equal(before, after), "a refused state changed the device");
    } else {
        g_autoptr(GBytes) again = NULL;
        g_autoptr(GError) error2 = NULL;
        SndFuzzDev *g = dev_new(setup & ~8);

        check(!error, "loaded with an error set");
        after = vsnd_migrate_save(&f->mig);
        check(vsnd_migrate_load(&g->mig, g_bytes_get_data(after, NULL), g_bytes_get_size(after),
                                &error2),
              "a loaded state saves to a blob that does not load");
        again = vsnd_migrate_save(&g->mig);
        check(g_bytes_equal(after, again), "a loaded state does not save the same again");
        snd_fuzz_dev_free(g);
        /* The destination's rings start; the guest goes on. */
        start_rings(f);
        for (uint32_t i = 0; i < vsnd_pcm_count(f->pcm); i++) {
            snd_fuzz_tx(f, i, 256);
            snd_fuzz_command(f, i, VIRTIO_SND_R_PCM_STOP);
            snd_fuzz_command(f, i, VIRTIO_SND_R_PCM_RELEASE);
        }
    }
    snd_fuzz_dev_free(f);
    return 0;
}
