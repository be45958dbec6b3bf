using System.Buffers.Binary;
using System.Text;

namespace Emulator.Machines.Smbios;

/// <summary>
/// One SMBIOS structure being built (DMTF DSP0134 6.1.2, 6.1.3): a formatted area that starts with
/// the header (type, length of the formatted area, handle), then the string-set, each string NUL
/// terminated, the set ended by a second NUL. A string field holds the 1-based number of its string
/// in the set, or 0 for "no string"; a structure without strings ends in two NULs.
/// </summary>
public sealed class SmbiosStructure
{
    private readonly byte[] _formatted;
    private readonly List<string> _strings = [];

    /// <summary>Starts a structure of <paramref name="type"/> whose formatted area is <paramref name="length"/> bytes.</summary>
    public SmbiosStructure(byte type, byte length, ushort handle)
    {
        _formatted = new byte[length];
        _formatted[0] = type;
        _formatted[1] = length;
        BinaryPrimitives.WriteUInt16LittleEndian(_formatted.AsSpan(2), handle);
    }

    /// <summary>The structure's type.</summary>
    public byte Type => _formatted[0];

    /// <summary>The structure's handle.</summary>
    public ushort Handle => BinaryPrimitives.ReadUInt16LittleEndian(_formatted.AsSpan(2));

    /// <summary>Sets the BYTE at <paramref name="offset"/>.</summary>
    public SmbiosStructure Byte(int offset, byte value)
    {
        _formatted[offset] = value;
        return this;
    }

    /// <summary>Sets the WORD at <paramref name="offset"/>.</summary>
    public SmbiosStructure Word(int offset, ushort value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(_formatted.AsSpan(offset), value);
        return this;
    }

    /// <summary>Sets the DWORD at <paramref name="offset"/>.</summary>
    public SmbiosStructure DWord(int offset, uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_formatted.AsSpan(offset), value);
        return this;
    }

    /// <summary>Sets the QWORD at <paramref name="offset"/>.</summary>
    public SmbiosStructure QWord(int offset, ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_formatted.AsSpan(offset), value);
        return this;
    }

    /// <summary>Copies <paramref name="bytes"/> to <paramref name="offset"/>.</summary>
    public SmbiosStructure Bytes(int offset, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(_formatted.AsSpan(offset));
        return this;
    }

    /// <summary>Adds <paramref name="value"/> to the string-set and points the field at <paramref name="offset"/> to it; null or empty leaves the field 0.</summary>
    public SmbiosStructure String(int offset, string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            _formatted[offset] = 0;
            return this;
        }

        _strings.Add(value);
        _formatted[offset] = (byte)_strings.Count;
        return this;
    }

    /// <summary>The formatted area followed by the string-set.</summary>
    public byte[] ToArray()
    {
        var bytes = new List<byte>(_formatted);
        foreach (string s in _strings)
        {
            bytes.AddRange(Encoding.ASCII.GetBytes(s));
            bytes.Add(0);
        }

        if (_strings.Count == 0)
        {
            bytes.Add(0);
        }

        bytes.Add(0);
        return [.. bytes];
    }
}
