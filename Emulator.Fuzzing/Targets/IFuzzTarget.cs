namespace Emulator.Fuzzing.Targets;

/// <summary>One device (or one family of accesses) the fuzzer attacks; a step is a short burst of guest accesses.</summary>
internal interface IFuzzTarget
{
    /// <summary>Name for the report.</summary>
    string Name { get; }

    /// <summary>Makes one burst of accesses through <paramref name="guest"/>.</summary>
    void Step(FuzzGuest guest);
}
