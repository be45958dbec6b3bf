using Iced.Intel;

namespace Emulator.Tests.Cpu.Differential;

/// <summary>
/// Results that differ between Intel and AMD processors where neither manual fixes them. The
/// software CPU reports GenuineIntel and does what Intel processors do; on a host of the other
/// vendor the comparison masks exactly the bits that differ, for a named reason, and nothing else.
/// </summary>
internal static class VendorDifferences
{
    private const int Rcx = 1, Rsi = 6, Rdi = 7;

    /// <summary>
    /// The MXCSR bits above 15 that the host accepts though the emulated CPU reserves them (LDMXCSR
    /// raises #GP(0) for a reserved bit, Intel SDM Vol. 2A LDMXCSR): on AMD processors with
    /// misaligned SSE mode (CPUID Fn8000_0001 ECX bit 7, MisAlignSse), bit 17 is MM, the
    /// misaligned-exception mask (AMD APM Vol. 1 4.2.2 "MXCSR"); Intel processors, and so the
    /// software CPU, have no such bit. A case that sets a reserved bit to make LDMXCSR fault avoids these.
    /// </summary>
    public static uint HostOnlyMxcsrBits { get; } = HostCpu.IsAmd && HostCpu.Has(unchecked((int)0x8000_0001), 2, 7) ? 1u << 17 : 0;

    /// <summary>
    /// The bits of general register <paramref name="register"/> to compare after <paramref name="ins"/>
    /// started from <paramref name="gpr"/> (all of them unless a vendor difference applies), and why
    /// the others are not compared.
    /// </summary>
    public static (ulong Compared, string? Reason) RegisterMask(in Instruction ins, ulong[] gpr, int register)
    {
        if (HostCpu.IsAmd && IsZeroCountRepWith32BitAddresses(ins, gpr) && WritesOnIntel(ins, register))
        {
            return (0xffff_ffff, ZeroCountRep);
        }

        return (ulong.MaxValue, null);
    }

    /// <summary>
    /// Whether the 64-bit halves <paramref name="native"/> and <paramref name="emulated"/> of a vector
    /// register written by <paramref name="ins"/> agree: bit for bit, except that after DPPS/DPPD on
    /// an AMD host two NaNs in the same element count as equal (<see cref="DotProductNaN"/>).
    /// </summary>
    public static bool VectorHalvesAgree(in Instruction ins, ulong native, ulong emulated)
    {
        if (native == emulated)
        {
            return true;
        }

        if (!(HostCpu.IsAmd && ins.Mnemonic is Mnemonic.Dpps or Mnemonic.Vdpps or Mnemonic.Dppd or Mnemonic.Vdppd))
        {
            return false;
        }

        return ins.Mnemonic is Mnemonic.Dppd or Mnemonic.Vdppd
            ? double.IsNaN(BitConverter.UInt64BitsToDouble(native)) && double.IsNaN(BitConverter.UInt64BitsToDouble(emulated))
            : BothNaN((uint)native, (uint)emulated) && BothNaN((uint)(native >> 32), (uint)(emulated >> 32));
    }

    /// <summary>Why DPPS/DPPD results are compared loosely on AMD hosts (named in failure messages).</summary>
    public const string DotProductNaN =
        "DPPS/DPPD: Intel processors (the emulated vendor) sum per destination element in their own order, so each element may carry another of the products' NaNs; AMD processors compute the SDM's one sum";

    // Equal, or both NaN (an element of a single-precision vector).
    private static bool BothNaN(uint a, uint b) => a == b || (float.IsNaN(BitConverter.UInt32BitsToSingle(a)) && float.IsNaN(BitConverter.UInt32BitsToSingle(b)));

    // A REP string instruction with a 32-bit address size (67h) in 64-bit mode and ECX = 0 runs no
    // iteration. Neither manual describes a register write then: Intel SDM Vol. 2B "REP/REPE/REPZ/
    // REPNE/REPNZ", Operation ("WHILE CountReg != 0 DO ... OD") and AMD APM Vol. 3 1.2.6 "Repeat
    // Prefixes" only define the iterations. Intel processors still write ECX (clearing RCX[63:32]
    // as every 32-bit register write does, SDM Vol. 1 3.4.1.1) and, for MOVS and STOS, ESI/EDI;
    // AMD processors leave the three registers untouched. Linux's KVM instruction emulator follows
    // Intel's behaviour for the same reason (commit 428e3d08574b, "KVM: x86: Fix zero iterations
    // REP-string", which calls it undocumented and specific to Intel).
    private const string ZeroCountRep =
        "AMD leaves RCX/RSI/RDI[63:32] alone for a zero-count REP with 32-bit addresses; Intel (the emulated vendor) writes them";

    private static bool IsZeroCountRepWith32BitAddresses(in Instruction ins, ulong[] gpr) =>
        (ins.HasRepPrefix || ins.HasRepePrefix || ins.HasRepnePrefix) && AddressSize(ins) == 4 && (uint)gpr[Rcx] == 0;

    // The registers Intel processors write in that case: ECX always, ESI for MOVS, EDI for MOVS and STOS.
    private static bool WritesOnIntel(in Instruction ins, int register) => register switch
    {
        Rcx => true,
        Rsi => IsMovs(ins),
        Rdi => IsMovs(ins) || ins.Mnemonic is Mnemonic.Stosb or Mnemonic.Stosw or Mnemonic.Stosd or Mnemonic.Stosq,
        _ => false,
    };

    private static bool IsMovs(in Instruction ins) =>
        ins.Mnemonic is Mnemonic.Movsb or Mnemonic.Movsw or Mnemonic.Movsd or Mnemonic.Movsq;

    private static int AddressSize(in Instruction ins)
    {
        for (int i = 0; i < ins.OpCount; i++)
        {
            switch (ins.GetOpKind(i))
            {
                case OpKind.MemorySegESI or OpKind.MemoryESEDI or OpKind.MemorySegEDI:
                    return 4;
                case OpKind.MemorySegRSI or OpKind.MemoryESRDI or OpKind.MemorySegRDI:
                    return 8;
                default:
                    break;
            }
        }

        return 0;
    }
}
