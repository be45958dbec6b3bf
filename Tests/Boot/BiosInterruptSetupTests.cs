using Emulator.Backends.Chardev;
using Emulator.Core.Io;
using Emulator.Machines.Loaders;
using Emulator.Machines.Pc;
using Emulator.Tests.EndToEnd;
using Xunit;

namespace Emulator.Tests.Boot;

/// <summary>
/// The PIT, PICs and bootstrap local APIC a directly booted multiboot kernel finds, read back through the ports as a guest
/// reads them, against what QEMU 7.2 + SeaBIOS leave for <c>-kernel</c> of a multiboot image (measured
/// with a kernel that reads ports 21h, A1h and the PIT read-back status of counter 0, and the monitor's
/// <c>info pic</c>: "pic0: imr=b8 irq_base=08", "pic1: imr=8e irq_base=70", status 34h), and the
/// Linux direct boot left as it was: the chips in their RESET state.
/// </summary>
public sealed class BiosInterruptSetupTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("emu-bios-pic").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static PcMachine Machine(string kernel) => new(
        new PcConfig { MemoryBytes = 64UL << 20, Vga = false, Kernel = new KernelBootConfig { KernelPath = kernel } },
        new NullSerialBackend());

    private static string MultibootKernel => Path.Combine(DemoGuestTests.RepositoryRoot(), "Roms", "tests", "multiboot.bin");

    // 8254 read-back command (data sheet, Figure 11): 11 (read-back), COUNT = 1 (no latch), STATUS = 0 (latch), counter 0.
    private static byte PitStatus0(IoPortBus io)
    {
        io.Write(0x43, 1, 0xe2);
        return (byte)io.Read(0x40, 1);
    }

    private static void AssertSeaBiosState(PcMachine m)
    {
        Assert.Equal(0xb8u, m.Platform.Io.Read(0x21, 1));
        Assert.Equal(0x8eu, m.Platform.Io.Read(0xa1, 1));
        Assert.Equal(0x08, m.Pic.Master.VectorFor(0));
        Assert.Equal(0x70, m.Pic.Slave.VectorFor(0));
        Assert.True(m.Pic.Master.IsCascadeInput(2), "the slave cascades on IR2");

        // Bits 7 (OUT) and 6 (null count) depend on when the status is latched; the rest is the mode.
        Assert.Equal(0x34, PitStatus0(m.Platform.Io) & 0x3f);

        // SeaBIOS src/fw/smp.c: SVR |= APIC_ENABLED, LINT0 = 0x8700, LINT1 = 0x8400 (QEMU: "info lapic"
        // after the same boot: "LVT0 0x00008700 ExtINT", "LVT1 0x00008400 NMI", "SPIV 0x000001ff APIC enabled").
        Assert.True(m.LocalApics[0].SoftwareEnabled);
        Assert.Equal(0x8700u, ApicRegister(m, 0x350));
        Assert.Equal(0x8400u, ApicRegister(m, 0x360));
    }

    private static uint ApicRegister(PcMachine m, ulong offset)
    {
        byte[] b = new byte[4];
        m.LocalApics[0].Read(offset, b);
        return BitConverter.ToUInt32(b);
    }

    [Fact]
    public void MultibootKernelFindsThePitAndPicsAsSeaBiosLeavesThem()
    {
        using PcMachine m = Machine(MultibootKernel);
        Assert.True(m.Kernel!.Multiboot);
        AssertSeaBiosState(m);
    }

    [Fact]
    public void AResetProgramsThemAgain()
    {
        using PcMachine m = Machine(MultibootKernel);
        m.Platform.Io.Write(0x21, 1, 0xff);
        m.Platform.Io.Write(0x43, 1, 0x30);
        m.Reset();
        AssertSeaBiosState(m);
    }

    // A real-mode interrupt reaches firmware code that acknowledges it at the 8259As (OCW2 20h,
    // non-specific EOI, 8259A data sheet), slave before master for IRQ 8-15; INT 08h also counts the
    // BIOS tick at 40:6C and calls INT 1Ch, as a PC BIOS does; other vectors return at once.
    [Fact]
    public void EveryRealModeVectorReachesAHandlerThatAcknowledgesItsIrq()
    {
        using PcMachine m = Machine(MultibootKernel);
        string Handler(int vector)
        {
            uint entry = (uint)m.Platform.Memory.ReadUInt(new(4 * (ulong)vector), 4);
            ulong at = ((ulong)(entry >> 16) << 4) + (entry & 0xffff);
            Assert.InRange(at, 0xf_0000ul, 0xf_ffffUL);
            byte[] code = new byte[64];
            m.Platform.Memory.Read(new(at), code);
            var decoder = Iced.Intel.Decoder.Create(16, code);
            var text = new List<string>();
            var formatter = new Iced.Intel.NasmFormatter();
            var output = new Iced.Intel.StringOutput();
            while (text.Count == 0 || text[^1] != "iret")
            {
                formatter.Format(decoder.Decode(), output);
                text.Add(output.ToStringAndReset());
            }

            return string.Join("; ", text);
        }

        Assert.Equal("push ds; push ax; xor ax,ax; mov ds,ax; add word [46Ch],1; adc word [46Eh],0; int 1Ch; mov al,20h; out 20h,al; pop ax; pop ds; iret", Handler(0x08));
        for (int irq = 1; irq < 8; irq++)
        {
            Assert.Equal("push ax; mov al,20h; out 20h,al; pop ax; iret", Handler(0x08 + irq));
        }

        for (int irq = 8; irq < 16; irq++)
        {
            Assert.Equal("push ax; mov al,20h; out 0A0h,al; out 20h,al; pop ax; iret", Handler(0x70 + irq - 8));
        }

        foreach (int vector in new[] { 0x00, 0x07, 0x10, 0x1c, 0x21, 0x6f, 0x78, 0xff })
        {
            Assert.Equal("iret", Handler(vector));
        }
    }

    // Linux programs both chips itself; its direct boot leaves them as a machine that ran no code has them.
    [Fact]
    public void LinuxKernelFindsThemAsAfterReset()
    {
        string bzImage = Path.Combine(_dir, "bzImage");
        File.WriteAllBytes(bzImage, LinuxLoaderTests.BzImage());
        using PcMachine linux = Machine(bzImage);
        using PcMachine idle = new(new PcConfig { MemoryBytes = 64UL << 20, Vga = false }, new NullSerialBackend());
        Assert.False(linux.Kernel!.Multiboot);
        foreach (ushort port in new ushort[] { 0x21, 0xa1 })
        {
            Assert.Equal(idle.Platform.Io.Read(port, 1), linux.Platform.Io.Read(port, 1));
        }

        Assert.Equal(idle.Pic.Master.VectorFor(0), linux.Pic.Master.VectorFor(0));
        Assert.Equal(idle.Pic.Slave.VectorFor(0), linux.Pic.Slave.VectorFor(0));
        Assert.Equal(PitStatus0(idle.Platform.Io), PitStatus0(linux.Platform.Io));
        foreach (ulong offset in new ulong[] { 0xf0, 0x350, 0x360 })
        {
            Assert.Equal(ApicRegister(idle, offset), ApicRegister(linux, offset));
        }
    }
}
