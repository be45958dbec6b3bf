#!/usr/bin/env python3
"""User-mode networking speed, emu beside QEMU with the same guest (scripts/guest-images.sh):

  - guest -> host TCP: the guest pipes N MiB of zeros into busybox nc to a listener this script
    runs on the host's 127.0.0.1 (the guest's 10.0.2.2);
  - host -> guest TCP: this script sends N MiB through a hostfwd port to the guest's nc -l;
  - HTTP requests per second: this script fetches a 1 KiB file from the guest's busybox httpd
    through a hostfwd port, one connection per request, for a fixed time.

Each phase also records the emulator process's CPU time (user + system, all threads, from
/proc/PID/stat) per MiB or per request, which depends much less on other load on the host.

emu runs `--accel jit --nic user,...`, QEMU `-accel tcg -nic user,model=virtio-net-pci,...`; both
boot the kernel directly with the same memory and command line. Throughput is measured on the host
side, from the connection's first byte to its end.

  scripts/net-bench.py [--mib 64] [--http-seconds 10] [--runs 3] [--emu CMD] [--qemu PATH] [--mtu N]

With --runs N each emulator boots N times, alternating, and the table shows the medians.

Not a test: the figures depend on the host and its load. All traffic stays on 127.0.0.1.
"""
import argparse
import importlib.util
import os
import statistics
import shutil
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location("linux_bench", os.path.join(ROOT, "scripts", "linux-bench.py"))
linux_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(linux_bench)
Guest, PROMPT = linux_bench.Guest, linux_bench.PROMPT


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def command(g, line, marker, timeout=1800):
    """Types line; the marker is computed in the guest so the echo of the typed line cannot match."""
    g.type(f"{line}; echo {marker}-$((6*7))")
    g.wait_for(f"{marker}-42".encode(), timeout)
    g.wait_for(PROMPT, 60)


def guest_to_host(g, mib):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    result = {}

    def receive():
        conn, _ = listener.accept()
        total, first = 0, None
        while True:
            chunk = conn.recv(1 << 20)
            if not chunk:
                break
            if first is None:
                first = time.monotonic()
            total += len(chunk)
        result["seconds"] = time.monotonic() - first
        result["bytes"] = total
        conn.close()

    t = threading.Thread(target=receive)
    t.start()
    command(g, f"dd if=/dev/zero bs=1M count={mib} 2>/dev/null | nc 10.0.2.2 {port}", "g2h")
    t.join(600)
    listener.close()
    return result["bytes"] / result["seconds"] / 2**20 if result.get("bytes") == mib << 20 else None


def host_to_guest(g, port, mib):
    g.type("nc -l -p 5000 </dev/null >/dev/null & sleep 1; echo h2g-ready-$((6*7))")
    g.wait_for(b"h2g-ready-42", 120)
    g.wait_for(PROMPT, 60)
    block = b"\0" * (1 << 20)
    with socket.create_connection(("127.0.0.1", port)) as s:
        start = time.monotonic()
        for _ in range(mib):
            s.sendall(block)
        s.shutdown(socket.SHUT_WR)
        s.recv(1)  # the guest's nc closes after reading everything
        seconds = time.monotonic() - start
    command(g, "wait", "h2g-done")
    return mib / seconds


def http_rate(g, port, seconds):
    command(g, "mkdir -p /tmp/www && head -c 1024 /dev/zero > /tmp/www/s && httpd -p 80 -h /tmp/www", "httpd-up")
    request = b"GET /s HTTP/1.0\r\nHost: guest\r\n\r\n"
    done, deadline = 0, time.monotonic() + seconds
    start = time.monotonic()
    while time.monotonic() < deadline:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(request)
            reply = b""
            while chunk := s.recv(65536):
                reply += chunk
        if reply.startswith(b"HTTP/1.") and b" 200 " in reply.split(b"\r\n", 1)[0]:
            done += 1
    return done / (time.monotonic() - start)


