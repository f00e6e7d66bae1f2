using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace SparkControl.Core.Audio.LabelMerge;

/// <summary>Input that is not a transcript or diarization we can read; the message says what was expected.</summary>
public sealed class TranscriptFormatException(string message) : FormatException(message);

/// <summary>
/// A recogniser's output as words, plus the speakers some servers put on segments (a hint that can stand in for a
/// diarization). <see cref="Format"/> names what was recognised, for the page and the logs.
/// </summary>
public sealed record AsrTranscript(IReadOnlyList<TranscriptWord> Words, IReadOnlyList<SpeakerSegment> Speakers, string Format);

/// <summary>
/// Reads what OpenAI-compatible transcription servers really return (audio.md §2.1-2.2): OpenAI <c>verbose_json</c>
/// with top-level <c>words</c> and/or <c>segments</c>; faster-whisper/WhisperX segments with nested <c>words</c>;
/// <c>diarized_json</c> and the parakeet servers' segments without words (their text is spread over the segment by
/// character count and marked estimated), with <c>speaker</c> on segments; a bare JSON array of words; SRT or WebVTT
/// text (WebVTT <c>&lt;v Name&gt;</c> voices become speakers); and the parakeet SRT body with the word list appended
/// after <c>----..----</c>.
/// </summary>
public static partial class AsrFormats
{
    public const string ParakeetWordsMarker = "----..----";

    public static AsrTranscript Parse(string text)
    {
        var body = text.Trim();
        if (body.Length == 0)
        {
            throw new TranscriptFormatException("The transcript is empty.");
        }

        var marker = body.IndexOf(ParakeetWordsMarker, StringComparison.Ordinal);
        if (marker >= 0)
        {
            var words = ReadWords(ParseJson(body[(marker + ParakeetWordsMarker.Length)..], "the word list after ----..----"), "words");
            return new AsrTranscript(words, [], "parakeet SRT with words");
        }

        if (body[0] is '{' or '[')
        {
            return Parse(ParseJson(body, "the transcript"));
        }

        if (body.Contains("-->", StringComparison.Ordinal))
        {
            return ParseCues(body);
        }

        throw new TranscriptFormatException("The transcript has no timings: expected OpenAI verbose_json, a JSON array of words, SRT or WebVTT.");
    }

    public static AsrTranscript Parse(JsonElement root)
    {
        if (root.ValueKind == JsonValueKind.Array)
        {
            return new AsrTranscript(ReadWords(root, "words"), [], "words array");
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new TranscriptFormatException("The transcript must be a JSON object (verbose_json) or an array of words.");
        }

        var segments = root.TryGetProperty("segments", out var s) && s.ValueKind == JsonValueKind.Array ? s : default;
        var hasSegments = segments.ValueKind == JsonValueKind.Array;
        var speakers = hasSegments ? ReadSpeakers(segments) : [];
        if (root.TryGetProperty("words", out var w) && w.ValueKind == JsonValueKind.Array && (w.GetArrayLength() > 0 || !hasSegments || segments.GetArrayLength() == 0))
        {
            // Silence is a transcript too: empty words (and no segments with text) is an empty result, not an error.
            return new AsrTranscript(ReadWords(w, "words"), speakers, "verbose_json");
        }

        if (hasSegments)
        {
            var nested = segments.EnumerateArray().Any(x => x.ValueKind == JsonValueKind.Object && x.TryGetProperty("words", out var n) && n.ValueKind == JsonValueKind.Array);
            return nested
                ? new AsrTranscript([.. segments.EnumerateArray().SelectMany((x, k) => x.TryGetProperty("words", out var n) && n.ValueKind == JsonValueKind.Array ? ReadWords(n, $"segments[{k}].words") : [])], speakers, "segments with words")
                : new AsrTranscript([.. segments.EnumerateArray().SelectMany((x, k) => SpreadSegment(x, $"segments[{k}]"))], speakers, "segments without word timings");
        }

        if (root.TryGetProperty("text", out _))
        {
            throw new TranscriptFormatException("The transcript has text but no timings: ask the server for response_format=verbose_json with timestamp_granularities[]=word.");
        }

        throw new TranscriptFormatException("The transcript has neither words nor segments.");
    }

