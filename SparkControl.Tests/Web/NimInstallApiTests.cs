using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;
using SparkControl.Core.Catalog;
using SparkControl.Core.Secrets;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Sim.Hosting;
using SparkControl.Tests.Infrastructure;
using SparkControl.Tests.Shell;

namespace SparkControl.Tests.Web;

/// <summary>
/// NIM installs through the API in demo mode, against the simulated Spark's registry: the pull's layers, the model
/// registered and swapped to (chat through the gateway with the official OpenAI SDK), a service-only install, and every
/// refusal before anything reaches the Spark.
/// </summary>
public sealed class NimInstallApiTests : IAsyncLifetime
{
    private const string Image = "nvcr.io/nim/meta/llama-3.1-8b-instruct:1.8.4";
    private readonly string _key = $"nvapi-{Guid.NewGuid():N}";
    private SparkControlApp _app = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _app = await SparkControlApp.StartAsync();
        _client = _app.CreateClient();
        await Wait.UntilAsync(async () => (await _client.GetStringAsync("/v1/models")).Contains("\"qwen3-8b\"", StringComparison.Ordinal),
            "the demo serves qwen3-8b", TimeSpan.FromSeconds(60));
    }

    private SimulatedSparkHost Host => (SimulatedSparkHost)_app.Get<SparkFleet>().Current.Find("demo")!.Host;

    private Task SetKeyAsync() => _app.Get<SecretStore>().SetAsync(SecretStore.NgcApiKey, _key, CancellationToken.None);

    private static object Body(string image = Image, string servedName = "llama-3.1-8b-instruct", int port = 8000, bool registerModel = true, bool registerService = false, double memory = 24, string? cacheDir = null) =>
        new { spark = "demo", image, servedName, port, cacheDir, memoryEstimateGiB = memory, registerModel, registerService };

    private async Task<JsonElement> WaitForEndAsync(string location)
    {
        JsonElement status = default;
        await Wait.UntilAsync(async () =>
        {
            status = await _client.GetFromJsonAsync<JsonElement>(location);
            return status.GetProperty("phase").GetString() is "ready" or "failed";
        }, "the install ends", TimeSpan.FromSeconds(90));
        return status;
    }

    [Fact]
    public async Task Install_PullsEveryLayer_RegistersTheModel_SwapsToIt_AndTheGatewayServesIt_WithTheKeyNeverShown()
    {
        await SetKeyAsync();

        using var response = await _client.PostAsJsonAsync("/api/nim", Body(cacheDir: "~/nim-cache"));
        var started = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var location = response.Headers.Location!.ToString();
        Assert.Equal($"/api/nim/{started.GetProperty("id").GetString()}", location);
        Assert.Equal((7, "linux/arm64"), (started.GetProperty("image").GetProperty("layers").GetInt32(), started.GetProperty("image").GetProperty("platform").GetString()));
        var ended = await WaitForEndAsync(location);
        Assert.True(ended.GetProperty("phase").GetString() == "ready", ended.ToString());
        Assert.Equal((7, 7), (ended.GetProperty("layersDone").GetInt32(), ended.GetProperty("layersTotal").GetInt32()));
        Assert.Contains(ended.GetProperty("lines").EnumerateArray(), l => l.GetString()!.EndsWith(": Pull complete", StringComparison.Ordinal));
        Assert.True(Host.Registry.IsPulled(Image));

        // Registered as a NIM model with what the form gave, and swapped to: the swap logged in and used the env file.
        var model = _app.Get<ModelCatalog>().Current.Find("llama-3.1-8b-instruct")!;
        Assert.Equal((ModelRuntime.Nim, Image, 24.0, "~/nim-cache", 8000), (model.Runtime, model.Image, model.MemoryEstimateGiB, model.NimCache, model.Port));
        var swap = await SwapApi.WaitForReadyAsync(_client, ended.GetProperty("swapId").GetString()!, "the swap to the NIM");
        Assert.Contains("-v /home/demo/nim-cache:/opt/nim/.cache", swap.GetProperty("commandLine").GetString(), StringComparison.Ordinal);
        Assert.Contains(("nvcr.io", "$oauthtoken"), Host.RegistryLogins);
        Assert.Contains("NGC_API_KEY", Host.SecretsEnvFileWritten);
        Assert.Null(Host.SecretsEnvFile);

        var sdk = new OpenAIClient(new ApiKeyCredential("not-checked"), new OpenAIClientOptions { Endpoint = new Uri(_app.BaseAddress, "/v1"), NetworkTimeout = TimeSpan.FromSeconds(60) });
        ChatCompletion answer = await sdk.GetChatClient("llama-3.1-8b-instruct").CompleteChatAsync([new UserChatMessage("Hello")], new ChatCompletionOptions { MaxOutputTokenCount = 5 });
        Assert.Equal("llama-3.1-8b-instruct", answer.Model);

        // The key is in no answer and no file but the secrets store's.
        var everything = ended.ToString() + swap + await _client.GetStringAsync("/api/nim") + await File.ReadAllTextAsync(Path.Combine(_app.DataDirectory, CatalogStore.CustomFileName));
        Assert.DoesNotContain(_key, everything, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServiceOnlyInstall_RunsItsOwnContainer_WithTheMemoryGiven_AndIsWatchedAsANimService()
    {
        await SetKeyAsync();

        using var response = await _client.PostAsJsonAsync("/api/nim", Body(servedName: "nano-8b", image: "nvcr.io/nim/nvidia/llama-3.1-nemotron-nano-8b-v1:1.8.4", port: 8020, registerModel: false, registerService: true, memory: 12));
        var ended = await WaitForEndAsync(response.Headers.Location!.ToString());

        Assert.True(ended.GetProperty("phase").GetString() == "ready", ended.ToString());
        Assert.Null(_app.Get<ModelCatalog>().Current.Find("nano-8b"));
        var container = await Host.InspectContainerAsync("nim-nano-8b", CancellationToken.None);
        Assert.True(container is { Running: true }, "the NIM's own container runs");
        Assert.Equal(12L << 30, container!.MemoryLimitBytes);
        var service = Assert.Single(_app.Get<ServiceSettingsStore>().Current.Services, s => s.Name == "nano-8b");
        Assert.Equal((ServiceKind.Nim, "nim-nano-8b", 8020, 12.0), (service.Kind, service.Container, service.Port, service.MemoryEstimateGiB));
        await Wait.UntilAsync(async () => (await _client.GetStringAsync("/api/services")).Contains("\"nano-8b\"", StringComparison.Ordinal), "the service is watched");
        Assert.Null(Host.SecretsEnvFile);
    }

    [Fact]
    public async Task WithoutAKey_TheInstallIsRefused_BeforeAnythingReachesTheSpark()
    {
        using var response = await _client.PostAsJsonAsync("/api/nim", Body());
        var problem = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("No NGC API key is stored", problem, StringComparison.Ordinal);
        Assert.Empty(Host.RegistryLogins);
        Assert.False(Host.Registry.IsPulled(Image));
    }

    [Theory]
    [InlineData("docker.io/someone/llama:1", "llama-x", 8000, "not one of the NIM registries")]
    [InlineData(Image, "qwen3-8b", 8000, "already exists")]
    [InlineData(Image, "default-chat", 8000, "already an alias")]
    [InlineData(Image, "llama-x", 9000, "belongs to the service parakeet-asr")]
    [InlineData("nvcr.io/nim/meta/llama-3.2-1b-instruct:1.8.4", "llama-1b", 8000, "no linux/arm64 variant")]
    [InlineData("nvcr.io/nim/meta/no-such-model:1.0", "llama-x", 8000, "no such manifest")]
    public async Task Refusals_AreConflicts_AndNothingIsPulled(string image, string servedName, int port, string reason)
    {
        await SetKeyAsync();

        using var response = await _client.PostAsJsonAsync("/api/nim", Body(image: image, servedName: servedName, port: port));
        var problem = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.Conflict, problem);
        Assert.Contains(reason, problem, StringComparison.Ordinal);
        Assert.DoesNotContain(_key, problem, StringComparison.Ordinal);
        Assert.False(Host.Registry.IsPulled(image));
        Assert.Empty(await _client.GetFromJsonAsync<JsonElement[]>("/api/nim") ?? []);
    }

    [Fact]
    public async Task AnImageTooBigForTheDisk_IsRefused_SayingWhatItNeeds()
    {
        await SetKeyAsync();
        const string huge = "nvcr.io/nim/meta/llama-3.1-405b-instruct:1.8.4";
        // A third of the demo disk's capacity compressed: with the unpacked image, more than it holds.
        Host.Registry.Add(new SimImage(huge, [Host.Disk.CapacityBytes / 6, Host.Disk.CapacityBytes / 6]));

        using var response = await _client.PostAsJsonAsync("/api/nim", Body(image: huge, servedName: "llama-405b"));
        var problem = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("where docker keeps images", problem, StringComparison.Ordinal);
        Assert.Contains("2 layers", problem, StringComparison.Ordinal);
        Assert.False(Host.Registry.IsPulled(huge));
    }

    [Fact]
    public async Task TheSameInstallTwice_TheSecondIsRefusedWhileTheFirstRuns()
    {
        await SetKeyAsync();

        using var first = await _client.PostAsJsonAsync("/api/nim", Body());
        using var second = await _client.PostAsJsonAsync("/api/nim", Body());

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        // The first is either still running (the same install) or has registered the model (its id is taken): refused both ways.
        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        await WaitForEndAsync(first.Headers.Location!.ToString());
    }

    [Theory]
    [InlineData("image", "nvcr.io/nim/meta/llama:1\n", "servedName", "llama")]
    [InlineData("image", "nvcr.io/nim/meta/llama:1;rm -rf /", "servedName", "llama")]
    [InlineData("image", "-v/:/host", "servedName", "llama")]
    [InlineData("servedName", "llama\nx", "image", Image)]
    [InlineData("servedName", "", "image", Image)]
    [InlineData("cacheDir", "nim-cache", "image", Image)]
    [InlineData("cacheDir", "/data/../etc", "image", Image)]
    [InlineData("cacheDir", "/data/nim:/etc", "image", Image)]
    [InlineData("spark", "demo\n", "image", Image)]
    [InlineData("spark", "nowhere", "image", Image)]
    public async Task InvalidFields_AreBadRequests_NamingTheField(string field, string value, string otherField, string otherValue)
    {
        await SetKeyAsync();
        var body = new Dictionary<string, object?> { ["spark"] = "demo", ["servedName"] = "llama-x", ["port"] = 8000, ["memoryEstimateGiB"] = 24, [otherField] = otherValue, [field] = value };

        using var response = await _client.PostAsJsonAsync("/api/nim", body);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
        Assert.Empty(Host.RegistryLogins);
    }

    [Theory]
    [InlineData(0, 24.0, true, false, "port")]
    [InlineData(70000, 24.0, true, false, "port")]
    [InlineData(8000, 0.0, true, false, "memoryEstimateGiB")]
    [InlineData(8000, -1.0, true, false, "memoryEstimateGiB")]
    [InlineData(8000, 1000.0, true, false, "memoryEstimateGiB")]
    [InlineData(8000, 24.0, false, false, "registerModel")]
    public async Task InvalidNumbersAndChoices_AreBadRequests(int port, double memory, bool registerModel, bool registerService, string field)
    {
        await SetKeyAsync();

        using var response = await _client.PostAsJsonAsync("/api/nim", Body(port: port, memory: memory, registerModel: registerModel, registerService: registerService));
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [Fact]
    public async Task TheSameInstallFromAnotherOrigin_IsRefused_AndNothingReachesTheSpark()
    {
        await SetKeyAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/nim") { Content = JsonContent.Create(Body()) };
        request.Headers.TryAddWithoutValidation("Origin", "http://evil.example");

        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Empty(Host.RegistryLogins);
        Assert.Empty(_app.Get<SparkControl.Core.Nim.NimInstaller>().All);
    }

    [Fact]
    public async Task TheSparkGoingAwayMidPull_FailsTheInstall_SayingSo_AndRegistersNothing()
    {
        await SetKeyAsync();
        // A small first layer, then six that take the demo's 2 GiB/s a second each: the Spark goes away part way.
        const string slow = "nvcr.io/nim/meta/llama-3.1-70b-instruct:1.8.4";
        Host.Registry.Add(new SimImage(slow, [1L << 20, .. Enumerable.Repeat(2L << 30, 6)]));
        using var response = await _client.PostAsJsonAsync("/api/nim", Body(image: slow, servedName: "llama-70b"));
        var location = response.Headers.Location!.ToString();
        await Wait.UntilAsync(async () => (await _client.GetFromJsonAsync<JsonElement>(location)).GetProperty("layersDone").GetInt32() >= 1, "a layer is pulled", TimeSpan.FromSeconds(30));
        Host.Reachable = false;
        JsonElement ended;
        try
        {
            ended = await WaitForEndAsync(location);
        }
        finally
        {
            Host.Reachable = true;
        }

        Assert.Equal("failed", ended.GetProperty("phase").GetString());
        Assert.Contains("demo is unreachable", ended.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.InRange(ended.GetProperty("layersDone").GetInt32(), 1, 6);
        Assert.Null(_app.Get<ModelCatalog>().Current.Find("llama-70b"));
        Assert.Equal(JsonValueKind.Null, ended.GetProperty("swapId").ValueKind);
        // Once the Spark is back the same install can be asked for again: the failed one holds nothing.
        using var again = await _client.PostAsJsonAsync("/api/nim", Body(image: slow, servedName: "llama-70b"));
        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        Assert.Equal("ready", (await WaitForEndAsync(again.Headers.Location!.ToString())).GetProperty("phase").GetString());
    }

    [Fact]
    public async Task AnUnknownInstall_Is404_AndAMalformedId400()
    {
        using var unknown = await _client.GetAsync("/api/nim/0123456789ab");
        using var malformed = await _client.GetAsync("/api/nim/..%2Fetc");

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.DisposeAsync();
    }
}
