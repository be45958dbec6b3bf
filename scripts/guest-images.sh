#!/usr/bin/env bash
# Builds the Linux guest used to test emu: Debian 12's stock kernel (linux-image-amd64) and an
# initramfs with busybox-static, the modules for virtio and IDE disks, CD-ROMs, ext4, ISO 9660 and virtio-net, and a small /init.
# Everything is downloaded from the Debian archive with `apt-get download` (no root needed) into a
# cache outside the repository; nothing here is committed.
#
#   scripts/guest-images.sh            build (or reuse) the images, print their paths
#   scripts/guest-images.sh --qemu     then boot them once under qemu-system-x86_64 -accel tcg as a check
#   scripts/guest-images.sh --system-map  also fetch the kernel's real System.map (from its -dbg package,
#                                      about 860 MiB to download; only the map is kept): the oracle for
#                                      the symbols emu reads out of the bzImage (KernelImageSymbolsTests)
#
# Output, in ${EMU_GUEST_CACHE:-~/.cache/emu/guest}:
#   vmlinuz          the bzImage
#   initramfs.gz     newc cpio, gzip; /init prints "emu-guest: init reached" then starts a shell on the console
#   kernel-version   the kernel's release string (what `uname -r` prints in the guest)
#   System.map       with --system-map: the kernel build's System.map (the one in linux-image-*.deb is a stub)
set -euo pipefail

qemu_check=0 system_map=0
for arg in "$@"; do
  case "$arg" in
    --qemu) qemu_check=1 ;;
    --system-map) system_map=1 ;;
    *) echo "guest-images.sh: unknown option $arg (--qemu, --system-map)" >&2; exit 2 ;;
  esac
done

cache="${EMU_GUEST_CACHE:-$HOME/.cache/emu/guest}"
mkdir -p "$cache/debs"

die() { echo "guest-images.sh: $*" >&2; exit 1; }
for tool in apt-get apt-cache dpkg-deb gzip find; do
  command -v "$tool" >/dev/null || die "$tool is needed (this script expects a Debian-like host)"
done

# linux-image-amd64 is a metapackage; the kernel itself is the linux-image-<abi>-amd64 it depends on.
kpkg="$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')"
[ -n "$kpkg" ] || die "cannot resolve linux-image-amd64 to a kernel package (run apt-get update?)"

fetch() {
  local pkg="$1"
  if ! ls "$cache/debs/${pkg}_"*.deb >/dev/null 2>&1; then
    echo "== downloading $pkg" >&2
    (cd "$cache/debs" && apt-get download -q "$pkg" >/dev/null) || die "apt-get download $pkg failed"
  fi
  ls "$cache/debs/${pkg}_"*.deb | head -n 1
}

kdeb="$(fetch "$kpkg")"
bdeb="$(fetch busybox-static)"

kroot="$cache/kernel-root"
broot="$cache/busybox-root"
if [ ! -d "$kroot/boot" ]; then
  rm -rf "$kroot" && mkdir -p "$kroot"
  dpkg-deb -x "$kdeb" "$kroot"
fi
if [ ! -x "$broot/bin/busybox" ]; then
  rm -rf "$broot" && mkdir -p "$broot"
  dpkg-deb -x "$bdeb" "$broot"
fi

vmlinuz="$(ls "$kroot"/boot/vmlinuz-* | head -n 1)"
kver="${vmlinuz##*/vmlinuz-}"
cp "$vmlinuz" "$cache/vmlinuz"
echo "$kver" > "$cache/kernel-version"

# Debian's linux-image package ships a placeholder System.map; the real one is in the -dbg package
# next to the debug vmlinux. Only the map is taken out of the stream, and the package is not kept.
if [ "$system_map" = 1 ] && [ ! -s "$cache/System.map" ]; then
  echo "== downloading ${kpkg}-dbg for its System.map" >&2
  dbgdir="$(mktemp -d)"
  if (cd "$dbgdir" && apt-get download -q "${kpkg}-dbg" >/dev/null) \
      && dpkg-deb --fsys-tarfile "$dbgdir"/*.deb | tar -xO "./usr/lib/debug/boot/System.map-$kver" > "$cache/System.map.tmp"; then
    mv "$cache/System.map.tmp" "$cache/System.map"
  else
    rm -f "$cache/System.map.tmp"
    echo "guest-images.sh: could not get System.map from ${kpkg}-dbg; the bzImage symbol test will skip" >&2
  fi
  rm -rf "$dbgdir"
fi

# The modules for a virtio disk and ext4, an IDE disk and CD-ROM (ata_piix, sd_mod, sr_mod),
# ISO 9660 and a virtio network card, with their dependencies first. The package ships no
# modules.dep (depmod makes it at install time), so dependencies come from each module's own
# .modinfo section ("depends=a,b"); names there use '_' where file names may use '-'.
moddir="$kroot/lib/modules/$kver"
wanted=(virtio_pci virtio_blk crc32c_generic ext4 ata_piix sd_mod sr_mod isofs virtio_net)
declare -A modpath=()
while IFS= read -r f; do
  base="${f##*/}"; base="${base%%.ko*}"
  modpath["${base//-/_}"]="${f#"$moddir"/}"
