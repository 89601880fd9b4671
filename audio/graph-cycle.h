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
 * A guest period longer than the graph's quantum makes minreq longer
 * too, and pipewire-pulse then asks only every k cycles, for k quanta
 * (measured: 12288 bytes every 64 ms for 50 ms periods at quantum 1024).
 * The requests cannot tell k quanta from one large one; the server's read
 * index can: it moves by whole quanta, one per cycle, and libpulse's
 * timing updates (at 10, 20, 40, ... ms, then every 1.5 s) catch it after
 * 1, 2, 4, 7, 15, 30 quanta (measured).  The quantum is the greatest
 * common divisor of the recent moves, used where it divides the requests.
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
    /* the server's read index as timing updates report it */
    uint64_t moves[VSND_GRAPH_CYCLE_HISTORY]; /* the last moves, in bytes */
    unsigned int n_moves;
    int64_t read_index;
    bool have_read_index;
    uint64_t quantum;        /* their greatest common divisor (0: none, or too small) */
} VsndGraphCycle;

void vsnd_graph_cycle_reset(VsndGraphCycle *c);

/* A request for @bytes seen at @now_us; @bytes_per_s: the stream's rate. */
void vsnd_graph_cycle_request(VsndGraphCycle *c, uint64_t bytes, uint64_t bytes_per_s,
                              int64_t now_us);

/* The server's read index from a timing update.  Moves that leave a
 * common divisor below @min_bytes (a resampled stream reads frames, not
 * quanta) leave the quantum unknown. */
void vsnd_graph_cycle_read_index(VsndGraphCycle *c, int64_t read_index, uint64_t min_bytes);

/* A graph cycle's bytes: the quantum where it divides the requests,
 * else the least request (0: none yet). */
uint64_t vsnd_graph_cycle_quantum(const VsndGraphCycle *c);

/*
 * What is left at @now_us of the graph cycle that began with the latest
 * request, in microseconds: negative once it is over, while the next
 * request has not been seen (the cycles between requests, and the next
 * request's own).  Return: false when no cycle is known, or the next
 * request is more than a request's cycles late (the graph stopped).
 */
bool vsnd_graph_cycle_left(const VsndGraphCycle *c, uint64_t bytes_per_s, int64_t now_us,
                           int64_t *ret_left_us);

#endif /* VSND_AUDIO_GRAPH_CYCLE_H */
