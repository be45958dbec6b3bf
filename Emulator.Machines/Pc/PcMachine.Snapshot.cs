using System.Diagnostics;
using Emulator.Core.Cpu;
using Emulator.Core.Devices;
using Emulator.Core.Snapshots;
using Emulator.Kvm;
using Emulator.Machines.Snapshots;

namespace Emulator.Machines.Pc;

/// <summary>What a snapshot save wrote and how long the guest was stopped for it.</summary>
/// <param name="Path">The file.</param>
/// <param name="Bytes">Its size.</param>
/// <param name="Ram">Pages of RAM, how many were all zeros, and what the rest took.</param>
/// <param name="Paused">How long the vCPUs were held.</param>
public sealed record SnapshotSaveResult(string Path, long Bytes, RamImageStats Ram, TimeSpan Paused);

/// <summary>
/// Snapshots of the whole machine: every vCPU's <see cref="CpuState"/> (one record for both
/// backends), every device's own versioned state, RAM, and the machine's shape with its disks'
/// identities, in one file (<see cref="SnapshotFormat"/>). Sections: "machine" (JSON,
/// <see cref="SnapshotMachineConfig"/>), "firmware" and "vga-bios" (the images, when there are),
/// "vcpus" (which vCPUs wait for a startup IPI), "cpu/N" (<see cref="CpuStateRecord"/>),
/// "device/NAME" (<see cref="IDevice.Save"/>, the device's own version) and "ram"
/// (<see cref="RamImage"/>).
/// </summary>
public sealed partial class PcMachine
{
    /// <summary>Version of the "vcpus" section: one byte per vCPU, 1 when it waits for a startup IPI.</summary>
    private const int VcpusSectionVersion = 1;

    private const string MachineSection = "machine", FirmwareSection = "firmware", VgaBiosSection = "vga-bios",
        VcpusSection = "vcpus", RamSection = "ram", CpuPrefix = "cpu/", DevicePrefix = "device/";

    // After a restore, which vCPU threads start running (the others wait for a startup IPI).
    private bool[]? _restoredRunning;

