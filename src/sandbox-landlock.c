/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sandbox-landlock.c - the file system the confined daemon still sees.
 *
 * Every access right the running kernel's Landlock ABI knows is handled, so
 * anything not granted by a rule below is denied: reading only below the
 * policy's read-only paths, everything below its read-write paths.  With
 * ABI 4 TCP bind/connect are handled with no rule (no TCP at all), with
 * ABI 6 abstract Unix sockets and signals are scoped to the daemon.  The
 * constants of ABIs newer than the build machine's headers are defined
 * here: the kernel's values are part of its ABI.
 */
#define G_LOG_DOMAIN "vsnd-sandbox"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox.h"

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#define LL_NET_BIND_TCP (1ULL << 0)
#define LL_NET_CONNECT_TCP (1ULL << 1)
#define LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LL_SCOPE_SIGNAL (1ULL << 1)

/* The ruleset attribute as of ABI 6; older kernels take a shorter prefix. */
struct ll_ruleset_attr {
    __u64 handled_access_fs;
    __u64 handled_access_net;
    __u64 scoped;
};

#define LL_FS_V1 ((1ULL << 13) - 1) /* EXECUTE .. MAKE_SYM */
#define LL_FS_FILE (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | \
                    LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE | \
                    LANDLOCK_ACCESS_FS_IOCTL_DEV)
#define LL_FS_READ (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | \
                    LANDLOCK_ACCESS_FS_READ_DIR)

static __u64 fs_rights_for_abi(int abi)
{
    __u64 fs = LL_FS_V1;

    if (abi >= 2)
        fs |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3)
        fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
    if (abi >= 5)
        fs |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
    return fs;
}

static gboolean add_path_rule(int ruleset, const char *path, __u64 access, __u64 handled,
                              GError **error)
{
    struct landlock_path_beneath_attr rule = {0};
    struct stat st;
    int fd = open(path, O_PATH | O_CLOEXEC);

    if (fd < 0) {
        /* Optional places (a missing ~/.asoundrc, /lib64...) are no error. */
        g_debug("sandbox: %s not granted: %s", path, g_strerror(errno));
        return TRUE;
    }
    if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
        access &= LL_FS_FILE; /* directory rights on a file are refused */
    rule.allowed_access = access & handled;
    rule.parent_fd = fd;
    if (rule.allowed_access &&
        syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) < 0) {
        int err = errno;

        close(fd);
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err),
                    "Landlock rule for %s: %s", path, g_strerror(err));
        return FALSE;
    }
    close(fd);
    return TRUE;
}

int vsnd_landlock_apply(const VsndSandboxPolicy *p, GError **error)
{
    struct ll_ruleset_attr attr = {0};
    size_t attr_size;
    int abi, ruleset;
    __u64 handled;

    abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    if (abi < 1) {
        g_message("sandbox: the kernel has no Landlock (%s); the file system stays open",
                  g_strerror(errno));
        return 0;
    }
    handled = fs_rights_for_abi(abi);
    attr.handled_access_fs = handled;
    attr_size = sizeof(attr.handled_access_fs);
    if (abi >= 4) {
        attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
        attr_size = sizeof(attr.handled_access_fs) + sizeof(attr.handled_access_net);
    }
    if (abi >= 6) {
        attr.scoped = LL_SCOPE_ABSTRACT_UNIX_SOCKET | LL_SCOPE_SIGNAL;
        attr_size = sizeof(attr);
    }
    if (abi < 6)
        g_message("sandbox: Landlock ABI %d: %s%s", abi,
                  abi < 4 ? "TCP is left to the system call filter, " : "",
                  "abstract sockets and signals are not scoped");

    ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0);
    if (ruleset < 0) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
                    "Landlock ruleset: %s", g_strerror(errno));
        return -1;
    }
    for (guint i = 0; i < p->read_only->len; i++) {
        if (!add_path_rule(ruleset, p->read_only->pdata[i], LL_FS_READ, handled, error))
            goto fail;
    }
    for (guint i = 0; i < p->read_write->len; i++) {
        if (!add_path_rule(ruleset, p->read_write->pdata[i], handled, handled, error))
            goto fail;
    }
    /* landlock_restrict_self() needs no_new_privs (or CAP_SYS_ADMIN). */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
        syscall(SYS_landlock_restrict_self, ruleset, 0) < 0) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
                    "Landlock: %s", g_strerror(errno));
        goto fail;
    }
    close(ruleset);
    return abi;

fail:
    close(ruleset);
    return -1;
}
