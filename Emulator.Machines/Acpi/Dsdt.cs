using Emulator.Devices.Acpi;
using Emulator.Devices.Chipset;
using Emulator.Machines.Pc;

namespace Emulator.Machines.Acpi;

/// <summary>
/// The Differentiated System Description Table (ACPI 6.5 5.2.11.1): a header then AML. It holds
/// <c>\_S3</c> and <c>\_S5</c>, the packages whose first two elements are the SLP_TYP values for
/// suspend to RAM and soft-off (7.4.2) that the OS writes to PM1a_CNT and PM1b_CNT
/// (<see cref="AcpiPmControl"/> sleeps on <see cref="AcpiPmControl.SlpTypS3"/> and powers off on
/// <see cref="AcpiPmControl.SlpTypS5"/>; an OS offers a sleep state only when its package exists), and <c>\_SB.PCI0</c>, the PCI host bridge: an OS that
/// uses ACPI finds PCI buses only through such a device (PCI Firmware 3.2 4.1.1; Linux does not
/// probe bus 0 by itself once ACPI routes interrupts).
/// </summary>
public static class Dsdt
{
    /// <summary>
    /// <c>Name (_S5, Package (4) { SlpTypS5, SlpTypS5, Zero, Zero })</c> in AML: NameOp, the NameSeg
    /// "_S5_", PackageOp, PkgLength (one byte: it counts itself, NumElements and the elements), NumElements.
    /// </summary>
    public static byte[] S5Object() => SleepObject("_S5", AcpiPmControl.SlpTypS5);

    /// <summary><c>Name (_S3, Package (4) { SlpTypS3, SlpTypS3, Zero, Zero })</c> in AML, laid out as <see cref="S5Object"/>.</summary>
    public static byte[] S3Object() => SleepObject("_S3", AcpiPmControl.SlpTypS3);

    private static byte[] SleepObject(string name, int typ)
    {
        byte[] value = Aml.Integer((uint)typ);
        return Aml.Name(name, Aml.Package(value, value, [Aml.ZeroOp], [Aml.ZeroOp]));
    }

    /// <summary>
    /// <c>Scope (\_SB) { Device (PCI0) { _HID, _UID, _CRS, _PRT }, Device (KBD) }</c>: the host bridge decodes bus
    /// 0-255, consumes the configuration ports 0xCF8-0xCFF, and forwards every other I/O port and the
    /// legacy VGA window and the PCI hole below the IOAPIC (where the firmware role places BARs).
    /// </summary>
    public static byte[] PciRootBridge()
    {
        byte[] crs = ResourceTemplate.Build(
            ResourceTemplate.WordBusNumber(0, 0xff),
            ResourceTemplate.Io(0xcf8, 8),
            ResourceTemplate.WordIo(0x0000, 0x0cf7),
            ResourceTemplate.WordIo(0x0d00, 0xffff),
            ResourceTemplate.DWordMemory(0x000a_0000, 0x000b_ffff),
            ResourceTemplate.DWordMemory((uint)PcPci.MemoryWindowStart, (uint)PcPci.MemoryWindowEnd));
        return Aml.RootScope("_SB", Aml.Device("PCI0",
            Aml.Name("_HID", Aml.EisaId("PNP0A03")),
            Aml.Name("_UID", Aml.Integer(0)),
            Aml.Name("_CRS", Aml.Buffer(crs)),
            Aml.Name("_PRT", RoutingTable())),
            Keyboard());
    }

    /// <summary>
    /// <c>Device (KBD) { _HID PNP0303, _CRS { IO 0x60, IO 0x64, IRQ 1 } }</c>: the i8042's keyboard
    /// port. Firmware and OSes that enumerate legacy devices through ACPI look for it: SeaBIOS skips
    /// its PS/2 keyboard set-up without it ("ACPI: no PS/2 keyboard present"), Linux's i8042 driver
    /// binds to it.
    /// </summary>
    public static byte[] Keyboard() => Aml.Device("KBD",
        Aml.Name("_HID", Aml.EisaId("PNP0303")),
        Aml.Name("_CRS", Aml.Buffer(ResourceTemplate.Build(
            ResourceTemplate.Io(0x60, 1), ResourceTemplate.Io(0x64, 1), ResourceTemplate.Irq(1)))));

    /// <summary>
    /// The interrupt routing table (ACPI 6.5 6.2.13 _PRT): for every slot 1-31 and pin INTA#-INTD#,
    /// the global system interrupt its PIRQ is steered to. Entries name GSIs directly (Source = 0)
    /// rather than PCI link devices: the steering is the fixed one the firmware role programs into
    /// the PIIX3 (<see cref="Piix3.DefaultIrqs"/>); a guest that reprograms the router itself is not
    /// described. The OS treats such entries as level-triggered, active-low, which is what PCI INTx# is.
    /// </summary>
    public static byte[] RoutingTable()
    {
        var entries = new List<byte[]>();
        for (int slot = 1; slot < 32; slot++)
        {
            for (int pin = 0; pin < 4; pin++)
            {
                int irq = Piix3.DefaultIrqs[Piix3.PirqOf(slot, pin + 1)];
                entries.Add(Aml.Package(Aml.Integer(((uint)slot << 16) | 0xffff), Aml.Integer((uint)pin), Aml.Integer(0), Aml.Integer((uint)irq)));
            }
        }

        return Aml.Package([.. entries]);
    }

    /// <summary>Builds the table (revision 2: integers are 64 bits).</summary>
    public static byte[] Build()
    {
        byte[] aml = [.. S3Object(), .. S5Object(), .. PciRootBridge()];
        byte[] t = new byte[SdtHeader.Size + aml.Length];
        aml.CopyTo(t, SdtHeader.Size);
        SdtHeader.Finish(t, "DSDT", 2);
        return t;
    }
}
