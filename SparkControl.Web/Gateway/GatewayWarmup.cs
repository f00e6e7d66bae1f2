using System.Net;
using System.Net.Sockets;
using System.Runtime;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using SparkControl.Core.Gateway;

namespace SparkControl.Web.Gateway;

/// <summary>
/// Runs the gateway's requests as the panel starts (<c>Gateway:WarmUp</c>, on by default), in rounds until the JIT has
/// settled, against a canned model server of its own on loopback, so that a client's first requests do not wait on the
/// JIT. Measured with <c>gateway-bench</c>: without it, a freshly started panel's first seconds of traffic ran at
/// several times its warm p99 while the request path was compiled and then recompiled at tier 1 on two cores shared
/// with the requests.
/// </summary>
/// <remarks>
/// <para>
/// The requests are real ones, sent to the panel's own address: Kestrel reads them, the panel's middleware passes them
/// to <see cref="GatewayFastPath"/>, which knows them by a secret of this warm-up's own (<see cref="TokenHeader"/>, made
/// afresh each start, valid only while the warm-up runs and only from loopback) and hands them to the forwarder's own
/// path with the canned server as their target. So every method a client's request runs is the one warmed (the
/// admission checks, the admission count and the drain gate too, the last two on instances of the warm-up's own), and
/// only the routing table and the metrics are left out: nothing of the warm-up reaches a model server, a client's slot,
/// the gateway's traffic, its metrics or the log, and the canned server's port is closed when it ends. A panel with no plain-HTTP address it reaches over loopback sends the same requests to the forwarder in
/// process instead.
/// </para>
/// <para>
/// In rounds with pauses between them: the runtime compiles a hot method again at tier 1 only after 30 calls counted
/// once a pause of 100 ms without new compilations has passed, twice for precompiled code (an instrumented tier
/// first), so requests sent in one burst leave the recompiles to the first clients. And until the JIT has settled
/// (<see cref="Settled"/>), not for a fixed count: the panel's own start-up compiles hundreds of methods a round for
/// the first seconds and keeps postponing those pauses. Measured on two cores: eight rounds ended with the forwarder's
/// request method still at the instrumented tier, recompiled under the first clients' load; the rounds now stop after
/// about 27, some 7 s.
/// </para>
/// </remarks>
public sealed partial class GatewayWarmup(GatewayForwarder forwarder, IServer server, IOptions<GatewayOptions> options, IHostApplicationLifetime lifetime, ILogger<GatewayWarmup> logger) : BackgroundService
{
    /// <summary>Gateway requests per round: enough for the hot methods' call counts to pass the tier-1 threshold (30).</summary>
    internal const int RequestsPerRound = 64;

    /// <summary>
    /// Rounds at least: the fixed count this warm-up had before, measured enough for the two tier-ups of precompiled code
    /// (each counted after a pause) when nothing else keeps the JIT busy.
    /// </summary>
    internal const int MinRounds = 8;

    /// <summary>
    /// Rounds at most (15 s of pauses, plus the requests), for a panel whose background work never lets the JIT rest.
    /// </summary>
    internal const int MaxRounds = 60;

    /// <summary>
    /// <c>GET /healthz</c> requests after the gateway's rounds: Kestrel's connections and the general pipeline up to its
    /// branches, as many as eight rounds' worth of the gateway's, which was enough for their tier-ups.
    /// </summary>
    private const int HealthzRequests = 512;

    /// <summary>
    /// A round that compiles fewer methods than this is quiet: once the request path is done, a round compiles only what
    /// the panel's background work reaches (measured: 0-9 a round, with a burst now and then when a job first runs).
    /// </summary>
    internal const int QuietCompiles = 10;

    /// <summary>Rounds the warm-up ran, once it has ended.</summary>
    internal int RoundsRun => Volatile.Read(ref _roundsRun);

    private int _roundsRun;

    /// <summary>Longer than the runtime's 100 ms wait for calls to be counted, and for the compiles it then queues.</summary>
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(250);

    internal const string TokenHeader = "X-Spark-Control-Warm-Up";

