/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdarg.h>

#include "log.h"

void vsnd_log_init(gboolean verbose)
{
    if (verbose)
        g_log_set_debug_enabled(TRUE);
}

void vsnd_guest_error(const char *fmt, ...)
{
    /* A token bucket would be finer; a window is enough to stop a flood. */
    static gint64 window_start;
    static unsigned int in_window, suppressed;
    gint64 now = g_get_monotonic_time();
    g_autofree char *msg = NULL;
    va_list ap;

    if (now - window_start >= VSND_GUEST_LOG_INTERVAL_US) {
        if (suppressed)
            g_log("vsnd-guest", G_LOG_LEVEL_WARNING, "%u guest error messages suppressed", suppressed);
        window_start = now;
        in_window = 0;
        suppressed = 0;
    }
    if (in_window >= VSND_GUEST_LOG_BURST) {
        suppressed++;
        return;
    }
    in_window++;
    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_log("vsnd-guest", G_LOG_LEVEL_WARNING, "%s", msg);
}
