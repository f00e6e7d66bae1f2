using System.Net;
using System.Net.Http.Json;
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

        Assert.Equal(GatewayWarmup.Requests, warmup.Answered);
        Assert.DoesNotContain("warm-up", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("sparkcontrol_gateway_requests", metrics, StringComparison.Ordinal);
        Assert.Equal(0, app.Get<GatewayAdmission>().InFlight);

        await Wait.UntilAsync(async () => (await client.GetStringAsync("/v1/models")).Contains("qwen3-8b", StringComparison.Ordinal), "the demo's model is served", TimeSpan.FromSeconds(60));
        using var answer = await client.PostAsJsonAsync("/v1/chat/completions", new { model = "qwen3-8b", max_tokens = 4, messages = new[] { new { role = "user", content = "hi" } } });
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        // /metrics is cached for 300 ms after a scrape: the chat's count shows in a later one.
        await Wait.UntilAsync(async () => (await client.GetStringAsync("/metrics")).Contains("sparkcontrol_gateway_requests_total{", StringComparison.Ordinal), "the chat request is counted");
    }

    [Fact]
    public async Task TurnedOff_NothingIsSent()
    {
        await using var app = await SparkControlApp.StartAsync(new Dictionary<string, string?> { ["Gateway:WarmUp"] = "false" });
        var warmup = app.Get<GatewayWarmup>();

        await warmup.Done.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(0, warmup.Answered);
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
