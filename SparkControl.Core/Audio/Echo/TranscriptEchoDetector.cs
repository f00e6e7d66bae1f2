using System.Text;

namespace SparkControl.Core.Audio.Echo;

/// <summary>A transcribed word for echo detection: text and times in seconds from the start of the call.</summary>
public sealed record EchoWord(string Text, double Start, double End, double? Confidence = null);

/// <summary>Channel-0 word <see cref="LocalIndex"/> is an echo of channel-1 word <see cref="RemoteIndex"/> (indices into the lists given).</summary>
public sealed record EchoMatch(int LocalIndex, int RemoteIndex, double Similarity);

/// <summary>Where the echo delay came from.</summary>
public enum EchoDelaySource
{
    /// <summary>No echo: too few matching words and no signal-level delay.</summary>
    None,

    /// <summary>Voted from the words themselves.</summary>
    Words,

    /// <summary>Too few votes; the signal-level (GCC-PHAT) delay was used.</summary>
    Signal,
}

/// <summary>The verdict: the echo delay used and every channel-0 word judged an echo, in channel-0 order.</summary>
public sealed record TranscriptEchoResult(double? Delay, EchoDelaySource DelaySource, int Votes, IReadOnlyList<EchoMatch> Echoes)
{
    public static readonly TranscriptEchoResult NoEcho = new(null, EchoDelaySource.None, 0, []);

    public bool IsEcho(int localIndex) => Echoes.Any(e => e.LocalIndex == localIndex);
}

/// <summary>Knobs of <see cref="TranscriptEchoDetector"/> (seconds); the defaults follow the research notes, §3.6.</summary>
public sealed record TranscriptEchoOptions
{
    /// <summary>Longest echo delay looked for (playback buffers and Bluetooth reach 0.3–0.5 s).</summary>
    public double MaxDelay { get; init; } = 0.6;

    /// <summary>Timing slack around the delay: two 80 ms ASR frames plus jitter.</summary>
    public double Tolerance { get; init; } = 0.25;

    /// <summary>Matched words in a row (one unmatched word allowed inside) that make a run of echo.</summary>
    public int MinRun { get; init; } = 2;

    /// <summary>Least similarity (1 − edit distance / longer length) for two words to match; words of ≤ 2 letters must be equal.</summary>
    public double MinSimilarity { get; init; } = 0.75;

    /// <summary>Longest pause between two local words of one run.</summary>
    public double MaxRunGap { get; init; } = 1.0;

    /// <summary>Exact matches needed at one delay to trust the voted delay.</summary>
    public int MinVotes { get; init; } = 3;

    /// <summary>A lone matched word (not in a run) this long or longer can still be an echo.</summary>
    public int MinSingleWordLength { get; init; } = 4;

    /// <summary>
    /// Extra check for a lone matched word, e.g. "channel-0 energy over the word is within 6 dB of the predicted
    /// echo" when the audio is at hand: (local index, remote index) → is it an echo. Null accepts.
    /// </summary>
    public Func<int, int, bool>? SingleWordCheck { get; init; }
}

/// <summary>
/// Transcript-level echo removal for a two-channel call: finds the channel-0 (microphone) words that are the
/// loudspeaker's echo of channel-1 (remote) words. The delay is voted from exact word matches (20 ms bins, smoothed
/// over three), the two transcripts are aligned monotonically within that delay ± the tolerance, and an aligned word is
/// an echo when it sits in a run of matches or is a long enough word on its own. A local word later than
/// remote start + delay + tolerance is never an echo, so the local user repeating the remote ("Friday?") is kept.
/// </summary>
/// <remarks>Cost O(|L|·k + P log |R|), k the remote words inside the delay window and P the aligned candidate pairs.</remarks>
public static class TranscriptEchoDetector
{
    private const double BinWidth = 0.02;

    /// <param name="local">Channel-0 words, any order.</param>
    /// <param name="remote">Channel-1 words, any order.</param>
    /// <param name="signalDelay">The signal-level delay in seconds (GCC-PHAT), used when the words give too few votes.</param>
    public static TranscriptEchoResult Detect(IReadOnlyList<EchoWord> local, IReadOnlyList<EchoWord> remote, TranscriptEchoOptions? options = null, double? signalDelay = null)
    {
        options ??= new TranscriptEchoOptions();
        if (local.Count == 0 || remote.Count == 0)
        {
            return TranscriptEchoResult.NoEcho;
        }

        var words = Timeline.Of(local, remote);
        var (votes, sums) = VoteForLags(words, options);
        if (FindDelay(votes, sums, options, signalDelay) is not { } found)
        {
            return TranscriptEchoResult.NoEcho with { Votes = BestWindow(votes).Votes };
        }

        var chain = Align(CandidatePairs(words, found.Delay, options), words.R.Length);
        var echoes = EchoesInRuns(words, chain, found.Delay, options);
        return new TranscriptEchoResult(Math.Round(found.Delay, 3), found.Source, found.Votes, echoes);
    }

