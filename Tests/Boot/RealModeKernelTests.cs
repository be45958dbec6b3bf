using System.Buffers.Binary;
using Emulator.Machines;
using Emulator.Machines.Loaders;
using Emulator.Machines.Loaders.Linux;
using Xunit;

namespace Emulator.Tests.Boot;

/// <summary>
/// The real-mode boot path's layout (Loaders/Linux/RealModeKernel) against Documentation/arch/x86/boot.rst:
/// which images need it, and the header fields a real-mode boot loader must fill in.
/// </summary>
public sealed class RealModeKernelTests : IDisposable
{
    private const ulong LowRamEnd = 256UL << 20;

    private readonly GuestMemory _m = new();

    public void Dispose() => _m.Dispose();

    private static byte[] WithoutProtectedModeEntry(byte[] image)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(SetupHeader.Code32StartOffset), 0);
        return image;
    }

    [Fact]
    public void OnlyAnImageWithoutAProtectedModeEntryNeedsIt()
    {
        Assert.False(RealModeKernel.Needed(LinuxLoaderTests.BzImage()));
        Assert.True(RealModeKernel.Needed(WithoutProtectedModeEntry(LinuxLoaderTests.BzImage())));
        Assert.False(RealModeKernel.Needed(new byte[0x300]));
        Assert.False(RealModeKernel.Needed(_m.File([])));
    }

    // The stock images: Debian's Linux and memtest86+ have a 32-bit entry; iPXE's ipxe.lkrn has none.
    [SkippableTheory]
    [InlineData("/boot/memtest86+x64.bin", false)]
    [InlineData("~/.cache/emu/guest/vmlinuz", false)]
    [InlineData("~/.cache/emu/stock/ipxe/ipxe.lkrn", true)]
    public void StockImages(string path, bool needed)
    {
        path = path.Replace("~", Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), StringComparison.Ordinal);
        Skip.IfNot(File.Exists(path), $"{path} is not here");
        Assert.Equal(needed, RealModeKernel.Needed(path));
    }

    [Fact]
    public void SetupHeaderIsFilledInAsBootRstAsksOfABootLoader()
    {
        byte[] image = WithoutProtectedModeEntry(LinuxLoaderTests.BzImage(sects: 5, kernelBytes: 0x3000));
        byte[] initrd = new byte[10_000];
        RealModeKernel k = RealModeKernel.Build(new KernelBootConfig { KernelPath = _m.File(image), InitrdPaths = [_m.File(initrd)], CommandLine = "console=ttyS0" }, LowRamEnd);

        // The setup code is the boot sector and the setup sectors; the rest is the protected-mode part.
        Assert.Equal(6 * 512, k.Setup.Length);
        Assert.Equal(image[(6 * 512)..], k.Kernel);
        Assert.Equal(0xff, k.Setup[SetupHeader.TypeOfLoaderOffset]);                   // "undefined" loader
        Assert.Equal(SetupHeader.LoadedHigh | SetupHeader.CanUseHeap, k.Setup[SetupHeader.LoadFlagsOffset]);
        Assert.Equal(0xe000 - 0x200, BinaryPrimitives.ReadUInt16LittleEndian(k.Setup.AsSpan(SetupHeader.HeapEndPtrOffset))); // heap end minus 0x200
        uint cmdLinePtr = BinaryPrimitives.ReadUInt32LittleEndian(k.Setup.AsSpan(SetupHeader.CmdLinePtrOffset));
        Assert.Equal(RealModeKernel.SetupAddress + 0xe000u, cmdLinePtr);                  // right after the heap, below 0xA0000
        Assert.Equal("console=ttyS0\0"u8.ToArray(), k.Cmdline);

        // The initrd: page-aligned, clear of the kernel, below the last MiB that firmware keeps.
        uint ramdisk = BinaryPrimitives.ReadUInt32LittleEndian(k.Setup.AsSpan(SetupHeader.RamdiskImageOffset));
        Assert.Equal(k.InitrdAddress, ramdisk);
        Assert.Equal((uint)initrd.Length, BinaryPrimitives.ReadUInt32LittleEndian(k.Setup.AsSpan(SetupHeader.RamdiskSizeOffset)));
        Assert.Equal(0u, ramdisk % 4096);
        Assert.True(ramdisk + (ulong)initrd.Length <= LowRamEnd - RealModeKernel.FirmwareReserve);
        Assert.True(ramdisk > RealModeKernel.KernelAddress + (ulong)k.Kernel.Length);
        Assert.Equal(initrd, k.Initrd);

        // Everything else of the header is the file's.
        int[] filled = [SetupHeader.TypeOfLoaderOffset, SetupHeader.LoadFlagsOffset, SetupHeader.HeapEndPtrOffset, SetupHeader.HeapEndPtrOffset + 1,
            .. Enumerable.Range(SetupHeader.CmdLinePtrOffset, 4), .. Enumerable.Range(SetupHeader.RamdiskImageOffset, 8)];
        Assert.All(Enumerable.Range(0, k.Setup.Length).Where(i => !filled.Contains(i)), i => Assert.Equal(image[i], k.Setup[i]));
    }

    [Fact]
    public void InitrdStaysBelowInitrdAddrMax()
    {
        byte[] image = WithoutProtectedModeEntry(LinuxLoaderTests.BzImage(initrdAddrMax: 0x3ff_ffff));
        RealModeKernel k = RealModeKernel.Build(new KernelBootConfig { KernelPath = _m.File(image), InitrdPaths = [_m.File(new byte[5000])] }, LowRamEnd);
        Assert.True(k.InitrdAddress + 5000 <= 0x400_0000);
    }

    [Fact]
    public void TooLongACommandLineIsOneLineNamingAppend()
    {
        byte[] image = WithoutProtectedModeEntry(LinuxLoaderTests.BzImage(cmdlineSize: 16));
        var e = Assert.Throws<MachineConfigException>(() => RealModeKernel.Build(new KernelBootConfig { KernelPath = _m.File(image), CommandLine = new string('x', 17) }, LowRamEnd));
        Assert.StartsWith("--append:", e.Message, StringComparison.Ordinal);
    }
}
