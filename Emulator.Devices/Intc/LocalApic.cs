using System.Buffers.Binary;
using System.Numerics;
using Emulator.Core.Cpu;
using Emulator.Core.Devices;
using Emulator.Core.Machine;
using Emulator.Core.Time;

namespace Emulator.Devices.Intc;

/// <summary>
/// One processor's local APIC (Intel SDM Vol. 3A chapter 11): in xAPIC mode the 4 KiB register page
/// (offsets relative to the APIC base, normally 0xFEE00000), in x2APIC mode the MSRs 800H-8FFH
/// (<c>LocalApic.X2Apic.cs</c>); behind both, interrupt acceptance with IRR/ISR/TMR and task/processor
/// priority, EOI, the ICR for IPIs, the local vector table, the APIC timer (one-shot, periodic and
/// TSC-deadline) and the IA32_APIC_BASE MSR.
/// It is its processor's <see cref="IInterruptSource"/>: the highest-priority pending vector above
/// PPR, or, when LINT0 is programmed for ExtINT (or the APIC is globally disabled), whatever the
/// 8259A in <see cref="ExtIntSource"/> presents.
/// </summary>
/// <remarks>
/// Deviations: the software CPU decodes its own APIC's page first wherever it is
/// (<see cref="IApicRegisterPage"/>), but in the address space, which KVM's vCPUs use, a relocated
/// register page (IA32_APIC_BASE, 11.4.4) is decoded only where the machine has nothing else mapped
/// (the machine maps it on <see cref="BaseMoved"/>; over RAM or another device it is not decoded
/// there); the bootstrap processor's LINT0 comes out of
/// reset in ExtINT mode, unmasked (virtual wire mode, MP specification 3.6.2.2), which PC firmware
/// programs before any OS runs and emu's firmware does not.
/// </remarks>
public sealed partial class LocalApic : IBusDevice, IInterruptSource, IMsrDevice, ITaskPriority, IApicRegisterPage
{
    /// <summary>The architectural default base of the register page.</summary>
    public const ulong DefaultBase = 0xFEE0_0000;

    /// <summary>Size of the register page.</summary>
    public const ulong PageSize = 0x1000;

    /// <summary>The IA32_APIC_BASE MSR number.</summary>
    public const uint ApicBaseMsr = 0x1B;

    /// <summary>The IA32_TSC_DEADLINE MSR number.</summary>
    public const uint TscDeadlineMsr = 0x6E0;

    /// <summary>
    /// Frequency of the timer's input clock before the divider: 1 GHz, so one count is one
    /// nanosecond times the divide value. Guests calibrate the timer against the PIT or the TSC.
    /// </summary>
    public const long BusFrequencyHz = 1_000_000_000;

    /// <summary>Shortest period the periodic timer is run at, to keep a guest from flooding the host.</summary>
    public const long MinimumPeriodNanoseconds = 10_000;

    // Version register: version 0x14 (an integrated xAPIC), bits 16-23 hold the number of LVT entries minus one.
    private const uint VersionValue = 0x14 | ((LvtCount - 1) << 16);

    private const int StateVersion = 1;

    // Register offsets (Intel SDM Vol. 3A Table 11-1).
    private const int RegId = 0x020, RegVersion = 0x030, RegTpr = 0x080, RegApr = 0x090, RegPpr = 0x0A0,
        RegEoi = 0x0B0, RegRrd = 0x0C0, RegLdr = 0x0D0, RegDfr = 0x0E0, RegSvr = 0x0F0, RegIsr = 0x100,
        RegTmr = 0x180, RegIrr = 0x200, RegEsr = 0x280, RegIcrLow = 0x300, RegIcrHigh = 0x310,
        RegLvtTimer = 0x320, RegLvtError = 0x370, RegInitialCount = 0x380, RegCurrentCount = 0x390, RegDcr = 0x3E0;

    // LVT entries in register order (Figure 11-8): timer, thermal, performance counter, LINT0, LINT1, error.
    private const int LvtTimer = 0, LvtThermal = 1, LvtPerf = 2, LvtLint0 = 3, LvtLint1 = 4, LvtError = 5;
    private const uint LvtCount = 6;
    private const uint LvtMasked = 1u << 16, LvtLevel = 1u << 15, LvtRemoteIrr = 1u << 14, LvtModeMask = 7u << 8;
    private const uint TimerModeMask = 3u << 17, TimerOneShot = 0, TimerPeriodic = 1u << 17, TimerTscDeadline = 2u << 17;

    private static readonly uint[] LvtWritable =
    [
        0xFF | LvtMasked | TimerModeMask,                                  // timer
        0xFF | LvtModeMask | LvtMasked,                                    // thermal
        0xFF | LvtModeMask | LvtMasked,                                    // performance counter
        0xFF | LvtModeMask | (1u << 13) | LvtLevel | LvtMasked,            // LINT0: polarity, trigger
        0xFF | LvtModeMask | (1u << 13) | LvtLevel | LvtMasked,            // LINT1
        0xFF | LvtMasked,                                                  // error
    ];

    // SVR bits (Figure 11-23): vector, APIC software enable, focus processor checking.
    private const uint SvrEnable = 1u << 8, SvrWritable = 0x3FF;

    // ESR bits (Figure 11-9).
    private const uint EsrSendIllegalVector = 1u << 5, EsrReceiveIllegalVector = 1u << 6, EsrIllegalRegister = 1u << 7;

