using System.Collections.Immutable;
using SparkControl.Core.Catalog;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Core.Swaps;

namespace SparkControl.Tests.Swaps;

/// <summary>What a Spark serves now: the latest swap's phases over health's last check, until health has looked again.</summary>
public sealed class FleetViewTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    private static readonly CatalogSnapshot Catalog = new([SwapWorld.Model("old"), SwapWorld.Model("new")], []);

    private static ServiceHealth Service(string name, HealthStatus status, string reason, bool modelServer = false, params string[] served) => new()
    {
        Spark = "spark-1",
        Name = name,
        Kind = modelServer ? ServiceKind.VllmLlm : ServiceKind.Embeddings,
        Status = status,
        Reason = reason,
        Since = T0,
        CheckedAt = T0,
        Container = name,
        Endpoint = new Uri("http://127.0.0.1:8000"),
        ServedModels = [.. served],
        IsModelServer = modelServer,
    };

    /// <summary>Health as last checked at <paramref name="checkedAt"/>: "old" serving, an embeddings server and an ASR beside it.</summary>
    private static SparkHealth Health(DateTimeOffset checkedAt, bool withModelServer = true) => new()
    {
        Spark = "spark-1",
        Reachability = Reachability.Reachable,
        Model = withModelServer ? new LoadedModel("old", "old", "sparkcontrol-llm", 8000, HealthStatus.Healthy) : null,
        ModelChecked = true,
        CheckedAt = checkedAt,
        Services =
        [
            .. withModelServer ? [Service("sparkcontrol-llm", HealthStatus.Healthy, "serving old", modelServer: true, "old")] : Array.Empty<ServiceHealth>(),
            Service("embeddings", HealthStatus.Healthy, "serving e5", served: "e5"),
            Service("asr", HealthStatus.Healthy, "answering"),
        ],
    };

    /// <summary>A swap that went through <paramref name="phases"/> in order, a second each; ended when the last is terminal.</summary>
    private static SwapStatus Swap(string? model, params SwapPhase[] phases)
    {
        var timings = phases.Select((p, i) => new PhaseTiming(p, T0.AddSeconds(i + 1), p.IsTerminal() ? T0.AddSeconds(i + 1) : null));
        return new SwapStatus
        {
            Id = "s1",
            Target = "spark-1",
            Sparks = ["spark-1"],
            ModelId = model,
            PreviousModelId = "old",
            Requester = "test",
            Phase = phases[^1],
            RequestedAt = T0,
            EndedAt = phases[^1].IsTerminal() ? T0.AddSeconds(phases.Length) : null,
            Phases = [.. timings],
            StopServices = ["asr"],
            Container = "sparkcontrol-llm",
        };
    }

    private static readonly SwapPhase[] ToLoading = [SwapPhase.Requested, SwapPhase.Preflight, SwapPhase.Draining, SwapPhase.Stopping, SwapPhase.Launching, SwapPhase.Loading];

    [Fact]
    public void BeforeStopping_TheModelThatRanStillServes_AsHealthSaw()
    {
        var health = Health(T0);

        var now = FleetView.Of(health, Swap("new", SwapPhase.Requested, SwapPhase.Preflight, SwapPhase.Draining), Catalog, entry: null, settled: null);

        Assert.Same(health, now);
    }

    [Fact]
    public void Loading_TheSparkLoadsTheNewModel_TheOldServerIsNotHealthy_AndWhatTheSwapStoppedIsDown()
    {
        var now = FleetView.Of(Health(T0.AddSeconds(30)), Swap("new", ToLoading), Catalog, entry: null, settled: null);

        Assert.Equal(new LoadedModel("new", "new", "sparkcontrol-llm", 8000, HealthStatus.Loading), now.Model);
        var server = now.Services.Single(s => s.Name == "sparkcontrol-llm");
        Assert.Equal(HealthStatus.Loading, server.Status);
        Assert.Equal("swap s1 to new: Loading", server.Reason);
        Assert.Empty(server.ServedModels);
        Assert.Equal(HealthStatus.Down, now.Services.Single(s => s.Name == "asr").Status);
        Assert.Equal(HealthStatus.Healthy, now.Services.Single(s => s.Name == "embeddings").Status);
    }

    [Fact]
    public void FollowingTheLoadedModel_NothingStops_SoHealthsWordStands()
    {
        var health = Health(T0);

        var now = FleetView.Of(health, Swap("old", SwapPhase.Requested, SwapPhase.Preflight, SwapPhase.Loading), Catalog, entry: null, settled: null);

        Assert.Same(health, now);
    }

    [Fact]
    public void Ready_BeforeHealthLooksAgain_TheVerifiedModelServes_OnTheCardAndTheTile()
    {
        var swap = Swap("new", [.. ToLoading, SwapPhase.Verifying, SwapPhase.Ready]);

        var now = FleetView.Of(Health(swap.EndedAt!.Value.AddMilliseconds(-1)), swap, Catalog, entry: null, settled: null);

        Assert.Equal(new LoadedModel("new", "new", "sparkcontrol-llm", 8000, HealthStatus.Healthy), now.Model);
        var server = now.Services.Single(s => s.Name == "sparkcontrol-llm");
        Assert.Equal(HealthStatus.Healthy, server.Status);
        Assert.Equal("serving new (verified by swap s1)", server.Reason);
        Assert.Equal("new", Assert.Single(server.ServedModels));
        Assert.Equal(HealthStatus.Down, now.Services.Single(s => s.Name == "asr").Status);
    }

    [Fact]
    public void Ready_OnceHealthHasCheckedSinceTheEnd_HealthDecides()
    {
        var swap = Swap("new", [.. ToLoading, SwapPhase.Verifying, SwapPhase.Ready]);
        var health = Health(swap.EndedAt!.Value);

        Assert.Same(health, FleetView.Of(health, swap, Catalog, entry: null, settled: null));
    }

    [Fact]
    public void Ready_HealthLastLookedWhenNoModelRan_TheSwapsServerIsAdded()
    {
        var swap = Swap("new", [.. ToLoading, SwapPhase.Verifying, SwapPhase.Ready]);

        var now = FleetView.Of(Health(T0, withModelServer: false), swap, Catalog, entry: null, settled: null);

        var server = now.Services.Single(s => s.Name == "sparkcontrol-llm");
        Assert.True(server.IsModelServer);
        Assert.Equal(HealthStatus.Healthy, server.Status);
        Assert.Equal("new", Assert.Single(server.ServedModels));
        Assert.Equal("new", now.Model!.ModelId);
    }

    [Fact]
    public void UnloadReady_NothingServes_TheServerIsDown()
    {
        var now = FleetView.Of(Health(T0), Swap(null, SwapPhase.Requested, SwapPhase.Preflight, SwapPhase.Draining, SwapPhase.Stopping, SwapPhase.Ready), Catalog, entry: null, settled: null);

        Assert.Null(now.Model);
        Assert.Equal(HealthStatus.Down, now.Services.Single(s => s.Name == "sparkcontrol-llm").Status);
    }

    [Fact]
    public void FailedAfterStopping_WhatRunsIsUnknown_UntilHealthLooks()
    {
        var now = FleetView.Of(Health(T0), Swap("new", [.. ToLoading, SwapPhase.Failed]), Catalog, entry: null, settled: null);

        Assert.Null(now.Model);
        var server = now.Services.Single(s => s.Name == "sparkcontrol-llm");
        Assert.Equal(HealthStatus.Unknown, server.Status);
        Assert.Equal("swap s1 ended Failed: checking what runs", server.Reason);
    }

    [Fact]
    public void AnUnloadHealthHasNotSeen_StillStands_WhileTheNextSwapHasNotStoppedAnything()
    {
        // The gateway's auto-swap right after an idle unload: the load is Requested, and the last health check started
        // before the unload ended still lists the old model on its (now closed) port.
        var unload = Swap(null, SwapPhase.Requested, SwapPhase.Preflight, SwapPhase.Draining, SwapPhase.Stopping, SwapPhase.Ready);
        var load = Swap("old", SwapPhase.Requested) with { Id = "s2" };
        var board = SwapBoard.Empty.With(unload).With(load);
        var stale = Health(unload.EndedAt!.Value.AddMilliseconds(-1));
        var seen = Health(unload.EndedAt!.Value);

        var now = FleetView.Of(new FleetHealth([stale]), board, Catalog, fleet: null).Sparks.Single();
        var loading = FleetView.Of(new FleetHealth([stale]), board.With(Swap("old", ToLoading) with { Id = "s2" }), Catalog, fleet: null).Sparks.Single();

        Assert.Same(load, board.BySpark["spark-1"]);
        Assert.Null(now.Model);
        Assert.Equal(HealthStatus.Down, now.Services.Single(s => s.Name == "sparkcontrol-llm").Status);
        Assert.Equal("unloaded by swap s1", now.Services.Single(s => s.Name == "sparkcontrol-llm").Reason);
        Assert.Equal(HealthStatus.Loading, loading.Model!.Status);
        var health = new FleetHealth([seen]);
        Assert.Same(health, FleetView.Of(health, board, Catalog, fleet: null));
    }

    [Fact]
    public void ASwapRefusedBeforeStopping_ChangedNothing_SoTheOneBeforeItStillStands()
    {
        var unload = Swap(null, SwapPhase.Requested, SwapPhase.Preflight, SwapPhase.Draining, SwapPhase.Stopping, SwapPhase.Ready);
        var refused = Swap("new", SwapPhase.Requested, SwapPhase.Preflight, SwapPhase.Failed) with { Id = "s2" };
        var board = SwapBoard.Empty.With(unload).With(refused).With(Swap("new", SwapPhase.Requested) with { Id = "s3" });

        var now = FleetView.Of(new FleetHealth([Health(T0)]), board, Catalog, fleet: null).Sparks.Single();

        Assert.Same(unload, board.SettledBySpark["spark-1"]);
        Assert.Null(now.Model);
        // Amending the settled swap's record (its steps, filled in after it ended) keeps it where it stands.
        var amended = unload with { StopServices = [] };
        Assert.Same(amended, board.Amend(amended).SettledBySpark["spark-1"]);
    }

    [Fact]
    public void ASwapThatFailedAfterStopping_LeavesWhatRunsUnknown_AlsoOnceTheNextSwapIsRequested()
    {
        var failed = Swap("new", [.. ToLoading, SwapPhase.Failed]);
        var board = SwapBoard.Empty.With(failed).With(Swap("old", SwapPhase.Requested) with { Id = "s2" });

        var now = FleetView.Of(new FleetHealth([Health(T0)]), board, Catalog, fleet: null).Sparks.Single();

        Assert.Null(now.Model);
        Assert.Equal("swap s1 ended Failed: checking what runs", now.Services.Single(s => s.Name == "sparkcontrol-llm").Reason);
    }

    [Fact]
    public void Fleet_WithoutSwaps_IsHealthItself()
    {
        var fleet = new FleetHealth([Health(T0)]);

        Assert.Same(fleet, FleetView.Of(fleet, SwapBoard.Empty, Catalog, fleet: null));
    }
}
