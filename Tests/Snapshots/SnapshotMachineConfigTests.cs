using System.Text;
using System.Text.Json.Nodes;
using Emulator.Machines.Pc;
using Emulator.Machines.Smbios;
using Emulator.Machines.Snapshots;
using Xunit;

namespace Emulator.Tests.Snapshots;

/// <summary>
/// The SMBIOS settings in a snapshot's "machine" section: a restore builds the machine with the same
/// settings (so the guest finds the same tables after it reboots, from fw_cfg or from emu), loading a
/// snapshot into a machine with other settings is refused, and a version 1 section (written before
/// they were recorded) reads as a machine without --smbios.
/// </summary>
public sealed class SnapshotMachineConfigTests
{
    private static readonly string[] Specs =
    [
        "type=0,vendor=Test BIOS Vendor,date=07/14/2021,release=4.2",
        "type=1,manufacturer=Acme,, Inc.,product=Road Runner 3000,uuid=12345678-9abc-def0-1122-334455667788",
    ];

    private static PcConfig Config(params string[] specs) => new() { Smbios = specs.Aggregate(new SmbiosSettings(), SmbiosOption.Apply) };

    private static SnapshotMachineConfig Saved(PcConfig config) =>
        SnapshotMachineConfig.Parse(SnapshotMachineConfig.Of(config, "jit").ToJson(), SnapshotMachineConfig.Version);

    [Fact]
    public void ARestoredMachineHasTheSmbiosSettingsOfTheSavedOne()
    {
        PcConfig config = Config(Specs);
        PcConfig restored = Saved(config).Apply(new PcConfig(), firmware: null, vgaBios: null);
        Assert.Equal(config.Smbios, restored.Smbios);
        Assert.Equal("Acme, Inc.", restored.Smbios.Manufacturer);
        Assert.Null(Saved(config).ShapeDifference(SnapshotMachineConfig.Of(restored, "kvm")));
    }

    [Fact]
    public void LoadingIntoAMachineWithOtherSmbiosSettingsIsRefused()
    {
        string? why = Saved(Config(Specs)).ShapeDifference(SnapshotMachineConfig.Of(Config("type=1,product=Other"), "jit"));
        Assert.Equal($"the snapshot's machine has SMBIOS settings {string.Join(", ", SmbiosOption.Specs(Config(Specs).Smbios))}, this one type=1,product=Other", why);
        Assert.Contains("this one none", Saved(Config("type=1,product=Other")).ShapeDifference(SnapshotMachineConfig.Of(new PcConfig(), "jit")), StringComparison.Ordinal);
    }

    [Fact]
    public void AVersion1SectionIsAMachineWithoutSmbiosSettings()
    {
        JsonObject json = JsonNode.Parse(SnapshotMachineConfig.Of(Config(Specs), "jit").ToJson())!.AsObject();
        json.Remove("smbios");
        SnapshotMachineConfig v1 = SnapshotMachineConfig.Parse(Encoding.UTF8.GetBytes(json.ToJsonString()), 1);
        Assert.Empty(v1.Smbios);
        Assert.Equal(new SmbiosSettings(), v1.Apply(new PcConfig(), null, null).Smbios);
        Assert.Throws<InvalidDataException>(() => SnapshotMachineConfig.Parse(Encoding.UTF8.GetBytes(json.ToJsonString()), SnapshotMachineConfig.Version));
    }

    [Fact]
    public void ABadSmbiosValueInTheSectionCannotBeSetUp()
    {
        JsonObject json = JsonNode.Parse(SnapshotMachineConfig.Of(new PcConfig(), "jit").ToJson())!.AsObject();
        json["smbios"] = new JsonArray("type=1,uuid=nope");
        SnapshotMachineConfig saved = SnapshotMachineConfig.Parse(Encoding.UTF8.GetBytes(json.ToJsonString()), SnapshotMachineConfig.Version);
        FormatException e = Assert.Throws<FormatException>(() => saved.Apply(new PcConfig(), null, null));
        Assert.Contains("SMBIOS setting 'type=1,uuid=nope'", e.Message, StringComparison.Ordinal);
    }
}
