using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace SparkControl.Core.Audio.Scrub;

/// <summary>A run of digits inside a chunk: its place, the separator before it ('\0' when none) and whether it is in brackets.</summary>
internal readonly record struct DigitGroup(int Start, int Length, char SeparatorBefore, bool InParentheses)
{
    public int End => Start + Length;
}

/// <summary>
/// A space-free piece of a number run ("+44", "(020)", "415-555-0132"); its groups are
/// <see cref="ChunkedRun.GroupsOf"/>. Phones and cards are made of whole chunks, so a date, a time or a decimal is
/// never split to find a phone inside it. <see cref="Usable"/> is false for chunks that are malformed, glued to a word
/// or another number ("INV-2024", "12:30", "1,234") or shaped like another kind of number (a date, an IPv4 address, a
/// version, a decimal).
/// </summary>
internal readonly record struct NumberChunk(int Start, int End, bool Plus, int FirstGroup, int GroupCount, int Digits, bool HasParentheses, bool Usable);

/// <summary>
/// The chunks of one number run and their digit groups in one list (structs, no object per chunk: a megabyte of
/// "1 1 1" is half a million chunks). Reused from run to run.
/// </summary>
internal sealed class ChunkedRun
{
    private readonly List<DigitGroup> _groups = [];

    public List<NumberChunk> Chunks { get; } = [];

    public int Count => Chunks.Count;

    public NumberChunk this[int index] => Chunks[index];

    public ReadOnlySpan<DigitGroup> GroupsOf(int index) => CollectionsMarshal.AsSpan(_groups).Slice(Chunks[index].FirstGroup, Chunks[index].GroupCount);

    public List<DigitGroup> Groups => _groups;

    public void Clear()
    {
        Chunks.Clear();
        _groups.Clear();
    }
}

/// <summary>
/// Finds number runs (digits with single spaces, dots, dashes, brackets and a leading plus between them) and cuts
/// them into chunks at the spaces. The run pattern is NonBacktracking, so a megabyte of "1 1 1 1" is one linear scan.
/// </summary>
internal static class NumberRun
{
    public static readonly Regex Pattern = new(
        @"[+(]*[0-9](?:\)?[ .\-\u00A0\u202F]?[(+]?[0-9])*\)?",
        RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);

    public static bool IsSpace(char c) => c is ' ' or '\u00A0' or '\u202F';

    public static void Parse(string text, int start, int length, ChunkedRun run)
    {
        run.Clear();
        var end = start + length;
        var gluedBefore = GluedBefore(text, start);
        var gluedAfter = GluedAfter(text, end);
        var chunkStart = start;
        for (var i = start; i <= end; i++)
        {
            if (i == end || IsSpace(text[i]))
            {
                var glued = (chunkStart == start && gluedBefore) || (i == end && gluedAfter);
                run.Chunks.Add(ParseChunk(text, chunkStart, i, glued, run.Groups));
                chunkStart = i + 1;
            }
        }
    }

    private static NumberChunk ParseChunk(string text, int start, int end, bool glued, List<DigitGroup> all)
    {
        // An opening bracket of the sentence, not of an area code: "(415-555-0132)".
        while (start < end && text[start] == '(' && !IsBracketedGroup(text, start, end))
        {
            start++;
        }

        var first = all.Count;
        var plus = start < end && text[start] == '+';
        var separator = '\0';
        var valid = true;
        var i = plus ? start + 1 : start;
        // More groups than a card has digits is no phone or card ("1-2-3-4-…"); stop before a hostile chunk costs more.
        while (i < end && valid && all.Count - first <= CardRules.MaxDigits)
        {
            var c = text[i];
            if (char.IsAsciiDigit(c))
            {
                var j = SkipDigits(text, i, end);
                all.Add(new DigitGroup(i, j - i, separator, false));
                (separator, i) = ('\0', j);
            }
            else if (c == '(' && IsBracketedGroup(text, i, end))
            {
                var j = SkipDigits(text, i + 1, end);
                all.Add(new DigitGroup(i + 1, j - i - 1, separator, true));
                (separator, i) = ('\0', j + 1);
            }
            else if (c == ')' && i == end - 1)
            {
                // The closing bracket of the sentence.
                end--;
            }
            else if (c is '.' or '-' && separator == '\0' && all.Count > first)
            {
                (separator, i) = (c, i + 1);
            }
            else
            {
                valid = false;
            }
        }

        var groups = CollectionsMarshal.AsSpan(all)[first..];
        var (digits, brackets) = (0, false);
        foreach (var group in groups)
        {
            (digits, brackets) = (digits + group.Length, brackets || group.InParentheses);
        }

        var usable = valid && i >= end && separator == '\0' && groups.Length is > 0 and <= CardRules.MaxDigits && !glued && !PhoneRules.IsOtherNumber(groups, plus);
        return new NumberChunk(start, end, plus, first, groups.Length, digits, brackets, usable);
    }

    /// <summary>"(020)" or "(0)": one to five digits in brackets, as area codes and trunk prefixes are written; "(4111…)" is a sentence's bracket.</summary>
    private static bool IsBracketedGroup(string text, int open, int end)
    {
        var close = SkipDigits(text, open + 1, end);
        return close > open + 1 && close - open - 1 <= 5 && close < end && text[close] == ')';
    }

    private static int SkipDigits(string text, int i, int end)
    {
        while (i < end && char.IsAsciiDigit(text[i]))
        {
            i++;
        }

        return i;
    }

    /// <summary>
    /// Whether the run continues a word or another number on its left: a letter or digit ("v2", "INV-2024"), an order or
    /// currency sign ("#1234567", "$1 234 567"), or a time, amount or date separator after a digit ("12:30", "1,234").
    /// A colon after a word is a label ("tel:+44…", "Phone:0207…"), not glue.
    /// </summary>
    private static bool GluedBefore(string text, int start)
    {
        if (start == 0)
        {
            return false;
        }

        var p = text[start - 1];
        if (IsWordChar(p) || p is '#' or '№' or '@' or '%' or '&' || char.GetUnicodeCategory(p) == UnicodeCategory.CurrencySymbol)
        {
            return true;
        }

        var p2 = start >= 2 ? text[start - 2] : ' ';
        return p switch
        {
            ':' => char.IsDigit(p2),
            '.' or ',' or '/' or '-' or '\'' => char.IsLetterOrDigit(p2),
            _ => false,
        };
    }

    /// <summary>Whether the run runs on into a word, a unit, a currency or another number on its right ("10kg", "12:30", "1,234").</summary>
    private static bool GluedAfter(string text, int end)
    {
        if (end >= text.Length)
        {
            return false;
        }

        var q = text[end];
        if (IsWordChar(q) || q is '%' or '@' or '‰' || char.GetUnicodeCategory(q) == UnicodeCategory.CurrencySymbol)
        {
            return true;
        }

        return q is '.' or ',' or ':' or '/' or '-' && end + 1 < text.Length && char.IsDigit(text[end + 1]);
    }

    private static bool IsWordChar(char c) =>
        char.IsLetterOrDigit(c) || c == '_' || char.GetUnicodeCategory(c) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark;
}
