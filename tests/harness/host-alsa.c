/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * host-alsa.c - a private ALSA configuration for the daemon under test
 * (see host-alsa.h).
 */
#include "config.h"

#include "host-alsa.h"

#include <glib/gstdio.h>

#include <sys/stat.h>

/* What ha_new() sets (or, for ALSA_CONFIG_PATH, unsets). */
static const char *const names[] = {
    "HOME", "ALSA_CONFIG_PATH", "XDG_RUNTIME_DIR", "PULSE_SERVER", "PIPEWIRE_RUNTIME_DIR",
    "PIPEWIRE_REMOTE",
};

struct HostAlsa {
    char *dir;
    char *saved[G_N_ELEMENTS(names)]; /* NULL where it was unset */
};

HostAlsa *ha_new(void)
{
    HostAlsa *ha = g_new0(HostAlsa, 1);
    g_autoptr(GError) error = NULL;
    ha->dir = g_dir_make_tmp("vsnd-alsa-XXXXXX", &error);
    g_assert_no_error(error);
    g_autofree char *rc = ha_path(ha, ".asoundrc");
    g_autofree char *run = ha_path(ha, "run");
    g_autofree char *nothing = ha_path(ha, "run/no-server");
    g_autofree char *pulse = g_strdup_printf("unix:%s", nothing);
    g_autofree char *text = g_strdup_printf("pcm.tofile {\n"
                                            "    type file\n"
                                            "    slave.pcm \"null\"\n"
                                            "    file \"%s/out.raw\"\n"
                                            "    format \"raw\"\n"
                                            "}\n"
                                            "pcm.fromfile {\n"
                                            "    type file\n"
                                            "    slave.pcm \"null\"\n"
                                            "    infile \"%s/in.raw\"\n"
                                            "    file \"/dev/null\"\n"
                                            "    format \"raw\"\n"
                                            "}\n"
                                            "pcm.!default \"tofile\"\n",
                                            ha->dir, ha->dir);
    g_assert_true(g_file_set_contents(rc, text, -1, &error));
    g_assert_cmpint(g_mkdir(run, 0700), ==, 0);
    for (gsize i = 0; i < G_N_ELEMENTS(names); i++)
        ha->saved[i] = g_strdup(g_getenv(names[i]));
    const char *values[G_N_ELEMENTS(names)] = {ha->dir, NULL, run, pulse, run, nothing};
    for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
        if (values[i])
            g_setenv(names[i], values[i], TRUE);
        else if (ha->saved[i]) /* GLib warns about unsetenv() once threads run */
            g_unsetenv(names[i]);
    }
    return ha;
}

void ha_free(HostAlsa *ha)
{
    if (!ha)
        return;
    for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
        if (ha->saved[i])
            g_setenv(names[i], ha->saved[i], TRUE);
        else if (g_getenv(names[i]))
            g_unsetenv(names[i]);
        g_free(ha->saved[i]);
    }
    /* a driver probing for a server may leave something in run/ */
    const char *argv[] = {"rm", "-rf", ha->dir, NULL};
    g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL,
                 NULL);
    g_free(ha->dir);
    g_free(ha);
}

char *ha_path(const HostAlsa *ha, const char *name)
{
    return g_build_filename(ha->dir, name, NULL);
}

char *ha_sandbox_allow(const HostAlsa *ha)
{
    return g_strdup_printf("--sandbox-allow=%s", ha->dir);
}

GBytes *ha_played(const HostAlsa *ha, gsize len)
{
    g_autofree char *path = ha_path(ha, "out.raw");
    gint64 now = g_get_monotonic_time(), end = now + 5 * G_USEC_PER_SEC, changed = now;
    goffset last = -1;
    for (;;) {
        GStatBuf st;
        goffset size = g_stat(path, &st) == 0 ? st.st_size : -1;
        now = g_get_monotonic_time();
        if (size != last) {
            last = size;
            changed = now;
        }
        if ((size >= (goffset)len && now - changed >= 200 * 1000) || now >= end)
            break;
        g_usleep(20 * 1000);
    }
    char *data = NULL;
    gsize n = 0;
    if (!g_file_get_contents(path, &data, &n, NULL))
        return NULL;
    return g_bytes_new_take(data, n);
}
