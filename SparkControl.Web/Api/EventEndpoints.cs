using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using SparkControl.Core.Operations;
using SparkControl.Web.Model;
using SparkControl.Web.Security;

namespace SparkControl.Web.Api;

/// <summary>
/// <c>GET /api/events</c>: health changes and swap updates as Server-Sent Events, for tools without SignalR. Each event
/// has <c>id:</c> (its sequence number), <c>event:</c> <c>health</c> or <c>swap</c> and one JSON object as <c>data:</c>
/// (a service as <c>GET /api/services</c> lists it, a swap as <c>GET /api/swaps/{id}</c> answers it). The current state
/// comes first; <c>Last-Event-ID</c> (the header browsers send on reconnect, or <c>?lastEventId=</c>) resumes after
/// that event; a comment line keeps an idle stream alive.
/// </summary>
public static class EventEndpoints
{
    public const string KeepAliveComment = ": keep-alive\n\n";

    public static IEndpointRouteBuilder MapEvents(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/api/events", StreamAsync).WithTags("Events").RequireAuthorization(AccessPolicies.Viewer);
        return endpoints;
    }

    public static async Task StreamAsync(HttpContext context, FleetEventFeed feed, IOptions<OperationsOptions> options, IOptions<JsonOptions> json, string? lastEventId)
    {
        var resumeAfter = ParseLastEventId(context.Request.Headers["Last-Event-ID"].ToString()) ?? ParseLastEventId(lastEventId);
        context.Response.ContentType = "text/event-stream; charset=utf-8";
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Accel-Buffering"] = "no";
        await context.Response.StartAsync(context.RequestAborted);

        // Cancelled on every way out, so the pending read below always ends before its enumerator is disposed.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        await using var events = feed.WatchAsync(resumeAfter, stop.Token).GetAsyncEnumerator(stop.Token);
        var next = events.MoveNextAsync().AsTask();
        try
        {
            var keepAlive = Task.Delay(options.Value.EventKeepAlive, stop.Token);
            while (true)
            {
                if (await Task.WhenAny(next, keepAlive) == keepAlive)
                {
                    await keepAlive;
                    await WriteAsync(context, KeepAliveComment);
                    keepAlive = Task.Delay(options.Value.EventKeepAlive, stop.Token);
                    continue;
                }

                if (!await next)
                {
                    // The watcher fell a whole buffer behind: the client reconnects with its last id and catches up.
                    return;
                }

                await WriteAsync(context, Format(events.Current, json.Value.SerializerOptions));
                next = events.MoveNextAsync().AsTask();
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client left.
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAny(next);
        }
    }

    /// <summary>One event in the text/event-stream format; JSON never holds a raw line break, so data is one line.</summary>
    public static string Format(FleetEvent item, JsonSerializerOptions json)
    {
        var (name, data) = item.Kind switch
        {
            FleetEventKind.Health => ("health", JsonSerializer.Serialize(ServiceInput.View(item.Health!), json)),
            _ => ("swap", JsonSerializer.Serialize(item.Swap!, json)),
        };
        return $"id: {item.Id.ToString(CultureInfo.InvariantCulture)}\nevent: {name}\ndata: {data}\n\n";
    }

    /// <summary>A Last-Event-ID this feed gave out (a sequence number); anything else starts from the current state.</summary>
    public static long? ParseLastEventId(string? value) =>
        long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : null;

    private static async Task WriteAsync(HttpContext context, string text)
    {
        await context.Response.WriteAsync(text, context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }
}
