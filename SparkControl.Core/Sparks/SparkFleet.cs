using System.Collections.Immutable;
using SparkControl.Core.Hosts;
using SparkControl.Core.Streams;
using SparkControl.Core.Yaml;

namespace SparkControl.Core.Sparks;

/// <summary>One Spark the panel manages: its configuration and the host that reaches it.</summary>
public sealed record SparkEntry(SparkDefinition Definition, ISparkHost Host, bool IsSimulated)
{
    public string Name => Definition.Name;
}

/// <summary>The Sparks and services the panel manages right now. Replaced as a whole when settings change.</summary>
public sealed record FleetConfiguration(ImmutableArray<SparkEntry> Sparks, ImmutableArray<ServiceDefinition> Services, bool IsDemo)
{
    public static readonly FleetConfiguration Empty = new([], [], false);

    /// <summary>Problems found reading sparks.yaml and services.yaml, shown on the Dashboard and Settings pages.</summary>
    public ImmutableArray<ConfigProblem> Problems { get; init; } = [];

    public SparkEntry? Find(string spark) => Sparks.FirstOrDefault(s => string.Equals(s.Name, spark, StringComparison.OrdinalIgnoreCase));

    public IEnumerable<ServiceDefinition> ServicesOn(string spark) =>
        Services.Where(s => string.Equals(s.Spark, spark, StringComparison.OrdinalIgnoreCase));
}

/// <summary>The current <see cref="FleetConfiguration"/> as a snapshot plus stream.</summary>
public sealed class SparkFleet(TimeProvider time)
{
    private readonly SnapshotStream<FleetConfiguration> _stream = new(FleetConfiguration.Empty, time);

    public FleetConfiguration Current => _stream.Current.Value;

    public SnapshotStream<FleetConfiguration> Stream => _stream;

    public void Publish(FleetConfiguration configuration) => _stream.Publish(configuration);

    /// <summary>The host of <paramref name="spark"/>, or a <see cref="KeyNotFoundException"/> naming the Sparks that exist.</summary>
    public ISparkHost Host(string spark) =>
        Current.Find(spark)?.Host
        ?? throw new KeyNotFoundException($"No Spark is named '{spark}'. Configured: {string.Join(", ", Current.Sparks.Select(s => s.Name))}.");
}
