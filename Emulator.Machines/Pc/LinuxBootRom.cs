using System.Buffers.Binary;
using Emulator.Devices.FwCfg;
using Emulator.Machines.Loaders;
using Emulator.Machines.Loaders.Linux;

namespace Emulator.Machines.Pc;

/// <summary>
/// emu's own option ROM for kernels that start in real mode (Roms/optionroms/linuxboot.asm, embedded
/// in this assembly) and the fw_cfg items it copies the kernel from. The item numbers are QEMU's
/// (docs/specs/fw_cfg.rst); every address and size item is 32 bits, little-endian.
/// </summary>
public static class LinuxBootRom
{
    /// <summary>The ROM's fw_cfg file; SeaBIOS runs every <c>genroms/</c> file.</summary>
    public const string FileName = OptionRomImage.Directory + "linuxboot.bin";

    /// <summary>The ROM's boot-order entry: SeaBIOS's name for the bootstrap entry of a <c>genroms/</c> ROM ("/rom@" and its file).</summary>
    public const string BootPath = "/rom@" + FileName;

    private static readonly Lazy<byte[]> Bytes = new(() => EmbeddedRom.Read("linuxboot.bin"));

    /// <summary>The 512-byte ROM.</summary>
    public static byte[] Image => Bytes.Value;

    /// <summary>Puts the ROM and <paramref name="kernel"/>'s pieces into <paramref name="fwCfg"/>.</summary>
    public static void AddTo(FwCfgDevice fwCfg, RealModeKernel kernel)
    {
        fwCfg.AddFile(FileName, Image);
        Add(fwCfg, FwCfgKeys.SetupAddr, FwCfgKeys.SetupSize, FwCfgKeys.SetupData, RealModeKernel.SetupAddress, kernel.Setup);
        Add(fwCfg, FwCfgKeys.KernelAddr, FwCfgKeys.KernelSize, FwCfgKeys.KernelData, RealModeKernel.KernelAddress, kernel.Kernel);
        Add(fwCfg, FwCfgKeys.InitrdAddr, FwCfgKeys.InitrdSize, FwCfgKeys.InitrdData, kernel.InitrdAddress, kernel.Initrd);
        Add(fwCfg, FwCfgKeys.CmdlineAddr, FwCfgKeys.CmdlineSize, FwCfgKeys.CmdlineData, RealModeKernel.CmdlineAddress, kernel.Cmdline);
    }

    private static void Add(FwCfgDevice fwCfg, ushort addressKey, ushort sizeKey, ushort dataKey, uint address, byte[] data)
    {
        fwCfg.AddItem(addressKey, Le32(address));
        fwCfg.AddItem(sizeKey, Le32((uint)data.Length));
        fwCfg.AddItem(dataKey, data);
    }

    private static byte[] Le32(uint value)
    {
        byte[] b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        return b;
    }
}
