/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * log.h - logging set-up and the rate-limited channel for guest mistakes.
 *
 * Everything logs through GLib's structured logging with a per-module
 * G_LOG_DOMAIN.  Mistakes of the guest or the front-end go through
 * vsnd_guest_error(), log domain "vsnd-guest", limited to a burst of
 * VSND_GUEST_LOG_BURST messages per VSND_GUEST_LOG_INTERVAL_US, so a hostile
 * guest cannot flood the journal.
 */
#ifndef VSND_LOG_H
#define VSND_LOG_H

#include <glib.h>

#define VSND_GUEST_LOG_BURST 10
#define VSND_GUEST_LOG_INTERVAL_US (5 * G_USEC_PER_SEC)

/* Main thread, once: debug messages on when @verbose. */
void vsnd_log_init(gboolean verbose);

void vsnd_guest_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

#endif /* VSND_LOG_H */
