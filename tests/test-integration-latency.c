/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-integration-latency.c - latency_bytes against what the server
 * really does (issues 12 and 16: "latency_bytes reported to the guest
 * agrees with what PipeWire reports for the stream within one period").
 *
 * A fake guest keeping Linux's books (tests/harness/sg-alsa.h) plays,
 * through the real daemon, a signal whose every frame says its own index;
 * for each tx completion it notes when it took it (t_c), latency_bytes (L)
 * and the stream position after the completed message (E).  Recorders in
 * this process take the sink's monitor and note when each frame passed
 * the sink, in the server's own time (heard-clock.h).  latency_bytes says
 * that a guest that stopped writing now would still hear L bytes, so the
 * end of the completed message passes the sink at t_c + L / byte rate:
 * for every completion once the sink is playing the stream, that
 * prediction and the recorded time agree within one guest period, and
 * every frame arrives once, in order.  The same check with L taken as 0
 * must fail (the check can tell a right latency from a wrong one).
 *
 * PipeWire's own report for the stream (pw_stream_get_time_n, logged by
 * the daemon with --verbose, and the port latencies of pw-dump) is shown
 * next to it: for the test's null sink it is a graph cycle at most, and
 * says nothing of the daemon's ring, so the judge is PipeWire's timing.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_snd.h>

#include "tests/audio/audio-test-util.h"
#include "tests/audio/heard-clock-pw.h"
#include "tests/harness/daemon.h"
#include "tests/harness/sg-alsa.h"
#include "tests/harness/snd-guest.h"

#define RATE 48000
#define CH 2
#define FRAME 4
#define NS_PER_FRAME (1e9 / RATE)
#define N_RECORDERS 2

typedef struct LatCase {
    const char *name;
    unsigned int quantum;      /* clock.force-quantum */
    uint32_t period_frames;
    uint32_t periods;
    /* issue 16: at a 256-frame quantum a quantum now and then is lost or
     * garbled at the sink, in every recording (test-guest-desktop's known
     * failure); counted and shown here, judged there */
    bool known_quantum_loss;
} LatCase;

static const LatCase cases[] = {
    { "quantum-1024/period-20ms", 1024, 960, 4 },
    { "quantum-1024/period-50ms", 1024, 2400, 4 },
    { "quantum-1024/period-5ms", 1024, 240, 16 },   /* a period well below the quantum */
    { "quantum-256/period-20ms", 256, 960, 4, true },
};

/* ---- the signal: every frame says its index ---------------------------- */

/* Frame i holds i + 1 in 14-bit halves, each tagged with bit 14, so no
 * frame is silence and every sample is a positive value well inside S16
 * (the servers' float conversions keep it exact). */
static void frame_encode(size_t i, int16_t *out)
{
    uint32_t v = (uint32_t)i + 1;

    out[0] = (int16_t)(0x4000 | (v & 0x3fff));
    out[1] = (int16_t)(0x4000 | ((v >> 14) & 0x3fff));
}

/* Return: the frame index, -1 for silence, -2 for anything else. */
static long frame_decode(const int16_t *in)
{
    if (in[0] == 0 && in[1] == 0)
        return -1;
    if ((in[0] & 0xc000) != 0x4000 || (in[1] & 0xc000) != 0x4000)
        return -2;
    uint32_t v = ((uint32_t)in[0] & 0x3fff) | (((uint32_t)in[1] & 0x3fff) << 14);
    return v ? (long)v - 1 : -2;
}

static int16_t *signal_new(size_t frames)
{
    int16_t *s = g_new(int16_t, frames * CH);

    for (size_t i = 0; i < frames; i++)
        frame_encode(i, s + i * CH);
    return s;
}

/* ---- what the recordings say ------------------------------------------- */

typedef struct Heard {
    int64_t *at_ns;            /* per frame of the signal, -1 if no recording has it */
    size_t missing;
    unsigned int out_of_order; /* frames older than one recorded before them */
    unsigned int garbage;      /* frames that are neither silence nor the signal */
    int16_t garbage_first[2];
    unsigned int jumps;        /* places a recording skips frames */
} Heard;

