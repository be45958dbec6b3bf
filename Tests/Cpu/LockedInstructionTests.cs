using Emulator.Core.Cpu;
using Emulator.Core.Machine;
using Emulator.Core.Memory;
using Emulator.Jit;
using Xunit;

namespace Emulator.Tests.Cpu;

/// <summary>
/// Locked instructions are atomic across vCPUs of the software CPU: two vCPUs on their own host
/// threads count into shared words with LOCK INC and LOCK XADD while plain stores hit a byte of the
/// same quadword (as a spinlock's release does next to its tail); no increment may be lost.
/// </summary>
public sealed class LockedInstructionTests : IDisposable
{
    private const int Iterations = 60_000;
    private readonly MachinePlatform _platform = new(deterministicTime: true);
    private readonly HostMapping _ram = new(1 << 20);
    private readonly SoftAccelerator _accelerator;

    public LockedInstructionTests()
    {
        _platform.Memory.AddRam("ram", new GuestPhysicalAddress(0), 1 << 20, _ram);
        _platform.Memory.Write(new GuestPhysicalAddress(0x7c00),
        [
            0xb9, Iterations & 0xff, Iterations >> 8,       //  mov cx, Iterations
            0xf0, 0x66, 0xff, 0x06, 0x00, 0x05,             // again: lock inc dword [0x500]
            0x88, 0x0e, 0x04, 0x05,                         //  mov [0x504], cl (same quadword, plain store)
            0x66, 0xb8, 0x01, 0x00, 0x00, 0x00,             //  mov eax, 1
            0xf0, 0x66, 0x0f, 0xc1, 0x06, 0x08, 0x05,       //  lock xadd [0x508], eax
            0xe2, 0xe7,                                     //  loop again
            0xf0, 0xfe, 0x06, 0x10, 0x05,                   //  lock inc byte [0x510]: this vCPU is done
            0xeb, 0xfe,                                     //  jmp $
        ]);
        _accelerator = new SoftAccelerator(_platform);
    }

    public void Dispose()
    {
        _accelerator.Dispose();
        _platform.Dispose();
        _ram.Dispose();
    }

    [Fact]
    public void TwoVcpusCountingWithLockedInstructionsLoseNoIncrement()
    {
        var threads = new List<VcpuThread>();
        for (int i = 0; i < 2; i++)
        {
            IVcpu vcpu = _accelerator.CreateVcpu(i);
            CpuState s = CpuState.AtReset();
            s.Segments[(int)Seg.Cs] = SegmentRegister.RealMode(0, type: 0xb);
            s.Rip = 0x7c00;
            vcpu.SetState(s);
            threads.Add(new VcpuThread(vcpu, (_, _) => { }));
        }

        threads.ForEach(t => t.Start());
        byte[] words = new byte[17];
        var watch = System.Diagnostics.Stopwatch.StartNew();
        do
        {
            Thread.Sleep(20);
            _platform.Memory.Read(new GuestPhysicalAddress(0x500), words);
        }
        while (words[16] != 2 && watch.Elapsed < TimeSpan.FromMinutes(2));

        threads.ForEach(t => t.Stop());
        Assert.True(words[16] == 2, $"the vCPUs did not finish their loops: {Convert.ToHexString(words)}");
        Assert.Equal(2 * Iterations, BitConverter.ToInt32(words, 0));
        Assert.Equal(2 * Iterations, BitConverter.ToInt32(words, 8));
        Assert.Equal(1, words[4]); // the last plain store of either vCPU: CL = 1 in the final iteration
    }
}
