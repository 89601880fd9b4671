/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-sequence.c - canonical front-end sequences and the recording proxy
 * (see qemu-sequence.h).
 *
 * Wire format: vhost-user.rst "Message Specification".  The proxy reads
 * one whole message at a time (12-byte header with its SCM_RIGHTS fds,
 * then the payload) from either side and writes it unchanged to the other,
 * except SET_VRING_KICK, whose eventfd it keeps and replaces with its own.
 */
#include "config.h"

#include "qemu-sequence.h"
#include "fake-frontend.h"

#include <gio/gio.h>
#include <glib/gstdio.h>

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define QS_MAX_RINGS 8
#define QS_MAX_REGIONS 16
#define QS_HDR 12

typedef struct QsRegion {
    uint64_t gpa, size, uva;
    uint8_t *map;       /* whole fd mapping */
    size_t map_len;
    uint8_t *host;      /* map + mmap_offset */
} QsRegion;

struct QsProxy {
    char *dir, *path, *backend;
    int lfd;
    int wake[2];
    GThread *thread;
    GMutex lock;
    /* under lock */
    GPtrArray *lines;
    uint64_t kicks[QS_MAX_RINGS];
    bool kicked[QS_MAX_RINGS];
    bool closed;
    bool quit;
    gint64 last_us;
    /* proxy thread only */
    int qfd, dfd;
    int qkick[QS_MAX_RINGS], dkick[QS_MAX_RINGS];
    uint16_t qsize[QS_MAX_RINGS];
    uint32_t saved[QS_MAX_RINGS];
    bool have_saved[QS_MAX_RINGS];
    uint64_t ctl_desc_uva, ctl_avail_uva;
    uint16_t ctl_seen;
    bool ctl_wrap;      /* packed: driver wrap counter at ctl_seen */
    bool packed;        /* VIRTIO_F_RING_PACKED in SET_FEATURES */
    QsRegion reg[QS_MAX_REGIONS];
    unsigned int nreg;
};

typedef struct QsMsg {
    uint32_t request, flags, size;
    uint8_t payload[FF_MAX_PAYLOAD];
    int fds[FF_MAX_FDS];
    unsigned int nfds;
} QsMsg;

/* ---------------- sequence text ---------------- */

GPtrArray *qs_lines(const char *text, bool vhost_only)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    g_auto(GStrv) lines = g_strsplit(text ? text : "", "\n", -1);
    for (char **l = lines; *l; l++) {
        char *s = g_strstrip(*l);
        if (!*s || *s == '#')
            continue;
        if (vhost_only && (g_str_has_prefix(s, "CTL ") || g_str_has_prefix(s, "KICKED")))
            continue;
        g_ptr_array_add(out, g_strdup(s));
    }
    return out;
}

GPtrArray *qs_names(const char *text)
{
    GPtrArray *lines = qs_lines(text, true);
    for (unsigned int i = 0; i < lines->len; i++) {
        char *s = g_ptr_array_index(lines, i);
        char *sp = strchr(s, ' ');
        if (sp)
            *sp = 0;
    }
    /* DISCONNECT is the proxy's observation, not a request */
    for (unsigned int i = lines->len; i-- > 0;)
        if (!strcmp(g_ptr_array_index(lines, i), "DISCONNECT"))
            g_ptr_array_remove_index(lines, i);
    return lines;
}

GPtrArray *qs_log_requests(const char *log, size_t from)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    if (!log || from >= strlen(log))
        return out;
    g_auto(GStrv) lines = g_strsplit(log + from, "\n", -1);
    for (char **l = lines; *l; l++) {
        /* "...: request SET_VRING_KICK (12) size 8 fds 1" */
        const char *r = strstr(*l, "request ");
        if (!r || !strstr(r, ") size "))
            continue;
        r += strlen("request ");
        const char *end = strchr(r, ' ');
        if (!end)
            continue;
        g_ptr_array_add(out, g_strndup(r, (gsize)(end - r)));
    }
    return out;
}

char *qs_load(const char *name, GError **error)
{
    const char *src = g_getenv("VSND_SRCDIR");
    g_autofree char *path = NULL;
    g_autofree char *file = g_strdup_printf("%s.txt", name);
    if (src && *src)
        path = g_build_filename(src, "tests", "data", "qemu-sequences", file, NULL);
    else
        path = g_build_filename(g_test_get_dir(G_TEST_DIST), "data", "qemu-sequences", file,
                                NULL);
    char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, error))
        return NULL;
    return text;
}

