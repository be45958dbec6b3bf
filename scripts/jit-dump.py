#!/usr/bin/env python3
"""Reads the translations emu wrote with EMU_JIT_DUMP=FILE and disassembles one (objdump, binutils).

  scripts/jit-dump.py FILE HOSTADDR     the translation holding host address HOSTADDR (hex), e.g. from perf
  scripts/jit-dump.py FILE --guest RIP  the latest translation of guest RIP (hex)
  scripts/jit-dump.py FILE --stats      blocks, host bytes, and host bytes per guest instruction

For reading generated code while tuning the translator; not used by tests.
"""
import re
import subprocess
import sys
import tempfile


def records(path):
    rec = None
    for line in open(path):
        if line.startswith("block "):
            f = dict(kv.split("=") for kv in line.split()[1:])
            rec = {"host": int(f["host"], 16), "entry": int(f["entry"], 16), "len": int(f["len"]),
                   "guest": int(f["guest"], 16), "ops": []}
        elif line.startswith("  bytes "):
            rec["bytes"] = bytes.fromhex(line.split()[1])
            yield rec
        elif rec is not None:
            rec["ops"].append(line.rstrip())


def show(rec):
    print(f"guest {rec['guest']:x}: {len(rec['ops'])} instructions, {rec['len']} host bytes at {rec['host']:x} (entry {rec['entry']:x})")
    print("\n".join(rec["ops"]))
    with tempfile.NamedTemporaryFile(suffix=".bin") as f:
        f.write(rec["bytes"])
        f.flush()
        out = subprocess.run(["objdump", "-D", "-b", "binary", "-mi386:x86-64", "-M", "intel",
                              f"--adjust-vma={rec['host']:#x}", f.name], capture_output=True, text=True).stdout
    print(out.split("<.data>:", 1)[-1])


def main():
    path, what = sys.argv[1], sys.argv[2]
    if what == "--stats":
        n = size = ins = 0
        for r in records(path):
            n, size, ins = n + 1, size + r["len"], ins + len(r["ops"])
        print(f"{n} blocks, {ins} guest instructions, {size} host bytes, {size / max(ins, 1):.1f} bytes per guest instruction")
        return
    found = None
    for r in records(path):
        if what == "--guest":
            if r["guest"] == int(sys.argv[3], 16):
                found = r
        elif r["host"] <= int(what, 16) < r["host"] + r["len"]:
            found = r
    if found is None:
        sys.exit("no such translation")
    show(found)


if __name__ == "__main__":
    main()
