using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using SparkControl.Core.Catalog;
using SparkControl.Tests.Infrastructure;
using SparkControl.Tests.Shell;

namespace SparkControl.Tests.Web;

public sealed class ModelsApiTests : IAsyncLifetime
{
    private SparkControlApp _app = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _app = await SparkControlApp.StartAsync();
        _client = _app.CreateClient();
    }

    private string CustomFile => Path.Combine(_app.DataDirectory, CatalogStore.CustomFileName);

    private static object Flags(int maxModelLen = 32768, string? toolCallParser = "hermes", string[]? extraArgs = null) => new
    {
        maxModelLen,
        gpuMemoryUtilization = 0.8,
        maxNumSeqs = 8,
        tensorParallelSize = 1,
        quantization = (string?)null,
        kvCacheDtype = "auto",
        enablePrefixCaching = true,
        enforceEager = false,
        trustRemoteCode = false,
        toolCallParser,
        reasoningParser = (string?)null,
        extraArgs = extraArgs ?? ["--max-num-batched-tokens", "8192"],
    };

    [Fact]
    public async Task ACustomFileBrokenByHand_IsA409NamingIt_AndIsLeftAsItIs()
    {
        const string broken = "models:\n  - id: mine\n    source: { hf: org/mine }\n    port: not-a-port\n";
        await File.WriteAllTextAsync(CustomFile, broken);

        using var add = await _client.PostAsJsonAsync("/api/models", new { kind = "hf", repo = "org/new" });
        var problem = await add.Content.ReadFromJsonAsync<JsonElement>();
        using var list = await _client.GetAsync("/api/models");

        Assert.Equal(HttpStatusCode.Conflict, add.StatusCode);
        Assert.Equal("application/problem+json", add.Content.Headers.ContentType!.MediaType);
        Assert.Equal(CustomFile, problem.GetProperty("path").GetString());
        Assert.Equal(4, problem.GetProperty("problems")[0].GetProperty("line").GetInt32());
        Assert.Equal(broken, await File.ReadAllTextAsync(CustomFile));
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
    }

    [Fact]
    public async Task AddHf_Is201WithETagAndDerivedUniqueIds()
    {
        var first = await _client.PostAsJsonAsync("/api/models", new { kind = "hf", repo = "Qwen/Qwen3-4B", revision = (string?)null });
        var second = await _client.PostAsJsonAsync("/api/models", new { kind = "hf", repo = "Qwen/Qwen3-4B", revision = "v2" });
        var explicitId = await _client.PostAsJsonAsync("/api/models", new { kind = "hf", repo = "org/x", id = "qwen3-8b" });
        var body = await first.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.NotNull(first.Headers.ETag);
        Assert.Equal("qwen3-4b", body.GetProperty("id").GetString());
        Assert.Equal("qwen3-4b", body.GetProperty("servedName").GetString());
        Assert.Equal("qwen3-4b-2", (await second.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString());
        Assert.Equal(HttpStatusCode.Conflict, explicitId.StatusCode);
        Assert.Equal(2, CustomCatalog.Read(await File.ReadAllTextAsync(CustomFile), CustomFile).Item1.Models.Length);
    }

    [Fact]
    public async Task AddHf_SameRepoAndRevisionAgain_Is409NamingTheModel_ACopyOnlyWhenAsked()
    {
        using var again = await _client.PostAsJsonAsync("/api/models", new { kind = "hf", repo = "Qwen/Qwen3-8B" });
        using var otherCase = await _client.PostAsJsonAsync("/api/models", new { kind = "hf", repo = "qwen/qwen3-8b" });
        using var otherRevision = await _client.PostAsJsonAsync("/api/models", new { kind = "hf", repo = "Qwen/Qwen3-8B", revision = "v2" });
        using var copy = await _client.PostAsJsonAsync("/api/models", new { kind = "hf", repo = "Qwen/Qwen3-8B", allowDuplicate = true });
        var problem = await again.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("application/problem+json", again.Content.Headers.ContentType!.MediaType);
        Assert.Equal("qwen3-8b", problem.GetProperty("existingModel").GetString());
        Assert.Contains("Qwen/Qwen3-8B is already in the catalog as qwen3-8b", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("allowDuplicate", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Conflict, otherCase.StatusCode);
        Assert.Equal(HttpStatusCode.Created, otherRevision.StatusCode);
        Assert.Equal(HttpStatusCode.Created, copy.StatusCode);
        Assert.Equal("qwen3-8b-3", (await copy.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString());
        Assert.Equal(["qwen3-8b-2", "qwen3-8b-3"], CustomCatalog.Read(await File.ReadAllTextAsync(CustomFile), CustomFile).Item1.Models.Select(m => m.Id));
    }

    [Fact]
    public async Task AddLocal_SamePathAgain_Is409NamingTheModel_ACopyOnlyWhenAsked()
    {
        var body = new { kind = "local", spark = "demo", path = "/home/demo/models/qwen3-8b-support-ft" };
        using var first = await _client.PostAsJsonAsync("/api/models", body);

        using var again = await _client.PostAsJsonAsync("/api/models", body);
        using var copy = await _client.PostAsJsonAsync("/api/models", new { body.kind, body.spark, body.path, allowDuplicate = true });
        var problem = await again.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("qwen3-8b-support-ft", problem.GetProperty("existingModel").GetString());
        Assert.Equal(HttpStatusCode.Created, copy.StatusCode);
        Assert.Equal("qwen3-8b-support-ft-2", (await copy.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString());
    }

    [Fact]
    public async Task Flags_ValuesTheFormRefuses_Are400NamingTheFieldAndChangeNothing()
    {
        var etag = (await _client.GetAsync("/api/models/qwen3-8b")).Headers.ETag!;
        foreach (var json in new[] { "{\"maxModelLen\": \"abc\"}", "{\"maxModelLen\": -5}", "{\"maxModelLen\": 1.5}", "{\"maxNumSeqs\": \"8x\"}", "{\"gpuMemoryUtilization\": \"abc\"}" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Put, "/api/models/qwen3-8b/flags") { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };
            request.Headers.IfMatch.Add(etag);
            using var response = await _client.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();

            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{json} got {response.StatusCode}");
            var field = json[2..json.IndexOf('"', 2)];
            Assert.True(text.Contains(field, StringComparison.Ordinal), $"{json}: {text}");
        }

        Assert.Equal(32768, _app.Get<ModelCatalog>().Current.Find("qwen3-8b")!.Flags.MaxModelLen);
        Assert.False(File.Exists(CustomFile));
    }

    [Fact]
    public async Task Add_ServedNameOfAnotherModel_Is409AndChangesNothing()
    {
        var before = await ModelIdsAsync();

        var servedName = await _client.PostAsJsonAsync("/api/models", new { kind = "hf", repo = "org/x", servedName = "qwen3-8b" });
        var alias = await _client.PostAsJsonAsync("/api/models", new { kind = "hf", repo = "org/x", servedName = "default-chat" });
        var problem = await servedName.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.Conflict, servedName.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, alias.StatusCode);
        Assert.Contains("'qwen3-8b' is already used by model 'qwen3-8b'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, await ModelIdsAsync());
        Assert.False(File.Exists(CustomFile));
    }

    [Fact]
    public async Task AddHf_DerivedIdThatAnotherModelAnswersTo_GetsASuffix()
    {
        using var added = await _client.PostAsJsonAsync("/api/models", new { kind = "hf", repo = "org/default-chat" });

        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        Assert.Equal("default-chat-2", (await added.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("servedName").GetString());
    }

    private async Task<string?[]> ModelIdsAsync() =>
        [.. (await _client.GetFromJsonAsync<JsonElement>("/api/models")).EnumerateArray().Select(m => m.GetProperty("id").GetString())];

    [Fact]
    public async Task AddLocal_ChecksTheDirectoryOnTheSpark()
    {
        var full = await _client.PostAsJsonAsync("/api/models", new { kind = "local", spark = "demo", path = "/home/demo/models/qwen3-8b-support-ft" });
        var adapter = await _client.PostAsJsonAsync("/api/models", new { kind = "local", spark = "demo", path = "/home/demo/models/qwen3-8b-legal-lora" });
        var outside = await _client.PostAsJsonAsync("/api/models", new { kind = "local", spark = "demo", path = "/etc/models" });
        var adapterProblem = await adapter.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.Created, full.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, adapter.StatusCode);
        Assert.Contains("PEFT adapter", adapterProblem.GetProperty("errors").GetProperty("path")[0].GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, outside.StatusCode);
        var listed = await _client.GetFromJsonAsync<JsonElement>("/api/models/qwen3-8b-support-ft");
        Assert.Equal("local", listed.GetProperty("source").GetProperty("kind").GetString());
        Assert.True(listed.GetProperty("disk")[0].GetProperty("present").GetBoolean());
    }

    [Fact]
    public async Task Flags_NeedIfMatch_AndAStaleOneIs412()
    {
        var current = await _client.GetAsync("/api/models/qwen3-8b");
        var etag = current.Headers.ETag!.Tag;

        var missing = await _client.PutAsJsonAsync("/api/models/qwen3-8b/flags", Flags());
        using var first = new HttpRequestMessage(HttpMethod.Put, "/api/models/qwen3-8b/flags") { Content = JsonContent.Create(Flags(maxModelLen: 16384)) };
        first.Headers.IfMatch.Add(new EntityTagHeaderValue(etag));
        var updated = await _client.SendAsync(first);
        using var stale = new HttpRequestMessage(HttpMethod.Put, "/api/models/qwen3-8b/flags") { Content = JsonContent.Create(Flags(maxModelLen: 4096)) };
        stale.Headers.IfMatch.Add(new EntityTagHeaderValue(etag));
        var conflict = await _client.SendAsync(stale);

        Assert.Equal((HttpStatusCode)428, missing.StatusCode);
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        Assert.NotEqual(etag, updated.Headers.ETag!.Tag);
        Assert.Equal(HttpStatusCode.PreconditionFailed, conflict.StatusCode);
        Assert.Equal(16384, _app.Get<ModelCatalog>().Current.Find("qwen3-8b")!.Flags.MaxModelLen);
    }

    [Fact]
    public async Task Command_IsTheExactLaunchLine()
    {
        var command = await _client.GetFromJsonAsync<JsonElement>("/api/models/qwen3-8b/command?spark=demo");

        Assert.Equal("DockerRun", command.GetProperty("kind").GetString());
        Assert.StartsWith("docker run -d --name sparkcontrol-llm --gpus all --network host --ipc=host -v /home/demo/.cache/huggingface:/root/.cache/huggingface", command.GetProperty("command").GetString(), StringComparison.Ordinal);
        Assert.Equal("vllm", command.GetProperty("argv").EnumerateArray().SkipWhile(a => a.GetString() != "--entrypoint").Skip(1).First().GetString());
    }

    [Fact]
    public async Task DeleteShipped_Is409_DeleteAdded_Is204()
    {
        await _client.PostAsJsonAsync("/api/models", new { kind = "hf", repo = "org/temp" });

        var shipped = await _client.DeleteAsync("/api/models/qwen3-8b");
        var added = await _client.DeleteAsync("/api/models/temp");

        Assert.Equal(HttpStatusCode.Conflict, shipped.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, added.StatusCode);
        Assert.Null(_app.Get<ModelCatalog>().Current.Find("temp"));
    }

    [Fact]
    public async Task Discover_DemoSpark_ReturnsItsFineTunesOfEachKind()
    {
        var found = await (await _client.PostAsync("/api/sparks/demo/discover", null)).Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(["adapter", "adapter", "fullModel", "incomplete"], found.EnumerateArray().Select(f => f.GetProperty("kind").GetString()).Order());
    }

    [Fact]
    public async Task HostileInputs_InEveryAddField_Are400AndChangeNothing()
    {
        // An empty optional field means "not given" (derive the id, no revision), so the empty string is left out.
        foreach (var hostile in HostileInputs.All.Where(h => h.Length > 0))
        {
            foreach (var body in new object[]
                     {
                         new { kind = "hf", repo = hostile },
                         new { kind = "hf", repo = "org/ok", revision = hostile },
                         new { kind = "hf", repo = "org/ok", id = hostile },
                         new { kind = "local", spark = "demo", path = "/home/demo/models/" + hostile },
                         new { kind = hostile, repo = "org/ok" },
                     })
            {
                var response = await _client.PostAsJsonAsync("/api/models", body);
                Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{SparkControl.Core.Validation.Validators.Printable(hostile)} got {response.StatusCode}");
            }
        }

        Assert.False(File.Exists(CustomFile));
    }

    [Fact]
    public async Task HostileModelIdsInThePath_Are400NotLookedUp()
    {
        foreach (var hostile in HostileInputs.All.Where((h, i) => i % 3 == 0 && h.Length > 0 && !h.Contains('/', StringComparison.Ordinal) && h is not ("." or "..")))
        {
            var id = Uri.EscapeDataString(hostile);
            foreach (var response in new[]
                     {
                         await _client.GetAsync($"/api/models/{id}"),
                         await _client.GetAsync($"/api/models/{id}/command?spark=demo"),
                         await _client.GetAsync($"/api/models/{id}/disk"),
                         await _client.DeleteAsync($"/api/models/{id}"),
                     })
            {
                using (response)
                {
                    // 414: Kestrel refuses a path that long before any routing, which is a refusal too.
                    Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.RequestUriTooLong, $"{SparkControl.Core.Validation.Validators.Printable(hostile)}: {response.RequestMessage!.Method} {response.StatusCode}");
                }
            }
        }
    }

    [Fact]
    public async Task HostileInputs_InEveryFlagsField_Are400AndChangeNothing()
    {
        var etag = (await _client.GetAsync("/api/models/qwen3-8b")).Headers.ETag!;
        foreach (var hostile in HostileInputs.All.Where((h, i) => i % 2 == 0 && h.Length > 0))
        {
            // A well-formed flag such as --help is accepted as an extra argument and reaches vLLM as one inert word
            // (HostileInputTests proves that); every other hostile extra argument is refused.
            var wellFormedFlag = System.Text.RegularExpressions.Regex.IsMatch(hostile, "^--[a-z0-9]+(-[a-z0-9]+)*(=[^-].*)?$");
            foreach (var body in new object[]
                     {
                         Flags(toolCallParser: hostile),
                         Flags(extraArgs: wellFormedFlag ? ["--bad flag"] : [hostile]),
                         new { reasoningParser = hostile },
                         new { quantization = hostile },
                         new { kvCacheDtype = hostile },
                     })
            {
                using var request = new HttpRequestMessage(HttpMethod.Put, "/api/models/qwen3-8b/flags") { Content = JsonContent.Create(body) };
                request.Headers.IfMatch.Add(etag);
                var response = await _client.SendAsync(request);
                Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{SparkControl.Core.Validation.Validators.Printable(hostile)} got {response.StatusCode}");
            }
        }

        Assert.False(File.Exists(CustomFile));
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.DisposeAsync();
    }
}
