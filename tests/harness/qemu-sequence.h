/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-sequence.h - what a vhost-user front-end sent, as a canonical list.
 *
 * Theory of operation: a "sequence" is text, one front-end request per
 * line, with only the parameters that stay the same from run to run:
 *
 *   GET_FEATURES                  SET_FEATURES 0x140000000
 *   SET_PROTOCOL_FEATURES 0x...   SET_STATUS 0x8
 *   SET_VRING_NUM 0 64            SET_VRING_BASE 0 0x80008000 | saved | other
 *   SET_VRING_ADDR 0 [log]        SET_VRING_KICK 0 [nofd]
 *   SET_VRING_CALL 0 [nofd]       SET_VRING_ERR 0
 *   SET_VRING_ENABLE 0 1          GET_VRING_BASE 0
 *   GET_CONFIG 0 12               ADD_MEM_REG (addresses dropped)
 *   SET_DEVICE_STATE_FD save 0    CHECK_DEVICE_STATE
 *   GET_INFLIGHT_FD 4 64          SET_INFLIGHT_FD 4 64 (queues, queue size)
 *
 * SET_VRING_BASE gives a fresh ring's value (index 0: 0 for split rings,
 * 0x80008000 for packed ones, both wrap counters set), "saved" when the
 * value is what the back-end answered to the last GET_VRING_BASE of that
 * ring (a resume), "other" otherwise.  Lines starting with "CTL " are control requests the
 * guest put on the control queue (decoded from guest memory), e.g.
 * "CTL PCM_INFO 0 2 32", "CTL PCM_SET_PARAMS 0 0x1" (stream, features),
 * "CTL PCM_START 0".  "KICKED <rings>" summarises which rings the guest
 * kicked during a phase (qs_proxy_take()).  '#' starts a comment.
 *
 * Two sources produce sequences:
 *  - QsProxy sits between a front-end (real QEMU) and the daemon: it
 *    forwards every message and fd, records the canonical line of each
 *    request, and interposes the kick eventfds so that it can count kicks
 *    and decode control requests when the control queue is kicked.
 *  - qs_log_requests() reduces the daemon's -v log to the request names it
 *    handled ("request NAME (n) ..." lines), the part of a sequence the
 *    daemon itself can vouch for.
 *
 * Threading: the proxy forwards on its own thread; the accessors lock.
 */
#ifndef VSND_TESTS_QEMU_SEQUENCE_H
#define VSND_TESTS_QEMU_SEQUENCE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct QsProxy QsProxy;

/* Listen on a fresh socket in a private directory and forward each
 * accepted connection to @backend_path. */
QsProxy *qs_proxy_new(const char *backend_path, GError **error);
void qs_proxy_free(QsProxy *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QsProxy, qs_proxy_free)
/* Where the front-end must connect. */
const char *qs_proxy_path(const QsProxy *p);
/*
 * qs_proxy_take() - the lines recorded since the last take (the
 * sequence of one phase), with "KICKED ..." appended when any ring was
 * kicked meanwhile (rings in ascending order).  Newly allocated text.
 */
char *qs_proxy_take(QsProxy *p);
/* Wait until the front-end sent nothing for @quiet_ms (the phase is
 * over) or @timeout_ms passed.  Return: lines pending. */
unsigned int qs_proxy_settle(QsProxy *p, int quiet_ms, int timeout_ms);
/* Kicks seen on @ring since the proxy started. */
uint64_t qs_proxy_kicks(QsProxy *p, unsigned int ring);
/* Has the front-end closed its connection? */
bool qs_proxy_closed(QsProxy *p);

/* Sequence text -> lines without comments, blank lines and surrounding
 * space.  With @vhost_only the CTL and KICKED lines are dropped too. */
GPtrArray *qs_lines(const char *text, bool vhost_only);
/* Only the first word of each line (the request name). */
GPtrArray *qs_names(const char *text);
/* The request names the daemon's -v log (stderr) shows, in order,
 * starting at byte @from of @log (so a test can take one phase). */
GPtrArray *qs_log_requests(const char *log, size_t from);
/* Read tests/data/qemu-sequences/@name.txt under $VSND_SRCDIR (or the
 * compile-time source dir).  Return: its text, or NULL with @error. */
char *qs_load(const char *name, GError **error);
/* Compare two line lists; on a difference return a unified-ish report
 * (newly allocated), NULL when equal. */
char *qs_diff(GPtrArray *want, GPtrArray *got);
/* Lines joined with '\n' (newly allocated). */
char *qs_join(GPtrArray *lines);

#endif /* VSND_TESTS_QEMU_SEQUENCE_H */
