/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * graph-cycle.h - a PipeWire graph's cycles as a PulseAudio client of
 * pipewire-pulse sees them.
 *
 * pipewire-pulse reads one quantum from a playback stream's buffer at the
 * start of each graph cycle and then asks the client for as much again (a
 * request).  The requests say how large a cycle is and, by when they
 * come, when cycles begin: what the pulse driver needs for its latency
 * there (audio/pulse.c, graph_latency()), since pipewire-pulse's own
 * timing reports leave the graph out.
 *
 * A request may be seen late (the client's thread busy) or two at once:
 * the cycle's size is the least of the recent requests, and the cycles'
 * phase is set by the earliest arrivals (a late one cannot be early), with
 * a slow pull towards later arrivals so a phase that moves (a sink's clock
 * drifting) is followed; three arrivals in a row far off it (the graph
 * restarted) set it anew.
 *
 * Compiled into the pulse module; plain data, no locking (the caller's).
 */
#ifndef VSND_AUDIO_GRAPH_CYCLE_H
#define VSND_AUDIO_GRAPH_CYCLE_H

#include <stdbool.h>
#include <stdint.h>

#define VSND_GRAPH_CYCLE_HISTORY 8

typedef struct VsndGraphCycle {
    uint64_t recent[VSND_GRAPH_CYCLE_HISTORY]; /* the last requests' sizes */
    unsigned int n;
    uint64_t bytes;          /* a cycle: the least of them (0: none yet) */
    int64_t phase_us;        /* a cycle's start, CLOCK_MONOTONIC */
    int64_t last_start_us;   /* the start of the cycle the latest request was for */
    unsigned int far;        /* requests in a row half a cycle or more off the phase */
} VsndGraphCycle;

void vsnd_graph_cycle_reset(VsndGraphCycle *c);

/* A request for @bytes seen at @now_us; @bytes_per_s: the stream's rate. */
void vsnd_graph_cycle_request(VsndGraphCycle *c, uint64_t bytes, uint64_t bytes_per_s,
                              int64_t now_us);

/*
 * What is left at @now_us of the cycle the latest request was for, in
 * microseconds: negative while the next cycle's request has not been
 * seen (down to minus one cycle).  Return: false when no cycle is known,
 * or the latest is more than a cycle past (the graph stopped).
 */
bool vsnd_graph_cycle_left(const VsndGraphCycle *c, uint64_t bytes_per_s, int64_t now_us,
                           int64_t *ret_left_us);

#endif /* VSND_AUDIO_GRAPH_CYCLE_H */
