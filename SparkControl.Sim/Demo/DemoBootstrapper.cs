using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SparkControl.Core.Catalog;
using SparkControl.Core.Sparks;
using SparkControl.Core.Swaps;
using SparkControl.Sim.Hosting;
using SparkControl.Core.Hosts;

namespace SparkControl.Sim.Demo;

/// <summary>Brings the demo Spark to life: starts its speech and embedding services and loads the initial model.</summary>
public sealed partial class DemoBootstrapper(
    SimulatedSparkHost host,
    SparkFleet fleet,
    ModelCatalog catalog,
    SwapOrchestrator swaps,
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
            await host.RunContainerAsync(ContainerLaunch.Of(service), stoppingToken).ConfigureAwait(false);
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

        // Through the orchestrator, like any swap: the demo's first load is in the history and shows its progress.
        swaps.Start(new SwapRequest(model.Id, DemoSpark.Definition.Name, "demo"));
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
