using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using SparkControl.Core.Catalog;
using SparkControl.Core.Operations;
using SparkControl.Core.Swaps;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Web;

/// <summary>
/// Idle unload in the demo (llama-swap's ttl): a model with an idle time that no request uses is unloaded by a swap to
/// nothing, never while a request streams, and a request afterwards gets the usual not-loaded answer (or, with
/// AutoSwap, loads it again).
/// </summary>
public sealed class IdleUnloadTests
{
    private static async Task<SparkControlApp> StartAsync(Dictionary<string, string?>? settings = null, LogCollector? logs = null)
    {
        var all = new Dictionary<string, string?> { ["Operations:IdleCheckInterval"] = "00:00:00.100", ["Demo:TokensPerSecond"] = "20" };
        foreach (var (key, value) in settings ?? [])
        {
            all[key] = value;
        }

        var app = await SparkControlApp.StartAsync(all, configureServices: logs is null ? null : services => services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(logs));
        using var client = app.CreateClient();
        await Wait.UntilAsync(async () => (await CurrentAsync(client)) is { } s && s.GetProperty("phase").GetString() == "ready", "the demo's first swap is ready", TimeSpan.FromSeconds(60));
        await Wait.UntilAsync(async () => (await client.GetStringAsync("/v1/models")).Contains("\"qwen3-8b\"", StringComparison.Ordinal), "the gateway serves qwen3-8b", TimeSpan.FromSeconds(60));
        return app;
    }

    private static async Task<JsonElement?> CurrentAsync(HttpClient client) =>
        (await client.GetFromJsonAsync<JsonElement>("/api/swaps/current")).TryGetProperty("demo", out var demo) ? demo : null;