/* When each frame of the signal (@frames) passed the sink, from every
 * recording: a frame one recorder lost (late for its cycle) is taken from
 * the other. */
static void heard_from(Heard *h, const HcRecording *rec, unsigned int nrec, size_t frames)
{
    memset(h, 0, sizeof(*h));
    h->at_ns = g_new(int64_t, frames);
    for (size_t i = 0; i < frames; i++)
        h->at_ns[i] = -1;
    for (unsigned int r = 0; r < nrec; r++) {
        long last = -1;

        for (size_t c = 0; c < rec[r].nchunks; c++) {
            const HcChunk *ch = &rec[r].chunks[c];

            for (uint32_t j = 0; j < ch->frames; j++) {
                long idx = frame_decode(rec[r].samples + (ch->first + j) * CH);

                if (idx == -1)
                    continue;
                if (idx < 0 || (size_t)idx >= frames) {
                    if (!h->garbage++)
                        memcpy(h->garbage_first, rec[r].samples + (ch->first + j) * CH,
                               sizeof(h->garbage_first));
                    continue;
                }
                if (idx <= last)
                    h->out_of_order++;
                else if (idx != last + 1 && last >= 0)
                    h->jumps++;
                last = idx;
                if (h->at_ns[idx] < 0)
                    h->at_ns[idx] = ch->heard_ns + (int64_t)(j * NS_PER_FRAME);
            }
        }
    }
    for (size_t i = 0; i < frames; i++)
        h->missing += h->at_ns[i] < 0;
}

/* Whether frame @idx of the signal is in @rec yet (the last chunks). */
static bool recorded(const HcRecording *rec, size_t idx)
{
    size_t n = __atomic_load_n(&rec->frames, __ATOMIC_ACQUIRE);

    for (size_t i = n; i > 0 && n - i < 8192; i--)
        if (frame_decode(rec->samples + (i - 1) * CH) == (long)idx)
            return true;
    return false;
}

/* ---- the comparison ------------------------------------------------------ */

/*
 * The guest takes a completion some time after the device made it (it may
 * be busy queueing the next periods, or not scheduled, on a loaded
 * machine), so it knows the moment only within [t_lo, t_c]: t_lo is when
 * it last found no new completion.  The error is within [ms, ms_hi]
 * accordingly; ms (with t_c) is the figure reported.
 */
typedef struct Errors {
    double *ms;
    double *ms_hi;
    unsigned int n;
    unsigned int skipped;     /* before the sink played the stream's first frame */
    unsigned int unheard;     /* the recordings lack the message's end */
} Errors;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/*
 * heard(E) - (t_c + L / rate) per completion, in ms; @forced_latency >= 0
 * puts that in place of every L (the check with a wrong latency).
 * Completions before the sink took the stream's first frame are skipped:
 * until the graph pulls, no one knows when it will.
 */
static void errors_of(Errors *e, const SgAlsaCompletion *tr, unsigned int n, const Heard *h,
                      size_t frames, long forced_latency)
{
    memset(e, 0, sizeof(*e));
    e->ms = g_new(double, n ? n : 1);
    e->ms_hi = g_new(double, n ? n : 1);
    for (unsigned int k = 0; k < n; k++) {
        size_t end = (size_t)(tr[k].end_bytes / FRAME);
        int64_t t_c = tr[k].t_us * 1000;
        double lat = forced_latency >= 0 ? (double)forced_latency : (double)tr[k].latency_bytes;

        if (h->at_ns[0] < 0 || t_c < h->at_ns[0]) {
            e->skipped++;
            continue;
        }
        if (end == 0 || end > frames || h->at_ns[end - 1] < 0) {
            e->unheard++;
            continue;
        }
        double heard = (double)h->at_ns[end - 1] + NS_PER_FRAME;
        double predicted = (double)t_c + lat / FRAME * NS_PER_FRAME;
        double predicted_lo = (double)tr[k].t_lo_us * 1000 + lat / FRAME * NS_PER_FRAME;
        e->ms_hi[e->n] = (heard - predicted_lo) / 1e6;
        e->ms[e->n++] = (heard - predicted) / 1e6;
    }
}