    internal static JsonElement ParseJson(string text, string what)
    {
        try
        {
            using var document = JsonDocument.Parse(text, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            return document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new TranscriptFormatException($"{char.ToUpperInvariant(what[0])}{what[1..]} is not valid JSON: {ex.Message}");
        }
    }

    private static TranscriptWord[] ReadWords(JsonElement array, string path)
    {
        if (array.ValueKind != JsonValueKind.Array)
        {
            throw new TranscriptFormatException($"{path} must be an array of words.");
        }

        var words = new TranscriptWord[array.GetArrayLength()];
        var k = 0;
        foreach (var item in array.EnumerateArray())
        {
            var at = $"{path}[{k}]";
            if (item.ValueKind != JsonValueKind.Object)
            {
                throw new TranscriptFormatException($"{at} must be an object like {{\"word\":\"hello\",\"start\":0.5,\"end\":0.8}}.");
            }

            var text = Text(item, "word") ?? Text(item, "text") ?? Text(item, "token") ?? throw new TranscriptFormatException($"{at} has no word text (\"word\").");
            words[k++] = new TranscriptWord(text, Seconds(item, at, "start", "start_time"), Seconds(item, at, "end", "end_time"));
        }

        return words;
    }

    private static IEnumerable<TranscriptWord> SpreadSegment(JsonElement segment, string at) =>
        segment.ValueKind == JsonValueKind.Object
            ? SpreadText(Text(segment, "text"), Seconds(segment, at, "start", "start_time"), Seconds(segment, at, "end", "end_time"))
            : [];

    /// <summary>Text without word times: its words share the span in proportion to their length, marked estimated.</summary>
    private static TranscriptWord[] SpreadText(string? text, double? start, double? end)
    {
        var tokens = (text ?? string.Empty).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (start is not { } from || end is not { } to || to < from)
        {
            return [.. tokens.Select(t => new TranscriptWord(t, null, null) { TimesEstimated = true })];
        }

        var total = tokens.Sum(t => t.Length);
        var before = 0;
        var words = new TranscriptWord[tokens.Length];
        for (var i = 0; i < tokens.Length; i++)
        {
            var wordStart = from + ((to - from) * before / total);
            before += tokens[i].Length;
            words[i] = new TranscriptWord(tokens[i], Math.Round(wordStart, 3), Math.Round(from + ((to - from) * before / total), 3)) { TimesEstimated = true };
        }

        return words;
    }

    private static List<SpeakerSegment> ReadSpeakers(JsonElement segments)
    {
        var speakers = new List<SpeakerSegment>();
        var k = 0;
        foreach (var segment in segments.EnumerateArray())
        {
            var at = $"segments[{k++}]";
            if (segment.ValueKind == JsonValueKind.Object && Speaker(segment) is { } speaker
                && Seconds(segment, at, "start", "start_time") is { } start && Seconds(segment, at, "end", "end_time") is { } end)
            {
                speakers.Add(new SpeakerSegment(start, end, speaker));
            }
        }

        return speakers;
    }

    /// <summary>A speaker label, string or number; parakeet-diarized's doubled prefix <c>speaker_SPEAKER_00</c> is undone.</summary>
    internal static string? Speaker(JsonElement item)
    {
        foreach (var name in (ReadOnlySpan<string>)["speaker", "label", "speaker_label", "speaker_id"])
        {
            if (item.TryGetProperty(name, out var value))
            {
                var label = value.ValueKind switch
                {
                    JsonValueKind.String => value.GetString(),
                    JsonValueKind.Number => value.GetRawText(),
                    _ => null,
                };
                if (!string.IsNullOrWhiteSpace(label))
                {
                    return label.StartsWith("speaker_SPEAKER_", StringComparison.Ordinal) ? label["speaker_".Length..] : label;
                }
            }
        }

        return null;
    }

    private static string? Text(JsonElement item, string name) =>
        item.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>A time in seconds: a number, or null/absent for "unknown"; anything else is an error naming the field.</summary>
    internal static double? Seconds(JsonElement item, string at, params ReadOnlySpan<string> names)
    {
        foreach (var name in names)
        {
            if (!item.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var seconds) || !double.IsFinite(seconds))
            {
                throw new TranscriptFormatException($"{at}.{name} must be a number of seconds, not {value.GetRawText()}.");
            }

            return seconds;
        }

        return null;
    }

    private static AsrTranscript ParseCues(string body)
    {
        var words = new List<TranscriptWord>();
        var speakers = new List<SpeakerSegment>();
        var lines = body.ReplaceLineEndings("\n").Split('\n');
        var vtt = lines[0].StartsWith("WEBVTT", StringComparison.Ordinal);
        for (var i = 0; i < lines.Length; i++)
        {
            var arrow = lines[i].IndexOf("-->", StringComparison.Ordinal);
            if (arrow < 0)
            {
                continue;
            }

            var start = CueTime(lines[i][..arrow], i);
            var end = CueTime(lines[i][(arrow + 3)..].TrimStart().Split(' ', 2)[0], i);
            var text = new List<string>();
            while (i + 1 < lines.Length && lines[i + 1].Trim().Length > 0)
            {
                text.Add(lines[++i].Trim());
            }

            var joined = string.Join(' ', text);
            var voice = Voice().Match(joined);
            if (voice.Success)
            {
                speakers.Add(new SpeakerSegment(start, end, voice.Groups[1].Value.Trim()));
            }

            var plain = System.Net.WebUtility.HtmlDecode(Tag().Replace(joined, " "));
            words.AddRange(SpreadText(plain, start, end));
        }

        return new AsrTranscript(words, speakers, vtt ? "WebVTT" : "SRT");
    }

    private static double CueTime(string text, int line)
    {
        var parts = text.Trim().Replace(',', '.').Split(':');
        if (parts.Length is 2 or 3
            && parts.SkipLast(1).All(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            && double.TryParse(parts[^1], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds))
        {
            var hours = parts.Length == 3 ? int.Parse(parts[0], CultureInfo.InvariantCulture) : 0;
            var minutes = int.Parse(parts[^2], CultureInfo.InvariantCulture);
            return (hours * 3600) + (minutes * 60) + seconds;
        }

        throw new TranscriptFormatException($"Line {line + 1}: '{text.Trim()}' is not a cue time like 00:01:02,500.");
    }

    [GeneratedRegex(@"<v(?:\.[^ >]*)?\s+([^>]+)>")]
    private static partial Regex Voice();

    [GeneratedRegex(@"<[^>]*>")]
    private static partial Regex Tag();
}
