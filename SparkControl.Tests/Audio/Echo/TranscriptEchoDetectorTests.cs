using System.Globalization;
using SparkControl.Core.Audio.Echo;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Audio.Echo;

public sealed class TranscriptEchoDetectorTests
{
    private const string Remote = "we should schedule the meeting for next week and send the report by friday";

    /// <summary>Words 0.3 s apart starting at <paramref name="start"/>.</summary>
    private static List<EchoWord> Say(string text, double start, double spacing = 0.3) =>
        [.. text.Split(' ').Select((w, i) => new EchoWord(w, start + (i * spacing), start + (i * spacing) + 0.25))];

    /// <summary>The remote words shifted by <paramref name="delay"/>, each jittered by up to ±<paramref name="jitter"/>.</summary>
    private static List<EchoWord> Echo(IEnumerable<EchoWord> words, double delay, double jitter, int seed = 1)
    {
        var random = new Random(seed);
        return [.. words.Select(w =>
        {
            var shift = delay + (((random.NextDouble() * 2) - 1) * jitter);
            return w with { Start = w.Start + shift, End = w.End + shift };
        })];
    }

    [Fact]
    public void Detect_PureEchoWithJitter_RemovesEveryWordAndVotesTheDelay()
    {
        var remote = Say(Remote, 1.0);
        var local = Echo(remote, 0.12, 0.04);

        var result = TranscriptEchoDetector.Detect(local, remote);

        Assert.Equal(EchoDelaySource.Words, result.DelaySource);
        Assert.InRange(result.Delay!.Value, 0.08, 0.16);
        Assert.Equal(local.Count, result.Echoes.Count);
        Assert.All(result.Echoes, e => Assert.Equal(e.LocalIndex, e.RemoteIndex));
    }

    [Fact]
    public void Detect_EchoWithSubstitutedWords_StillRemovesTheRun()
    {
        var remote = Say(Remote, 1.0);
        var local = Echo(remote, 0.12, 0.02);
        local[3] = local[3] with { Text = "teh" };       // misrecognised beyond matching: a gap inside the run
        local[7] = local[7] with { Text = "weak" };      // "week" -> "weak": similar enough (0.75) to match

        var result = TranscriptEchoDetector.Detect(local, remote);

        var removed = result.Echoes.Select(e => e.LocalIndex).ToHashSet();
        Assert.Equal(local.Count - 1, removed.Count);
        Assert.DoesNotContain(3, removed);
        Assert.Contains(7, removed);
    }

    [Fact]
    public void Detect_LocalRepeatsAWordLater_KeepsIt()
    {
        var remote = Say(Remote, 1.0);
        var local = Echo(remote, 0.12, 0.0);
        var friday = remote.Single(w => w.Text == "friday");
        local.Add(new EchoWord("Friday?", friday.Start + 0.8, friday.Start + 1.1));

        var result = TranscriptEchoDetector.Detect(local, remote);

        Assert.False(result.IsEcho(local.Count - 1));
        Assert.Equal(remote.Count, result.Echoes.Count);
    }

    [Fact]
    public void Detect_ShortWordOverlapOutsideARun_KeepsIt()
    {
        var remote = Say(Remote, 1.0).Concat(Say("ok", 8.0)).ToList();
        // The echo of the sentence establishes the delay; the local "ok" lands where the remote "ok" echo would.
        var local = Echo(remote.Take(remote.Count - 1), 0.12, 0.0).Append(new EchoWord("ok", 8.12, 8.3)).ToList();

        var result = TranscriptEchoDetector.Detect(local, remote);

        Assert.False(result.IsEcho(local.Count - 1));
        Assert.Equal(remote.Count - 1, result.Echoes.Count);
    }

    [Fact]
    public void Detect_ShortWordsInsideARun_AreRemoved()
    {
        var remote = Say("ok ok yes ok", 2.0);
        var local = Echo(remote, 0.1, 0.0);

        var result = TranscriptEchoDetector.Detect(local, remote);

        Assert.Equal(4, result.Echoes.Count);
    }

    [Fact]
    public void Detect_HeadphoneCall_RemovesNothingAndEstimatesNoDelay()
    {
        var remote = Say(Remote, 1.0);
        var local = Say("please send me the report by friday the quick brown fox jumps", 5.0);

        var result = TranscriptEchoDetector.Detect(local, remote);

        Assert.Equal(EchoDelaySource.None, result.DelaySource);
        Assert.Null(result.Delay);
        Assert.Empty(result.Echoes);
    }

    [Fact]
    public void Detect_EchoOnlyInTheFirstSeconds_IsRemovedAndLaterLocalSpeechKept()
    {
        var remote = Say("hello how are you today", 0.5).Concat(Say(Remote, 6.0)).ToList();
        var leak = Echo(remote.Take(5), 0.12, 0.02);   // before the canceller converged
        var local = leak.Concat(Say("please send me the report by friday", 3.0)).ToList();

        var result = TranscriptEchoDetector.Detect(local, remote);

        Assert.Equal([0, 1, 2, 3, 4], result.Echoes.Select(e => e.LocalIndex).Order());
    }

