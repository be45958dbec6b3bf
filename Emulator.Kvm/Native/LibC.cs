using System.Runtime.InteropServices;

namespace Emulator.Kvm.Native;

/// <summary>The few C library calls the KVM backend needs; errors come back through <see cref="Marshal.GetLastPInvokeError"/>.</summary>
internal static partial class LibC
{
    /// <summary>open(2) flag: read and write.</summary>
    public const int O_RDWR = 0x2;

    /// <summary>open(2) flag: close on exec, so a child process does not inherit the KVM handle.</summary>
    public const int O_CLOEXEC = 0x80000;

    /// <summary>errno: operation not permitted.</summary>
    public const int EPERM = 1;

    /// <summary>errno: no such file or directory.</summary>
    public const int ENOENT = 2;

    /// <summary>errno: interrupted system call.</summary>
    public const int EINTR = 4;

    /// <summary>errno: argument list too long (KVM: the buffer given is too small).</summary>
    public const int E2BIG = 7;

    /// <summary>errno: try again.</summary>
    public const int EAGAIN = 11;

    /// <summary>errno: permission denied.</summary>
    public const int EACCES = 13;

    /// <summary>Invalid argument (a state or setting the kernel refuses).</summary>
    public const int EINVAL = 22;

    /// <summary>mmap(2) protection: readable.</summary>
    public const int PROT_READ = 1;

    /// <summary>mmap(2) protection: writable.</summary>
    public const int PROT_WRITE = 2;

    /// <summary>mmap(2) protection: executable.</summary>
    public const int PROT_EXEC = 4;

    /// <summary>mmap(2) flag: changes are shared with the file (the kvm_run page is shared with the kernel).</summary>
    public const int MAP_SHARED = 0x01;

    /// <summary>mmap(2) flag: private copy-on-write mapping.</summary>
    public const int MAP_PRIVATE = 0x02;

    /// <summary>mmap(2) flag: no file behind the mapping.</summary>
    public const int MAP_ANONYMOUS = 0x20;

    /// <summary>sigaction(2) flag: restart interruptible system calls after the handler returns.</summary>
    public const int SA_RESTART = 0x1000_0000;

    /// <summary>pthread_sigmask(3) operation: unblock the signals of the set.</summary>
    public const int SIG_UNBLOCK = 1;

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

    /// <summary>mmap(2); returns -1 (MAP_FAILED) on error.</summary>
    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    public static partial nint Mmap(nint address, nuint length, int protection, int flags, int fd, nint offset);

    /// <summary>munmap(2).</summary>
    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    public static partial int Munmap(nint address, nuint length);

    /// <summary>mprotect(2).</summary>
    [LibraryImport("libc", EntryPoint = "mprotect", SetLastError = true)]
    public static partial int Mprotect(nint address, nuint length, int protection);

    /// <summary>pthread_self(3): the calling thread's handle.</summary>
    [LibraryImport("libc", EntryPoint = "pthread_self")]
    public static partial nuint PthreadSelf();

    /// <summary>pthread_kill(3): sends a signal to one thread of this process; returns an errno value, not -1.</summary>
    [LibraryImport("libc", EntryPoint = "pthread_kill")]
    public static partial int PthreadKill(nuint thread, int signal);

    /// <summary>sigaction(2) over glibc's <c>struct sigaction</c> (<see cref="SigAction"/>).</summary>
    [LibraryImport("libc", EntryPoint = "sigaction", SetLastError = true)]
    public static unsafe partial int Sigaction(int signal, SigAction* action, SigAction* previous);

    /// <summary>pthread_sigmask(3) over a glibc <c>sigset_t</c> (128 bytes); returns an errno value, not -1.</summary>
    [LibraryImport("libc", EntryPoint = "pthread_sigmask")]
    public static unsafe partial int PthreadSigmask(int how, ulong* set, ulong* previous);

    /// <summary>SIGRTMIN as glibc computes it at run time (it reserves the first real-time signals for itself).</summary>
    [LibraryImport("libc", EntryPoint = "__libc_current_sigrtmin")]
    public static partial int CurrentSigRtMin();
}

/// <summary>glibc's x86-64 <c>struct sigaction</c>: handler, a 1024-bit mask, flags, restorer (152 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct SigAction
{
    /// <summary>sa_handler: SIG_DFL (0), SIG_IGN (1) or a function of one int.</summary>
    public nint Handler;
    /// <summary>sa_mask: signals blocked while the handler runs.</summary>
    public fixed ulong Mask[16];
    /// <summary>sa_flags.</summary>
    public int Flags;
    private readonly int _padding;
    /// <summary>sa_restorer: filled in by glibc's sigaction wrapper.</summary>
    public nint Restorer;
}
