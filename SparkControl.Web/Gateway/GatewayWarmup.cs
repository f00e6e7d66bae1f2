using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using SparkControl.Core.Gateway;

namespace SparkControl.Web.Gateway;

/// <summary>
/// Runs the gateway's forwarding path a few hundred times as the panel starts (<c>Gateway:WarmUp</c>, on by default), against a canned model server of its own
/// on loopback, so that a client's first requests do not wait on the JIT. Measured with <c>gateway-bench</c>: without
/// it, a freshly started panel's first seconds of traffic ran at several times its warm p99 while the request path
/// was compiled and then recompiled at tier 1 on two cores shared with the requests.
/// </summary>
/// <remarks>
/// Nothing of it reaches a model server, the gateway's metrics, its admission count or the log: the requests go
/// straight to <see cref="GatewayForwarder.WarmUpAsync"/>, and the canned server answers on a loopback port of its own
/// that is closed when the warm-up ends.
/// </remarks>
public sealed partial class GatewayWarmup(GatewayForwarder forwarder, IServer server, IOptions<GatewayOptions> options, IHostApplicationLifetime lifetime, ILogger<GatewayWarmup> logger) : BackgroundService
{
    /// <summary>Enough for the hot methods' call counts to pass the tier-1 threshold (30) many times over.</summary>
    internal const int Requests = 300;

    private static readonly byte[] Chat = """{"model":"warm-up","max_tokens":16,"messages":[{"role":"user","content":"Say hello"}]}"""u8.ToArray();
    private static readonly byte[] Stream = """{"model":"warm-up","stream":true,"max_tokens":16,"messages":[{"role":"user","content":"Say hello"}]}"""u8.ToArray();

    /// <summary>Requests the warm-up has had answered (200 from the canned server through the forwarder).</summary>
    internal int Answered { get; private set; }

