namespace Emulator.Devices.Ide;

/// <summary>
/// A drive on an <see cref="IdeChannel"/>: an ATA disk or an ATAPI CD-ROM. The channel holds the
/// task file and moves the data; the drive decides what a command means.
/// </summary>
public interface IIdeDevice : IDisposable
{
    /// <summary>True for a packet (ATAPI) device.</summary>
    bool IsAtapi { get; }

    /// <summary>Starts <paramref name="command"/> written to the Command register while this drive was selected.</summary>
    void Execute(IdeChannel channel, byte command);

    /// <summary>Returns to the power-on state of the drive's own (non task file) settings.</summary>
    void Reset();
}
