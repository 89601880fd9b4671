/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * audio-test-util.c - see audio-test-util.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "tests/audio/audio-test-util.h"

static void ev_ready(void *opaque)
{
    AtuEvents *ev = opaque;
    ev->ready++;
}

static void ev_error(void *opaque, int err)
{
    AtuEvents *ev = opaque;
    ev->errors++;
    ev->last_error = err;
    if (ev->nerr_history < (int)G_N_ELEMENTS(ev->err_history))
        ev->err_history[ev->nerr_history++] = err;
}

const VsndAudioStreamEvents atu_events = {
    .ready = ev_ready,
    .error = ev_error,
};

bool atu_wait(bool (*cond)(void *data), void *data, double timeout_s)
{
    gint64 end = g_get_monotonic_time() + (gint64)(timeout_s * G_USEC_PER_SEC);

    while (!cond(data)) {
        if (g_get_monotonic_time() >= end)
            return false;
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(2000);
    }
    return true;
}

static bool never(void *data)
{
    return false;
}

void atu_run_for(double seconds)
{
    atu_wait(never, NULL, seconds);
}

typedef struct {
    AtuEvents *ev;
    int n;
} ErrWait;

static bool errors_reached(void *data)
{
    ErrWait *w = data;
    return w->ev->errors >= w->n;
}

bool atu_wait_errors(AtuEvents *ev, int n, double timeout_s)
{
    ErrWait w = { ev, n };
    return atu_wait(errors_reached, &w, timeout_s);
}

bool atu_error_seen(const AtuEvents *ev, int err)
{
    for (int i = 0; i < ev->nerr_history; i++) {
        if (ev->err_history[i] == err)
            return true;
    }
    return false;
}

char *atu_find_program(const char *prog)
{
    return g_find_program_in_path(prog);
}