    /// <summary>Completes when the warm-up has ended, however it ended.</summary>
    internal Task Done => _done.Task;

    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            if (options.Value.WarmUp)
            {
                // After start-up's own work, so that the two do not share the cores; given up as soon as the panel stops.
                await WhenStartedAsync(stoppingToken);
                using var stopping = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, lifetime.ApplicationStopping);
                await BestEffortAsync(() => WarmForwarderAsync(stopping.Token), stopping.Token);
                await BestEffortAsync(() => WarmServerAsync(stopping.Token), stopping.Token);
                if (!stopping.IsCancellationRequested)
                {
                    // Start-up leaves many survivors, and the process's first full collection (measured: a 40 ms blocking
                    // gen2) would otherwise fall on the first clients' requests; now it falls before most of them arrive.
                    GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
                    LogWarmedUp(Answered, Requests);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopped before the panel had started.
        }
        finally
        {
            _done.TrySetResult();
        }
    }

    /// <summary>
    /// One part of the warm-up. It only makes the first requests faster: a failure costs that and is logged, and never
    /// reaches the host (which would stop the panel for a failed background service).
    /// </summary>
    private async Task BestEffortAsync(Func<Task> part, CancellationToken stopping)
    {
        try
        {
            await part();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            if (!stopping.IsCancellationRequested)
            {
                LogWarmUpFailed(ex);
            }
        }
    }

    /// <summary>The forwarder's side: its requests to a canned server on a loopback port of its own, closed at the end.</summary>
    private async Task WarmForwarderAsync(CancellationToken stopping)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var destination = $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/";
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var serving = CannedServer.ServeAsync(listener, stop.Token);
        try
        {
            for (var i = 0; i < Requests && !stopping.IsCancellationRequested; i++)
            {
                // Both of the forwarder's ways of sending a body (as sent, or with the model renamed), streamed and not.
                var context = new DefaultHttpContext();
                context.Request.Method = HttpMethods.Post;
                context.Request.Path = "/v1/chat/completions";
                context.Request.ContentType = "application/json";
                var body = i % 4 == 3 ? Stream : Chat;
                context.Request.Body = new MemoryStream(body, writable: false);
                context.Request.ContentLength = body.Length;
                context.Response.Body = new MemoryStream();
                context.RequestAborted = stopping;
                if (await forwarder.WarmUpAsync(context, destination, rename: i % 2 == 1) == StatusCodes.Status200OK)
                {
                    Answered++;
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            listener.Stop();
            await serving;
        }
    }

    /// <summary>
    /// Kestrel's side (connections, parsing, the panel's middleware up to its branches): <c>GET /healthz</c> on the
    /// panel's own plain-HTTP address, from four connections as clients would. Counted nowhere, logged nowhere.
    /// </summary>
    private async Task WarmServerAsync(CancellationToken stoppingToken)
    {
        if (server.Features.Get<IServerAddressesFeature>()?.Addresses.Select(Loopback).FirstOrDefault(a => a is not null) is not { } address)
        {
            return;
        }

        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, MaxConnectionsPerServer = 4 }) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
        await Parallel.ForAsync(0, Requests, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = stoppingToken }, async (_, token) =>
        {
            using var response = await client.GetAsync("healthz", token);
        });
    }

    /// <summary>Where this machine reaches a plain-HTTP listen address (a wildcard's loopback); null for HTTPS or a socket path.</summary>
    internal static Uri? Loopback(string address)
    {
        if (!address.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || address.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
        {
            return null;
        }

        if (Security.AllowedHosts.ParseListenAddress(address) is not { AbsolutePath: "/" } uri)
        {
            return null;
        }

        var host = uri.Host switch
        {
            "0.0.0.0" or "localhost" => "127.0.0.1",
            "[::]" => "[::1]",
            _ => uri.Host,
        };
        return new Uri($"http://{host}:{uri.Port}/");
    }

    private Task WhenStartedAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        return started.Task.WaitAsync(stoppingToken);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Gateway warmed up: {Answered} of {Requests} requests through the forwarder.")]
    private partial void LogWarmedUp(int answered, int requests);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The gateway's warm-up failed; the first requests may be slower than the rest.")]
    private partial void LogWarmUpFailed(Exception exception);

    /// <summary>
    /// A model server that knows one answer: HTTP/1.1 with keep-alive, a JSON completion, or the same as a short event
    /// stream (chunked) when the request asks to stream. Loopback only, for the warm-up's life.
    /// </summary>
    private static class CannedServer
    {
        private static readonly byte[] Completion = Encoding.ASCII.GetBytes(Response("application/json",
            """{"id":"warm-up","object":"chat.completion","created":0,"model":"warm-up","choices":[{"index":0,"message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":2,"completion_tokens":1,"total_tokens":3}}"""));

        private static readonly byte[] Events = Encoding.ASCII.GetBytes(
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
            + Chunk("""data: {"id":"warm-up","object":"chat.completion.chunk","created":0,"model":"warm-up","choices":[{"index":0,"delta":{"content":"Hello"}}]}""" + "\n\n")
            + Chunk("data: [DONE]\n\n")
            + "0\r\n\r\n");

        private static string Response(string type, string body) =>
            $"HTTP/1.1 200 OK\r\nContent-Type: {type}\r\nContent-Length: {Encoding.ASCII.GetByteCount(body)}\r\n\r\n{body}";

        private static string Chunk(string data) => $"{Encoding.ASCII.GetByteCount(data):x}\r\n{data}\r\n";

        public static async Task ServeAsync(TcpListener listener, CancellationToken cancellationToken)
        {
            var connections = new List<Task>();
            try
            {
                while (true)
                {
                    var client = await listener.AcceptTcpClientAsync(cancellationToken);
                    connections.Add(AnswerAsync(client, cancellationToken));
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // The warm-up is over.
            }

            await Task.WhenAll(connections);
        }

        private static async Task AnswerAsync(TcpClient client, CancellationToken cancellationToken)
        {
            using (client)
            {
                try
                {
                    var stream = client.GetStream();
                    var buffer = new byte[16 * 1024];
                    var filled = 0;
                    while (true)
                    {
                        // One request: its head up to the blank line, then Content-Length bytes of body.
                        int end;
                        while ((end = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0)
                        {
                            if (filled == buffer.Length)
                            {
                                return;
                            }

                            var read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken);
                            if (read == 0)
                            {
                                return;
                            }

                            filled += read;
                        }

                        // Only what the forwarder sends here: a body of known length that fits. Anything else closes.
                        var head = Encoding.ASCII.GetString(buffer, 0, end);
                        var length = ContentLength(head);
                        if (length < 0 || length > buffer.Length - end - 4 || head.Contains("\r\nTransfer-Encoding:", StringComparison.OrdinalIgnoreCase)
                            || head.Contains("\r\nExpect:", StringComparison.OrdinalIgnoreCase))
                        {
                            return;
                        }

                        var total = end + 4 + length;

                        while (filled < total)
                        {
                            var read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken);
                            if (read == 0)
                            {
                                return;
                            }

                            filled += read;
                        }

                        var streamed = buffer.AsSpan(end + 4, length).IndexOf("\"stream\":true"u8) >= 0;
                        await stream.WriteAsync(streamed ? Events : Completion, cancellationToken);
                        buffer.AsSpan(total, filled - total).CopyTo(buffer);
                        filled -= total;
                    }
                }
                catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException)
                {
                    // The forwarder closed the connection, or the warm-up is over.
                }
            }
        }

        private static int ContentLength(string head)
        {
            foreach (var line in head.Split("\r\n"))
            {
                if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                {
                    return int.TryParse(line.AsSpan(15).Trim(), out var length) ? length : -1;
                }
            }

            return 0;
        }
    }
}
