/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vu-glib.h - attach the vhost-user core to GLib's default main context.
 */
#ifndef VU_GLIB_H
#define VU_GLIB_H

#include <glib.h>

#include "vu-dev.h"

/*
 * vu_glib_loop_ops() - VuLoopOps running watches as GSources on the
 * default GMainContext (the @loop argument of vu_dev_new() is unused).
 * Return: a static table.
 */
const VuLoopOps *vu_glib_loop_ops(void);

typedef void (*VuGlibClosedCb)(VuDev *dev, void *data);

/*
 * vu_glib_watch_socket() - call vu_dev_dispatch() whenever the socket of
 * @dev is readable.  When dispatch says the connection must go, the watch
 * is removed and @closed is called (it may vu_dev_free() @dev).
 * Return: the GSource id (g_source_remove() it to stop watching early).
 * Context: main thread.
 */
guint vu_glib_watch_socket(VuDev *dev, VuGlibClosedCb closed, void *data);

#endif /* VU_GLIB_H */
