/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * event-relay.h - carry a stream's ready()/error() events to the main thread.
 *
 * Drivers with their own threads (pw_thread_loop, pa_threaded_mainloop,
 * PipeWire's realtime data thread) post events from those threads; the
 * relay delivers them on the default main context.  ready() posts
 * coalesce into one call; errors are delivered in order, before a pending
 * ready().  Posting is realtime-safe: no allocation, no main-context
 * lock (ready() is an atomic flag and an eventfd write).
 *
 * Lifetime: the stream owns the relay and calls vsnd_event_relay_close()
 * on the main thread when it closes.  After that no callback runs, even
 * one already scheduled: the relay is reference counted and a scheduled
 * delivery only drops its reference.  Posting is safe from any thread at
 * any time before close; posting after close is ignored.
 *
 * Compiled into each module that needs it (modules carry no daemon
 * symbols), hence the small size.
 */
#ifndef VSND_AUDIO_EVENT_RELAY_H
#define VSND_AUDIO_EVENT_RELAY_H

#include "audio.h"

G_BEGIN_DECLS

typedef struct VsndEventRelay VsndEventRelay;

/* Main thread.  @events is borrowed and must outlive the relay's use. */
VsndEventRelay *vsnd_event_relay_new(const VsndAudioStreamEvents *events, void *opaque);
/* Any thread. */
void vsnd_event_relay_post_ready(VsndEventRelay *r);
void vsnd_event_relay_post_error(VsndEventRelay *r, int err);
/* Main thread: forget a ready() posted but not yet delivered (a drain
 * starting must not be answered by an older "room available"). */
void vsnd_event_relay_cancel_ready(VsndEventRelay *r);
/* Main thread: no callback runs after this returns; frees when unused. */
void vsnd_event_relay_close(VsndEventRelay *r);

G_END_DECLS

#endif /* VSND_AUDIO_EVENT_RELAY_H */
