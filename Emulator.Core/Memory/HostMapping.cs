using System.Runtime.InteropServices;

namespace Emulator.Core.Memory;

/// <summary>
/// Page-aligned anonymous host memory obtained from mmap. Guest RAM and ROM live here so that
/// KVM can map the very same pages (KVM_SET_USER_MEMORY_REGION) and the software CPU can reach
/// them through plain host pointers.
/// </summary>
public sealed unsafe partial class HostMapping : IDisposable
{
    /// <summary>Host page size assumed for alignment (x86-64 Linux).</summary>
    public const ulong PageSize = 4096;

    private const int ProtRead = 1, ProtWrite = 2;
    private const int MapPrivate = 0x02, MapAnonymous = 0x20, MapNoReserve = 0x4000;
    private const int MadvHugePage = 14, MadvNoHugePage = 15, MadvPopulateRead = 22, MadvPopulateWrite = 23;

    /// <summary>The size of an x86-64 huge page (2 MiB): mappings of at least this size are aligned to it.</summary>
    public const ulong HugePageSize = 2UL << 20;

    private byte* _pointer;

    /// <summary>Maps <paramref name="size"/> bytes (rounded up to a page) of zeroed memory.</summary>
    /// <exception cref="InsufficientMemoryException">The host refused the mapping.</exception>
    public HostMapping(ulong size)
    {
        if (size == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(size), "a mapping needs at least one byte");
        }

        Size = (size + PageSize - 1) & ~(PageSize - 1);
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD())
        {
            // MAP_NORESERVE: a 2 GiB guest costs host memory only for the pages it touches.
            int flags = MapPrivate | MapAnonymous | (OperatingSystem.IsLinux() ? MapNoReserve : 0);
            if (OperatingSystem.IsMacOS())
            {
                flags = 0x0002 | 0x1000; // MAP_PRIVATE | MAP_ANON on Darwin
            }

            // Mappings of a huge page or more start on a huge-page boundary (a larger mapping,
            // trimmed), so that the host can back them with transparent huge pages (below).
            ulong slack = OperatingSystem.IsLinux() && Size >= HugePageSize ? HugePageSize : 0;
            nint p = Mmap(0, (nuint)(Size + slack), ProtRead | ProtWrite, flags, -1, 0);
            if (p == -1 || p == 0)
            {
                throw new InsufficientMemoryException($"the host refused to map {Size} bytes of guest memory (mmap errno {Marshal.GetLastPInvokeError()})");
            }

            if (slack != 0)
            {
                ulong head = (HugePageSize - ((ulong)p & (HugePageSize - 1))) & (HugePageSize - 1);
                if (head != 0)
                {
                    _ = Munmap(p, (nuint)head);
                }

                if (slack - head != 0)
                {
                    _ = Munmap(p + (nint)head + (nint)Size, (nuint)(slack - head));
                }

                p += (nint)head;
                // Transparent huge pages for guest RAM, as QEMU asks for its RAM blocks: a page fault
                // (or a MADV_POPULATE_WRITE) then brings in 2 MiB at a time. Where the host is itself
                // a virtual machine, the first write to each 4 KiB host page costs several
                // microseconds; measured here (a Firecracker guest), writing 88 MiB of fresh
                // memory took 0.3 s with 4 KiB pages and under 0.01 s with huge pages populated
                // first. Only advice: with THP "never" nothing changes.
                _ = Madvise(p, (nuint)Size, MadvHugePage);
            }

            _pointer = (byte*)p;
            IsMmap = true;
        }
        else
        {
            _pointer = (byte*)NativeMemory.AlignedAlloc((nuint)Size, (nuint)PageSize);
            NativeMemory.Clear(_pointer, (nuint)Size);
        }
    }

    /// <summary>Size in bytes, a multiple of <see cref="PageSize"/>.</summary>
    public ulong Size { get; }

    /// <summary>True when the pages came from mmap (and so can be handed to KVM).</summary>
    public bool IsMmap { get; }

    /// <summary>The first byte of the mapping.</summary>
    public byte* Pointer => _pointer != null ? _pointer : throw new ObjectDisposedException(nameof(HostMapping));

    /// <summary>The whole mapping as a span (sizes above 2 GiB must use <see cref="Pointer"/>).</summary>
    public Span<byte> AsSpan(ulong offset, int length)
    {
        if (offset > Size || (ulong)length > Size - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"[{offset:x}, +{length:x}) lies outside a mapping of {Size:x} bytes");
        }

        return new Span<byte>(Pointer + offset, length);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_pointer == null)
        {
            return;
        }

        if (IsMmap)
        {
            _ = Munmap((nint)_pointer, (nuint)Size);
        }
        else
        {
            NativeMemory.AlignedFree(_pointer);
        }

        _pointer = null;
    }

    [DllImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static extern nint Mmap(nint addr, nuint length, int prot, int flags, int fd, nint offset);

    /// <summary>
    /// Asks the host to allocate the pages of [<paramref name="start"/>, +<paramref name="length"/>)
    /// for writing in one call (Linux 5.14's MADV_POPULATE_WRITE), before they are written: a page
    /// fault per page costs tens of microseconds where faults are trapped by a hypervisor, and a
    /// snapshot restore writes tens of thousands of pages. Only advice: on other hosts, older
    /// kernels or an unaligned range nothing happens and the writes fault the pages in as usual.
    /// </summary>
    public static void Prefault(byte* start, ulong length)
    {
        if (OperatingSystem.IsLinux() && ((nuint)start & (nuint)(PageSize - 1)) == 0 && length > 0)
        {
            _ = Madvise((nint)start, (nuint)length, MadvPopulateWrite);
        }
    }

    /// <summary>
    /// Asks the host to map every page of the file mapping [<paramref name="start"/>, +<paramref name="length"/>)
    /// in one call (MADV_POPULATE_READ, Linux 5.14) rather than a fault per 4 KiB page as it is read:
    /// a snapshot file of tens of MiB is read whole right after it is mapped. Only advice, as <see cref="Prefault"/>.
    /// </summary>
    public static void PrefaultRead(byte* start, ulong length)
    {
        if (OperatingSystem.IsLinux() && ((nuint)start & (nuint)(PageSize - 1)) == 0 && length > 0)
        {
            _ = Madvise((nint)start, (nuint)length, MadvPopulateRead);
        }
    }

    [DllImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static extern int Madvise(nint addr, nuint length, int advice);

    [DllImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static extern int Munmap(nint addr, nuint length);
}
