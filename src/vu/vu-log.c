/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vu-log.c - dirty page bitmap shared with the front-end.
 *
 * Theory of operation (vhost-user.rst: "Migration", "Log description",
 * SET_LOG_BASE, SET_LOG_FD):
 *
 * While VHOST_F_LOG_ALL is negotiated the back-end marks every guest page
 * it writes: bit (gpa / 4096) of the bitmap, set with an atomic OR since
 * the front-end reads and clears it concurrently.  The core calls
 * vu_log_write() for the used ring (at the ring's log_guest_addr when the
 * ring has VHOST_VRING_F_LOG), for the event suppression fields it
 * writes, and for the first @len bytes of an element's in_sg at push time
 * (the device's data and status writes).  The bitmap comes as a shared
 * memory fd in SET_LOG_BASE (we only offer LOG_SHMFD); it is mapped with
 * overflow-checked size/offset and bounded; bits past its end are
 * ignored rather than trusted.
 */
#include "config.h"

#define G_LOG_DOMAIN "vsnd-vu"

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "vu-log.h"
#include "vu-mem.h"
#include "vu-sigbus.h"

/* 2^36 bytes of bitmap cover 2^51 bytes of guest memory. */
#define VU_LOG_MAX_SIZE (1ull << 36)

void vu_log_init(VuLog *log)
{
    log->bitmap = NULL;
    log->size = 0;
    log->map = NULL;
    log->map_len = 0;
    log->call_fd = -1;
    log->watch = -1;
}

static void vu_log_unmap(VuLog *log)
{
    vu_sigbus_unwatch(log->watch);
    log->watch = -1;
    if (log->map) {
        munmap(log->map, log->map_len);
    }
    log->map = NULL;
    log->map_len = 0;
    log->bitmap = NULL;
    log->size = 0;
}

int vu_log_set_base(VuLog *log, int fd, uint64_t size, uint64_t offset)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uint64_t map_off, lead, len, end;
    void *p;
    int r;

    if (size == 0 || size > VU_LOG_MAX_SIZE || __builtin_add_overflow(offset, size, &end) ||
        end > (uint64_t)INT64_MAX) {
        return -EINVAL;
    }
    r = vu_fd_check_size(fd, end);
    if (r < 0) {
        return r;
    }
    map_off = offset & ~((uint64_t)page - 1);
    lead = offset - map_off;
    len = lead + size;
    p = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)map_off);
    if (p == MAP_FAILED) {
        return -errno;
    }
    /* The front-end may shrink the file later: watched like guest RAM. */
    r = vu_sigbus_watch(p, (size_t)len, page);
    if (r < 0) {
        munmap(p, (size_t)len);
        return r;
    }
    vu_log_unmap(log);
    log->watch = r;
    log->map = p;
    log->map_len = (size_t)len;
    log->bitmap = (uint8_t *)p + lead;
    log->size = size;
    return 0;
}

void vu_log_set_call_fd(VuLog *log, int fd)
{
    if (log->call_fd >= 0) {
        close(log->call_fd);
    }
    log->call_fd = fd;
}

void vu_log_clear(VuLog *log)
{
    vu_log_unmap(log);
    vu_log_set_call_fd(log, -1);
}

bool vu_log_active(const VuLog *log)
{
    return log->bitmap != NULL;
}

void vu_log_write(VuLog *log, uint64_t gpa, uint64_t len)
{
    uint64_t page, last;

    if (!log->bitmap || len == 0) {
        return;
    }
    page = gpa / VU_LOG_PAGE;
    if (__builtin_add_overflow(gpa, len - 1, &last)) {
        last = UINT64_MAX;
    }
    last /= VU_LOG_PAGE;
    for (; page <= last; page++) {
        uint64_t byte = page / 8;

        if (byte >= log->size) {
            break;
        }
        __atomic_fetch_or(&log->bitmap[byte], (uint8_t)(1u << (page % 8)), __ATOMIC_RELAXED);
        if (page == UINT64_MAX) {
            break;
        }
    }
}

void vu_log_kick(VuLog *log)
{
    uint64_t one = 1;

    if (log->call_fd >= 0 && log->bitmap) {
        ssize_t r = write(log->call_fd, &one, sizeof(one));

        (void)r;
    }
}
