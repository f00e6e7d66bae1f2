using System.Collections.Frozen;
using System.Collections.Immutable;
using SparkControl.Core.Catalog;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Core.Swaps;

namespace SparkControl.Core.Gateway;

/// <summary>
/// A model server the gateway can send requests to: the names it serves itself and the catalog's aliases for its model.
/// A request by alias is rewritten to <see cref="Upstream"/>, since vLLM refuses names it does not serve.
/// </summary>
public sealed record GatewayTarget(string Spark, string Service, string? ModelId, Uri Endpoint, ImmutableArray<string> Served, ImmutableArray<string> Aliases)
{
    public string Upstream => Served[0];

    /// <summary>The scheme, host and port requests are forwarded to (computed once, not per request).</summary>
    public string DestinationPrefix { get; } = Endpoint.GetLeftPart(UriPartial.Authority);

    public IEnumerable<string> Names => Served.Concat(Aliases);

    /// <summary>
    /// Whether a request admitted for this target may still go to <paramref name="other"/>: the same server on the same
    /// Spark. (Record equality would compare the name arrays by reference, and the table is rebuilt when routes change.)
    /// </summary>
    public bool IsSameServer(GatewayTarget other) =>
        string.Equals(Spark, other.Spark, StringComparison.OrdinalIgnoreCase) && Service == other.Service && Endpoint == other.Endpoint && Upstream == other.Upstream;
}

/// <summary>Where a request for a model name goes.</summary>
public abstract record GatewayResolution
{
    private GatewayResolution()
    {
    }

    /// <summary>A server answers to the name now.</summary>
    public sealed record Route(GatewayTarget Target) : GatewayResolution;

    /// <summary>A swap is bringing up a model with that name: wait for it.</summary>
    public sealed record AwaitSwap(SwapStatus Swap) : GatewayResolution;

    /// <summary>Nothing answers to the name; <see cref="Available"/> says what does.</summary>
    public sealed record Unknown(ImmutableArray<string> Available, ModelDefinition? InCatalog) : GatewayResolution;
}

/// <summary>
/// The gateway's routing table, a pure function of live snapshots: the models loaded now (health's, with the swaps on
/// top: <see cref="FleetView"/>), the other model servers that list their models (embeddings, NIM), and the aliases the
/// catalog gives each model, so a client's name keeps working across swaps. The table is built once per set of
/// snapshots and reused by every request until one of them is replaced; a request costs one dictionary look-up.
/// </summary>
public sealed class GatewayRoutes(HealthMonitor health, SwapOrchestrator swaps, ModelCatalog catalog, SparkFleet fleet)
{
    private Table? _table;

    /// <summary>The servers requests are routed to now.</summary>
    public IReadOnlyList<GatewayTarget> Targets() => Current().Targets;

    /// <summary>
    /// The names requests wait for while a swap runs: the new model's (it will serve them), and the old model's (the
    /// request goes to whatever serves on that Spark afterwards). Served names and aliases alike.
    /// </summary>
    public IReadOnlyList<(string Name, SwapStatus Swap)> Awaited() => Current().Awaited;

    /// <summary>
    /// The name as a metric label: a name the panel knows (served now, or a catalog model's served name or alias), else
    /// "unknown". A client's string is never a label value: its cardinality would be the client's choice.
    /// </summary>
    public string MetricLabel(string name)
    {
        var table = Current();
        return table.ByName.ContainsKey(name) || table.KnownNames.Contains(name) ? name : UnknownLabel;
    }

    public const string UnknownLabel = "unknown";

    public GatewayResolution Resolve(string name)
    {
        var table = Current();
        if (table.ByName.TryGetValue(name, out var route))
        {
            return route;
        }

        foreach (var (awaited, swap) in table.Awaited)
        {
            if (awaited == name)
            {
                return new GatewayResolution.AwaitSwap(swap);
            }
        }

        return new GatewayResolution.Unknown(table.Names, table.Catalog.FindByServedName(name));
    }

    private sealed record Table(
        FleetHealth Health,
        SwapBoard Board,
        CatalogSnapshot Catalog,
        FleetConfiguration Fleet,
        IReadOnlyList<GatewayTarget> Targets,
        // The answer for each routed name, made once per table: a request resolves its model twice (before and after
        // the drain gate) and would otherwise allocate both times.
        FrozenDictionary<string, GatewayResolution.Route> ByName,
        ImmutableArray<string> Names,
        IReadOnlyList<(string Name, SwapStatus Swap)> Awaited,
        FrozenSet<string> KnownNames);

    private Table Current()
    {
        var (healthNow, board, models, configuration) = (health.Current.Value, swaps.Board, catalog.Current, fleet.Current);
        var table = Volatile.Read(ref _table);
        if (table is not null && ReferenceEquals(table.Health, healthNow) && ReferenceEquals(table.Board, board)
            && ReferenceEquals(table.Catalog, models) && ReferenceEquals(table.Fleet, configuration))
        {
            return table;
        }

        // Two requests may both build it after a change; either result is the same table.
        var targets = Targets(healthNow, board, models, configuration);
        table = table is not null && ReferenceEquals(table.Board, board) && ReferenceEquals(table.Catalog, models) && SameTargets(table.Targets, targets)
            // Health is published again for every check of every service, every few seconds, and a check seldom changes
            // what a request is routed by: the table's look-ups are kept. (Built again for each check, they were the
            // most code the panel still compiled under a client's first minutes of load.)
            ? table with { Health = healthNow, Fleet = configuration }
            : Build(targets, healthNow, board, models, configuration);
        Volatile.Write(ref _table, table);
        return table;
    }

