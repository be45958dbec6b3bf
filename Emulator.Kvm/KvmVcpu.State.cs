using System.Runtime.InteropServices;
using Emulator.Core.Cpu;
using Emulator.Kvm.Native;

namespace Emulator.Kvm;

/// <summary>Conversion between KVM's register structures and the common <see cref="CpuState"/>.</summary>
public sealed partial class KvmVcpu
{
    private const ulong RflagsIf = 1 << 9;
    private const int MxcsrMaskOffset = 28;
    // Bytes 416-511 of an FXSAVE image are reserved or left to software (Intel SDM Vol. 1 Table 10-2);
    // Linux keeps its own bookkeeping there. They are not processor state and are not moved.
    private const int FxStateEnd = 416;

    /// <inheritdoc/>
    public CpuState GetState()
    {
        CompletePendingOperation();
        var s = new CpuState();
        KvmRegs r = GetRegs();
        (s.Gpr[(int)Gpr.Rax], s.Gpr[(int)Gpr.Rcx], s.Gpr[(int)Gpr.Rdx], s.Gpr[(int)Gpr.Rbx]) = (r.Rax, r.Rcx, r.Rdx, r.Rbx);
        (s.Gpr[(int)Gpr.Rsp], s.Gpr[(int)Gpr.Rbp], s.Gpr[(int)Gpr.Rsi], s.Gpr[(int)Gpr.Rdi]) = (r.Rsp, r.Rbp, r.Rsi, r.Rdi);
        (s.Gpr[8], s.Gpr[9], s.Gpr[10], s.Gpr[11]) = (r.R8, r.R9, r.R10, r.R11);
        (s.Gpr[12], s.Gpr[13], s.Gpr[14], s.Gpr[15]) = (r.R12, r.R13, r.R14, r.R15);
        s.Rip = r.Rip;
        s.Rflags = r.Rflags;

        KvmSregs sr = GetSregs();
        s.Segments[(int)Seg.Es] = FromKvm(sr.Es);
        s.Segments[(int)Seg.Cs] = FromKvm(sr.Cs);
        s.Segments[(int)Seg.Ss] = FromKvm(sr.Ss);
        s.Segments[(int)Seg.Ds] = FromKvm(sr.Ds);
        s.Segments[(int)Seg.Fs] = FromKvm(sr.Fs);
        s.Segments[(int)Seg.Gs] = FromKvm(sr.Gs);
        s.Ldtr = FromKvm(sr.Ldt);
        s.Tr = FromKvm(sr.Tr);
        s.Gdtr = new TableRegister { Base = sr.Gdt.Base, Limit = sr.Gdt.Limit };
        s.Idtr = new TableRegister { Base = sr.Idt.Base, Limit = sr.Idt.Limit };
        (s.Cr0, s.Cr2, s.Cr3, s.Cr4, s.Cr8, s.Efer) = (sr.Cr0, sr.Cr2, sr.Cr3, sr.Cr4, sr.Cr8, sr.Efer);
        s.Msrs[KvmMsrState.ApicBase] = sr.ApicBase;

        KvmDebugRegs dr = Get<KvmDebugRegs>(KvmIoctl.GetDebugRegs, "KVM_GET_DEBUGREGS");
        unsafe
        {
            // SAFETY: Db is a fixed array of 4 inside the local struct.
            (s.Dr0, s.Dr1, s.Dr2, s.Dr3) = (dr.Db[0], dr.Db[1], dr.Db[2], dr.Db[3]);
        }

        (s.Dr6, s.Dr7) = (dr.Dr6, dr.Dr7);
        s.Pkru = ReadFxState(s.FxState, s.YmmHigh);
        s.Xcr0 = ReadXcr0();
        foreach ((uint index, ulong value) in GetMsrs())
        {
            s.Msrs[index] = value;
        }

        KvmVcpuEvents ev = Get<KvmVcpuEvents>(KvmIoctl.GetVcpuEvents, "KVM_GET_VCPU_EVENTS");
        s.InterruptShadow = ev.InterruptShadow != 0;
        // An NMI KVM was injecting has not reached its handler: it is still pending, and NMIs were
        // not blocked before it (KVM injects one only when they are not).
        s.NmiPending = ev.NmiPending != 0 || ev.NmiInjected != 0 || Volatile.Read(ref _nmisPending) > 0;
        s.NmiBlocked = ev.NmiMasked != 0 && ev.NmiInjected == 0;
        // KVM reports neither software exceptions nor INT n here: their instruction runs again.
        s.PendingInterrupt = ev.InterruptInjected != 0 ? ev.InterruptNr : -1;
        if (ev.ExceptionInjected != 0 || ev.ExceptionPending != 0)
        {
            s.PendingException = ev.ExceptionNr;
            s.PendingExceptionErrorCode = ev.ExceptionHasErrorCode != 0 ? ev.ExceptionErrorCode : null;
        }

        s.Halted = _halted;
        return s;
    }

