using System.Net;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using SparkControl.Core.Catalog;
using SparkControl.Core.Diagnostics;
using SparkControl.Core.Hosts;
using SparkControl.Core.Sparks;
using SparkControl.Core.Swaps;
using SparkControl.Sim.Hosting;
using SparkControl.Sim.Server;
using SparkControl.Tests.Infrastructure;
using SparkControl.Core.Validation;

namespace SparkControl.Tests.Swaps;

/// <summary>The swap orchestrator against simulated Sparks: every phase, every failure path, cancel, locking, restart.</summary>
public sealed class SwapOrchestratorTests
{
    private static SwapPhase[] PhasesOf(SwapStatus swap) => [.. swap.Phases.Select(p => p.Phase)];

    private static async Task<bool> ServesAsync(Uri endpoint, string served)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            return (await http.GetStringAsync(new Uri(endpoint, "/v1/models"))).Contains($"\"{served}\"", StringComparison.Ordinal);
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    [Fact]
    public async Task Swap_FromNothing_PassesEveryPhaseInOrder_AndTheModelServes()
    {
        await using var world = await SwapWorld.CreateAsync();
        using var swaps = new MetricCollector<long>(world.Meters, SparkControlMetrics.MeterName, "sparkcontrol.swaps");

        var swap = await world.SwapAsync("small-a");

        Assert.Equal(SwapPhase.Ready, swap.Phase);
        Assert.Equal(
            [SwapPhase.Requested, SwapPhase.Preflight, SwapPhase.Draining, SwapPhase.Stopping, SwapPhase.Launching, SwapPhase.Loading, SwapPhase.Verifying, SwapPhase.Ready],
            PhasesOf(swap));
        Assert.All(swap.Phases, p => Assert.NotNull(p.EndedAt));
        Assert.Equal(1, swap.Progress);
        Assert.Null(swap.PreviousModelId);
        Assert.Contains("--entrypoint vllm", swap.CommandLine, StringComparison.Ordinal);
        Assert.Contains("serve org/small-a --served-model-name small-a", swap.CommandLine, StringComparison.Ordinal);
        Assert.True(await ServesAsync(world.Host.GetEndpoint(8000), "small-a"));
        Assert.Equal(["drain spark-1", "release spark-1"], world.Drain.Calls);
        var saved = world.History.Find(swap.Id)!;
        Assert.Equal(SwapPhase.Ready, saved.Phase);
        Assert.Equal(PhasesOf(swap), PhasesOf(saved));
        Assert.Equal("Ready", Assert.Single(swaps.GetMeasurementSnapshot()).Tags["outcome"]);
    }

    [Fact]
    public async Task Swap_ReplacesTheRunningModel_KeepingItsLastLogLines()
    {
        await using var world = await SwapWorld.CreateAsync();
        await world.SwapAsync("small-a");

        var swap = await world.SwapAsync("small-b");

        Assert.Equal(SwapPhase.Ready, swap.Phase);
        Assert.Equal("small-a", swap.PreviousModelId);
        Assert.Contains(swap.PreviousLogs, l => l.Contains("Application startup complete", StringComparison.Ordinal));
        var container = Assert.Single(await world.ModelContainersAsync());
        Assert.Equal("small-b", container.Labels[ContainerLabels.Model]);
        Assert.True(await ServesAsync(world.Host.GetEndpoint(8000), "small-b"));
    }

    [Fact]
    public async Task Swap_AnInterruptedDownloadInTheCache_IsDownloadedAgain_SinceTheServerRunsOffline()
    {
        await using var world = await SwapWorld.CreateAsync();
        // Enough bytes to pass for present by size, but hf left a blob half written.
        world.Sim.Disk.AddDirectory("/home/demo/.cache/huggingface/hub/models--org--fresh/blobs", SwapWorld.GiB, "0a1b2c.incomplete");

        var swap = await world.SwapAsync("fresh");

        Assert.Equal(SwapPhase.Ready, swap.Phase);
        Assert.Contains(SwapPhase.Downloading, PhasesOf(swap));
    }

    [Fact]
    public async Task Swap_WeightsMissing_DownloadsFirstWithByteProgress_WhileTheOldModelServes()
    {
        await using var world = await SwapWorld.CreateAsync();
        await world.SwapAsync("small-a");
        world.Host.Close(nameof(GatedSparkHost.StopContainerAsync));

        var started = world.Swaps.Start(new SwapRequest("fresh", "spark-1", "test"));
        var downloading = await world.WaitForPhaseAsync(started.Id, SwapPhase.Downloading);
        await world.Host.Reached(nameof(GatedSparkHost.StopContainerAsync));
        var servedDuringDownload = await ServesAsync(world.Host.GetEndpoint(8000), "small-a");
        var beforeStop = world.Swaps.Board.Find(started.Id)!;
        world.Host.Open(nameof(GatedSparkHost.StopContainerAsync));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var swap = await world.Swaps.WaitAsync(started.Id, timeout.Token);

        Assert.Equal(SwapPhase.Downloading, downloading.Phase);
        Assert.True(servedDuringDownload);
        Assert.Equal(SwapPhase.Ready, swap.Phase);
        Assert.Equal(
            [SwapPhase.Requested, SwapPhase.Preflight, SwapPhase.Downloading, SwapPhase.Draining, SwapPhase.Stopping, SwapPhase.Launching, SwapPhase.Loading, SwapPhase.Verifying, SwapPhase.Ready],
            PhasesOf(swap));
        Assert.Equal(SwapWorld.GiB / 2, beforeStop.Download!.BytesTotal);
        Assert.Equal(1, beforeStop.Download.Fraction);
    }

