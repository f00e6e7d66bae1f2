using System.Globalization;
using System.Text.Json;

namespace SparkControl.Core.Audio.LabelMerge;

/// <summary>
/// Reads a diarization (audio.md §2.3): NIST RTTM (<c>SPEAKER file 1 onset duration &lt;NA&gt; &lt;NA&gt; label
/// &lt;NA&gt; &lt;NA&gt;</c>, 9 or 10 fields; other line types and comments skipped) or pyannote-style JSON: an array of
/// <c>{start, end, speaker}</c>, or an object holding one under <c>exclusiveDiarization</c> (preferred: one speaker at a
/// time), <c>diarization</c> or <c>segments</c>, also inside a pyannoteAI job's <c>output</c>.
/// </summary>
public static class DiarizationFormats
{
    public static (IReadOnlyList<SpeakerSegment> Segments, string Format) Parse(string text)
    {
        var body = text.Trim();
        if (body.Length == 0)
        {
            return ([], "none");
        }

        return body[0] is '{' or '['
            ? (Parse(AsrFormats.ParseJson(body, "the diarization")), "JSON")
            : (ParseRttm(body), "RTTM");
    }

    public static IReadOnlyList<SpeakerSegment> Parse(JsonElement root)
    {
        if (root.ValueKind == JsonValueKind.Object)
        {
            foreach (var name in (ReadOnlySpan<string>)["exclusiveDiarization", "diarization", "segments", "output"])
            {
                if (root.TryGetProperty(name, out var inner) && inner.ValueKind is JsonValueKind.Array or JsonValueKind.Object)
                {
                    return Parse(inner);
                }
            }

            throw new TranscriptFormatException("The diarization JSON has no segments: expected an array of {start, end, speaker} or an object with \"segments\" or \"diarization\".");
        }

        if (root.ValueKind != JsonValueKind.Array)
        {
            throw new TranscriptFormatException("The diarization must be RTTM text or JSON segments.");
        }

        var segments = new List<SpeakerSegment>(root.GetArrayLength());
        var k = 0;
        foreach (var item in root.EnumerateArray())
        {
            var at = $"segments[{k++}]";
            if (item.ValueKind != JsonValueKind.Object)
            {
                throw new TranscriptFormatException($"{at} must be an object like {{\"start\":0.5,\"end\":5.2,\"speaker\":\"SPEAKER_00\"}}.");
            }

            var start = AsrFormats.Seconds(item, at, "start", "start_time") ?? throw new TranscriptFormatException($"{at} has no start.");
            var end = AsrFormats.Seconds(item, at, "end", "end_time") ?? throw new TranscriptFormatException($"{at} has no end.");
            var speaker = AsrFormats.Speaker(item) ?? throw new TranscriptFormatException($"{at} has no speaker.");
            segments.Add(new SpeakerSegment(start, end, speaker));
        }

        return segments;
    }

    public static IReadOnlyList<SpeakerSegment> ParseRttm(string text)
    {
        var segments = new List<SpeakerSegment>();
        var lines = text.ReplaceLineEndings("\n").Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var fields = lines[i].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length == 0 || fields[0].StartsWith('#') || fields[0] != "SPEAKER")
            {
                continue;
            }

            if (fields.Length is not (9 or 10))
            {
                throw new TranscriptFormatException($"RTTM line {i + 1} has {fields.Length} fields; a SPEAKER line has 9 or 10 (type, file, channel, onset, duration, <NA>, <NA>, speaker, ...).");
            }

            if (!TryTime(fields[3], out var onset) || !TryTime(fields[4], out var duration))
            {
                throw new TranscriptFormatException($"RTTM line {i + 1}: onset '{fields[3]}' and duration '{fields[4]}' must be seconds (field 5 is a duration, not an end time).");
            }

            segments.Add(new SpeakerSegment(onset, onset + duration, fields[7]));
        }

        if (segments.Count == 0)
        {
            throw new TranscriptFormatException("The diarization is neither JSON nor RTTM: no SPEAKER lines.");
        }

        return segments;
    }

    private static bool TryTime(string text, out double seconds) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out seconds) && double.IsFinite(seconds);
}
