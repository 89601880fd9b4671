/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vsnd-bench.c - performance benchmark for vhost-user sound back-ends.
 *
 * Theory of operation: every scenario starts a fresh back-end process
 * from a command template (bench-proc.h), connects as QEMU + a Linux guest
 * would (bench-guest.h, on the test harness) and measures the process from
 * the outside only (/proc, the process CPU clock, CLOCK_MONOTONIC).  So
 * any vhost-user-snd implementation can be compared in the same run.
 *
 *  1. cpu       N playing (then capturing) streams, 48 kHz S16 stereo,
 *               10 ms periods, each completed period re-queued at once:
 *               back-end CPU time per second of audio per stream.
 *  2. pacing    one stream for a long run: each completion against the
 *               ideal clock started at START; deviation and drift.
 *  3. latency   the same completions: lateness after the period boundary
 *               they belong to, once whole periods of host buffering are
 *               taken out (completion time minus ideal due time).
 *  4. control   PCM_INFO round trips, one at a time and in bursts.
 *  5. idle      connected, rings started, event queue filled, no stream:
 *               wakeups (context switches) and CPU; RSS idle and with 8
 *               streams.
 *  6. startup   spawn to a connectable socket; device-state migration
 *               (SET_DEVICE_STATE_FD save, load into a second process,
 *               CHECK_DEVICE_STATE).
 *
 * Results go to a directory: results.json, report.md, plots (gnuplot).
 */
#include "config.h"

#include <errno.h>
#include <gio/gio.h>
#include <linux/virtio_snd.h>
#include <locale.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench-guest.h"
#include "bench/bench-proc.h"
#include "bench/bench-result.h"
#include "bench/bench-stats.h"

#define PERIOD_BYTES 1920u                 /* 10 ms of 48 kHz S16 stereo */
#define PERIOD_NS 10000000ll
#define OURS_TEMPLATE "{daemon} --socket-path={socket} --driver=null --streams={streams} {stream_opts}"

typedef struct Opts {
    char *daemon;
    char *ours;
    char *compare;
    char *compare_name;
    char *outdir;
    char *only;
    gboolean quick;
    gboolean no_polling;
    int queue_size;
    int depth;
    double cpu_seconds, pace_seconds, idle_seconds, ctl_seconds;
    int startup_runs, mig_runs;
} Opts;

static Opts opt = {
    .queue_size = 256,
    .depth = 4,
};

