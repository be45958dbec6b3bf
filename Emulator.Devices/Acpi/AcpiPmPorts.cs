namespace Emulator.Devices.Acpi;

/// <summary>
/// The default I/O layout of the ACPI fixed power-management registers (one PM1a block, no PM1b).
/// The FADT built for the machine must publish the same addresses and lengths.
/// </summary>
public static class AcpiPmPorts
{
    /// <summary>First port of the PM register block.</summary>
    public const ushort Base = 0x600;

    /// <summary>PM1a_EVT_BLK: PM1 status (2 bytes) then PM1 enable (2 bytes).</summary>
    public const ushort Pm1aEvtBlk = Base;

    /// <summary>PM1_EVT_LEN: length of <see cref="Pm1aEvtBlk"/> in bytes.</summary>
    public const int Pm1EvtLen = 4;

    /// <summary>PM1a_CNT_BLK: the PM1 control register.</summary>
    public const ushort Pm1aCntBlk = Base + 0x4;

    /// <summary>PM1_CNT_LEN: length of <see cref="Pm1aCntBlk"/> in bytes.</summary>
    public const int Pm1CntLen = 2;

    /// <summary>PM_TMR_BLK: the power-management timer.</summary>
    public const ushort PmTmrBlk = Base + 0x8;

    /// <summary>PM_TMR_LEN: length of <see cref="PmTmrBlk"/> in bytes.</summary>
    public const int PmTmrLen = 4;
}
