/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-recipes.c - the README's recipes, run from the README's own text.
 *
 * Each recipe is the fenced block after "<!-- recipe: NAME -->" in
 * README.md.  The test takes the block's "vhost-user-snd ..." command
 * (environment variables expanded, the trailing "&" dropped), runs it
 * against the daemon under test, and plays the guest with the fake
 * front-end and guest of tests/harness:
 *  - desktop: a private PipeWire; the VM's streams appear in pw-dump under
 *    the recipe's --name;
 *  - systemd: the units as built, checked by systemd-analyze verify, and
 *    the service's ExecStart run the way the socket unit starts it
 *    (systemd-socket-activate on the socket unit's ListenStream);
 *  - ci: what the guest plays is in the recipe's WAV file byte for byte,
 *    and the guest records the recipe's tone.
 */
#include "config.h"

#include <endian.h>
#include <linux/virtio_snd.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <glib/gstdio.h>

#include "tests/audio/audio-test-util.h"
#include "tests/harness/daemon.h"
#include "tests/harness/fake-frontend.h"
#include "tests/harness/snd-guest.h"

#define PERIOD 4800 /* 25 ms of s16 stereo at 48 kHz */

/* The fenced block that follows "<!-- recipe: @name -->" in README.md. */
static char *readme_recipe(const char *name)
{
    g_autofree char *readme = g_build_filename(g_getenv("VSND_SRCDIR"), "README.md", NULL);
    g_autofree char *text = NULL;
    g_autofree char *marker = g_strdup_printf("<!-- recipe: %s -->", name);
    g_autoptr(GError) err = NULL;
    const char *start, *end;

    g_assert_true(g_file_get_contents(readme, &text, NULL, &err));
    g_assert_no_error(err);
    start = strstr(text, marker);
    g_assert_nonnull(start);
    start = strstr(start, "```sh\n");
    g_assert_nonnull(start);
    start += strlen("```sh\n");
    end = strstr(start, "```");
    g_assert_nonnull(end);
    return g_strndup(start, (gsize)(end - start));
}

/* $NAME and ${NAME} from the environment (empty when unset). */
static char *expand_env(const char *s)
{
    GString *out = g_string_new(NULL);

    while (*s) {
        if (*s == '$' && (g_ascii_isupper(s[1]) || s[1] == '{')) {
            bool brace = s[1] == '{';
            const char *p = s + 1 + brace;
            const char *q = p;
            g_autofree char *var = NULL;

            while (g_ascii_isupper(*q) || g_ascii_isdigit(*q) || *q == '_')
                q++;
            var = g_strndup(p, (gsize)(q - p));
            g_string_append(out, g_getenv(var) ? g_getenv(var) : "");
            s = q + (brace && *q == '}');
        } else {
            g_string_append_c(out, *s++);
        }
    }
    return g_string_free(out, FALSE);
}

/* The arguments of the recipe's first command starting with @program,
 * backslash continuations joined, without the program and a trailing &. */
static GStrv recipe_command(const char *block, const char *program)
{
    g_auto(GStrv) lines = g_strsplit(block, "\n", -1);
    g_autoptr(GString) cmd = NULL;
    g_autofree char *expanded = NULL;
    g_autoptr(GError) err = NULL;
    g_auto(GStrv) argv = NULL;
    g_autoptr(GPtrArray) args = g_ptr_array_new();
    int argc = 0;

    for (char **l = lines; *l; l++) {
        if (!cmd && !g_str_has_prefix(*l, program))
            continue;
        if (!cmd)
            cmd = g_string_new(NULL);
        g_string_append(cmd, *l);
        if (!g_str_has_suffix(cmd->str, "\\"))
            break;
        g_string_truncate(cmd, cmd->len - 1);
    }
    g_assert_nonnull(cmd);
    expanded = expand_env(cmd->str);
    g_assert_true(g_shell_parse_argv(expanded, &argc, &argv, &err));
    g_assert_no_error(err);
    g_assert_cmpstr(argv[0], ==, program);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "&") != 0)
            g_ptr_array_add(args, g_strdup(argv[i]));
    }
    g_ptr_array_add(args, NULL);
    return (GStrv)g_ptr_array_free(g_steal_pointer(&args), FALSE);
}

/* The value of "--@opt=VALUE" among @args. */
static const char *arg_value(char **args, const char *opt)
{
    g_autofree char *prefix = g_strdup_printf("--%s=", opt);

    for (char **a = args; *a; a++) {
        if (g_str_has_prefix(*a, prefix))
            return *a + strlen(prefix);
    }
    g_error("recipe has no --%s", opt);
    return NULL;
}