/* min/median/max of @e in ms.  Return: how many completions' errors
 * cannot lie within @tol_ms (ms above it, or ms_hi below -tol). */
static unsigned int errors_summary(const Errors *e, double tol_ms, char **text)
{
    g_autofree double *s = g_memdup2(e->ms, sizeof(double) * (e->n ? e->n : 1));
    unsigned int bad = 0, late = 0;

    qsort(s, e->n, sizeof(double), cmp_double);
    for (unsigned int i = 0; i < e->n; i++) {
        bad += e->ms[i] > tol_ms || e->ms_hi[i] < -tol_ms;
        late += e->ms[i] < -tol_ms && e->ms_hi[i] >= -tol_ms;
    }
    *text = e->n ? g_strdup_printf("%u completions: min %.1f median %.1f max %.1f ms; %u "
                                   "outside the tolerance, %u more only as the guest took "
                                   "them late", e->n, s[0], s[e->n / 2], s[e->n - 1], bad,
                                   late)
                 : g_strdup("no completions");
    return bad;
}

/* ---- PipeWire's own report -------------------------------------------- */

/* What the daemon logged from pw_stream_get_time_n (--verbose) over the
 * play, as one line. */
static char *pw_time_summary(const char *daemon_log)
{
    g_auto(GStrv) lines = g_strsplit(daemon_log ? daemon_log : "", "\n", -1);
    int64_t dmin = G_MAXINT64, dmax = G_MININT64;
    uint64_t qmin = G_MAXUINT64, qmax = 0, bmax = 0, rmin = G_MAXUINT64, rmax = 0;
    int64_t cmin = G_MAXINT64, cmax = G_MININT64;
    unsigned int n = 0, num = 0, denom = 0;

    for (char **l = lines; *l; l++) {
        const char *p = strstr(*l, "pipewire: stream ");
        uint64_t lat, ring, queued, buffered;
        int64_t now, delay, left;
        unsigned int sid, rn, rd;

        if (!p || sscanf(p, "pipewire: stream %u latency %" SCNu64 " B: ring %" SCNu64
                         " B, pw_time now %" SCNd64 " delay %" SCNd64 " x %u/%u s queued %"
                         SCNu64 " buffered %" SCNu64 ", cycle left %" SCNd64, &sid, &lat,
                         &ring, &now, &delay, &rn, &rd, &queued, &buffered, &left) != 10)
            continue;
        n++;
        dmin = MIN(dmin, delay);
        dmax = MAX(dmax, delay);
        qmin = MIN(qmin, queued);
        qmax = MAX(qmax, queued);
        cmin = MIN(cmin, left);
        cmax = MAX(cmax, left);
        bmax = MAX(bmax, buffered);
        rmin = MIN(rmin, ring);
        rmax = MAX(rmax, ring);
        num = rn;
        denom = rd;
    }
    if (!n)
        return g_strdup("pw_stream_get_time_n: nothing logged");
    return g_strdup_printf("pw_stream_get_time_n over %u completions: delay %" G_GINT64_FORMAT
                           "..%" G_GINT64_FORMAT " x %u/%u s, queued %" G_GUINT64_FORMAT "..%"
                           G_GUINT64_FORMAT " frames, buffered <= %" G_GUINT64_FORMAT
                           " frames; the daemon's ring %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT
                           " B, the rest of the cycle %.1f..%.1f ms",
                           n, dmin, dmax, num, denom, qmin, qmax, bmax, rmin, rmax, cmin / 1e6,
                           cmax / 1e6);
}

/* The latency PipeWire shows for the nodes in a pw-dump saved at @path:
 * node.latency and the ports' Latency params of @node and test_sink. */
