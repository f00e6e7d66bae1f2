namespace SparkControl.Core.Audio.LabelMerge;

/// <summary>
/// Diarization segments ready for assignment: millisecond times; segments that are not finite, empty, reversed or
/// unnamed dropped (and counted); negative starts moved to zero; each speaker's overlapping or touching segments
/// merged, so duplicates never count twice and a speaker's overlap with a word is the measured time that speaker talks;
/// sorted by (start, speaker, end). Speakers are numbered in ordinal order of their labels, which is the final
/// tie-break everywhere.
/// </summary>
internal sealed class DiarizationTimeline
{
    private DiarizationTimeline(long[] start, long[] end, int[] speaker, string[] names, int dropped)
    {
        Start = start;
        End = end;
        Speaker = speaker;
        Names = names;
        Dropped = dropped;
    }

    public long[] Start { get; }
    public long[] End { get; }
    public int[] Speaker { get; }

    /// <summary>Speaker labels by number, in ordinal order.</summary>
    public string[] Names { get; }

    public int Dropped { get; }

    public int Count => Start.Length;

    public static DiarizationTimeline Build(IReadOnlyList<SpeakerSegment> segments)
    {
        var valid = new List<(long Start, long End, string Speaker)>(segments.Count);
        var dropped = 0;
        foreach (var segment in segments)
        {
            if (!double.IsFinite(segment.Start) || !double.IsFinite(segment.End) || string.IsNullOrWhiteSpace(segment.Speaker))
            {
                dropped++;
                continue;
            }

            var start = Math.Max(0, WordSanitizer.ToMilliseconds(segment.Start));
            var end = WordSanitizer.ToMilliseconds(segment.End);
            if (end <= start)
            {
                dropped++;
                continue;
            }

            valid.Add((start, end, segment.Speaker));
        }

        var names = valid.Select(s => s.Speaker).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var ids = new Dictionary<string, int>(names.Length, StringComparer.Ordinal);
        for (var i = 0; i < names.Length; i++)
        {
            ids[names[i]] = i;
        }

        // Union per speaker: sort by (speaker, start), then fold each segment into the previous one it touches.
        var bySpeaker = valid.Select(s => (s.Start, s.End, Speaker: ids[s.Speaker])).ToArray();
        Array.Sort(bySpeaker, (x, y) => x.Speaker != y.Speaker ? x.Speaker.CompareTo(y.Speaker) : x.Start != y.Start ? x.Start.CompareTo(y.Start) : x.End.CompareTo(y.End));
        var merged = new List<(long Start, long End, int Speaker)>(bySpeaker.Length);
        foreach (var segment in bySpeaker)
        {
            if (merged.Count > 0 && merged[^1].Speaker == segment.Speaker && segment.Start <= merged[^1].End)
            {
                merged[^1] = merged[^1] with { End = Math.Max(merged[^1].End, segment.End) };
            }
            else
            {
                merged.Add(segment);
            }
        }

        merged.Sort((x, y) => x.Start != y.Start ? x.Start.CompareTo(y.Start) : x.Speaker != y.Speaker ? x.Speaker.CompareTo(y.Speaker) : x.End.CompareTo(y.End));
        return new DiarizationTimeline(
            [.. merged.Select(s => s.Start)],
            [.. merged.Select(s => s.End)],
            [.. merged.Select(s => s.Speaker)],
            names,
            dropped);
    }
}

/// <summary>The confidence and margin of one assignment (audio.md §1.4), shared by the sweep and the reference.</summary>
internal static class AssignmentScore
{
    /// <summary>
    /// <paramref name="best"/>, <paramref name="second"/> and <paramref name="total"/> are the overlap (ms, or segment
    /// counts for a point word) of the chosen speaker, the runner-up and all speakers; <paramref name="duration"/> is the
    /// word's assignment length. Confidence is the chosen speaker's share of what was heard during the word (a 70/30
    /// split gives 0.7, two speakers both covering the word 0.5, a word half in silence 0.5), scaled down to half when
    /// another speaker's segment starts or ends right next to the word (<paramref name="boundaryDistance"/> below
    /// <paramref name="guard"/>): diarization boundaries are coarse, so such a word may belong to the neighbour.
    /// </summary>
    public static (double Confidence, double Margin) Score(long best, long second, long total, long duration, long boundaryDistance, long guard)
    {
        var basis = (double)Math.Max(duration, total);
        var share = best / basis;
        var margin = (best - second) / basis;
        var proximity = guard <= 0 || boundaryDistance >= guard ? 1.0 : 0.5 + (0.5 * boundaryDistance / guard);
        return (Math.Round(share * proximity, 4), Math.Round(margin, 4));
    }
}
