namespace Emulator.Core.Devices;

/// <summary>Something on the machine with state that is reset and can be saved and restored.</summary>
public interface IDevice
{
    /// <summary>A short stable name, used in saved state and messages (e.g. "uart16550@0x3f8").</summary>
    string Name { get; }

    /// <summary>Returns the device to its power-on state.</summary>
    void Reset();

    /// <summary>Captures the device's guest-visible state.</summary>
    DeviceState Save();

    /// <summary>Restores state captured by <see cref="Save"/>; throws <see cref="InvalidDataException"/> on a version it does not know.</summary>
    void Restore(DeviceState state);
}

/// <summary>Versioned opaque state of one device.</summary>
/// <param name="Name">The device's <see cref="IDevice.Name"/>.</param>
/// <param name="Version">Format version of <paramref name="Data"/>.</param>
/// <param name="Data">The serialized state.</param>
public sealed record DeviceState(string Name, int Version, byte[] Data);
