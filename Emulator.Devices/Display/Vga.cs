using Emulator.Core.Devices;

namespace Emulator.Devices.Display;

/// <summary>
/// The standard VGA (IBM VGA Technical Reference; FreeVGA's register descriptions): sequencer,
/// CRT controller, graphics controller, attribute controller, DAC and the general registers on
/// ports 0x3B0-0x3DF, and the display memory of four 64 KiB planes seen through the legacy window
/// 0xA0000-0xBFFFF (<see cref="VgaMemoryWindow"/>) with the read and write modes, latches,
/// set/reset, rotate, logical function, bit mask, map mask, odd/even and chain-4 addressing. The
/// memory is one <see cref="VramSize"/> array shared with the Bochs VBE extension
/// (<see cref="BochsDispi"/>) and its linear framebuffer; plane p, offset k is byte 4k + p (so a
/// chain-4 address is the same byte as a linear one, as in QEMU's layout). The device keeps what
/// the guest programmed; <see cref="VgaRenderer"/> turns it into pixels or text.
/// </summary>
public sealed class Vga : IBusDevice
{
    /// <summary>First port decoded (0x3B0) and the number of ports (to 0x3DF).</summary>
    public const ushort PortBase = 0x3b0;

    /// <summary>Ports from <see cref="PortBase"/>.</summary>
    public const int PortCount = 0x30;

    /// <summary>Bytes of display memory (planes and the VBE framebuffer).</summary>
    public const int VramSize = 16 << 20;

    private const int StateVersion = 2;

    // Offsets of the ports from 0x3B0.
    private const int CrtcIndexMono = 0x04, CrtcDataMono = 0x05, Status1Mono = 0x0a, AttributeWrite = 0x10, AttributeRead = 0x11,
        MiscWriteStatus0 = 0x12, VgaEnable = 0x13, SequencerIndex = 0x14, SequencerData = 0x15, DacMask = 0x16, DacReadIndex = 0x17,
        DacWriteIndex = 0x18, DacData = 0x19, FeatureRead = 0x1a, MiscRead = 0x1c, GraphicsIndex = 0x1e, GraphicsData = 0x1f,
        CrtcIndexColor = 0x24, CrtcDataColor = 0x25, Status1Color = 0x2a;

    private readonly byte[] _sequencer = new byte[8];
    private readonly byte[] _graphics = new byte[16];
    private readonly byte[] _crtc = new byte[64];
    private readonly byte[] _attribute = new byte[32];
    private readonly byte[] _dac = new byte[256 * 3];
    private byte _misc, _sequencerIndex, _graphicsIndex, _crtcIndex, _attributeIndex, _feature, _status1, _dacMask;
    private byte _dacReadIndex, _dacWriteIndex, _dacComponent;
    private bool _dacReading;
    private bool _attributeData;
    private uint _latch;

    /// <summary>Creates the VGA with its memory and its Bochs VBE extension.</summary>
    public Vga()
    {
        Dispi = new BochsDispi(this);
        Reset();
    }

    /// <inheritdoc/>
    public string Name => "vga";

    /// <summary>Byte ports; the bus splits wider accesses (OUT DX, AX to an index/data pair).</summary>
    public AccessSizes SupportedSizes => AccessSizes.Byte;

    /// <summary>The Bochs VBE "DISPI" registers of this VGA.</summary>
    public BochsDispi Dispi { get; }

    /// <summary>Display memory.</summary>
    public byte[] Vram { get; } = new byte[VramSize];

    // Display memory past this offset has never been written (through the window, the linear frame
    // buffer or a restore) and is zero: a save looks no further and a restore clears no further.
    // Touching all 16 MiB costs the host a page fault per 4 KiB page (85 ms here on a fresh machine).
    private int _vramEnd;

    // The planar and odd/even paths reach 4 bytes per offset of a 64 KiB window.
    private const int PlanarEnd = 4 * 0x10000;

