using SparkControl.Core.Audio.LabelMerge;

namespace SparkControl.Core.Audio.Transcripts;

/// <summary>
/// A piece of one channel sent to a worker: samples [<see cref="From"/>, <see cref="To"/>) with the overlap on both
/// sides, of which it owns the words whose middle falls in [<see cref="OwnFrom"/>, <see cref="OwnTo"/>) (seconds).
/// </summary>
public sealed record AudioChunk(int Index, int From, int To, double OwnFrom, double OwnTo);

/// <summary>
/// Cuts a long channel into pieces a worker takes in one request, at the quietest stretch near each limit, and joins
/// the pieces' words back. Each piece carries <c>overlap</c> of audio past its cut on both sides, so a word the cut went
/// through is heard whole by at least one of the two requests; a word belongs to the piece whose own span holds its
/// middle, so a word both pieces heard is kept once and none is lost at a seam.
/// </summary>
public static class CallChunker
{
    /// <summary>Energy is measured over frames this long.</summary>
    private const double FrameSeconds = 0.02;

    /// <summary>The quietest stretch is found over windows this long (a pause between words is 0.2 s and more).</summary>
    private const double QuietWindowSeconds = 0.3;

    public static IReadOnlyList<AudioChunk> Plan(ReadOnlySpan<float> samples, int sampleRate, TimeSpan maxLength, TimeSpan overlap)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sampleRate);
        var max = (int)(maxLength.TotalSeconds * sampleRate);
        var pad = (int)(overlap.TotalSeconds * sampleRate);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 4 * Math.Max(pad, 1), nameof(maxLength));
        var cuts = new List<Cut>();
        var start = 0;
        while (samples.Length - start + (start == 0 ? 0 : pad) > max)
        {
            // The piece sent is at most [start - pad, cut + pad): the cut may go at most max - 2 pad past start.
            var latest = start + max - (2 * pad);
            var cut = QuietestPoint(samples, sampleRate, start + ((latest - start) / 2), latest, pad);
            cuts.Add(cut);
            start = cut.At;
        }

        var chunks = new List<AudioChunk>(cuts.Count + 1);
        for (var i = 0; i <= cuts.Count; i++)
        {
            var from = i == 0 ? 0 : cuts[i - 1].At - cuts[i - 1].Before;
            var to = i == cuts.Count ? samples.Length : cuts[i].At + cuts[i].After;
            chunks.Add(new AudioChunk(i, from, to, i == 0 ? 0 : (double)cuts[i - 1].At / sampleRate, i == cuts.Count ? (double)samples.Length / sampleRate : (double)cuts[i].At / sampleRate));
        }

        return chunks;
    }

    /// <summary>The words of every piece (times relative to the piece's first sample) as words of the whole channel.</summary>
    public static List<TranscriptWord> Join(IReadOnlyList<AudioChunk> chunks, IReadOnlyList<IReadOnlyList<TranscriptWord>> words, int sampleRate)
    {
        var joined = new List<TranscriptWord>();
        for (var i = 0; i < chunks.Count; i++)
        {
            var chunk = chunks[i];
            var offset = (double)chunk.From / sampleRate;
            foreach (var word in words[i])
            {
                var shifted = word with { Start = Shift(word.Start, offset), End = Shift(word.End, offset) };
                // A word without a time cannot be placed against a seam; it is kept where it was heard.
                var middle = shifted.Start is { } s ? (s + (shifted.End ?? s)) / 2 : (double?)null;
                if (middle is null || (middle >= chunk.OwnFrom && (middle < chunk.OwnTo || i == chunks.Count - 1)))
                {
                    joined.Add(shifted);
                }
            }
        }

        return joined;
    }

    private static double? Shift(double? time, double offset) => time is { } t ? Math.Round(t + offset, 3) : null;

    /// <summary>
    /// A cut, and how far each piece reaches past it: the whole overlap when the cut goes through sound, else only as far
    /// as the pause around it lasts, so that neither piece starts or ends with a fragment of a word (a recogniser bound
    /// to whole phrases turns a fragment into a wrong phrase).
    /// </summary>
    private readonly record struct Cut(int At, int Before, int After);

    /// <summary>The middle of the quietest <see cref="QuietWindowSeconds"/> between two sample positions (the earliest on a tie), and the pause around it.</summary>
    private static Cut QuietestPoint(ReadOnlySpan<float> samples, int sampleRate, int earliest, int latest, int pad)
    {
        var frame = Math.Max(1, (int)(FrameSeconds * sampleRate));
        var window = Math.Max(1, (int)Math.Round(QuietWindowSeconds / FrameSeconds));
        var frames = (latest - earliest) / frame;
        if (frames <= window)
        {
            return new Cut(latest, pad, pad);
        }

        var energy = new double[frames];
        for (var f = 0; f < frames; f++)
        {
            energy[f] = Energy(samples.Slice(earliest + (f * frame), frame));
        }

        var running = energy.AsSpan(0, window).ToArray().Sum();
        var (best, bestAt) = (running, 0);
        for (var f = window; f < frames; f++)
        {
            running += energy[f] - energy[f - window];
            if (running < best - 1e-12)
            {
                (best, bestAt) = (running, f - window + 1);
            }
        }

        var at = earliest + ((bestAt + (window / 2)) * frame);
        // A frame is part of the pause when it is no louder than the quietest stretch by more than 3 dB (or -50 dBFS, for
        // digital silence): the soft onsets and tails of words are louder than that.
        var quiet = Math.Max(2 * best / window, frame * 0.003 * 0.003);
        return new Cut(at, Reach(samples, at, -frame, frame, quiet, pad), Reach(samples, at, frame, frame, quiet, pad));
    }

    /// <summary>
    /// How far a piece reaches past the cut in one direction: half the pause on that side, up to <paramref name="pad"/>,
    /// so the piece ends in silence well clear of the next word; the whole pad when there is no pause.
    /// </summary>
    private static int Reach(ReadOnlySpan<float> samples, int at, int step, int frame, double quiet, int pad)
    {
        var reach = 0;
        while (reach < pad)
        {
            var from = step > 0 ? at + reach : at - reach - frame;
            if (from < 0 || from + frame > samples.Length || Energy(samples.Slice(from, frame)) > quiet)
            {
                break;
            }

            reach += frame;
        }

        // Under a tenth of a second is no pause: the cut went through sound, and the overlap is what saves its word.
        return reach < 5 * frame ? pad : Math.Min(reach / 2, pad);
    }

    private static double Energy(ReadOnlySpan<float> frame)
    {
        var sum = 0.0;
        foreach (var x in frame)
        {
            sum += x * x;
        }

        return sum;
    }
}
