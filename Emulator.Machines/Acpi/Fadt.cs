using System.Buffers.Binary;
using Emulator.Devices.Acpi;
using Emulator.Devices.Pci;

namespace Emulator.Machines.Acpi;

/// <summary>
/// The Fixed ACPI Description Table, revision 6 (ACPI 6.5 5.2.9, Table 5.9): where the FACS is, where
/// the PM1a event and control blocks and the PM timer are (<see cref="AcpiPmPorts"/>), the SCI on IRQ 9, the DSDT, and the
/// reset register (the Reset Control Register at 0xCF9, value 6: full reset).
/// </summary>
public static class Fadt
{
    /// <summary>Length of a revision 6 FADT.</summary>
    public const int Size = 276;

    /// <summary>FADT major version (header revision) and minor version.</summary>
    public const byte Revision = 6, MinorVersion = 5;

    /// <summary>The ISA interrupt the SCI is wired to.</summary>
    public const ushort SciInterrupt = 9;

    /// <summary>The value written to the reset register.</summary>
    public const byte ResetValue = PciHostBridge.ResetControlFullReset;

    /// <summary>Field offsets (Table 5.9).</summary>
    public const int FirmwareCtrlOffset = 36, DsdtOffset = 40, PreferredPmProfileOffset = 45, SciIntOffset = 46, SmiCmdOffset = 48,
        Pm1aEvtBlkOffset = 56, Pm1aCntBlkOffset = 64, PmTmrBlkOffset = 76, Pm1EvtLenOffset = 88, Pm1CntLenOffset = 89,
        PmTmrLenOffset = 91, CenturyOffset = 108, IapcBootArchOffset = 109, FlagsOffset = 112, ResetRegOffset = 116,
        ResetValueOffset = 128, MinorVersionOffset = 131, XFirmwareCtrlOffset = 132, XDsdtOffset = 140, XPm1aEvtBlkOffset = 148, XPm1aCntBlkOffset = 172,
        XPmTmrBlkOffset = 208;

    /// <summary>Fixed feature flags (Table 5.10).</summary>
    public const uint Wbinvd = 1 << 0, ProcC1 = 1 << 2, PwrButton = 1 << 4, SlpButton = 1 << 5, ResetRegSup = 1 << 10,
        HwReducedAcpi = 1 << 20;

    /// <summary>IA-PC boot architecture flags (Table 5.11): LEGACY_DEVICES, 8042.</summary>
    public const ushort LegacyDevices = 1 << 0, Has8042 = 1 << 1;

    /// <summary>The CMOS RTC century register's index (MC146818 NVRAM).</summary>
    public const byte CenturyRegister = 0x32;

    /// <summary>Builds the table pointing at the FACS at <paramref name="facs"/> and the DSDT at <paramref name="dsdt"/>.</summary>
    public static byte[] Build(uint facs, uint dsdt)
    {
        byte[] t = new byte[Size];
        Span<byte> s = t;

        // The FACS is below 4 GiB, so FIRMWARE_CTRL holds it and X_FIRMWARE_CTRL stays zero: at most
        // one of the two may be non-zero (Table 5.9, FIRMWARE_CTRL; Linux warns of a "32/64X FACS
        // address mismatch" otherwise).
        BinaryPrimitives.WriteUInt32LittleEndian(s[FirmwareCtrlOffset..], facs);
        BinaryPrimitives.WriteUInt32LittleEndian(s[DsdtOffset..], dsdt);
        s[PreferredPmProfileOffset] = 0; // unspecified
        BinaryPrimitives.WriteUInt16LittleEndian(s[SciIntOffset..], SciInterrupt);

        // SMI_CMD = 0: there is no SMM and no legacy mode, the platform is always in ACPI mode
        // (AcpiPmControl reads SCI_EN as set).
        BinaryPrimitives.WriteUInt32LittleEndian(s[SmiCmdOffset..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(s[Pm1aEvtBlkOffset..], AcpiPmPorts.Pm1aEvtBlk);
        BinaryPrimitives.WriteUInt32LittleEndian(s[Pm1aCntBlkOffset..], AcpiPmPorts.Pm1aCntBlk);
        BinaryPrimitives.WriteUInt32LittleEndian(s[PmTmrBlkOffset..], AcpiPmPorts.PmTmrBlk);
        s[Pm1EvtLenOffset] = AcpiPmPorts.Pm1EvtLen;
        s[Pm1CntLenOffset] = AcpiPmPorts.Pm1CntLen;
        s[PmTmrLenOffset] = AcpiPmPorts.PmTmrLen;
        s[CenturyOffset] = CenturyRegister;
        BinaryPrimitives.WriteUInt16LittleEndian(s[IapcBootArchOffset..], LegacyDevices | Has8042);

        // TMR_VAL_EXT stays clear: the PM timer is 24 bits wide (AcpiPmTimer).
        BinaryPrimitives.WriteUInt32LittleEndian(s[FlagsOffset..], Wbinvd | ProcC1 | PwrButton | SlpButton | ResetRegSup);
        GenericAddress.WriteIo(s[ResetRegOffset..], PciHostBridge.ResetControlPort, 8, GenericAddress.ByteAccess);
        s[ResetValueOffset] = ResetValue;
        s[MinorVersionOffset] = MinorVersion;
        BinaryPrimitives.WriteUInt64LittleEndian(s[XDsdtOffset..], dsdt);
        GenericAddress.WriteIo(s[XPm1aEvtBlkOffset..], AcpiPmPorts.Pm1aEvtBlk, AcpiPmPorts.Pm1EvtLen * 8, GenericAddress.WordAccess);
        GenericAddress.WriteIo(s[XPm1aCntBlkOffset..], AcpiPmPorts.Pm1aCntBlk, AcpiPmPorts.Pm1CntLen * 8, GenericAddress.WordAccess);
        GenericAddress.WriteIo(s[XPmTmrBlkOffset..], AcpiPmPorts.PmTmrBlk, AcpiPmPorts.PmTmrLen * 8, GenericAddress.DwordAccess);
        SdtHeader.Finish(s, "FACP", Revision);
        return t;
    }
}
