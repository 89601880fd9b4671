/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-proc.c - spawn a back-end from a template, probe it via /proc.
 *
 * See bench-proc.h.  The CPU time comes from the process CPU clock
 * (nanoseconds, includes exited threads); /proc/<pid>/stat ticks are only
 * 10 ms, too coarse for a per-stream budget of 1 ms per second.  Should
 * the clock be unavailable, se.sum_exec_runtime of every thread in
 * /proc/<pid>/task/<tid>/sched is summed instead.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench-proc.h"

extern char **environ;

struct BpProc {
    pid_t pid;
    bool reaped;
    char *dir;
    char *socket;
    char *log;
    char *cmdline;
    int64_t t_spawn;
    clockid_t cpu_clock;
    bool have_cpu_clock;
};

int64_t bp_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

char *bp_expand(const char *tmpl, const char *socket, const BpVars *vars)
{
    g_autofree char *streams = g_strdup_printf("%u", vars->streams);
    g_autofree char *qsock = g_shell_quote(socket);
    g_autofree char *qdaemon = g_shell_quote(vars->daemon ? vars->daemon : "vhost-user-snd");
    struct { const char *key, *val; } map[] = {
        { "{socket}", qsock },
        { "{streams}", streams },
        { "{daemon}", qdaemon },
        { "{stream_opts}", vars->stream_opts ? vars->stream_opts : "" },
    };
    GString *out = g_string_new(NULL);
    for (const char *s = tmpl; *s;) {
        bool hit = false;
        for (size_t i = 0; i < G_N_ELEMENTS(map); i++) {
            size_t kl = strlen(map[i].key);
            if (strncmp(s, map[i].key, kl) == 0) {
                g_string_append(out, map[i].val);
                s += kl;
                hit = true;
                break;
            }
        }
        if (!hit)
            g_string_append_c(out, *s++);
    }
    return g_string_free(out, FALSE);
}

BpProc *bp_spawn(const char *tmpl, const BpVars *vars, GError **error)
{
    g_autofree char *dir = g_dir_make_tmp("vsnd-bench-XXXXXX", error);
    if (!dir)
        return NULL;
    BpProc *p = g_new0(BpProc, 1);
    p->pid = -1;
    p->dir = g_steal_pointer(&dir);
    p->socket = g_build_filename(p->dir, "snd.sock", NULL);
    p->log = g_build_filename(p->dir, "stderr.log", NULL);
    p->cmdline = bp_expand(tmpl, p->socket, vars);

    g_auto(GStrv) argv = NULL;
    if (!g_shell_parse_argv(p->cmdline, NULL, &argv, error)) {
        bp_free(p);
        return NULL;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, p->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    /* Its own process group, so a wrapper (sh -c, valgrind, strace) and
     * everything it starts are signalled together. */
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    p->t_spawn = bp_now_ns();
    int r = posix_spawnp(&p->pid, argv[0], &fa, &attr, argv, environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    if (r != 0) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(r), "cannot run “%s”: %s",
                    argv[0], g_strerror(r));
        p->pid = -1;
        bp_free(p);
        return NULL;
    }
    p->have_cpu_clock = clock_getcpuclockid(p->pid, &p->cpu_clock) == 0;
    return p;
}

static void reap(BpProc *p, int timeout_ms)
{
    if (p->pid <= 0 || p->reaped)
        return;
    int64_t deadline = bp_now_ns() + (int64_t)timeout_ms * 1000000;
    for (;;) {
        int st;
        pid_t r = waitpid(p->pid, &st, WNOHANG);
        if (r == p->pid || (r < 0 && errno == ECHILD)) {
            p->reaped = true;
            return;
        }
        if (bp_now_ns() > deadline)
            return;
        g_usleep(2000);
    }
}

void bp_free(BpProc *p)
{
    if (!p)
        return;
    if (p->pid > 0) {
        /* The whole group: a wrapper's children too (never a bare -1). */
        kill(-p->pid, SIGTERM);
        reap(p, 2000);
        if (!p->reaped)
            kill(-p->pid, SIGKILL);
        reap(p, 5000);
        kill(-p->pid, SIGKILL); /* leftovers of a wrapper that exited first */
    }
    if (p->dir) {
        g_unlink(p->socket);
        g_unlink(p->log);
        g_rmdir(p->dir);
    }
    g_free(p->dir);
    g_free(p->socket);
    g_free(p->log);
    g_free(p->cmdline);
    g_free(p);
}

pid_t bp_pid(const BpProc *p) { return p->pid; }
const char *bp_socket(const BpProc *p) { return p->socket; }
const char *bp_cmdline(const BpProc *p) { return p->cmdline; }
int64_t bp_spawn_ns(const BpProc *p) { return p->t_spawn; }

