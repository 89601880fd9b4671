/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sandbox.c - what the confined daemon keeps, and the order it gives up
 * the rest: no new privileges, then the user and the capabilities, then
 * the file system (Landlock), then the system calls (seccomp), which must
 * come last because it forbids the calls of the steps before it.
 */
#define G_LOG_DOMAIN "vsnd-sandbox"
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "audio/registry.h"
#include "options.h"
#include "sandbox.h"

static const char *const level_names[] = {
    [VSND_SANDBOX_ON] = "on",
    [VSND_SANDBOX_OFF] = "off",
    [VSND_SANDBOX_LOG] = "log",
};

gboolean vsnd_sandbox_parse_level(const char *text, VsndSandboxLevel *ret)
{
    for (guint i = 0; i < G_N_ELEMENTS(level_names); i++) {
        if (text && strcmp(text, level_names[i]) == 0) {
            *ret = (VsndSandboxLevel)i;
            return TRUE;
        }
    }
    return FALSE;
}

const char *vsnd_sandbox_level_name(VsndSandboxLevel level)
{
    return (guint)level < G_N_ELEMENTS(level_names) ? level_names[level] : "?";
}

/* ---- the policy -------------------------------------------------------------- */

static void add_path(GPtrArray *list, const char *path)
{
    if (path && *path)
        g_ptr_array_add(list, g_canonicalize_filename(path, NULL));
}

static void add_parent(GPtrArray *list, const char *path)
{
    if (path && *path) {
        g_autofree char *abs = g_canonicalize_filename(path, NULL);

        g_ptr_array_add(list, g_path_get_dirname(abs));
    }
}

static void add_env_path(GPtrArray *list, const char *var)
{
    add_path(list, g_getenv(var));
}

/* A server address naming a Unix socket: its directory. */
static void add_server_socket_dir(GPtrArray *list, const char *address)
{
    if (!address)
        return;
    if (g_str_has_prefix(address, "unix:"))
        address += strlen("unix:");
    if (g_path_is_absolute(address))
        add_parent(list, address);
}

/* The wav driver's files: dir=, the directory of path=, in=; the current
 * directory when neither dir= nor path= is given. */
static void add_wav_paths(VsndSandboxPolicy *p, const char *spec)
{
    g_autofree char *name = NULL;
    g_autoptr(GHashTable) options = NULL;
    const char *dir, *path;

    if (!vsnd_audio_parse_spec(spec, &name, &options, NULL))
        return;
    dir = g_hash_table_lookup(options, "dir");
    path = g_hash_table_lookup(options, "path");
    if (dir)
        add_path(p->read_write, dir);
    else if (path)
        add_parent(p->read_write, path);
    else
        add_path(p->read_write, ".");
    add_path(p->read_only, g_hash_table_lookup(options, "in"));
}

/* What an audio server client reads and where the servers' sockets are. */
static void add_client_paths(VsndSandboxPolicy *p)
{
    const char *home = g_get_home_dir();
    const char *config = g_get_user_config_dir();

    add_env_path(p->read_write, "XDG_RUNTIME_DIR");
    add_env_path(p->read_write, "PULSE_RUNTIME_PATH");
    add_env_path(p->read_write, "PIPEWIRE_RUNTIME_DIR");
    add_server_socket_dir(p->read_write, g_getenv("PULSE_SERVER"));
    add_server_socket_dir(p->read_write, g_getenv("PIPEWIRE_REMOTE"));
    add_path(p->read_write, "/dev/shm");
    add_env_path(p->read_only, "PULSE_COOKIE");
    g_ptr_array_add(p->read_only, g_build_filename(config, "pulse", NULL));
    g_ptr_array_add(p->read_only, g_build_filename(config, "pipewire", NULL));
    g_ptr_array_add(p->read_only, g_build_filename(home, ".pulse-cookie", NULL));
}

static void add_device_paths(VsndSandboxPolicy *p)
{
    add_path(p->read_write, "/dev/snd");
    /* alsa-lib's null PCM polls /dev/full for capture. */
    add_path(p->read_only, "/dev/full");
    add_env_path(p->read_only, "ALSA_CONFIG_PATH");
    g_ptr_array_add(p->read_only, g_build_filename(g_get_home_dir(), ".asoundrc", NULL));
    g_ptr_array_add(p->read_only, g_build_filename(g_get_user_config_dir(), "alsa", NULL));
}

