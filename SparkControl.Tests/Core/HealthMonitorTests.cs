using System.Net;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using SparkControl.Core.Configuration;
using SparkControl.Core.Diagnostics;
using SparkControl.Core.Hosts;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Core.Storage;
using SparkControl.Tests.Infrastructure;
using SparkControl.Core.Remote;

namespace SparkControl.Tests.Core;

public sealed class HealthMonitorTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
    private readonly FakeHttpHandler _http = new();
    private readonly TempDirectory _data = new();
    private readonly FakeSparkHost _host = new("spark-1");
    private readonly SparkFleet _fleet;
    private readonly SparkControlStore _store;
    private readonly TestMeterFactory _meters = new();
    private readonly SparkControlOptions _options = new() { Health = new HealthOptions { Interval = TimeSpan.FromSeconds(5), ProbeTimeout = TimeSpan.FromSeconds(2) } };

    public HealthMonitorTests()
    {
        _fleet = new SparkFleet(_time);
        _store = TestStores.Open(_data.Path);
    }

    private HealthMonitor CreateMonitor(params ServiceDefinition[] services)
    {
        _fleet.Publish(new FleetConfiguration([new SparkEntry(new SparkDefinition { Name = "spark-1", Host = "h", User = "u" }, _host, false)], [.. services], false));
        return new HealthMonitor(_fleet, new HealthProbe(new HttpClient(_http), _time), new ServiceStatusLog(_store), new SparkControlMetrics(_meters), new SparkControl.Core.Remote.ConnectivityTracker(_time), _time,
            new StaticOptionsMonitor<SparkControlOptions>(_options), NullLogger<HealthMonitor>.Instance);
    }

    private static ServiceDefinition Service(string name, int port, ServiceKind kind = ServiceKind.ParakeetAsr) =>
        new() { Spark = "spark-1", Name = name, Kind = kind, Container = name, Port = port };

    [Fact]
    public async Task CheckOnceAsync_RunningAndAnswering_IsHealthyAndStoredOnce()
    {
        _host.SetContainers(FakeSparkHost.Container("asr", ContainerStatus.Running));
        _http.Set(9000, "/health", FakeHttpHandler.Behaviour.Answer);
        var monitor = CreateMonitor(Service("asr", 9000));

        var first = await monitor.CheckOnceAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(5));
        var second = await monitor.CheckOnceAsync(CancellationToken.None);

        var asr = second.Find("spark-1", "asr")!;
        Assert.Equal(HealthStatus.Healthy, asr.Status);
        Assert.Equal(first.Find("spark-1", "asr")!.Since, asr.Since);
        Assert.Equal(_time.GetUtcNow(), asr.CheckedAt);
        var history = new ServiceStatusLog(_store).Read("spark-1", "asr", DateTimeOffset.MinValue);
        Assert.Equal([HealthStatus.Healthy], history.Select(h => h.Status));
    }

    [Fact]
    public async Task CheckOnceAsync_StatusChanges_AreRecordedWithTheirTime()
    {
        _host.SetContainers(FakeSparkHost.Container("asr", ContainerStatus.Running));
        _http.Set(9000, "/health", FakeHttpHandler.Behaviour.Refuse);
        var monitor = CreateMonitor(Service("asr", 9000));
        await monitor.CheckOnceAsync(CancellationToken.None);
        var loadingAt = _time.GetUtcNow();

        _time.Advance(TimeSpan.FromSeconds(5));
        _http.Set(9000, "/health", FakeHttpHandler.Behaviour.Answer);
        var result = await monitor.CheckOnceAsync(CancellationToken.None);

        Assert.Equal(HealthStatus.Healthy, result.Find("spark-1", "asr")!.Status);
        Assert.Equal(_time.GetUtcNow(), result.Find("spark-1", "asr")!.Since);
        var history = new ServiceStatusLog(_store).Read("spark-1", "asr", DateTimeOffset.MinValue);
        Assert.Equal([HealthStatus.Loading, HealthStatus.Healthy], history.Select(h => h.Status));
        Assert.Equal(loadingAt, history[0].At);
    }

    [Fact]
    public async Task CheckOnceAsync_OneHungProbe_DoesNotDelayTheOthers()
    {
        _host.SetContainers(
            FakeSparkHost.Container("hung-1", ContainerStatus.Running),
            FakeSparkHost.Container("hung-2", ContainerStatus.Running),
            FakeSparkHost.Container("fine", ContainerStatus.Running));
        _http.Set(9001, "/health", FakeHttpHandler.Behaviour.Hang);
        _http.Set(9002, "/health", FakeHttpHandler.Behaviour.Hang);
        _http.Set(9003, "/health", FakeHttpHandler.Behaviour.Answer);
        var monitor = CreateMonitor(Service("hung-1", 9001), Service("hung-2", 9002), Service("fine", 9003));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var round = monitor.CheckOnceAsync(cts.Token);
        // The healthy service is published while the hung probes still wait for their timeout.
        var fine = await Wait.ForAsync(monitor.WatchAsync(cts.Token), v => v.Value.Find("spark-1", "fine")?.Status == HealthStatus.Healthy, "the answering service to be healthy");
        Assert.False(round.IsCompleted);
        Assert.Equal(HealthStatus.Unknown, fine.Value.Find("spark-1", "hung-1")!.Status);

        // Probes run in parallel: one probe timeout ends the whole round, not one per hung service.
        _time.Advance(TimeSpan.FromSeconds(2));
        var result = await round.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(HealthStatus.Degraded, result.Find("spark-1", "hung-1")!.Status);
        Assert.Equal(HealthStatus.Degraded, result.Find("spark-1", "hung-2")!.Status);
        Assert.Contains("timed out", result.Find("spark-1", "hung-2")!.Reason, StringComparison.Ordinal);
        Assert.Equal(HealthStatus.Healthy, result.Find("spark-1", "fine")!.Status);
    }

    [Fact]
    public async Task CheckOnceAsync_UnreachableSpark_MarksItsServicesUnknown()
    {
        _host.Failure = new SparkUnreachableException("spark-1", "connection timed out");
        var monitor = CreateMonitor(Service("asr", 9000));

        var result = await monitor.CheckOnceAsync(CancellationToken.None);

        var spark = result.Find("spark-1")!;
        Assert.Equal(Reachability.Unreachable, spark.Reachability);
        Assert.Equal("connection timed out", spark.Error);
        Assert.Equal(HealthStatus.Unknown, result.Find("spark-1", "asr")!.Status);
    }

    [Fact]
    public async Task CheckOnceAsync_ModelContainerByLabel_IsTheLoadedModel()
    {
        _host.SetContainers(FakeSparkHost.Container("sparkcontrol-llm", ContainerStatus.Running,
            (ContainerLabels.Role, ContainerLabels.ModelRole), (ContainerLabels.Model, "qwen3-8b"), (ContainerLabels.ServedName, "qwen3-8b"), (ContainerLabels.Port, "8000")));
        _http.Set(8000, "/health", FakeHttpHandler.Behaviour.Answer);
        _http.Set(8000, "/v1/models", FakeHttpHandler.Behaviour.Answer, body: """{"object":"list","data":[{"id":"qwen3-8b","object":"model"}]}""");
        var monitor = CreateMonitor();

        var result = await monitor.CheckOnceAsync(CancellationToken.None);

        var model = result.Find("spark-1")!.Model;
        Assert.NotNull(model);
        Assert.Equal("qwen3-8b", model.ServedName);
        Assert.Equal(HealthStatus.Healthy, model.Status);
        Assert.True(result.Find("spark-1", "sparkcontrol-llm")!.IsModelServer);
    }

    private static ContainerSummary ModelContainer(string model) => FakeSparkHost.Container("sparkcontrol-llm", ContainerStatus.Running,
        (ContainerLabels.Role, ContainerLabels.ModelRole), (ContainerLabels.Model, model), (ContainerLabels.ServedName, model), (ContainerLabels.Port, "8000"));

    /// <summary>A round whose probes hang until the probe timeout passes on the fake clock.</summary>
    private async Task<FleetHealth> CheckWithHungProbesAsync(HealthMonitor monitor)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var round = monitor.CheckOnceAsync(cts.Token);
        await Wait.UntilAsync(() =>
        {
            _time.Advance(TimeSpan.FromMilliseconds(500));
            return round.IsCompleted;
        }, "the hung probes time out", poll: TimeSpan.FromMilliseconds(5));
        return await round;
    }

    [Theory]
    [InlineData("/health")]
    [InlineData("/v1/models")]
    public async Task CheckOnceAsync_ServingModelMissesAProbe_KeepsItsServedNamesAndStaysRoutable(string hangs)
    {
        _host.SetContainers(ModelContainer("qwen3-8b"));
        _http.Set(8000, "/health", FakeHttpHandler.Behaviour.Answer);
        _http.Set(8000, "/v1/models", FakeHttpHandler.Behaviour.Answer, body: """{"object":"list","data":[{"id":"qwen3-8b","object":"model"}]}""");
        var monitor = CreateMonitor();
        await monitor.CheckOnceAsync(CancellationToken.None);

        // A loaded machine, or a server busy with a long prefill: the next probe gets no answer in time.
        _http.Set(8000, hangs, FakeHttpHandler.Behaviour.Hang);
        var result = await CheckWithHungProbesAsync(monitor);

        var server = result.Find("spark-1", "sparkcontrol-llm")!;
        Assert.Equal(HealthStatus.Degraded, server.Status);
        Assert.Contains("timed out", server.Reason, StringComparison.Ordinal);
        Assert.Equal(["qwen3-8b"], server.ServedModels.AsEnumerable());
    }

    [Fact]
    public async Task CheckOnceAsync_NewModelInTheSameContainerMissesItsFirstProbe_DoesNotInheritTheOldNames()
    {
        _host.SetContainers(ModelContainer("qwen3-8b"));
        _http.Set(8000, "/health", FakeHttpHandler.Behaviour.Answer);
        _http.Set(8000, "/v1/models", FakeHttpHandler.Behaviour.Answer, body: """{"object":"list","data":[{"id":"qwen3-8b","object":"model"}]}""");
        var monitor = CreateMonitor();
        await monitor.CheckOnceAsync(CancellationToken.None);

        _host.SetContainers(ModelContainer("gpt-oss-20b"));
        _http.Set(8000, "/v1/models", FakeHttpHandler.Behaviour.Hang);
        var result = await CheckWithHungProbesAsync(monitor);

        Assert.Empty(result.Find("spark-1", "sparkcontrol-llm")!.ServedModels);
    }

    [Fact]
    public async Task CheckOnceAsync_ServerRefusesAfterServing_ForgetsItsNames()
    {
        _host.SetContainers(ModelContainer("qwen3-8b"));
        _http.Set(8000, "/health", FakeHttpHandler.Behaviour.Answer);
        _http.Set(8000, "/v1/models", FakeHttpHandler.Behaviour.Answer, body: """{"object":"list","data":[{"id":"qwen3-8b","object":"model"}]}""");
        var monitor = CreateMonitor();
        await monitor.CheckOnceAsync(CancellationToken.None);

        _http.Set(8000, "/health", FakeHttpHandler.Behaviour.Refuse);
        var result = await monitor.CheckOnceAsync(CancellationToken.None);

        Assert.Empty(result.Find("spark-1", "sparkcontrol-llm")!.ServedModels);
    }

    [Fact]
    public async Task ExecuteAsync_RunsAgainAfterTheInterval()
    {
        _host.SetContainers(FakeSparkHost.Container("asr", ContainerStatus.Running));
        _http.Set(9000, "/health", FakeHttpHandler.Behaviour.Answer);
        var monitor = CreateMonitor(Service("asr", 9000));
        using var collector = new MetricCollector<long>(_meters, SparkControlMetrics.MeterName, "sparkcontrol.health.probes");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        await monitor.StartAsync(cts.Token);
        await collector.WaitForMeasurementsAsync(1).WaitAsync(cts.Token);
        Assert.Single(collector.GetMeasurementSnapshot());

        // The loop may not be waiting yet when the clock moves; keep moving it until the next round has run.
        await Wait.UntilAsync(() =>
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            return collector.GetMeasurementSnapshot().Count >= 2;
        }, "the second round");
        await monitor.StopAsync(CancellationToken.None);

        Assert.All(collector.GetMeasurementSnapshot(), m => Assert.Equal("Healthy", m.Tags["status"]));
    }

    public void Dispose()
    {
        _meters.Dispose();
        _data.Dispose();
    }
}

/// <summary>An options monitor that always returns one value.</summary>
public sealed class StaticOptionsMonitor<T>(T value) : IOptionsMonitor<T>
{
    public T CurrentValue => value;

    public T Get(string? name) => value;

    public IDisposable? OnChange(Action<T, string?> listener) => null;
}

/// <summary>An IMeterFactory for tests; disposing it disposes its meters.</summary>
public sealed class TestMeterFactory : System.Diagnostics.Metrics.IMeterFactory
{
    private readonly List<System.Diagnostics.Metrics.Meter> _meters = [];

    public System.Diagnostics.Metrics.Meter Create(System.Diagnostics.Metrics.MeterOptions options)
    {
        var meter = new System.Diagnostics.Metrics.Meter(options.Name, options.Version, options.Tags, scope: this);
        _meters.Add(meter);
        return meter;
    }

    public void Dispose()
    {
        foreach (var meter in _meters)
        {
            meter.Dispose();
        }
    }
}
