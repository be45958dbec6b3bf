namespace Emulator.Jit.State;

/// <summary>Indices of the model-specific registers this CPU model implements (Intel SDM Vol. 4 Table 2-2).</summary>
internal static class Msr
{
    public const uint Tsc = 0x10;
    public const uint SysenterCs = 0x174, SysenterEsp = 0x175, SysenterEip = 0x176;
    public const uint Efer = 0xc000_0080;
    public const uint Star = 0xc000_0081, Lstar = 0xc000_0082, Cstar = 0xc000_0083, Sfmask = 0xc000_0084;
    public const uint FsBase = 0xc000_0100, GsBase = 0xc000_0101, KernelGsBase = 0xc000_0102;
}
