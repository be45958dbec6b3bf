namespace Emulator.Core.Devices;

/// <summary>Access widths a bus device accepts, as flags.</summary>
[Flags]
public enum AccessSizes
{
    /// <summary>No access.</summary>
    None = 0,
    /// <summary>8-bit.</summary>
    Byte = 1,
    /// <summary>16-bit.</summary>
    Word = 2,
    /// <summary>32-bit.</summary>
    Dword = 4,
    /// <summary>64-bit.</summary>
    Qword = 8,
    /// <summary>Every width.</summary>
    All = Byte | Word | Dword | Qword,
}

/// <summary>
/// A device reached through the port I/O bus or an MMIO region. It sees only offsets within its own
/// range and little-endian data; it never sees CPU state.
/// </summary>
public interface IBusDevice : IDevice
{
    /// <summary>The widths this device handles; the bus splits other accesses into these.</summary>
    AccessSizes SupportedSizes { get; }

    /// <summary>Reads <c>data.Length</c> bytes at <paramref name="offset"/> from the start of the device's range.</summary>
    void Read(ulong offset, Span<byte> data);

    /// <summary>Writes <c>data.Length</c> bytes at <paramref name="offset"/> from the start of the device's range.</summary>
    void Write(ulong offset, ReadOnlySpan<byte> data);
}