static void say(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static bool want(const char *what)
{
    if (!opt.only)
        return true;
    g_auto(GStrv) parts = g_strsplit(opt.only, ",", -1);
    return g_strv_contains((const char *const *)parts, what);
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = { ns / 1000000000, ns % 1000000000 };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* {stream_opts} for our daemon: every stream in one direction. */
static char *stream_opts(unsigned int n, uint8_t dir)
{
    GString *s = g_string_new(NULL);
    for (unsigned int i = 0; i < n; i++)
        g_string_append_printf(s, "%s--stream=%u:dir=%s", i ? " " : "", i,
                               dir == VIRTIO_SND_D_OUTPUT ? "playback" : "capture");
    return g_string_free(s, FALSE);
}

static BgDev *open_dev(BpProc *p, GError **error)
{
    BgDev *dev = bg_open(bp_socket(p), (uint16_t)opt.queue_size, error);
    if (dev)
        dev->no_polling = opt.no_polling;
    return dev;
}

static BpProc *spawn(const BrBackend *be, unsigned int streams, const char *sopts, GError **error)
{
    BpVars v = { .daemon = opt.daemon, .streams = streams, .stream_opts = sopts };
    g_autoptr(BpProc) p = bp_spawn(be->cmd, &v, error);
    if (!p)
        return NULL;
    if (bp_wait_listening(p, false, 5000) < 0) {
        g_autofree char *tail = bp_stderr_tail(p, 600);
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "back-end did not create its socket (%s): %s", bp_cmdline(p), tail);
        return NULL;
    }
    return g_steal_pointer(&p);
}

static char *proc_error(BpProc *p, const GError *err)
{
    g_autofree char *tail = p ? bp_stderr_tail(p, 400) : g_strdup("");
    g_strchomp(tail);
    return g_strdup_printf("%s%s%s", err ? err->message : "failed", *tail ? " | stderr: " : "",
                           tail);
}

/* ------------------------------------------------------------------ */
/* 1. CPU per stream */

static void analyse_pool(BrCpu *c, BgIo *io, unsigned int n);

static void run_cpu(BrBackend *be, int d, unsigned int ci, long *rss8)
{
    BrCpu *c = &be->cpu[d][ci];
    uint8_t dir = d == 0 ? VIRTIO_SND_D_OUTPUT : VIRTIO_SND_D_INPUT;
    unsigned int n = br_counts[ci];
    g_autoptr(GError) err = NULL;
    g_autofree char *so = stream_opts(n, dir);
    c->requested = n;
    c->done = true;
    g_autoptr(BpProc) p = spawn(be, n, so, &err);
    if (!p) {
        c->error = g_strdup(err->message);
        return;
    }
    g_autoptr(BgDev) dev = open_dev(p, &err);
    if (!dev) {
        c->error = proc_error(p, err);
        return;
    }
    g_autoptr(GArray) ids = bg_streams_of(dev, dir, n);
    /* A back-end that splits {streams} between directions (ours without
     * {stream_opts} alternates them) gets twice as many on a second try. */
    if (ids->len < n && !strstr(be->cmd, "{stream_opts}") && strstr(be->cmd, "{streams}")) {
        g_autoptr(GError) err2 = NULL;
        g_autoptr(BpProc) p2 = spawn(be, 2 * n, so, &err2);
        g_autoptr(BgDev) dev2 = p2 ? open_dev(p2, &err2) : NULL;
        g_autoptr(GArray) ids2 = dev2 ? bg_streams_of(dev2, dir, n) : NULL;
        if (ids2 && ids2->len > ids->len) {
            /* Swap: the better back-end stays, the other one goes. */
            BpProc *tp = p; p = p2; p2 = tp;
            BgDev *td = dev; dev = dev2; dev2 = td;
            GArray *ta = ids; ids = ids2; ids2 = ta;
        }
    }
    c->streams = ids->len;
    if (ids->len == 0) {
        c->error = g_strdup("the back-end offers no such stream (48 kHz S16 stereo)");
        return;
    }
    g_autoptr(BgIo) io = bg_io_new(dev, dir, (uint32_t *)ids->data, ids->len,
                                   (unsigned int)opt.depth, PERIOD_BYTES, true);
    if (!bg_io_start(io, &err) ||
        !bg_io_run(io, bp_now_ns() + (int64_t)(opt.quick ? 0.2e9 : 1e9), &err)) {
        c->error = proc_error(p, err);
        return;
    }
    BpSample a, b;
    BgIoStats s0 = *bg_io_stats(io);
    uint64_t m0 = s0.completions;
    bp_sample(p, &a);
    if (!bg_io_run(io, a.t_ns + (int64_t)(opt.cpu_seconds * 1e9), &err)) {
        c->error = proc_error(p, err);
        return;
    }
    if (!bp_sample(p, &b)) {
        c->error = proc_error(p, NULL);
        return;
    }
    c->msgs = bg_io_stats(io)->completions - m0;
    c->bad_len = bg_io_stats(io)->bad_len;
    c->polling = bg_io_stats(io)->polling;
    c->bench_max_gap_ms = (double)bg_io_stats(io)->max_gap_ns / 1e6;
    c->guest_kicks_per_s = (double)(bg_io_stats(io)->kicks - s0.kicks) / ((double)(b.t_ns - a.t_ns) / 1e9);
    c->guest_irqs_per_s = (double)(bg_io_stats(io)->wakeups - s0.wakeups) / ((double)(b.t_ns - a.t_ns) / 1e9);
    c->seconds = (double)(b.t_ns - a.t_ns) / 1e9;
    double cpu_s = (double)(b.cpu_ns - a.cpu_ns) / 1e9;
    c->cpu_pct_total = 100.0 * cpu_s / c->seconds;
    c->cpu_pct_per_stream = c->cpu_pct_total / ids->len;
    c->cpu_us_per_msg = c->msgs ? cpu_s * 1e6 / (double)c->msgs : -1;
    c->daemon_wakeups_per_s = (double)(b.vol_cs + b.invol_cs - a.vol_cs - a.invol_cs) / c->seconds;
    c->rss_kb = b.rss_kb;
    if (rss8 && d == 0 && n == 8)
        *rss8 = b.rss_kb;
    analyse_pool(c, io, ids->len);
    double expect = c->seconds * 100.0 * ids->len;
    say("  %s %2u/%2u streams: %.4f %% CPU per stream, %.1f us/msg, %" G_GUINT64_FORMAT
        " msgs (%.0f%% of real time), %.0f daemon switches/s, %.0f guest kicks/s%s; pacing p99 "
        "%.0f us, added p99 %.0f us, %" G_GUINT64_FORMAT " slips (longest gap between our wakeups %.1f ms)",
        d == 0 ? "playback" : "capture ", ids->len, n, c->cpu_pct_per_stream, c->cpu_us_per_msg,
        c->msgs, 100.0 * (double)c->msgs / expect, c->daemon_wakeups_per_s, c->guest_kicks_per_s,
        c->polling ? " (MSG_POLLING)" : "", c->dev_p99_us, c->added_p99_us, c->slips,
        c->bench_max_gap_ms);
    if (!bg_io_stop(io, &err))
        say("  (stop: %s)", err->message);
}

/* ------------------------------------------------------------------ */
/* The machine's floor: CPU time one bare wakeup costs a process here
 * (poll on a 5 ms periodic timerfd, read it).  On a VM this is far above
 * bare metal and bounds what any back-end can reach per wakeup. */
static double wakeup_floor_us(void)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    if (fd < 0)
        return -1;
    struct itimerspec its = { { 0, 5000000 }, { 0, 5000000 } };
    timerfd_settime(fd, 0, &its, NULL);
    struct timespec a, b;
    const int n = 200;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    for (int i = 0; i < n; i++) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        uint64_t x;
        if (poll(&p, 1, 100) > 0 && read(fd, &x, sizeof(x)) < 0)
            break;
    }
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    close(fd);
    return ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / n / 1e3;
}

