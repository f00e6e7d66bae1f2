namespace SparkControl.Core.Audio.LabelMerge;

/// <summary>Words with their speakers, in the input's order, and how many diarization segments were unusable.</summary>
public sealed record WordAssignment(LabelledWord[] Words, int DroppedSegments);

/// <summary>
/// Gives every word a speaker from a diarization (audio.md §1.4-1.5): a sort and one sweep over half-open intervals,
/// O((n + m) log(n + m)) plus the segments active at each word. The speaker is the one with the most overlap summed
/// over its segments; ties go to the speaker containing the word's midpoint, then to the previous word's speaker, then
/// to the ordinal-first label. A zero-length word is a point and belongs to the speakers whose segments contain it. A
/// word in a gap takes the segment with the nearest edge (not the nearest midpoint: a word just after a 30 s turn is
/// next to it), earlier side on a tie, up to <see cref="LabelMergeOptions.MaxFillGap"/>; otherwise it keeps no speaker
/// and a reason. <see cref="ReferenceLabelMerger"/> is the O(n·m) definition this must agree with.
/// </summary>
public static class LabelMerger
{
    /// <summary>Assigns speakers, then groups the words into utterances.</summary>
    public static LabelMergeResult Merge(IReadOnlyList<TranscriptWord> words, IReadOnlyList<SpeakerSegment> segments, LabelMergeOptions options)
    {
        var assignment = Assign(words, segments, options);
        return new LabelMergeResult(assignment.Words, UtteranceGrouper.MarkOverlaps(UtteranceGrouper.Group(assignment.Words, options)), assignment.DroppedSegments);
    }

    public static WordAssignment Assign(IReadOnlyList<TranscriptWord> words, IReadOnlyList<SpeakerSegment> segments, LabelMergeOptions options)
    {
        var sanitized = WordSanitizer.Sanitize(words, options);
        var timeline = DiarizationTimeline.Build(segments);
        var result = new LabelledWord[words.Count];
        for (var i = 0; i < words.Count; i++)
        {
            if (!sanitized.Timed[i])
            {
                result[i] = Unassigned(words, sanitized, i, UnassignedReasons.NoTimestamp, options);
            }
        }

        new Sweep(timeline, options).Run(words, sanitized, result);
        return new WordAssignment(result, timeline.Dropped);
    }

    internal static LabelledWord Unassigned(IReadOnlyList<TranscriptWord> words, SanitizedWords sanitized, int i, string reason, LabelMergeOptions options) =>
        new(i, words[i].Text, Seconds(sanitized, i, start: true), Seconds(sanitized, i, start: false), options.DefaultSpeaker, 0, 0,
            options.DefaultSpeaker is null ? AssignMethod.Unassigned : AssignMethod.Default, reason, sanitized.Repairs[i]);

    internal static LabelledWord Assigned(IReadOnlyList<TranscriptWord> words, SanitizedWords sanitized, int i, string speaker, AssignMethod method, (double Confidence, double Margin) score) =>
        new(i, words[i].Text, Seconds(sanitized, i, start: true), Seconds(sanitized, i, start: false), speaker, score.Confidence, score.Margin, method, null, sanitized.Repairs[i]);

    private static double? Seconds(SanitizedWords sanitized, int i, bool start) =>
        sanitized.Timed[i] ? WordSanitizer.ToSeconds(start ? sanitized.Start[i] : sanitized.End[i]) : null;

    /// <summary>The state of one sweep; arrays are reused across words so the inner loop allocates nothing.</summary>
    private sealed class Sweep
    {
        private readonly DiarizationTimeline _t;
        private readonly LabelMergeOptions _options;
        private readonly long _maxFillGap;
        private readonly long _guard;
        private readonly long[] _overlap;
        private readonly bool[] _midpoint;
        private readonly int[] _touched;
        private readonly int[] _byEnd;
        private readonly long[] _sortedEnds;
        private readonly long[] _prefixMaxEnd;
        private readonly int[] _prefixMaxSpeaker;
        private int _touchedCount;

