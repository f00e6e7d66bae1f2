using System.Globalization;
using System.Text.Json.Nodes;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Gateway;

/// <summary>
/// What the gateway's audio routes accept, as OpenAI's audio API defines it (<c>runtime-facts.md</c> §7): checked
/// before a worker slot is taken, so a bad request costs no worker time and gets an error naming the field.
/// </summary>
public static class AudioRequestRules
{
    public static readonly IReadOnlyList<string> TranscriptFormats = ["json", "text", "srt", "verbose_json", "vtt"];

    public static readonly IReadOnlyList<string> SpeechFormats = ["mp3", "opus", "aac", "flac", "wav", "pcm"];

    public static readonly IReadOnlyList<string> Granularities = ["word", "segment"];

    /// <summary>The longest text <c>/v1/audio/speech</c> takes, as OpenAI's.</summary>
    public const int MaxSpeechInput = 4096;

    /// <summary>The form fields of a transcription or translation, by name (repeated names keep every value).</summary>
    public static IReadOnlyList<FieldError> CheckTranscription(IReadOnlyList<KeyValuePair<string, string>> fields, bool translation)
    {
        var errors = new List<FieldError>();
        string? One(string name) => fields.LastOrDefault(f => f.Key == name).Value;
        var format = One("response_format") ?? "json";
        if (Validators.OneOf(format, TranscriptFormats, "response_format") is { } formatProblem)
        {
            errors.Add(new FieldError("response_format", formatProblem));
        }

        if (One("temperature") is { } temperature
            && (!double.TryParse(temperature, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value) || value < 0 || value > 1))
        {
            errors.Add(new FieldError("temperature", $"temperature '{Validators.Printable(temperature)}' must be a number from 0 to 1"));
        }

        if (One("language") is { } language && (translation || language.Length is < 2 or > 3 || !language.All(char.IsAsciiLetterLower)))
        {
            errors.Add(new FieldError("language", translation
                ? "language does not apply to a translation: its output is English"
                : $"language '{Validators.Printable(language)}' must be an ISO-639-1 code such as en or de"));
        }

        if (One("prompt") is { Length: > 4096 })
        {
            errors.Add(new FieldError("prompt", "prompt must be at most 4096 characters"));
        }

        var granularities = fields.Where(f => f.Key is "timestamp_granularities[]" or "timestamp_granularities").Select(f => f.Value).ToList();
        foreach (var granularity in granularities.Where(g => !Granularities.Contains(g)))
        {
            errors.Add(new FieldError("timestamp_granularities[]", $"timestamp_granularities[] '{Validators.Printable(granularity)}' must be word or segment"));
        }

        if (granularities.Count > 0 && format != "verbose_json")
        {
            // OpenAI answers 400 here too: only verbose_json carries timestamps.
            errors.Add(new FieldError("timestamp_granularities[]", "timestamp_granularities[] needs response_format verbose_json"));
        }

        return errors;
    }

    /// <summary>The JSON body of <c>/v1/audio/speech</c> (its model is checked by the router).</summary>
    public static IReadOnlyList<FieldError> CheckSpeech(JsonObject body)
    {
        var errors = new List<FieldError>();
        if (body["input"] is not JsonValue input || !input.TryGetValue<string>(out var text) || string.IsNullOrWhiteSpace(text))
        {
            errors.Add(new FieldError("input", "input is required: the text to speak"));
        }
        else if (text.Length > MaxSpeechInput)
        {
            errors.Add(new FieldError("input", $"input must be at most {MaxSpeechInput} characters, not {text.Length}"));
        }

        if (body["voice"] is not JsonValue voice || !voice.TryGetValue<string>(out var voiceName) || string.IsNullOrWhiteSpace(voiceName))
        {
            errors.Add(new FieldError("voice", "voice is required (the TTS server's voice names, e.g. af_heart)"));
        }
        else if (voiceName.Length > 128 || voiceName.Any(char.IsControl))
        {
            errors.Add(new FieldError("voice", $"voice '{Validators.Printable(voiceName)}' must be at most 128 printable characters"));
        }

        if (body["response_format"] is { } format && (format is not JsonValue formatValue || !formatValue.TryGetValue<string>(out var formatName) || !SpeechFormats.Contains(formatName)))
        {
            errors.Add(new FieldError("response_format", $"response_format must be one of {string.Join(", ", SpeechFormats)}"));
        }

        if (body["speed"] is { } speed && (speed is not JsonValue speedValue || !speedValue.TryGetValue<double>(out var rate) || rate < 0.25 || rate > 4))
        {
            errors.Add(new FieldError("speed", "speed must be a number from 0.25 to 4.0"));
        }

        return errors;
    }
}
