using SparkControl.Core.Gateway;
using SparkControl.Core.Services;
using SparkControl.Core.Swaps;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Web;

/// <summary>
/// The gateway's routing table follows health: kept while checks change nothing a request is routed by, made again when
/// one does (a server stops, or comes back), with no swap in between.
/// </summary>
public sealed class GatewayRoutesTests
{
    [Fact]
    public async Task ChecksThatChangeNoRoute_KeepTheTable_AServerThatStopsOrStarts_ChangesIt()
    {
        // No model loaded at start: no swap runs, so the swap board stays as it is and only health moves.
        await using var app = await SparkControlApp.StartAsync(new Dictionary<string, string?> { ["Gateway:WarmUp"] = "false", ["Demo:InitialModel"] = "" });
        using var client = app.CreateClient();
        var routes = app.Get<GatewayRoutes>();
        var health = app.Get<HealthMonitor>();
        await Wait.UntilAsync(() => routes.Targets().Any(t => t.Service == "embeddings"), "the demo's embeddings server is routed", TimeSpan.FromSeconds(60));
        var name = routes.Targets().First(t => t.Service == "embeddings").Upstream;
        var before = Assert.IsType<GatewayResolution.Route>(routes.Resolve(name));
        var board = app.Get<SwapOrchestrator>().Board;
        var checkedAt = health.Current.Version;

        // Health publishes each check of each service anew (the demo's every 300 ms here): ten of them later, the same
        // servers answer, so the look-up gives the very same answer.
        await Wait.UntilAsync(() => health.Current.Version > checkedAt + 10, "ten more health checks", TimeSpan.FromSeconds(60));
        Assert.Same(board, app.Get<SwapOrchestrator>().Board);
        Assert.Same(before, routes.Resolve(name));

        (await client.PostAsync("/api/services/demo/embeddings/stop", null)).EnsureSuccessStatusCode();
        await Wait.UntilAsync(() => routes.Resolve(name) is GatewayResolution.Unknown, "the stopped server's name is no longer routed", TimeSpan.FromSeconds(60));
        Assert.DoesNotContain(routes.Targets(), t => t.Service == "embeddings");

        (await client.PostAsync("/api/services/demo/embeddings/start", null)).EnsureSuccessStatusCode();
        await Wait.UntilAsync(() => routes.Resolve(name) is GatewayResolution.Route, "the started server's name is routed again", TimeSpan.FromSeconds(60));
        var after = Assert.IsType<GatewayResolution.Route>(routes.Resolve(name));
        Assert.NotSame(before, after);
        Assert.True(after.Target.IsSameServer(before.Target));
    }
}
