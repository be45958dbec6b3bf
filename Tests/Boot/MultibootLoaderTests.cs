using System.Buffers.Binary;
using Emulator.Core.Cpu;
using Emulator.Machines;
using Emulator.Machines.Loaders;
using Emulator.Machines.Loaders.Multiboot;
using Emulator.Machines.Pc;
using Xunit;

namespace Emulator.Tests.Boot;

/// <summary>The multiboot loader against synthetic kernels built here (Multiboot 0.6.96).</summary>
public sealed class MultibootLoaderTests : IDisposable
{
    private readonly GuestMemory _m = new();

    public void Dispose() => _m.Dispose();

    // A flat a.out-kludge kernel: 12 bytes of padding, the header at offset 12, code after it.
    private static byte[] AoutKernel(uint flags = MultibootHeader.AoutKludge, uint load = 0x20_0000, uint? loadEnd = null, uint? bssEnd = null, uint? entry = null, int size = 0x100)
    {
        byte[] k = new byte[size];
        int h = 12;
        W(k, h, MultibootHeader.Magic);
        W(k, h + 4, flags);
        W(k, h + 8, unchecked(0u - MultibootHeader.Magic - flags));
        W(k, h + 12, load + (uint)h);
        W(k, h + 16, load);
        W(k, h + 20, loadEnd ?? load + (uint)size);
        W(k, h + 24, bssEnd ?? load + 0x2000);
        W(k, h + 28, entry ?? load + 0x40);
        k[0x40] = 0xf4; // hlt
        k[size - 1] = 0xaa;
        return k;
    }

    private static void W(byte[] b, int offset, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(offset), v);

    private static void W16(byte[] b, int offset, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(offset), v);

    private LoadedKernel Load(byte[] kernel, string cmdline = "", params byte[][] modules) =>
        KernelLoader.Load(_m.Space, _m.Map, new KernelBootConfig
        {
            KernelPath = _m.File(kernel),
            InitrdPaths = [.. modules.Select(_m.File)],
            CommandLine = cmdline,
        }, 0);

    [Fact]
    public void AoutKludgeKernelIsLoadedAndEnteredAsTheSpecificationSays()
    {
        // Dirty the bss first: the loader must clear it.
        _m.Space.Write(new(0x20_0100), new byte[] { 1, 2, 3 });
        LoadedKernel k = Load(AoutKernel(), "root=/dev/x quiet", [1, 2, 3], [4, 5]);

        Assert.Equal(0xf4, _m.Read(0x20_0040, 1)[0]);
        Assert.Equal(0xaa, _m.Read(0x20_00ff, 1)[0]);
        Assert.Equal(new byte[3], _m.Read(0x20_0100, 3));

        CpuState s = k.Entry;
        Assert.Equal(0x20_0040UL, s.Rip);
        Assert.Equal(MultibootHeader.BootloaderMagic, s.Gpr[(int)Gpr.Rax]);
        Assert.Equal(MultibootInfo.Address, s.Gpr[(int)Gpr.Rbx]);
        Assert.Equal(0x11UL, s.Cr0 & 0x8000_0011); // PE, no PG
        Assert.Equal(0UL, s.Rflags & ((1 << 9) | (1 << 17))); // IF, VM clear
        foreach (SegmentRegister seg in s.Segments)
        {
            Assert.Equal(0UL, seg.Base);
            Assert.Equal(0xffff_ffffu, seg.Limit);
            Assert.True(seg.DefaultBig);
        }

        Assert.Equal(8u, s.Segments[(int)Seg.Cs].Type & 8); // code
    }

