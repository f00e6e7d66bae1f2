using System.Collections.Immutable;
using System.Text;

namespace SparkControl.Core.Audio.Scrub;

/// <summary>
/// A value a detector proposes: its kind, place and the key that makes two spellings of one value the same
/// (lower case for names and e-mails, digits only for phones and cards, upper-case letters and digits for IBANs).
/// </summary>
internal readonly record struct Candidate(PiiKind Kind, int Start, int Length, string Key)
{
    public int End => Start + Length;
}

/// <summary>What the detectors found in one text, before overlaps are resolved.</summary>
internal sealed class Detection
{
    /// <summary>Values that passed their detector's checks.</summary>
    public List<Candidate> Found { get; } = [];

    /// <summary>Values redacted only when the same value was found elsewhere (a lone first name, an e-mail-like URL password).</summary>
    public List<Candidate> Dormant { get; } = [];

    /// <summary>
    /// Look-alikes that failed their check (a card grouping failing Luhn, an IBAN with a wrong checksum): no phone may be
    /// taken from inside them, or a rejected 16-digit card would come back as a 12-digit phone.
    /// </summary>
    public List<(int Start, int End)> Blocked { get; } = [];
}

/// <summary>
/// The values found anywhere in one text or transcript, so every other occurrence is replaced too: the consistency
/// rule (a value left in one place undoes its redaction everywhere else).
/// </summary>
internal sealed class KnownValues
{
    private readonly HashSet<(PiiKind Kind, string Key)> _values = [];
    private readonly Dictionary<string, PiiKind> _digits = new(StringComparer.Ordinal);

    /// <summary>Phone and card values by their digits.</summary>
    public IReadOnlyDictionary<string, PiiKind> Digits => _digits;

    /// <summary>The kind and key of a known phone or card with these digits.</summary>
    public bool TryGetDigits(ReadOnlySpan<char> digits, out PiiKind kind, out string key)
    {
        var found = _digits.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(digits, out key!, out kind);
        key ??= string.Empty;
        return found;
    }

    public void Add(Detection detection, NameMatcher names)
    {
        foreach (var candidate in detection.Found)
        {
            _values.Add((candidate.Kind, candidate.Key));
            if (candidate.Kind is PiiKind.Phone or PiiKind.Card)
            {
                _digits.TryAdd(candidate.Key, candidate.Kind);
            }
            else if (candidate.Kind == PiiKind.Name)
            {
                foreach (var part in names.PartsOf(candidate.Key))
                {
                    _values.Add((PiiKind.Name, part));
                }
            }
        }
    }

    public bool Contains(Candidate candidate) => _values.Contains((candidate.Kind, candidate.Key));
}

/// <summary>
/// Picks the candidates that are kept. Overlaps resolve by a fixed rank, then the longer candidate, then the earlier
/// one: an e-mail (which may contain digits and names) before an IBAN, an IBAN before a card, a card before a phone,
/// and a phone before a name. The same input therefore always gives the same output.
/// </summary>
internal static class CandidateResolver
{
    /// <summary>Longer candidates than this (a quarter of a billion characters) sort as if they were this long.</summary>
    private const int MaxSortedLength = (1 << 28) - 1;

    public static int Rank(PiiKind kind) => kind switch
    {
        PiiKind.Email => 0,
        PiiKind.Iban => 1,
        PiiKind.Card => 2,
        PiiKind.Phone => 3,
        _ => 4,
    };

    public static List<Candidate> Resolve(int textLength, IEnumerable<Candidate> candidates, IReadOnlyList<(int Start, int End)> blocked)
    {
        var ordered = candidates.ToArray();
        var kept = new List<Candidate>();
        if (ordered.Length == 0)
        {
            return kept;
        }

        // Rank, then longer first, then earlier first, packed in one number: a primitive sort of a megabyte's
        // hundreds of thousands of candidates is several times faster than a comparison delegate.
        var order = new long[ordered.Length];
        for (var i = 0; i < ordered.Length; i++)
        {
            var shorter = MaxSortedLength - Math.Min(ordered[i].Length, MaxSortedLength);
            order[i] = ((long)Rank(ordered[i].Kind) << 60) | ((long)shorter << 32) | (uint)ordered[i].Start;
        }

        Array.Sort(order, ordered);

        var taken = new bool[textLength];
        var phoneBlocked = new bool[textLength];
        foreach (var (start, end) in blocked)
        {
            phoneBlocked.AsSpan(start, end - start).Fill(true);
        }

        foreach (var candidate in ordered)
        {
            if (taken.AsSpan(candidate.Start, candidate.Length).Contains(true) ||
                (candidate.Kind == PiiKind.Phone && phoneBlocked.AsSpan(candidate.Start, candidate.Length).Contains(true)))
            {
                continue;
            }

            taken.AsSpan(candidate.Start, candidate.Length).Fill(true);
            kept.Add(candidate);
        }

        // Kept candidates never overlap, so their starts are distinct keys for text order.
        var keptArray = kept.ToArray();
        Array.Sort(keptArray.Select(c => c.Start).ToArray(), keptArray);
        return [.. keptArray];
    }

    /// <summary>The text with each kept candidate replaced by its placeholder, the counts and the matches.</summary>
    public static ScrubbedText Apply(string text, IReadOnlyList<Candidate> kept)
    {
        if (kept.Count == 0)
        {
            return ScrubbedText.Unchanged(text);
        }

        var output = new StringBuilder(text.Length);
        var position = 0;
        foreach (var candidate in kept)
        {
            output.Append(text, position, candidate.Start - position).Append(PiiKinds.Placeholder(candidate.Kind));
            position = candidate.End;
        }

        output.Append(text, position, text.Length - position);
        var counts = kept.GroupBy(c => c.Kind).ToImmutableSortedDictionary(g => g.Key, g => g.Count());
        return new ScrubbedText(output.ToString(), counts, [.. kept.Select(c => new PiiMatch(c.Kind, c.Start, c.Length))]);
    }
}
