using SparkControl.Core.Hosts;

namespace SparkControl.Tests.Core;

/// <summary>apt-get's simulation and fwupdmgr's JSON, read from captured-style output and from the ugly neighbours.</summary>
public sealed class HostUpdatesParsersTests
{
    private static string Fixture(string path) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", path));

    [Fact]
    public void AptParse_FullUpgradeSimulation_ListsRemovalsAndUpgradesWithVersions()
    {
        var simulation = AptSimulation.Parse(Fixture("apt/full-upgrade-sim.txt"));

        Assert.Equal(
            [new AptPackageChange("nvidia-dkms-570-open", "570.172.08-0ubuntu1", null), new AptPackageChange("libnvidia-compute-570:arm64", "570.172.08-0ubuntu1", null)],
            simulation.Removals);
        Assert.Equal(["libc6", "libstdc++6", "libnvidia-compute-580", "linux-image-6.11.0-1016-nvidia", "nvidia-container-toolkit", "python3.12"], simulation.Upgrades.Select(u => u.Package));
        Assert.Equal(new AptPackageChange("libstdc++6", "14.2.0-4ubuntu2~24.04", "14.2.0-4ubuntu2~24.04.1"), simulation.Upgrades[1]);
        // A new package has no version now.
        Assert.Equal(new AptPackageChange("libnvidia-compute-580", null, "580.95.05-0ubuntu1"), simulation.Upgrades[2]);
    }

