using System.Buffers.Binary;
using Emulator.Core.Devices;

namespace Emulator.Devices.Pci;

/// <summary>
/// The host bridge's configuration mechanism #1 (PCI Local Bus 3.0 §3.2.2.3.2) on ports
/// 0xCF8-0xCFF: a 32-bit CONFIG_ADDRESS at 0xCF8 (bit 31 enable, bits 23:16 bus, 15:11 device,
/// 10:8 function, 7:2 register) and CONFIG_DATA at 0xCFC-0xCFF, where a byte, word or dword access
/// at 0xCFC + n reaches register + n. Only a dword access to 0xCF8 touches CONFIG_ADDRESS; other
/// accesses there pass through to the I/O bus (the spec's rule), and on a PIIX3 the byte at 0xCF9
/// is the Reset Control Register (PIIX3 datasheet §4.1.4, "RC"), modelled here because it shares
/// the port range. Only bus 0 exists; other buses answer all ones.
/// </summary>
public sealed class PciHostBridge : IBusDevice
{
    /// <summary>First port (CONFIG_ADDRESS).</summary>
    public const ushort AddressPort = 0xcf8;

    /// <summary>Number of ports claimed.</summary>
    public const int PortCount = 8;

    private const uint EnableBit = 0x8000_0000;
    private const int StateVersion = 1;

    /// <summary>The Reset Control Register's port (PIIX3 datasheet 4.1.4), the FADT's RESET_REG.</summary>
    public const ushort ResetControlPort = 0xcf9;

    /// <summary>SRST | RCPU: the value that makes a full reset, the FADT's RESET_VALUE.</summary>
    public const byte ResetControlFullReset = ResetControlSystemReset | ResetControlResetCpu;

    // Reset Control Register bits: SRST selects a hard reset, RCPU starts the reset on a 0 -> 1 edge.
    private const byte ResetControlSystemReset = 0x02, ResetControlResetCpu = 0x04;

    private readonly PciBus _bus;
    private readonly Action? _resetRequest;
    private uint _address;
    private byte _resetControl;

    /// <summary>Creates the bridge in front of <paramref name="bus"/>; <paramref name="resetRequest"/> is called when the guest resets the machine through port 0xCF9.</summary>
    public PciHostBridge(PciBus bus, Action? resetRequest = null)
    {
        _bus = bus;
        _resetRequest = resetRequest;
    }

    /// <inheritdoc/>
    public string Name => "pci-host-bridge@0xcf8";

    /// <inheritdoc/>
    public AccessSizes SupportedSizes => AccessSizes.Byte | AccessSizes.Word | AccessSizes.Dword;

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data)
    {
        if (offset == 0 && data.Length == 4)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(data, _address);
            return;
        }

        if (offset == 1 && data.Length == 1)
        {
            data[0] = _resetControl;
            return;
        }

        // Outside CONFIG_DATA (an access straddling 0xCFB/0xCFC or running past 0xCFF) nothing answers.
        if (offset < 4 || offset + (ulong)data.Length > PortCount || (_address & EnableBit) == 0)
        {
            data.Fill(0xff);
            return;
        }

        for (int i = 0; i < data.Length;)
        {
            int register = ConfigRegister(offset + (ulong)i);
            int size = PieceSize(register, data.Length - i);
            uint value = ((_address >> 16) & 0xff) == 0 ? _bus.ReadConfig(Devfn, register, size) : uint.MaxValue;
            for (int b = 0; b < size; b++)
            {
                data[i + b] = (byte)(value >> (8 * b));
            }

            i += size;
        }
    }

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (offset == 0 && data.Length == 4)
        {
            // Bits 30:24 are reserved and read as 0; bits 1:0 select a type 0 access and are kept 0.
            _address = BinaryPrimitives.ReadUInt32LittleEndian(data) & 0x80ff_fffc;
            return;
        }

        if (offset == 1 && data.Length == 1)
        {
            byte value = data[0];
            bool start = (value & ResetControlResetCpu) != 0 && (_resetControl & ResetControlResetCpu) == 0;
            _resetControl = (byte)(value & ResetControlSystemReset);
            if (start)
            {
                _resetRequest?.Invoke();
            }

            return;
        }

        if (offset < 4 || offset + (ulong)data.Length > PortCount || (_address & EnableBit) == 0 || ((_address >> 16) & 0xff) != 0)
        {
            return;
        }

        for (int i = 0; i < data.Length;)
        {
            int register = ConfigRegister(offset + (ulong)i);
            int size = PieceSize(register, data.Length - i);
            uint value = 0;
            for (int b = size - 1; b >= 0; b--)
            {
                value = (value << 8) | data[i + b];
            }

            _bus.WriteConfig(Devfn, register, size, value);
            i += size;
        }
    }

    /// <inheritdoc/>
    public void Reset()
    {
        _address = 0;
        _resetControl = 0;
    }

    /// <inheritdoc/>
    public DeviceState Save()
    {
        byte[] data = new byte[5];
        BinaryPrimitives.WriteUInt32LittleEndian(data, _address);
        data[4] = _resetControl;
        return new DeviceState(Name, StateVersion, data);
    }

    /// <inheritdoc/>
    public void Restore(DeviceState state)
    {
        if (state.Version != StateVersion || state.Data.Length != 5)
        {
            throw new InvalidDataException($"{Name}: saved state version {state.Version} ({state.Data.Length} bytes) is not supported (expected {StateVersion})");
        }

        _address = BinaryPrimitives.ReadUInt32LittleEndian(state.Data) & 0x80ff_fffc;
        _resetControl = (byte)(state.Data[4] & ResetControlSystemReset);
    }

    private int Devfn => (int)((_address >> 8) & 0xff);

    private int ConfigRegister(ulong portOffset) => (int)(_address & 0xfc) + (int)(portOffset - 4);

    // An access is split so that no piece crosses a dword of configuration space or is of width 3.
    private static int PieceSize(int register, int remaining)
    {
        int room = 4 - (register & 3);
        int size = Math.Min(room, remaining);
        return size == 3 ? 2 : size;
    }
}
