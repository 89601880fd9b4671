/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-dev.h - the virtio-snd device as seen by the session glue.
 *
 * One SndDev per front-end connection.  It implements VuDevIface (config
 * space, the four queues, reset, device-state transfer) on top of the
 * vhost-user core and drives the host audio through a VsndAudio that
 * outlives the connection.  Main thread only.
 */
#ifndef SND_DEV_H
#define SND_DEV_H

#include "snd/snd-config.h"
#include "audio/registry.h"
#include "vu/vu-dev.h"

typedef struct SndDev SndDev;

/* Borrowed @cfg and @audio must outlive the device. */
SndDev *vsnd_dev_new(const VsndDeviceConfig *cfg, VsndAudio *audio);
void vsnd_dev_free(SndDev *snd);
/* The VuDevIface to pass to vu_dev_new() with the SndDev as opaque. */
const VuDevIface *vsnd_dev_vu_iface(void);
/* Called once, right after vu_dev_new(). */
void vsnd_dev_attach(SndDev *snd, VuDev *dev);

#endif /* SND_DEV_H */