/* ------------------------------------------------------------------ */
/* 2 + 3. pacing and added latency */

/* Our own scheduling floor: lateness of an absolute 10 ms timerfd. */
static BsSummary timer_floor(double seconds)
{
    g_autoptr(GArray) late = bs_new();
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    if (fd < 0)
        return bs_summarize(late);
    int64_t t0 = bp_now_ns();
    int64_t n = (int64_t)(seconds * 100);
    for (int64_t k = 1; k <= n; k++) {
        int64_t due = t0 + k * PERIOD_NS;
        struct itimerspec its = { .it_value = { due / 1000000000, due % 1000000000 } };
        timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL);
        uint64_t x;
        if (read(fd, &x, sizeof(x)) == sizeof(x))
            bs_add(late, (double)(bp_now_ns() - due) / 1e3);
    }
    close(fd);
    return bs_summarize(late);
}

/*
 * Whole periods a stream fell behind between its first and its last
 * second: the back-end ran dry although the guest kept its queue full (an
 * audible gap each time, and the guest's clock falls a period behind).
 * Medians of 100 completions on each end, so jitter between two phases
 * does not count.
 */
static uint64_t net_slips(const double *e, size_t n)
{
    const size_t w = 100;
    if (n < 2 * w)
        return 0;
    g_autoptr(GArray) first = bs_new();
    g_autoptr(GArray) last = bs_new();
    for (size_t i = 0; i < w; i++) {
        bs_add(first, e[i]);
        bs_add(last, e[n - w + i]);
    }
    double d = (bs_percentile(last, 50) - bs_percentile(first, 50)) / (PERIOD_NS / 1e3);
    return d > 0.5 ? (uint64_t)round(d) : 0;
}

static void analyse_pacing(BrPacing *pc, int64_t t_start, const GArray *times)
{
    /* e_k: completion k against the ideal clock that started at START
     * (period k due at t_start + (k+1) P).  A back-end that buffers B
     * periods completes B early, so e settles near -B P + lateness.  The
     * first depth+4 completions (the prefill burst) are skipped. */
    unsigned int skip = (unsigned int)opt.depth + 4;
    if (times->len <= skip + 10) {
        pc->error = g_strdup_printf("only %u completions", times->len);
        return;
    }
    unsigned int n = times->len - skip;
    double *t = g_new(double, n), *e = g_new(double, n);
    g_autoptr(GArray) ev = bs_new();
    for (unsigned int i = 0; i < n; i++) {
        unsigned int k = i + skip;
        int64_t tk = g_array_index(times, int64_t, k);
        t[i] = (double)(tk - t_start) / 1e9;
        e[i] = (double)(tk - (t_start + (int64_t)(k + 1) * PERIOD_NS)) / 1e3; /* us */
        bs_add(ev, e[i]);
    }
    double med = bs_percentile(ev, 50);
    double whole = round(med / (PERIOD_NS / 1e3));
    pc->buffer_periods = whole == 0 ? 0 : -whole;
    pc->offset_us = med - whole * (PERIOD_NS / 1e3);
    g_autoptr(GArray) dev = bs_new();
    pc->added_samples = bs_new();
    pc->trace_t = bs_new();
    pc->trace_e = bs_new();
    for (unsigned int i = 0; i < n; i++) {
        bs_add(pc->trace_t, t[i]);
        bs_add(pc->trace_e, e[i]);
        bs_add(dev, e[i] - med);
        double added = e[i] - whole * (PERIOD_NS / 1e3);
        bs_add(pc->added_samples, added);
        if (added < 0)
            pc->early++;
    }
    pc->slips = net_slips(e, n);
    pc->n = n;
    pc->dev_us = bs_summarize_abs(dev);
    pc->added_us = bs_summarize(pc->added_samples);
    double a, b;
    if (bs_linfit(t, e, n, &a, &b)) {
        pc->drift_ppm = b;   /* us per s */
        pc->drift_us = b * (t[n - 1] - t[0]);
    }
    g_free(t);
    g_free(e);
}

