using Emulator.Core.Cpu;
using Emulator.Core.Devices;
using Emulator.Core.Machine;
using Emulator.Core.Memory;
using Emulator.Devices.Intc;
using Emulator.Jit;
using Emulator.Machines.Pc;
using Xunit;

namespace Emulator.Tests.Apic;

/// <summary>
/// An application processor on a real vCPU thread: parked from the start, started by a SIPI at
/// VV00:0000, parked again by INIT (Intel SDM Vol. 3A 9.4.4); its bus accesses carry its vCPU index.
/// </summary>
public sealed class ApStartupTests : IDisposable
{
    private readonly MachinePlatform _platform = new(deterministicTime: true);
    private readonly HostMapping _ram = new(1 << 20);
    private readonly SoftAccelerator _accelerator;
    private readonly IVcpu _ap;
    private readonly VcpuThread _thread;
    private readonly VcpuApicProcessor _processor;
    private readonly WhoAccesses _probe = new();
    private readonly LocalApic _bspApic, _apApic;

    public ApStartupTests()
    {
        _platform.Memory.AddRam("ram-low", new GuestPhysicalAddress(0), 0x8000, _ram);
        _platform.Memory.AddMmio("probe", new GuestPhysicalAddress(0x8000), 0x1000, _probe);
        _platform.Memory.AddRam("ram-high", new GuestPhysicalAddress(0x9000), 0x1000, _ram, 0x9000);
        // 0900:0000: mov al, [0x8000] ; inc ax ; jmp short back to the mov
        _platform.Memory.Write(new GuestPhysicalAddress(0x9000), [0xA0, 0x00, 0x80, 0x40, 0xEB, 0xFA]);
        _accelerator = new SoftAccelerator(_platform);
        _ = _accelerator.CreateVcpu(0);
        _ap = _accelerator.CreateVcpu(1);
        _thread = new VcpuThread(_ap, (_, _) => { });
        _processor = new VcpuApicProcessor(_ap, _thread);
        var bus = new ApicBus();
        _bspApic = new LocalApic(_platform.DeviceLock, _platform.Timers, bus, DetachedApicProcessor.Instance, bootstrap: true);
        _apApic = new LocalApic(_platform.DeviceLock, _platform.Timers, bus, _processor, bootstrap: false);
    }

    public void Dispose()
    {
        _thread.Stop();
        _ap.Dispose();
        _accelerator.Dispose();
        _platform.Dispose();
        _ram.Dispose();
    }

    private void Ipi(uint low)
    {
        ApicTestRig.Write(_bspApic, 0x310, 1u << 24);
        ApicTestRig.Write(_bspApic, 0x300, low);
    }

    [Fact]
    public void SipiStartsTheParkedApAtItsVectorAndInitParksItAgain()
    {
        _thread.StartPaused();
        SpinUntil(() => _thread.State == VcpuRunState.Paused);
        Thread.Sleep(20);
        Assert.Equal(0xfff0ul, _ap.GetState().Rip); // never ran

        Ipi(0x4500);
        Ipi(0x4609);
        _processor.Settle();
        Assert.False(_apApic.WaitingForStartup);
        SpinUntil(() => _probe.Reads > 10);

        _thread.Pause();
        CpuState s = _ap.GetState();
        Assert.Equal(0x0900, s.Segments[(int)Seg.Cs].Selector);
        Assert.Equal(0x9000ul, s.Segments[(int)Seg.Cs].Base);
        Assert.InRange(s.Rip, 0ul, 5ul);
        Assert.Equal([1], _probe.Indices);
        _thread.Resume();

        Ipi(0x4500);
        _processor.Settle();
        Assert.True(_apApic.WaitingForStartup);
        Assert.Equal(VcpuRunState.Paused, _thread.State);
        Assert.Equal(0xf000, _ap.GetState().Segments[(int)Seg.Cs].Selector);
    }

    [Fact]
    public void StartupStateIsRealModeAtTheVectorsPage()
    {
        CpuState s = VcpuApicProcessor.StartupState(0x9A);
        Assert.Equal(0x9A00, s.Segments[(int)Seg.Cs].Selector);
        Assert.Equal(0x9A000ul, s.Segments[(int)Seg.Cs].Base);
        Assert.Equal(0ul, s.Rip);
        Assert.Equal(0ul, s.Cr0 & 1);
    }

    private static void SpinUntil(Func<bool> condition)
    {
        DateTime end = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < end, "timed out");
            Thread.Sleep(5);
        }
    }

    /// <summary>Records which vCPU (<see cref="VcpuContext"/>) made each read.</summary>
    private sealed class WhoAccesses : IBusDevice
    {
        private readonly HashSet<int> _indices = [];
        private int _reads;

        public string Name => "probe";
        public AccessSizes SupportedSizes => AccessSizes.All;
        public int Reads => Volatile.Read(ref _reads);

        public int[] Indices
        {
            get
            {
                lock (_indices)
                {
                    return [.. _indices];
                }
            }
        }

        public void Read(ulong offset, Span<byte> data)
        {
            lock (_indices)
            {
                _indices.Add(VcpuContext.CurrentIndex);
            }

            Interlocked.Increment(ref _reads);
            data.Clear();
        }

        public void Write(ulong offset, ReadOnlySpan<byte> data)
        {
        }

        public void Reset()
        {
        }

        public DeviceState Save() => new(Name, 1, []);

        public void Restore(DeviceState state)
        {
        }
    }
}
