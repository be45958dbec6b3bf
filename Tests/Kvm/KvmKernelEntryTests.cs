using System.Diagnostics;
using Emulator.Core.Cpu;
using Emulator.Core.Machine;
using Emulator.Core.Memory;
using Emulator.Jit;
using Emulator.Kvm;
using Emulator.Machines.Loaders;
using Emulator.Machines.Loaders.Linux;
using Emulator.Machines.Pc;
using Emulator.Tests.Boot;
using Emulator.Tests.Core;
using Xunit;

namespace Emulator.Tests.Kvm;

/// <summary>
/// The Linux boot protocol's entry state (Documentation/arch/x86/boot.rst: 32-bit flat protected
/// mode, or 64-bit mode with identity-mapped paging, boot_params in RSI) given to a KVM vCPU through
/// the common CpuState: a kernel whose entry code reads back what it was given runs under KVM and
/// under the software CPU, and both must see the same registers.
/// </summary>
[Collection("kvm")]
public sealed class KvmKernelEntryTests
{
    private const ushort ProbePort = 0xe0;
    private const ulong RamSize = 64 << 20;

    // Valid in 32- and 64-bit mode alike: RDMSR of EFER, then EDI = EFER, RAX = CR0, RBX = CR4,
    // RDX = CR3 (the full registers in 64-bit mode), a byte to the probe port, HLT.
    private static readonly byte[] EntryCode =
    [
        0xb9, 0x80, 0x00, 0x00, 0xc0, // mov ecx, 0xc0000080 (IA32_EFER)
        0x0f, 0x32,                   // rdmsr
        0x89, 0xc7,                   // mov edi, eax
        0x0f, 0x20, 0xc0,             // mov eax, cr0
        0x0f, 0x20, 0xe3,             // mov ebx, cr4
        0x0f, 0x20, 0xda,             // mov edx, cr3
        0xe6, (byte)ProbePort,        // out ProbePort, al
        0xf4,                         // hlt
        0xeb, 0xfd,                   // jmp back to the hlt
    ];

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void EntryRegistersUnderKvmAreTheSoftwareCpus(bool longMode)
    {
        KvmHost.SkipUnlessUsable();
        CpuState soft = RunEntry("jit", longMode);
        CpuState kvm = RunEntry("kvm", longMode);

        Assert.Equal(LinuxLoader.BootParamsAddress, soft.Gpr[(int)Gpr.Rsi]);
        Assert.Equal(longMode ? 0x500UL : 0UL, soft.Gpr[(int)Gpr.Rdi] & 0x500); // EFER.LME|LMA
        for (int r = 0; r < 16; r++)
        {
            Assert.True(soft.Gpr[r] == kvm.Gpr[r], $"GPR {r}: jit 0x{soft.Gpr[r]:x}, kvm 0x{kvm.Gpr[r]:x}");
        }

        Assert.Equal(soft.Rip, kvm.Rip);
        for (int s = 0; s < 6; s++)
        {
            Assert.Equal(soft.Segments[s].Selector, kvm.Segments[s].Selector);
            Assert.Equal(soft.Segments[s].Base, kvm.Segments[s].Base);
            Assert.Equal(soft.Segments[s].Limit, kvm.Segments[s].Limit);
        }

        Assert.Equal(soft.Segments[(int)Seg.Cs].Long, kvm.Segments[(int)Seg.Cs].Long);
        Assert.Equal(soft.Gdtr.Base, kvm.Gdtr.Base);
        Assert.Equal(soft.Gdtr.Limit, kvm.Gdtr.Limit);
    }

    private static CpuState RunEntry(string backend, bool longMode)
    {
        using var platform = new MachinePlatform(deterministicTime: true);
        using var ram = new HostMapping(RamSize);
        PcMemoryMap.MapRam(platform.Memory, ram, RamSize);
        var probe = new RecordingDevice("probe");
        platform.Io.Register(ProbePort, 1, probe);

        byte[] image = LinuxLoaderTests.BzImage();
        int protectedMode = (image[SetupHeader.SetupSectsOffset] + 1) * 512;
        EntryCode.CopyTo(image, protectedMode + (longMode ? 0x200 : 0));
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, image);
            LoadedKernel kernel = KernelLoader.Load(platform.Memory, E820Map.Build(RamSize, 0x1_0000), new KernelBootConfig
            {
                KernelPath = path,
                CommandLine = "console=ttyS0",
                LinuxLongModeEntry = longMode,
            }, 0);

            using IAccelerator accelerator = backend == "kvm" ? new KvmAccelerator(platform) : new SoftAccelerator(platform);
            using IVcpu vcpu = accelerator.CreateVcpu(0);
            vcpu.SetState(kernel.Entry);
            var thread = new VcpuThread(vcpu, (_, _) => { });
            thread.Start();
            var watch = Stopwatch.StartNew();
            while (Written(probe, platform.DeviceLock) == 0 && watch.Elapsed < TimeSpan.FromSeconds(10))
            {
                Thread.Sleep(10);
            }

            thread.Stop();
            Assert.True(Written(probe, platform.DeviceLock) == 1, $"{backend}: the entry code did not reach its OUT");
            return vcpu.GetState();
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static int Written(RecordingDevice device, Lock deviceLock)
    {
        lock (deviceLock)
        {
            return device.Accesses.Count(a => a.IsWrite);
        }
    }
}
