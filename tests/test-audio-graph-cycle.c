/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-audio-graph-cycle.c - audio/graph-cycle.[ch]: a graph's cycles as
 * a pipewire-pulse client sees them, from requests that come late, two
 * at once, or from a graph that restarted.  Times are made up: a cycle
 * of 1024 frames at 48 kHz, S16 stereo (4096 bytes, 21333 us), as the
 * test graph runs (tests/audio/pw-test.conf).
 */
#include "config.h"

#include <glib.h>

#include "audio/graph-cycle.h"

#define RATE_BYTES (48000 * 4)
#define Q_BYTES 4096
#define Q_US 21333
#define T0 1000000000

/* The truth: cycle @k starts at start(k). */
static int64_t start(int k)
{
    return T0 + (int64_t)k * Q_US;
}

/* What is left at @now is @truth, or up to @err later: the phase the
 * requests give is never before a cycle's start, at most as late as they
 * came. */
static void assert_left(const VsndGraphCycle *c, int64_t now, int64_t truth, int64_t err)
{
    int64_t left = 0;

    g_assert_true(vsnd_graph_cycle_left(c, RATE_BYTES, now, &left));
    g_assert_cmpint(left, >=, truth);
    g_assert_cmpint(left, <=, truth + err);
}

/* Requests 300 us after each cycle's start: what is left of a cycle is
 * known to within that. */
static void test_steady(void)
{
    VsndGraphCycle c;
    int64_t left;

    vsnd_graph_cycle_reset(&c);
    g_assert_false(vsnd_graph_cycle_left(&c, RATE_BYTES, T0, &left));
    for (int k = 0; k < 50; k++) {
        vsnd_graph_cycle_request(&c, Q_BYTES, RATE_BYTES, start(k) + 300);
        g_assert_cmpuint(c.bytes, ==, Q_BYTES);
        assert_left(&c, start(k) + 5000, Q_US - 5000, 300);
    }
}

/* A request seen 15 ms late (the client's thread busy) still belongs to
 * its cycle, and does not move the phase; the later ones are right. */
static void test_late_request(void)
{
    VsndGraphCycle c;

    vsnd_graph_cycle_reset(&c);
    for (int k = 0; k < 10; k++)
        vsnd_graph_cycle_request(&c, Q_BYTES, RATE_BYTES, start(k) + 200);
    vsnd_graph_cycle_request(&c, Q_BYTES, RATE_BYTES, start(10) + 15000);
    /* what is left of cycle 10 when the request is seen */
    assert_left(&c, start(10) + 15000, Q_US - 15000, 200);
    vsnd_graph_cycle_request(&c, Q_BYTES, RATE_BYTES, start(11) + 200);
    assert_left(&c, start(11) + 1000, Q_US - 1000, 200);
}

/* Until the next cycle's request is seen, what is left goes negative (the
 * server read that cycle's quantum already), by at most a cycle; later
 * the graph counts as stopped. */
static void test_next_request_pending(void)
{
    VsndGraphCycle c;
    int64_t left;

    vsnd_graph_cycle_reset(&c);
    for (int k = 0; k < 5; k++)
        vsnd_graph_cycle_request(&c, Q_BYTES, RATE_BYTES, start(k) + 100);
    assert_left(&c, start(5) + 3000, -3000, 100);
    g_assert_false(vsnd_graph_cycle_left(&c, RATE_BYTES, start(6) + 1000, &left));
}

/* Two cycles' requests seen as one: the cycle's size stays a quantum. */
static void test_two_at_once(void)
{
    VsndGraphCycle c;

    vsnd_graph_cycle_reset(&c);
    for (int k = 0; k < 4; k++)
        vsnd_graph_cycle_request(&c, Q_BYTES, RATE_BYTES, start(k) + 100);
    vsnd_graph_cycle_request(&c, 2 * Q_BYTES, RATE_BYTES, start(5) + 100);
    g_assert_cmpuint(c.bytes, ==, Q_BYTES);
    assert_left(&c, start(5) + 2000, Q_US - 2000, 100);
    /* a larger quantum for good (the graph changed it): taken once the
     * smaller ones are out of the history */
    for (int k = 6; k < 6 + VSND_GRAPH_CYCLE_HISTORY; k++)
        vsnd_graph_cycle_request(&c, 2 * Q_BYTES, RATE_BYTES, start(2 * k) + 100);
    g_assert_cmpuint(c.bytes, ==, 2 * Q_BYTES);
}

/* The graph restarted half a cycle off the old phase: one request there
 * does not move the phase (it reads as one seen late), three in a row do. */
static void test_restart(void)
{
    VsndGraphCycle c;
    const int64_t shift = Q_US * 6 / 10;

    vsnd_graph_cycle_reset(&c);
    for (int k = 0; k < 5; k++)
        vsnd_graph_cycle_request(&c, Q_BYTES, RATE_BYTES, start(k) + 100);
    vsnd_graph_cycle_request(&c, Q_BYTES, RATE_BYTES, start(5) + shift);
    /* read as a request seen late: its cycle is the old phase's */
    assert_left(&c, start(5) + shift + 1000, Q_US - shift - 1000, 100);
    for (int k = 6; k < 8; k++)
        vsnd_graph_cycle_request(&c, Q_BYTES, RATE_BYTES, start(k) + shift);
    /* the graph's cycles now start at start(k) + shift */
    assert_left(&c, start(7) + shift + 1000, Q_US - 1000, 100);
    vsnd_graph_cycle_request(&c, Q_BYTES, RATE_BYTES, start(8) + shift + 100);
    assert_left(&c, start(8) + shift + 1000, Q_US - 1000, 100);
}

