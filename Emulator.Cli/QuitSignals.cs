using System.Runtime.InteropServices;

namespace Emulator.Cli;

/// <summary>
/// SIGINT quits `emu run` however it was started, as it quits QEMU (which installs its handler
/// unconditionally). A non-interactive shell starts a background job (`emu run ... &amp;`) with SIGINT
/// and SIGQUIT ignored (POSIX, Shell Command Language 2.11 "Signals and Error Handling"), and
/// ignored signals stay ignored across exec; .NET then leaves an ignored SIGINT alone, so a
/// <see cref="PosixSignalRegistration"/> for it never runs and `kill -INT` did nothing. Putting the
/// default disposition back before the registration lets it take effect.
/// </summary>
internal static partial class QuitSignals
{
    private const int Sigint = 2;
    private static readonly nint SigDfl = 0, SigIgn = 1;

    /// <summary>Makes an inherited "ignore" of SIGINT the default again (before any registration for it).</summary>
    public static void Unignore()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS() && !OperatingSystem.IsFreeBSD())
        {
            return;
        }

        // Only the disposition is read (the handler is the first field of struct sigaction in glibc
        // and on BSDs; the buffer is larger than any of them), so a handler the runtime installed
        // already is never replaced.
        Span<byte> old = stackalloc byte[256];
        if (NativeSigaction(Sigint, null, old) == 0 && MemoryMarshal.Read<nint>(old) == SigIgn)
        {
            _ = NativeSignal(Sigint, SigDfl);
        }
    }

    [LibraryImport("libc", EntryPoint = "sigaction")]
    private static partial int NativeSigaction(int signum, byte[]? act, Span<byte> oldact);

    [LibraryImport("libc", EntryPoint = "signal")]
    private static partial nint NativeSignal(int signum, nint handler);
}
