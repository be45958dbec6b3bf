using Emulator.Core.Cpu;
using Xunit;

namespace Emulator.Tests.Snapshots;

/// <summary>The CPU state record both backends' snapshots use: every field survives, bad records are refused.</summary>
public sealed class CpuStateRecordTests
{
    [Fact]
    public void EveryFieldReadsBackAsWritten()
    {
        CpuState s = Sample();
        CpuState back = CpuStateRecord.Read(CpuStateRecord.Write(s), CpuStateRecord.Version);
        Assert.Equal(CpuStateRecord.Write(s), CpuStateRecord.Write(back));
        Assert.Equal(s.Gpr, back.Gpr);
        Assert.Equal(s.Segments, back.Segments);
        Assert.Equal((s.Rip, s.Rflags, s.Cr0, s.Cr3, s.Cr4, s.Efer, s.Dr7), (back.Rip, back.Rflags, back.Cr0, back.Cr3, back.Cr4, back.Efer, back.Dr7));
        Assert.Equal((s.Ldtr, s.Tr, s.Gdtr.Base, s.Idtr.Limit), (back.Ldtr, back.Tr, back.Gdtr.Base, back.Idtr.Limit));
        Assert.Equal(s.Msrs.OrderBy(m => m.Key), back.Msrs.OrderBy(m => m.Key));
        Assert.Equal(s.FxState, back.FxState);
        Assert.Equal(s.YmmHigh, back.YmmHigh);
        Assert.Equal((s.Xcr0, s.Pkru), (back.Xcr0, back.Pkru));
        Assert.Equal((s.Halted, s.InterruptShadow, s.NmiBlocked, s.NmiPending), (back.Halted, back.InterruptShadow, back.NmiBlocked, back.NmiPending));
        Assert.Equal((s.PendingInterrupt, s.PendingException, s.PendingExceptionErrorCode), (back.PendingInterrupt, back.PendingException, back.PendingExceptionErrorCode));
    }

    [Fact]
    public void UnknownVersionsAndDamagedRecordsAreRefused()
    {
        byte[] record = CpuStateRecord.Write(Sample());
        Assert.Contains("version 3", Assert.Throws<InvalidDataException>(() => CpuStateRecord.Read(record, 3)).Message, StringComparison.Ordinal);
        Assert.Throws<InvalidDataException>(() => CpuStateRecord.Read(record.AsSpan(0, record.Length - 1), CpuStateRecord.Version));
        Assert.Throws<InvalidDataException>(() => CpuStateRecord.Read([.. record, 0], CpuStateRecord.Version));
        byte[] bad = (byte[])record.Clone();
        bad[^9] = 0x40; // PendingException = 64: no such exception vector
        Assert.Throws<InvalidDataException>(() => CpuStateRecord.Read(bad, CpuStateRecord.Version));
    }

    private static CpuState Sample()
    {
        var random = new Random(11);
        CpuState s = CpuState.AtReset();
        for (int i = 0; i < 16; i++)
        {
            s.Gpr[i] = (ulong)random.NextInt64();
        }

        s.Rip = 0xffff_ffff_8100_1234;
        s.Rflags = 0x246;
        s.Segments[(int)Seg.Cs] = new SegmentRegister { Selector = 0x10, Base = 0, Limit = 0xffff_ffff, Attributes = 0xa09b };
        s.Segments[(int)Seg.Gs] = new SegmentRegister { Selector = 0, Base = 0xffff_8880_1f00_0000, Limit = 0xffff_ffff, Attributes = SegmentRegister.Unusable };
        s.Tr = new SegmentRegister { Selector = 0x40, Base = 0xfffffe0000003000, Limit = 0x4087, Attributes = 0x8b };
        s.Gdtr = new TableRegister { Base = 0xfffffe0000001000, Limit = 0x7f };
        s.Idtr = new TableRegister { Base = 0xfffffe0000000000, Limit = 0xfff };
        (s.Cr0, s.Cr2, s.Cr3, s.Cr4, s.Efer) = (0x8005_0033, 0x7f00_1234_5000, 0x1_2345_6000, 0x3706f0, 0xd01);
        (s.Dr0, s.Dr7) = (0x40_1000, 0x401);
        s.Msrs[0x10] = 123_456_789_000;
        s.Msrs[0xc000_0082] = 0xffff_ffff_8200_0040;
        s.Msrs[0x277] = 0x0007_0406_0007_0406;
        random.NextBytes(s.FxState);
        random.NextBytes(s.YmmHigh);
        (s.Xcr0, s.Pkru) = (7, 0x5555_5554);
        (s.Halted, s.InterruptShadow, s.NmiBlocked, s.NmiPending) = (false, true, true, false);
        (s.PendingInterrupt, s.PendingException, s.PendingExceptionErrorCode) = (-1, 14, 6u);
        return s;
    }
}