char *qs_join(GPtrArray *lines)
{
    GString *s = g_string_new(NULL);
    for (unsigned int i = 0; i < lines->len; i++)
        g_string_append_printf(s, "%s\n", (const char *)g_ptr_array_index(lines, i));
    return g_string_free(s, FALSE);
}

char *qs_diff(GPtrArray *want, GPtrArray *got)
{
    unsigned int n = MAX(want->len, got->len), first = n;
    for (unsigned int i = 0; i < n; i++) {
        const char *a = i < want->len ? g_ptr_array_index(want, i) : NULL;
        const char *b = i < got->len ? g_ptr_array_index(got, i) : NULL;
        if (!a || !b || strcmp(a, b)) {
            first = i;
            break;
        }
    }
    if (first == n)
        return NULL;
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "sequences differ at line %u (expected %u lines, got %u)\n",
                           first + 1, want->len, got->len);
    unsigned int from = first > 3 ? first - 3 : 0;
    for (unsigned int i = from; i < MIN(n, first + 8); i++) {
        const char *a = i < want->len ? g_ptr_array_index(want, i) : "(end)";
        const char *b = i < got->len ? g_ptr_array_index(got, i) : "(end)";
        g_string_append_printf(s, "%c %4u  %-34s | %s\n", strcmp(a, b) ? '!' : ' ', i + 1, a,
                               b);
    }
    return g_string_free(s, FALSE);
}

/* ---------------- message I/O ---------------- */

static void qs_msg_close(QsMsg *m)
{
    for (unsigned int i = 0; i < m->nfds; i++)
        if (m->fds[i] >= 0)
            close(m->fds[i]);
    m->nfds = 0;
}

static int qs_read_full(int fd, void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t r = read(fd, p, len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

/* One whole message.  Return: 0, or -1 on EOF or error. */
static int qs_recv(int fd, QsMsg *m)
{
    uint8_t hdr[QS_HDR];
    char cbuf[CMSG_SPACE(sizeof(int) * FF_MAX_FDS)];
    struct iovec iov = { hdr, sizeof(hdr) };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                         .msg_controllen = sizeof(cbuf) };
    m->nfds = 0;
    ssize_t r;
    do {
        r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
    } while (r < 0 && errno == EINTR);
    if (r <= 0)
        return -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            unsigned int n = (unsigned int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            memcpy(m->fds + m->nfds, CMSG_DATA(c), sizeof(int) * MIN(n, FF_MAX_FDS - m->nfds));
            m->nfds += MIN(n, FF_MAX_FDS - m->nfds);
        }
    }
    if ((size_t)r < sizeof(hdr) && qs_read_full(fd, hdr + r, sizeof(hdr) - (size_t)r) < 0)
        goto fail;
    memcpy(&m->request, hdr, 4);
    memcpy(&m->flags, hdr + 4, 4);
    memcpy(&m->size, hdr + 8, 4);
    if (m->size > sizeof(m->payload) || qs_read_full(fd, m->payload, m->size) < 0)
        goto fail;
    return 0;
fail:
    qs_msg_close(m);
    return -1;
}

static int qs_send(int fd, const QsMsg *m)
{
    uint8_t buf[QS_HDR + FF_MAX_PAYLOAD];
    memcpy(buf, &m->request, 4);
    memcpy(buf + 4, &m->flags, 4);
    memcpy(buf + 8, &m->size, 4);
    memcpy(buf + QS_HDR, m->payload, m->size);
    char cbuf[CMSG_SPACE(sizeof(int) * FF_MAX_FDS)];
    struct iovec iov = { buf, QS_HDR + m->size };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (m->nfds) {
        memset(cbuf, 0, sizeof(cbuf));
        mh.msg_control = cbuf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * m->nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * m->nfds);
        memcpy(CMSG_DATA(c), m->fds, sizeof(int) * m->nfds);
    }
    ssize_t r;
    do {
        r = sendmsg(fd, &mh, MSG_NOSIGNAL);
    } while (r < 0 && errno == EINTR);
    return r == (ssize_t)iov.iov_len ? 0 : -1;
}