    /// <inheritdoc/>
    public void SetState(CpuState state)
    {
        // An instruction waiting for its I/O to complete would otherwise finish on top of the new state.
        CompletePendingOperation();
        var r = new KvmRegs
        {
            Rax = state.Gpr[(int)Gpr.Rax], Rcx = state.Gpr[(int)Gpr.Rcx], Rdx = state.Gpr[(int)Gpr.Rdx], Rbx = state.Gpr[(int)Gpr.Rbx],
            Rsp = state.Gpr[(int)Gpr.Rsp], Rbp = state.Gpr[(int)Gpr.Rbp], Rsi = state.Gpr[(int)Gpr.Rsi], Rdi = state.Gpr[(int)Gpr.Rdi],
            R8 = state.Gpr[8], R9 = state.Gpr[9], R10 = state.Gpr[10], R11 = state.Gpr[11],
            R12 = state.Gpr[12], R13 = state.Gpr[13], R14 = state.Gpr[14], R15 = state.Gpr[15],
            Rip = state.Rip,
            Rflags = state.Rflags | 2,
        };
        Set(KvmIoctl.SetRegs, r, "KVM_SET_REGS");

        WriteFxState(state.FxState, state.YmmHigh, state.Pkru);

        var sr = new KvmSregs
        {
            Es = ToKvm(state.Segments[(int)Seg.Es]),
            Cs = ToKvm(state.Segments[(int)Seg.Cs]),
            Ss = ToKvm(state.Segments[(int)Seg.Ss]),
            Ds = ToKvm(state.Segments[(int)Seg.Ds]),
            Fs = ToKvm(state.Segments[(int)Seg.Fs]),
            Gs = ToKvm(state.Segments[(int)Seg.Gs]),
            Ldt = ToKvm(state.Ldtr),
            Tr = ToKvm(state.Tr),
            Gdt = new KvmDtable { Base = state.Gdtr.Base, Limit = state.Gdtr.Limit },
            Idt = new KvmDtable { Base = state.Idtr.Base, Limit = state.Idtr.Limit },
            Cr0 = state.Cr0,
            Cr2 = state.Cr2,
            Cr3 = state.Cr3,
            Cr4 = state.Cr4,
            Cr8 = state.Cr8,
            Efer = state.Efer,
            ApicBase = ApicBaseFor(state),
        };
        try
        {
            Set(KvmIoctl.SetSregs, sr, "KVM_SET_SREGS");
        }
        catch (KvmException e) when (e.Errno == LibC.EINVAL)
        {
            // KVM checks CR4 against the CPUID it was given (kvm_is_valid_cr4): a state from the
            // software CPU, whose model has more, may enable features this host's KVM lacks.
            throw new KvmException($"KVM_SET_SREGS refused CR0 {state.Cr0:x}, CR4 {state.Cr4:x}, EFER {state.Efer:x}{Cr4Features(state.Cr4)}: a guest that uses a feature this host's KVM cannot give cannot run under it", e);
        }

        WriteXcr0(state.Xcr0);

        SetMsrs([.. _msrs.Select(i => (i, KvmMsrState.ForKvm(i, state.Msrs.TryGetValue(i, out ulong v) ? v : KvmMsrState.ResetValue(i))))]);

        var ev = new KvmVcpuEvents
        {
            Flags = KvmVcpuEvents.ValidNmiPending | KvmVcpuEvents.ValidShadow,
            NmiPending = (byte)(state.NmiPending ? 1 : 0),
            NmiMasked = (byte)(state.NmiBlocked ? 1 : 0),
            // Blocking by STI requires RFLAGS.IF = 1 at VM entry (Intel SDM Vol. 3C 27.3.1.5, checks on
            // guest non-register state); a shadow with IF clear can only have come from MOV SS.
            InterruptShadow = !state.InterruptShadow ? (byte)0
                : (state.Rflags & RflagsIf) != 0 ? KvmVcpuEvents.ShadowSti : KvmVcpuEvents.ShadowMovSs,
        };
        if (state.PendingException >= 0)
        {
            ev.ExceptionInjected = 1;
            ev.ExceptionNr = (byte)state.PendingException;
            ev.ExceptionHasErrorCode = (byte)(state.PendingExceptionErrorCode is null ? 0 : 1);
            ev.ExceptionErrorCode = state.PendingExceptionErrorCode ?? 0;
        }
        else if (state.PendingInterrupt >= 0)
        {
            ev.InterruptInjected = 1;
            ev.InterruptNr = (byte)state.PendingInterrupt;
        }

        Set(KvmIoctl.SetVcpuEvents, ev, "KVM_SET_VCPU_EVENTS");

        var dr = new KvmDebugRegs { Dr6 = state.Dr6, Dr7 = state.Dr7 };
        unsafe
        {
            // SAFETY: Db is a fixed array of 4 inside the local struct.
            (dr.Db[0], dr.Db[1], dr.Db[2], dr.Db[3]) = (state.Dr0, state.Dr1, state.Dr2, state.Dr3);
        }

        Set(KvmIoctl.SetDebugRegs, dr, "KVM_SET_DEBUGREGS");
        _halted = state.Halted;
        // kvm_run's if_flag is the kernel's report at a KVM_EXIT_HLT; a state loaded into a halted
        // vCPU (a snapshot, a move from the software CPU) made no such exit, so its IF comes from here.
        _haltedInterruptible = state.Halted && (state.Rflags & (1UL << 9)) != 0;
        Volatile.Write(ref _nmisPending, 0);
    }

