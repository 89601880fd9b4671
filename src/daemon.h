/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon.h - where front-ends come from: a listening socket we create
 * (--socket-path), or an inherited one (--fd), listening or connected.
 * One front-end is served at a time; the next is accepted when it leaves.
 */
#ifndef VSND_DAEMON_H
#define VSND_DAEMON_H

#include "audio/registry.h"
#include "options.h"

typedef struct VsndDaemon VsndDaemon;

/* Creates or adopts the socket.  Return: NULL with @error set on failure. */
VsndDaemon *vsnd_daemon_new(const VsndConfig *cfg, VsndAudio *audio, GMainLoop *loop,
                            GError **error);
/* Closes everything and removes the socket file we created. */
void vsnd_daemon_free(VsndDaemon *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VsndDaemon, vsnd_daemon_free)

#endif /* VSND_DAEMON_H */
