using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Emulator.Core.Memory;

/// <summary>
/// Which pages of this process's private anonymous memory (guest RAM) the host has ever given a
/// frame, from Linux's /proc/self/pagemap (Documentation/admin-guide/mm/pagemap.rst: bit 63 "page
/// present", bit 62 "page swapped"). A page that is neither has never been written (or was dropped)
/// and reads as zeros, so a snapshot can skip it without reading it: reading it would fault the
/// kernel's zero page in, a fault per page, which costs tens of microseconds where a hypervisor traps
/// faults. Elsewhere, or when the file cannot be read, every page counts as possibly used.
/// </summary>
public sealed unsafe class PageResidency : IDisposable
{
    private const int PageSize = 4096;
    private const ulong Present = 1UL << 63, Swapped = 1UL << 62;
    private readonly SafeFileHandle? _pagemap;

    private PageResidency(SafeFileHandle? pagemap) => _pagemap = pagemap;

    /// <summary>Opens this process's page map (or nothing, where there is none).</summary>
    public static PageResidency Open()
    {
        if (!OperatingSystem.IsLinux())
        {
            return new PageResidency(null);
        }

        try
        {
            return new PageResidency(File.OpenHandle("/proc/self/pagemap", FileMode.Open, FileAccess.Read));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new PageResidency(null);
        }
    }

    /// <summary>
    /// A bit per page of the <paramref name="pages"/> (at most 64) pages from the page-aligned
    /// <paramref name="start"/>: set when the page may hold data, clear when it is certainly zero.
    /// Thread-safe.
    /// </summary>
    public ulong MaybeUsed(byte* start, int pages)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pages, 64);
        ulong all = pages == 64 ? ulong.MaxValue : (1UL << pages) - 1;
        if (_pagemap is null || ((nuint)start & (PageSize - 1)) != 0)
        {
            return all;
        }

        Span<ulong> entries = stackalloc ulong[pages];
        int read;
        try
        {
            read = RandomAccess.Read(_pagemap, MemoryMarshal.AsBytes(entries), (long)((nuint)start / PageSize) * sizeof(ulong));
        }
        catch (IOException)
        {
            return all;
        }

        if (read != pages * sizeof(ulong))
        {
            return all;
        }

        ulong used = 0;
        for (int i = 0; i < pages; i++)
        {
            if ((entries[i] & (Present | Swapped)) != 0)
            {
                used |= 1UL << i;
            }
        }

        return used;
    }

    /// <inheritdoc/>
    public void Dispose() => _pagemap?.Dispose();
}
