using System.Globalization;

namespace SparkControl.Tests.Infrastructure;

/// <summary>One sentence of a generated call's ground truth (eng/audio/make-echo-call.sh's truth.tsv).</summary>
public sealed record TruthSentence(double Start, int Channel, string Speaker, string Text)
{
    public string[] Words => Text.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>When the sentence has surely ended: espeak-ng at 150 words a minute, with room for the echo delay.</summary>
    public double LatestEnd => Start + (0.45 * Words.Length) + 1.2;
}

/// <summary>A word of a transcript as scored: its text, start, speaker and recording channel.</summary>
public sealed record ScoredWord(string Text, double Start, string? Speaker, int Channel);

/// <summary>Word error rate and speaker attribution of a transcript against a generated call's ground truth.</summary>
public static class TranscriptScoring
{
    public static IReadOnlyList<TruthSentence> ReadTruth(string tsv) =>
        [.. tsv.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(line => line.Split('\t'))
            .Select(f => new TruthSentence(double.Parse(f[0], CultureInfo.InvariantCulture), int.Parse(f[1], CultureInfo.InvariantCulture), f[2], f[3].Trim()))];

    /// <summary>(substitutions + deletions + insertions) / reference words, by word-level edit distance.</summary>
    public static double WordErrorRate(IReadOnlyList<string> reference, IReadOnlyList<string> hypothesis)
    {
        if (reference.Count == 0)
        {
            return hypothesis.Count == 0 ? 0 : 1;
        }

        var previous = Enumerable.Range(0, hypothesis.Count + 1).ToArray();
        var current = new int[hypothesis.Count + 1];
        for (var i = 1; i <= reference.Count; i++)
        {
            current[0] = i;
            for (var j = 1; j <= hypothesis.Count; j++)
            {
                var substitution = previous[j - 1] + (reference[i - 1] == hypothesis[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j] + 1, current[j - 1] + 1));
            }

            (previous, current) = (current, previous);
        }

        return (double)previous[hypothesis.Count] / reference.Count;
    }

    /// <summary>The reference words of one channel, in time order.</summary>
    public static string[] Reference(IReadOnlyList<TruthSentence> truth, int channel) =>
        [.. truth.Where(s => s.Channel == channel).OrderBy(s => s.Start).SelectMany(s => s.Words)];

    /// <summary>
    /// Who really said each word: the truth sentence holding the word whose span holds its start (the nearest start when
    /// several do). Returns words whose speaker is right, wrong (an echo left on the microphone as the local speaker's,
    /// a diarization error), and words no sentence explains (misrecognitions, left out).
    /// </summary>
    public static (int Right, int Wrong, int Unexplained) Attribution(IEnumerable<ScoredWord> words, IReadOnlyList<TruthSentence> truth)
    {
        var (right, wrong, unexplained) = (0, 0, 0);
        foreach (var word in words)
        {
            var said = truth.Where(s => s.Words.Contains(word.Text, StringComparer.Ordinal) && word.Start >= s.Start - 0.3 && word.Start <= s.LatestEnd)
                .OrderBy(s => Math.Abs(word.Start - s.Start)).FirstOrDefault();
            if (said is null)
            {
                unexplained++;
            }
            else if (string.Equals(said.Speaker, word.Speaker, StringComparison.Ordinal))
            {
                right++;
            }
            else
            {
                wrong++;
            }
        }

        return (right, wrong, unexplained);
    }
}
