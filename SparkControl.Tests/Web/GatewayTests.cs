using System.ClientModel;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenAI;
using OpenAI.Chat;
using SparkControl.Core.Gateway;
using SparkControl.Core.Hosts;
using SparkControl.Sim.Hosting;
using SparkControl.Tests.Infrastructure;
using SparkControl.Web.Gateway;
using SparkControl.Core.Launch;

namespace SparkControl.Tests.Web;

/// <summary>The OpenAI-compatible gateway with the official OpenAI SDK as the client and the demo's simulated Spark upstream.</summary>
public sealed partial class GatewayTests
{
    private static async Task<SparkControlApp> StartAsync(Dictionary<string, string?>? settings = null, string? dataDirectory = null, string[]? names = null, LogCollector? logs = null)
    {
        var app = await SparkControlApp.StartAsync(settings, dataDirectory, logs is null ? null : s => s.AddSingleton<ILoggerProvider>(logs));
        using var client = app.CreateClient();
        await Wait.UntilAsync(async () =>
        {
            var models = await client.GetStringAsync("/v1/models");
            return (names ?? ["qwen3-8b", "bge-small"]).All(name => models.Contains($"\"{name}\"", StringComparison.Ordinal));
        }, "the gateway answers to the demo's models", TimeSpan.FromSeconds(60));
        return app;
    }

    private static OpenAIClient Sdk(SparkControlApp app) =>
        new(new ApiKeyCredential("not-checked"), new OpenAIClientOptions { Endpoint = new Uri(app.BaseAddress, "/v1"), NetworkTimeout = TimeSpan.FromSeconds(60) });

    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    [Fact]
    public async Task Sdk_Chat_ByServedNameAndByAlias()
    {
        await using var app = await StartAsync();
        var sdk = Sdk(app);

        ChatCompletion byName = await sdk.GetChatClient("qwen3-8b").CompleteChatAsync([new UserChatMessage("Say hello")], new ChatCompletionOptions { MaxOutputTokenCount = 8 });
        ChatCompletion byAlias = await sdk.GetChatClient("default-chat").CompleteChatAsync([new UserChatMessage("Say hello")], new ChatCompletionOptions { MaxOutputTokenCount = 8 });

        Assert.Equal("qwen3-8b", byName.Model);
        Assert.False(string.IsNullOrWhiteSpace(byName.Content[0].Text));
        Assert.Equal(ChatFinishReason.Length, byName.FinishReason);
        // The alias is rewritten to the name the server serves: vLLM would refuse "default-chat".
        Assert.Equal("qwen3-8b", byAlias.Model);
    }

