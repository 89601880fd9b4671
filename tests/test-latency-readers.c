/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-latency-readers.c - the two readers a real guest's latency_bytes
 * is judged by (test-guest-desktop): the daemon's log of its completions
 * (tests/audio/latency-log.h) and the guest's ALSA status samples
 * (tests/guest/alsa-status.h), on text shaped as the daemon and Linux
 * write it.
 */
#include "config.h"

#include <glib.h>
#include <string.h>

#include "tests/audio/latency-log.h"
#include "tests/guest/alsa-status.h"

/* As the daemon logs with --verbose: its own lines, the pipewire driver's
 * latency line (which also says "stream 0"), another stream, capture. */
static const char daemon_log[] =
    "vhost-user-snd-DEBUG: control PCM_START (0x0104) -> 0x8000, 8 bytes\n"
    "vhost-user-snd-DEBUG: pipewire: stream 0 latency 9216 B: ring 3840 B, pw_time now 1 "
    "delay 0 x 1/48000 s queued 0 buffered 0, cycle left 100 ns\n"
    "vhost-user-snd-DEBUG: stream 0: tx completed at 1000 us: 3840 B, status 0x8000, "
    "latency_bytes 9216\n"
    "vhost-user-snd-DEBUG: stream 1: rx completed at 1500 us: 3840 B, status 0x8000, "
    "latency_bytes 100\n"
    "vhost-user-snd-DEBUG: stream 2: tx completed at 1700 us: 3840 B, status 0x8000, "
    "latency_bytes 5\n"
    "vhost-user-snd-DEBUG: stream 0: tx completed at 21000 us: 3840 B, status 0x8000, "
    "latency_bytes 8192\n";

static void test_log_completions(void)
{
    SgAlsaCompletion t[4];
    unsigned int n = ll_completions(daemon_log, 0, true, t, G_N_ELEMENTS(t));

    g_assert_cmpuint(n, ==, 2);
    g_assert_cmpint(t[0].t_us, ==, 1000);
    g_assert_cmpint(t[0].t_lo_us, ==, 1000);
    g_assert_cmpuint(t[0].latency_bytes, ==, 9216);
    g_assert_cmpuint(t[0].end_bytes, ==, 3840);
    g_assert_cmpint(t[1].t_us, ==, 21000);
    g_assert_cmpuint(t[1].latency_bytes, ==, 8192);
    g_assert_cmpuint(t[1].end_bytes, ==, 7680);
    /* capture of stream 1; more than fits is counted */
    n = ll_completions(daemon_log, 1, false, t, G_N_ELEMENTS(t));
    g_assert_cmpuint(n, ==, 1);
    g_assert_cmpuint(t[0].latency_bytes, ==, 100);
    g_assert_cmpuint(ll_completions(daemon_log, 0, true, t, 1), ==, 2);
    g_assert_cmpuint(ll_completions("", 0, true, t, 4), ==, 0);
}

static void test_log_pipewire_report(void)
{
    g_autofree char *r = ll_pipewire_report(daemon_log);
    g_autofree char *none = ll_pipewire_report("nothing\n");

    g_assert_nonnull(strstr(r, "over 1 completions"));
    g_assert_nonnull(strstr(r, "ring 3840..3840 B"));
    g_assert_nonnull(strstr(none, "nothing logged"));
}

/* One /proc/asound/card0/pcm0p/sub0/status sample as Linux prints it,
 * and hw_params' buffer_size (3840 frames). */
#define SAMPLE(state, delay, avail, hw, appl)                                                  \
    "@@status\nstate: " state "\nowner_pid   : 77\ntrigger_time: 12.5\ntstamp      : 12.6\n" \
    "delay       : " delay "\navail       : " avail "\navail_max   : 20\n-----\n"          \
    "hw_ptr      : " hw "\nappl_ptr    : " appl "\nbuffer_size: 3840\n"