/* Pacing of every stream of a CPU run, pooled: |deviation| from each
 * stream's own median phase and the added latency (see analyse_pacing). */
static void analyse_pool(BrCpu *c, BgIo *io, unsigned int n)
{
    g_autoptr(GArray) dev = bs_new();
    g_autoptr(GArray) added = bs_new();
    unsigned int skip = (unsigned int)opt.depth + 4;
    for (unsigned int s = 0; s < n; s++) {
        const GArray *times = bg_io_times(io, s);
        if (!times || times->len <= skip + 10)
            continue;
        g_autoptr(GArray) ev = bs_new();
        int64_t t0 = bg_io_start_ns(io, s);
        for (unsigned int k = skip; k < times->len; k++)
            bs_add(ev, (double)(g_array_index(times, int64_t, k) -
                                (t0 + (int64_t)(k + 1) * PERIOD_NS)) / 1e3);
        double med = bs_percentile(ev, 50);
        double whole = round(med / (PERIOD_NS / 1e3));
        c->slips += net_slips((const double *)ev->data, ev->len);
        for (guint i = 0; i < ev->len; i++) {
            double e = g_array_index(ev, double, i);
            bs_add(dev, e - med);
            bs_add(added, e - whole * (PERIOD_NS / 1e3));
            if (e - whole * (PERIOD_NS / 1e3) < 0)
                c->early++;
        }
    }
    BsSummary d = bs_summarize_abs(dev), a = bs_summarize(added);
    c->dev_p99_us = d.n ? d.p99 : -1;
    c->added_median_us = a.n ? a.median : -1;
    c->added_p99_us = a.n ? a.p99 : -1;
}

static void run_pacing(BrBackend *be)
{
    BrPacing *pc = &be->pacing;
    g_autoptr(GError) err = NULL;
    pc->done = true;
    say("  bench timer floor (1 s)...");
    pc->timer_floor_us = timer_floor(1.0);
    g_autofree char *so = stream_opts(1, VIRTIO_SND_D_OUTPUT);
    g_autoptr(BpProc) p = spawn(be, 1, so, &err);
    if (!p) {
        pc->error = g_strdup(err->message);
        return;
    }
    g_autoptr(BgDev) dev = open_dev(p, &err);
    if (!dev) {
        pc->error = proc_error(p, err);
        return;
    }
    g_autoptr(GArray) ids = bg_streams_of(dev, VIRTIO_SND_D_OUTPUT, 1);
    if (ids->len == 0) {
        pc->error = g_strdup("no playback stream");
        return;
    }
    g_autoptr(BgIo) io = bg_io_new(dev, VIRTIO_SND_D_OUTPUT, (uint32_t *)ids->data, 1,
                                   (unsigned int)opt.depth, PERIOD_BYTES, true);
    say("  one playback stream for %.0f s...", opt.pace_seconds);
    if (!bg_io_start(io, &err) ||
        !bg_io_run(io, bg_io_start_ns(io, 0) + (int64_t)(opt.pace_seconds * 1e9), &err)) {
        pc->error = proc_error(p, err);
        return;
    }
    pc->seconds = opt.pace_seconds;
    pc->bench_max_gap_ms = (double)bg_io_stats(io)->max_gap_ns / 1e6;
    analyse_pacing(pc, bg_io_start_ns(io, 0), bg_io_times(io, 0));
    bg_io_stop(io, NULL);
    if (!pc->error)
        say("  pacing: |dev| median %.0f us p99 %.0f us, drift %.2f ppm; added latency median %.0f "
            "us p99 %.0f us (%.0f periods buffered, %" G_GUINT64_FORMAT " ahead of phase, %"
            G_GUINT64_FORMAT " period slips, longest gap between our wakeups %.1f ms)",
            pc->dev_us.median, pc->dev_us.p99, pc->drift_ppm, pc->added_us.median,
            pc->added_us.p99, pc->buffer_periods, pc->early, pc->slips, pc->bench_max_gap_ms);
}

/* ------------------------------------------------------------------ */
/* 4 + 5. idle cost and control throughput on one connection */

/* A stream configured and prepared like Linux does at snd_pcm_prepare()
 * (MSG_POLLING selected if offered), but not started: an application that
 * holds its PCM open between sounds.  Nothing plays, so nothing should
 * wake the back-end.  The stream is released afterwards. */
