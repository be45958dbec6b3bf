using Emulator.Core.Cpu;
using Xunit;

namespace Emulator.Tests.Kvm;

/// <summary>Field-by-field comparison of two <see cref="CpuState"/>s, naming the first field that differs.</summary>
internal static class CpuStateAssert
{
    /// <summary>
    /// Asserts equality; the TSC (MSR 0x10) may have advanced by up to <paramref name="tscSlack"/>, or
    /// is not compared when that is null.
    /// </summary>
    public static void Equal(CpuState expected, CpuState actual, ulong? tscSlack)
    {
        for (int i = 0; i < 16; i++)
        {
            Field($"GPR {(Gpr)i}", expected.Gpr[i], actual.Gpr[i]);
        }

        Field("RIP", expected.Rip, actual.Rip);
        Field("RFLAGS", expected.Rflags, actual.Rflags);
        for (int i = 0; i < 6; i++)
        {
            Segment(((Seg)i).ToString(), expected.Segments[i], actual.Segments[i]);
        }

        Segment("LDTR", expected.Ldtr, actual.Ldtr);
        Segment("TR", expected.Tr, actual.Tr);
        Field("GDTR", (expected.Gdtr.Base, expected.Gdtr.Limit), (actual.Gdtr.Base, actual.Gdtr.Limit));
        Field("IDTR", (expected.Idtr.Base, expected.Idtr.Limit), (actual.Idtr.Base, actual.Idtr.Limit));
        Field("CR0", expected.Cr0, actual.Cr0);
        Field("CR2", expected.Cr2, actual.Cr2);
        Field("CR3", expected.Cr3, actual.Cr3);
        Field("CR4", expected.Cr4, actual.Cr4);
        Field("CR8", expected.Cr8, actual.Cr8);
        Field("EFER", expected.Efer, actual.Efer);
        Field("DR0-3", (expected.Dr0, expected.Dr1, expected.Dr2, expected.Dr3), (actual.Dr0, actual.Dr1, actual.Dr2, actual.Dr3));
        Field("DR6", expected.Dr6, actual.Dr6);
        Field("DR7", expected.Dr7, actual.Dr7);
        // MXCSR_MASK (bytes 28-31) describes the CPU model, not state: both backends report the model's.
        byte[] expectedFx = (byte[])expected.FxState.Clone(), actualFx = (byte[])actual.FxState.Clone();
        expectedFx.AsSpan(28, 4).Clear();
        actualFx.AsSpan(28, 4).Clear();
        for (int i = 0; i < 512; i += 16)
        {
            Field($"FXSAVE bytes {i}-{i + 15}", Convert.ToHexString(expectedFx, i, 16), Convert.ToHexString(actualFx, i, 16));
        }

        Field("XCR0", expected.Xcr0, actual.Xcr0);
        Field("YMM0-15 bits 255:128", Convert.ToHexString(expected.YmmHigh), Convert.ToHexString(actual.YmmHigh));
        Field("MSR indexes", string.Join(",", expected.Msrs.Keys.Order().Select(k => k.ToString("x"))), string.Join(",", actual.Msrs.Keys.Order().Select(k => k.ToString("x"))));
        foreach ((uint index, ulong value) in expected.Msrs)
        {
            if (index == 0x10)
            {
                Assert.True(tscSlack is null || (actual.Msrs[index] >= value && actual.Msrs[index] - value <= tscSlack), $"TSC: wrote 0x{value:x}, read 0x{actual.Msrs[index]:x}");
            }
            else
            {
                Field($"MSR 0x{index:x}", value, actual.Msrs[index]);
            }
        }

        Field("Halted", expected.Halted, actual.Halted);
        Field("InterruptShadow", expected.InterruptShadow, actual.InterruptShadow);
        Field("NmiBlocked", expected.NmiBlocked, actual.NmiBlocked);
        Field("NmiPending", expected.NmiPending, actual.NmiPending);
        Field("PendingInterrupt", expected.PendingInterrupt, actual.PendingInterrupt);
        Field("PendingException", (expected.PendingException, expected.PendingExceptionErrorCode), (actual.PendingException, actual.PendingExceptionErrorCode));
    }

    private static void Segment(string name, SegmentRegister e, SegmentRegister a) =>
        Field(name, (e.Selector, e.Base, e.Limit, e.Attributes.ToString("x")), (a.Selector, a.Base, a.Limit, a.Attributes.ToString("x")));

    private static void Field<T>(string name, T expected, T actual)
    {
        if (!EqualityComparer<T>.Default.Equals(expected, actual))
        {
            Assert.Fail($"{name}: expected {expected}, got {actual}");
        }
    }
}
