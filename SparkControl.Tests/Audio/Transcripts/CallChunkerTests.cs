using SparkControl.Core.Audio.LabelMerge;
using SparkControl.Core.Audio.Transcripts;

namespace SparkControl.Tests.Audio.Transcripts;

public sealed class CallChunkerTests
{
    private const int Rate = 16000;

    /// <summary>Speech-like noise with silences at the given seconds (each 0.5 s long).</summary>
    private static float[] Signal(double seconds, params double[] silencesAt)
    {
        var random = new Random(5);
        var samples = new float[(int)(seconds * Rate)];
        for (var i = 0; i < samples.Length; i++)
        {
            var t = (double)i / Rate;
            samples[i] = silencesAt.Any(s => t >= s && t < s + 0.5) ? 0 : (float)((random.NextDouble() - 0.5) * 0.5);
        }

        return samples;
    }

    [Fact]
    public void Plan_ShortChannel_IsOnePieceOwningEverything()
    {
        var chunks = CallChunker.Plan(Signal(20), Rate, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(1));

        var only = Assert.Single(chunks);
        Assert.Equal((0, 20 * Rate, 0.0, 20.0), (only.From, only.To, only.OwnFrom, only.OwnTo));
    }

    [Fact]
    public void Plan_LongChannel_CutsInTheSilences_AndNoPieceIsLongerThanTheLimit()
    {
        // Silences at 22 s, 47 s and 71 s: each falls in the window where a 30 s piece (less its overlap) must be cut.
        var chunks = CallChunker.Plan(Signal(90, 22, 47, 71), Rate, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(1));

        Assert.Equal(4, chunks.Count);
        Assert.All(chunks, c => Assert.True(c.To - c.From <= 30 * Rate, $"piece {c.Index} is {(c.To - c.From) / (double)Rate} s"));
        var cuts = chunks.Skip(1).Select(c => c.OwnFrom).ToArray();
        Assert.All(cuts.Zip([22.0, 47.0, 71.0]), p => Assert.InRange(p.First, p.Second, p.Second + 0.5));
        // The owned spans tile the channel with no gap and no overlap.
        Assert.Equal(0, chunks[0].OwnFrom);
        Assert.Equal(90, chunks[^1].OwnTo);
        Assert.All(chunks.Zip(chunks.Skip(1)), p => Assert.Equal(p.First.OwnTo, p.Second.OwnFrom));
    }

    [Fact]
    public void Plan_NoSilenceAnywhere_StillCutsWithinTheLimit()
    {
        var chunks = CallChunker.Plan(Signal(200), Rate, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(1));

        Assert.True(chunks.Count >= 7);
        Assert.All(chunks, c => Assert.True(c.To - c.From <= 30 * Rate));
        Assert.Equal(200, chunks[^1].OwnTo);
    }

    [Fact]
    public void Join_AWordBothPiecesHeard_IsKeptOnce_AndAWordOnTheCutIsNotLost()
    {
        var chunks = CallChunker.Plan(Signal(50, 22), Rate, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(1));
        Assert.Equal(2, chunks.Count);
        var cut = chunks[1].OwnFrom;
        var secondStart = (double)chunks[1].From / Rate;
        // Times are relative to each piece's first sample. "alpha" ends before the cut and is heard by both pieces (the
        // second through its overlap); "beta" straddles the cut and is heard by both; "gamma" is after it.
        IReadOnlyList<TranscriptWord> first = [new("alpha", cut - 0.6, cut - 0.3), new("beta", cut - 0.1, cut + 0.3)];
        IReadOnlyList<TranscriptWord> second = [new("alpha", cut - 0.6 - secondStart, cut - 0.3 - secondStart), new("beta", cut - 0.1 - secondStart, cut + 0.3 - secondStart), new("gamma", 2, 2.4)];

        var joined = CallChunker.Join(chunks, [first, second], Rate);

        Assert.Equal(["alpha", "beta", "gamma"], joined.Select(w => w.Text));
        Assert.Equal(Math.Round(secondStart + 2, 3), joined[2].Start);
    }

    [Fact]
    public void Join_AWordWithoutTimes_IsKept()
    {
        var chunks = CallChunker.Plan(Signal(10), Rate, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(1));

        var joined = CallChunker.Join(chunks, [[new TranscriptWord("untimed", null, null)]], Rate);

        Assert.Equal("untimed", Assert.Single(joined).Text);
    }
}
