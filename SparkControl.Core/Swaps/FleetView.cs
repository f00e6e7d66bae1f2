using System.Collections.Immutable;
using SparkControl.Core.Catalog;
using SparkControl.Core.Hosts;
using SparkControl.Core.Launch;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;

namespace SparkControl.Core.Swaps;

/// <summary>
/// What each Spark serves now: the one answer the dashboard's cards, the gateway and the idle unloader share. It is
/// health's last check with the latest swap on top where the swap knows better. From the moment a swap stops the old
/// model its phases lead (the model server loads the new model; the services it stopped are down); once it has ended,
/// its outcome holds until health has checked the Spark again, and from then on health's word stands, also while a later
/// swap has not yet stopped anything. A swap publishes each phase at once; health, on its interval, confirms.
/// </summary>
public static class FleetView
{
    /// <summary>The fleet as it is now; <paramref name="health"/> itself when no swap changes anything.</summary>
    public static FleetHealth Of(FleetHealth health, SwapBoard board, CatalogSnapshot catalog, FleetConfiguration? fleet)
    {
        if (board.BySpark.IsEmpty)
        {
            return health;
        }

        var changed = false;
        var sparks = ImmutableArray.CreateBuilder<SparkHealth>(health.Sparks.Length);
        foreach (var spark in health.Sparks)
        {
            var (latest, settled) = board.Of(spark.Spark);
            var now = Of(spark, latest, catalog, fleet?.Find(spark.Spark), settled);
            changed |= !ReferenceEquals(now, spark);
            sparks.Add(now);
        }

        return changed ? new FleetHealth(sparks.MoveToImmutable()) : health;
    }

    /// <summary>
    /// One Spark as it is now, given its latest swap and the ended one that last changed it
    /// (<see cref="SwapBoard.SettledBySpark"/>); <paramref name="spark"/> itself when health's word stands.
    /// </summary>
    public static SparkHealth Of(SparkHealth spark, SwapStatus? latest, CatalogSnapshot catalog, SparkEntry? entry, SwapStatus? settled) => Leading(spark, latest, settled) switch
    {
        null => spark,
        { IsActive: true } swap => Changing(spark, swap, catalog),
        { Phase: SwapPhase.Ready } swap => Settled(spark, swap, catalog, entry),
        { } swap => Unsettled(spark, swap, swap.EndedAt!.Value),
    };

    /// <summary>
    /// The swap whose word leads over health's for <paramref name="spark"/>, or null when health's stands: one that has
    /// stopped the old model and runs, or has ended since health last checked the Spark. Before Stopping (and in a swap
    /// that only follows the loaded model) the model that ran still serves: what health saw, or, where health has not
    /// looked since, what the <paramref name="settled"/> swap before it left (an unload's "nothing", not the model it
    /// stopped, which a check started before the unload ended may still report).
    /// </summary>
    public static SwapStatus? Leading(SparkHealth spark, SwapStatus? latest, SwapStatus? settled) => latest switch
    {
        null or { HasStopped: false } => Unchecked(spark, settled),
        { IsActive: true } => latest,
        _ => Unchecked(spark, latest),
    };

    /// <summary>The swap whose word leads for <paramref name="spark"/>, from its latest and settled swaps on <paramref name="board"/>.</summary>
    public static SwapStatus? Leading(SparkHealth spark, SwapBoard board)
    {
        var (latest, settled) = board.Of(spark.Spark);
        return Leading(spark, latest, settled);
    }

    /// <summary>An ended swap that stopped what ran, when health has not checked the Spark since it ended.</summary>
    private static SwapStatus? Unchecked(SparkHealth spark, SwapStatus? ended) =>
        ended is { HasStopped: true, EndedAt: { } at } && (spark.CheckedAt ?? DateTimeOffset.MinValue) < at ? ended : null;