    /// <summary>Both channels' words in time order: their indices, normalised texts and start times.</summary>
    private sealed record Timeline(int[] L, int[] R, string[] LText, string[] RText, double[] LStart, double[] RStart)
    {
        public static Timeline Of(IReadOnlyList<EchoWord> local, IReadOnlyList<EchoWord> remote)
        {
            var l = Order(local);
            var r = Order(remote);
            return new Timeline(
                l, r,
                [.. l.Select(i => Normalize(local[i].Text))], [.. r.Select(i => Normalize(remote[i].Text))],
                [.. l.Select(i => local[i].Start)], [.. r.Select(i => remote[i].Start)]);
        }
    }

    /// <summary>Step 1: every exact match inside the delay window votes for its lag, in bins of <see cref="BinWidth"/>.</summary>
    private static (int[] Votes, double[] Sums) VoteForLags(Timeline w, TranscriptEchoOptions options)
    {
        var binCount = (int)Math.Ceiling((options.MaxDelay + (2 * options.Tolerance)) / BinWidth) + 1;
        var votes = new int[binCount];
        var sums = new double[binCount];
        var first = 0;
        for (var i = 0; i < w.L.Length; i++)
        {
            while (first < w.R.Length && w.LStart[i] - w.RStart[first] > options.MaxDelay + options.Tolerance)
            {
                first++;
            }

            for (var j = first; j < w.R.Length && w.LStart[i] - w.RStart[j] >= -options.Tolerance; j++)
            {
                if (w.LText[i].Length > 0 && w.LText[i] == w.RText[j])
                {
                    var lag = w.LStart[i] - w.RStart[j];
                    var bin = (int)((lag + options.Tolerance) / BinWidth);
                    votes[bin]++;
                    sums[bin] += lag;
                }
            }
        }

        return (votes, sums);
    }

    /// <summary>The three-bin window with the most votes: its middle bin (-1 when none) and its votes.</summary>
    private static (int Bin, int Votes) BestWindow(int[] votes)
    {
        var best = -1;
        var bestVotes = 0;
        for (var bin = 0; bin < votes.Length; bin++)
        {
            var window = votes[bin] + (bin > 0 ? votes[bin - 1] : 0) + (bin + 1 < votes.Length ? votes[bin + 1] : 0);
            if (window > bestVotes)
            {
                bestVotes = window;
                best = bin;
            }
        }

        return (best, bestVotes);
    }

    /// <summary>
    /// Step 2, the delay: the best window's mean lag when it has enough votes, else the delay the signal gave, else none.
    /// </summary>
    private static (double Delay, EchoDelaySource Source, int Votes)? FindDelay(int[] votes, double[] sums, TranscriptEchoOptions options, double? signalDelay)
    {
        var (best, bestVotes) = BestWindow(votes);
        if (bestVotes >= options.MinVotes)
        {
            double sum = 0;
            for (var bin = Math.Max(0, best - 1); bin <= Math.Min(votes.Length - 1, best + 1); bin++)
            {
                sum += sums[bin];
            }

            return (sum / bestVotes, EchoDelaySource.Words, bestVotes);
        }

        return signalDelay is { } fromSignal && double.IsFinite(fromSignal) ? (fromSignal, EchoDelaySource.Signal, bestVotes) : null;
    }

    /// <summary>Step 3's input: word pairs within delay ± tolerance that are similar enough.</summary>
    private static List<(int I, int J, double Sim)> CandidatePairs(Timeline w, double delay, TranscriptEchoOptions options)
    {
        var pairs = new List<(int I, int J, double Sim)>();
        var first = 0;
        for (var i = 0; i < w.L.Length; i++)
        {
            while (first < w.R.Length && w.LStart[i] - w.RStart[first] - delay > options.Tolerance)
            {
                first++;
            }

            for (var j = first; j < w.R.Length && w.LStart[i] - w.RStart[j] - delay >= -options.Tolerance; j++)
            {
                var sim = Similarity(w.LText[i], w.RText[j]);
                if (sim >= options.MinSimilarity)
                {
                    pairs.Add((i, j, sim));
                }
            }
        }

        return pairs;
    }

    /// <summary>
    /// Step 4: runs of aligned local words (one unmatched word may sit inside a run); a run long enough is echo, and so
    /// is a lone word long enough that passes the single-word check.
    /// </summary>
    private static List<EchoMatch> EchoesInRuns(Timeline w, IEnumerable<(int I, int J, double Sim)> chain, double delay, TranscriptEchoOptions options)
    {
        var matchOf = new int[w.L.Length];
        Array.Fill(matchOf, -1);
        var simOf = new double[w.L.Length];
        foreach (var (i, j, sim) in chain)
        {
            matchOf[i] = j;
            simOf[i] = sim;
        }

        var echoes = new List<EchoMatch>();
        var start = 0;
        while (start < w.L.Length)
        {
            if (matchOf[start] < 0)
            {
                start++;
                continue;
            }

            var (end, matched) = RunFrom(w, matchOf, start, options);
            for (var i = start; i <= end; i++)
            {
                var j = matchOf[i];
                if (j < 0 || w.LStart[i] > w.RStart[j] + delay + options.Tolerance)
                {
                    continue;
                }

                var isEcho = matched >= options.MinRun
                    || (w.LText[i].Length >= options.MinSingleWordLength && (options.SingleWordCheck?.Invoke(w.L[i], w.R[j]) ?? true));
                if (isEcho)
                {
                    echoes.Add(new EchoMatch(w.L[i], w.R[j], simOf[i]));
                }
            }

            start = end + 1;
        }

        return echoes;
    }

