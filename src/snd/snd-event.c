/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-event.c - bounded FIFO of pending events (see snd-event.h).
 */
#include "config.h"

#define G_LOG_DOMAIN "vsnd-snd"
#include <glib.h>

#include "snd/snd-event.h"

struct SndEventQueue {
    struct virtio_snd_event ev[SND_EVENT_QUEUE_MAX];
    unsigned int head;
    unsigned int len;
};

SndEventQueue *vsnd_event_queue_new(void)
{
    return g_new0(SndEventQueue, 1);
}

void vsnd_event_queue_free(SndEventQueue *q)
{
    g_free(q);
}

bool vsnd_event_queue_push(SndEventQueue *q, const struct virtio_snd_event *ev)
{
    bool dropped = false;

    if (q->len == SND_EVENT_QUEUE_MAX) {
        vsnd_event_queue_pop(q);
        dropped = true;
        g_debug("event queue full: oldest event dropped");
    }
    q->ev[(q->head + q->len) % SND_EVENT_QUEUE_MAX] = *ev;
    q->len++;
    return !dropped;
}

bool vsnd_event_queue_peek(const SndEventQueue *q, struct virtio_snd_event *ret_ev)
{
    if (!q->len) {
        return false;
    }
    *ret_ev = q->ev[q->head];
    return true;
}

bool vsnd_event_queue_nth(const SndEventQueue *q, unsigned int i, struct virtio_snd_event *ret_ev)
{
    if (i >= q->len) {
        return false;
    }
    *ret_ev = q->ev[(q->head + i) % SND_EVENT_QUEUE_MAX];
    return true;
}

void vsnd_event_queue_pop(SndEventQueue *q)
{
    if (q->len) {
        q->head = (q->head + 1) % SND_EVENT_QUEUE_MAX;
        q->len--;
    }
}

unsigned int vsnd_event_queue_length(const SndEventQueue *q)
{
    return q->len;
}

void vsnd_event_queue_clear(SndEventQueue *q)
{
    q->head = 0;
    q->len = 0;
}

void vsnd_event_make(struct virtio_snd_event *ev, uint32_t code, uint32_t data)
{
    ev->hdr.code = GUINT32_TO_LE(code);
    ev->data = GUINT32_TO_LE(data);
}