static void idle_prepared(BrBackend *be, BpProc *p, BgDev *dev)
{
    BrIdle *id = &be->idle;
    g_autoptr(GError) err = NULL;
    g_autoptr(GArray) ids = bg_streams_of(dev, VIRTIO_SND_D_OUTPUT, 1);
    if (ids->len == 0)
        return;
    uint32_t sid = g_array_index(ids, uint32_t, 0);
    int st = bg_pcm_set_params(dev, sid, PERIOD_BYTES * 4, PERIOD_BYTES, 2,
                               VIRTIO_SND_PCM_FMT_S16, VIRTIO_SND_PCM_RATE_48000,
                               bg_linux_features(dev, sid), &err);
    if (st == VIRTIO_SND_S_OK)
        st = bg_pcm_simple(dev, VIRTIO_SND_R_PCM_PREPARE, sid, &err);
    if (st != VIRTIO_SND_S_OK)
        return;
    sleep_ns(300000000);
    BpSample a, b;
    bp_sample(p, &a);
    sleep_ns((int64_t)(opt.idle_seconds * 1e9 / 2));
    if (bp_sample(p, &b)) {
        id->prepared_done = true;
        id->prepared_wakeups_per_s =
            (double)(b.vol_cs + b.invol_cs - a.vol_cs - a.invol_cs) / ((double)(b.t_ns - a.t_ns) / 1e9);
        id->prepared_cpu_pct = 100.0 * (double)(b.cpu_ns - a.cpu_ns) / (double)(b.t_ns - a.t_ns);
        say("  idle with one prepared, not started stream%s: %.1f wakeups/s, %.4f %% CPU",
            bg_linux_features(dev, sid) & (1u << VIRTIO_SND_PCM_F_MSG_POLLING)
                ? " (MSG_POLLING)" : "",
            id->prepared_wakeups_per_s, id->prepared_cpu_pct);
    }
    bg_pcm_simple(dev, VIRTIO_SND_R_PCM_RELEASE, sid, NULL);
}

static void run_idle_ctl(BrBackend *be)
{
    BrIdle *id = &be->idle;
    BrCtl *ct = &be->ctl;
    g_autoptr(GError) err = NULL;
    id->done = true;
    g_autoptr(BpProc) p = spawn(be, 2, "", &err);
    if (!p) {
        id->error = g_strdup(err->message);
        return;
    }
    g_autoptr(BgDev) dev = open_dev(p, &err);
    if (!dev) {
        id->error = proc_error(p, err);
        return;
    }
    if (want("idle")) {
        sleep_ns(300000000);  /* let start-up work settle */
        BpSample a, b;
        bp_sample(p, &a);
        say("  idle for %.0f s...", opt.idle_seconds);
        sleep_ns((int64_t)(opt.idle_seconds * 1e9));
        if (!bp_sample(p, &b)) {
            id->error = proc_error(p, NULL);
            return;
        }
        id->seconds = (double)(b.t_ns - a.t_ns) / 1e9;
        id->switches = b.vol_cs + b.invol_cs - a.vol_cs - a.invol_cs;
        id->wakeups_per_s = (double)id->switches / id->seconds;
        id->cpu_pct = 100.0 * (double)(b.cpu_ns - a.cpu_ns) / 1e9 / id->seconds;
        id->threads = b.threads;
        id->rss_kb = b.rss_kb;
        id->anon_kb = b.anon_kb;
        id->file_kb = b.file_kb;
        id->shmem_kb = b.shmem_kb;
        id->pss_kb = b.pss_kb;
        say("  idle: %" G_GUINT64_FORMAT " wakeups in %.1f s, %.4f %% CPU, %d threads, RSS %ld KiB "
            "(anon %ld, file %ld, shmem %ld), PSS %ld KiB", id->switches, id->seconds, id->cpu_pct,
            id->threads, id->rss_kb, id->anon_kb, id->file_kb, id->shmem_kb, id->pss_kb);
    }
    if (want("idle"))
        idle_prepared(be, p, dev);
    if (!want("ctl"))
        return;
    ct->done = true;
    g_autoptr(GArray) rtt = bs_new();
    int64_t t_end = bp_now_ns() + (int64_t)(opt.ctl_seconds * 1e9);
    uint64_t nsync = 0;
    int64_t t0 = bp_now_ns();
    while (bp_now_ns() < t_end) {
        int64_t ns;
        int st = bg_pcm_info_one(dev, 0, &ns, &err);
        if (st != VIRTIO_SND_S_OK) {
            ct->error = st < 0 ? proc_error(p, err) : g_strdup_printf("PCM_INFO status 0x%x", st);
            return;
        }
        bs_add(rtt, (double)ns / 1e3);
        nsync++;
    }
    ct->sync_per_s = (double)nsync / ((double)(bp_now_ns() - t0) / 1e9);
    ct->rtt_us = bs_summarize(rtt);
    unsigned int burst = MIN(BG_BURST_MAX, (unsigned int)opt.queue_size / (bg_indirect(dev) ? 1 : 3));
    uint64_t nburst = 0;
    int64_t busy = 0;
    t_end = bp_now_ns() + (int64_t)(opt.ctl_seconds * 1e9);
    while (bp_now_ns() < t_end) {
        int64_t ns = bg_ctl_burst(dev, burst, &err);
        if (ns < 0) {
            ct->error = proc_error(p, err);
            return;
        }
        busy += ns;
        nburst += burst;
    }
    ct->burst_per_s = (double)nburst / ((double)busy / 1e9);
    say("  control: %.0f round trips/s (rtt median %.1f us, p99 %.1f us); bursts of %u: %.0f/s",
        ct->sync_per_s, ct->rtt_us.median, ct->rtt_us.p99, burst, ct->burst_per_s);
}

