using Emulator.Core.Devices;
using Emulator.Core.Io;
using Emulator.Devices.Diagnostics;
using Xunit;

namespace Emulator.Tests.Devices;

/// <summary>
/// QEMU's pc-testdev as kvm-unit-tests' x86 kernels use it (QEMU hw/misc/pc-testdev.c): a scratch
/// register seen byte by byte at 0xE0 and 0xE8, interrupt lines at 0x2000 + n driven by byte
/// writes, and 64 KiB of MMIO bytes.
/// </summary>
public sealed class PcTestdevTests
{
    private readonly IoPortBus _bus = new(new Lock());
    private readonly UnconnectedLine[] _lines = [.. Enumerable.Range(0, 16).Select(_ => new UnconnectedLine())];
    private readonly PcTestdev _dev;

    public PcTestdevTests()
    {
        _dev = new PcTestdev(_lines);
        _bus.Register(PcTestdev.ScratchPort, PcTestdev.ScratchPortCount, _dev, PcTestdev.ScratchPort);
        _bus.Register(PcTestdev.IrqLinePort, PcTestdev.IrqLineCount, _dev, PcTestdev.IrqLinePort);
    }

    [Fact]
    public void ScratchRegisterKeepsWhatWasWrittenInEveryWidthAndBothViews()
    {
        _bus.Write(0xe0, 4, 0x1234_5678);
        Assert.Equal(0x1234_5678u, _bus.Read(0xe0, 4));
        Assert.Equal(0x1234u, _bus.Read(0xe2, 2));
        Assert.Equal(0x56u, _bus.Read(0xe1, 1));
        Assert.Equal(0x1234_5678u, _bus.Read(0xe8, 4)); // the byte view, same register

        _bus.Write(0xe9, 1, 0xab);
        Assert.Equal(0x1234_ab78u, _bus.Read(0xe0, 4));
        Assert.Equal(0u, _bus.Read(0xe4, 4)); // flush page: nothing to read
    }

    [Fact]
    public void ByteWriteToALinePortDrivesThatIsaIrqAndWiderWritesDriveOneLinePerByte()
    {
        _bus.Write(0x200e, 1, 1);
        Assert.True(_lines[14].Level);
        _bus.Write(0x200e, 1, 0);
        Assert.False(_lines[14].Level);

        // QEMU's line ports take single bytes: a dword OUT is four byte writes to lines 11-14.
        _bus.Write(0x200e, 1, 1);
        _bus.Write(0x200b, 4, 1);
        Assert.True(_lines[11].Level);
        Assert.False(_lines[12].Level);
        Assert.False(_lines[14].Level);
        _bus.Write(0x2017, 1, 1); // past the ISA IRQs: nothing
        Assert.Equal(0u, _bus.Read(0x200e, 1));
    }

    [Fact]
    public void MemoryWindowHoldsBytesAndIsSavedAndRestored()
    {
        Span<byte> b = stackalloc byte[8];
        BitConverter.TryWriteBytes(b, 0x0102_0304_0506_0708UL);
        _dev.Memory.Write(0x1000, b);
        _dev.Memory.Write(PcTestdev.MemorySize - 2, [0xaa, 0xbb, 0xcc]); // the last two bytes only
        _bus.Write(0x2003, 1, 1);
        DeviceState saved = _dev.Save();

        _dev.Reset();
        Assert.False(_lines[3].Level);
        byte[] read = new byte[8];
        _dev.Memory.Read(0x1000, read);
        Assert.Equal(new byte[8], read);

        _dev.Restore(saved);
        Assert.True(_lines[3].Level);
        _dev.Memory.Read(0x1000, read);
        Assert.Equal(0x0102_0304_0506_0708UL, BitConverter.ToUInt64(read));
        byte[] tail = new byte[3];
        _dev.Memory.Read(PcTestdev.MemorySize - 2, tail);
        Assert.Equal(new byte[] { 0xaa, 0xbb, 0 }, tail);
    }
}
