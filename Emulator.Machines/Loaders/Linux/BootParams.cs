using System.Buffers.Binary;
using Emulator.Machines.Pc;

namespace Emulator.Machines.Loaders.Linux;

/// <summary>
/// struct boot_params, "the zero page" (Documentation/arch/x86/zero-page.rst): one 4 KiB page the
/// 32/64-bit boot protocol hands the kernel in ESI/RSI, holding a copy of the setup header with the
/// fields the loader fills, the e820 table and the ACPI RSDP address.
/// </summary>
public static class BootParams
{
    /// <summary>Size of the structure.</summary>
    public const int Size = 4096;

    /// <summary>Offsets (zero-page.rst).</summary>
    public const int AcpiRsdpAddrOffset = 0x070, ExtRamdiskImageOffset = 0x0c0, ExtRamdiskSizeOffset = 0x0c4,
        ExtCmdLinePtrOffset = 0x0c8, E820EntriesOffset = 0x1e8, E820TableOffset = 0x2d0;

    /// <summary>Fields of screen_info, the structure at the start of the page (include/uapi/linux/screen_info.h).</summary>
    public const int ScreenInfoOrigX = 0x00, ScreenInfoOrigY = 0x01, ScreenInfoVideoMode = 0x06, ScreenInfoVideoCols = 0x07, ScreenInfoEgaBx = 0x0a,
        ScreenInfoVideoLines = 0x0e, ScreenInfoIsVga = 0x0f, ScreenInfoPoints = 0x10;

    /// <summary>VIDEO_TYPE_VGAC: a colour VGA in text mode.</summary>
    public const byte VideoTypeVgaColor = 0x22;

    /// <summary>E820_MAX_ENTRIES_ZEROPAGE: the table holds at most this many entries.</summary>
    public const int MaxE820Entries = 128;

    /// <summary>Size of one boot_e820_entry: addr (8), size (8), type (4), packed.</summary>
    public const int E820EntrySize = 20;

    /// <summary>type_of_loader for a loader without an assigned ID (boot.rst, "type_of_loader").</summary>
    public const byte UndefinedLoader = 0xff;

    /// <summary>vid_mode "normal" (boot.rst, "Special command line options": vga=normal is 0xFFFF).</summary>
    public const ushort VidModeNormal = 0xffff;

    /// <summary>
    /// Builds the page from the kernel file's header and what the loader placed. With <paramref name="vgaText"/> the machine's
    /// VGA is in text mode 3 (<see cref="VgaTextMode"/>), and screen_info says so, as the real-mode setup code would after asking the BIOS.
    /// </summary>
    public static byte[] Build(ReadOnlySpan<byte> kernel, SetupHeader header, E820Map map, uint cmdLinePtr, uint ramdiskImage, uint ramdiskSize, ulong rsdp, bool vgaText = false)
    {
        byte[] page = new byte[Size];
        Span<byte> p = page;
        if (vgaText)
        {
            WriteScreenInfo(p);
        }

        // boot.rst "Details of Header Fields": the loader copies the header from 0x1f1 to its end and fills the "write" fields.
        kernel[SetupHeader.Start..header.End].CopyTo(p[SetupHeader.Start..]);
        BinaryPrimitives.WriteUInt16LittleEndian(p[SetupHeader.VidModeOffset..], VidModeNormal);
        p[SetupHeader.TypeOfLoaderOffset] = UndefinedLoader;
        BinaryPrimitives.WriteUInt32LittleEndian(p[SetupHeader.CmdLinePtrOffset..], cmdLinePtr);
        BinaryPrimitives.WriteUInt32LittleEndian(p[SetupHeader.RamdiskImageOffset..], ramdiskImage);
        BinaryPrimitives.WriteUInt32LittleEndian(p[SetupHeader.RamdiskSizeOffset..], ramdiskSize);
        BinaryPrimitives.WriteUInt64LittleEndian(p[AcpiRsdpAddrOffset..], rsdp);

        if (map.Entries.Count > MaxE820Entries)
        {
            throw new InvalidOperationException($"the e820 map has {map.Entries.Count} entries; boot_params holds {MaxE820Entries}");
        }

        p[E820EntriesOffset] = (byte)map.Entries.Count;
        for (int i = 0; i < map.Entries.Count; i++)
        {
            Span<byte> e = p.Slice(E820TableOffset + (i * E820EntrySize), E820EntrySize);
            BinaryPrimitives.WriteUInt64LittleEndian(e, map.Entries[i].Address);
            BinaryPrimitives.WriteUInt64LittleEndian(e[8..], map.Entries[i].Size);
            BinaryPrimitives.WriteUInt32LittleEndian(e[16..], (uint)map.Entries[i].Type);
        }

        return page;
    }

    // struct screen_info at offset 0 (include/uapi/linux/screen_info.h): what arch/x86/boot/video.c
    // stores after INT 10h tells it the mode. Linux's vgacon starts only when mode, columns and
    // lines are not all zero; isVGA and an EGA BX other than 10h make it a colour "VGA+".
    private static void WriteScreenInfo(Span<byte> p)
    {
        p[ScreenInfoOrigX] = 0;
        p[ScreenInfoOrigY] = 0;
        p[ScreenInfoVideoMode] = 3;
        p[ScreenInfoVideoCols] = VgaTextMode.Columns;
        BinaryPrimitives.WriteUInt16LittleEndian(p[ScreenInfoEgaBx..], 0x0003); // BH 0: colour; BL 3: 256 KiB of video memory
        p[ScreenInfoVideoLines] = VgaTextMode.Rows;
        p[ScreenInfoIsVga] = VideoTypeVgaColor;
        BinaryPrimitives.WriteUInt16LittleEndian(p[ScreenInfoPoints..], VgaTextMode.CharHeight);
    }
}
