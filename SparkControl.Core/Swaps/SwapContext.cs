using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SparkControl.Core.Catalog;
using SparkControl.Core.Configuration;
using SparkControl.Core.Diagnostics;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Core.Launch;

namespace SparkControl.Core.Swaps;

/// <summary>What every swap run needs from the panel, and how it reports back to the orchestrator.</summary>
internal sealed record SwapContext(
    SparkFleet Fleet,
    ModelCatalog Catalog,
    LaunchPlanner Planner,
    HealthMonitor Health,
    SwapHistory History,
    IDrainGate Drain,
    SparkControlMetrics Metrics,
    HttpClient Http,
    TimeProvider Time,
    IOptionsMonitor<SparkControlOptions> Options,
    ILogger Logger,
    Action<SwapStatus> Publish,
    Action<SwapRun, SwapStatus, bool> Ended)
{
    public SwapOptions Swap => Options.CurrentValue.Swap;
}
