using Emulator.Devices.Virtio;
using Xunit;

namespace Emulator.Tests.Pci;

/// <summary>The virtio PCI transport: identity, capabilities, feature negotiation and the status state machine (Virtio 1.1 §2.1, §3.1, §4.1).</summary>
public sealed class VirtioPciTests : IDisposable
{
    private const ulong Version1 = 1UL << VirtioPci.FeatureVersion1;
    private readonly PciTestBench _pc = new();
    private readonly VirtioDriver _driver;

    public VirtioPciTests() => _driver = new VirtioDriver(_pc, 3, new VirtioPci("virtio-rng", new VirtioRng(), _pc.Memory));

    public void Dispose() => _pc.Dispose();

    [Fact]
    public void ModernIdentityAndCapabilities()
    {
        Assert.Equal(0x1044_1af4u, _pc.ConfigRead(3, 0, 0x00, 4));
        Assert.Equal(1u, _pc.ConfigRead(3, 0, 0x08, 1)); // revision 1: a modern-only device
        Assert.Equal(1u, _pc.ConfigRead(3, 0, 0x3d, 1)); // INTA#
        Assert.Equal(0x10u, _pc.ConfigRead(3, 0, 0x06, 2) & 0x10);

        var caps = _driver.Capabilities();
        Assert.Equal([1, 2, 3, 4, 5], caps.Select(c => c.Type).Order());
        Assert.All(caps.Where(c => c.Type != 5), c => Assert.Equal(0, c.Bar));
        var notify = caps.Single(c => c.Type == 2);
        Assert.Equal((uint)VirtioPci.NotifyOffMultiplier, _pc.ConfigRead(3, 0, notify.At + 16, 4));
        Assert.Equal(20u, _pc.ConfigRead(3, 0, notify.At + 2, 1));
    }

    [Fact]
    public void FeatureNegotiationRequiresVersion1()
    {
        ulong offered = _driver.DeviceFeatures();
        Assert.NotEqual(0UL, offered & Version1);
        Assert.NotEqual(0UL, offered & (1UL << VirtioPci.FeatureIndirectDesc));

        // Without VERSION_1 (a legacy driver) FEATURES_OK does not stick (§3.1.1 step 6).
        Assert.Equal(0, _driver.Negotiate(0) & VirtioPci.StatusFeaturesOk);

        // A feature the device did not offer is refused too.
        Assert.Equal(0, _driver.Negotiate(Version1 | (1UL << 40)) & VirtioPci.StatusFeaturesOk);

        Assert.NotEqual(0, _driver.Negotiate(Version1) & VirtioPci.StatusFeaturesOk);
        Assert.Equal(Version1, _driver.Device.DriverFeatures);
    }

    [Fact]
    public void FeaturesAreFrozenAfterFeaturesOkAndWritingZeroResets()
    {
        _driver.Start();
        _driver.Write(0x08, 4, 0);
        _driver.Write(0x0c, 4, 1UL << VirtioPci.FeatureIndirectDesc);
        Assert.Equal(Version1, _driver.Device.DriverFeatures);
        Assert.Equal(1UL, _driver.Read(0x1c, 2)); // queue 0 enabled

        _driver.Write(0x14, 1, 0);

        Assert.Equal(0, _driver.Status);
        Assert.Equal(0UL, _driver.Device.DriverFeatures);
        Assert.Equal(0UL, _driver.Read(0x1c, 2));
        Assert.Equal((ulong)Virtqueue.MaxSize, _driver.Read(0x18, 2));
    }

    [Fact]
    public void QueueRegistersFollowQueueSelect()
    {
        Assert.Equal(1UL, _driver.Read(0x12, 2)); // num_queues
        _driver.Write(0x16, 2, 1);
        Assert.Equal(0UL, _driver.Read(0x18, 2)); // no queue 1: size 0
        _driver.Write(0x16, 2, 0);
        _driver.Write(0x20, 4, 0x1_2340);
        _driver.Write(0x24, 4, 0x5);
        Assert.Equal(0x5_0001_2340UL, _driver.Read(0x20, 8));
        Assert.Equal(0xffffUL, _driver.Read(0x1a, 2)); // no MSI-X: VIRTIO_MSI_NO_VECTOR
    }

    [Fact]
    public void PciCfgCapabilityReachesTheBar()
    {
        var cap = _driver.Capabilities().Single(c => c.Type == 5);
        _pc.ConfigWrite(3, 0, cap.At + 4, 1, 0);              // bar 0
        _pc.ConfigWrite(3, 0, cap.At + 8, 4, 0x12);           // num_queues
        _pc.ConfigWrite(3, 0, cap.At + 12, 4, 2);             // 2 bytes
        Assert.Equal(1u, _pc.ConfigRead(3, 0, cap.At + 16, 2));
    }

    [Fact]
    public void EnablingAQueueOutsideRamSetsNeedsReset()
    {
        _driver.Negotiate(Version1);
        _driver.Write(0x20, 8, 0x8000_0000); // beyond the 2 MiB of RAM
        _driver.Write(0x28, 8, VirtioDriver.AvailableRing);
        _driver.Write(0x30, 8, VirtioDriver.UsedRing);
        _driver.Write(0x1c, 2, 1);

        Assert.NotEqual(0, _driver.Status & VirtioPci.StatusNeedsReset);
        Assert.Equal(0UL, _driver.Read(0x1c, 2));
        Assert.Equal(VirtioPci.IsrConfig, _driver.ReadIsr());
    }

    [Fact]
    public void SaveAndRestoreKeepTheQueues()
    {
        _driver.Start();
        var saved = _driver.Device.Save();
        _driver.Device.Reset();
        Assert.Equal(0, _driver.Device.Status);
        Assert.Equal(0xffUL, _driver.Read(0x14, 1)); // machine reset: memory decoding is off again

        _driver.Device.Restore(saved);

        Assert.Equal(0x0f, _driver.Status);
        Assert.Equal(1UL, _driver.Read(0x1c, 2));
        Assert.Equal(VirtioDriver.UsedRing, _driver.Read(0x30, 8));
        Assert.Throws<InvalidDataException>(() => _driver.Device.Restore(saved with { Version = 99 }));
    }
}
