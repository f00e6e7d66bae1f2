using System.Collections.Immutable;
using SparkControl.Core.Services;

namespace SparkControl.Core.Gpu;

/// <summary>
/// Model activity as the health monitor sees it: a model server whose status is Loading is loading, any other running
/// model server is loaded, none is no model. A Spark the monitor cannot reach keeps what it was last seen doing.
/// </summary>
public static class HealthModelActivity
{
    /// <summary>
    /// The activity <paramref name="health"/> implies, given what was known before; where <paramref name="knownBetter"/>
    /// answers for a Spark (a swap that leads), its answer instead. <paramref name="previous"/> itself when nothing changed.
    /// </summary>
    public static FleetModelActivity Derive(FleetModelActivity previous, FleetHealth health, Func<SparkHealth, ModelActivity?>? knownBetter = null)
    {
        var sparks = ImmutableDictionary.CreateBuilder<string, ModelActivity>(StringComparer.OrdinalIgnoreCase);
        foreach (var spark in health.Sparks)
        {
            var known = previous.Sparks.GetValueOrDefault(spark.Spark);
            var activity = knownBetter?.Invoke(spark) ?? Of(known, spark);
            sparks[spark.Spark] = known == activity ? known : activity;
        }

        var unchanged = sparks.Count == previous.Sparks.Count && sparks.All(s => ReferenceEquals(previous.Sparks.GetValueOrDefault(s.Key), s.Value));
        return unchanged ? previous : new FleetModelActivity(sparks.ToImmutable());
    }

    /// <summary>One Spark's activity as health last saw it; <paramref name="known"/> while its model could not be checked.</summary>
    public static ModelActivity Of(ModelActivity? known, SparkHealth spark) =>
        !spark.ModelChecked ? known ?? ModelActivity.Unknown
        : spark.Model is null ? ModelActivity.NoModel
        : spark.Model.Status == HealthStatus.Loading ? ModelActivity.Loading(spark.Model.ModelId)
        : ModelActivity.Loaded(spark.Model.ModelId);
}