GPid atu_spawn(const char *const *argv, const char *log)
{
    GPid pid = fork();

    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        int fd, nul;

        /* never outlive the test, even when it aborts */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        fd = open(log ? log : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
        nul = open("/dev/null", O_RDONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (nul >= 0)
            dup2(nul, 0);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

int atu_run(const char *const *argv, char **out)
{
    int status = 0;
    g_autoptr(GError) err = NULL;

    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH |
                      (out ? 0 : G_SPAWN_STDOUT_TO_DEV_NULL) | G_SPAWN_STDERR_TO_DEV_NULL,
                      NULL, NULL, out, NULL, &status, &err))
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool atu_wait_cmd(const char *const *argv, double timeout_s)
{
    gint64 end = g_get_monotonic_time() + (gint64)(timeout_s * G_USEC_PER_SEC);

    while (atu_run(argv, NULL) != 0) {
        if (g_get_monotonic_time() >= end)
            return false;
        g_usleep(20000);
    }
    return true;
}

void atu_stop(GPid pid, int sig)
{
    gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

    if (pid <= 0)
        return;
    kill(pid, sig);
    for (;;) {
        pid_t r = waitpid(pid, NULL, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            return;
        if (g_get_monotonic_time() >= end) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return;
        }
        g_usleep(5000);
    }
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

bool atu_wav_load(const char *path, AtuWav *w)
{
    const uint8_t *p, *end;

    memset(w, 0, sizeof(*w));
    if (!g_file_get_contents(path, &w->raw, &w->raw_len, NULL))
        return false;
    p = (const uint8_t *)w->raw;
    end = p + w->raw_len;
    if (w->raw_len < 12 || memcmp(p, "RIFF", 4) || memcmp(p + 8, "WAVE", 4))
        return false;
    w->riff_size = rd32(p + 4);
    for (p += 12; end - p >= 8;) {
        uint32_t len = rd32(p + 4);
        if (!memcmp(p, "fmt ", 4) && len >= 16 && (size_t)(end - p - 8) >= len) {
            w->tag = rd16(p + 8);
            w->channels = rd16(p + 10);
            w->rate = rd32(p + 12);
            w->bits = rd16(p + 22);
        } else if (!memcmp(p, "data", 4)) {
            w->data_size = len;
            w->data = p + 8;
            w->data_len = (size_t)(end - p - 8);
            if (len != 0xffffffffu && len < w->data_len)
                w->data_len = len;
            return w->tag != 0;
        }
        if ((size_t)(end - p - 8) < len)
            return false;
        p += 8 + len + (len & 1);
    }
    return false;
}

void atu_wav_clear(AtuWav *w)
{
    g_free(w->raw);
    memset(w, 0, sizeof(*w));
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

void atu_wav_write_s16(const char *path, uint32_t rate, unsigned int channels,
                       const int16_t *samples, size_t frames)
{
    size_t data = frames * channels * 2;
    g_autofree uint8_t *buf = g_malloc(44 + data);

    memcpy(buf, "RIFF", 4);
    put32(buf + 4, (uint32_t)(36 + data));
    memcpy(buf + 8, "WAVEfmt ", 8);
    put32(buf + 16, 16);
    put16(buf + 20, 1);
    put16(buf + 22, (uint16_t)channels);
    put32(buf + 24, rate);
    put32(buf + 28, rate * channels * 2);
    put16(buf + 32, (uint16_t)(channels * 2));
    put16(buf + 34, 16);
    memcpy(buf + 36, "data", 4);
    put32(buf + 40, (uint32_t)data);
    for (size_t i = 0; i < frames * channels; i++)
        put16(buf + 44 + 2 * i, (uint16_t)samples[i]);
    g_assert_true(g_file_set_contents(path, (const char *)buf, (gssize)(44 + data), NULL));
}

int16_t *atu_signal_s16(size_t frames, unsigned int channels, uint32_t rate)
{
    int16_t *s = g_new(int16_t, frames * channels);

    for (size_t i = 0; i < frames; i++) {
        for (unsigned int c = 0; c < channels; c++) {
            double x = 0.5 * sin(2.0 * G_PI * 440.0 * (c + 1) * (double)i / rate);
            s[i * channels + c] = (int16_t)(lrint(x * 32767.0) + (int)((i * 7 + c * 3) % 5));
        }
    }
    return s;
}

size_t atu_match_s16(const int16_t *rec, size_t rec_frames, const int16_t *ref,
                     size_t ref_frames, unsigned int channels, long *ret_offset)
{
    size_t best = SIZE_MAX;
    const size_t probe = 64;

    *ret_offset = -1;
    for (unsigned int c = 0; c < channels; c++) {
        size_t k = 0, match = 0;
        long off = -1;

        while (k < ref_frames && ref[k * channels + c] == 0)
            k++;
        if (k + probe > ref_frames)
            return 0;
        for (size_t i = 0; i + probe <= rec_frames && off < 0; i++) {
            size_t j = 0;
            while (j < probe && rec[(i + j) * channels + c] == ref[(k + j) * channels + c])
                j++;
            if (j == probe && i >= k)
                off = (long)(i - k);
        }
        if (off < 0)
            return 0;
        while (match < ref_frames && (size_t)off + match < rec_frames &&
               rec[((size_t)off + match) * channels + c] == ref[match * channels + c])
            match++;
        if (c == 0)
            *ret_offset = off;
        best = MIN(best, match);
    }
    return best;
}

char *atu_tmpdir(const char *tmpl)
{
    g_autoptr(GError) err = NULL;
    char *dir = g_dir_make_tmp(tmpl, &err);

    g_assert_no_error(err);
    return dir;
}

char *atu_tmpdir_in_memory(const char *tmpl)
{
    g_autofree char *path = g_build_filename("/dev/shm", tmpl, NULL);

    if (access("/dev/shm", W_OK) != 0)
        return atu_tmpdir(tmpl);
    char *dir = g_mkdtemp(g_strdup(path));
    g_assert_nonnull(dir);
    return dir;
}

void atu_rmdir(const char *dir)
{
    const char *argv[] = { "rm", "-rf", dir, NULL };

    if (dir && *dir)
        atu_run(argv, NULL);
}

static bool transfer_all(VsndAudio *a, VsndAudioStream *s, void *buf, size_t len,
                         size_t chunk, double timeout_s, bool write)
{
    gint64 end = g_get_monotonic_time() + (gint64)(timeout_s * G_USEC_PER_SEC);
    size_t done = 0;

    while (done < len) {
        struct iovec iov = { (char *)buf + done, MIN(chunk, len - done) };
        ssize_t r = write ? vsnd_audio_write(a, s, &iov, 1) : vsnd_audio_read(a, s, &iov, 1);
        if (r > 0) {
            done += (size_t)r;
            continue;
        }
        if (r != -EAGAIN) {
            g_test_message("%s failed: %s", write ? "write" : "read", g_strerror((int)-r));
            return false;
        }
        if (g_get_monotonic_time() >= end)
            return false;
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(1000);
    }
    return true;
}

bool atu_write_all(VsndAudio *a, VsndAudioStream *s, const void *buf, size_t len,
                   size_t chunk, double timeout_s)
{
    return transfer_all(a, s, (void *)buf, len, chunk, timeout_s, true);
}

bool atu_read_all(VsndAudio *a, VsndAudioStream *s, void *buf, size_t len, size_t chunk,
                  double timeout_s)
{
    return transfer_all(a, s, buf, len, chunk, timeout_s, false);
}

bool atu_have_module(const char *name, const char *why_missing)
{
    const char *drvdir = g_getenv("VSND_DRIVERDIR");
    g_autofree char *file = g_strdup_printf("%s.so", name);
    g_autofree char *mod = g_build_filename(drvdir ? drvdir : ".libs", file, NULL);

    if (!g_file_test(mod, G_FILE_TEST_EXISTS)) {
        g_autofree char *msg = g_strdup_printf("the %s driver module was not built (%s)", name,
                                               why_missing);
        g_test_skip(msg);
        return false;
    }
    return true;
}

/*
 * The tests that judge a sound server's timing run one at a time: make
 * check runs two programs at once on a 2-core machine, and two servers
 * with their daemons and recorders beside each other (PulseAudio against
 * PulseAudio, measured) made a recording miss 60 % of a play and a 5 ms
 * latency check miss by 11 ms; alone they passed.  The first server a
 * test program starts takes the lock; it is held until the program exits
 * (close-on-exec: the servers do not inherit it).
 */
static void servers_lock(void)
{
    static int fd = -1;
    const char *builddir = g_getenv("G_TEST_BUILDDIR");

    if (fd >= 0)
        return;
    g_autofree char *path = g_build_filename(builddir ? builddir : g_get_tmp_dir(),
                                             "audio-servers.lock", NULL);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return; /* unlocked: slower tests, not wrong ones */
    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
        return;
    g_test_message("waiting for another test's sound server (%s)", path);
    while (flock(fd, LOCK_EX) < 0 && errno == EINTR)
        ;
}

GPid atu_pulse_start(const char *dir, const char *log)
{
    g_autofree char *sock = g_strdup_printf("module-native-protocol-unix auth-anonymous=1 "
                                            "socket=%s/native", dir);
    const char *argv[] = {
        "pulseaudio", "--daemonize=no", "-n", "--exit-idle-time=-1", "--realtime=no",
        "--high-priority=no", "--log-target=stderr", "--use-pid-file=no",
        "-L", "module-null-sink sink_name=test norewinds=1 rate=48000 channels=2 format=s16le",
        "-L", sock, NULL,
    };
    const char *info[] = { "pactl", "info", NULL };
    servers_lock();
    GPid pid = atu_spawn(argv, log);

    if (!atu_wait_cmd(info, 20.0)) {
        g_autofree char *text = NULL;
        g_file_get_contents(log, &text, NULL, NULL);
        g_error("PulseAudio did not come up:\n%s", text ? text : "");
    }
    return pid;
}

struct AtuEnvSaved {
    GPtrArray *names;  /* char * */
    GPtrArray *values; /* char *, NULL where unset */
};

AtuEnvSaved *atu_env_save(const char *const *names)
{
    AtuEnvSaved *s = g_new0(AtuEnvSaved, 1);

    s->names = g_ptr_array_new_with_free_func(g_free);
    s->values = g_ptr_array_new_with_free_func(g_free);
    for (size_t i = 0; names && names[i]; i++) {
        g_ptr_array_add(s->names, g_strdup(names[i]));
        g_ptr_array_add(s->values, g_strdup(g_getenv(names[i])));
    }
    return s;
}

void atu_env_restore(AtuEnvSaved *saved)
{
    if (!saved)
        return;
    for (guint i = 0; i < saved->names->len; i++) {
        const char *name = saved->names->pdata[i];
        const char *value = saved->values->pdata[i];
        if (value)
            g_setenv(name, value, TRUE);
        else if (g_getenv(name))
            g_unsetenv(name);
    }
    g_ptr_array_unref(saved->names);
    g_ptr_array_unref(saved->values);
    g_free(saved);
}

bool atu_wait_output(const char *const *argv, const char *needle, double timeout_s)
{
    gint64 end = g_get_monotonic_time() + (gint64)(timeout_s * G_USEC_PER_SEC);

    for (;;) {
        g_autofree char *out = NULL;
        if (atu_run(argv, &out) == 0 && out && strstr(out, needle))
            return true;
        if (g_get_monotonic_time() >= end)
            return false;
        g_usleep(10000);
    }
}

void atu_pipewire_env(const char *dir)
{
    const char *subdirs[] = { "run", "config/wireplumber/main.lua.d",
                              "config/wireplumber/bluetooth.lua.d", "state" };
    g_autofree char *main_lua = g_build_filename(
        dir, "config/wireplumber/main.lua.d/60-headless-test.lua", NULL);
    g_autofree char *bt_lua = g_build_filename(
        dir, "config/wireplumber/bluetooth.lua.d/60-headless-test.lua", NULL);
    g_autofree char *run = g_build_filename(dir, "run", NULL);
    g_autofree char *config = g_build_filename(dir, "config", NULL);
    g_autofree char *state = g_build_filename(dir, "state", NULL);

    for (size_t i = 0; i < G_N_ELEMENTS(subdirs); i++) {
        g_autofree char *d = g_build_filename(dir, subdirs[i], NULL);
        g_assert_cmpint(g_mkdir_with_parents(d, 0700), ==, 0);
    }
    /* WirePlumber without D-Bus: these must sort before 90-enable-all.lua */
    g_assert_true(g_file_set_contents(main_lua,
                                      "alsa_monitor.enabled = false\n"
                                      "v4l2_monitor.enabled = false\n"
                                      "libcamera_monitor.enabled = false\n"
                                      "default_access.properties[\"enable-flatpak-portal\"] = "
                                      "false\n", -1, NULL));
    g_assert_true(g_file_set_contents(bt_lua, "bluez_monitor.enabled = false\n", -1, NULL));
    g_setenv("PIPEWIRE_RUNTIME_DIR", run, TRUE);
    g_setenv("XDG_RUNTIME_DIR", run, TRUE);
    g_setenv("XDG_CONFIG_HOME", config, TRUE);
    g_setenv("XDG_STATE_HOME", state, TRUE);
    /* unsetenv only where needed: GLib warns about it once threads run */
    if (g_getenv("PIPEWIRE_REMOTE"))
        g_unsetenv("PIPEWIRE_REMOTE");
    if (g_getenv("PIPEWIRE_PROPS"))
        g_unsetenv("PIPEWIRE_PROPS");
}

static void fail_with_log(const char *what, const char *log)
{
    g_autofree char *text = NULL;

    if (log)
        g_file_get_contents(log, &text, NULL, NULL);
    g_test_fail_printf("%s:\n%s", what, text ? text : "");
}

/* A copy of pw-test.conf in @dir with @modules appended to its
 * context.modules (g_free() the path). */
static char *conf_with_modules(const char *conf, const char *modules, const char *dir)
{
    g_autofree char *text = NULL;
    g_autoptr(GError) err = NULL;
    char *path = g_build_filename(dir, "pw-test-more.conf", NULL);

    g_assert_true(g_file_get_contents(conf, &text, NULL, &err));
    const char *list = strstr(text, "context.modules = [");
    const char *end = list ? strstr(list, "\n]") : NULL;
    g_assert_nonnull(end);
    g_autofree char *out = g_strdup_printf("%.*s\n%s%s", (int)(end - text), text, modules, end);
    g_assert_true(g_file_set_contents(path, out, -1, &err));
    return path;
}

bool atu_pipewire_start(AtuPipewire *p, const char *log, double timeout_s)
{
    return atu_pipewire_start_with(p, log, timeout_s, NULL, NULL);
}

bool atu_pipewire_start_with(AtuPipewire *p, const char *log, double timeout_s,
                             const char *modules, const char *dir)
{
    const char *srcdir = g_getenv("G_TEST_SRCDIR");
    g_autofree char *conf = g_build_filename(srcdir ? srcdir : "tests", "audio", "pw-test.conf",
                                             NULL);
    g_autofree char *abs = g_canonicalize_filename(conf, NULL);
    g_autofree char *more = modules ? conf_with_modules(abs, modules, dir) : NULL;
    const char *pw_argv[] = { "pipewire", "-c", more ? more : abs, NULL };
    const char *wp_argv[] = { "wireplumber", NULL };
    const char *ports[] = { "pw-link", "-i", NULL };
    const char *meta[] = { "pw-metadata", "0", "default.audio.sink", NULL };

    servers_lock();
    p->pw = atu_spawn(pw_argv, log);
    p->wp = 0;
    if (!atu_wait_output(ports, "test_sink:playback_FR", timeout_s)) {
        fail_with_log("pipewire did not come up", log);
        atu_pipewire_stop(p);
        return false;
    }
    p->wp = atu_spawn(wp_argv, log);
    if (!atu_wait_output(meta, "test_sink", timeout_s)) {
        fail_with_log("wireplumber did not come up", log);
        atu_pipewire_stop(p);
        return false;
    }
    return true;
}

void atu_pipewire_stop(AtuPipewire *p)
{
    atu_stop(p->wp, SIGTERM);
    atu_stop(p->pw, SIGTERM);
    p->wp = p->pw = 0;
}

/* The volume line of the node named @node in what @dump prints (pw-dump's
 * JSON), run through python. */
static char *node_volume_from(const char *dump, const char *node)
{
    g_autofree char *script = g_strdup_printf(
        "%s | python3 -c 'import json,sys\n"
        /* pw-dump may print removals after its array: the first only */
        "for o in json.JSONDecoder().raw_decode(sys.stdin.read())[0]:\n"
        "    if o.get(\"type\") != \"PipeWire:Interface:Node\": continue\n"
        "    i = o.get(\"info\") or {}\n"
        "    pr = i.get(\"props\") or {}\n"
        "    if pr.get(\"node.name\") != \"%s\": continue\n"
        "    for p in (i.get(\"params\") or {}).get(\"Props\", []):\n"
        "        if \"channelVolumes\" in p:\n"
        "            print(\"vol\", [round(v, 2) for v in p[\"channelVolumes\"]], "
        "\"mute\", p.get(\"mute\"), \"app\", pr.get(\"application.name\"), "
        "\"role\", pr.get(\"media.role\"))\n"
        "'", dump, node);
    const char *argv[] = { "sh", "-c", script, NULL };
    char *out = NULL;

    if (atu_run(argv, &out) != 0 || !out || !*out) {
        g_free(out);
        return NULL;
    }
    return out;
}

char *atu_pipewire_node_volume(const char *node)
{
    return node_volume_from("pw-dump", node);
}

GPid atu_pipewire_node_watch(const char *node, const char *path, const char *log)
{
    g_autofree char *qpath = g_shell_quote(path);
    /* pw-dump alone is quick; python is not (a second on a loaded
     * machine): the snapshots are taken here, read afterwards */
    g_autofree char *script = g_strdup_printf(
        "while :; do pw-dump > %s.tmp; if grep -q '\"node.name\": \"%s\"' %s.tmp; then "
        "mv %s.tmp %s; fi; sleep 0.05; done", qpath, node, qpath, qpath, qpath);
    const char *argv[] = { "sh", "-c", script, NULL };

    return atu_spawn(argv, log);
}

char *atu_pipewire_node_volume_in(const char *path, const char *node)
{
    g_autofree char *qpath = g_shell_quote(path);
    g_autofree char *cat = g_strdup_printf("cat %s", qpath);

    if (!g_file_test(path, G_FILE_TEST_EXISTS))
        return NULL;
    return node_volume_from(cat, node);
}

bool atu_pipewire_force_quantum(unsigned int quantum)
{
    g_autofree char *q = g_strdup_printf("%u", quantum);
    g_autofree char *want = g_strdup_printf("'clock.force-quantum' value:'%u'", quantum);
    const char *set[] = { "pw-metadata", "-n", "settings", "0", "clock.force-quantum", q, NULL };
    const char *get[] = { "pw-metadata", "-n", "settings", "0", "clock.force-quantum", NULL };

    return atu_run(set, NULL) == 0 && atu_wait_output(get, want, 10.0);
}

bool atu_pipewire_virtual_source(const char *name)
{
    g_autofree char *props = g_strdup_printf(
        "{ factory.name = support.null-audio-sink node.name = %s "
        "media.class = Audio/Source/Virtual audio.position = [ FL FR ] audio.rate = 48000 "
        "object.linger = true monitor.channel-volumes = false }", name);
    g_autofree char *port = g_strdup_printf("%s:capture_FR", name);
    const char *create[] = { "pw-cli", "create-node", "adapter", props, NULL };
    const char *ports[] = { "pw-link", "-o", NULL };

    return atu_run(create, NULL) == 0 && atu_wait_output(ports, port, 10.0);
}

bool atu_have_programs(const char *const *progs)
{
    for (size_t i = 0; progs[i]; i++) {
        g_autofree char *p = atu_find_program(progs[i]);
        if (!p) {
            g_autofree char *msg = g_strdup_printf("%s is not installed", progs[i]);
            g_test_skip(msg);
            return false;
        }
    }
    return true;
}
