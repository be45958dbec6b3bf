namespace Emulator.Machines.Smbios;

/// <summary>
/// What the user set for the SMBIOS tables (QEMU's <c>-smbios type=0,...</c> and <c>type=1,...</c>):
/// the BIOS Information strings and release, and the System Information strings and UUID. A null
/// field takes the machine's default; the BIOS Information structure is built by emu only when one of
/// its fields is set (or when emu plays the firmware), since otherwise the firmware describes itself.
/// </summary>
public sealed record SmbiosSettings
{
    /// <summary>Type 0 Vendor.</summary>
    public string? BiosVendor { get; init; }

    /// <summary>Type 0 BIOS Version.</summary>
    public string? BiosVersion { get; init; }

    /// <summary>Type 0 BIOS Release Date (mm/dd/yyyy).</summary>
    public string? BiosDate { get; init; }

    /// <summary>Type 0 System BIOS Major and Minor Release.</summary>
    public (byte Major, byte Minor)? BiosRelease { get; init; }

    /// <summary>Type 1 Manufacturer.</summary>
    public string? Manufacturer { get; init; }

    /// <summary>Type 1 Product Name.</summary>
    public string? Product { get; init; }

    /// <summary>Type 1 Version.</summary>
    public string? Version { get; init; }

    /// <summary>Type 1 Serial Number.</summary>
    public string? Serial { get; init; }

    /// <summary>Type 1 UUID.</summary>
    public Guid? Uuid { get; init; }

    /// <summary>Type 1 SKU Number.</summary>
    public string? Sku { get; init; }

    /// <summary>Type 1 Family.</summary>
    public string? Family { get; init; }

    /// <summary>Whether any BIOS Information field was set.</summary>
    public bool HasBiosFields => BiosVendor is not null || BiosVersion is not null || BiosDate is not null || BiosRelease is not null;
}
