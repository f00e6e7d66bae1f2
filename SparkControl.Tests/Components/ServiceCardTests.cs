using Bunit;
using SparkControl.Core.Gateway;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Tests.Infrastructure;
using SparkControl.Web.Components.Controls;

namespace SparkControl.Tests.Components;

/// <summary>A service's card on the Dashboard; an audio worker's shows the gateway's load on it.</summary>
public sealed class ServiceCardTests : UiTestContext
{
    private static readonly ServiceHealth Asr = new()
    {
        Spark = "demo", Name = "parakeet-asr", Kind = ServiceKind.ParakeetAsr, Status = HealthStatus.Healthy, Reason = "answering", Since = DateTimeOffset.UnixEpoch,
        Endpoint = new Uri("http://127.0.0.1:9000/"),
    };

    [Fact]
    public void AnAudioWorker_ShowsInFlightOverCap_Queued_RecentLatency_AndRefusals()
    {
        var load = new AudioWorkerLoad("demo", "parakeet-asr", InFlight: 2, Cap: 2, Queued: 3, Served: 40, Rejected: 5, Refused: 0, RecentLatencySeconds: 1.234);

        var card = Render<ServiceCard>(p => p.Add(c => c.Value, Asr).Add(c => c.Audio, new ServiceCard.AudioLoad(2, load)));

        Assert.Equal("2/2 in flight · 3 queued · recent 1.23 s · 5 refused (busy)", card.Find("[data-testid=service-audio-load]").TextContent.Trim());
    }

    [Fact]
    public void AnAudioWorkerTheGatewayHasNotUsedYet_ShowsItsCapAndNothingElse()
    {
        var card = Render<ServiceCard>(p => p.Add(c => c.Value, Asr).Add(c => c.Audio, new ServiceCard.AudioLoad(3, null)));

        Assert.Equal("0/3 in flight · 0 queued", card.Find("[data-testid=service-audio-load]").TextContent.Trim());
    }

    [Fact]
    public void AServiceThatIsNotAnAudioWorker_HasNoLoadLine()
    {
        var card = Render<ServiceCard>(p => p.Add(c => c.Value, Asr with { Name = "qdrant", Kind = ServiceKind.Qdrant }));

        Assert.Empty(card.FindAll("[data-testid=service-audio-load]"));
    }
}
