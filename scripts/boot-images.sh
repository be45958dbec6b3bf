#!/usr/bin/env bash
# Builds bootable images of the Linux test guest (scripts/guest-images.sh) from Debian packages,
# without root or loop devices:
#   disk.img   raw disk: an MBR (syslinux's mbr.bin) with one FAT16 partition at 1 MiB holding
#              SYSLINUX, the kernel and the initramfs (mtools + syslinux)
#   boot.iso   El Torito ISO 9660 image booting ISOLINUX with the same kernel and initramfs, plus
#              /payload.bin, 1 MiB of random bytes whose SHA-256 is in payload.sha256 (xorriso + isolinux)
#   grub.iso   GRUB's BIOS rescue image (grub-mkrescue) with one menu entry booting the same kernel and
#              initramfs; its menu waits for Enter, on the VGA screen and the serial console; made only
#              when grub-mkrescue and GRUB's i386-pc modules are installed (grub-common, grub-pc-bin)
#
#   scripts/boot-images.sh OUTDIR [console]   console: the kernel's console= (default ttyS0)
#
# Needs: mtools, syslinux, syslinux-common, isolinux, xorriso (Debian packages).
set -euo pipefail

out="${1:?usage: boot-images.sh OUTDIR [console]}"
console="${2:-ttyS0}"
cache="${EMU_GUEST_CACHE:-$HOME/.cache/emu/guest}"
die() { echo "boot-images.sh: $*" >&2; exit 1; }
for tool in mformat mcopy syslinux xorriso dd; do
  command -v "$tool" >/dev/null || die "$tool is needed (apt-get install mtools syslinux syslinux-common isolinux xorriso)"
done
[ -f "$cache/vmlinuz" ] && [ -f "$cache/initramfs.gz" ] || die "no guest images in $cache (run scripts/guest-images.sh)"
mbr=/usr/lib/syslinux/mbr/mbr.bin
isolinux=/usr/lib/ISOLINUX/isolinux.bin
ldlinux_c32=/usr/lib/syslinux/modules/bios/ldlinux.c32
for f in "$mbr" "$isolinux" "$ldlinux_c32"; do [ -f "$f" ] || die "$f is missing (apt-get install syslinux-common isolinux)"; done
mkdir -p "$out"

cfg() {
  cat <<CFG
SERIAL 0 115200
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL /vmlinuz
  APPEND initrd=/initrd.gz console=$console
CFG
}

# --- disk.img: 64 MiB, partition 1 = FAT16 from sector 2048 to the end.
disk="$out/disk.img"
sectors=131072
start=2048
count=$((sectors - start))
rm -f "$disk"
dd if=/dev/zero of="$disk" bs=512 count=0 seek="$sectors" status=none
dd if="$mbr" of="$disk" bs=440 count=1 conv=notrunc status=none
le32() { printf "\\x$(printf %02x $(($1 & 255)))\\x$(printf %02x $((($1 >> 8) & 255)))\\x$(printf %02x $((($1 >> 16) & 255)))\\x$(printf %02x $((($1 >> 24) & 255)))"; }
# Partition entry 1 (offset 446): active, CHS fields at their LBA-only maximum, type 0x0E (FAT16, LBA).
{ printf '\x80\xfe\xff\xff\x0e\xfe\xff\xff'; le32 "$start"; le32 "$count"; } | dd of="$disk" bs=1 seek=446 conv=notrunc status=none
printf '\x55\xaa' | dd of="$disk" bs=1 seek=510 conv=notrunc status=none
part="$disk@@$((start * 512))"
mformat -i "$part" -T "$count" -h 64 -s 32 -H "$start" -v EMUBOOT ::
syslinux --install --offset $((start * 512)) "$disk"
cfg > "$out/syslinux.cfg"
mcopy -i "$part" "$cache/vmlinuz" ::vmlinuz
mcopy -i "$part" "$cache/initramfs.gz" ::initrd.gz
mcopy -i "$part" "$out/syslinux.cfg" ::syslinux.cfg

# --- boot.iso
iso="$out/iso-root"
rm -rf "$iso"
mkdir -p "$iso/isolinux"
cp "$isolinux" "$ldlinux_c32" "$iso/isolinux/"
cfg > "$iso/isolinux/isolinux.cfg"
cp "$cache/vmlinuz" "$iso/vmlinuz"
cp "$cache/initramfs.gz" "$iso/initrd.gz"
head -c 1048576 /dev/urandom > "$iso/payload.bin"
(cd "$iso" && sha256sum payload.bin | cut -d' ' -f1) > "$out/payload.sha256"
xorriso -as mkisofs -quiet -o "$out/boot.iso" -V EMUBOOT -J -R \
  -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table "$iso" 2>/dev/null
rm -rf "$iso"

# --- grub.iso
if command -v grub-mkrescue >/dev/null && [ -d /usr/lib/grub/i386-pc ]; then
  g="$out/grub-root"
  rm -rf "$g"
  mkdir -p "$g/boot/grub"
  cp "$cache/vmlinuz" "$g/vmlinuz"
  cp "$cache/initramfs.gz" "$g/initrd.gz"
  cat > "$g/boot/grub/grub.cfg" <<GRUB
serial --unit=0 --speed=115200
terminal_input console serial
terminal_output console serial
set timeout=-1
menuentry "emu test Linux" {
  linux /vmlinuz console=$console emu.loader=grub
  initrd /initrd.gz
}
GRUB
  grub-mkrescue -o "$out/grub.iso" "$g" >/dev/null 2>&1 || die "grub-mkrescue failed"
  rm -rf "$g"
  echo "grub: $out/grub.iso"
else
  echo "grub: not made (apt-get install grub-pc-bin for grub-mkrescue and GRUB's i386-pc modules)"
fi

echo "disk: $disk"
echo "iso:  $out/boot.iso (payload.bin sha256 $(cat "$out/payload.sha256"))"