    [Theory]
    [InlineData("""{"model":"default-chat","model":"default-chat","max_tokens":2,"messages":[{"role":"user","content":"hi"}]}""")]
    [InlineData("""{"model":"default-chat","max_tokens":2,"max_tokens":3,"messages":[{"role":"user","content":"hi"}]}""")]
    [InlineData("""{ "model" : "default-chat" , "max_tokens":2,"messages":[{"role":"user","content":"hi \u00e9 \"quoted\""}],"n":1.0}""")]
    public async Task AnAliasInAnyValidBody_IsRenamedForTheServer(string body)
    {
        await using var app = await StartAsync();
        using var client = app.CreateClient();

        using var response = await client.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));

        // JSON allows a key twice (the last counts, for the gateway as for vLLM): renaming the alias must not fail on it.
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        Assert.Equal("qwen3-8b", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("model").GetString());
    }

    [Fact]
    public async Task Sdk_ChatStreaming_ArrivesChunkByChunk_NotBuffered()
    {
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Demo:TokensPerSecond"] = "20" });
        var chat = Sdk(app).GetChatClient("qwen3-8b");
        var clock = Stopwatch.StartNew();
        var arrivals = new List<TimeSpan>();
        var text = new StringBuilder();

        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("Tell me a story")], new ChatCompletionOptions { MaxOutputTokenCount = 20 }))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
                arrivals.Add(clock.Elapsed);
            }
        }

        Assert.True(arrivals.Count >= 10, $"{arrivals.Count} chunks");
        Assert.False(string.IsNullOrWhiteSpace(text.ToString()));
        // 20 tokens at 20 per second: a buffering proxy would hand them all over at once.
        Assert.True(arrivals[^1] - arrivals[0] >= TimeSpan.FromMilliseconds(500), $"chunks spread over {arrivals[^1] - arrivals[0]}");
    }

    [Fact]
    public async Task Streaming_HeadersStayEventStream_WithoutCompression()
    {
        await using var app = await StartAsync();
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Json(new { model = "qwen3-8b", stream = true, max_tokens = 4, messages = new[] { new { role = "user", content = "hi" } } }) };
        request.Headers.AcceptEncoding.ParseAdd("gzip, br");

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        Assert.Empty(response.Content.Headers.ContentEncoding);
        Assert.EndsWith("data: [DONE]\n\n", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sdk_Embeddings_GoToTheEmbeddingService_AndModelsListsEveryName()
    {
        await using var app = await StartAsync();
        var sdk = Sdk(app);

        var embedding = (await sdk.GetEmbeddingClient("bge-small").GenerateEmbeddingAsync("a sentence to embed")).Value;
        var models = (await sdk.GetOpenAIModelClient().GetModelsAsync()).Value.Select(m => m.Id).ToList();

        Assert.NotEmpty(embedding.ToFloats().ToArray());
        Assert.Contains("qwen3-8b", models);
        Assert.Contains("default-chat", models);
        Assert.Contains("bge-small", models);
    }

    [Fact]
    public async Task AServiceOnTheDemoSparkByUrlOnly_IsProbedAndRouted()
    {
        // A model server outside any container (a process of its own), added to the demo Spark in services.yaml.
        using var data = new TempDirectory("sc-data");
        var port = Tools.FreePort();
        var (options, _) = SparkControl.Sim.Vllm.VllmCli.Parse(["serve", "org/extra", "--served-model-name", "extra-model", "--host", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await using var upstream = new SparkControl.Sim.Server.SimModelServer(options!, new SparkControl.Sim.Server.SimBehaviour { LoadTime = TimeSpan.Zero, TokensPerSecond = 1000 }, TimeProvider.System, _ => { }, new IPEndPoint(IPAddress.Loopback, port));
        using var stop = new CancellationTokenSource();
        var serving = upstream.RunAsync(stop.Token);
        await File.WriteAllTextAsync(Path.Combine(data.Path, "services.yaml"), $"services:\n  - spark: demo\n    name: extra\n    kind: vllm-llm\n    url: http://127.0.0.1:{port}/\n");
        await using var app = await StartAsync(dataDirectory: data.Path);
        using var client = app.CreateClient();
        await Wait.UntilAsync(async () => (await client.GetStringAsync("/v1/models")).Contains("\"extra-model\"", StringComparison.Ordinal), "the gateway answers to the extra service's model");

        ChatCompletion answer = await Sdk(app).GetChatClient("extra-model").CompleteChatAsync([new UserChatMessage("hi")], new ChatCompletionOptions { MaxOutputTokenCount = 3 });

        Assert.Equal("extra-model", answer.Model);
        await stop.CancelAsync();
        await serving;
    }

    [Fact]
    public async Task ServerThatStopsAnsweringProbes_IsStillRoutedNotCalledUnloaded()
    {
        // A model server of the test's own: it answers chat at once, and its probes only until told to stall (a server
        // busy with a long prefill, or a machine under load, misses a probe; its model is no less loaded).
        var stall = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var port = Tools.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        builder.Logging.ClearProviders();
        await using var upstream = builder.Build();
        upstream.MapGet("/health", async (CancellationToken ct) =>
        {
            if (stall.Task.IsCompleted)
            {
                await Task.Delay(Timeout.Infinite, ct);
            }

            return Microsoft.AspNetCore.Http.Results.Ok();
        });
        upstream.MapGet("/v1/models", () => Microsoft.AspNetCore.Http.Results.Json(new { @object = "list", data = new[] { new { id = "slow-model", @object = "model" } } }));
        upstream.MapPost("/v1/chat/completions", () => Microsoft.AspNetCore.Http.Results.Json(new { id = "c1", @object = "chat.completion", model = "slow-model", choices = new[] { new { index = 0, message = new { role = "assistant", content = "hi" }, finish_reason = "stop" } } }));
        await upstream.StartAsync();
        using var data = new TempDirectory("sc-data");
        await File.WriteAllTextAsync(Path.Combine(data.Path, "services.yaml"), $"services:\n  - spark: demo\n    name: slow\n    kind: vllm-llm\n    url: http://127.0.0.1:{port}/\n");
        await using var app = await StartAsync(new Dictionary<string, string?> { ["SparkControl:Health:ProbeTimeout"] = "00:00:00.300" }, data.Path, names: ["slow-model"]);
        using var client = app.CreateClient();

        stall.SetResult();
        await Wait.UntilAsync(async () => (await client.GetStringAsync("/api/services")).Contains("health check timed out", StringComparison.Ordinal), "a probe of the slow server times out");
        using var response = await client.PostAsync("/v1/chat/completions", Json(new { model = "slow-model", messages = new[] { new { role = "user", content = "hi" } } }));

        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        await upstream.StopAsync();
    }

    [Fact]
    public async Task Completions_WithHttpClient_AreForwarded()
    {
        await using var app = await StartAsync();
        using var client = app.CreateClient();

        using var response = await client.PostAsync("/v1/completions", Json(new { model = "qwen3-8b", prompt = "Once upon a time", max_tokens = 5 }));
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var body = JsonSerializer.Deserialize<JsonElement>(bytes);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // Passed on as the model server framed it: with its length, not re-chunked.
        Assert.Equal(bytes.Length, response.Content.Headers.ContentLength);
        Assert.Equal("text_completion", body.GetProperty("object").GetString());
        Assert.False(string.IsNullOrWhiteSpace(body.GetProperty("choices")[0].GetProperty("text").GetString()));
    }

    [Fact]
    public async Task Forwarding_WritesNoLogLinePerRequest()
    {
        var logs = new LogCollector();
        // As the panel ships (appsettings.json), not the tests' quieter default.
        await using var app = await StartAsync(new() { ["Logging:LogLevel:Default"] = "Information" }, logs: logs);
        using var client = app.CreateClient();

        using var response = await client.PostAsync("/v1/completions", Json(new { model = "qwen3-8b", prompt = "Once", max_tokens = 2 }));

        // YARP writes two Information lines per forwarded request; at the gateway's rate that would flood the log.
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(logs.Messages, m => m.StartsWith("Yarp", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sdk_UnknownModel_IsAClearOpenAiError()
    {
        await using var app = await StartAsync();
        using var client = app.CreateClient();

        var error = await Assert.ThrowsAsync<ClientResultException>(() => Sdk(app).GetChatClient("gpt-4o").CompleteChatAsync([new UserChatMessage("hi")]));
        using var raw = await client.PostAsync("/v1/chat/completions", Json(new { model = "gpt-oss-20b", messages = new[] { new { role = "user", content = "hi" } } }));
        var body = (await raw.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");

        Assert.Equal(404, error.Status);
        Assert.Contains("The model 'gpt-4o' is not loaded (available: ", error.Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, raw.StatusCode);
        Assert.Equal("model_not_found", body.GetProperty("code").GetString());
        Assert.Equal("invalid_request_error", body.GetProperty("type").GetString());
        Assert.Equal("model", body.GetProperty("param").GetString());
        Assert.Contains("gpt-oss-20b is in the catalog: load it from the Models page", body.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/v1/chat/completions")]
    [InlineData("/v1/embeddings")]
    public async Task OversizedBody_Is413(string path)
    {
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Gateway:MaxChatBytes"] = "4096", ["Gateway:MaxEmbeddingBytes"] = "4096" });
        using var client = app.CreateClient();

        using var declared = await client.PostAsync(path, Json(new { model = "qwen3-8b", input = new string('x', 10_000), messages = new[] { new { role = "user", content = new string('x', 10_000) } } }));
        using var chunked = new HttpRequestMessage(HttpMethod.Post, path) { Content = new PushStreamContent(new string('x', 10_000)) };
        using var streamed = await client.SendAsync(chunked);

        foreach (var response in new[] { declared, streamed })
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            Assert.Equal("request_too_large", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("code").GetString());
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ABodyLargerThanTheFirstBuffer_ArrivesWhole_DeclaredOrChunked(bool declared)
    {
        // 300 kB: past what the body's array starts at (the declared length up to 64 KiB; 16 KiB when none is declared),
        // so it grows while the body arrives in many reads.
        await using var app = await StartAsync();
        using var client = app.CreateClient();
        var messages = new[] { new { role = "user", content = string.Concat(Enumerable.Range(0, 30_000).Select(i => $"w{i % 10_000:D4}-x ")) } };
        var body = JsonSerializer.Serialize(new { model = "qwen3-8b", max_tokens = 2, messages });
        using HttpContent content = declared ? new StringContent(body, Encoding.UTF8, "application/json") : new PushStreamContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");

        using var response = await client.PostAsync("/v1/chat/completions", content);

        // The simulated vLLM counts a token per four characters of the messages it received: all of them, in order.
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var usage = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("usage");
        Assert.Equal(JsonSerializer.Serialize(messages).Length / 4, usage.GetProperty("prompt_tokens").GetInt32());
    }

    [Theory]
    [InlineData(4096, true, HttpStatusCode.OK)]
    [InlineData(4096, false, HttpStatusCode.OK)]
    [InlineData(4097, true, HttpStatusCode.RequestEntityTooLarge)]
    [InlineData(4097, false, HttpStatusCode.RequestEntityTooLarge)]
    public async Task ABodyOfExactlyTheCap_IsServed_AndOneByteMoreIs413_DeclaredOrChunked(int bytes, bool declared, HttpStatusCode expected)
    {
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Gateway:MaxChatBytes"] = "4096" });
        using var client = app.CreateClient();
        var empty = JsonSerializer.Serialize(new { model = "qwen3-8b", max_tokens = 2, messages = new[] { new { role = "user", content = string.Empty } } });
        var body = empty.Replace("\"content\":\"\"", $"\"content\":\"{new string('x', bytes - empty.Length)}\"", StringComparison.Ordinal);
        Assert.Equal(bytes, Encoding.UTF8.GetByteCount(body));
        // Chunked in 100-byte pieces: each chunk's framing is on the wire, not in the body, and is not counted.
        using HttpContent content = declared ? new StringContent(body, Encoding.UTF8, "application/json") : new PushStreamContent(body, chunk: 100);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");

        using var response = await client.PostAsync("/v1/chat/completions", content);

        Assert.Equal(expected, response.StatusCode);
    }

    [Theory]
    [InlineData("not json", "invalid_json")]
    [InlineData("[1,2]", "invalid_body")]
    [InlineData("{\"messages\":[]}", "missing_model")]
    [InlineData("{\"model\":42}", "missing_model")]
    public async Task BadBody_Is400(string body, string code)
    {
        await using var app = await StartAsync();
        using var client = app.CreateClient();

        using var response = await client.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(code, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task RequestDuringASwap_WaitsAndIsServedByTheNewModel()
    {
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Demo:LoadTime"] = "00:00:02" });
        using var client = app.CreateClient();
        using var swap = await client.PostAsJsonAsync("/api/swaps", new { model = "gpt-oss-20b", spark = "demo" });
        var id = (await swap.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
        await Wait.UntilAsync(async () => (await client.GetFromJsonAsync<JsonElement>($"/api/swaps/{id}")).GetProperty("phase").GetString() == "loading", "the swap is loading");

        // default-chat is an alias of both: asked for while the old model is gone and the new one loads.
        ChatCompletion answer = await Sdk(app).GetChatClient("default-chat").CompleteChatAsync([new UserChatMessage("hi")], new ChatCompletionOptions { MaxOutputTokenCount = 4 });
        var ended = await client.GetFromJsonAsync<JsonElement>($"/api/swaps/{id}");

        Assert.Equal("gpt-oss-20b", answer.Model);
        Assert.Equal("ready", ended.GetProperty("phase").GetString());
    }

    [Fact]
    public async Task AutoSwap_ARequestForACatalogModel_LoadsIt_AndIsServedByIt()
    {
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Gateway:AutoSwap"] = "true" });
        using var client = app.CreateClient();

        ChatCompletion answer = await Sdk(app).GetChatClient("gpt-oss-20b").CompleteChatAsync([new UserChatMessage("hi")], new ChatCompletionOptions { MaxOutputTokenCount = 4 });
        JsonElement history = default;
        await Wait.UntilAsync(async () => (history = await client.GetFromJsonAsync<JsonElement>("/api/swaps/history?model=gpt-oss-20b")).GetArrayLength() > 0, "the swap is in the history");

        Assert.Equal("gpt-oss-20b", answer.Model);
        var swap = Assert.Single(history.EnumerateArray());
        Assert.Equal("gateway", swap.GetProperty("requester").GetString());
        Assert.Equal("ready", swap.GetProperty("phase").GetString());
    }

    [Fact]
    public async Task InFlightRequest_FinishesBeforeTheOldModelStops()
    {
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Demo:TokensPerSecond"] = "10" });
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Json(new { model = "qwen3-8b", stream = true, max_tokens = 15, messages = new[] { new { role = "user", content = "hi" } } }) };
        using var stream = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync());
        await reader.ReadLineAsync();

        using var swap = await client.PostAsJsonAsync("/api/swaps", new { model = "gpt-oss-20b", spark = "demo" });
        var accepted = await swap.Content.ReadFromJsonAsync<JsonElement>();
        var rest = await reader.ReadToEndAsync();
        JsonElement ended = default;
        await Wait.UntilAsync(async () => (ended = await client.GetFromJsonAsync<JsonElement>($"/api/swaps/{accepted.GetProperty("id").GetString()}")).GetProperty("phase").GetString() == "ready", "the swap ends");
        var stopping = ended.GetProperty("phases").EnumerateArray().First(p => p.GetProperty("phase").GetString() == "stopping").GetProperty("startedAt").GetDateTimeOffset();

        // The stream ran to its end (15 tokens at 10 per second), and the old model was stopped only after it.
        Assert.EndsWith("data: [DONE]\n\n", rest, StringComparison.Ordinal);
        Assert.Contains("\"finish_reason\":\"length\"", rest, StringComparison.Ordinal);
        Assert.True(stopping - accepted.GetProperty("requestedAt").GetDateTimeOffset() >= TimeSpan.FromMilliseconds(800), $"stopping began {stopping - accepted.GetProperty("requestedAt").GetDateTimeOffset()} after the swap was asked for");
    }

    [Fact]
    public async Task ClientDisconnectMidStream_TheModelServerSeesIt()
    {
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Demo:TokensPerSecond"] = "5" });
        using var client = app.CreateClient();
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Json(new { model = "qwen3-8b", stream = true, max_tokens = 500, messages = new[] { new { role = "user", content = "write a long essay" } } }) };
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        await reader.ReadLineAsync();

        reader.Dispose();
        response.Dispose();
        request.Dispose();

        var host = app.Get<SimulatedSparkHost>();
        await Wait.UntilAsync(async () => (await host.GetLogsAsync(LaunchSpecs.ModelContainerName, LogQuery.Last(50), CancellationToken.None)).Any(l => l.Contains("Aborted request", StringComparison.Ordinal)),
            "the model server aborts the request", TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task WaitingTooLongForASwap_Is503WithRetryAfterFromTheEta()
    {
        // Only the swap's model loads slowly (a fixed load time would hold up the demo's embedding server as well).
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Demo:InitialModel"] = "", ["Gateway:QueueTimeout"] = "00:00:01" }, names: ["bge-small"]);
        using var client = app.CreateClient();
        app.Get<SimulatedSparkHost>().SlowNextLaunch(TimeSpan.FromMinutes(1));
        using var swap = await client.PostAsJsonAsync("/api/swaps", new { model = "gpt-oss-20b", spark = "demo" });
        var id = (await swap.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
        await Wait.UntilAsync(async () => (await client.GetFromJsonAsync<JsonElement>($"/api/swaps/{id}")).GetProperty("phase").GetString() == "loading", "the swap is loading");

        using var response = await client.PostAsync("/v1/chat/completions", Json(new { model = "default-chat", messages = new[] { new { role = "user", content = "hi" } } }));
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.True(response.Headers.RetryAfter!.Delta >= TimeSpan.FromSeconds(1));
        Assert.Equal("model_loading", error.GetProperty("code").GetString());
        Assert.Contains("a swap on demo is still loading", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TooManyAtOnceFromOneClient_Is429WithRetryAfter()
    {
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Gateway:PerClientConcurrency"] = "1", ["Demo:TokensPerSecond"] = "5" });
        using var client = app.CreateClient();
        using var first = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Json(new { model = "qwen3-8b", stream = true, max_tokens = 50, messages = new[] { new { role = "user", content = "hi" } } }) };
        using var running = await client.SendAsync(first, HttpCompletionOption.ResponseHeadersRead);

        using var second = await client.PostAsync("/v1/chat/completions", Json(new { model = "qwen3-8b", messages = new[] { new { role = "user", content = "hi" } } }));

        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), second.Headers.RetryAfter!.Delta);
        Assert.Equal("rate_limit_exceeded", (await second.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Metrics_CountGatewayRequests()
    {
        await using var app = await StartAsync();
        using var client = app.CreateClient();
        using var response = await client.PostAsync("/v1/chat/completions", Json(new { model = "qwen3-8b", max_tokens = 2, messages = new[] { new { role = "user", content = "hi" } } }));

        // The duration is recorded as the request ends, a moment after the client has its answer: wait for both.
        var metrics = string.Empty;
        await Wait.UntilAsync(async () => (metrics = await client.GetStringAsync("/metrics")).Contains("sparkcontrol_gateway_requests_total{", StringComparison.Ordinal)
            && metrics.Contains("sparkcontrol_gateway_request_duration_seconds_bucket", StringComparison.Ordinal), "the gateway's counter and histogram are exported");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("model=\"qwen3-8b\"", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_InFlight_CountsARunningStream_AndNoneOnceItEnds()
    {
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Demo:TokensPerSecond"] = "5" });
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Json(new { model = "qwen3-8b", stream = true, max_tokens = 50, messages = new[] { new { role = "user", content = "hi" } } }) };
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);

        // Read from the drain gate's own count when scraped.
        await Wait.UntilAsync(async () => InFlight().Match(await client.GetStringAsync("/metrics")) is { Success: true } m && m.Groups[1].Value == "1", "the stream is counted in flight");
        response.Dispose();
        await Wait.UntilAsync(async () => InFlight().Match(await client.GetStringAsync("/metrics")) is { Success: true } m && m.Groups[1].Value == "0", "the ended stream is counted out");

        Assert.Matches(@"(?m)^sparkcontrol_gateway_queued(\{[^}]*\})? 0$", await client.GetStringAsync("/metrics"));
    }

    [GeneratedRegex(@"(?m)^sparkcontrol_gateway_in_flight(?:\{[^}]*\})? (\d+)$")]
    private static partial Regex InFlight();

    [Fact]
    public async Task Metrics_AModelNameTheClientMadeUp_IsCountedAsUnknown()
    {
        await using var app = await StartAsync();
        using var client = app.CreateClient();
        var madeUp = $"made-up-{Guid.NewGuid():N}";
        using var response = await client.PostAsync("/v1/chat/completions", Json(new { model = madeUp, messages = new[] { new { role = "user", content = "hi" } } }));

        var metrics = string.Empty;
        await Wait.UntilAsync(async () => (metrics = await client.GetStringAsync("/metrics")).Contains("model=\"unknown\"", StringComparison.Ordinal), "the request is counted");

        // Every made-up name as a label value would be a new time series: a client could grow the panel's memory at will.
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain(madeUp, metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SlowClientsUpToMaxInFlight_MakeTheNextA503_NotAPileOfHeldBodies()
    {
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Gateway:MaxInFlight"] = "2", ["Gateway:PerClientConcurrency"] = "8" });
        using var client = app.CreateClient();

        // Two clients declare a large body and send it slowly (JSON whitespace, fast enough that Kestrel's minimum data
        // rate does not drop them), as a slow or hostile client does.
        var slow = new List<TcpClient>();
        using var stopTrickle = new CancellationTokenSource();
        var trickles = new List<Task>();
        try
        {
            for (var i = 0; i < 2; i++)
            {
                var tcp = new TcpClient();
                slow.Add(tcp);
                await tcp.ConnectAsync(app.BaseAddress.Host, app.BaseAddress.Port);
                var stream = tcp.GetStream();
                await stream.WriteAsync(Encoding.ASCII.GetBytes(
                    "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 4000000\r\n\r\n{\"model\":"));
                trickles.Add(TrickleAsync(stream, stopTrickle.Token));
            }

            // Both held before the next request is sent: sent earlier, it could take a place and make a slow one the 503.
            await Wait.UntilAsync(() => app.Get<GatewayAdmission>().InFlight == 2, "the slow clients' requests are held");
            using var refused = await client.PostAsync("/v1/chat/completions", Json(new { model = "qwen3-8b", max_tokens = 1, messages = new[] { new { role = "user", content = "hi" } } }));

            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter!.Delta);
            var error = (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
            Assert.Equal("overloaded", error.GetProperty("code").GetString());
            Assert.Contains("Gateway:MaxInFlight", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            await stopTrickle.CancelAsync();
            await Task.WhenAll(trickles);
            slow.ForEach(tcp => tcp.Dispose());
        }

        // The slow clients gone, their places are free again.
        await Wait.UntilAsync(async () =>
        {
            using var response = await client.PostAsync("/v1/chat/completions", Json(new { model = "qwen3-8b", max_tokens = 1, messages = new[] { new { role = "user", content = "hi" } } }));
            return response.StatusCode == HttpStatusCode.OK;
        }, "requests are served again");
    }

    [Fact]
    public async Task BodiesWaitingForASwap_AreCappedInBytes_TheOneThatWouldPassIsA503()
    {
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Demo:InitialModel"] = "", ["Gateway:MaxQueuedBytes"] = "1048576" }, names: ["bge-small"]);
        using var client = app.CreateClient();
        app.Get<SimulatedSparkHost>().SlowNextLaunch(TimeSpan.FromMinutes(1));
        using var swap = await client.PostAsJsonAsync("/api/swaps", new { model = "gpt-oss-20b", spark = "demo" });
        var id = (await swap.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
        await Wait.UntilAsync(async () => (await client.GetFromJsonAsync<JsonElement>($"/api/swaps/{id}")).GetProperty("phase").GetString() == "loading", "the swap is loading");
        var big = Json(new { model = "default-chat", messages = new[] { new { role = "user", content = new string('x', 600_000) } } });

        using var giveUp = new CancellationTokenSource();
        var waiting = client.PostAsync("/v1/chat/completions", big, giveUp.Token);
        await Wait.UntilAsync(() => app.Get<GatewayGate>().Traffic.Value.Queued == 1, "the first request waits for the swap");
        using var second = await client.PostAsync("/v1/chat/completions", Json(new { model = "default-chat", messages = new[] { new { role = "user", content = new string('y', 600_000) } } }));
        using var small = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Json(new { model = "default-chat", messages = new[] { new { role = "user", content = "hi" } } }) };
        var smallWaits = client.SendAsync(small, giveUp.Token);
        await Wait.UntilAsync(() => app.Get<GatewayGate>().Traffic.Value.Queued == 2, "a small request still fits in the queue");
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => smallWaits);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, second.StatusCode);
        Assert.NotNull(second.Headers.RetryAfter);
        Assert.Contains("Gateway:MaxQueuedBytes", (await second.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    /// <summary>Sends 64 spaces every 100 ms until stopped: a slow upload, above Kestrel's 240 bytes/s minimum rate.</summary>
    private static async Task TrickleAsync(NetworkStream stream, CancellationToken stop)
    {
        var spaces = Encoding.ASCII.GetBytes(new string(' ', 64));
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await stream.WriteAsync(spaces, stop);
                await Task.Delay(100, stop);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
        }
    }

    /// <summary>A body sent chunked, without a Content-Length, so the cap is enforced while reading; in chunks of <paramref name="chunk"/> bytes.</summary>
    private sealed class PushStreamContent(string text, int chunk = int.MaxValue) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            for (var offset = 0; offset < bytes.Length; offset += chunk)
            {
                await stream.WriteAsync(bytes.AsMemory(offset, Math.Min(chunk, bytes.Length - offset)));
                await stream.FlushAsync();
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
