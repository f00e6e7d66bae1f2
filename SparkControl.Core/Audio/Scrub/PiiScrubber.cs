using SparkControl.Core.Audio.LabelMerge;

namespace SparkControl.Core.Audio.Scrub;

/// <summary>
/// Replaces personal data in transcripts and plain text with placeholders (<c>[EMAIL]</c>, <c>[PHONE]</c>, <c>[CARD]</c>,
/// <c>[IBAN]</c>, <c>[NAME]</c>) before a transcript is kept, shown or sent on, so what leaves the panel carries no
/// values a caller said. Detection is deliberately conservative where a false hit would destroy meaning (dates, times,
/// amounts, versions stay) and checks what can be checked (Luhn for cards, mod 97 and the country's length for
/// IBANs). Within one text or transcript a value found once is replaced everywhere it occurs. Every pattern is
/// NonBacktracking and every scan looks a bounded distance ahead, so hostile input costs linear time. Immutable and
/// thread-safe: build one per list of names and share it.
/// </summary>
public sealed class PiiScrubber
{
    private readonly NameMatcher _names;

    /// <param name="names">The operator's names: full names and single names; blank entries are ignored.</param>
    public PiiScrubber(IEnumerable<string> names) => _names = new NameMatcher(names);

    public ScrubbedText Scrub(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var detection = Detect(text);
        var known = new KnownValues();
        Remember(detection, known);
        return Redact(text, detection, known);
    }

    /// <summary>
    /// Scrubs each utterance's text (so a phone number spread over several words is found) and gives every word that
    /// overlaps a match the placeholder as its text; words outside every utterance (dropped echo words) are scrubbed as
    /// runs of their own. Word count, times and speakers are unchanged; a value found in one utterance is replaced in all.
    /// </summary>
    public ScrubbedTranscript Scrub(LabelMergeResult transcript)
    {
        ArgumentNullException.ThrowIfNull(transcript);
        return TranscriptScrubbing.Run(this, transcript);
    }

    internal Detection Detect(string text)
    {
        var detection = new Detection();
        EmailDetector.Detect(text, detection);
        IbanDetector.Detect(text, detection);
        NumberDetector.Detect(text, detection);
        _names.Detect(text, detection);
        return detection;
    }

    internal void Remember(Detection detection, KnownValues known) => known.Add(detection, _names);

    internal static ScrubbedText Redact(string text, Detection detection, KnownValues known)
    {
        var candidates = new List<Candidate>(detection.Found);
        candidates.AddRange(detection.Dormant.Where(known.Contains));
        NumberDetector.FindKnown(text, known, candidates);
        var kept = CandidateResolver.Resolve(text.Length, candidates, detection.Blocked);
        return CandidateResolver.Apply(text, kept);
    }
}
