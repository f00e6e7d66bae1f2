using Microsoft.Extensions.Time.Testing;
using SparkControl.Core.Audit;
using SparkControl.Core.Hosts;
using SparkControl.Core.Maintenance;
using SparkControl.Core.Sparks;
using SparkControl.Core.Storage;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Core;

/// <summary>Pending counts from a fake host's check outputs, and the last runs from the real audit log.</summary>
public sealed class HostUpdatesReaderTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));
    private readonly TempDirectory _data = new();
    private readonly FakeSparkHost _host = new("spark-1");
    private readonly SparkControlStore _store;
    private readonly AuditLog _audit;
    private readonly HostUpdatesReader _reader;

    public HostUpdatesReaderTests()
    {
        _store = TestStores.Open(_data.Path);
        _audit = new AuditLog(_store, _time);
        var fleet = new SparkFleet(_time);
        fleet.Publish(new FleetConfiguration([new SparkEntry(new SparkDefinition { Name = "spark-1", Host = "h", User = "nvidia" }, _host, false)], [], false));
        _reader = new HostUpdatesReader(fleet, _audit);
    }

    [Fact]
    public async Task Read_CountsAptAndFirmware_FromTheChecksOutput()
    {
        _host.HostCheckOutputs[HostCheck.AptFullUpgradeSimulation] = new(0, "Remv a [1]\nInst b [1] (2 x)\nInst c (1 x)\n", string.Empty);
        _host.HostCheckOutputs[HostCheck.FirmwareUpdates] = new(0, """{"Devices":[{"Name":"UEFI","Version":"1","Releases":[{"Version":"2"}]}]}""", string.Empty);

        var updates = await _reader.ReadAsync("spark-1", CancellationToken.None);

        Assert.Equal((2, 1, 1), (updates.AptUpgrades, updates.AptRemovals, updates.FirmwarePending));
        Assert.Null(updates.AptProblem);
        Assert.Null(updates.FirmwareProblem);
    }

    [Fact]
    public async Task Read_FwupdmgrSaysNothingToDo_IsZeroPending_NotAProblem()
    {
        _host.HostCheckOutputs[HostCheck.FirmwareUpdates] = new(FirmwareUpdates.NothingToDo, "No updates available\n", string.Empty);

        var updates = await _reader.ReadAsync("spark-1", CancellationToken.None);

        Assert.Equal(0, updates.FirmwarePending);
        Assert.Null(updates.FirmwareProblem);
    }

    [Fact]
    public async Task Read_OneCheckFails_TheOtherStillCounts_AndTheProblemSaysWhy()
    {
        _host.HostCheckOutputs[HostCheck.AptFullUpgradeSimulation] = new(100, string.Empty, "E: The package lists or status file could not be parsed or opened.\n");
        _host.HostCheckOutputs[HostCheck.FirmwareUpdates] = new(127, string.Empty, "sh: 1: fwupdmgr: not found\n");

        var updates = await _reader.ReadAsync("spark-1", CancellationToken.None);

        Assert.Null(updates.AptUpgrades);
        Assert.Contains("could not be parsed", updates.AptProblem, StringComparison.Ordinal);
        Assert.Null(updates.FirmwarePending);
        Assert.Contains("fwupdmgr: not found", updates.FirmwareProblem, StringComparison.Ordinal);
    }

    [Fact]
    public void LastRuns_AreWhoStartedEachActionLast_AndHowItEnded()
    {
        _audit.Record("olga", "host.apt-upgrade", "spark-1", "started");
        _time.Advance(TimeSpan.FromMinutes(5));
        _audit.Record("olga", "host.apt-upgrade", "spark-1", "finished");
        _time.Advance(TimeSpan.FromMinutes(5));
        _audit.Record("ivan", "host.firmware-update", "spark-1", "started");
        _audit.Record("ivan", "host.reboot", "spark-2", "started");
        _audit.Record("ivan", "host.apt_upgrade", "spark-1", "started");

        var runs = _reader.LastRuns("spark-1").ToDictionary(r => r.Action);

        Assert.Equal(new HostLastRun("apt-upgrade", _time.GetUtcNow() - TimeSpan.FromMinutes(10), "olga", _time.GetUtcNow() - TimeSpan.FromMinutes(5), "finished"), runs["apt-upgrade"]);
        Assert.Equal(new HostLastRun("firmware-update", _time.GetUtcNow(), "ivan", null, null), runs["firmware-update"]);
        Assert.Equal(new HostLastRun("reboot", null, null, null, null), runs["reboot"]);
        Assert.Equal(5, runs.Count);
    }

    [Fact]
    public void LatestPerAction_IsTheNewestEntryOfEachAction_ForThatTargetAndPrefix()
    {
        _audit.Record("a", "host.apt-update", "spark-1", "started");
        _audit.Record("b", "host.apt-update", "spark-1", "finished");
        _audit.Record("c", "service.stop", "spark-1", null);
        _audit.Record("d", "host.apt-update", "spark-2", "started");

        var latest = _audit.LatestPerAction("spark-1", "host.");
        var started = _audit.LatestPerAction("spark-1", "host.", "started");

        Assert.Equal(("b", "finished"), (Assert.Single(latest).Actor, latest[0].Detail));
        Assert.Equal("a", Assert.Single(started).Actor);
    }

    public void Dispose() => _data.Dispose();
}
