using System.Runtime.InteropServices;
using System.Text;

namespace SparkControl.Core.Audio.Scrub;

/// <summary>
/// Cards and phones in the number runs of a text. Each run is cut into chunks at its spaces; a card or a phone is a
/// window of whole, usable chunks. Cards go first over the whole run (a card takes its chunks, a failed card grouping
/// blocks phones inside it), then phones over what is left, longest window first. Both look at most 19 digits ahead
/// of each chunk, so a run of any length is scanned in linear time.
/// </summary>
internal static class NumberDetector
{
    public static void Detect(string text, Detection detection)
    {
        var window = new List<DigitGroup>();
        var chunks = new ChunkedRun();
        foreach (var match in NumberRun.Pattern.EnumerateMatches(text))
        {
            NumberRun.Parse(text, match.Index, match.Length, chunks);
            var taken = new bool[chunks.Count];
            FindCards(text, chunks, taken, detection, window);
            FindPhones(text, chunks, taken, detection, window);
        }
    }

    /// <summary>
    /// Every other occurrence of a known phone or card: digit groups of any run (glued or not) whose digits equal a
    /// known value, so "415-555-0132" found once also takes "4155550132" and "ref4155550132" elsewhere.
    /// </summary>
    public static void FindKnown(string text, KnownValues known, List<Candidate> into)
    {
        if (known.Digits.Count == 0)
        {
            return;
        }

        var longest = known.Digits.Keys.Max(k => k.Length);
        var groups = new List<(int Start, int End)>();
        var digits = new StringBuilder();
        foreach (var match in NumberRun.Pattern.EnumerateMatches(text))
        {
            groups.Clear();
            digits.Clear();
            for (var i = match.Index; i < match.Index + match.Length; i++)
            {
                if (char.IsAsciiDigit(text[i]))
                {
                    var start = i;
                    while (i + 1 < match.Index + match.Length && char.IsAsciiDigit(text[i + 1]))
                    {
                        i++;
                    }

                    groups.Add((start, i + 1));
                    digits.Append(text, start, i + 1 - start);
                }
            }

            FindKnownInRun(text, groups, digits.ToString(), longest, known, into);
        }
    }

    private static void FindKnownInRun(string text, List<(int Start, int End)> groups, string digits, int longest, KnownValues known, List<Candidate> into)
    {
        var offsets = new int[groups.Count + 1];
        for (var g = 0; g < groups.Count; g++)
        {
            offsets[g + 1] = offsets[g] + groups[g].End - groups[g].Start;
        }

        for (var g = 0; g < groups.Count; g++)
        {
            var last = g;
            while (last + 1 < groups.Count && offsets[last + 2] - offsets[g] <= longest)
            {
                last++;
            }

            for (var h = last; h >= g; h--)
            {
                var value = digits.AsSpan(offsets[g], offsets[h + 1] - offsets[g]);
                if (known.TryGetDigits(value, out var kind, out var key))
                {
                    var (start, end) = Widen(text, groups[g], groups[h]);
                    into.Add(new Candidate(kind, start, end - start, key));
                    g = h;
                    break;
                }
            }
        }
    }

    /// <summary>Takes in the brackets of a bracketed first or last group ("(020)") and a plus before the digits.</summary>
    private static (int Start, int End) Widen(string text, (int Start, int End) first, (int Start, int End) last)
    {
        var start = first.Start - (IsBracketed(text, first) ? 1 : 0);
        start -= start > 0 && text[start - 1] == '+' ? 1 : 0;
        return (start, last.End + (IsBracketed(text, last) ? 1 : 0));
    }

    private static bool IsBracketed(string text, (int Start, int End) group) =>
        group.End - group.Start <= 5 && group.Start > 0 && text[group.Start - 1] == '(' && group.End < text.Length && text[group.End] == ')';

    private static void FindCards(string text, ChunkedRun chunks, bool[] taken, Detection detection, List<DigitGroup> window)
    {
        var lookAlikes = new List<(int First, int Last)>();
        for (var i = 0; i < chunks.Count; i++)
        {
            var lookAlike = (First: -1, Last: -1);
            for (var j = LastCardChunk(chunks, i); j >= i; j--)
            {
                if (!IsCardWindow(chunks, i, j, out var grouped))
                {
                    continue;
                }

                Flatten(chunks, i, j, window);
                var digits = Digits(text, window);
                if (CardRules.IsCard(digits))
                {
                    detection.Found.Add(new Candidate(PiiKind.Card, chunks[i].Start, chunks[j].End - chunks[i].Start, digits));
                    taken.AsSpan(i, j - i + 1).Fill(true);
                    lookAlike = (-1, -1);
                    i = j;
                    break;
                }

                lookAlike = grouped && lookAlike.First < 0 ? (i, j) : lookAlike;
            }

            if (lookAlike.First >= 0)
            {
                lookAlikes.Add(lookAlike);
            }
        }

        // A look-alike that overlaps a real card was only a wrong start ("0958 4111 1111 1111" before "4111 … 1111").
        foreach (var (first, last) in lookAlikes.Where(b => !taken.AsSpan(b.First, b.Last - b.First + 1).Contains(true)))
        {
            detection.Blocked.Add((chunks[first].Start, chunks[last].End));
        }
    }

