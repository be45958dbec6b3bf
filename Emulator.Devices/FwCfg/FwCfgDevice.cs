using System.Buffers.Binary;
using System.Text;
using Emulator.Core.Devices;
using Emulator.Core.Memory;

namespace Emulator.Devices.FwCfg;

/// <summary>
/// QEMU's firmware configuration device (docs/specs/fw_cfg.rst), the way SeaBIOS and OVMF learn
/// about the machine: a 16-bit selector at port 0x510 picks an item, its bytes come out of the data
/// port 0x511 one by one, and the DMA interface at 0x514 copies an item into guest memory in one
/// go. Items are numbered (<see cref="FwCfgKeys"/>) or named files listed in a directory. Writes
/// through the data port are ignored (as since QEMU 2.4); files added as writable take DMA writes.
/// </summary>
public sealed class FwCfgDevice : IBusDevice
{
    /// <summary>The selector port on a PC; the data port is the next one.</summary>
    public const ushort SelectorPort = 0x510;

    /// <summary>The DMA address register on a PC (8 bytes, big-endian).</summary>
    public const ushort DmaPort = 0x514;

    /// <summary>Ports from <see cref="SelectorPort"/> to the end of the DMA register.</summary>
    public const int PortCount = 12;

    /// <summary>The longest file name, NUL included (FWCfgFile.name).</summary>
    public const int MaxFileName = 56;

    /// <summary>FWCfgDmaAccess.control bits.</summary>
    public const uint DmaError = 1 << 0, DmaRead = 1 << 1, DmaSkip = 1 << 2, DmaSelect = 1 << 3, DmaWrite = 1 << 4;

    private const int DataOffset = 1, DmaHighOffset = DmaPort - SelectorPort, DmaLowOffset = DmaHighOffset + 4;
    private const int StateVersion = 1;
    private const int DmaAccessSize = 16;

    // "QEMU CFG" read from the DMA register: the spec gives 0x51454d5520434647 big-endian.
    private static readonly byte[] DmaSignature = Encoding.ASCII.GetBytes("QEMU CFG");

    private readonly AddressSpace _memory;
    private readonly Dictionary<ushort, Item> _items = [];
    private readonly SortedDictionary<string, ushort> _files = new(StringComparer.Ordinal);
    private ushort _selector;
    private uint _offset;
    private uint _dmaHigh;

    /// <summary>Creates the device with the signature, the feature bitmap and an empty file directory.</summary>
    /// <param name="memory">Where DMA transfers read and write.</param>
    public FwCfgDevice(AddressSpace memory)
    {
        _memory = memory;
        AddItem(FwCfgKeys.Signature, Encoding.ASCII.GetBytes("QEMU"));
        byte[] id = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(id, FwCfgKeys.IdTraditional | FwCfgKeys.IdDma);
        AddItem(FwCfgKeys.Id, id);
        RebuildDirectory();
    }

    /// <inheritdoc/>
    public string Name => "fw_cfg";

    /// <summary>Byte, word and dword port accesses.</summary>
    public AccessSizes SupportedSizes => AccessSizes.Byte | AccessSizes.Word | AccessSizes.Dword;

    /// <summary>The names in the file directory, in directory order.</summary>
    public IEnumerable<string> FileNames => _files.Keys;

    /// <summary>Sets numbered item <paramref name="key"/> (below <see cref="FwCfgKeys.FileFirst"/>, or architecture-specific).</summary>
    public void AddItem(ushort key, byte[] data)
    {
        if (key is >= FwCfgKeys.FileFirst and < FwCfgKeys.ArchLocal)
        {
            throw new ArgumentOutOfRangeException(nameof(key), $"fw_cfg key 0x{key:x} is in the file range; use AddFile");
        }

        _items[key] = new Item(data, Writable: false);
    }

    /// <summary>Adds (or replaces) a named file; <paramref name="writable"/> lets the guest overwrite its bytes by DMA.</summary>
    /// <returns>The file's selector key.</returns>
    public ushort AddFile(string name, byte[] data, bool writable = false)
    {
        if (name.Length == 0 || name.Length >= MaxFileName || !Ascii.IsValid(name))
        {
            throw new ArgumentException($"fw_cfg file name \"{name}\" must be 1-{MaxFileName - 1} ASCII characters", nameof(name));
        }

        if (!_files.TryGetValue(name, out ushort key))
        {
            key = (ushort)(FwCfgKeys.FileFirst + _files.Count);
            _files[name] = key;
        }

        _items[key] = new Item(data, writable);
        RebuildDirectory();
        return key;
    }

