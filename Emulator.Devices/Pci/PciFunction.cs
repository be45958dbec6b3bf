using System.Buffers.Binary;
using Emulator.Core.Devices;

namespace Emulator.Devices.Pci;

/// <summary>
/// One PCI function with a 256-byte type 0 configuration space (PCI Local Bus 3.0 §6.1, §6.2):
/// identity, command/status, class code, up to six BARs, interrupt line/pin and a capabilities list.
/// Writable bits are described by a write mask and status bits by a write-one-to-clear mask; every
/// other bit is read-only, so a guest can write anything anywhere without effect beyond the spec.
/// Subclasses add BARs and capabilities in their constructor and may intercept config accesses.
/// </summary>
public abstract class PciFunction : IDevice
{
    /// <summary>Configuration register offsets of the type 0 header (PCI 3.0 §6.1, Figure 6-1).</summary>
    public const int VendorIdOffset = 0x00, DeviceIdOffset = 0x02, CommandOffset = 0x04, StatusOffset = 0x06,
        RevisionOffset = 0x08, ClassCodeOffset = 0x09, HeaderTypeOffset = 0x0e, Bar0Offset = 0x10,
        SubsystemVendorIdOffset = 0x2c, SubsystemIdOffset = 0x2e, CapabilitiesPointerOffset = 0x34,
        InterruptLineOffset = 0x3c, InterruptPinOffset = 0x3d;

    /// <summary>Command register bits (PCI 3.0 §6.2.2).</summary>
    public const ushort CommandIoSpace = 0x0001, CommandMemorySpace = 0x0002, CommandBusMaster = 0x0004,
        CommandInterruptDisable = 0x0400;

    /// <summary>Status register bits (PCI 3.0 §6.2.3).</summary>
    public const ushort StatusInterrupt = 0x0008, StatusCapabilitiesList = 0x0010;

    /// <summary>Size of the configuration space of a conventional PCI function.</summary>
    public const int ConfigSize = 256;

    private const int FirstCapability = 0x40;
    private const int BaseStateVersion = 1;

    private readonly byte[] _config = new byte[ConfigSize];
    private readonly byte[] _writeMask = new byte[ConfigSize];
    private readonly byte[] _clearMask = new byte[ConfigSize];
    private readonly PciBar?[] _bars = new PciBar?[6];
    private int _nextCapability = FirstCapability;
    private int _lastCapability;
    private IInterruptLine _intx = UnconnectedLine.Instance;
    private bool _intxRequested;
    private bool _intxDriven;

