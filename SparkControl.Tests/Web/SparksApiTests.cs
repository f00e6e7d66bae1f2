using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SparkControl.Core.Secrets;
using SparkControl.Core.Sparks;
using SparkControl.Tests.Infrastructure;
using SparkControl.Tests.Shell;

namespace SparkControl.Tests.Web;

public sealed class SparksApiTests : IAsyncLifetime
{
    private readonly LogCollector _logs = new();
    private SparkControlApp _app = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _app = await SparkControlApp.StartAsync(configureServices: s => s.AddSingleton<ILoggerProvider>(_logs));
        _client = _app.CreateClient();
    }

    private string KeyPath => Path.Combine(_app.DataDirectory, "ssh-keys", "id_ed25519");

    private object Spark(string name = "spark-1", string host = "127.0.0.1", int port = 1, string[]? roots = null) => new
    {
        name,
        host,
        port,
        user = "nvidia",
        keyPath = KeyPath,
        role = "head",
        modelRoots = roots ?? ["/home/nvidia/models"],
        launchCluster = new { script = "/home/nvidia/spark-vllm-docker/launch-cluster.sh", nodes = new[] { "10.0.0.1", "10.0.0.2" } },
    };

    private string SparksFile => Path.Combine(_app.DataDirectory, SparksYaml.FileName);

    [Fact]
    public async Task Add_Valid_Is201AndWrittenToSparksYaml()
    {
        var response = await _client.PostAsJsonAsync("/api/sparks", Spark());
        var listed = await _client.GetFromJsonAsync<JsonElement>("/api/sparks");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("/api/sparks/spark-1", response.Headers.Location!.ToString());
        Assert.Equal("spark-1", listed[0].GetProperty("name").GetString());
        Assert.Equal("head", listed[0].GetProperty("role").GetString());
        var (sparks, problems) = SparksYaml.Read(await File.ReadAllTextAsync(SparksFile), SparksFile);
        Assert.Empty(problems);
        Assert.Equal(["10.0.0.1", "10.0.0.2"], sparks.Single().LaunchCluster!.Nodes);
    }

    [Fact]
    public async Task Add_BadFields_Is400NamingEachFieldAndChangesNothing()
    {
        var response = await _client.PostAsJsonAsync("/api/sparks", Spark(name: "bad name", host: "evil;host", roots: ["relative/path", "/ok/../escape"]));
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty("name", out _));
        Assert.True(errors.TryGetProperty("host", out _));
        Assert.Contains("must be absolute", errors.GetProperty("modelRoots")[0].GetString(), StringComparison.Ordinal);
        Assert.False(File.Exists(SparksFile));
    }

    [Fact]
    public async Task Add_NotJson_Is400WithAReadableMessage()
    {
        using var content = new StringContent("{ not json", System.Text.Encoding.UTF8, "application/json");

        var response = await _client.PostAsync("/api/sparks", content);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("not valid JSON", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Add_HostileInputs_AreAll400AndNothingIsWritten()
    {
        foreach (var hostile in HostileInputs.All.Where((_, i) => i % 3 == 0))
        {
            var response = await _client.PostAsJsonAsync("/api/sparks", Spark(name: hostile, host: hostile, roots: ["/models/" + hostile]));
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{SparkControl.Core.Validation.Validators.Printable(hostile)} got {response.StatusCode}");
        }

        Assert.False(File.Exists(SparksFile));
    }

    /// <summary>
    /// One field at a time: with every field hostile at once, a field that accepts a hostile value hides behind the
    /// others' errors. Each field must refuse each value on its own, and name itself.
    /// </summary>
    [Fact]
    public async Task Add_HostileInputInAnyOneField_Is400NamingThatField()
    {
        string[] fields = ["name", "host", "user", "keyPath", "role", "hfCachePath", "modelRoots", "pathPrefix", "gpus", "networkMode", "vllmImage", "extraMounts",
            "launchCluster.script", "launchCluster.nodes", "launchCluster.containerName", "launchCluster.image"];
        var hostile = HostileInputs.All.Where((h, i) => h.Length > 0 && (i % 4 == 0 || HostileInputs.ValidValues.Any(v => h.StartsWith(v, StringComparison.Ordinal) && h.Length - v.Length <= 2))).ToList();
        foreach (var field in fields)
        {
            foreach (var value in hostile)
            {
                var body = System.Text.Json.Nodes.JsonNode.Parse(JsonSerializer.Serialize(Spark()))!.AsObject();
                body["extraMounts"] = new System.Text.Json.Nodes.JsonArray();
                body["pathPrefix"] = new System.Text.Json.Nodes.JsonArray();
                var (parent, key) = field.Split('.') is [var outer, var inner] ? (body[outer]!.AsObject(), inner) : (body, field);
                parent[key] = key is "modelRoots" or "pathPrefix" or "extraMounts" or "nodes" ? new System.Text.Json.Nodes.JsonArray(value) : value;

                using var response = await _client.PostAsJsonAsync("/api/sparks", body);
                var problem = response.StatusCode == HttpStatusCode.BadRequest ? await response.Content.ReadFromJsonAsync<JsonElement>() : default;
                Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{field} = {SparkControl.Core.Validation.Validators.Printable(value)} got {response.StatusCode}");
                Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"{field} = {SparkControl.Core.Validation.Validators.Printable(value)}: {problem}");
            }
        }

        Assert.False(File.Exists(SparksFile));
    }

    [Fact]
    public async Task AddTwice_Is409_UpdateAndDeleteWork()
    {
        await _client.PostAsJsonAsync("/api/sparks", Spark());

        var duplicate = await _client.PostAsJsonAsync("/api/sparks", Spark());
        var updated = await _client.PutAsJsonAsync("/api/sparks/spark-1", Spark(port: 2222));
        var missing = await _client.PutAsJsonAsync("/api/sparks/nope", Spark(name: "nope"));
        var deleted = await _client.DeleteAsync("/api/sparks/spark-1");
        var deletedAgain = await _client.DeleteAsync("/api/sparks/spark-1");

        Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        Assert.Equal(2222, (await updated.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("port").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, deletedAgain.StatusCode);
        Assert.Empty(SparksYaml.Read(await File.ReadAllTextAsync(SparksFile), SparksFile).Sparks);
    }

    [Fact]
    public async Task HandEdit_OfSparksYaml_IsTheBaseOfTheNextChange_NotOverwrittenFromMemory()
    {
        await _client.PostAsJsonAsync("/api/sparks", Spark());
        var (sparks, _) = SparksYaml.Read(await File.ReadAllTextAsync(SparksFile), SparksFile);
        await File.WriteAllTextAsync(SparksFile, SparksYaml.Write([.. sparks, sparks[0] with { Name = "spark-2", Host = "10.0.0.2" }]));

        using var updated = await _client.PutAsJsonAsync("/api/sparks/spark-1", Spark(port: 2222));

        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        var (after, problems) = SparksYaml.Read(await File.ReadAllTextAsync(SparksFile), SparksFile);
        Assert.Empty(problems);
        Assert.Equal([("spark-1", 2222), ("spark-2", 1)], after.Select(s => (s.Name, s.Port)));
        Assert.Equal(["spark-1", "spark-2"], (await _client.GetFromJsonAsync<JsonElement>("/api/sparks")).EnumerateArray().Select(s => s.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task IfMatch_ChangesOnlyTheVersionItNames_412OtherwiseWithTheCurrentOne()
    {
        using var added = await _client.PostAsJsonAsync("/api/sparks", Spark());
        var first = added.Headers.ETag!.Tag;
        using var read = await _client.GetAsync("/api/sparks/spark-1");
        Assert.Equal(first, read.Headers.ETag!.Tag);
        Assert.Equal(first, $"\"{(await read.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("version").GetString()}\"");

        using var current = await SendAsync(HttpMethod.Put, "/api/sparks/spark-1", first, Spark(port: 2222));
        var second = current.Headers.ETag!.Tag;
        using var stale = await SendAsync(HttpMethod.Put, "/api/sparks/spark-1", first, Spark(port: 3333));
        using var staleDelete = await SendAsync(HttpMethod.Delete, "/api/sparks/spark-1", first);
        using var weak = await SendAsync(HttpMethod.Put, "/api/sparks/spark-1", $"W/{second}", Spark(port: 2223));

        Assert.Equal(HttpStatusCode.OK, current.StatusCode);
        Assert.NotEqual(first, second);
        Assert.Equal(HttpStatusCode.PreconditionFailed, stale.StatusCode);
        Assert.Equal(second, $"\"{(await stale.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("currentVersion").GetString()}\"");
        Assert.Equal(HttpStatusCode.PreconditionFailed, staleDelete.StatusCode);
        Assert.Equal(HttpStatusCode.OK, weak.StatusCode);

        // A hand edit of the same Spark makes the version a client holds stale too.
        var third = weak.Headers.ETag!.Tag;
        await File.WriteAllTextAsync(SparksFile, (await File.ReadAllTextAsync(SparksFile)).Replace("2223", "2224", StringComparison.Ordinal));
        using var afterHandEdit = await SendAsync(HttpMethod.Delete, "/api/sparks/spark-1", third);
        Assert.Equal(HttpStatusCode.PreconditionFailed, afterHandEdit.StatusCode);
        Assert.Equal(2224, SparksYaml.Read(await File.ReadAllTextAsync(SparksFile), SparksFile).Sparks.Single().Port);
        using var withoutIfMatch = await _client.DeleteAsync("/api/sparks/spark-1");
        Assert.Equal(HttpStatusCode.NoContent, withoutIfMatch.StatusCode);
    }

    [Fact]
    public async Task EditOrRemove_WhileWorkRunsOnTheSpark_Is409NamingIt_AndChangesNothing()
    {
        await _client.PostAsJsonAsync("/api/sparks", Spark());
        var before = await File.ReadAllTextAsync(SparksFile);

        using (_app.Get<SparkWork>().Begin(["spark-1"], "apt-get upgrade"))
        {
            using var edit = await _client.PutAsJsonAsync("/api/sparks/spark-1", Spark(port: 2222));
            using var remove = await _client.DeleteAsync("/api/sparks/spark-1");

            foreach (var response in new[] { edit, remove })
            {
                Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
                Assert.Contains("spark-1 cannot be changed or removed while apt-get upgrade runs on it", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);
            }

            Assert.Equal(before, await File.ReadAllTextAsync(SparksFile));
        }

        using var afterwards = await _client.DeleteAsync("/api/sparks/spark-1");
        Assert.Equal(HttpStatusCode.NoContent, afterwards.StatusCode);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string ifMatch, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        return await _client.SendAsync(request);
    }

    [Fact]
    public async Task Add_FirstRealSpark_ReplacesTheDemoInTheFleet()
    {
        var fleet = _app.Get<SparkFleet>();
        Assert.True(fleet.Current.IsDemo);

        await _client.PostAsJsonAsync("/api/sparks", Spark());
        await Wait.UntilAsync(() => !fleet.Current.IsDemo, "the fleet follows sparks.yaml");

        Assert.Equal(["spark-1"], fleet.Current.Sparks.Select(s => s.Name));
        Assert.False(fleet.Current.Sparks[0].IsSimulated);
    }

    [Fact]
    public async Task ApproveHostKey_NothingPending_Is404WithWhatToDo()
    {
        await _client.PostAsJsonAsync("/api/sparks", Spark());

        var response = await _client.PostAsJsonAsync("/api/sparks/spark-1/host-key/approve", new { fingerprint = "SHA256:abc" });
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("Test the connection first", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Test_DemoSpark_Answers()
    {
        var result = await (await _client.PostAsync("/api/sparks/demo/test", null)).Content.ReadFromJsonAsync<JsonElement>();

        Assert.True(result.GetProperty("ok").GetBoolean());
        Assert.Equal("aarch64", result.GetProperty("facts").GetProperty("architecture").GetString());
    }

    [Fact]
    public async Task Secrets_AreWriteOnlyMode0600AndNeverLogged()
    {
        var token = $"hf_{Guid.NewGuid():N}";

        var put = await _client.PutAsJsonAsync("/api/secrets/hf-token", new { value = token });
        var listing = await _client.GetStringAsync("/api/secrets");
        var badName = await _client.PutAsJsonAsync("/api/secrets/aws-key", new { value = "x" });
        var badValue = await _client.PutAsJsonAsync("/api/secrets/ngc-api-key", new { value = "line1\nline2" });

        Assert.Equal(HttpStatusCode.NoContent, put.StatusCode);
        Assert.Contains("\"name\":\"hf-token\",\"isSet\":true", listing, StringComparison.Ordinal);
        Assert.DoesNotContain(token, listing, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, badName.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badValue.StatusCode);
        var file = Path.Combine(_app.DataDirectory, SecretStore.FileName);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.Equal(token, _app.Get<SecretStore>().Reveal(SecretStore.HfToken));
        Assert.DoesNotContain(_logs.Messages, m => m.Contains(token, StringComparison.Ordinal));
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.DisposeAsync();
    }
}

public sealed class ReadOnlyDataApiTests
{
    [Fact]
    public async Task Writes_OnAReadOnlyDataDirectory_Are503NamingThePath()
    {
        await using var readOnly = await TmpfsMount.CreateReadOnlyAsync();
        await using var app = await SparkControlApp.StartAsync(dataDirectory: readOnly.Path);
        using var client = app.CreateClient();

        var spark = await client.PostAsJsonAsync("/api/sparks", new { name = "spark-1", host = "10.0.0.5", user = "nvidia", keyPath = Path.Combine(readOnly.Path, "ssh-keys", "k") });
        var secret = await client.PutAsJsonAsync("/api/secrets/hf-token", new { value = "hf_x" });
        var problem = await spark.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, spark.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, secret.StatusCode);
        Assert.Equal(Path.Combine(readOnly.Path, SparksYaml.FileName), problem.GetProperty("path").GetString());
        Assert.Contains("read-only", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