    /// <summary>The current bytes of file <paramref name="name"/>, or null.</summary>
    public byte[]? File(string name) => _files.TryGetValue(name, out ushort key) ? _items[key].Data : null;

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
        {
            int port = (int)offset + i;
            data[i] = port switch
            {
                DataOffset => ReadDataByte(),
                >= DmaHighOffset and < DmaHighOffset + 8 => DmaSignature[port - DmaHighOffset],
                _ => 0,
            };
        }
    }

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        switch ((int)offset, data.Length)
        {
            case (0, 2):
                Select(BinaryPrimitives.ReadUInt16LittleEndian(data));
                break;
            case (0, 1):
                Select(data[0]);
                break;
            case (DmaHighOffset, 4):
                _dmaHigh = BinaryPrimitives.ReadUInt32BigEndian(data);
                break;
            case (DmaLowOffset, 4):
                // A write to the least significant half starts the transfer (fw_cfg.rst, "Guest-side DMA Interface").
                ulong address = ((ulong)_dmaHigh << 32) | BinaryPrimitives.ReadUInt32BigEndian(data);
                _dmaHigh = 0;
                RunDma(address);
                break;
            default:
                // The data port ignores writes (QEMU 2.4 and later); other widths are not decoded.
                break;
        }
    }

    /// <inheritdoc/>
    public void Reset()
    {
        _selector = 0;
        _offset = 0;
        _dmaHigh = 0;
    }

    /// <inheritdoc/>
    public DeviceState Save()
    {
        byte[] s = new byte[10];
        BinaryPrimitives.WriteUInt16LittleEndian(s, _selector);
        BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(2), _offset);
        BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(6), _dmaHigh);
        return new DeviceState(Name, StateVersion, s);
    }

    /// <inheritdoc/>
    public void Restore(DeviceState state)
    {
        if (state.Version != StateVersion || state.Data.Length != 10)
        {
            throw new InvalidDataException($"{Name}: saved state version {state.Version} ({state.Data.Length} bytes) is not supported");
        }

        _selector = BinaryPrimitives.ReadUInt16LittleEndian(state.Data);
        _offset = BinaryPrimitives.ReadUInt32LittleEndian(state.Data.AsSpan(2));
        _dmaHigh = BinaryPrimitives.ReadUInt32LittleEndian(state.Data.AsSpan(6));
    }

    private void Select(ushort key)
    {
        _selector = key;
        _offset = 0;
    }

    // Past the end of an item (or for a key that names nothing) reads return 0 (fw_cfg.rst, "Data Register").
    private byte ReadDataByte()
    {
        byte[] item = CurrentData();
        byte b = _offset < item.Length ? item[_offset] : (byte)0;
        if (_offset < uint.MaxValue)
        {
            _offset++;
        }

        return b;
    }

    private byte[] CurrentData() => _items.TryGetValue(_selector, out Item? item) ? item.Data : [];

    // FWCfgDmaAccess: control, length, address, all big-endian. The guest chose every field; the
    // transfer goes through the address space, which drops what falls outside RAM and tells the CPU of
    // code it overwrote. The result is written back into control: 0 done, DmaError failed.
    private void RunDma(ulong descriptor)
    {
        Span<byte> access = stackalloc byte[DmaAccessSize];
        _memory.Read(new GuestPhysicalAddress(descriptor), access);
        uint control = BinaryPrimitives.ReadUInt32BigEndian(access);
        uint length = BinaryPrimitives.ReadUInt32BigEndian(access[4..]);
        ulong address = BinaryPrimitives.ReadUInt64BigEndian(access[8..]);
        if ((control & DmaSelect) != 0)
        {
            Select((ushort)(control >> 16));
        }

        bool ok = true;
        if ((control & DmaRead) != 0)
        {
            DmaToGuest(address, length);
        }
        else if ((control & DmaWrite) != 0)
        {
            ok = DmaFromGuest(address, length);
        }
        else if ((control & DmaSkip) != 0)
        {
            _offset = (uint)Math.Min((ulong)_offset + length, uint.MaxValue);
        }

        Span<byte> result = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(result, ok ? 0 : DmaError);
        _memory.Write(new GuestPhysicalAddress(descriptor), result);
    }

    // The item's bytes from the current offset, then zeros for whatever the guest asked beyond its end.
    private void DmaToGuest(ulong address, uint length)
    {
        byte[] item = CurrentData();
        ulong done = 0;
        if (_offset < item.Length)
        {
            int n = (int)Math.Min(length, (uint)item.Length - _offset);
            _memory.Write(new GuestPhysicalAddress(address), item.AsSpan((int)_offset, n));
            done = (ulong)n;
        }

        Span<byte> zeros = stackalloc byte[4096];
        zeros.Clear();
        while (done < length)
        {
            int n = (int)Math.Min((ulong)zeros.Length, length - done);
            _memory.Write(new GuestPhysicalAddress(address + done), zeros[..n]);
            done += (ulong)n;
        }

        _offset = (uint)Math.Min((ulong)_offset + length, uint.MaxValue);
    }

    // A write may neither start nor end beyond the item, and only writable items take it; a refused
    // write changes nothing (fw_cfg.rst: "Truncated writes are dropped entirely").
    private bool DmaFromGuest(ulong address, uint length)
    {
        if (!_items.TryGetValue(_selector, out Item? item) || !item.Writable || (ulong)_offset + length > (ulong)item.Data.Length)
        {
            return false;
        }

        _memory.Read(new GuestPhysicalAddress(address), item.Data.AsSpan((int)_offset, (int)length));
        _offset += length;
        return true;
    }

    // FWCfgFiles: count (big-endian), then per file size (BE32), select (BE16), reserved, name[56].
    private void RebuildDirectory()
    {
        byte[] dir = new byte[4 + (64 * _files.Count)];
        BinaryPrimitives.WriteUInt32BigEndian(dir, (uint)_files.Count);
        int at = 4;
        foreach ((string name, ushort key) in _files)
        {
            BinaryPrimitives.WriteUInt32BigEndian(dir.AsSpan(at), (uint)_items[key].Data.Length);
            BinaryPrimitives.WriteUInt16BigEndian(dir.AsSpan(at + 4), key);
            Encoding.ASCII.GetBytes(name, dir.AsSpan(at + 8, MaxFileName));
            at += 64;
        }

        _items[FwCfgKeys.FileDir] = new Item(dir, Writable: false);
    }

    private sealed record Item(byte[] Data, bool Writable);
}
