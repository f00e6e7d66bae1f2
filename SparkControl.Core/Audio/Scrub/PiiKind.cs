using System.Collections.Immutable;

namespace SparkControl.Core.Audio.Scrub;

/// <summary>
/// The kinds of personal data the scrubber removes from transcripts before they are kept or shown. The order is the
/// order counts are listed in; which kind wins an overlap is the scrubber's business, not this enum's.
/// </summary>
public enum PiiKind
{
    Email,
    Phone,
    Card,
    Iban,
    Name,
}

/// <summary>
/// The stable text of each kind: the upper-case key used in JSON and counts ("EMAIL") and the placeholder left in the
/// text ("[EMAIL]"). One table, so the API, the page and the tests cannot spell a kind two ways.
/// </summary>
public static class PiiKinds
{
    private static readonly ImmutableArray<string> Keys = ["EMAIL", "PHONE", "CARD", "IBAN", "NAME"];

    private static readonly ImmutableArray<string> Placeholders = [.. Keys.Select(k => $"[{k}]")];

    /// <summary>Every kind, in declaration order.</summary>
    public static ImmutableArray<PiiKind> All { get; } = [.. Enum.GetValues<PiiKind>()];

    /// <summary>The JSON and count key: "EMAIL", "PHONE", "CARD", "IBAN" or "NAME".</summary>
    public static string Key(PiiKind kind) => Keys[Index(kind)];

    /// <summary>The text that replaces a value of this kind: "[EMAIL]", "[PHONE]", "[CARD]", "[IBAN]" or "[NAME]".</summary>
    public static string Placeholder(PiiKind kind) => Placeholders[Index(kind)];

    /// <summary>The kind of a key as <see cref="Key"/> writes it (ordinal, upper case only).</summary>
    public static bool TryParseKey(string? key, out PiiKind kind)
    {
        var index = key is null ? -1 : Keys.IndexOf(key);
        kind = index < 0 ? default : (PiiKind)index;
        return index >= 0;
    }

    /// <summary>Counts keyed by <see cref="Key"/>, ready for JSON (the enum's own names are not the API's).</summary>
    public static ImmutableSortedDictionary<string, int> ByKey(IReadOnlyDictionary<PiiKind, int> counts) =>
        counts.ToImmutableSortedDictionary(p => Key(p.Key), p => p.Value, StringComparer.Ordinal);

    private static int Index(PiiKind kind) =>
        (uint)kind < (uint)Keys.Length ? (int)kind : throw new ArgumentOutOfRangeException(nameof(kind), kind, "Not a PII kind.");
}