    private KvmRegs GetRegs() => Get<KvmRegs>(KvmIoctl.GetRegs, "KVM_GET_REGS");

    private KvmSregs GetSregs() => Get<KvmSregs>(KvmIoctl.GetSregs, "KVM_GET_SREGS");

    private T Get<T>(nuint request, string what)
        where T : unmanaged
    {
        T value = default;
        unsafe
        {
            // SAFETY: a pointer to a local T; T's size is encoded in `request`, so the kernel writes exactly sizeof(T) bytes.
            Check(LibC.Ioctl(_fd, request, (nint)(&value)), what);
        }

        return value;
    }

    private void Set<T>(nuint request, T value, string what)
        where T : unmanaged
    {
        unsafe
        {
            // SAFETY: a pointer to a local T; T's size is encoded in `request`, so the kernel reads exactly sizeof(T) bytes.
            Check(LibC.Ioctl(_fd, request, (nint)(&value)), what);
        }
    }

    // The MSRs of _msrs that KVM reads, paired with their values; one it refuses leaves the state
    // (the other side then takes its RESET value) and this vCPU's list.
    private List<(uint Index, ulong Value)> GetMsrs()
    {
        KvmMsrEntry[] entries = [.. _msrs.Select(i => new KvmMsrEntry { Index = i })];
        List<uint> refused = KvmMsrTransfer.Run(entries, e => TransferMsrs(KvmIoctl.GetMsrs, e, "KVM_GET_MSRS"), "KVM_GET_MSRS");
        Forget(refused, "KVM_GET_MSRS");
        return [.. entries.Where(e => !refused.Contains(e.Index)).Select(e => (e.Index, e.Data))];
    }

    private void SetMsrs(IReadOnlyList<(uint Index, ulong Value)> msrs)
    {
        KvmMsrEntry[] entries = [.. msrs.Select(m => new KvmMsrEntry { Index = m.Index, Data = m.Value })];
        Forget(KvmMsrTransfer.Run(entries, e => TransferMsrs(KvmIoctl.SetMsrs, e, "KVM_SET_MSRS"), "KVM_SET_MSRS"), "KVM_SET_MSRS");
    }

    // An optional MSR the host's KVM refused is not asked for again on this vCPU, and said once.
    private void Forget(List<uint> refused, string what)
    {
        if (refused.Count == 0)
        {
            return;
        }

        _msrs = [.. _msrs.Where(i => !refused.Contains(i))];
        foreach (uint index in refused)
        {
            Tell($"vCPU {Index}: the host's KVM refused {KvmMsrState.Name(index)} (MSR 0x{index:x}) in {what}; this vCPU's copy of it is no longer moved");
        }
    }

