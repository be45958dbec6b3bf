namespace Emulator.Jit; internal static class Placeholder { }
