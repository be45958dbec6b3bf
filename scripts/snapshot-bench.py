#!/usr/bin/env python3
"""Snapshot save and restore of a booted Linux guest (scripts/guest-images.sh) under emu: boots the
guest with -m 512M (by default), starts a counter loop on its serial console, optionally fills some
of its RAM (a file of random bytes in its tmpfs), then

  - saves it over QMP (x-emu-snapshot-save) and reports the command's wall time, how long the guest
    was paused, the file's size and how many RAM pages were all zeros;
  - kills emu, starts `emu run --restore FILE` and reports the time from starting the process to the
    guest's next counter line on the console (the counter prints every 50 ms), and emu's own
    "restored ... in" figure (the restore work inside the process, without .NET's start-up);
  - checks that the count continues where the snapshot left it.

  scripts/snapshot-bench.py [--memory 512] [--fill-mib 0] [--runs 3] [--emu CMD] [--accel jit] [--keep FILE]

With --keep FILE the guest is booted and saved once into FILE (reused when it is there already) and
only the restores are timed: restore work without a boot per run.

Not a test: the figures depend on the host and its load. The target is a restore to a running guest
within 1 s for 512 MiB.
"""
import argparse
import json
import os
import re
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("EMU_GUEST_CACHE", os.path.expanduser("~/.cache/emu/guest"))
PROMPT = b"/ # "
COUNT = re.compile(rb"count (\d+)\r\n")


class Console:
    """An emu process with its serial console on stdin/stdout, read without blocking."""

    def __init__(self, argv):
        self.start = time.monotonic()
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)
        self.out = b""

    def wait_for(self, pattern, timeout, start=0):
        deadline = time.monotonic() + timeout
        while True:
            m = pattern.search(self.out, start)
            if m:
                return time.monotonic(), m
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.poll() is not None else ""
                raise TimeoutError(f"{pattern.pattern!r} did not appear; last output:\n{self.out[-800:].decode('latin1')}\n{err}")
            for _ in self.sel.select(min(left, 0.2)):
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if chunk:
                    self.out += chunk

    def drain(self, seconds):
        """Reads whatever arrives for `seconds` (what the guest printed before it was stopped)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            for _ in self.sel.select(left):
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if chunk:
                    self.out += chunk

    def type(self, line):
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def kill(self):
        self.proc.kill()
        self.proc.wait()


def qmp(path, command, arguments=None):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    f = s.makefile("rwb")
    f.readline()
    for cmd in ({"execute": "qmp_capabilities"}, {"execute": command, **({"arguments": arguments} if arguments else {})}):
        f.write(json.dumps(cmd).encode() + b"\n")
        f.flush()
        while True:
            reply = json.loads(f.readline())
            if "event" not in reply:
                break
    s.close()
    if "error" in reply:
        raise RuntimeError(reply["error"]["desc"])
    return reply["return"]


def save(emu, args, work, snap):
    """Boots the guest, starts the counter, saves it to `snap`; returns the save's figures and the last count printed."""
    sock = os.path.join(work, "qmp.sock")
    for p in (sock, snap):
        if os.path.exists(p):
            os.remove(p)
    guest = Console(emu + ["run", "--accel", args.accel, "-m", f"{args.memory}M", "--kernel", os.path.join(CACHE, "vmlinuz"),
                           "--initrd", os.path.join(CACHE, "initramfs.gz"), "--append", "console=ttyS0",
                           "--qmp", f"unix:{sock},server,wait=off"])
    try:
        guest.wait_for(re.compile(re.escape(PROMPT)), 900)
        if args.fill_mib:
            guest.type(f"dd if=/dev/urandom of=/tmp/fill bs=1M count={args.fill_mib} 2>/dev/null; echo filled")
            guest.wait_for(re.compile(rb"\nfilled"), 600)
        guest.type("i=0; while true; do echo \"count $i\"; i=$((i+1)); sleep 0.05; done &")
        guest.wait_for(re.compile(rb"count 10\r\n"), 120)
        qmp(sock, "stop")
        t0 = time.monotonic()
        saved = qmp(sock, "x-emu-snapshot-save", {"file": snap})
        save_s = time.monotonic() - t0
        guest.drain(0.5)
        last = int(COUNT.findall(guest.out)[-1])
    finally:
        guest.kill()
    return saved, save_s, last


