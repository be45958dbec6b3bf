#!/usr/bin/env python3
"""Sequential disk throughput seen by the test guest (scripts/guest-images.sh): 256 MiB written to
/dev/vda with `dd bs=1M oflag=direct conv=fsync`, then read back with `dd iflag=direct`, on a raw
image and on a qcow2 image (`qemu-img create -f qcow2`, so every write allocates clusters), under
emu's software CPU and, when installed, qemu-system-x86_64 -accel tcg with the same disk images
(virtio-blk, QEMU's default cache=writeback). MiB/s from the guest's own `time` of each dd, and the
qcow2/raw ratio per emulator.

  scripts/disk-bench.py [--mib 256] [--emu CMD] [--qemu PATH] [--runs N] [--dir DIR]

Not a test: the figures depend on the host, its disk and its load.
"""
import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = importlib.util.spec_from_file_location("linux_bench", os.path.join(ROOT, "scripts", "linux-bench.py"))
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)

# Debian's busybox dd prints no rate; the shell's `time` gives the elapsed time ("real 0m 3.21s").
REAL = re.compile(rb"real\s+(?:(\d+)m\s*)?([\d.]+)s")


def run_dd(g, command, marker, mib):
    start = len(g.out)
    g.type(f"time {command} 2>&1; echo {marker}-$((6*7))")
    g.wait_for(f"{marker}-42".encode(), 3600)
    found = REAL.findall(g.out, start)
    if not found:
        raise RuntimeError(f"no time in the output:\n{g.out[-800:].decode('latin1')}")
    minutes, seconds = found[-1]
    return mib / (int(minutes or 0) * 60 + float(seconds))


def measure(argv, mib, log_path):
    with open(log_path, "wb") as log:
        g = bench.Guest(argv, log)
        try:
            g.wait_for(bench.INIT_MARK, 1800)
            g.wait_for(bench.PROMPT, 600)
            write = run_dd(g, f"dd if=/dev/zero of=/dev/vda bs=1M count={mib} oflag=direct conv=fsync", "wrote", mib)
            read = run_dd(g, f"dd if=/dev/vda of=/dev/null bs=1M count={mib} iflag=direct", "read", mib)
            return write, read
        finally:
            g.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", default=os.environ.get("EMU_GUEST_CACHE", os.path.expanduser("~/.cache/emu/guest")))
    ap.add_argument("--mib", type=int, default=256, help="MiB written and read")
    ap.add_argument("--emu", default=os.path.join(ROOT, "emu"))
    ap.add_argument("--qemu", default=shutil.which("qemu-system-x86_64"))
    ap.add_argument("--runs", type=int, default=1, help="rounds (every configuration boots once a round, in turn); medians are printed")
    ap.add_argument("--dir", default=None, help="where the disk images go (default: a temporary directory)")
    a = ap.parse_args()

    kernel, initrd = os.path.join(a.cache, "vmlinuz"), os.path.join(a.cache, "initramfs.gz")
    if not (os.path.exists(kernel) and os.path.exists(initrd)):
        sys.exit(f"disk-bench: no guest images in {a.cache}; run scripts/guest-images.sh first")
    if not shutil.which("qemu-img"):
        sys.exit("disk-bench: qemu-img (Debian's qemu-utils) is needed to make the qcow2 image")

    subprocess.run([a.emu, "--version"], check=True, stdout=subprocess.DEVNULL)
    workdir = a.dir or tempfile.mkdtemp(prefix="emu-disk-bench-")
    size = f"{a.mib + 16}M"
    append = "console=ttyS0"
    emulators = [("emu", lambda img, fmt: [a.emu, "run", "--accel", "jit", "-m", "512M", "--no-reboot", "--kernel", kernel,
                                           "--initrd", initrd, "--append", append, "--drive", f"file={img},format={fmt}"])]
    if a.qemu:
        emulators.append(("qemu", lambda img, fmt: [a.qemu, "-accel", "tcg", "-m", "512", "-no-reboot", "-display", "none",
                                                     "-monitor", "none", "-serial", "stdio", "-kernel", kernel, "-initrd", initrd,
                                                     "-append", append, "-drive", f"file={img},format={fmt},if=virtio"]))
    else:
        print("disk-bench: qemu-system-x86_64 not found; emu only", file=sys.stderr)

    print(f"guest: dd {a.mib} MiB, bs=1M, O_DIRECT, to/from /dev/vda (logs in /tmp/disk-bench-*.log, images in {workdir})")
    runs = {(name, fmt): [] for name, _ in emulators for fmt in ("raw", "qcow2")}
    # Every configuration once per round, so that a change in the host's load falls on all of them.
    for i in range(a.runs):
        for name, argv in emulators:
            for fmt in ("raw", "qcow2"):
                img = os.path.join(workdir, f"disk.{fmt}")
                if os.path.exists(img):
                    os.remove(img)
                subprocess.run(["qemu-img", "create", "-q", "-f", fmt, img, size], check=True)
                w, r = measure(argv(img, fmt), a.mib, f"/tmp/disk-bench-{name}-{fmt}-{i}.log")
                if fmt == "qcow2":
                    check = subprocess.run(["qemu-img", "check", "-q", "-f", "qcow2", img])
                    if check.returncode != 0:
                        print(f"disk-bench: qemu-img check of {name}'s qcow2 image exited {check.returncode}", file=sys.stderr)
                print(f"  round {i + 1}: {name} {fmt}: write {w:.1f} MiB/s, read {r:.1f} MiB/s", flush=True)
                runs[(name, fmt)].append((w, r))

    def median(values):
        return sorted(values)[len(values) // 2]

    results = {k: (median([w for w, _ in v]), median([r for _, r in v])) for k, v in runs.items()}
    print(f"medians of {a.runs}:")
    print(f"{'':14} {'write MiB/s':>11} {'read MiB/s':>10}")
    for (name, fmt), (w, r) in results.items():
        print(f"{name + ' ' + fmt:14} {w:11.1f} {r:10.1f}")
    for name, _ in emulators:
        (rw, rr), (qw, qr) = results[(name, "raw")], results[(name, "qcow2")]
        print(f"{name + ' raw/qcow2':14} {rw / qw if qw else float('nan'):10.2f}x {rr / qr if qr else float('nan'):9.2f}x")
    if not a.dir:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
