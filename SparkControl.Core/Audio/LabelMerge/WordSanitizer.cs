namespace SparkControl.Core.Audio.LabelMerge;

/// <summary>
/// Words as the assignment sees them: times in whole milliseconds (quantised once, here, so later comparisons are
/// exact), a separate assignment end (capped and trimmed), and the timed words' sweep order.
/// </summary>
internal sealed class SanitizedWords
{
    public required long[] Start { get; init; }
    public required long[] End { get; init; }
    public required long[] AssignEnd { get; init; }
    public required bool[] Timed { get; init; }
    public required WordRepairs[] Repairs { get; init; }

    /// <summary>Indices of the timed words, sorted by (start, end, index).</summary>
    public required int[] Order { get; init; }

    public int Count => Start.Length;
}

/// <summary>
/// The sanitize step of audio.md §1.5-1.6. Non-finite times count as missing, negative ones become zero, a missing or
/// reversed end makes the word a point at its start, a run of words without a start is spread between its neighbours
/// by character count (when both neighbours have times, in order), and for assignment only a word is capped at the
/// maximum word duration and trimmed where it runs into the next word (single-channel recognisers never overlap words;
/// aligners that stretch a word over silence do). Words stay in the caller's order: the input may be unsorted.
/// </summary>
internal static class WordSanitizer
{
    public static long ToMilliseconds(double seconds) => (long)Math.Round(seconds * 1000, MidpointRounding.AwayFromZero);

    public static double ToSeconds(long milliseconds) => milliseconds / 1000.0;

    public static SanitizedWords Sanitize(IReadOnlyList<TranscriptWord> words, LabelMergeOptions options)
    {
        var n = words.Count;
        var start = new long[n];
        var end = new long[n];
        var timed = new bool[n];
        var repairs = new WordRepairs[n];
        for (var i = 0; i < n; i++)
        {
            var word = words[i];
            var repair = word.TimesEstimated ? WordRepairs.Interpolated : WordRepairs.None;
            var s = Read(word.Start, ref repair);
            var e = Read(word.End, ref repair);
            if (s is null)
            {
                repair |= WordRepairs.MissingStart;
                s = e;
            }
            else if (e is null)
            {
                repair |= WordRepairs.MissingEnd;
                e = s;
            }
            else if (e < s)
            {
                repair |= WordRepairs.Reversed;
                e = s;
            }

            repairs[i] = repair;
            if (s is { } known)
            {
                timed[i] = true;
                start[i] = known;
                end[i] = e!.Value;
            }
        }

        Interpolate(words, start, end, timed, repairs);
        var order = SortTimed(start, end, timed, repairs);
        var assignEnd = AssignmentEnds(start, end, order, repairs, options);
        return new SanitizedWords { Start = start, End = end, AssignEnd = assignEnd, Timed = timed, Repairs = repairs, Order = order };
    }

    private static long? Read(double? seconds, ref WordRepairs repair)
    {
        if (seconds is not { } value || !double.IsFinite(value))
        {
            return null;
        }

        var ms = ToMilliseconds(value);
        if (ms < 0)
        {
            repair |= WordRepairs.Negative;
            return 0;
        }

        return ms;
    }

    /// <summary>Spreads each run of untimed words over the gap between the words around it, by character count.</summary>
    private static void Interpolate(IReadOnlyList<TranscriptWord> words, long[] start, long[] end, bool[] timed, WordRepairs[] repairs)
    {
        var i = 0;
        while (i < words.Count)
        {
            if (timed[i])
            {
                i++;
                continue;
            }

            var first = i;
            while (i < words.Count && !timed[i])
            {
                i++;
            }

            // A run at either end of the transcript has only one neighbour: there is nothing to place it between.
            if (first == 0 || i == words.Count || end[first - 1] > start[i])
            {
                continue;
            }

            long from = end[first - 1], span = start[i] - from;
            var lengths = new long[i - first];
            long total = 0;
            for (var k = first; k < i; k++)
            {
                lengths[k - first] = Math.Max(1, words[k].Text.Trim().Length);
                total += lengths[k - first];
            }

            long before = 0;
            for (var k = first; k < i; k++)
            {
                start[k] = from + (span * before / total);
                before += lengths[k - first];
                end[k] = from + (span * before / total);
                timed[k] = true;
                repairs[k] |= WordRepairs.Interpolated;
            }
        }
    }

    private static int[] SortTimed(long[] start, long[] end, bool[] timed, WordRepairs[] repairs)
    {
        var count = 0;
        var sorted = true;
        var previous = -1;
        for (var i = 0; i < start.Length; i++)
        {
            if (!timed[i])
            {
                continue;
            }

            if (previous >= 0 && start[i] < start[previous])
            {
                repairs[i] |= WordRepairs.OutOfOrder;
            }

            if (previous >= 0 && (start[i] < start[previous] || (start[i] == start[previous] && end[i] < end[previous])))
            {
                sorted = false;
            }

            previous = i;
            count++;
        }

        var order = new int[count];
        var next = 0;
        for (var i = 0; i < start.Length; i++)
        {
            if (timed[i])
            {
                order[next++] = i;
            }
        }

        // Recognisers emit words in time order; only unsorted input pays for the sort.
        if (!sorted)
        {
            Array.Sort(order, (x, y) => start[x] != start[y] ? start[x].CompareTo(start[y]) : end[x] != end[y] ? end[x].CompareTo(end[y]) : x.CompareTo(y));
        }

        return order;
    }

    private static long[] AssignmentEnds(long[] start, long[] end, int[] order, WordRepairs[] repairs, LabelMergeOptions options)
    {
        var assignEnd = (long[])end.Clone();
        var maxDuration = (long)options.MaxWordDuration.TotalMilliseconds;
        for (var k = 0; k < order.Length; k++)
        {
            var i = order[k];
            if (maxDuration > 0 && end[i] - start[i] > maxDuration)
            {
                assignEnd[i] = start[i] + maxDuration;
                repairs[i] |= WordRepairs.Capped;
            }

            if (k + 1 < order.Length && assignEnd[i] > start[order[k + 1]])
            {
                assignEnd[i] = start[order[k + 1]];
                repairs[i] |= WordRepairs.Trimmed;
            }
        }

        return assignEnd;
    }
}
