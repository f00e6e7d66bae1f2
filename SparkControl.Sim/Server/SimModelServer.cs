using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using SparkControl.Sim.Vllm;

namespace SparkControl.Sim.Server;

/// <summary>What a simulated model server is doing.</summary>
public enum SimServerState
{
    Starting,
    Loading,
    Serving,
    Exited,
}

/// <summary>
/// A model server with vLLM's wire behaviour: nothing listens while it loads (connection refused), then
/// <c>/health</c>, <c>/v1/models</c>, chat and text completions with SSE streaming, embeddings and <c>/metrics</c>.
/// </summary>
public sealed class SimModelServer : IAsyncDisposable
{
    private static readonly string[] ReplyWords =
        "This is a simulated reply from the Spark Control simulator. It streams one word at a time so that progress, streaming and cancellation can be seen end to end."
            .Split(' ');

    private readonly VllmServeOptions _options;
    private readonly SimBehaviour _behaviour;
    private readonly TimeProvider _time;
    private readonly Action<string> _log;
    private readonly IPEndPoint _bind;
    private readonly Func<CancellationToken, Task<int>>? _onOutOfMemory;
    private readonly Func<string, string?> _readFile;
    private readonly bool _nim;
    private readonly SemaphoreSlim _slots;
    private WebApplication? _app;
    private int _inFlight;
    private int _waiting;
    private int _healthAnswered;
    private long _promptTokens;
    private long _generationTokens;
    private long _succeeded;
    private long _disconnected;

    /// <param name="bind">Where to listen; in process the simulated host maps the model's port to a free loopback port.</param>
    /// <param name="onOutOfMemory">What an out-of-memory failure does; null returns exit code 137 (the host marks it OOMKilled).</param>
    /// <param name="readFile">Reads a small file the server needs (a LoRA adapter's config); null reads the real file system.</param>
    /// <param name="nim">Serve as a NIM does: its health paths, <c>/v1/health/live</c> and <c>/v1/health/ready</c>, besides vLLM's.</param>
    public SimModelServer(VllmServeOptions options, SimBehaviour behaviour, TimeProvider time, Action<string> log, IPEndPoint bind, Func<CancellationToken, Task<int>>? onOutOfMemory = null, Func<string, string?>? readFile = null, bool nim = false)
    {
        _nim = nim;
        _readFile = readFile ?? ReadSmallFile;
        _options = options;
        _behaviour = behaviour;
        _time = time;
        _log = log;
        _bind = bind;
        _onOutOfMemory = onOutOfMemory;
        _slots = new SemaphoreSlim(Math.Max(1, options.MaxNumSeqs));
    }

    public SimServerState State { get; private set; } = SimServerState.Starting;
    public int InFlight => Volatile.Read(ref _inFlight);
    public long DisconnectedRequests => Interlocked.Read(ref _disconnected);
    public VllmServeOptions Options => _options;

    /// <summary>When the server started listening, as stamped in its "listening" log line.</summary>
    public DateTimeOffset? ListeningAt { get; private set; }

    /// <summary>When <c>/health</c> first answered (a client's first sight of a ready server).</summary>
    public DateTimeOffset? FirstHealthAt { get; private set; }

