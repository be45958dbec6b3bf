using Emulator.Core.Machine;
using Emulator.Kvm;
using Xunit;

namespace Emulator.Tests.Kvm;

/// <summary>What a user sees when KVM cannot be used: one line naming the device and the remedy, never a stack trace.</summary>
public sealed class KvmAcceleratorErrorTests
{
    [Fact]
    public void AMissingDeviceIsAKvmExceptionNamingIt()
    {
        using var platform = new MachinePlatform(deterministicTime: true);

        KvmException e = Assert.Throws<KvmException>(() => new KvmAccelerator(platform, devicePath: "/nonexistent/kvm"));

        Assert.Contains("/nonexistent/kvm does not exist", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void ADeviceThatIsNotKvmIsRefusedWithTheCallThatFailed()
    {
        using var platform = new MachinePlatform(deterministicTime: true);

        // /dev/null opens read-write but answers no KVM ioctl.
        KvmException e = Assert.Throws<KvmException>(() => new KvmAccelerator(platform, devicePath: "/dev/null"));

        Assert.Contains("KVM_GET_API_VERSION failed on /dev/null", e.Message, StringComparison.Ordinal);
    }
}