    // KVM_GET_MSRS / KVM_SET_MSRS take a kvm_msrs header followed by its entries and return how
    // many entries they processed (api.rst); the entries are copied back for a read.
    private int TransferMsrs(nuint request, Span<KvmMsrEntry> entries, string what)
    {
        int header = Marshal.SizeOf<KvmMsrs>();
        byte[] buffer = new byte[header + entries.Length * Marshal.SizeOf<KvmMsrEntry>()];
        MemoryMarshal.Write(buffer, new KvmMsrs { Count = (uint)entries.Length });
        MemoryMarshal.AsBytes(entries).CopyTo(buffer.AsSpan(header));
        int result;
        unsafe
        {
            // SAFETY: the pinned buffer is a kvm_msrs header followed by exactly Count entries.
            fixed (byte* p = buffer)
            {
                result = LibC.Ioctl(_fd, request, (nint)p);
            }
        }

        Check(result, what);
        MemoryMarshal.Cast<byte, KvmMsrEntry>(buffer.AsSpan(header)).CopyTo(entries);
        return result;
    }

    private static SegmentRegister FromKvm(KvmSegment k) => new()
    {
        Selector = k.Selector,
        Base = k.Base,
        Limit = k.Limit,
        Attributes = (uint)(k.Type & 0xf) | ((uint)k.S << 4) | ((uint)(k.Dpl & 3) << 5) | ((uint)k.Present << 7)
            | ((uint)k.Avl << 12) | ((uint)k.L << 13) | ((uint)k.Db << 14) | ((uint)k.G << 15) | ((uint)k.Unusable << 16),
    };

    private static KvmSegment ToKvm(SegmentRegister s)
    {
        uint a = s.Attributes;
        return new KvmSegment
        {
            Selector = s.Selector,
            Base = s.Base,
            Limit = s.Limit,
            Type = (byte)(a & 0xf),
            S = (byte)((a >> 4) & 1),
            Dpl = (byte)((a >> 5) & 3),
            Present = (byte)((a >> 7) & 1),
            Avl = (byte)((a >> 12) & 1),
            L = (byte)((a >> 13) & 1),
            Db = (byte)((a >> 14) & 1),
            G = (byte)((a >> 15) & 1),
            Unusable = (byte)((a >> 16) & 1),
        };
    }

    // The x87/SSE state goes through KVM_GET/SET_XSAVE, whose first 512 bytes are the FXSAVE image,
    // where KVM offers it. KVM_SET_FPU is the fallback only: on this project's hosts (Linux 6.18) it
    // was observed to leave MXCSR unchanged, and what it wrote did not show in KVM_GET_XSAVE, whose
    // XSTATE_BV still marked x87 and SSE as in their initial state, which is what the guest then gets.
    // The AVX component (bits 255:128 of YMM0-15) is the area's standard-format component 2, and
    // PKRU (on a host with protection keys) component 9 (Intel SDM Vol. 1 13.5.7): KVM keeps the
    // guest's PKRU only there, so this is how it reaches CpuState. Returns PKRU (0, its initial
    // configuration, when XSTATE_BV[9] is clear or the host has no XSAVE).
    private uint ReadFxState(byte[] fx, byte[] ymmHigh)
    {
        Array.Clear(ymmHigh);
        if (!_vm.HasXsave)
        {
            FpuToFxsave(Get<KvmFpu>(KvmIoctl.GetFpu, "KVM_GET_FPU"), fx);
            return 0;
        }

        uint pkru = 0;

        KvmXsave area = Get<KvmXsave>(KvmIoctl.GetXsave, "KVM_GET_XSAVE");
        Array.Clear(fx);
        unsafe
        {
            // SAFETY: Region is a 4096-byte fixed array inside the local struct; its first 416 bytes,
            // XSTATE_BV, the AVX component (576-831) and PKRU (2688-2691) are read.
            var region = new ReadOnlySpan<byte>(area.Region, 4096);
            region[..FxStateEnd].CopyTo(fx);
            ulong xstateBv = BitConverter.ToUInt64(region[KvmXsave.XstateBvOffset..]);
            if ((xstateBv & XsaveLayout.Avx) != 0)
            {
                region.Slice(AvxOffset, ymmHigh.Length).CopyTo(ymmHigh);
            }

            if ((xstateBv & XsaveLayout.Pkru) != 0)
            {
                pkru = BitConverter.ToUInt32(region[PkruOffset..]);
            }
        }

        // MXCSR_MASK says which MXCSR bits this processor supports: a property of the CPU model, not
        // state; emu's model supports every MXCSR bit including DAZ (the software CPU reports the same).
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(fx.AsSpan(MxcsrMaskOffset, 4), 0xffff);
        return pkru;
    }

