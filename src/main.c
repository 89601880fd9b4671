/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * main.c - vhost-user-snd: a virtio-snd device for QEMU guests.
 *
 * Back-end program conventions (vhost-user spec): never daemonize, stdio
 * used normally, fail early with a message and a non-zero status when
 * start-up is impossible, end promptly and cleanly on SIGTERM/SIGINT.
 */
#define G_LOG_DOMAIN "vsnd"
#include "config.h"

#include <errno.h>
#include <glib-unix.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "audio/registry.h"
#include "daemon.h"
#include "i18n.h"
#include "log.h"
#include "options.h"
#include "sandbox.h"

/* The vhost-user.json schema has no sound type yet; "sound" is the name
 * virtio itself uses.  Features name the optional command line options. */
static const char capabilities_json[] =
    "{\n"
    "  \"type\": \"sound\",\n"
    "  \"features\": [\n"
    "    \"streams\",\n"
    "    \"jacks\",\n"
    "    \"chmaps\",\n"
    "    \"controls\",\n"
    "    \"stream\",\n"
    "    \"driver\",\n"
    "    \"name\"\n"
    "  ]\n"
    "}\n";

static gboolean on_quit_signal(int fd, GIOCondition cond, gpointer data)
{
    struct signalfd_siginfo si;

    if (read(fd, &si, sizeof(si)) == sizeof(si))
        g_debug("signal %u", si.ssi_signo);
    g_main_loop_quit(data);
    return G_SOURCE_CONTINUE;
}

/*
 * SIGTERM and SIGINT arrive through a signalfd in the main loop: unlike
 * g_unix_signal_add() it needs no helper thread, and the mask is inherited
 * by the threads audio libraries start, so those never take the signal.
 */
static int block_quit_signals(void)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return -1;
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static void setup_i18n(void)
{
    const char *localedir = g_getenv("VSND_LOCALEDIR");

    setlocale(LC_ALL, "");
    bindtextdomain(GETTEXT_PACKAGE, localedir ? localedir : LOCALEDIR);
    bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
    textdomain(GETTEXT_PACKAGE);
}

int main(int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VsndConfig) cfg = NULL;
    g_autoptr(VsndAudio) audio = NULL;
    g_autoptr(GMainLoop) loop = NULL;
    g_autoptr(VsndDaemon) daemon = NULL;
    g_autoptr(VsndSandboxPolicy) sandbox = NULL;
    gboolean done = FALSE;
    int signal_fd;

    setup_i18n();
    g_set_prgname("vhost-user-snd");

    /* Must ignore every other option, even invalid ones. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--print-capabilities") == 0) {
            fputs(capabilities_json, stdout);
            return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
        }
    }

    cfg = vsnd_options_parse(&argc, &argv, &done, &error);
    if (!cfg) {
        if (done)
            return EXIT_SUCCESS;
        g_printerr("%s: %s\n", g_get_prgname(), error->message);
        g_printerr(_("Try “%s --help” for more information.\n"), g_get_prgname());
        return EXIT_FAILURE;
    }
    vsnd_log_init(cfg->verbose);
    signal(SIGPIPE, SIG_IGN);

    /* Handlers first: a SIGTERM that arrives once the socket exists must
     * already end the daemon cleanly. */
    loop = g_main_loop_new(NULL, FALSE);
    signal_fd = block_quit_signals();
    if (signal_fd < 0) {
        g_printerr("%s: signalfd: %s\n", g_get_prgname(), g_strerror(errno));
        return EXIT_FAILURE;
    }
    g_unix_fd_add(signal_fd, G_IO_IN, on_quit_signal, loop);

    audio = vsnd_audio_new(cfg->driver, cfg->device.name, &error);
    if (!audio) {
        g_printerr(_("%s: cannot start audio driver: %s\n"), g_get_prgname(), error->message);
        return EXIT_FAILURE;
    }

    daemon = vsnd_daemon_new(cfg, audio, loop, &error);
    if (!daemon) {
        g_printerr("%s: %s\n", g_get_prgname(), error->message);
        return EXIT_FAILURE;
    }
    /* Start-up is over: socket, driver and its files exist, nothing from
     * the front-end has been read yet. */
    sandbox = vsnd_sandbox_policy_new(cfg, vsnd_audio_name(audio));
    if (!vsnd_sandbox_apply(sandbox, &error)) {
        g_printerr(_("%s: cannot confine the daemon: %s\n"), g_get_prgname(), error->message);
        return EXIT_FAILURE;
    }
    g_info("serving with the %s driver, %u streams", vsnd_audio_name(audio), cfg->device.streams);
    g_main_loop_run(loop);
    g_debug("exiting");
    return EXIT_SUCCESS;
}
