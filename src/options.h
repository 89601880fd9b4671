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
#include "sandbox.h"
#include "snd/snd-config.h"

typedef struct VsndConfig {
    char *socket_path;        /* --socket-path, or NULL */
    int fd;                   /* --fd, or -1 */
    gboolean print_capabilities;
    char *driver;             /* --driver spec, default "auto" */
    gboolean verbose;
    VsndSandboxLevel sandbox; /* --sandbox, default on */
    char *user;               /* --user: the account root switches to, or NULL */
    char **sandbox_allow;     /* --sandbox-allow: extra read-write paths, or NULL */
    VsndDeviceConfig device;  /* what the sound device gets */
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
