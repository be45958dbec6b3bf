namespace Emulator.Machines.Smbios;

/// <summary>SMBIOS type 16, Physical Memory Array (DSP0134 7.17), in its 2.7 layout of 17h bytes.</summary>
public static class PhysicalMemoryArray
{
    /// <summary>The structure's type.</summary>
    public const byte Type = 16;

    /// <summary>The array's handle, which the memory devices and mapped addresses refer to.</summary>
    public static readonly ushort Handle = SmbiosHandles.For(Type, 0);

    private const byte Length = 0x17;

    // 7.17.1: location "Other"; 7.17.2: use "System memory"; 7.17.3: error correction "None".
    private const byte LocationOther = 0x01, UseSystemMemory = 0x03, NoErrorCorrection = 0x03;

    // 7.17: "no error information structure provided".
    private const ushort NoErrorInformation = 0xfffe;

    // 7.17: a Maximum Capacity of 8000_0000h means "see Extended Maximum Capacity" (in bytes).
    private const uint UseExtendedCapacity = 0x8000_0000;

    /// <summary>Builds the array of <paramref name="devices"/> devices holding <paramref name="memoryBytes"/>.</summary>
    public static SmbiosStructure Build(ulong memoryBytes, int devices)
    {
        ulong kib = memoryBytes >> 10;
        var s = new SmbiosStructure(Type, Length, Handle)
            .Byte(0x04, LocationOther)
            .Byte(0x05, UseSystemMemory)
            .Byte(0x06, NoErrorCorrection)
            .Word(0x0b, NoErrorInformation)
            .Word(0x0d, (ushort)devices);
        return kib < UseExtendedCapacity ? s.DWord(0x07, (uint)kib) : s.DWord(0x07, UseExtendedCapacity).QWord(0x0f, memoryBytes);
    }
}
