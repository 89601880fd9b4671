/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-config.h - what the sound device is configured with: its topology
 * (streams, jacks, channel maps, control elements), each stream's limits,
 * the name it shows on the host and where it keeps its state across a
 * restart.
 *
 * The daemon fills it from the command line (options.c, which range-checks
 * every field, so the device may trust it); the device never sees the rest
 * of the daemon's configuration.
 */
#ifndef VSND_SND_CONFIG_H
#define VSND_SND_CONFIG_H

#include <glib.h>
#include <stdint.h>

#include "audio/audio.h"

#define VSND_MAX_STREAMS 64u
#define VSND_MAX_JACKS 64u
#define VSND_MAX_CHMAPS 64u

/* Per-stream settings (--stream=ID:key=value,...). */
typedef struct VsndStreamConfig {
    VsndDirection direction;  /* default: even id plays, odd id captures */
    uint8_t channels_min;     /* default 1 */
    uint8_t channels_max;     /* default 2 (stereo, FL FR) */
    uint64_t formats;         /* VSND_PCM_FMT_* bits; 0 = all the driver has */
    uint64_t rates;           /* VSND_PCM_RATE_* bits; 0 = all the driver has */
    char *target;             /* host sink/source/device; NULL = default */
} VsndStreamConfig;

typedef struct VsndDeviceConfig {
    guint streams;            /* --streams, 1..VSND_MAX_STREAMS, default 2 */
    guint jacks;              /* --jacks, default: one per stream */
    guint chmaps;             /* --chmaps, default: one per stream */
    gboolean controls;        /* --controls: offer VIRTIO_SND_F_CTLS (QEMU controls=on) */
    char *name;               /* --name, default "vhost-user-snd" */
    char *state_file;         /* --state-file: device state kept across a restart, or NULL */
    VsndStreamConfig *stream; /* streams entries */
} VsndDeviceConfig;

#endif /* VSND_SND_CONFIG_H */
