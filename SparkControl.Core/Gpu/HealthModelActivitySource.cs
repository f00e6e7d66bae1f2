using System.Collections.Immutable;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SparkControl.Core.Services;
using SparkControl.Core.Streams;

namespace SparkControl.Core.Gpu;

/// <summary>
/// Model activity as the health monitor sees it: a model server whose status is Loading is loading, any other running
/// model server is loaded, none is no model. A Spark the monitor cannot reach keeps what it was last seen doing.
/// </summary>
public sealed partial class HealthModelActivitySource(HealthMonitor health, TimeProvider time, ILogger<HealthModelActivitySource> logger)
    : BackgroundService, IModelActivitySource
{
    private readonly SnapshotStream<FleetModelActivity> _stream = new(FleetModelActivity.Empty, time);

    public Versioned<FleetModelActivity> Current => _stream.Current;

    public IAsyncEnumerable<Versioned<FleetModelActivity>> WatchAsync(CancellationToken cancellationToken) => _stream.WatchAsync(cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var update in health.WatchAsync(stoppingToken).ConfigureAwait(false))
            {
                var before = _stream.Current.Value;
                var after = _stream.Publish(current => Derive(current, update.Value)).Value;
                foreach (var (spark, activity) in after.Sparks.Where(s => before.Find(s.Key) != s.Value))
                {
                    LogChange(spark, before.Find(spark), activity);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>The activity <paramref name="health"/> implies, given what was known before; <paramref name="previous"/> itself when nothing changed.</summary>
    public static FleetModelActivity Derive(FleetModelActivity previous, FleetHealth health)
    {
        var sparks = ImmutableDictionary.CreateBuilder<string, ModelActivity>(StringComparer.OrdinalIgnoreCase);
        foreach (var spark in health.Sparks)
        {
            var known = previous.Sparks.GetValueOrDefault(spark.Spark);
            var activity = !spark.ModelChecked ? known ?? ModelActivity.Unknown
                : spark.Model is null ? ModelActivity.NoModel
                : spark.Model.Status == HealthStatus.Loading ? ModelActivity.Loading(spark.Model.ModelId)
                : ModelActivity.Loaded(spark.Model.ModelId);
            sparks[spark.Spark] = known == activity ? known : activity;
        }

        var unchanged = sparks.Count == previous.Sparks.Count && sparks.All(s => ReferenceEquals(previous.Sparks.GetValueOrDefault(s.Key), s.Value));
        return unchanged ? previous : new FleetModelActivity(sparks.ToImmutable());
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "GPU ledger: {Spark} {From} -> {To}")]
    private partial void LogChange(string spark, ModelActivity from, ModelActivity to);
}
