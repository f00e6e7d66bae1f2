namespace SparkControl.Core.Audio.LabelMerge;

/// <summary>
/// The definition of label-merge written the slow, obvious way: every word looks at every segment, O(n·m). It is not
/// used by the panel; property tests hold <see cref="LabelMerger"/> to it on random inputs and the benchmark measures the
/// sweep against it. It shares only the sanitize step, the segment clean-up and the score formula with the sweep, so a
/// tie-break, boundary or neighbour bug in either shows up as a difference.
/// </summary>
public static class ReferenceLabelMerger
{
    public static WordAssignment Assign(IReadOnlyList<TranscriptWord> words, IReadOnlyList<SpeakerSegment> segments, LabelMergeOptions options)
    {
        var w = WordSanitizer.Sanitize(words, options);
        var t = DiarizationTimeline.Build(segments);
        var guard = (long)options.BoundaryGuard.TotalMilliseconds;
        var maxFillGap = (long)options.MaxFillGap.TotalMilliseconds;
        var result = new LabelledWord[words.Count];
        for (var i = 0; i < words.Count; i++)
        {
            if (!w.Timed[i])
            {
                result[i] = LabelMerger.Unassigned(words, w, i, UnassignedReasons.NoTimestamp, options);
            }
        }

        var previous = -1;
        foreach (var i in w.Order)
        {
            long a = w.Start[i], b = w.AssignEnd[i];
            var point = a == b;
            var heard = Heard(t, a, b);

            if (heard.Count > 0)
            {
                // Most overlap, then midpoint containment, then the previous word's speaker, then the ordinal-first label.
                var best = heard
                    .OrderByDescending(h => h.Value.Amount)
                    .ThenByDescending(h => h.Value.Midpoint)
                    .ThenByDescending(h => h.Key == previous)
                    .ThenBy(h => h.Key)
                    .First().Key;
                var second = heard.Where(h => h.Key != best).Select(h => h.Value.Amount).DefaultIfEmpty(0).Max();
                var total = heard.Values.Sum(h => h.Amount);
                var distance = DistanceToOtherSpeaker(t, a, b, best);
                var score = AssignmentScore.Score(heard[best].Amount, second, total, b - a, guard <= 0 ? 0 : Math.Min(distance, guard), guard);
                result[i] = LabelMerger.Assigned(words, w, i, t.Names[best], point ? AssignMethod.Midpoint : AssignMethod.Overlap, score);
                previous = best;
                continue;
            }

            var nearest = options.FillNearest ? Nearest(t, a, b) : null;
            if (nearest is { } found && found.Gap <= maxFillGap)
            {
                result[i] = LabelMerger.Assigned(words, w, i, t.Names[found.Speaker], AssignMethod.Nearest, (0, 0));
                previous = found.Speaker;
            }
            else
            {
                var reason = t.Count == 0 ? UnassignedReasons.NoDiarization : options.FillNearest ? UnassignedReasons.BeyondFillGap : UnassignedReasons.NoOverlap;
                result[i] = LabelMerger.Unassigned(words, w, i, reason, options);
            }
        }

        return new WordAssignment(result, t.Dropped);
    }

    /// <summary>How much of the word [a, b) each speaker's segments cover, and whether one holds its midpoint; a point word is covered by the segment it falls in.</summary>
    private static Dictionary<int, (long Amount, bool Midpoint)> Heard(DiarizationTimeline t, long a, long b)
    {
        var point = a == b;
        var heard = new Dictionary<int, (long Amount, bool Midpoint)>();
        for (var k = 0; k < t.Count; k++)
        {
            long s = t.Start[k], e = t.End[k];
            var amount = point ? (s <= a && a < e ? 1 : 0) : Math.Max(0, Math.Min(e, b) - Math.Max(s, a));
            if (amount > 0)
            {
                var before = heard.GetValueOrDefault(t.Speaker[k]);
                var midpoint = point || (2 * s <= a + b && a + b < 2 * e);
                heard[t.Speaker[k]] = (before.Amount + amount, before.Midpoint || midpoint);
            }
        }

        return heard;
    }

    /// <summary>The gap from the word to the nearest segment of any speaker but <paramref name="speaker"/> that does not overlap it.</summary>
    private static long DistanceToOtherSpeaker(DiarizationTimeline t, long a, long b, int speaker)
    {
        var point = a == b;
        var distance = long.MaxValue;
        for (var k = 0; k < t.Count; k++)
        {
            if (t.Speaker[k] == speaker)
            {
                continue;
            }

            if (t.End[k] <= a)
            {
                distance = Math.Min(distance, a - t.End[k]);
            }
            else if (point ? t.Start[k] > a : t.Start[k] >= b)
            {
                distance = Math.Min(distance, t.Start[k] - b);
            }
        }

        return distance;
    }

    /// <summary>Nearest edge: the gap to each segment, the earlier side winning a tie, then the ordinal-first label.</summary>
    private static (long Gap, int Side, int Speaker)? Nearest(DiarizationTimeline t, long a, long b)
    {
        (long Gap, int Side, int Speaker)? nearest = null;
        for (var k = 0; k < t.Count; k++)
        {
            var candidate = t.End[k] <= a ? (a - t.End[k], 0, t.Speaker[k]) : (t.Start[k] - b, 1, t.Speaker[k]);
            if (nearest is null || candidate.CompareTo(nearest.Value) < 0)
            {
                nearest = candidate;
            }
        }

        return nearest;
    }
}
