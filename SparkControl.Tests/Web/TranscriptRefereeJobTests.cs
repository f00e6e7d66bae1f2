using System.Text.Json;
using SparkControl.Core.Gateway;
using SparkControl.Tests.Audio.Echo;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Web;

/// <summary>
/// The referee inside a transcription job: the demo's chat model (a scripted Sim) is asked about the utterance the merge
/// filled from the nearest speaker, through the gateway's chat target, and its decision shows on the transcript.
/// </summary>
public sealed class TranscriptRefereeJobTests
{
    [Fact]
    public async Task NearestFilledUtterance_IsRefereed_AndTheScriptedDecisionApplies_WordsUnchanged()
    {
        using var files = new TempDirectory("sc-referee");
        var script = Path.Combine(files.Path, "chat.json");
        // The third utterance ("thank you goodbye") lies in a diarization gap: the merge gives it Bo (the nearest turn);
        // the scripted model says Ann.
        await File.WriteAllTextAsync(script, JsonSerializer.Serialize(new
        {
            rules = new[] { new { match = "[u2]", reply = """{"decisions":[{"id":"u2","speaker":"Ann","confidence":0.9,"reason":"the greeter says goodbye"}]}""" } },
        }));
        var settings = new Dictionary<string, string?> { ["Demo:ChatScript"] = script };
        foreach (var (phrase, i) in TranscriptCallTests.Remote.Select((p, i) => (p, i)))
        {
            settings[$"Demo:AsrPhrases:{i}"] = phrase;
        }

        await using var app = await SparkControlApp.StartAsync(settings);
        await Wait.UntilAsync(() => app.Get<GatewayRoutes>().Targets().Count > 0 && app.Get<AudioRoutes>().Workers().Any(w => w.Healthy),
            "the demo's chat model and ASR worker serve", TimeSpan.FromSeconds(90));
        var call = await EchoTestCalls.GetAsync(EchoTestCalls.Turns);
        var mono = await File.ReadAllBytesAsync(Path.Combine(call.Directory, "remote.wav"));
        // No turn covers the goodbye at 13 s; B's turn ending 0.2 s before it is the nearest.
        const string rttm = "SPEAKER call 1 0.40 1.60 <NA> <NA> A <NA> <NA>\nSPEAKER call 1 5.90 2.70 <NA> <NA> B <NA> <NA>\nSPEAKER call 1 12.00 0.80 <NA> <NA> B <NA> <NA>\n";
        using var client = app.CreateClient();

        var id = (await TranscriptJobTests.SubmitAsync(client, mono, "remote.wav", ("diarization", rttm), ("speakers", "A=Ann, B=Bo"))).Body.GetProperty("id").GetString()!;
        var result = (await TranscriptJobTests.WaitForAsync(client, id, "done", TimeSpan.FromMinutes(3))).GetProperty("result");

        var utterances = result.GetProperty("utterances").EnumerateArray().ToArray();
        Assert.Equal(3, utterances.Length);
        Assert.Equal(TranscriptCallTests.Remote, utterances.Select(u => u.GetProperty("text").GetString()));
        Assert.Equal(["Ann", "Bo", "Ann"], utterances.Select(u => u.GetProperty("speaker").GetString()));
        var referee = result.GetProperty("referee");
        Assert.True(referee.GetProperty("calls").GetInt32() >= 1);
        var applied = Assert.Single(referee.GetProperty("decisions").EnumerateArray(), d => d.GetProperty("outcome").GetString() == "applied");
        Assert.Equal((2, "nearest-fill", "Bo", "Ann"), (applied.GetProperty("utterance").GetInt32(), applied.GetProperty("trigger").GetString(), applied.GetProperty("from").GetString(), applied.GetProperty("to").GetString()));
        Assert.Equal("the greeter says goodbye", applied.GetProperty("reason").GetString());
        Assert.All(result.GetProperty("words").EnumerateArray().Where(w => w.GetProperty("start").GetDouble() >= 13), w => Assert.Equal("Ann", w.GetProperty("speaker").GetString()));
    }
}
