using SparkControl.Core.Catalog;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Core.Swaps;

namespace SparkControl.Web.Components;

/// <summary>The streams a page's picture of the fleet is made of (see <see cref="LiveComponentBase.WatchFleet"/>).</summary>
public sealed record FleetSources(HealthMonitor Health, SwapOrchestrator Swaps, SparkFleet Fleet, ModelCatalog Catalog);

/// <summary>
/// A page's picture of the fleet: health's last check (<see cref="Seen"/>, null before the first), the swaps, the fleet's
/// configuration, and what the page shows, <see cref="Now"/>: what each Spark serves now (<see cref="FleetView"/>).
/// </summary>
public sealed record LiveFleet(FleetHealth? Seen, SwapBoard Swaps, FleetConfiguration Configuration)
{
    public static LiveFleet Empty { get; } = new(null, SwapBoard.Empty, FleetConfiguration.Empty);

    public FleetHealth? Now { get; init; }
}
