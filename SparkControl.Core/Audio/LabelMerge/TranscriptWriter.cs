using System.Globalization;
using System.Text;

namespace SparkControl.Core.Audio.LabelMerge;

/// <summary>The merged transcript as subtitles (SRT, WebVTT) or plain text, one speaker per cue or line.</summary>
public static class TranscriptWriter
{
    /// <summary>The name shown for words no speaker could be given to.</summary>
    public const string UnknownSpeaker = "Unknown";

    /// <summary>Subtitle cues stay readable: at most two lines' worth of text and this long on screen.</summary>
    public const int MaxCueCharacters = 84;

    public static readonly TimeSpan MaxCueDuration = TimeSpan.FromSeconds(7);

    /// <summary>The text formats a transcript is written in, by the name the APIs take in <c>?format=</c>.</summary>
    public static readonly IReadOnlyList<string> TextFormats = ["srt", "vtt", "text"];

    /// <summary>The transcript in a text format: its text, content type and file extension; null for another name (JSON is the caller's).</summary>
    public static (string Text, string ContentType, string Extension)? Write(LabelMergeResult result, string format) => format switch
    {
        "srt" => (Srt(result), "application/x-subrip", "srt"),
        "vtt" => (WebVtt(result), "text/vtt", "vtt"),
        "text" => (PlainText(result), "text/plain", "txt"),
        _ => null,
    };

    public static string Srt(LabelMergeResult result)
    {
        var text = new StringBuilder();
        var number = 1;
        foreach (var cue in Cues(result))
        {
            text.Append(number++).Append('\n')
                .Append(Time(cue.Start, ',')).Append(" --> ").Append(Time(cue.End, ',')).Append('\n')
                .Append(Name(cue.Speaker)).Append(": ").Append(cue.Text).Append("\n\n");
        }

        return text.ToString();
    }

    public static string WebVtt(LabelMergeResult result)
    {
        var text = new StringBuilder("WEBVTT\n\n");
        foreach (var cue in Cues(result))
        {
            text.Append(Time(cue.Start, '.')).Append(" --> ").Append(Time(cue.End, '.')).Append('\n')
                .Append("<v ").Append(EscapeVtt(Name(cue.Speaker))).Append('>')
                .Append(EscapeVtt(cue.Text)).Append("\n\n");
        }

        return text.ToString();
    }

    /// <summary>One line per utterance: <c>[00:01:02] Speaker: text</c>.</summary>
    public static string PlainText(LabelMergeResult result)
    {
        var text = new StringBuilder();
        foreach (var utterance in result.Utterances)
        {
            text.Append('[').Append(Time(utterance.Start, null)).Append("] ")
                .Append(Name(utterance.Speaker)).Append(": ").Append(utterance.Text).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>Each utterance, split at word boundaries where it would be too long for one cue.</summary>
    public static IEnumerable<(double Start, double End, string? Speaker, string Text)> Cues(LabelMergeResult result)
    {
        foreach (var utterance in result.Utterances)
        {
            var words = new List<LabelledWord>();
            double start = utterance.Start, end = utterance.Start;
            var characters = 0;
            foreach (var index in utterance.Words)
            {
                var word = result.Words[index];
                var tooLong = characters + word.Text.Trim().Length > MaxCueCharacters || (word.End is { } e && e - start > MaxCueDuration.TotalSeconds);
                if (words.Count > 0 && tooLong && word.Start is { } wordStart)
                {
                    yield return (start, end, utterance.Speaker, UtteranceGrouper.JoinWords(words.Select(w => w.Text)));
                    words.Clear();
                    characters = 0;
                    start = wordStart;
                }

                if (words.Count == 0 && word.Start is { } first)
                {
                    start = first;
                }

                words.Add(word);
                characters += word.Text.Trim().Length + 1;
                end = Math.Max(end, word.End ?? end);
            }

            if (words.Count > 0)
            {
                yield return (start, Math.Max(start, end), utterance.Speaker, UtteranceGrouper.JoinWords(words.Select(w => w.Text)));
            }
        }
    }

    /// <summary>WebVTT cue text treats &amp;, &lt; and &gt; as markup; everything else passes as it is.</summary>
    private static string EscapeVtt(string text) => text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);

    /// <summary>A speaker's name on one line: a line break inside a name would end an SRT cue.</summary>
    public static string Name(string? speaker) => speaker is null ? UnknownSpeaker : speaker.ReplaceLineEndings(" ");

    /// <summary><c>hh:mm:ss,mmm</c> (SRT), <c>hh:mm:ss.mmm</c> (WebVTT), or <c>hh:mm:ss</c> without a separator.</summary>
    private static string Time(double seconds, char? separator)
    {
        var ms = WordSanitizer.ToMilliseconds(Math.Max(0, seconds));
        var time = string.Create(CultureInfo.InvariantCulture, $"{ms / 3_600_000:00}:{ms / 60_000 % 60:00}:{ms / 1000 % 60:00}");
        return separator is { } s ? string.Create(CultureInfo.InvariantCulture, $"{time}{s}{ms % 1000:000}") : time;
    }
}
