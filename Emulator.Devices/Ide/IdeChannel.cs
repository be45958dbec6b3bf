using Emulator.Core.Devices;

namespace Emulator.Devices.Ide;

/// <summary>
/// One ATA channel (ATA/ATAPI-6 chapter 7): the command block registers (eight ports from 0x1F0 or
/// 0x170), the control block register (0x3F6 or 0x376, at device offset <see cref="ControlOffset"/>),
/// up to two drives and one INTRQ line. The task file is written to both drives at once, as on the
/// cable; each drive has its own status and error. The channel runs the PIO protocols for its
/// drives: a drive asks for a data-in or data-out block, the host moves it through the data register,
/// and the drive is called back when the block is done. Commands execute at once (BSY is never
/// seen). As in QEMU, registers read 0 on a channel without drives and the status and error of an
/// absent device 1 read 0, which is how firmware and Linux's libata find no drive there.
/// </summary>
public sealed class IdeChannel : IBusDevice
{
    /// <summary>Ports of the command block.</summary>
    public const int CommandBlockPorts = 8;

    /// <summary>Device offset at which the machine registers the control block port (Device Control / Alternate Status).</summary>
    public const int ControlOffset = 8;

    /// <summary>The largest block one DRQ moves (an ATAPI byte count limit of 0xFFFE rounds up to this).</summary>
    public const int MaxBlock = 64 * 1024;

    private const int StateVersion = 1;
    private const int DataRegister = 0, ErrorRegister = 1, SectorCountRegister = 2, LbaLowRegister = 3, LbaMidRegister = 4,
        LbaHighRegister = 5, DeviceRegister = 6, StatusCommandRegister = 7;

    private readonly IInterruptLine _irq;
    private readonly IIdeDevice?[] _drives;
    private readonly TaskFile[] _tf = [new(), new()];
    private readonly byte[] _buffer = new byte[MaxBlock];
    private int _position;
    private int _end;
    private bool _toHost;
    private Action? _afterDataIn;
    private Action<ReadOnlySpan<byte>>? _afterDataOut;
    private byte _control;
    private bool _interruptPending;
    private BusMasterIde? _busMasterOwner;
    private BusMasterIde.Engine? _busMaster;
    private bool _lineDriven;

