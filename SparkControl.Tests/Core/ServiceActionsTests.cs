using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SparkControl.Core.Configuration;
using SparkControl.Core.Diagnostics;
using SparkControl.Core.Hosts;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Core.Storage;
using SparkControl.Tests.Infrastructure;
using SparkControl.Core.Audit;
using SparkControl.Core.Maintenance;
using SparkControl.Core.Remote;
using SparkControl.Core.Validation;

namespace SparkControl.Tests.Core;

/// <summary>Service actions and host actions at their unit boundary: a fake host, the real stores and audit log.</summary>
public sealed class ServiceActionsTests : IDisposable
{
    private const long Gib = 1L << 30;
    private const long Mib = 1L << 20;

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
    private readonly TempDirectory _data = new();
    private readonly FakeSparkHost _host = new("spark-1");
    private readonly TestMeterFactory _meters = new();
    private readonly SparkFleet _fleet;
    private readonly SparkControlStore _store;
    private readonly AuditLog _audit;
    private readonly HealthMonitor _health;
    private readonly SparkControlMetrics _metrics;
    private ServiceSettingsStore _settings = null!;

    public ServiceActionsTests()
    {
        _fleet = new SparkFleet(_time);
        _store = TestStores.Open(_data.Path);
        _audit = new AuditLog(_store, _time);
        _metrics = new SparkControlMetrics(_meters);
        _health = new HealthMonitor(_fleet, new HealthProbe(new HttpClient(new FakeHttpHandler()), _time), new ServiceStatusLog(_store), _metrics,
            new SparkControl.Core.Remote.ConnectivityTracker(_time), _time, new StaticOptionsMonitor<SparkControlOptions>(new SparkControlOptions()), NullLogger<HealthMonitor>.Instance);
    }

    private static ServiceDefinition Service(string name, long? limit = null, string? container = null) =>
        new() { Spark = "spark-1", Name = name, Kind = ServiceKind.ParakeetAsr, Container = container ?? name, Port = 9000, MemoryLimitBytes = limit };

    private async Task<ServiceActions> CreateAsync(LaunchClusterSettings? cluster = null, params ServiceDefinition[] services)
    {
        await File.WriteAllTextAsync(Path.Combine(_data.Path, ServicesYaml.FileName), ServicesYaml.Write(services));
        _settings = new ServiceSettingsStore(new DataDirectory(_data.Path), _time);
        _fleet.Publish(new FleetConfiguration(
            [new SparkEntry(new SparkDefinition { Name = "spark-1", Host = "h", User = "nvidia", LaunchCluster = cluster }, _host, false)],
            [.. services], false));
        return new ServiceActions(_fleet, _health, _settings, _audit, _metrics, NullLogger<ServiceActions>.Instance);
    }

    private readonly SparkWork _work = new();

    private HostActionService HostActions() => new(_fleet, _audit, _health, _work);

    private static ContainerInfo Info(string name, long? memory, long? swap, ContainerStatus status = ContainerStatus.Running) =>
        new() { Id = name + "-id", Name = name, Image = "img", Status = status, MemoryLimitBytes = memory, MemorySwapLimitBytes = swap };

    [Fact]
    public async Task StopStartRestart_ReachTheContainerAndAreAuditedWithTheActor()
    {
        var actions = await CreateAsync(null, Service("asr"));
        using var restarts = new MetricCollector<long>(_meters, SparkControlMetrics.MeterName, "sparkcontrol.service.restarts");

        await actions.StopAsync("spark-1", "asr", "operator", CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(1));
        await actions.StartAsync("spark-1", "ASR", "operator", CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(1));
        await actions.RestartAsync("spark-1", "asr", "api", CancellationToken.None);

        Assert.Equal(["asr", "asr"], _host.Stopped);
        Assert.Equal(["asr", "asr"], _host.Started);
        var log = _audit.Recent(10, "spark-1/asr");
        Assert.Equal(["service.restart", "service.start", "service.stop"], log.Select(e => e.Action));
        Assert.Equal(["api", "operator", "operator"], log.Select(e => e.Actor));
        Assert.All(log, e => Assert.Equal("done", e.Detail));
        Assert.Equal(_time.GetUtcNow(), log[0].At);
        var restart = Assert.Single(restarts.GetMeasurementSnapshot());
        Assert.Equal("asr", restart.Tags["service"]);
    }

