using Emulator.Backends.Block;
using Emulator.Core.Memory;
using Emulator.Devices.Virtio;
using Xunit;

namespace Emulator.Tests.Pci;

/// <summary>
/// Seeded random guests: garbage rings, descriptors, register and configuration writes. Whatever
/// the guest does, no host exception escapes, and the image is only ever written by well-formed OUT
/// requests inside its capacity (so its length never changes).
/// </summary>
public sealed class VirtioRandomGuestTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"emu-fuzz-{Guid.NewGuid():n}.img");

    public VirtioRandomGuestTests() => File.WriteAllBytes(_path, new byte[32 * 512]);

    public void Dispose() => File.Delete(_path);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void RandomRingsAndRegistersNeverCrashTheHost(int seed)
    {
        var random = new Random(seed);
        using var pc = new PciTestBench();
        var image = new FileStream(_path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read, 0);
        var blk = new VirtioPci("virtio-blk", new VirtioBlk(new RawFileBackend(image, false)), pc.Memory);
        var driver = new VirtioDriver(pc, 3, blk);
        byte[] noise = new byte[0x4000];

        for (int round = 0; round < 300; round++)
        {
            if (round % 50 == 0)
            {
                driver.Start((1UL << VirtioPci.FeatureVersion1) | (1UL << VirtioPci.FeatureIndirectDesc) | (1UL << VirtioPci.FeatureEventIdx));
            }

            // Garbage descriptors, some of them pointing at plausible buffers in RAM.
            random.NextBytes(noise);
            pc.Memory.Write(new GuestPhysicalAddress(VirtioDriver.DescriptorTable), noise.AsSpan(0, 16 * VirtioDriver.QueueSize));
            for (int i = 0; i < VirtioDriver.QueueSize; i++)
            {
                if (random.Next(2) == 0)
                {
                    driver.WriteDescriptor(VirtioDriver.DescriptorTable, i, (ulong)random.Next(0x20000, 0x30000), (uint)random.Next(0, 0x2000), (ushort)random.Next(8), (ushort)random.Next(VirtioDriver.QueueSize + 2));
                }
            }

            switch (random.Next(6))
            {
                case 0:
                    pc.Memory.Write(new GuestPhysicalAddress(VirtioDriver.AvailableRing), noise.AsSpan(0, 6 + (2 * VirtioDriver.QueueSize)));
                    driver.Write(VirtioPci.NotifyOffset, 2, 0);
                    break;
                case 1:
                    driver.Write(random.Next(0, 0x4000) & ~3, 4, (uint)random.Next());
                    break;
                case 2:
                    pc.ConfigWrite(3, 0, random.Next(0x40, 0x100) & ~3, 4, (uint)random.Next());
                    break;
                default:
                    driver.Offer((ushort)random.Next(VirtioDriver.QueueSize + 2));
                    break;
            }

            driver.ReadIsr();
        }

        blk.Dispose();
        Assert.Equal(32 * 512, new FileInfo(_path).Length);
    }
}
