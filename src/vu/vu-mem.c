/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vu-mem.c - guest memory regions: map, translate, unmap late.
 *
 * Theory of operation (vhost-user.rst: "Memory region description",
 * "Memory access", SET_MEM_TABLE, GET_MAX_MEM_SLOTS, ADD_MEM_REG,
 * REM_MEM_REG):
 *
 * A region says: guest addresses [gpa, gpa+size) are the bytes at
 * [mmap_offset, mmap_offset+size) of the passed fd, and the front-end sees
 * them at user address uva.  Every addition is checked with overflow-safe
 * arithmetic, against the file size (a mapping past EOF would SIGBUS on
 * access), and against overlap with existing regions.
 *
 * The fd's own page size is the mapping granularity: a hugetlbfs file
 * (memory-backend-memfd,hugetlb=on, libvirt <hugepages/>, DPDK) can only
 * be mapped at addresses, offsets and lengths aligned to its huge page
 * size, so the reservation is carved at that alignment.
 *
 * A file that shrinks under its mapping cannot kill the daemon: sealable
 * memfds get F_SEAL_SHRINK, and every mapping is watched by vu-sigbus.c,
 * which turns the SIGBUS of a page past the new end into a zero page.
 *
 * Each mapping is surrounded by PROT_NONE guard pages, so an off-by-one
 * anywhere faults immediately instead of touching an unrelated mapping
 * (this also gives the fuzzers their red zones).
 *
 * Translation caps the length at the region end: a buffer crossing two
 * regions becomes two iovecs.  Mappings are reference counted; popped
 * elements hold references, so REM_MEM_REG or a new SET_MEM_TABLE does
 * not pull memory from under a device that still holds buffers.
 */
#include "config.h"

#define G_LOG_DOMAIN "vsnd-vu"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include <glib.h>

#include "vu-mem.h"
#include "vu-sigbus.h"

struct VuMmap {
    gint ref;
    void *base;      /* start of the reservation incl. guard pages */
    size_t total;    /* size of the reservation */
    int watch;       /* vu_sigbus_watch() handle of the file mapping */
};

/* Largest region we map: 1 TiB, far beyond any sound VM. */
#define VU_MEM_MAX_MAP (1ull << 40)

VuMmap *vu_mmap_ref(VuMmap *map)
{
    g_atomic_int_inc(&map->ref);
    return map;
}

void vu_mmap_unref(VuMmap *map)
{
    if (map && g_atomic_int_dec_and_test(&map->ref)) {
        vu_sigbus_unwatch(map->watch);
        munmap(map->base, map->total);
        g_free(map);
    }
}

bool vu_mem_region_check(const VuMsgMemRegion *r)
{
    uint64_t end;

    if (r->size == 0 || r->size > VU_MEM_MAX_MAP) {
        return false;
    }
    if (__builtin_add_overflow(r->guest_addr, r->size - 1, &end) ||
        __builtin_add_overflow(r->user_addr, r->size - 1, &end) ||
        __builtin_add_overflow(r->mmap_offset, r->size, &end) || end > (uint64_t)INT64_MAX) {
        return false;
    }
    return true;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    /* Inclusive ends; lengths are non-zero and checked not to overflow. */
    return a <= b + (blen - 1) && b <= a + (alen - 1);
}

int vu_fd_check_size(int fd, uint64_t end)
{
    struct stat st;
    int seals;

    /* A front-end that shrinks a file after we mapped it would raise
     * SIGBUS in the daemon on the next access.  A memfd that still allows
     * sealing gets F_SEAL_SHRINK from us, before the size check, so the
     * size we check is the size it keeps (QEMU's memory-backend-memfd
     * seals it itself by default).  Files that cannot be sealed (tmpfs or
     * hugetlbfs files of memory-backend-file, memfds created without
     * MFD_ALLOW_SEALING) are legitimate guest RAM and stay accepted: their
     * mappings are watched for SIGBUS instead (vu-sigbus.h). */
    seals = fcntl(fd, F_GET_SEALS);
    if (seals >= 0 && !(seals & (F_SEAL_SHRINK | F_SEAL_SEAL))) {
        (void)fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK);
    }
    if (fstat(fd, &st) < 0) {
        return -errno;
    }
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < end) {
        return -EINVAL;
    }
    return 0;
}

