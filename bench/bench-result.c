/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-result.c - write a run's results: results.json (machine
 * readable), report.md (targets PASS/MISS, side-by-side ratios when a
 * second back-end ran) and two gnuplot PNGs (added-latency histogram,
 * CPU per stream against the number of streams).
 */
#include "config.h"

#include <errno.h>
#include <gio/gio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench/bench-result.h"

const unsigned int br_counts[BR_NCOUNTS] = { 1, 8, 32, 64 };

void br_backend_free(BrBackend *b)
{
    if (!b)
        return;
    for (int d = 0; d < 2; d++)
        for (int i = 0; i < BR_NCOUNTS; i++)
            g_free(b->cpu[d][i].error);
    if (b->pacing.added_samples)
        g_array_unref(b->pacing.added_samples);
    if (b->pacing.trace_t)
        g_array_unref(b->pacing.trace_t);
    if (b->pacing.trace_e)
        g_array_unref(b->pacing.trace_e);
    g_free(b->pacing.error);
    g_free(b->ctl.error);
    g_free(b->idle.error);
    g_free(b->startup.error);
    g_free(b->mig.error);
    g_free(b->mig.verify_error);
    g_free(b->unpaced_io);
    g_free(b->name);
    g_free(b->cmd);
    g_free(b);
}

/* ---- JSON --------------------------------------------------------- */

static void js_str(GString *o, const char *s)
{
    g_string_append_c(o, '"');
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            g_string_append_printf(o, "\\%c", c);
        else if (c < 0x20)
            g_string_append_printf(o, "\\u%04x", c);
        else
            g_string_append_c(o, (char)c);
    }
    g_string_append_c(o, '"');
}

static void js_num(GString *o, double v)
{
    if (isfinite(v))
        g_string_append_printf(o, "%.6g", v);
    else
        g_string_append(o, "null");
}

static void js_key(GString *o, const char *k, bool *first)
{
    if (!*first)
        g_string_append(o, ", ");
    *first = false;
    js_str(o, k);
    g_string_append(o, ": ");
}

#define KN(k, v) do { js_key(o, k, &f); js_num(o, (double)(v)); } while (0)
#define KS(k, v) do { js_key(o, k, &f); if (v) js_str(o, v); else g_string_append(o, "null"); } while (0)
#define KB(k, v) do { js_key(o, k, &f); g_string_append(o, (v) ? "true" : "false"); } while (0)

static void js_summary(GString *o, const char *k, const BsSummary *s, bool *first)
{
    js_key(o, k, first);
    bool f = true;
    g_string_append_c(o, '{');
    KN("n", s->n);
    KN("min", s->min);
    KN("median", s->median);
    KN("mean", s->mean);
    KN("p90", s->p90);
    KN("p99", s->p99);
    KN("max", s->max);
    g_string_append_c(o, '}');
}

