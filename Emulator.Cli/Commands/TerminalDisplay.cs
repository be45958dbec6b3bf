using Emulator.Backends.Display;
using Emulator.Machines.Pc;

namespace Emulator.Cli.Commands;

/// <summary>--display: none, or curses (the VGA text screen and the keyboard on this terminal).</summary>
internal static class TerminalDisplay
{
    /// <summary>
    /// Checks --display against the machine and the other users of the terminal; true for curses.
    /// Like QEMU, which gives the terminal to one user, the serial console and debug consoles may
    /// not also be on stdio.
    /// </summary>
    public static bool Parse(RunOptions o, bool haveVga)
    {
        bool curses = o.Display switch
        {
            null or "none" => false,
            "curses" => true,
            _ => throw new UsageException($"--display {o.Display}: expected curses or none"),
        };
        if (!curses)
        {
            return false;
        }

        if (!haveVga)
        {
            throw new UsageException("--display curses: the machine has no display (--vga none)");
        }

        if (o.Serial == "stdio")
        {
            throw new UsageException("--serial stdio: the terminal is the screen under --display curses (use file:PATH, unix:PATH or null)");
        }

        if (o.DebugCon.FirstOrDefault(spec => spec.Split(',')[0] == "stdio") is { } debugcon)
        {
            throw new UsageException($"--debugcon {debugcon}: the terminal is the screen under --display curses (use file:PATH)");
        }

        return true;
    }

    /// <summary>Takes over the terminal for <paramref name="machine"/>'s screen and keyboard.</summary>
    public static CursesDisplay Start(PcMachine machine)
    {
        var display = new CursesDisplay(machine.TextScreen!, machine.Keyboard, () => machine.Quit("host-ui"));
        display.Start();
        return display;
    }
}
