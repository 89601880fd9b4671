/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-event.h - events waiting for an event-queue buffer (spec: Device
 * Operation, virtio_snd_event).
 *
 * The guest fills the event queue without kicking (Linux sound/virtio/
 * virtio_card.c, virtsnd_event_send()),
 * so the device pops a buffer only when it has an event.  Events wait here,
 * oldest first, while no buffer is available; the queue is bounded and the
 * oldest event is dropped when it is full.  Pure data structure.
 */
#ifndef VSND_SND_EVENT_H
#define VSND_SND_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#include "snd/snd-proto.h"

#define SND_EVENT_QUEUE_MAX 256u

typedef struct SndEventQueue SndEventQueue;

SndEventQueue *vsnd_event_queue_new(void);
void vsnd_event_queue_free(SndEventQueue *q);
/* Append an event (8 wire bytes); Return: false when the oldest was dropped. */
bool vsnd_event_queue_push(SndEventQueue *q, const struct virtio_snd_event *ev);
/* Oldest event, or false when empty. */
bool vsnd_event_queue_peek(const SndEventQueue *q, struct virtio_snd_event *ret_ev);
void vsnd_event_queue_pop(SndEventQueue *q);
unsigned int vsnd_event_queue_length(const SndEventQueue *q);
/* The @i-th pending event, oldest first (@i < length); false if none. */
bool vsnd_event_queue_nth(const SndEventQueue *q, unsigned int i, struct virtio_snd_event *ret_ev);
void vsnd_event_queue_clear(SndEventQueue *q);
/* Build the wire form of an event. */
void vsnd_event_make(struct virtio_snd_event *ev, uint32_t code, uint32_t data);

#endif /* VSND_SND_EVENT_H */