static void js_backend(GString *o, const BrBackend *b)
{
    bool f = true;
    g_string_append(o, "{");
    KS("name", b->name);
    KS("command", b->cmd);
    const char *dn[2] = { "cpu_playback", "cpu_capture" };
    for (int d = 0; d < 2; d++) {
        js_key(o, dn[d], &f);
        g_string_append_c(o, '[');
        bool firstp = true;
        for (int i = 0; i < BR_NCOUNTS; i++) {
            const BrCpu *c = &b->cpu[d][i];
            if (!c->done)
                continue;
            if (!firstp)
                g_string_append(o, ", ");
            firstp = false;
            bool sf = f;
            f = true;
            g_string_append_c(o, '{');
            KN("requested_streams", c->requested);
            KN("streams", c->streams);
            if (c->error) {
                KS("error", c->error);
            } else {
                KN("seconds", c->seconds);
                KN("cpu_pct_total", c->cpu_pct_total);
                KN("cpu_pct_per_stream", c->cpu_pct_per_stream);
                KN("cpu_us_per_msg", c->cpu_us_per_msg);
                KN("messages", c->msgs);
                KN("bad_used_len", c->bad_len);
                KN("msg_polling_streams", c->polling);
                KN("pacing_abs_deviation_p99_us", c->dev_p99_us);
                KN("added_latency_median_us", c->added_median_us);
                KN("added_latency_p99_us", c->added_p99_us);
                KN("completions_ahead_of_phase", c->early);
                KN("period_slips", c->slips);
                KN("bench_longest_stall_ms", c->bench_max_gap_ms);
                KN("daemon_switches_per_s", c->daemon_wakeups_per_s);
                KN("guest_kicks_per_s", c->guest_kicks_per_s);
                KN("guest_interrupts_per_s", c->guest_irqs_per_s);
                KN("rss_kb", c->rss_kb);
            }
            g_string_append_c(o, '}');
            f = sf;
        }
        g_string_append_c(o, ']');
    }
    if (b->pacing.done) {
        const BrPacing *p = &b->pacing;
        js_key(o, "pacing", &f);
        bool sf = f;
        f = true;
        g_string_append_c(o, '{');
        if (p->error) {
            KS("error", p->error);
        } else {
            KN("seconds", p->seconds);
            KN("completions", p->n);
            KN("buffer_periods", p->buffer_periods);
            KN("offset_us", p->offset_us);
            js_summary(o, "abs_deviation_us", &p->dev_us, &f);
            KN("drift_ppm", p->drift_ppm);
            KN("drift_us_over_run", p->drift_us);
            js_summary(o, "added_latency_us", &p->added_us, &f);
            KN("completions_ahead_of_phase", p->early);
            KN("period_slips", p->slips);
            KN("bench_longest_stall_ms", p->bench_max_gap_ms);
        }
        js_summary(o, "bench_timer_floor_us", &p->timer_floor_us, &f);
        g_string_append_c(o, '}');
        f = sf;
    }
    if (b->ctl.done) {
        const BrCtl *c = &b->ctl;
        js_key(o, "control", &f);
        bool sf = f;
        f = true;
        g_string_append_c(o, '{');
        if (c->error) {
            KS("error", c->error);
        } else {
            js_summary(o, "pcm_info_rtt_us", &c->rtt_us, &f);
            KN("pcm_info_sync_per_s", c->sync_per_s);
            KN("pcm_info_burst_per_s", c->burst_per_s);
        }
        g_string_append_c(o, '}');
        f = sf;
    }
    KS("io_unpaced_throughput", b->unpaced_io);
    if (b->idle.done) {
        const BrIdle *i = &b->idle;
        js_key(o, "idle", &f);
        bool sf = f;
        f = true;
        g_string_append_c(o, '{');
        if (i->error) {
            KS("error", i->error);
        } else {
            KN("seconds", i->seconds);
            KN("wakeups", i->switches);
            KN("wakeups_per_s", i->wakeups_per_s);
            KN("cpu_pct", i->cpu_pct);
            KN("threads", i->threads);
            KN("rss_kb", i->rss_kb);
            KN("rss_anon_kb", i->anon_kb);
            KN("rss_file_kb", i->file_kb);
            KN("rss_shmem_kb", i->shmem_kb);
            KN("pss_kb", i->pss_kb);
        }
        KN("rss_8_streams_kb", i->rss8_kb);
        if (i->prepared_done) {
            KN("prepared_stream_wakeups_per_s", i->prepared_wakeups_per_s);
            KN("prepared_stream_cpu_pct", i->prepared_cpu_pct);
        }
        g_string_append_c(o, '}');
        f = sf;
    }
    if (b->startup.done) {
        js_key(o, "startup", &f);
        bool sf = f;
        f = true;
        g_string_append_c(o, '{');
        if (b->startup.error)
            KS("error", b->startup.error);
        else
            js_summary(o, "to_listening_ms", &b->startup.ms, &f);
        g_string_append_c(o, '}');
        f = sf;
    }
    if (b->mig.done) {
        const BrMigration *m = &b->mig;
        js_key(o, "migration", &f);
        bool sf = f;
        f = true;
        g_string_append_c(o, '{');
        KB("supported", m->supported);
        if (m->error) {
            KS("error", m->error);
        } else {
            KN("state_bytes", m->bytes);
            KB("destination_continues", m->verified);
            KS("destination_error", m->verify_error);
            js_summary(o, "save_ms", &m->save_ms, &f);
            js_summary(o, "load_ms", &m->load_ms, &f);
        }
        g_string_append_c(o, '}');
        f = sf;
    }
    g_string_append(o, "}");
}

/* ---- targets ------------------------------------------------------ */

typedef struct Target {
    const char *what;
    const char *limit;
    bool measured;
    double value;
    const char *unit;
    bool pass;
} Target;

#define NTARGETS 7

static double worst_cpu(const BrBackend *b, int d)
{
    double w = -1;
    for (int i = 0; i < BR_NCOUNTS; i++) {
        const BrCpu *c = &b->cpu[d][i];
        if (c->done && !c->error && c->cpu_pct_per_stream > w)
            w = c->cpu_pct_per_stream;
    }
    return w;
}