    private void WriteFxState(byte[] fx, byte[] ymmHigh, uint pkru)
    {
        if (!_vm.HasXsave)
        {
            var fpu = new KvmFpu();
            FxsaveToFpu(fx, ref fpu);
            Set(KvmIoctl.SetFpu, fpu, "KVM_SET_FPU");
            return;
        }

        // Start from KVM's area so that components beyond x87, SSE and AVX keep their state, and MXCSR_MASK its value.
        KvmXsave area = Get<KvmXsave>(KvmIoctl.GetXsave, "KVM_GET_XSAVE");
        unsafe
        {
            // SAFETY: Region is a 4096-byte fixed array inside the local struct; the legacy region,
            // XSTATE_BV (bytes 512-519) and the AVX component (576-831) lie inside it.
            var region = new Span<byte>(area.Region, 4096);
            fx.AsSpan(0, MxcsrMaskOffset).CopyTo(region);
            fx.AsSpan(MxcsrMaskOffset + 4, FxStateEnd - MxcsrMaskOffset - 4).CopyTo(region[(MxcsrMaskOffset + 4)..]);
            ulong xstateBv = BitConverter.ToUInt64(region[KvmXsave.XstateBvOffset..]) | KvmXsave.LegacyComponents;

            // All-zero upper halves are the AVX component's initial configuration (Intel SDM Vol. 1 13.6): XSTATE_BV[2] = 0
            // says so, which also suits a host whose KVM has no AVX state.
            bool avxInUse = ymmHigh.AsSpan().ContainsAnyExcept((byte)0);
            xstateBv = avxInUse ? xstateBv | XsaveLayout.Avx : xstateBv & ~XsaveLayout.Avx;
            ymmHigh.CopyTo(region.Slice(AvxOffset, ymmHigh.Length));

            // PKRU = 0 is the component's initial configuration: XSTATE_BV[9] = 0 needs no PKU on the
            // host. Another value is set only where the vCPU's CPUID offers the component (KVM
            // refuses an XSTATE_BV bit it does not); elsewhere the guest has no PKRU to keep.
            if (pkru == 0)
            {
                xstateBv &= ~XsaveLayout.Pkru;
            }
            else if ((OfferedXcr0() & XsaveLayout.Pkru) != 0)
            {
                BitConverter.TryWriteBytes(region[PkruOffset..], (ulong)pkru);
                xstateBv |= XsaveLayout.Pkru;
            }

            BitConverter.TryWriteBytes(region[KvmXsave.XstateBvOffset..], xstateBv);
        }

        Set(KvmIoctl.SetXsave, area, "KVM_SET_XSAVE");
    }

    // The standard-format offset of the AVX component (CPUID.(EAX=0DH,ECX=2):EBX).
    private static readonly int AvxOffset = XsaveLayout.Find(2)!.Value.Offset;

    // The standard-format offset of the PKRU component (CPUID.(EAX=0DH,ECX=9):EBX).
    private static readonly int PkruOffset = XsaveLayout.Find(9)!.Value.Offset;

    /// <summary>XCR0 from KVM_GET_XCRS (1, x87 only, on a host without it).</summary>
    private ulong ReadXcr0()
    {
        if (!_vm.HasXcrs)
        {
            return XsaveLayout.X87;
        }

        KvmXcrs xcrs = Get<KvmXcrs>(KvmIoctl.GetXcrs, "KVM_GET_XCRS");
        unsafe
        {
            // SAFETY: Xcrs is a fixed array of 2 * 16 words inside the local struct; Count is at most 16.
            for (int i = 0; i < Math.Min((int)xcrs.Count, KvmXcrs.MaxXcrs); i++)
            {
                if ((uint)xcrs.Xcrs[2 * i] == 0)
                {
                    return xcrs.Xcrs[(2 * i) + 1];
                }
            }
        }

        return XsaveLayout.X87;
    }

