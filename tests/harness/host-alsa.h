/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * host-alsa.h - the host's ALSA for the daemon under test, as a user
 * without a sound server has it.
 *
 * The daemon inherits the test's environment (daemon.h), so ha_new()
 * changes the test's own: HOME becomes a private directory holding a
 * ~/.asoundrc, which the system's alsa.conf loads as for any user (so
 * "null" is the stock null PCM).  It defines "tofile", a `file` PCM over
 * `null` that writes out.raw (no clock; the bytes exactly as the client
 * wrote them, in its format; truncated at every open), "fromfile", which
 * records the bytes of in.raw (past its end it repeats stale data, so
 * never record more than it holds), and makes "default" "tofile".  Every
 * place PipeWire or PulseAudio would be found (XDG_RUNTIME_DIR,
 * PULSE_SERVER, PIPEWIRE_RUNTIME_DIR, PIPEWIRE_REMOTE) points at an empty
 * directory, so --driver=auto can find nothing but ALSA.  ha_free() puts
 * the environment back and removes the directory.
 */
#ifndef VSND_TESTS_HARNESS_HOST_ALSA_H
#define VSND_TESTS_HARNESS_HOST_ALSA_H

#include <glib.h>

typedef struct HostAlsa HostAlsa;

HostAlsa *ha_new(void);
void ha_free(HostAlsa *ha);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HostAlsa, ha_free)

/* @name in the private directory ("out.raw", "in.raw"), newly allocated. */
char *ha_path(const HostAlsa *ha, const char *name);

/* "--sandbox-allow=DIR" for the private directory: the file PCMs write and
 * read there, which a confined daemon may only do when told. */
char *ha_sandbox_allow(const HostAlsa *ha);

/*
 * out.raw once it holds at least @len bytes and has stopped growing for
 * 200 ms (the daemon closes its host stream, and the file PCM writes its
 * last data, only after RELEASE has drained it), or whatever it holds
 * after 5 s.  Return: its contents, or NULL if it does not exist.
 */
GBytes *ha_played(const HostAlsa *ha, gsize len);

#endif /* VSND_TESTS_HARNESS_HOST_ALSA_H */
