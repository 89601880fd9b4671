/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * guest-mem.c - guest RAM in memfds (see guest-mem.h).
 */
#include "config.h"

#include "guest-mem.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FG_GPA_BASE 0x10000ull
#define FG_UVA_BASE 0x5a5a00003000ull
#define FG_UVA_STRIDE 0x100000000ull

static int fg_memfd(uint64_t size, bool sealable)
{
    int fd = memfd_create("vsnd-test-guest-ram", MFD_CLOEXEC | (sealable ? MFD_ALLOW_SEALING : 0));
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, (off_t)size), ==, 0);
    return fd;
}

static uint8_t *fg_map(int fd, uint64_t size)
{
    uint8_t *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    g_assert(p != MAP_FAILED);
    return p;
}

FgMem *fg_mem_new_layout(const FgMemLayout *l)
{
    g_assert(l->nregions >= 1 && l->nregions <= FG_MAX_REGIONS);
    g_assert(l->region_size > 0 && l->region_size % FG_PAGE_SIZE == 0);
    g_assert(l->gap % FG_PAGE_SIZE == 0);

    FgMem *mem = g_new0(FgMem, 1);
    mem->total = l->region_size * l->nregions;
    mem->fd = -1;
    if (!l->fd_per_region) {
        mem->fd = fg_memfd(mem->total, l->sealable);
        mem->base = fg_map(mem->fd, mem->total);
    }
    mem->nregions = l->nregions;
    uint64_t gpa = l->gpa;
    for (unsigned int i = 0; i < l->nregions; i++) {
        FgRegion *r = &mem->region[i];
        r->gpa = gpa;
        r->size = l->region_size;
        r->uva = l->uva + l->uva_stride * i;
        if (l->fd_per_region) {
            r->fd = fg_memfd(r->size, l->sealable);
            r->mmap_offset = 0;
            r->host = fg_map(r->fd, r->size);
        } else {
            r->fd = mem->fd;
            r->mmap_offset = l->region_size * i;
            r->host = mem->base + r->mmap_offset;
        }
        gpa += l->region_size + l->gap;
    }
    return mem;
}

FgMem *fg_mem_new(unsigned int nregions, uint64_t region_size, uint64_t gap)
{
    FgMemLayout l = {
        .nregions = nregions, .region_size = region_size, .gap = gap, .gpa = FG_GPA_BASE,
        .uva = FG_UVA_BASE, .uva_stride = FG_UVA_STRIDE, .sealable = true,
    };
    return fg_mem_new_layout(&l);
}

void fg_mem_free(FgMem *mem)
{
    if (!mem)
        return;
    if (mem->fd < 0) {
        for (unsigned int i = 0; i < mem->nregions; i++) {
            munmap(mem->region[i].host, mem->region[i].size);
            close(mem->region[i].fd);
        }
    } else {
        munmap(mem->base, mem->total);
        close(mem->fd);
    }
    g_free(mem);
}

uint64_t fg_alloc_in(FgMem *mem, unsigned int r, uint64_t size, uint64_t align)
{
    g_assert(r < mem->nregions);
    g_assert(align && (align & (align - 1)) == 0);
    FgRegion *reg = &mem->region[r];
    uint64_t off = (reg->next_free + align - 1) & ~(align - 1);
    if (off > reg->size || size > reg->size - off)
        return 0;
    reg->next_free = off + size;
    return reg->gpa + off;
}

uint64_t fg_alloc(FgMem *mem, uint64_t size, uint64_t align)
{
    for (unsigned int n = 0; n < mem->nregions; n++) {
        unsigned int r = mem->next_region;
        mem->next_region = (mem->next_region + 1) % mem->nregions;
        uint64_t gpa = fg_alloc_in(mem, r, size, align);
        if (gpa)
            return gpa;
    }
    g_error("fake guest: out of guest memory allocating %" G_GUINT64_FORMAT " bytes", size);
    return 0;
}

void fg_alloc_reset(FgMem *mem)
{
    for (unsigned int i = 0; i < mem->nregions; i++)
        mem->region[i].next_free = 0;
    mem->next_region = 0;
}

static const FgRegion *fg_find(const FgMem *mem, uint64_t gpa, uint64_t len)
{
    for (unsigned int i = 0; i < mem->nregions; i++) {
        const FgRegion *r = &mem->region[i];
        if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
            return r;
    }
    return NULL;
}

void *fg_ptr(const FgMem *mem, uint64_t gpa, uint64_t len)
{
    const FgRegion *r = fg_find(mem, gpa, len ? len : 1);
    return r ? r->host + (gpa - r->gpa) : NULL;
}

uint64_t fg_gpa_to_uva(const FgMem *mem, uint64_t gpa)
{
    const FgRegion *r = fg_find(mem, gpa, 1);
    return r ? r->uva + (gpa - r->gpa) : 0;
}

uint64_t fg_mem_hole(const FgMem *mem)
{
    const FgRegion *r0 = &mem->region[0];
    if (mem->nregions > 1 && mem->region[1].gpa > r0->gpa + r0->size)
        return r0->gpa + r0->size;           /* start of the first gap */
    const FgRegion *last = &mem->region[mem->nregions - 1];
    return last->gpa + last->size + 0x100000; /* beyond the end */
}

void fg_write(FgMem *mem, uint64_t gpa, const void *buf, size_t len)
{
    void *p = fg_ptr(mem, gpa, len);
    g_assert(p);
    memcpy(p, buf, len);
}

void fg_read(const FgMem *mem, uint64_t gpa, void *buf, size_t len)
{
    const void *p = fg_ptr(mem, gpa, len);
    g_assert(p);
    memcpy(buf, p, len);
}

void fg_mem_region_desc(const FgMem *mem, unsigned int region, uint8_t out[FG_MEM_REGION_SIZE])
{
    const FgRegion *r = &mem->region[region];
    uint64_t v[4] = { r->gpa, r->size, r->uva, r->mmap_offset };
    G_STATIC_ASSERT(sizeof(v) == FG_MEM_REGION_SIZE);
    memcpy(out, v, sizeof(v));
}

size_t fg_mem_table(const FgMem *mem, uint8_t *payload, int *fds)
{
    uint32_t n = mem->nregions;
    memset(payload, 0, 8);
    memcpy(payload, &n, 4);
    for (unsigned int i = 0; i < n; i++) {
        fg_mem_region_desc(mem, i, payload + 8 + FG_MEM_REGION_SIZE * i);
        fds[i] = mem->region[i].fd;
    }
    return 8 + FG_MEM_REGION_SIZE * n;
}
