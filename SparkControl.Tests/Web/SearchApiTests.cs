using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using SparkControl.Core.Vectors;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Web;

/// <summary>
/// Search through the panel: documents cut, embedded through the gateway (the demo's lexical embeddings server) and
/// upserted into the demo Spark's Qdrant with Qdrant.Client over gRPC, then found by a query sharing their words.
/// </summary>
public sealed class SearchApiTests
{
    private static readonly object[] Manuals =
    [
        new { text = "To replace the GPU fan, unplug the Spark and remove the four screws on the back panel.", source = "fan.md" },
        new { text = "Unified memory holds both the model weights and the KV cache of every request.", source = "memory.md" },
        new { text = "Qdrant keeps collections of vectors with payloads for search.", source = "qdrant.md" },
    ];

    /// <summary>The demo with its Qdrant and its embeddings service up, and the gateway routing the embedding model.</summary>
    private static async Task<SparkControlApp> StartDemoAsync(string? dataDirectory = null)
    {
        var app = await SparkControlApp.StartAsync(new Dictionary<string, string?> { ["Demo:InitialModel"] = string.Empty, ["Qdrant:MaxDocumentCharacters"] = "5000" }, dataDirectory);
        await TestQdrant.WaitForDemoAsync(app);
        return app;
    }

    /// <summary>services.yaml naming <paramref name="vault"/> as the demo Spark's second Qdrant, "vault".</summary>
    private static Task WriteVaultServiceAsync(TempDirectory data, TestQdrant vault) =>
        File.WriteAllTextAsync(Path.Combine(data.Path, "services.yaml"), string.Create(CultureInfo.InvariantCulture,
            $"services:\n  - spark: demo\n    name: vault\n    kind: qdrant\n    url: {vault.Rest}\n    grpcPort: {vault.GrpcPort}\n"));