static char *pw_dump_latency(const char *path, const char *node)
{
    g_autofree char *qpath = g_shell_quote(path);
    g_autofree char *script = g_strdup_printf(
        "python3 -c 'import json,sys\n"
        "objs = json.JSONDecoder().raw_decode(open(sys.argv[1]).read())[0]\n"
        "names = {}\n"
        "for o in objs:\n"
        "    if o.get(\"type\") == \"PipeWire:Interface:Node\":\n"
        "        pr = (o.get(\"info\") or {}).get(\"props\") or {}\n"
        "        if pr.get(\"node.name\") in (sys.argv[2], \"test_sink\"):\n"
        "            names[o[\"id\"]] = pr.get(\"node.name\")\n"
        "            print(pr.get(\"node.name\"), \"node.latency\", pr.get(\"node.latency\"))\n"
        "for o in objs:\n"
        "    if o.get(\"type\") != \"PipeWire:Interface:Port\": continue\n"
        "    i = o.get(\"info\") or {}\n"
        "    n = names.get((i.get(\"props\") or {}).get(\"node.id\"))\n"
        "    if n is None: continue\n"
        "    for l in (i.get(\"params\") or {}).get(\"Latency\", []):\n"
        "        print(n, (i.get(\"props\") or {}).get(\"port.name\"), l.get(\"direction\"),\n"
        "              \"quantum\", l.get(\"minQuantum\"), l.get(\"maxQuantum\"),\n"
        "              \"rate\", l.get(\"minRate\"), l.get(\"maxRate\"),\n"
        "              \"ns\", l.get(\"minNs\"), l.get(\"maxNs\"))\n"
        "' %s %s", qpath, node);
    const char *argv[] = { "sh", "-c", script, NULL };
    char *out = NULL;

    if (!g_file_test(path, G_FILE_TEST_EXISTS))
        return g_strdup("pw-dump: the stream's node was never seen");
    if (atu_run(argv, &out) != 0 || !out) {
        g_free(out);
        return g_strdup("pw-dump: could not be read");
    }
    return out;
}

/* ---- the PipeWire set-up --------------------------------------------------- */

typedef struct Lat {
    char *dir;
    char *log;
    AtuPipewire pw;
    AtuEnvSaved *env;
    VdProc *vd;
    SgGuest *sg;
} Lat;

static const char *const env_names[] = {
    "HOME", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "PIPEWIRE_RUNTIME_DIR",
    "PIPEWIRE_REMOTE", "PIPEWIRE_PROPS", NULL,
};

static bool pw_prereqs(void)
{
    const char *const progs[] = { "pipewire", "wireplumber", "pw-metadata", "pw-dump", "python3",
                                  NULL };

    return vd_require() && atu_have_programs(progs) &&
           atu_have_module("pipewire", "libpipewire-0.3-dev missing");
}

static void lat_servers_up(Lat *l, unsigned int quantum)
{
    g_autofree char *home = NULL;

    memset(l, 0, sizeof(*l));
    l->dir = atu_tmpdir_in_memory("vsnd-ilat-XXXXXX");
    l->log = g_build_filename(l->dir, "servers.log", NULL);
    l->env = atu_env_save(env_names);
    home = g_build_filename(l->dir, "home", NULL);
    g_assert_cmpint(g_mkdir_with_parents(home, 0700), ==, 0);
    g_setenv("HOME", home, TRUE);
    atu_pipewire_env(l->dir);
    g_assert_true(atu_pipewire_start(&l->pw, l->log, 20.0));
    g_assert_true(atu_pipewire_force_quantum(quantum));
}

static void lat_guest_up(Lat *l, const char *const *argv)
{
    g_autoptr(GError) err = NULL;
    SgOpts o;

    l->vd = vd_spawn_ready_argv(argv, &err);
    g_assert_no_error(err);
    sg_opts_init(&o);
    o.packed = true; /* as Linux negotiates with QEMU 10 */
    l->sg = sg_connect(l->vd, &o, &err);
    g_assert_no_error(err);
    g_assert_true(sg_boot(l->sg, &err));
    g_assert_no_error(err);
}

static void lat_down(Lat *l)
{
    if (g_test_failed() && l->vd) {
        g_autofree char *log = vd_stderr(l->vd);
        g_test_message("daemon stderr (tail):\n%s",
                       log && strlen(log) > 4000 ? log + strlen(log) - 4000 : log);
    }
    sg_free(l->sg);
    vd_free(l->vd);
    atu_pipewire_stop(&l->pw);
    if (g_test_failed()) {
        g_autofree char *log = NULL;
        g_file_get_contents(l->log, &log, NULL, NULL);
        g_test_message("server log:\n%s", log ? log : "");
    }
    atu_env_restore(l->env);
    if (g_getenv("VSND_KEEP"))
        g_test_message("kept %s", l->dir);
    else
        atu_rmdir(l->dir);
    g_free(l->dir);
    g_free(l->log);
}

