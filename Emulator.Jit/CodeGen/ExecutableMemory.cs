using System.Runtime.InteropServices;

namespace Emulator.Jit.CodeGen;

/// <summary>
/// One region of host memory that is readable, writable and executable, handed out by a bump
/// pointer: the code cache of translated blocks. It is reset as a whole (when full), never freed
/// piece by piece, so a block that was dropped can still be running until its vCPU next returns to
/// the dispatcher.
/// </summary>
internal sealed unsafe partial class ExecutableMemory : IDisposable
{
    private const int ProtRead = 1, ProtWrite = 2, ProtExec = 4;
    private const int MapPrivate = 2, MapAnonymous = 0x20, MapAnonymousDarwin = 0x1000;
    private const uint MemCommit = 0x1000, MemReserve = 0x2000, MemRelease = 0x8000, PageExecuteReadWrite = 0x40;

    private byte* _base;
    private long _used;

    public ExecutableMemory(long capacity)
    {
        Capacity = capacity;
        if (OperatingSystem.IsWindows())
        {
            _base = (byte*)VirtualAlloc(0, (nuint)capacity, MemReserve | MemCommit, PageExecuteReadWrite);
        }
        else
        {
            int anonymous = OperatingSystem.IsMacOS() ? MapAnonymousDarwin : MapAnonymous;
            nint p = Mmap(0, (nuint)capacity, ProtRead | ProtWrite | ProtExec, MapPrivate | anonymous, -1, 0);
            _base = p == -1 ? null : (byte*)p;
            if (_base != null && OperatingSystem.IsLinux())
            {
                AdviseHugePages(p, capacity);
            }
        }

        if (_base == null)
        {
            throw new InvalidOperationException($"cannot map {capacity >> 20} MiB of executable memory for the translator");
        }
    }

    ~ExecutableMemory() => Release();

    // Transparent huge pages for the whole 2 MiB pages inside the region (only advice; nothing
    // changes where THP is off). Code is written into fresh memory all the time while a guest
    // boots: 16 MB per boot to Linux's /init, which took some 4,000 page faults of 4 KiB, each
    // several microseconds where the host is itself a virtual machine.
    private static void AdviseHugePages(nint start, long length)
    {
        const long huge = 2 << 20;
        const int madvHugePage = 14;
        long first = (start + huge - 1) & ~(huge - 1);
        long last = (start + length) & ~(huge - 1);
        if (last > first)
        {
            _ = Madvise((nint)first, (nuint)(last - first), madvHugePage);
        }
    }

    public long Capacity { get; }

    public long Used => _used;

    public byte* Base => _base;

    /// <summary>Where the next allocation will start.</summary>
    public ulong Next => (ulong)(_base + _used);

    /// <summary>Copies <paramref name="code"/> in at <see cref="Next"/> (it was assembled for that address); false when it does not fit.</summary>
    public bool TryAppend(ReadOnlySpan<byte> code, out nint address)
    {
        address = 0;
        if (_used + code.Length > Capacity)
        {
            return false;
        }

        address = (nint)(_base + _used);
        code.CopyTo(new Span<byte>(_base + _used, code.Length));
        _used += code.Length;
        return true;
    }

    /// <summary>Aligns <see cref="Next"/> to 16 bytes (code is assembled for that address).</summary>
    public void Align() => _used = (_used + 15) & ~15L;

    /// <summary>Forgets every allocation after the first <paramref name="keep"/> bytes (the stubs).</summary>
    public void Reset(long keep) => _used = keep;

    public void Dispose()
    {
        Release();
        GC.SuppressFinalize(this);
    }

    private void Release()
    {
        if (_base == null)
        {
            return;
        }

        if (OperatingSystem.IsWindows())
        {
            VirtualFree((nint)_base, 0, MemRelease);
        }
        else
        {
            _ = Munmap((nint)_base, (nuint)Capacity);
        }

        _base = null;
    }

    [LibraryImport("libc", EntryPoint = "mmap")]
    private static partial nint Mmap(nint addr, nuint length, int prot, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint addr, nuint length, int advice);

    [LibraryImport("libc", EntryPoint = "munmap")]
    private static partial int Munmap(nint addr, nuint length);

    [LibraryImport("kernel32", EntryPoint = "VirtualAlloc")]
    private static partial nint VirtualAlloc(nint address, nuint size, uint type, uint protect);

    [LibraryImport("kernel32", EntryPoint = "VirtualFree")]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool VirtualFree(nint address, nuint size, uint type);
}
