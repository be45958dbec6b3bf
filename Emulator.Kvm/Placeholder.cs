namespace Emulator.Kvm; internal static class Placeholder { }
