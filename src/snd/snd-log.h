/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-log.h - the guest-mistake log channel of the sound device.
 *
 * Malformed requests from the guest are logged in their own GLib log domain
 * ("vsnd-guest"), at message level (never fatal in tests), rate-limited so that a hostile guest
 * cannot flood the journal: a burst of SND_GUEST_LOG_BURST messages per
 * SND_GUEST_LOG_INTERVAL_S seconds, then one summary of what was dropped.
 * Main thread only.
 */
#ifndef VSND_SND_LOG_H
#define VSND_SND_LOG_H

#include <glib.h>

#define SND_GUEST_LOG_DOMAIN "vsnd-guest"
#define SND_GUEST_LOG_BURST 10u
#define SND_GUEST_LOG_INTERVAL_S 5

/*
 * snd_guest_error() - log a guest mistake, rate-limited.
 * Context: main thread.
 */
void snd_guest_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* Messages suppressed so far by the rate limit (for tests). */
guint64 snd_guest_error_suppressed(void);

#endif /* VSND_SND_LOG_H */