    [Fact]
    public async Task AddedDocuments_AreFoundByAQuerySharingTheirWords_BestFirst_AndAddingThemAgainReplacesThem()
    {
        await using var app = await StartDemoAsync();
        using var client = app.CreateClient();

        using var added = await client.PostAsJsonAsync("/api/collections/manuals/documents", new { documents = Manuals });
        var body = await added.Content.ReadFromJsonAsync<JsonElement>();
        var search = await client.PostAsJsonAsync("/api/search", new { collection = "manuals", query = "how do I replace the fan", limit = 2 });
        var hits = (await search.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("hits");
        var filtered = await client.PostAsJsonAsync("/api/search", new { collection = "manuals", query = "replace the fan", filter = new { source = "memory.md" } });
        using var again = await client.PostAsJsonAsync("/api/collections/manuals/documents", new { documents = Manuals });
        var info = await client.GetFromJsonAsync<JsonElement>("/api/qdrant/demo/qdrant/collections/manuals");

        Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        Assert.Equal(("manuals", 3, 3), (body.GetProperty("collection").GetString(), body.GetProperty("documents").GetInt32(), body.GetProperty("chunks").GetInt32()));
        Assert.Equal(HttpStatusCode.OK, search.StatusCode);
        Assert.Equal(2, hits.GetArrayLength());
        Assert.Equal("fan.md", hits[0].GetProperty("source").GetString());
        Assert.StartsWith("To replace the GPU fan", hits[0].GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.True(hits[0].GetProperty("score").GetDouble() > hits[1].GetProperty("score").GetDouble());
        Assert.Equal("bge-small", hits[0].GetProperty("payload").GetProperty("embedding_model").GetString());
        Assert.Equal("memory.md", Assert.Single((await filtered.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("hits").EnumerateArray()).GetProperty("source").GetString());
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(3, info.GetProperty("points").GetInt32());
        Assert.Equal((384, "Cosine"), (info.GetProperty("vectorSize").GetInt32(), info.GetProperty("distance").GetString()));
    }

    [Fact]
    public async Task ALongDocument_IsCutIntoChunks_EachFoundOnItsOwn_AndTheCollectionIsListedAndSampled()
    {
        await using var app = await StartDemoAsync();
        using var client = app.CreateClient();
        var sentences = Enumerable.Range(0, 40).Select(i => string.Create(CultureInfo.InvariantCulture, $"Paragraph {i} talks about topic{i} at length."));
        var text = string.Join(' ', sentences);

        using var added = await client.PostAsJsonAsync("/api/collections/long/documents", new { documents = new[] { new { text, source = "long.txt" } } });
        var chunks = (await added.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("chunks").GetInt32();
        var hit = (await (await client.PostAsJsonAsync("/api/search", new { collection = "long", query = "topic37", limit = 1 })).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("hits")[0];
        var overview = await client.GetFromJsonAsync<JsonElement>("/api/qdrant");
        var sample = await client.GetFromJsonAsync<JsonElement>("/api/qdrant/demo/qdrant/collections/long/points?limit=2");

        // 40 sentences of about 42 characters in chunks of at most 800: three chunks, no sentence split.
        Assert.Equal(TextChunker.Split(text, 800).Count, chunks);
        Assert.True(chunks >= 2);
        Assert.Contains("topic37", hit.GetProperty("text").GetString(), StringComparison.Ordinal);
        var demo = Assert.Single(overview.EnumerateArray());
        Assert.Equal(("demo/qdrant", false), (demo.GetProperty("service").GetString(), demo.GetProperty("requiresApiKey").GetBoolean()));
        Assert.Contains(demo.GetProperty("collections").EnumerateArray(), c => c.GetProperty("name").GetString() == "long" && c.GetProperty("points").GetInt32() == chunks);
        Assert.Equal(2, sample.GetArrayLength());
        Assert.Equal(384, sample[0].GetProperty("vectorSize").GetInt32());
        Assert.Equal(1.0, sample[0].GetProperty("vectorNorm").GetDouble(), 3);
        Assert.Equal("long.txt", sample[0].GetProperty("payload").GetProperty("source").GetString());
    }

    [Theory]
    [InlineData("{\"collection\":\"manuals\\n\",\"query\":\"fan\"}", "collection")]
    [InlineData("{\"collection\":\"../etc\",\"query\":\"fan\"}", "collection")]
    [InlineData("{\"collection\":\"manuals\",\"query\":\"  \"}", "query")]
    [InlineData("{\"collection\":\"manuals\",\"query\":\"fan\",\"limit\":0}", "limit")]
    [InlineData("{\"collection\":\"manuals\",\"query\":\"fan\",\"limit\":101}", "limit")]
    [InlineData("{\"collection\":\"manuals\",\"query\":\"fan\",\"filter\":{\"source\":{\"$ne\":1}}}", "filter")]
    [InlineData("{\"collection\":\"manuals\",\"query\":\"fan\",\"filter\":{\"source\":1.5}}", "filter")]
    [InlineData("{\"collection\":\"manuals\",\"query\":\"fan\",\"filter\":{\"bad key\\n\":\"x\"}}", "filter")]
    public async Task ASearchWithABadField_Is400_NamingTheField(string json, string field)
    {
        await using var app = await StartDemoAsync();
        using var client = app.CreateClient();

        using var response = await client.PostAsync("/api/search", new StringContent(json, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty(field, out _), await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task UnknownCollections_Are404_AndBadDocumentsAre400_BeforeAnythingIsStored()
    {
        await using var app = await StartDemoAsync();
        using var client = app.CreateClient();
        var tooLong = new string('a', 5001);
        var queryTooLong = new string('q', VectorSearch.MaxQueryCharacters + 1);

        using var unknown = await client.PostAsJsonAsync("/api/search", new { collection = "nope", query = "fan" });
        using var none = await client.PostAsJsonAsync("/api/collections/docs/documents", new { documents = Array.Empty<object>() });
        using var blank = await client.PostAsJsonAsync("/api/collections/docs/documents", new { documents = new[] { new { text = " ", source = "a" } } });
        using var longText = await client.PostAsJsonAsync("/api/collections/docs/documents", new { documents = new[] { new { text = tooLong, source = "a" } } });
        using var badSource = await client.PostAsJsonAsync("/api/collections/docs/documents", new { documents = new[] { new { text = "fine", source = "a\nb" } } });
        using var badRoute = await client.PostAsJsonAsync("/api/collections/bad%20name/documents", new { documents = Manuals });
        using var longQuery = await client.PostAsJsonAsync("/api/search", new { collection = "docs", query = queryTooLong });

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("no collection 'nope'", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, none.StatusCode);
        Assert.True((await blank.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("documents[0].text", out _));
        Assert.True((await longText.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("documents[0].text", out _));
        Assert.True((await badSource.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("documents[0].source", out _));
        Assert.Equal(HttpStatusCode.BadRequest, badRoute.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, longQuery.StatusCode);
        var overview = await client.GetFromJsonAsync<JsonElement>("/api/qdrant");
        Assert.Empty(overview[0].GetProperty("collections").EnumerateArray());
    }

    [Fact]
    public async Task AQdrantWithAKey_RefusesThePanelUntilItsKeyIsSet_AndSeveralQdrantsMustBeNamed()
    {
        await using var vault = await TestQdrant.StartSecuredAsync();
        using var data = new TempDirectory("sc-data");
        await WriteVaultServiceAsync(data, vault);
        await using var app = await StartDemoAsync(data.Path);
        using var client = app.CreateClient();
        using (var admin = vault.Client(TestQdrant.ApiKey))
        {
            await admin.CreateCollectionAsync("secrets", new Qdrant.Client.Grpc.VectorParams { Size = 384, Distance = Qdrant.Client.Grpc.Distance.Cosine });
        }

        using var unnamed = await client.PostAsJsonAsync("/api/search", new { collection = "secrets", query = "x" });
        using var unknownService = await client.PostAsJsonAsync("/api/search", new { collection = "secrets", query = "x", service = "nope" });
        using var refused = await client.PostAsJsonAsync("/api/search", new { collection = "secrets", query = "x", service = "demo/vault" });
        var before = await client.GetFromJsonAsync<JsonElement>("/api/qdrant");
        using var set = await client.PutAsJsonAsync($"/api/secrets/{QdrantConnections.ApiKeySecret(app.Get<QdrantConnections>().Resolve("demo/vault"))}", new { value = TestQdrant.ApiKey });
        var after = await client.GetFromJsonAsync<JsonElement>("/api/qdrant");

        Assert.Equal(HttpStatusCode.BadRequest, unnamed.StatusCode);
        Assert.Contains("demo/qdrant, demo/vault", await unnamed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, unknownService.StatusCode);
        Assert.Equal(HttpStatusCode.BadGateway, refused.StatusCode);
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Qdrant refused the panel", problem.GetProperty("title").GetString());
        Assert.Contains("set its API key under Settings, Services, vault", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("refused the panel", Vault(before).GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NoContent, set.StatusCode);
        Assert.True(Vault(after).GetProperty("requiresApiKey").GetBoolean());
        Assert.Equal("secrets", Assert.Single(Vault(after).GetProperty("collections").EnumerateArray()).GetProperty("name").GetString());
        Assert.DoesNotContain(TestQdrant.ApiKey, after.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain(TestQdrant.ApiKey, await client.GetStringAsync("/api/secrets"), StringComparison.Ordinal);

        static JsonElement Vault(JsonElement overview) => overview.EnumerateArray().Single(s => s.GetProperty("service").GetString() == "demo/vault");
    }

    [Fact]
    public async Task AReadOnlyKey_ServesSearchesAndListings_WhileWritesTakeTheFullKey()
    {
        await using var vault = await TestQdrant.StartSecuredAsync();
        using var data = new TempDirectory("sc-data");
        await WriteVaultServiceAsync(data, vault);
        await using var app = await StartDemoAsync(data.Path);
        using var client = app.CreateClient();
        var service = app.Get<QdrantConnections>().Resolve("demo/vault");

        using var setReadOnly = await client.PutAsJsonAsync($"/api/secrets/{QdrantConnections.ReadOnlyApiKeySecret(service)}", new { value = TestQdrant.ReadOnlyApiKey });
        using var refusedWrite = await client.PostAsJsonAsync("/api/collections/vaulted/documents", new { documents = Manuals, service = "demo/vault" });
        var listed = await client.GetFromJsonAsync<JsonElement>("/api/qdrant");
        using var setFull = await client.PutAsJsonAsync($"/api/secrets/{QdrantConnections.ApiKeySecret(service)}", new { value = TestQdrant.ApiKey });
        using var written = await client.PostAsJsonAsync("/api/collections/vaulted/documents", new { documents = Manuals, service = "demo/vault" });
        using var searched = await client.PostAsJsonAsync("/api/search", new { collection = "vaulted", query = "replace the fan", service = "demo/vault" });

        Assert.Equal((HttpStatusCode.NoContent, HttpStatusCode.NoContent), (setReadOnly.StatusCode, setFull.StatusCode));
        Assert.Equal(HttpStatusCode.BadGateway, refusedWrite.StatusCode);
        // Writes never fall back to the read-only key: with no full key set they go without one.
        Assert.Contains("Must provide an API key", await refusedWrite.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(listed.EnumerateArray().Single(s => s.GetProperty("service").GetString() == "demo/vault").GetProperty("collections").EnumerateArray());
        Assert.Equal(HttpStatusCode.OK, written.StatusCode);
        Assert.Equal("fan.md", (await searched.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("hits")[0].GetProperty("source").GetString());
        Assert.Contains("qdrant-read-only-api-key-demo-vault", await client.GetStringAsync("/api/secrets"), StringComparison.Ordinal);
    }
}
