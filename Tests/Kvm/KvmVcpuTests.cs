using System.Diagnostics;
using Emulator.Core.Cpu;
using Emulator.Core.Machine;
using Emulator.Core.Memory;
using Emulator.Jit;
using Emulator.Kvm;
using Emulator.Tests.Core;
using Xunit;

namespace Emulator.Tests.Kvm;

/// <summary>
/// A KVM vCPU driven directly over a small machine: state written and read back, stopped and
/// paused from another thread, woken from HLT by an NMI or an interrupt. Where behaviour is
/// compared, the software CPU running the same code is the oracle.
/// </summary>
[Collection("kvm")]
public sealed class KvmVcpuTests
{
    private const ushort ProbePort = 0xe0;
    private const ulong MainCode = 0x7c00, NmiHandler = 0x7d00, IrqHandler = 0x7d10;
    private const int IrqVector = 0x20;

    [SkippableFact]
    public void StateWrittenIsStateReadBack()
    {
        KvmHost.SkipUnlessUsable();
        using var machine = new SmallMachine("kvm");
        CpuState written = ProtectedModeState(machine.Kvm.TransferredMsrIndexes);
        written.PendingInterrupt = 0x30;

        machine.Vcpu.SetState(written);
        CpuState read = machine.Vcpu.GetState();

        CpuStateAssert.Equal(written, read, KvmHost.HonoursTscWrites ? 1UL << 40 : null);
    }

    [SkippableFact]
    public void AnExceptionInFlightSurvivesTheRoundTrip()
    {
        KvmHost.SkipUnlessUsable();
        using var machine = new SmallMachine("kvm");
        CpuState written = ProtectedModeState(machine.Kvm.TransferredMsrIndexes);
        written.PendingException = 14;
        written.PendingExceptionErrorCode = 2;
        written.InterruptShadow = false;

        machine.Vcpu.SetState(written);
        CpuState read = machine.Vcpu.GetState();

        CpuStateAssert.Equal(written, read, KvmHost.HonoursTscWrites ? 1UL << 40 : null);
    }

    [SkippableFact]
    public void ResetStateRoundTripsAndMatchesTheSoftwareCpu()
    {
        KvmHost.SkipUnlessUsable();
        using var kvm = new SmallMachine("kvm");
        using var soft = new SmallMachine("jit");

        CpuState fromKvm = kvm.Vcpu.GetState();
        CpuState fromSoft = soft.Vcpu.GetState();

        // Both start at RESET (Intel SDM Vol. 3A Table 10-1); KVM adds its MSRs at their reset values.
        foreach ((uint index, ulong value) in fromKvm.Msrs.Where(m => !fromSoft.Msrs.ContainsKey(m.Key)))
        {
            fromSoft.Msrs[index] = value;
        }

        CpuStateAssert.Equal(fromSoft, fromKvm, tscSlack: ulong.MaxValue);
    }

    [SkippableFact]
    public void StopWhileTheGuestSpinsInKvmEndsTheThreadPromptly()
    {
        KvmHost.SkipUnlessUsable();
        using var machine = new SmallMachine("kvm");
        machine.Load(MainCode, [0x40, 0xeb, 0xfd]); // inc ax; jmp back: never leaves KVM_RUN
        machine.Vcpu.SetState(RealModeAt(MainCode));
        var exits = new List<VcpuExit>();
        var thread = new VcpuThread(machine.Vcpu, (_, e) => exits.Add(e));
        thread.Start();
        Thread.Sleep(300);

        thread.Pause();
        ulong ax1 = machine.Vcpu.GetState().Gpr[(int)Gpr.Rax] & 0xffff;
        thread.Resume();
        Thread.Sleep(300);
        thread.Pause();
        ulong ax2 = machine.Vcpu.GetState().Gpr[(int)Gpr.Rax] & 0xffff;
        thread.Resume();
        Thread.Sleep(100);

        var watch = Stopwatch.StartNew();
        thread.Stop();
        watch.Stop();
        Assert.Equal(VcpuRunState.Stopped, thread.State);
        // Milliseconds on an idle host; the bound leaves room for a busy one. A Stop that did not
        // kick the thread out of KVM_RUN would never return: this guest makes no exits.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"stop took {watch.Elapsed.TotalMilliseconds:F0} ms");
        Assert.NotEqual(ax1, ax2);
        Assert.Empty(exits);
    }

