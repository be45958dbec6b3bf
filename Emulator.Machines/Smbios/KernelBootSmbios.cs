using Emulator.Core.Memory;
using Emulator.Machines.Pc;

namespace Emulator.Machines.Smbios;

/// <summary>
/// The machine's SMBIOS tables placed in guest memory by emu itself (direct kernel boot), where an
/// OS without EFI looks for them: the 2.1 entry point on a 16-byte boundary of F0000-FFFFF (DSP0134
/// 5.2.1; Linux's dmi_scan.c scans that range for "_SM3_", then "_SM_" followed by "_DMI_"), and the
/// structure table in the E820 map's reserved SMBIOS range. The same <see cref="SmbiosTables"/> goes
/// through fw_cfg under firmware, which places them itself.
/// </summary>
public sealed class KernelBootSmbios
{
    /// <summary>
    /// Where the entry point goes: a paragraph of the F segment that the built-in ROM (what the
    /// window holds with --kernel, which refuses --bios) leaves as padding: its code ends below
    /// F0360, its reset vector is at FFFF0.
    /// </summary>
    public const ulong EntryPointAddress = 0xf_ff00;

    /// <summary>
    /// The BIOS Information emu gives when the user set none of its fields: emu plays the firmware's
    /// part, and describes itself as SeaBIOS does when it adds its own type 0.
    /// </summary>
    public const string BiosVendor = "emu", BiosVersion = "kernel-boot", BiosDate = "12/06/2026";

    private KernelBootSmbios(SmbiosTables tables, ulong tableAddress)
    {
        Tables = tables;
        TableAddress = tableAddress;
    }

    /// <summary>The structure table and its entry point.</summary>
    public SmbiosTables Tables { get; }

    /// <summary>Where the structure table goes.</summary>
    public ulong TableAddress { get; }

    /// <summary>Lays out the tables of <paramref name="config"/>'s machine, whose memory map is <paramref name="map"/>.</summary>
    public static KernelBootSmbios Build(E820Map map, PcConfig config)
    {
        if (map.SmbiosTableAddress == 0)
        {
            throw new MachineConfigException("--memory: the machine is too small to hold SMBIOS tables above 1 MiB; give more memory");
        }

        SmbiosSettings settings = config.Smbios.HasBiosFields
            ? config.Smbios
            : config.Smbios with { BiosVendor = BiosVendor, BiosVersion = BiosVersion, BiosDate = BiosDate };
        var tables = SmbiosTables.Build(settings, config.Cpus, config.MemoryBytes);
        if ((ulong)tables.Table.Length > E820Map.SmbiosTableSize)
        {
            throw new InvalidOperationException("the SMBIOS table outgrew its E820 range");
        }

        return new KernelBootSmbios(tables, map.SmbiosTableAddress);
    }

    /// <summary>Writes the structure table and the entry point that points to it into guest memory.</summary>
    public void Write(AddressSpace memory)
    {
        memory.Write(new GuestPhysicalAddress(TableAddress), Tables.Table);
        memory.Write(new GuestPhysicalAddress(EntryPointAddress), Tables.EntryPoint((uint)TableAddress));
    }
}
