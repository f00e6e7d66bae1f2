using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using SparkControl.Core.Diagnostics;
using SparkControl.Core.Gateway;
using SparkControl.Core.Sparks;
using SparkControl.Core.Storage;
using SparkControl.Core.Validation;

namespace SparkControl.Web.Gateway;

/// <summary>
/// The gateway's audio routes: a transcription or translation upload is spooled to disk and checked (size, that it
/// is audio, its fields), a speech request is read and checked, then each goes to a worker answering to its model
/// with a free slot (<see cref="AudioCapacity"/>), under the name that worker serves, and the worker's answer
/// streams back. A worker that refuses the connection has not seen the request: it goes to another. Any other
/// failure is the client's 502: an upload a worker may have processed is never sent twice.
/// </summary>
public sealed partial class AudioForwarder(
    GatewayAdmission admission,
    AudioRoutes routes,
    AudioCapacity capacity,
    IOptionsMonitor<GatewayOptions> options,
    DataDirectory data,
    SparkControlMetrics metrics,
    TimeProvider time,
    ILogger<AudioForwarder> logger) : IDisposable
{
    private readonly HttpMessageInvoker _invoker = new(GatewayForwarder.CreateUpstreamHandler());

    /// <summary>Where uploads wait on disk while they are checked and sent.</summary>
    public string SpoolDirectory => data.Resolve("spool");

    /// <summary>Whether the uploads a crashed panel left in the spool were removed when this was made (at startup).</summary>
    public bool SpoolCleared { get; } = ClearSpool(data.Resolve("spool"));

    public Task TranscribeAsync(HttpContext context, bool translation) =>
        HandleAsync(context, translation ? "translations" : "transcriptions", AudioRole.Transcription, label => TranscribeUploadAsync(context, translation, label));

    public Task SpeechAsync(HttpContext context) => HandleAsync(context, "speech", AudioRole.Speech, label => SpeakAsync(context, label));

    /// <summary>The model a request named, once read: its metric label.</summary>
    private sealed class ModelLabel
    {
        public string Value { get; set; } = "-";
    }

    /// <summary>What every audio route does around its own work: the gateway's admission, a client that leaves, the request's metric.</summary>
    private async Task HandleAsync(HttpContext context, string route, AudioRole role, Func<ModelLabel, Task> handle)
    {
        var started = time.GetTimestamp();
        var label = new ModelLabel();
        var admitted = admission.Enter(context);
        try
        {
            if (admitted == Admission.Admitted)
            {
                await handle(label);
            }
            else
            {
                await admission.WriteRefusedAsync(context, admitted);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; there is nobody to answer.
        }
        finally
        {
            admission.Leave(context, admitted);
            metrics.RecordGatewayRequest(route, MetricLabel(role, label.Value), context.Response.StatusCode, time.GetElapsedTime(started));
        }
    }

    private async Task TranscribeUploadAsync(HttpContext context, bool translation, ModelLabel label)
    {
        var limit = translation ? options.CurrentValue.MaxTranslationBytes : options.CurrentValue.MaxTranscriptionBytes;
        var (upload, error) = await AudioUpload.ReadAsync(context, limit, SpoolDirectory);
        if (upload is null)
        {
            await GatewayForwarder.WriteErrorAsync(context, error!);
            return;
        }

        await using (upload)
        {
            if (FieldErrors(upload, translation) is { } invalid)
            {
                await GatewayForwarder.WriteErrorAsync(context, invalid);
                return;
            }

            label.Value = upload.Model!;
            await SendAsync(context, AudioRole.Transcription, upload.Model!, upstream => Multipart(upload, upstream), translation ? "v1/audio/translations" : "v1/audio/transcriptions");
        }
    }

    private async Task SpeakAsync(HttpContext context, ModelLabel label)
    {
        var (body, error) = await ReadSpeechAsync(context, options.CurrentValue.MaxSpeechBytes);
        if (body is null)
        {
            await GatewayForwarder.WriteErrorAsync(context, error!);
            return;
        }

        label.Value = body["model"]!.GetValue<string>();
        await SendAsync(context, AudioRole.Speech, label.Value, upstream =>
        {
            body["model"] = upstream;
            return new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body)) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } };
        }, "v1/audio/speech");
    }

    /// <summary>A configured audio name as itself, anything else (a client's string) as "unknown".</summary>
    private string MetricLabel(AudioRole role, string name) =>
        name == "-" || routes.Resolve(role, name) is AudioResolution.Workers ? name : GatewayRoutes.UnknownLabel;

    private static OpenAiError? FieldErrors(AudioUpload upload, bool translation)
    {
        if (Validators.ServedName(upload.Model, "model") is { } modelProblem)
        {
            return new OpenAiError(StatusCodes.Status400BadRequest, upload.Model is null ? "The form needs model: an audio model's name (GET /v1/models lists them)." : modelProblem,
                "invalid_request_error", upload.Model is null ? "missing_model" : "invalid_model") { Param = "model" };
        }

        return AudioRequestRules.CheckTranscription(upload.Fields, translation) is [var first, ..]
            ? new OpenAiError(StatusCodes.Status400BadRequest, first.Message, "invalid_request_error", "invalid_value") { Param = first.Field }
            : null;
    }

    /// <summary>The speech request's JSON, capped and checked; or the error to answer.</summary>
    private static async Task<(JsonObject?, OpenAiError?)> ReadSpeechAsync(HttpContext context, long limit)
    {
        if (context.Request.ContentLength > limit)
        {
            return (null, GatewayForwarder.TooLarge(limit));
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = limit;
        }

        JsonNode? node;
        try
        {
            node = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, GatewayForwarder.TooLarge(limit));
        }
        catch (JsonException ex)
        {
            return (null, new OpenAiError(StatusCodes.Status400BadRequest, $"The body is not valid JSON: {ex.Message}", "invalid_request_error", "invalid_json"));
        }

        if (node is not JsonObject body)
        {
            return (null, new OpenAiError(StatusCodes.Status400BadRequest, "The body must be a JSON object.", "invalid_request_error", "invalid_body"));
        }

        var model = body["model"] is JsonValue value && value.TryGetValue<string>(out var name) ? name : null;
        if (Validators.ServedName(model, "model") is { } modelProblem)
        {
            return (null, new OpenAiError(StatusCodes.Status400BadRequest, model is null ? "The body needs model: a speech model's name (GET /v1/models lists them)." : modelProblem,
                "invalid_request_error", model is null ? "missing_model" : "invalid_model") { Param = "model" });
        }

        return AudioRequestRules.CheckSpeech(body) is [var first, ..]
            ? (null, new OpenAiError(StatusCodes.Status400BadRequest, first.Message, "invalid_request_error", "invalid_value") { Param = first.Field })
            : (body, null);
    }

    /// <summary>
    /// Takes a slot on a worker for <paramref name="model"/> and sends; a refused connection moves to another worker
    /// (never back to one that refused this request; the refusing one is skipped by all until health sees it again).
    /// </summary>
    private async Task SendAsync(HttpContext context, AudioRole role, string model, Func<string, HttpContent> content, string path)
    {
        var refused = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        while (true)
        {
            if (routes.Resolve(role, model) is not AudioResolution.Workers { All: var all })
            {
                await GatewayForwarder.WriteErrorAsync(context, NotServed(role, model));
                return;
            }

            var workers = all.Where(w => !refused.Contains(w.Key)).ToArray();
            if (workers.Length == 0)
            {
                await GatewayForwarder.WriteErrorAsync(context, new OpenAiError(StatusCodes.Status502BadGateway,
                    $"No worker for '{Validators.Printable(model)}' accepted the connection ({string.Join(", ", refused)}); they may be restarting. Try again shortly.", "server_error", "upstream_unavailable"));
                return;
            }

            AudioSlot slot;
            try
            {
                slot = await capacity.AcquireAsync(workers, options.CurrentValue.AudioQueueLength, options.CurrentValue.AudioQueueWait, context.RequestAborted);
            }
            catch (AudioCapacityException busy)
            {
                await WriteBusyAsync(context, model, busy);
                return;
            }

            using (slot)
            {
                var outcome = await SendToWorkerAsync(context, slot.Worker, content(slot.Worker.UpstreamFor(model)!), path);
                slot.Complete(outcome);
                if (outcome != AudioOutcome.Refused)
                {
                    return;
                }

                refused.Add(slot.Worker.Key);
            }
        }
    }

    /// <summary>One attempt at one worker, its answer streamed to the client.</summary>
    private async Task<AudioOutcome> SendToWorkerAsync(HttpContext context, AudioWorker worker, HttpContent content, string path)
    {
        var delivery = new DeliveredContent(content);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(new Uri(worker.Endpoint.GetLeftPart(UriPartial.Authority) + "/"), path)) { Content = delivery };
        // A fresh connection per request: a worker shutting down closes an idle pooled connection just as an upload is
        // sent on it, and that failure cannot tell "never seen" from "processed". On a fresh one, a worker that is
        // gone refuses the connection, which can be retried safely. (One connect per request of hundreds of ms.)
        request.Headers.ConnectionClose = true;
        using var headersDeadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        headersDeadline.CancelAfter(options.CurrentValue.ActivityTimeout);
        HttpResponseMessage response;
        try
        {
            response = await _invoker.SendAsync(request, headersDeadline.Token);
        }
        catch (HttpRequestException ex) when (ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused } || (!delivery.Delivered && !context.RequestAborted.IsCancellationRequested))
        {
            // Refused, or closed (a worker shutting down) before it had the whole upload: it cannot have processed it.
            LogRefused(worker.Spark, worker.Service, ex.Message);
            return AudioOutcome.Refused;
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is OperationCanceledException && !context.RequestAborted.IsCancellationRequested))
        {
            LogFailed(worker.Spark, worker.Service, ex);
            await GatewayForwarder.WriteErrorAsync(context, new OpenAiError(ex is OperationCanceledException ? StatusCodes.Status504GatewayTimeout : StatusCodes.Status502BadGateway,
                ex is OperationCanceledException
                    ? $"The audio worker on {worker.Spark} sent nothing for {options.CurrentValue.ActivityTimeout} (Gateway:ActivityTimeout)."
                    : $"The audio worker on {worker.Spark} failed while taking the request; it is not sent again, since the worker may have processed it.",
                "server_error", ex is OperationCanceledException ? "upstream_timeout" : "upstream_unavailable"));
            return AudioOutcome.Failed;
        }

        using (response)
        {
            await CopyResponseAsync(context, worker, response);
            return AudioOutcome.Answered;
        }
    }

    private static async Task CopyResponseAsync(HttpContext context, AudioWorker worker, HttpResponseMessage response)
    {
        if ((int)response.StatusCode >= 400)
        {
            await GatewayForwarder.WriteErrorAsync(context, await new OpenAiErrorTransformer(worker.Endpoint).ErrorOfAsync(response, context.RequestAborted));
            return;
        }

        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var header in response.Content.Headers.Concat(response.Headers))
        {
            if (header.Key is "Content-Type" or "Content-Disposition" or "Content-Length" || header.Key.StartsWith("X-", StringComparison.OrdinalIgnoreCase))
            {
                context.Response.Headers[header.Key] = header.Value.ToArray();
            }
        }

        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await using var body = await response.Content.ReadAsStreamAsync(context.RequestAborted);
        await body.CopyToAsync(context.Response.Body, context.RequestAborted);
    }

    /// <summary>The worker's form: the client's fields in their order with model renamed, then the file from the spool.</summary>
    private static MultipartFormDataContent Multipart(AudioUpload upload, string upstream)
    {
        var form = new MultipartFormDataContent();
        foreach (var (name, value) in upload.Fields)
        {
            form.Add(new StringContent(name == "model" ? upstream : value), name);
        }

        var file = new StreamContent(upload.OpenRead(), 64 * 1024);
        file.Headers.ContentType = new MediaTypeHeaderValue(ContentTypes.GetValueOrDefault(upload.Format, "application/octet-stream"));
        form.Add(file, "file", upload.FileName);
        return form;
    }

    private static readonly Dictionary<string, string> ContentTypes = new(StringComparer.Ordinal)
    {
        ["wav"] = "audio/wav",
        ["flac"] = "audio/flac",
        ["ogg"] = "audio/ogg",
        ["mp3"] = "audio/mpeg",
        ["aac"] = "audio/aac",
        ["webm"] = "audio/webm",
        ["mp4"] = "audio/mp4",
    };

    private OpenAiError NotServed(AudioRole role, string model) => routes.Resolve(role, model) switch
    {
        AudioResolution.OtherRole { Role: AudioRole.Speech } => new OpenAiError(StatusCodes.Status400BadRequest,
            $"'{Validators.Printable(model)}' is a speech model: send it to /v1/audio/speech.", "invalid_request_error", "wrong_model_kind") { Param = "model" },
        AudioResolution.OtherRole => new OpenAiError(StatusCodes.Status400BadRequest,
            $"'{Validators.Printable(model)}' is a transcription model: send it to /v1/audio/transcriptions.", "invalid_request_error", "wrong_model_kind") { Param = "model" },
        AudioResolution.Unknown { Available: var available } => new OpenAiError(StatusCodes.Status404NotFound,
            $"No audio service answers to '{Validators.Printable(model)}' ({(available.IsEmpty ? "none is configured for this route: add models: to an audio service in services.yaml" : $"available: {string.Join(", ", available)}")}).",
            "invalid_request_error", "model_not_found") { Param = "model" },
        _ => new OpenAiError(StatusCodes.Status503ServiceUnavailable, $"'{Validators.Printable(model)}' has no worker now.", "server_error", "overloaded"),
    };

    private static async Task WriteBusyAsync(HttpContext context, string model, AudioCapacityException busy)
    {
        var seconds = (int)Math.Ceiling(busy.RetryAfter.TotalSeconds);
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        await GatewayForwarder.WriteErrorAsync(context, new OpenAiError(StatusCodes.Status503ServiceUnavailable,
            $"'{Validators.Printable(model)}' cannot take the request now: {busy.Message}. Retry after {seconds} s.", "server_error", "overloaded"));
    }

    /// <summary>
    /// Removes uploads a crashed panel left behind (a running one deletes each when its request ends); true when the
    /// spool is empty. A spool that cannot be read is left alone: uploads still go there, or fail with the disk's reason.
    /// </summary>
    private static bool ClearSpool(string spool)
    {
        try
        {
            foreach (var file in Directory.Exists(spool) ? Directory.EnumerateFiles(spool, "*.upload") : [])
            {
                File.Delete(file);
            }

            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    public void Dispose() => _invoker.Dispose();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Gateway: the audio worker {Service} on {Spark} did not take the request ({Why}); trying another")]
    private partial void LogRefused(string spark, string service, string why);

    /// <summary>
    /// A request body that knows whether it was written to the worker whole: a failure before that means the worker never
    /// had the complete request, so it is safe to send it elsewhere; after it, the worker may have processed it.
    /// </summary>
    private sealed class DeliveredContent : HttpContent
    {
        private readonly HttpContent _inner;

        public DeliveredContent(HttpContent inner)
        {
            _inner = inner;
            Headers.ContentType = inner.Headers.ContentType;
        }

        public bool Delivered { get; private set; }

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context, CancellationToken cancellationToken)
        {
            await _inner.CopyToAsync(stream, context, cancellationToken);
            Delivered = true;
        }

        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override bool TryComputeLength(out long length)
        {
            length = _inner.Headers.ContentLength ?? -1;
            return length >= 0;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Gateway: the audio worker {Service} on {Spark} failed a request")]
    private partial void LogFailed(string spark, string service, Exception exception);
}