    [SkippableFact]
    public void NmiWakesAHaltedGuestAsOnTheSoftwareCpu()
    {
        KvmHost.SkipUnlessUsable();
        (List<byte> kvm, CpuState kvmState) = RunHaltedGuest("kvm", vcpu => vcpu.RaiseNmi(), interruptsOn: false, source: null);
        (List<byte> soft, CpuState softState) = RunHaltedGuest("jit", vcpu => vcpu.RaiseNmi(), interruptsOn: false, source: null);

        Assert.Equal([(byte)'N'], soft);
        Assert.Equal(soft, kvm);
        Assert.True(kvmState.Halted);
        Assert.Equal(softState.Rip, kvmState.Rip);
    }

    [SkippableTheory]
    [InlineData(false, 2)]
    [InlineData(true, 1)]
    public void NmisBeyondTheOneLatchedAreLost(bool nmisBlocked, int delivered)
    {
        // Intel SDM Vol. 3A 6.7.1: while NMIs are blocked (an NMI handler runs, until IRET) one more
        // NMI is latched and later ones are lost; with NMIs unblocked one is delivered and one
        // latched behind it. Three NMIs arrive before the vCPU runs; its code returns through IRET
        // (which unblocks NMIs) to a HLT loop, and the handler writes 'N' to the probe port.
        List<byte> Run(string backend)
        {
            using var machine = new SmallMachine(backend);
            var probe = new RecordingDevice("probe");
            machine.Platform.Io.Register(ProbePort, 1, probe);
            ushort loop = (ushort)(MainCode + 7);
            // cli; pushf; push cs; push loop; iret; loop: hlt; jmp loop
            machine.Load(MainCode, [0xfa, 0x9c, 0x0e, 0x68, (byte)loop, (byte)(loop >> 8), 0xcf, 0xf4, 0xeb, 0xfd]);
            machine.Load(NmiHandler, [0xb0, (byte)'N', 0xe6, (byte)ProbePort, 0xcf]);
            machine.Load(2 * 4, BitConverter.GetBytes((uint)NmiHandler));
            CpuState state = RealModeAt(MainCode);
            state.NmiBlocked = nmisBlocked;
            machine.Vcpu.SetState(state);
            for (int i = 0; i < 3; i++)
            {
                machine.Vcpu.RaiseNmi();
            }

            var thread = new VcpuThread(machine.Vcpu, (_, _) => { });
            thread.Start();
            var watch = Stopwatch.StartNew();
            while (Written(probe, machine.Platform.DeviceLock).Count < delivered && watch.Elapsed < TimeSpan.FromSeconds(30))
            {
                Thread.Sleep(10);
            }

            Thread.Sleep(200);
            thread.Stop();
            return Written(probe, machine.Platform.DeviceLock);
        }

        List<byte> soft = Run("jit");
        Assert.Equal(Enumerable.Repeat((byte)'N', delivered), soft);
        // A paravirtual KVM (PVM) delivers one NMI, then none after the IRET (ARCHITECTURE.md,
        // "What this host's KVM does differently"); hardware virtualization follows the SDM.
        KvmHost.SkipUnlessFast();
        Assert.Equal(soft, Run("kvm"));
    }

