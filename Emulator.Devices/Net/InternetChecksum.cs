using System.Buffers.Binary;

namespace Emulator.Devices.Net;

/// <summary>
/// The Internet checksum (RFC 1071): the ones' complement of the ones' complement sum of the data
/// as big-endian 16-bit words, an odd last byte padded with zero. IPv4, TCP, UDP and ICMP use it.
/// </summary>
public static class InternetChecksum
{
    /// <summary>The ones' complement sum of <paramref name="data"/> added to <paramref name="initial"/>, folded to 16 bits (not complemented).</summary>
    public static ushort Sum(ReadOnlySpan<byte> data, ushort initial = 0)
    {
        // RFC 1071 §2 (B): the sum is independent of byte order and may be taken in wider words
        // and folded at the end; 32-bit big-endian words summed in 64 bits cannot overflow here.
        ulong sum = initial;
        int i = 0;
        for (; i + 4 <= data.Length; i += 4)
        {
            sum += BinaryPrimitives.ReadUInt32BigEndian(data[i..]);
        }

        if (i + 2 <= data.Length)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
            i += 2;
        }

        if (i < data.Length)
        {
            sum += (ulong)data[i] << 8;
        }

        while ((sum >> 16) != 0)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }

        return (ushort)sum;
    }

    /// <summary>The checksum to store: the complement of <see cref="Sum"/>.</summary>
    public static ushort Compute(ReadOnlySpan<byte> data, ushort initial = 0) => (ushort)~Sum(data, initial);
}