    [Fact]
    public async Task Stop_HostFails_IsAuditedAsFailedAndTheErrorReachesTheCaller()
    {
        var actions = await CreateAsync(null, Service("asr"));
        _host.Failure = new SparkCommandException("spark-1", "docker stop failed: no such container", 1, string.Empty);

        var error = await Assert.ThrowsAsync<SparkCommandException>(() => actions.StopAsync("spark-1", "asr", "operator", CancellationToken.None));

        var entry = Assert.Single(_audit.Recent(10));
        Assert.Equal("service.stop", entry.Action);
        Assert.Equal($"failed: {error.Message}", entry.Detail);
    }

    [Fact]
    public async Task Actions_UnknownSparkOrService_OrUrlOnlyService_AreClearErrors()
    {
        var actions = await CreateAsync(null, Service("asr"), Service("webui") with { Container = null, Url = "http://h:3000" });

        var noSpark = await Assert.ThrowsAsync<KeyNotFoundException>(() => actions.StopAsync("spark-9", "asr", "operator", CancellationToken.None));
        var noService = await Assert.ThrowsAsync<KeyNotFoundException>(() => actions.StopAsync("spark-1", "tts", "operator", CancellationToken.None));
        var urlOnly = await Assert.ThrowsAsync<SettingsConflictException>(() => actions.StopAsync("spark-1", "webui", "operator", CancellationToken.None));

        Assert.Contains("spark-9", noSpark.Message, StringComparison.Ordinal);
        Assert.Contains("'tts'", noService.Message, StringComparison.Ordinal);
        Assert.Contains("only probed at its URL", urlOnly.Message, StringComparison.Ordinal);
        Assert.Empty(_host.Stopped);
        Assert.Empty(_audit.Recent(10));
    }

    [Fact]
    public async Task SetMemoryLimit_CapsMemoryAndSwapEqually_KeepsItInServicesYaml_AndAudits()
    {
        var actions = await CreateAsync(null, Service("asr", limit: 2 * Gib));
        _host.Details["asr"] = Info("asr", 2 * Gib, 4 * Gib);

        var change = await actions.SetMemoryLimitAsync("spark-1", "asr", 512 * Mib, "operator", CancellationToken.None);

        Assert.Equal([("asr", 512 * Mib, 512 * Mib)], _host.MemoryUpdates);
        Assert.Equal(new LimitChange("asr", "asr", 2 * Gib, 512 * Mib, true, null), change);
        var (saved, problems) = ServicesYaml.Read(await File.ReadAllTextAsync(_settings.FilePath), _settings.FilePath);
        Assert.Empty(problems);
        Assert.Equal(512 * Mib, Assert.Single(saved).MemoryLimitBytes);
        var entry = Assert.Single(_audit.Recent(10));
        Assert.Equal(("service.limits", "spark-1/asr", "memory 2g -> 512m (swap off)"), (entry.Action, entry.Target, entry.Detail));
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(1L << 20)]
    [InlineData((6L << 20) - 1)]
    public async Task SetMemoryLimit_BelowDockersMinimum_IsRefusedBeforeAnythingRuns(long bytes)
    {
        var actions = await CreateAsync(null, Service("asr"));

        var error = await Assert.ThrowsAsync<ValidationFailedException>(() => actions.SetMemoryLimitAsync("spark-1", "asr", bytes, "operator", CancellationToken.None));

        Assert.Equal("memoryLimit", Assert.Single(error.Errors).Field);
        Assert.Empty(_host.MemoryUpdates);
    }

    [Fact]
    public async Task SetMemoryLimit_AboveTheSparksMemory_IsRefusedNamingIt()
    {
        var actions = await CreateAsync(null, Service("asr"));
        _host.Memory = new MemoryInfo((long)(121.7 * Gib), 100 * Gib);

        var error = await Assert.ThrowsAsync<ValidationFailedException>(() => actions.SetMemoryLimitAsync("spark-1", "asr", 500 * Gib, "operator", CancellationToken.None));

        Assert.Equal(("memoryLimit", "memoryLimit 500g is more than spark-1 has: 121.7 GiB of memory"), (Assert.Single(error.Errors).Field, error.Errors[0].Message));
        Assert.Empty(_host.MemoryUpdates);
    }

