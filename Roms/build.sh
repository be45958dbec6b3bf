#!/usr/bin/env bash
# Assembles every guest program in Roms/ with nasm. With --check, assembles into a temporary
# folder and fails if any committed binary differs from what its source produces.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command -v nasm >/dev/null || { echo "Roms/build.sh: nasm is not installed (apt-get install nasm)" >&2; exit 1; }
check=0
[ "${1:-}" = "--check" ] && check=1
status=0
for src in "$here"/*/*.asm; do
  dir="$(dirname "$src")"
  name="$(basename "$src" .asm)"
  if [ $check -eq 1 ]; then
    tmp="$(mktemp)"
    nasm -f bin -i "$dir/" -i "$here/common/" -o "$tmp" "$src"
    if ! cmp -s "$tmp" "$dir/$name.bin"; then
      echo "Roms/build.sh: $dir/$name.bin is not what $name.asm assembles to; run Roms/build.sh" >&2
      status=1
    fi
    rm -f "$tmp"
  else
    nasm -f bin -i "$dir/" -i "$here/common/" -o "$dir/$name.bin" "$src"
  fi
done
exit $status
