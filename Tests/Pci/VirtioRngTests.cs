using Emulator.Devices.Virtio;
using Xunit;

namespace Emulator.Tests.Pci;

public sealed class VirtioRngTests : IDisposable
{
    private readonly PciTestBench _pc = new();

    public void Dispose() => _pc.Dispose();

    [Fact]
    public void FillsTheBufferAndInterrupts()
    {
        var driver = new VirtioDriver(_pc, 2, new VirtioPci("virtio-rng", new VirtioRng(), _pc.Memory));
        driver.Start();
        _pc.Memory.Write(new(0x20000), new byte[256]);

        var used = driver.Submit((0x20000, 256, true));

        Assert.Equal((0u, 256u), used);
        byte[] bytes = new byte[256];
        _pc.Memory.Read(new(0x20000), bytes);
        Assert.True(bytes.Distinct().Count() > 64, "256 random bytes should not be mostly equal");

        // Slot 2 INTA# -> PIRQB -> IRQ 10; reading the ISR acknowledges it.
        Assert.True(_pc.IsaIrqs[10].Level);
        Assert.Equal(VirtioPci.IsrQueue, driver.ReadIsr());
        Assert.False(_pc.IsaIrqs[10].Level);
    }

    [Fact]
    public void NoInterruptWhenTheDriverSuppressesIt()
    {
        var driver = new VirtioDriver(_pc, 2, new VirtioPci("virtio-rng", new VirtioRng(), _pc.Memory));
        driver.Start();
        _pc.Memory.WriteUInt(new(VirtioDriver.AvailableRing), 2, 1); // VIRTQ_AVAIL_F_NO_INTERRUPT

        Assert.NotNull(driver.Submit((0x20000, 16, true)));
        Assert.False(_pc.IsaIrqs[10].Level);
    }
}
