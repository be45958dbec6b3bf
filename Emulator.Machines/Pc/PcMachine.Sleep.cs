using System.Buffers.Binary;
using Emulator.Core.Cpu;
using Emulator.Core.Devices;
using Emulator.Core.Machine;
using Emulator.Core.Memory;
using Emulator.Devices.Acpi;
using Emulator.Machines.Acpi;

namespace Emulator.Machines.Pc;

/// <summary>
/// ACPI S3, suspend to RAM (ACPI 6.5 16.1.3): the guest writes SLP_EN with the <c>\_S3</c> sleep type,
/// every processor stops at once and the machine sleeps with its memory intact until a wake event:
/// the RTC alarm with RTC_EN set, the power button, or the host (QMP <c>system_wakeup</c>). On wake
/// WAK_STS is set, the processors and the devices outside the sleep well are reset with RAM kept,
/// and the firmware resumes the OS through the FACS waking vector: SeaBIOS sees the CMOS shutdown
/// status FEh written at sleep, as QEMU's RTC writes it, and a direct kernel boot has emu play that
/// firmware (<see cref="WakeKernel"/>).
/// </summary>
public sealed partial class PcMachine
{
    /// <summary>CMOS index 0Fh, the shutdown status byte firmware reads after a reset.</summary>
    public const int CmosShutdownStatus = 0x0F;

    /// <summary>The shutdown status SeaBIOS's resume path takes for an S3 resume (as QEMU writes it at sleep).</summary>
    public const byte ShutdownStatusS3Resume = 0xFE;

    // The devices whose state survives S3, as in the PIIX4's and ICH's suspend well: the PM1 event,
    // control and timer blocks, which OSPM reads after the wake for WAK_STS and the wake source (ACPI
    // 6.5 Table 4.16), and the battery-backed RTC. Everything else is reset with the processors.
    private IDevice[] _keptAsleep = [];
    // Set by the machine thread once every vCPU is parked, under the device lock; a wake event
    // reads it under the same lock, so none is lost between the two.
    private volatile bool _asleep;

    // AcpiPmControl's S3 handler, on the writing vCPU's thread under the device lock. That vCPU
    // parks before its next instruction (its OUT ended its block, and the pause is in its inbox
    // when Run returns); the machine thread then parks the others.
    private void EnterS3()
    {
        foreach (VcpuThread t in _threadView)
        {
            if (t.IsCurrentThread)
            {
                t.Pause();
            }
        }

        Platform.Control.Raise(MachineRequest.Suspend);
    }

    // On the machine thread, for MachineRequest.Suspend.
    private void Suspend()
    {
        Platform.Control.Clear(MachineRequest.Suspend);
        SettleApicProcessors();
        foreach (VcpuThread t in _threads)
        {
            if (t.State != VcpuRunState.Created)
            {
                t.Pause();
            }
        }

        bool wakeNow;
        lock (Platform.DeviceLock)
        {
            Rtc.WriteRam(CmosShutdownStatus, ShutdownStatusS3Resume);
            _asleep = true;
            // An enabled wake status already set wakes the machine at once.
            wakeNow = _pmEvent.WakeEventPending;
        }

        Raise(new MachineEvent(MachineEventKind.Suspend));
        if (wakeNow)
        {
            WakeUp(0);
        }
    }

    // AcpiPmEvent's wake output, on whatever thread set the status (a timer's), under the device lock.
    private void OnWakeEvent()
    {
        if (_asleep)
        {
            _work.Post(() => WakeUp(0));
        }
    }

    /// <summary>True while the guest sleeps in S3.</summary>
    public bool Asleep => _asleep;

    /// <summary>
    /// Wakes a guest sleeping in S3 because the host asks (QMP <c>system_wakeup</c>): WAK_STS with no
    /// other status. Returns false, doing nothing, when the guest does not sleep.
    /// </summary>
    public bool WakeFromHost() => Invoke(() => WakeUp(0));