    [Fact]
    public void InformationStructureDescribesMemoryCommandLineModulesAndMap()
    {
        Load(AoutKernel(), "console=ttyS0 x=1", [1, 2, 3], [4, 5]);
        uint info = MultibootInfo.Address;

        uint flags = _m.U32(info);
        Assert.Equal(MultibootInfo.FlagMemory | MultibootInfo.FlagCmdline | MultibootInfo.FlagMods | MultibootInfo.FlagMmap | MultibootInfo.FlagLoaderName, flags);
        Assert.Equal(639u, _m.U32(info + 4));
        Assert.Equal(_m.Map.MemUpperKiB, _m.U32(info + 8));
        // The kernel's file name, a space, then --append: QEMU's -kernel (hw/i386/multiboot.c) and
        // GRUB's "kernel" line pass the command line so.
        Assert.Matches(@"^\S+\.tmp console=ttyS0 x=1$", _m.CString(_m.U32(info + 16)));
        Assert.Equal("emu", _m.CString(_m.U32(info + 64)));

        Assert.Equal(2u, _m.U32(info + 20));
        uint mods = _m.U32(info + 24);
        uint start0 = _m.U32(mods), end0 = _m.U32(mods + 4);
        uint start1 = _m.U32(mods + 16), end1 = _m.U32(mods + 20);
        Assert.Equal(0u, start0 % 4096);
        Assert.Equal(0u, start1 % 4096);
        Assert.True(start0 >= 0x20_2000, "modules go after the kernel's bss");
        Assert.Equal(3u, end0 - start0);
        Assert.Equal(new byte[] { 1, 2, 3 }, _m.Read(start0, 3));
        Assert.Equal(2u, end1 - start1);
        Assert.Equal(new byte[] { 4, 5 }, _m.Read(start1, 2));
        Assert.EndsWith(".tmp", _m.CString(_m.U32(mods + 8)), StringComparison.Ordinal);

        uint mmapLength = _m.U32(info + 44), mmap = _m.U32(info + 48);
        var entries = new List<E820Entry>();
        for (uint a = mmap; a < mmap + mmapLength; a += _m.U32(a) + 4)
        {
            Assert.Equal(20u, _m.U32(a));
            entries.Add(new E820Entry(_m.U64(a + 4), _m.U64(a + 12), (E820Type)_m.U32(a + 20)));
        }

        Assert.Equal(_m.Map.Entries, entries);
    }

    [Fact]
    public void Elf32KernelIsLoadedFromItsProgramHeaders()
    {
        // ELF header, one PT_LOAD at file offset 0x100 for 0x20 bytes, memsz 0x1000, paddr 3 MiB;
        // linked high (vaddr 0xC0300000) with a virtual entry, as higher-half kernels are.
        byte[] k = new byte[0x200];
        k[0] = 0x7f; k[1] = (byte)'E'; k[2] = (byte)'L'; k[3] = (byte)'F'; k[4] = 1; k[5] = 1; k[6] = 1;
        W16(k, 16, 2);
        W16(k, 18, 3);
        W(k, 24, 0xc030_0010);
        W(k, 28, 52);
        W16(k, 42, 32);
        W16(k, 44, 1);
        W(k, 52, 1);
        W(k, 56, 0x100);
        W(k, 60, 0xc030_0000);
        W(k, 64, 0x30_0000);
        W(k, 68, 0x20);
        W(k, 72, 0x1000);
        uint flags = MultibootHeader.MemoryInfo;
        W(k, 0x100, MultibootHeader.Magic);
        W(k, 0x104, flags);
        W(k, 0x108, unchecked(0u - MultibootHeader.Magic - flags));
        k[0x110] = 0x90;
        _m.Space.Write(new(0x30_0020), new byte[] { 9, 9 });

        LoadedKernel loaded = Load(k);

        Assert.Equal(0x30_0010UL, loaded.Entry.Rip);
        Assert.Equal(0x90, _m.Read(0x30_0010, 1)[0]);
        Assert.Equal(new byte[2], _m.Read(0x30_0020, 2));
        Assert.Contains("ELF32", loaded.Description, StringComparison.Ordinal);
    }

    public static TheoryData<string, byte[], string> BadKernels => new()
    {
        { "bad checksum", BadChecksum(), "neither a Linux bzImage" },
        { "video mode", AoutKernel(MultibootHeader.AoutKludge | MultibootHeader.VideoMode), "video mode" },
        { "unknown required flag", AoutKernel(MultibootHeader.AoutKludge | (1 << 5)), "flags 0x20" },
        { "in the VGA hole", AoutKernel(load: 0xa_0000), "not in guest RAM" },
        { "into the EBDA", AoutKernel(load: 0x9_e000), "not in guest RAM" },
        { "in the BIOS ROM", AoutKernel(load: 0xf_0000), "not in guest RAM" },
        { "over the BDA's EBDA pointer", AoutKernel(load: 0x0), "overlap the BIOS data area's EBDA pointer emu writes at 0x40e-0x40f" },
        { "over the GDT", AoutKernel(load: 0x480), "overlap the GDT emu writes for the entry state at 0x500-0x51f" },
        { "beyond RAM", AoutKernel(load: 0x3000_0000), "not in guest RAM" },
        { "truncated", AoutKernel(loadEnd: 0x20_1000), "truncated" },
        { "bss below image", AoutKernel(bssEnd: 0x20_0010), "bss_end_addr" },
        { "entry outside", AoutKernel(entry: 0x50_0000), "entry point" },
        { "no address fields, not ELF", AoutKernel(MultibootHeader.MemoryInfo), "not ELF" },
        { "header cut off", AoutKernel()[..0x20], "ends inside them" },
    };

