using System.Buffers.Binary;
using Emulator.Core.Devices;
using Emulator.Core.Machine;
using Emulator.Core.Memory;
using Emulator.Devices.Pci;

namespace Emulator.Devices.Virtio;

/// <summary>
/// The modern (1.x) virtio PCI transport (Virtio 1.1 §4.1) around one <see cref="IVirtioDevice"/>:
/// vendor 0x1AF4, device 0x1040 + type, revision 1 (§4.1.2), and four vendor-specific
/// capabilities (§4.1.4) pointing into a 16 KiB memory BAR 0:
/// <code>
///   0x0000 common configuration (§4.1.4.3)     0x2000 device configuration (§4.1.4.6)
///   0x1000 ISR status (§4.1.4.5)               0x3000 notifications (§4.1.4.4), 4 bytes per queue
/// </code>
/// plus the VIRTIO_PCI_CAP_PCI_CFG window (§4.1.4.7). Interrupts are INTx# with the ISR register;
/// there is no MSI-X, so msix_config and queue_msix_vector read VIRTIO_MSI_NO_VECTOR and drivers
/// fall back to INTx (§4.1.4.3, §4.1.5.1.2). Only split virtqueues are offered.
/// A queue is serviced synchronously when the driver notifies it, on the notifying vCPU's thread
/// and under the machine's device lock.
/// </summary>
public sealed class VirtioPci : PciFunction, IVirtioTransport, IDisposable
{
    /// <summary>The virtio PCI vendor ID (Red Hat / Qumranet).</summary>
    public const ushort VirtioVendorId = 0x1af4;

    /// <summary>Modern device IDs are 0x1040 + the virtio device type (§4.1.2).</summary>
    public const ushort ModernDeviceIdBase = 0x1040;

    /// <summary>Size of BAR 0.</summary>
    public const uint BarSize = 0x4000;

    /// <summary>Offsets of the structures inside BAR 0.</summary>
    public const int CommonOffset = 0x0000, IsrOffset = 0x1000, DeviceConfigOffset = 0x2000, NotifyOffset = 0x3000;

    /// <summary>notify_off_multiplier: queue n is notified by a write at NotifyOffset + 4n.</summary>
    public const int NotifyOffMultiplier = 4;

    /// <summary>Device status bits (§2.1).</summary>
    public const byte StatusAcknowledge = 1, StatusDriver = 2, StatusDriverOk = 4, StatusFeaturesOk = 8,
        StatusNeedsReset = 0x40, StatusFailed = 0x80;

    /// <summary>Transport feature bits (§6).</summary>
    public const int FeatureIndirectDesc = 28, FeatureEventIdx = 29, FeatureVersion1 = 32;

    /// <summary>ISR status bits (§4.1.4.5).</summary>
    public const byte IsrQueue = 1, IsrConfig = 2;

    private const ushort NoVector = 0xffff;
    private const int CommonSize = 0x3c;
    private const byte VendorCapability = 0x09;
    private const byte CapCommon = 1, CapNotify = 2, CapIsr = 3, CapDevice = 4, CapPciCfg = 5;

    private readonly IVirtioDevice _device;
    private readonly GuestErrorLog _errors;
    private readonly Virtqueue[] _queues;
    private readonly int _pciCfgCap;
    private uint _deviceFeatureSelect, _driverFeatureSelect;
    private ulong _driverFeatures;
    private byte _status;
    private ushort _queueSelect;
    private byte _isr;
    private byte _configGeneration;

    /// <summary>
    /// Creates the transport for <paramref name="device"/>, whose queues live in <paramref name="memory"/>; takes ownership of the device.
    /// Protocol violations of the driver go to <paramref name="errors"/> (a log of its own when null).
    /// </summary>
    public VirtioPci(string name, IVirtioDevice device, AddressSpace memory, GuestErrorLog? errors = null)
        : base(name, VirtioVendorId, (ushort)(ModernDeviceIdBase + device.DeviceType), revision: 1, classCode: device.PciClassCode)
    {
        _device = device;
        _errors = errors ?? new GuestErrorLog();
        _queues = [.. Enumerable.Range(0, device.QueueCount).Select(_ => new Virtqueue(memory))];
        BinaryPrimitives.WriteUInt16LittleEndian(Config[SubsystemVendorIdOffset..], VirtioVendorId);
        BinaryPrimitives.WriteUInt16LittleEndian(Config[SubsystemIdOffset..], 0x1100);
        SetInterruptPin(1);
        AddBar(new PciBar(0, PciBarKind.Memory32, BarSize, new Registers(this)));
        AddVirtioCapability(CapCommon, CommonOffset, 0x1000);
        AddVirtioCapability(CapNotify, NotifyOffset, 0x1000, NotifyOffMultiplier);
        AddVirtioCapability(CapIsr, IsrOffset, 0x1000);
        AddVirtioCapability(CapDevice, DeviceConfigOffset, 0x1000);
        _pciCfgCap = AddVirtioCapability(CapPciCfg, 0, 0, 0);

        // VIRTIO_PCI_CAP_PCI_CFG: bar, offset, length and pci_cfg_data are the driver's (§4.1.4.7).
        SetWritable(_pciCfgCap + 4, 0xff, 1);
        SetWritable(_pciCfgCap + 8, 0xffff_ffff, 4);
        SetWritable(_pciCfgCap + 12, 0xffff_ffff, 4);
        SetWritable(_pciCfgCap + 16, 0xffff_ffff, 4);
        ResetTransport();
        (device as IVirtioTransportAware)?.Attach(this);
    }

