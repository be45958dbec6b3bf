using Emulator.Core.Devices;

namespace Emulator.Tests.Core;

/// <summary>A bus device that records every access and answers reads with offset-derived bytes.</summary>
internal sealed class RecordingDevice(string name, AccessSizes sizes = AccessSizes.All) : IBusDevice
{
    public List<(bool IsWrite, ulong Offset, byte[] Data)> Accesses { get; } = [];

    public string Name => name;

    public AccessSizes SupportedSizes => sizes;

    /// <summary>Byte i of a read at offset o returns (o + i) ^ 0xA0.</summary>
    public static byte PatternAt(ulong offset) => (byte)(offset ^ 0xa0);

    public void Read(ulong offset, Span<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = PatternAt(offset + (ulong)i);
        }

        Accesses.Add((false, offset, data.ToArray()));
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data) => Accesses.Add((true, offset, data.ToArray()));

    public void Reset() => Accesses.Clear();

    public DeviceState Save() => new(Name, 1, []);

    public void Restore(DeviceState state)
    {
    }
}