def cpu_seconds(pid):
    """User plus system CPU time of a process and all its threads so far (proc(5), /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(name, argv, a, fwd_port, http_port, log_path):
    """One boot: the three measurements, and the emulator's CPU time for each (per MiB, per request)."""
    with open(log_path, "wb") as log:
        g = Guest(argv, log)
        try:
            g.wait_for(linux_bench.INIT_MARK, 3600)
            g.wait_for(PROMPT, 600)
            command(g, "udhcpc -i eth0 -n -q -t 10 >/dev/null 2>&1; ifconfig eth0 | grep -c 10.0.2.15", "dhcp", 600)
            r = {"name": name}
            cpu = cpu_seconds(g.proc.pid)
            r["g2h"] = guest_to_host(g, a.mib)
            cpu, r["g2h cpu"] = cpu_seconds(g.proc.pid), (cpu_seconds(g.proc.pid) - cpu) / a.mib
            r["h2g"] = host_to_guest(g, fwd_port, a.mib)
            cpu, r["h2g cpu"] = cpu_seconds(g.proc.pid), (cpu_seconds(g.proc.pid) - cpu) / a.mib
            start = time.monotonic()
            r["http"] = http_rate(g, http_port, a.http_seconds)
            requests = r["http"] * (time.monotonic() - start)
            r["http cpu"] = (cpu_seconds(g.proc.pid) - cpu) / requests * 1000 if requests else None
            return r
        finally:
            g.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", default=os.environ.get("EMU_GUEST_CACHE", os.path.expanduser("~/.cache/emu/guest")))
    ap.add_argument("--memory", default="512", help="guest RAM in MiB (both emulators)")
    ap.add_argument("--mib", type=int, default=64, help="MiB sent in each direction")
    ap.add_argument("--http-seconds", type=float, default=10)
    ap.add_argument("--mtu", type=int, default=None, help="emu only: the card's and libslirp's MTU, 68-65520 (QEMU's user networking is fixed at 1500)")
    ap.add_argument("--emu", default=os.path.join(ROOT, "emu"), help="the emu command (default: the repository's ./emu)")
    ap.add_argument("--qemu", default=shutil.which("qemu-system-x86_64"))
    ap.add_argument("--only", choices=["emu", "qemu"], default=None)
    ap.add_argument("--runs", type=int, default=1, help="boots per emulator, alternating; the table shows medians")
    a = ap.parse_args()

    kernel, initrd = os.path.join(a.cache, "vmlinuz"), os.path.join(a.cache, "initramfs.gz")
    if not (os.path.exists(kernel) and os.path.exists(initrd)):
        sys.exit(f"net-bench: no guest images in {a.cache}; run scripts/guest-images.sh first")

    append = "console=ttyS0"
    fwd_port, http_port = free_port(), free_port()
    fwds = f"hostfwd=tcp:127.0.0.1:{fwd_port}-:5000,hostfwd=tcp:127.0.0.1:{http_port}-:80"
    mtu = f",mtu={a.mtu}" if a.mtu else ""
    machines = []
    if a.only != "qemu":
        subprocess.run([a.emu, "--version"], check=True, stdout=subprocess.DEVNULL)
        machines.append(("emu jit", [a.emu, "run", "--accel", "jit", "-m", f"{a.memory}M", "--no-reboot", "--kernel", kernel,
                                     "--initrd", initrd, "--append", append, "--nic", f"user,{fwds}{mtu}"]))
    if a.qemu and a.only != "emu":
        machines.append(("qemu tcg", [a.qemu, "-accel", "tcg", "-m", a.memory, "-no-reboot", "-display", "none",
                                      "-monitor", "none", "-serial", "stdio", "-kernel", kernel, "-initrd", initrd,
                                      "-append", append, "-nic", f"user,model=virtio-net-pci,{fwds}"]))
    elif a.only != "emu":
        print("net-bench: qemu-system-x86_64 not found (apt-get install qemu-system-x86); emu only", file=sys.stderr)

    print(f"{a.mib} MiB each way, HTTP for {a.http_seconds:.0f} s, emu mtu {a.mtu or 1500}, QEMU 1500, "
          f"{a.runs} run(s) each (logs in /tmp/net-bench-*.log)", flush=True)
    keys = ("g2h", "h2g", "http", "g2h cpu", "h2g cpu", "http cpu")
    samples = {name: {k: [] for k in keys} for name, _ in machines}
    for i in range(a.runs):
        for name, argv in machines:
            r = run(name, argv, a, fwd_port, http_port, f"/tmp/net-bench-{name.split()[0]}.log")
            if a.runs > 1:
                print(f"  run {i + 1} {name}: " + "  ".join(f"{k} {r[k] if r[k] is None else round(r[k], 3)}" for k in keys), flush=True)
            for k in keys:
                samples[name][k].append(r[k])
    # A failed measurement makes the median "failed": it is not silently left out.
    results = [{"name": name, **{k: None if None in v else statistics.median(v) for k, v in samples[name].items()}}
               for name, _ in machines]
    fmt = lambda v, w=10, p=2: "failed" if v is None else f"{v:{w}.{p}f}"
    print(f"{'':10} {'guest->host MiB/s':>18} {'host->guest MiB/s':>18} {'HTTP req/s':>11}"
          f" | {'CPU s/MiB g->h':>14} {'CPU s/MiB h->g':>14} {'CPU ms/req':>10}")
    for r in results:
        print(f"{r['name']:10} {fmt(r['g2h']):>18} {fmt(r['h2g']):>18} {fmt(r['http']):>11}"
              f" | {fmt(r['g2h cpu'], 14, 3)} {fmt(r['h2g cpu'], 14, 3)} {fmt(r['http cpu'], 10)}")
    if len(results) == 2 and all(results[0][k] and results[1][k] for k in keys):
        e, q = results
        print(f"{'emu/qemu':10} {e['g2h'] / q['g2h']:18.2f} {e['h2g'] / q['h2g']:18.2f} {e['http'] / q['http']:11.2f}"
              f" | {e['g2h cpu'] / q['g2h cpu']:14.2f} {e['h2g cpu'] / q['h2g cpu']:14.2f} {e['http cpu'] / q['http cpu']:10.2f}")
    print("Throughput: higher is better. CPU: the emulator process's CPU time (all threads) per MiB or per request,"
          " lower is better; it depends less on the host's load than throughput does.")

if __name__ == "__main__":
    main()
