using System.Buffers.Binary;
using Emulator.Core.Time;
using Emulator.Devices.Intc;

namespace Emulator.Tests.Apic;

/// <summary>What a local APIC did to its processor.</summary>
internal sealed class RecordingProcessor : IApicProcessor
{
    public int InterruptNotifications { get; private set; }
    public int Nmis { get; private set; }
    public List<string> Events { get; } = [];

    public void InterruptPending() => InterruptNotifications++;

    public void Nmi()
    {
        Nmis++;
        Events.Add("nmi");
    }

    public void Init(bool waitForStartup) => Events.Add(waitForStartup ? "init-wait" : "init-run");

    public void Startup(byte vector) => Events.Add($"sipi {vector:x2}");
}

/// <summary>A few local APICs and an IOAPIC on one bus, in deterministic time.</summary>
internal sealed class ApicTestRig : IDisposable
{
    public ApicTestRig(int cpus)
    {
        Timers = TimerService.Deterministic(Lock);
        for (int i = 0; i < cpus; i++)
        {
            var p = new RecordingProcessor();
            Processors.Add(p);
            Apics.Add(new LocalApic(Lock, Timers, Bus, p, bootstrap: i == 0));
        }

        IoApic = new IoApic("ioapic", Lock, Bus);
    }

    public Lock Lock { get; } = new();
    public TimerService Timers { get; }
    public ApicBus Bus { get; } = new();
    public List<LocalApic> Apics { get; } = [];
    public List<RecordingProcessor> Processors { get; } = [];
    public IoApic IoApic { get; }

    public static uint Read(LocalApic apic, int offset)
    {
        Span<byte> b = stackalloc byte[4];
        apic.Read((ulong)offset, b);
        return BinaryPrimitives.ReadUInt32LittleEndian(b);
    }

    public static void Write(LocalApic apic, int offset, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        apic.Write((ulong)offset, b);
    }

    /// <summary>Sets SVR bit 8 with spurious vector 0xFF, as every OS does first.</summary>
    public void EnableAll()
    {
        foreach (LocalApic a in Apics)
        {
            Write(a, 0xF0, 0x1FF);
        }
    }

    public void WriteIoApic(uint register, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, register);
        IoApic.Write(0x00, b);
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        IoApic.Write(0x10, b);
    }

    public uint ReadIoApic(uint register)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, register);
        IoApic.Write(0x00, b);
        IoApic.Read(0x10, b);
        return BinaryPrimitives.ReadUInt32LittleEndian(b);
    }

    public void Dispose() => Timers.Dispose();
}
