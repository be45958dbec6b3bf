using Emulator.Backends.Chardev;
using Xunit;

namespace Emulator.Tests.Serial;

public sealed class SerialBackendSpecTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("emu-spec-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData("foo")]
    [InlineData("tcp:4444")]
    [InlineData("STDIO")]
    [InlineData("stdio:x")]
    public void UnknownBackendIsNamed(string value)
    {
        var e = Assert.Throws<ArgumentException>(() => SerialBackendSpec.Parse(value, () => { }));

        Assert.Equal($"--serial: unknown backend '{value}' (expected stdio, file:PATH, unix:PATH or null)", e.Message);
    }

    [Theory]
    [InlineData("file:")]
    [InlineData("unix:")]
    public void MissingPathIsReported(string value)
    {
        var e = Assert.Throws<ArgumentException>(() => SerialBackendSpec.Parse(value, () => { }));

        Assert.Equal($"--serial: '{value}' has no path (expected {value}PATH)", e.Message);
    }

    [Fact]
    public void EmptyValueIsReported()
    {
        var e = Assert.Throws<ArgumentException>(() => SerialBackendSpec.Parse("", () => { }));

        Assert.StartsWith("--serial: empty value", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnopenableFileIsReportedWithTheValue()
    {
        string value = "file:" + Path.Combine(_directory, "missing", "log");

        var e = Assert.Throws<ArgumentException>(() => SerialBackendSpec.Parse(value, () => { }));

        Assert.StartsWith($"--serial: cannot open '{value}': ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EachKindMakesItsBackend()
    {
        using (var b = SerialBackendSpec.Parse("null", () => { }))
        {
            Assert.IsType<NullSerialBackend>(b);
        }

        using (var b = SerialBackendSpec.Parse("stdio", () => { }))
        {
            Assert.IsType<StdioSerialBackend>(b);
        }

        using (var b = SerialBackendSpec.Parse("file:" + Path.Combine(_directory, "log"), () => { }))
        {
            Assert.IsType<FileSerialBackend>(b);
        }

        using (var b = SerialBackendSpec.Parse("unix:" + Path.Combine(_directory, "sock"), () => { }))
        {
            Assert.IsType<UnixSocketSerialBackend>(b);
        }
    }
}
