/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * guest-mem.h - guest RAM for tests that play the guest: memfd-backed
 * regions at guest-physical addresses, as the front-end hands them to a
 * back-end in SET_MEM_TABLE / ADD_MEM_REG.
 *
 * Theory of operation: FgMem is "guest RAM", cut into regions that sit
 * at guest-physical addresses, by default with gaps between them (so a
 * descriptor chain whose buffers come from different regions crosses
 * regions, and a gpa in a gap is outside guest memory).  Each region
 * carries the values the front-end puts in SET_MEM_TABLE: guest address,
 * size, a fake "user address" (by default unrelated to both the gpa and
 * our own mapping, so that a device that confuses the two address kinds
 * fails), the fd and the mmap offset into it.  By default all regions
 * live in one sealable memfd (as QEMU's memory-backend-memfd); a layout
 * may give each region a memfd of its own.
 *
 * Used by the harness (tests/harness), the vhost-user core unit tests
 * (tests/test-vu-common, fixed addresses their checks know) and the core
 * fuzz targets (tests/fuzz).  Ownership: FgMem owns the memfds and the
 * mappings.  Test set-up failures abort via g_assert.
 */
#ifndef VSND_TESTS_GUEST_MEM_H
#define VSND_TESTS_GUEST_MEM_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FG_MAX_REGIONS 8
#define FG_PAGE_SIZE 4096u

typedef struct FgRegion {
    uint64_t gpa;         /* guest-physical start */
    uint64_t size;
    uint64_t uva;         /* the front-end's "user address" of the region */
    int fd;               /* the memfd the region lives in (owned by FgMem) */
    uint64_t mmap_offset; /* offset of the region in that memfd */
    uint8_t *host;        /* where the test process sees it */
    uint64_t next_free;   /* bump allocator, offset inside the region */
} FgRegion;

typedef struct FgMem {
    int fd;               /* the memfd shared by all regions; -1 with fd_per_region */
    uint8_t *base;        /* mapping of the whole memfd (NULL with fd_per_region) */
    uint64_t total;
    unsigned int nregions;
    unsigned int next_region; /* round-robin cursor of fg_alloc() */
    FgRegion region[FG_MAX_REGIONS];
} FgMem;

/* Where the regions go; fg_mem_new() fills in the defaults. */
typedef struct FgMemLayout {
    unsigned int nregions;    /* 1..FG_MAX_REGIONS */
    uint64_t region_size;     /* a multiple of the page size */
    uint64_t gap;             /* unmapped gpa space between regions */
    uint64_t gpa;             /* first region's gpa */
    uint64_t uva;             /* first region's user address */
    uint64_t uva_stride;      /* user address distance between regions */
    bool fd_per_region;       /* a memfd per region (mmap offset 0) */
    bool sealable;            /* MFD_ALLOW_SEALING */
} FgMemLayout;

/*
 * fg_mem_new() - create guest RAM.
 * @nregions: 1..FG_MAX_REGIONS regions of @region_size bytes each (a
 *            multiple of the page size).
 * @gap: bytes of guest-physical address space left unmapped between
 *       consecutive regions (0 makes them contiguous in gpa).
 * The first region starts at gpa 0x10000 (so gpa 0 is outside memory);
 * one sealable memfd.
 * Return: new memory; never NULL (test set-up failures abort).
 */
FgMem *fg_mem_new(unsigned int nregions, uint64_t region_size, uint64_t gap);
FgMem *fg_mem_new_layout(const FgMemLayout *layout);
void fg_mem_free(FgMem *mem);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FgMem, fg_mem_free)

/* Allocate @size bytes aligned to @align (power of two) from region @r. */
uint64_t fg_alloc_in(FgMem *mem, unsigned int r, uint64_t size, uint64_t align);
/* Allocate from the next region in round-robin order that has room, so
 * consecutive allocations land in different regions. */
uint64_t fg_alloc(FgMem *mem, uint64_t size, uint64_t align);
/* Forget every allocation (the memory contents stay). */
void fg_alloc_reset(FgMem *mem);
/* Host pointer for [gpa, gpa+len), or NULL if not inside one region. */
void *fg_ptr(const FgMem *mem, uint64_t gpa, uint64_t len);
/* Translate a gpa to the region's user address (what SET_VRING_ADDR
 * carries); 0 if outside memory. */
uint64_t fg_gpa_to_uva(const FgMem *mem, uint64_t gpa);
/* A gpa that lies in no region (in the first gap, or past the end). */
uint64_t fg_mem_hole(const FgMem *mem);
void fg_write(FgMem *mem, uint64_t gpa, const void *buf, size_t len);
void fg_read(const FgMem *mem, uint64_t gpa, void *buf, size_t len);

/* One region as SET_MEM_TABLE / ADD_MEM_REG / REM_MEM_REG describe it
 * (gpa, size, uva, mmap offset: 32 bytes). */
#define FG_MEM_REGION_SIZE 32u
void fg_mem_region_desc(const FgMem *mem, unsigned int region, uint8_t out[FG_MEM_REGION_SIZE]);
/* The SET_MEM_TABLE payload of every region ({u32 nregions, u32 pad,
 * regions}) into @payload (room for FG_MAX_REGIONS) and the fd of each
 * region into @fds.  Return: the payload size. */
size_t fg_mem_table(const FgMem *mem, uint8_t *payload, int *fds);

#endif /* VSND_TESTS_GUEST_MEM_H */
