using System.Collections.Immutable;
using Bunit;
using SparkControl.Core.Gateway;
using SparkControl.Core.Swaps;
using SparkControl.Tests.Infrastructure;
using SparkControl.Web.Components.Controls;

namespace SparkControl.Tests.Components;

public sealed class GatewayCardTests : UiTestContext
{
    private static readonly GatewayTarget Qwen = new("demo", "sparkcontrol-llm", "qwen3-8b", new Uri("http://127.0.0.1:8000/"), ["qwen3-8b"], ["default-chat"]);
    private static readonly GatewayTarget Bge = new("demo", "embeddings", null, new Uri("http://127.0.0.1:8001/"), ["bge-small"], []);

    [Fact]
    public void ShowsTheBaseUrl_TheNamesAndAliases_AndTheTraffic()
    {
        var traffic = new GatewayTraffic(ImmutableDictionary<string, int>.Empty.Add("demo", 3), 2);

        var card = Render<GatewayCard>(p => p
            .Add(c => c.BaseUrl, "http://spark-control.lan:8080/v1")
            .Add(c => c.Targets, [Qwen, Bge])
            .Add(c => c.Traffic, traffic));

        Assert.Equal("http://spark-control.lan:8080/v1", card.Find("[data-testid=gateway-base-url]").TextContent);
        Assert.Equal(["qwen3-8b", "bge-small"], card.FindAll("[data-testid=gateway-name]").Select(e => e.TextContent.Trim()));
        Assert.Equal("default-chat → qwen3-8b", card.Find("[data-testid=gateway-alias]").TextContent.Trim());
        Assert.Equal("3", card.Find("[data-testid=gateway-in-flight]").TextContent);
        Assert.Equal("2", card.Find("[data-testid=gateway-queued]").TextContent);
    }

    [Fact]
    public void NamesASwapIsBringingUp_AreShownAsWaiting()
    {
        var swap = new SwapStatus { Id = "abc123", Target = "demo", Sparks = ["demo"], ModelId = "gpt-oss-20b", Requester = "test", Phase = SwapPhase.Loading, RequestedAt = DateTimeOffset.UnixEpoch };

        var card = Render<GatewayCard>(p => p
            .Add(c => c.BaseUrl, "http://localhost/v1")
            .Add(c => c.Waiting, [("gpt-oss-20b", swap)]));

        Assert.Equal("gpt-oss-20b (loading: requests wait)", card.Find("[data-testid=gateway-waiting]").TextContent.Trim());
        Assert.Empty(card.FindAll("[data-testid=gateway-no-models]"));
    }

    [Fact]
    public void WithNothingLoaded_SaysWhatRequestsGet()
    {
        var card = Render<GatewayCard>(p => p.Add(c => c.BaseUrl, "http://localhost/v1"));

        Assert.Contains("requests get 404", card.Find("[data-testid=gateway-no-models]").TextContent, StringComparison.Ordinal);
        Assert.Equal("0", card.Find("[data-testid=gateway-in-flight]").TextContent);
    }

    [Fact]
    public void AudioNames_AreShownWithTheNameTheWorkerServes()
    {
        var card = Render<GatewayCard>(p => p
            .Add(c => c.BaseUrl, "http://localhost/v1")
            .Add(c => c.Audio, [("parakeet-tdt-0.6b-v2", "parakeet-tdt-0.6b-v2", "transcriptions"), ("whisper-1", "parakeet-tdt-0.6b-v2", "transcriptions"), ("tts-1", "kokoro", "speech")]));

        Assert.Equal(["parakeet-tdt-0.6b-v2", "whisper-1 → parakeet-tdt-0.6b-v2", "tts-1 → kokoro"], card.FindAll("[data-testid=gateway-audio]").Select(e => e.TextContent.Trim()));
        Assert.Empty(card.FindAll("[data-testid=gateway-no-models]"));
    }
}
