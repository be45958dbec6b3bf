using System.Buffers.Binary;
using Emulator.Core.Cpu;
using Emulator.Machines;
using Emulator.Machines.Loaders;
using Emulator.Machines.Loaders.Linux;
using Emulator.Machines.Pc;
using Xunit;

namespace Emulator.Tests.Boot;

/// <summary>The Linux boot protocol loader against synthetic bzImages built here (Documentation/arch/x86/boot.rst).</summary>
public sealed class LinuxLoaderTests : IDisposable
{
    private const ulong Rsdp = 0x9_fc00;
    private readonly GuestMemory _m = new();

    public void Dispose() => _m.Dispose();

    // A bzImage of protocol `version`: boot sector + `sects` setup sectors, then a protected-mode
    // kernel whose first bytes are 0x11 and whose byte at 0x200 is 0x64 (the 64-bit entry).
    internal static byte[] BzImage(ushort version = 0x20f, byte sects = 4, int kernelBytes = 0x1000, uint initSize = 0x10_0000,
        ushort xloadflags = SetupHeader.XlfKernel64, uint cmdlineSize = 2047, uint initrdAddrMax = 0x7fff_ffff, byte loadFlags = SetupHeader.LoadedHigh,
        uint sysSize = 0)
    {
        byte[] k = new byte[((sects + 1) * 512) + kernelBytes];
        k[SetupHeader.SetupSectsOffset] = sects;
        W32(k, SetupHeader.SysSizeOffset, sysSize);
        W16(k, SetupHeader.BootFlagOffset, 0xaa55);
        k[SetupHeader.JumpOffset] = 0xeb;
        k[SetupHeader.JumpOffset + 1] = 0x66; // header ends at 0x268
        W32(k, SetupHeader.HeaderOffset, SetupHeader.HdrSMagic);
        W16(k, SetupHeader.VersionOffset, version);
        k[SetupHeader.LoadFlagsOffset] = loadFlags;
        W32(k, SetupHeader.Code32StartOffset, 0x10_0000);
        W32(k, SetupHeader.InitrdAddrMaxOffset, initrdAddrMax);
        W32(k, SetupHeader.KernelAlignmentOffset, 0x20_0000);
        k[SetupHeader.RelocatableOffset] = 1;
        W16(k, SetupHeader.XLoadFlagsOffset, xloadflags);
        W32(k, SetupHeader.CmdlineSizeOffset, cmdlineSize);
        BinaryPrimitives.WriteUInt64LittleEndian(k.AsSpan(SetupHeader.PrefAddressOffset), 0x20_0000);
        W32(k, SetupHeader.InitSizeOffset, initSize);
        int pm = (sects + 1) * 512;
        k[pm] = 0x11;
        k[pm + 0x200] = 0x64;
        return k;
    }

    private static void W16(byte[] b, int o, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(o), v);

    private static void W32(byte[] b, int o, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(o), v);

    private LoadedKernel Load(byte[] kernel, string cmdline = "", byte[]? initrd = null, bool longMode = false) =>
        KernelLoader.Load(_m.Space, _m.Map, new KernelBootConfig
        {
            KernelPath = _m.File(kernel),
            InitrdPaths = initrd is null ? [] : [_m.File(initrd)],
            CommandLine = cmdline,
            LinuxLongModeEntry = longMode,
        }, Rsdp);

