using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SparkControl.Tests.Infrastructure;
using SparkControl.Web.Api;

namespace SparkControl.Tests.Web;

/// <summary>
/// Storage faults as an operator meets them: a data directory (database included) mounted read-only, a disk that
/// fills up, a volume remounted read-only under the running panel. Real mounts (root ignores chmod). The panel keeps
/// serving, every swap runs to its end and frees its Spark, and /healthz says what cannot be saved and why.
/// </summary>
public sealed class StorageFaultTests
{
    private static async Task<JsonElement> SwapToEndAsync(HttpClient client, string model)
    {
        using var response = await client.PostAsJsonAsync("/api/swaps", new { model, spark = "demo" });
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"swap to {model}: {response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        JsonElement swap = default;
        await Wait.UntilAsync(async () => (swap = (await client.GetFromJsonAsync<JsonElement>("/api/swaps/current")).GetProperty("demo")).GetProperty("id").GetString() == id
            && swap.GetProperty("endedAt").ValueKind != JsonValueKind.Null, $"the swap to {model} ends", TimeSpan.FromSeconds(60));
        return swap;
    }

    private static async Task WaitForFirstSwapAsync(HttpClient client) =>
        await Wait.UntilAsync(async () =>
        {
            var current = await client.GetFromJsonAsync<JsonElement>("/api/swaps/current");
            return current.TryGetProperty("demo", out var demo) && demo.GetProperty("phase").GetString() == "ready";
        }, "the demo's first swap is ready", TimeSpan.FromSeconds(60));

    /// <summary>Runs the panel once on <paramref name="directory"/> so it holds a database with history, as a used one does.</summary>
    private static async Task PopulateAsync(string directory)
    {
        await using var app = await SparkControlApp.StartAsync(dataDirectory: directory);
        using var client = app.CreateClient();
        await WaitForFirstSwapAsync(client);
        await SwapToEndAsync(client, "gpt-oss-20b");
        Assert.True(File.Exists(Path.Combine(directory, "sparkcontrol.db")));
    }

    private static async Task<HealthzEndpoints.HealthzResponse> HealthAsync(HttpClient client) =>
        (await client.GetFromJsonAsync<HealthzEndpoints.HealthzResponse>("/healthz", new JsonSerializerOptions(JsonSerializerDefaults.Web)))!;

