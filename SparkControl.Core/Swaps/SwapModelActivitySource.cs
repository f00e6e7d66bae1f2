using System.Collections.Immutable;
using Microsoft.Extensions.Hosting;
using SparkControl.Core.Gpu;
using SparkControl.Core.Streams;

namespace SparkControl.Core.Swaps;

/// <summary>
/// Model activity for the GPU ledger with the swap's own phases on top of what health sees: from Stopping through
/// Verifying a Spark is loading the swap's target (nothing, for an unload); once a swap is Ready its result holds until
/// health has checked again; in every other phase (Downloading and Draining included) the serving model keeps it.
/// </summary>
public sealed class SwapModelActivitySource(HealthModelActivitySource health, SwapOrchestrator swaps, TimeProvider time)
    : BackgroundService, IModelActivitySource
{
    private readonly SnapshotStream<FleetModelActivity> _stream = new(FleetModelActivity.Empty, time);
    private readonly object _gate = new();
    private Versioned<FleetModelActivity> _health = health.Current;
    private SwapBoard _board = swaps.Board;

    public Versioned<FleetModelActivity> Current => _stream.Current;

    public IAsyncEnumerable<Versioned<FleetModelActivity>> WatchAsync(CancellationToken cancellationToken) => _stream.WatchAsync(cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await Task.WhenAll(
                FollowAsync(health.WatchAsync(stoppingToken), update => _health = update),
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
                _stream.Publish(current => Combine(current, _health, _board));
            }
        }
    }

    /// <summary>What the ledger should count for each Spark; <paramref name="previous"/> itself when nothing changed.</summary>
    public static FleetModelActivity Combine(FleetModelActivity previous, Versioned<FleetModelActivity> health, SwapBoard board)
    {
        var sparks = ImmutableDictionary.CreateBuilder<string, ModelActivity>(StringComparer.OrdinalIgnoreCase);
        foreach (var spark in health.Value.Sparks.Keys.Union(board.BySpark.Keys, StringComparer.OrdinalIgnoreCase))
        {
            var seen = health.Value.Find(spark);
            var activity = board.BySpark.GetValueOrDefault(spark) switch
            {
                { IsActive: true, Phase: >= SwapPhase.Stopping and <= SwapPhase.Verifying } swap => new ModelActivity(swap.ModelId, ModelActivityState.Loading),
                { Phase: SwapPhase.Ready, EndedAt: { } ended } swap when health.PublishedAt < ended =>
                    swap.ModelId is { } model ? ModelActivity.Loaded(model) : ModelActivity.NoModel,
                _ => seen,
            };
            var known = previous.Sparks.GetValueOrDefault(spark);
            sparks[spark] = known == activity ? known : activity;
        }

        var unchanged = sparks.Count == previous.Sparks.Count && sparks.All(s => ReferenceEquals(previous.Sparks.GetValueOrDefault(s.Key), s.Value));
        return unchanged ? previous : new FleetModelActivity(sparks.ToImmutable());
    }
}
