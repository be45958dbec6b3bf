namespace Emulator.Machines.Smbios;

/// <summary>SMBIOS type 17, Memory Device (DSP0134 7.18), in its 2.8 layout of 28h bytes.</summary>
public static class MemoryDevice
{
    /// <summary>The structure's type.</summary>
    public const byte Type = 17;

    /// <summary>The most one device describes: RAM is split into devices of at most this size.</summary>
    public const ulong MaxDeviceBytes = 16UL << 30;

    private const byte Length = 0x28;

    // 7.18.1: form factor "DIMM"; 7.18.2: memory type "RAM"; 7.18.3: type detail bit 1 "Other".
    private const byte FormFactorDimm = 0x09, MemoryTypeRam = 0x07;
    private const ushort TypeDetailOther = 0x02;

    // 7.18: "no error information structure provided"; 7.18.5: a Size of 7FFFh means "see Extended Size" (in MiB).
    private const ushort NoErrorInformation = 0xfffe, UseExtendedSize = 0x7fff;

    /// <summary>Builds device <paramref name="index"/> of <paramref name="bytes"/> (a whole number of MiB).</summary>
    public static SmbiosStructure Build(int index, ulong bytes)
    {
        ulong mib = bytes >> 20;
        var s = new SmbiosStructure(Type, Length, SmbiosHandles.For(Type, index))
            .Word(0x04, PhysicalMemoryArray.Handle)
            .Word(0x06, NoErrorInformation)
            .Word(0x08, 64) // total width in bits
            .Word(0x0a, 64) // data width in bits
            .Byte(0x0e, FormFactorDimm)
            .String(0x10, $"DIMM {index}")
            .Byte(0x12, MemoryTypeRam)
            .Word(0x13, TypeDetailOther);
        return mib < UseExtendedSize ? s.Word(0x0c, (ushort)mib) : s.Word(0x0c, UseExtendedSize).DWord(0x1c, (uint)mib);
    }
}
