#!/usr/bin/env python3
"""Runs the benchmark kernels of Roms/bench (mb_*.bin: the ALU loop, the copy-and-checksum loop,
branchy calls and returns, a loop whose data shares its code page) under emu's software CPU and
under qemu-system-x86_64 -accel tcg, side by side in one sitting, and prints guest instructions per
second for both and their ratio.

Each kernel reads its iteration count from the command line and exits through the debug-exit
port; every run is timed twice, with N and 5N iterations, and the rate is the extra instructions
over the extra time, so loading and start-up cancel out. The figure is the median of --runs.

  scripts/bench-vs-qemu.py [--runs 3] [--scale 1.0] [--emu-args "--translate off"]

Not a test: the figures depend on the host and its load.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# name: (guest instructions per iteration, as the kernel's source counts them; base iterations N)
PROGRAMS = {
    "alu": (10002, 4000),
    "memcpy": (114692, 400),
    "calls": (12252, 4000),
    "codepage": (4002, 4000),
}


def timed(argv):
    start = time.monotonic()
    r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=3600)
    elapsed = time.monotonic() - start
    if r.returncode != 1:  # debug-exit value 0 gives status 1 under both emulators
        sys.exit(f"bench-vs-qemu: {' '.join(argv)} exited with {r.returncode}: {r.stderr.decode(errors='replace')[-500:]}")
    return elapsed


def rate(make_argv, per_iteration, n, runs):
    """Guest instructions per second from the time 4N more iterations take; the count grows until
    that difference is at least half a second, so start-up noise cannot dominate it."""
    rates = []
    for _ in range(runs):
        while True:
            t1 = timed(make_argv(n))
            t5 = timed(make_argv(5 * n))
            if t5 - t1 >= 0.5 or n >= 1 << 40:
                break
            n *= 8
        rates.append(4 * n * per_iteration / (t5 - t1))
    rates.sort()
    return rates[len(rates) // 2]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies every iteration count")
    ap.add_argument("--emu-args", default="")
    ap.add_argument("--qemu", default=shutil.which("qemu-system-x86_64"))
    a = ap.parse_args()

    subprocess.run([os.path.join(ROOT, "emu"), "--version"], check=True, stdout=subprocess.DEVNULL)
    emu = ["dotnet", os.path.join(ROOT, ".build", "emu", "emu.dll")]
    print(f"guest instructions per second, median of {a.runs} runs (N and 5N iterations each)")
    print(f"{'program':10} {'emu (M/s)':>12} {'qemu tcg (M/s)':>15} {'emu/qemu':>9}")
    for name, (per, n) in PROGRAMS.items():
        n = max(1, int(n * a.scale))
        kernel = os.path.join(ROOT, "Roms", "bench", f"mb_{name}.bin")
        emu_rate = rate(lambda k: emu + ["run", "--accel", "jit", "--kernel", kernel, "--append", str(k)] + a.emu_args.split(), per, n, a.runs)
        if a.qemu:
            qemu_rate = rate(lambda k: [a.qemu, "-accel", "tcg", "-display", "none", "-monitor", "none", "-serial", "none",
                                        "-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-kernel", kernel, "-append", str(k)], per, n, a.runs)
            print(f"{name:10} {emu_rate / 1e6:12.0f} {qemu_rate / 1e6:15.0f} {emu_rate / qemu_rate:9.2f}")
        else:
            print(f"{name:10} {emu_rate / 1e6:12.0f} {'n/a':>15}")


if __name__ == "__main__":
    main()
