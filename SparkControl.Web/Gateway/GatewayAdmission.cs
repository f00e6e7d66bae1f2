using Microsoft.Extensions.Options;
using SparkControl.Core.Gateway;

namespace SparkControl.Web.Gateway;

/// <summary>
/// The requests the gateway holds now, every route together (chat, completions, embeddings, audio), from their
/// headers to their end: what <c>Gateway:MaxInFlight</c> caps, before any body is read, so a flood cannot make the
/// panel hold (or spool) its bodies.
/// </summary>
public sealed class GatewayAdmission(IOptionsMonitor<GatewayOptions> options)
{
    private int _inFlight;

    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Counts the request in; false when that is one past the cap. Either way, <see cref="Leave"/> when it ends.</summary>
    public bool Enter() => Interlocked.Increment(ref _inFlight) <= options.CurrentValue.MaxInFlight;

    public void Leave() => Interlocked.Decrement(ref _inFlight);

    /// <summary>The answer to a request past the cap: 503 <c>overloaded</c>, retry after a second.</summary>
    public Task WriteFullAsync(HttpContext context)
    {
        context.Response.Headers.RetryAfter = "1";
        return GatewayForwarder.WriteErrorAsync(context, new OpenAiError(StatusCodes.Status503ServiceUnavailable,
            $"The gateway is handling {options.CurrentValue.MaxInFlight} requests already (Gateway:MaxInFlight); retry after 1 s.", "server_error", "overloaded"));
    }
}
