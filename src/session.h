/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * session.h - one front-end connection: the vhost-user core and the sound
 * device joined together and attached to the GLib main loop.
 *
 * The session owns the connected socket.  When the front-end goes away or
 * sends a malformed message, @closed is called from an idle callback; the
 * owner then frees the session, which resets the device and releases every
 * resource of the connection.
 */
#ifndef VSND_SESSION_H
#define VSND_SESSION_H

#include "audio/registry.h"
#include "options.h"

typedef struct VsndSession VsndSession;
typedef void (*VsndSessionClosed)(VsndSession *s, void *data);

VsndSession *vsnd_session_new(int fd, const VsndConfig *cfg, VsndAudio *audio,
                              VsndSessionClosed closed, void *data);
void vsnd_session_free(VsndSession *s);

#endif /* VSND_SESSION_H */
