using System.Collections.Immutable;
using SparkControl.Core.Audio.LabelMerge;

namespace SparkControl.Core.Audio.Scrub;

/// <summary>
/// Where a value was found: its kind and its place in the original text. The value itself is deliberately not kept,
/// so a match can be logged, counted or shown without carrying the personal data it stands for.
/// </summary>
public readonly record struct PiiMatch(PiiKind Kind, int Start, int Length)
{
    public int End => Start + Length;
}

/// <summary>
/// A text with its personal data replaced by placeholders. <see cref="Counts"/> lists only the kinds found;
/// <see cref="Matches"/> are in text order, with positions in the original text.
/// </summary>
public sealed record ScrubbedText(string Text, ImmutableSortedDictionary<PiiKind, int> Counts, ImmutableArray<PiiMatch> Matches)
{
    /// <summary>Nothing found: the text unchanged, no counts, no matches.</summary>
    public static ScrubbedText Unchanged(string text) => new(text, ImmutableSortedDictionary<PiiKind, int>.Empty, []);
}

/// <summary>
/// A transcript with its personal data replaced: the same words (count, times, speakers) and utterances, with the
/// texts scrubbed. <see cref="Counts"/> counts matches in utterance texts and in words outside every utterance.
/// </summary>
public sealed record ScrubbedTranscript(LabelMergeResult Transcript, ImmutableSortedDictionary<PiiKind, int> Counts);