    /// <summary>Creates a function with its identity registers set.</summary>
    /// <param name="name">Device name for saved state and messages.</param>
    /// <param name="vendorId">Vendor ID (PCI 3.0 §6.2.1).</param>
    /// <param name="deviceId">Device ID.</param>
    /// <param name="revision">Revision ID.</param>
    /// <param name="classCode">Class code as base class &lt;&lt; 16 | sub-class &lt;&lt; 8 | programming interface.</param>
    /// <param name="headerType">Header type; 0x80 marks a multi-function device.</param>
    protected PciFunction(string name, ushort vendorId, ushort deviceId, byte revision, uint classCode, byte headerType = 0)
    {
        Name = name;
        BinaryPrimitives.WriteUInt16LittleEndian(_config.AsSpan(VendorIdOffset), vendorId);
        BinaryPrimitives.WriteUInt16LittleEndian(_config.AsSpan(DeviceIdOffset), deviceId);
        _config[RevisionOffset] = revision;
        _config[ClassCodeOffset] = (byte)classCode;
        _config[ClassCodeOffset + 1] = (byte)(classCode >> 8);
        _config[ClassCodeOffset + 2] = (byte)(classCode >> 16);
        _config[HeaderTypeOffset] = headerType;

        // Command: I/O, memory, bus master, SERR#, interrupt disable are implemented (PCI 3.0 §6.2.2);
        // the rest are hardwired 0 as allowed for devices without those functions.
        SetWritable(CommandOffset, 0x0107 | CommandInterruptDisable, 2);
        // Status error bits are write-one-to-clear (PCI 3.0 §6.2.3); we never set them, but honour the protocol.
        SetClearable(StatusOffset, 0xf900, 2);
        // Cache line size, latency timer and interrupt line are plain read/write scratch registers for us.
        _writeMask[0x0c] = 0xff;
        _writeMask[0x0d] = 0xff;
        _writeMask[InterruptLineOffset] = 0xff;
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>The bus this function is attached to, or null.</summary>
    public PciBus? Bus { get; private set; }

    /// <summary>Device number (slot) on the bus.</summary>
    public int Slot { get; private set; }

    /// <summary>Function number within the slot.</summary>
    public int Function { get; private set; }

    /// <summary>Vendor ID.</summary>
    public ushort VendorId => BinaryPrimitives.ReadUInt16LittleEndian(_config.AsSpan(VendorIdOffset));

    /// <summary>Device ID.</summary>
    public ushort DeviceId => BinaryPrimitives.ReadUInt16LittleEndian(_config.AsSpan(DeviceIdOffset));

    /// <summary>The command register.</summary>
    public ushort Command => BinaryPrimitives.ReadUInt16LittleEndian(_config.AsSpan(CommandOffset));

    /// <summary>The implemented BARs, indexed by BAR number (null where none).</summary>
    public IReadOnlyList<PciBar?> Bars => _bars;

    /// <summary>Interrupt pin 1-4 for INTA#-INTD#, 0 for none (PCI 3.0 §6.2.4).</summary>
    public int InterruptPin => _config[InterruptPinOffset];

    /// <summary>True while this function asserts its INTx# pin (after the command register's Interrupt Disable).</summary>
    public bool InterruptAsserted => _intxDriven;

    /// <summary>Guest physical (or port) base of BAR <paramref name="index"/> as programmed, without the type bits.</summary>
    public uint BarAddress(int index)
    {
        uint raw = BinaryPrimitives.ReadUInt32LittleEndian(_config.AsSpan(Bar0Offset + (4 * index)));
        return _bars[index]?.Kind == PciBarKind.Io ? raw & ~3u : raw & ~0xfu;
    }

    /// <summary>A configuration read of <paramref name="size"/> (1, 2 or 4) bytes within one dword.</summary>
    public virtual uint ReadConfig(int offset, int size)
    {
        uint value = 0;
        for (int i = size - 1; i >= 0; i--)
        {
            value = (value << 8) | _config[offset + i];
        }

        return value;
    }

    /// <summary>A configuration write of <paramref name="size"/> (1, 2 or 4) bytes within one dword.</summary>
    public virtual void WriteConfig(int offset, int size, uint value)
    {
        bool remap = false;
        bool interruptDisableChanged = false;
        for (int i = 0; i < size; i++)
        {
            int o = offset + i;
            byte b = (byte)(value >> (8 * i));
            byte before = _config[o];
            _config[o] = (byte)((before & ~_writeMask[o]) | (b & _writeMask[o]));
            _config[o] = (byte)(_config[o] & ~(b & _clearMask[o]));
            remap |= o is CommandOffset or (>= Bar0Offset and < Bar0Offset + 24);
            interruptDisableChanged |= o == CommandOffset + 1 && ((before ^ _config[o]) & (CommandInterruptDisable >> 8)) != 0;
        }

        if (remap)
        {
            Bus?.UpdateMappings(this);
        }

        if (interruptDisableChanged)
        {
            DriveInterrupt();
        }
    }

    /// <inheritdoc/>
    public virtual void Reset()
    {
        // Every writable register of the header resets to zero (PCI 3.0 §6.2.2: command is 0 at
        // reset, so the function decodes nothing until software enables it). Subclasses with other
        // reset values set them after calling this.
        for (int i = 0; i < ConfigSize; i++)
        {
            _config[i] &= (byte)~(_writeMask[i] | _clearMask[i]);
        }

        _intxRequested = false;
        DriveInterrupt();
        Bus?.UpdateMappings(this);
    }

    /// <inheritdoc/>
    public DeviceState Save()
    {
        using var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream))
        {
            w.Write(BaseStateVersion);
            w.Write(_config);
            w.Write(_intxRequested);
            SaveState(w);
        }

