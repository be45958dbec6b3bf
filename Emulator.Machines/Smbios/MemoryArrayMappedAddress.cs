namespace Emulator.Machines.Smbios;

/// <summary>SMBIOS type 19, Memory Array Mapped Address (DSP0134 7.20), in its 2.7 layout of 1Fh bytes.</summary>
public static class MemoryArrayMappedAddress
{
    /// <summary>The structure's type.</summary>
    public const byte Type = 19;

    private const byte Length = 0x1f;

    // 7.20: a Starting Address of FFFF_FFFFh means "see the extended addresses" (in bytes).
    private const uint UseExtendedAddresses = 0xffff_ffff;

    /// <summary>Builds range <paramref name="index"/>: <paramref name="bytes"/> of the array's RAM at <paramref name="address"/>.</summary>
    public static SmbiosStructure Build(int index, ulong address, ulong bytes)
    {
        ulong startKib = address >> 10, endKib = ((address + bytes) >> 10) - 1;
        var s = new SmbiosStructure(Type, Length, SmbiosHandles.For(Type, index))
            .Word(0x0c, PhysicalMemoryArray.Handle)
            .Byte(0x0e, 1); // partition width: one device wide
        return endKib < UseExtendedAddresses
            ? s.DWord(0x04, (uint)startKib).DWord(0x08, (uint)endKib)
            : s.DWord(0x04, UseExtendedAddresses).DWord(0x08, UseExtendedAddresses).QWord(0x0f, address).QWord(0x17, address + bytes - 1);
    }
}