    [Fact]
    public async Task PopulatedDataDirectoryMountedReadOnly_SwapsRunToTheEndOneAfterAnother_AndHealthzSaysWhy()
    {
        await using var disk = await TmpfsMount.CreateAsync();
        await PopulateAsync(disk.Path);
        await using var readOnly = await disk.ReadOnlyViewAsync();

        await using var app = await SparkControlApp.StartAsync(dataDirectory: readOnly.Path);
        using var client = app.CreateClient();
        await WaitForFirstSwapAsync(client);
        var first = await SwapToEndAsync(client, "gpt-oss-20b");
        var second = await SwapToEndAsync(client, "qwen3-8b");
        var health = await HealthAsync(client);

        Assert.Equal("ready", first.GetProperty("phase").GetString());
        Assert.Equal("ready", second.GetProperty("phase").GetString());
        Assert.Equal("degraded", health.Status);
        Assert.Contains(health.CannotSave, p => p.Reason.Contains("read-only", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FullDisk_SwapsStillEnd_HealthzSaysTheDiskIsFull_AndFreeSpaceClearsIt()
    {
        await using var disk = await TmpfsMount.CreateAsync();
        await PopulateAsync(disk.Path);
        await using var app = await SparkControlApp.StartAsync(dataDirectory: disk.Path);
        using var client = app.CreateClient();
        await WaitForFirstSwapAsync(client);

        var filler = await disk.FillAsync();
        var full = await SwapToEndAsync(client, "gpt-oss-20b");
        // A secret cannot be written either: a clear 503 that names the file, never a 500.
        using var secret = await client.PutAsJsonAsync("/api/secrets/hf-token", new { value = "hf_0123456789abcdefghijklmn" });
        var problem = await secret.Content.ReadFromJsonAsync<JsonElement>();
        HealthzEndpoints.HealthzResponse? health = null;
        await Wait.UntilAsync(async () => (health = await HealthAsync(client)).CannotSave.Any(p => p.Reason == "the disk is full"), "healthz says the disk is full");

        File.Delete(filler);
        var freed = await SwapToEndAsync(client, "qwen3-8b");
        HealthzEndpoints.HealthzResponse? after = null;
        await Wait.UntilAsync(async () => (after = await HealthAsync(client)).CannotSave.All(p => p.What != "the swap history"), "saving swaps works again");

        Assert.Equal("ready", full.GetProperty("phase").GetString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, secret.StatusCode);
        Assert.Contains("secrets.yaml", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("degraded", health!.Status);
        Assert.Equal("ready", freed.GetProperty("phase").GetString());
    }

    [Fact]
    public async Task DataDirectoryTurnsReadOnlyUnderTheRunningPanel_SwapsStillEnd_AndHealthzSaysWhy()
    {
        await using var volume = await Ext4Volume.CreateAsync();
        await using var app = await SparkControlApp.StartAsync(dataDirectory: volume.Path);
        using var client = app.CreateClient();
        await WaitForFirstSwapAsync(client);
        var before = await SwapToEndAsync(client, "gpt-oss-20b");
        Assert.Equal("ok", (await HealthAsync(client)).Status);

        // The disk under the volume fails and the kernel remounts it read-only, with the database open.
        await volume.FailAsync();
        var during = await SwapToEndAsync(client, "qwen3-8b");
        var again = await SwapToEndAsync(client, "gpt-oss-20b");
        HealthzEndpoints.HealthzResponse? health = null;
        await Wait.UntilAsync(async () => (health = await HealthAsync(client)).CannotSave.Any(p => p.What == "the swap history"), "healthz names the swap history");
        using var page = await client.GetAsync("/");
        var saved = await client.GetFromJsonAsync<JsonElement>("/api/swaps/history");

        Assert.Equal(["ready", "ready", "ready"], new[] { before, during, again }.Select(s => s.GetProperty("phase").GetString()));
        Assert.Equal("degraded", health!.Status);
        var history = health.CannotSave.First(p => p.What == "the swap history");
        Assert.Equal(Path.Combine(volume.Path, "sparkcontrol.db"), history.Path);
        Assert.Matches("read-only|I/O error", history.Reason);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        // What was saved before the fault is still there to read.
        Assert.Contains(saved.EnumerateArray(), s => s.GetProperty("id").GetString() == before.GetProperty("id").GetString());
    }

    [Fact]
    public async Task AnUploadThatFillsTheDisk_IsA503ThatSaysSo_LeavesNothingBehind_AndTheNextUploadWorks()
    {
        await using var disk = await TmpfsMount.CreateAsync(sizeMiB: 16);
        await using var app = await SparkControlApp.StartAsync(new Dictionary<string, string?> { ["Demo:InitialModel"] = string.Empty }, disk.Path);
        await TestAudioWorker.WaitHealthyAsync(app, "parakeet-asr");
        using var client = app.CreateClient();

        using var tooBig = await client.PostAsync("/v1/audio/transcriptions", AudioGatewayTests.Form(("model", "whisper-1")).WithFile(TestAudioWorker.SilentWav(600), "long.wav", "audio/wav"));
        var error = await AudioGatewayTests.ErrorAsync(tooBig);
        using var small = await client.PostAsync("/v1/audio/transcriptions", AudioGatewayTests.Form(("model", "whisper-1")).WithFile(TestAudioWorker.SilentWav(0.5), "short.wav", "audio/wav"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, tooBig.StatusCode);
        Assert.Equal("storage_unavailable", error.Code);
        Assert.Contains("the disk is full", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(disk.Path, "spool")));
        Assert.Equal(HttpStatusCode.OK, small.StatusCode);
    }

    [Fact]
    public async Task AReadOnlyDataDirectory_RefusesUploadsWithA503ThatSaysSo()
    {
        await using var disk = await TmpfsMount.CreateAsync();
        await PopulateAsync(disk.Path);
        await using var readOnly = await disk.ReadOnlyViewAsync();
        await using var app = await SparkControlApp.StartAsync(new Dictionary<string, string?> { ["Demo:InitialModel"] = string.Empty }, readOnly.Path);
        await TestAudioWorker.WaitHealthyAsync(app, "parakeet-asr");
        using var client = app.CreateClient();

        using var upload = await client.PostAsync("/v1/audio/transcriptions", AudioGatewayTests.Form(("model", "whisper-1")).WithFile(TestAudioWorker.SilentWav(0.5), "short.wav", "audio/wav"));
        var error = await AudioGatewayTests.ErrorAsync(upload);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, upload.StatusCode);
        Assert.Equal("storage_unavailable", error.Code);
        Assert.Contains("read-only", error.Message, StringComparison.Ordinal);
    }
}
