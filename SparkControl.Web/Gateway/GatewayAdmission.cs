using System.Net;
using Microsoft.Extensions.Options;
using SparkControl.Core.Gateway;

namespace SparkControl.Web.Gateway;

/// <summary>How a request's entry to the gateway went.</summary>
public enum Admission
{
    Admitted,

    /// <summary>Its client holds <c>Gateway:PerClientConcurrency</c> requests already: 429.</summary>
    ClientBusy,

    /// <summary>The gateway holds <c>Gateway:MaxInFlight</c> requests already: 503.</summary>
    Full,
}

/// <summary>
/// The requests the gateway holds now, every route together (chat, completions, embeddings, audio), from their
/// headers to their end: each client address up to <c>Gateway:PerClientConcurrency</c> (one busy script cannot take
/// every slot of a shared Spark), all of them up to <c>Gateway:MaxInFlight</c>, both before any body is read, so a
/// flood cannot make the panel hold (or spool) its bodies.
/// </summary>
/// <remarks>
/// Counted here rather than by ASP.NET Core's rate limiter: its partitioned limiter keeps a timer running for the life
/// of the process, whose middleware cannot dispose it, and it ran for every request the panel serves, not only these.
/// </remarks>
public sealed class GatewayAdmission(IOptionsMonitor<GatewayOptions> options)
{
    private readonly Dictionary<IPAddress, int> _clients = [];
    private int _inFlight;

    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Counts the request in, or says why not. Pass what it answers to <see cref="Leave"/> when the request ends.</summary>
    public Admission Enter(HttpContext context)
    {
        var client = ClientOf(context);
        lock (_clients)
        {
            var held = _clients.GetValueOrDefault(client);
            if (held >= options.CurrentValue.PerClientConcurrency)
            {
                return Admission.ClientBusy;
            }

            _clients[client] = held + 1;
        }

        if (Interlocked.Increment(ref _inFlight) <= options.CurrentValue.MaxInFlight)
        {
            return Admission.Admitted;
        }

        Leave(context, Admission.Admitted);
        return Admission.Full;
    }

    /// <summary>Counts an admitted request out (a refused one was never counted).</summary>
    public void Leave(HttpContext context, Admission admission)
    {
        if (admission != Admission.Admitted)
        {
            return;
        }

        Interlocked.Decrement(ref _inFlight);
        var client = ClientOf(context);
        lock (_clients)
        {
            // A client with nothing in flight is forgotten, so addresses seen once do not pile up.
            if (_clients.GetValueOrDefault(client) is var held && held <= 1)
            {
                _clients.Remove(client);
            }
            else
            {
                _clients[client] = held - 1;
            }
        }
    }

    /// <summary>The answer to a refused request: 429 <c>rate_limit_exceeded</c> or 503 <c>overloaded</c>, retry after a second.</summary>
    public Task WriteRefusedAsync(HttpContext context, Admission admission)
    {
        context.Response.Headers.RetryAfter = "1";
        return GatewayForwarder.WriteErrorAsync(context, admission == Admission.ClientBusy
            ? new OpenAiError(StatusCodes.Status429TooManyRequests,
                $"This client has {options.CurrentValue.PerClientConcurrency} requests running already (Gateway:PerClientConcurrency); retry after 1 s.", "rate_limit_error", "rate_limit_exceeded")
            : new OpenAiError(StatusCodes.Status503ServiceUnavailable,
                $"The gateway is handling {options.CurrentValue.MaxInFlight} requests already (Gateway:MaxInFlight); retry after 1 s.", "server_error", "overloaded"));
    }

    private static IPAddress ClientOf(HttpContext context) => context.Connection.RemoteIpAddress ?? IPAddress.None;
}
