using System.Collections.Immutable;
using SparkControl.Core.Hosts;
using SparkControl.Core.Sparks;

namespace SparkControl.Core.Services;

public enum HealthStatus
{
    Unknown,
    Healthy,
    Loading,
    Degraded,
    Down,
}

/// <summary>The health of one service at one moment, with the reason in words.</summary>
public sealed record ServiceHealth
{
    public required string Spark { get; init; }
    public required string Name { get; init; }
    public required ServiceKind Kind { get; init; }
    public required HealthStatus Status { get; init; }
    public required string Reason { get; init; }

    /// <summary>When the service entered <see cref="Status"/>.</summary>
    public required DateTimeOffset Since { get; init; }

    public DateTimeOffset CheckedAt { get; init; }
    public string? Container { get; init; }
    public ContainerStatus? ContainerStatus { get; init; }
    public Uri? Endpoint { get; init; }

    /// <summary>For model servers: the served names <c>/v1/models</c> listed.</summary>
    public ImmutableArray<string> ServedModels { get; init; } = [];

    /// <summary>True for a model container the panel found by its labels rather than in services.yaml.</summary>
    public bool IsModelServer { get; init; }

    public string Key => $"{Spark}/{Name}";
}

/// <summary>Whether a Spark answered its last check.</summary>
public enum Reachability
{
    Unknown,
    Reachable,
    Unreachable,
}

/// <summary>The model a Spark serves now, from its container's labels.</summary>
public sealed record LoadedModel(string ModelId, string ServedName, string Container, int Port, HealthStatus Status);

/// <summary>One Spark's health: whether it answers, what model it serves, and each service's health.</summary>
public sealed record SparkHealth
{
    public required string Spark { get; init; }
    public bool IsSimulated { get; init; }
    public Reachability Reachability { get; init; }
    public string? Error { get; init; }
    public LoadedModel? Model { get; init; }

    /// <summary>
    /// True once a check has settled <see cref="Model"/>; false while a Spark's first check is still probing its
    /// services, and when the Spark is unreachable (what it serves is then not known).
    /// </summary>
    public bool ModelChecked { get; init; }

    public ImmutableArray<ServiceHealth> Services { get; init; } = [];
    public DateTimeOffset? CheckedAt { get; init; }

    /// <summary>The SSH connection's state (null for a simulated Spark).</summary>
    public Remote.SparkConnection? Connection { get; init; }
}

/// <summary>Every Spark's health; the dashboard renders this.</summary>
public sealed record FleetHealth(ImmutableArray<SparkHealth> Sparks)
{
    public static readonly FleetHealth Empty = new([]);

    public SparkHealth? Find(string spark) => Sparks.FirstOrDefault(s => string.Equals(s.Spark, spark, StringComparison.OrdinalIgnoreCase));

    public ServiceHealth? Find(string spark, string service) =>
        Find(spark)?.Services.FirstOrDefault(s => string.Equals(s.Name, service, StringComparison.OrdinalIgnoreCase));

    /// <summary>This fleet with <paramref name="spark"/> replaced (or added), in configuration order given by <paramref name="order"/>.</summary>
    public FleetHealth WithSpark(SparkHealth spark, IReadOnlyList<string> order)
    {
        var sparks = Sparks.Where(s => s.Spark != spark.Spark && order.Contains(s.Spark)).Append(spark)
            .OrderBy(s => IndexOf(order, s.Spark))
            .ToImmutableArray();
        return new FleetHealth(sparks);
    }

    /// <summary>This fleet with one service's health replaced, as soon as its probe finishes.</summary>
    public FleetHealth WithService(ServiceHealth service)
    {
        var spark = Find(service.Spark);
        if (spark is null)
        {
            return this;
        }

        var index = spark.Services.IndexOf(spark.Services.FirstOrDefault(s => s.Name == service.Name)!);
        var services = index < 0 ? spark.Services.Add(service) : spark.Services.SetItem(index, service);
        return new FleetHealth(Sparks.Replace(spark, spark with { Services = services }));
    }

    private static int IndexOf(IReadOnlyList<string> order, string spark)
    {
        for (var i = 0; i < order.Count; i++)
        {
            if (order[i] == spark)
            {
                return i;
            }
        }

        return int.MaxValue;
    }
}
