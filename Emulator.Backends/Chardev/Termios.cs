using System.Runtime.InteropServices;

namespace Emulator.Backends.Chardev;

/// <summary>
/// The terminal settings of a file descriptor (termios(3)), and the switch to the raw mode a serial
/// console needs: bytes reach the guest one at a time, unechoed and uninterpreted.
/// </summary>
internal static partial class Termios
{
    // Flag values from Linux asm-generic/termbits.h.
    private const uint Ignbrk = 0x1, Brkint = 0x2, Parmrk = 0x8, Istrip = 0x20, Inlcr = 0x40, Igncr = 0x80, Icrnl = 0x100, Ixon = 0x400;
    private const uint Csize = 0x30, Cs8 = 0x30, Parenb = 0x100;
    private const uint Isig = 0x1, Icanon = 0x2, Echo = 0x8, Echonl = 0x40, Iexten = 0x8000;
    private const int Vtime = 5, Vmin = 6;
    private const int Tcsanow = 0;

    /// <summary>glibc's struct termios on Linux x86-64 (bits/termios-struct.h): 60 bytes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct Settings
    {
        public uint InputModes;
        public uint OutputModes;
        public uint ControlModes;
        public uint LocalModes;
        public byte LineDiscipline;
        public fixed byte ControlCharacters[32];
        public uint InputSpeed;
        public uint OutputSpeed;
    }

    /// <summary>True when <paramref name="fd"/> is a terminal.</summary>
    public static bool IsTerminal(int fd) => OperatingSystem.IsLinux() && IsATty(fd) == 1;

    /// <summary>Reads the settings of <paramref name="fd"/>; false when it is not a terminal.</summary>
    public static bool TryGet(int fd, out Settings settings) => TcGetAttr(fd, out settings) == 0;

    /// <summary>Applies <paramref name="settings"/> to <paramref name="fd"/> at once.</summary>
    public static bool TrySet(int fd, in Settings settings) => TcSetAttr(fd, Tcsanow, in settings) == 0;

    /// <summary>
    /// Raw input like cfmakeraw(3), except that output post-processing stays on so that a guest
    /// printing bare LF still returns the host cursor to column 0 (ONLCR).
    /// </summary>
    public static unsafe Settings MakeRaw(Settings settings)
    {
        settings.InputModes &= ~(Ignbrk | Brkint | Parmrk | Istrip | Inlcr | Igncr | Icrnl | Ixon);
        settings.LocalModes &= ~(Echo | Echonl | Icanon | Isig | Iexten);
        settings.ControlModes = (settings.ControlModes & ~(Csize | Parenb)) | Cs8;
        settings.ControlCharacters[Vmin] = 1;
        settings.ControlCharacters[Vtime] = 0;
        return settings;
    }

    [LibraryImport("libc", EntryPoint = "isatty")]
    private static partial int IsATty(int fd);

    [LibraryImport("libc", EntryPoint = "tcgetattr", SetLastError = true)]
    private static partial int TcGetAttr(int fd, out Settings settings);

    [LibraryImport("libc", EntryPoint = "tcsetattr", SetLastError = true)]
    private static partial int TcSetAttr(int fd, int optionalActions, in Settings settings);
}