def restore(emu, args, snap, last):
    """Starts `emu run --restore`; returns seconds to the next counter line and emu's own restore time."""
    restored = Console(emu + ["run", "--restore", snap, "--accel", args.accel])
    try:
        t_next, m = restored.wait_for(COUNT, 120)
        restore_s = t_next - restored.start
        first = int(m.group(1))
        if first != last + 1:
            raise RuntimeError(f"the restored guest printed count {first} after {last}")
        restored.wait_for(re.compile(rb"count %d\r\n" % (last + 5)), 60)
    finally:
        restored.kill()
    stderr = restored.proc.stderr.read()
    inner = re.search(rb"restored .* in ([0-9.]+) s", stderr)
    trace = re.search(rb"snapshot restore: .*", stderr)
    if trace:
        print("  " + trace.group(0).decode(), flush=True)
    return restore_s, float(inner.group(1)) if inner else None


def one_run(emu, args, work):
    snap = os.path.join(work, "bench.emusnap")
    saved, save_s, last = save(emu, args, work, snap)
    restore_s, inner = restore(emu, args, snap, last)
    return {
        "save_s": save_s, "paused_ms": saved["paused-ms"], "bytes": saved["bytes"],
        "pages": saved["ram-pages"], "zero_pages": saved["zero-pages"],
        "restore_s": restore_s, "restore_inner_s": inner,
    }


def restores_only(emu, args):
    """--keep FILE: saves once into FILE (kept, with its last count beside it) unless it is there, then only restores."""
    counted = args.keep + ".count"
    if not (os.path.exists(args.keep) and os.path.exists(counted)):
        with tempfile.TemporaryDirectory(prefix="emu-snapbench") as work:
            saved, save_s, last = save(emu, args, work, args.keep)
        with open(counted, "w") as f:
            f.write(str(last))
        print(f"saved {args.keep}: {saved['bytes'] / 2**20:.1f} MiB in {save_s:.2f} s", flush=True)
    last = int(open(counted).read())
    outer, inner = [], []
    for i in range(args.runs):
        o, n = restore(emu, args, args.keep, last)
        outer.append(o)
        inner.append(n)
        print(f"run {i + 1}: restore to running guest {o:.2f} s (restore work inside emu {n} s)", flush=True)
    print(f"median of {args.runs}: restore {statistics.median(outer):.2f} s, inside emu {statistics.median(inner):.3f} s")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--memory", type=int, default=512, help="guest RAM in MiB")
    ap.add_argument("--fill-mib", type=int, default=0, help="MiB of random data the guest writes to its tmpfs before the snapshot")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--accel", default="jit")
    ap.add_argument("--keep", metavar="FILE", help="save once into FILE (or reuse it) and time only the restores")
    ap.add_argument("--emu", help="the emu command (default: ./emu's build, made first if it is missing or stale)")
    args = ap.parse_args()
    if not os.path.exists(os.path.join(CACHE, "vmlinuz")):
        sys.exit(f"no guest images in {CACHE}: run scripts/guest-images.sh")
    if args.emu is None:
        # Build once up front, so that no (re)build lands inside a timed restore.
        subprocess.run([os.path.join(ROOT, "emu"), "--version"], check=True, stdout=subprocess.DEVNULL)
        args.emu = f"dotnet {os.path.join(ROOT, '.build', 'emu', 'emu.dll')}"
    emu = args.emu.split()
    if args.keep:
        restores_only(emu, args)
        return
    results = []
    with tempfile.TemporaryDirectory(prefix="emu-snapbench") as work:
        for i in range(args.runs):
            r = one_run(emu, args, work)
            results.append(r)
            print(f"run {i + 1}: save {r['save_s']:.2f} s (guest paused {r['paused_ms'] / 1000:.2f} s), file {r['bytes'] / 2**20:.1f} MiB "
                  f"({r['pages'] - r['zero_pages']} of {r['pages']} pages stored), restore to running guest {r['restore_s']:.2f} s "
                  f"(restore work inside emu {r['restore_inner_s']} s)", flush=True)
    med = lambda k: statistics.median(r[k] for r in results)
    print(f"median of {len(results)}: save {med('save_s'):.2f} s, file {med('bytes') / 2**20:.1f} MiB, restore {med('restore_s'):.2f} s "
          f"({args.memory} MiB guest, {args.fill_mib} MiB filled, --accel {args.accel})")


if __name__ == "__main__":
    main()
