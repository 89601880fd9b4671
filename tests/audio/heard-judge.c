/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * heard-judge.c - see heard-judge.h.
 */
#include "config.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "heard-judge.h"

#define CH 2
#define FRAME 4
#define NS_PER_FRAME (1e9 / 48000)

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

int16_t *hj_signal_new(size_t frames)
{
    int16_t *s = g_new(int16_t, frames * CH);

    for (size_t i = 0; i < frames; i++)
        frame_encode(i, s + i * CH);
    return s;
}

bool hj_signal_whole(const int16_t *rec, size_t n, size_t frames, size_t inside_max,
                     unsigned int jumps, size_t lost_max, GString *m)
{
    size_t next = 0, silent = 0, wrong = 0, first_wrong = 0, inside = 0, lost = 0;

    for (size_t i = 0; i < n; i++) {
        long idx = frame_decode(rec + i * CH);

        if (idx == -1) {
            silent++;
            inside += next > 0 && next < frames;
            continue;
        }
        if (idx != (long)next) {
            if (!wrong++)
                first_wrong = i;
            if (idx < 0)
                continue;
            /* a run the recording lacks (a step back repeats frames) */
            if ((size_t)idx > next)
                lost += (size_t)idx - next;
        }
        next = (size_t)idx + 1;
    }
    g_string_append_printf(m, "%zu frames recorded, %zu silent (%zu inside the signal); the "
                              "signal up to frame %zu of %zu, %zu frames out of place, %zu "
                              "skipped", n, silent, inside, next, frames, wrong, lost);
    if (wrong)
        g_string_append_printf(m, " (the first at frame %zu)", first_wrong);
    return next == frames && wrong <= jumps && lost <= lost_max && inside <= inside_max;
}

/* ---- what the recordings say ------------------------------------------- */

typedef struct Heard {
    int64_t *at_ns;            /* per frame of the signal, -1 if no recording has it */
    size_t missing;
    unsigned int out_of_order; /* frames older than one recorded before them */
    unsigned int garbage;      /* frames that are neither silence nor the signal */
    int16_t garbage_first[2];
    unsigned int jumps;        /* places a recording skips frames */
    /* where the sink's timeline breaks: frames missing from every
     * recording, or a frame not one frame time after the one before it
     * (silence played between them, a cycle the graph lost): from the
     * last frame before to the first one after */
    struct { int64_t from, to; } *breaks;
    size_t nbreaks;
    /* how far the recorder's stamps stray from the sink's steady rate
     * within a stretch without breaks (the most of any stretch): the
     * judge's own uncertainty (PulseAudio's record latency is
     * interpolated; a graph cycle's time is its driver's timer) */
    double stray_ms;
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
    h->breaks = g_malloc_n(frames / 2 + 1, sizeof(*h->breaks));
    double lo = 0, hi = 0; /* the stretch's stamps less the steady rate's */
    for (size_t i = 0, last = SIZE_MAX; i < frames; i++) {
        if (h->at_ns[i] < 0) {
            h->missing++;
            continue;
        }
        double off = (double)h->at_ns[i] - (double)i * NS_PER_FRAME;
        if (last != SIZE_MAX &&
            (last != i - 1 || ABS(h->at_ns[i] - h->at_ns[last] - NS_PER_FRAME) > 500000)) {
            h->breaks[h->nbreaks].from = h->at_ns[last];
            h->breaks[h->nbreaks++].to = h->at_ns[i];
            lo = hi = off;
        }
        if (last == SIZE_MAX)
            lo = hi = off;
        lo = MIN(lo, off);
        hi = MAX(hi, off);
        h->stray_ms = MAX(h->stray_ms, (hi - lo) / 1e6);
        last = i;
    }
}

/* Whether the sink's timeline broke between @from and @to. */
static bool broken_between(const Heard *h, int64_t from, int64_t to)
{
    for (size_t b = 0; b < h->nbreaks; b++)
        if (h->breaks[b].to >= from && h->breaks[b].from <= to)
            return true;
    return false;
}