    /// <summary>
    /// XCR0 through KVM_SET_XCRS, limited to the components the vCPU's CPUID offers (KVM refuses
    /// others): a state saved on a machine whose host had more state components loses those.
    /// </summary>
    private void WriteXcr0(ulong xcr0)
    {
        if (!_vm.HasXcrs)
        {
            return;
        }

        ulong offered = OfferedXcr0();
        var xcrs = new KvmXcrs { Count = 1 };
        unsafe
        {
            // SAFETY: Xcrs is a fixed array of 2 * 16 words inside the local struct.
            xcrs.Xcrs[0] = 0;
            xcrs.Xcrs[1] = (xcr0 & offered) | XsaveLayout.X87;
        }

        Set(KvmIoctl.SetXcrs, xcrs, "KVM_SET_XCRS");
    }

    // The XCR0 bits the vCPU's CPUID offers (CPUID.(EAX=0DH,ECX=0):EDX:EAX; x87 only without the leaf).
    private ulong OfferedXcr0()
    {
        CpuidLeaf? leaf = EffectiveCpuid.Where(l => l.Leaf == 0xd && l.Subleaf == 0).Select(l => (CpuidLeaf?)l).FirstOrDefault();
        return leaf is { } l ? l.Eax | ((ulong)l.Edx << 32) : XsaveLayout.X87;
    }

    // kvm_fpu is the FXSAVE image (Intel SDM Vol. 1 Table 10-2) split into fields: FCW at 0, FSW at 2,
    // the abridged tag at 4, FOP at 6, FPU IP at 8 and DP at 16 (8 bytes each, whatever their format),
    // MXCSR at 24, ST0-7 at 32 and XMM0-15 at 160. MXCSR_MASK (28) and bytes 416-511 have no field.
    private static void FpuToFxsave(KvmFpu f, byte[] fx)
    {
        Span<byte> image = fx;
        image.Clear();
        BitConverter.TryWriteBytes(image[0..], f.Fcw);
        BitConverter.TryWriteBytes(image[2..], f.Fsw);
        image[4] = f.Ftwx;
        BitConverter.TryWriteBytes(image[6..], f.LastOpcode);
        BitConverter.TryWriteBytes(image[8..], f.LastIp);
        BitConverter.TryWriteBytes(image[16..], f.LastDp);
        BitConverter.TryWriteBytes(image[24..], f.Mxcsr);
        unsafe
        {
            // SAFETY: Fpr (128 bytes) and Xmm (256 bytes) are fixed arrays inside the local struct.
            new ReadOnlySpan<byte>(f.Fpr, 128).CopyTo(image[32..160]);
            new ReadOnlySpan<byte>(f.Xmm, 256).CopyTo(image[160..416]);
        }
    }

    private static void FxsaveToFpu(byte[] fx, ref KvmFpu f)
    {
        ReadOnlySpan<byte> image = fx;
        f.Fcw = BitConverter.ToUInt16(image[0..]);
        f.Fsw = BitConverter.ToUInt16(image[2..]);
        f.Ftwx = image[4];
        f.LastOpcode = BitConverter.ToUInt16(image[6..]);
        f.LastIp = BitConverter.ToUInt64(image[8..]);
        f.LastDp = BitConverter.ToUInt64(image[16..]);
        f.Mxcsr = BitConverter.ToUInt32(image[24..]);
        unsafe
        {
            // SAFETY: Fpr (128 bytes) and Xmm (256 bytes) are fixed arrays inside the struct `f` refers to.
            fixed (byte* fpr = f.Fpr, xmm = f.Xmm)
            {
                image[32..160].CopyTo(new Span<byte>(fpr, 128));
                image[160..416].CopyTo(new Span<byte>(xmm, 256));
            }
        }
    }

    // The CR4 bits that enable a CPUID feature (Intel SDM Vol. 3A 2.5), named.
    private static string Cr4Features(ulong cr4)
    {
        (int Bit, string Name)[] features =
        [
            (11, "UMIP"), (12, "LA57"), (16, "FSGSBASE"), (17, "PCIDE"), (18, "OSXSAVE"), (20, "SMEP"), (21, "SMAP"), (22, "PKE"), (23, "CET"), (24, "PKS"),
        ];
        string[] set = features.Where(f => (cr4 & (1UL << f.Bit)) != 0).Select(f => f.Name).ToArray();
        return set.Length == 0 ? "" : $" (CR4 enables {string.Join(", ", set)})";
    }
}