    /// <summary>
    /// Writes a snapshot of the machine to <paramref name="path"/>. Every vCPU is held at an
    /// instruction boundary, the disks are flushed, then the CPU states, the devices (all under the
    /// device lock, so timers and host input wait) and RAM are written; a VM that was running runs
    /// again afterwards (with STOP and RESUME events, as QEMU's savevm). Throws
    /// <see cref="InvalidOperationException"/> for a machine that cannot be saved and
    /// <see cref="IOException"/> when the file cannot be written (nothing is left under its name then).
    /// </summary>
    public SnapshotSaveResult SaveSnapshot(string path) => Invoke(() =>
    {
        if (_runState == MachineRunState.Shutdown)
        {
            throw new MachineStoppedException();
        }

        if (_config.KvmIrqchip == KvmIrqchipMode.Kernel)
        {
            throw new InvalidOperationException("--kvm-irqchip kernel: the in-kernel interrupt controllers' state is not saved; snapshots need --kvm-irqchip user");
        }

        if (_asleep)
        {
            // A snapshot records running or stopped processors, not a machine waiting for a wake event.
            throw new InvalidOperationException("the guest sleeps in ACPI S3: wake it (system_wakeup) before saving a snapshot");
        }

        bool wasRunning = _runState == MachineRunState.Running;
        var paused = Stopwatch.StartNew();
        var phases = new SnapshotPhases("snapshot save");
        Stop(MachineRunState.Paused);
        phases.Mark("stop");
        try
        {
            SettleApicProcessors();
            WaitForIdeBetweenCommands(mayRun: wasRunning);
            phases.Mark("settle");
            byte[][] cpus = [.. Enumerable.Range(0, Vcpus.Count).Select(i => CpuStateRecord.Write(ReadVcpuState(i)))];
            byte[] waiting = [.. _threads.Select(t => t.State == VcpuRunState.Created || t.IsPaused ? (byte)1 : (byte)0)];
            waiting[0] = 0;
            phases.Mark("cpus");
            using var writer = new SnapshotWriter(path);
            RamImageStats ram;
            SnapshotMachineConfig shape;
            lock (Platform.DeviceLock)
            {
                // The disks' identities are taken once everything the guest wrote is in the files.
                _images.ForEach(i => i.Flush());
                shape = SnapshotMachineConfig.Of(_config, AcceleratorName);
                writer.Add(MachineSection, SnapshotMachineConfig.Version, shape.ToJson());
                if (_config.Firmware is { } firmware)
                {
                    writer.Add(FirmwareSection, 1, firmware);
                }

                if (_config.VgaBios is { } vgaBios)
                {
                    writer.Add(VgaBiosSection, 1, vgaBios);
                }

                writer.Add(VcpusSection, VcpusSectionVersion, waiting, compress: false);
                for (int i = 0; i < cpus.Length; i++)
                {
                    writer.Add(CpuPrefix + i, CpuStateRecord.Version, cpus[i]);
                }

                var names = new HashSet<string>(StringComparer.Ordinal);
                foreach (IDevice device in _devices)
                {
                    DeviceState state = device.Save();
                    if (!names.Add(device.Name) || state.Name != device.Name)
                    {
                        throw new InvalidOperationException($"device name '{device.Name}' is not unique: its state cannot be told apart");
                    }

                    writer.Add(DevicePrefix + device.Name, state.Version, state.Data);
                }

                phases.Mark("devices");
                unsafe
                {
                    // SAFETY: _ram is mapped for the machine's lifetime and nothing writes it meanwhile:
                    // the vCPUs are held and the devices wait for the device lock held here.
                    ram = writer.AddRam(RamSection, 1, _ram.Pointer, _ram.Size);
                }
            }

            phases.Mark("ram");
            long bytes = writer.Commit();
            phases.Mark("commit");
            WaitPastDiskWriteTimes(shape);
            phases.Report();
            return new SnapshotSaveResult(Path.GetFullPath(path), bytes, ram, paused.Elapsed);
        }
        finally
        {
            if (wasRunning)
            {
                Continue();
            }
        }
    });

    /// <summary>
    /// Loads a snapshot into this machine, built from the snapshot's own shape
    /// (<see cref="SnapshotMachineConfig.Apply"/>) and not yet running: RAM, then every device (the
    /// interrupt controllers last, so that what the other devices drive on their lines on the way
    /// does not outlive the controllers' saved state), then the vCPUs. The file was checked whole
    /// when opened; a section that does not fit this machine (a device it lacks, a version it does
    /// not know) throws <see cref="SnapshotFileException"/> and the machine must not be run.
    /// <paramref name="phases"/> times the restore (a caller's, with the phases before this one).
    /// </summary>
    public void RestoreSnapshot(SnapshotReader snapshot, SnapshotPhases? phases = null)
    {
        if (_threads.Any(t => t.State != VcpuRunState.Created))
        {
            throw new InvalidOperationException("a snapshot is restored into a machine that has not run yet");
        }

        phases ??= new SnapshotPhases("snapshot restore");
        // A fresh mapping is zero already: the pages the snapshot leaves out are not touched.
        _restoredRunning = LoadSnapshotState(snapshot, phases, clearZeroPages: false);
        phases.Report();
    }

