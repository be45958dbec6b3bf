using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Xunit;

namespace Emulator.Tests.EndToEnd.Terminal;

/// <summary>
/// `--display curses` on a pseudo-terminal, read through pyte (a VT100/xterm emulator) as a user's
/// terminal would show it. The oracles: QEMU's own <c>-display curses</c> driven through the same
/// keys on the same GRUB image (the same characters, colors and cursor, key for key), emu's VGA
/// text buffer saved at exit, and <c>stty -a</c> on the terminal after emu is gone.
/// </summary>
public sealed partial class CursesDisplayTests : IDisposable
{
    private const string Qemu = "/usr/bin/qemu-system-x86_64";
    private static readonly Dictionary<string, string> Utf8 = new() { ["LANG"] = "C.UTF-8", ["TERM"] = "xterm" };
    private readonly string _dir = Directory.CreateTempSubdirectory("emu-curses").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // GRUB's menu, its editor (e), a cursor key (as xterm sends it in the keypad mode ncurses sets for
    // QEMU, SS3 B) and Ctrl-E in it, a lone Esc back to the menu, its
    // command line (c) and a typed command with shifted characters: every screen dumped on the way.
    private static JsonNode[] GrubSession() =>
    [
        Wait("GNU GRUB", 240), Sleep(1), Dump("menu"),
        Send("e"), Wait("setparams", 30), Sleep(1), Dump("edit"),
        Send("\eOB"), Sleep(0.5), Send("\u0005"), Sleep(1), Dump("moved"),
        Send("\e"), Wait("Use the", 30), Sleep(1), Dump("back"),
        Send("c"), Wait("grub>", 30), Sleep(0.5), Send("echo Hello_World!\r"), Wait("^Hello_World!", 30), Sleep(1), Dump("command"),
    ];

    private static string[] GrubBoot => ["-m", "512M", "--cdrom", BootImages.GrubIso, "--boot", "d"];

    [SkippableFact]
    public void GrubDrivenByTerminalKeysLooksAsUnderQemusCursesDisplay()
    {
        Skip.If(BootImages.GrubMissing is not null, BootImages.GrubMissing);
        Skip.If(PtyScreen.Missing is not null, PtyScreen.Missing);
        Skip.If(!File.Exists(Qemu), $"{Qemu} is missing (apt-get install qemu-system-x86)");

        PtyScreen.Result emu = RunEmu([.. GrubSession(), Send("\u0001x"), Exit(30)], [.. GrubBoot, "--accel", "jit", "--display", "curses"]);
        PtyScreen.Result qemu = PtyScreen.Run(
            [.. GrubSession(), Send("\e2"), Sleep(1), Send("quit\r"), Exit(30)],
            Utf8,
            Qemu, "-accel", "tcg", "-m", "512M", "-cdrom", BootImages.GrubIso, "-boot", "d", "-display", "curses", "-serial", "null", "-monitor", "vc");
        Assert.True(qemu.Error is null, $"QEMU: {qemu.Error}\n{qemu.Stderr}");
        Assert.True(emu.Error is null, $"emu: {emu.Error}\n{emu.Stderr}");
        Assert.Equal(0, emu.Status);

        foreach (string screen in (string[])["menu", "edit", "moved", "back", "command"])
        {
            PtyScreen.Dump e = emu.Dumps[screen], q = qemu.Dumps[screen];
            Assert.True(q.Lines.SequenceEqual(e.Lines), $"{screen}: QEMU shows\n{string.Join('\n', q.Lines)}\nemu shows\n{string.Join('\n', e.Lines)}");
            AssertSameColors(screen, q, e);
            Assert.Equal(q.CursorHidden, e.CursorHidden);
            if (!q.CursorHidden)
            {
                Assert.Equal((screen, q.CursorX, q.CursorY), (screen, e.CursorX, e.CursorY));
            }
        }

        // The keys did what they should, not merely the same on both sides.
        Assert.Contains(emu.Dumps["edit"].Lines, l => l.Contains("setparams 'emu test Linux'", StringComparison.Ordinal));
        Assert.Contains(emu.Dumps["command"].Lines, l => l.TrimEnd() == "Hello_World!");
        Assert.NotEqual((emu.Dumps["edit"].CursorX, emu.Dumps["edit"].CursorY), (emu.Dumps["moved"].CursorX, emu.Dumps["moved"].CursorY));
    }

    [SkippableFact]
    public void ScreenIsTheVgaTextBufferAndTheTerminalIsRestoredAfterCtrlAX()
    {
        Skip.If(BootImages.GrubMissing is not null, BootImages.GrubMissing);
        Skip.If(PtyScreen.Missing is not null, PtyScreen.Missing);
        string text = Path.Combine(_dir, "screen.txt");

        PtyScreen.Result emu = RunEmu(
            [Wait("GNU GRUB", 240), Sleep(1), Dump("menu"), Send("\u0001x"), Exit(30), Dump("after"), Stty("after")],
            [.. GrubBoot, "--accel", "jit", "--display", "curses", "--screendump-on-exit", text]);

        Assert.True(emu.Error is null, $"{emu.Error}\n{emu.Stderr}");
        Assert.Equal(0, emu.Status);
        string[] buffer = File.ReadAllLines(text);
        Assert.Equal(25, buffer.Length);
        Assert.Equal(buffer, emu.Dumps["after"].Lines.Select(l => l.TrimEnd()));
        AssertRestored(emu);
    }

