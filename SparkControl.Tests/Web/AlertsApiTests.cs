using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SparkControl.Core.Operations;
using SparkControl.Core.Secrets;
using SparkControl.Core.Services;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Web;

/// <summary>
/// Alerts end to end in the demo: a webhook added through the API, a local receiver, a service stopped for real.
/// </summary>
public sealed class AlertsApiTests : IAsyncLifetime
{
    private const string Secret = "s3cr3t-topic";
    private SparkControlApp _app = null!;
    private HttpClient _client = null!;
    private WebhookReceiver _receiver = null!;

    public async Task InitializeAsync()
    {
        _receiver = await WebhookReceiver.StartAsync();
        _app = await SparkControlApp.StartAsync(new Dictionary<string, string?> { ["Operations:AlertRetryDelay"] = "00:00:00.050" });
        _client = _app.CreateClient();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.DisposeAsync();
        await _receiver.DisposeAsync();
    }

    private Task<HttpResponseMessage> AddAsync(object body) => _client.PostAsJsonAsync("/api/alerts", body);

    private ServiceHealth Embeddings() => _app.Get<HealthMonitor>().Current.Value.Sparks.SelectMany(s => s.Services).Single(s => s.Name == "embeddings");

    private List<JsonElement> Alerts(string state) =>
        [.. _receiver.Requests.Select(r => JsonDocument.Parse(r.Body).RootElement).Where(b => b.GetProperty("key").GetString() == "service-down:demo/embeddings" && b.GetProperty("state").GetString() == state)];

    [Fact]
    public async Task AServiceDown_IsOneAlertAcrossManyHealthTicks_RetriedAfter500_AndOneWhenItIsBack()
    {
        Assert.Equal(HttpStatusCode.Created, (await AddAsync(new { name = "pager", url = _receiver.Url($"/hook?token={Secret}"), kinds = new[] { "service-down" } })).StatusCode);
        await Wait.UntilAsync(() => Embeddings().Status == HealthStatus.Healthy, "embeddings is healthy", TimeSpan.FromSeconds(60));
        _receiver.AnswerNext(HttpStatusCode.InternalServerError);

        (await _client.PostAsync("/api/services/demo/embeddings/stop", null)).EnsureSuccessStatusCode();
        await Wait.UntilAsync(() => Alerts("firing").Count > 0, "the receiver gets the down alert", TimeSpan.FromSeconds(60));
        // Many health checks later, still down: still one alert (its first try answered 500, the retry got it through).
        var firstAlertAt = Embeddings().CheckedAt;
        await Wait.UntilAsync(() => Embeddings().CheckedAt > firstAlertAt.AddSeconds(3) && Embeddings().Status == HealthStatus.Down, "ten more health checks", TimeSpan.FromSeconds(60));
        var whileDown = _receiver.Requests.Select(r => r.Answered).ToList();
        (await _client.PostAsync("/api/services/demo/embeddings/start", null)).EnsureSuccessStatusCode();
        await Wait.UntilAsync(() => Alerts("resolved").Count > 0, "the receiver gets the resolved alert", TimeSpan.FromSeconds(60));
        var list = await _client.GetFromJsonAsync<JsonElement>("/api/alerts");

        Assert.Equal(2, Alerts("firing").Count);
        Assert.Equal([HttpStatusCode.InternalServerError, HttpStatusCode.OK], whileDown);
        Assert.Single(Alerts("resolved"));
        var recent = list.GetProperty("recent").EnumerateArray().ToList();
        Assert.Equal(2, recent.Count);
        Assert.Equal((2, true), (recent[1].GetProperty("attempts").GetInt32(), recent[1].GetProperty("delivered").GetBoolean()));
        Assert.Equal("demo/embeddings is healthy again", recent[0].GetProperty("title").GetString());
    }