    /// <summary>Loads (waiting the load time), then serves until <paramref name="stop"/>. Returns the process exit code.</summary>
    public async Task<int> RunAsync(CancellationToken stop)
    {
        State = SimServerState.Loading;
        var name = _options.ServedName;
        _log(VllmLog.Info(_time, "__init__.py:244", "Automatically detected platform cuda."));
        _log(VllmLog.Info(_time, "api_server.py:1839", "vLLM API server version 0.11.0 (Spark Control simulator)"));
        // vLLM prints every non-default argument, --api-key included, as a Python dict: the panel must redact it.
        var apiKey = _options.ApiKey is { } key ? $", 'api_key': ['{key}']" : string.Empty;
        _log(VllmLog.Info(_time, "utils.py:328", $"non-default args: {{'model_tag': '{_options.Model}', 'port': {_options.Port}{apiKey}, 'served_model_name': ['{name}'], 'gpu_memory_utilization': {_options.GpuMemoryUtilization.ToString(CultureInfo.InvariantCulture)}}}"));
        if (VllmCli.ValidateEngineConfig(_options) is { } configError)
        {
            return Fail(configError, 1);
        }

        if (_behaviour.Failure == SimFailure.BadFlag)
        {
            return Fail($"ValueError: User-specified max_model_len ({_options.EffectiveMaxModelLen * 4}) is greater than the derived max_model_len (max_position_embeddings={_options.EffectiveMaxModelLen}).", 1);
        }

        try
        {
            if (await LoadAsync(stop).ConfigureAwait(false) is { } failed)
            {
                return failed;
            }

            if (LoadAdapters() is { } adapterError)
            {
                return Fail(adapterError, 1);
            }

            return await ServeAsync(stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            _log("INFO:     Shutting down");
            _log("INFO:     Finished server process [1]");
            return 0;
        }
        finally
        {
            State = SimServerState.Exited;
            await StopListeningAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Waits the load time as vLLM logs it (weights, then KV cache and warm-up); the exit code when the load fails, null when loaded.</summary>
    private async Task<int?> LoadAsync(CancellationToken stop)
    {
        var loadStarted = _time.GetTimestamp();
        _log(VllmLog.Info(_time, "gpu_model_runner.py:2602", $"Starting to load model {_options.Model}..."));
        var failAt = _behaviour.Failure is SimFailure.OutOfMemory or SimFailure.CrashMidLoad ? _behaviour.EffectiveFailAfter : (TimeSpan?)null;
        var weights = _behaviour.LoadTime * 0.6;
        if (failAt is { } early && early <= weights)
        {
            await Task.Delay(early, _time, stop).ConfigureAwait(false);
            return await FailLoadAsync(stop).ConfigureAwait(false);
        }

        await Task.Delay(weights, _time, stop).ConfigureAwait(false);
        _log(VllmLog.Info(_time, "default_loader.py:267", $"Loading weights took {weights.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)} seconds"));
        _log(VllmLog.Info(_time, "gpu_model_runner.py:2653", $"Model loading took 1.12 GiB and {weights.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)} seconds"));
        if (failAt is { } late)
        {
            await Task.Delay(late - weights, _time, stop).ConfigureAwait(false);
            return await FailLoadAsync(stop).ConfigureAwait(false);
        }

        await Task.Delay(_behaviour.LoadTime - weights, _time, stop).ConfigureAwait(false);
        if (_behaviour.LoadHold is { } hold)
        {
            await hold.WaitAsync(stop).ConfigureAwait(false);
        }

        var tokens = (long)(_options.GpuMemoryUtilization * 120 * 1024 * 1024 / 96);
        _log(VllmLog.Info(_time, "kv_cache_utils.py:1087", $"GPU KV cache size: {tokens.ToString("N0", CultureInfo.InvariantCulture)} tokens"));
        _log(VllmLog.Info(_time, "kv_cache_utils.py:1091", $"Maximum concurrency for {_options.EffectiveMaxModelLen.ToString("N0", CultureInfo.InvariantCulture)} tokens per request: {(tokens / (double)_options.EffectiveMaxModelLen).ToString("0.00", CultureInfo.InvariantCulture)}x"));
        _log(VllmLog.Info(_time, "core.py:210", $"init engine (profile, create kv cache, warmup model) took {_time.GetElapsedTime(loadStarted).TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)} seconds"));
        return null;
    }

    /// <summary>Serves HTTP until stopped; a headless worker of a multi-node launch only holds its shard.</summary>
    private async Task<int> ServeAsync(CancellationToken stop)
    {
        if (_options.Given.ContainsKey("--headless"))
        {
            // A headless worker of a multi-node launch: it holds its shard and serves no HTTP.
            State = SimServerState.Serving;
            _log(VllmLog.Info(_time, "api_server.py:1820", "Running in headless mode; the API server runs on the head node."));
            await Task.Delay(Timeout.InfiniteTimeSpan, _time, stop).ConfigureAwait(false);
            return 0;
        }

        await StartListeningAsync(stop).ConfigureAwait(false);
        ListeningAt = _time.GetUtcNow();
        State = SimServerState.Serving;
        _log(VllmLog.Info(_time, "api_server.py:1880", $"Starting vLLM API server 0 on http://{_options.Host}:{_options.Port}"));
        _log($"SIM listening {ListeningAt.Value.ToString("O", CultureInfo.InvariantCulture)}");
        _log("INFO:     Started server process [1]");
        _log("INFO:     Waiting for application startup.");
        _log("INFO:     Application startup complete.");
        await Task.Delay(Timeout.InfiniteTimeSpan, _time, stop).ConfigureAwait(false);
        return 0;
    }

    private async Task<int> FailLoadAsync(CancellationToken stop)
    {
        if (_behaviour.Failure == SimFailure.OutOfMemory)
        {
            _log(VllmLog.Info(_time, "gpu_model_runner.py:2610", "Loading safetensors checkpoint shards:  62% Completed | 5/8"));
            return _onOutOfMemory is null ? 137 : await _onOutOfMemory(stop).ConfigureAwait(false);
        }

        _log(VllmLog.Error(_time, "core.py:708", "EngineCore failed to start."));
        _log("Traceback (most recent call last):");
        _log("  File \"/usr/local/lib/python3.12/dist-packages/vllm/v1/engine/core.py\", line 699, in run_engine_core");
        _log("RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}");
        return 1;
    }

    /// <summary>
    /// Loads the <c>--lora-modules</c> adapters as vLLM does once its engine is up, before the API server listens: each
    /// path must hold an adapter_config.json whose rank fits <c>--max-lora-rank</c>; the first that does not fails the
    /// start. Returns that error, or null when every adapter loaded.
    /// </summary>
    private string? LoadAdapters()
    {
        var loaded = new HashSet<string>(StringComparer.Ordinal);
        foreach (var module in _options.LoraModules)
        {
            if (!loaded.Add(module.Name) || module.Name == _options.ServedName)
            {
                return $"ValueError: The lora adapter '{module.Name}' has already been loaded.";
            }

            var config = _readFile($"{module.Path.TrimEnd('/')}/adapter_config.json");
            if (config is null)
            {
                return $"ValueError: Loading lora {module.Name} failed: No adapter found for {module.Path}";
            }

            int rank;
            try
            {
                using var json = JsonDocument.Parse(config);
                rank = json.RootElement.GetProperty("r").GetInt32();
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                return $"ValueError: Loading lora {module.Name} failed: {module.Path}/adapter_config.json is not a valid PEFT config ({ex.Message})";
            }

            if (rank > _options.MaxLoraRank)
            {
                return $"ValueError: LoRA rank {rank} is greater than max_lora_rank {_options.MaxLoraRank}.";
            }

            _log(VllmLog.Info(_time, "serving_models.py:162", $"Loaded new LoRA adapter: name '{module.Name}', path '{module.Path}'"));
        }

        return null;
    }

    /// <summary>A file of at most 64 KiB from the real file system (the container's mounts), or null.</summary>
    private static string? ReadSmallFile(string path)
    {
        var file = new FileInfo(path);
        return file.Exists && file.Length <= 64 * 1024 ? File.ReadAllText(path) : null;
    }

    private int Fail(string error, int exitCode)
    {
        _log("Traceback (most recent call last):");
        _log("  File \"/usr/local/bin/vllm\", line 10, in <module>");
        _log(error);
        State = SimServerState.Exited;
        return exitCode;
    }

    private async Task StartListeningAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "SparkControl.Sim" });
        LoopbackPort.UseSharedBind(builder.WebHost);
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            k.Listen(_bind);
            k.AddServerHeader = false;
        });
        builder.Services.AddRoutingCore();
        var app = builder.Build();
        app.UseRouting();
        app.MapGet("/health", () =>
        {
            if (Interlocked.Exchange(ref _healthAnswered, 1) == 0)
            {
                FirstHealthAt = _time.GetUtcNow();
                _log($"SIM first health {FirstHealthAt.Value.ToString("O", CultureInfo.InvariantCulture)}");
            }

            return Results.Ok();
        });
        if (_nim)
        {
            app.MapGet("/v1/health/live", () => Json(new { @object = "health-response", message = "Service is live." }));
            app.MapGet("/v1/health/ready", () => Json(new { @object = "health-response", message = "Service is ready." }));
        }

        app.MapGet("/version", () => Json(new { version = "0.11.0" }));
        app.MapGet("/metrics", WriteMetrics);
        app.MapGet("/v1/models", ListModels);
        app.MapPost("/v1/chat/completions", context => GenerateAsync(context, chat: true));
        app.MapPost("/v1/completions", context => GenerateAsync(context, chat: false));
        app.MapPost("/v1/embeddings", EmbedAsync);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        _app = app;
    }

    private async Task StopListeningAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await app.StopAsync(timeout.Token).ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
        }
    }

    private bool Authorized(HttpContext context) =>
        _options.ApiKey is null || context.Request.Headers.Authorization == $"Bearer {_options.ApiKey}";

    private IResult ListModels(HttpContext context)
    {
        if (!Authorized(context))
        {
            return Json(new { error = "Unauthorized" }, statusCode: 401);
        }

        var created = _time.GetUtcNow().ToUnixTimeSeconds();
        var names = _options.ServedModelNames.IsDefaultOrEmpty ? [_options.Model] : _options.ServedModelNames.ToArray();
        // vLLM lists each LoRA adapter as a model of its own, rooted at its path, with the base's name as its parent.
        var models = names.Select(n => (Id: n, Root: _options.Model, Parent: (string?)null))
            .Concat(_options.LoraModules.Select(m => (Id: m.Name, Root: m.Path, Parent: (string?)_options.ServedName)));
        return Json(new
        {
            @object = "list",
            data = models.Select(m => new
            {
                id = m.Id,
                @object = "model",
                created,
                owned_by = "vllm",
                root = m.Root,
                parent = m.Parent,
                max_model_len = _options.EffectiveMaxModelLen,
            }),
        });
    }

    /// <summary>One completion asked for: what to answer, how long, and how; <paramref name="Script"/> is the chat script's rule that answers it.</summary>
    private sealed record Generation(bool Chat, string Id, long Created, string Model, bool Stream, bool IncludeUsage, int PromptTokens, int Count, string Finish, SimChatRule? Script = null);

    private async Task GenerateAsync(HttpContext context, bool chat)
    {
        if (await ReadGenerationAsync(context, chat).ConfigureAwait(false) is not { } g
            || !await AdmitAsync(g.Id, context.RequestAborted).ConfigureAwait(false))
        {
            return;
        }

        try
        {
            Interlocked.Add(ref _promptTokens, g.PromptTokens);
            if (g.Script is { } rule && !await PlayScriptAsync(context, rule).ConfigureAwait(false))
            {
                return;
            }

            if (g.Stream)
            {
                await StreamAsync(context, g).ConfigureAwait(false);
            }
            else
            {
                await ReplyAsync(context, g).ConfigureAwait(false);
            }

            Interlocked.Increment(ref _succeeded);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            Abort(g.Id);
        }
        catch (IOException) when (context.RequestAborted.IsCancellationRequested)
        {
            Abort(g.Id);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
            _slots.Release();
        }
    }

    /// <summary>The request as vLLM reads it; null once the error vLLM would give (401, 400, 404) has been written.</summary>
    private async Task<Generation?> ReadGenerationAsync(HttpContext context, bool chat)
    {
        if (!Authorized(context))
        {
            await Json(new { error = "Unauthorized" }, statusCode: 401).ExecuteAsync(context).ConfigureAwait(false);
            return null;
        }

        JsonNode? body;
        try
        {
            body = await ParseLastWinsAsync(context.Request.Body, context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            await Error(context, 400, "BadRequestError", $"Invalid JSON: {ex.Message}", null).ConfigureAwait(false);
            return null;
        }

        var model = body?["model"]?.GetValue<string>();
        if (!IsServedName(model))
        {
            await Error(context, 404, "NotFoundError", $"The model `{model}` does not exist.", "model").ConfigureAwait(false);
            return null;
        }

        var maxTokens = (int?)(body?["max_completion_tokens"] ?? body?["max_tokens"])?.GetValue<int>() ?? 24;
        var prompt = chat ? body?["messages"]?.ToJsonString() ?? string.Empty : body?["prompt"]?.ToJsonString() ?? string.Empty;
        var count = Math.Clamp(maxTokens, 1, 4096);
        // A script says exactly what to answer: never cut to max_tokens, and counted at about four characters a token.
        var rule = chat ? _behaviour.ChatScript?.Answer(SimChatScript.LastUserMessage(body?["messages"])) : null;
        return new Generation(
            chat,
            (chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N"),
            _time.GetUtcNow().ToUnixTimeSeconds(),
            model!,
            body?["stream"]?.GetValue<bool>() ?? false,
            body?["stream_options"]?["include_usage"]?.GetValue<bool>() ?? false,
            Math.Max(1, prompt.Length / 4),
            rule is null ? Math.Min(count, ReplyWords.Length) : Math.Max(1, (rule.Reply?.Length ?? 0) / 4),
            rule is null && count < ReplyWords.Length ? "length" : "stop",
            rule);
    }

    /// <summary>Waits for a free sequence slot (max-num-seqs), counted as waiting meanwhile; false when the client left first.</summary>
    private async Task<bool> AdmitAsync(string id, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _waiting);
        var admitted = false;
        try
        {
            await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            admitted = true;
            return true;
        }
        catch (OperationCanceledException)
        {
            Abort(id);
            return false;
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
            if (admitted)
            {
                Interlocked.Increment(ref _inFlight);
            }
        }
    }

    /// <summary>
    /// Waits a scripted rule's delay (cut short when the client leaves, as a real request is aborted); false once a rule
    /// with an error status has answered it with an OpenAI-style error.
    /// </summary>
    private async Task<bool> PlayScriptAsync(HttpContext context, SimChatRule rule)
    {
        if (rule.Delay > TimeSpan.Zero)
        {
            await Task.Delay(rule.Delay, _time, context.RequestAborted).ConfigureAwait(false);
        }

        if (rule.Status == StatusCodes.Status200OK)
        {
            return true;
        }

        var type = rule.Status switch
        {
            401 => "AuthenticationError",
            404 => "NotFoundError",
            429 => "RateLimitError",
            503 => "ServiceUnavailableError",
            < 500 => "BadRequestError",
            _ => "InternalServerError",
        };
        await Error(context, rule.Status, type, rule.Reply ?? $"Scripted error {rule.Status}", null).ConfigureAwait(false);
        return false;
    }

    /// <summary>The whole answer at once, after the time its tokens take.</summary>
    private async Task ReplyAsync(HttpContext context, Generation g)
    {
        for (var i = 0; i < g.Count; i++)
        {
            await TokenDelayAsync(context.RequestAborted).ConfigureAwait(false);
            Interlocked.Increment(ref _generationTokens);
        }

        var text = g.Script?.Reply ?? string.Join(' ', ReplyWords.Take(g.Count));
        var usage = new { prompt_tokens = g.PromptTokens, completion_tokens = g.Count, total_tokens = g.PromptTokens + g.Count };
        var (id, created, model, finish) = (g.Id, g.Created, g.Model, g.Finish);
        object response = g.Chat
            ? new { id, @object = "chat.completion", created, model, choices = new[] { new { index = 0, message = new { role = "assistant", content = text }, logprobs = (object?)null, finish_reason = finish } }, usage }
            : new { id, @object = "text_completion", created, model, choices = new[] { new { index = 0, text, logprobs = (object?)null, finish_reason = finish } }, usage };
        await Json(response).ExecuteAsync(context).ConfigureAwait(false);
    }

    /// <summary>Server-sent events: a word a token, or a script's whole reply in one chunk once its tokens' time has passed.</summary>
    private async Task StreamAsync(HttpContext context, Generation g)
    {
        var (chat, id, created, model, count, finish, includeUsage, promptTokens) = (g.Chat, g.Id, g.Created, g.Model, g.Count, g.Finish, g.IncludeUsage, g.PromptTokens);
        var scripted = g.Script?.Reply;
        var response = context.Response;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        var ct = context.RequestAborted;
        if (chat)
        {
            await WriteEventAsync(response, ChatChunk(id, created, model, new JsonObject { ["role"] = "assistant", ["content"] = string.Empty }, null), ct).ConfigureAwait(false);
        }

        for (var i = 0; i < count; i++)
        {
            await TokenDelayAsync(ct).ConfigureAwait(false);
            Interlocked.Increment(ref _generationTokens);
            var last = i == count - 1;
            if (scripted is not null && !last)
            {
                continue;
            }

            var piece = scripted ?? (i == 0 ? string.Empty : " ") + ReplyWords[i];
            var chunk = chat
                ? ChatChunk(id, created, model, new JsonObject { ["content"] = piece }, last ? finish : null)
                : TextChunk(id, created, model, piece, last ? finish : null);
            await WriteEventAsync(response, chunk, ct).ConfigureAwait(false);
        }

        if (includeUsage)
        {
            var usage = new JsonObject
            {
                ["id"] = id,
                ["object"] = chat ? "chat.completion.chunk" : "text_completion",
                ["created"] = created,
                ["model"] = model,
                ["choices"] = new JsonArray(),
                ["usage"] = new JsonObject { ["prompt_tokens"] = promptTokens, ["completion_tokens"] = count, ["total_tokens"] = promptTokens + count },
            };
            await WriteEventAsync(response, usage, ct).ConfigureAwait(false);
        }

        await response.WriteAsync("data: [DONE]\n\n", ct).ConfigureAwait(false);
        await response.Body.FlushAsync(ct).ConfigureAwait(false);
    }

    private static JsonObject ChatChunk(string id, long created, string model, JsonObject delta, string? finish) => new()
    {
        ["id"] = id,
        ["object"] = "chat.completion.chunk",
        ["created"] = created,
        ["model"] = model,
        ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["logprobs"] = null, ["finish_reason"] = finish }),
    };

    private static JsonObject TextChunk(string id, long created, string model, string text, string? finish) => new()
    {
        ["id"] = id,
        ["object"] = "text_completion",
        ["created"] = created,
        ["model"] = model,
        ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["text"] = text, ["logprobs"] = null, ["finish_reason"] = finish }),
    };

    private static async Task WriteEventAsync(HttpResponse response, JsonNode chunk, CancellationToken ct)
    {
        await response.WriteAsync($"data: {chunk.ToJsonString()}\n\n", ct).ConfigureAwait(false);
        await response.Body.FlushAsync(ct).ConfigureAwait(false);
    }

    private Task TokenDelayAsync(CancellationToken ct) =>
        double.IsPositiveInfinity(_behaviour.TokensPerSecond) || _behaviour.TokensPerSecond <= 0
            ? Task.CompletedTask
            : Task.Delay(TimeSpan.FromSeconds(1 / _behaviour.TokensPerSecond), _time, ct);

    private void Abort(string id)
    {
        Interlocked.Increment(ref _disconnected);
        _log(VllmLog.Info(_time, "async_llm.py:421", $"Aborted request {id}."));
    }

    private async Task EmbedAsync(HttpContext context)
    {
        if (!Authorized(context))
        {
            await Json(new { error = "Unauthorized" }, statusCode: 401).ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        JsonNode? body;
        try
        {
            body = await ParseLastWinsAsync(context.Request.Body, context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            await Error(context, 400, "BadRequestError", $"Invalid JSON: {ex.Message}", null).ConfigureAwait(false);
            return;
        }

        var model = body?["model"]?.GetValue<string>();
        if (!IsServedName(model))
        {
            await Error(context, 404, "NotFoundError", $"The model `{model}` does not exist.", "model").ConfigureAwait(false);
            return;
        }

        var inputs = EmbeddingInputs(body?["input"]);
        if (inputs is null || inputs.Count == 0)
        {
            await Error(context, 400, "BadRequestError", "input must be a string or a non-empty list of strings", "input").ConfigureAwait(false);
            return;
        }

        var base64 = body?["encoding_format"]?.GetValue<string>() == "base64";
        var data = new JsonArray();
        var tokens = 0;
        for (var i = 0; i < inputs.Count; i++)
        {
            var vector = Embed(inputs[i], _behaviour.EmbeddingDimensions);
            tokens += Math.Max(1, inputs[i].Length / 4);
            JsonNode embedding = base64 ? JsonValue.Create(ToBase64(vector)) : new JsonArray(vector.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());
            data.Add(new JsonObject { ["object"] = "embedding", ["index"] = i, ["embedding"] = embedding });
        }

        Interlocked.Add(ref _promptTokens, tokens);
        Interlocked.Increment(ref _succeeded);
        var response = new JsonObject
        {
            ["id"] = "embd-" + Guid.NewGuid().ToString("N"),
            ["object"] = "list",
            ["created"] = _time.GetUtcNow().ToUnixTimeSeconds(),
            ["model"] = model,
            ["data"] = data,
            ["usage"] = new JsonObject { ["prompt_tokens"] = tokens, ["total_tokens"] = tokens },
        };
        await Json(response).ExecuteAsync(context).ConfigureAwait(false);
    }

    /// <summary>OpenAI's <c>input</c>: one string or a list of strings; null for anything else.</summary>
    private static List<string>? EmbeddingInputs(JsonNode? input) => input switch
    {
        JsonValue value when value.TryGetValue<string>(out var single) => [single],
        JsonArray array when array.All(i => i is JsonValue v && v.TryGetValue<string>(out _)) => array.Select(i => i!.GetValue<string>()).ToList(),
        _ => null,
    };

    /// <summary>
    /// A lexical embedding of <paramref name="text"/>: each word (lower-cased letters and digits) is feature-hashed to
    /// one dimension and a sign, and the sum is normalized to unit length. Texts that share words point the same way,
    /// so cosine search over these vectors finds documents by the words a query shares with them; equal texts embed
    /// equally. A text with no words gets a fixed unit vector of its own, from its hash.
    /// </summary>
    public static float[] Embed(string text, int dimensions)
    {
        var vector = new float[dimensions];
        foreach (var word in Words(text))
        {
            var hash = SHA256.HashData(Encoding.UTF8.GetBytes(word));
            var index = (int)(BinaryPrimitives.ReadUInt32LittleEndian(hash) % (uint)dimensions);
            vector[index] += (hash[4] & 1) == 0 ? 1f : -1f;
        }

        double norm = vector.Sum(v => (double)v * v);
        if (norm == 0)
        {
            var random = new Random(BinaryPrimitives.ReadInt32LittleEndian(SHA256.HashData(Encoding.UTF8.GetBytes(text))));
            for (var i = 0; i < dimensions; i++)
            {
                vector[i] = (float)(random.NextDouble() * 2 - 1);
            }

            norm = vector.Sum(v => (double)v * v);
        }

        var scale = (float)(1 / Math.Sqrt(norm));
        for (var i = 0; i < dimensions; i++)
        {
            vector[i] *= scale;
        }

        return vector;
    }

    private static IEnumerable<string> Words(string text)
    {
        var word = new StringBuilder();
        foreach (var c in text)
        {
            if (char.IsLetterOrDigit(c))
            {
                word.Append(char.ToLowerInvariant(c));
            }
            else if (word.Length > 0)
            {
                yield return word.ToString();
                word.Clear();
            }
        }

        if (word.Length > 0)
        {
            yield return word.ToString();
        }
    }

    private static string ToBase64(float[] vector)
    {
        var bytes = new byte[vector.Length * 4];
        for (var i = 0; i < vector.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), vector[i]);
        }

        return Convert.ToBase64String(bytes);
    }

    private bool IsServedName(string? model) =>
        model is not null && (_options.ServedModelNames.IsDefaultOrEmpty ? model == _options.Model : _options.ServedModelNames.Contains(model)
            || _options.LoraModules.Any(m => m.Name == model));

    /// <summary>JSON as vLLM's uvicorn answers it: one body with its Content-Length, not chunked.</summary>
    private static IResult Json(object value, int statusCode = StatusCodes.Status200OK) => new JsonBody(JsonSerializer.SerializeToUtf8Bytes(value), statusCode);

    private sealed class JsonBody(byte[] body, int statusCode) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = statusCode;
            httpContext.Response.ContentType = "application/json";
            httpContext.Response.ContentLength = body.Length;
            return httpContext.Response.Body.WriteAsync(body, httpContext.RequestAborted).AsTask();
        }
    }

    /// <summary>
    /// A request's JSON as vLLM reads it (Python's json module): a key given twice takes its last value. (A JsonNode
    /// parsed straight from such a body throws when the key is read.)
    /// </summary>
    private static async Task<JsonNode?> ParseLastWinsAsync(Stream body, CancellationToken cancellationToken)
    {
        using var document = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken).ConfigureAwait(false);
        return LastWins(document.RootElement);

        static JsonNode? LastWins(JsonElement element)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    var result = new JsonObject();
                    foreach (var property in element.EnumerateObject())
                    {
                        result[property.Name] = LastWins(property.Value);
                    }

                    return result;
                case JsonValueKind.Array:
                    return new JsonArray([.. element.EnumerateArray().Select(LastWins)]);
                case JsonValueKind.Null:
                    return null;
                default:
                    return JsonValue.Create(element.Clone());
            }
        }
    }

    private static Task Error(HttpContext context, int status, string type, string message, string? param) =>
        Json(new { error = new { message, type, param, code = status } }, statusCode: status).ExecuteAsync(context);

    private Task WriteMetrics(HttpContext context)
    {
        var labels = $"engine=\"0\",model_name=\"{_options.ServedName}\"";
        var running = InFlight;
        var waiting = Volatile.Read(ref _waiting);
        var kv = Math.Min(1.0, running * 0.04);
        var text = new StringBuilder();
        void Metric(string name, string type, string help, string value, string? extraLabels = null)
        {
            text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
            text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
            var metricName = type == "counter" ? name + "_total" : name;
            text.Append(metricName).Append('{').Append(labels).Append(extraLabels).Append("} ").Append(value).Append('\n');
        }

        Metric("vllm:num_requests_running", "gauge", "Number of requests in model execution batches.", running.ToString("0.0", CultureInfo.InvariantCulture));
        Metric("vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed.", waiting.ToString("0.0", CultureInfo.InvariantCulture));
        Metric("vllm:kv_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage.", kv.ToString("0.0###", CultureInfo.InvariantCulture));
        Metric("vllm:prompt_tokens", "counter", "Number of prefill tokens processed.", Interlocked.Read(ref _promptTokens).ToString("0.0", CultureInfo.InvariantCulture));
        Metric("vllm:generation_tokens", "counter", "Number of generation tokens processed.", Interlocked.Read(ref _generationTokens).ToString("0.0", CultureInfo.InvariantCulture));
        Metric("vllm:request_success", "counter", "Count of successfully processed requests.", Interlocked.Read(ref _succeeded).ToString("0.0", CultureInfo.InvariantCulture), ",finished_reason=\"stop\"");
        Metric("vllm:http_requests_client_disconnected", "counter", "Requests whose client went away before the response ended.", Interlocked.Read(ref _disconnected).ToString("0.0", CultureInfo.InvariantCulture));
        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        return context.Response.WriteAsync(text.ToString(), context.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        await StopListeningAsync().ConfigureAwait(false);
        _slots.Dispose();
    }
}
