namespace Emulator.Jit.Translation;

/// <summary>Tunables of the translator, from the environment (for measurement and tests).</summary>
internal static class TranslatorSettings
{
    /// <summary>Bytes of host code each vCPU may hold before its cache is reset (EMU_JIT_CACHE_MB, default 64).</summary>
    public static long CacheBytes { get; } = (long)Math.Clamp(Number("EMU_JIT_CACHE_MB", 64), 1, 4096) << 20;

    /// <summary>
    /// Interpreted executions of a block before it is translated (EMU_JIT_THRESHOLD, default 8).
    /// Measured on a quiet 2-core host (linux-bench, two alternating rounds): 8 against 2 took a boot
    /// to /init from 6.7-7.1 s to 6.3-6.5 s (fewer blocks that run only a few times are translated)
    /// and left sha256, gzip and the shell loop within their noise.
    /// </summary>
    public static int Threshold { get; } = (int)Math.Clamp(Number("EMU_JIT_THRESHOLD", 8), 1, 1_000_000);

    /// <summary>
    /// Translate on a worker thread per vCPU (EMU_JIT_BACKGROUND=1; off by default). Measured on a
    /// quiet 2-core host, boots to /init: one sitting gave 5.91 s with it against 6.22 s without
    /// (two alternating rounds of two boots), the next 6.09 against 6.08 s, and linux-bench 6.35 s
    /// against 6.26 s; the vCPU thread uses 0.5-0.65 CPU s less, the process 0.6-0.8 s more. Not a
    /// robust gain on two cores, so the vCPU translates for itself unless asked.
    /// </summary>
    public static bool Background { get; } = Environment.GetEnvironmentVariable("EMU_JIT_BACKGROUND") switch
    {
        "0" => false,
        "1" => true,
        _ => false,
    };

    /// <summary>
    /// With a worker: executions after which a block still waiting for it is translated by the vCPU
    /// itself (EMU_JIT_IMPATIENCE, default 64).
    /// </summary>
    public static int Impatience { get; } = (int)Math.Clamp(Number("EMU_JIT_IMPATIENCE", 64), 1, 1_000_000);

    /// <summary>EMU_JIT_STATS=1 prints each vCPU's translation statistics when it ends.</summary>
    public static bool PrintStatistics { get; } = Environment.GetEnvironmentVariable("EMU_JIT_STATS") is "1" or "2" or "3";

    /// <summary>EMU_JIT_STATS=2 also counts, by mnemonic, the instructions translated code hands to the interpreter and those interpreted outside it.</summary>
    public static bool Profile { get; } = Environment.GetEnvironmentVariable("EMU_JIT_STATS") is "2" or "3";

    /// <summary>EMU_JIT_STATS=3 also lists the busiest helper call sites and where translated code returned to the dispatcher.</summary>
    public static bool ProfileSites { get; } = Environment.GetEnvironmentVariable("EMU_JIT_STATS") is "3";

    /// <summary>EMU_JIT_TRACE=1 says why blocks are not translated.</summary>
    public static bool Trace { get; } = Environment.GetEnvironmentVariable("EMU_JIT_TRACE") is "1";

    /// <summary>EMU_JIT_DUMP=FILE appends every translation (host address, guest code, host bytes) to FILE, for reading generated code.</summary>
    public static string? DumpFile { get; } = Environment.GetEnvironmentVariable("EMU_JIT_DUMP");

    /// <summary>
    /// Flags that are dead but may be seen by a fault are recomputed on the slow path instead of
    /// saved on the fast path (CodeGen/X86/X86Emitter.FlagReplay; EMU_JIT_REPLAY=0 turns it off).
    /// </summary>
    public static bool ReplayFlags { get; } = Environment.GetEnvironmentVariable("EMU_JIT_REPLAY") != "0";

    /// <summary>
    /// Loads check a TLB entry of their own site first (Memory/SoftTlb.Sites; EMU_JIT_SITES=1; off
    /// by default). Measured on the 2-core Intel host: a boot to /init used 5.04 vCPU-s with them
    /// against 5.31 without (10 alternating pairs), but a busybox shell loop spent 4.6% of its time
    /// in site misses (pointer-chasing loads whose page changes every time) and was slower in 6 of 8
    /// pairs, and the linux-bench sittings disagreed with each other. Not a robust gain yet.
    /// </summary>
    public static bool LoadSites { get; } = Environment.GetEnvironmentVariable("EMU_JIT_SITES") == "1";

    private static long Number(string name, long fallback) =>
        long.TryParse(Environment.GetEnvironmentVariable(name), out long v) ? v : fallback;
}