    [Fact]
    public void ThirtyTwoBitEntryFollowsTheBootProtocol()
    {
        LoadedKernel k = Load(BzImage(), "console=ttyS0 quiet");
        CpuState s = k.Entry;

        Assert.Equal(0x11, _m.Read(LinuxLoader.KernelAddress, 1)[0]);
        Assert.Equal(LinuxLoader.KernelAddress, s.Rip);
        Assert.Equal(LinuxLoader.BootParamsAddress, s.Gpr[(int)Gpr.Rsi]);
        Assert.Equal(0UL, s.Gpr[(int)Gpr.Rbp] | s.Gpr[(int)Gpr.Rdi] | s.Gpr[(int)Gpr.Rbx]);
        Assert.Equal(0UL, s.Rflags & (1 << 9));
        Assert.Equal(0x11UL, s.Cr0 & 0x8000_0011);
        Assert.Equal(FlatSegments.CodeSelector, s.Segments[(int)Seg.Cs].Selector);
        foreach (Seg seg in new[] { Seg.Ds, Seg.Es, Seg.Ss })
        {
            Assert.Equal(FlatSegments.DataSelector, s.Segments[(int)seg].Selector);
        }

        // The GDT in memory holds the same flat descriptors the segment caches were given.
        ulong cs = _m.U64(s.Gdtr.Base + FlatSegments.CodeSelector);
        ulong ds = _m.U64(s.Gdtr.Base + FlatSegments.DataSelector);
        Assert.Equal(0x00cf_9b00_0000_ffffUL, cs);
        Assert.Equal(0x00cf_9300_0000_ffffUL, ds);
        Assert.True(s.Gdtr.Limit >= FlatSegments.DataSelector + 7);
        Assert.Contains("2.15", k.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void BootParamsCarryHeaderLoaderFieldsCommandLineE820AndRsdp()
    {
        byte[] image = BzImage();
        Load(image, "console=ttyS0 root=/dev/vda", initrd: [1, 2, 3, 4, 5]);
        ulong bp = LinuxLoader.BootParamsAddress;
        byte[] page = _m.Read(bp, BootParams.Size);

        // The header copy from 0x1f1 to its end, except the fields the loader writes.
        Assert.Equal(image.AsSpan(0x202, 4).ToArray(), page.AsSpan(0x202, 4).ToArray());
        Assert.Equal(image[SetupHeader.SetupSectsOffset], page[SetupHeader.SetupSectsOffset]);
        Assert.Equal(0xff, page[SetupHeader.TypeOfLoaderOffset]);
        Assert.Equal(0xffff, BinaryPrimitives.ReadUInt16LittleEndian(page.AsSpan(SetupHeader.VidModeOffset)));
        Assert.Equal(2047u, BinaryPrimitives.ReadUInt32LittleEndian(page.AsSpan(SetupHeader.CmdlineSizeOffset)));

        uint cmd = BinaryPrimitives.ReadUInt32LittleEndian(page.AsSpan(SetupHeader.CmdLinePtrOffset));
        Assert.Equal("console=ttyS0 root=/dev/vda", _m.CString(cmd));

        uint initrd = BinaryPrimitives.ReadUInt32LittleEndian(page.AsSpan(SetupHeader.RamdiskImageOffset));
        Assert.Equal(5u, BinaryPrimitives.ReadUInt32LittleEndian(page.AsSpan(SetupHeader.RamdiskSizeOffset)));
        Assert.Equal(0u, initrd % 4096);
        Assert.True(initrd + 5 <= _m.Map.LowRamEnd, "the initrd is below the ACPI tables");
        Assert.True(initrd >= 0x20_0000 + 0x10_0000, "the initrd is above pref_address + init_size");
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, _m.Read(initrd, 5));

        Assert.Equal(Rsdp, BinaryPrimitives.ReadUInt64LittleEndian(page.AsSpan(BootParams.AcpiRsdpAddrOffset)));
        Assert.Equal(_m.Map.Entries.Count, page[BootParams.E820EntriesOffset]);
        for (int i = 0; i < _m.Map.Entries.Count; i++)
        {
            ReadOnlySpan<byte> e = page.AsSpan(BootParams.E820TableOffset + (20 * i), 20);
            Assert.Equal(_m.Map.Entries[i], new E820Entry(
                BinaryPrimitives.ReadUInt64LittleEndian(e), BinaryPrimitives.ReadUInt64LittleEndian(e[8..]), (E820Type)BinaryPrimitives.ReadUInt32LittleEndian(e[16..])));
        }
    }

    [Fact]
    public void InitrdStaysBelowInitrdAddrMax()
    {
        Load(BzImage(initrdAddrMax: 0x1ff_ffff), initrd: new byte[10000]);
        uint initrd = _m.U32(LinuxLoader.BootParamsAddress + SetupHeader.RamdiskImageOffset);
        Assert.True(initrd + 10000 - 1 <= 0x1ff_ffff);
    }

    [Fact]
    public void SixtyFourBitEntryIdentityMapsAndEntersLongMode()
    {
        LoadedKernel k = Load(BzImage(), longMode: true);
        CpuState s = k.Entry;

        Assert.Equal(LinuxLoader.KernelAddress + 0x200, s.Rip);
        Assert.Equal(0x64, _m.Read(s.Rip, 1)[0]);
        Assert.Equal(LinuxLoader.BootParamsAddress, s.Gpr[(int)Gpr.Rsi]);
        Assert.Equal(0x8000_0001UL, s.Cr0 & 0x8000_0001);
        Assert.Equal(0x20UL, s.Cr4 & 0x20);
        Assert.Equal(0x500UL, s.Efer & 0x500);
        Assert.True(s.Segments[(int)Seg.Cs].Long);
        Assert.Equal(0x00af_9b00_0000_ffffUL, _m.U64(s.Gdtr.Base + FlatSegments.CodeSelector));

        // Walk the tables for a few addresses: each maps onto itself through a 2 MiB page.
        foreach (ulong va in new ulong[] { 0, LinuxLoader.BootParamsAddress, 0x10_0200, 0x7fe_1234, 0xffff_fff0 })
        {
            ulong pml4e = _m.U64((s.Cr3 & ~0xfffUL) + (((va >> 39) & 511) * 8));
            ulong pdpte = _m.U64((pml4e & ~0xfffUL) + (((va >> 30) & 511) * 8));
            ulong pde = _m.U64((pdpte & ~0xfffUL) + (((va >> 21) & 511) * 8));
            Assert.Equal(0x83UL, pde & 0x83);
            Assert.Equal(va, (pde & ~0x1f_ffffUL & 0xf_ffff_ffff_f000UL) | (va & 0x1f_ffff));
        }
    }

    public static TheoryData<string, byte[], string> BadKernels => new()
    {
        { "too old", BzImage(version: 0x205), "2.05 is too old" },
        { "truncated header", BzImage()[..0x210], "truncated" },
        { "no kernel after setup", BzImage()[..(5 * 512)], "truncated" },
        { "zImage", BzImage(loadFlags: 0), "zImage" },
        { "needs more RAM", BzImage(initSize: 0x1000_0000), "give more --memory" },
        { "cut by a whole paragraph", BzImage(kernelBytes: 0x1000 - 16, sysSize: 0x100), "syssize claims 4096 bytes" },
        { "cut by more", BzImage(kernelBytes: 0x800, sysSize: 0x100), "truncated" },
    };

    // boot.rst, "syssize": 16-byte paragraphs, so the last one may run past the end of the file
    // (by up to 15 bytes); the loader pads them with zeros, whatever RAM held before.
    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    [InlineData(15)]
    public void SyssizeRoundedUpToAParagraphIsPaddedWithZeros(int missing)
    {
        byte[] kernel = BzImage(kernelBytes: 0x1000 - missing, sysSize: 0x100);
        kernel[^1] = 0x5a;
        _m.Space.Write(new Emulator.Core.Memory.GuestPhysicalAddress(LinuxLoader.KernelAddress), Enumerable.Repeat((byte)0xff, 0x1010).ToArray());

        Load(kernel);

        byte[] loaded = _m.Read(LinuxLoader.KernelAddress, 0x1010);
        Assert.Equal(0x11, loaded[0]);
        Assert.Equal(0x5a, loaded[0x1000 - missing - 1]);
        Assert.All(loaded[(0x1000 - missing)..0x1000], b => Assert.Equal(0, b));
        Assert.All(loaded[0x1000..], b => Assert.Equal(0xff, b)); // nothing past syssize * 16
    }

    // memtest86+'s Linux-boot-protocol image (Debian package memtest86+, which .ci/run installs) is
    // such a file: its syssize claims 8 bytes more than it holds, and GRUB and QEMU boot it.
    [SkippableFact]
    public void MemtestImageLoadsWithItsLastParagraphPadded()
    {
        const string Memtest = "/boot/memtest86+x64.bin";
        Skip.IfNot(File.Exists(Memtest), $"{Memtest} is not installed (apt-get install memtest86+)");
        byte[] image = File.ReadAllBytes(Memtest);
        SetupHeader h = SetupHeader.Parse(image, Memtest);
        ulong held = (ulong)(image.Length - h.KernelOffset);
        Assert.InRange(h.ProtectedModeSize - held, 1UL, 15UL);

        LoadedKernel k = KernelLoader.Load(_m.Space, _m.Map, new KernelBootConfig { KernelPath = Memtest, CommandLine = "console=ttyS0,115200" }, Rsdp);

        Assert.Contains("Linux bzImage", k.Description, StringComparison.Ordinal);
        Assert.True(_m.Read(LinuxLoader.KernelAddress, (int)held).AsSpan().SequenceEqual(image.AsSpan(h.KernelOffset)));
        Assert.All(_m.Read(LinuxLoader.KernelAddress + held, (int)(h.ProtectedModeSize - held)), b => Assert.Equal(0, b));
    }

    [Theory]
    [MemberData(nameof(BadKernels))]
    public void BadKernelsGiveOneLineNamingTheFileAndLeaveMemoryAlone(string why, byte[] kernel, string expected)
    {
        string path = _m.File(kernel);
        byte[] before = _m.Read(0, 0x20_0000);

        var e = Assert.Throws<MachineConfigException>(() => KernelLoader.Load(_m.Space, _m.Map, new KernelBootConfig { KernelPath = path }, Rsdp));

        Assert.StartsWith($"--kernel {path}: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.True(before.AsSpan().SequenceEqual(_m.Read(0, 0x20_0000)), why);
    }

    [Fact]
    public void InitrdLargerThanRamIsRefusedBeforeReadingIt()
    {
        string kernel = _m.File(BzImage());
        string initrd = Path.GetTempFileName();
        try
        {
            using (var f = new FileStream(initrd, FileMode.Create))
            {
                f.SetLength(128L << 20); // sparse: larger than the 64 MiB guest
            }

            var e = Assert.Throws<MachineConfigException>(() => KernelLoader.Load(_m.Space, _m.Map, new KernelBootConfig { KernelPath = kernel, InitrdPaths = [initrd] }, Rsdp));
            Assert.StartsWith($"--initrd {initrd}: ", e.Message, StringComparison.Ordinal);
            Assert.Contains("larger than the guest RAM", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(initrd);
        }
    }

    [Fact]
    public void InitrdThatFitsTheFileButNotBesideTheKernelIsRefused()
    {
        var e = Assert.Throws<MachineConfigException>(() => Load(BzImage(initSize: 0x300_0000), initrd: new byte[40 << 20]));
        Assert.Contains("do not fit", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CommandLineLongerThanCmdlineSizeIsRefused()
    {
        var e = Assert.Throws<MachineConfigException>(() => Load(BzImage(cmdlineSize: 16), new string('x', 17)));
        Assert.StartsWith("--append: 17 bytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LongModeEntryNeedsXlfKernel64()
    {
        var e = Assert.Throws<MachineConfigException>(() => Load(BzImage(xloadflags: 0), longMode: true));
        Assert.Contains("XLF_KERNEL_64", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MoreThanOneInitrdIsRefusedForLinux()
    {
        var e = Assert.Throws<MachineConfigException>(() => KernelLoader.Load(_m.Space, _m.Map, new KernelBootConfig
        {
            KernelPath = _m.File(BzImage()),
            InitrdPaths = [_m.File([1]), _m.File([2])],
        }, Rsdp));
        Assert.Contains("one initrd", e.Message, StringComparison.Ordinal);
    }

    // The stock Debian kernel, when scripts/guest-images.sh has fetched it or the host has one.
    private static string? RealKernel()
    {
        string cached = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "emu", "guest", "vmlinuz");
        if (File.Exists(cached))
        {
            return cached;
        }

        return Directory.Exists("/boot") ? Directory.GetFiles("/boot", "vmlinuz-*").FirstOrDefault() : null;
    }

    [SkippableFact]
    public void RealBzImageParsesAndLoads()
    {
        string? path = RealKernel();
        Skip.If(path is null, "no bzImage found (run scripts/guest-images.sh)");
        byte[] image;
        try
        {
            image = File.ReadAllBytes(path!);
        }
        catch (UnauthorizedAccessException)
        {
            Skip.If(true, $"{path} is not readable");
            return;
        }

        SetupHeader h = SetupHeader.Parse(image, path!);
        Assert.True(h.Version >= 0x20c, $"protocol 0x{h.Version:x}");
        Assert.True(h.Relocatable);
        Assert.NotEqual(0, h.XLoadFlags & SetupHeader.XlfKernel64);
        Assert.True(h.InitSize > (uint)(image.Length - h.KernelOffset));

        using var big = new GuestMemory(256 << 20);
        LoadedKernel k = KernelLoader.Load(big.Space, big.Map, new KernelBootConfig { KernelPath = path!, CommandLine = "console=ttyS0" }, Rsdp);
        Assert.Equal(image.AsSpan(h.KernelOffset, 4096).ToArray(), big.Read(LinuxLoader.KernelAddress, 4096));
        Assert.Equal(LinuxLoader.KernelAddress, k.Entry.Rip);
    }
}
