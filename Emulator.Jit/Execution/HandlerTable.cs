using Emulator.Jit.Instructions;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Execution;

/// <summary>
/// The dispatch table: for every Iced <see cref="Code"/>, the handler that executes it. Families
/// register handlers by mnemonic (one handler serves every encoding and operand size of an
/// instruction) and may override single encodings by code. A code without a handler raises #UD
/// when the model does not have it (<see cref="Classify"/>); only a code the model has but no
/// family implements stops the machine as an emulator bug (<see cref="CpuCore.InternalError"/>).
/// </summary>
internal static unsafe class HandlerTable
{
    // Declared before ByCode: static initializers run in text order and Build fills this set.
    private static readonly HashSet<Code> Implemented = [];
    private static readonly Dictionary<Code, nint[]> FormsByCode = [];
    private static readonly delegate*<CpuCore, ref Instruction, void>[] ByCode = Build();

    /// <summary>The generic handler of <paramref name="code"/>.</summary>
    public static delegate*<CpuCore, ref Instruction, void> For(Code code) => ByCode[(int)code];

    /// <summary>The handler of <paramref name="code"/> for operands of shape <paramref name="form"/>: a form handler where the family has one, else the generic handler.</summary>
    public static delegate*<CpuCore, ref Instruction, void> For(Code code, OperandForm form)
    {
        if (form != OperandForm.Other && FormsByCode.TryGetValue(code, out nint[]? forms) && forms[(int)form] != 0)
        {
            return (delegate*<CpuCore, ref Instruction, void>)forms[(int)form];
        }

        return ByCode[(int)code];
    }

    /// <summary>True when <paramref name="code"/> has a real handler (not the unimplemented stub).</summary>
    public static bool IsImplemented(Code code)
    {
        _ = ByCode;
        return Implemented.Contains(code);
    }

    private static delegate*<CpuCore, ref Instruction, void>[] Build()
    {
        var registry = new Registry();
        Alu.Register(registry);
        Logic.Register(registry);
        MulDiv.Register(registry);
        Shifts.Register(registry);
        BitOps.Register(registry);
        DataMove.Register(registry);
        Stack.Register(registry);
        ControlFlow.Register(registry);
        FlagOps.Register(registry);
        Strings.Register(registry);
        InOut.Register(registry);
        Interrupts.Register(registry);
        SystemOps.Register(registry);
        SystemCalls.Register(registry);
        TimeStamp.Register(registry);
        SegmentBases.Register(registry);
        PagingControl.Register(registry);
        SegmentChecks.Register(registry);
        Bcd.Register(registry);
        X87.Register(registry);
        X87Arithmetic.Register(registry);
        SseInteger.Register(registry);
        SseMove.Register(registry);
        SseState.Register(registry);
        Xsave.Register(registry);
        SseFloat.Register(registry);
        SseConvert.Register(registry);
        SseShuffle.Register(registry);
        Sse42.Register(registry);
        Vzero.Register(registry);
        Broadcast.Register(registry);
        LanePermute.Register(registry);
        Permute.Register(registry);
        MaskedMove.Register(registry);
        Gather.Register(registry);
        Fma.Register(registry);
        HalfPrecision.Register(registry);
        CompareExchange.Register(registry);
        BitCount.Register(registry);
        ByteOrder.Register(registry);
        Adx.Register(registry);
        Bmi.Register(registry);
        Bmi2.Register(registry);
        RandomNumber.Register(registry);
        ProtectionKeys.Register(registry);
        PointerValidation.Register(registry);
        HintNops.Register(registry);
        Undefined.Register(registry);

        Code[] codes = Enum.GetValues<Code>();
        var table = new delegate*<CpuCore, ref Instruction, void>[codes.Length];
        foreach (Code code in codes)
        {
            // A handler registered by mnemonic serves its legacy and VEX encodings; the EVEX, XOP and
            // MVEX encodings of the same mnemonic (AVX-512, AMD XOP, Knights Corner) are other instructions.
            bool byMnemonic = code.Encoding() is EncodingKind.Legacy or EncodingKind.VEX;
            if (registry.ByCode.TryGetValue(code, out nint h) || (byMnemonic && registry.ByMnemonic.TryGetValue(code.Mnemonic(), out h)))
            {
                table[(int)code] = (delegate*<CpuCore, ref Instruction, void>)h;
                Implemented.Add(code);
            }
            else if (byMnemonic && registry.FormsByMnemonic.TryGetValue(code.Mnemonic(), out nint[]? forms))
            {
                table[(int)code] = (delegate*<CpuCore, ref Instruction, void>)forms[(int)OperandForm.Other];
                FormsByCode[code] = forms;
                Implemented.Add(code);
            }
            else
            {
                table[(int)code] = Classify(code, out _) == CodeSupport.Unclassified ? &Unimplemented : &Undefined.Raise;
            }
        }

        table[(int)Code.INVALID] = &Undefined.Raise;
        return table;
    }

