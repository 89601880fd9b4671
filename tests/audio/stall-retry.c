/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stall-retry.c - play again what failed while the machine stopped.
 */
#include "config.h"

#include "tests/audio/stall-retry.h"

/* what the running attempt failed by; NULL outside stall_retry() */
static GString *collected;

void stall_retry_fail(char *msg)
{
    if (collected)
        g_string_append_printf(collected, "%s%s", collected->len ? "; " : "", msg);
    else
        g_test_fail_printf("%s", msg);
    g_free(msg);
}

bool stall_retry_failed(void)
{
    return g_test_failed() || (collected && collected->len);
}

bool stall_retry(StallProbe *probe, int attempts, StallRetryBody body, StallRetryExplain explain,
                 void *opaque)
{
    for (int attempt = 1;; attempt++) {
        int cpu = -1;

        collected = g_string_new(NULL);
        stall_probe_reset(probe);
        body(opaque);
        double stall = stall_probe_worst_ms(probe, &cpu);
        g_autofree char *failed = g_string_free(collected, !collected->len);
        collected = NULL;
        if (!failed)
            return true;

        double explains_ms = 0;
        g_autoptr(GString) what = g_string_new(NULL);
        bool other = explain(failed, opaque, &explains_ms, what);
        const char *rt = stall_probe_realtime(probe) ? "realtime" : "not realtime";
        if ((other || stall >= explains_ms) && attempt < attempts) {
            g_test_message("attempt %d failed while CPU %d stopped for %.1f ms (the stall "
                           "probe, %s; %.1f ms explain %s): played again; it said: %s",
                           attempt, cpu, stall, rt, explains_ms, what->str, failed);
            continue;
        }
        /* the attempt and the stop first: CI's recap shows a failure's
         * first line only, and logs follow the message */
        g_test_fail_printf("attempt %d of %d failed (the longest a CPU stopped meanwhile: %.1f "
                           "ms, CPU %d, the stall probe %s; %.1f ms would explain %s): %s",
                           attempt, attempts, stall, cpu, rt, explains_ms, what->str, failed);
        return false;
    }
}