    [Fact]
    public async Task ReapplyPatches_ReportsChangedAlreadyRightNotRunningAndMissing_AndTouchesOnlyWhatDrifted()
    {
        var actions = await CreateAsync(null,
            Service("asr", limit: 8 * Gib),
            Service("tts", limit: 2 * Gib),
            Service("embeddings", limit: 1 * Gib),
            Service("gone", limit: 1 * Gib),
            Service("qdrant"));
        _host.Details["asr"] = Info("asr", null, null); // recreated: the cap is gone
        _host.Details["tts"] = Info("tts", 2 * Gib, 2 * Gib);
        _host.Details["embeddings"] = Info("embeddings", null, null, ContainerStatus.Exited);
        _host.Details["qdrant"] = Info("qdrant", null, null);

        var changes = await actions.ReapplyPatchesAsync("spark-1", "operator", CancellationToken.None);

        Assert.Equal(
        [
            new LimitChange("asr", "asr", null, 8 * Gib, true, null),
            new LimitChange("tts", "tts", 2 * Gib, 2 * Gib, false, null),
            new LimitChange("embeddings", "embeddings", null, null, false, "container not running"),
            new LimitChange("gone", "gone", null, null, false, "container not found"),
        ], changes);
        Assert.Equal([("asr", 8 * Gib, 8 * Gib)], _host.MemoryUpdates);
        var entry = Assert.Single(_audit.Recent(10));
        Assert.Equal("spark.reapply-patches", entry.Action);
        Assert.Equal("asr: none -> 8g; tts: already right; embeddings: container not running; gone: container not found", entry.Detail);
    }

    [Fact]
    public async Task ReapplyPatches_SwapLeftDifferent_IsCorrectedToo()
    {
        var actions = await CreateAsync(null, Service("asr", limit: 8 * Gib));
        _host.Details["asr"] = Info("asr", 8 * Gib, -1);

        var change = Assert.Single(await actions.ReapplyPatchesAsync("spark-1", "operator", CancellationToken.None));

        Assert.True(change.Changed);
        Assert.Equal([("asr", 8 * Gib, 8 * Gib)], _host.MemoryUpdates);
    }

    [Fact]
    public async Task HostAction_WithoutPasswordlessSudo_IsRefusedWithHowToFixIt()
    {
        await CreateAsync();
        _host.PasswordlessSudo = false;

        var error = await Assert.ThrowsAsync<HostActionRefusedException>(() => Drain(HostActions().RunAsync("spark-1", HostAction.AptUpdate, false, "operator", CancellationToken.None)));

        Assert.Contains("nvidia ALL=(root) NOPASSWD:", error.Message, StringComparison.Ordinal);
        Assert.Contains("visudo", error.Message, StringComparison.Ordinal);
        Assert.Empty(_host.HostActions);
        Assert.Empty(_audit.Recent(10));
    }

    [Fact]
    public async Task Reboot_WhileAModelRuns_IsRefusedUnlessStopFirst()
    {
        await CreateAsync();
        _host.SetContainers(
            FakeSparkHost.Container("vllm-qwen3-8b", ContainerStatus.Running, (ContainerLabels.Role, ContainerLabels.ModelRole)),
            FakeSparkHost.Container("asr", ContainerStatus.Running));

        var check = await HostActions().CheckAsync("spark-1", HostAction.Reboot, CancellationToken.None);
        var error = await Assert.ThrowsAsync<HostActionRefusedException>(() => Drain(HostActions().RunAsync("spark-1", HostAction.Reboot, false, "operator", CancellationToken.None)));

        Assert.True(check.NeedsStopFirst);
        Assert.Equal(["vllm-qwen3-8b"], check.RunningModels);
        Assert.Contains("vllm-qwen3-8b", error.Message, StringComparison.Ordinal);
        Assert.Contains("stop it first", error.Message, StringComparison.Ordinal);
        Assert.Empty(_host.Stopped);
        Assert.Empty(_host.HostActions);
    }

    [Fact]
    public async Task AptUpdate_WhileAModelRuns_IsNotHeldBack()
    {
        await CreateAsync();
        _host.SetContainers(FakeSparkHost.Container("vllm-qwen3-8b", ContainerStatus.Running, (ContainerLabels.Role, ContainerLabels.ModelRole)));

        var lines = await Drain(HostActions().RunAsync("spark-1", HostAction.AptUpdate, false, "operator", CancellationToken.None));

        Assert.Equal(["line 1", "line 2"], lines);
        Assert.Empty(_host.Stopped);
    }

