/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "log.h"

void vsnd_log_init(gboolean verbose)
{
    if (verbose)
        g_log_set_debug_enabled(TRUE);
}