/* ------------------------------------------------------------------ */
/* 6. start-up and migration */

static void run_startup(BrBackend *be)
{
    BrStartup *s = &be->startup;
    s->done = true;
    g_autoptr(GArray) ms = bs_new();
    for (int i = 0; i < opt.startup_runs; i++) {
        g_autoptr(GError) err = NULL;
        BpVars v = { .daemon = opt.daemon, .streams = 2, .stream_opts = "" };
        g_autoptr(BpProc) p = bp_spawn(be->cmd, &v, &err);
        if (!p) {
            s->error = g_strdup(err->message);
            return;
        }
        int64_t ns = bp_wait_listening(p, true, 5000);
        if (ns < 0) {
            g_autofree char *tail = bp_stderr_tail(p, 400);
            s->error = g_strdup_printf("no listening socket within 5 s (%s): %s", bp_cmdline(p),
                                       tail);
            return;
        }
        bs_add(ms, (double)ns / 1e6);
    }
    s->ms = bs_summarize(ms);
    say("  start-up to listening socket: median %.2f ms, max %.2f ms (%d runs)", s->ms.median,
        s->ms.max, opt.startup_runs);
}

static void run_migration(BrBackend *be)
{
    BrMigration *m = &be->mig;
    g_autoptr(GError) err = NULL;
    m->done = true;
    g_autoptr(BpProc) pa = spawn(be, 2, "", &err);
    if (!pa) {
        m->error = g_strdup(err->message);
        return;
    }
    g_autoptr(BgDev) dev = open_dev(pa, &err);
    if (!dev) {
        m->error = proc_error(pa, err);
        return;
    }
    if (!ff_has_protocol(dev->ff, FF_PROTO_F_DEVICE_STATE)) {
        m->error = g_strdup("not supported: VHOST_USER_PROTOCOL_F_DEVICE_STATE not offered");
        say("  migration: %s", m->error);
        return;
    }
    m->supported = true;
    /* Something worth saving: stream 0 configured.  Then the rings are
     * stopped without a status reset (the device keeps its state), as
     * before a device-state save (vhost-user.rst "Migrating back-end
     * state"). */
    uint32_t bases[4];
    if (bg_pcm_set_params(dev, 0, PERIOD_BYTES * 4, PERIOD_BYTES, 2, VIRTIO_SND_PCM_FMT_S16,
                          VIRTIO_SND_PCM_RATE_48000, bg_linux_features(dev, 0), &err) < 0 ||
        !ff_suspend(dev->ff, bases, &err)) {
        m->error = proc_error(pa, err);
        return;
    }
    g_autoptr(GArray) save = bs_new();
    g_autoptr(GArray) load = bs_new();
    for (int i = 0; i < opt.mig_runs; i++) {
        int64_t t0 = bp_now_ns();
        g_autoptr(GBytes) state = ff_save_state(dev->ff, &err);
        int64_t t1 = bp_now_ns();
        if (!state) {
            g_prefix_error(&err, "save: ");
            m->error = proc_error(pa, err);
            return;
        }
        m->bytes = g_bytes_get_size(state);
        bs_add(save, (double)(t1 - t0) / 1e6);
        g_autoptr(BpProc) pb = spawn(be, 2, "", &err);
        if (!pb) {
            m->error = g_strdup(err->message);
            return;
        }
        g_autoptr(FfConn) ffb = bg_connect(bp_socket(pb), 5000, false, &err);
        if (ffb) {
            *ff_setup(ffb) = *ff_setup(dev->ff);
            if (!ff_realize(ffb, &err))
                g_clear_pointer(&ffb, ff_free);
        }
        if (!ffb) {
            m->error = proc_error(pb, err);
            return;
        }
        t0 = bp_now_ns();
        bool ok = ff_load_state(ffb, state, &err);
        t1 = bp_now_ns();
        if (!ok) {
            g_prefix_error(&err, "load: ");
            m->error = proc_error(pb, err);
            return;
        }
        bs_add(load, (double)(t1 - t0) / 1e6);
        if (i == opt.mig_runs - 1) {
            /* The destination takes over the guest's rings; the stream
             * parameters must have come along: PREPARE without SET_PARAMS. */
            SgGuest *sg = dev->sg;
            FfConn *src = sg->ff;
            int st = -1;
            if (ff_start(ffb, sg->mem, sg->vq, bases, &err)) {
                sg->ff = ffb;
                st = bg_pcm_simple(dev, VIRTIO_SND_R_PCM_PREPARE, 0, &err);
                sg->ff = src;
            }
            m->verified = st == VIRTIO_SND_S_OK;
            if (!m->verified)
                m->verify_error = st < 0 ? g_strdup(err ? err->message : "failed")
                                         : g_strdup_printf("PREPARE after load answered 0x%x", st);
            g_clear_error(&err);
        }
    }
    m->save_ms = bs_summarize(save);
    m->load_ms = bs_summarize(load);
    say("  migration: %" G_GUINT64_FORMAT " bytes, save median %.3f ms, load median %.3f ms; "
        "destination continues: %s", m->bytes, m->save_ms.median, m->load_ms.median,
        m->verified ? "yes" : m->verify_error);
}