/* Whether frame @idx of the signal is in @rec yet (the last chunks). */
bool hj_recorded(const HcRecording *rec, size_t idx)
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
    unsigned int broken;      /* the sink's timeline broke before the end was heard */
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
 * until the graph pulls, no one knows when it will; so are those whose
 * end was heard after a break in the sink's timeline: a server that lost
 * a cycle or played silence meanwhile moved everything after it.
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
        if (broken_between(h, tr[k].t_lo_us * 1000, h->at_ns[end - 1])) {
            e->broken++;
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

/* The judgement, shared by the servers and the guests: every frame once
 * and in order, every completion within @tol_ms, and L = 0 found wrong. */
char *hj_verdict(const char *what, const SgAlsaCompletion *trace, unsigned int n,
                 const HcRecording *rec, unsigned int nrec, size_t frames, double tol_ms,
                 size_t loss_frames)
{
    g_autofree char *text = NULL, *text0 = NULL;
    GString *why = g_string_new(NULL);
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
    /* the guest's period, and what the recorder's own stamps stray by (a
     * period at most: more, and the judge could not tell a period) */
    double tol = tol_ms + MIN(h.stray_ms, tol_ms);
    errors_of(&e, trace, n, &h, frames, -1);
    errors_of(&e0, trace, n, &h, frames, 0);
    unsigned int bad = errors_summary(&e, tol, &text);
    unsigned int bad0 = errors_summary(&e0, tol, &text0);
    g_test_message("%s: heard(E) - (t_c + latency_bytes): %s (%u skipped before the first "
                   "frame was heard, %u ends unheard, %u after a break of the sink's timeline: "
                   "%zu breaks); tolerance %.1f ms (a period %.1f ms + the recorder's stamps "
                   "straying by %.2f ms)", what, text, e.skipped, e.unheard, e.broken,
                   h.nbreaks, tol, tol_ms, h.stray_ms);
    g_test_message("%s: the same with latency_bytes taken as 0: %s", what, text0);
    if (g_getenv("VSND_LAT_TRACE"))
        for (unsigned int k = 0; k < n; k++)
            g_test_message("  %u: t_c %" G_GINT64_FORMAT " us L %u E %" G_GUINT64_FORMAT
                           " heard %.3f ms after t_c", k, trace[k].t_us,
                           trace[k].latency_bytes, trace[k].end_bytes,
                           h.at_ns[trace[k].end_bytes / FRAME - 1] < 0 ? -1.0 :
                           (h.at_ns[trace[k].end_bytes / FRAME - 1] - trace[k].t_us * 1000) / 1e6);
    if (h.out_of_order)
        g_string_append_printf(why, "%u frames came out of order; ", h.out_of_order);
    if (loss_frames == HJ_SINK_JUDGED) {
        /* the recorders are followers in another process than the
         * server: one late for a cycle loses that quantum (or garbles
         * it), while the sink played it, as its own recording shows */
        if (h.missing || h.garbage)
            g_test_message("%s: the clocked recorders lost %zu frames and garbled %u, frames "
                           "the sink's own recording judged", what, h.missing, h.garbage);
    } else {
        if (h.missing || h.garbage)
            g_test_message("%s: frames lost or garbled at the sink: issue 16's lost quanta",
                           what);
        if (h.missing + h.garbage > loss_frames)
            g_string_append_printf(why, "%zu frames lost or garbled at the sink (%zu "
                                        "allowed); ", h.missing + h.garbage, loss_frames);
    }
    /* most completions are judged: only the start and breaks are skipped */
    if (e.n < n / 2)
        g_string_append_printf(why, "only %u of %u completions could be judged; ", e.n, n);
    if (bad)
        g_string_append_printf(why, "latency_bytes is wrong: %s; ", text);
    /* the check has teeth: no latency at all is told apart */
    if (!bad0)
        g_string_append_printf(why, "latency_bytes taken as 0 would pass too (%s): the check "
                                    "cannot tell; ", text0);
    g_free(e.ms);
    g_free(e.ms_hi);
    g_free(e0.ms);
    g_free(e0.ms_hi);
    g_free(h.at_ns);
    g_free(h.breaks);
    if (!why->len) {
        g_string_free(why, TRUE);
        return NULL;
    }
    g_string_truncate(why, why->len - 2); /* the last "; " */
    g_string_prepend(why, ": ");
    g_string_prepend(why, what);
    return g_string_free(why, FALSE);
}

/* ---- capture ------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

char *hj_capture_verdict(const char *what, const SgAlsaCompletion *trace, unsigned int n,
                         const int16_t *got, size_t got_frames, const HcRecording *rec,
                         unsigned int nrec, size_t frames, unsigned int quantum, double tol_ms)
{
    /* when the monitor handed each frame of the signal over: the start of
     * the graph cycle that carried it (a chunk of the clocked recorder) */
    g_autofree int64_t *cycle_ns = g_new(int64_t, frames);
    for (size_t i = 0; i < frames; i++)
        cycle_ns[i] = -1;
    for (unsigned int r = 0; r < nrec; r++)
        for (size_t c = 0; c < rec[r].nchunks; c++)
            for (uint32_t j = 0; j < rec[r].chunks[c].frames; j++) {
                long idx = frame_decode(rec[r].samples + (rec[r].chunks[c].first + j) * CH);
                if (idx >= 0 && (size_t)idx < frames && cycle_ns[idx] < 0)
                    cycle_ns[idx] = rec[r].chunks[c].heard_ns;
            }

    /* per completion whose message ended in the signal: how long before
     * the completion the newest frame the device says it holds (the
     * message's last frame + latency_bytes) was captured; and the same
     * with a quantum more (a latency that claims frames not yet captured
     * must be told apart; taken as 0 it is not wrong by much here: the
     * device holds less than a quantum after each completion) */
    g_autofree int64_t *age = g_new(int64_t, n ? n : 1);
    g_autofree int64_t *age_more = g_new(int64_t, n ? n : 1);
    unsigned int judged = 0, outside = 0, outside_more = 0, unheard = 0;
    const double hi_ms = 1000.0 * quantum / 48000 + tol_ms;
    for (unsigned int k = 0; k < n; k++) {
        size_t end = (size_t)(trace[k].end_bytes / FRAME);
        if (end == 0 || end > got_frames)
            continue;
        long idx = frame_decode(got + (end - 1) * CH);
        if (idx < 0 || (size_t)idx >= frames)
            continue; /* silence before the signal, or after it */
        size_t newest = (size_t)idx + trace[k].latency_bytes / FRAME;
        if (newest + quantum >= frames || cycle_ns[newest] < 0 ||
            cycle_ns[newest + quantum] < 0) {
            unheard++;
            continue;
        }
        int64_t t_c = trace[k].t_us * 1000;
        age[judged] = t_c - cycle_ns[newest];
        age_more[judged] = t_c - cycle_ns[newest + quantum];
        /* captured no later than the completion (a cycle's process() may
         * run late, never early), and in the latest cycle: no older than
         * a quantum and the tolerance */
        outside += age[judged] < -500000 || age[judged] / 1e6 > hi_ms;
        outside_more += age_more[judged] < -500000 || age_more[judged] / 1e6 > hi_ms;
        judged++;
    }
    GString *why = g_string_new(NULL);
    if (judged) {
        g_autofree int64_t *s = g_memdup2(age, sizeof(int64_t) * judged);
        g_autofree int64_t *s0 = g_memdup2(age_more, sizeof(int64_t) * judged);
        qsort(s, judged, sizeof(int64_t), cmp_i64);
        qsort(s0, judged, sizeof(int64_t), cmp_i64);
        g_test_message("%s: capture: the newest frame latency_bytes says the device holds was "
                       "captured min %.1f median %.1f max %.1f ms before the completion, over "
                       "%u completions (%u outside 0..%.1f ms; %u with frames not recorded); "
                       "with a quantum more: min %.1f median %.1f max %.1f ms, %u outside",
                       what, s[0] / 1e6, s[judged / 2] / 1e6, s[judged - 1] / 1e6, judged,
                       outside, hi_ms, unheard, s0[0] / 1e6, s0[judged / 2] / 1e6,
                       s0[judged - 1] / 1e6, outside_more);
    }
    if (judged < n / 2)
        g_string_append_printf(why, "only %u of %u capture completions could be judged; ",
                               judged, n);
    if (outside)
        g_string_append_printf(why, "%u completions' latency_bytes outside 0..%.1f ms; ",
                               outside, hi_ms);
    if (!outside_more)
        g_string_append(why, "latency_bytes a quantum larger would pass too: the check cannot "
                             "tell; ");
    if (!why->len) {
        g_string_free(why, TRUE);
        return NULL;
    }
    g_string_truncate(why, why->len - 2);
    g_string_prepend(why, ": capture: ");
    g_string_prepend(why, what);
    return g_string_free(why, FALSE);
}
