using System.Collections.Immutable;
using Microsoft.Extensions.Options;
using SparkControl.Core.Catalog;
using SparkControl.Core.Configuration;
using SparkControl.Core.Hosts;
using SparkControl.Core.Remote;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Core.Yaml;
using SparkControl.Sim.Demo;
using SparkControl.Sim.Hosting;

namespace SparkControl.Web.Hosting;

/// <summary>
/// Keeps the fleet in step with the settings: the Sparks of <c>sparks.yaml</c> (each reached by a
/// <see cref="DockerSparkHost"/> over SSH), plus the simulated Spark "demo" when none is configured or
/// <c>Demo:Mode</c> is On. A Spark whose settings did not change keeps its host and its SSH connection.
/// </summary>
public sealed partial class FleetManager(
    SparkSettingsStore settings,
    ServiceSettingsStore serviceSettings,
    SparkHostFactory hostFactory,
    ConnectivityTracker connectivity,
    SparkFleet fleet,
    CatalogStore catalog,
    IServiceProvider services,
    IOptions<DemoOptions> demoOptions,
    IOptions<SparkControlOptions> options,
    ILogger<FleetManager> logger) : BackgroundService
{
    private readonly Dictionary<string, DockerSparkHost> _hosts = new(StringComparer.OrdinalIgnoreCase);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ImmutableArray<ModelDefinition> _shippedModels = [];
    private ImmutableArray<ConfigProblem> _catalogProblems = [];

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await LoadCatalogAsync(cancellationToken);
        await RebuildAsync();
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Either file changing (from Settings or the API) rebuilds the fleet.
        await Task.WhenAll(FollowAsync(settings.WatchAsync(stoppingToken), stoppingToken), FollowAsync(serviceSettings.WatchAsync(stoppingToken), stoppingToken));
    }

    private async Task FollowAsync<T>(IAsyncEnumerable<T> changes, CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var _ in changes)
            {
                await RebuildAsync();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task RebuildAsync()
    {
        var current = settings.Current;
        var configuredServices = serviceSettings.Current;
        await _gate.WaitAsync();
        try
        {
            var mode = demoOptions.Value.Mode;
            var demo = mode == DemoMode.On || (mode == DemoMode.Auto && current.Sparks.IsEmpty && current.Problems.IsEmpty);
            var entries = ImmutableArray.CreateBuilder<SparkEntry>();
            var serviceList = ImmutableArray.CreateBuilder<ServiceDefinition>();
            if (demo)
            {
                entries.Add(new SparkEntry(DemoSpark.Definition, services.GetRequiredService<SimulatedSparkHost>(), IsSimulated: true));
                serviceList.AddRange(DemoSpark.LoadServices());
            }

            foreach (var spark in current.Sparks)
            {
                if (!_hosts.TryGetValue(spark.Name, out var host) || host.Definition != spark)
                {
                    if (host is not null)
                    {
                        await host.DisposeAsync();
                    }

                    host = hostFactory.CreateHost(spark);
                    _hosts[spark.Name] = host;
                }

                entries.Add(new SparkEntry(spark, host, IsSimulated: false));
            }

            foreach (var removed in _hosts.Keys.Where(name => current.Find(name) is null).ToList())
            {
                await _hosts[removed].DisposeAsync();
                _hosts.Remove(removed);
                connectivity.Remove(removed);
            }

            // services.yaml may name the demo Spark too: in demo mode its services join the demo's own.
            serviceList.AddRange(configuredServices.Services.Where(s =>
                current.Find(s.Spark) is not null || (demo && string.Equals(s.Spark, DemoSpark.Definition.Name, StringComparison.OrdinalIgnoreCase))));

            var problems = current.Problems.AddRange(configuredServices.Problems).AddRange(_catalogProblems);
            foreach (var problem in problems)
            {
                LogProblem(problem.ToString());
            }

            catalog.SetSources(current.Sparks.IsEmpty ? [] : _shippedModels, current.Sparks.IsEmpty ? [] : _catalogProblems, demo ? DemoSpark.LoadCatalog().Models : []);
            fleet.Publish(new FleetConfiguration(entries.ToImmutable(), serviceList.ToImmutable(), demo) { Problems = problems });
            LogFleet(entries.Count, demo);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task LoadCatalogAsync(CancellationToken cancellationToken)
    {
        var file = options.Value.CatalogFile;
        if (File.Exists(file))
        {
            (_shippedModels, _catalogProblems) = CatalogYaml.Read(await File.ReadAllTextAsync(file, cancellationToken), file, ModelOrigin.Shipped);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        foreach (var host in _hosts.Values)
        {
            await host.DisposeAsync();
        }

        _hosts.Clear();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Managing {Count} Spark(s); demo mode: {Demo}")]
    private partial void LogFleet(int count, bool demo);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Configuration problem: {Problem}")]
    private partial void LogProblem(string problem);
}