size_t vu_fd_page_size(int fd)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    struct statfs fs;

    if (fstatfs(fd, &fs) == 0 && fs.f_type == HUGETLBFS_MAGIC && fs.f_bsize > 0 &&
        ((uint64_t)fs.f_bsize & ((uint64_t)fs.f_bsize - 1)) == 0 &&
        (uint64_t)fs.f_bsize > page && (uint64_t)fs.f_bsize <= VU_MEM_MAX_MAP) {
        return (size_t)fs.f_bsize;
    }
    return page;
}

int vu_mem_add(VuMem *mem, const VuMsgMemRegion *r, int fd)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t align = vu_fd_page_size(fd);
    uint64_t map_off, map_len, lead, total;
    uintptr_t at;
    VuMemRegion *reg;
    VuMmap *map;
    void *res, *p;
    int ret;

    if (!vu_mem_region_check(r)) {
        return -EINVAL;
    }
    if (mem->nregions >= VU_MAX_MEM_SLOTS) {
        return -ENOSPC;
    }
    for (unsigned int i = 0; i < mem->nregions; i++) {
        if (ranges_overlap(mem->regions[i].gpa, mem->regions[i].size, r->guest_addr, r->size)) {
            return -EINVAL;
        }
    }
    ret = vu_fd_check_size(fd, r->mmap_offset + r->size);
    if (ret < 0) {
        return ret;
    }

    /* mmap needs an offset, address and length aligned to the fd's page
     * size: map from the page below, round the length up. */
    map_off = r->mmap_offset & ~((uint64_t)align - 1);
    lead = r->mmap_offset - map_off;
    map_len = lead + r->size;
    map_len = (map_len + align - 1) & ~((uint64_t)align - 1);

    /* Reservation: a guard page, room to align the start, the mapping and
     * a guard page after it.  With 4 KiB pages this is exactly
     * guard + mapping + guard. */
    total = page + (align - page) + map_len + page;
    res = mmap(NULL, (size_t)total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
               0);
    if (res == MAP_FAILED) {
        return -errno;
    }
    at = ((uintptr_t)res + page + align - 1) & ~((uintptr_t)align - 1);
    p = mmap((void *)at, (size_t)map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
             (off_t)map_off);
    if (p == MAP_FAILED) {
        int err = -errno;

        munmap(res, (size_t)total);
        return err;
    }

    map = g_new0(VuMmap, 1);
    map->ref = 1;
    map->base = res;
    map->total = (size_t)total;
    /* Sealed or not, a file can shrink under us (tmpfs and hugetlbfs
     * files, memfds that refuse seals): a fault there must not kill the
     * daemon. */
    map->watch = vu_sigbus_watch(p, (size_t)map_len, align);
    if (map->watch < 0) {
        int err = map->watch;

        munmap(res, (size_t)total);
        g_free(map);
        return err;
    }

    reg = &mem->regions[mem->nregions++];
    reg->gpa = r->guest_addr;
    reg->size = r->size;
    reg->uva = r->user_addr;
    reg->mmap_offset = r->mmap_offset;
    reg->host = (uint8_t *)p + lead;
    reg->map = map;
    return 0;
}

int vu_mem_remove(VuMem *mem, const VuMsgMemRegion *r)
{
    for (unsigned int i = 0; i < mem->nregions; i++) {
        VuMemRegion *reg = &mem->regions[i];

        if (reg->gpa == r->guest_addr && reg->uva == r->user_addr && reg->size == r->size) {
            vu_mmap_unref(reg->map);
            memmove(reg, reg + 1, (mem->nregions - i - 1) * sizeof(*reg));
            mem->nregions--;
            memset(&mem->regions[mem->nregions], 0, sizeof(mem->regions[0]));
            return 0;
        }
    }
    return -ENOENT;
}

void vu_mem_clear(VuMem *mem)
{
    for (unsigned int i = 0; i < mem->nregions; i++) {
        vu_mmap_unref(mem->regions[i].map);
    }
    memset(mem, 0, sizeof(*mem));
}

