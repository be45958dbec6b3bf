#!/usr/bin/python3
"""Runs a program on a pseudo-terminal and shows its output through pyte, a VT100/xterm emulator.

    pty_screen.py STEPS.json COLUMNS ROWS -- PROGRAM ARGS...

STEPS.json is a list of steps, done in order:
    {"wait": REGEX, "timeout": S}   until the screen's text (rows joined by newlines) matches
    {"send": TEXT}                  write TEXT (UTF-8) to the terminal, as typed keys
    {"sleep": S}                    keep feeding output to the emulator for S seconds
    {"dump": NAME}                  record the screen: rows of text, colors, cursor
    {"exit": S}                     wait up to S seconds for the program to exit
    {"stty": NAME}                  record `stty -a` run on the terminal
    {"signal": NAME}                send the signal (INT, TERM) to the program
The result, as JSON on stdout: {"dumps": {...}, "stty": {...}, "status": N, "error": TEXT or null}.
"""
import fcntl, json, os, re, select, signal, struct, subprocess, sys, termios, time
import pyte

steps = json.load(open(sys.argv[1]))
columns, rows = int(sys.argv[2]), int(sys.argv[3])
program = sys.argv[sys.argv.index("--") + 1:]

master, slave = os.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
screen = pyte.Screen(columns, rows)
stream = pyte.ByteStream(screen)
errors = open(os.environ.get("PTY_SCREEN_STDERR", os.devnull), "wb")
child = subprocess.Popen(program, stdin=slave, stdout=slave, stderr=errors, start_new_session=True)
result = {"dumps": {}, "stty": {}, "status": None, "error": None}


def pump(seconds):
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return
        ready, _, _ = select.select([master], [], [], min(left, 0.05))
        if ready:
            try:
                stream.feed(os.read(master, 65536))
            except OSError:
                return


def text():
    return "\n".join(screen.display)


def dump():
    return {
        "lines": list(screen.display),
        "fg": [[screen.buffer[y][x].fg for x in range(columns)] for y in range(rows)],
        "bg": [[screen.buffer[y][x].bg for x in range(columns)] for y in range(rows)],
        "cursor": {"x": screen.cursor.x, "y": screen.cursor.y, "hidden": screen.cursor.hidden},
    }


try:
    for step in steps:
        if "wait" in step:
            deadline = time.monotonic() + step.get("timeout", 60)
            while not re.search(step["wait"], text(), re.M):
                if time.monotonic() > deadline or child.poll() is not None:
                    pump(0.2)
                    if re.search(step["wait"], text(), re.M):
                        break
                    raise RuntimeError("waited for /%s/; the screen shows:\n%s" % (step["wait"], text()))
                pump(0.1)
        elif "send" in step:
            os.write(master, step["send"].encode())
        elif "sleep" in step:
            pump(step["sleep"])
        elif "dump" in step:
            result["dumps"][step["dump"]] = dump()
        elif "exit" in step:
            deadline = time.monotonic() + step["exit"]
            while child.poll() is None and time.monotonic() < deadline:
                pump(0.1)
            if child.poll() is None:
                raise RuntimeError("the program did not exit within %s s" % step["exit"])
            pump(0.3)
            result["status"] = child.returncode
        elif "signal" in step:
            child.send_signal(getattr(signal, "SIG" + step["signal"]))
        elif "stty" in step:
            result["stty"][step["stty"]] = subprocess.run(["stty", "-a"], stdin=slave, capture_output=True, text=True).stdout
except Exception as e:  # reported to the test, which fails with it
    result["error"] = str(e)
finally:
    if child.poll() is None:
        child.kill()
        child.wait()
print(json.dumps(result))
