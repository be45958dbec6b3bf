using Xunit;

namespace Emulator.Tests.Cpu;

/// <summary>
/// Code written by one vCPU and then run by another (Intel SDM Vol. 3A 9.1.3, cross-modifying
/// code): the executing vCPU has already run the old code (it is decoded and cached), waits for the
/// writer's flag, serialises with CPUID as the manual asks, and must then run the new code.
/// </summary>
public sealed class CrossModifyingCodeTests : IDisposable
{
    private readonly RealModeVcpus _machine = new();

    public CrossModifyingCodeTests()
    {
        _machine.Write(0x8000, [0xb8, 0x01, 0x00, 0xc3]); // f: mov ax, 1; ret
        _machine.Write(0x7c00,
        [
            0x80, 0x3e, 0x00, 0x06, 0x01,   // writer: cmp byte [0x600], 1 (the reader has run f)
            0x75, 0xf9,                     //  jne writer
            0xc6, 0x06, 0x01, 0x80, 0x02,   //  mov byte [0x8001], 2: f now returns 2
            0xc6, 0x06, 0x02, 0x06, 0x01,   //  mov byte [0x602], 1
            0xeb, 0xfe,                     //  jmp $
        ]);
        _machine.Write(0x7d00,
        [
            0xe8, 0xfd, 0x02,               // reader: call f
            0xa3, 0x04, 0x06,               //  mov [0x604], ax
            0xc6, 0x06, 0x00, 0x06, 0x01,   //  mov byte [0x600], 1
            0x80, 0x3e, 0x02, 0x06, 0x01,   //  cmp byte [0x602], 1
            0x75, 0xee,                     //  jne reader
            0x0f, 0xa2,                     //  cpuid (serialising)
            0xe8, 0xe9, 0x02,               //  call f
            0xa3, 0x06, 0x06,               //  mov [0x606], ax
            0xc6, 0x06, 0x08, 0x06, 0x01,   //  mov byte [0x608], 1
            0xeb, 0xfe,                     //  jmp $
        ]);
    }

    public void Dispose() => _machine.Dispose();

    [Fact]
    public void CodeWrittenByOneVcpuRunsOnAnotherAfterSerialising()
    {
        byte[] data = _machine.RunUntil([0x7c00, 0x7d00], 0x600, 9, d => d[8] == 1, TimeSpan.FromSeconds(30));

        Assert.True(data[8] == 1, $"the reader did not finish: {Convert.ToHexString(data)}");
        // The loop ran f before the write (the writer waits for that), so its block was decoded and
        // cached; the loop's last call may already see the new code, the call after CPUID must.
        Assert.Contains(BitConverter.ToUInt16(data, 4), new ushort[] { 1, 2 });
        Assert.Equal(2, BitConverter.ToUInt16(data, 6));
    }
}
