using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SparkControl.Core.Catalog;
using SparkControl.Core.Gateway;
using SparkControl.Core.Services;
using SparkControl.Core.Swaps;

namespace SparkControl.Core.Operations;

/// <summary>Where a loaded model with an idle time stands: how long nobody has used it, and when it goes.</summary>
public sealed record IdleState(string Spark, string ModelId, TimeSpan After, TimeSpan IdleFor, int InFlight)
{
    public bool Due => InFlight == 0 && IdleFor >= After;
}

/// <summary>
/// Unloads a model nobody uses (llama-swap's <c>ttl</c>): when the model a Spark serves has an idle time in the
/// catalog and no gateway request has been in flight for that long, it is unloaded by an ordinary swap to nothing,
/// which drains the gateway first, so a request that arrives meanwhile waits and then gets the usual answer for a
/// model that is not loaded (or loads it again with Gateway:AutoSwap). Idle time counts from the last request's end,
/// the swap that loaded the model, the panel's start, or when its idle time was set or changed, whichever is latest: a
/// model is never unloaded for time the panel could not see, nor at once because an operator just set a short time.
/// </summary>
public sealed partial class IdleUnloader(
    HealthMonitor health,
    SwapOrchestrator swaps,
    ModelCatalog catalog,
    GatewayGate gate,
    IOptionsMonitor<OperationsOptions> options,
    TimeProvider time,
    ILogger<IdleUnloader> logger) : BackgroundService
{
    public const string Requester = "idle unload";

    private readonly DateTimeOffset _started = time.GetUtcNow();
    private readonly ConcurrentDictionary<string, (TimeSpan After, DateTimeOffset Since)> _settings = new(StringComparer.Ordinal);

    /// <summary>The idle state of the model <paramref name="spark"/> serves, when that model has an idle time.</summary>
    public IdleState? StateOf(string spark) => StateOf(spark, Now());

    /// <summary>What each Spark serves now: health, with the swaps that health has not seen yet on top.</summary>
    private FleetHealth Now() => FleetView.Of(health.Current.Value, swaps.Board, catalog.Current, fleet: null);

    private IdleState? StateOf(string spark, FleetHealth now)
    {
        // A model still loading is not idle yet; one a swap replaced or unloaded is gone, whatever health last saw.
        var served = now.Find(spark)?.Model;
        if (served is null or { Status: HealthStatus.Loading } || catalog.Current.Find(served.ModelId) is not { IdleUnloadAfter: { } after } model)
        {
            return null;
        }

        // The swap that loaded what runs: the latest when it stopped something or ended Ready (one that found the model
        // running and only followed it counts as asked-for use too); one refused before stopping anything (preflight),
        // or still before its stop, leaves the model the swap before it loaded.
        var (latest, settled) = swaps.Board.Of(spark);
        var loader = latest is null || latest.HasStopped || latest.Phase == SwapPhase.Ready ? latest : settled;

        // A cluster model's requests enter the gateway at its head Spark: its use is the use of every Spark it holds.
        var holders = model.Placement == ModelPlacement.Cluster
            ? now.Sparks.Where(s => s.Model?.ModelId == served.ModelId).Select(s => s.Spark).ToList()
            : [spark];
        var usage = holders.Select(gate.Usage).ToList();
        var inFlight = usage.Sum(u => u.InFlight);
        var lastUsed = usage.Max(u => u.LastUsed);
        var loaded = loader is { Phase: SwapPhase.Ready, EndedAt: { } ended } && loader.ModelId == served.ModelId ? ended : (DateTimeOffset?)null;
        var since = new[] { _started, lastUsed ?? _started, loaded ?? _started, SetSince(served.ModelId, after) }.Max();
        var idle = time.GetUtcNow() - since;
        return new IdleState(spark, served.ModelId, after, idle < TimeSpan.Zero ? TimeSpan.Zero : idle, inFlight);
    }

    /// <summary>When the model's idle time was first seen as it is now (checks run often, so this is when it was set).</summary>
    private DateTimeOffset SetSince(string modelId, TimeSpan after)
    {
        var now = time.GetUtcNow();
        return _settings.AddOrUpdate(modelId, (after, now), (_, seen) => seen.After == after ? seen : (after, now)).Since;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.CurrentValue.IdleCheckInterval, time, stoppingToken).ConfigureAwait(false);
                CheckOnce();
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogCheckFailed(ex);
            }
        }
    }

    /// <summary>Unloads every loaded model that is due; the swaps it started, in order.</summary>
    public IReadOnlyList<SwapStatus> CheckOnce()
    {
        var started = new List<SwapStatus>();
        var board = swaps.Board;
        var now = Now();
        foreach (var spark in now.Sparks)
        {
            if (spark.Model is not { Status: HealthStatus.Healthy } || board.BySpark.GetValueOrDefault(spark.Spark) is { IsActive: true }
                || started.Any(s => s.Sparks.Contains(spark.Spark, StringComparer.OrdinalIgnoreCase)) || StateOf(spark.Spark, now) is not { Due: true } state)
            {
                continue;
            }

            try
            {
                var swap = swaps.Start(new SwapRequest(null, spark.Spark, Requester));
                LogUnloading(state.ModelId, spark.Spark, state.IdleFor);
                started.Add(swap);
            }
            catch (SwapConflictException)
            {
                // Another swap took the Spark since the board was read: it decides what serves.
            }
        }

        return started;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Unloading {Model} from {Spark}: unused for {IdleFor}")]
    private partial void LogUnloading(string model, string spark, TimeSpan idleFor);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Checking idle models failed")]
    private partial void LogCheckFailed(Exception ex);
}