/* The recipe's QEMU command line connects to the daemon's socket @sock. */
static void assert_qemu_uses(const char *block, const char *sock)
{
    g_auto(GStrv) qemu = recipe_command(block, "qemu-system-x86_64");
    g_autofree char *want = g_strdup_printf("socket,id=snd0,path=%s", sock);
    bool chardev = false, device = false;

    for (char **a = qemu; *a; a++) {
        chardev = chardev || strcmp(*a, want) == 0;
        device = device || strcmp(*a, "vhost-user-snd-pci,chardev=snd0") == 0;
    }
    g_assert_true(chardev);
    g_assert_true(device);
}

static bool wait_for_socket(const char *path, double timeout_s)
{
    gint64 end = g_get_monotonic_time() + (gint64)(timeout_s * G_USEC_PER_SEC);
    struct stat st;

    while (stat(path, &st) != 0 || !S_ISSOCK(st.st_mode)) {
        if (g_get_monotonic_time() > end)
            return false;
        g_usleep(10000);
    }
    return true;
}

/* The socket file exists right before listen(): retry a refused connect. */
static FfConn *connect_retry(const char *path)
{
    gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

    for (;;) {
        g_autoptr(GError) err = NULL;
        FfConn *ff = ff_connect(path, &err);

        if (ff)
            return ff;
        if (g_get_monotonic_time() > end)
            g_error("cannot connect to %s: %s", path, err->message);
        g_usleep(20000);
    }
}

static void pcm_ok(SgGuest *sg, uint32_t code, uint32_t sid)
{
    g_autoptr(GError) err = NULL;
    uint32_t st = 0;

    g_assert_true(sg_pcm_cmd(sg, code, sid, &st, &err));
    g_assert_no_error(err);
    g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
}

/* s16 stereo 48 kHz, @periods periods of PERIOD bytes, prepared. */
static void pcm_setup(SgGuest *sg, uint32_t sid, unsigned int periods)
{
    g_autoptr(GError) err = NULL;
    uint32_t st = 0;

    g_assert_true(sg_pcm_set_params(sg, sid, PERIOD * periods, PERIOD, 2, VIRTIO_SND_PCM_FMT_S16,
                                    VIRTIO_SND_PCM_RATE_48000, sg_linux_pcm_features(sg, sid),
                                    &st, &err));
    g_assert_no_error(err);
    g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
    pcm_ok(sg, VIRTIO_SND_R_PCM_PREPARE, sid);
}

/* Plays @total bytes of @data on @sid, keeping four periods queued. */
static void play(SgGuest *sg, uint32_t sid, const uint8_t *data, size_t total)
{
    size_t submitted = 0, done = 0;

    pcm_setup(sg, sid, 4);
    for (; submitted < 4 * PERIOD && submitted < total; submitted += PERIOD)
        g_assert_cmpint(sg_tx_submit(sg, sg_io_msg_new(sg, sid, false, PERIOD), data + submitted,
                                     false), ==, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_START, sid);
    while (done < total) {
        SgIoMsg *m = sg_io_wait(sg, false, 3000);

        g_assert_nonnull(m);
        g_assert_cmphex(m->status, ==, VIRTIO_SND_S_OK);
        done += PERIOD;
        if (submitted < total) {
            g_assert_cmpint(sg_tx_submit(sg, m, data + submitted, false), ==, 0);
            submitted += PERIOD;
        }
    }
    pcm_ok(sg, VIRTIO_SND_R_PCM_STOP, sid);
    pcm_ok(sg, VIRTIO_SND_R_PCM_RELEASE, sid);
}

