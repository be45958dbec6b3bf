namespace Emulator.Fuzzing;

/// <summary>One fuzzing run: the seed, how many operations, the machine, and the known program run afterwards.</summary>
public sealed record DeviceFuzzSettings
{
    /// <summary>Seeds every choice; the same seed and settings make the same accesses in the same order.</summary>
    public required int Seed { get; init; }

    /// <summary>Operations (short bursts of accesses to one device) to make.</summary>
    public long Operations { get; init; } = 10_000;

    /// <summary>
    /// A firmware image that reports through the debug-exit port (a Roms/tests ROM): after the
    /// fuzzing the machine is reset, as a guest that reboots would, and must run it to
    /// <see cref="KnownProgramExitStatus"/>.
    /// </summary>
    public required byte[] KnownProgram { get; init; }

    /// <summary>The exit status the known program gives on a healthy machine.</summary>
    public required int KnownProgramExitStatus { get; init; }

    /// <summary>How long the known program may take (wall clock).</summary>
    public TimeSpan KnownProgramTimeLimit { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>vCPUs (local APICs) of the machine.</summary>
    public int Cpus { get; init; } = 2;

    /// <summary>A raw disk image (a multiple of 512 bytes) for a virtio-blk device, which the guest will scribble on; null for none.</summary>
    public string? ScratchDisk { get; init; }

    /// <summary>Where each guest error goes as a line (the machine's guest error log), or null to count only.</summary>
    public TextWriter? GuestErrorSink { get; init; }

    /// <summary>An operation that takes longer than this (wall clock) is reported as a hang.</summary>
    public TimeSpan StallLimit { get; init; } = TimeSpan.FromSeconds(30);
}
