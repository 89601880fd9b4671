/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-stall-retry.c - the retry the real-server tests lean on
 * (tests/audio/stall-retry.h): a failure is played again only when a CPU
 * stop or the test's own cause explains it, no more often than allowed,
 * and a failure nothing explains fails the test with what it said.
 */
#include "config.h"

#include <string.h>

#include "tests/audio/stall-retry.h"

typedef struct Script {
    int runs;          /* attempts run */
    int fail_until;    /* attempts up to this one fail */
    double explains;   /* the CPU stop that explains a failure */
    bool other;        /* something else explains it */
    int explained;     /* explain() calls */
} Script;

static void body(void *opaque)
{
    Script *s = opaque;

    s->runs++;
    if (s->runs <= s->fail_until)
        stall_retry_failf("run %d lost 1024 frames", s->runs);
    /* inside an attempt a failure is collected, not the test's */
    g_assert_false(g_test_failed());
    g_assert_cmpint(stall_retry_failed(), ==, s->runs <= s->fail_until);
}

static bool explain(const char *failed, void *opaque, double *explains_ms, GString *what)
{
    Script *s = opaque;

    g_assert_nonnull(strstr(failed, "lost 1024 frames"));
    g_assert_false(g_str_has_suffix(failed, "; "));
    s->explained++;
    *explains_ms = s->explains;
    g_string_append(what, s->other ? "a loss; the daemon says the graph did not run it" :
                                     "a loss");
    return s->other;
}

static void test_passes(void)
{
    Script s = { .explains = 0 };
    StallProbe *p = stall_probe_start();

    g_assert_true(stall_retry(p, 3, body, explain, &s));
    g_assert_cmpint(s.runs, ==, 1);
    g_assert_cmpint(s.explained, ==, 0);
    g_assert_false(stall_retry_failed());
    stall_probe_stop(p);
}

/* A stop of 0 ms explains a failure: played again, then it passes. */
static void test_explained_then_passes(void)
{
    Script s = { .fail_until = 2, .explains = 0 };
    StallProbe *p = stall_probe_start();

    g_assert_true(stall_retry(p, 3, body, explain, &s));
    g_assert_cmpint(s.runs, ==, 3);
    g_assert_cmpint(s.explained, ==, 2);
    g_assert_false(g_test_failed());
    stall_probe_stop(p);
}

/* In a subprocess: the test's verdict is what is judged. */
static void run_unexplained(void)
{
    /* no CPU of a running machine stops for an hour */
    Script s = { .fail_until = 3, .explains = 3600e3 };
    StallProbe *p = stall_probe_start();

    g_assert_false(stall_retry(p, 3, body, explain, &s));
    g_assert_true(g_test_failed());
    stall_probe_stop(p);
    g_print("runs %d explained %d\n", s.runs, s.explained);
}

static void run_always_explained(void)
{
    Script s = { .fail_until = 99, .explains = 3600e3, .other = true };

    g_assert_false(stall_retry(NULL, 3, body, explain, &s));
    g_assert_true(g_test_failed());
    g_print("runs %d explained %d\n", s.runs, s.explained);
}

static void run_outside(void)
{
    stall_retry_failf("outside an attempt: %d", 42);
    g_assert_true(g_test_failed());
    g_assert_true(stall_retry_failed());
    g_print("still running\n");
}

/* (the child runs quiet: its failure's text is not on its stdout; what
 * explain() is given is checked there) */
static void test_unexplained_fails_at_once(void)
{
    g_test_trap_subprocess("/stall-retry/subprocess/unexplained", 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stdout("runs 1 explained 1\n");
}

static void test_no_more_than_allowed(void)
{
    g_test_trap_subprocess("/stall-retry/subprocess/always-explained", 0,
                           G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stdout("runs 3 explained 3\n");
}

/* outside an attempt a failure is the test's at once, and the test goes
 * on (a failed assertion is what stops it) */
static void test_outside_fails_at_once(void)
{
    g_test_trap_subprocess("/stall-retry/subprocess/outside", 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stdout("still running\n");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/stall-retry/passes", test_passes);
    g_test_add_func("/stall-retry/explained-then-passes", test_explained_then_passes);
    g_test_add_func("/stall-retry/unexplained-fails-at-once", test_unexplained_fails_at_once);
    g_test_add_func("/stall-retry/no-more-than-allowed", test_no_more_than_allowed);
    g_test_add_func("/stall-retry/outside-an-attempt", test_outside_fails_at_once);
    g_test_add_func("/stall-retry/subprocess/unexplained", run_unexplained);
    g_test_add_func("/stall-retry/subprocess/always-explained", run_always_explained);
    g_test_add_func("/stall-retry/subprocess/outside", run_outside);
    return g_test_run();
}