static SgGuest *boot_guest(FfConn *ff)
{
    g_autoptr(GError) err = NULL;
    SgGuest *sg = sg_new(ff, NULL);

    g_assert_true(sg_boot(sg, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(sg->streams, >=, 2);
    g_assert_cmpint(sg->pcm[0].direction, ==, VIRTIO_SND_D_OUTPUT);
    g_assert_cmpint(sg->pcm[1].direction, ==, VIRTIO_SND_D_INPUT);
    return sg;
}

/* ---- ci: record what the guest plays, feed it a tone ------------------ */

static void test_ci(void)
{
    g_autofree char *block = readme_recipe("ci");
    g_auto(GStrv) args = recipe_command(block, "vhost-user-snd");
    g_autoptr(GError) err = NULL;
    g_autoptr(VdProc) vd = NULL;
    g_autoptr(FfConn) ff = NULL;
    g_autoptr(SgGuest) sg = NULL;
    g_autofree char *sock = NULL, *played = NULL;
    g_autofree uint8_t *all = g_malloc(PERIOD * 20);
    g_autofree int16_t *pcm = g_malloc(PERIOD);
    g_auto(GStrv) drv = NULL;
    double tone = 0;
    unsigned int crossings = 0;
    int peak = 0, prev = 0, st;
    AtuWav w;

    if (!vd_require())
        return;
    /* The recipe's relative paths are relative to the daemon's directory. */
    vd = vd_spawn(VD_LISTEN_NONE, (const char *const *)args, &err);
    g_assert_no_error(err);
    assert_qemu_uses(block, arg_value(args, "socket-path"));
    sock = g_build_filename(vd_tmpdir(vd), arg_value(args, "socket-path"), NULL);
    g_assert_true(wait_for_socket(sock, 10));
    ff = connect_retry(sock);
    sg = boot_guest(ff);

    for (size_t i = 0; i < PERIOD * 20; i++)
        all[i] = (uint8_t)(i * 13 + (i >> 9));
    play(sg, 0, all, PERIOD * 20);

    /* Capture: the recipe's tone, at -6 dBFS, on both channels. */
    drv = g_strsplit(arg_value(args, "driver"), ",", -1);
    for (char **d = drv; *d; d++) {
        if (g_str_has_prefix(*d, "tone="))
            tone = g_ascii_strtod(*d + 5, NULL);
        if (g_str_has_prefix(*d, "path="))
            played = g_build_filename(vd_tmpdir(vd), *d + 5, NULL);
    }
    g_assert_cmpfloat(tone, >, 0);
    g_assert_nonnull(played);
    pcm_setup(sg, 1, 4);
    for (unsigned int i = 0; i < 4; i++)
        g_assert_cmpint(sg_rx_submit(sg, sg_io_msg_new(sg, 1, true, PERIOD), false), ==, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_START, 1);
    for (unsigned int i = 0; i < 8; i++) {
        SgIoMsg *m = sg_io_wait(sg, true, 3000);

        g_assert_nonnull(m);
        g_assert_cmpuint(m->used_len, ==, PERIOD + 8);
        sg_io_read(sg, m, pcm);
        for (unsigned int f = 0; f < PERIOD / 4; f++) {
            int l = (int16_t)le16toh((uint16_t)pcm[2 * f]);
            int r = (int16_t)le16toh((uint16_t)pcm[2 * f + 1]);

            g_assert_cmpint(l, ==, r);
            peak = MAX(peak, ABS(l));
            crossings += (prev < 0) != (l < 0);
            prev = l;
        }
        g_assert_cmpint(sg_rx_submit(sg, m, false), ==, 0);
    }
    pcm_ok(sg, VIRTIO_SND_R_PCM_STOP, 1);
    pcm_ok(sg, VIRTIO_SND_R_PCM_RELEASE, 1);
    g_assert_cmpint(peak, >, 15000); /* -6 dBFS is 16384 */
    g_assert_cmpint(peak, <, 17500);
    /* 8 periods = 0.2 s: two crossings per cycle. */
    g_assert_cmpfloat(fabs(crossings / 0.4 - tone), <, tone * 0.05);

    g_clear_pointer(&sg, sg_free);
    g_clear_pointer(&ff, ff_free);
    st = vd_terminate(vd, 10000);
    g_assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* Stream 0's file holds exactly what was played. */
    g_auto(GStrv) parts = g_strsplit(played, "%u", -1);
    g_autofree char *file0 = g_strjoinv("0", parts);

    g_assert_true(atu_wav_load(file0, &w));
    g_assert_cmpuint(w.channels, ==, 2);
    g_assert_cmpuint(w.rate, ==, 48000);
    g_assert_cmpuint(w.bits, ==, 16);
    g_assert_cmpmem(w.data, w.data_len, all, PERIOD * 20);
    atu_wav_clear(&w);
}

/* ---- systemd: the units as built, activated as systemd would --------- */

/* The value of the first "@key=" line of a unit file. */
static char *unit_value(const char *unit, const char *key)
{
    g_autofree char *path = g_build_filename(g_getenv("G_TEST_BUILDDIR"), "..", "data", unit, NULL);
    g_autofree char *text = NULL;
    g_autoptr(GError) err = NULL;
    g_autofree char *prefix = g_strdup_printf("%s=", key);
    g_auto(GStrv) lines = NULL;

    g_assert_true(g_file_get_contents(path, &text, NULL, &err));
    g_assert_no_error(err);
    lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        if (g_str_has_prefix(*l, prefix))
            return g_strdup(*l + strlen(prefix));
    }
    g_error("%s has no %s=", unit, key);
    return NULL;
}

static void test_systemd(void)
{
    g_autofree char *block = readme_recipe("systemd");
    g_autofree char *dir = g_dir_make_tmp("vsnd-recipe-XXXXXX", NULL);
    g_autofree char *listen = unit_value("vhost-user-snd.socket", "ListenStream");
    g_autofree char *exec = unit_value("vhost-user-snd.service", "ExecStart");
    g_autofree char *sock = NULL, *service = NULL, *socket_unit = NULL, *svc_dir = NULL;
    g_autofree char *unit_text = NULL;
    g_auto(GStrv) exec_argv = NULL;
    g_auto(GStrv) qemu_args = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) act = g_ptr_array_new();
    g_auto(GStrv) env = NULL;
    g_autoptr(FfConn) ff = NULL;
    g_autoptr(SgGuest) sg = NULL;
    GPid pid;
    int status;

    if (!vd_require())
        return;
    /* No audio server in this private runtime directory: auto picks null
     * (or ALSA where a device answers). */
    env = g_get_environ();
    env = g_environ_setenv(env, "XDG_RUNTIME_DIR", dir, TRUE);
    env = g_environ_setenv(env, "PIPEWIRE_RUNTIME_DIR", dir, TRUE);
    env = g_environ_setenv(env, "PULSE_SERVER", "unix:/nonexistent", TRUE);

    /* The recipe enables the socket unit and points QEMU at its socket. */
    g_assert_nonnull(strstr(block, "systemctl --user enable --now vhost-user-snd.socket"));
    g_assert_true(g_str_has_prefix(listen, "%t/"));
    sock = g_build_filename(dir, listen + 3, NULL);
    g_setenv("XDG_RUNTIME_DIR", dir, TRUE);
    assert_qemu_uses(block, sock);

    /* The units pass systemd's own checks, with ExecStart naming the
     * daemon under test and man pages not looked up (not installed). */
    g_assert_true(g_shell_parse_argv(exec, NULL, &exec_argv, &err));
    g_assert_no_error(err);
    g_assert_true(g_str_has_suffix(exec_argv[0], "/vhost-user-snd"));
    svc_dir = g_build_filename(dir, "units", NULL);
    g_assert_cmpint(g_mkdir(svc_dir, 0700), ==, 0);
    {
        g_autofree char *src = g_build_filename(g_getenv("G_TEST_BUILDDIR"), "..", "data",
                                                "vhost-user-snd.service", NULL);
        g_autofree char *text = NULL;
        g_autofree char *bin = g_strdup_printf("ExecStart=%s", exec_argv[0]);
        g_autofree char *ours = g_strdup_printf("ExecStart=%s", vd_daemon_path());
        g_auto(GStrv) parts = NULL;

        g_assert_true(g_file_get_contents(src, &text, NULL, &err));
        parts = g_strsplit(text, bin, 2);
        unit_text = g_strjoinv(ours, parts);
        service = g_build_filename(svc_dir, "vhost-user-snd.service", NULL);
        g_assert_true(g_file_set_contents(service, unit_text, -1, &err));
        g_free(text);
        g_free(src);
        src = g_build_filename(g_getenv("G_TEST_BUILDDIR"), "..", "data", "vhost-user-snd.socket", NULL);
        g_assert_true(g_file_get_contents(src, &text, NULL, &err));
        socket_unit = g_build_filename(svc_dir, "vhost-user-snd.socket", NULL);
        g_assert_true(g_file_set_contents(socket_unit, text, -1, &err));
        g_assert_no_error(err);
    }
    {
        const char *verify[] = { "systemd-analyze", "verify", "--user", "--man=no", socket_unit,
                                 service, NULL };
        g_autofree char *out = NULL, *errout = NULL;

        g_assert_true(g_spawn_sync(NULL, (char **)verify, env, G_SPAWN_SEARCH_PATH, NULL, NULL,
                                   &out, &errout, &status, &err));
        g_assert_no_error(err);
        g_test_message("systemd-analyze verify: %s%s", out, errout);
        g_assert_true(g_spawn_check_wait_status(status, NULL));
    }

    /* Socket activation: systemd's tool listens on the unit's socket and
     * execs ExecStart with LISTEN_FDS=1, the socket as fd 3, on the first
     * connection. */
    g_ptr_array_add(act, (char *)"systemd-socket-activate");
    g_ptr_array_add(act, (char *)"-l");
    g_ptr_array_add(act, sock);
    g_ptr_array_add(act, (char *)vd_daemon_path());
    for (char **a = exec_argv + 1; *a; a++)
        g_ptr_array_add(act, *a);
    g_ptr_array_add(act, NULL);
    g_assert_true(g_spawn_async(NULL, (char **)act->pdata, env,
                                G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD |
                                G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, &pid, &err));
    g_assert_no_error(err);
    g_assert_true(wait_for_socket(sock, 10));
    ff = connect_retry(sock);
    sg = boot_guest(ff);
    g_clear_pointer(&sg, sg_free);
    g_clear_pointer(&ff, ff_free);
    /* A second VM after the first left: the same daemon serves it. */
    ff = connect_retry(sock);
    sg = boot_guest(ff);
    g_clear_pointer(&sg, sg_free);
    g_clear_pointer(&ff, ff_free);
    kill(pid, SIGTERM);
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    g_spawn_close_pid(pid);
    g_unlink(service);
    g_unlink(socket_unit);
    g_rmdir(svc_dir);
    g_rmdir(dir);
}

