/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * log.h - logging set-up.
 *
 * Everything logs through GLib's structured logging with a per-module
 * G_LOG_DOMAIN; mistakes of the guest or front-end go through guest-log.h.
 */
#ifndef VSND_LOG_H
#define VSND_LOG_H

#include <glib.h>

/* Main thread, once: debug messages on when @verbose. */
void vsnd_log_init(gboolean verbose);

#endif /* VSND_LOG_H */
