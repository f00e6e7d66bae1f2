using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;
using SparkControl.Core.Catalog;
using SparkControl.Tests.Infrastructure;
using SparkControl.Tests.Shell;

namespace SparkControl.Tests.Web;

/// <summary>
/// LoRA adapters through the API in demo mode: the demo's adapter attached to the Qwen3 8B it was trained on, the base
/// started again with it, the adapter answering by its own name through the gateway (official OpenAI SDK), and detached.
/// </summary>
public sealed class LoraAdapterApiTests : IAsyncLifetime
{
    private const string Legal = "/home/demo/models/qwen3-8b-legal-lora";
    private SparkControlApp _app = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _app = await SparkControlApp.StartAsync();
        _client = _app.CreateClient();
        await Wait.UntilAsync(async () => (await _client.GetStringAsync("/v1/models")).Contains("\"qwen3-8b\"", StringComparison.Ordinal),
            "the demo serves qwen3-8b", TimeSpan.FromSeconds(60));
    }

    private string CustomFile => Path.Combine(_app.DataDirectory, CatalogStore.CustomFileName);

    private async Task<string> ServedModelsAsync() => await _client.GetStringAsync("/v1/models");

    [Fact]
    public async Task Attach_StartsTheBaseAgainWithTheAdapter_ServedByItsNameThroughTheGateway_ThenDetach()
    {
        using var attach = await _client.PostAsJsonAsync("/api/models/qwen3-8b/adapters", new { name = "legal", spark = "demo", path = Legal });
        var change = await attach.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.Created, attach.StatusCode);
        var adapter = change.GetProperty("model").GetProperty("adapters").EnumerateArray().Single();
        Assert.Equal(("legal", 16, "Qwen/Qwen3-8B"), (adapter.GetProperty("name").GetString(), adapter.GetProperty("rank").GetInt32(), adapter.GetProperty("baseModel").GetString()));
        var swapId = change.GetProperty("swapId").GetString()!;
        Assert.Equal($"/api/swaps/{swapId}", change.GetProperty("swapLocation").GetString());
        await SwapApi.WaitForReadyAsync(_client, swapId, "the base model starts again with its adapter");
        Assert.Contains("name: legal", await File.ReadAllTextAsync(CustomFile), StringComparison.Ordinal);

        // The launch carries the adapter; the server lists it with the base as its parent, and the gateway routes it.
        var command = await _client.GetFromJsonAsync<JsonElement>("/api/models/qwen3-8b/command?spark=demo");
        Assert.Contains($"--enable-lora --max-lora-rank 16 --lora-modules legal={Legal}", command.GetProperty("command").GetString(), StringComparison.Ordinal);
        await Wait.UntilAsync(async () => (await ServedModelsAsync()).Contains("\"legal\"", StringComparison.Ordinal), "the gateway lists the adapter");
        var sdk = new OpenAIClient(new ApiKeyCredential("not-checked"), new OpenAIClientOptions { Endpoint = new Uri(_app.BaseAddress, "/v1"), NetworkTimeout = TimeSpan.FromSeconds(60) });
        ChatCompletion answer = await sdk.GetChatClient("legal").CompleteChatAsync([new UserChatMessage("Summarize the clause")], new ChatCompletionOptions { MaxOutputTokenCount = 6 });
        Assert.Equal("legal", answer.Model);
        Assert.False(string.IsNullOrWhiteSpace(answer.Content[0].Text));

        using var detach = await _client.DeleteAsync("/api/models/qwen3-8b/adapters/legal");
        var detached = await detach.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.OK, detach.StatusCode);
        Assert.Empty(detached.GetProperty("model").GetProperty("adapters").EnumerateArray());
        await SwapApi.WaitForReadyAsync(_client, detached.GetProperty("swapId").GetString()!, "the base model starts again without the adapter");
        await Wait.UntilAsync(async () => !(await ServedModelsAsync()).Contains("\"legal\"", StringComparison.Ordinal), "the adapter is no longer served");
    }

    [Fact]
    public async Task AnAdapterOfAModelNotLoaded_IsSavedWithoutASwap_AndTheNameLeadsToItsBase()
    {
        using var attach = await _client.PostAsJsonAsync("/api/models/llama-3.3-70b/adapters", new { spark = "demo", path = "/home/demo/models/llama-70b-sql-lora" });
        var change = await attach.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.Created, attach.StatusCode);
        Assert.Equal(JsonValueKind.Null, change.GetProperty("swapId").ValueKind);
        // The name defaults to the directory's; rank 64 needs --max-lora-rank 64.
        Assert.Equal("llama-70b-sql-lora", change.GetProperty("model").GetProperty("adapters")[0].GetProperty("name").GetString());
        var command = await _client.GetFromJsonAsync<JsonElement>("/api/models/llama-3.3-70b/command?spark=demo");
        Assert.Contains("--max-lora-rank 64 --lora-modules llama-70b-sql-lora=/home/demo/models/llama-70b-sql-lora", command.GetProperty("command").GetString(), StringComparison.Ordinal);
        Assert.Equal("llama-3.3-70b", _app.Get<ModelCatalog>().Current.FindByServedName("llama-70b-sql-lora")?.Id);
    }

    [Fact]
    public async Task TrainedOnAnotherBase_Is400UntilConfirmed()
    {
        using var refused = await _client.PostAsJsonAsync("/api/models/gpt-oss-20b/adapters", new { name = "legal", spark = "demo", path = Legal });
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        using var confirmed = await _client.PostAsJsonAsync("/api/models/gpt-oss-20b/adapters", new { name = "legal", spark = "demo", path = Legal, confirmBaseMismatch = true });

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("trained on Qwen/Qwen3-8B, but gpt-oss-20b serves openai/gpt-oss-20b", problem.GetProperty("errors").GetProperty("confirmBaseMismatch")[0].GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Created, confirmed.StatusCode);
    }

    [Theory]
    [InlineData("/home/demo/models/qwen3-8b-support-ft", "path", "holds a full model")]
    [InlineData("/home/demo/models/checkpoint-1200", "path", "no adapter_config.json")]
    [InlineData("/home/demo/models/missing-lora", "path", "does not exist")]
    [InlineData("/etc/lora", "path", "")]
    [InlineData("/home/demo/models/a=b", "path", "'='")]
    [InlineData("/home/demo/models/qwen3-8b-legal-lora\n", "path", "")]
    public async Task WhatIsNotAnAdapterItCanServe_Is400OnTheField_AndNothingIsSaved(string path, string field, string says)
    {
        using var response = await _client.PostAsJsonAsync("/api/models/qwen3-8b/adapters", new { name = "x", spark = "demo", path });
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(says, problem.GetProperty("errors").GetProperty(field)[0].GetString(), StringComparison.Ordinal);
        Assert.Empty(_app.Get<ModelCatalog>().Current.Find("qwen3-8b")!.Adapters);
        Assert.False(File.Exists(CustomFile));
    }

    [Fact]
    public async Task HostileNames_Are400_AndANameTakenByAnotherModelIs409()
    {
        foreach (var hostile in HostileInputs.All.Where(h => h.Length > 0).Concat(["legal\n", "legal=x"]))
        {
            using var response = await _client.PostAsJsonAsync("/api/models/qwen3-8b/adapters", new { name = hostile, spark = "demo", path = Legal });
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{JsonSerializer.Serialize(hostile)} was {response.StatusCode}");
        }

        using var taken = await _client.PostAsJsonAsync("/api/models/qwen3-8b/adapters", new { name = "gpt-oss-20b", spark = "demo", path = Legal });
        using var alias = await _client.PostAsJsonAsync("/api/models/qwen3-8b/adapters", new { name = "default-chat", spark = "demo", path = Legal });
        using var own = await _client.PostAsJsonAsync("/api/models/qwen3-8b/adapters", new { name = "qwen3-8b", spark = "demo", path = Legal });

        Assert.Equal(HttpStatusCode.Conflict, taken.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, alias.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, own.StatusCode);
        Assert.Empty(_app.Get<ModelCatalog>().Current.Find("qwen3-8b")!.Adapters);
    }

    [Fact]
    public async Task UnknownModelsAndAdapters_Are404_AStaleIfMatch412()
    {
        using var unknown = await _client.PostAsJsonAsync("/api/models/no-such-model/adapters", new { name = "x", spark = "demo", path = Legal });
        using var notAttached = await _client.DeleteAsync("/api/models/qwen3-8b/adapters/legal");
        using var stale = new HttpRequestMessage(HttpMethod.Post, "/api/models/qwen3-8b/adapters") { Content = JsonContent.Create(new { name = "legal", spark = "demo", path = Legal }) };
        stale.Headers.TryAddWithoutValidation("If-Match", "\"not-the-version\"");
        using var staleResponse = await _client.SendAsync(stale);

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, notAttached.StatusCode);
        Assert.Equal(HttpStatusCode.PreconditionFailed, staleResponse.StatusCode);
    }

    [Fact]
    public async Task AModelNimStarts_Is409SayingWhy()
    {
        using var data = new TempDirectory();
        await File.WriteAllTextAsync(Path.Combine(data.Path, CatalogStore.CustomFileName),
            "models:\n  - id: nim-llama\n    source: { hf: meta/llama-3.1-8b-instruct }\n    runtime: nim\n    image: nvcr.io/nim/meta/llama-3.1-8b-instruct:1.8\n    memoryEstimateGiB: 24\n    port: 8010\n");
        await using var app = await SparkControlApp.StartAsync(dataDirectory: data.Path);
        using var client = app.CreateClient();

        using var response = await client.PostAsJsonAsync("/api/models/nim-llama/adapters", new { name = "x", spark = "demo", path = Legal });
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("NIM_PEFT_SOURCE", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.DisposeAsync();
    }
}
