using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace SparkControl.Tests.Infrastructure;

/// <summary>
/// A webhook receiver on a loopback port (real Kestrel): it keeps every request it gets and answers each with the next
/// status of its script (200 once the script is used up), as a flaky receiver would.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<HttpStatusCode> _script = new();
    private readonly ConcurrentQueue<Received> _requests = new();

    private WebhookReceiver(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    /// <summary>One request as the receiver saw it.</summary>
    public sealed record Received(string Path, string ContentType, string Body, IReadOnlyDictionary<string, string> Headers, HttpStatusCode Answered);

    public int Port { get; }

    public string Url(string path = "/hook") => string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{Port}{path}");

    public IReadOnlyList<Received> Requests => [.. _requests];

    /// <summary>The next requests are answered with these statuses, in order.</summary>
    public void AnswerNext(params HttpStatusCode[] statuses)
    {
        foreach (var status in statuses)
        {
            _script.Enqueue(status);
        }
    }

    public static async Task<WebhookReceiver> StartAsync()
    {
        var port = Tools.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new WebhookReceiver(app, port);
        app.Run(receiver.HandleAsync);
        await app.StartAsync();
        return receiver;
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        var status = _script.TryDequeue(out var next) ? next : HttpStatusCode.OK;
        var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        _requests.Enqueue(new Received(context.Request.Path + context.Request.QueryString, context.Request.ContentType ?? string.Empty, body, headers, status));
        context.Response.StatusCode = (int)status;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
