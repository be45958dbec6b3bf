namespace Emulator.Machines.Smbios;

/// <summary>SMBIOS type 32, System Boot Information (DSP0134 7.33): 0Bh bytes, boot status "No errors detected".</summary>
public static class SystemBootInformation
{
    /// <summary>The structure's type.</summary>
    public const byte Type = 32;

    /// <summary>Builds the structure (6 reserved bytes, then the status byte 0).</summary>
    public static SmbiosStructure Build() => new(Type, 0x0b, SmbiosHandles.For(Type, 0));
}