    /// <summary>The same servers, serving the same names under the same aliases, in the same order (which decides ties).</summary>
    private static bool SameTargets(IReadOnlyList<GatewayTarget> before, List<GatewayTarget> now)
    {
        if (before.Count != now.Count)
        {
            return false;
        }

        for (var i = 0; i < now.Count; i++)
        {
            var (a, b) = (before[i], now[i]);
            // The address as written: Uri's equality leaves out a user and password, which a request forwarded there sends.
            if (a.Spark != b.Spark || a.Service != b.Service || a.ModelId != b.ModelId || a.Endpoint.OriginalString != b.Endpoint.OriginalString
                || !a.Served.SequenceEqual(b.Served) || !a.Aliases.SequenceEqual(b.Aliases))
            {
                return false;
            }
        }

        return true;
    }

    private static Table Build(List<GatewayTarget> targets, FleetHealth healthNow, SwapBoard board, CatalogSnapshot models, FleetConfiguration configuration)
    {
        var byName = ByName(targets);
        var awaited = AwaitedNames(board, models);
        // Every name the catalog gives its models, loaded or not: the names a metric may carry.
        var known = models.Models.SelectMany(m => new[] { m.ServedName }.Concat(m.Aliases)).ToFrozenSet(StringComparer.Ordinal);
        return new Table(healthNow, board, models, configuration, targets, byName.ToFrozenDictionary(n => n.Key, n => new GatewayResolution.Route(n.Value), StringComparer.Ordinal),
            [.. byName.Keys.Order(StringComparer.Ordinal)], awaited, known);
    }

    /// <summary>
    /// Every server that takes requests now: every healthy or degraded service that lists what it serves, as the
    /// <see cref="FleetView"/> has it (a model a swap just verified serves before health has looked again; one a swap is
    /// replacing does not).
    /// </summary>
    private static List<GatewayTarget> Targets(FleetHealth healthNow, SwapBoard board, CatalogSnapshot models, FleetConfiguration configuration)
    {
        var targets = new List<GatewayTarget>();
        foreach (var spark in FleetView.Of(healthNow, board, models, configuration).Sparks)
        {
            // Degraded still routes: a server that missed one probe, or serves another name than its labels say, answers
            // for what it lists.
            foreach (var service in spark.Services.Where(s => s.Status is HealthStatus.Healthy or HealthStatus.Degraded && s.Endpoint is not null && !s.ServedModels.IsDefaultOrEmpty))
            {
                if (IsAudio(configuration, service))
                {
                    continue;
                }

                var modelId = service.IsModelServer && spark.Model is { } loaded && loaded.Container == service.Container ? loaded.ModelId : null;
                var aliases = modelId is not null && models.Find(modelId) is { } model ? model.Aliases.ToArray() : [];
                targets.Add(new GatewayTarget(spark.Spark, service.Name, modelId, service.Endpoint!, service.ServedModels, [.. aliases]));
            }
        }

        return targets;
    }

    /// <summary>An audio service (one that names its models) is the audio routes' (<see cref="AudioRoutes"/>), not chat's.</summary>
    private static bool IsAudio(FleetConfiguration configuration, ServiceHealth service) =>
        configuration.ServicesOn(service.Spark).Any(s => s.Name == service.Name && s.Audio is not null);

    /// <summary>A served name wins over an alias; among equals, the first Spark in the fleet's order.</summary>
    private static Dictionary<string, GatewayTarget> ByName(List<GatewayTarget> targets)
    {
        var byName = new Dictionary<string, GatewayTarget>(StringComparer.Ordinal);
        foreach (var target in targets)
        {
            foreach (var name in target.Served)
            {
                byName.TryAdd(name, target);
            }
        }

        foreach (var target in targets)
        {
            foreach (var name in target.Aliases)
            {
                byName.TryAdd(name, target);
            }
        }

        return byName;
    }

    /// <summary>The names (served and aliases) of the models active swaps bring or take away, with the swap a request waits for.</summary>
    private static List<(string, SwapStatus)> AwaitedNames(SwapBoard board, CatalogSnapshot models)
    {
        var awaited = new List<(string, SwapStatus)>();
        foreach (var swap in board.Active)
        {
            foreach (var id in new[] { swap.ModelId, swap.PreviousModelId })
            {
                if (id is not null && models.Find(id) is { } model)
                {
                    awaited.AddRange(new[] { model.ServedName }.Concat(model.Aliases).Distinct(StringComparer.Ordinal).Select(n => (n, swap)));
                }
            }
        }

        return awaited;
    }
}
