using System.Globalization;
using System.Text.Json;
using SparkControl.Core.Validation;
using SparkControl.Core.Audio.LabelMerge;

namespace SparkControl.Core.Audio;

/// <summary>
/// Reads the body of <c>POST /api/audio/label-merge</c> and says exactly what is wrong with a bad one, field by field
/// (<c>words[3].start</c>). Two shapes:
/// <code>
/// {"words":[{"word","start","end"}], "segments":[{"start","end","speaker"}], "options":{...}}
/// {"channels":[{"speaker":"Me","words":[...]}, {"words":[...],"segments":[...]}], "options":{...}}
/// </code>
/// Instead of <c>words</c> a transcript may carry <c>asr</c> (a server's raw response: verbose_json, SRT, WebVTT,
/// parakeet variants; as JSON or as a string), and instead of <c>segments</c>, <c>diarization</c> (RTTM text or
/// pyannote JSON). Word times may be null or absent (the sanitize step handles them); segment fields are required.
/// Options are seconds: <c>maxFillGap, maxWordDuration, boundaryGuard, maxPause, maxUtterance</c>; and
/// <c>fillNearest</c>, <c>defaultSpeaker</c>, <c>localSpeaker</c>, <c>remoteSpeaker</c>, and <c>removeEcho</c> (a
/// two-channel call drops channel-0 words that echo channel 1 unless it is false).
/// </summary>
public static class LabelMergeRequestReader
{
    private const int MaxReportedErrors = 20;
    private const int MaxSpeakerLength = 100;
    private static readonly string[] TopLevel = ["words", "segments", "asr", "diarization", "channels", "options"];
    private static readonly string[] ChannelFields = ["speaker", "words", "segments", "asr", "diarization"];
    private static readonly string[] OptionFields = ["maxFillGap", "maxWordDuration", "boundaryGuard", "maxPause", "maxUtterance", "fillNearest", "defaultSpeaker", "localSpeaker", "remoteSpeaker", "removeEcho"];

    public static LabelMergeJob Read(JsonElement root, AudioOptions settings)
    {
        var errors = new Errors();
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new ValidationFailedException([new FieldError("body", "The body must be a JSON object with \"words\" (and \"segments\") or \"channels\".")]);
        }

        Unknown(root, TopLevel, string.Empty, errors);
        var (options, local, remote, removeEcho) = ReadOptions(root, settings, errors);
        var hasChannels = root.TryGetProperty("channels", out var channels);
        if (hasChannels && (root.TryGetProperty("words", out _) || root.TryGetProperty("asr", out _)))
        {
            errors.Add("channels", "Send either \"channels\" (a call) or \"words\" (one transcript), not both.");
        }

        IReadOnlyList<ChannelTranscript>? calls = null;
        IReadOnlyList<TranscriptWord> words = [];
        IReadOnlyList<SpeakerSegment> segments = [];
        if (hasChannels)
        {
            calls = ReadChannels(channels, settings, errors);
        }
        else
        {
            (words, segments) = ReadTranscript(root, string.Empty, settings.MaxWords, errors);
        }

        var total = calls?.Sum(c => c.Words.Count) ?? words.Count;
        if (total > settings.MaxWords)
        {
            errors.Add(hasChannels ? "channels" : "words", TooMany(total, settings.MaxWords));
        }

        // An explicit request for echo removal that cannot run is a mistake worth saying, not a silent no-op.
        if (removeEcho == true && calls is not null && calls.Count != CallMerger.MaxChannels)
        {
            errors.Add("options.removeEcho", "options.removeEcho needs a two-channel call: \"channels\" with channel 0 the local microphone and channel 1 the remote side.");
        }
        else if (removeEcho == true && !hasChannels)
        {
            errors.Add("options.removeEcho", "options.removeEcho needs a two-channel call (\"channels\"); a single transcript has no remote side to echo.");
        }