    // ICR low bits (Figure 11-12). Delivery status (bit 12) always reads idle: messages are sent at once.
    private const uint IcrWritable = 0xFF | (7u << 8) | (1u << 11) | (1u << 14) | (1u << 15) | (3u << 18);

    // IA32_APIC_BASE (Figure 11-5, Figure 11-26): BSP flag, x2APIC enable (EXTD), global enable,
    // base bits 12 to MAXPHYADDR-1 (CPUID.80000008H:EAX[7:0]); the bits above are reserved.
    private const ulong BaseBsp = 1ul << 8, BaseExtd = 1ul << 10, BaseEnable = 1ul << 11,
        BaseAddressMask = ((1ul << CpuModel.PhysicalAddressBits) - 1) & ~0xFFFul;

    private readonly Lock _deviceLock;
    private readonly ApicBus _bus;
    private readonly IApicProcessor _processor;
    private readonly GuestErrorLog _errors;
    private readonly VirtualTimer _timer;
    private readonly TimerService _timers;
    private readonly bool _bootstrap;
    private readonly uint[] _irr = new uint[8], _isr = new uint[8], _tmr = new uint[8];
    private readonly uint[] _lvt = new uint[LvtCount];
    private readonly LintPin[] _lint;

    private ulong _apicBase;
    private uint _id, _tpr, _ldr, _dfr, _svr, _esr, _esrPending, _icrLow, _icrHigh, _initialCount, _dcr;
    private long _timerStart;
    private ulong _tscDeadline;
    private bool _waitingForStartup, _extIntRequested, _signallingError;
    private volatile bool _apicInterruptPending, _extIntRouted;

    /// <summary>Creates the local APIC of vCPU <c>bus.LocalApics.Count</c> in its power-on state and attaches it to <paramref name="bus"/>.</summary>
    /// <param name="deviceLock">The machine's device lock (taken by <see cref="Acknowledge"/>, which the vCPU calls without it).</param>
    /// <param name="timers">The machine's timers, for the APIC timer.</param>
    /// <param name="bus">The APIC bus shared with the other local APICs and the IOAPIC.</param>
    /// <param name="processor">The processor core this APIC drives.</param>
    /// <param name="bootstrap">True for the bootstrap processor (IA32_APIC_BASE.BSP).</param>
    /// <param name="errors">Where the errors ESR records and dropped partial writes are reported, or null for a log of its own.</param>
    public LocalApic(Lock deviceLock, TimerService timers, ApicBus bus, IApicProcessor processor, bool bootstrap, GuestErrorLog? errors = null)
    {
        _errors = errors ?? new GuestErrorLog();
        _deviceLock = deviceLock;
        _timers = timers;
        _bus = bus;
        _processor = processor;
        _bootstrap = bootstrap;
        Index = bus.Attach(this);
        Name = $"lapic{Index}";
        _timer = timers.CreateTimer(Name + "-timer", OnTimer);
        _lint = [new LintPin(this, LvtLint0), new LintPin(this, LvtLint1)];
        Reset();
    }

    /// <summary>The vCPU number, which is also the initial APIC ID.</summary>
    public int Index { get; }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public AccessSizes SupportedSizes => AccessSizes.Dword;

    /// <summary>The 8259A behind LINT0, asked for the vector in ExtINT mode; null when there is none.</summary>
    public IInterruptSource? ExtIntSource { get; set; }

    /// <summary>The LINT0 input pin (on a PC the 8259A's INTR when not polled through <see cref="ExtIntSource"/>).</summary>
    public IInterruptLine Lint0 => _lint[0];

    /// <summary>The LINT1 input pin (on a PC the NMI line).</summary>
    public IInterruptLine Lint1 => _lint[1];

    /// <inheritdoc/>
    public ulong Cr8
    {
        get
        {
            lock (_deviceLock)
            {
                return (_tpr >> 4) & 0xF;
            }
        }

        set
        {
            // MOV CR8 writes TPR[7:4] and clears TPR[3:0] (Intel SDM Vol. 3A 11.8.6.1); a lower
            // priority may let a pending interrupt through.
            lock (_deviceLock)
            {
                _tpr = (uint)(value & 0xF) << 4;
                UpdateInterrupt();
            }
        }
    }

    /// <summary>The physical address of the xAPIC register page: IA32_APIC_BASE[MAXPHYADDR-1:12] (Intel SDM Vol. 3A 11.4.4).</summary>
    public ulong BaseAddress => _apicBase & BaseAddressMask;

    /// <summary>
    /// Raised, with the device lock held, when <see cref="BaseAddress"/> changes: a WRMSR that
    /// relocates the register page (11.4.4), a reset or a restore. The machine maps the page there.
    /// </summary>
    public event Action<LocalApic>? BaseMoved;

    /// <inheritdoc/>
    /// <remarks>
    /// Read without the device lock, from the processor's own thread: IA32_APIC_BASE changes by
    /// that processor's WRMSR, or by a reset or restore while it is stopped, and one 64-bit read
    /// sees a whole value.
    /// </remarks>
    public ulong? DecodedPage
    {
        get
        {
            ulong apicBase = Volatile.Read(ref _apicBase);
            return (apicBase & (BaseEnable | BaseExtd)) == BaseEnable ? apicBase & BaseAddressMask : null;
        }
    }

    /// <summary>IA32_APIC_BASE.EN: the APIC exists for the processor and the bus.</summary>
    public bool GloballyEnabled => (_apicBase & BaseEnable) != 0;

    /// <summary>SVR bit 8: the APIC accepts interrupts (Intel SDM Vol. 3A 11.4.7.2).</summary>
    public bool SoftwareEnabled => (_svr & SvrEnable) != 0;

