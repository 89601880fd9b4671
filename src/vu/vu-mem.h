/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vu-mem.h - guest memory table of one vhost-user connection.
 *
 * Regions come from SET_MEM_TABLE or ADD_MEM_REG/REM_MEM_REG.  Each
 * region's mapping is a reference-counted VuMmap: popped elements hold a
 * reference to every mapping their iovecs point into, so a table change
 * never unmaps memory that a device still reads or writes (the unmap is
 * deferred to the last vu_mmap_unref()).
 */
#ifndef VU_MEM_H
#define VU_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/uio.h>

#include "vu-msg.h"

#define VU_MAX_MEM_SLOTS 32

typedef struct VuMmap VuMmap;

typedef struct VuMemRegion {
    uint64_t gpa;       /* guest physical address */
    uint64_t size;
    uint64_t uva;       /* front-end user address */
    uint64_t mmap_offset;
    uint8_t *host;      /* host address of gpa */
    VuMmap *map;
} VuMemRegion;

typedef struct VuMem {
    VuMemRegion regions[VU_MAX_MEM_SLOTS];
    unsigned int nregions;
} VuMem;

VuMmap *vu_mmap_ref(VuMmap *map);
void vu_mmap_unref(VuMmap *map);

/*
 * vu_mem_region_check() - validate a region description from the wire:
 * non-zero size, no overflow of gpa/uva/mmap_offset + size.
 * Return: true if acceptable.
 */
bool vu_mem_region_check(const VuMsgMemRegion *r);
/* A shared mapping of a regular file beyond its end would SIGBUS on access:
 * such a file must reach @end.  A memfd that allows sealing is sealed
 * against shrinking first (F_SEAL_SHRINK), so it keeps that size.
 * Return: 0, -EINVAL (too short) or -errno. */
int vu_fd_check_size(int fd, uint64_t end);
/* The granularity @fd can be mapped at: its huge page size on hugetlbfs,
 * the system page size otherwise. */
size_t vu_fd_page_size(int fd);

/*
 * vu_mem_add() - map @fd (not consumed) as a new region.
 * Return: 0, -EINVAL (overlap, too large for the file), -ENOSPC (no
 * slot left), or -errno from mmap.
 */
int vu_mem_add(VuMem *mem, const VuMsgMemRegion *r, int fd);
/* Remove the region matching gpa, uva and size.  Return: 0 or -ENOENT. */
int vu_mem_remove(VuMem *mem, const VuMsgMemRegion *r);
/* Drop every region (mappings live on while elements reference them). */
void vu_mem_clear(VuMem *mem);

/*
 * vu_mem_gpa_to_va() - translate a guest physical address.
 * @len: in: wanted length; out: capped to the end of the region.
 * @ret_map: optional out, the mapping the address lies in.
 * Return: host pointer, or NULL when @gpa is not in guest memory or *len
 * would be zero.
 */
void *vu_mem_gpa_to_va(const VuMem *mem, uint64_t gpa, uint64_t *len, VuMmap **ret_map);
/* Same for a front-end user address (vring addresses). */
void *vu_mem_uva_to_va(const VuMem *mem, uint64_t uva, uint64_t *len);
/* Front-end user address -> guest physical address (for dirty logging). */
bool vu_mem_uva_to_gpa(const VuMem *mem, uint64_t uva, uint64_t *ret_gpa);

/* One guest buffer of a descriptor chain, as the ring code collected it. */
typedef struct VuMemSeg {
    uint64_t gpa;
    uint32_t len;       /* non-zero */
    bool write;         /* device-writable */
} VuMemSeg;

/* Where vu_mem_map_chain() puts a chain: the caller's arrays and limits. */
typedef struct VuMemChain {
    struct iovec *out;
    unsigned int out_max, out_num;
    struct iovec *in;
    uint64_t *in_gpa;   /* guest address of each in[] entry */
    unsigned int in_max, in_num;
    VuMmap *maps[VU_MAX_MEM_SLOTS]; /* referenced on success */
    unsigned int nmaps;
} VuMemChain;

/*
 * vu_mem_map_chain() - translate every buffer of one chain in one call:
 * each segment becomes one iovec per region it covers (device-readable
 * ones into @c->out, writable ones into @c->in), and every mapping they
 * lie in is referenced once (the caller owns @c->maps[0..nmaps) then).
 * Return: NULL, or why the chain is unusable (a segment outside guest
 * memory, more iovecs than a direction holds); nothing is referenced then.
 */
const char *vu_mem_map_chain(const VuMem *mem, const VuMemSeg *segs, unsigned int n,
                             VuMemChain *c);

/*
 * vu_mem_read() - copy @len bytes at guest address @gpa into @buf, even
 * across region boundaries.  Return: true if the whole range is mapped.
 */
bool vu_mem_read(const VuMem *mem, uint64_t gpa, void *buf, size_t len);

#endif /* VU_MEM_H */
