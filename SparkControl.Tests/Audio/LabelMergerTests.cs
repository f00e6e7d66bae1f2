using SparkControl.Core.Audio.LabelMerge;

namespace SparkControl.Tests.Audio;

/// <summary>The label-merge edge cases of audio.md §1.8 (items 1-15), each pinned with its expected speaker.</summary>
public sealed class LabelMergerTests
{
    private static readonly LabelMergeOptions Defaults = new();

    internal static TranscriptWord W(double? start, double? end, string text = "word") => new(text, start, end);

    internal static SpeakerSegment S(double start, double end, string speaker) => new(start, end, speaker);

    private static LabelledWord One(TranscriptWord word, params SpeakerSegment[] segments) => One(word, Defaults, segments);

    private static LabelledWord One(TranscriptWord word, LabelMergeOptions options, params SpeakerSegment[] segments) =>
        Assert.Single(LabelMerger.Assign([word], segments, options).Words);

    [Fact]
    public void Assign_WordInsideOneSegment_ThatSpeakerWithFullConfidence()
    {
        var word = One(W(4.0, 4.5), S(0, 10, "A"), S(10, 20, "B"));

        Assert.Equal(("A", AssignMethod.Overlap, 1.0, 1.0), (word.Speaker, word.Method, word.Confidence, word.Margin));
        Assert.Null(word.Reason);
    }

    [Fact]
    public void Assign_WordAcrossBoundary70To30_MajorityWithConfidence07Margin04()
    {
        var word = One(W(1.0, 2.0), S(0, 1.7, "A"), S(1.7, 5, "B"));

        Assert.Equal(("A", 0.7, 0.4), (word.Speaker, word.Confidence, word.Margin));
    }

    [Fact]
    public void Assign_WordAcrossBoundary50To50_SpeakerContainingTheMidpoint()
    {
        // Half-open intervals: the midpoint 1.5 is the first instant of B, not the last of A.
        var word = One(W(1.0, 2.0), S(0, 1.5, "A"), S(1.5, 3, "B"));

        Assert.Equal(("B", 0.5, 0.0), (word.Speaker, word.Confidence, word.Margin));
    }

    [Theory]
    [InlineData(1.2, 1.5, "A", 0.7)] // A, silence, A: the two overlaps add up (0.2 + 0.5 of a 1 s word)
    [InlineData(1.2, 1.3, "A", 0.9)] // A, a short B, A: 0.2 + 0.7 for A beats 0.1 for B
    public void Assign_WordAcrossASpeakerSplitInTwo_SumsTheOverlaps(double gapStart, double gapEnd, string expected, double confidence)
    {
        var segments = new List<SpeakerSegment> { S(0, gapStart, "A"), S(gapEnd, 3, "A") };
        if (gapEnd - gapStart < 0.2)
        {
            segments.Add(S(gapStart, gapEnd, "B"));
        }

        var word = One(W(1.0, 2.0), [.. segments]);

        Assert.Equal((expected, AssignMethod.Overlap, confidence), (word.Speaker, word.Method, word.Confidence));
    }

    [Theory]
    [InlineData(1.2, 1.4, "A")] // 0.2 s after A, 1.6 s before B
    [InlineData(2.5, 2.8, "B")] // 1.5 s after A, 0.2 s before B
    [InlineData(1.5, 2.5, "A")] // 0.5 s from each: the earlier side wins
    public void Assign_WordInAGap_NearestEdgeWithZeroConfidence(double start, double end, string expected)
    {
        var word = One(W(start, end), S(0, 1, "A"), S(3, 4, "B"));

        Assert.Equal((expected, AssignMethod.Nearest, 0.0), (word.Speaker, word.Method, word.Confidence));
    }

    [Fact]
    public void Assign_WordInAGapWiderThanMaxFillGap_NoSpeakerWithReason()
    {
        var word = One(W(2.5, 3.0), S(0, 1, "A"), S(5, 6, "B"));

        Assert.Equal((null, AssignMethod.Unassigned, UnassignedReasons.BeyondFillGap), (word.Speaker, word.Method, word.Reason));
    }

    [Fact]
    public void Assign_WordInAGapWithFillOff_NoSpeakerWithReason()
    {
        var word = One(W(1.2, 1.4), Defaults with { FillNearest = false }, S(0, 1, "A"), S(3, 4, "B"));

        Assert.Equal((null, UnassignedReasons.NoOverlap), (word.Speaker, word.Reason));
    }

    [Fact]
    public void Assign_WordInAGapThreeCandidates_NearestNotTheFirstListed()
    {
        // OpenWhispr #1421 latched the first candidate; the nearest is listed last.
        var word = One(W(1.9, 2.0), S(10, 11, "C"), S(0, 0.5, "A"), S(2.1, 3, "B"));

        Assert.Equal(("B", AssignMethod.Nearest), (word.Speaker, word.Method));
    }