    // On the machine thread. Sets WAK_STS and the wake source's status, resets the processors and the
    // devices outside the sleep well with RAM kept, and resumes the guest; false when it was awake.
    private bool WakeUp(ushort status)
    {
        lock (Platform.DeviceLock)
        {
            if (!_asleep)
            {
                return false;
            }

            _pmEvent.Signal((ushort)(AcpiPmEvent.WakSts | status));
        }

        ResetMachine(guest: true, wake: true);
        Raise(new MachineEvent(MachineEventKind.Wakeup));
        return true;
    }

    /// <summary>
    /// What emu, playing the firmware of a direct kernel boot, does on an S3 wake: resume through the
    /// FACS the machine's own tables placed first in the ACPI range (5.2.10, Table 5.14). A non-zero
    /// X_Firmware_Waking_Vector takes precedence and gets the 32-bit environment (emu's FACS does not
    /// offer 64BIT_WAKE_SUPPORTED_F): interrupts off, paging off, flat 4 GiB segments; else a non-zero
    /// Firmware_Waking_Vector is entered in real mode at (vector &gt;&gt; 4):(vector &amp; 0Fh), A20 enabled
    /// ("the BIOS must jump to real mode address 0x1234:0x0005" for 12345h). With neither, there is
    /// nothing to resume: the kernel boots again, as SeaBIOS reboots when no vector is set.
    /// </summary>
    private void WakeKernel()
    {
        // Under firmware (a real-mode kernel boots through SeaBIOS too) the firmware resumes the guest.
        if (_config.Kernel is null || _config.Kernel.RealModeEntry)
        {
            return;
        }

        ulong facs = MemoryMap.AcpiTablesAddress;
        Span<byte> f = stackalloc byte[Facs.Size];
        Platform.Memory.Read(new GuestPhysicalAddress(facs), f);
        bool valid = f[..4].SequenceEqual("FACS"u8);
        uint vector = valid ? BinaryPrimitives.ReadUInt32LittleEndian(f[Facs.FirmwareWakingVectorOffset..]) : 0;
        ulong xVector = valid && f[Facs.VersionOffset] >= 1 ? BinaryPrimitives.ReadUInt64LittleEndian(f[Facs.XFirmwareWakingVectorOffset..]) : 0;
        CpuState state;
        if (xVector is > 0 and <= uint.MaxValue)
        {
            state = ProtectedModeWake((uint)xVector);
        }
        else if (xVector == 0 && vector is > 0 and < 0x10_0000)
        {
            state = RealModeWake(vector);
        }
        else
        {
            BootKernel();
            return;
        }

        Vcpus[0].SetState(WithFirmwareMtrrs(state));
        for (int i = 1; i < Vcpus.Count; i++)
        {
            Vcpus[i].SetState(WithFirmwareMtrrs(CpuState.AtReset()));
        }
    }

    // Real mode at the vector's segment and offset; the data segments are 0, as a reset leaves them
    // and as SeaBIOS's far call to the vector passes them.
    private static CpuState RealModeWake(uint vector)
    {
        CpuState s = CpuState.AtReset();
        s.Segments[(int)Seg.Cs] = SegmentRegister.RealMode((ushort)(vector >> 4), 0xb);
        s.Rip = vector & 0xF;
        s.Gpr[(int)Gpr.Rdx] = 0;
        return s;
    }

    // The 32-bit execution environment of Table 5.14: IF clear, paging off, every segment flat. No
    // GDT is written (memory belongs to the sleeping OS): the hidden parts hold the flat segments,
    // and the wake code loads its own descriptors before it reloads a segment register.
    private static CpuState ProtectedModeWake(uint vector)
    {
        CpuState s = CpuState.AtReset();
        s.Gpr[(int)Gpr.Rdx] = 0;
        s.Rip = vector;
        s.Rflags = 2;
        s.Cr0 = 0x11;
        for (int i = 0; i < 6; i++)
        {
            s.Segments[i] = new SegmentRegister { Selector = 0x18, Limit = 0xffff_ffff, Attributes = 0xc093 };
        }

        s.Segments[(int)Seg.Cs] = new SegmentRegister { Selector = 0x10, Limit = 0xffff_ffff, Attributes = 0xc09b };
        s.Gdtr = new TableRegister { Base = 0, Limit = 0 };
        s.Idtr = new TableRegister { Base = 0, Limit = 0 };
        return s;
    }
}
