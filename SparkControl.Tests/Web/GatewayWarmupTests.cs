using System.Net;
using System.Net.Http.Json;
using SparkControl.Core.Gateway;
using SparkControl.Tests.Infrastructure;
using SparkControl.Web.Gateway;

namespace SparkControl.Tests.Web;

/// <summary>
/// The gateway's start-up warm-up: its requests go through the forwarder to a canned server of its own and are all
/// answered, while nothing of them shows where an operator looks (metrics, the admission count) and the gateway then
/// serves real requests as before. Run apart from the other tests: the warm-up's full collection pauses the whole
/// process, and every panel in it.
/// </summary>
[Collection(nameof(GatewayWarmupTests))]
public sealed class GatewayWarmupTests
{
    [Fact]
    public async Task AtStart_EveryWarmUpRequestIsAnswered_NoneIsCounted_AndTheGatewayServesTheDemoModel()
    {
        await using var app = await SparkControlApp.StartAsync(new Dictionary<string, string?> { ["Gateway:WarmUp"] = "true" });
        var warmup = app.Get<GatewayWarmup>();
        await warmup.Done.WaitAsync(TimeSpan.FromSeconds(120));
        using var client = app.CreateClient();

        var metrics = await client.GetStringAsync("/metrics");

        // Every one sent to the panel's own address (it listens on loopback), none to the forwarder in process.
        Assert.InRange(warmup.RoundsRun, GatewayWarmup.MinRounds, GatewayWarmup.MaxRounds);
        Assert.Equal(warmup.RoundsRun * GatewayWarmup.RequestsPerRound, warmup.AnsweredThroughKestrel);
        Assert.Equal(warmup.AnsweredThroughKestrel, warmup.Answered);
        Assert.DoesNotContain("warm-up", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("sparkcontrol_gateway_requests", metrics, StringComparison.Ordinal);
        Assert.Equal(0, app.Get<GatewayAdmission>().InFlight);
        // Counted in and out at a drain gate of its own: the gateway's traffic never had the warm-up's server.
        var (warmUpInFlight, warmUpLastUsed) = app.Get<GatewayForwarder>().WarmUpGate.Usage("warm-up");
        Assert.Equal(0, warmUpInFlight);
        Assert.NotNull(warmUpLastUsed);
        Assert.DoesNotContain("warm-up", app.Get<GatewayGate>().Traffic.Value.InFlight.Keys);

        await Wait.UntilAsync(async () => (await client.GetStringAsync("/v1/models")).Contains("qwen3-8b", StringComparison.Ordinal), "the demo's model is served", TimeSpan.FromSeconds(60));
        using var answer = await client.PostAsJsonAsync("/v1/chat/completions", new { model = "qwen3-8b", max_tokens = 4, messages = new[] { new { role = "user", content = "hi" } } });
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        // /metrics is cached for 300 ms after a scrape: the chat's count shows in a later one.
        await Wait.UntilAsync(async () => (await client.GetStringAsync("/metrics")).Contains("sparkcontrol_gateway_requests_total{", StringComparison.Ordinal), "the chat request is counted");
    }

    /// <summary>Methods compiled per round, as a starting panel on two cores measured them, then made-up edges.</summary>
    public static TheoryData<long[], int> Runs => new()
    {
        // The JIT busy with start-up for 20 rounds, then settling (under 30 a round) until the 26th and 27th compile fewer
        // than 10 each.
        { [1118, 307, 6, 320, 11, 622, 215, 710, 180, 183, 401, 57, 187, 261, 176, 52, 143, 377, 592, 386, 20, 14, 2, 28, 24, 8, 7, 5, 1], 27 },
        // Quiet from the start: the two tier-ups still get their rounds.
        { [0, 0, 0, 0, 0, 0, 0, 0, 0, 0], GatewayWarmup.MinRounds },
        // One quiet round between busy ones is not enough.
        { [50, 50, 50, 50, 50, 50, 50, 50, 3, 40, 9, 12, 0, 0], 14 },
        // Exactly at the bound is not quiet.
        { [50, 50, 50, 50, 50, 50, 50, 50, 10, 10, 9, 10, 9, 9], 14 },
        // Two quiet rounds before the minimum do not end it; two after it do.
        { [50, 50, 50, 50, 50, 0, 0, 50, 0, 0], 10 },
        // Never quiet: stopped at the cap.
        { Enumerable.Repeat(25L, 100).ToArray(), GatewayWarmup.MaxRounds },
    };

    [Theory]
    [MemberData(nameof(Runs))]
    public void Rounds_StopOnceTwoInARowCompileLittle_NeverBeforeTheMinimum_AndAtTheCap(long[] compiledPerRound, int expectedRounds)
    {
        var run = new List<long>();
        foreach (var compiled in compiledPerRound)
        {
            if (GatewayWarmup.Settled(run))
            {
                break;
            }

            run.Add(compiled);
        }

        Assert.Equal(expectedRounds, run.Count);
        Assert.True(GatewayWarmup.Settled(run));
    }

    [Fact]
    public async Task TurnedOff_NothingIsSent()
    {
        await using var app = await SparkControlApp.StartAsync(new Dictionary<string, string?> { ["Gateway:WarmUp"] = "false" });
        var warmup = app.Get<GatewayWarmup>();

        await warmup.Done.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(0, warmup.Answered);
    }

    [Fact]
    public async Task ARequestWithTheWarmUpsSecret_GoesToItsTarget_Uncounted_AndOnlyWhileItRuns()
    {
        await using var app = await SparkControlApp.StartAsync(new Dictionary<string, string?> { ["Gateway:WarmUp"] = "false" });
        using var client = app.CreateClient();
        await Wait.UntilAsync(() => app.Get<GatewayRoutes>().Resolve("qwen3-8b") is GatewayResolution.Route, "the demo's model is served", TimeSpan.FromSeconds(60));
        var served = ((GatewayResolution.Route)app.Get<GatewayRoutes>().Resolve("qwen3-8b")).Target;
        // A target the routing table does not have: the demo's model server under a name only the warm-up uses.
        var target = served with { Spark = "warm-up", Served = ["qwen3-8b"], Aliases = ["warm-up-alias"] };
        var warmup = app.Get<GatewayWarmup>();
        var token = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

        async Task<HttpResponseMessage> SendAsync(string? secret)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = JsonContent.Create(new { model = "warm-up-alias", max_tokens = 2, messages = new[] { new { role = "user", content = "hi" } } }) };
            if (secret is not null)
            {
                request.Headers.Add(GatewayWarmup.TokenHeader, secret);
            }

            return await client.SendAsync(request);
        }

