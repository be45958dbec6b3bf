#!/usr/bin/env python3
"""Boots the syslinux disk of scripts/boot-images.sh through SeaBIOS under emu's software CPU and,
when installed, under qemu-system-x86_64 -accel tcg (apt-get install qemu-system-x86), with the same
image, memory and disk interface, and prints side by side the time from starting the emulator to:

  - the SYSLINUX banner on the serial console (firmware and boot sector done),
  - the guest's /init ("emu-guest: init reached"),
  - the busybox shell prompt,

and the ratio emu / qemu of the last. With --runs N the emulators take turns and the medians
are printed.

  scripts/firmware-bench.py [--bus ide|virtio] [--memory 512] [--emu CMD] [--qemu PATH] [--runs N]

Not a test: the figures depend on the host and its load.
"""
import argparse
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARKS = [("SYSLINUX", b"SYSLINUX 6."), ("/init", b"emu-guest: init reached"), ("shell", b"/ # ")]


def boot(argv, log_path, timeout):
    """Starts argv and returns the seconds from start to each mark (None for those not reached)."""
    times = {}
    with open(log_path, "wb") as log:
        start = time.monotonic()
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        out = b""
        pending = list(MARKS)
        try:
            while pending and time.monotonic() - start < timeout and proc.poll() is None:
                for _ in sel.select(0.2):
                    chunk = os.read(proc.stdout.fileno(), 65536)
                    out += chunk
                    log.write(chunk)
                while pending and pending[0][1] in out:
                    name, mark = pending.pop(0)
                    times[name] = time.monotonic() - start
                    out = out[out.index(mark) + len(mark):]
        finally:
            try:
                proc.stdin.write(b"poweroff -f\n")
                proc.stdin.flush()
                proc.wait(30)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()
    return [times.get(name) for name, _ in MARKS]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bus", choices=["ide", "virtio"], default="ide")
    p.add_argument("--memory", type=int, default=512, help="guest RAM in MiB")
    p.add_argument("--emu", default=os.path.join(ROOT, "emu"), help="the emu command")
    p.add_argument("--qemu", default=shutil.which("qemu-system-x86_64"), help="qemu-system-x86_64, if installed")
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--timeout", type=int, default=1200, help="seconds per boot")
    a = p.parse_args()

    work = tempfile.mkdtemp(prefix="emu-fwbench-")
    try:
        subprocess.run(["bash", os.path.join(ROOT, "scripts", "boot-images.sh"), work], check=True, stdout=subprocess.DEVNULL)
        disk = os.path.join(work, "disk.img")
        emulators = [("emu (jit)", [a.emu, "run", "--accel", "jit", "-m", f"{a.memory}M", "--drive", f"file={disk},if={a.bus},readonly=on"])]
        if a.qemu:
            emulators.append(("qemu tcg", [a.qemu, "-accel", "tcg", "-m", str(a.memory), "-nographic", "-no-reboot",
                                           "-drive", f"file={disk},format=raw,if={a.bus},snapshot=on"]))
        else:
            print("qemu-system-x86_64 is not installed (apt-get install qemu-system-x86): emu only", file=sys.stderr)

        print(f"boot of the syslinux disk on {a.bus}, {a.memory} MiB, seconds from start (logs in {work})")
        print(f"{'emulator':<12} {'run':>3} " + " ".join(f"{name:>9}" for name, _ in MARKS))
        times = {label: [] for label, _ in emulators}
        # The emulators take turns, so that a change in the host's load falls on both.
        for run in range(a.runs):
            for label, argv in emulators:
                t = boot(argv, os.path.join(work, f"{label.split()[0]}-{run}.log"), a.timeout)
                print(f"{label:<12} {run + 1:>3} " + " ".join(f"{x:9.1f}" if x is not None else f"{'-':>9}" for x in t), flush=True)
                times[label].append(t)
        medians = {}
        for label, runs in times.items():
            columns = [sorted(r[i] for r in runs if r[i] is not None) for i in range(len(MARKS))]
            m = [c[len(c) // 2] if c else None for c in columns]
            print(f"{label:<12} {'med':>3} " + " ".join(f"{x:9.1f}" if x is not None else f"{'-':>9}" for x in m))
            if m[-1] is not None and len(columns[-1]) == a.runs:
                medians[label] = m[-1]
        if len(medians) == 2:
            e, q = medians["emu (jit)"], medians["qemu tcg"]
            print(f"to the shell, median of {a.runs}: emu {e:.1f} s, qemu {q:.1f} s, emu/qemu = {e / q:.2f}")
    finally:
        if os.environ.get("EMU_BENCH_KEEP") is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
