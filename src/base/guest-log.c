/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * guest-log.c - rate-limited log channel for guest mistakes (see guest-log.h).
 */
#include "config.h"

#include <stdarg.h>

#include "guest-log.h"

static gint64 window_start_us;
static guint window_count;
static guint64 window_dropped;
static guint64 total_dropped;

void vsnd_guest_error(const char *fmt, ...)
{
    gint64 now = g_get_monotonic_time();
    va_list ap;

    if (window_start_us == 0 || now - window_start_us >= VSND_GUEST_LOG_INTERVAL_S * G_USEC_PER_SEC) {
        if (window_dropped) {
            g_log(VSND_GUEST_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE,
                  "%" G_GUINT64_FORMAT " more guest errors suppressed", window_dropped);
        }
        window_start_us = now;
        window_count = 0;
        window_dropped = 0;
    }
    if (window_count >= VSND_GUEST_LOG_BURST) {
        window_dropped++;
        total_dropped++;
        return;
    }
    window_count++;
    va_start(ap, fmt);
    g_logv(VSND_GUEST_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, fmt, ap);
    va_end(ap);
}

guint64 vsnd_guest_error_suppressed(void)
{
    return total_dropped;
}