    private static byte[] BadChecksum()
    {
        byte[] k = AoutKernel();
        k[20] ^= 1;
        return k;
    }

    [Theory]
    [MemberData(nameof(BadKernels))]
    public void BadKernelsGiveOneLineNamingTheFileAndLeaveMemoryAlone(string why, byte[] kernel, string expected)
    {
        string path = _m.File(kernel);
        byte[] before = _m.Read(0x10_0000, 0x40_0000);

        var e = Assert.Throws<MachineConfigException>(() => KernelLoader.Load(_m.Space, _m.Map, new KernelBootConfig { KernelPath = path }, 0));

        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.True(before.AsSpan().SequenceEqual(_m.Read(0x10_0000, 0x40_0000)), why);
        Assert.Equal(kernel, File.ReadAllBytes(path));
    }

    // Multiboot 0.6.96 3.1.3 lets the kernel choose its address; real-mode test kernels load at 0x8000.
    [Fact]
    public void KernelBelowOneMiBIsLoadedWhereItAsks()
    {
        _m.Space.Write(new(0x8100), new byte[] { 1, 2, 3 });
        LoadedKernel k = Load(AoutKernel(load: 0x8000), "low", [1, 2, 3]);

        Assert.Equal(0xf4, _m.Read(0x8040, 1)[0]);
        Assert.Equal(new byte[3], _m.Read(0x8100, 3)); // bss cleared
        Assert.Equal(0x8040UL, k.Entry.Rip);
        Assert.Equal(MultibootInfo.Address, k.Entry.Gpr[(int)Gpr.Rbx]); // the kernel (to 0xa000) leaves it alone
        uint modsAddr = _m.U32(MultibootInfo.Address + 24);
        Assert.Equal(0x10_0000u, _m.U32(modsAddr)); // modules start at 1 MiB, clear of the EBDA and VGA hole
        Assert.Equal(new byte[] { 1, 2, 3 }, _m.Read(0x10_0000, 3));
    }

    [Fact]
    public void KernelOverTheInformationBlockMovesItAfterTheModules()
    {
        LoadedKernel k = Load(AoutKernel(load: 0xf000, bssEnd: 0x1_2000), "moved", [1, 2, 3]);

        ulong info = k.Entry.Gpr[(int)Gpr.Rbx];
        Assert.Equal(0x10_1000UL, info); // after the one-page module at 1 MiB
        Assert.Equal(new byte[0x2000], _m.Read(0x1_0000, 0x2000)); // the kernel's bss, not the block
        Assert.EndsWith(".tmp moved", _m.CString(_m.U32(info + 16)), StringComparison.Ordinal);
        Assert.Equal(1u, _m.U32(info + 20));
        Assert.Equal(0x10_0000u, _m.U32(_m.U32(info + 24)));
    }

    [Fact]
    public void ModuleThatDoesNotFitIsRefusedByName()
    {
        string big = _m.File(new byte[63 << 20]);
        var e = Assert.Throws<MachineConfigException>(() => KernelLoader.Load(_m.Space, _m.Map, new KernelBootConfig
        {
            KernelPath = _m.File(AoutKernel()),
            InitrdPaths = [big],
        }, 0));
        Assert.StartsWith($"--initrd {big}:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingModuleIsOneLine()
    {
        var e = Assert.Throws<MachineConfigException>(() => KernelLoader.Load(_m.Space, _m.Map, new KernelBootConfig
        {
            KernelPath = _m.File(AoutKernel()),
            InitrdPaths = ["/nonexistent/module"],
        }, 0));
        Assert.Equal("--initrd /nonexistent/module: no such file", e.Message);
    }
}
