using System.Buffers.Binary;
using System.Text;
using Emulator.Machines.Acpi;
using Emulator.Machines.Pc;

namespace Emulator.Machines.Smbios;

/// <summary>
/// The machine's SMBIOS structure table and its SMBIOS 2.1 (32-bit) entry point, as firmware gets
/// them through fw_cfg ("etc/smbios/smbios-tables" and "etc/smbios/smbios-anchor", QEMU's names,
/// which SeaBIOS looks for): the BIOS (type 0, only when a field of it was set: otherwise the
/// firmware adds its own), the system (1), the chassis (3), one processor per vCPU (4), the memory
/// (16, 17, 19), the boot status (32) and the end of table (127). SeaBIOS copies the table, adds its
/// type 0 where there is none, and fixes the entry point's address, length, count and checksums.
/// For --kernel, <see cref="KernelBootSmbios"/> places the same table and entry point itself.
/// </summary>
public sealed class SmbiosTables
{
    /// <summary>The fw_cfg file names.</summary>
    public const string AnchorFile = "etc/smbios/smbios-anchor", TablesFile = "etc/smbios/smbios-tables";

    /// <summary>The system and chassis manufacturer and the product name when the user sets none.</summary>
    public const string DefaultManufacturer = "emu", DefaultProduct = "emu PC";

    /// <summary>The size of the 2.1 entry point (DSP0134 5.2.1, Table 1).</summary>
    public const int EntryPointLength = 0x1f;

    // The version the structures' layouts follow (the newest field any of them uses is from 2.8).
    private const byte MajorVersion = 2, MinorVersion = 8;

    private const byte EndOfTableType = 127;

    private SmbiosTables(byte[] table, int count, int largest)
    {
        Table = table;
        Count = count;
        Largest = largest;
    }

    /// <summary>The structure table.</summary>
    public byte[] Table { get; }

    /// <summary>The number of structures.</summary>
    public int Count { get; }

    /// <summary>The size of the largest structure.</summary>
    public int Largest { get; }

    /// <summary>Builds the table of a machine with <paramref name="cpus"/> vCPUs and <paramref name="memoryBytes"/> of RAM.</summary>
    public static SmbiosTables Build(SmbiosSettings settings, int cpus, ulong memoryBytes)
    {
        var structures = new List<SmbiosStructure>();
        if (settings.HasBiosFields)
        {
            structures.Add(BiosInformation.Build(settings));
        }

        structures.Add(SystemInformation.Build(settings, DefaultManufacturer, DefaultProduct));
        structures.Add(SystemEnclosure.Build(settings.Manufacturer ?? DefaultManufacturer));
        structures.Add(ProcessorInformation.Build(0, cpus, DefaultManufacturer));

        int devices = (int)((memoryBytes + MemoryDevice.MaxDeviceBytes - 1) / MemoryDevice.MaxDeviceBytes);
        structures.Add(PhysicalMemoryArray.Build(memoryBytes, devices));
        structures.AddRange(Enumerable.Range(0, devices).Select(i =>
            MemoryDevice.Build(i, Math.Min(MemoryDevice.MaxDeviceBytes, memoryBytes - ((ulong)i * MemoryDevice.MaxDeviceBytes)))));
        structures.AddRange(PcMemoryMap.RamRanges(memoryBytes).Select((r, i) => MemoryArrayMappedAddress.Build(i, r.Address, r.Length)));
        structures.Add(SystemBootInformation.Build());
        structures.Add(new SmbiosStructure(EndOfTableType, 4, SmbiosHandles.For(EndOfTableType, 0)));

        byte[][] bytes = [.. structures.Select(s => s.ToArray())];
        return new SmbiosTables([.. bytes.SelectMany(b => b)], bytes.Length, bytes.Max(b => b.Length));
    }

    /// <summary>The 2.1 entry point for the table placed at <paramref name="tableAddress"/> (DSP0134 5.2.1).</summary>
    public byte[] EntryPoint(uint tableAddress)
    {
        byte[] ep = new byte[EntryPointLength];
        Encoding.ASCII.GetBytes("_SM_").CopyTo(ep, 0);
        ep[0x05] = EntryPointLength;
        ep[0x06] = MajorVersion;
        ep[0x07] = MinorVersion;
        BinaryPrimitives.WriteUInt16LittleEndian(ep.AsSpan(0x08), (ushort)Largest);
        Encoding.ASCII.GetBytes("_DMI_").CopyTo(ep, 0x10);
        BinaryPrimitives.WriteUInt16LittleEndian(ep.AsSpan(0x16), (ushort)Table.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(ep.AsSpan(0x18), tableAddress);
        BinaryPrimitives.WriteUInt16LittleEndian(ep.AsSpan(0x1c), (ushort)Count);
        ep[0x1e] = (MajorVersion << 4) | MinorVersion; // BCD revision

        // The intermediate checksum covers 10h-1Eh; the entry point checksum covers all 1Fh bytes.
        ep[0x15] = SdtHeader.Checksum(ep.AsSpan(0x10));
        ep[0x04] = SdtHeader.Checksum(ep);
        return ep;
    }
}
