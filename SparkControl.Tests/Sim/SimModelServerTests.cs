using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using SparkControl.Sim.Server;
using SparkControl.Sim.Vllm;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Sim;

public sealed class SimModelServerTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<string> _log = [];
    private readonly int _port = Tools.FreePort();
    private SimModelServer _server = null!;
    private Task<int> _run = null!;
    private HttpClient _client = null!;

    public Task InitializeAsync()
    {
        var (options, _) = VllmCli.Parse(["serve", "Qwen/Qwen3-8B", "--served-model-name", "qwen3-8b", "--port", _port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--max-model-len", "4096"]);
        _server = new SimModelServer(options!, new SimBehaviour { LoadTime = TimeSpan.FromSeconds(30), TokensPerSecond = double.PositiveInfinity }, _time,
            line => { lock (_log) { _log.Add(line); } }, new IPEndPoint(IPAddress.Loopback, _port));
        _run = _server.RunAsync(_stop.Token);
        _client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}"), Timeout = TimeSpan.FromSeconds(30) };
        return Task.CompletedTask;
    }

    private async Task LoadAsync()
    {
        // The load is two timed steps; move the fake clock until both have passed.
        await Wait.UntilAsync(() =>
        {
            if (_server.State != SimServerState.Serving)
            {
                _time.Advance(TimeSpan.FromSeconds(1));
            }

            return _server.State == SimServerState.Serving;
        }, "the server serves", poll: TimeSpan.FromMilliseconds(5));
    }

    [Fact]
    public async Task Port_WhileLoading_RefusesConnections()
    {
        await Wait.UntilAsync(() => _server.State == SimServerState.Loading, "the server is loading");

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => _client.GetAsync("/health"));

        Assert.Equal(SocketError.ConnectionRefused, Assert.IsType<SocketException>(error.InnerException).SocketErrorCode);
    }

    [Fact]
    public async Task Health_AfterTheLoadTime_Answers200AndLogsListening()
    {
        await LoadAsync();

        var response = await _client.GetAsync("/health");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        lock (_log)
        {
            Assert.Contains(_log, l => l.Contains("Loading weights took", StringComparison.Ordinal));
            Assert.Contains(_log, l => l.Contains($"Starting vLLM API server 0 on http://0.0.0.0:{_port}", StringComparison.Ordinal));
            Assert.Contains(_log, l => l.StartsWith("SIM listening ", StringComparison.Ordinal));
            Assert.Contains("INFO:     Application startup complete.", _log);
        }

        Assert.Equal(_time.GetUtcNow(), _server.ListeningAt);
    }

    [Fact]
    public async Task Models_ListsTheServedNameAndContext()
    {
        await LoadAsync();

        using var document = JsonDocument.Parse(await _client.GetStringAsync("/v1/models"));

        var model = document.RootElement.GetProperty("data")[0];
        Assert.Equal("qwen3-8b", model.GetProperty("id").GetString());
        Assert.Equal("Qwen/Qwen3-8B", model.GetProperty("root").GetString());
        Assert.Equal(4096, model.GetProperty("max_model_len").GetInt32());
    }

    [Fact]
    public async Task ChatCompletions_Streaming_IsWellFormedSseEndingInDone()
    {
        await LoadAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new { model = "qwen3-8b", messages = new[] { new { role = "user", content = "hi" } }, stream = true, max_tokens = 5, stream_options = new { include_usage = true } }),
        };

        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        var events = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(events, e => Assert.StartsWith("data: ", e, StringComparison.Ordinal));
        Assert.Equal("data: [DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e["data: ".Length..])).ToList();
        Assert.Equal("assistant", chunks[0].RootElement.GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        var text = string.Concat(chunks.Skip(1).Where(c => c.RootElement.GetProperty("choices").GetArrayLength() > 0)
            .Select(c => c.RootElement.GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString()));
        Assert.Equal("This is a simulated reply", text);
        Assert.Equal("length", chunks[^2].RootElement.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(5, chunks[^1].RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Completions_NotStreaming_ReturnsText()
    {
        await LoadAsync();

        var response = await _client.PostAsJsonAsync("/v1/completions", new { model = "qwen3-8b", prompt = "Say", max_tokens = 3 });
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal("text_completion", document.RootElement.GetProperty("object").GetString());
        Assert.Equal("This is a", document.RootElement.GetProperty("choices")[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task ChatCompletions_NotStreaming_AnswerWithContentLengthAsUvicornDoes()
    {
        await LoadAsync();

        var response = await _client.PostAsJsonAsync("/v1/chat/completions", new { model = "qwen3-8b", messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 3 });
        var body = await response.Content.ReadAsByteArrayAsync();

        // vLLM answers through Starlette's JSONResponse: one body with its length, never chunked.
        Assert.Equal(body.Length, response.Content.Headers.ContentLength);
        Assert.NotEqual(true, response.Headers.TransferEncodingChunked);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task Embeddings_AreDeterministicUnitVectors()
    {
        await LoadAsync();

        var response = await _client.PostAsJsonAsync("/v1/embeddings", new { model = "qwen3-8b", input = new[] { "alpha", "beta", "alpha" } });
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        var vectors = document.RootElement.GetProperty("data").EnumerateArray().Select(d => d.GetProperty("embedding").EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToList();
        Assert.Equal(3, vectors.Count);
        Assert.Equal(vectors[0], vectors[2]);
        Assert.NotEqual(vectors[0], vectors[1]);
        Assert.Equal(1.0, Math.Sqrt(vectors[1].Sum(v => v * v)), 3);
    }

    [Fact]
    public async Task UnknownModel_Is404WithOpenAiError()
    {
        await LoadAsync();

        var response = await _client.PostAsJsonAsync("/v1/chat/completions", new { model = "nope", messages = Array.Empty<object>() });
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("The model `nope` does not exist.", document.RootElement.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task Metrics_ExposeVllmGaugesAndCounters()
    {
        await LoadAsync();
        await _client.PostAsJsonAsync("/v1/completions", new { model = "qwen3-8b", prompt = "x", max_tokens = 2 });

        var metrics = await _client.GetStringAsync("/metrics");

        Assert.Contains("vllm:num_requests_running{engine=\"0\",model_name=\"qwen3-8b\"} 0.0", metrics, StringComparison.Ordinal);
        Assert.Contains("vllm:num_requests_waiting{", metrics, StringComparison.Ordinal);
        Assert.Contains("vllm:kv_cache_usage_perc{", metrics, StringComparison.Ordinal);
        Assert.Contains("vllm:generation_tokens_total{engine=\"0\",model_name=\"qwen3-8b\"} 2.0", metrics, StringComparison.Ordinal);
        Assert.Contains("# TYPE vllm:prompt_tokens counter", metrics, StringComparison.Ordinal);
    }

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        Assert.Equal(0, await _run.WaitAsync(TimeSpan.FromSeconds(30)));
        await _server.DisposeAsync();
        _client.Dispose();
        _stop.Dispose();
    }
}
