#!/usr/bin/env bash
# Assembles every guest program in Roms/ with nasm. With --check, assembles into a temporary
# folder and fails if any committed binary differs from what its source produces.
# Option ROMs (Roms/optionroms/) get their last byte set so that all bytes sum to 0 mod 256, the
# checksum firmware verifies before running a ROM; nasm cannot sum the code it emits.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command -v nasm >/dev/null || { echo "Roms/build.sh: nasm is not installed (apt-get install nasm)" >&2; exit 1; }
check=0
[ "${1:-}" = "--check" ] && check=1
status=0
assemble() { # assemble SRC DIR OUT
  nasm -f bin -i "$2/" -i "$here/common/" -o "$3" "$1"
  if [ "$(basename "$2")" = optionroms ]; then
    perl -e 'local $/; open my $f, "+<:raw", $ARGV[0] or die; my $b = <$f>; my $s = unpack("%8C*", substr($b, 0, -1));
             seek $f, length($b) - 1, 0; print $f chr((256 - $s) % 256); close $f' "$3"
  fi
}
for src in "$here"/*/*.asm; do
  dir="$(dirname "$src")"
  name="$(basename "$src" .asm)"
  if [ $check -eq 1 ]; then
    tmp="$(mktemp)"
    assemble "$src" "$dir" "$tmp"
    if ! cmp -s "$tmp" "$dir/$name.bin"; then
      echo "Roms/build.sh: $dir/$name.bin is not what $name.asm assembles to; run Roms/build.sh" >&2
      status=1
    fi
    rm -f "$tmp"
  else
    assemble "$src" "$dir" "$dir/$name.bin"
  fi
done
exit $status
