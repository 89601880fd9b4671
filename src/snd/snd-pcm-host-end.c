/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-pcm-host-end.c - the host end of a stream: the table of its states
 * and events, the one writer, the jack derived from it.
 *
 * The guest's stream (snd-pcm-state.c) and its host stream are two
 * machines: the guest decides when a stream opens and runs, the host
 * decides whether it is there.  Host loss is no guest state (the guest's
 * stream keeps running on the software clock), so it lives here, beside
 * whether the driver was started, which decides whether a stop is owed.
 * Six states rather than four because two pairs differ in what is owed:
 * LOST_STARTED still owes the driver a stop (STOP and a queue stop call
 * it, error(0) needs no new start); MISSING is a restored open stream
 * whose host stream could not be opened (no stream to close or start, a
 * PREPARE tries the open again).
 *
 * The jack (vsnd_pcm_connected()) follows the events, not the states: an
 * open stream says connected, a failed open says what the driver says
 * (vsnd_audio_is_connected()), loss says disconnected, error(0) connected;
 * a close leaves it as it was; power-on takes the driver's word without
 * an event (there is no guest to tell yet, or it is being reset).
 *
 * A driver may report an error while vsnd_audio_open() is still running
 * (its events find their stream from the start): then the stream is
 * still CLOSED or MISSING; the jack follows and the open's outcome
 * decides the state.
 */
#include "config.h"

#include <errno.h>

#define G_LOG_DOMAIN "vsnd-snd"
#include <glib.h>

#include "snd/snd-pcm-host-end.h"
#include "snd/snd-pcm-state.h"

G_STATIC_ASSERT(HOST_END_CLOSED == 0); /* a new stream, zeroed, has none */

#define R (-1)
#define CL HOST_END_CLOSED
#define OP HOST_END_OPEN
#define ST HOST_END_STARTED
#define LO HOST_END_LOST
#define LS HOST_END_LOST_STARTED
#define MI HOST_END_MISSING
/* Next state, or R (refused: a programming error).  One column per event,
 * in SndHostEndEvent's order. */
G_STATIC_ASSERT(HOST_EV_RESTORE_FAILED == 9 && HOST_EV_COUNT == 10);
static const int8_t transitions[HOST_END_COUNT][HOST_EV_COUNT] = {
    /*    opened, open failed, started, start failed, stopped,
     *    lost, back, closed, reset, restore failed */
    [CL] = { OP, CL, R, R, R, CL, CL, CL, CL, MI }, /* lost, back: during the open */
    [OP] = { R, R, ST, OP, R, LO, OP, CL, R, R },
    [ST] = { R, R, R, R, OP, LS, ST, CL, R, R },
    [LO] = { R, R, R, R, R, LO, OP, CL, R, R },
    [LS] = { R, R, R, R, LO, LS, ST, CL, R, R },
    [MI] = { OP, MI, R, R, R, MI, MI, CL, R, R }, /* lost, back: during the open */
};
#undef R
#undef CL
#undef OP
#undef ST
#undef LO
#undef LS
#undef MI

static const struct {
    const char *name;
    bool lost;    /* data goes nowhere: the software clock runs */
    bool started; /* a stop is owed to the driver */
} states[HOST_END_COUNT] = {
    [HOST_END_CLOSED] = { "closed", false, false },
    [HOST_END_OPEN] = { "open", false, false },
    [HOST_END_STARTED] = { "started", false, true },
    [HOST_END_LOST] = { "lost", true, false },
    [HOST_END_LOST_STARTED] = { "lost while started", true, true },
    [HOST_END_MISSING] = { "missing since a restore", true, false },
};

/* What an event does to the jack. */
typedef enum {
    JACK_KEEP,
    JACK_ON,
    JACK_OFF,
    JACK_DRIVER,        /* vsnd_audio_is_connected(), the device told */
    JACK_DRIVER_SILENT, /* the same, the device not told */
} JackRule;

static const struct {
    const char *name;
    JackRule jack;
} events[HOST_EV_COUNT] = {
    [HOST_EV_OPENED] = { "opened", JACK_ON },
    [HOST_EV_OPEN_FAILED] = { "open failed", JACK_DRIVER },
    [HOST_EV_STARTED] = { "started", JACK_KEEP },
    [HOST_EV_START_FAILED] = { "start failed", JACK_KEEP },
    [HOST_EV_STOPPED] = { "stopped", JACK_KEEP },
    [HOST_EV_LOST] = { "lost", JACK_OFF },
    [HOST_EV_BACK] = { "back", JACK_ON },
    [HOST_EV_CLOSED] = { "closed", JACK_KEEP },
    [HOST_EV_RESET] = { "reset", JACK_DRIVER_SILENT },
    [HOST_EV_RESTORE_FAILED] = { "restore failed", JACK_OFF },
};

bool vsnd_host_end_next(unsigned int from, unsigned int ev, SndHostEndState *ret_to)
{
    int to = vsnd_table_next(&transitions[0][0], HOST_END_COUNT, HOST_EV_COUNT, from, ev);

    if (to < 0) {
        return false;
    }
    if (ret_to) {
        *ret_to = (SndHostEndState)to;
    }
    return true;
}

const char *vsnd_host_end_state_name(unsigned int s)
{
    return s < HOST_END_COUNT ? states[s].name : "invalid";
}

const char *vsnd_host_end_event_name(unsigned int ev)
{
    return ev < HOST_EV_COUNT ? events[ev].name : "invalid";
}

bool vsnd_host_end_event(SndPcmStream *st, unsigned int ev)
{
    /* The one place the const host end is written. */
    SndHostEnd *he = (SndHostEnd *)&st->host_end;
    SndHostEndState to;
    bool jack;

    if (!vsnd_host_end_next(he->state, ev, &to)) {
        g_critical("stream %u: host end %s: event %s refused (programming error)", st->id,
                   vsnd_host_end_state_name(he->state), vsnd_host_end_event_name(ev));
        return false;
    }
    he->state = to;
    switch (events[ev].jack) {
    case JACK_ON:
        jack = true;
        break;
    case JACK_OFF:
        jack = false;
        break;
    case JACK_DRIVER:
    case JACK_DRIVER_SILENT:
        jack = vsnd_audio_is_connected(st->pcm->audio, st->dir, st->target);
        break;
    default:
        return true;
    }
    if (jack != he->connected) {
        he->connected = jack;
        if (events[ev].jack != JACK_DRIVER_SILENT) {
            st->pcm->host->connected(st->pcm->opaque, st->id, jack);
        }
    }
    return true;
}

bool vsnd_host_end_lost(const SndPcmStream *st)
{
    return states[st->host_end.state].lost;
}

bool vsnd_host_end_started(const SndPcmStream *st)
{
    return states[st->host_end.state].started;
}

int vsnd_host_end_start(SndPcmStream *st)
{
    int r = vsnd_audio_start(st->pcm->audio, st->host->s);

    vsnd_host_end_event(st, r == 0 || r == -ENOTSUP ? HOST_EV_STARTED : HOST_EV_START_FAILED);
    return r;
}

int vsnd_host_end_stop(SndPcmStream *st)
{
    int r;

    if (!vsnd_host_end_started(st)) {
        return 0;
    }
    r = vsnd_audio_stop(st->pcm->audio, st->host->s);
    vsnd_host_end_event(st, HOST_EV_STOPPED);
    return r;
}
