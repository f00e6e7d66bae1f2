using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SparkControl.Core.Gpu;
using SparkControl.Core.Services;
using SparkControl.Core.Streams;

namespace SparkControl.Core.Swaps;

/// <summary>
/// Model activity for the GPU ledger: health's last check with the latest swap on top, by the rule the cards follow
/// (<see cref="FleetView.Leading"/>). While a swap changes a Spark's model it is loading the swap's target (nothing, for
/// an unload); once it has ended, its outcome holds until health has checked that Spark again: what it verified after
/// Ready, unknown after a failure; before Stopping, and from health's next check on, health's word stands.
/// </summary>
public sealed partial class SwapModelActivitySource(HealthMonitor health, SwapOrchestrator swaps, TimeProvider time, ILogger<SwapModelActivitySource> logger)
    : BackgroundService, IModelActivitySource
{
    private readonly SnapshotStream<FleetModelActivity> _stream = new(FleetModelActivity.Empty, time);
    private readonly object _gate = new();
    private FleetHealth _health = health.Current.Value;
    private SwapBoard _board = swaps.Board;

    public Versioned<FleetModelActivity> Current => _stream.Current;

    public IAsyncEnumerable<Versioned<FleetModelActivity>> WatchAsync(CancellationToken cancellationToken) => _stream.WatchAsync(cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await Task.WhenAll(
                FollowAsync(health.WatchAsync(stoppingToken), update => _health = update.Value),
                FollowAsync(swaps.WatchAsync(stoppingToken), update => _board = update.Value)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task FollowAsync<T>(IAsyncEnumerable<T> updates, Action<T> apply)
    {
        await foreach (var update in updates.ConfigureAwait(false))
        {
            lock (_gate)
            {
                apply(update);
                var before = _stream.Current.Value;
                var after = _stream.Publish(current => Combine(current, _health, _board)).Value;
                foreach (var (spark, activity) in after.Sparks.Where(s => before.Find(s.Key) != s.Value))
                {
                    LogChange(spark, before.Find(spark), activity);
                }
            }
        }
    }

    /// <summary>What the ledger should count for each Spark; <paramref name="previous"/> itself when nothing changed.</summary>
    public static FleetModelActivity Combine(FleetModelActivity previous, FleetHealth health, SwapBoard board) =>
        HealthModelActivity.Derive(previous, health, spark => FleetView.Leading(spark, board) switch
        {
            null => null,
            { IsActive: true } swap => new ModelActivity(swap.ModelId, ModelActivityState.Loading),
            { Phase: SwapPhase.Ready, ModelId: { } model } => ModelActivity.Loaded(model),
            { Phase: SwapPhase.Ready } => ModelActivity.NoModel,
            _ => ModelActivity.Unknown,
        });

    [LoggerMessage(Level = LogLevel.Information, Message = "GPU ledger: {Spark} {From} -> {To}")]
    private partial void LogChange(string spark, ModelActivity from, ModelActivity to);
}