/* ------------------------------------------------------------------ */

static void note_error(const char *what, const char *error)
{
    if (error)
        say("  %s: ERROR: %s", what, error);
}

static void run_backend(BrBackend *be, BrRun *run)
{
    say("== %s: %s", be->name, be->cmd);
    be->unpaced_io = g_strdup(
        "not measured: the null driver is paced by the real clock and no back-end option "
        "completes I/O unpaced (clock=manual only moves inside a test process); see cpu_us_per_msg "
        "for the cost of one I/O message");
    if (want("startup")) {
        say(" start-up");
        run_startup(be);
        note_error("start-up", be->startup.error);
    }
    if (want("idle") || want("ctl")) {
        say(" idle and control");
        run_idle_ctl(be);
        note_error("idle", be->idle.error);
        note_error("control", be->ctl.error);
    }
    if (want("cpu")) {
        for (int d = 0; d < 2; d++) {
            say(" cpu (%s, %.1f s per point)", d == 0 ? "playback" : "capture", opt.cpu_seconds);
            unsigned int last = 0;
            for (unsigned int ci = 0; ci < BR_NCOUNTS; ci++) {
                run_cpu(be, d, ci, &be->idle.rss8_kb);
                BrCpu *c = &be->cpu[d][ci];
                note_error("cpu", c->error);
                /* The back-end offers no more streams: larger counts repeat. */
                if (!c->error && c->streams == last && c->streams < c->requested) {
                    g_free(c->error);
                    c->error = g_strdup_printf("only %u streams offered", c->streams);
                    break;
                }
                last = c->streams;
            }
        }
    }
    if (want("pacing")) {
        say(" pacing and added latency");
        run_pacing(be);
        note_error("pacing", be->pacing.error);
    }
    if (want("migration")) {
        say(" migration");
        run_migration(be);
        if (be->mig.supported)
            note_error("migration", be->mig.error);
    }
    (void)run;
}

