using System.Buffers.Binary;
using Emulator.Core.Io;
using Emulator.Devices.Intc;
using Emulator.Devices.Timers;

namespace Emulator.Machines.Pc;

/// <summary>
/// What a PC BIOS leaves in the 8254 PIT, the two 8259A PICs and the bootstrap processor's local APIC
/// when it hands over to a boot loader,
/// for a multiboot kernel booted directly (QEMU boots those through SeaBIOS, and simple kernels such
/// as kvm-unit-tests' realmode.flat wait for the timer interrupt the BIOS left running). The facts,
/// from SeaBIOS's source and checked under QEMU 7.2 (<c>info pic</c>, and the PIT's read-back status
/// 34h, after <c>-kernel</c> of a multiboot image):
/// <list type="bullet">
/// <item>PIT counter 0 (src/hw/timer.c pit_setup): control word 34h (LSB then MSB, mode 2 rate
/// generator, binary), count 0000h = 65536, an IRQ 0 at 18.2 Hz.</item>
/// <item>PICs (src/hw/pic.c pic_reset): ICW1 11h (edge, cascade, ICW4 needed), ICW2 08h and 70h,
/// ICW3 04h (slave on IR2) and 02h (slave ID), ICW4 01h (8086 mode, normal EOI); then the masks, all
/// set but the cascade (PIC_IRQMASK_DEFAULT), opened by enable_hwirq for the lines SeaBIOS serves:
/// IRQ 0 (clock.c), 1 and 12 (ps2port.c), 6 (floppy.c), 8 (clock.c, CONFIG_RTC_TIMER), 13
/// (misc.c mathcp_setup) and 14 (ata.c), which leaves master IMR B8h and slave IMR 8Eh.</item>
/// <item>The bootstrap processor's local APIC (src/fw/smp.c smp_scan): software-enabled (SVR bit 8),
/// LINT0 8700h (ExtINT, level, unmasked) and LINT1 8400h (NMI, level): the virtual wire mode of the
/// MultiProcessor Specification 1.4 3.6.2.2, through which the PICs' INTR reaches the processor.
/// Without it the LINT0 entry stays masked as after RESET (Intel SDM Vol. 3A 11.5.1) and an APIC
/// that is globally enabled passes no 8259A interrupt on. The application processors' APICs are
/// left alone, as SeaBIOS leaves them.</item>
/// </list>
/// Written through the devices' own ports, as the BIOS writes them. Not for a Linux kernel: Linux
/// reprograms both itself, and its direct boot is kept as it was.
/// </summary>
public static class BiosInterruptSetup
{
    /// <summary>PIT control word: counter 0, LSB then MSB, mode 2 (rate generator), binary count (8254 data sheet, Figure 8).</summary>
    public const byte PitControl = 0x34;

    /// <summary>The vectors of IRQ 0 and IRQ 8 (ICW2 of the master and slave).</summary>
    public const byte MasterVectorBase = 0x08, SlaveVectorBase = 0x70;

    /// <summary>The interrupt masks SeaBIOS leaves: IRQs 0, 1, 2, 6 open on the master, 8, 12, 13, 14 on the slave.</summary>
    public const byte MasterMask = 0xb8, SlaveMask = 0x8e;

    // ICW1: D4 set (this is ICW1), edge triggered, cascade mode, ICW4 follows (8259A data sheet, Figure 6).
    private const byte Icw1 = 0x11;

    // ICW3: the master has a slave on IR2; the slave's ID is 2. ICW4: 8086/8088 mode, normal EOI, not buffered.
    private const byte MasterIcw3 = 0x04, SlaveIcw3 = 0x02, Icw4 = 0x01;

    /// <summary>The local APIC's LINT0 and LINT1 entries SeaBIOS writes: ExtINT and NMI, level triggered, unmasked (SDM Vol. 3A Figure 11-8).</summary>
    public const uint Lint0 = 0x8700, Lint1 = 0x8400;

    // Local APIC register offsets (SDM Vol. 3A Table 11-1) and the SVR's APIC Software Enable bit (11.9).
    private const ulong SvrOffset = 0xf0, Lint0Offset = 0x350, Lint1Offset = 0x360;
    private const uint SvrEnable = 0x100;

    private const ushort PitControlPort = Pit8254.Port + 3, PitCounter0 = Pit8254.Port;

    /// <summary>Programs the PIT and the PICs through <paramref name="io"/>, and the bootstrap processor's <paramref name="apic"/>, as SeaBIOS's POST leaves them.</summary>
    public static void Set(IoPortBus io, LocalApic apic)
    {
        Span<byte> value = stackalloc byte[4];
        apic.Read(SvrOffset, value);
        WriteApic(apic, SvrOffset, BinaryPrimitives.ReadUInt32LittleEndian(value) | SvrEnable);
        WriteApic(apic, Lint0Offset, Lint0);
        WriteApic(apic, Lint1Offset, Lint1);

        io.Write(PitControlPort, 1, PitControl);
        io.Write(PitCounter0, 1, 0);
        io.Write(PitCounter0, 1, 0);

        const ushort masterData = CascadedPic8259.MasterPort + 1, slaveData = CascadedPic8259.SlavePort + 1;
        io.Write(CascadedPic8259.MasterPort, 1, Icw1);
        io.Write(CascadedPic8259.SlavePort, 1, Icw1);
        io.Write(masterData, 1, MasterVectorBase);
        io.Write(slaveData, 1, SlaveVectorBase);
        io.Write(masterData, 1, MasterIcw3);
        io.Write(slaveData, 1, SlaveIcw3);
        io.Write(masterData, 1, Icw4);
        io.Write(slaveData, 1, Icw4);
        io.Write(masterData, 1, MasterMask);
        io.Write(slaveData, 1, SlaveMask);
    }

    private static void WriteApic(LocalApic apic, ulong offset, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        apic.Write(offset, bytes);
    }
}
