using System.Buffers.Binary;
using Emulator.Core.Devices;

namespace Emulator.Devices.Display;

/// <summary>
/// The Bochs VBE extension ("DISPI", Bochs' vbe.h, which QEMU's std VGA and SeaBIOS's
/// vgabios-stdvga share): a 16-bit index at port 0x1CE and data at 0x1CF selecting the ID, the
/// resolution and depth, the enable bits, the 64 KiB bank shown in the 0xA0000 window, the virtual
/// screen size and the display offset, and the memory size. With it enabled the framebuffer is
/// linear, <c>line * (virtual width * bytes per pixel)</c>, in the VGA's memory, reached through the
/// bank window or the linear framebuffer BAR.
/// </summary>
public sealed class BochsDispi : IBusDevice
{
    /// <summary>The index port; the data port is the next one.</summary>
    public const ushort IndexPort = 0x1ce;

    /// <summary>Register indexes.</summary>
    public const int IndexId = 0, IndexXres = 1, IndexYres = 2, IndexBpp = 3, IndexEnable = 4, IndexBank = 5, IndexVirtWidth = 6,
        IndexVirtHeight = 7, IndexXOffset = 8, IndexYOffset = 9, IndexVideoMemory64K = 10;

    /// <summary>The newest interface version (ID5) and the oldest (ID0).</summary>
    public const ushort Id0 = 0xb0c0, Id5 = 0xb0c5;

    /// <summary>ENABLE bits.</summary>
    public const ushort EnabledFlag = 0x01, GetCaps = 0x02, EightBitDacFlag = 0x20, LfbEnabled = 0x40, NoClearMem = 0x80;

    /// <summary>The largest mode accepted (what GETCAPS reports).</summary>
    public const ushort MaxXres = 2560, MaxYres = 1600, MaxBpp = 32;

    private readonly Vga _vga;
    private readonly ushort[] _regs = new ushort[11];
    private ushort _index;

    internal BochsDispi(Vga vga) => _vga = vga;

    /// <inheritdoc/>
    public string Name => "vga-dispi";

    /// <summary>16-bit accesses (and bytes).</summary>
    public AccessSizes SupportedSizes => AccessSizes.Byte | AccessSizes.Word;

    /// <summary>True while a VBE mode is on: the VGA shows the linear framebuffer.</summary>
    public bool Enabled => (_regs[IndexEnable] & EnabledFlag) != 0;

    /// <summary>True when the DAC takes 8-bit values.</summary>
    public bool EightBitDac => (_regs[IndexEnable] & EightBitDacFlag) != 0;

    /// <summary>Horizontal resolution.</summary>
    public int Xres => _regs[IndexXres];

    /// <summary>Vertical resolution.</summary>
    public int Yres => _regs[IndexYres];

    /// <summary>Bits per pixel (8, 15, 16, 24 or 32).</summary>
    public int Bpp => _regs[IndexBpp] == 0 ? 8 : _regs[IndexBpp];

    /// <summary>Bytes from one line of the framebuffer to the next.</summary>
    public int LineOffset => _regs[IndexVirtWidth] * ((Bpp + 7) / 8);

    /// <summary>Byte of the framebuffer shown at the top left corner.</summary>
    public int StartOffset => (_regs[IndexYOffset] * LineOffset) + (_regs[IndexXOffset] * ((Bpp + 7) / 8));

    /// <summary>Where the 0xA0000 window starts in the framebuffer.</summary>
    public int BankOffset => _regs[IndexBank] << 16;

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data)
    {
        ushort value = offset == 0 ? _index : ReadRegister(_index);
        if (data.Length >= 2)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(data, value);
            data[2..].Fill(0xff);
        }
        else
        {
            data[0] = (byte)value;
        }
    }

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        ushort value = data.Length >= 2 ? BinaryPrimitives.ReadUInt16LittleEndian(data) : data[0];
        if (offset == 0)
        {
            _index = value;
        }
        else
        {
            WriteRegister(_index, value);
        }
    }

    /// <inheritdoc/>
    public void Reset()
    {
        Array.Clear(_regs);
        _regs[IndexId] = Id5;
        _regs[IndexVideoMemory64K] = Vga.VramSize >> 16;
        _index = 0;
    }

    /// <summary>Not saved on its own: the VGA saves it with its state.</summary>
    public DeviceState Save() => new(Name, 1, []);

    /// <inheritdoc/>
    public void Restore(DeviceState state)
    {
    }

    internal void Save(BinaryWriter w)
    {
        foreach (ushort r in _regs)
        {
            w.Write(r);
        }

        w.Write(_index);
    }

    internal void Restore(BinaryReader r)
    {
        for (int i = 0; i < _regs.Length; i++)
        {
            _regs[i] = r.ReadUInt16();
        }

        _index = r.ReadUInt16();
    }

    private ushort ReadRegister(int index)
    {
        if (index >= _regs.Length)
        {
            return 0;
        }

        if ((_regs[IndexEnable] & GetCaps) != 0)
        {
            switch (index)
            {
                case IndexXres:
                    return MaxXres;
                case IndexYres:
                    return MaxYres;
                case IndexBpp:
                    return MaxBpp;
                default:
                    break;
            }
        }

        return _regs[index];
    }

    private void WriteRegister(int index, ushort value)
    {
        switch (index)
        {
            case IndexId when value is >= Id0 and <= Id5:
                _regs[IndexId] = value;
                break;
            case IndexXres or IndexYres when !Enabled && value <= (index == IndexXres ? MaxXres : MaxYres):
                _regs[index] = value;
                break;
            case IndexBpp when !Enabled && value is 0 or 4 or 8 or 15 or 16 or 24 or 32:
                _regs[IndexBpp] = value;
                break;
            case IndexBank when value < (Vga.VramSize >> 16):
                _regs[IndexBank] = value;
                break;
            case IndexEnable:
                WriteEnable(value);
                break;
            case IndexVirtWidth when value >= Xres && (long)value * ((Bpp + 7) / 8) * Yres <= Vga.VramSize:
                _regs[IndexVirtWidth] = value;
                _regs[IndexVirtHeight] = (ushort)Math.Min(Vga.VramSize / Math.Max(1, LineOffset), ushort.MaxValue);
                break;
            case IndexXOffset or IndexYOffset:
                _regs[index] = value;
                break;
            default:
                break;
        }
    }

    // Enabling a mode sets the virtual screen to the visible one and clears the memory it covers
    // unless NOCLEARMEM (the semantics vgabios relies on).
    private void WriteEnable(ushort value)
    {
        bool enabling = (value & EnabledFlag) != 0 && !Enabled;
        if (enabling)
        {
            int xres = Math.Max(Xres, 1), yres = Math.Max(Yres, 1);
            _regs[IndexVirtWidth] = (ushort)xres;
            _regs[IndexXOffset] = _regs[IndexYOffset] = 0;
            _regs[IndexVirtHeight] = (ushort)Math.Min(Vga.VramSize / Math.Max(1, LineOffset), ushort.MaxValue);
            if ((value & NoClearMem) == 0)
            {
                _vga.ClearVram(yres * LineOffset);
            }

            _regs[IndexBank] = 0;
        }

        _regs[IndexEnable] = (ushort)(value & (EnabledFlag | GetCaps | EightBitDacFlag | LfbEnabled | NoClearMem));
    }
}