    /// <summary>
    /// Loads a snapshot into this machine while it runs, as QEMU's <c>loadvm</c>: the snapshot's
    /// machine must have this machine's shape (<see cref="SnapshotMachineConfig.ShapeDifference"/>,
    /// the same firmware image) and its disks must be the ones it was taken with, else
    /// <see cref="InvalidOperationException"/> and nothing changes. Then the vCPUs are stopped (a STOP
    /// event), RAM, every device and every vCPU are replaced, compiled guest code is dropped, and a VM
    /// that was running runs on from the snapshot (RESUME). A snapshot that fails while being loaded
    /// (a device state this emu cannot read) leaves the VM stopped, in no defined state, as QEMU does;
    /// that throws <see cref="SnapshotFileException"/>.
    /// </summary>
    public void LoadSnapshot(SnapshotReader snapshot) => Invoke(() =>
    {
        if (_runState == MachineRunState.Shutdown)
        {
            throw new MachineStoppedException();
        }

        if (_config.KvmIrqchip == KvmIrqchipMode.Kernel)
        {
            throw new InvalidOperationException("--kvm-irqchip kernel: the in-kernel interrupt controllers' state cannot be loaded; snapshots need --kvm-irqchip user");
        }

        if (_asleep)
        {
            throw new InvalidOperationException("the guest sleeps in ACPI S3: wake it (system_wakeup) before loading a snapshot");
        }

        var phases = new SnapshotPhases("snapshot load");
        CheckShape(snapshot);
        phases.Mark("check");
        bool wasRunning = _runState == MachineRunState.Running;
        Stop(MachineRunState.Paused);
        bool loaded = false;
        try
        {
            SettleApicProcessors();
            foreach (VcpuThread t in _threads)
            {
                t.Pause();
            }

            phases.Mark("stop");
            bool[] running = LoadSnapshotState(snapshot, phases, clearZeroPages: true);
            // RAM changed under the software CPU's decoded and translated blocks.
            Platform.Memory.NotifyRamRewritten();
            for (int i = 0; i < _threads.Count; i++)
            {
                if (running[i])
                {
                    _threads[i].Resume();
                }
            }

            phases.Mark("code");
            phases.Report();
            loaded = true;
        }
        finally
        {
            if (wasRunning && loaded)
            {
                Continue();
            }
        }
    });

    // A loadvm into this machine: the snapshot's shape, firmware and disks must be this machine's.
    private void CheckShape(SnapshotReader snapshot)
    {
        SnapshotSection section = snapshot.Get(MachineSection);
        SnapshotMachineConfig saved;
        try
        {
            saved = SnapshotMachineConfig.Parse(snapshot.Read(section), section.Version);
        }
        catch (InvalidDataException e)
        {
            throw snapshot.Fail(e.Message, e);
        }

        SnapshotMachineConfig running;
        lock (Platform.DeviceLock)
        {
            // The disks' identities are taken once everything the guest wrote is in the files.
            _images.ForEach(i => i.Flush());
            running = SnapshotMachineConfig.Of(_config, AcceleratorName);
        }

        if (saved.ShapeDifference(running) is { } why)
        {
            throw new InvalidOperationException(why);
        }

        if (saved.HasFirmware && !snapshot.Read(FirmwareSection).AsSpan().SequenceEqual(_config.Firmware))
        {
            throw new InvalidOperationException($"the snapshot's firmware image is not the one this machine runs ({_config.FirmwareName})");
        }

        if (saved.ChangedDisk() is { } changed)
        {
            throw new InvalidOperationException($"the disk {changed.Drive.Path} is not the one the snapshot was taken with: {changed.Why}");
        }
    }