        public Sweep(DiarizationTimeline timeline, LabelMergeOptions options)
        {
            _t = timeline;
            _options = options;
            _maxFillGap = (long)options.MaxFillGap.TotalMilliseconds;
            _guard = (long)options.BoundaryGuard.TotalMilliseconds;
            _overlap = new long[timeline.Names.Length];
            _midpoint = new bool[timeline.Names.Length];
            _touched = new int[timeline.Names.Length];

            // Segments by end, for the boundary guard's look to the left of a word.
            var m = timeline.Count;
            _byEnd = new int[m];
            _sortedEnds = new long[m];
            for (var k = 0; k < m; k++)
            {
                _byEnd[k] = k;
                _sortedEnds[k] = timeline.End[k];
            }

            Array.Sort(_sortedEnds, _byEnd);

            // Among segments [0..k] (by start), the latest end and, on equal ends, the ordinal-first speaker: the left
            // neighbour of a word in a gap.
            _prefixMaxEnd = new long[m];
            _prefixMaxSpeaker = new int[m];
            for (var k = 0; k < m; k++)
            {
                var better = k == 0 || timeline.End[k] > _prefixMaxEnd[k - 1] || (timeline.End[k] == _prefixMaxEnd[k - 1] && timeline.Speaker[k] < _prefixMaxSpeaker[k - 1]);
                _prefixMaxEnd[k] = better ? timeline.End[k] : _prefixMaxEnd[k - 1];
                _prefixMaxSpeaker[k] = better ? timeline.Speaker[k] : _prefixMaxSpeaker[k - 1];
            }
        }

        public void Run(IReadOnlyList<TranscriptWord> words, SanitizedWords w, LabelledWord[] result)
        {
            var active = new PriorityQueue<int, long>();
            var next = 0;
            var previousSpeaker = -1;
            var m = _t.Count;
            foreach (var i in w.Order)
            {
                long a = w.Start[i], b = w.AssignEnd[i];
                var point = a == b;
                while (next < m && (_t.Start[next] < b || (point && _t.Start[next] <= a)))
                {
                    active.Enqueue(next, _t.End[next]);
                    next++;
                }

                // Words come in start order, so a segment ending at or before this start can overlap no later word.
                while (active.TryPeek(out _, out var end) && end <= a)
                {
                    active.Dequeue();
                }

                _touchedCount = 0;
                foreach (var (k, _) in active.UnorderedItems)
                {
                    Tally(k, a, b, point);
                }

                if (_touchedCount > 0)
                {
                    var best = Choose(previousSpeaker);
                    var (second, total) = RunnerUpAndTotal(best);
                    var score = AssignmentScore.Score(_overlap[best], second, total, b - a, BoundaryDistance(a, b, point, best), _guard);
                    result[i] = Assigned(words, w, i, _t.Names[best], point ? AssignMethod.Midpoint : AssignMethod.Overlap, score);
                    previousSpeaker = best;
                }
                else if (Nearest(a, b) is { } nearest)
                {
                    result[i] = Assigned(words, w, i, _t.Names[nearest], AssignMethod.Nearest, (0, 0));
                    previousSpeaker = nearest;
                }
                else
                {
                    var reason = m == 0 ? UnassignedReasons.NoDiarization : _options.FillNearest ? UnassignedReasons.BeyondFillGap : UnassignedReasons.NoOverlap;
                    result[i] = Unassigned(words, w, i, reason, _options);
                }

                for (var x = 0; x < _touchedCount; x++)
                {
                    _overlap[_touched[x]] = 0;
                    _midpoint[_touched[x]] = false;
                }
            }
        }

        /// <summary>The largest overlap of any speaker but <paramref name="best"/>, and all speakers' overlap together.</summary>
        private (long Second, long Total) RunnerUpAndTotal(int best)
        {
            long second = 0, total = 0;
            for (var x = 0; x < _touchedCount; x++)
            {
                var speaker = _touched[x];
                total += _overlap[speaker];
                if (speaker != best)
                {
                    second = Math.Max(second, _overlap[speaker]);
                }
            }

            return (second, total);
        }

