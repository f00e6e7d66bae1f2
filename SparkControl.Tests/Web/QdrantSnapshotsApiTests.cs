using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using SparkControl.Core.Vectors;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Web;

/// <summary>The snapshot API on the demo's Qdrant: snapshot now, the run list, the panel's copy, schedule and restore.</summary>
public sealed class QdrantSnapshotsApiTests
{
    private const string Snapshots = "/api/qdrant/demo/qdrant/snapshots";

    [Fact]
    public async Task SnapshotNow_IsListedKept_DownloadsWithQdrantsChecksum_AndRestoresOnlyWhenConfirmed()
    {
        await using var app = await SparkControlApp.StartAsync(new Dictionary<string, string?> { ["Demo:InitialModel"] = string.Empty });
        await TestQdrant.WaitForDemoAsync(app);
        using var client = app.CreateClient();
        await app.Get<VectorSearch>().AddDocumentsAsync("notes", new DocumentsRequest([new DocumentInput("Backups run at three.", "ops.md"), new DocumentInput("Restores need a confirmation.", "ops.md")]), CancellationToken.None);

        using var started = await client.PostAsJsonAsync(Snapshots, new { scope = "notes" });
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>())[0].GetProperty("id").GetInt64();
        JsonElement run = default;
        await Wait.UntilAsync(async () => (run = (await client.GetFromJsonAsync<JsonElement>(Snapshots)).GetProperty("runs")[0]).GetProperty("status").GetString() != "running", "the snapshot ends");
        Assert.True(run.GetProperty("status").GetString() == "done", run.GetRawText());
        var file = await client.GetByteArrayAsync($"{Snapshots}/{id}/file");
        using var unconfirmed = await client.PostAsJsonAsync($"{Snapshots}/{id}/restore", new { });
        await app.Get<QdrantConnections>().For(app.Get<QdrantConnections>().Resolve("demo/qdrant")).Client.DeleteCollectionAsync("notes");
        using var restored = await client.PostAsJsonAsync($"{Snapshots}/{id}/restore", new { confirm = true });
        var info = await client.GetFromJsonAsync<JsonElement>("/api/qdrant/demo/qdrant/collections/notes");
        using var badSchedule = await client.PutAsJsonAsync($"{Snapshots}/schedule", new { enabled = true, cron = "61 * * * *\n", keepLast = 0 });
        using var schedule = await client.PutAsJsonAsync($"{Snapshots}/schedule", new { enabled = true, cron = "0 3 * * *", scope = "each", keepLast = 5, keepDays = 7 });
        // The scheduler takes the saved schedule on its next turn.
        JsonElement listed = default;
        await Wait.UntilAsync(async () => (listed = await client.GetFromJsonAsync<JsonElement>(Snapshots)).GetProperty("nextRunAt").ValueKind != JsonValueKind.Null, "the scheduler sets the next slot");

        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        Assert.Equal(Snapshots, started.Headers.Location?.OriginalString);
        Assert.Equal(("done", "notes", "anonymous"), (run.GetProperty("status").GetString(), run.GetProperty("collection").GetString(), run.GetProperty("trigger").GetString()));
        Assert.Equal(run.GetProperty("checksum").GetString(), Convert.ToHexStringLower(SHA256.HashData(file)));
        Assert.Equal(HttpStatusCode.BadRequest, unconfirmed.StatusCode);
        Assert.True((await unconfirmed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("confirm", out _));
        Assert.Equal(HttpStatusCode.NoContent, restored.StatusCode);
        Assert.Equal(2, info.GetProperty("points").GetInt32());
        Assert.Equal(HttpStatusCode.BadRequest, badSchedule.StatusCode);
        var errors = (await badSchedule.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("cron", out _) && errors.TryGetProperty("keepLast", out _));
        Assert.Equal(HttpStatusCode.OK, schedule.StatusCode);
        Assert.Equal("0 3 * * *", listed.GetProperty("schedule").GetProperty("cron").GetString());
        var next = listed.GetProperty("nextRunAt").GetDateTimeOffset();
        Assert.Equal((3, 0), (next.UtcDateTime.Hour, next.UtcDateTime.Minute));
    }

    [Fact]
    public async Task AFullSnapshot_IsKeptButNotRestoredFromThePanel_AndUnknownRunsAre404()
    {
        await using var app = await SparkControlApp.StartAsync(new Dictionary<string, string?> { ["Demo:InitialModel"] = string.Empty });
        await TestQdrant.WaitForDemoAsync(app);
        using var client = app.CreateClient();

        using var started = await client.PostAsJsonAsync(Snapshots, new { scope = "full" });
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>())[0].GetProperty("id").GetInt64();
        await Wait.UntilAsync(async () => (await client.GetFromJsonAsync<JsonElement>(Snapshots)).GetProperty("runs")[0].GetProperty("status").GetString() == "done", "the full snapshot is kept");
        using var restore = await client.PostAsJsonAsync($"{Snapshots}/{id}/restore", new { confirm = true });
        using var unknownFile = await client.GetAsync($"{Snapshots}/999/file");
        using var unknownRestore = await client.PostAsJsonAsync($"{Snapshots}/999/restore", new { confirm = true });
        using var badScope = await client.PostAsJsonAsync(Snapshots, new { scope = "../etc" });
        using var missingCollection = await client.PostAsJsonAsync(Snapshots, new { scope = "nope" });

        Assert.Equal(HttpStatusCode.Conflict, restore.StatusCode);
        Assert.Contains("--storage-snapshot", await restore.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, unknownFile.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknownRestore.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badScope.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missingCollection.StatusCode);
    }
}
