using System.Collections.Frozen;
using System.Text;
using System.Text.RegularExpressions;

namespace SparkControl.Core.Audio.Scrub;

/// <summary>
/// IBANs (ISO 13616): a country code, two check digits and the account, written in one piece or in groups of four
/// separated by single spaces, in either case. Accepted only when the country is in <see cref="Lengths"/>, the IBAN
/// has exactly that country's length and the mod-97 check gives 1; anything else of that shape is not redacted, and
/// no phone or card is taken from inside it either.
/// </summary>
internal static class IbanDetector
{
    // Country code and check digits, then two to seven groups of four and an optional shorter tail: every IBAN length
    // (15 to 34) fits, spaced or not. The country's length then says where the IBAN ends.
    private static readonly Regex Shape = new(
        @"\b[A-Za-z]{2}[0-9]{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,3})?\b",
        RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);

    /// <summary>
    /// IBAN lengths from the SWIFT IBAN registry: every SEPA country (the EU, EEA, CH, GB, AD, MC, SM, VA and the newer
    /// AL, MD, ME, MK, RS) and the other registry countries, among them SA, AE, TR, IL and BR.
    /// </summary>
    internal static readonly FrozenDictionary<string, int> Lengths = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["AD"] = 24, ["AE"] = 23, ["AL"] = 28, ["AT"] = 20, ["AZ"] = 28, ["BA"] = 20, ["BE"] = 16, ["BG"] = 22,
        ["BH"] = 22, ["BR"] = 29, ["BY"] = 28, ["CH"] = 21, ["CR"] = 22, ["CY"] = 28, ["CZ"] = 24, ["DE"] = 22,
        ["DK"] = 18, ["DO"] = 28, ["EE"] = 20, ["EG"] = 29, ["ES"] = 24, ["FI"] = 18, ["FO"] = 18, ["FR"] = 27,
        ["GB"] = 22, ["GE"] = 22, ["GI"] = 23, ["GL"] = 18, ["GR"] = 27, ["GT"] = 28, ["HR"] = 21, ["HU"] = 28,
        ["IE"] = 22, ["IL"] = 23, ["IQ"] = 23, ["IS"] = 26, ["IT"] = 27, ["JO"] = 30, ["KW"] = 30, ["KZ"] = 20,
        ["LB"] = 28, ["LC"] = 32, ["LI"] = 21, ["LT"] = 20, ["LU"] = 20, ["LV"] = 21, ["MC"] = 27, ["MD"] = 24,
        ["ME"] = 22, ["MK"] = 19, ["MR"] = 27, ["MT"] = 31, ["MU"] = 30, ["NL"] = 18, ["NO"] = 15, ["PK"] = 24,
        ["PL"] = 28, ["PS"] = 29, ["PT"] = 25, ["QA"] = 29, ["RO"] = 24, ["RS"] = 22, ["SA"] = 24, ["SC"] = 31,
        ["SE"] = 24, ["SI"] = 19, ["SK"] = 24, ["SM"] = 27, ["ST"] = 25, ["SV"] = 28, ["TL"] = 23, ["TN"] = 24,
        ["TR"] = 26, ["UA"] = 29, ["VA"] = 22, ["VG"] = 24, ["XK"] = 20,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    public static void Detect(string text, Detection detection)
    {
        foreach (var match in Shape.EnumerateMatches(text))
        {
            if (TryCut(text, match.Index, match.Length, out var end, out var key) && HasValidChecksum(key))
            {
                detection.Found.Add(new Candidate(PiiKind.Iban, match.Index, end - match.Index, key));
            }
            else
            {
                detection.Blocked.Add((match.Index, match.Index + match.Length));
            }
        }
    }

    /// <summary>
    /// Takes exactly the country's number of letters and digits from the match (the pattern may have run on into the
    /// next word); false when the country is unknown, the match is shorter, or the cut falls inside a group.
    /// </summary>
    private static bool TryCut(string text, int start, int length, out int end, out string key)
    {
        end = start;
        key = string.Empty;
        var country = text.Substring(start, 2).ToUpperInvariant();
        if (!Lengths.TryGetValue(country, out var expected))
        {
            return false;
        }

        var compact = new StringBuilder(expected);
        var i = start;
        for (; i < start + length && compact.Length < expected; i++)
        {
            if (text[i] != ' ')
            {
                compact.Append(char.ToUpperInvariant(text[i]));
            }
        }

        if (compact.Length < expected || (i < text.Length && char.IsLetterOrDigit(text[i])))
        {
            return false;
        }

        end = i;
        key = compact.ToString();
        return true;
    }

    /// <summary>ISO 13616: the first four characters moved to the end, letters as 10-35, the number mod 97 is 1.</summary>
    internal static bool HasValidChecksum(string iban)
    {
        var remainder = 0;
        for (var k = 0; k < iban.Length; k++)
        {
            var c = iban[(k + 4) % iban.Length];
            var value = char.IsAsciiDigit(c) ? c - '0' : c - 'A' + 10;
            remainder = value < 10 ? (remainder * 10 + value) % 97 : (remainder * 100 + value) % 97;
        }

        return remainder == 1;
    }
}
