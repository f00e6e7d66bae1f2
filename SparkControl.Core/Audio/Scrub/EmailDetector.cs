using System.Text.RegularExpressions;

namespace SparkControl.Core.Audio.Scrub;

/// <summary>
/// E-mail addresses as people write them, not as RFC 5322 allows: a local part of letters, digits and <c>._%+-</c>
/// (no leading, trailing or doubled dot), an <c>@</c>, dot-separated domain labels and a top-level domain of two or more
/// letters. Found inside URLs too (<c>mailto:</c>, <c>?u=a@b.com</c>, and a URL's userinfo without a password,
/// <c>https://anna@host.example.com/</c>, which names a mailbox or account as much as an address does). The
/// <c>pw@host</c> of <c>scheme://user:pw@host</c> is a password and a host, not an address: it is left to the log
/// redactor and only replaced here if the same text is an address elsewhere in the text. <c>@handle</c> and
/// <c>a@b</c> (no top-level domain) are not addresses.
/// </summary>
internal static class EmailDetector
{
    private const string LocalChar = @"[\p{L}\p{Nd}_%+\-]";
    private const string DomainChar = @"[\p{L}\p{Nd}]";

    // NonBacktracking: linear in the input whatever it holds (a megabyte of "a.a.a.a" or "@@@@" included).
    private static readonly Regex Address = new(
        LocalChar + "+(?:\\." + LocalChar + "+)*@(?:" + DomainChar + "(?:[\\p{L}\\p{Nd}\\-]*" + DomainChar + ")?\\.)+\\p{L}{2,}",
        RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);

    /// <summary>How far back a URL's scheme is looked for before a password (a URL's authority is rarely longer).</summary>
    private const int MaxAuthorityLength = 256;

    public static void Detect(string text, Detection detection)
    {
        foreach (var match in Address.EnumerateMatches(text))
        {
            var end = match.Index + match.Length;
            if (end < text.Length && IsTrailingGlue(text[end]))
            {
                // "a@b.com1", "a@b.com-x" or "a@b.com@c": not an address that ends where the pattern stopped.
                continue;
            }

            var candidate = new Candidate(PiiKind.Email, match.Index, match.Length, text.Substring(match.Index, match.Length).ToLowerInvariant());
            (IsUrlPassword(text, match.Index) ? detection.Dormant : detection.Found).Add(candidate);
        }
    }

    private static bool IsTrailingGlue(char c) => char.IsLetterOrDigit(c) || c is '-' or '_' or '@';

    /// <summary>Whether the match starts right after <c>scheme://user:</c>, i.e. it is the password of a URL's userinfo.</summary>
    private static bool IsUrlPassword(string text, int start)
    {
        if (start == 0 || text[start - 1] != ':')
        {
            return false;
        }

        var floor = Math.Max(0, start - MaxAuthorityLength);
        for (var i = start - 2; i >= floor; i--)
        {
            var c = text[i];
            if (c == '/')
            {
                // The authority starts right after "//", and "//" right after "scheme:".
                return i >= 2 && text[i - 1] == '/' && text[i - 2] == ':' && IsScheme(text, i - 2);
            }

            if (c is '?' or '#' or '@' || char.IsWhiteSpace(c))
            {
                return false;
            }
        }

        return false;
    }

    private static bool IsScheme(string text, int colon)
    {
        var i = colon - 1;
        while (i >= 0 && (char.IsAsciiLetterOrDigit(text[i]) || text[i] is '+' or '.' or '-'))
        {
            i--;
        }

        return i + 1 < colon && char.IsAsciiLetter(text[i + 1]);
    }
}
