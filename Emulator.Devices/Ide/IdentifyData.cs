using System.Buffers.Binary;

namespace Emulator.Devices.Ide;

/// <summary>
/// The 256 words of IDENTIFY DEVICE / IDENTIFY PACKET DEVICE data (ATA/ATAPI-6 8.15, 8.16), built
/// word by word. Strings are ASCII, two characters per word with the first in the high byte, padded
/// with spaces (8.15.6 "ATA string convention").
/// </summary>
public sealed class IdentifyData
{
    /// <summary>Size in bytes.</summary>
    public const int Size = 512;

    private readonly ushort[] _words = new ushort[256];

    /// <summary>Word <paramref name="index"/>.</summary>
    public ushort this[int index]
    {
        get => _words[index];
        set => _words[index] = value;
    }

    /// <summary>Stores <paramref name="value"/> in the words from <paramref name="first"/>, <paramref name="chars"/> characters, space padded.</summary>
    public void SetString(int first, int chars, string value)
    {
        string padded = value.Length >= chars ? value[..chars] : value.PadRight(chars);
        for (int i = 0; i < chars; i += 2)
        {
            _words[first + (i / 2)] = (ushort)((padded[i] << 8) | padded[i + 1]);
        }
    }

    /// <summary>Stores a 32-bit value in two words, low word first.</summary>
    public void SetDword(int first, uint value)
    {
        _words[first] = (ushort)value;
        _words[first + 1] = (ushort)(value >> 16);
    }

    /// <summary>Stores a 64-bit value in four words, lowest first.</summary>
    public void SetQword(int first, ulong value)
    {
        for (int i = 0; i < 4; i++)
        {
            _words[first + i] = (ushort)(value >> (16 * i));
        }
    }

    /// <summary>The words as the host reads them from the data register (little-endian).</summary>
    public void CopyTo(Span<byte> destination)
    {
        for (int i = 0; i < _words.Length; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(destination[(2 * i)..], _words[i]);
        }
    }
}
