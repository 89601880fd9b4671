/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-result.h - what one benchmark run measured about one back-end, and
 * the writers of the results directory (JSON, markdown report, gnuplot
 * plots).
 *
 * Units are in the field names: _us microseconds, _ms milliseconds,
 * _pct percent of one CPU core, _kb KiB.  A negative value or a non-NULL
 * error string means "not measured" (the reason is printed).
 */
#ifndef VSND_BENCH_RESULT_H
#define VSND_BENCH_RESULT_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "bench/bench-stats.h"

#define BR_NCOUNTS 4
extern const unsigned int br_counts[BR_NCOUNTS]; /* 1, 8, 32, 64 */

typedef struct BrCpu {
    bool done;
    unsigned int requested, streams;  /* asked for / the back-end offered */
    double seconds;                   /* measured window */
    double cpu_pct_total, cpu_pct_per_stream;
    double cpu_us_per_msg;
    uint64_t msgs;
    double daemon_wakeups_per_s;      /* context switches of the daemon */
    double guest_kicks_per_s;         /* notifications the guest had to send */
    double guest_irqs_per_s;          /* call eventfd wakeups of the guest */
    uint64_t bad_len;
    unsigned int polling;             /* streams that negotiated MSG_POLLING */
    double dev_p99_us;                /* pacing of all streams pooled */
    double added_median_us, added_p99_us;
    uint64_t early;
    uint64_t slips;                   /* completions a period behind the previous phase */
    double bench_max_gap_ms;          /* longest gap between our wakeups while running */
    long rss_kb;
    char *error;
} BrCpu;

typedef struct BrPacing {
    bool done;
    double seconds;
    unsigned int n;                   /* completions analysed */
    double buffer_periods;            /* whole periods the back-end buffers */
    double offset_us;                 /* median lateness beyond those */
    BsSummary dev_us;                 /* |deviation from the ideal clock| */
    double drift_ppm, drift_us;       /* slope, slope x duration */
    BsSummary added_us;               /* lateness after a period boundary */
    uint64_t early;                   /* completions ahead of the usual phase */
    uint64_t slips;                   /* underruns with a full guest queue */
    double bench_max_gap_ms;
    GArray *added_samples;            /* for the histogram */
    GArray *trace_t, *trace_e;        /* s since START, e_k in us (pacing-N.dat) */
    BsSummary timer_floor_us;         /* our own timerfd lateness */
    char *error;
} BrPacing;

typedef struct BrCtl {
    bool done;
    BsSummary rtt_us;
    double sync_per_s, burst_per_s;
    char *error;
} BrCtl;

typedef struct BrIdle {
    bool done;
    double seconds;
    uint64_t switches;
    double wakeups_per_s, cpu_pct;
    int threads;
    long rss_kb, anon_kb, file_kb, shmem_kb;
    long pss_kb;                      /* shared pages divided among their users */
    long rss8_kb;                     /* with 8 playback streams running */
    bool prepared_done;               /* one stream prepared, not started */
    double prepared_wakeups_per_s, prepared_cpu_pct;
    char *error;
} BrIdle;

typedef struct BrStartup {
    bool done;
    BsSummary ms;
    char *error;
} BrStartup;

typedef struct BrMigration {
    bool done, supported;
    bool verified;                    /* destination PREPAREd stream 0 from the state */
    char *verify_error;
    uint64_t bytes;
    BsSummary save_ms, load_ms;
    char *error;                      /* or why not supported */
} BrMigration;

typedef struct BrBackend {
    char *name;
    char *cmd;                        /* the template */
    BrCpu cpu[2][BR_NCOUNTS];         /* [0] playback, [1] capture */
    BrPacing pacing;
    BrCtl ctl;
    BrIdle idle;
    BrStartup startup;
    BrMigration mig;
    char *unpaced_io;                 /* why I/O throughput is not measured */
} BrBackend;

typedef struct BrRun {
    char *started;                    /* ISO 8601 UTC */
    bool quick;
    unsigned int queue_size, depth;
    bool no_polling;
    char *host;                       /* uname, cores */
    double wakeup_cpu_us;             /* CPU of one bare timerfd wakeup here */
    BrBackend *be[2];                 /* ours, optional comparison */
    unsigned int nbe;
} BrRun;

void br_backend_free(BrBackend *b);

/* Write results.json, report.md, the .dat files and the PNG plots into
 * @dir.  Return: false with @error if a file cannot be written (a missing
 * gnuplot only omits the plots, noted in the report). */
bool br_write(const BrRun *run, const char *dir, GError **error);

#endif /* VSND_BENCH_RESULT_H */
