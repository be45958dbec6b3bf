using Emulator.Devices.Timers;

namespace Emulator.Machines.Pc;

/// <summary>
/// The CMOS RAM fields PC firmware reads to size the machine, as the IBM PC/AT BIOS defined them and
/// later firmware (SeaBIOS among them) extended them: equipment, base and extended memory, memory
/// above 16 MiB and above 4 GiB in 64 KiB units, the CPU count, and the AT checksum over 0x10-0x2D.
/// </summary>
public static class PcCmos
{
    /// <summary>Field offsets.</summary>
    public const int FloppyTypes = 0x10, DiskTypes = 0x12, Equipment = 0x14, BaseMemoryLow = 0x15, BaseMemoryHigh = 0x16,
        ExtendedMemoryLow = 0x17, ExtendedMemoryHigh = 0x18, ChecksumHigh = 0x2E, ChecksumLow = 0x2F,
        ExtendedMemoryLow2 = 0x30, ExtendedMemoryHigh2 = 0x31, MemoryAbove16MLow = 0x34, MemoryAbove16MHigh = 0x35,
        MemoryAbove4G = 0x5B, CpuCountMinusOne = 0x5F;

    /// <summary>Equipment byte bit 1: a math coprocessor is installed.</summary>
    public const byte EquipmentCoprocessor = 0x02;

    private const ulong KiB = 1024, MiB = 1024 * KiB, Unit64K = 64 * KiB;
    private const int ChecksumFirst = 0x10, ChecksumLast = 0x2D;

    /// <summary>Writes the fields for a machine with <paramref name="memoryBytes"/> of RAM laid out by <see cref="PcMemoryMap"/> and <paramref name="cpus"/> CPUs.</summary>
    public static void Initialize(Mc146818 rtc, ulong memoryBytes, int cpus)
    {
        ulong below4G = Math.Min(memoryBytes, PcMemoryMap.PciHoleStart);
        ulong above4G = memoryBytes - below4G;

        rtc.WriteRam(FloppyTypes, 0);
        rtc.WriteRam(DiskTypes, 0);
        rtc.WriteRam(Equipment, EquipmentCoprocessor);
        WriteWord(rtc, BaseMemoryLow, (ushort)(Math.Min(memoryBytes, PcMemoryMap.ConventionalEnd) / KiB));

        ushort extendedKiB = (ushort)Math.Min((below4G - PcMemoryMap.ExtendedStart) / KiB, ushort.MaxValue);
        WriteWord(rtc, ExtendedMemoryLow, extendedKiB);
        WriteWord(rtc, ExtendedMemoryLow2, extendedKiB);

        ulong above16M = below4G > 16 * MiB ? (below4G - (16 * MiB)) / Unit64K : 0;
        WriteWord(rtc, MemoryAbove16MLow, (ushort)Math.Min(above16M, ushort.MaxValue));

        ulong high = above4G / Unit64K;
        rtc.WriteRam(MemoryAbove4G, (byte)high);
        rtc.WriteRam(MemoryAbove4G + 1, (byte)(high >> 8));
        rtc.WriteRam(MemoryAbove4G + 2, (byte)(high >> 16));
        rtc.WriteRam(CpuCountMinusOne, (byte)(cpus - 1));

        int sum = 0;
        for (int i = ChecksumFirst; i <= ChecksumLast; i++)
        {
            sum += rtc.ReadRam(i);
        }

        rtc.WriteRam(ChecksumHigh, (byte)(sum >> 8));
        rtc.WriteRam(ChecksumLow, (byte)sum);
    }

    private static void WriteWord(Mc146818 rtc, int offset, ushort value)
    {
        rtc.WriteRam(offset, (byte)value);
        rtc.WriteRam(offset + 1, (byte)(value >> 8));
    }
}
