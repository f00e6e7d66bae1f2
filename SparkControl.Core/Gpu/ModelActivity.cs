using System.Collections.Immutable;
using SparkControl.Core.Streams;

namespace SparkControl.Core.Gpu;

/// <summary>What a Spark's GPU is given to at a moment, as far as the ledger is concerned.</summary>
public enum ModelActivityState
{
    /// <summary>Nothing is known yet (before the first health check of the Spark).</summary>
    Unknown,

    /// <summary>No model server runs on the Spark.</summary>
    NoModel,

    /// <summary>A swap is bringing <see cref="ModelActivity.Model"/> up: from Stopping the old one through Verifying the new one.</summary>
    Loading,

    /// <summary><see cref="ModelActivity.Model"/> is loaded (serving, or holding the memory while its server misbehaves).</summary>
    Loaded,
}

/// <summary>
/// The model on one Spark and whether it is loading. <see cref="Model"/> is the catalog id of the model loaded, or
/// of the model being loaded while <see cref="State"/> is <see cref="ModelActivityState.Loading"/> (null while an
/// unload stops the old one); null otherwise.
/// </summary>
public sealed record ModelActivity(string? Model, ModelActivityState State)
{
    public static readonly ModelActivity Unknown = new(null, ModelActivityState.Unknown);
    public static readonly ModelActivity NoModel = new(null, ModelActivityState.NoModel);

    public static ModelActivity Loaded(string model) => new(model, ModelActivityState.Loaded);

    public static ModelActivity Loading(string model) => new(model, ModelActivityState.Loading);

    public override string ToString() => State switch
    {
        ModelActivityState.Loaded => $"loaded {Model}",
        ModelActivityState.Loading => $"loading {Model}",
        ModelActivityState.NoModel => "no model",
        _ => "unknown",
    };
}

/// <summary>The <see cref="ModelActivity"/> of every Spark; a Spark not listed is <see cref="ModelActivity.Unknown"/>.</summary>
public sealed record FleetModelActivity(ImmutableDictionary<string, ModelActivity> Sparks)
{
    public static readonly FleetModelActivity Empty = new(ImmutableDictionary<string, ModelActivity>.Empty.WithComparers(StringComparer.OrdinalIgnoreCase));

    public ModelActivity Find(string spark) => Sparks.GetValueOrDefault(spark) ?? ModelActivity.Unknown;
}

/// <summary>
/// The seam through which the GPU ledger learns which model each Spark holds and whether a swap is loading one.
/// </summary>
/// <remarks>
/// The ledger attributes every sample to <see cref="Current"/> at the moment the sample is counted, so a source should
/// publish a change as soon as it knows it. <see cref="HealthModelActivity"/> derives activity from the health monitor
/// (accurate to one health interval); <c>SwapModelActivitySource</c>, the one the app uses, puts the swaps' phases on
/// top, by the rule the dashboard's cards follow: Loading from Stopping through Verifying for the target model (nothing,
/// for an unload), Loaded for the serving model before Stopping (Downloading and Draining included), and a swap's
/// outcome until health has checked again.
/// </remarks>
public interface IModelActivitySource
{
    Versioned<FleetModelActivity> Current { get; }

    /// <summary>The current activity at once, then every change, until cancelled.</summary>
    IAsyncEnumerable<Versioned<FleetModelActivity>> WatchAsync(CancellationToken cancellationToken);
}
