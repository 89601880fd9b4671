/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vu-sigbus.h - surviving a front-end that shrinks a file the daemon has
 * mapped (guest RAM, dirty log, inflight region).
 *
 * Sealing (F_SEAL_SHRINK) protects memfds that allow it, but guest RAM
 * may legitimately be a file that cannot be sealed: memory-backend-file
 * on tmpfs or hugetlbfs (libvirt, DPDK), a memfd created without
 * MFD_ALLOW_SEALING.  Touching such a mapping past the file's new end
 * raises SIGBUS.  Every mapping of a front-end's fd is watched here: a
 * SIGBUS inside a watched range replaces the faulting page(s) by private
 * zero pages (the access completes, writes go nowhere), says so on stderr
 * and counts it; a SIGBUS anywhere else goes to the previous disposition.
 * The device then sees zeros where the front-end took its memory away,
 * which the ring checks treat like any other corrupt ring.
 */
#ifndef VSND_VU_SIGBUS_H
#define VSND_VU_SIGBUS_H

#include <stddef.h>
#include <stdint.h>

/* Ranges watched at once: 32 regions per connection plus log and inflight,
 * with room for mappings popped elements still hold after a reconnect. */
#define VU_SIGBUS_MAX_WATCH 256

/*
 * vu_sigbus_watch() - watch [@base, @base + @len), a shared mapping of
 * pages of @page bytes (the fd's page size: hugetlbfs pages are replaced
 * whole).  Installs the handler the first time.
 * Return: a handle >= 0 for vu_sigbus_unwatch(), or -ENOSPC.
 */
int vu_sigbus_watch(void *base, size_t len, size_t page);
/* Stop watching (before the range is unmapped); -1 is ignored. */
void vu_sigbus_unwatch(int handle);
/* SIGBUS faults absorbed so far (tests, logs). */
uint64_t vu_sigbus_faults(void);

#endif /* VSND_VU_SIGBUS_H */
