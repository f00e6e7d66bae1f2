using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using SparkControl.Core.Diagnostics;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Web;

/// <summary>
/// What a script gets back when it sends the wrong thing: problem details in the panel's words that name the field and
/// what to send, never the framework's words or an internal type name.
/// </summary>
public sealed class ApiErrorsTests : IAsyncLifetime
{
    private SparkControlApp _app = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _app = await SparkControlApp.StartAsync();
        _client = _app.CreateClient();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.DisposeAsync();
    }

    private async Task<(HttpStatusCode Status, string? MediaType, JsonElement Problem, string Raw)> SendAsync(string method, string path, string? body, string? contentType)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
            if (contentType is not null)
            {
                request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
            }
        }

        using var response = await _client.SendAsync(request);
        var raw = await response.Content.ReadAsStringAsync();
        var problem = raw.Length > 0 && response.Content.Headers.ContentType?.MediaType is "application/problem+json" ? JsonDocument.Parse(raw).RootElement.Clone() : default;
        return (response.StatusCode, response.Content.Headers.ContentType?.MediaType, problem, raw);
    }

    private static void AssertForPeople(string raw)
    {
        Assert.DoesNotContain("SparkControl.", raw, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", raw, StringComparison.Ordinal);
        Assert.DoesNotContain("Implicit body", raw, StringComparison.Ordinal);
        Assert.DoesNotContain("LineNumber", raw, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET", "/api/swaps/history?limit=5%0A", "limit", "5\\u000a")]
    [InlineData("GET", "/api/swaps/history?limit=%095", "limit", "\\u00095")]
    [InlineData("GET", "/api/swaps/history?model=qwen3-8b%0D%0A", "model", "qwen3-8b\\u000d\\u000a")]
    [InlineData("GET", "/api/services/demo/parakeet-asr/logs?tail=10%0A", "tail", "10\\u000a")]
    [InlineData("GET", "/api/audio/sweeps/1%0A", "id", "1\\u000a")]
    [InlineData("POST", "/api/audio/sweeps/1%0A/cancel", "id", "1\\u000a")]
    public async Task AControlCharacterInAQueryOrRouteValue_Is400NamingIt_WhereTheFrameworkWouldHaveReadAroundIt(string method, string path, string field, string shown)
    {
        var (status, mediaType, problem, raw) = await SendAsync(method, path, null, null);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("application/problem+json", mediaType);
        var message = problem.GetProperty("errors").GetProperty(field)[0].GetString()!;
        Assert.StartsWith($"{field} '{shown}': a ", message, StringComparison.Ordinal);
        Assert.EndsWith("may not hold a control character (a line break, tab or the like)", message, StringComparison.Ordinal);
        AssertForPeople(raw);
    }

    [Theory]
    [InlineData("/api/swaps/history?limit=5")]
    [InlineData("/api/swaps/history?limit=%205%20")]
    [InlineData("/v1/models?x=%0A")]
    [InlineData("/api/swaps/history?model=qwen3-8b")]
    [InlineData("/api/services/demo/parakeet-asr/logs?tail=10")]
    public async Task TheSameValuesWithoutAControlCharacter_AndQueriesOutsideTheApi_AreAnswered(string path)
    {
        var (status, _, _, raw) = await SendAsync("GET", path, null, null);

        Assert.True(status == HttpStatusCode.OK, $"{path}: {(int)status} {raw}");
    }

    [Theory]
    [InlineData("POST", "/api/models", "kind")]
    [InlineData("POST", "/api/sparks", "host")]
    [InlineData("POST", "/api/swaps", "model")]
    [InlineData("PUT", "/api/models/qwen3-30b-a3b/idle", "idleUnloadAfterSeconds")]
    public async Task AnEmptyBody_Is400AskingForAJsonBodyWithItsFields(string method, string path, string field)
    {
        var (status, mediaType, problem, raw) = await SendAsync(method, path, "", "application/json");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("application/problem+json", mediaType);
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.StartsWith("Send a JSON body with ", detail, StringComparison.Ordinal);
        Assert.Contains($"\"{field}\"", detail, StringComparison.Ordinal);
        AssertForPeople(raw);
    }

    [Theory]
    [InlineData("POST", "/api/sparks", """{"name":"lab","host":"10.0.0.9","user":"me","port":"twenty-two"}""", "port", "expected a number")]
    [InlineData("POST", "/api/services/definitions", """{"spark":"spark-demo","name":"x","kind":"generic","port":true}""", "port", "expected a number")]
    [InlineData("POST", "/api/swaps", """{"model":"qwen3-30b-a3b","stopServices":"all"}""", "stopServices", "expected an array of strings")]
    [InlineData("PUT", "/api/models/qwen3-30b-a3b/idle", """{"idleUnloadAfterSeconds":"soon"}""", "idleUnloadAfterSeconds", "expected a number")]
    [InlineData("POST", "/api/models", """{"kind":"hf","repo":42}""", "repo", "expected a string")]
    public async Task AValueOfTheWrongType_Is400NamingItsJsonPathAndWhatToSend(string method, string path, string body, string field, string expected)
    {
        var (status, mediaType, problem, raw) = await SendAsync(method, path, body, "application/json");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("application/problem+json", mediaType);
        Assert.Contains($"$.{field}: {expected}", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(expected, problem.GetProperty("errors").GetProperty(field)[0].GetString()![..expected.Length]);
        AssertForPeople(raw);
    }

    [Theory]
    [InlineData("/api/models", "[1, 2]")]
    [InlineData("/api/sparks", "\"lab\"")]
    public async Task ABodyThatIsNotAnObject_Is400AskingForAnObject(string path, string body)
    {
        var (status, mediaType, problem, raw) = await SendAsync("POST", path, body, "application/json");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("application/problem+json", mediaType);
        Assert.Contains("$: expected a JSON object", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        AssertForPeople(raw);
    }

    [Theory]
    [InlineData("POST", "/api/models", null)]
    [InlineData("POST", "/api/sparks", "text/plain")]
    [InlineData("PUT", "/api/models/qwen3-30b-a3b/idle", "application/x-www-form-urlencoded")]
    public async Task AMissingOrWrongContentType_Is415SayingWhatToSend(string method, string path, string? contentType)
    {
        var (status, mediaType, problem, raw) = await SendAsync(method, path, """{"kind":"hf"}""", contentType);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, status);
        Assert.Equal("application/problem+json", mediaType);
        Assert.True(problem.TryGetProperty("detail", out var detail), raw);
        Assert.Contains("Send Content-Type: application/json", detail.GetString(), StringComparison.Ordinal);
        AssertForPeople(raw);
    }

    [Fact]
    public async Task BrokenJson_Is400NamingWhereItBroke()
    {
        var (status, _, problem, raw) = await SendAsync("POST", "/api/models", """{"kind": hf}""", "application/json");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("$.kind", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        AssertForPeople(raw);
    }

    [Fact]
    public async Task Metrics_NameTheServiceSparkControl()
    {
        var metrics = await _client.GetStringAsync("/metrics");

        var targetInfo = metrics.Split('\n').SingleOrDefault(l => l.StartsWith("target_info{", StringComparison.Ordinal));
        Assert.NotNull(targetInfo);
        Assert.Contains("service_name=\"spark-control\"", targetInfo, StringComparison.Ordinal);
        Assert.Contains("service_version=\"", targetInfo, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_CarryTheRuntimesMemoryAndThreads()
    {
        var metrics = await _client.GetStringAsync("/metrics");

        // What a long run's growth shows in: the process's memory, the managed heap, the thread pool.
        Assert.Contains("\ndotnet_process_memory_working_set_bytes", metrics, StringComparison.Ordinal);
        Assert.Contains("\ndotnet_gc_last_collection_heap_size_bytes{", metrics, StringComparison.Ordinal);
        Assert.Contains("\ndotnet_thread_pool_thread_count_total", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_CarryThisPanelsOwnFigures_NotThoseOfAnotherPanelInTheSameProcess()
    {
        using var otherData = new TempDirectory("sc-data");
        await using var other = await SparkControlApp.StartAsync(new Dictionary<string, string?>(), otherData.Path);
        other.Get<SparkControlMetrics>().RecordAudioRequest("demo", "recorded-by-the-other-panel", 1);
        _app.Get<SparkControlMetrics>().RecordAudioRequest("demo", "recorded-by-this-panel", 1);

        var metrics = await _client.GetStringAsync("/metrics");

        // The same meter name in two hosts: a listener that went by the name alone would add the other's requests here.
        Assert.Contains("service=\"recorded-by-this-panel\"", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("recorded-by-the-other-panel", metrics, StringComparison.Ordinal);
    }
}