/* ---------------- guest memory (control queue decoding) ---------------- */

static void qs_unmap_all(QsProxy *p)
{
    for (unsigned int i = 0; i < p->nreg; i++)
        if (p->reg[i].map)
            munmap(p->reg[i].map, p->reg[i].map_len);
    p->nreg = 0;
}

static void qs_add_region(QsProxy *p, const uint8_t *r, int fd)
{
    uint64_t v[4];
    memcpy(v, r, sizeof(v));
    if (p->nreg >= QS_MAX_REGIONS || fd < 0)
        return;
    QsRegion *g = &p->reg[p->nreg];
    g->gpa = v[0];
    g->size = v[1];
    g->uva = v[2];
    g->map_len = v[1] + v[3];
    void *m = mmap(NULL, g->map_len, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED)
        return;
    g->map = m;
    g->host = g->map + v[3];
    p->nreg++;

}

static const uint8_t *qs_gpa(QsProxy *p, uint64_t gpa, uint64_t len)
{
    for (unsigned int i = 0; i < p->nreg; i++) {
        const QsRegion *g = &p->reg[i];
        if (gpa >= g->gpa && gpa - g->gpa < g->size && len <= g->size - (gpa - g->gpa))
            return g->host + (gpa - g->gpa);
    }
    return NULL;
}

static const uint8_t *qs_uva(QsProxy *p, uint64_t uva, uint64_t len)
{
    for (unsigned int i = 0; i < p->nreg; i++) {
        const QsRegion *g = &p->reg[i];
        if (uva >= g->uva && uva - g->uva < g->size && len <= g->size - (uva - g->uva))
            return g->host + (uva - g->uva);
    }
    return NULL;
}

static void qs_add_line(QsProxy *p, char *line)
{
    g_mutex_lock(&p->lock);
    g_ptr_array_add(p->lines, line);
    p->last_us = g_get_monotonic_time();
    g_mutex_unlock(&p->lock);
}

static const char *qs_ctl_name(uint32_t code)
{
    switch (code) {
    case 0x0001: return "JACK_INFO";
    case 0x0002: return "JACK_REMAP";
    case 0x0100: return "PCM_INFO";
    case 0x0101: return "PCM_SET_PARAMS";
    case 0x0102: return "PCM_PREPARE";
    case 0x0103: return "PCM_RELEASE";
    case 0x0104: return "PCM_START";
    case 0x0105: return "PCM_STOP";
    case 0x0200: return "CHMAP_INFO";
    case 0x0300: return "CTL_INFO";
    case 0x0301: return "CTL_ENUM_ITEMS";
    case 0x0302: return "CTL_READ";
    case 0x0303: return "CTL_WRITE";
    case 0x0304: return "CTL_TLV_READ";
    case 0x0305: return "CTL_TLV_WRITE";
    case 0x0306: return "CTL_TLV_COMMAND";
    default: return NULL;
    }
}

static uint32_t le32_at(const uint8_t *b, size_t off)
{
    uint32_t v;
    memcpy(&v, b + off, 4);
    return le32toh(v);
}

/* The line of one control request whose first descriptor is @addr/@len
 * (@indirect: that descriptor points to a table, take its first entry). */
static void qs_ctl_line(QsProxy *p, uint64_t addr, uint32_t len, bool indirect)
{
    if (indirect) {
        const uint8_t *t = qs_gpa(p, addr, 16);
        if (!t)
            return;
        memcpy(&addr, t, 8);
        memcpy(&len, t + 8, 4);
        addr = le64toh(addr);
        len = le32toh(len);
    }
    const uint8_t *req = qs_gpa(p, addr, MIN(len, 24u));
    if (!req || len < 4)
        return;
    uint32_t code = le32_at(req, 0);
    const char *name = qs_ctl_name(code);
    char *line;
    if (!name)
        line = g_strdup_printf("CTL 0x%04x", code);
    else if ((code == 0x0001 || code == 0x0100 || code == 0x0200 || code == 0x0300) && len >= 16)
        line = g_strdup_printf("CTL %s %u %u %u", name, le32_at(req, 4), le32_at(req, 8),
                               le32_at(req, 12));
    else if (code == 0x0101 && len >= 24)
        line = g_strdup_printf("CTL %s %u 0x%x", name, le32_at(req, 4), le32_at(req, 16));
    else if (len >= 8)
        line = g_strdup_printf("CTL %s %u", name, le32_at(req, 4));
    else
        line = g_strdup_printf("CTL %s", name);
    qs_add_line(p, line);
}