        private void Tally(int k, long a, long b, bool point)
        {
            long s = _t.Start[k], e = _t.End[k];
            var speaker = _t.Speaker[k];
            long amount;
            bool containsMidpoint;
            if (point)
            {
                amount = s <= a && a < e ? 1 : 0;
                containsMidpoint = amount > 0;
            }
            else
            {
                amount = Math.Min(e, b) - Math.Max(s, a);
                containsMidpoint = 2 * s <= a + b && a + b < 2 * e;
            }

            if (amount <= 0)
            {
                return;
            }

            if (_overlap[speaker] == 0)
            {
                _touched[_touchedCount++] = speaker;
            }

            _overlap[speaker] += amount;
            _midpoint[speaker] |= containsMidpoint;
        }

        private int Choose(int previousSpeaker)
        {
            var best = _touched[0];
            for (var x = 1; x < _touchedCount; x++)
            {
                var candidate = _touched[x];
                if (Beats(candidate, best, previousSpeaker))
                {
                    best = candidate;
                }
            }

            return best;
        }

        private bool Beats(int candidate, int incumbent, int previousSpeaker)
        {
            if (_overlap[candidate] != _overlap[incumbent])
            {
                return _overlap[candidate] > _overlap[incumbent];
            }

            if (_midpoint[candidate] != _midpoint[incumbent])
            {
                return _midpoint[candidate];
            }

            if ((candidate == previousSpeaker) != (incumbent == previousSpeaker))
            {
                return candidate == previousSpeaker;
            }

            return candidate < incumbent;
        }

        /// <summary>How far the nearest segment of another speaker that does not overlap the word is, up to the guard.</summary>
        private long BoundaryDistance(long a, long b, bool point, int speaker)
        {
            var distance = _guard;
            if (distance <= 0)
            {
                return 0;
            }

            // Left: segments ending at or before the word's start, within the guard.
            for (var k = UpperBound(_sortedEnds, a) - 1; k >= 0 && _sortedEnds[k] > a - _guard; k--)
            {
                if (_t.Speaker[_byEnd[k]] != speaker)
                {
                    distance = Math.Min(distance, a - _sortedEnds[k]);
                    break;
                }
            }

            // Right: segments starting at or after the word's end (after the instant, for a point), within the guard.
            for (var k = point ? UpperBound(_t.Start, a) : LowerBound(_t.Start, b); k < _t.Count && _t.Start[k] < b + _guard; k++)
            {
                if (_t.Speaker[k] != speaker)
                {
                    distance = Math.Min(distance, _t.Start[k] - b);
                    break;
                }
            }

            return distance;
        }

        /// <summary>The speaker of the segment with the nearest edge to a word that overlaps none, or null.</summary>
        private int? Nearest(long a, long b)
        {
            if (!_options.FillNearest || _t.Count == 0)
            {
                return null;
            }

            // Every segment starting before the word ends at or before its start (none overlaps it).
            var left = LowerBound(_t.Start, a) - 1;
            var right = LowerBound(_t.Start, b);
            var leftGap = left >= 0 ? a - _prefixMaxEnd[left] : long.MaxValue;
            var rightGap = right < _t.Count ? _t.Start[right] - b : long.MaxValue;
            if (Math.Min(leftGap, rightGap) > _maxFillGap)
            {
                return null;
            }

            return leftGap <= rightGap ? _prefixMaxSpeaker[left] : _t.Speaker[right];
        }

        /// <summary>The first index whose value is at least <paramref name="value"/>.</summary>
        private static int LowerBound(long[] sorted, long value)
        {
            int lo = 0, hi = sorted.Length;
            while (lo < hi)
            {
                var mid = (lo + hi) >>> 1;
                if (sorted[mid] < value)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid;
                }
            }

            return lo;
        }

        /// <summary>The first index whose value is greater than <paramref name="value"/>.</summary>
        private static int UpperBound(long[] sorted, long value)
        {
            int lo = 0, hi = sorted.Length;
            while (lo < hi)
            {
                var mid = (lo + hi) >>> 1;
                if (sorted[mid] <= value)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid;
                }
            }

            return lo;
        }
    }
}