    /// <summary>Stopping through Verifying: the old model is going or gone, the new one is not verified.</summary>
    private static SparkHealth Changing(SparkHealth spark, SwapStatus swap, CatalogSnapshot catalog)
    {
        var since = swap.Phases.First(p => p.Phase == SwapPhase.Stopping).StartedAt;
        var model = swap.ModelId is { } id ? catalog.Find(id) : null;
        var (status, reason) = model is null
            ? (HealthStatus.Down, $"swap {swap.Id} unloads it: {swap.Phase}")
            : (HealthStatus.Loading, $"swap {swap.Id} to {model.ServedName}: {swap.Phase}");
        var services = spark.Services.Select(s => IsModelServer(spark, s) ? Mark(s, status, reason, since, []) : StoppedBy(swap, s, since));
        var loaded = model is null ? null : new LoadedModel(model.Id, model.ServedName, swap.Container ?? spark.Model?.Container ?? LaunchSpecs.ModelContainerName, model.Port, HealthStatus.Loading);
        return spark with { Model = loaded, Services = [.. services] };
    }

    /// <summary>Ready, not checked since: what the swap verified serves (nothing, after an unload).</summary>
    private static SparkHealth Settled(SparkHealth spark, SwapStatus swap, CatalogSnapshot catalog, SparkEntry? entry)
    {
        var ended = swap.EndedAt!.Value;
        if (swap.ModelId is null)
        {
            var unloaded = spark.Services.Select(s => IsModelServer(spark, s) ? Mark(s, HealthStatus.Down, $"unloaded by swap {swap.Id}", ended, []) : StoppedBy(swap, s, ended));
            return spark with { Model = null, Services = [.. unloaded] };
        }

        if (catalog.Find(swap.ModelId) is not { } model)
        {
            return spark;
        }

        var container = swap.Container ?? LaunchSpecs.ModelContainerName;
        var reason = $"serving {model.ServedName} (verified by swap {swap.Id})";
        var endpoint = entry?.Host.GetEndpoint(model.Port);
        var services = spark.Services.Select(s => s.Container == container
            ? Mark(s, HealthStatus.Healthy, reason, ended, [model.ServedName]) with { Endpoint = endpoint ?? s.Endpoint, ContainerStatus = ContainerStatus.Running, IsModelServer = true }
            : IsModelServer(spark, s) ? Mark(s, HealthStatus.Down, $"stopped by swap {swap.Id}", ended, []) : StoppedBy(swap, s, ended)).ToList();
        if (!services.Exists(s => s.Container == container))
        {
            // Health last looked while no model container ran: the swap's own is the server.
            services.Add(new ServiceHealth
            {
                Spark = spark.Spark,
                Name = container,
                Kind = ServiceKind.VllmLlm,
                Status = HealthStatus.Healthy,
                Reason = reason,
                Since = ended,
                CheckedAt = ended,
                Container = container,
                ContainerStatus = ContainerStatus.Running,
                Endpoint = endpoint,
                ServedModels = [model.ServedName],
                IsModelServer = true,
            });
        }

        return spark with { Model = new LoadedModel(model.Id, model.ServedName, container, model.Port, HealthStatus.Healthy), Services = [.. services] };
    }

    /// <summary>Failed, cancelled or interrupted after stopping, not checked since: what runs is not known until health looks.</summary>
    private static SparkHealth Unsettled(SparkHealth spark, SwapStatus swap, DateTimeOffset ended)
    {
        var reason = $"swap {swap.Id} ended {swap.Phase}: checking what runs";
        var services = spark.Services.Select(s => IsModelServer(spark, s) ? Mark(s, HealthStatus.Unknown, reason, ended, []) : StoppedBy(swap, s, ended));
        return spark with { Model = null, Services = [.. services] };
    }

    private static bool IsModelServer(SparkHealth spark, ServiceHealth service) =>
        service.IsModelServer || (spark.Model is { } model && service.Container == model.Container);

    /// <summary>A service the swap stopped to make room (from Stopping on) is down, whatever health last saw.</summary>
    private static ServiceHealth StoppedBy(SwapStatus swap, ServiceHealth service, DateTimeOffset since) =>
        swap.StopServices.Contains(service.Name, StringComparer.OrdinalIgnoreCase)
            ? Mark(service, HealthStatus.Down, $"stopped by swap {swap.Id} to make room", since, [])
            : service;

    private static ServiceHealth Mark(ServiceHealth service, HealthStatus status, string reason, DateTimeOffset since, ImmutableArray<string> served) =>
        service with { Status = status, Reason = reason, Since = service.Status == status ? service.Since : since, ServedModels = served };
}
