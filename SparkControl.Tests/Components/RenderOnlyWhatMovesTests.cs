using System.Collections.Immutable;
using System.Threading.Channels;
using Bunit;
using SparkControl.Core.Gateway;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Core.Swaps;
using SparkControl.Tests.Infrastructure;
using SparkControl.Web.Components;
using SparkControl.Web.Components.Controls;

namespace SparkControl.Tests.Components;

/// <summary>
/// An open dashboard costs the server a render and a diff only where something moved: the cards skip a parent's render
/// that hands them what they already show, and a live component skips updates that change nothing it shows.
/// </summary>
public sealed class RenderOnlyWhatMovesTests : UiTestContext
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 5, 8, 0, 0, TimeSpan.Zero);

    private static readonly ServiceHealth Llm = new()
    {
        Spark = "demo", Name = "sparkcontrol-llm", Kind = ServiceKind.VllmLlm, Status = HealthStatus.Healthy, Reason = "serving qwen3-8b", Since = T0,
        CheckedAt = T0, Endpoint = new Uri("http://127.0.0.1:8000/"), ServedModels = ["qwen3-8b"],
    };

    private static readonly GatewayTarget Qwen = new("demo", "sparkcontrol-llm", "qwen3-8b", new Uri("http://127.0.0.1:8000/"), ["qwen3-8b"], ["default-chat"]);

    private static SwapStatus Swap(SwapPhase phase) => new()
    {
        Id = "ab12cd34ef56", Target = "demo", Sparks = ["demo"], ModelId = "gpt-oss-20b", Requester = "operator", Phase = phase, RequestedAt = T0,
        Phases = [new PhaseTiming(SwapPhase.Preflight, T0, T0.AddSeconds(1)), new PhaseTiming(SwapPhase.Loading, T0.AddSeconds(1), phase.IsTerminal() ? T0.AddSeconds(9) : null)],
        EndedAt = phase.IsTerminal() ? T0.AddSeconds(9) : null,
    };

    [Fact]
    public void ServiceCard_ANewCheckThatShowsTheSame_DoesNotRender_AChangedReasonDoes()
    {
        var card = Render<ServiceCard>(p => p.Add(c => c.Value, Llm));
        var renders = card.RenderCount;

        // The next check: a new record, a later check time and a new array of the same served names.
        card.Render(p => p.Add(c => c.Value, Llm with { CheckedAt = T0.AddSeconds(5), ServedModels = ["qwen3-8b"] }));
        Assert.Equal(renders, card.RenderCount);

        card.Render(p => p.Add(c => c.Value, Llm with { CheckedAt = T0.AddSeconds(10), Status = HealthStatus.Degraded, Reason = "slow: 2.1 s" }));
        Assert.True(card.RenderCount > renders, "the card rendered what moved");
        Assert.Equal("slow: 2.1 s", card.Find("[data-testid=service-reason]").TextContent.Trim());
        Assert.Equal("Degraded", card.Find("[data-testid=service-status]").GetAttribute("data-status"));
    }

    [Fact]
    public void SparkCard_AnUpdateThatShowsTheSame_DoesNotRender_TheModelLoadingDoes()
    {
        var spark = new SparkHealth
        {
            Spark = "demo", Reachability = Reachability.Reachable, CheckedAt = T0, ModelChecked = true, Services = [Llm],
            Model = new LoadedModel("qwen3-8b", "qwen3-8b", "sparkcontrol-llm", 8000, HealthStatus.Healthy),
        };
        var card = Render<SparkCard>(p => p.Add(c => c.Value, spark));
        var renders = card.RenderCount;

        // A swap's early phase: the fleet view hands the card a new record and a new services array, the same content.
        card.Render(p => p.Add(c => c.Value, spark with { Services = [Llm with { }] }));
        Assert.Equal(renders, card.RenderCount);

        // From Stopping on, the model is loading.
        card.Render(p => p.Add(c => c.Value, spark with
        {
            Model = spark.Model! with { Status = HealthStatus.Loading },
            Services = [Llm with { Status = HealthStatus.Loading, Reason = "swap ab12 to gpt-oss-20b: Loading" }],
        }));
        Assert.True(card.RenderCount > renders, "the card rendered what moved");
        Assert.Equal("Loading", card.Find("[data-testid=loaded-model-status]").GetAttribute("data-status"));
        Assert.Equal("1 loading", card.Find("[data-testid=service-summary]").TextContent.Trim());

        // Being allowed to unload changes the card though the Spark did not move.
        renders = card.RenderCount;
        Assert.Empty(card.FindAll("[data-testid=unload]"));
        card.Render(p => p.Add(c => c.OnUnload, (string _) => { }));
        Assert.True(card.RenderCount > renders);
        Assert.Single(card.FindAll("[data-testid=unload]"));
    }

    [Fact]
    public void SwapProgressCard_AFinishedSwap_IgnoresTheClock_ARunningOneCountsWithIt()
    {
        var finished = Swap(SwapPhase.Ready);
        var card = Render<SwapProgressCard>(p => p.Add(c => c.Value, finished).Add(c => c.Now, T0.AddSeconds(10)));
        var renders = card.RenderCount;
        card.Render(p => p.Add(c => c.Value, finished).Add(c => c.Now, T0.AddSeconds(11)));
        Assert.Equal(renders, card.RenderCount);

        // Losing the right to cancel changes the card even when the swap did not move.
        var running = Swap(SwapPhase.Loading);
        card.Render(p => p.Add(c => c.Value, running).Add(c => c.Now, T0.AddSeconds(3)).Add(c => c.OnCancel, (SwapStatus _) => { }));
        Assert.Equal("2.0 s", LoadingTime(card));
        Assert.Single(card.FindAll("[data-testid=swap-cancel]"));
        card.Render(p => p.Add(c => c.Value, running).Add(c => c.Now, T0.AddSeconds(4)).Add(c => c.OnCancel, (SwapStatus _) => { }));
        Assert.Equal("3.0 s", LoadingTime(card));
        card.Render(p => p.Add(c => c.Value, running).Add(c => c.Now, T0.AddSeconds(4)).Add(c => c.OnCancel, default(Microsoft.AspNetCore.Components.EventCallback<SwapStatus>)));
        Assert.Empty(card.FindAll("[data-testid=swap-cancel]"));

        static string LoadingTime(IRenderedComponent<SwapProgressCard> card) =>
            card.Find("[data-testid=swap-step-loading] .mud-typography:last-child").TextContent.Trim();
    }

    [Fact]
    public void GatewayCard_TheSameLists_DoNotRender_NewTrafficDoes()
    {
        IReadOnlyList<GatewayTarget> targets = [Qwen];
        var card = Render<GatewayCard>(p => p.Add(c => c.BaseUrl, "http://panel/v1").Add(c => c.Targets, targets));
        var renders = card.RenderCount;

        card.Render(p => p.Add(c => c.BaseUrl, "http://panel/v1").Add(c => c.Targets, targets));
        Assert.Equal(renders, card.RenderCount);

        card.Render(p => p.Add(c => c.BaseUrl, "http://panel/v1").Add(c => c.Targets, targets)
            .Add(c => c.Traffic, new GatewayTraffic(ImmutableDictionary<string, int>.Empty.Add("demo", 4), 1)));
        Assert.True(card.RenderCount > renders, "the card rendered what moved");
        Assert.Equal("4", card.Find("[data-testid=gateway-in-flight]").TextContent);
    }

    [Fact]
    public void Kept_ARebuiltListWithTheSameTargets_IsTheListShown_AChangedAliasIsNot()
    {
        IReadOnlyList<GatewayTarget> shown = [Qwen];
        // Health's next check rebuilds the routing table: equal targets, new records, new arrays.
        IReadOnlyList<GatewayTarget> rebuilt = [Qwen with { Served = ["qwen3-8b"], Aliases = ["default-chat"] }];
        IReadOnlyList<GatewayTarget> realiased = [Qwen with { Aliases = ["default-chat", "fast"] }];

        Assert.Same(shown, RenderedFrom.Kept(shown, rebuilt, GatewayCard.SameTarget));
        Assert.Same(realiased, RenderedFrom.Kept(shown, realiased, GatewayCard.SameTarget));
        Assert.Same(rebuilt, RenderedFrom.Kept([], rebuilt, GatewayCard.SameTarget));
        Assert.Same(rebuilt, RenderedFrom.Kept(shown, rebuilt));
    }

    [Fact]
    public async Task Watch_AnUpdateThatChangesNothingShown_IsNotRendered_TheNextOneIs()
    {
        var feed = Channel.CreateUnbounded<int>();
        var watcher = Render<EvenWatcher>(p => p.Add(c => c.Feed, feed.Reader));
        var renders = watcher.RenderCount;

        await feed.Writer.WriteAsync(3);
        await Wait.UntilAsync(() => watcher.Instance.Applied == 1, "the odd number is applied");
        // The renderer runs one thing at a time: this runs after the batch that applied 3 has finished.
        await watcher.InvokeAsync(() => Assert.Equal(renders, watcher.RenderCount));

        await feed.Writer.WriteAsync(4);
        watcher.WaitForAssertion(() => Assert.Equal("4", watcher.Find("[data-testid=even]").TextContent));
        Assert.Equal(renders + 1, watcher.RenderCount);
    }

    /// <summary>Shows the last even number of its feed; odd ones change nothing it shows.</summary>
    private sealed class EvenWatcher : LiveComponentBase
    {
        [Microsoft.AspNetCore.Components.Parameter]
        public required ChannelReader<int> Feed { get; set; }

        private int _even;
        private int _applied;

        public int Applied => Volatile.Read(ref _applied);

        protected override void OnInitialized() => Watch(Feed.ReadAllAsync, n =>
        {
            Interlocked.Increment(ref _applied);
            if (n % 2 != 0)
            {
                return false;
            }

            _even = n;
            return true;
        });

        protected override void BuildRenderTree(Microsoft.AspNetCore.Components.Rendering.RenderTreeBuilder builder)
        {
            builder.OpenElement(0, "span");
            builder.AddAttribute(1, "data-testid", "even");
            builder.AddContent(2, _even);
            builder.CloseElement();
        }
    }
}