    [Fact]
    public async Task Swap_NotEnoughDisk_FailsInPreflight_AndTheOldModelKeepsServing()
    {
        await using var world = await SwapWorld.CreateAsync();
        await world.SwapAsync("small-a");

        var swap = await world.SwapAsync("huge");

        Assert.Equal(SwapPhase.Failed, swap.Phase);
        Assert.Equal([SwapPhase.Requested, SwapPhase.Preflight, SwapPhase.Failed], PhasesOf(swap));
        Assert.Contains("huge needs 5000 GiB on spark-1", swap.Failure!.Message, StringComparison.Ordinal);
        Assert.Null(swap.RolledBackBy);
        Assert.True(await ServesAsync(world.Host.GetEndpoint(8000), "small-a"));
    }

    [Fact]
    public async Task Swap_OverTheMemoryBudget_IsBlockedWithTheNumbers_UnlessServicesAreStopped()
    {
        var services = new[]
        {
            new ServiceDefinition { Spark = "spark-1", Name = "asr", Kind = ServiceKind.ParakeetAsr, Container = "asr", Port = 9000, MemoryEstimateGiB = 6 },
        };
        await using var world = await SwapWorld.CreateAsync(services: services);
        await world.Sim.RunContainerAsync(ContainerLaunch.Of(new ContainerLaunchSpec { Name = "asr", Image = "sparkcontrol/sim-parakeet-asr:demo" }), CancellationToken.None);

        var blocked = await world.SwapAsync("greedy");
        var preview = await world.Swaps.PreviewAsync(new SwapRequest("greedy", "spark-1", "test") { StopServices = ["asr"] }, CancellationToken.None);
        var allowed = await world.SwapAsync("greedy", "spark-1", "asr");

        Assert.Equal(SwapPhase.Failed, blocked.Phase);
        Assert.False(blocked.Budget!.Fits);
        Assert.Contains("gpu-memory-utilization", blocked.Failure!.Message, StringComparison.Ordinal);
        Assert.Contains("GiB of", blocked.Failure.Message, StringComparison.Ordinal);
        Assert.Equal(["asr"], preview.Services);
        Assert.True(preview.Fits);
        Assert.Equal(SwapPhase.Ready, allowed.Phase);
        Assert.Equal(ContainerStatus.Exited, (await world.Sim.InspectContainerAsync("asr", CancellationToken.None))!.Status);
    }

    [Fact]
    public async Task Swap_OutOfMemory_FailsWithExitCodeOomAndLog_ThenRollsBackToThePreviousModel()
    {
        await using var world = await SwapWorld.CreateAsync();
        await world.SwapAsync("small-a");
        world.Sim.FailNextLaunch(SimFailure.OutOfMemory);

        var failed = await world.SwapAsync("small-b");
        await Wait.UntilAsync(() => world.History.Find(failed.Id)!.RolledBackBy is not null, "the failed swap names its rollback");
        var rollbackId = world.History.Find(failed.Id)!.RolledBackBy;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var rollback = await world.Swaps.WaitAsync(rollbackId!, timeout.Token);

        Assert.Equal(SwapPhase.Failed, failed.Phase);
        Assert.Equal(137, failed.Failure!.ExitCode);
        Assert.StartsWith("out of memory: lower gpu-memory-utilization or max-model-len", failed.Failure.Message, StringComparison.Ordinal);
        Assert.NotEmpty(failed.Failure.LogLines);
        Assert.Equal(SwapPhase.Ready, rollback.Phase);
        Assert.Equal("small-a", rollback.ModelId);
        Assert.Equal(failed.Id, rollback.RollbackOf);
        Assert.Equal("rollback", rollback.Requester);
        Assert.Equal(rollback.Id, world.History.Find(failed.Id)!.RolledBackBy);
        Assert.True(await ServesAsync(world.Host.GetEndpoint(8000), "small-a"));
    }

