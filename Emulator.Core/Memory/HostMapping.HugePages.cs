using System.Diagnostics;

namespace Emulator.Core.Memory;

/// <summary>Which host page size backs a mapping: transparent 2 MiB pages or 4 KiB ones.</summary>
public sealed unsafe partial class HostMapping
{
    private static readonly Lazy<bool> HugePagesCheaper = new(MeasureHugePages);

    /// <summary>
    /// True unless this host populates a 2 MiB transparent huge page clearly slower than the 512
    /// 4 KiB pages of the same range (measured once per process, on 4 MiB of scratch memory, in a few
    /// milliseconds). Hosts differ by an order of magnitude either way: in a Firecracker guest a fresh
    /// 4 KiB page cost microseconds and 88 MiB took 0.3 s in small pages against under 0.01 s in huge
    /// ones; on a paravirtual nested host (PVM) a huge page took 2.4 ms to populate and 128 MiB 0.3-0.4 s
    /// against 0.04 s in small pages. On bare metal both are cheap and huge pages are kept.
    /// </summary>
    public static bool HugePagesPopulateFaster => HugePagesCheaper.Value;

    /// <summary>
    /// Whether the host should back this mapping with transparent huge pages (MADV_HUGEPAGE) or with
    /// 4 KiB pages only (MADV_NOHUGEPAGE), from now on: pages already there stay as they are. Only
    /// advice; nothing happens off Linux or for mappings smaller than a huge page.
    /// </summary>
    public void AdviseHugePages(bool huge)
    {
        if (OperatingSystem.IsLinux() && IsMmap && Size >= HugePageSize)
        {
            _ = Madvise((nint)Pointer, (nuint)Size, huge ? MadvHugePage : MadvNoHugePage);
        }
    }

    // Populates one huge page and 512 small ones (MADV_POPULATE_WRITE, Linux 5.14) and times each.
    // Where that is not possible the answer is the old default, huge pages.
    private static bool MeasureHugePages()
    {
        if (!OperatingSystem.IsLinux())
        {
            return true;
        }

        const ulong Span = 2 * HugePageSize;
        nint raw = Mmap(0, (nuint)(Span + HugePageSize), ProtRead | ProtWrite, MapPrivate | MapAnonymous | MapNoReserve, -1, 0);
        if (raw == -1 || raw == 0)
        {
            return true;
        }

        try
        {
            nint huge = (nint)(((ulong)raw + HugePageSize - 1) & ~(HugePageSize - 1)), small = huge + (nint)HugePageSize;
            if (Madvise(huge, (nuint)HugePageSize, MadvHugePage) != 0 || Madvise(small, (nuint)HugePageSize, MadvNoHugePage) != 0)
            {
                return true;
            }

            long start = Stopwatch.GetTimestamp();
            if (Madvise(huge, (nuint)HugePageSize, MadvPopulateWrite) != 0)
            {
                return true;
            }

            long hugeTicks = Stopwatch.GetTimestamp() - start;
            start = Stopwatch.GetTimestamp();
            if (Madvise(small, (nuint)HugePageSize, MadvPopulateWrite) != 0)
            {
                return true;
            }

            long smallTicks = Stopwatch.GetTimestamp() - start;
            // Small pages only when clearly cheaper: where both cost about the same, huge pages
            // still spare the host's TLB.
            return hugeTicks <= 2 * smallTicks;
        }
        finally
        {
            _ = Munmap(raw, (nuint)(Span + HugePageSize));
        }
    }
}