    /// <summary>What the software CPU does with <paramref name="code"/>, and why.</summary>
    public static CodeSupport Classify(Code code, out string reason)
    {
        OpCodeInfo op = code.ToOpCode();
        if (IsImplemented(code))
        {
            reason = "a handler executes it";
            return CodeSupport.Implemented;
        }

        if (!op.IsInstruction || code == Code.INVALID)
        {
            reason = "not an instruction (Iced's undecodable-bytes code or a data directive): #UD";
            return CodeSupport.NotAnInstruction;
        }

        if (op.DecoderOption != DecoderOptions.None)
        {
            reason = $"decoded only with DecoderOptions.{op.DecoderOption}; the software CPU's decoder reads these bytes as other instructions or as invalid (#UD)";
            return CodeSupport.NotDecoded;
        }

        if (ModelFeatures.Missing(code) is { } feature)
        {
            reason = $"#UD: the model lacks {feature} ({ModelFeatures.Describe(feature)})";
            return CodeSupport.UndefinedInModel;
        }

        reason = "the model has this instruction but no handler implements it";
        return CodeSupport.Unclassified;
    }

    // Only a code the model has and no family implements reaches this: an emulator bug, reported
    // through InternalError (emu exits with status 4). The guest still sees the #UD.
    private static void Unimplemented(CpuCore cpu, ref Instruction ins)
    {
        cpu.InternalError = $"instruction not implemented in the software CPU: {ins} ({ins.Code})";
        throw new GuestFault(Vectors.UD);
    }

    /// <summary>Collects handlers from the instruction families.</summary>
    internal sealed class Registry
    {
        public Dictionary<Mnemonic, nint> ByMnemonic { get; } = [];

        public Dictionary<Code, nint> ByCode { get; } = [];

        public Dictionary<Mnemonic, nint[]> FormsByMnemonic { get; } = [];

        public void Add(Mnemonic mnemonic, delegate*<CpuCore, ref Instruction, void> handler) => ByMnemonic.Add(mnemonic, (nint)handler);

        public void Add(Code code, delegate*<CpuCore, ref Instruction, void> handler) => ByCode.Add(code, (nint)handler);

        /// <summary>An SSE instruction and its VEX form (ADDPS and VADDPS), executed by one handler that serves both encodings.</summary>
        public void Add(Mnemonic legacy, Mnemonic vex, delegate*<CpuCore, ref Instruction, void> handler)
        {
            Add(legacy, handler);
            Add(vex, handler);
        }

        /// <summary>Registers per-<see cref="OperandForm"/> handlers (index <see cref="OperandForm.Other"/> is the generic one).</summary>
        public void Add(Mnemonic mnemonic, nint[] forms) => FormsByMnemonic.Add(mnemonic, forms);

        /// <summary>Registers a generic handler and one or two for operands of the given shapes.</summary>
        public void Add(
            Mnemonic mnemonic,
            delegate*<CpuCore, ref Instruction, void> generic,
            OperandForm form,
            delegate*<CpuCore, ref Instruction, void> special,
            OperandForm form2 = OperandForm.Other,
            delegate*<CpuCore, ref Instruction, void> special2 = null)
        {
            nint[] forms = NewFormTable();
            forms[(int)OperandForm.Other] = (nint)generic;
            forms[(int)form] = (nint)special;
            if (form2 != OperandForm.Other)
            {
                forms[(int)form2] = (nint)special2;
            }

            FormsByMnemonic.Add(mnemonic, forms);
        }

        public static nint[] NewFormTable() => new nint[(int)OperandForm.NearBranch + 1];
    }
}

/// <summary>How the software CPU treats an Iced <see cref="Code"/> (<see cref="HandlerTable.Classify"/>).</summary>
internal enum CodeSupport
{
    /// <summary>A handler executes it.</summary>
    Implemented,

    /// <summary>The emulated processor does not have it (a CPUID feature it lacks, another vendor's or an older processor's instruction): #UD.</summary>
    UndefinedInModel,

    /// <summary>The decoder, which uses no <see cref="DecoderOptions"/>, never produces it.</summary>
    NotDecoded,

    /// <summary>Iced's code for undecodable bytes or a data directive: #UD.</summary>
    NotAnInstruction,

    /// <summary>The model has it and nothing implements it: an emulator bug (exit status 4).</summary>
    Unclassified,
}