/* ---- desktop: the VM's streams in PipeWire under its name ------------- */

static void test_desktop(void)
{
    g_autofree char *block = readme_recipe("desktop");
    g_autofree char *dir = atu_tmpdir("vsnd-recipe-pw-XXXXXX");
    g_autofree char *log = g_build_filename(dir, "pipewire.log", NULL);
    g_auto(GStrv) args = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(VdProc) vd = NULL;
    g_autoptr(FfConn) ff = NULL;
    g_autoptr(SgGuest) sg = NULL;
    g_autofree uint8_t *silence = g_malloc0(PERIOD);
    g_autofree char *dump = NULL, *app = NULL, *node = NULL;
    const char *name;
    const char *pw_dump[] = { "pw-dump", NULL };
    AtuPipewire pw;
    int st;

    if (!vd_require() || !atu_have_module("pipewire", "the desktop recipe needs the pipewire driver"))
        return;
    atu_pipewire_env(dir);
    if (!atu_pipewire_start(&pw, log, 20))
        return;
    args = recipe_command(block, "vhost-user-snd"); /* $XDG_RUNTIME_DIR: the private one */
    name = arg_value(args, "name");
    g_assert_nonnull(strstr(block, "pw-top"));
    assert_qemu_uses(block, arg_value(args, "socket-path"));
    vd = vd_spawn(VD_LISTEN_NONE, (const char *const *)args, &err);
    g_assert_no_error(err);
    g_assert_true(wait_for_socket(arg_value(args, "socket-path"), 10));
    ff = connect_retry(arg_value(args, "socket-path"));
    sg = boot_guest(ff);
    pcm_setup(sg, 0, 4);
    for (unsigned int i = 0; i < 4; i++)
        g_assert_cmpint(sg_tx_submit(sg, sg_io_msg_new(sg, 0, false, PERIOD), silence, false), ==, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_START, 0);

    /* What pw-top and pavucontrol show: the node named after the VM, its
     * application.name the recipe's --name. */
    g_assert_cmpint(atu_run(pw_dump, &dump), ==, 0);
    app = g_strdup_printf("\"application.name\": \"%s\"", name);
    node = g_strdup_printf("\"node.name\": \"vsnd.%s.playback-0\"", name);
    g_assert_nonnull(strstr(dump, app));
    g_assert_nonnull(strstr(dump, node));

    pcm_ok(sg, VIRTIO_SND_R_PCM_STOP, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_RELEASE, 0);
    g_clear_pointer(&sg, sg_free);
    g_clear_pointer(&ff, ff_free);
    st = vd_terminate(vd, 10000);
    g_assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    g_clear_pointer(&vd, vd_free);
    atu_pipewire_stop(&pw);
    atu_rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/recipes/ci", test_ci);
    g_test_add_func("/recipes/systemd", test_systemd);
    g_test_add_func("/recipes/desktop", test_desktop);
    return g_test_run();
}
