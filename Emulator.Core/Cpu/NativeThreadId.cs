using System.Runtime.InteropServices;

namespace Emulator.Core.Cpu;

/// <summary>The calling thread's host (Linux) thread id, as QMP's <c>thread-id</c> and tools like <c>top -H</c> show it.</summary>
internal static partial class NativeThreadId
{
    /// <summary>gettid(2), or 0 where the host has no such call.</summary>
    public static int Current()
    {
        if (!OperatingSystem.IsLinux())
        {
            return 0;
        }

        try
        {
            return GetTid();
        }
        catch (EntryPointNotFoundException)
        {
            return 0;
        }
    }

    // glibc 2.30+ exports gettid; it cannot fail (gettid(2)).
    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetTid();
}
