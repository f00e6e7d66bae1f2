using SparkControl.Core.Audio;
using SparkControl.Core.Audio.LabelMerge;

namespace SparkControl.Tests.Audio.Echo;

/// <summary>Echo removal as step 4 of the two-channel merge, through the job the API and the Audio page both run.</summary>
public sealed class CallEchoRemovalTests
{
    private static LabelMergeJob RecipeCall(bool removeEcho, int channels = 2) => new(
        [],
        [],
        [.. Enumerable.Range(0, channels).Select(c => new ChannelTranscript([.. RecipeCallTranscripts.Channel(c).Select(w => new TranscriptWord(w.Text, w.Start, w.End))]))],
        new LabelMergeOptions(),
        "Local",
        "Remote",
        removeEcho);

    [Fact]
    public void Run_RecipeCall_EchoWordsDroppedBeforeGroupingAndReported()
    {
        var result = RecipeCall(removeEcho: true).Run();

        var echo = Assert.IsType<CallEchoReport>(result.Echo);
        var dropped = result.Words.Where(w => w.Dropped).ToList();
        Assert.Equal(echo.Removed.Select(r => r.LocalIndex), dropped.Select(w => w.Index));
        Assert.All(dropped, w => Assert.Equal((0, CallEchoRemoval.Reason), (w.Channel, w.Reason)));
        Assert.Equal(RecipeCallTranscripts.RecognisedLocalSentences, result.Utterances.Where(u => u.Channel == 0).Select(u => u.Text));
        Assert.All(echo.Removed, r => Assert.Equal(r.Text, r.RemoteText));
    }

    [Fact]
    public void Run_RemoveEchoOff_NothingDroppedAndNoReport()
    {
        var result = RecipeCall(removeEcho: false).Run();

        Assert.Null(result.Echo);
        Assert.DoesNotContain(result.Words, w => w.Dropped);
    }

    [Fact]
    public void Run_OneChannelCall_EchoPassDoesNotRun()
    {
        var job = RecipeCall(removeEcho: true, channels: 1);

        Assert.False(job.EchoRemovalRuns);
        Assert.Null(job.Run().Echo);
    }

    [Fact]
    public void Find_WordsWithoutTimes_SkippedAndIndicesStillLineUp()
    {
        static LabelledWord L(int index, string text, double? start) =>
            new(index, text, start, start + 0.2, "x", 1, 1, AssignMethod.Channel, null, WordRepairs.None);

        var remote = new[] { L(0, "one", null), L(1, "send", 1.0), L(2, "the", 1.3), L(3, "report", 1.6) };
        var local = new[] { L(0, "two", null), L(1, "send", 1.12), L(2, "the", 1.42), L(3, "report", 1.72), L(4, "three", null) };

        var report = CallEchoRemoval.Find(local, remote);

        Assert.Equal([(1, 1), (2, 2), (3, 3)], report.Removed.Select(r => (r.LocalIndex, r.RemoteIndex)));
        Assert.Equal((1.12, 0.12), (report.Removed[0].Start, report.Removed[0].Lag));
        Assert.Equal(1.32, report.Removed[0].End, 3);
        Assert.Equal(0.12, report.Delay!.Value, 3);
    }
}
