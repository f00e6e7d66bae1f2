using System.Collections.Immutable;
using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SparkControl.Core.Configuration;
using SparkControl.Core.Diagnostics;
using SparkControl.Core.Hosts;
using SparkControl.Core.Sparks;
using SparkControl.Core.Streams;

namespace SparkControl.Core.Services;

/// <summary>
/// Checks every service on every Spark on a timer (or at once on request) and publishes <see cref="FleetHealth"/>.
/// Sparks are checked in parallel, and so are the services of one Spark, each probe with its own timeout: one dead
/// service or Spark never delays the others.
/// </summary>
public sealed partial class HealthMonitor : BackgroundService
{
    private readonly SparkFleet _fleet;
    private readonly HealthProbe _probe;
    private readonly ServiceStatusLog _statusLog;
    private readonly SparkControlMetrics _metrics;
    private readonly Remote.ConnectivityTracker _connectivity;
    private readonly TimeProvider _time;
    private readonly IOptionsMonitor<SparkControlOptions> _options;
    private readonly ILogger<HealthMonitor> _logger;
    private readonly SnapshotStream<FleetHealth> _stream;
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly SemaphoreSlim _checkGate = new(1, 1);

    public HealthMonitor(
        SparkFleet fleet,
        HealthProbe probe,
        ServiceStatusLog statusLog,
        SparkControlMetrics metrics,
        Remote.ConnectivityTracker connectivity,
        TimeProvider time,
        IOptionsMonitor<SparkControlOptions> options,
        ILogger<HealthMonitor> logger)
    {
        _fleet = fleet;
        _probe = probe;
        _statusLog = statusLog;
        _metrics = metrics;
        _connectivity = connectivity;
        _time = time;
        _options = options;
        _logger = logger;
        _stream = new SnapshotStream<FleetHealth>(FleetHealth.Empty, time);
        metrics.ObserveServices(() => _stream.Current.Value.Sparks
            .SelectMany(s => s.Services.GroupBy(service => service.Status).Select(g => new System.Diagnostics.Metrics.Measurement<int>(g.Count(),
                new KeyValuePair<string, object?>("spark", s.Spark), new KeyValuePair<string, object?>("status", g.Key.ToString())))));
    }

    public Versioned<FleetHealth> Current => _stream.Current;

    public IAsyncEnumerable<Versioned<FleetHealth>> WatchAsync(CancellationToken cancellationToken) => _stream.WatchAsync(cancellationToken);

