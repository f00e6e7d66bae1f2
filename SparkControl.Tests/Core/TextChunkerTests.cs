using CsCheck;
using SparkControl.Core.Vectors;
using SparkControl.Sim.Server;

namespace SparkControl.Tests.Core;

/// <summary>Documents cut for embedding, and the Sim's lexical embedding that makes search over them meaningful.</summary>
public sealed class TextChunkerTests
{
    [Fact]
    public void Sentences_ArePackedWhole_UpToTheLimit()
    {
        var chunks = TextChunker.Split("One two three. Four five six!\n\nSeven eight? Nine ten eleven twelve.", 30);

        Assert.Equal(["One two three. Four five six!", "Seven eight?", "Nine ten eleven twelve."], chunks);
    }

    [Fact]
    public void AnOverLongSentence_IsCutBetweenWords_AndAnOverLongWordWhereItMust()
    {
        var chunks = TextChunker.Split("alpha beta gamma delta epsilon " + new string('x', 45), 20);

        Assert.Equal(["alpha beta gamma", "delta epsilon", new string('x', 20), new string('x', 20), new string('x', 5)], chunks);
    }

    [Fact]
    public void NoChunkIsLongerThanTheLimit_AndNoWordIsLost()
    {
        // Words up to 70 characters (some longer than a chunk), between spaces, sentence ends and paragraph breaks.
        var words = Gen.Select(Gen.Char['a', 'f'].Array[1, 70].Select(c => new string(c)), Gen.OneOf(" ", ". ", "\n\n", "  "), (word, gap) => word + gap);
        var texts = words.Array[0, 80].Select(string.Concat);
        Gen.Select(texts, Gen.Int[20, 60]).Sample((text, max) =>
        {
            var chunks = TextChunker.Split(text, max);
            return chunks.All(c => c.Length <= max && c.Length > 0)
                && string.Concat(chunks).Replace(" ", string.Empty, StringComparison.Ordinal) == string.Concat(text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        });
    }

    [Fact]
    public void TheSimsEmbedding_PutsTextsSharingWordsNearer_ThanTextsThatShareNone()
    {
        var query = SimModelServer.Embed("replace the fan", 384);
        var fan = SimModelServer.Embed("To replace the GPU fan, remove four screws.", 384);
        var memory = SimModelServer.Embed("Unified memory holds model weights.", 384);

        Assert.True(Cosine(query, fan) > 0.4, $"{Cosine(query, fan)}");
        Assert.True(Math.Abs(Cosine(query, memory)) < 0.2, $"{Cosine(query, memory)}");
        Assert.Equal(1.0, Cosine(fan, fan), 5);
        Assert.Equal(SimModelServer.Embed("Replace THE fan!", 384), query);
        Assert.Equal(1.0, Cosine(SimModelServer.Embed("...", 384), SimModelServer.Embed("...", 384)), 5);
    }

    private static double Cosine(float[] a, float[] b) => a.Zip(b, (x, y) => (double)x * y).Sum();
}
