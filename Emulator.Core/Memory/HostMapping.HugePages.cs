namespace Emulator.Core.Memory;

/// <summary>Which host page size backs a mapping: transparent 2 MiB pages or 4 KiB ones.</summary>
public sealed unsafe partial class HostMapping
{
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
}
