namespace SparkControl.Core.Audio.Scrub;

/// <summary>One issuer's range of card prefixes (inclusive, compared on the first <see cref="Digits"/> digits) and its card lengths.</summary>
internal readonly record struct CardIssuer(string Name, int Digits, int From, int To, int MinLength, int MaxLength);

/// <summary>
/// Payment card numbers: 13 to 19 digits, unbroken or grouped by single spaces or single dashes (4-4-4-4, 4-4-4-4-3,
/// 4-4-4-1, 4-6-5 Amex, 4-6-4 Diners), accepted only when the Luhn check passes and the number starts like a card of
/// an issuer in <see cref="Issuers"/> with that issuer's length. A grouped number that fails is remembered as a
/// look-alike, so no phone is cut out of it.
/// </summary>
internal static class CardRules
{
    public const int MinDigits = 13;
    public const int MaxDigits = 19;

    /// <summary>
    /// Issuer prefixes (IIN ranges as the networks publish them): Visa 4; Mastercard 51-55 and 2221-2720; American
    /// Express 34, 37; Discover 6011, 644-649, 65; Diners Club 300-305, 36, 38-39; JCB 3528-3589; UnionPay 62;
    /// Maestro 5018, 5020, 5038, 5893, 6304, 6759, 6761-6763; Mir 2200-2204; RuPay 60, 6521-6522; Verve 506099-506198,
    /// 650002-650027; Troy 9792.
    /// </summary>
    public static readonly IReadOnlyList<CardIssuer> Issuers =
    [
        new("Visa", 1, 4, 4, 13, 19),
        new("Mastercard", 2, 51, 55, 16, 16),
        new("Mastercard", 4, 2221, 2720, 16, 16),
        new("American Express", 2, 34, 34, 15, 15),
        new("American Express", 2, 37, 37, 15, 15),
        new("Discover", 4, 6011, 6011, 16, 19),
        new("Discover", 3, 644, 649, 16, 19),
        new("Discover", 2, 65, 65, 16, 19),
        new("Diners Club", 3, 300, 305, 14, 19),
        new("Diners Club", 2, 36, 36, 14, 19),
        new("Diners Club", 2, 38, 39, 14, 19),
        new("JCB", 4, 3528, 3589, 16, 19),
        new("UnionPay", 2, 62, 62, 16, 19),
        new("Maestro", 4, 5018, 5018, 13, 19),
        new("Maestro", 4, 5020, 5020, 13, 19),
        new("Maestro", 4, 5038, 5038, 13, 19),
        new("Maestro", 4, 5893, 5893, 13, 19),
        new("Maestro", 4, 6304, 6304, 13, 19),
        new("Maestro", 4, 6759, 6759, 13, 19),
        new("Maestro", 4, 6761, 6763, 13, 19),
        new("Mir", 4, 2200, 2204, 16, 19),
        new("RuPay", 2, 60, 60, 16, 16),
        new("RuPay", 4, 6521, 6522, 16, 16),
        new("Verve", 6, 506099, 506198, 16, 19),
        new("Verve", 6, 650002, 650027, 16, 19),
        new("Troy", 4, 9792, 9792, 16, 16),
    ];

    /// <summary>Whether the digits pass Luhn and start like a card of a known issuer with that issuer's length.</summary>
    public static bool IsCard(ReadOnlySpan<char> digits) =>
        digits.Length is >= MinDigits and <= MaxDigits && PassesLuhn(digits) && HasIssuer(digits);

    /// <summary>Group lengths a card is written in: one group, or four first and then fours (the last 1-4), 4-6-5 or 4-6-4.</summary>
    public static bool IsCardGrouping(ReadOnlySpan<int> lengths)
    {
        if (lengths.Length == 1)
        {
            return true;
        }

        if (lengths[0] != 4)
        {
            return false;
        }

        if (lengths.Length == 3 && lengths[1] == 6 && lengths[2] is 4 or 5)
        {
            return true;
        }

        for (var i = 1; i < lengths.Length - 1; i++)
        {
            if (lengths[i] != 4)
            {
                return false;
            }
        }

        return lengths[^1] is >= 1 and <= 4;
    }

    public static bool PassesLuhn(ReadOnlySpan<char> digits)
    {
        var sum = 0;
        for (var i = 0; i < digits.Length; i++)
        {
            var d = digits[digits.Length - 1 - i] - '0';
            if (i % 2 == 1)
            {
                d = d * 2 > 9 ? d * 2 - 9 : d * 2;
            }

            sum += d;
        }

        return sum % 10 == 0;
    }

    private static bool HasIssuer(ReadOnlySpan<char> digits)
    {
        foreach (var issuer in Issuers)
        {
            var prefix = int.Parse(digits[..issuer.Digits], provider: System.Globalization.CultureInfo.InvariantCulture);
            if (prefix >= issuer.From && prefix <= issuer.To && digits.Length >= issuer.MinLength && digits.Length <= issuer.MaxLength)
            {
                return true;
            }
        }

        return false;
    }
}
