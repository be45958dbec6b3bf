using System.Buffers.Binary;
using Emulator.Core.Devices;
using Emulator.Core.Time;

namespace Emulator.Devices.Acpi;

/// <summary>
/// The ACPI power-management timer (PM_TMR_BLK; ACPI 6.5 4.8.3.3): a free-running, read-only
/// 24-bit counter at 3.579545 MHz, derived from the machine's virtual clock so that it stops with
/// the machine and is exact in deterministic mode. The FADT must leave TMR_VAL_EXT clear, which
/// tells the OS the counter is 24 bits wide; bits 24-31 read as zero. When given the PM1 event
/// block, it sets TMR_STS each time bit 23 of the counter changes, as the spec requires.
/// </summary>
public sealed class AcpiPmTimer : IBusDevice
{
    /// <summary>The counting rate in Hz.</summary>
    public const long FrequencyHz = 3_579_545;

    /// <summary>The counter's mask (24 bits).</summary>
    public const uint CounterMask = 0x00ff_ffff;

    private const long NanosecondsPerSecond = 1_000_000_000;
    private const int MsbPeriodShift = 23;
    private const int StateVersion = 2;

    private readonly IClock _clock;
    private readonly AcpiPmEvent? _events;
    private readonly VirtualTimer? _msbTimer;
    private long _originNanoseconds;
    private uint _originTicks;

    /// <summary>Creates the timer on <paramref name="timers"/>' clock; with <paramref name="events"/> it also raises TMR_STS.</summary>
    public AcpiPmTimer(TimerService timers, AcpiPmEvent? events = null)
    {
        _clock = timers.Clock;
        _events = events;
        if (events is not null)
        {
            _msbTimer = timers.CreateTimer(Name, OnMsbChange);
        }

        Reset();
    }

    /// <inheritdoc/>
    public string Name => "acpi-pm-timer";

    /// <summary>Accepts every width up to a dword; the spec asks for dword reads, narrower ones see the same value.</summary>
    public AccessSizes SupportedSizes => AccessSizes.Byte | AccessSizes.Word | AccessSizes.Dword;

    /// <summary>The counter value now (TMR_VAL).</summary>
    public uint Counter => (uint)(AbsoluteTicks() & CounterMask);

    /// <inheritdoc/>
    public void Read(ulong offset, Span<byte> data)
    {
        uint value = Counter;
        for (int i = 0; i < data.Length; i++)
        {
            ulong at = offset + (ulong)i;
            data[i] = at < 4 ? (byte)(value >> (int)(8 * at)) : (byte)0;
        }
    }

    /// <summary>Ignored: the register is read-only.</summary>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
    }

    /// <summary>Restarts the count from zero.</summary>
    public void Reset() => StartAt(0);

    /// <inheritdoc/>
    /// <remarks>
    /// Version 2: the count at the origin and the nanoseconds since it, so that the restored timer
    /// keeps the phase of its next tick (version 1 held the count alone and restarted the tick there).
    /// </remarks>
    public DeviceState Save()
    {
        var data = new byte[12];
        BinaryPrimitives.WriteUInt32LittleEndian(data, (uint)(_originTicks & CounterMask));
        BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(4), _clock.NowNanoseconds - _originNanoseconds);
        return new DeviceState(Name, StateVersion, data);
    }

    /// <summary>Continues counting from the saved value and phase, whatever the clock now reads.</summary>
    public void Restore(DeviceState state)
    {
        long elapsed = state.Data.Length == 12 ? BinaryPrimitives.ReadInt64LittleEndian(state.Data.AsSpan(4)) : -1;
        if (state.Version != StateVersion || elapsed < 0)
        {
            throw new InvalidDataException($"{Name}: unknown state version {state.Version} ({state.Data.Length} bytes)");
        }

        _originNanoseconds = _clock.NowNanoseconds - elapsed;
        _originTicks = BinaryPrimitives.ReadUInt32LittleEndian(state.Data) & CounterMask;
        ArmMsbTimer();
    }

    private void StartAt(uint ticks)
    {
        _originNanoseconds = _clock.NowNanoseconds;
        _originTicks = ticks;
        ArmMsbTimer();
    }

    // Ticks since the origin, plus the count at the origin, without wrapping. The product needs
    // 128 bits: nanoseconds times 3579545 overflows 64 bits after about 85 minutes.
    private ulong AbsoluteTicks()
    {
        ulong elapsed = (ulong)(_clock.NowNanoseconds - _originNanoseconds);
        return _originTicks + (ulong)((UInt128)elapsed * FrequencyHz / NanosecondsPerSecond);
    }

    private void ArmMsbTimer()
    {
        if (_msbTimer is null)
        {
            return;
        }

        ulong nextChange = ((AbsoluteTicks() >> MsbPeriodShift) + 1) << MsbPeriodShift;
        UInt128 ticksAhead = nextChange - _originTicks;
        ulong nanoseconds = (ulong)((ticksAhead * NanosecondsPerSecond + FrequencyHz - 1) / FrequencyHz);
        _msbTimer.Arm(_originNanoseconds + (long)nanoseconds);
    }

    private void OnMsbChange()
    {
        _events!.Signal(AcpiPmEvent.TmrSts);
        ArmMsbTimer();
    }
}
