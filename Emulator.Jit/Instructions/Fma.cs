using System.Runtime.Intrinsics;
using System.Text.RegularExpressions;
using Emulator.Jit.Execution;
using Emulator.Jit.State;
using Iced.Intel;

namespace Emulator.Jit.Instructions;

/// <summary>
/// The FMA instructions (Intel SDM Vol. 1 14.5, Vol. 2 VFMADD132PD...VFNMSUB231SS): VFMADD,
/// VFMSUB, VFNMADD, VFNMSUB, VFMADDSUB and VFMSUBADD in the 132, 213 and 231 operand orders, packed
/// (128 or 256 bits) and scalar, single and double precision: 192 mnemonic forms of one operation,
/// <see cref="FusedMultiplyAdd"/>. The three digits name the operands of x·y + z: 132 computes
/// DEST·SRC3 + SRC2, 213 SRC2·DEST + SRC3, 231 SRC2·SRC3 + DEST (DEST = operand 1, SRC2 = VEX.vvvv,
/// SRC3 = ModRM.r/m). The scalar forms keep elements 1-3 (1) of DEST.
/// </summary>
internal static unsafe partial class Fma
{
    /// <summary>The sign pattern of a mnemonic: negated product, negated addend, and for the alternating forms which elements subtract.</summary>
    private enum Kind
    {
        MultiplyAdd,
        MultiplySubtract,
        NegativeMultiplyAdd,
        NegativeMultiplySubtract,

        /// <summary>VFMADDSUB: even elements x·y − z, odd elements x·y + z.</summary>
        MultiplyAddSubtract,

        /// <summary>VFMSUBADD: even elements x·y + z, odd elements x·y − z.</summary>
        MultiplySubtractAdd,
    }

    private readonly record struct Shape(Kind Kind, int Order, bool Double, bool Scalar);

    private static readonly Dictionary<Mnemonic, Shape> Shapes = BuildShapes();

    public static void Register(HandlerTable.Registry r)
    {
        foreach (Mnemonic m in Shapes.Keys)
        {
            r.Add(m, &Run);
        }
    }

    [GeneratedRegex("^Vf(madd|msub|nmadd|nmsub|maddsub|msubadd)(132|213|231)(ps|pd|ss|sd)$")]
    private static partial Regex FmaName();

    private static Dictionary<Mnemonic, Shape> BuildShapes()
    {
        var shapes = new Dictionary<Mnemonic, Shape>();
        foreach (Mnemonic m in Enum.GetValues<Mnemonic>())
        {
            Match match = FmaName().Match(m.ToString());
            if (!match.Success)
            {
                continue;
            }

            Kind kind = match.Groups[1].Value switch
            {
                "madd" => Kind.MultiplyAdd,
                "msub" => Kind.MultiplySubtract,
                "nmadd" => Kind.NegativeMultiplyAdd,
                "nmsub" => Kind.NegativeMultiplySubtract,
                "maddsub" => Kind.MultiplyAddSubtract,
                _ => Kind.MultiplySubtractAdd,
            };
            string type = match.Groups[3].Value;
            shapes[m] = new Shape(kind, int.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), type[1] == 'd', type[0] == 's');
        }

        return shapes;
    }

    private static void Run(CpuCore cpu, ref Instruction ins)
    {
        cpu.CheckAvx();
        Shape shape = Shapes[ins.Mnemonic];
        Vector256<byte> dest = cpu.ReadVectorOp(ins, 0), src2 = cpu.ReadVectorOp(ins, 1), src3 = cpu.ReadVectorOp(ins, 2);
        (Vector256<byte> x, Vector256<byte> y, Vector256<byte> z) = shape.Order switch
        {
            132 => (dest, src3, src2),
            213 => (src2, dest, src3),
            _ => (src2, src3, dest),
        };
        int size = shape.Double ? 8 : 4;
        int count = shape.Scalar ? 1 : (CpuCore.IsYmm(ins.Op0Register) ? 32 : 16) / size;
        uint flags = 0, mxcsr = cpu.Mxcsr;
        Span<byte> r = stackalloc byte[32];
        r.Clear();
        if (shape.Scalar)
        {
            dest.GetLower().CopyTo(r);
        }

        for (int i = 0; i < count; i++)
        {
            (bool negateProduct, bool negateAddend) = Signs(shape.Kind, i);
            if (shape.Double)
            {
                double v = FusedMultiplyAdd.Double(x.AsDouble()[i], y.AsDouble()[i], z.AsDouble()[i], negateProduct, negateAddend, mxcsr, ref flags);
                BitConverter.TryWriteBytes(r[(8 * i)..], v);
            }
            else
            {
                float v = FusedMultiplyAdd.Single(x.AsSingle()[i], y.AsSingle()[i], z.AsSingle()[i], negateProduct, negateAddend, mxcsr, ref flags);
                BitConverter.TryWriteBytes(r[(4 * i)..], v);
            }
        }

        SimdForms.Commit(cpu, flags);
        cpu.WriteVectorRegister(ins, ins.Op0Register, Vector256.Create((ReadOnlySpan<byte>)r));
    }

    private static (bool NegateProduct, bool NegateAddend) Signs(Kind kind, int element) => kind switch
    {
        Kind.MultiplyAdd => (false, false),
        Kind.MultiplySubtract => (false, true),
        Kind.NegativeMultiplyAdd => (true, false),
        Kind.NegativeMultiplySubtract => (true, true),
        Kind.MultiplyAddSubtract => (false, (element & 1) == 0),
        _ => (false, (element & 1) != 0),
    };
}