/* The control queue was kicked: name every request made available since
 * the last look.  Read before the kick is passed on, so the device has
 * not overwritten the descriptors with used ones yet. */
static void qs_decode_ctl(QsProxy *p)
{
    uint16_t qs = p->qsize[0];
    if (!qs || !p->ctl_desc_uva)
        return;
    const uint8_t *desc = qs_uva(p, p->ctl_desc_uva, 16u * qs);
    if (!desc)
        return;
    if (p->packed) {
        /* {addr, len, id, flags}; available: AVAIL(7) == wrap, USED(15) != wrap */
        for (unsigned int guard = 0; guard < qs; guard++) {
            const uint8_t *d = desc + 16u * (p->ctl_seen % qs);
            uint16_t flags;
            memcpy(&flags, d + 14, 2);
            flags = le16toh(flags);
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            bool avail = flags & (1u << 7), used = flags & (1u << 15);
            if (avail != p->ctl_wrap || used == p->ctl_wrap)
                break;
            uint64_t addr;
            uint32_t len;
            memcpy(&addr, d, 8);
            memcpy(&len, d + 8, 4);
            qs_ctl_line(p, le64toh(addr), le32toh(len), flags & 4);
            /* skip the chain (NEXT = 1) */
            for (unsigned int k = 0; k < qs; k++) {
                const uint8_t *c = desc + 16u * (p->ctl_seen % qs);
                uint16_t f;
                memcpy(&f, c + 14, 2);
                if (++p->ctl_seen >= qs) {
                    p->ctl_seen = 0;
                    p->ctl_wrap = !p->ctl_wrap;
                }
                if (!(le16toh(f) & 1))
                    break;
            }
        }
        return;
    }
    if (!p->ctl_avail_uva)
        return;
    const uint8_t *avail = qs_uva(p, p->ctl_avail_uva, 4u + 2u * qs);
    if (!avail)
        return;
    uint16_t idx;
    memcpy(&idx, avail + 2, 2);
    idx = le16toh(idx);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    for (unsigned int guard = 0; p->ctl_seen != idx && guard < qs; p->ctl_seen++, guard++) {
        uint16_t head;
        memcpy(&head, avail + 4 + 2 * (p->ctl_seen % qs), 2);
        head = le16toh(head) % qs;
        uint64_t addr;
        uint32_t len;
        uint16_t flags;
        memcpy(&addr, desc + 16u * head, 8);
        memcpy(&len, desc + 16u * head + 8, 4);
        memcpy(&flags, desc + 16u * head + 12, 2);
        qs_ctl_line(p, le64toh(addr), le32toh(len), le16toh(flags) & 4);
    }
    p->ctl_seen = idx;
}

/* ---------------- canonical lines ---------------- */

static uint64_t u64_at(const uint8_t *b, size_t off)
{
    uint64_t v;
    memcpy(&v, b + off, 8);
    return v;
}

static uint32_t u32_at(const uint8_t *b, size_t off)
{
    uint32_t v;
    memcpy(&v, b + off, 4);
    return v;
}

