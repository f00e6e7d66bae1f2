using System.Text;

namespace SparkControl.Core.Vectors;

/// <summary>
/// Cuts a document into chunks of at most a given length for embedding: whole sentences packed together (a paragraph
/// break also ends a sentence), an over-long sentence cut between words, and a word longer than a chunk cut where it
/// must be. Whitespace runs become one space.
/// </summary>
public static class TextChunker
{
    public static IReadOnlyList<string> Split(string text, int maxCharacters)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCharacters, 20);
        var chunks = new List<string>();
        var current = new StringBuilder();
        foreach (var piece in Pieces(text, maxCharacters))
        {
            if (current.Length > 0 && current.Length + 1 + piece.Length > maxCharacters)
            {
                chunks.Add(current.ToString());
                current.Clear();
            }

            current.Append(current.Length > 0 ? " " : string.Empty).Append(piece);
        }

        if (current.Length > 0)
        {
            chunks.Add(current.ToString());
        }

        return chunks;
    }

    /// <summary>Sentences (or pieces of over-long ones) no longer than <paramref name="max"/>, in order.</summary>
    private static IEnumerable<string> Pieces(string text, int max)
    {
        foreach (var paragraph in text.Split(["\r\n\r\n", "\n\n"], StringSplitOptions.RemoveEmptyEntries))
        {
            var words = paragraph.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            var sentence = new StringBuilder();
            foreach (var word in words.SelectMany(w => Cut(w, max)))
            {
                if (sentence.Length > 0 && sentence.Length + 1 + word.Length > max)
                {
                    yield return sentence.ToString();
                    sentence.Clear();
                }

                sentence.Append(sentence.Length > 0 ? " " : string.Empty).Append(word);
                if (word[^1] is '.' or '!' or '?')
                {
                    yield return sentence.ToString();
                    sentence.Clear();
                }
            }

            if (sentence.Length > 0)
            {
                yield return sentence.ToString();
            }
        }
    }

    private static IEnumerable<string> Cut(string word, int max)
    {
        for (var i = 0; i < word.Length; i += max)
        {
            yield return word.Substring(i, Math.Min(max, word.Length - i));
        }
    }
}
