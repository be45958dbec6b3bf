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


class BlinkScreen(pyte.Screen):
    """pyte's screen, also keeping SGR 5 (blink) and 25 (steady), which this pyte drops: the
    cells drawn while blink is on are remembered."""

    def __init__(self, columns, rows):
        super().__init__(columns, rows)
        self.blinking = False
        self.blink = set()

    def select_graphic_rendition(self, *attrs, **kwargs):
        attrs_left = list(attrs or (0,))
        while attrs_left:
            a = attrs_left.pop(0)
            if a in (38, 48) and attrs_left:  # 38;5;N or 38;2;R;G;B: colors, not blink
                del attrs_left[:2 if attrs_left[0] == 5 else 4]
            elif a in (0, 25):
                self.blinking = False
            elif a == 5:
                self.blinking = True
        super().select_graphic_rendition(*attrs, **kwargs)

    def draw(self, data):
        for ch in data:
            cell = (self.cursor.y, self.cursor.x)
            super().draw(ch)
            (self.blink.add if self.blinking else self.blink.discard)(cell)


screen = BlinkScreen(columns, rows)
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
        "bold": [[screen.buffer[y][x].bold for x in range(columns)] for y in range(rows)],
        "blink": [[(y, x) in screen.blink for x in range(columns)] for y in range(rows)],
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
