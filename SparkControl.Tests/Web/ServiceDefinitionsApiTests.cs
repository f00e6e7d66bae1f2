using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using SparkControl.Core.Services;
using SparkControl.Tests.Infrastructure;
using SparkControl.Tests.Shell;
using SparkControl.Core.Validation;

namespace SparkControl.Tests.Web;

/// <summary>The services.yaml API: add, change, remove, and every field checked on its own against the hostile table.</summary>
public sealed class ServiceDefinitionsApiTests : IAsyncLifetime
{
    private SparkControlApp _app = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _app = await SparkControlApp.StartAsync(new Dictionary<string, string?> { ["Demo:InitialModel"] = string.Empty });
        _client = _app.CreateClient();
    }

    private string ServicesFile => Path.Combine(_app.DataDirectory, ServicesYaml.FileName);

    private static JsonObject Service() => new()
    {
        ["spark"] = "demo",
        ["name"] = "extra",
        ["kind"] = "other",
        ["container"] = "extra",
        ["port"] = 9100,
        ["healthPath"] = "/health",
        ["memoryLimit"] = "2g",
        ["links"] = new JsonArray(new JsonObject { ["title"] = "Docs", ["url"] = "http://spark-1:9100/docs" }),
    };

    [Theory]
    [InlineData("500g", "memoryLimit 500g is more than demo has: 121.7 GiB of memory")]
    [InlineData("99999999t", "memoryLimit '99999999t' is too large: at most 4194304t")]
    public async Task Limits_AboveWhatTheSparkHas_AreRefusedSayingWhy(string cap, string said)
    {
        using var response = await _client.PutAsJsonAsync("/api/services/demo/parakeet-asr/limits", new { memoryLimit = cap });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(said, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    /// <summary>A definition's cap is a cap the panel applies later: the same rule as an applied one, on add and on change.</summary>
    [Fact]
    public async Task Definitions_WithACapAboveTheSparksMemory_AreRefusedSayingWhy_AndOneJustBelowIsSaved()
    {
        var tooLarge = Service();
        tooLarge["memoryLimit"] = "122g";
        using var refusedAdd = await _client.PostAsJsonAsync("/api/services/definitions", tooLarge);
        var fits = Service();
        fits["memoryLimit"] = "121g";
        using var added = await _client.PostAsJsonAsync("/api/services/definitions", fits);
        fits["memoryLimit"] = "500g";
        using var refusedChange = await _client.PutAsJsonAsync("/api/services/definitions/demo/extra", fits);

        Assert.Equal(HttpStatusCode.BadRequest, refusedAdd.StatusCode);
        var problem = await refusedAdd.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("memoryLimit 122g is more than demo has: 121.7 GiB of memory", problem.GetProperty("errors").GetProperty("memoryLimit")[0].GetString());
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, refusedChange.StatusCode);
        Assert.Contains("memoryLimit 500g is more than demo has", await refusedChange.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(121L << 30, Assert.Single(ServicesYaml.Read(await File.ReadAllTextAsync(ServicesFile), ServicesFile).Services).MemoryLimitBytes);
    }

    [Fact]
    public async Task AddChangeRemove_AreWrittenToServicesYaml()
    {
        using var added = await _client.PostAsJsonAsync("/api/services/definitions", Service());
        var changed = Service();
        changed["port"] = 9200;
        using var updated = await _client.PutAsJsonAsync("/api/services/definitions/demo/extra", changed);
        var afterUpdate = ServicesYaml.Read(await File.ReadAllTextAsync(ServicesFile), ServicesFile).Services;
        using var removed = await _client.DeleteAsync("/api/services/definitions/demo/extra");

        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        Assert.Equal(9200, Assert.Single(afterUpdate).Port);
        Assert.Equal(2L << 30, afterUpdate[0].MemoryLimitBytes);
        Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        Assert.Empty(ServicesYaml.Read(await File.ReadAllTextAsync(ServicesFile), ServicesFile).Services);
    }

    /// <summary>A plain URL path is a legitimate health path, hostile-looking or not (it only ever names a path on the service).</summary>
    private static bool PlainPath(string value) =>
        value.Length > 1 && value[0] == '/' && value[1] != '/' && value.All(c => char.IsAsciiLetterOrDigit(c) || "-._~/".Contains(c, StringComparison.Ordinal));

    [Fact]
    public async Task Add_HostileInputInAnyOneField_Is400NamingThatField()
    {
        // A link's title is display text (encoded wherever it is shown): any printable text is fine there, so it has
        // its own rows below instead.
        string[] fields = ["spark", "name", "kind", "container", "url", "healthPath", "memoryLimit", "links.url"];
        var hostile = HostileInputs.All.Where((h, i) => h.Trim().Length > 0 && (i % 3 == 0 || HostileInputs.ValidValues.Any(v => h.StartsWith(v, StringComparison.Ordinal) && h.Length - v.Length <= 2))).ToList();
        foreach (var field in fields)
        {
            foreach (var value in hostile.Where(v => field != "healthPath" || !PlainPath(v)))
            {
                var body = Service();
                if (field.StartsWith("links.", StringComparison.Ordinal))
                {
                    body["links"]![0]![field["links.".Length..]] = value;
                }
                else
                {
                    body[field] = value;
                }

                using var response = await _client.PostAsJsonAsync("/api/services/definitions", body);
                var shown = $"{field} = {Validators.Printable(value)}";
                Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{shown} got {response.StatusCode}");
                var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
                Assert.True(errors.TryGetProperty(field.Split('.')[0], out _), $"{shown}: {errors}");
            }
        }

        Assert.False(File.Exists(ServicesFile));
    }

    [Theory]
    [InlineData("healthPath", "//evil.example/x")]
    [InlineData("healthPath", "/\\evil.example")]
    [InlineData("url", "http://user:password@spark-1:9000/")]
    [InlineData("url", "file:///etc/shadow")]
    [InlineData("memoryLimit", " 16g")]
    [InlineData("memoryLimit", "16g\n")]
    [InlineData("memoryLimit", "1e3g")]
    [InlineData("memoryLimit", "-16g")]
    [InlineData("links.title", "Docs\n")]
    [InlineData("links.title", "Do\u202ecs")]
    [InlineData("links.title", "")]
    public async Task Add_ValuesThatLookRightButAreNot_Are400(string field, string value)
    {
        var body = Service();
        if (field == "links.title")
        {
            body["links"]![0]!["title"] = value;
        }
        else
        {
            body[field] = value;
        }

        using var response = await _client.PostAsJsonAsync("/api/services/definitions", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty(field.Split('.')[0], out _));
    }

    [Theory]
    [InlineData("memoryEstimateGiB", "\"abc\"")]
    [InlineData("memoryEstimateGiB", "-4")]
    [InlineData("maxInFlight", "\"two\"")]
    [InlineData("maxInFlight", "9")]
    [InlineData("port", "99999")]
    [InlineData("port", "90.5")]
    public async Task Add_NumbersTheFormRefuses_Are400NamingTheField(string field, string json)
    {
        var body = Service();
        body["models"] = new JsonArray(new JsonObject { ["name"] = "parakeet-tdt-0.6b-v2" });
        body[field] = JsonNode.Parse(json);

        using var response = await _client.PostAsJsonAsync("/api/services/definitions", body);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
        Assert.False(File.Exists(ServicesFile));
    }

    [Theory]
    [InlineData("DELETE", "/api/services/definitions/demo/a%3Bb")]
    [InlineData("DELETE", "/api/services/definitions/demo%0A/extra")]
    [InlineData("GET", "/api/services/demo%0A/asr")]
    [InlineData("GET", "/api/services/demo/asr%0D/logs")]
    [InlineData("POST", "/api/services/demo/%24(id)/restart")]
    public async Task HostileRouteValues_Are400BeforeAnyLookUp(string method, string path)
    {
        using var response = await _client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [InlineData("/api/services/demo/parakeet-asr/logs?tail=10001")]
    [InlineData("/api/services/demo/parakeet-asr/logs?tail=-1")]
    [InlineData("/api/services/demo/parakeet-asr/logs?tail=2147483648")]
    [InlineData("/api/services/demo/parakeet-asr/logs/stream?tail=10001")]
    public async Task LogTail_PastItsLimit_Is400SayingTheLimit(string path)
    {
        using var response = await _client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        if (!path.EndsWith("2147483648", StringComparison.Ordinal))
        {
            Assert.Contains("tail must be between 0 and 10,000", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task LogTail_AtItsLimit_IsServed()
    {
        using var response = await _client.GetAsync("/api/services/demo/parakeet-asr/logs?tail=10000");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task HandEdits_AreKept_AndIfMatchGuardsAServiceDefinition()
    {
        var file = Path.Combine(_app.DataDirectory, ServicesYaml.FileName);
        using var added = await _client.PostAsJsonAsync("/api/services/definitions", new { spark = "demo", name = "extra-a", kind = "other", container = "tts-a", port = 9100, healthPath = "/health" });
        var version = added.Headers.ETag!.Tag;
        var (services, _) = ServicesYaml.Read(await File.ReadAllTextAsync(file), file);
        await File.WriteAllTextAsync(file, ServicesYaml.Write([.. services, services.Single(s => s.Name == "extra-a") with { Name = "extra-b", Container = "tts-b", Port = 9101 }]));

        using var stale = new HttpRequestMessage(HttpMethod.Put, "/api/services/definitions/demo/extra-a") { Content = JsonContent.Create(new { spark = "demo", name = "extra-a", kind = "other", container = "tts-a", port = 9200, healthPath = "/health" }) };
        stale.Headers.TryAddWithoutValidation("If-Match", "\"not-the-version\"");
        using var refused = await _client.SendAsync(stale);
        using var current = new HttpRequestMessage(HttpMethod.Put, "/api/services/definitions/demo/extra-a") { Content = JsonContent.Create(new { spark = "demo", name = "extra-a", kind = "other", container = "tts-a", port = 9200, healthPath = "/health" }) };
        current.Headers.TryAddWithoutValidation("If-Match", version);
        using var changed = await _client.SendAsync(current);
        using var read = await _client.GetAsync("/api/services/definitions/demo/extra-a");

        Assert.Equal(HttpStatusCode.PreconditionFailed, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.Equal(changed.Headers.ETag!.Tag, read.Headers.ETag!.Tag);
        var after = ServicesYaml.Read(await File.ReadAllTextAsync(file), file).Services;
        Assert.Equal(9200, after.Single(s => s.Name == "extra-a").Port);
        Assert.Equal(9101, after.Single(s => s.Name == "extra-b").Port);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.DisposeAsync();
    }

    [Fact]
    public async Task AnAudioService_KeepsItsModelNamesAndCap_AndACapPastTheCeilingSaysToSweep()
    {
        var audio = Service();
        audio["kind"] = "parakeet-asr";
        audio["models"] = new JsonArray(new JsonObject { ["name"] = "parakeet-tdt-0.6b-v2", ["aliases"] = new JsonArray("whisper-1") });
        audio["maxInFlight"] = 3;
        var tooMany = JsonNode.Parse(audio.ToJsonString())!.AsObject();
        tooMany["name"] = "other";
        tooMany["maxInFlight"] = 4;
        var badName = JsonNode.Parse(audio.ToJsonString())!.AsObject();
        badName["name"] = "third";
        badName["models"] = new JsonArray(new JsonObject { ["name"] = "whisper-1\n" });

        using var added = await _client.PostAsJsonAsync("/api/services/definitions", audio);
        using var refused = await _client.PostAsJsonAsync("/api/services/definitions", tooMany);
        using var refusedName = await _client.PostAsJsonAsync("/api/services/definitions", badName);
        var written = Assert.Single(ServicesYaml.Read(await File.ReadAllTextAsync(ServicesFile), ServicesFile).Services);

        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        Assert.Equal("parakeet-tdt-0.6b-v2", Assert.Single(written.Models).Name);
        Assert.Equal(["whisper-1"], written.Models[0].Aliases);
        Assert.Equal(3, written.MaxInFlight);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("run a concurrency sweep", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, refusedName.StatusCode);
        Assert.Contains("models", await refusedName.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("parakeet-tdt-0.6b-v2, whisper-1", new[] { "parakeet-tdt-0.6b-v2|whisper-1" })]
    [InlineData("kokoro; tts-2 , tts-3", new[] { "kokoro|", "tts-2|tts-3" })]
    [InlineData("  ", new string[0])]
    [InlineData("a,,b", new[] { "a||b" })]
    public void TheFormsModelNames_AreReadPartByPart(string text, string[] expected)
    {
        var parsed = SparkControl.Web.Model.ServiceForm.ParseModelNames(text);

        Assert.Equal(expected, parsed.Select(m => $"{m.Name}|{string.Join('|', m.Aliases!)}"));
    }
}
