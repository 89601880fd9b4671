/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * graph-cycle.c - see graph-cycle.h.
 */
#include "config.h"

#include <string.h>

#include "graph-cycle.h"

/* How far a later arrival pulls the phase: 1/16 of the way. */
#define PHASE_PULL 16

static int64_t cycle_us(uint64_t bytes, uint64_t bytes_per_s)
{
    return bytes_per_s ? (int64_t)(bytes * 1000000 / bytes_per_s) : 0;
}

void vsnd_graph_cycle_reset(VsndGraphCycle *c)
{
    memset(c, 0, sizeof(*c));
}

void vsnd_graph_cycle_request(VsndGraphCycle *c, uint64_t bytes, uint64_t bytes_per_s,
                              int64_t now_us)
{
    unsigned int have;
    int64_t len;

    if (!bytes)
        return;
    c->recent[c->n++ % VSND_GRAPH_CYCLE_HISTORY] = bytes;
    have = c->n < VSND_GRAPH_CYCLE_HISTORY ? c->n : VSND_GRAPH_CYCLE_HISTORY;
    c->bytes = c->recent[0];
    for (unsigned int i = 1; i < have; i++)
        if (c->recent[i] < c->bytes)
            c->bytes = c->recent[i];
    len = cycle_us(c->bytes, bytes_per_s);
    if (len <= 0) {
        c->phase_us = c->last_start_us = now_us;
        return;
    }
    if (!c->phase_us || now_us < c->phase_us) {
        c->phase_us = now_us;
    } else {
        int64_t start = c->phase_us + (now_us - c->phase_us) / len * len;
        int64_t late = now_us - start;

        if (late <= len / 2) {
            /* late, as requests are: pulled a little that way */
            c->phase_us = start + late / PHASE_PULL;
            c->far = 0;
        } else if (late >= len - len / 4 || ++c->far >= 3) {
            /* early for the next cycle (by up to a quarter of one), or far
             * off three times running: the phase is here */
            c->phase_us = now_us;
            c->far = 0;
        }
        /* else once or twice half a cycle off: a request seen very late */
    }
    c->last_start_us = c->phase_us + (now_us - c->phase_us) / len * len;
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

void vsnd_graph_cycle_read_index(VsndGraphCycle *c, int64_t read_index, uint64_t min_bytes)
{
    unsigned int have;
    uint64_t g;
    int64_t move = read_index - c->read_index;

    if (!c->have_read_index || move < 0) {
        /* the first, or the stream was flushed: moves count from here */
        c->read_index = read_index;
        c->have_read_index = true;
        c->n_moves = 0;
        c->quantum = 0;
        return;
    }
    c->read_index = read_index;
    if (move == 0)
        return;
    c->moves[c->n_moves++ % VSND_GRAPH_CYCLE_HISTORY] = (uint64_t)move;
    have = c->n_moves < VSND_GRAPH_CYCLE_HISTORY ? c->n_moves : VSND_GRAPH_CYCLE_HISTORY;
    g = c->moves[0];
    for (unsigned int i = 1; i < have; i++)
        g = gcd(g, c->moves[i]);
    c->quantum = g >= min_bytes ? g : 0;
}

uint64_t vsnd_graph_cycle_quantum(const VsndGraphCycle *c)
{
    if (c->quantum && c->bytes && c->bytes % c->quantum == 0)
        return c->quantum;
    return c->bytes;
}

bool vsnd_graph_cycle_left(const VsndGraphCycle *c, uint64_t bytes_per_s, int64_t now_us,
                           int64_t *ret_left_us)
{
    int64_t len = cycle_us(c->bytes, bytes_per_s);
    int64_t q = cycle_us(vsnd_graph_cycle_quantum(c), bytes_per_s);

    if (len <= 0 || q <= 0 || !c->last_start_us)
        return false;
    /* the next request is due a request's cycles after the latest */
    if (now_us - c->last_start_us > 2 * len)
        return false;
    *ret_left_us = c->last_start_us + q - now_us;
    return true;
}
