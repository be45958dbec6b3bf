#!/usr/bin/env python3
"""How much `emu perf` slows the guest down: one boot of the test guest (scripts/guest-images.sh)
under emu's software CPU, then a CPU-bound command in the guest's shell (sha256sum of 64 MiB, as in
scripts/linux-bench.py) timed alternately without and with `emu perf` sampling every vCPU at
--frequency Hz (default 1000, with stack unwinding), round after round, the order swapped each round
so that a drift in the host's load falls on both. Prints each time, the medians and the slowdown.

  scripts/perf-overhead.py [--runs 5] [--frequency 1000] [--emu CMD]

Not a test: the figures depend on the host and its load (the sampler's thread and the sampled
vCPU share the host's cores).
"""
import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = importlib.util.spec_from_file_location("linux_bench", os.path.join(ROOT, "scripts", "linux-bench.py"))
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)

WORKLOAD = "head -c 67108864 /dev/zero | sha256sum"
NAME = "perf-overhead"


def timed(g, n):
    """Types the workload and returns the seconds until its end marker (computed in the guest)."""
    g.type(f"{WORKLOAD}; echo work-done-$((6*7+{n}))")
    start = time.monotonic()
    g.wait_for(f"work-done-{42 + n}".encode(), 600)
    return time.monotonic() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--frequency", type=int, default=1000)
    ap.add_argument("--cache", default=os.environ.get("EMU_GUEST_CACHE", os.path.expanduser("~/.cache/emu/guest")))
    ap.add_argument("--emu", default=os.path.join(ROOT, "emu"))
    a = ap.parse_args()
    kernel, initrd = os.path.join(a.cache, "vmlinuz"), os.path.join(a.cache, "initramfs.gz")
    if not os.path.exists(kernel):
        sys.exit(f"perf-overhead: no guest images in {a.cache}; run scripts/guest-images.sh first")
    subprocess.run([a.emu, "--version"], check=True, stdout=subprocess.DEVNULL)

    runtime = tempfile.mkdtemp(prefix="emu-perf-overhead-")
    os.chmod(runtime, 0o700)
    os.environ["XDG_RUNTIME_DIR"] = runtime  # emu run registers there, emu perf finds it there
    argv = [a.emu, "run", "--accel", "jit", "-m", "512M", "--kernel", kernel, "--initrd", initrd, "--append", "console=ttyS0", "--name", NAME]
    plain, sampled, shares = [], [], []
    with open("/tmp/perf-overhead.log", "wb") as log:
        g = bench.Guest(argv, log)
        try:
            g.wait_for(bench.INIT_MARK, 1800)
            g.wait_for(bench.PROMPT, 600)
            n = 0
            timed(g, n)  # a warm-up: the first run translates the code
            for r in range(a.runs):
                for with_perf in ((False, True) if r % 2 == 0 else (True, False)):
                    n += 1
                    if not with_perf:
                        plain.append(timed(g, n))
                        continue
                    duration = 2 * (statistics.median(plain) if plain else 5) + 4
                    perf = subprocess.Popen([a.emu, "perf", NAME, "--frequency", str(a.frequency), "--duration", f"{duration:.1f}", "--json"],
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                    time.sleep(2)  # emu perf's own start-up (dotnet) is not the sampler's cost
                    sampled.append(timed(g, n))
                    out, err = perf.communicate(timeout=duration + 120)
                    if perf.returncode != 0:
                        sys.exit(f"perf-overhead: emu perf failed: {err.decode()}")
                    shares.append(json.loads(out)["user-share"])
                print(f"round {r + 1}: without {plain[-1]:.2f} s, with emu perf at {a.frequency} Hz {sampled[-1]:.2f} s", flush=True)
        finally:
            g.close()
    p, s = statistics.median(plain), statistics.median(sampled)
    print(f"median of {a.runs}: without {p:.2f} s, with {s:.2f} s: {100 * (s - p) / p:+.1f}% "
          f"(user-mode share sampled: {statistics.median(shares):.0f}%)")


if __name__ == "__main__":
    main()