    [SkippableFact]
    public void InterruptFromTheUserspaceControllerIsDeliveredAsOnTheSoftwareCpu()
    {
        KvmHost.SkipUnlessUsable();
        var kvmSource = new OneShotInterrupt(IrqVector);
        var softSource = new OneShotInterrupt(IrqVector);
        (List<byte> kvm, CpuState kvmState) = RunHaltedGuest("kvm", vcpu => kvmSource.Fire(vcpu), interruptsOn: true, kvmSource);
        (List<byte> soft, CpuState softState) = RunHaltedGuest("jit", vcpu => softSource.Fire(vcpu), interruptsOn: true, softSource);

        Assert.Equal([(byte)IrqVector], soft);
        Assert.Equal(soft, kvm);
        Assert.Equal(1, kvmSource.Acknowledged);
        Assert.True(kvmState.Halted);
        Assert.Equal(softState.Rip, kvmState.Rip);
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void AnEventInFlightIsDeliveredFirstByBothBackends(bool exception)
    {
        // A state read while KVM was delivering an event carries it (CpuState.PendingInterrupt or
        // PendingException); whichever backend is given that state delivers it before anything else,
        // even with interrupts disabled. The handler reports the vector on the probe port.
        KvmHost.SkipUnlessUsable();
        byte vector = exception ? (byte)6 : (byte)0x21; // #UD, or an external interrupt
        List<byte> Deliver(string backend)
        {
            using var machine = new SmallMachine(backend);
            var probe = new RecordingDevice("probe");
            machine.Platform.Io.Register(ProbePort, 1, probe);
            machine.Load(MainCode, [0xfa, 0xf4, 0xeb, 0xfd]); // cli; hlt; jmp back
            machine.Load(IrqHandler, [0xb0, vector, 0xe6, (byte)ProbePort, 0xcf]);
            machine.Load(vector * 4UL, BitConverter.GetBytes((uint)IrqHandler));
            CpuState state = RealModeAt(MainCode);
            state.Rflags = 2; // IF clear: only an event already in flight can reach the handler
            if (exception)
            {
                state.PendingException = vector;
            }
            else
            {
                state.PendingInterrupt = vector;
            }

            machine.Vcpu.SetState(state);
            var thread = new VcpuThread(machine.Vcpu, (_, _) => { });
            thread.Start();
            var watch = Stopwatch.StartNew();
            while (Written(probe, machine.Platform.DeviceLock).Count == 0 && watch.Elapsed < TimeSpan.FromSeconds(30))
            {
                Thread.Sleep(10);
            }

            thread.Stop();
            return Written(probe, machine.Platform.DeviceLock);
        }

        List<byte> soft = Deliver("jit");
        Assert.Equal([(byte)vector], soft);
        Assert.Equal(soft, Deliver("kvm"));
    }

    // Real mode at 0000:7C00: (cli|sti); hlt; jmp back to the hlt. The NMI handler writes 'N' to the
    // probe port, the interrupt handler its vector; both return with IRET to the loop.
    private static (List<byte> Written, CpuState Final) RunHaltedGuest(string backend, Action<IVcpu> wake, bool interruptsOn, IInterruptSource? source)
    {
        using var machine = new SmallMachine(backend);
        var probe = new RecordingDevice("probe");
        machine.Platform.Io.Register(ProbePort, 1, probe);
        machine.Load(MainCode, [interruptsOn ? (byte)0xfb : (byte)0xfa, 0xf4, 0xeb, 0xfd]);
        machine.Load(NmiHandler, [0xb0, (byte)'N', 0xe6, (byte)ProbePort, 0xcf]);
        machine.Load(IrqHandler, [0xb0, IrqVector, 0xe6, (byte)ProbePort, 0xcf]);
        machine.Load(2 * 4, BitConverter.GetBytes((uint)NmiHandler));
        machine.Load(IrqVector * 4, BitConverter.GetBytes((uint)IrqHandler));
        machine.Vcpu.SetState(RealModeAt(MainCode));
        machine.Vcpu.InterruptSource = source;
        var thread = new VcpuThread(machine.Vcpu, (_, _) => { });
        thread.Start();
        Thread.Sleep(200);
        wake(machine.Vcpu);
        var watch = Stopwatch.StartNew();
        while (Written(probe, machine.Platform.DeviceLock).Count == 0 && watch.Elapsed < TimeSpan.FromSeconds(30))
        {
            Thread.Sleep(10);
        }

        Thread.Sleep(100);
        thread.Pause();
        CpuState final = machine.Vcpu.GetState();
        thread.Stop();
        return (Written(probe, machine.Platform.DeviceLock), final);
    }

    // The device records under the machine's device lock, which the port bus holds for every access.
    private static List<byte> Written(RecordingDevice device, Lock deviceLock)
    {
        lock (deviceLock)
        {
            return [.. device.Accesses.Where(a => a.IsWrite).SelectMany(a => a.Data)];
        }
    }

    private static CpuState RealModeAt(ulong address)
    {
        CpuState s = CpuState.AtReset();
        s.Segments[(int)Seg.Cs] = SegmentRegister.RealMode(0, type: 0xb);
        s.Rip = address;
        s.Gpr[(int)Gpr.Rsp] = 0x7000;
        s.Idtr = new TableRegister { Base = 0, Limit = 0x3ff };
        return s;
    }

    // A 32-bit protected-mode state with something distinct in every field KVM carries.
    private static CpuState ProtectedModeState(IReadOnlyCollection<uint> msrs)
    {
        var s = new CpuState();
        for (int i = 0; i < 16; i++)
        {
            s.Gpr[i] = 0x0101_0101_0101_0101UL * (ulong)(i + 1);
        }

        s.Rip = 0x0010_2345;
        s.Rflags = 0x2c7 | 0x200; // CF PF ZF SF, IF, bit 1
        var code = new SegmentRegister { Selector = 0x08, Base = 0, Limit = 0xffff_ffff, Attributes = 0xc09b };
        var data = new SegmentRegister { Selector = 0x10, Base = 0, Limit = 0xffff_ffff, Attributes = 0xc093 };
        s.Segments[(int)Seg.Cs] = code;
        s.Segments[(int)Seg.Ds] = data;
        s.Segments[(int)Seg.Es] = data;
        s.Segments[(int)Seg.Ss] = data;
        s.Segments[(int)Seg.Fs] = data with { Base = 0x1234_5000 };
        s.Segments[(int)Seg.Gs] = new SegmentRegister { Selector = 0x18, Base = 0x4_0000, Limit = 0xf_ffff, Attributes = 0x4093 };
        s.Ldtr = new SegmentRegister { Selector = 0x20, Base = 0x9000, Limit = 0x7f, Attributes = 0x82 };
        s.Tr = new SegmentRegister { Selector = 0x28, Base = 0xa000, Limit = 0x67, Attributes = 0x8b };
        s.Gdtr = new TableRegister { Base = 0x1000, Limit = 0x2f };
        s.Idtr = new TableRegister { Base = 0x2000, Limit = 0x7ff };
        s.Cr0 = 0x6000_0011;
        s.Cr2 = 0xdead_b000;
        s.Cr3 = 0x5000;
        s.Cr8 = 5;
        (s.Dr0, s.Dr1, s.Dr2, s.Dr3) = (0x1000, 0x2000, 0x3000, 0x4000);
        (s.Dr6, s.Dr7) = (0xffff_0ff0, 0x400);
        byte[] fx = s.FxState;
        BitConverter.TryWriteBytes(fx.AsSpan(0), (ushort)0x037f); // FCW
        BitConverter.TryWriteBytes(fx.AsSpan(2), (ushort)0x3800); // FSW: TOP = 7
        fx[4] = 0x80; // abridged tag: physical register 7 valid
        BitConverter.TryWriteBytes(fx.AsSpan(6), (ushort)0x1d9); // FOP
        BitConverter.TryWriteBytes(fx.AsSpan(8), 0x0000_0008_0010_2340UL); // FIP (with FCS in the 32-bit layout)
        BitConverter.TryWriteBytes(fx.AsSpan(16), 0x0000_0010_0000_7ff0UL); // FDP
        BitConverter.TryWriteBytes(fx.AsSpan(24), 0x1fa0u); // MXCSR: masks, PE
        byte[] pi = [0x00, 0xc0, 0x68, 0x21, 0xa2, 0xda, 0x0f, 0xc9, 0x00, 0x40]; // 80-bit pi
        pi.CopyTo(fx, 32);
        for (int i = 160; i < 416; i++)
        {
            fx[i] = (byte)(i * 7);
        }

        ulong[] values = [0x10, 0x7000, 0xc000_1000, 0x0006_0406_0007_0406, 0x0023_0010_0000_0000, 0xffff_ffff_8100_0000, 0xffff_ffff_8100_1000, 0x4_7700, 0xffff_8880_0000_0000];
        int next = 0;
        foreach (uint index in msrs)
        {
            s.Msrs[index] = index == 0x10 ? 0x1_0000_0000UL : CacheControlValue(index) ?? values[next++ % values.Length];
        }

        // AVX state, where the host has it: CR4.OSXSAVE, XCR0 with x87, SSE and AVX, and bits 255:128 of every YMM register.
        if (System.Runtime.Intrinsics.X86.Avx.IsSupported)
        {
            s.Cr4 |= 1UL << 18;
            s.Xcr0 = 7;
            for (int i = 0; i < s.YmmHigh.Length; i++)
            {
                s.YmmHigh[i] = (byte)((i * 13) + 5);
            }
        }

        s.Msrs[0x1b] = 0xfee0_0900; // APIC base after RESET: bootstrap processor, APIC enabled
        s.InterruptShadow = true;
        s.NmiBlocked = true;
        s.NmiPending = true;
        s.Halted = true;
        return s;
    }

    // A value WRMSR accepts for the cache-control and machine-check MSRs whose contents the SDM
    // restricts (a KVM that checks them refuses the others, and the transfer then leaves the MSR
    // out): IA32_MCG_CTL all 1s or all 0s (Vol. 3B 15.3.1.3); variable-range MTRRs with a valid
    // type (0, 1, 4, 5, 6) and no bits above a 36-bit physical address, fixed-range MTRRs with a
    // valid type in every byte, IA32_MTRR_DEF_TYPE with E, FE and a valid default (Vol. 3A 12.11).
    private static ulong? CacheControlValue(uint index) => index switch
    {
        0x17b => ulong.MaxValue,
        // IA32_MCi_CTL: any value per the SDM (only P6 restricted it, 15.3.2.1), but KVM takes only all 0s or all 1s.
        >= 0x400 and < 0x480 when (index & 3) == 0 => ulong.MaxValue,
        >= 0x200 and <= 0x20f when (index & 1) == 0 => ((ulong)(index - 0x200 + 2) << 20) | 6, // IA32_MTRR_PHYSBASEn: WB
        >= 0x200 and <= 0x20f => 0xf_fff0_0800, // IA32_MTRR_PHYSMASKn: 1 MiB, valid
        0x250 or 0x258 or 0x259 or (>= 0x268 and <= 0x26f) => 0x0605_0401_0006_0504,
        0x2ff => 0xc06,
        _ => null,
    };

    /// <summary>1 MiB of RAM, no devices, one vCPU of the chosen backend.</summary>
    private sealed class SmallMachine : IDisposable
    {
        private readonly HostMapping _ram = new(1 << 20);
        private readonly IAccelerator _accelerator;

        public SmallMachine(string backend)
        {
            Platform.Memory.AddRam("ram", new GuestPhysicalAddress(0), 1 << 20, _ram);
            _accelerator = backend == "kvm" ? new KvmAccelerator(Platform) : new SoftAccelerator(Platform);
            Vcpu = _accelerator.CreateVcpu(0);
        }

        public MachinePlatform Platform { get; } = new(deterministicTime: true);

        public IVcpu Vcpu { get; }

        public KvmAccelerator Kvm => (KvmAccelerator)_accelerator;

        public void Load(ulong address, byte[] bytes) => Platform.Memory.Write(new GuestPhysicalAddress(address), bytes);

        public void Dispose()
        {
            Vcpu.Dispose();
            _accelerator.Dispose();
            Platform.Dispose();
            _ram.Dispose();
        }
    }

    /// <summary>An interrupt controller with one interrupt to give, raised by <see cref="Fire"/>.</summary>
    private sealed class OneShotInterrupt(int vector) : IInterruptSource
    {
        private int _pending;

        public int Acknowledged { get; private set; }

        public bool HasInterrupt => Volatile.Read(ref _pending) > 0;

        public void Fire(IVcpu vcpu)
        {
            Interlocked.Increment(ref _pending);
            vcpu.NotifyInterrupt();
        }

        public int Acknowledge()
        {
            Interlocked.Decrement(ref _pending);
            Acknowledged++;
            return vector;
        }
    }
}