    private static async Task<HttpResponseMessage> SetIdleAsync(HttpClient client, string id, object body, bool withETag = true)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, $"/api/models/{id}/idle") { Content = JsonContent.Create(body) };
        if (withETag)
        {
            request.Headers.IfMatch.Add((await client.GetAsync($"/api/models/{id}")).Headers.ETag!);
        }

        return await client.SendAsync(request);
    }

    private static StringContent Chat(string model, int maxTokens, bool stream = false) =>
        new(JsonSerializer.Serialize(new { model, stream, max_tokens = maxTokens, messages = new[] { new { role = "user", content = "hi" } } }), Encoding.UTF8, "application/json");

    private static async Task<JsonElement> WaitUnloadedAsync(HttpClient client)
    {
        JsonElement swap = default;
        await Wait.UntilAsync(async () => (await CurrentAsync(client)) is { } s && (swap = s).GetProperty("requester").GetString() == IdleUnloader.Requester && s.GetProperty("phase").GetString() == "ready",
            "the idle model is unloaded", TimeSpan.FromSeconds(60));
        return swap;
    }

    [Fact]
    public async Task AModelIdlePastItsTime_IsUnloaded_NotWhileARequestStreams_AndAfterwardsIsNotLoaded()
    {
        await using var app = await StartAsync();
        using var client = app.CreateClient();
        var set = await SetIdleAsync(client, "qwen3-8b", new { idleUnloadAfterSeconds = 2 });

        // A request that streams for about three seconds, longer than the idle time: the model stays while it runs.
        using var streaming = await client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Chat("qwen3-8b", 60, stream: true) }, HttpCompletionOption.ResponseHeadersRead);
        var body = await streaming.Content.ReadAsStringAsync();
        var lastChunkAt = DateTimeOffset.UtcNow;
        var unload = await WaitUnloadedAsync(client);
        using var after = await client.PostAsync("/v1/chat/completions", Chat("qwen3-8b", 4));
        var error = (await after.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        var models = await client.GetStringAsync("/api/models");

        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        Assert.Equal(2, (await set.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("idleUnloadAfterSeconds").GetInt32());
        Assert.Contains("data: [DONE]", body, StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Null, unload.GetProperty("modelId").ValueKind);
        Assert.Equal("qwen3-8b", unload.GetProperty("previousModelId").GetString());
        // Counted from the end of the last request (less a little for the client reading its last chunk late).
        Assert.True(unload.GetProperty("requestedAt").GetDateTimeOffset() >= lastChunkAt.AddSeconds(1.5), $"unloaded at {unload.GetProperty("requestedAt")}, last chunk at {lastChunkAt:O}");
        Assert.Equal(HttpStatusCode.NotFound, after.StatusCode);
        Assert.Equal("model_not_found", error.GetProperty("code").GetString());
        Assert.Contains("\"idleUnloadAfterSeconds\":2", models, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithAutoSwap_ARequestAfterTheUnload_LoadsTheModelAgain()
    {
        using var logs = new LogCollector();
        await using var app = await StartAsync(new() { ["Gateway:AutoSwap"] = "true" }, logs);
        using var client = app.CreateClient();
        (await SetIdleAsync(client, "qwen3-8b", new { idleUnloadAfterSeconds = 1 })).EnsureSuccessStatusCode();
        await WaitUnloadedAsync(client);
        // Loaded again, it must not be unloaded again before this request is answered on a slow machine.
        (await SetIdleAsync(client, "qwen3-8b", new { idleUnloadAfterSeconds = 600 })).EnsureSuccessStatusCode();

        using var answer = await client.PostAsync("/v1/chat/completions", Chat("qwen3-8b", 4));

        // Seen to answer 502 (connection refused on the model's port) in two busy CI runs, not reproduced alone: a failure
        // says what the gateway logged, the swaps since the start and the demo Spark's services as the panel sees them.
        Assert.True(answer.StatusCode == HttpStatusCode.OK, $"{(int)answer.StatusCode}: {await answer.Content.ReadAsStringAsync()}\n" + string.Join('\n', logs.Messages.Where(m =>
            m.Contains("Gateway", StringComparison.Ordinal) || m.Contains("Swap", StringComparison.Ordinal) || m.Contains("Idle", StringComparison.Ordinal) || m.Contains("Health", StringComparison.Ordinal)).TakeLast(40))
            + $"\nswaps: {await client.GetStringAsync("/api/swaps/history")}\nservices: {await client.GetStringAsync("/api/services")}");
        Assert.Equal("qwen3-8b", (await answer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("model").GetString());
        var current = await CurrentAsync(client);
        Assert.Equal(("qwen3-8b", "gateway"), (current!.Value.GetProperty("modelId").GetString(), current.Value.GetProperty("requester").GetString()));
    }

    [Fact]
    public async Task ASwapRefusedInPreflight_LeavesTheIdleTimeCountedFromTheSwapThatLoadedTheModel()
    {
        await using var app = await StartAsync();
        using var client = app.CreateClient();
        var swaps = app.Get<SwapOrchestrator>();
        var unloader = app.Get<IdleUnloader>();
        (await SetIdleAsync(client, "qwen3-8b", new { idleUnloadAfterSeconds = 600 })).EnsureSuccessStatusCode();
        // The idle time is set well before the model is loaded again below.
        await Wait.UntilAsync(() => unloader.StateOf("demo") is { IdleFor.TotalSeconds: >= 2 }, "two seconds counted since the idle time was set", TimeSpan.FromSeconds(60));
        await RunAsync(swaps, new SwapRequest(null, "demo", "test"), SwapPhase.Ready);
        var load = await RunAsync(swaps, new SwapRequest("qwen3-8b", "demo", "test"), SwapPhase.Ready);

        // Refused in preflight (there is no such service to stop): it stops nothing, and the model stays loaded.
        var refused = await RunAsync(swaps, new SwapRequest("qwen3-8b", "demo", "test") { StopServices = ["no-such-service"] }, SwapPhase.Failed);
        var state = unloader.StateOf("demo");
        var sinceLoad = DateTimeOffset.UtcNow - load.EndedAt!.Value;

        Assert.False(refused.HasStopped);
        Assert.NotNull(state);
        Assert.Equal("qwen3-8b", state.ModelId);
        // Counted from the load's end, not from when the idle time was set (at least two seconds earlier).
        Assert.True(state.IdleFor <= sinceLoad + TimeSpan.FromSeconds(0.5), $"idle for {state.IdleFor}, loaded {sinceLoad} ago");
    }

    private static async Task<SwapStatus> RunAsync(SwapOrchestrator swaps, SwapRequest request, SwapPhase end)
    {
        var id = swaps.Start(request).Id;
        SwapStatus? status = null;
        await Wait.UntilAsync(() => (status = swaps.Board.BySpark.GetValueOrDefault("demo")) is { IsActive: false } s && s.Id == id, $"swap {id} ends", TimeSpan.FromSeconds(60));
        Assert.True(status!.Phase == end, $"swap {id} ended {status.Phase}: {status.Message}");
        return status;
    }

    [Fact]
    public async Task WithoutAnIdleTime_AModelStays_AndClearingItKeepsTheModelLoaded()
    {
        await using var app = await StartAsync();
        using var client = app.CreateClient();
        (await SetIdleAsync(client, "qwen3-8b", new { idleUnloadAfterSeconds = 600 })).EnsureSuccessStatusCode();
        // Health reports the served model a check after the swap that loaded it is ready.
        IdleState? state = null;
        await Wait.UntilAsync(() => (state = app.Get<IdleUnloader>().StateOf("demo")) is not null, "health sees the loaded model", TimeSpan.FromSeconds(60));
        var cleared = await SetIdleAsync(client, "qwen3-8b", new { idleUnloadAfterSeconds = (int?)null });
        var watch = Stopwatch.StartNew();
        // Many idle checks later (each 100 ms), nothing was unloaded.
        await Wait.UntilAsync(() => watch.Elapsed > TimeSpan.FromSeconds(2) && app.Get<IdleUnloader>().StateOf("demo") is null, "two seconds of idle checks");

        Assert.Equal(TimeSpan.FromMinutes(10), state!.After);
        Assert.False(state.Due);
        Assert.Equal(JsonValueKind.Null, (await cleared.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("idleUnloadAfterSeconds").ValueKind);
        Assert.Empty(app.Get<IdleUnloader>().CheckOnce());
        Assert.Equal("qwen3-8b", (await CurrentAsync(client))!.Value.GetProperty("modelId").GetString());
        Assert.Null(app.Get<CatalogStore>().Current.Find("qwen3-8b")!.IdleUnloadAfter);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(2_592_001)]
    public async Task AnIdleTimeOutOfRange_Is400(int seconds)
    {
        await using var app = await StartAsync();
        using var client = app.CreateClient();

        var response = await SetIdleAsync(client, "qwen3-8b", new { idleUnloadAfterSeconds = seconds });
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(problem.GetProperty("errors").TryGetProperty("idleUnloadAfter", out _), problem.ToString());
        Assert.Null(app.Get<CatalogStore>().Current.Find("qwen3-8b")!.IdleUnloadAfter);
    }

    [Fact]
    public async Task SettingIt_NeedsTheCurrentETag_AndAKnownModel()
    {
        await using var app = await StartAsync();
        using var client = app.CreateClient();
        var etag = (await client.GetAsync("/api/models/qwen3-8b")).Headers.ETag!;
        (await SetIdleAsync(client, "qwen3-8b", new { idleUnloadAfterSeconds = 60 })).EnsureSuccessStatusCode();

        var missing = await SetIdleAsync(client, "qwen3-8b", new { idleUnloadAfterSeconds = 30 }, withETag: false);
        using var staleRequest = new HttpRequestMessage(HttpMethod.Put, "/api/models/qwen3-8b/idle") { Content = JsonContent.Create(new { idleUnloadAfterSeconds = 30 }) };
        staleRequest.Headers.IfMatch.Add(etag);
        var stale = await client.SendAsync(staleRequest);
        using var unknownRequest = new HttpRequestMessage(HttpMethod.Put, "/api/models/nope/idle") { Content = JsonContent.Create(new { idleUnloadAfterSeconds = 30 }) };
        unknownRequest.Headers.IfMatch.Add(new EntityTagHeaderValue("\"x\""));
        var unknown = await client.SendAsync(unknownRequest);

        Assert.Equal(HttpStatusCode.PreconditionRequired, missing.StatusCode);
        Assert.Equal(HttpStatusCode.PreconditionFailed, stale.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(TimeSpan.FromMinutes(1), app.Get<CatalogStore>().Current.Find("qwen3-8b")!.IdleUnloadAfter);
        // A demo model's idle time lives in models.custom.yaml, beside the flags set for shipped models.
        Assert.Contains("idleUnload:", await File.ReadAllTextAsync(Path.Combine(app.DataDirectory, "models.custom.yaml")), StringComparison.Ordinal);
    }
}
