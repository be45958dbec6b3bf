namespace Emulator.Machines.Smbios;

/// <summary>SMBIOS type 3, System Enclosure or Chassis (DSP0134 7.4), with no contained elements and the 2.7 SKU field: 16h bytes.</summary>
public static class SystemEnclosure
{
    /// <summary>The structure's type.</summary>
    public const byte Type = 3;

    private const byte Length = 0x16;

    // 7.4.1: chassis type "Other"; 7.4.2: states "Safe"; 7.4.3: security status "Unknown".
    private const byte ChassisOther = 0x01, StateSafe = 0x03, SecurityUnknown = 0x02;

    /// <summary>Builds the structure.</summary>
    public static SmbiosStructure Build(string manufacturer) =>
        new SmbiosStructure(Type, Length, SmbiosHandles.For(Type, 0))
            .String(0x04, manufacturer)
            .Byte(0x05, ChassisOther)
            .Byte(0x09, StateSafe) // boot-up state
            .Byte(0x0a, StateSafe) // power supply state
            .Byte(0x0b, StateSafe) // thermal state
            .Byte(0x0c, SecurityUnknown);
}