    /// <summary>Creates a channel with the given drives (either may be null).</summary>
    public IdeChannel(string name, IInterruptLine irq, IIdeDevice? device0, IIdeDevice? device1)
    {
        Name = name;
        _irq = irq;
        _drives = [device0, device1];
        Reset();
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>Byte accesses to the registers, word and dword accesses to the data register.</summary>
    public AccessSizes SupportedSizes => AccessSizes.Byte | AccessSizes.Word | AccessSizes.Dword;

    /// <summary>Features register (the Error register's write side) of the selected drive.</summary>
    public byte Features => Tf.Features;

    /// <summary>Sector Count (ATAPI: the interrupt reason the host reads).</summary>
    public byte SectorCount
    {
        get => Tf.SectorCount;
        set => Tf.SectorCount = value;
    }

    /// <summary>LBA Low (Sector Number).</summary>
    public byte LbaLow
    {
        get => Tf.LbaLow;
        set => Tf.LbaLow = value;
    }

    /// <summary>LBA Mid (Cylinder Low; ATAPI byte count low).</summary>
    public byte LbaMid
    {
        get => Tf.LbaMid;
        set => Tf.LbaMid = value;
    }

    /// <summary>LBA High (Cylinder High; ATAPI byte count high).</summary>
    public byte LbaHigh
    {
        get => Tf.LbaHigh;
        set => Tf.LbaHigh = value;
    }

    /// <summary>Device/Head (written to both drives; bit 4 selects one).</summary>
    public byte Device => _tf[0].Device;

    /// <summary>The previous values written (the high order bytes of 48-bit commands).</summary>
    public byte HobFeatures => Tf.HobFeatures;

    /// <inheritdoc cref="HobFeatures"/>
    public byte HobSectorCount => Tf.HobSectorCount;

    /// <inheritdoc cref="HobFeatures"/>
    public byte HobLbaLow => Tf.HobLbaLow;

    /// <inheritdoc cref="HobFeatures"/>
    public byte HobLbaMid => Tf.HobLbaMid;

    /// <inheritdoc cref="HobFeatures"/>
    public byte HobLbaHigh => Tf.HobLbaHigh;

    /// <summary>0 or 1: the drive the Device register selects.</summary>
    public int Selected => (Device & Ata.DeviceDev1) != 0 ? 1 : 0;

    /// <summary>True while INTRQ is asserted towards the interrupt controller.</summary>
    public bool InterruptAsserted => _lineDriven;

    /// <summary>The drive at position 0 or 1.</summary>
    public IIdeDevice? Drive(int unit) => _drives[unit];

    /// <summary>The 28-bit LBA of the task file (Device bits 3:0, then High, Mid, Low).</summary>
    public ulong Lba28 => ((ulong)(Device & 0x0f) << 24) | ((ulong)LbaHigh << 16) | ((ulong)LbaMid << 8) | LbaLow;

    /// <summary>The 48-bit LBA of the task file (previous High, Mid, Low, then current).</summary>
    public ulong Lba48 => ((ulong)HobLbaHigh << 40) | ((ulong)HobLbaMid << 32) | ((ulong)HobLbaLow << 24)
        | ((ulong)LbaHigh << 16) | ((ulong)LbaMid << 8) | LbaLow;

    /// <summary>A 28-bit command's sector count (0 means 256).</summary>
    public int Count28 => SectorCount == 0 ? 256 : SectorCount;

    /// <summary>A 48-bit command's sector count (0 means 65536).</summary>
    public int Count48 => (HobSectorCount << 8 | SectorCount) is int n && n != 0 ? n : 65536;

    /// <summary>Status of the selected drive.</summary>
    public byte Status
    {
        get => Tf.Status;
        set => Tf.Status = value;
    }

    /// <summary>Error register of the selected drive.</summary>
    public byte Error
    {
        get => Tf.Error;
        set => Tf.Error = value;
    }

    // Each drive keeps its own copy of the task file; the host's writes reach both (QEMU does the
    // same), the drives' own results (signature, ATAPI byte count and reason) only the one executing.
    private TaskFile Tf => _tf[Selected];

    /// <summary>True when the channel has a bus master engine, so that drives may offer and run DMA commands.</summary>
    public bool DmaAvailable => _busMaster is not null;

    /// <summary>Connects the channel to its engine of the bus master function.</summary>
    internal void AttachBusMaster(BusMasterIde owner, BusMasterIde.Engine engine)
    {
        _busMasterOwner = owner;
        _busMaster = engine;
    }

    /// <summary>
    /// Starts the data phase of a DMA command: DRQ set while the transfer waits for the bus master
    /// engine (software starts it after writing the command). When all data has moved,
    /// <paramref name="done"/> runs (it completes the command); a failed transfer aborts it.
    /// </summary>
    internal void StartDma(bool toMemory, long length, DmaTransfer transfer, Action done)
    {
        StopTransfer();
        Status = Ata.StatusDrdy | Ata.StatusDsc | Ata.StatusDrq;
        int unit = Selected;
        _busMaster!.Request(new DmaRequest(toMemory, length, transfer, ok =>
        {
            if (Selected != unit)
            {
                return;
            }

            if (ok)
            {
                done();
            }
            else
            {
                Abort(Ata.ErrorAbrt);
            }
        }), _busMasterOwner!);
    }

    /// <summary>The transfer buffer, for a drive to fill before <see cref="StartDataIn"/>.</summary>
    public Span<byte> Buffer(int length) => _buffer.AsSpan(0, length);

    /// <summary>
    /// Offers the first <paramref name="length"/> bytes of <see cref="Buffer"/> to the host: DRQ set,
    /// INTRQ raised. When the host has read them all, DRQ clears and <paramref name="done"/> runs
    /// (it may offer the next block or complete the command); with no callback the drive is ready
    /// again without an interrupt, as at the end of a PIO read (ATA/ATAPI-6 9.7).
    /// </summary>
    public void StartDataIn(int length, Action? done)
    {
        _position = 0;
        _end = length;
        _toHost = true;
        _afterDataIn = done;
        _afterDataOut = null;
        Status = Ata.StatusDrdy | Ata.StatusDsc | Ata.StatusDrq;
        RaiseInterrupt();
    }

    /// <summary>
    /// Asks the host for <paramref name="length"/> bytes: DRQ set, INTRQ raised when
    /// <paramref name="interrupt"/> (PIO data-out raises none for the first block, ATA/ATAPI-6 9.8).
    /// When they have all arrived, <paramref name="received"/> gets them.
    /// </summary>
    public void StartDataOut(int length, bool interrupt, Action<ReadOnlySpan<byte>> received)
    {
        _position = 0;
        _end = length;
        _toHost = false;
        _afterDataIn = null;
        _afterDataOut = received;
        Status = Ata.StatusDrdy | Ata.StatusDsc | Ata.StatusDrq;
        if (interrupt)
        {
            RaiseInterrupt();
        }
    }

    /// <summary>Ends the command successfully: ready, seek complete, INTRQ.</summary>
    public void Complete()
    {
        StopTransfer();
        Status = Ata.StatusDrdy | Ata.StatusDsc;
        RaiseInterrupt();
    }

    /// <summary>Ends the command with <paramref name="error"/> in the Error register: ready, ERR, INTRQ.</summary>
    public void Abort(byte error = Ata.ErrorAbrt)
    {
        StopTransfer();
        Error = error;
        Status = Ata.StatusDrdy | Ata.StatusErr;
        RaiseInterrupt();
    }

    /// <summary>Sets the interrupt pending (INTRQ asserted unless nIEN).</summary>
    public void RaiseInterrupt()
    {
        _interruptPending = true;
        DriveLine();
    }

    /// <summary>Writes the signature the selected drive leaves after reset or diagnostics (ATA/ATAPI-6 9.12): ATA or packet device.</summary>
    public void WriteSignature(bool atapi) => WriteSignature(Tf, atapi);

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data)
    {
        if (offset == DataRegister)
        {
            ReadData(data);
            return;
        }

        for (int i = 0; i < data.Length; i++)
        {
            data[i] = ReadRegister((int)offset + i);
        }
    }

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (offset == DataRegister)
        {
            WriteData(data);
            return;
        }