    /// <summary>The processor is in the wait-for-SIPI state (an application processor after reset or INIT).</summary>
    public bool WaitingForStartup => _waitingForStartup;

    /// <summary>The APIC ID (bits 24-31 of the ID register).</summary>
    public byte Id => (byte)(_id >> 24);

    /// <summary>The processor priority (PPR, Intel SDM Vol. 3A 11.8.3.1).</summary>
    public uint ProcessorPriority
    {
        get
        {
            int isrv = Highest(_isr);
            uint isrClass = isrv < 0 ? 0 : (uint)isrv & 0xF0;
            return (_tpr & 0xF0) >= isrClass ? _tpr & 0xFF : isrClass;
        }
    }

    /// <summary>The arbitration priority (APR, Intel SDM Vol. 3A 11.8.3.1 Figure 11-15), used for lowest-priority delivery.</summary>
    public uint ArbitrationPriority
    {
        get
        {
            int isrv = Math.Max(Highest(_isr), 0), irrv = Math.Max(Highest(_irr), 0);
            if ((_tpr & 0xF0) >= ((uint)irrv & 0xF0) && (_tpr & 0xF0) > ((uint)isrv & 0xF0))
            {
                return _tpr & 0xFF;
            }

            return Math.Max(_tpr & 0xF0, Math.Max((uint)isrv & 0xF0, (uint)irrv & 0xF0));
        }
    }

    /// <inheritdoc/>
    public bool HasInterrupt => _apicInterruptPending || (_extIntRouted && ExtIntSource is { HasInterrupt: true });

    /// <summary>The IA32_APIC_BASE MSR as RDMSR reads it.</summary>
    public ulong ReadApicBase()
    {
        lock (_deviceLock)
        {
            return _apicBase;
        }
    }

    /// <summary>
    /// WRMSR to IA32_APIC_BASE. Returns false when the value must raise #GP: reserved bits, or a
    /// transition Intel SDM Vol. 3A 11.12.5 (Figure 11-27) calls illegal (EXTD without EN, x2APIC
    /// straight back to xAPIC, disabled straight to x2APIC; EXTD at all while <see cref="X2ApicAvailable"/>
    /// is false). The BSP flag is read-only. Clearing the enable bit returns the APIC to its power-on
    /// register state (11.4.3) with the processor's INTR wired straight to the 8259A; setting EXTD
    /// enters x2APIC mode (<see cref="EnterX2ApicMode"/>).
    /// </summary>
    public bool WriteApicBase(ulong value)
    {
        if ((value & ~(BaseAddressMask | BaseEnable | BaseExtd | BaseBsp)) != 0)
        {
            return false;
        }

        lock (_deviceLock)
        {
            bool wasEnabled = GloballyEnabled, wasX2Apic = X2ApicMode;
            bool enable = (value & BaseEnable) != 0, extd = (value & BaseExtd) != 0;
            if ((extd && (!enable || !X2ApicAvailable || !wasEnabled)) || (wasX2Apic && enable && !extd))
            {
                return false;
            }

            ulong oldBase = BaseAddress;
            _apicBase = (value & (BaseAddressMask | BaseEnable | BaseExtd)) | (_apicBase & BaseBsp);
            if (BaseAddress != oldBase)
            {
                BaseMoved?.Invoke(this);
            }

            if (wasEnabled && !GloballyEnabled)
            {
                ResetRegisters(keepId: true);
                if (wasX2Apic)
                {
                    // The 8-bit legacy ID survives the x2APIC -> disabled transition (11.12.5).
                    _id = (X2ApicId & 0xFF) << 24;
                }
            }
            else if (!wasX2Apic && X2ApicMode)
            {
                EnterX2ApicMode();
            }

            UpdateInterrupt();
            return true;
        }
    }

    /// <summary>RDMSR of IA32_TSC_DEADLINE: the armed deadline, 0 once it fired or when not in TSC-deadline mode.</summary>
    public ulong ReadTscDeadline()
    {
        lock (_deviceLock)
        {
            return TimerMode == TimerTscDeadline ? _tscDeadline : 0;
        }
    }