    /// <summary>
    /// The last chunk a card starting at chunk i could end at: i itself for a dashed chunk or 13-19 unbroken digits,
    /// the following plain chunks up to 19 digits after a group of four, and i - 1 when no card can start here.
    /// </summary>
    private static int LastCardChunk(ChunkedRun chunks, int i)
    {
        var first = chunks[i];
        if (!first.Usable || first.Plus || first.HasParentheses || chunks.GroupsOf(i)[0].Length != 4)
        {
            return first.Usable && !first.Plus && first.GroupCount == 1 && first.Digits is >= CardRules.MinDigits and <= CardRules.MaxDigits ? i : i - 1;
        }

        if (first.GroupCount > 1)
        {
            return i;
        }

        var digits = 0;
        var last = i - 1;
        for (var j = i; j < chunks.Count && chunks[j] is { Usable: true, Plus: false, HasParentheses: false, GroupCount: 1 }; j++)
        {
            digits += chunks[j].Digits;
            if (digits > CardRules.MaxDigits)
            {
                break;
            }

            last = j;
        }

        return last;
    }

    /// <summary>13-19 digits in a card grouping, with one kind of separator: spaces between plain chunks, or dashes inside one chunk.</summary>
    private static bool IsCardWindow(ChunkedRun chunks, int i, int j, out bool grouped)
    {
        var groups = chunks.GroupsOf(i);
        var count = i == j ? groups.Length : j - i + 1;
        grouped = count > 1;
        if (count > CardRules.MaxDigits)
        {
            return false;
        }

        Span<int> lengths = stackalloc int[CardRules.MaxDigits];
        var total = 0;
        for (var k = 0; k < count; k++)
        {
            if (i == j && k > 0 && groups[k].SeparatorBefore != '-')
            {
                return false;
            }

            lengths[k] = i == j ? groups[k].Length : chunks[i + k].Digits;
            total += lengths[k];
        }

        return total is >= CardRules.MinDigits and <= CardRules.MaxDigits && CardRules.IsCardGrouping(lengths[..count]);
    }

    private static void FindPhones(string text, ChunkedRun chunks, bool[] taken, Detection detection, List<DigitGroup> window)
    {
        for (var i = 0; i < chunks.Count; i++)
        {
            var last = LastPhoneChunk(chunks, taken, i);
            var digits = 0;
            for (var k = i; k <= last; k++)
            {
                digits += chunks[k].Digits;
            }

            for (var j = last; j >= i && digits >= PhoneRules.MinDigits; digits -= chunks[j--].Digits)
            {
                // Cheap before the full rules: a phone never ends in a one-digit group (ISBNs, "1 1 1 1" do).
                var end = chunks.GroupsOf(j)[^1];
                if (end is { Length: 1, InParentheses: false } && (j > i || chunks[i].GroupCount > 1))
                {
                    continue;
                }

                Flatten(chunks, i, j, window);
                if (PhoneRules.IsPhone(text, CollectionsMarshal.AsSpan(window), chunks[i].Plus))
                {
                    detection.Found.Add(new Candidate(PiiKind.Phone, chunks[i].Start, chunks[j].End - chunks[i].Start, Digits(text, window)));
                    i = j;
                    break;
                }
            }
        }
    }

    private static int LastPhoneChunk(ChunkedRun chunks, bool[] taken, int i)
    {
        var digits = 0;
        var last = i - 1;
        for (var j = i; j < chunks.Count && chunks[j].Usable && !taken[j] && (j == i || !chunks[j].Plus); j++)
        {
            digits += chunks[j].Digits;
            if (digits > PhoneRules.MaxDigits)
            {
                break;
            }

            last = j;
        }

        return last;
    }

    /// <summary>The groups of chunks i..j in one list, a space before the first group of each later chunk.</summary>
    private static void Flatten(ChunkedRun chunks, int i, int j, List<DigitGroup> window)
    {
        window.Clear();
        for (var k = i; k <= j; k++)
        {
            var groups = chunks.GroupsOf(k);
            for (var g = 0; g < groups.Length; g++)
            {
                window.Add(k > i && g == 0 ? groups[g] with { SeparatorBefore = ' ' } : groups[g]);
            }
        }
    }

    private static string Digits(string text, List<DigitGroup> window)
    {
        var digits = new StringBuilder();
        foreach (var group in window)
        {
            digits.Append(text, group.Start, group.Length);
        }

        return digits.ToString();
    }
}
