using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.SignalR;
using SparkControl.Core.Swaps;

namespace SparkControl.Web.Hubs;

/// <summary>
/// <c>/hubs/swaps</c>: external clients stream the same swap snapshots the pages show. Call the streaming method
/// <c>Watch</c>: the current board first, then every change.
/// </summary>
public sealed class SwapHub(SwapOrchestrator swaps) : Hub
{
    public const string Path = "/hubs/swaps";

    public async IAsyncEnumerable<SwapBoard> Watch([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var board in swaps.WatchAsync(cancellationToken))
        {
            yield return board.Value;
        }
    }
}