    [Fact]
    public void AptParse_NoRemvLines_HasNoRemovals()
    {
        var simulation = AptSimulation.Parse(Fixture("apt/upgrade-sim-no-removals.txt"));

        Assert.Empty(simulation.Removals);
        Assert.Equal([new AptPackageChange("g++-13", "13.3.0-6ubuntu2~24.04", "13.3.0-6ubuntu2~24.04.1"), new AptPackageChange("libgtk-3-0t64", "3.24.41-4ubuntu1.2", "3.24.41-4ubuntu1.3")], simulation.Upgrades);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n\n")]
    [InlineData("0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.")]
    [InlineData("Inst")]
    [InlineData("Inst ")]
    [InlineData("Remv \t")]
    [InlineData("Installing libc6")]
    [InlineData("Remvoving libc6")]
    [InlineData(" Inst libc6 [1] (2 x)")]
    [InlineData("inst libc6 [1] (2 x)")]
    [InlineData("Inst [1] (2 x)")]
    [InlineData("Remv (oops)")]
    [InlineData("E: Unable to locate package nothing")]
    [InlineData("\u001b[31mInst\u001b[0m libc6")]
    public void AptParse_EmptyOrGarbage_FindsNothing(string output)
    {
        Assert.Equal(AptSimulation.Empty, AptSimulation.Parse(output), new SimulationComparer());
    }

    [Fact]
    public void AptParse_UpToDate_FindsNothing()
    {
        var simulation = AptSimulation.Parse(Fixture("apt/up-to-date-sim.txt"));

        Assert.Empty(simulation.Upgrades);
        Assert.Empty(simulation.Removals);
    }

    [Theory]
    [InlineData("Remv libstdc++6 [14.2.0-4ubuntu2~24.04]", "libstdc++6", "14.2.0-4ubuntu2~24.04")]
    [InlineData("Remv python3.12-venv [3.12.3-1ubuntu0.7]", "python3.12-venv", "3.12.3-1ubuntu0.7")]
    [InlineData("Remv libgl1-mesa-dri:arm64 [24.2.8-1ubuntu1~24.04.1] []", "libgl1-mesa-dri:arm64", "24.2.8-1ubuntu1~24.04.1")]
    [InlineData("Remv oddpkg", "oddpkg", null)]
    [InlineData("Remv crlf-pkg [1.0]\r", "crlf-pkg", "1.0")]
    public void AptParse_RemvLine_KeepsTheNameWithPlusDotAndArch(string line, string package, string? version)
    {
        var simulation = AptSimulation.Parse("Reading package lists...\n" + line + "\ngarbage ]][[ (\n");

        Assert.Equal(new AptPackageChange(package, version, null), Assert.Single(simulation.Removals));
        Assert.Empty(simulation.Upgrades);
    }

    [Fact]
    public void FirmwareParse_GetUpdatesJson_ListsDevicesWithReleases_NewestFirst()
    {
        var updates = FirmwareUpdates.Parse(0, Fixture("fwupdmgr/get-updates.json"), string.Empty);

        Assert.Equal(
        [
            new FirmwareUpdate("System Firmware", "NVIDIA", "0x01000a00", "0x01000b00", "Firmware for the NVIDIA DGX Spark"),
            new FirmwareUpdate("Samsung SSD 990 PRO 4TB", "Samsung Electronics Co Ltd", "4B2QJXD7", "7B2QJXD7", "Firmware for Samsung 990 PRO NVMe SSDs"),
        ], updates);
    }

    [Theory]
    [InlineData(2, "No updates available\n", "")]
    [InlineData(2, "", "No updatable devices\n")]
    [InlineData(2, "{\"Devices\" : []}", "")]
    [InlineData(0, "{\n  \"Devices\" : [ ]\n}\n", "")]
    [InlineData(0, "", "")]
    [InlineData(0, "{}", "")]
    [InlineData(0, "[]", "")]
    [InlineData(0, "{\"Devices\": [ {\"Name\": \"Only name\"}, 7, null, {\"Releases\": \"no\"} ]}", "")]
    public void FirmwareParse_NothingToDoOrNoReleases_IsZeroPending(int exitCode, string stdout, string stderr)
    {
        Assert.Empty(FirmwareUpdates.Parse(exitCode, stdout, stderr));
    }

    [Fact]
    public void FirmwareParse_DeviceWithoutName_IsNamedByItsIdOrAsUnnamed()
    {
        var updates = FirmwareUpdates.Parse(0, """{"Devices": [ {"DeviceId": "abc", "Releases": [ {"Version": "2"} ]}, {"Releases": [ {} ]} ]}""", string.Empty);

        Assert.Equal([new FirmwareUpdate("abc", null, null, "2", null), new FirmwareUpdate("unnamed device", null, null, null, null)], updates);
    }

    [Theory]
    [InlineData(1, "", "Failed to connect to daemon: Could not connect: No such file or directory\n", "Failed to connect to daemon")]
    [InlineData(127, "", "sh: 1: fwupdmgr: not found\n", "fwupdmgr: not found")]
    [InlineData(0, "WARNING: UEFI capsule updates not available or enabled\nnot json", "", "not json")]
    [InlineData(0, "{\"Devices\": [", "", "{\"Devices\": [")]
    public void FirmwareParse_FailureOrGarbage_ThrowsWithItsLastLine(int exitCode, string stdout, string stderr, string expected)
    {
        var error = Assert.Throws<FormatException>(() => FirmwareUpdates.Parse(exitCode, stdout, stderr));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Commands_AreArgvLists_WithTheFlagsThatKeepThemFromAsking()
    {
        Assert.Equal(["apt-get", "-s", "full-upgrade"], HostChecks.Command(HostCheck.AptFullUpgradeSimulation));
        Assert.Equal(["fwupdmgr", "get-updates", "--json", "--no-metadata-check", "--no-unreported-check"], HostChecks.Command(HostCheck.FirmwareUpdates));
        Assert.Equal(["sudo", "-n", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-y", "full-upgrade"], HostActionNames.Command(HostAction.AptFullUpgrade));
        Assert.Equal(["sudo", "-n", "fwupdmgr", "update", "-y", "--no-reboot-check", "--no-unreported-check"], HostActionNames.Command(HostAction.FirmwareUpdate));
        Assert.All(HostActionNames.All, a => Assert.Equal(a, HostActionNames.Parse(a.ToRoute())));
        Assert.True(HostAction.AptFullUpgrade.RunsDetached() && HostAction.FirmwareUpdate.RunsDetached());
        Assert.Contains("/usr/bin/fwupdmgr update -y --no-reboot-check --no-unreported-check", HostActionNames.SudoHelp("nvidia"), StringComparison.Ordinal);
    }

    /// <summary>Records holding lists compare by reference; two simulations are equal when their lists are.</summary>
    private sealed class SimulationComparer : IEqualityComparer<AptSimulation>
    {
        public bool Equals(AptSimulation? x, AptSimulation? y) => x!.Upgrades.SequenceEqual(y!.Upgrades) && x.Removals.SequenceEqual(y.Removals);

        public int GetHashCode(AptSimulation obj) => 0;
    }
}
