using System.Buffers.Binary;

namespace Emulator.Machines.Acpi;

/// <summary>
/// The Multiple APIC Description Table (ACPI 6.5 5.2.12, Table 5.19): one Processor Local APIC per
/// CPU (APIC IDs 0..N-1), one I/O APIC at FEC00000 with GSI base 0, the ISA interrupt source
/// overrides of a PC (IRQ 0 to GSI 2; IRQ 9, the SCI, level-triggered active-high), and LINT1 as NMI.
/// </summary>
public static class Madt
{
    /// <summary>The local APIC's physical address.</summary>
    public const uint LocalApicAddress = 0xfee0_0000;

    /// <summary>The I/O APIC's physical address.</summary>
    public const uint IoApicAddress = 0xfec0_0000;

    /// <summary>Flags: PCAT_COMPAT, the system also has dual 8259s (Table 5.20).</summary>
    public const uint PcatCompat = 1;

    /// <summary>Structure types (Table 5.21).</summary>
    public const byte LocalApicType = 0, IoApicType = 1, InterruptSourceOverrideType = 2, LocalApicNmiType = 4;

    /// <summary>MPS INTI flags (Table 5.26): polarity bits 0-1, trigger mode bits 2-3.</summary>
    public const ushort ActiveHigh = 0b01, Level = 0b11 << 2;

    /// <summary>Builds the table for <paramref name="cpus"/> processors.</summary>
    public static byte[] Build(int cpus)
    {
        var t = new List<byte>(new byte[SdtHeader.Size + 8]);
        BinaryPrimitives.WriteUInt32LittleEndian(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(t)[36..], LocalApicAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(t)[40..], PcatCompat);
        for (int i = 0; i < cpus; i++)
        {
            // Processor Local APIC (Table 5.22): type, length 8, ACPI processor UID, APIC ID, flags (Enabled).
            t.AddRange([LocalApicType, 8, (byte)i, (byte)i, 1, 0, 0, 0]);
        }

        // I/O APIC (Table 5.24): type, length 12, I/O APIC ID (after the CPUs'), reserved, address, GSI base.
        t.AddRange([IoApicType, 12, (byte)cpus, 0]);
        AddUInt32(t, IoApicAddress);
        AddUInt32(t, 0);

        AddOverride(t, 0, 2, 0); // the PIT's IRQ 0 is the I/O APIC's pin 2
        AddOverride(t, 9, 9, ActiveHigh | Level); // the SCI (ACPI 6.5 5.2.9: SCI_INT, sharable level)

        // Local APIC NMI (Table 5.30): all processors (UID 0xFF), flags conforming, LINT1.
        t.AddRange([LocalApicNmiType, 6, 0xff, 0, 0, 1]);

        byte[] table = [.. t];
        SdtHeader.Finish(table, "APIC", 5);
        return table;
    }

    // Interrupt Source Override (Table 5.25): type, length 10, bus 0 (ISA), source IRQ, GSI, flags.
    private static void AddOverride(List<byte> t, byte irq, uint gsi, ushort flags)
    {
        t.AddRange([InterruptSourceOverrideType, 10, 0, irq]);
        AddUInt32(t, gsi);
        t.Add((byte)flags);
        t.Add((byte)(flags >> 8));
    }

    private static void AddUInt32(List<byte> t, uint v)
    {
        t.Add((byte)v);
        t.Add((byte)(v >> 8));
        t.Add((byte)(v >> 16));
        t.Add((byte)(v >> 24));
    }
}