        errors.ThrowIfAny();
        return new LabelMergeJob(words, segments, calls, options, local, remote, removeEcho ?? true);
    }

    /// <summary>Null when <paramref name="speaker"/> can name a speaker; otherwise what is wrong with it.</summary>
    public static string? CheckSpeaker(string? speaker) =>
        string.IsNullOrWhiteSpace(speaker) ? "must not be empty"
        : speaker.Length > MaxSpeakerLength ? $"must be at most {MaxSpeakerLength} characters"
        : speaker.Any(char.IsControl) ? "must not contain control characters (line breaks would break subtitles)"
        : null;

    private static string TooMany(int count, int limit) =>
        string.Create(CultureInfo.InvariantCulture, $"{count:N0} words is more than this panel accepts in one request ({limit:N0}, setting Audio:MaxWords).");

    private static List<ChannelTranscript>? ReadChannels(JsonElement channels, AudioOptions settings, Errors errors)
    {
        if (channels.ValueKind != JsonValueKind.Array || channels.GetArrayLength() is 0 or > CallMerger.MaxChannels)
        {
            errors.Add("channels", "channels must be an array of one or two channels: channel 0 the local microphone, channel 1 the remote side.");
            return null;
        }

        var result = new List<ChannelTranscript>();
        var k = 0;
        foreach (var channel in channels.EnumerateArray())
        {
            var at = $"channels[{k++}]";
            if (channel.ValueKind != JsonValueKind.Object)
            {
                errors.Add(at, $"{at} must be an object with \"words\" (and optionally \"speaker\" and \"segments\").");
                continue;
            }

            Unknown(channel, ChannelFields, $"{at}.", errors);
            var speaker = OptionalSpeaker(channel, "speaker", $"{at}.speaker", errors);
            var (words, segments) = ReadTranscript(channel, $"{at}.", settings.MaxWords, errors);
            result.Add(new ChannelTranscript(words, segments, speaker));
        }

        return result;
    }

    private static (IReadOnlyList<TranscriptWord> Words, IReadOnlyList<SpeakerSegment> Segments) ReadTranscript(JsonElement item, string prefix, int maxWords, Errors errors)
    {
        IReadOnlyList<TranscriptWord> words = [];
        IReadOnlyList<SpeakerSegment> hints = [];
        var hasWords = item.TryGetProperty("words", out var w);
        var hasAsr = item.TryGetProperty("asr", out var asr);
        if (hasWords && hasAsr)
        {
            errors.Add($"{prefix}asr", "Send either \"words\" or \"asr\", not both.");
        }
        else if (hasWords)
        {
            words = ReadWords(w, $"{prefix}words", maxWords, errors);
        }
        else if (hasAsr)
        {
            try
            {
                var transcript = asr.ValueKind == JsonValueKind.String ? AsrFormats.Parse(asr.GetString()!) : AsrFormats.Parse(asr);
                (words, hints) = (transcript.Words, transcript.Speakers);
            }
            catch (TranscriptFormatException ex)
            {
                errors.Add($"{prefix}asr", ex.Message);
            }
        }
        else
        {
            errors.Add($"{prefix}words", "words is required: an array of {\"word\", \"start\", \"end\"} (or \"asr\" with a server's response).");
        }

        var hasSegments = item.TryGetProperty("segments", out var s);
        var hasDiarization = item.TryGetProperty("diarization", out var d);
        if (hasSegments && hasDiarization)
        {
            errors.Add($"{prefix}diarization", "Send either \"segments\" or \"diarization\", not both.");
            return (words, []);
        }

        if (hasSegments)
        {
            return (words, ReadSegments(s, $"{prefix}segments", errors));
        }

        if (hasDiarization && d.ValueKind != JsonValueKind.Null)
        {
            try
            {
                return (words, d.ValueKind == JsonValueKind.String ? DiarizationFormats.Parse(d.GetString()!).Segments : DiarizationFormats.Parse(d));
            }
            catch (TranscriptFormatException ex)
            {
                errors.Add($"{prefix}diarization", ex.Message);
            }
        }

        // Servers that diarize put speakers on their segments: without a diarization, those are the best there is.
        return (words, hints);
    }

    private static TranscriptWord[] ReadWords(JsonElement array, string path, int maxWords, Errors errors)
    {
        if (array.ValueKind != JsonValueKind.Array)
        {
            errors.Add(path, $"{path} must be an array of {{\"word\", \"start\", \"end\"}}.");
            return [];
        }

        if (array.GetArrayLength() > maxWords)
        {
            errors.Add(path, TooMany(array.GetArrayLength(), maxWords));
            return [];
        }

        var words = new TranscriptWord[array.GetArrayLength()];
        var k = 0;
        foreach (var item in array.EnumerateArray())
        {
            var at = $"{path}[{k}]";
            if (item.ValueKind != JsonValueKind.Object)
            {
                errors.Add(at, $"{at} must be an object like {{\"word\":\"hello\",\"start\":0.5,\"end\":0.8}}.");
                words[k++] = new TranscriptWord(string.Empty, null, null);
                continue;
            }

            var text = item.TryGetProperty("word", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : null;
            if (text is null)
            {
                errors.Add($"{at}.word", $"{at}.word is required and must be a string.");
            }

            words[k++] = new TranscriptWord(text ?? string.Empty, Time(item, "start", at, required: false, errors), Time(item, "end", at, required: false, errors));
        }

        return words;
    }

    private static List<SpeakerSegment> ReadSegments(JsonElement array, string path, Errors errors)
    {
        var segments = new List<SpeakerSegment>();
        if (array.ValueKind != JsonValueKind.Array)
        {
            errors.Add(path, $"{path} must be an array of {{\"start\", \"end\", \"speaker\"}}.");
            return segments;
        }

        var k = 0;
        foreach (var item in array.EnumerateArray())
        {
            var at = $"{path}[{k++}]";
            if (item.ValueKind != JsonValueKind.Object)
            {
                errors.Add(at, $"{at} must be an object like {{\"start\":0.5,\"end\":5.2,\"speaker\":\"SPEAKER_00\"}}.");
                continue;
            }

            var start = Time(item, "start", at, required: true, errors);
            var end = Time(item, "end", at, required: true, errors);
            var speaker = item.TryGetProperty("speaker", out var sp) && sp.ValueKind == JsonValueKind.String ? sp.GetString() : null;
            if (speaker is null)
            {
                errors.Add($"{at}.speaker", $"{at}.speaker is required and must be a string.");
            }
            else if (CheckSpeaker(speaker) is { } problem)
            {
                errors.Add($"{at}.speaker", $"{at}.speaker {problem}.");
            }
            else if (start is { } s && end is { } e)
            {
                segments.Add(new SpeakerSegment(s, e, speaker));
            }
        }

        return segments;
    }

    private static double? Time(JsonElement item, string name, string at, bool required, Errors errors)
    {
        if (!item.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                errors.Add($"{at}.{name}", $"{at}.{name} is required: a number of seconds.");
            }

            return null;
        }

        // JSON has no NaN or Infinity; a quoted "NaN" or an overflowing 1e999 is refused here rather than sanitized away.
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var seconds) || !double.IsFinite(seconds))
        {
            errors.Add($"{at}.{name}", $"{at}.{name} must be a finite number of seconds{(required ? string.Empty : " or null")}, not {Shorten(value.GetRawText())}.");
            return null;
        }

        return seconds;
    }

    private static (LabelMergeOptions Options, string Local, string Remote, bool? RemoveEcho) ReadOptions(JsonElement root, AudioOptions settings, Errors errors)
    {
        var options = settings.ToMergeOptions();
        string local = settings.LocalSpeaker, remote = settings.RemoteSpeaker;
        if (!root.TryGetProperty("options", out var o) || o.ValueKind == JsonValueKind.Null)
        {
            return (options, local, remote, null);
        }

        if (o.ValueKind != JsonValueKind.Object)
        {
            errors.Add("options", "options must be an object.");
            return (options, local, remote, null);
        }

        Unknown(o, OptionFields, "options.", errors);
        options = options with
        {
            MaxFillGap = Duration(o, "maxFillGap", options.MaxFillGap, errors),
            MaxWordDuration = Duration(o, "maxWordDuration", options.MaxWordDuration, errors),
            BoundaryGuard = Duration(o, "boundaryGuard", options.BoundaryGuard, errors),
            MaxPause = Duration(o, "maxPause", options.MaxPause, errors),
            MaxUtterance = Duration(o, "maxUtterance", options.MaxUtterance, errors, positive: true),
            DefaultSpeaker = OptionalSpeaker(o, "defaultSpeaker", "options.defaultSpeaker", errors),
            FillNearest = Flag(o, "fillNearest", errors) ?? options.FillNearest,
        };
        return (
            options,
            OptionalSpeaker(o, "localSpeaker", "options.localSpeaker", errors) ?? local,
            OptionalSpeaker(o, "remoteSpeaker", "options.remoteSpeaker", errors) ?? remote,
            Flag(o, "removeEcho", errors));
    }

    /// <summary>The option's value, or null when it is absent or null (the default applies).</summary>
    private static bool? Flag(JsonElement options, string name, Errors errors)
    {
        if (!options.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            return value.GetBoolean();
        }

        errors.Add($"options.{name}", $"options.{name} must be true or false, not {Shorten(value.GetRawText())}.");
        return null;
    }

    private static TimeSpan Duration(JsonElement options, string name, TimeSpan fallback, Errors errors, bool positive = false)
    {
        if (!options.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return fallback;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var seconds) && double.IsFinite(seconds) && seconds >= 0 && seconds <= 86_400 && (!positive || seconds > 0))
        {
            return TimeSpan.FromMilliseconds(Math.Round(seconds * 1000));
        }

        errors.Add($"options.{name}", $"options.{name} must be a number of seconds from {(positive ? "above 0" : "0")} to 86400, not {Shorten(value.GetRawText())}.");
        return fallback;
    }

    private static string? OptionalSpeaker(JsonElement item, string name, string path, Errors errors)
    {
        if (!item.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var speaker = value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        if (CheckSpeaker(speaker) is { } problem)
        {
            errors.Add(path, value.ValueKind == JsonValueKind.String ? $"{path} {problem}." : $"{path} must be a string.");
            return null;
        }

        return speaker;
    }

    private static void Unknown(JsonElement item, string[] known, string prefix, Errors errors)
    {
        foreach (var property in item.EnumerateObject())
        {
            if (!known.Contains(property.Name, StringComparer.Ordinal))
            {
                errors.Add($"{prefix}{property.Name}", $"{prefix}{Shorten(property.Name)} is not a known field; known: {string.Join(", ", known)}.");
            }
        }
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : $"{text[..40]}…";

    /// <summary>Field errors, at most <see cref="MaxReportedErrors"/> (a 100,000-word body with a bad field in each is one problem, not a megabyte).</summary>
    private sealed class Errors
    {
        private readonly List<FieldError> _errors = [];
        private int _more;

        public void Add(string field, string message)
        {
            if (_errors.Count < MaxReportedErrors)
            {
                _errors.Add(new FieldError(field, message));
            }
            else
            {
                _more++;
            }
        }

        public void ThrowIfAny()
        {
            if (_errors.Count == 0)
            {
                return;
            }

            if (_more > 0)
            {
                _errors.Add(new FieldError("body", string.Create(CultureInfo.InvariantCulture, $"... and {_more:N0} more problems like these.")));
            }

            throw new ValidationFailedException(_errors);
        }
    }
}
