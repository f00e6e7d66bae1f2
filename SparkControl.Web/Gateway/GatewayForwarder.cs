using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using SparkControl.Core.Catalog;
using SparkControl.Core.Diagnostics;
using SparkControl.Core.Gateway;
using SparkControl.Core.Sparks;
using SparkControl.Core.Swaps;
using Yarp.ReverseProxy.Forwarder;
using SparkControl.Core.Validation;

namespace SparkControl.Web.Gateway;

/// <summary>The OpenAI routes the gateway forwards, with the body cap each has.</summary>
public enum GatewayRoute
{
    Chat,
    Completions,
    Embeddings,
}

/// <summary>
/// Forwards one OpenAI request to the model server that answers to its <c>model</c> now, with YARP's forwarder:
/// streamed both ways without buffering, cancelled upstream when the client goes, held while a swap drains or loads
/// the model it needs, and answered with OpenAI-style errors when it cannot be served.
/// </summary>
public sealed partial class GatewayForwarder(
    GatewayAdmission admission,
    IHttpForwarder forwarder,
    GatewayRoutes routes,
    GatewayGate gate,
    SwapOrchestrator swaps,
    SparkFleet fleet,
    IOptionsMonitor<GatewayOptions> options,
    SparkControlMetrics metrics,
    TimeProvider time,
    ILogger<GatewayForwarder> logger) : IDisposable
{
    private readonly HttpMessageInvoker _invoker = new(CreateUpstreamHandler());
    private ForwarderRequestConfig _requestConfig = new();

    /// <summary>
    /// <see cref="GatewayWarmup"/>'s own admission count and drain gate: its requests run the same code as a client's on
    /// these (so a client's first requests do not wait for that code's compilation), and never take a client's slot or
    /// show in the gateway's traffic. Its limits are the defaults, whatever the operator set: the warm-up sends four at a
    /// time, and must not be refused. The gate's publishing timer stops when the warm-up ends (<see cref="EndWarmUp"/>).
    /// </summary>
    private readonly GatewayAdmission _warmUpAdmission = new(new FixedOptions<GatewayOptions>(new GatewayOptions()));
    private readonly GatewayGate _warmUpGate = new(time);

    /// <summary>The warm-up's drain gate (tests read its use).</summary>
    internal GatewayGate WarmUpGate => _warmUpGate;

    /// <summary>Stops the warm-up's drain gate publishing (four times a second, to nobody), once the warm-up has ended.</summary>
    internal void EndWarmUp() => _warmUpGate.Dispose();

    /// <summary>How the gateway talks to model servers (public so the benchmark's bare YARP path uses the same).</summary>
    public static SocketsHttpHandler CreateUpstreamHandler() => new()
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        ConnectTimeout = TimeSpan.FromSeconds(5),
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
        EnableMultipleHttp2Connections = true,
        // No propagator: no diagnostics handler, so no client Activity per request.
        ActivityHeadersPropagator = null,
    };

    public Task ForwardAsync(HttpContext context, GatewayRoute route) => ForwardAsync(context, route, warmUp: null);

    /// <remarks>
    /// Most requests find their model served and its Spark open: for them this is the only async method that waits on
    /// more than YARP (the body read waits only for a body not in yet), and nothing on the way allocates for the waiting
    /// they do not do (gateway-bench counts the difference). <see cref="GatewayWarmup"/>'s requests name the canned
    /// server they go to in <paramref name="warmUp"/>: they take this same path, counted in at an admission count and a
    /// drain gate of their own, but for the routing table and the metrics, which they never reach.
    /// </remarks>
    internal async Task ForwardAsync(HttpContext context, GatewayRoute route, GatewayTarget? warmUp)
    {
        var started = time.GetTimestamp();
        var model = "-";
        GatewayTarget? forwardingTo = null;
        var admissions = warmUp is null ? admission : _warmUpAdmission;
        var admitted = admissions.Enter(context);
        try
        {
            if (admitted != Admission.Admitted)
            {
                await admissions.WriteRefusedAsync(context, admitted);
                return;
            }

            var read = await ReadModelAsync(context, LimitOf(route));
            if (read.Error is { } error)
            {
                await WriteErrorAsync(context, error);
                return;
            }

            model = read.Model!;
            var entering = warmUp is null ? EnterAsync(context, model, read.Body.Count) : ValueTask.FromResult<Entry?>(WarmUpEntry(warmUp));
            if (await entering is not var (target, lease))
            {
                return;
            }

            forwardingTo = target;
            using (lease)
            {
                SetBody(context, read, target.Served.Contains(model) ? null : target.Upstream);
                var sent = await forwarder.SendAsync(context, target.DestinationPrefix, _invoker, RequestConfig(), new OpenAiErrorTransformer(target.Endpoint));
                if (sent is not ForwarderError.None)
                {
                    await AnswerFailureAsync(context, target, sent);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException && context.RequestAborted.IsCancellationRequested)
        {
            // The client went away (a cancelled read or write, or a reset connection); there is nobody to answer.
        }
        catch (Exception ex) when (warmUp is null && Logged(ex, model, forwardingTo) && !context.Response.HasStarted)
        {
            // The gateway's routes are served ahead of the panel's exception handler (whose answer is problem details or
            // the error page): a client of the OpenAI API gets its error in that API's shape. Once the response has
            // started there is nothing to answer with: the exception goes on, the server cuts the connection, and the
            // client sees the answer end short rather than an error appended to it. (A warm-up request's failure goes
            // back to GatewayWarmup, which ends the warm-up with one line.)
            context.Response.Clear();
            await WriteErrorAsync(context, new OpenAiError(StatusCodes.Status500InternalServerError,
                "The gateway failed this request; the panel's log says why.", "server_error", "internal_error"));
        }
        finally
        {
            admissions.Leave(context, admitted);
            if (warmUp is null)
            {
                metrics.RecordGatewayRequest(MetricName(route), model == "-" ? model : routes.MetricLabel(model), context.Response.StatusCode, time.GetElapsedTime(started));
            }
        }
    }

    /// <summary>A warm-up request's place at its own drain gate, which no swap ever drains.</summary>
    private Entry WarmUpEntry(GatewayTarget cannedServer) =>
        _warmUpGate.TryEnter(cannedServer.Spark, out var lease, out _) ? new Entry(cannedServer, lease) : throw new UnreachableException("The warm-up's drain gate is never drained.");

    /// <summary>Options that never change.</summary>
    private sealed class FixedOptions<T>(T value) : IOptionsMonitor<T>
    {
        public T CurrentValue => value;

        public T Get(string? name) => value;

        public IDisposable? OnChange(Action<T, string?> listener) => null;
    }

    private long LimitOf(GatewayRoute route) => route switch
    {
        GatewayRoute.Chat => options.CurrentValue.MaxChatBytes,
        GatewayRoute.Completions => options.CurrentValue.MaxCompletionBytes,
        _ => options.CurrentValue.MaxEmbeddingBytes,
    };

    /// <summary>The route's metric label, without formatting an enum on every request.</summary>
    private static string MetricName(GatewayRoute route) => route switch
    {
        GatewayRoute.Chat => "chat",
        GatewayRoute.Completions => "completions",
        _ => "embeddings",
    };

    /// <summary>The server a request goes to, and its place in the drain gate's count (dispose it when the request ends).</summary>
    private readonly record struct Entry(GatewayTarget Target, IDisposable Lease);

    /// <summary>
    /// Where the model is served, counted in at its Spark's drain gate; null when the answer (unknown model, queue full,
    /// deadline passed) has been written. Completes at once when the model is served and the Spark is open.
    /// </summary>
    private ValueTask<Entry?> EnterAsync(HttpContext context, string model, int bodyBytes) =>
        routes.Resolve(model) is GatewayResolution.Route { Target: var target } && TryEnter(model, target, out _) is { } entry
            ? ValueTask.FromResult<Entry?>(entry)
            : WaitToEnterAsync(context, model, bodyBytes);

    /// <summary>
    /// Counts the request in at <paramref name="target"/>'s Spark if it is open and the model is still served there (it
    /// may have drained and reopened between the lookup and the gate); null otherwise, with the task that completes
    /// when the Spark opens again if it is draining.
    /// </summary>
    private Entry? TryEnter(string model, GatewayTarget target, out Task? opened)
    {
        if (!gate.TryEnter(target.Spark, out var lease, out opened))
        {
            return null;
        }

        try
        {
            if (routes.Resolve(model) is GatewayResolution.Route { Target: var still } && still.IsSameServer(target))
            {
                return new Entry(target, lease);
            }
        }
        catch
        {
            // A lease not given back would keep the Spark busy for every later drain.
            lease.Dispose();
            throw;
        }

        lease.Dispose();
        return null;
    }

    /// <summary>The slow way in: behind a swap that brings the model, or a drain that holds its Spark.</summary>
    private async ValueTask<Entry?> WaitToEnterAsync(HttpContext context, string model, int bodyBytes)
    {
        using var deadline = new QueueDeadline(options.CurrentValue.QueueTimeout, time, context.RequestAborted);
        var lookup = new ModelLookup(model);
        while (true)
        {
            if (await ResolveTargetAsync(context, lookup, bodyBytes, deadline) is not { } target)
            {
                return null;
            }

            if (TryEnter(model, target, out var opened) is { } entry)
            {
                return entry;
            }

            if (opened is null)
            {
                // The model moved between the lookup and the gate (a swap ended meanwhile): look it up again.
                continue;
            }

            // The Spark is draining for a swap: wait until it opens again, then look up the model again.
            if (!await WaitForSparkAsync(context, model, target, opened, bodyBytes, deadline))
            {
                return null;
            }
        }
    }

    /// <summary>What one request has waited for so far: the swap it queued behind, and whether it started one itself.</summary>
    private sealed class ModelLookup(string model)
    {
        public string Model { get; } = model;

        public SwapStatus? Awaited { get; set; }

        public bool AutoSwapped { get; set; }
    }

    /// <summary>
    /// Where the model is served, waiting behind a swap that brings it (or starting one when auto-swap is on); null when
    /// the answer (unknown model, queue full, deadline passed) has been written.
    /// </summary>
    private async Task<GatewayTarget?> ResolveTargetAsync(HttpContext context, ModelLookup lookup, int bodyBytes, QueueDeadline deadline)
    {
        while (true)
        {
            try
            {
                switch (routes.Resolve(lookup.Model))
                {
                    case GatewayResolution.Route route:
                        return route.Target;
                    case GatewayResolution.AwaitSwap wait:
                        lookup.Awaited = wait.Swap;
                        await gate.WaitQueuedAsync(swaps.WaitAsync(wait.Swap.Id, deadline.Token), deadline.Token, options.CurrentValue.QueueLimit, bodyBytes, options.CurrentValue.MaxQueuedBytes);
                        continue;
                    case GatewayResolution.Unknown { InCatalog: { } catalogModel } when options.CurrentValue.AutoSwap && !lookup.AutoSwapped:
                        lookup.Awaited = StartSwap(catalogModel);
                        lookup.AutoSwapped = true;
                        continue;
                    case GatewayResolution.Unknown unknown:
                        var swapEnded = lookup.Awaited is not null ? swaps.Find(lookup.Awaited.Id) : null;
                        await WriteErrorAsync(context, ModelNotFound(lookup.Model, unknown, swapEnded));
                        return null;
                    default:
                        throw new UnreachableException();
                }
            }
            catch (OperationCanceledException) when (deadline.Passed)
            {
                await WriteBusyAsync(context, lookup.Model, lookup.Awaited);
                return null;
            }
            catch (GatewayQueueFullException full)
            {
                await WriteBusyAsync(context, lookup.Model, lookup.Awaited, full.Message);
                return null;
            }
        }
    }

    /// <summary>Waits in the queue until a draining Spark opens again; false when the answer (busy) has been written.</summary>
    private async Task<bool> WaitForSparkAsync(HttpContext context, string model, GatewayTarget target, Task opened, int bodyBytes, QueueDeadline deadline)
    {
        try
        {
            await gate.WaitQueuedAsync(opened, deadline.Token, options.CurrentValue.QueueLimit, bodyBytes, options.CurrentValue.MaxQueuedBytes);
            return true;
        }
        catch (OperationCanceledException) when (deadline.Passed)
        {
            await WriteBusyAsync(context, model, swaps.Board.BySpark.GetValueOrDefault(target.Spark));
            return false;
        }
        catch (GatewayQueueFullException full)
        {
            await WriteBusyAsync(context, model, swaps.Board.BySpark.GetValueOrDefault(target.Spark), full.Message);
            return false;
        }
    }

    /// <summary>An upstream failure YARP reported: logged and, when nothing was sent to the client yet, answered 502 or 504.</summary>
    private async Task AnswerFailureAsync(HttpContext context, GatewayTarget target, ForwarderError error)
    {
        if (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        var detail = context.Features.Get<IForwarderErrorFeature>()?.Exception;
        LogUpstreamFailed(target.Spark, target.Service, error, detail);
        if (!context.Response.HasStarted)
        {
            var timedOut = error is ForwarderError.RequestTimedOut;
            await WriteErrorAsync(context, new OpenAiError(
                timedOut ? StatusCodes.Status504GatewayTimeout : StatusCodes.Status502BadGateway,
                timedOut
                    ? $"The model server on {target.Spark} sent nothing for {options.CurrentValue.ActivityTimeout} (Gateway:ActivityTimeout)."
                    : $"The model server on {target.Spark} did not answer; it may be restarting. Try again shortly.",
                "server_error",
                timedOut ? "upstream_timeout" : "upstream_unavailable"));
        }
    }

    /// <summary>The forwarder's settings for a request, made again only when <c>Gateway:ActivityTimeout</c> changes.</summary>
    private ForwarderRequestConfig RequestConfig()
    {
        var config = _requestConfig;
        var timeout = options.CurrentValue.ActivityTimeout;
        return config.ActivityTimeout == timeout ? config : _requestConfig = new ForwarderRequestConfig { ActivityTimeout = timeout };
    }

    /// <summary>Loads a catalog model a client asked for (Gateway:AutoSwap), on the one Spark it can run on or the first.</summary>
    private SwapStatus StartSwap(ModelDefinition model)
    {
        var target = model switch
        {
            { Placement: ModelPlacement.Cluster } => SwapTargets.Cluster,
            { Source: LocalSource local } => local.Spark,
            _ => fleet.Current.Sparks.FirstOrDefault()?.Name ?? throw new InvalidOperationException("No Spark is configured."),
        };
        try
        {
            return swaps.Start(new SwapRequest(model.Id, target, "gateway"));
        }
        catch (SwapConflictException conflict)
        {
            // Another swap holds the Spark: wait for it, then look again.
            return conflict.Running;
        }
    }

    /// <summary>
    /// How long a request may wait for swaps and drains (Gateway:QueueTimeout), counted from its first wait. The timer
    /// is made only when a request has to wait: most never do, and a timer per request is a cost on the hot path.
    /// </summary>
    private sealed class QueueDeadline(TimeSpan timeout, TimeProvider time, CancellationToken aborted) : IDisposable
    {
        private CancellationTokenSource? _timeout;
        private CancellationTokenSource? _waiting;

        /// <summary>Cancelled when the deadline passes or the client goes.</summary>
        public CancellationToken Token
        {
            get
            {
                if (_waiting is null)
                {
                    _timeout = new CancellationTokenSource(timeout, time);
                    _waiting = CancellationTokenSource.CreateLinkedTokenSource(aborted, _timeout.Token);
                }

                return _waiting.Token;
            }
        }

        /// <summary>The wait ran out (not: the client went away).</summary>
        public bool Passed => _timeout?.IsCancellationRequested == true && !aborted.IsCancellationRequested;

        public void Dispose()
        {
            _waiting?.Dispose();
            _timeout?.Dispose();
        }
    }

    /// <summary>The body read, the model it names and where in it that name's JSON string stands; or why not.</summary>
    private readonly record struct BodyRead(string? Model, OpenAiError? Error, ArraySegment<byte> Body = default, Range ModelValue = default);

    /// <summary>
    /// Reads the body (bounded: it is held to be sent on, perhaps after a swap) and the model it names, checking on the
    /// way that it is one JSON object. One pass with a forward-only reader; no document is built.
    /// </summary>
    private static async ValueTask<BodyRead> ReadModelAsync(HttpContext context, long limit)
    {
        var declared = context.Request.ContentLength;
        if (declared > limit)
        {
            return new BodyRead(null, TooLarge(limit));
        }

        // The cap is this method's to keep, on the body's own bytes: Kestrel's limit set to the cap refused chunked
        // bodies short of it (measured: 4,090 bytes sent as one chunk against 4,096; 4,000 passed), as if it counted
        // the chunks' framing too.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = null;
        }

        // Straight from the request's pipe into one array: the declared length is the client's word, not bytes that
        // arrived, so the array starts at most 64 KiB and grows with what comes.
        var buffer = new byte[(int)Math.Min(declared ?? 16 * 1024, 64 * 1024)];
        var length = 0;
        var reader = context.Request.BodyReader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(context.RequestAborted);
                var received = result.Buffer;
                if (length + received.Length > limit)
                {
                    reader.AdvanceTo(received.End);
                    return new BodyRead(null, TooLarge(limit));
                }

                if (length + received.Length > buffer.Length)
                {
                    Array.Resize(ref buffer, (int)Math.Min(Math.Max(length + received.Length, 2L * buffer.Length), limit));
                }

                received.CopyTo(buffer.AsSpan(length));
                length += (int)received.Length;
                reader.AdvanceTo(received.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (BadHttpRequestException ex)
        {
            // The body could not be read as sent: the client's to mend, answered with the server's own status.
            return new BodyRead(null, ex.StatusCode switch
            {
                StatusCodes.Status413PayloadTooLarge => TooLarge(limit),
                StatusCodes.Status408RequestTimeout => new OpenAiError(StatusCodes.Status408RequestTimeout,
                    "The request body arrived too slowly; send it whole, at once.", "invalid_request_error", "request_timeout"),
                _ => new OpenAiError(StatusCodes.Status400BadRequest,
                    "The request body could not be read whole: it ended before its declared length, or its chunks were malformed.", "invalid_request_error", "invalid_body"),
            });
        }

        var body = new ArraySegment<byte>(buffer, 0, length);
        try
        {
            var model = ModelOf(body, out var isObject, out var modelValue);
            if (!isObject)
            {
                return new BodyRead(null, new OpenAiError(StatusCodes.Status400BadRequest, "The body must be a JSON object.", "invalid_request_error", "invalid_body"));
            }

            if (string.IsNullOrWhiteSpace(model))
            {
                return new BodyRead(null, new OpenAiError(StatusCodes.Status400BadRequest, "The body needs \"model\": the name of a loaded model (GET /v1/models lists them).", "invalid_request_error", "missing_model") { Param = "model" });
            }

            return new BodyRead(model, null, body, modelValue);
        }
        catch (JsonException ex)
        {
            return new BodyRead(null, new OpenAiError(StatusCodes.Status400BadRequest, $"The body is not valid JSON: {ex.Message}", "invalid_request_error", "invalid_json"));
        }
    }

    /// <summary>
    /// The top-level <c>model</c> string (the last, when the key is there twice: as vLLM reads it), after reading the
    /// whole document (so broken JSON is refused here), and where its JSON string stands in the body, quotes included.
    /// </summary>
    private static string? ModelOf(ReadOnlySpan<byte> json, out bool isObject, out Range value)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        isObject = reader.Read() && reader.TokenType == JsonTokenType.StartObject;
        string? model = null;
        value = default;
        while (reader.Read())
        {
            if (isObject && reader.CurrentDepth == 1 && reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("model"u8))
            {
                reader.Read();
                model = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                value = new Range((int)reader.TokenStartIndex, (int)reader.BytesConsumed);
            }
        }

        return model;
    }

    /// <summary>
    /// The body to send upstream: as the client sent it, or with its model renamed to <paramref name="upstream"/> (a
    /// request by alias goes to the server under the name it serves; everything else in the body stays).
    /// </summary>
    private static void SetBody(HttpContext context, BodyRead read, string? upstream)
    {
        var body = read.Body;
        if (upstream is null)
        {
            context.Request.Body = new MemoryStream(body.Array!, body.Offset, body.Count, writable: false);
            return;
        }

        // The model's string replaced where it stands, every other byte as sent. (Parsed into a JsonNode and written
        // again, a body with a key twice, which JSON allows, threw, and everything else came back escaped anew.)
        var (start, length) = read.ModelValue.GetOffsetAndLength(body.Count);
        var name = JsonSerializer.SerializeToUtf8Bytes(upstream);
        var rewritten = new byte[body.Count - length + name.Length];
        body.AsSpan(0, start).CopyTo(rewritten);
        name.CopyTo(rewritten, start);
        body.AsSpan(start + length).CopyTo(rewritten.AsSpan(start + name.Length));
        context.Request.Body = new MemoryStream(rewritten, writable: false);
        context.Request.ContentLength = rewritten.Length;
    }

    internal static OpenAiError TooLarge(long limit) =>
        new(StatusCodes.Status413PayloadTooLarge, $"The request body is larger than this route allows ({limit:N0} bytes).", "invalid_request_error", "request_too_large");

    private static OpenAiError ModelNotFound(string model, GatewayResolution.Unknown unknown, SwapStatus? swap)
    {
        var available = unknown.Available.IsEmpty ? "no model is loaded" : $"available: {string.Join(", ", unknown.Available)}";
        var hint = swap is { Phase: not SwapPhase.Ready } ? $" The swap that was to load it ended {swap.Phase}: {swap.Message}."
            : unknown.InCatalog is { } known ? $" {known.Id} is in the catalog: load it from the Models page or POST /api/swaps."
            : string.Empty;
        return new OpenAiError(StatusCodes.Status404NotFound, $"The model '{Validators.Printable(model)}' is not loaded ({available}).{hint}", "invalid_request_error", "model_not_found") { Param = "model" };
    }

    /// <summary>503 with Retry-After from the swap's ETA: the request waited as long as it may.</summary>
    private static async Task WriteBusyAsync(HttpContext context, string model, SwapStatus? swap, string? why = null)
    {
        var retry = swap?.Eta is { } eta ? Math.Clamp((int)Math.Ceiling(eta.TotalSeconds), 1, 3600) : 5;
        context.Response.Headers.RetryAfter = retry.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var reason = why ?? (swap is null ? "the model is not available yet" : $"a swap on {string.Join(" and ", swap.Sparks)} is still {swap.Phase.ToString().ToLowerInvariant()}");
        await WriteErrorAsync(context, new OpenAiError(StatusCodes.Status503ServiceUnavailable, $"'{Validators.Printable(model)}' cannot be served yet: {reason}. Retry after {retry} s.", "server_error", "model_loading"));
    }

    public static async Task WriteErrorAsync(HttpContext context, OpenAiError error)
    {
        if (context.Response.HasStarted)
        {
            return;
        }

        context.Response.StatusCode = error.Status;
        await context.Response.WriteAsJsonAsync(error.Body(), context.RequestAborted);
    }

    public void Dispose()
    {
        _invoker.Dispose();
        _warmUpGate.Dispose();
    }

    /// <summary>Logs a failure of the gateway's own where it is thrown (so also when the response has started); true.</summary>
    private bool Logged(Exception exception, string model, GatewayTarget? target)
    {
        LogRequestFailed(Validators.Printable(model), target?.Service ?? "-", target?.Spark ?? "-", exception);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Gateway: a request for {Model} (to {Service} on {Spark}) failed")]
    private partial void LogRequestFailed(string model, string service, string spark, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Gateway: the model server {Service} on {Spark} failed a request ({Error})")]
    private partial void LogUpstreamFailed(string spark, string service, ForwarderError error, Exception? exception);
}
