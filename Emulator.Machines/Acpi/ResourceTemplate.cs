using System.Buffers.Binary;

namespace Emulator.Machines.Acpi;

/// <summary>
/// Resource descriptors for a <c>_CRS</c> buffer (ACPI 6.5 6.4, "Resource Data Types for ACPI"):
/// the host bridge's bus range, the configuration ports it consumes, and the I/O and memory windows
/// it forwards to PCI.
/// </summary>
public static class ResourceTemplate
{
    // Address space descriptors, general flags (6.4.3.5.1-3): _MAF and _MIF set, positive decode.
    private const byte MinMaxFixed = 0x0c;
    private const byte MemoryType = 0, IoType = 1, BusNumberType = 2;

    /// <summary>Word Address Space Descriptor for bus numbers (6.4.3.5.3), as WordBusNumber(ResourceProducer, MinFixed, MaxFixed, PosDecode, ...).</summary>
    public static byte[] WordBusNumber(ushort min, ushort max) => Word(BusNumberType, 0, min, max);

    /// <summary>Word Address Space Descriptor for I/O (6.4.3.5.3), _RNG = entire range (both ISA and non-ISA ports).</summary>
    public static byte[] WordIo(ushort min, ushort max) => Word(IoType, 0x03, min, max);

    /// <summary>DWord Address Space Descriptor for memory (6.4.3.5.2), read-write, cacheable.</summary>
    public static byte[] DWordMemory(uint min, uint max)
    {
        byte[] d = new byte[3 + 23];
        d[0] = 0x87;
        BinaryPrimitives.WriteUInt16LittleEndian(d.AsSpan(1), 23);
        d[3] = MemoryType;
        d[4] = MinMaxFixed;
        d[5] = 0x03; // _RW read-write, _MEM cacheable
        BinaryPrimitives.WriteUInt32LittleEndian(d.AsSpan(10), min);
        BinaryPrimitives.WriteUInt32LittleEndian(d.AsSpan(14), max);
        BinaryPrimitives.WriteUInt32LittleEndian(d.AsSpan(22), max - min + 1);
        return d;
    }

    /// <summary>I/O Port Descriptor (6.4.2.5), 16-bit decode, fixed at <paramref name="port"/>.</summary>
    public static byte[] Io(ushort port, byte length) =>
        [0x47, 0x01, (byte)port, (byte)(port >> 8), (byte)port, (byte)(port >> 8), 0x01, length];

    /// <summary>IRQ Descriptor (6.4.2.1), the 2-byte form: edge-triggered, active-high, exclusive (an ISA IRQ).</summary>
    public static byte[] Irq(int irq) =>
        irq is < 0 or > 15 ? throw new ArgumentOutOfRangeException(nameof(irq)) : [0x22, (byte)(1 << irq), (byte)((1 << irq) >> 8)];

    /// <summary>Joins descriptors and appends the End Tag (6.4.2.9); checksum 0 means "treat as correct".</summary>
    public static byte[] Build(params byte[][] descriptors) => [.. descriptors.SelectMany(d => d), 0x79, 0x00];

    private static byte[] Word(byte type, byte typeFlags, ushort min, ushort max)
    {
        byte[] d = new byte[3 + 13];
        d[0] = 0x88;
        BinaryPrimitives.WriteUInt16LittleEndian(d.AsSpan(1), 13);
        d[3] = type;
        d[4] = MinMaxFixed;
        d[5] = typeFlags;
        BinaryPrimitives.WriteUInt16LittleEndian(d.AsSpan(8), min);
        BinaryPrimitives.WriteUInt16LittleEndian(d.AsSpan(10), max);
        BinaryPrimitives.WriteUInt16LittleEndian(d.AsSpan(14), (ushort)(max - min + 1));
        return d;
    }
}
