namespace Emulator.Devices.Ide;

/// <summary>
/// Register bits and command codes of the ATA interface (ATA/ATAPI-6, T13/1410D: 7.15 Status,
/// 7.9 Error, 7.10 Device Control, 7.2 Device/Head; chapter 8 for the commands; ATA8-ACS for
/// their current numbers).
/// </summary>
public static class Ata
{
    /// <summary>Status register bits: busy, device ready, device fault, seek complete / service, data request, error.</summary>
    public const byte StatusBsy = 0x80, StatusDrdy = 0x40, StatusDf = 0x20, StatusDsc = 0x10, StatusDrq = 0x08, StatusErr = 0x01;

    /// <summary>Error register bits: interface CRC, uncorrectable, ID not found, aborted command.</summary>
    public const byte ErrorIcrc = 0x80, ErrorUnc = 0x40, ErrorIdnf = 0x10, ErrorAbrt = 0x04;

    /// <summary>Device Control bits: high order byte readback, software reset, interrupt disable.</summary>
    public const byte ControlHob = 0x80, ControlSrst = 0x04, ControlNien = 0x02;

    /// <summary>Device/Head bits: LBA addressing, device 1 selected.</summary>
    public const byte DeviceLba = 0x40, DeviceDev1 = 0x10;

    /// <summary>ATAPI interrupt reason (in the Sector Count register): command/data, direction to host.</summary>
    public const byte ReasonCoD = 0x01, ReasonIo = 0x02;

    /// <summary>Command codes.</summary>
    public const byte DeviceReset = 0x08, ReadSectors = 0x20, ReadSectorsNoRetry = 0x21, ReadSectorsExt = 0x24,
        ReadDmaExt = 0x25, ReadMultipleExt = 0x29, WriteSectors = 0x30, WriteSectorsNoRetry = 0x31, WriteSectorsExt = 0x34,
        WriteDmaExt = 0x35, WriteMultipleExt = 0x39, ReadVerifySectors = 0x40, ReadVerifySectorsNoRetry = 0x41,
        ReadVerifySectorsExt = 0x42, Seek = 0x70, ExecuteDeviceDiagnostic = 0x90, InitializeDeviceParameters = 0x91,
        Packet = 0xa0, IdentifyPacketDevice = 0xa1, ReadMultiple = 0xc4, WriteMultiple = 0xc5, SetMultipleMode = 0xc6,
        ReadDma = 0xc8, ReadDmaNoRetry = 0xc9, WriteDma = 0xca, WriteDmaNoRetry = 0xcb, StandbyImmediate = 0xe0,
        IdleImmediate = 0xe1, Standby = 0xe2, Idle = 0xe3, CheckPowerMode = 0xe5, Sleep = 0xe6, FlushCache = 0xe7,
        FlushCacheExt = 0xea, IdentifyDevice = 0xec, SetFeatures = 0xef;

    /// <summary>The Sector Count value CHECK POWER MODE returns for a drive that is active or idle.</summary>
    public const byte PowerModeActive = 0xff;
}
