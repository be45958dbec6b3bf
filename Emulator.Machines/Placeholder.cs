namespace Emulator.Machines; internal static class Placeholder { }