        for (int i = 0; i < data.Length; i++)
        {
            WriteRegister((int)offset + i, data[i]);
        }
    }

    /// <inheritdoc/>
    public void Reset()
    {
        _control = 0;
        _tf[0] = new TaskFile();
        _tf[1] = new TaskFile();
        foreach (IIdeDevice? d in _drives)
        {
            d?.Reset();
        }

        ResetDrives();
    }

    /// <summary>
    /// True while a command's data phase is under way: a PIO block offered or asked for, or a DMA
    /// request waiting for the bus master engine. The drive continues the command from a callback,
    /// which saved state cannot hold; <see cref="Save"/> is meant for the time between commands.
    /// </summary>
    public bool TransferInProgress => _afterDataIn is not null || _afterDataOut is not null || _position < _end || _busMaster?.HasRequest == true;

    /// <summary>Saves the registers; a data transfer in progress is not part of the state (it restores as none, see <see cref="TransferInProgress"/>).</summary>
    public DeviceState Save() => new(Name, StateVersion, [.. _tf[0].ToBytes(), .. _tf[1].ToBytes(), _control, _interruptPending ? (byte)1 : (byte)0]);

    /// <inheritdoc/>
    public void Restore(DeviceState state)
    {
        byte[] s = state.Data;
        if (state.Version != StateVersion || s.Length != (2 * TaskFile.Size) + 2)
        {
            throw new InvalidDataException($"{Name}: saved state version {state.Version} is not supported");
        }

        _tf[0] = TaskFile.FromBytes(s.AsSpan(0, TaskFile.Size));
        _tf[1] = TaskFile.FromBytes(s.AsSpan(TaskFile.Size, TaskFile.Size));
        _control = s[2 * TaskFile.Size];
        StopTransfer();
        _interruptPending = s[(2 * TaskFile.Size) + 1] != 0;
        DriveLine();
    }

    private bool HasDrives => _drives[0] is not null || _drives[1] is not null;

    private bool SelectedPresent => _drives[Selected] is not null;

    private byte ReadRegister(int register)
    {
        if (!HasDrives)
        {
            return 0;
        }

        bool hob = (_control & Ata.ControlHob) != 0;
        switch (register)
        {
            case ErrorRegister:
                return SelectedPresent ? (hob ? HobFeatures : Error) : (byte)0;
            case SectorCountRegister:
                return hob ? HobSectorCount : SectorCount;
            case LbaLowRegister:
                return hob ? HobLbaLow : LbaLow;
            case LbaMidRegister:
                return hob ? HobLbaMid : LbaMid;
            case LbaHighRegister:
                return hob ? HobLbaHigh : LbaHigh;
            case DeviceRegister:
                return Device;
            case StatusCommandRegister:
                // Reading Status acknowledges the interrupt (ATA/ATAPI-6 7.15); Alternate Status does not.
                _interruptPending = false;
                DriveLine();
                return SelectedPresent ? Status : (byte)0;
            case ControlOffset:
                return SelectedPresent ? Status : (byte)0;
            default:
                return 0xff;
        }
    }

    private void WriteRegister(int register, byte value)
    {
        if (register == ControlOffset)
        {
            WriteDeviceControl(value);
            return;
        }

        // A write to any command block register clears HOB (ATA/ATAPI-6 7.10).
        _control &= unchecked((byte)~Ata.ControlHob);
        if (register == StatusCommandRegister)
        {
            ExecuteCommand(value);
            return;
        }

        foreach (TaskFile tf in _tf)
        {
            tf.Write(register, value);
        }
    }

    private void ExecuteCommand(byte command)
    {
        // Commands to an absent device are ignored (nothing answers on the cable).
        if (_drives[Selected] is not { } drive || (_control & Ata.ControlSrst) != 0)
        {
            return;
        }

        _interruptPending = false;
        DriveLine();
        StopTransfer();
        drive.Execute(this, command);
    }

    private void WriteDeviceControl(byte value)
    {
        bool wasReset = (_control & Ata.ControlSrst) != 0;
        _control = value;
        if ((value & Ata.ControlSrst) != 0 && !wasReset)
        {
            StopTransfer();
            _tf[0].Status = _tf[1].Status = Ata.StatusBsy;
        }
        else if ((value & Ata.ControlSrst) == 0 && wasReset)
        {
            ResetDrives();
        }

        DriveLine();
    }

    // The end of a software (or power-on) reset: each drive runs its diagnostics and leaves its
    // signature; an ATA drive is ready, a packet device is not until it gets a command (QEMU: status 0).
    private void ResetDrives()
    {
        StopTransfer();
        _interruptPending = false;
        for (int unit = 0; unit < 2; unit++)
        {
            bool atapi = _drives[unit] is { IsAtapi: true };
            _tf[unit].Error = 1; // diagnostic code 01h: device passed
            _tf[unit].Status = atapi ? (byte)0 : (byte)(Ata.StatusDrdy | Ata.StatusDsc);
            WriteSignature(_tf[unit], atapi);
        }

        DriveLine();
    }

    private void ReadData(Span<byte> data)
    {
        if (!_toHost || _position >= _end)
        {
            data.Fill(0xff);
            return;
        }

        int n = Math.Min(data.Length, _end - _position);
        _buffer.AsSpan(_position, n).CopyTo(data);
        data[n..].Fill(0xff);
        _position += n;
        if (_position >= _end)
        {
            Action? done = _afterDataIn;
            StopTransfer();
            Status = Ata.StatusDrdy | Ata.StatusDsc;
            done?.Invoke();
        }
    }

    private void WriteData(ReadOnlySpan<byte> data)
    {
        if (_toHost || _afterDataOut is null || _position >= _end)
        {
            return;
        }

        int n = Math.Min(data.Length, _end - _position);
        data[..n].CopyTo(_buffer.AsSpan(_position));
        _position += n;
        if (_position >= _end)
        {
            Action<ReadOnlySpan<byte>> received = _afterDataOut;
            int length = _end;
            StopTransfer();
            Status = Ata.StatusDrdy | Ata.StatusDsc;
            received(_buffer.AsSpan(0, length));
        }
    }

    private void StopTransfer()
    {
        _busMaster?.Cancel();
        _position = _end = 0;
        _afterDataIn = null;
        _afterDataOut = null;
    }

    private void DriveLine()
    {
        bool level = _interruptPending && (_control & Ata.ControlNien) == 0;
        if (level != _lineDriven)
        {
            _lineDriven = level;
            _irq.Set(level);
        }
    }

    private static void WriteSignature(TaskFile tf, bool atapi)
    {
        tf.SectorCount = 1;
        tf.LbaLow = 1;
        tf.LbaMid = atapi ? (byte)0x14 : (byte)0;
        tf.LbaHigh = atapi ? (byte)0xeb : (byte)0;
    }

    // One drive's copy of the command block registers, with the previous value of each (the 48-bit
    // "high order byte" FIFO, ATA/ATAPI-6 6.20), its status and its error.
    private sealed class TaskFile
    {
        public const int Size = 13;

        public byte Features, SectorCount, LbaLow, LbaMid, LbaHigh, Device;
        public byte HobFeatures, HobSectorCount, HobLbaLow, HobLbaMid, HobLbaHigh;
        public byte Status, Error;

        public static TaskFile FromBytes(ReadOnlySpan<byte> s) => new()
        {
            Features = s[0], SectorCount = s[1], LbaLow = s[2], LbaMid = s[3], LbaHigh = s[4], Device = s[5],
            HobFeatures = s[6], HobSectorCount = s[7], HobLbaLow = s[8], HobLbaMid = s[9], HobLbaHigh = s[10],
            Status = s[11], Error = s[12],
        };

        public byte[] ToBytes() =>
            [Features, SectorCount, LbaLow, LbaMid, LbaHigh, Device, HobFeatures, HobSectorCount, HobLbaLow, HobLbaMid, HobLbaHigh, Status, Error];

        public void Write(int register, byte value)
        {
            switch (register)
            {
                case ErrorRegister:
                    (HobFeatures, Features) = (Features, value);
                    break;
                case SectorCountRegister:
                    (HobSectorCount, SectorCount) = (SectorCount, value);
                    break;
                case LbaLowRegister:
                    (HobLbaLow, LbaLow) = (LbaLow, value);
                    break;
                case LbaMidRegister:
                    (HobLbaMid, LbaMid) = (LbaMid, value);
                    break;
                case LbaHighRegister:
                    (HobLbaHigh, LbaHigh) = (LbaHigh, value);
                    break;
                case DeviceRegister:
                    Device = value;
                    break;
                default:
                    break;
            }
        }
    }
}