    [Fact]
    public void Assign_WhisperXNegativeSumCounterexample_NearestSpeakerWins()
    {
        // whisperX PR #590: SPEAKER_00 at [2,3] and [4,5] summed -4 of "negative overlap" against -2 for SPEAKER_01 at
        // [3,4], so the old fill gave SPEAKER_01 although SPEAKER_00 is 1 s away.
        var word = One(W(0, 1), S(2, 3, "SPEAKER_00"), S(4, 5, "SPEAKER_00"), S(3, 4, "SPEAKER_01"));

        Assert.Equal(("SPEAKER_00", AssignMethod.Nearest), (word.Speaker, word.Method));
    }

    [Fact]
    public void Assign_WordJustAfterALongSegment_EdgeDistanceNotMidpoint()
    {
        // whisperX's fill_nearest compares midpoints: A's is 15.2 s away, B's 0.9 s, so it would say B.
        var word = One(W(30.1, 30.3), S(0, 30, "A"), S(31, 31.2, "B"));

        Assert.Equal(("A", AssignMethod.Nearest), (word.Speaker, word.Method));
    }

    [Theory]
    [InlineData(0.5, 0.8, "A", AssignMethod.Nearest)] // 0.2 s before the first segment
    [InlineData(2.5, 2.9, "A", AssignMethod.Nearest)] // 0.5 s after the last
    [InlineData(3.5, 3.9, null, AssignMethod.Unassigned)] // 1.5 s after the last
    public void Assign_BeforeFirstOrAfterLastSegment_NearestWithinTheMaxGap(double start, double end, string? expected, AssignMethod method)
    {
        var word = One(W(start, end), S(1, 2, "A"));

        Assert.Equal((expected, method), (word.Speaker, word.Method));
    }

    [Fact]
    public void Assign_OverlappingSpeechTie_PreviousWordsSpeaker()
    {
        // A talks throughout, B says something over A in [2, 3]: the tie inside goes to whoever spoke the word before.
        var segments = new[] { S(0, 1, "B"), S(1, 5, "A"), S(2, 3, "B") };

        var after = LabelMerger.Assign([W(0.2, 0.6, "yes"), W(2.2, 2.8, "right")], segments, Defaults).Words;
        var alone = One(W(2.2, 2.8), segments);

        Assert.Equal(["B", "B"], after.Select(w => w.Speaker));
        Assert.Equal((0.5, 0.0), (after[1].Confidence, after[1].Margin));
        Assert.Equal("A", alone.Speaker); // no previous word: ordinal order decides
    }

    [Fact]
    public void Assign_OverlappingSpeechUnequal_MoreOverlapWinsWithItsShare()
    {
        var word = One(W(1.5, 2.5), S(0, 5, "A"), S(2, 3, "B"));

        Assert.Equal(("A", 0.6667, 0.3333), (word.Speaker, word.Confidence, word.Margin));
    }

    [Theory]
    [InlineData(4.2, 4.6, "A", 0.5)] // inside both: a tie, ordinal order
    [InlineData(4.0, 5.5, "A", 0.6)] // 1.5 s of A against 1.0 s of B
    [InlineData(3.0, 3.4, "A", 1.0)] // only A
    public void Assign_ShortSegmentNestedInALongOne_SummedOverlapDecides(double start, double end, string expected, double confidence)
    {
        var word = One(W(start, end), Defaults with { BoundaryGuard = TimeSpan.Zero }, S(0, 10, "A"), S(4, 5, "B"));

        Assert.Equal((expected, confidence), (word.Speaker, word.Confidence));
    }

    [Fact]
    public void Assign_ZeroLengthWordInsideSegment_ThatSpeakerAsAPoint()
    {
        var word = One(W(1.0, 1.0), S(0, 2, "A"));

        Assert.Equal(("A", AssignMethod.Midpoint, 1.0), (word.Speaker, word.Method, word.Confidence));
    }

    [Fact]
    public void Assign_ZeroLengthWordOnABoundary_TheSegmentThatStartsThere()
    {
        // [0,2) and [2,4): the instant 2 belongs to B only, but A ends right there, so the confidence is halved.
        var word = One(W(2.0, 2.0), S(0, 2, "A"), S(2, 4, "B"));

        Assert.Equal(("B", AssignMethod.Midpoint, 0.5), (word.Speaker, word.Method, word.Confidence));
    }

    [Fact]
    public void Assign_ZeroLengthWordInAGap_Nearest()
    {
        var word = One(W(1.2, 1.2), S(0, 1, "A"), S(3, 4, "B"));

        Assert.Equal(("A", AssignMethod.Nearest), (word.Speaker, word.Method));
    }

