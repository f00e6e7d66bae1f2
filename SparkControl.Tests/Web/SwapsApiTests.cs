using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;
using SparkControl.Tests.Infrastructure;
using SparkControl.Tests.Shell;

namespace SparkControl.Tests.Web;

/// <summary>The swaps API and the /hubs/swaps stream against the running app in demo mode.</summary>
public sealed class SwapsApiTests : IAsyncLifetime
{
    private SparkControlApp _app = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _app = await SparkControlApp.StartAsync();
        _client = _app.CreateClient();
        // The demo loads its first model through a swap: let it finish so each test starts from a serving Spark.
        await Wait.UntilAsync(async () => (await CurrentAsync())?.GetProperty("phase").GetString() == "ready", "the demo's first swap is ready", TimeSpan.FromSeconds(60));
    }

    private async Task<JsonElement?> CurrentAsync()
    {
        var current = await _client.GetFromJsonAsync<JsonElement>("/api/swaps/current");
        return current.TryGetProperty("demo", out var demo) ? demo : null;
    }

    private async Task<JsonElement> WaitEndedAsync(string id)
    {
        JsonElement swap = default;
        await Wait.UntilAsync(async () =>
        {
            swap = await _client.GetFromJsonAsync<JsonElement>($"/api/swaps/{id}");
            return swap.GetProperty("phase").GetString() is "ready" or "failed" or "cancelled" or "interrupted";
        }, $"swap {id} ends", TimeSpan.FromSeconds(60));
        return swap;
    }

    [Fact]
    public async Task Post_StartsASwap_Is202WithItsStatus_AndItEndsReady()
    {
        using var response = await _client.PostAsJsonAsync("/api/swaps", new { model = "gpt-oss-20b", spark = "demo" });
        var accepted = await response.Content.ReadFromJsonAsync<JsonElement>();
        var id = accepted.GetProperty("id").GetString()!;
        var ended = await WaitEndedAsync(id);
        var current = await CurrentAsync();

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal($"/api/swaps/{id}", response.Headers.Location!.OriginalString);
        Assert.Equal("gpt-oss-20b", accepted.GetProperty("modelId").GetString());
        Assert.Equal("anonymous", accepted.GetProperty("requester").GetString());
        Assert.Equal("ready", ended.GetProperty("phase").GetString());
        Assert.Equal("qwen3-8b", ended.GetProperty("previousModelId").GetString());
        Assert.Equal(
            ["requested", "preflight", "draining", "stopping", "launching", "loading", "verifying", "ready"],
            ended.GetProperty("phases").EnumerateArray().Select(p => p.GetProperty("phase").GetString()));
        Assert.Equal(id, current!.Value.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Post_SwapEndsReady_TheModelIsMeasuredOnDiskAgain()
    {
        using var response = await _client.PostAsJsonAsync("/api/swaps", new { model = "gpt-oss-20b", spark = "demo" });
        var accepted = await response.Content.ReadFromJsonAsync<JsonElement>();
        var requestedAt = accepted.GetProperty("requestedAt").GetDateTimeOffset();

        Assert.Equal("ready", (await WaitEndedAsync(accepted.GetProperty("id").GetString()!)).GetProperty("phase").GetString());
        await Wait.UntilAsync(async () =>
        {
            var model = await _client.GetFromJsonAsync<JsonElement>("/api/models/gpt-oss-20b");
            return model.GetProperty("disk").EnumerateArray().Any(d => d.GetProperty("spark").GetString() == "demo" && d.GetProperty("measuredAt").GetDateTimeOffset() > requestedAt);
        }, "gpt-oss-20b is measured on the demo Spark after its swap", TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Post_WhileASwapRuns_Is409NamingIt_AndDeleteCancelsIt()
    {
        await using var slow = await SparkControlApp.StartAsync(new Dictionary<string, string?> { ["Demo:LoadTime"] = "00:05:00" });
        using var client = slow.CreateClient();
        string? running = null;
        await Wait.UntilAsync(async () =>
        {
            var current = await client.GetFromJsonAsync<JsonElement>("/api/swaps/current");
            running = current.TryGetProperty("demo", out var demo) && demo.GetProperty("phase").GetString() == "loading" ? demo.GetProperty("id").GetString() : null;
            return running is not null;
        }, "the demo's first swap is loading");

        using var conflict = await client.PostAsJsonAsync("/api/swaps", new { model = "gpt-oss-20b", spark = "demo" });
        var problem = await conflict.Content.ReadFromJsonAsync<JsonElement>();
        using var cancel = await client.DeleteAsync($"/api/swaps/{running}");
        JsonElement cancelled = default;
        await Wait.UntilAsync(async () => (cancelled = await client.GetFromJsonAsync<JsonElement>($"/api/swaps/{running}")).GetProperty("phase").GetString() == "cancelled", "the swap is cancelled");
        using var again = await client.DeleteAsync($"/api/swaps/{running}");
        using var unknown = await client.DeleteAsync("/api/swaps/000000000000");

        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Equal(running, problem.GetProperty("runningSwap").GetString());
        Assert.Contains($"qwen3-8b is swapping on demo (swap {running}, Loading)", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        Assert.Equal("cancelled by anonymous during Loading", cancelled.GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Unload_StopsTheModel_AndCurrentSaysNothingIsLoaded()
    {
        using var response = await _client.PostAsync("/api/sparks/demo/unload", null);
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var ended = await WaitEndedAsync(id);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("ready", ended.GetProperty("phase").GetString());
        Assert.Equal(JsonValueKind.Null, ended.GetProperty("modelId").ValueKind);
        Assert.True(ended.GetProperty("isUnload").GetBoolean());
        Assert.Equal("nothing is loaded now", ended.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Preview_ModelTooBig_ShowsTheBudgetTheServicesThatCouldStop_AndBlocksWhatWouldNotBeFreeEvenThen()
    {
        using var response = await _client.PostAsJsonAsync("/api/swaps/preview", new { model = "llama-3.3-70b", spark = "demo" });
        var preview = await response.Content.ReadFromJsonAsync<JsonElement>();
        using var stopping = await _client.PostAsJsonAsync("/api/swaps/preview", new { model = "llama-3.3-70b", spark = "demo", stopServices = new[] { "parakeet-asr", "tts", "qdrant", "open-webui", "embeddings" } });
        var withRoom = await stopping.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(preview.GetProperty("fits").GetBoolean());
        var budget = Assert.Single(preview.GetProperty("budgets").EnumerateArray());
        Assert.Equal("llama-3.3-70b", budget.GetProperty("model").GetProperty("name").GetString());
        Assert.Contains(preview.GetProperty("blockers").EnumerateArray(), w => w.GetString()!.Contains("gpu-memory-utilization", StringComparison.Ordinal));
        Assert.False(preview.GetProperty("canStart").GetBoolean());
        Assert.Equal(["parakeet-asr", "embeddings", "tts", "qdrant", "open-webui"], preview.GetProperty("services").EnumerateArray().Select(s => s.GetString()));
        Assert.Contains("docker run", preview.GetProperty("commandLine").GetString(), StringComparison.Ordinal);

        // With every service stopped the plan fits, but 112 GiB for the model and 4 for the system are more than would be free.
        Assert.False(withRoom.GetProperty("fits").GetBoolean());
        Assert.Contains(withRoom.GetProperty("blockers").EnumerateArray(), b => b.GetString()!.Contains("needs 116 GiB (112 GiB for the model, 4 GiB for the system) but only", StringComparison.Ordinal));
        Assert.Contains(withRoom.GetProperty("warnings").EnumerateArray(), w => w.GetString()!.Contains("weights 131.4 GiB (141 GB) exceed the 112 GiB reservation", StringComparison.Ordinal));
    }

    public static TheoryData<string, string, string> BadBodies => new()
    {
        { """{"spark":"demo"}""", "model", "model is required" },
        { """{"model":"gpt-oss-20b"}""", "spark", "spark is required" },
        { """{"model":"gpt oss","spark":"demo"}""", "model", "model" },
        { """{"model":"gpt-oss-20b","spark":"demo; reboot"}""", "spark", "may only hold" },
        { """{"model":"gpt-oss-20b","spark":"cluster"}""", "spark", "runs on one Spark" },
        { """{"model":"gpt-oss-20b","spark":"demo","stopServices":["asr$(id)"]}""", "stopServices", "may only hold" },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task Post_InvalidBody_Is400NamingTheField(string body, string field, string message)
    {
        using var response = await _client.PostAsync("/api/swaps", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(message, string.Join(" ", problem.GetProperty("errors").GetProperty(field).EnumerateArray().Select(e => e.GetString())), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Post_HostileModelIds_AreRefusedAndNeverReachTheSpark()
    {
        foreach (var hostile in HostileInputs.All.Where((_, i) => i % 2 == 0))
        {
            using var response = await _client.PostAsJsonAsync("/api/swaps", new { model = hostile, spark = "demo" });
            using var bySpark = await _client.PostAsJsonAsync("/api/swaps", new { model = "gpt-oss-20b", spark = hostile });
            // In a path, a value that is empty, holds '/' or is a dot segment names another route, not a hostile id.
            var inPath = hostile.Length > 0 && !hostile.Contains('/', StringComparison.Ordinal) && hostile is not ("." or "..");
            using var unload = inPath ? await _client.PostAsync($"/api/sparks/{Uri.EscapeDataString(hostile)}/unload", null) : null;
            using var byId = inPath ? await _client.GetAsync($"/api/swaps/{Uri.EscapeDataString(hostile)}") : null;
            // Refused by the validators, not looked up: a 404 would mean a hostile value was carried to the look-up.
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"model {SparkControl.Core.Validation.Validators.Printable(hostile)}: {response.StatusCode}");
            Assert.True(bySpark.StatusCode == HttpStatusCode.BadRequest, $"spark {SparkControl.Core.Validation.Validators.Printable(hostile)}: {bySpark.StatusCode}");
            // 414: Kestrel refuses a path that long before any routing, which is a refusal too.
            Assert.True(unload is null || unload.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.RequestUriTooLong, $"unload {SparkControl.Core.Validation.Validators.Printable(hostile)}: {unload?.StatusCode}");
            Assert.True(byId is null || byId.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.RequestUriTooLong, $"id {SparkControl.Core.Validation.Validators.Printable(hostile)}: {byId?.StatusCode}");
        }

        Assert.Equal("qwen3-8b", (await CurrentAsync())!.Value.GetProperty("modelId").GetString());
    }

    [Fact]
    public async Task Post_UnknownModelOrSpark_Is404()
    {
        using var model = await _client.PostAsJsonAsync("/api/swaps", new { model = "no-such-model", spark = "demo" });
        using var spark = await _client.PostAsJsonAsync("/api/swaps", new { model = "gpt-oss-20b", spark = "spark-9" });

        Assert.Equal(HttpStatusCode.NotFound, model.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, spark.StatusCode);
    }

    [Fact]
    public async Task History_FiltersByModelAndOutcome_AndRefusesBadFilters()
    {
        using var start = await _client.PostAsJsonAsync("/api/swaps", new { model = "gpt-oss-20b", spark = "demo" });
        await WaitEndedAsync((await start.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!);

        var all = await _client.GetFromJsonAsync<JsonElement>("/api/swaps/history");
        var byModel = await _client.GetFromJsonAsync<JsonElement>("/api/swaps/history?model=gpt-oss-20b&outcome=ready&spark=demo");
        var none = await _client.GetFromJsonAsync<JsonElement>("/api/swaps/history?outcome=failed");
        using var bad = await _client.GetAsync("/api/swaps/history?outcome=loading&limit=0");
        var problem = await bad.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(["gpt-oss-20b", "qwen3-8b"], all.EnumerateArray().Select(s => s.GetProperty("modelId").GetString()));
        Assert.Equal("gpt-oss-20b", Assert.Single(byModel.EnumerateArray()).GetProperty("modelId").GetString());
        Assert.Empty(none.EnumerateArray());
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.True(problem.GetProperty("errors").TryGetProperty("outcome", out _));
        Assert.True(problem.GetProperty("errors").TryGetProperty("limit", out _));
    }

    [Fact]
    public async Task Hub_StreamsTheSameSnapshots_AClientSeesEveryPhaseInOrder()
    {
        await using var hub = new HubConnectionBuilder()
            .WithUrl(new Uri(_app.BaseAddress, "/hubs/swaps"))
            .Build();
        await hub.StartAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var seen = new List<(string Id, string Phase)>();
        var subscribed = new TaskCompletionSource();
        string? id = null;
        var watching = Task.Run(async () =>
        {
            await foreach (var board in hub.StreamAsync<JsonElement>("Watch", cts.Token))
            {
                subscribed.TrySetResult();
                if (board.GetProperty("bySpark").TryGetProperty("demo", out var swap))
                {
                    var entry = (swap.GetProperty("id").GetString()!, swap.GetProperty("phase").GetString()!);
                    lock (seen)
                    {
                        seen.Add(entry);
                    }

                    if (entry.Item1 == Volatile.Read(ref id) && entry.Item2 == "ready")
                    {
                        return;
                    }
                }
            }
        }, cts.Token);
        await subscribed.Task.WaitAsync(cts.Token);

        using var response = await _client.PostAsJsonAsync("/api/swaps", new { model = "gpt-oss-20b", spark = "demo" });
        Volatile.Write(ref id, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString());
        await watching.WaitAsync(cts.Token);

        List<string> phases;
        lock (seen)
        {
            phases = [.. seen.Where(s => s.Id == id).Select(s => s.Phase)];
        }

        // Every snapshot reaches the client: no phase is skipped, none comes out of order.
        Assert.Equal(["requested", "preflight", "draining", "stopping", "launching", "loading", "verifying", "ready"], phases.Distinct());
        Assert.Equal(phases.Distinct(), phases.Where((p, i) => i == 0 || phases[i - 1] != p));
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.DisposeAsync();
    }
}