    [Theory]
    [InlineData(0.55, true)]   // inside MaxDelay
    [InlineData(0.84, true)]   // beyond MaxDelay but inside the tolerance
    [InlineData(0.90, false)]  // beyond MaxDelay + Tolerance: never looked for
    public void Detect_DelayAtTheMaxDelayBoundary_FoundOnlyInsideTheWindow(double delay, bool found)
    {
        var remote = Say(Remote, 1.0, spacing: 0.5);
        var local = Echo(remote, delay, 0.0);

        var result = TranscriptEchoDetector.Detect(local, remote);

        Assert.Equal(found, result.Echoes.Count == local.Count);
        Assert.Equal(found, result.DelaySource == EchoDelaySource.Words);
    }

    [Fact]
    public void Detect_TooFewVotes_FallsBackToTheSignalDelay()
    {
        var remote = Say("schedule meeting", 2.0);
        var local = Echo(remote, 0.2, 0.0);

        var withoutSignal = TranscriptEchoDetector.Detect(local, remote);
        var withSignal = TranscriptEchoDetector.Detect(local, remote, signalDelay: 0.2);

        Assert.Empty(withoutSignal.Echoes);
        Assert.Equal(EchoDelaySource.Signal, withSignal.DelaySource);
        Assert.Equal(2, withSignal.Echoes.Count);
    }

    [Fact]
    public void Detect_SingleLongWordCheckSaysNo_KeepsTheWord()
    {
        var remote = Say(Remote, 1.0).Append(new EchoWord("tomorrow", 9.0, 9.4)).ToList();
        var local = Echo(remote.Take(remote.Count - 1), 0.12, 0.0).Append(new EchoWord("tomorrow", 9.12, 9.5)).ToList();

        var accepted = TranscriptEchoDetector.Detect(local, remote);
        var refused = TranscriptEchoDetector.Detect(local, remote, new TranscriptEchoOptions { SingleWordCheck = (_, _) => false });

        Assert.True(accepted.IsEcho(local.Count - 1));
        Assert.False(refused.IsEcho(local.Count - 1));
    }

    [Fact]
    public void Detect_EmptyLists_NoEcho()
    {
        Assert.Same(TranscriptEchoResult.NoEcho, TranscriptEchoDetector.Detect([], Say(Remote, 0)));
        Assert.Same(TranscriptEchoResult.NoEcho, TranscriptEchoDetector.Detect(Say(Remote, 0), []));
    }

    [Fact]
    public void Detect_UnsortedInput_ReportsOriginalIndices()
    {
        var remote = Say(Remote, 1.0);
        var local = Echo(remote, 0.12, 0.0);
        var shuffledLocal = local.AsEnumerable().Reverse().ToList();

        var result = TranscriptEchoDetector.Detect(shuffledLocal, remote);

        Assert.All(result.Echoes, e => Assert.Equal(shuffledLocal[e.LocalIndex].Text, remote[e.RemoteIndex].Text));
        Assert.Equal(local.Count, result.Echoes.Count);
    }

    [Theory]
    [InlineData("Friday?", "friday", 1.0)]
    [InlineData("Café", "cafe", 1.0)]
    [InlineData("week", "weak", 0.75)]
    [InlineData("schedule", "schedules", 0.889)]
    [InlineData("ok", "oh", 0.0)]
    [InlineData("", "a", 0.0)]
    public void Similarity_NormalisedWords_EditDistanceRatio(string a, string b, double expected) =>
        Assert.Equal(expected, TranscriptEchoDetector.Similarity(TranscriptEchoDetector.Normalize(a), TranscriptEchoDetector.Normalize(b)), 3);

    /// <summary>
    /// pocketsphinx word timings of the default test call (eng/audio/make-echo-transcripts.sh): the raw microphone
    /// channel holds the leaked "hello how are you today" and "thank you goodbye".
    /// </summary>
    [Fact]
    public void Detect_PocketsphinxTimingsOfTheDefaultCall_RemovesEveryLeakedRemoteSentenceAndKeepsEveryLocalOne()
    {
        var local = ReadWords("default-call.ch0.words.tsv");
        var remote = ReadWords("default-call.ch1.words.tsv");

        var result = TranscriptEchoDetector.Detect(local, remote);

        var kept = string.Join(' ', local.Where((_, i) => !result.IsEcho(i)).Select(w => w.Text));
        var removed = string.Join(' ', result.Echoes.Select(e => local[e.LocalIndex].Text));
        Assert.Equal("please send me the report by friday", kept);
        Assert.Equal("hello how are you today thank you goodbye", removed);
        Assert.Equal(EchoDelaySource.Words, result.DelaySource);
        Assert.InRange(result.Delay!.Value, 0.08, 0.16);
    }

    private static List<EchoWord> ReadWords(string file) =>
        [.. File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "TestData", "audio", file))
            .Where(line => line.Length > 0)
            .Select(line => line.Split('\t'))
            .Select(f => new EchoWord(f[0], Parse(f[1]), Parse(f[2]), Parse(f[3])))];

    private static double Parse(string value) => double.Parse(value, CultureInfo.InvariantCulture);
}
