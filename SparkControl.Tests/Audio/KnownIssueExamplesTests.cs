using static SparkControl.Tests.Audio.LabelMergerTests;
using SparkControl.Core.Audio.LabelMerge;

namespace SparkControl.Tests.Audio;

/// <summary>The failures of popular tools collected in audio.md §1.1, rebuilt as inputs, with what we give instead.</summary>
public sealed class KnownIssueExamplesTests
{
    private static readonly LabelMergeOptions Defaults = new();

    [Fact]
    public void Assign_WhisperX1072_BackchannelInADiarizationGap_StillHasASpeaker()
    {
        // pyannote drops a short "yeah" between two turns; whisperX without fill_nearest left it without a speaker key.
        var words = new[] { W(0.5, 0.9, "so"), W(1.0, 1.4, "anyway"), W(1.62, 1.8, "yeah"), W(2.3, 2.6, "right") };
        var segments = new[] { S(0.4, 1.5, "SPEAKER_00"), S(2.2, 3.0, "SPEAKER_01") };

        var result = LabelMerger.Assign(words, segments, Defaults).Words;

        Assert.Equal(["SPEAKER_00", "SPEAKER_00", "SPEAKER_00", "SPEAKER_01"], result.Select(w => w.Speaker));
        Assert.Equal((AssignMethod.Nearest, 0.0), (result[2].Method, result[2].Confidence)); // a referee candidate
    }

    [Fact]
    public void Assign_WhisperX349_NumbersWithoutTimestamps_InterpolatedAndAssigned()
    {
        // wav2vec2 alignment cannot place tokens without phonemes: "$" and "50" come back without start and end.
        var words = new[] { W(3.0, 3.3, "costs"), W(null, null, "$"), W(null, null, "50"), W(3.9, 4.2, "today") };
        var segments = new[] { S(2.8, 3.5, "SPEAKER_00"), S(3.5, 5, "SPEAKER_01") };

        var result = LabelMerger.Assign(words, segments, Defaults).Words;

        Assert.All(result, w => Assert.NotNull(w.Speaker));
        Assert.Equal((3.3, 3.5, "SPEAKER_00"), (result[1].Start, result[1].End, result[1].Speaker)); // "$" is 1 of the 3 characters spread over the 0.6 s gap
        Assert.Equal((3.5, 3.9, "SPEAKER_01"), (result[2].Start, result[2].End, result[2].Speaker));
    }

    [Fact]
    public void Assign_WhisperX270_WordStretchedOverSilence_CappedToItsSpeaker()
    {
        // "Mommy," aligned 118.954 -> 127.201: A said it, then silence, then B talked for six seconds.
        var segments = new[] { S(117.0, 119.4, "A"), S(121.0, 128.0, "B") };

        var capped = Assert.Single(LabelMerger.Assign([W(118.954, 127.201, "Mommy,")], segments, Defaults).Words);
        var uncapped = Assert.Single(LabelMerger.Assign([W(118.954, 127.201, "Mommy,")], segments, Defaults with { MaxWordDuration = TimeSpan.Zero }).Words);

        Assert.Equal(("A", WordRepairs.Capped), (capped.Speaker, capped.Repairs));
        Assert.Equal("B", uncapped.Speaker); // what plain summed overlap says
        Assert.Equal(127.201, capped.End); // the reported times are the recogniser's
    }

    [Fact]
    public void Assign_MeetPR1323_WordStretchedIntoTheNextTurn_KeepsItsSpeaker()
    {
        // suitenumerique/meet: "pense" 3.989 -> 7.769 while the next speaker starts at 4.6.
        var words = new[] { W(3.5, 3.98, "je"), W(3.989, 7.769, "pense"), W(4.7, 5.0, "oui") };
        var segments = new[] { S(3.4, 4.5, "A"), S(4.6, 8, "B") };

        var result = LabelMerger.Assign(words, segments, Defaults).Words;

        // Trimmed at the next word (4.7): 0.511 s of A against 0.1 s of B.
        Assert.Equal(["A", "A", "B"], result.Select(w => w.Speaker));
        Assert.Equal(WordRepairs.Trimmed, result[1].Repairs & WordRepairs.Trimmed);
    }

    [Fact]
    public void Assign_WhisperX1338_MidpointFill_WouldPickTheShortSegmentAcrossTheGap()
    {
        // Since Feb 2026 whisperX fills from the nearest midpoint; edge distance keeps the word with the long turn.
        var word = Assert.Single(LabelMerger.Assign([W(30.1, 30.3)], [S(0, 30, "A"), S(31, 31.2, "B")], Defaults).Words);

        Assert.Equal("A", word.Speaker);
    }

    [Fact]
    public void Assign_WhisperXZeroLengthWord_GetsTheSpeakerAroundIt()
    {
        // whisperX needs intersection > 0, so TDT words with start == end only ever got a speaker through the fill.
        var result = LabelMerger.Assign([W(1.28, 1.28, "a"), W(1.36, 1.36, "b")], [S(0, 1.3, "A"), S(1.3, 3, "B")], Defaults with { BoundaryGuard = TimeSpan.Zero }).Words;

        Assert.Equal([("A", AssignMethod.Midpoint, 1.0), ("B", AssignMethod.Midpoint, 1.0)], result.Select(w => (w.Speaker, w.Method, w.Confidence)));
    }

    [Fact]
    public void Assign_OpenTranscribe193_LastWordJustOverACoarseBoundary_FlaggedLowConfidence()
    {
        // Diarization put the change 120 ms early: "Friday" belongs to A but lies inside B's turn, right at its edge.
        var words = new[] { W(5.0, 5.5, "by"), W(5.62, 6.1, "Friday"), W(6.8, 7.2, "sure") };
        var segments = new[] { S(3.0, 5.6, "A"), S(5.6, 8.0, "B") };

        var result = LabelMerger.Assign(words, segments, Defaults).Words;

        Assert.Equal("B", result[1].Speaker); // the majority rule cannot know better...
        Assert.True(result[1].Confidence < 0.6, $"confidence {result[1].Confidence}"); // ...but says it is unsure
        Assert.Equal(1.0, result[2].Confidence);
    }

    [Fact]
    public void Merge_Sagascript65_OneLongSegmentTwoSpeakers_SplitPerWord()
    {
        // Assigning a whole 6-word ASR segment to one speaker cost sagascript 60 % DER; per word, both turns survive.
        var transcript = AsrFormats.Parse("""{"segments":[{"start":0.0,"end":3.0,"text":" are you coming tonight yes sure"}]}""");

        var result = LabelMerger.Merge(transcript.Words, [S(0, 1.9, "A"), S(1.9, 3.0, "B")], Defaults);

        Assert.Equal([("A", "are you coming tonight"), ("B", "yes sure")], result.Utterances.Select(u => (u.Speaker, u.Text)));
        Assert.All(result.Words, w => Assert.True(w.Repairs.HasFlag(WordRepairs.Interpolated)));
    }
}
