using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SparkControl.Tests.Audio.Echo;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Web;

/// <summary>
/// A generated two-channel call (espeak-ng and sox: a remote and a local speaker, loudspeaker echo on the microphone,
/// double talk) from upload to a speaker-labelled transcript, through the demo's pocketsphinx worker with a phrase list
/// of every sentence of the call (so a remote sentence leaking into the microphone is recognised as one).
/// </summary>
public sealed class TranscriptCallTests(TranscriptCallTests.DemoWithCallPhrases demo) : IClassFixture<TranscriptCallTests.DemoWithCallPhrases>
{
    public static readonly string[] Local = ["please send me the report by friday", "the quick brown fox jumps over the lazy dog"];
    public static readonly string[] Remote = ["hello how are you today", "we should schedule the meeting for next week", "thank you goodbye"];

    public sealed class DemoWithCallPhrases : IAsyncLifetime
    {
        public SparkControlApp App { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            var settings = new Dictionary<string, string?> { ["Demo:InitialModel"] = string.Empty };
            foreach (var (phrase, i) in Local.Concat(Remote).Select((p, i) => (p, i)))
            {
                settings[$"Demo:AsrPhrases:{i}"] = phrase;
            }

            App = await SparkControlApp.StartAsync(settings);
            await Wait.UntilAsync(() => App.Get<SparkControl.Core.Gateway.AudioRoutes>().Workers().Any(w => w.Role == SparkControl.Core.Sparks.AudioRole.Transcription && w.Healthy),
                "the demo's ASR worker is Healthy", TimeSpan.FromSeconds(60));
        }

        public async Task DisposeAsync() => await App.DisposeAsync();
    }

    private static string[] Sentences(JsonElement result, int channel) =>
        [.. result.GetProperty("utterances").EnumerateArray().Where(u => u.GetProperty("channel").GetInt32() == channel).Select(u => u.GetProperty("text").GetString()!)];

    private static string KeptWords(JsonElement result, int channel) => string.Join(' ', result.GetProperty("words").EnumerateArray()
        .Where(w => (w.TryGetProperty("channel", out var c) ? c.GetInt32() : 0) == channel && !(w.TryGetProperty("dropped", out var d) && d.GetBoolean()))
        .Select(w => w.GetProperty("word").GetString()));

