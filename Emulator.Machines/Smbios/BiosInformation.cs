namespace Emulator.Machines.Smbios;

/// <summary>SMBIOS type 0, BIOS Information (DSP0134 7.1), in its 2.4+ layout of 18h bytes.</summary>
public static class BiosInformation
{
    /// <summary>The structure's type.</summary>
    public const byte Type = 0;

    private const byte Length = 0x18;

    // The segment a legacy BIOS's runtime image starts at (E8000h: the last 96 KiB below 1 MiB).
    private const ushort StartingSegment = 0xe800;

    // 7.1.1, bit 3: "BIOS Characteristics are not supported": emu claims no feature it cannot show.
    private const ulong CharacteristicsNotSupported = 1 << 3;

    // 7.1.2.2 (extension byte 2), bit 2: enable targeted content distribution; bit 4: SMBIOS table
    // describes a virtual machine.
    private const byte ExtensionByte2 = (1 << 2) | (1 << 4);

    /// <summary>Builds the structure; a string left unset is absent (string number 0), as under QEMU.</summary>
    public static SmbiosStructure Build(SmbiosSettings settings) =>
        new SmbiosStructure(Type, Length, SmbiosHandles.For(Type, 0))
            .String(0x04, settings.BiosVendor)
            .String(0x05, settings.BiosVersion)
            .Word(0x06, StartingSegment)
            .String(0x08, settings.BiosDate)
            .Byte(0x09, 0) // ROM size: (n + 1) * 64 KiB
            .QWord(0x0a, CharacteristicsNotSupported)
            .Byte(0x12, 0)
            .Byte(0x13, ExtensionByte2)
            .Byte(0x14, settings.BiosRelease?.Major ?? 0)
            .Byte(0x15, settings.BiosRelease?.Minor ?? 0)
            .Byte(0x16, 0xff) // no embedded controller firmware
            .Byte(0x17, 0xff);
}