    // GRUB's videotest switches the VGA to a VBE graphics mode until a key is pressed: one line says
    // so at the top of the terminal, and the text screen comes back with the text mode.
    [SkippableFact]
    public void AGraphicsModeIsOneLineAndTextComesBack()
    {
        Skip.If(BootImages.GrubMissing is not null, BootImages.GrubMissing);
        Skip.If(PtyScreen.Missing is not null, PtyScreen.Missing);

        PtyScreen.Result emu = RunEmu(
            [
                Wait("GNU GRUB", 240), Sleep(1), Send("c"), Wait("grub>", 30), Sleep(0.5),
                Send("insmod vbe\r"), Sleep(1), Send("videotest\r"), Wait("graphics mode", 60), Sleep(1), Dump("graphics"),
                Send("\r"), Wait("^grub> *$", 60), Sleep(1), Dump("text"), Send("\u0001x"), Exit(30),
            ],
            [.. GrubBoot, "--accel", "jit", "--display", "curses"]);

        Assert.True(emu.Error is null, $"{emu.Error}\n{emu.Stderr}");
        string[] shown = [.. emu.Dumps["graphics"].Lines.Select(l => l.TrimEnd())];
        Assert.Contains("graphics mode", shown[0], StringComparison.Ordinal);
        Assert.All(shown.Skip(1), l => Assert.Empty(l));
        Assert.True(emu.Dumps["graphics"].CursorHidden);
        Assert.Contains(emu.Dumps["text"].Lines, l => l.TrimEnd() == "grub>");
        Assert.False(emu.Dumps["text"].CursorHidden);
    }

    [SkippableTheory]
    [InlineData("sigint")]
    [InlineData("poweroff")]
    public void TheTerminalIsRestoredWhenEmuEndsOtherwise(string how)
    {
        Skip.If(BootImages.GrubMissing is not null, BootImages.GrubMissing);
        Skip.If(PtyScreen.Missing is not null, PtyScreen.Missing);
        JsonNode[] end = how == "sigint"
            ? [Signal("INT")]
            // GRUB's `halt` powers off through ACPI as under QEMU: it finds the FADT through the RSDP's
            // RsdtAddress, takes SLP_TYP from the DSDT's \_S5 and writes SLP_EN to PM1a_CNT.
            : [Send("c"), Wait("grub>", 30), Sleep(0.5), Send("halt\r")];

        PtyScreen.Result emu = RunEmu(
            [Wait("GNU GRUB", 240), Sleep(1), .. end, Exit(60), Dump("after"), Stty("after")],
            [.. GrubBoot, "--accel", "jit", "--display", "curses"]);

        Assert.True(emu.Error is null, $"{emu.Error}\n{emu.Stderr}");
        Assert.Equal(0, emu.Status);
        AssertRestored(emu);
    }

    private static PtyScreen.Result RunEmu(JsonNode[] steps, string[] args)
        => PtyScreen.Run([.. steps], Utf8, ["dotnet", Path.Combine(AppContext.BaseDirectory, "emu.dll"), "run", .. args]);

    // Raw mode is off (the line discipline echoes and edits lines again) and the cursor is shown.
    private static void AssertRestored(PtyScreen.Result r)
    {
        string stty = r.Stty["after"];
        Assert.Matches(Flag("icanon"), stty);
        Assert.Matches(Flag("echo"), stty);
        Assert.Matches(Flag("isig"), stty);
        Assert.False(r.Dumps["after"].CursorHidden, "the cursor is still hidden");
    }

    private static Regex Flag(string name) => new($@"(^|\s){name}(\s|$)", RegexOptions.Multiline);

    // Both draw the attribute's colors with the 8 ANSI colors and their bright variants. QEMU's curses
    // leaves blank cells of light grey on black in the terminal's default colors (which are those on
    // a VGA): "default" is read as white (ANSI's name for light grey) on black, and the foreground of a
    // blank is not compared.
    private static void AssertSameColors(string screen, PtyScreen.Dump q, PtyScreen.Dump e)
    {
        for (int y = 0; y < q.Lines.Length; y++)
        {
            for (int x = 0; x < q.Lines[y].Length; x++)
            {
                string qb = Normal(q.Background[y][x], "black"), eb = Normal(e.Background[y][x], "black");
                Assert.True(qb == eb, $"{screen}: background at row {y} column {x}: QEMU {qb}, emu {eb}");
                if (q.Lines[y][x] != ' ')
                {
                    string qf = Normal(q.Foreground[y][x], "white"), ef = Normal(e.Foreground[y][x], "white");
                    Assert.True(qf == ef, $"{screen}: foreground at row {y} column {x} ('{q.Lines[y][x]}'): QEMU {qf}, emu {ef}");
                }
            }
        }
    }

    private static string Normal(string color, string fallback) => color == "default" ? fallback : color;

    private static JsonObject Wait(string regex, double seconds) => new() { ["wait"] = regex, ["timeout"] = seconds };

    private static JsonObject Sleep(double seconds) => new() { ["sleep"] = seconds };

    private static JsonObject Send(string text) => new() { ["send"] = text };

    private static JsonObject Dump(string name) => new() { ["dump"] = name };

    private static JsonObject Exit(double seconds) => new() { ["exit"] = seconds };

    private static JsonObject Stty(string name) => new() { ["stty"] = name };

    private static JsonObject Signal(string name) => new() { ["signal"] = name };
}
