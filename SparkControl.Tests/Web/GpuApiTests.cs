using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SparkControl.Tests.Infrastructure;
using SparkControl.Web.Api;
using Xunit.Abstractions;

namespace SparkControl.Tests.Web;

public sealed class GpuApiTests(ITestOutputHelper output)
{
    private const double ReplaySpeed = 3;

    private static Dictionary<string, string?> Replay(string run) => new()
    {
        ["Demo:GpuReplay"] = GpuFixtures.Path($"timeline-{run}.csv"),
        ["Demo:GpuReplaySpeed"] = ReplaySpeed.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Demo:GpuReplayFields"] = string.Join(',', GpuFixtures.FieldsOf(run)),
        ["SparkControl:Gpu:FlushInterval"] = "00:00:01",
    };

    private static async Task<GpuEndpoints.LedgerView> LedgerAsync(HttpClient client, string query = "") =>
        (await client.GetFromJsonAsync<GpuEndpoints.LedgerView>($"/api/gpu/ledger{query}", Json))!;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };

    private static double Total(GpuEndpoints.LedgerRowView r) => r.BusySeconds + r.LoadedIdleSeconds + r.LoadingSeconds + r.NoModelSeconds + r.UnknownSeconds;

    /// <summary>Waits until the demo Spark's ledger covers the whole replay (the Sim then goes on with idle samples).</summary>
    private static async Task<GpuEndpoints.LedgerView> AfterReplayAsync(HttpClient client, string run, string query = "")
    {
        var samples = GpuFixtures.Timeline(run);
        var duration = (samples[^1].Timestamp - samples[0].Timestamp).TotalSeconds / ReplaySpeed;
        GpuEndpoints.LedgerView? ledger = null;
        await Wait.UntilAsync(async () =>
        {
            ledger = await LedgerAsync(client, query);
            return ledger.Rows.Where(r => r.Spark == "demo").Sum(Total) > duration + 0.5;
        }, "the ledger covers the replay", TimeSpan.FromSeconds(60));
        return ledger!;
    }

    [Theory]
    [InlineData("solid")]
    [InlineData("duty")]
    public async Task Ledger_DemoReplayOfH100Timeline_MatchesTheTruthWithinTenPercent(string run)
    {
        await using var app = await SparkControlApp.StartAsync(Replay(run));
        using var client = app.CreateClient();

        var bySpark = await AfterReplayAsync(client, run);
        var byModel = await LedgerAsync(client, "?by=model");

        var truth = GpuFixtures.TruthBusySeconds(run) / ReplaySpeed;
        var busy = Assert.Single(bySpark.Rows).BusySeconds;
        var model = byModel.Rows.Single(r => r.Model == "qwen3-8b").BusySeconds;
        output.WriteLine($"{run} at {ReplaySpeed}x: API busy {busy:0.000} s ({model:0.000} s on qwen3-8b), truth {truth:0.000} s, error {(busy - truth) / truth:+0.0%;-0.0%}");
        Assert.Equal("spark", bySpark.By);
        Assert.Null(bySpark.Rows[0].Model);
        Assert.InRange(busy, truth * 0.9, truth * 1.1);
        // The model was loaded before the replay's first busy second, so the busy time is the model's.
        Assert.InRange(model, truth * 0.9, truth * 1.1);
    }

    [Fact]
    public async Task Ledger_JsonShape_IsTheIssuesAndCsvCarriesTheSameRows()
    {
        await using var app = await SparkControlApp.StartAsync(Replay("solid"));
        using var client = app.CreateClient();
        var ledger = await AfterReplayAsync(client, "solid");
        var from = ledger.From.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        var to = DateTimeOffset.UtcNow.AddMinutes(1).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

        using var raw = JsonDocument.Parse(await client.GetStringAsync($"/api/gpu/ledger?from={from}&to={to}"));
        var csvResponse = await client.GetAsync($"/api/gpu/ledger?from={from}&to={to}&format=csv");
        var json = await LedgerAsync(client, $"?from={from}&to={to}");

        Assert.Equal(["from", "to", "by", "rows"], raw.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(["spark", "model", "busySeconds", "loadedIdleSeconds", "loadingSeconds", "noModelSeconds", "unknownSeconds"],
            raw.RootElement.GetProperty("rows")[0].EnumerateObject().Select(p => p.Name));
        Assert.Equal("text/csv", csvResponse.Content.Headers.ContentType!.MediaType);
        Assert.EndsWith(".csv", csvResponse.Content.Headers.ContentDisposition!.FileNameStar ?? csvResponse.Content.Headers.ContentDisposition.FileName, StringComparison.Ordinal);
        var lines = (await csvResponse.Content.ReadAsStringAsync()).TrimEnd('\n').Split('\n');
        Assert.Equal("spark,model,busySeconds,loadedIdleSeconds,loadingSeconds,noModelSeconds,unknownSeconds", lines[0]);
        var row = json.Rows[0];
        Assert.StartsWith($"demo,,{row.BusySeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)},", lines[1], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("?from=yesterday", "from")]
    [InlineData("?to=2026-11-26 10:00", "to")]
    [InlineData("?by=gpu", "by")]
    [InlineData("?format=xml", "format")]
    [InlineData("?from=2026-11-26T10:00:00Z&to=2026-11-26T09:00:00Z", "to")]
    public async Task Ledger_InvalidQuery_Is400NamingTheField(string query, string field)
    {
        await using var app = await SparkControlApp.StartAsync();
        using var client = app.CreateClient();

        var response = await client.GetAsync($"/api/gpu/ledger{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal([field], problem.RootElement.GetProperty("errors").EnumerateObject().Select(e => e.Name));
    }

    [Fact]
    public async Task Gpu_Current_HasTheLatestSampleAndUnifiedMemoryFromMeminfo()
    {
        await using var app = await SparkControlApp.StartAsync();
        using var client = app.CreateClient();
        GpuEndpoints.GpuView? gpu = null;

        await Wait.UntilAsync(async () =>
        {
            gpu = await client.GetFromJsonAsync<GpuEndpoints.GpuView>("/api/gpu", Json);
            return gpu!.Sparks is [{ Sample: not null, Memory: not null, State: SparkControl.Core.Gpu.ModelActivityState.Loaded }];
        }, "the demo GPU reports a sample, memory and its model");

        var demo = gpu!.Sparks[0];
        Assert.Equal("demo", demo.Spark);
        Assert.Equal("qwen3-8b", demo.Model);
        // GB10-like: nvidia-smi has no memory figures; /proc/meminfo has them.
        Assert.Null(demo.Sample!.MemoryUsedMiB);
        Assert.Equal(127_600_748L * 1024, demo.Memory!.TotalBytes);
        Assert.Equal(demo.Memory.TotalBytes - demo.Memory.AvailableBytes, demo.Memory.UsedBytes);
    }

    [Fact]
    public async Task Ledger_AppRestartedOnTheSameDataDirectory_IsStillThere()
    {
        using var data = new TempDirectory("sc-ledger");
        var settings = Replay("solid");
        // Only the flush at shutdown can have written the ledger before the restart.
        settings["SparkControl:Gpu:FlushInterval"] = "01:00:00";
        GpuEndpoints.LedgerView before;
        await using (var app = await SparkControlApp.StartAsync(settings, data.Path))
        {
            using var client = app.CreateClient();
            before = await AfterReplayAsync(client, "solid", "?by=model");
        }

        settings.Remove("Demo:GpuReplay");
        await using var restarted = await SparkControlApp.StartAsync(settings, data.Path);
        using var again = restarted.CreateClient();
        var after = await LedgerAsync(again, "?by=model");

        Assert.True(File.Exists(Path.Combine(data.Path, "sparkcontrol.db")));
        foreach (var row in before.Rows)
        {
            var kept = after.Rows.Single(r => r.Spark == row.Spark && r.Model == row.Model);
            Assert.True(kept.BusySeconds >= row.BusySeconds - 0.001, $"{row.Model}: busy {kept.BusySeconds} after the restart, {row.BusySeconds} before");
            Assert.True(Total(kept) >= Total(row) - 0.001);
        }

        Assert.True(after.Rows.Sum(r => r.BusySeconds) > 1);
    }

    [Fact]
    public async Task Metrics_PrometheusText_PassesPromtool()
    {
        await using var app = await SparkControlApp.StartAsync(Replay("duty"));
        using var client = app.CreateClient();
        await AfterReplayAsync(client, "duty");
        var response = await client.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();

        var check = await ProcessRunner.RunAsync(Tools.Promtool, ["check", "metrics"], TimeSpan.FromSeconds(30), stdin: text);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType!.MediaType);
        Assert.True(check.ExitCode == 0, $"promtool: {check.Stdout}{check.Stderr}");
        Assert.Contains("sparkcontrol_gpu_ledger_seconds_total{", text, StringComparison.Ordinal);
        Assert.Contains("state=\"busy\"", text, StringComparison.Ordinal);
        Assert.Contains("sparkcontrol_gpu_utilization_percent{", text, StringComparison.Ordinal);
        Assert.Contains("sparkcontrol_gpu_busy_ratio{", text, StringComparison.Ordinal);
        Assert.Contains("sparkcontrol_memory_used_bytes{", text, StringComparison.Ordinal);
        Assert.Contains("sparkcontrol_health_probes_total{", text, StringComparison.Ordinal);
    }
}