static int playback_stream(SgGuest *sg)
{
    for (uint32_t i = 0; i < sg->streams; i++)
        if (sg->pcm[i].direction == VIRTIO_SND_D_OUTPUT)
            return (int)i;
    return -1;
}

/* ---- the check ---------------------------------------------------------- */

/*
 * Play @frames of the signal with @lc's geometry; @trace gets the
 * completions.  Return: how many.
 */
static unsigned int play(Lat *l, const LatCase *lc, const int16_t *sig, size_t frames,
                         SgAlsaCompletion *trace, unsigned int cap)
{
    g_autoptr(GError) err = NULL;
    int sid = playback_stream(l->sg);
    SgAlsaStats st;

    g_assert_cmpint(sid, >=, 0);
    SgAlsaParams p = {
        .sid = (uint32_t)sid, .period_bytes = lc->period_frames * FRAME,
        .buffer_bytes = lc->period_frames * FRAME * lc->periods, .channels = CH,
        .format = VIRTIO_SND_PCM_FMT_S16, .rate = VIRTIO_SND_PCM_RATE_48000,
        .frame_bytes = FRAME, .rate_hz = RATE, .trace = trace, .trace_cap = cap,
    };
    bool ok = sg_alsa_play(l->sg, &p, sig, frames * FRAME, &st, &err);

    g_test_message("%u completions in %u interrupts, %.2f s; latency_bytes last %u max %u",
                   st.completions, st.interrupts, st.seconds, st.latency_last, st.latency_max);
    g_assert_no_error(err);
    g_assert_true(ok);
    return st.traced;
}

/* The judgement, shared by the servers: every frame once and in order,
 * every completion within @tol_ms, and L = 0 found wrong. */
static void judge(const char *what, const SgAlsaCompletion *trace, unsigned int n,
                  const HcRecording *rec, unsigned int nrec, size_t frames, double tol_ms,
                  bool known_loss)
{
    g_autofree char *text = NULL, *text0 = NULL;
    Heard h;
    Errors e, e0;

    heard_from(&h, rec, nrec, frames);
    for (unsigned int r = 0; r < nrec; r++) {
        int64_t amin = G_MAXINT64, amax = G_MININT64;

        for (size_t c = 0; c < rec[r].nchunks; c++) {
            int64_t a = rec[r].chunks[c].arrived_ns - rec[r].chunks[c].heard_ns;
            amin = MIN(amin, a);
            amax = MAX(amax, a);
        }
        g_test_message("%s: recorder %u: %zu frames in %zu chunks (%u did not fit), got "
                       "%.1f..%.1f ms after they passed the sink", what, r, rec[r].frames,
                       rec[r].nchunks, rec[r].dropped, amin / 1e6, amax / 1e6);
    }
    g_test_message("%s: %zu frames missing from every recording, %u out of order, %u jumps, "
                   "%u garbage (the first %d %d)", what, h.missing, h.out_of_order, h.jumps,
                   h.garbage, h.garbage_first[0], h.garbage_first[1]);
    errors_of(&e, trace, n, &h, frames, -1);
    errors_of(&e0, trace, n, &h, frames, 0);
    unsigned int bad = errors_summary(&e, tol_ms, &text);
    unsigned int bad0 = errors_summary(&e0, tol_ms, &text0);
    g_test_message("%s: heard(E) - (t_c + latency_bytes): %s (%u skipped before the first "
                   "frame was heard, %u ends unheard); tolerance %.1f ms", what, text, e.skipped,
                   e.unheard, tol_ms);
    g_test_message("%s: the same with latency_bytes taken as 0: %s", what, text0);
    if (g_getenv("VSND_LAT_TRACE"))
        for (unsigned int k = 0; k < n; k++)
            g_test_message("  %u: t_c %" G_GINT64_FORMAT " us L %u E %" G_GUINT64_FORMAT
                           " heard %.3f ms after t_c", k, trace[k].t_us,
                           trace[k].latency_bytes, trace[k].end_bytes,
                           h.at_ns[trace[k].end_bytes / FRAME - 1] < 0 ? -1.0 :
                           (h.at_ns[trace[k].end_bytes / FRAME - 1] - trace[k].t_us * 1000) / 1e6);
    g_assert_cmpuint(h.out_of_order, ==, 0);
    if (known_loss && (h.missing || h.garbage))
        g_test_message("%s: frames lost or garbled: issue 16's known loss at this quantum",
                       what);
    if (!known_loss) {
        g_assert_cmpuint(h.missing, ==, 0);
        g_assert_cmpuint(h.garbage, ==, 0);
    }
    /* most completions are judged: only the start is skipped */
    g_assert_cmpuint(e.n, >=, n / 2);
    g_assert_cmpuint(bad, ==, 0);
    /* the check has teeth: no latency at all is told apart */
    g_assert_cmpuint(bad0, >, 0);
    g_free(e.ms);
    g_free(e.ms_hi);
    g_free(e0.ms);
    g_free(e0.ms_hi);
    g_free(h.at_ns);
}

