using Emulator.Core.Io;
using Emulator.Devices.Intc;
using Emulator.Devices.Timers;

namespace Emulator.Machines.Pc;

/// <summary>
/// What a PC BIOS leaves in the 8254 PIT and the two 8259A PICs when it hands over to a boot loader,
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
/// </list>
/// Written through the devices' own ports, as the BIOS writes them. Not for a Linux kernel: Linux
/// reprograms both itself, and its direct boot is kept as it was.
/// </summary>
public static class BiosTimerAndPic
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

    private const ushort PitControlPort = Pit8254.Port + 3, PitCounter0 = Pit8254.Port;

    /// <summary>Programs the PIT and the PICs through <paramref name="io"/> as SeaBIOS's POST leaves them.</summary>
    public static void Set(IoPortBus io)
    {
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
}
