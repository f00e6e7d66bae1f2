using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SparkControl.Sim.Audio;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Web;

/// <summary><c>/api/scrub</c> as background tasks: text, a posted transcript, and a finished job's transcript (kept or replaced).</summary>
public sealed class ScrubApiTests
{
    private static async Task<JsonElement> EndedAsync(HttpClient client, HttpResponseMessage started)
    {
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        Assert.Equal($"/api/scrub/{id}", started.Headers.Location?.OriginalString);
        JsonElement task = default;
        await Wait.UntilAsync(async () => (task = await client.GetFromJsonAsync<JsonElement>($"/api/scrub/{id}")).GetProperty("status").GetString() is "done" or "failed", "the scrub task ends");
        return task;
    }

    [Fact]
    public async Task Text_IsRedactedByKind_WithCounts_AndNamesFromTheOperatorsList()
    {
        await using var app = await SparkControlApp.StartAsync(new Dictionary<string, string?> { ["Demo:InitialModel"] = string.Empty });
        using var client = app.CreateClient();
        using var names = await client.PutAsJsonAsync("/api/scrub/names", new { names = new[] { "Ingrid Svensson", " ", "Ingrid Svensson" } });
        Assert.Equal(["Ingrid Svensson"], (await names.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("names").EnumerateArray().Select(n => n.GetString()));
        using var badNames = await client.PutAsJsonAsync("/api/scrub/names", new { names = new[] { "Bad\nName" } });
        Assert.Equal(HttpStatusCode.BadRequest, badNames.StatusCode);

        var task = await EndedAsync(client, await client.PostAsJsonAsync("/api/scrub", new
        {
            text = "Ingrid Svensson (ingrid@example.se, +46 8 123 456 78) paid with 4111 1111 1111 1111 from SE45 5000 0000 0583 9825 7466. Ingrid says hi; card 4111 1111 1111 1112 is not one.",
        }));

        Assert.Equal("done", task.GetProperty("status").GetString());
        Assert.Equal("[NAME] ([EMAIL], [PHONE]) paid with [CARD] from [IBAN]. [NAME] says hi; card 4111 1111 1111 1112 is not one.", task.GetProperty("text").GetString());
        var counts = task.GetProperty("counts");
        Assert.Equal((2, 1, 1, 1, 1), (counts.GetProperty("NAME").GetInt32(), counts.GetProperty("EMAIL").GetInt32(), counts.GetProperty("PHONE").GetInt32(), counts.GetProperty("CARD").GetInt32(), counts.GetProperty("IBAN").GetInt32()));
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsJsonAsync("/api/scrub", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await client.PostAsync("/api/scrub", new StringContent("text=a@b.com"))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsJsonAsync("/api/scrub", new { text = "a", transcript = new { words = Array.Empty<object>() } })).StatusCode);
    }

    [Fact]
    public async Task PostedTranscript_APhoneNumberReadOverSeveralWords_IsOnePlaceholder()
    {
        await using var app = await SparkControlApp.StartAsync(new Dictionary<string, string?> { ["Demo:InitialModel"] = string.Empty });
        using var client = app.CreateClient();
        string[] spoken = ["call", "me", "on", "415", "555", "0132", "please"];
        var words = spoken.Select((w, i) => new { word = w, start = i * 0.5, end = (i * 0.5) + 0.4, speaker = "Ann", confidence = 1.0, method = "channel", margin = 1.0 }).ToArray();

        var task = await EndedAsync(client, await client.PostAsJsonAsync("/api/scrub", new
        {
            transcript = new { words, utterances = new[] { new { speaker = "Ann", start = 0.0, end = 3.4, text = string.Join(' ', spoken), overlap = false } } },
        }));

        var transcript = task.GetProperty("transcript");
        Assert.Equal("call me on [PHONE] please", transcript.GetProperty("utterances")[0].GetProperty("text").GetString());
        Assert.Equal(7, transcript.GetProperty("words").GetArrayLength());
        Assert.Equal("[PHONE]", transcript.GetProperty("words")[4].GetProperty("word").GetString());
        Assert.Equal(1, task.GetProperty("counts").GetProperty("PHONE").GetInt32());
    }

    [Fact]
    public async Task JobTranscript_ScrubbedWithoutKeepingTheOriginal_ReplacesIt()
    {
        using var data = new TempDirectory("sc-data");
        var gate = new GatedTranscriber();
        await using var worker = new TestAudioWorker(gate);
        await File.WriteAllTextAsync(Path.Combine(data.Path, "services.yaml"), TestAudioWorker.ServicesYaml(("gated", worker.Port, 1)));
        await using var app = await SparkControlApp.StartAsync(new Dictionary<string, string?> { ["Demo:InitialModel"] = string.Empty, ["Transcripts:Model"] = "test-asr" }, data.Path);
        await TestAudioWorker.WaitHealthyAsync(app, "gated");
        using var client = app.CreateClient();
        gate.Open(10);
        // The gated worker answers with the request's prompt; the job sends none, so its word is "done": scrub a name.
        using var names = await client.PutAsJsonAsync("/api/scrub/names", new { names = new[] { "done" } });
        var id = (await TranscriptJobTests.SubmitAsync(client, TestAudioWorker.SilentWav(1))).Body.GetProperty("id").GetString()!;
        await TranscriptJobTests.WaitForAsync(client, id, "done");

        // No body: the original is kept (replacing it cannot be undone, so it must be asked for).
        var kept = await EndedAsync(client, await client.PostAsync($"/api/transcripts/{id}/scrub", null));
        var stillOriginal = await TranscriptJobTests.JobAsync(client, id);
        var replaced = await EndedAsync(client, await client.PostAsJsonAsync($"/api/transcripts/{id}/scrub", new { keepOriginal = false }));
        var job = await TranscriptJobTests.JobAsync(client, id);

        Assert.Equal(("[NAME]", true), (kept.GetProperty("transcript").GetProperty("words")[0].GetProperty("word").GetString(), kept.GetProperty("keptOriginal").GetBoolean()));
        Assert.Equal("done", stillOriginal.GetProperty("result").GetProperty("words")[0].GetProperty("word").GetString());
        Assert.False(replaced.GetProperty("keptOriginal").GetBoolean());
        Assert.Equal("[NAME]", job.GetProperty("result").GetProperty("words")[0].GetProperty("word").GetString());
        Assert.True(job.GetProperty("result").GetProperty("scrubbed").GetBoolean());
        Assert.Contains("[NAME]", await client.GetStringAsync($"/api/transcripts/{id}?format=text"), StringComparison.Ordinal);
    }
}
