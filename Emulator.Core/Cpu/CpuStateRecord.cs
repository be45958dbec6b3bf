namespace Emulator.Core.Cpu;

/// <summary>
/// The saved form of a <see cref="CpuState"/>: one record for every backend, so a vCPU saved under
/// KVM restores on the software CPU and back. The record holds the architectural state only
/// (registers, segment caches, control and debug registers, MSRs, the FXSAVE image with x87, MMX,
/// XMM and MXCSR, the upper halves of YMM0-15, XCR0, PKRU, and the events in flight); what a backend keeps besides (the software CPU's
/// decoded and translated code, its TLBs) is rebuilt after a restore. Little-endian, versioned:
/// <see cref="Read"/> refuses versions it does not know.
/// </summary>
public static class CpuStateRecord
{
    /// <summary>The version <see cref="Write"/> produces.</summary>
    /// <remarks>Version 2 adds YMM bits 255:128, XCR0 and PKRU after the FXSAVE image; a version 1
    /// record (before the CPU model had AVX and protection keys) reads with their reset values.</remarks>
    public const int Version = 2;

    // Bounds a hostile record cannot exceed: every MSR index a CPU model has fits easily.
    private const int MaxMsrs = 4096;

    /// <summary>The record of <paramref name="state"/>.</summary>
    public static byte[] Write(CpuState state)
    {
        using var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream))
        {
            foreach (ulong r in state.Gpr)
            {
                w.Write(r);
            }

            w.Write(state.Rip);
            w.Write(state.Rflags);
            foreach (SegmentRegister s in state.Segments)
            {
                WriteSegment(w, s);
            }

            WriteSegment(w, state.Ldtr);
            WriteSegment(w, state.Tr);
            WriteTable(w, state.Gdtr);
            WriteTable(w, state.Idtr);
            foreach (ulong v in (ulong[])[state.Cr0, state.Cr2, state.Cr3, state.Cr4, state.Cr8, state.Efer,
                state.Dr0, state.Dr1, state.Dr2, state.Dr3, state.Dr6, state.Dr7])
            {
                w.Write(v);
            }

            w.Write(state.Msrs.Count);
            foreach ((uint index, ulong value) in state.Msrs.OrderBy(m => m.Key))
            {
                w.Write(index);
                w.Write(value);
            }

            w.Write(state.FxState);
            w.Write(state.YmmHigh);
            w.Write(state.Xcr0);
            w.Write(state.Pkru);
            w.Write(state.Halted);
            w.Write(state.InterruptShadow);
            w.Write(state.NmiBlocked);
            w.Write(state.NmiPending);
            w.Write(state.PendingInterrupt);
            w.Write(state.PendingException);
            w.Write(state.PendingExceptionErrorCode.HasValue);
            w.Write(state.PendingExceptionErrorCode ?? 0);
        }

        return stream.ToArray();
    }

    /// <summary>Reads a record of <paramref name="version"/>; throws <see cref="InvalidDataException"/> for an unknown version or a malformed record.</summary>
    public static CpuState Read(ReadOnlySpan<byte> record, int version)
    {
        if (version is not (1 or Version))
        {
            throw new InvalidDataException($"CPU state record version {version} is not supported (this emu reads version {Version})");
        }

        try
        {
            using var r = new BinaryReader(new MemoryStream(record.ToArray()));
            var s = new CpuState();
            for (int i = 0; i < s.Gpr.Length; i++)
            {
                s.Gpr[i] = r.ReadUInt64();
            }

            s.Rip = r.ReadUInt64();
            s.Rflags = r.ReadUInt64() | 2;
            for (int i = 0; i < s.Segments.Length; i++)
            {
                s.Segments[i] = ReadSegment(r);
            }

            s.Ldtr = ReadSegment(r);
            s.Tr = ReadSegment(r);
            s.Gdtr = ReadTable(r);
            s.Idtr = ReadTable(r);
            (s.Cr0, s.Cr2, s.Cr3, s.Cr4, s.Cr8, s.Efer) = (r.ReadUInt64(), r.ReadUInt64(), r.ReadUInt64(), r.ReadUInt64(), r.ReadUInt64(), r.ReadUInt64());
            (s.Dr0, s.Dr1, s.Dr2, s.Dr3, s.Dr6, s.Dr7) = (r.ReadUInt64(), r.ReadUInt64(), r.ReadUInt64(), r.ReadUInt64(), r.ReadUInt64(), r.ReadUInt64());
            int msrs = r.ReadInt32();
            if (msrs is < 0 or > MaxMsrs)
            {
                throw new InvalidDataException($"CPU state record with {msrs} MSRs");
            }

            for (int i = 0; i < msrs; i++)
            {
                uint index = r.ReadUInt32();
                s.Msrs[index] = r.ReadUInt64();
            }

            byte[] fx = r.ReadBytes(s.FxState.Length);
            if (fx.Length != s.FxState.Length)
            {
                throw new EndOfStreamException();
            }

            fx.CopyTo(s.FxState, 0);
            if (version >= 2)
            {
                byte[] ymm = r.ReadBytes(s.YmmHigh.Length);
                if (ymm.Length != s.YmmHigh.Length)
                {
                    throw new EndOfStreamException();
                }

                ymm.CopyTo(s.YmmHigh, 0);
                s.Xcr0 = r.ReadUInt64();
                s.Pkru = r.ReadUInt32();
                if ((s.Xcr0 & XsaveLayout.X87) == 0)
                {
                    // XSETBV refuses XCR0 without x87 state (Intel SDM Vol. 1 13.3); so does a restore.
                    throw new InvalidDataException($"CPU state record with XCR0 {s.Xcr0:X}");
                }
            }

            s.Halted = r.ReadBoolean();
            s.InterruptShadow = r.ReadBoolean();
            s.NmiBlocked = r.ReadBoolean();
            s.NmiPending = r.ReadBoolean();
            s.PendingInterrupt = r.ReadInt32();
            s.PendingException = r.ReadInt32();
            bool hasErrorCode = r.ReadBoolean();
            uint errorCode = r.ReadUInt32();
            s.PendingExceptionErrorCode = hasErrorCode ? errorCode : null;
            if (s.PendingInterrupt is < -1 or > 255 || s.PendingException is < -1 or > 31)
            {
                throw new InvalidDataException($"CPU state record with pending vector {s.PendingInterrupt}/{s.PendingException}");
            }

            if (r.BaseStream.Position != r.BaseStream.Length)
            {
                throw new InvalidDataException("CPU state record longer than its fields");
            }

            return s;
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("CPU state record is truncated", e);
        }
    }

    private static void WriteSegment(BinaryWriter w, SegmentRegister s)
    {
        w.Write(s.Selector);
        w.Write(s.Base);
        w.Write(s.Limit);
        w.Write(s.Attributes);
    }

    private static SegmentRegister ReadSegment(BinaryReader r) => new()
    {
        Selector = r.ReadUInt16(),
        Base = r.ReadUInt64(),
        Limit = r.ReadUInt32(),
        Attributes = r.ReadUInt32(),
    };

    private static void WriteTable(BinaryWriter w, TableRegister t)
    {
        w.Write(t.Base);
        w.Write(t.Limit);
    }

    private static TableRegister ReadTable(BinaryReader r) => new() { Base = r.ReadUInt64(), Limit = r.ReadUInt16() };
}
