using Emulator.Machines.Pc;

namespace Emulator.Control.Guest;

/// <summary>Where a running guest's kernel symbols come from.</summary>
public enum KallsymsSource
{
    /// <summary>Guest memory, and the --kernel bzImage when memory has none.</summary>
    Auto,

    /// <summary>Only guest memory (<see cref="KallsymsFinder"/>).</summary>
    Memory,

    /// <summary>Only the bzImage given with --kernel (<see cref="KernelImageSymbols"/>), moved by KASLR's offset.</summary>
    Kernel,
}

/// <summary>
/// The kernel symbols of one machine, found on first use and kept until the machine resets (a new
/// boot may place the kernel elsewhere): from guest memory, or from the bzImage the machine was
/// started with (decompressed once; only its KASLR offset is found again after a reset). A failed
/// search is not kept: the kernel may simply not have booted yet.
/// </summary>
public sealed class KernelSymbolCache
{
    private readonly PcMachine _machine;
    private readonly Lock _lock = new();
    private KernelSymbols? _memory;
    private KernelSymbols? _relocated;
    private KernelImageSymbols? _image;
    // Counts resets, so that a KASLR offset found across one is not kept.
    private int _boots;

    /// <summary>Watches <paramref name="machine"/>'s resets.</summary>
    public KernelSymbolCache(PcMachine machine)
    {
        _machine = machine;
        machine.EventRaised += e =>
        {
            if (e.Kind == MachineEventKind.Reset)
            {
                lock (_lock)
                {
                    (_memory, _relocated) = (null, null);
                    _boots++;
                }
            }
        };
    }

    /// <summary>
    /// The symbols from <paramref name="source"/>, and in <paramref name="origin"/> where they came
    /// from ("guest memory", or the bzImage and the KASLR offset); or null with the reason.
    /// </summary>
    public KernelSymbols? Get(KallsymsSource source, out string why, out string origin)
    {
        why = origin = string.Empty;
        if (source != KallsymsSource.Kernel)
        {
            origin = "guest memory";
            lock (_lock)
            {
                _memory ??= KallsymsFinder.Find(_machine.Platform.Memory, out why);
                if (_memory is not null || source == KallsymsSource.Memory)
                {
                    return _memory;
                }
            }
        }

        string memoryWhy = why;
        KernelSymbols? relocated = FromKernelImage(out why, out origin);
        if (relocated is null && source == KallsymsSource.Auto)
        {
            why = $"{memoryWhy}; {why}";
        }

        return relocated;
    }

    // Not under the lock while it waits for the machine thread (ReadVcpuState), whose reset event takes the lock.
    private KernelSymbols? FromKernelImage(out string why, out string origin)
    {
        origin = string.Empty;
        if (_machine.KernelPath is not { } path)
        {
            why = "the guest was not started with --kernel";
            return null;
        }

        KernelImageSymbols image;
        KernelSymbols? relocated;
        int boot;
        try
        {
            lock (_lock)
            {
                image = _image ??= KernelImageSymbols.Read(path);
                relocated = _relocated;
                boot = _boots;
            }
        }
        catch (InvalidDataException e)
        {
            why = e.Message;
            return null;
        }

        why = string.Empty;
        relocated ??= image.Relocate(_machine.Platform.Memory, _machine.ReadVcpuState(0), out why);
        if (relocated is null)
        {
            return null;
        }

        lock (_lock)
        {
            if (_boots == boot)
            {
                _relocated = relocated;
            }
        }

        origin = $"{path} (KASLR offset 0x{relocated.RelativeBase - image.Linked.RelativeBase:x})";
        return relocated;
    }
}
