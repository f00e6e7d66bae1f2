using System.Text;

namespace SparkControl.Core.Audio.LabelMerge;

/// <summary>
/// Groups labelled words into utterances (audio.md §1.6): words in time order, a new utterance when the speaker changes,
/// after a pause longer than <see cref="LabelMergeOptions.MaxPause"/>, or at the first sentence end once an utterance
/// is longer than <see cref="LabelMergeOptions.MaxUtterance"/>. Words without any time stay in the text where the
/// input had them (after the timed word before them) without moving an utterance's times.
/// </summary>
public static class UtteranceGrouper
{
    /// <summary>Groups the words at <paramref name="indices"/> (one channel; all words when null) of <paramref name="words"/>.</summary>
    public static List<Utterance> Group(IReadOnlyList<LabelledWord> words, LabelMergeOptions options, IReadOnlyList<int>? indices = null)
    {
        indices ??= Enumerable.Range(0, words.Count).ToArray();
        var maxPause = (long)options.MaxPause.TotalMilliseconds;
        var maxUtterance = (long)options.MaxUtterance.TotalMilliseconds;

        var (timed, followers, leading) = SplitUntimed(words, indices);
        var utterances = new List<Utterance>();
        if (timed.Count == 0)
        {
            if (leading.Count > 0)
            {
                utterances.Add(Build(words, leading, words[leading[0]].Speaker, 0, 0));
            }

            return utterances;
        }

        var current = new List<int>(leading);
        string? speaker = words[timed[0]].Speaker;
        long start = Ms(words[timed[0]].Start), end = start;
        var closing = false;
        var hasTimedWord = false;
        foreach (var i in timed)
        {
            var word = words[i];
            long wordStart = Ms(word.Start), wordEnd = Ms(word.End);
            if (hasTimedWord && (closing || !string.Equals(word.Speaker, speaker, StringComparison.Ordinal) || wordStart - end > maxPause))
            {
                utterances.Add(Build(words, current, speaker, start, end));
                current = [];
                closing = false;
                hasTimedWord = false;
            }

            if (!hasTimedWord)
            {
                speaker = word.Speaker;
                start = wordStart;
                end = wordEnd;
                hasTimedWord = true;
            }

            current.Add(i);
            end = Math.Max(end, wordEnd);
            if (followers.TryGetValue(i, out var after))
            {
                current.AddRange(after);
            }

            closing = end - start >= maxUtterance && EndsSentence(word.Text);
        }

        utterances.Add(Build(words, current, speaker, start, end));
        return utterances;
    }

    /// <summary>
    /// The timed words in time order, and where the untimed ones go: behind the timed word that precedes them in the
    /// input (its followers), or before every timed word when none precedes them (leading).
    /// </summary>
    private static (List<int> Timed, Dictionary<int, List<int>> Followers, List<int> Leading) SplitUntimed(IReadOnlyList<LabelledWord> words, IReadOnlyList<int> indices)
    {
        var timed = new List<int>(indices.Count);
        var followers = new Dictionary<int, List<int>>();
        var leading = new List<int>();
        var lastTimed = -1;
        foreach (var i in indices)
        {
            if (words[i].Start is not null)
            {
                timed.Add(i);
                lastTimed = i;
            }
            else if (lastTimed < 0)
            {
                leading.Add(i);
            }
            else
            {
                (followers.TryGetValue(lastTimed, out var list) ? list : followers[lastTimed] = []).Add(i);
            }
        }

        timed.Sort((x, y) => Ms(words[x].Start) != Ms(words[y].Start) ? Ms(words[x].Start).CompareTo(Ms(words[y].Start))
            : Ms(words[x].End) != Ms(words[y].End) ? Ms(words[x].End).CompareTo(Ms(words[y].End)) : x.CompareTo(y));
        return (timed, followers, leading);
    }

    /// <summary>
    /// Sets <see cref="Utterance.Overlap"/> on every utterance that overlaps another in time; the list must be sorted by
    /// start. An utterance overlaps an earlier one when it starts before the latest end so far, and a later one when the
    /// next utterance starts before it ends.
    /// </summary>
    public static List<Utterance> MarkOverlaps(List<Utterance> sorted)
    {
        var latestEnd = double.NegativeInfinity;
        for (var k = 0; k < sorted.Count; k++)
        {
            var u = sorted[k];
            var overlap = u.Start < latestEnd || (k + 1 < sorted.Count && sorted[k + 1].Start < u.End);
            latestEnd = Math.Max(latestEnd, u.End);
            if (overlap != u.Overlap)
            {
                sorted[k] = u with { Overlap = overlap };
            }
        }

        return sorted;
    }

    /// <summary>Joins recogniser tokens into text: trimmed, one space apart, punctuation kept against the word before it.</summary>
    public static string JoinWords(IEnumerable<string> tokens)
    {
        var text = new StringBuilder();
        foreach (var raw in tokens)
        {
            var token = raw.ReplaceLineEndings(" ").Trim();
            if (token.Length == 0)
            {
                continue;
            }

            if (text.Length > 0 && !IsClosingPunctuation(token))
            {
                text.Append(' ');
            }

            text.Append(token);
        }

        return text.ToString();
    }

    private static bool IsClosingPunctuation(string token) => token.All(c => c is ',' or '.' or ';' or ':' or '!' or '?' or ')' or ']' or '}' or '%' or '…');

    private static bool EndsSentence(string text)
    {
        var trimmed = text.TrimEnd();
        return trimmed.Length > 0 && trimmed[^1] is '.' or '?' or '!' or '…';
    }

    private static long Ms(double? seconds) => seconds is { } s ? WordSanitizer.ToMilliseconds(s) : 0;

    private static Utterance Build(IReadOnlyList<LabelledWord> words, List<int> members, string? speaker, long start, long end) =>
        new(speaker, WordSanitizer.ToSeconds(start), WordSanitizer.ToSeconds(end), JoinWords(members.Select(i => words[i].Text)), false,
            words[members[0]].Channel, [.. members]);
}