static void targets(const BrBackend *b, Target t[NTARGETS])
{
    double cpu = worst_cpu(b, 0);
    t[0] = (Target){ "CPU per playing stream (worst of 1..64 streams)", "<= 0.1 %", cpu >= 0, cpu,
                     "%", cpu >= 0 && cpu <= 0.1 };
    bool pok = b->pacing.done && !b->pacing.error;
    t[1] = (Target){ "pacing deviation p99", "<= 1000 us", pok, b->pacing.dev_us.p99, "us",
                     pok && b->pacing.dev_us.p99 <= 1000 };
    t[2] = (Target){ "added latency p99", "<= 100 us", pok, b->pacing.added_us.p99, "us",
                     pok && b->pacing.added_us.p99 <= 100 };
    bool iok = b->idle.done && !b->idle.error && b->idle.seconds > 0;
    t[3] = (Target){ "wakeups when idle", "0 /s", iok, b->idle.wakeups_per_s, "/s",
                     iok && b->idle.switches == 0 };
    t[4] = (Target){ "idle RSS (VmRSS)", "<= 3072 KiB", iok, (double)b->idle.rss_kb, "KiB",
                     iok && b->idle.rss_kb <= 3072 };
    bool sok = b->startup.done && !b->startup.error;
    t[5] = (Target){ "start-up to listening socket (median)", "<= 10 ms", sok, b->startup.ms.median,
                     "ms", sok && b->startup.ms.median <= 10 };
    bool mok = b->mig.done && !b->mig.error;
    double mig = b->mig.save_ms.median + b->mig.load_ms.median;
    t[6] = (Target){ "migration save + load (medians)", "<= 5 ms", mok, mig, "ms",
                     mok && mig <= 5 };
}

/* ---- markdown ----------------------------------------------------- */

static void md_val(GString *o, bool ok, double v, int prec)
{
    if (ok)
        g_string_append_printf(o, "%.*f", prec, v);
    else
        g_string_append(o, "—");
}

static void md_ratio(GString *o, bool ok, double a, double b)
{
    if (ok && a > 0 && b >= 0)
        g_string_append_printf(o, " | %.2f×", b / a);
    else
        g_string_append(o, " | —");
}

/* One table row "name | ours | other | ratio". */
typedef double (*Getter)(const BrBackend *b, bool *ok);

static void md_row(GString *o, const BrRun *run, const char *name, int prec, Getter g)
{
    bool ok0, ok1 = false;
    double v0 = g(run->be[0], &ok0), v1 = 0;
    g_string_append_printf(o, "| %s | ", name);
    md_val(o, ok0, v0, prec);
    if (run->nbe > 1) {
        v1 = g(run->be[1], &ok1);
        g_string_append(o, " | ");
        md_val(o, ok1, v1, prec);
        md_ratio(o, ok0 && ok1, v0, v1);
    }
    g_string_append(o, " |\n");
}

#define GET(fn, cond, expr) \
    static double fn(const BrBackend *b, bool *ok) { *ok = (cond); return *ok ? (double)(expr) : 0; }

GET(g_start_med, b->startup.done && !b->startup.error, b->startup.ms.median)
GET(g_start_max, b->startup.done && !b->startup.error, b->startup.ms.max)
GET(g_idle_wk, b->idle.done && !b->idle.error, b->idle.wakeups_per_s)
GET(g_idle_cpu, b->idle.done && !b->idle.error, b->idle.cpu_pct)
GET(g_prep_wk, b->idle.prepared_done, b->idle.prepared_wakeups_per_s)
GET(g_idle_rss, b->idle.done && !b->idle.error, b->idle.rss_kb)
GET(g_idle_anon, b->idle.done && !b->idle.error, b->idle.anon_kb)
GET(g_idle_pss, b->idle.done && !b->idle.error && b->idle.pss_kb >= 0, b->idle.pss_kb)
GET(g_idle_thr, b->idle.done && !b->idle.error, b->idle.threads)
GET(g_rss8, b->idle.rss8_kb > 0, b->idle.rss8_kb)
GET(g_rtt_med, b->ctl.done && !b->ctl.error, b->ctl.rtt_us.median)
GET(g_rtt_p99, b->ctl.done && !b->ctl.error, b->ctl.rtt_us.p99)
GET(g_ctl_sync, b->ctl.done && !b->ctl.error, b->ctl.sync_per_s)
GET(g_ctl_burst, b->ctl.done && !b->ctl.error, b->ctl.burst_per_s)
GET(g_dev_med, b->pacing.done && !b->pacing.error, b->pacing.dev_us.median)
GET(g_dev_p99, b->pacing.done && !b->pacing.error, b->pacing.dev_us.p99)
GET(g_dev_max, b->pacing.done && !b->pacing.error, b->pacing.dev_us.max)
GET(g_drift, b->pacing.done && !b->pacing.error, b->pacing.drift_ppm)
GET(g_drift_us, b->pacing.done && !b->pacing.error, b->pacing.drift_us)
GET(g_add_med, b->pacing.done && !b->pacing.error, b->pacing.added_us.median)
GET(g_add_p99, b->pacing.done && !b->pacing.error, b->pacing.added_us.p99)
GET(g_add_max, b->pacing.done && !b->pacing.error, b->pacing.added_us.max)
GET(g_bufp, b->pacing.done && !b->pacing.error, b->pacing.buffer_periods)
GET(g_early, b->pacing.done && !b->pacing.error, b->pacing.early)
GET(g_slips, b->pacing.done && !b->pacing.error, b->pacing.slips)
GET(g_stall, b->pacing.done && !b->pacing.error, b->pacing.bench_max_gap_ms)
GET(g_mig_bytes, b->mig.done && !b->mig.error, b->mig.bytes)
GET(g_mig_save, b->mig.done && !b->mig.error, b->mig.save_ms.median)
GET(g_mig_load, b->mig.done && !b->mig.error, b->mig.load_ms.median)
GET(g_mig_ok, b->mig.done && !b->mig.error, b->mig.verified)

