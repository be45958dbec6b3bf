using System.Buffers.Binary;
using System.Text;

namespace Emulator.Machines.Acpi;

/// <summary>
/// The few AML encodings emu's DSDT needs (ACPI 6.5 chapter 20, "ACPI Machine Language
/// Specification"): names, integers, packages, buffers, scopes and devices, each returned as bytes.
/// </summary>
public static class Aml
{
    /// <summary>Opcodes and prefixes (ACPI 6.5 20.2).</summary>
    public const byte ZeroOp = 0x00, OneOp = 0x01, NameOp = 0x08, BytePrefix = 0x0a, WordPrefix = 0x0b, DWordPrefix = 0x0c,
        ScopeOp = 0x10, BufferOp = 0x11, PackageOp = 0x12, ExtOpPrefix = 0x5b, DeviceOp = 0x82, RootChar = 0x5c;

    /// <summary>A NameSeg: four characters, padded with '_' (20.2.2).</summary>
    public static byte[] NameSeg(string name) =>
        name.Length is < 1 or > 4 ? throw new ArgumentException($"'{name}' is not a 1-4 character NameSeg", nameof(name)) : Encoding.ASCII.GetBytes(name.PadRight(4, '_'));

    /// <summary>The smallest encoding of an integer constant (20.2.3: ZeroOp, OneOp, then byte, word, dword prefixes).</summary>
    public static byte[] Integer(uint value) => value switch
    {
        0 => [ZeroOp],
        1 => [OneOp],
        <= 0xff => [BytePrefix, (byte)value],
        <= 0xffff => [WordPrefix, (byte)value, (byte)(value >> 8)],
        _ => [DWordPrefix, (byte)value, (byte)(value >> 8), (byte)(value >> 16), (byte)(value >> 24)],
    };

    /// <summary><c>Name (name, data)</c> (20.2.5.1 DefName).</summary>
    public static byte[] Name(string name, byte[] data) => [NameOp, .. NameSeg(name), .. data];

    /// <summary><c>Package (n) { elements }</c> (20.2.5.4 DefPackage).</summary>
    public static byte[] Package(params byte[][] elements)
    {
        byte[] body = [(byte)elements.Length, .. elements.SelectMany(e => e)];
        return elements.Length > 255 ? throw new ArgumentException("more than 255 package elements") : [PackageOp, .. PkgLength(body.Length), .. body];
    }

    /// <summary><c>Buffer () { bytes }</c> (20.2.5.4 DefBuffer: PkgLength, BufferSize, the bytes).</summary>
    public static byte[] Buffer(byte[] bytes)
    {
        byte[] body = [.. Integer((uint)bytes.Length), .. bytes];
        return [BufferOp, .. PkgLength(body.Length), .. body];
    }

    /// <summary><c>Scope (\name) { terms }</c> for a name in the root (20.2.5.1 DefScope).</summary>
    public static byte[] RootScope(string name, params byte[][] terms)
    {
        byte[] body = [RootChar, .. NameSeg(name), .. terms.SelectMany(t => t)];
        return [ScopeOp, .. PkgLength(body.Length), .. body];
    }

    /// <summary><c>Device (name) { terms }</c> (20.2.5.2 DefDevice).</summary>
    public static byte[] Device(string name, params byte[][] terms)
    {
        byte[] body = [.. NameSeg(name), .. terms.SelectMany(t => t)];
        return [ExtOpPrefix, DeviceOp, .. PkgLength(body.Length), .. body];
    }

    /// <summary>
    /// A compressed EISA ID such as "PNP0A03" as the DWord AML integer that <c>EisaId()</c> produces
    /// (ACPI 6.5 6.1.5 _HID): three letters of five bits each and four hex digits, stored big-endian.
    /// </summary>
    public static byte[] EisaId(string id)
    {
        if (id.Length != 7 || !id[..3].All(c => c is >= 'A' and <= 'Z'))
        {
            throw new ArgumentException($"'{id}' is not an EISA ID (three capitals, four hex digits)", nameof(id));
        }

        uint vendor = (uint)(((id[0] - 0x40) << 10) | ((id[1] - 0x40) << 5) | (id[2] - 0x40));
        uint value = (vendor << 16) | Convert.ToUInt32(id[3..], 16);
        return Integer(BinaryPrimitives.ReverseEndianness(value));
    }

    /// <summary>
    /// PkgLength (20.2.4): the length of what follows plus the encoding's own bytes; one byte up to 63,
    /// else a lead byte holding the count of extra bytes and the low nibble, then the rest 8 bits at a time.
    /// </summary>
    public static byte[] PkgLength(int bodyLength)
    {
        if (bodyLength + 1 <= 0x3f)
        {
            return [(byte)(bodyLength + 1)];
        }

        for (int extra = 1; extra <= 3; extra++)
        {
            int total = bodyLength + 1 + extra;
            if (total < 1 << (4 + (8 * extra)))
            {
                byte[] b = new byte[1 + extra];
                b[0] = (byte)((extra << 6) | (total & 0xf));
                for (int i = 1; i <= extra; i++)
                {
                    b[i] = (byte)(total >> (4 + (8 * (i - 1))));
                }

                return b;
            }
        }

        throw new ArgumentException($"{bodyLength} bytes is too long for a PkgLength");
    }
}
