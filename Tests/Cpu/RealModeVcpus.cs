using Emulator.Core.Cpu;
using Emulator.Core.Machine;
using Emulator.Core.Memory;
using Emulator.Jit;

namespace Emulator.Tests.Cpu;

/// <summary>
/// Real-mode code on several vCPUs of the software CPU, each on its own host thread, sharing 1 MiB
/// of RAM: for tests of what one vCPU sees of another's memory and code.
/// </summary>
internal sealed class RealModeVcpus : IDisposable
{
    private readonly MachinePlatform _platform = new(deterministicTime: true);
    private readonly HostMapping _ram = new(1 << 20);
    private SoftAccelerator? _accelerator;

    public RealModeVcpus() => _platform.Memory.AddRam("ram", new GuestPhysicalAddress(0), 1 << 20, _ram);

    public void Write(ulong address, byte[] bytes) => _platform.Memory.Write(new GuestPhysicalAddress(address), bytes);

    /// <summary>
    /// Starts one vCPU at CS=0, IP=entry (SP=0x7000) per entry, polls the bytes at
    /// [<paramref name="address"/>, +<paramref name="length"/>) until <paramref name="done"/> holds or
    /// <paramref name="timeout"/> passes, stops the vCPUs and returns the last bytes read. With
    /// <paramref name="flat32"/> they start in 32-bit protected mode with flat segments instead
    /// (EIP=entry, ESP=0x7000), code the translator runs.
    /// </summary>
    public byte[] RunUntil(ulong[] entries, ulong address, int length, Func<byte[], bool> done, TimeSpan timeout, bool flat32 = false)
    {
        _accelerator ??= new SoftAccelerator(_platform);
        var threads = new List<VcpuThread>();
        for (int i = 0; i < entries.Length; i++)
        {
            IVcpu vcpu = _accelerator.CreateVcpu(i);
            CpuState s = flat32 ? TranslatorRig.FlatProtectedMode(entries[i]) : CpuState.AtReset();
            if (!flat32)
            {
                s.Segments[(int)Seg.Cs] = SegmentRegister.RealMode(0, type: 0xb);
            }

            s.Rip = entries[i];
            s.Gpr[(int)Gpr.Rsp] = 0x7000;
            vcpu.SetState(s);
            threads.Add(new VcpuThread(vcpu, (_, _) => { }));
        }

        threads.ForEach(t => t.Start());
        byte[] data = new byte[length];
        var watch = System.Diagnostics.Stopwatch.StartNew();
        do
        {
            Thread.Sleep(10);
            _platform.Memory.Read(new GuestPhysicalAddress(address), data);
        }
        while (!done(data) && watch.Elapsed < timeout);

        threads.ForEach(t => t.Stop());
        return data;
    }

    public void Dispose()
    {
        _accelerator?.Dispose();
        _platform.Dispose();
        _ram.Dispose();
    }
}
