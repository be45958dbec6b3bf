using System.Runtime.InteropServices;

namespace Emulator.Tests.Cpu.Differential;

/// <summary>
/// Anonymous host pages for the native side of the differential harness: an executable page for
/// the stub that runs the instruction under test, and data pages below 2 GiB (MAP_32BIT) so that
/// memory operands with a 32-bit address size (67h prefix) can reach them too. Data pages are
/// shared (MAP_SHARED), so a forked child that runs a possibly faulting case writes its results
/// where the parent sees them.
/// </summary>
internal sealed unsafe partial class HostPages : IDisposable
{
    private const int ProtRead = 1, ProtWrite = 2, ProtExec = 4;
    private const int MapShared = 0x01, MapPrivate = 0x02, MapAnonymous = 0x20, Map32Bit = 0x40;

    private HostPages(byte* pointer, int size)
    {
        Pointer = pointer;
        Size = size;
    }

    public byte* Pointer { get; private set; }

    public int Size { get; }

    public ulong Address => (ulong)Pointer;

    public Span<byte> Span => new(Pointer, Size);

    /// <summary>
    /// Read-write-execute pages below 2 GiB: the stub is patched with each case's instruction and
    /// then called; being near the data buffer, RIP-relative operands (disp32) can reach it.
    /// </summary>
    public static HostPages Executable(int size) => Map(size, ProtRead | ProtWrite | ProtExec, MapPrivate | MapAnonymous | Map32Bit);

    /// <summary>Shared read-write pages whose addresses fit in 31 bits.</summary>
    public static HostPages Low(int size) => Map(size, ProtRead | ProtWrite, MapShared | MapAnonymous | Map32Bit);

    public void Dispose()
    {
        if (Pointer != null)
        {
            _ = Munmap((nint)Pointer, (nuint)Size);
            Pointer = null;
        }
    }

    private static HostPages Map(int size, int prot, int flags)
    {
        nint p = Mmap(0, (nuint)size, prot, flags, -1, 0);
        if (p == -1 || p == 0)
        {
            throw new InvalidOperationException($"mmap of {size} bytes (prot {prot}, flags {flags:x}) failed, errno {Marshal.GetLastPInvokeError()}");
        }

        return new HostPages((byte*)p, size);
    }

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial nint Mmap(nint addr, nuint length, int prot, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static partial int Munmap(nint addr, nuint length);
}