    [Fact]
    public async Task EchoCall_LocalChannelKeepsEveryLocalSentence_AndHasNoRemoteOne()
    {
        // Turn-taking: pocketsphinx cannot follow two voices at once (on the double-talk call it misses the overlapped
        // local sentence even in the clean recording), so the echo is what is tested, not overlap recognition.
        var call = await EchoTestCalls.GetAsync(EchoTestCalls.Turns);
        using var client = demo.App.CreateClient();

        var (response, started) = await TranscriptJobTests.SubmitAsync(client, call.CallWav, "echo-call.wav", ("speakers", "Agent, Customer"), ("referee", "false"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = started.GetProperty("id").GetString()!;
        var done = await TranscriptJobTests.WaitForAsync(client, id, "done", TimeSpan.FromMinutes(4));
        var result = done.GetProperty("result");

        var local = KeptWords(result, 0);
        var remote = KeptWords(result, 1);
        Assert.All(Local, s => Assert.Contains(s, local, StringComparison.Ordinal));
        Assert.All(Remote, s => Assert.DoesNotContain(s, local, StringComparison.Ordinal));
        Assert.All(Remote, s => Assert.Contains(s, remote, StringComparison.Ordinal));
        Assert.All(result.GetProperty("utterances").EnumerateArray(),
            u => Assert.Equal(u.GetProperty("channel").GetInt32() == 0 ? "Agent" : "Customer", u.GetProperty("speaker").GetString()));
        Assert.Contains(result.GetProperty("notes").EnumerateArray(), n => n.GetString()!.StartsWith("Echo cancelled on the microphone channel", StringComparison.Ordinal));
        // In time order: the remote greeting first, the local answer next.
        Assert.Equal("Customer", result.GetProperty("utterances")[0].GetProperty("speaker").GetString());
        Assert.NotEmpty(Sentences(result, 0));

        var srt = await client.GetStringAsync($"/api/transcripts/{id}?format=srt");
        var vtt = await client.GetStringAsync($"/api/transcripts/{id}?format=vtt");
        var text = await client.GetStringAsync($"/api/transcripts/{id}?format=text");
        using var json = await client.GetAsync($"/api/transcripts/{id}?format=json");
        Assert.StartsWith("1\n00:00:0", srt.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains("Agent", srt, StringComparison.Ordinal);
        Assert.StartsWith("WEBVTT", vtt, StringComparison.Ordinal);
        Assert.Contains("Customer:", text, StringComparison.Ordinal);
        Assert.Equal("attachment", json.Content.Headers.ContentDisposition?.DispositionType);
        Assert.Equal(result.GetProperty("words").GetArrayLength(), (await json.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("words").GetArrayLength());
        using var bogus = await client.GetAsync($"/api/transcripts/{id}?format=docx");
        Assert.Equal(HttpStatusCode.BadRequest, bogus.StatusCode);

        // The same call with echo handling off: the loudspeaker's remote sentences are in the microphone's transcript.
        var raw = (await TranscriptJobTests.SubmitAsync(client, call.CallWav, "echo-call.wav", ("echoCancel", "false"), ("referee", "false"))).Body.GetProperty("id").GetString()!;
        var leaked = KeptWords((await TranscriptJobTests.WaitForAsync(client, raw, "done", TimeSpan.FromMinutes(4))).GetProperty("result"), 0);
        Assert.Contains(Remote, s => leaked.Contains(s, StringComparison.Ordinal));
    }

    [Fact]
    public async Task TwoMinuteRecording_CutIntoPieces_EveryWordOnceAtTheSeams()
    {
        // The remote side of the turn-taking scene eight times over, alone (clean speech with pauses of a second and
        // more: what is tested is the cutting and joining, not pocketsphinx, which runs two close sentences into one
        // phrase and drops what follows, and mistakes echo left at the start of a piece for speech).
        var call = await EchoTestCalls.GetAsync(EchoTestCalls.TurnsTwoMinutes);
        using var client = demo.App.CreateClient();

        var id = (await TranscriptJobTests.SubmitAsync(client, await File.ReadAllBytesAsync(Path.Combine(call.Directory, "remote.wav")), "long.wav", ("referee", "false"))).Body.GetProperty("id").GetString()!;
        var result = (await TranscriptJobTests.WaitForAsync(client, id, "done", TimeSpan.FromMinutes(6))).GetProperty("result");

        // 120 s in pieces of at most 30 s: four pieces or more, cut in the pauses between sentences.
        var truth = TranscriptScoring.ReadTruth(await File.ReadAllTextAsync(Path.Combine(call.Directory, "truth.tsv")));
        Assert.Equal(8 * 3, truth.Count(s => s.Channel == 1)); // the scene's three remote sentences, eight times
        Assert.Equal(string.Join(' ', TranscriptScoring.Reference(truth, 1)), KeptWords(result, 0));
    }

    [Fact]
    public async Task MonoRecording_WithoutDiarization_IsOneSpeaker_AndSaysSo()
    {
        var call = await EchoTestCalls.GetAsync(EchoTestCalls.Default);
        var mono = await File.ReadAllBytesAsync(Path.Combine(call.Directory, "remote.wav"));
        using var client = demo.App.CreateClient();

        var id = (await TranscriptJobTests.SubmitAsync(client, mono, "remote.wav")).Body.GetProperty("id").GetString()!;
        var result = (await TranscriptJobTests.WaitForAsync(client, id, "done", TimeSpan.FromMinutes(3))).GetProperty("result");

        Assert.All(Remote, s => Assert.Contains(s, KeptWords(result, 0), StringComparison.Ordinal));
        Assert.Equal(["Speaker 1"], result.GetProperty("words").EnumerateArray().Select(w => w.GetProperty("speaker").GetString()).Distinct());
        Assert.Contains(SparkControl.Core.Audio.Transcripts.TranscriptPipeline.MonoNote, result.GetProperty("notes").EnumerateArray().Select(n => n.GetString()));
        // One speaker: nothing to dispute, no call to a chat model.
        Assert.Equal(0, result.GetProperty("referee").GetProperty("calls").GetInt32());
    }

    [Fact]
    public async Task MonoRecording_WithRttm_NamesTheDiarizedSpeakers()
    {
        var call = await EchoTestCalls.GetAsync(EchoTestCalls.Default);
        // Two remote sentences said by "two people": the diarization splits the channel at 5.5 s.
        const string rttm = "SPEAKER call 1 0.000 5.500 <NA> <NA> SPEAKER_00 <NA> <NA>\nSPEAKER call 1 5.500 8.500 <NA> <NA> SPEAKER_01 <NA> <NA>\n";
        var mono = await File.ReadAllBytesAsync(Path.Combine(call.Directory, "remote.wav"));
        using var client = demo.App.CreateClient();

        var id = (await TranscriptJobTests.SubmitAsync(client, mono, "remote.wav", ("diarization", rttm), ("speakers", "SPEAKER_00=Ann, SPEAKER_01=Bo"), ("referee", "false"))).Body.GetProperty("id").GetString()!;
        var result = (await TranscriptJobTests.WaitForAsync(client, id, "done", TimeSpan.FromMinutes(3))).GetProperty("result");

        var utterances = result.GetProperty("utterances").EnumerateArray().Select(u => (u.GetProperty("speaker").GetString(), u.GetProperty("text").GetString())).ToArray();
        Assert.Contains(("Ann", Remote[0]), utterances);
        Assert.Contains(utterances, u => u.Item1 == "Bo" && u.Item2!.Contains(Remote[1], StringComparison.Ordinal));
        Assert.DoesNotContain(result.GetProperty("notes").EnumerateArray(), n => n.GetString() == SparkControl.Core.Audio.Transcripts.TranscriptPipeline.MonoNote);
    }
}
