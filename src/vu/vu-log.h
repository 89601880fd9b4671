/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vu-log.h - dirty page log for live migration (VHOST_F_LOG_ALL).
 */
#ifndef VU_LOG_H
#define VU_LOG_H

#include <stdbool.h>
#include <stdint.h>

#define VU_LOG_PAGE 0x1000u

typedef struct VuLog {
    uint8_t *bitmap;   /* start of the log (guest address 0) */
    uint64_t size;     /* bytes of bitmap */
    void *map;         /* the mmap to release */
    size_t map_len;
    int call_fd;       /* SET_LOG_FD eventfd, -1 if none */
    int watch;         /* vu_sigbus_watch() handle of map, -1 if none */
} VuLog;

void vu_log_init(VuLog *log);
/*
 * vu_log_set_base() - map the log shared memory (SET_LOG_BASE with
 * LOG_SHMFD).  @fd is not consumed.  Replaces a previous log.
 * Return: 0 or -errno (-EINVAL for a bad size/offset).
 */
int vu_log_set_base(VuLog *log, int fd, uint64_t size, uint64_t offset);
/* SET_LOG_FD: takes ownership of @fd. */
void vu_log_set_call_fd(VuLog *log, int fd);
/* Unmap and close everything. */
void vu_log_clear(VuLog *log);
bool vu_log_active(const VuLog *log);
/*
 * vu_log_write() - mark guest pages [gpa, gpa+len) dirty, atomically.
 * Pages beyond the log size are ignored (the front-end sized it).
 */
void vu_log_write(VuLog *log, uint64_t gpa, uint64_t len);
/* Tell the front-end the log changed (SET_LOG_FD eventfd). */
void vu_log_kick(VuLog *log);

#endif /* VU_LOG_H */
