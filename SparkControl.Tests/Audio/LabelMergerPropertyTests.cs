using CsCheck;
using SparkControl.Core.Audio.LabelMerge;

namespace SparkControl.Tests.Audio;

/// <summary>
/// audio.md §1.8 item 18: the sweep must give exactly what the O(n·m) reference gives. Times sit on a coarse grid so
/// that ties, shared boundaries, zero-length words and exact gap distances happen often, not by luck.
/// </summary>
public sealed class LabelMergerPropertyTests
{
    private static readonly Gen<double?> Time = Gen.Frequency(
        (20, Gen.Int[0, 60].Select(t => (double?)(t * 0.25))),
        (3, Gen.Int[0, 15000].Select(t => (double?)(t / 1000.0))),
        (1, Gen.OneOf<double?>(null, double.NaN, -0.5, 1e9)));

    // The end is start + offset: often a grid step, sometimes missing, reversed or huge; a word may have only an end.
    private static readonly Gen<double?> EndOffset = Gen.Frequency(
        (6, Gen.Int[0, 8].Select(d => (double?)(d * 0.25))),
        (1, Gen.OneOf<double?>(null, -1.0, 9.0)));

    private static readonly Gen<TranscriptWord> Word =
        Gen.Select(Time, EndOffset, Gen.OneOf("a", "word", "longer"),
            (start, offset, text) => new TranscriptWord(text, start, offset is { } o ? (start ?? 2.0) + o : null));

    private static readonly Gen<SpeakerSegment> Segment =
        Gen.Select(Gen.Int[0, 60], Gen.Int[-1, 24], Gen.OneOf("A", "B", "C", "10", "9"),
            (start, length, speaker) => new SpeakerSegment(start * 0.25, (start + length) * 0.25, speaker));

    private static readonly Gen<LabelMergeOptions> Options =
        Gen.Select(Gen.Int[0, 8], Gen.Bool, Gen.OneOf(0, 500, 1500), Gen.OneOf(0, 250, 600),
            (gapQuarters, fill, maxWordMs, guardMs) => new LabelMergeOptions
            {
                MaxFillGap = TimeSpan.FromSeconds(gapQuarters * 0.25),
                FillNearest = fill,
                MaxWordDuration = TimeSpan.FromMilliseconds(maxWordMs),
                BoundaryGuard = TimeSpan.FromMilliseconds(guardMs),
            });

    [Fact]
    public void Assign_RandomInputs_SweepEqualsBruteForce()
    {
        var cases = Gen.Select(Word.Array[0, 40], Segment.Array[0, 25], Options);

        cases.Sample(
            (words, segments, options) =>
            {
                var sweep = LabelMerger.Assign(words, segments, options);
                var reference = ReferenceLabelMerger.Assign(words, segments, options);

                Assert.Equal(reference.DroppedSegments, sweep.DroppedSegments);
                Assert.Equal(reference.Words, sweep.Words);
            },
            iter: 2_000,
            threads: 1);
    }

    [Fact]
    public void Assign_RandomInputs_EveryWordKeptInOrderWithAValidConfidence()
    {
        var cases = Gen.Select(Word.Array[0, 40], Segment.Array[0, 25], Options);

        cases.Sample(
            (words, segments, options) =>
            {
                var result = LabelMerger.Assign(words, segments, options).Words;

                Assert.Equal(words.Length, result.Length);
                for (var i = 0; i < result.Length; i++)
                {
                    Assert.Equal((i, words[i].Text), (result[i].Index, result[i].Text));
                    Assert.InRange(result[i].Confidence, 0, 1);
                    Assert.Equal(result[i].Speaker is null, result[i].Method == AssignMethod.Unassigned);
                    Assert.Equal(result[i].Reason is not null, result[i].Speaker is null);
                    Assert.True(result[i].Start is null || (result[i].Start >= 0 && result[i].End >= result[i].Start));
                }
            },
            iter: 1_000,
            threads: 1);
    }
}
