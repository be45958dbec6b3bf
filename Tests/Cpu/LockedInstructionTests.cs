using Xunit;

namespace Emulator.Tests.Cpu;

/// <summary>
/// Locked instructions are atomic across vCPUs of the software CPU: two vCPUs on their own host
/// threads count into shared words with LOCK INC and LOCK XADD while plain stores hit a byte of the
/// same quadword (as a spinlock's release does next to its tail); no increment may be lost.
/// </summary>
public sealed class LockedInstructionTests : IDisposable
{
    private const int Iterations = 60_000;
    private readonly RealModeVcpus _machine = new();

    public LockedInstructionTests()
    {
        _machine.Write(0x7c00,
        [
            0xb9, Iterations & 0xff, Iterations >> 8,       //  mov cx, Iterations
            0xf0, 0x66, 0xff, 0x06, 0x00, 0x05,             // again: lock inc dword [0x500]
            0x88, 0x0e, 0x04, 0x05,                         //  mov [0x504], cl (same quadword, plain store)
            0x66, 0xb8, 0x01, 0x00, 0x00, 0x00,             //  mov eax, 1
            0xf0, 0x66, 0x0f, 0xc1, 0x06, 0x08, 0x05,       //  lock xadd [0x508], eax
            0xe2, 0xe7,                                     //  loop again
            0xf0, 0xfe, 0x06, 0x10, 0x05,                   //  lock inc byte [0x510]: this vCPU is done
            0xeb, 0xfe,                                     //  jmp $
        ]);
    }

    public void Dispose() => _machine.Dispose();

    [Fact]
    public void TwoVcpusCountingWithLockedInstructionsLoseNoIncrement()
    {
        byte[] words = _machine.RunUntil([0x7c00, 0x7c00], 0x500, 17, w => w[16] == 2, TimeSpan.FromMinutes(2));

        Assert.True(words[16] == 2, $"the vCPUs did not finish their loops: {Convert.ToHexString(words)}");
        Assert.Equal(2 * Iterations, BitConverter.ToInt32(words, 0));
        Assert.Equal(2 * Iterations, BitConverter.ToInt32(words, 8));
        Assert.Equal(1, words[4]); // the last plain store of either vCPU: CL = 1 in the final iteration
    }
}
