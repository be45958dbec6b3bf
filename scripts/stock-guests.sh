#!/usr/bin/env bash
# Builds the "stock guests" emu is tested with beyond the amd64 Linux of guest-images.sh, all from
# Debian 12 packages fetched with `apt-get download` into a cache outside the repository (nothing
# here is committed):
#   i386/vmlinuz, i386/initramfs.gz, i386/kernel-version
#                     Debian's 32-bit kernel (linux-image-686-pae) and a busybox-static:i386 initramfs
#                     whose /init prints "emu-guest: init reached (RELEASE MACHINE)" and starts a shell
#   ipxe/ipxe.lkrn, ipxe/ipxe.iso
#                     iPXE from the ipxe package: the Linux-header image (real-mode entry only) and the ISO
# i386 packages need the i386 architecture in dpkg (`dpkg --add-architecture i386 && apt-get update`,
# which .ci/run does); without it only the iPXE images are built and the script says so.
#
#   scripts/stock-guests.sh        build (or reuse) the images in ${EMU_STOCK_CACHE:-~/.cache/emu/stock}
set -euo pipefail

cache="${EMU_STOCK_CACHE:-$HOME/.cache/emu/stock}"
mkdir -p "$cache/debs" "$cache/i386" "$cache/ipxe"
die() { echo "stock-guests.sh: $*" >&2; exit 1; }
for tool in apt-get apt-cache dpkg-deb gzip find; do
  command -v "$tool" >/dev/null || die "$tool is needed (this script expects a Debian-like host)"
done

fetch() { # fetch PACKAGE[:ARCH] -> path of its .deb in the cache
  local pkg="$1" name="${1%%:*}"
  if ! ls "$cache/debs/${name}_"*.deb >/dev/null 2>&1; then
    echo "== downloading $pkg" >&2
    (cd "$cache/debs" && apt-get download -q "$pkg" >/dev/null 2>&1) || return 1
  fi
  ls "$cache/debs/${name}_"*.deb | head -n 1
}

unpack() { # unpack DEB DIR (once)
  [ -d "$2" ] || { mkdir -p "$2.tmp" && dpkg-deb -x "$1" "$2.tmp" && mv "$2.tmp" "$2"; }
}

# iPXE: ipxe.lkrn is a symlink to /boot/ipxe.lkrn inside the package.
ipxe_deb="$(fetch ipxe)" || die "apt-get download ipxe failed"
unpack "$ipxe_deb" "$cache/x/ipxe"
cp "$cache/x/ipxe/boot/ipxe.lkrn" "$cache/ipxe/ipxe.lkrn"
cp "$cache/x/ipxe/usr/lib/ipxe/ipxe.iso" "$cache/ipxe/ipxe.iso"
echo "ipxe:      $cache/ipxe/ipxe.lkrn $cache/ipxe/ipxe.iso"

if ! dpkg --print-foreign-architectures | grep -qx i386; then
  die "dpkg has no i386 architecture: the 32-bit guest is not built (dpkg --add-architecture i386 && apt-get update)"
fi
# linux-image-686-pae is a metapackage; the kernel is the linux-image-<abi>-686-pae it depends on.
kpkg="$(apt-cache depends linux-image-686-pae:i386 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')"
[ -n "$kpkg" ] || die "cannot resolve linux-image-686-pae:i386 to a kernel package (apt-get update?)"
kdeb="$(fetch "$kpkg")" || die "apt-get download $kpkg failed"
bdeb="$(fetch busybox-static:i386)" || die "apt-get download busybox-static:i386 failed"
unpack "$kdeb" "$cache/x/kernel-i386"
unpack "$bdeb" "$cache/x/busybox-i386"
vmlinuz="$(ls "$cache"/x/kernel-i386/boot/vmlinuz-* | head -n 1)"
cp "$vmlinuz" "$cache/i386/vmlinuz"
echo "${vmlinuz##*/vmlinuz-}" > "$cache/i386/kernel-version"

stage="$cache/i386/root"
rm -rf "$stage"
mkdir -p "$stage"/{bin,proc,sys,dev,tmp}
cp "$cache/x/busybox-i386/bin/busybox" "$stage/bin/busybox"
for applet in sh mount cat echo uname ls poweroff sha256sum dmesg head grep setsid cttyhack yes wc; do
  ln -s busybox "$stage/bin/$applet"
done
cat > "$stage/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "emu-guest: init reached ($(uname -r) $(uname -m))"
exec setsid cttyhack sh
INIT
chmod +x "$stage/init"
# newc cpio: the host's cpio, else the host's busybox (the i386 one may not run on this host).
if command -v cpio >/dev/null; then
  archiver=(cpio -o -H newc --quiet)
elif command -v busybox >/dev/null; then
  archiver=(busybox cpio -o -H newc)
elif [ -x "$HOME/.cache/emu/guest/busybox-root/bin/busybox" ]; then
  archiver=("$HOME/.cache/emu/guest/busybox-root/bin/busybox" cpio -o -H newc)
else
  die "no cpio to pack the initramfs (apt-get install cpio)"
fi
(cd "$stage" && find . -print | LC_ALL=C sort | "${archiver[@]}" 2>/dev/null) | gzip -9 > "$cache/i386/initramfs.gz.tmp"
mv "$cache/i386/initramfs.gz.tmp" "$cache/i386/initramfs.gz"
echo "i386:      $cache/i386/vmlinuz ($(cat "$cache/i386/kernel-version")) $cache/i386/initramfs.gz"