        warmup.BeginPass(token, target);
        using var warm = await SendAsync(token);
        using var wrong = await SendAsync(token[..^1] + (token[^1] == 'A' ? "B" : "A"));
        warmup.EndPass();
        using var after = await SendAsync(token);

        // Renamed to the name its target serves and answered by it; the wrong secret, and the right one after the
        // warm-up, are any client's request for a model nobody serves under that name.
        Assert.Equal(HttpStatusCode.OK, warm.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, after.StatusCode);
        var metrics = string.Empty;
        await Wait.UntilAsync(async () => (metrics = await client.GetStringAsync("/metrics")).Contains("sparkcontrol_gateway_requests_total{", StringComparison.Ordinal), "the refused requests are counted");
        Assert.Matches("sparkcontrol_gateway_requests_total\\{[^}]*status=\"404\"[^}]*\\} 2", metrics);
        Assert.DoesNotContain("status=\"200\"", metrics, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("127.0.0.1", "right", true)]
    [InlineData("::1", "right", true)]
    [InlineData("::ffff:127.0.0.1", "right", true)]
    [InlineData("10.0.0.5", "right", false)]
    [InlineData("127.0.0.1", "wrong", false)]
    [InlineData("127.0.0.1", "right+newline", false)]
    [InlineData("127.0.0.1", "right twice", false)]
    [InlineData("127.0.0.1", "empty", false)]
    [InlineData("127.0.0.1", "none", false)]
    [InlineData(null, "right", false)]
    public async Task OnlyTheSecretOnceFromLoopback_MakesARequestTheWarmUps(string? from, string sent, bool owned)
    {
        await using var app = await SparkControlApp.StartAsync(new Dictionary<string, string?> { ["Gateway:WarmUp"] = "false" });
        var warmup = app.Get<GatewayWarmup>();
        var token = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var target = new SparkControl.Core.Gateway.GatewayTarget("warm-up", "warm-up", null, new Uri("http://127.0.0.1:9/"), ["warm-up"], []);
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        context.Connection.RemoteIpAddress = from is null ? null : IPAddress.Parse(from);
        Microsoft.Extensions.Primitives.StringValues? header = sent switch
        {
            "right" => token,
            "wrong" => token.ToLowerInvariant(),
            "right+newline" => token + "\n",
            "right twice" => new Microsoft.Extensions.Primitives.StringValues([token, token]),
            "empty" => string.Empty,
            _ => null,
        };
        if (header is { } value)
        {
            context.Request.Headers[GatewayWarmup.TokenHeader] = value;
        }

        Assert.Null(warmup.Owns(context));
        warmup.BeginPass(token, target);
        Assert.Equal(owned ? target : null, warmup.Owns(context));
        warmup.EndPass();
        Assert.Null(warmup.Owns(context));
    }

    [Theory]
    [InlineData("http://127.0.0.1:5080", "http://127.0.0.1:5080/")]
    [InlineData("http://localhost:5080", "http://127.0.0.1:5080/")]
    [InlineData("http://0.0.0.0:5080", "http://127.0.0.1:5080/")]
    [InlineData("http://*:5080", "http://127.0.0.1:5080/")]
    [InlineData("http://+:5080", "http://127.0.0.1:5080/")]
    [InlineData("http://[::]:5080", "http://[::1]:5080/")]
    [InlineData("http://[::1]:5080", "http://[::1]:5080/")]
    [InlineData("http://10.0.0.5:5080", "http://10.0.0.5:5080/")]
    [InlineData("https://0.0.0.0:5443", null)]
    [InlineData("http://unix:/run/spark-control.sock", null)]
    [InlineData("http://*:5080\n", null)]
    [InlineData("http://127.0.0.1:5080/panel", null)]
    public void TheServersOwnAddress_IsReachedThroughLoopbackWhereItIsAWildcard_AndNotOverHttpsOrASocket(string address, string? expected)
    {
        Assert.Equal(expected, GatewayWarmup.Loopback(address)?.ToString());
    }
}

[CollectionDefinition(nameof(GatewayWarmupTests), DisableParallelization = true)]
public sealed class GatewayWarmupCollection;
