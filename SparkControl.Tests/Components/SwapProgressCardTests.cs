using System.Threading.Channels;
using Bunit;
using SparkControl.Core.Swaps;
using SparkControl.Tests.Infrastructure;
using SparkControl.Web.Components.Controls;

namespace SparkControl.Tests.Components;

/// <summary>The swap progress card fed swap after swap from a fake stream, as the Dashboard feeds it.</summary>
public sealed class SwapProgressCardTests : UiTestContext
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    /// <summary>A swap to gpt-oss-20b that has gone through <paramref name="phases"/>, each taking 2 s, the last still running.</summary>
    private static SwapStatus At(params SwapPhase[] phases)
    {
        var timings = phases.Select((p, i) => new PhaseTiming(p, T0.AddSeconds(2 * i), i < phases.Length - 1 || phases[^1].IsTerminal() ? T0.AddSeconds((2 * i) + 2) : null)).ToArray();
        return new SwapStatus
        {
            Id = "ab12cd34ef56",
            Target = "demo",
            Sparks = ["demo"],
            ModelId = "gpt-oss-20b",
            PreviousModelId = "qwen3-8b",
            Requester = "operator",
            Phase = phases[^1],
            RequestedAt = T0,
            Phases = [.. timings],
            Message = phases[^1] == SwapPhase.Loading ? "weights loaded in 14.73 s" : phases[^1].ToString(),
            Progress = phases.Length / 10.0,
            Eta = phases[^1].IsTerminal() ? null : TimeSpan.FromSeconds(95),
            EtaFromHistory = true,
            EndedAt = phases[^1].IsTerminal() ? timings[^1].EndedAt : null,
        };
    }

    private static string[] Steps(IRenderedComponent<SwapProgressCard> card) =>
        [.. card.FindAll(".sc-step").Select(s => $"{s.GetAttribute("data-testid")!.Replace("swap-step-", string.Empty, StringComparison.Ordinal)}:{s.GetAttribute("data-state")}")];

    [Fact]
    public async Task FedFromAStream_FollowsEveryPhase_ThenEndsReady()
    {
        var stream = Channel.CreateUnbounded<SwapStatus>();
        var card = Render<SwapProgressCard>(p => p.Add(c => c.Value, At(SwapPhase.Requested)).Add(c => c.Now, T0));
        SwapPhase[] order = [SwapPhase.Requested, SwapPhase.Preflight, SwapPhase.Draining, SwapPhase.Stopping, SwapPhase.Launching, SwapPhase.Loading, SwapPhase.Verifying, SwapPhase.Ready];
        for (var i = 1; i < order.Length; i++)
        {
            await stream.Writer.WriteAsync(At(order[..(i + 1)]));
        }

        stream.Writer.Complete();
        var seen = new List<string>();
        await foreach (var status in stream.Reader.ReadAllAsync())
        {
            card.Render(p => p.Add(c => c.Value, status).Add(c => c.Now, T0.AddSeconds(2 * status.Phases.Count)));
            seen.Add(card.Find("[data-testid=swap-phase]").TextContent.Trim());
            if (status.Phase == SwapPhase.Loading)
            {
                Assert.Equal(["preflight:done", "draining:done", "stopping:done", "launching:done", "loading:current", "verifying:pending", "ready:pending"], Steps(card));
                Assert.Equal("60", card.Find("[data-testid=swap-progress]").GetAttribute("data-value"));
                Assert.Equal("about 1 min 35 s left", card.Find("[data-testid=swap-eta]").TextContent.Trim());
                Assert.Equal("weights loaded in 14.73 s", card.Find("[data-testid=swap-message]").TextContent.Trim());
            }
        }

        Assert.Equal(["Preflight", "Draining", "Stopping", "Launching", "Loading", "Verifying", "Ready"], seen);
        Assert.Equal(["preflight:done", "draining:done", "stopping:done", "launching:done", "loading:done", "verifying:done", "ready:done"], Steps(card));
        Assert.Empty(card.FindAll("[data-testid=swap-progress]"));
        Assert.Contains("qwen3-8b → gpt-oss-20b", card.Markup, StringComparison.Ordinal);
    }

    [Fact]
    public void Failed_ShowsTheReasonExitCodeAndLog_AndMarksThePhaseItFailedIn()
    {
        var failed = At(SwapPhase.Requested, SwapPhase.Preflight, SwapPhase.Draining, SwapPhase.Stopping, SwapPhase.Launching, SwapPhase.Loading, SwapPhase.Failed) with
        {
            Failure = new SwapFailure("out of memory: lower gpu-memory-utilization or max-model-len", 137, true) { LogLines = ["Loading safetensors checkpoint shards:  62% Completed | 5/8"] },
            RolledBackBy = "ffff0000aaaa",
        };

        var card = Render<SwapProgressCard>(p => p.Add(c => c.Value, failed).Add(c => c.Now, T0.AddMinutes(1)));

        Assert.Equal("Failed", card.Find("[data-testid=swap-phase]").TextContent.Trim());
        Assert.Contains("out of memory", card.Find("[data-testid=swap-failure]").TextContent, StringComparison.Ordinal);
        Assert.Contains("(exit code 137, OOMKilled)", card.Find("[data-testid=swap-failure]").TextContent, StringComparison.Ordinal);
        Assert.Contains("Last 1 log lines", card.Find("[data-testid=swap-logs]").TextContent, StringComparison.Ordinal);
        Assert.Contains("loading:failed", Steps(card));
        Assert.Contains("verifying:skipped", Steps(card));
        Assert.Equal("Rolled back to qwen3-8b by swap ffff0000aaaa.", card.Find("[data-testid=swap-rollback]").TextContent.Trim());
    }

    [Fact]
    public async Task Cancel_IsOfferedWhileRunning_AndCallsBackWithTheSwap()
    {
        SwapStatus? asked = null;
        var card = Render<SwapProgressCard>(p => p.Add(c => c.Value, At(SwapPhase.Requested, SwapPhase.Preflight, SwapPhase.Loading)).Add(c => c.OnCancel, s => asked = s));

        await card.ClickAsync("[data-testid=swap-cancel]");

        Assert.Equal("ab12cd34ef56", asked!.Id);
    }

    [Fact]
    public void Downloading_WithoutHistory_TheEtaSaysItIsTheDownloadsAlone()
    {
        var downloading = At(SwapPhase.Requested, SwapPhase.Preflight, SwapPhase.Downloading) with { EtaFromHistory = false };

        var card = Render<SwapProgressCard>(p => p.Add(c => c.Value, downloading).Add(c => c.Now, T0.AddSeconds(5)));

        Assert.Contains("downloading:current", Steps(card));
        Assert.Equal("about 1 min 35 s left in the download", card.Find("[data-testid=swap-eta]").TextContent.Trim());
    }

    [Fact]
    public void Loading_WithoutAnEta_ShowsNoTimeLeft()
    {
        var loading = At(SwapPhase.Requested, SwapPhase.Preflight, SwapPhase.Loading) with { EtaFromHistory = false, Eta = null };

        var card = Render<SwapProgressCard>(p => p.Add(c => c.Value, loading).Add(c => c.Now, T0.AddSeconds(5)));

        Assert.Equal(string.Empty, card.Find("[data-testid=swap-eta]").TextContent.Trim());
    }

    [Fact]
    public void Interrupted_NothingServes_OffersThePreviousModelBack_AndOnlyThen()
    {
        var stopped = At(SwapPhase.Requested, SwapPhase.Preflight, SwapPhase.Draining, SwapPhase.Stopping, SwapPhase.Interrupted) with
        {
            Message = "interrupted: the panel stopped during Stopping, and nothing serves on demo now; qwen3-8b served before it and can be brought back",
            BringBack = "qwen3-8b",
        };
        SwapStatus? asked = null;
        var card = Render<SwapProgressCard>(p => p.Add(c => c.Value, stopped).Add(c => c.Now, T0).Add(c => c.OnBringBack, (SwapStatus s) => asked = s));
        var offer = card.Find("[data-testid=swap-nothing-serves]").TextContent;
        card.Find("[data-testid=swap-bring-back]").Click();
        var stillRunning = card.FindAll("[data-testid=swap-bring-back]").Count;
        card.Render(p => p.Add(c => c.Value, stopped with { BringBack = null, Message = "interrupted: the panel stopped during Loading" }));

        Assert.Contains("Nothing serves on demo since the panel stopped during this swap.", offer, StringComparison.Ordinal);
        Assert.Contains("Bring back qwen3-8b", offer, StringComparison.Ordinal);
        Assert.Equal(1, stillRunning);
        Assert.Same(stopped, asked);
        Assert.Empty(card.FindAll("[data-testid=swap-nothing-serves]"));
    }
}
