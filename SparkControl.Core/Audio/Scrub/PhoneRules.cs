namespace SparkControl.Core.Audio.Scrub;

/// <summary>
/// Whether digit groups read as a phone number, international (<c>+44 20 7946 0958</c>, <c>0049 30 1234567</c>) or
/// national (<c>(020) 7946 0958</c>, <c>415-555-0132</c>, <c>415.555.0132</c>): 7 to 15 digits separated by single spaces,
/// dots or dashes, with at most one bracketed group among the first two. What looks close but is not a phone:
/// <list type="bullet">
/// <item>dates (<c>2024-01-15</c>, <c>15.01.2024</c>), IPv4 addresses, versions and decimals (<see cref="IsOtherNumber"/>);</item>
/// <item>thousands groupings (<c>1 234 567</c>, <c>12.345.678</c>) and lists of years (<c>2019-2024</c>);</item>
/// <item>a one-digit group after the first (ISBNs like <c>978-3-16-148410-0</c>), except right after a country code;</item>
/// <item>unformatted digits (ids, timestamps, order numbers) unless they start with <c>+</c>, <c>00</c> or a trunk 0 of a
/// 10-11 digit national number;</item>
/// <item>numbers glued to letters or signs (<c>INV-2024-000123</c>, <c>#12345678</c>): see <see cref="NumberRun"/>.</item>
/// </list>
/// </summary>
internal static class PhoneRules
{
    public const int MinDigits = 7;
    public const int MaxDigits = 15;

    /// <summary>A chunk shaped like a date, an IPv4 address, a version or a decimal: never part of a phone.</summary>
    public static bool IsOtherNumber(ReadOnlySpan<DigitGroup> groups, bool plus)
    {
        if (plus || groups.Length < 2)
        {
            return false;
        }

        var separator = groups[1].SeparatorBefore;
        foreach (var group in groups[1..])
        {
            if (group.SeparatorBefore != separator || group.InParentheses || groups[0].InParentheses)
            {
                return false;
            }
        }

        return IsDate(groups) || (separator == '.' && (groups.Length == 2 || HasShortGroup(groups, 0) || IsAddressShaped(groups)));
    }

    public static bool IsPhone(string text, ReadOnlySpan<DigitGroup> groups, bool plus)
    {
        var digits = 0;
        foreach (var group in groups)
        {
            digits += group.Length;
        }

        if (digits is < MinDigits or > MaxDigits || !SeparatorsFit(groups, plus) || !BracketsFit(groups) || !ShortGroupsFit(text, groups, plus))
        {
            return false;
        }

        if (groups.Length == 1)
        {
            return plus ? digits >= 8 : StartsWith(text, groups[0], "00") ? digits >= 9 : StartsWith(text, groups[0], "0") && digits is 10 or 11;
        }

        return plus || HasBrackets(groups) || !(IsDate(groups) || IsYearList(text, groups) || IsThousands(text, groups));
    }

    /// <summary>Dots only between groups of two or more digits and never mixed with other separators (415.555.0132, 01.23.45.67.89).</summary>
    private static bool SeparatorsFit(ReadOnlySpan<DigitGroup> groups, bool plus)
    {
        var dotted = false;
        var other = false;
        foreach (var group in groups[1..])
        {
            dotted |= group.SeparatorBefore == '.';
            other |= group.SeparatorBefore != '.';
        }

        if (!dotted)
        {
            return true;
        }

        return !other && !HasBrackets(groups) && !HasShortGroup(groups, plus ? 1 : 0) && !IsAddressShaped(groups);
    }

    private static bool BracketsFit(ReadOnlySpan<DigitGroup> groups)
    {
        var count = 0;
        for (var i = 0; i < groups.Length; i++)
        {
            if (groups[i].InParentheses && (++count > 1 || i > 1 || groups[i].Length > 5))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A one-digit group only first, right after a country code (+33 1 …, 0033 1 …) or in brackets (+44 (0)20 …); never last.</summary>
    private static bool ShortGroupsFit(string text, ReadOnlySpan<DigitGroup> groups, bool plus)
    {
        for (var i = 1; i < groups.Length; i++)
        {
            if (groups[i].Length > 1 || groups[i].InParentheses)
            {
                continue;
            }

            var afterCountryCode = i == 1 && (plus || StartsWith(text, groups[0], "00"));
            if (!afterCountryCode || i == groups.Length - 1)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>4-2-2 or 2-2-4 (2024-01-15, 15 01 2024).</summary>
    private static bool IsDate(ReadOnlySpan<DigitGroup> groups) =>
        groups.Length == 3 && (groups[0].Length == 4 ? groups[1].Length <= 2 && groups[2].Length <= 2 : groups[0].Length <= 2 && groups[1].Length <= 2 && groups[2].Length == 4);

    /// <summary>Four groups of at most three digits: 192.168.100.200.</summary>
    private static bool IsAddressShaped(ReadOnlySpan<DigitGroup> groups)
    {
        if (groups.Length != 4)
        {
            return false;
        }

        foreach (var group in groups)
        {
            if (group.Length > 3)
            {
                return false;
            }
        }

        return true;
    }

    private static bool HasShortGroup(ReadOnlySpan<DigitGroup> groups, int from)
    {
        foreach (var group in groups[from..])
        {
            if (group.Length < 2)
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsYearList(string text, ReadOnlySpan<DigitGroup> groups)
    {
        foreach (var group in groups)
        {
            if (group.Length != 4 || !(StartsWith(text, group, "19") || StartsWith(text, group, "20")))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>1 234 567 or 12.345.678: a first group of one to three digits (not a trunk 0), then groups of exactly three.</summary>
    private static bool IsThousands(string text, ReadOnlySpan<DigitGroup> groups)
    {
        if (groups[0].Length > 3 || StartsWith(text, groups[0], "0"))
        {
            return false;
        }

        foreach (var group in groups[1..])
        {
            if (group.Length != 3)
            {
                return false;
            }
        }

        return true;
    }

    private static bool HasBrackets(ReadOnlySpan<DigitGroup> groups)
    {
        foreach (var group in groups)
        {
            if (group.InParentheses)
            {
                return true;
            }
        }

        return false;
    }

    private static bool StartsWith(string text, DigitGroup group, string prefix) =>
        group.Length >= prefix.Length && text.AsSpan(group.Start, prefix.Length).SequenceEqual(prefix);
}
