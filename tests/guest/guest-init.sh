#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# /init of the real-guest test VM.  It loads the sound modules, then runs a
# shell on the console that the host test drives line by line: each command
# ends with a marker line "@@ <status>" (echo is off, so the host never sees
# its own input).  Test data appended to the initramfs lands in /data;
# results go to /out and are copied to the virtio disk /dev/vda as a tar
# stream by the host's "collect" command.
export PATH=/usr/bin:/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/shm /tmp && mount -t tmpfs tmp /tmp
# Module options on the kernel command line ("virtio_snd.pcm_buffer_ms=1000")
# go to insmod, as modprobe would pass them.
for m in $(cat /modules.load); do
    name=$(echo "${m%.ko}" | tr - _)
    opts=$(tr ' ' '\n' </proc/cmdline | sed -n "s/^$name\.//p")
    # shellcheck disable=SC2086 # one word per option
    insmod "/lib/modules/$m" $opts || echo "@@ insmod $m failed"
done
# virtio_snd probes asynchronously; wait briefly for the card
i=0
while [ ! -e /proc/asound/cards ] || ! grep -q virtio /proc/asound/cards 2>/dev/null; do
    i=$((i + 1)); [ $i -gt 50 ] && break; sleep 0.1
done
stty -echo -icanon 2>/dev/null || true
stty raw -echo 2>/dev/null
stty -opost 2>/dev/null
echo "@@ready $(uname -r)"
while IFS= read -r line; do
    sh -c "$line" </dev/null 2>&1
    echo "@@ $?"
done
echo "@@ console closed"
poweroff -f
