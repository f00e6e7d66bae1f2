using SparkControl.Core.Gpu;
using SparkControl.Core.Services;
using SparkControl.Core.Swaps;

namespace SparkControl.Tests.Swaps;

/// <summary>What the GPU ledger counts while swaps run: the swap's phases over what health sees, by the cards' rule.</summary>
public sealed class SwapModelActivityTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    /// <summary>Health's last check of spark-1, at <paramref name="checkedAt"/>, finding <paramref name="activity"/>.</summary>
    private static FleetHealth Health(ModelActivity activity, DateTimeOffset checkedAt) => new(
    [
        new SparkHealth
        {
            Spark = "spark-1",
            Reachability = Reachability.Reachable,
            ModelChecked = true,
            CheckedAt = checkedAt,
            Model = activity.Model is { } model
                ? new LoadedModel(model, model, "sparkcontrol-llm", 8000, activity.State == ModelActivityState.Loading ? HealthStatus.Loading : HealthStatus.Healthy)
                : null,
        },
    ]);

    /// <summary>A swap that went through the phases in order up to <paramref name="phase"/> (a failure after Loading).</summary>
    private static SwapBoard Board(SwapPhase phase, string? model = "new", DateTimeOffset? ended = null)
    {
        var path = phase <= SwapPhase.Ready
            ? Enum.GetValues<SwapPhase>().Where(p => p <= phase)
            : Enum.GetValues<SwapPhase>().Where(p => p <= SwapPhase.Loading).Append(phase);
        return SwapBoard.Empty.With(new SwapStatus
        {
            Id = "s1",
            Target = "spark-1",
            Sparks = ["spark-1"],
            ModelId = model,
            Requester = "test",
            Phase = phase,
            Phases = [.. path.Select(p => new PhaseTiming(p, T0, null))],
            RequestedAt = T0,
            EndedAt = ended,
        });
    }

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
    public void ReadySwap_HoldsUntilHealthHasCheckedThatSparkAgain_ThenHealthDecides()
    {
        var ended = T0.AddSeconds(10);
        var stale = SwapModelActivitySource.Combine(FleetModelActivity.Empty, Health(ModelActivity.Loading("new"), T0), Board(SwapPhase.Ready, ended: ended));
        var fresh = SwapModelActivitySource.Combine(stale, Health(ModelActivity.NoModel, ended.AddSeconds(1)), Board(SwapPhase.Ready, ended: ended));

        Assert.Equal(ModelActivity.Loaded("new"), stale.Find("spark-1"));
        Assert.Equal(ModelActivity.NoModel, fresh.Find("spark-1"));
    }

    /// <summary>As on the cards: after a failure past Stopping, what runs is not known until health looks.</summary>
    [Fact]
    public void FailedSwap_AfterStopping_IsUnknownUntilHealthHasChecked_ThenHealthDecides()
    {
        var ended = T0.AddSeconds(5);
        var stale = SwapModelActivitySource.Combine(FleetModelActivity.Empty, Health(ModelActivity.Loaded("old"), T0), Board(SwapPhase.Failed, ended: ended));
        var fresh = SwapModelActivitySource.Combine(stale, Health(ModelActivity.NoModel, ended.AddSeconds(1)), Board(SwapPhase.Failed, ended: ended));

        Assert.Equal(ModelActivity.Unknown, stale.Find("spark-1"));
        Assert.Equal(ModelActivity.NoModel, fresh.Find("spark-1"));
    }

    [Fact]
    public void FailedSwap_InPreflight_LeavesItToHealth()
    {
        var preflightFailure = SwapBoard.Empty.With(Board(SwapPhase.Preflight).BySpark["spark-1"] with
        {
            Phase = SwapPhase.Failed,
            Phases = [new PhaseTiming(SwapPhase.Requested, T0, T0), new PhaseTiming(SwapPhase.Preflight, T0, T0), new PhaseTiming(SwapPhase.Failed, T0, null)],
            EndedAt = T0.AddSeconds(1),
        });

        var combined = SwapModelActivitySource.Combine(FleetModelActivity.Empty, Health(ModelActivity.Loaded("old"), T0), preflightFailure);

        Assert.Equal(ModelActivity.Loaded("old"), combined.Find("spark-1"));
    }

    [Fact]
    public void NothingChanged_PublishesNothing()
    {
        var health = Health(ModelActivity.Loaded("old"), T0);
        var first = SwapModelActivitySource.Combine(FleetModelActivity.Empty, health, SwapBoard.Empty);

        Assert.Same(first, SwapModelActivitySource.Combine(first, health, SwapBoard.Empty));
    }
}
