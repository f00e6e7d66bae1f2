using Microsoft.Extensions.Hosting;
using SparkControl.Core.Catalog;
using SparkControl.Core.Swaps;

namespace SparkControl.Core.Disk;

/// <summary>
/// Re-measures a model on its Sparks when a swap to it ends Ready: the swap may have downloaded its weights, and the
/// Models page should not show the size from before. A service of its own so the probe and the orchestrator stay
/// independent of each other.
/// </summary>
public sealed class DiskRemeasureAfterSwaps(SwapOrchestrator swaps, ModelCatalog catalog, DiskSizeProbe disk, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Swaps that ended before this started were measured with everything else at start.
        var since = time.GetUtcNow();
        var measured = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            await foreach (var board in swaps.WatchAsync(stoppingToken).ConfigureAwait(false))
            {
                var ready = board.Value.Latest.Where(s => s is { Phase: SwapPhase.Ready, ModelId: not null } && s.EndedAt >= since).ToList();
                foreach (var swap in ready.Where(s => !measured.Contains(s.Id)))
                {
                    // A failed measurement is kept as the entry's error, not thrown.
                    if (catalog.Current.Find(swap.ModelId!) is { } model)
                    {
                        await disk.MeasureAsync(model, swap.Sparks, stoppingToken).ConfigureAwait(false);
                    }
                }

                // Only swaps still on the board are remembered, so the set stays as small as the fleet.
                measured = ready.Select(s => s.Id).ToHashSet(StringComparer.Ordinal);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
