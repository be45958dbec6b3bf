using System.Buffers.Binary;
using Emulator.Core.Devices;
using Emulator.Core.Time;
using Emulator.Devices.Timers;
using Emulator.Devices.Virtio;
using Emulator.Fuzzing;
using Emulator.Fuzzing.Targets;
using Emulator.Machines.Pc;
using Emulator.Tests.Pci;
using Xunit;

namespace Emulator.Tests.Snapshots;

/// <summary>
/// Every device's own saved state: saved, restored into the same device of a fresh machine, saved
/// again, the bytes are equal; and the restored device goes on as the original does (a PIT counting
/// down and raising IRQ 0 on time, a virtio-net card in the middle of a frame that needs a second
/// receive buffer). The machines' devices are first driven into arbitrary states by the device fuzzer.
/// </summary>
public sealed class DeviceStateTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("emu-devstate").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void EveryDeviceOfAFuzzedMachineRestoresIntoAFreshOneAndGoesOnTheSame(int seed)
    {
        using PcMachine original = Machine();
        using PcMachine copy = Machine();
        var guest = new FuzzGuest(original, new Random(seed)) { RamBytes = 64UL << 20 };
        IFuzzTarget[] targets = [new PicTarget(), new PitTarget(), new RtcTarget(), new KeyboardControllerTarget(), new UartTarget(),
            new SystemPortsTarget(), new PciConfigTarget(), new VirtioTarget([PcPci.RngSlot, PcPci.FirstDriveSlot]), new LocalApicTarget(),
            new IoApicTarget(), new TimeTarget()];
        for (int op = 0; op < 20_000; op++)
        {
            try
            {
                targets[guest.Random.Next(targets.Length)].Step(guest);
            }
#pragma warning disable CA1031 // the fuzzer's findings are its own tests' business; here only the states matter
            catch (Exception)
#pragma warning restore CA1031
            {
                original.Platform.Control.Clear();
            }
        }

        // The copy's clock is elsewhere: saved times are relative to the moment of the save.
        copy.Platform.Timers.AdvanceTo(123_456_789);
        Dictionary<string, DeviceState> saved = Save(original);
        Dictionary<string, IDevice> devices = copy.DevicesInRestoreOrder.ToDictionary(d => d.Name);
        Assert.Equal(saved.Keys.Order(), devices.Keys.Order());
        lock (copy.Platform.DeviceLock)
        {
            foreach (IDevice d in copy.DevicesInRestoreOrder)
            {
                d.Restore(saved[d.Name]);
            }
        }

        AssertSameStates(saved, Save(copy));

        // Both go on for the same virtual time: timers fire alike and the states stay equal.
        foreach (long step in (long[])[1_000, 2_000_000, 150_000_000])
        {
            original.Platform.Timers.AdvanceTo(original.Platform.Timers.Clock.NowNanoseconds + step);
            copy.Platform.Timers.AdvanceTo(copy.Platform.Timers.Clock.NowNanoseconds + step);
            AssertSameStates(Save(original), Save(copy));
        }
    }

    [Fact]
    public void AnUnknownVersionIsRefusedByEveryDevice()
    {
        using PcMachine machine = Machine();
        foreach (IDevice d in machine.DevicesInRestoreOrder)
        {
            DeviceState s = d.Save();
            Assert.Throws<InvalidDataException>(() => d.Restore(s with { Version = s.Version + 100 }));
        }
    }

    [Fact]
    public void APitCountingDownContinuesWhereItWas()
    {
        var lineA = new RecordingLine();
        var lineB = new RecordingLine();
        TimerService a = TimerService.Deterministic(new Lock());
        TimerService b = TimerService.Deterministic(new Lock());
        var pitA = new Pit8254(a, lineA);
        var pitB = new Pit8254(b, lineB);

        // Counter 0, LSB then MSB, mode 2 (rate generator), binary; 1000 ticks of 838 ns per period.
        pitA.Write(3, [0x34]);
        pitA.Write(0, [0xe8]);
        pitA.Write(0, [0x03]);
        a.AdvanceTo(2_500_300);
        int edgesBefore = lineA.RisingEdges;
        b.AdvanceTo(7_000_000_000);
        pitB.Restore(pitA.Save());
        Assert.Equal(pitA.Save().Data, pitB.Save().Data);
        Assert.Equal(Latch(pitA), Latch(pitB));

        int edgesB = lineB.RisingEdges;
        a.AdvanceTo(a.Clock.NowNanoseconds + 10_000_000);
        b.AdvanceTo(b.Clock.NowNanoseconds + 10_000_000);
        Assert.Equal(Latch(pitA), Latch(pitB));

        // 10 ms at 1.193182 MHz is 11931.8 ticks: 11 or 12 periods of 1000 ticks, the same on both.
        int periodsA = lineA.RisingEdges - edgesBefore;
        int periodsB = lineB.RisingEdges - edgesB;
        Assert.InRange(periodsA, 11, 12);
        Assert.Equal(periodsA, periodsB);
    }

    [Fact]
    public void AVirtioNetCardMidFrameContinuesWithTheNextReceiveBuffer()
    {
        const ulong First = 0x40000, Second = 0x41000;
        byte[] frame = [.. Enumerable.Range(0, 100).Select(i => (byte)(i * 7))];
        ulong features = (1UL << VirtioPci.FeatureVersion1) | (1UL << VirtioNet.FeatureMrgRxbuf);

        using var benchA = new PciTestBench();
        var hostA = new RecordingNetBackend();
        var netA = new VirtioNet(hostA, benchA.DeviceLock, [0x52, 0x54, 0, 1, 2, 3]);
        var driverA = new VirtioDriver(benchA, 4, new VirtioPci("virtio-net", netA, benchA.Memory));
        driverA.Start(features);
        netA.Start();

        // One 64-byte buffer posted; a 100-byte frame (112 with its header) needs two: the card
        // holds the first buffer and the frame waits.
        driverA.WriteDescriptor(VirtioDriver.DescriptorTable, 0, First, 64, 2, 0);
        Assert.Null(driverA.Offer(0));
        hostA.Deliver(frame);
        Assert.Null(driverA.TakeUsed());

        using var benchB = new PciTestBench();
        var netB = new VirtioNet(new RecordingNetBackend(), benchB.DeviceLock, [0x52, 0x54, 0, 1, 2, 3]);
        var driverB = new VirtioDriver(benchB, 4, new VirtioPci("virtio-net", netB, benchB.Memory));
        benchA.Ram.AsSpan(0, (int)PciTestBench.RamSize).CopyTo(benchB.Ram.AsSpan(0, (int)PciTestBench.RamSize));
        DeviceState state = driverA.Device.Save();
        driverB.Device.Restore(state);
        Assert.Equal(state.Data, driverB.Device.Save().Data);

        // The driver posts a second buffer on both: each card completes the frame across the two.
        foreach (VirtioDriver d in (VirtioDriver[])[driverA, driverB])
        {
            d.SetAvailableIndex(1);
            d.WriteDescriptor(VirtioDriver.DescriptorTable, 1, Second, 64, 2, 0);
            Assert.Equal((0u, 64u), d.Offer(1));
            Assert.Equal((1u, 48u), d.TakeUsed());
        }

        foreach (PciTestBench bench in (PciTestBench[])[benchA, benchB])
        {
            byte[] first = new byte[64], second = new byte[48];
            bench.Memory.Read(new Emulator.Core.Memory.GuestPhysicalAddress(First), first);
            bench.Memory.Read(new Emulator.Core.Memory.GuestPhysicalAddress(Second), second);
            Assert.Equal(2, BinaryPrimitives.ReadUInt16LittleEndian(first.AsSpan(10))); // num_buffers (Virtio 1.1 5.1.6.4)
            Assert.Equal(frame, (byte[])[.. first.AsSpan(VirtioNet.HeaderSize).ToArray(), .. second]);
        }
    }

    private PcMachine Machine()
    {
        string disk = Path.Combine(_dir, $"disk{Guid.NewGuid():n}.img");
        File.WriteAllBytes(disk, new byte[1 << 20]);
        var config = new PcConfig
        {
            MemoryBytes = 64UL << 20,
            DeterministicTime = true,
            Translate = false,
            Drives = [new DriveConfig(disk, ReadOnly: false)],
        };
        return new PcMachine(config, new Emulator.Fuzzing.CapturedSerial());
    }

    private static Dictionary<string, DeviceState> Save(PcMachine machine)
    {
        lock (machine.Platform.DeviceLock)
        {
            return machine.DevicesInRestoreOrder.ToDictionary(d => d.Name, d => d.Save());
        }
    }

    private static void AssertSameStates(Dictionary<string, DeviceState> expected, Dictionary<string, DeviceState> actual)
    {
        foreach ((string name, DeviceState s) in expected)
        {
            Assert.True(s.Version == actual[name].Version && s.Data.AsSpan().SequenceEqual(actual[name].Data), $"{name} differs");
        }
    }

    private static int Latch(Pit8254 pit)
    {
        pit.Write(3, [0x00]);
        byte[] low = new byte[1], high = new byte[1];
        pit.Read(0, low);
        pit.Read(0, high);
        return low[0] | (high[0] << 8);
    }
}