static char *qs_canon(QsProxy *p, const QsMsg *m)
{
    const char *name = ff_request_name(m->request);
    const uint8_t *b = m->payload;
    switch (m->request) {
    case FF_SET_FEATURES:
    case FF_SET_PROTOCOL_FEATURES:
    case FF_SET_STATUS:
        if (m->size >= 8)
            return g_strdup_printf("%s 0x%" G_GINT64_MODIFIER "x", name, u64_at(b, 0));
        break;
    case FF_SET_VRING_NUM:
    case FF_SET_VRING_ENABLE:
        if (m->size >= 8)
            return g_strdup_printf("%s %u %u", name, u32_at(b, 0), u32_at(b, 4));
        break;
    case FF_SET_VRING_BASE:
        if (m->size >= 8) {
            /* a fresh ring (index 0; packed: wrap counter 1 = 0x8000) by
             * value, a resumed one as "saved" */
            uint32_t i = u32_at(b, 0), v = u32_at(b, 4);
            if ((v & 0x7fff) == 0)
                return g_strdup_printf("%s %u 0x%x", name, i, v);
            bool saved = i < QS_MAX_RINGS && p->have_saved[i] && p->saved[i] == v;
            return g_strdup_printf("%s %u %s", name, i, saved ? "saved" : "other");
        }
        break;
    case FF_GET_VRING_BASE:
        if (m->size >= 4)
            return g_strdup_printf("%s %u", name, u32_at(b, 0));
        break;
    case FF_SET_VRING_ADDR:
        if (m->size >= 8)
            return g_strdup_printf("%s %u%s", name, u32_at(b, 0), (u32_at(b, 4) & 1) ? " log" : "");
        break;
    case FF_SET_VRING_KICK:
    case FF_SET_VRING_CALL:
    case FF_SET_VRING_ERR:
        if (m->size >= 8) {
            uint64_t v = u64_at(b, 0);
            return g_strdup_printf("%s %u%s", name, (unsigned int)(v & 0xff),
                                   (v & FF_VRING_NOFD) ? " nofd" : "");
        }
        break;
    case FF_GET_CONFIG:
    case FF_SET_CONFIG:
        if (m->size >= 8)
            return g_strdup_printf("%s %u %u", name, u32_at(b, 0), u32_at(b, 4));
        break;
    case FF_SET_MEM_TABLE:
        if (m->size >= 4)
            return g_strdup_printf("%s %u", name, u32_at(b, 0));
        break;
    case FF_SET_DEVICE_STATE_FD:
        if (m->size >= 8)
            return g_strdup_printf("%s %s %u", name, u32_at(b, 0) == 0 ? "save" : "load",
                                   u32_at(b, 4));
        break;
    case FF_GET_INFLIGHT_FD:
    case FF_SET_INFLIGHT_FD:
        /* VhostUserInflight: mmap size and offset, then the geometry */
        if (m->size >= 20)
            return g_strdup_printf("%s %u %u", name, (unsigned int)(u32_at(b, 16) & 0xffff),
                                   (unsigned int)(u32_at(b, 16) >> 16));
        break;
    default:
        break;
    }
    return g_strdup(name);
}