static void md_cpu(GString *o, const BrRun *run, int d)
{
    g_string_append_printf(o, "\n### %s\n\n", d == 0 ? "Playback" : "Capture");
    g_string_append(o, "| streams | back-end | % CPU per stream | % CPU total | µs CPU per message "
                       "| daemon switches/s | µs CPU per daemon switch | guest kicks/s | guest interrupts/s "
                       "| messages | RSS KiB |\n"
                       "|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < BR_NCOUNTS; i++) {
        for (unsigned int k = 0; k < run->nbe; k++) {
            const BrCpu *c = &run->be[k]->cpu[d][i];
            if (!c->done)
                continue;
            if (c->error) {
                g_string_append_printf(o, "| %u | %s | %s | | | | | | | | |\n", c->requested,
                                       run->be[k]->name, c->error);
                continue;
            }
            double per_sw = c->daemon_wakeups_per_s > 0
                                ? c->cpu_pct_total * 1e4 / c->daemon_wakeups_per_s : 0;
            g_string_append_printf(o, "| %u%s%s | %s | %.4f | %.3f | %.2f | %.0f | %.1f | %.0f | %.0f | %"
                                   G_GUINT64_FORMAT " | %ld |\n", c->streams,
                                   c->streams < c->requested ? " (capped)" : "",
                                   c->polling ? " (polling)" : "", run->be[k]->name,
                                   c->cpu_pct_per_stream, c->cpu_pct_total, c->cpu_us_per_msg,
                                   c->daemon_wakeups_per_s, per_sw, c->guest_kicks_per_s,
                                   c->guest_irqs_per_s, c->msgs, c->rss_kb);
        }
    }
    if (run->nbe > 1) {
        g_string_append(o, "\nRatio other / ours (CPU per stream): ");
        for (int i = 0; i < BR_NCOUNTS; i++) {
            const BrCpu *a = &run->be[0]->cpu[d][i], *b = &run->be[1]->cpu[d][i];
            if (a->done && b->done && !a->error && !b->error && a->cpu_pct_per_stream > 0)
                g_string_append_printf(o, "%u streams %.2f×; ", br_counts[i],
                                       b->cpu_pct_per_stream / a->cpu_pct_per_stream);
        }
        g_string_append_c(o, '\n');
    }
}

static void md_pacing_by_count(GString *o, const BrRun *run)
{
    g_string_append(o, "\n### Pacing while N streams run (all streams pooled)\n\n"
                       "| direction | streams | back-end | abs. deviation p99 (µs) | added latency "
                       "median (µs) | added latency p99 (µs) | completions ahead of phase | period slips "
                       "| longest gap between bench wakeups (ms) |\n"
                       "|---|---|---|---|---|---|---|---|---|\n");
    for (int d = 0; d < 2; d++)
        for (int i = 0; i < BR_NCOUNTS; i++)
            for (unsigned int k = 0; k < run->nbe; k++) {
                const BrCpu *c = &run->be[k]->cpu[d][i];
                if (!c->done || c->error || c->dev_p99_us < 0)
                    continue;
                g_string_append_printf(o, "| %s | %u | %s | %.0f | %.0f | %.0f | %" G_GUINT64_FORMAT
                                       " | %" G_GUINT64_FORMAT " | %.1f |\n",
                                       d ? "capture" : "playback", c->streams, run->be[k]->name,
                                       c->dev_p99_us, c->added_median_us, c->added_p99_us,
                                       c->early, c->slips, c->bench_max_gap_ms);
            }
}

static void md_errors(GString *o, const BrBackend *b)
{
    const char *e[] = { b->pacing.error, b->ctl.error, b->idle.error, b->startup.error,
                        b->mig.error };
    const char *n[] = { "pacing", "control", "idle", "start-up", "migration" };
    for (size_t i = 0; i < G_N_ELEMENTS(e); i++)
        if (e[i])
            g_string_append_printf(o, "- %s, %s: %s\n", b->name, n[i], e[i]);
}

