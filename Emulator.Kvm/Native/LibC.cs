using System.Runtime.InteropServices;

namespace Emulator.Kvm.Native;

/// <summary>The few C library calls the KVM backend needs; errors come back through <see cref="Marshal.GetLastPInvokeError"/>.</summary>
internal static partial class LibC
{
    /// <summary>open(2) flag: read and write.</summary>
    public const int O_RDWR = 0x2;

    /// <summary>open(2) flag: close on exec, so a child process does not inherit the KVM handle.</summary>
    public const int O_CLOEXEC = 0x80000;

    /// <summary>errno: no such file or directory.</summary>
    public const int ENOENT = 2;

    /// <summary>errno: permission denied.</summary>
    public const int EACCES = 13;

    /// <summary>errno: operation not permitted.</summary>
    public const int EPERM = 1;

    /// <summary>open(2).</summary>
    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    /// <summary>close(2).</summary>
    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    /// <summary>ioctl(2) with an integer or pointer argument (or none).</summary>
    /// <remarks>
    /// ioctl is variadic in C; the x86-64 System V ABI passes a variadic integer argument in the
    /// same register as a fixed one, so this fixed signature is sound for integers and pointers.
    /// </remarks>
    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, nuint request, nint argument);
}
