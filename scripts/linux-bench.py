#!/usr/bin/env python3
"""Boots the test guest (scripts/guest-images.sh) under emu's software CPU and, when installed, under
qemu-system-x86_64 -accel tcg, with the same memory and command line, and prints side by side:

  - the time from starting the emulator to the guest's /init ("emu-guest: init reached"),
  - the time of CPU-bound commands in the guest's shell (sha256sum of 64 MiB, gzip of 32 MiB, a
    100,000-iteration busybox shell loop), as the guest's `time` reports it and as measured on the
    host (from typing the command to its end marker on the console),
  - the median of each over --runs boots, and the ratio emu / qemu,
  - the same phases in CPU seconds of the emulator process (all its threads, from /proc), which a
    loaded host disturbs far less than the wall-clock figures.

  scripts/linux-bench.py [--memory 512] [--emu CMD] [--qemu PATH] [--runs 3] [--emu-args ARGS]

Not a test: the figures depend on the host and its load.
"""
import argparse
import os
import re
import selectors
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INIT_MARK = b"emu-guest: init reached"
PROMPT = b"/ # "


class Guest:
    """One emulator process, its console on stdin/stdout, read without blocking."""

    def __init__(self, argv, log):
        self.start = time.monotonic()
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)
        self.out = b""
        self.seen = 0
        self.log = log

    def wait_for(self, pattern, timeout):
        """Waits for bytes (or a compiled regex) after the last match; returns (match end time, match)."""
        deadline = time.monotonic() + timeout
        while True:
            m = pattern.search(self.out, self.seen) if hasattr(pattern, "search") else None
            if m is None and not hasattr(pattern, "search"):
                i = self.out.find(pattern, self.seen)
                m = (i, i + len(pattern)) if i >= 0 else None
            if m is not None:
                end = m.end() if hasattr(m, "end") else m[1]
                self.seen = end
                return time.monotonic(), m
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                raise TimeoutError(f"{pattern!r} did not appear; last output:\n{self.out[-1500:].decode('latin1')}")
            for _ in self.sel.select(min(left, 0.5)):
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if chunk:
                    self.out += chunk
                    self.log.write(chunk)
                    self.log.flush()

    def type(self, line):
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def close(self):
        self.type("poweroff -f")
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


WORKLOADS = [
    ("sha256 64M", "head -c 67108864 /dev/zero | sha256sum"),
    ("gzip 32M", "head -c 33554432 /dev/zero | gzip -c | wc -c"),
    ("sh loop 100k", "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; echo $i"),
]


def cpu_seconds(pid):
    """User + system CPU time of a process and all its threads so far (/proc/PID/stat fields 14, 15)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(name, argv, log_path):
    """One boot: time to /init, then each workload; returns {figure: seconds}."""
    with open(log_path, "wb") as log:
        g = Guest(argv, log)
        try:
            t_init, _ = g.wait_for(INIT_MARK, 1800)
            g.wait_for(PROMPT, 600)
            cpu = cpu_seconds(g.proc.pid)
            result = {"to /init": t_init - g.start, "cpu to /init": cpu}
            for n, (label, command) in enumerate(WORKLOADS):
                # The marker is computed in the guest so that the echo of the typed line cannot match it.
                g.type(f"time sh -c '{command}'; echo bench-done-$((6*7+{n}))")
                t_typed = time.monotonic()
                t_done, _ = g.wait_for(f"bench-done-{42 + n}".encode(), 3600)
                result[label] = t_done - t_typed
                now = cpu_seconds(g.proc.pid)
                result["cpu " + label] = now - cpu
                cpu = now
            return result
        finally:
            g.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", default=os.environ.get("EMU_GUEST_CACHE", os.path.expanduser("~/.cache/emu/guest")))
    ap.add_argument("--memory", default="512", help="guest RAM in MiB (both emulators)")
    ap.add_argument("--emu", default=os.path.join(ROOT, "emu"), help="the emu command (default: the repository's ./emu)")
    ap.add_argument("--qemu", default=shutil.which("qemu-system-x86_64"))
    ap.add_argument("--runs", type=int, default=3, help="boots per emulator; the median of each figure is kept")
    ap.add_argument("--emu-args", default="", help="extra options for emu run (e.g. --translate off)")
    a = ap.parse_args()

    kernel, initrd = os.path.join(a.cache, "vmlinuz"), os.path.join(a.cache, "initramfs.gz")
    if not (os.path.exists(kernel) and os.path.exists(initrd)):
        sys.exit(f"linux-bench: no guest images in {a.cache}; run scripts/guest-images.sh first")

    append = "console=ttyS0"
    machines = [("emu", [a.emu, "run", "--accel", "jit", "-m", f"{a.memory}M", "--no-reboot",
                         "--kernel", kernel, "--initrd", initrd, "--append", append] + a.emu_args.split())]
    if a.qemu:
        machines.append(("qemu tcg", [a.qemu, "-accel", "tcg", "-m", a.memory, "-no-reboot", "-display", "none",
                                      "-monitor", "none", "-serial", "stdio", "-kernel", kernel, "-initrd", initrd,
                                      "-append", append]))
    else:
        print("linux-bench: qemu-system-x86_64 not found; emu only", file=sys.stderr)

    # ./emu builds itself on first use; that must not count as boot time.
    subprocess.run([a.emu, "--version"], check=True, stdout=subprocess.DEVNULL)
    print(f"{a.runs} boots each, emulators alternating; figures are host seconds (logs in /tmp/linux-bench-*.log)")
    runs = {name: [] for name, _ in machines}
    for i in range(a.runs):
        for name, argv in machines:
            runs[name].append(measure(name, argv, f"/tmp/linux-bench-{name.split()[0]}-{i}.log"))

    phases = ["to /init"] + [label for label, _ in WORKLOADS]
    figures = phases + ["cpu " + p for p in phases]
    median = lambda values: sorted(values)[len(values) // 2]
    table = {name: {f: median([r[f] for r in rs]) for f in figures} for name, rs in runs.items()}
    print(f"{'':18}" + "".join(f"{name:>12}" for name in table) + ("   emu/qemu" if len(table) == 2 else ""))
    for f in figures:
        if f == "cpu to /init":
            print("CPU seconds of the emulator process (all threads):")
        values = [table[name][f] for name in table]
        ratio = f"{values[0] / values[1]:11.2f}" if len(values) == 2 else ""
        print(f"{f:18}" + "".join(f"{v:12.2f}" for v in values) + ratio)


if __name__ == "__main__":
    main()
