using Emulator.Core.Cpu;
using Emulator.Core.Machine;
using Emulator.Core.Memory;
using Emulator.Jit;
using Xunit;

namespace Emulator.Tests.Cpu;

/// <summary>
/// The software CPU as the one-instruction fallback of the KVM backend: exactly one instruction
/// runs, a fault it raises is delivered (Intel SDM Vol. 3A 20.1.4, real-mode interrupt handling),
/// and code rewritten between steps by someone else (KVM writes guest memory behind the block
/// cache) is decoded afresh.
/// </summary>
public sealed class SoftInstructionStepperTests : IDisposable
{
    private const ulong Code = 0x7c00, UdHandler = 0x7e00;
    private readonly MachinePlatform _platform = new(deterministicTime: true);
    private readonly HostMapping _ram = new(1 << 20);
    private readonly SoftInstructionStepper _stepper;

    public SoftInstructionStepperTests()
    {
        _platform.Memory.AddRam("ram", new GuestPhysicalAddress(0), 1 << 20, _ram);
        _stepper = new SoftInstructionStepper(_platform);
    }

    public void Dispose()
    {
        _platform.Dispose();
        _ram.Dispose();
    }

    [Fact]
    public void RunsExactlyOneInstruction()
    {
        Load(Code, [0xb8, 0x34, 0x12, 0x40, 0x40]); // mov ax, 0x1234; inc ax; inc ax
        CpuState after = Step(RealModeAt(Code));

        Assert.Equal(0x1234UL, after.Gpr[(int)Gpr.Rax] & 0xffff);
        Assert.Equal(Code + 3, after.Rip);
    }

    [Fact]
    public void AFaultIsDeliveredThroughTheInterruptTable()
    {
        Load(Code, [0x0f, 0x0b]); // ud2
        Load(6 * 4, BitConverter.GetBytes((uint)UdHandler)); // IVT entry 6: 0000:7E00
        CpuState after = Step(RealModeAt(Code));

        Assert.Equal(UdHandler, after.Rip);
        Assert.Equal(0x7000UL - 6, after.Gpr[(int)Gpr.Rsp]); // FLAGS, CS, IP pushed
        byte[] frame = new byte[2];
        _platform.Memory.Read(new GuestPhysicalAddress(0x7000 - 6), frame);
        Assert.Equal(Code, BitConverter.ToUInt16(frame)); // a fault saves the faulting IP
    }

    [Fact]
    public void CodeRewrittenBetweenStepsBehindTheCacheRunsAsWritten()
    {
        Load(Code, [0xb0, 0x11]); // mov al, 0x11
        Assert.Equal(0x11UL, Step(RealModeAt(Code)).Gpr[(int)Gpr.Rax] & 0xff);

        // A write straight into the host pages, as KVM's guest makes it: no address-space observer sees it.
        unsafe
        {
            // SAFETY: Code + 1 lies inside the 1 MiB mapping, which lives until Dispose.
            _ram.Pointer[Code + 1] = 0x22;
        }

        Assert.Equal(0x22UL, Step(RealModeAt(Code)).Gpr[(int)Gpr.Rax] & 0xff);
    }

    private CpuState Step(CpuState state)
    {
        CpuState? after = _stepper.Step(0, state, null, out string? error);
        Assert.True(after is not null, error);
        return after;
    }

    private void Load(ulong address, byte[] bytes) => _platform.Memory.Write(new GuestPhysicalAddress(address), bytes);

    private static CpuState RealModeAt(ulong address)
    {
        CpuState s = CpuState.AtReset();
        s.Segments[(int)Seg.Cs] = SegmentRegister.RealMode(0, type: 0xb);
        s.Rip = address;
        s.Gpr[(int)Gpr.Rsp] = 0x7000;
        s.Idtr = new TableRegister { Base = 0, Limit = 0x3ff };
        return s;
    }
}