char *bp_stderr_tail(const BpProc *p, size_t max)
{
    g_autofree char *text = NULL;
    gsize len = 0;
    if (!g_file_get_contents(p->log, &text, &len, NULL) || len == 0)
        return g_strdup("");
    size_t from = len > max ? len - max : 0;
    return g_strdup(text + from);
}

bool bp_alive(BpProc *p)
{
    if (p->pid <= 0 || p->reaped)
        return false;
    int st;
    pid_t r = waitpid(p->pid, &st, WNOHANG);
    if (r == p->pid) {
        p->reaped = true;
        return false;
    }
    return true;
}

static bool try_connect(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(sa.sun_path))
        return false;
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

int64_t bp_wait_listening(BpProc *p, bool probe, int timeout_ms)
{
    int64_t deadline = bp_now_ns() + (int64_t)timeout_ms * 1000000;
    for (;;) {
        struct stat st;
        bool ok = probe ? try_connect(p->socket)
                        : (stat(p->socket, &st) == 0 && S_ISSOCK(st.st_mode));
        int64_t now = bp_now_ns();
        if (ok)
            return now - p->t_spawn;
        if (now > deadline || !bp_alive(p))
            return -1;
        /* Fine enough for a 10 ms budget, cheap enough not to starve the
         * child on a 2-core machine. */
        g_usleep(50);
    }
}

/* Sum "key:  value" lines of every /proc/<pid>/task/<tid>/<file>. */
static void sum_tasks(pid_t pid, const char *file, const char *const *keys, double *out,
                      size_t nkeys, int *threads)
{
    g_autofree char *tdir = g_strdup_printf("/proc/%d/task", (int)pid);
    g_autoptr(GDir) d = g_dir_open(tdir, 0, NULL);
    if (threads)
        *threads = 0;
    if (!d)
        return;
    const char *tid;
    while ((tid = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(tdir, tid, file, NULL);
        g_autofree char *text = NULL;
        if (!g_file_get_contents(path, &text, NULL, NULL))
            continue;
        if (threads)
            (*threads)++;
        for (char *line = text; line && *line;) {
            char *nl = strchr(line, '\n');
            if (nl)
                *nl = '\0';
            for (size_t k = 0; k < nkeys; k++) {
                size_t kl = strlen(keys[k]);
                if (strncmp(line, keys[k], kl) == 0) {
                    const char *v = line + kl;
                    while (*v == ' ' || *v == '\t' || *v == ':')
                        v++;
                    out[k] += g_ascii_strtod(v, NULL);
                }
            }
            line = nl ? nl + 1 : NULL;
        }
    }
}

static long status_kb(const char *text, const char *key)
{
    const char *l = strstr(text, key);
    if (!l)
        return -1;
    return strtol(l + strlen(key), NULL, 10);
}

bool bp_sample(BpProc *p, BpSample *s)
{
    memset(s, 0, sizeof(*s));
    if (!bp_alive(p))
        return false;
    s->t_ns = bp_now_ns();
    struct timespec ts;
    if (p->have_cpu_clock && clock_gettime(p->cpu_clock, &ts) == 0) {
        s->cpu_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    } else {
        const char *k[] = { "se.sum_exec_runtime" };
        double ms = 0;
        sum_tasks(p->pid, "sched", k, &ms, 1, NULL);
        s->cpu_ns = (int64_t)(ms * 1e6);
    }
    const char *ck[] = { "voluntary_ctxt_switches", "nonvoluntary_ctxt_switches" };
    double cs[2] = { 0, 0 };
    sum_tasks(p->pid, "status", ck, cs, 2, &s->threads);
    s->vol_cs = (uint64_t)cs[0];
    s->invol_cs = (uint64_t)cs[1];
    g_autofree char *path = g_strdup_printf("/proc/%d/status", (int)p->pid);
    g_autofree char *text = NULL;
    if (g_file_get_contents(path, &text, NULL, NULL)) {
        s->rss_kb = status_kb(text, "VmRSS:");
        s->anon_kb = status_kb(text, "RssAnon:");
        s->file_kb = status_kb(text, "RssFile:");
        s->shmem_kb = status_kb(text, "RssShmem:");
    }
    g_autofree char *rpath = g_strdup_printf("/proc/%d/smaps_rollup", (int)p->pid);
    g_autofree char *roll = NULL;
    s->pss_kb = g_file_get_contents(rpath, &roll, NULL, NULL) ? status_kb(roll, "\nPss:") : -1;
    return true;
}