    /// <summary>The device behind the transport.</summary>
    public IVirtioDevice Device => _device;

    /// <summary>Device status as the driver sees it.</summary>
    public byte Status => _status;

    /// <summary>Feature bits offered: the device's plus VERSION_1, INDIRECT_DESC and EVENT_IDX.</summary>
    public ulong OfferedFeatures => _device.Features | (1UL << FeatureVersion1) | (1UL << FeatureIndirectDesc) | (1UL << FeatureEventIdx);

    /// <summary>Features the driver accepted (meaningful once FEATURES_OK is set).</summary>
    public ulong DriverFeatures => _driverFeatures;

    /// <summary>The virtqueues.</summary>
    public IReadOnlyList<Virtqueue> Queues => _queues;

    /// <summary>Why the device last entered DEVICE_NEEDS_RESET, for diagnostics.</summary>
    public string? LastError { get; private set; }

    /// <inheritdoc/>
    public override uint ReadConfig(int offset, int size)
    {
        if (offset + size > _pciCfgCap + 16 && offset < _pciCfgCap + 20)
        {
            PciCfgWindow(write: false);
        }

        return base.ReadConfig(offset, size);
    }

    /// <inheritdoc/>
    public override void WriteConfig(int offset, int size, uint value)
    {
        base.WriteConfig(offset, size, value);
        if (offset + size > _pciCfgCap + 16 && offset < _pciCfgCap + 20)
        {
            PciCfgWindow(write: true);
        }
    }

    /// <inheritdoc/>
    public override void Reset()
    {
        base.Reset();
        ResetTransport();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _device.Flush();
        _device.Dispose();
    }

    /// <inheritdoc/>
    protected override int StateVersion => 2;

    /// <inheritdoc/>
    protected override void SaveState(BinaryWriter writer)
    {
        writer.Write(_deviceFeatureSelect);
        writer.Write(_driverFeatureSelect);
        writer.Write(_driverFeatures);
        writer.Write(_status);
        writer.Write(_queueSelect);
        writer.Write(_isr);
        writer.Write(_queues.Length);
        foreach (Virtqueue q in _queues)
        {
            q.Save(writer);
        }

        writer.Write(_configGeneration);
        writer.Write(_device.StateVersion);
        _device.SaveState(writer);
    }

    /// <inheritdoc/>
    protected override void RestoreState(BinaryReader reader)
    {
        _deviceFeatureSelect = reader.ReadUInt32();
        _driverFeatureSelect = reader.ReadUInt32();
        _driverFeatures = reader.ReadUInt64();
        _status = reader.ReadByte();
        _queueSelect = reader.ReadUInt16();
        _isr = reader.ReadByte();
        if (reader.ReadInt32() != _queues.Length)
        {
            throw new InvalidDataException($"{Name}: saved state has a different number of queues");
        }

        foreach (Virtqueue q in _queues)
        {
            q.Restore(reader);
            if (q.Enabled)
            {
                try
                {
                    q.Validate();
                }
                catch (VirtioProtocolException e)
                {
                    throw new InvalidDataException($"{Name}: saved queue: {e.Message}", e);
                }
            }

            // A device may have held a notification back when the state was saved (the device's
            // own hold is not part of it): whatever the driver still waits for is notified now.
            if ((_status & StatusDriverOk) != 0 && q.Enabled && q.NeedsInterrupt())
            {
                _isr |= IsrQueue;
            }
        }

        _configGeneration = reader.ReadByte();
        _device.RestoreState(reader, reader.ReadInt32(), _queues);
        SetInterrupt(_isr != 0);
    }

