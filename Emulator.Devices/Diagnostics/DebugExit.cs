using System.Buffers.Binary;
using Emulator.Core.Devices;
using Emulator.Core.Machine;

namespace Emulator.Devices.Diagnostics;

/// <summary>
/// The isa-debug-exit device: a guest test harness writes a value <c>v</c> to its port and the
/// emulator exits with status <c>(v &lt;&lt; 1) | 1</c>, so no guest value can produce status 0 and
/// be mistaken for a clean power-off. Byte, word and dword writes are accepted; reads return 0
/// because the device has no readable register.
/// </summary>
public sealed class DebugExit : IBusDevice
{
    /// <summary>The conventional port.</summary>
    public const ushort DefaultPort = 0xf4;

    /// <summary>The number of ports the device claims.</summary>
    public const int PortCount = 1;

    private const int StateVersion = 1;

    private readonly MachineControl _control;

    /// <summary>Creates the device; <paramref name="port"/> only names it, the machine registers it on the bus.</summary>
    public DebugExit(MachineControl control, ushort port = DefaultPort)
    {
        _control = control;
        Name = $"isa-debug-exit@0x{port:x}";
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public AccessSizes SupportedSizes => AccessSizes.Byte | AccessSizes.Word | AccessSizes.Dword;

    /// <summary>The exit status a write of <paramref name="value"/> produces.</summary>
    public static int StatusFor(uint value) => unchecked((int)((value << 1) | 1));

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data) => data.Clear();

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        Span<byte> value = stackalloc byte[4];
        value.Clear();
        data[..Math.Min(data.Length, 4)].CopyTo(value);
        _control.Raise(MachineRequest.Exit, StatusFor(BinaryPrimitives.ReadUInt32LittleEndian(value)));
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