done < <(find "$moddir/kernel" -name '*.ko*')
declare -A seen=()
order=()
add_module() {
  local name="${1//-/_}" path deps dep
  path="${modpath[$name]:-}"
  [ -n "$path" ] || return 0   # built into the kernel
  [ -z "${seen[$name]:-}" ] || return 0
  seen[$name]=1
  deps="$(tr '\0' '\n' < "$moddir/$path" | sed -n 's/^depends=//p' | head -n 1)"
  for dep in ${deps//,/ }; do add_module "$dep"; done
  order+=("$path")
}
for m in "${wanted[@]}"; do add_module "$m"; done

stage="$cache/initramfs-root"
rm -rf "$stage"
mkdir -p "$stage"/{bin,sbin,proc,sys,dev,tmp,root,etc/udhcpc,mnt,lib/modules}
cp "$broot/bin/busybox" "$stage/bin/busybox"
for applet in sh mount umount mkdir cat echo insmod uname ls poweroff reboot sync sha256sum gzip taskset setsid cttyhack dmesg head \
    udhcpc ip ifconfig route wget nc httpd nslookup ping sleep kill dd rm grep cut cmp wc tr; do
  ln -s busybox "$stage/bin/$applet"
done
: > "$stage/etc/modules-order"
for m in "${order[@]}"; do
  mkdir -p "$stage/lib/modules/$(dirname "$m")"
  cp "$moddir/$m" "$stage/lib/modules/$m"
  echo "/lib/modules/$m" >> "$stage/etc/modules-order"
done

# busybox udhcpc (Debian's build) runs /etc/udhcpc/default.script with the lease in its environment (ip, subnet, router, dns).
cat > "$stage/etc/udhcpc/default.script" <<'EOF'
#!/bin/sh
case "$1" in
  deconfig)
    ifconfig "$interface" 0.0.0.0 up ;;
  bound|renew)
    ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}" up
    for r in $router; do route add default gw "$r" dev "$interface"; break; done
    : > /etc/resolv.conf
    for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done ;;
esac
exit 0
EOF
chmod +x "$stage/etc/udhcpc/default.script"

cat > "$stage/init" <<'EOF'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r m; do insmod "$m" || echo "emu-guest: insmod $m failed"; done < /etc/modules-order
echo "emu-guest: init reached ($(uname -r))"
exec setsid cttyhack sh
EOF
chmod +x "$stage/init"

# newc cpio: the host's cpio when installed, otherwise busybox's own.
if command -v cpio >/dev/null; then
  archiver=(cpio -o -H newc --quiet)
else
  archiver=("$broot/bin/busybox" cpio -o -H newc)
fi
(cd "$stage" && find . -print | LC_ALL=C sort | "${archiver[@]}" 2>/dev/null) | gzip -9 > "$cache/initramfs.gz.tmp"
mv "$cache/initramfs.gz.tmp" "$cache/initramfs.gz"

echo "kernel:    $cache/vmlinuz ($kver)"
echo "initramfs: $cache/initramfs.gz (${#order[@]} modules)"

if [ "$qemu_check" = 1 ]; then
  command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 is not installed"
  log="$cache/qemu-check.log"
  echo "== booting under qemu-system-x86_64 -accel tcg (up to 120 s)" >&2
  # The shell gets `uname -r` then `poweroff -f` on its console; qemu exits when the guest powers off.
  (sleep 60; printf 'uname -r\npoweroff -f\n') | timeout 120 qemu-system-x86_64 -accel tcg -m 512 -no-reboot \
    -kernel "$cache/vmlinuz" -initrd "$cache/initramfs.gz" -append "console=ttyS0 panic=-1" \
    -nographic -serial mon:stdio > "$log" 2>&1 || true
  if grep -q "emu-guest: init reached" "$log"; then
    echo "qemu check: /init reached, see $log"
  else
    die "qemu check: the guest did not reach /init; see $log"
  fi
fi
