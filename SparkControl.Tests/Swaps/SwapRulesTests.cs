using SparkControl.Core.Hosts;
using SparkControl.Core.Swaps;

namespace SparkControl.Tests.Swaps;

/// <summary>The transition table, the ETA arithmetic, the memory budget and the reading of vLLM's log.</summary>
public sealed class SwapRulesTests
{
    /// <summary>Every allowed edge, written out by hand: the table must match it exactly.</summary>
    private static readonly HashSet<(SwapPhase, SwapPhase)> Allowed =
    [
        (SwapPhase.Requested, SwapPhase.Preflight),
        (SwapPhase.Preflight, SwapPhase.Downloading),
        (SwapPhase.Preflight, SwapPhase.Draining),
        (SwapPhase.Preflight, SwapPhase.Loading),
        (SwapPhase.Downloading, SwapPhase.Draining),
        (SwapPhase.Draining, SwapPhase.Stopping),
        (SwapPhase.Stopping, SwapPhase.Launching),
        (SwapPhase.Stopping, SwapPhase.Ready),
        (SwapPhase.Launching, SwapPhase.Loading),
        (SwapPhase.Loading, SwapPhase.Verifying),
        (SwapPhase.Verifying, SwapPhase.Ready),
    ];

    public static TheoryData<SwapPhase, SwapPhase> AllPairs()
    {
        var data = new TheoryData<SwapPhase, SwapPhase>();
        foreach (var from in Enum.GetValues<SwapPhase>())
        {
            foreach (var to in Enum.GetValues<SwapPhase>())
            {
                data.Add(from, to);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(AllPairs))]
    public void Transition_IsAllowedExactlyWhenTheTableSaysSo(SwapPhase from, SwapPhase to)
    {
        var working = !from.IsTerminal();
        var expected = Allowed.Contains((from, to))
            || (working && to is SwapPhase.Failed or SwapPhase.Cancelled or SwapPhase.Interrupted);

        Assert.Equal(expected, SwapTransitions.IsAllowed(from, to));
        if (expected)
        {
            SwapTransitions.Ensure(from, to);
        }
        else
        {
            var error = Assert.Throws<IllegalSwapTransitionException>(() => SwapTransitions.Ensure(from, to));
            Assert.Equal($"A swap cannot go from {from} to {to}.", error.Message);
        }
    }

    [Fact]
    public void Eta_MidLoading_CountsFinishedPhasesWholeAndTheCurrentByElapsed()
    {
        SwapPhase[] plan = [SwapPhase.Preflight, SwapPhase.Draining, SwapPhase.Stopping, SwapPhase.Launching, SwapPhase.Loading, SwapPhase.Verifying];
        var expected = plan.ToDictionary(p => p, p => p == SwapPhase.Loading ? TimeSpan.FromSeconds(60) : TimeSpan.FromSeconds(10));

        var (progress, eta) = SwapEta.Estimate(plan, SwapPhase.Loading, TimeSpan.FromSeconds(30), expected, null, fromHistory: true);

        // 40 s done + 30 s of loading, of 110 s; 30 s of loading and 10 s of verifying left.
        Assert.Equal(70.0 / 110, progress, 6);
        Assert.Equal(TimeSpan.FromSeconds(40), eta);
    }

    [Fact]
    public void Eta_PhaseOverrunningItsExpectation_NeverReachesOneOrGoesNegative()
    {
        SwapPhase[] plan = [SwapPhase.Preflight, SwapPhase.Loading, SwapPhase.Verifying];
        var expected = plan.ToDictionary(p => p, _ => TimeSpan.FromSeconds(10));

        var (progress, eta) = SwapEta.Estimate(plan, SwapPhase.Verifying, TimeSpan.FromMinutes(10), expected, null, fromHistory: true);

        Assert.True(progress < 1);
        Assert.True(eta > TimeSpan.Zero);
    }

    [Fact]
    public void Eta_Downloading_FollowsTheBytes()
    {
        SwapPhase[] plan = [SwapPhase.Preflight, SwapPhase.Downloading, SwapPhase.Loading];
        var expected = new Dictionary<SwapPhase, TimeSpan> { [SwapPhase.Preflight] = TimeSpan.Zero, [SwapPhase.Downloading] = TimeSpan.FromSeconds(100), [SwapPhase.Loading] = TimeSpan.FromSeconds(50) };

        var (progress, eta) = SwapEta.Estimate(plan, SwapPhase.Downloading, TimeSpan.FromSeconds(20), expected, new DownloadStatus(25, 100), fromHistory: true);

        // A quarter in 20 s: 60 s more to download, then 50 s of loading.
        Assert.Equal(25.0 / 150, progress, 6);
        Assert.Equal(TimeSpan.FromSeconds(110), eta);
    }

    [Fact]
    public void Eta_NoHistory_Downloading_IsTheDownloadsAlone_FromItsBytes()
    {
        SwapPhase[] plan = [SwapPhase.Preflight, SwapPhase.Downloading, SwapPhase.Loading];
        var guessed = SwapEta.Fallback(8);

        var (_, eta) = SwapEta.Estimate(plan, SwapPhase.Downloading, TimeSpan.FromSeconds(20), guessed, new DownloadStatus(25, 100), fromHistory: false);
        var (_, beforeAnyByte) = SwapEta.Estimate(plan, SwapPhase.Downloading, TimeSpan.FromSeconds(1), guessed, new DownloadStatus(0, 100), fromHistory: false);

        Assert.Equal(TimeSpan.FromSeconds(60), eta);
        Assert.Null(beforeAnyByte);
    }

    [Theory]
    [InlineData(SwapPhase.Preflight)]
    [InlineData(SwapPhase.Launching)]
    [InlineData(SwapPhase.Loading)]
    public void Eta_NoHistory_NothingDownloading_IsNotGuessedFromTheSize(SwapPhase current)
    {
        SwapPhase[] plan = [SwapPhase.Preflight, SwapPhase.Draining, SwapPhase.Stopping, SwapPhase.Launching, SwapPhase.Loading, SwapPhase.Verifying];

        var (progress, eta) = SwapEta.Estimate(plan, current, TimeSpan.FromSeconds(1), SwapEta.Fallback(8), null, fromHistory: false);

        Assert.Null(eta);
        Assert.InRange(progress, 0, 0.99);
    }

    [Fact]
    public void Budget_FitsPlanAndNow_OnlyWhenBothHold()
    {
        var budget = new MemoryBudget
        {
            Spark = "spark-1",
            TotalGiB = 121.7,
            AvailableGiB = 60,
            ReserveGiB = 4,
            Model = new BudgetItem("big", 90, "gpu-memory-utilization"),
            Services = [new BudgetItem("asr", 6, "estimate")],
            Freed = [new BudgetItem("old", 36.5, "reservation")],
        };

        Assert.Equal(100, budget.PlannedGiB);
        Assert.True(budget.FitsPlan);
        Assert.True(budget.FitsNow);
        var tooBig = budget with { Model = new BudgetItem("bigger", 115, "gpu-memory-utilization") };
        Assert.False(tooBig.FitsPlan);
        Assert.Contains("125 GiB of 121.7 GiB", tooBig.Summary, StringComparison.Ordinal);
        var busy = budget with { Freed = [] };
        Assert.False(busy.FitsNow);
        Assert.Contains("only 60 GiB would be free", busy.Summary, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("INFO 11-26 17:01:05 [gpu_model_runner.py:2602] Starting to load model Qwen/Qwen3-8B...", "loading weights")]
    [InlineData("INFO 11-26 17:01:20 [default_loader.py:267] Loading weights took 14.73 seconds", "weights loaded in 14.73 s")]
    [InlineData("INFO 11-26 17:01:31 [kv_cache_utils.py:1087] GPU KV cache size: 455,168 tokens", "KV cache: 455,168 tokens")]
    [InlineData("INFO 11-26 17:01:31 [kv_cache_utils.py:1091] Maximum concurrency for 32,768 tokens per request: 13.89x", "maximum concurrency 13.89× at 32,768 tokens")]
    [InlineData("INFO 11-26 17:01:40 [api_server.py:1880] Starting vLLM API server 0 on http://0.0.0.0:8000", "API server starting")]
    [InlineData("INFO:     Application startup complete.", "application started")]
    [InlineData("INFO:     127.0.0.1:40000 - \"GET /health HTTP/1.1\" 200 OK", null)]
    public void LoadingStep_IsReadFromVllmsLog(string line, string? step) => Assert.Equal(step, SwapText.LoadingStep(line));

    [Fact]
    public void ExplainExit_Oom_SaysWhatToLower()
    {
        var info = new ContainerInfo { Id = "x", Name = "m", Image = "i", Status = ContainerStatus.Exited, ExitCode = 137, OomKilled = true };

        Assert.Equal("out of memory: lower gpu-memory-utilization or max-model-len, or stop a co-resident service (the kernel killed the container: OOMKilled)", SwapText.ExplainExit(info, []));
    }

    [Fact]
    public void ExplainExit_UnknownFlag_PointsAtTheFlags()
    {
        var info = new ContainerInfo { Id = "x", Name = "m", Image = "i", Status = ContainerStatus.Exited, ExitCode = 2 };
        string[] logs = ["usage: vllm serve [-h] ...", "vllm serve: error: unrecognized arguments: --max-modle-len 4096"];

        Assert.Equal("vLLM refused its command line: vllm serve: error: unrecognized arguments: --max-modle-len 4096. Fix the model's flags on the Models page.", SwapText.ExplainExit(info, logs));
    }

    [Fact]
    public void ExplainExit_GatedRepo_PointsAtTheToken()
    {
        var info = new ContainerInfo { Id = "x", Name = "m", Image = "i", Status = ContainerStatus.Exited, ExitCode = 1 };

        Assert.StartsWith("the weights could not be fetched", SwapText.ExplainExit(info, ["huggingface_hub.errors.GatedRepoError: 401 Client Error."]), StringComparison.Ordinal);
    }

    [Fact]
    public void ExplainExit_Other_QuotesTheLastErrorLine()
    {
        var info = new ContainerInfo { Id = "x", Name = "m", Image = "i", Status = ContainerStatus.Exited, ExitCode = 1 };

        Assert.Equal("the container exited with code 1: RuntimeError: Engine core initialization failed.", SwapText.ExplainExit(info, ["INFO starting", "RuntimeError: Engine core initialization failed.", "INFO bye"]));
    }
}