static char *markdown(const BrRun *run, bool plots)
{
    GString *o = g_string_new(NULL);
    const BrBackend *us = run->be[0];
    g_string_append_printf(o, "# vhost-user-snd benchmark, %s%s\n\n", run->started,
                           run->quick ? " (quick mode: short runs, indicative only)" : "");
    g_string_append_printf(o, "Host: %s. Rings of %u entries, %u periods of 1920 bytes (10 ms, "
                              "48 kHz S16 stereo) queued per stream.\n\n",
                           run->host, run->queue_size, run->depth);
    g_string_append_printf(o, "MSG_POLLING: %s.\n\n",
                           run->no_polling ? "refused by --no-msg-polling (every queued period "
                                             "is kicked)"
                                           : "selected whenever a stream offers it, as Linux "
                                             "does (the guest then never kicks); "
                                             "--no-msg-polling measures the kicked path");
    if (run->wakeup_cpu_us > 0)
        g_string_append_printf(o, "Machine floor: one bare wakeup (poll + read of a timerfd) costs "
                                  "%.1f µs of CPU here, so 100 wakeups/s alone are %.3f %% of a "
                                  "core.\n\n", run->wakeup_cpu_us, run->wakeup_cpu_us * 100 / 1e4);
    for (unsigned int k = 0; k < run->nbe; k++)
        g_string_append_printf(o, "- **%s**: `%s`\n", run->be[k]->name, run->be[k]->cmd);

    g_string_append(o, "\n## Targets\n\n| target | limit | ");
    g_string_append_printf(o, "%s | result |", us->name);
    if (run->nbe > 1)
        g_string_append_printf(o, " %s | result |", run->be[1]->name);
    g_string_append(o, "\n|---|---|---|---|");
    if (run->nbe > 1)
        g_string_append(o, "---|---|");
    g_string_append_c(o, '\n');
    Target t[2][NTARGETS];
    for (unsigned int k = 0; k < run->nbe; k++)
        targets(run->be[k], t[k]);
    for (int i = 0; i < NTARGETS; i++) {
        g_string_append_printf(o, "| %s | %s |", t[0][i].what, t[0][i].limit);
        for (unsigned int k = 0; k < run->nbe; k++) {
            if (t[k][i].measured)
                g_string_append_printf(o, " %.4g %s | **%s** |", t[k][i].value, t[k][i].unit,
                                       t[k][i].pass ? "PASS" : "MISS");
            else
                g_string_append(o, " — | not measured |");
        }
        g_string_append_c(o, '\n');
    }

    g_string_append(o, "\n## Summary");
    if (run->nbe > 1)
        g_string_append_printf(o, " (ratio = %s / %s; below 1 means the other is smaller)",
                               run->be[1]->name, us->name);
    g_string_append_printf(o, "\n\n| measure | %s |", us->name);
    if (run->nbe > 1)
        g_string_append_printf(o, " %s | ratio |", run->be[1]->name);
    g_string_append(o, "\n|---|---|");
    if (run->nbe > 1)
        g_string_append(o, "---|---|");
    g_string_append_c(o, '\n');
    md_row(o, run, "start-up to listening socket, median (ms)", 2, g_start_med);
    md_row(o, run, "start-up to listening socket, max (ms)", 2, g_start_max);
    md_row(o, run, "idle wakeups (/s)", 2, g_idle_wk);
    md_row(o, run, "idle CPU (% of a core)", 4, g_idle_cpu);
    md_row(o, run, "wakeups/s with one stream prepared, not started", 1, g_prep_wk);
    md_row(o, run, "idle threads", 0, g_idle_thr);
    md_row(o, run, "idle RSS (KiB)", 0, g_idle_rss);
    md_row(o, run, "idle anonymous RSS (KiB)", 0, g_idle_anon);
    md_row(o, run, "idle PSS (KiB; shared library pages divided among their users)", 0, g_idle_pss);
    md_row(o, run, "RSS with 8 playing streams (KiB)", 0, g_rss8);
    md_row(o, run, "PCM_INFO round trip, median (µs)", 1, g_rtt_med);
    md_row(o, run, "PCM_INFO round trip, p99 (µs)", 1, g_rtt_p99);
    md_row(o, run, "PCM_INFO one at a time (/s)", 0, g_ctl_sync);
    md_row(o, run, "PCM_INFO in bursts (/s)", 0, g_ctl_burst);
    md_row(o, run, "pacing abs. deviation, median (µs)", 1, g_dev_med);
    md_row(o, run, "pacing abs. deviation, p99 (µs)", 1, g_dev_p99);
    md_row(o, run, "pacing abs. deviation, max (µs)", 1, g_dev_max);
    md_row(o, run, "drift (ppm)", 2, g_drift);
    md_row(o, run, "drift over the run (µs)", 1, g_drift_us);
    md_row(o, run, "added latency, median (µs)", 1, g_add_med);
    md_row(o, run, "added latency, p99 (µs)", 1, g_add_p99);
    md_row(o, run, "added latency, max (µs)", 1, g_add_max);
    md_row(o, run, "whole periods buffered by the back-end", 0, g_bufp);
    md_row(o, run, "completions ahead of the usual phase", 0, g_early);
    md_row(o, run, "period slips (underruns with a full guest queue)", 0, g_slips);
    md_row(o, run, "longest gap between bench wakeups (ms)", 1, g_stall);
    md_row(o, run, "migration state (bytes)", 0, g_mig_bytes);
    md_row(o, run, "migration save, median (ms)", 3, g_mig_save);
    md_row(o, run, "migration load, median (ms)", 3, g_mig_load);
    md_row(o, run, "migration: destination continues (1 = yes)", 0, g_mig_ok);
    for (unsigned int k = 0; k < run->nbe; k++) {
        const BrPacing *p = &run->be[k]->pacing;
        if (p->done)
            g_string_append_printf(o, "\nBench's own timer floor during %s's run (absolute 10 ms "
                                      "timerfd lateness): median %.1f µs, p99 %.1f µs, max %.1f µs "
                                      "— deviations near this are the machine, not the back-end.\n",
                                   run->be[k]->name, p->timer_floor_us.median,
                                   p->timer_floor_us.p99, p->timer_floor_us.max);
    }
    g_string_append(o, "\n## CPU per stream\n");
    md_cpu(o, run, 0);
    md_cpu(o, run, 1);
    md_pacing_by_count(o, run);
    if (plots)
        g_string_append(o, "\n![CPU per stream](cpu.png)\n\n![added latency](latency.png)\n");
    else
        g_string_append(o, "\n(gnuplot not found or failed: no plots; the .dat files are here.)\n");

    g_string_append(o, "\n## I/O throughput without pacing\n\n");
    for (unsigned int k = 0; k < run->nbe; k++)
        g_string_append_printf(o, "- %s: %s\n", run->be[k]->name,
                               run->be[k]->unpaced_io ? run->be[k]->unpaced_io : "—");

    g_string_append(o, "\n## Method\n\n"
        "Each scenario runs a fresh back-end process. The bench plays QEMU (vhost-user "
        "front-end over a memfd) and a Linux guest (event queue filled, not kicked; PCM_INFO; "
        "SET_PARAMS, PREPARE, START; one message per period = xfer header + data + status). "
        "Everything is measured from outside: CPU from the process CPU clock "
        "(`clock_getcpuclockid`, ns), wakeups as voluntary + involuntary context switches "
        "summed over `/proc/<pid>/task/*/status`, memory from `/proc/<pid>/status`.\n\n"
        "- *CPU per stream*: daemon CPU time during a window of steady play divided by the "
        "window and the number of streams (one second of audio per stream per second).\n"
        "- *Pacing*: completion k of one stream is compared with the ideal clock started when "
        "START was sent: due_k = t_START + (k+1)·10 ms. e_k = t_k − due_k. A back-end that "
        "accepts B periods into a bounded host buffer completes them B periods early, so "
        "e_k settles at −B·10 ms + lateness; B is reported. Deviation is |e_k − median(e)|; "
        "drift is the least-squares slope of e_k over time. The first depth+4 completions "
        "(pre-fill burst) are excluded.\n"
        "- *Added latency*: e_k + B·10 ms, i.e. how late after its ideal period boundary "
        "the completion reached the guest: back-end timer lateness + its processing + the "
        "notification + our own wakeup (see the timer floor above). The queue is kept full, so "
        "the back-end never waits for the guest. Negative values are completions ahead of the "
        "back-end's usual phase (for instance a period accepted into a partly drained host "
        "buffer off the period grid): not a spec violation while the buffer is bounded, but "
        "jitter of the guest's period clock.\n"
        "- *Period slips*: whole periods a stream fell behind between its first and last "
        "second (medians of 100 completions at each end): the back-end ran dry although the "
        "guest kept its queue full, an audible gap each time that also puts the guest's "
        "clock a period behind. Beside them, the longest gap between two of the bench's own "
        "wakeups while streams ran: about 10 ms is normal (one wakeup per period); while it "
        "stays well below the queued audio (depth × 10 ms) the bench always had periods "
        "queued and a slip is the back-end's; a much longer gap means the machine may have "
        "stalled the bench (or the back-end sent nothing).\n"
        "- *Control*: PCM_INFO of one stream, kick to used-ring completion, one at a time; "
        "then bursts of 16 requests queued back to back and then awaited.\n"
        "- *Idle*: connected, rings started, event queue filled, no stream; counted after "
        "0.3 s of settling. Then one stream is set up and prepared as Linux does (MSG_POLLING "
        "selected if offered) but not started, like an application holding its PCM open.\n"
        "- *Start-up*: `posix_spawn` to the first successful `connect()` on the socket.\n"
        "- *Migration*: stream 0 configured, rings stopped without a status reset "
        "(SET_VRING_ENABLE 0 + GET_VRING_BASE), SET_DEVICE_STATE_FD(SAVE) + read to EOF + "
        "CHECK_DEVICE_STATE; a second process is realized and gets SET_DEVICE_STATE_FD(LOAD) + "
        "write + CHECK_DEVICE_STATE. The last destination then takes over the guest's rings "
        "and must accept PREPARE of stream 0 without SET_PARAMS (the parameters came along).\n");

    g_string_append(o, "\n## Errors and notes\n\n");
    for (unsigned int k = 0; k < run->nbe; k++)
        md_errors(o, run->be[k]);
    for (unsigned int k = 0; k < run->nbe; k++)
        for (int d = 0; d < 2; d++)
            for (int i = 0; i < BR_NCOUNTS; i++)
                if (run->be[k]->cpu[d][i].bad_len)
                    g_string_append_printf(o, "- %s: %" G_GUINT64_FORMAT " %s completions with a "
                                              "used length other than %s at %u streams\n",
                                           run->be[k]->name, run->be[k]->cpu[d][i].bad_len,
                                           d ? "capture" : "playback",
                                           d ? "period + 8" : "8", br_counts[i]);
    return g_string_free(o, FALSE);
}

