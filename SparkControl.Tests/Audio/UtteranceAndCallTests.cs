using static SparkControl.Tests.Audio.LabelMergerTests;
using SparkControl.Core.Audio.LabelMerge;

namespace SparkControl.Tests.Audio;

/// <summary>Utterance grouping (audio.md §1.6), the two-channel call merge (§1.7, item 16 without echo) and the writers.</summary>
public sealed class UtteranceAndCallTests
{
    private static readonly LabelMergeOptions Defaults = new();

    private static LabelMergeResult Merge(TranscriptWord[] words, params SpeakerSegment[] segments) => LabelMerger.Merge(words, segments, Defaults);

    [Fact]
    public void Group_SpeakerChangeAndLongPause_NewUtterances()
    {
        var words = new[] { W(0.0, 0.4, "Hello"), W(0.5, 0.9, "there."), W(1.2, 1.5, "Hi!"), W(2.6, 3.0, "Anyway,"), W(3.1, 3.4, "so") };

        var result = Merge(words, S(0, 1, "A"), S(1, 10, "B"));

        // 1.1 s from "Hi!" to "Anyway," is more than the 1 s MaxPause.
        Assert.Equal([("A", 0.0, 0.9, "Hello there."), ("B", 1.2, 1.5, "Hi!"), ("B", 2.6, 3.4, "Anyway, so")], result.Utterances.Select(u => (u.Speaker, u.Start, u.End, u.Text)));
        Assert.Equal([0, 1], result.Utterances[0].Words);
        Assert.All(result.Utterances, u => Assert.False(u.Overlap));
    }

    [Fact]
    public void Group_PauseExactlyMaxPause_SameUtterance()
    {
        var result = Merge([W(0.0, 0.5, "a"), W(1.5, 2.0, "b")], S(0, 3, "A"));

        Assert.Equal("a b", Assert.Single(result.Utterances).Text);
    }

    [Fact]
    public void Group_LongerThanMaxUtterance_SplitAtTheNextSentenceEnd()
    {
        var words = new[] { W(0, 1, "One"), W(1, 2, "two."), W(2, 3, "Three"), W(3, 4, "four."), W(4, 5, "Five.") };

        var result = LabelMerger.Merge(words, [S(0, 5, "A")], Defaults with { MaxUtterance = TimeSpan.FromSeconds(2.5) });

        // Not at "two." (2 s long), but at "four." (4 s); then a new one.
        Assert.Equal(["One two. Three four.", "Five."], result.Utterances.Select(u => u.Text));
    }

    [Fact]
    public void Group_WordsWithoutTimes_StayInTheTextWhereTheyWere()
    {
        var words = new[] { W(null, null, "Well,"), W(0.0, 0.5, "it"), W(0.5, 0.9, "costs"), W(null, null, "$50"), W(null, null, "tax") };

        var result = Merge(words, S(0, 1, "A"));

        Assert.Equal("Well, it costs $50 tax", Assert.Single(result.Utterances).Text);
        Assert.Equal((0.0, 0.9), (result.Utterances[0].Start, result.Utterances[0].End));
    }

    [Fact]
    public void Group_PunctuationTokens_JoinedWithoutASpace()
    {
        Assert.Equal("Yes, really?!", UtteranceGrouper.JoinWords([" Yes", ",", " really", "?", "!"]));
        Assert.Equal("a b", UtteranceGrouper.JoinWords(["a\n", "", "  b"]));
    }

    [Fact]
    public void Group_UnassignedWordsBetweenSpeakers_OwnUtteranceWithoutSpeaker()
    {
        var result = Merge([W(0, 0.5, "a"), W(3, 3.5, "lost"), W(6, 6.5, "b")], S(0, 1, "A"), S(5.5, 7, "B"));

        Assert.Equal([("A", "a"), (null, "lost"), ("B", "b")], result.Utterances.Select(u => (u.Speaker, u.Text)));
    }

    [Fact]
    public void Merge_CallWithCrosstalk_TwoOverlappingUtterancesNeverInterleaved()
    {
        var local = new[] { W(0.0, 0.4, "please"), W(0.5, 0.9, "send"), W(1.0, 1.4, "the"), W(1.5, 2.0, "report") };
        var remote = new[] { W(1.2, 1.5, "thank"), W(1.6, 1.8, "you"), W(1.9, 2.4, "goodbye") };

        var result = CallMerger.Merge([new ChannelTranscript(local), new ChannelTranscript(remote)], Defaults, "Local", "Remote");

        Assert.Equal([("Local", "please send the report", 0, true), ("Remote", "thank you goodbye", 1, true)], result.Utterances.Select(u => (u.Speaker, u.Text, u.Channel, u.Overlap)));
        Assert.Equal(7, result.Words.Count);
        Assert.All(result.Words.Take(4), w => Assert.Equal(("Local", AssignMethod.Channel, 1.0, 0), (w.Speaker, w.Method, w.Confidence, w.Channel)));
        Assert.All(result.Words.Skip(4), w => Assert.Equal(("Remote", 1), (w.Speaker, w.Channel)));
        Assert.Equal([4, 5, 6], result.Utterances[1].Words); // indices into the combined list: channel 0, then channel 1
    }

    [Fact]
    public void Merge_CallWithIdenticalStarts_RemoteFirst()
    {
        var result = CallMerger.Merge([new ChannelTranscript([W(1.0, 1.5, "yes")]), new ChannelTranscript([W(1.0, 1.3, "ok?")])], Defaults, "Local", "Remote");

        Assert.Equal(["Remote", "Local"], result.Utterances.Select(u => u.Speaker));
        Assert.All(result.Utterances, u => Assert.True(u.Overlap));
    }

