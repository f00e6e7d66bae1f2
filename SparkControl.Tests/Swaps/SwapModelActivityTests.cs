using System.Collections.Immutable;
using SparkControl.Core.Gpu;
using SparkControl.Core.Streams;
using SparkControl.Core.Swaps;

namespace SparkControl.Tests.Swaps;

/// <summary>What the GPU ledger counts while swaps run: the swap's phases over what health sees.</summary>
public sealed class SwapModelActivityTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    private static Versioned<FleetModelActivity> Health(ModelActivity activity, DateTimeOffset at) =>
        new(1, new FleetModelActivity(ImmutableDictionary<string, ModelActivity>.Empty.WithComparers(StringComparer.OrdinalIgnoreCase).Add("spark-1", activity)), at);

    private static SwapBoard Board(SwapPhase phase, string? model = "new", DateTimeOffset? ended = null) => SwapBoard.Empty.With(new SwapStatus
    {
        Id = "s1",
        Target = "spark-1",
        Sparks = ["spark-1"],
        ModelId = model,
        Requester = "test",
        Phase = phase,
        RequestedAt = T0,
        EndedAt = ended,
    });

    public static TheoryData<SwapPhase, string> PhasesAndWhatCounts => new()
    {
        { SwapPhase.Preflight, "loaded old" },
        { SwapPhase.Downloading, "loaded old" },
        { SwapPhase.Draining, "loaded old" },
        { SwapPhase.Stopping, "loading new" },
        { SwapPhase.Launching, "loading new" },
        { SwapPhase.Loading, "loading new" },
        { SwapPhase.Verifying, "loading new" },
    };

    [Theory]
    [MemberData(nameof(PhasesAndWhatCounts))]
    public void ActiveSwap_CountsLoadingFromStoppingThroughVerifying(SwapPhase phase, string expected)
    {
        var combined = SwapModelActivitySource.Combine(FleetModelActivity.Empty, Health(ModelActivity.Loaded("old"), T0), Board(phase));

        Assert.Equal(expected, combined.Find("spark-1").ToString());
    }

    [Fact]
    public void Unload_WhileStopping_IsLoadingNothing_ThenNoModelUntilHealthCatchesUp()
    {
        var stopping = SwapModelActivitySource.Combine(FleetModelActivity.Empty, Health(ModelActivity.Loaded("old"), T0), Board(SwapPhase.Stopping, model: null));
        var done = SwapModelActivitySource.Combine(stopping, Health(ModelActivity.Loaded("old"), T0), Board(SwapPhase.Ready, model: null, ended: T0.AddSeconds(5)));

        Assert.Equal(new ModelActivity(null, ModelActivityState.Loading), stopping.Find("spark-1"));
        Assert.Equal(ModelActivity.NoModel, done.Find("spark-1"));
    }

    [Fact]
    public void ReadySwap_HoldsUntilHealthHasCheckedAgain_ThenHealthDecides()
    {
        var ended = T0.AddSeconds(10);
        var stale = SwapModelActivitySource.Combine(FleetModelActivity.Empty, Health(ModelActivity.Loading("new"), T0), Board(SwapPhase.Ready, ended: ended));
        var fresh = SwapModelActivitySource.Combine(stale, Health(ModelActivity.NoModel, ended.AddSeconds(1)), Board(SwapPhase.Ready, ended: ended));

        Assert.Equal(ModelActivity.Loaded("new"), stale.Find("spark-1"));
        Assert.Equal(ModelActivity.NoModel, fresh.Find("spark-1"));
    }

    [Fact]
    public void FailedSwap_LeavesItToHealth()
    {
        var combined = SwapModelActivitySource.Combine(FleetModelActivity.Empty, Health(ModelActivity.NoModel, T0), Board(SwapPhase.Failed, ended: T0.AddSeconds(5)));

        Assert.Equal(ModelActivity.NoModel, combined.Find("spark-1"));
    }

    [Fact]
    public void NothingChanged_PublishesNothing()
    {
        var health = Health(ModelActivity.Loaded("old"), T0);
        var first = SwapModelActivitySource.Combine(FleetModelActivity.Empty, health, SwapBoard.Empty);

        Assert.Same(first, SwapModelActivitySource.Combine(first, health, SwapBoard.Empty));
    }
}
