/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sandbox.h - the daemon's confinement once start-up is over.
 *
 * The daemon parses guest-controlled memory all day, so once its socket,
 * its driver and the driver's files exist it gives up what it no longer
 * needs: new privileges (PR_SET_NO_NEW_PRIVS), root (--user) and every
 * capability, the file system beyond a few paths (Landlock), and every
 * system call its driver does not make (a seccomp allow-list).
 *
 * The policy is plain data, built from the configuration and the chosen
 * driver, so a test can apply exactly what the daemon applies.
 */
#ifndef VSND_SANDBOX_H
#define VSND_SANDBOX_H

#include <glib.h>

typedef enum VsndSandboxLevel {
    VSND_SANDBOX_ON = 0, /* default: a forbidden system call ends the daemon */
    VSND_SANDBOX_OFF,    /* nothing is confined */
    VSND_SANDBOX_LOG,    /* privileges dropped, the filter only logs (the kernel logs
                          * each system call it would kill), no Landlock (it has no
                          * log-only mode): for finding what a driver needs */
} VsndSandboxLevel;

/* System call sets beyond the base (GLib, the vhost-user core, null, wav). */
typedef enum VsndSandboxNeeds {
    VSND_SANDBOX_NEEDS_CLIENT = 1u << 0,  /* an audio server client: connect, memfd,
                                           * epoll, real-time scheduling, any ioctl */
    VSND_SANDBOX_NEEDS_DEVICES = 1u << 1, /* ALSA: device ioctls, plugins mapped as code */
} VsndSandboxNeeds;

typedef struct VsndSandboxPolicy {
    VsndSandboxLevel level;
    char *driver;     /* for log lines */
    guint needs;      /* VsndSandboxNeeds bits */
    GPtrArray *read_write; /* paths (directories or files) below which all is allowed */
    GPtrArray *read_only;  /* paths below which reading (and mapping code) is allowed */
    char *user;       /* --user: switch to it when started as root, or NULL */
} VsndSandboxPolicy;

struct VsndConfig;

gboolean vsnd_sandbox_parse_level(const char *text, VsndSandboxLevel *ret);
const char *vsnd_sandbox_level_name(VsndSandboxLevel level);

/* The daemon's policy for @cfg with the driver actually chosen (after "auto"). */
VsndSandboxPolicy *vsnd_sandbox_policy_new(const struct VsndConfig *cfg, const char *driver);
void vsnd_sandbox_policy_free(VsndSandboxPolicy *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VsndSandboxPolicy, vsnd_sandbox_policy_free)

/*
 * vsnd_sandbox_apply() - confine the calling process; irreversible.
 * Applies to every thread for the filter and the privileges; Landlock covers
 * the calling thread and the threads it starts from now on.
 * Return: FALSE with @error when a step that the level asks for failed (the
 * caller must not go on unconfined); a missing kernel feature is logged, not
 * an error.
 */
gboolean vsnd_sandbox_apply(const VsndSandboxPolicy *p, GError **error);

/* The parts, for sandbox.c and the tests. */
/* Return: the Landlock ABI enforced (>= 1), 0 when the kernel has none, -1 with @error. */
int vsnd_landlock_apply(const VsndSandboxPolicy *p, GError **error);
gboolean vsnd_seccomp_apply(const VsndSandboxPolicy *p, GError **error);

#endif /* VSND_SANDBOX_H */
