using System.Buffers.Binary;
using Emulator.Devices.Pci;

namespace Emulator.Devices.Chipset;

/// <summary>
/// The Intel 82441FX PCI and Memory Controller (PMC) of the 440FX chipset, the host bridge at
/// 00.0 (8086:1237, class 06.00.00). Only its identity matters to operating systems; the PAM
/// (0x59-0x5F) and SMRAM (0x72) registers are stored so firmware reads back what it wrote, but
/// shadow-RAM and SMRAM switching are not modelled: the BIOS window stays as the machine mapped it.
/// </summary>
public sealed class I440fx : PciFunction
{
    /// <summary>Intel's vendor ID.</summary>
    public const ushort IntelVendorId = 0x8086;

    /// <summary>82441FX device ID.</summary>
    public const ushort I440fxDeviceId = 0x1237;

    /// <summary>
    /// Subsystem vendor and ID of the host bridge: Red Hat's vendor ID and QEMU's "virtual machine"
    /// subsystem. SeaBIOS's QEMU build reads them from 00.0 to decide that it runs on a virtual
    /// machine with fw_cfg (src/fw/paravirt.c, qemu_detect); without them it looks for no fw_cfg.
    /// </summary>
    public const ushort QemuSubsystemVendorId = 0x1af4, QemuSubsystemId = 0x1100;

    private const int PamFirst = 0x59, PamCount = 7, Smram = 0x72;

    /// <summary>Creates the host bridge function.</summary>
    public I440fx()
        : base("i440fx", IntelVendorId, I440fxDeviceId, revision: 0x02, classCode: 0x06_00_00)
    {
        for (int i = 0; i < PamCount; i++)
        {
            SetWritable(PamFirst + i, 0x33, 1);
        }

        SetWritable(Smram, 0x78, 1);
        BinaryPrimitives.WriteUInt16LittleEndian(Config[SubsystemVendorIdOffset..], QemuSubsystemVendorId);
        BinaryPrimitives.WriteUInt16LittleEndian(Config[SubsystemIdOffset..], QemuSubsystemId);
        Reset();
    }

    /// <inheritdoc/>
    public override void Reset()
    {
        base.Reset();
        // SMRAM Control resets to 0x02 (82441FX datasheet §3.2.21: C_BASE_SEG = 010b).
        Config[Smram] = 0x02;
    }
}
