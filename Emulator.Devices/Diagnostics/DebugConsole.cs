using Emulator.Core.Devices;

namespace Emulator.Devices.Diagnostics;

/// <summary>
/// The Bochs/QEMU debug console port: every byte the guest writes goes to a host stream at once,
/// with no UART to program, which makes it the simplest way for firmware to print.
/// </summary>
public sealed class DebugConsole : IBusDevice
{
    /// <summary>The conventional Bochs port.</summary>
    public const ushort DefaultPort = 0xe9;

    /// <summary>
    /// The value every read returns. Bochs convention: the port reads back 0xE9 whatever port it
    /// sits at, which is how a guest tells a debug console from an empty bus reading 0xFF.
    /// </summary>
    public const byte ReadbackValue = 0xe9;

    private const int StateVersion = 1;

    private readonly Stream _sink;

    /// <summary>Creates the device writing to <paramref name="sink"/>; <paramref name="port"/> only names it, the machine registers it on the bus.</summary>
    public DebugConsole(Stream sink, ushort port = DefaultPort)
    {
        _sink = sink;
        Name = $"debugcon@0x{port:x}";
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>Accepts byte accesses; the bus splits a wider OUT into its bytes, low byte first.</summary>
    public AccessSizes SupportedSizes => AccessSizes.Byte;

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data) => data.Fill(ReadbackValue);

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        _sink.Write(data);
        _sink.Flush();
    }

    /// <inheritdoc/>
    public void Reset()
    {
    }

    /// <inheritdoc/>
    public DeviceState Save() => new(Name, StateVersion, []);

    /// <inheritdoc/>
    public void Restore(DeviceState state)
    {
        if (state.Version != StateVersion)
        {
            throw new InvalidDataException($"{Name}: unknown state version {state.Version}");
        }
    }
}