    private static readonly byte[] Chat = """{"model":"warm-up","max_tokens":16,"messages":[{"role":"user","content":"Say hello"}]}"""u8.ToArray();
    private static readonly byte[] Alias = """{"model":"warm-up-alias","max_tokens":16,"messages":[{"role":"user","content":"Say hello"}]}"""u8.ToArray();
    private static readonly byte[] Stream = """{"model":"warm-up","stream":true,"max_tokens":16,"messages":[{"role":"user","content":"Say hello"}]}"""u8.ToArray();

    /// <summary>Requests the warm-up has had answered (200 from the canned server through the gateway).</summary>
    internal int Answered => Volatile.Read(ref _answered) + AnsweredThroughKestrel;

    /// <summary>Of those, the ones sent to the panel's own address (the rest went to the forwarder in process).</summary>
    internal int AnsweredThroughKestrel => Volatile.Read(ref _answeredThroughKestrel);

    private int _answered;
    private int _answeredThroughKestrel;

    /// <summary>Completes when the warm-up has ended, however it ended.</summary>
    internal Task Done => _done.Task;

    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>While requests go through Kestrel: the secret they carry and the canned server they are for.</summary>
    private sealed record Pass(byte[] Token, GatewayTarget Target);

    private Pass? _pass;

    /// <summary>
    /// The canned server a request is for when it is one of this warm-up's own (sent while it runs, from loopback, with
    /// its secret once); null for every other request, which the gateway treats as it always does.
    /// </summary>
    internal GatewayTarget? Owns(HttpContext context)
    {
        if (Volatile.Read(ref _pass) is not { } pass || context.Connection.RemoteIpAddress is not { } remote || !IPAddress.IsLoopback(remote)
            || !context.Request.Headers.TryGetValue(TokenHeader, out var sent) || sent.Count != 1 || sent[0] is not { Length: > 0 } value
            || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(value), pass.Token))
        {
            return null;
        }

