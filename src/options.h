/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * options.h - the daemon's validated configuration.
 *
 * Filled by vsnd_options_parse() from the command line; everything in here
 * has been range-checked, so the device may trust it.
 */
#ifndef VSND_OPTIONS_H
#define VSND_OPTIONS_H

#include <glib.h>
#include <stdint.h>
#include "audio/audio.h"
#include "sandbox.h"

#define VSND_MAX_STREAMS 64u
#define VSND_MAX_JACKS 64u
#define VSND_MAX_CHMAPS 64u

/* Per-stream settings (--stream=ID:key=value,...). */
typedef struct VsndStreamConfig {
    VsndDirection direction;  /* default: even id plays, odd id captures */
    uint8_t channels_min;     /* default 1 */
    uint8_t channels_max;     /* default 2 (stereo, FL FR) */
    uint64_t formats;         /* VIRTIO_SND_PCM_FMT_* bits; 0 = all the driver has */
    uint64_t rates;           /* VIRTIO_SND_PCM_RATE_* bits; 0 = all the driver has */
    char *target;             /* host sink/source/device; NULL = default */
} VsndStreamConfig;

typedef struct VsndConfig {
    char *socket_path;        /* --socket-path, or NULL */
    int fd;                   /* --fd, or -1 */
    gboolean print_capabilities;
    guint streams;            /* --streams, 1..VSND_MAX_STREAMS, default 2 */
    guint jacks;              /* --jacks, default: one per stream */
    guint chmaps;             /* --chmaps, default: one per stream */
    gboolean controls;        /* --controls: offer VIRTIO_SND_F_CTLS (QEMU controls=on) */
    char *driver;             /* --driver spec, default "auto" */
    char *name;               /* --name, default "vhost-user-snd" */
    char *state_file;         /* --state-file: device state kept across a restart, or NULL */
    gboolean verbose;
    VsndSandboxLevel sandbox; /* --sandbox, default on */
    char *user;               /* --user: the account root switches to, or NULL */
    char **sandbox_allow;     /* --sandbox-allow: extra read-write paths, or NULL */
    VsndStreamConfig *stream; /* streams entries */
} VsndConfig;

/*
 * vsnd_options_parse() - parse and validate the command line.
 * Return: a config, or NULL with @error naming the offending option.
 * *ret_exit is set when the run is over already (--help, --version):
 * the caller exits with status 0.
 */
VsndConfig *vsnd_options_parse(int *argc, char ***argv, gboolean *ret_exit, GError **error);
void vsnd_config_free(VsndConfig *cfg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VsndConfig, vsnd_config_free)

#endif /* VSND_OPTIONS_H */