static const SgAlsaCompletion trace[] = {
    {.t_us = 1, .t_lo_us = 1, .latency_bytes = 9216, .end_bytes = 3840},
    {.t_us = 2, .t_lo_us = 2, .latency_bytes = 8192, .end_bytes = 7680},
    {.t_us = 3, .t_lo_us = 3, .latency_bytes = 4096, .end_bytes = 11520},
};

static void test_status_agrees(void)
{
    /* hw 960 (3840 B): delay 5184 = (buffer 3840 - avail 960) + 9216 B / 4;
     * the appl_ptr printed may be later than the snapshot's: not used */
    const char dump[] = SAMPLE("PREPARED", "0", "0", "0", "1920")
                        SAMPLE("RUNNING", "2304", "1920", "0", "1920") /* no completion yet */
                        SAMPLE("RUNNING", "5184", "960", "960", "4800")
                        SAMPLE("DRAINING", "5888", "0", "1920", "5760")
                        "@@status\n";                                   /* cut short */
    GasDelays g;
    g_autofree char *bad = gas_check_delays(dump, trace, G_N_ELEMENTS(trace), 4, &g);

    g_assert_null(bad);
    g_assert_cmpuint(g.samples, ==, 5);
    g_assert_cmpuint(g.running, ==, 3);
    g_assert_cmpuint(g.judged, ==, 2);
    g_assert_cmpuint(g.agree, ==, 2);
    g_assert_cmpuint(g.next, ==, 0);
}

static void test_status_raced(void)
{
    /* hw_ptr printed at the second completion; the delay the first's (a
     * completion before the print) or the third's (inside the snapshot);
     * at the first, the third's (two completions in one interrupt, hw_ptr
     * not moved yet) */
    const char dump[] = SAMPLE("RUNNING", "5184", "960", "1920", "4800")
                        SAMPLE("RUNNING", "3904", "960", "1920", "4800")
                        SAMPLE("RUNNING", "3904", "960", "960", "4800");
    GasDelays g;
    g_autofree char *bad = gas_check_delays(dump, trace, G_N_ELEMENTS(trace), 4, &g);

    g_assert_null(bad);
    g_assert_cmpuint(g.agree, ==, 3);
    g_assert_cmpuint(g.next, ==, 3);
}

static void test_status_disagrees(void)
{
    /* the guest holds no latency at all: delay is buffer_size - avail only */
    const char dump[] = SAMPLE("RUNNING", "2880", "960", "960", "3840");
    GasDelays g;
    g_autofree char *bad = gas_check_delays(dump, trace, G_N_ELEMENTS(trace), 4, &g);

    g_assert_nonnull(bad);
    g_assert_nonnull(strstr(bad, "hw_ptr 960"));
    g_assert_cmpuint(g.judged, ==, 1);
    g_assert_cmpuint(g.agree, ==, 0);

    /* three completions ahead is no race: a delay no completion near
     * hw_ptr carried */
    static const SgAlsaCompletion four[] = {
        {.t_us = 1, .latency_bytes = 9216, .end_bytes = 3840},
        {.t_us = 2, .latency_bytes = 8192, .end_bytes = 7680},
        {.t_us = 3, .latency_bytes = 4096, .end_bytes = 11520},
        {.t_us = 4, .latency_bytes = 2048, .end_bytes = 15360},
    };
    const char ahead[] = SAMPLE("RUNNING", "3392", "960", "960", "4800");
    GasDelays g4;
    g_autofree char *bad4 = gas_check_delays(ahead, four, G_N_ELEMENTS(four), 4, &g4);

    g_assert_nonnull(bad4);
    g_assert_cmpuint(g4.agree, ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/latency-readers/log/completions", test_log_completions);
    g_test_add_func("/latency-readers/log/pipewire-report", test_log_pipewire_report);
    g_test_add_func("/latency-readers/status/agrees", test_status_agrees);
    g_test_add_func("/latency-readers/status/raced", test_status_raced);
    g_test_add_func("/latency-readers/status/disagrees", test_status_disagrees);
    return g_test_run();
}
