#!/usr/bin/env python3
"""Boots the test guest (scripts/guest-images.sh) under emu's software CPU and, when installed, under
qemu-system-x86_64 -accel tcg, with the same memory and command line, and prints side by side:

  - the time from starting the emulator to the guest's /init ("emu-guest: init reached"),
  - the time of a CPU-bound command in the guest's shell, as the guest's `time` reports it and as
    measured on the host (from typing the command to its end marker on the console),
  - the ratio emu / qemu of each.

  scripts/linux-bench.py [--bytes N] [--memory 512] [--emu CMD] [--qemu PATH] [--runs N]

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


def measure(name, argv, command, log_path):
    with open(log_path, "wb") as log:
        g = Guest(argv, log)
        try:
            t_init, _ = g.wait_for(INIT_MARK, 1800)
            g.wait_for(PROMPT, 600)
            # The marker is computed in the guest so that the echo of the typed line cannot match it.
            g.type(f"time sh -c '{command}'; echo bench-done-$((6*7))")
            t_typed = time.monotonic()
            t_done, _ = g.wait_for(b"bench-done-42", 3600)
            text = g.out.decode("latin1")
            m = re.findall(r"real\s+(?:(\d+)m\s*)?([\d.]+)s", text)
            guest_s = (int(m[-1][0] or 0) * 60 + float(m[-1][1])) if m else None
            return {"name": name, "init": t_init - g.start, "guest": guest_s, "host": t_done - t_typed}
        finally:
            g.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", default=os.environ.get("EMU_GUEST_CACHE", os.path.expanduser("~/.cache/emu/guest")))
    ap.add_argument("--memory", default="512", help="guest RAM in MiB (both emulators)")
    ap.add_argument("--bytes", type=int, default=4_000_000, help="bytes hashed by the in-guest command")
    ap.add_argument("--emu", default=os.path.join(ROOT, "emu"), help="the emu command (default: the repository's ./emu)")
    ap.add_argument("--qemu", default=shutil.which("qemu-system-x86_64"))
    ap.add_argument("--runs", type=int, default=1, help="boots per emulator; the best of each figure is kept")
    a = ap.parse_args()

    kernel, initrd = os.path.join(a.cache, "vmlinuz"), os.path.join(a.cache, "initramfs.gz")
    if not (os.path.exists(kernel) and os.path.exists(initrd)):
        sys.exit(f"linux-bench: no guest images in {a.cache}; run scripts/guest-images.sh first")

    command = f"yes | head -c {a.bytes} | sha256sum"
    append = "console=ttyS0"
    machines = [("emu jit", [a.emu, "run", "--accel", "jit", "-m", f"{a.memory}M", "--no-reboot",
                             "--kernel", kernel, "--initrd", initrd, "--append", append])]
    if a.qemu:
        machines.append(("qemu tcg", [a.qemu, "-accel", "tcg", "-m", a.memory, "-no-reboot", "-display", "none",
                                      "-monitor", "none", "-serial", "stdio", "-kernel", kernel, "-initrd", initrd,
                                      "-append", append]))
    else:
        print("linux-bench: qemu-system-x86_64 not found; emu only", file=sys.stderr)

    # ./emu builds itself on first use; that must not count as boot time.
    subprocess.run([a.emu, "--version"], check=True, stdout=subprocess.DEVNULL)
    print(f"guest command: time sh -c '{command}'  (logs in /tmp/linux-bench-*.log)")
    results = []
    for name, argv in machines:
        runs = [measure(name, argv, command, f"/tmp/linux-bench-{name.split()[0]}-{i}.log") for i in range(a.runs)]
        best = {"name": name}
        for k in ("init", "guest", "host"):
            values = [r[k] for r in runs if r[k] is not None]
            best[k] = min(values) if values else None
        results.append(best)

    fmt = lambda v: "n/a" if v is None else f"{v:9.2f}"
    print(f"{'':10} {'to /init (s)':>13} {'cmd, guest time (s)':>20} {'cmd, host time (s)':>19}")
    for r in results:
        print(f"{r['name']:10} {fmt(r['init']):>13} {fmt(r['guest']):>20} {fmt(r['host']):>19}")
    if len(results) == 2:
        e, q = results
        ratio = lambda k: "n/a" if not (e[k] and q[k]) else f"{e[k] / q[k]:9.2f}"
        print(f"{'emu/qemu':10} {ratio('init'):>13} {ratio('guest'):>20} {ratio('host'):>19}")


if __name__ == "__main__":
    main()