    /// <summary>
    /// WRMSR of IA32_TSC_DEADLINE (Intel SDM Vol. 3A 11.5.4.1): arms the timer to fire when the TSC
    /// reaches <paramref name="deadline"/>; 0 disarms; ignored outside TSC-deadline mode. A deadline
    /// the TSC has already reached fires during the write ("an interrupt is generated when the
    /// logical processor's time-stamp counter equals or exceeds the target value"), so the
    /// interrupt is pending at the next instruction boundary.
    /// <paramref name="tscNow"/> is the processor's TSC at the write, counting at <paramref name="tscHz"/>.
    /// </summary>
    public void WriteTscDeadline(ulong deadline, ulong tscNow, long tscHz = 1_000_000_000)
    {
        lock (_deviceLock)
        {
            if (TimerMode != TimerTscDeadline)
            {
                return;
            }

            _tscDeadline = deadline;
            if (deadline == 0)
            {
                _timer.Cancel();
                return;
            }

            if (deadline <= tscNow)
            {
                _timer.Cancel();
                OnTimer();
                return;
            }

            ulong ticks = deadline - tscNow;
            long delay = (long)Math.Min((double)ticks * 1e9 / tscHz, long.MaxValue / 4);
            _timer.ArmIn(delay);
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// The x2APIC registers (800H-8FFH) read only in x2APIC mode and only where a register exists
    /// and is readable; otherwise false, and the processor raises #GP (Intel SDM Vol. 3A 11.12.1.2).
    /// </remarks>
    public bool TryReadMsr(uint index, ulong tsc, out ulong value)
    {
        switch (index)
        {
            case ApicBaseMsr:
                value = ReadApicBase();
                return true;
            case TscDeadlineMsr:
                value = ReadTscDeadline();
                return true;
            case >= X2ApicMsrFirst and <= X2ApicMsrLast:
                return TryReadX2ApicMsr(index, out value);
            default:
                value = 0;
                return false;
        }
    }

    /// <inheritdoc/>
    public MsrWriteResult WriteMsr(uint index, ulong value, ulong tsc)
    {
        switch (index)
        {
            case ApicBaseMsr:
                return WriteApicBase(value) ? MsrWriteResult.Done : MsrWriteResult.Fault;
            case TscDeadlineMsr:
                WriteTscDeadline(value, tsc);
                return MsrWriteResult.Done;
            case >= X2ApicMsrFirst and <= X2ApicMsrLast:
                return WriteX2ApicMsr(index, value);
            default:
                return MsrWriteResult.NotClaimed;
        }
    }

    /// <inheritdoc/>
    public int Acknowledge()
    {
        lock (_deviceLock)
        {
            int vector = DeliverableVector();
            if (vector >= 0)
            {
                // INTA: the highest-priority request moves from IRR to ISR (Intel SDM Vol. 3A 11.8.4).
                Clear(_irr, vector);
                Set(_isr, vector);
                UpdateInterrupt();
                return vector;
            }

            if (_extIntRouted && ExtIntSource is { HasInterrupt: true } pic)
            {
                _extIntRequested = false;
                UpdateInterrupt();
                return pic.Acknowledge();
            }

            // The request went away between INTR and INTA (a TPR raise, say): the spurious vector (11.9).
            return (int)(_svr & 0xFF);
        }
    }

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data)
    {
        Span<byte> buffer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(buffer, ReadRegister((int)(offset & 0xFF0), (offset & 0xF) < 4 && offset < PageSize));
        int at = (int)(offset & 3);
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = at + i < 4 ? buffer[at + i] : (byte)0;
        }
    }

    /// <inheritdoc/>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        // Registers are 32 bits wide at 16-byte-aligned offsets and must be written whole (11.4.1);
        // narrower or misaligned writes are dropped.
        if (data.Length != 4 || (offset & 0xF) != 0 || offset >= PageSize)
        {
            _errors.Report(Name, $"{data.Length}-byte write at offset 0x{offset:x} dropped (registers take aligned 32-bit writes)");
            return;
        }