    [Fact]
    public async Task Reboot_StopFirst_StopsPlainContainersAndLaunchClusterWithItsOwnStop_ThenReboots()
    {
        var cluster = new LaunchClusterSettings { Script = "/opt/launch-cluster.sh", Nodes = ["10.0.0.1", "10.0.0.2"], ContainerName = "vllm_node" };
        await CreateAsync(cluster);
        _host.SetContainers(
            FakeSparkHost.Container("vllm-qwen3-8b", ContainerStatus.Running, (ContainerLabels.Role, ContainerLabels.ModelRole)),
            FakeSparkHost.Container("vllm_node", ContainerStatus.Running),
            FakeSparkHost.Container("old-model", ContainerStatus.Exited, (ContainerLabels.Role, ContainerLabels.ModelRole)));
        _host.HostActionOutput = ["Broadcast message from root: The system will reboot now!"];

        var lines = await Drain(HostActions().RunAsync("spark-1", HostAction.Reboot, true, "operator", CancellationToken.None));

        Assert.Equal(["vllm-qwen3-8b"], _host.Stopped);
        Assert.Equal(["vllm_node"], _host.ClusterStops);
        Assert.Equal([HostAction.Reboot], _host.HostActions);
        Assert.Equal("Stopping vllm-qwen3-8b…", lines[0]);
        Assert.Equal("Stopping vllm_node with launch-cluster.sh stop (on every node)…", lines[1]);
        Assert.Equal("Broadcast message from root: The system will reboot now!", lines[2]);
        Assert.Equal(["finished", "started"], _audit.Recent(10).Select(e => e.Detail));
        Assert.All(_audit.Recent(10), e => Assert.Equal("host.reboot", e.Action));
    }

    [Fact]
    public async Task Reboot_ConnectionDropsAsTheSparkGoesDown_IsSuccess()
    {
        await CreateAsync();
        _host.HostActionOutput = [];
        _host.HostActionFailure = new SparkUnreachableException("spark-1", "the connection to spark-1 dropped");

        var lines = await Drain(HostActions().RunAsync("spark-1", HostAction.Reboot, false, "operator", CancellationToken.None));

        Assert.Contains("is rebooting", Assert.Single(lines), StringComparison.Ordinal);
        Assert.Equal("finished", _audit.Recent(1)[0].Detail);
    }

    [Fact]
    public async Task AptUpdate_FailsPartWay_KeepsItsOutputAndIsAuditedAsNotFinished()
    {
        await CreateAsync();
        _host.HostActionOutput = ["Hit:1 http://ports.ubuntu.com noble InRelease"];
        _host.HostActionFailure = new SparkCommandException("spark-1", "apt-get update failed (exit 100)", 100, string.Empty);
        var seen = new List<string>();

        await Assert.ThrowsAsync<SparkCommandException>(async () =>
        {
            await foreach (var line in HostActions().RunAsync("spark-1", HostAction.AptUpdate, false, "operator", CancellationToken.None))
            {
                seen.Add(line);
            }
        });

        Assert.Equal(["Hit:1 http://ports.ubuntu.com noble InRelease"], seen);
        Assert.Equal("apt-get update failed (exit 100)", _audit.Recent(1)[0].Detail);
    }

    [Fact]
    public async Task HostAction_IsWorkOnItsSpark_WhileItRuns_AndNotAfter()
    {
        await CreateAsync();
        _host.HostActionOutput = ["Broadcast message from root"];
        string? whileRunning = null;

        // The reboot runs attached; apt-get's registration while it runs detached is proven through sshd.
        await foreach (var _ in HostActions().RunAsync("spark-1", HostAction.Reboot, false, "operator", CancellationToken.None))
        {
            whileRunning = _work.Describe("spark-1");
        }

        Assert.Equal("a reboot", whileRunning);
        Assert.Null(_work.Describe("spark-1"));
    }

    [Fact]
    public async Task HostAction_Output_IsRedacted()
    {
        await CreateAsync();
        _host.HostActionOutput = ["Get:1 https://mirror:hunter2pass@apt.example.com noble InRelease"];

        var line = Assert.Single(await Drain(HostActions().RunAsync("spark-1", HostAction.AptUpdate, false, "operator", CancellationToken.None)));

        Assert.DoesNotContain("hunter2pass", line, StringComparison.Ordinal);
    }

    private static async Task<List<string>> Drain(IAsyncEnumerable<string> lines)
    {
        var all = new List<string>();
        await foreach (var line in lines)
        {
            all.Add(line);
        }

        return all;
    }

    public void Dispose()
    {
        _meters.Dispose();
        _data.Dispose();
    }
}