/* Requests that come a little early for the phase (it was pulled late by
 * slow ones) set it earlier at once. */
static void test_early_request(void)
{
    VsndGraphCycle c;

    vsnd_graph_cycle_reset(&c);
    for (int k = 0; k < 5; k++)
        vsnd_graph_cycle_request(&c, Q_BYTES, RATE_BYTES, start(k) + 3000);
    vsnd_graph_cycle_request(&c, Q_BYTES, RATE_BYTES, start(5) + 100);
    assert_left(&c, start(5) + 1000, Q_US - 1000, 100);
}

/*
 * Periods of three quanta: pipewire-pulse asks every third cycle, for
 * three quanta (measured: 12288 bytes every 64 ms at quantum 1024).  The
 * read index, in libpulse's timing updates, moved by 1, 2, 4, 7 and 15
 * quanta (measured): the quantum is their common divisor, and what is
 * left counts down from the end of the cycle the request began, into the
 * two cycles that follow without a request.
 */
static void test_quantum_from_read_index(void)
{
    static const int moves[] = {1, 2, 4, 7, 15};
    VsndGraphCycle c;
    int64_t ri = 0, left;

    vsnd_graph_cycle_reset(&c);
    for (int k = 0; k < 8; k++)
        vsnd_graph_cycle_request(&c, 3 * Q_BYTES, RATE_BYTES, start(3 * k) + 300);
    /* the requests alone: one cycle of three quanta */
    g_assert_cmpuint(vsnd_graph_cycle_quantum(&c), ==, 3 * Q_BYTES);
    assert_left(&c, start(21) + 5000, 3 * Q_US - 5000, 301); /* Q_US is rounded down */
    vsnd_graph_cycle_read_index(&c, ri, 32 * 4);
    g_assert_cmpuint(vsnd_graph_cycle_quantum(&c), ==, 3 * Q_BYTES);
    for (size_t i = 0; i < G_N_ELEMENTS(moves); i++) {
        ri += (int64_t)moves[i] * Q_BYTES;
        vsnd_graph_cycle_read_index(&c, ri, 32 * 4);
        g_assert_cmpuint(c.quantum, ==, Q_BYTES);
    }
    g_assert_cmpuint(vsnd_graph_cycle_quantum(&c), ==, Q_BYTES);
    vsnd_graph_cycle_request(&c, 3 * Q_BYTES, RATE_BYTES, start(24) + 300);
    assert_left(&c, start(24) + 5000, Q_US - 5000, 300);
    assert_left(&c, start(25) + 5000, -5000, 300);
    assert_left(&c, start(26) + 5000, -Q_US - 5000, 300);
    /* the next request late by up to its three cycles still counts; past
     * that the graph stopped */
    assert_left(&c, start(29) + 5000, -4 * Q_US - 5000, 300);
    g_assert_false(vsnd_graph_cycle_left(&c, RATE_BYTES, start(30) + 1000, &left));
}

/* A moved read index that says nothing of quanta: a stream resampled to
 * the graph's rate reads frames (moves 3760 and 3764 bytes: a divisor of
 * 4), or a quantum that does not divide the requests.  The requests'
 * cycle stands then. */
static void test_quantum_unknown(void)
{
    VsndGraphCycle c;

    vsnd_graph_cycle_reset(&c);
    for (int k = 0; k < 4; k++)
        vsnd_graph_cycle_request(&c, 3 * Q_BYTES, RATE_BYTES, start(3 * k) + 300);
    vsnd_graph_cycle_read_index(&c, 1000, 32 * 4);
    vsnd_graph_cycle_read_index(&c, 1000 + 3760, 32 * 4);
    vsnd_graph_cycle_read_index(&c, 1000 + 3760 + 3764, 32 * 4);
    g_assert_cmpuint(c.quantum, ==, 0);
    g_assert_cmpuint(vsnd_graph_cycle_quantum(&c), ==, 3 * Q_BYTES);

    vsnd_graph_cycle_reset(&c);
    for (int k = 0; k < 4; k++)
        vsnd_graph_cycle_request(&c, 3 * Q_BYTES, RATE_BYTES, start(3 * k) + 300);
    vsnd_graph_cycle_read_index(&c, 0, 32 * 4);
    vsnd_graph_cycle_read_index(&c, 2 * Q_BYTES, 32 * 4);
    g_assert_cmpuint(c.quantum, ==, 2 * Q_BYTES);
    g_assert_cmpuint(vsnd_graph_cycle_quantum(&c), ==, 3 * Q_BYTES);
    /* a flushed stream's read index goes back: its moves count anew */
    vsnd_graph_cycle_read_index(&c, Q_BYTES, 32 * 4);
    g_assert_cmpuint(c.quantum, ==, 0);
    vsnd_graph_cycle_read_index(&c, 2 * Q_BYTES, 32 * 4);
    g_assert_cmpuint(vsnd_graph_cycle_quantum(&c), ==, Q_BYTES);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/audio/graph-cycle/steady", test_steady);
    g_test_add_func("/audio/graph-cycle/late-request", test_late_request);
    g_test_add_func("/audio/graph-cycle/next-request-pending", test_next_request_pending);
    g_test_add_func("/audio/graph-cycle/two-at-once", test_two_at_once);
    g_test_add_func("/audio/graph-cycle/restart", test_restart);
    g_test_add_func("/audio/graph-cycle/early-request", test_early_request);
    g_test_add_func("/audio/graph-cycle/quantum-from-read-index", test_quantum_from_read_index);
    g_test_add_func("/audio/graph-cycle/quantum-unknown", test_quantum_unknown);
    return g_test_run();
}