/* Side effects of a request on the proxy's view, before it is forwarded. */
static void qs_observe(QsProxy *p, QsMsg *m)
{
    const uint8_t *b = m->payload;
    switch (m->request) {
    case FF_SET_MEM_TABLE:
        if (m->size >= 8) {
            qs_unmap_all(p);
            uint32_t n = MIN(u32_at(b, 0), m->nfds);
            for (uint32_t i = 0; i < n && 8 + 32 * (i + 1) <= m->size; i++)
                qs_add_region(p, b + 8 + 32 * i, m->fds[i]);
        }
        break;
    case FF_ADD_MEM_REG:
        if (m->size >= 40 && m->nfds == 1)
            qs_add_region(p, b + 8, m->fds[0]);
        break;
    case FF_SET_VRING_NUM:
        if (m->size >= 8 && u32_at(b, 0) < QS_MAX_RINGS)
            p->qsize[u32_at(b, 0)] = (uint16_t)u32_at(b, 4);
        break;
    case FF_SET_FEATURES:
        if (m->size >= 8)
            p->packed = u64_at(b, 0) & (1ull << 34);
        break;
    case FF_SET_VRING_BASE:
        if (m->size >= 8 && u32_at(b, 0) == 0) {
            uint32_t v = u32_at(b, 4);
            p->ctl_seen = (uint16_t)(p->packed ? v & 0x7fff : v);
            p->ctl_wrap = p->packed ? (v >> 15) & 1 : false;
        }
        break;
    case FF_SET_VRING_ADDR:
        if (m->size >= 40 && u32_at(b, 0) == 0) {
            p->ctl_desc_uva = u64_at(b, 8);
            p->ctl_avail_uva = u64_at(b, 24);
        }
        break;
    case FF_SET_VRING_KICK:
        if (m->size >= 8 && !(u64_at(b, 0) & FF_VRING_NOFD) && m->nfds == 1) {
            unsigned int i = (unsigned int)(u64_at(b, 0) & 0xff);
            if (i >= QS_MAX_RINGS)
                break;
            if (p->qkick[i] >= 0)
                close(p->qkick[i]);
            if (p->dkick[i] >= 0)
                close(p->dkick[i]);
            p->qkick[i] = m->fds[0];
            p->dkick[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
            m->fds[0] = dup(p->dkick[i]);
        }
        break;
    default:
        break;
    }
}

static void qs_close_conn(QsProxy *p)
{
    if (p->qfd >= 0)
        close(p->qfd);
    if (p->dfd >= 0)
        close(p->dfd);
    p->qfd = p->dfd = -1;
    for (unsigned int i = 0; i < QS_MAX_RINGS; i++) {
        if (p->qkick[i] >= 0)
            close(p->qkick[i]);
        if (p->dkick[i] >= 0)
            close(p->dkick[i]);
        p->qkick[i] = p->dkick[i] = -1;
        p->have_saved[i] = false;
        p->qsize[i] = 0;
    }
    p->ctl_desc_uva = p->ctl_avail_uva = 0;
    qs_unmap_all(p);
}

static int qs_connect_backend(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    g_strlcpy(a.sun_path, path, sizeof(a.sun_path));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static gpointer qs_thread(gpointer data)
{
    QsProxy *p = data;
    for (;;) {
        struct pollfd pf[3 + QS_MAX_RINGS];
        int ring_of[3 + QS_MAX_RINGS];
        unsigned int n = 0;
        pf[n] = (struct pollfd){ p->wake[0], POLLIN, 0 };
        ring_of[n++] = -1;
        if (p->qfd < 0) {
            pf[n] = (struct pollfd){ p->lfd, POLLIN, 0 };
            ring_of[n++] = -2;
        } else {
            pf[n] = (struct pollfd){ p->qfd, POLLIN, 0 };
            ring_of[n++] = -3;
            pf[n] = (struct pollfd){ p->dfd, POLLIN, 0 };
            ring_of[n++] = -4;
            for (int i = 0; i < QS_MAX_RINGS; i++) {
                if (p->qkick[i] >= 0) {
                    pf[n] = (struct pollfd){ p->qkick[i], POLLIN, 0 };
                    ring_of[n++] = i;
                }
            }
        }
        if (poll(pf, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pf[0].revents)
            break;
        for (unsigned int k = 1; k < n; k++) {
            if (!pf[k].revents)
                continue;
            if (ring_of[k] == -2) {
                int fd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0)
                    continue;
                p->dfd = qs_connect_backend(p->backend);
                if (p->dfd < 0) {
                    close(fd);
                    continue;
                }
                p->qfd = fd;
                g_mutex_lock(&p->lock);
                p->closed = false;
                g_mutex_unlock(&p->lock);
            } else if (ring_of[k] == -3 || ring_of[k] == -4) {
                if (p->qfd < 0)
                    break;
                bool from_q = ring_of[k] == -3;
                QsMsg m;
                if (qs_recv(from_q ? p->qfd : p->dfd, &m) < 0) {
                    qs_close_conn(p);
                    qs_add_line(p, g_strdup(from_q ? "DISCONNECT" : "BACKEND-CLOSED"));
                    g_mutex_lock(&p->lock);
                    p->closed = true;
                    g_mutex_unlock(&p->lock);
                    break;
                }
                if (from_q) {
                    char *line = qs_canon(p, &m);
                    qs_observe(p, &m);
                    qs_add_line(p, line);
                } else if (m.request == FF_GET_VRING_BASE && m.size >= 8) {
                    uint32_t i = u32_at(m.payload, 0);
                    if (i < QS_MAX_RINGS) {
                        p->saved[i] = u32_at(m.payload, 4);
                        p->have_saved[i] = true;
                    }
                }
                int r = qs_send(from_q ? p->dfd : p->qfd, &m);
                qs_msg_close(&m);
                if (r < 0) {
                    qs_close_conn(p);
                    g_mutex_lock(&p->lock);
                    p->closed = true;
                    g_mutex_unlock(&p->lock);
                    break;
                }
            } else {
                int i = ring_of[k];
                uint64_t v;
                if (read(p->qkick[i], &v, sizeof(v)) != sizeof(v))
                    continue;
                g_mutex_lock(&p->lock);
                p->kicks[i]++;
                p->kicked[i] = true;
                g_mutex_unlock(&p->lock);
                if (i == 0)
                    qs_decode_ctl(p);
                v = 1;
                if (write(p->dkick[i], &v, sizeof(v)) < 0) {
                    /* the daemon's side of a replaced fd: nothing to do */
                }
            }
        }
    }
    qs_close_conn(p);
    return NULL;
}

QsProxy *qs_proxy_new(const char *backend_path, GError **error)
{
    QsProxy *p = g_new0(QsProxy, 1);
    p->lfd = p->qfd = p->dfd = -1;
    p->wake[0] = p->wake[1] = -1;
    for (unsigned int i = 0; i < QS_MAX_RINGS; i++)
        p->qkick[i] = p->dkick[i] = -1;
    g_mutex_init(&p->lock);
    p->lines = g_ptr_array_new_with_free_func(g_free);
    p->backend = g_strdup(backend_path);
    p->dir = g_dir_make_tmp("vsnd-proxy-XXXXXX", error);
    if (!p->dir)
        goto fail;
    p->path = g_build_filename(p->dir, "proxy.sock", NULL);
    p->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    g_strlcpy(a.sun_path, p->path, sizeof(a.sun_path));
    if (bind(p->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(p->lfd, 4) < 0 ||
        pipe2(p->wake, O_CLOEXEC) < 0) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "proxy socket: %s",
                    g_strerror(errno));
        goto fail;
    }
    p->last_us = g_get_monotonic_time();
    p->thread = g_thread_new("qs-proxy", qs_thread, p);
    return p;
fail:
    qs_proxy_free(p);
    return NULL;
}

void qs_proxy_free(QsProxy *p)
{
    if (!p)
        return;
    if (p->thread) {
        if (write(p->wake[1], "x", 1) < 0) {
            /* the thread is gone already */
        }
        g_thread_join(p->thread);
    }
    qs_close_conn(p);
    if (p->lfd >= 0)
        close(p->lfd);
    if (p->wake[0] >= 0)
        close(p->wake[0]);
    if (p->wake[1] >= 0)
        close(p->wake[1]);
    if (p->path)
        g_unlink(p->path);
    if (p->dir)
        g_rmdir(p->dir);
    g_free(p->path);
    g_free(p->dir);
    g_free(p->backend);
    g_ptr_array_free(p->lines, TRUE);
    g_mutex_clear(&p->lock);
    g_free(p);
}

const char *qs_proxy_path(const QsProxy *p)
{
    return p->path;
}

char *qs_proxy_take(QsProxy *p)
{
    GString *s = g_string_new(NULL);
    g_mutex_lock(&p->lock);
    for (unsigned int i = 0; i < p->lines->len; i++)
        g_string_append_printf(s, "%s\n", (const char *)g_ptr_array_index(p->lines, i));
    g_ptr_array_set_size(p->lines, 0);
    bool any = false;
    for (unsigned int i = 0; i < QS_MAX_RINGS; i++) {
        if (!p->kicked[i])
            continue;
        g_string_append_printf(s, "%s %u", any ? "" : "KICKED", i);
        any = true;
        p->kicked[i] = false;
    }
    if (any)
        g_string_append_c(s, '\n');
    g_mutex_unlock(&p->lock);
    return g_string_free(s, FALSE);
}

unsigned int qs_proxy_settle(QsProxy *p, int quiet_ms, int timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    for (;;) {
        g_mutex_lock(&p->lock);
        gint64 last = p->last_us;
        unsigned int n = p->lines->len;
        g_mutex_unlock(&p->lock);
        gint64 now = g_get_monotonic_time();
        if (now - last >= (gint64)quiet_ms * 1000 || now >= deadline)
            return n;
        g_usleep(10000);
    }
}

uint64_t qs_proxy_kicks(QsProxy *p, unsigned int ring)
{
    g_mutex_lock(&p->lock);
    uint64_t v = ring < QS_MAX_RINGS ? p->kicks[ring] : 0;
    g_mutex_unlock(&p->lock);
    return v;
}

bool qs_proxy_closed(QsProxy *p)
{
    g_mutex_lock(&p->lock);
    bool c = p->closed;
    g_mutex_unlock(&p->lock);
    return c;
}