    [Fact]
    public void Assign_WordNextToAnotherSpeakersTurn_LowerConfidence()
    {
        // Fully inside B, but A stopped 50 ms before it: a coarse diarization boundary may have cut A's last word.
        var near = One(W(2.05, 2.4), S(0, 2, "A"), S(2, 4, "B"));
        var far = One(W(2.5, 2.9), S(0, 2, "A"), S(2, 4, "B"));

        Assert.Equal(("B", 0.6), (near.Speaker, near.Confidence));
        Assert.Equal(("B", 1.0), (far.Speaker, far.Confidence));
    }

    [Fact]
    public void Assign_MissingStart_InterpolatedBetweenNeighboursByLength()
    {
        // whisperX #349: aligners leave numbers without times.
        var words = new[] { W(1.0, 1.2, "in"), W(null, null, "2023"), W(null, null, "we"), W(1.8, 2.0, "won") };

        var result = LabelMerger.Assign(words, [S(0, 3, "A")], Defaults).Words;

        Assert.Equal((1.2, 1.6), (result[1].Start, result[1].End)); // 4 of 6 characters of the 0.6 s gap
        Assert.Equal((1.6, 1.8), (result[2].Start, result[2].End));
        Assert.Equal(WordRepairs.MissingStart | WordRepairs.Interpolated, result[1].Repairs);
        Assert.All(result, w => Assert.Equal("A", w.Speaker));
    }

    [Fact]
    public void Assign_MissingStartWithoutNeighbours_NoSpeakerNoTimestamp()
    {
        var words = new[] { W(null, null, "first"), W(1.0, 1.2), W(null, 5.0, "end-only") };

        var result = LabelMerger.Assign(words, [S(0, 10, "A")], Defaults).Words;

        Assert.Equal((null, null, null, UnassignedReasons.NoTimestamp), (result[0].Start, result[0].End, result[0].Speaker, result[0].Reason));
        Assert.Equal(("A", 5.0, 5.0, AssignMethod.Midpoint), (result[2].Speaker, result[2].Start, result[2].End, result[2].Method)); // only an end: a point there
    }

    [Theory]
    [InlineData(1.0, null, 1.0, 1.0, WordRepairs.MissingEnd)]
    [InlineData(1.0, 0.5, 1.0, 1.0, WordRepairs.Reversed)]
    [InlineData(1.0, double.NaN, 1.0, 1.0, WordRepairs.MissingEnd)]
    [InlineData(1.0, double.PositiveInfinity, 1.0, 1.0, WordRepairs.MissingEnd)]
    [InlineData(-0.3, 0.4, 0.0, 0.4, WordRepairs.Negative)]
    [InlineData(-0.3, -0.1, 0.0, 0.0, WordRepairs.Negative)]
    [InlineData(1.00049, 1.2004, 1.0, 1.2, WordRepairs.None)] // quantised to 1 ms
    public void Assign_BadTimes_SanitizedAndStillAssigned(double start, double? end, double expectedStart, double expectedEnd, WordRepairs repairs)
    {
        var word = One(W(start, end), S(0, 5, "A"));

        Assert.Equal((expectedStart, expectedEnd, repairs, "A"), (word.Start, word.End, word.Repairs, word.Speaker));
    }

    [Fact]
    public void Assign_NaNOrInfiniteStart_CountsAsMissing()
    {
        var result = LabelMerger.Assign([W(double.NaN, 1.0), W(double.NegativeInfinity, null)], [S(0, 5, "A")], Defaults).Words;

        Assert.Equal((1.0, 1.0, "A"), (result[0].Start, result[0].End, result[0].Speaker));
        Assert.Equal((null, UnassignedReasons.NoTimestamp), (result[1].Speaker, result[1].Reason));
    }

    [Fact]
    public void Assign_UnsortedWordsAndSegments_SameAsSortedInInputOrder()
    {
        var words = new[] { W(5.0, 5.4, "c"), W(0.2, 0.5, "a"), W(2.4, 2.8, "b") };
        var segments = new[] { S(4, 6, "A"), S(0, 1, "A"), S(2, 3, "B") };

        var unsorted = LabelMerger.Assign(words, segments, Defaults).Words;
        var sorted = LabelMerger.Assign([words[1], words[2], words[0]], [segments[1], segments[2], segments[0]], Defaults).Words;

        Assert.Equal(["c", "a", "b"], unsorted.Select(w => w.Text));
        Assert.Equal(["A", "A", "B"], unsorted.Select(w => w.Speaker));
        Assert.Equal(sorted.Select(w => (w.Text, w.Speaker, w.Confidence)).Order(), unsorted.Select(w => (w.Text, w.Speaker, w.Confidence)).Order());
        Assert.Equal(WordRepairs.OutOfOrder, unsorted[1].Repairs);
    }

