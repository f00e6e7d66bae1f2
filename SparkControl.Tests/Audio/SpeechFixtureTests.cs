using SparkControl.Core.Audio.LabelMerge;

namespace SparkControl.Tests.Audio;

/// <summary>
/// Real speech: espeak-ng spoke a two-person conversation and pocketsphinx transcribed it with word timings
/// (eng/audio/make-label-merge-fixture.sh regenerates TestData/audio/label-merge). The diarization is where each
/// sentence was placed; the recogniser's word boundaries are its own (they start up to ~0.1 s before a sentence and
/// sit on a 10 ms grid), so the boundary words are real boundary cases.
/// </summary>
public sealed class SpeechFixtureTests
{
    private static readonly string Directory = Path.Combine(AppContext.BaseDirectory, "TestData", "audio", "label-merge");

    private static string Read(string name) => File.ReadAllText(Path.Combine(Directory, name));

    /// <summary>turns.tsv: id, speaker, start, end, sentence.</summary>
    private static List<(string Speaker, double Start, double End, string Text)> Turns(string name) =>
        [.. File.ReadAllLines(Path.Combine(Directory, name)).Select(l => l.Split('\t')).Select(f => (f[1], double.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture), double.Parse(f[3], System.Globalization.CultureInfo.InvariantCulture), f[4]))];

    [Fact]
    public void Merge_RecognisedConversationWithRttm_EveryWordGetsTheSpeakerWhoSaidIt()
    {
        var transcript = AsrFormats.Parse(Read("conversation.words.json"));
        var (segments, format) = DiarizationFormats.Parse(Read("conversation.rttm"));
        var turns = Turns("conversation.turns.tsv");
        var truth = turns.SelectMany(t => t.Text.Split(' ').Select(word => (Word: word, t.Speaker))).ToList();

        var result = LabelMerger.Merge(transcript.Words, segments, new LabelMergeOptions());

        Assert.Equal(("verbose_json", "RTTM"), (transcript.Format, format));
        Assert.Equal(truth.Select(t => t.Word), result.Words.Select(w => w.Text)); // the grammar makes recognition exact
        Assert.Equal(truth.Select(t => t.Speaker), result.Words.Select(w => w.Speaker));
        Assert.Equal(turns.Select(t => (t.Speaker, t.Text)), result.Utterances.Select(u => (u.Speaker!, u.Text)));
        Assert.All(result.Utterances, u => Assert.False(u.Overlap));
    }

    [Fact]
    public void Merge_RecognisedConversation_LowConfidenceOnlyWhereTurnsMeet()
    {
        var transcript = AsrFormats.Parse(Read("conversation.words.json"));
        var turns = Turns("conversation.turns.tsv");

        var words = LabelMerger.Merge(transcript.Words, DiarizationFormats.Parse(Read("conversation.rttm")).Segments, new LabelMergeOptions()).Words;

        // pocketsphinx starts a sentence's first word in the silence before it: partly outside the diarized turn.
        var unsure = words.Where(w => w.Confidence < 0.6).ToList();
        Assert.NotEmpty(unsure);
        Assert.All(unsure, w => Assert.Contains(turns, t => Math.Min(Math.Abs(w.Start!.Value - t.Start), Math.Abs(w.End!.Value - t.End)) < 0.25));
        Assert.True(words.Count(w => w.Confidence == 1.0) >= words.Count * 2 / 3, string.Join(", ", words.Select(w => $"{w.Text}:{w.Confidence}")));
    }

    [Fact]
    public void Merge_CoarseDiarization_BoundaryWordsStillRightAndFlagged()
    {
        // pyannote-like output: boundaries rounded to 0.25 s, and the quiet gap after each turn trimmed away.
        var transcript = AsrFormats.Parse(Read("conversation.words.json"));
        var segments = DiarizationFormats.Parse(Read("conversation.rttm")).Segments
            .Select(s => s with { Start = Math.Round(s.Start * 4) / 4, End = (Math.Round(s.End * 4) / 4) - 0.1 }).ToList();
        var truth = Turns("conversation.turns.tsv").SelectMany(t => t.Text.Split(' ').Select(_ => t.Speaker)).ToList();

        var words = LabelMerger.Merge(transcript.Words, segments, new LabelMergeOptions()).Words;

        Assert.Equal(truth, words.Select(w => w.Speaker));
        Assert.Contains(words, w => w.Method == AssignMethod.Nearest);
    }

    [Fact]
    public void Merge_RecognisedCallChannels_CrosstalkIsTwoOverlappingUtterances()
    {
        var local = AsrFormats.Parse(Read("call.local.words.json")).Words;
        var remote = AsrFormats.Parse(Read("call.remote.words.json")).Words;
        var turns = Turns("call.turns.tsv");

        var result = CallMerger.Merge([new ChannelTranscript(local), new ChannelTranscript(remote)], new LabelMergeOptions(), "Local", "Remote");

        var expected = turns.Select(t => (t.Speaker == "SPEAKER_00" ? "Local" : "Remote", t.Text)).ToList();
        Assert.Equal(expected, result.Utterances.Select(u => (u.Speaker!, u.Text)));
        Assert.Equal([false, false, false, false, true, true], result.Utterances.Select(u => u.Overlap));
        Assert.True(result.Utterances[5].Start < result.Utterances[4].End); // the goodbye starts before the fox sentence ends
    }
}
