/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * guest-log.h - the one log channel for mistakes of the guest and the
 * front-end, shared by the vhost-user core and the sound device.
 *
 * Malformed requests and messages are logged in their own GLib log domain
 * ("vsnd-guest"), at message level (never fatal in tests), rate-limited so that a hostile guest
 * cannot flood the journal: a burst of VSND_GUEST_LOG_BURST messages per
 * VSND_GUEST_LOG_INTERVAL_S seconds, then one summary of what was dropped.
 * Main thread only.
 */
#ifndef VVSND_GUEST_LOG_H
#define VVSND_GUEST_LOG_H

#include <glib.h>

#define VSND_GUEST_LOG_DOMAIN "vsnd-guest"
#define VSND_GUEST_LOG_BURST 10u
#define VSND_GUEST_LOG_INTERVAL_S 5

/*
 * vsnd_guest_error() - log a guest mistake, rate-limited.
 * Context: main thread.
 */
void vsnd_guest_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* Messages suppressed so far by the rate limit (for tests). */
guint64 vsnd_guest_error_suppressed(void);

#endif /* VVSND_GUEST_LOG_H */
