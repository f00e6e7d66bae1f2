using System.Collections.Immutable;
using SparkControl.Core.Audio.LabelMerge;

namespace SparkControl.Core.Audio.Scrub;

/// <summary>
/// The transcript side of <see cref="PiiScrubber"/>. Detection runs on texts of several words (utterances, and runs of
/// words outside every utterance), because a spoken phone number or full name spans words; the words are then mapped
/// back by their place in that text, which <see cref="UtteranceGrouper.JoinWords"/> made from them. Two passes, so a
/// value found in a later utterance is also replaced in an earlier one.
/// </summary>
internal static class TranscriptScrubbing
{
    /// <summary>
    /// A text to scrub and its words. <see cref="Spans"/> place each word in <see cref="Text"/>; null when the text is not
    /// the words joined (a transcript edited by hand), and then each word is scrubbed on its own text.
    /// </summary>
    private sealed record Segment(string Text, int[] Words, (int Start, int End)[]? Spans, int? Utterance);

    public static ScrubbedTranscript Run(PiiScrubber scrubber, LabelMergeResult transcript)
    {
        var words = transcript.Words.ToArray();
        var utterances = transcript.Utterances.ToArray();
        var segments = Segments(words, utterances);
        var known = new KnownValues();
        var detections = segments.Select(s => Remember(scrubber, s.Text, known)).ToList();
        var ownTexts = segments.Where(s => s.Spans is null).SelectMany(s => s.Words).Distinct()
            .ToDictionary(w => w, w => Remember(scrubber, words[w].Text, known));

        var counts = new Dictionary<PiiKind, int>();
        for (var k = 0; k < segments.Count; k++)
        {
            var segment = segments[k];
            var scrubbed = PiiScrubber.Redact(segment.Text, detections[k], known);
            foreach (var (kind, count) in scrubbed.Counts)
            {
                counts[kind] = counts.GetValueOrDefault(kind) + count;
            }

            if (segment.Utterance is { } u)
            {
                utterances[u] = utterances[u] with { Text = scrubbed.Text };
            }

            if (segment.Spans is { } spans)
            {
                MarkWords(words, segment.Words, spans, scrubbed.Matches);
            }
        }

        foreach (var (w, detection) in ownTexts)
        {
            words[w] = words[w] with { Text = PiiScrubber.Redact(words[w].Text, detection, known).Text };
        }

        return new ScrubbedTranscript(transcript with { Words = words, Utterances = utterances }, counts.ToImmutableSortedDictionary());
    }

    private static Detection Remember(PiiScrubber scrubber, string text, KnownValues known)
    {
        var detection = scrubber.Detect(text);
        scrubber.Remember(detection, known);
        return detection;
    }

    /// <summary>Each utterance, then each run of consecutive words of one channel that no utterance holds.</summary>
    private static List<Segment> Segments(LabelledWord[] words, Utterance[] utterances)
    {
        var segments = new List<Segment>();
        var held = new bool[words.Length];
        for (var u = 0; u < utterances.Length; u++)
        {
            var members = utterances[u].Words.Where(w => w >= 0 && w < words.Length).ToArray();
            foreach (var w in members)
            {
                held[w] = true;
            }

            var spans = members.Length == utterances[u].Words.Count ? Place(words, members, utterances[u].Text) : null;
            segments.Add(new Segment(utterances[u].Text, members, spans, u));
        }

        for (var start = 0; start < words.Length; start++)
        {
            if (held[start])
            {
                continue;
            }

            var end = start + 1;
            while (end < words.Length && !held[end] && words[end].Channel == words[start].Channel)
            {
                end++;
            }

            var members = Enumerable.Range(start, end - start).ToArray();
            var text = UtteranceGrouper.JoinWords(members.Select(w => words[w].Text));
            segments.Add(new Segment(text, members, Place(words, members, text), null));
            start = end - 1;
        }

        return segments;
    }

    /// <summary>
    /// Where each word is in <paramref name="text"/>, following the join's own rule (a space before every token but
    /// closing punctuation, asked of the join itself so the two cannot drift apart); null if the text is not the join.
    /// </summary>
    private static (int Start, int End)[]? Place(LabelledWord[] words, int[] members, string text)
    {
        var spans = new (int Start, int End)[members.Length];
        var position = 0;
        for (var k = 0; k < members.Length; k++)
        {
            var token = words[members[k]].Text.ReplaceLineEndings(" ").Trim();
            if (token.Length > 0 && position > 0 && UtteranceGrouper.JoinWords(["x", token]).Length > token.Length + 1)
            {
                position++;
            }

            if (position + token.Length > text.Length || !text.AsSpan(position, token.Length).SequenceEqual(token))
            {
                return null;
            }

            spans[k] = (position, position + token.Length);
            position += token.Length;
        }

        return position == text.Length ? spans : null;
    }

    /// <summary>Gives every word that overlaps a match that match's placeholder (words and matches are both in text order).</summary>
    private static void MarkWords(LabelledWord[] words, int[] members, (int Start, int End)[] spans, ImmutableArray<PiiMatch> matches)
    {
        var m = 0;
        for (var k = 0; k < members.Length && m < matches.Length; k++)
        {
            var (start, end) = spans[k];
            while (m < matches.Length && matches[m].End <= start)
            {
                m++;
            }

            if (end > start && m < matches.Length && matches[m].Start < end)
            {
                words[members[k]] = words[members[k]] with { Text = PiiKinds.Placeholder(matches[m].Kind) };
            }
        }
    }
}
