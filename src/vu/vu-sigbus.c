/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vu-sigbus.c - absorb SIGBUS from front-end files shrunk under a mapping.
 *
 * The watch table is written under a mutex by the threads that map and
 * unmap, and read lock-free by the signal handler: a slot is published by
 * storing its length last (release) and retired by clearing the length
 * first, so the handler never sees a half-written range.  The handler
 * only uses async-signal-safe calls (mmap, write, sigaction are plain
 * system calls).
 */
#include "config.h"

#define G_LOG_DOMAIN "vsnd-vu"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <glib.h>

#include "vu-sigbus.h"

typedef struct VuSigbusRange {
    uintptr_t base;
    size_t len;     /* 0: free */
    size_t page;
} VuSigbusRange;

static VuSigbusRange ranges[VU_SIGBUS_MAX_WATCH];
static bool used[VU_SIGBUS_MAX_WATCH]; /* under lock; slot reserved */
static GMutex lock;
static struct sigaction previous;
static uint64_t faults;

/* "0x" + 16 hex digits of @v into @buf (no terminator). */
static size_t put_hex(char *buf, uintptr_t v)
{
    static const char digits[] = "0123456789abcdef";
    size_t n = 0;

    buf[n++] = '0';
    buf[n++] = 'x';
    for (int shift = (int)sizeof(v) * 8 - 4; shift >= 0; shift -= 4) {
        buf[n++] = digits[(v >> shift) & 0xf];
    }
    return n;
}

static void say_absorbed(uintptr_t addr)
{
    static const char head[] = "vhost-user-snd: SIGBUS at ";
    static const char tail[] = ": the front-end shrank a file the daemon maps; "
                               "that page reads as zeros now\n";
    char buf[sizeof(head) + sizeof(tail) + 20];
    size_t n = 0;
    ssize_t r;

    memcpy(buf, head, sizeof(head) - 1);
    n += sizeof(head) - 1;
    n += put_hex(buf + n, addr);
    memcpy(buf + n, tail, sizeof(tail) - 1);
    n += sizeof(tail) - 1;
    r = write(STDERR_FILENO, buf, n);
    (void)r;
}

static void on_sigbus(int sig, siginfo_t *si, void *uctx)
{
    uintptr_t addr = (uintptr_t)si->si_addr;
    int saved = errno;

    (void)sig;
    (void)uctx;
    for (unsigned int i = 0; i < VU_SIGBUS_MAX_WATCH; i++) {
        size_t len = __atomic_load_n(&ranges[i].len, __ATOMIC_ACQUIRE);
        uintptr_t base = ranges[i].base;
        size_t page = ranges[i].page;
        uintptr_t at;
        size_t n;

        if (!len || addr < base || addr - base >= len) {
            continue;
        }
        at = base + ((addr - base) & ~(uintptr_t)(page - 1));
        n = MIN(page, base + len - at);
        if (mmap((void *)at, n, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) {
            break;
        }
        __atomic_add_fetch(&faults, 1, __ATOMIC_RELAXED);
        say_absorbed(addr);
        errno = saved;
        return; /* the access is retried and finds the zero page */
    }
    /* Not ours (or cannot be mended): the access is retried under the
     * disposition that was there before, which ends the process as a
     * SIGBUS always did. */
    sigaction(SIGBUS, &previous, NULL);
    errno = saved;
}

static void install_once(void)
{
    static gsize done;

    if (g_once_init_enter(&done)) {
        struct sigaction sa;

        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = on_sigbus;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGBUS, &sa, &previous) < 0) {
            g_warning("cannot install the SIGBUS handler: %s", g_strerror(errno));
        }
        g_once_init_leave(&done, 1);
    }
}

int vu_sigbus_watch(void *base, size_t len, size_t page)
{
    int handle = -ENOSPC;

    if (!base || !len || !page || (page & (page - 1))) {
        return -EINVAL;
    }
    install_once();
    g_mutex_lock(&lock);
    for (unsigned int i = 0; i < VU_SIGBUS_MAX_WATCH; i++) {
        if (!used[i]) {
            used[i] = true;
            ranges[i].base = (uintptr_t)base;
            ranges[i].page = page;
            __atomic_store_n(&ranges[i].len, len, __ATOMIC_RELEASE);
            handle = (int)i;
            break;
        }
    }
    g_mutex_unlock(&lock);
    return handle;
}

void vu_sigbus_unwatch(int handle)
{
    if (handle < 0 || handle >= VU_SIGBUS_MAX_WATCH) {
        return;
    }
    g_mutex_lock(&lock);
    __atomic_store_n(&ranges[handle].len, 0, __ATOMIC_RELEASE);
    ranges[handle].base = 0;
    used[handle] = false;
    g_mutex_unlock(&lock);
}

uint64_t vu_sigbus_faults(void)
{
    return __atomic_load_n(&faults, __ATOMIC_RELAXED);
}