    private int AddVirtioCapability(byte type, int offset, int length, int? multiplier = null)
    {
        // struct virtio_pci_cap (§4.1.4) after cap_vndr and cap_next: cap_len, cfg_type, bar, id,
        // padding[2], offset, length; the notify capability adds notify_off_multiplier and the
        // PCI configuration access capability adds pci_cfg_data[4].
        byte[] body = new byte[multiplier is null ? 14 : 18];
        body[0] = (byte)(body.Length + 2);
        body[1] = type;
        body[2] = 0;
        BinaryPrimitives.WriteInt32LittleEndian(body.AsSpan(6), offset);
        BinaryPrimitives.WriteInt32LittleEndian(body.AsSpan(10), length);
        if (multiplier is int m)
        {
            BinaryPrimitives.WriteInt32LittleEndian(body.AsSpan(14), m);
        }

        return AddCapability(VendorCapability, body);
    }

    private void PciCfgWindow(bool write)
    {
        // §4.1.4.7: an access to pci_cfg_data reaches `length` (1, 2 or 4) bytes at `offset` of BAR `bar`.
        Span<byte> cap = Config.Slice(_pciCfgCap, 20);
        int bar = cap[4];
        uint offset = BinaryPrimitives.ReadUInt32LittleEndian(cap[8..]);
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(cap[12..]);
        if (bar != 0 || length is not (1 or 2 or 4) || offset % length != 0 || offset > BarSize - length)
        {
            _errors.Report(Name, $"VIRTIO_PCI_CAP_PCI_CFG access with bar {bar}, offset 0x{offset:x}, length {length} ignored (§4.1.4.7.1)");
            return;
        }

        Span<byte> data = cap.Slice(16, (int)length);
        if (write)
        {
            WriteRegisters(offset, data);
        }
        else
        {
            ReadRegisters(offset, data);
        }
    }

    private void ReadRegisters(ulong offset, Span<byte> data)
    {
        data.Clear();
        switch (offset)
        {
            case < CommonOffset + CommonSize:
                Span<byte> image = stackalloc byte[CommonSize + 8];
                CommonImage(image);
                int n = Math.Min(data.Length, CommonSize - (int)offset);
                image.Slice((int)offset, n).CopyTo(data);
                break;
            case IsrOffset:
                // Reading the ISR status acknowledges the interrupt (§4.1.4.5.1).
                data[0] = _isr;
                _isr = 0;
                SetInterrupt(false);
                break;
            case >= DeviceConfigOffset and < NotifyOffset:
                int at = (int)offset - DeviceConfigOffset;
                if (at < _device.ConfigSize)
                {
                    _device.ReadConfig(at, data[..Math.Min(data.Length, _device.ConfigSize - at)]);
                }

                break;
            default:
                break;
        }
    }

    private void WriteRegisters(ulong offset, ReadOnlySpan<byte> data)
    {
        switch (offset)
        {
            case < CommonOffset + CommonSize:
                WriteCommon((int)offset, data);
                break;
            case >= DeviceConfigOffset and < NotifyOffset:
                int at = (int)offset - DeviceConfigOffset;
                if (at < _device.ConfigSize)
                {
                    _device.WriteConfig(at, data[..Math.Min(data.Length, _device.ConfigSize - at)]);
                }

                break;
            case >= NotifyOffset and < BarSize:
                Notify((int)(offset - NotifyOffset) / NotifyOffMultiplier);
                break;
            default:
                break;
        }
    }