void *vu_mem_gpa_to_va(const VuMem *mem, uint64_t gpa, uint64_t *len, VuMmap **ret_map)
{
    for (unsigned int i = 0; i < mem->nregions; i++) {
        const VuMemRegion *reg = &mem->regions[i];

        if (gpa >= reg->gpa && gpa - reg->gpa < reg->size) {
            uint64_t off = gpa - reg->gpa;
            uint64_t avail = reg->size - off;

            if (*len > avail) {
                *len = avail;
            }
            if (*len == 0) {
                return NULL;
            }
            if (ret_map) {
                *ret_map = reg->map;
            }
            return reg->host + off;
        }
    }
    return NULL;
}

void *vu_mem_uva_to_va(const VuMem *mem, uint64_t uva, uint64_t *len)
{
    for (unsigned int i = 0; i < mem->nregions; i++) {
        const VuMemRegion *reg = &mem->regions[i];

        if (uva >= reg->uva && uva - reg->uva < reg->size) {
            uint64_t off = uva - reg->uva;
            uint64_t avail = reg->size - off;

            if (*len > avail) {
                *len = avail;
            }
            if (*len == 0) {
                return NULL;
            }
            return reg->host + off;
        }
    }
    return NULL;
}

bool vu_mem_uva_to_gpa(const VuMem *mem, uint64_t uva, uint64_t *ret_gpa)
{
    for (unsigned int i = 0; i < mem->nregions; i++) {
        const VuMemRegion *reg = &mem->regions[i];

        if (uva >= reg->uva && uva - reg->uva < reg->size) {
            *ret_gpa = reg->gpa + (uva - reg->uva);
            return true;
        }
    }
    return false;
}

/* Append the mapping of one chunk to @c->maps once; false if full. */
static bool chain_note_map(VuMemChain *c, VuMmap *map)
{
    for (unsigned int m = 0; m < c->nmaps; m++) {
        if (c->maps[m] == map) {
            return true;
        }
    }
    if (c->nmaps >= VU_MAX_MEM_SLOTS) {
        return false;
    }
    c->maps[c->nmaps++] = map;
    return true;
}

const char *vu_mem_map_chain(const VuMem *mem, const VuMemSeg *segs, unsigned int n,
                             VuMemChain *c)
{
    c->out_num = c->in_num = c->nmaps = 0;
    for (unsigned int i = 0; i < n; i++) {
        uint64_t addr = segs[i].gpa;
        uint64_t left = segs[i].len;

        while (left > 0) {
            uint64_t chunk = left;
            VuMmap *map = NULL;
            void *va = vu_mem_gpa_to_va(mem, addr, &chunk, &map);
            struct iovec *iov;

            if (!va) {
                return "descriptor points outside guest memory";
            }
            if (!chain_note_map(c, map)) {
                return "too many mappings";
            }
            if (segs[i].write) {
                if (c->in_num >= c->in_max) {
                    return "too many buffers in chain";
                }
                c->in_gpa[c->in_num] = addr;
                iov = &c->in[c->in_num++];
            } else {
                if (c->out_num >= c->out_max) {
                    return "too many buffers in chain";
                }
                iov = &c->out[c->out_num++];
            }
            iov->iov_base = va;
            iov->iov_len = (size_t)chunk;
            addr += chunk;
            left -= chunk;
        }
    }
    for (unsigned int m = 0; m < c->nmaps; m++) {
        vu_mmap_ref(c->maps[m]);
    }
    return NULL;
}

bool vu_mem_read(const VuMem *mem, uint64_t gpa, void *buf, size_t len)
{
    uint8_t *out = buf;

    while (len > 0) {
        uint64_t chunk = len;
        void *src = vu_mem_gpa_to_va(mem, gpa, &chunk, NULL);

        if (!src) {
            return false;
        }
        memcpy(out, src, (size_t)chunk);
        out += chunk;
        len -= (size_t)chunk;
        if (__builtin_add_overflow(gpa, chunk, &gpa) && len > 0) {
            return false;
        }
    }
    return true;
}