    [Fact]
    public async Task Swap_BadSetting_FailsWithVllmsOwnErrorLine()
    {
        await using var world = await SwapWorld.CreateAsync(w => w.Options.Swap.Rollback = false);
        world.Sim.FailNextLaunch(SimFailure.BadFlag);

        var swap = await world.SwapAsync("small-a");

        Assert.Equal(SwapPhase.Failed, swap.Phase);
        Assert.Equal(1, swap.Failure!.ExitCode);
        Assert.False(swap.Failure.OomKilled);
        Assert.StartsWith("vLLM refused a setting: ValueError: User-specified max_model_len", swap.Failure.Message, StringComparison.Ordinal);
        Assert.EndsWith("Fix the model's flags on the Models page.", swap.Failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Swap_CrashMidLoad_FailsWithTheTraceback_AndWithoutRollbackWhenItIsOff()
    {
        await using var world = await SwapWorld.CreateAsync(w => w.Options.Swap.Rollback = false);
        await world.SwapAsync("small-a");
        world.Sim.FailNextLaunch(SimFailure.CrashMidLoad);

        var swap = await world.SwapAsync("small-b");

        Assert.Equal(SwapPhase.Failed, swap.Phase);
        Assert.Equal(SwapPhase.Loading, swap.Phases[^2].Phase);
        Assert.Contains(swap.Failure!.LogLines, l => l.Contains("RuntimeError: Engine core initialization failed", StringComparison.Ordinal));
        Assert.Null(swap.RolledBackBy);
        Assert.Null(world.History.Find(swap.Id)!.RolledBackBy);
        Assert.Equal(SwapPhase.Failed, world.Swaps.Board.BySpark["spark-1"].Phase);
    }

    [Fact]
    public async Task Swap_ModelsListsAnotherName_FailsAtTheVerifyTimeout()
    {
        await using var world = await SwapWorld.CreateAsync(
            w => w.Options.Swap.VerifyTimeout = TimeSpan.FromMilliseconds(500),
            http: inner => new RewritingHandler(inner, "/v1/models", """{"object":"list","data":[{"id":"someone-else"}]}"""));

        var swap = await world.SwapAsync("small-a");

        Assert.Equal(SwapPhase.Failed, swap.Phase);
        Assert.Equal(SwapPhase.Verifying, swap.Phases[^2].Phase);
        Assert.Contains("Verifying took longer than 00:00:00.5000000 (SparkControl:Swap:VerifyTimeout)", swap.Failure!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Swap_LoadingTooLong_FailsAtTheLoadTimeout()
    {
        await using var world = await SwapWorld.CreateAsync(
            w => w.Options.Swap.LoadTimeout = TimeSpan.FromMilliseconds(300),
            sim: new SimSparkSettings { Name = "spark-1", FixedLoadTime = TimeSpan.FromMinutes(5) });

        var swap = await world.SwapAsync("small-a");

        Assert.Equal(SwapPhase.Failed, swap.Phase);
        Assert.Contains("(SparkControl:Swap:LoadTimeout)", swap.Failure!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Swap_SparkDropsMidLoad_FailsSayingSo_AndDoesNotRollBackIntoTheVoid()
    {
        await using var world = await SwapWorld.CreateAsync();
        await world.SwapAsync("small-a");
        world.Sim.SlowNextLaunch(TimeSpan.FromMinutes(5));
        var started = world.Swaps.Start(new SwapRequest("small-b", "spark-1", "test"));
        await world.WaitForPhaseAsync(started.Id, SwapPhase.Loading);

        world.Sim.Reachable = false;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var swap = await world.Swaps.WaitAsync(started.Id, timeout.Token);

        Assert.Equal(SwapPhase.Failed, swap.Phase);
        Assert.Contains("unreachable", swap.Failure!.Message, StringComparison.Ordinal);
        Assert.Null(swap.RolledBackBy);
    }

    [Fact]
    public async Task ARunningSwap_IsWorkOnItsSpark_ThatHoldsOffEditsUntilItEnds()
    {
        await using var world = await SwapWorld.CreateAsync();
        world.Sim.SlowNextLaunch(TimeSpan.FromMinutes(5));
        var started = world.Swaps.Start(new SwapRequest("small-b", "spark-1", "test"));
        await world.WaitForPhaseAsync(started.Id, SwapPhase.Loading);

        var refused = Assert.Throws<SparkBusyException>(() => world.Work.BeginEdit("spark-1"));
        world.Swaps.Cancel(started.Id, "test");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await world.Swaps.WaitAsync(started.Id, timeout.Token);

        Assert.Equal($"spark-1 cannot be changed or removed while the swap {started.Id} to small-b runs on it; wait for it to end (or cancel it) and try again.", refused.Message);
        await Wait.UntilAsync(() => world.Work.Describe("spark-1") is null, "the ended swap no longer holds the Spark");
        world.Work.BeginEdit("spark-1").Dispose();
    }

    [Fact]
    public async Task History_KeepsNoKnownSecret_InMessagesFailuresLogsOrCommandLines()
    {
        await using var world = await SwapWorld.CreateAsync();
        var secret = $"plain{Guid.NewGuid():N}";
        SparkControl.Core.Diagnostics.LogRedactor.AddKnownSecrets([secret]);
        var now = DateTimeOffset.UtcNow;
        var swap = new SwapStatus
        {
            Id = "s3cr3t01",
            Target = "spark-1",
            Sparks = ["spark-1"],
            ModelId = "small-a",
            Requester = "test",
            Phase = SwapPhase.Failed,
            RequestedAt = now,
            EndedAt = now,
            Phases = [new PhaseTiming(SwapPhase.Requested, now, now)],
            Message = $"failed: {secret}",
            CommandLine = $"docker run -e KEY={secret} image",
            Failure = new SwapFailure($"exit 1: {secret}") { LogLines = [$"token {secret} refused"] },
        };

        world.History.Save(swap);
        var kept = world.History.Find("s3cr3t01")!;

        Assert.DoesNotContain(secret, string.Join("|", kept.Message, kept.CommandLine, kept.Failure!.Message, string.Join("|", kept.Failure.LogLines)), StringComparison.Ordinal);
        Assert.Equal("exit 1: [REDACTED]", kept.Failure.Message);
    }

    [Fact]
    public async Task Secrets_GoOnlyToAContainerThatNeedsThem_AndTheEnvFileIsGoneAfterTheLaunch()
    {
        var nim = SwapWorld.Model("nim-llama") with { Runtime = ModelRuntime.Nim, Image = "nvcr.io/nim/meta/llama-3.1-8b-instruct:1.8.4", Source = new HuggingFaceSource("meta/llama-3.1-8b-instruct") };
        await using var world = await SwapWorld.CreateAsync(configure: w =>
        {
            var secrets = new SparkControl.Core.Secrets.SecretStore(new SparkControl.Core.Storage.DataDirectory(w.Data.Path), TimeProvider.System);
            secrets.SetAsync(SparkControl.Core.Secrets.SecretStore.HfToken, $"hf_{Guid.NewGuid():N}", CancellationToken.None).GetAwaiter().GetResult();
            secrets.SetAsync(SparkControl.Core.Secrets.SecretStore.NgcApiKey, $"nvapi-{Guid.NewGuid():N}", CancellationToken.None).GetAwaiter().GetResult();
            w.Catalog.Publish(new CatalogSnapshot([.. SwapWorld.Models, nim], []));
        });

        // The weights are on disk: the vLLM container runs offline and is given no token at all.
        var vllm = await world.SwapAsync("small-a");
        Assert.Equal(SwapPhase.Ready, vllm.Phase);
        Assert.Empty(world.Sim.SecretsEnvFileWritten);
        Assert.DoesNotContain("--env-file", vllm.CommandLine, StringComparison.Ordinal);
        Assert.Contains("HF_HUB_OFFLINE=1", vllm.CommandLine, StringComparison.Ordinal);

        // NIM downloads from NGC itself: its key goes in the env file for docker run, which is removed right after.
        var started = world.Swaps.Start(new SwapRequest("nim-llama", "spark-1", "test"));
        await Wait.UntilAsync(() => world.Swaps.Find(started.Id) is { Phase: SwapPhase.Loading or SwapPhase.Failed or SwapPhase.Ready }, "the NIM container is launched");
        var launched = world.Swaps.Find(started.Id)!;
        world.Swaps.Cancel(started.Id, "test");

        Assert.Contains("--env-file", launched.CommandLine, StringComparison.Ordinal);
        Assert.Equal([("nvcr.io", "$oauthtoken")], world.Sim.RegistryLogins);
        Assert.Equal(["NGC_API_KEY"], world.Sim.SecretsEnvFileWritten);
        Assert.Null(world.Sim.SecretsEnvFile);
    }

    [Fact]
    public async Task WhileASparksSettingsAreSaved_NoSwapStartsOnIt()
    {
        await using var world = await SwapWorld.CreateAsync();

        using (world.Work.BeginEdit("spark-1"))
        {
            var refused = Assert.Throws<SparkBusyException>(() => world.Swaps.Start(new SwapRequest("small-a", "spark-1", "test")));
            Assert.Contains("spark-1's settings are being saved", refused.Message, StringComparison.Ordinal);
        }

        Assert.Equal(SwapPhase.Ready, (await world.SwapAsync("small-a")).Phase);
    }

    public static TheoryData<SwapPhase> CancellablePhases => new()
    {
        SwapPhase.Preflight, SwapPhase.Downloading, SwapPhase.Draining, SwapPhase.Stopping, SwapPhase.Launching, SwapPhase.Loading, SwapPhase.Verifying,
    };

    [Theory]
    [MemberData(nameof(CancellablePhases))]
    public async Task Cancel_InAnyPhase_EndsCancelled_AndLeavesNoHalfStartedContainer(SwapPhase phase)
    {
        var verifyHold = new TaskCompletionSource();
        Task? hold = null;
        await using var world = await SwapWorld.CreateAsync(
            sim: new SimSparkSettings { Name = "spark-1", FixedLoadTime = TimeSpan.FromMilliseconds(200), DownloadBytesPerSecond = 1L << 20 },
            http: inner => new HoldingHandler(inner, "/v1/models", () => hold));
        await world.SwapAsync("small-a");
        if (phase == SwapPhase.Verifying)
        {
            hold = verifyHold.Task;
        }
        else if (phase == SwapPhase.Loading)
        {
            world.Sim.SlowNextLaunch(TimeSpan.FromMinutes(5));
        }

        switch (phase)
        {
            case SwapPhase.Preflight: world.Host.Close(nameof(GatedSparkHost.GetMemoryInfoAsync)); break;
            case SwapPhase.Draining: world.Drain.Hold = new TaskCompletionSource(); break;
            case SwapPhase.Stopping: world.Host.Close(nameof(GatedSparkHost.StopContainerAsync)); break;
            case SwapPhase.Launching: world.Host.Close(nameof(GatedSparkHost.RunContainerAsync)); break;
        }

        var started = world.Swaps.Start(new SwapRequest(phase == SwapPhase.Downloading ? "fresh" : "small-b", "spark-1", "test"));
        var reached = await world.WaitForPhaseAsync(started.Id, phase);
        if (phase == SwapPhase.Launching)
        {
            await world.Host.Reached(nameof(GatedSparkHost.RunContainerAsync));
        }

        Assert.True(world.Swaps.Cancel(started.Id, "operator"));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var swap = await world.Swaps.WaitAsync(started.Id, timeout.Token);
        verifyHold.TrySetResult();

        Assert.Equal(phase, reached.Phase);
        Assert.Equal(SwapPhase.Cancelled, swap.Phase);
        Assert.Equal(phase, swap.Phases[^2].Phase);
        Assert.Equal($"cancelled by operator during {phase}", swap.Message);
        Assert.Null(swap.RolledBackBy);
        var containers = await world.ModelContainersAsync();
        if (phase < SwapPhase.Stopping)
        {
            // Nothing was touched: the old model still serves.
            Assert.True(await ServesAsync(world.Host.GetEndpoint(8000), "small-a"));
        }
        else
        {
            Assert.DoesNotContain(containers, c => c.Labels[ContainerLabels.Model] == "small-b");
        }

        Assert.Contains("release spark-1", world.Drain.Calls);
    }

    [Fact]
    public async Task Start_WhileAnotherSwapRuns_IsAConflictNamingIt_AndTheSameTargetJoins()
    {
        await using var world = await SwapWorld.CreateAsync();
        world.Host.Close(nameof(GatedSparkHost.RunContainerAsync));
        var first = world.Swaps.Start(new SwapRequest("small-a", "spark-1", "alice"));
        await world.Host.Reached(nameof(GatedSparkHost.RunContainerAsync));

        var joined = world.Swaps.Start(new SwapRequest("small-a", "spark-1", "bob"));
        var conflict = Assert.Throws<SwapConflictException>(() => world.Swaps.Start(new SwapRequest("small-b", "spark-1", "bob")));
        world.Host.Open(nameof(GatedSparkHost.RunContainerAsync));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await world.Swaps.WaitAsync(first.Id, timeout.Token);

        Assert.Equal(first.Id, joined.Id);
        Assert.Equal(first.Id, conflict.Running.Id);
        Assert.Contains($"small-a is swapping on spark-1 (swap {first.Id}, Launching)", conflict.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unload_StopsTheModel_AndEndsReadyWithNothingLoaded()
    {
        await using var world = await SwapWorld.CreateAsync();
        await world.SwapAsync("small-a");

        var swap = await world.SwapAsync(null);

        Assert.Equal(SwapPhase.Ready, swap.Phase);
        Assert.True(swap.IsUnload);
        Assert.Equal([SwapPhase.Requested, SwapPhase.Preflight, SwapPhase.Draining, SwapPhase.Stopping, SwapPhase.Ready], PhasesOf(swap));
        Assert.DoesNotContain(await world.ModelContainersAsync(), c => c.State == ContainerStatus.Running);
        Assert.False(await ServesAsync(world.Host.GetEndpoint(8000), "small-a"));
    }

    [Fact]
    public async Task Swap_ToTheModelAlreadyServing_OnlyChecksIt()
    {
        await using var world = await SwapWorld.CreateAsync();
        var first = await world.SwapAsync("small-a");
        var containerBefore = Assert.Single(await world.ModelContainersAsync()).Id;

        var again = await world.SwapAsync("small-a");

        Assert.Equal(SwapPhase.Ready, again.Phase);
        Assert.Equal([SwapPhase.Requested, SwapPhase.Preflight, SwapPhase.Loading, SwapPhase.Verifying, SwapPhase.Ready], PhasesOf(again));
        Assert.Equal(containerBefore, Assert.Single(await world.ModelContainersAsync()).Id);
        Assert.NotEqual(first.Id, again.Id);
    }

    [Fact]
    public async Task Requests_ThatCannotBe_AreRefusedBeforeAnythingRuns()
    {
        await using var world = await SwapWorld.CreateAsync();

        Assert.Throws<KeyNotFoundException>(() => world.Swaps.Start(new SwapRequest("nope", "spark-1", "test")));
        Assert.Throws<KeyNotFoundException>(() => world.Swaps.Start(new SwapRequest("small-a", "spark-9", "test")));
        var cluster = Assert.Throws<ValidationFailedException>(() => world.Swaps.Start(new SwapRequest("small-a", SwapTargets.Cluster, "test")));

        Assert.Contains("runs on one Spark", Assert.Single(cluster.Errors).Message, StringComparison.Ordinal);
        Assert.Empty(world.Swaps.Board.BySpark);
    }

    [Fact]
    public async Task ClusterModel_HoldsBothSparks()
    {
        await using var world = await SwapWorld.CreateAsync(w => w.Catalog.Publish(new CatalogSnapshot(
            [.. SwapWorld.Models, SwapWorld.Model("big-tp2", gpu: 0.5, repo: "org/small-a", placement: ModelPlacement.Cluster)], [])));
        world.AddWorker();
        ((SimulatedSparkHost)world.Hosts["spark-2"].Inner).Disk.AddDirectory("/home/demo/.cache/huggingface/hub/models--org--small-a", SwapWorld.GiB, "config.json");
        world.Host.Close(nameof(GatedSparkHost.GetMemoryInfoAsync));

        var cluster = world.Swaps.Start(new SwapRequest("big-tp2", SwapTargets.Cluster, "test"));
        await world.Host.Reached(nameof(GatedSparkHost.GetMemoryInfoAsync));
        var conflict = Assert.Throws<SwapConflictException>(() => world.Swaps.Start(new SwapRequest("small-b", "spark-2", "test")));
        world.Host.Open(nameof(GatedSparkHost.GetMemoryInfoAsync));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var swap = await world.Swaps.WaitAsync(cluster.Id, timeout.Token);

        Assert.Equal(["spark-1", "spark-2"], cluster.Sparks);
        Assert.Equal(cluster.Id, conflict.Running.Id);
        Assert.Contains("big-tp2 is swapping on spark-1 and spark-2", conflict.Message, StringComparison.Ordinal);
        Assert.Equal(SwapPhase.Ready, swap.Phase);
        Assert.Contains("launch-cluster.sh", swap.CommandLine, StringComparison.Ordinal);
        Assert.Same(world.Swaps.Board.BySpark["spark-1"], world.Swaps.Board.BySpark["spark-2"]);
    }

    [Fact]
    public async Task AfterAClusterSwap_BeforeHealthHasLooked_ASwapOnTheHeadHoldsBothSparks_AndAfterAnUnloadOnlyTheHead()
    {
        // Health checks once, before the cluster swap, and not again: since then only the swaps say what runs.
        await using var world = await SwapWorld.CreateAsync(w => w.Catalog.Publish(new CatalogSnapshot(
            [.. SwapWorld.Models, SwapWorld.Model("big-tp2", gpu: 0.5, repo: "org/small-a", placement: ModelPlacement.Cluster)], [])));
        world.AddWorker();
        ((SimulatedSparkHost)world.Hosts["spark-2"].Inner).Disk.AddDirectory("/home/demo/.cache/huggingface/hub/models--org--small-a", SwapWorld.GiB, "config.json");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await world.Health.CheckOnceAsync(timeout.Token);
        var cluster = await world.Swaps.WaitAsync(world.Swaps.Start(new SwapRequest("big-tp2", SwapTargets.Cluster, "test")).Id, timeout.Token);

        var replace = world.Swaps.Start(new SwapRequest(null, "spark-1", "test"));
        var unloaded = await world.Swaps.WaitAsync(replace.Id, timeout.Token);
        var after = world.Swaps.Start(new SwapRequest("small-a", "spark-1", "test"));
        await world.Swaps.WaitAsync(after.Id, timeout.Token);

        Assert.Equal(SwapPhase.Ready, cluster.Phase);
        Assert.Equal(["spark-1", "spark-2"], replace.Sparks);
        Assert.Equal(SwapPhase.Ready, unloaded.Phase);
        Assert.Equal(["spark-1"], after.Sparks);
    }

    private const string SharedFineTune = "/home/demo/models/ft-both";

    /// <summary>Two Sparks with a model root each and a local fine-tune that spans them, on disk where <paramref name="onDisk"/> says.</summary>
    private static async Task<SwapWorld> ClusterLocalWorldAsync(params (string Spark, long Bytes)[] onDisk)
    {
        var model = SwapWorld.Model("ft-both", gpu: 0.3, placement: ModelPlacement.Cluster) with { Source = new LocalSource("spark-1", SharedFineTune) };
        var world = await SwapWorld.CreateAsync(w => w.Catalog.Publish(new CatalogSnapshot([.. SwapWorld.Models, model], [])));
        world.AddWorker();
        world.Fleet.Publish(world.Fleet.Current with
        {
            Sparks = [.. world.Fleet.Current.Sparks.Select(s => s with { Definition = s.Definition with { ModelRoots = ["/home/demo/models"] } })],
        });
        foreach (var (spark, bytes) in onDisk)
        {
            ((SimulatedSparkHost)world.Hosts[spark].Inner).Disk.AddDirectory(SharedFineTune, bytes, "config.json", "model.safetensors", "tokenizer.json");
        }

        return world;
    }

    [Fact]
    public async Task ClusterLocalModel_OnBothSparksAlike_IsMountedByItsPathOnEveryNode()
    {
        await using var world = await ClusterLocalWorldAsync(("spark-1", SwapWorld.GiB), ("spark-2", SwapWorld.GiB));

        var started = world.Swaps.Start(new SwapRequest("ft-both", SwapTargets.Cluster, "test"));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var swap = await world.Swaps.WaitAsync(started.Id, timeout.Token);

        Assert.Equal(SwapPhase.Ready, swap.Phase);
        // launch-cluster.sh applies each -v on every node.
        Assert.Contains($"-v {SharedFineTune}:{SharedFineTune}:ro", swap.CommandLine, StringComparison.Ordinal);
        Assert.Contains($"vllm serve {SharedFineTune} --served-model-name ft-both", swap.CommandLine, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false, "/home/demo/models/ft-both does not exist on spark-2: a model on both Sparks must lie at the same path on each; copy it to spark-2 first")]
    [InlineData(true, "(1073741823 bytes) on spark-2): copy it again so each node loads the same weights")]
    public async Task ClusterLocalModel_MissingOnOneSparkOrDifferent_FailsPreflightSayingWhich(bool onWorker, string blocker)
    {
        await using var world = onWorker
            ? await ClusterLocalWorldAsync(("spark-1", SwapWorld.GiB), ("spark-2", SwapWorld.GiB - 1))
            : await ClusterLocalWorldAsync(("spark-1", SwapWorld.GiB));

        var preview = await world.Swaps.PreviewAsync(new SwapRequest("ft-both", SwapTargets.Cluster, "test"), CancellationToken.None);
        var started = world.Swaps.Start(new SwapRequest("ft-both", SwapTargets.Cluster, "test"));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var swap = await world.Swaps.WaitAsync(started.Id, timeout.Token);

        Assert.Contains(preview.Blockers, b => b.Contains(blocker, StringComparison.Ordinal));
        Assert.Equal(SwapPhase.Failed, swap.Phase);
        Assert.Contains(blocker, swap.Message, StringComparison.Ordinal);
        Assert.Empty(await world.Hosts["spark-1"].ListContainersAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Restart_MidSwap_MarksItInterrupted_AndFollowsTheRunningContainerToReady()
    {
        await using var world = await SwapWorld.CreateAsync(sim: new SimSparkSettings { Name = "spark-1", FixedLoadTime = TimeSpan.FromSeconds(3) });
        var started = world.Swaps.Start(new SwapRequest("small-a", "spark-1", "test"));
        await world.WaitForPhaseAsync(started.Id, SwapPhase.Loading);

        await using var restarted = await world.RestartAsync();
        await restarted.Swaps.ReconcileAsync(CancellationToken.None);
        var interrupted = restarted.History.Find(started.Id)!;
        var verify = restarted.Swaps.Board.BySpark["spark-1"];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ready = await restarted.Swaps.WaitAsync(verify.Id, timeout.Token);
        // The board says Ready as the swap ends; its row in the history is written just after.
        await Wait.UntilAsync(() => restarted.History.Find(verify.Id)?.EndedAt is not null, "the history records the reconcile swap's end");

        Assert.Equal(SwapPhase.Interrupted, interrupted.Phase);
        Assert.Equal("interrupted: the panel stopped during Loading", interrupted.Message);
        Assert.NotNull(interrupted.EndedAt);
        Assert.Equal("reconcile", ready.Requester);
        Assert.Equal(SwapPhase.Ready, ready.Phase);
        Assert.Equal([SwapPhase.Requested, SwapPhase.Preflight, SwapPhase.Loading, SwapPhase.Verifying, SwapPhase.Ready], PhasesOf(ready));
        Assert.DoesNotContain(restarted.History.Query(new SwapHistoryQuery()), s => s.EndedAt is null);
    }

    [Fact]
    public async Task LoadingSteps_LogFollowThatNeverKeepsUp_AreCompletedAfterReady_WhichDoesNotWaitForTheLog()
    {
        await using var world = await SwapWorld.CreateAsync();
        // The follow over SSH lags the model server (a loaded machine): here it never delivers a line at all. The read
        // of the log's last lines is held too: Ready must come without it.
        world.Host.Close(nameof(GatedSparkHost.FollowLogsAsync));
        world.Host.Close(nameof(GatedSparkHost.GetLogsAsync));

        var ready = await world.SwapAsync("small-a");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await world.Host.Reached(nameof(GatedSparkHost.GetLogsAsync)).WaitAsync(timeout.Token);
        world.Host.Open(nameof(GatedSparkHost.GetLogsAsync));
        await Wait.UntilAsync(() => world.Swaps.Board.Find(ready.Id)!.Steps.Any(s => s.Text == SwapText.StartedStep), "the steps read after Ready");
        var completed = world.Swaps.Board.Find(ready.Id)!;

        Assert.Equal(SwapPhase.Ready, ready.Phase);
        Assert.Empty(ready.Steps);
        Assert.Equal(SwapPhase.Ready, completed.Phase);
        Assert.Equal(ready.Message, completed.Message);
        Assert.Contains(completed.Steps, s => s.Text.StartsWith("weights loaded in", StringComparison.Ordinal));
        Assert.Equal(completed.Steps.Count, completed.Steps.Select(s => s.Text).Distinct().Count());
    }

    [Fact]
    public async Task Ready_DoesNotWaitForTheLogFollowToStop_TheRunKeepsTheSparkUntilItHas()
    {
        await using var world = await SwapWorld.CreateAsync();
        var followEnd = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        world.Host.HoldFollowEnd = followEnd;

        var ready = await world.SwapAsync("small-a");
        var workWhileHeld = world.Work.Describe("spark-1");
        followEnd.SetResult();
        await Wait.UntilAsync(() => world.Work.Describe("spark-1") is null, "the run ends once its follow has");

        Assert.Equal(SwapPhase.Ready, ready.Phase);
        Assert.Contains(ready.Id, workWhileHeld, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ALineTheFollowHandsOverAfterReady_AddsItsStep_ButLeavesTheReadyMessage()
    {
        await using var world = await SwapWorld.CreateAsync();
        var followEnd = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        world.Host.HoldFollowEnd = followEnd;
        world.Host.LineReadBeforeTheCancel = "INFO 12-06 04:00:00 [gpu_model_runner.py:3480] Capturing CUDA graphs (mixed prefill-decode, PIECEWISE): 100%";

        var ready = await world.SwapAsync("small-a");
        followEnd.SetResult();
        await Wait.UntilAsync(() => world.Work.Describe("spark-1") is null, "the run ends once its follow has");
        var ended = world.Swaps.Board.Find(ready.Id)!;

        Assert.Equal(SwapPhase.Ready, ended.Phase);
        Assert.DoesNotContain(ready.Steps, s => s.Text == "capturing CUDA graphs");
        Assert.Contains(ended.Steps, s => s.Text == "capturing CUDA graphs");
        Assert.Equal(ready.Message, ended.Message);
    }

    [Fact]
    public async Task LoadingSteps_ReadAfterReady_DoNotPutTheSwapBackOverALaterOne()
    {
        await using var world = await SwapWorld.CreateAsync();
        world.Host.Close(nameof(GatedSparkHost.FollowLogsAsync));
        world.Host.Close(nameof(GatedSparkHost.GetLogsAsync));
        var first = await world.SwapAsync("small-a");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await world.Host.Reached(nameof(GatedSparkHost.GetLogsAsync)).WaitAsync(timeout.Token);

        // The first swap's late read is still held when the next swap takes the Spark.
        world.Host.Close(nameof(GatedSparkHost.RunContainerAsync));
        var second = world.Swaps.Start(new SwapRequest("small-b", "spark-1", "test"));
        // Every board from here on is recorded: the watch's first is the current one, so it is running before the read goes on.
        var boards = new List<SwapBoard>();
        using var watching = new CancellationTokenSource();
        var watch = Task.Run(async () =>
        {
            await foreach (var board in world.Swaps.WatchAsync(watching.Token))
            {
                lock (boards)
                {
                    boards.Add(board.Value);
                }
            }
        });
        await Wait.UntilAsync(() => { lock (boards) { return boards.Count > 0; } }, "the watch has its first board");
        world.Host.Open(nameof(GatedSparkHost.GetLogsAsync));
        await Wait.UntilAsync(() => world.Work.Describe("spark-1") is { } work && !work.Contains(first.Id, StringComparison.Ordinal), "the first swap's run has finished its late read");
        world.Host.Open(nameof(GatedSparkHost.RunContainerAsync));
        var secondEnded = await world.Swaps.WaitAsync(second.Id, timeout.Token);
        await watching.CancelAsync();
        await watch.ContinueWith(_ => { }, TaskScheduler.Default);

        Assert.Equal(SwapPhase.Ready, secondEnded.Phase);
        lock (boards)
        {
            Assert.NotEmpty(boards);
            Assert.All(boards, b => Assert.Equal(second.Id, b.BySpark["spark-1"].Id));
        }
    }

    [Fact]
    public async Task Eta_ComesFromThisModelsPastSwaps()
    {
        await using var world = await SwapWorld.CreateAsync();
        await world.SwapAsync("small-a");
        await world.SwapAsync(null);
        world.Host.Close(nameof(GatedSparkHost.RunContainerAsync));

        var started = world.Swaps.Start(new SwapRequest("small-a", "spark-1", "test"));
        await world.Host.Reached(nameof(GatedSparkHost.RunContainerAsync));
        var during = world.Swaps.Board.Find(started.Id)!;
        world.Host.Open(nameof(GatedSparkHost.RunContainerAsync));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await world.Swaps.WaitAsync(started.Id, timeout.Token);
        var medians = world.History.MedianPhaseDurations("small-a");

        Assert.True(during.EtaFromHistory);
        Assert.NotNull(during.Eta);
        Assert.InRange(during.Progress, 0, 0.99);
        // From history the whole swap took well under a second; the size-based guess for 1 GiB would be about 30 s.
        Assert.True(during.Eta < TimeSpan.FromSeconds(10), $"eta {during.Eta}");
        Assert.Contains(SwapPhase.Loading, medians.Keys);
        Assert.True(medians[SwapPhase.Loading] >= TimeSpan.FromMilliseconds(250), $"loading median {medians[SwapPhase.Loading]}");
    }

    [Fact]
    public async Task Eta_ModelOnDiskWithoutHistory_IsNotGuessed()
    {
        await using var world = await SwapWorld.CreateAsync();
        world.Host.Close(nameof(GatedSparkHost.RunContainerAsync));

        var started = world.Swaps.Start(new SwapRequest("small-a", "spark-1", "test"));
        await world.Host.Reached(nameof(GatedSparkHost.RunContainerAsync));
        var during = world.Swaps.Board.Find(started.Id)!;
        world.Host.Open(nameof(GatedSparkHost.RunContainerAsync));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await world.Swaps.WaitAsync(started.Id, timeout.Token);

        Assert.False(during.EtaFromHistory);
        Assert.DoesNotContain(SwapPhase.Downloading, during.Phases.Select(p => p.Phase));
        // The weights are on disk and the model has no past swaps: nothing measured to give a time from.
        Assert.Null(during.Eta);
    }

    [Fact]
    public async Task Reconcile_AfterThePanelWasDown_EndsTheSwapWhenItWasLastSeen()
    {
        await using var world = await SwapWorld.CreateAsync();
        var requested = DateTimeOffset.UtcNow.AddHours(-3);
        var loading = requested.AddSeconds(12);
        world.History.Save(new SwapStatus
        {
            Id = "0123456789ab",
            Target = "spark-1",
            Sparks = ["spark-1"],
            ModelId = "small-a",
            Requester = "test",
            Phase = SwapPhase.Loading,
            RequestedAt = requested,
            Phases = [new PhaseTiming(SwapPhase.Requested, requested, requested.AddSeconds(1)), new PhaseTiming(SwapPhase.Preflight, requested.AddSeconds(1), loading), new PhaseTiming(SwapPhase.Loading, loading, null)],
        });

        await world.Swaps.ReconcileAsync(CancellationToken.None);
        var interrupted = world.History.Find("0123456789ab")!;

        Assert.Equal(SwapPhase.Interrupted, interrupted.Phase);
        // Three hours of the panel being down are no part of the swap: it ends where the history last saw it.
        Assert.Equal(loading, interrupted.EndedAt!.Value, TimeSpan.FromMilliseconds(1));
        Assert.Equal(loading, interrupted.Phases.Single(p => p.Phase == SwapPhase.Loading).EndedAt!.Value, TimeSpan.FromMilliseconds(1));
    }

    /// <summary>Answers one path with a fixed body and passes every other request through.</summary>
    private sealed class RewritingHandler(HttpMessageHandler inner, string path, string body) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            request.RequestUri!.AbsolutePath == path
                ? new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body), RequestMessage = request }
                : await base.SendAsync(request, cancellationToken);
    }

    /// <summary>Holds requests to one path, while the test says so, until it lets them go.</summary>
    private sealed class HoldingHandler(HttpMessageHandler inner, string path, Func<Task?> hold) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.RequestUri!.AbsolutePath == path && hold() is { } held)
            {
                await held.WaitAsync(cancellationToken);
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }
}
