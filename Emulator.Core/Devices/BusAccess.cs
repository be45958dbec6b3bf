namespace Emulator.Core.Devices;

/// <summary>Splits an access a device cannot take whole into widths it accepts (shared by both buses).</summary>
internal static class BusAccess
{
    public static void Read(IBusDevice device, ulong offset, Span<byte> data)
    {
        if (Supports(device, data.Length))
        {
            device.Read(offset, data);
            return;
        }

        int step = LargestPiece(device, data.Length);
        for (int i = 0; i < data.Length; i += step)
        {
            device.Read(offset + (ulong)i, data.Slice(i, step));
        }
    }

    public static void Write(IBusDevice device, ulong offset, ReadOnlySpan<byte> data)
    {
        if (Supports(device, data.Length))
        {
            device.Write(offset, data);
            return;
        }

        int step = LargestPiece(device, data.Length);
        for (int i = 0; i < data.Length; i += step)
        {
            device.Write(offset + (ulong)i, data.Slice(i, step));
        }
    }

    private static bool Supports(IBusDevice device, int length) =>
        length is 1 or 2 or 4 or 8 && (device.SupportedSizes & (AccessSizes)length) != 0;

    private static int LargestPiece(IBusDevice device, int length)
    {
        for (int size = 8; size > 1; size >>= 1)
        {
            if (size < length && length % size == 0 && (device.SupportedSizes & (AccessSizes)size) != 0)
            {
                return size;
            }
        }

        return 1;
    }
}
