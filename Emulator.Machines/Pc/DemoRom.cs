namespace Emulator.Machines.Pc;

/// <summary>The demo guest of Roms/demo (assembled from demo.asm, embedded in this assembly): what `emu run` boots when given no kernel or firmware.</summary>
public static class DemoRom
{
    private static readonly Lazy<byte[]> Bytes = new(() => EmbeddedRom.Read("demo.bin"));

    /// <summary>The 64 KiB firmware image.</summary>
    public static byte[] Image => Bytes.Value;
}