    /// <summary>Where the run that starts at a matched word ends, and how many of its words are matched.</summary>
    private static (int End, int Matched) RunFrom(Timeline w, int[] matchOf, int start, TranscriptEchoOptions options)
    {
        var end = start;
        var matched = 1;
        while (true)
        {
            if (end + 1 < w.L.Length && matchOf[end + 1] >= 0 && w.LStart[end + 1] - w.LStart[end] <= options.MaxRunGap)
            {
                end++;
                matched++;
            }
            else if (end + 2 < w.L.Length && matchOf[end + 1] < 0 && matchOf[end + 2] >= 0 && w.LStart[end + 2] - w.LStart[end] <= 2 * options.MaxRunGap)
            {
                end += 2;
                matched++;
            }
            else
            {
                return (end, matched);
            }
        }
    }

    /// <summary>Indices sorted by start time (stable), skipping words without finite times.</summary>
    private static int[] Order(IReadOnlyList<EchoWord> words) =>
        [.. Enumerable.Range(0, words.Count).Where(i => double.IsFinite(words[i].Start)).OrderBy(i => words[i].Start).ThenBy(i => i)];

    /// <summary>
    /// Heaviest chain of pairs strictly increasing in both indices: pairs grouped by local index, a Fenwick tree of
    /// the best chain ending at each remote index answers "best before j" in O(log |R|).
    /// </summary>
    private static List<(int I, int J, double Sim)> Align(List<(int I, int J, double Sim)> pairs, int remoteCount)
    {
        var tree = new (double Score, int Pair)[remoteCount + 1];
        for (var t = 0; t < tree.Length; t++)
        {
            tree[t] = (0, -1);
        }

        var score = new double[pairs.Count];
        var back = new int[pairs.Count];
        var bestEnd = -1;
        var index = 0;
        while (index < pairs.Count)
        {
            var group = index;
            while (group < pairs.Count && pairs[group].I == pairs[index].I)
            {
                group++;
            }

            for (var p = index; p < group; p++)
            {
                var (prefix, pair) = Query(tree, pairs[p].J); // chains ending at remote index < J
                score[p] = prefix + pairs[p].Sim;
                back[p] = pair;
                if (bestEnd < 0 || score[p] > score[bestEnd])
                {
                    bestEnd = p;
                }
            }

            for (var p = index; p < group; p++)
            {
                Update(tree, pairs[p].J + 1, (score[p], p));
            }

            index = group;
        }

        var chain = new List<(int, int, double)>();
        for (var p = bestEnd; p >= 0; p = back[p])
        {
            chain.Add(pairs[p]);
        }

        chain.Reverse();
        return chain;
    }

    private static (double Score, int Pair) Query((double Score, int Pair)[] tree, int count)
    {
        (double Score, int Pair) best = (0, -1);
        for (var t = count; t > 0; t -= t & -t)
        {
            if (tree[t].Score > best.Score)
            {
                best = tree[t];
            }
        }

        return best;
    }

    private static void Update((double Score, int Pair)[] tree, int position, (double Score, int Pair) value)
    {
        for (var t = position; t < tree.Length; t += t & -t)
        {
            if (value.Score > tree[t].Score)
            {
                tree[t] = value;
            }
        }
    }

    private const string Accented = "àáâãäåāèéêëēìíîïīòóôõöøōùúûüūýÿçñ";
    private const string Plain = "aaaaaaaeeeeeiiiiioooooooouuuuuyycn";

    /// <summary>
    /// Lower case, letters and digits only, common Latin accents folded ("Friday?" = "friday", "Café" = "cafe").
    /// The app runs with invariant globalization, where Unicode decomposition is not available, hence the table.
    /// </summary>
    public static string Normalize(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (char.IsLetterOrDigit(c))
            {
                var lower = char.ToLowerInvariant(c);
                var folded = Accented.IndexOf(lower, StringComparison.Ordinal);
                builder.Append(folded >= 0 ? Plain[folded] : lower);
            }
        }

        return builder.ToString();
    }

    /// <summary>1 − Levenshtein distance / longer length; words of two letters or fewer must match exactly.</summary>
    public static double Similarity(string a, string b)
    {
        if (a.Length == 0 || b.Length == 0)
        {
            return 0;
        }

        if (a.Length <= 2 || b.Length <= 2)
        {
            return a == b ? 1 : 0;
        }

        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1], previous[j]) + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            (previous, current) = (current, previous);
        }

        return 1 - ((double)previous[b.Length] / Math.Max(a.Length, b.Length));
    }
}
