using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SparkControl.Core.Audio.Transcripts;
using SparkControl.Sim.Audio;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Web;

/// <summary>
/// Transcription jobs through the API against an ASR worker of the test's own that holds every request until the
/// test lets it go: phases and progress while it runs, the worker's cap respected, cancel, the queue's limits, and a
/// job that survives a panel restart.
/// </summary>
public sealed class TranscriptJobTests
{
    /// <summary>70 s of silence: with 30 s pieces, several requests to the worker.</summary>
    private static readonly byte[] LongMono = TestAudioWorker.SilentWav(70);

    private static async Task<SparkControlApp> StartAsync(TempDirectory data, int port, int cap = 2, Dictionary<string, string?>? settings = null)
    {
        await File.WriteAllTextAsync(Path.Combine(data.Path, "services.yaml"), TestAudioWorker.ServicesYaml(("gated", port, cap)));
        var all = new Dictionary<string, string?> { ["Demo:InitialModel"] = string.Empty, ["Transcripts:ChunkLength"] = "00:00:30", ["Transcripts:Model"] = "test-asr" };
        foreach (var (key, value) in settings ?? [])
        {
            all[key] = value;
        }

        var app = await SparkControlApp.StartAsync(all, data.Path);
        await TestAudioWorker.WaitHealthyAsync(app, "gated");
        return app;
    }

    internal static async Task<(HttpResponseMessage Response, JsonElement Body)> SubmitAsync(HttpClient client, byte[] wav, string fileName = "call.wav", params (string Name, string Value)[] fields)
    {
        var response = await client.PostAsync("/api/transcripts", AudioGatewayTests.Form(fields).WithFile(wav, fileName, "audio/wav"));
        var text = await response.Content.ReadAsStringAsync();
        return (response, text.Length > 0 ? JsonDocument.Parse(text).RootElement.Clone() : default);
    }

    internal static async Task<JsonElement> JobAsync(HttpClient client, string id) => await client.GetFromJsonAsync<JsonElement>($"/api/transcripts/{id}");

    internal static async Task<JsonElement> WaitForAsync(HttpClient client, string id, string status, TimeSpan? timeout = null)
    {
        JsonElement job = default;
        await Wait.UntilAsync(async () =>
        {
            job = await JobAsync(client, id);
            return job.GetProperty("status").GetString() == status;
        }, $"job {id} is {status}", timeout ?? TimeSpan.FromMinutes(2));
        return job;
    }