    /// <summary>Asks for a check now instead of at the next tick (after an action changed something).</summary>
    public void RequestCheck()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // A check is already requested.
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await CheckOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogCheckFailed(ex);
            }

            using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            var tick = Task.Delay(_options.CurrentValue.Health.Interval, _time, wait.Token);
            var woken = _wake.WaitAsync(wait.Token);
            await Task.WhenAny(tick, woken).ConfigureAwait(false);
            await wait.CancelAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Checks everything once and publishes the result.</summary>
    public async Task<FleetHealth> CheckOnceAsync(CancellationToken cancellationToken)
    {
        await _checkGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var fleet = _fleet.Current;
            var previous = _stream.Current.Value;
            var order = fleet.Sparks.Select(s => s.Name).ToList();
            await Task.WhenAll(fleet.Sparks.Select(async spark =>
            {
                var health = await CheckSparkAsync(fleet, spark, previous.Find(spark.Name), cancellationToken).ConfigureAwait(false);
                _stream.Publish(current => current.WithSpark(health, order));
            })).ConfigureAwait(false);

            // Sparks removed from the configuration disappear from the snapshot.
            return _stream.Publish(current => current.Sparks.All(s => order.Contains(s.Spark)) ? current : new FleetHealth([.. current.Sparks.Where(s => order.Contains(s.Spark))])).Value;
        }
        finally
        {
            _checkGate.Release();
        }
    }

    private async Task<SparkHealth> CheckSparkAsync(FleetConfiguration fleet, SparkEntry spark, SparkHealth? previous, CancellationToken cancellationToken)
    {
        var options = _options.CurrentValue.Health;
        var now = _time.GetUtcNow();
        var configured = fleet.ServicesOn(spark.Name).ToList();
        IReadOnlyList<ContainerSummary> containers;
        try
        {
            using var deadline = new CancellationTokenSource(options.HostTimeout, _time);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
            containers = await spark.Host.ListContainersAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            var error = ex is OperationCanceledException ? $"no answer within {options.HostTimeout.TotalSeconds:0} s" : ex.Message;
            var unknown = configured.Select(s => Record(previous, s, HealthStatus.Unknown, $"Spark unreachable: {error}", now) with { Container = s.Container });
            return new SparkHealth
            {
                Spark = spark.Name,
                IsSimulated = spark.IsSimulated,
                Reachability = Reachability.Unreachable,
                Error = error,
                Services = [.. unknown],
                CheckedAt = now,
                Connection = spark.IsSimulated ? null : _connectivity.Find(spark.Name),
            };
        }

        var byName = containers.GroupBy(c => c.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var services = ServicesToCheck(spark.Name, configured, containers);

        if (previous is null)
        {
            // First sight of this Spark: show it at once, its services still unknown, and fill them in as probes finish.
            var pending = services.Select(s => Record(null, s.Definition, HealthStatus.Unknown, "checking", now, log: false)).ToImmutableArray();
            _stream.Publish(current => current.WithSpark(new SparkHealth { Spark = spark.Name, IsSimulated = spark.IsSimulated, Reachability = Reachability.Reachable, Services = pending, CheckedAt = now }, [.. fleet.Sparks.Select(x => x.Name)]));
            previous = _stream.Current.Value.Find(spark.Name);
        }

        var results = await Task.WhenAll(services.Select(async s =>
        {
            var health = await CheckServiceAsync(spark, s.Definition, s.ServedName, byName, previous, cancellationToken).ConfigureAwait(false);
            _stream.Publish(current => current.WithService(health));
            return health;
        })).ConfigureAwait(false);
        return new SparkHealth
        {
            Spark = spark.Name,
            IsSimulated = spark.IsSimulated,
            Reachability = Reachability.Reachable,
            Model = LoadedModelOf(results, byName),
            ModelChecked = true,
            Services = [.. results],
            CheckedAt = now,
            Connection = spark.IsSimulated ? null : _connectivity.Find(spark.Name),
        };
    }

    /// <summary>The configured services, and every model container the panel started that no service names (a running or failed one; a stopped one the swap left behind is history).</summary>
    private static List<(ServiceDefinition Definition, string? ServedName)> ServicesToCheck(string spark, List<ServiceDefinition> configured, IReadOnlyList<ContainerSummary> containers)
    {
        var services = new List<(ServiceDefinition Definition, string? ServedName)>(configured.Select(s => (s, (string?)null)));
        foreach (var container in containers.Where(c => c.Labels.GetValueOrDefault(ContainerLabels.Role) == ContainerLabels.ModelRole))
        {
            if (configured.Any(s => s.Container == container.Name) || container.State is ContainerStatus.Created)
            {
                continue;
            }

            services.Add((new ServiceDefinition { Spark = spark, Name = container.Name, Kind = ServiceKind.VllmLlm, Container = container.Name, Port = LabelledPort(container) },
                container.Labels.GetValueOrDefault(ContainerLabels.ServedName)));
        }

        return services;
    }

    /// <summary>The model the Spark serves: the running model server's container, read from the labels the swap gave it.</summary>
    private static LoadedModel? LoadedModelOf(ServiceHealth[] results, Dictionary<string, ContainerSummary> byName)
    {
        var modelHealth = results.FirstOrDefault(r => r.IsModelServer && r.ContainerStatus == ContainerStatus.Running);
        if (modelHealth is null || !byName.TryGetValue(modelHealth.Container!, out var container))
        {
            return null;
        }

        return new LoadedModel(
            container.Labels.GetValueOrDefault(ContainerLabels.Model) ?? container.Name,
            container.Labels.GetValueOrDefault(ContainerLabels.ServedName) ?? container.Name,
            container.Name,
            LabelledPort(container) ?? 0,
            modelHealth.Status);
    }

    private static int? LabelledPort(ContainerSummary container)
        => int.TryParse(container.Labels.GetValueOrDefault(ContainerLabels.Port), NumberStyles.Integer, CultureInfo.InvariantCulture, out var port) ? port : null;

    private async Task<ServiceHealth> CheckServiceAsync(
        SparkEntry spark,
        ServiceDefinition service,
        string? expectedServedName,
        Dictionary<string, ContainerSummary> containers,
        SparkHealth? previous,
        CancellationToken cancellationToken)
    {
        var options = _options.CurrentValue.Health;
        var container = service.Container is null ? null : containers.GetValueOrDefault(service.Container);
        var endpoint = Endpoint(spark.Host, service);
        ProbeResult? probe = null;
        ContainerInfo? details = null;
        var started = _time.GetTimestamp();
        try
        {
            if (endpoint is not null && (service.Container is null || container?.State == ContainerStatus.Running))
            {
                probe = await _probe.ProbeAsync(service.Kind, endpoint, service.EffectiveHealthPath, options.ProbeTimeout, cancellationToken).ConfigureAwait(false);
            }
            else if (container is { State: ContainerStatus.Exited or ContainerStatus.Dead })
            {
                using var deadline = new CancellationTokenSource(options.HostTimeout, _time);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
                details = await spark.Host.InspectContainerAsync(container.Name, timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // An inspect that fails leaves the plain container state as the reason; the loop goes on.
            LogServiceCheckFailed(spark.Name, service.Name, ex);
        }

        var (status, reason) = HealthClassifier.Classify(service.Kind, service.Container is not null, container?.State, probe, expectedServedName, details);
        var served = ServedModels(probe, previous?.Services.FirstOrDefault(s => s.Name == service.Name), endpoint, expectedServedName);
        var now = _time.GetUtcNow();
        _metrics.RecordHealthProbe(spark.Name, service.Name, status.ToString(), _time.GetElapsedTime(started));
        return Record(previous, service, status, reason, now) with
        {
            Container = service.Container,
            ContainerStatus = container?.State,
            Endpoint = endpoint,
            ServedModels = served,
            IsModelServer = expectedServedName is not null || containers.GetValueOrDefault(service.Container ?? string.Empty)?.Labels.GetValueOrDefault(ContainerLabels.Role) == ContainerLabels.ModelRole,
        };
    }

    /// <summary>
    /// What the server serves: what <c>/v1/models</c> listed, or, when the probe ran out of time before the list came (a
    /// server busy with a long prefill, a loaded machine), what it served at the last check. A slow server still serves
    /// its model; the gateway keeps routing to it rather than telling clients the model is not loaded. Not across a new
    /// model in the same container: a model server's list must still hold the name its labels give.
    /// </summary>
    private static ImmutableArray<string> ServedModels(ProbeResult? probe, ServiceHealth? before, Uri? endpoint, string? expectedServedName)
    {
        if (probe is null || probe.ModelsAnswered || probe.Outcome is not (ProbeOutcome.Timeout or ProbeOutcome.Ok))
        {
            return probe?.ServedModels ?? [];
        }

        return before is { ServedModels.IsEmpty: false } && before.Endpoint == endpoint
            && (expectedServedName is null || before.ServedModels.Contains(expectedServedName, StringComparer.Ordinal))
            ? before.ServedModels
            : probe.ServedModels;
    }

    private ServiceHealth Record(SparkHealth? previous, ServiceDefinition service, HealthStatus status, string reason, DateTimeOffset now, bool log = true)
    {
        var before = previous?.Services.FirstOrDefault(s => s.Name == service.Name);
        var changed = before is null || before.Status != status;
        if (changed && log)
        {
            _metrics.RecordServiceStatusChange(service.Spark, service.Name, status.ToString());
            if (before is not null)
            {
                LogStatusChange(service.Spark, service.Name, before.Status, status, reason);
            }

            // A change that cannot be saved is reported by the store; the timeline misses it, the health goes on.
            _statusLog.Append(new ServiceStatusChange(service.Spark, service.Name, now, status, reason));
        }

        return new ServiceHealth
        {
            Spark = service.Spark,
            Name = service.Name,
            Kind = service.Kind,
            Status = status,
            Reason = reason,
            Since = changed ? now : before!.Since,
            CheckedAt = now,
        };
    }

    private static Uri? Endpoint(ISparkHost host, ServiceDefinition service)
    {
        if (service.Url is not null)
        {
            return new Uri(service.Url);
        }

        return service.Port is { } port ? host.GetEndpoint(port) : null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Health check round failed")]
    private partial void LogCheckFailed(Exception ex);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Checking {Spark}/{Service} failed")]
    private partial void LogServiceCheckFailed(string spark, string service, Exception ex);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Spark}/{Service}: {From} -> {To} ({Reason})")]
    private partial void LogStatusChange(string spark, string service, HealthStatus from, HealthStatus to, string reason);
}