        return new DeviceState(Name, StateVersion, stream.ToArray());
    }

    /// <inheritdoc/>
    public void Restore(DeviceState state)
    {
        if (state.Version != StateVersion)
        {
            throw new InvalidDataException($"{Name}: saved state version {state.Version} is not supported (expected {StateVersion})");
        }

        try
        {
            using var r = new BinaryReader(new MemoryStream(state.Data));
            int baseVersion = r.ReadInt32();
            if (baseVersion != BaseStateVersion)
            {
                throw new InvalidDataException($"{Name}: PCI configuration state version {baseVersion} is not supported");
            }

            byte[] config = r.ReadBytes(ConfigSize);
            if (config.Length != ConfigSize)
            {
                throw new EndOfStreamException();
            }

            // Only the writable bits come from the saved state: identity and capabilities are the device's own.
            for (int i = 0; i < ConfigSize; i++)
            {
                byte keep = (byte)~(_writeMask[i] | _clearMask[i]);
                _config[i] = (byte)((_config[i] & keep) | (config[i] & ~keep));
            }

            _intxRequested = r.ReadBoolean();
            RestoreState(r);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{Name}: saved state is truncated", e);
        }

        DriveInterrupt();
        Bus?.UpdateMappings(this);
    }

    /// <summary>Format version of this function's saved state (bump when <see cref="SaveState"/> changes).</summary>
    protected virtual int StateVersion => 1;

    /// <summary>Writes state beyond the configuration space.</summary>
    protected virtual void SaveState(BinaryWriter writer)
    {
    }

    /// <summary>Reads what <see cref="SaveState"/> wrote.</summary>
    protected virtual void RestoreState(BinaryReader reader)
    {
    }

    /// <summary>Raw access to the configuration bytes for subclasses.</summary>
    protected Span<byte> Config => _config;

    /// <summary>Makes <paramref name="mask"/> (little-endian, <paramref name="size"/> bytes) writable at <paramref name="offset"/>.</summary>
    protected void SetWritable(int offset, uint mask, int size)
    {
        for (int i = 0; i < size; i++)
        {
            _writeMask[offset + i] = (byte)(mask >> (8 * i));
        }
    }

    /// <summary>Makes the bits of <paramref name="mask"/> at <paramref name="offset"/> write-one-to-clear.</summary>
    protected void SetClearable(int offset, uint mask, int size)
    {
        for (int i = 0; i < size; i++)
        {
            _clearMask[offset + i] = (byte)(mask >> (8 * i));
        }
    }

    /// <summary>Sets the INTx# pin this function uses: 1 = INTA# ... 4 = INTD# (PCI 3.0 §6.2.4).</summary>
    protected void SetInterruptPin(int pin)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pin, 4);
        _config[InterruptPinOffset] = (byte)pin;
    }

    /// <summary>
    /// Declares a BAR. Its address bits above the size are writable and the bits below read as zero,
    /// which is what makes the sizing protocol work: software writes all ones and reads back
    /// ~(size - 1) with the type bits (PCI 3.0 §6.2.5.1, "Implementation Note: Sizing a 32-bit Base Address Register").
    /// </summary>
    protected void AddBar(PciBar bar)
    {
        uint min = bar.Kind == PciBarKind.Io ? 4u : 16u;
        if (bar.Index is < 0 or > 5 || _bars[bar.Index] is not null || bar.Size < min || !uint.IsPow2(bar.Size))
        {
            throw new ArgumentException($"{Name}: bad BAR {bar.Index} of {bar.Size} bytes");
        }

        _bars[bar.Index] = bar;
        int offset = Bar0Offset + (4 * bar.Index);
        BinaryPrimitives.WriteUInt32LittleEndian(_config.AsSpan(offset), bar.Kind == PciBarKind.Io ? 1u : 0u);
        SetWritable(offset, ~(bar.Size - 1), 4);
    }

    /// <summary>
    /// Appends a capability to the list that starts at the Capabilities Pointer (PCI 3.0 §6.7):
    /// <paramref name="body"/> follows the ID and next-pointer bytes. Returns the capability's offset.
    /// </summary>
    protected int AddCapability(byte id, ReadOnlySpan<byte> body)
    {
        int offset = _nextCapability;
        int length = (2 + body.Length + 3) & ~3;
        if (offset + length > ConfigSize)
        {
            throw new InvalidOperationException($"{Name}: configuration space is full");
        }

        _config[offset] = id;
        _config[offset + 1] = 0;
        body.CopyTo(_config.AsSpan(offset + 2));
        if (_lastCapability == 0)
        {
            _config[CapabilitiesPointerOffset] = (byte)offset;
        }
        else
        {
            _config[_lastCapability + 1] = (byte)offset;
        }

        _config[StatusOffset] |= (byte)StatusCapabilitiesList;
        _lastCapability = offset;
        _nextCapability = offset + length;
        return offset;
    }

    /// <summary>Requests (true) or withdraws (false) this function's INTx# interrupt; level-triggered, shared.</summary>
    protected void SetInterrupt(bool asserted)
    {
        _intxRequested = asserted;
        DriveInterrupt();
    }

    internal void Attach(PciBus bus, int slot, int function, IInterruptLine intx)
    {
        Bus = bus;
        Slot = slot;
        Function = function;
        _intx = intx;
        _intxDriven = false;
        DriveInterrupt();
    }

    private void DriveInterrupt()
    {
        // The Interrupt Status bit follows the function's request; Interrupt Disable only gates the
        // pin (PCI 3.0 §6.2.2 bit 10, §6.2.3 bit 3).
        if (_intxRequested)
        {
            _config[StatusOffset] |= (byte)StatusInterrupt;
        }
        else
        {
            _config[StatusOffset] &= unchecked((byte)~StatusInterrupt);
        }

        bool level = _intxRequested && (Command & CommandInterruptDisable) == 0 && InterruptPin != 0;
        if (level != _intxDriven)
        {
            _intxDriven = level;
            _intx.Set(level);
        }
    }
}
