using Microsoft.Extensions.Options;
using SparkControl.Core.Audio.Referee;
using SparkControl.Core.Gateway;

namespace SparkControl.Core.Audio.Transcripts;

/// <summary>
/// The referee's chat model is the one the gateway serves now: the first chat target its routes know. Each call enters
/// the gateway's drain gate for that model's Spark as a gateway client does, so a swap waits for it (or it waits for
/// the swap) instead of cutting it off; with no chat model loaded there is no referee.
/// </summary>
public sealed class GatewayRefereeChat(GatewayRoutes routes, GatewayGate gate, IOptionsMonitor<TranscriptOptions> options, TimeProvider time)
{
    private readonly HttpMessageInvoker _http = WorkerHttp.CreateInvoker();

    /// <summary>A chat client for the model served now, or null when none is.</summary>
    public IRefereeChat? Current() => routes.Targets().FirstOrDefault() is { } target
        ? new Gated(gate, target.Spark, new OpenAiRefereeChat(_http, new Uri(target.DestinationPrefix), target.Upstream, timeout: options.CurrentValue.RefereeTimeout, time: time))
        : null;

    private sealed class Gated(GatewayGate gate, string spark, IRefereeChat inner) : IRefereeChat
    {
        public async Task<string> CompleteAsync(string requestJson, CancellationToken cancellationToken)
        {
            using var lease = await gate.EnterAsync(spark, cancellationToken).ConfigureAwait(false);
            return await inner.CompleteAsync(requestJson, cancellationToken).ConfigureAwait(false);
        }
    }
}