    [Fact]
    public void Assign_DuplicateSegments_CountOnce()
    {
        // Repeated B segments must not outweigh A: 0.4 s of A against 0.6 s of B, counted once.
        var once = One(W(1.0, 2.0), S(0, 1.4, "A"), S(1.4, 3, "B"));
        var twice = One(W(1.0, 2.0), S(0, 1.4, "A"), S(1.4, 3, "B"), S(1.4, 3, "B"), S(1.5, 2.5, "B"));

        Assert.Equal(once, twice);
        Assert.Equal(("B", 0.6), (twice.Speaker, twice.Confidence));
    }

    [Fact]
    public void Assign_EmptyOrReversedOrUnnamedSegments_DroppedAndCounted()
    {
        var result = LabelMerger.Assign([W(1.0, 1.5)], [S(1, 1, "A"), S(2, 1, "A"), S(0, double.NaN, "A"), S(0, 3, " "), S(0, 3, "B")], Defaults);

        Assert.Equal(4, result.DroppedSegments);
        Assert.Equal("B", result.Words[0].Speaker);
    }

    [Fact]
    public void Assign_EmptyDiarization_EveryWordUnassignedWithReason()
    {
        var result = LabelMerger.Assign([W(0, 1), W(1, 2)], [], Defaults).Words;

        Assert.All(result, w => Assert.Equal((null, AssignMethod.Unassigned, UnassignedReasons.NoDiarization), (w.Speaker, w.Method, w.Reason)));
    }

    [Fact]
    public void Assign_EmptyDiarizationWithDefaultSpeaker_DefaultForEveryWord()
    {
        var result = LabelMerger.Assign([W(0, 1), W(null, null)], [], Defaults with { DefaultSpeaker = "Narrator" }).Words;

        Assert.All(result, w => Assert.Equal(("Narrator", AssignMethod.Default, 0.0), (w.Speaker, w.Method, w.Confidence)));
        Assert.Equal([UnassignedReasons.NoDiarization, UnassignedReasons.NoTimestamp], result.Select(w => w.Reason));
    }

    [Fact]
    public void Merge_NoWords_EmptyResult()
    {
        var result = LabelMerger.Merge([], [S(0, 1, "A")], Defaults);

        Assert.Empty(result.Words);
        Assert.Empty(result.Utterances);
    }

    [Theory]
    [InlineData(1.5, "A", WordRepairs.Capped)] // counted as [0, 1.5): 1.0 s of A, 0.5 s of B
    [InlineData(0, "B", WordRepairs.None)] // the whole 8 s: 7 s of B
    public void Assign_HugeWord_CappedForAssignmentOnly(double maxWordSeconds, string expected, WordRepairs repairs)
    {
        var word = One(W(0, 8), Defaults with { MaxWordDuration = TimeSpan.FromSeconds(maxWordSeconds) }, S(0, 1, "A"), S(1, 10, "B"));

        Assert.Equal((expected, repairs, 8.0), (word.Speaker, word.Repairs, word.End));
    }

    [Fact]
    public void Assign_WordRunningIntoTheNext_TrimmedForAssignment()
    {
        var result = LabelMerger.Assign([W(0.8, 1.6, "stretched"), W(1.1, 1.3, "next")], [S(0, 1.2, "A"), S(1.2, 3, "B")], Defaults).Words;

        // Counted as [0.8, 1.1): all A, where it would otherwise have been 0.4 A against 0.4 B.
        Assert.Equal(("A", WordRepairs.Trimmed, 1.6), (result[0].Speaker, result[0].Repairs, result[0].End));
    }

    [Theory]
    [InlineData("SPEAKER_00", "SPEAKER_01", "SPEAKER_00")]
    [InlineData("B", "A", "A")]
    [InlineData("speaker_SPEAKER_00", "SPEAKER_00", "SPEAKER_00")]
    [InlineData("9", "10", "10")] // ordinal, not numeric: labels are names
    [InlineData("b", "B", "B")]
    public void Assign_TiedLabels_OrdinalOrderDecides(string first, string second, string expected)
    {
        // Both cover the word fully and contain its midpoint: the only difference is the label.
        var word = One(W(1.0, 1.5), S(0, 3, first), S(0, 3, second));

        Assert.Equal((expected, 0.5), (word.Speaker, word.Confidence));
    }

    [Fact]
    public void Assign_LabelsWithAnyCharacters_ReturnedAsGiven()
    {
        var segments = new[] { S(0, 1, "SPEAKER_00"), S(1, 2, "A"), S(2, 3, "speaker_SPEAKER_00"), S(3, 4, "42"), S(4, 5, "Ünïcødé 話者") };

        var result = LabelMerger.Assign([.. Enumerable.Range(0, 5).Select(k => W(k + 0.3, k + 0.6))], segments, Defaults).Words;

        Assert.Equal(segments.Select(s => s.Speaker), result.Select(w => w.Speaker));
    }
}
