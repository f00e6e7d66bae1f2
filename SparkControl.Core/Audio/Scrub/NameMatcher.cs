using System.Collections.Frozen;
using System.Text;
using System.Text.RegularExpressions;

namespace SparkControl.Core.Audio.Scrub;

/// <summary>
/// The operator's names: full names and single names, matched case-insensitively on word boundaries (Unicode letters
/// and digits count as word characters), longest first, with any run of white space where the name has a space.
/// A full name found in a text makes each of its words (two letters or more) a name in that text too, so "Anna" said
/// alone after "Anna Schmidt" is redacted as well.
/// </summary>
internal sealed class NameMatcher
{
    private readonly Regex? _names;
    private readonly Regex? _parts;
    private readonly FrozenDictionary<string, string[]> _partsOf;

    public NameMatcher(IEnumerable<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var distinct = names
            .Select(n => Normalize(n))
            .Where(n => n.Any(char.IsLetterOrDigit))
            .Distinct(StringComparer.Ordinal)
            .OrderByDescending(n => n.Length).ThenBy(n => n, StringComparer.Ordinal)
            .ToList();
        _partsOf = distinct
            .Select(n => (Name: n, Parts: n.Split(' ').Where(p => p.Count(char.IsLetter) >= 2).Distinct(StringComparer.Ordinal).ToArray()))
            .Where(p => p.Parts.Length > 1)
            .ToFrozenDictionary(p => p.Name, p => p.Parts, StringComparer.Ordinal);
        var parts = _partsOf.Values.SelectMany(p => p).Distinct(StringComparer.Ordinal).OrderByDescending(p => p.Length).ToList();
        _names = Build(distinct);
        _parts = Build(parts);
    }

    /// <summary>The single words of a full name from the list (by its key), or none.</summary>
    public IReadOnlyList<string> PartsOf(string key) => _partsOf.TryGetValue(key, out var parts) ? parts : [];

    public void Detect(string text, Detection detection)
    {
        Collect(_names, text, detection.Found);
        Collect(_parts, text, detection.Dormant);
    }

    /// <summary>The key of a name: white space collapsed to one space, lower case.</summary>
    public static string Normalize(ReadOnlySpan<char> name)
    {
        var key = new StringBuilder(name.Length);
        foreach (var c in name.Trim())
        {
            if (!char.IsWhiteSpace(c))
            {
                key.Append(char.ToLowerInvariant(c));
            }
            else if (key[^1] != ' ')
            {
                key.Append(' ');
            }
        }

        return key.ToString();
    }

    private static void Collect(Regex? pattern, string text, List<Candidate> into)
    {
        if (pattern is null)
        {
            return;
        }

        // One key per spelling: a name said a thousand times is normalised once.
        var keys = new Dictionary<string, string>(StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();
        foreach (var match in pattern.EnumerateMatches(text))
        {
            var spelling = text.AsSpan(match.Index, match.Length);
            if (!keys.TryGetValue(spelling, out var key))
            {
                key = Normalize(spelling);
                keys[spelling] = key;
            }

            into.Add(new Candidate(PiiKind.Name, match.Index, match.Length, key));
        }
    }

    private static Regex? Build(IReadOnlyList<string> names)
    {
        if (names.Count == 0)
        {
            return null;
        }

        var alternatives = names.Select(n => Edge(n[0]) + string.Join(@"\s+", n.Split(' ').Select(Regex.Escape)) + Edge(n[^1]));
        // NonBacktracking: an operator's list of hundreds of names stays linear in the text.
        return new Regex("(?:" + string.Join('|', alternatives) + ")",
            RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);
    }

    /// <summary>A word boundary where the name starts or ends with a word character ("Jr." ends where it ends).</summary>
    private static string Edge(char c) => char.IsLetterOrDigit(c) || c == '_' ? @"\b" : string.Empty;
}
