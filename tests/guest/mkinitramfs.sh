#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Build the real-guest tests' initramfs for one unpacked guest kernel.
#   mkinitramfs.sh KERNELDIR OUT.cpio INIT
# KERNELDIR is a directory made by build-aux/fetch-guest-kernels.sh
# (vmlinuz + modules/).  The image holds busybox-static, the host's
# alsa-utils with the libraries ldd finds and /usr/share/alsa, the sound
# modules and virtio_blk (decompressed, in dependency order, listed in
# /modules.load) and INIT as /init.  Test data is appended per test as a
# second cpio archive, which the kernel unpacks over this one.
set -eu
kdir=$1 out=$2 init=$3
modsrc=$kdir/modules
stage=$(mktemp -d "${TMPDIR:-/tmp}/vsnd-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage/bin" "$stage/sbin" "$stage/usr/bin" "$stage/usr/share" "$stage/lib/modules" \
    "$stage/proc" "$stage/sys" "$stage/dev" "$stage/tmp" "$stage/out" "$stage/data" "$stage/etc"
cp /bin/busybox "$stage/bin/busybox"
for applet in $(/bin/busybox --list); do
    [ -e "$stage/bin/$applet" ] || ln -s busybox "$stage/bin/$applet"
done

# alsa-utils and their shared libraries, at the paths ldd reports.
for tool in aplay arecord amixer speaker-test alsactl; do
    path=$(command -v "$tool")
    cp "$path" "$stage/usr/bin/$tool"
    ldd "$path" | awk '/=>/ { print $3 } /^[[:space:]]*\/.*ld-linux/ { print $1 }' |
    while read -r lib; do
        [ -f "$lib" ] || continue
        mkdir -p "$stage$(dirname "$lib")"
        cp -L "$lib" "$stage$lib"
    done
done
cp -a /usr/share/alsa "$stage/usr/share/alsa"
# speaker-test reads its sample files from /usr/share/sounds/alsa
[ -d /usr/share/sounds/alsa ] && mkdir -p "$stage/usr/share/sounds" && cp -a /usr/share/sounds/alsa "$stage/usr/share/sounds/alsa"

# Modules: resolve dependencies with modinfo, depth first, so that
# /modules.load lists every module after the ones it needs.
find "$modsrc/kernel" -name '*.ko*' >"$stage/.modfiles"
modfile() { grep -E "/$(echo "$1" | sed 's/[-_]/[-_]/g')\.ko(\.xz|\.zst|\.gz)?\$" "$stage/.modfiles" | head -n 1; }
: >"$stage/modules.load"
add_module() {
    name=$(echo "$1" | tr - _)
    grep -qx "$name" "$stage/.seen" 2>/dev/null && return 0
    echo "$name" >>"$stage/.seen"
    file=$(modfile "$1")
    if [ -z "$file" ]; then
        # built in: nothing to load
        grep -q "/$1.ko" "$modsrc/modules.builtin" 2>/dev/null || grep -q "/$(echo "$1" | tr _ -).ko" "$modsrc/modules.builtin" ||
            { echo "module $1 not found" >&2; exit 1; }
        return 0
    fi
    for dep in $(modinfo -F depends "$file" | tr , ' '); do
        add_module "$dep"
    done
    base=$(basename "$file")
    case $base in
        *.xz) xz -dc "$file" >"$stage/lib/modules/${base%.xz}"; base=${base%.xz} ;;
        *.zst) zstd -qdc "$file" >"$stage/lib/modules/${base%.zst}"; base=${base%.zst} ;;
        *.gz) gzip -dc "$file" >"$stage/lib/modules/${base%.gz}"; base=${base%.gz} ;;
        *) cp "$file" "$stage/lib/modules/$base" ;;
    esac
    echo "$base" >>"$stage/modules.load"
}
for m in soundcore snd snd-timer snd-pcm virtio_snd virtio_blk; do
    add_module "$m"
done
rm -f "$stage/.modfiles" "$stage/.seen"

cp "$init" "$stage/init"
chmod 755 "$stage/init"
echo "root:x:0:0:root:/:/bin/sh" >"$stage/etc/passwd"
echo "audio:x:29:" >"$stage/etc/group"

(cd "$stage" && find . | sort | cpio -o -H newc --quiet) >"$out.$$"
mv "$out.$$" "$out"  # atomic: test programs may build the same image at once
