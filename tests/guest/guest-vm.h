/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * guest-vm.h - a real QEMU running a real Linux guest, for make check-guest.
 *
 * Theory of operation: the guest kernels are unpacked by
 * build-aux/fetch-guest-kernels.sh into a cache ($VSND_GUEST_CACHE, else
 * ${XDG_CACHE_HOME:-~/.cache}/vhost-user-snd/guest), one directory per
 * version.  gv_image() builds (once per build tree) the initramfs for a
 * kernel with tests/guest/mkinitramfs.sh.  gv_start() starts
 * qemu-system-x86_64 under TCG with guest RAM in a shared memfd, the daemon's
 * socket as a vhost-user-snd-pci device, a virtio disk for results and the
 * guest console on QEMU's stdin/stdout.  Test files (GvFile) are appended to
 * the initramfs as a second cpio archive, so they appear in the guest.
 *
 * The guest's /init (tests/guest/guest-init.sh) reads one shell command per
 * console line and answers with its output followed by "@@ <status>".
 * gv_run() sends a command and waits for that marker; gv_send() and
 * gv_wait() split the two so that the host can act (QMP stop/cont, reset)
 * while a command runs.  gv_fetch() copies a guest file out through the
 * virtio disk.  QMP commands go over a private unix socket.
 *
 * Everything runs on the test's thread except the console reader, which
 * only appends to a buffer under a lock.
 */
#ifndef VSND_TESTS_GUEST_GUEST_VM_H
#define VSND_TESTS_GUEST_GUEST_VM_H

#include <glib.h>
#include <stdbool.h>

typedef struct GuestVm GuestVm;

/* A file placed into the guest's initramfs. */
typedef struct GvFile {
    const char *path;   /* absolute path in the guest, e.g. "/data/a.wav" */
    GBytes *contents;
} GvFile;

typedef struct GvConfig {
    const char *kernel;       /* version, a directory of the cache */
    const char *socket_path;  /* the daemon's listening socket */
    bool controls;            /* vhost-user-snd-pci controls=on */
    bool hugepages;           /* guest RAM from 2 MiB hugetlb pages */
    const GvFile *files;      /* n_files files added to the initramfs */
    size_t n_files;
    const char *name;         /* label in logs; default "guest" */
    const char *qemu;         /* QEMU binary; default gv_qemu_path() */
    int reconnect_ms;         /* > 0: QEMU reconnects to a restarted back-end
                               * (chardev reconnect-ms; needs contrib/qemu) */
    const char *kernel_args;  /* appended to the guest's command line, e.g.
                               * GV_SWITCH_KERNEL_ARGS; NULL: none */
} GvConfig;

/*
 * Kernel arguments for a guest whose back-end changes under a running stream
 * (migration, back-end restart).  Two limits of the guest, not of the device,
 * otherwise fail the guest's capture read across the switch with EIO
 * ("capture read timeout" in dmesg): Linux fails a read that waited 1.1
 * buffer times for a period.
 * - virtio_snd caps the buffer at pcm_buffer_ms (default 160 ms): arecord
 *   asking for 1 s got 2 periods of 80 ms (Linux 6.12, measured), so its read
 *   failed 176 ms after the last period, while a switch leaves it without a
 *   period for the downtime or the reconnection (reconnect-ms=250) plus up to
 *   two periods.  A larger cap lets through the buffer the test asks for; a
 *   real guest needs the same for capture to survive a back-end switch.
 * - Under TCG the default clocksource, the TSC, keeps running through a
 *   migration's downtime (a KVM guest has kvm-clock, which does not have
 *   this problem): the guest's clock stepped 0.2 s and 0.39 s at the switch
 *   with 95 and 210 ms downtimes.  The guests offer tsc, hpet and acpi_pm;
 *   QEMU's HPET counts the virtual clock, which stands still while the VM is
 *   stopped and migrates with it.  acpi_pm counts the same clock but slowed
 *   the TCG guest until arecord stalled (measured on Linux 6.12).
 */
#define GV_SWITCH_KERNEL_ARGS "clocksource=hpet virtio_snd.pcm_buffer_ms=1000"

/* The directory holding the unpacked kernels. */
char *gv_cache_dir(void);
/* Kernel versions available in the cache, in the order the cache lists
 * them (NULL-terminated, possibly empty). */
char **gv_kernels(void);
/* qemu-system-x86_64 in PATH (or $VSND_QEMU), or NULL. */
char *gv_qemu_path(void);
/*
 * gv_require() - may a guest test run?  Without QEMU or a kernel the test
 * fails when $CI is "true" or VSND_GUEST=1, and is skipped with the reason
 * otherwise (a developer machine without the packages).
 */
bool gv_require(void);

/* Start the VM and wait for the guest's "@@ready" line (60 s). */
GuestVm *gv_start(const GvConfig *cfg, GError **error);
/*
 * gv_start_incoming() - a second QEMU like @source (same initrd, same result
 * disk: shared storage) waiting for a migration on @uri, connected to the
 * daemon at @cfg->socket_path.  Its console is the guest's after the
 * migration.  Returns once its monitor answers.
 */
GuestVm *gv_start_incoming(const GvConfig *cfg, GuestVm *source, const char *uri, GError **error);
/* Power the guest off (or kill QEMU after @timeout_ms); reap QEMU.
 * Return: QEMU's wait status, or -1. */
int gv_stop(GuestVm *vm, int timeout_ms);
void gv_free(GuestVm *vm);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GuestVm, gv_free)

/* Send @cmd and wait for its status.  *out (optional) gets everything the
 * command printed.  Return: the status, or -1 on timeout or VM exit. */
int gv_run(GuestVm *vm, const char *cmd, char **out, double timeout_s);
/* Send without waiting; gv_wait() collects the result. */
void gv_send(GuestVm *vm, const char *cmd);
int gv_wait(GuestVm *vm, char **out, double timeout_s);
/* Wait until the console shows @needle after everything consumed so far
 * (without consuming it).  Return: true when seen. */
bool gv_wait_for(GuestVm *vm, const char *needle, double timeout_s);
/* Wait for "@@ready" again after a guest reboot or reset. */
bool gv_wait_ready(GuestVm *vm, double timeout_s);
/* Everything the console printed since start. */
char *gv_console(GuestVm *vm);

/* Copy the guest file @path out.  Return: its contents, or NULL + @error. */
GBytes *gv_fetch(GuestVm *vm, const char *path, GError **error);

/* Execute a QMP command (JSON text).  Return: the "return" member's JSON
 * text, or NULL with @error for an "error" reply or a broken monitor. */
char *gv_qmp(GuestVm *vm, const char *json, GError **error);

/* QEMU's stderr so far. */
char *gv_qemu_log(GuestVm *vm);
bool gv_qemu_alive(GuestVm *vm);

/* newc cpio archive of @files (directories created as needed). */
GBytes *gv_cpio(const GvFile *files, size_t n_files);

#endif /* VSND_TESTS_GUEST_GUEST_VM_H */