    [Fact]
    public async Task TheAddress_IsASecret_NeitherListedNorInAlertsYaml_AndTheTestButtonReachesIt()
    {
        var url = _receiver.Url($"/hook/{Secret}").Replace("http://", $"http://user:{Secret}@", StringComparison.Ordinal);
        var added = await AddAsync(new { name = "ntfy-phone", url, format = "ntfy", diskPercent = 85 });
        var list = await _client.GetStringAsync("/api/alerts");
        var test = await (await _client.PostAsync("/api/alerts/ntfy-phone/test", null)).Content.ReadFromJsonAsync<JsonElement>();
        var file = await File.ReadAllTextAsync(Path.Combine(_app.DataDirectory, AlertSettingsStore.File));

        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        Assert.Equal("/api/alerts/ntfy-phone", added.Headers.Location!.OriginalString);
        Assert.DoesNotContain(Secret, list, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, file, StringComparison.Ordinal);
        Assert.Contains($"\"addressHost\":\"http://127.0.0.1:{_receiver.Port}\"", list, StringComparison.Ordinal);
        Assert.Contains("diskPercent: 85", file, StringComparison.Ordinal);
        Assert.True(test.GetProperty("delivered").GetBoolean());
        var received = Assert.Single(_receiver.Requests);
        Assert.Equal($"/hook/{Secret}", received.Path);
        Assert.Equal("Test alert from Spark Control", received.Headers["Title"]);
    }

    [Theory]
    [InlineData("http://127.0.0.1:9/hook\n")]
    [InlineData("http://127.0.0.1:9/hook s3cr3t")]
    [InlineData("ftp://127.0.0.1/hook")]
    [InlineData("/hook")]
    [InlineData("127.0.0.1:9/hook")]
    [InlineData("file:///etc/passwd")]
    [InlineData("")]
    public async Task ABadAddress_Is400_WithoutRepeatingIt_AndNothingIsSaved(string url)
    {
        var response = await AddAsync(new { name = "bad", url });
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("\"url\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain("/hook", text, StringComparison.Ordinal);
        Assert.Null(_app.Get<SecretStore>().Reveal(AlertTarget.SecretName("bad")));
        Assert.Empty(_app.Get<AlertSettingsStore>().Current.Targets);
    }

    [Theory]
    [InlineData("""{"name":"pager\n","url":"http://127.0.0.1:9/"}""", "name")]
    [InlineData("""{"name":"pager","url":"http://127.0.0.1:9/","format":"teams"}""", "format")]
    [InlineData("""{"name":"pager","url":"http://127.0.0.1:9/","kinds":["service-down","cpu"]}""", "kinds")]
    [InlineData("""{"name":"pager","url":"http://127.0.0.1:9/","kinds":[]}""", "kinds")]
    [InlineData("""{"name":"pager","url":"http://127.0.0.1:9/","diskPercent":101}""", "diskPercent")]
    [InlineData("""{"name":"pager","url":"http://127.0.0.1:9/","memoryPercent":49}""", "memoryPercent")]
    [InlineData("""{"name":"pager","url":"http://127.0.0.1:9/","diskPercent":"abc"}""", "diskPercent")]
    [InlineData("""{"name":"pager","url":"http://127.0.0.1:9/","memoryPercent":97.5}""", "memoryPercent")]
    public async Task BadSettings_Are400NamingTheField(string body, string field)
    {
        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        var response = await _client.PostAsync("/api/alerts", content);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [Fact]
    public async Task Edit_KeepsTheAddressUnlessSent_Twice409_AndDeleteRemovesItsSecret()
    {
        // Only the test alert may reach the receiver: the demo's services can go down and up while it starts.
        await AddAsync(new { name = "pager", url = _receiver.Url("/first"), kinds = new[] { "swap-failed" } });
        var twice = await AddAsync(new { name = "PAGER", url = _receiver.Url("/other") });
        var edited = await _client.PutAsJsonAsync("/api/alerts/pager", new { format = "slack", kinds = new[] { "swap-failed" } });
        await _client.PostAsync("/api/alerts/pager/test", null);
        var renamed = await _client.PutAsJsonAsync("/api/alerts/pager", new { name = "other" });
        var missing = await _client.PutAsJsonAsync("/api/alerts/nobody", new { format = "json" });
        var deleted = await _client.DeleteAsync("/api/alerts/pager");

        Assert.Equal(HttpStatusCode.Conflict, twice.StatusCode);
        Assert.Equal(HttpStatusCode.OK, edited.StatusCode);
        Assert.Equal("/first", Assert.Single(_receiver.Requests).Path);
        Assert.StartsWith("{\"text\":", _receiver.Requests[0].Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, renamed.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Null(_app.Get<SecretStore>().Reveal(AlertTarget.SecretName("pager")));
        Assert.Equal(HttpStatusCode.NotFound, (await _client.PostAsync("/api/alerts/pager/test", null)).StatusCode);
    }
}