static void test_pipewire(gconstpointer data)
{
    const LatCase *lc = data;
    /* 3 s, whole periods */
    const size_t frames = (size_t)(3 * RATE) / lc->period_frames * lc->period_frames;
    const unsigned int cap = (unsigned int)(frames / lc->period_frames) + 8;
    const char *argv[] = { "--driver=pipewire", "--name=vm-lat", "--streams=1", "--verbose",
                           NULL };
    g_autofree int16_t *sig = signal_new(frames);
    g_autofree SgAlsaCompletion *trace = g_new0(SgAlsaCompletion, cap);
    HcRecording rec[N_RECORDERS];
    HcPw *pw[N_RECORDERS];
    Lat l;

    if (!pw_prereqs())
        return;
    lat_servers_up(&l, lc->quantum);
    for (int i = 0; i < N_RECORDERS; i++) {
        g_autofree char *node = g_strdup_printf("vsnd-ilat-rec-%d", i);
        hc_recording_init(&rec[i], frames + 10 * RATE);
        pw[i] = hc_pw_start("test_sink", node, &rec[i]);
        g_assert_nonnull(pw[i]);
    }
    /* linked and running (WirePlumber links them; under load it takes a
     * while) */
    for (int i = 0; i < N_RECORDERS; i++) {
        gint64 end = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
        while (hc_pw_cycles(pw[i]) < 4 && g_get_monotonic_time() < end)
            g_usleep(10000);
        g_assert_cmpuint(hc_pw_cycles(pw[i]), >=, 4);
    }
    lat_guest_up(&l, argv);
    g_autofree char *dump = g_build_filename(l.dir, "dump.json", NULL);
    GPid watch = atu_pipewire_node_watch("vsnd.vm-lat.playback-0", dump, l.log);

    unsigned int n = play(&l, lc, sig, frames, trace, cap);
    /* the end plays out after STOP (the ring, the graph's quantum) */
    for (int i = 0; i < N_RECORDERS; i++) {
        gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
        while (!recorded(&rec[i], frames - 1) && g_get_monotonic_time() < end)
            g_usleep(20000);
    }
    atu_stop(watch, SIGTERM);
    for (int i = 0; i < N_RECORDERS; i++)
        hc_pw_stop(pw[i]);

    {
        g_autofree char *log = vd_stderr(l.vd);
        g_autofree char *t = pw_time_summary(log);
        g_autofree char *d = pw_dump_latency(dump, "vsnd.vm-lat.playback-0");
        g_test_message("PipeWire's report: %s", t);
        g_test_message("pw-dump:\n%s", d);
    }
    judge(lc->name, trace, n, rec, N_RECORDERS, frames, 1000.0 * lc->period_frames / RATE,
          lc->known_quantum_loss);
    for (int i = 0; i < N_RECORDERS; i++)
        hc_recording_clear(&rec[i]);
    lat_down(&l);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *name = g_strdup_printf("/integration/latency/pipewire/%s",
                                                cases[i].name);
        g_test_add_data_func(name, &cases[i], test_pipewire);
    }
    return g_test_run();
}