static char *timestamp(bool for_path)
{
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    return g_date_time_format(now, for_path ? "%Y%m%d-%H%M%S" : "%Y-%m-%dT%H:%M:%SZ");
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    GOptionEntry entries[] = {
        { "daemon", 0, 0, G_OPTION_ARG_FILENAME, &opt.daemon,
          "Our daemon ({daemon}; default $VSND_DAEMON or ./vhost-user-snd)", "PATH" },
        { "backend", 0, 0, G_OPTION_ARG_STRING, &opt.ours,
          "Command template of the back-end under test (default: our daemon, null driver)",
          "CMD" },
        { "compare", 0, 0, G_OPTION_ARG_STRING, &opt.compare,
          "Also measure this back-end command template and compare", "CMD" },
        { "compare-name", 0, 0, G_OPTION_ARG_STRING, &opt.compare_name,
          "Name of the compared back-end in the report", "NAME" },
        { "output", 'o', 0, G_OPTION_ARG_FILENAME, &opt.outdir,
          "Results directory (default results/<timestamp>)", "DIR" },
        { "quick", 'q', 0, G_OPTION_ARG_NONE, &opt.quick, "Short runs (a few seconds)", NULL },
        { "only", 0, 0, G_OPTION_ARG_STRING, &opt.only,
          "Comma-separated subset: startup,idle,ctl,cpu,pacing,migration", "LIST" },
        { "no-msg-polling", 0, 0, G_OPTION_ARG_NONE, &opt.no_polling,
          "Do not negotiate MSG_POLLING even if offered (Linux does): kick every queued period",
          NULL },
        { "queue-size", 0, 0, G_OPTION_ARG_INT, &opt.queue_size,
          "Ring size (default 256; QEMU uses 64)", "N" },
        { "depth", 0, 0, G_OPTION_ARG_INT, &opt.depth, "Periods queued per stream (default 4)",
          "N" },
        { "cpu-seconds", 0, 0, G_OPTION_ARG_DOUBLE, &opt.cpu_seconds, "Per CPU point", "S" },
        { "pace-seconds", 0, 0, G_OPTION_ARG_DOUBLE, &opt.pace_seconds, "Pacing run", "S" },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("- benchmark vhost-user sound back-ends");
    g_option_context_set_description(ctx,
        "Templates may use {socket}, {streams}, {daemon} and {stream_opts} (our daemon's\n"
        "--stream=ID:dir=... options). Example:\n"
        "  vsnd-bench --quick --compare='vhost-device-sound --socket {socket} --backend null'\n");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_autoptr(GError) err = NULL;
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        fprintf(stderr, "vsnd-bench: %s\n", err->message);
        return 2;
    }
    if (opt.queue_size < 16 || opt.queue_size > 32768 || (opt.queue_size & (opt.queue_size - 1)) ||
        opt.depth < 1 || opt.depth > 64) {
        fprintf(stderr, "vsnd-bench: --queue-size must be a power of two 16..32768, --depth 1..64\n");
        return 2;
    }
    if (!opt.daemon) {
        const char *env = g_getenv("VSND_DAEMON");
        opt.daemon = g_strdup(env && *env ? env : "./vhost-user-snd");
    }
    if (!opt.cpu_seconds)
        opt.cpu_seconds = opt.quick ? 0.5 : 10;
    if (!opt.pace_seconds)
        opt.pace_seconds = opt.quick ? 2 : 60;
    opt.idle_seconds = opt.quick ? 1 : 10;
    opt.ctl_seconds = opt.quick ? 0.3 : 2;
    opt.startup_runs = opt.quick ? 5 : 30;
    opt.mig_runs = opt.quick ? 3 : 10;

    BrRun run = { 0 };
    run.started = timestamp(false);
    run.quick = opt.quick;
    run.queue_size = (unsigned int)opt.queue_size;
    run.depth = (unsigned int)opt.depth;
    run.no_polling = opt.no_polling;
    struct utsname un;
    uname(&un);
    run.host = g_strdup_printf("%s %s %s, %ld online CPUs", un.sysname, un.release, un.machine,
                               sysconf(_SC_NPROCESSORS_ONLN));
    run.be[0] = g_new0(BrBackend, 1);
    run.be[0]->name = g_strdup("vhost-user-snd");
    run.be[0]->cmd = g_strdup(opt.ours ? opt.ours : OURS_TEMPLATE);
    run.nbe = 1;
    if (opt.compare) {
        run.be[1] = g_new0(BrBackend, 1);
        run.be[1]->name = g_strdup(opt.compare_name ? opt.compare_name : "other");
        run.be[1]->cmd = g_strdup(opt.compare);
        run.nbe = 2;
    }
    if (!opt.outdir) {
        g_autofree char *ts = timestamp(true);
        opt.outdir = g_build_filename("results", ts, NULL);
    }
    if (g_mkdir_with_parents(opt.outdir, 0755) < 0) {
        fprintf(stderr, "vsnd-bench: cannot create %s: %s\n", opt.outdir, g_strerror(errno));
        return 1;
    }
    run.wakeup_cpu_us = wakeup_floor_us();
    say("machine floor: %.1f us of CPU per bare wakeup", run.wakeup_cpu_us);
    for (unsigned int i = 0; i < run.nbe; i++)
        run_backend(run.be[i], &run);
    if (!br_write(&run, opt.outdir, &err)) {
        fprintf(stderr, "vsnd-bench: %s\n", err->message);
        return 1;
    }
    say("results: %s/report.md", opt.outdir);
    for (unsigned int i = 0; i < run.nbe; i++)
        br_backend_free(run.be[i]);
    g_free(run.started);
    g_free(run.host);
    return 0;
}