        WriteRegister((int)offset, BinaryPrimitives.ReadUInt32LittleEndian(data));
    }

    /// <summary>Delivers a message from the APIC bus (an IPI or a redirected IOAPIC input) to this APIC.</summary>
    public void Accept(in ApicMessage message)
    {
        switch (message.Mode)
        {
            case ApicDeliveryMode.Fixed or ApicDeliveryMode.LowestPriority:
                AcceptVector(message.Vector, message.LevelTriggered);
                break;
            case ApicDeliveryMode.Nmi:
                _processor.Nmi();
                break;
            case ApicDeliveryMode.Init when message.LevelTriggered && !message.Assert:
                // INIT level de-assert only resynchronises arbitration IDs (11.6.1); nothing to model.
                break;
            case ApicDeliveryMode.Init:
                Init();
                break;
            case ApicDeliveryMode.Startup:
                // A SIPI is only recognised in the wait-for-SIPI state; otherwise it is ignored (9.4.4.1).
                if (_waitingForStartup)
                {
                    _waitingForStartup = false;
                    _processor.Startup(message.Vector);
                }

                break;
            case ApicDeliveryMode.ExtInt:
                _extIntRequested = true;
                UpdateInterrupt();
                break;
            default:
                // SMI and the reserved modes.
                break;
        }
    }

    /// <summary>
    /// Physical destination: this APIC's ID, or the broadcast (0xFF in an xAPIC-format message from an
    /// xAPIC ICR or the IOAPIC, FFFFFFFFH in an x2APIC-format one; 11.6.2.1, 11.12.9). In x2APIC mode
    /// the ID compared is the 32-bit x2APIC ID.
    /// </summary>
    public bool MatchesPhysical(uint destination, bool x2ApicFormat = false)
    {
        if (destination == (x2ApicFormat ? 0xFFFF_FFFFu : 0xFFu))
        {
            return true;
        }

        return destination == (X2ApicMode ? X2ApicId : Id);
    }

    /// <summary>
    /// Logical destination: in xAPIC mode the flat or cluster model of DFR against LDR (11.6.2.2); in
    /// x2APIC mode the cluster (bits 31:16) and member bitmap (bits 15:0) against the logical x2APIC
    /// ID (11.12.10.2), an xAPIC-format 8-bit destination counting as cluster 0.
    /// </summary>
    public bool MatchesLogical(uint destination, bool x2ApicFormat = false)
    {
        if (destination == (x2ApicFormat ? 0xFFFF_FFFFu : 0xFFu))
        {
            return true;
        }

        if (X2ApicMode)
        {
            uint ldr = X2ApicLogicalId;
            return destination >> 16 == ldr >> 16 && (destination & ldr & 0xFFFF) != 0;
        }

        // An x2APIC-format destination above 8 bits selects no xAPIC-mode APIC.
        if (destination > 0xFF)
        {
            return false;
        }

        byte logicalId = (byte)(_ldr >> 24);
        if ((_dfr >> 28) == 0xF)
        {
            return (logicalId & destination) != 0;
        }

        // Cluster model: bits 4-7 name the cluster (15 is all clusters), bits 0-3 select members.
        uint cluster = destination >> 4;
        return (cluster == 0xF || cluster == (uint)logicalId >> 4) && (destination & logicalId & 0xF) != 0;
    }

    /// <summary>True when <paramref name="vector"/> is requested or in service here (the focus processor test).</summary>
    public bool HoldsVector(byte vector) => Test(_irr, vector) || Test(_isr, vector);

    /// <summary>Bit <paramref name="vector"/> of IRR, for tests and diagnostics.</summary>
    public bool IsRequested(int vector) => Test(_irr, vector);

    /// <summary>Bit <paramref name="vector"/> of ISR, for tests and diagnostics.</summary>
    public bool IsInService(int vector) => Test(_isr, vector);

    /// <inheritdoc/>
    public void Reset()
    {
        lock (_deviceLock)
        {
            ulong oldBase = BaseAddress;
            _apicBase = DefaultBase | BaseEnable | (_bootstrap ? BaseBsp : 0);
            ResetRegisters(keepId: false);
            _waitingForStartup = !_bootstrap;
            UpdateInterrupt();
            if (oldBase != DefaultBase)
            {
                BaseMoved?.Invoke(this);
            }
        }
    }

    /// <inheritdoc/>
    public DeviceState Save()
    {
        lock (_deviceLock)
        {
            using var stream = new MemoryStream();
            using (var w = new BinaryWriter(stream))
            {
                w.Write(_apicBase);
                foreach (uint v in (uint[])[_id, _tpr, _ldr, _dfr, _svr, _esr, _esrPending, _icrLow, _icrHigh, _initialCount, _dcr])
                {
                    w.Write(v);
                }

                foreach (uint[] bits in (uint[][])[_irr, _isr, _tmr, _lvt])
                {
                    foreach (uint v in bits)
                    {
                        w.Write(v);
                    }
                }

                w.Write(_tscDeadline);
                w.Write(_waitingForStartup);
                w.Write(_extIntRequested);
                // Timer: the count's starting point and the armed deadline, both relative to now.
                long now = _timers.Clock.NowNanoseconds;
                w.Write(now - _timerStart);
                w.Write(_timer.Deadline is { } d ? Math.Max(d - now, 0) : -1);
                w.Write(_lint[0].Level);
                w.Write(_lint[1].Level);
            }

            return new DeviceState(Name, StateVersion, stream.ToArray());
        }
    }

    /// <inheritdoc/>
    public void Restore(DeviceState state)
    {
        if (state.Version != StateVersion)
        {
            throw new InvalidDataException($"{Name}: saved state version {state.Version} is not supported (expected {StateVersion})");
        }

        lock (_deviceLock)
        {
            try
            {
                using var r = new BinaryReader(new MemoryStream(state.Data));
                ulong oldBase = BaseAddress;
                _apicBase = r.ReadUInt64();
                if (BaseAddress != oldBase)
                {
                    BaseMoved?.Invoke(this);
                }

                (_id, _tpr, _ldr, _dfr, _svr, _esr, _esrPending, _icrLow, _icrHigh, _initialCount, _dcr) =
                    (r.ReadUInt32(), r.ReadUInt32(), r.ReadUInt32(), r.ReadUInt32(), r.ReadUInt32(), r.ReadUInt32(),
                     r.ReadUInt32(), r.ReadUInt32(), r.ReadUInt32(), r.ReadUInt32(), r.ReadUInt32());
                foreach (uint[] bits in (uint[][])[_irr, _isr, _tmr, _lvt])
                {
                    for (int i = 0; i < bits.Length; i++)
                    {
                        bits[i] = r.ReadUInt32();
                    }
                }

                _tscDeadline = r.ReadUInt64();
                _waitingForStartup = r.ReadBoolean();
                _extIntRequested = r.ReadBoolean();
                long now = _timers.Clock.NowNanoseconds;
                _timerStart = now - r.ReadInt64();
                long remaining = r.ReadInt64();
                _timer.Cancel();
                if (remaining >= 0)
                {
                    _timer.Arm(now + remaining);
                }

                _lint[0].Level = r.ReadBoolean();
                _lint[1].Level = r.ReadBoolean();
            }
            catch (EndOfStreamException e)
            {
                throw new InvalidDataException($"{Name}: saved state is truncated", e);
            }

            UpdateInterrupt();
        }
    }

    private uint TimerMode => _lvt[LvtTimer] & TimerModeMask;

    // Divide configuration (Figure 11-10): bits 0, 1 and 3 give 2, 4, ... 128, and 111b gives 1.
    private long Divisor
    {
        get
        {
            uint code = (_dcr & 3) | ((_dcr >> 1) & 4);
            return code == 7 ? 1 : 2L << (int)code;
        }
    }

    private long Period => Math.Max((long)_initialCount * Divisor * (1_000_000_000 / BusFrequencyHz),
        TimerMode == TimerPeriodic ? MinimumPeriodNanoseconds : 0);

    private uint ReadRegister(int reg, bool inRegister)
    {
        if (!inRegister)
        {
            return 0;
        }

        switch (reg)
        {
            case RegId: return _id;
            case RegVersion: return VersionValue;
            case RegTpr: return _tpr;
            case RegApr: return ArbitrationPriority;
            case RegPpr: return ProcessorPriority;
            case RegEoi or RegRrd: return 0;
            case RegLdr: return _ldr;
            case RegDfr: return _dfr;
            case RegSvr: return _svr;
            case >= RegIsr and < RegTmr: return _isr[(reg - RegIsr) >> 4];
            case >= RegTmr and < RegIrr: return _tmr[(reg - RegTmr) >> 4];
            case >= RegIrr and < RegIrr + 0x80: return _irr[(reg - RegIrr) >> 4];
            case RegEsr: return _esr;
            case RegIcrLow: return _icrLow;
            case RegIcrHigh: return _icrHigh;
            case >= RegLvtTimer and <= RegLvtError: return _lvt[(reg - RegLvtTimer) >> 4];
            case RegInitialCount: return _initialCount;
            case RegCurrentCount: return CurrentCount();
            case RegDcr: return _dcr;
            default:
                _errors.Report(Name, $"read of reserved register 0x{reg:x3} (ESR: illegal register address)");
                SignalError(EsrIllegalRegister);
                return 0;
        }
    }

    private void WriteRegister(int reg, uint value)
    {
        switch (reg)
        {
            case RegId:
                _id = value & 0xFF00_0000;
                break;
            case RegTpr:
                _tpr = value & 0xFF;
                UpdateInterrupt();
                break;
            case RegEoi:
                EndOfInterrupt();
                break;
            case RegLdr:
                _ldr = value & 0xFF00_0000;
                break;
            case RegDfr:
                _dfr = value | 0x0FFF_FFFF;
                break;
            case RegSvr:
                WriteSvr(value);
                break;
            case RegEsr:
                // A write loads ESR with the errors found since the last write and clears them (11.5.3).
                _esr = _esrPending;
                _esrPending = 0;
                break;
            case RegIcrLow:
                _icrLow = value & IcrWritable;
                SendIpi();
                break;
            case RegIcrHigh:
                _icrHigh = value & 0xFF00_0000;
                break;
            case >= RegLvtTimer and <= RegLvtError:
                WriteLvt((reg - RegLvtTimer) >> 4, value);
                break;
            case RegInitialCount:
                WriteInitialCount(value);
                break;
            case RegDcr:
                WriteDcr(value);
                break;
            case RegVersion or RegApr or RegPpr or RegRrd or RegCurrentCount or (>= RegIsr and < RegIrr + 0x80):
                // Read-only registers ignore writes.
                break;
            default:
                _errors.Report(Name, $"write of 0x{value:x} to reserved register 0x{reg:x3} (ESR: illegal register address)");
                SignalError(EsrIllegalRegister);
                break;
        }
    }

    private void WriteSvr(uint value)
    {
        _svr = value & SvrWritable;
        if (!SoftwareEnabled)
        {
            // Software disable sets the mask bit of every LVT entry (11.4.7.2).
            for (int i = 0; i < _lvt.Length; i++)
            {
                _lvt[i] |= LvtMasked;
            }
        }

        UpdateInterrupt();
    }

    private void WriteLvt(int index, uint value)
    {
        uint old = _lvt[index];
        uint entry = (value & LvtWritable[index]) | (old & LvtRemoteIrr);
        if (!SoftwareEnabled)
        {
            // While software-disabled the mask bits cannot be cleared (11.4.7.2).
            entry |= LvtMasked;
        }

        if (index == LvtTimer && ((entry & TimerModeMask) == 3u << 17 || (!TscDeadlineAvailable && (entry & TimerTscDeadline) != 0)))
        {
            entry &= ~TimerModeMask;
        }

        _lvt[index] = entry;
        if (index == LvtTimer && (old & TimerModeMask) != (entry & TimerModeMask))
        {
            ChangeTimerMode(old & TimerModeMask);
        }

        UpdateInterrupt();
    }

    // A write of the LVT timer entry that changes its mode (Intel SDM Vol. 3A 11.5.4.1). Into or out
    // of TSC-deadline mode the timer is disarmed ("transitioning between TSC-deadline mode and other
    // timer modes also disarms the timer"): the initial count and IA32_TSC_DEADLINE are cleared, so
    // the current count reads 0. Between one-shot and periodic the count runs on from where it is:
    // a one-shot count becomes periodic and reloads from the initial count when it reaches 0; a
    // periodic count becomes a one-shot that stops at 0; a one-shot that already reached 0 stays
    // there. The SDM's general sentence ("a write to the LVT Timer Register that changes the timer
    // mode disarms the local APIC timer") would stop these too; kvm-unit-tests' apic.flat expects
    // them to run on, and KVM lets them, so emu follows the suite.
    private void ChangeTimerMode(uint oldMode)
    {
        uint mode = TimerMode;
        if (oldMode == TimerTscDeadline || mode == TimerTscDeadline)
        {
            _timer.Cancel();
            _initialCount = 0;
            _tscDeadline = 0;
            return;
        }

        if (_initialCount == 0 || _timer.Deadline is null)
        {
            return;
        }

        long now = _timers.Clock.NowNanoseconds;
        long countNanoseconds = (long)_initialCount * Divisor * (1_000_000_000 / BusFrequencyHz);
        if (mode == TimerPeriodic && now - _timerStart >= countNanoseconds)
        {
            // The one-shot count reached 0 before the change, its expiry not yet delivered (the host
            // timer runs late): it interrupts now, and the count stays at 0.
            _timer.Cancel();
            LocalInterrupt(LvtTimer);
            return;
        }

        if (mode == TimerOneShot)
        {
            // Periodic -> one-shot: the count under way is the one-shot's; it fires at the next 0.
            _timerStart = now - ((now - _timerStart) % Math.Max(countNanoseconds, 1));
        }

        _timer.Arm(_timerStart + Period);
    }

    private void WriteInitialCount(uint value)
    {
        if (TimerMode == TimerTscDeadline)
        {
            // In TSC-deadline mode writes to the initial count are ignored (11.5.4.1).
            return;
        }

        _initialCount = value;
        _timerStart = _timers.Clock.NowNanoseconds;
        if (value == 0)
        {
            _timer.Cancel();
        }
        else
        {
            _timer.Arm(_timerStart + Period);
        }
    }

    private void WriteDcr(uint value)
    {
        if (_initialCount != 0 && TimerMode != TimerTscDeadline && _timer.Deadline is not null)
        {
            // Keep the current count and let the rest run down at the new rate.
            uint current = CurrentCount();
            _dcr = value & 0xB;
            long now = _timers.Clock.NowNanoseconds;
            long perCount = Divisor * (1_000_000_000 / BusFrequencyHz);
            _timerStart = now - ((long)(_initialCount - current) * perCount);
            _timer.Arm(now + Math.Max((long)current * perCount, 0));
            return;
        }

        _dcr = value & 0xB;
    }

    private uint CurrentCount()
    {
        // A periodic count runs while the timer is armed; one that a one-shot count left at 0
        // before the mode changed stays at 0 until the initial count is written (ChangeTimerMode).
        if (_initialCount == 0 || TimerMode == TimerTscDeadline || (TimerMode == TimerPeriodic && _timer.Deadline is null))
        {
            return 0;
        }

        long perCount = Divisor * (1_000_000_000 / BusFrequencyHz);
        long counts = (_timers.Clock.NowNanoseconds - _timerStart) / perCount;
        if (TimerMode == TimerPeriodic)
        {
            return _initialCount - (uint)(counts % _initialCount);
        }

        return counts >= _initialCount ? 0 : _initialCount - (uint)counts;
    }

    private void OnTimer()
    {
        uint mode = TimerMode;
        if (mode == TimerTscDeadline)
        {
            _tscDeadline = 0;
        }
        else if (mode == TimerPeriodic && _initialCount != 0)
        {
            // Periodic: reload from the initial count and keep counting (11.5.4). If the host fell
            // behind by more than a period, skip the missed periods rather than fire a burst.
            long now = _timers.Clock.NowNanoseconds;
            _timerStart += Period;
            if (_timerStart + Period <= now)
            {
                _timerStart = now;
            }

            _timer.Arm(_timerStart + Period);
        }

        LocalInterrupt(LvtTimer);
    }

    /// <summary>Raises the interrupt an LVT entry describes (11.5.1), unless it is masked.</summary>
    private void LocalInterrupt(int index, bool level = false)
    {
        uint entry = _lvt[index];
        if ((entry & LvtMasked) != 0)
        {
            return;
        }

        // The timer and error entries have no delivery mode field: always fixed.
        var mode = index is LvtTimer or LvtError ? ApicDeliveryMode.Fixed : (ApicDeliveryMode)((entry >> 8) & 7);
        switch (mode)
        {
            case ApicDeliveryMode.Fixed:
                if (level)
                {
                    _lvt[index] |= LvtRemoteIrr;
                }

                AcceptVector((byte)entry, level);
                break;
            case ApicDeliveryMode.Nmi:
                _processor.Nmi();
                break;
            case ApicDeliveryMode.Init:
                Init();
                break;
            case ApicDeliveryMode.ExtInt:
                UpdateInterrupt();
                break;
            default:
                break;
        }
    }

    private void AcceptVector(byte vector, bool level)
    {
        if (!SoftwareEnabled)
        {
            // A software-disabled APIC holds what it has but takes no new fixed interrupts (11.4.7.2).
            return;
        }

        if (vector < 16)
        {
            // Vectors 0-15 are reserved for exceptions: a receive illegal vector error (11.5.3).
            _errors.Report(Name, $"received illegal vector {vector} (ESR: receive illegal vector)");
            SignalError(EsrReceiveIllegalVector);
            return;
        }

        Set(_irr, vector);
        if (level)
        {
            Set(_tmr, vector);
        }
        else
        {
            Clear(_tmr, vector);
        }

        UpdateInterrupt();
    }

    private void EndOfInterrupt()
    {
        int vector = Highest(_isr);
        if (vector < 0)
        {
            return;
        }

        Clear(_isr, vector);
        if (Test(_tmr, vector))
        {
            // A level-triggered interrupt: the EOI goes to the IOAPIC too (11.8.5), and a level LINT
            // entry with this vector drops its remote IRR. The TMR bit stays: only the acceptance of
            // the vector's next interrupt sets or clears it (11.8.4).
            for (int i = LvtLint0; i <= LvtLint1; i++)
            {
                if ((_lvt[i] & 0xFF) == (uint)vector)
                {
                    _lvt[i] &= ~LvtRemoteIrr;
                }
            }

            _bus.BroadcastEoi((byte)vector);
        }

        UpdateInterrupt();
    }

    private void SendIpi() => SendIpi(_icrLow, X2ApicMode ? _icrHigh : _icrHigh >> 24, X2ApicMode);

    // An IPI of the ICR (or of the x2APIC SELF IPI register, as a fixed IPI to self): icrLow holds
    // the vector, mode and shorthand bits of ICR[31:0]; the destination is 8 bits wide in xAPIC
    // mode and 32 bits in x2APIC mode (11.6.1, 11.12.9).
    private void SendIpi(uint icrLow, uint destination, bool x2ApicFormat)
    {
        var mode = (ApicDeliveryMode)((icrLow >> 8) & 7);
        if (mode is not (ApicDeliveryMode.Fixed or ApicDeliveryMode.LowestPriority or ApicDeliveryMode.Smi
            or ApicDeliveryMode.Nmi or ApicDeliveryMode.Init or ApicDeliveryMode.Startup))
        {
            _errors.Report(Name, $"IPI with reserved delivery mode {(int)mode} not sent (ICR 0x{icrLow:x})");
            return;
        }

        byte vector = (byte)icrLow;
        if (mode is ApicDeliveryMode.Fixed or ApicDeliveryMode.LowestPriority && vector < 16)
        {
            _errors.Report(Name, $"IPI with illegal vector {vector} not sent (ESR: send illegal vector)");
            SignalError(EsrSendIllegalVector);
            return;
        }

        var message = new ApicMessage(
            vector,
            mode,
            Logical: (icrLow & (1u << 11)) != 0,
            Destination: destination,
            // The ICR trigger mode only matters for INIT level de-assert (11.6.1): IPIs are edges.
            LevelTriggered: mode == ApicDeliveryMode.Init && (icrLow & (1u << 15)) != 0,
            Assert: (icrLow & (1u << 14)) != 0,
            Shorthand: (ApicShorthand)((icrLow >> 18) & 3),
            Source: Index,
            X2ApicFormat: x2ApicFormat);
        _bus.Deliver(message);
    }

    private void Init()
    {
        // INIT resets the APIC like power-on, except the APIC ID and IA32_APIC_BASE (11.4.7.3).
        ResetRegisters(keepId: true);
        _waitingForStartup = !_bootstrap;
        UpdateInterrupt();
        _processor.Init(waitForStartup: !_bootstrap);
    }

    private void SignalError(uint bits)
    {
        _esrPending |= bits;
        if (_signallingError)
        {
            // The error entry's own vector is illegal (below 16): its delivery is a receive illegal
            // vector error, recorded above, which must not signal the error entry again, or the APIC
            // would loop for ever (11.5.3: one error interrupt per detected error).
            return;
        }

        _signallingError = true;
        try
        {
            LocalInterrupt(LvtError);
        }
        finally
        {
            _signallingError = false;
        }
    }

    // Power-up and INIT values (Intel SDM Vol. 3A 11.4.7.1).
    private void ResetRegisters(bool keepId)
    {
        if (!keepId)
        {
            _id = (uint)Index << 24;
        }

        _timer.Cancel();
        Array.Clear(_irr);
        Array.Clear(_isr);
        Array.Clear(_tmr);
        _tpr = _ldr = _esr = _esrPending = _icrLow = _icrHigh = _initialCount = _dcr = 0;
        _dfr = 0xFFFF_FFFF;
        _svr = 0xFF;
        _timerStart = 0;
        _tscDeadline = 0;
        _extIntRequested = false;
        Array.Fill(_lvt, LvtMasked);
        if (_bootstrap)
        {
            // Virtual wire mode: the 8259A's INTR reaches the BSP through LINT0 (see the remarks).
            _lvt[LvtLint0] = (uint)ApicDeliveryMode.ExtInt << 8;
        }
    }

    private int DeliverableVector()
    {
        if (!GloballyEnabled || !SoftwareEnabled)
        {
            return -1;
        }

        int irrv = Highest(_irr);
        return irrv >= 0 && ((uint)irrv & 0xF0) > (ProcessorPriority & 0xF0) ? irrv : -1;
    }

    private void UpdateInterrupt()
    {
        bool extInt = !GloballyEnabled || _extIntRequested ||
            (_lvt[LvtLint0] & (LvtMasked | LvtModeMask)) == (uint)ApicDeliveryMode.ExtInt << 8;
        bool pending = DeliverableVector() >= 0;
        bool raised = (pending && !_apicInterruptPending) || (extInt && !_extIntRouted);
        _extIntRouted = extInt;
        _apicInterruptPending = pending;
        if (raised || pending)
        {
            _processor.InterruptPending();
        }
    }

    private static int Highest(uint[] bits)
    {
        for (int i = bits.Length - 1; i >= 0; i--)
        {
            if (bits[i] != 0)
            {
                return (i << 5) + 31 - BitOperations.LeadingZeroCount(bits[i]);
            }
        }

        return -1;
    }

    private static bool Test(uint[] bits, int vector) => (bits[(vector >> 5) & 7] & (1u << (vector & 31))) != 0;

    private static void Set(uint[] bits, int vector) => bits[(vector >> 5) & 7] |= 1u << (vector & 31);

    private static void Clear(uint[] bits, int vector) => bits[(vector >> 5) & 7] &= ~(1u << (vector & 31));

    /// <summary>A LINT input pin: edges (or, for level-triggered fixed entries, the asserted level) raise the LVT entry's interrupt.</summary>
    private sealed class LintPin(LocalApic apic, int lvtIndex) : IInterruptLine
    {
        public bool Level { get; set; }

        public void Set(bool asserted)
        {
            lock (apic._deviceLock)
            {
                bool rising = asserted && !Level;
                Level = asserted;
                uint entry = apic._lvt[lvtIndex];
                bool levelTriggered = (entry & LvtLevel) != 0 && ((entry >> 8) & 7) == (uint)ApicDeliveryMode.Fixed;
                if (rising || (asserted && levelTriggered && (entry & LvtRemoteIrr) == 0))
                {
                    apic.LocalInterrupt(lvtIndex, levelTriggered);
                }
            }
        }
    }
}