    /// <summary>Sequencer registers SR0-SR7.</summary>
    public ReadOnlySpan<byte> Sequencer => _sequencer;

    /// <summary>Graphics controller registers GR0-GR8.</summary>
    public ReadOnlySpan<byte> Graphics => _graphics;

    /// <summary>CRT controller registers CR0-CR18 (and the rest of the index space, unused).</summary>
    public ReadOnlySpan<byte> Crtc => _crtc;

    /// <summary>Attribute controller registers: palette 0-F, mode control 10, overscan 11, plane enable 12, panning 13, color select 14.</summary>
    public ReadOnlySpan<byte> Attribute => _attribute;

    /// <summary>The DAC: 256 entries of red, green, blue (6 bits each, or 8 with the VBE 8-bit DAC).</summary>
    public ReadOnlySpan<byte> Dac => _dac;

    /// <summary>The DAC pixel mask (0x3C6).</summary>
    public byte DacPixelMask => _dacMask;

    /// <summary>Miscellaneous Output.</summary>
    public byte Misc => _misc;

    /// <summary>True while the attribute controller's palette address source bit lets the palette reach the screen (index bit 5).</summary>
    public bool DisplayEnabled => (_attributeIndex & 0x20) != 0;

    /// <summary>Byte <paramref name="offset"/> of plane <paramref name="plane"/>.</summary>
    public byte Plane(int plane, int offset) => Vram[(4 * (offset & 0xffff)) + plane];

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = ReadPort((int)offset + i);
        }
    }

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
        {
            WritePort((int)offset + i, data[i]);
        }
    }

    /// <summary>
    /// A read of byte <paramref name="address"/> of the legacy window (offset from 0xA0000). With VBE
    /// enabled the first 64 KiB show the current bank of the framebuffer; otherwise the graphics
    /// controller's memory map selects the window and the read mode decides what comes back
    /// (addresses outside the selected window read as an empty bus).
    /// </summary>
    public byte ReadWindow(int address)
    {
        if (Dispi.Enabled)
        {
            int linear = Dispi.BankOffset + address;
            return address < 0x10000 && linear < VramSize ? Vram[linear] : (byte)0xff;
        }

        if (!InMemoryMap(ref address))
        {
            return 0xff;
        }

        if ((_sequencer[4] & 0x08) != 0)
        {
            // Chain-4: address bits 1:0 pick the plane, the rest the byte (QEMU's layout makes it linear).
            return Vram[address];
        }

        int planeOffset = address;
        int readPlane = _graphics[4] & 3;
        if ((_graphics[5] & 0x10) != 0)
        {
            // Host odd/even: A0 picks plane 0/1 (or 2/3 with read map bit 1); the byte is A with bit 0 clear.
            readPlane = (readPlane & 2) | (address & 1);
            planeOffset = address & ~1;
        }

        _latch = BitConverter.ToUInt32(Vram, 4 * (planeOffset & 0xffff));
        if ((_graphics[5] & 0x08) == 0)
        {
            return (byte)(_latch >> (8 * readPlane));
        }

        // Read mode 1: a 1 where every plane not in Color Don't Care matches Color Compare.
        uint compare = Expand(_graphics[2] & 0x0f), careMask = Expand(_graphics[7] & 0x0f);
        uint differ = (_latch ^ compare) & careMask;
        byte diff = (byte)(differ | (differ >> 8) | (differ >> 16) | (differ >> 24));
        return (byte)~diff;
    }

    /// <summary>A write of <paramref name="value"/> to byte <paramref name="address"/> of the legacy window (offset from 0xA0000).</summary>
    public void WriteWindow(int address, byte value)
    {
        if (Dispi.Enabled)
        {
            int linear = Dispi.BankOffset + address;
            if (address < 0x10000 && linear < VramSize)
            {
                Vram[linear] = value;
                NoteWritten(linear + 1);
            }

            return;
        }

        if (!InMemoryMap(ref address))
        {
            return;
        }

        NoteWritten(PlanarEnd);
        int mapMask = _sequencer[2] & 0x0f;
        if ((_sequencer[4] & 0x08) != 0)
        {
            if ((mapMask & (1 << (address & 3))) != 0)
            {
                Vram[address] = value;
            }

            return;
        }

        if ((_sequencer[4] & 0x04) == 0)
        {
            // Odd/even (sequencer memory mode bit 2 clear): even addresses reach planes 0 and 2,
            // odd ones planes 1 and 3, at the address with bit 0 clear; the data is stored as written.
            int planes = mapMask & ((address & 1) != 0 ? 0b1010 : 0b0101);
            int baseIndex = 4 * ((address & ~1) & 0xffff);
            for (int p = 0; p < 4; p++)
            {
                if ((planes & (1 << p)) != 0)
                {
                    Vram[baseIndex + p] = value;
                }
            }

            return;
        }

        uint data = WriteModeData(value);
        uint planeMask = Expand(mapMask);
        int index = 4 * (address & 0xffff);
        uint old = BitConverter.ToUInt32(Vram, index);
        BitConverter.TryWriteBytes(Vram.AsSpan(index), (old & ~planeMask) | (data & planeMask));
    }

    /// <inheritdoc/>
    public void Reset()
    {
        Array.Clear(_sequencer);
        Array.Clear(_graphics);
        Array.Clear(_crtc);
        Array.Clear(_attribute);
        Array.Clear(_dac);
        _misc = _sequencerIndex = _graphicsIndex = _crtcIndex = _attributeIndex = _feature = _status1 = 0;
        _dacReadIndex = _dacWriteIndex = _dacComponent = 0;
        _dacReading = false;
        _dacMask = 0xff;
        _attributeData = false;
        _latch = 0;
        Dispi.Reset();
    }

    /// <inheritdoc/>
    public DeviceState Save()
    {
        using var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream))
        {
            w.Write(_sequencer);
            w.Write(_graphics);
            w.Write(_crtc);
            w.Write(_attribute);
            w.Write(_dac);
            w.Write([_misc, _sequencerIndex, _graphicsIndex, _crtcIndex, _attributeIndex, _feature, _status1, _dacMask, _dacReadIndex, _dacWriteIndex, _dacComponent]);
            w.Write(_dacReading);
            w.Write(_attributeData);
            w.Write(_latch);
            Dispi.Save(w);

            // Version 2: display memory up to its last byte that is not zero (a text-mode guest uses
            // a few KiB of its 16 MiB); the rest restores as zeros.
            int used = Vram.AsSpan(0, _vramEnd).LastIndexOfAnyExcept((byte)0) + 1;
            w.Write(used);
            w.Write(Vram, 0, used);
        }

        return new DeviceState(Name, StateVersion, stream.ToArray());
    }

    /// <inheritdoc/>
    public void Restore(DeviceState state)
    {
        if (state.Version != StateVersion)
        {
            throw new InvalidDataException($"{Name}: saved state version {state.Version} is not supported");
        }

        try
        {
            using var r = new BinaryReader(new MemoryStream(state.Data));
            Fill(r, _sequencer);
            Fill(r, _graphics);
            Fill(r, _crtc);
            Fill(r, _attribute);
            Fill(r, _dac);
            byte[] b = new byte[11];
            Fill(r, b);
            (_misc, _sequencerIndex, _graphicsIndex, _crtcIndex, _attributeIndex, _feature) = (b[0], b[1], b[2], b[3], b[4], b[5]);
            (_status1, _dacMask, _dacReadIndex, _dacWriteIndex, _dacComponent) = (b[6], b[7], b[8], b[9], b[10]);
            _dacReading = r.ReadBoolean();
            _attributeData = r.ReadBoolean();
            _latch = r.ReadUInt32();
            Dispi.Restore(r);
            int used = r.ReadInt32();
            if (used is < 0 or > VramSize)
            {
                throw new InvalidDataException($"{Name}: {used} bytes of display memory");
            }

            if (r.Read(Vram, 0, used) != used)
            {
                throw new EndOfStreamException();
            }

            if (_vramEnd > used)
            {
                Array.Clear(Vram, used, _vramEnd - used);
            }

            _vramEnd = used;
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{Name}: saved state is truncated", e);
        }
    }

    /// <summary>Notes that display memory up to <paramref name="end"/> (exclusive) may have been written.</summary>
    internal void NoteWritten(int end)
    {
        if (end > _vramEnd)
        {
            _vramEnd = Math.Min(end, VramSize);
        }
    }

    /// <summary>Clears the first <paramref name="bytes"/> of display memory (a VBE mode set without NOCLEARMEM).</summary>
    internal void ClearVram(int bytes) => Array.Clear(Vram, 0, Math.Min(bytes, VramSize));

    private static void Fill(BinaryReader r, byte[] into)
    {
        if (r.Read(into, 0, into.Length) != into.Length)
        {
            throw new EndOfStreamException();
        }
    }

    // Four bits, one per plane, as four bytes of all ones or zeros.
    private static uint Expand(int bits) =>
        ((bits & 1) != 0 ? 0xffu : 0) | ((bits & 2) != 0 ? 0xff00u : 0) | ((bits & 4) != 0 ? 0xff_0000u : 0) | ((bits & 8) != 0 ? 0xff00_0000u : 0);

    // Graphics controller Miscellaneous bits 3:2: A0000-BFFFF, A0000-AFFFF, B0000-B7FFF, B8000-BFFFF.
    private bool InMemoryMap(ref int address)
    {
        (int start, int size) = ((_graphics[6] >> 2) & 3) switch
        {
            0 => (0, 0x20000),
            1 => (0, 0x10000),
            2 => (0x10000, 0x8000),
            _ => (0x18000, 0x8000),
        };
        if (address < start || address >= start + size)
        {
            return false;
        }

        address -= start;
        return true;
    }

    // The four plane bytes write modes 0-3 produce (graphics controller Mode bits 1:0), before the
    // map mask: rotate, set/reset, the logical function with the latches, then the bit mask.
    private uint WriteModeData(byte value)
    {
        int rotate = _graphics[3] & 7;
        byte rotated = (byte)((value >> rotate) | (value << (8 - rotate)));
        uint bitMask = _graphics[8];
        uint data;
        switch (_graphics[5] & 3)
        {
            case 0:
                uint setReset = Expand(_graphics[0] & 0x0f), enable = Expand(_graphics[1] & 0x0f);
                data = (rotated * 0x0101_0101u & ~enable) | (setReset & enable);
                break;
            case 1:
                return _latch;
            case 2:
                data = Expand(value & 0x0f);
                break;
            default:
                bitMask &= rotated;
                data = Expand(_graphics[0] & 0x0f);
                break;
        }

        data = ((_graphics[3] >> 3) & 3) switch
        {
            1 => data & _latch,
            2 => data | _latch,
            3 => data ^ _latch,
            _ => data,
        };
        uint mask = bitMask * 0x0101_0101u;
        return (data & mask) | (_latch & ~mask);
    }

    // Misc Output bit 0 selects the color (3Dx) or monochrome (3Bx) CRTC and status addresses.
    private bool ColorAddressing => (_misc & 1) != 0;

    private byte ReadPort(int port)
    {
        switch (port)
        {
            case CrtcIndexMono when !ColorAddressing:
            case CrtcIndexColor when ColorAddressing:
                return _crtcIndex;
            case CrtcDataMono when !ColorAddressing:
            case CrtcDataColor when ColorAddressing:
                return _crtc[_crtcIndex & 0x3f];
            case Status1Mono when !ColorAddressing:
            case Status1Color when ColorAddressing:
                // Reading Input Status 1 resets the attribute flip-flop to "index". Display enable
                // (bit 0) and vertical retrace (bit 3) toggle at each read, as QEMU does, so that
                // code waiting for either edge sees it.
                _attributeData = false;
                _status1 ^= 0x09;
                return _status1;
            case AttributeWrite:
                return _attributeIndex;
            case AttributeRead:
                return _attribute[_attributeIndex & 0x1f];
            case MiscWriteStatus0:
                return 0; // Input Status 0: no switch sense, no pending vertical retrace interrupt
            case VgaEnable:
                return 1;
            case SequencerIndex:
                return _sequencerIndex;
            case SequencerData:
                return _sequencer[_sequencerIndex & 7];
            case DacMask:
                return _dacMask;
            case DacReadIndex:
                return _dacReading ? (byte)0x03 : (byte)0x00; // DAC state
            case DacWriteIndex:
                return _dacWriteIndex;
            case DacData:
                byte v = _dac[(3 * _dacReadIndex) + _dacComponent];
                if (++_dacComponent == 3)
                {
                    _dacComponent = 0;
                    _dacReadIndex++;
                }

                return v;
            case FeatureRead:
                return _feature;
            case MiscRead:
                return _misc;
            case GraphicsIndex:
                return _graphicsIndex;
            case GraphicsData:
                return _graphics[_graphicsIndex & 0x0f];
            default:
                return 0xff;
        }
    }

    private void WritePort(int port, byte value)
    {
        switch (port)
        {
            case CrtcIndexMono when !ColorAddressing:
            case CrtcIndexColor when ColorAddressing:
                _crtcIndex = value;
                break;
            case CrtcDataMono when !ColorAddressing:
            case CrtcDataColor when ColorAddressing:
                WriteCrtc(value);
                break;
            case Status1Mono when !ColorAddressing:
            case Status1Color when ColorAddressing:
                _feature = value; // Feature Control is written here
                break;
            case AttributeWrite:
                WriteAttribute(value);
                break;
            case MiscWriteStatus0:
                _misc = value;
                break;
            case SequencerIndex:
                _sequencerIndex = value;
                break;
            case SequencerData:
                _sequencer[_sequencerIndex & 7] = value;
                break;
            case DacMask:
                _dacMask = value;
                break;
            case DacReadIndex:
                _dacReadIndex = value;
                _dacComponent = 0;
                _dacReading = true;
                break;
            case DacWriteIndex:
                _dacWriteIndex = value;
                _dacComponent = 0;
                _dacReading = false;
                break;
            case DacData:
                _dac[(3 * _dacWriteIndex) + _dacComponent] = Dispi.EightBitDac ? value : (byte)(value & 0x3f);
                if (++_dacComponent == 3)
                {
                    _dacComponent = 0;
                    _dacWriteIndex++;
                }

                break;
            case GraphicsIndex:
                _graphicsIndex = value;
                break;
            case GraphicsData:
                _graphics[_graphicsIndex & 0x0f] = value;
                break;
            default:
                break;
        }
    }

    // CR11 bit 7 protects CR0-CR7, except CR7 bit 4 (line compare bit 8).
    private void WriteCrtc(byte value)
    {
        int index = _crtcIndex & 0x3f;
        if ((_crtc[0x11] & 0x80) != 0 && index <= 7)
        {
            if (index == 7)
            {
                _crtc[7] = (byte)((_crtc[7] & ~0x10) | (value & 0x10));
            }

            return;
        }

        _crtc[index] = value;
    }

    // 0x3C0 alternates between the index (with the palette address source bit 5) and the data.
    private void WriteAttribute(byte value)
    {
        if (!_attributeData)
        {
            _attributeIndex = (byte)(value & 0x3f);
        }
        else
        {
            int index = _attributeIndex & 0x1f;
            if (index < 0x15)
            {
                _attribute[index] = value;
            }
        }

        _attributeData = !_attributeData;
    }
}