    // RAM, then every device (the interrupt controllers last, so that what the other devices drive on
    // their lines on the way does not outlive the controllers' saved state), then the vCPUs, whose
    // threads are parked or not started. Everything that can be checked is checked before RAM is
    // written. Returns which vCPUs run (the others wait for a startup IPI).
    private bool[] LoadSnapshotState(SnapshotReader snapshot, SnapshotPhases phases, bool clearZeroPages)
    {
        SnapshotSection ram = snapshot.Get(RamSection);
        if (snapshot.RamSize(ram) != _ram.Size)
        {
            throw snapshot.Fail($"holds {snapshot.RamSize(ram)} bytes of RAM, the machine has {_ram.Size}");
        }

        var expected = new HashSet<string>(_devices.Select(d => DevicePrefix + d.Name), StringComparer.Ordinal);
        if (snapshot.Sections.FirstOrDefault(s => s.Name.StartsWith(DevicePrefix, StringComparison.Ordinal) && !expected.Contains(s.Name)) is { } extra)
        {
            throw snapshot.Fail($"holds the state of {extra.Name[DevicePrefix.Length..]}, which this machine does not have");
        }

        if (expected.FirstOrDefault(name => !snapshot.Has(name)) is { } missing)
        {
            throw snapshot.Fail($"has no state for {missing[DevicePrefix.Length..]}, which this machine has");
        }

        CpuState[] cpus = [.. Enumerable.Range(0, Vcpus.Count).Select(i => ReadCpu(snapshot, i))];
        byte[] waiting = snapshot.Read(VcpusSection);
        if (snapshot.Get(VcpusSection).Version != VcpusSectionVersion || waiting.Length != Vcpus.Count)
        {
            throw snapshot.Fail($"its vcpus section (version {snapshot.Get(VcpusSection).Version}, {waiting.Length} vCPUs) does not fit a machine of {Vcpus.Count}");
        }

        unsafe
        {
            // SAFETY: _ram is this machine's mapping of _ram.Size bytes, which the section was checked
            // to hold; the vCPUs are parked or not started and the devices reach RAM only under the
            // device lock or from their host threads, which a paused machine's devices leave alone.
            snapshot.ReadRam(ram, _ram.Pointer, _ram.Size, clearZeroPages);
        }

        phases.Mark("ram");

        lock (Platform.DeviceLock)
        {
            foreach (IDevice device in RestoreOrder())
            {
                SnapshotSection section = snapshot.Get(DevicePrefix + device.Name);
                try
                {
                    device.Restore(new DeviceState(device.Name, section.Version, snapshot.Read(section)));
                }
                catch (InvalidDataException e)
                {
                    throw snapshot.Fail($"device {device.Name}: {e.Message}", e);
                }
            }
        }

        phases.Mark("devices");
        for (int i = 0; i < cpus.Length; i++)
        {
            Vcpus[i].SetState(cpus[i]);
        }

        phases.Mark("cpus");
        return [.. waiting.Select(w => w == 0)];
    }

    // An IDE command in its data phase continues from the drive's callbacks, which no saved state
    // holds: a running guest is let run (a millisecond at a time, without STOP/RESUME events) until
    // both channels are between commands. A guest the user stopped is not run: the save is refused.
    private void WaitForIdeBetweenCommands(bool mayRun)
    {
        for (int attempt = 0; IdeTransferInProgress(); attempt++)
        {
            if (!mayRun || attempt == 500)
            {
                throw new InvalidOperationException("an IDE command is in its data phase; continue the guest and save again");
            }

            _threads.ForEach(t => t.Release());
            Thread.Sleep(1);
            _threads.ForEach(t => t.Hold());
        }
    }

    private bool IdeTransferInProgress()
    {
        lock (Platform.DeviceLock)
        {
            return Pci.Ide?.TransferInProgress == true;
        }
    }

    /// <summary>Every device of the machine in the order a snapshot restores them (tests).</summary>
    internal IEnumerable<IDevice> DevicesInRestoreOrder => RestoreOrder();

    // Interrupt sources first, then the controllers they drive.
    private IEnumerable<IDevice> RestoreOrder()
    {
        IDevice[] controllers = [Pic.Master, Pic.Slave, IoApic, .. LocalApics];
        return _devices.Where(d => !controllers.Contains(d)).Concat(controllers);
    }

    private static CpuState ReadCpu(SnapshotReader snapshot, int index)
    {
        SnapshotSection section = snapshot.Get(CpuPrefix + index);
        try
        {
            return CpuStateRecord.Read(snapshot.Read(section), section.Version);
        }
        catch (InvalidDataException e)
        {
            throw snapshot.Fail($"vCPU {index}: {e.Message}", e);
        }
    }

    // A file's write time has the host kernel's coarse clock granularity (a few milliseconds): a
    // guest write right after the identity was taken could leave the time unchanged. The guest
    // resumes only once the clock has moved past every disk's recorded time.
    private static void WaitPastDiskWriteTimes(SnapshotMachineConfig shape)
    {
        long latest = shape.Drives.Select(d => d.Identity.ModifiedTicks).DefaultIfEmpty(0).Max();
        TimeSpan wait = new DateTime(latest, DateTimeKind.Utc).AddMilliseconds(20) - DateTime.UtcNow;
        if (wait > TimeSpan.Zero)
        {
            Thread.Sleep(wait);
        }
    }
}
