using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SparkControl.Core.Catalog;
using SparkControl.Core.Hosts;
using SparkControl.Core.Sparks;
using SparkControl.Sim.Hosting;

namespace SparkControl.Sim.Demo;

/// <summary>Brings the demo Spark to life: starts its speech and embedding services and loads the initial model.</summary>
public sealed partial class DemoBootstrapper(
    SimulatedSparkHost host,
    SparkFleet fleet,
    ModelCatalog catalog,
    IOptions<DemoOptions> options,
    ILogger<DemoBootstrapper> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!fleet.Current.IsDemo)
        {
            return;
        }

        foreach (var service in DemoSpark.ServiceContainers())
        {
            await host.RunContainerAsync(service, stoppingToken).ConfigureAwait(false);
        }

        var initial = options.Value.InitialModel;
        if (string.IsNullOrEmpty(initial))
        {
            return;
        }

        if (catalog.Current.Find(initial) is not { } model)
        {
            LogUnknownInitialModel(initial);
            return;
        }

        var spec = LaunchSpecs.Vllm(model, DemoSpark.Definition, DemoSpark.HfCachePath, secretsEnvFile: null);
        await host.RunContainerAsync(spec, stoppingToken).ConfigureAwait(false);
        LogLoading(model.Id);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await host.DisposeAsync().ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Demo:InitialModel '{Model}' is not in the demo catalog; no model is loaded")]
    private partial void LogUnknownInitialModel(string model);

    [LoggerMessage(Level = LogLevel.Information, Message = "Demo Spark: loading {Model}")]
    private partial void LogLoading(string model);
}