    [Fact]
    public async Task Job_RunsInPhases_AtMostTheWorkersCapAtOnce_TranscriptOnlyWhenDone()
    {
        using var data = new TempDirectory("sc-data");
        var gate = new GatedTranscriber();
        await using var worker = new TestAudioWorker(gate);
        await using var app = await StartAsync(data, worker.Port, cap: 2);
        using var client = app.CreateClient();

        var (response, started) = await SubmitAsync(client, LongMono, "long.wav", ("model", "test-asr"), ("speakers", "Dana"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = started.GetProperty("id").GetString()!;
        Assert.Equal($"/api/transcripts/{id}", response.Headers.Location?.OriginalString);
        Assert.Matches("^[0-9a-f]{16}$", id);

        await Wait.UntilAsync(() => gate.Waiting == 2, "two pieces are at the worker");
        var running = await JobAsync(client, id);
        Assert.Equal(("running", "transcribe"), (running.GetProperty("status").GetString(), running.GetProperty("phase").GetString()));
        Assert.InRange(running.GetProperty("progress").GetDouble(), 0.1, 0.9);
        using (var early = await client.GetAsync($"/api/transcripts/{id}?format=srt"))
        {
            Assert.Equal(HttpStatusCode.Conflict, early.StatusCode);
        }

        // Let the pieces through one at a time, one for each that arrived: never more than the cap reach the worker.
        var let = 0;
        while ((await JobAsync(client, id)).GetProperty("status").GetString() == "running")
        {
            Assert.True(gate.Waiting <= 2, $"{gate.Waiting} pieces at a worker capped at 2");
            if (gate.Arrived.Count > let)
            {
                gate.Open();
                let++;
            }

            await Wait.UntilAsync(async () => gate.Arrived.Count > let || (await JobAsync(client, id)).GetProperty("status").GetString() != "running", "the next piece or the end");
        }

        var done = await WaitForAsync(client, id, "done");
        Assert.True(let >= 3, $"{let} pieces for 70 s in 30 s pieces");
        Assert.Equal(let, gate.Arrived.Count);
        Assert.Equal(1.0, done.GetProperty("progress").GetDouble());
        var result = done.GetProperty("result");
        // The gated worker hears "done" in the first half second of every piece it is sent. For every piece after the
        // first that is inside the overlap before its cut, which the piece before owns: the word is kept once, not per piece.
        Assert.Equal(0.0, Assert.Single(result.GetProperty("words").EnumerateArray()).GetProperty("start").GetDouble());
        Assert.All(result.GetProperty("words").EnumerateArray(), w => Assert.Equal("Dana", w.GetProperty("speaker").GetString()));
        Assert.Contains(TranscriptPipeline.MonoNote, result.GetProperty("notes").EnumerateArray().Select(n => n.GetString()));
        var srt = await client.GetAsync($"/api/transcripts/{id}?format=srt");
        Assert.Equal("application/x-subrip", srt.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Dana", await srt.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(data.Path, "transcripts", $"{id}.wav")), "the call's audio is removed once its job ends");
    }

    [Fact]
    public async Task Cancel_WhileTranscribing_EndsTheJob_AndTheQueueTakesTheNext()
    {
        using var data = new TempDirectory("sc-data");
        var gate = new GatedTranscriber();
        await using var worker = new TestAudioWorker(gate);
        await using var app = await StartAsync(data, worker.Port, cap: 1);
        using var client = app.CreateClient();

        var first = (await SubmitAsync(client, LongMono)).Body.GetProperty("id").GetString()!;
        var second = (await SubmitAsync(client, TestAudioWorker.SilentWav(2))).Body.GetProperty("id").GetString()!;
        await Wait.UntilAsync(() => gate.Waiting == 1, "the first job's piece is at the worker");
        Assert.Equal("queued", (await JobAsync(client, second)).GetProperty("status").GetString());

        using var cancel = await client.PostAsync($"/api/transcripts/{first}/cancel", null);
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        var cancelled = await WaitForAsync(client, first, "cancelled");
        Assert.Null(cancelled.GetProperty("error").GetString());
        using var again = await client.PostAsync($"/api/transcripts/{first}/cancel", null);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);

        await Wait.UntilAsync(() => gate.Waiting == 1 && gate.Arrived.Count == 2, "the second job's piece reaches the worker");
        gate.Open(10);
        await WaitForAsync(client, second, "done");
        using var delete = await client.DeleteAsync($"/api/transcripts/{first}");
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/transcripts/{first}")).StatusCode);
    }

    [Fact]
    public async Task Queue_PerCallerLimit_Is429WithRetryAfter_BeforeTheUploadIsStored()
    {
        using var data = new TempDirectory("sc-data");
        var gate = new GatedTranscriber();
        await using var worker = new TestAudioWorker(gate);
        await using var app = await StartAsync(data, worker.Port, settings: new() { ["Transcripts:MaxQueuedPerCaller"] = "2" });
        using var client = app.CreateClient();

        await SubmitAsync(client, LongMono);
        await SubmitAsync(client, LongMono);
        var (third, body) = await SubmitAsync(client, LongMono);

        Assert.Equal((HttpStatusCode)429, third.StatusCode);
        Assert.True(third.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        Assert.Contains("Transcripts:MaxQueuedPerCaller", body.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(2, Directory.GetFiles(Path.Combine(data.Path, "transcripts"), "*.wav").Length);
        gate.Open(100);
    }

    [Fact]
    public async Task BadUploads_AreRefusedWithTheField_AndNothingIsQueued()
    {
        using var data = new TempDirectory("sc-data");
        var gate = new GatedTranscriber();
        await using var worker = new TestAudioWorker(gate);
        await using var app = await StartAsync(data, worker.Port, settings: new() { ["Transcripts:MaxUploadBytes"] = "1000000" });
        using var client = app.CreateClient();
        byte[] mp3 = [(byte)'I', (byte)'D', (byte)'3', 4, 0, 0, 0, 0, 0, 0, .. new byte[2000]];
        var threeChannels = SparkControl.Core.Audio.Signal.WavFile.Write16(16000, new float[1600], new float[1600], new float[1600]);

        var (notWav, notWavBody) = await SubmitAsync(client, mp3, "call.wav");
        var (three, threeBody) = await SubmitAsync(client, threeChannels);
        var (speakers, speakersBody) = await SubmitAsync(client, TestAudioWorker.SilentWav(1), "a.wav", ("speakers", "Ann\n"));
        var (big, _) = await SubmitAsync(client, TestAudioWorker.SilentWav(40));
        var (noFile, noFileBody) = await SubmitAsync(client, [], "a.wav");

        Assert.Equal(HttpStatusCode.BadRequest, notWav.StatusCode);
        Assert.True(notWavBody.GetProperty("errors").TryGetProperty("file", out _));
        Assert.Equal(HttpStatusCode.BadRequest, three.StatusCode);
        Assert.Contains("3 channels", threeBody.GetProperty("errors").GetProperty("file")[0].GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, speakers.StatusCode);
        Assert.True(speakersBody.GetProperty("errors").TryGetProperty("speakers", out _));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, big.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, noFile.StatusCode);
        Assert.True(noFileBody.GetProperty("errors").TryGetProperty("file", out _));
        Assert.Empty(await client.GetFromJsonAsync<JsonElement[]>("/api/transcripts") ?? []);
        Assert.Empty(Directory.GetFiles(Path.Combine(data.Path, "transcripts"), "*", SearchOption.AllDirectories));
    }

    /// <summary>A panel that takes a job and stops while the job's piece is at the worker; returns the job's id.</summary>
    private static async Task<string> StopWhileRunningAsync(TempDirectory data, int port, GatedTranscriber gate)
    {
        await using var first = await StartAsync(data, port, cap: 1);
        using var client = first.CreateClient();
        var id = (await SubmitAsync(client, TestAudioWorker.SilentWav(3))).Body.GetProperty("id").GetString()!;
        await Wait.UntilAsync(() => gate.Waiting == 1, "the job's piece is at the worker");
        return id;
    }

    [Fact]
    public async Task Restart_WhileAJobRuns_RunsItAgainAfterwards_NotLost()
    {
        using var data = new TempDirectory("sc-data");
        var gate = new GatedTranscriber();
        await using var worker = new TestAudioWorker(gate);
        var id = await StopWhileRunningAsync(data, worker.Port, gate);

        // The first panel is gone with the piece unanswered; the worker drops it (its client left) and serves again.
        await Wait.UntilAsync(() => gate.Waiting == 0, "the worker let go of the first panel's piece");
        await using var second = await StartAsync(data, worker.Port, cap: 1);
        using var again = second.CreateClient();
        await Wait.UntilAsync(() => Task.FromResult(gate.Waiting == 1), "the resumed job's piece is at the worker", describe: async () => (await JobAsync(again, id)).ToString());
        var resumed = await JobAsync(again, id);
        Assert.Equal("running", resumed.GetProperty("status").GetString());
        Assert.Equal(1, resumed.GetProperty("resumes").GetInt32());
        gate.Open();
        var done = await WaitForAsync(again, id, "done");
        Assert.Equal("done", Assert.Single(done.GetProperty("result").GetProperty("words").EnumerateArray()).GetProperty("word").GetString());
    }

    [Fact]
    public async Task Restart_WithTheAudioGone_MarksTheJobInterrupted()
    {
        using var data = new TempDirectory("sc-data");
        var gate = new GatedTranscriber();
        await using var worker = new TestAudioWorker(gate);
        var id = await StopWhileRunningAsync(data, worker.Port, gate);

        File.Delete(Path.Combine(data.Path, "transcripts", $"{id}.wav"));
        // What a crash mid-upload leaves: swept at the next start.
        var stray = Path.Combine(data.Path, "transcripts", "incoming", "0f0f.upload");
        Directory.CreateDirectory(Path.GetDirectoryName(stray)!);
        await File.WriteAllTextAsync(stray, "half an upload");
        await using var second = await StartAsync(data, worker.Port, cap: 1);
        using var again = second.CreateClient();

        var job = await JobAsync(again, id);
        Assert.Equal("interrupted", job.GetProperty("status").GetString());
        Assert.Contains("upload the call again", job.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.False(File.Exists(stray));
    }
}