    [Fact]
    public void Merge_CallBackToBack_NoOverlapMarked()
    {
        var result = CallMerger.Merge([new ChannelTranscript([W(0, 1, "question?")]), new ChannelTranscript([W(1, 2, "answer")])], Defaults, "Local", "Remote");

        Assert.Equal([("Local", false), ("Remote", false)], result.Utterances.Select(u => (u.Speaker, u.Overlap)));
    }

    [Fact]
    public void Merge_CallNames_RequestBeforeSettings()
    {
        var named = CallMerger.Merge([new ChannelTranscript([W(0, 1, "a")], Speaker: "Alice"), new ChannelTranscript([W(2, 3, "b")], Speaker: "Bob")], Defaults, "Local", "Remote");
        var defaults = CallMerger.Merge([new ChannelTranscript([W(0, 1, "a")])], Defaults, "Me", "Remote");

        Assert.Equal(["Alice", "Bob"], named.Utterances.Select(u => u.Speaker));
        Assert.Equal("Me", Assert.Single(defaults.Utterances).Speaker);
    }

    [Fact]
    public void Merge_CallRemoteDiarized_SeveralRemoteSpeakersWithChannelFallback()
    {
        var remote = new ChannelTranscript([W(0.1, 0.5, "hi"), W(2.1, 2.5, "hello"), W(9.0, 9.4, "stray")], [S(0, 1, "SPEAKER_00"), S(2, 3, "SPEAKER_01")], Speaker: "Remote");

        var result = CallMerger.Merge([new ChannelTranscript([W(5, 6, "me")]), remote], Defaults, "Local", "Remote");

        Assert.Equal(["Local", "SPEAKER_00", "SPEAKER_01", "Remote"], result.Words.Select(w => w.Speaker));
        Assert.Equal((AssignMethod.Default, UnassignedReasons.BeyondFillGap), (result.Words[3].Method, result.Words[3].Reason));
    }

    [Fact]
    public void Merge_CallWithLocalWordFilter_DroppedWordsReportedAndLeftOutOfUtterances()
    {
        // The hook a later echo-removal step plugs into: here a stand-in that drops local words whose text the remote
        // side said within 0.3 s before.
        var local = new[] { W(0.62, 0.9, "hello"), W(1.0, 1.3, "yes"), W(1.4, 1.8, "indeed") };
        var remote = new[] { W(0.5, 0.8, "hello") };
        var echo = new LocalWordFilter("echo", (l, r) => [.. l.Where(w => r.Any(x => x.Text == w.Text && w.Start - x.Start is >= 0 and <= 0.3)).Select(w => w.Index)]);

        var result = CallMerger.Merge([new ChannelTranscript(local), new ChannelTranscript(remote)], Defaults, "Local", "Remote", echo);

        Assert.Equal((true, "echo"), (result.Words[0].Dropped, result.Words[0].Reason));
        Assert.Equal([("Remote", "hello"), ("Local", "yes indeed")], result.Utterances.Select(u => (u.Speaker, u.Text)));
        Assert.All(result.Utterances, u => Assert.False(u.Overlap));
    }

    [Fact]
    public void Merge_ThreeChannels_Refused()
    {
        var channel = new ChannelTranscript([W(0, 1)]);

        Assert.Throws<ArgumentException>(() => CallMerger.Merge([channel, channel, channel], Defaults, "Local", "Remote"));
    }

    [Fact]
    public void Srt_TwoSpeakers_NumberedCuesWithNames()
    {
        var result = Merge([W(0.5, 1.0, "Hello"), W(1.0, 1.25, "there."), W(61.5, 62.0, "Hi.")], S(0, 2, "Alice"), S(61, 63, "Bob"));

        Assert.Equal("1\n00:00:00,500 --> 00:00:01,250\nAlice: Hello there.\n\n2\n00:01:01,500 --> 00:01:02,000\nBob: Hi.\n\n", TranscriptWriter.Srt(result));
    }

    [Fact]
    public void WebVtt_SpeakerNames_VoiceTagsEscaped()
    {
        var result = Merge([W(3600.0, 3600.5, "<b>&"), W(3601, 3601.2, "lost")], S(3599, 3600.6, "R&D <team>"));

        Assert.Equal("WEBVTT\n\n01:00:00.000 --> 01:00:01.200\n<v R&amp;D &lt;team&gt;>&lt;b&gt;&amp; lost\n\n", TranscriptWriter.WebVtt(result));
    }

    [Fact]
    public void PlainText_Utterances_OneLineEachUnknownNamed()
    {
        var result = Merge([W(0, 0.5, "a"), W(5, 5.5, "b")], S(0, 1, "A"));

        Assert.Equal("[00:00:00] A: a\n[00:00:05] Unknown: b\n", TranscriptWriter.PlainText(result));
    }

    [Fact]
    public void Srt_LongUtterance_SplitIntoReadableCues()
    {
        var words = Enumerable.Range(0, 40).Select(k => W(k * 0.5, (k * 0.5) + 0.4, $"word{k:00}")).ToArray();

        var cues = TranscriptWriter.Cues(Merge(words, S(0, 30, "A"))).ToList();

        Assert.True(cues.Count > 2);
        Assert.All(cues, c => Assert.True(c.Text.Length <= TranscriptWriter.MaxCueCharacters && c.End - c.Start <= 7.0, $"{c}"));
        Assert.Equal(string.Join(' ', words.Select(w => w.Text)), string.Join(' ', cues.Select(c => c.Text)));
    }
}