        return pass.Target;
    }

    /// <summary>Lets requests with <paramref name="token"/> through to <paramref name="target"/> until <see cref="EndPass"/> (tests use it to probe <see cref="Owns"/>).</summary>
    internal void BeginPass(string token, GatewayTarget target) => Volatile.Write(ref _pass, new Pass(Encoding.ASCII.GetBytes(token), target));

    internal void EndPass() => Volatile.Write(ref _pass, null);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            if (options.Value.WarmUp)
            {
                // After start-up's own work, so that the two do not share the cores; given up as soon as the panel stops.
                await WhenStartedAsync(stoppingToken);
                using var stopping = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, lifetime.ApplicationStopping);
                var compiled = JitInfo.GetCompiledMethodCount();
                await BestEffortAsync(() => WarmGatewayAsync(stopping.Token), stopping.Token);
                await BestEffortAsync(() => WarmServerAsync(stopping.Token), stopping.Token);
                if (!stopping.IsCancellationRequested)
                {
                    // Start-up leaves many survivors, and the process's first full collection (measured: a 40 ms blocking
                    // gen2) would otherwise fall on the first clients' requests; now it falls before most of them arrive.
                    GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
                    LogWarmedUp(Answered, RoundsRun, JitInfo.GetCompiledMethodCount() - compiled);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopped before the panel had started.
        }
        finally
        {
            forwarder.EndWarmUp();
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

    /// <summary>The gateway's requests, in rounds, to a canned server on a loopback port of its own, closed at the end.</summary>
    private async Task WarmGatewayAsync(CancellationToken stopping)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var destination = new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/");
        // Served under one name and asked for under another half the time: the body sent as is, or renamed.
        var target = new GatewayTarget("warm-up", "warm-up", null, destination, ["warm-up"], ["warm-up-alias"]);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var serving = CannedServer.ServeAsync(listener, stop.Token);
        try
        {
            // Only an address reached over loopback: from any other, the gateway would not know the requests for the
            // warm-up's own and would answer (and count) them as a client's.
            using var client = OwnAddress(a => a.IsLoopback) is { } address ? ClientOf(address) : null;
            var token = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
            BeginPass(token, target);
            var compiledPerRound = new List<long>();
            while (!stopping.IsCancellationRequested && !Settled(compiledPerRound))
            {
                var before = JitInfo.GetCompiledMethodCount();
                await Parallel.ForAsync(0, RequestsPerRound, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = stopping }, async (i, cancellationToken) =>
                {
                    var body = i % 4 == 3 ? Stream : i % 2 == 1 ? Alias : Chat;
                    if (client is null)
                    {
                        if (await InProcessAsync(body, target, cancellationToken))
                        {
                            Interlocked.Increment(ref _answered);
                        }
                    }
                    else if (await ThroughKestrelAsync(client, body, token, cancellationToken))
                    {
                        Interlocked.Increment(ref _answeredThroughKestrel);
                    }
                });
                await Task.Delay(Pause, stopping);
                compiledPerRound.Add(JitInfo.GetCompiledMethodCount() - before);
                Volatile.Write(ref _roundsRun, compiledPerRound.Count);
            }
        }
        finally
        {
            EndPass();
            await stop.CancelAsync();
            listener.Stop();
            await serving;
        }
    }

    /// <summary>
    /// Whether the rounds may stop, given the methods the process compiled during each so far: after
    /// <see cref="MinRounds"/> once the last two were quiet (<see cref="QuietCompiles"/>), and after
    /// <see cref="MaxRounds"/> in any case.
    /// </summary>
    internal static bool Settled(IReadOnlyList<long> compiledPerRound) =>
        compiledPerRound.Count >= MaxRounds
        || (compiledPerRound.Count >= MinRounds && compiledPerRound[^1] < QuietCompiles && compiledPerRound[^2] < QuietCompiles);

    /// <summary>One request to the panel's own address, as a client sends it, but for the secret.</summary>
    private static async Task<bool> ThroughKestrelAsync(HttpClient client, byte[] body, string token, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = content };
        request.Headers.Add(TokenHeader, token);
        using var response = await client.SendAsync(request, cancellationToken);
        await response.Content.ReadAsByteArrayAsync(cancellationToken);
        return response.StatusCode == HttpStatusCode.OK;
    }

    /// <summary>One request handed to the forwarder in process: for a panel whose address this machine cannot reach over plain HTTP.</summary>
    private async Task<bool> InProcessAsync(byte[] body, GatewayTarget target, CancellationToken cancellationToken)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = HttpMethods.Post;
        context.Request.Path = "/v1/chat/completions";
        context.Request.ContentType = "application/json";
        context.Request.Body = new MemoryStream(body, writable: false);
        context.Request.ContentLength = body.Length;
        context.Response.Body = new MemoryStream();
        // Until the canned server's answer replaces it: a request given up on is not counted as answered.
        context.Response.StatusCode = StatusCodes.Status504GatewayTimeout;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // The canned server answers at once; one that did not must not hold the warm-up for Gateway:ActivityTimeout.
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        context.RequestAborted = timeout.Token;
        await forwarder.ForwardAsync(context, GatewayRoute.Chat, target);
        return context.Response.StatusCode == StatusCodes.Status200OK;
    }

    /// <summary>
    /// Kestrel's side (connections, parsing, the panel's middleware up to its branches): <c>GET /healthz</c> on the
    /// panel's own plain-HTTP address, from four connections as clients would. Counted nowhere, logged nowhere.
    /// </summary>
    private async Task WarmServerAsync(CancellationToken stoppingToken)
    {
        if (OwnAddress(_ => true) is not { } address)
        {
            return;
        }

        using var client = ClientOf(address);
        await Parallel.ForAsync(0, HealthzRequests, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = stoppingToken }, async (_, token) =>
        {
            using var response = await client.GetAsync("healthz", token);
        });
    }

    /// <summary>The first of the panel's listen addresses this machine reaches over plain HTTP that <paramref name="fits"/>.</summary>
    private Uri? OwnAddress(Func<Uri, bool> fits) =>
        server.Features.Get<IServerAddressesFeature>()?.Addresses.Select(Loopback).FirstOrDefault(a => a is not null && fits(a));

    /// <summary>A client of the panel's own address with four connections, as the bench's clients have.</summary>
    private static HttpClient ClientOf(Uri address) =>
        new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, MaxConnectionsPerServer = 4 }) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };

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

    [LoggerMessage(Level = LogLevel.Debug, Message = "Gateway warmed up: {Answered} requests answered in {Rounds} rounds; {Compiled} methods compiled meanwhile.")]
    private partial void LogWarmedUp(int answered, int rounds, long compiled);

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