VsndSandboxPolicy *vsnd_sandbox_policy_new(const VsndConfig *cfg, const char *driver)
{
    VsndSandboxPolicy *p = g_new0(VsndSandboxPolicy, 1);
    /* The system's libraries, configuration and data (ALSA's and the audio
     * servers' configuration, locale, time zone); /proc for the process's
     * own files (maps, fd, task). */
    static const char *const system_read[] = {"/usr", "/lib", "/lib64", "/etc", "/proc",
                                              "/sys/devices/system/cpu", "/dev/urandom"};

    p->level = cfg->sandbox;
    p->driver = g_strdup(driver);
    p->user = g_strdup(cfg->user);
    p->read_write = g_ptr_array_new_with_free_func(g_free);
    p->read_only = g_ptr_array_new_with_free_func(g_free);

    for (guint i = 0; i < G_N_ELEMENTS(system_read); i++)
        add_path(p->read_only, system_read[i]);
    add_path(p->read_write, "/dev/null");
    /* The state file is replaced by a rename from a temp file beside it. */
    add_parent(p->read_write, cfg->device.state_file);
    /* The socket we created is removed at exit. */
    add_parent(p->read_write, cfg->socket_path);
    /* What the user knows the driver reaches and we cannot see: the files
     * an ALSA configuration names (file PCMs), a sink's dump directory. */
    for (char **a = cfg->sandbox_allow; a && *a; a++)
        add_path(p->read_write, *a);

    if (strcmp(driver, "wav") == 0) {
        add_wav_paths(p, cfg->driver);
    } else if (strcmp(driver, "pulse") == 0 || strcmp(driver, "pipewire") == 0) {
        p->needs |= VSND_SANDBOX_NEEDS_CLIENT;
        add_client_paths(p);
    } else if (strcmp(driver, "alsa") == 0) {
        /* ALSA's default device is often a server plugin. */
        p->needs |= VSND_SANDBOX_NEEDS_CLIENT | VSND_SANDBOX_NEEDS_DEVICES;
        add_client_paths(p);
        add_device_paths(p);
    }
    return p;
}

void vsnd_sandbox_policy_free(VsndSandboxPolicy *p)
{
    if (!p)
        return;
    g_free(p->driver);
    g_free(p->user);
    g_ptr_array_unref(p->read_write);
    g_ptr_array_unref(p->read_only);
    g_free(p);
}

/* ---- privileges -------------------------------------------------------------- */

/* Root becomes --user: groups, group, user, in that order (after setuid
 * nothing else may change).  Without --user, root is kept but logged. */
static gboolean drop_user(const char *user, GError **error)
{
    struct passwd *pw;

    if (geteuid() != 0) {
        if (user)
            g_message("sandbox: not started as root; --user=%s ignored", user);
        return TRUE;
    }
    if (!user) {
        g_message("sandbox: running as root; give --user=NAME to drop to a user");
        return TRUE;
    }
    pw = getpwnam(user);
    if (!pw) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "--user: no user “%s”", user);
        return FALSE;
    }
    /* Keep no capability across the change, in any set. */
    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
        prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
    if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
        setuid(pw->pw_uid) < 0) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
                    "--user=%s: cannot switch: %s", user, g_strerror(errno));
        return FALSE;
    }
    if (setuid(0) == 0) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_PERM, "--user=%s: root came back", user);
        return FALSE;
    }
    g_message("sandbox: running as %s (uid %u)", user, (unsigned int)pw->pw_uid);
    return TRUE;
}

/* Whatever the process still holds (a unit's AmbientCapabilities=, file
 * capabilities), none survives: effective, permitted and inheritable empty. */
static gboolean clear_capabilities(GError **error)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {{0}};

    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    if (syscall(SYS_capset, &hdr, data) < 0) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
                    "cannot clear capabilities: %s", g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

#if defined(VSND_SANITIZED)
/* The sanitizer runtime caches what it reads at a report (/proc/self/maps). */
extern void __sanitizer_sandbox_on_notify(void *args) __attribute__((weak));
#endif

gboolean vsnd_sandbox_apply(const VsndSandboxPolicy *p, GError **error)
{
    int abi = 0;

    if (p->level == VSND_SANDBOX_OFF) {
        g_message("sandbox: off (--sandbox=off): the %s driver runs unconfined", p->driver);
        return TRUE;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
                    "no_new_privs: %s", g_strerror(errno));
        return FALSE;
    }
    if (!drop_user(p->user, error) || !clear_capabilities(error))
        return FALSE;
#if defined(VSND_SANITIZED)
    if (__sanitizer_sandbox_on_notify)
        __sanitizer_sandbox_on_notify(NULL);
#endif
    if (p->level == VSND_SANDBOX_ON) {
        abi = vsnd_landlock_apply(p, error);
        if (abi < 0)
            return FALSE;
    }
    if (!vsnd_seccomp_apply(p, error))
        return FALSE;
    if (p->level == VSND_SANDBOX_LOG)
        g_message("sandbox: log mode for the %s driver: nothing is denied, the kernel logs "
                  "each system call the filter would forbid", p->driver);
    else
        g_message("sandbox: on for the %s driver (Landlock ABI %d, %u read-write paths; "
                  "system call filter: a forbidden call ends the daemon)",
                  p->driver, abi, p->read_write->len);
    return TRUE;
}