/* ---- plots -------------------------------------------------------- */

static bool write_file(const char *dir, const char *name, const char *text, GError **error)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    return g_file_set_contents(path, text, -1, error);
}

static bool plots(const BrRun *run, const char *dir, GError **error)
{
    GString *cpu = g_string_new("# streams");
    for (unsigned int k = 0; k < run->nbe; k++)
        g_string_append_printf(cpu, " %s-playback %s-capture", run->be[k]->name,
                               run->be[k]->name);
    g_string_append_c(cpu, '\n');
    for (int i = 0; i < BR_NCOUNTS; i++) {
        g_string_append_printf(cpu, "%u", br_counts[i]);
        for (unsigned int k = 0; k < run->nbe; k++)
            for (int d = 0; d < 2; d++) {
                const BrCpu *c = &run->be[k]->cpu[d][i];
                if (c->done && !c->error)
                    g_string_append_printf(cpu, " %.6f", c->cpu_pct_per_stream);
                else
                    g_string_append(cpu, " NaN");
            }
        g_string_append_c(cpu, '\n');
    }
    g_autofree char *cpu_s = g_string_free(cpu, FALSE);
    if (!write_file(dir, "cpu.dat", cpu_s, error))
        return false;

    bool have_cpu = false;
    for (unsigned int k = 0; k < run->nbe; k++)
        have_cpu = have_cpu || worst_cpu(run->be[k], 0) >= 0 || worst_cpu(run->be[k], 1) >= 0;
    GString *gp = g_string_new("set terminal pngcairo size 900,540 noenhanced\n");
    if (have_cpu)
        g_string_append(gp, "set output 'cpu.png'\n"
                               "set title 'Back-end CPU per stream (48 kHz S16 stereo, 10 ms periods)'\n"
                               "set xlabel 'concurrent streams'\nset ylabel '% of one core per stream'\n"
                               "set logscale x 2\nset key top right\nset grid\n"
                               "set arrow from 1,0.1 to 64,0.1 nohead dt 2 lc rgb 'red'\n"
                               "plot ");
    int col = 2;
    for (unsigned int k = 0; k < run->nbe && have_cpu; k++)
        for (int d = 0; d < 2; d++, col++)
            g_string_append_printf(gp, "%s'cpu.dat' using 1:%d with linespoints title '%s %s'",
                                   col > 2 ? ", " : "", col, run->be[k]->name,
                                   d ? "capture" : "playback");
    if (have_cpu)
        g_string_append(gp, "\n");

    /* The raw pacing trace, for anyone who wants to look closer. */
    for (unsigned int k = 0; k < run->nbe; k++) {
        const BrPacing *p = &run->be[k]->pacing;
        if (!p->trace_t)
            continue;
        GString *t = g_string_new("# seconds_since_start e_us (completion - ideal due time)\n");
        for (guint i = 0; i < p->trace_t->len; i++)
            g_string_append_printf(t, "%.6f %.1f\n", g_array_index(p->trace_t, double, i),
                                   g_array_index(p->trace_e, double, i));
        g_autofree char *name = g_strdup_printf("pacing-%u.dat", k);
        g_autofree char *ts = g_string_free(t, FALSE);
        if (!write_file(dir, name, ts, error)) {
            g_string_free(gp, TRUE);
            return false;
        }
    }

    /* Histogram of added latency, 20 us bins, clipped at +-6 ms. */
    bool any = false;
    for (unsigned int k = 0; k < run->nbe; k++) {
        const BrPacing *p = &run->be[k]->pacing;
        if (!p->added_samples || p->added_samples->len == 0)
            continue;
        GHashTable *bins = g_hash_table_new(g_direct_hash, g_direct_equal);
        int lo = INT32_MAX, hi = INT32_MIN;
        for (guint i = 0; i < p->added_samples->len; i++) {
            double v = CLAMP(g_array_index(p->added_samples, double, i), -6000, 6000);
            int b = (int)floor(v / 20.0);
            lo = MIN(lo, b);
            hi = MAX(hi, b);
            gpointer key = GINT_TO_POINTER(b + 1000);
            g_hash_table_insert(bins, key,
                                GINT_TO_POINTER(GPOINTER_TO_INT(g_hash_table_lookup(bins, key)) + 1));
        }
        GString *h = g_string_new("# added_latency_us count\n");
        for (int b = lo; b <= hi; b++)
            g_string_append_printf(h, "%d %d\n", b * 20 + 10,
                                   GPOINTER_TO_INT(g_hash_table_lookup(bins, GINT_TO_POINTER(b + 1000))));
        g_hash_table_unref(bins);
        g_autofree char *name = g_strdup_printf("latency-%u.dat", k);
        g_autofree char *hs = g_string_free(h, FALSE);
        if (!write_file(dir, name, hs, error)) {
            g_string_free(gp, TRUE);
            return false;
        }
        if (!any)
            g_string_append(gp, "set output 'latency.png'\nunset arrow\nunset logscale x\n"
                                "set title 'Added latency: completion minus ideal period boundary'\n"
                                "set xlabel 'microseconds (20 us bins; the outer bins hold everything beyond +-6 ms)'\n"
                                "set xrange [-6200:6200]\n"
                                "set ylabel 'completions'\nset logscale y\nset yrange [0.5:*]\n"
                                "set style fill transparent solid 0.5\nplot ");
        g_string_append_printf(gp, "%s'%s' using 1:2 with boxes title '%s'", any ? ", " : "", name,
                               run->be[k]->name);
        any = true;
    }
    g_string_append_c(gp, '\n');
    g_autofree char *gps = g_string_free(gp, FALSE);
    if (!have_cpu && !any)
        return false;
    if (!write_file(dir, "plots.gp", gps, error))
        return false;
    const char *argv[] = { "gnuplot", "plots.gp", NULL };
    int status = 0;
    g_autofree char *err_out = NULL;
    if (!g_spawn_sync(dir, (char **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                      NULL, NULL, NULL, &err_out, &status, NULL) ||
        !g_spawn_check_wait_status(status, NULL)) {
        if (err_out && *err_out)
            fprintf(stderr, "gnuplot: %s", err_out);
        return false;
    }
    return true;
}

bool br_write(const BrRun *run, const char *dir, GError **error)
{
    GString *o = g_string_new("{");
    bool f = true;
    KS("started", run->started);
    KB("quick", run->quick);
    KS("host", run->host);
    KN("machine_cpu_us_per_wakeup", run->wakeup_cpu_us);
    KN("queue_size", run->queue_size);
    KN("periods_queued_per_stream", run->depth);
    KN("period_bytes", 1920);
    KB("msg_polling_refused", run->no_polling);
    js_key(o, "backends", &f);
    g_string_append_c(o, '[');
    for (unsigned int k = 0; k < run->nbe; k++) {
        if (k)
            g_string_append(o, ", ");
        js_backend(o, run->be[k]);
    }
    g_string_append(o, "], ");
    f = true;
    g_string_append(o, "\"targets\": [");
    for (unsigned int k = 0; k < run->nbe; k++) {
        Target t[NTARGETS];
        targets(run->be[k], t);
        for (int i = 0; i < NTARGETS; i++) {
            if (k || i)
                g_string_append(o, ", ");
            f = true;
            g_string_append_c(o, '{');
            KS("backend", run->be[k]->name);
            KS("target", t[i].what);
            KS("limit", t[i].limit);
            KB("measured", t[i].measured);
            KN("value", t[i].measured ? t[i].value : NAN);
            KS("unit", t[i].unit);
            KS("result", t[i].measured ? (t[i].pass ? "PASS" : "MISS") : "NOT MEASURED");
            g_string_append_c(o, '}');
        }
    }
    g_string_append(o, "]}\n");
    g_autofree char *json = g_string_free(o, FALSE);
    if (!write_file(dir, "results.json", json, error))
        return false;
    bool have_plots = plots(run, dir, error);
    if (error && *error)
        return false;
    g_autofree char *md = markdown(run, have_plots);
    return write_file(dir, "report.md", md, error);
}
