/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gen-snd-migrate-seeds.c - write the seed corpus of fuzz-snd-migrate:
 * the states this device really saves, each as a whole blob and as a
 * payload the target wraps (see fuzz-snd-migrate.c for the set-up byte).
 *
 *   tests/fuzz/gen-snd-migrate-seeds DIR   (DIR: tests/fuzz/corpus/fuzz-snd-migrate)
 *
 * Run it again after the state format changes and commit the result.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snd-fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return 0; /* snd-fuzz.h declares it for the targets */
}

static void write_seed(const char *dir, const char *name, uint8_t setup, GBytes *blob)
{
    g_autofree char *path = g_strdup_printf("%s/seed-%s-%s", dir, name,
                                            setup & 1 ? "payload" : "blob");
    g_autoptr(GByteArray) out = g_byte_array_new();
    g_autoptr(GError) error = NULL;
    gsize len;
    const uint8_t *p = g_bytes_get_data(blob, &len);

    g_byte_array_append(out, &setup, 1);
    if (setup & 1) {
        /* the payload: the 4th member of "(ayuuayay)" */
        g_autoptr(GVariant) outer = g_variant_ref_sink(
            g_variant_new_from_bytes(G_VARIANT_TYPE("(ayuuayay)"), blob, FALSE));
        g_autoptr(GVariant) payload = g_variant_get_child_value(outer, 3);
        gsize plen;
        const uint8_t *pp = g_variant_get_fixed_array(payload, &plen, 1);

        g_byte_array_append(out, pp, (guint)plen);
    } else {
        g_byte_array_append(out, p, (guint)len);
    }
    if (!g_file_set_contents(path, (const char *)out->data, out->len, &error)) {
        fprintf(stderr, "%s\n", error->message);
        exit(1);
    }
}

/* Save @f as seeds for the set-up byte @setup (bits 1-3 as in the target). */
static void seeds(const char *dir, const char *name, uint8_t setup, SndFuzzDev *f)
{
    g_autoptr(GBytes) blob = NULL;

    snd_fuzz_stop_rings(f);
    blob = vsnd_migrate_save(&f->mig);
    write_seed(dir, name, setup, blob);
    write_seed(dir, name, setup | 1, blob);
    snd_fuzz_dev_free(f);
}

int main(int argc, char **argv)
{
    uint8_t vol[4] = { 9, 0, 0, 0 };
    struct virtio_snd_event ev;
    SndFuzzDev *f;

    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    /* power-on, 2 streams with controls, 4 without */
    seeds(argv[1], "power-on", 0, snd_fuzz_dev_new(2, true));
    seeds(argv[1], "power-on-4-noctl", 2 | 4, snd_fuzz_dev_new(4, false));

    /* parameters set, prepared, released */
    f = snd_fuzz_dev_new(2, true);
    snd_fuzz_set_params(f, 0, 2);
    snd_fuzz_set_params(f, 1, 1 | 8);
    snd_fuzz_command(f, 1, VIRTIO_SND_R_PCM_PREPARE);
    seeds(argv[1], "params", 0, f);

    /* running playback with frames carried over the ring stop, a prepared
     * and a paused capture, a remapped jack, a changed volume, pending
     * events */
    f = snd_fuzz_dev_new(4, true);
    snd_fuzz_busy(f);
    snd_fuzz_set_params(f, 3, 3);
    snd_fuzz_command(f, 3, VIRTIO_SND_R_PCM_PREPARE);
    snd_fuzz_command(f, 3, VIRTIO_SND_R_PCM_START);
    snd_fuzz_command(f, 3, VIRTIO_SND_R_PCM_STOP);
    vsnd_info_jack_remap(f->info, 1, 3, 5);
    vsnd_kctl_write(f->kctl, 0, vol, sizeof(vol));
    vsnd_event_make(&ev, VIRTIO_SND_EVT_PCM_XRUN, 0);
    vsnd_event_queue_push(f->events, &ev);
    vsnd_event_make(&ev, VIRTIO_SND_EVT_JACK_DISCONNECTED, 2);
    vsnd_event_queue_push(f->events, &ev);
    vsnd_event_make(&ev, VIRTIO_SND_EVT_CTL_NOTIFY, 1 | 1u << 16);
    vsnd_event_queue_push(f->events, &ev);
    seeds(argv[1], "busy", 2, f);
    return 0;
}