    // struct virtio_pci_common_cfg (§4.1.4.3), built for reads so any width at any offset works.
    private void CommonImage(Span<byte> image)
    {
        image.Clear();
        Virtqueue? q = SelectedQueue;
        ulong offered = OfferedFeatures;
        uint deviceFeature = _deviceFeatureSelect switch { 0 => (uint)offered, 1 => (uint)(offered >> 32), _ => 0 };
        uint driverFeature = _driverFeatureSelect switch { 0 => (uint)_driverFeatures, 1 => (uint)(_driverFeatures >> 32), _ => 0 };
        BinaryPrimitives.WriteUInt32LittleEndian(image[0x00..], _deviceFeatureSelect);
        BinaryPrimitives.WriteUInt32LittleEndian(image[0x04..], deviceFeature);
        BinaryPrimitives.WriteUInt32LittleEndian(image[0x08..], _driverFeatureSelect);
        BinaryPrimitives.WriteUInt32LittleEndian(image[0x0c..], driverFeature);
        BinaryPrimitives.WriteUInt16LittleEndian(image[0x10..], NoVector);
        BinaryPrimitives.WriteUInt16LittleEndian(image[0x12..], (ushort)_queues.Length);
        image[0x14] = _status;
        image[0x15] = _configGeneration;
        BinaryPrimitives.WriteUInt16LittleEndian(image[0x16..], _queueSelect);
        if (q is not null)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(image[0x18..], q.Size);
            BinaryPrimitives.WriteUInt16LittleEndian(image[0x1a..], NoVector);
            BinaryPrimitives.WriteUInt16LittleEndian(image[0x1c..], q.Enabled ? (ushort)1 : (ushort)0);
            BinaryPrimitives.WriteUInt16LittleEndian(image[0x1e..], _queueSelect);
            BinaryPrimitives.WriteUInt64LittleEndian(image[0x20..], q.DescriptorTable);
            BinaryPrimitives.WriteUInt64LittleEndian(image[0x28..], q.AvailableRing);
            BinaryPrimitives.WriteUInt64LittleEndian(image[0x30..], q.UsedRing);
        }
    }

    private Virtqueue? SelectedQueue => _queueSelect < _queues.Length ? _queues[_queueSelect] : null;

    private void WriteCommon(int offset, ReadOnlySpan<byte> data)
    {
        Span<byte> image = stackalloc byte[CommonSize + 8];
        CommonImage(image);
        int n = Math.Min(data.Length, CommonSize - offset);
        data[..n].CopyTo(image[offset..]);
        int end = offset + n;
        bool Touches(int field, int size) => offset < field + size && end > field;

        if (Touches(0x00, 4))
        {
            _deviceFeatureSelect = BinaryPrimitives.ReadUInt32LittleEndian(image[0x00..]);
        }

        if (Touches(0x08, 4))
        {
            _driverFeatureSelect = BinaryPrimitives.ReadUInt32LittleEndian(image[0x08..]);
        }

        if (Touches(0x0c, 4) && (_status & StatusFeaturesOk) == 0)
        {
            ulong value = BinaryPrimitives.ReadUInt32LittleEndian(image[0x0c..]);
            _driverFeatures = _driverFeatureSelect switch
            {
                0 => (_driverFeatures & 0xffff_ffff_0000_0000) | value,
                1 => (_driverFeatures & 0x0000_0000_ffff_ffff) | (value << 32),
                _ => _driverFeatures,
            };
        }

        if (Touches(0x14, 1))
        {
            WriteStatus(image[0x14]);
        }

        if (Touches(0x16, 2))
        {
            _queueSelect = BinaryPrimitives.ReadUInt16LittleEndian(image[0x16..]);
        }

        // The driver configures a queue only while it is disabled (§4.1.4.3.2).
        if (SelectedQueue is not { Enabled: false } q)
        {
            if (Touches(0x18, 2) || Touches(0x1c, 2) || Touches(0x20, 24))
            {
                _errors.Report(Name, SelectedQueue is null
                    ? $"queue configuration written with queue_select {_queueSelect}, which does not exist (ignored)"
                    : $"queue {_queueSelect} configuration written while the queue is enabled (ignored, §4.1.4.3.2)");
            }

            return;
        }

        if (Touches(0x18, 2))
        {
            q.Size = BinaryPrimitives.ReadUInt16LittleEndian(image[0x18..]);
        }

        if (Touches(0x20, 8))
        {
            q.DescriptorTable = BinaryPrimitives.ReadUInt64LittleEndian(image[0x20..]);
        }

        if (Touches(0x28, 8))
        {
            q.AvailableRing = BinaryPrimitives.ReadUInt64LittleEndian(image[0x28..]);
        }

        if (Touches(0x30, 8))
        {
            q.UsedRing = BinaryPrimitives.ReadUInt64LittleEndian(image[0x30..]);
        }

        if (Touches(0x1c, 2) && BinaryPrimitives.ReadUInt16LittleEndian(image[0x1c..]) == 1)
        {
            try
            {
                q.Validate();
                q.EventIndex = (_driverFeatures & (1UL << FeatureEventIdx)) != 0;
                q.IndirectDescriptors = (_driverFeatures & (1UL << FeatureIndirectDesc)) != 0;
                q.Enabled = true;
            }
            catch (VirtioProtocolException e)
            {
                NeedsReset(e.Message);
            }
        }
    }

    private void WriteStatus(byte value)
    {
        if (value == 0)
        {
            // Writing 0 resets the device (§4.1.4.3.1); the driver then reads 0 back.
            ResetTransport();
            return;
        }

        if ((value & StatusFeaturesOk) != 0 && (_status & StatusFeaturesOk) == 0 && !FeaturesAcceptable())
        {
            // §3.1.1 step 6: the driver re-reads the status and finds FEATURES_OK clear.
            _errors.Report(Name, $"FEATURES_OK refused: driver features 0x{_driverFeatures:x} are not a subset of 0x{OfferedFeatures:x} with VERSION_1");
            value &= unchecked((byte)~StatusFeaturesOk);
        }

        _status = (byte)(value | (_status & StatusNeedsReset));
        if ((_status & StatusDriverOk) != 0)
        {
            // Buffers made available before DRIVER_OK are processed now (§3.1.1 step 8).
            for (int i = 0; i < _queues.Length; i++)
            {
                if (_queues[i].Enabled)
                {
                    Notify(i);
                }
            }
        }
    }

    private bool FeaturesAcceptable() =>
        (_driverFeatures & ~OfferedFeatures) == 0 && (_driverFeatures & (1UL << FeatureVersion1)) != 0;

    private void Notify(int index)
    {
        const byte Ready = StatusDriverOk | StatusFeaturesOk;
        if (index >= _queues.Length || (_status & (Ready | StatusNeedsReset | StatusFailed)) != Ready || !_queues[index].Enabled)
        {
            if (_status != 0)
            {
                // Before any status is set (a driver probing, or after a reset) a notify is harmless noise.
                _errors.Report(Name, index >= _queues.Length
                    ? $"notify for queue {index}, which does not exist"
                    : $"notify for queue {index} ignored: status 0x{_status:x2}, queue {(_queues[index].Enabled ? "enabled" : "disabled")}");
            }

            return;
        }

        Virtqueue q = _queues[index];
        try
        {
            q.BeginBatch();
            _device.ProcessQueue(index, q, _driverFeatures);
            if (q.BatchLimitReached)
            {
                _errors.Report(Name, $"queue {index}: more than {Virtqueue.BatchLimit} chains in one notification (rings the device's own writes keep refilling?); the rest waits for the next notification");
            }
        }
        catch (VirtioProtocolException e)
        {
            NeedsReset(e.Message);
        }
        finally
        {
            if (!q.NotificationHeld && q.NeedsInterrupt())
            {
                RaiseIsr(IsrQueue);
            }
        }
    }

    /// <inheritdoc/>
    public void NotifyUsed(int index)
    {
        Virtqueue q = _queues[index];
        q.NotificationHeld = false;
        if ((_status & StatusDriverOk) != 0 && q.Enabled && q.NeedsInterrupt())
        {
            RaiseIsr(IsrQueue);
        }
    }

    /// <inheritdoc/>
    public void ServiceQueue(int index) => Notify(index);

    /// <inheritdoc/>
    public void ConfigurationChanged()
    {
        _configGeneration++;
        if ((_status & StatusDriverOk) != 0)
        {
            RaiseIsr(IsrConfig);
        }
    }

    private void NeedsReset(string why)
    {
        // §2.1.2: set DEVICE_NEEDS_RESET and, with DRIVER_OK, send a configuration change notification.
        _errors.Report(Name, $"{why}: DEVICE_NEEDS_RESET until the driver resets the device");
        LastError = why;
        _status |= StatusNeedsReset;
        RaiseIsr(IsrConfig);
    }

    private void RaiseIsr(byte cause)
    {
        _isr |= cause;
        SetInterrupt(true);
    }

    private void ResetTransport()
    {
        _deviceFeatureSelect = _driverFeatureSelect = 0;
        _driverFeatures = 0;
        _status = 0;
        _queueSelect = 0;
        _isr = 0;
        foreach (Virtqueue q in _queues)
        {
            q.Reset();
        }

        _device.Reset();
        SetInterrupt(false);
    }

    /// <summary>BAR 0: the four virtio structures; its state is the transport's.</summary>
    private sealed class Registers(VirtioPci owner) : IBusDevice
    {
        public string Name => owner.Name + " BAR0";

        public AccessSizes SupportedSizes => AccessSizes.All;

        public void Read(ulong offset, Span<byte> data) => owner.ReadRegisters(offset, data);

        public void Write(ulong offset, ReadOnlySpan<byte> data) => owner.WriteRegisters(offset, data);

        public void Reset()
        {
        }

        public DeviceState Save() => new(Name, 1, []);

        public void Restore(DeviceState state)
        {
        }
    }
}
