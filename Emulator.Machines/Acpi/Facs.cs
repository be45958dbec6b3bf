using System.Buffers.Binary;
using System.Text;

namespace Emulator.Machines.Acpi;

/// <summary>
/// The Firmware ACPI Control Structure (ACPI 6.5 5.2.10, Table 5.14): read/write memory that OSPM
/// and firmware share, found through the FADT's FIRMWARE_CTRL. It is not a description table: no
/// header, revision or checksum, only the signature "FACS" and a length of at least 64. OSPM writes
/// the firmware waking vector there before entering S2 or S3 and owns the global lock through it.
/// The FACS is required unless the FADT has HW_REDUCED_ACPI (emu's does not), firmware aligns it on
/// a 64-byte boundary, and its memory must not be reported as AddressRangeMemory (5.2.10): emu's
/// E820 map reports its page as AddressRangeNVS (<see cref="Pc.E820Map"/>), where SeaBIOS's
/// allocation for the loaded tables is reserved.
/// </summary>
public static class Facs
{
    /// <summary>Length of the structure (the minimum, with no field beyond OSPM Flags).</summary>
    public const int Size = 64;

    /// <summary>Required alignment of its address (5.2.10).</summary>
    public const int Alignment = 64;

    /// <summary>The version of Table 5.14 this follows (the one with the 64-bit wake flags).</summary>
    public const byte Version = 2;

    /// <summary>Field offsets (Table 5.14).</summary>
    public const int LengthOffset = 4, HardwareSignatureOffset = 8, FirmwareWakingVectorOffset = 12, GlobalLockOffset = 16,
        FlagsOffset = 20, XFirmwareWakingVectorOffset = 24, VersionOffset = 32, OspmFlagsOffset = 36;

    /// <summary>
    /// Builds the structure: hardware signature 0 (the hardware never changes between boots), waking
    /// vectors 0 until OSPM sets one, the global lock free, and no flags: no S4BIOS_F (there is no
    /// firmware S4) and no 64BIT_WAKE_SUPPORTED_F (a wake starts in real mode, as on every PC).
    /// </summary>
    public static byte[] Build()
    {
        byte[] facs = new byte[Size];
        Encoding.ASCII.GetBytes("FACS", facs);
        BinaryPrimitives.WriteUInt32LittleEndian(facs.AsSpan(LengthOffset), Size);
        facs[VersionOffset] = Version;
        return facs;
    }
}
