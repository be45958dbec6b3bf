namespace Emulator.Machines.Smbios;

/// <summary>SMBIOS type 1, System Information (DSP0134 7.2), in its 2.4+ layout of 1Bh bytes.</summary>
public static class SystemInformation
{
    /// <summary>The structure's type.</summary>
    public const byte Type = 1;

    private const byte Length = 0x1b;

    // 7.2.2: wake-up type "Power Switch".
    private const byte WakeUpPowerSwitch = 6;

    /// <summary>Builds the structure.</summary>
    /// <remarks>
    /// 7.2.1: from version 2.6 the UUID's first three fields are stored little-endian and the rest
    /// in order, which is the byte layout of <see cref="Guid.ToByteArray()"/>. No UUID is all zeros
    /// ("not present, but could be set").
    /// </remarks>
    public static SmbiosStructure Build(SmbiosSettings settings, string defaultManufacturer, string defaultProduct) =>
        new SmbiosStructure(Type, Length, SmbiosHandles.For(Type, 0))
            .String(0x04, settings.Manufacturer ?? defaultManufacturer)
            .String(0x05, settings.Product ?? defaultProduct)
            .String(0x06, settings.Version)
            .String(0x07, settings.Serial)
            .Bytes(0x08, (settings.Uuid ?? Guid.Empty).ToByteArray())
            .Byte(0x18, WakeUpPowerSwitch)
            .String(0x19, settings.Sku)
            .String(0x1a, settings.Family);
}
